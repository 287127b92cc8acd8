// Expressions inside workflow definitions: JSONata source compiled once when
// the definition is parsed, evaluated by the interpreter against the run's
// scope (docs/dsl.md#expressions).
//
// $now() and $millis() read the `now_ms` passed to Evaluate: the timestamp of
// the history event being decided on, so replays agree years later.
//
// Thread safety: an Expression is immutable and may be evaluated from many
// threads at once.
#ifndef RETRACE_RUNTIME_EXPRESSION_H_
#define RETRACE_RUNTIME_EXPRESSION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "expr/expr.h"
#include "expr/value.h"

namespace retrace::runtime {

class Expression {
 public:
  // An absent expression (the field was not given).
  Expression() = default;

  // Compiles `source` with the runtime's sandbox options. Fails with the
  // expression engine's status (syntax error, EXPR_FUNCTION_NOT_ALLOWED, ...).
  static absl::StatusOr<Expression> Compile(absl::string_view source);

  bool present() const { return compiled_.has_value(); }
  const std::string& source() const { return source_; }

  // Evaluates against `scope` (the context object: input, vars, steps, run,
  // ...). REQUIRES: present().
  absl::StatusOr<expr::Value> Evaluate(const expr::Value& scope,
                                       int64_t now_ms) const;

 private:
  std::string source_;
  std::optional<expr::CompiledExpression> compiled_;
};

// JSONata's $boolean: false for undefined, null, false, 0, "", empty arrays
// and objects, functions; an array is true when any member is.
bool Truthy(const expr::Value& v);

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_EXPRESSION_H_
