// `retrace run ...`, `retrace def put|list|remove|pause|resume` and
// `retrace worker`: the engine's operations on a store directory (--db).
//
// Each command opens the store and the engine, performs one operation and
// closes them again; RocksDB lets one process open a directory at a time, so
// while `retrace worker` runs on a directory, other commands on it fail with
// STORE_IO (docs/cli.md).
//
//   int code = RunRunCommand({"describe", "order-17", "--json"}, out, err);
//
// Thread safety: each call opens its own store; calls on different
// directories may run concurrently.
#ifndef RETRACE_TOOLS_CLI_ENGINE_COMMANDS_H_
#define RETRACE_TOOLS_CLI_ENGINE_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

namespace retrace::cli {

inline constexpr char kRunUsage[] =
    R"(usage: retrace run <command> [options]

Commands:
  start WORKFLOW           Start a run of WORKFLOW; prints its run id.
      --input JSON           The run's input. Default: null
      --input-file FILE      Read the input from FILE instead.
      --run-id ID            Run id (idempotent: an existing id is returned
                             as a duplicate). Default: generated
      --version V            Definition version. Default: the latest
      --dedupe-key KEY       Deduplicate starts with the same key.
  describe RUN [--json]    Status, open tasks and waits, output or failure.
  signal RUN EVENT         Send event EVENT to run RUN.
      --payload JSON         The event's payload. Default: null
      --correlation-key K    The key the event carries.
      --signal-id ID         Idempotency: a second signal with the same id
                             is acknowledged and ignored.
  cancel RUN               Cancel a run (pending tasks and timers removed).
  terminate RUN            Terminate a run at once.
  retry RUN                Retry a failed run from its failed step.
      --reason TEXT          Why (cancel, terminate, retry). Recorded.
  history RUN [--json]     Print the run's history as a timeline, or with
                           --json as a history file (docs/history-format.md).
      --from N               Start at event N. Default: 1

Common options:
  --db DIR                 The store directory. Default: ./.retrace
  --namespace NS           Default: default
  --identity NAME          Who asks (recorded). Default: cli:$USER
)";

inline constexpr char kDefEngineUsage[] =
    R"(usage: retrace def <command> [options]

Commands:
  validate DEF.json...     Validate definitions (no store needed).
  put DEF.json...          Register definitions (idempotent for the same
                           name, version and document).
  list                     Registered definitions: name, version, active,
                           registered at.
  remove NAME VERSION      Remove one version; its runs fail on their next
                           decision with WORKFLOW_VERSION_NOT_FOUND.
  pause NAME               Refuse new starts (WORKFLOW_NOT_ACTIVE); started
                           runs go on.
  resume NAME              Accept starts again.

Options (all but validate):
  --db DIR                 The store directory. Default: ./.retrace
  --namespace NS           Default: default
)";

inline constexpr char kWorkerUsage[] =
    R"(usage: retrace worker [options]

Runs the built-in actions (core.echo, core.fail, core.log, core.noop) for the
runs in --db, and the engine's timers, until SIGINT or SIGTERM; then drains:
tasks in flight finish, no new ones are taken (a second signal ends the
process at once). Meanwhile a projection writer keeps the read models in
DIR.sqlite up to date (`retrace runs ...` reads them while the worker runs);
it applies what is left when the worker stops.

Options:
  --db DIR                 The store directory. Default: ./.retrace
  --namespace NS           Default: default
  --task-queues Q1,Q2      Task queues to poll. Default: default
  --threads N              Tasks run at once. Default: 4
  --identity NAME          Worker identity. Default: HOST:PID
  --idle-exit DURATION     Exit once no task is in flight, a poll found the
                           queue empty, nothing happened for DURATION and no
                           timer is due within it (e.g. 2s). Default: never
  --sync=false             Relaxed commits (no WAL sync per transition).
  --projection=false       Do not write the read models (then run
                           `retrace projection run` after the worker).
                           Default: true
  --status-every DURATION  Print a status line (tasks, projection lag:
                           outbox rows and age of the oldest) this often.
                           Default: never
)";

// Each runs its command line (without the command word) and returns an exit
// code (cli.h).
int RunRunCommand(const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err);
// `def validate` goes to RunDefCommand (runtime_commands.h); the rest here.
int RunDefEngineCommand(const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err);
int RunWorkerCommand(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_ENGINE_COMMANDS_H_
