// The analysed form of an XPath F&O 3.1 date/time picture string
// (§9.8.4.1): literal text and variable markers such as "[Y0001]",
// "[MNn,3-3]", "[Z01:01t]".
//
// Grammar (whitespace inside a marker is ignored):
//   picture  := (literal | "[[" | "]]" | marker)*
//   marker   := "[" component presentation? ("," width)? "]"
//   width    := min ("-" max)?      min, max := digits | "*"
//   presentation := first-modifier second-modifier?
//     first-modifier  := "N" | "n" | "Nn" | integer picture ("01", "w", "I")
//     second-modifier := "o" (ordinal) | "c" | "a" | "t"
//
//   ASSIGN_OR_RETURN(std::vector<PicturePart> parts,
//                    AnalyseDateTimePicture("[D1o] [MNn] [Y]"));
//
// Thread safety: all functions are pure.
#ifndef RETRACE_EXPR_DATETIME_INTERNAL_PICTURE_H_
#define RETRACE_EXPR_DATETIME_INTERNAL_PICTURE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "expr/datetime/internal/integer_picture.h"

namespace retrace::expr::datetime::internal {

struct Marker {
  // One of "YMDdFWwXxHhPmsfZzCE".
  char component = '\0';
  std::string presentation1;
  // 'o', 'c', 'a' or 't' when given.
  char presentation2 = '\0';
  // Set for the name presentations "N", "n", "Nn".
  std::optional<LetterCase> names;
  // Set for integer-valued components and for Z/z.
  std::optional<IntegerFormat> integer_format;
  // Width modifier; absent bounds are "*" or not given.
  bool has_width = false;
  std::optional<int> min_width;
  std::optional<int> max_width;
  // [Y] only: keep this many low-order digits of the year, -1 for all
  // (§9.8.4.4).
  int year_digits = -1;
};

struct PicturePart {
  bool is_literal = false;
  std::string literal;  // when is_literal
  Marker marker;        // otherwise
};

// Splits `picture` into literals and analysed markers.
// Errors (kInvalidArgument): D3135 a '[' without its ']'; D3132 an unknown or
// missing component specifier; D3131 a digit pattern mixing digit groups.
absl::StatusOr<std::vector<PicturePart>> AnalyseDateTimePicture(
    absl::string_view picture);

}  // namespace retrace::expr::datetime::internal

#endif  // RETRACE_EXPR_DATETIME_INTERNAL_PICTURE_H_
