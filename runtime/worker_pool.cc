#include "runtime/worker_pool.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "history/events.h"

namespace retrace::runtime {

WorkerPool::WorkerPool(Engine* engine, const ActionRegistry* registry,
                       WorkerPoolOptions options)
    : engine_(engine), registry_(registry), options_(std::move(options)) {}

WorkerPool::~WorkerPool() { Stop(); }

absl::Status WorkerPool::Start() {
  RegisterWorkerRequest request;
  request.set_identity(options_.identity);
  request.set_namespace_(options_.ns);
  for (const auto& q : options_.task_queues) request.add_task_queues(q);
  for (const auto& name : registry_->Names()) request.add_action_types(name);
  request.set_max_concurrency(options_.threads);
  absl::StatusOr<RegisterWorkerResponse> registered =
      engine_->RegisterWorker(request);
  if (!registered.ok()) return registered.status();
  worker_id_ = registered->worker_id();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
  return absl::OkStatus();
}

void WorkerPool::Stop() {
  if (threads_.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  // The engine hands out nothing more (no poll, no eager task) and wakes
  // the thread waiting in PollTask.
  DrainWorkerRequest drain;
  drain.set_worker_id(worker_id_);
  engine_->DrainWorker(drain).IgnoreError();
  for (auto& t : threads_) t.join();
  threads_.clear();
  DeregisterWorkerRequest deregister;
  deregister.set_worker_id(worker_id_);
  engine_->DeregisterWorker(deregister).IgnoreError();
}

void WorkerPool::WakeLocked() {
  if (waking_ > 0 || sleeping_ == 0) return;
  ++waking_;
  cv_.Signal();
}

void WorkerPool::Loop() {
  PollTaskRequest poll;
  poll.set_worker_id(worker_id_);
  poll.set_timeout_ms(absl::ToInt64Milliseconds(options_.poll_timeout));
  absl::MutexLock lock(&mu_);
  std::optional<Task> mine;  // a task this thread polled: it runs it
  for (;;) {
    if (mine.has_value()) {
      Task task = *std::move(mine);
      mine.reset();
      Execute(std::move(task));
      continue;
    }
    // Queued tasks before outcomes: they are held already (their leases
    // run), and a thread that reported before running them would leave
    // them waiting for its commit.
    if (!queue_.empty()) {
      Task task = std::move(queue_.front());
      queue_.pop_front();
      // More work than this thread (tasks, or outcomes a report could
      // take): let one more thread come (it wakes the next in turn while
      // work remains when it arrives).
      if (!queue_.empty() || CanReportLocked()) WakeLocked();
      Execute(std::move(task));
      continue;
    }
    if (CanReportLocked()) {
      ReportLocked();
      continue;
    }
    if (!polling_ && !stopping_ && held_ < options_.threads) {
      polling_ = true;
      mu_.Unlock();
      absl::StatusOr<PollTaskResponse> polled = engine_->PollTask(poll);
      mu_.Lock();
      polling_ = false;
      if (!polled.ok()) {
        // E.g. the worker was deregistered from outside: retry slowly.
        cv_.WaitWithTimeout(&mu_, absl::Milliseconds(50));
      } else if (polled->has_task()) {
        ++held_;
        mine = std::move(*polled->mutable_task());
        // Another thread takes over polling while this one runs the task.
        WakeLocked();
      }
      continue;
    }
    // Nothing can arrive once stopping, with no poll out and nothing held.
    if (stopping_ && !polling_ && held_ == 0) {
      cv_.SignalAll();
      return;
    }
    ++sleeping_;
    cv_.Wait(&mu_);
    --sleeping_;
    if (waking_ > 0) --waking_;
  }
}

void WorkerPool::Execute(Task task) {
  mu_.Unlock();
  TaskOutcome outcome = Run(engine_, registry_, worker_id_, task);
  mu_.Lock();
  outcomes_.push_back(std::move(outcome));
}

bool WorkerPool::CanReportLocked() const {
  return !outcomes_.empty() && reporting_ < options_.reporters;
}

void WorkerPool::ReportLocked() {
  ReportTasksRequest request;
  request.set_worker_id(worker_id_);
  const size_t n =
      std::min(outcomes_.size(),
               static_cast<size_t>(std::max(1, options_.max_report_batch)));
  for (size_t i = 0; i < n; ++i) {
    *request.add_outcomes() = std::move(outcomes_[i]);
  }
  outcomes_.erase(outcomes_.begin(), outcomes_.begin() + n);
  // A draining pool asks for nothing more.
  request.set_max_next_tasks(stopping_ ? 0 : options_.threads);
  ++reporting_;
  mu_.Unlock();
  absl::StatusOr<ReportTasksResponse> reported = engine_->ReportTasks(request);
  if (reported.ok()) {
    for (int i = 0; i < reported->results_size(); ++i) {
      if (!reported->results(i).code().empty()) continue;
      if (request.outcomes(i).has_failure()) {
        ++failed_;
      } else {
        ++completed_;
      }
    }
  }
  // (A failed commit recorded nothing: the engine made the tasks claimable
  // again.)
  mu_.Lock();
  --reporting_;
  held_ -= static_cast<int>(n);
  if (reported.ok() && reported->next_tasks_size() > 0) {
    held_ += reported->next_tasks_size();
    for (Task& t : *reported->mutable_next_tasks()) {
      queue_.push_back(std::move(t));
    }
    // This thread takes the first itself (no wake-up); more wake a helper.
    if (queue_.size() > 1) WakeLocked();
  }
  // A slot came free: someone may poll again.
  if (!polling_ && held_ < options_.threads) WakeLocked();
  if (stopping_ && held_ == 0) cv_.SignalAll();
}

TaskOutcome WorkerPool::Run(Engine* engine, const ActionRegistry* registry,
                            const std::string& worker_id, const Task& task) {
  const ActionHandler* handler = registry->Find(task.action());
  absl::StatusOr<history::Payload> result;
  if (handler == nullptr) {
    result =
        ActionFailure("ACTION_NOT_REGISTERED",
                      absl::StrCat("no handler for action ", task.action()),
                      /*retryable=*/true);
  } else {
    ActionContext context;
    context.ns = task.namespace_();
    context.run_id = task.run_id();
    context.workflow = task.workflow();
    context.step_id = task.step_id();
    context.attempt = task.attempt();
    context.idempotency_key = task.idempotency_key();
    std::string token = task.token();
    auto canceled = std::make_shared<std::atomic<bool>>(false);
    context.heartbeat = [engine, token, worker_id, canceled]() {
      HeartbeatRequest hb;
      hb.set_worker_id(worker_id);
      hb.add_task_tokens(token);
      absl::StatusOr<HeartbeatResponse> r = engine->Heartbeat(hb);
      if (r.ok() && r->canceled_tokens_size() > 0) *canceled = true;
      return !*canceled;
    };
    context.canceled = [canceled]() { return canceled->load(); };
    result = (*handler)(context, task.input());
  }
  TaskOutcome outcome;
  outcome.set_token(task.token());
  if (result.ok()) {
    *outcome.mutable_output() = *std::move(result);
  } else {
    *outcome.mutable_failure() = FailureFromStatus(result.status());
  }
  return outcome;
}

std::optional<Task> WorkerPool::Execute(Engine* engine,
                                        const ActionRegistry* registry,
                                        const std::string& worker_id,
                                        const Task& task, bool want_next,
                                        std::atomic<int64_t>* completed,
                                        std::atomic<int64_t>* failed) {
  TaskOutcome outcome = Run(engine, registry, worker_id, task);
  if (outcome.has_output()) {
    CompleteTaskRequest complete;
    complete.set_token(task.token());
    complete.set_worker_id(worker_id);
    *complete.mutable_output() = std::move(*outcome.mutable_output());
    complete.set_request_next_task(want_next);
    absl::StatusOr<CompleteTaskResponse> done = engine->CompleteTask(complete);
    if (!done.ok()) return std::nullopt;
    ++*completed;
    if (done->has_next_task()) return std::move(*done->mutable_next_task());
  } else {
    FailTaskRequest fail;
    fail.set_token(task.token());
    fail.set_worker_id(worker_id);
    *fail.mutable_failure() = std::move(*outcome.mutable_failure());
    fail.set_request_next_task(want_next);
    ++*failed;
    absl::StatusOr<FailTaskResponse> done = engine->FailTask(fail);
    if (done.ok() && done->has_next_task()) {
      return std::move(*done->mutable_next_task());
    }
  }
  return std::nullopt;
}

}  // namespace retrace::runtime
