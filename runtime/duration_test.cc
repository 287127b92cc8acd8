#include "runtime/duration.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::runtime {
namespace {

using ::retrace::testing::HasErrorCode;

TEST(DurationTest, ParsesUnitsAndSums) {
  EXPECT_EQ(*ParseDuration("90s"), absl::Seconds(90));
  EXPECT_EQ(*ParseDuration("2h"), absl::Hours(2));
  EXPECT_EQ(*ParseDuration("30d"), absl::Hours(720));
  EXPECT_EQ(*ParseDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseDuration("15m"), absl::Minutes(15));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("0s"), absl::ZeroDuration());
}

TEST(DurationTest, RejectsMalformed) {
  for (const char* bad : {"", "10", "-5s", "5 s", "5x", "h", "1.5h", "s5",
                          "99999999999999999999s"}) {
    EXPECT_THAT(ParseDuration(bad), HasErrorCode("INVALID_DURATION")) << bad;
  }
}

TEST(DurationTest, FormatsCanonically) {
  EXPECT_EQ(DurationToString(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(DurationToString(absl::Milliseconds(250)), "250ms");
  EXPECT_EQ(DurationToString(absl::ZeroDuration()), "0s");
  EXPECT_EQ(DurationToString(absl::Hours(48)), "2d");
}

}  // namespace
}  // namespace retrace::runtime
