#include "expr/datetime/internal/integer_picture.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <numeric>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"

namespace retrace::expr::datetime::internal {
namespace {

constexpr std::array<absl::string_view, 20> kFew = {
    "Zero",    "One",     "Two",       "Three",    "Four",
    "Five",    "Six",     "Seven",     "Eight",    "Nine",
    "Ten",     "Eleven",  "Twelve",    "Thirteen", "Fourteen",
    "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"};
constexpr std::array<absl::string_view, 20> kOrdinals = {
    "Zeroth",    "First",     "Second",      "Third",      "Fourth",
    "Fifth",     "Sixth",     "Seventh",     "Eighth",     "Ninth",
    "Tenth",     "Eleventh",  "Twelfth",     "Thirteenth", "Fourteenth",
    "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth"};
// Index i is (i + 2) * 10; "Hundred" closes the list as in datetime.js so
// that the word table below matches its vocabulary exactly.
constexpr std::array<absl::string_view, 9> kDecades = {
    "Twenty",  "Thirty", "Forty",  "Fifty",  "Sixty",
    "Seventy", "Eighty", "Ninety", "Hundred"};
constexpr std::array<absl::string_view, 4> kMagnitudes = {
    "Thousand", "Million", "Billion", "Trillion"};

// First code points of the Unicode decimal digit groups (category Nd) in the
// Basic Multilingual Plane, the set jsonata-js recognises.
constexpr std::array<char32_t, 37> kDecimalGroups = {
    0x30,   0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6,
    0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0,
    0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900,
    0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10};

struct WordTable {
  std::vector<std::string> words;  // insertion order
  absl::flat_hash_map<std::string, int64_t> values;
  void Add(std::string word, int64_t value) {
    if (values.emplace(word, value).second) words.push_back(std::move(word));
  }
};

const WordTable& Words() {
  static const WordTable* table = [] {
    auto* t = new WordTable;
    for (size_t i = 0; i < kFew.size(); ++i) {
      t->Add(absl::AsciiStrToLower(kFew[i]), static_cast<int64_t>(i));
    }
    for (size_t i = 0; i < kOrdinals.size(); ++i) {
      t->Add(absl::AsciiStrToLower(kOrdinals[i]), static_cast<int64_t>(i));
    }
    for (size_t i = 0; i < kDecades.size(); ++i) {
      std::string word = absl::AsciiStrToLower(kDecades[i]);
      const int64_t value = static_cast<int64_t>(i + 2) * 10;
      t->Add(word, value);
      t->Add(word.substr(0, word.size() - 1) + "ieth", value);
    }
    t->Add("hundredth", 100);
    int64_t value = 1;
    for (absl::string_view magnitude : kMagnitudes) {
      value *= 1000;
      std::string word = absl::AsciiStrToLower(magnitude);
      t->Add(word, value);
      t->Add(word + "th", value);
    }
    return t;
  }();
  return *table;
}

std::string WordsLookup(int64_t num, bool prev, bool ord) {
  std::string words;
  if (num <= 19) {
    words = absl::StrCat(prev ? " and " : "", ord ? kOrdinals[num] : kFew[num]);
  } else if (num < 100) {
    const int64_t tens = num / 10;
    const int64_t remainder = num % 10;
    words = absl::StrCat(prev ? " and " : "", kDecades[tens - 2]);
    if (remainder > 0) {
      absl::StrAppend(&words, "-", WordsLookup(remainder, false, ord));
    } else if (ord) {
      words = absl::StrCat(words.substr(0, words.size() - 1), "ieth");
    }
  } else if (num < 1000) {
    const int64_t hundreds = num / 100;
    const int64_t remainder = num % 100;
    words = absl::StrCat(prev ? ", " : "", kFew[hundreds], " Hundred");
    if (remainder > 0) {
      absl::StrAppend(&words, WordsLookup(remainder, true, ord));
    } else if (ord) {
      absl::StrAppend(&words, "th");
    }
  } else {
    // Magnitude from the digit count; the largest word is reused for
    // anything bigger ("One Thousand Trillion").
    int digits = 0;
    for (int64_t n = num; n > 0; n /= 10) ++digits;
    int mag = std::min<int>((digits - 1) / 3, kMagnitudes.size());
    int64_t factor = 1;
    for (int i = 0; i < mag; ++i) factor *= 1000;
    const int64_t mant = num / factor;
    const int64_t remainder = num - mant * factor;
    words = absl::StrCat(prev ? ", " : "", WordsLookup(mant, false, false), " ",
                         kMagnitudes[mag - 1]);
    if (remainder > 0) {
      absl::StrAppend(&words, WordsLookup(remainder, true, ord));
    } else if (ord) {
      absl::StrAppend(&words, "th");
    }
  }
  return words;
}

// The grouping interval when every separator is the same character and they
// sit at every multiple of one interval; 0 otherwise.
int RegularGrouping(const std::vector<GroupingSeparator>& separators) {
  if (separators.empty()) return 0;
  for (const GroupingSeparator& s : separators) {
    if (s.character != separators[0].character) return 0;
  }
  int factor = 0;
  for (const GroupingSeparator& s : separators) {
    factor = std::gcd(factor, s.position);
  }
  if (factor == 0) return 0;
  for (size_t index = 1; index <= separators.size(); ++index) {
    const bool found = std::any_of(
        separators.begin(), separators.end(), [&](const GroupingSeparator& s) {
          return s.position == static_cast<int>(index) * factor;
        });
    if (!found) return 0;
  }
  return factor;
}

std::string Utf8(char32_t code_point) {
  std::string out;
  AppendUtf8(code_point, &out);
  return out;
}

}  // namespace

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::vector<char32_t> DecodeUtf8(absl::string_view text) {
  std::vector<char32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char b = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t c = b;
    if (b >= 0xF0 && b < 0xF8) {
      extra = 3;
      c = b & 0x07;
    } else if (b >= 0xE0) {
      extra = 2;
      c = b & 0x0F;
    } else if (b >= 0xC0) {
      extra = 1;
      c = b & 0x1F;
    }
    if (b >= 0xF8 || (b >= 0x80 && b < 0xC0) || i + extra >= text.size()) {
      out.push_back(b);
      ++i;
      continue;
    }
    bool ok = true;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cont = static_cast<unsigned char>(text[i + k]);
      if ((cont & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      c = (c << 6) | (cont & 0x3F);
    }
    if (!ok) {
      out.push_back(b);
      ++i;
      continue;
    }
    out.push_back(c);
    i += extra + 1;
  }
  return out;
}

std::optional<char32_t> DecimalGroupZero(char32_t c) {
  for (char32_t zero : kDecimalGroups) {
    if (c >= zero && c <= zero + 9) return zero;
  }
  return std::nullopt;
}

absl::StatusOr<IntegerFormat> AnalyseIntegerPicture(absl::string_view picture) {
  IntegerFormat format;
  absl::string_view primary = picture;
  const size_t semicolon = picture.rfind(';');
  if (semicolon != absl::string_view::npos) {
    primary = picture.substr(0, semicolon);
    absl::string_view modifier = picture.substr(semicolon + 1);
    if (!modifier.empty() && modifier[0] == 'o') format.ordinal = true;
  }
  if (primary == "A" || primary == "a") {
    format.primary = IntegerPrimary::kLetters;
    format.letter_case =
        primary == "A" ? LetterCase::kUpper : LetterCase::kLower;
    return format;
  }
  if (primary == "I" || primary == "i") {
    format.primary = IntegerPrimary::kRoman;
    format.letter_case =
        primary == "I" ? LetterCase::kUpper : LetterCase::kLower;
    return format;
  }
  if (primary == "W" || primary == "Ww" || primary == "w") {
    format.primary = IntegerPrimary::kWords;
    format.letter_case = primary == "W"    ? LetterCase::kUpper
                         : primary == "Ww" ? LetterCase::kTitle
                                           : LetterCase::kLower;
    return format;
  }
  // A decimal digit pattern when it holds at least one decimal digit. Walk
  // it right to left to learn where the grouping separators sit.
  std::vector<char32_t> code_points = DecodeUtf8(primary);
  std::reverse(code_points.begin(), code_points.end());
  std::optional<char32_t> zero_code;
  int position = 0;
  std::vector<GroupingSeparator> separators;
  for (char32_t c : code_points) {
    if (std::optional<char32_t> group = DecimalGroupZero(c)) {
      if (zero_code.has_value() && *zero_code != *group) {
        return retrace::Error(
            absl::StatusCode::kInvalidArgument, "D3131",
            absl::StrCat("In a decimal digit pattern, all digits must be from "
                         "the same decimal group (picture \"",
                         picture, "\")"));
      }
      zero_code = group;
      ++format.mandatory_digits;
      ++position;
    } else if (c == U'#') {
      ++format.optional_digits;
      ++position;
    } else {
      separators.push_back({position, Utf8(c)});
    }
  }
  if (format.mandatory_digits == 0) {
    format.primary = IntegerPrimary::kSequence;
    format.token = std::string(primary);
    return format;
  }
  format.primary = IntegerPrimary::kDecimal;
  format.zero_code = *zero_code;
  if (int interval = RegularGrouping(separators); interval > 0) {
    format.regular_grouping = true;
    format.separators = {{interval, separators[0].character}};
  } else {
    format.separators = std::move(separators);
  }
  return format;
}

absl::StatusOr<std::string> FormatInteger(int64_t value,
                                          const IntegerFormat& format) {
  const bool negative = value < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value)
                                      : static_cast<uint64_t>(value);
  // Words/roman/letters need an int64; INT64_MIN is far outside any date.
  const int64_t abs_value =
      static_cast<int64_t>(std::min<uint64_t>(magnitude, INT64_MAX));
  std::string result;
  switch (format.primary) {
    case IntegerPrimary::kLetters:
      result = DecimalToLetters(
          abs_value, format.letter_case == LetterCase::kUpper ? 'A' : 'a');
      break;
    case IntegerPrimary::kRoman:
      result = DecimalToRoman(abs_value);
      if (format.letter_case == LetterCase::kUpper) {
        absl::AsciiStrToUpper(&result);
      }
      break;
    case IntegerPrimary::kWords:
      result = NumberToWords(abs_value, format.ordinal);
      if (format.letter_case == LetterCase::kUpper) {
        absl::AsciiStrToUpper(&result);
      } else if (format.letter_case == LetterCase::kLower) {
        absl::AsciiStrToLower(&result);
      }
      break;
    case IntegerPrimary::kDecimal: {
      std::string ascii = absl::StrCat(magnitude);
      if (static_cast<int>(ascii.size()) < format.mandatory_digits) {
        ascii.insert(0, format.mandatory_digits - ascii.size(), '0');
      }
      // One entry per output character so separators can be placed by
      // character position whatever the digit group's UTF-8 length.
      std::vector<std::string> chars;
      chars.reserve(ascii.size());
      for (char d : ascii) {
        chars.push_back(Utf8(format.zero_code + (d - '0')));
      }
      if (format.regular_grouping) {
        const int interval = format.separators[0].position;
        const int n = (static_cast<int>(chars.size()) - 1) / interval;
        for (int ii = n; ii > 0; --ii) {
          const int pos = static_cast<int>(chars.size()) - ii * interval;
          chars.insert(chars.begin() + pos, format.separators[0].character);
        }
      } else {
        // Leftmost separator first: insertions to the left of a position
        // leave its distance from the right end unchanged.
        for (auto it = format.separators.rbegin();
             it != format.separators.rend(); ++it) {
          const int pos = static_cast<int>(chars.size()) - it->position;
          if (pos > 0) chars.insert(chars.begin() + pos, it->character);
        }
      }
      result = absl::StrJoin(chars, "");
      if (format.ordinal) {
        const char last = result.empty() ? '\0' : result.back();
        const bool teen = result.size() > 1 && result[result.size() - 2] == '1';
        absl::string_view suffix = "th";
        if (!teen && last == '1') suffix = "st";
        if (!teen && last == '2') suffix = "nd";
        if (!teen && last == '3') suffix = "rd";
        absl::StrAppend(&result, suffix);
      }
      break;
    }
    case IntegerPrimary::kSequence:
      return retrace::Error(
          absl::StatusCode::kInvalidArgument, "D3130",
          absl::StrCat("Formatting or parsing an integer as a sequence "
                       "starting with \"",
                       format.token,
                       "\" is not supported by this implementation"));
  }
  if (negative) result.insert(0, "-");
  return result;
}

std::string NumberToWords(int64_t value, bool ordinal) {
  return WordsLookup(value, false, ordinal);
}

std::optional<int64_t> WordsToNumber(absl::string_view text) {
  // Split on ", ", " and ", whitespace, '\' and '-', as datetime.js does.
  std::vector<std::string> parts;
  std::string current;
  auto is_space = [](char c) { return absl::ascii_isspace(c); };
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ',' && i + 1 < text.size() && is_space(text[i + 1])) {
      parts.push_back(std::move(current));
      current.clear();
      i += 2;
    } else if (is_space(c) && i + 4 < text.size() &&
               text.substr(i + 1, 3) == "and" && is_space(text[i + 4])) {
      parts.push_back(std::move(current));
      current.clear();
      i += 5;
    } else if (is_space(c) || c == '\\' || c == '-') {
      parts.push_back(std::move(current));
      current.clear();
      i += 1;
    } else {
      current.push_back(c);
      i += 1;
    }
  }
  parts.push_back(std::move(current));

  const WordTable& table = Words();
  std::vector<int64_t> segs = {0};
  for (const std::string& part : parts) {
    auto it = table.values.find(part);
    if (it == table.values.end()) return std::nullopt;
    const int64_t value = it->second;
    if (value < 100) {
      int64_t top = segs.back();
      segs.pop_back();
      if (top >= 1000) {
        segs.push_back(top);
        top = 0;
      }
      segs.push_back(top + value);
    } else {
      int64_t product;
      if (__builtin_mul_overflow(segs.back(), value, &product)) {
        return std::nullopt;
      }
      segs.back() = product;
    }
  }
  int64_t sum = 0;
  for (int64_t seg : segs) {
    if (__builtin_add_overflow(sum, seg, &sum)) return std::nullopt;
  }
  return sum;
}

std::string DecimalToRoman(int64_t value) {
  static constexpr std::pair<int64_t, absl::string_view> kNumerals[] = {
      {1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"},
      {90, "xc"},  {50, "l"},   {40, "xl"}, {10, "x"},   {9, "ix"},
      {5, "v"},    {4, "iv"},   {1, "i"}};
  std::string out;
  for (const auto& [amount, numeral] : kNumerals) {
    while (value >= amount) {
      absl::StrAppend(&out, numeral);
      value -= amount;
    }
  }
  return out;
}

std::optional<int64_t> RomanToDecimal(absl::string_view roman) {
  int64_t decimal = 0;
  int64_t max = 1;
  for (size_t i = roman.size(); i-- > 0;) {
    int64_t value = 0;
    switch (absl::ascii_toupper(roman[i])) {
      case 'M':
        value = 1000;
        break;
      case 'D':
        value = 500;
        break;
      case 'C':
        value = 100;
        break;
      case 'L':
        value = 50;
        break;
      case 'X':
        value = 10;
        break;
      case 'V':
        value = 5;
        break;
      case 'I':
        value = 1;
        break;
      default:
        return std::nullopt;
    }
    if (value < max) {
      decimal -= value;
    } else {
      max = value;
      decimal += value;
    }
    if (decimal > (int64_t{1} << 53)) return std::nullopt;
  }
  return decimal;
}

std::string DecimalToLetters(int64_t value, char a_char) {
  std::string letters;
  while (value > 0) {
    letters.push_back(static_cast<char>((value - 1) % 26 + a_char));
    value = (value - 1) / 26;
  }
  std::reverse(letters.begin(), letters.end());
  return letters;
}

std::optional<int64_t> LettersToDecimal(absl::string_view letters) {
  if (letters.size() > 12) return std::nullopt;  // beyond 26^12 overflows
  int64_t decimal = 0;
  for (char c : letters) {
    const char lower = absl::ascii_tolower(c);
    if (lower < 'a' || lower > 'z') return std::nullopt;
    decimal = decimal * 26 + (lower - 'a' + 1);
  }
  return decimal;
}

const std::vector<std::string>& NumberWords() { return Words().words; }

}  // namespace retrace::expr::datetime::internal
