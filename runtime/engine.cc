#include "runtime/engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "expr/value.h"
#include "history/events.h"
#include "history/validation.h"
#include "runtime/definition.h"
#include "runtime/internal/engine_keys.h"
#include "runtime/internal/engine_state.pb.h"
#include "runtime/interpreter.h"

namespace retrace::runtime {
namespace {

using history::HistoryEvent;
using history::KeySpace;
using history::Mutation;
using internal::DefinitionRecord;
using internal::RunRecord;
using internal::TaskRecord;
using internal::TimerRecord;

// Run locks, by hash. A batch (ReportTasks, SignalRuns) holds its runs'
// stripes through its commit, so two batches that share a stripe wait a
// whole fsync for each other: many stripes keep that rare.
constexpr int kStripes = 16384;
constexpr size_t kRememberedTokens = 100000;
// Signal ids a run remembers, so a re-delivered event is not applied twice.
constexpr int kRecentSignalIds = 256;
// Threads that fire due timers at once.
constexpr size_t kTimerFiringThreads = 16;

absl::Status NotFound(absl::string_view code, absl::string_view message) {
  return Error(absl::StatusCode::kNotFound, code, message);
}
absl::Status Invalid(absl::string_view code, absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, code, message);
}
absl::Status Precondition(absl::string_view code, absl::string_view message) {
  return Error(absl::StatusCode::kFailedPrecondition, code, message);
}

std::string RunName(absl::string_view ns, absl::string_view run) {
  return absl::StrCat(ns, "/", run);
}

template <typename Message>
absl::StatusOr<std::optional<Message>> GetRow(history::HistoryStore* store,
                                              KeySpace space,
                                              const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store->Get(space, key));
  if (!bytes.has_value()) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(*bytes)) {
    return Error(absl::StatusCode::kDataLoss, "STORE_CORRUPT",
                 absl::StrCat("engine row in ", history::KeySpaceName(space),
                              " does not parse"));
  }
  return std::optional<Message>(std::move(m));
}

// A run loaded for a transition: its interpreter and its rows.
struct LoadedRun {
  std::string ns;
  std::string run_id;
  std::shared_ptr<const Definition> def;  // null: its version was removed
  std::unique_ptr<Interpreter> interpreter;
  history::RunInfo info;
  RunRecord record;
};

struct Lease {
  TaskRecord task;
  std::string task_key;
  std::string worker_id;
  absl::Time deadline;
};

struct WorkerState {
  internal::WorkerRecord record;
  absl::Time last_seen;
  bool draining = false;
  int in_flight = 0;
};

// What a committed transition changes in the in-memory indexes.
// A worker reporting outcomes that asked for up to `max` of the tasks they
// schedule (eager dispatch).
struct EagerClaim {
  std::string worker_id;
  size_t max = 0;
  std::vector<Task> tasks;  // claimed so far
};

struct Effects {
  std::vector<std::pair<std::string, TaskRecord>> new_tasks;
  std::vector<std::string> removed_tasks;
  std::vector<std::pair<absl::Time, std::string>> new_timers;
  std::vector<std::pair<absl::Time, std::string>> removed_timers;
  std::optional<StartRunRequest> continue_as_new;
  EagerClaim* eager = nullptr;
};

// The lock stripes of several runs, each taken once and in address order
// (so that two batches cannot deadlock), held until Release() or the end of
// the scope.
class StripeLocks {
 public:
  explicit StripeLocks(std::vector<absl::Mutex*> locks)
      : locks_(std::move(locks)) {
    std::sort(locks_.begin(), locks_.end());
    locks_.erase(std::unique(locks_.begin(), locks_.end()), locks_.end());
    for (absl::Mutex* mu : locks_) mu->Lock();
  }
  StripeLocks(const StripeLocks&) = delete;
  StripeLocks& operator=(const StripeLocks&) = delete;
  ~StripeLocks() { Release(); }

  void Release() {
    for (auto it = locks_.rbegin(); it != locks_.rend(); ++it) (*it)->Unlock();
    locks_.clear();
  }

 private:
  std::vector<absl::Mutex*> locks_;
};

class EngineImpl : public Engine {
 public:
  EngineImpl(history::HistoryStore* store, const EngineOptions& options)
      : store_(store),
        options_(options),
        clock_(options.clock != nullptr ? options.clock : SystemClock::Get()) {}

  ~EngineImpl() override {
    {
      absl::MutexLock lock(&timer_thread_mu_);
      stopping_ = true;
    }
    if (timer_thread_.joinable()) timer_thread_.join();
    absl::MutexLock lock(&task_mu_);
    task_stopping_ = true;
    for (Waiter* w : waiters_) w->cv.Signal();
  }

  absl::Status Init() {
    // Definitions.
    for (auto it = store_->Scan(KeySpace::kDefinitions, "", ""); it->Valid();
         it->Next()) {
      std::vector<absl::string_view> parts =
          absl::StrSplit(it->key(), absl::ByChar('\0'));
      if (parts.size() == 2) {
        internal::WorkflowRecord w;
        w.ParseFromArray(it->value().data(), it->value().size());
        workflows_[internal::WorkflowKey(parts[0], parts[1])].paused =
            w.paused();
      } else if (parts.size() == 3) {
        DefinitionRecord rec;
        if (!rec.ParseFromArray(it->value().data(), it->value().size())) {
          return Error(absl::StatusCode::kDataLoss, "STORE_CORRUPT",
                       "a stored definition does not parse");
        }
        DefinitionResult parsed = ParseDefinition(rec.json());
        if (!parsed.ok()) {
          return Annotate(
              parsed.status(),
              absl::StrCat("stored definition ", parts[1], " ", parts[2]));
        }
        auto& wf = workflows_[internal::WorkflowKey(parts[0], parts[1])];
        wf.versions[std::string(parts[2])] = {parsed.definition, rec};
        definition_sequence_ = std::max(definition_sequence_, rec.sequence());
      }
    }
    // Ready tasks: every task not completed is claimable again.
    for (auto it = store_->Scan(KeySpace::kTasks, "", ""); it->Valid();
         it->Next()) {
      TaskRecord task;
      if (task.ParseFromArray(it->value().data(), it->value().size())) {
        ready_[std::string(it->key())] = std::move(task);
      }
    }
    // Timers.
    for (auto it = store_->Scan(KeySpace::kTimers, "", ""); it->Valid();
         it->Next()) {
      absl::Time fire = absl::FromUnixMillis(static_cast<int64_t>(
          internal::FromBigEndian(it->key().substr(0, 8))));
      timers_.emplace(fire, std::string(it->key()));
    }
    // Workers.
    for (auto it = store_->Scan(KeySpace::kWorkers, "", ""); it->Valid();
         it->Next()) {
      WorkerState w;
      if (w.record.ParseFromArray(it->value().data(), it->value().size())) {
        w.last_seen = clock_->Now();
        workers_[w.record.worker_id()] = std::move(w);
      }
    }
    // Outbox and audit sequences continue after the last rows.
    for (auto it = store_->Scan(KeySpace::kOutbox, "", ""); it->Valid();
         it->Next()) {
      if (it->key().size() != 8) continue;  // signal ingress rows
      outbox_sequence_ = std::max<int64_t>(outbox_sequence_,
                                           internal::FromBigEndian(it->key()));
    }
    for (auto it = store_->Scan(KeySpace::kAudit, "", ""); it->Valid();
         it->Next()) {
      ++audit_sequence_;
    }
    // Continue-as-new starts that a crash interrupted.
    std::vector<StartRunRequest> pending_starts;
    const std::string prefix =
        internal::Join({"\x01"
                        "can",
                        ""});
    for (auto it = store_->Scan(KeySpace::kRunState, prefix,
                                internal::Join({"\x01"
                                                "cao"}));
         it->Valid(); it->Next()) {
      StartRunRequest start;
      if (start.ParseFromArray(it->value().data(), it->value().size())) {
        pending_starts.push_back(std::move(start));
      }
    }
    for (const auto& start : pending_starts) {
      RETURN_IF_ERROR(StartContinuation(start));
    }
    if (options_.timer_thread) {
      timer_thread_ = std::thread([this] { TimerLoop(); });
    }
    return absl::OkStatus();
  }

  // ---- definitions -------------------------------------------------------

  absl::StatusOr<RegisterDefinitionResponse> RegisterDefinition(
      const RegisterDefinitionRequest& request) override {
    RETURN_IF_ERROR(
        history::ValidateIdentifier("namespace", request.namespace_()));
    DefinitionResult parsed = ParseDefinition(request.definition_json());
    RETURN_IF_ERROR(parsed.status());
    const Definition& def = *parsed.definition;
    absl::MutexLock lock(&defs_mu_);
    const std::string wf_key =
        internal::WorkflowKey(request.namespace_(), def.name);
    auto& wf = workflows_[wf_key];
    RegisterDefinitionResponse response;
    response.set_name(def.name);
    response.set_version(def.version);
    if (auto it = wf.versions.find(def.version); it != wf.versions.end()) {
      if (it->second.record.json() != request.definition_json()) {
        return Error(
            absl::StatusCode::kAlreadyExists, "DEFINITION_CONFLICT",
            absl::StrCat("workflow ", def.name, " version ", def.version,
                         " is already registered with a different "
                         "document; definitions are immutable, "
                         "register a new version"));
      }
      response.set_created(false);
      return response;
    }
    DefinitionRecord rec;
    rec.set_json(request.definition_json());
    *rec.mutable_registered_at() = history::FromTime(clock_->Now());
    rec.set_sequence(++definition_sequence_);
    RETURN_IF_ERROR(store_->Write({Mutation::Put(
        KeySpace::kDefinitions,
        internal::DefinitionKey(request.namespace_(), def.name, def.version),
        rec.SerializeAsString())}));
    wf.versions[def.version] = {parsed.definition, rec};
    response.set_created(true);
    return response;
  }

  absl::StatusOr<SetDefinitionActiveResponse> SetDefinitionActive(
      const SetDefinitionActiveRequest& request) override {
    absl::MutexLock lock(&defs_mu_);
    auto it = workflows_.find(
        internal::WorkflowKey(request.namespace_(), request.name()));
    if (it == workflows_.end() || it->second.versions.empty()) {
      return NotFound("WORKFLOW_NOT_FOUND",
                      absl::StrCat("no workflow ", request.name(),
                                   " in namespace ", request.namespace_()));
    }
    internal::WorkflowRecord rec;
    rec.set_paused(!request.active());
    RETURN_IF_ERROR(store_->Write({Mutation::Put(
        KeySpace::kDefinitions,
        internal::WorkflowKey(request.namespace_(), request.name()),
        rec.SerializeAsString())}));
    it->second.paused = !request.active();
    return SetDefinitionActiveResponse();
  }

  absl::StatusOr<RemoveDefinitionResponse> RemoveDefinition(
      const RemoveDefinitionRequest& request) override {
    absl::MutexLock lock(&defs_mu_);
    auto it = workflows_.find(
        internal::WorkflowKey(request.namespace_(), request.name()));
    if (it == workflows_.end() ||
        !it->second.versions.count(request.version())) {
      return NotFound("WORKFLOW_VERSION_NOT_FOUND",
                      absl::StrCat("no version ", request.version(),
                                   " of workflow ", request.name()));
    }
    RETURN_IF_ERROR(store_->Write({Mutation::Delete(
        KeySpace::kDefinitions,
        internal::DefinitionKey(request.namespace_(), request.name(),
                                request.version()))}));
    it->second.versions.erase(request.version());
    return RemoveDefinitionResponse();
  }

  absl::StatusOr<ListDefinitionsResponse> ListDefinitions(
      const ListDefinitionsRequest& request) override {
    absl::MutexLock lock(&defs_mu_);
    ListDefinitionsResponse response;
    const std::string prefix = internal::Join({request.namespace_(), ""});
    for (const auto& [key, wf] : workflows_) {
      if (!absl::StartsWith(key, prefix)) continue;
      for (const auto& [version, entry] : wf.versions) {
        DefinitionInfo* info = response.add_definitions();
        info->set_name(entry.def->name);
        info->set_version(version);
        info->set_active(!wf.paused);
        *info->mutable_registered_at() = entry.record.registered_at();
      }
    }
    return response;
  }

  // ---- runs ---------------------------------------------------------------

  // A start validated and decided, not yet committed.
  struct PlannedStart {
    std::string ns;
    std::string run_id;
    std::shared_ptr<const Definition> def;
    std::string version;
    std::string input_json;
    std::string dedupe_key;  // empty: none
    absl::Duration window;   // of the dedupe key
  };

  absl::StatusOr<StartRunResponse> StartRun(
      const StartRunRequest& request) override {
    ASSIGN_OR_RETURN(PlannedStart start, PlanStart(request));
    return CommitStart(request, start);
  }

  absl::StatusOr<std::vector<absl::StatusOr<StartRunResponse>>> StartRuns(
      const std::vector<StartRunRequest>& requests) override {
    std::vector<absl::StatusOr<StartRunResponse>> results(
        requests.size(), absl::UnknownError("not started"));
    std::vector<PlannedStart> planned(requests.size());
    std::vector<size_t> batch, alone;
    absl::flat_hash_set<std::pair<std::string, std::string>> runs;
    for (size_t i = 0; i < requests.size(); ++i) {
      absl::StatusOr<PlannedStart> p = PlanStart(requests[i]);
      if (!p.ok()) {
        results[i] = p.status();
        continue;
      }
      planned[i] = *std::move(p);
      if (planned[i].dedupe_key.empty() &&
          runs.insert({planned[i].ns, planned[i].run_id}).second) {
        batch.push_back(i);
      } else {
        alone.push_back(i);
      }
    }
    std::vector<absl::Mutex*> locks;
    for (size_t i : batch) {
      locks.push_back(&RunLock(planned[i].ns, planned[i].run_id));
    }
    StripeLocks stripes(std::move(locks));
    std::vector<Prepared> prepared;
    for (size_t i : batch) {
      const PlannedStart& start = planned[i];
      StartRunResponse response;
      response.set_run_id(start.run_id);
      response.set_version(start.version);
      absl::StatusOr<history::RunInfo> existing =
          store_->GetRunInfo(start.ns, start.run_id);
      if (existing.ok()) {
        response.set_version(existing->version());
        response.set_duplicate(true);
        results[i] = response;
        continue;
      }
      absl::StatusOr<Prepared> p = PrepareCreate(requests[i], start, {});
      if (!p.ok()) {
        results[i] = p.status();
        continue;
      }
      results[i] = response;
      prepared.push_back(*std::move(p));
    }
    ASSIGN_OR_RETURN(std::vector<StartRunRequest> continuations,
                     CommitAll(prepared, {}));
    stripes.Release();
    for (const StartRunRequest& next : continuations) {
      StartContinuation(next).IgnoreError();
    }
    for (size_t i : alone) results[i] = CommitStart(requests[i], planned[i]);
    return results;
  }

  // Validates `request` and decides its version, input, guard, dedupe key
  // and run id. A refused guard is recorded here.
  absl::StatusOr<PlannedStart> PlanStart(const StartRunRequest& request) {
    const std::string& ns = request.namespace_();
    RETURN_IF_ERROR(history::ValidateIdentifier("namespace", ns));
    if (request.workflow().empty()) {
      return Invalid("INVALID_IDENTIFIER", "the workflow name is empty");
    }
    if (!request.run_id().empty()) {
      RETURN_IF_ERROR(history::ValidateIdentifier("run id", request.run_id()));
    }
    std::shared_ptr<const Definition> def;
    std::string version;
    {
      absl::MutexLock lock(&defs_mu_);
      auto it = workflows_.find(internal::WorkflowKey(ns, request.workflow()));
      if (it == workflows_.end() || it->second.versions.empty()) {
        return NotFound("WORKFLOW_NOT_FOUND",
                        absl::StrCat("no workflow ", request.workflow(),
                                     " in namespace ", ns));
      }
      if (it->second.paused) {
        return Precondition(
            "WORKFLOW_NOT_ACTIVE",
            absl::StrCat("workflow ", request.workflow(),
                         " is paused; resume it to start runs"));
      }
      if (request.version().empty()) {
        int64_t best = -1;
        for (const auto& [v, entry] : it->second.versions) {
          if (entry.record.sequence() > best) {
            best = entry.record.sequence();
            version = v;
            def = entry.def;
          }
        }
      } else {
        auto v = it->second.versions.find(request.version());
        if (v == it->second.versions.end()) {
          return NotFound("WORKFLOW_VERSION_NOT_FOUND",
                          absl::StrCat("no version ", request.version(),
                                       " of workflow ", request.workflow()));
        }
        version = v->first;
        def = v->second.def;
      }
    }
    const std::string input_json =
        request.input_json().empty() ? "null" : request.input_json();
    if (static_cast<int64_t>(input_json.size()) > options_.max_payload_bytes) {
      return Invalid(
          "PAYLOAD_TOO_LARGE",
          absl::StrCat("input is ", input_json.size(), " bytes, limit ",
                       options_.max_payload_bytes, " bytes"));
    }
    absl::StatusOr<expr::Value> input = expr::ParseJson(input_json);
    if (!input.ok()) {
      return Invalid("INVALID_JSON", absl::StrCat("input is not JSON: ",
                                                  input.status().message()));
    }
    // Guard and dedupe key see the input as the triggering event's payload.
    expr::Value scope = expr::Value::Object();
    scope.MutableObject()->Set("payload", *input);
    scope.MutableObject()->Set("input", *input);
    scope.MutableObject()->Set("id",
                               expr::Value::String(request.trigger_event_id()));
    const int64_t now_ms = absl::ToUnixMillis(clock_->Now());
    if (def->trigger && def->trigger->guard.present()) {
      absl::StatusOr<expr::Value> ok =
          def->trigger->guard.Evaluate(scope, now_ms);
      if (!ok.ok() || !Truthy(*ok)) {
        std::string why = ok.ok() ? "the start guard evaluated to false"
                                  : absl::StrCat("the start guard failed: ",
                                                 ok.status().message());
        RecordStartRefusal(request, "START_GUARD_REJECTED", why);
        return Precondition(
            "START_GUARD_REJECTED",
            absl::StrCat("workflow ", request.workflow(), ": ", why));
      }
    }
    std::string dedupe_key = request.dedupe_key();
    absl::Duration window = absl::ZeroDuration();
    if (def->trigger) window = def->trigger->dedupe_window;
    if (dedupe_key.empty() && def->trigger &&
        def->trigger->dedupe_key.present()) {
      absl::StatusOr<expr::Value> key =
          def->trigger->dedupe_key.Evaluate(scope, now_ms);
      if (key.ok() && key->IsDefined() && !key->IsNull()) {
        dedupe_key = key->IsString() ? key->str() : expr::ToJson(*key);
      }
    }
    if (window == absl::ZeroDuration() && !request.dedupe_key().empty()) {
      window = absl::Hours(24);  // an explicit key without a trigger window
    }
    std::string run_id = request.run_id();
    if (run_id.empty()) {
      absl::MutexLock lock(&random_mu_);
      run_id = absl::StrCat(
          request.workflow(), "-",
          absl::Hex(absl::Uniform<uint64_t>(random_), absl::kZeroPad16));
    }
    return PlannedStart{ns,         run_id,     std::move(def), version,
                        input_json, dedupe_key, window};
  }

  // Commits a planned start on its own: under its dedupe key's lock when it
  // has one (an unexpired key returns the existing run).
  absl::StatusOr<StartRunResponse> CommitStart(const StartRunRequest& request,
                                               const PlannedStart& start) {
    const std::string& ns = start.ns;
    std::unique_ptr<absl::MutexLock> dedupe_lock;
    std::vector<Mutation> extra;
    const std::string dkey =
        internal::DedupeKey(ns, request.workflow(), start.dedupe_key);
    if (!start.dedupe_key.empty()) {
      dedupe_lock = std::make_unique<absl::MutexLock>(
          &dedupe_stripes_[absl::Hash<std::string>()(dkey) % kStripes]);
      ASSIGN_OR_RETURN(auto existing, GetRow<internal::DedupeRecord>(
                                          store_, KeySpace::kDedupe, dkey));
      if (existing.has_value() &&
          history::ToTime(existing->expires_at()) > clock_->Now()) {
        StartRunResponse response;
        response.set_run_id(existing->run_id());
        response.set_duplicate(true);
        ASSIGN_OR_RETURN(
            auto rec,
            GetRow<RunRecord>(store_, KeySpace::kRunState,
                              internal::RunKey(ns, existing->run_id())));
        if (rec.has_value()) response.set_version(rec->version());
        return response;
      }
      internal::DedupeRecord d;
      d.set_run_id(start.run_id);
      *d.mutable_expires_at() = history::FromTime(clock_->Now() + start.window);
      extra.push_back(
          Mutation::Put(KeySpace::kDedupe, dkey, d.SerializeAsString()));
    }
    return CreateRun(request, start, std::move(extra));
  }

  absl::StatusOr<SignalRunResponse> SignalRun(
      const SignalRunRequest& request) override {
    SignalRunResponse response;
    std::string payload;
    RETURN_IF_ERROR(CheckSignal(request, &payload));
    RETURN_IF_ERROR(Transition(request.namespace_(), request.run_id(),
                               SignalInputs(request, payload, &response),
                               [&](LoadedRun& run, const OpenWork& before) {
                                 response.set_delivered(Delivered(run, before));
                               }));
    return response;
  }

  absl::StatusOr<std::vector<absl::StatusOr<SignalRunResponse>>> SignalRuns(
      const std::vector<SignalRunRequest>& requests,
      const SignalRows& rows) override {
    std::vector<absl::StatusOr<SignalRunResponse>> results(requests.size());
    std::vector<absl::Mutex*> locks;
    absl::flat_hash_set<std::pair<std::string, std::string>> runs;
    for (const SignalRunRequest& r : requests) {
      if (!runs.insert({r.namespace_(), r.run_id()}).second) {
        return Invalid("INVALID_BATCH",
                       absl::StrCat("run ", RunName(r.namespace_(), r.run_id()),
                                    " appears twice in one batch"));
      }
      locks.push_back(&RunLock(r.namespace_(), r.run_id()));
    }
    StripeLocks stripes(std::move(locks));
    std::vector<Prepared> prepared;
    for (size_t i = 0; i < requests.size(); ++i) {
      const SignalRunRequest& request = requests[i];
      std::string payload;
      if (absl::Status s = CheckSignal(request, &payload); !s.ok()) {
        results[i] = s;
        continue;
      }
      SignalRunResponse response;
      absl::StatusOr<Prepared> p =
          Prepare(request.namespace_(), request.run_id(),
                  SignalInputs(request, payload, &response), nullptr);
      if (!p.ok()) {
        results[i] = p.status();
        continue;
      }
      if (p->run != nullptr) {
        response.set_delivered(Delivered(*p->run, p->before));
        prepared.push_back(*std::move(p));
      }
      results[i] = response;
    }
    std::vector<Mutation> extra;
    if (rows) extra = rows(results);
    ASSIGN_OR_RETURN(std::vector<StartRunRequest> continuations,
                     CommitAll(prepared, extra));
    stripes.Release();
    for (const StartRunRequest& next : continuations) {
      StartContinuation(next).IgnoreError();
    }
    return results;
  }

  absl::StatusOr<CancelRunResponse> CancelRun(
      const CancelRunRequest& request) override {
    CancelRunResponse response;
    bool already_canceled = false;
    absl::Status s = Transition(
        request.namespace_(), request.run_id(),
        [&](LoadedRun& run) -> absl::StatusOr<std::vector<HistoryEvent>> {
          if (run.info.status() == history::RUN_STATUS_CANCELED) {
            already_canceled = true;
            return std::vector<HistoryEvent>{};
          }
          RETURN_IF_ERROR(RequireActive(run));
          HistoryEvent e;
          e.mutable_cancel_requested()->set_reason(request.reason());
          e.mutable_cancel_requested()->set_identity(request.identity());
          return std::vector<HistoryEvent>{e};
        });
    RETURN_IF_ERROR(s);
    response.set_canceled(!already_canceled);
    return response;
  }

  absl::StatusOr<TerminateRunResponse> TerminateRun(
      const TerminateRunRequest& request) override {
    RETURN_IF_ERROR(Transition(
        request.namespace_(), request.run_id(),
        [&](LoadedRun& run) -> absl::StatusOr<std::vector<HistoryEvent>> {
          RETURN_IF_ERROR(RequireActive(run));
          HistoryEvent e;
          e.mutable_run_terminated()->set_reason(request.reason());
          e.mutable_run_terminated()->set_identity(request.identity());
          return std::vector<HistoryEvent>{e};
        }));
    return TerminateRunResponse();
  }

  absl::StatusOr<RetryRunResponse> RetryRun(
      const RetryRunRequest& request) override {
    RETURN_IF_ERROR(Transition(
        request.namespace_(), request.run_id(),
        [&](LoadedRun& run) -> absl::StatusOr<std::vector<HistoryEvent>> {
          if (run.info.status() != history::RUN_STATUS_FAILED) {
            return Precondition(
                "RUN_NOT_FAILED",
                absl::StrCat("run ", RunName(run.ns, run.run_id), " is ",
                             history::RunStatusName(run.info.status()),
                             "; only failed runs can be retried"));
          }
          if (run.def == nullptr) {
            return NotFound(
                "WORKFLOW_VERSION_NOT_FOUND",
                absl::StrCat("version ", run.record.version(), " of workflow ",
                             run.record.workflow(), " was removed"));
          }
          HistoryEvent e;
          e.mutable_run_retried()->set_reason(request.reason());
          e.mutable_run_retried()->set_identity(request.identity());
          return std::vector<HistoryEvent>{e};
        }));
    return RetryRunResponse();
  }

  absl::StatusOr<CompleteHumanTaskResponse> CompleteHumanTask(
      const CompleteHumanTaskRequest& request) override {
    std::string result =
        request.result_json().empty() ? "null" : request.result_json();
    if (static_cast<int64_t>(result.size()) > options_.max_payload_bytes) {
      return Invalid(
          "PAYLOAD_TOO_LARGE",
          absl::StrCat("task result is ", result.size(), " bytes, limit ",
                       options_.max_payload_bytes, " bytes"));
    }
    RETURN_IF_ERROR(Transition(
        request.namespace_(), request.run_id(),
        [&](LoadedRun& run) -> absl::StatusOr<std::vector<HistoryEvent>> {
          RETURN_IF_ERROR(RequireActive(run));
          OpenWork open = run.interpreter->open_work();
          if (std::find(open.task_ids.begin(), open.task_ids.end(),
                        request.task_id()) == open.task_ids.end()) {
            return NotFound(
                "TASK_NOT_FOUND",
                absl::StrCat("run ", RunName(run.ns, run.run_id),
                             " has no open human task ", request.task_id()));
          }
          HistoryEvent e;
          auto* c = e.mutable_human_task_completed();
          c->set_task_id(request.task_id());
          *c->mutable_result() = history::JsonPayload(result);
          c->set_completed_by(request.completed_by());
          return std::vector<HistoryEvent>{e};
        }));
    return CompleteHumanTaskResponse();
  }

  absl::StatusOr<DescribeRunResponse> DescribeRun(
      const DescribeRunRequest& request) override {
    const std::string& ns = request.namespace_();
    ASSIGN_OR_RETURN(auto rec,
                     GetRow<RunRecord>(store_, KeySpace::kRunState,
                                       internal::RunKey(ns, request.run_id())));
    if (!rec.has_value()) {
      return NotFound("RUN_NOT_FOUND",
                      absl::StrCat("run ", RunName(ns, request.run_id()),
                                   " does not exist"));
    }
    DescribeRunResponse r;
    r.set_namespace_(ns);
    r.set_run_id(request.run_id());
    r.set_workflow(rec->workflow());
    r.set_version(rec->version());
    *r.mutable_started_at() = rec->started_at();
    *r.mutable_updated_at() = rec->updated_at();
    r.set_history_length(rec->history_length());
    if (rec->history_length() > options_.history_warn_events &&
        rec->status().empty()) {
      r.add_warnings(absl::StrCat(
          "the history has ", rec->history_length(), " events (warning at ",
          options_.history_warn_events, ", failure at ",
          options_.history_max_events, "); use control.continueAsNew"));
    }
    r.set_output_json(rec->output_json());
    if (rec->has_failure()) *r.mutable_failure() = rec->failure();
    r.set_continued_as_run_id(rec->continued_as_run_id());
    bool leased = false;
    {
      absl::MutexLock lock(&task_mu_);
      for (const auto& t : rec->tasks()) {
        OpenTask* task = r.add_tasks();
        task->set_step_id(t.step_id());
        task->set_action(t.action());
        task->set_attempt(t.attempt());
        auto it = lease_by_task_.find(t.key());
        if (it != lease_by_task_.end()) {
          auto lease = leases_.find(it->second);
          if (lease != leases_.end()) {
            task->set_worker_id(lease->second.worker_id);
            leased = true;
          }
        }
      }
    }
    for (const auto& w : rec->waits()) {
      OpenWait* wait = r.add_waits();
      wait->set_wait_id(w.wait_id());
      wait->set_event_name(w.event_name());
      wait->set_correlation_key(w.correlation_key());
      if (w.has_deadline()) *wait->mutable_deadline() = w.deadline();
    }
    if (!rec->status().empty()) {
      r.set_status(rec->status());
    } else if (rec->tasks_size() > 0) {
      r.set_status(leased ? "RUNNING" : "PENDING");
    } else if (rec->waits_size() > 0 || rec->human_tasks_size() > 0) {
      r.set_status("WAITING");
    } else if (rec->timers_size() > 0) {
      r.set_status("SLEEPING");
    } else {
      r.set_status("RUNNING");
    }
    std::optional<absl::Time> wake;
    for (const auto& t : rec->timers()) {
      if (t.kind() != "timer") continue;
      absl::Time at = history::ToTime(t.fire_at());
      if (!wake || at < *wake) wake = at;
    }
    if (wake && (r.status() == "SLEEPING")) {
      *r.mutable_wake_up_at() = history::FromTime(*wake);
    }
    return r;
  }

  absl::StatusOr<GetHistoryResponse> GetHistory(
      const GetHistoryRequest& request) override {
    RETURN_IF_ERROR(
        store_->GetRunInfo(request.namespace_(), request.run_id()).status());
    GetHistoryResponse response;
    auto it =
        store_->ReadHistory(request.namespace_(), request.run_id(),
                            std::max<int64_t>(1, request.from_event_id()));
    for (; it->Valid(); it->Next()) *response.add_events() = it->event();
    RETURN_IF_ERROR(it->status());
    return response;
  }

  // ---- workers ------------------------------------------------------------

  absl::StatusOr<RegisterWorkerResponse> RegisterWorker(
      const RegisterWorkerRequest& request) override {
    RETURN_IF_ERROR(
        history::ValidateIdentifier("worker identity", request.identity()));
    RETURN_IF_ERROR(
        history::ValidateIdentifier("namespace", request.namespace_()));
    internal::WorkerRecord rec;
    rec.set_worker_id(
        absl::StrCat(request.namespace_(), "/", request.identity()));
    rec.set_identity(request.identity());
    rec.set_namespace_(request.namespace_());
    for (const auto& q : request.task_queues()) rec.add_task_queues(q);
    if (rec.task_queues_size() == 0) rec.add_task_queues("default");
    for (const auto& a : request.action_types()) rec.add_action_types(a);
    for (const auto& v : request.versions()) rec.add_versions(v);
    rec.set_max_concurrency(std::max(1, request.max_concurrency()));
    RETURN_IF_ERROR(store_->Write({Mutation::Put(
        KeySpace::kWorkers, rec.worker_id(), rec.SerializeAsString())}));
    absl::MutexLock lock(&task_mu_);
    WorkerState& w = workers_[rec.worker_id()];
    w.record = rec;
    w.last_seen = clock_->Now();
    w.draining = false;
    RegisterWorkerResponse response;
    response.set_worker_id(rec.worker_id());
    return response;
  }

  absl::StatusOr<HeartbeatResponse> Heartbeat(
      const HeartbeatRequest& request) override {
    HeartbeatResponse response;
    absl::MutexLock lock(&task_mu_);
    const absl::Time now = clock_->Now();
    auto w = workers_.find(request.worker_id());
    if (w == workers_.end()) {
      return NotFound("WORKER_NOT_FOUND",
                      absl::StrCat("no worker '", request.worker_id(), "'"));
    }
    w->second.last_seen = now;
    for (const std::string& token : request.task_tokens()) {
      auto it = leases_.find(token);
      if (it == leases_.end() || it->second.worker_id != request.worker_id()) {
        response.add_canceled_tokens(token);
        continue;
      }
      it->second.deadline =
          now + absl::Milliseconds(it->second.task.start_to_close_timeout_ms());
    }
    return response;
  }

  absl::StatusOr<PollTaskResponse> PollTask(
      const PollTaskRequest& request) override {
    PollTaskResponse response;
    const absl::Time give_up =
        absl::Now() +
        absl::Milliseconds(std::max<int64_t>(0, request.timeout_ms()));
    absl::MutexLock lock(&task_mu_);
    Waiter me;
    me.worker_id = request.worker_id();
    bool registered = false;
    // Runs before `lock` is released (declared after it).
    auto unregister = absl::MakeCleanup([&] {
      if (registered) waiters_.remove(&me);
    });
    for (;;) {
      auto w = workers_.find(request.worker_id());
      if (w == workers_.end()) {
        return NotFound("WORKER_NOT_FOUND",
                        absl::StrCat("no worker ", request.worker_id(),
                                     "; register it first"));
      }
      WorkerState& worker = w->second;
      worker.last_seen = clock_->Now();
      if (task_stopping_ || worker.draining) return response;
      if (worker.in_flight < worker.record.max_concurrency()) {
        if (ClaimLocked(worker, response.mutable_task())) return response;
        response.clear_task();
      }
      if (absl::Now() >= give_up) return response;
      if (!registered) {
        // Publishers wake exactly one waiter that can take a new task.
        waiters_.push_back(&me);
        registered = true;
      }
      me.notified = false;
      me.cv.WaitWithDeadline(&task_mu_, give_up);
    }
  }

  absl::StatusOr<CompleteTaskResponse> CompleteTask(
      const CompleteTaskRequest& request) override {
    TaskOutcome outcome;
    outcome.set_token(request.token());
    *outcome.mutable_output() = request.output();
    // No task travels with an error: an oversized output asks for none.
    const bool next = request.request_next_task() &&
                      static_cast<int64_t>(request.output().data().size()) <=
                          options_.max_payload_bytes;
    CompleteTaskResponse response;
    ASSIGN_OR_RETURN(Recorded one,
                     RecordOutcomes(request.worker_id(), {&outcome}, next));
    RETURN_IF_ERROR(one.results[0]);
    if (!one.next_tasks.empty()) {
      *response.mutable_next_task() = std::move(one.next_tasks[0]);
    }
    return response;
  }

  absl::StatusOr<FailTaskResponse> FailTask(
      const FailTaskRequest& request) override {
    TaskOutcome outcome;
    outcome.set_token(request.token());
    *outcome.mutable_failure() = request.failure();
    FailTaskResponse response;
    ASSIGN_OR_RETURN(Recorded one,
                     RecordOutcomes(request.worker_id(), {&outcome},
                                    request.request_next_task()));
    RETURN_IF_ERROR(one.results[0]);
    if (!one.next_tasks.empty()) {
      *response.mutable_next_task() = std::move(one.next_tasks[0]);
    }
    return response;
  }

  absl::StatusOr<ReportTasksResponse> ReportTasks(
      const ReportTasksRequest& request) override {
    std::vector<const TaskOutcome*> outcomes;
    for (const TaskOutcome& o : request.outcomes()) outcomes.push_back(&o);
    ASSIGN_OR_RETURN(Recorded recorded,
                     RecordOutcomes(request.worker_id(), outcomes,
                                    static_cast<size_t>(std::max<int32_t>(
                                        0, request.max_next_tasks()))));
    ReportTasksResponse response;
    for (size_t i = 0; i < recorded.results.size(); ++i) {
      const absl::Status& s = recorded.results[i];
      TaskOutcomeResult* r = response.add_results();
      r->set_run_status(std::move(recorded.run_status[i]));
      if (s.ok()) continue;
      r->set_code(std::string(ErrorCode(s)));
      r->set_message(std::string(s.message()));
    }
    for (Task& t : recorded.next_tasks) {
      *response.add_next_tasks() = std::move(t);
    }
    return response;
  }

  absl::StatusOr<DeregisterWorkerResponse> DeregisterWorker(
      const DeregisterWorkerRequest& request) override {
    {
      absl::MutexLock lock(&task_mu_);
      if (!workers_.count(request.worker_id())) {
        return NotFound("WORKER_NOT_FOUND",
                        absl::StrCat("no worker ", request.worker_id()));
      }
    }
    // Commit before forgetting: a failed write leaves the worker and its
    // leases as they were.
    RETURN_IF_ERROR(store_->Write(
        {Mutation::Delete(KeySpace::kWorkers, request.worker_id())}));
    std::vector<std::pair<std::string, Lease>> lost;
    {
      absl::MutexLock lock(&task_mu_);
      WakeWorkerLocked(request.worker_id(), /*all=*/true);
      if (!workers_.erase(request.worker_id())) {
        return NotFound("WORKER_NOT_FOUND",
                        absl::StrCat("no worker ", request.worker_id()));
      }
      for (auto it = leases_.begin(); it != leases_.end();) {
        if (it->second.worker_id == request.worker_id()) {
          std::string token = it->first;
          lost.emplace_back(std::move(token), ReleaseLeaseLocked(it++));
        } else {
          ++it;
        }
      }
    }
    for (auto& [token, lease] : lost) ExpireLease(lease);
    return DeregisterWorkerResponse();
  }

  absl::StatusOr<DrainWorkerResponse> DrainWorker(
      const DrainWorkerRequest& request) override {
    absl::MutexLock lock(&task_mu_);
    auto w = workers_.find(request.worker_id());
    if (w == workers_.end()) {
      return NotFound("WORKER_NOT_FOUND",
                      absl::StrCat("no worker ", request.worker_id()));
    }
    w->second.draining = true;
    WakeWorkerLocked(request.worker_id(), /*all=*/true);
    DrainWorkerResponse response;
    response.set_in_flight(w->second.in_flight);
    return response;
  }

  // ---- timers -------------------------------------------------------------

  absl::StatusOr<int> FireDueTimers() override {
    const absl::Time now = clock_->Now();
    std::vector<std::string> due;
    {
      absl::MutexLock lock(&timer_mu_);
      for (auto it = timers_.begin(); it != timers_.end() && it->first <= now;
           ++it) {
        due.push_back(it->second);
      }
    }
    // Timers of different runs fire concurrently so their commits share
    // fsyncs (a thousand sleeps ending at once should not take a thousand
    // sequential syncs); each run's transitions are serialized by its lock.
    std::atomic<int> fired{0};
    absl::Mutex error_mu;
    absl::Status first_error;
    auto fire_range = [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        absl::StatusOr<bool> one = FireTimer(due[i]);
        if (!one.ok()) {
          absl::MutexLock lock(&error_mu);
          if (first_error.ok()) first_error = one.status();
          return;
        }
        if (*one) ++fired;
      }
    };
    const size_t threads =
        std::min<size_t>(kTimerFiringThreads, (due.size() + 31) / 32);
    if (threads <= 1) {
      fire_range(0, due.size());
    } else {
      std::vector<std::thread> pool;
      const size_t per = (due.size() + threads - 1) / threads;
      for (size_t t = 0; t < threads; ++t) {
        const size_t begin = t * per;
        const size_t end = std::min(due.size(), begin + per);
        if (begin < end) pool.emplace_back(fire_range, begin, end);
      }
      for (auto& th : pool) th.join();
    }
    RETURN_IF_ERROR(first_error);
    int total = fired.load();
    total += ExpireLeases(now);
    return total;
  }

  // Fires the timer row `key` as a history event; returns false when it was
  // stale (its run ended or moved on) and the row was dropped.
  absl::StatusOr<bool> FireTimer(const std::string& key) {
    ASSIGN_OR_RETURN(auto timer,
                     GetRow<TimerRecord>(store_, KeySpace::kTimers, key));
    if (!timer.has_value()) {
      ForgetTimer(key);
      return false;
    }
    bool did_fire = false;
    absl::Status s = Transition(
        timer->namespace_(), timer->run_id(),
        [&](LoadedRun& run) -> absl::StatusOr<std::vector<HistoryEvent>> {
          std::vector<HistoryEvent> inputs;
          if (run.interpreter == nullptr || run.interpreter->finished()) {
            return inputs;
          }
          OpenWork open = run.interpreter->open_work();
          auto has = [](const std::vector<std::string>& v,
                        const std::string& x) {
            return std::find(v.begin(), v.end(), x) != v.end();
          };
          HistoryEvent e;
          if (timer->kind() == "timer" && has(open.timer_ids, timer->id())) {
            e.mutable_timer_fired()->set_timer_id(timer->id());
            e.mutable_timer_fired()->set_started_event_id(
                timer->started_event_id());
          } else if ((timer->kind() == "wait" &&
                      has(open.wait_ids, timer->id())) ||
                     (timer->kind() == "task" &&
                      has(open.task_ids, timer->id()))) {
            e.mutable_wait_timed_out()->set_wait_id(timer->id());
          } else {
            return inputs;
          }
          inputs.push_back(std::move(e));
          did_fire = true;
          return inputs;
        });
    if (!s.ok() && ErrorCode(s) != "RUN_NOT_FOUND" &&
        ErrorCode(s) != "WORKFLOW_VERSION_NOT_FOUND") {
      return s;
    }
    if (did_fire) return true;
    // Stale: the run ended or moved on. Drop the row.
    RETURN_IF_ERROR(store_->Write({Mutation::Delete(KeySpace::kTimers, key)}));
    ForgetTimer(key);
    return false;
  }

  std::vector<std::string> TriggeredBy(absl::string_view ns,
                                       absl::string_view event_name) override {
    std::vector<std::string> out;
    absl::MutexLock lock(&defs_mu_);
    const std::string prefix = internal::Join({ns, ""});
    for (auto it = workflows_.lower_bound(prefix);
         it != workflows_.end() && absl::StartsWith(it->first, prefix); ++it) {
      if (it->second.paused) continue;
      const VersionEntry* latest = nullptr;
      for (const auto& [v, entry] : it->second.versions) {
        if (latest == nullptr ||
            entry.record.sequence() > latest->record.sequence()) {
          latest = &entry;
        }
      }
      if (latest != nullptr && latest->def->trigger &&
          latest->def->trigger->event == event_name) {
        out.push_back(latest->def->name);
      }
    }
    return out;
  }

  std::optional<absl::Time> NextTimerAt() override {
    std::optional<absl::Time> next;
    {
      absl::MutexLock lock(&timer_mu_);
      if (!timers_.empty()) next = timers_.begin()->first;
    }
    absl::MutexLock lock(&task_mu_);
    for (const auto& [token, lease] : leases_) {
      if (!next || lease.deadline < *next) next = lease.deadline;
    }
    return next;
  }

 private:
  struct VersionEntry {
    std::shared_ptr<const Definition> def;
    DefinitionRecord record;
  };
  struct WorkflowEntry {
    bool paused = false;
    std::map<std::string, VersionEntry> versions;
  };

  absl::Status RequireActive(const LoadedRun& run) {
    if (history::IsFinal(run.info.status()) ||
        run.info.status() == history::RUN_STATUS_FAILED) {
      return Precondition(
          "RUN_ALREADY_TERMINAL",
          absl::StrCat("run ", RunName(run.ns, run.run_id),
                       " has ended with status ",
                       history::RunStatusName(run.info.status())));
    }
    return absl::OkStatus();
  }

  void RecordStartRefusal(const StartRunRequest& request,
                          absl::string_view code, absl::string_view message) {
    internal::StartAuditRecord rec;
    rec.set_namespace_(request.namespace_());
    rec.set_workflow(request.workflow());
    rec.set_code(std::string(code));
    rec.set_message(std::string(message));
    rec.set_identity(request.identity());
    rec.set_trigger_event_id(request.trigger_event_id());
    *rec.mutable_at() = history::FromTime(clock_->Now());
    const int64_t seq = audit_sequence_.fetch_add(1) + 1;
    store_
        ->Write(
            {Mutation::Put(KeySpace::kAudit,
                           internal::Join({"start", internal::BigEndian(seq)}),
                           rec.SerializeAsString())})
        .IgnoreError();
  }

  // ---- the transition path -------------------------------------------------

  using InputFn =
      std::function<absl::StatusOr<std::vector<HistoryEvent>>(LoadedRun&)>;
  using AfterFn = std::function<void(LoadedRun&, const OpenWork& before)>;

  absl::Mutex& RunLock(absl::string_view ns, absl::string_view run) {
    return stripes_[absl::Hash<std::pair<absl::string_view,
                                         absl::string_view>>()({ns, run}) %
                    kStripes];
  }

  std::unique_ptr<LoadedRun> TakeCached(const std::string& key) {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return nullptr;
    std::unique_ptr<LoadedRun> run = std::move(it->second.first);
    lru_.erase(it->second.second);
    cache_.erase(it);
    return run;
  }

  // Keeps an open run; an ended one takes no more transitions but a retry,
  // which replays.
  void PutCached(const std::string& key, std::unique_ptr<LoadedRun> run) {
    const history::RunStatus status = run->info.status();
    if (options_.run_cache_size == 0 || history::IsFinal(status) ||
        status == history::RUN_STATUS_FAILED) {
      return;
    }
    absl::MutexLock lock(&cache_mu_);
    lru_.push_front(key);
    cache_[key] = {std::move(run), lru_.begin()};
    while (cache_.size() > options_.run_cache_size) {
      cache_.erase(lru_.back());
      lru_.pop_back();
    }
  }

  std::shared_ptr<const Definition> FindDefinition(absl::string_view ns,
                                                   absl::string_view name,
                                                   absl::string_view version) {
    absl::MutexLock lock(&defs_mu_);
    auto it = workflows_.find(internal::WorkflowKey(ns, name));
    if (it == workflows_.end()) return nullptr;
    auto v = it->second.versions.find(std::string(version));
    return v == it->second.versions.end() ? nullptr : v->second.def;
  }

  absl::StatusOr<std::unique_ptr<LoadedRun>> Load(const std::string& ns,
                                                  const std::string& run_id) {
    const std::string key = internal::RunKey(ns, run_id);
    if (auto cached = TakeCached(key)) {
      // A removed version fails the run at its next decision.
      if (cached->def != nullptr &&
          FindDefinition(ns, cached->record.workflow(),
                         cached->record.version()) == nullptr) {
        cached->def = nullptr;
      }
      return cached;
    }
    auto run = std::make_unique<LoadedRun>();
    run->ns = ns;
    run->run_id = run_id;
    ASSIGN_OR_RETURN(run->info, store_->GetRunInfo(ns, run_id));
    ASSIGN_OR_RETURN(auto rec,
                     GetRow<RunRecord>(store_, KeySpace::kRunState, key));
    if (!rec.has_value()) {
      return Error(
          absl::StatusCode::kDataLoss, "STORE_CORRUPT",
          absl::StrCat("run ", RunName(ns, run_id), " has no run record"));
    }
    run->record = *std::move(rec);
    run->def =
        FindDefinition(ns, run->record.workflow(), run->record.version());
    if (run->def != nullptr) {
      run->interpreter = Interpreter::Create(run->def, ns, run_id, Interp());
      auto it = store_->ReadHistory(ns, run_id, 1);
      for (; it->Valid(); it->Next()) {
        RETURN_IF_ERROR(
            Annotate(run->interpreter->Apply(it->event()),
                     absl::StrCat("replaying run ", RunName(ns, run_id))));
      }
      RETURN_IF_ERROR(it->status());
    }
    return run;
  }

  InterpreterOptions Interp() const {
    InterpreterOptions o;
    o.max_payload_bytes = options_.max_payload_bytes;
    return o;
  }

  // A transition decided but not yet committed.
  struct Prepared {
    std::unique_ptr<LoadedRun> run;  // null: nothing to commit
    std::string key;
    OpenWork before;
    Effects effects;
    history::AppendRequest append;
  };

  // The one path by which a run changes: load, apply inputs, record the
  // commands, commit atomically, update the in-memory indexes.
  absl::Status Transition(const std::string& ns, const std::string& run_id,
                          const InputFn& make_inputs,
                          const AfterFn& after = nullptr,
                          EagerClaim* eager = nullptr) {
    absl::ReleasableMutexLock lock(&RunLock(ns, run_id));
    ASSIGN_OR_RETURN(Prepared p, Prepare(ns, run_id, make_inputs, eager));
    if (p.run == nullptr) return absl::OkStatus();
    absl::StatusOr<history::RunInfo> info = store_->Append(p.append);
    if (!info.ok()) return info.status();  // the cached state is dropped
    std::optional<StartRunRequest> next = p.effects.continue_as_new;
    Finish(p, *info, after);
    if (next.has_value()) {
      // Not under this run's lock: the new run's lock may be the same stripe.
      lock.Release();
      StartContinuation(*next).IgnoreError();
    }
    return absl::OkStatus();
  }

  // The first half of a transition, under the run's lock: loads the run,
  // applies the inputs and plans the rows to write. A run with nothing to
  // write (no inputs) goes back to the cache and comes back null.
  absl::StatusOr<Prepared> Prepare(const std::string& ns,
                                   const std::string& run_id,
                                   const InputFn& make_inputs,
                                   EagerClaim* eager) {
    Prepared p;
    ASSIGN_OR_RETURN(p.run, Load(ns, run_id));
    p.key = internal::RunKey(ns, run_id);
    LoadedRun& run = *p.run;
    if (run.def == nullptr && !history::IsFinal(run.info.status()) &&
        run.info.status() != history::RUN_STATUS_FAILED) {
      // Its version was removed: the next decision fails the run.
      absl::Status failed = FailRunForEngine(
          run, "WORKFLOW_VERSION_NOT_FOUND",
          absl::StrCat("version ", run.record.version(), " of workflow ",
                       run.record.workflow(), " was removed"));
      RETURN_IF_ERROR(failed);
      return NotFound(
          "WORKFLOW_VERSION_NOT_FOUND",
          absl::StrCat("version ", run.record.version(), " of workflow ",
                       run.record.workflow(), " was removed; run ",
                       RunName(ns, run_id), " failed"));
    }
    absl::StatusOr<std::vector<HistoryEvent>> inputs = make_inputs(run);
    if (!inputs.ok() || inputs->empty()) {
      absl::Status s = inputs.status();
      PutCached(p.key, std::move(p.run));
      RETURN_IF_ERROR(s);
      return p;
    }
    if (run.interpreter == nullptr) {
      return NotFound(
          "WORKFLOW_VERSION_NOT_FOUND",
          absl::StrCat("version ", run.record.version(), " of workflow ",
                       run.record.workflow(), " was removed"));
    }
    p.before = run.interpreter->open_work();
    std::vector<HistoryEvent> events;
    absl::Status applied = ApplyInputs(run, *inputs, &events);
    if (!applied.ok()) return applied;  // the cached state is dropped
    if (run.info.next_event_id() - 1 + static_cast<int64_t>(events.size()) >
        options_.history_max_events) {
      const std::string why = absl::StrCat(
          "run ", RunName(ns, run_id), ": the history would exceed ",
          options_.history_max_events,
          " events; use control.continueAsNew for long loops");
      RETURN_IF_ERROR(FailRunForEngine(run, "HISTORY_TOO_LONG", why));
      return Precondition("HISTORY_TOO_LONG", why);
    }
    p.effects.eager = eager;
    p.append.writes = Plan(run, events, &p.effects);
    p.append.ns = ns;
    p.append.run_id = run_id;
    p.append.expected_next_event_id = run.info.next_event_id();
    p.append.events = std::move(events);
    return p;
  }

  // The second half, once the transition is committed: the in-memory
  // indexes learn its effects and the run goes back to the cache.
  void Finish(Prepared& p, const history::RunInfo& info, const AfterFn& after) {
    p.run->info = info;
    Publish(p.effects);
    if (after) after(*p.run, p.before);
    PutCached(p.key, std::move(p.run));
  }

  absl::Status CheckSignal(const SignalRunRequest& request,
                           std::string* payload) const {
    *payload = request.payload_json().empty() ? "null" : request.payload_json();
    if (static_cast<int64_t>(payload->size()) > options_.max_payload_bytes) {
      return Invalid(
          "PAYLOAD_TOO_LARGE",
          absl::StrCat("signal payload is ", payload->size(), " bytes, limit ",
                       options_.max_payload_bytes, " bytes"));
    }
    if (request.event_name().empty()) {
      return Invalid("INVALID_IDENTIFIER", "the event name is empty");
    }
    return absl::OkStatus();
  }

  // The signal_received event SignalRun appends (none for an event id the
  // run already received).
  InputFn SignalInputs(const SignalRunRequest& request,
                       const std::string& payload,
                       SignalRunResponse* response) {
    return [this, &request, &payload, response](
               LoadedRun& run) -> absl::StatusOr<std::vector<HistoryEvent>> {
      RETURN_IF_ERROR(RequireActive(run));
      // The same event id reaches a run at most once.
      if (!request.signal_id().empty() &&
          std::find(run.record.recent_signal_ids().begin(),
                    run.record.recent_signal_ids().end(),
                    request.signal_id()) !=
              run.record.recent_signal_ids().end()) {
        response->set_duplicate(true);
        return std::vector<HistoryEvent>{};
      }
      HistoryEvent e;
      auto* s = e.mutable_signal_received();
      s->set_signal_id(request.signal_id());
      s->set_event_name(request.event_name());
      *s->mutable_payload() = history::JsonPayload(payload);
      s->set_correlation_key(request.correlation_key());
      s->set_key_source(request.key_source());
      s->set_identity(request.identity());
      return std::vector<HistoryEvent>{e};
    };
  }

  // Commits prepared transitions of distinct runs (whose locks the caller
  // holds) and `extra` rows atomically, finishes them and returns the
  // continue-as-new starts to make once their runs are unlocked. A single
  // transition without rows is a plain Append (every store has it;
  // AppendBatch is optional). On failure nothing is finished: the runs'
  // cached state is dropped with `prepared`.
  absl::StatusOr<std::vector<StartRunRequest>> CommitAll(
      std::vector<Prepared>& prepared, const std::vector<Mutation>& extra) {
    std::vector<history::RunInfo> infos;
    if (prepared.size() == 1 && extra.empty()) {
      ASSIGN_OR_RETURN(history::RunInfo info,
                       store_->Append(prepared[0].append));
      infos.push_back(std::move(info));
    } else if (!prepared.empty()) {
      std::vector<history::AppendRequest> appends;
      for (Prepared& p : prepared) appends.push_back(std::move(p.append));
      ASSIGN_OR_RETURN(infos, store_->AppendBatch(appends, extra));
    } else if (!extra.empty()) {
      RETURN_IF_ERROR(store_->Write(extra));
    }
    std::vector<StartRunRequest> continuations;
    for (size_t k = 0; k < prepared.size(); ++k) {
      if (prepared[k].effects.continue_as_new.has_value()) {
        continuations.push_back(*prepared[k].effects.continue_as_new);
      }
      Finish(prepared[k], infos[k], nullptr);
    }
    return continuations;
  }

  // Delivered: the signal closed a wait (or ended the run).
  static bool Delivered(LoadedRun& run, const OpenWork& before) {
    OpenWork after = run.interpreter->open_work();
    bool closed = run.interpreter->finished();
    for (const std::string& id : before.wait_ids) {
      closed |= std::find(after.wait_ids.begin(), after.wait_ids.end(), id) ==
                after.wait_ids.end();
    }
    return closed;
  }

  absl::Status ApplyInputs(LoadedRun& run,
                           const std::vector<HistoryEvent>& inputs,
                           std::vector<HistoryEvent>* events) {
    absl::Time now =
        std::max(clock_->Now(), history::ToTime(run.info.last_event_time()));
    const auto stamp = history::FromTime(now);
    for (HistoryEvent input : inputs) {
      input.set_event_id(run.interpreter->next_event_id());
      *input.mutable_event_time() = stamp;
      RETURN_IF_ERROR(run.interpreter->Apply(input));
      events->push_back(std::move(input));
      std::vector<HistoryEvent> commands = run.interpreter->pending();
      for (HistoryEvent& command : commands) {
        command.set_event_id(run.interpreter->next_event_id());
        *command.mutable_event_time() = stamp;
        if (command.has_run_continued_as_new()) {
          absl::MutexLock lock(&random_mu_);
          command.mutable_run_continued_as_new()->set_new_run_id(absl::StrCat(
              run.record.workflow(), "-",
              absl::Hex(absl::Uniform<uint64_t>(random_), absl::kZeroPad16)));
        }
        RETURN_IF_ERROR(run.interpreter->Apply(command));
        events->push_back(std::move(command));
      }
    }
    return absl::OkStatus();
  }

  // Appends an engine-imposed run_failed (no interpreter decision).
  absl::Status FailRunForEngine(LoadedRun& run, absl::string_view code,
                                absl::string_view message) {
    HistoryEvent e;
    e.set_event_id(run.info.next_event_id());
    *e.mutable_event_time() = history::FromTime(
        std::max(clock_->Now(), history::ToTime(run.info.last_event_time())));
    auto* f = e.mutable_run_failed()->mutable_failure();
    f->set_code(std::string(code));
    f->set_message(std::string(message));
    f->set_non_retryable(true);
    Effects effects;
    run.interpreter.reset();  // finished: no open work
    std::vector<Mutation> writes = Plan(run, {e}, &effects);
    history::AppendRequest append;
    append.ns = run.ns;
    append.run_id = run.run_id;
    append.expected_next_event_id = run.info.next_event_id();
    append.events = {e};
    append.writes = std::move(writes);
    ASSIGN_OR_RETURN(history::RunInfo info, store_->Append(append));
    Publish(effects);
    return absl::OkStatus();
  }

  // Computes the rows a transition writes and deletes, from the run's open
  // work before (its record) and after (the interpreter), and updates the
  // record.
  std::vector<Mutation> Plan(LoadedRun& run,
                             const std::vector<HistoryEvent>& events,
                             Effects* effects) {
    std::vector<Mutation> writes;
    RunRecord& rec = run.record;
    const bool finished =
        run.interpreter == nullptr || run.interpreter->finished();
    OpenWork open;
    if (!finished) open = run.interpreter->open_work();
    absl::flat_hash_map<int64_t, const HistoryEvent*> scheduled;
    absl::flat_hash_map<std::string, const HistoryEvent*> timer_started,
        wait_started, task_created;
    for (const HistoryEvent& e : events) {
      if (e.has_step_scheduled()) scheduled[e.event_id()] = &e;
      if (e.has_timer_started())
        timer_started[e.timer_started().timer_id()] = &e;
      if (e.has_wait_started()) wait_started[e.wait_started().wait_id()] = &e;
      if (e.has_human_task_created()) {
        task_created[e.human_task_created().task_id()] = &e;
      }
      if (e.has_run_completed())
        rec.set_output_json(e.run_completed().output().data());
      if (e.has_run_failed()) *rec.mutable_failure() = e.run_failed().failure();
      if (e.has_run_retried()) rec.clear_failure();
      if (e.has_signal_received() && !e.signal_received().signal_id().empty()) {
        rec.add_recent_signal_ids(e.signal_received().signal_id());
        if (rec.recent_signal_ids_size() > kRecentSignalIds) {
          rec.mutable_recent_signal_ids()->erase(
              rec.mutable_recent_signal_ids()->begin());
        }
      }
      if (e.has_run_continued_as_new()) {
        rec.set_continued_as_run_id(e.run_continued_as_new().new_run_id());
        StartRunRequest next;
        next.set_namespace_(run.ns);
        next.set_workflow(rec.workflow());
        next.set_version(rec.version());
        next.set_run_id(e.run_continued_as_new().new_run_id());
        next.set_input_json(e.run_continued_as_new().input().data());
        next.set_identity(absl::StrCat("continue-as-new:", run.run_id));
        writes.push_back(Mutation::Put(
            KeySpace::kRunState, internal::ContinueKey(run.ns, next.run_id()),
            next.SerializeAsString()));
        effects->continue_as_new = next;
      }
    }
    // Tasks.
    absl::flat_hash_set<int64_t> open_ids(open.scheduled_event_ids.begin(),
                                          open.scheduled_event_ids.end());
    google::protobuf::RepeatedPtrField<internal::OpenTaskRow> tasks;
    for (const auto& row : rec.tasks()) {
      if (open_ids.erase(row.scheduled_event_id())) {
        *tasks.Add() = row;
      } else {
        writes.push_back(Mutation::Delete(KeySpace::kTasks, row.key()));
        effects->removed_tasks.push_back(row.key());
      }
    }
    for (int64_t id : open.scheduled_event_ids) {
      if (!open_ids.count(id)) continue;  // already had a row
      auto it = scheduled.find(id);
      if (it == scheduled.end()) continue;
      const auto& s = it->second->step_scheduled();
      TaskRecord task;
      task.set_namespace_(run.ns);
      task.set_run_id(run.run_id);
      task.set_workflow(rec.workflow());
      task.set_version(rec.version());
      task.set_scheduled_event_id(id);
      task.set_step_id(s.step_id());
      task.set_step_path(s.step_path());
      task.set_action(s.action());
      task.set_attempt(s.attempt());
      *task.mutable_input() = s.input();
      task.set_task_queue(s.task_queue());
      task.set_start_to_close_timeout_ms(s.start_to_close_timeout_ms());
      *task.mutable_ready_at() = it->second->event_time();
      const std::string key = internal::TaskKey(
          s.task_queue(), history::ToTime(it->second->event_time()), run.ns,
          run.run_id, id);
      writes.push_back(
          Mutation::Put(KeySpace::kTasks, key, task.SerializeAsString()));
      effects->new_tasks.emplace_back(key, task);
      internal::OpenTaskRow* row = tasks.Add();
      row->set_scheduled_event_id(id);
      row->set_key(key);
      row->set_step_id(s.step_id());
      row->set_action(s.action());
      row->set_attempt(s.attempt());
    }
    *rec.mutable_tasks() = std::move(tasks);

    // Timers: sleeps and backoffs, wait deadlines, human task deadlines.
    struct Want {
      std::string kind, id;
      absl::Time fire;
      int64_t started_event_id = 0;
    };
    std::vector<Want> wanted;
    absl::flat_hash_map<std::string, const internal::OpenTimerRow*> old_timers;
    for (const auto& row : rec.timers()) {
      old_timers[absl::StrCat(row.kind(), ":", row.id())] = &row;
    }
    auto want = [&](absl::string_view kind, const std::string& id,
                    const HistoryEvent* started,
                    const google::protobuf::Timestamp* fire) {
      auto old = old_timers.find(absl::StrCat(kind, ":", id));
      if (old != old_timers.end()) {
        wanted.push_back(
            {std::string(kind), id, history::ToTime(old->second->fire_at())});
      } else if (started != nullptr && fire != nullptr) {
        wanted.push_back({std::string(kind), id, history::ToTime(*fire),
                          started->event_id()});
      }
    };
    for (const std::string& id : open.timer_ids) {
      auto it = timer_started.find(id);
      want("timer", id, it == timer_started.end() ? nullptr : it->second,
           it == timer_started.end() ? nullptr
                                     : &it->second->timer_started().fire_at());
    }
    for (const std::string& id : open.wait_ids) {
      auto it = wait_started.find(id);
      const bool deadline =
          it != wait_started.end() && it->second->wait_started().has_deadline();
      want("wait", id, deadline ? it->second : nullptr,
           deadline ? &it->second->wait_started().deadline() : nullptr);
    }
    for (const std::string& id : open.task_ids) {
      auto it = task_created.find(id);
      const bool deadline = it != task_created.end() &&
                            it->second->human_task_created().has_deadline();
      want("task", id, deadline ? it->second : nullptr,
           deadline ? &it->second->human_task_created().deadline() : nullptr);
    }
    absl::flat_hash_set<std::string> keep;
    google::protobuf::RepeatedPtrField<internal::OpenTimerRow> timers;
    for (const Want& w : wanted) {
      const std::string tag = absl::StrCat(w.kind, ":", w.id);
      keep.insert(tag);
      auto old = old_timers.find(tag);
      if (old != old_timers.end()) {
        *timers.Add() = *old->second;
        continue;
      }
      // Timer keys, rows and the in-memory index all use whole milliseconds,
      // rounded up so that a timer never fires early.
      absl::Time fire =
          absl::FromUnixMillis(static_cast<int64_t>(internal::TimeKey(w.fire)));
      if (fire < w.fire) fire += absl::Milliseconds(1);
      const std::string key =
          internal::TimerKey(fire, run.ns, run.run_id, w.kind, w.id);
      TimerRecord t;
      t.set_namespace_(run.ns);
      t.set_run_id(run.run_id);
      t.set_kind(w.kind);
      t.set_id(w.id);
      t.set_started_event_id(w.started_event_id);
      writes.push_back(
          Mutation::Put(KeySpace::kTimers, key, t.SerializeAsString()));
      effects->new_timers.emplace_back(fire, key);
      internal::OpenTimerRow* row = timers.Add();
      row->set_id(w.id);
      row->set_kind(w.kind);
      row->set_key(key);
      *row->mutable_fire_at() = history::FromTime(fire);
    }
    for (const auto& row : rec.timers()) {
      if (keep.count(absl::StrCat(row.kind(), ":", row.id()))) continue;
      writes.push_back(Mutation::Delete(KeySpace::kTimers, row.key()));
      effects->removed_timers.emplace_back(history::ToTime(row.fire_at()),
                                           row.key());
    }
    *rec.mutable_timers() = std::move(timers);

    // Wait index.
    absl::flat_hash_set<std::string> open_waits(open.wait_ids.begin(),
                                                open.wait_ids.end());
    google::protobuf::RepeatedPtrField<internal::OpenWaitRow> waits;
    absl::flat_hash_set<std::string> had;
    for (const auto& row : rec.waits()) {
      if (open_waits.count(row.wait_id())) {
        *waits.Add() = row;
        had.insert(row.wait_id());
      } else {
        writes.push_back(Mutation::Delete(KeySpace::kWaits, row.key()));
      }
    }
    for (const std::string& id : open.wait_ids) {
      if (had.count(id)) continue;
      auto it = wait_started.find(id);
      if (it == wait_started.end()) continue;
      const auto& w = it->second->wait_started();
      const std::string key = internal::WaitKey(
          run.ns, w.event_name(), w.correlation_key(), run.run_id, id);
      writes.push_back(Mutation::Put(KeySpace::kWaits, key, ""));
      internal::OpenWaitRow* row = waits.Add();
      row->set_wait_id(id);
      row->set_event_name(w.event_name());
      row->set_correlation_key(w.correlation_key());
      row->set_key(key);
      if (w.has_deadline()) *row->mutable_deadline() = w.deadline();
    }
    *rec.mutable_waits() = std::move(waits);
    rec.clear_human_tasks();
    for (const std::string& id : open.task_ids) rec.add_human_tasks(id);

    // Status, times, outbox.
    const history::RunStatus status = finished && run.interpreter != nullptr
                                          ? run.interpreter->status()
                                          : history::RUN_STATUS_FAILED;
    if (finished) {
      rec.set_status(std::string(history::RunStatusName(status)));
    } else {
      rec.clear_status();
    }
    if (!events.empty()) {
      *rec.mutable_updated_at() = events.back().event_time();
      if (events.front().has_run_started()) {
        *rec.mutable_started_at() = events.front().event_time();
      }
      rec.set_history_length(events.back().event_id());
    }
    writes.push_back(Mutation::Put(KeySpace::kRunState,
                                   internal::RunKey(run.ns, run.run_id),
                                   rec.SerializeAsString()));
    if (!events.empty()) {
      history::OutboxEntry out;
      out.set_namespace_(run.ns);
      out.set_run_id(run.run_id);
      out.set_first_event_id(events.front().event_id());
      out.set_last_event_id(events.back().event_id());
      writes.push_back(
          Mutation::Put(KeySpace::kOutbox,
                        internal::BigEndian(outbox_sequence_.fetch_add(1) + 1),
                        out.SerializeAsString()));
    }
    return writes;
  }

  void Publish(const Effects& effects) {
    {
      absl::MutexLock lock(&timer_mu_);
      for (const auto& t : effects.removed_timers) timers_.erase(t);
      for (const auto& t : effects.new_timers) timers_.insert(t);
    }
    if (!effects.new_timers.empty()) {
      absl::MutexLock lock(&timer_thread_mu_);
      timer_wakeup_ = true;
    }
    absl::MutexLock lock(&task_mu_);
    for (const std::string& key : effects.removed_tasks) {
      ready_.erase(key);
      auto lease = lease_by_task_.find(key);
      if (lease != lease_by_task_.end()) {
        // The attempt closed (run canceled, ...): the holder learns on its
        // next heartbeat or completion.
        auto it = leases_.find(lease->second);
        if (it != leases_.end()) {
          ReleaseLeaseLocked(it);
        } else {
          lease_by_task_.erase(lease);
        }
      }
    }
    for (const auto& [key, task] : effects.new_tasks) {
      if (effects.eager != nullptr &&
          EagerClaimLocked(*effects.eager, key, task)) {
        continue;
      }
      ready_[key] = task;
      WakeForTaskLocked(task);
    }
  }

  void ForgetTimer(const std::string& key) {
    // Keys start with their fire time (8 bytes, big-endian milliseconds).
    const absl::Time fire = absl::FromUnixMillis(
        static_cast<int64_t>(internal::FromBigEndian(key.substr(0, 8))));
    absl::MutexLock lock(&timer_mu_);
    timers_.erase({fire, key});
  }

  // Creates the planned run: its run_started event and first decisions,
  // committed with `extra` rows. An existing run id is a duplicate.
  absl::StatusOr<StartRunResponse> CreateRun(const StartRunRequest& request,
                                             const PlannedStart& start,
                                             std::vector<Mutation> extra) {
    StartRunResponse response;
    response.set_run_id(start.run_id);
    response.set_version(start.version);
    absl::ReleasableMutexLock lock(&RunLock(start.ns, start.run_id));
    absl::StatusOr<history::RunInfo> existing =
        store_->GetRunInfo(start.ns, start.run_id);
    if (existing.ok()) {
      response.set_version(existing->version());
      response.set_duplicate(true);
      return response;
    }
    ASSIGN_OR_RETURN(Prepared p,
                     PrepareCreate(request, start, std::move(extra)));
    absl::StatusOr<history::RunInfo> info = store_->Append(p.append);
    if (!info.ok()) {
      if (ErrorCode(info.status()) == "HISTORY_CONFLICT") {
        response.set_duplicate(true);
        return response;
      }
      return info.status();
    }
    std::optional<StartRunRequest> next = p.effects.continue_as_new;
    Finish(p, *info, nullptr);
    if (next.has_value()) {
      // Not under this run's lock: the new run's lock may be the same stripe.
      lock.Release();
      StartContinuation(*next).IgnoreError();
    }
    return response;
  }

  // The transition that creates a run (the caller holds its lock and has
  // checked it does not exist).
  absl::StatusOr<Prepared> PrepareCreate(const StartRunRequest& request,
                                         const PlannedStart& start,
                                         std::vector<Mutation> extra) {
    const std::string& ns = start.ns;
    const std::string& run_id = start.run_id;
    const Definition& def = *start.def;
    Prepared p;
    p.key = internal::RunKey(ns, run_id);
    p.run = std::make_unique<LoadedRun>();
    LoadedRun& run = *p.run;
    run.ns = ns;
    run.run_id = run_id;
    run.def = start.def;
    run.info = history::NewRunInfo(ns, run_id);
    run.record.set_workflow(def.name);
    run.record.set_version(start.version);
    run.record.set_dedupe_key(start.dedupe_key);
    run.interpreter = Interpreter::Create(start.def, ns, run_id, Interp());
    HistoryEvent started;
    auto* a = started.mutable_run_started();
    a->set_workflow(def.name);
    a->set_version(start.version);
    *a->mutable_input() = history::JsonPayload(start.input_json);
    a->set_attempt(1);
    a->set_task_queue(def.task_queue);
    a->set_total_steps(def.total_top_level_steps());
    a->set_identity(request.identity());
    a->set_trigger_event_id(request.trigger_event_id());
    a->set_dedupe_key(start.dedupe_key);
    a->set_correlation_key(request.correlation_key());
    if (absl::StartsWith(request.identity(), "continue-as-new:")) {
      a->set_continued_from_run_id(request.identity().substr(16));
    }
    std::vector<HistoryEvent> events;
    RETURN_IF_ERROR(ApplyInputs(run, {started}, &events));
    std::vector<Mutation> writes = Plan(run, events, &p.effects);
    for (auto& m : extra) writes.push_back(std::move(m));
    if (!a->continued_from_run_id().empty()) {
      // The start request its predecessor left for crash recovery.
      writes.push_back(Mutation::Delete(KeySpace::kRunState,
                                        internal::ContinueKey(ns, run_id)));
    }
    p.append.ns = ns;
    p.append.run_id = run_id;
    p.append.expected_next_event_id = 1;
    p.append.events = std::move(events);
    p.append.writes = std::move(writes);
    return p;
  }

  absl::Status StartContinuation(const StartRunRequest& start) {
    auto def =
        FindDefinition(start.namespace_(), start.workflow(), start.version());
    if (def == nullptr) return absl::OkStatus();  // version removed meanwhile
    PlannedStart planned{start.namespace_(),  start.run_id(),     def,
                         start.version(),     start.input_json(), "",
                         absl::ZeroDuration()};
    return CreateRun(start, planned, {}).status();
  }

  // ---- leases --------------------------------------------------------------

  bool ClaimLocked(WorkerState& worker, Task* task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_mu_) {
    const absl::Time now = clock_->Now();
    for (const std::string& queue : worker.record.task_queues()) {
      const std::string prefix = internal::Join({queue, ""});
      for (auto it = ready_.lower_bound(prefix);
           it != ready_.end() && absl::StartsWith(it->first, prefix); ++it) {
        const TaskRecord& t = it->second;
        if (history::ToTime(t.ready_at()) > now) break;
        if (!Eligible(worker, t) || !ActionHasSlotLocked(t.action())) continue;
        LeaseLocked(worker, it->first, t, now, task);
        ready_.erase(it);
        return true;
      }
    }
    return false;
  }

  // Whether `action` is below its max_concurrency_per_action limit.
  bool ActionHasSlotLocked(const std::string& action)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_mu_) {
    auto limit = options_.max_concurrency_per_action.find(action);
    if (limit == options_.max_concurrency_per_action.end()) return true;
    auto used = action_in_flight_.find(action);
    return used == action_in_flight_.end() || used->second < limit->second;
  }

  // Grants `worker` a lease on the task `t` (row `key`, not in ready_) and
  // fills `task` with what the worker sees.
  void LeaseLocked(WorkerState& worker, const std::string& key,
                   const TaskRecord& t, absl::Time now, Task* task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_mu_) {
    uint64_t epoch;
    {
      absl::MutexLock lock(&random_mu_);
      epoch = absl::Uniform<uint64_t>(random_);
    }
    const std::string token = absl::WebSafeBase64Escape(absl::StrCat(
        t.namespace_(), "\x1f", t.run_id(), "\x1f", t.scheduled_event_id(),
        "\x1f", t.attempt(), "\x1f", absl::Hex(epoch, absl::kZeroPad16)));
    Lease lease;
    lease.task = t;
    lease.task_key = key;
    lease.worker_id = worker.record.worker_id();
    lease.deadline = now + absl::Milliseconds(t.start_to_close_timeout_ms());
    task->set_token(token);
    task->set_namespace_(t.namespace_());
    task->set_run_id(t.run_id());
    task->set_workflow(t.workflow());
    task->set_step_id(t.step_id());
    task->set_action(t.action());
    task->set_attempt(t.attempt());
    *task->mutable_input() = t.input();
    *task->mutable_lease_deadline() = history::FromTime(lease.deadline);
    task->set_idempotency_key(
        absl::StrCat(t.namespace_(), "/", t.run_id(), "/", t.step_path()));
    lease_by_task_[key] = token;
    leases_[token] = std::move(lease);
    ++worker.in_flight;
    ++action_in_flight_[t.action()];
  }

  // Eager dispatch: gives `task` (a new row) to the worker that asked for
  // tasks with its outcomes, if it wants more and may run it now.
  bool EagerClaimLocked(EagerClaim& eager, const std::string& key,
                        const TaskRecord& task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_mu_) {
    if (eager.tasks.size() >= eager.max) return false;
    auto w = workers_.find(eager.worker_id);
    if (w == workers_.end()) return false;
    WorkerState& worker = w->second;
    const absl::Time now = clock_->Now();
    if (task_stopping_ || worker.draining ||
        worker.in_flight >= worker.record.max_concurrency() ||
        history::ToTime(task.ready_at()) > now || !Eligible(worker, task) ||
        !ActionHasSlotLocked(task.action())) {
      return false;
    }
    LeaseLocked(worker, key, task, now, &eager.tasks.emplace_back());
    return true;
  }

  // Whether `worker` may run `task` (namespace, queue, action, version).
  static bool Eligible(const WorkerState& worker, const TaskRecord& t) {
    const auto& r = worker.record;
    if (t.namespace_() != r.namespace_()) return false;
    if (std::find(r.task_queues().begin(), r.task_queues().end(),
                  t.task_queue()) == r.task_queues().end()) {
      return false;
    }
    if (r.action_types_size() > 0 &&
        std::find(r.action_types().begin(), r.action_types().end(),
                  t.action()) == r.action_types().end()) {
      return false;
    }
    if (r.versions_size() > 0 &&
        std::find(r.versions().begin(), r.versions().end(), t.version()) ==
            r.versions().end()) {
      return false;
    }
    return true;
  }

  // Wakes one waiting poller that can take `task`.
  void WakeForTaskLocked(const TaskRecord& task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_mu_) {
    for (Waiter* w : waiters_) {
      if (w->notified) continue;
      auto worker = workers_.find(w->worker_id);
      if (worker == workers_.end() || worker->second.draining ||
          worker->second.in_flight >= worker->second.record.max_concurrency() ||
          !Eligible(worker->second, task)) {
        continue;
      }
      w->notified = true;
      w->cv.Signal();
      return;
    }
  }

  // Wakes one (or all) of the pollers of a worker.
  void WakeWorkerLocked(const std::string& worker_id, bool all)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_mu_) {
    for (Waiter* w : waiters_) {
      if (w->worker_id != worker_id || (w->notified && !all)) continue;
      w->notified = true;
      w->cv.Signal();
      if (!all) return;
    }
  }

  // Takes the lease of `token` for finishing it by `worker_id`, which must
  // hold it (else TASK_NOT_HELD). A token already finished with the same
  // outcome is acknowledged again (ALREADY_DONE: the caller returns OK);
  // with another outcome it is TOKEN_ALREADY_USED.
  absl::StatusOr<Lease> TakeLease(const std::string& token,
                                  const std::string& worker_id,
                                  uint64_t outcome) {
    absl::MutexLock lock(&task_mu_);
    auto it = leases_.find(token);
    if (it != leases_.end() && it->second.worker_id != worker_id) {
      // Tokens are bound to the worker (and namespace) they were leased to.
      return Error(absl::StatusCode::kPermissionDenied, "TASK_NOT_HELD",
                   absl::StrCat("worker ", worker_id,
                                " does not hold this task; it is leased to "
                                "another worker"));
    }
    if (it == leases_.end()) {
      auto done = finished_tokens_.find(token);
      if (done != finished_tokens_.end()) {
        if (done->second == outcome) {
          return Error(absl::StatusCode::kAlreadyExists, "ALREADY_DONE",
                       "this outcome was already recorded");
        }
        return Precondition(
            "TOKEN_ALREADY_USED",
            "a different outcome was already recorded for this task "
            "token");
      }
      std::string decoded;
      if (!absl::WebSafeBase64Unescape(token, &decoded) ||
          std::count(decoded.begin(), decoded.end(), '\x1f') != 4) {
        return Invalid("INVALID_TOKEN", "not a task token");
      }
      return Precondition(
          "LEASE_LOST",
          "the task's lease expired or the engine restarted; the "
          "attempt no longer counts");
    }
    return ReleaseLeaseLocked(it);
  }

  // Removes a lease and gives back the worker's and the action's slot.
  Lease ReleaseLeaseLocked(absl::flat_hash_map<std::string, Lease>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(task_mu_) {
    Lease lease = std::move(it->second);
    leases_.erase(it);
    lease_by_task_.erase(lease.task_key);
    bool was_full = false;
    if (auto w = workers_.find(lease.worker_id); w != workers_.end()) {
      was_full = w->second.in_flight >= w->second.record.max_concurrency();
      --w->second.in_flight;
    }
    if (auto a = action_in_flight_.find(lease.task.action());
        a != action_in_flight_.end() && --a->second == 0) {
      action_in_flight_.erase(a);
    }
    if (!options_.max_concurrency_per_action.empty()) {
      // A slot of a limited action came free: anyone may now claim.
      for (Waiter* w : waiters_) w->cv.Signal();
    } else if (was_full) {
      // Its pollers were turned away for want of a slot: one may claim now.
      WakeWorkerLocked(lease.worker_id, /*all=*/false);
    }
    return lease;
  }

  void RememberToken(const std::string& token, uint64_t outcome)
      ABSL_LOCKS_EXCLUDED(task_mu_) {
    absl::MutexLock lock(&task_mu_);
    finished_tokens_[token] = outcome;
    finished_order_.push_back(token);
    while (finished_order_.size() > kRememberedTokens) {
      finished_tokens_.erase(finished_order_.front());
      finished_order_.pop_front();
    }
  }

  // An outcome RecordOutcomes is recording.
  struct Pending {
    uint64_t hash = 0;           // identifies the outcome for its token
    std::optional<Lease> lease;  // set: to record
    history::Failure failure;    // a failure outcome, or an oversized output
    bool oversized = false;      // an output over max_payload_bytes
  };

  // What RecordOutcomes decided: a status per outcome and the tasks claimed
  // for the worker.
  struct Recorded {
    std::vector<absl::Status> results;
    // Per outcome: the run's status when recording it ended the run, else
    // empty.
    std::vector<std::string> run_status;
    std::vector<Task> next_tasks;
  };

  // Records task outcomes (each an output or a failure, with the attempt's
  // start) of `worker_id`: the one path of CompleteTask, FailTask and
  // ReportTasks. Outcomes of one run go into one transition, the runs'
  // transitions into one atomic AppendBatch. Up to `max_next` tasks the
  // transitions schedule go straight to the worker (eager dispatch). Fails
  // as a whole only when the commit fails (then nothing is recorded and the
  // tasks are claimable again); per-outcome errors are in `results`.
  absl::StatusOr<Recorded> RecordOutcomes(
      const std::string& worker_id,
      const std::vector<const TaskOutcome*>& outcomes, size_t max_next) {
    Recorded out;
    out.results.resize(outcomes.size());
    out.run_status.resize(outcomes.size());
    std::vector<Pending> pending(outcomes.size());
    // Runs in order of first appearance, each with its outcomes.
    std::vector<std::pair<std::string, std::string>> runs;
    absl::flat_hash_map<std::pair<std::string, std::string>,
                        std::vector<size_t>>
        by_run;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      const TaskOutcome& o = *outcomes[i];
      Pending& p = pending[i];
      if (o.has_failure()) {
        p.hash =
            StableHash(absl::StrCat("fail:", o.failure().SerializeAsString()));
      } else {
        p.hash = StableHash(absl::StrCat("ok:", o.output().data()));
      }
      absl::StatusOr<Lease> taken = TakeLease(o.token(), worker_id, p.hash);
      if (ErrorCode(taken.status()) == "ALREADY_DONE") continue;
      if (!taken.ok()) {
        out.results[i] = taken.status();
        continue;
      }
      p.lease = *std::move(taken);
      if (o.has_failure()) {
        p.failure = o.failure();
        if (p.failure.code().empty()) p.failure.set_code("ACTION_FAILED");
      } else if (static_cast<int64_t>(o.output().data().size()) >
                 options_.max_payload_bytes) {
        p.oversized = true;
        p.failure.set_code("PAYLOAD_TOO_LARGE");
        p.failure.set_message(absl::StrCat(
            "step output is ", o.output().data().size(), " bytes, limit ",
            options_.max_payload_bytes, " bytes"));
        p.failure.set_non_retryable(true);
      }
      const TaskRecord& t = p.lease->task;
      auto [it, inserted] = by_run.try_emplace({t.namespace_(), t.run_id()});
      if (inserted) runs.push_back(it->first);
      it->second.push_back(i);
    }
    if (runs.empty()) return out;

    std::vector<absl::Mutex*> locks;
    for (const auto& [ns, run_id] : runs) locks.push_back(&RunLock(ns, run_id));
    StripeLocks stripes(std::move(locks));

    EagerClaim eager{worker_id, max_next, {}};
    std::vector<Prepared> prepared;
    std::vector<size_t> requeue;  // leases whose task is claimable again
    for (const auto& run_name : runs) {
      const std::vector<size_t>& mine = by_run[run_name];
      absl::StatusOr<Prepared> p = Prepare(
          run_name.first, run_name.second,
          [&](LoadedRun& run) -> absl::StatusOr<std::vector<HistoryEvent>> {
            if (run.interpreter == nullptr || run.interpreter->finished()) {
              return Precondition(
                  "RUN_ALREADY_TERMINAL",
                  absl::StrCat("run ", RunName(run.ns, run.run_id),
                               " has ended; the task was canceled"));
            }
            const OpenWork open = run.interpreter->open_work();
            std::vector<HistoryEvent> inputs;
            for (size_t i : mine) {
              const TaskRecord& t = pending[i].lease->task;
              if (std::find(open.scheduled_event_ids.begin(),
                            open.scheduled_event_ids.end(),
                            t.scheduled_event_id()) ==
                  open.scheduled_event_ids.end()) {
                out.results[i] =
                    Precondition("LEASE_LOST", "the attempt is no longer open");
                continue;
              }
              AttemptEvents(pending[i].lease->worker_id, t, *outcomes[i],
                            pending[i], &inputs);
            }
            return inputs;
          },
          max_next > 0 ? &eager : nullptr);
      if (!p.ok()) {
        const std::string code(ErrorCode(p.status()));
        const bool gone = code == "RUN_ALREADY_TERMINAL" ||
                          code == "LEASE_LOST" || code == "RUN_NOT_FOUND" ||
                          code == "WORKFLOW_VERSION_NOT_FOUND";
        for (size_t i : mine) {
          if (!out.results[i].ok()) continue;
          out.results[i] = p.status();
          // Not recorded (e.g. a storage error): claimable again.
          if (!gone) requeue.push_back(i);
        }
        continue;
      }
      if (p->run == nullptr) continue;
      if (!p->run->record.status().empty()) {  // the transition ends the run
        for (size_t i : mine) out.run_status[i] = p->run->record.status();
      }
      prepared.push_back(*std::move(p));
    }

    absl::StatusOr<std::vector<StartRunRequest>> continuations =
        CommitAll(prepared, {});
    if (!continuations.ok()) {
      for (const Prepared& p : prepared) {
        for (size_t i : by_run[{p.run->ns, p.run->run_id}]) {
          if (out.results[i].ok()) requeue.push_back(i);
        }
      }
    }
    stripes.Release();
    if (!requeue.empty()) {
      absl::MutexLock lock(&task_mu_);
      for (size_t i : requeue) {
        const Lease& lease = *pending[i].lease;
        ready_[lease.task_key] = lease.task;
        WakeForTaskLocked(lease.task);
      }
    }
    RETURN_IF_ERROR(continuations.status());
    for (size_t i = 0; i < outcomes.size(); ++i) {
      if (!out.results[i].ok()) out.run_status[i].clear();
      if (!pending[i].lease.has_value() || !out.results[i].ok()) continue;
      RememberToken(outcomes[i]->token(), pending[i].hash);
      if (pending[i].oversized) {
        out.results[i] =
            Invalid("PAYLOAD_TOO_LARGE", pending[i].failure.message());
      }
    }
    for (const StartRunRequest& next : *continuations) {
      StartContinuation(next).IgnoreError();
    }
    out.next_tasks = std::move(eager.tasks);
    return out;
  }

  // The events recording one attempt's outcome: its start and its
  // completion or failure.
  static void AttemptEvents(const std::string& worker_id, const TaskRecord& t,
                            const TaskOutcome& outcome, const Pending& pending,
                            std::vector<HistoryEvent>* events) {
    auto* started = events->emplace_back().mutable_step_started();
    started->set_scheduled_event_id(t.scheduled_event_id());
    started->set_step_id(t.step_id());
    started->set_attempt(t.attempt());
    started->set_worker_id(worker_id);
    HistoryEvent& e = events->emplace_back();
    if (outcome.has_failure() || pending.oversized) {
      auto* f = e.mutable_step_failed();
      f->set_scheduled_event_id(t.scheduled_event_id());
      f->set_step_id(t.step_id());
      f->set_attempt(t.attempt());
      *f->mutable_failure() = pending.failure;
      f->set_worker_id(worker_id);
    } else {
      auto* c = e.mutable_step_completed();
      c->set_scheduled_event_id(t.scheduled_event_id());
      c->set_step_id(t.step_id());
      c->set_attempt(t.attempt());
      *c->mutable_output() = outcome.output();
      c->set_worker_id(worker_id);
    }
  }

  void ExpireLease(const Lease& lease) {
    const TaskRecord& t = lease.task;
    Transition(
        t.namespace_(), t.run_id(),
        [&](LoadedRun& run) -> absl::StatusOr<std::vector<HistoryEvent>> {
          std::vector<HistoryEvent> inputs;
          if (run.interpreter == nullptr || run.interpreter->finished()) {
            return inputs;
          }
          OpenWork open = run.interpreter->open_work();
          if (std::find(open.scheduled_event_ids.begin(),
                        open.scheduled_event_ids.end(),
                        t.scheduled_event_id()) ==
              open.scheduled_event_ids.end()) {
            return inputs;
          }
          HistoryEvent e;
          auto* timed_out = e.mutable_step_timed_out();
          timed_out->set_scheduled_event_id(t.scheduled_event_id());
          timed_out->set_step_id(t.step_id());
          timed_out->set_attempt(t.attempt());
          timed_out->set_timeout_type(history::TIMEOUT_TYPE_HEARTBEAT);
          inputs.push_back(std::move(e));
          return inputs;
        })
        .IgnoreError();
  }

  int ExpireLeases(absl::Time now) {
    std::vector<Lease> expired;
    {
      absl::MutexLock lock(&task_mu_);
      absl::flat_hash_set<std::string> stale_workers;
      for (const auto& [id, w] : workers_) {
        if (w.last_seen + options_.worker_timeout <= now)
          stale_workers.insert(id);
      }
      for (auto it = leases_.begin(); it != leases_.end();) {
        if (it->second.deadline <= now ||
            stale_workers.count(it->second.worker_id)) {
          expired.push_back(ReleaseLeaseLocked(it++));
        } else {
          ++it;
        }
      }
    }
    for (const Lease& lease : expired) ExpireLease(lease);
    return static_cast<int>(expired.size());
  }

  void TimerLoop() {
    for (;;) {
      std::optional<absl::Time> next = NextTimerAt();
      absl::Time wake = absl::Now() + absl::Milliseconds(500);
      if (next.has_value() && *next < wake) wake = *next;
      {
        absl::MutexLock lock(&timer_thread_mu_);
        auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(timer_thread_mu_) {
          return stopping_ || timer_wakeup_;
        };
        timer_thread_mu_.AwaitWithDeadline(absl::Condition(&woken), wake);
        if (stopping_) return;
        timer_wakeup_ = false;
      }
      FireDueTimers().IgnoreError();
    }
  }

  history::HistoryStore* const store_;
  const EngineOptions options_;
  const Clock* const clock_;

  absl::Mutex defs_mu_;
  std::map<std::string, WorkflowEntry> workflows_ ABSL_GUARDED_BY(defs_mu_);
  int64_t definition_sequence_ = 0;

  std::array<absl::Mutex, kStripes> stripes_;
  std::array<absl::Mutex, kStripes> dedupe_stripes_;

  absl::Mutex cache_mu_;
  std::list<std::string> lru_ ABSL_GUARDED_BY(cache_mu_);
  absl::flat_hash_map<std::string, std::pair<std::unique_ptr<LoadedRun>,
                                             std::list<std::string>::iterator>>
      cache_ ABSL_GUARDED_BY(cache_mu_);

  // A poller waiting for a task, woken by whoever publishes one it can take.
  struct Waiter {
    std::string worker_id;
    absl::CondVar cv;
    bool notified = false;
  };

  absl::Mutex task_mu_;
  std::list<Waiter*> waiters_ ABSL_GUARDED_BY(task_mu_);
  bool task_stopping_ ABSL_GUARDED_BY(task_mu_) = false;
  std::map<std::string, TaskRecord> ready_ ABSL_GUARDED_BY(task_mu_);
  absl::flat_hash_map<std::string, Lease> leases_ ABSL_GUARDED_BY(task_mu_);
  absl::flat_hash_map<std::string, std::string> lease_by_task_
      ABSL_GUARDED_BY(task_mu_);
  std::map<std::string, WorkerState> workers_ ABSL_GUARDED_BY(task_mu_);
  absl::flat_hash_map<std::string, uint64_t> finished_tokens_
      ABSL_GUARDED_BY(task_mu_);
  std::deque<std::string> finished_order_ ABSL_GUARDED_BY(task_mu_);
  absl::flat_hash_map<std::string, int> action_in_flight_
      ABSL_GUARDED_BY(task_mu_);

  absl::Mutex timer_mu_;
  std::set<std::pair<absl::Time, std::string>> timers_
      ABSL_GUARDED_BY(timer_mu_);

  absl::Mutex timer_thread_mu_;
  bool stopping_ ABSL_GUARDED_BY(timer_thread_mu_) = false;
  bool timer_wakeup_ ABSL_GUARDED_BY(timer_thread_mu_) = false;
  std::thread timer_thread_;

  absl::Mutex random_mu_;
  absl::BitGen random_ ABSL_GUARDED_BY(random_mu_);

  std::atomic<int64_t> outbox_sequence_{0};
  std::atomic<int64_t> audit_sequence_{0};
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(
    history::HistoryStore* store, const EngineOptions& options) {
  auto engine = std::make_unique<EngineImpl>(store, options);
  RETURN_IF_ERROR(engine->Init());
  return engine;
}

}  // namespace retrace::runtime
