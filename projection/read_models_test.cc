#include "projection/read_models.h"

#include <cstdlib>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "history/test_events.h"
#include "runtime/test_env.h"
#include "signals/ingress.h"

namespace retrace::projection {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::TestEnv;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kOrder[] = R"({"name": "order", "version": "1",
  "defaults": {"retry": {"initial_interval": "1s", "max_attempts": 3}},
  "steps": [
    {"id": "charge", "type": "action", "action": "flaky", "input": "{'card': input.card, 'email': input.email}"},
    {"id": "pay", "type": "event.wait", "event": "paid", "correlation": "input.id"},
    {"id": "ship", "type": "action", "action": "core.echo", "input": "{'to': input.email}"}]})";

class ReadModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int calls = 0;
    env_.actions().Register(
        "flaky",
        [calls](const runtime::ActionContext& ctx,
                const history::Payload& in) mutable
        -> absl::StatusOr<history::Payload> {
          if (ctx.attempt == 1)
            return runtime::ActionFailure("HTTP_503", "down");
          return history::JsonPayload(
              R"({"ok": true, "api_key": "sk_live_123456"})");
        });
    ASSERT_THAT(env_.RegisterDefinition(kOrder), IsOk());
    auto models = ReadModels::Open(&env_.store(), ":memory:");
    ASSERT_THAT(models, IsOk());
    models_ = *std::move(models);
  }

  std::string Order(int i) {
    auto run = env_.Start(
        "order",
        absl::StrCat(R"({"id": "O-)", i,
                     R"(", "card": "4111", "email": "jane@example.com"})"),
        absl::StrCat("order-", 100 + i));
    EXPECT_THAT(run, IsOk());
    env_.clock().Advance(absl::Seconds(1));
    return *run;
  }

  void Drain() {
    for (;;) {
      auto n = models_->ApplyOutbox(7);
      ASSERT_THAT(n, IsOk());
      if (*n == 0) break;
    }
  }

  TestEnv env_;
  std::unique_ptr<ReadModels> models_;
};

TEST_F(ReadModelsTest, EveryEventLandsInItsRows) {
  const std::string run = Order(1);
  ASSERT_THAT(env_.RunToCompletion(run).status(),
              HasErrorCode("RUN_NOT_FINISHED"));
  ASSERT_THAT(env_.Signal(run, "paid", "{}"), IsOk());
  Drain();
  auto row = models_->GetRun("default", run);
  ASSERT_THAT(row, IsOk());
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->status, "COMPLETED");
  EXPECT_EQ((*row)->workflow, "order");
  EXPECT_EQ((*row)->current_step_index, 2);
  EXPECT_EQ((*row)->steps_completed, 2);
  EXPECT_EQ((*row)->completion_reason, "completed");
  auto steps = models_->ListSteps("default", run);
  ASSERT_THAT(steps, IsOk());
  ASSERT_THAT(*steps, SizeIs(3));  // two attempts of charge, one ship
  EXPECT_EQ((*steps)[0].status, "failed");
  EXPECT_EQ((*steps)[0].error_code, "HTTP_503");
  EXPECT_EQ((*steps)[1].status, "completed");
  EXPECT_EQ((*steps)[1].attempt, 2);
  EXPECT_EQ((*steps)[2].step_id, "ship");
  auto logs = models_->Logs("default", run, 1, 100);
  ASSERT_THAT(logs, IsOk());
  EXPECT_EQ(logs->total, (*row)->last_event_id);
  std::string all;
  for (const LogRow& l : logs->logs) absl::StrAppend(&all, l.details, "\n");
  EXPECT_THAT(all, HasSubstr("j***@example.com"));
  EXPECT_THAT(all, Not(HasSubstr("jane@example.com")));
  EXPECT_THAT(all, Not(HasSubstr("sk_live_123456")));
  auto dump = models_->Dump();
  ASSERT_THAT(dump, IsOk());
  bool matched = false;
  for (const std::string& line : *dump) {
    matched |= absl::StartsWith(line, "waits|") &&
               absl::StrContains(line, "|matched|");
  }
  EXPECT_TRUE(matched) << "the wait row records the matching signal";
}

// Appends `events` (ids and times filled in, a second apart) to run `run`
// with one outbox row, as the engine would.
void AppendRun(history::HistoryStore& store, const std::string& run,
               std::vector<history::HistoryEvent> events) {
  static int64_t outbox = 1 << 20;
  history::AppendRequest req;
  req.ns = "default";
  req.run_id = run;
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].set_event_id(static_cast<int64_t>(i + 1));
    *events[i].mutable_event_time() =
        history::FromTime(absl::FromUnixSeconds(1767323045) + absl::Seconds(i));
  }
  req.events = std::move(events);
  history::OutboxEntry entry;
  entry.set_namespace_("default");
  entry.set_run_id(run);
  entry.set_first_event_id(1);
  entry.set_last_event_id(static_cast<int64_t>(req.events.size()));
  std::string key(8, '\0');
  for (int i = 7, v = outbox++; i >= 0; --i, v >>= 8) key[i] = char(v & 0xff);
  req.writes.push_back(history::Mutation::Put(history::KeySpace::kOutbox, key,
                                              entry.SerializeAsString()));
  ASSERT_THAT(store.Append(req), IsOk());
}

TEST_F(ReadModelsTest, EveryEventTypeLandsInTheRightRows) {
  using history::HistoryEvent;
  std::vector<HistoryEvent> a(24);
  a[0].mutable_run_started()->set_workflow("wf");  // 1
  a[0].mutable_run_started()->set_version("7");
  a[0].mutable_run_started()->set_attempt(2);
  a[0].mutable_run_started()->set_total_steps(4);
  auto* s1 = a[1].mutable_step_scheduled();  // 2
  s1->set_step_id("s1");
  s1->set_step_path("/steps/0");
  s1->set_action("act");
  s1->set_attempt(1);
  a[2].mutable_step_started()->set_scheduled_event_id(2);  // 3
  a[2].mutable_step_started()->set_step_id("s1");
  a[2].mutable_step_started()->set_worker_id("w-1");
  a[3].mutable_step_completed()->set_scheduled_event_id(2);  // 4
  a[3].mutable_step_completed()->set_step_id("s1");
  auto* s2 = a[4].mutable_step_scheduled();  // 5
  s2->set_step_id("s2");
  s2->set_step_path("/steps/1/then/0");
  s2->set_action("act");
  s2->set_attempt(1);
  a[5].mutable_step_started()->set_scheduled_event_id(5);  // 6
  a[5].mutable_step_started()->set_worker_id("w-2");
  a[6].mutable_step_failed()->set_scheduled_event_id(5);  // 7
  a[6].mutable_step_failed()->set_step_id("s2");
  a[6].mutable_step_failed()->mutable_failure()->set_code("HTTP_503");
  a[6].mutable_step_failed()->mutable_failure()->set_message(
      "down, ask ops.lead@example.com");
  a[7].mutable_timer_started()->set_timer_id("/steps/1/then/0/retry/2");  // 8
  a[7].mutable_timer_started()->set_step_id("s2");
  a[8].mutable_timer_fired()->set_timer_id("/steps/1/then/0/retry/2");  // 9
  auto* s3 = a[9].mutable_step_scheduled();                             // 10
  s3->set_step_id("s2");
  s3->set_step_path("/steps/1/then/0");
  s3->set_action("act");
  s3->set_attempt(2);
  a[10].mutable_step_timed_out()->set_scheduled_event_id(10);  // 11
  a[10].mutable_step_timed_out()->set_step_id("s2");
  auto* w1 = a[11].mutable_wait_started();  // 12
  w1->set_wait_id("/steps/2");
  w1->set_step_id("pay");
  w1->set_event_name("paid");
  w1->set_correlation_key("k1");
  a[12].mutable_signal_received()->set_signal_id("sig-1");  // 13
  a[12].mutable_signal_received()->set_event_name("paid");
  a[13].mutable_marker_recorded()->set_name("decisions");  // 14
  *a[13].mutable_marker_recorded()->mutable_details() =
      history::JsonPayload(R"(["wait_matched:pay:sig-1"])");
  auto* w2 = a[14].mutable_wait_started();  // 15
  w2->set_wait_id("/steps/3");
  w2->set_step_id("late");
  w2->set_event_name("never");
  *w2->mutable_deadline() =
      history::FromTime(absl::FromUnixSeconds(1767323045 + 3600));
  a[15].mutable_wait_timed_out()->set_wait_id("/steps/3");  // 16
  a[15].mutable_wait_timed_out()->set_step_id("late");
  a[16].mutable_human_task_created()->set_task_id("/steps/3/else/0");  // 17
  a[16].mutable_human_task_created()->set_step_id("ok");
  a[17].mutable_human_task_completed()->set_task_id("/steps/3/else/0");  // 18
  a[17].mutable_human_task_completed()->set_step_id("ok");
  a[18].mutable_timer_canceled()->set_timer_id("t");                // 19
  a[19].mutable_run_failed()->mutable_failure()->set_code("BOOM");  // 20
  a[19].mutable_run_failed()->mutable_failure()->set_message(
      "sk_live_abcdefgh");  // a credential as the whole value
  a[19].mutable_run_failed()->set_step_id("ok");
  a[20].mutable_run_retried()->set_from_step_id("ok");     // 21
  a[21].mutable_cancel_requested()->set_reason("enough");  // 22
  a[22].mutable_run_canceled()->set_reason("enough");      // 23
  a.pop_back();
  AppendRun(env_.store(), "a", a);

  std::vector<HistoryEvent> b(2), c(2), d(2);
  b[0].mutable_run_started()->set_workflow("wf");
  b[1].mutable_run_completed()->set_completion_reason("returned");
  c[0].mutable_run_started()->set_workflow("wf");
  c[1].mutable_run_terminated()->set_reason("by hand");
  d[0].mutable_run_started()->set_workflow("wf");
  d[1].mutable_run_continued_as_new()->set_new_run_id("d2");
  AppendRun(env_.store(), "b", b);
  AppendRun(env_.store(), "c", c);
  AppendRun(env_.store(), "d", d);
  Drain();

  // Every event type is in this test's histories, logged under its name.
  std::set<std::string> types;
  for (const char* run : {"a", "b", "c", "d"}) {
    auto logs = models_->Logs("default", run, 1, 100);
    ASSERT_THAT(logs, IsOk());
    for (const LogRow& l : logs->logs) types.insert(l.event_type);
  }
  for (int type : history::testing::AllEventTypes()) {
    const auto* field = HistoryEvent::descriptor()->FindFieldByNumber(type);
    EXPECT_TRUE(types.count(field->name())) << field->name() << " not covered";
  }

  auto run = *models_->GetRun("default", "a");
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->workflow, "wf");
  EXPECT_EQ(run->version, "7");
  EXPECT_EQ(run->attempt, 2);
  EXPECT_EQ(run->status, "CANCELED");
  EXPECT_EQ(run->completion_reason, "enough");
  EXPECT_EQ(run->error_code, "");  // cleared by the retry
  EXPECT_EQ(run->error_message, "");
  EXPECT_EQ(run->last_event_id, 23);
  EXPECT_EQ(run->steps_completed, 1);
  EXPECT_EQ(run->current_step_index, 3);  // the human task of step 3
  EXPECT_EQ(run->total_steps, 4);
  EXPECT_EQ(run->progress_percent, 75);
  EXPECT_EQ(run->created_at, "2026-01-02T03:04:05.000Z");
  EXPECT_EQ(run->updated_at, "2026-01-02T03:04:27.000Z");

  auto steps = *models_->ListSteps("default", "a");
  ASSERT_THAT(steps, SizeIs(3));
  EXPECT_EQ(steps[0].status, "completed");
  EXPECT_EQ(steps[0].worker_id, "w-1");
  EXPECT_EQ(steps[0].duration_ms, 1000);
  EXPECT_EQ(steps[1].status, "failed");
  EXPECT_EQ(steps[1].error_code, "HTTP_503");
  EXPECT_EQ(steps[1].error_message, "down, ask o***@example.com");
  EXPECT_EQ(steps[2].status, "timed_out");
  EXPECT_EQ(steps[2].error_code, "TIMEOUT");
  EXPECT_EQ(steps[2].attempt, 2);
  EXPECT_EQ(steps[2].duration_ms, 0);  // never started
  EXPECT_EQ(steps[2].started_at, steps[2].finished_at);

  std::vector<std::string> waits;
  auto dump = models_->Dump();
  ASSERT_THAT(dump, IsOk());
  for (const std::string& line : *dump) {
    if (absl::StartsWith(line, "waits|")) waits.push_back(line);
  }
  ASSERT_THAT(waits, SizeIs(2));
  EXPECT_THAT(waits[0], HasSubstr("|/steps/2|pay|paid|k1|matched|NULL|sig-1"));
  EXPECT_THAT(waits[1], HasSubstr("|/steps/3|late|never||timed_out|"
                                  "2026-01-02T04:04:05.000Z|NULL"));

  auto logs = *models_->Logs("default", "a", 1, 100);
  ASSERT_THAT(logs.logs, SizeIs(23));
  EXPECT_EQ(logs.logs[3].event_type, "step_completed");
  EXPECT_EQ(logs.logs[3].step_id, "s1");
  EXPECT_EQ(logs.logs[8].event_type, "timer_fired");
  EXPECT_EQ(logs.logs[8].step_id, "");
  EXPECT_THAT(logs.logs[19].details, HasSubstr(R"("message":"***")"));
  EXPECT_THAT(logs.logs[6].details, HasSubstr("o***@example.com"));

  EXPECT_EQ((*models_->GetRun("default", "b"))->status, "COMPLETED");
  EXPECT_EQ((*models_->GetRun("default", "b"))->completion_reason, "returned");
  EXPECT_EQ((*models_->GetRun("default", "c"))->status, "TERMINATED");
  EXPECT_EQ((*models_->GetRun("default", "d"))->status, "CONTINUED_AS_NEW");
  // Rebuilt from the histories alone, the same rows.
  auto incremental = models_->Dump();
  ASSERT_THAT(models_->Rebuild(), IsOk());
  EXPECT_EQ(*models_->Dump(), *incremental);
}

TEST_F(ReadModelsTest, ListFiltersByCreationTimeAndNamespace) {
  ASSERT_THAT(env_.RegisterDefinition(kOrder, "other"), IsOk());
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) {
    Order(i);  // a second apart
  }
  ASSERT_THAT(
      env_.Start("order", R"({"id": "X"})", "elsewhere", "other").status(),
      IsOk());
  Drain();
  RunQuery all;
  all.limit = 100;
  auto runs = models_->ListRuns(all);
  ASSERT_THAT(runs, IsOk());
  ASSERT_THAT(runs->runs, SizeIs(5));  // namespace "default" only
  // Newest first: runs[4] is order-100, created first.
  RunQuery window;
  window.created_from = runs->runs[3].created_at;  // order-101
  window.created_to = runs->runs[1].created_at;    // order-103
  auto in_window = models_->ListRuns(window);
  ASSERT_THAT(in_window, IsOk());
  ASSERT_THAT(in_window->runs, SizeIs(3));
  EXPECT_EQ(in_window->runs.front().run_id, "order-103");
  EXPECT_EQ(in_window->runs.back().run_id, "order-101");
  RunQuery other;
  other.ns = "other";
  auto elsewhere = models_->ListRuns(other);
  ASSERT_THAT(elsewhere, IsOk());
  ASSERT_THAT(elsewhere->runs, SizeIs(1));
  EXPECT_EQ(elsewhere->runs[0].run_id, "elsewhere");
  EXPECT_FALSE(models_->GetRun("default", "elsewhere")->has_value());
}

TEST_F(ReadModelsTest, ReapplyingAndRebuildingChangeNothing) {
  for (int i = 0; i < 5; ++i) Order(i);
  // Keep a copy of the outbox, apply it, then put it back as if the writer
  // had crashed between the SQLite commit and the outbox delete.
  std::vector<std::pair<std::string, std::string>> outbox;
  for (auto it = env_.store().Scan(history::KeySpace::kOutbox, "", "");
       it->Valid(); it->Next()) {
    outbox.emplace_back(std::string(it->key()), std::string(it->value()));
  }
  ASSERT_FALSE(outbox.empty());
  Drain();
  auto once = models_->Dump();
  ASSERT_THAT(once, IsOk());
  std::vector<history::Mutation> restore;
  for (const auto& [k, v] : outbox) {
    restore.push_back(history::Mutation::Put(history::KeySpace::kOutbox, k, v));
  }
  ASSERT_THAT(env_.store().Write(restore), IsOk());
  EXPECT_EQ(models_->Lag()->rows, static_cast<int64_t>(outbox.size()));
  Drain();
  EXPECT_EQ(*models_->Dump(), *once);
  ASSERT_THAT(models_->Rebuild(), IsOk());
  EXPECT_EQ(*models_->Dump(), *once) << "rebuild differs from incremental";
}

TEST_F(ReadModelsTest, TheEngineRunsOnWhileTheWriterIsStoppedAndItCatchesUp) {
  for (int i = 0; i < 3; ++i) Order(i);
  EXPECT_GT(models_->Lag()->rows, 0);
  auto none = models_->GetRun("default", "order-100");
  EXPECT_FALSE(none->has_value());
  Drain();
  EXPECT_EQ(models_->Lag()->rows, 0);
  EXPECT_TRUE(models_->GetRun("default", "order-100")->has_value());
}

TEST_F(ReadModelsTest, ListsRunsNewestFirstWithStableCursorsAndFilters) {
  for (int i = 0; i < 25; ++i) Order(i);
  Drain();
  RunQuery q;
  q.limit = 10;
  std::vector<std::string> ids;
  auto first = models_->ListRuns(q);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(first->runs, SizeIs(10));
  EXPECT_EQ(first->runs.front().run_id, "order-124");
  for (const auto& r : first->runs) ids.push_back(r.run_id);
  // New runs arrive between pages: the next page continues where it was.
  Order(99);
  Drain();
  q.cursor = first->next_cursor;
  for (;;) {
    auto page = models_->ListRuns(q);
    ASSERT_THAT(page, IsOk());
    for (const auto& r : page->runs) ids.push_back(r.run_id);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  ASSERT_THAT(ids, SizeIs(25));
  EXPECT_EQ(ids.back(), "order-100");
  RunQuery waiting;
  waiting.status = "WAITING";
  EXPECT_THAT(models_->ListRuns(waiting)->runs, SizeIs(0));
  RunQuery running;
  running.status = "RUNNING";
  running.workflow = "order";
  running.limit = 100;
  EXPECT_THAT(models_->ListRuns(running)->runs, SizeIs(26));
  RunQuery other;
  other.workflow = "nope";
  EXPECT_THAT(models_->ListRuns(other)->runs, SizeIs(0));
  RunQuery bad;
  bad.cursor = "garbage";
  EXPECT_THAT(models_->ListRuns(bad), HasErrorCode("INVALID_CURSOR"));
}

TEST_F(ReadModelsTest, SignalAuditRecordsBecomeRuntimeEvents) {
  const std::string run = Order(7);
  ASSERT_THAT(env_.AdvanceTime(absl::Seconds(5)),
              IsOk());  // past the retry: waiting
  signals::SignalIngress ingress(&env_.engine(), &env_.store(),
                                 signals::CorrelationConfig());
  signals::Event matched;
  matched.id = "evt-1";
  matched.name = "paid";
  matched.correlation_key = "O-7";
  signals::Event unresolved;
  unresolved.id = "evt-2";
  unresolved.name = "paid";
  ASSERT_THAT(ingress.Ingest({matched, unresolved}), IsOk());
  Drain();
  auto by_key = models_->RuntimeEvents("default", "O-7", "", 10);
  ASSERT_THAT(by_key, IsOk());
  ASSERT_THAT(*by_key, SizeIs(1));
  EXPECT_EQ((*by_key)[0].event_id, "evt-1");
  EXPECT_EQ((*by_key)[0].key_source, "explicit");
  EXPECT_EQ((*by_key)[0].matched_run_ids, absl::StrCat("[\"", run, "\"]"));
  auto by_id = models_->RuntimeEvents("default", "", "evt-2", 10);
  ASSERT_THAT(by_id, IsOk());
  ASSERT_THAT(*by_id, SizeIs(1));
  EXPECT_EQ((*by_id)[0].error_code, "CORRELATION_UNRESOLVED");
  auto incremental = models_->Dump();
  ASSERT_THAT(models_->Rebuild(), IsOk());
  EXPECT_EQ(*models_->Dump(), *incremental);
}

TEST_F(ReadModelsTest, LogPagesCarryTheirMetadata) {
  const std::string run = Order(1);
  Drain();
  auto all = models_->Logs("default", run, 1, 1000);
  ASSERT_THAT(all, IsOk());
  const int64_t total = all->total;
  ASSERT_GT(total, 3);
  auto page2 = models_->Logs("default", run, 2, 3);
  ASSERT_THAT(page2, IsOk());
  EXPECT_EQ(page2->total, total);
  EXPECT_EQ(page2->page, 2);
  EXPECT_EQ(page2->limit, 3);
  EXPECT_EQ(page2->total_pages, (total + 2) / 3);
  ASSERT_FALSE(page2->logs.empty());
  EXPECT_EQ(page2->logs.front().sequence, 4);
}

TEST_F(ReadModelsTest, BatchSizesDoNotChangeTheResult) {
  for (int i = 0; i < 6; ++i) Order(i);
  ASSERT_THAT(env_.AdvanceTime(absl::Seconds(5)), IsOk());
  ASSERT_THAT(env_.Signal("order-102", "paid", "{}"), IsOk());
  // One outbox row per batch: run and step rows go through SQLite between
  // every transition instead of staying cached within a batch.
  for (;;) {
    auto n = models_->ApplyOutbox(1);
    ASSERT_THAT(n, IsOk());
    if (*n == 0) break;
  }
  auto one_by_one = models_->Dump();
  ASSERT_THAT(one_by_one, IsOk());
  ASSERT_THAT(models_->Rebuild(), IsOk());
  EXPECT_EQ(*models_->Dump(), *one_by_one);
}

TEST_F(ReadModelsTest, ARowNamingLaterEventsAppliesTheRunsEarlierOnesToo) {
  const std::string run = Order(1);
  // Keep only the newest outbox row: the rows before it are lost (say, an
  // operator deleted them). The run's events after its last applied one are
  // applied all the same.
  std::vector<std::string> keys;
  for (auto it = env_.store().Scan(history::KeySpace::kOutbox, "", "");
       it->Valid(); it->Next()) {
    keys.emplace_back(it->key());
  }
  ASSERT_GT(keys.size(), 1u);
  std::vector<history::Mutation> deletes;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    deletes.push_back(
        history::Mutation::Delete(history::KeySpace::kOutbox, keys[i]));
  }
  ASSERT_THAT(env_.store().Write(deletes), IsOk());
  Drain();
  auto logs = models_->Logs("default", run, 1, 1000);
  ASSERT_THAT(logs, IsOk());
  auto info = env_.store().GetRunInfo("default", run);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(logs->total, info->next_event_id() - 1);
  EXPECT_EQ(logs->logs.front().event_type, "run_started");
}

TEST_F(ReadModelsTest, LagNamesTheOldestRowsTime) {
  const absl::Time first = env_.clock().Now();
  Order(1);
  Order(2);
  auto lag = models_->Lag();
  ASSERT_THAT(lag, IsOk());
  EXPECT_GT(lag->rows, 1);
  ASSERT_TRUE(lag->oldest.has_value());
  EXPECT_EQ(*lag->oldest, first);
  Drain();
  lag = models_->Lag();
  EXPECT_EQ(lag->rows, 0);
  EXPECT_FALSE(lag->oldest.has_value());
}

TEST_F(ReadModelsTest, QueryOnlyModelsReadAndRefuseToWrite) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/query-only.sqlite");
  auto writer = ReadModels::Open(&env_.store(), path);
  ASSERT_THAT(writer, IsOk());
  const std::string run = Order(1);
  ASSERT_THAT((*writer)->ApplyOutbox(), IsOk());
  auto reader = ReadModels::OpenForQueries(path);
  ASSERT_THAT(reader, IsOk());
  auto row = (*reader)->GetRun("default", run);
  ASSERT_THAT(row, IsOk());
  EXPECT_TRUE(row->has_value());
  EXPECT_THAT((*reader)->ApplyOutbox(), HasErrorCode("PROJECTION_READ_ONLY"));
  EXPECT_THAT((*reader)->Rebuild(), HasErrorCode("PROJECTION_READ_ONLY"));
  EXPECT_THAT((*reader)->Lag(), HasErrorCode("PROJECTION_READ_ONLY"));
}

TEST(ReadModelsMigrationTest, AVersion2FileGainsTheProgressColumns) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/v2.sqlite");
  {
    auto db = Database::Open(path);
    ASSERT_THAT(db, IsOk());
    // The version 2 runs table, with one row, as an older build left it.
    ASSERT_THAT(
        (*db)->Exec(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);"
            "INSERT INTO schema_version VALUES (1); INSERT INTO "
            "schema_version VALUES (2);"
            "CREATE TABLE runs (namespace TEXT NOT NULL, run_id TEXT NOT "
            "NULL, workflow TEXT NOT NULL, version TEXT NOT NULL, status TEXT "
            "NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
            "current_step_index INTEGER NOT NULL DEFAULT -1, steps_completed "
            "INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 1, "
            "completion_reason TEXT, error_code TEXT, error_message TEXT, "
            "last_event_id INTEGER NOT NULL, PRIMARY KEY (namespace, "
            "run_id));"
            "INSERT INTO runs (namespace, run_id, workflow, version, status, "
            "created_at, updated_at, current_step_index, last_event_id) "
            "VALUES ('default', 'old', 'wf', '1', 'RUNNING', "
            "'2026-01-02T03:04:05.000Z', '2026-01-02T03:04:05.000Z', 1, 4)"),
        IsOk());
  }
  auto models = ReadModels::OpenForQueries(path);
  ASSERT_THAT(models, IsOk());
  auto row = (*models)->GetRun("default", "old");
  ASSERT_THAT(row, IsOk());
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->current_step_index, 1);
  EXPECT_FALSE((*row)->total_steps.has_value());
  EXPECT_FALSE((*row)->progress_percent.has_value());
  auto version = Database::Open(path);
  auto st = (*version)->Prepare("SELECT MAX(version) FROM schema_version");
  ASSERT_THAT(st, IsOk());
  ASSERT_THAT(st->Step(), IsOk());
  EXPECT_EQ(st->Int(0), kSchemaVersion);
}

TEST(ReadModelsMigrationTest, ANewerFileIsRefused) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/v99.sqlite");
  {
    auto db = Database::Open(path);
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec("CREATE TABLE schema_version (version INTEGER "
                            "NOT NULL); INSERT INTO schema_version VALUES "
                            "(99);"),
                IsOk());
  }
  EXPECT_THAT(ReadModels::OpenForQueries(path),
              HasErrorCode("PROJECTION_SCHEMA_UNSUPPORTED"));
}

// Progress: each action fails its first attempt and waits a second for its
// retry, so that the read models can be looked at between steps.
class ProgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.actions().Register(
        "gate",
        [](const runtime::ActionContext& ctx,
           const history::Payload&) -> absl::StatusOr<history::Payload> {
          if (ctx.attempt == 1) return runtime::ActionFailure("BUSY", "later");
          return history::JsonPayload("{}");
        });
    auto models = ReadModels::Open(&env_.store(), ":memory:");
    ASSERT_THAT(models, IsOk());
    models_ = *std::move(models);
  }

  // (current_step_index, progress_percent or -1) of the run now.
  std::pair<int64_t, int64_t> Now(const std::string& run) {
    for (;;) {
      auto n = models_->ApplyOutbox();
      EXPECT_THAT(n, IsOk());
      if (!n.ok() || *n == 0) break;
    }
    auto row = models_->GetRun("default", run);
    EXPECT_THAT(row, IsOk());
    if (!row.ok() || !row->has_value()) return {-2, -2};
    return {(*row)->current_step_index, (*row)->progress_percent.value_or(-1)};
  }

  // The distinct states seen while time moves a second at a time, until the
  // run waits for something other than time.
  std::vector<std::pair<int64_t, int64_t>> Walk(const std::string& run,
                                                int seconds) {
    std::vector<std::pair<int64_t, int64_t>> seen = {Now(run)};
    for (int i = 0; i < seconds; ++i) {
      EXPECT_THAT(env_.AdvanceTime(absl::Seconds(1)), IsOk());
      auto state = Now(run);
      if (state != seen.back()) seen.push_back(state);
    }
    return seen;
  }

  TestEnv env_;
  std::unique_ptr<ReadModels> models_;
};

using State = std::pair<int64_t, int64_t>;

TEST_F(ProgressTest, AThreeStepRunGoesZeroThirtyThreeSixtySevenHundred) {
  ASSERT_THAT(env_.RegisterDefinition(R"({"name": "three", "version": "1",
    "defaults": {"retry": {"initial_interval": "1s", "max_attempts": 3}},
    "steps": [{"id": "a", "type": "action", "action": "gate"},
              {"id": "b", "type": "action", "action": "gate"},
              {"id": "c", "type": "action", "action": "gate"}]})"),
              IsOk());
  auto run = env_.Start("three", "{}", "three-1");
  ASSERT_THAT(run, IsOk());
  EXPECT_THAT(Walk(*run, 5),
              ::testing::ElementsAre(State{0, 0}, State{1, 33}, State{2, 67},
                                     State{2, 100}));
  auto row = models_->GetRun("default", *run);
  EXPECT_EQ((*row)->total_steps, 3);
  EXPECT_EQ((*row)->status, "COMPLETED");
}

TEST_F(ProgressTest, BranchesAndLoopsCountAsTheirTopLevelStep) {
  ASSERT_THAT(env_.RegisterDefinition(R"({"name": "shapes", "version": "1",
    "defaults": {"retry": {"initial_interval": "1s", "max_attempts": 3}},
    "steps": [
      {"id": "a", "type": "action", "action": "gate"},
      {"id": "route", "type": "control.if", "condition": "true",
       "then": [{"id": "b", "type": "action", "action": "gate"},
                {"id": "c", "type": "action", "action": "gate"}]},
      {"id": "each", "type": "control.forEach", "items": "[1, 2, 3]",
       "steps": [{"id": "d", "type": "action", "action": "gate"}]},
      {"id": "pause", "type": "time.sleep", "duration": "3s"},
      {"id": "set", "type": "state.assign", "vars": {"x": "1"}},
      {"id": "wait", "type": "event.wait", "event": "go",
       "correlation": "'k'"},
      {"id": "after", "type": "state.assign", "vars": {"y": "2"}}]})"),
              IsOk());
  auto run = env_.Start("shapes", "{}", "shapes-1");
  ASSERT_THAT(run, IsOk());
  // 7 top-level steps: the if's two actions are step 1, the loop's three
  // iterations step 2, the sleep step 3; the assignment (step 4) records no
  // event, so the wait (step 5) follows the sleep directly.
  EXPECT_THAT(Walk(*run, 20),
              ::testing::ElementsAre(State{0, 0}, State{1, 14}, State{2, 29},
                                     State{3, 43}, State{5, 71}));
  ASSERT_THAT(env_.Signal(*run, "go", "{}"), IsOk());
  EXPECT_EQ(Now(*run), (State{5, 100}));  // the last step records nothing
}

TEST_F(ProgressTest, AFailedRunKeepsTheStepsItGotThrough) {
  ASSERT_THAT(env_.RegisterDefinition(R"({"name": "fails", "version": "1",
    "defaults": {"retry": {"initial_interval": "1s", "max_attempts": 1}},
    "steps": [{"id": "a", "type": "action", "action": "core.noop"},
              {"id": "b", "type": "action", "action": "gate"},
              {"id": "c", "type": "action", "action": "gate"}]})"),
              IsOk());
  auto run = env_.Start("fails", "{}", "fails-1");
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(Now(*run), (State{1, 33}));
  EXPECT_EQ((*models_->GetRun("default", *run))->status, "FAILED");
}

TEST_F(ProgressTest, HistoriesWithoutATotalShowProgressUnknown) {
  // A history recorded before run_started carried total_steps.
  history::AppendRequest req;
  req.ns = "default";
  req.run_id = "old-1";
  history::HistoryEvent start;
  start.set_event_id(1);
  *start.mutable_event_time() = history::FromTime(env_.clock().Now());
  start.mutable_run_started()->set_workflow("old");
  start.mutable_run_started()->set_version("1");
  history::HistoryEvent step;
  step.set_event_id(2);
  *step.mutable_event_time() = start.event_time();
  step.mutable_step_scheduled()->set_step_id("b");
  step.mutable_step_scheduled()->set_step_path("/steps/1");
  step.mutable_step_scheduled()->set_action("x");
  step.mutable_step_scheduled()->set_attempt(1);
  req.events = {start, step};
  history::OutboxEntry entry;
  entry.set_namespace_("default");
  entry.set_run_id("old-1");
  entry.set_first_event_id(1);
  entry.set_last_event_id(2);
  req.writes.push_back(history::Mutation::Put(history::KeySpace::kOutbox,
                                              std::string(8, '\x7f'),
                                              entry.SerializeAsString()));
  ASSERT_THAT(env_.store().Append(req), IsOk());
  EXPECT_EQ(Now("old-1"), (State{1, -1}));
  auto row = models_->GetRun("default", "old-1");
  EXPECT_FALSE((*row)->total_steps.has_value());
}

}  // namespace
}  // namespace retrace::projection
