// The expression engine's public API: compile JSONata source once, evaluate
// it many times under a sandbox.
//
//   expr::Options options;                       // default allow-list, budgets
//   absl::StatusOr<expr::CompiledExpression> e =
//       expr::Compile("$sum(order.lines.(qty * price))", options);
//   expr::FixedClock clock(event_time_millis);
//   absl::StatusOr<expr::Value> total =
//       e->Evaluate(*expr::ParseJson(payload), expr::Value(), &clock);
//
// Errors. Every failure is a non-OK absl::Status made by retrace::Error, so
// retrace::ErrorCode(status) gives a stable code string and the message names
// the character position in the source:
//   - JSONata's own codes for language errors: S0xxx (syntax), T0xxx/T1xxx/
//     T2xxx (types), D1xxx/D2xxx/D3xxx (dynamic), U1001 (depth budget);
//     status code kInvalidArgument (U1001: kResourceExhausted).
//   - EXPR_* codes for the sandbox and the engine (see options.h and
//     docs/errors.md).
// Errors inside the language never crash or hang the process.
//
// Thread safety: a CompiledExpression is immutable; Evaluate may be called
// from many threads at once. CompileCache is thread-safe.
#ifndef RETRACE_EXPR_EXPR_H_
#define RETRACE_EXPR_EXPR_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "expr/options.h"
#include "expr/value.h"

namespace retrace::expr {

namespace internal {
struct Program;
}  // namespace internal

class CompiledExpression {
 public:
  // Evaluates the expression over `input` (undefined for "no input").
  // `bindings` is undefined or an object whose members become variables
  // ($name). `clock` feeds $now() / $millis(); nullptr means the system
  // clock (not deterministic). Returns the result, which is undefined when
  // the expression selects nothing. Fails with a language code or an EXPR_*
  // budget code.
  absl::StatusOr<Value> Evaluate(const Value& input,
                                 const Value& bindings = Value(),
                                 const Clock* clock = nullptr) const;

  // The source text as given to Compile.
  const std::string& source() const;
  const Options& options() const { return *options_; }

 private:
  friend absl::StatusOr<CompiledExpression> Compile(absl::string_view,
                                                    const Options&);
  CompiledExpression(std::shared_ptr<const internal::Program> program,
                     std::shared_ptr<const Options> options)
      : program_(std::move(program)), options_(std::move(options)) {}

  std::shared_ptr<const internal::Program> program_;
  std::shared_ptr<const Options> options_;
};

// Parses and checks `source`. Fails with S0xxx syntax codes or
// EXPR_FUNCTION_NOT_ALLOWED (naming the function and position).
absl::StatusOr<CompiledExpression> Compile(absl::string_view source,
                                           const Options& options = {});

// Compiled expressions by source text, all with the same Options. Failed
// compilations are not cached. When full, the cache is cleared (expressions
// in workflow definitions are few and long-lived).
class CompileCache {
 public:
  // `capacity`: maximum number of cached expressions. Default: 4096.
  explicit CompileCache(Options options = {}, size_t capacity = 4096);

  // Returns the cached compilation of `source`, compiling it on a miss.
  absl::StatusOr<CompiledExpression> Get(absl::string_view source);

  size_t size() const;

 private:
  const Options options_;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, CompiledExpression> entries_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace retrace::expr

#endif  // RETRACE_EXPR_EXPR_H_
