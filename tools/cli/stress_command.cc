#include "tools/cli/stress_command.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/events.h"
#include "history/rocksdb_store.h"
#include "projection/read_models.h"
#include "rapidjson/document.h"
#include "runtime/actions.h"
#include "runtime/forwarding_engine.h"
#include "runtime/worker_pool.h"
#include "signals/correlation.h"
#include "signals/ingress.h"
#include "tools/cli/args.h"
#include "tools/cli/cli.h"
#include "tools/cli/engine_session.h"
#include "tools/cli/expected_log.h"
#include "tools/cli/store_verifier.h"
#include "tools/cli/stress_definitions.h"

namespace retrace::cli {

using runtime::ForwardingEngine;
namespace {

constexpr char kNs[] = "default";
constexpr char kIdentity[] = "stress";
// Chance per operation, in thousandths, of removing version 1 of
// stress-versioned (at most once per session).
constexpr int kRemoveVersionPerMille = 3;

std::string StoreDirectory(const Args& args) {
  std::string dir = args.Get("db");
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string ExpectedLogPath(const std::string& dir) {
  return dir + "/expected.log";
}

std::string ReadModelsPath(const std::string& dir) { return dir + ".sqlite"; }

// An engine for the worker pool that appends every step outcome the engine
// acknowledged (CompleteTask / FailTask returned OK) to the expected-state
// log.
class AckingEngine final : public ForwardingEngine {
 public:
  AckingEngine(runtime::Engine* inner, ExpectedLogWriter* log)
      : ForwardingEngine(inner), log_(log) {}

  absl::StatusOr<runtime::PollTaskResponse> PollTask(
      const runtime::PollTaskRequest& r) override {
    auto response = ForwardingEngine::PollTask(r);
    if (response.ok() && response->has_task()) Claimed(response->task());
    return response;
  }
  absl::StatusOr<runtime::CompleteTaskResponse> CompleteTask(
      const runtime::CompleteTaskRequest& r) override {
    auto response = ForwardingEngine::CompleteTask(r);
    Acknowledged(r.token(), "completed", response.ok());
    // Eager dispatch: the run's next task may come back with the answer.
    if (response.ok() && response->has_next_task()) {
      Claimed(response->next_task());
    }
    return response;
  }
  absl::StatusOr<runtime::FailTaskResponse> FailTask(
      const runtime::FailTaskRequest& r) override {
    auto response = ForwardingEngine::FailTask(r);
    Acknowledged(r.token(), "failed", response.ok());
    if (response.ok() && response->has_next_task()) {
      Claimed(response->next_task());
    }
    return response;
  }

  absl::StatusOr<runtime::ReportTasksResponse> ReportTasks(
      const runtime::ReportTasksRequest& r) override {
    auto response = ForwardingEngine::ReportTasks(r);
    for (int i = 0; i < r.outcomes_size(); ++i) {
      Acknowledged(r.outcomes(i).token(),
                   r.outcomes(i).has_failure() ? "failed" : "completed",
                   response.ok() && response->results(i).code().empty());
    }
    if (response.ok()) {
      for (const runtime::Task& t : response->next_tasks()) Claimed(t);
    }
    return response;
  }

  int64_t acknowledged() const { return acknowledged_.load(); }
  absl::Status error() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }

 private:
  // Remembers what a claimed task is, to log its outcome.
  void Claimed(const runtime::Task& t) {
    // The idempotency key is "<ns>/<run>/<step path>".
    const std::string prefix =
        absl::StrCat(t.namespace_(), "/", t.run_id(), "/");
    ExpectedOp op;
    op.op = "step";
    op.run_id = t.run_id();
    op.step_path = absl::StartsWith(t.idempotency_key(), prefix)
                       ? t.idempotency_key().substr(prefix.size())
                       : t.idempotency_key();
    op.attempt = t.attempt();
    absl::MutexLock lock(&mu_);
    claimed_[t.token()] = std::move(op);
  }

  void Acknowledged(const std::string& token, const char* outcome, bool ok) {
    ExpectedOp op;
    {
      absl::MutexLock lock(&mu_);
      auto it = claimed_.find(token);
      if (it == claimed_.end()) return;
      op = std::move(it->second);
      claimed_.erase(it);
    }
    if (!ok) return;
    op.outcome = outcome;
    absl::Status s = log_->Append(op);
    if (s.ok()) {
      ++acknowledged_;
      return;
    }
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = s;
  }

  ExpectedLogWriter* const log_;
  mutable absl::Mutex mu_;
  std::map<std::string, ExpectedOp> claimed_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> acknowledged_{0};
};

// Applies the projection outbox to DIR.sqlite every 100 ms until stopped, so
// kills also land in the middle of read-model transactions.
class Projector {
 public:
  Projector(history::HistoryStore* store, std::string path)
      : thread_([this, store, path] { Loop(store, path); }) {}
  ~Projector() {
    stop_.Notify();
    thread_.join();
  }
  int64_t applied() const { return applied_.load(); }
  std::string error() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }

 private:
  void Loop(history::HistoryStore* store, const std::string& path) {
    auto models = projection::ReadModels::Open(store, path);
    if (!models.ok()) return Fail(models.status());
    while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      absl::StatusOr<int> n = (*models)->ApplyOutbox(500);
      if (!n.ok()) return Fail(n.status());
      applied_ += *n;
    }
  }
  void Fail(const absl::Status& s) {
    absl::MutexLock lock(&mu_);
    error_ = std::string(s.message());
  }

  absl::Notification stop_;
  std::atomic<int64_t> applied_{0};
  mutable absl::Mutex mu_;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// stress.slow: sleeps input.ms milliseconds in 5 ms slices, heartbeating
// after each when input.heartbeat is true, and returns its input. Under a
// short start-to-close timeout it makes leases expire.
absl::StatusOr<history::Payload> SlowAction(const runtime::ActionContext& ctx,
                                            const history::Payload& input) {
  rapidjson::Document doc;
  doc.Parse(input.data().data(), input.data().size());
  int64_t ms = 0;
  bool heartbeat = false;
  if (doc.IsObject()) {
    if (doc.HasMember("ms") && doc["ms"].IsInt64()) ms = doc["ms"].GetInt64();
    if (doc.HasMember("heartbeat") && doc["heartbeat"].IsBool()) {
      heartbeat = doc["heartbeat"].GetBool();
    }
  }
  const absl::Time end = absl::Now() + absl::Milliseconds(ms);
  for (absl::Time now = absl::Now(); now < end; now = absl::Now()) {
    absl::SleepFor(std::min(absl::Milliseconds(5), end - now));
    if (heartbeat && !ctx.heartbeat()) {
      return runtime::ActionFailure("STOPPED",
                                    "the run was canceled or the lease lost");
    }
  }
  return input;
}

struct KnownRun {
  std::string id;
  std::string workflow;
};

struct Counters {
  int64_t ops = 0;
  int64_t starts = 0, started = 0, duplicate_starts = 0;
  int64_t events = 0, duplicate_events = 0, matched = 0, resumed = 0,
          trigger_starts = 0, unresolved = 0;
  int64_t cancels = 0, terminations = 0, retries = 0, removals = 0,
          human_tasks = 0;
  std::map<std::string, int64_t> refused;  // error code -> count
  int64_t refused_total() const {
    int64_t n = 0;
    for (const auto& [code, count] : refused) n += count;
    return n;
  }
};

// The seeded operation mix. The seed fixes every choice; what a choice hits
// (which run is still open, whether a wait has opened yet) depends on timing.
class Workload {
 public:
  Workload(runtime::Engine* engine, signals::SignalIngress* ingress,
           ExpectedLogWriter* log, uint64_t seed, int64_t in_flight)
      : engine_(engine),
        ingress_(ingress),
        log_(log),
        seed_(seed),
        in_flight_(in_flight),
        rng_(seed) {}

  // Learns the runs of the store (all known; those not ended are open, the
  // failed ones are retry candidates) and the events of earlier sessions
  // (for duplicates).
  absl::Status Load(history::HistoryStore* store, const ExpectedLog& log) {
    std::string cursor;
    for (;;) {
      ASSIGN_OR_RETURN(history::RunPage page, store->ListAllRuns(cursor, 1000));
      for (const history::RunInfo& info : page.runs) {
        if (info.namespace_() != kNs) continue;
        Remember(info.run_id(), info.workflow());
        if (info.status() == history::RUN_STATUS_RUNNING) {
          open_.insert(info.run_id());
        } else if (info.status() == history::RUN_STATUS_FAILED) {
          AddFailed(info.run_id());
        }
      }
      cursor = page.next_cursor;
      if (cursor.empty()) break;
    }
    // Events acknowledged before, and events a killed session was about to
    // ingest (which may or may not have been), for re-sending.
    for (const ExpectedOp& op : log.ops) {
      if (op.op != "intent" &&
          (op.op != "signal" || op.outcome != "ingested")) {
        continue;
      }
      if (!pooled_.insert(op.event_id).second) continue;
      signals::Event e;
      e.id = op.event_id;
      e.name = op.event_name;
      e.ns = kNs;
      e.correlation_key = op.correlation_key;
      e.payload_json = op.payload_json.empty() ? "null" : op.payload_json;
      events_.push_back(std::move(e));
    }
    return absl::OkStatus();
  }

  // Issues one operation (a start at the in-flight limit waits a little
  // instead).
  absl::Status Step() {
    if (absl::Now() - last_refresh_ > absl::Milliseconds(25)) Refresh();
    const int pick = Uniform(1000);
    if (pick < 450) return Start();
    if (pick < 780) return Signal();
    if (pick < 820) return CompleteHumanTask();
    if (pick < 870) return Cancel();
    if (pick < 900) return Terminate();
    if (pick < 900 + kRemoveVersionPerMille && !removed_) {
      return RemoveVersion();
    }
    return Retry();
  }

  const Counters& counters() const { return counters_; }
  size_t known_runs() const { return known_.size(); }
  size_t open_runs() const { return open_.size(); }

 private:
  int Uniform(int n) {
    return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng_));
  }
  bool Chance(double p) {
    return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
  }

  void Remember(const std::string& id, const std::string& workflow) {
    if (index_.emplace(id, known_.size()).second) {
      known_.push_back({id, workflow});
    }
  }
  void AddFailed(const std::string& id) {
    if (failed_set_.insert(id).second) failed_.push_back(id);
  }

  // Drops runs that have ended from the open set; failed ones become retry
  // candidates.
  void Refresh() {
    last_refresh_ = absl::Now();
    std::vector<std::string> ended;
    for (const std::string& id : open_) {
      runtime::DescribeRunRequest d;
      d.set_namespace_(kNs);
      d.set_run_id(id);
      absl::StatusOr<runtime::DescribeRunResponse> run =
          engine_->DescribeRun(d);
      if (!run.ok()) {
        if (ErrorCode(run.status()) == "RUN_NOT_FOUND") ended.push_back(id);
        continue;
      }
      if (run->status() == "COMPLETED" || run->status() == "CANCELED" ||
          run->status() == "TERMINATED" ||
          run->status() == "CONTINUED_AS_NEW") {
        ended.push_back(id);
      } else if (run->status() == "FAILED") {
        ended.push_back(id);
        AddFailed(id);
      }
    }
    for (const std::string& id : ended) open_.erase(id);
  }

  // A run to act on: usually an open one, else any, recent ones first.
  const KnownRun* PickRun(
      bool prefer_open,
      std::initializer_list<absl::string_view> workflows = {}) {
    auto wanted = [&](const KnownRun& run) {
      return workflows.size() == 0 ||
             std::find(workflows.begin(), workflows.end(), run.workflow) !=
                 workflows.end();
    };
    std::vector<const std::string*> candidates;
    if (prefer_open) {
      for (const std::string& id : open_) {
        if (wanted(known_[index_.at(id)])) candidates.push_back(&id);
      }
      if (!candidates.empty()) {
        return &known_[index_.at(*candidates[Uniform(candidates.size())])];
      }
    }
    if (known_.empty()) return nullptr;
    // The last 256 known runs of those workflows, newest first.
    for (size_t i = known_.size(); i > 0 && candidates.size() < 256; --i) {
      const KnownRun& run = known_[i - 1];
      if (wanted(run)) candidates.push_back(&run.id);
    }
    if (candidates.empty()) return nullptr;
    return &known_[index_.at(*candidates[Uniform(candidates.size())])];
  }

  absl::Status Ack(ExpectedOp op) { return log_->Append(op); }

  void Refused(const absl::Status& s) {
    const std::string code = ErrorCode(s);
    ++counters_
          .refused[code.empty() ? absl::StatusCodeToString(s.code()) : code];
  }

  absl::Status Start() {
    if (static_cast<int64_t>(open_.size()) >= in_flight_) {
      // At the limit: let runs finish (this is not an operation).
      absl::SleepFor(absl::Milliseconds(2));
      Refresh();
      return absl::OkStatus();
    }
    ++counters_.ops;
    static constexpr std::pair<const char*, int> kWorkflows[] = {
        {"stress-echo", 20}, {"stress-flaky", 15},  {"stress-sleep", 15},
        {"stress-wait", 25}, {"stress-loop", 10},   {"stress-versioned", 15},
        {"stress-slow", 10}, {"stress-fanout", 10}, {"stress-approval", 8},
    };
    int total = 0;
    for (const auto& [name, weight] : kWorkflows) total += weight;
    int w = Uniform(total);
    std::string workflow;
    for (const auto& [name, weight] : kWorkflows) {
      if (w < weight) {
        workflow = name;
        break;
      }
      w -= weight;
    }
    const int64_t n = counters_.ops;
    std::string run_id = absl::StrCat(workflow, "-s", seed_, "-", n);
    // Now and then start an existing run id again (an idempotent start).
    if (Chance(0.08)) {
      if (const KnownRun* again = PickRun(false)) {
        run_id = again->id;
        workflow = again->workflow;
      }
    }
    runtime::StartRunRequest start;
    start.set_namespace_(kNs);
    start.set_workflow(workflow);
    start.set_run_id(run_id);
    start.set_identity(kIdentity);
    if (workflow == "stress-sleep") {
      start.set_input_json(
          absl::StrFormat(R"({"n": %d, "sleep_ms": %d})", n, 1 + Uniform(60)));
    } else if (workflow == "stress-wait" || workflow == "stress-fanout") {
      start.set_input_json(
          absl::StrFormat(R"({"n": %d, "key": "%s"})", n, WaitKey(run_id)));
    } else if (workflow == "stress-slow") {
      // Mostly quick; three in ten outlast the lease (and the timer thread's
      // 500 ms nap) unless it heartbeats.
      start.set_input_json(
          absl::StrFormat(R"({"n": %d, "ms": %d})", n,
                          Chance(0.3) ? 300 + Uniform(400) : 1 + Uniform(40)));
    } else if (workflow == "stress-loop") {
      start.set_input_json(
          absl::StrFormat(R"({"round": 1, "rounds": %d, "width": %d})",
                          1 + Uniform(3), 1 + Uniform(3)));
    } else {
      start.set_input_json(absl::StrFormat(R"({"n": %d})", n));
    }
    if (workflow == "stress-versioned") {
      const int v = Uniform(10);
      start.set_version(v < 4 ? "1" : v < 6 ? "2" : "");
    }
    // A small pool of dedupe keys, so some starts fall in another's window.
    if (Chance(0.25)) start.set_dedupe_key(absl::StrCat("dk-", Uniform(48)));
    ++counters_.starts;
    absl::StatusOr<runtime::StartRunResponse> r = engine_->StartRun(start);
    if (!r.ok()) {
      Refused(r.status());
      return absl::OkStatus();
    }
    ExpectedOp op;
    op.op = "start";
    op.run_id = r->run_id();
    op.workflow = workflow;
    op.version = r->version();
    op.dedupe_key = start.dedupe_key();
    op.outcome = r->duplicate() ? "duplicate" : "started";
    RETURN_IF_ERROR(Ack(op));
    if (r->duplicate()) {
      ++counters_.duplicate_starts;
    } else {
      ++counters_.started;
      Remember(r->run_id(), workflow);
      open_.insert(r->run_id());
    }
    return absl::OkStatus();
  }

  static std::string WaitKey(const std::string& run_id) {
    return absl::StrCat("k-", run_id);
  }

  signals::Event NewEvent(const std::string& name) {
    signals::Event e;
    e.id = absl::StrCat("ev-s", seed_, "-", ++event_counter_);
    e.name = name;
    e.ns = kNs;
    return e;
  }

  // An event for a stress-wait run's key, carried in one of the ways the
  // correlation resolver reads.
  signals::Event KeyedEvent(const std::string& key, bool ok) {
    signals::Event e = NewEvent("stress.signal");
    const int how = Uniform(100);
    const std::string body = absl::StrFormat(
        R"("ok": %s, "n": %d)", ok ? "true" : "false", event_counter_);
    if (how < 60) {
      e.correlation_key = key;
      e.payload_json = absl::StrCat("{", body, "}");
    } else if (how < 85) {
      e.payload_json =
          absl::StrCat(R"({"correlationKey": ")", key, R"(", )", body, "}");
    } else {
      e.payload_json = absl::StrCat(R"({"workflowCorrelationKey": ")", key,
                                    R"(", )", body, "}");
    }
    return e;
  }

  absl::Status Signal() {
    ++counters_.ops;
    std::vector<signals::Event> batch;
    const int size = 1 + Uniform(3);
    for (int i = 0; i < size; ++i) {
      const int kind = Uniform(100);
      const KnownRun* waiting = PickRun(true, {"stress-wait", "stress-fanout"});
      if (kind < 35 && waiting != nullptr) {
        batch.push_back(KeyedEvent(WaitKey(waiting->id), true));
      } else if (kind < 50 && waiting != nullptr) {
        batch.push_back(KeyedEvent(WaitKey(waiting->id), false));
      } else if (kind < 60) {
        batch.push_back(
            KeyedEvent(absl::StrCat("nobody-", Uniform(1000)), true));
      } else if (kind < 72 && !events_.empty()) {
        // An event id ingested before (in this session or an earlier one).
        batch.push_back(events_[Uniform(events_.size())]);
      } else if (kind < 82) {
        signals::Event e = NewEvent("stress.signal");
        e.payload_json = R"({"ok": true, "note": "no key anywhere"})";
        batch.push_back(std::move(e));
      } else {
        signals::Event e = NewEvent("stress.order");
        e.payload_json = absl::StrFormat(R"({"orderId": "o-%d", "total": %d})",
                                         Uniform(40), Uniform(3));
        batch.push_back(std::move(e));
      }
      if (Chance(0.1)) batch.push_back(batch.back());  // repeated in a batch
    }
    // Intents first: if this session dies inside Ingest, a later one
    // re-sends these ids, as a client retrying after a crash would.
    std::vector<ExpectedOp> intents;
    std::set<std::string> in_batch;
    for (const signals::Event& e : batch) {
      if (!in_batch.insert(e.id).second) continue;
      ExpectedOp op;
      op.op = "intent";
      op.event_id = e.id;
      op.event_name = e.name;
      op.correlation_key = e.correlation_key;
      op.payload_json = e.payload_json;
      intents.push_back(std::move(op));
    }
    RETURN_IF_ERROR(log_->Append(intents));
    absl::StatusOr<std::vector<absl::StatusOr<signals::IngestResult>>> results =
        ingress_->Ingest(batch);
    if (!results.ok()) {
      Refused(results.status());
      return absl::OkStatus();
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      const absl::StatusOr<signals::IngestResult>& r = (*results)[i];
      ++counters_.events;
      if (!r.ok()) {
        Refused(r.status());
        continue;
      }
      const signals::Event& e = batch[i];
      const history::SignalAuditRecord& a = r->audit;
      ExpectedOp op;
      op.op = "signal";
      op.event_id = e.id;
      op.event_name = e.name;
      op.correlation_key = e.correlation_key;
      op.payload_json = e.payload_json;
      op.outcome = r->duplicate ? "duplicate" : "ingested";
      op.matched.assign(a.matched_run_ids().begin(), a.matched_run_ids().end());
      op.resumed.assign(a.resumed_run_ids().begin(), a.resumed_run_ids().end());
      op.started.assign(a.started_run_ids().begin(), a.started_run_ids().end());
      op.error = a.error_code();
      RETURN_IF_ERROR(Ack(op));
      if (r->duplicate) {
        ++counters_.duplicate_events;
        continue;
      }
      counters_.matched += a.matched_run_ids_size();
      counters_.resumed += a.resumed_run_ids_size();
      counters_.trigger_starts += a.started_run_ids_size();
      counters_.unresolved += a.error_code() == "CORRELATION_UNRESOLVED";
      if (pooled_.insert(e.id).second) events_.push_back(e);
      for (const std::string& id : a.started_run_ids()) {
        Remember(id, "stress-order");
        open_.insert(id);
      }
    }
    return absl::OkStatus();
  }

  // Completes the open human task of a stress-approval run (or, when it has
  // none left, names its last one: refused with TASK_NOT_FOUND).
  absl::Status CompleteHumanTask() {
    const KnownRun* run = PickRun(Chance(0.9), {"stress-approval"});
    if (run == nullptr) return Start();
    ++counters_.ops;
    runtime::GetHistoryRequest get;
    get.set_namespace_(kNs);
    get.set_run_id(run->id);
    absl::StatusOr<runtime::GetHistoryResponse> history =
        engine_->GetHistory(get);
    if (!history.ok()) {
      Refused(history.status());
      return absl::OkStatus();
    }
    std::string task_id;
    std::set<std::string> done;
    for (const history::HistoryEvent& e : history->events()) {
      if (e.has_human_task_completed()) {
        done.insert(e.human_task_completed().task_id());
      }
    }
    for (const history::HistoryEvent& e : history->events()) {
      if (e.has_human_task_created() &&
          (task_id.empty() || !done.count(e.human_task_created().task_id()))) {
        task_id = e.human_task_created().task_id();
      }
    }
    if (task_id.empty()) task_id = "/steps/0";
    runtime::CompleteHumanTaskRequest complete;
    complete.set_namespace_(kNs);
    complete.set_run_id(run->id);
    complete.set_task_id(task_id);
    complete.set_result_json(
        absl::StrFormat(R"({"approved": %s})", Chance(0.7) ? "true" : "false"));
    complete.set_completed_by(kIdentity);
    absl::StatusOr<runtime::CompleteHumanTaskResponse> r =
        engine_->CompleteHumanTask(complete);
    if (!r.ok()) {
      Refused(r.status());
      return absl::OkStatus();
    }
    ++counters_.human_tasks;
    ExpectedOp op;
    op.op = "complete_task";
    op.run_id = run->id;
    op.task_id = task_id;
    op.outcome = "completed";
    return Ack(op);
  }

  absl::Status Cancel() {
    const KnownRun* run = PickRun(Chance(0.8));
    if (run == nullptr) return Start();
    ++counters_.ops;
    runtime::CancelRunRequest cancel;
    cancel.set_namespace_(kNs);
    cancel.set_run_id(run->id);
    cancel.set_reason("stress");
    cancel.set_identity(kIdentity);
    absl::StatusOr<runtime::CancelRunResponse> r = engine_->CancelRun(cancel);
    if (!r.ok()) {
      Refused(r.status());
      return absl::OkStatus();
    }
    ++counters_.cancels;
    ExpectedOp op;
    op.op = "cancel";
    op.run_id = run->id;
    op.outcome = r->canceled() ? "canceled" : "already_canceled";
    return Ack(op);
  }

  absl::Status Terminate() {
    const KnownRun* run = PickRun(Chance(0.9));
    if (run == nullptr) return Start();
    ++counters_.ops;
    runtime::TerminateRunRequest terminate;
    terminate.set_namespace_(kNs);
    terminate.set_run_id(run->id);
    terminate.set_reason("stress");
    terminate.set_identity(kIdentity);
    absl::StatusOr<runtime::TerminateRunResponse> r =
        engine_->TerminateRun(terminate);
    if (!r.ok()) {
      Refused(r.status());
      return absl::OkStatus();
    }
    ++counters_.terminations;
    ExpectedOp op;
    op.op = "terminate";
    op.run_id = run->id;
    op.outcome = "terminated";
    return Ack(op);
  }

  absl::Status Retry() {
    if (failed_.empty()) return Start();
    ++counters_.ops;
    const size_t i = Uniform(failed_.size());
    const std::string run_id = failed_[i];
    failed_[i] = failed_.back();
    failed_.pop_back();
    failed_set_.erase(run_id);
    runtime::RetryRunRequest retry;
    retry.set_namespace_(kNs);
    retry.set_run_id(run_id);
    retry.set_reason("stress");
    retry.set_identity(kIdentity);
    absl::StatusOr<runtime::RetryRunResponse> r = engine_->RetryRun(retry);
    if (!r.ok()) {
      Refused(r.status());
      return absl::OkStatus();
    }
    ++counters_.retries;
    open_.insert(run_id);
    ExpectedOp op;
    op.op = "retry";
    op.run_id = run_id;
    op.outcome = "retried";
    return Ack(op);
  }

  absl::Status RemoveVersion() {
    ++counters_.ops;
    removed_ = true;
    runtime::RemoveDefinitionRequest remove;
    remove.set_namespace_(kNs);
    remove.set_name("stress-versioned");
    remove.set_version("1");
    absl::StatusOr<runtime::RemoveDefinitionResponse> r =
        engine_->RemoveDefinition(remove);
    if (!r.ok()) {
      Refused(r.status());
      return absl::OkStatus();
    }
    ++counters_.removals;
    ExpectedOp op;
    op.op = "remove_version";
    op.workflow = "stress-versioned";
    op.version = "1";
    op.outcome = "removed";
    return Ack(op);
  }

  runtime::Engine* const engine_;
  signals::SignalIngress* const ingress_;
  ExpectedLogWriter* const log_;
  const uint64_t seed_;
  const int64_t in_flight_;
  std::mt19937_64 rng_;
  Counters counters_;
  absl::Time last_refresh_ = absl::InfinitePast();

  std::vector<KnownRun> known_;
  std::map<std::string, size_t> index_;  // run id -> position in known_
  std::set<std::string> open_;
  std::vector<std::string> failed_;
  std::set<std::string> failed_set_;
  std::vector<signals::Event> events_;  // ingested or intended, to re-send
  std::set<std::string> pooled_;        // their ids
  int64_t event_counter_ = 0;
  bool removed_ = false;
};

std::string FormatCounts(const std::map<std::string, int64_t>& counts) {
  std::vector<std::pair<int64_t, std::string>> sorted;
  for (const auto& [code, n] : counts) sorted.emplace_back(-n, code);
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [n, code] : sorted) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", code, " ", -n);
  }
  return out;
}

// Counts the runs of the store that have not ended; fills `sample` with a
// few of them.
absl::StatusOr<int64_t> CountOpenRuns(history::HistoryStore* store,
                                      std::vector<std::string>* sample) {
  int64_t open = 0;
  std::string cursor;
  for (;;) {
    ASSIGN_OR_RETURN(history::RunPage page, store->ListAllRuns(cursor, 1000));
    for (const history::RunInfo& info : page.runs) {
      if (history::IsFinal(info.status()) ||
          info.status() == history::RUN_STATUS_FAILED) {
        continue;
      }
      ++open;
      if (sample != nullptr && sample->size() < 10) {
        sample->push_back(info.run_id());
      }
    }
    cursor = page.next_cursor;
    if (cursor.empty()) break;
  }
  return open;
}

absl::Status Stress(const Args& args, std::ostream& out) {
  if (!args.Has("db")) return UsageError("--db DIR is required");
  const std::string dir = StoreDirectory(args);
  const bool drain = args.Has("drain");
  if (drain && (args.Has("ops") || args.Has("duration"))) {
    return UsageError("--drain issues no operations: drop --ops/--duration");
  }
  if (args.Has("ops") && args.Has("duration")) {
    return UsageError("give --duration or --ops, not both");
  }
  ASSIGN_OR_RETURN(
      int64_t seed,
      IntOption(args, "seed", absl::ToUnixMicros(absl::Now()) % 1000000007, 0));
  ASSIGN_OR_RETURN(int64_t max_ops, IntOption(args, "ops", 0, 1));
  ASSIGN_OR_RETURN(absl::Duration duration,
                   DurationOption(args, "duration", absl::Seconds(10)));
  ASSIGN_OR_RETURN(int64_t in_flight, IntOption(args, "in-flight", 32, 1));
  ASSIGN_OR_RETURN(int64_t workers, IntOption(args, "workers", 8, 1));
  ASSIGN_OR_RETURN(bool projection, BoolOption(args, "projection", true));
  ASSIGN_OR_RETURN(bool sync, BoolOption(args, "sync", true));
  ASSIGN_OR_RETURN(absl::Duration drain_timeout,
                   DurationOption(args, "timeout", absl::Seconds(60)));

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ASSIGN_OR_RETURN(ExpectedLog previous, ReadExpectedLog(ExpectedLogPath(dir)));
  ASSIGN_OR_RETURN(std::unique_ptr<ExpectedLogWriter> log,
                   ExpectedLogWriter::Open(ExpectedLogPath(dir)));
  ASSIGN_OR_RETURN(EngineSession session,
                   OpenEngine(dir, sync, /*timer_thread=*/true));
  runtime::Engine& engine = *session.engine;
  for (const auto& [file, json] : StressDefinitions()) {
    runtime::RegisterDefinitionRequest request;
    request.set_namespace_(kNs);
    request.set_definition_json(json);
    absl::StatusOr<runtime::RegisterDefinitionResponse> registered =
        engine.RegisterDefinition(request);
    if (!registered.ok()) return Annotate(registered.status(), file);
  }
  ExpectedOp session_op;
  session_op.op = "session";
  session_op.seed = seed;
  session_op.pid = getpid();
  session_op.at = history::FormatTimestamp(absl::Now());
  session_op.outcome = drain ? "drain" : "workload";
  RETURN_IF_ERROR(log->Append(session_op));
  const int64_t lines_before = log->lines_written();

  signals::SignalIngress ingress(&engine, session.store.get(),
                                 signals::CorrelationConfig());
  Workload workload(&engine, &ingress, log.get(), static_cast<uint64_t>(seed),
                    in_flight);
  RETURN_IF_ERROR(workload.Load(session.store.get(), previous));

  AckingEngine acking(&engine, log.get());
  runtime::ActionRegistry registry;
  runtime::RegisterBuiltinActions(&registry);
  registry.Register("stress.slow", SlowAction);
  runtime::WorkerPoolOptions pool_options;
  pool_options.identity = kIdentity;
  pool_options.threads = static_cast<int>(workers);
  runtime::WorkerPool pool(&acking, &registry, pool_options);
  RETURN_IF_ERROR(pool.Start());
  std::unique_ptr<Projector> projector;
  if (projection) {
    projector =
        std::make_unique<Projector>(session.store.get(), ReadModelsPath(dir));
  }
  out << "stress: seed " << seed << " on " << dir << ": "
      << (drain ? "draining" : absl::StrCat(in_flight, " runs in flight"))
      << ", " << workers << " workers, " << workload.known_runs()
      << " runs known (" << workload.open_runs() << " open), "
      << previous.ops.size() << " lines in expected.log" << std::endl;

  const absl::Time begin = absl::Now();
  absl::Status status;
  if (drain) {
    for (;;) {
      std::vector<std::string> sample;
      absl::StatusOr<int64_t> open =
          CountOpenRuns(session.store.get(), &sample);
      if (!open.ok()) {
        status = open.status();
        break;
      }
      if (*open == 0) break;
      if (absl::Now() - begin > drain_timeout) {
        status = Error(absl::StatusCode::kDeadlineExceeded,
                       "STRESS_DRAIN_INCOMPLETE",
                       absl::StrCat(*open, " runs have not ended after ",
                                    absl::FormatDuration(drain_timeout),
                                    ", e.g. ", absl::StrJoin(sample, ", ")));
        break;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  } else {
    const absl::Time end = begin + duration;
    while (status.ok()) {
      if (max_ops > 0 ? workload.counters().ops >= max_ops
                      : absl::Now() >= end) {
        break;
      }
      status = workload.Step();
      if (status.ok()) status = acking.error();
    }
  }
  pool.Stop();
  projector.reset();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  if (drain) {
    out << absl::StrFormat(
               "stress: drained in %.2f s: workers %d completed, %d failed "
               "attempts; %d lines appended to expected.log",
               seconds, pool.tasks_completed(), pool.tasks_failed(),
               log->lines_written() - lines_before)
        << std::endl;
    return status;
  }
  const Counters& c = workload.counters();
  out << absl::StrFormat(
             "stress: seed %d, %d ops in %.2f s: %d starts (%d new, %d "
             "duplicate), %d events (%d duplicate, %d matched runs, %d "
             "resumed, %d trigger starts, %d unresolved), %d human tasks "
             "completed, %d cancels, %d terminations, %d retries, %d version "
             "removals; %d refused%s; "
             "workers %d completed, %d failed attempts; %d lines appended "
             "to expected.log",
             seed, c.ops, seconds, c.starts, c.started, c.duplicate_starts,
             c.events, c.duplicate_events, c.matched, c.resumed,
             c.trigger_starts, c.unresolved, c.human_tasks, c.cancels,
             c.terminations, c.retries, c.removals, c.refused_total(),
             c.refused.empty()
                 ? ""
                 : absl::StrCat(" (", FormatCounts(c.refused), ")"),
             pool.tasks_completed(), pool.tasks_failed(),
             log->lines_written() - lines_before)
      << std::endl;
  return status;
}

absl::Status Verify(const Args& args, std::ostream& out) {
  if (!args.Has("db")) return UsageError("--db DIR is required");
  const std::string dir = StoreDirectory(args);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Error(absl::StatusCode::kNotFound, "FILE_IO",
                 absl::StrCat("no store directory ", dir));
  }
  ASSIGN_OR_RETURN(ExpectedLog log, ReadExpectedLog(ExpectedLogPath(dir)));
  ASSIGN_OR_RETURN(std::unique_ptr<history::HistoryStore> store,
                   history::OpenRocksDbHistoryStore(dir));
  VerifyOptions options;
  options.final = args.Has("final");
  options.read_models_path = ReadModelsPath(dir);
  for (const auto& [file, json] : StressDefinitions()) {
    options.known_definitions.push_back(json);
  }
  ASSIGN_OR_RETURN(VerifyReport report,
                   VerifyStore(store.get(), log.ops, options));
  for (const Violation& v : report.violations) out << v.ToString() << "\n";
  out << "verify: " << report.runs << " runs verified, "
      << report.violations.size() << " violations (" << report.events
      << " events, " << report.acks << " acknowledged operations, "
      << log.torn_lines << " torn log lines" << (options.final ? ", final" : "")
      << ")\n";
  if (!report.violations.empty()) {
    return Error(
        absl::StatusCode::kDataLoss, "VERIFY_FAILED",
        absl::StrCat(report.violations.size(), " violations in store ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

int RunStressCommand(const std::vector<std::string>& argv, std::ostream& out,
                     std::ostream& err) {
  const bool verify = !argv.empty() && argv[0] == "verify";
  std::vector<std::string> rest(argv.begin() + (verify ? 1 : 0), argv.end());
  absl::StatusOr<Args> args =
      Args::Parse(rest,
                  {"db", "seed", "duration", "ops", "in-flight", "workers",
                   "projection", "sync", "timeout"},
                  {"drain", "final", "help"});
  absl::Status status;
  if (!args.ok()) {
    status = args.status();
  } else if (args->Has("help")) {
    out << kStressUsage;
    return kExitOk;
  } else if (!args->positional().empty()) {
    status = UsageError(
        absl::StrCat("unexpected argument '", args->positional()[0], "'"));
  } else if (verify) {
    status = Verify(*args, out);
  } else {
    status = Stress(*args, out);
  }
  if (status.ok()) return kExitOk;
  const std::string prefix =
      verify ? "retrace stress verify" : "retrace stress";
  err << prefix << ": " << status.message() << "\n";
  if (ErrorCode(status) == "USAGE") {
    err << kStressUsage;
    return kExitUsage;
  }
  return kExitFailure;
}

}  // namespace retrace::cli
