// The scripted runs behind testdata/histories/: each scenario drives one
// testdata definition through the real interpreter (RunDriver) to a history.
// `bazel run //runtime:testdata_gen` rewrites the files; testdata_test checks
// that the committed files are exactly what the code produces today and that
// each replays to its recorded state.
#ifndef RETRACE_RUNTIME_TESTDATA_SCENARIOS_H_
#define RETRACE_RUNTIME_TESTDATA_SCENARIOS_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/definition.h"
#include "runtime/run_driver.h"

namespace retrace::runtime {

struct Scenario {
  std::string name;             // testdata/histories/<name>.json
  std::string definition_file;  // under testdata/definitions/
  std::string input_json;
  std::function<absl::Status(RunDriver&)> drive;
};

const std::vector<Scenario>& Scenarios();

// For test names and failure messages.
inline void PrintTo(const Scenario& scenario, std::ostream* os) {
  *os << scenario.name;
}

// Reads and parses a definition file.
absl::StatusOr<std::shared_ptr<const Definition>> LoadDefinition(
    const std::string& path);

// Runs `scenario` with definitions from `definitions_dir`.
absl::StatusOr<std::unique_ptr<RunDriver>> RunScenario(
    const Scenario& scenario, const std::string& definitions_dir);

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_TESTDATA_SCENARIOS_H_
