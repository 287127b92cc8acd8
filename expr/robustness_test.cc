// Robustness: mutated expressions from the conformance suite, evaluated under
// tight budgets, must each end with a value or an error status — never a
// crash, hang or sanitizer report. Deterministic (fixed seed); run it under
// --config=asan to catch memory errors. Regression home for fuzzing finds.
// Longer runs: --test_env=EXPR_ROBUSTNESS_ITERATIONS=200000
//              --test_env=EXPR_ROBUSTNESS_SEED=7
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "expr/expr.h"
#include "gtest/gtest.h"

namespace retrace::expr {
namespace {

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return path;
  return std::string(srcdir) + "/" + (workspace ? workspace : "retrace") + "/" +
         path;
}

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> SuiteExpressions() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           Runfile("testdata/jsonata-suite/groups"))) {
    if (entry.path().extension() != ".json") continue;
    absl::StatusOr<Value> v = ParseJson(Read(entry.path()));
    if (!v.ok()) continue;
    std::vector<Value> cases =
        v->IsArray() ? v->items() : std::vector<Value>{*v};
    for (const Value& c : cases) {
      if (!c.IsObject()) continue;
      const Value* e = c.object().Find("expr");
      if (e != nullptr && e->IsString()) out.push_back(e->str());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RobustnessTest, MutatedSuiteExpressionsNeverCrash) {
  std::vector<std::string> exprs = SuiteExpressions();
  ASSERT_GT(exprs.size(), 500u);
  absl::StatusOr<Value> data =
      ParseJson(Read(Runfile("testdata/jsonata-suite/datasets/dataset5.json")));
  ASSERT_TRUE(data.ok());
  const char* pieces[] = {"(",
                          ")",
                          "[",
                          "]",
                          "{",
                          "}",
                          ".",
                          "$",
                          "*",
                          "**",
                          "%",
                          "@$x",
                          "#$i",
                          "^(",
                          "~>",
                          "?",
                          ":",
                          ";",
                          ",",
                          "'",
                          "\"",
                          "/",
                          "$string",
                          "$map",
                          "function($x){$x}",
                          "[1..3]",
                          "|",
                          "..",
                          ":=",
                          "0",
                          "-1",
                          "1e400",
                          "\\",
                          "`",
                          "&",
                          "and",
                          "in",
                          "$$",
                          "null",
                          "{}",
                          "[]",
                          "==",
                          "!=",
                          "<",
                          "$eval('",
                          "$sort(",
                          "$reduce(",
                          "$pad('x', 1e9)",
                          "\xC3",
                          "$f($f)",
                          "$f := function($g){$g($g)}"};
  Options options;
  options.allowed_functions = AllFunctionNames();
  options.max_steps = 20000;
  options.max_depth = 300;
  options.max_sequence_length = 100000;
  options.max_output_bytes = 1 << 20;
  FixedClock clock(0);
  const char* seed_env = std::getenv("EXPR_ROBUSTNESS_SEED");
  const char* iterations_env = std::getenv("EXPR_ROBUSTNESS_ITERATIONS");
  std::mt19937 rng(seed_env ? std::atoi(seed_env) : 20261122);
  int iterations = iterations_env ? std::atoi(iterations_env) : 4000;
  int evaluated = 0;
  for (int iter = 0; iter < iterations; ++iter) {
    std::string e = exprs[rng() % exprs.size()];
    int mutations = 1 + rng() % 3;
    for (int m = 0; m < mutations; ++m) {
      size_t pos = e.empty() ? 0 : rng() % (e.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (!e.empty())
            e.erase(pos == e.size() ? pos - 1 : pos, 1 + rng() % 3);
          break;
        case 1:
          e.insert(pos, pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))]);
          break;
        default: {
          const std::string& other = exprs[rng() % exprs.size()];
          e.insert(pos, other.substr(rng() % (other.size() + 1), rng() % 10));
        }
      }
    }
    absl::StatusOr<CompiledExpression> compiled = Compile(e, options);
    if (!compiled.ok()) continue;
    absl::StatusOr<Value> result = compiled->Evaluate(*data, Value(), &clock);
    if (result.ok()) ToJson(*result);
    ++evaluated;
  }
  EXPECT_GT(evaluated, 100);
}

}  // namespace
}  // namespace retrace::expr
