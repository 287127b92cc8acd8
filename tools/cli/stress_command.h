// `retrace stress`: the workload of the crash test (docs/reliability.md).
//
//   retrace stress --db DIR --seed S [--duration 10s | --ops N]
//   retrace stress --db DIR --drain [--timeout 60s]
//   retrace stress verify --db DIR [--final]
//
// The workload opens the engine on DIR with synced commits, registers the
// stress definitions (testdata/stress/), runs an in-process worker pool, the
// engine's timer thread and a projection applier, and issues a seeded random
// mix of starts (with and without dedupe keys), signal ingestion, cancels,
// terminations, retries and a version removal. Every operation acknowledged
// (OK) is appended to DIR/expected.log and synced before the next one
// (expected_log.h). It is built to be killed (SIGKILL) at any moment.
// `verify` checks the store against itself and that log (store_verifier.h).
//
// Thread safety: each call uses its own store and threads; calls on
// different directories may run concurrently.
#ifndef RETRACE_TOOLS_CLI_STRESS_COMMAND_H_
#define RETRACE_TOOLS_CLI_STRESS_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace retrace::cli {

inline constexpr char kStressUsage[] =
    R"(usage: retrace stress --db DIR [options]
       retrace stress verify --db DIR [--final]

The crash test's workload (docs/reliability.md#crash-testing). Opens the
engine on DIR (synced commits), registers the stress workflows
(testdata/stress/), runs worker threads with the built-in actions, the timer
thread and the projection, and issues a seeded random mix of operations:
starts (some with dedupe keys, some repeated), signals through signal
ingress (matching a waiting run, filtered out, matching no run, duplicate
event ids, unresolved correlation, trigger starts), cancels, terminations,
retries of failed runs and the removal of a workflow version. Every
operation acknowledged is appended to DIR/expected.log and synced. Safe to
kill at any moment; run it again on the same DIR to go on.

Options:
  --db DIR             Store directory (required; created if missing).
  --seed S             Seeds the choice of operations. Default: from the clock
                       (printed).
  --duration D         Issue operations for this long. Default: 10s
  --ops N              Or stop after N operations.
  --in-flight K        Most runs of the workload open at once. Default: 32
  --workers N          Worker threads. Default: 8
  --projection=BOOL    Apply the outbox to DIR.sqlite while running.
                       Default: true
  --drain              Issue no operations: run workers and timers until every
                       run has ended (or --timeout passes: exit 1).
  --timeout D          Limit of --drain. Default: 60s

verify: checks the store (every history dense, valid and replaying ok, the
engine's cached run state equal to a full replay, no step completed twice,
no leaked rows, dedupe keys honoured, read models equal to a rebuild) and
every acknowledged operation of DIR/expected.log against it. Prints each
violation and `verify: R runs verified, V violations`; exits 1 on any.
  --final              Also require every run to have ended (after --drain).
)";

int RunStressCommand(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_STRESS_COMMAND_H_
