#include "history/history_store.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

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

absl::StatusOr<std::vector<RunInfo>> HistoryStore::AppendBatch(
    const std::vector<AppendRequest>& requests,
    const std::vector<Mutation>& writes) {
  return Error(absl::StatusCode::kUnimplemented, "STORE_NO_BATCH",
               "this store cannot append to several runs in one batch");
}

absl::Status CheckDistinctRuns(const std::vector<AppendRequest>& requests) {
  absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> seen;
  for (const AppendRequest& r : requests) {
    if (!seen.insert({r.ns, r.run_id}).second) {
      return Error(absl::StatusCode::kInvalidArgument, "INVALID_BATCH",
                   absl::StrCat("run ", r.ns, "/", r.run_id,
                                " appears twice in one batch"));
    }
  }
  return absl::OkStatus();
}

}  // namespace retrace::history
