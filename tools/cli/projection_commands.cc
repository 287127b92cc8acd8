#include "tools/cli/projection_commands.h"

#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/rocksdb_store.h"
#include "projection/read_models.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/cli/args.h"
#include "tools/cli/cli.h"
#include "tools/cli/engine_session.h"

namespace retrace::cli {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

struct Session {
  std::unique_ptr<history::HistoryStore> store;
  std::unique_ptr<projection::ReadModels> models;
};

std::string StoreDir(const Args& args) {
  std::string dir = args.Get("db", "./.retrace");
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// The store and the read models, for `retrace projection`.
absl::StatusOr<Session> Open(const Args& args) {
  Session s;
  const std::string dir = StoreDir(args);
  ASSIGN_OR_RETURN(s.store, history::OpenRocksDbHistoryStore(dir));
  ASSIGN_OR_RETURN(s.models, projection::ReadModels::Open(s.store.get(),
                                                          ProjectionPath(dir)));
  return s;
}

// The read models alone, for queries: they work while another process (a
// `retrace worker` with its projection writer) holds the store.
absl::StatusOr<Session> OpenForQueries(const Args& args) {
  Session s;
  ASSIGN_OR_RETURN(s.models, projection::ReadModels::OpenForQueries(
                                 ProjectionPath(StoreDir(args))));
  return s;
}

// "33% (step 2 of 3)" while a run is on its way (or stopped on a step),
// "100%" once it ended successfully, "step 2 of ?" without a known total,
// "-" before any step.
std::string FormatProgress(const projection::RunRow& r) {
  const bool done = r.status == "COMPLETED" || r.status == "CONTINUED_AS_NEW";
  const std::string total =
      r.total_steps.has_value() ? absl::StrCat(*r.total_steps) : "?";
  const std::string step =
      r.current_step_index >= 0 && !done
          ? absl::StrCat("step ", r.current_step_index + 1, " of ", total)
          : "";
  if (!r.progress_percent.has_value()) return step.empty() ? "-" : step;
  return absl::StrCat(*r.progress_percent, "%",
                      step.empty() ? "" : absl::StrCat(" (", step, ")"));
}

int Fail(std::ostream& err, absl::string_view command, const absl::Status& s) {
  err << "retrace " << command << ": " << s.message() << "\n";
  return kExitFailure;
}

void RunJson(Writer& w, const projection::RunRow& r) {
  w.StartObject();
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str());
  };
  str("namespace", r.ns);
  str("run_id", r.run_id);
  str("workflow", r.workflow);
  str("version", r.version);
  str("status", r.status);
  str("created_at", r.created_at);
  str("updated_at", r.updated_at);
  w.Key("current_step_index");
  w.Int64(r.current_step_index);
  auto optional = [&](const char* k, const std::optional<int64_t>& v) {
    w.Key(k);
    if (v.has_value()) {
      w.Int64(*v);
    } else {
      w.Null();
    }
  };
  optional("total_steps", r.total_steps);
  optional("progress_percent", r.progress_percent);
  w.Key("steps_completed");
  w.Int64(r.steps_completed);
  w.Key("attempt");
  w.Int64(r.attempt);
  str("completion_reason", r.completion_reason);
  str("error_code", r.error_code);
  str("error_message", r.error_message);
  w.Key("last_event_id");
  w.Int64(r.last_event_id);
  w.EndObject();
}

}  // namespace

int RunProjectionCommand(const std::vector<std::string>& argv,
                         std::ostream& out, std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    (argv.empty() ? err : out) << kProjectionUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  absl::StatusOr<Args> args = Args::Parse(
      std::vector<std::string>(argv.begin() + 1, argv.end()), {"db"}, {});
  if (!args.ok()) {
    err << "retrace projection: " << args.status().message() << "\n"
        << kProjectionUsage;
    return kExitUsage;
  }
  const std::string& command = argv[0];
  if (command != "run" && command != "rebuild") {
    err << "retrace projection: unknown command '" << command << "'\n"
        << kProjectionUsage;
    return kExitUsage;
  }
  absl::StatusOr<Session> s = Open(*args);
  if (!s.ok()) {
    if (ErrorCode(s.status()) == "STORE_IO") {
      err << "retrace projection: " << s.status().message()
          << "\n(another process holds the store: a `retrace worker` keeps "
             "the read models up to date itself, unless started with "
             "--projection=false)\n";
      return kExitFailure;
    }
    return Fail(err, "projection", s.status());
  }
  if (command == "rebuild") {
    if (absl::Status st = s->models->Rebuild(); !st.ok())
      return Fail(err, "projection", st);
    out << "rebuilt the read models from the histories\n";
    return kExitOk;
  }
  absl::StatusOr<projection::OutboxLag> before = s->models->Lag();
  if (!before.ok()) return Fail(err, "projection", before.status());
  out << "lag before: " << FormatLag(*before, absl::Now()) << "\n";
  int64_t applied = 0;
  for (;;) {
    absl::StatusOr<int> n = s->models->ApplyOutbox();
    if (!n.ok()) return Fail(err, "projection", n.status());
    if (*n == 0) break;
    applied += *n;
  }
  absl::StatusOr<projection::OutboxLag> lag = s->models->Lag();
  if (!lag.ok()) return Fail(err, "projection", lag.status());
  out << "applied " << applied << " outbox rows; lag "
      << FormatLag(*lag, absl::Now()) << "\n";
  return kExitOk;
}

int RunRunsCommand(const std::vector<std::string>& argv, std::ostream& out,
                   std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    (argv.empty() ? err : out) << kRunsUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  const std::string command = argv[0];
  absl::StatusOr<Args> args =
      Args::Parse(std::vector<std::string>(argv.begin() + 1, argv.end()),
                  {"db", "namespace", "workflow", "status", "from", "to",
                   "limit", "cursor", "page"},
                  {"json"});
  if (!args.ok()) {
    err << "retrace runs: " << args.status().message() << "\n" << kRunsUsage;
    return kExitUsage;
  }
  const std::string ns = args->Get("namespace", "default");
  const bool json = args->Has("json");
  int64_t limit = 20, page = 1;
  if ((args->Has("limit") && !absl::SimpleAtoi(args->Get("limit"), &limit)) ||
      (args->Has("page") && !absl::SimpleAtoi(args->Get("page"), &page))) {
    err << "retrace runs: --limit and --page take numbers\n";
    return kExitUsage;
  }
  const bool needs_run =
      command == "get" || command == "steps" || command == "logs";
  if (command != "list" && !needs_run) {
    err << "retrace runs: unknown command '" << command << "'\n" << kRunsUsage;
    return kExitUsage;
  }
  if (needs_run && args->positional().size() != 1) {
    err << "retrace runs " << command << ": give one RUN id\n";
    return kExitUsage;
  }
  absl::StatusOr<Session> s = OpenForQueries(*args);
  if (!s.ok()) return Fail(err, "runs", s.status());
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  if (command == "list") {
    projection::RunQuery q;
    q.ns = ns;
    q.workflow = args->Get("workflow");
    q.status = args->Get("status");
    q.created_from = args->Get("from");
    q.created_to = args->Get("to");
    q.cursor = args->Get("cursor");
    q.limit = static_cast<int>(limit);
    absl::StatusOr<projection::RunList> list = s->models->ListRuns(q);
    if (!list.ok()) return Fail(err, "runs list", list.status());
    if (json) {
      w.StartObject();
      w.Key("runs");
      w.StartArray();
      for (const auto& r : list->runs) RunJson(w, r);
      w.EndArray();
      w.Key("next_cursor");
      w.String(list->next_cursor.c_str());
      w.EndObject();
      out << buffer.GetString() << "\n";
    } else {
      out << absl::StrFormat("%-36s %-20s %-18s %-24s %s\n", "run", "workflow",
                             "status", "created", "progress");
      for (const auto& r : list->runs) {
        out << absl::StrFormat("%-36s %-20s %-18s %-24s %s\n", r.run_id,
                               r.workflow, r.status, r.created_at,
                               FormatProgress(r));
      }
      if (!list->next_cursor.empty())
        out << "next page: --cursor '" << list->next_cursor << "'\n";
    }
    return kExitOk;
  }
  const std::string& run = args->positional()[0];
  if (command == "get") {
    absl::StatusOr<std::optional<projection::RunRow>> r =
        s->models->GetRun(ns, run);
    if (!r.ok()) return Fail(err, "runs get", r.status());
    if (!r->has_value()) {
      return Fail(err, "runs get",
                  Error(absl::StatusCode::kNotFound, "RUN_NOT_FOUND",
                        absl::StrCat("run ", ns, "/", run,
                                     " is not in the read models")));
    }
    RunJson(w, **r);
    out << buffer.GetString() << "\n";
    return kExitOk;
  }
  if (command == "steps") {
    absl::StatusOr<std::vector<projection::StepRow>> steps =
        s->models->ListSteps(ns, run);
    if (!steps.ok()) return Fail(err, "runs steps", steps.status());
    out << absl::StrFormat("%-20s %-24s %7s %-10s %-24s %9s  %s\n", "step",
                           "action", "attempt", "status", "started", "ms",
                           "error");
    for (const auto& st : *steps) {
      out << absl::StrFormat("%-20s %-24s %7d %-10s %-24s %9d  %s\n",
                             st.step_id, st.action, st.attempt, st.status,
                             st.started_at, st.duration_ms, st.error_code);
    }
    return kExitOk;
  }
  absl::StatusOr<projection::LogPage> logs =
      s->models->Logs(ns, run, page, limit);
  if (!logs.ok()) return Fail(err, "runs logs", logs.status());
  if (json) {
    w.StartObject();
    w.Key("total");
    w.Int64(logs->total);
    w.Key("page");
    w.Int64(logs->page);
    w.Key("limit");
    w.Int64(logs->limit);
    w.Key("total_pages");
    w.Int64(logs->total_pages);
    w.Key("logs");
    w.StartArray();
    for (const auto& l : logs->logs) {
      w.StartObject();
      w.Key("sequence");
      w.Int64(l.sequence);
      w.Key("event_type");
      w.String(l.event_type.c_str());
      w.Key("step_id");
      w.String(l.step_id.c_str());
      w.Key("timestamp");
      w.String(l.timestamp.c_str());
      w.Key("details");
      w.String(l.details.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    out << buffer.GetString() << "\n";
    return kExitOk;
  }
  for (const auto& l : logs->logs) {
    out << absl::StrFormat("%5d  %-24s %-22s %-16s %s\n", l.sequence,
                           l.timestamp, l.event_type, l.step_id, l.details);
  }
  out << "page " << logs->page << " of " << logs->total_pages << " ("
      << logs->total << " entries)\n";
  return kExitOk;
}

int RunEventsCommand(const std::vector<std::string>& argv, std::ostream& out,
                     std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    (argv.empty() ? err : out) << kEventsUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  absl::StatusOr<Args> args =
      Args::Parse(std::vector<std::string>(argv.begin() + 1, argv.end()),
                  {"db", "namespace", "key", "event-id", "limit"}, {"json"});
  if (!args.ok() || argv[0] != "list") {
    err << "retrace events: "
        << (args.ok() ? absl::StrCat("unknown command '", argv[0], "'")
                      : std::string(args.status().message()))
        << "\n"
        << kEventsUsage;
    return kExitUsage;
  }
  int64_t limit = 20;
  if (args->Has("limit") && !absl::SimpleAtoi(args->Get("limit"), &limit)) {
    err << "retrace events: --limit takes a number\n";
    return kExitUsage;
  }
  absl::StatusOr<Session> s = OpenForQueries(*args);
  if (!s.ok()) return Fail(err, "events", s.status());
  auto rows = s->models->RuntimeEvents(args->Get("namespace", "default"),
                                       args->Get("key"), args->Get("event-id"),
                                       static_cast<int>(limit));
  if (!rows.ok()) return Fail(err, "events", rows.status());
  if (args->Has("json")) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartArray();
    for (const auto& r : *rows) {
      w.StartObject();
      for (const auto& [k, v] :
           std::vector<std::pair<const char*, const std::string*>>{
               {"event_id", &r.event_id},
               {"event_name", &r.event_name},
               {"correlation_key", &r.correlation_key},
               {"key_source", &r.key_source},
               {"error_code", &r.error_code},
               {"ingested_at", &r.ingested_at}}) {
        w.Key(k);
        w.String(v->c_str());
      }
      for (const auto& [k, v] :
           std::vector<std::pair<const char*, const std::string*>>{
               {"matched", &r.matched_run_ids},
               {"resumed", &r.resumed_run_ids},
               {"started", &r.started_run_ids}}) {
        w.Key(k);
        w.RawValue(v->c_str(), v->size(), rapidjson::kArrayType);
      }
      w.EndObject();
    }
    w.EndArray();
    out << buffer.GetString() << "\n";
    return kExitOk;
  }
  out << absl::StrFormat("%-20s %-20s %-16s %-28s %-24s %s\n", "event", "name",
                         "key", "source", "ingested",
                         "matched / started / error");
  for (const auto& r : *rows) {
    out << absl::StrFormat("%-20s %-20s %-16s %-28s %-24s %s %s %s\n",
                           r.event_id, r.event_name, r.correlation_key,
                           r.key_source, r.ingested_at, r.matched_run_ids,
                           r.started_run_ids, r.error_code);
  }
  return kExitOk;
}

}  // namespace retrace::cli
