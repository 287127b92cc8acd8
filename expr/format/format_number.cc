// $formatNumber: XPath F&O 3.1 section 4.7 as jsonata-js implements it.
// Section numbers ("4.7.3") and bullet numbers refer to that specification.

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "expr/format/format.h"
#include "expr/format/internal/text.h"

namespace retrace::expr::format {

bool DecimalFormat::Set(absl::string_view name, absl::string_view value) {
  std::string* field = nullptr;
  if (name == "decimal-separator") field = &decimal_separator;
  if (name == "grouping-separator") field = &grouping_separator;
  if (name == "exponent-separator") field = &exponent_separator;
  if (name == "minus-sign") field = &minus_sign;
  if (name == "infinity") field = &infinity;
  if (name == "NaN") field = &nan;
  if (name == "percent") field = &percent;
  if (name == "per-mille") field = &per_mille;
  if (name == "zero-digit") field = &zero_digit;
  if (name == "digit") field = &digit;
  if (name == "pattern-separator") field = &pattern_separator;
  if (field == nullptr) return false;
  *field = std::string(value);
  return true;
}

namespace {

using internal::DecodeUtf8;
using internal::EncodeUtf8;
using U32 = std::u32string;
constexpr size_t npos = U32::npos;

// The decimal format decoded to code points.
struct Symbols {
  explicit Symbols(const DecimalFormat& f)
      : decimal(DecodeUtf8(f.decimal_separator)),
        grouping(DecodeUtf8(f.grouping_separator)),
        exponent(DecodeUtf8(f.exponent_separator)),
        minus(DecodeUtf8(f.minus_sign)),
        infinity(DecodeUtf8(f.infinity)),
        nan(DecodeUtf8(f.nan)),
        percent(DecodeUtf8(f.percent)),
        per_mille(DecodeUtf8(f.per_mille)),
        digit(DecodeUtf8(f.digit)),
        pattern_separator(DecodeUtf8(f.pattern_separator)) {
    U32 z = DecodeUtf8(f.zero_digit);
    zero = z.empty() ? U'0' : z[0];
    // The formatted digits always need a decimal separator to anchor on.
    if (decimal.empty()) decimal = U".";
  }

  bool InFamily(char32_t c) const { return c >= zero && c - zero <= 9; }
  bool IsDigitOrOptional(char32_t c) const {
    return InFamily(c) || Is(c, digit);
  }
  // jsonata-js's "active characters": the digit family and the single-
  // character decimal, exponent and grouping separators, digit sign and
  // pattern separator.
  bool IsActive(char32_t c) const {
    return InFamily(c) || Is(c, decimal) || Is(c, exponent) ||
           Is(c, grouping) || Is(c, digit) || Is(c, pattern_separator);
  }
  static bool Is(char32_t c, const U32& property) {
    return property.size() == 1 && property[0] == c;
  }

  U32 decimal, grouping, exponent, minus, infinity, nan, percent, per_mille,
      digit, pattern_separator;
  char32_t zero;
};

// String search where an empty needle is never found.
size_t Find(const U32& hay, const U32& needle, size_t from = 0) {
  if (needle.empty() || from > hay.size()) return npos;
  return hay.find(needle, from);
}
bool Contains(const U32& hay, const U32& needle) {
  return Find(hay, needle) != npos;
}
bool ContainsTwice(const U32& hay, const U32& needle) {
  size_t first = Find(hay, needle);
  return first != npos && hay.rfind(needle) != first;
}

// A sub-picture split as in F&O 4.7.3.
struct Parts {
  U32 subpicture, prefix, suffix, active, mantissa, integer, fractional;
  std::optional<U32> exponent;
};

Parts SplitParts(const U32& sub, const Symbols& s) {
  Parts p;
  p.subpicture = sub;
  auto counts = [&](char32_t c) {
    return s.IsActive(c) && !Symbols::Is(c, s.exponent);
  };
  size_t first = 0;
  while (first < sub.size() && !counts(sub[first])) ++first;
  size_t end = sub.size();
  while (end > first && !counts(sub[end - 1])) --end;
  if (first == sub.size()) first = 0;  // no active character: all "active"

  p.prefix = sub.substr(0, first);
  p.suffix = sub.substr(end);
  p.active = sub.substr(first, end - first);
  size_t exponent_at = Find(sub, s.exponent, first);
  if (exponent_at == npos || exponent_at > end) {
    p.mantissa = p.active;
  } else {
    size_t relative = exponent_at - first;
    p.mantissa = p.active.substr(0, relative);
    size_t after = relative + s.exponent.size();
    p.exponent = after <= p.active.size() ? p.active.substr(after) : U32();
  }
  size_t decimal_at = Find(p.mantissa, s.decimal);
  if (decimal_at == npos) {
    p.integer = p.mantissa;
  } else {
    p.integer = p.mantissa.substr(0, decimal_at);
    p.fractional = p.mantissa.substr(decimal_at + s.decimal.size());
  }
  return p;
}

// F&O 4.7.3: returns the code of the last rule the sub-picture breaks, or "".
absl::string_view Validate(const Parts& p, const Symbols& s) {
  absl::string_view error;
  const U32& sub = p.subpicture;
  if (ContainsTwice(sub, s.decimal)) error = "D3081";
  if (ContainsTwice(sub, s.percent)) error = "D3082";
  if (ContainsTwice(sub, s.per_mille)) error = "D3083";
  if (Contains(sub, s.percent) && Contains(sub, s.per_mille)) error = "D3084";
  bool has_digit = false;
  for (char32_t c : p.mantissa) has_digit |= s.IsDigitOrOptional(c);
  if (!has_digit) error = "D3085";
  for (char32_t c : p.active) {
    if (!s.IsActive(c)) error = "D3086";
  }
  size_t decimal_at = Find(sub, s.decimal);
  if (decimal_at != npos) {
    size_t after = decimal_at + s.decimal.size();
    if ((decimal_at > 0 && Symbols::Is(sub[decimal_at - 1], s.grouping)) ||
        (after < sub.size() && Symbols::Is(sub[after], s.grouping))) {
      error = "D3087";
    }
  } else if (!p.integer.empty() && Symbols::Is(p.integer.back(), s.grouping)) {
    error = "D3088";
  }
  if (Contains(sub, s.grouping + s.grouping)) error = "D3089";
  size_t optional_at = Find(p.integer, s.digit);
  if (optional_at != npos) {
    for (size_t i = 0; i < optional_at; ++i) {
      if (s.InFamily(p.integer[i])) error = "D3090";
    }
  }
  optional_at = s.digit.empty() ? npos : p.fractional.rfind(s.digit);
  if (optional_at != npos) {
    for (size_t i = optional_at; i < p.fractional.size(); ++i) {
      if (s.InFamily(p.fractional[i])) error = "D3091";
    }
  }
  if (p.exponent.has_value() && !p.exponent->empty() &&
      (Contains(sub, s.percent) || Contains(sub, s.per_mille))) {
    error = "D3092";
  }
  if (p.exponent.has_value()) {
    bool all_digits = !p.exponent->empty();
    for (char32_t c : *p.exponent) all_digits &= s.InFamily(c);
    if (!all_digits) error = "D3093";
  }
  return error;
}

absl::string_view ErrorMessage(absl::string_view code) {
  if (code == "D3081") return "more than one decimal separator";
  if (code == "D3082") return "more than one percent character";
  if (code == "D3083") return "more than one per-mille character";
  if (code == "D3084") return "both a percent and a per-mille character";
  if (code == "D3085") {
    return "the mantissa part must contain at least one digit or optional "
           "digit character";
  }
  if (code == "D3086") {
    return "a passive character must not appear between active characters";
  }
  if (code == "D3087") {
    return "a grouping separator must not be adjacent to the decimal "
           "separator";
  }
  if (code == "D3088") {
    return "a grouping separator must not end the integer part";
  }
  if (code == "D3089") return "two adjacent grouping separators";
  if (code == "D3090") {
    return "the integer part must not have an optional digit character after "
           "a decimal digit";
  }
  if (code == "D3091") {
    return "the fractional part must not have a decimal digit after an "
           "optional digit character";
  }
  if (code == "D3092") {
    return "a sub-picture with a percent or per-mille character must not have "
           "an exponent";
  }
  return "the exponent part must be one or more decimal digits";  // D3093
}

// F&O 4.7.4: the variables that drive formatting.
struct Analysis {
  std::vector<int> integer_grouping;     // digits right of each, left to right
  int regular_grouping = 0;              // 0: not regular
  std::vector<int> fractional_grouping;  // digits left of each
  int minimum_integer_size = 0;
  int scaling_factor = 0;
  int minimum_fraction_size = 0;
  int maximum_fraction_size = 0;
  int minimum_exponent_size = 0;
  U32 prefix, suffix, subpicture;
};

int RegularInterval(const std::vector<int>& positions) {
  if (positions.empty()) return 0;
  int factor = 0;
  for (int p : positions) {
    int a = factor, b = p;
    while (b != 0) {
      int t = a % b;
      a = b;
      b = t;
    }
    factor = a;
  }
  if (factor == 0) return 0;
  for (size_t i = 1; i <= positions.size(); ++i) {
    bool found = false;
    for (int p : positions) found |= p == static_cast<int>(i) * factor;
    if (!found) return 0;
  }
  return factor;
}

Analysis Analyse(const Parts& p, const Symbols& s) {
  Analysis a;
  auto count = [&](const U32& text, size_t from, size_t to, bool optional_too) {
    int n = 0;
    for (size_t i = from; i < to; ++i) {
      n += optional_too ? s.IsDigitOrOptional(text[i]) : s.InFamily(text[i]);
    }
    return n;
  };
  for (size_t at = Find(p.integer, s.grouping); at != npos;
       at = Find(p.integer, s.grouping, at + 1)) {
    a.integer_grouping.push_back(count(p.integer, at, p.integer.size(), true));
  }
  a.regular_grouping = RegularInterval(a.integer_grouping);
  for (size_t at = Find(p.fractional, s.grouping); at != npos;
       at = Find(p.fractional, s.grouping, at + 1)) {
    a.fractional_grouping.push_back(count(p.fractional, 0, at, true));
  }
  a.minimum_integer_size = count(p.integer, 0, p.integer.size(), false);
  a.scaling_factor = a.minimum_integer_size;
  a.minimum_fraction_size = count(p.fractional, 0, p.fractional.size(), false);
  a.maximum_fraction_size = count(p.fractional, 0, p.fractional.size(), true);
  const bool exponent = p.exponent.has_value();
  if (a.minimum_integer_size == 0 && a.maximum_fraction_size == 0) {
    if (exponent) {
      a.minimum_fraction_size = 1;
      a.maximum_fraction_size = 1;
    } else {
      a.minimum_integer_size = 1;
    }
  }
  if (exponent && a.minimum_integer_size == 0 && Contains(p.integer, s.digit)) {
    a.minimum_integer_size = 1;
  }
  if (a.minimum_integer_size == 0 && a.minimum_fraction_size == 0) {
    a.minimum_fraction_size = 1;
  }
  if (exponent) {
    a.minimum_exponent_size = count(*p.exponent, 0, p.exponent->size(), false);
  }
  a.prefix = p.prefix;
  a.suffix = p.suffix;
  a.subpicture = p.subpicture;
  return a;
}

// |value| printed with toFixed and mapped onto the digit family.
U32 MakeString(double value, int fraction_digits, const Symbols& s) {
  std::string ascii = internal::JsToFixed(std::fabs(value), fraction_digits);
  U32 out;
  out.reserve(ascii.size());
  for (char c : ascii) {
    out.push_back(c >= '0' && c <= '9' ? s.zero + (c - '0')
                                       : static_cast<char32_t>(c));
  }
  return out;
}

U32 Repeat(char32_t c, int n) { return n > 0 ? U32(n, c) : U32(); }

}  // namespace

absl::StatusOr<std::string> FormatNumber(double value,
                                         absl::string_view picture,
                                         const DecimalFormat& format) {
  const Symbols s(format);
  const U32 pic = DecodeUtf8(picture);

  std::vector<U32> subpictures;
  if (s.pattern_separator.empty()) {
    subpictures.push_back(pic);
  } else {
    size_t start = 0;
    for (size_t at = pic.find(s.pattern_separator); at != npos;
         at = pic.find(s.pattern_separator, start)) {
      subpictures.push_back(pic.substr(start, at - start));
      start = at + s.pattern_separator.size();
    }
    subpictures.push_back(pic.substr(start));
  }
  if (subpictures.size() > 2) {
    return Error(absl::StatusCode::kInvalidArgument, "D3080",
                 absl::StrCat("picture \"", picture,
                              "\" has more than two sub-pictures"));
  }

  std::vector<Analysis> variables;
  for (const U32& sub : subpictures) {
    Parts parts = SplitParts(sub, s);
    absl::string_view code = Validate(parts, s);
    if (!code.empty()) {
      return Error(absl::StatusCode::kInvalidArgument, code,
                   absl::StrCat("sub-picture \"", EncodeUtf8(sub),
                                "\": ", ErrorMessage(code)));
    }
    variables.push_back(Analyse(parts, s));
  }
  if (variables.size() == 1) {
    variables.push_back(variables[0]);
    variables[1].prefix = s.minus + variables[1].prefix;
  }

  // Bullet 1: NaN.
  if (std::isnan(value)) return EncodeUtf8(s.nan);
  // Bullet 2: the sub-picture for the sign.
  const Analysis& a = value >= 0 ? variables[0] : variables[1];
  // Bullet 3: percent and per-mille.
  double adjusted = value;
  if (Contains(a.subpicture, s.percent)) {
    adjusted = value * 100;
  } else if (Contains(a.subpicture, s.per_mille)) {
    adjusted = value * 1000;
  }
  // Bullet 4: infinity.
  if (std::isinf(adjusted)) return EncodeUtf8(a.prefix + s.infinity + a.suffix);
  // Bullet 5: mantissa and exponent. The loops work on the magnitude, and
  // zero keeps exponent 0 (jsonata-js issue 785).
  double mantissa = adjusted;
  std::optional<int> exponent;
  if (a.minimum_exponent_size > 0) {
    const double max_mantissa = std::pow(10.0, a.scaling_factor);
    const double min_mantissa = std::pow(10.0, a.scaling_factor - 1);
    exponent = 0;
    if (mantissa != 0) {
      while (std::fabs(mantissa) < min_mantissa) {
        mantissa *= 10;
        --*exponent;
      }
      while (std::fabs(mantissa) > max_mantissa) {
        mantissa /= 10;
        ++*exponent;
      }
    }
  }
  // Bullet 6: rounding, half to even.
  const double rounded =
      internal::JsRoundHalfEven(mantissa, a.maximum_fraction_size);
  // Bullet 7: digits, with the decimal separator in place and insignificant
  // zeros removed.
  U32 text = MakeString(rounded, a.maximum_fraction_size, s);
  size_t point = text.find(U'.');
  if (point == npos) {
    text += s.decimal;
  } else {
    text.replace(point, 1, s.decimal);
  }
  size_t lead = 0;
  while (lead < text.size() && text[lead] == s.zero) ++lead;
  text.erase(0, lead);
  while (!text.empty() && text.back() == s.zero) text.pop_back();
  // Only a decimal separator equal to the zero digit can have been stripped.
  if (text.find(s.decimal) == npos) text += s.decimal;
  // Bullets 8 and 9: pad to the minimum sizes.
  point = text.find(s.decimal);
  const int integer_digits = static_cast<int>(point);
  const int fraction_digits =
      static_cast<int>(text.size() - point - s.decimal.size());
  text = Repeat(s.zero, a.minimum_integer_size - integer_digits) + text +
         Repeat(s.zero, a.minimum_fraction_size - fraction_digits);
  // Bullet 10: integer grouping separators, only between digits.
  point = text.find(s.decimal);
  if (a.regular_grouping > 0) {
    if (point > 0) {
      const size_t groups = (point - 1) / a.regular_grouping;
      for (size_t g = 1; g <= groups; ++g) {
        text.insert(point - g * a.regular_grouping, s.grouping);
      }
    }
  } else {
    for (int position : a.integer_grouping) {
      if (static_cast<int>(point) - position > 0) {
        text.insert(point - position, s.grouping);
        point += s.grouping.size();
      }
    }
  }
  // Bullet 11: fractional grouping separators, right to left so that the
  // positions stay valid, and only where a digit follows.
  point = text.find(s.decimal);
  for (auto it = a.fractional_grouping.rbegin();
       it != a.fractional_grouping.rend(); ++it) {
    size_t at = point + s.decimal.size() + *it;
    if (*it > 0 && at < text.size()) text.insert(at, s.grouping);
  }
  // Bullet 12: drop a trailing decimal separator, or (as jsonata-js does) the
  // last character when the picture has no decimal separator.
  point = text.find(s.decimal);
  if (!Contains(a.subpicture, s.decimal) ||
      point == text.size() - s.decimal.size()) {
    if (point != npos && point == text.size() - s.decimal.size()) {
      text.erase(point);
    } else if (!text.empty()) {
      text.pop_back();
    }
  }
  // Bullet 13: the exponent.
  if (exponent.has_value()) {
    U32 digits = MakeString(*exponent, 0, s);
    digits = Repeat(s.zero,
                    a.minimum_exponent_size - static_cast<int>(digits.size())) +
             digits;
    text += s.exponent;
    if (*exponent < 0) text += s.minus;
    text += digits;
  }
  // Bullet 14: prefix and suffix.
  return EncodeUtf8(a.prefix + text + a.suffix);
}

}  // namespace retrace::expr::format
