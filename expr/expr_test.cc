#include "expr/expr.h"

#include <thread>
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::testing::HasSubstr;

// Evaluates `source` over the JSON `input` and returns the result as JSON
// ("" for undefined), or the error code.
std::string Eval(const std::string& source, const std::string& input = "null",
                 const Options& options = Options()) {
  absl::StatusOr<CompiledExpression> e = Compile(source, options);
  if (!e.ok()) return "error " + retrace::ErrorCode(e.status());
  FixedClock clock(1500000000000);
  absl::StatusOr<Value> v = e->Evaluate(*ParseJson(input), Value(), &clock);
  if (!v.ok()) return "error " + retrace::ErrorCode(v.status());
  return ToJson(*v);
}

TEST(ExprTest, Paths) {
  const char* data = R"({"a":{"b":[{"c":1},{"c":2}]},"d":[1,[2,3]]})";
  EXPECT_EQ(Eval("a.b.c", data), "[1,2]");
  EXPECT_EQ(Eval("a.b[1].c", data), "2");
  EXPECT_EQ(Eval("a.b[c>1]", data), R"({"c":2})");
  EXPECT_EQ(Eval("a.b[c>1][]", data), R"([{"c":2}])");
  EXPECT_EQ(Eval("d", data), "[1,[2,3]]");
  EXPECT_EQ(Eval("nothing", data), "");
  EXPECT_EQ(Eval("**.c", data), "[1,2]");
  EXPECT_EQ(Eval("$sum(a.b.c)", data), "3");
}

TEST(ExprTest, Operators) {
  EXPECT_EQ(Eval("1 + 2 * 3"), "7");
  EXPECT_EQ(Eval("\"a\" & 1 & true"), "\"a1true\"");
  EXPECT_EQ(Eval("[1..3]"), "[1,2,3]");
  EXPECT_EQ(Eval("2 in [1,2]"), "true");
  EXPECT_EQ(Eval("x ?? 5"), "5");
  EXPECT_EQ(Eval("0 ?: 5"), "5");
  EXPECT_EQ(Eval("1 = 1 ? 'y' : 'n'"), "\"y\"");
  EXPECT_EQ(Eval("'a' + 1"), "error T2001");
  EXPECT_EQ(Eval("1 +"), "error S0207");
}

TEST(ExprTest, DoubleEqualsIsNormalisedOutsideStrings) {
  EXPECT_EQ(Eval("1 == 1"), "true");
  EXPECT_EQ(Eval("a == 'x'", R"({"a":"x"})"), "true");
  EXPECT_EQ(Eval("'a==b'"), "\"a==b\"");
  EXPECT_EQ(Eval("$contains('a==b', /==/)"), "true");
  EXPECT_EQ(Eval("1 != 2"), "true");
}

TEST(ExprTest, LambdasClosuresPartialsChains) {
  EXPECT_EQ(Eval("($f := function($x){$x * 2}; $f(4))"), "8");
  EXPECT_EQ(
      Eval("($add := function($a,$b){$a+$b}; $inc := $add(?, 1); $inc(4))"),
      "5");
  EXPECT_EQ(Eval("'abc' ~> $uppercase()"), "\"ABC\"");
  EXPECT_EQ(Eval("($f := $uppercase ~> $trim; $f(' ab '))"), "\"AB\"");
  EXPECT_EQ(Eval("$map([1,2,3], function($v){$v*$v})"), "[1,4,9]");
  EXPECT_EQ(Eval("$reduce([1,2,3], function($a,$b){$a+$b})"), "6");
  EXPECT_EQ(Eval("$string(1.0)"), "\"1\"");
  EXPECT_EQ(Eval("$string(0.1+0.2)"), "\"0.3\"");
}

TEST(ExprTest, HugeRangeCounts) {
  EXPECT_EQ(Eval("[1..10000000] ~> $count()"), "10000000");
}

TEST(ExprTest, InfiniteTailRecursionStopsOnStepBudget) {
  Options options;
  options.max_steps = 100000;
  EXPECT_EQ(Eval("($f := function($n){ $f($n + 1) }; $f(0))", "null", options),
            "error EXPR_STEPS_EXCEEDED");
}

TEST(ExprTest, InfiniteTailRecursionStopsOnTimeBudget) {
  Options options;
  options.max_steps = 0;
  options.max_wall_time = absl::Milliseconds(50);
  EXPECT_EQ(Eval("($f := function($n){ $f($n + 1) }; $f(0))", "null", options),
            "error EXPR_TIMEOUT");
}

TEST(ExprTest, DeepRecursionStopsOnDepthBudget) {
  Options options;
  options.max_depth = 500;
  EXPECT_EQ(
      Eval("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000))",
           "null", options),
      "error U1001");
  EXPECT_EQ(Eval("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(10))",
                 "null", options),
            "10");
}

// Each budget: at its limit the expression succeeds, one past it fails.
TEST(ExprTest, StepBudgetAtAndPastLimit) {
  Options options;
  options.max_steps = 3;  // "1 + 2" evaluates three nodes
  EXPECT_EQ(Eval("1 + 2", "null", options), "3");
  options.max_steps = 2;
  EXPECT_EQ(Eval("1 + 2", "null", options), "error EXPR_STEPS_EXCEEDED");
}

TEST(ExprTest, DepthBudgetAtAndPastLimit) {
  Options options;
  options.max_depth = 2;  // "1 + 2" nests two levels
  EXPECT_EQ(Eval("1 + 2", "null", options), "3");
  options.max_depth = 1;
  EXPECT_EQ(Eval("1 + 2", "null", options), "error U1001");
}

TEST(ExprTest, OutputBudgetAtAndPastLimit) {
  Options options;
  options.max_output_bytes = 6;  // "abcd" is 6 bytes of JSON
  EXPECT_EQ(Eval("'abcd'", "null", options), "\"abcd\"");
  options.max_output_bytes = 5;
  EXPECT_EQ(Eval("'abcd'", "null", options), "error EXPR_OUTPUT_TOO_LARGE");
  absl::StatusOr<CompiledExpression> e = Compile("'abcd'", options);
  ASSERT_THAT(e, IsOk());
  EXPECT_THAT(e->Evaluate(Value()),
              ::retrace::testing::StatusIs(
                  absl::StatusCode::kResourceExhausted,
                  HasSubstr("6 bytes exceeds the limit of 5")));
}

TEST(ExprTest, StringBuildingIsBounded) {
  Options options;
  options.max_output_bytes = 1000;
  EXPECT_EQ(Eval("$pad('', 1000, 'x') ~> $length()", "null", options), "1000");
  EXPECT_EQ(Eval("$pad('', 1001, 'x')", "null", options),
            "error EXPR_OUTPUT_TOO_LARGE");
}

TEST(ExprTest, SequenceBudgetAtAndPastLimit) {
  Options options;
  options.max_sequence_length = 5;
  EXPECT_EQ(Eval("[1..5]", "null", options), "[1,2,3,4,5]");
  EXPECT_EQ(Eval("[1..6]", "null", options), "error EXPR_SEQUENCE_TOO_LONG");
}

TEST(ExprTest, RegexMemoryBudget) {
  Options options;
  EXPECT_EQ(Eval("$contains('aaa', /(a{1,30}){1,30}/)", "null", options),
            "true");
  options.max_regex_memory = 1000;
  EXPECT_EQ(Eval("$contains('aaa', /(a{1,30}){1,30}/)", "null", options),
            "error EXPR_REGEX_TOO_LARGE");
}

TEST(ExprTest, AllowListIsCheckedAtCompileTime) {
  absl::StatusOr<CompiledExpression> e = Compile("1 + $random()");
  EXPECT_THAT(e, HasErrorCode("EXPR_FUNCTION_NOT_ALLOWED"));
  EXPECT_THAT(e.status().message(), HasSubstr("$random"));
  EXPECT_THAT(e.status().message(), HasSubstr("position 4"));
  EXPECT_THAT(Compile("$shuffle([1,2])"),
              HasErrorCode("EXPR_FUNCTION_NOT_ALLOWED"));
  Options options;
  options.allowed_functions = {"sum", "$max"};
  EXPECT_THAT(Compile("$sum([1])", options), IsOk());
  EXPECT_THAT(Compile("$max([1])", options), IsOk());
  EXPECT_THAT(Compile("$count([1])", options),
              HasErrorCode("EXPR_FUNCTION_NOT_ALLOWED"));
  options.allowed_functions = AllFunctionNames();
  EXPECT_THAT(Compile("$random()", options), IsOk());
}

TEST(ExprTest, AllowListAppliesToEval) {
  EXPECT_EQ(Eval("$eval('1 + 2')"), "3");
  EXPECT_EQ(Eval("$eval('$random()')"), "error EXPR_FUNCTION_NOT_ALLOWED");
}

TEST(ExprTest, ClockIsInjected) {
  EXPECT_EQ(Eval("$millis()"), "1500000000000");
  EXPECT_EQ(Eval("$now()"), "\"2017-07-14T02:40:00.000Z\"");
}

TEST(ExprTest, BindingsBecomeVariables) {
  absl::StatusOr<CompiledExpression> e = Compile("$x + a");
  ASSERT_THAT(e, IsOk());
  absl::StatusOr<Value> v =
      e->Evaluate(*ParseJson(R"({"a":1})"), *ParseJson(R"({"x":41})"));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(ToJson(*v), "42");
}

TEST(ExprTest, ErrorsNamePosition) {
  absl::StatusOr<CompiledExpression> e = Compile("1 + 'a'");
  ASSERT_THAT(e, IsOk());
  absl::StatusOr<Value> v = e->Evaluate(Value());
  EXPECT_THAT(v, HasErrorCode("T2002"));
  EXPECT_THAT(v.status().message(), HasSubstr("position 2"));
}

TEST(ExprTest, ConcurrentEvaluationOfOneCompiledExpression) {
  absl::StatusOr<CompiledExpression> e =
      Compile("$sum($map(items, function($v){$v * 2}))");
  ASSERT_THAT(e, IsOk());
  Value input = *ParseJson(R"({"items":[1,2,3,4]})");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        absl::StatusOr<Value> v = e->Evaluate(input);
        if (v.ok() && v->IsNumber() && v->number() == 20) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2000);
}

TEST(ExprTest, CompileCacheReusesCompilations) {
  CompileCache cache;
  absl::StatusOr<CompiledExpression> a = cache.Get("1 + 1");
  absl::StatusOr<CompiledExpression> b = cache.Get("1 + 1");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_THAT(cache.Get("1 +"), HasErrorCode("S0207"));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ExprTest, TransformCopiesInput) {
  absl::StatusOr<CompiledExpression> e = Compile("$ ~> |a|{'y': 2}|");
  ASSERT_THAT(e, IsOk());
  Value input = *ParseJson(R"({"a":{"x":1}})");
  absl::StatusOr<Value> v = e->Evaluate(input);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(ToJson(*v), R"({"a":{"x":1,"y":2}})");
  EXPECT_EQ(ToJson(input), R"({"a":{"x":1}})");
}

}  // namespace
}  // namespace retrace::expr

namespace retrace::expr {
namespace {

TEST(ExprTest, DeeplyNestedValuesAreRejectedNotCrashed) {
  Options options;
  options.max_steps = 0;
  // Only the output budget may stop it: the time budget would fire first
  // under a sanitizer on a loaded machine.
  options.max_wall_time = absl::ZeroDuration();
  EXPECT_EQ(
      Eval("($f := function($x, $n){ $n = 0 ? $x : $f({\"a\": $x}, $n - 1) }; "
           "$f(1, 100000))",
           "null", options),
      "error EXPR_OUTPUT_TOO_LARGE");
  std::string deep(5000, '[');
  EXPECT_THAT(ParseJson(deep + std::string(5000, ']')),
              HasErrorCode("EXPR_JSON_PARSE"));
}

// Found by tools/fuzz expr (UBSan: 1.36e+20 is outside the range of long):
// $fromMillis converted any number to int64_t.
TEST(ExprTest, FromMillisOutsideDateRangeIsUndefined) {
  // The ISO picture keeps the last four digits of the year (expr-datetime.md).
  EXPECT_EQ(Eval("$fromMillis(8.64e15)"), "\"5760-09-13T00:00:00.000Z\"");
  EXPECT_EQ(Eval("$fromMillis(8.64e15 + 1)"), "");
  EXPECT_EQ(Eval("$fromMillis(-8.64e15 - 1)"), "");
  EXPECT_EQ(Eval("$fromMillis(135963360000633600000, '[Y]')"), "");
  EXPECT_EQ(Eval("$fromMillis(-1e300)"), "");
}

TEST(ExprTest, PadIsLinear) {
  EXPECT_EQ(Eval("$length($pad('x', 1000000, 'ab'))"), "1000000");
}

}  // namespace
}  // namespace retrace::expr

#include <pthread.h>

namespace retrace::expr {
namespace {

struct DepthJob {
  size_t stack_bytes;
  std::string result;
};

void* RunDeep(void* arg) {
  auto* job = static_cast<DepthJob*>(arg);
  job->result =
      Eval("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))");
  return nullptr;
}

// The default depth budget must stop runaway recursion long before a 2 MiB
// native stack (smaller than any default thread stack we run on) overflows.
// Optimised builds only: debug and sanitizer builds use far bigger frames.
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
constexpr size_t kDepthTestStack = size_t{2} << 20;
#else
constexpr size_t kDepthTestStack = size_t{64} << 20;
#endif

TEST(ExprTest, DefaultDepthBudgetFitsInTwoMegabyteStack) {
  DepthJob job{kDepthTestStack, ""};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, job.stack_bytes);
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, RunDeep, &job), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_EQ(job.result, "error U1001");
}

}  // namespace
}  // namespace retrace::expr
