#include "runtime/timeline.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "history/events.h"
#include "runtime/duration.h"

namespace retrace::runtime {
namespace {

using history::HistoryEvent;

std::string Time(absl::Time t) { return history::FormatTimestamp(t); }

}  // namespace

std::vector<TimelineRow> BuildTimeline(const history::History& history) {
  std::vector<TimelineRow> rows;
  std::map<int64_t, size_t> by_scheduled;  // step_scheduled id -> row
  std::map<std::string, size_t> by_timer;  // timer id -> row
  std::map<std::string, size_t> by_wait;   // wait / task id -> row
  for (const HistoryEvent& e : history.events()) {
    const absl::Time t = history::ToTime(e.event_time());
    auto close = [&](std::optional<size_t> row, absl::string_view outcome) {
      if (!row.has_value() || rows[*row].end.has_value()) return;
      rows[*row].end = t;
      rows[*row].outcome = std::string(outcome);
    };
    auto find = [](const auto& map, const auto& key) -> std::optional<size_t> {
      auto it = map.find(key);
      if (it == map.end()) return std::nullopt;
      return it->second;
    };
    switch (e.attributes_case()) {
      case HistoryEvent::kStepScheduled: {
        const auto& a = e.step_scheduled();
        by_scheduled[e.event_id()] = rows.size();
        rows.push_back({a.step_id(), absl::StrCat("action ", a.action()),
                        a.attempt(), t, std::nullopt, "open"});
        break;
      }
      case HistoryEvent::kStepCompleted:
        close(find(by_scheduled, e.step_completed().scheduled_event_id()),
              "completed");
        break;
      case HistoryEvent::kStepFailed:
        close(find(by_scheduled, e.step_failed().scheduled_event_id()),
              absl::StrCat("failed: ", e.step_failed().failure().code()));
        break;
      case HistoryEvent::kStepTimedOut:
        close(find(by_scheduled, e.step_timed_out().scheduled_event_id()),
              "timed out");
        break;
      case HistoryEvent::kTimerStarted: {
        const auto& a = e.timer_started();
        by_timer[a.timer_id()] = rows.size();
        std::string kind = a.purpose() == history::TIMER_PURPOSE_RETRY_BACKOFF
                               ? "retry backoff"
                               : "sleep";
        rows.push_back({a.step_id(), kind, 0, t, std::nullopt, "open"});
        break;
      }
      case HistoryEvent::kTimerFired:
        close(find(by_timer, e.timer_fired().timer_id()), "fired");
        break;
      case HistoryEvent::kTimerCanceled:
        close(find(by_timer, e.timer_canceled().timer_id()), "canceled");
        break;
      case HistoryEvent::kWaitStarted: {
        const auto& a = e.wait_started();
        by_wait[a.wait_id()] = rows.size();
        rows.push_back({a.step_id().empty() ? a.wait_id() : a.step_id(),
                        absl::StrCat("wait ", a.event_name()), 0, t,
                        std::nullopt, "open"});
        break;
      }
      case HistoryEvent::kSignalReceived:
        // Which wait took it is the interpreter's decision; the timeline
        // shows the signal on the oldest open wait for that event name.
        for (auto& [id, row] : by_wait) {
          if (!rows[row].end.has_value() &&
              rows[row].kind ==
                  absl::StrCat("wait ", e.signal_received().event_name())) {
            rows[row].outcome =
                absl::StrCat("signal ", e.signal_received().signal_id());
          }
        }
        break;
      case HistoryEvent::kWaitTimedOut:
        close(find(by_wait, e.wait_timed_out().wait_id()), "timed out");
        break;
      case HistoryEvent::kHumanTaskCreated: {
        const auto& a = e.human_task_created();
        by_wait[a.task_id()] = rows.size();
        rows.push_back({a.step_id(), "human task", 0, t, std::nullopt, "open"});
        break;
      }
      case HistoryEvent::kHumanTaskCompleted:
        close(find(by_wait, e.human_task_completed().task_id()),
              absl::StrCat("completed by ",
                           e.human_task_completed().completed_by()));
        break;
      default:
        if (history::IsFinal(
                history::StatusAfter(e, history::RUN_STATUS_RUNNING)) ||
            e.has_run_failed()) {
          for (TimelineRow& row : rows) {
            if (!row.end.has_value()) {
              row.end = t;
              if (row.outcome == "open") row.outcome = "abandoned";
            }
          }
        }
        break;
    }
  }
  return rows;
}

std::string FormatTimeline(const std::vector<TimelineRow>& rows) {
  std::string out =
      absl::StrFormat("%-20s %-28s %7s  %-24s %-24s %10s  %s\n", "step", "kind",
                      "attempt", "start", "end", "duration", "outcome");
  for (const TimelineRow& r : rows) {
    absl::StrAppendFormat(
        &out, "%-20s %-28s %7s  %-24s %-24s %10s  %s\n", r.step_id, r.kind,
        r.attempt > 0 ? absl::StrCat(r.attempt) : "-", Time(r.start),
        r.end ? Time(*r.end) : "-",
        r.end ? DurationToString(*r.end - r.start) : "-", r.outcome);
  }
  return out;
}

}  // namespace retrace::runtime
