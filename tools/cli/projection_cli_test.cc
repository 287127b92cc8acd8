#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/rocksdb_store.h"
#include "tools/cli/cli.h"

namespace retrace::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
  Out demo = Cli({"demo", "--runs", "8", "--db", db, "--keep"});
  ASSERT_EQ(demo.code, kExitOk) << demo.text;
  // The demo's own writer filled the read models.
  EXPECT_THAT(demo.text, HasSubstr("read models:"));
  EXPECT_THAT(demo.text, HasSubstr("lag 0 rows"));
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

constexpr char kThreeSteps[] = R"({"name": "three", "version": "1", "steps": [
  {"id": "a", "type": "action", "action": "core.echo", "input": "1"},
  {"id": "b", "type": "action", "action": "core.echo", "input": "2"},
  {"id": "c", "type": "action", "action": "core.echo", "input": "3"}]})";

std::string Store(absl::string_view name) {
  const std::string db =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name, "-", getpid());
  std::filesystem::remove_all(db);
  const std::string def = db + "-three.json";
  std::ofstream(def) << kThreeSteps;
  EXPECT_EQ(Cli({"def", "put", def, "--db", db}).code, kExitOk);
  return db;
}

Out Worker(const std::string& db, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"worker", "--db",        db,     "--sync",
                                   "false",  "--idle-exit", "300ms"};
  args.insert(args.end(), more.begin(), more.end());
  return Cli(args);
}

TEST(ProjectionCliTest, TheWorkerKeepsTheReadModelsUpToDate) {
  const std::string db = Store("worker");
  ASSERT_EQ(Cli({"run", "start", "three", "--run-id", "t1", "--db", db}).code,
            kExitOk);
  EXPECT_THAT(Cli({"runs", "get", "t1", "--db", db}).text,
              HasSubstr("RUN_NOT_FOUND"));
  Out worker = Worker(db);
  ASSERT_EQ(worker.code, kExitOk) << worker.text;
  EXPECT_THAT(worker.text, HasSubstr("projection: writing the read models"));
  EXPECT_THAT(worker.text, HasSubstr("outbox rows applied; lag 0 rows"));
  // No `retrace projection run` needed.
  Out got = Cli({"runs", "get", "t1", "--db", db});
  ASSERT_EQ(got.code, kExitOk) << got.text;
  EXPECT_THAT(got.text, HasSubstr(R"("status":"COMPLETED")"));
  EXPECT_THAT(got.text, HasSubstr(R"("total_steps":3,"progress_percent":100)"));

  // Without the writer the outbox waits for `retrace projection run`.
  ASSERT_EQ(Cli({"run", "start", "three", "--run-id", "t2", "--db", db}).code,
            kExitOk);
  Out off = Worker(db, {"--projection=false"});
  ASSERT_EQ(off.code, kExitOk) << off.text;
  EXPECT_THAT(off.text, Not(HasSubstr("projection:")));
  EXPECT_THAT(Cli({"runs", "get", "t2", "--db", db}).text,
              HasSubstr("RUN_NOT_FOUND"));
  Out applied = Cli({"projection", "run", "--db", db});
  EXPECT_THAT(applied.text, ::testing::ContainsRegex(
                                "lag before: [1-9][0-9]* rows, oldest "));
  EXPECT_THAT(applied.text, ::testing::ContainsRegex(
                                "applied [1-9][0-9]* outbox rows; lag 0 rows"));
  EXPECT_THAT(Cli({"runs", "get", "t2", "--db", db}).text,
              HasSubstr(R"("progress_percent":100)"));
}

TEST(ProjectionCliTest, QueriesWorkWhileAnotherProcessHoldsTheStore) {
  const std::string db = Store("held");
  ASSERT_EQ(Cli({"run", "start", "three", "--run-id", "t1", "--db", db}).code,
            kExitOk);
  ASSERT_EQ(Worker(db).code, kExitOk);
  // As while a `retrace worker` runs: RocksDB lets one process in.
  auto held = history::OpenRocksDbHistoryStore(db);
  ASSERT_TRUE(held.ok()) << held.status();
  Out list = Cli({"runs", "list", "--db", db});
  ASSERT_EQ(list.code, kExitOk) << list.text;
  EXPECT_THAT(list.text, HasSubstr("t1"));
  EXPECT_THAT(list.text, HasSubstr("100%"));
  Out events = Cli({"events", "list", "--db", db});
  EXPECT_EQ(events.code, kExitOk) << events.text;
  Out run = Cli({"projection", "run", "--db", db});
  EXPECT_EQ(run.code, kExitFailure);
  EXPECT_THAT(run.text, HasSubstr("STORE_IO"));
  EXPECT_THAT(run.text, HasSubstr("retrace worker"));
}

}  // namespace
}  // namespace retrace::cli
