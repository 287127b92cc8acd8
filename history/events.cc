#include "history/events.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"

namespace retrace::history {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void WalkPayloads(
    const Message& message, std::string& path,
    absl::FunctionRef<void(absl::string_view, const Payload&)> fn) {
  if (message.GetDescriptor() == Payload::descriptor()) {
    fn(path, static_cast<const Payload&>(message));
    return;
  }
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_map()) continue;  // maps hold strings in this schema
    size_t old_size = path.size();
    if (!path.empty()) path += '.';
    path += field->name();
    if (field->is_repeated()) {
      int n = reflection->FieldSize(message, field);
      for (int i = 0; i < n; ++i) {
        size_t before_index = path.size();
        absl::StrAppend(&path, "[", i, "]");
        WalkPayloads(reflection->GetRepeatedMessage(message, field, i), path,
                     fn);
        path.resize(before_index);
      }
    } else {
      WalkPayloads(reflection->GetMessage(message, field), path, fn);
    }
    path.resize(old_size);
  }
}

// At most `max` bytes of `s` on one line.
std::string Clip(absl::string_view s, size_t max = 60) {
  std::string out(s.substr(0, max));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string PayloadText(const Payload& p) {
  if (IsJson(p)) return Clip(p.data());
  return absl::StrCat("<", p.data().size(), " bytes>");
}

}  // namespace

absl::string_view EventTypeName(const HistoryEvent& event) {
  static const google::protobuf::OneofDescriptor* oneof =
      HistoryEvent::descriptor()->FindOneofByName("attributes");
  const FieldDescriptor* field =
      HistoryEvent::GetReflection()->GetOneofFieldDescriptor(event, oneof);
  if (field == nullptr) return "unset";
  return field->name();
}

RunStatus StatusAfter(const HistoryEvent& event, RunStatus before) {
  switch (event.attributes_case()) {
    case HistoryEvent::kRunStarted:
    case HistoryEvent::kRunRetried:
      return RUN_STATUS_RUNNING;
    case HistoryEvent::kRunCompleted:
      return RUN_STATUS_COMPLETED;
    case HistoryEvent::kRunFailed:
      return RUN_STATUS_FAILED;
    case HistoryEvent::kRunCanceled:
      return RUN_STATUS_CANCELED;
    case HistoryEvent::kRunTerminated:
      return RUN_STATUS_TERMINATED;
    case HistoryEvent::kRunContinuedAsNew:
      return RUN_STATUS_CONTINUED_AS_NEW;
    default:
      return before == RUN_STATUS_UNSPECIFIED ? RUN_STATUS_RUNNING : before;
  }
}

bool IsFinal(RunStatus status) {
  return status == RUN_STATUS_COMPLETED || status == RUN_STATUS_CANCELED ||
         status == RUN_STATUS_TERMINATED ||
         status == RUN_STATUS_CONTINUED_AS_NEW;
}

absl::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RUN_STATUS_RUNNING:
      return "RUNNING";
    case RUN_STATUS_COMPLETED:
      return "COMPLETED";
    case RUN_STATUS_FAILED:
      return "FAILED";
    case RUN_STATUS_CANCELED:
      return "CANCELED";
    case RUN_STATUS_TERMINATED:
      return "TERMINATED";
    case RUN_STATUS_CONTINUED_AS_NEW:
      return "CONTINUED_AS_NEW";
    default:
      return "UNSPECIFIED";
  }
}

void ForEachPayload(
    const HistoryEvent& event,
    absl::FunctionRef<void(absl::string_view, const Payload&)> fn) {
  std::string path;
  WalkPayloads(event, path, fn);
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Timestamp FromTime(absl::Time time) {
  google::protobuf::Timestamp ts;
  int64_t nanos = absl::ToUnixNanos(time);
  int64_t seconds = nanos / 1000000000;
  int32_t rem = static_cast<int32_t>(nanos % 1000000000);
  if (rem < 0) {
    rem += 1000000000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(rem);
  return ts;
}

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime(kTimestampFormat, t, absl::UTCTimeZone());
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  return FormatTimestamp(ToTime(ts));
}

Payload JsonPayload(absl::string_view json) {
  Payload p;
  (*p.mutable_metadata())[std::string(kEncodingKey)] =
      std::string(kEncodingJson);
  p.set_data(std::string(json));
  return p;
}

Payload BinaryPayload(absl::string_view bytes) {
  Payload p;
  (*p.mutable_metadata())[std::string(kEncodingKey)] =
      std::string(kEncodingBinary);
  p.set_data(std::string(bytes));
  return p;
}

bool IsJson(const Payload& payload) {
  auto it = payload.metadata().find(std::string(kEncodingKey));
  return it != payload.metadata().end() && it->second == kEncodingJson;
}

std::string Summarize(const HistoryEvent& e) {
  std::vector<std::string> parts;
  auto add = [&parts](absl::string_view key, const auto& value) {
    std::string v = absl::StrCat(value);
    if (!v.empty() && v != "0") parts.push_back(absl::StrCat(key, "=", v));
  };
  auto add_failure = [&](const Failure& f) {
    add("code", f.code());
    if (!f.message().empty()) add("message", Clip(f.message()));
    if (f.non_retryable()) parts.push_back("non_retryable");
    add("retry_after_ms", f.retry_after_ms());
  };
  switch (e.attributes_case()) {
    case HistoryEvent::kRunStarted: {
      const auto& a = e.run_started();
      add("workflow", a.workflow());
      add("version", a.version());
      add("attempt", a.attempt());
      add("input", PayloadText(a.input()));
      add("continued_from", a.continued_from_run_id());
      add("trigger", a.trigger_event_id());
      break;
    }
    case HistoryEvent::kStepScheduled: {
      const auto& a = e.step_scheduled();
      add("step", a.step_id());
      add("action", a.action());
      add("attempt", a.attempt());
      add("input", PayloadText(a.input()));
      if (!a.decisions().empty()) {
        add("decisions", absl::StrJoin(a.decisions(), ","));
      }
      break;
    }
    case HistoryEvent::kStepStarted:
      add("step", e.step_started().step_id());
      add("attempt", e.step_started().attempt());
      add("worker", e.step_started().worker_id());
      break;
    case HistoryEvent::kStepCompleted:
      add("step", e.step_completed().step_id());
      add("attempt", e.step_completed().attempt());
      add("output", PayloadText(e.step_completed().output()));
      break;
    case HistoryEvent::kStepFailed:
      add("step", e.step_failed().step_id());
      add("attempt", e.step_failed().attempt());
      add_failure(e.step_failed().failure());
      break;
    case HistoryEvent::kStepTimedOut:
      add("step", e.step_timed_out().step_id());
      add("attempt", e.step_timed_out().attempt());
      add("timeout", TimeoutType_Name(e.step_timed_out().timeout_type()));
      break;
    case HistoryEvent::kTimerStarted:
      add("timer", e.timer_started().timer_id());
      add("step", e.timer_started().step_id());
      add("fire_at", absl::FormatTime(absl::RFC3339_full,
                                      ToTime(e.timer_started().fire_at()),
                                      absl::UTCTimeZone()));
      add("purpose", TimerPurpose_Name(e.timer_started().purpose()));
      break;
    case HistoryEvent::kTimerFired:
      add("timer", e.timer_fired().timer_id());
      break;
    case HistoryEvent::kTimerCanceled:
      add("timer", e.timer_canceled().timer_id());
      break;
    case HistoryEvent::kWaitStarted:
      add("wait", e.wait_started().wait_id());
      add("event", e.wait_started().event_name());
      add("key", e.wait_started().correlation_key());
      break;
    case HistoryEvent::kSignalReceived:
      add("signal", e.signal_received().signal_id());
      add("event", e.signal_received().event_name());
      add("key", e.signal_received().correlation_key());
      add("payload", PayloadText(e.signal_received().payload()));
      break;
    case HistoryEvent::kWaitTimedOut:
      add("wait", e.wait_timed_out().wait_id());
      break;
    case HistoryEvent::kHumanTaskCreated:
      add("task", e.human_task_created().task_id());
      add("title", e.human_task_created().title());
      add("assignee", e.human_task_created().assignee());
      break;
    case HistoryEvent::kHumanTaskCompleted:
      add("task", e.human_task_completed().task_id());
      add("by", e.human_task_completed().completed_by());
      add("result", PayloadText(e.human_task_completed().result()));
      break;
    case HistoryEvent::kMarkerRecorded:
      add("marker", e.marker_recorded().name());
      add("step", e.marker_recorded().step_id());
      break;
    case HistoryEvent::kCancelRequested:
      add("reason", e.cancel_requested().reason());
      add("by", e.cancel_requested().identity());
      break;
    case HistoryEvent::kRunCompleted:
      add("reason", e.run_completed().completion_reason());
      add("output", PayloadText(e.run_completed().output()));
      break;
    case HistoryEvent::kRunFailed:
      add("step", e.run_failed().step_id());
      add_failure(e.run_failed().failure());
      break;
    case HistoryEvent::kRunCanceled:
      add("reason", e.run_canceled().reason());
      add("by", e.run_canceled().identity());
      break;
    case HistoryEvent::kRunTerminated:
      add("reason", e.run_terminated().reason());
      add("by", e.run_terminated().identity());
      break;
    case HistoryEvent::kRunContinuedAsNew:
      add("new_run", e.run_continued_as_new().new_run_id());
      break;
    case HistoryEvent::kRunRetried:
      add("from_step", e.run_retried().from_step_id());
      add("reason", e.run_retried().reason());
      break;
    case HistoryEvent::ATTRIBUTES_NOT_SET:
      break;
  }
  return absl::StrJoin(parts, " ");
}

}  // namespace retrace::history
