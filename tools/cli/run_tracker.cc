#include "tools/cli/run_tracker.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "runtime/forwarding_engine.h"

namespace retrace::cli {

using runtime::ForwardingEngine;

bool IsTerminalStatus(absl::string_view status) {
  return status == "COMPLETED" || status == "FAILED" || status == "CANCELED" ||
         status == "TERMINATED" || status == "CONTINUED_AS_NEW";
}

// Remembers which run each polled task belongs to and checks that run after
// the worker reports the task's outcome.
class RunTracker::TrackingEngine final : public ForwardingEngine {
 public:
  TrackingEngine(runtime::Engine* inner, RunTracker* tracker)
      : ForwardingEngine(inner), tracker_(tracker) {}

  absl::StatusOr<runtime::PollTaskResponse> PollTask(
      const runtime::PollTaskRequest& r) override {
    absl::StatusOr<runtime::PollTaskResponse> response =
        ForwardingEngine::PollTask(r);
    if (response.ok() && response->has_task()) Claimed(response->task());
    return response;
  }
  absl::StatusOr<runtime::CompleteTaskResponse> CompleteTask(
      const runtime::CompleteTaskRequest& r) override {
    auto response = ForwardingEngine::CompleteTask(r);
    if (response.ok() && response->has_next_task())
      Claimed(response->next_task());
    AfterOutcome(r.token(), response.ok() && response->has_next_task()
                                ? response->next_task().run_id()
                                : "");
    return response;
  }
  absl::StatusOr<runtime::FailTaskResponse> FailTask(
      const runtime::FailTaskRequest& r) override {
    auto response = ForwardingEngine::FailTask(r);
    if (response.ok() && response->has_next_task())
      Claimed(response->next_task());
    AfterOutcome(r.token(), response.ok() && response->has_next_task()
                                ? response->next_task().run_id()
                                : "");
    return response;
  }

  absl::StatusOr<runtime::ReportTasksResponse> ReportTasks(
      const runtime::ReportTasksRequest& r) override {
    auto response = ForwardingEngine::ReportTasks(r);
    absl::flat_hash_set<std::string> still_open;
    if (response.ok()) {
      for (const runtime::Task& t : response->next_tasks()) {
        Claimed(t);
        still_open.insert(t.run_id());
      }
    }
    for (int i = 0; i < r.outcomes_size(); ++i) {
      std::string run_id = Forget(r.outcomes(i).token());
      if (run_id.empty() || still_open.contains(run_id)) continue;
      if (!response.ok() || i >= response->results_size()) {
        tracker_->Check(run_id);
        continue;
      }
      const runtime::TaskOutcomeResult& result = response->results(i);
      if (!result.run_status().empty()) {
        tracker_->Finish(run_id, result.run_status());
      } else if (!result.code().empty()) {
        // Not recorded (e.g. the run was canceled meanwhile): ask.
        tracker_->Check(run_id);
      }
      // Recorded and the run goes on: it is open, nothing to ask.
    }
    return response;
  }

 private:
  // The run of a task the tracker saw handed out, forgotten ("" if unknown).
  std::string Forget(const std::string& token) {
    absl::MutexLock lock(&tracker_->mu_);
    auto it = tracker_->token_runs_.find(token);
    if (it == tracker_->token_runs_.end()) return "";
    std::string run_id = std::move(it->second);
    tracker_->token_runs_.erase(it);
    return run_id;
  }

  // A task handed out eagerly with a completion.
  void Claimed(const runtime::Task& task) {
    absl::MutexLock lock(&tracker_->mu_);
    tracker_->token_runs_[task.token()] = task.run_id();
  }

  // `next_run` is the run of the task handed out with the outcome's
  // response, if any: a run that was just given its next task is still open,
  // so describing it would only cost a read.
  void AfterOutcome(const std::string& token, const std::string& next_run) {
    const std::string run_id = Forget(token);
    if (run_id.empty() || run_id == next_run) return;
    tracker_->Check(run_id);
  }

  RunTracker* const tracker_;
};

RunTracker::RunTracker(runtime::Engine* engine, std::string ns,
                       absl::Duration sweep_interval)
    : engine_(engine),
      ns_(std::move(ns)),
      sweep_interval_(sweep_interval),
      tracking_(std::make_unique<TrackingEngine>(engine, this)) {
  sweeper_ = std::thread([this] { Sweep(); });
}

RunTracker::~RunTracker() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  sweeper_.join();
}

runtime::Engine* RunTracker::engine() { return tracking_.get(); }

void RunTracker::Track(const std::string& run_id) {
  auto entry = std::make_shared<Entry>();
  entry->start = absl::Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = runs_.emplace(run_id, entry);
  if (inserted) ++open_;
}

void RunTracker::Untrack(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  if (!it->second->done.HasBeenNotified()) --open_;
  runs_.erase(it);
}

void RunTracker::Check(const std::string& run_id) {
  std::shared_ptr<Entry> entry;
  {
    absl::MutexLock lock(&mu_);
    auto it = runs_.find(run_id);
    if (it == runs_.end() || it->second->done.HasBeenNotified()) return;
    entry = it->second;
  }
  runtime::DescribeRunRequest request;
  request.set_namespace_(ns_);
  request.set_run_id(run_id);
  absl::StatusOr<runtime::DescribeRunResponse> run =
      engine_->DescribeRun(request);
  if (!run.ok() || !IsTerminalStatus(run->status())) return;
  Finish(run_id, run->status());
}

void RunTracker::Finish(const std::string& run_id, const std::string& status) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(run_id);
  // Another thread may have seen it first.
  if (it == runs_.end() || it->second->done.HasBeenNotified()) return;
  Entry& entry = *it->second;
  entry.status = status;
  finished_.push_back({run_id, status, now - entry.start});
  --open_;
  entry.done.Notify();
}

std::string RunTracker::WaitFor(const std::string& run_id,
                                absl::Time deadline) {
  std::shared_ptr<Entry> entry;
  {
    absl::MutexLock lock(&mu_);
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return "";
    entry = it->second;
  }
  if (!entry->done.WaitForNotificationWithDeadline(deadline)) return "";
  absl::MutexLock lock(&mu_);
  return entry->status;
}

int RunTracker::WaitAll(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto none_open = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return open_ == 0;
  };
  mu_.AwaitWithDeadline(absl::Condition(&none_open), deadline);
  return open_;
}

int RunTracker::WaitOpenBelow(int limit, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto below = [this, limit]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_ < limit; };
  mu_.AwaitWithDeadline(absl::Condition(&below), deadline);
  return open_;
}

int RunTracker::open() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

std::vector<RunTracker::Finished> RunTracker::finished() const {
  absl::MutexLock lock(&mu_);
  return finished_;
}

std::vector<std::string> RunTracker::open_runs() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const auto& [id, entry] : runs_) {
    if (!entry->done.HasBeenNotified()) ids.push_back(id);
  }
  return ids;
}

void RunTracker::Sweep() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_;
      };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), sweep_interval_)) {
        return;
      }
    }
    for (const std::string& run_id : open_runs()) Check(run_id);
  }
}

}  // namespace retrace::cli
