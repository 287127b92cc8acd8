// `retrace stress` end to end, in-process: a short seeded burst of the
// workload, a second burst on the same store (as after a restart), a drain
// and `stress verify --final`, which must find nothing wrong.
#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/cli/cli.h"

namespace retrace::cli {
namespace {

using ::testing::HasSubstr;

struct Result {
  int code;
  std::string out, err;
};

Result Cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = Run(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(StressTest, SeededBurstsThenDrainVerifyWithNoViolations) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string db = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/stress-db");
  std::filesystem::remove_all(db);
  for (const char* seed : {"3", "4"}) {
    Result burst = Cli({"stress", "--db", db, "--seed", seed, "--ops", "250",
                        "--workers", "4"});
    ASSERT_EQ(burst.code, 0) << burst.err;
    EXPECT_THAT(burst.out,
                HasSubstr(absl::StrCat("stress: seed ", seed, ", 250 ops")));
    Result verify = Cli({"stress", "verify", "--db", db});
    EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
    EXPECT_THAT(verify.out, HasSubstr(" 0 violations"));
  }
  Result drain = Cli({"stress", "--db", db, "--drain", "--timeout", "30s"});
  ASSERT_EQ(drain.code, 0) << drain.out << drain.err;
  Result verify = Cli({"stress", "verify", "--db", db, "--final"});
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr(" 0 violations"));
}

TEST(StressTest, UsageErrors) {
  EXPECT_EQ(Cli({"stress"}).code, kExitUsage);
  EXPECT_EQ(Cli({"stress", "--db", "x", "--ops", "1", "--duration", "1s"}).code,
            kExitUsage);
  EXPECT_EQ(Cli({"stress", "--db", "x", "--drain", "--ops", "1"}).code,
            kExitUsage);
  Result missing = Cli({"stress", "verify", "--db", "/nonexistent/store"});
  EXPECT_EQ(missing.code, kExitFailure);
  EXPECT_THAT(missing.err, HasSubstr("no store directory"));
}

}  // namespace
}  // namespace retrace::cli
