#include "runtime/expression.h"

#include "common/status_macros.h"

namespace retrace::runtime {
namespace {

// Definitions share expressions (and are re-parsed on every engine start), so
// compilations are cached process-wide by source text.
expr::CompileCache& Cache() {
  static auto* cache = new expr::CompileCache(expr::Options());
  return *cache;
}

}  // namespace

absl::StatusOr<Expression> Expression::Compile(absl::string_view source) {
  Expression e;
  ASSIGN_OR_RETURN(expr::CompiledExpression compiled, Cache().Get(source));
  e.source_ = std::string(source);
  e.compiled_ = std::move(compiled);
  return e;
}

absl::StatusOr<expr::Value> Expression::Evaluate(const expr::Value& scope,
                                                 int64_t now_ms) const {
  expr::FixedClock clock(now_ms);
  return compiled_->Evaluate(scope, expr::Value(), &clock);
}

bool Truthy(const expr::Value& v) {
  switch (v.type()) {
    case expr::Value::Type::kBoolean:
      return v.boolean();
    case expr::Value::Type::kNumber:
      return v.number() != 0;
    case expr::Value::Type::kString:
      return !v.str().empty();
    case expr::Value::Type::kArray:
      for (const expr::Value& item : v.items()) {
        if (Truthy(item)) return true;
      }
      return false;
    case expr::Value::Type::kObject:
      return v.object().size() > 0;
    default:
      return false;
  }
}

}  // namespace retrace::runtime
