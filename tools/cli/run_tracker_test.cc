#include "tools/cli/run_tracker.h"

#include <string>

#include "absl/time/time.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/forwarding_engine.h"
#include "runtime/test_env.h"

namespace retrace::cli {

using runtime::ForwardingEngine;
namespace {

using ::retrace::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

constexpr char kOneStep[] = R"({
  "name": "one", "version": "1",
  "steps": [{"id": "a", "type": "action", "action": "core.echo",
             "input": "input + 1"}]
})";

constexpr char kWaits[] = R"({
  "name": "waits", "version": "1",
  "steps": [{"id": "w", "type": "event.wait", "event": "go", "timeout": "1h"}]
})";

// The sweep never runs in these tests: what they check is explicit.
constexpr absl::Duration kNoSweep = absl::Hours(1);

runtime::StartRunRequest StartRequest(const std::string& workflow,
                                      const std::string& run_id) {
  runtime::StartRunRequest request;
  request.set_namespace_("default");
  request.set_workflow(workflow);
  request.set_run_id(run_id);
  request.set_input_json("1");
  return request;
}

TEST(RunTrackerTest, TerminalStatuses) {
  for (const char* s :
       {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW"}) {
    EXPECT_TRUE(IsTerminalStatus(s)) << s;
  }
  for (const char* s : {"PENDING", "RUNNING", "SLEEPING", "WAITING", ""}) {
    EXPECT_FALSE(IsTerminalStatus(s)) << s;
  }
}

TEST(RunTrackerTest, CheckFinishesOnlyTerminalRuns) {
  retrace::testing::TestEnv env;
  ASSERT_THAT(env.RegisterDefinition(kWaits), IsOk());
  RunTracker tracker(&env.engine(), "default", kNoSweep);
  tracker.Track("w1");
  ASSERT_THAT(env.Start("waits", "null", "w1").status(), IsOk());
  tracker.Check("w1");
  EXPECT_EQ(tracker.open(), 1);
  EXPECT_EQ(tracker.WaitFor("w1", absl::Now()), "");
  EXPECT_EQ(tracker.WaitAll(absl::Now()), 1);

  ASSERT_THAT(env.Signal("w1", "go", "{}"), IsOk());
  tracker.Check("w1");
  EXPECT_EQ(tracker.open(), 0);
  EXPECT_EQ(tracker.WaitFor("w1", absl::InfiniteFuture()), "COMPLETED");
  EXPECT_EQ(tracker.WaitAll(absl::InfiniteFuture()), 0);
  EXPECT_THAT(
      tracker.finished(),
      ElementsAre(AllOf(Field(&RunTracker::Finished::run_id, "w1"),
                        Field(&RunTracker::Finished::status, "COMPLETED"))));
  // A second check of a finished run changes nothing.
  tracker.Check("w1");
  EXPECT_EQ(tracker.finished().size(), 1u);
  EXPECT_THAT(tracker.open_runs(), IsEmpty());
}

// Registers a worker of namespace and task queue "default".
absl::StatusOr<runtime::RegisterWorkerResponse> RegisterWorker(
    runtime::Engine* engine, int max_concurrency) {
  runtime::RegisterWorkerRequest worker;
  worker.set_identity("tracker-test");
  worker.set_namespace_("default");
  worker.add_task_queues("default");
  worker.set_max_concurrency(max_concurrency);
  return engine->RegisterWorker(worker);
}

TEST(RunTrackerTest, TaskOutcomeThroughTheTrackingEngineFinishesTheRun) {
  retrace::testing::TestEnv env;
  ASSERT_THAT(env.RegisterDefinition(kOneStep), IsOk());
  RunTracker tracker(&env.engine(), "default", kNoSweep);
  runtime::Engine* engine = tracker.engine();

  absl::StatusOr<runtime::RegisterWorkerResponse> registered =
      RegisterWorker(engine, 1);
  ASSERT_THAT(registered.status(), IsOk());

  tracker.Track("r1");
  ASSERT_THAT(engine->StartRun(StartRequest("one", "r1")).status(), IsOk());
  runtime::PollTaskRequest poll;
  poll.set_worker_id(registered->worker_id());
  absl::StatusOr<runtime::PollTaskResponse> polled = engine->PollTask(poll);
  ASSERT_THAT(polled.status(), IsOk());
  ASSERT_TRUE(polled->has_task());
  EXPECT_EQ(tracker.open(), 1);

  runtime::CompleteTaskRequest complete;
  complete.set_token(polled->task().token());
  complete.set_worker_id(registered->worker_id());
  complete.mutable_output()->set_data("2");
  ASSERT_THAT(engine->CompleteTask(complete).status(), IsOk());
  // No sweep ran: the completion itself told the tracker.
  EXPECT_EQ(tracker.open(), 0);
  EXPECT_EQ(tracker.WaitFor("r1", absl::Now()), "COMPLETED");
}

// Counts DescribeRun calls.
class CountingEngine : public ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;
  absl::StatusOr<runtime::DescribeRunResponse> DescribeRun(
      const runtime::DescribeRunRequest& r) override {
    ++describes;
    return ForwardingEngine::DescribeRun(r);
  }
  int describes = 0;
};

TEST(RunTrackerTest, AReportedOutcomeThatEndsTheRunFinishesItWithoutARead) {
  retrace::testing::TestEnv env;
  ASSERT_THAT(env.RegisterDefinition(kOneStep), IsOk());
  CountingEngine counting(&env.engine());
  RunTracker tracker(&counting, "default", kNoSweep);
  runtime::Engine* engine = tracker.engine();

  absl::StatusOr<runtime::RegisterWorkerResponse> registered =
      RegisterWorker(engine, 2);
  ASSERT_THAT(registered.status(), IsOk());

  runtime::ReportTasksRequest report;
  report.set_worker_id(registered->worker_id());
  for (const char* run : {"r1", "r2"}) {
    tracker.Track(run);
    ASSERT_THAT(engine->StartRun(StartRequest("one", run)).status(), IsOk());
    runtime::PollTaskRequest poll;
    poll.set_worker_id(registered->worker_id());
    absl::StatusOr<runtime::PollTaskResponse> polled = engine->PollTask(poll);
    ASSERT_THAT(polled.status(), IsOk());
    ASSERT_TRUE(polled->has_task());
    runtime::TaskOutcome* outcome = report.add_outcomes();
    outcome->set_token(polled->task().token());
    if (std::string(run) == "r1") {
      outcome->mutable_output()->set_data("2");
    } else {
      outcome->mutable_failure()->set_code("BOOM");
      outcome->mutable_failure()->set_non_retryable(true);
    }
  }
  ASSERT_THAT(engine->ReportTasks(report).status(), IsOk());
  EXPECT_EQ(tracker.open(), 0);
  EXPECT_EQ(tracker.WaitFor("r1", absl::Now()), "COMPLETED");
  EXPECT_EQ(tracker.WaitFor("r2", absl::Now()), "FAILED");
  EXPECT_EQ(counting.describes, 0);
}

TEST(RunTrackerTest, UntrackForgetsARun) {
  retrace::testing::TestEnv env;
  RunTracker tracker(&env.engine(), "default", kNoSweep);
  tracker.Track("gone");
  EXPECT_EQ(tracker.open(), 1);
  tracker.Untrack("gone");
  EXPECT_EQ(tracker.open(), 0);
  EXPECT_EQ(tracker.WaitFor("gone", absl::InfiniteFuture()), "");
}

}  // namespace
}  // namespace retrace::cli
