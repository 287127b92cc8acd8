#include "tools/cli/sync_probe.h"

#include <filesystem>
#include <string>

#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::cli {
namespace {

using ::testing::HasSubstr;

std::string TestDir(const std::string& name) {
  const std::string dir =
      std::string(std::getenv("TEST_TMPDIR")) + "/sync-probe-" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(SyncProbeTest, TimesEachSyncedWriteAndLeavesNothingBehind) {
  const std::string dir = TestDir("ok");
  absl::StatusOr<SyncLatency> latency = ProbeSyncLatency(dir, 20, 512);
  ASSERT_TRUE(latency.ok()) << latency.status();
  EXPECT_EQ(latency->writes, 20);
  EXPECT_EQ(latency->bytes, 512);
  EXPECT_GT(latency->p50, absl::ZeroDuration());
  EXPECT_GE(latency->p90, latency->p50);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  EXPECT_THAT(FormatSyncLatency(*latency),
              HasSubstr("512-byte synced write p50 "));
}

TEST(SyncProbeTest, AMissingDirectoryIsAnErrorNamingTheFile) {
  absl::StatusOr<SyncLatency> latency =
      ProbeSyncLatency(TestDir("gone") + "/no/such/dir");
  ASSERT_FALSE(latency.ok());
  EXPECT_EQ(ErrorCode(latency.status()), "SYNC_PROBE_FAILED");
  EXPECT_THAT(latency.status().message(),
              HasSubstr("creating " + TestDir("gone") + "/no/such/dir/"));
}

TEST(SyncProbeTest, ACountOrSizeBelowOneIsAUsageError) {
  EXPECT_EQ(ErrorCode(ProbeSyncLatency(TestDir("usage"), 0).status()), "USAGE");
  EXPECT_EQ(ErrorCode(ProbeSyncLatency(TestDir("usage"), 10, 0).status()),
            "USAGE");
}

}  // namespace
}  // namespace retrace::cli
