// NDJSON event lines for `retrace signal ingest`:
//   {"id": "evt-1", "name": "payment.settled", "namespace": "default",
//    "payload": {...}, "correlation_key": "SO-1001",
//    "occurred_at": "2026-01-02T03:04:05Z"}
// id and name are required; namespace defaults to the command's; payload
// defaults to null; correlation_key may be a string or a number.
#ifndef RETRACE_SIGNALS_NDJSON_H_
#define RETRACE_SIGNALS_NDJSON_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "signals/event.h"

namespace retrace::signals {

struct LineLimits {
  // Longest line. Default: 4 MiB
  size_t max_line_bytes = 4 << 20;
};

// Parses one line. Errors (kInvalidArgument): EVENT_INVALID_JSON,
// EVENT_FIELD_MISSING, EVENT_FIELD_TYPE (also for a string field that is not
// valid UTF-8, e.g. through a lone surrogate escape), EVENT_LINE_TOO_LONG.
absl::StatusOr<Event> ParseEventLine(absl::string_view line,
                                     absl::string_view default_ns,
                                     const LineLimits& limits = {});

}  // namespace retrace::signals

#endif  // RETRACE_SIGNALS_NDJSON_H_
