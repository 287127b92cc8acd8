// An in-process worker: registers with the engine, runs `threads` pollers
// that claim tasks and execute them with the registered action handlers,
// heartbeating while a handler runs.
//
//   WorkerPool pool(engine, &registry, {.identity = "host-1", .threads = 8});
//   RETURN_IF_ERROR(pool.Start());
//   ...
//   pool.Stop();   // drains: in-flight tasks finish, no new ones are taken
//
// Thread safety: Start/Stop from one thread; the pool's threads are its own.
#ifndef RETRACE_RUNTIME_WORKER_POOL_H_
#define RETRACE_RUNTIME_WORKER_POOL_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
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
  // Poller threads, and so tasks run at once. Default: 4
  int threads = 4;
  // Long-poll timeout of each PollTask. Default: 200ms
  absl::Duration poll_timeout = absl::Milliseconds(200);
};

class WorkerPool {
 public:
  WorkerPool(Engine* engine, const ActionRegistry* registry,
             WorkerPoolOptions options);
  ~WorkerPool();  // Stop()

  // Registers the worker (for every action in the registry) and starts the
  // pollers.
  absl::Status Start();
  // Drains and joins the pollers, then deregisters.
  void Stop();

  const std::string& worker_id() const { return worker_id_; }
  int64_t tasks_completed() const { return completed_.load(); }
  int64_t tasks_failed() const { return failed_.load(); }

  // Runs one task claimed by `worker_id` to its outcome. With `want_next`,
  // the completion asks for the worker's next task (eager dispatch: the
  // run's next step comes back without a poll) and returns it, if one was
  // claimed. Exposed for TestEnv, which runs tasks on the calling thread.
  static std::optional<Task> Execute(Engine* engine,
                                     const ActionRegistry* registry,
                                     const std::string& worker_id,
                                     const Task& task, bool want_next,
                                     std::atomic<int64_t>* completed,
                                     std::atomic<int64_t>* failed);

 private:
  void Loop();

  Engine* engine_;
  const ActionRegistry* registry_;
  WorkerPoolOptions options_;
  std::string worker_id_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_WORKER_POOL_H_
