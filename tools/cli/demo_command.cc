#include "tools/cli/demo_command.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "projection/read_models.h"
#include "projection/writer.h"
#include "runtime/actions.h"
#include "runtime/worker_pool.h"
#include "tools/cli/args.h"
#include "tools/cli/cli.h"
#include "tools/cli/demo_definitions.h"
#include "tools/cli/engine_session.h"
#include "tools/cli/run_tracker.h"
#include "tools/cli/sync_probe.h"

namespace retrace::cli {
namespace {

// CPU time this process has used so far, all threads (RocksDB's too).
struct CpuTime {
  absl::Duration user, sys;
};
CpuTime ProcessCpuTime() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return {absl::DurationFromTimeval(usage.ru_utime),
          absl::DurationFromTimeval(usage.ru_stime)};
}

// A store directory: the one named by --db, or a fresh temporary one that is
// removed when this goes out of scope (unless --keep).
class StoreDir {
 public:
  static absl::StatusOr<StoreDir> Make(const Args& args,
                                       absl::string_view prefix) {
    StoreDir dir;
    if (args.Has("db")) {
      // Run ids, counts and latencies assume nothing else is in the store.
      dir.path_ = args.Get("db");
      std::error_code ec;
      if (std::filesystem::exists(dir.path_, ec) &&
          !std::filesystem::is_empty(dir.path_, ec)) {
        return Error(absl::StatusCode::kFailedPrecondition, "STORE_NOT_EMPTY",
                     absl::StrCat(dir.path_,
                                  " is not empty; give a new directory (or "
                                  "none: a temporary one)"));
      }
      return dir;
    }
    ASSIGN_OR_RETURN(dir.path_, MakeTempDir(prefix));
    dir.remove_ = !args.Has("keep");
    return dir;
  }
  StoreDir(StoreDir&& other)
      : path_(std::move(other.path_)), remove_(other.remove_) {
    other.remove_ = false;
  }
  ~StoreDir() {
    if (!remove_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    // The read models beside it.
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(ProjectionPath(path_) + suffix, ec);
    }
  }
  const std::string& path() const { return path_; }
  bool removed() const { return remove_; }

 private:
  StoreDir() = default;
  std::string path_;
  bool remove_ = false;
};

// Runs `body(i)` for i in [0, n) on `threads` threads.
void ParallelFor(int64_t n, int threads,
                 const std::function<void(int64_t)>& body) {
  std::atomic<int64_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int64_t i = next++; i < n; i = next++) body(i);
    });
  }
  for (auto& th : pool) th.join();
}

struct LatencySummary {
  absl::Duration p50, p99, max;
};

LatencySummary Summarize(std::vector<absl::Duration> latencies) {
  std::sort(latencies.begin(), latencies.end());
  return {Quantile(latencies, 0.50), Quantile(latencies, 0.99),
          latencies.empty() ? absl::ZeroDuration() : latencies.back()};
}

// ---- demo
// --------------------------------------------------------------------

struct DemoWorkflow {
  std::string name;
  bool needs_signal = false;
};

absl::Status Demo(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(int64_t runs, IntOption(args, "runs", 2000, 1));
  ASSIGN_OR_RETURN(int64_t workers, IntOption(args, "workers", 16, 1));
  ASSIGN_OR_RETURN(bool sync, BoolOption(args, "sync", true));
  ASSIGN_OR_RETURN(absl::Duration timeout,
                   DurationOption(args, "timeout", absl::Seconds(60)));
  ASSIGN_OR_RETURN(StoreDir dir, StoreDir::Make(args, "retrace-demo"));
  ASSIGN_OR_RETURN(EngineSession session,
                   OpenEngine(dir.path(), sync, /*timer_thread=*/true));
  runtime::Engine& engine = *session.engine;
  ASSIGN_OR_RETURN(std::unique_ptr<projection::ReadModelWriter> projection,
                   StartProjection(args, /*fallback=*/true, session.store.get(),
                                   dir.path()));

  std::vector<DemoWorkflow> workflows;
  for (const auto& [file, json] : DemoDefinitions()) {
    runtime::RegisterDefinitionRequest request;
    request.set_namespace_("default");
    request.set_definition_json(json);
    absl::StatusOr<runtime::RegisterDefinitionResponse> registered =
        engine.RegisterDefinition(request);
    if (!registered.ok()) return Annotate(registered.status(), file);
    workflows.push_back(
        {registered->name(),
         std::string(json).find("\"event.wait\"") != std::string::npos});
  }
  out << "retrace demo: " << runs << " runs of " << workflows.size()
      << " workflows (";
  for (size_t i = 0; i < workflows.size(); ++i) {
    out << (i ? ", " : "") << workflows[i].name;
  }
  out << "), " << workers << " worker threads, "
      << (sync ? "synced" : "relaxed") << " commits, store " << dir.path()
      << std::endl;

  RunTracker tracker(&engine, "default", absl::Milliseconds(100));
  runtime::ActionRegistry registry;
  runtime::RegisterBuiltinActions(&registry);
  runtime::WorkerPoolOptions pool_options;
  pool_options.identity = "demo";
  pool_options.threads = static_cast<int>(workers);
  runtime::WorkerPool pool(tracker.engine(), &registry, pool_options);
  RETURN_IF_ERROR(pool.Start());

  std::atomic<int64_t> start_errors{0}, signals_sent{0}, signals_delivered{0};
  absl::Mutex errors_mu;
  std::string first_error;
  auto record_error = [&](const absl::Status& s) {
    ++start_errors;
    absl::MutexLock lock(&errors_mu);
    if (first_error.empty()) first_error = std::string(s.message());
  };
  const absl::Time begin = absl::Now();
  ParallelFor(runs, 8, [&](int64_t i) {
    const DemoWorkflow& wf = workflows[i % workflows.size()];
    const std::string order = absl::StrFormat("o-%06d", i);
    const int total = 10 + static_cast<int>(i % 90);
    const std::string run_id = absl::StrCat(wf.name, "-", order);
    runtime::StartRunRequest start;
    start.set_namespace_("default");
    start.set_workflow(wf.name);
    start.set_run_id(run_id);
    start.set_input_json(
        absl::StrFormat(R"({"orderId": "%s", "total": %d})", order, total));
    start.set_identity("demo");
    tracker.Track(run_id);
    absl::StatusOr<runtime::StartRunResponse> started = engine.StartRun(start);
    if (!started.ok()) {
      tracker.Untrack(run_id);
      record_error(started.status());
      return;
    }
    if (!wf.needs_signal) return;
    // Sent by run id right away: an event that arrives before its wait
    // opens is kept and offered to the wait when it opens (docs/dsl.md).
    runtime::SignalRunRequest signal;
    signal.set_namespace_("default");
    signal.set_run_id(run_id);
    signal.set_event_name("payment.settled");
    signal.set_correlation_key(order);
    signal.set_payload_json(
        absl::StrFormat(R"({"orderId": "%s", "amount": %d})", order, total));
    signal.set_signal_id(absl::StrCat("settled-", order));
    signal.set_identity("demo");
    absl::StatusOr<runtime::SignalRunResponse> sent = engine.SignalRun(signal);
    if (!sent.ok()) {
      record_error(sent.status());
      return;
    }
    ++signals_sent;
    if (sent->delivered()) ++signals_delivered;
  });
  const absl::Time started_all = absl::Now();
  const int still_open = tracker.WaitAll(begin + timeout);
  const absl::Time end = absl::Now();
  pool.Stop();
  std::string read_models;
  if (projection != nullptr) {
    absl::Status stopped = projection->Stop();  // applies what is left
    read_models = absl::StrCat(
        ProjectionPath(dir.path()), " (",
        ProjectionSummary(*projection, stopped, session.store.get()), ")");
  }

  // Runs by status, overall and per workflow.
  std::map<std::string, int64_t> by_status;
  std::map<std::string, std::map<std::string, int64_t>> by_workflow;
  std::map<std::string, std::vector<absl::Duration>> latencies;
  std::vector<absl::Duration> all_latencies;
  for (const RunTracker::Finished& f : tracker.finished()) {
    const std::string wf = f.run_id.substr(0, f.run_id.rfind("-o-"));
    ++by_status[f.status];
    ++by_workflow[wf][f.status];
    latencies[wf].push_back(f.latency);
    all_latencies.push_back(f.latency);
  }
  for (const std::string& run_id : tracker.open_runs()) {
    runtime::DescribeRunRequest describe;
    describe.set_namespace_("default");
    describe.set_run_id(run_id);
    absl::StatusOr<runtime::DescribeRunResponse> run =
        engine.DescribeRun(describe);
    const std::string status =
        run.ok() ? run->status() : std::string(ErrorCode(run.status()));
    ++by_status[status];
    ++by_workflow[run_id.substr(0, run_id.rfind("-o-"))][status];
  }

  out << "\n"
      << absl::StrFormat("%-16s %6s  %-30s %10s %10s\n", "workflow", "runs",
                         "status", "p50", "p99");
  for (const auto& [wf, statuses] : by_workflow) {
    int64_t n = 0;
    std::string status_text;
    for (const auto& [status, count] : statuses) {
      n += count;
      absl::StrAppend(&status_text, status_text.empty() ? "" : " ", status, " ",
                      count);
    }
    LatencySummary l = Summarize(latencies[wf]);
    out << absl::StrFormat("%-16s %6d  %-30s %10s %10s\n", wf, n, status_text,
                           FormatLatency(l.p50), FormatLatency(l.p99));
  }
  const int64_t completed = by_status["COMPLETED"];
  const int64_t finished = static_cast<int64_t>(all_latencies.size());
  LatencySummary l = Summarize(all_latencies);
  const double seconds = absl::ToDoubleSeconds(end - begin);
  out << "\nruns by status:  ";
  bool first = true;
  for (const auto& [status, count] : by_status) {
    if (count == 0) continue;
    out << (first ? "" : "  ") << status << " " << count;
    first = false;
  }
  out << "\nsteps executed:  " << pool.tasks_completed() + pool.tasks_failed()
      << " action tasks (" << pool.tasks_completed() << " completed, "
      << pool.tasks_failed() << " failed attempts)\n"
      << "signals sent:    " << signals_sent.load() << " (payment.settled, by "
      << "run id)\n"
      << absl::StrFormat(
             "throughput:      %.0f runs/s (%d runs finished in %.2f s; all "
             "started after %.2f s)\n",
             finished / std::max(seconds, 1e-9), finished, seconds,
             absl::ToDoubleSeconds(started_all - begin))
      << "latency:         start to completion p50 " << FormatLatency(l.p50)
      << ", p99 " << FormatLatency(l.p99) << ", max " << FormatLatency(l.max)
      << "\n";
  if (!read_models.empty()) {
    out << "read models:     " << read_models << "\n";
  }
  if (start_errors > 0) {
    out << "errors:          " << start_errors.load()
        << " starts or signals failed; first: " << first_error << "\n";
  }
  if (dir.removed()) {
    out << "store:           " << dir.path() << " (removed; --keep keeps it)\n";
  } else {
    out << "store:           " << dir.path() << " (kept)\n";
  }
  if (completed == runs) {
    out << "\nall " << runs << " runs completed\n";
    return absl::OkStatus();
  }
  return Error(
      absl::StatusCode::kDeadlineExceeded, "DEMO_INCOMPLETE",
      absl::StrCat(runs - completed, " of ", runs, " runs did not complete (",
                   still_open, " still open after ",
                   absl::FormatDuration(timeout), ")"));
}

// ---- bench
// -------------------------------------------------------------------

constexpr char kBenchDefinition[] = R"json({
  "name": "bench-3step",
  "version": "1",
  "description": "retrace bench: three core.echo steps, each returning its input + 1.",
  "steps": [
    {"id": "a", "type": "action", "action": "core.echo", "input": "input + 1"},
    {"id": "b", "type": "action", "action": "core.echo", "input": "steps.a.output + 1"},
    {"id": "c", "type": "action", "action": "core.echo", "input": "steps.b.output + 1"},
    {"id": "done", "type": "control.return", "output": "steps.c.output"}
  ]
})json";

// Threads starting runs when --start-batch > 0.
constexpr int kStarters = 2;

absl::Status Bench(const Args& args, std::ostream& out) {
  ASSIGN_OR_RETURN(int64_t runs, IntOption(args, "runs", 20000, 1));
  ASSIGN_OR_RETURN(int64_t concurrency, IntOption(args, "concurrency", 64, 1));
  ASSIGN_OR_RETURN(
      int64_t workers,
      IntOption(args, "workers", std::min<int64_t>(concurrency, 64), 1));
  ASSIGN_OR_RETURN(bool sync, BoolOption(args, "sync", true));
  ASSIGN_OR_RETURN(int64_t start_batch, IntOption(args, "start-batch", 16, 0));
  ASSIGN_OR_RETURN(StoreDir dir, StoreDir::Make(args, "retrace-bench"));
  ASSIGN_OR_RETURN(EngineSession session,
                   OpenEngine(dir.path(), sync, /*timer_thread=*/true));
  runtime::Engine& engine = *session.engine;
  ASSIGN_OR_RETURN(std::unique_ptr<projection::ReadModelWriter> projection,
                   StartProjection(args, /*fallback=*/false,
                                   session.store.get(), dir.path()));
  runtime::RegisterDefinitionRequest def;
  def.set_namespace_("default");
  def.set_definition_json(kBenchDefinition);
  RETURN_IF_ERROR(engine.RegisterDefinition(def).status());

  // Every bench run ends with a step's outcome, whose ReportTasks result
  // tells the tracker; the sweep (a DescribeRun per open run) only catches
  // what went wrong.
  RunTracker tracker(&engine, "default", absl::Seconds(1));
  runtime::ActionRegistry registry;
  runtime::RegisterBuiltinActions(&registry);
  runtime::WorkerPoolOptions pool_options;
  pool_options.identity = "bench";
  pool_options.threads = static_cast<int>(workers);
  runtime::WorkerPool pool(tracker.engine(), &registry, pool_options);
  RETURN_IF_ERROR(pool.Start());

  out << "retrace bench: 3-step workflow (core.echo x3, input + 1), " << runs
      << " runs, " << concurrency << " in flight, " << workers
      << " worker threads, "
      << (start_batch > 0
              ? absl::StrCat("starts in batches of up to ", start_batch)
              : std::string("one client thread per run in flight"))
      << ", " << (sync ? "synced" : "relaxed") << " commits" << std::endl;
  // Synced figures move with the disk's own sync latency: print it beside
  // them, measured on the store's file system before and after the runs.
  auto probe_disk = [&](absl::string_view when) -> absl::Status {
    if (!sync) return absl::OkStatus();
    ASSIGN_OR_RETURN(SyncLatency disk, ProbeSyncLatency(dir.path()));
    out << "disk " << when << ": " << FormatSyncLatency(disk) << std::endl;
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(probe_disk("before"));
  std::atomic<int64_t> errors{0}, not_completed{0};
  absl::Mutex error_mu;
  std::string first_error;
  auto failed = [&](const std::string& run_id, const absl::Status& status) {
    tracker.Untrack(run_id);
    ++errors;
    absl::MutexLock lock(&error_mu);
    if (first_error.empty()) first_error = status.ToString();
  };
  auto request = [](int64_t i) {
    runtime::StartRunRequest start;
    start.set_namespace_("default");
    start.set_workflow("bench-3step");
    start.set_run_id(absl::StrCat("bench-", i));
    start.set_input_json("0");
    return start;
  };
  const absl::Time begin = absl::Now();
  const CpuTime cpu_begin = ProcessCpuTime();
  if (start_batch == 0) {
    // One client thread per run in flight: start, wait for the end, repeat.
    ParallelFor(runs, static_cast<int>(concurrency), [&](int64_t i) {
      const runtime::StartRunRequest start = request(i);
      tracker.Track(start.run_id());
      absl::StatusOr<runtime::StartRunResponse> started =
          engine.StartRun(start);
      if (!started.ok()) return failed(start.run_id(), started.status());
      const std::string status =
          tracker.WaitFor(start.run_id(), absl::Now() + absl::Seconds(60));
      if (status != "COMPLETED") ++not_completed;
    });
  } else {
    // Starter threads keep `concurrency` runs open, starting as many as
    // have ended (at most start_batch) with one StartRuns each.
    absl::Mutex reserve_mu;
    int64_t next = 0;
    ParallelFor(kStarters, kStarters, [&](int64_t) {
      for (;;) {
        std::vector<runtime::StartRunRequest> batch;
        {
          absl::MutexLock lock(&reserve_mu);
          if (next >= runs) return;
          const int open = tracker.WaitOpenBelow(
              static_cast<int>(concurrency), absl::Now() + absl::Seconds(60));
          const int64_t n =
              std::min<int64_t>({concurrency - open, start_batch, runs - next});
          if (n <= 0) {  // nothing ended in 60 s
            not_completed += runs - next;
            next = runs;
            return;
          }
          for (int64_t k = 0; k < n; ++k) {
            batch.push_back(request(next++));
            tracker.Track(batch.back().run_id());
          }
        }
        auto started = engine.StartRuns(batch);
        for (size_t k = 0; k < batch.size(); ++k) {
          if (!started.ok()) {
            failed(batch[k].run_id(), started.status());
          } else if (!(*started)[k].ok()) {
            failed(batch[k].run_id(), (*started)[k].status());
          }
        }
      }
    });
    tracker.WaitAll(absl::Now() + absl::Seconds(60));
    for (const auto& f : tracker.finished()) {
      if (f.status != "COMPLETED") ++not_completed;
    }
    not_completed += tracker.open();
  }
  const absl::Time end = absl::Now();
  const CpuTime cpu_end = ProcessCpuTime();
  pool.Stop();
  if (projection != nullptr) {
    // Lag at the end of the measurement, then what the drain applied.
    out << "projection: lag " << [&] {
      auto lag = projection::MeasureOutboxLag(session.store.get());
      return lag.ok() ? FormatLag(*lag, absl::Now())
                      : std::string(lag.status().message());
    }() << " when the runs finished; ";
    absl::Status stopped = projection->Stop();
    out << ProjectionSummary(*projection, stopped, session.store.get()) << "\n";
  }

  // Check the work was really done: a run's output is 0 + 1 + 1 + 1.
  runtime::DescribeRunRequest describe;
  describe.set_namespace_("default");
  describe.set_run_id(absl::StrCat("bench-", runs - 1));
  absl::StatusOr<runtime::DescribeRunResponse> last =
      engine.DescribeRun(describe);

  std::vector<absl::Duration> latencies;
  for (const auto& f : tracker.finished()) latencies.push_back(f.latency);
  LatencySummary l = Summarize(latencies);
  const double seconds = absl::ToDoubleSeconds(end - begin);
  const int64_t done = static_cast<int64_t>(latencies.size());
  out << absl::StrFormat(
      "bench-3step : %10.0f runs/s; p50 %s, p99 %s, max %s (%d runs, %d "
      "steps in %.2f s)\n",
      done / std::max(seconds, 1e-9), FormatLatency(l.p50),
      FormatLatency(l.p99), FormatLatency(l.max), done, pool.tasks_completed(),
      seconds);
  // CPU per run: on few cores it bounds throughput and, on a VM, slows the
  // syncs too (docs/benchmarks.md).
  const absl::Duration user = cpu_end.user - cpu_begin.user;
  const absl::Duration sys = cpu_end.sys - cpu_begin.sys;
  out << absl::StrFormat(
      "cpu         : %.2f s (user %.2f, sys %.2f), %s per run, %.1f cores "
      "busy\n",
      absl::ToDoubleSeconds(user + sys), absl::ToDoubleSeconds(user),
      absl::ToDoubleSeconds(sys),
      FormatLatency((user + sys) / std::max<int64_t>(done, 1)),
      absl::ToDoubleSeconds(user + sys) / std::max(seconds, 1e-9));
  RETURN_IF_ERROR(probe_disk("after"));
  if (!last.ok() || last->output_json() != "3") {
    return Error(
        absl::StatusCode::kInternal, "BENCH_WRONG_RESULT",
        absl::StrCat("run bench-", runs - 1, " ended with ",
                     last.ok() ? absl::StrCat(last->status(), " output ",
                                              last->output_json())
                               : last.status().ToString(),
                     ", expected COMPLETED output 3"));
  }
  if (errors > 0 || not_completed > 0) {
    return Error(
        absl::StatusCode::kInternal, "BENCH_RUNS_FAILED",
        absl::StrCat(errors.load(), " starts failed, ", not_completed.load(),
                     " runs did not complete in 60 s. ", first_error));
  }
  return absl::OkStatus();
}

int RunCommand(absl::string_view name, absl::string_view usage,
               const std::vector<std::string>& argv,
               const std::set<std::string>& valued,
               const std::function<absl::Status(const Args&)>& command,
               std::ostream& out, std::ostream& err) {
  absl::StatusOr<Args> args = Args::Parse(argv, valued, {"keep", "help"});
  absl::Status status;
  if (!args.ok()) {
    status = args.status();
  } else if (args->Has("help")) {
    out << usage;
    return kExitOk;
  } else if (!args->positional().empty()) {
    status = UsageError("takes no positional arguments");
  } else {
    status = command(*args);
  }
  if (status.ok()) return kExitOk;
  err << "retrace " << name << ": " << status.message() << "\n";
  if (ErrorCode(status) == "USAGE") {
    err << usage;
    return kExitUsage;
  }
  return kExitFailure;
}

}  // namespace

int RunDemoCommand(const std::vector<std::string>& args, std::ostream& out,
                   std::ostream& err) {
  return RunCommand(
      "demo", kDemoUsage, args,
      {"runs", "workers", "db", "sync", "timeout", "projection"},
      [&](const Args& a) { return Demo(a, out); }, out, err);
}

int RunBenchCommand(const std::vector<std::string>& args, std::ostream& out,
                    std::ostream& err) {
  return RunCommand(
      "bench", kBenchUsage, args,
      {"runs", "concurrency", "workers", "db", "sync", "projection",
       "start-batch"},
      [&](const Args& a) { return Bench(a, out); }, out, err);
}

}  // namespace retrace::cli
