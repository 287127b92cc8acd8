// Masking of execution-log details (docs/projections.md#masking).
//
// Rules, applied to every string in a JSON document:
//   - values under keys named like a secret (case-insensitive substrings
//     "password", "passwd", "secret", "token", "api_key", "apikey",
//     "api-key", "authorization", "credential", "private_key") become "***",
//     whole subtrees included (numbers and booleans too; null stays null);
//   - values that look like credentials anywhere ("Bearer ...", "Basic ...",
//     "sk_live_...", "ghp_...", "AKIA..." and long opaque tokens of 32+
//     letters/digits/_- with both letters and digits) become "***";
//   - e-mail addresses keep their first character and domain:
//     "jane.doe@example.com" -> "j***@example.com".
// Text that is not JSON is masked as one string.
//
//   MaskJson(R"({"to":"jane@example.com","password":"x"})")
//     == R"({"to":"j***@example.com","password":"***"})"
//
// Thread safety: pure functions.
#ifndef RETRACE_PROJECTION_MASKING_H_
#define RETRACE_PROJECTION_MASKING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace retrace::projection {

// The JSON document with every string masked, written as expr::ToJson writes
// it (compact, keys in document order; a repeated key keeps its first
// position and its last value).
std::string MaskJson(absl::string_view json);

// Masks one string value (e-mails, credential-looking text).
std::string MaskText(absl::string_view text);

// Only the e-mail rule: every address in `text` keeps its first character
// and its domain.
std::string MaskEmails(absl::string_view text);

// True when values under `key` are secrets (the key rule above).
bool IsSecretKey(absl::string_view key);

// True when `text` as a whole looks like a credential (the second rule).
bool LooksLikeCredential(absl::string_view text);

}  // namespace retrace::projection

#endif  // RETRACE_PROJECTION_MASKING_H_
