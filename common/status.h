// Stable, user-facing error codes on top of absl::Status.
//
// Every error a user can see carries two things: an absl::StatusCode that says
// what the caller should do (retry, fix state first, fix the input...) and a
// stable code string from docs/errors.md (e.g. "HISTORY_CONFLICT",
// "PAYLOAD_TOO_LARGE") that names what went wrong. The code string is stored
// as a status payload and also leads the message, so it survives logging and
// ToString() unchanged:
//
//   absl::Status s = retrace::Error(absl::StatusCode::kAborted,
//                                   "HISTORY_CONFLICT",
//                                   "run r1: expected next event id 4, is 6");
//   s.message()             == "HISTORY_CONFLICT: run r1: expected next ..."
//   retrace::ErrorCode(s)   == "HISTORY_CONFLICT"
//
// Thread safety: all functions are pure.
#ifndef RETRACE_COMMON_STATUS_H_
#define RETRACE_COMMON_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace retrace {

// The payload type URL under which the stable code string is stored.
inline constexpr absl::string_view kErrorCodeUrl = "retrace.dev/error-code";

// Returns a non-OK status with `code` (must not be kOk), the stable code string
// `error_code` and the message "<error_code>: <message>".
absl::Status Error(absl::StatusCode code, absl::string_view error_code,
                   absl::string_view message);

// Returns the stable code string of `status`, or "" when it has none (OK
// statuses and statuses not made by Error()).
std::string ErrorCode(const absl::Status& status);

// Returns `status` with `context + ": "` put in front of its message, keeping
// its code and code string. OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace retrace

#endif  // RETRACE_COMMON_STATUS_H_
