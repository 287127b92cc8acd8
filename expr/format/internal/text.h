// Code-point text and JavaScript number rendering shared by the format
// functions. Internal to //expr/format.
//
// The format functions follow jsonata-js, whose results depend on how
// JavaScript prints numbers (Number.prototype.toString, toFixed) and on the
// half-to-even rounding of jsonata's $round. These helpers reproduce those
// exactly on IEEE doubles so the C++ results match byte for byte.
//
// Thread safety: all functions are pure.
#ifndef RETRACE_EXPR_FORMAT_INTERNAL_TEXT_H_
#define RETRACE_EXPR_FORMAT_INTERNAL_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace retrace::expr::format::internal {

// Decodes UTF-8 into code points. Each byte that does not start a valid,
// shortest-form sequence (and each surrogate) decodes to U+FFFD, so any input
// is accepted.
std::u32string DecodeUtf8(absl::string_view text);

// Encodes code points as UTF-8; surrogates and values above U+10FFFF are
// written as U+FFFD.
std::string EncodeUtf8(std::u32string_view text);

// The shortest decimal digits that round-trip `value` (finite, > 0):
// value == 0.<digits> * 10^point, e.g. 1234.5 -> {"12345", 4}.
struct ShortestDecimal {
  std::string digits;
  int point = 0;
};
ShortestDecimal ToShortestDecimal(double value);

// JavaScript's Number.prototype.toString() (radix 10): "NaN", "Infinity",
// "1e+21", "0.000001", "1.5e-7", "-12.5"...
std::string JsNumberToString(double value);

// JavaScript's Number.prototype.toFixed(digits) for value >= 0: the exact
// binary value rounded half away from zero to `digits` fraction digits, or
// JsNumberToString(value) when value >= 1e21 or not finite.
std::string JsToFixed(double value, int digits);

// jsonata's round(value, precision): half-to-even rounding at `precision`
// decimal places, shifting the decimal point in the shortest decimal form
// so that no binary multiplication error creeps in. -0 becomes 0. A shift that
// overflows (precision beyond ~300 digits) leaves `value` as it is.
double JsRoundHalfEven(double value, int precision);

}  // namespace retrace::expr::format::internal

#endif  // RETRACE_EXPR_FORMAT_INTERNAL_TEXT_H_
