#include "tools/cli/history_commands.h"

#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/events.h"
#include "history/history_file.h"
#include "history/rocksdb_store.h"
#include "tools/cli/args.h"
#include "tools/cli/cli.h"

namespace retrace::cli {
namespace {

using history::History;
using history::HistoryEvent;
using history::HistoryFileFormat;

absl::Status Usage(absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, "USAGE", message);
}

std::string FormatEventTime(const HistoryEvent& e) {
  return history::FormatTimestamp(e.event_time());
}

absl::Status Show(const Args& args, std::ostream& out) {
  if (args.positional().size() != 1) return Usage("show takes one FILE");
  ASSIGN_OR_RETURN(History h, history::ReadHistoryFile(args.positional()[0]));
  out << "run " << h.namespace_() << "/" << h.run_id() << " ("
      << h.events_size() << " events)\n";
  out << absl::StrFormat("%5s  %-24s  %-22s  %s\n", "id", "time", "type",
                         "attributes");
  for (const HistoryEvent& e : h.events()) {
    out << absl::StrFormat("%5d  %-24s  %-22s  %s\n", e.event_id(),
                           FormatEventTime(e), history::EventTypeName(e),
                           history::Summarize(e));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<history::HistoryStore>> OpenDb(
    const Args& args) {
  if (!args.Has("db")) return Usage("--db DIR is required");
  return history::OpenRocksDbHistoryStore(args.Get("db"));
}

absl::Status Export(const Args& args, std::ostream& out) {
  if (args.positional().size() != 1) return Usage("export takes one RUN id");
  const std::string format_name = args.Get("format", "json");
  HistoryFileFormat format;
  if (format_name == "json") {
    format = HistoryFileFormat::kJson;
  } else if (format_name == "binary") {
    format = HistoryFileFormat::kBinary;
  } else {
    return Usage(
        absl::StrCat("--format must be json or binary, not ", format_name));
  }
  ASSIGN_OR_RETURN(auto store, OpenDb(args));
  const std::string ns = args.Get("namespace", "default");
  const std::string& run = args.positional()[0];
  RETURN_IF_ERROR(store->GetRunInfo(ns, run).status());

  std::ofstream file;
  std::ostream* sink = &out;
  if (args.Has("output")) {
    file.open(args.Get("output"), std::ios::binary | std::ios::trunc);
    if (!file) {
      return Error(absl::StatusCode::kUnavailable, "FILE_IO",
                   absl::StrCat("cannot write ", args.Get("output")));
    }
    sink = &file;
  }
  history::HistoryFileWriter writer(sink, format);
  RETURN_IF_ERROR(writer.Begin(ns, run));
  auto it = store->ReadHistory(ns, run, 1);
  for (; it->Valid(); it->Next()) RETURN_IF_ERROR(writer.Add(it->event()));
  RETURN_IF_ERROR(it->status());
  return writer.Finish();
}

absl::Status Import(const Args& args, std::ostream& out) {
  if (args.positional().size() != 1) return Usage("import takes one FILE");
  ASSIGN_OR_RETURN(History h, history::ReadHistoryFile(args.positional()[0]));
  ASSIGN_OR_RETURN(auto store, OpenDb(args));
  history::AppendRequest request;
  request.ns = h.namespace_();
  request.run_id = h.run_id();
  request.expected_next_event_id = 1;
  request.events.assign(h.events().begin(), h.events().end());
  absl::StatusOr<history::RunInfo> info = store->Append(request);
  if (!info.ok() && info.status().code() == absl::StatusCode::kAborted) {
    return Error(absl::StatusCode::kAlreadyExists, "RUN_ALREADY_EXISTS",
                 absl::StrCat("run ", h.namespace_(), "/", h.run_id(),
                              " already exists in ", args.Get("db")));
  }
  RETURN_IF_ERROR(info.status());
  out << "imported run " << h.namespace_() << "/" << h.run_id() << ": "
      << h.events_size() << " events, status "
      << history::RunStatusName(info->status()) << "\n";
  return absl::OkStatus();
}

}  // namespace

int RunHistoryCommand(const std::vector<std::string>& argv, std::ostream& out,
                      std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    (argv.empty() ? err : out) << kHistoryUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  const std::string& command = argv[0];
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  absl::StatusOr<Args> args =
      Args::Parse(rest, {"db", "namespace", "format", "output"}, {"help"});
  absl::Status status;
  if (!args.ok()) {
    status = args.status();
  } else if (args->Has("help")) {
    out << kHistoryUsage;
    return kExitOk;
  } else if (command == "show") {
    status = Show(*args, out);
  } else if (command == "export") {
    status = Export(*args, out);
  } else if (command == "import") {
    status = Import(*args, out);
  } else {
    status = Usage(absl::StrCat("unknown history command '", command, "'"));
  }
  if (status.ok()) return kExitOk;
  err << "retrace history " << command << ": " << status.message() << "\n";
  if (ErrorCode(status) == "USAGE") {
    err << kHistoryUsage;
    return kExitUsage;
  }
  return kExitFailure;
}

}  // namespace retrace::cli
