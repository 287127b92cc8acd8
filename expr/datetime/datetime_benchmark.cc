// Cost of $fromMillis / $toMillis per call.
//
//   bazel run --config=bench //expr/datetime:datetime_benchmark
#include <cstdint>

#include "benchmark/benchmark.h"
#include "expr/datetime/datetime.h"

namespace retrace::expr::datetime {
namespace {

constexpr int64_t kMillis = 1521801216617;
constexpr int64_t kNow = 1721068245678;

void BM_FormatIso(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(FormatMillis(kMillis, "", ""));
  }
}
BENCHMARK(BM_FormatIso);

void BM_FormatWords(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        FormatMillis(kMillis, "[FNn], the [Dwo] of [MNn] [Yw]", "+0100"));
  }
}
BENCHMARK(BM_FormatWords);

void BM_ParseIso(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParseMillis("2018-03-23T10:33:36.617Z", "", kNow));
  }
}
BENCHMARK(BM_ParseIso);

void BM_ParseNumericPicture(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        ParseMillis("2018-03-23 10:33:36 +01:00",
                    "[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [Z]", kNow));
  }
}
BENCHMARK(BM_ParseNumericPicture);

void BM_ParseWordsPicture(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        ParseMillis("twenty-first August two thousand and seventeen",
                    "[Dw] [MNn] [Yw]", kNow));
  }
}
BENCHMARK(BM_ParseWordsPicture);

}  // namespace
}  // namespace retrace::expr::datetime

BENCHMARK_MAIN();
