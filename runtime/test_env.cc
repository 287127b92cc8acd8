#include "runtime/test_env.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/memory_store.h"
#include "runtime/definition.h"
#include "runtime/worker_pool.h"

namespace retrace::testing {
namespace {

bool IsTerminal(absl::string_view status) {
  return status == "COMPLETED" || status == "FAILED" || status == "CANCELED" ||
         status == "TERMINATED" || status == "CONTINUED_AS_NEW";
}

}  // namespace

TestEnv::TestEnv(runtime::EngineOptions options) {
  store_ = history::NewInMemoryHistoryStore();
  runtime::RegisterBuiltinActions(&actions_);
  options.clock = &clock_;
  options.timer_thread = false;
  engine_ = std::move(runtime::Engine::Open(store_.get(), options)).value();
}

TestEnv::~TestEnv() { engine_.reset(); }

absl::Status TestEnv::RegisterDefinition(absl::string_view json,
                                         absl::string_view ns) {
  runtime::RegisterDefinitionRequest request;
  request.set_namespace_(std::string(ns));
  request.set_definition_json(std::string(json));
  RETURN_IF_ERROR(engine_->RegisterDefinition(request).status());
  runtime::DefinitionResult parsed = runtime::ParseDefinition(json);
  const bool new_queue = queues_.insert(parsed.definition->task_queue).second;
  for (const std::string& existing : namespaces_) {
    if (new_queue) RETURN_IF_ERROR(EnsureWorker(existing, /*update=*/true));
  }
  return EnsureWorker(ns);
}

absl::StatusOr<std::string> TestEnv::Start(absl::string_view workflow,
                                           absl::string_view input_json,
                                           absl::string_view run_id,
                                           absl::string_view ns) {
  runtime::StartRunRequest request;
  request.set_namespace_(std::string(ns));
  request.set_workflow(std::string(workflow));
  request.set_input_json(std::string(input_json));
  request.set_run_id(std::string(run_id));
  request.set_identity("test");
  RETURN_IF_ERROR(EnsureWorker(ns));
  ASSIGN_OR_RETURN(runtime::StartRunResponse response,
                   engine_->StartRun(request));
  RETURN_IF_ERROR(RunUntilIdle());
  return response.run_id();
}

absl::Status TestEnv::Signal(absl::string_view run_id,
                             absl::string_view event_name,
                             absl::string_view payload_json,
                             absl::string_view ns) {
  runtime::SignalRunRequest request;
  request.set_namespace_(std::string(ns));
  request.set_run_id(std::string(run_id));
  request.set_event_name(std::string(event_name));
  request.set_payload_json(std::string(payload_json));
  RETURN_IF_ERROR(engine_->SignalRun(request).status());
  return RunUntilIdle();
}

absl::Status TestEnv::RunUntilIdle() {
  // One worker per namespace the tests use is enough: it takes every action
  // of every queue it is registered for.
  std::atomic<int64_t> completed{0}, failed{0};
  for (int round = 0; round < 1000000; ++round) {
    ASSIGN_OR_RETURN(int fired, engine_->FireDueTimers());
    bool ran = false;
    for (const std::string& ns : namespaces_) {
      auto worker = workers_.find(ns);
      if (worker == workers_.end()) continue;
      runtime::PollTaskRequest poll;
      poll.set_worker_id(worker->second);
      poll.set_timeout_ms(0);
      ASSIGN_OR_RETURN(runtime::PollTaskResponse polled,
                       engine_->PollTask(poll));
      if (polled.has_task()) {
        runtime::WorkerPool::Execute(engine_.get(), &actions_, worker->second,
                                     polled.task(),
                                     /*want_next=*/false, &completed, &failed);
        ran = true;
      }
    }
    if (!ran && fired == 0) return absl::OkStatus();
  }
  return Error(absl::StatusCode::kResourceExhausted, "TEST_ENV_BUSY",
               "the workflows never went idle (an endless loop of zero-delay "
               "work?)");
}

absl::Status TestEnv::AdvanceTime(absl::Duration d) {
  const absl::Time until = clock_.Now() + d;
  RETURN_IF_ERROR(RunUntilIdle());
  for (;;) {
    std::optional<absl::Time> next = engine_->NextTimerAt();
    if (!next.has_value() || *next > until) break;
    if (*next > clock_.Now()) clock_.Set(*next);
    RETURN_IF_ERROR(RunUntilIdle());
  }
  clock_.Set(until);
  return RunUntilIdle();
}

absl::StatusOr<runtime::DescribeRunResponse> TestEnv::RunToCompletion(
    absl::string_view run_id, absl::Duration limit, absl::string_view ns) {
  const absl::Time give_up = clock_.Now() + limit;
  for (;;) {
    RETURN_IF_ERROR(RunUntilIdle());
    ASSIGN_OR_RETURN(runtime::DescribeRunResponse d, Describe(run_id, ns));
    if (IsTerminal(d.status())) return d;
    std::optional<absl::Time> next = engine_->NextTimerAt();
    if (!next.has_value() || *next > give_up) {
      return Error(absl::StatusCode::kDeadlineExceeded, "RUN_NOT_FINISHED",
                   absl::StrCat("run ", ns, "/", run_id, " is ", d.status(),
                                next.has_value()
                                    ? " and its next timer is past the limit"
                                    : " with no timer to skip to (it "
                                      "waits for a signal or a human task)"));
    }
    if (*next > clock_.Now()) clock_.Set(*next);
  }
}

absl::StatusOr<runtime::DescribeRunResponse> TestEnv::Describe(
    absl::string_view run_id, absl::string_view ns) {
  runtime::DescribeRunRequest request;
  request.set_namespace_(std::string(ns));
  request.set_run_id(std::string(run_id));
  return engine_->DescribeRun(request);
}

absl::Status TestEnv::EnsureWorker(absl::string_view ns, bool update) {
  if (workers_.count(std::string(ns)) && !update) return absl::OkStatus();
  runtime::RegisterWorkerRequest request;
  request.set_identity("test-env");
  request.set_namespace_(std::string(ns));
  request.set_max_concurrency(1 << 20);
  // Every queue: the TestEnv does not know them in advance, so it registers
  // for the default queue and the queues of registered definitions.
  for (const std::string& q : queues_) request.add_task_queues(q);
  ASSIGN_OR_RETURN(runtime::RegisterWorkerResponse r,
                   engine_->RegisterWorker(request));
  if (!workers_.count(std::string(ns))) namespaces_.push_back(std::string(ns));
  workers_[std::string(ns)] = r.worker_id();
  return absl::OkStatus();
}

}  // namespace retrace::testing
