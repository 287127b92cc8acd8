#include "projection/log_details.h"

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "history/history_file.h"
#include "history/test_events.h"

namespace retrace::projection {
namespace {

using history::HistoryEvent;
using history::testing::AllEventTypes;
using history::testing::MakeEvent;
using history::testing::TestTime;

// The one-pass details equal the reference; `fast` says whether the one
// pass must have handled the event itself.
void ExpectSame(const HistoryEvent& e, bool fast = true) {
  const std::string want = ExecutionLogDetailsReference(e);
  EXPECT_EQ(ExecutionLogDetails(e), want) << e.ShortDebugString();
  std::string out;
  const bool handled = AppendExecutionLogDetails(e, &out);
  if (fast) {
    EXPECT_TRUE(handled) << "reference path taken for " << e.ShortDebugString();
  }
  if (handled) {
    EXPECT_EQ(out, want) << e.ShortDebugString();
  }
}

HistoryEvent WithPayload(absl::string_view data, bool json = true) {
  HistoryEvent e = MakeEvent(7, TestTime(), 13);  // step_completed
  *e.mutable_step_completed()->mutable_output() =
      json ? history::JsonPayload(data) : history::BinaryPayload(data);
  return e;
}

TEST(LogDetailsTest, EveryEventTypeAsTheReference) {
  for (int type : AllEventTypes()) {
    for (int64_t id : {1, 2, 17, 123456}) {
      // Whole seconds, milliseconds, microseconds and nanoseconds.
      for (int64_t extra_ns : {0, 1000000, 1000, 1}) {
        HistoryEvent e = MakeEvent(id, TestTime(id), type);
        e.mutable_event_time()->set_nanos(e.event_time().nanos() / 1000000 *
                                              1000000 +
                                          static_cast<int32_t>(extra_ns));
        ExpectSame(e);
      }
    }
  }
  HistoryEvent unset;
  unset.set_event_id(3);
  ExpectSame(unset);
}

TEST(LogDetailsTest, GoldenHistoriesAsTheReference) {
  int events = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("testdata/histories")) {
    auto history = history::ReadHistoryFile(entry.path().string());
    ASSERT_TRUE(history.ok()) << history.status();
    for (const HistoryEvent& e : history->events()) {
      ExpectSame(e);
      ++events;
    }
  }
  EXPECT_GT(events, 50);
}

TEST(LogDetailsTest, PayloadsAsTheReference) {
  for (
      const char* data : {
          R"({"ok":true})",
          R"({"ok": true, "api_key": "sk_live_123456"})",  // not compact
          R"({"to":"jane.doe@example.com","cc":["a@b.io","x"]})",
          R"({"password":"p","nested":{"Token":12,"list":[1,true,null,"s"]}})",
          R"({"secrets":{"a":{"b":[false,{"c":"d"}]}},"n":null})",
          R"({"auth":"Bearer abc.def.ghi","key":"AKIAIOSFODNN7EXAMPLE"})",
          R"({"t":"0123456789abcdef0123456789abcdef01"})",
          R"({"e":"é ü 中文 😀","c":"tab\there\nnl\u0001"})",
          R"({"escaped":"\u00e9"})",  // not compact: RapidJSON writes é
          R"({"slash":"a\/b"})",
          R"([1,1.0,-0,0.1,1e21,1.5e-7,12345678901234567890,-9223372036854775808])",
          R"([1E2,1e+2,100.0])",
          R"({"big":1.7976931348623157e308,"tiny":5e-324})",
          R"("just a string")",
          "42",
          "true",
          "null",
          R"([])",
          R"({})",
          R"({"a":1} )",           // trailing space: not compact
          R"({"lone":"\ud800"})",  // RapidJSON rejects lone surrogates
          "{not json",
          "",
          "[1,2",
          R"({"ſk":"ſk_live_abc"})",
      }) {
    ExpectSame(WithPayload(data));
  }
  ExpectSame(WithPayload("\x01\x02 binary", /*json=*/false));
  ExpectSame(WithPayload(R"({"a":1})", /*json=*/false));
  HistoryEvent no_metadata = WithPayload("");
  no_metadata.mutable_step_completed()->mutable_output()->set_data("{}");
  no_metadata.mutable_step_completed()->mutable_output()->clear_metadata();
  ExpectSame(no_metadata);
  HistoryEvent secret_meta = WithPayload(R"({"x":1})");
  (*secret_meta.mutable_step_completed()
        ->mutable_output()
        ->mutable_metadata())["x-api-key"] = "k";
  (*secret_meta.mutable_step_completed()
        ->mutable_output()
        ->mutable_metadata())["encoding"] = "json/plain";
  // Two metadata keys: protobuf prints them in hash order, so compare with
  // a single-key reference instead.
  std::string out;
  ASSERT_TRUE(AppendExecutionLogDetails(secret_meta, &out));
  EXPECT_THAT(out,
              ::testing::HasSubstr(
                  R"("metadata":{"encoding":"json/plain","x-api-key":"***"})"));
}

TEST(LogDetailsTest, RareShapesTakeTheReferencePath) {
  // A repeated key: expr keeps the first position and the last value.
  ExpectSame(WithPayload(R"({"a":1,"b":2,"a":"x@y.io"})"), /*fast=*/false);
  // Nested deeper than expr accepts.
  std::string deep(2000, '[');
  deep.append(2000, ']');
  ExpectSame(WithPayload(deep), /*fast=*/false);
  // Invalid UTF-8 in a string field.
  HistoryEvent bad = MakeEvent(2, TestTime(), 11);
  bad.mutable_step_scheduled()->set_step_id("bad\xff");
  ExpectSame(bad, /*fast=*/false);
  // A timestamp protobuf's printer refuses: the summary, masked.
  HistoryEvent far = MakeEvent(2, TestTime(), 11);
  far.mutable_event_time()->set_seconds(int64_t{1} << 40);
  ExpectSame(far, /*fast=*/false);
  HistoryEvent inf = MakeEvent(2, TestTime(), 11);
  inf.mutable_step_scheduled()->mutable_retry_policy()->set_backoff_coefficient(
      1.0 / 0.0);
  ExpectSame(inf, /*fast=*/false);
  HistoryEvent unknown_enum = MakeEvent(2, TestTime(), 15);
  unknown_enum.mutable_step_timed_out()->set_timeout_type(
      static_cast<history::TimeoutType>(99));
  ExpectSame(unknown_enum, /*fast=*/false);
}

TEST(LogDetailsTest, EnvelopeStringsAreMaskedToo) {
  HistoryEvent e = MakeEvent(4, TestTime(), 14);  // step_failed
  e.mutable_step_failed()->set_worker_id("ops.person@example.com");
  e.mutable_step_failed()->mutable_failure()->set_message(
      "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig");
  ExpectSame(e);
  const std::string details = ExecutionLogDetails(e);
  EXPECT_THAT(details, ::testing::HasSubstr("o***@example.com"));
  EXPECT_THAT(details, ::testing::Not(::testing::HasSubstr("eyJhbGci")));
}

// Random JSON documents, compact or spaced, with keys and strings drawn to
// hit the masking rules.
class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  std::string Document(bool spaced) {
    spaced_ = spaced;
    std::string out;
    Value(0, &out);
    return out;
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  void Value(int depth, std::string* out) {
    switch (depth > 4 ? Pick(4) : Pick(6)) {
      case 0:
        out->append(Pick(2) ? "true" : (Pick(2) ? "false" : "null"));
        break;
      case 1: {
        static const char* numbers[] = {
            "0",   "-1", "3.25", "1e3", "1E-9", "2.50", "123456789012345678",
            "-0.0"};
        out->append(numbers[Pick(8)]);
        break;
      }
      case 2:
      case 3:
        String(out);
        break;
      case 4: {
        out->push_back('[');
        const int n = Pick(4);
        for (int i = 0; i < n; ++i) {
          if (i) out->append(spaced_ ? ", " : ",");
          Value(depth + 1, out);
        }
        out->push_back(']');
        break;
      }
      default: {
        out->push_back('{');
        const int n = Pick(5);
        for (int i = 0; i < n; ++i) {
          if (i) out->append(spaced_ ? ", " : ",");
          static const char* keys[] = {"id",     "Password", "to",   "API_KEY",
                                       "nested", "db_token", "list", "meta"};
          absl::StrAppend(out, "\"", keys[Pick(8)], i, "\":");
          if (spaced_) out->push_back(' ');
          Value(depth + 1, out);
        }
        out->push_back('}');
      }
    }
  }
  void String(std::string* out) {
    static const char* strings[] = {
        "plain",
        "jane.doe@example.com",
        "write to a@b.io or c.d@e.org",
        "Bearer abc",
        "  basic x",
        "sk_test_abcdef",
        "ghp_abcdefghijklmnopqrstuvwxyz",
        "AKIAIOSFODNN7EXAMPLE",
        "0123456789abcdef0123456789abcdef",
        "xoxb-1",
        "quote \\\" and \\\\ backslash",
        "\\n\\t\\u0002",
        "ünïcødé ſ K",
        "",
        "@",
    };
    absl::StrAppend(out, "\"", strings[Pick(15)], "\"");
  }

  std::mt19937 rng_;
  bool spaced_ = false;
};

TEST(LogDetailsTest, RandomPayloadsAsTheReference) {
  RandomJson random(20261122);
  for (int i = 0; i < 2000; ++i) {
    const std::string doc = random.Document(/*spaced=*/i % 5 == 0);
    HistoryEvent e = WithPayload(doc);
    const std::string want = ExecutionLogDetailsReference(e);
    ASSERT_EQ(ExecutionLogDetails(e), want) << doc;
  }
}

}  // namespace
}  // namespace retrace::projection
