// ForwardingEngine: an Engine that passes every call to another one.
// Subclasses override the calls they want to observe (the CLI's RunTracker
// and `retrace worker --idle-exit` watch task claims and outcomes) and call
// the base method to forward.
//
// Thread safety: as the wrapped engine.
#ifndef RETRACE_RUNTIME_FORWARDING_ENGINE_H_
#define RETRACE_RUNTIME_FORWARDING_ENGINE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "runtime/engine.h"

namespace retrace::runtime {

class ForwardingEngine : public Engine {
 public:
  // `inner` must outlive this.
  explicit ForwardingEngine(Engine* inner) : inner_(inner) {}

  absl::StatusOr<RegisterDefinitionResponse> RegisterDefinition(
      const RegisterDefinitionRequest& r) override {
    return inner_->RegisterDefinition(r);
  }
  absl::StatusOr<SetDefinitionActiveResponse> SetDefinitionActive(
      const SetDefinitionActiveRequest& r) override {
    return inner_->SetDefinitionActive(r);
  }
  absl::StatusOr<RemoveDefinitionResponse> RemoveDefinition(
      const RemoveDefinitionRequest& r) override {
    return inner_->RemoveDefinition(r);
  }
  absl::StatusOr<ListDefinitionsResponse> ListDefinitions(
      const ListDefinitionsRequest& r) override {
    return inner_->ListDefinitions(r);
  }
  absl::StatusOr<StartRunResponse> StartRun(const StartRunRequest& r) override {
    return inner_->StartRun(r);
  }
  absl::StatusOr<SignalRunResponse> SignalRun(
      const SignalRunRequest& r) override {
    return inner_->SignalRun(r);
  }
  absl::StatusOr<std::vector<absl::StatusOr<StartRunResponse>>> StartRuns(
      const std::vector<StartRunRequest>& r) override {
    return inner_->StartRuns(r);
  }
  absl::StatusOr<std::vector<absl::StatusOr<SignalRunResponse>>> SignalRuns(
      const std::vector<SignalRunRequest>& r, const SignalRows& rows) override {
    return inner_->SignalRuns(r, rows);
  }
  absl::StatusOr<CancelRunResponse> CancelRun(
      const CancelRunRequest& r) override {
    return inner_->CancelRun(r);
  }
  absl::StatusOr<TerminateRunResponse> TerminateRun(
      const TerminateRunRequest& r) override {
    return inner_->TerminateRun(r);
  }
  absl::StatusOr<RetryRunResponse> RetryRun(const RetryRunRequest& r) override {
    return inner_->RetryRun(r);
  }
  absl::StatusOr<CompleteHumanTaskResponse> CompleteHumanTask(
      const CompleteHumanTaskRequest& r) override {
    return inner_->CompleteHumanTask(r);
  }
  absl::StatusOr<DescribeRunResponse> DescribeRun(
      const DescribeRunRequest& r) override {
    return inner_->DescribeRun(r);
  }
  absl::StatusOr<GetHistoryResponse> GetHistory(
      const GetHistoryRequest& r) override {
    return inner_->GetHistory(r);
  }
  absl::StatusOr<RegisterWorkerResponse> RegisterWorker(
      const RegisterWorkerRequest& r) override {
    return inner_->RegisterWorker(r);
  }
  absl::StatusOr<HeartbeatResponse> Heartbeat(
      const HeartbeatRequest& r) override {
    return inner_->Heartbeat(r);
  }
  absl::StatusOr<PollTaskResponse> PollTask(const PollTaskRequest& r) override {
    return inner_->PollTask(r);
  }
  absl::StatusOr<CompleteTaskResponse> CompleteTask(
      const CompleteTaskRequest& r) override {
    return inner_->CompleteTask(r);
  }
  absl::StatusOr<FailTaskResponse> FailTask(const FailTaskRequest& r) override {
    return inner_->FailTask(r);
  }
  absl::StatusOr<ReportTasksResponse> ReportTasks(
      const ReportTasksRequest& r) override {
    return inner_->ReportTasks(r);
  }
  absl::StatusOr<DeregisterWorkerResponse> DeregisterWorker(
      const DeregisterWorkerRequest& r) override {
    return inner_->DeregisterWorker(r);
  }
  absl::StatusOr<DrainWorkerResponse> DrainWorker(
      const DrainWorkerRequest& r) override {
    return inner_->DrainWorker(r);
  }
  std::vector<std::string> TriggeredBy(absl::string_view ns,
                                       absl::string_view event_name) override {
    return inner_->TriggeredBy(ns, event_name);
  }
  absl::StatusOr<int> FireDueTimers() override {
    return inner_->FireDueTimers();
  }
  std::optional<absl::Time> NextTimerAt() override {
    return inner_->NextTimerAt();
  }

 protected:
  Engine* inner() const { return inner_; }

 private:
  Engine* const inner_;
};

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_FORWARDING_ENGINE_H_
