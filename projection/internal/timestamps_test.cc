#include "projection/internal/timestamps.h"

#include <random>

#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "history/events.h"

namespace retrace::projection::internal {
namespace {

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

// protobuf's own RFC 3339 form (TimeUtil::ToString) is what its JSON printer
// writes.
std::string ProtoJson(int64_t seconds, int32_t nanos) {
  return google::protobuf::util::TimeUtil::ToString(Ts(seconds, nanos));
}

TEST(TimestampsTest, MatchTheReferencesOverRandomTimes) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> seconds(-62135596800, 253402300799);
  std::uniform_int_distribution<int32_t> nanos(0, 999999999);
  for (int i = 0; i < 200000; ++i) {
    int64_t s = seconds(rng);
    int32_t n = nanos(rng);
    switch (i % 4) {
      case 0:
        n = 0;
        break;
      case 1:
        n = n / 1000000 * 1000000;
        break;
      case 2:
        n = n / 1000 * 1000;
        break;
      default:
        break;
    }
    if (i % 3 == 0) s = 1767323045 + s % 100000000;  // near now
    const auto ts = Ts(s, n);
    ASSERT_EQ(FormatTimestamp(ts), history::FormatTimestamp(ts))
        << s << " " << n;
    std::string json;
    ASSERT_TRUE(AppendProtoJsonTimestamp(s, n, &json));
    ASSERT_EQ(json, ProtoJson(s, n)) << s << " " << n;
    ASSERT_EQ(UnixMillis(ts), absl::ToUnixMillis(history::ToTime(ts)));
  }
}

TEST(TimestampsTest, EdgesAndOutOfRange) {
  for (int64_t s : {int64_t{-62135596800}, int64_t{253402300799}, int64_t{0},
                    int64_t{-1}, int64_t{951782400} /* 2000-02-29 */,
                    int64_t{-30610224000}, int64_t{-30610224001}}) {
    const auto ts = Ts(s, 999999999);
    EXPECT_EQ(FormatTimestamp(ts), history::FormatTimestamp(ts)) << s;
    std::string json;
    ASSERT_TRUE(AppendProtoJsonTimestamp(s, 999999999, &json));
    EXPECT_EQ(json, ProtoJson(s, 999999999));
  }
  std::string json;
  EXPECT_FALSE(AppendProtoJsonTimestamp(253402300800, 0, &json));
  EXPECT_FALSE(AppendProtoJsonTimestamp(-62135596801, 0, &json));
  EXPECT_FALSE(AppendProtoJsonTimestamp(0, -1, &json));
  EXPECT_FALSE(AppendProtoJsonTimestamp(0, 1000000000, &json));
  EXPECT_EQ(json, "");
  for (const auto& ts : {Ts(int64_t{1} << 45, 0), Ts(5, -3), Ts(5, 2000000000),
                         Ts(-99999999999, 5)}) {
    EXPECT_EQ(FormatTimestamp(ts), history::FormatTimestamp(ts));
    EXPECT_EQ(UnixMillis(ts), absl::ToUnixMillis(history::ToTime(ts)));
  }
}

}  // namespace
}  // namespace retrace::projection::internal
