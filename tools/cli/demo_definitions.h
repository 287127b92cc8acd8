// The demo workflow definitions of testdata/demo/demo-*.json, compiled into
// the binary (by the genrule :demo_definitions_cc) so `retrace demo` works
// from any directory.
#ifndef RETRACE_TOOLS_CLI_DEMO_DEFINITIONS_H_
#define RETRACE_TOOLS_CLI_DEMO_DEFINITIONS_H_

#include <utility>
#include <vector>

namespace retrace::cli {

// (file name, definition JSON) in file name order.
const std::vector<std::pair<const char*, const char*>>& DemoDefinitions();

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_DEMO_DEFINITIONS_H_
