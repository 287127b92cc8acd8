#include "projection/masking.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "expr/value.h"
#include "re2/re2.h"

namespace retrace::projection {
namespace {

// RE2's \s (Perl class, ASCII only).
bool IsRe2Space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// False only when the credential regex below cannot match: every prefixed
// form begins at the start of the text (bearer/basic after optional \s) with
// b, s, p, r, g, a or x in either case. Non-ASCII first bytes go to the regex
// too: under (?i) RE2 also folds U+017F (long s) to "s".
bool MayHaveCredentialPrefix(absl::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsRe2Space(s[i])) ++i;
  if (i == s.size()) return false;
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c >= 0x80) return true;
  switch (absl::ascii_tolower(c)) {
    case 'b':
    case 's':
    case 'p':
    case 'r':
    case 'g':
    case 'a':
    case 'x':
      return true;
    default:
      return false;
  }
}

}  // namespace

bool IsSecretKey(absl::string_view key) {
  // Case-insensitive substring search for the words, in one pass: it runs
  // for every key of every logged event. masking_test checks it against the
  // plain search.
  auto at = [&](size_t i, absl::string_view word) {
    if (key.size() - i < word.size()) return false;
    for (size_t k = 0; k < word.size(); ++k) {
      if (absl::ascii_tolower(static_cast<unsigned char>(key[i + k])) !=
          word[k]) {
        return false;
      }
    }
    return true;
  };
  for (size_t i = 0; i < key.size(); ++i) {
    switch (absl::ascii_tolower(static_cast<unsigned char>(key[i]))) {
      case 'p':
        if (at(i, "passw") && (at(i + 5, "ord") || at(i + 5, "d"))) {
          return true;
        }
        if (at(i, "private_key")) return true;
        break;
      case 's':
        if (at(i, "secret")) return true;
        break;
      case 't':
        if (at(i, "token")) return true;
        break;
      case 'a':
        if (at(i, "api") &&
            (at(i + 3, "_key") || at(i + 3, "key") || at(i + 3, "-key"))) {
          return true;
        }
        if (at(i, "authorization")) return true;
        break;
      case 'c':
        if (at(i, "credential")) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

bool LooksLikeCredential(absl::string_view s) {
  if (s.size() < 8) return false;  // too short for any form below
  static const RE2* prefixed = new RE2(
      R"((?i)^\s*(bearer|basic)\s+\S+|^(sk|pk|rk)_(live|test)_\w+|^gh[pousr]_\w{20,}|^AKIA[0-9A-Z]{16}$|^xox[abpr]-)");
  if (MayHaveCredentialPrefix(s) &&
      RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *prefixed)) {
    return true;
  }
  if (s.size() < 32) return false;
  bool letter = false, digit = false;
  for (char c : s) {
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      letter = true;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c != '_' && c != '-') {
      return false;
    }
  }
  return letter && digit;
}

namespace {

expr::Value Mask(const expr::Value& v, bool secret) {
  if (v.IsString()) {
    return expr::Value::String(secret ? "***" : MaskText(v.str()));
  }
  if (secret && (v.IsNumber() || v.IsBool())) return expr::Value::String("***");
  if (v.IsArray()) {
    expr::Value out = expr::Value::Array();
    for (const expr::Value& item : v.items()) {
      out.MutableArray()->items.push_back(Mask(item, secret));
    }
    return out;
  }
  if (v.IsObject()) {
    expr::Value out = expr::Value::Object();
    for (const auto& [key, value] : v.object().entries) {
      out.MutableObject()->Set(key, Mask(value, secret || IsSecretKey(key)));
    }
    return out;
  }
  return v;
}

}  // namespace

namespace {

bool IsLocalChar(char c) {  // [A-Za-z0-9._%+-]
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '%' || c == '+' || c == '-';
}
bool IsDomainChar(char c) {  // [A-Za-z0-9.-]
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '-';
}
bool IsLetter(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c));
}

}  // namespace

std::string MaskEmails(absl::string_view text) {
  // RE2::GlobalReplace(text,
  //     "([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})",
  //     "\1***@\2"), written out: masking_test checks the two agree. At a
  // start i (alphanumeric) the greedy local part can only end at the first
  // character outside its class, which must be '@'; the greedy domain run
  // backs off to its last '.' that has a character before it in the run and
  // two letters after, and then takes every letter that follows. A failed
  // start fails for every later start up to that '@' or stop too.
  std::string out;
  size_t copied = 0;  // text[copied, i) is still to be copied
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t at = i + 1;
    while (at < n && IsLocalChar(text[at])) ++at;
    if (at == n || text[at] != '@') {
      i = at + 1;
      continue;
    }
    const size_t domain = at + 1;
    size_t run_end = domain;
    while (run_end < n && IsDomainChar(text[run_end])) ++run_end;
    size_t end = 0;  // end of the match; 0: none
    for (size_t dot = run_end; dot-- > domain + 1;) {
      // Letters are domain characters, so dot + 2 < run_end when they hold.
      if (text[dot] == '.' && dot + 2 < run_end && IsLetter(text[dot + 1]) &&
          IsLetter(text[dot + 2])) {
        end = dot + 3;
        while (end < n && IsLetter(text[end])) ++end;
        break;
      }
    }
    if (end == 0) {
      i = at + 1;
      continue;
    }
    out.append(text.data() + copied, i - copied);
    out.push_back(text[i]);
    out.append("***@");
    out.append(text.data() + domain, end - domain);
    copied = i = end;
  }
  if (copied == 0) return std::string(text);
  out.append(text.data() + copied, n - copied);
  return out;
}

std::string MaskText(absl::string_view text) {
  if (LooksLikeCredential(text)) return "***";
  if (text.find('@') == absl::string_view::npos) return std::string(text);
  return MaskEmails(text);
}

std::string MaskJson(absl::string_view json) {
  absl::StatusOr<expr::Value> v = expr::ParseJson(json);
  if (!v.ok()) return MaskText(json);
  return expr::ToJson(Mask(*v, false));
}

}  // namespace retrace::projection
