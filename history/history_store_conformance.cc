#include "history/history_store_conformance.h"

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "history/events.h"
#include "history/test_events.h"

namespace retrace::history::testing {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::vector<HistoryEvent> ReadAll(HistoryStore& store, absl::string_view ns,
                                  absl::string_view run, int64_t from = 1) {
  std::vector<HistoryEvent> out;
  auto it = store.ReadHistory(ns, run, from);
  for (; it->Valid(); it->Next()) out.push_back(it->event());
  EXPECT_THAT(it->status(), IsOk());
  return out;
}

AppendRequest Request(absl::string_view run, int64_t expected,
                      std::vector<HistoryEvent> events,
                      absl::string_view ns = "default") {
  AppendRequest r;
  r.ns = std::string(ns);
  r.run_id = std::string(run);
  r.expected_next_event_id = expected;
  r.events = std::move(events);
  return r;
}

bool Same(const HistoryEvent& a, const HistoryEvent& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST_P(HistoryStoreConformanceTest, RoundTripsEveryEventType) {
  // One run per terminal type, each holding every non-terminal type.
  const std::set<int> terminal = {HistoryEvent::kRunCompletedFieldNumber,
                                  HistoryEvent::kRunCanceledFieldNumber,
                                  HistoryEvent::kRunTerminatedFieldNumber,
                                  HistoryEvent::kRunContinuedAsNewFieldNumber};
  std::set<int> seen;
  for (int end_type : terminal) {
    std::vector<HistoryEvent> events;
    events.push_back(
        MakeEvent(1, TestTime(), HistoryEvent::kRunStartedFieldNumber));
    for (int type : AllEventTypes()) {
      if (type == HistoryEvent::kRunStartedFieldNumber ||
          terminal.count(type) || type == HistoryEvent::kRunFailedFieldNumber ||
          type == HistoryEvent::kRunRetriedFieldNumber) {
        continue;
      }
      int64_t id = events.size() + 1;
      events.push_back(MakeEvent(id, TestTime(id), type));
    }
    for (int type :
         std::vector<int>{HistoryEvent::kRunFailedFieldNumber,
                          HistoryEvent::kRunRetriedFieldNumber, end_type}) {
      int64_t id = events.size() + 1;
      events.push_back(MakeEvent(id, TestTime(id), type));
    }
    const std::string run = absl::StrCat("run-", end_type);
    ASSERT_THAT(store_->Append(Request(run, 1, events)), IsOk());
    std::vector<HistoryEvent> read = ReadAll(*store_, "default", run);
    ASSERT_THAT(read, SizeIs(events.size()));
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_TRUE(Same(read[i], events[i])) << read[i].DebugString();
      seen.insert(static_cast<int>(read[i].attributes_case()));
    }
  }
  EXPECT_EQ(seen.size(), AllEventTypes().size());
}

TEST_P(HistoryStoreConformanceTest, AppendReturnsRunInfo) {
  auto events = SimpleHistory(3);
  auto info = store_->Append(Request("r1", 1, events));
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->namespace_(), "default");
  EXPECT_EQ(info->run_id(), "r1");
  EXPECT_EQ(info->workflow(), "wf");
  EXPECT_EQ(info->version(), "1");
  EXPECT_EQ(info->next_event_id(), 4);
  EXPECT_EQ(info->status(), RUN_STATUS_RUNNING);
  EXPECT_EQ(ToTime(info->start_time()), TestTime());
  EXPECT_EQ(ToTime(info->last_event_time()), TestTime(3));

  ASSERT_THAT(store_->Append(Request("r1", 4, {RunCompleted(4, TestTime(9))})),
              IsOk());
  auto stored = store_->GetRunInfo("default", "r1");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->status(), RUN_STATUS_COMPLETED);
  EXPECT_EQ(stored->next_event_id(), 5);
  EXPECT_THAT(store_->GetRunInfo("default", "nope"),
              AllOf(StatusIs(absl::StatusCode::kNotFound),
                    HasErrorCode("RUN_NOT_FOUND")));
}

TEST_P(HistoryStoreConformanceTest, ReadsFromAnyEventId) {
  ASSERT_THAT(store_->Append(Request("r", 1, SimpleHistory(10))), IsOk());
  auto tail = ReadAll(*store_, "default", "r", 7);
  ASSERT_THAT(tail, SizeIs(4));
  EXPECT_EQ(tail.front().event_id(), 7);
  EXPECT_EQ(tail.back().event_id(), 10);
  EXPECT_THAT(ReadAll(*store_, "default", "r", 11), SizeIs(0));
  EXPECT_THAT(ReadAll(*store_, "default", "missing"), SizeIs(0));
  // A run whose id is a prefix of another's never sees the other's events.
  ASSERT_THAT(store_->Append(Request("r2", 1, SimpleHistory(2))), IsOk());
  EXPECT_THAT(ReadAll(*store_, "default", "r"), SizeIs(10));
}

TEST_P(HistoryStoreConformanceTest, ReadsFromAnyEventIdAcrossAppends) {
  // Appends of 3, 1, 4 and 2 events; a read may start inside any of them.
  const std::vector<HistoryEvent> all = SimpleHistory(10);
  int64_t next = 1;
  for (int n : {3, 1, 4, 2}) {
    std::vector<HistoryEvent> part(all.begin() + (next - 1),
                                   all.begin() + (next - 1 + n));
    ASSERT_THAT(store_->Append(Request("r", next, part)), IsOk());
    next += n;
  }
  ASSERT_THAT(store_->Append(Request("q", 1, SimpleHistory(4))), IsOk());
  for (int64_t from = -1; from <= 12; ++from) {
    SCOPED_TRACE(from);
    const std::vector<HistoryEvent> tail =
        ReadAll(*store_, "default", "r", from);
    const int64_t first = std::max<int64_t>(from, 1);
    ASSERT_THAT(tail, SizeIs(std::max<int64_t>(0, 11 - first)));
    for (size_t i = 0; i < tail.size(); ++i) {
      EXPECT_TRUE(Same(tail[i], all[first - 1 + i]));
    }
  }
}

TEST_P(HistoryStoreConformanceTest, StaleExpectedIdConflictsAndWritesNothing) {
  ASSERT_THAT(store_->Append(Request("r", 1, SimpleHistory(2))), IsOk());
  // The run exists: expecting a new run conflicts.
  AppendRequest again = Request("r", 1, SimpleHistory(1));
  again.writes.push_back(Mutation::Put(KeySpace::kTasks, "t1", "x"));
  EXPECT_THAT(store_->Append(again),
              AllOf(StatusIs(absl::StatusCode::kAborted,
                             HasSubstr("expected next event id 1, but the "
                                       "history's next event id is 3")),
                    HasErrorCode("HISTORY_CONFLICT")));
  // Stale by one.
  AppendRequest stale = Request("r", 2, {StepCompleted(2, TestTime(5), "s")});
  stale.writes.push_back(Mutation::Put(KeySpace::kTasks, "t1", "x"));
  EXPECT_THAT(store_->Append(stale), HasErrorCode("HISTORY_CONFLICT"));
  // Nothing of either was written.
  EXPECT_THAT(ReadAll(*store_, "default", "r"), SizeIs(2));
  auto task = store_->Get(KeySpace::kTasks, "t1");
  ASSERT_THAT(task, IsOk());
  EXPECT_FALSE(task->has_value());
}

TEST_P(HistoryStoreConformanceTest, ExactlyOneOfConflictingAppendsWins) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 50;
  ASSERT_THAT(store_->Append(Request("race", 1, SimpleHistory(1))), IsOk());
  for (int round = 0; round < kRounds; ++round) {
    const int64_t next = round + 2;
    absl::Barrier* barrier = new absl::Barrier(kThreads);
    std::atomic<int> wins{0};
    std::atomic<int> conflicts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        AppendRequest r = Request(
            "race", next,
            {StepCompleted(next, TestTime(next), absl::StrCat("t", t))});
        if (barrier->Block()) delete barrier;
        absl::Status s = store_->Append(r).status();
        if (s.ok()) {
          ++wins;
        } else if (s.code() == absl::StatusCode::kAborted) {
          ++conflicts;
        } else {
          ADD_FAILURE() << s;
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(wins.load(), 1) << "round " << round;
    ASSERT_EQ(conflicts.load(), kThreads - 1);
  }
  auto events = ReadAll(*store_, "default", "race");
  ASSERT_THAT(events, SizeIs(kRounds + 1));
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].event_id(), static_cast<int64_t>(i + 1));
  }
}

TEST_P(HistoryStoreConformanceTest,
       ConcurrentWritersRetryingNeverLoseOrDuplicate) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  ASSERT_THAT(store_->Append(Request("shared", 1, SimpleHistory(1))), IsOk());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread;) {
        auto info = store_->GetRunInfo("default", "shared");
        ASSERT_THAT(info, IsOk());
        int64_t next = info->next_event_id();
        absl::Status s =
            store_
                ->Append(Request("shared", next,
                                 {StepCompleted(next, TestTime(1000),
                                                absl::StrCat(t, ":", i))}))
                .status();
        if (s.ok()) {
          ++i;
        } else {
          ASSERT_EQ(s.code(), absl::StatusCode::kAborted) << s;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto events = ReadAll(*store_, "default", "shared");
  ASSERT_THAT(events, SizeIs(kThreads * kPerThread + 1));
  std::set<std::string> steps;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].event_id(), static_cast<int64_t>(i + 1));
    if (i > 0) steps.insert(events[i].step_completed().step_id());
  }
  EXPECT_EQ(steps.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_P(HistoryStoreConformanceTest, RejectsMalformedAppends) {
  // Not starting with run_started.
  EXPECT_THAT(
      store_->Append(Request("r", 1, {StepCompleted(1, TestTime(), "s")})),
      HasErrorCode("INVALID_EVENT_ORDER"));
  // Ids not dense.
  EXPECT_THAT(store_->Append(Request(
                  "r", 1, {RunStarted(1), StepCompleted(3, TestTime(), "s")})),
              AllOf(HasErrorCode("INVALID_EVENT_ID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("has id 3, expected 2"))));
  // First id not 1.
  EXPECT_THAT(store_->Append(Request("r", 1, {RunStarted(2)})),
              HasErrorCode("INVALID_EVENT_ID"));
  // Empty batch.
  EXPECT_THAT(store_->Append(Request("r", 1, {})),
              HasErrorCode("INVALID_EVENT"));
  // No attributes / no time.
  HistoryEvent bare;
  bare.set_event_id(1);
  *bare.mutable_event_time() = FromTime(TestTime());
  EXPECT_THAT(store_->Append(Request("r", 1, {bare})),
              AllOf(HasErrorCode("INVALID_EVENT"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("no attributes"))));
  HistoryEvent timeless = RunStarted();
  timeless.clear_event_time();
  EXPECT_THAT(store_->Append(Request("r", 1, {timeless})),
              HasErrorCode("INVALID_EVENT"));
  // Time going backwards.
  EXPECT_THAT(store_->Append(Request("r", 1,
                                     {RunStarted(1, TestTime(10)),
                                      StepCompleted(2, TestTime(9), "s")})),
              HasErrorCode("EVENT_TIME_REGRESSED"));
  // A second run_started.
  EXPECT_THAT(store_->Append(Request("r", 1, {RunStarted(1), RunStarted(2)})),
              HasErrorCode("INVALID_EVENT_ORDER"));
  // Bad identifiers.
  EXPECT_THAT(store_->Append(Request("", 1, {RunStarted()})),
              HasErrorCode("INVALID_IDENTIFIER"));
  EXPECT_THAT(store_->Append(Request("a\nb", 1, {RunStarted()})),
              HasErrorCode("INVALID_IDENTIFIER"));
  EXPECT_THAT(store_->Append(Request("r", 1, {RunStarted()}, "")),
              HasErrorCode("INVALID_IDENTIFIER"));
  // Not UTF-8: the run's RunInfo could not be parsed back.
  EXPECT_THAT(store_->Append(Request("r\xE0", 1, {RunStarted()})),
              HasErrorCode("INVALID_IDENTIFIER"));
  EXPECT_THAT(store_->Append(Request("r", 1, {RunStarted()}, "ns\xED\xB0\x80")),
              HasErrorCode("INVALID_IDENTIFIER"));
  EXPECT_THAT(store_->Append(Request(std::string(256, 'x'), 1, {RunStarted()})),
              HasErrorCode("INVALID_IDENTIFIER"));
  EXPECT_THAT(store_->Append(Request(std::string(255, 'x'), 1, {RunStarted()})),
              IsOk());
  // None of the failures created the run.
  EXPECT_THAT(store_->GetRunInfo("default", "r"),
              HasErrorCode("RUN_NOT_FOUND"));
}

TEST_P(HistoryStoreConformanceTest, NothingFollowsTheEndOfARun) {
  ASSERT_THAT(store_->Append(Request(
                  "r", 1, {RunStarted(), RunCompleted(2, TestTime(1))})),
              IsOk());
  EXPECT_THAT(
      store_->Append(Request("r", 3, {StepCompleted(3, TestTime(2), "s")})),
      AllOf(StatusIs(absl::StatusCode::kFailedPrecondition),
            HasErrorCode("RUN_ALREADY_TERMINAL")));
  // A failed run takes only run_retried.
  HistoryEvent failed =
      MakeEvent(2, TestTime(1), HistoryEvent::kRunFailedFieldNumber);
  ASSERT_THAT(store_->Append(Request("f", 1, {RunStarted(), failed})), IsOk());
  EXPECT_THAT(
      store_->Append(Request("f", 3, {StepCompleted(3, TestTime(2), "s")})),
      HasErrorCode("RUN_ALREADY_TERMINAL"));
  HistoryEvent retried =
      MakeEvent(3, TestTime(2), HistoryEvent::kRunRetriedFieldNumber);
  auto info = store_->Append(Request("f", 3, {retried}));
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->status(), RUN_STATUS_RUNNING);
}

TEST_P(HistoryStoreConformanceTest, PayloadLimitAtAndJustOver) {
  StoreOptions options;
  options.max_payload_bytes = 1000;
  auto store = GetParam().open(options);
  auto with_input = [](int bytes) {
    HistoryEvent e = RunStarted();
    e.mutable_run_started()->mutable_input()->set_data(std::string(bytes, 'a'));
    return e;
  };
  EXPECT_THAT(store->Append(Request("at", 1, {with_input(1000)})), IsOk());
  AppendRequest over = Request("over", 1, {with_input(1001)});
  over.writes.push_back(Mutation::Put(KeySpace::kOutbox, "o", "x"));
  EXPECT_THAT(store->Append(over),
              AllOf(HasErrorCode("PAYLOAD_TOO_LARGE"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             AllOf(HasSubstr("run_started.input"),
                                   HasSubstr("1001 bytes"),
                                   HasSubstr("limit 1000 bytes")))));
  EXPECT_THAT(store->GetRunInfo("default", "over"),
              HasErrorCode("RUN_NOT_FOUND"));
  EXPECT_FALSE(store->Get(KeySpace::kOutbox, "o")->has_value());
  // Nested payloads are checked too.
  HistoryEvent failed =
      MakeEvent(2, TestTime(1), HistoryEvent::kStepFailedFieldNumber);
  failed.mutable_step_failed()->mutable_failure()->mutable_details()->set_data(
      std::string(1001, 'b'));
  EXPECT_THAT(store->Append(Request("at", 2, {failed})),
              AllOf(HasErrorCode("PAYLOAD_TOO_LARGE"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("step_failed.failure.details"))));
}

TEST_P(HistoryStoreConformanceTest, ExtraWritesCommitWithEvents) {
  AppendRequest r = Request("r", 1, SimpleHistory(1));
  r.writes.push_back(Mutation::Put(KeySpace::kTasks, "q/0001", "a"));
  r.writes.push_back(Mutation::Put(KeySpace::kTasks, "q/0002", "b"));
  r.writes.push_back(Mutation::Put(KeySpace::kTimers, "t/1", "c"));
  ASSERT_THAT(store_->Append(r), IsOk());
  EXPECT_EQ(**store_->Get(KeySpace::kTasks, "q/0002"), "b");
  EXPECT_FALSE(store_->Get(KeySpace::kTimers, "q/0002")->has_value());

  AppendRequest next = Request("r", 2, {StepCompleted(2, TestTime(1), "s")});
  next.writes.push_back(Mutation::Delete(KeySpace::kTasks, "q/0001"));
  next.writes.push_back(Mutation::Put(KeySpace::kTasks, "q/0003", "d"));
  ASSERT_THAT(store_->Append(next), IsOk());
  ASSERT_THAT(store_->Write({Mutation::Put(KeySpace::kTasks, "r/0001", "e")}),
              IsOk());

  std::vector<std::string> keys;
  auto it = store_->Scan(KeySpace::kTasks, "q/", "q0");
  for (; it->Valid(); it->Next()) {
    keys.push_back(absl::StrCat(it->key(), "=", it->value()));
  }
  EXPECT_THAT(it->status(), IsOk());
  EXPECT_THAT(keys, ::testing::ElementsAre("q/0002=b", "q/0003=d"));
  int all = 0;
  for (auto all_it = store_->Scan(KeySpace::kTasks, "", ""); all_it->Valid();
       all_it->Next()) {
    ++all;
  }
  EXPECT_EQ(all, 3);
}

TEST_P(HistoryStoreConformanceTest, AppendBatchCommitsAllRunsOrNothing) {
  ASSERT_THAT(store_->Append(Request("a", 1, SimpleHistory(2))), IsOk());
  AppendRequest a = Request("a", 3, {StepCompleted(3, TestTime(3), "s")});
  a.writes.push_back(Mutation::Put(KeySpace::kTasks, "q/a", "a"));
  AppendRequest b = Request("b", 1, SimpleHistory(1));
  auto infos = store_->AppendBatch(
      {a, b}, {Mutation::Put(KeySpace::kAudit, "signal/e1", "audit")});
  ASSERT_THAT(infos, IsOk());
  ASSERT_THAT(*infos, SizeIs(2));
  EXPECT_EQ((*infos)[0].next_event_id(), 4);
  EXPECT_EQ((*infos)[1].next_event_id(), 2);
  EXPECT_EQ(store_->GetRunInfo("default", "a")->next_event_id(), 4);
  EXPECT_THAT(ReadAll(*store_, "default", "b"), SizeIs(1));
  EXPECT_EQ(**store_->Get(KeySpace::kTasks, "q/a"), "a");
  EXPECT_EQ(**store_->Get(KeySpace::kAudit, "signal/e1"), "audit");

  // One stale request: nothing of the batch is written.
  AppendRequest c = Request("c", 1, SimpleHistory(1));
  AppendRequest stale = Request("a", 3, {StepCompleted(3, TestTime(3), "s")});
  EXPECT_THAT(store_->AppendBatch({c, stale},
                                  {Mutation::Put(KeySpace::kAudit, "x", "y")}),
              HasErrorCode("HISTORY_CONFLICT"));
  EXPECT_THAT(store_->GetRunInfo("default", "c"),
              HasErrorCode("RUN_NOT_FOUND"));
  EXPECT_FALSE(store_->Get(KeySpace::kAudit, "x")->has_value());
  EXPECT_EQ(store_->GetRunInfo("default", "a")->next_event_id(), 4);

  // A run twice in one batch is refused.
  EXPECT_THAT(store_->AppendBatch({c, Request("c", 1, SimpleHistory(1))}, {}),
              AllOf(StatusIs(absl::StatusCode::kInvalidArgument),
                    HasErrorCode("INVALID_BATCH")));
  EXPECT_THAT(store_->GetRunInfo("default", "c"),
              HasErrorCode("RUN_NOT_FOUND"));
}

TEST_P(HistoryStoreConformanceTest, ListsRunsWithCursorPerNamespace) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_THAT(store_->Append(Request(absl::StrCat("run-", 100 + i), 1,
                                       SimpleHistory(1), "ns1")),
                IsOk());
  }
  ASSERT_THAT(store_->Append(Request("other", 1, SimpleHistory(1), "ns2")),
              IsOk());
  ASSERT_THAT(store_->Append(Request("zzz", 1, SimpleHistory(1), "ns10")),
              IsOk());
  std::vector<std::string> ids;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->ListRuns("ns1", cursor, 10);
    ASSERT_THAT(page, IsOk());
    for (const auto& info : page->runs) {
      EXPECT_EQ(info.namespace_(), "ns1");
      ids.push_back(info.run_id());
    }
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_THAT(ids, SizeIs(25));
  EXPECT_EQ(ids.front(), "run-100");
  EXPECT_EQ(ids.back(), "run-124");
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  auto exact = store_->ListRuns("ns2", "", 1);
  ASSERT_THAT(exact, IsOk());
  EXPECT_THAT(exact->runs, SizeIs(1));
  EXPECT_EQ(exact->next_cursor, "");
  EXPECT_THAT(store_->ListRuns("empty", "", 10)->runs, SizeIs(0));
}

TEST_P(HistoryStoreConformanceTest, ListsAllRunsAcrossNamespaces) {
  for (const char* ns : {"b", "a", "c"}) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_THAT(store_->Append(
                      Request(absl::StrCat("r", i), 1, SimpleHistory(1), ns)),
                  IsOk());
    }
  }
  std::vector<std::string> seen;
  std::string cursor;
  do {
    auto page = store_->ListAllRuns(cursor, 4);
    ASSERT_THAT(page, IsOk());
    for (const auto& info : page->runs) {
      seen.push_back(absl::StrCat(info.namespace_(), "/", info.run_id()));
    }
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_THAT(seen,
              ::testing::ElementsAre("a/r0", "a/r1", "a/r2", "b/r0", "b/r1",
                                     "b/r2", "c/r0", "c/r1", "c/r2"));
}

TEST_P(HistoryStoreConformanceTest, BinaryPayloadsPassThroughUntouched) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  HistoryEvent e = RunStarted();
  *e.mutable_run_started()->mutable_input() = BinaryPayload(bytes);
  ASSERT_THAT(store_->Append(Request("bin", 1, {e})), IsOk());
  auto events = ReadAll(*store_, "default", "bin");
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].run_started().input().data(), bytes);
  EXPECT_FALSE(IsJson(events[0].run_started().input()));
}

}  // namespace
}  // namespace retrace::history::testing
