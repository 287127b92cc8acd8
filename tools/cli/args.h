// A small argument parser for subcommands: positional arguments plus
// `--name value`, `--name=value` and boolean `--name` options, each declared
// up front so a typo is a usage error instead of being ignored.
#ifndef RETRACE_TOOLS_CLI_ARGS_H_
#define RETRACE_TOOLS_CLI_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace retrace::cli {

class Args {
 public:
  // `valued` options take a value; `flags` do not.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& args,
                                    const std::set<std::string>& valued,
                                    const std::set<std::string>& flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(absl::string_view name) const;
  // The option's value, or `fallback` when absent.
  std::string Get(absl::string_view name,
                  absl::string_view fallback = "") const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string, std::less<>> options_;
};

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_ARGS_H_
