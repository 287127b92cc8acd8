// RunTracker: learns when runs end, for `retrace demo` and `retrace bench`.
//
// It wraps an Engine (TrackingEngine) that forwards every call unchanged and
// watches workers' task outcomes: a ReportTasks result whose run_status says
// the outcome ended its run marks that run finished at that moment; after a
// CompleteTask or FailTask (which say no such thing), or an outcome that was
// not recorded, it describes the run once. (Not when the response handed the
// worker that run's next task: such a run is still open.) A sweep thread
// describes every still-open run each `sweep_interval`, for runs that end
// without a task (a wait timing out, a cancel). A run's latency is from Track()
// (called just before StartRun) to the DescribeRun that first showed it
// terminal, so it includes the commit of its last transition and nothing is
// guessed.
//
//   RunTracker tracker(engine.get(), absl::Milliseconds(50));
//   WorkerPool pool(tracker.engine(), &registry, {});
//   tracker.Track("run-1");
//   engine->StartRun(...run_id = "run-1"...);
//   tracker.WaitFor("run-1", absl::InfiniteFuture());
//
// Thread safety: every method is safe to call concurrently.
#ifndef RETRACE_TOOLS_CLI_RUN_TRACKER_H_
#define RETRACE_TOOLS_CLI_RUN_TRACKER_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "runtime/engine.h"

namespace retrace::cli {

// True for COMPLETED, FAILED, CANCELED, TERMINATED and CONTINUED_AS_NEW.
bool IsTerminalStatus(absl::string_view status);

class RunTracker {
 public:
  struct Finished {
    std::string run_id;
    std::string status;
    absl::Duration latency;  // Track() to terminal status observed
  };

  // `engine` must outlive the tracker. `ns` is the namespace of tracked runs.
  RunTracker(runtime::Engine* engine, std::string ns,
             absl::Duration sweep_interval);
  ~RunTracker();

  // The engine to hand to workers: `engine` with completion hooks.
  runtime::Engine* engine();

  // Starts the clock of `run_id`. Call before StartRun.
  void Track(const std::string& run_id);
  // Forgets `run_id` (e.g. its StartRun failed).
  void Untrack(const std::string& run_id);
  // Describes `run_id` now; marks it finished if terminal.
  void Check(const std::string& run_id);
  // Marks `run_id` finished with terminal `status` now (once).
  void Finish(const std::string& run_id, const std::string& status);

  // Blocks until `run_id` is finished (returns its status) or `deadline`
  // passes (returns "").
  std::string WaitFor(const std::string& run_id, absl::Time deadline);
  // Blocks until no tracked run is open or `deadline` passes. Returns how
  // many are still open.
  int WaitAll(absl::Time deadline);
  // Blocks until fewer than `limit` tracked runs are open or `deadline`
  // passes. Returns how many are open.
  int WaitOpenBelow(int limit, absl::Time deadline);

  int open() const;
  // Every finished run so far, in finishing order.
  std::vector<Finished> finished() const;
  // Run ids still open.
  std::vector<std::string> open_runs() const;

 private:
  class TrackingEngine;

  void Sweep();

  runtime::Engine* const engine_;
  const std::string ns_;
  const absl::Duration sweep_interval_;
  std::unique_ptr<TrackingEngine> tracking_;

  struct Entry {
    absl::Time start;
    absl::Notification done;
    std::string status;  // set before `done` is notified
  };

  mutable absl::Mutex mu_;
  // Every tracked run, open or finished.
  absl::flat_hash_map<std::string, std::shared_ptr<Entry>> runs_
      ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Finished> finished_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> token_runs_
      ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sweeper_;
};

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_RUN_TRACKER_H_
