#include "history/validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "history/events.h"

namespace retrace::history {
namespace {

absl::Status Invalid(absl::string_view code, absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, code, message);
}

// Timestamps protobuf can represent: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

}  // namespace

absl::Status ValidateIdentifier(absl::string_view what,
                                absl::string_view value) {
  if (value.empty()) {
    return Invalid("INVALID_IDENTIFIER", absl::StrCat(what, " is empty"));
  }
  if (value.size() > kMaxIdentifierBytes) {
    return Invalid("INVALID_IDENTIFIER",
                   absl::StrCat(what, " is ", value.size(), " bytes, limit ",
                                kMaxIdentifierBytes));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      return Invalid(
          "INVALID_IDENTIFIER",
          absl::StrCat(what, " has control byte 0x",
                       absl::Hex(c, absl::kZeroPad2), " at offset ", i));
    }
  }
  // Identifiers are protobuf string fields (RunInfo, events): protobuf does
  // not parse back one that is not UTF-8.
  if (!IsValidUtf8(value)) {
    return Invalid("INVALID_IDENTIFIER",
                   absl::StrCat(what, " is not valid UTF-8"));
  }
  return absl::OkStatus();
}

RunInfo NewRunInfo(absl::string_view ns, absl::string_view run_id) {
  RunInfo info;
  info.set_namespace_(std::string(ns));
  info.set_run_id(std::string(run_id));
  info.set_next_event_id(1);
  return info;
}

absl::Status HistoryValidator::Add(const HistoryEvent& event) {
  const int64_t id = event.event_id();
  // Built only for an error message.
  auto where = [&] {
    return absl::StrCat("run ", info_.namespace_(), "/", info_.run_id(),
                        " event ", id, " (", EventTypeName(event), ")");
  };
  if (id != info_.next_event_id()) {
    return Invalid(
        "INVALID_EVENT_ID",
        absl::StrCat("run ", info_.namespace_(), "/", info_.run_id(),
                     ": event has id ", id, ", expected ",
                     info_.next_event_id(), " (ids are dense and start at 1)"));
  }
  if (event.attributes_case() == HistoryEvent::ATTRIBUTES_NOT_SET) {
    return Invalid("INVALID_EVENT",
                   absl::StrCat(where(), ": no attributes set"));
  }
  if (!event.has_event_time()) {
    return Invalid("INVALID_EVENT", absl::StrCat(where(), ": no event_time"));
  }
  const auto& ts = event.event_time();
  if (ts.seconds() < kMinSeconds || ts.seconds() > kMaxSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999999999) {
    return Invalid("INVALID_EVENT",
                   absl::StrCat(where(), ": event_time out of range"));
  }
  if (info_.has_last_event_time() &&
      ToTime(ts) < ToTime(info_.last_event_time())) {
    return Invalid(
        "EVENT_TIME_REGRESSED",
        absl::StrCat(where(), ": event_time ",
                     absl::FormatTime(ToTime(ts), absl::UTCTimeZone()),
                     " is before the previous event's ",
                     absl::FormatTime(ToTime(info_.last_event_time()),
                                      absl::UTCTimeZone())));
  }
  const bool is_start = event.has_run_started();
  if (id == 1 && !is_start) {
    return Invalid(
        "INVALID_EVENT_ORDER",
        absl::StrCat(where(), ": the first event must be run_started"));
  }
  if (id != 1 && is_start) {
    return Invalid("INVALID_EVENT_ORDER",
                   absl::StrCat(where(), ": run_started may only be event 1"));
  }
  if (IsFinal(info_.status())) {
    return Error(absl::StatusCode::kFailedPrecondition, "RUN_ALREADY_TERMINAL",
                 absl::StrCat(where(), ": the run has ended with status ",
                              RunStatusName(info_.status())));
  }
  if (info_.status() == RUN_STATUS_FAILED && !event.has_run_retried()) {
    return Error(absl::StatusCode::kFailedPrecondition, "RUN_ALREADY_TERMINAL",
                 absl::StrCat(where(),
                              ": the run has failed; only run_retried may "
                              "follow run_failed"));
  }
  // A payload's bytes are part of its event's: only an event larger than
  // the limit can hold a payload over it (walking the payloads is slow).
  if (static_cast<int64_t>(event.ByteSizeLong()) <= max_payload_bytes_) {
    Advance(event);
    return absl::OkStatus();
  }
  absl::Status payload_status;
  ForEachPayload(event, [&](absl::string_view path, const Payload& payload) {
    if (!payload_status.ok()) return;
    int64_t size = static_cast<int64_t>(payload.data().size());
    if (size > max_payload_bytes_) {
      payload_status =
          Invalid("PAYLOAD_TOO_LARGE",
                  absl::StrCat(where(), ": payload ", path, " is ", size,
                               " bytes, limit ", max_payload_bytes_, " bytes"));
    }
  });
  RETURN_IF_ERROR(payload_status);
  Advance(event);
  return absl::OkStatus();
}

void HistoryValidator::Advance(const HistoryEvent& event) {
  const auto& ts = event.event_time();
  if (event.has_run_started()) {
    info_.set_workflow(event.run_started().workflow());
    info_.set_version(event.run_started().version());
    *info_.mutable_start_time() = ts;
  }
  info_.set_status(StatusAfter(event, info_.status()));
  info_.set_next_event_id(event.event_id() + 1);
  *info_.mutable_last_event_time() = ts;
}

absl::StatusOr<RunInfo> ValidateAppend(const RunInfo* stored,
                                       const AppendRequest& request,
                                       const StoreOptions& options) {
  RETURN_IF_ERROR(ValidateIdentifier("namespace", request.ns));
  RETURN_IF_ERROR(ValidateIdentifier("run id", request.run_id));
  const int64_t actual_next = stored ? stored->next_event_id() : 1;
  if (request.expected_next_event_id != actual_next) {
    return Error(
        absl::StatusCode::kAborted, "HISTORY_CONFLICT",
        absl::StrCat("run ", request.ns, "/", request.run_id,
                     ": expected next event id ",
                     request.expected_next_event_id,
                     ", but the history's next event id is ", actual_next));
  }
  if (request.events.empty()) {
    return Invalid("INVALID_EVENT",
                   absl::StrCat("run ", request.ns, "/", request.run_id,
                                ": an append needs at least one event"));
  }
  HistoryValidator validator(
      stored ? *stored : NewRunInfo(request.ns, request.run_id),
      options.max_payload_bytes);
  for (const HistoryEvent& event : request.events) {
    RETURN_IF_ERROR(validator.Add(event));
  }
  return validator.info();
}

}  // namespace retrace::history
