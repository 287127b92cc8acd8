// Integer presentation for date/time picture markers: the subset of XPath
// F&O 3.1 fn:format-integer that jsonata-js datetime.js uses to render and
// read back the integer-valued components ([Y], [M], [D], [H], ...).
//
// Private to //expr/datetime: $formatInteger/$parseInteger live in the
// function library and deliberately do not depend on this package.
//
// Supported primary formats:
//   decimal digit pattern  "01", "#1", "9,999", "٠١" (any Unicode decimal
//   group) "A" / "a"              spreadsheet letters: 1 -> A, 26 -> Z, 27 ->
//   AA "I" / "i"              roman numerals: 2018 -> MMXVIII "W" / "w" / "Ww"
//   English words: 21 -> "twenty-one"
// plus the ";o" modifier for ordinals ("1st", "twenty-first").
//
//   ASSIGN_OR_RETURN(IntegerFormat f, AnalyseIntegerPicture("9,999"));
//   ASSIGN_OR_RETURN(std::string s, FormatInteger(1234567, f));
//   // s == "1,234,567"
//
// Thread safety: all functions are pure.
#ifndef RETRACE_EXPR_DATETIME_INTERNAL_INTEGER_PICTURE_H_
#define RETRACE_EXPR_DATETIME_INTERNAL_INTEGER_PICTURE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace retrace::expr::datetime::internal {

enum class IntegerPrimary { kDecimal, kLetters, kRoman, kWords, kSequence };
enum class LetterCase { kUpper, kLower, kTitle };

// One grouping separator of an irregular decimal digit pattern: `character`
// (UTF-8) goes before the `position`-th digit counted from the right.
struct GroupingSeparator {
  int position = 0;
  std::string character;
};

// The analysed form of an integer picture.
struct IntegerFormat {
  IntegerPrimary primary = IntegerPrimary::kDecimal;
  LetterCase letter_case = LetterCase::kLower;
  bool ordinal = false;
  // Decimal patterns only.
  char32_t zero_code = U'0';  // first code point of the digit group
  int mandatory_digits = 0;   // zero padding width
  int optional_digits = 0;    // count of '#'
  // Regular grouping: `separators` holds one entry whose `position` is the
  // interval (e.g. 3 and "," for "9,999"). Irregular: every separator.
  bool regular_grouping = false;
  std::vector<GroupingSeparator> separators;
  // When set, parsing reads exactly this many digits (used when two integer
  // markers are adjacent, e.g. "[Y0001][M01]").
  std::optional<int> parse_width;
  // The picture of an unsupported numbering sequence (kSequence only).
  std::string token;
};

// Analyses `picture` ("01", "w", "I", "1;o", ...). The part after the last ';'
// is the format modifier; a leading 'o' selects ordinals.
// Errors: D3131 when a decimal digit pattern mixes digit groups.
// An unsupported numbering sequence is not an error here; formatting or
// parsing with it fails with D3130.
absl::StatusOr<IntegerFormat> AnalyseIntegerPicture(absl::string_view picture);

// Renders `value` per `format`. Negative values get a leading '-'.
// Errors: D3130 for kSequence.
absl::StatusOr<std::string> FormatInteger(int64_t value,
                                          const IntegerFormat& format);

// English words in title case ("Two Thousand and Eighteen",
// "Twenty-First"); `value` must be >= 0.
std::string NumberToWords(int64_t value, bool ordinal);

// Inverse of NumberToWords for lower-case input ("one thousand, nine hundred
// and eighty-four", "twenty-first"). Returns nullopt when a word is unknown.
std::optional<int64_t> WordsToNumber(absl::string_view text);

// Lower-case roman numerals; "" for values < 1.
std::string DecimalToRoman(int64_t value);
// Reads roman numerals in either case; nullopt on any other character.
std::optional<int64_t> RomanToDecimal(absl::string_view roman);

// Spreadsheet letters starting at `a_char` ('A' or 'a'); "" for values < 1.
std::string DecimalToLetters(int64_t value, char a_char);
// Reads spreadsheet letters in either case; nullopt on any other character
// or overflow.
std::optional<int64_t> LettersToDecimal(absl::string_view letters);

// Every word WordsToNumber knows (lower case), in a fixed order. Used to build
// the parsing regular expression for word-formatted components.
const std::vector<std::string>& NumberWords();

// UTF-8 helpers shared by the package.
// Appends the UTF-8 encoding of `code_point` to `out`.
void AppendUtf8(char32_t code_point, std::string* out);
// Decodes `text` into code points; invalid bytes decode as themselves.
std::vector<char32_t> DecodeUtf8(absl::string_view text);
// The first code point of the Unicode decimal digit group containing `c`, or
// nullopt when `c` is not a decimal digit.
std::optional<char32_t> DecimalGroupZero(char32_t c);

}  // namespace retrace::expr::datetime::internal

#endif  // RETRACE_EXPR_DATETIME_INTERNAL_INTEGER_PICTURE_H_
