// The `retrace` binary. See cli.h and docs/cli.md.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tools/cli/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  // Debian's Abseil is built with mutex deadlock detection on, which costs a
  // graph update on every lock; the engine's lock order is fixed by design.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Under `bazel run`, resolve relative paths against the user's directory.
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY")) {
    if (chdir(dir) != 0) {
      std::cerr << "retrace: cannot change to " << dir << "\n";
      return 1;
    }
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  return retrace::cli::Run(args, std::cout, std::cerr);
}
