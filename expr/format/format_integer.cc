// $formatInteger and $parseInteger: XPath F&O 3.1 fn:format-integer as
// jsonata-js implements it (English words, roman numerals, spreadsheet-style
// letters and decimal digit patterns from any of its digit families).

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "expr/format/format.h"
#include "expr/format/internal/text.h"

namespace retrace::expr::format {
namespace {

using internal::DecodeUtf8;
using internal::EncodeUtf8;
using U32 = std::u32string;

// The zero of each Unicode decimal digit family jsonata-js recognises, plus
// a few supplementary-plane ones it cannot (it works in UTF-16 units).
constexpr char32_t kDecimalFamilies[] = {
    0x30,   0x0660,  0x06F0,  0x07C0,  0x0966,  0x09E6,  0x0A66, 0x0AE6, 0x0B66,
    0x0BE6, 0x0C66,  0x0CE6,  0x0D66,  0x0DE6,  0x0E50,  0x0ED0, 0x0F20, 0x1040,
    0x1090, 0x17E0,  0x1810,  0x1946,  0x19D0,  0x1A80,  0x1A90, 0x1B50, 0x1BB0,
    0x1C40, 0x1C50,  0xA620,  0xA8D0,  0xA900,  0xA9D0,  0xA9F0, 0xAA50, 0xABF0,
    0xFF10, 0x104A0, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6};

std::optional<char32_t> FamilyOf(char32_t c) {
  for (char32_t zero : kDecimalFamilies) {
    if (c >= zero && c <= zero + 9) return zero;
  }
  return std::nullopt;
}

enum class Primary { kDecimal, kLetters, kRoman, kWords, kSequence };
enum class LetterCase { kLower, kUpper, kTitle };

struct Separator {
  int position;  // digits to its right
  char32_t character;
};

// The analysed picture ("primary format token" and "format modifier").
struct IntegerPicture {
  Primary primary = Primary::kDecimal;
  LetterCase letter_case = LetterCase::kLower;
  bool ordinal = false;
  // Decimal digit patterns only.
  char32_t zero = U'0';
  int mandatory_digits = 0;
  std::vector<Separator> separators;  // nearest the digits' end first
  int regular = 0;                    // interval of regular separators, or 0
  U32 token;                          // kSequence: the unsupported token
};

int RegularInterval(const std::vector<Separator>& separators) {
  if (separators.empty()) return 0;
  for (const Separator& s : separators) {
    if (s.character != separators[0].character) return 0;
  }
  int factor = 0;
  for (const Separator& s : separators) {
    int a = factor, b = s.position;
    while (b != 0) {
      int t = a % b;
      a = b;
      b = t;
    }
    factor = a;
  }
  if (factor == 0) return 0;
  for (size_t i = 1; i <= separators.size(); ++i) {
    bool found = false;
    for (const Separator& s : separators) {
      found |= s.position == static_cast<int>(i) * factor;
    }
    if (!found) return 0;
  }
  return factor;
}

absl::StatusOr<IntegerPicture> AnalysePicture(absl::string_view picture) {
  IntegerPicture result;
  const U32 pic = DecodeUtf8(picture);
  U32 primary = pic;
  size_t semicolon = pic.rfind(U';');
  if (semicolon != U32::npos) {
    primary = pic.substr(0, semicolon);
    result.ordinal = semicolon + 1 < pic.size() && pic[semicolon + 1] == U'o';
  }
  if (primary == U"A" || primary == U"a") {
    result.primary = Primary::kLetters;
    if (primary == U"A") result.letter_case = LetterCase::kUpper;
    return result;
  }
  if (primary == U"I" || primary == U"i") {
    result.primary = Primary::kRoman;
    if (primary == U"I") result.letter_case = LetterCase::kUpper;
    return result;
  }
  if (primary == U"W" || primary == U"Ww" || primary == U"w") {
    result.primary = Primary::kWords;
    if (primary == U"W") result.letter_case = LetterCase::kUpper;
    if (primary == U"Ww") result.letter_case = LetterCase::kTitle;
    return result;
  }
  // A decimal digit pattern if it has a decimal digit; positions count from
  // the right.
  std::optional<char32_t> zero;
  int position = 0;
  for (auto it = primary.rbegin(); it != primary.rend(); ++it) {
    std::optional<char32_t> family = FamilyOf(*it);
    if (family.has_value()) {
      if (zero.has_value() && *zero != *family) {
        return Error(absl::StatusCode::kInvalidArgument, "D3131",
                     absl::StrCat("picture \"", picture,
                                  "\": in a decimal digit pattern all digits "
                                  "must be from the same decimal group"));
      }
      zero = family;
      ++result.mandatory_digits;
      ++position;
    } else if (*it == U'#') {
      ++position;
    } else {
      result.separators.push_back({position, *it});
    }
  }
  if (result.mandatory_digits == 0) {
    result.primary = Primary::kSequence;
    result.token = primary;
    return result;
  }
  result.zero = *zero;
  result.regular = RegularInterval(result.separators);
  return result;
}

absl::Status SequenceError(const IntegerPicture& picture) {
  return Error(absl::StatusCode::kInvalidArgument, "D3130",
               absl::StrCat("formatting or parsing an integer as a sequence "
                            "starting with \"",
                            EncodeUtf8(picture.token), "\" is not supported"));
}

// --- Words -----------------------------------------------------------------

constexpr const char* kFew[] = {"Zero",    "One",       "Two",      "Three",
                                "Four",    "Five",      "Six",      "Seven",
                                "Eight",   "Nine",      "Ten",      "Eleven",
                                "Twelve",  "Thirteen",  "Fourteen", "Fifteen",
                                "Sixteen", "Seventeen", "Eighteen", "Nineteen"};
constexpr const char* kOrdinals[] = {
    "Zeroth",    "First",     "Second",      "Third",      "Fourth",
    "Fifth",     "Sixth",     "Seventh",     "Eighth",     "Ninth",
    "Tenth",     "Eleventh",  "Twelfth",     "Thirteenth", "Fourteenth",
    "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth"};
constexpr const char* kDecades[] = {"Twenty", "Thirty", "Forty",
                                    "Fifty",  "Sixty",  "Seventy",
                                    "Eighty", "Ninety", "Hundred"};
constexpr const char* kMagnitudes[] = {"Thousand", "Million", "Billion",
                                       "Trillion"};

// `num` is a non-negative integer; `prev` says words come before it.
std::string Words(double num, bool prev, bool ordinal) {
  std::string words;
  if (num <= 19) {
    int n = static_cast<int>(num);
    return absl::StrCat(prev ? " and " : "", ordinal ? kOrdinals[n] : kFew[n]);
  }
  if (num < 100) {
    int tens = static_cast<int>(num / 10);
    double remainder = std::fmod(num, 10);
    words = absl::StrCat(prev ? " and " : "", kDecades[tens - 2]);
    if (remainder > 0) {
      absl::StrAppend(&words, "-", Words(remainder, false, ordinal));
    } else if (ordinal) {
      words.pop_back();  // "Twenty" -> "Twentieth"
      words += "ieth";
    }
    return words;
  }
  if (num < 1000) {
    int hundreds = static_cast<int>(num / 100);
    double remainder = std::fmod(num, 100);
    words = absl::StrCat(prev ? ", " : "", kFew[hundreds], " Hundred");
    if (remainder > 0) {
      words += Words(remainder, true, ordinal);
    } else if (ordinal) {
      words += "th";
    }
    return words;
  }
  int magnitude = static_cast<int>(std::floor(std::log10(num) / 3));
  if (magnitude > 4) magnitude = 4;  // "trillion" is the largest word
  double factor = std::pow(10.0, magnitude * 3);
  double mantissa = std::floor(num / factor);
  double remainder = num - mantissa * factor;
  words = absl::StrCat(prev ? ", " : "", Words(mantissa, false, false), " ",
                       kMagnitudes[magnitude - 1]);
  if (remainder > 0) {
    words += Words(remainder, true, ordinal);
  } else if (ordinal) {
    words += "th";
  }
  return words;
}

const std::map<std::string, double>& WordValues() {
  static const auto* values = [] {
    auto* m = new std::map<std::string, double>();
    for (int i = 0; i < 20; ++i) {
      (*m)[absl::AsciiStrToLower(kFew[i])] = i;
      (*m)[absl::AsciiStrToLower(kOrdinals[i])] = i;
    }
    for (int i = 0; i < 8; ++i) {
      std::string word = absl::AsciiStrToLower(kDecades[i]);
      (*m)[word] = (i + 2) * 10;
      (*m)[word.substr(0, word.size() - 1) + "ieth"] = (i + 2) * 10;
    }
    (*m)["hundred"] = 100;
    (*m)["hundredth"] = 100;
    for (int i = 0; i < 4; ++i) {
      std::string word = absl::AsciiStrToLower(kMagnitudes[i]);
      (*m)[word] = std::pow(10.0, (i + 1) * 3);
      (*m)[word + "th"] = std::pow(10.0, (i + 1) * 3);
    }
    return m;
  }();
  return *values;
}

// ECMAScript's \s.
bool IsJsSpace(char32_t c) {
  return c == U'\t' || c == U'\n' || c == 0x0B || c == 0x0C || c == U'\r' ||
         c == U' ' || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

std::optional<double> WordsToNumber(U32 text) {
  // Lower-case, then split as jsonata-js does, on /,\s|\sand\s|[\s\\-]/.
  for (char32_t& c : text) {
    if (c >= U'A' && c <= U'Z') c = c - U'A' + U'a';
  }
  std::vector<std::string> parts(1);
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    if (text[i] == U',' && i + 1 < n && IsJsSpace(text[i + 1])) {
      parts.emplace_back();
      i += 2;
    } else if (IsJsSpace(text[i]) && i + 4 < n &&
               text.compare(i + 1, 3, U"and") == 0 && IsJsSpace(text[i + 4])) {
      parts.emplace_back();
      i += 5;
    } else if (IsJsSpace(text[i]) || text[i] == U'\\' || text[i] == U'-') {
      parts.emplace_back();
      i += 1;
    } else {
      if (text[i] >= 0x80) return std::nullopt;  // no such word
      parts.back().push_back(static_cast<char>(text[i]));
      ++i;
    }
  }
  std::vector<double> segments = {0};
  for (const std::string& part : parts) {
    auto it = WordValues().find(part);
    if (it == WordValues().end()) return std::nullopt;
    double value = it->second;
    if (value < 100) {
      double top = segments.back();
      segments.pop_back();
      if (top >= 1000) {
        segments.push_back(top);
        top = 0;
      }
      segments.push_back(top + value);
    } else {
      segments.back() *= value;
    }
  }
  double sum = 0;
  for (double s : segments) sum += s;
  return sum;
}

// --- Roman numerals and letters -------------------------------------------

struct RomanNumeral {
  int value;
  const char* text;
};
constexpr RomanNumeral kRomanNumerals[] = {
    {1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"},
    {90, "xc"},  {50, "l"},   {40, "xl"}, {10, "x"},   {9, "ix"},
    {5, "v"},    {4, "iv"},   {1, "i"}};

std::string DecimalToRoman(double value) {
  std::string out;
  long long rest = static_cast<long long>(value);
  for (const RomanNumeral& numeral : kRomanNumerals) {
    while (rest >= numeral.value) {
      out += numeral.text;
      rest -= numeral.value;
    }
  }
  return out;
}

int RomanValue(char32_t c) {
  switch (c) {
    case U'M':
      return 1000;
    case U'D':
      return 500;
    case U'C':
      return 100;
    case U'L':
      return 50;
    case U'X':
      return 10;
    case U'V':
      return 5;
    case U'I':
      return 1;
    default:
      return 0;
  }
}

std::optional<double> RomanToDecimal(const U32& text, bool upper) {
  double decimal = 0;
  int max = 1;
  for (auto it = text.rbegin(); it != text.rend(); ++it) {
    char32_t c = *it;
    if (!upper) {
      if (c < U'a' || c > U'z') return std::nullopt;
      c = c - U'a' + U'A';
    }
    int value = RomanValue(c);
    if (value == 0) return std::nullopt;
    if (value < max) {
      decimal -= value;
    } else {
      max = value;
      decimal += value;
    }
  }
  return decimal;
}

std::string DecimalToLetters(double value, char a) {
  std::string letters;
  while (value > 0) {
    letters.push_back(static_cast<char>(a + std::fmod(value - 1, 26)));
    value = std::floor((value - 1) / 26);
  }
  return std::string(letters.rbegin(), letters.rend());
}

std::optional<double> LettersToDecimal(const U32& text, char32_t a) {
  double decimal = 0;
  double weight = 1;
  for (auto it = text.rbegin(); it != text.rend(); ++it) {
    if (*it < a || *it > a + 25) return std::nullopt;
    decimal += (*it - a + 1) * weight;
    weight *= 26;
  }
  return decimal;
}

// --- Decimal digit patterns ------------------------------------------------

// The decimal digits of a non-negative integer, as JavaScript would print it
// below 1e21 and with all its digits above.
std::string IntegerDigits(double value) {
  if (value == 0) return "0";
  internal::ShortestDecimal d = internal::ToShortestDecimal(value);
  std::string digits = d.digits;
  if (d.point > static_cast<int>(digits.size())) {
    digits.append(d.point - digits.size(), '0');
  }
  return digits;
}

U32 FormatDecimal(double value, const IntegerPicture& picture) {
  std::string ascii = IntegerDigits(value);
  if (static_cast<int>(ascii.size()) < picture.mandatory_digits) {
    ascii.insert(0, picture.mandatory_digits - ascii.size(), '0');
  }
  const int length = static_cast<int>(ascii.size());
  U32 out;
  for (int i = 0; i < length; ++i) {
    out.push_back(picture.zero + (ascii[i] - '0'));
    const int right = length - 1 - i;  // digits still to come
    if (right == 0) continue;
    if (picture.regular > 0) {
      if (right % picture.regular == 0) {
        out.push_back(picture.separators[0].character);
      }
    } else {
      // Separators sharing a position keep their order in the picture.
      for (auto it = picture.separators.rbegin();
           it != picture.separators.rend(); ++it) {
        if (it->position == right) out.push_back(it->character);
      }
    }
  }
  if (picture.ordinal) {
    const char32_t last = out.back();
    const char* suffix = "th";
    if (last == U'1') suffix = "st";
    if (last == U'2') suffix = "nd";
    if (last == U'3') suffix = "rd";
    if (out.size() > 1 && out[out.size() - 2] == U'1') suffix = "th";
    for (const char* c = suffix; *c != '\0'; ++c) out.push_back(*c);
  }
  return out;
}

std::optional<double> ParseDecimal(U32 text, const IntegerPicture& picture) {
  if (picture.ordinal) {
    if (text.size() < 2) return std::nullopt;
    U32 suffix = text.substr(text.size() - 2);
    if (suffix != U"st" && suffix != U"nd" && suffix != U"rd" &&
        suffix != U"th") {
      return std::nullopt;
    }
    text.resize(text.size() - 2);
  }
  std::string ascii;
  for (char32_t c : text) {
    if (c >= picture.zero && c <= picture.zero + 9) {
      ascii.push_back(static_cast<char>('0' + (c - picture.zero)));
      continue;
    }
    bool separator = false;
    for (const Separator& s : picture.separators) separator |= s.character == c;
    if (!separator || ascii.empty()) return std::nullopt;
  }
  if (ascii.empty()) return std::nullopt;
  return std::strtod(ascii.c_str(), nullptr);
}

}  // namespace

absl::StatusOr<std::string> FormatInteger(double value,
                                          absl::string_view picture) {
  if (!std::isfinite(value)) {
    return Error(absl::StatusCode::kInvalidArgument, "D3001",
                 "cannot format Infinity or NaN as an integer");
  }
  absl::StatusOr<IntegerPicture> analysed = AnalysePicture(picture);
  if (!analysed.ok()) return analysed.status();
  const IntegerPicture& format = *analysed;

  value = std::floor(value);
  const bool negative = value < 0;
  value = std::fabs(value);
  std::string text;
  switch (format.primary) {
    case Primary::kLetters:
      text = DecimalToLetters(
          value, format.letter_case == LetterCase::kUpper ? 'A' : 'a');
      break;
    case Primary::kRoman:
      if (value > kMaxRomanValue) {
        return Error(
            absl::StatusCode::kOutOfRange, "EXPR_FORMAT_TOO_LARGE",
            absl::StrCat("roman numerals are limited to ",
                         internal::JsNumberToString(kMaxRomanValue),
                         ", value is ", internal::JsNumberToString(value)));
      }
      text = DecimalToRoman(value);
      if (format.letter_case == LetterCase::kUpper)
        absl::AsciiStrToUpper(&text);
      break;
    case Primary::kWords:
      text = Words(value, false, format.ordinal);
      if (format.letter_case == LetterCase::kUpper)
        absl::AsciiStrToUpper(&text);
      if (format.letter_case == LetterCase::kLower)
        absl::AsciiStrToLower(&text);
      break;
    case Primary::kDecimal:
      text = EncodeUtf8(FormatDecimal(value, format));
      break;
    case Primary::kSequence:
      return SequenceError(format);
  }
  if (negative) text.insert(0, "-");
  return text;
}

absl::StatusOr<std::optional<double>> ParseInteger(absl::string_view text,
                                                   absl::string_view picture) {
  absl::StatusOr<IntegerPicture> analysed = AnalysePicture(picture);
  if (!analysed.ok()) return analysed.status();
  const IntegerPicture& format = *analysed;
  if (format.primary == Primary::kSequence) return SequenceError(format);
  U32 input = DecodeUtf8(text);
  // FormatInteger writes negatives with a leading '-' in every format.
  const bool negative = !input.empty() && input[0] == U'-';
  if (negative) {
    input.erase(0, 1);
    if (input.empty()) return std::nullopt;
  }
  const bool upper = format.letter_case == LetterCase::kUpper;
  std::optional<double> value;
  switch (format.primary) {
    case Primary::kLetters:
      value = LettersToDecimal(input, upper ? U'A' : U'a');
      break;
    case Primary::kRoman:
      value = RomanToDecimal(input, upper);
      break;
    case Primary::kWords:
      value = WordsToNumber(input);
      break;
    case Primary::kDecimal:
    case Primary::kSequence:
      value = ParseDecimal(input, format);
      break;
  }
  if (negative && value.has_value()) *value = -*value;
  return value;
}

}  // namespace retrace::expr::format
