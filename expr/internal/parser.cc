#include "expr/internal/parser.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "expr/internal/errors.h"
#include "expr/internal/signature.h"

namespace retrace::expr::internal {
namespace {

enum class Tok {
  kOperator,
  kName,
  kVariable,
  kNumber,
  kString,
  kValue,
  kRegex,
  kEnd
};

struct Token {
  Tok type = Tok::kEnd;
  std::string value;  // operator / name / variable / string / regex source
  Value literal;      // number / value / string
  std::string flags;  // regex flags
  int position = 0;
};

constexpr absl::string_view kOperatorChars = ".[]{}(),@#;:?+-*/%|=<>^&!~";

bool IsOperatorChar(char c) {
  return kOperatorChars.find(c) != absl::string_view::npos;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int Lbp(const Token& t) {
  if (t.type != Tok::kOperator) return 0;
  const std::string& v = t.value;
  if (v == ".") return 75;
  if (v == "[" || v == "(" || v == "@" || v == "#") return 80;
  if (v == "{") return 70;
  if (v == "?") return 20;
  if (v == "+" || v == "-" || v == "&") return 50;
  if (v == "*" || v == "/" || v == "%") return 60;
  if (v == "=" || v == "<" || v == ">" || v == "^" || v == "!=" || v == "<=" ||
      v == ">=" || v == "~>" || v == "?:" || v == "??" || v == "in") {
    return 40;
  }
  if (v == ":=") return 10;
  if (v == "and") return 30;
  if (v == "or") return 25;
  return 0;
}

class Parser {
 public:
  Parser(absl::string_view src, int max_nesting, Program* program)
      : src_(src), max_nesting_(max_nesting), prog_(program) {}

  absl::StatusOr<Node*> Run() {
    Advance("", false);
    if (!ok()) return error_;
    Node* root = Expression(0);
    if (!ok()) return error_;
    if (cur_.type != Tok::kEnd) {
      return LangError("S0201", cur_.position,
                       absl::StrCat("Syntax error: \"", cur_.value, "\""));
    }
    Node* processed = Process(root);
    if (!ok()) return error_;
    if (processed->type == NodeType::kParent ||
        !processed->seeking_parent.empty()) {
      return LangError("S0217", processed->position,
                       "The object representing the 'parent' cannot be "
                       "derived from this expression");
    }
    return processed;
  }

 private:
  bool ok() const { return error_.ok(); }
  Node* Fail(absl::Status s) {
    if (error_.ok()) error_ = std::move(s);
    return nullptr;
  }
  Node* Fail(absl::string_view code, int pos, absl::string_view msg) {
    return Fail(LangError(code, pos, msg));
  }

  bool IsOp(absl::string_view op) const {
    return cur_.type == Tok::kOperator && cur_.value == op;
  }

  // ---- Lexer -------------------------------------------------------------

  // Lexes the next token into cur_. `expect` (when not empty) is the
  // operator the current token must be.
  void Advance(absl::string_view expect, bool infix) {
    if (!ok()) return;
    if (!expect.empty() && !IsOp(expect)) {
      if (cur_.type == Tok::kEnd) {
        Fail(
            "S0203", cur_.position,
            absl::StrCat("Expected \"", expect, "\" before end of expression"));
      } else {
        Fail("S0202", cur_.position,
             absl::StrCat("Expected \"", expect, "\", got \"", cur_.value,
                          "\""));
      }
      return;
    }
    bool prev_operand = cur_.type != Tok::kOperator && cur_.type != Tok::kEnd;
    if (cur_.type == Tok::kOperator &&
        (cur_.value == ")" || cur_.value == "]" || cur_.value == "}")) {
      prev_operand = true;
    }
    if (first_) prev_operand = false;
    first_ = false;
    Lex(!prev_operand);
  }

  void Lex(bool regex_allowed) {
    size_t n = src_.size();
    // Skip whitespace and comments.
    while (pos_ < n) {
      if (IsSpace(src_[pos_])) {
        ++pos_;
      } else if (src_[pos_] == '/' && pos_ + 1 < n && src_[pos_ + 1] == '*') {
        size_t end = src_.find("*/", pos_ + 2);
        if (end == absl::string_view::npos) {
          Fail("S0106", pos_, "Comment has no closing tag");
          return;
        }
        pos_ = end + 2;
      } else {
        break;
      }
    }
    Token t;
    t.position = pos_;
    if (pos_ >= n) {
      t.type = Tok::kEnd;
      t.value = "(end)";
      cur_ = std::move(t);
      return;
    }
    char c = src_[pos_];
    if (regex_allowed && c == '/') {
      ++pos_;
      LexRegex(&t);
      cur_ = std::move(t);
      return;
    }
    auto two = [&](const char* op) {
      return pos_ + 1 < n && src_[pos_] == op[0] && src_[pos_ + 1] == op[1];
    };
    for (const char* op :
         {"..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??"}) {
      if (two(op)) {
        t.type = Tok::kOperator;
        t.value = op;
        pos_ += 2;
        cur_ = std::move(t);
        return;
      }
    }
    if (two("==")) {  // source normalisation: == means =
      t.type = Tok::kOperator;
      t.value = "=";
      pos_ += 2;
      cur_ = std::move(t);
      return;
    }
    if (c == '!' || c == '~') {
      Fail("S0204", pos_,
           absl::StrCat("Unknown operator: ", std::string(1, c)));
      return;
    }
    if (IsOperatorChar(c)) {
      t.type = Tok::kOperator;
      t.value = std::string(1, c);
      ++pos_;
      cur_ = std::move(t);
      return;
    }
    if (c == '"' || c == '\'') {
      LexString(c, &t);
      cur_ = std::move(t);
      return;
    }
    if (c >= '0' && c <= '9') {
      size_t i = pos_;
      if (src_[i] == '0') {
        ++i;
      } else {
        while (i < n && isdigit(static_cast<unsigned char>(src_[i]))) ++i;
      }
      if (i + 1 < n && src_[i] == '.' &&
          isdigit(static_cast<unsigned char>(src_[i + 1]))) {
        ++i;
        while (i < n && isdigit(static_cast<unsigned char>(src_[i]))) ++i;
      }
      if (i < n && (src_[i] == 'e' || src_[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (src_[j] == '+' || src_[j] == '-')) ++j;
        if (j < n && isdigit(static_cast<unsigned char>(src_[j]))) {
          while (j < n && isdigit(static_cast<unsigned char>(src_[j]))) ++j;
          i = j;
        }
      }
      std::string num(src_.substr(pos_, i - pos_));
      double d = std::strtod(num.c_str(), nullptr);
      if (!std::isfinite(d)) {
        Fail("S0102", pos_, absl::StrCat("Number out of range: ", num));
        return;
      }
      pos_ = i;
      t.type = Tok::kNumber;
      t.value = num;
      t.literal = Value::Number(d);
      cur_ = std::move(t);
      return;
    }
    if (c == '`') {
      size_t end = src_.find('`', pos_ + 1);
      if (end == absl::string_view::npos) {
        Fail("S0105", pos_,
             "Quoted property name must be terminated with a backquote (`)");
        return;
      }
      t.type = Tok::kName;
      t.value = std::string(src_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      cur_ = std::move(t);
      return;
    }
    // Names and variables.
    size_t i = pos_;
    while (i < n && !IsSpace(src_[i]) && !IsOperatorChar(src_[i])) ++i;
    if (c == '$') {
      t.type = Tok::kVariable;
      t.value = std::string(src_.substr(pos_ + 1, i - pos_ - 1));
      pos_ = i;
      cur_ = std::move(t);
      return;
    }
    std::string name(src_.substr(pos_, i - pos_));
    pos_ = i;
    if (name == "and" || name == "or" || name == "in") {
      t.type = Tok::kOperator;
      t.value = name;
    } else if (name == "true" || name == "false") {
      t.type = Tok::kValue;
      t.value = name;
      t.literal = Value::Bool(name == "true");
    } else if (name == "null") {
      t.type = Tok::kValue;
      t.value = name;
      t.literal = Value::Null();
    } else {
      t.type = Tok::kName;
      t.value = name;
    }
    cur_ = std::move(t);
  }

  void LexString(char quote, Token* t) {
    size_t n = src_.size();
    size_t start = pos_;
    ++pos_;
    std::string out;
    while (pos_ < n) {
      char c = src_[pos_];
      if (c == '\\') {
        ++pos_;
        if (pos_ >= n) break;
        char e = src_[pos_];
        switch (e) {
          case '"':
          case '\\':
          case '/':
          case '\'':
            out.push_back(e);
            break;
          case 'b':
            out.push_back('\b');
            break;
          case 'f':
            out.push_back('\f');
            break;
          case 'n':
            out.push_back('\n');
            break;
          case 'r':
            out.push_back('\r');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'u': {
            auto hex4 = [&](size_t at, uint32_t* v) {
              if (at + 4 > n) return false;
              *v = 0;
              for (size_t k = at; k < at + 4; ++k) {
                char h = src_[k];
                *v <<= 4;
                if (h >= '0' && h <= '9') {
                  *v |= h - '0';
                } else if (h >= 'a' && h <= 'f') {
                  *v |= h - 'a' + 10;
                } else if (h >= 'A' && h <= 'F') {
                  *v |= h - 'A' + 10;
                } else {
                  return false;
                }
              }
              return true;
            };
            uint32_t cp;
            if (!hex4(pos_ + 1, &cp)) {
              Fail("S0104", pos_,
                   "The escape sequence \\u must be followed by 4 hex digits");
              return;
            }
            pos_ += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 6 < n + 0 &&
                src_[pos_ + 1] == '\\' && src_[pos_ + 2] == 'u') {
              uint32_t lo;
              if (hex4(pos_ + 3, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                pos_ += 6;
              }
            }
            AppendUtf8(cp, &out);
            break;
          }
          default:
            Fail("S0103", pos_,
                 absl::StrCat("Unsupported escape sequence: \\",
                              std::string(1, e)));
            return;
        }
        ++pos_;
      } else if (c == quote) {
        ++pos_;
        t->type = Tok::kString;
        t->value = out;
        t->literal = Value::String(std::move(out));
        return;
      } else {
        out.push_back(c);
        ++pos_;
      }
    }
    Fail("S0101", start,
         "String literal must be terminated by a matching quote");
  }

  void LexRegex(Token* t) {
    size_t n = src_.size();
    size_t start = pos_;
    bool in_class = false;
    while (pos_ < n) {
      char c = src_[pos_];
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == '[') in_class = true;
      if (c == ']') in_class = false;
      if (c == '/' && !in_class) {
        std::string pattern(src_.substr(start, pos_ - start));
        if (pattern.empty()) {
          Fail("S0301", pos_, "Empty regular expressions are not allowed");
          return;
        }
        ++pos_;
        size_t fstart = pos_;
        while (pos_ < n && src_[pos_] >= 'a' && src_[pos_] <= 'z') ++pos_;
        t->type = Tok::kRegex;
        t->value = pattern;
        t->flags = std::string(src_.substr(fstart, pos_ - fstart));
        return;
      }
      ++pos_;
    }
    Fail("S0302", start, "No terminating / in regular expression");
  }

  // ---- Pratt parser ------------------------------------------------------

  Node* Expression(int rbp) {
    if (!ok()) return nullptr;
    if (++nesting_ > max_nesting_) {
      return Fail(retrace::Error(
          absl::StatusCode::kResourceExhausted, "EXPR_TOO_DEEP",
          absl::StrCat("expression nesting exceeds ", max_nesting_,
                       " (at position ", cur_.position, ")")));
    }
    Token t = cur_;
    Advance("", true);
    Node* left = Nud(t);
    while (left != nullptr && ok() && rbp < Lbp(cur_)) {
      Token op = cur_;
      Advance("", false);
      left = Led(op, left);
    }
    --nesting_;
    return ok() ? left : nullptr;
  }

  Node* Nud(const Token& t) {
    if (!ok()) return nullptr;
    switch (t.type) {
      case Tok::kEnd:
        return Fail("S0207", t.position, "Unexpected end of expression");
      case Tok::kName: {
        Node* n = prog_->New(NodeType::kName, t.position);
        n->value = t.value;
        return n;
      }
      case Tok::kVariable: {
        Node* n = prog_->New(NodeType::kVariable, t.position);
        n->value = t.value;
        return n;
      }
      case Tok::kNumber:
      case Tok::kString:
      case Tok::kValue: {
        Node* n = prog_->New(t.type == Tok::kNumber   ? NodeType::kNumber
                             : t.type == Tok::kString ? NodeType::kString
                                                      : NodeType::kValue,
                             t.position);
        n->value = t.value;
        n->literal = t.literal;
        return n;
      }
      case Tok::kRegex: {
        Node* n = prog_->New(NodeType::kRegex, t.position);
        n->value = t.value;
        n->regex_flags = t.flags;
        return n;
      }
      case Tok::kOperator:
        break;
    }
    const std::string& op = t.value;
    if (op == "and" || op == "or" || op == "in") {
      Node* n = prog_->New(NodeType::kName, t.position);
      n->value = op;
      return n;
    }
    if (op == "-") {
      Node* n = prog_->New(NodeType::kNegate, t.position);
      n->lhs = Expression(70);
      return n->lhs ? n : nullptr;
    }
    if (op == "*") return prog_->New(NodeType::kWildcard, t.position);
    if (op == "**") return prog_->New(NodeType::kDescendant, t.position);
    if (op == "%") return prog_->New(NodeType::kParent, t.position);
    if (op == "(") {
      Node* n = prog_->New(NodeType::kBlock, t.position);
      while (!IsOp(")")) {
        Node* e = Expression(0);
        if (!e) return nullptr;
        n->items.push_back(e);
        if (!IsOp(";")) break;
        Advance(";", false);
      }
      Advance(")", true);
      return ok() ? n : nullptr;
    }
    if (op == "[") {
      Node* n = prog_->New(NodeType::kArray, t.position);
      while (!IsOp("]")) {
        Node* e = Expression(0);
        if (!e) return nullptr;
        if (IsOp("..")) {
          Node* r = prog_->New(NodeType::kRange, cur_.position);
          r->op = BinOp::kRange;
          Advance("..", false);
          r->lhs = e;
          r->rhs = Expression(0);
          if (!r->rhs) return nullptr;
          e = r;
        }
        n->items.push_back(e);
        if (!IsOp(",")) break;
        Advance(",", false);
      }
      Advance("]", true);
      return ok() ? n : nullptr;
    }
    if (op == "{") return ObjectParser(nullptr, t.position);
    if (op == "|") {
      Node* n = prog_->New(NodeType::kTransform, t.position);
      n->lhs = Expression(0);
      if (!n->lhs) return nullptr;
      Advance("|", false);
      n->rhs = Expression(0);
      if (!n->rhs) return nullptr;
      if (IsOp(",")) {
        Advance(",", false);
        n->third = Expression(0);
        if (!n->third) return nullptr;
      }
      Advance("|", false);
      return ok() ? n : nullptr;
    }
    return Fail(
        "S0211", t.position,
        absl::StrCat("The symbol ", op, " cannot be used as a unary operator"));
  }

  Node* ObjectParser(Node* left, int position) {
    Node* n =
        prog_->New(left ? NodeType::kRawGroup : NodeType::kObject, position);
    n->lhs = left;
    while (!IsOp("}")) {
      Node* k = Expression(0);
      if (!k) return nullptr;
      Advance(":", false);
      Node* v = Expression(0);
      if (!v) return nullptr;
      n->pairs.emplace_back(k, v);
      if (!IsOp(",")) break;
      Advance(",", false);
    }
    Advance("}", true);
    return ok() ? n : nullptr;
  }

  Node* Led(const Token& t, Node* left) {
    const std::string& op = t.value;
    if (op == "." || op == "+" || op == "-" || op == "*" || op == "/" ||
        op == "%" || op == "=" || op == "<" || op == ">" || op == "!=" ||
        op == "<=" || op == ">=" || op == "&" || op == "and" || op == "or" ||
        op == "in" || op == "~>") {
      Node* n = prog_->New(op == "." ? NodeType::kRawDot : NodeType::kBinary,
                           t.position);
      n->value = op;
      static const std::pair<const char*, BinOp> kOps[] = {
          {"+", BinOp::kAdd},   {"-", BinOp::kSub}, {"*", BinOp::kMul},
          {"/", BinOp::kDiv},   {"%", BinOp::kMod}, {"=", BinOp::kEq},
          {"!=", BinOp::kNe},   {"<", BinOp::kLt},  {"<=", BinOp::kLe},
          {">", BinOp::kGt},    {">=", BinOp::kGe}, {"&", BinOp::kConcat},
          {"and", BinOp::kAnd}, {"or", BinOp::kOr}, {"in", BinOp::kIn},
      };
      for (const auto& [text, code] : kOps) {
        if (op == text) n->op = code;
      }
      n->lhs = left;
      n->rhs = Expression(Lbp(t));
      return n->rhs ? n : nullptr;
    }
    if (op == ":=") {
      if (left->type != NodeType::kVariable) {
        return Fail("S0212", t.position,
                    "The left side of := must be a variable name (start "
                    "with $)");
      }
      Node* n = prog_->New(NodeType::kBind, t.position);
      n->lhs = left;
      n->rhs = Expression(9);
      return n->rhs ? n : nullptr;
    }
    if (op == "(") return CallOrLambda(t, left);
    if (op == "[") {
      if (IsOp("]")) {
        Node* step = left;
        while (step->type == NodeType::kRawPredicate) step = step->lhs;
        step->keep_array = true;
        Advance("]", true);
        return ok() ? left : nullptr;
      }
      Node* n = prog_->New(NodeType::kRawPredicate, t.position);
      n->lhs = left;
      n->rhs = Expression(0);
      if (!n->rhs) return nullptr;
      Advance("]", true);
      return ok() ? n : nullptr;
    }
    if (op == "{") return ObjectParser(left, t.position);
    if (op == "^") {
      Node* n = prog_->New(NodeType::kRawSort, t.position);
      n->lhs = left;
      Advance("(", false);
      while (ok()) {
        bool descending = false;
        if (IsOp("<")) {
          Advance("<", false);
        } else if (IsOp(">")) {
          descending = true;
          Advance(">", false);
        }
        Node* e = Expression(0);
        if (!e) return nullptr;
        n->terms.push_back({e, descending});
        if (!IsOp(",")) break;
        Advance(",", false);
      }
      Advance(")", true);
      return ok() ? n : nullptr;
    }
    if (op == "@" || op == "#") {
      Node* rhs = Expression(80);
      if (!rhs) return nullptr;
      if (rhs->type != NodeType::kVariable) {
        return Fail("S0214", rhs->position,
                    absl::StrCat("The right side of ", op,
                                 " must be a variable name (start with $)"));
      }
      Node* n = prog_->New(
          op == "@" ? NodeType::kRawFocus : NodeType::kRawIndex, t.position);
      n->lhs = left;
      n->value = rhs->value;
      return n;
    }
    if (op == "?") {
      Node* n = prog_->New(NodeType::kCondition, t.position);
      n->lhs = left;
      n->rhs = Expression(0);
      if (!n->rhs) return nullptr;
      if (IsOp(":")) {
        Advance(":", false);
        n->third = Expression(0);
        if (!n->third) return nullptr;
      }
      return n;
    }
    if (op == "?:") {
      Node* n = prog_->New(NodeType::kCondition, t.position);
      n->lhs = left;
      n->rhs = left;
      n->third = Expression(0);
      return n->third ? n : nullptr;
    }
    if (op == "??") {
      Node* n = prog_->New(NodeType::kCoalesce, t.position);
      n->lhs = left;
      n->rhs = Expression(0);
      return n->rhs ? n : nullptr;
    }
    return Fail("S0204", t.position, absl::StrCat("Unknown operator: ", op));
  }

  Node* CallOrLambda(const Token& t, Node* left) {
    Node* n = prog_->New(NodeType::kFunction, t.position);
    n->lhs = left;
    while (!IsOp(")")) {
      if (IsOp("?")) {
        n->type = NodeType::kPartial;
        n->items.push_back(prog_->New(NodeType::kPlaceholder, cur_.position));
        Advance("?", false);
      } else {
        Node* e = Expression(0);
        if (!e) return nullptr;
        n->items.push_back(e);
      }
      if (!IsOp(",")) break;
      Advance(",", false);
    }
    Advance(")", true);
    if (!ok()) return nullptr;
    if (left->type == NodeType::kName &&
        (left->value == "function" || left->value == "\xCE\xBB")) {
      n->type = NodeType::kLambda;
      for (Node* arg : n->items) {
        if (arg->type != NodeType::kVariable) {
          return Fail("S0208", arg->position,
                      "Parameter of function definition must be a variable "
                      "name (start with $)");
        }
        n->params.push_back(arg->value);
      }
      n->items.clear();
      if (IsOp("<")) {
        // The signature: raw characters up to the matching '>'.
        size_t start = cur_.position;
        size_t i = start + 1;
        int depth = 1;
        while (i < src_.size() && depth > 0) {
          if (src_[i] == '<') ++depth;
          if (src_[i] == '>') --depth;
          ++i;
        }
        if (depth != 0) {
          return Fail("S0401", start, "invalid function signature");
        }
        auto sig = ParseSignature(src_.substr(start, i - start), start);
        if (!sig.ok()) return Fail(sig.status());
        n->signature = *sig;
        pos_ = i;
        cur_.type = Tok::kOperator;
        cur_.value = ">";
        Advance("", false);
      }
      Advance("{", false);
      n->lhs = Expression(0);
      if (!n->lhs) return nullptr;
      Advance("}", true);
      if (!ok()) return nullptr;
    }
    return n;
  }

  // ---- Post-processing (path flattening etc.) ----------------------------

  // ---- Parent operator ancestry (as jsonata-js resolves it) --------------

  bool SeekParent(Node* node, Slot* slot) {
    switch (node->type) {
      case NodeType::kName:
      case NodeType::kWildcard:
        slot->level--;
        if (slot->level == 0) {
          if (node->ancestor != nullptr) slot->label = node->ancestor->label;
          node->ancestor = slot;
          node->tuple = true;
        }
        return true;
      case NodeType::kParent:
        slot->level++;
        return true;
      case NodeType::kBlock:
        if (!node->items.empty()) {
          node->tuple = true;
          return SeekParent(node->items.back(), slot);
        }
        return true;
      case NodeType::kPath: {
        node->tuple = true;
        int index = static_cast<int>(node->items.size()) - 1;
        if (!SeekParent(node->items[index--], slot)) return false;
        while (slot->level > 0 && index >= 0) {
          if (!SeekParent(node->items[index--], slot)) return false;
        }
        return true;
      }
      default:
        Fail("S0217", node->position,
             "The object representing the 'parent' cannot be derived from "
             "this expression");
        return false;
    }
  }

  void PushAncestry(Node* result, Node* value) {
    if (value == nullptr) return;
    if (value->type == NodeType::kParent) {
      result->seeking_parent.push_back(value->slot);
    }
    for (Slot* s : value->seeking_parent) result->seeking_parent.push_back(s);
  }

  void ResolveAncestry(Node* path) {
    Node* last = path->items.back();
    std::vector<Slot*> slots = last->seeking_parent;
    if (last->type == NodeType::kParent) slots.push_back(last->slot);
    for (Slot* slot : slots) {
      int index = static_cast<int>(path->items.size()) - 2;
      while (slot->level > 0) {
        if (index < 0) {
          path->seeking_parent.push_back(slot);
          break;
        }
        Node* step = path->items[index--];
        while (index >= 0 && !step->focus.empty() &&
               !path->items[index]->focus.empty()) {
          step = path->items[index--];
        }
        if (!SeekParent(step, slot)) return;
      }
    }
  }

  Node* AsPath(Node* n) {
    if (n->type == NodeType::kPath) return n;
    Node* p = prog_->New(NodeType::kPath, n->position);
    p->items.push_back(n);
    return p;
  }

  Node* TailCallOptimize(Node* e) {
    if ((e->type == NodeType::kFunction) && e->predicates.empty()) {
      Node* thunk = prog_->New(NodeType::kLambda, e->position);
      thunk->thunk = true;
      thunk->lhs = e;
      return thunk;
    }
    if (e->type == NodeType::kCondition) {
      e->rhs = TailCallOptimize(e->rhs);
      if (e->third) e->third = TailCallOptimize(e->third);
    } else if (e->type == NodeType::kBlock && !e->items.empty()) {
      e->items.back() = TailCallOptimize(e->items.back());
    }
    return e;
  }

  Node* Process(Node* e) {
    if (!ok() || e == nullptr) return nullptr;
    if (++nesting_ > max_nesting_ * 2) {
      return Fail(retrace::Error(absl::StatusCode::kResourceExhausted,
                                 "EXPR_TOO_DEEP",
                                 "expression nesting too deep"));
    }
    Node* result = ProcessInner(e);
    --nesting_;
    if (result && e->keep_array) result->keep_array = true;
    return result;
  }

  Node* ProcessInner(Node* e) {
    switch (e->type) {
      case NodeType::kRawDot: {
        Node* lstep = Process(e->lhs);
        if (!lstep) return nullptr;
        Node* result;
        if (lstep->type == NodeType::kPath) {
          result = lstep;
        } else {
          result = prog_->New(NodeType::kPath, lstep->position);
          result->items.push_back(lstep);
        }
        if (lstep->type == NodeType::kParent) {
          result->seeking_parent = {lstep->slot};
        }
        Node* rest = Process(e->rhs);
        if (!rest) return nullptr;
        if (rest->type == NodeType::kPath) {
          for (Node* s : rest->items) result->items.push_back(s);
          if (rest->keep_singleton_array) result->keep_singleton_array = true;
        } else {
          if (!rest->predicates.empty()) {
            rest->stages = std::move(rest->predicates);
            rest->predicates.clear();
          }
          result->items.push_back(rest);
        }
        for (Node* step : result->items) {
          if (step->type == NodeType::kNumber ||
              step->type == NodeType::kValue) {
            return Fail("S0213", step->position,
                        absl::StrCat("The literal value ", step->value,
                                     " cannot be used as a step within a "
                                     "path expression"));
          }
          if (step->type == NodeType::kString) {
            step->type = NodeType::kName;
            step->value = step->literal.str();
          }
          if (step->keep_array) result->keep_singleton_array = true;
        }
        Node* first = result->items.front();
        if (first->type == NodeType::kArray) first->cons_array = true;
        Node* last = result->items.back();
        if (last->type == NodeType::kArray) last->cons_array = true;
        ResolveAncestry(result);
        return ok() ? result : nullptr;
      }
      case NodeType::kRawPredicate: {
        Node* result = Process(e->lhs);
        if (!result) return nullptr;
        Node* step = result;
        bool on_path = false;
        if (result->type == NodeType::kPath) {
          step = result->items.back();
          on_path = true;
        }
        if (step->has_group) {
          return Fail("S0209", e->position,
                      "A predicate cannot follow a grouping expression in a "
                      "step");
        }
        Node* pred = Process(e->rhs);
        if (!pred) return nullptr;
        if (!pred->seeking_parent.empty()) {
          for (Slot* slot : pred->seeking_parent) {
            if (slot->level == 1) {
              if (!SeekParent(step, slot)) return nullptr;
            } else {
              slot->level--;
            }
          }
          PushAncestry(step, pred);
        }
        Stage s{Stage::kFilter, pred, "", e->position};
        if (on_path) {
          step->stages.push_back(s);
        } else {
          step->predicates.push_back(s);
        }
        return result;
      }
      case NodeType::kRawGroup: {
        Node* result = Process(e->lhs);
        if (!result) return nullptr;
        if (result->has_group) {
          return Fail("S0210", e->position,
                      "Each step can only have one grouping expression");
        }
        result->has_group = true;
        result->group_position = e->position;
        for (auto& [k, v] : e->pairs) {
          Node* pk = Process(k);
          Node* pv = Process(v);
          if (!pk || !pv) return nullptr;
          result->group.emplace_back(pk, pv);
        }
        return result;
      }
      case NodeType::kRawSort: {
        Node* lhs = Process(e->lhs);
        if (lhs == nullptr) return nullptr;
        Node* result = AsPath(lhs);
        Node* sort = prog_->New(NodeType::kSort, e->position);
        for (const SortTerm& term : e->terms) {
          Node* te = Process(term.expr);
          if (!te) return nullptr;
          PushAncestry(sort, te);
          sort->terms.push_back({te, term.descending});
        }
        result->items.push_back(sort);
        ResolveAncestry(result);
        return ok() ? result : nullptr;
      }
      case NodeType::kRawFocus: {
        Node* result = Process(e->lhs);
        if (!result) return nullptr;
        Node* step = result;
        if (result->type == NodeType::kPath) step = result->items.back();
        if (!step->stages.empty() || !step->predicates.empty()) {
          return Fail("S0215", e->position,
                      "A context variable binding must precede any "
                      "predicates on a step");
        }
        if (step->type == NodeType::kSort) {
          return Fail("S0216", e->position,
                      "A context variable binding must precede the 'order-by' "
                      "clause on a step");
        }
        if (e->keep_array) step->keep_array = true;
        step->focus = e->value;
        step->tuple = true;
        return result;
      }
      case NodeType::kRawIndex: {
        Node* result = Process(e->lhs);
        if (!result) return nullptr;
        Node* step = result;
        if (result->type == NodeType::kPath) {
          step = result->items.back();
        } else {
          result = AsPath(result);
          if (!step->predicates.empty()) {
            step->stages = std::move(step->predicates);
            step->predicates.clear();
          }
        }
        if (step->stages.empty()) {
          step->index = e->value;
        } else {
          step->stages.push_back(
              {Stage::kIndex, nullptr, e->value, e->position});
        }
        step->tuple = true;
        return result;
      }
      case NodeType::kBinary: {
        e->lhs = Process(e->lhs);
        e->rhs = Process(e->rhs);
        if (!ok()) return nullptr;
        if (e->value == "~>") {
          e->type = NodeType::kApply;
          if (e->lhs->keep_array || e->rhs->keep_array) e->keep_array = true;
        } else {
          PushAncestry(e, e->lhs);
          PushAncestry(e, e->rhs);
        }
        return e;
      }
      case NodeType::kBind:
        e->lhs = Process(e->lhs);
        e->rhs = Process(e->rhs);
        if (!ok()) return nullptr;
        PushAncestry(e, e->rhs);
        return e;
      case NodeType::kCoalesce:
      case NodeType::kRange:
        e->lhs = Process(e->lhs);
        e->rhs = Process(e->rhs);
        if (!ok()) return nullptr;
        PushAncestry(e, e->lhs);
        PushAncestry(e, e->rhs);
        return e;
      case NodeType::kArray:
        for (Node*& item : e->items) {
          item = Process(item);
          if (!item) return nullptr;
          PushAncestry(e, item);
        }
        return e;
      case NodeType::kObject:
        for (auto& [k, v] : e->pairs) {
          k = Process(k);
          if (!k) return nullptr;
          PushAncestry(e, k);
          v = Process(v);
          if (!v) return nullptr;
          PushAncestry(e, v);
        }
        return e;
      case NodeType::kNegate: {
        Node* inner = Process(e->lhs);
        if (!inner) return nullptr;
        if (inner->type == NodeType::kNumber) {
          inner->literal = Value::Number(-inner->literal.number());
          inner->position = e->position;
          return inner;
        }
        e->lhs = inner;
        PushAncestry(e, inner);
        return e;
      }
      case NodeType::kFunction:
      case NodeType::kPartial:
        for (Node*& arg : e->items) {
          arg = Process(arg);
          if (!arg) return nullptr;
          PushAncestry(e, arg);
        }
        e->lhs = Process(e->lhs);
        return ok() ? e : nullptr;
      case NodeType::kLambda: {
        Node* body = Process(e->lhs);
        if (!body) return nullptr;
        e->lhs = TailCallOptimize(body);
        return e;
      }
      case NodeType::kCondition:
        if (e->lhs == e->rhs) {  // ?: operator: both refer to one node
          e->lhs = Process(e->lhs);
          e->rhs = e->lhs;
        } else {
          e->lhs = Process(e->lhs);
          e->rhs = Process(e->rhs);
        }
        if (e->third) e->third = Process(e->third);
        if (!ok()) return nullptr;
        PushAncestry(e, e->lhs);
        if (e->rhs != e->lhs) PushAncestry(e, e->rhs);
        PushAncestry(e, e->third);
        return e;
      case NodeType::kTransform:
        e->lhs = Process(e->lhs);
        e->rhs = Process(e->rhs);
        if (e->third) e->third = Process(e->third);
        return ok() ? e : nullptr;
      case NodeType::kBlock:
        for (Node*& item : e->items) {
          item = Process(item);
          if (!item) return nullptr;
          PushAncestry(e, item);
          if (item->cons_array ||
              (item->type == NodeType::kPath && item->items[0]->cons_array)) {
            e->cons_array = true;
          }
        }
        return e;
      case NodeType::kParent: {
        prog_->slots.push_back(
            Slot{absl::StrCat("!", next_label_++), 1, next_index_++});
        e->slot = &prog_->slots.back();
        return e;
      }
      case NodeType::kName: {
        Node* p = prog_->New(NodeType::kPath, e->position);
        p->items.push_back(e);
        if (e->keep_array) p->keep_singleton_array = true;
        return p;
      }
      default:
        return e;
    }
  }

  absl::string_view src_;
  int max_nesting_;
  Program* prog_;
  size_t pos_ = 0;
  bool first_ = true;
  int nesting_ = 0;
  int next_label_ = 0;
  int next_index_ = 0;
  Token cur_;
  absl::Status error_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<Program>> Parse(absl::string_view source,
                                               int max_nesting) {
  auto program = std::make_shared<Program>();
  program->source = std::string(source);
  Parser parser(program->source, max_nesting, program.get());
  absl::StatusOr<Node*> root = parser.Run();
  if (!root.ok()) return root.status();
  program->root = *root;
  return program;
}

}  // namespace retrace::expr::internal
