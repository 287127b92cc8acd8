// Relational read models of the workflow histories, in SQLite
// (docs/projections.md). They are projections only: written from the history
// (through the engine's outbox), rebuildable at any time, and nothing that
// decides execution reads them.
//
//   ASSIGN_OR_RETURN(auto models, ReadModels::Open(store,
//   "/var/retrace.sqlite")); ASSIGN_OR_RETURN(int applied,
//   models->ApplyOutbox());   // tail the outbox ASSIGN_OR_RETURN(RunPage page,
//   models->ListRuns(query)); // query
//
// Applying is idempotent: every run row remembers the last event id applied,
// so re-applying the same outbox rows (e.g. after a crash between the SQLite
// commit and the outbox delete) changes nothing.
//
// Thread safety: not thread-safe; one ReadModels per thread (SQLite's WAL lets
// several processes read while one writes).
#ifndef RETRACE_PROJECTION_READ_MODELS_H_
#define RETRACE_PROJECTION_READ_MODELS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "history/history_store.h"
#include "projection/sqlite.h"

namespace retrace::projection {

// The schema version this build writes; older files are migrated on open.
inline constexpr int kSchemaVersion = 2;

struct RunRow {
  std::string ns, run_id, workflow, version, status;
  std::string created_at, updated_at;
  int64_t current_step_index = -1;  // top-level index of the latest step
  int64_t steps_completed = 0;
  int64_t attempt = 1;
  std::string completion_reason, error_code, error_message;
  int64_t last_event_id = 0;
};

struct StepRow {
  std::string step_id, step_path, action, status, worker_id;
  int64_t attempt = 0;
  std::string started_at, finished_at;
  int64_t duration_ms = -1;
  std::string error_code, error_message;
};

struct LogRow {
  int64_t sequence = 0;  // the event id
  std::string event_type, step_id, timestamp, details;
};

// A signal audit record (one per ingested event).
struct RuntimeEventRow {
  std::string ns, event_id, event_name, correlation_key, key_source;
  std::string matched_run_ids, resumed_run_ids, started_run_ids;  // JSON arrays
  std::string error_code, ingested_at;
};

struct RunQuery {
  std::string ns = "default";
  std::string workflow;                  // empty: any
  std::string status;                    // empty: any
  std::string created_from, created_to;  // RFC 3339, inclusive; empty: open
  std::string cursor;  // from the previous page; empty: first page
  int limit = 50;
};

struct RunList {
  std::vector<RunRow> runs;  // newest first
  std::string next_cursor;   // empty: no more
};

struct LogPage {
  std::vector<LogRow> logs;
  int64_t total = 0, page = 1, limit = 50, total_pages = 0;
};

class ReadModels {
 public:
  // Opens (creating and migrating) the SQLite file at `path`.
  static absl::StatusOr<std::unique_ptr<ReadModels>> Open(
      history::HistoryStore* store, const std::string& path);

  // Applies up to `max_rows` outbox rows in one SQLite transaction, then
  // deletes them from the outbox. Returns how many were applied.
  absl::StatusOr<int> ApplyOutbox(int max_rows = 1000);
  // Outbox rows not yet applied.
  absl::StatusOr<int64_t> Lag();
  // Drops every row and rebuilds all read models from the histories.
  absl::Status Rebuild();

  absl::StatusOr<std::optional<RunRow>> GetRun(const std::string& ns,
                                               const std::string& run_id);
  absl::StatusOr<RunList> ListRuns(const RunQuery& query);
  absl::StatusOr<std::vector<StepRow>> ListSteps(const std::string& ns,
                                                 const std::string& run_id);
  absl::StatusOr<LogPage> Logs(const std::string& ns, const std::string& run_id,
                               int64_t page, int64_t limit);

  // Runtime (signal) events by correlation key or event id (one of them;
  // newest first, at most `limit`).
  absl::StatusOr<std::vector<RuntimeEventRow>> RuntimeEvents(
      const std::string& ns, const std::string& correlation_key,
      const std::string& event_id, int limit);

  // Every row of every table, as text lines in a fixed order (for comparing
  // a rebuild with the incrementally maintained tables).
  absl::StatusOr<std::vector<std::string>> Dump();

 private:
  ReadModels(history::HistoryStore* store, std::unique_ptr<Database> db)
      : store_(store), db_(std::move(db)) {}
  absl::Status Migrate();
  absl::Status ApplyEvents(const std::string& ns, const std::string& run_id,
                           int64_t first, int64_t last);
  absl::Status ApplyEvent(const std::string& ns, const std::string& run_id,
                          const history::HistoryEvent& e);
  absl::Status ApplyAudit(const history::SignalAuditRecord& audit);

  // Prepared statements by SQL text, reused (reset) across events.
  absl::StatusOr<Statement*> Cached(absl::string_view sql);

  history::HistoryStore* store_;
  std::unique_ptr<Database> db_;
  absl::flat_hash_map<std::string, std::unique_ptr<Statement>> statements_;
};

}  // namespace retrace::projection

#endif  // RETRACE_PROJECTION_READ_MODELS_H_
