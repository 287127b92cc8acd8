#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/rocksdb_store.h"
#include "runtime/engine.h"
#include "tools/cli/cli.h"
#include "tools/cli/signal_commands.h"

namespace retrace::cli {
namespace {

using ::retrace::testing::IsOk;
using ::testing::HasSubstr;

class SignalCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/signal-cli-", getpid());
    std::filesystem::remove_all(db_);
    auto store = history::OpenRocksDbHistoryStore(db_).value();
    auto engine = runtime::Engine::Open(store.get()).value();
    runtime::RegisterDefinitionRequest def;
    def.set_namespace_("default");
    def.set_definition_json(R"({"name": "waiter", "version": "1", "steps": [
      {"id": "w", "type": "event.wait", "event": "payment.settled", "correlation": "input.order"}]})");
    ASSERT_THAT(engine->RegisterDefinition(def), IsOk());
    runtime::StartRunRequest start;
    start.set_namespace_("default");
    start.set_workflow("waiter");
    start.set_run_id("run-1");
    start.set_input_json(R"({"order": "SO-1"})");
    ASSERT_THAT(engine->StartRun(start), IsOk());
  }

  int Ingest(const std::string& lines, std::vector<std::string> extra,
             std::string* out) {
    std::istringstream in(lines);
    std::ostringstream o, e;
    std::vector<std::string> args = {"ingest", "--db", db_};
    args.insert(args.end(), extra.begin(), extra.end());
    int code = RunSignalCommand(args, in, o, e);
    *out = o.str() + e.str();
    return code;
  }

  std::string Status(const std::string& run) {
    auto store = history::OpenRocksDbHistoryStore(db_).value();
    auto engine = runtime::Engine::Open(store.get()).value();
    runtime::DescribeRunRequest d;
    d.set_namespace_("default");
    d.set_run_id(run);
    return engine->DescribeRun(d)->status();
  }

  std::string db_;
};

TEST_F(SignalCliTest, IngestRoutesSkipsBadLinesAndSummarises) {
  std::string out;
  int code = Ingest(
      "{\"id\": \"a\", \"name\": \"payment.settled\", \"correlation_key\": "
      "\"SO-1\"}\n"
      "not json\n"
      "\n"
      "{\"name\": \"payment.settled\"}\n"
      "{\"id\": \"b\", \"name\": \"payment.settled\"}\n"
      "{\"id\": \"a\", \"name\": \"payment.settled\", \"correlation_key\": "
      "\"SO-1\"}\n",
      {}, &out);
  EXPECT_EQ(code, kExitFailure);  // two lines were rejected
  EXPECT_THAT(
      out,
      HasSubstr(
          R"({"line":1,"event_id":"a","duplicate":false,"key":"SO-1","source":"explicit","matched":["run-1"],"resumed":["run-1"])"));
  EXPECT_THAT(out, HasSubstr(R"({"line":2,"error":"EVENT_INVALID_JSON")"));
  EXPECT_THAT(out, HasSubstr(R"({"line":4,"error":"EVENT_FIELD_MISSING")"));
  EXPECT_THAT(out, HasSubstr(R"("line":5,"event_id":"b")"));
  EXPECT_THAT(out, HasSubstr(R"("error":"CORRELATION_UNRESOLVED")"));
  EXPECT_THAT(out, HasSubstr(R"({"line":6,"event_id":"a","duplicate":true)"));
  EXPECT_THAT(
      out,
      HasSubstr(
          R"("summary":{"lines":5,"accepted":3,"rejected":2,"duplicates":1,"matched":1,"resumed":1)"));
  EXPECT_EQ(Status("run-1"), "COMPLETED");
}

TEST_F(SignalCliTest, StrictStopsAtTheFirstBadLineWithoutIngestingIt) {
  std::string out;
  int code = Ingest(
      "{\"id\": \"a\", \"name\": \"x\"}\n"
      "{\"id\": 1}\n"
      "{\"id\": \"b\", \"name\": \"payment.settled\", \"correlation_key\": "
      "\"SO-1\"}\n",
      {"--strict"}, &out);
  EXPECT_EQ(code, kExitFailure);
  EXPECT_THAT(out, HasSubstr(R"("lines":2,"accepted":1,"rejected":1)"));
  EXPECT_EQ(Status("run-1"), "WAITING");
}

TEST_F(SignalCliTest, SendAndConfigErrors) {
  std::istringstream none;
  std::ostringstream o, e;
  int code = RunSignalCommand({"send", "payment.settled", "--db", db_, "--key",
                               "SO-1", "--payload", "{\"amount\": 3}"},
                              none, o, e);
  EXPECT_EQ(code, kExitOk) << e.str();
  EXPECT_THAT(o.str(), HasSubstr(R"("resumed":["run-1"])"));
  const std::string bad =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/bad-corr.json");
  std::ofstream(bad) << R"({"payment.settled": [1]})";
  std::string out;
  EXPECT_EQ(Ingest("", {"--correlation-config", bad}, &out), kExitFailure);
  EXPECT_THAT(out, HasSubstr("CORRELATION_CONFIG_INVALID"));
  EXPECT_THAT(out, HasSubstr("/payment.settled/0"));
}

}  // namespace
}  // namespace retrace::cli
