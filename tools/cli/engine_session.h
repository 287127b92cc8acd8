// Opening a store directory with an engine on it, and small helpers shared by
// the engine commands, `retrace demo` and `retrace bench`.
//
//   ASSIGN_OR_RETURN(EngineSession session,
//                    OpenEngine("./.retrace", /*sync=*/true,
//                               /*timer_thread=*/false));
//   session.engine->StartRun(...);
//
// Thread safety: the helpers are pure functions; an EngineSession is as safe
// as its engine (every Engine method may be called concurrently).
#ifndef RETRACE_TOOLS_CLI_ENGINE_SESSION_H_
#define RETRACE_TOOLS_CLI_ENGINE_SESSION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "history/history_store.h"
#include "projection/read_models.h"
#include "projection/writer.h"
#include "runtime/engine.h"
#include "tools/cli/args.h"

namespace retrace::cli {

// A store and the engine over it. Members are destroyed in reverse order, so
// the engine closes before its store.
struct EngineSession {
  std::unique_ptr<history::HistoryStore> store;
  std::unique_ptr<runtime::Engine> engine;
};

// Opens (creating if missing) the RocksDB store in `db` and the engine on
// it. Fails with the store's errors (STORE_IO when another process holds the
// directory).
absl::StatusOr<EngineSession> OpenEngine(const std::string& db, bool sync,
                                         bool timer_thread);

// The read-model file of the store directory `store_dir`: DIR.sqlite
// (trailing slashes ignored).
std::string ProjectionPath(absl::string_view store_dir);

// "0 rows", "12 rows, oldest 3.2s": the outbox lag as the CLI prints it, the
// age measured at `now`.
std::string FormatLag(const projection::OutboxLag& lag, absl::Time now);

// --projection[=BOOL] (absent: `fallback`): starts the read-model writer
// beside the engine of a long-lived command, on ProjectionPath(db). Returns
// null when the option is false; the read models' open errors otherwise.
absl::StatusOr<std::unique_ptr<projection::ReadModelWriter>> StartProjection(
    const Args& args, bool fallback, history::HistoryStore* store,
    const std::string& db);

// "N outbox rows applied; lag 0 rows" after the writer stopped, or its
// error.
std::string ProjectionSummary(projection::ReadModelWriter& writer,
                              const absl::Status& stopped,
                              history::HistoryStore* store);

// "--sync" style booleans: true/false/1/0/yes/no. Absent: `fallback`.
absl::StatusOr<bool> BoolOption(const Args& args, absl::string_view name,
                                bool fallback);
// A whole number >= `min`. Absent: `fallback`.
absl::StatusOr<int64_t> IntOption(const Args& args, absl::string_view name,
                                  int64_t fallback, int64_t min);
// A duration such as 500ms or 2s. Absent: `fallback`.
absl::StatusOr<absl::Duration> DurationOption(const Args& args,
                                              absl::string_view name,
                                              absl::Duration fallback);

absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// A fresh directory under $TMPDIR (or /tmp) named `prefix`-XXXXXX.
absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix);

// The `q`-quantile (0..1) of `sorted` (ascending); zero when empty.
absl::Duration Quantile(const std::vector<absl::Duration>& sorted, double q);
// "0.42 ms" / "12.3 ms" / "1.20 s".
std::string FormatLatency(absl::Duration d);

// An absl::Status as printed on stderr: its message (which leads with the
// stable code for errors made by retrace::Error).
absl::Status UsageError(absl::string_view message);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_ENGINE_SESSION_H_
