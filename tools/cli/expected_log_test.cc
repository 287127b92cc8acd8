#include "tools/cli/expected_log.h"

#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::cli {
namespace {

using ::retrace::testing::IsOk;
using ::testing::ElementsAre;

std::string TempPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir && *dir ? dir : "/tmp", "/", name);
}

TEST(ExpectedLogTest, EveryOperationRoundTripsThroughItsJsonLine) {
  ExpectedOp signal;
  signal.op = "signal";
  signal.event_id = "ev-1";
  signal.event_name = "stress.signal";
  signal.correlation_key = "k \"quoted\"";
  signal.payload_json = R"({"ok": true})";
  signal.outcome = "ingested";
  signal.matched = {"r1", "r2"};
  signal.resumed = {"r1"};
  signal.error = "CORRELATION_UNRESOLVED";
  ExpectedOp step;
  step.op = "step";
  step.run_id = "r1";
  step.step_path = "/steps/0#2~1";
  step.attempt = 3;
  step.outcome = "completed";
  ExpectedOp task;
  task.op = "complete_task";
  task.run_id = "r2";
  task.task_id = "/steps/1~2";
  task.outcome = "completed";
  ExpectedOp session;
  session.op = "session";
  session.seed = 42;
  session.pid = 7;
  session.at = "2026-01-01T00:00:00.000Z";
  for (const ExpectedOp& op : {signal, step, task, session}) {
    absl::StatusOr<ExpectedOp> back = FromJsonLine(ToJsonLine(op));
    ASSERT_THAT(back, IsOk());
    EXPECT_EQ(ToJsonLine(*back), ToJsonLine(op));
  }
  absl::StatusOr<ExpectedOp> back = FromJsonLine(ToJsonLine(signal));
  EXPECT_THAT(back->matched, ElementsAre("r1", "r2"));
  EXPECT_EQ(back->correlation_key, "k \"quoted\"");
  EXPECT_EQ(FromJsonLine(ToJsonLine(step))->attempt, 3);
  EXPECT_EQ(FromJsonLine(ToJsonLine(task))->task_id, "/steps/1~2");
}

TEST(ExpectedLogTest, AMissingLogIsEmpty) {
  absl::StatusOr<ExpectedLog> log = ReadExpectedLog(TempPath("missing.log"));
  ASSERT_THAT(log, IsOk());
  EXPECT_TRUE(log->ops.empty());
}

TEST(ExpectedLogTest, ConcurrentAppendsAreAllReadBack) {
  const std::string path = TempPath("concurrent.log");
  std::remove(path.c_str());
  {
    auto writer = ExpectedLogWriter::Open(path);
    ASSERT_THAT(writer, IsOk());
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          ExpectedOp op;
          op.op = "start";
          op.run_id = absl::StrCat("r", t, "-", i);
          op.outcome = "started";
          EXPECT_THAT((*writer)->Append(op), IsOk());
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ((*writer)->lines_written(), 400);
  }
  absl::StatusOr<ExpectedLog> log = ReadExpectedLog(path);
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(log->ops.size(), 400u);
  EXPECT_EQ(log->torn_lines, 0);
  EXPECT_EQ(log->ops[0].line, 1);
}

TEST(ExpectedLogTest,
     ALineCutShortByAKillIsSkippedAndTheNextSessionStartsAFreshLine) {
  const std::string path = TempPath("torn.log");
  {
    std::ofstream out(path, std::ios::trunc);
    out << R"({"op":"start","run":"r1","outcome":"started"})"
        << "\n"
        << R"({"op":"start","run":"r2","outc)";  // killed mid-line
  }
  {
    auto writer = ExpectedLogWriter::Open(path);
    ASSERT_THAT(writer, IsOk());
    ExpectedOp op;
    op.op = "cancel";
    op.run_id = "r1";
    op.outcome = "canceled";
    ASSERT_THAT((*writer)->Append(op), IsOk());
  }
  absl::StatusOr<ExpectedLog> log = ReadExpectedLog(path);
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(log->torn_lines, 1);
  ASSERT_EQ(log->ops.size(), 2u);
  EXPECT_EQ(log->ops[0].run_id, "r1");
  EXPECT_EQ(log->ops[1].op, "cancel");
  EXPECT_EQ(log->ops[1].line, 3);
}

}  // namespace
}  // namespace retrace::cli
