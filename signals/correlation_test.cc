#include "signals/correlation.h"

#include <cstdlib>
#include <fstream>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::signals {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::testing::HasSubstr;

expr::Value Event(absl::string_view payload_json) {
  expr::Value v = expr::Value::Object();
  v.MutableObject()->Set("id", expr::Value::String("evt-1"));
  v.MutableObject()->Set("name", expr::Value::String("order.paid"));
  v.MutableObject()->Set("payload", *expr::ParseJson(payload_json));
  return v;
}

TEST(CorrelationTest, ResolvesInOrderOfPrecedence) {
  auto config = CorrelationConfig::Parse(R"({
    "order.paid": ["payload.order.id", "payload.ref"],
    "*": ["payload.customer"]})");
  ASSERT_THAT(config, IsOk());
  const char* all = R"({"workflowCorrelationKey": "W", "correlationKey": "C",
                        "order": {"id": "O"}, "ref": "R", "customer": "X"})";
  auto r = config->Resolve("E", Event(all), "order.paid", 0);
  EXPECT_EQ(r.key, "E");
  EXPECT_EQ(r.source, "explicit");
  r = config->Resolve("", Event(all), "order.paid", 0);
  EXPECT_EQ(r.key, "W");
  EXPECT_EQ(r.source, "payload.workflowCorrelationKey");
  r = config->Resolve("",
                      Event(R"({"correlationKey": 42, "order": {"id": "O"}})"),
                      "order.paid", 0);
  EXPECT_EQ(r.key, "42");
  EXPECT_EQ(r.source, "payload.correlationKey");
  r = config->Resolve("", Event(R"({"order": {"id": "O"}, "customer": "X"})"),
                      "order.paid", 0);
  EXPECT_EQ(r.key, "O");
  EXPECT_EQ(r.source, "path:payload.order.id");
  // The event's own list comes before "*".
  r = config->Resolve("", Event(R"({"ref": "R", "customer": "X"})"),
                      "order.paid", 0);
  EXPECT_EQ(r.source, "path:payload.ref");
  r = config->Resolve("", Event(R"({"customer": "X"})"), "order.paid", 0);
  EXPECT_EQ(r.key, "X");
  EXPECT_EQ(r.source, "path:payload.customer");
  // Another event name only has "*".
  r = config->Resolve("", Event(R"({"order": {"id": "O"}})"), "order.shipped",
                      0);
  EXPECT_FALSE(r.resolved());
  // Empty strings, objects and the event id never count.
  r = config->Resolve("",
                      Event(R"({"correlationKey": "", "order": {"id": {}}})"),
                      "order.paid", 0);
  EXPECT_FALSE(r.resolved());
  EXPECT_EQ(r.source, "");
}

TEST(CorrelationTest, InvalidConfigNamesTheEntry) {
  EXPECT_THAT(CorrelationConfig::Parse("[]"),
              HasErrorCode("CORRELATION_CONFIG_INVALID"));
  EXPECT_THAT(CorrelationConfig::Parse("{oops"),
              HasErrorCode("CORRELATION_CONFIG_INVALID"));
  auto bad = CorrelationConfig::Parse(R"({"a.b": ["ok", "(("]})");
  EXPECT_THAT(bad, HasErrorCode("CORRELATION_CONFIG_INVALID"));
  EXPECT_THAT(bad.status().message(), HasSubstr("/a.b/1"));
  auto not_list = CorrelationConfig::Parse(R"({"x/y": "payload.id"})");
  EXPECT_THAT(not_list.status().message(), HasSubstr("/x~1y"));
  EXPECT_THAT(CorrelationConfig::Parse(R"({"a": [3]})").status().message(),
              HasSubstr("/a/0"));
}

TEST(CorrelationTest, FileWinsOverTheEnvironment) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/corr.json";
  std::ofstream(path) << R"({"*": ["payload.fromFile"]})";
  setenv("RETRACE_CORRELATION_PATHS_JSON", R"({"*": ["payload.fromEnv"]})", 1);
  auto from_file = CorrelationConfig::Load(path);
  ASSERT_THAT(from_file, IsOk());
  EXPECT_EQ(
      from_file
          ->Resolve("", Event(R"({"fromFile": "F", "fromEnv": "E"})"), "x", 0)
          .key,
      "F");
  auto from_env = CorrelationConfig::Load("");
  ASSERT_THAT(from_env, IsOk());
  EXPECT_EQ(
      from_env
          ->Resolve("", Event(R"({"fromFile": "F", "fromEnv": "E"})"), "x", 0)
          .key,
      "E");
  setenv("RETRACE_CORRELATION_PATHS_JSON", "{bad", 1);
  auto broken = CorrelationConfig::Load("");
  EXPECT_THAT(broken, HasErrorCode("CORRELATION_CONFIG_INVALID"));
  EXPECT_THAT(broken.status().message(),
              HasSubstr("RETRACE_CORRELATION_PATHS_JSON"));
  unsetenv("RETRACE_CORRELATION_PATHS_JSON");
  EXPECT_THAT(CorrelationConfig::Load("/nonexistent.json"),
              HasErrorCode("FILE_IO"));
}

}  // namespace
}  // namespace retrace::signals
