#include "history/history_store.h"

namespace retrace::history {

absl::string_view KeySpaceName(KeySpace space) {
  switch (space) {
    case KeySpace::kRunState:
      return "run_state";
    case KeySpace::kTasks:
      return "tasks";
    case KeySpace::kTimers:
      return "timers";
    case KeySpace::kWaits:
      return "waits";
    case KeySpace::kDefinitions:
      return "definitions";
    case KeySpace::kDedupe:
      return "dedupe";
    case KeySpace::kOutbox:
      return "outbox";
    case KeySpace::kWorkers:
      return "workers";
    case KeySpace::kAudit:
      return "audit";
  }
  return "unknown";
}

}  // namespace retrace::history
