// The `retrace` binary. See cli.h and docs/cli.md.
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  return retrace::cli::Run(args, std::cout, std::cerr);
}
