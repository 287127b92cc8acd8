#include "tools/cli/args.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace retrace::cli {

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& args,
                                 const std::set<std::string>& valued,
                                 const std::set<std::string>& flags) {
  Args result;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      result.positional_.insert(result.positional_.end(), args.begin() + i + 1,
                                args.end());
      break;
    }
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      result.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (flags.count(name)) {
      if (has_value) {
        return Error(absl::StatusCode::kInvalidArgument, "USAGE",
                     absl::StrCat("--", name, " takes no value"));
      }
      result.options_[name] = "true";
    } else if (valued.count(name)) {
      if (!has_value) {
        if (i + 1 >= args.size()) {
          return Error(absl::StatusCode::kInvalidArgument, "USAGE",
                       absl::StrCat("--", name, " needs a value"));
        }
        value = args[++i];
      }
      result.options_[name] = value;
    } else {
      return Error(absl::StatusCode::kInvalidArgument, "USAGE",
                   absl::StrCat("unknown option --", name));
    }
  }
  return result;
}

bool Args::Has(absl::string_view name) const {
  return options_.find(name) != options_.end();
}

std::string Args::Get(absl::string_view name,
                      absl::string_view fallback) const {
  auto it = options_.find(name);
  return it == options_.end() ? std::string(fallback) : it->second;
}

}  // namespace retrace::cli
