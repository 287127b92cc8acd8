#include "expr/format/internal/text.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace retrace::expr::format::internal {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Math.round: nearest integer, ties towards +infinity.
double JsMathRound(double x) {
  if (!std::isfinite(x) || x == std::floor(x)) return x;
  double r = std::floor(x);
  if (x - r >= 0.5) r += 1;  // x - floor(x) is exact for non-integral x.
  return r;
}

// x * 10^shift computed in decimal (as jsonata does with "e" strings), then
// correctly rounded back to a double.
double ShiftDecimal(double x, int shift) {
  if (x == 0 || !std::isfinite(x)) return x;
  ShortestDecimal d = ToShortestDecimal(std::fabs(x));
  std::string text = absl::StrCat(x < 0 ? "-" : "", "0.", d.digits, "e",
                                  static_cast<long long>(d.point) + shift);
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

std::u32string DecodeUtf8(absl::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    unsigned char b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int length = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b & 0xE0) == 0xC0) {
      length = 2, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      length = 3, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      length = 4, cp = b & 0x07, min = 0x10000;
    }
    bool valid = length > 0 && i + length <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      unsigned char c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0) != 0x80) {
        valid = false;
      } else {
        cp = (cp << 6) | (c & 0x3F);
      }
    }
    if (valid &&
        (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
      valid = false;
    }
    if (valid) {
      out.push_back(cp);
      i += length;
    } else {
      out.push_back(kReplacement);
      ++i;
    }
  }
  return out;
}

std::string EncodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacement;
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

ShortestDecimal ToShortestDecimal(double value) {
  // Shortest round-trip scientific form, e.g. "1.2345e+03".
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value,
                              std::chars_format::scientific);
  std::string text(buffer, result.ptr);
  ShortestDecimal out;
  size_t e = text.find('e');
  for (size_t i = 0; i < e; ++i) {
    if (text[i] != '.') out.digits.push_back(text[i]);
  }
  out.point = std::atoi(text.c_str() + e + 1) + 1;
  while (out.digits.size() > 1 && out.digits.back() == '0') {
    out.digits.pop_back();
  }
  return out;
}

std::string JsNumberToString(double value) {
  if (std::isnan(value)) return "NaN";
  if (value == 0) return "0";
  if (value < 0) return absl::StrCat("-", JsNumberToString(-value));
  if (std::isinf(value)) return "Infinity";
  ShortestDecimal d = ToShortestDecimal(value);
  const int k = static_cast<int>(d.digits.size());
  const int n = d.point;
  if (k <= n && n <= 21) return d.digits + std::string(n - k, '0');
  if (0 < n && n <= 21) {
    return absl::StrCat(d.digits.substr(0, n), ".", d.digits.substr(n));
  }
  if (-6 < n && n <= 0) {
    return absl::StrCat("0.", std::string(-n, '0'), d.digits);
  }
  const int e = n - 1;
  std::string mantissa = d.digits.substr(0, 1);
  if (k > 1) absl::StrAppend(&mantissa, ".", d.digits.substr(1));
  return absl::StrCat(mantissa, "e", e < 0 ? "-" : "+", std::abs(e));
}

std::string JsToFixed(double value, int digits) {
  if (!std::isfinite(value) || value >= 1e21) return JsNumberToString(value);
  if (digits < 0) digits = 0;
  // A double's binary fraction ends within 1074 decimal places, so printing
  // 1100 more digits than needed gives the exact value; round half up by hand.
  const int precision = digits + 1100;
  std::string exact(static_cast<size_t>(precision) + 32, '\0');
  int written =
      std::snprintf(exact.data(), exact.size(), "%.*f", precision, value);
  exact.resize(written > 0 ? static_cast<size_t>(written) : 0);
  const size_t point = exact.find('.');
  std::string kept = exact.substr(0, point + 1 + digits);
  if (exact[point + 1 + digits] >= '5') {
    int i = static_cast<int>(kept.size()) - 1;
    for (; i >= 0; --i) {
      if (kept[i] == '.') continue;
      if (kept[i] == '9') {
        kept[i] = '0';
      } else {
        ++kept[i];
        break;
      }
    }
    if (i < 0) kept.insert(kept.begin(), '1');
  }
  if (digits == 0) kept.pop_back();  // the '.'
  return kept;
}

double JsRoundHalfEven(double value, int precision) {
  if (!std::isfinite(value)) return value;
  double arg = value;
  if (precision != 0) {
    arg = ShiftDecimal(value, precision);
    if (!std::isfinite(arg)) return value;
  }
  double result = JsMathRound(arg);
  double diff = result - arg;
  if (std::fabs(diff) == 0.5 && std::fabs(std::fmod(result, 2.0)) == 1.0) {
    result -= 1;  // Rounded away from the even neighbour.
  }
  if (precision != 0) result = ShiftDecimal(result, -precision);
  if (result == 0) result = 0;  // No -0 in JSON.
  return result;
}

}  // namespace retrace::expr::format::internal
