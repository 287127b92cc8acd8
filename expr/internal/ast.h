// The abstract syntax tree of a JSONata expression, after the parser's
// post-processing step (paths flattened into steps, predicates attached to
// steps, tuple bindings marked). Nodes live in an arena owned by Program and
// point at each other with raw pointers; a Program is immutable once built.
//
// Thread safety: a finished Program is read-only and may be shared.
#ifndef RETRACE_EXPR_INTERNAL_AST_H_
#define RETRACE_EXPR_INTERNAL_AST_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "expr/value.h"

namespace retrace::expr::internal {

struct BuiltinDef;
struct Signature;

enum class NodeType {
  kPath,
  kBinary,       // value = operator
  kNegate,       // unary minus
  kArray,        // [a, b, ...]
  kObject,       // {k: v, ...} (unary form)
  kName,         // field name
  kString,       // string literal
  kNumber,       // number literal
  kValue,        // true / false / null
  kWildcard,     // *
  kDescendant,   // **
  kParent,       // %
  kCondition,    // a ? b : c
  kCoalesce,     // a ?? b
  kBlock,        // (a; b)
  kBind,         // $x := e
  kRegex,        // /re/flags
  kFunction,     // f(args)
  kPartial,      // f(?, x)
  kPlaceholder,  // ? in a partial application
  kVariable,     // $name
  kLambda,       // function($x){...}
  kApply,        // a ~> b
  kTransform,    // | pattern | update, delete |
  kSort,         // path step ^(...)
  kRange,        // a..b inside an array constructor
  // Raw (pre-processing) forms.
  kRawDot,
  kRawPredicate,
  kRawGroup,
  kRawSort,
  kRawFocus,
  kRawIndex,
  kOperator,
};

struct Node;

// Binary operators, resolved by the parser (order matters: arithmetic first,
// then comparisons).
enum class BinOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kConcat,
  kAnd,
  kOr,
  kIn,
  kRange,
  kOther,
};

// A parent-operator binding: the label under which an ancestor is bound, and
// how many steps up it still is.
struct Slot {
  std::string label;
  int level;
  int index;
};

struct Stage {
  enum Kind { kFilter, kIndex } kind;
  Node* expr = nullptr;  // kFilter
  std::string var;       // kIndex
  int position = 0;
};

struct SortTerm {
  Node* expr;
  bool descending;
};

struct Node {
  NodeType type;
  int position = 0;
  std::string value;  // operator, name, string, variable name, regex source
  Value literal;      // kString / kNumber / kValue
  BinOp op = BinOp::kOther;  // kBinary / kRange
  Node* lhs = nullptr;
  Node* rhs = nullptr;
  Node* third = nullptr;     // else branch, transform delete
  std::vector<Node*> items;  // path steps, block / array items, arguments
  std::vector<std::pair<Node*, Node*>> pairs;  // object constructor
  // Group-by object constructor attached to a step / path.
  std::vector<std::pair<Node*, Node*>> group;
  bool has_group = false;
  int group_position = 0;
  std::vector<Stage> predicates;  // filters on a non-path expression
  std::vector<Stage> stages;      // filters / index bindings on a path step
  std::vector<SortTerm> terms;    // kSort / kRawSort
  bool keep_array = false;
  bool keep_singleton_array = false;  // path
  bool simple_path = false;  // path: only plain name steps (see compile.cc)
  bool block_needs_frame = true;  // block: binds a variable somewhere inside
  bool plain_literal = false;  // literal without predicates: value is `literal`
  bool plain_name = false;     // name step without stages, bindings, grouping
  bool cons_array = false;
  bool tuple = false;
  std::string focus;  // @$v
  std::string index;  // #$i
  // kLambda.
  std::vector<std::string> params;
  std::shared_ptr<const Signature> signature;
  bool thunk = false;  // lambda body wrapped for tail calls
  // kVariable: the builtin with this name, if any (resolved at compile time).
  const BuiltinDef* builtin = nullptr;
  // kRegex.
  std::string regex_flags;
  std::shared_ptr<const void> regex;  // compiled regex (RegexProgram)
  // Parent operator (%) support: a kParent node reads `slot`; a step with
  // `ancestor` binds its input under ancestor->label; `seeking_parent` lists
  // slots still looking for the step they refer to.
  struct Slot* slot = nullptr;
  struct Slot* ancestor = nullptr;
  std::vector<struct Slot*> seeking_parent;
};

// A parsed expression: the arena and the root.
struct Program {
  std::deque<Node> arena;
  std::deque<Slot> slots;
  Node* root = nullptr;
  std::string source;
  Node* New(NodeType type, int position) {
    arena.emplace_back();
    Node* n = &arena.back();
    n->type = type;
    n->position = position;
    return n;
  }
};

}  // namespace retrace::expr::internal

#endif  // RETRACE_EXPR_INTERNAL_AST_H_
