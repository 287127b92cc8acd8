// Number formatting for the expression engine: $formatNumber, $formatInteger
// and $parseInteger.
//
// These follow XPath F&O 3.1 (fn:format-number, fn:format-integer) as
// jsonata-js implements them, so a picture string gives the same text here as
// in JSONata. Errors carry jsonata-js's error codes ("D3080".."D3093",
// "D3130", "D3131") as the stable code string and kInvalidArgument, because
// they are all caused by the picture the expression author wrote.
//
// Text is UTF-8 and is handled by code point: pictures may hold multi-byte
// characters such as '‰' or digits of another decimal family ('١', '０').
//
// Thread safety: all functions are pure and may be called concurrently.
//
// Example:
//
//   DecimalFormat format;                       // XPath defaults
//   FormatNumber(12345.6, "#,###.00", format)   // "12,345.60"
//   format.Set("per-mille", "pm");
//   FormatNumber(0.14, "###pm", format)         // "140pm"
//   FormatInteger(1984, "I")                    // "MCMLXXXIV"
//   FormatInteger(21, "w;o")                    // "twenty-first"
//   ParseInteger("twenty-first", "w;o")         // 21
//   ParseInteger("hello", "0")                  // std::nullopt
//
// Deliberate differences from jsonata-js, all in cases where jsonata-js gives
// garbage, hangs or throws a JavaScript TypeError/RangeError:
//   - An exponent separator after a prefix ("$0.0e0") is found where it is;
//     jsonata-js misplaces it by the prefix length and reports D3093.
//   - Every fractional grouping separator is honoured (jsonata-js only the
//     first), and a grouping separator is only inserted where a digit is on
//     both sides (jsonata-js can insert one in front of all digits, or mangle
//     the text when a group position is beyond the digits).
//   - $formatInteger prints integers of 1e21 and above with all their digits
//     instead of JavaScript's "1e+21" (which jsonata-js then digit-maps).
//   - $parseInteger validates its input (jsonata-js has a TODO there) and
//     returns std::nullopt instead of NaN or a prefix's value; it accepts the
//     picture's own grouping separators rather than always ',' (jsonata-js
//     parses "1.234" with picture "#.##0" as 1), and a leading '-' in every
//     format (jsonata-js: NaN for "-five").
//   - Fed the integer 0..999 with picture "#:###,##0", jsonata-js inserts
//     separators in front of the digits (",:12"); this gives "12".
#ifndef RETRACE_EXPR_FORMAT_FORMAT_H_
#define RETRACE_EXPR_FORMAT_FORMAT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace retrace::expr::format {

// The XPath decimal-format properties; the third argument of $formatNumber
// overrides them by name (see Set()). Each property is a UTF-8 string; XPath
// wants single characters, but like jsonata-js, longer strings work where a
// property is searched for as text (e.g. "per-mille": "pm"). A property only
// counts as an active picture character when it is exactly one character.
struct DecimalFormat {
  std::string decimal_separator = ".";   // Default: "."
  std::string grouping_separator = ",";  // Default: ","
  std::string exponent_separator = "e";  // Default: "e"
  std::string minus_sign = "-";          // Default: "-"
  std::string infinity = "Infinity";     // Default: "Infinity"
  std::string nan = "NaN";               // Default: "NaN"
  std::string percent = "%";             // Default: "%"
  std::string per_mille = "\u2030";      // Default: "‰"
  // Only its first character is used: it and the nine code points after it
  // are the decimal digit family. An empty string means "0".
  std::string zero_digit = "0";         // Default: "0"
  std::string digit = "#";              // Default: "#"
  std::string pattern_separator = ";";  // Default: ";"

  // Sets the property with the XPath/JSONata name `name` ("decimal-separator",
  // "grouping-separator", "exponent-separator", "minus-sign", "infinity",
  // "NaN", "percent", "per-mille", "zero-digit", "digit",
  // "pattern-separator"). Returns false, changing nothing, for any other
  // name; jsonata-js ignores unknown option names, and so may the caller.
  bool Set(absl::string_view name, absl::string_view value);
};

// $formatNumber(value, picture, options): formats `value` with an XPath
// format-number picture such as "#,##0.00", "0.0e0", "#%" or
// "#,##0;(#,##0)". NaN gives format.nan; an infinite value gives the
// sub-picture's prefix, format.infinity and its suffix.
//
// Returns the formatted text, or kInvalidArgument with code:
//   D3080  more than two sub-pictures
//   D3081  more than one decimal separator in a sub-picture
//   D3082  more than one percent sign
//   D3083  more than one per-mille sign
//   D3084  both a percent and a per-mille sign
//   D3085  no digit in the mantissa part
//   D3086  a passive character between active ones
//   D3087  a grouping separator next to the decimal separator
//   D3088  a grouping separator ending the integer part
//   D3089  two adjacent grouping separators
//   D3090  an optional digit after a mandatory digit in the integer part
//   D3091  a mandatory digit after an optional digit in the fraction part
//   D3092  an exponent together with a percent or per-mille sign
//   D3093  an exponent part that is empty or holds a non-digit
// When a sub-picture has several faults the code is that of the last check in
// this order, as in jsonata-js.
absl::StatusOr<std::string> FormatNumber(double value,
                                         absl::string_view picture,
                                         const DecimalFormat& format);

// $formatInteger(value, picture): formats floor(value) with an XPath
// format-integer picture:
//   "0", "0001", "#,##0", "١", "０"   decimal digit pattern (any one decimal
//                                     digit family; grouping separators are
//                                     the other characters)
//   "a" / "A"                         spreadsheet letters: 1 a, 26 z, 27 aa
//   "i" / "I"                         roman numerals (0 gives "")
//   "w" / "W" / "Ww"                  English words: lower, UPPER, Title
// followed by an optional ";o" for ordinals ("1st", "twenty-first") or ";c"
// for cardinals (the default). Negative values get a leading '-'.
//
// Returns the text, or:
//   kInvalidArgument D3130  a picture that is none of the above (e.g. "#",
//                           "α"): numbering sequences are not supported
//   kInvalidArgument D3131  digits from two decimal digit families
//   kInvalidArgument D3001  `value` is NaN or infinite
//   kOutOfRange EXPR_FORMAT_TOO_LARGE  roman numerals above kMaxRomanValue
absl::StatusOr<std::string> FormatInteger(double value,
                                          absl::string_view picture);

// The largest magnitude FormatInteger writes as roman numerals (each 1000 is
// one 'M'); jsonata-js runs out of stack at around this size.
inline constexpr double kMaxRomanValue = 10'000'000;

// $parseInteger(text, picture): the inverse of FormatInteger for the same
// picture. A leading '-' negates (any format). Decimal patterns accept the
// picture's digit family, its grouping separators anywhere after the first
// digit, and with ";o" a required "st"/"nd"/"rd"/"th" suffix (not checked
// against the number).
// Words are case-insensitive and separated by ", ", " and ", spaces or '-';
// letters and roman numerals must have the picture's case, and "" parses as 0
// for them, as jsonata-js does.
//
// Returns the value; std::nullopt when `text` does not match the picture; or
// kInvalidArgument D3130 / D3131 for the pictures FormatInteger rejects.
absl::StatusOr<std::optional<double>> ParseInteger(absl::string_view text,
                                                   absl::string_view picture);

}  // namespace retrace::expr::format

#endif  // RETRACE_EXPR_FORMAT_FORMAT_H_
