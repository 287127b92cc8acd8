// Fast formatting of event times for the read-model writer, which formats two
// or three per event. Each function matches a slower reference exactly
// (timestamps_test compares them over random times) and falls back to it
// outside the common range.
//
// Thread safety: pure functions.
#ifndef RETRACE_PROJECTION_INTERNAL_TIMESTAMPS_H_
#define RETRACE_PROJECTION_INTERNAL_TIMESTAMPS_H_

#include <cstdint>
#include <string>

#include "google/protobuf/timestamp.pb.h"

namespace retrace::projection::internal {

// Appends history::FormatTimestamp(ts): "2026-01-02T03:04:05.000Z".
void AppendTimestamp(const google::protobuf::Timestamp& ts, std::string* out);
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);

// Appends the timestamp as protobuf's JSON printer writes it:
// "2026-01-02T03:04:05Z" with 0, 3, 6 or 9 fractional digits. Returns false
// (and appends nothing) where the printer fails: seconds outside
// 0001-01-01..9999-12-31 or nanos outside [0, 1e9).
bool AppendProtoJsonTimestamp(int64_t seconds, int32_t nanos, std::string* out);

// Milliseconds since the epoch, as absl::ToUnixMillis(history::ToTime(ts)).
int64_t UnixMillis(const google::protobuf::Timestamp& ts);

}  // namespace retrace::projection::internal

#endif  // RETRACE_PROJECTION_INTERNAL_TIMESTAMPS_H_
