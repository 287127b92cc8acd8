#include "expr/internal/compile.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "expr/internal/evaluator.h"
#include "expr/internal/parser.h"

namespace retrace::expr::internal {

namespace {

// True when `node` or anything below it binds a variable.
bool ContainsBind(const Node* node) {
  if (node == nullptr) return false;
  if (node->type == NodeType::kBind) return true;
  if (ContainsBind(node->lhs) || ContainsBind(node->rhs) ||
      ContainsBind(node->third)) {
    return true;
  }
  for (const Node* n : node->items) {
    if (ContainsBind(n)) return true;
  }
  for (const auto& [k, v] : node->pairs) {
    if (ContainsBind(k) || ContainsBind(v)) return true;
  }
  for (const auto& [k, v] : node->group) {
    if (ContainsBind(k) || ContainsBind(v)) return true;
  }
  for (const Stage& s : node->predicates) {
    if (ContainsBind(s.expr)) return true;
  }
  for (const Stage& s : node->stages) {
    if (ContainsBind(s.expr)) return true;
  }
  for (const SortTerm& t : node->terms) {
    if (ContainsBind(t.expr)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Program>> CompileProgram(
    absl::string_view source, const Options& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<Program> program,
                   Parse(source, options.max_source_nesting));
  absl::flat_hash_set<absl::string_view> allowed;
  for (const std::string& name : options.allowed_functions) {
    absl::string_view n = name;
    if (!n.empty() && n[0] == '$') n.remove_prefix(1);  // "$sum" means "sum"
    allowed.insert(n);
  }
  for (Node& node : program->arena) {
    node.plain_literal =
        (node.type == NodeType::kString || node.type == NodeType::kNumber ||
         node.type == NodeType::kValue) &&
        node.predicates.empty() && !node.has_group && !node.keep_array;
    node.plain_name = node.type == NodeType::kName && node.stages.empty() &&
                      node.predicates.empty() && !node.has_group &&
                      !node.keep_array && !node.tuple && node.focus.empty() &&
                      node.index.empty() && node.ancestor == nullptr;
    if (node.type == NodeType::kBlock) {
      // A block without bindings needs no scope of its own; lambdas inside it
      // see the same variables either way.
      node.block_needs_frame = ContainsBind(&node);
    } else if (node.type == NodeType::kPath) {
      bool simple = !node.keep_singleton_array && !node.has_group &&
                    !node.tuple && !node.items.empty();
      for (size_t i = 0; simple && i < node.items.size(); ++i) {
        const Node* step = node.items[i];
        simple = (step->type == NodeType::kName ||
                  (i == 0 && step->type == NodeType::kVariable)) &&
                 step->stages.empty() && step->predicates.empty() &&
                 !step->keep_array && !step->has_group && !step->tuple &&
                 step->focus.empty() && step->index.empty() &&
                 step->ancestor == nullptr && !step->cons_array;
      }
      node.simple_path = simple;
    } else if (node.type == NodeType::kVariable) {
      const BuiltinDef* def = FindBuiltin(node.value);
      if (def == nullptr) continue;
      if (!allowed.contains(node.value)) {
        return retrace::Error(
            absl::StatusCode::kPermissionDenied, "EXPR_FUNCTION_NOT_ALLOWED",
            absl::StrCat("function $", node.value,
                         " is not on the allow-list (at position ",
                         node.position, ")"));
      }
      node.builtin = def;
      node.literal = BuiltinValue(def);
    } else if (node.type == NodeType::kRegex) {
      ASSIGN_OR_RETURN(auto regex,
                       CompileRegex(node.value, node.regex_flags,
                                    options.max_regex_memory, node.position));
      auto* f = new FunctionValue();
      f->kind = FunctionValue::kRegex;
      f->regex = std::move(regex);
      node.literal = Value::FromFunction(f);
    }
  }
  return std::shared_ptr<const Program>(std::move(program));
}

}  // namespace retrace::expr::internal
