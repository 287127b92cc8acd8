// Durations in workflow definitions: "500ms", "90s", "15m", "2h", "30d", and
// sums of them ("1h30m"). Units: ms, s, m, h, d. A bare number is not a
// duration (ambiguous); "0s" is zero.
//
// Thread safety: pure functions.
#ifndef RETRACE_RUNTIME_DURATION_H_
#define RETRACE_RUNTIME_DURATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace retrace::runtime {

// Parses `text`. Fails with kInvalidArgument / INVALID_DURATION saying what is
// wrong (empty, unknown unit, negative, overflow).
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// The shortest canonical spelling: "1h30m", "250ms", "0s".
std::string DurationToString(absl::Duration d);

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_DURATION_H_
