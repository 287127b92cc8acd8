// `retrace projection run|rebuild`, `retrace runs list|get|steps|logs`.
#ifndef RETRACE_TOOLS_CLI_PROJECTION_COMMANDS_H_
#define RETRACE_TOOLS_CLI_PROJECTION_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

namespace retrace::cli {

inline constexpr char kProjectionUsage[] =
    R"(usage: retrace projection <command> [options]

The SQLite read models of the runs (docs/projections.md), in the file
DIR.sqlite next to the store directory DIR.

Commands:
  run        Apply the outbox (history events not yet projected) and print
             the lag before (outbox rows, age of the oldest), how many rows
             were applied and the lag left.
  rebuild    Drop every read-model row and rebuild them from the histories.

`retrace worker` and `retrace demo` keep the read models up to date while
they run (their --projection option); the store directory is theirs then,
so `retrace projection` waits until they exit.

Options:
  --db DIR   The store. Default: ./.retrace
)";

inline constexpr char kRunsUsage[] =
    R"(usage: retrace runs <command> [options]

Queries over the read models. They are as fresh as the last projection:
`retrace worker` keeps them up to date while it runs; otherwise run
`retrace projection run` first. Queries open only DIR.sqlite, so they work
while a worker holds the store.

Commands:
  list                 Runs, newest first.
      --workflow NAME  --status STATUS  --from TIME  --to TIME (RFC 3339)
      --limit N        Page size. Default: 20
      --cursor C       The next_cursor of the previous page.
  get RUN              One run with its progress (percent of the top-level
                       steps done; docs/projections.md#progress).
  steps RUN            The run's step attempts.
  logs RUN             The run's execution log (details masked).
      --page N --limit N

Options: --db DIR (default ./.retrace), --namespace NS (default default),
--json for scripts.
)";

inline constexpr char kEventsUsage[] =
    R"(usage: retrace events list [--key KEY | --event-id ID] [options]

Ingested signal events (their audit records) from the read models, newest
first: key, key source, matched/resumed/started runs, error code.

Options: --db DIR (default ./.retrace), --namespace NS, --limit N (default
20), --json.
)";

int RunEventsCommand(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);

int RunProjectionCommand(const std::vector<std::string>& args,
                         std::ostream& out, std::ostream& err);
int RunRunsCommand(const std::vector<std::string>& args, std::ostream& out,
                   std::ostream& err);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_PROJECTION_COMMANDS_H_
