// Regression test: a transition that ended in continue-as-new started the new
// run while still holding the old run's lock. Run locks are 1,024 striped
// mutexes, so about one continuation in a thousand found its own stripe
// taken and the worker thread deadlocked on itself (found by
// `retrace stress`: a worker hung in CreateRun under FinishAttempt; every run
// of that stripe stalled with it). Long continue-as-new chains cross the
// collision with near certainty; they must all finish. (In tests, Abseil's
// lock-order checker also aborts on the nested stripe acquisitions.)
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/state_check.h"
#include "runtime/test_env.h"

namespace retrace::runtime {
namespace {

using ::retrace::testing::IsOk;
using ::retrace::testing::TestEnv;

// One action per round, so each continuation is started by a worker's
// completion (Transition).
constexpr char kTickLoop[] = R"({"name": "tick-loop", "version": "1", "steps": [
  {"id": "tick", "type": "action", "action": "core.noop"},
  {"id": "more", "type": "control.if", "condition": "input.round < input.rounds",
   "then": [{"id": "next", "type": "control.continueAsNew",
             "input": "{ 'round': input.round + 1, 'rounds': input.rounds }"}],
   "else": [{"id": "done", "type": "control.return", "output": "input.round"}]}]})";

// No action: each run continues as soon as it starts (CreateRun).
constexpr char kInstantLoop[] = R"({"name": "instant-loop", "version": "1",
  "steps": [
  {"id": "more", "type": "control.if", "condition": "input.round < input.rounds",
   "then": [{"id": "next", "type": "control.continueAsNew",
             "input": "{ 'round': input.round + 1, 'rounds': input.rounds }"}],
   "else": [{"id": "done", "type": "control.return", "output": "input.round"}]}]})";

// Runs `body` on a thread of its own and fails (instead of hanging the test)
// if it does not finish in time; a deadlocked thread is left behind.
void FinishesWithin(absl::Duration limit, std::function<void()> body) {
  auto done = std::make_shared<absl::Notification>();
  std::thread([done, body = std::move(body)] {
    body();
    done->Notify();
  }).detach();
  if (!done->WaitForNotificationWithTimeout(limit)) {
    ADD_FAILURE() << "did not finish in " << absl::FormatDuration(limit)
                  << ": deadlocked?";
    std::_Exit(1);  // the stuck thread holds the engine
  }
}

TEST(EngineContinueAsNewTest,
     AContinuationSharingItsRunsLockStripeDoesNotDeadlock) {
  FinishesWithin(absl::Seconds(120), [] {
    TestEnv env;
    ASSERT_THAT(env.RegisterDefinition(kTickLoop), IsOk());
    ASSERT_THAT(env.RegisterDefinition(kInstantLoop), IsOk());
    // 4,000 continuations started by a completion...
    auto run = env.Start("tick-loop", R"({"round": 1, "rounds": 4000})");
    ASSERT_THAT(run, IsOk());
    // ...and 4,000 started inside the start of the run they continue.
    for (int i = 0; i < 1000; ++i) {
      ASSERT_THAT(env.Start("instant-loop", R"({"round": 1, "rounds": 5})"),
                  IsOk());
    }
    // The last run of the tick chain completed with round 4000.
    int finished = 0;
    std::string cursor;
    for (;;) {
      auto page = env.store().ListRuns("default", cursor, 1000);
      ASSERT_THAT(page, IsOk());
      for (const history::RunInfo& info : page->runs) {
        if (info.workflow() == "tick-loop" &&
            info.status() == history::RUN_STATUS_COMPLETED) {
          ++finished;
        }
      }
      cursor = page->next_cursor;
      if (cursor.empty()) break;
    }
    EXPECT_EQ(finished, 1);
    // Every continuation's start removed the start request left for it.
    auto pending = PendingContinuations(&env.store());
    ASSERT_THAT(pending, IsOk());
    EXPECT_THAT(*pending, ::testing::IsEmpty());
  });
}

}  // namespace
}  // namespace retrace::runtime
