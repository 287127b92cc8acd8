#include "projection/read_models.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/events.h"
#include "projection/internal/timestamps.h"
#include "projection/log_details.h"
#include "projection/masking.h"

namespace retrace::projection {
namespace {

using history::HistoryEvent;

constexpr char kSchemaV1[] = R"sql(
CREATE TABLE runs (
  namespace TEXT NOT NULL,
  run_id TEXT NOT NULL,
  workflow TEXT NOT NULL,
  version TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  current_step_index INTEGER NOT NULL DEFAULT -1,
  steps_completed INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 1,
  completion_reason TEXT,
  error_code TEXT,
  error_message TEXT,
  last_event_id INTEGER NOT NULL,
  PRIMARY KEY (namespace, run_id)
);
CREATE INDEX runs_recent ON runs (namespace, created_at DESC, run_id DESC);
CREATE INDEX runs_by_workflow ON runs (namespace, workflow, created_at DESC, run_id DESC);
CREATE INDEX runs_by_status ON runs (namespace, status, created_at DESC, run_id DESC);
CREATE TABLE steps (
  namespace TEXT NOT NULL,
  run_id TEXT NOT NULL,
  scheduled_event_id INTEGER NOT NULL,
  step_id TEXT NOT NULL,
  step_path TEXT NOT NULL,
  action TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  worker_id TEXT,
  started_at TEXT,
  finished_at TEXT,
  duration_ms INTEGER,
  error_code TEXT,
  error_message TEXT,
  PRIMARY KEY (namespace, run_id, scheduled_event_id)
);
CREATE TABLE waits (
  namespace TEXT NOT NULL,
  run_id TEXT NOT NULL,
  wait_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  correlation_key TEXT NOT NULL,
  status TEXT NOT NULL,
  deadline TEXT,
  matched_event_id TEXT,
  PRIMARY KEY (namespace, run_id, wait_id)
);
CREATE TABLE execution_logs (
  namespace TEXT NOT NULL,
  run_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  step_id TEXT,
  timestamp TEXT NOT NULL,
  duration_ms INTEGER,
  details TEXT NOT NULL,
  PRIMARY KEY (namespace, run_id, sequence)
);
)sql";

constexpr char kSchemaV2[] = R"sql(
CREATE TABLE runtime_events (
  namespace TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  correlation_key TEXT NOT NULL,
  key_source TEXT NOT NULL,
  matched_run_ids TEXT NOT NULL,
  resumed_run_ids TEXT NOT NULL,
  started_run_ids TEXT NOT NULL,
  skipped_triggers TEXT NOT NULL,
  error_code TEXT,
  error_message TEXT,
  ingested_at TEXT NOT NULL,
  occurred_at TEXT,
  PRIMARY KEY (namespace, event_id)
);
CREATE INDEX runtime_events_by_key ON runtime_events (namespace, correlation_key, ingested_at DESC);
)sql";

// Progress: the definition's top-level step count (from run_started) and the
// percentage derived from it. NULL for rows written before.
constexpr char kSchemaV3[] = R"sql(
ALTER TABLE runs ADD COLUMN total_steps INTEGER;
ALTER TABLE runs ADD COLUMN progress_percent INTEGER;
)sql";

// The columns of RunRow, in its order; ReadRun reads them.
constexpr char kRunColumns[] =
    "namespace, run_id, workflow, version, status, created_at, updated_at, "
    "current_step_index, total_steps, progress_percent, steps_completed, "
    "attempt, completion_reason, error_code, error_message, last_event_id";

RunRow ReadRun(const Statement& st) {
  RunRow r;
  r.ns = st.Text(0);
  r.run_id = st.Text(1);
  r.workflow = st.Text(2);
  r.version = st.Text(3);
  r.status = st.Text(4);
  r.created_at = st.Text(5);
  r.updated_at = st.Text(6);
  r.current_step_index = st.Int(7);
  r.total_steps = st.OptionalInt(8);
  r.progress_percent = st.OptionalInt(9);
  r.steps_completed = st.Int(10);
  r.attempt = st.Int(11);
  r.completion_reason = st.Text(12);
  r.error_code = st.Text(13);
  r.error_message = st.Text(14);
  r.last_event_id = st.Int(15);
  return r;
}

std::string JsonList(
    const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out = "[";
  for (int i = 0; i < items.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "\"", items[i], "\"");
  }
  return out + "]";
}

std::string Time(const google::protobuf::Timestamp& ts) {
  return internal::FormatTimestamp(ts);
}

// Milliseconds of a time as the read models store it (RFC 3339, ms).
int64_t Millis(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(history::kTimestampFormat, rfc3339, &t, &err)) return 0;
  return absl::ToUnixMillis(t);
}

// Millis(Time(ts)) without formatting and parsing in the common range.
int64_t MillisOf(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() >= -30610224000 && ts.seconds() <= 253402300799 &&
      ts.nanos() >= 0 && ts.nanos() < 1000000000) {
    return internal::UnixMillis(ts);
  }
  return Millis(Time(ts));
}

// The top-level step index of a step path or of an id derived from one
// ("/steps/3/then/0#2" -> 3, "/steps/1~2/sleep" -> 1); -1 for anything else
// (on_failure steps, the goal wait).
int64_t TopIndex(absl::string_view path) {
  constexpr absl::string_view kPrefix = "/steps/";
  if (!absl::StartsWith(path, kPrefix)) return -1;
  path.remove_prefix(kPrefix.size());
  const size_t end = path.find_first_of("/#~!");
  int64_t index = -1;
  if (!absl::SimpleAtoi(path.substr(0, end), &index)) return -1;
  return index;
}

absl::string_view StepIdOf(const HistoryEvent& e) {
  switch (e.attributes_case()) {
    case HistoryEvent::kStepScheduled:
      return e.step_scheduled().step_id();
    case HistoryEvent::kStepStarted:
      return e.step_started().step_id();
    case HistoryEvent::kStepCompleted:
      return e.step_completed().step_id();
    case HistoryEvent::kStepFailed:
      return e.step_failed().step_id();
    case HistoryEvent::kStepTimedOut:
      return e.step_timed_out().step_id();
    case HistoryEvent::kTimerStarted:
      return e.timer_started().step_id();
    case HistoryEvent::kWaitStarted:
      return e.wait_started().step_id();
    case HistoryEvent::kWaitTimedOut:
      return e.wait_timed_out().step_id();
    case HistoryEvent::kHumanTaskCreated:
      return e.human_task_created().step_id();
    case HistoryEvent::kHumanTaskCompleted:
      return e.human_task_completed().step_id();
    case HistoryEvent::kRunFailed:
      return e.run_failed().step_id();
    default:
      return "";
  }
}

std::optional<std::string> NullIfEmpty(absl::string_view s) {
  if (s.empty()) return std::nullopt;
  return std::string(s);
}

// round(100 * done / total), with done the steps before the current one, or
// 100 once the run ended successfully; absent when the total is unknown.
std::optional<int64_t> ProgressPercent(const RunRow& r) {
  if (!r.total_steps.has_value() || *r.total_steps <= 0) return std::nullopt;
  if (r.status == "COMPLETED" || r.status == "CONTINUED_AS_NEW") return 100;
  const int64_t total = *r.total_steps;
  const int64_t done = std::clamp<int64_t>(r.current_step_index, 0, total);
  return (200 * done + total) / (2 * total);
}

absl::Status ReadOnly() {
  return Error(absl::StatusCode::kFailedPrecondition, "PROJECTION_READ_ONLY",
               "these read models were opened for queries only");
}

}  // namespace

// ---------------------------------------------------------------------------
// The write path. Within a batch (one SQLite transaction) run and step rows
// live in memory: each is read from SQLite at most once, changed by every
// event, and written once at the end. Execution logs, waits and runtime
// events are written as they come.

class ReadModels::Applier {
 public:
  explicit Applier(Database* db) : db_(db) {}

  absl::Status Prepare() {
    auto prepare = [&](std::unique_ptr<Statement>* slot,
                       absl::string_view sql) -> absl::Status {
      ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
      *slot = std::make_unique<Statement>(std::move(st));
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(
        prepare(&select_run_, absl::StrCat("SELECT ", kRunColumns,
                                           " FROM runs WHERE namespace = ? AND "
                                           "run_id = ?")));
    RETURN_IF_ERROR(prepare(
        &insert_run_,
        absl::StrCat("INSERT INTO runs (", kRunColumns,
                     ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                     "?)")));
    RETURN_IF_ERROR(prepare(
        &update_run_,
        "UPDATE runs SET status = ?, updated_at = ?, current_step_index = ?, "
        "total_steps = ?, progress_percent = ?, steps_completed = ?, "
        "completion_reason = ?, error_code = ?, error_message = ?, "
        "last_event_id = ? WHERE namespace = ? AND run_id = ?"));
    RETURN_IF_ERROR(prepare(
        &select_step_,
        "SELECT step_id, step_path, action, attempt, status, worker_id, "
        "started_at, finished_at, duration_ms, error_code, error_message FROM "
        "steps WHERE namespace = ? AND run_id = ? AND scheduled_event_id = "
        "?"));
    RETURN_IF_ERROR(prepare(
        &upsert_step_,
        "INSERT OR REPLACE INTO steps (namespace, run_id, scheduled_event_id, "
        "step_id, step_path, action, attempt, status, worker_id, started_at, "
        "finished_at, duration_ms, error_code, error_message) VALUES (?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    RETURN_IF_ERROR(prepare(
        &update_step_,
        "UPDATE steps SET status = ?, worker_id = ?, started_at = ?, "
        "finished_at = ?, duration_ms = ?, error_code = ?, error_message = ? "
        "WHERE namespace = ? AND run_id = ? AND scheduled_event_id = ?"));
    RETURN_IF_ERROR(prepare(
        &insert_log_,
        "INSERT OR REPLACE INTO execution_logs (namespace, run_id, sequence, "
        "event_type, step_id, timestamp, duration_ms, details) VALUES (?, ?, "
        "?, ?, NULLIF(?, ''), ?, ?, ?)"));
    RETURN_IF_ERROR(prepare(
        &upsert_wait_,
        "INSERT OR REPLACE INTO waits (namespace, run_id, wait_id, step_id, "
        "event_name, correlation_key, status, deadline) VALUES (?, ?, ?, ?, "
        "?, ?, 'waiting', ?)"));
    RETURN_IF_ERROR(prepare(
        &wait_timed_out_,
        "UPDATE waits SET status = 'timed_out' WHERE namespace = ? AND run_id "
        "= ? AND wait_id = ?"));
    RETURN_IF_ERROR(prepare(
        &wait_matched_,
        "UPDATE waits SET status = 'matched', matched_event_id = ? WHERE "
        "namespace = ? AND run_id = ? AND step_id = ? AND status = "
        "'waiting'"));
    RETURN_IF_ERROR(prepare(
        &upsert_audit_,
        "INSERT OR REPLACE INTO runtime_events (namespace, event_id, "
        "event_name, correlation_key, key_source, matched_run_ids, "
        "resumed_run_ids, started_run_ids, skipped_triggers, error_code, "
        "error_message, ingested_at, occurred_at) VALUES (?, ?, ?, ?, ?, ?, "
        "?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?, ?)"));
    return absl::OkStatus();
  }

  // Applies the run's events after its last applied one, up to `last`.
  absl::Status ApplyEvents(history::HistoryStore* store, const std::string& ns,
                           const std::string& run_id, int64_t last) {
    ASSIGN_OR_RETURN(RunState * run, LoadRun(ns, run_id));
    const int64_t last_applied = run != nullptr ? run->row.last_event_id : 0;
    if (last_applied >= last) return absl::OkStatus();
    auto it = store->ReadHistory(ns, run_id, last_applied + 1);
    for (; it->Valid() && it->event().event_id() <= last; it->Next()) {
      const HistoryEvent& e = it->event();
      if (run == nullptr) {
        if (!e.has_run_started()) {
          return Error(
              absl::StatusCode::kDataLoss, "PROJECTION_GAP",
              absl::StrCat("run ", ns, "/", run_id, ": event ", e.event_id(),
                           " arrived before the run's start"));
        }
        run = &runs_[RunKey(ns, run_id)];
        run->row.ns = ns;
        run->row.run_id = run_id;
      }
      RETURN_IF_ERROR(ApplyEvent(*run, e));
    }
    return it->status();
  }

  absl::Status ApplyAudit(const history::SignalAuditRecord& a) {
    upsert_audit_->Bind(1, a.namespace_())
        .Bind(2, a.event_id())
        .Bind(3, a.event_name())
        .Bind(4, a.correlation_key())
        .Bind(5, a.key_source())
        .Bind(6, JsonList(a.matched_run_ids()))
        .Bind(7, JsonList(a.resumed_run_ids()))
        .Bind(8, JsonList(a.started_run_ids()))
        .Bind(9, JsonList(a.skipped_triggers()))
        .Bind(10, a.error_code())
        .Bind(11, MaskText(a.error_message()))
        .Bind(12, Time(a.ingested_at()))
        .Bind(13, a.has_occurred_at()
                      ? std::optional<std::string>(Time(a.occurred_at()))
                      : std::nullopt);
    return upsert_audit_->Run();
  }

  // Writes the run and step rows changed since the last Flush and forgets
  // them.
  absl::Status Flush() {
    for (auto& [key, run] : runs_) {
      for (auto& [scheduled, step] : run.steps) {
        if (step.dirty) RETURN_IF_ERROR(WriteStep(run.row, scheduled, step));
      }
      if (run.dirty) RETURN_IF_ERROR(WriteRun(run));
    }
    runs_.clear();
    return absl::OkStatus();
  }

  // Forgets cached rows without writing them (after a rollback).
  void Drop() { runs_.clear(); }

 private:
  struct StepState {
    bool exists = false;  // false: no such row (an update would change none)
    bool in_db = false;
    bool dirty = false;
    std::string step_id, step_path, action, status;
    int64_t attempt = 0;
    std::optional<std::string> worker_id, started_at, finished_at;
    std::optional<std::string> error_code, error_message;
    std::optional<int64_t> duration_ms;
    std::optional<int64_t> started_ms;  // Millis(started_at)
  };
  struct RunState {
    RunRow row;
    bool in_db = false;
    bool dirty = false;
    absl::node_hash_map<int64_t, StepState> steps;  // by scheduled event id
  };

  static std::string RunKey(absl::string_view ns, absl::string_view run_id) {
    return absl::StrCat(ns, absl::string_view("\0", 1), run_id);
  }

  // The cached run, else the one in SQLite (cached), else null.
  absl::StatusOr<RunState*> LoadRun(const std::string& ns,
                                    const std::string& run_id) {
    const std::string key = RunKey(ns, run_id);
    auto it = runs_.find(key);
    if (it != runs_.end()) return &it->second;
    select_run_->Bind(1, ns).Bind(2, run_id);
    absl::StatusOr<bool> found = select_run_->Step();
    if (!found.ok() || !*found) {
      select_run_->Reset();
      if (!found.ok()) return found.status();
      return nullptr;
    }
    RunState& run = runs_[key];
    run.row = ReadRun(*select_run_);
    run.in_db = true;
    select_run_->Reset();
    return &run;
  }

  // The cached step, else the one in SQLite (cached; exists = false when
  // there is none).
  absl::StatusOr<StepState*> LoadStep(RunState& run, int64_t scheduled) {
    auto it = run.steps.find(scheduled);
    if (it != run.steps.end()) return &it->second;
    StepState& step = run.steps[scheduled];
    if (!run.in_db) return &step;  // a run new in this batch has no rows yet
    select_step_->Bind(1, run.row.ns)
        .Bind(2, run.row.run_id)
        .Bind(3, scheduled);
    absl::StatusOr<bool> found = select_step_->Step();
    if (found.ok() && *found) {
      const Statement& st = *select_step_;
      step.exists = step.in_db = true;
      step.step_id = st.Text(0);
      step.step_path = st.Text(1);
      step.action = st.Text(2);
      step.attempt = st.Int(3);
      step.status = st.Text(4);
      if (!st.IsNull(5)) step.worker_id = st.Text(5);
      if (!st.IsNull(6)) {
        step.started_at = st.Text(6);
        step.started_ms = Millis(*step.started_at);
      }
      if (!st.IsNull(7)) step.finished_at = st.Text(7);
      step.duration_ms = st.OptionalInt(8);
      if (!st.IsNull(9)) step.error_code = st.Text(9);
      if (!st.IsNull(10)) step.error_message = st.Text(10);
    }
    select_step_->Reset();
    if (!found.ok()) return found.status();
    return &step;
  }

  absl::Status WriteStep(const RunRow& run, int64_t scheduled,
                         const StepState& s) {
    if (s.in_db) {  // only these columns change after step_scheduled
      update_step_->Bind(1, s.status)
          .Bind(2, s.worker_id)
          .Bind(3, s.started_at)
          .Bind(4, s.finished_at)
          .Bind(5, s.duration_ms)
          .Bind(6, s.error_code)
          .Bind(7, s.error_message)
          .Bind(8, run.ns)
          .Bind(9, run.run_id)
          .Bind(10, scheduled);
      return update_step_->Run();
    }
    upsert_step_->Bind(1, run.ns)
        .Bind(2, run.run_id)
        .Bind(3, scheduled)
        .Bind(4, s.step_id)
        .Bind(5, s.step_path)
        .Bind(6, s.action)
        .Bind(7, s.attempt)
        .Bind(8, s.status)
        .Bind(9, s.worker_id)
        .Bind(10, s.started_at)
        .Bind(11, s.finished_at)
        .Bind(12, s.duration_ms)
        .Bind(13, s.error_code)
        .Bind(14, s.error_message);
    return upsert_step_->Run();
  }

  absl::Status WriteRun(RunState& run) {
    RunRow& r = run.row;
    r.progress_percent = ProgressPercent(r);
    if (run.in_db) {
      update_run_->Bind(1, r.status)
          .Bind(2, r.updated_at)
          .Bind(3, r.current_step_index)
          .Bind(4, r.total_steps)
          .Bind(5, r.progress_percent)
          .Bind(6, r.steps_completed)
          .Bind(7, NullIfEmpty(r.completion_reason))
          .Bind(8, NullIfEmpty(r.error_code))
          .Bind(9, NullIfEmpty(r.error_message))
          .Bind(10, r.last_event_id)
          .Bind(11, r.ns)
          .Bind(12, r.run_id);
      return update_run_->Run();
    }
    insert_run_->Bind(1, r.ns)
        .Bind(2, r.run_id)
        .Bind(3, r.workflow)
        .Bind(4, r.version)
        .Bind(5, r.status)
        .Bind(6, r.created_at)
        .Bind(7, r.updated_at)
        .Bind(8, r.current_step_index)
        .Bind(9, r.total_steps)
        .Bind(10, r.progress_percent)
        .Bind(11, r.steps_completed)
        .Bind(12, r.attempt)
        .Bind(13, NullIfEmpty(r.completion_reason))
        .Bind(14, NullIfEmpty(r.error_code))
        .Bind(15, NullIfEmpty(r.error_message))
        .Bind(16, r.last_event_id);
    RETURN_IF_ERROR(insert_run_->Run());
    run.in_db = true;
    return absl::OkStatus();
  }

  absl::Status ApplyDecisions(
      const RunRow& run,
      const google::protobuf::RepeatedPtrField<std::string>& decisions) {
    for (const std::string& d : decisions) {
      // Only wait_matched:<step>:<event id> changes a row.
      if (!absl::StartsWith(d, "wait_matched:")) continue;
      std::vector<absl::string_view> parts =
          absl::StrSplit(d, absl::MaxSplits(':', 2));
      if (parts.size() != 3) continue;
      wait_matched_->Bind(1, parts[2])
          .Bind(2, run.ns)
          .Bind(3, run.run_id)
          .Bind(4, parts[1]);
      RETURN_IF_ERROR(wait_matched_->Run());
    }
    return absl::OkStatus();
  }

  // A step attempt ended at `t`. Returns its duration in ms, or -1 when it
  // has no start time (the log row then has none).
  absl::StatusOr<int64_t> FinishStep(
      RunState& run, int64_t scheduled, const HistoryEvent& e,
      const std::string& t, absl::string_view status, absl::string_view code,
      absl::string_view message, absl::string_view worker) {
    ASSIGN_OR_RETURN(StepState * step, LoadStep(run, scheduled));
    if (!step->exists) return -1;
    int64_t duration = -1;
    if (step->started_ms.has_value()) {
      duration = MillisOf(e.event_time()) - *step->started_ms;
    }
    step->status = std::string(status);
    step->finished_at = t;
    if (!step->started_at.has_value()) {
      step->started_at = t;
      step->started_ms = MillisOf(e.event_time());
    }
    step->duration_ms = std::max<int64_t>(duration, 0);
    step->error_code = NullIfEmpty(code);
    step->error_message = NullIfEmpty(message);
    if (!worker.empty()) step->worker_id = std::string(worker);
    step->dirty = true;
    return duration;
  }

  void SetStatus(RunRow& r, absl::string_view status, absl::string_view reason,
                 absl::string_view code, absl::string_view message) {
    r.status = std::string(status);
    r.completion_reason = std::string(reason);
    r.error_code = std::string(code);
    r.error_message = std::string(message);
  }

  // The run reached top-level step `index` (ignored when negative).
  static void Reached(RunRow& r, int64_t index) {
    if (index >= 0) r.current_step_index = index;
  }

  absl::Status ApplyEvent(RunState& run, const HistoryEvent& e) {
    RunRow& r = run.row;
    const std::string t = Time(e.event_time());
    int64_t duration = -1;
    switch (e.attributes_case()) {
      case HistoryEvent::kRunStarted: {
        const auto& a = e.run_started();
        r.workflow = a.workflow();
        r.version = a.version();
        r.status = "RUNNING";
        r.created_at = t;
        r.attempt = std::max(1, a.attempt());
        if (a.total_steps() > 0) r.total_steps = a.total_steps();
        break;
      }
      case HistoryEvent::kStepScheduled: {
        const auto& a = e.step_scheduled();
        StepState& step = run.steps[e.event_id()];
        step = StepState();
        step.exists = true;
        step.dirty = true;
        step.step_id = a.step_id();
        step.step_path = a.step_path();
        step.action = a.action();
        step.attempt = a.attempt();
        step.status = "scheduled";
        Reached(r, TopIndex(a.step_path()));
        RETURN_IF_ERROR(ApplyDecisions(r, a.decisions()));
        break;
      }
      case HistoryEvent::kStepStarted: {
        const auto& a = e.step_started();
        ASSIGN_OR_RETURN(StepState * step,
                         LoadStep(run, a.scheduled_event_id()));
        if (step->exists) {
          step->status = "running";
          step->worker_id = a.worker_id();
          step->started_at = t;
          step->started_ms = MillisOf(e.event_time());
          step->dirty = true;
        }
        break;
      }
      case HistoryEvent::kStepCompleted: {
        const auto& a = e.step_completed();
        ASSIGN_OR_RETURN(
            duration, FinishStep(run, a.scheduled_event_id(), e, t, "completed",
                                 "", "", a.worker_id()));
        ++r.steps_completed;
        break;
      }
      case HistoryEvent::kStepFailed: {
        const auto& a = e.step_failed();
        ASSIGN_OR_RETURN(duration, FinishStep(run, a.scheduled_event_id(), e, t,
                                              "failed", a.failure().code(),
                                              MaskText(a.failure().message()),
                                              a.worker_id()));
        break;
      }
      case HistoryEvent::kStepTimedOut: {
        ASSIGN_OR_RETURN(
            duration, FinishStep(run, e.step_timed_out().scheduled_event_id(),
                                 e, t, "timed_out", "TIMEOUT", "", ""));
        break;
      }
      case HistoryEvent::kTimerStarted:
        Reached(r, TopIndex(e.timer_started().timer_id()));
        break;
      case HistoryEvent::kHumanTaskCreated:
        Reached(r, TopIndex(e.human_task_created().task_id()));
        break;
      case HistoryEvent::kWaitStarted: {
        const auto& a = e.wait_started();
        Reached(r, TopIndex(a.wait_id()));
        upsert_wait_->Bind(1, r.ns)
            .Bind(2, r.run_id)
            .Bind(3, a.wait_id())
            .Bind(4, a.step_id())
            .Bind(5, a.event_name())
            .Bind(6, a.correlation_key())
            .Bind(7, a.has_deadline()
                         ? std::optional<std::string>(Time(a.deadline()))
                         : std::nullopt);
        RETURN_IF_ERROR(upsert_wait_->Run());
        break;
      }
      case HistoryEvent::kWaitTimedOut:
        wait_timed_out_->Bind(1, r.ns)
            .Bind(2, r.run_id)
            .Bind(3, e.wait_timed_out().wait_id());
        RETURN_IF_ERROR(wait_timed_out_->Run());
        break;
      case HistoryEvent::kMarkerRecorded:
        if (e.marker_recorded().name() == "decisions") {
          // ["a","b"]: a plain list of strings.
          google::protobuf::RepeatedPtrField<std::string> decisions;
          for (absl::string_view piece :
               absl::StrSplit(e.marker_recorded().details().data(), '"')) {
            if (absl::StrContains(piece, ":")) {
              *decisions.Add() = std::string(piece);
            }
          }
          RETURN_IF_ERROR(ApplyDecisions(r, decisions));
        }
        break;
      case HistoryEvent::kRunCompleted:
        SetStatus(r, "COMPLETED", e.run_completed().completion_reason(), "",
                  "");
        break;
      case HistoryEvent::kRunFailed:
        SetStatus(r, "FAILED", "", e.run_failed().failure().code(),
                  MaskText(e.run_failed().failure().message()));
        break;
      case HistoryEvent::kRunCanceled:
        SetStatus(r, "CANCELED", e.run_canceled().reason(), "", "");
        break;
      case HistoryEvent::kRunTerminated:
        SetStatus(r, "TERMINATED", e.run_terminated().reason(), "", "");
        break;
      case HistoryEvent::kRunContinuedAsNew:
        SetStatus(r, "CONTINUED_AS_NEW", "continued_as_new", "", "");
        break;
      case HistoryEvent::kRunRetried:
        SetStatus(r, "RUNNING", "", "", "");
        break;
      default:
        break;
    }
    const std::string details = ExecutionLogDetails(e);
    insert_log_->BindStatic(1, r.ns)
        .BindStatic(2, r.run_id)
        .Bind(3, e.event_id())
        .BindStatic(4, history::EventTypeName(e))
        .BindStatic(5, StepIdOf(e))
        .BindStatic(6, t)
        .Bind(7,
              duration >= 0 ? std::optional<int64_t>(duration) : std::nullopt)
        .BindStatic(8, details);
    RETURN_IF_ERROR(insert_log_->Run());
    r.updated_at = t;
    r.last_event_id = e.event_id();
    run.dirty = true;
    return absl::OkStatus();
  }

  Database* db_;
  absl::node_hash_map<std::string, RunState> runs_;  // by RunKey
  std::unique_ptr<Statement> select_run_, insert_run_, update_run_;
  std::unique_ptr<Statement> select_step_, upsert_step_, update_step_;
  std::unique_ptr<Statement> insert_log_;
  std::unique_ptr<Statement> upsert_wait_, wait_timed_out_, wait_matched_;
  std::unique_ptr<Statement> upsert_audit_;
};

// ---------------------------------------------------------------------------

ReadModels::ReadModels(history::HistoryStore* store,
                       std::unique_ptr<Database> db)
    : store_(store), db_(std::move(db)) {}

ReadModels::~ReadModels() = default;

absl::StatusOr<std::unique_ptr<ReadModels>> ReadModels::Open(
    history::HistoryStore* store, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path));
  auto models =
      std::unique_ptr<ReadModels>(new ReadModels(store, std::move(db)));
  RETURN_IF_ERROR(models->Migrate());
  if (store != nullptr) {
    models->applier_ = std::make_unique<Applier>(models->db_.get());
    RETURN_IF_ERROR(models->applier_->Prepare());
  }
  return models;
}

absl::StatusOr<std::unique_ptr<ReadModels>> ReadModels::OpenForQueries(
    const std::string& path) {
  return Open(nullptr, path);
}

absl::Status ReadModels::NeedStore() const {
  return store_ != nullptr ? absl::OkStatus() : ReadOnly();
}

absl::Status ReadModels::Migrate() {
  RETURN_IF_ERROR(db_->Exec(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  ASSIGN_OR_RETURN(Statement get,
                   db_->Prepare("SELECT MAX(version) FROM schema_version"));
  ASSIGN_OR_RETURN(bool row, get.Step());
  const int64_t current = row && !get.IsNull(0) ? get.Int(0) : 0;
  get.Reset();
  if (current > kSchemaVersion) {
    return Error(
        absl::StatusCode::kFailedPrecondition, "PROJECTION_SCHEMA_UNSUPPORTED",
        absl::StrCat("the read-model file has schema version ", current,
                     "; this build knows up to ", kSchemaVersion));
  }
  // Migrations, one per version, each in its own transaction.
  const std::vector<const char*> migrations = {kSchemaV1, kSchemaV2, kSchemaV3};
  for (int64_t v = current; v < kSchemaVersion; ++v) {
    RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    // Another connection may have migrated meanwhile.
    ASSIGN_OR_RETURN(Statement again,
                     db_->Prepare("SELECT MAX(version) FROM schema_version"));
    ASSIGN_OR_RETURN(bool has, again.Step());
    if (has && !again.IsNull(0) && again.Int(0) > v) {
      again.Reset();
      RETURN_IF_ERROR(db_->Exec("COMMIT"));
      continue;
    }
    again.Reset();
    absl::Status s = db_->Exec(migrations[v]);
    if (s.ok()) {
      s = db_->Exec(
          absl::StrCat("INSERT INTO schema_version VALUES (", v + 1, ")"));
    }
    if (!s.ok()) {
      db_->Exec("ROLLBACK").IgnoreError();
      return s;
    }
    RETURN_IF_ERROR(db_->Exec("COMMIT"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ReadModels::ApplyOutbox(int max_rows) {
  RETURN_IF_ERROR(NeedStore());
  std::vector<std::string> keys;
  std::vector<std::string> audit_keys;
  // Rows of the same run are applied together, up to the newest event any
  // of them names; runs are independent of each other, so the order across
  // runs does not matter.
  std::vector<std::pair<std::string, std::string>> run_order;
  absl::flat_hash_map<std::pair<std::string, std::string>, int64_t> newest;
  for (auto it = store_->Scan(history::KeySpace::kOutbox, "", "");
       it->Valid() && static_cast<int>(keys.size()) < max_rows; it->Next()) {
    history::OutboxEntry entry;
    if (!entry.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return Error(
          absl::StatusCode::kDataLoss, "STORE_CORRUPT",
          absl::StrCat("outbox row ", absl::BytesToHexString(it->key()),
                       " does not parse"));
    }
    keys.emplace_back(it->key());
    if (!entry.audit_key().empty()) {
      audit_keys.push_back(entry.audit_key());
      continue;
    }
    auto run = std::make_pair(entry.namespace_(), entry.run_id());
    auto [slot, inserted] = newest.try_emplace(run, entry.last_event_id());
    if (inserted) {
      run_order.push_back(std::move(run));
    } else {
      slot->second = std::max(slot->second, entry.last_event_id());
    }
  }
  if (keys.empty()) return 0;
  RETURN_IF_ERROR(db_->Exec("BEGIN"));
  absl::Status s;
  for (const std::string& key : audit_keys) {
    absl::StatusOr<std::optional<std::string>> bytes =
        store_->Get(history::KeySpace::kAudit, key);
    history::SignalAuditRecord audit;
    if (!bytes.ok()) {
      s = bytes.status();
    } else if (bytes->has_value() && audit.ParseFromString(**bytes)) {
      s = applier_->ApplyAudit(audit);
    }
    if (!s.ok()) break;
  }
  for (size_t i = 0; s.ok() && i < run_order.size(); ++i) {
    const auto& [ns, run_id] = run_order[i];
    s = applier_->ApplyEvents(store_, ns, run_id, newest[run_order[i]]);
  }
  if (s.ok()) s = applier_->Flush();
  if (s.ok()) s = db_->Exec("COMMIT");
  if (!s.ok()) {
    applier_->Drop();
    db_->Exec("ROLLBACK").IgnoreError();
    return s;
  }
  // Only after the commit (synced: synchronous=FULL): a crash in between
  // re-applies the rows, idempotently.
  std::vector<history::Mutation> deletes;
  deletes.reserve(keys.size());
  for (const std::string& key : keys) {
    deletes.push_back(
        history::Mutation::Delete(history::KeySpace::kOutbox, key));
  }
  RETURN_IF_ERROR(store_->Write(deletes));
  return static_cast<int>(keys.size());
}

absl::StatusOr<OutboxLag> MeasureOutboxLag(history::HistoryStore* store) {
  OutboxLag lag;
  std::string oldest_key;
  history::OutboxEntry oldest_entry;
  for (auto it = store->Scan(history::KeySpace::kOutbox, "", ""); it->Valid();
       it->Next()) {
    if (lag.rows++ == 0) {
      oldest_key = std::string(it->key());
      oldest_entry.ParseFromArray(it->value().data(),
                                  static_cast<int>(it->value().size()));
    }
  }
  if (lag.rows == 0) return lag;
  // Keys sort in commit order (engine rows before signal audit rows), so the
  // first row is the oldest engine row when there is one.
  if (!oldest_entry.audit_key().empty()) {
    ASSIGN_OR_RETURN(
        std::optional<std::string> bytes,
        store->Get(history::KeySpace::kAudit, oldest_entry.audit_key()));
    history::SignalAuditRecord audit;
    if (bytes.has_value() && audit.ParseFromString(*bytes)) {
      lag.oldest = history::ToTime(audit.ingested_at());
    }
  } else {
    auto it =
        store->ReadHistory(oldest_entry.namespace_(), oldest_entry.run_id(),
                           oldest_entry.first_event_id());
    if (it->Valid()) lag.oldest = history::ToTime(it->event().event_time());
    RETURN_IF_ERROR(it->status());
  }
  return lag;
}

absl::StatusOr<OutboxLag> ReadModels::Lag() {
  RETURN_IF_ERROR(NeedStore());
  return MeasureOutboxLag(store_);
}

absl::Status ReadModels::Rebuild() {
  RETURN_IF_ERROR(NeedStore());
  RETURN_IF_ERROR(db_->Exec("BEGIN"));
  applier_->Drop();
  absl::Status s = db_->Exec(
      "DELETE FROM runs; DELETE FROM steps; DELETE FROM waits; DELETE FROM "
      "execution_logs; DELETE FROM runtime_events;");
  // Signal audit records.
  for (auto it =
           store_->Scan(history::KeySpace::kAudit, std::string("signal\0", 7),
                        std::string("signal\x01", 7));
       s.ok() && it->Valid(); it->Next()) {
    history::SignalAuditRecord audit;
    if (audit.ParseFromArray(it->value().data(),
                             static_cast<int>(it->value().size()))) {
      s = applier_->ApplyAudit(audit);
    }
  }
  std::string cursor;
  while (s.ok()) {
    absl::StatusOr<history::RunPage> page = store_->ListAllRuns(cursor, 1000);
    if (!page.ok()) {
      s = page.status();
      break;
    }
    for (const history::RunInfo& info : page->runs) {
      s = applier_->ApplyEvents(store_, info.namespace_(), info.run_id(),
                                info.next_event_id() - 1);
      if (!s.ok()) break;
    }
    if (s.ok()) s = applier_->Flush();  // bounded memory: a page at a time
    cursor = page->next_cursor;
    if (cursor.empty()) break;
  }
  if (s.ok()) s = db_->Exec("COMMIT");
  if (!s.ok()) {
    applier_->Drop();
    db_->Exec("ROLLBACK").IgnoreError();
  }
  return s;
}

// ---------------------------------------------------------------------------
// Queries.

absl::StatusOr<std::vector<RuntimeEventRow>> ReadModels::RuntimeEvents(
    const std::string& ns, const std::string& correlation_key,
    const std::string& event_id, int limit) {
  ASSIGN_OR_RETURN(Statement st,
                   db_->Prepare("SELECT namespace, event_id, event_name, "
                                "correlation_key, key_source, "
                                "matched_run_ids, resumed_run_ids, "
                                "started_run_ids, COALESCE(error_code, ''), "
                                "ingested_at FROM runtime_events WHERE "
                                "namespace = ?1 AND (?2 = '' OR "
                                "correlation_key = ?2) AND (?3 = '' OR "
                                "event_id = ?3) ORDER BY ingested_at DESC, "
                                "event_id DESC LIMIT ?4"));
  st.Bind(1, ns)
      .Bind(2, correlation_key)
      .Bind(3, event_id)
      .Bind(4, int64_t{std::max(1, limit)});
  std::vector<RuntimeEventRow> rows;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    rows.push_back(RuntimeEventRow{
        st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4), st.Text(5),
        st.Text(6), st.Text(7), st.Text(8), st.Text(9)});
  }
  return rows;
}

absl::StatusOr<std::optional<RunRow>> ReadModels::GetRun(
    const std::string& ns, const std::string& run_id) {
  ASSIGN_OR_RETURN(Statement st,
                   db_->Prepare(absl::StrCat(
                       "SELECT ", kRunColumns,
                       " FROM runs WHERE namespace = ? AND run_id = ?")));
  st.Bind(1, ns).Bind(2, run_id);
  ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return std::optional<RunRow>();
  return std::optional<RunRow>(ReadRun(st));
}

absl::StatusOr<RunList> ReadModels::ListRuns(const RunQuery& q) {
  // Keyset pagination, newest first: stable while rows are added. Only the
  // conditions given are in the SQL, so SQLite can use the matching index.
  std::string cursor_time, cursor_run;
  if (!q.cursor.empty()) {
    size_t bar = q.cursor.find('|');
    if (bar == std::string::npos) {
      return Error(absl::StatusCode::kInvalidArgument, "INVALID_CURSOR",
                   "not a cursor from a previous page");
    }
    cursor_time = q.cursor.substr(0, bar);
    cursor_run = q.cursor.substr(bar + 1);
  }
  std::string sql =
      absl::StrCat("SELECT ", kRunColumns, " FROM runs WHERE namespace = ?");
  std::vector<std::string> binds = {q.ns};
  auto add = [&](const char* clause, const std::string& value) {
    if (value.empty()) return;
    absl::StrAppend(&sql, " AND ", clause);
    binds.push_back(value);
  };
  add("workflow = ?", q.workflow);
  add("status = ?", q.status);
  add("created_at >= ?", q.created_from);
  add("created_at <= ?", q.created_to);
  if (!q.cursor.empty()) {
    absl::StrAppend(&sql, " AND (created_at, run_id) < (?, ?)");
    binds.push_back(cursor_time);
    binds.push_back(cursor_run);
  }
  absl::StrAppend(&sql, " ORDER BY created_at DESC, run_id DESC LIMIT ",
                  std::max(1, q.limit) + 1);
  Statement* st = nullptr;
  for (auto& [text, statement] : lists_) {
    if (text == sql) st = statement.get();
  }
  if (st == nullptr) {
    ASSIGN_OR_RETURN(Statement prepared, db_->Prepare(sql));
    lists_.emplace_back(sql, std::make_unique<Statement>(std::move(prepared)));
    st = lists_.back().second.get();
  }
  for (size_t i = 0; i < binds.size(); ++i) {
    st->Bind(static_cast<int>(i + 1), binds[i]);
  }
  RunList list;
  for (;;) {
    absl::StatusOr<bool> row = st->Step();
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    if (!*row) break;
    list.runs.push_back(ReadRun(*st));
  }
  st->Reset();
  if (static_cast<int>(list.runs.size()) > std::max(1, q.limit)) {
    list.runs.pop_back();
    list.next_cursor =
        absl::StrCat(list.runs.back().created_at, "|", list.runs.back().run_id);
  }
  return list;
}

absl::StatusOr<std::vector<StepRow>> ReadModels::ListSteps(
    const std::string& ns, const std::string& run_id) {
  ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT step_id, step_path, action, status, "
                   "COALESCE(worker_id, ''), attempt, "
                   "COALESCE(started_at, ''), COALESCE(finished_at, ''), "
                   "COALESCE(duration_ms, -1), "
                   "COALESCE(error_code, ''), COALESCE(error_message, '') FROM "
                   "steps WHERE "
                   "namespace = ? AND run_id = ? ORDER BY scheduled_event_id"));
  st.Bind(1, ns).Bind(2, run_id);
  std::vector<StepRow> rows;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    rows.push_back(StepRow{st.Text(0), st.Text(1), st.Text(2), st.Text(3),
                           st.Text(4), st.Int(5), st.Text(6), st.Text(7),
                           st.Int(8), st.Text(9), st.Text(10)});
  }
  return rows;
}

absl::StatusOr<LogPage> ReadModels::Logs(const std::string& ns,
                                         const std::string& run_id,
                                         int64_t page, int64_t limit) {
  LogPage out;
  out.page = std::max<int64_t>(1, page);
  out.limit = std::clamp<int64_t>(limit, 1, 1000);
  ASSIGN_OR_RETURN(Statement count,
                   db_->Prepare("SELECT COUNT(*) FROM execution_logs WHERE "
                                "namespace = ? AND run_id = ?"));
  count.Bind(1, ns).Bind(2, run_id);
  ASSIGN_OR_RETURN(bool has, count.Step());
  out.total = has ? count.Int(0) : 0;
  out.total_pages = (out.total + out.limit - 1) / out.limit;
  ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT sequence, event_type, COALESCE(step_id, ''), "
                   "timestamp, details FROM "
                   "execution_logs WHERE namespace = ? AND run_id = ? ORDER BY "
                   "sequence LIMIT ? OFFSET ?"));
  st.Bind(1, ns)
      .Bind(2, run_id)
      .Bind(3, out.limit)
      .Bind(4, (out.page - 1) * out.limit);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.logs.push_back(
        LogRow{st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4)});
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ReadModels::Dump() {
  std::vector<std::string> lines;
  for (const char* table :
       {"runs", "steps", "waits", "execution_logs", "runtime_events"}) {
    ASSIGN_OR_RETURN(Statement st,
                     db_->Prepare(absl::StrCat("SELECT * FROM ", table,
                                               " ORDER BY 1, 2, 3")));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string line = table;
      for (int c = 0; c < st.ColumnCount(); ++c) {
        absl::StrAppend(&line, "|", st.IsNull(c) ? "NULL" : st.Text(c));
      }
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

}  // namespace retrace::projection
