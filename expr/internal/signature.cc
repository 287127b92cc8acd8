#include "expr/internal/signature.h"

#include "absl/container/inlined_vector.h"
#include "expr/internal/errors.h"

namespace retrace::expr::internal {

char TypeSymbol(const Value& v) {
  switch (v.type()) {
    case Value::Type::kUndefined:
      return 'm';
    case Value::Type::kNull:
      return 'l';
    case Value::Type::kBoolean:
      return 'b';
    case Value::Type::kNumber:
      return 'n';
    case Value::Type::kString:
      return 's';
    case Value::Type::kArray:
      return 'a';
    case Value::Type::kObject:
      return 'o';
    case Value::Type::kFunction:
      return 'f';
  }
  return 'm';
}

absl::StatusOr<std::shared_ptr<const Signature>> ParseSignature(
    absl::string_view text, int position) {
  auto sig = std::make_shared<Signature>();
  sig->source = std::string(text);
  // Strip the angle brackets.
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') {
    text = text.substr(1, text.size() - 2);
  }
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ':') break;  // return type: not checked
    SigParam p;
    switch (c) {
      case 's':
      case 'n':
      case 'b':
      case 'l':
      case 'o':
        p.type = c;
        p.allowed = std::string(1, c) + "m";
        sig->params.push_back(p);
        break;
      case 'a':
        p.type = 'a';
        p.allowed = "asnblfom";
        sig->params.push_back(p);
        break;
      case 'f':
        p.type = 'f';
        p.allowed = "f";
        sig->params.push_back(p);
        break;
      case 'j':
        p.type = 'j';
        p.allowed = "asnblom";
        sig->params.push_back(p);
        break;
      case 'x':
        p.type = 'x';
        p.allowed = "asnblfom";
        sig->params.push_back(p);
        break;
      case '-':
        if (sig->params.empty()) break;
        sig->params.back().context = true;
        sig->params.back().quant = SigParam::kOptional;
        break;
      case '?':
        if (!sig->params.empty())
          sig->params.back().quant = SigParam::kOptional;
        break;
      case '+':
        if (!sig->params.empty()) sig->params.back().quant = SigParam::kPlus;
        break;
      case '(': {
        size_t end = text.find(')', i);
        if (end == absl::string_view::npos) {
          return LangError("S0401", position, "invalid function signature");
        }
        absl::string_view choice = text.substr(i + 1, end - i - 1);
        if (choice.find('<') != absl::string_view::npos) {
          return LangError("S0402", position,
                           "choice groups containing parameterised types are "
                           "not supported");
        }
        p.type = '(';
        p.allowed = std::string(choice) + "m";
        sig->params.push_back(p);
        i = end;
        break;
      }
      case '<': {
        if (sig->params.empty() || (sig->params.back().type != 'a' &&
                                    sig->params.back().type != 'f')) {
          return LangError("S0401", position,
                           "type parameters can only be applied to functions "
                           "and arrays");
        }
        int depth = 1;
        size_t j = i + 1;
        for (; j < text.size() && depth > 0; ++j) {
          if (text[j] == '<') ++depth;
          if (text[j] == '>') --depth;
        }
        if (depth != 0) {
          return LangError("S0401", position, "invalid function signature");
        }
        sig->params.back().subtype = std::string(text.substr(i + 1, j - i - 2));
        i = j - 1;
        break;
      }
      default:
        return LangError("S0401", position,
                         absl::StrCat("type not recognized in function "
                                      "signature: ",
                                      std::string(1, c)));
    }
  }
  return std::shared_ptr<const Signature>(std::move(sig));
}

namespace {

bool Allowed(const SigParam& p, char s) {
  return p.allowed.find(s) != std::string::npos;
}

// Backtracking match of the symbol string against the parameters, as an
// anchored regular expression would. Fills `lengths` with the count of
// symbols each parameter consumed.
template <typename Lengths>
bool Match(const std::vector<SigParam>& params, size_t pi,
           const std::string& syms, size_t pos, Lengths* lengths) {
  if (pi == params.size()) return pos == syms.size();
  const SigParam& p = params[pi];
  size_t max_take = 0;
  while (pos + max_take < syms.size() && Allowed(p, syms[pos + max_take])) {
    ++max_take;
    if (p.quant != SigParam::kPlus) break;
  }
  size_t min_take = p.quant == SigParam::kOptional ? 0 : 1;
  for (size_t take = max_take + 1; take-- > min_take;) {
    (*lengths)[pi] = take;
    if (Match(params, pi + 1, syms, pos + take, lengths)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<ValueList> ValidateArgs(const Signature& sig, ValueList args,
                                       const Value& context,
                                       absl::string_view name, int position) {
  // Fast path: at most one argument per parameter, each of an accepted type
  // (arrays already arrays of the right item type), missing ones optional.
  if (args.size() <= sig.params.size()) {
    bool simple = true;
    for (size_t i = 0; simple && i < sig.params.size(); ++i) {
      const SigParam& p = sig.params[i];
      if (i >= args.size()) {
        simple = p.quant == SigParam::kOptional && !p.context;
        continue;
      }
      const Value& a = args[i];
      simple = p.quant != SigParam::kPlus && !a.IsUndefined() &&
               Allowed(p, TypeSymbol(a));
      if (simple && p.type == 'a') {
        simple = a.IsArray();
        if (simple && !p.subtype.empty()) {
          for (const Value& item : a.items()) {
            if (TypeSymbol(item) != p.subtype[0]) {
              simple = false;
              break;
            }
          }
        }
      }
    }
    if (simple) {
      args.resize(sig.params.size());
      return args;
    }
  }
  std::string syms;
  syms.reserve(args.size());
  for (const Value& a : args) syms.push_back(TypeSymbol(a));
  absl::InlinedVector<int, 8> lengths(sig.params.size(), 0);
  if (!Match(sig.params, 0, syms, 0, &lengths)) {
    // Find how far a prefix of the parameters matches.
    size_t good_to = 0;
    for (size_t n = 1; n <= sig.params.size(); ++n) {
      std::vector<SigParam> prefix(sig.params.begin(), sig.params.begin() + n);
      // Prefix match (not anchored at the end): try every end.
      bool ok = false;
      std::vector<int> l(n, 0);
      for (size_t end = syms.size() + 1; end-- > 0;) {
        if (Match(prefix, 0, syms.substr(0, end), 0, &l)) {
          good_to = end;
          ok = true;
          break;
        }
      }
      if (!ok) break;
    }
    return LangError("T0410", position,
                     absl::StrCat("Argument ", good_to + 1, " of function ",
                                  name, " does not match function signature"));
  }
  ValueList out;
  out.reserve(args.size() + 1);
  size_t arg_index = 0;
  auto at = [&](size_t i) { return i < args.size() ? args[i] : Value(); };
  for (size_t pi = 0; pi < sig.params.size(); ++pi) {
    const SigParam& p = sig.params[pi];
    int len = lengths[pi];
    // As jsonata-js: the argument at the start of this parameter.
    Value arg = at(arg_index);
    if (len == 0) {
      if (p.context) {
        if (!Allowed(p, TypeSymbol(context))) {
          return LangError("T0411", position,
                           absl::StrCat("Context value is not a compatible "
                                        "type with argument ",
                                        arg_index + 1, " of function ", name));
        }
        out.push_back(context);
      } else {
        out.push_back(std::move(arg));
        ++arg_index;
      }
      continue;
    }
    for (int k = 0; k < len; ++k, ++arg_index) {
      if (p.type != 'a') {
        out.push_back(at(arg_index));
        continue;
      }
      char s = arg_index < syms.size() ? syms[arg_index] : 'm';
      if (s == 'm') {
        out.push_back(Value());
        continue;
      }
      Value item = at(arg_index);
      bool ok = true;
      if (!p.subtype.empty()) {
        char want = p.subtype[0];
        if (s != 'a') {
          ok = s == want;
        } else {
          for (const Value& x : item.items()) {
            if (TypeSymbol(x) != want) {
              ok = false;
              break;
            }
          }
        }
      }
      if (!ok) {
        return LangError(
            "T0412", position,
            absl::StrCat("Argument ", arg_index + 1, " of function ", name,
                         " must be an array of ", p.subtype));
      }
      if (s != 'a') item = Value::Array({item});
      out.push_back(std::move(item));
    }
  }
  return out;
}

}  // namespace retrace::expr::internal
