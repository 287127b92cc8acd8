// Test helpers that build HistoryEvents. testonly.
#ifndef RETRACE_HISTORY_TEST_EVENTS_H_
#define RETRACE_HISTORY_TEST_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "history/history.pb.h"

namespace retrace::history::testing {

// A fixed start time for tests: 2026-01-02T03:04:05Z.
absl::Time TestTime(int64_t offset_ms = 0);

// The field numbers of every case of HistoryEvent.attributes.
std::vector<int> AllEventTypes();

// An event with the given id and time whose attributes are of the case with
// field number `type`, every field filled with deterministic values (strings
// "<field>-<id>", numbers, a JSON payload in each Payload).
HistoryEvent MakeEvent(int64_t id, absl::Time time, int type);

HistoryEvent RunStarted(int64_t id = 1, absl::Time time = TestTime(),
                        absl::string_view workflow = "wf");
// A step_completed event whose output is the JSON text `output_json`.
HistoryEvent StepCompleted(int64_t id, absl::Time time,
                           absl::string_view step_id,
                           absl::string_view output_json = "{}");
HistoryEvent RunCompleted(int64_t id, absl::Time time);

// A history of `n` events: run_started, then step_completed events.
std::vector<HistoryEvent> SimpleHistory(int n, absl::Time start = TestTime());

}  // namespace retrace::history::testing

#endif  // RETRACE_HISTORY_TEST_EVENTS_H_
