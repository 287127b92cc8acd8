// Builds engine errors: a non-OK absl::Status whose stable code string is the
// JSONata error code (e.g. "T2001") or an EXPR_* code, and whose message names
// the character position in the source.
#ifndef RETRACE_EXPR_INTERNAL_ERRORS_H_
#define RETRACE_EXPR_INTERNAL_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status.h"

namespace retrace::expr::internal {

// A JSONata language error at `position` (0 when unknown).
inline absl::Status LangError(absl::string_view code, int position,
                              absl::string_view message) {
  absl::StatusCode status_code = absl::StatusCode::kInvalidArgument;
  if (code == "U1001") status_code = absl::StatusCode::kResourceExhausted;
  return retrace::Error(status_code, code,
                        absl::StrCat(message, " (at position ", position, ")"));
}

}  // namespace retrace::expr::internal

#endif  // RETRACE_EXPR_INTERNAL_ERRORS_H_
