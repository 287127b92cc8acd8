// Interpreter benchmarks (docs/benchmarks.md):
//   bazel run --config=bench //runtime:interpreter_benchmark
//
// BM_FullReplay/N   full replay of an N-event history (a forEach over items,
//                   each an action attempt that is scheduled, started and
//                   completed), items/s = events replayed per second.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "runtime/definition.h"
#include "runtime/replay.h"
#include "runtime/run_driver.h"

namespace retrace::runtime {
namespace {

constexpr char kDefinition[] = R"({
  "name": "bench", "version": "1",
  "steps": [
    {"id": "each", "type": "control.forEach", "items": "[1..input.n]", "as": "i",
     "steps": [{"id": "work", "type": "action", "action": "core.echo",
                "input": "{'item': i, 'order': input.order}"}]},
    {"id": "done", "type": "control.return", "output": "steps.each.output"}
  ]})";

void BM_FullReplay(benchmark::State& state) {
  const int64_t events = state.range(0);
  const int64_t items = (events - 2) / 3;
  auto def = ParseDefinition(kDefinition).definition;
  RunDriver driver(def, "default", "bench",
                   absl::StrCat(R"({"order": "SO-1", "n": )", items, "}"));
  if (!driver.Start().ok()) state.SkipWithError("start failed");
  for (int64_t i = 0; i < items; ++i) {
    if (!driver.StartStep("work", "w1").ok() ||
        !driver.CompleteStep("work", R"({"ok":true})").ok()) {
      state.SkipWithError("drive failed");
      return;
    }
  }
  const history::History& history = driver.history();
  int64_t replayed = 0;
  for (auto _ : state) {
    auto interpreter = Replay(def, history);
    if (!interpreter.ok()) {
      state.SkipWithError(interpreter.status().ToString().c_str());
      break;
    }
    replayed += history.events_size();
  }
  state.counters["history_events"] = history.events_size();
  state.SetItemsProcessed(replayed);
}
BENCHMARK(BM_FullReplay)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace retrace::runtime

BENCHMARK_MAIN();
