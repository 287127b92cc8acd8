// History store benchmarks (docs/benchmarks.md):
//   bazel run --config=bench //history:history_benchmark -- [--db DIR]
//       [--benchmark_filter=...]
//
// BM_SyncedAppend/threads:N   synced appends of a 1-event batch, N concurrent
//                             writers each appending to its own run;
//                             items/s = acknowledged appends/s.
// BM_SequentialRead           events/s read in order from one long run.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "history/events.h"
#include "history/rocksdb_store.h"
#include "history/test_events.h"

namespace retrace::history {
namespace {

std::string& DbDir() {
  static std::string dir;
  return dir;
}

HistoryStore* Store() {
  static std::once_flag once;
  static std::unique_ptr<HistoryStore> store;
  std::call_once(once, [] {
    if (DbDir().empty()) {
      const char* tmp = std::getenv("TEST_TMPDIR");
      DbDir() =
          absl::StrCat(tmp ? tmp : "/tmp", "/retrace-history-bench-", getpid());
    }
    std::filesystem::remove_all(DbDir());
    auto opened = OpenRocksDbHistoryStore(DbDir(), StoreOptions());
    if (!opened.ok()) {
      fprintf(stderr, "cannot open %s: %s\n", DbDir().c_str(),
              opened.status().ToString().c_str());
      std::exit(1);
    }
    store = std::move(*opened);
  });
  return store.get();
}

std::atomic<int64_t> run_counter{0};

void BM_SyncedAppend(benchmark::State& state) {
  HistoryStore* store = Store();
  const std::string run = absl::StrCat("append-", run_counter++);
  AppendRequest request;
  request.ns = "bench";
  request.run_id = run;
  request.expected_next_event_id = 1;
  request.events = {testing::RunStarted(1, testing::TestTime())};
  if (!store->Append(request).ok()) state.SkipWithError("first append failed");
  int64_t next = 2;
  for (auto _ : state) {
    request.expected_next_event_id = next;
    request.events = {testing::StepCompleted(
        next, testing::TestTime(next), "charge",
        R"({"charge_id":"ch_1234567890","amount":4200,"currency":"EUR"})")};
    auto info = store->Append(request);
    if (!info.ok()) {
      state.SkipWithError(info.status().ToString().c_str());
      break;
    }
    ++next;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SyncedAppend)->Threads(1)->Threads(16)->Threads(64)->UseRealTime();

void BM_SequentialRead(benchmark::State& state) {
  HistoryStore* store = Store();
  const int64_t events = state.range(0);
  const std::string run = absl::StrCat("read-", run_counter++);
  // Build the run in batches of 1,000 events.
  int64_t next = 1;
  while (next <= events) {
    AppendRequest request;
    request.ns = "bench";
    request.run_id = run;
    request.expected_next_event_id = next;
    for (int i = 0; i < 1000 && next <= events; ++i, ++next) {
      request.events.push_back(
          next == 1 ? testing::RunStarted(1, testing::TestTime())
                    : testing::StepCompleted(
                          next, testing::TestTime(next), "step",
                          R"({"charge_id":"ch_1234567890","amount":4200})"));
    }
    if (!store->Append(request).ok()) {
      state.SkipWithError("setup append failed");
      return;
    }
  }
  int64_t read = 0;
  for (auto _ : state) {
    auto it = store->ReadHistory("bench", run, 1);
    int64_t n = 0;
    for (; it->Valid(); it->Next()) {
      benchmark::DoNotOptimize(it->event().event_id());
      ++n;
    }
    if (n != events) state.SkipWithError("short read");
    read += n;
  }
  state.SetItemsProcessed(read);
}
BENCHMARK(BM_SequentialRead)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace retrace::history

int main(int argc, char** argv) {
  // Our own flag: --db DIR (default: a fresh directory under $TEST_TMPDIR or
  // /tmp, removed at exit).
  int out = 1;
  bool own_dir = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--db" && i + 1 < argc) {
      retrace::history::DbDir() = argv[++i];
      own_dir = false;
    } else if (arg.rfind("--db=", 0) == 0) {
      retrace::history::DbDir() = arg.substr(5);
      own_dir = false;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (own_dir && !retrace::history::DbDir().empty()) {
    std::filesystem::remove_all(retrace::history::DbDir());
  }
  return 0;
}
