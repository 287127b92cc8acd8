// Rewrites testdata/histories/ from the scenarios in testdata_scenarios.cc:
//   bazel run //runtime:testdata_gen
// For each scenario it writes testdata/histories/<name>.json (the history)
// and testdata/states/<name>.json (the interpreter state the run reached).
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "history/events.h"
#include "history/history_file.h"
#include "runtime/testdata_scenarios.h"

int main() {
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  const std::string root = workspace ? workspace : ".";
  const std::string out_dir = root + "/testdata/histories";
  const std::string state_dir = root + "/testdata/states";
  for (const auto& scenario : retrace::runtime::Scenarios()) {
    auto driver =
        retrace::runtime::RunScenario(scenario, root + "/testdata/definitions");
    if (!driver.ok()) {
      std::cerr << scenario.name << ": " << driver.status() << "\n";
      return 1;
    }
    auto text = retrace::history::FormatHistoryFile(
        (*driver)->history(), retrace::history::HistoryFileFormat::kJson);
    if (!text.ok()) {
      std::cerr << scenario.name << ": " << text.status() << "\n";
      return 1;
    }
    std::ofstream(absl::StrCat(out_dir, "/", scenario.name, ".json")) << *text;
    std::ofstream(absl::StrCat(state_dir, "/", scenario.name, ".json"))
        << (*driver)->interpreter().StateJson() << "\n";
    std::cout << scenario.name << ": " << (*driver)->history().events_size()
              << " events, "
              << retrace::history::RunStatusName(
                     (*driver)->interpreter().status())
              << "\n";
  }
  return 0;
}
