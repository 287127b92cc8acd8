#include "runtime/worker_pool.h"

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
  stopping_ = false;
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
  return absl::OkStatus();
}

void WorkerPool::Stop() {
  if (threads_.empty()) return;
  stopping_ = true;
  DrainWorkerRequest drain;
  drain.set_worker_id(worker_id_);
  engine_->DrainWorker(drain).IgnoreError();
  for (auto& t : threads_) t.join();
  threads_.clear();
  DeregisterWorkerRequest deregister;
  deregister.set_worker_id(worker_id_);
  engine_->DeregisterWorker(deregister).IgnoreError();
}

void WorkerPool::Loop() {
  PollTaskRequest poll;
  poll.set_worker_id(worker_id_);
  poll.set_timeout_ms(absl::ToInt64Milliseconds(options_.poll_timeout));
  while (!stopping_) {
    absl::StatusOr<PollTaskResponse> polled = engine_->PollTask(poll);
    if (!polled.ok()) {
      absl::SleepFor(absl::Milliseconds(50));
      continue;
    }
    std::optional<Task> task;
    if (polled->has_task()) task = std::move(*polled->mutable_task());
    // A stopping pool asks for nothing more; a task it already holds runs.
    while (task.has_value()) {
      task = Execute(engine_, registry_, worker_id_, *task, !stopping_,
                     &completed_, &failed_);
    }
  }
}

std::optional<Task> WorkerPool::Execute(Engine* engine,
                                        const ActionRegistry* registry,
                                        const std::string& worker_id,
                                        const Task& task, bool want_next,
                                        std::atomic<int64_t>* completed,
                                        std::atomic<int64_t>* failed) {
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
  if (result.ok()) {
    CompleteTaskRequest complete;
    complete.set_token(task.token());
    complete.set_worker_id(worker_id);
    *complete.mutable_output() = *std::move(result);
    complete.set_request_next_task(want_next);
    absl::StatusOr<CompleteTaskResponse> done = engine->CompleteTask(complete);
    if (!done.ok()) return std::nullopt;
    ++*completed;
    if (done->has_next_task()) return std::move(*done->mutable_next_task());
  } else {
    FailTaskRequest fail;
    fail.set_token(task.token());
    fail.set_worker_id(worker_id);
    *fail.mutable_failure() = FailureFromStatus(result.status());
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
