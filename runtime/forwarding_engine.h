// ForwardingEngine: an Engine that passes every call to another one.
// Subclasses override the calls they want to observe (the CLI's RunTracker
// and `retrace worker --idle-exit` watch task claims and outcomes) and call
// the base method to forward.
//
// Thread safety: as the wrapped engine.
#ifndef RETRACE_TOOLS_CLI_FORWARDING_ENGINE_H_
#define RETRACE_TOOLS_CLI_FORWARDING_ENGINE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "runtime/engine.h"

namespace retrace::cli {

class ForwardingEngine : public runtime::Engine {
 public:
  // `inner` must outlive this.
  explicit ForwardingEngine(runtime::Engine* inner) : inner_(inner) {}

  absl::StatusOr<runtime::RegisterDefinitionResponse> RegisterDefinition(
      const runtime::RegisterDefinitionRequest& r) override {
    return inner_->RegisterDefinition(r);
  }
  absl::StatusOr<runtime::SetDefinitionActiveResponse> SetDefinitionActive(
      const runtime::SetDefinitionActiveRequest& r) override {
    return inner_->SetDefinitionActive(r);
  }
  absl::StatusOr<runtime::RemoveDefinitionResponse> RemoveDefinition(
      const runtime::RemoveDefinitionRequest& r) override {
    return inner_->RemoveDefinition(r);
  }
  absl::StatusOr<runtime::ListDefinitionsResponse> ListDefinitions(
      const runtime::ListDefinitionsRequest& r) override {
    return inner_->ListDefinitions(r);
  }
  absl::StatusOr<runtime::StartRunResponse> StartRun(
      const runtime::StartRunRequest& r) override {
    return inner_->StartRun(r);
  }
  absl::StatusOr<runtime::SignalRunResponse> SignalRun(
      const runtime::SignalRunRequest& r) override {
    return inner_->SignalRun(r);
  }
  absl::StatusOr<std::vector<absl::StatusOr<runtime::StartRunResponse>>>
  StartRuns(const std::vector<runtime::StartRunRequest>& r) override {
    return inner_->StartRuns(r);
  }
  absl::StatusOr<std::vector<absl::StatusOr<runtime::SignalRunResponse>>>
  SignalRuns(const std::vector<runtime::SignalRunRequest>& r,
             const SignalRows& rows) override {
    return inner_->SignalRuns(r, rows);
  }
  absl::StatusOr<runtime::CancelRunResponse> CancelRun(
      const runtime::CancelRunRequest& r) override {
    return inner_->CancelRun(r);
  }
  absl::StatusOr<runtime::TerminateRunResponse> TerminateRun(
      const runtime::TerminateRunRequest& r) override {
    return inner_->TerminateRun(r);
  }
  absl::StatusOr<runtime::RetryRunResponse> RetryRun(
      const runtime::RetryRunRequest& r) override {
    return inner_->RetryRun(r);
  }
  absl::StatusOr<runtime::CompleteHumanTaskResponse> CompleteHumanTask(
      const runtime::CompleteHumanTaskRequest& r) override {
    return inner_->CompleteHumanTask(r);
  }
  absl::StatusOr<runtime::DescribeRunResponse> DescribeRun(
      const runtime::DescribeRunRequest& r) override {
    return inner_->DescribeRun(r);
  }
  absl::StatusOr<runtime::GetHistoryResponse> GetHistory(
      const runtime::GetHistoryRequest& r) override {
    return inner_->GetHistory(r);
  }
  absl::StatusOr<runtime::RegisterWorkerResponse> RegisterWorker(
      const runtime::RegisterWorkerRequest& r) override {
    return inner_->RegisterWorker(r);
  }
  absl::StatusOr<runtime::HeartbeatResponse> Heartbeat(
      const runtime::HeartbeatRequest& r) override {
    return inner_->Heartbeat(r);
  }
  absl::StatusOr<runtime::PollTaskResponse> PollTask(
      const runtime::PollTaskRequest& r) override {
    return inner_->PollTask(r);
  }
  absl::StatusOr<runtime::CompleteTaskResponse> CompleteTask(
      const runtime::CompleteTaskRequest& r) override {
    return inner_->CompleteTask(r);
  }
  absl::StatusOr<runtime::FailTaskResponse> FailTask(
      const runtime::FailTaskRequest& r) override {
    return inner_->FailTask(r);
  }
  absl::StatusOr<runtime::ReportTasksResponse> ReportTasks(
      const runtime::ReportTasksRequest& r) override {
    return inner_->ReportTasks(r);
  }
  absl::StatusOr<runtime::DeregisterWorkerResponse> DeregisterWorker(
      const runtime::DeregisterWorkerRequest& r) override {
    return inner_->DeregisterWorker(r);
  }
  absl::StatusOr<runtime::DrainWorkerResponse> DrainWorker(
      const runtime::DrainWorkerRequest& r) override {
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
  runtime::Engine* inner() const { return inner_; }

 private:
  runtime::Engine* const inner_;
};

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_FORWARDING_ENGINE_H_
