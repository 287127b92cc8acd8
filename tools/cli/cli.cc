#include "tools/cli/cli.h"

#include <iostream>

#include "tools/cli/demo_command.h"
#include "tools/cli/engine_commands.h"
#include "tools/cli/history_commands.h"
#include "tools/cli/projection_commands.h"
#include "tools/cli/runtime_commands.h"
#include "tools/cli/signal_commands.h"
#include "tools/cli/stress_command.h"

namespace retrace::cli {
namespace {

constexpr char kUsage[] = R"(usage: retrace <command> [options]

Retrace: a durable, event-sourced workflow runtime.

Commands:
  demo [--runs N]                Run a few thousand demo workflows on a fresh
                                 store and print a summary. Start here.
  run start|describe|signal|cancel|terminate|retry|history
                                 Start and inspect runs (--db DIR, default
                                 ./.retrace).
  def put|list|remove|pause|resume
                                 Register and manage workflow definitions.
  worker                         Run the built-in actions and timers until
                                 SIGINT/SIGTERM.
  bench [--runs N] [--concurrency C]
                                 Measure engine throughput and latency.
  history show FILE              Print a history file as a timeline.
  history export --db DIR RUN    Export a run's history (JSON or binary).
  history import --db DIR FILE   Import a history file as a new run.
  replay FILE|DIR... --definition DEF.json [--at N] [--timeline]
                                 Replay history files against a definition
                                 and report non-determinism.
  def validate DEF.json...       Validate workflow definitions.
  signal ingest|send             Route external events to waiting runs and
                                 triggers (NDJSON in, one result line out).
  projection run|rebuild         Bring the SQLite read models up to date, or
                                 rebuild them from the histories.
  runs list|get|steps|logs       Query runs in the read models (--json).
  events list [--key K]          Ingested signal events and where they went.
  stress --db DIR [--seed S]     The crash test's workload: a seeded mix of
                                 operations, each acknowledged one logged to
                                 DIR/expected.log (docs/reliability.md).
  stress verify --db DIR [--final]
                                 Check a store against its histories and the
                                 expected-state log.
  help                           Show this help.

Run `retrace <command> --help` for a command's options. Documentation:
docs/cli.md.
)";

}  // namespace

int Run(const std::vector<std::string>& args, std::ostream& out,
        std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  const std::string& command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "help" || command == "--help" || command == "-h") {
    out << kUsage;
    return kExitOk;
  }
  if (command == "history") return RunHistoryCommand(rest, out, err);
  if (command == "replay") return RunReplayCommand(rest, out, err);
  if (command == "def") return RunDefEngineCommand(rest, out, err);
  if (command == "run") return RunRunCommand(rest, out, err);
  if (command == "runs") return RunRunsCommand(rest, out, err);
  if (command == "events") return RunEventsCommand(rest, out, err);
  if (command == "projection") return RunProjectionCommand(rest, out, err);
  if (command == "worker") return RunWorkerCommand(rest, out, err);
  if (command == "demo") return RunDemoCommand(rest, out, err);
  if (command == "bench") return RunBenchCommand(rest, out, err);
  if (command == "signal") return RunSignalCommand(rest, std::cin, out, err);
  if (command == "stress") return RunStressCommand(rest, out, err);
  err << "retrace: unknown command '" << command << "'\n" << kUsage;
  return kExitUsage;
}

}  // namespace retrace::cli
