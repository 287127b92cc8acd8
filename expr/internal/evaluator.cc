#include "expr/internal/evaluator.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "expr/internal/compile.h"
#include "expr/internal/errors.h"

namespace retrace::expr::internal {

namespace {

std::atomic<uint64_t> next_evaluation_id{1};

Value NewTuple(const Value& focus) {
  Value t = Value::Object();
  t.MutableObject()->Set("@", focus);
  return t;
}

const Value& TupleFocus(const Value& tuple) {
  static const Value kUndefined;
  if (!tuple.IsObject()) return kUndefined;
  const Value* v = tuple.object().Find("@");
  return v ? *v : kUndefined;
}

bool IsArrayOfNumbers(const Value& v) {
  if (!v.IsArray()) return false;
  for (const Value& item : v.items()) {
    if (!item.IsNumber()) return false;
  }
  return true;
}

absl::Status NotFinite(double d, int position) {
  return LangError("D1001", position,
                   absl::StrCat("Number out of range: ", FormatNumber(d)));
}

}  // namespace

bool IsSequence(const Value& v) { return v.IsArray() && v.array().sequence; }

namespace {
// 0 when every number in `x` is finite, 1 when one is not, 2 when `x` nests
// deeper than kMaxValueNesting.
int CheckFinite(const Value& x, int depth) {
  switch (x.type()) {
    case Value::Type::kNumber:
      return std::isfinite(x.number()) ? 0 : 1;
    case Value::Type::kArray:
      if (depth >= kMaxValueNesting) return 2;
      for (const Value& y : x.items()) {
        if (int r = CheckFinite(y, depth + 1)) return r;
      }
      return 0;
    case Value::Type::kObject:
      if (depth >= kMaxValueNesting) return 2;
      for (const auto& e : x.object().entries) {
        if (int r = CheckFinite(e.second, depth + 1)) return r;
      }
      return 0;
    default:
      return 0;
  }
}
}  // namespace

Value MakeSequence() {
  auto* cell = new ArrayCell();
  cell->sequence = true;
  return Value::FromArray(cell);
}

Value MakeSequence(std::vector<Value> items) {
  auto* cell = new ArrayCell();
  cell->sequence = true;
  cell->items = std::move(items);
  return Value::FromArray(cell);
}

namespace {
bool TruthyAt(const Value& v, int depth);
}  // namespace

bool Truthy(const Value& v) { return TruthyAt(v, 0); }

namespace {
bool TruthyAt(const Value& v, int depth) {
  if (depth > kMaxValueNesting) return true;
  switch (v.type()) {
    case Value::Type::kUndefined:
    case Value::Type::kNull:
    case Value::Type::kFunction:
      return false;
    case Value::Type::kBoolean:
      return v.boolean();
    case Value::Type::kNumber:
      return v.number() != 0 && !std::isnan(v.number());
    case Value::Type::kString:
      return !v.str().empty();
    case Value::Type::kObject:
      return v.object().size() > 0;
    case Value::Type::kArray: {
      const auto& items = v.items();
      if (items.size() == 1) return TruthyAt(items[0], depth + 1);
      for (const Value& item : items) {
        if (TruthyAt(item, depth + 1)) return true;
      }
      return false;
    }
  }
  return false;
}
}  // namespace

Value ToBoolean(const Value& v) {
  if (v.IsUndefined()) return Value();
  return Value::Bool(Truthy(v));
}

absl::Status TooDeep(int position) {
  return retrace::Error(
      absl::StatusCode::kResourceExhausted, "EXPR_OUTPUT_TOO_LARGE",
      absl::StrCat("value nested deeper than ", kMaxValueNesting,
                   " levels (at position ", position, ")"));
}

absl::StatusOr<std::string> ToJsString(const Value& v, bool pretty,
                                       int position) {
  if (v.IsString()) return v.str();
  if (v.IsFunction()) return std::string();
  if (v.IsNumber() && !std::isfinite(v.number())) {
    return LangError("D3001", position,
                     "Attempting to invoke string function on Infinity or NaN");
  }
  switch (CheckFinite(v, 0)) {
    case 1:
      return LangError("D1001", position, "Number out of range");
    case 2:
      return TooDeep(position);
    default:
      break;
  }
  const Value* target = &v;
  if (v.IsArray() && v.array().outer_wrapper && !v.items().empty()) {
    target = &v.items()[0];
  }
  JsonWriteOptions o;
  o.pretty = pretty;
  o.fifteen_digits = true;
  return ToJson(*target, o);
}

Value AppendValues(const Value& a, const Value& b) {
  if (a.IsUndefined()) return b;
  if (b.IsUndefined()) return a;
  std::vector<Value> items;
  if (a.IsArray()) {
    items = a.items();
  } else {
    items.push_back(a);
  }
  if (b.IsArray()) {
    items.insert(items.end(), b.items().begin(), b.items().end());
  } else {
    items.push_back(b);
  }
  return Value::Array(std::move(items));
}

namespace {
Value LookupFieldAt(const Value& input, absl::string_view key, int depth);
}  // namespace

Value LookupField(const Value& input, absl::string_view key) {
  return LookupFieldAt(input, key, 0);
}

namespace {
Value LookupFieldAt(const Value& input, absl::string_view key, int depth) {
  if (input.IsArray()) {
    if (depth > kMaxValueNesting) return Value();
    Value result = MakeSequence();
    ArrayCell* out = result.MutableArray();
    for (const Value& item : input.items()) {
      Value res = LookupFieldAt(item, key, depth + 1);
      if (res.IsUndefined()) continue;
      if (res.IsArray()) {
        for (const Value& v : res.items()) out->items.push_back(v);
      } else {
        out->items.push_back(std::move(res));
      }
    }
    return result;
  }
  if (input.IsObject()) {
    const Value* v = input.object().Find(key);
    return v ? *v : Value();
  }
  return Value();
}
}  // namespace

Value DeepClone(const Value& v) {
  if (v.IsArray()) {
    auto* cell = new ArrayCell();
    const ArrayCell& old = v.array();
    cell->sequence = old.sequence;
    cell->keep_singleton = old.keep_singleton;
    cell->cons = old.cons;
    cell->outer_wrapper = old.outer_wrapper;
    cell->items.reserve(old.items.size());
    for (const Value& item : old.items) cell->items.push_back(DeepClone(item));
    return Value::FromArray(cell);
  }
  if (v.IsObject()) {
    auto* cell = new ObjectCell();
    for (const auto& e : v.object().entries)
      cell->Set(e.first, DeepClone(e.second));
    return Value::FromObject(cell);
  }
  return v;
}

size_t CodePointLength(absl::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

Value BuiltinValue(const BuiltinDef* def) {
  auto* f = new FunctionValue();
  f->kind = FunctionValue::kBuiltin;
  f->builtin = def;
  return Value::FromFunction(f);
}

// ---------------------------------------------------------------------------

Evaluator::Evaluator(const EvalConfig& config)
    : config_(config),
      evaluation_id_(
          next_evaluation_id.fetch_add(1, std::memory_order_relaxed)),
      step_limit_(config.options->max_steps > 0
                      ? config.options->max_steps
                      : std::numeric_limits<int64_t>::max()),
      depth_limit_(config.options->max_depth > 0
                       ? config.options->max_depth
                       : std::numeric_limits<int>::max()) {}

Frame* Evaluator::NewFrame(Frame* parent) {
  if (frames_in_block_ == kFrameBlock) {
    frame_blocks_.emplace_back(new Frame[kFrameBlock]);
    frames_in_block_ = 0;
  }
  Frame* f = &frame_blocks_.back()[frames_in_block_++];
  f->parent = parent;
  return f;
}

absl::Status Evaluator::CheckSequence(size_t length, int position) const {
  int64_t limit = options().max_sequence_length;
  if (limit > 0 && static_cast<int64_t>(length) > limit) {
    return retrace::Error(
        absl::StatusCode::kResourceExhausted, "EXPR_SEQUENCE_TOO_LONG",
        absl::StrCat("sequence of ", length, " items exceeds the limit of ",
                     limit, " (at position ", position, ")"));
  }
  return absl::OkStatus();
}

absl::Status Evaluator::CheckString(size_t length, int position) const {
  int64_t limit = options().max_output_bytes;
  if (limit > 0 && static_cast<int64_t>(length) > limit) {
    return retrace::Error(
        absl::StatusCode::kResourceExhausted, "EXPR_OUTPUT_TOO_LARGE",
        absl::StrCat("string of ", length, " bytes exceeds the limit of ",
                     limit, " bytes (at position ", position, ")"));
  }
  return absl::OkStatus();
}

absl::Status Evaluator::CheckBudget(const Node* node) {
  const Options& o = options();
  if (o.max_steps > 0 && steps_ > o.max_steps) {
    return retrace::Error(
        absl::StatusCode::kResourceExhausted, "EXPR_STEPS_EXCEEDED",
        absl::StrCat("evaluation exceeded ", o.max_steps,
                     " steps (at position ", node->position, ")"));
  }
  if (o.max_depth > 0 && depth_ >= o.max_depth) {
    return LangError("U1001", node->position,
                     absl::StrCat("Stack overflow error: evaluation depth "
                                  "exceeds ",
                                  o.max_depth,
                                  ". Check for non-terminating recursive "
                                  "function. Consider rewriting as "
                                  "tail-recursive."));
  }
  if (has_deadline_ && (steps_ & 1023) == 0 &&
      deadline_ == absl::InfiniteFuture()) {
    // The clock is first read after 1024 steps, so that short evaluations
    // never pay for it; the budget then runs from that moment.
    deadline_ = absl::Now() + o.max_wall_time;
  } else if (has_deadline_ && (steps_ & 1023) == 0 && absl::Now() > deadline_) {
    return retrace::Error(absl::StatusCode::kDeadlineExceeded, "EXPR_TIMEOUT",
                          absl::StrCat("evaluation exceeded the time limit of ",
                                       absl::FormatDuration(o.max_wall_time),
                                       " (at position ", node->position, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Evaluator::Run(const Value& input_in,
                                     const Value& bindings) {
  if (options().max_wall_time > absl::ZeroDuration()) {
    has_deadline_ = true;
    deadline_ = absl::InfiniteFuture();
  }
  Value input = input_in;
  if (input.IsArray() && !input.array().sequence) {
    Value wrapped = MakeSequence({input});
    wrapped.MutableArray()->outer_wrapper = true;
    input = std::move(wrapped);
  }
  Frame* root = &root_frame_;
  root->Bind("$", input);
  if (bindings.IsObject()) {
    for (const auto& e : bindings.object().entries) {
      root->Bind(e.first, e.second);
    }
  }
  ASSIGN_OR_RETURN(Value result, Eval(config_.program->root, input, root));
  if (result.IsNumber() && !std::isfinite(result.number())) {
    return NotFinite(result.number(), 0);
  }
  return result;
}

absl::StatusOr<Value> Evaluator::Eval(const Node* node, const Value& input,
                                      Frame* env) {
  ++steps_;
  if (ABSL_PREDICT_FALSE(steps_ > step_limit_ || depth_ >= depth_limit_ ||
                         (has_deadline_ && (steps_ & 1023) == 0))) {
    RETURN_IF_ERROR(CheckBudget(node));
  }
  ++depth_;
  absl::StatusOr<Value> r = EvalInner(node, input, env);
  --depth_;
  if (!r.ok()) return r;
  if (ABSL_PREDICT_TRUE(!r->IsArray() && node->predicates.empty() &&
                        !node->has_group)) {
    return r;
  }
  Value result = std::move(*r);
  for (const Stage& s : node->predicates) {
    ASSIGN_OR_RETURN(result, EvalFilter(s.expr, result, env));
  }
  if (node->type != NodeType::kPath && node->has_group) {
    ASSIGN_OR_RETURN(result,
                     EvalGroup(node->group, node->group_position, result, env));
  }
  if (result.IsArray()) {
    const ArrayCell& a = result.array();
    if (a.sequence && !a.tuple_stream) {
      if (node->keep_array && !a.keep_singleton) {
        result.MutableArray()->keep_singleton = true;
      }
      size_t n = result.items().size();
      if (n == 0) return Value();
      if (n == 1 && !result.array().keep_singleton) {
        return Value(result.items()[0]);
      }
    }
  }
  return result;
}

absl::StatusOr<Value> Evaluator::EvalInner(const Node* node, const Value& input,
                                           Frame* env) {
  switch (node->type) {
    case NodeType::kPath:
      return EvalPath(node, input, env);
    case NodeType::kBinary:
    case NodeType::kRange:
      return EvalBinary(node, input, env);
    case NodeType::kNegate: {
      ASSIGN_OR_RETURN(Value v, Eval(node->lhs, input, env));
      if (v.IsUndefined()) return v;
      if (v.IsNumber()) return Value::Number(-v.number());
      return LangError("D1002", node->position,
                       "Cannot negate a non-numeric value");
    }
    case NodeType::kArray:
      return EvalArray(node, input, env);
    case NodeType::kObject:
      return EvalGroup(node->pairs, node->position, input, env);
    case NodeType::kName:
      return LookupField(input, node->value);
    case NodeType::kString:
    case NodeType::kNumber:
    case NodeType::kValue:
    case NodeType::kRegex:
      return node->literal;
    case NodeType::kWildcard: {
      Value results = MakeSequence();
      const Value* in = &input;
      if (input.IsArray() && input.array().outer_wrapper &&
          !input.items().empty()) {
        in = &input.items()[0];
      }
      if (in->IsObject()) {
        std::vector<Value> out;
        bool plain = false;
        for (const auto& e : in->object().entries) {
          if (e.second.IsArray()) {
            // flatten fully, then append (the result loses its sequence
            // flag, as in jsonata-js)
            std::function<void(const Value&)> flat = [&](const Value& x) {
              if (x.IsArray()) {
                for (const Value& y : x.items()) flat(y);
              } else {
                out.push_back(x);
              }
            };
            flat(e.second);
            plain = true;
          } else {
            out.push_back(e.second);
          }
        }
        RETURN_IF_ERROR(CheckSequence(out.size(), node->position));
        if (plain) return Value::Array(std::move(out));
        return MakeSequence(std::move(out));
      }
      return results;
    }
    case NodeType::kDescendant: {
      if (input.IsUndefined()) return Value();
      if (NestingExceeds(input)) return TooDeep(node->position);
      std::vector<Value> out;
      std::function<void(const Value&)> rec = [&](const Value& x) {
        if (!x.IsArray()) out.push_back(x);
        if (x.IsArray()) {
          for (const Value& y : x.items()) rec(y);
        } else if (x.IsObject()) {
          for (const auto& e : x.object().entries) rec(e.second);
        }
      };
      rec(input);
      RETURN_IF_ERROR(CheckSequence(out.size(), node->position));
      if (out.size() == 1) return out[0];
      return MakeSequence(std::move(out));
    }
    case NodeType::kParent: {
      const Value* v = env->Lookup(node->slot->label);
      return v ? *v : Value();
    }
    case NodeType::kCondition: {
      ASSIGN_OR_RETURN(Value c, Eval(node->lhs, input, env));
      if (Truthy(c)) {
        if (node->rhs == node->lhs) return c;  // ?: operator
        return EvalChild(node->rhs, input, env);
      }
      if (node->third) return EvalChild(node->third, input, env);
      return Value();
    }
    case NodeType::kCoalesce: {
      ASSIGN_OR_RETURN(Value l, Eval(node->lhs, input, env));
      if (l.IsDefined()) return l;
      return Eval(node->rhs, input, env);
    }
    case NodeType::kBlock: {
      Frame* frame = node->block_needs_frame ? NewFrame(env) : env;
      Value result;
      for (const Node* item : node->items) {
        ASSIGN_OR_RETURN(result, Eval(item, input, frame));
      }
      return result;
    }
    case NodeType::kBind: {
      ASSIGN_OR_RETURN(Value v, Eval(node->rhs, input, env));
      env->Bind(node->lhs->value, v);
      return v;
    }
    case NodeType::kFunction:
      return EvalFunctionCall(node, input, env, nullptr);
    case NodeType::kPartial:
      return EvalPartial(node, input, env);
    case NodeType::kVariable:
      return EvalVariable(node, input, env);
    case NodeType::kLambda: {
      auto* f = new FunctionValue();
      f->kind = FunctionValue::kLambda;
      f->node = node;
      f->env = env;
      f->input = input;
      f->evaluation_id = evaluation_id_;
      f->thunk = node->thunk;
      return Value::FromFunction(f);
    }
    case NodeType::kApply:
      return EvalApply(node, input, env);
    case NodeType::kTransform: {
      auto* f = new FunctionValue();
      f->kind = FunctionValue::kTransform;
      f->node = node;
      f->env = env;
      f->evaluation_id = evaluation_id_;
      return Value::FromFunction(f);
    }
    case NodeType::kSort: {
      Value seq = input.IsArray() ? input : MakeSequence({input});
      return EvalSort(node, seq, env);
    }
    default:
      return LangError("S0201", node->position, "Syntax error");
  }
}

absl::StatusOr<Value> Evaluator::EvalVariable(const Node* node,
                                              const Value& input, Frame* env) {
  if (node->value.empty()) {
    if (input.IsArray() && input.array().outer_wrapper &&
        !input.items().empty()) {
      return input.items()[0];
    }
    return input;
  }
  const Value* v = env->Lookup(node->value);
  if (v != nullptr) return *v;
  if (node->builtin != nullptr) return node->literal;
  return Value();
}

absl::StatusOr<Value> Evaluator::EvalSimplePath(const Node* node,
                                                const Value& input, Frame* env,
                                                bool* done) {
  const auto& steps = node->items;
  Value cur;
  size_t i = 0;
  if (steps[0]->type == NodeType::kVariable) {
    ++steps_;
    ASSIGN_OR_RETURN(cur, EvalVariable(steps[0], input, env));
    i = 1;
  } else {
    cur = input;
  }
  for (; i < steps.size(); ++i) {
    if (cur.IsArray()) {
      *done = false;
      return Value();
    }
    if (!cur.IsObject()) return Value();
    const Value* v = cur.object().Find(steps[i]->value);
    if (v == nullptr) return Value();
    cur = *v;
  }
  if (cur.IsArray() && (steps.size() == 1 || cur.array().sequence)) {
    // Single-step paths and sequences flatten differently: let the general
    // algorithm decide.
    *done = false;
    return Value();
  }
  return cur;
}

absl::StatusOr<Value> Evaluator::EvalPath(const Node* node, const Value& input,
                                          Frame* env) {
  if (node->simple_path && !input.IsArray()) {
    bool done = true;
    ASSIGN_OR_RETURN(Value v, EvalSimplePath(node, input, env, &done));
    if (done) return v;
  }
  Value input_seq;
  const auto& steps = node->items;
  if (input.IsArray() && steps[0]->type != NodeType::kVariable) {
    input_seq = input;
  } else if (input.IsArray() || steps[0]->cons_array) {
    input_seq = MakeSequence({input});
  } else {
    input_seq = input;  // a single item: steps treat it as [input]
  }
  Value result_seq;
  bool is_tuple = false;
  Value tuples;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Node* step = steps[i];
    if (step->tuple) is_tuple = true;
    if (i == 0 && step->cons_array) {
      ASSIGN_OR_RETURN(result_seq, Eval(step, input_seq, env));
    } else if (is_tuple) {
      ASSIGN_OR_RETURN(tuples, EvalTupleStep(step, input_seq, tuples, env));
    } else {
      ASSIGN_OR_RETURN(result_seq,
                       EvalStep(step, input_seq, env, i == steps.size() - 1));
    }
    if (!is_tuple && (result_seq.IsUndefined() ||
                      (result_seq.IsArray() && result_seq.items().empty()))) {
      break;
    }
    if (step->focus.empty()) input_seq = result_seq;
  }
  if (is_tuple && node->tuple) {
    // This path carries ancestry for an enclosing path: keep the tuples.
    result_seq = tuples;
  } else if (is_tuple) {
    std::vector<Value> out;
    if (tuples.IsArray()) {
      out.reserve(tuples.items().size());
      for (const Value& t : tuples.items()) out.push_back(TupleFocus(t));
    }
    result_seq = MakeSequence(std::move(out));
  }
  if (node->keep_singleton_array && result_seq.IsArray()) {
    if (result_seq.array().cons && !result_seq.array().sequence) {
      result_seq = MakeSequence({result_seq});
    }
    result_seq.MutableArray()->keep_singleton = true;
  }
  if (node->has_group) {
    ASSIGN_OR_RETURN(result_seq,
                     EvalGroup(node->group, node->group_position,
                               is_tuple ? tuples : result_seq, env));
  }
  return result_seq;
}

absl::StatusOr<Value> Evaluator::EvalStep(const Node* step, const Value& input,
                                          Frame* env, bool last_step) {
  if (step->type == NodeType::kSort) {
    ASSIGN_OR_RETURN(Value result, EvalSort(step, input, env));
    if (!step->stages.empty()) return EvalStages(step->stages, result, env);
    return result;
  }
  auto* cell = new ArrayCell();
  cell->sequence = true;
  cell->items.reserve(input.IsArray() ? input.items().size() : 1);
  Value result = Value::FromArray(cell);
  size_t count = 0;
  Value single_array;  // the only result, when it is a non-sequence array
  auto one = [&](const Value& item) -> absl::Status {
    Value res;
    if (step->plain_name) {
      // What Eval would do for a field name, without its overhead: look up,
      // then flatten a sequence of zero or one values.
      ++steps_;
      res = LookupField(item, step->value);
      if (res.IsArray() && res.array().sequence) {
        const auto& found = res.items();
        if (found.empty()) return absl::OkStatus();
        if (found.size() == 1) res = Value(found[0]);
      }
    } else {
      ASSIGN_OR_RETURN(res, Eval(step, item, env));
    }
    for (const Stage& s : step->stages) {
      ASSIGN_OR_RETURN(res, EvalFilter(s.expr, res, env));
    }
    if (res.IsUndefined()) return absl::OkStatus();
    ++count;
    if (count == 1 && res.IsArray() && !res.array().sequence)
      single_array = res;
    if (!res.IsArray() || res.array().cons) {
      cell->items.push_back(std::move(res));
    } else {
      for (const Value& v : res.items()) cell->items.push_back(v);
    }
    return absl::OkStatus();
  };
  if (input.IsArray()) {
    for (const Value& item : input.items()) RETURN_IF_ERROR(one(item));
  } else {
    RETURN_IF_ERROR(one(input));
  }
  if (last_step && count == 1 && single_array.IsDefined()) return single_array;
  RETURN_IF_ERROR(CheckSequence(cell->items.size(), step->position));
  return result;
}

Frame* Evaluator::FrameFromTuple(Frame* env, const Value& tuple) {
  Frame* frame = NewFrame(env);
  if (!tuple.IsObject()) return frame;
  frame->keep_alive = tuple;
  for (const auto& e : tuple.object().entries) {
    if (e.first != "@") frame->vars.emplace_back(e.first, e.second);
  }
  return frame;
}

absl::StatusOr<Value> Evaluator::EvalTupleStep(const Node* step,
                                               const Value& input,
                                               const Value& tuples_in,
                                               Frame* env) {
  if (step->type == NodeType::kSort) {
    Value result;
    if (tuples_in.IsDefined()) {
      ASSIGN_OR_RETURN(result, EvalSort(step, tuples_in, env));
    } else {
      ASSIGN_OR_RETURN(Value sorted, EvalSort(step, input, env));
      std::vector<Value> out;
      if (sorted.IsArray()) {
        for (size_t i = 0; i < sorted.items().size(); ++i) {
          Value t = NewTuple(sorted.items()[i]);
          if (!step->index.empty()) {
            t.MutableObject()->Set(step->index, Value::Number(i));
          }
          out.push_back(std::move(t));
        }
      }
      result = MakeSequence(std::move(out));
      result.MutableArray()->tuple_stream = true;
    }
    if (!step->stages.empty()) return EvalStages(step->stages, result, env);
    return result;
  }
  Value tuples = tuples_in;
  if (tuples.IsUndefined()) {
    std::vector<Value> ts;
    if (input.IsArray()) {
      for (const Value& item : input.items()) ts.push_back(NewTuple(item));
    } else {
      ts.push_back(NewTuple(input));
    }
    tuples = MakeSequence(std::move(ts));
  }
  std::vector<Value> out;
  for (const Value& tuple : tuples.items()) {
    Frame* step_env = FrameFromTuple(env, tuple);
    ASSIGN_OR_RETURN(Value res, Eval(step, TupleFocus(tuple), step_env));
    if (res.IsUndefined()) continue;
    bool res_tuples = res.IsArray() && res.array().tuple_stream;
    std::vector<Value> single;
    const std::vector<Value>* items;
    if (res.IsArray()) {
      items = &res.items();
    } else {
      single.push_back(res);
      items = &single;
    }
    for (size_t bb = 0; bb < items->size(); ++bb) {
      Value t = tuple;
      ObjectCell* obj = t.MutableObject();
      const Value& r = (*items)[bb];
      if (res_tuples) {
        for (const auto& e : r.object().entries) obj->Set(e.first, e.second);
      } else {
        if (!step->focus.empty()) {
          obj->Set(step->focus, r);
        } else {
          obj->Set("@", r);
        }
        if (!step->index.empty()) obj->Set(step->index, Value::Number(bb));
        if (step->ancestor != nullptr) {
          obj->Set(step->ancestor->label, TupleFocus(tuple));
        }
      }
      out.push_back(std::move(t));
    }
  }
  RETURN_IF_ERROR(CheckSequence(out.size(), step->position));
  Value result = MakeSequence(std::move(out));
  result.MutableArray()->tuple_stream = true;
  if (!step->stages.empty()) return EvalStages(step->stages, result, env);
  return result;
}

absl::StatusOr<Value> Evaluator::EvalStages(const std::vector<Stage>& stages,
                                            Value result, Frame* env) {
  for (const Stage& s : stages) {
    if (s.kind == Stage::kFilter) {
      ASSIGN_OR_RETURN(result, EvalFilter(s.expr, result, env));
    } else if (result.IsArray()) {
      ArrayCell* arr = result.MutableArray();
      for (size_t i = 0; i < arr->items.size(); ++i) {
        Value& t = arr->items[i];
        if (t.IsObject()) t.MutableObject()->Set(s.var, Value::Number(i));
      }
    }
  }
  return result;
}

absl::StatusOr<Value> Evaluator::EvalFilter(const Node* pred,
                                            const Value& input, Frame* env) {
  bool tuple_stream = input.IsArray() && input.array().tuple_stream;
  absl::Span<const Value> items = input.IsArray()
                                      ? absl::MakeConstSpan(input.items())
                                      : absl::Span<const Value>(&input, 1);
  if (pred->type == NodeType::kNumber) {
    double d = std::floor(pred->literal.number());
    int64_t n = items.size();
    if (d < 0) d += n;
    Value results = MakeSequence();
    if (d >= 0 && d < n) {
      const Value& item = items[static_cast<size_t>(d)];
      if (item.IsArray()) return item;
      if (item.IsDefined()) results.MutableArray()->items.push_back(item);
    }
    if (tuple_stream) results.MutableArray()->tuple_stream = true;
    return results;
  }
  std::vector<Value> out;
  for (size_t index = 0; index < items.size(); ++index) {
    const Value& item = items[index];
    Value res;
    if (tuple_stream) {
      Frame* e = FrameFromTuple(env, item);
      ASSIGN_OR_RETURN(res, Eval(pred, TupleFocus(item), e));
    } else {
      ASSIGN_OR_RETURN(res, Eval(pred, item, env));
    }
    if (res.IsNumber()) {
      double ii = std::floor(res.number());
      if (ii < 0) ii += items.size();
      if (ii == static_cast<double>(index)) out.push_back(item);
    } else if (IsArrayOfNumbers(res)) {
      for (const Value& r : res.items()) {
        double ii = std::floor(r.number());
        if (ii < 0) ii += items.size();
        if (ii == static_cast<double>(index)) out.push_back(item);
      }
    } else if (Truthy(res)) {
      out.push_back(item);
    }
  }
  Value results = MakeSequence(std::move(out));
  if (tuple_stream) results.MutableArray()->tuple_stream = true;
  return results;
}

absl::StatusOr<Value> Evaluator::EvalBinary(const Node* node,
                                            const Value& input, Frame* env) {
  ASSIGN_OR_RETURN(Value lhs, EvalChild(node->lhs, input, env));
  const std::string& op = node->value;
  const BinOp bop = node->op;
  int pos = node->position;
  if (bop == BinOp::kAnd || bop == BinOp::kOr) {
    bool l = Truthy(lhs);
    if (bop == BinOp::kAnd && !l) return Value::Bool(false);
    if (bop == BinOp::kOr && l) return Value::Bool(true);
    ASSIGN_OR_RETURN(Value rhs, EvalChild(node->rhs, input, env));
    return Value::Bool(Truthy(rhs));
  }
  ASSIGN_OR_RETURN(Value rhs, EvalChild(node->rhs, input, env));
  if (node->type == NodeType::kRange) {
    if (lhs.IsDefined() &&
        (!lhs.IsNumber() || lhs.number() != std::floor(lhs.number()))) {
      return LangError("T2003", pos,
                       "The left side of the range operator (..) must "
                       "evaluate to an integer");
    }
    if (rhs.IsDefined() &&
        (!rhs.IsNumber() || rhs.number() != std::floor(rhs.number()))) {
      return LangError("T2004", pos,
                       "The right side of the range operator (..) must "
                       "evaluate to an integer");
    }
    if (lhs.IsUndefined() || rhs.IsUndefined()) return Value();
    double lo = lhs.number(), hi = rhs.number();
    if (lo > hi) return Value();
    double size = hi - lo + 1;
    if (size > 1e7) {
      return LangError("D2014", pos,
                       absl::StrCat("The size of the sequence allocated by the "
                                    "range operator (..) must not exceed 1e7. "
                                    "Attempted to allocate ",
                                    FormatNumber(size)));
    }
    RETURN_IF_ERROR(CheckSequence(static_cast<size_t>(size), pos));
    auto* cell = new ArrayCell();
    cell->sequence = true;
    cell->items.reserve(static_cast<size_t>(size));
    for (double v = lo; v <= hi; v += 1)
      cell->items.push_back(Value::Number(v));
    return Value::FromArray(cell);
  }
  if (bop <= BinOp::kMod) {
    char c0 = op[0];
    if (lhs.IsDefined() && !lhs.IsNumber()) {
      return LangError("T2001", pos,
                       absl::StrCat("The left side of the ", op,
                                    " operator must evaluate to a number"));
    }
    if (rhs.IsDefined() && !rhs.IsNumber()) {
      return LangError("T2002", pos,
                       absl::StrCat("The right side of the ", op,
                                    " operator must evaluate to a number"));
    }
    if (lhs.IsUndefined() || rhs.IsUndefined()) return Value();
    double a = lhs.number(), b = rhs.number();
    if (!std::isfinite(a)) return NotFinite(a, pos);
    if (!std::isfinite(b)) return NotFinite(b, pos);
    double r = 0;
    switch (c0) {
      case '+':
        r = a + b;
        break;
      case '-':
        r = a - b;
        break;
      case '*':
        r = a * b;
        break;
      case '/':
        r = a / b;
        break;
      case '%':
        r = std::fmod(a, b);
        break;
    }
    return Value::Number(r);
  }
  if (bop == BinOp::kEq || bop == BinOp::kNe) {
    if (lhs.IsUndefined() || rhs.IsUndefined()) return Value::Bool(false);
    if (NestingExceeds(lhs) || NestingExceeds(rhs)) return TooDeep(pos);
    bool eq = DeepEqual(lhs, rhs);
    return Value::Bool(bop == BinOp::kEq ? eq : !eq);
  }
  if (bop >= BinOp::kLt && bop <= BinOp::kGe) {
    bool lc = lhs.IsUndefined() || lhs.IsString() || lhs.IsNumber();
    bool rc = rhs.IsUndefined() || rhs.IsString() || rhs.IsNumber();
    if (!lc || !rc) {
      return LangError(
          "T2010", pos,
          absl::StrCat("The expressions either side of operator ", op,
                       " must evaluate to numeric or string "
                       "values"));
    }
    if (lhs.IsUndefined() || rhs.IsUndefined()) return Value();
    if (lhs.type() != rhs.type()) {
      return LangError("T2009", pos,
                       absl::StrCat("The values either side of operator ", op,
                                    " must be of the same data type"));
    }
    int cmp;
    if (lhs.IsNumber()) {
      double a = lhs.number(), b = rhs.number();
      cmp = a < b ? -1 : (a > b ? 1 : 0);
    } else {
      int c = lhs.str().compare(rhs.str());
      cmp = c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    bool r = bop == BinOp::kLt   ? cmp < 0
             : bop == BinOp::kLe ? cmp <= 0
             : bop == BinOp::kGt ? cmp > 0
                                 : cmp >= 0;
    return Value::Bool(r);
  }
  if (bop == BinOp::kConcat) {
    std::string out;
    if (lhs.IsDefined()) {
      ASSIGN_OR_RETURN(out, ToJsString(lhs, false, pos));
    }
    if (rhs.IsDefined()) {
      ASSIGN_OR_RETURN(std::string r, ToJsString(rhs, false, pos));
      out += r;
    }
    RETURN_IF_ERROR(CheckString(out.size(), pos));
    return Value::String(std::move(out));
  }
  if (bop == BinOp::kIn) {
    if (lhs.IsUndefined() || rhs.IsUndefined()) return Value::Bool(false);
    auto same = [&](const Value& x) {
      if (x.IsArray() || x.IsObject() || x.IsFunction()) {
        return x.SameCell(lhs);
      }
      return DeepEqual(x, lhs);
    };
    if (rhs.IsArray()) {
      for (const Value& x : rhs.items()) {
        if (same(x)) return Value::Bool(true);
      }
      return Value::Bool(false);
    }
    return Value::Bool(same(rhs));
  }
  return LangError("S0204", pos, absl::StrCat("Unknown operator: ", op));
}

absl::StatusOr<Value> Evaluator::EvalArray(const Node* node, const Value& input,
                                           Frame* env) {
  auto* cell = new ArrayCell();
  cell->items.reserve(node->items.size());
  Value result = Value::FromArray(cell);
  for (const Node* item : node->items) {
    ASSIGN_OR_RETURN(Value v, Eval(item, input, env));
    if (v.IsUndefined()) continue;
    if (item->type == NodeType::kArray || !v.IsArray()) {
      cell->items.push_back(std::move(v));
    } else {
      for (const Value& x : v.items()) cell->items.push_back(x);
    }
  }
  RETURN_IF_ERROR(CheckSequence(cell->items.size(), node->position));
  if (node->cons_array) cell->cons = true;
  return result;
}

absl::StatusOr<Value> Evaluator::EvalGroup(
    const std::vector<std::pair<Node*, Node*>>& pairs, int position,
    const Value& input_in, Frame* env) {
  bool reduce = input_in.IsArray() && input_in.array().tuple_stream;
  static const Value kUndefined;
  absl::Span<const Value> items_span =
      input_in.IsArray() ? absl::MakeConstSpan(input_in.items())
                         : absl::Span<const Value>(&input_in, 1);
  if (items_span.empty()) items_span = absl::Span<const Value>(&kUndefined, 1);
  const absl::Span<const Value>* items = &items_span;
  struct Group {
    std::string key;
    Value data;
    size_t expr_index;
  };
  std::vector<Group> groups;
  groups.reserve(pairs.size());
  absl::flat_hash_map<std::string, size_t> index;  // used past 8 groups
  auto find_group = [&](const std::string& key) -> Group* {
    if (groups.size() <= 8) {
      for (Group& g : groups) {
        if (g.key == key) return &g;
      }
      return nullptr;
    }
    if (index.empty()) {
      for (size_t i = 0; i < groups.size(); ++i)
        index.emplace(groups[i].key, i);
    }
    auto it = index.find(key);
    return it == index.end() ? nullptr : &groups[it->second];
  };
  for (const Value& item : *items) {
    Frame* e = reduce ? FrameFromTuple(env, item) : env;
    for (size_t p = 0; p < pairs.size(); ++p) {
      ASSIGN_OR_RETURN(
          Value key, Eval(pairs[p].first, reduce ? TupleFocus(item) : item, e));
      if (key.IsUndefined()) continue;
      if (!key.IsString()) {
        return LangError("T1003", position,
                         absl::StrCat("Key in object structure must evaluate "
                                      "to a string; got: ",
                                      ToJson(key)));
      }
      Group* found = find_group(key.str());
      if (found != nullptr) {
        Group& g = *found;
        if (g.expr_index != p) {
          return LangError("D1009", position,
                           absl::StrCat("Multiple key definitions evaluate to "
                                        "same key: ",
                                        key.str()));
        }
        g.data = AppendValues(g.data, item);
      } else {
        if (!index.empty()) index.emplace(key.str(), groups.size());
        groups.push_back(Group{key.str(), item, p});
      }
    }
  }
  Value result = Value::Object();
  ObjectCell* obj = result.MutableObject();
  obj->entries.reserve(groups.size());
  for (Group& g : groups) {
    Value context = g.data;
    Frame* e = env;
    if (reduce) {
      // Merge the tuples of the group: every binding becomes the append of
      // its values.
      Value merged;
      if (g.data.IsArray()) {
        merged = Value::Object();
        ObjectCell* m = merged.MutableObject();
        const auto& ts = g.data.items();
        for (const auto& kv : ts[0].object().entries)
          m->Set(kv.first, kv.second);
        for (size_t i = 1; i < ts.size(); ++i) {
          for (const auto& kv : ts[i].object().entries) {
            const Value* prev = m->Find(kv.first);
            m->Set(kv.first, AppendValues(prev ? *prev : Value(), kv.second));
          }
        }
      } else {
        merged = g.data;
      }
      context = TupleFocus(merged);
      e = FrameFromTuple(env, merged);
    }
    ASSIGN_OR_RETURN(Value v, Eval(pairs[g.expr_index].second, context, e));
    if (v.IsDefined()) obj->Set(g.key, std::move(v));
  }
  return result;
}

absl::StatusOr<Value> Evaluator::EvalSort(const Node* node, const Value& input,
                                          Frame* env) {
  if (!input.IsArray()) return input;
  bool tuple_sort = input.array().tuple_stream;
  const auto& items = input.items();
  size_t n = items.size();
  if (n <= 1) return input;
  size_t nt = node->terms.size();
  std::vector<Value> keys(n * nt);
  for (size_t i = 0; i < n; ++i) {
    const Value& item = items[i];
    Frame* e = tuple_sort ? FrameFromTuple(env, item) : env;
    const Value& ctx = tuple_sort ? TupleFocus(item) : item;
    for (size_t t = 0; t < nt; ++t) {
      ASSIGN_OR_RETURN(keys[i * nt + t], Eval(node->terms[t].expr, ctx, e));
    }
  }
  for (size_t t = 0; t < nt; ++t) {
    Value::Type seen = Value::Type::kUndefined;
    for (size_t i = 0; i < n; ++i) {
      const Value& k = keys[i * nt + t];
      if (k.IsUndefined()) continue;
      if (!k.IsString() && !k.IsNumber()) {
        return LangError("T2008", node->position,
                         "The expressions within an order-by clause must "
                         "evaluate to numeric or string values");
      }
      if (seen != Value::Type::kUndefined && seen != k.type()) {
        return LangError("T2007", node->position,
                         "Type mismatch within order-by clause. All values "
                         "must be of the same type");
      }
      seen = k.type();
    }
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    for (size_t t = 0; t < nt; ++t) {
      const Value& x = keys[a * nt + t];
      const Value& y = keys[b * nt + t];
      int comp;
      if (x.IsUndefined() && y.IsUndefined()) {
        comp = 0;
      } else if (x.IsUndefined()) {
        comp = 1;
      } else if (y.IsUndefined()) {
        comp = -1;
      } else if (x.IsNumber()) {
        comp = x.number() < y.number() ? -1 : (x.number() > y.number() ? 1 : 0);
      } else {
        int c = x.str().compare(y.str());
        comp = c < 0 ? -1 : (c > 0 ? 1 : 0);
      }
      if (comp != 0 && node->terms[t].descending &&
          !(x.IsUndefined() || y.IsUndefined())) {
        comp = -comp;
      }
      if (comp != 0) return comp < 0;
    }
    return false;
  });
  std::vector<Value> out;
  out.reserve(n);
  for (size_t i : order) out.push_back(items[i]);
  Value result = MakeSequence(std::move(out));
  if (tuple_sort) {
    result.MutableArray()->tuple_stream = true;
  } else {
    result.MutableArray()->sequence = false;
  }
  return result;
}

absl::StatusOr<Value> Evaluator::EvalFunctionCall(const Node* node,
                                                  const Value& input,
                                                  Frame* env,
                                                  const Value* apply_to) {
  ASSIGN_OR_RETURN(Value proc, Eval(node->lhs, input, env));
  if (proc.IsUndefined() && node->lhs->type == NodeType::kPath &&
      node->lhs->items[0]->type == NodeType::kName) {
    const std::string& name = node->lhs->items[0]->value;
    if (FindBuiltin(name) != nullptr || env->Lookup(name) != nullptr) {
      return LangError("T1005", node->position,
                       absl::StrCat("Attempted to invoke a non-function. Did "
                                    "you mean ${",
                                    name, "}?"));
    }
  }
  ValueList args;
  args.reserve(node->items.size() + 1);
  if (apply_to != nullptr) args.push_back(*apply_to);
  for (const Node* arg : node->items) {
    ASSIGN_OR_RETURN(Value v, EvalChild(arg, input, env));
    args.push_back(std::move(v));
  }
  return Apply(proc, std::move(args), input, env, node->position);
}

absl::StatusOr<Value> Evaluator::EvalPartial(const Node* node,
                                             const Value& input, Frame* env) {
  auto* f = new FunctionValue();
  Value result = Value::FromFunction(f);
  f->kind = FunctionValue::kPartial;
  for (const Node* arg : node->items) {
    if (arg->type == NodeType::kPlaceholder) {
      f->args.push_back(Value());
      f->placeholder.push_back(true);
    } else {
      ASSIGN_OR_RETURN(Value v, Eval(arg, input, env));
      f->args.push_back(std::move(v));
      f->placeholder.push_back(false);
    }
  }
  ASSIGN_OR_RETURN(Value proc, Eval(node->lhs, input, env));
  if (proc.IsUndefined() && node->lhs->type == NodeType::kPath &&
      node->lhs->items[0]->type == NodeType::kName) {
    const std::string& name = node->lhs->items[0]->value;
    if (FindBuiltin(name) != nullptr || env->Lookup(name) != nullptr) {
      return LangError("T1007", node->position,
                       absl::StrCat("Attempted to partially apply a "
                                    "non-function. Did you mean ${",
                                    name, "}?"));
    }
  }
  if (!proc.IsFunction()) {
    return LangError("T1008", node->position,
                     "Attempted to partially apply a non-function");
  }
  f->target = proc;
  return result;
}

absl::StatusOr<Value> Evaluator::EvalApply(const Node* node, const Value& input,
                                           Frame* env) {
  if (node->rhs->type == NodeType::kFunction) {
    ASSIGN_OR_RETURN(Value lhs, Eval(node->lhs, input, env));
    return EvalFunctionCall(node->rhs, input, env, &lhs);
  }
  ASSIGN_OR_RETURN(Value lhs, Eval(node->lhs, input, env));
  ASSIGN_OR_RETURN(Value func, Eval(node->rhs, input, env));
  if (!func.IsFunction()) {
    return LangError("T2006", node->position,
                     "The right side of the function application operator ~> "
                     "must be a function");
  }
  if (lhs.IsFunction()) {
    auto* f = new FunctionValue();
    f->kind = FunctionValue::kChain;
    f->first = lhs;
    f->second = func;
    return Value::FromFunction(f);
  }
  return Apply(func, {lhs}, Value(), env, node->position);
}

int Evaluator::Arity(const Value& fn) const {
  if (!fn.IsFunction()) return 0;
  const FunctionValue* f = AsFunction(fn);
  switch (f->kind) {
    case FunctionValue::kLambda:
      return f->node->params.size();
    case FunctionValue::kBuiltin:
      return f->builtin->arity;
    case FunctionValue::kPartial: {
      int n = 0;
      for (bool p : f->placeholder) n += p ? 1 : 0;
      return n;
    }
    case FunctionValue::kChain:
      return Arity(f->first);
    default:
      return 1;
  }
}

absl::StatusOr<Value> Evaluator::Apply(const Value& fn, ValueList args,
                                       const Value& input, Frame* env,
                                       int position) {
  ASSIGN_OR_RETURN(Value result,
                   ApplyInner(fn, std::move(args), input, env, position));
  while (result.IsFunction() &&
         AsFunction(result)->kind == FunctionValue::kLambda &&
         AsFunction(result)->thunk) {
    const FunctionValue* t = AsFunction(result);
    const Node* call = t->node->lhs;
    ASSIGN_OR_RETURN(Value next, Eval(call->lhs, t->input, t->env));
    ValueList a;
    a.reserve(call->items.size());
    for (const Node* arg : call->items) {
      ASSIGN_OR_RETURN(Value v, Eval(arg, t->input, t->env));
      a.push_back(std::move(v));
    }
    if (next.IsUndefined() && call->lhs->type == NodeType::kPath &&
        call->lhs->items[0]->type == NodeType::kName &&
        FindBuiltin(call->lhs->items[0]->value) != nullptr) {
      return LangError("T1005", call->position,
                       "Attempted to invoke a non-function");
    }
    ASSIGN_OR_RETURN(
        result, ApplyInner(next, std::move(a), Value(), env, call->position));
  }
  return result;
}

absl::StatusOr<Value> Evaluator::ApplyInner(const Value& fn, ValueList args,
                                            const Value& input, Frame* env,
                                            int position) {
  if (!fn.IsFunction()) {
    return LangError("T1006", position, "Attempted to invoke a non-function");
  }
  const FunctionValue* f = AsFunction(fn);
  switch (f->kind) {
    case FunctionValue::kLambda: {
      if (f->evaluation_id != evaluation_id_) {
        return retrace::Error(absl::StatusCode::kFailedPrecondition,
                              "EXPR_STALE_FUNCTION",
                              "a function value from another evaluation "
                              "cannot be called");
      }
      if (f->node->signature) {
        ASSIGN_OR_RETURN(
            args, ValidateArgs(*f->node->signature, std::move(args), input,
                               "lambda", position));
      }
      Frame* frame = NewFrame(f->env);
      const auto& params = f->node->params;
      frame->vars.reserve(params.size());
      for (size_t i = 0; i < params.size(); ++i) {
        frame->vars.emplace_back(
            params[i], i < args.size() ? std::move(args[i]) : Value());
      }
      return Eval(f->node->lhs, f->input, frame);
    }
    case FunctionValue::kBuiltin: {
      const BuiltinDef* def = f->builtin;
      ASSIGN_OR_RETURN(args, ValidateArgs(*def->signature, std::move(args),
                                          input, def->display_name, position));
      CallContext ctx{this, input, env, position};
      return def->fn(ctx, args);
    }
    case FunctionValue::kPartial: {
      ValueList full;
      full.reserve(f->args.size());
      size_t k = 0;
      for (size_t i = 0; i < f->args.size(); ++i) {
        if (f->placeholder[i]) {
          full.push_back(k < args.size() ? args[k++] : Value());
        } else {
          full.push_back(f->args[i]);
        }
      }
      return Apply(f->target, std::move(full), input, env, position);
    }
    case FunctionValue::kChain: {
      ASSIGN_OR_RETURN(Value mid,
                       Apply(f->first, std::move(args), input, env, position));
      return Apply(f->second, {mid}, input, env, position);
    }
    case FunctionValue::kTransform: {
      if (f->evaluation_id != evaluation_id_) {
        return retrace::Error(absl::StatusCode::kFailedPrecondition,
                              "EXPR_STALE_FUNCTION",
                              "a function value from another evaluation "
                              "cannot be called");
      }
      Value obj = args.empty() ? Value() : args[0];
      if (obj.IsDefined() && !obj.IsObject() && !obj.IsArray()) {
        return LangError("T0410", position,
                         "Argument 1 of transform does not match function "
                         "signature");
      }
      return ApplyTransform(f, obj);
    }
    case FunctionValue::kRegex: {
      const BuiltinDef* match = FindBuiltin("match");
      ValueList a;
      a.push_back(args.empty() ? Value() : args[0]);
      a.push_back(fn);
      a.push_back(Value::Number(1));
      CallContext ctx{this, input, env, position};
      if (a[0].IsUndefined()) return Value();
      if (!a[0].IsString()) {
        return LangError("T0410", position,
                         "Argument 1 of regex does not match function "
                         "signature");
      }
      ASSIGN_OR_RETURN(Value m, match->fn(ctx, a));
      if (m.IsArray()) return m.items().empty() ? Value() : m.items()[0];
      return m;
    }
  }
  return LangError("T1006", position, "Attempted to invoke a non-function");
}

absl::StatusOr<Value> Evaluator::ApplyTransform(const FunctionValue* f,
                                                const Value& obj) {
  if (obj.IsUndefined()) return Value();
  const Node* node = f->node;
  if (NestingExceeds(obj)) return TooDeep(node->position);
  Value result = DeepClone(obj);
  ASSIGN_OR_RETURN(Value matches, Eval(node->lhs, result, f->env));
  if (matches.IsUndefined()) return result;
  std::vector<Value> list;
  if (matches.IsArray()) {
    list = matches.items();
  } else {
    list.push_back(matches);
  }
  for (const Value& match : list) {
    ASSIGN_OR_RETURN(Value update, Eval(node->rhs, match, f->env));
    if (update.IsDefined()) {
      if (!update.IsObject()) {
        return LangError("T2011", node->rhs->position,
                         "The insert/update clause of the transform "
                         "expression must evaluate to an object");
      }
      if (match.IsObject()) {
        ObjectCell* m = match.SharedMutableObject();
        for (const auto& e : update.object().entries) m->Set(e.first, e.second);
      }
    }
    if (node->third != nullptr) {
      ASSIGN_OR_RETURN(Value deletions, Eval(node->third, match, f->env));
      if (deletions.IsDefined()) {
        std::vector<Value> dl;
        if (deletions.IsArray()) {
          dl = deletions.items();
        } else {
          dl.push_back(deletions);
        }
        for (const Value& d : dl) {
          if (!d.IsString()) {
            return LangError("T2012", node->third->position,
                             "The delete clause of the transform expression "
                             "must evaluate to a string or array of strings");
          }
        }
        if (match.IsObject()) {
          ObjectCell* m = match.SharedMutableObject();
          for (const Value& d : dl) m->Erase(d.str());
        }
      }
    }
  }
  return result;
}

absl::StatusOr<Value> Evaluator::EvalSource(absl::string_view source,
                                            const Value& input, Frame* env,
                                            int position) {
  absl::StatusOr<std::shared_ptr<const Program>> program =
      CompileProgram(source, options());
  if (!program.ok()) {
    if (retrace::ErrorCode(program.status()) == "EXPR_FUNCTION_NOT_ALLOWED") {
      return program.status();
    }
    return LangError("D3120", position,
                     absl::StrCat("Syntax error in expression passed to "
                                  "function eval: ",
                                  program.status().message()));
  }
  eval_programs_.push_back(*program);
  absl::StatusOr<Value> r = Eval((*program)->root, input, env);
  if (!r.ok()) {
    std::string code = retrace::ErrorCode(r.status());
    if (code.rfind("EXPR_", 0) == 0 || code == "U1001") return r.status();
    return LangError("D3121", position,
                     absl::StrCat("Dynamic error evaluating the expression "
                                  "passed to function eval: ",
                                  r.status().message()));
  }
  return r;
}

}  // namespace retrace::expr::internal
