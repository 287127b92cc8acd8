// The workflow definitions of `retrace stress` (testdata/stress/*.json),
// compiled into the binary (by the genrule :stress_definitions_cc) so the
// crash test runs from any directory and its verifier can replay runs whose
// version the workload removed.
#ifndef RETRACE_TOOLS_CLI_STRESS_DEFINITIONS_H_
#define RETRACE_TOOLS_CLI_STRESS_DEFINITIONS_H_

#include <utility>
#include <vector>

namespace retrace::cli {

// (file name, definition JSON) in file name order, which is also the order
// they are registered in (stress-versioned-v1 before -v2, so version 2 is
// the default).
const std::vector<std::pair<const char*, const char*>>& StressDefinitions();

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_STRESS_DEFINITIONS_H_
