#include "runtime/interpreter.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "expr/value.h"
#include "history/events.h"
#include "runtime/duration.h"

namespace retrace::runtime {
namespace {

using expr::Value;
using history::Failure;
using history::HistoryEvent;
using history::Payload;

// Where a step activation is in its life.
enum class Phase {
  kNew,            // not started
  kScheduled,      // action attempt scheduled, waiting for its outcome
  kAttemptFailed,  // the last attempt failed; retry or give up next
  kBackoff,        // waiting for the retry timer
  kBackoffDone,    // retry timer fired; schedule the next attempt
  kSucceeded,      // action / wait / human task finished with a result
  kSleeping,       // waiting for a sleep timer
  kTimerFired,     // sleep timer fired
  kWaiting,        // waiting for a signal or a human task
  kTimedOut,       // a wait or human task passed its deadline
  kChildren,       // running nested step lists
};

absl::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kNew:
      return "new";
    case Phase::kScheduled:
      return "scheduled";
    case Phase::kAttemptFailed:
      return "attempt_failed";
    case Phase::kBackoff:
      return "retry_backoff";
    case Phase::kBackoffDone:
      return "retry_due";
    case Phase::kSucceeded:
      return "succeeded";
    case Phase::kSleeping:
      return "sleeping";
    case Phase::kTimerFired:
      return "timer_fired";
    case Phase::kWaiting:
      return "waiting";
    case Phase::kTimedOut:
      return "timed_out";
    case Phase::kChildren:
      return "running";
  }
  return "unknown";
}

enum class Outcome { kBlocked, kCompleted, kFailed, kRunEnded };

struct Frame;

// A step being executed.
struct Activation {
  const Step* step = nullptr;
  Frame* frame = nullptr;  // the frame whose current step this is
  std::string key;         // unique in the run: pointer + loop indices
  Phase phase = Phase::kNew;
  int attempt = 0;
  std::string input_json;
  uint64_t input_hash = 0;
  Failure failure;  // the last failure
  Value result;     // action output, received event, human task result
  std::string correlation_key;
  std::vector<std::unique_ptr<Frame>> children;
  Value items;  // control.forEach
  int64_t index = 0;
};

// A list of steps executed in order.
struct Frame {
  const StepList* steps = nullptr;
  Frame* parent = nullptr;  // for scope bindings
  std::string key_suffix;   // loop indices, e.g. "#3"
  std::vector<std::pair<std::string, Value>> bindings;
  size_t cursor = 0;
  std::unique_ptr<Activation> current;
  enum class State { kRunning, kDone, kFailed } state = State::kRunning;
  Failure failure;
  std::string failed_step_id;
};

struct BufferedSignal {
  Value event;  // {id, name, payload, correlation_key, key_source}
  std::string name;
  std::string key;
};

constexpr size_t kMaxBufferedSignals = 1000;

int64_t ToMillis(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1000000;
}

google::protobuf::Timestamp FromMillis(int64_t ms) {
  return history::FromTime(absl::FromUnixMillis(ms));
}

Value FromPayload(const Payload& p) {
  if (history::IsJson(p)) {
    absl::StatusOr<Value> v = expr::ParseJson(p.data());
    if (v.ok()) return *std::move(v);
  }
  if (p.data().empty() && p.metadata().empty()) return Value();
  return Value::String(absl::Base64Escape(p.data()));
}

Value FailureValue(const Failure& f) {
  Value v = Value::Object();
  auto* o = v.MutableObject();
  o->Set("code", Value::String(f.code()));
  o->Set("message", Value::String(f.message()));
  if (f.non_retryable()) o->Set("non_retryable", Value::Bool(true));
  return v;
}

Failure MakeFailure(absl::string_view code, absl::string_view message,
                    bool non_retryable = true) {
  Failure f;
  f.set_code(std::string(code));
  f.set_message(std::string(message));
  f.set_non_retryable(non_retryable);
  return f;
}

std::string StatusName(history::RunStatus s) {
  return std::string(history::RunStatusName(s));
}

absl::Status Nondeterminism(int64_t event_id, absl::string_view message) {
  return Error(absl::StatusCode::kFailedPrecondition, "NONDETERMINISM",
               absl::StrCat("event ", event_id, ": ", message));
}

std::string Describe(const HistoryEvent& e) {
  std::string summary = history::Summarize(e);
  return absl::StrCat(history::EventTypeName(e),
                      summary.empty() ? "" : absl::StrCat("(", summary, ")"));
}

}  // namespace

uint64_t StableHash(absl::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

bool IsEngineFailure(absl::string_view code) {
  return code == "WORKFLOW_VERSION_NOT_FOUND" || code == "HISTORY_TOO_LONG";
}

bool IsCommand(const HistoryEvent& e) {
  switch (e.attributes_case()) {
    case HistoryEvent::kStepScheduled:
    case HistoryEvent::kTimerStarted:
    case HistoryEvent::kTimerCanceled:
    case HistoryEvent::kWaitStarted:
    case HistoryEvent::kHumanTaskCreated:
    case HistoryEvent::kMarkerRecorded:
    case HistoryEvent::kRunCompleted:
    case HistoryEvent::kRunFailed:
    case HistoryEvent::kRunCanceled:
    case HistoryEvent::kRunContinuedAsNew:
      return true;
    default:
      return false;
  }
}

class Interpreter::Impl {
 public:
  Impl(std::shared_ptr<const Definition> def, absl::string_view ns,
       absl::string_view run_id, const InterpreterOptions& options)
      : def_(std::move(def)), ns_(ns), run_id_(run_id), options_(options) {
    vars_ = Value::Object();
    steps_ = Value::Object();
  }

  absl::Status Apply(const HistoryEvent& event) {
    const int64_t id = event.event_id();
    if (id != next_event_id_) {
      return Error(absl::StatusCode::kInvalidArgument, "INVALID_EVENT_ID",
                   absl::StrCat("run ", ns_, "/", run_id_, ": event has id ",
                                id, ", expected ", next_event_id_));
    }
    if (id == 1 && !event.has_run_started()) {
      return Error(absl::StatusCode::kInvalidArgument, "INVALID_EVENT_ORDER",
                   "event 1 must be run_started");
    }
    const bool retry = event.has_run_retried();
    if (finished_ && !(retry && status_ == history::RUN_STATUS_FAILED)) {
      return Error(absl::StatusCode::kFailedPrecondition,
                   "RUN_ALREADY_TERMINAL",
                   absl::StrCat("event ", id, ": the run has ended with ",
                                StatusName(status_)));
    }
    ++next_event_id_;
    now_ms_ = std::max(now_ms_, ToMillis(event.event_time()));
    // Failures the engine imposes without asking the definition (its version
    // was removed, the history grew too long) are inputs, not commands.
    if (event.has_run_failed() && pending_.empty() &&
        IsEngineFailure(event.run_failed().failure().code())) {
      ended_ = true;
      Finish(history::RUN_STATUS_FAILED);
      return absl::OkStatus();
    }
    if (IsCommand(event)) return Record(event);
    if (!pending_.empty()) {
      return Nondeterminism(id,
                            absl::StrCat("the history has ", Describe(event),
                                         ", but the definition first asks for ",
                                         Describe(pending_.front())));
    }
    ApplyInput(event);
    if (!finished_) Decide();
    return absl::OkStatus();
  }

  const std::vector<HistoryEvent>& pending() const { return pending_; }
  history::RunStatus status() const { return status_; }
  bool finished() const { return finished_; }
  int64_t next_event_id() const { return next_event_id_; }
  int64_t now_ms() const { return now_ms_; }
  std::string StateJson() const;

  OpenWork open_work() const {
    OpenWork w;
    for (const auto& [id, a] : by_scheduled_)
      w.scheduled_event_ids.push_back(id);
    for (const auto& [id, a] : timers_) w.timer_ids.push_back(id);
    for (const auto& [id, a] : waits_) w.wait_ids.push_back(id);
    if (goal_wait_open_ && !finished_) w.wait_ids.push_back("goal");
    for (const auto& [id, a] : tasks_) w.task_ids.push_back(id);
    return w;
  }

 private:
  // ---- recording commands -------------------------------------------------

  absl::Status Record(const HistoryEvent& event) {
    const int64_t id = event.event_id();
    if (pending_.empty()) {
      return Nondeterminism(
          id, absl::StrCat("the history has ", Describe(event),
                           ", but the definition asks for nothing here"));
    }
    const HistoryEvent& expected = pending_.front();
    if (!Matches(expected, event)) {
      return Nondeterminism(id,
                            absl::StrCat("the history has ", Describe(event),
                                         ", but the definition now asks for ",
                                         Describe(expected)));
    }
    Activation* target = pending_targets_.front();
    switch (event.attributes_case()) {
      case HistoryEvent::kStepScheduled:
        if (target != nullptr) by_scheduled_[id] = target;
        break;
      case HistoryEvent::kRunCompleted:
        Finish(history::RUN_STATUS_COMPLETED);
        break;
      case HistoryEvent::kRunFailed:
        Finish(history::RUN_STATUS_FAILED);
        break;
      case HistoryEvent::kRunCanceled:
        Finish(history::RUN_STATUS_CANCELED);
        break;
      case HistoryEvent::kRunContinuedAsNew:
        Finish(history::RUN_STATUS_CONTINUED_AS_NEW);
        break;
      default:
        break;
    }
    pending_.erase(pending_.begin());
    pending_targets_.erase(pending_targets_.begin());
    return absl::OkStatus();
  }

  // What must agree between a recorded command and the one asked for now.
  static bool Matches(const HistoryEvent& want, const HistoryEvent& got) {
    if (want.attributes_case() != got.attributes_case()) return false;
    switch (want.attributes_case()) {
      case HistoryEvent::kStepScheduled: {
        const auto& a = want.step_scheduled();
        const auto& b = got.step_scheduled();
        return a.step_id() == b.step_id() && a.step_path() == b.step_path() &&
               a.action() == b.action() && a.attempt() == b.attempt() &&
               a.input_hash() == b.input_hash();
      }
      case HistoryEvent::kTimerStarted:
        return want.timer_started().timer_id() ==
                   got.timer_started().timer_id() &&
               want.timer_started().purpose() == got.timer_started().purpose();
      case HistoryEvent::kWaitStarted:
        return want.wait_started().wait_id() == got.wait_started().wait_id() &&
               want.wait_started().event_name() ==
                   got.wait_started().event_name() &&
               want.wait_started().correlation_key() ==
                   got.wait_started().correlation_key();
      case HistoryEvent::kHumanTaskCreated:
        return want.human_task_created().task_id() ==
               got.human_task_created().task_id();
      case HistoryEvent::kMarkerRecorded:
        return want.marker_recorded().name() == got.marker_recorded().name();
      case HistoryEvent::kRunCompleted:
        return want.run_completed().completion_reason() ==
                   got.run_completed().completion_reason() &&
               want.run_completed().output().data() ==
                   got.run_completed().output().data();
      case HistoryEvent::kRunFailed:
        return want.run_failed().failure().code() ==
               got.run_failed().failure().code();
      case HistoryEvent::kRunContinuedAsNew:
        return want.run_continued_as_new().input().data() ==
               got.run_continued_as_new().input().data();
      default:
        return true;
    }
  }

  void Finish(history::RunStatus status) {
    status_ = status;
    finished_ = true;
  }

  HistoryEvent& Emit(Activation* target) {
    pending_.emplace_back();
    pending_targets_.push_back(target);
    return pending_.back();
  }

  // ---- inputs ------------------------------------------------------------

  void ApplyInput(const HistoryEvent& e) {
    switch (e.attributes_case()) {
      case HistoryEvent::kRunStarted:
        Start(e.run_started(), e);
        break;
      case HistoryEvent::kStepStarted: {
        Activation* a =
            Find(by_scheduled_, e.step_started().scheduled_event_id());
        if (a != nullptr) {
          SetStepField(a->step->id, "status", Value::String("running"));
        }
        break;
      }
      case HistoryEvent::kStepCompleted: {
        const auto& c = e.step_completed();
        Activation* a = Take(by_scheduled_, c.scheduled_event_id());
        if (a != nullptr && a->phase == Phase::kScheduled) {
          a->result = FromPayload(c.output());
          a->phase = Phase::kSucceeded;
        }
        break;
      }
      case HistoryEvent::kStepFailed: {
        const auto& f = e.step_failed();
        Activation* a = Take(by_scheduled_, f.scheduled_event_id());
        if (a != nullptr && a->phase == Phase::kScheduled) {
          a->failure = f.failure();
          a->phase = Phase::kAttemptFailed;
        }
        break;
      }
      case HistoryEvent::kStepTimedOut: {
        const auto& t = e.step_timed_out();
        Activation* a = Take(by_scheduled_, t.scheduled_event_id());
        if (a != nullptr && a->phase == Phase::kScheduled) {
          a->failure = MakeFailure(
              "TIMEOUT",
              absl::StrCat("attempt ", a->attempt, " timed out (",
                           history::TimeoutType_Name(t.timeout_type()), ")"),
              /*non_retryable=*/false);
          a->phase = Phase::kAttemptFailed;
        }
        break;
      }
      case HistoryEvent::kTimerFired: {
        Activation* a = Take(timers_, e.timer_fired().timer_id());
        if (a == nullptr) break;
        if (a->phase == Phase::kBackoff) a->phase = Phase::kBackoffDone;
        if (a->phase == Phase::kSleeping) a->phase = Phase::kTimerFired;
        break;
      }
      case HistoryEvent::kSignalReceived:
        Signal(e.signal_received(), e);
        break;
      case HistoryEvent::kWaitTimedOut: {
        const std::string& id = e.wait_timed_out().wait_id();
        Activation* a = Take(waits_, id);
        if (a != nullptr) {
          for (auto it = waits_by_start_.begin();
               it != waits_by_start_.end();) {
            it = it->second == a ? waits_by_start_.erase(it) : std::next(it);
          }
        } else {
          a = Take(tasks_, id);
        }
        if (a != nullptr && a->phase == Phase::kWaiting) {
          a->phase = Phase::kTimedOut;
        }
        break;
      }
      case HistoryEvent::kHumanTaskCompleted: {
        const auto& c = e.human_task_completed();
        Activation* a = Take(tasks_, c.task_id());
        if (a != nullptr && a->phase == Phase::kWaiting) {
          a->result = FromPayload(c.result());
          a->phase = Phase::kSucceeded;
        }
        break;
      }
      case HistoryEvent::kCancelRequested:
        if (!ended_) {
          auto& cmd = Emit(nullptr);
          cmd.mutable_run_canceled()->set_reason(e.cancel_requested().reason());
          cmd.mutable_run_canceled()->set_identity(
              e.cancel_requested().identity());
          ended_ = true;
        }
        break;
      case HistoryEvent::kRunTerminated:
        ended_ = true;
        Finish(history::RUN_STATUS_TERMINATED);
        break;
      case HistoryEvent::kRunRetried:
        Retry();
        break;
      default:
        break;
    }
  }

  template <typename Map, typename Key>
  static Activation* Find(const Map& map, const Key& key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : it->second;
  }
  template <typename Map, typename Key>
  static Activation* Take(Map& map, const Key& key) {
    auto it = map.find(key);
    if (it == map.end()) return nullptr;
    Activation* a = it->second;
    map.erase(it);
    return a;
  }

  void Start(const history::RunStartedAttributes& a, const HistoryEvent& e) {
    input_ = FromPayload(a.input());
    run_ = Value::Object();
    auto* r = run_.MutableObject();
    r->Set("id", Value::String(run_id_));
    r->Set("namespace", Value::String(ns_));
    r->Set("workflow", Value::String(a.workflow()));
    r->Set("version", Value::String(a.version()));
    r->Set("attempt", Value::Number(a.attempt() > 0 ? a.attempt() : 1));
    r->Set("started_at",
           Value::String(history::FormatTimestamp(e.event_time())));
    root_ = std::make_unique<Frame>();
    root_->steps = &def_->steps;
  }

  Value EventValue(const history::SignalReceivedAttributes& s) {
    Value v = Value::Object();
    auto* o = v.MutableObject();
    o->Set("id", Value::String(s.signal_id()));
    o->Set("name", Value::String(s.event_name()));
    o->Set("payload", FromPayload(s.payload()));
    o->Set("correlation_key", Value::String(s.correlation_key()));
    o->Set("key_source", Value::String(s.key_source()));
    return v;
  }

  void Signal(const history::SignalReceivedAttributes& s,
              const HistoryEvent& e) {
    if (ended_) return;
    Value event = EventValue(s);
    if (goal_wait_open_ && def_->goal && s.event_name() == def_->goal->event &&
        (goal_key_.empty() || s.correlation_key().empty() ||
         s.correlation_key() == goal_key_)) {
      goal_reached_ = true;
      return;
    }
    if (Deliver(event, s.event_name(), s.correlation_key())) return;
    buffered_.push_back(
        BufferedSignal{std::move(event), s.event_name(), s.correlation_key()});
    if (buffered_.size() > kMaxBufferedSignals) {
      buffered_.erase(buffered_.begin());
    }
  }

  // Offers an event to the open waits in the order they started; the first
  // whose name, key and filter match takes it.
  bool Deliver(const Value& event, const std::string& name,
               const std::string& key) {
    for (const auto& [wait_id, a] : waits_by_start_) {
      if (a->phase != Phase::kWaiting || a->step->event != name) continue;
      if (!a->correlation_key.empty() && !key.empty() &&
          a->correlation_key != key) {
        continue;
      }
      if (a->step->filter.present()) {
        absl::StatusOr<Value> ok = Eval(a->step->filter, a->frame, &event);
        if (!ok.ok() || !Truthy(*ok)) continue;  // not for this wait
      }
      a->result = event;
      a->phase = Phase::kSucceeded;
      woke_ = true;
      // Which wait took which event is the filter's decision: recorded so a
      // projection never re-evaluates it.
      const expr::Value* id =
          event.IsObject() ? event.object().Find("id") : nullptr;
      decisions_.push_back(
          absl::StrCat("wait_matched:", a->step->id, ":",
                       id != nullptr && id->IsString() ? id->str() : ""));
      waits_.erase(a->key);
      waits_by_start_.erase(wait_id);
      return true;
    }
    return false;
  }

  // A failed run resumes where its work stopped.
  void Retry() {
    Finish(history::RUN_STATUS_RUNNING);
    finished_ = false;
    ended_ = false;
    ++generation_;
    failure_frame_.reset();
    in_failure_handler_ = false;
    if (root_ != nullptr) RetryFrame(root_.get());
  }

  // Resumes `f`: descends into every child frame that failed or was still
  // running and starts again, from its first attempt, each step that failed
  // or was in progress (its timers, tasks and waits, which the run's end
  // closed, are asked for again). Completed steps and loop items stay
  // completed: a run failed by a step resumes at that step, one failed by
  // the engine (a removed version, a history at its limit) at the steps
  // that were running, and parallel branches still running when a sibling
  // failed are restarted rather than left without their work.
  void RetryFrame(Frame* f) {
    f->state = Frame::State::kRunning;
    f->failure.Clear();
    f->failed_step_id.clear();
    Activation* a = f->current.get();
    if (a == nullptr) return;
    bool descended = false;
    for (auto& child : a->children) {
      if (child->state == Frame::State::kDone) continue;
      RetryFrame(child.get());
      descended = true;
    }
    if (!descended) {
      // The step that failed or was in progress: start it again.
      Forget(a);
      f->current.reset();
    }
  }

  // Removes every reference to `a` from the open-work indexes.
  void Forget(const Activation* a) {
    auto scrub = [a](auto& map) {
      for (auto it = map.begin(); it != map.end();) {
        it = it->second == a ? map.erase(it) : std::next(it);
      }
    };
    scrub(by_scheduled_);
    scrub(timers_);
    scrub(waits_);
    scrub(waits_by_start_);
    scrub(tasks_);
  }

  // ---- deciding ------------------------------------------------------------

  void Decide() {
    if (ended_ || root_ == nullptr) return;
    if (def_->goal && !def_->goal->event.empty() && !goal_wait_started_) {
      goal_wait_started_ = true;
      OpenGoalWait();
    }
    if (!ended_ && goal_reached_) {
      CompleteRun(Value(), "goal_achieved");
    }
    if (!ended_ && !in_failure_handler_) {
      Outcome o;
      // A buffered signal handed to a wait that this round already passed
      // wakes it: go round again until nothing more moves.
      do {
        woke_ = false;
        o = RunFrame(*root_);
      } while (woke_ && o == Outcome::kBlocked && !ended_);
      if (o == Outcome::kCompleted && !ended_) {
        CompleteRun(Value(), "completed");
      } else if (o == Outcome::kFailed && !ended_) {
        if (def_->on_failure.empty()) {
          FailRun(root_->failure, root_->failed_step_id);
        } else {
          in_failure_handler_ = true;
          run_failure_ = root_->failure;
          run_failed_step_ = root_->failed_step_id;
          failure_frame_ = std::make_unique<Frame>();
          failure_frame_->steps = &def_->on_failure;
          failure_frame_->key_suffix = "!";
        }
      }
    }
    if (!ended_ && in_failure_handler_) {
      Outcome o = RunFrame(*failure_frame_);
      if (o == Outcome::kCompleted || o == Outcome::kFailed) {
        FailRun(run_failure_, run_failed_step_);
      }
    }
    FlushDecisions();
  }

  void OpenGoalWait() {
    const Goal& goal = *def_->goal;
    if (goal.correlation.present()) {
      absl::StatusOr<Value> key = Eval(goal.correlation, nullptr, nullptr);
      if (!key.ok()) {
        FailRun(MakeFailure("EXPRESSION_FAILED",
                            absl::StrCat("/goal/correlation: ",
                                         key.status().message())),
                "");
        return;
      }
      goal_key_ = KeyString(*key);
    }
    auto& cmd = Emit(nullptr);
    auto* w = cmd.mutable_wait_started();
    w->set_wait_id("goal");
    w->set_event_name(goal.event);
    w->set_correlation_key(goal_key_);
    goal_wait_open_ = true;
  }

  // Checked at every step boundary: a reached goal skips the remaining steps.
  bool GoalConditionReached(const Frame* frame) {
    if (!def_->goal || !def_->goal->condition.present()) return false;
    absl::StatusOr<Value> v = Eval(def_->goal->condition, frame, nullptr);
    if (v.ok() && Truthy(*v)) {
      goal_reached_ = true;
      return true;
    }
    return false;
  }

  Outcome RunFrame(Frame& f) {
    for (;;) {
      if (ended_) return Outcome::kRunEnded;
      if (f.state == Frame::State::kDone) return Outcome::kCompleted;
      if (f.state == Frame::State::kFailed) return Outcome::kFailed;
      if (f.current == nullptr) {
        if (f.cursor >= f.steps->size()) {
          f.state = Frame::State::kDone;
          return Outcome::kCompleted;
        }
        if (!in_failure_handler_ && GoalConditionReached(&f)) {
          CompleteRun(Value(), "goal_achieved");
          return Outcome::kRunEnded;
        }
        auto a = std::make_unique<Activation>();
        a->step = &(*f.steps)[f.cursor];
        a->frame = &f;
        a->key =
            absl::StrCat(a->step->pointer, f.key_suffix,
                         generation_ > 0 ? absl::StrCat("~", generation_) : "");
        f.current = std::move(a);
      }
      Activation& a = *f.current;
      Outcome o = Progress(a);
      switch (o) {
        case Outcome::kBlocked:
        case Outcome::kRunEnded:
          return o;
        case Outcome::kCompleted:
          f.current.reset();
          ++f.cursor;
          break;
        case Outcome::kFailed:
          f.state = Frame::State::kFailed;
          if (f.failure.code().empty()) {
            f.failure = a.failure;
            f.failed_step_id = a.step->id;
          }
          return o;
      }
    }
  }

  // Records a failure of `a` (which gives up) and reports kFailed.
  Outcome Fail(Activation& a, Failure failure) {
    a.failure = std::move(failure);
    a.frame->failure = a.failure;
    a.frame->failed_step_id = a.step->id;
    SetStepResult(a, "failed", Value());
    return Outcome::kFailed;
  }

  Outcome ExpressionFailed(Activation& a, const Expression& e,
                           absl::string_view field, const absl::Status& s) {
    return Fail(a, MakeFailure("EXPRESSION_FAILED",
                               absl::StrCat(a.step->pointer, "/", field, ": ",
                                            s.message())));
  }

  Outcome Progress(Activation& a) {
    const Step& step = *a.step;
    switch (step.type) {
      case StepType::kAction:
        return ProgressAction(a);
      case StepType::kAssign: {
        for (const auto& [name, expression] : step.assignments) {
          absl::StatusOr<Value> v = Eval(expression, a.frame, nullptr);
          if (!v.ok()) {
            return ExpressionFailed(a, expression, absl::StrCat("vars/", name),
                                    v.status());
          }
          vars_.MutableObject()->Set(name, *std::move(v));
        }
        SetStepResult(a, "completed", Value());
        return Outcome::kCompleted;
      }
      case StepType::kIf:
      case StepType::kSwitch:
        return ProgressBranch(a);
      case StepType::kForEach:
        return ProgressForEach(a);
      case StepType::kParallel:
        return ProgressParallel(a);
      case StepType::kWait:
        return ProgressWait(a);
      case StepType::kSleep:
        return ProgressSleep(a);
      case StepType::kHumanTask:
        return ProgressHumanTask(a);
      case StepType::kReturn: {
        Value output;
        if (step.output.present()) {
          absl::StatusOr<Value> v = Eval(step.output, a.frame, nullptr);
          if (!v.ok())
            return ExpressionFailed(a, step.output, "output", v.status());
          output = *std::move(v);
        }
        SetStepResult(a, "completed", output);
        CompleteRun(output, "returned");
        return Outcome::kRunEnded;
      }
      case StepType::kContinueAsNew: {
        Value input;
        if (step.input.present()) {
          absl::StatusOr<Value> v = Eval(step.input, a.frame, nullptr);
          if (!v.ok())
            return ExpressionFailed(a, step.input, "input", v.status());
          input = *std::move(v);
        }
        std::string json = Json(input);
        if (auto too_large = CheckSize(json, "continue-as-new input")) {
          return Fail(a, *too_large);
        }
        FlushDecisions();
        auto& cmd = Emit(nullptr);
        *cmd.mutable_run_continued_as_new()->mutable_input() =
            history::JsonPayload(json);
        ended_ = true;
        return Outcome::kRunEnded;
      }
    }
    return Outcome::kBlocked;
  }

  Outcome ProgressAction(Activation& a) {
    const Step& step = *a.step;
    switch (a.phase) {
      case Phase::kNew: {
        Value input;
        if (step.input.present()) {
          absl::StatusOr<Value> v = Eval(step.input, a.frame, nullptr);
          if (!v.ok())
            return ExpressionFailed(a, step.input, "input", v.status());
          input = *std::move(v);
        }
        a.input_json = Json(input);
        if (auto too_large = CheckSize(a.input_json, "step input")) {
          a.failure = *too_large;
          if (step.continue_on_error) return GiveUpAndContinue(a);
          return Fail(a, a.failure);
        }
        a.input_hash = StableHash(a.input_json);
        a.attempt = 1;
        Schedule(a);
        return Outcome::kBlocked;
      }
      case Phase::kSucceeded:
        SetStepResult(a, "completed", a.result);
        return Outcome::kCompleted;
      case Phase::kAttemptFailed: {
        const RetryPolicy& policy =
            step.retry ? *step.retry : def_->default_retry;
        const Failure& f = a.failure;
        const bool listed =
            std::find(policy.non_retryable_error_codes.begin(),
                      policy.non_retryable_error_codes.end(),
                      f.code()) != policy.non_retryable_error_codes.end();
        if (f.non_retryable() || listed) {
          decisions_.push_back(absl::StrCat(
              "skipped_non_retryable_error:", step.id, ":", f.code()));
        } else if (policy.maximum_attempts != 0 &&
                   a.attempt >= policy.maximum_attempts) {
          decisions_.push_back(
              absl::StrCat("max_retries_exhausted:", step.id, ":", a.attempt));
        } else {
          absl::Duration delay = RetryDelay(policy, a.attempt, f);
          if (delay <= absl::ZeroDuration()) {
            ++a.attempt;
            Schedule(a);
          } else {
            const std::string timer_id =
                absl::StrCat(a.key, "/retry/", a.attempt + 1);
            StartTimer(a, timer_id, delay,
                       history::TIMER_PURPOSE_RETRY_BACKOFF);
            a.phase = Phase::kBackoff;
          }
          return Outcome::kBlocked;
        }
        if (step.continue_on_error) return GiveUpAndContinue(a);
        return Fail(a, a.failure);
      }
      case Phase::kBackoffDone:
        ++a.attempt;
        Schedule(a);
        return Outcome::kBlocked;
      default:
        return Outcome::kBlocked;
    }
  }

  Outcome GiveUpAndContinue(Activation& a) {
    decisions_.push_back(absl::StrCat("on_error_continue:", a.step->id));
    SetStepResult(a, "failed", Value());
    return Outcome::kCompleted;
  }

  static absl::Duration RetryDelay(const RetryPolicy& policy, int attempt,
                                   const Failure& f) {
    if (f.retry_after_ms() > 0) {
      return std::min(absl::Milliseconds(f.retry_after_ms()), kMaxSleep);
    }
    double factor = std::pow(policy.backoff_coefficient, attempt - 1);
    double ms = absl::ToDoubleMilliseconds(policy.initial_interval) * factor;
    double cap = absl::ToDoubleMilliseconds(policy.maximum_interval);
    if (!(ms < cap)) ms = cap;  // also catches inf
    return absl::Milliseconds(static_cast<int64_t>(ms));
  }

  void Schedule(Activation& a) {
    const Step& step = *a.step;
    a.phase = Phase::kScheduled;
    auto& cmd = Emit(&a);
    auto* s = cmd.mutable_step_scheduled();
    s->set_step_id(step.id);
    s->set_step_path(a.key);
    s->set_action(step.action);
    *s->mutable_input() = history::JsonPayload(a.input_json);
    s->set_input_hash(a.input_hash);
    s->set_attempt(a.attempt);
    s->set_task_queue(def_->task_queue);
    absl::Duration timeout = step.timeout > absl::ZeroDuration()
                                 ? step.timeout
                                 : def_->default_timeout;
    s->set_start_to_close_timeout_ms(absl::ToInt64Milliseconds(timeout));
    const RetryPolicy& policy = step.retry ? *step.retry : def_->default_retry;
    auto* p = s->mutable_retry_policy();
    p->set_initial_interval_ms(
        absl::ToInt64Milliseconds(policy.initial_interval));
    p->set_backoff_coefficient(policy.backoff_coefficient);
    p->set_maximum_interval_ms(
        absl::ToInt64Milliseconds(policy.maximum_interval));
    p->set_maximum_attempts(policy.maximum_attempts);
    for (const auto& code : policy.non_retryable_error_codes) {
      p->add_non_retryable_error_codes(code);
    }
    for (auto& d : decisions_) s->add_decisions(std::move(d));
    decisions_.clear();
    SetStepResult(a, "scheduled", Value());
  }

  void StartTimer(Activation& a, const std::string& timer_id,
                  absl::Duration delay, history::TimerPurpose purpose) {
    auto& cmd = Emit(&a);
    auto* t = cmd.mutable_timer_started();
    t->set_timer_id(timer_id);
    t->set_step_id(a.step->id);
    *t->mutable_fire_at() =
        FromMillis(now_ms_ + absl::ToInt64Milliseconds(delay));
    t->set_purpose(purpose);
    timers_[timer_id] = &a;
  }

  Outcome ProgressBranch(Activation& a) {
    const Step& step = *a.step;
    if (a.phase == Phase::kNew) {
      const StepList* chosen = nullptr;
      std::string branch;
      if (step.type == StepType::kIf) {
        absl::StatusOr<Value> v = Eval(step.condition, a.frame, nullptr);
        if (!v.ok())
          return ExpressionFailed(a, step.condition, "condition", v.status());
        const bool yes = Truthy(*v);
        chosen = yes ? &step.then_steps : &step.else_steps;
        branch = yes ? "then" : "else";
        decisions_.push_back(absl::StrCat("condition:", step.id, "=", branch));
      } else {
        for (size_t i = 0; i < step.cases.size() && chosen == nullptr; ++i) {
          absl::StatusOr<Value> v = Eval(step.cases[i].when, a.frame, nullptr);
          if (!v.ok()) {
            return ExpressionFailed(a, step.cases[i].when,
                                    absl::StrCat("cases/", i, "/when"),
                                    v.status());
          }
          if (Truthy(*v)) {
            chosen = &step.cases[i].steps;
            branch = absl::StrCat("case ", i);
          }
        }
        if (chosen == nullptr) {
          chosen = &step.default_steps;
          branch = "default";
        }
        decisions_.push_back(absl::StrCat("switch:", step.id, "=", branch));
      }
      a.result = Value::String(branch);
      a.children.push_back(NewFrame(a, chosen, ""));
      a.phase = Phase::kChildren;
      SetStepResult(a, "running", Value());
    }
    Outcome o = RunFrame(*a.children[0]);
    if (o == Outcome::kCompleted) {
      Value out = Value::Object();
      out.MutableObject()->Set("branch", a.result);
      SetStepResult(a, "completed", out);
    } else if (o == Outcome::kFailed) {
      a.failure = a.children[0]->failure;
      a.frame->failed_step_id = a.children[0]->failed_step_id;
      a.frame->failure = a.failure;
      SetStepResult(a, "failed", Value());
    }
    return o;
  }

  std::unique_ptr<Frame> NewFrame(Activation& a, const StepList* steps,
                                  absl::string_view suffix) {
    auto f = std::make_unique<Frame>();
    f->steps = steps;
    f->parent = a.frame;
    f->key_suffix = absl::StrCat(a.frame->key_suffix, suffix);
    return f;
  }

  Outcome ProgressForEach(Activation& a) {
    const Step& step = *a.step;
    if (a.phase == Phase::kNew) {
      absl::StatusOr<Value> v = Eval(step.items, a.frame, nullptr);
      if (!v.ok()) return ExpressionFailed(a, step.items, "items", v.status());
      if (v->IsUndefined()) {
        a.items = Value::Array();
      } else if (v->IsArray()) {
        a.items = *v;
      } else {
        a.items = Value::Array({*v});
      }
      a.index = 0;
      a.phase = Phase::kChildren;
      SetStepResult(a, "running", Value());
      if (!a.items.items().empty()) StartIteration(a);
    }
    const int64_t count = static_cast<int64_t>(a.items.items().size());
    while (a.index < count) {
      Outcome o = RunFrame(*a.children.back());
      if (o == Outcome::kBlocked || o == Outcome::kRunEnded) return o;
      if (o == Outcome::kFailed) {
        a.failure = a.children.back()->failure;
        a.frame->failure = a.failure;
        a.frame->failed_step_id = a.children.back()->failed_step_id;
        SetStepResult(a, "failed", Value());
        return o;
      }
      ++a.index;
      if (a.index < count) StartIteration(a);
    }
    Value out = Value::Object();
    out.MutableObject()->Set("count",
                             Value::Number(static_cast<double>(count)));
    SetStepResult(a, "completed", out);
    return Outcome::kCompleted;
  }

  void StartIteration(Activation& a) {
    a.children.clear();  // the finished iteration is no longer needed
    auto f = NewFrame(a, &a.step->body, absl::StrCat("#", a.index));
    f->bindings.emplace_back(a.step->as, a.items.items()[a.index]);
    f->bindings.emplace_back("index",
                             Value::Number(static_cast<double>(a.index)));
    a.children.push_back(std::move(f));
  }

  Outcome ProgressParallel(Activation& a) {
    const Step& step = *a.step;
    if (a.phase == Phase::kNew) {
      for (const StepList& branch : step.branches) {
        a.children.push_back(NewFrame(a, &branch, ""));
      }
      a.phase = Phase::kChildren;
      SetStepResult(a, "running", Value());
    }
    bool all_done = true;
    for (auto& child : a.children) {
      Outcome o = RunFrame(*child);
      if (o == Outcome::kRunEnded) return o;
      if (o == Outcome::kFailed && !step.continue_on_error) {
        a.failure = child->failure;
        a.frame->failure = a.failure;
        a.frame->failed_step_id = child->failed_step_id;
        SetStepResult(a, "failed", Value());
        return Outcome::kFailed;
      }
      if (o == Outcome::kBlocked) all_done = false;
    }
    if (!all_done) return Outcome::kBlocked;
    Value out = Value::Array();
    for (auto& child : a.children) {
      Value b = Value::Object();
      b.MutableObject()->Set(
          "status",
          Value::String(child->state == Frame::State::kFailed ? "failed"
                                                              : "completed"));
      if (child->state == Frame::State::kFailed) {
        b.MutableObject()->Set("error", FailureValue(child->failure));
      }
      out.MutableArray()->items.push_back(std::move(b));
    }
    SetStepResult(a, "completed", out);
    return Outcome::kCompleted;
  }

  Outcome ProgressWait(Activation& a) {
    const Step& step = *a.step;
    switch (a.phase) {
      case Phase::kNew: {
        if (step.correlation.present()) {
          absl::StatusOr<Value> key = Eval(step.correlation, a.frame, nullptr);
          if (!key.ok()) {
            return ExpressionFailed(a, step.correlation, "correlation",
                                    key.status());
          }
          a.correlation_key = KeyString(*key);
        }
        auto& cmd = Emit(&a);
        auto* w = cmd.mutable_wait_started();
        w->set_wait_id(a.key);
        w->set_step_id(step.id);
        w->set_event_name(step.event);
        w->set_correlation_key(a.correlation_key);
        if (step.wait_timeout) {
          *w->mutable_deadline() = FromMillis(
              now_ms_ + absl::ToInt64Milliseconds(*step.wait_timeout));
        }
        a.phase = Phase::kWaiting;
        waits_[a.key] = &a;
        waits_by_start_[++wait_sequence_] = &a;
        SetStepResult(a, "waiting", Value());
        // An event that arrived before the wait opened is taken first.
        for (auto it = buffered_.begin(); it != buffered_.end(); ++it) {
          if (Deliver(it->event, it->name, it->key)) {
            buffered_.erase(it);
            break;
          }
        }
        return a.phase == Phase::kSucceeded ? ProgressWait(a)
                                            : Outcome::kBlocked;
      }
      case Phase::kSucceeded:
        if (!step.into.empty()) vars_.MutableObject()->Set(step.into, a.result);
        SetStepResult(a, "completed", a.result);
        return Outcome::kCompleted;
      case Phase::kTimedOut:
        if (step.continue_on_timeout) {
          decisions_.push_back(absl::StrCat("wait_timed_out:", step.id));
          SetStepResult(a, "timed_out", Value());
          return Outcome::kCompleted;
        }
        return Fail(a, MakeFailure("WAIT_TIMEOUT",
                                   absl::StrCat("no ", step.event,
                                                " event arrived in time")));
      default:
        return Outcome::kBlocked;
    }
  }

  Outcome ProgressSleep(Activation& a) {
    const Step& step = *a.step;
    if (a.phase == Phase::kNew) {
      absl::Duration d;
      if (step.sleep_literal) {
        d = *step.sleep_literal;
      } else {
        absl::StatusOr<Value> v = Eval(step.sleep_duration, a.frame, nullptr);
        if (!v.ok()) {
          return ExpressionFailed(a, step.sleep_duration, "duration",
                                  v.status());
        }
        if (v->IsNumber() && v->number() >= 0) {
          d = absl::Milliseconds(static_cast<int64_t>(v->number()));
        } else if (v->IsString()) {
          absl::StatusOr<absl::Duration> parsed = ParseDuration(v->str());
          if (!parsed.ok()) {
            return Fail(a, MakeFailure("INVALID_DURATION",
                                       std::string(parsed.status().message())));
          }
          d = *parsed;
        } else {
          return Fail(a, MakeFailure("INVALID_DURATION",
                                     absl::StrCat(step.pointer,
                                                  "/duration must give a "
                                                  "duration string or "
                                                  "milliseconds >= 0")));
        }
      }
      if (d > kMaxSleep) {
        return Fail(a,
                    MakeFailure("SLEEP_TOO_LONG",
                                absl::StrCat("sleep of ", DurationToString(d),
                                             " is over the maximum of 30d")));
      }
      if (d <= absl::ZeroDuration()) {
        SetStepResult(a, "completed", Value());
        return Outcome::kCompleted;
      }
      StartTimer(a, absl::StrCat(a.key, "/sleep"), d,
                 history::TIMER_PURPOSE_SLEEP);
      a.phase = Phase::kSleeping;
      SetStepResult(a, "sleeping", Value());
      return Outcome::kBlocked;
    }
    if (a.phase == Phase::kTimerFired) {
      SetStepResult(a, "completed", Value());
      return Outcome::kCompleted;
    }
    return Outcome::kBlocked;
  }

  Outcome ProgressHumanTask(Activation& a) {
    const Step& step = *a.step;
    switch (a.phase) {
      case Phase::kNew: {
        auto text = [&](const Expression& e, absl::string_view field,
                        std::string* out) -> absl::Status {
          if (!e.present()) return absl::OkStatus();
          ASSIGN_OR_RETURN(Value v, Eval(e, a.frame, nullptr));
          *out = v.IsString() ? v.str() : Json(v);
          return absl::OkStatus();
        };
        std::string title, assignee;
        absl::Status s = text(step.title, "title", &title);
        if (!s.ok()) return ExpressionFailed(a, step.title, "title", s);
        s = text(step.assignee, "assignee", &assignee);
        if (!s.ok()) return ExpressionFailed(a, step.assignee, "assignee", s);
        std::string form = "null";
        if (step.form.present()) {
          absl::StatusOr<Value> v = Eval(step.form, a.frame, nullptr);
          if (!v.ok())
            return ExpressionFailed(a, step.form, "form", v.status());
          form = Json(*v);
        }
        auto& cmd = Emit(&a);
        auto* t = cmd.mutable_human_task_created();
        t->set_task_id(a.key);
        t->set_step_id(step.id);
        t->set_title(title);
        t->set_assignee(assignee);
        *t->mutable_form() = history::JsonPayload(form);
        if (step.task_timeout) {
          *t->mutable_deadline() = FromMillis(
              now_ms_ + absl::ToInt64Milliseconds(*step.task_timeout));
        }
        a.phase = Phase::kWaiting;
        tasks_[a.key] = &a;
        SetStepResult(a, "waiting", Value());
        return Outcome::kBlocked;
      }
      case Phase::kSucceeded:
        SetStepResult(a, "completed", a.result);
        return Outcome::kCompleted;
      case Phase::kTimedOut:
        return Fail(a, MakeFailure("HUMAN_TASK_TIMEOUT",
                                   absl::StrCat("human task ", step.id,
                                                " was not completed in time")));
      default:
        return Outcome::kBlocked;
    }
  }

  // ---- ending the run ----------------------------------------------------

  void CompleteRun(const Value& output, absl::string_view reason) {
    std::string json = Json(output);
    if (auto too_large = CheckSize(json, "run output")) {
      FailRun(*too_large, "");
      return;
    }
    FlushDecisions();
    auto& cmd = Emit(nullptr);
    auto* c = cmd.mutable_run_completed();
    *c->mutable_output() = history::JsonPayload(json);
    c->set_completion_reason(std::string(reason));
    ended_ = true;
  }

  void FailRun(const Failure& failure, const std::string& step_id) {
    FlushDecisions();
    auto& cmd = Emit(nullptr);
    *cmd.mutable_run_failed()->mutable_failure() = failure;
    cmd.mutable_run_failed()->set_step_id(step_id);
    ended_ = true;
  }

  // Decisions that found no step_scheduled to ride on become a marker.
  void FlushDecisions() {
    if (decisions_.empty()) return;
    auto& cmd = Emit(nullptr);
    auto* m = cmd.mutable_marker_recorded();
    m->set_name("decisions");
    Value list = Value::Array();
    for (auto& d : decisions_) {
      list.MutableArray()->items.push_back(Value::String(std::move(d)));
    }
    decisions_.clear();
    *m->mutable_details() = history::JsonPayload(Json(list));
  }

  // ---- scope and values --------------------------------------------------

  absl::StatusOr<Value> Eval(const Expression& e, const Frame* frame,
                             const Value* event) {
    Value scope = Value::Object();
    auto* o = scope.MutableObject();
    o->Set("input", input_);
    o->Set("vars", vars_);
    o->Set("steps", steps_);
    o->Set("run", run_);
    // Loop bindings, outermost first so inner loops shadow outer ones.
    std::vector<const Frame*> chain;
    for (const Frame* f = frame; f != nullptr; f = f->parent)
      chain.push_back(f);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      for (const auto& [name, value] : (*it)->bindings) o->Set(name, value);
    }
    if (event != nullptr) o->Set("event", *event);
    return e.Evaluate(scope, now_ms_);
  }

  static std::string Json(const Value& v) {
    if (v.IsUndefined()) return "null";
    return expr::ToJson(v);
  }

  static std::string KeyString(const Value& v) {
    if (v.IsUndefined() || v.IsNull()) return "";
    if (v.IsString()) return v.str();
    return expr::ToJson(v);
  }

  std::optional<Failure> CheckSize(const std::string& json,
                                   absl::string_view what) const {
    if (static_cast<int64_t>(json.size()) <= options_.max_payload_bytes) {
      return std::nullopt;
    }
    return MakeFailure("PAYLOAD_TOO_LARGE",
                       absl::StrCat(what, " is ", json.size(), " bytes, limit ",
                                    options_.max_payload_bytes, " bytes"));
  }

  void SetStepResult(Activation& a, absl::string_view status,
                     const Value& output) {
    Value r = Value::Object();
    auto* o = r.MutableObject();
    o->Set("status", Value::String(std::string(status)));
    if (output.IsDefined()) o->Set("output", output);
    if (!a.failure.code().empty() && status != "completed") {
      o->Set("error", FailureValue(a.failure));
    }
    if (a.attempt > 0) {
      o->Set("attempts", Value::Number(static_cast<double>(a.attempt)));
    }
    steps_.MutableObject()->Set(a.step->id, std::move(r));
  }

  void SetStepField(const std::string& step_id, absl::string_view field,
                    Value value) {
    const Value* existing = steps_.object().Find(step_id);
    if (existing == nullptr || !existing->IsObject()) return;
    Value copy = *existing;
    copy.MutableObject()->Set(field, std::move(value));
    steps_.MutableObject()->Set(step_id, std::move(copy));
  }

  // ---- state as JSON -------------------------------------------------------

  Value FrameValue(const Frame& f) const {
    Value v = Value::Object();
    auto* o = v.MutableObject();
    o->Set("cursor", Value::Number(static_cast<double>(f.cursor)));
    o->Set("state",
           Value::String(f.state == Frame::State::kDone     ? "done"
                         : f.state == Frame::State::kFailed ? "failed"
                                                            : "running"));
    if (f.current != nullptr) {
      const Activation& a = *f.current;
      Value c = Value::Object();
      auto* co = c.MutableObject();
      co->Set("step", Value::String(a.step->id));
      co->Set("key", Value::String(a.key));
      co->Set("phase", Value::String(std::string(PhaseName(a.phase))));
      if (a.attempt > 0) co->Set("attempt", Value::Number(a.attempt));
      if (a.step->type == StepType::kForEach) {
        co->Set("index", Value::Number(static_cast<double>(a.index)));
      }
      if (!a.children.empty()) {
        Value kids = Value::Array();
        for (const auto& child : a.children) {
          kids.MutableArray()->items.push_back(FrameValue(*child));
        }
        co->Set("children", kids);
      }
      o->Set("current", c);
    }
    return v;
  }

 public:
  std::string StateJsonImpl() const {
    Value v = Value::Object();
    auto* o = v.MutableObject();
    o->Set("status", Value::String(StatusName(status_)));
    o->Set("next_event_id", Value::Number(static_cast<double>(next_event_id_)));
    o->Set("now", Value::String(
                      history::FormatTimestamp(absl::FromUnixMillis(now_ms_))));
    if (root_ != nullptr) o->Set("position", FrameValue(*root_));
    if (failure_frame_ != nullptr) {
      o->Set("on_failure", FrameValue(*failure_frame_));
    }
    o->Set("vars", vars_);
    o->Set("steps", steps_);
    auto keys = [](const auto& map) {
      Value list = Value::Array();
      for (const auto& [k, a] : map) {
        list.MutableArray()->items.push_back(Value::String(absl::StrCat(k)));
      }
      return list;
    };
    Value open = Value::Object();
    open.MutableObject()->Set("scheduled_event_ids", keys(by_scheduled_));
    open.MutableObject()->Set("timers", keys(timers_));
    open.MutableObject()->Set("waits", keys(waits_));
    open.MutableObject()->Set("human_tasks", keys(tasks_));
    if (goal_wait_open_)
      open.MutableObject()->Set("goal_wait", Value::Bool(true));
    o->Set("open", open);
    if (!buffered_.empty()) {
      Value list = Value::Array();
      for (const auto& b : buffered_)
        list.MutableArray()->items.push_back(b.event);
      o->Set("buffered_signals", list);
    }
    Value pending = Value::Array();
    for (const auto& e : pending_) {
      pending.MutableArray()->items.push_back(Value::String(Describe(e)));
    }
    o->Set("pending_commands", pending);
    expr::JsonWriteOptions pretty;
    pretty.pretty = true;
    return expr::ToJson(v, pretty);
  }

 private:
  const std::shared_ptr<const Definition> def_;
  const std::string ns_;
  const std::string run_id_;
  const InterpreterOptions options_;

  history::RunStatus status_ = history::RUN_STATUS_RUNNING;
  bool finished_ = false;  // a terminal event was recorded
  bool ended_ = false;     // a terminal command was decided
  int64_t next_event_id_ = 1;
  int64_t now_ms_ = 0;
  int generation_ = 0;

  Value input_;
  Value run_;
  Value vars_;
  Value steps_;
  std::unique_ptr<Frame> root_;
  std::unique_ptr<Frame> failure_frame_;
  bool in_failure_handler_ = false;
  Failure run_failure_;
  std::string run_failed_step_;

  bool goal_wait_started_ = false;
  bool goal_wait_open_ = false;
  bool goal_reached_ = false;
  std::string goal_key_;

  std::vector<HistoryEvent> pending_;
  std::vector<Activation*> pending_targets_;
  std::vector<std::string> decisions_;

  std::map<int64_t, Activation*> by_scheduled_;
  std::map<std::string, Activation*> timers_;
  std::map<std::string, Activation*> waits_;
  std::map<int64_t, Activation*> waits_by_start_;
  int64_t wait_sequence_ = 0;
  std::map<std::string, Activation*> tasks_;
  std::vector<BufferedSignal> buffered_;
  bool woke_ = false;
};

std::string Interpreter::Impl::StateJson() const { return StateJsonImpl(); }

std::unique_ptr<Interpreter> Interpreter::Create(
    std::shared_ptr<const Definition> definition, absl::string_view ns,
    absl::string_view run_id, const InterpreterOptions& options) {
  return std::unique_ptr<Interpreter>(new Interpreter(
      std::make_unique<Impl>(std::move(definition), ns, run_id, options)));
}

Interpreter::Interpreter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Interpreter::~Interpreter() = default;

absl::Status Interpreter::Apply(const HistoryEvent& event) {
  return impl_->Apply(event);
}
const std::vector<HistoryEvent>& Interpreter::pending() const {
  return impl_->pending();
}
history::RunStatus Interpreter::status() const { return impl_->status(); }
bool Interpreter::finished() const { return impl_->finished(); }
int64_t Interpreter::next_event_id() const { return impl_->next_event_id(); }
int64_t Interpreter::now_ms() const { return impl_->now_ms(); }
OpenWork Interpreter::open_work() const { return impl_->open_work(); }
std::string Interpreter::StateJson() const { return impl_->StateJson(); }

}  // namespace retrace::runtime
