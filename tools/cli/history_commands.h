// `retrace history show|export|import`.
#ifndef RETRACE_TOOLS_CLI_HISTORY_COMMANDS_H_
#define RETRACE_TOOLS_CLI_HISTORY_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace retrace::cli {

inline constexpr char kHistoryUsage[] =
    R"(usage: retrace history <command> [options]

Commands:
  show FILE                    Print a history file (JSON or binary) as a
                               readable timeline: id, time, type, attributes.
  export --db DIR RUN          Write run RUN's history to stdout (or --output).
      --namespace NS           Namespace of the run. Default: default
      --format json|binary     File format. Default: json
      --output FILE            Write to FILE instead of stdout.
  import --db DIR FILE         Validate a history file and store it as a new
                               run (the run must not exist yet).

History files are described in docs/history-format.md.
)";

// Runs `retrace history ARGS...`. Returns an exit code (cli.h).
int RunHistoryCommand(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_HISTORY_COMMANDS_H_
