// ReadModelWriter: a thread that tails the outbox into the read models while
// the engine runs in the same process (`retrace worker`, `retrace demo`;
// docs/projections.md#where-the-writer-runs). The engine never waits for it:
// transitions only add outbox rows, which the writer applies in batches
// (ReadModels::ApplyOutbox) as fast as it can, then polls.
//
//   ASSIGN_OR_RETURN(auto writer,
//                    ReadModelWriter::Start(store, "/var/retrace.sqlite"));
//   ...                                  // the engine runs
//   RETURN_IF_ERROR(writer->Stop());     // applies what is left, then stops
//
// Thread safety: Start and Stop from one thread; stats() from any thread.
// The writer owns its own SQLite connection; queries open theirs
// (ReadModels::OpenForQueries) and read while it writes.
#ifndef RETRACE_PROJECTION_WRITER_H_
#define RETRACE_PROJECTION_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "history/history_store.h"
#include "projection/read_models.h"

namespace retrace::projection {

struct WriterOptions {
  // Outbox rows applied per SQLite transaction. Default: kDefaultBatchRows
  int batch_rows = kDefaultBatchRows;
  // How long the writer sleeps once it has emptied the outbox.
  // Default: 100ms
  absl::Duration poll_interval = absl::Milliseconds(100);
  // How long it waits after a failed batch (e.g. SQLITE_BUSY from another
  // writer) before it tries again; the rows stay in the outbox meanwhile.
  // Default: 1s
  absl::Duration retry_interval = absl::Seconds(1);
};

struct WriterStats {
  int64_t rows_applied = 0;  // outbox rows applied since Start
  int64_t batches = 0;       // successful ApplyOutbox calls that applied rows
  int64_t failures = 0;      // failed ApplyOutbox calls
  absl::Status last_error;   // of the latest failure (OK: none yet)
};

class ReadModelWriter {
 public:
  // Opens the read models at `path` (creating and migrating them; their
  // errors are returned here) and starts the thread. `store` must outlive
  // the writer.
  static absl::StatusOr<std::unique_ptr<ReadModelWriter>> Start(
      history::HistoryStore* store, const std::string& path,
      const WriterOptions& options = {});
  // Stops the thread without draining, if Stop was not called.
  ~ReadModelWriter();

  // Stops the thread. With `drain`, first applies outbox rows until the
  // outbox is empty (rows written meanwhile included, until one look finds
  // none). Returns the error that ended the drain, else OK. Idempotent.
  absl::Status Stop(bool drain = true);

  WriterStats stats() const;

 private:
  ReadModelWriter(std::unique_ptr<ReadModels> models,
                  const WriterOptions& options);
  void Loop();
  // Applies one batch; records the outcome. Returns the rows applied, or
  // the error.
  absl::StatusOr<int> ApplyOnce();

  std::unique_ptr<ReadModels> models_;  // used by the thread only
  const WriterOptions options_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  WriterStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
  bool joined_ = false;
};

}  // namespace retrace::projection

#endif  // RETRACE_PROJECTION_WRITER_H_
