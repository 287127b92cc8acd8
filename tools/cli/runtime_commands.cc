#include "tools/cli/runtime_commands.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/events.h"
#include "history/history_file.h"
#include "runtime/definition.h"
#include "runtime/replay.h"
#include "runtime/timeline.h"
#include "tools/cli/args.h"
#include "tools/cli/cli.h"

namespace retrace::cli {
namespace {

// Files named on the command line; a directory stands for its regular files
// in name order.
std::vector<std::string> ExpandPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
        if (entry.is_regular_file()) in_dir.push_back(entry.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(p);
    }
  }
  return files;
}

}  // namespace

int RunReplayCommand(const std::vector<std::string>& argv, std::ostream& out,
                     std::ostream& err) {
  absl::StatusOr<Args> args =
      Args::Parse(argv, {"definition", "at"}, {"timeline", "help"});
  if (!args.ok()) {
    err << "retrace replay: " << args.status().message() << "\n"
        << kReplayUsage;
    return kExitUsage;
  }
  if (args->Has("help")) {
    out << kReplayUsage;
    return kExitOk;
  }
  if (!args->Has("definition") || args->positional().empty()) {
    err << "retrace replay: a --definition and at least one history file are "
           "required\n"
        << kReplayUsage;
    return kExitUsage;
  }
  int64_t at = 0;
  if (args->Has("at") && (!absl::SimpleAtoi(args->Get("at"), &at) || at < 1)) {
    err << "retrace replay: --at takes an event id >= 1\n";
    return kExitUsage;
  }
  absl::StatusOr<std::string> def_text =
      ReadFileToString(args->Get("definition"));
  if (!def_text.ok()) {
    err << "retrace replay: " << def_text.status().message() << "\n";
    return kExitFailure;
  }
  runtime::DefinitionResult def = runtime::ParseDefinition(*def_text);
  if (!def.ok()) {
    err << "retrace replay: " << args->Get("definition") << ": "
        << def.status().message() << "\n";
    return kExitFailure;
  }
  bool all_ok = true;
  int replayed_files = 0;
  for (const std::string& file : ExpandPaths(args->positional())) {
    absl::StatusOr<history::History> h = history::ReadHistoryFile(file);
    if (!h.ok()) {
      out << file << ": " << h.status().message() << "\n";
      all_ok = false;
      continue;
    }
    // A directory may hold histories of other workflows: they are not the
    // definition's to check.
    const std::string& workflow = h->events(0).run_started().workflow();
    if (workflow != def.definition->name) {
      out << file << ": skipped (a run of workflow " << workflow
          << ", the definition is " << def.definition->name << ")\n";
      continue;
    }
    ++replayed_files;
    auto replayed = runtime::Replay(def.definition, *h, at);
    if (!replayed.ok()) {
      out << file << ": " << replayed.status().message() << "\n";
      all_ok = false;
      continue;
    }
    const int64_t applied = (*replayed)->next_event_id() - 1;
    out << file << ": ok (" << applied << " events, run " << h->namespace_()
        << "/" << h->run_id() << ", status "
        << history::RunStatusName((*replayed)->status()) << ")\n";
    if (at > 0) out << (*replayed)->StateJson() << "\n";
    if (args->Has("timeline")) {
      out << runtime::FormatTimeline(runtime::BuildTimeline(*h));
    }
  }
  if (replayed_files == 0 && all_ok) {
    err << "retrace replay: no history of workflow " << def.definition->name
        << " was found\n";
    return kExitFailure;
  }
  return all_ok ? kExitOk : kExitFailure;
}

int RunDefCommand(const std::vector<std::string>& argv, std::ostream& out,
                  std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    (argv.empty() ? err : out) << kDefUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  if (argv[0] != "validate") {
    err << "retrace def: unknown command '" << argv[0] << "'\n" << kDefUsage;
    return kExitUsage;
  }
  std::vector<std::string> files(argv.begin() + 1, argv.end());
  if (files.empty()) {
    err << kDefUsage;
    return kExitUsage;
  }
  bool all_ok = true;
  for (const std::string& file : files) {
    absl::StatusOr<std::string> text = ReadFileToString(file);
    if (!text.ok()) {
      out << file << ": " << text.status().message() << "\n";
      all_ok = false;
      continue;
    }
    runtime::DefinitionResult def = runtime::ParseDefinition(*text);
    if (def.ok()) {
      out << file << ": ok (" << def.definition->name << " version "
          << def.definition->version << ", " << def.definition->steps.size()
          << " top-level steps)\n";
      continue;
    }
    all_ok = false;
    out << file << ": " << def.problems.size() << " problem(s)\n";
    for (const runtime::Problem& p : def.problems) {
      out << "  " << (p.pointer.empty() ? "(document)" : p.pointer) << ": "
          << p.code << ": " << p.message << "\n";
    }
  }
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace retrace::cli
