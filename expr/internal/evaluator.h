// The evaluator: walks a Program's AST over an input Value, following the
// JSONata 2.x semantics (sequences and singleton flattening, tuple streams
// for `@` / `#` bindings, lambdas with tail calls, partial application).
//
// One Evaluator serves exactly one Evaluate call (it owns the environment
// frames, the step / depth counters and the deadline), so evaluations never
// share mutable state. Function values that escape an evaluation cannot be
// called by a later one (EXPR_STALE_FUNCTION).
//
// Thread safety: not thread-safe; use one Evaluator per evaluation.
#ifndef RETRACE_EXPR_INTERNAL_EVALUATOR_H_
#define RETRACE_EXPR_INTERNAL_EVALUATOR_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "expr/internal/ast.h"
#include "expr/internal/signature.h"
#include "expr/options.h"
#include "expr/value.h"

namespace re2 {
class RE2;
}

namespace retrace::expr::internal {

class Evaluator;

// A scope of variable bindings. Names are views into text that outlives the
// evaluation: the AST, the caller's bindings, or `keep_alive` (the tuple a
// frame was made from).
struct Frame {
  Frame* parent = nullptr;
  absl::InlinedVector<std::pair<absl::string_view, Value>, 2> vars;
  Value keep_alive;
  void Bind(absl::string_view name, Value v) {
    for (auto& e : vars) {
      if (e.first == name) {
        e.second = std::move(v);
        return;
      }
    }
    vars.emplace_back(name, std::move(v));
  }
  const Value* Lookup(absl::string_view name) const {
    for (const Frame* f = this; f != nullptr; f = f->parent) {
      for (const auto& e : f->vars) {
        if (e.first == name) return &e.second;
      }
    }
    return nullptr;
  }
};

// Arguments and context of a built-in call.
struct CallContext {
  Evaluator* eval;
  const Value& input;  // the context value
  Frame* env;
  int position;
};

using BuiltinFn = absl::StatusOr<Value> (*)(CallContext& ctx, ValueList& args);

struct BuiltinDef {
  std::string name;          // without '$'
  std::string display_name;  // with '$', for messages
  std::shared_ptr<const Signature> signature;
  BuiltinFn fn;
  int arity;  // as jsonata-js reports it to higher-order functions
};

// Looks up a built-in by name (without '$'); nullptr when unknown.
const BuiltinDef* FindBuiltin(absl::string_view name);

// A compiled regular expression value.
struct RegexProgram {
  std::shared_ptr<const re2::RE2> re;
  std::string source;
};

class FunctionValue final : public FunctionCell {
 public:
  enum Kind { kLambda, kBuiltin, kPartial, kRegex, kChain, kTransform };
  Kind kind;
  // kLambda / kTransform.
  const Node* node = nullptr;  // valid while its evaluation runs
  Frame* env = nullptr;
  Value input;
  uint64_t evaluation_id = 0;
  bool thunk = false;
  // kBuiltin.
  const BuiltinDef* builtin = nullptr;
  // kPartial: `target` with `args` (placeholders undefined, flagged).
  Value target;
  std::vector<Value> args;
  std::vector<bool> placeholder;
  // kChain: second(first(x)).
  Value first, second;
  // kRegex.
  std::shared_ptr<const RegexProgram> regex;
};

inline const FunctionValue* AsFunction(const Value& v) {
  return static_cast<const FunctionValue*>(v.function());
}

// Creates a value wrapping a built-in.
Value BuiltinValue(const BuiltinDef* def);

// Compiles a JSONata regex (JavaScript syntax subset) to RE2.
absl::StatusOr<std::shared_ptr<const RegexProgram>> CompileRegex(
    absl::string_view pattern, absl::string_view flags, int64_t max_mem,
    int position);

// Settings shared by an evaluation.
struct EvalConfig {
  const Options* options;  // must outlive the evaluation
  int64_t now_millis;
  const Program* program;  // must outlive the evaluation
};

class Evaluator {
 public:
  explicit Evaluator(const EvalConfig& config);

  // Evaluates the program over `input` with `bindings` (name -> value).
  absl::StatusOr<Value> Run(const Value& input, const Value& bindings);

  // Evaluates one node.
  absl::StatusOr<Value> Eval(const Node* node, const Value& input, Frame* env);
  // As Eval, with plain literals answered directly.
  absl::StatusOr<Value> EvalChild(const Node* node, const Value& input,
                                  Frame* env) {
    // Budgets are checked by Eval whenever a check is due.
    if (node->plain_literal && steps_ + 1 < step_limit_ &&
        depth_ + 1 < depth_limit_ && ((steps_ + 1) & 1023) != 0) {
      ++steps_;
      return node->literal;
    }
    return Eval(node, input, env);
  }

  // Applies a function value to arguments (with tail-call trampoline).
  absl::StatusOr<Value> Apply(const Value& fn, ValueList args,
                              const Value& input, Frame* env, int position);

  // Arity of a function value as jsonata-js reports it.
  int Arity(const Value& fn) const;

  // A new frame owned by this evaluation.
  Frame* NewFrame(Frame* parent);

  // Checks a built array / string length against the budgets.
  absl::Status CheckSequence(size_t length, int position) const;
  absl::Status CheckString(size_t length, int position) const;

  const Options& options() const { return *config_.options; }
  int64_t now_millis() const { return config_.now_millis; }
  uint64_t evaluation_id() const { return evaluation_id_; }

  // Compiles and evaluates `source` (for $eval) under the same sandbox.
  absl::StatusOr<Value> EvalSource(absl::string_view source, const Value& input,
                                   Frame* env, int position);

 private:
  absl::StatusOr<Value> EvalInner(const Node* node, const Value& input,
                                  Frame* env);
  absl::StatusOr<Value> EvalPath(const Node* node, const Value& input,
                                 Frame* env);
  // Paths of plain field names (optionally after a variable) over single
  // objects; sets *done = false when the general algorithm is needed.
  absl::StatusOr<Value> EvalSimplePath(const Node* node, const Value& input,
                                       Frame* env, bool* done);
  absl::StatusOr<Value> EvalStep(const Node* step, const Value& input,
                                 Frame* env, bool last_step);
  absl::StatusOr<Value> EvalTupleStep(const Node* step, const Value& input,
                                      const Value& tuples, Frame* env);
  absl::StatusOr<Value> EvalStages(const std::vector<Stage>& stages,
                                   Value input, Frame* env);
  absl::StatusOr<Value> EvalFilter(const Node* pred, const Value& input,
                                   Frame* env);
  absl::StatusOr<Value> EvalBinary(const Node* node, const Value& input,
                                   Frame* env);
  absl::StatusOr<Value> EvalArray(const Node* node, const Value& input,
                                  Frame* env);
  absl::StatusOr<Value> EvalGroup(
      const std::vector<std::pair<Node*, Node*>>& pairs, int position,
      const Value& input, Frame* env);
  absl::StatusOr<Value> EvalSort(const Node* node, const Value& input,
                                 Frame* env);
  absl::StatusOr<Value> EvalFunctionCall(const Node* node, const Value& input,
                                         Frame* env, const Value* apply_to);
  absl::StatusOr<Value> EvalPartial(const Node* node, const Value& input,
                                    Frame* env);
  absl::StatusOr<Value> EvalApply(const Node* node, const Value& input,
                                  Frame* env);
  absl::StatusOr<Value> EvalTransform(const Node* node, const Value& input,
                                      Frame* env);
  absl::StatusOr<Value> EvalVariable(const Node* node, const Value& input,
                                     Frame* env);
  absl::StatusOr<Value> ApplyInner(const Value& fn, ValueList args,
                                   const Value& input, Frame* env,
                                   int position);
  absl::StatusOr<Value> ApplyTransform(const FunctionValue* f,
                                       const Value& obj);
  Frame* FrameFromTuple(Frame* env, const Value& tuple);
  absl::Status CheckBudget(const Node* node);

  EvalConfig config_;
  uint64_t evaluation_id_;
  // Frames live in fixed-size blocks so pointers to them stay valid.
  static constexpr size_t kFrameBlock = 32;
  std::vector<std::unique_ptr<Frame[]>> frame_blocks_;
  size_t frames_in_block_ = kFrameBlock;
  Frame root_frame_;
  std::vector<std::shared_ptr<const Program>> eval_programs_;
  const int64_t step_limit_;
  const int depth_limit_;
  int64_t steps_ = 0;
  int depth_ = 0;
  absl::Time deadline_;
  bool has_deadline_ = false;
};

// Helpers shared with the function library.
bool IsSequence(const Value& v);
Value MakeSequence();
Value MakeSequence(std::vector<Value> items);
// jsonata-js fn.boolean: undefined for undefined.
Value ToBoolean(const Value& v);
bool Truthy(const Value& v);
// $string semantics; fails with D3001 for non-finite numbers.
absl::StatusOr<std::string> ToJsString(const Value& v, bool pretty,
                                       int position);
// fn.append.
Value AppendValues(const Value& a, const Value& b);
// fn.lookup.
Value LookupField(const Value& input, absl::string_view key);
// EXPR_OUTPUT_TOO_LARGE for values nested deeper than kMaxValueNesting.
absl::Status TooDeep(int position);
// Deep copy into fresh cells.
Value DeepClone(const Value& v);
// Counts UTF-8 code points.
size_t CodePointLength(absl::string_view s);

}  // namespace retrace::expr::internal

#endif  // RETRACE_EXPR_INTERNAL_EVALUATOR_H_
