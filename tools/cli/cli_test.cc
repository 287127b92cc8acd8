#include "tools/cli/cli.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/history_file.h"
#include "history/rocksdb_store.h"
#include "history/test_events.h"

namespace retrace::cli {
namespace {

using ::retrace::testing::IsOk;
using ::testing::HasSubstr;

std::string TempPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(base ? base : "/tmp", "/cli-", getpid(), "-",
                                  counter++, "-", name);
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

std::string WriteFile(absl::string_view name, absl::string_view contents) {
  std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

history::History SampleHistory() {
  history::History h;
  h.set_namespace_("default");
  h.set_run_id("order-17");
  for (const auto& e : history::testing::SimpleHistory(4)) *h.add_events() = e;
  return h;
}

TEST(CliTest, HelpAndUsage) {
  Result help = RunCli({"--help"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_THAT(help.out, HasSubstr("history show FILE"));
  EXPECT_EQ(RunCli({}).code, kExitUsage);
  Result unknown = RunCli({"frobnicate"});
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'frobnicate'"));
  Result history_help = RunCli({"history", "export", "--help"});
  EXPECT_EQ(history_help.code, kExitOk);
  EXPECT_THAT(history_help.out, HasSubstr("--format json|binary"));
  Result bad_option = RunCli({"history", "show", "--colour", "x"});
  EXPECT_EQ(bad_option.code, kExitUsage);
  EXPECT_THAT(bad_option.err, HasSubstr("unknown option --colour"));
}

TEST(CliTest, ShowPrintsATimeline) {
  auto text = history::FormatHistoryFile(SampleHistory(),
                                         history::HistoryFileFormat::kJson);
  ASSERT_THAT(text, IsOk());
  std::string path = WriteFile("h.json", *text);
  Result r = RunCli({"history", "show", path});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("run default/order-17 (4 events)"));
  EXPECT_THAT(r.out, HasSubstr("2026-01-02T03:04:05.000Z  run_started"));
  EXPECT_THAT(r.out, HasSubstr("step_completed          step=step3"));
}

TEST(CliTest, ShowReportsMalformedFileWithLine) {
  std::string path = WriteFile("bad.json", "{\"events\": [\n  {oops}\n]}");
  Result r = RunCli({"history", "show", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("HISTORY_FILE_INVALID"));
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  EXPECT_EQ(RunCli({"history", "show", "/nonexistent"}).code, kExitFailure);
}

TEST(CliTest, ImportThenExportRoundTripsBothFormats) {
  const std::string db = TempPath("db");
  for (auto format : {history::HistoryFileFormat::kJson,
                      history::HistoryFileFormat::kBinary}) {
    history::History h = SampleHistory();
    const bool json = format == history::HistoryFileFormat::kJson;
    h.set_run_id(json ? "from-json" : "from-binary");
    auto contents = history::FormatHistoryFile(h, format);
    ASSERT_THAT(contents, IsOk());
    std::string path = WriteFile("in", *contents);
    Result imported = RunCli({"history", "import", "--db", db, path});
    ASSERT_EQ(imported.code, kExitOk) << imported.err;
    EXPECT_THAT(imported.out,
                HasSubstr(absl::StrCat("imported run default/", h.run_id(),
                                       ": 4 events, status RUNNING")));
    // Importing the same run twice is refused and changes nothing.
    Result again = RunCli({"history", "import", "--db", db, path});
    EXPECT_EQ(again.code, kExitFailure);
    EXPECT_THAT(again.err, HasSubstr("RUN_ALREADY_EXISTS"));

    const std::string out_path = TempPath("out");
    Result exported =
        RunCli({"history", "export", "--db", db, "--format",
                json ? "json" : "binary", "--output", out_path, h.run_id()});
    ASSERT_EQ(exported.code, kExitOk) << exported.err;
    std::ifstream in(out_path, std::ios::binary);
    std::stringstream read;
    read << in.rdbuf();
    EXPECT_EQ(read.str(), *contents);
  }
  // Export to stdout, and errors.
  Result to_stdout = RunCli({"history", "export", "--db", db, "from-json"});
  EXPECT_EQ(to_stdout.code, kExitOk);
  EXPECT_THAT(to_stdout.out, HasSubstr("\"runId\":\"from-json\""));
  Result missing = RunCli({"history", "export", "--db", db, "nope"});
  EXPECT_EQ(missing.code, kExitFailure);
  EXPECT_THAT(missing.err, HasSubstr("RUN_NOT_FOUND"));
  EXPECT_EQ(RunCli({"history", "export", "from-json"}).code, kExitUsage);
  EXPECT_EQ(
      RunCli({"history", "export", "--db", db, "--format", "xml", "r"}).code,
      kExitUsage);
}

TEST(CliTest, ImportOfInvalidFileWritesNothing) {
  const std::string db = TempPath("db");
  history::History h = SampleHistory();
  h.mutable_events(2)->set_event_id(9);
  // Write a file whose third event has the wrong id, bypassing validation.
  std::string text = R"({"namespace":"default","runId":"bad","events":[
{"eventId":"1","eventTime":"2026-01-02T03:04:05Z","runStarted":{"workflow":"wf"}},
{"eventId":"5","eventTime":"2026-01-02T03:04:06Z","runCompleted":{}}
]})";
  std::string path = WriteFile("bad.json", text);
  Result r = RunCli({"history", "import", "--db", db, path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("INVALID_EVENT_ID"));
  EXPECT_THAT(r.err, HasSubstr("line 3"));
  auto store = history::OpenRocksDbHistoryStore(db);
  if (store.ok()) {
    EXPECT_FALSE((*store)->GetRunInfo("default", "bad").ok());
  }
}

}  // namespace
}  // namespace retrace::cli

namespace retrace::cli {
namespace {

constexpr char kOrderDef[] = "testdata/definitions/order-fulfilment.json";
constexpr char kOrderHistory[] =
    "testdata/histories/order-fulfilment-happy.json";

TEST(ReplayCliTest, ReplaysGoldenHistoriesOk) {
  Result r = RunCli({"replay", kOrderHistory, "--definition", kOrderDef});
  EXPECT_EQ(r.code, kExitOk) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("ok (21 events"));
  EXPECT_THAT(r.out, HasSubstr("status COMPLETED"));
}

TEST(ReplayCliTest, ReportsNondeterminismAndFails) {
  std::string changed = WriteFile("changed.json", R"({
    "name": "order-fulfilment", "version": "2",
    "steps": [
      {"id": "reserve", "type": "action", "action": "inventory.reserve_v2",
       "input": "{ 'order': input.orderId, 'lines': input.lines.{ 'sku': sku, 'qty': qty } }"}
    ]})");
  Result r = RunCli({"replay", kOrderHistory, "--definition", changed});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("NONDETERMINISM: event 2"));
  EXPECT_THAT(r.out, HasSubstr("action=inventory.reserve_v2"));
}

TEST(ReplayCliTest, AtPrintsStateAndTimelinePrintsRows) {
  Result at = RunCli(
      {"replay", kOrderHistory, "--definition", kOrderDef, "--at", "13"});
  EXPECT_EQ(at.code, kExitOk) << at.err;
  EXPECT_THAT(at.out, HasSubstr("ok (13 events"));
  EXPECT_THAT(at.out, HasSubstr("\"phase\": \"waiting\""));
  Result timeline = RunCli(
      {"replay", kOrderHistory, "--definition", kOrderDef, "--timeline"});
  EXPECT_EQ(timeline.code, kExitOk);
  EXPECT_THAT(timeline.out, HasSubstr("failed: HTTP_503"));
  EXPECT_THAT(timeline.out, HasSubstr("retry backoff"));
  EXPECT_EQ(RunCli({"replay", kOrderHistory}).code, kExitUsage);
  EXPECT_EQ(
      RunCli({"replay", kOrderHistory, "--definition", kOrderDef, "--at", "x"})
          .code,
      kExitUsage);
}

TEST(ReplayCliTest, ADirectoryReplaysEveryFile) {
  const std::string dir = TempPath("dir");
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kOrderHistory, dir + "/a.json");
  std::filesystem::copy_file(
      "testdata/histories/order-fulfilment-declined.json", dir + "/b.json");
  Result r = RunCli({"replay", dir, "--definition", kOrderDef});
  EXPECT_EQ(r.code, kExitOk) << r.out;
  EXPECT_THAT(r.out, HasSubstr("a.json: ok"));
  EXPECT_THAT(r.out, HasSubstr("b.json: ok"));
  std::filesystem::copy_file("testdata/histories/loan-checks-offer.json",
                             dir + "/c.json");
  Result mixed = RunCli({"replay", dir, "--definition", kOrderDef});
  EXPECT_EQ(mixed.code, kExitOk);
  EXPECT_THAT(mixed.out,
              HasSubstr("c.json: skipped (a run of workflow loan-checks"));
  // A file that does not parse fails the run.
  std::ofstream(dir + "/d.json") << "{broken";
  EXPECT_EQ(RunCli({"replay", dir, "--definition", kOrderDef}).code,
            kExitFailure);
  // Nothing of the workflow at all.
  EXPECT_EQ(RunCli({"replay", "testdata/histories/loan-checks-offer.json",
                    "--definition", kOrderDef})
                .code,
            kExitFailure);
}

TEST(DefCliTest, ValidateReportsEveryProblem) {
  Result ok = RunCli({"def", "validate", kOrderDef});
  EXPECT_EQ(ok.code, kExitOk);
  EXPECT_THAT(ok.out, HasSubstr("ok (order-fulfilment version 1"));
  std::string bad =
      WriteFile("bad-def.json",
                R"({"name": "x", "steps": [{"id": "a", "type": "sleep"}]})");
  Result r = RunCli({"def", "validate", bad});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("2 problem(s)"));
  EXPECT_THAT(r.out, HasSubstr("/version: DEF_FIELD_MISSING"));
  EXPECT_THAT(r.out, HasSubstr("/steps/0/type: DEF_STEP_TYPE_UNKNOWN"));
  EXPECT_EQ(RunCli({"def"}).code, kExitUsage);
}

}  // namespace
}  // namespace retrace::cli
