#include "history/test_events.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "history/events.h"

namespace retrace::history::testing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void Fill(Message* m, int64_t id, int depth) {
  const Descriptor* d = m->GetDescriptor();
  const Reflection* r = m->GetReflection();
  if (d == Payload::descriptor()) {
    *static_cast<Payload*>(m) =
        JsonPayload(absl::StrCat("{\"n\":", id, ",\"s\":\"x\"}"));
    return;
  }
  if (d == google::protobuf::Timestamp::descriptor()) {
    *static_cast<google::protobuf::Timestamp*>(m) =
        FromTime(TestTime(3600 * 1000 + id));
    return;
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map()) continue;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        if (f->is_repeated()) {
          r->AddString(m, f, absl::StrCat(f->name(), "-", id));
        } else {
          r->SetString(m, f, absl::StrCat(f->name(), "-", id));
        }
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(m, f, static_cast<int32_t>(id % 1000 + 1));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(m, f, id * 10);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(m, f, 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(id));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(m, f, 1.5);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(m, f, true);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(m, f, f->enum_type()->value_count() - 1);
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 3) {
          Message* child =
              f->is_repeated() ? r->AddMessage(m, f) : r->MutableMessage(m, f);
          Fill(child, id, depth + 1);
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace

absl::Time TestTime(int64_t offset_ms) {
  return absl::FromUnixSeconds(1767323045) + absl::Milliseconds(offset_ms);
}

std::vector<int> AllEventTypes() {
  std::vector<int> types;
  const auto* oneof = HistoryEvent::descriptor()->FindOneofByName("attributes");
  for (int i = 0; i < oneof->field_count(); ++i) {
    types.push_back(oneof->field(i)->number());
  }
  return types;
}

HistoryEvent MakeEvent(int64_t id, absl::Time time, int type) {
  HistoryEvent event;
  event.set_event_id(id);
  *event.mutable_event_time() = FromTime(time);
  const FieldDescriptor* f =
      HistoryEvent::descriptor()->FindFieldByNumber(type);
  Fill(event.GetReflection()->MutableMessage(&event, f), id, 0);
  return event;
}

HistoryEvent RunStarted(int64_t id, absl::Time time,
                        absl::string_view workflow) {
  HistoryEvent e;
  e.set_event_id(id);
  *e.mutable_event_time() = FromTime(time);
  auto* a = e.mutable_run_started();
  a->set_workflow(std::string(workflow));
  a->set_version("1");
  a->set_attempt(1);
  *a->mutable_input() = JsonPayload("{\"order\":17}");
  return e;
}

HistoryEvent StepCompleted(int64_t id, absl::Time time,
                           absl::string_view step_id,
                           absl::string_view output_json) {
  HistoryEvent e;
  e.set_event_id(id);
  *e.mutable_event_time() = FromTime(time);
  auto* a = e.mutable_step_completed();
  a->set_step_id(std::string(step_id));
  a->set_attempt(1);
  a->set_scheduled_event_id(id - 1);
  *a->mutable_output() = JsonPayload(output_json);
  return e;
}

HistoryEvent RunCompleted(int64_t id, absl::Time time) {
  HistoryEvent e;
  e.set_event_id(id);
  *e.mutable_event_time() = FromTime(time);
  e.mutable_run_completed()->set_completion_reason("completed");
  *e.mutable_run_completed()->mutable_output() = JsonPayload("true");
  return e;
}

std::vector<HistoryEvent> SimpleHistory(int n, absl::Time start) {
  std::vector<HistoryEvent> events;
  events.push_back(RunStarted(1, start));
  for (int i = 2; i <= n; ++i) {
    events.push_back(StepCompleted(i, start + absl::Milliseconds(i),
                                   absl::StrCat("step", i),
                                   absl::StrCat("{\"i\":", i, "}")));
  }
  return events;
}

}  // namespace retrace::history::testing
