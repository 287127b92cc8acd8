// `retrace replay` and `retrace def validate`.
#ifndef RETRACE_TOOLS_CLI_RUNTIME_COMMANDS_H_
#define RETRACE_TOOLS_CLI_RUNTIME_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

namespace retrace::cli {

inline constexpr char kReplayUsage[] =
    R"(usage: retrace replay HISTORY_FILE|DIR... --definition DEF.json [options]

Replays each history file (JSON or binary; a directory replays every file in
it) against a workflow definition and prints, per file, `ok` or the
non-determinism report: the event id, what the history recorded and what the
definition asks for now. Histories of other workflows are skipped. Exits 0
only if every history of the definition's workflow replays ok (and there is
at least one).

Options:
  --definition FILE   The definition to check the histories against (required).
  --at N              Print the interpreter state after event N as JSON.
  --timeline          Print each run as a timeline (step, attempt, start, end,
                      duration, outcome).
)";

inline constexpr char kDefUsage[] =
    R"(usage: retrace def validate DEF.json...

Parses and validates workflow definitions, printing every problem with its
JSON pointer, stable code and message. Exits 0 only if all are valid.
)";

int RunReplayCommand(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);
int RunDefCommand(const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_RUNTIME_COMMANDS_H_
