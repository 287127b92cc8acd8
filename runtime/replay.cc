#include "runtime/replay.h"

#include "common/status_macros.h"

namespace retrace::runtime {

absl::StatusOr<std::unique_ptr<Interpreter>> Replay(
    std::shared_ptr<const Definition> definition,
    const history::History& history, int64_t up_to,
    const InterpreterOptions& options) {
  auto interpreter = Interpreter::Create(
      std::move(definition), history.namespace_(), history.run_id(), options);
  for (const history::HistoryEvent& event : history.events()) {
    if (up_to > 0 && event.event_id() > up_to) break;
    RETURN_IF_ERROR(interpreter->Apply(event));
  }
  return interpreter;
}

}  // namespace retrace::runtime
