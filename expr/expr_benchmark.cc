// Compile and evaluation time of the expression engine per case of
// testdata/bench/expr-cases.json, plus the geometric mean of the evaluation
// times. Inputs are parsed once, outside the timing.
//
//   bazel run --config=bench //expr:expr_benchmark
//
// Runs from the binary's runfiles folder, where testdata/ is available.
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "expr/expr.h"
#include "expr/value.h"

namespace retrace::expr {
namespace {

struct BenchCase {
  std::string name;
  std::string source;
  Value input;
  Value expected;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<BenchCase> LoadCases() {
  std::vector<BenchCase> out;
  absl::StatusOr<Value> cases =
      ParseJson(ReadFile("testdata/bench/expr-cases.json"));
  if (!cases.ok() || !cases->IsArray()) {
    std::cerr << "cannot read testdata/bench/expr-cases.json\n";
    return out;
  }
  for (const Value& c : cases->items()) {
    BenchCase bc;
    bc.name = c.object().Find("name")->str();
    bc.source = c.object().Find("expr")->str();
    if (const Value* d = c.object().Find("data")) {
      bc.input = *d;
    } else if (const Value* ds = c.object().Find("dataset")) {
      bc.input = *ParseJson(
          ReadFile("testdata/jsonata-suite/datasets/" + ds->str() + ".json"));
    }
    if (const Value* r = c.object().Find("result")) bc.expected = *r;
    out.push_back(std::move(bc));
  }
  return out;
}

Options BenchOptions() {
  Options options;
  return options;
}

// Collects the per-evaluation times and prints their geometric mean.
class GeoMeanReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.benchmark_name().rfind("eval/", 0) == 0 &&
          run.run_type == Run::RT_Iteration) {
        eval_ns_.push_back(run.GetAdjustedRealTime());
        eval_cpu_ns_.push_back(run.GetAdjustedCPUTime());
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    if (eval_ns_.empty()) return;
    std::cout << "eval geometric mean: " << GeoMean(eval_ns_) << " ns real, "
              << GeoMean(eval_cpu_ns_) << " ns cpu over " << eval_ns_.size()
              << " cases" << std::endl;
  }

 private:
  static double GeoMean(const std::vector<double>& xs) {
    double log_sum = 0;
    for (double x : xs) log_sum += std::log(x);
    return std::exp(log_sum / xs.size());
  }
  std::vector<double> eval_ns_;
  std::vector<double> eval_cpu_ns_;
};

}  // namespace
}  // namespace retrace::expr

int main(int argc, char** argv) {
  using retrace::expr::BenchCase;
  static std::vector<BenchCase> cases = retrace::expr::LoadCases();
  static retrace::expr::FixedClock clock(1700000000000);
  for (const BenchCase& c : cases) {
    auto compiled =
        retrace::expr::Compile(c.source, retrace::expr::BenchOptions());
    if (!compiled.ok()) {
      std::cerr << c.name << ": " << compiled.status() << "\n";
      continue;
    }
    auto check = compiled->Evaluate(c.input, retrace::expr::Value(), &clock);
    if (!check.ok() || !retrace::expr::DeepEqual(*check, c.expected)) {
      std::cerr << c.name << ": unexpected result "
                << (check.ok() ? retrace::expr::ToJson(*check)
                               : check.status().ToString())
                << "\n";
    }
    benchmark::RegisterBenchmark(
        ("compile/" + c.name).c_str(), [&c](benchmark::State& state) {
          for (auto _ : state) {
            auto e =
                retrace::expr::Compile(c.source, retrace::expr::BenchOptions());
            benchmark::DoNotOptimize(e);
          }
        });
    auto shared =
        std::make_shared<retrace::expr::CompiledExpression>(*compiled);
    benchmark::RegisterBenchmark(
        ("eval/" + c.name).c_str(), [&c, shared](benchmark::State& state) {
          for (auto _ : state) {
            auto v = shared->Evaluate(c.input, retrace::expr::Value(), &clock);
            benchmark::DoNotOptimize(v);
          }
        });
  }
  benchmark::Initialize(&argc, argv);
  retrace::expr::GeoMeanReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
