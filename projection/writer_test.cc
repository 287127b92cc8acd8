#include "projection/writer.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "runtime/test_env.h"

namespace retrace::projection {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::TestEnv;

constexpr char kOrder[] = R"({"name": "order", "version": "1",
  "defaults": {"retry": {"initial_interval": "1s", "max_attempts": 3}},
  "steps": [
    {"id": "charge", "type": "action", "action": "flaky"},
    {"id": "pay", "type": "event.wait", "event": "paid", "correlation": "input.id"},
    {"id": "ship", "type": "action", "action": "core.echo", "input": "input"}]})";

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.actions().Register(
        "flaky",
        [](const runtime::ActionContext& ctx,
           const history::Payload&) -> absl::StatusOr<history::Payload> {
          if (ctx.attempt == 1) return runtime::ActionFailure("HTTP_503", "x");
          return history::JsonPayload("{}");
        });
    ASSERT_THAT(env_.RegisterDefinition(kOrder), IsOk());
    path_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        ".sqlite");
  }

  // Starts runs, moves them along and signals some: every kind of
  // transition the outbox carries.
  void Work(int runs) {
    for (int i = 0; i < runs; ++i) {
      ASSERT_THAT(env_.Start("order", absl::StrCat(R"({"id": "O-)", i, R"("})"),
                             absl::StrCat("order-", next_++))
                      .status(),
                  IsOk());
    }
    ASSERT_THAT(env_.AdvanceTime(absl::Seconds(2)), IsOk());
    for (int i = 0; i < runs; i += 2) {
      ASSERT_THAT(
          env_.Signal(absl::StrCat("order-", next_ - runs + i), "paid", "{}"),
          IsOk());
    }
  }

  // The tables as a rebuild from the histories makes them.
  std::vector<std::string> Rebuilt() {
    auto models = ReadModels::Open(&env_.store(), ":memory:");
    EXPECT_THAT(models, IsOk());
    EXPECT_THAT((*models)->Rebuild(), IsOk());
    return *(*models)->Dump();
  }

  std::vector<std::string> Written() {
    auto models = ReadModels::OpenForQueries(path_);
    EXPECT_THAT(models, IsOk());
    return *(*models)->Dump();
  }

  TestEnv env_;
  std::string path_;
  int next_ = 0;
};

TEST_F(WriterTest, TheEngineRunsWithTheWriterStoppedAndItCatchesUpOnceStarted) {
  Work(6);  // no writer yet: the outbox grows
  auto lag = MeasureOutboxLag(&env_.store());
  ASSERT_THAT(lag, IsOk());
  EXPECT_GT(lag->rows, 6);
  auto writer = ReadModelWriter::Start(&env_.store(), path_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Stop(), IsOk());  // drains
  EXPECT_EQ(MeasureOutboxLag(&env_.store())->rows, 0);
  EXPECT_EQ((*writer)->stats().rows_applied, lag->rows);
  EXPECT_EQ(Written(), Rebuilt());
}

TEST_F(WriterTest, WritesWhileTheEngineRuns) {
  WriterOptions options;
  options.poll_interval = absl::Milliseconds(1);
  options.batch_rows = 5;  // many small batches between transitions
  auto writer = ReadModelWriter::Start(&env_.store(), path_, options);
  ASSERT_THAT(writer, IsOk());
  for (int round = 0; round < 5; ++round) Work(8);
  ASSERT_THAT((*writer)->Stop(), IsOk());
  EXPECT_EQ(MeasureOutboxLag(&env_.store())->rows, 0);
  EXPECT_EQ((*writer)->stats().failures, 0);
  EXPECT_EQ(Written(), Rebuilt());
  EXPECT_THAT((*writer)->Stop(), IsOk());  // idempotent
}

TEST_F(WriterTest, AFailingWriterKeepsTheRowsAndTheEngineGoesOn) {
  WriterOptions options;
  options.poll_interval = absl::Milliseconds(1);
  options.retry_interval = absl::Milliseconds(1);
  auto writer = ReadModelWriter::Start(&env_.store(), path_, options);
  ASSERT_THAT(writer, IsOk());
  {
    // Break the read models under the writer.
    auto db = Database::Open(path_);
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec("DROP TABLE execution_logs"), IsOk());
  }
  Work(4);  // the engine does not notice
  EXPECT_THAT((*writer)->Stop(), HasErrorCode("PROJECTION_SQL"));
  const int64_t rows = MeasureOutboxLag(&env_.store())->rows;
  EXPECT_GT(rows, 4) << "nothing was deleted from the outbox";
  EXPECT_EQ((*writer)->stats().rows_applied, 0);
  EXPECT_GT((*writer)->stats().failures, 0);
  // Repaired (here: a rebuild recreates nothing, so recreate the file), a
  // new writer catches up.
  ASSERT_TRUE(std::remove(path_.c_str()) == 0);
  std::remove((path_ + "-wal").c_str());
  std::remove((path_ + "-shm").c_str());
  auto again = ReadModelWriter::Start(&env_.store(), path_);
  ASSERT_THAT(again, IsOk());
  ASSERT_THAT((*again)->Stop(), IsOk());
  EXPECT_EQ((*again)->stats().rows_applied, rows);
  EXPECT_EQ(Written(), Rebuilt());
}

TEST_F(WriterTest, StartFailsOnAFileItCannotUse) {
  EXPECT_THAT(ReadModelWriter::Start(&env_.store(), "/nonexistent/dir/x.db"),
              HasErrorCode("PROJECTION_SQL"));
}

}  // namespace
}  // namespace retrace::projection
