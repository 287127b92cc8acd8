// The `retrace` command line, as a library so tests can run it in-process.
//
//   int code = retrace::cli::Run({"history", "show", "run.json"}, out, err);
//
// Exit codes: 0 success, 1 the command failed (err holds "retrace: CODE:
// message"), 2 usage error.
//
// Thread safety: Run may be called concurrently on different databases.
#ifndef RETRACE_TOOLS_CLI_CLI_H_
#define RETRACE_TOOLS_CLI_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace retrace::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Runs the command line `args` (without the program name).
int Run(const std::vector<std::string>& args, std::ostream& out,
        std::ostream& err);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_CLI_H_
