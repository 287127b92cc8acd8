#include "projection/masking.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "expr/value.h"
#include "re2/re2.h"

namespace retrace::projection {
namespace {

bool SecretKey(absl::string_view key) {
  const std::string lower = absl::AsciiStrToLower(key);
  for (const char* word :
       {"password", "passwd", "secret", "token", "api_key", "apikey", "api-key",
        "authorization", "credential", "private_key"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

bool LooksLikeCredential(absl::string_view s) {
  if (s.size() < 8) return false;  // too short for any form below
  static const RE2* prefixed = new RE2(
      R"((?i)^\s*(bearer|basic)\s+\S+|^(sk|pk|rk)_(live|test)_\w+|^gh[pousr]_\w{20,}|^AKIA[0-9A-Z]{16}$|^xox[abpr]-)");
  if (RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *prefixed))
    return true;
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
      out.MutableObject()->Set(key, Mask(value, secret || SecretKey(key)));
    }
    return out;
  }
  return v;
}

}  // namespace

std::string MaskText(absl::string_view text) {
  if (LooksLikeCredential(text)) return "***";
  if (text.find('@') == absl::string_view::npos) return std::string(text);
  static const RE2* email = new RE2(
      R"(([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,}))");
  std::string out(text);
  RE2::GlobalReplace(&out, *email, R"(\1***@\2)");
  return out;
}

std::string MaskJson(absl::string_view json) {
  absl::StatusOr<expr::Value> v = expr::ParseJson(json);
  if (!v.ok()) return MaskText(json);
  return expr::ToJson(Mask(*v, false));
}

}  // namespace retrace::projection
