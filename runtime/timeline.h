// A run's history as a timeline of work items, for `retrace replay
// --timeline` and operators: one row per action attempt, sleep, wait and
// human task, with start, end, duration and outcome.
//
// Thread safety: pure function.
#ifndef RETRACE_RUNTIME_TIMELINE_H_
#define RETRACE_RUNTIME_TIMELINE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "history/history.pb.h"

namespace retrace::runtime {

struct TimelineRow {
  std::string step_id;
  std::string kind;  // "action <name>", "sleep", "wait <event>", "human task",
                     // "retry backoff"
  int attempt = 0;
  absl::Time start;
  std::optional<absl::Time> end;  // unset while open
  // "completed", "failed: CODE", "timed out", "fired", "signal <id>",
  // "canceled", "open".
  std::string outcome;
};

std::vector<TimelineRow> BuildTimeline(const history::History& history);

// The rows as an aligned text table.
std::string FormatTimeline(const std::vector<TimelineRow>& rows);

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_TIMELINE_H_
