#include "tools/cli/engine_commands.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "history/events.h"
#include "history/history_file.h"
#include "projection/read_models.h"
#include "projection/writer.h"
#include "runtime/actions.h"
#include "runtime/forwarding_engine.h"
#include "runtime/worker_pool.h"
#include "tools/cli/args.h"
#include "tools/cli/cli.h"
#include "tools/cli/engine_session.h"
#include "tools/cli/runtime_commands.h"

namespace retrace::cli {

using runtime::ForwardingEngine;
namespace {

constexpr char kDefaultDb[] = "./.retrace";

std::string Namespace(const Args& args) {
  return args.Get("namespace", "default");
}

std::string Identity(const Args& args) {
  const char* user = std::getenv("USER");
  return args.Get("identity",
                  absl::StrCat("cli:", user && *user ? user : "unknown"));
}

absl::StatusOr<EngineSession> Open(const Args& args, bool timer_thread) {
  ASSIGN_OR_RETURN(bool sync, BoolOption(args, "sync", true));
  return OpenEngine(args.Get("db", kDefaultDb), sync, timer_thread);
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return history::FormatTimestamp(ts);
}

absl::Status NeedPositional(const Args& args, size_t n,
                            absl::string_view what) {
  if (args.positional().size() != n) {
    return UsageError(absl::StrCat("expected ", what));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(m, &json, print);
  if (!status.ok()) {
    return Error(absl::StatusCode::kInternal, "INTERNAL",
                 std::string(status.message()));
  }
  return json;
}

// ---- run -------------------------------------------------------------------

absl::Status Start(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 1, "one WORKFLOW name"));
  runtime::StartRunRequest request;
  request.set_namespace_(Namespace(args));
  request.set_workflow(args.positional()[0]);
  request.set_version(args.Get("version"));
  request.set_run_id(args.Get("run-id"));
  request.set_dedupe_key(args.Get("dedupe-key"));
  request.set_identity(Identity(args));
  if (args.Has("input") && args.Has("input-file")) {
    return UsageError("give --input or --input-file, not both");
  }
  if (args.Has("input-file")) {
    ASSIGN_OR_RETURN(std::string input, ReadTextFile(args.Get("input-file")));
    request.set_input_json(input);
  } else {
    request.set_input_json(args.Get("input"));
  }
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  ASSIGN_OR_RETURN(runtime::StartRunResponse response,
                   session.engine->StartRun(request));
  out << (response.duplicate() ? "existing run " : "started run ")
      << request.namespace_() << "/" << response.run_id() << " (workflow "
      << request.workflow() << " version " << response.version() << ")\n";
  return absl::OkStatus();
}

void PrintDescription(const runtime::DescribeRunResponse& run,
                      std::ostream& out) {
  out << "run       " << run.namespace_() << "/" << run.run_id() << "\n"
      << "workflow  " << run.workflow() << " version " << run.version() << "\n"
      << "status    " << run.status() << "\n";
  if (run.has_wake_up_at()) {
    out << "wakes at  " << FormatTime(run.wake_up_at()) << "\n";
  }
  out << "started   " << FormatTime(run.started_at()) << "\n"
      << "updated   " << FormatTime(run.updated_at()) << "\n"
      << "history   " << run.history_length() << " events\n";
  for (const runtime::OpenTask& t : run.tasks()) {
    out << "task      step " << t.step_id() << " action " << t.action()
        << " attempt " << t.attempt();
    if (!t.worker_id().empty()) out << " on worker " << t.worker_id();
    out << "\n";
  }
  for (const runtime::OpenWait& w : run.waits()) {
    out << "waiting   " << w.wait_id() << " for " << w.event_name();
    if (!w.correlation_key().empty()) out << " key " << w.correlation_key();
    if (w.has_deadline()) out << " until " << FormatTime(w.deadline());
    out << "\n";
  }
  if (!run.output_json().empty())
    out << "output    " << run.output_json() << "\n";
  if (run.has_failure()) {
    out << "failure   " << run.failure().code() << ": "
        << run.failure().message() << "\n";
  }
  for (const std::string& warning : run.warnings()) {
    out << "warning   " << warning << "\n";
  }
  if (!run.continued_as_run_id().empty()) {
    out << "continued as run " << run.continued_as_run_id() << "\n";
  }
}

absl::Status Describe(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 1, "one RUN id"));
  runtime::DescribeRunRequest request;
  request.set_namespace_(Namespace(args));
  request.set_run_id(args.positional()[0]);
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  ASSIGN_OR_RETURN(runtime::DescribeRunResponse run,
                   session.engine->DescribeRun(request));
  if (args.Has("json")) {
    ASSIGN_OR_RETURN(std::string json, ToJson(run));
    out << json << "\n";
  } else {
    PrintDescription(run, out);
  }
  return absl::OkStatus();
}

absl::Status Signal(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 2, "a RUN id and an EVENT name"));
  runtime::SignalRunRequest request;
  request.set_namespace_(Namespace(args));
  request.set_run_id(args.positional()[0]);
  request.set_event_name(args.positional()[1]);
  request.set_payload_json(args.Get("payload"));
  request.set_correlation_key(args.Get("correlation-key"));
  request.set_signal_id(args.Get("signal-id"));
  request.set_identity(Identity(args));
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  ASSIGN_OR_RETURN(runtime::SignalRunResponse response,
                   session.engine->SignalRun(request));
  out << "sent " << request.event_name() << " to run " << request.namespace_()
      << "/" << request.run_id()
      << (response.duplicate()   ? " (already received under this signal id: "
                                   "nothing done)"
          : response.delivered() ? " (a wait took it; the run moved on)"
                                 : " (kept: no open wait took it yet)")
      << "\n";
  return absl::OkStatus();
}

// cancel, terminate and retry share their request shape.
template <typename Request>
Request StopRequest(const Args& args) {
  Request request;
  request.set_namespace_(Namespace(args));
  request.set_run_id(args.positional()[0]);
  request.set_reason(args.Get("reason"));
  request.set_identity(Identity(args));
  return request;
}

absl::Status Cancel(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 1, "one RUN id"));
  auto request = StopRequest<runtime::CancelRunRequest>(args);
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  ASSIGN_OR_RETURN(runtime::CancelRunResponse response,
                   session.engine->CancelRun(request));
  out << (response.canceled() ? "canceled run " : "run already canceled: ")
      << request.namespace_() << "/" << request.run_id() << "\n";
  return absl::OkStatus();
}

absl::Status Terminate(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 1, "one RUN id"));
  auto request = StopRequest<runtime::TerminateRunRequest>(args);
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  RETURN_IF_ERROR(session.engine->TerminateRun(request).status());
  out << "terminated run " << request.namespace_() << "/" << request.run_id()
      << "\n";
  return absl::OkStatus();
}

absl::Status Retry(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 1, "one RUN id"));
  auto request = StopRequest<runtime::RetryRunRequest>(args);
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  RETURN_IF_ERROR(session.engine->RetryRun(request).status());
  out << "retrying run " << request.namespace_() << "/" << request.run_id()
      << " from its failed step\n";
  return absl::OkStatus();
}

absl::Status History(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 1, "one RUN id"));
  ASSIGN_OR_RETURN(int64_t from, IntOption(args, "from", 1, 1));
  runtime::GetHistoryRequest request;
  request.set_namespace_(Namespace(args));
  request.set_run_id(args.positional()[0]);
  request.set_from_event_id(from);
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  ASSIGN_OR_RETURN(runtime::GetHistoryResponse response,
                   session.engine->GetHistory(request));
  if (args.Has("json")) {
    history::HistoryFileWriter writer(&out, history::HistoryFileFormat::kJson);
    RETURN_IF_ERROR(writer.Begin(request.namespace_(), request.run_id()));
    for (const auto& e : response.events()) RETURN_IF_ERROR(writer.Add(e));
    return writer.Finish();
  }
  out << "run " << request.namespace_() << "/" << request.run_id() << " ("
      << response.events_size() << " events)\n";
  out << absl::StrFormat("%5s  %-24s  %-22s  %s\n", "id", "time", "type",
                         "attributes");
  for (const history::HistoryEvent& e : response.events()) {
    out << absl::StrFormat("%5d  %-24s  %-22s  %s\n", e.event_id(),
                           FormatTime(e.event_time()),
                           history::EventTypeName(e), history::Summarize(e));
  }
  return absl::OkStatus();
}

// ---- def
// ---------------------------------------------------------------------

absl::Status Put(const Args& args, std::ostream& out) {
  if (args.positional().empty()) {
    return UsageError("put takes at least one DEF.json");
  }
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  for (const std::string& file : args.positional()) {
    ASSIGN_OR_RETURN(std::string text, ReadTextFile(file));
    runtime::RegisterDefinitionRequest request;
    request.set_namespace_(Namespace(args));
    request.set_definition_json(text);
    absl::StatusOr<runtime::RegisterDefinitionResponse> response =
        session.engine->RegisterDefinition(request);
    if (!response.ok()) return Annotate(response.status(), file);
    out << (response->created() ? "registered " : "unchanged ")
        << response->name() << " version " << response->version() << " ("
        << file << ")\n";
  }
  return absl::OkStatus();
}

absl::Status List(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 0, "no arguments"));
  runtime::ListDefinitionsRequest request;
  request.set_namespace_(Namespace(args));
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  ASSIGN_OR_RETURN(runtime::ListDefinitionsResponse response,
                   session.engine->ListDefinitions(request));
  if (response.definitions().empty()) {
    out << "no definitions in namespace " << request.namespace_() << "\n";
    return absl::OkStatus();
  }
  out << absl::StrFormat("%-32s  %-8s  %-7s  %s\n", "name", "version", "active",
                         "registered");
  for (const runtime::DefinitionInfo& d : response.definitions()) {
    out << absl::StrFormat("%-32s  %-8s  %-7s  %s\n", d.name(), d.version(),
                           d.active() ? "yes" : "paused",
                           FormatTime(d.registered_at()));
  }
  return absl::OkStatus();
}

absl::Status Remove(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 2, "a NAME and a VERSION"));
  runtime::RemoveDefinitionRequest request;
  request.set_namespace_(Namespace(args));
  request.set_name(args.positional()[0]);
  request.set_version(args.positional()[1]);
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  RETURN_IF_ERROR(session.engine->RemoveDefinition(request).status());
  out << "removed " << request.name() << " version " << request.version()
      << "\n";
  return absl::OkStatus();
}

absl::Status SetActive(const Args& args, bool active, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 1, "one workflow NAME"));
  runtime::SetDefinitionActiveRequest request;
  request.set_namespace_(Namespace(args));
  request.set_name(args.positional()[0]);
  request.set_active(active);
  ASSIGN_OR_RETURN(EngineSession session, Open(args, false));
  RETURN_IF_ERROR(session.engine->SetDefinitionActive(request).status());
  out << (active ? "resumed " : "paused ") << request.name() << "\n";
  return absl::OkStatus();
}

// ---- worker
// ------------------------------------------------------------------

// Watches a worker's calls to tell when there is no work left: no task in
// flight, and a poll that began after the last activity found nothing.
class ActivityEngine final : public ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;

  absl::StatusOr<runtime::PollTaskResponse> PollTask(
      const runtime::PollTaskRequest& r) override {
    const absl::Time began = absl::Now();
    auto response = ForwardingEngine::PollTask(r);
    absl::MutexLock lock(&mu_);
    if (response.ok() && response->has_task()) {
      ++in_flight_;
      last_activity_ = absl::Now();
    } else if (response.ok()) {
      last_empty_poll_began_ = std::max(last_empty_poll_began_, began);
    }
    return response;
  }
  absl::StatusOr<runtime::CompleteTaskResponse> CompleteTask(
      const runtime::CompleteTaskRequest& r) override {
    auto response = ForwardingEngine::CompleteTask(r);
    Reported(response.ok() && response->has_next_task());
    return response;
  }
  absl::StatusOr<runtime::FailTaskResponse> FailTask(
      const runtime::FailTaskRequest& r) override {
    auto response = ForwardingEngine::FailTask(r);
    Reported(response.ok() && response->has_next_task());
    return response;
  }

  absl::StatusOr<runtime::ReportTasksResponse> ReportTasks(
      const runtime::ReportTasksRequest& r) override {
    auto response = ForwardingEngine::ReportTasks(r);
    absl::MutexLock lock(&mu_);
    in_flight_ -= r.outcomes_size();
    if (response.ok()) in_flight_ += response->next_tasks_size();
    last_activity_ = absl::Now();
    return response;
  }

  // Something is about to happen (a timer is due soon).
  void Touch() {
    absl::MutexLock lock(&mu_);
    last_activity_ = absl::Now();
  }
  // True when nothing has happened for `quiet` and the queue was seen empty
  // since.
  bool Idle(absl::Duration quiet) {
    absl::MutexLock lock(&mu_);
    return in_flight_ == 0 && last_empty_poll_began_ >= last_activity_ &&
           absl::Now() - last_activity_ >= quiet;
  }

 private:
  // An outcome came back; with `next`, the worker took its next task in the
  // same call (eager dispatch), so it still holds one.
  void Reported(bool next) {
    absl::MutexLock lock(&mu_);
    if (!next) --in_flight_;
    last_activity_ = absl::Now();
  }

  absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_activity_ ABSL_GUARDED_BY(mu_) = absl::Now();
  absl::Time last_empty_poll_began_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

std::atomic<int> stop_signal{0};

extern "C" void OnStopSignal(int signal) { stop_signal.store(signal); }

// The outbox lag now, as printed.
std::string Lag(history::HistoryStore* store) {
  absl::StatusOr<projection::OutboxLag> lag =
      projection::MeasureOutboxLag(store);
  if (!lag.ok()) return std::string(lag.status().message());
  return FormatLag(*lag, absl::Now());
}

absl::Status Worker(const Args& args, std::ostream& out) {
  RETURN_IF_ERROR(NeedPositional(args, 0, "no arguments"));
  ASSIGN_OR_RETURN(int64_t threads, IntOption(args, "threads", 4, 1));
  ASSIGN_OR_RETURN(absl::Duration idle_exit,
                   DurationOption(args, "idle-exit", absl::ZeroDuration()));
  ASSIGN_OR_RETURN(absl::Duration status_every,
                   DurationOption(args, "status-every", absl::ZeroDuration()));
  runtime::WorkerPoolOptions options;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  options.identity = args.Get("identity", absl::StrCat(host, ":", getpid()));
  options.ns = Namespace(args);
  options.task_queues = absl::StrSplit(args.Get("task-queues", "default"), ',',
                                       absl::SkipEmpty());
  options.threads = static_cast<int>(threads);

  ASSIGN_OR_RETURN(EngineSession session, Open(args, true));
  const std::string db = args.Get("db", kDefaultDb);
  // Declared after the session: stopped (and destroyed) before the store.
  ASSIGN_OR_RETURN(
      std::unique_ptr<projection::ReadModelWriter> projection,
      StartProjection(args, /*fallback=*/true, session.store.get(), db));
  runtime::ActionRegistry registry;
  runtime::RegisterBuiltinActions(&registry);
  ActivityEngine activity(session.engine.get());
  runtime::WorkerPool pool(&activity, &registry, options);

  stop_signal.store(0);
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  // One-shot: a second Ctrl-C during the drain ends the process at once.
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int, old_term;
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  absl::Status status = pool.Start();
  if (status.ok()) {
    out << "worker " << pool.worker_id() << " (" << options.identity
        << ") running core.echo, core.fail, core.log, core.noop on "
        << args.Get("db", kDefaultDb) << " namespace " << options.ns
        << ", queues " << absl::StrJoin(options.task_queues, ",") << ", "
        << threads << " threads; Ctrl-C to stop" << std::endl;
    if (projection != nullptr) {
      out << "projection: writing the read models to " << ProjectionPath(db)
          << " (lag " << Lag(session.store.get()) << ")" << std::endl;
    }
    absl::Time next_status = absl::Now() + status_every;
    while (stop_signal.load() == 0) {
      absl::SleepFor(absl::Milliseconds(50));
      if (status_every > absl::ZeroDuration() && absl::Now() >= next_status) {
        next_status = absl::Now() + status_every;
        out << "status: " << pool.tasks_completed() << " tasks completed, "
            << pool.tasks_failed() << " failed attempts; projection "
            << (projection != nullptr
                    ? absl::StrCat("lag ", Lag(session.store.get()))
                    : std::string("off"))
            << std::endl;
      }
      if (idle_exit <= absl::ZeroDuration()) continue;
      // A timer due soon (or just due: the timer thread is about to fire it)
      // is work to come. One overdue by more than the idle window is stuck
      // and does not keep the worker alive.
      const absl::Time now = absl::Now();
      std::optional<absl::Time> next_timer = session.engine->NextTimerAt();
      if (next_timer.has_value() && *next_timer <= now + idle_exit &&
          *next_timer >= now - idle_exit) {
        activity.Touch();
        continue;
      }
      if (activity.Idle(idle_exit)) break;
    }
    out << (stop_signal.load() != 0 ? "stopping: " : "idle: ")
        << "draining in-flight tasks" << std::endl;
    pool.Stop();
    out << "worker stopped: " << pool.tasks_completed() << " tasks completed, "
        << pool.tasks_failed() << " failed attempts\n";
  }
  if (projection != nullptr) {
    // Applies what the last transitions left in the outbox, then stops.
    absl::Status stopped = projection->Stop();
    out << "projection: "
        << ProjectionSummary(*projection, stopped, session.store.get()) << "\n";
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return status;
}

// Parses `argv` and runs `command` with it; prints errors and usage.
int Dispatch(absl::string_view prefix, absl::string_view usage,
             const std::vector<std::string>& argv,
             const std::set<std::string>& valued,
             const std::set<std::string>& flags,
             const std::function<absl::Status(const Args&)>& command,
             std::ostream& out, std::ostream& err) {
  absl::StatusOr<Args> args = Args::Parse(argv, valued, flags);
  absl::Status status;
  if (!args.ok()) {
    status = args.status();
  } else if (args->Has("help")) {
    out << usage;
    return kExitOk;
  } else {
    status = command(*args);
  }
  if (status.ok()) return kExitOk;
  err << prefix << ": " << status.message() << "\n";
  if (ErrorCode(status) == "USAGE") {
    err << usage;
    return kExitUsage;
  }
  return kExitFailure;
}

const std::set<std::string> kCommonValued = {"db", "namespace", "identity",
                                             "sync"};

std::set<std::string> With(std::set<std::string> more) {
  more.insert(kCommonValued.begin(), kCommonValued.end());
  return more;
}

}  // namespace

int RunRunCommand(const std::vector<std::string>& argv, std::ostream& out,
                  std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    (argv.empty() ? err : out) << kRunUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  const std::string& command = argv[0];
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  std::function<absl::Status(const Args&)> run;
  if (command == "start") {
    run = [&](const Args& a) { return Start(a, out); };
  } else if (command == "describe") {
    run = [&](const Args& a) { return Describe(a, out); };
  } else if (command == "signal") {
    run = [&](const Args& a) { return Signal(a, out); };
  } else if (command == "cancel") {
    run = [&](const Args& a) { return Cancel(a, out); };
  } else if (command == "terminate") {
    run = [&](const Args& a) { return Terminate(a, out); };
  } else if (command == "retry") {
    run = [&](const Args& a) { return Retry(a, out); };
  } else if (command == "history") {
    run = [&](const Args& a) { return History(a, out); };
  } else {
    err << "retrace run: unknown command '" << command << "'\n" << kRunUsage;
    return kExitUsage;
  }
  return Dispatch(
      absl::StrCat("retrace run ", command), kRunUsage, rest,
      With({"input", "input-file", "run-id", "version", "dedupe-key", "payload",
            "correlation-key", "reason", "from"}),
      {"json", "help"}, run, out, err);
}

int RunDefEngineCommand(const std::vector<std::string>& argv, std::ostream& out,
                        std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    (argv.empty() ? err : out) << kDefEngineUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  const std::string& command = argv[0];
  if (command == "validate") return RunDefCommand(argv, out, err);
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  std::function<absl::Status(const Args&)> run;
  if (command == "put") {
    run = [&](const Args& a) { return Put(a, out); };
  } else if (command == "list") {
    run = [&](const Args& a) { return List(a, out); };
  } else if (command == "remove") {
    run = [&](const Args& a) { return Remove(a, out); };
  } else if (command == "pause") {
    run = [&](const Args& a) { return SetActive(a, false, out); };
  } else if (command == "resume") {
    run = [&](const Args& a) { return SetActive(a, true, out); };
  } else {
    err << "retrace def: unknown command '" << command << "'\n"
        << kDefEngineUsage;
    return kExitUsage;
  }
  return Dispatch(absl::StrCat("retrace def ", command), kDefEngineUsage, rest,
                  kCommonValued, {"help"}, run, out, err);
}

int RunWorkerCommand(const std::vector<std::string>& argv, std::ostream& out,
                     std::ostream& err) {
  return Dispatch(
      "retrace worker", kWorkerUsage, argv,
      With({"task-queues", "threads", "idle-exit", "projection",
            "status-every"}),
      {"help"}, [&](const Args& a) { return Worker(a, out); }, out, err);
}

}  // namespace retrace::cli
