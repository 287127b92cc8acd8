#include "runtime/run_driver.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "expr/value.h"
#include "history/events.h"

namespace retrace::runtime {
namespace {

using history::HistoryEvent;

// Payloads as a JSON library would write them: compact, so history files show
// them as readable JSON.
history::Payload Json(absl::string_view json) {
  absl::StatusOr<expr::Value> v = expr::ParseJson(json);
  return history::JsonPayload(v.ok() ? expr::ToJson(*v) : std::string(json));
}

absl::Status NothingOpen(absl::string_view what, absl::string_view id) {
  return Error(absl::StatusCode::kFailedPrecondition, "DRIVER_NOTHING_OPEN",
               absl::StrCat("no open ", what, " \"", id, "\""));
}

}  // namespace

RunDriver::RunDriver(std::shared_ptr<const Definition> definition,
                     std::string ns, std::string run_id, std::string input_json,
                     absl::Time start, const InterpreterOptions& options)
    : definition_(definition),
      input_json_(std::move(input_json)),
      now_(start),
      interpreter_(Interpreter::Create(definition, ns, run_id, options)),
      validator_(history::NewRunInfo(ns, run_id), options.max_payload_bytes) {
  history_.set_namespace_(std::move(ns));
  history_.set_run_id(std::move(run_id));
}

absl::Status RunDriver::Append(HistoryEvent event) {
  event.set_event_id(interpreter_->next_event_id());
  *event.mutable_event_time() = history::FromTime(now_);
  RETURN_IF_ERROR(validator_.Add(event));
  RETURN_IF_ERROR(interpreter_->Apply(event));
  *history_.add_events() = std::move(event);
  return absl::OkStatus();
}

absl::Status RunDriver::Input(HistoryEvent input) {
  RETURN_IF_ERROR(Append(std::move(input)));
  // Record what the interpreter decided, as the engine does.
  std::vector<HistoryEvent> commands = interpreter_->pending();
  for (HistoryEvent& command : commands) {
    if (command.has_run_continued_as_new()) {
      command.mutable_run_continued_as_new()->set_new_run_id(
          absl::StrCat(history_.run_id(), "-next"));
    }
    RETURN_IF_ERROR(Append(std::move(command)));
  }
  return absl::OkStatus();
}

absl::Status RunDriver::Start() {
  HistoryEvent e;
  auto* a = e.mutable_run_started();
  a->set_workflow(definition_->name);
  a->set_version(definition_->version);
  a->set_attempt(1);
  a->set_task_queue(definition_->task_queue);
  a->set_total_steps(definition_->total_top_level_steps());
  *a->mutable_input() = Json(input_json_);
  return Input(std::move(e));
}

bool RunDriver::IsClosed(const HistoryEvent& opened) const {
  const int64_t id = opened.event_id();
  for (const HistoryEvent& e : history_.events()) {
    if (e.event_id() <= id) continue;
    switch (e.attributes_case()) {
      case HistoryEvent::kStepCompleted:
        if (e.step_completed().scheduled_event_id() == id) return true;
        break;
      case HistoryEvent::kStepFailed:
        if (e.step_failed().scheduled_event_id() == id) return true;
        break;
      case HistoryEvent::kStepTimedOut:
        if (e.step_timed_out().scheduled_event_id() == id) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

const HistoryEvent* RunDriver::FindOpenStep(absl::string_view step_id) const {
  for (const HistoryEvent* e : OpenSteps()) {
    if (e->step_scheduled().step_id() == step_id) return e;
  }
  return nullptr;
}

std::vector<const HistoryEvent*> RunDriver::OpenSteps() const {
  std::vector<const HistoryEvent*> out;
  OpenWork open = interpreter_->open_work();
  for (const HistoryEvent& e : history_.events()) {
    if (e.has_step_scheduled() &&
        std::count(open.scheduled_event_ids.begin(),
                   open.scheduled_event_ids.end(), e.event_id())) {
      out.push_back(&e);
    }
  }
  return out;
}

std::vector<const HistoryEvent*> RunDriver::OpenTimers() const {
  std::vector<const HistoryEvent*> out;
  OpenWork open = interpreter_->open_work();
  for (const HistoryEvent& e : history_.events()) {
    if (e.has_timer_started() &&
        std::count(open.timer_ids.begin(), open.timer_ids.end(),
                   e.timer_started().timer_id())) {
      out.push_back(&e);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return history::ToTime(a->timer_started().fire_at()) <
           history::ToTime(b->timer_started().fire_at());
  });
  return out;
}

std::vector<const HistoryEvent*> RunDriver::OpenWaits() const {
  std::vector<const HistoryEvent*> out;
  OpenWork open = interpreter_->open_work();
  for (const HistoryEvent& e : history_.events()) {
    if (e.has_wait_started() &&
        std::count(open.wait_ids.begin(), open.wait_ids.end(),
                   e.wait_started().wait_id())) {
      out.push_back(&e);
    }
  }
  return out;
}

std::vector<const HistoryEvent*> RunDriver::OpenTasks() const {
  std::vector<const HistoryEvent*> out;
  OpenWork open = interpreter_->open_work();
  for (const HistoryEvent& e : history_.events()) {
    if (e.has_human_task_created() &&
        std::count(open.task_ids.begin(), open.task_ids.end(),
                   e.human_task_created().task_id())) {
      out.push_back(&e);
    }
  }
  return out;
}

absl::Status RunDriver::StartStep(absl::string_view step_id,
                                  absl::string_view worker) {
  const HistoryEvent* s = FindOpenStep(step_id);
  if (s == nullptr) return NothingOpen("step", step_id);
  HistoryEvent e;
  auto* a = e.mutable_step_started();
  a->set_scheduled_event_id(s->event_id());
  a->set_step_id(std::string(step_id));
  a->set_attempt(s->step_scheduled().attempt());
  a->set_worker_id(std::string(worker));
  a->set_lease_epoch(1);
  return Input(std::move(e));
}

absl::Status RunDriver::CompleteStep(absl::string_view step_id,
                                     absl::string_view output_json) {
  const HistoryEvent* s = FindOpenStep(step_id);
  if (s == nullptr) return NothingOpen("step", step_id);
  HistoryEvent e;
  auto* a = e.mutable_step_completed();
  a->set_scheduled_event_id(s->event_id());
  a->set_step_id(std::string(step_id));
  a->set_attempt(s->step_scheduled().attempt());
  a->set_worker_id("worker-1");
  *a->mutable_output() = Json(output_json);
  return Input(std::move(e));
}

absl::Status RunDriver::FailStep(absl::string_view step_id,
                                 absl::string_view code, bool non_retryable,
                                 int64_t retry_after_ms) {
  const HistoryEvent* s = FindOpenStep(step_id);
  if (s == nullptr) return NothingOpen("step", step_id);
  HistoryEvent e;
  auto* a = e.mutable_step_failed();
  a->set_scheduled_event_id(s->event_id());
  a->set_step_id(std::string(step_id));
  a->set_attempt(s->step_scheduled().attempt());
  a->set_worker_id("worker-1");
  a->mutable_failure()->set_code(std::string(code));
  a->mutable_failure()->set_message(absl::StrCat(code, " from test"));
  a->mutable_failure()->set_non_retryable(non_retryable);
  a->mutable_failure()->set_retry_after_ms(retry_after_ms);
  return Input(std::move(e));
}

absl::Status RunDriver::TimeOutStep(absl::string_view step_id) {
  const HistoryEvent* s = FindOpenStep(step_id);
  if (s == nullptr) return NothingOpen("step", step_id);
  now_ += absl::Milliseconds(s->step_scheduled().start_to_close_timeout_ms());
  HistoryEvent e;
  auto* a = e.mutable_step_timed_out();
  a->set_scheduled_event_id(s->event_id());
  a->set_step_id(std::string(step_id));
  a->set_attempt(s->step_scheduled().attempt());
  a->set_timeout_type(history::TIMEOUT_TYPE_START_TO_CLOSE);
  return Input(std::move(e));
}

absl::Status RunDriver::FireTimer(absl::string_view timer_id) {
  for (const HistoryEvent* t : OpenTimers()) {
    if (t->timer_started().timer_id() != timer_id) continue;
    now_ = std::max(now_, history::ToTime(t->timer_started().fire_at()));
    HistoryEvent e;
    e.mutable_timer_fired()->set_timer_id(std::string(timer_id));
    e.mutable_timer_fired()->set_started_event_id(t->event_id());
    return Input(std::move(e));
  }
  return NothingOpen("timer", timer_id);
}

absl::Status RunDriver::FireNextTimer() {
  std::vector<const HistoryEvent*> timers = OpenTimers();
  if (timers.empty()) return NothingOpen("timer", "(any)");
  return FireTimer(timers.front()->timer_started().timer_id());
}

absl::Status RunDriver::Signal(absl::string_view name,
                               absl::string_view payload_json,
                               absl::string_view key,
                               absl::string_view signal_id) {
  HistoryEvent e;
  auto* a = e.mutable_signal_received();
  a->set_signal_id(signal_id.empty() ? absl::StrCat("sig-", ++signal_counter_)
                                     : std::string(signal_id));
  a->set_event_name(std::string(name));
  *a->mutable_payload() = Json(payload_json);
  a->set_correlation_key(std::string(key));
  a->set_key_source(key.empty() ? "" : "explicit");
  return Input(std::move(e));
}

absl::Status RunDriver::TimeOutWait(absl::string_view wait_id) {
  const HistoryEvent* opened = nullptr;
  for (const HistoryEvent* w : OpenWaits()) {
    if (w->wait_started().wait_id() == wait_id) opened = w;
  }
  for (const HistoryEvent* t : OpenTasks()) {
    if (t->human_task_created().task_id() == wait_id) opened = t;
  }
  if (opened == nullptr) return NothingOpen("wait", wait_id);
  const auto& deadline = opened->has_wait_started()
                             ? opened->wait_started().deadline()
                             : opened->human_task_created().deadline();
  now_ = std::max(now_, history::ToTime(deadline));
  HistoryEvent e;
  e.mutable_wait_timed_out()->set_wait_id(std::string(wait_id));
  e.mutable_wait_timed_out()->set_step_id(
      opened->has_wait_started() ? opened->wait_started().step_id()
                                 : opened->human_task_created().step_id());
  return Input(std::move(e));
}

absl::Status RunDriver::CompleteHumanTask(absl::string_view task_id,
                                          absl::string_view result_json,
                                          absl::string_view by) {
  for (const HistoryEvent* t : OpenTasks()) {
    if (t->human_task_created().task_id() != task_id) continue;
    HistoryEvent e;
    auto* a = e.mutable_human_task_completed();
    a->set_task_id(std::string(task_id));
    a->set_step_id(t->human_task_created().step_id());
    *a->mutable_result() = Json(result_json);
    a->set_completed_by(std::string(by));
    return Input(std::move(e));
  }
  return NothingOpen("human task", task_id);
}

absl::Status RunDriver::Cancel(absl::string_view reason) {
  HistoryEvent e;
  e.mutable_cancel_requested()->set_reason(std::string(reason));
  e.mutable_cancel_requested()->set_identity("tester");
  return Input(std::move(e));
}

absl::Status RunDriver::Terminate(absl::string_view reason) {
  HistoryEvent e;
  e.mutable_run_terminated()->set_reason(std::string(reason));
  e.mutable_run_terminated()->set_identity("tester");
  return Input(std::move(e));
}

absl::Status RunDriver::RetryRun(absl::string_view from_step_id) {
  HistoryEvent e;
  e.mutable_run_retried()->set_from_step_id(std::string(from_step_id));
  e.mutable_run_retried()->set_identity("tester");
  return Input(std::move(e));
}

}  // namespace retrace::runtime
