// The crash test's verifier: checks a store (after `retrace stress` was
// killed, or drained) against itself and against the expected-state log of
// what was acknowledged (expected_log.h). Every check is listed in
// docs/reliability.md#crash-testing; each violation names its check, the run
// and/or event it concerns, and what is wrong.
//
// Checks, per run: the history is dense (ids 1..n, as many as the run info
// says); it passes history validation and leads to the stored run info; it
// replays ok against its pinned definition; the engine's run record and the
// task, timer and wait rows it owns equal what the replay gives; no attempt
// has two outcomes and no activation (step path: step, loop index and retry
// generation) two successful completions; no signal id reached the run twice;
// a continued-as-new run's successor exists (or its start is pending).
// Across the store: no leaked task, timer or wait rows, and no run record or
// dedupe row of a run that does not exist; no two runs of one workflow share
// a dedupe key inside its window. Against the log: every acknowledged start,
// cancel, terminate, retry, human-task completion and step outcome is in the
// history; every acknowledged signal has its audit record, equal to what was
// acknowledged, and reached every run the audit says it matched; every
// trigger start exists. After catching the read models up from the outbox,
// they equal a rebuild from the histories. With `final`: every run is
// terminal and no continue-as-new start is pending.
//
// The store must not be written to by anyone else meanwhile (the projection
// catch-up deletes applied outbox rows, as `retrace projection run` does).
//
//   ASSIGN_OR_RETURN(ExpectedLog log, ReadExpectedLog(dir + "/expected.log"));
//   ASSIGN_OR_RETURN(VerifyReport report,
//                    VerifyStore(store.get(), log.ops, options));
//   for (const Violation& v : report.violations) out << v.ToString() << "\n";
//
// Thread safety: VerifyStore only reads (and catches up the read models);
// run one at a time per store.
#ifndef RETRACE_TOOLS_CLI_STORE_VERIFIER_H_
#define RETRACE_TOOLS_CLI_STORE_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "history/history_store.h"
#include "tools/cli/expected_log.h"

namespace retrace::cli {

struct VerifyOptions {
  // Also require that every run is terminal (COMPLETED, FAILED, CANCELED,
  // TERMINATED, CONTINUED_AS_NEW), no run owns a task, timer or wait row and
  // no continue-as-new start is pending.
  // Default: false
  bool final = false;

  // The SQLite read models to catch up from the outbox and compare with a
  // rebuild (made beside it, in `read_models_path` + ".rebuild", and removed
  // afterwards). Empty: no projection check.
  // Default: empty
  std::string read_models_path;

  // Definition documents to replay with when the store no longer has a
  // run's pinned version (it was removed). The stored document wins when
  // both exist.
  // Default: empty
  std::vector<std::string> known_definitions;

  // Namespace of the runs and events named in the expected-state log.
  // Default: "default"
  std::string ns = "default";
};

struct Violation {
  std::string check;  // a stable name, e.g. "history_gap" (see reliability.md)
  std::string run_id;
  std::string event_id;
  std::string message;
  // "violation: <check>: run <id> event <id>: <message>"
  std::string ToString() const;
};

struct VerifyReport {
  int64_t runs = 0;    // runs verified
  int64_t events = 0;  // history events read
  int64_t acks = 0;    // acknowledged operations checked
  std::vector<Violation> violations;
};

// Runs every check. Fails only when the store or the read models cannot be
// read (STORE_IO, STORE_CORRUPT, ...); everything wrong with the data is a
// violation in the report.
absl::StatusOr<VerifyReport> VerifyStore(
    history::HistoryStore* store, const std::vector<ExpectedOp>& expected,
    const VerifyOptions& options);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_STORE_VERIFIER_H_
