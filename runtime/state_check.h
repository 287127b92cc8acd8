// Consistency checks of the rows the engine keeps next to the histories: its
// cached run record (what DescribeRun shows and which rows a run owns), the
// task queue, timer and wait-index rows, pending continue-as-new starts and
// stored definitions. The engine writes all of them in the same atomic append
// as the events they follow from, so after any crash a full replay of a
// run's history must give exactly its stored rows. `retrace stress verify`
// (tools/cli/store_verifier.h) uses these checks; they live here because the
// row formats are the engine's own (runtime/internal/).
//
// The store must not be written to while a check runs (open it in a process
// that runs no engine).
//
//   ASSIGN_OR_RETURN(auto interp, Replay(def, history));
//   ASSIGN_OR_RETURN(std::vector<std::string> diffs,
//                    CheckRunState(store, "default", "r1", history, *interp));
//   for (const std::string& d : diffs) Report(d);
//
// Thread safety: the functions only read the store; they may run
// concurrently.
#ifndef RETRACE_RUNTIME_STATE_CHECK_H_
#define RETRACE_RUNTIME_STATE_CHECK_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "history/history.pb.h"
#include "history/history_store.h"
#include "runtime/interpreter.h"

namespace retrace::runtime {

// Compares the engine's run record of run (`ns`, `run_id`) with what
// `history` (the run's whole history, in order) and `replayed` (an
// interpreter that has applied exactly those events) imply: workflow,
// version, status, times, history length, output, failure, continued-as run,
// dedupe key, the signal ids remembered for deduplication, and the open tasks,
// timers and waits, each with the task, timer or wait-index row it owns.
// Returns one human-readable line per difference; empty when they agree.
// Fails only when the store cannot be read or a row does not parse
// (STORE_CORRUPT).
absl::StatusOr<std::vector<std::string>> CheckRunState(
    history::HistoryStore* store, absl::string_view ns,
    absl::string_view run_id, const history::History& history,
    const Interpreter& replayed);

// Rows that belong to nothing, one line each naming the run concerned: task,
// timer and wait-index rows that no run record lists (leaked rows), run
// records of runs without a history, and dedupe rows naming a run that does
// not exist.
absl::StatusOr<std::vector<std::string>> FindOrphanRows(
    history::HistoryStore* store);

// Continue-as-new starts recorded (with the run that continued) but not yet
// done: (namespace, new run id) pairs. The engine does them when it opens.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
PendingContinuations(history::HistoryStore* store);

// The document of definition (`ns`, `name`, `version`) as registered, or
// std::nullopt when that version is not registered (never was, or removed).
absl::StatusOr<std::optional<std::string>> StoredDefinition(
    history::HistoryStore* store, absl::string_view ns, absl::string_view name,
    absl::string_view version);

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_STATE_CHECK_H_
