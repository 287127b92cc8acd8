// The one place where the rules of a well-formed history are enforced: used by
// every HistoryStore implementation on append and by history file import.
//
// Rules (docs/history-format.md):
//   - identifiers (namespace, run id) are 1..255 bytes of UTF-8 with no
//     control bytes;
//   - event ids are dense and 1-based; event 1 is run_started, and run_started
//     appears nowhere else;
//   - every event has attributes and an event_time, and times never decrease;
//   - no event follows a run's end (completed, canceled, terminated,
//     continued-as-new); after run_failed only run_retried may follow;
//   - no Payload is larger than StoreOptions::max_payload_bytes.
//
// Thread safety: HistoryValidator is not thread-safe; the functions are pure.
#ifndef RETRACE_HISTORY_VALIDATION_H_
#define RETRACE_HISTORY_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "history/history.pb.h"
#include "history/history_store.h"

namespace retrace::history {

inline constexpr size_t kMaxIdentifierBytes = 255;

// OK, or kInvalidArgument / INVALID_IDENTIFIER naming `what` ("namespace",
// "run id") and the problem.
absl::Status ValidateIdentifier(absl::string_view what,
                                absl::string_view value);

// Validates events one at a time as they would extend a run, and tracks the
// RunInfo they lead to.
//
//   HistoryValidator v(existing_info_or_new, options);
//   for (const auto& e : events) RETURN_IF_ERROR(v.Add(e));
//   RunInfo updated = v.info();
class HistoryValidator {
 public:
  // `info` is the run as stored; for a new run, a RunInfo with namespace and
  // run id set and next_event_id 1 (NewRunInfo).
  HistoryValidator(RunInfo info, int64_t max_payload_bytes)
      : info_(std::move(info)), max_payload_bytes_(max_payload_bytes) {}

  // Checks `event` and, when it is valid, advances info(). Returns
  // kInvalidArgument (INVALID_EVENT, INVALID_EVENT_ID, EVENT_TIME_REGRESSED,
  // INVALID_EVENT_ORDER, PAYLOAD_TOO_LARGE) or kFailedPrecondition
  // (RUN_ALREADY_TERMINAL); on failure info() is unchanged.
  absl::Status Add(const HistoryEvent& event);

  const RunInfo& info() const { return info_; }

 private:
  // Takes `event` (valid) into info_.
  void Advance(const HistoryEvent& event);

  RunInfo info_;
  int64_t max_payload_bytes_;
};

// The RunInfo of a run that has no events yet.
RunInfo NewRunInfo(absl::string_view ns, absl::string_view run_id);

// Checks a whole AppendRequest against the run's stored info (nullptr when
// the run does not exist) and returns the RunInfo after it. Fails with
// HISTORY_CONFLICT (kAborted) on a stale expected_next_event_id, otherwise as
// ValidateIdentifier and HistoryValidator::Add.
absl::StatusOr<RunInfo> ValidateAppend(const RunInfo* stored,
                                       const AppendRequest& request,
                                       const StoreOptions& options);

}  // namespace retrace::history

#endif  // RETRACE_HISTORY_VALIDATION_H_
