// Masking of execution-log details (docs/projections.md#masking).
//
// Rules, applied to every string in a JSON document:
//   - values under keys named like a secret (case-insensitive substrings
//     "password", "passwd", "secret", "token", "api_key", "apikey",
//     "authorization", "credential", "private_key") become "***";
//   - values that look like credentials anywhere ("Bearer ...", "Basic ...",
//     "sk_live_...", "ghp_...", "AKIA..." and long opaque tokens of 32+
//     letters/digits/_- with both letters and digits) become "***";
//   - e-mail addresses keep their first character and domain:
//     "jane.doe@example.com" -> "j***@example.com".
// Text that is not JSON is masked as one string.
//
// Thread safety: pure functions.
#ifndef RETRACE_PROJECTION_MASKING_H_
#define RETRACE_PROJECTION_MASKING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace retrace::projection {

std::string MaskJson(absl::string_view json);

// Masks one string value (e-mails, credential-looking text).
std::string MaskText(absl::string_view text);

}  // namespace retrace::projection

#endif  // RETRACE_PROJECTION_MASKING_H_
