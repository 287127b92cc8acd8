#include "tools/cli/engine_session.h"

#include <vector>

#include "absl/time/time.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::cli {
namespace {

using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::HasSubstr;

Args Parse(std::vector<std::string> argv) {
  absl::StatusOr<Args> args = Args::Parse(argv, {"sync", "runs", "idle"}, {});
  EXPECT_THAT(args.status(), IsOk());
  return *args;
}

TEST(EngineSessionTest, BoolOption) {
  EXPECT_EQ(*BoolOption(Parse({}), "sync", true), true);
  EXPECT_EQ(*BoolOption(Parse({"--sync=false"}), "sync", true), false);
  EXPECT_EQ(*BoolOption(Parse({"--sync", "No"}), "sync", true), false);
  EXPECT_EQ(*BoolOption(Parse({"--sync=1"}), "sync", false), true);
  EXPECT_THAT(BoolOption(Parse({"--sync=maybe"}), "sync", true).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("USAGE: --sync takes true or false")));
}

TEST(EngineSessionTest, IntOptionAtAndBelowItsMinimum) {
  EXPECT_EQ(*IntOption(Parse({}), "runs", 7, 1), 7);
  EXPECT_EQ(*IntOption(Parse({"--runs", "1"}), "runs", 7, 1), 1);
  EXPECT_THAT(IntOption(Parse({"--runs", "0"}), "runs", 7, 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("whole number >= 1")));
  EXPECT_THAT(IntOption(Parse({"--runs", "x"}), "runs", 7, 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EngineSessionTest, DurationOption) {
  EXPECT_EQ(
      *DurationOption(Parse({"--idle", "1.5s"}), "idle", absl::ZeroDuration()),
      absl::Milliseconds(1500));
  EXPECT_EQ(*DurationOption(Parse({}), "idle", absl::Seconds(3)),
            absl::Seconds(3));
  EXPECT_THAT(
      DurationOption(Parse({"--idle=-1s"}), "idle", absl::ZeroDuration())
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EngineSessionTest, QuantileAndFormat) {
  EXPECT_EQ(Quantile({}, 0.5), absl::ZeroDuration());
  std::vector<absl::Duration> sorted;
  for (int i = 1; i <= 100; ++i) sorted.push_back(absl::Milliseconds(i));
  EXPECT_EQ(Quantile(sorted, 0.0), absl::Milliseconds(1));
  EXPECT_EQ(Quantile(sorted, 0.5), absl::Milliseconds(51));
  EXPECT_EQ(Quantile(sorted, 0.99), absl::Milliseconds(99));
  EXPECT_EQ(Quantile(sorted, 1.0), absl::Milliseconds(100));
  EXPECT_EQ(FormatLatency(absl::Microseconds(420)), "0.42 ms");
  EXPECT_EQ(FormatLatency(absl::Microseconds(12340)), "12.3 ms");
  EXPECT_EQ(FormatLatency(absl::Milliseconds(1200)), "1.20 s");
}

TEST(EngineSessionTest, MakeTempDirMakesFreshDirectories) {
  absl::StatusOr<std::string> a = MakeTempDir("engine-session-test");
  absl::StatusOr<std::string> b = MakeTempDir("engine-session-test");
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_NE(*a, *b);
  EXPECT_THAT(ReadTextFile(*a + "/missing").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("FILE_IO")));
}

}  // namespace
}  // namespace retrace::cli
