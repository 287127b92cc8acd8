#include "runtime/interpreter.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "runtime/definition.h"
#include "runtime/replay.h"
#include "runtime/run_driver.h"

namespace retrace::runtime {
namespace {

using history::HistoryEvent;
using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::shared_ptr<const Definition> Def(absl::string_view json) {
  DefinitionResult r = ParseDefinition(json);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.definition;
}

// The types of the events after `from` (1-based), for compact assertions.
std::vector<std::string> Types(const RunDriver& d, int from = 1) {
  std::vector<std::string> out;
  for (const auto& e : d.history().events()) {
    if (e.event_id() >= from) out.emplace_back(history::EventTypeName(e));
  }
  return out;
}

const HistoryEvent& Last(const RunDriver& d) {
  return d.history().events(d.history().events_size() - 1);
}

// Full replay of the driver's history reaches the state it reached
// incrementally.
void ExpectReplayMatches(const RunDriver& d,
                         std::shared_ptr<const Definition> def) {
  auto replayed = Replay(def, d.history());
  ASSERT_THAT(replayed, IsOk());
  EXPECT_EQ((*replayed)->StateJson(), d.interpreter().StateJson());
}

constexpr char kThreeActions[] = R"({
  "name": "three", "version": "1",
  "steps": [
    {"id": "a", "type": "action", "action": "core.echo", "input": "input.n + 1"},
    {"id": "b", "type": "action", "action": "core.echo", "input": "steps.a.output + 1"},
    {"id": "c", "type": "action", "action": "core.echo", "input": "steps.b.output + 1"},
    {"id": "done", "type": "control.return", "output": "{'result': steps.c.output}"}
  ]})";

TEST(InterpreterTest, SequentialActionsPassOutputsAlong) {
  auto def = Def(kThreeActions);
  RunDriver d(def, "default", "r1", R"({"n": 1})");
  ASSERT_THAT(d.Start(), IsOk());
  EXPECT_THAT(Types(d), ElementsAre("run_started", "step_scheduled"));
  EXPECT_EQ(Last(d).step_scheduled().input().data(), "2");
  ASSERT_THAT(d.StartStep("a", "w1"), IsOk());
  ASSERT_THAT(d.CompleteStep("a", "2"), IsOk());
  EXPECT_EQ(Last(d).step_scheduled().step_id(), "b");
  EXPECT_EQ(Last(d).step_scheduled().input().data(), "3");
  ASSERT_THAT(d.CompleteStep("b", "3"), IsOk());
  ASSERT_THAT(d.CompleteStep("c", "4"), IsOk());
  EXPECT_TRUE(d.finished());
  EXPECT_EQ(d.interpreter().status(), history::RUN_STATUS_COMPLETED);
  EXPECT_EQ(Last(d).run_completed().output().data(), R"({"result":4})");
  EXPECT_EQ(Last(d).run_completed().completion_reason(), "returned");
  ExpectReplayMatches(d, def);
  // Nothing may follow.
  EXPECT_THAT(d.CompleteStep("c", "4"), HasErrorCode("DRIVER_NOTHING_OPEN"));
}

TEST(InterpreterTest, CompletedStepsAreNeverScheduledAgainOnReplay) {
  auto def = Def(kThreeActions);
  RunDriver d(def, "default", "r1", R"({"n": 1})");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_THAT(d.CompleteStep("a", "2"), IsOk());
  auto replayed = Replay(def, d.history());
  ASSERT_THAT(replayed, IsOk());
  EXPECT_THAT((*replayed)->pending(), SizeIs(0));
  OpenWork open = (*replayed)->open_work();
  ASSERT_THAT(open.scheduled_event_ids, SizeIs(1));
  EXPECT_EQ(open.scheduled_event_ids[0], 4);  // b
}

constexpr char kRetrying[] = R"({
  "name": "retrying", "version": "1",
  "defaults": {"retry": {"initial_interval": "1s", "backoff_coefficient": 2,
                         "max_interval": "3s", "max_attempts": 4,
                         "non_retryable": ["CARD_DECLINED"]}},
  "steps": [
    {"id": "charge", "type": "action", "action": "payments.charge"},
    {"id": "ship", "type": "action", "action": "shipping.create", "on_error": "continue",
     "retry": {"max_attempts": 1}},
    {"id": "notify", "type": "action", "action": "email.send", "input": "steps.ship.status"}
  ]})";

TEST(InterpreterTest, RetriesWithExponentialBackoffCappedAtMaxInterval) {
  auto def = Def(kRetrying);
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  std::vector<int64_t> delays_ms;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const absl::Time failed_at = d.now();
    ASSERT_THAT(d.FailStep("charge", "HTTP_503"), IsOk());
    ASSERT_TRUE(Last(d).has_timer_started()) << Last(d).DebugString();
    delays_ms.push_back(absl::ToInt64Milliseconds(
        history::ToTime(Last(d).timer_started().fire_at()) - failed_at));
    EXPECT_EQ(Last(d).timer_started().purpose(),
              history::TIMER_PURPOSE_RETRY_BACKOFF);
    ASSERT_THAT(d.FireNextTimer(), IsOk());
    EXPECT_EQ(Last(d).step_scheduled().attempt(), attempt + 1);
  }
  EXPECT_THAT(delays_ms, ElementsAre(1000, 2000, 3000));
  // Fourth attempt fails too: max_attempts reached, the run fails.
  ASSERT_THAT(d.FailStep("charge", "HTTP_503"), IsOk());
  EXPECT_TRUE(d.finished());
  EXPECT_EQ(d.interpreter().status(), history::RUN_STATUS_FAILED);
  EXPECT_EQ(Last(d).run_failed().failure().code(), "HTTP_503");
  EXPECT_EQ(Last(d).run_failed().step_id(), "charge");
  const HistoryEvent& marker =
      d.history().events(d.history().events_size() - 2);
  ASSERT_TRUE(marker.has_marker_recorded());
  EXPECT_THAT(marker.marker_recorded().details().data(),
              HasSubstr("max_retries_exhausted:charge:4"));
  ExpectReplayMatches(d, def);
}

TEST(InterpreterTest, NonRetryableCodesSkipRetriesAndOnErrorContinues) {
  auto def = Def(kRetrying);
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_THAT(d.CompleteStep("charge", "{}"), IsOk());
  // ship fails once with max_attempts 1: on_error continue moves on.
  ASSERT_THAT(d.FailStep("ship", "NO_STOCK"), IsOk());
  ASSERT_TRUE(Last(d).has_step_scheduled());
  EXPECT_EQ(Last(d).step_scheduled().step_id(), "notify");
  EXPECT_EQ(Last(d).step_scheduled().input().data(), "\"failed\"");
  EXPECT_THAT(
      Last(d).step_scheduled().decisions(),
      ElementsAre("max_retries_exhausted:ship:1", "on_error_continue:ship"));

  RunDriver d2(def, "default", "r2", "{}");
  ASSERT_THAT(d2.Start(), IsOk());
  ASSERT_THAT(d2.FailStep("charge", "CARD_DECLINED"), IsOk());
  EXPECT_EQ(d2.interpreter().status(), history::RUN_STATUS_FAILED);
  RunDriver d3(def, "default", "r3", "{}");
  ASSERT_THAT(d3.Start(), IsOk());
  ASSERT_THAT(d3.FailStep("charge", "ANY", /*non_retryable=*/true), IsOk());
  EXPECT_EQ(d3.interpreter().status(), history::RUN_STATUS_FAILED);
  EXPECT_THAT(d3.history()
                  .events(d3.history().events_size() - 2)
                  .marker_recorded()
                  .details()
                  .data(),
              HasSubstr("skipped_non_retryable_error:charge:ANY"));
}

TEST(InterpreterTest, RetryAfterUsesTheExactDelay) {
  auto def = Def(kRetrying);
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  const absl::Time t0 = d.now();
  ASSERT_THAT(d.FailStep("charge", "HTTP_429", false, /*retry_after_ms=*/42000),
              IsOk());
  EXPECT_EQ(history::ToTime(Last(d).timer_started().fire_at()) - t0,
            absl::Seconds(42));
}

TEST(InterpreterTest, TimeoutIsARetryableFailure) {
  auto def = Def(kRetrying);
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_THAT(d.TimeOutStep("charge"), IsOk());
  EXPECT_TRUE(Last(d).has_timer_started());
  ASSERT_THAT(d.FireNextTimer(), IsOk());
  EXPECT_EQ(Last(d).step_scheduled().attempt(), 2);
}

constexpr char kBranches[] = R"({
  "name": "branches", "version": "1",
  "steps": [
    {"id": "init", "type": "state.assign", "vars": {"total": "input.amount * 2", "tag": "'x'"}},
    {"id": "big", "type": "control.if", "condition": "vars.total > 100",
     "then": [{"id": "review", "type": "action", "action": "review"}],
     "else": [{"id": "auto", "type": "action", "action": "approve"}]},
    {"id": "route", "type": "control.switch",
     "cases": [{"when": "input.country = 'DE'", "steps": [{"id": "de", "type": "action", "action": "ship.de"}]},
               {"when": "input.country = 'FR'", "steps": [{"id": "fr", "type": "action", "action": "ship.fr"}]}],
     "default": [{"id": "intl", "type": "action", "action": "ship.intl"}]}
  ]})";

TEST(InterpreterTest, ConditionsAndSwitchesRecordTheBranchTaken) {
  auto def = Def(kBranches);
  RunDriver d(def, "default", "r", R"({"amount": 80, "country": "FR"})");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_TRUE(Last(d).has_step_scheduled());
  EXPECT_EQ(Last(d).step_scheduled().action(), "review");
  EXPECT_THAT(Last(d).step_scheduled().decisions(),
              ElementsAre("condition:big=then"));
  ASSERT_THAT(d.CompleteStep("review", "true"), IsOk());
  EXPECT_EQ(Last(d).step_scheduled().action(), "ship.fr");
  EXPECT_THAT(Last(d).step_scheduled().decisions(),
              ElementsAre("switch:route=case 1"));
  ASSERT_THAT(d.CompleteStep("fr", "{}"), IsOk());
  EXPECT_EQ(d.interpreter().status(), history::RUN_STATUS_COMPLETED);
  EXPECT_EQ(Last(d).run_completed().completion_reason(), "completed");
  EXPECT_THAT(d.interpreter().StateJson(), HasSubstr("\"total\": 160"));

  RunDriver small(def, "default", "s", R"({"amount": 10, "country": "US"})");
  ASSERT_THAT(small.Start(), IsOk());
  EXPECT_EQ(Last(small).step_scheduled().action(), "approve");
  ASSERT_THAT(small.CompleteStep("auto", "true"), IsOk());
  EXPECT_EQ(Last(small).step_scheduled().action(), "ship.intl");
  EXPECT_THAT(Last(small).step_scheduled().decisions(),
              ElementsAre("switch:route=default"));
  ExpectReplayMatches(small, def);
}

constexpr char kLoop[] = R"({
  "name": "loop", "version": "1",
  "steps": [
    {"id": "each", "type": "control.forEach", "items": "input.lines", "as": "line",
     "steps": [{"id": "pick", "type": "action", "action": "wms.pick",
                "input": "{'sku': line.sku, 'n': index}"}]},
    {"id": "after", "type": "control.return", "output": "steps.each.output.count"}
  ]})";

TEST(InterpreterTest, ForEachRunsTheBodyOncePerItemInOrder) {
  auto def = Def(kLoop);
  RunDriver d(def, "default", "r",
              R"({"lines": [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]})");
  ASSERT_THAT(d.Start(), IsOk());
  std::vector<std::string> inputs;
  for (int i = 0; i < 3; ++i) {
    inputs.push_back(Last(d).step_scheduled().input().data());
    EXPECT_EQ(Last(d).step_scheduled().step_path(),
              absl::StrCat("/steps/0/steps/0#", i));
    ASSERT_THAT(d.CompleteStep("pick", "{}"), IsOk());
  }
  EXPECT_THAT(inputs,
              ElementsAre(R"({"sku":"a","n":0})", R"({"sku":"b","n":1})",
                          R"({"sku":"c","n":2})"));
  EXPECT_EQ(Last(d).run_completed().output().data(), "3");
  ExpectReplayMatches(d, def);

  RunDriver empty(def, "default", "e", R"({"lines": []})");
  ASSERT_THAT(empty.Start(), IsOk());
  EXPECT_EQ(Last(empty).run_completed().output().data(), "0");
}

constexpr char kParallel[] = R"({
  "name": "fanout", "version": "1",
  "steps": [
    {"id": "fan", "type": "control.parallel", "branches": [
      [{"id": "a", "type": "action", "action": "x"}],
      [{"id": "b1", "type": "action", "action": "y"}, {"id": "b2", "type": "action", "action": "z"}]
    ]},
    {"id": "join", "type": "action", "action": "join", "input": "steps.fan.output.status"}
  ]})";

TEST(InterpreterTest, ParallelBranchesRunConcurrentlyAndJoin) {
  auto def = Def(kParallel);
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  EXPECT_THAT(Types(d),
              ElementsAre("run_started", "step_scheduled", "step_scheduled"));
  ASSERT_THAT(d.CompleteStep("b1", "1"), IsOk());
  EXPECT_EQ(Last(d).step_scheduled().step_id(), "b2");
  ASSERT_THAT(d.CompleteStep("b2", "2"), IsOk());
  EXPECT_TRUE(Last(d).has_step_completed());  // still waiting for a
  ASSERT_THAT(d.CompleteStep("a", "0"), IsOk());
  EXPECT_EQ(Last(d).step_scheduled().step_id(), "join");
  EXPECT_EQ(Last(d).step_scheduled().input().data(),
            R"(["completed","completed"])");
  ExpectReplayMatches(d, def);
}

TEST(InterpreterTest, AFailingBranchFailsTheParallelStep) {
  auto def = Def(kParallel);
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_THAT(d.FailStep("a", "BOOM", true), IsOk());
  EXPECT_EQ(d.interpreter().status(), history::RUN_STATUS_FAILED);
  EXPECT_EQ(Last(d).run_failed().step_id(), "a");
}

constexpr char kWait[] = R"({
  "name": "pay", "version": "1",
  "steps": [
    {"id": "wait_pay", "type": "event.wait", "event": "payment.received",
     "correlation": "input.order", "filter": "event.payload.amount >= input.amount",
     "timeout": "2h", "into": "payment"},
    {"id": "ship", "type": "action", "action": "ship", "input": "vars.payment.payload.amount"}
  ]})";

TEST(InterpreterTest, WaitFilterDecidesInsideTheRun) {
  auto def = Def(kWait);
  RunDriver d(def, "default", "r", R"({"order": "o-1", "amount": 50})");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_TRUE(Last(d).has_wait_started());
  EXPECT_EQ(Last(d).wait_started().correlation_key(), "o-1");
  EXPECT_EQ(history::ToTime(Last(d).wait_started().deadline()) - d.now(),
            absl::Hours(2));
  // Too small: the run keeps waiting.
  ASSERT_THAT(d.Signal("payment.received", R"({"amount": 10})", "o-1"), IsOk());
  EXPECT_TRUE(Last(d).has_signal_received());
  EXPECT_THAT(d.OpenWaits(), SizeIs(1));
  // Another name: ignored (buffered).
  ASSERT_THAT(d.Signal("payment.refunded", R"({"amount": 99})", "o-1"), IsOk());
  EXPECT_THAT(d.OpenWaits(), SizeIs(1));
  ASSERT_THAT(d.Signal("payment.received", R"({"amount": 60})", "o-1"), IsOk());
  EXPECT_EQ(Last(d).step_scheduled().input().data(), "60");
  EXPECT_THAT(d.OpenWaits(), SizeIs(0));
  ExpectReplayMatches(d, def);
}

TEST(InterpreterTest, WaitTimesOut) {
  auto def = Def(kWait);
  RunDriver d(def, "default", "r", R"({"order": "o-1", "amount": 50})");
  ASSERT_THAT(d.Start(), IsOk());
  const std::string wait_id = Last(d).wait_started().wait_id();
  ASSERT_THAT(d.TimeOutWait(wait_id), IsOk());
  EXPECT_EQ(d.interpreter().status(), history::RUN_STATUS_FAILED);
  EXPECT_EQ(Last(d).run_failed().failure().code(), "WAIT_TIMEOUT");
}

TEST(InterpreterTest, ASignalThatArrivedEarlyIsTakenWhenTheWaitOpens) {
  auto def = Def(R"({"name": "early", "version": "1", "steps": [
    {"id": "first", "type": "action", "action": "a"},
    {"id": "w", "type": "event.wait", "event": "go"},
    {"id": "last", "type": "action", "action": "b", "input": "steps.w.output.payload"}]})");
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_THAT(d.Signal("go", "7"), IsOk());
  ASSERT_THAT(d.CompleteStep("first", "{}"), IsOk());
  EXPECT_EQ(Last(d).step_scheduled().input().data(), "7");
  ExpectReplayMatches(d, def);
}

constexpr char kSleep[] = R"json({
  "name": "sleepy", "version": "1",
  "steps": [
    {"id": "zero", "type": "time.sleep", "duration": "0s"},
    {"id": "nap", "type": "time.sleep", "duration": "input.delay"},
    {"id": "after", "type": "action", "action": "a", "input": "$now()"}
  ]})json";

TEST(InterpreterTest, SleepsUseTimersAndNowIsTheEventTime) {
  auto def = Def(kSleep);
  RunDriver d(def, "default", "r", R"({"delay": "2h"})");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_TRUE(Last(d).has_timer_started());
  EXPECT_EQ(Last(d).timer_started().purpose(), history::TIMER_PURPOSE_SLEEP);
  EXPECT_EQ(history::ToTime(Last(d).timer_started().fire_at()) - d.now(),
            absl::Hours(2));
  ASSERT_THAT(d.FireNextTimer(), IsOk());
  // $now() is the timer_fired event's time, two hours after the start.
  EXPECT_EQ(Last(d).step_scheduled().input().data(),
            "\"2026-01-02T05:04:05.000Z\"");
  ExpectReplayMatches(d, def);
}

TEST(InterpreterTest, SleepOverThirtyDaysFailsAndZeroIsANoOp) {
  auto def = Def(kSleep);
  RunDriver zero(def, "default", "z", R"({"delay": 0})");
  ASSERT_THAT(zero.Start(), IsOk());
  EXPECT_TRUE(Last(zero).has_step_scheduled());
  RunDriver max(def, "default", "m", R"({"delay": "30d"})");
  ASSERT_THAT(max.Start(), IsOk());
  EXPECT_TRUE(Last(max).has_timer_started());
  RunDriver over(def, "default", "o", R"({"delay": "31d"})");
  ASSERT_THAT(over.Start(), IsOk());
  EXPECT_EQ(Last(over).run_failed().failure().code(), "SLEEP_TOO_LONG");
  RunDriver bad(def, "default", "b", R"({"delay": -5})");
  ASSERT_THAT(bad.Start(), IsOk());
  EXPECT_EQ(Last(bad).run_failed().failure().code(), "INVALID_DURATION");
}

TEST(InterpreterTest, HumanTasksCompleteOrTimeOut) {
  auto def = Def(R"({"name": "approval", "version": "1", "steps": [
    {"id": "approve", "type": "human.task", "title": "'Approve ' & input.what",
     "assignee": "'ops'", "form": "{'amount': input.amount}", "timeout": "3d"},
    {"id": "decide", "type": "control.if", "condition": "steps.approve.output.approved",
     "then": [{"id": "yes", "type": "control.return", "output": "'approved'"}],
     "else": [{"id": "no", "type": "control.return", "output": "'rejected'"}]}]})");
  RunDriver d(def, "default", "r", R"({"what": "refund", "amount": 5})");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_TRUE(Last(d).has_human_task_created());
  EXPECT_EQ(Last(d).human_task_created().title(), "Approve refund");
  EXPECT_EQ(Last(d).human_task_created().assignee(), "ops");
  EXPECT_EQ(Last(d).human_task_created().form().data(), R"({"amount":5})");
  const std::string task = Last(d).human_task_created().task_id();
  ASSERT_THAT(d.CompleteHumanTask(task, R"({"approved": true})"), IsOk());
  EXPECT_EQ(Last(d).run_completed().output().data(), "\"approved\"");
  ExpectReplayMatches(d, def);

  RunDriver late(def, "default", "l", R"({"what": "x", "amount": 1})");
  ASSERT_THAT(late.Start(), IsOk());
  ASSERT_THAT(late.TimeOutWait(task), IsOk());
  EXPECT_EQ(Last(late).run_failed().failure().code(), "HUMAN_TASK_TIMEOUT");
}

TEST(InterpreterTest, GoalConditionSkipsTheRemainingSteps) {
  auto def = Def(R"({"name": "goal", "version": "1",
    "goal": {"condition": "vars.converted = true"},
    "steps": [
      {"id": "mail1", "type": "action", "action": "mail"},
      {"id": "mark", "type": "state.assign", "vars": {"converted": "steps.mail1.output.clicked"}},
      {"id": "mail2", "type": "action", "action": "mail"}]})");
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_THAT(d.CompleteStep("mail1", R"({"clicked": true})"), IsOk());
  EXPECT_EQ(Last(d).run_completed().completion_reason(), "goal_achieved");
  ExpectReplayMatches(d, def);
}

TEST(InterpreterTest, GoalEventEndsTheRunWhileItWaits) {
  auto def = Def(R"({"name": "goal", "version": "1",
    "goal": {"event": "customer.converted", "correlation": "input.customer"},
    "steps": [{"id": "nap", "type": "time.sleep", "duration": "7d"},
              {"id": "mail", "type": "action", "action": "mail"}]})");
  RunDriver d(def, "default", "r", R"({"customer": "c-9"})");
  ASSERT_THAT(d.Start(), IsOk());
  EXPECT_THAT(Types(d),
              ElementsAre("run_started", "wait_started", "timer_started"));
  ASSERT_THAT(d.Signal("customer.converted", "{}", "c-8"),
              IsOk());  // other key
  EXPECT_FALSE(d.finished());
  ASSERT_THAT(d.Signal("customer.converted", "{}", "c-9"), IsOk());
  EXPECT_EQ(Last(d).run_completed().completion_reason(), "goal_achieved");
  ExpectReplayMatches(d, def);
}

TEST(InterpreterTest, CancelTerminateAndRetry) {
  auto def = Def(kThreeActions);
  RunDriver c(def, "default", "c", R"({"n": 1})");
  ASSERT_THAT(c.Start(), IsOk());
  ASSERT_THAT(c.Cancel("no longer needed"), IsOk());
  EXPECT_EQ(c.interpreter().status(), history::RUN_STATUS_CANCELED);
  EXPECT_EQ(Last(c).run_canceled().reason(), "no longer needed");
  EXPECT_THAT(c.Cancel(), HasErrorCode("RUN_ALREADY_TERMINAL"));
  ExpectReplayMatches(c, def);

  RunDriver t(def, "default", "t", R"({"n": 1})");
  ASSERT_THAT(t.Start(), IsOk());
  ASSERT_THAT(t.Terminate(), IsOk());
  EXPECT_EQ(t.interpreter().status(), history::RUN_STATUS_TERMINATED);

  RunDriver r(def, "default", "r", R"({"n": 1})");
  ASSERT_THAT(r.Start(), IsOk());
  ASSERT_THAT(r.CompleteStep("a", "2"), IsOk());
  ASSERT_THAT(r.FailStep("b", "FATAL", true), IsOk());
  EXPECT_EQ(r.interpreter().status(), history::RUN_STATUS_FAILED);
  ASSERT_THAT(r.RetryRun("b"), IsOk());
  EXPECT_EQ(r.interpreter().status(), history::RUN_STATUS_RUNNING);
  ASSERT_TRUE(Last(r).has_step_scheduled());
  EXPECT_EQ(Last(r).step_scheduled().step_id(), "b");
  EXPECT_EQ(Last(r).step_scheduled().attempt(), 1);
  EXPECT_EQ(Last(r).step_scheduled().input().data(), "3");
  ASSERT_THAT(r.CompleteStep("b", "3"), IsOk());
  ASSERT_THAT(r.CompleteStep("c", "4"), IsOk());
  EXPECT_EQ(r.interpreter().status(), history::RUN_STATUS_COMPLETED);
  ExpectReplayMatches(r, def);
}

TEST(InterpreterTest, OnFailureStepsRunBeforeTheRunFails) {
  auto def = Def(R"({"name": "f", "version": "1",
    "steps": [{"id": "a", "type": "action", "action": "x", "retry": {"max_attempts": 1}}],
    "on_failure": [{"id": "alert", "type": "action", "action": "pager", "input": "steps.a.error.code"}]})");
  RunDriver d(def, "default", "r", "{}");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_THAT(d.FailStep("a", "E1"), IsOk());
  EXPECT_EQ(Last(d).step_scheduled().step_id(), "alert");
  EXPECT_EQ(Last(d).step_scheduled().input().data(), "\"E1\"");
  ASSERT_THAT(d.CompleteStep("alert", "{}"), IsOk());
  EXPECT_EQ(d.interpreter().status(), history::RUN_STATUS_FAILED);
  EXPECT_EQ(Last(d).run_failed().failure().code(), "E1");
  ExpectReplayMatches(d, def);
}

TEST(InterpreterTest, ContinueAsNewCarriesTheNewInput) {
  auto def = Def(R"({"name": "can", "version": "1", "steps": [
    {"id": "a", "type": "action", "action": "x"},
    {"id": "next", "type": "control.continueAsNew", "input": "{'page': input.page + 1}"}]})");
  RunDriver d(def, "default", "r", R"({"page": 1})");
  ASSERT_THAT(d.Start(), IsOk());
  ASSERT_THAT(d.CompleteStep("a", "{}"), IsOk());
  EXPECT_EQ(d.interpreter().status(), history::RUN_STATUS_CONTINUED_AS_NEW);
  EXPECT_EQ(Last(d).run_continued_as_new().input().data(), R"({"page":2})");
}

TEST(InterpreterTest, ExpressionErrorsFailTheRunWithThePointer) {
  auto def = Def(R"({"name": "e", "version": "1", "steps": [
    {"id": "a", "type": "action", "action": "x", "input": "input.s + 1"}]})");
  RunDriver d(def, "default", "r", R"({"s": "text"})");
  ASSERT_THAT(d.Start(), IsOk());
  EXPECT_EQ(Last(d).run_failed().failure().code(), "EXPRESSION_FAILED");
  EXPECT_THAT(Last(d).run_failed().failure().message(),
              HasSubstr("/steps/0/input"));
}

TEST(InterpreterTest, PayloadLimitAppliesToStepInputsAtAndOverTheLimit) {
  auto def = Def(R"({"name": "p", "version": "1", "steps": [
    {"id": "a", "type": "action", "action": "x", "input": "{'k': input.k & 'zz'}"}]})");
  InterpreterOptions options;
  options.max_payload_bytes = 12;
  const absl::Time t = absl::FromUnixSeconds(1767323045);
  RunDriver at(def, "default", "at", R"({"k":"12"})", t, options);
  ASSERT_THAT(at.Start(), IsOk());
  EXPECT_EQ(Last(at).step_scheduled().input().data(), R"({"k":"12zz"})");  // 12
  RunDriver over(def, "default", "over", R"({"k":"123"})", t, options);
  ASSERT_THAT(over.Start(), IsOk());
  EXPECT_EQ(Last(over).run_failed().failure().code(), "PAYLOAD_TOO_LARGE");
  EXPECT_THAT(Last(over).run_failed().failure().message(),
              HasSubstr("13 bytes, limit 12 bytes"));
}

// ---- non-determinism ------------------------------------------------------

// Records a history with `before`, then replays it against `after` and
// returns the error.
absl::Status ReplayAgainst(absl::string_view before, absl::string_view after,
                           const std::function<void(RunDriver&)>& drive) {
  auto def = Def(before);
  RunDriver d(def, "default", "r", R"({"n": 1})");
  EXPECT_THAT(d.Start(), IsOk());
  drive(d);
  auto changed = Def(after);
  return Replay(changed, d.history()).status();
}

constexpr char kBase[] = R"({"name": "nd", "version": "1", "steps": [
  {"id": "a", "type": "action", "action": "x", "input": "input.n"},
  {"id": "b", "type": "action", "action": "y"},
  {"id": "w", "type": "event.wait", "event": "go"},
  {"id": "s", "type": "time.sleep", "duration": "1h"}]})";

void DriveAll(RunDriver& d) {
  ASSERT_THAT(d.CompleteStep("a", "{}"), IsOk());  // events 3-4
  ASSERT_THAT(d.CompleteStep("b", "{}"), IsOk());  // events 5-6
  ASSERT_THAT(d.Signal("go", "{}"), IsOk());       // events 7-8
}

TEST(NondeterminismTest, StepRemoved) {
  absl::Status s =
      ReplayAgainst(kBase, R"({"name": "nd", "version": "2", "steps": [
    {"id": "a", "type": "action", "action": "x", "input": "input.n"},
    {"id": "w", "type": "event.wait", "event": "go"},
    {"id": "s", "type": "time.sleep", "duration": "1h"}]})",
                    DriveAll);
  EXPECT_THAT(s, HasErrorCode("NONDETERMINISM"));
  EXPECT_THAT(s.message(), HasSubstr("event 4:"));
  EXPECT_THAT(s.message(), HasSubstr("step=b"));
  EXPECT_THAT(s.message(), HasSubstr("wait_started"));
}

TEST(NondeterminismTest, StepsReordered) {
  absl::Status s =
      ReplayAgainst(kBase, R"({"name": "nd", "version": "2", "steps": [
    {"id": "b", "type": "action", "action": "y"},
    {"id": "a", "type": "action", "action": "x", "input": "input.n"},
    {"id": "w", "type": "event.wait", "event": "go"},
    {"id": "s", "type": "time.sleep", "duration": "1h"}]})",
                    DriveAll);
  EXPECT_THAT(s, HasErrorCode("NONDETERMINISM"));
  EXPECT_THAT(s.message(), HasSubstr("event 2:"));
}

TEST(NondeterminismTest, ActionRenamed) {
  absl::Status s =
      ReplayAgainst(kBase, R"({"name": "nd", "version": "2", "steps": [
    {"id": "a", "type": "action", "action": "x", "input": "input.n"},
    {"id": "b", "type": "action", "action": "y2"},
    {"id": "w", "type": "event.wait", "event": "go"},
    {"id": "s", "type": "time.sleep", "duration": "1h"}]})",
                    DriveAll);
  EXPECT_THAT(s, HasErrorCode("NONDETERMINISM"));
  EXPECT_THAT(s.message(), HasSubstr("event 4:"));
  EXPECT_THAT(s.message(), HasSubstr("action=y2"));
}

TEST(NondeterminismTest, ActionInputChanged) {
  absl::Status s =
      ReplayAgainst(kBase, R"({"name": "nd", "version": "2", "steps": [
    {"id": "a", "type": "action", "action": "x", "input": "input.n + 1"},
    {"id": "b", "type": "action", "action": "y"},
    {"id": "w", "type": "event.wait", "event": "go"},
    {"id": "s", "type": "time.sleep", "duration": "1h"}]})",
                    DriveAll);
  EXPECT_THAT(s, HasErrorCode("NONDETERMINISM"));
  EXPECT_THAT(s.message(), HasSubstr("event 2:"));
  EXPECT_THAT(s.message(), HasSubstr("input=2"));
}

TEST(NondeterminismTest, WaitEventChanged) {
  absl::Status s =
      ReplayAgainst(kBase, R"({"name": "nd", "version": "2", "steps": [
    {"id": "a", "type": "action", "action": "x", "input": "input.n"},
    {"id": "b", "type": "action", "action": "y"},
    {"id": "w", "type": "event.wait", "event": "go.now"},
    {"id": "s", "type": "time.sleep", "duration": "1h"}]})",
                    DriveAll);
  EXPECT_THAT(s, HasErrorCode("NONDETERMINISM"));
  EXPECT_THAT(s.message(), HasSubstr("event 6:"));
  EXPECT_THAT(s.message(), HasSubstr("event=go.now"));
}

TEST(NondeterminismTest, SleepTurnedIntoAction) {
  absl::Status s =
      ReplayAgainst(kBase, R"({"name": "nd", "version": "2", "steps": [
    {"id": "a", "type": "action", "action": "x", "input": "input.n"},
    {"id": "b", "type": "action", "action": "y"},
    {"id": "w", "type": "event.wait", "event": "go"},
    {"id": "s", "type": "action", "action": "sleep"}]})",
                    DriveAll);
  EXPECT_THAT(s, HasErrorCode("NONDETERMINISM"));
  EXPECT_THAT(s.message(), HasSubstr("event 8:"));
  EXPECT_THAT(s.message(), HasSubstr("timer_started"));
}

TEST(NondeterminismTest, UnchangedDefinitionReplaysAndPartialReplayStopsAtN) {
  auto def = Def(kBase);
  RunDriver d(def, "default", "r", R"({"n": 1})");
  ASSERT_THAT(d.Start(), IsOk());
  DriveAll(d);
  ASSERT_THAT(Replay(def, d.history()), IsOk());
  auto at4 = Replay(def, d.history(), 4);
  ASSERT_THAT(at4, IsOk());
  EXPECT_EQ((*at4)->next_event_id(), 5);
  EXPECT_THAT((*at4)->StateJson(), HasSubstr("\"step\": \"b\""));
}

}  // namespace
}  // namespace retrace::runtime
