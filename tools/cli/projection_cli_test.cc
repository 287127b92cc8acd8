#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/cli/cli.h"

namespace retrace::cli {
namespace {

using ::testing::HasSubstr;

struct Out {
  int code;
  std::string text;
};

Out Cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = Run(args, out, err);
  return {code, out.str() + err.str()};
}

TEST(ProjectionCliTest, ProjectsQueriesAndRebuilds) {
  const std::string db =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/proj-", getpid());
  std::filesystem::remove_all(db);
  ASSERT_EQ(Cli({"demo", "--runs", "8", "--db", db, "--keep"}).code, kExitOk);
  Out applied = Cli({"projection", "run", "--db", db});
  ASSERT_EQ(applied.code, kExitOk) << applied.text;
  EXPECT_THAT(applied.text, HasSubstr("lag 0"));
  Out list = Cli({"runs", "list", "--db", db, "--limit", "3", "--json"});
  ASSERT_EQ(list.code, kExitOk) << list.text;
  EXPECT_THAT(list.text, HasSubstr("\"status\":\"COMPLETED\""));
  EXPECT_THAT(list.text, HasSubstr("\"next_cursor\":\"20"));
  Out status = Cli({"runs", "list", "--db", db, "--status", "FAILED"});
  EXPECT_EQ(status.code, kExitOk);
  Out missing = Cli({"runs", "get", "nope", "--db", db});
  EXPECT_EQ(missing.code, kExitFailure);
  EXPECT_THAT(missing.text, HasSubstr("RUN_NOT_FOUND"));
  EXPECT_EQ(Cli({"projection", "rebuild", "--db", db}).code, kExitOk);
  Out again = Cli({"runs", "list", "--db", db, "--limit", "100"});
  EXPECT_THAT(again.text, HasSubstr("COMPLETED"));
  EXPECT_EQ(Cli({"runs", "steps", "--db", db}).code, kExitUsage);
  Out events = Cli({"events", "list", "--db", db, "--json"});
  EXPECT_EQ(events.code, kExitOk) << events.text;
  EXPECT_EQ(Cli({"events", "explode", "--db", db}).code, kExitUsage);
  EXPECT_EQ(Cli({"projection", "explode", "--db", db}).code, kExitUsage);
}

}  // namespace
}  // namespace retrace::cli
