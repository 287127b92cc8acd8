// `retrace signal ingest|send`.
#ifndef RETRACE_TOOLS_CLI_SIGNAL_COMMANDS_H_
#define RETRACE_TOOLS_CLI_SIGNAL_COMMANDS_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace retrace::cli {

inline constexpr char kSignalUsage[] =
    R"(usage: retrace signal <command> [options]

Commands:
  ingest [FILE...]       Ingest NDJSON events (one JSON object a line) from
                         the files, or stdin when none is given or FILE is -.
                         Prints one JSON result line per event and a final
                         summary line. A malformed line gets an error result
                         naming its line number (in its file) and is skipped;
                         the exit code
                         is 0 only if every line was accepted.
      --strict           Stop at the first malformed line without ingesting it.
      --batch N          Events per batch (one audit commit). Default: 1000
  send NAME              Ingest a single event.
      --payload JSON     Its payload. Default: null
      --key KEY          An explicit correlation key.
      --id ID            Its id. Default: a random one.

Common options:
  --db DIR                     The store. Default: ./.retrace
  --namespace NS               Default namespace of events. Default: default
  --correlation-config FILE    Correlation paths (else the environment
                               variable RETRACE_CORRELATION_PATHS_JSON).

Event lines: {"id": "...", "name": "...", "namespace": "...", "payload": {...},
"correlation_key": "...", "occurred_at": "RFC 3339"}; id and name required.
See docs/signals.md.
)";

// `in` is read when no file is given (stdin in the binary).
int RunSignalCommand(const std::vector<std::string>& args, std::istream& in,
                     std::ostream& out, std::ostream& err);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_SIGNAL_COMMANDS_H_
