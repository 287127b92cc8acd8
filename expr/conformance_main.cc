// bazel run //expr:conformance -- --suite DIR [--group NAME]
//
// Runs the JSONata conformance suite in DIR (relative paths resolve against
// the folder `bazel run` was started from), prints one line per failing case
// and ends with "conformance: passed P/T". Exit status 0 when the suite ran.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "expr/conformance.h"

int main(int argc, char** argv) {
  retrace::expr::ConformanceOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
      if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
      if (arg == flag && i + 1 < argc) return argv[++i];
      return "";
    };
    if (arg.rfind("--suite", 0) == 0) {
      options.suite_dir = value("--suite");
    } else if (arg.rfind("--group", 0) == 0) {
      options.group = value("--group");
    } else {
      std::cerr << "usage: conformance --suite DIR [--group NAME]\n";
      return 2;
    }
  }
  if (options.suite_dir.empty()) {
    std::cerr << "usage: conformance --suite DIR [--group NAME]\n";
    return 2;
  }
  std::filesystem::path suite(options.suite_dir);
  const char* wd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (suite.is_relative() && wd != nullptr) {
    options.suite_dir = (std::filesystem::path(wd) / suite).string();
  }
  auto result = retrace::expr::RunConformance(options);
  if (!result.ok()) {
    std::cerr << result.status() << "\n";
    return 1;
  }
  for (const std::string& line : result->failures) std::cout << line << "\n";
  std::cout << "conformance: passed " << result->passed << "/" << result->total
            << std::endl;
  return 0;
}
