#include "projection/read_models.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
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
  EXPECT_EQ(*models_->Lag(), static_cast<int64_t>(outbox.size()));
  Drain();
  EXPECT_EQ(*models_->Dump(), *once);
  ASSERT_THAT(models_->Rebuild(), IsOk());
  EXPECT_EQ(*models_->Dump(), *once) << "rebuild differs from incremental";
}

TEST_F(ReadModelsTest, TheEngineRunsOnWhileTheWriterIsStoppedAndItCatchesUp) {
  for (int i = 0; i < 3; ++i) Order(i);
  EXPECT_GT(*models_->Lag(), 0);
  auto none = models_->GetRun("default", "order-100");
  EXPECT_FALSE(none->has_value());
  Drain();
  EXPECT_EQ(*models_->Lag(), 0);
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

}  // namespace
}  // namespace retrace::projection
