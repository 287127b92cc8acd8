// RunDriver: plays the engine's part for one run in memory, for tests, the
// property test and generating testdata histories. It appends each input
// event (with the driver's manual clock), lets the interpreter decide,
// records the commands with ids and the same time, and checks every event
// against the history store's rules (history/validation.h).
//
//   RunDriver d(def, "default", "order-1", "{\"amount\": 120}");
//   RETURN_IF_ERROR(d.Start());
//   RETURN_IF_ERROR(d.CompleteStep("charge", "{\"ok\": true}"));
//   RETURN_IF_ERROR(d.FireNextTimer());
//   d.history();  // every event so far
//
// Thread safety: not thread-safe.
#ifndef RETRACE_RUNTIME_RUN_DRIVER_H_
#define RETRACE_RUNTIME_RUN_DRIVER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "history/history.pb.h"
#include "history/validation.h"
#include "runtime/definition.h"
#include "runtime/interpreter.h"

namespace retrace::runtime {

class RunDriver {
 public:
  RunDriver(std::shared_ptr<const Definition> definition, std::string ns,
            std::string run_id, std::string input_json,
            absl::Time start = absl::FromUnixSeconds(1767323045),
            const InterpreterOptions& options = {});

  // Appends run_started and the first decisions.
  absl::Status Start();

  // Inputs. Each appends one input event at the current time plus whatever
  // the interpreter decides. Steps, timers, waits and tasks are named by
  // their ids; FailedPrecondition / DRIVER_NOTHING_OPEN when none is open.
  absl::Status StartStep(absl::string_view step_id, absl::string_view worker);
  absl::Status CompleteStep(absl::string_view step_id,
                            absl::string_view output_json);
  absl::Status FailStep(absl::string_view step_id, absl::string_view code,
                        bool non_retryable = false, int64_t retry_after_ms = 0);
  absl::Status TimeOutStep(absl::string_view step_id);
  // Moves the clock to the earliest open timer (never backwards) and fires it.
  absl::Status FireNextTimer();
  absl::Status FireTimer(absl::string_view timer_id);
  absl::Status Signal(absl::string_view name, absl::string_view payload_json,
                      absl::string_view key = "",
                      absl::string_view signal_id = "");
  // Moves the clock to the wait's (or human task's) deadline and times it out.
  absl::Status TimeOutWait(absl::string_view wait_id);
  absl::Status CompleteHumanTask(absl::string_view task_id,
                                 absl::string_view result_json,
                                 absl::string_view by = "reviewer");
  absl::Status Cancel(absl::string_view reason = "test");
  absl::Status Terminate(absl::string_view reason = "test");
  absl::Status RetryRun(absl::string_view from_step_id = "");

  void Advance(absl::Duration d) { now_ += d; }
  absl::Time now() const { return now_; }

  // Open work, from the history: the latest step_scheduled of each step with
  // no outcome yet, started timers not fired, waits and tasks not closed.
  std::vector<const history::HistoryEvent*> OpenSteps() const;
  std::vector<const history::HistoryEvent*> OpenTimers() const;
  std::vector<const history::HistoryEvent*> OpenWaits() const;
  std::vector<const history::HistoryEvent*> OpenTasks() const;

  const history::History& history() const { return history_; }
  const Interpreter& interpreter() const { return *interpreter_; }
  bool finished() const { return interpreter_->finished(); }

 private:
  // Appends `input` (attributes set) and the commands it leads to.
  absl::Status Input(history::HistoryEvent input);
  absl::Status Append(history::HistoryEvent event);
  const history::HistoryEvent* FindOpenStep(absl::string_view step_id) const;
  bool IsClosed(const history::HistoryEvent& opened) const;

  std::shared_ptr<const Definition> definition_;
  std::string input_json_;
  absl::Time now_;
  std::unique_ptr<Interpreter> interpreter_;
  history::History history_;
  history::HistoryValidator validator_;
  int signal_counter_ = 0;
};

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_RUN_DRIVER_H_
