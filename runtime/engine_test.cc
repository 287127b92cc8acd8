#include "runtime/engine.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/status_macros.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "history/memory_store.h"
#include "history/rocksdb_store.h"
#include "runtime/definition.h"
#include "runtime/forwarding_engine.h"
#include "runtime/replay.h"
#include "runtime/test_env.h"
#include "runtime/worker_pool.h"

namespace retrace::runtime {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::TestEnv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kThreeSteps[] = R"({
  "name": "three", "version": "1",
  "steps": [
    {"id": "a", "type": "action", "action": "core.echo", "input": "input + 1"},
    {"id": "b", "type": "action", "action": "core.echo", "input": "steps.a.output + 1"},
    {"id": "c", "type": "action", "action": "core.echo", "input": "steps.b.output + 1"},
    {"id": "r", "type": "control.return", "output": "steps.c.output"}
  ]})";

// An engine on `store` with `definition_json` registered in "default", or
// null (and a test failure) if either fails.
std::unique_ptr<Engine> OpenWith(history::HistoryStore* store,
                                 const char* definition_json) {
  auto engine = Engine::Open(store);
  EXPECT_THAT(engine, IsOk());
  if (!engine.ok()) return nullptr;
  RegisterDefinitionRequest r;
  r.set_namespace_("default");
  r.set_definition_json(definition_json);
  absl::StatusOr<RegisterDefinitionResponse> registered =
      (*engine)->RegisterDefinition(r);
  EXPECT_THAT(registered, IsOk());
  if (!registered.ok()) return nullptr;
  return *std::move(engine);
}

// Each run of `runs` described once it has COMPLETED. A run that fails to
// describe, or is still open after 30 s, fails the test (and is described
// as it is, or empty).
std::vector<DescribeRunResponse> AwaitCompleted(
    Engine& engine, const std::vector<std::string>& runs) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  std::vector<DescribeRunResponse> described;
  for (const std::string& run : runs) {
    DescribeRunRequest d;
    d.set_namespace_("default");
    d.set_run_id(run);
    for (;;) {
      absl::StatusOr<DescribeRunResponse> r = engine.DescribeRun(d);
      if (!r.ok()) {
        ADD_FAILURE() << "run " << run << ": " << r.status();
        described.emplace_back();
        break;
      }
      if (r->status() == "COMPLETED" || absl::Now() >= give_up) {
        if (r->status() != "COMPLETED") {
          ADD_FAILURE() << "run " << run << " stuck in " << r->status();
        }
        described.push_back(*std::move(r));
        break;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
  }
  return described;
}

std::vector<std::string> Types(Engine& engine, const std::string& run) {
  GetHistoryRequest req;
  req.set_namespace_("default");
  req.set_run_id(run);
  std::vector<std::string> out;
  auto history = engine.GetHistory(req);
  for (const auto& e : history->events()) {
    out.emplace_back(history::EventTypeName(e));
  }
  return out;
}

history::History HistoryOf(Engine& engine, const std::string& run) {
  GetHistoryRequest req;
  req.set_namespace_("default");
  req.set_run_id(run);
  history::History h;
  h.set_namespace_("default");
  h.set_run_id(run);
  *h.mutable_events() = engine.GetHistory(req)->events();
  return h;
}

void ExpectReplays(Engine& engine, const std::string& run,
                   absl::string_view def) {
  auto parsed = ParseDefinition(def);
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(Replay(parsed.definition, HistoryOf(engine, run)), IsOk());
}

TEST(EngineTest, RunsAThreeStepWorkflowToCompletion) {
  TestEnv env;
  ASSERT_THAT(env.RegisterDefinition(kThreeSteps), IsOk());
  auto run = env.Start("three", "1");
  ASSERT_THAT(run, IsOk());
  auto done = env.Describe(*run);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->status(), "COMPLETED");
  EXPECT_EQ(done->output_json(), "4");
  EXPECT_EQ(done->workflow(), "three");
  // Start and completion of each step are recorded together.
  EXPECT_THAT(Types(env.engine(), *run),
              ElementsAre("run_started", "step_scheduled", "step_started",
                          "step_completed", "step_scheduled", "step_started",
                          "step_completed", "step_scheduled", "step_started",
                          "step_completed", "run_completed"));
  ExpectReplays(env.engine(), *run, kThreeSteps);
}

constexpr char kSleepAndRetry[] = R"({
  "name": "slow", "version": "1",
  "defaults": {"retry": {"initial_interval": "10m", "max_attempts": 3}},
  "steps": [
    {"id": "nap", "type": "time.sleep", "duration": "2h"},
    {"id": "flaky", "type": "action", "action": "flaky"},
    {"id": "pay", "type": "event.wait", "event": "paid", "timeout": "2h", "on_timeout": "continue"},
    {"id": "r", "type": "control.return", "output": "steps.flaky.attempts"}
  ]})";

TEST(EngineTest, TimeSkippingRunsHoursOfWaitsAndRetriesInMilliseconds) {
  TestEnv env;
  int calls = 0;
  env.actions().Register(
      "flaky",
      [&calls](const ActionContext& ctx,
               const history::Payload&) -> absl::StatusOr<history::Payload> {
        if (++calls < 3) return ActionFailure("HTTP_503", "unavailable");
        return history::JsonPayload("true");
      });
  ASSERT_THAT(env.RegisterDefinition(kSleepAndRetry), IsOk());
  const absl::Time start = env.clock().Now();
  auto run = env.Start("slow", "{}");
  ASSERT_THAT(run, IsOk());
  auto sleeping = env.Describe(*run);
  EXPECT_EQ(sleeping->status(), "SLEEPING");
  EXPECT_EQ(history::ToTime(sleeping->wake_up_at()), start + absl::Hours(2));
  auto done = env.RunToCompletion(*run);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->status(), "COMPLETED");
  EXPECT_EQ(done->output_json(), "3");
  EXPECT_EQ(calls, 3);
  // 2h sleep + 10m + 20m backoff + 2h wait timeout.
  EXPECT_EQ(env.clock().Now() - start, absl::Minutes(270));
  ExpectReplays(env.engine(), *run, kSleepAndRetry);
}

TEST(EngineTest, SleepOfZeroAndOfThirtyDays) {
  TestEnv env;
  ASSERT_THAT(env.RegisterDefinition(R"({"name": "z", "version": "1", "steps": [
      {"id": "s", "type": "time.sleep", "duration": "0s"},
      {"id": "m", "type": "time.sleep", "duration": "30d"}]})"),
              IsOk());
  auto run = env.Start("z", "{}");
  ASSERT_THAT(run, IsOk());
  auto d = env.Describe(*run);
  EXPECT_EQ(d->status(), "SLEEPING");
  EXPECT_EQ(history::ToTime(d->wake_up_at()) - env.clock().Now(),
            absl::Hours(720));
  ASSERT_THAT(env.RunToCompletion(*run), IsOk());
  EXPECT_THAT(env.RegisterDefinition(R"({"name": "o", "version": "1", "steps": [
      {"id": "s", "type": "time.sleep", "duration": "31d"}]})"),
              HasErrorCode("INVALID_DEFINITION"));
}

TEST(EngineTest, SignalsAndHumanTasksByRunId) {
  TestEnv env;
  constexpr char kDef[] = R"({"name": "w", "version": "1", "steps": [
      {"id": "pay", "type": "event.wait", "event": "paid", "filter": "event.payload.ok"},
      {"id": "ok", "type": "human.task", "title": "'approve'"},
      {"id": "r", "type": "control.return", "output": "steps.ok.output"}]})";
  ASSERT_THAT(env.RegisterDefinition(kDef), IsOk());
  auto run = env.Start("w", "{}");
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(env.Describe(*run)->status(), "WAITING");
  SignalRunRequest signal;
  signal.set_namespace_("default");
  signal.set_run_id(*run);
  signal.set_event_name("paid");
  signal.set_payload_json(R"({"ok": false})");
  auto first = env.engine().SignalRun(signal);
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->delivered());
  signal.set_payload_json(R"({"ok": true})");
  auto second = env.engine().SignalRun(signal);
  ASSERT_THAT(second, IsOk());
  EXPECT_TRUE(second->delivered());
  CompleteHumanTaskRequest task;
  task.set_namespace_("default");
  task.set_run_id(*run);
  task.set_task_id("nope");
  EXPECT_THAT(env.engine().CompleteHumanTask(task),
              HasErrorCode("TASK_NOT_FOUND"));
  task.set_task_id("/steps/1");
  task.set_result_json(R"({"approved": true})");
  task.set_completed_by("maria");
  ASSERT_THAT(env.engine().CompleteHumanTask(task), IsOk());
  auto d = env.Describe(*run);
  EXPECT_EQ(d->status(), "COMPLETED");
  EXPECT_EQ(d->output_json(), R"({"approved":true})");
  ExpectReplays(env.engine(), *run, kDef);
}

TEST(EngineTest, SignalRunsCommitsSeveralRunsAndRowsAtOnce) {
  TestEnv env;
  constexpr char kDef[] = R"({"name": "w", "version": "1", "steps": [
      {"id": "pay", "type": "event.wait", "event": "paid", "filter": "event.payload.ok"},
      {"id": "r", "type": "control.return", "output": "steps.pay.output.payload.n"}]})";
  ASSERT_THAT(env.RegisterDefinition(kDef), IsOk());
  auto a = env.Start("w", "{}"), b = env.Start("w", "{}"),
       done = env.Start("w", "{}");
  ASSERT_THAT(env.engine().TerminateRun([&] {
    TerminateRunRequest t;
    t.set_namespace_("default");
    t.set_run_id(*done);
    t.set_reason("test");
    return t;
  }()),
              IsOk());
  auto signal = [](const std::string& run, absl::string_view payload) {
    SignalRunRequest s;
    s.set_namespace_("default");
    s.set_run_id(run);
    s.set_event_name("paid");
    s.set_signal_id(absl::StrCat("sig-", run));
    s.set_payload_json(std::string(payload));
    return s;
  };
  std::vector<absl::StatusOr<SignalRunResponse>> seen;
  auto results = env.engine().SignalRuns(
      {signal(*a, R"({"ok": true, "n": 1})"), signal(*b, R"({"ok": false})"),
       signal(*done, "{}"), signal("missing", "{}")},
      [&](const std::vector<absl::StatusOr<SignalRunResponse>>& r) {
        seen = r;
        return std::vector<history::Mutation>{history::Mutation::Put(
            history::KeySpace::kAudit, "batch-row", "committed")};
      });
  ASSERT_THAT(results, IsOk());
  ASSERT_THAT(*results, ::testing::SizeIs(4));
  EXPECT_TRUE((*results)[0]->delivered());
  EXPECT_FALSE((*results)[1]->delivered());
  EXPECT_THAT((*results)[2], HasErrorCode("RUN_ALREADY_TERMINAL"));
  EXPECT_THAT((*results)[3], HasErrorCode("RUN_NOT_FOUND"));
  ASSERT_THAT(seen, ::testing::SizeIs(4));
  EXPECT_TRUE(seen[0]->delivered());
  EXPECT_EQ(**env.store().Get(history::KeySpace::kAudit, "batch-row"),
            "committed");
  EXPECT_EQ(env.Describe(*a)->status(), "COMPLETED");
  EXPECT_EQ(env.Describe(*a)->output_json(), "1");
  EXPECT_EQ(env.Describe(*b)->status(), "WAITING");
  // The same event id again does nothing; a run twice in a batch is refused.
  auto again = env.engine().SignalRuns({signal(*b, R"({"ok": true})")}, {});
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE((*again)[0]->delivered());
  EXPECT_TRUE((*again)[0]->duplicate());
  auto other = signal(*b, R"({"ok": true, "n": 2})");
  other.set_signal_id("sig-2");
  EXPECT_THAT(env.engine().SignalRuns({other, other}, {}),
              HasErrorCode("INVALID_BATCH"));
  auto last = env.engine().SignalRuns({other}, {});
  ASSERT_THAT(last, IsOk());
  EXPECT_TRUE((*last)[0]->delivered());
  EXPECT_EQ(env.Describe(*b)->output_json(), "2");
  ExpectReplays(env.engine(), *a, kDef);
  ExpectReplays(env.engine(), *b, kDef);
}

TEST(EngineTest, RetryAfterAnEngineFailureKeepsCompletedLoopItems) {
  TestEnv env;
  constexpr char kDef[] = R"({"name": "loop", "version": "1", "steps": [
      {"id": "each", "type": "control.forEach", "items": "[0, 1, 2]", "as": "n",
       "steps": [{"id": "e", "type": "action", "action": "core.echo", "input": "n"},
                 {"id": "s", "type": "time.sleep", "duration": "1h"}]}]})";
  ASSERT_THAT(env.RegisterDefinition(kDef), IsOk());
  auto run = env.Start("loop", "{}");
  ASSERT_THAT(run, IsOk());
  ASSERT_THAT(env.RunUntilIdle(), IsOk());
  ASSERT_THAT(env.AdvanceTime(absl::Hours(1)), IsOk());  // item 1 sleeping
  RemoveDefinitionRequest remove;
  remove.set_namespace_("default");
  remove.set_name("loop");
  remove.set_version("1");
  ASSERT_THAT(env.engine().RemoveDefinition(remove), IsOk());
  ASSERT_THAT(env.AdvanceTime(absl::Hours(1)), IsOk());
  auto failed = env.Describe(*run);
  EXPECT_EQ(failed->status(), "FAILED");
  EXPECT_EQ(failed->failure().code(), "WORKFLOW_VERSION_NOT_FOUND");

  ASSERT_THAT(env.RegisterDefinition(kDef), IsOk());
  RetryRunRequest retry;
  retry.set_namespace_("default");
  retry.set_run_id(*run);
  ASSERT_THAT(env.engine().RetryRun(retry), IsOk());
  auto done = env.RunToCompletion(*run);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->status(), "COMPLETED");
  // Items 0 and 1 echoed once each before the failure; only item 1's sleep
  // and item 2 ran after the retry.
  GetHistoryRequest h;
  h.set_namespace_("default");
  h.set_run_id(*run);
  auto history = env.engine().GetHistory(h);
  ASSERT_THAT(history, IsOk());
  std::vector<std::string> echoed;
  for (const auto& e : history->events()) {
    if (e.has_step_scheduled())
      echoed.push_back(e.step_scheduled().step_path());
  }
  EXPECT_THAT(echoed, ::testing::SizeIs(3)) << absl::StrJoin(echoed, " ");
  ExpectReplays(env.engine(), *run, kDef);
}

TEST(EngineTest, RetryRestartsParallelBranchesThatWereStillRunning) {
  TestEnv env;
  constexpr char kDef[] = R"({"name": "par", "version": "1", "steps": [
      {"id": "p", "type": "control.parallel", "branches": [
        [{"id": "nap", "type": "time.sleep", "duration": "1h"},
         {"id": "after", "type": "action", "action": "core.echo", "input": "'late'"}],
        [{"id": "go", "type": "event.wait", "event": "go", "timeout": "10m"}]]},
      {"id": "r", "type": "control.return", "output": "steps.after.output"}]})";
  ASSERT_THAT(env.RegisterDefinition(kDef), IsOk());
  auto run = env.Start("par", "{}");
  ASSERT_THAT(run, IsOk());
  // The wait times out while the other branch sleeps: the run fails.
  ASSERT_THAT(env.AdvanceTime(absl::Minutes(11)), IsOk());
  EXPECT_EQ(env.Describe(*run)->status(), "FAILED");
  RetryRunRequest retry;
  retry.set_namespace_("default");
  retry.set_run_id(*run);
  ASSERT_THAT(env.engine().RetryRun(retry), IsOk());
  ASSERT_THAT(env.Signal(*run, "go", "{}"), IsOk());
  // The sleeping branch has its timer again (it had none before the fix:
  // the run's failure closed it and the retry only restarted the wait).
  auto done = env.RunToCompletion(*run, absl::Hours(3));
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->status(), "COMPLETED");
  EXPECT_EQ(done->output_json(), R"("late")");
  ExpectReplays(env.engine(), *run, kDef);
}

class ManualEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.clock = &clock_;
    options_.timer_thread = false;
    Reopen();
  }
  void Reopen() {
    engine_.reset();
    engine_ = Engine::Open(store_.get(), options_).value();
  }
  std::string Worker(absl::string_view identity, int concurrency = 1) {
    RegisterWorkerRequest r;
    r.set_identity(std::string(identity));
    r.set_namespace_("default");
    r.set_max_concurrency(concurrency);
    return engine_->RegisterWorker(r)->worker_id();
  }
  std::string Start(absl::string_view workflow, absl::string_view input = "1",
                    absl::string_view run_id = "") {
    StartRunRequest r;
    r.set_namespace_("default");
    r.set_workflow(std::string(workflow));
    r.set_input_json(std::string(input));
    r.set_run_id(std::string(run_id));
    auto started = engine_->StartRun(r);
    EXPECT_THAT(started, IsOk());
    return started.ok() ? started->run_id() : "";
  }
  absl::StatusOr<Task> Poll(const std::string& worker) {
    PollTaskRequest p;
    p.set_worker_id(worker);
    ASSIGN_OR_RETURN(PollTaskResponse r, engine_->PollTask(p));
    if (!r.has_task()) return absl::NotFoundError("no task");
    holder_[r.task().token()] = worker;
    return r.task();
  }
  // The worker that polled `task`.
  std::string Holder(const Task& task) { return holder_[task.token()]; }
  absl::Status Complete(const Task& task, absl::string_view json) {
    CompleteTaskRequest c;
    c.set_token(task.token());
    c.set_worker_id(Holder(task));
    *c.mutable_output() = history::JsonPayload(json);
    return engine_->CompleteTask(c).status();
  }
  std::string Status(const std::string& run) {
    DescribeRunRequest d;
    d.set_namespace_("default");
    d.set_run_id(run);
    return engine_->DescribeRun(d)->status();
  }
  void Register(absl::string_view json) {
    RegisterDefinitionRequest r;
    r.set_namespace_("default");
    r.set_definition_json(std::string(json));
    ASSERT_THAT(engine_->RegisterDefinition(r), IsOk());
  }

  ManualClock clock_;
  EngineOptions options_;
  std::unique_ptr<history::HistoryStore> store_ =
      history::NewInMemoryHistoryStore();
  std::unique_ptr<Engine> engine_;
  std::map<std::string, std::string> holder_;  // task token -> worker
};

TEST_F(ManualEngineTest, TwoWorkersPollingTheSameTaskOnlyOneGetsIt) {
  Register(kThreeSteps);
  std::string w1 = Worker("w1"), w2 = Worker("w2");
  for (int i = 0; i < 50; ++i) {
    const std::string run = Start("three", "1", absl::StrCat("race-", i));
    std::atomic<int> got{0};
    std::thread t1([&] { got += Poll(w1).ok(); });
    std::thread t2([&] { got += Poll(w2).ok(); });
    t1.join();
    t2.join();
    ASSERT_EQ(got.load(), 1) << "run " << run;
    // Free the workers' slots: fail nothing, just cancel the run.
    CancelRunRequest c;
    c.set_namespace_("default");
    c.set_run_id(run);
    ASSERT_THAT(engine_->CancelRun(c), IsOk());
  }
}

// Regression: a poller waiting for work is woken by a new run's first task.
// If the wake-up were lost the poll would wait out its 10-minute timeout and
// the test would time out (it never decides on timing otherwise).
TEST_F(ManualEngineTest, ANewRunWakesAWaitingPoller) {
  Register(kThreeSteps);
  std::string w = Worker("w");
  absl::Notification polled;
  std::thread poller([&] {
    PollTaskRequest p;
    p.set_worker_id(w);
    p.set_timeout_ms(10 * 60 * 1000);
    auto r = engine_->PollTask(p);
    EXPECT_THAT(r, IsOk());
    EXPECT_TRUE(r->has_task());
    polled.Notify();
  });
  // Give the poller time to find nothing and start waiting (if it has not,
  // it simply finds the task at once: the test passes either way unless the
  // wake-up is lost).
  absl::SleepFor(absl::Milliseconds(50));
  Start("three");
  polled.WaitForNotification();
  poller.join();
}

TEST_F(ManualEngineTest, ALostWorkerTaskIsRetriedElsewhereAndCompletedOnce) {
  Register(R"({"name": "one", "version": "1",
    "defaults": {"retry": {"initial_interval": "1s"}, "timeout": "30s"},
    "steps": [{"id": "a", "type": "action", "action": "core.echo", "input": "input"}]})");
  std::string dead = Worker("dead"), alive = Worker("alive");
  const std::string run = Start("one", "7");
  auto lost = Poll(dead);
  ASSERT_THAT(lost, IsOk());
  EXPECT_EQ(Status(run), "RUNNING");
  // The dead worker never completes; its lease runs out.
  clock_.Advance(absl::Seconds(31));
  ASSERT_THAT(engine_->FireDueTimers(), IsOk());
  EXPECT_THAT(Poll(alive),
              ::retrace::testing::StatusIs(absl::StatusCode::kNotFound));
  clock_.Advance(absl::Seconds(1));  // retry backoff
  ASSERT_THAT(engine_->FireDueTimers(), IsOk());
  auto retried = Poll(alive);
  ASSERT_THAT(retried, IsOk());
  EXPECT_EQ(retried->attempt(), 2);
  ASSERT_THAT(Complete(*retried, "7"), IsOk());
  EXPECT_EQ(Status(run), "COMPLETED");
  // The dead worker coming back cannot record a second success.
  EXPECT_THAT(Complete(*lost, "7"), HasErrorCode("LEASE_LOST"));
  int completions = 0;
  const history::History h = HistoryOf(*engine_, run);
  for (const auto& e : h.events()) {
    completions += e.has_step_completed();
  }
  EXPECT_EQ(completions, 1);
}

TEST_F(ManualEngineTest, RepeatedCompletionWithTheSameTokenIsAcknowledgedOnce) {
  Register(kThreeSteps);
  std::string w = Worker("w");
  const std::string run = Start("three");
  auto task = Poll(w);
  ASSERT_THAT(task, IsOk());
  ASSERT_THAT(Complete(*task, "2"), IsOk());
  const size_t events = HistoryOf(*engine_, run).events_size();
  EXPECT_THAT(Complete(*task, "2"), IsOk());  // a client retry
  EXPECT_EQ(HistoryOf(*engine_, run).events_size(), events);
  EXPECT_THAT(Complete(*task, "99"), HasErrorCode("TOKEN_ALREADY_USED"));
  FailTaskRequest f;
  f.set_token(task->token());
  f.set_worker_id(w);
  f.mutable_failure()->set_code("X");
  EXPECT_THAT(engine_->FailTask(f), HasErrorCode("TOKEN_ALREADY_USED"));
  CompleteTaskRequest forged;
  forged.set_worker_id(w);
  forged.set_token("not-a-token");
  EXPECT_THAT(engine_->CompleteTask(forged), HasErrorCode("INVALID_TOKEN"));
  // A token altered in its epoch is rejected.
  std::string altered = task->token();
  altered[altered.size() - 3] = altered[altered.size() - 3] == 'A' ? 'B' : 'A';
  forged.set_token(altered);
  EXPECT_FALSE(engine_->CompleteTask(forged).ok());
}

// Isolation: a task belongs to the worker it was leased to, and so to that
// worker's namespace. Another namespace's worker can neither poll it nor,
// holding its token, complete, fail or heartbeat it; altered tokens fail.
TEST_F(ManualEngineTest, WorkersOfOneNamespaceNeverTouchAnothersTasks) {
  Register(kThreeSteps);
  std::string mine = Worker("mine");
  RegisterWorkerRequest r;
  r.set_identity("theirs");
  r.set_namespace_("other");
  r.set_max_concurrency(10);
  const std::string theirs = engine_->RegisterWorker(r)->worker_id();
  const std::string run = Start("three", "1", "iso");
  EXPECT_FALSE(Poll(theirs).ok());  // never offered another namespace's task
  absl::StatusOr<Task> task = Poll(mine);
  ASSERT_THAT(task, IsOk());

  // The token leaked to the other namespace's worker is refused, and the
  // lease is untouched.
  CompleteTaskRequest c;
  c.set_token(task->token());
  c.set_worker_id(theirs);
  *c.mutable_output() = history::JsonPayload("666");
  EXPECT_THAT(engine_->CompleteTask(c), HasErrorCode("TASK_NOT_HELD"));
  FailTaskRequest f;
  f.set_token(task->token());
  f.set_worker_id(theirs);
  f.mutable_failure()->set_code("X");
  f.mutable_failure()->set_non_retryable(true);
  EXPECT_THAT(engine_->FailTask(f), HasErrorCode("TASK_NOT_HELD"));
  c.clear_worker_id();  // no worker named at all
  EXPECT_THAT(engine_->CompleteTask(c), HasErrorCode("TASK_NOT_HELD"));
  HeartbeatRequest hb;
  hb.set_worker_id(theirs);
  hb.add_task_tokens(task->token());
  absl::StatusOr<HeartbeatResponse> beat = engine_->Heartbeat(hb);
  ASSERT_THAT(beat, IsOk());
  EXPECT_THAT(beat->canceled_tokens(), ElementsAre(task->token()));
  // The other worker's heartbeat did not extend the lease: it still runs out
  // at the original deadline.
  clock_.Advance(absl::Seconds(20));
  hb.set_worker_id(mine);
  ASSERT_THAT(engine_->Heartbeat(hb), IsOk());
  EXPECT_THAT(engine_->Heartbeat(hb)->canceled_tokens(), SizeIs(0));

  // Altered tokens: every single-character change is refused.
  const std::string token = task->token();
  for (size_t i = 0; i < token.size(); ++i) {
    std::string altered = token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    CompleteTaskRequest forged;
    forged.set_token(altered);
    forged.set_worker_id(mine);
    *forged.mutable_output() = history::JsonPayload("666");
    EXPECT_FALSE(engine_->CompleteTask(forged).ok()) << "position " << i;
  }
  // The holder completes it; nothing else was recorded.
  ASSERT_THAT(Complete(*task, "2"), IsOk());
  int completions = 0;
  const history::History h = HistoryOf(*engine_, run);
  for (const auto& e : h.events()) {
    if (e.has_step_completed()) {
      ++completions;
      EXPECT_EQ(e.step_completed().output().data(), "2");
    }
  }
  EXPECT_EQ(completions, 1);
}

TEST_F(ManualEngineTest, CancelInEveryState) {
  Register(R"({"name": "c", "version": "1", "steps": [
    {"id": "a", "type": "action", "action": "core.echo"},
    {"id": "s", "type": "time.sleep", "duration": "1h"},
    {"id": "w", "type": "event.wait", "event": "go"}]})");
  std::string w = Worker("w");
  auto cancel = [&](const std::string& run) {
    CancelRunRequest c;
    c.set_namespace_("default");
    c.set_run_id(run);
    c.set_reason("test");
    c.set_identity("ops");
    return engine_->CancelRun(c);
  };
  // Pending: the task was never claimed.
  std::string pending = Start("c");
  EXPECT_EQ(Status(pending), "PENDING");
  ASSERT_THAT(cancel(pending), IsOk());
  EXPECT_EQ(Status(pending), "CANCELED");
  EXPECT_THAT(Poll(w),
              ::retrace::testing::StatusIs(absl::StatusCode::kNotFound));
  // Running: a worker holds the task and learns on completion.
  std::string running = Start("c");
  auto held = Poll(w);
  ASSERT_THAT(held, IsOk());
  ASSERT_THAT(cancel(running), IsOk());
  HeartbeatRequest hb;
  hb.set_worker_id(w);
  hb.add_task_tokens(held->token());
  EXPECT_THAT(engine_->Heartbeat(hb)->canceled_tokens(), SizeIs(1));
  EXPECT_FALSE(Complete(*held, "1").ok());
  EXPECT_EQ(Status(running), "CANCELED");
  // Sleeping.
  std::string sleeping = Start("c");
  ASSERT_THAT(Complete(*Poll(w), "1"), IsOk());
  EXPECT_EQ(Status(sleeping), "SLEEPING");
  ASSERT_THAT(cancel(sleeping), IsOk());
  EXPECT_EQ(Status(sleeping), "CANCELED");
  EXPECT_EQ(engine_->NextTimerAt(), std::nullopt);  // its timer went with it
  // Waiting.
  std::string waiting = Start("c");
  ASSERT_THAT(Complete(*Poll(w), "1"), IsOk());
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(engine_->FireDueTimers(), IsOk());
  EXPECT_EQ(Status(waiting), "WAITING");
  auto first = cancel(waiting);
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->canceled());
  // A second cancel is a no-op; cancel of another finished run is an error.
  auto second = cancel(waiting);
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->canceled());
  Register(kThreeSteps);
  std::string done = Start("three");
  for (int i = 0; i < 3; ++i) ASSERT_THAT(Complete(*Poll(w), "1"), IsOk());
  EXPECT_EQ(Status(done), "COMPLETED");
  EXPECT_THAT(cancel(done), HasErrorCode("RUN_ALREADY_TERMINAL"));
}

TEST_F(ManualEngineTest, RemovedVersionFailsItsRunsAtTheNextDecision) {
  Register(kThreeSteps);
  std::string w = Worker("w");
  const std::string run = Start("three");
  auto task = Poll(w);
  ASSERT_THAT(task, IsOk());
  RemoveDefinitionRequest remove;
  remove.set_namespace_("default");
  remove.set_name("three");
  remove.set_version("1");
  ASSERT_THAT(engine_->RemoveDefinition(remove), IsOk());
  EXPECT_THAT(Complete(*task, "2"), HasErrorCode("WORKFLOW_VERSION_NOT_FOUND"));
  DescribeRunRequest d;
  d.set_namespace_("default");
  d.set_run_id(run);
  auto described = engine_->DescribeRun(d);
  EXPECT_EQ(described->status(), "FAILED");
  EXPECT_EQ(described->failure().code(), "WORKFLOW_VERSION_NOT_FOUND");
  StartRunRequest s;
  s.set_namespace_("default");
  s.set_workflow("three");
  EXPECT_THAT(engine_->StartRun(s), HasErrorCode("WORKFLOW_NOT_FOUND"));
}

TEST_F(ManualEngineTest, PayloadLimitsAtAndOverTheLimit) {
  options_.max_payload_bytes = 10;
  Reopen();
  Register(R"({"name": "p", "version": "1", "steps": [
    {"id": "a", "type": "action", "action": "x", "input": "'ok'"}]})");
  std::string w = Worker("w");
  StartRunRequest s;
  s.set_namespace_("default");
  s.set_workflow("p");
  s.set_input_json("\"12345678\"");  // 10 bytes
  ASSERT_THAT(engine_->StartRun(s), IsOk());
  s.set_input_json("\"123456789\"");  // 11 bytes
  EXPECT_THAT(engine_->StartRun(s),
              ::testing::AllOf(HasErrorCode("PAYLOAD_TOO_LARGE"),
                               ::retrace::testing::StatusIs(
                                   absl::StatusCode::kInvalidArgument,
                                   HasSubstr("11 bytes, limit 10 bytes"))));
  auto task = Poll(w);
  ASSERT_THAT(task, IsOk());
  EXPECT_THAT(Complete(*task, "\"123456789\""),
              HasErrorCode("PAYLOAD_TOO_LARGE"));
}

TEST_F(ManualEngineTest, StartsAreIdempotentDedupedGuardedAndValidated) {
  Register(R"({"name": "g", "version": "1",
    "trigger": {"event": "e", "guard": "payload.ok = true", "dedupe_key": "payload.id", "dedupe_window": "1h"},
    "steps": [{"id": "a", "type": "action", "action": "x"}]})");
  StartRunRequest s;
  s.set_namespace_("default");
  s.set_workflow("g");
  s.set_input_json(R"({"ok": true, "id": "A"})");
  s.set_run_id("fixed");
  auto first = engine_->StartRun(s);
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->duplicate());
  auto again = engine_->StartRun(s);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->duplicate());
  s.set_run_id("");
  auto deduped = engine_->StartRun(s);
  ASSERT_THAT(deduped, IsOk());
  EXPECT_TRUE(deduped->duplicate());
  EXPECT_EQ(deduped->run_id(), "fixed");
  clock_.Advance(absl::Minutes(61));
  auto after_window = engine_->StartRun(s);
  ASSERT_THAT(after_window, IsOk());
  EXPECT_FALSE(after_window->duplicate());
  s.set_input_json(R"({"ok": false, "id": "B"})");
  EXPECT_THAT(engine_->StartRun(s), HasErrorCode("START_GUARD_REJECTED"));
  int audits = 0;
  for (auto it = store_->Scan(history::KeySpace::kAudit, "", ""); it->Valid();
       it->Next()) {
    ++audits;
  }
  EXPECT_EQ(audits, 1);
  s.set_input_json("{oops");
  EXPECT_THAT(engine_->StartRun(s), HasErrorCode("INVALID_JSON"));
  s.set_input_json("{}");
  s.set_run_id("bad\nid");
  EXPECT_THAT(engine_->StartRun(s), HasErrorCode("INVALID_IDENTIFIER"));
  s.set_run_id("");
  s.set_workflow("");
  EXPECT_THAT(engine_->StartRun(s), HasErrorCode("INVALID_IDENTIFIER"));
  s.set_workflow("nope");
  EXPECT_THAT(engine_->StartRun(s), HasErrorCode("WORKFLOW_NOT_FOUND"));
  SetDefinitionActiveRequest pause;
  pause.set_namespace_("default");
  pause.set_name("g");
  pause.set_active(false);
  ASSERT_THAT(engine_->SetDefinitionActive(pause), IsOk());
  s.set_workflow("g");
  s.set_input_json(R"({"ok": true, "id": "C"})");
  EXPECT_THAT(engine_->StartRun(s), HasErrorCode("WORKFLOW_NOT_ACTIVE"));
  pause.set_active(true);
  ASSERT_THAT(engine_->SetDefinitionActive(pause), IsOk());
  EXPECT_THAT(engine_->StartRun(s), IsOk());
}

TEST_F(ManualEngineTest, WorkerAndActionConcurrencyLimitsAreHonoured) {
  options_.max_concurrency_per_action["limited"] = 2;
  Reopen();
  Register(R"({"name": "l", "version": "1", "steps": [
    {"id": "a", "type": "action", "action": "limited"}]})");
  std::string w1 = Worker("w1", 10), w2 = Worker("w2", 1);
  for (int i = 0; i < 5; ++i) Start("l", "1", absl::StrCat("l-", i));
  std::vector<Task> held;
  for (int i = 0; i < 5; ++i) {
    auto t = Poll(i % 2 ? w2 : w1);
    if (t.ok()) held.push_back(*t);
  }
  EXPECT_THAT(held, SizeIs(2));  // the action's limit, across workers
  ASSERT_THAT(Complete(held[0], "1"), IsOk());
  EXPECT_THAT(Poll(w1), IsOk());  // a slot came free
  // A worker never holds more than its own limit.
  options_.max_concurrency_per_action.clear();
  Reopen();
  std::string single = Worker("single", 1);
  EXPECT_THAT(Poll(single), IsOk());
  EXPECT_FALSE(Poll(single).ok());
}

TEST_F(ManualEngineTest, EagerDispatchHandsTheNextStepToTheFinishingWorker) {
  Register(kThreeSteps);
  std::string w = Worker("w"), other = Worker("other");
  const std::string run = Start("three", "1");
  absl::StatusOr<Task> task = Poll(w);
  ASSERT_THAT(task, IsOk());
  // Each completion that asks for more gets the run's next step, leased to
  // the same worker: nobody else can poll it, and its token completes it.
  std::vector<std::string> steps = {task->step_id()};
  for (;;) {
    CompleteTaskRequest c;
    c.set_token(task->token());
    c.set_worker_id(w);
    *c.mutable_output() = history::JsonPayload("2");
    c.set_request_next_task(true);
    absl::StatusOr<CompleteTaskResponse> done = engine_->CompleteTask(c);
    ASSERT_THAT(done, IsOk());
    if (!done->has_next_task()) break;
    EXPECT_FALSE(Poll(other).ok());
    task = done->next_task();
    EXPECT_EQ(task->run_id(), run);
    EXPECT_FALSE(task->token().empty());
    steps.push_back(task->step_id());
  }
  EXPECT_THAT(steps, ElementsAre("a", "b", "c"));
  EXPECT_EQ(Status(run), "COMPLETED");
}

TEST_F(ManualEngineTest, EagerDispatchOnlyWhenAskedAndAllowed) {
  Register(kThreeSteps);
  // Not asked: the next step is queued for any poller.
  std::string w = Worker("w"), other = Worker("other");
  Start("three", "1", "plain");
  absl::StatusOr<Task> task = Poll(w);
  ASSERT_THAT(task, IsOk());
  CompleteTaskRequest c;
  c.set_token(task->token());
  c.set_worker_id(w);
  *c.mutable_output() = history::JsonPayload("2");
  absl::StatusOr<CompleteTaskResponse> done = engine_->CompleteTask(c);
  ASSERT_THAT(done, IsOk());
  EXPECT_FALSE(done->has_next_task());
  EXPECT_THAT(Poll(other), IsOk());

  // Asked by a draining worker: it takes no new work, even eagerly.
  std::string draining = Worker("draining");
  Start("three", "1", "drained");
  task = Poll(draining);
  ASSERT_THAT(task, IsOk());
  DrainWorkerRequest drain;
  drain.set_worker_id(draining);
  ASSERT_THAT(engine_->DrainWorker(drain), IsOk());
  c.set_token(task->token());
  c.set_worker_id(draining);
  c.set_request_next_task(true);
  done = engine_->CompleteTask(c);
  ASSERT_THAT(done, IsOk());
  EXPECT_FALSE(done->has_next_task());
  std::string fresh = Worker("fresh");
  absl::StatusOr<Task> next = Poll(fresh);
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->run_id(), "drained");

  // Asked by a worker that does not run the next action: queued instead.
  Register(R"({"name": "mixed", "version": "1", "steps": [
    {"id": "a", "type": "action", "action": "core.echo", "input": "input"},
    {"id": "b", "type": "action", "action": "special", "input": "input"}]})");
  RegisterWorkerRequest r;
  r.set_identity("echo-only");
  r.set_namespace_("default");
  r.add_action_types("core.echo");
  const std::string echo_only = engine_->RegisterWorker(r)->worker_id();
  Start("mixed", "1", "mixed-1");
  task = Poll(echo_only);
  ASSERT_THAT(task, IsOk());
  ASSERT_EQ(task->run_id(), "mixed-1");
  c.set_token(task->token());
  c.set_worker_id(echo_only);
  done = engine_->CompleteTask(c);
  ASSERT_THAT(done, IsOk());
  EXPECT_FALSE(done->has_next_task());
  next = Poll(Worker("any"));
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->step_id(), "b");
}

TEST_F(ManualEngineTest, AHistoryAtItsLengthLimitFailsTheRun) {
  options_.history_max_events = 12;
  Reopen();
  Register(R"({"name": "long", "version": "1", "steps": [
    {"id": "each", "type": "control.forEach", "items": "[1..100]",
     "steps": [{"id": "a", "type": "action", "action": "core.echo"}]}]})");
  std::string w = Worker("w");
  const std::string run = Start("long");
  absl::Status last;
  for (int i = 0; i < 100 && last.ok(); ++i) {
    auto task = Poll(w);
    if (!task.ok()) break;
    last = Complete(*task, "1");
  }
  EXPECT_THAT(last, HasErrorCode("HISTORY_TOO_LONG"));
  DescribeRunRequest d;
  d.set_namespace_("default");
  d.set_run_id(run);
  auto described = engine_->DescribeRun(d);
  EXPECT_EQ(described->status(), "FAILED");
  EXPECT_EQ(described->failure().code(), "HISTORY_TOO_LONG");
  EXPECT_LE(described->history_length(), 12);
}

TEST_F(ManualEngineTest, ManyTimersDueAtOnceAllFire) {
  Register(R"({"name": "nap", "version": "1", "steps": [
    {"id": "s", "type": "time.sleep", "duration": "1h"},
    {"id": "r", "type": "control.return", "output": "'woke'"}]})");
  std::vector<std::string> runs;
  for (int i = 0; i < 300; ++i) {
    runs.push_back(Start("nap", "1", absl::StrCat("nap-", i)));
    clock_.Advance(absl::Microseconds(333));  // sub-millisecond fire times
  }
  clock_.Advance(absl::Minutes(59));
  ASSERT_THAT(engine_->FireDueTimers(), IsOk());
  EXPECT_EQ(Status(runs.front()), "SLEEPING");
  clock_.Advance(absl::Minutes(1));
  auto fired = engine_->FireDueTimers();
  ASSERT_THAT(fired, IsOk());
  EXPECT_EQ(*fired, 300);
  for (const std::string& run : runs)
    EXPECT_EQ(Status(run), "COMPLETED") << run;
  EXPECT_EQ(engine_->NextTimerAt(), std::nullopt);
}

TEST_F(ManualEngineTest, DefinitionsAreImmutable) {
  Register(kThreeSteps);
  Register(kThreeSteps);  // same document: fine
  RegisterDefinitionRequest r;
  r.set_namespace_("default");
  r.set_definition_json(R"({"name": "three", "version": "1", "steps": [
    {"id": "r", "type": "control.return"}]})");
  EXPECT_THAT(engine_->RegisterDefinition(r),
              HasErrorCode("DEFINITION_CONFLICT"));
  ListDefinitionsRequest list;
  list.set_namespace_("default");
  EXPECT_THAT(engine_->ListDefinitions(list)->definitions(), SizeIs(1));
}

TEST_F(ManualEngineTest, TerminateRetryAndContinueAsNew) {
  Register(R"({"name": "f", "version": "1", "steps": [
    {"id": "a", "type": "action", "action": "x", "retry": {"max_attempts": 1}},
    {"id": "n", "type": "control.continueAsNew", "input": "input + 1"}]})");
  std::string w = Worker("w");
  const std::string run = Start("f", "1");
  auto task = Poll(w);
  FailTaskRequest f;
  f.set_token(task->token());
  f.set_worker_id(w);
  f.mutable_failure()->set_code("BOOM");
  ASSERT_THAT(engine_->FailTask(f), IsOk());
  EXPECT_EQ(Status(run), "FAILED");
  RetryRunRequest retry;
  retry.set_namespace_("default");
  retry.set_run_id(run);
  ASSERT_THAT(engine_->RetryRun(retry), IsOk());
  EXPECT_EQ(Status(run), "PENDING");
  EXPECT_THAT(engine_->RetryRun(retry), HasErrorCode("RUN_NOT_FAILED"));
  auto again = Poll(w);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->attempt(), 1);
  ASSERT_THAT(Complete(*again, "{}"), IsOk());
  EXPECT_EQ(Status(run), "CONTINUED_AS_NEW");
  DescribeRunRequest d;
  d.set_namespace_("default");
  d.set_run_id(run);
  const std::string next = engine_->DescribeRun(d)->continued_as_run_id();
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(Status(next), "PENDING");
  TerminateRunRequest t;
  t.set_namespace_("default");
  t.set_run_id(next);
  ASSERT_THAT(engine_->TerminateRun(t), IsOk());
  EXPECT_EQ(Status(next), "TERMINATED");
}

TEST(EngineRestartTest, TasksAndTimersSurviveARestartAndOldTokensAreRejected) {
  const std::string dir =
      absl::StrCat(getenv("TEST_TMPDIR"), "/engine-restart");
  std::filesystem::remove_all(dir);
  ManualClock clock;
  EngineOptions options;
  options.clock = &clock;
  options.timer_thread = false;
  Task old_task;
  std::string sleeper;
  {
    auto store = history::OpenRocksDbHistoryStore(dir).value();
    auto engine = Engine::Open(store.get(), options).value();
    RegisterDefinitionRequest r;
    r.set_namespace_("default");
    r.set_definition_json(kThreeSteps);
    ASSERT_THAT(engine->RegisterDefinition(r), IsOk());
    r.set_definition_json(R"({"name": "s", "version": "1", "steps": [
      {"id": "s", "type": "time.sleep", "duration": "1h"}]})");
    ASSERT_THAT(engine->RegisterDefinition(r), IsOk());
    StartRunRequest s;
    s.set_namespace_("default");
    s.set_workflow("three");
    s.set_run_id("r1");
    s.set_input_json("1");
    ASSERT_THAT(engine->StartRun(s), IsOk());
    s.set_workflow("s");
    s.set_run_id("sleeper");
    ASSERT_THAT(engine->StartRun(s), IsOk());
    RegisterWorkerRequest w;
    w.set_identity("w");
    w.set_namespace_("default");
    PollTaskRequest p;
    p.set_worker_id(engine->RegisterWorker(w)->worker_id());
    old_task = engine->PollTask(p)->task();
    ASSERT_FALSE(old_task.token().empty());
  }
  auto store = history::OpenRocksDbHistoryStore(dir).value();
  auto engine = Engine::Open(store.get(), options).value();
  CompleteTaskRequest c;
  c.set_token(old_task.token());
  *c.mutable_output() = history::JsonPayload("2");
  EXPECT_THAT(engine->CompleteTask(c), HasErrorCode("LEASE_LOST"));
  RegisterWorkerRequest w;
  w.set_identity("w");
  w.set_namespace_("default");
  PollTaskRequest p;
  p.set_worker_id(engine->RegisterWorker(w)->worker_id());
  auto again = engine->PollTask(p);
  ASSERT_THAT(again, IsOk());
  ASSERT_TRUE(again->has_task());
  EXPECT_EQ(again->task().run_id(), "r1");
  c.set_token(again->task().token());
  c.set_worker_id(p.worker_id());
  ASSERT_THAT(engine->CompleteTask(c), IsOk());
  ASSERT_TRUE(engine->NextTimerAt().has_value());
  clock.Advance(absl::Hours(1));
  ASSERT_THAT(engine->FireDueTimers(), IsOk());
  DescribeRunRequest d;
  d.set_namespace_("default");
  d.set_run_id("sleeper");
  EXPECT_EQ(engine->DescribeRun(d)->status(), "COMPLETED");
}

TEST(EngineWorkerPoolTest, InProcessWorkersRunManyRunsConcurrently) {
  auto store = history::NewInMemoryHistoryStore();
  std::unique_ptr<Engine> engine = OpenWith(store.get(), kThreeSteps);
  ASSERT_NE(engine, nullptr);
  ActionRegistry registry;
  RegisterBuiltinActions(&registry);
  WorkerPoolOptions options;
  options.threads = 4;
  options.poll_timeout = absl::Milliseconds(20);
  WorkerPool pool(engine.get(), &registry, options);
  ASSERT_THAT(pool.Start(), IsOk());
  std::vector<std::string> runs;
  for (int i = 0; i < 200; ++i) {
    StartRunRequest s;
    s.set_namespace_("default");
    s.set_workflow("three");
    s.set_input_json(absl::StrCat(i));
    runs.push_back(engine->StartRun(s)->run_id());
  }
  const std::vector<DescribeRunResponse> described =
      AwaitCompleted(*engine, runs);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(described[i].output_json(), absl::StrCat(i + 3)) << runs[i];
  }
  pool.Stop();
  EXPECT_EQ(pool.tasks_completed(), 600);
}

// Stop drains: every task the pool holds (queued, running or with its
// outcome not yet reported) runs and is reported before the worker
// deregisters, so no lease is left to expire into a failed attempt.
TEST(EngineWorkerPoolTest, StopReportsEveryTaskThePoolHolds) {
  auto store = history::NewInMemoryHistoryStore();
  std::unique_ptr<Engine> engine = OpenWith(store.get(), R"({
    "name": "slow3", "version": "1",
    "steps": [
      {"id": "a", "type": "action", "action": "slow", "input": "input + 1"},
      {"id": "b", "type": "action", "action": "slow", "input": "steps.a.output + 1"},
      {"id": "c", "type": "action", "action": "slow", "input": "steps.b.output + 1"},
      {"id": "r", "type": "control.return", "output": "steps.c.output"}]})");
  ASSERT_NE(engine, nullptr);
  ActionRegistry registry;
  registry.Register(
      "slow",
      [](const ActionContext&,
         const history::Payload& in) -> absl::StatusOr<history::Payload> {
        absl::SleepFor(absl::Milliseconds(1));
        return in;
      });
  WorkerPoolOptions options;
  options.threads = 8;
  options.poll_timeout = absl::Milliseconds(20);
  std::vector<std::string> runs;
  for (int i = 0; i < 40; ++i) {
    StartRunRequest s;
    s.set_namespace_("default");
    s.set_workflow("slow3");
    s.set_input_json("0");
    runs.push_back(engine->StartRun(s)->run_id());
  }
  auto count = [&](auto has) {
    int n = 0;
    for (const std::string& run : runs) {
      const history::History h = HistoryOf(*engine, run);
      for (const auto& e : h.events()) n += has(e);
    }
    return n;
  };
  {
    WorkerPool pool(engine.get(), &registry, options);
    ASSERT_THAT(pool.Start(), IsOk());
    absl::SleepFor(absl::Milliseconds(15));  // stop with work in flight
    pool.Stop();
    EXPECT_GT(pool.tasks_completed(), 0);
    EXPECT_EQ(count([](const history::HistoryEvent& e) {
                return e.has_step_completed();
              }),
              pool.tasks_completed());
  }
  EXPECT_EQ(count([](const history::HistoryEvent& e) {
              return e.has_step_timed_out() || e.has_step_failed();
            }),
            0);
  // Another pool finishes the rest; every step completes exactly once.
  WorkerPool pool(engine.get(), &registry, options);
  ASSERT_THAT(pool.Start(), IsOk());
  for (const DescribeRunResponse& run : AwaitCompleted(*engine, runs)) {
    EXPECT_EQ(run.output_json(), "3") << run.run_id();
  }
  pool.Stop();
  EXPECT_EQ(count([](const history::HistoryEvent& e) {
              return e.has_step_completed();
            }),
            3 * 40);
}

// The tasks a report hands back (the runs' next steps) run before the
// thread reports again: a report blocks until its commit is durable, and
// outcomes that arrived meanwhile must not keep those steps waiting.
// r1's step a is reported first; while that report is out, r2's step a
// ends (its outcome must wait: one report at a time). The report brings
// back r1's step b. The next report (r2's outcome) waits up to 10 s for
// step b to run: the reporting thread must have run it, or woken the other
// thread to report, not reported itself with b still queued.
TEST(EngineWorkerPoolTest, TasksAReportHandsBackRunBeforeTheNextReport) {
  auto store = history::NewInMemoryHistoryStore();
  std::unique_ptr<Engine> engine = OpenWith(store.get(), R"({
    "name": "two", "version": "1",
    "steps": [
      {"id": "a", "type": "action", "action": "t.step", "input": "input"},
      {"id": "b", "type": "action", "action": "t.step", "input": "steps.a.output"},
      {"id": "r", "type": "control.return", "output": "steps.b.output"}]})");
  ASSERT_NE(engine, nullptr);

  absl::Notification first_report, r2_a_done, r1_b_ran;
  class Reports final : public ForwardingEngine {
   public:
    Reports(Engine* inner, absl::Notification* first_report,
            absl::Notification* r2_a_done, absl::Notification* r1_b_ran)
        : ForwardingEngine(inner),
          first_report_(first_report),
          r2_a_done_(r2_a_done),
          r1_b_ran_(r1_b_ran) {}
    absl::StatusOr<ReportTasksResponse> ReportTasks(
        const ReportTasksRequest& request) override {
      const int n = ++calls_;
      if (n == 1) {
        first_report_->Notify();
        // r2's outcome reaches the pool while this report is out.
        r2_a_done_->WaitForNotificationWithTimeout(absl::Seconds(10));
        absl::SleepFor(absl::Milliseconds(50));
      } else if (n == 2) {
        b_ran_first_ =
            r1_b_ran_->WaitForNotificationWithTimeout(absl::Seconds(10));
      }
      return ForwardingEngine::ReportTasks(request);
    }
    bool b_ran_first() const { return b_ran_first_; }

   private:
    absl::Notification* first_report_;
    absl::Notification* r2_a_done_;
    absl::Notification* r1_b_ran_;
    std::atomic<int> calls_{0};
    std::atomic<bool> b_ran_first_{false};
  } reports(engine.get(), &first_report, &r2_a_done, &r1_b_ran);

  ActionRegistry registry;
  registry.Register(
      "t.step",
      [&](const ActionContext& c,
          const history::Payload& in) -> absl::StatusOr<history::Payload> {
        if (c.run_id == "r2" && c.step_id == "a") {
          first_report.WaitForNotificationWithTimeout(absl::Seconds(10));
          r2_a_done.Notify();
        }
        if (c.run_id == "r1" && c.step_id == "b") r1_b_ran.Notify();
        return in;
      });
  for (const char* id : {"r1", "r2"}) {
    StartRunRequest s;
    s.set_namespace_("default");
    s.set_workflow("two");
    s.set_run_id(id);
    s.set_input_json("7");
    ASSERT_THAT(engine->StartRun(s), IsOk());
  }
  WorkerPoolOptions options;
  options.threads = 2;
  options.reporters = 1;
  options.poll_timeout = absl::Seconds(5);
  WorkerPool pool(&reports, &registry, options);
  ASSERT_THAT(pool.Start(), IsOk());
  AwaitCompleted(*engine, {"r1", "r2"});
  pool.Stop();
  EXPECT_TRUE(reports.b_ran_first())
      << "r1's step b waited in the queue behind the next report";
}

}  // namespace
}  // namespace retrace::runtime
