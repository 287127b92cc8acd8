// An in-process worker: registers with the engine and runs tasks with the
// registered action handlers on `threads` handler threads, heartbeating
// while a handler runs.
//
//   WorkerPool pool(engine, &registry, {.identity = "host-1", .threads = 8});
//   RETURN_IF_ERROR(pool.Start());
//   ...
//   pool.Stop();   // drains: in-flight tasks finish, no new ones are taken
//
// Inside, a handler thread never waits for a commit on its own when others
// could share it, and at low load nothing is handed between threads:
//   - one idle thread long-polls the engine (PollTask) while the pool has a
//     free slot, runs what it gets and wakes another to take over polling;
//   - a thread that ran a task queues its outcome and, once no task is
//     queued and fewer than `reporters` ReportTasks calls are in flight,
//     sends every queued outcome in one (one atomic, synced commit for all
//     their runs); outcomes that arrive meanwhile wait for the next call, so
//     under load one commit serves many tasks;
//   - the tasks a report hands back (eager dispatch: a run's next step
//     comes back with its previous step's commit, without a poll) are
//     queued and run before the next report (a report blocks until its
//     commit is durable: reporting first would leave them waiting that
//     long); the reporting thread runs them itself and wakes one more
//     thread only if work remains that it cannot take now (more queued
//     tasks, or outcomes a report could send; each woken thread wakes the
//     next in turn), so a burst of short tasks wakes one or two threads,
//     not one per task.
// At most `threads` tasks are held at once (the worker's max_concurrency:
// the engine grants no more leases), so every held task has a thread.
//
// Thread safety: Start/Stop from one thread; the pool's threads are its own.
#ifndef RETRACE_RUNTIME_WORKER_POOL_H_
#define RETRACE_RUNTIME_WORKER_POOL_H_

#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/actions.h"
#include "runtime/engine.h"

namespace retrace::runtime {

struct WorkerPoolOptions {
  // Default: "worker"
  std::string identity = "worker";
  // Default: "default"
  std::string ns = "default";
  // Default: {"default"}
  std::vector<std::string> task_queues = {"default"};
  // Threads, and so tasks held and run at once. Default: 4
  int threads = 4;
  // Long-poll timeout of each PollTask. Default: 200ms
  absl::Duration poll_timeout = absl::Milliseconds(200);
  // Most outcomes sent in one ReportTasks. Default: 256
  int max_report_batch = 256;
  // Most ReportTasks calls in flight at once. Default: 2
  int reporters = 2;
};

class WorkerPool {
 public:
  WorkerPool(Engine* engine, const ActionRegistry* registry,
             WorkerPoolOptions options);
  ~WorkerPool();  // Stop()

  // Registers the worker (for every action in the registry) and starts its
  // threads.
  absl::Status Start();
  // Drains (every task the pool holds runs and is reported; no new ones are
  // taken), joins the threads, then deregisters.
  void Stop();

  const std::string& worker_id() const { return worker_id_; }
  // Outcomes the engine recorded as a completion / as a failure.
  int64_t tasks_completed() const { return completed_.load(); }
  int64_t tasks_failed() const { return failed_.load(); }

  // Runs `task`'s handler (claimed by `worker_id`) and returns its outcome.
  static TaskOutcome Run(Engine* engine, const ActionRegistry* registry,
                         const std::string& worker_id, const Task& task);

  // Runs one task claimed by `worker_id` to its outcome and reports it with
  // CompleteTask or FailTask. With `want_next`, the report asks for the
  // worker's next task (eager dispatch) and returns it, if one was claimed.
  // For TestEnv, which runs tasks on the calling thread.
  static std::optional<Task> Execute(Engine* engine,
                                     const ActionRegistry* registry,
                                     const std::string& worker_id,
                                     const Task& task, bool want_next,
                                     std::atomic<int64_t>* completed,
                                     std::atomic<int64_t>* failed);

 private:
  void Loop();
  // Runs `task` (mu_ released meanwhile) and queues its outcome.
  void Execute(Task task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends queued outcomes in one ReportTasks (mu_ released meanwhile) and
  // queues the tasks it hands back.
  // Outcomes wait and fewer than `reporters` reports are in flight.
  bool CanReportLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes one sleeping thread unless one is already on its way.
  void WakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Engine* engine_;
  const ActionRegistry* registry_;
  WorkerPoolOptions options_;
  std::string worker_id_;
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_{0};

  absl::Mutex mu_;
  absl::CondVar cv_;  // a task or outcome was queued, a slot came free
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<TaskOutcome> outcomes_ ABSL_GUARDED_BY(mu_);
  int held_ ABSL_GUARDED_BY(mu_) = 0;  // tasks queued, running or unreported
  int sleeping_ ABSL_GUARDED_BY(mu_) = 0;   // threads waiting on cv_
  int waking_ ABSL_GUARDED_BY(mu_) = 0;     // woken, not yet running
  int reporting_ ABSL_GUARDED_BY(mu_) = 0;  // ReportTasks calls in flight
  bool polling_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::vector<std::thread> threads_;
};

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_WORKER_POOL_H_
