// Actions: the C++ handlers that action steps call, and the built-in ones.
//
//   ActionRegistry registry;
//   RegisterBuiltinActions(&registry);   // core.echo, core.fail, core.log,
//   core.noop registry.Register("payments.charge",
//       [](const ActionContext& ctx, const history::Payload& input)
//           -> absl::StatusOr<history::Payload> { ... });
//
// A handler fails by returning a non-OK status. ActionFailure() builds one
// that carries a code, retryability and an exact retry delay; any other
// status fails retryably with its stable code (retrace::ErrorCode) or its
// absl code name.
//
// Thread safety: register everything before workers start; lookups are then
// safe from any thread. Handlers run on worker threads concurrently.
#ifndef RETRACE_RUNTIME_ACTIONS_H_
#define RETRACE_RUNTIME_ACTIONS_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "history/history.pb.h"

namespace retrace::runtime {

struct ActionContext {
  std::string ns;
  std::string run_id;
  std::string workflow;
  std::string step_id;
  int attempt = 0;
  // Stable across attempts of one step: "<ns>/<run>/<step path>".
  std::string idempotency_key;
  // Extends the lease; returns false when the run was canceled or the lease
  // lost, in which case the handler should stop.
  std::function<bool()> heartbeat;
  // True once the engine told the worker to stop this task.
  std::function<bool()> canceled;
};

using ActionHandler = std::function<absl::StatusOr<history::Payload>(
    const ActionContext& context, const history::Payload& input)>;

// A failure with a code, retryability and an optional exact retry delay.
absl::Status ActionFailure(absl::string_view code, absl::string_view message,
                           bool retryable = true,
                           absl::Duration retry_after = absl::ZeroDuration());

// The history Failure a handler's status becomes.
history::Failure FailureFromStatus(const absl::Status& status);

class ActionRegistry {
 public:
  // Replaces any handler of the same name.
  void Register(std::string name, ActionHandler handler);
  // nullptr when unknown.
  const ActionHandler* Find(absl::string_view name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, ActionHandler, std::less<>> handlers_;
};

// core.echo  returns its input.
// core.noop  returns null.
// core.log   writes its input to stderr (one line) and returns null.
// core.fail  fails with input {code, message, retryable (default true),
//            retry_after_ms}.
void RegisterBuiltinActions(ActionRegistry* registry);

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_ACTIONS_H_
