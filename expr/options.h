// Options of the expression engine: the sandbox (function allow-list and
// evaluation budgets) and the clock that $now() / $millis() read.
//
// Every limit is enforced in one place (internal/budget.h) and fails with its
// own stable code, listed in docs/errors.md:
//
//   EXPR_FUNCTION_NOT_ALLOWED  a function outside allowed_functions (compile
//                              time, and again for $eval at run time)
//   EXPR_STEPS_EXCEEDED        max_steps
//   U1001                      max_depth (JSONata's stack overflow code)
//   EXPR_TIMEOUT               max_wall_time
//   EXPR_OUTPUT_TOO_LARGE      max_output_bytes
//   EXPR_SEQUENCE_TOO_LONG     max_sequence_length
//   EXPR_REGEX_TOO_LARGE       max_regex_memory
//
// Thread safety: Options is a plain value; Clock implementations must be
// safe to call from several threads.
#ifndef RETRACE_EXPR_OPTIONS_H_
#define RETRACE_EXPR_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace retrace::expr {

// The time source of $now() and $millis(). The workflow interpreter injects
// the timestamp of the history event being decided on, so replays agree.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
};

// A clock that always returns the same instant.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t millis) : millis_(millis) {}
  int64_t NowMillis() const override { return millis_; }

 private:
  int64_t millis_;
};

// The real time. Not deterministic: for tools and tests only.
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override { return absl::ToUnixMillis(absl::Now()); }
};

// Every built-in function name (without the '$').
const std::vector<std::string>& AllFunctionNames();

// The default allow-list: every built-in except the non-deterministic
// $random and $shuffle.
std::vector<std::string> DefaultAllowedFunctions();

struct Options {
  // Names of the built-in functions an expression may call or reference
  // ("sum" or "$sum"). Checked at compile time and for $eval.
  // Default: DefaultAllowedFunctions().
  std::vector<std::string> allowed_functions = DefaultAllowedFunctions();

  // Maximum evaluation steps (AST node evaluations) per Evaluate call.
  // 0 disables. Default: 10,000,000.
  int64_t max_steps = 10'000'000;

  // Maximum nesting of evaluation (JSONata's `depth`: each nested node
  // evaluation, including through function calls, counts one). Exceeding it
  // fails with U1001 as jsonata-js does. 0 disables (not recommended: deep
  // recursion would overflow the native stack). Default: 2,000.
  int max_depth = 2000;

  // Maximum wall time of one Evaluate call. Zero or negative disables.
  // Default: 5 seconds.
  absl::Duration max_wall_time = absl::Seconds(5);

  // Maximum size of the result as compact JSON, and of any string built
  // during evaluation. 0 disables. Default: 16 MiB.
  int64_t max_output_bytes = 16 << 20;

  // Maximum length of any array or sequence built during evaluation
  // (ranges, appends, path results). 0 disables. Default: 10,000,000, the
  // range limit of JSONata itself.
  int64_t max_sequence_length = 10'000'000;

  // Maximum memory of one compiled regular expression (RE2's max_mem).
  // Default: 8 MiB.
  int64_t max_regex_memory = 8 << 20;

  // Maximum syntactic nesting of the source text. Default: 500.
  int max_source_nesting = 500;
};

}  // namespace retrace::expr

#endif  // RETRACE_EXPR_OPTIONS_H_
