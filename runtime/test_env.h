// TestEnv: the engine on the in-memory store with a manual clock, for unit
// tests of workflows. Time only moves when the test says so, and then jumps
// straight to the next timer, so a workflow with a 2-hour wait and retry
// backoffs runs to completion in milliseconds (docs/testing.md).
//
//   retrace::testing::TestEnv env;
//   env.actions().Register("payments.charge", MyFakeCharge);
//   ASSERT_OK(env.RegisterDefinition(kOrderJson));
//   ASSERT_OK_AND_ASSIGN(std::string run, env.Start("orders", R"({"id": 1})"));
//   ASSERT_OK(env.Signal(run, "payment.settled", R"({"amount": 10})"));
//   ASSERT_OK_AND_ASSIGN(auto done, env.RunToCompletion(run));
//   EXPECT_EQ(done.status(), "COMPLETED");
//
// Tasks run on the calling thread with the handlers in actions() (the
// built-in core.* actions are registered), so tests are deterministic.
//
// Thread safety: not thread-safe; one TestEnv per test.
#ifndef RETRACE_RUNTIME_TEST_ENV_H_
#define RETRACE_RUNTIME_TEST_ENV_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "history/history_store.h"
#include "runtime/actions.h"
#include "runtime/clock.h"
#include "runtime/engine.h"

namespace retrace::testing {

class TestEnv {
 public:
  // `options.clock` and `options.timer_thread` are set by the TestEnv.
  explicit TestEnv(runtime::EngineOptions options = {});
  ~TestEnv();

  runtime::Engine& engine() { return *engine_; }
  runtime::ActionRegistry& actions() { return actions_; }
  runtime::ManualClock& clock() { return clock_; }
  history::HistoryStore& store() { return *store_; }

  absl::Status RegisterDefinition(absl::string_view json,
                                  absl::string_view ns = "default");
  // Starts a run and runs it until it waits for time or the outside world.
  // Returns the run id.
  absl::StatusOr<std::string> Start(absl::string_view workflow,
                                    absl::string_view input_json,
                                    absl::string_view run_id = "",
                                    absl::string_view ns = "default");
  // Signals a run by id, then runs until idle.
  absl::Status Signal(absl::string_view run_id, absl::string_view event_name,
                      absl::string_view payload_json,
                      absl::string_view ns = "default");

  // Runs every ready task (on this thread) and fires every due timer, until
  // nothing is left to do at the current time.
  absl::Status RunUntilIdle();
  // Moves the clock forward by `d`, stopping at each timer on the way to
  // fire it and run what follows.
  absl::Status AdvanceTime(absl::Duration d);
  // Skips time from timer to timer until the run ends (or `limit` of
  // simulated time passes: DEADLINE_EXCEEDED naming what the run waits for).
  absl::StatusOr<runtime::DescribeRunResponse> RunToCompletion(
      absl::string_view run_id, absl::Duration limit = absl::Hours(24 * 366),
      absl::string_view ns = "default");

  absl::StatusOr<runtime::DescribeRunResponse> Describe(
      absl::string_view run_id, absl::string_view ns = "default");

 private:
  // Registers (or updates) the TestEnv's worker of `ns` for every task queue
  // of the registered definitions.
  absl::Status EnsureWorker(absl::string_view ns, bool update = false);

  runtime::ManualClock clock_;
  std::unique_ptr<history::HistoryStore> store_;
  runtime::ActionRegistry actions_;
  std::unique_ptr<runtime::Engine> engine_;
  std::set<std::string> queues_ = {"default"};
  std::map<std::string, std::string> workers_;  // namespace -> worker id
  std::vector<std::string> namespaces_;
};

}  // namespace retrace::testing

#endif  // RETRACE_RUNTIME_TEST_ENV_H_
