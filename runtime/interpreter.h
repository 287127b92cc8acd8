// The interpreter: a pure, deterministic function from (definition, history)
// to the commands that come next.
//
// Events come in two kinds (docs/dsl.md#execution):
//   inputs    what happened outside: run_started, step_started,
//             step_completed, step_failed, step_timed_out, timer_fired,
//             signal_received, wait_timed_out, human_task_completed,
//             cancel_requested, run_terminated, run_retried;
//   commands  what the interpreter decided: step_scheduled, timer_started,
//             wait_started, human_task_created, marker_recorded,
//             run_completed, run_failed, run_canceled, run_continued_as_new.
// Applying an input advances the run as far as it can go and leaves the
// commands it decided in pending(). The engine stamps them with ids and the
// input's time, applies them back (recording them) and appends input and
// commands in one transaction. Replaying a history applies every event in
// turn: a recorded command that differs from the pending one is a
// NONDETERMINISM error naming the event, what was recorded and what the
// definition asks for now.
//
// The interpreter reads no clock, randomness or environment: expressions see
// the time of the input being decided on ($now(), $millis()).
//
//   ASSIGN_OR_RETURN(auto interp, Interpreter::Create(def, "default", "r1"));
//   for (const HistoryEvent& e : history) RETURN_IF_ERROR(interp->Apply(e));
//   const std::vector<HistoryEvent>& next = interp->pending();
//
// Thread safety: not thread-safe; one Interpreter per run per thread. The
// Definition it holds may be shared.
#ifndef RETRACE_RUNTIME_INTERPRETER_H_
#define RETRACE_RUNTIME_INTERPRETER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "history/history.pb.h"
#include "runtime/definition.h"

namespace retrace::runtime {

struct InterpreterOptions {
  // Largest payload (step input, run output, continue-as-new input) the
  // interpreter produces; a larger one fails the run with PAYLOAD_TOO_LARGE.
  // Default: 2 MiB
  int64_t max_payload_bytes = 2 << 20;
};

// The work a run has open: what the engine must keep task, timer and wait
// index rows for.
struct OpenWork {
  std::vector<int64_t> scheduled_event_ids;  // action attempts in flight
  std::vector<std::string> timer_ids;
  std::vector<std::string> wait_ids;  // "goal" for the goal event's wait
  std::vector<std::string> task_ids;  // human tasks
};

// True for the failure codes the engine records on its own authority
// (WORKFLOW_VERSION_NOT_FOUND, HISTORY_TOO_LONG); a run_failed with one of
// them is an input, not a command.
bool IsEngineFailure(absl::string_view code);

// True for the event types the interpreter decides (commands).
bool IsCommand(const history::HistoryEvent& event);

class Interpreter {
 public:
  // An interpreter for run `run_id` of namespace `ns` that has no events yet;
  // the first Apply must be its run_started.
  static std::unique_ptr<Interpreter> Create(
      std::shared_ptr<const Definition> definition, absl::string_view ns,
      absl::string_view run_id, const InterpreterOptions& options = {});
  ~Interpreter();

  // Applies the next event of the history. Fails with
  //   kFailedPrecondition / NONDETERMINISM: a recorded command differs from
  //     what the definition asks for now (or an input arrived while the
  //     definition still asked for a command first);
  //   kInvalidArgument / INVALID_EVENT_ID: the event's id is not the next;
  //   kFailedPrecondition / RUN_ALREADY_TERMINAL: the run has ended.
  // After a failure the interpreter must not be used further.
  absl::Status Apply(const history::HistoryEvent& event);

  // The commands decided and not yet recorded, in order; event_id and
  // event_time are unset. For run_continued_as_new the engine fills in
  // new_run_id.
  const std::vector<history::HistoryEvent>& pending() const;

  // The run's status after the events applied so far.
  history::RunStatus status() const;
  bool finished() const;
  int64_t next_event_id() const;
  // What is open once the pending commands are recorded.
  OpenWork open_work() const;

  // The time of the last applied event.
  int64_t now_ms() const;

  // The interpreter state as JSON with a stable layout: position in the
  // definition, vars, step results, open work, pending commands. Two
  // interpreters that reached the same point give the same text.
  std::string StateJson() const;

 private:
  class Impl;
  explicit Interpreter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The stable 64-bit FNV-1a hash of `bytes`, used for input_hash.
uint64_t StableHash(absl::string_view bytes);

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_INTERPRETER_H_
