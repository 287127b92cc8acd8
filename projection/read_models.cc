#include "projection/read_models.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/events.h"
#include "history/history_file.h"
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

std::string JsonList(
    const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out = "[";
  for (int i = 0; i < items.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "\"", items[i], "\"");
  }
  return out + "]";
}

std::string Time(const google::protobuf::Timestamp& ts) {
  return history::FormatTimestamp(ts);
}

int64_t Millis(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(history::kTimestampFormat, rfc3339, &t, &err)) return 0;
  return absl::ToUnixMillis(t);
}

// The top-level step index of a step path ("/steps/3/then/0#2" -> 3).
int64_t TopIndex(absl::string_view path) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  int64_t index = -1;
  if (parts.size() >= 3 && parts[1] == "steps") {
    absl::string_view n = parts[2].substr(0, parts[2].find_first_of("#~"));
    if (!absl::SimpleAtoi(n, &index)) index = -1;
  }
  return index;
}

std::string StepIdOf(const HistoryEvent& e) {
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

}  // namespace

absl::StatusOr<std::unique_ptr<ReadModels>> ReadModels::Open(
    history::HistoryStore* store, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path));
  auto models =
      std::unique_ptr<ReadModels>(new ReadModels(store, std::move(db)));
  RETURN_IF_ERROR(models->Migrate());
  return models;
}

absl::Status ReadModels::Migrate() {
  RETURN_IF_ERROR(db_->Exec(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  ASSIGN_OR_RETURN(Statement get,
                   db_->Prepare("SELECT MAX(version) FROM schema_version"));
  ASSIGN_OR_RETURN(bool row, get.Step());
  const int64_t current = row && !get.IsNull(0) ? get.Int(0) : 0;
  if (current > kSchemaVersion) {
    return Error(
        absl::StatusCode::kFailedPrecondition, "PROJECTION_SCHEMA_UNSUPPORTED",
        absl::StrCat("the read-model file has schema version ", current,
                     "; this build knows up to ", kSchemaVersion));
  }
  // Migrations, one per version, each in its own transaction.
  const std::vector<const char*> migrations = {kSchemaV1, kSchemaV2};
  for (int64_t v = current; v < kSchemaVersion; ++v) {
    RETURN_IF_ERROR(db_->Exec("BEGIN"));
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
  std::vector<std::pair<std::string, history::OutboxEntry>> rows;
  for (auto it = store_->Scan(history::KeySpace::kOutbox, "", ""); it->Valid();
       it->Next()) {
    history::OutboxEntry entry;
    if (!entry.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return Error(absl::StatusCode::kDataLoss, "STORE_CORRUPT",
                   "an outbox row does not parse");
    }
    rows.emplace_back(std::string(it->key()), std::move(entry));
    if (static_cast<int>(rows.size()) >= max_rows) break;
  }
  if (rows.empty()) return 0;
  RETURN_IF_ERROR(db_->Exec("BEGIN"));
  for (const auto& [key, entry] : rows) {
    absl::Status s;
    if (!entry.audit_key().empty()) {
      absl::StatusOr<std::optional<std::string>> bytes =
          store_->Get(history::KeySpace::kAudit, entry.audit_key());
      history::SignalAuditRecord audit;
      if (!bytes.ok()) {
        s = bytes.status();
      } else if (bytes->has_value() && audit.ParseFromString(**bytes)) {
        s = ApplyAudit(audit);
      }
    } else {
      s = ApplyEvents(entry.namespace_(), entry.run_id(),
                      entry.first_event_id(), entry.last_event_id());
    }
    if (!s.ok()) {
      db_->Exec("ROLLBACK").IgnoreError();
      return s;
    }
  }
  RETURN_IF_ERROR(db_->Exec("COMMIT"));
  // Only after the commit: a crash in between re-applies, idempotently.
  std::vector<history::Mutation> deletes;
  for (const auto& [key, entry] : rows) {
    deletes.push_back(
        history::Mutation::Delete(history::KeySpace::kOutbox, key));
  }
  RETURN_IF_ERROR(store_->Write(deletes));
  return static_cast<int>(rows.size());
}

absl::StatusOr<int64_t> ReadModels::Lag() {
  int64_t n = 0;
  for (auto it = store_->Scan(history::KeySpace::kOutbox, "", ""); it->Valid();
       it->Next()) {
    ++n;
  }
  return n;
}

absl::Status ReadModels::Rebuild() {
  RETURN_IF_ERROR(db_->Exec("BEGIN"));
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
      s = ApplyAudit(audit);
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
      s = ApplyEvents(info.namespace_(), info.run_id(), 1,
                      info.next_event_id() - 1);
      if (!s.ok()) break;
    }
    cursor = page->next_cursor;
    if (cursor.empty()) break;
  }
  if (!s.ok()) {
    db_->Exec("ROLLBACK").IgnoreError();
    return s;
  }
  return db_->Exec("COMMIT");
}

absl::Status ReadModels::ApplyEvents(const std::string& ns,
                                     const std::string& run_id, int64_t first,
                                     int64_t last) {
  // What this run has already applied (idempotency), read once per range.
  ASSIGN_OR_RETURN(
      Statement * applied,
      Cached(
          "SELECT last_event_id FROM runs WHERE namespace = ? AND run_id = ?"));
  applied->Bind(1, ns).Bind(2, run_id);
  ASSIGN_OR_RETURN(bool exists, applied->Step());
  const int64_t last_applied = exists ? applied->Int(0) : 0;
  applied->Reset();
  int64_t newest = last_applied;
  std::string newest_time;
  auto it = store_->ReadHistory(ns, run_id, std::max(first, last_applied + 1));
  for (; it->Valid() && it->event().event_id() <= last; it->Next()) {
    const HistoryEvent& e = it->event();
    if (newest == 0 && !e.has_run_started()) {
      return Error(
          absl::StatusCode::kDataLoss, "PROJECTION_GAP",
          absl::StrCat("run ", ns, "/", run_id, ": event ", e.event_id(),
                       " arrived before the run's start"));
    }
    RETURN_IF_ERROR(ApplyEvent(ns, run_id, e));
    newest = e.event_id();
    newest_time = Time(e.event_time());
  }
  RETURN_IF_ERROR(it->status());
  if (newest == last_applied) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      Statement * update,
      Cached("UPDATE runs SET updated_at = ?, last_event_id = ? WHERE "
             "namespace = ? AND run_id = ?"));
  update->Bind(1, newest_time).Bind(2, newest).Bind(3, ns).Bind(4, run_id);
  return update->Run();
}

absl::Status ReadModels::ApplyEvent(const std::string& ns,
                                    const std::string& run_id,
                                    const HistoryEvent& e) {
  const std::string t = Time(e.event_time());
  auto exec = [&](absl::string_view sql, auto&&... binds) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * st, Cached(sql));
    int i = 0;
    (st->Bind(++i, binds), ...);
    return st->Run();
  };
  const std::string step_id = StepIdOf(e);
  int64_t duration = -1;
  auto finish_step = [&](int64_t scheduled, absl::string_view status,
                         absl::string_view code, absl::string_view message,
                         absl::string_view worker) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * started,
                     Cached("SELECT started_at FROM steps WHERE "
                            "namespace = ? AND run_id = ? AND "
                            "scheduled_event_id = ?"));
    started->Bind(1, ns).Bind(2, run_id).Bind(3, scheduled);
    ASSIGN_OR_RETURN(bool found, started->Step());
    if (found && !started->IsNull(0)) {
      duration = Millis(t) - Millis(started->Text(0));
    }
    started->Reset();
    ASSIGN_OR_RETURN(
        Statement * up,
        Cached(
            "UPDATE steps SET status = ?, finished_at = ?, started_at = "
            "COALESCE(started_at, ?), "
            "duration_ms = ?, error_code = NULLIF(?, ''), error_message = "
            "NULLIF(?, ''), "
            "worker_id = COALESCE(NULLIF(?, ''), worker_id) "
            "WHERE namespace = ? AND run_id = ? AND scheduled_event_id = ?"));
    up->Bind(1, status)
        .Bind(2, t)
        .Bind(3, t)
        .Bind(4, std::max<int64_t>(duration, 0))
        .Bind(5, code)
        .Bind(6, message)
        .Bind(7, worker)
        .Bind(8, ns)
        .Bind(9, run_id)
        .Bind(10, scheduled);
    return up->Run();
  };
  auto apply_decisions = [&](const auto& decisions) -> absl::Status {
    for (const std::string& d : decisions) {
      std::vector<std::string> parts =
          absl::StrSplit(d, absl::MaxSplits(':', 2));
      if (parts.size() == 3 && parts[0] == "wait_matched") {
        RETURN_IF_ERROR(
            exec("UPDATE waits SET status = 'matched', matched_event_id = ? "
                 "WHERE namespace = ? "
                 "AND run_id = ? AND step_id = ? AND status = 'waiting'",
                 absl::string_view(parts[2]), absl::string_view(ns),
                 absl::string_view(run_id), absl::string_view(parts[1])));
      }
    }
    return absl::OkStatus();
  };
  auto run_status = [&](absl::string_view status, absl::string_view reason,
                        absl::string_view code, absl::string_view message) {
    return exec(
        "UPDATE runs SET status = ?, completion_reason = NULLIF(?, ''), "
        "error_code = "
        "NULLIF(?, ''), error_message = NULLIF(?, '') WHERE namespace = ? AND "
        "run_id = ?",
        status, reason, code, message, absl::string_view(ns),
        absl::string_view(run_id));
  };

  switch (e.attributes_case()) {
    case HistoryEvent::kRunStarted: {
      const auto& a = e.run_started();
      RETURN_IF_ERROR(
          exec("INSERT INTO runs (namespace, run_id, workflow, version, "
               "status, created_at, "
               "updated_at, attempt, last_event_id) VALUES (?, ?, ?, ?, "
               "'RUNNING', ?, ?, ?, 0)",
               absl::string_view(ns), absl::string_view(run_id),
               absl::string_view(a.workflow()), absl::string_view(a.version()),
               absl::string_view(t), absl::string_view(t),
               int64_t{std::max(1, a.attempt())}));
      break;
    }
    case HistoryEvent::kStepScheduled: {
      const auto& a = e.step_scheduled();
      RETURN_IF_ERROR(
          exec("INSERT OR REPLACE INTO steps (namespace, run_id, "
               "scheduled_event_id, step_id, "
               "step_path, action, attempt, status) VALUES (?, ?, ?, ?, ?, ?, "
               "?, 'scheduled')",
               absl::string_view(ns), absl::string_view(run_id), e.event_id(),
               absl::string_view(a.step_id()), absl::string_view(a.step_path()),
               absl::string_view(a.action()), int64_t{a.attempt()}));
      const int64_t index = TopIndex(a.step_path());
      if (index >= 0) {
        RETURN_IF_ERROR(
            exec("UPDATE runs SET current_step_index = ? WHERE namespace = ? "
                 "AND run_id = ?",
                 index, absl::string_view(ns), absl::string_view(run_id)));
      }
      RETURN_IF_ERROR(apply_decisions(a.decisions()));
      break;
    }
    case HistoryEvent::kStepStarted: {
      const auto& a = e.step_started();
      RETURN_IF_ERROR(
          exec("UPDATE steps SET status = 'running', worker_id = ?, started_at "
               "= ? WHERE "
               "namespace = ? AND run_id = ? AND scheduled_event_id = ?",
               absl::string_view(a.worker_id()), absl::string_view(t),
               absl::string_view(ns), absl::string_view(run_id),
               a.scheduled_event_id()));
      break;
    }
    case HistoryEvent::kStepCompleted: {
      const auto& a = e.step_completed();
      RETURN_IF_ERROR(finish_step(a.scheduled_event_id(), "completed", "", "",
                                  a.worker_id()));
      RETURN_IF_ERROR(
          exec("UPDATE runs SET steps_completed = steps_completed + 1 WHERE "
               "namespace = ? AND "
               "run_id = ?",
               absl::string_view(ns), absl::string_view(run_id)));
      break;
    }
    case HistoryEvent::kStepFailed: {
      const auto& a = e.step_failed();
      RETURN_IF_ERROR(
          finish_step(a.scheduled_event_id(), "failed", a.failure().code(),
                      MaskText(a.failure().message()), a.worker_id()));
      break;
    }
    case HistoryEvent::kStepTimedOut:
      RETURN_IF_ERROR(finish_step(e.step_timed_out().scheduled_event_id(),
                                  "timed_out", "TIMEOUT", "", ""));
      break;
    case HistoryEvent::kWaitStarted: {
      const auto& a = e.wait_started();
      RETURN_IF_ERROR(exec(
          "INSERT OR REPLACE INTO waits (namespace, run_id, wait_id, step_id, "
          "event_name, "
          "correlation_key, status, deadline) VALUES (?, ?, ?, ?, ?, ?, "
          "'waiting', ?)",
          absl::string_view(ns), absl::string_view(run_id),
          absl::string_view(a.wait_id()), absl::string_view(a.step_id()),
          absl::string_view(a.event_name()),
          absl::string_view(a.correlation_key()),
          std::optional<std::string>(
              a.has_deadline() ? std::optional<std::string>(Time(a.deadline()))
                               : std::nullopt)));
      break;
    }
    case HistoryEvent::kWaitTimedOut:
      RETURN_IF_ERROR(
          exec("UPDATE waits SET status = 'timed_out' WHERE namespace = ? AND "
               "run_id = ? AND "
               "wait_id = ?",
               absl::string_view(ns), absl::string_view(run_id),
               absl::string_view(e.wait_timed_out().wait_id())));
      break;
    case HistoryEvent::kMarkerRecorded:
      if (e.marker_recorded().name() == "decisions") {
        absl::StatusOr<std::string> none;
        std::vector<std::string> decisions;
        std::string data = e.marker_recorded().details().data();
        // ["a","b"]: simple list of strings.
        for (absl::string_view piece : absl::StrSplit(data, '"')) {
          if (absl::StrContains(piece, ":")) decisions.emplace_back(piece);
        }
        RETURN_IF_ERROR(apply_decisions(decisions));
      }
      break;
    case HistoryEvent::kRunCompleted:
      RETURN_IF_ERROR(run_status(
          "COMPLETED", e.run_completed().completion_reason(), "", ""));
      break;
    case HistoryEvent::kRunFailed:
      RETURN_IF_ERROR(run_status("FAILED", "", e.run_failed().failure().code(),
                                 MaskText(e.run_failed().failure().message())));
      break;
    case HistoryEvent::kRunCanceled:
      RETURN_IF_ERROR(
          run_status("CANCELED", e.run_canceled().reason(), "", ""));
      break;
    case HistoryEvent::kRunTerminated:
      RETURN_IF_ERROR(
          run_status("TERMINATED", e.run_terminated().reason(), "", ""));
      break;
    case HistoryEvent::kRunContinuedAsNew:
      RETURN_IF_ERROR(
          run_status("CONTINUED_AS_NEW", "continued_as_new", "", ""));
      break;
    case HistoryEvent::kRunRetried:
      RETURN_IF_ERROR(run_status("RUNNING", "", "", ""));
      break;
    default:
      break;
  }
  absl::StatusOr<std::string> json = history::EventToJson(e);
  const std::string details =
      MaskJson(json.ok() ? *json : history::Summarize(e));
  RETURN_IF_ERROR(
      exec("INSERT OR REPLACE INTO execution_logs (namespace, run_id, "
           "sequence, event_type, "
           "step_id, timestamp, duration_ms, details) VALUES (?, ?, ?, ?, "
           "NULLIF(?, ''), ?, ?, ?)",
           absl::string_view(ns), absl::string_view(run_id), e.event_id(),
           absl::string_view(history::EventTypeName(e)),
           absl::string_view(step_id), absl::string_view(t),
           duration >= 0 ? std::optional<std::string>(absl::StrCat(duration))
                         : std::nullopt,
           absl::string_view(details)));
  return absl::OkStatus();
}

absl::StatusOr<Statement*> ReadModels::Cached(absl::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
    it = statements_
             .emplace(std::string(sql),
                      std::make_unique<Statement>(std::move(st)))
             .first;
  }
  return it->second.get();
}

absl::Status ReadModels::ApplyAudit(const history::SignalAuditRecord& a) {
  ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare(
          "INSERT OR REPLACE INTO runtime_events (namespace, event_id, "
          "event_name, "
          "correlation_key, key_source, matched_run_ids, resumed_run_ids, "
          "started_run_ids, "
          "skipped_triggers, error_code, error_message, ingested_at, "
          "occurred_at) VALUES "
          "(?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?, ?)"));
  st.Bind(1, a.namespace_())
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
  return st.Run();
}

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
  RunQuery q;
  ASSIGN_OR_RETURN(Statement st,
                   db_->Prepare("SELECT namespace, run_id, workflow, version, "
                                "status, created_at, updated_at, "
                                "current_step_index, steps_completed, attempt, "
                                "completion_reason, error_code, "
                                "error_message, last_event_id FROM runs WHERE "
                                "namespace = ? AND run_id = ?"));
  st.Bind(1, ns).Bind(2, run_id);
  ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return std::optional<RunRow>();
  RunRow r{st.Text(0),  st.Text(1),  st.Text(2),  st.Text(3), st.Text(4),
           st.Text(5),  st.Text(6),  st.Int(7),   st.Int(8),  st.Int(9),
           st.Text(10), st.Text(11), st.Text(12), st.Int(13)};
  return std::optional<RunRow>(std::move(r));
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
      "SELECT namespace, run_id, workflow, version, status, created_at, "
      "updated_at, "
      "current_step_index, steps_completed, attempt, completion_reason, "
      "error_code, "
      "error_message, last_event_id FROM runs WHERE namespace = ?";
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
  ASSIGN_OR_RETURN(Statement * st, Cached(sql));
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
    list.runs.push_back(
        RunRow{st->Text(0), st->Text(1), st->Text(2), st->Text(3), st->Text(4),
               st->Text(5), st->Text(6), st->Int(7), st->Int(8), st->Int(9),
               st->Text(10), st->Text(11), st->Text(12), st->Int(13)});
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
      for (int c = 0; c < 14; ++c) absl::StrAppend(&line, "|", st.Text(c));
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

}  // namespace retrace::projection
