// The `details` column of an execution_logs row: the event as the readable
// JSON of a history-file line (history::EventToJson: protobuf JSON field
// names, JSON payloads inlined as "json"), masked (projection/masking.h) and
// written as expr::ToJson writes JSON.
//
// ExecutionLogDetails(e) equals MaskJson(EventToJson(e)) byte for byte
// (log_details_test compares them over every event type, the golden
// histories and payload edge cases), but writes the event in one pass from
// the message instead of printing it through protobuf's JSON printer,
// re-parsing it and walking it again: the writer spends most of its time
// here. Shapes the one pass does not handle (invalid UTF-8, timestamps out
// of RFC 3339's range, non-finite numbers, unknown enum numbers, repeated keys
// or very deep nesting in a payload) take the reference path.
//
// One difference, deliberate: the keys of a payload's metadata map are
// written sorted; protobuf's printer writes them in hash order.
//
//   std::string details = ExecutionLogDetails(event);
//
// Thread safety: pure functions.
#ifndef RETRACE_PROJECTION_LOG_DETAILS_H_
#define RETRACE_PROJECTION_LOG_DETAILS_H_

#include <string>

#include "history/history.pb.h"

namespace retrace::projection {

std::string ExecutionLogDetails(const history::HistoryEvent& event);

// The one pass alone: appends the details to `out` and returns true, or
// returns false (with `out` in an unspecified state) for a shape left to the
// reference path. For tests.
bool AppendExecutionLogDetails(const history::HistoryEvent& event,
                               std::string* out);

// The reference: MaskJson(EventToJson(event)), or the masked one-line
// summary when the event cannot be printed as JSON.
std::string ExecutionLogDetailsReference(const history::HistoryEvent& event);

}  // namespace retrace::projection

#endif  // RETRACE_PROJECTION_LOG_DETAILS_H_
