#include "expr/expr.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "expr/internal/compile.h"
#include "expr/internal/evaluator.h"

namespace retrace::expr {
namespace {

// An upper bound of the size of `v` as compact JSON, stopping early once past
// `limit`; -1 when `v` nests deeper than kMaxValueNesting.
int64_t JsonSizeBound(const Value& v, int64_t limit, int64_t acc, int depth) {
  if (acc > limit) return acc;
  switch (v.type()) {
    case Value::Type::kUndefined:
    case Value::Type::kNull:
      return acc + 4;
    case Value::Type::kBoolean:
      return acc + 5;
    case Value::Type::kNumber:
      return acc + 24;
    case Value::Type::kString:
      return acc + v.str().size() * 6 + 2;
    case Value::Type::kFunction:
      return acc + 2;
    case Value::Type::kArray:
      if (depth >= kMaxValueNesting) return -1;
      acc += 2;
      for (const Value& x : v.items()) {
        acc = JsonSizeBound(x, limit, acc + 1, depth + 1);
        if (acc < 0 || acc > limit) return acc;
      }
      return acc;
    case Value::Type::kObject:
      if (depth >= kMaxValueNesting) return -1;
      acc += 2;
      for (const auto& e : v.object().entries) {
        acc = JsonSizeBound(e.second, limit, acc + e.first.size() * 6 + 4,
                            depth + 1);
        if (acc < 0 || acc > limit) return acc;
      }
      return acc;
  }
  return acc;
}

}  // namespace

const std::string& CompiledExpression::source() const {
  return program_->source;
}

absl::StatusOr<Value> CompiledExpression::Evaluate(const Value& input,
                                                   const Value& bindings,
                                                   const Clock* clock) const {
  static const SystemClock kSystemClock;
  if (clock == nullptr) clock = &kSystemClock;
  internal::EvalConfig config{options_.get(), clock->NowMillis(),
                              program_.get()};
  internal::Evaluator evaluator(config);
  ASSIGN_OR_RETURN(Value result, evaluator.Run(input, bindings));
  if (result.IsArray() || result.IsObject() || result.IsString()) {
    int64_t limit = options_->max_output_bytes > 0
                        ? options_->max_output_bytes
                        : std::numeric_limits<int64_t>::max() / 8;
    int64_t bound = JsonSizeBound(result, limit, 0, 0);
    if (bound < 0) return internal::TooDeep(0);
    if (bound > limit) {
      int64_t size = static_cast<int64_t>(ToJson(result).size());
      if (size > limit) {
        return retrace::Error(
            absl::StatusCode::kResourceExhausted, "EXPR_OUTPUT_TOO_LARGE",
            absl::StrCat("result of ", size, " bytes exceeds the limit of ",
                         limit, " bytes"));
      }
    }
  }
  return result;
}

absl::StatusOr<CompiledExpression> Compile(absl::string_view source,
                                           const Options& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<const internal::Program> program,
                   internal::CompileProgram(source, options));
  return CompiledExpression(std::move(program),
                            std::make_shared<const Options>(options));
}

CompileCache::CompileCache(Options options, size_t capacity)
    : options_(std::move(options)), capacity_(capacity) {}

absl::StatusOr<CompiledExpression> CompileCache::Get(absl::string_view source) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(source);
    if (it != entries_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(CompiledExpression compiled, Compile(source, options_));
  absl::MutexLock lock(&mu_);
  if (entries_.size() >= capacity_) entries_.clear();
  entries_.emplace(std::string(source), compiled);
  return compiled;
}

size_t CompileCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace retrace::expr
