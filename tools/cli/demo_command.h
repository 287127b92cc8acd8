// `retrace demo` and `retrace bench`: the engine end to end in one process,
// on a fresh store, with an in-process WorkerPool running the built-in
// actions.
//
//   int code = RunDemoCommand({"--runs", "50"}, out, err);
//
// Thread safety: each call uses its own store and threads; calls may run
// concurrently.
#ifndef RETRACE_TOOLS_CLI_DEMO_COMMAND_H_
#define RETRACE_TOOLS_CLI_DEMO_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace retrace::cli {

inline constexpr char kDemoUsage[] =
    R"(usage: retrace demo [options]

Registers the demo workflows (testdata/demo/: a 3-step order flow, a flaky
step retried and then a fallback, a wait for a payment.settled signal, a
300ms durable sleep), starts --runs runs spread over them, sends each
payment run its signal, runs an in-process worker pool until every run has
finished and prints a summary: runs by status, steps executed, throughput
and start-to-completion latency. A projection writer fills the read models
(DIR.sqlite beside the store) meanwhile; with --keep, `retrace runs list
--db DIR` shows the runs.

Options:
  --runs N             Runs to start. Default: 2000
  --workers N          Worker threads. Default: 16
  --db DIR             Store directory. Default: a fresh temporary directory,
                       removed afterwards unless --keep
  --keep               Keep the temporary store (to inspect it with
                       `retrace run describe --db DIR ...`).
  --sync=false         Relaxed commits (no WAL sync per transition).
  --timeout DURATION   Give up waiting after this long. Default: 60s
  --projection=false   Do not write the read models. Default: true
)";

inline constexpr char kBenchUsage[] =
    R"(usage: retrace bench [options]

Measures the engine on a 3-step workflow whose steps are core.echo, each
returning its input + 1 (input 0, output 3), keeping exactly C runs in
flight: two starter threads start as many runs as have ended (DescribeRun
shows them finished), up to --start-batch at a time in one StartRuns commit.
With --start-batch 0, C client threads instead each start a run with
StartRun, wait for it to finish and start the next. Prints runs/s and the
p50/p99/max start-to-completion latency. --concurrency 1 measures sequential
latency. Also prints the CPU time the process used (per run, and cores
busy) and, with synced commits, before and after the runs, how long the
store's disk takes for a 512-byte write + fdatasync (p50 and p90 of 500):
the floor under every synced commit.

Options:
  --runs N             Runs in all. Default: 20000
  --concurrency C      Runs in flight. Default: 64
  --workers N          Worker threads. Default: C (at most 64)
  --start-batch N      Most runs started in one StartRuns call; 0: one
                       StartRun per client thread. Default: 16
  --sync=BOOL          Synced commits (each acknowledged transition survives
                       power loss). Default: true
  --db DIR             Store directory. Default: a fresh temporary directory,
                       removed afterwards unless --keep
  --keep               Keep the store.
  --projection         Run the read-model writer beside the engine (its
                       cost is then in the figures) and print its lag when
                       the runs finished. Default: false
)";

int RunDemoCommand(const std::vector<std::string>& args, std::ostream& out,
                   std::ostream& err);
int RunBenchCommand(const std::vector<std::string>& args, std::ostream& out,
                    std::ostream& err);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_DEMO_COMMAND_H_
