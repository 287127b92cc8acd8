// The engine: turns definitions and histories into running workflows that
// survive crashes. Every method is one operation of the EngineService
// (engine.proto) and takes and returns its messages, so a gRPC server is a
// thin adapter.
//
// One state-transition path serves every operation: lock the run, load its
// interpreter (cached, or rebuilt by replaying the history), apply the input
// event, record the commands the interpreter decides, and append events +
// run record + task, timer, wait-index and outbox rows in one atomic,
// synced HistoryStore::Append. Transitions of one run are serialized;
// transitions of different runs run concurrently and share group commits.
//
// Task leases live in memory: a worker's claim costs no disk write. After a
// restart every task that has not completed is claimable again and tokens of
// the old process are rejected (LEASE_LOST), so a step is never recorded as
// succeeded twice.
//
// Storage failures (docs/reliability.md#storage-faults): an operation whose
// commit fails returns the store's kUnavailable / STORAGE_FAILED and is not
// acknowledged; what it changed in memory is dropped (the run's cached state
// is rebuilt from the history next time, a task being completed becomes
// claimable again). The RocksDB store then refuses every later write, so
// every operation that changes state fails the same way until the engine is
// reopened on a fixed disk; reads keep working.
//
// Thread safety: all methods are safe to call concurrently.
//
// Example:
//   ASSIGN_OR_RETURN(auto store, history::OpenRocksDbHistoryStore(dir));
//   ASSIGN_OR_RETURN(auto engine, Engine::Open(store.get(), EngineOptions()));
//   engine->RegisterDefinition(...);
//   ASSIGN_OR_RETURN(StartRunResponse run, engine->StartRun(request));
#ifndef RETRACE_RUNTIME_ENGINE_H_
#define RETRACE_RUNTIME_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "history/history_store.h"
#include "runtime/clock.h"
#include "runtime/engine.pb.h"

namespace retrace::runtime {

struct EngineOptions {
  // Largest input, step output or run output. At the limit is accepted, over
  // it is rejected with PAYLOAD_TOO_LARGE naming both sizes.
  // Default: 2 MiB
  int64_t max_payload_bytes = 2 << 20;

  // A worker that neither polls nor heartbeats for this long is stale: its
  // leases expire and its tasks become claimable again (each expiry counts
  // as a failed attempt under the step's retry policy).
  // Default: 30s
  absl::Duration worker_timeout = absl::Seconds(30);

  // Histories longer than this log a warning in DescribeRun...
  // Default: 10,000 events
  int64_t history_warn_events = 10000;
  // ...and a run reaching this length fails with HISTORY_TOO_LONG: long
  // loops must use control.continueAsNew.
  // Default: 50,000 events
  int64_t history_max_events = 50000;

  // Most tasks of an action held by workers at once, across all workers
  // (e.g. a rate-limited API). Actions not listed have no limit.
  // Default: empty
  std::map<std::string, int> max_concurrency_per_action;

  // Interpreters of open runs kept in memory (least recently used go
  // first; an ended run is not kept); others are rebuilt by replay when
  // needed.
  // Default: 10,000
  size_t run_cache_size = 10000;

  // Run a background thread that fires due timers and expires leases. Tests
  // with a ManualClock set false and call FireDueTimers().
  // Default: true
  bool timer_thread = true;

  // The time source. nullptr: the system clock. Must outlive the engine.
  // Default: nullptr
  const Clock* clock = nullptr;
};

class Engine {
 public:
  // Opens the engine over `store` (which must outlive it): loads
  // definitions, the ready task queue and timers. Fails with the store's
  // errors.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(
      history::HistoryStore* store, const EngineOptions& options = {});
  virtual ~Engine() = default;

  // Definitions. Errors: INVALID_DEFINITION (every problem listed),
  // DEFINITION_CONFLICT (same name and version, different document),
  // WORKFLOW_NOT_FOUND, WORKFLOW_VERSION_NOT_FOUND.
  virtual absl::StatusOr<RegisterDefinitionResponse> RegisterDefinition(
      const RegisterDefinitionRequest& request) = 0;
  virtual absl::StatusOr<SetDefinitionActiveResponse> SetDefinitionActive(
      const SetDefinitionActiveRequest& request) = 0;
  virtual absl::StatusOr<RemoveDefinitionResponse> RemoveDefinition(
      const RemoveDefinitionRequest& request) = 0;
  virtual absl::StatusOr<ListDefinitionsResponse> ListDefinitions(
      const ListDefinitionsRequest& request) = 0;

  // Runs. Errors: WORKFLOW_NOT_FOUND, WORKFLOW_VERSION_NOT_FOUND,
  // WORKFLOW_NOT_ACTIVE, START_GUARD_REJECTED, PAYLOAD_TOO_LARGE,
  // INVALID_IDENTIFIER, INVALID_JSON, RUN_NOT_FOUND, RUN_ALREADY_TERMINAL,
  // RUN_NOT_FAILED (retry of a run that has not failed), TASK_NOT_FOUND.
  virtual absl::StatusOr<StartRunResponse> StartRun(
      const StartRunRequest& request) = 0;
  // Starts several runs in one atomic commit (one WAL sync): for a caller
  // with many starts at once. Each is decided as StartRun decides it and
  // gets its result (request order); starts with a dedupe key, or naming a
  // run id that appears earlier in the batch, are committed on their own
  // after the batch. Fails as a whole, starting none of the batched runs,
  // only if the commit fails.
  virtual absl::StatusOr<std::vector<absl::StatusOr<StartRunResponse>>>
  StartRuns(const std::vector<StartRunRequest>& requests) = 0;
  virtual absl::StatusOr<SignalRunResponse> SignalRun(
      const SignalRunRequest& request) = 0;
  // Signals several runs in one atomic commit (one WriteBatch, one WAL
  // sync): what signal ingress uses to batch events. `requests` must name
  // distinct runs. Each is decided as SignalRun decides it; its result (in
  // request order) is what SignalRun would return. `rows` is then called
  // with those results and returns rows committed in the same batch (the
  // ingress's audit records). Fails as a whole, writing nothing, if the
  // commit fails; per-request errors (RUN_ALREADY_TERMINAL, ...) do not fail
  // the call.
  using SignalRows = std::function<std::vector<history::Mutation>(
      const std::vector<absl::StatusOr<SignalRunResponse>>&)>;
  virtual absl::StatusOr<std::vector<absl::StatusOr<SignalRunResponse>>>
  SignalRuns(const std::vector<SignalRunRequest>& requests,
             const SignalRows& rows) = 0;
  virtual absl::StatusOr<CancelRunResponse> CancelRun(
      const CancelRunRequest& request) = 0;
  virtual absl::StatusOr<TerminateRunResponse> TerminateRun(
      const TerminateRunRequest& request) = 0;
  virtual absl::StatusOr<RetryRunResponse> RetryRun(
      const RetryRunRequest& request) = 0;
  virtual absl::StatusOr<CompleteHumanTaskResponse> CompleteHumanTask(
      const CompleteHumanTaskRequest& request) = 0;
  virtual absl::StatusOr<DescribeRunResponse> DescribeRun(
      const DescribeRunRequest& request) = 0;
  virtual absl::StatusOr<GetHistoryResponse> GetHistory(
      const GetHistoryRequest& request) = 0;

  // Workers. Errors: WORKER_NOT_FOUND, LEASE_LOST (the lease expired or the
  // engine restarted: the attempt no longer counts), TOKEN_ALREADY_USED (a
  // different outcome for a token already completed), INVALID_TOKEN.
  virtual absl::StatusOr<RegisterWorkerResponse> RegisterWorker(
      const RegisterWorkerRequest& request) = 0;
  virtual absl::StatusOr<HeartbeatResponse> Heartbeat(
      const HeartbeatRequest& request) = 0;
  virtual absl::StatusOr<PollTaskResponse> PollTask(
      const PollTaskRequest& request) = 0;
  virtual absl::StatusOr<CompleteTaskResponse> CompleteTask(
      const CompleteTaskRequest& request) = 0;
  virtual absl::StatusOr<FailTaskResponse> FailTask(
      const FailTaskRequest& request) = 0;
  // Several outcomes of one worker's tasks in one atomic commit (one WAL
  // sync): each decided as CompleteTask or FailTask decides it, its result
  // in `results` (request order). Fails as a whole, recording nothing (the
  // tasks become claimable again), only when the commit fails.
  virtual absl::StatusOr<ReportTasksResponse> ReportTasks(
      const ReportTasksRequest& request) = 0;
  virtual absl::StatusOr<DeregisterWorkerResponse> DeregisterWorker(
      const DeregisterWorkerRequest& request) = 0;
  virtual absl::StatusOr<DrainWorkerResponse> DrainWorker(
      const DrainWorkerRequest& request) = 0;

  // The active workflows of `ns` whose latest version has a trigger on
  // `event_name` (for signal ingress: event-triggered starts).
  virtual std::vector<std::string> TriggeredBy(
      absl::string_view ns, absl::string_view event_name) = 0;

  // Fires every timer, wait deadline and lease expiry due at or before the
  // clock's now, each as its own transition. Returns how many fired. The
  // timer thread calls this; so do tests that drive a ManualClock.
  virtual absl::StatusOr<int> FireDueTimers() = 0;

  // When the next timer is due, if any.
  virtual std::optional<absl::Time> NextTimerAt() = 0;
};

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_ENGINE_H_
