// Relational read models of the workflow histories, in SQLite
// (docs/projections.md). They are projections only: written from the history
// (through the engine's outbox), rebuildable at any time, and nothing that
// decides execution reads them.
//
//   ASSIGN_OR_RETURN(auto models,
//                    ReadModels::Open(store, "/var/retrace.sqlite"));
//   ASSIGN_OR_RETURN(int applied, models->ApplyOutbox());  // tail the outbox
//   ASSIGN_OR_RETURN(RunList page, models->ListRuns(query));
//
// Applying is idempotent: every run row remembers the last event id applied,
// so re-applying the same outbox rows (e.g. after a crash between the SQLite
// commit and the outbox delete) changes nothing.
//
// Thread safety: not thread-safe; one ReadModels per thread (SQLite's WAL lets
// several connections, in this process or others, read while one writes).
// ReadModelWriter (projection/writer.h) runs one on its own thread.
#ifndef RETRACE_PROJECTION_READ_MODELS_H_
#define RETRACE_PROJECTION_READ_MODELS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "history/history_store.h"
#include "projection/sqlite.h"

namespace retrace::projection {

// The schema version this build writes; older files are migrated on open.
inline constexpr int kSchemaVersion = 3;

// A run's row. Progress (docs/projections.md#progress) counts the top-level
// steps of the definition: every top-level step before the current one is
// done, and a run that ended COMPLETED or CONTINUED_AS_NEW is at 100.
struct RunRow {
  std::string ns, run_id, workflow, version, status;
  std::string created_at, updated_at;
  // Top-level index (0-based) of the step the run reached last: the latest
  // step_scheduled, wait_started, timer_started or human_task_created of a
  // main step; -1 before any.
  int64_t current_step_index = -1;
  // Top-level steps of the run's definition, from its run_started event;
  // absent for histories recorded before the field existed.
  std::optional<int64_t> total_steps;
  // round(100 * done / total_steps), done = max(current_step_index, 0), or 100
  // once the run ended COMPLETED or CONTINUED_AS_NEW; absent when
  // total_steps is.
  std::optional<int64_t> progress_percent;
  // step_completed events (action attempts that succeeded, at any depth).
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

// How far the read models are behind the histories.
struct OutboxLag {
  int64_t rows = 0;  // outbox rows not yet applied
  // When the oldest of them happened: the time of its first event (engine
  // rows) or of the signal's ingestion (audit rows). Absent when rows == 0.
  std::optional<absl::Time> oldest;
};

// Measures the lag by scanning the outbox (cost grows with the lag). Reads
// only the store: safe to call from any thread while a writer runs.
absl::StatusOr<OutboxLag> MeasureOutboxLag(history::HistoryStore* store);

// Outbox rows applied per ApplyOutbox call by default.
inline constexpr int kDefaultBatchRows = 2000;

class ReadModels {
 public:
  // Opens (creating and migrating) the SQLite file at `path` for writing
  // from `store` and for queries. `store` must outlive the ReadModels.
  // Fails with PROJECTION_SQL (kInternal) when SQLite cannot open or migrate
  // the file, PROJECTION_SCHEMA_UNSUPPORTED (kFailedPrecondition) when the
  // file is newer than this build.
  static absl::StatusOr<std::unique_ptr<ReadModels>> Open(
      history::HistoryStore* store, const std::string& path);
  // As Open, for queries only (no store; another process may be writing):
  // ApplyOutbox, Lag and Rebuild fail with PROJECTION_READ_ONLY
  // (kFailedPrecondition).
  static absl::StatusOr<std::unique_ptr<ReadModels>> OpenForQueries(
      const std::string& path);
  ~ReadModels();

  // Applies up to `max_rows` outbox rows in one SQLite transaction, then
  // deletes them from the outbox. Returns how many were applied (0: the
  // outbox is empty). Rows of one run are applied together, from the event
  // after the run row's last_event_id up to the newest event the rows name.
  // Fails with the store's errors, PROJECTION_SQL, or PROJECTION_GAP
  // (kDataLoss) when a run's first event is not its run_started; nothing is
  // applied or deleted then.
  absl::StatusOr<int> ApplyOutbox(int max_rows = kDefaultBatchRows);
  // MeasureOutboxLag(store).
  absl::StatusOr<OutboxLag> Lag();
  // Drops every row and rebuilds all read models from the histories, in one
  // transaction.
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
  class Applier;  // the write path (read_models.cc)

  ReadModels(history::HistoryStore* store, std::unique_ptr<Database> db);
  absl::Status Migrate();
  absl::Status NeedStore() const;

  history::HistoryStore* store_;  // null: queries only
  std::unique_ptr<Database> db_;
  std::unique_ptr<Applier> applier_;
  // Prepared list queries by SQL text (one per combination of filters).
  std::vector<std::pair<std::string, std::unique_ptr<Statement>>> lists_;
};

}  // namespace retrace::projection

#endif  // RETRACE_PROJECTION_READ_MODELS_H_
