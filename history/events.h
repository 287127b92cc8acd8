// Small facts about HistoryEvents shared by the store, history files and tools.
//
// Thread safety: all functions are pure.
#ifndef RETRACE_HISTORY_EVENTS_H_
#define RETRACE_HISTORY_EVENTS_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "history/history.pb.h"

namespace retrace::history {

// The event's type as its snake_case attributes name ("run_started",
// "step_completed", ...), or "unset" when no attributes are set.
absl::string_view EventTypeName(const HistoryEvent& event);

// The run status a run has after `event`: kRunning for events that do not end
// a run (and for run_retried), the terminal status for run_completed,
// run_failed, run_canceled, run_terminated and run_continued_as_new.
RunStatus StatusAfter(const HistoryEvent& event, RunStatus before);

// True for statuses no further event may follow (RUN_STATUS_FAILED is not
// one: a failed run may be retried).
bool IsFinal(RunStatus status);

// The stable name of a status: "RUNNING", "COMPLETED", ...
absl::string_view RunStatusName(RunStatus status);

// Calls fn(path, payload) for every Payload the event carries, with `path`
// naming its field ("step_completed.output", "step_failed.failure.details").
void ForEachPayload(
    const HistoryEvent& event,
    absl::FunctionRef<void(absl::string_view path, const Payload& payload)> fn);

// How times are shown everywhere (timelines, logs, read models, state):
// RFC 3339 in UTC with milliseconds, "2026-01-02T03:04:05.000Z".
inline constexpr char kTimestampFormat[] = "%Y-%m-%dT%H:%M:%E3SZ";
std::string FormatTimestamp(absl::Time t);
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);

// Conversions between protobuf Timestamps and absl::Time.
absl::Time ToTime(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp FromTime(absl::Time time);

// A one-line, human-readable summary of the event's key attributes
// (e.g. `step=charge action=payments.charge attempt=2`), for timelines.
std::string Summarize(const HistoryEvent& event);

// Payload helpers. JsonPayload sets metadata encoding "json/plain".
inline constexpr absl::string_view kEncodingKey = "encoding";
inline constexpr absl::string_view kEncodingJson = "json/plain";
inline constexpr absl::string_view kEncodingBinary = "binary/plain";
Payload JsonPayload(absl::string_view json);
Payload BinaryPayload(absl::string_view bytes);
bool IsJson(const Payload& payload);

}  // namespace retrace::history

#endif  // RETRACE_HISTORY_EVENTS_H_
