#include "signals/ndjson.h"

#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::signals {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;

// Found by tools/fuzz ndjson: an event name with bytes that are not UTF-8
// was accepted, and would have gone into protobuf string fields (the run's
// signal_received, the audit record) that cannot be parsed back.
TEST(NdjsonTest, RejectsStringFieldsThatAreNotUtf8) {
  EXPECT_THAT(
      ParseEventLine("{\"id\": \"e\", \"name\": \"order\xE0paid\"}", "d"),
      HasErrorCode("EVENT_FIELD_TYPE"));
  // A lone surrogate escape decodes to bytes that are not UTF-8 either.
  for (const char* field : {"id", "namespace", "correlation_key"}) {
    const std::string line = std::string(R"({"id": "e", "name": "n", ")") +
                             field + R"(": "k\udc00"})";
    EXPECT_THAT(ParseEventLine(line, "d"), HasErrorCode("EVENT_FIELD_TYPE"))
        << line;
  }
  // Pairs and plain non-ASCII text are fine, in the payload anything goes.
  auto e = ParseEventLine(
      R"({"id": "\ud83d\ude00", "name": "caf\u00e9", "payload": "\udc00"})",
      "d");
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->id, "\xF0\x9F\x98\x80");
  EXPECT_EQ(e->name, "caf\xC3\xA9");
}

// Found by tools/fuzz ndjson (UBSan in RapidJSON): a payload number 0e51
// was read as garbage (common/json.h).
TEST(NdjsonTest, ZeroWithLargeExponentInPayloadIsZero) {
  auto e = ParseEventLine(R"({"id": "e", "name": "n", "payload": {"a": 0e51}})",
                          "d");
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->payload_json, R"({"a":0})");
}

}  // namespace
}  // namespace retrace::signals
