// Memory of many waiting runs (docs/benchmarks.md):
//   bazel run --config=bench //runtime:engine_memory_benchmark -- [--runs N]
//       [--threads T] [--db DIR]
//
// Starts N runs (default 100,000) that each wait for a signal, with synced
// commits, then reports the process's resident memory (VmRSS, and the peak
// VmHWM) from /proc/self/status. Run state lives in RocksDB; the engine keeps
// only a bounded cache of interpreters in memory.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "history/rocksdb_store.h"
#include "runtime/engine.h"

namespace {

std::string ProcStatus(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return line.substr(field.size() + 1);
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  int runs = 100000;
  int threads = 16;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--runs") absl::SimpleAtoi(argv[i + 1], &runs);
    if (flag == "--threads") absl::SimpleAtoi(argv[i + 1], &threads);
    if (flag == "--db") dir = argv[i + 1];
  }
  const bool own_dir = dir.empty();
  if (own_dir) dir = absl::StrCat("/tmp/retrace-memory-bench-", getpid());
  std::filesystem::remove_all(dir);
  auto store = retrace::history::OpenRocksDbHistoryStore(dir).value();
  auto engine = retrace::runtime::Engine::Open(store.get()).value();
  retrace::runtime::RegisterDefinitionRequest def;
  def.set_namespace_("default");
  def.set_definition_json(R"({"name": "waiter", "version": "1", "steps": [
    {"id": "w", "type": "event.wait", "event": "payment.settled",
     "correlation": "input.order", "timeout": "30d"},
    {"id": "done", "type": "control.return", "output": "steps.w.output.payload"}]})");
  if (!engine->RegisterDefinition(def).ok()) return 1;
  std::printf("before: VmRSS %s\n", ProcStatus("VmRSS").c_str());
  const absl::Time start = absl::Now();
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < runs; i = next++) {
        retrace::runtime::StartRunRequest s;
        s.set_namespace_("default");
        s.set_workflow("waiter");
        s.set_run_id(absl::StrCat("wait-", i));
        s.set_input_json(absl::StrCat(R"({"order": "SO-)", i, R"("})"));
        if (!engine->StartRun(s).ok()) ++failed;
      }
    });
  }
  for (auto& t : pool) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  retrace::runtime::DescribeRunRequest d;
  d.set_namespace_("default");
  d.set_run_id("wait-0");
  auto described = engine->DescribeRun(d);
  std::printf(
      "%d runs waiting (%d failed) in %.1f s (%.0f starts/s); "
      "wait-0 is %s\n",
      runs - failed.load(), failed.load(), seconds, runs / seconds,
      described.ok() ? described->status().c_str() : "?");
  std::printf("after: VmRSS %s, peak VmHWM %s\n", ProcStatus("VmRSS").c_str(),
              ProcStatus("VmHWM").c_str());
  engine.reset();
  store.reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return failed.load() == 0 ? 0 : 1;
}
