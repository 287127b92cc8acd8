// The engine commands end to end, in-process through retrace::cli::Run, on
// RocksDB stores in temporary directories.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/cli/cli.h"

namespace retrace::cli {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHello[] = "testdata/demo/hello.json";
constexpr char kOrder[] = "testdata/demo/demo-order.json";

std::string TempPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(base ? base : "/tmp", "/engine-cli-",
                                  getpid(), "-", counter++, "-", name);
  std::filesystem::remove_all(path);
  return path;
}

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result RunCli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = Run(args, out, err);
  return {code, out.str(), err.str()};
}

// Runs `args` on the store `db` (appends --db).
Result OnDb(const std::string& db, std::vector<std::string> args) {
  args.push_back("--db");
  args.push_back(db);
  return RunCli(std::move(args));
}

std::string Describe(const std::string& db, const std::string& run) {
  Result r = OnDb(db, {"run", "describe", run});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return r.out;
}

// Runs the built-in actions until nothing is left to do.
void RunWorkerUntilIdle(const std::string& db) {
  Result r = OnDb(db, {"worker", "--idle-exit", "300ms", "--threads", "2",
                       "--sync", "false"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("worker stopped"));
}

TEST(EngineCliTest, HelpForEveryCommand) {
  Result top = RunCli({"help"});
  EXPECT_THAT(top.out, AllOf(HasSubstr("run start"), HasSubstr("def put"),
                             HasSubstr("worker"), HasSubstr("demo"),
                             HasSubstr("bench")));
  for (std::vector<std::string> args :
       {std::vector<std::string>{"run", "--help"},
        {"run", "start", "--help"},
        {"def", "--help"},
        {"def", "put", "--help"},
        {"worker", "--help"},
        {"demo", "--help"},
        {"bench", "--help"}}) {
    Result r = RunCli(args);
    EXPECT_EQ(r.code, kExitOk) << args[0];
    EXPECT_THAT(r.out, HasSubstr("usage: retrace " + args[0])) << args[0];
  }
  Result bad = RunCli({"run", "launch"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_THAT(bad.err, HasSubstr("unknown command 'launch'"));
  Result typo = RunCli({"run", "start", "hello", "--inptu", "1"});
  EXPECT_EQ(typo.code, kExitUsage);
  EXPECT_THAT(typo.err, HasSubstr("unknown option --inptu"));
  EXPECT_EQ(RunCli({"bench", "--runs", "0"}).code, kExitUsage);
}

TEST(EngineCliTest, DefPutListPauseResumeRemove) {
  const std::string db = TempPath("defs");
  Result put = OnDb(db, {"def", "put", kHello, kOrder});
  ASSERT_EQ(put.code, kExitOk) << put.err;
  EXPECT_THAT(put.out, AllOf(HasSubstr("registered hello version 1"),
                             HasSubstr("registered demo-order version 1")));
  Result again = OnDb(db, {"def", "put", kHello});
  EXPECT_EQ(again.code, kExitOk) << again.err;
  EXPECT_THAT(again.out, HasSubstr("unchanged hello version 1"));

  Result list = OnDb(db, {"def", "list"});
  ASSERT_EQ(list.code, kExitOk) << list.err;
  EXPECT_THAT(list.out, AllOf(HasSubstr("hello"), HasSubstr("demo-order"),
                              Not(HasSubstr("paused"))));

  ASSERT_EQ(OnDb(db, {"def", "pause", "hello"}).code, kExitOk);
  EXPECT_THAT(OnDb(db, {"def", "list"}).out, HasSubstr("paused"));
  Result refused = OnDb(db, {"run", "start", "hello", "--input", "{}"});
  EXPECT_EQ(refused.code, kExitFailure);
  EXPECT_THAT(refused.err, HasSubstr("WORKFLOW_NOT_ACTIVE"));

  ASSERT_EQ(OnDb(db, {"def", "resume", "hello"}).code, kExitOk);
  EXPECT_THAT(OnDb(db, {"def", "list"}).out, Not(HasSubstr("paused")));
  Result started = OnDb(db, {"run", "start", "hello", "--input", "{}"});
  EXPECT_EQ(started.code, kExitOk) << started.err;

  Result removed = OnDb(db, {"def", "remove", "hello", "1"});
  EXPECT_EQ(removed.code, kExitOk) << removed.err;
  EXPECT_THAT(OnDb(db, {"def", "list"}).out, Not(HasSubstr("hello")));
  Result missing = OnDb(db, {"run", "start", "hello"});
  EXPECT_EQ(missing.code, kExitFailure);
  EXPECT_THAT(missing.err, HasSubstr("WORKFLOW_NOT_FOUND"));

  Result bad_file = OnDb(db, {"def", "put", "no/such/file.json"});
  EXPECT_EQ(bad_file.code, kExitFailure);
  EXPECT_THAT(bad_file.err, HasSubstr("FILE_IO"));
  // validate still works without a store.
  EXPECT_EQ(RunCli({"def", "validate", kHello}).code, kExitOk);
}

TEST(EngineCliTest, RunStartDescribeCancelHistory) {
  const std::string db = TempPath("runs");
  ASSERT_EQ(OnDb(db, {"def", "put", kHello}).code, kExitOk);
  Result start = OnDb(db, {"run", "start", "hello", "--run-id", "r1", "--input",
                           R"({"name": "Ada"})"});
  ASSERT_EQ(start.code, kExitOk) << start.err;
  EXPECT_THAT(start.out, HasSubstr("started run default/r1 (workflow hello "
                                   "version 1)"));
  Result again = OnDb(db, {"run", "start", "hello", "--run-id", "r1"});
  EXPECT_EQ(again.code, kExitOk) << again.err;
  EXPECT_THAT(again.out, HasSubstr("existing run default/r1"));

  EXPECT_THAT(Describe(db, "r1"),
              AllOf(HasSubstr("run       default/r1"),
                    HasSubstr("workflow  hello version 1")));
  Result json = OnDb(db, {"run", "describe", "r1", "--json"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  EXPECT_THAT(json.out, AllOf(HasSubstr(R"("run_id":"r1")"),
                              HasSubstr(R"("workflow":"hello")")));

  Result history = OnDb(db, {"run", "history", "r1"});
  ASSERT_EQ(history.code, kExitOk) << history.err;
  EXPECT_THAT(history.out,
              AllOf(HasSubstr("run default/r1"), HasSubstr("run_started")));
  Result history_json = OnDb(db, {"run", "history", "r1", "--json"});
  ASSERT_EQ(history_json.code, kExitOk) << history_json.err;
  EXPECT_THAT(history_json.out, HasSubstr("\"r1\""));

  Result cancel =
      OnDb(db, {"run", "cancel", "r1", "--reason", "changed my mind"});
  ASSERT_EQ(cancel.code, kExitOk) << cancel.err;
  EXPECT_THAT(cancel.out, HasSubstr("canceled run default/r1"));
  EXPECT_THAT(Describe(db, "r1"), HasSubstr("status    CANCELED"));
  Result twice = OnDb(db, {"run", "cancel", "r1"});
  EXPECT_EQ(twice.code, kExitOk) << twice.err;
  EXPECT_THAT(twice.out, HasSubstr("already canceled"));
  EXPECT_THAT(OnDb(db, {"run", "history", "r1"}).out,
              HasSubstr("changed my mind"));

  Result unknown = OnDb(db, {"run", "describe", "nope"});
  EXPECT_EQ(unknown.code, kExitFailure);
  EXPECT_THAT(unknown.err, HasSubstr("RUN_NOT_FOUND"));
  EXPECT_EQ(OnDb(db, {"run", "describe"}).code, kExitUsage);
}

TEST(EngineCliTest, WorkerRunsSignalledRunToCompletion) {
  const std::string db = TempPath("worker");
  ASSERT_EQ(OnDb(db, {"def", "put", kHello, kOrder}).code, kExitOk);
  ASSERT_EQ(OnDb(db, {"run", "start", "demo-order", "--run-id", "o1", "--input",
                      R"({"orderId": "o1", "total": 5})"})
                .code,
            kExitOk);
  ASSERT_EQ(OnDb(db, {"run", "start", "hello", "--run-id", "h1", "--input",
                      R"({"name": "Ada"})"})
                .code,
            kExitOk);
  RunWorkerUntilIdle(db);
  EXPECT_THAT(Describe(db, "o1"),
              AllOf(HasSubstr("status    COMPLETED"), HasSubstr("confirmed")));
  EXPECT_THAT(Describe(db, "h1"),
              AllOf(HasSubstr("status    WAITING"), HasSubstr("approval")));

  Result signal = OnDb(
      db, {"run", "signal", "h1", "approval", "--payload", R"({"by": "Bob"})"});
  ASSERT_EQ(signal.code, kExitOk) << signal.err;
  RunWorkerUntilIdle(db);
  EXPECT_THAT(Describe(db, "h1"),
              AllOf(HasSubstr("status    COMPLETED"), HasSubstr("Hello, Ada!"),
                    HasSubstr("Bob")));
}

TEST(EngineCliTest, TerminateAndRetry) {
  const std::string db = TempPath("retry");
  const std::string def = TempPath("fails.json");
  std::ofstream(def) << R"({
    "name": "fails", "version": "1",
    "steps": [{"id": "boom", "type": "action", "action": "core.fail",
               "input": "{ 'code': 'BOOM', 'message': 'no', 'retryable': false }"}]
  })";
  ASSERT_EQ(OnDb(db, {"def", "put", def, kHello}).code, kExitOk);
  ASSERT_EQ(OnDb(db, {"run", "start", "fails", "--run-id", "f1"}).code,
            kExitOk);
  RunWorkerUntilIdle(db);
  EXPECT_THAT(Describe(db, "f1"),
              AllOf(HasSubstr("status    FAILED"), HasSubstr("BOOM")));
  Result retry = OnDb(db, {"run", "retry", "f1", "--reason", "try again"});
  ASSERT_EQ(retry.code, kExitOk) << retry.err;
  EXPECT_THAT(retry.out, HasSubstr("retrying run default/f1"));
  EXPECT_THAT(Describe(db, "f1"), Not(HasSubstr("status    FAILED")));
  RunWorkerUntilIdle(db);
  EXPECT_THAT(Describe(db, "f1"), HasSubstr("status    FAILED"));

  ASSERT_EQ(OnDb(db, {"run", "start", "hello", "--run-id", "t1"}).code,
            kExitOk);
  Result terminate = OnDb(db, {"run", "terminate", "t1"});
  ASSERT_EQ(terminate.code, kExitOk) << terminate.err;
  EXPECT_THAT(Describe(db, "t1"), HasSubstr("status    TERMINATED"));
  Result finished = OnDb(db, {"run", "cancel", "t1"});
  EXPECT_EQ(finished.code, kExitFailure);
  EXPECT_THAT(finished.err, HasSubstr("RUN_ALREADY_TERMINAL"));
}

TEST(EngineCliTest, SleepingRunShowsWakeUpAndCancels) {
  const std::string db = TempPath("sleep");
  const std::string def = TempPath("naps.json");
  std::ofstream(def) << R"({
    "name": "naps", "version": "1",
    "steps": [{"id": "first", "type": "action", "action": "core.noop"},
              {"id": "nap", "type": "time.sleep", "duration": "1h"},
              {"id": "after", "type": "action", "action": "core.noop"}]
  })";
  const std::string input = TempPath("input.json");
  std::ofstream(input) << R"({"from": "a file"})";
  ASSERT_EQ(OnDb(db, {"def", "put", def}).code, kExitOk);
  Result start = OnDb(
      db, {"run", "start", "naps", "--run-id", "s1", "--input-file", input});
  ASSERT_EQ(start.code, kExitOk) << start.err;
  // The worker runs `first`, then sees only a timer an hour away: idle.
  RunWorkerUntilIdle(db);
  EXPECT_THAT(Describe(db, "s1"),
              AllOf(HasSubstr("status    SLEEPING"), HasSubstr("wakes at")));
  EXPECT_THAT(OnDb(db, {"run", "history", "s1"}).out, HasSubstr("a file"));
  Result cancel = OnDb(db, {"run", "cancel", "s1"});
  ASSERT_EQ(cancel.code, kExitOk) << cancel.err;
  EXPECT_THAT(Describe(db, "s1"), HasSubstr("status    CANCELED"));

  Result both =
      OnDb(db, {"run", "start", "naps", "--input", "1", "--input-file", input});
  EXPECT_EQ(both.code, kExitUsage);
  Result bad_sync = OnDb(db, {"run", "describe", "s1", "--sync=maybe"});
  EXPECT_EQ(bad_sync.code, kExitUsage);
  EXPECT_THAT(bad_sync.err, HasSubstr("--sync takes true or false"));
}

TEST(EngineCliTest, HistoryJsonImportsIntoAnotherStore) {
  const std::string db = TempPath("export");
  ASSERT_EQ(OnDb(db, {"def", "put", kOrder}).code, kExitOk);
  ASSERT_EQ(OnDb(db, {"run", "start", "demo-order", "--run-id", "x1", "--input",
                      R"({"orderId": "x1", "total": 3})"})
                .code,
            kExitOk);
  RunWorkerUntilIdle(db);
  Result json = OnDb(db, {"run", "history", "x1", "--json"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  const std::string file = TempPath("x1.json");
  std::ofstream(file) << json.out;
  Result replay = RunCli({"replay", file, "--definition", kOrder});
  EXPECT_EQ(replay.code, kExitOk) << replay.out << replay.err;
  EXPECT_THAT(replay.out, HasSubstr("ok ("));
  Result imported =
      RunCli({"history", "import", "--db", TempPath("other"), file});
  EXPECT_EQ(imported.code, kExitOk) << imported.err;
  EXPECT_THAT(imported.out, HasSubstr("status COMPLETED"));
}

TEST(EngineCliTest, DemoCompletesEveryRun) {
  Result demo = RunCli({"demo", "--runs", "50", "--sync=false"});
  ASSERT_EQ(demo.code, kExitOk) << demo.out << demo.err;
  EXPECT_THAT(demo.out,
              AllOf(HasSubstr("runs by status:  COMPLETED 50"),
                    HasSubstr("all 50 runs completed"),
                    HasSubstr("demo-payment"), HasSubstr("demo-reminder"),
                    HasSubstr("(removed; --keep keeps it)")));
  // A store that is in use is refused rather than mixed into the figures.
  const std::string db = TempPath("used");
  ASSERT_EQ(OnDb(db, {"def", "put", kHello}).code, kExitOk);
  Result used = OnDb(db, {"demo", "--runs", "1"});
  EXPECT_EQ(used.code, kExitFailure);
  EXPECT_THAT(used.err, HasSubstr("STORE_NOT_EMPTY"));
}

TEST(EngineCliTest, BenchReportsThroughputAndLatency) {
  Result bench =
      RunCli({"bench", "--runs", "40", "--concurrency", "4", "--sync=false"});
  ASSERT_EQ(bench.code, kExitOk) << bench.out << bench.err;
  EXPECT_THAT(bench.out,
              AllOf(HasSubstr("runs/s"), HasSubstr("p50"),
                    HasSubstr("40 runs, 120 steps"), HasSubstr("per run, "),
                    HasSubstr("cores busy")));
  // One client thread per run in flight instead of batched starts.
  bench = RunCli({"bench", "--runs", "40", "--concurrency", "4",
                  "--start-batch", "0", "--sync=false"});
  ASSERT_EQ(bench.code, kExitOk) << bench.out << bench.err;
  EXPECT_THAT(bench.out, HasSubstr("40 runs, 120 steps"));
}

TEST(EngineCliTest, SyncedBenchPrintsTheDisksSyncLatencyBeforeAndAfter) {
  Result bench = RunCli({"bench", "--runs", "8", "--concurrency", "2"});
  ASSERT_EQ(bench.code, kExitOk) << bench.out << bench.err;
  EXPECT_THAT(bench.out,
              AllOf(HasSubstr("synced commits"),
                    HasSubstr("disk before: 512-byte synced write p50 "),
                    HasSubstr("disk after: 512-byte synced write p50 "),
                    HasSubstr("8 runs, 24 steps")));
  // Relaxed commits do not depend on it: no probe.
  bench =
      RunCli({"bench", "--runs", "8", "--concurrency", "2", "--sync=false"});
  ASSERT_EQ(bench.code, kExitOk) << bench.out << bench.err;
  EXPECT_THAT(bench.out, Not(HasSubstr("disk before")));
}

}  // namespace
}  // namespace retrace::cli
