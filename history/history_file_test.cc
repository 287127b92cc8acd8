#include "history/history_file.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "history/test_events.h"

namespace retrace::history {
namespace {

using ::retrace::history::testing::AllEventTypes;
using ::retrace::history::testing::MakeEvent;
using ::retrace::history::testing::RunStarted;
using ::retrace::history::testing::SimpleHistory;
using ::retrace::history::testing::StepCompleted;
using ::retrace::history::testing::TestTime;
using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// A history with every event type: run_started, every non-terminal type,
// run_failed, run_retried and run_completed.
History EveryTypeHistory() {
  History h;
  h.set_namespace_("default");
  h.set_run_id("every-type");
  *h.add_events() =
      MakeEvent(1, TestTime(), HistoryEvent::kRunStartedFieldNumber);
  std::vector<int> tail = {HistoryEvent::kRunFailedFieldNumber,
                           HistoryEvent::kRunRetriedFieldNumber,
                           HistoryEvent::kRunCanceledFieldNumber};
  for (int type : AllEventTypes()) {
    if (type == HistoryEvent::kRunStartedFieldNumber ||
        type == HistoryEvent::kRunCompletedFieldNumber ||
        type == HistoryEvent::kRunTerminatedFieldNumber ||
        type == HistoryEvent::kRunContinuedAsNewFieldNumber ||
        std::find(tail.begin(), tail.end(), type) != tail.end()) {
      continue;
    }
    int64_t id = h.events_size() + 1;
    *h.add_events() = MakeEvent(id, TestTime(id), type);
  }
  for (int type : tail) {
    int64_t id = h.events_size() + 1;
    *h.add_events() = MakeEvent(id, TestTime(id), type);
  }
  return h;
}

bool Same(const History& a, const History& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST(HistoryFileTest, JsonRoundTripOfEveryEventType) {
  History h = EveryTypeHistory();
  auto text = FormatHistoryFile(h, HistoryFileFormat::kJson);
  ASSERT_THAT(text, IsOk());
  auto parsed = ParseHistoryFile(*text);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(Same(*parsed, h)) << *text;
  // One event per line, between a header line and a trailer line.
  std::vector<std::string> lines =
      absl::StrSplit(*text, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), static_cast<size_t>(h.events_size() + 2));
  EXPECT_EQ(lines[0],
            R"({"namespace":"default","runId":"every-type","events":[)");
}

TEST(HistoryFileTest, BinaryRoundTripOfEveryEventType) {
  History h = EveryTypeHistory();
  auto bytes = FormatHistoryFile(h, HistoryFileFormat::kBinary);
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(bytes->substr(0, 8), "RTRCHST1");
  auto parsed = ParseHistoryFile(*bytes);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(Same(*parsed, h));
}

TEST(HistoryFileTest, JsonPayloadsAreReadableWhenLossless) {
  History h;
  h.set_namespace_("default");
  h.set_run_id("r");
  *h.add_events() = RunStarted();
  *h.add_events() =
      StepCompleted(2, TestTime(1), "a", R"({"total":12.5,"ok":true})");
  // Not compact: shown as base64 so the bytes survive exactly.
  *h.add_events() = StepCompleted(3, TestTime(2), "b", "{ \"spaced\": 1 }");
  HistoryEvent binary = StepCompleted(4, TestTime(3), "c");
  *binary.mutable_step_completed()->mutable_output() =
      BinaryPayload(std::string("\x00\xff\x01", 3));
  *h.add_events() = binary;
  auto text = FormatHistoryFile(h, HistoryFileFormat::kJson);
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(*text, HasSubstr(R"("json":{"total":12.5,"ok":true})"));
  EXPECT_THAT(*text, Not(HasSubstr("spaced")));
  auto parsed = ParseHistoryFile(*text);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(Same(*parsed, h));
  EXPECT_EQ(parsed->events(2).step_completed().output().data(),
            "{ \"spaced\": 1 }");
  EXPECT_EQ(parsed->events(3).step_completed().output().data(),
            std::string("\x00\xff\x01", 3));
}

TEST(HistoryFileTest, HandWrittenShorthandImpliesJsonEncoding) {
  const std::string text = R"({"namespace":"ns","runId":"hand","events":[
{"eventId":"1","eventTime":"2026-01-02T03:04:05Z","runStarted":{"workflow":"wf","input":{"json":{"a":[1,2]}}}},
{"eventId":2,"eventTime":"2026-01-02T03:04:06Z","runCompleted":{"completionReason":"done"}}
]})";
  auto parsed = ParseHistoryFile(text);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->namespace_(), "ns");
  ASSERT_EQ(parsed->events_size(), 2);
  const Payload& input = parsed->events(0).run_started().input();
  EXPECT_TRUE(IsJson(input));
  EXPECT_EQ(input.data(), R"({"a":[1,2]})");
}

std::string JsonWithEvents(const std::vector<std::string>& events) {
  std::string text = R"({"namespace":"default","runId":"r","events":[)";
  for (size_t i = 0; i < events.size(); ++i) {
    absl::StrAppend(&text, "\n", events[i], i + 1 < events.size() ? "," : "");
  }
  return text + "\n]}\n";
}

constexpr char kStart[] =
    R"({"eventId":"1","eventTime":"2026-01-02T03:04:05Z","runStarted":{"workflow":"wf"}})";

TEST(HistoryFileTest, RejectsMalformedJsonNamingTheLine) {
  EXPECT_THAT(ParseHistoryFile("{\"events\": [\n{\"eventId\": 1,,}\n]}"),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("line 2: invalid JSON"))));
  EXPECT_THAT(ParseHistoryFile("hello"),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("not a history file"))));
  EXPECT_THAT(ParseHistoryFile(""), HasErrorCode("HISTORY_FILE_INVALID"));
  // Missing header fields.
  EXPECT_THAT(ParseHistoryFile(R"({"events":[)" + std::string(kStart) + "]}"),
              HasErrorCode("INVALID_IDENTIFIER"));
  // Ids not dense: the third line holds event 3 where 2 was due.
  EXPECT_THAT(
      ParseHistoryFile(JsonWithEvents(
          {kStart,
           R"({"eventId":"3","eventTime":"2026-01-02T03:04:06Z","runCompleted":{}})"})),
      AllOf(
          HasErrorCode("INVALID_EVENT_ID"),
          StatusIs(
              absl::StatusCode::kInvalidArgument,
              HasSubstr("line 3: run default/r: event has id 3, expected 2"))));
  // Unknown event type.
  EXPECT_THAT(
      ParseHistoryFile(JsonWithEvents(
          {kStart,
           R"({"eventId":"2","eventTime":"2026-01-02T03:04:06Z","runExploded":{}})"})),
      AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
            StatusIs(absl::StatusCode::kInvalidArgument,
                     AllOf(HasSubstr("line 3"), HasSubstr("runExploded")))));
  // No attributes.
  EXPECT_THAT(
      ParseHistoryFile(JsonWithEvents(
          {kStart, R"({"eventId":"2","eventTime":"2026-01-02T03:04:06Z"})"})),
      AllOf(HasErrorCode("INVALID_EVENT"),
            StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3"))));
  // Time going backwards.
  EXPECT_THAT(
      ParseHistoryFile(JsonWithEvents(
          {kStart,
           R"({"eventId":"2","eventTime":"2025-01-01T00:00:00Z","runCompleted":{}})"})),
      HasErrorCode("EVENT_TIME_REGRESSED"));
  // An element that is not an object.
  EXPECT_THAT(
      ParseHistoryFile(JsonWithEvents({kStart, "42"})),
      AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
            StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3"))));
  // No events.
  EXPECT_THAT(ParseHistoryFile(JsonWithEvents({})),
              HasErrorCode("HISTORY_FILE_INVALID"));
}

// Found by tools/fuzz history_file: a JSON file whose run id held the byte
// 0xE0 imported, but the history could not be written as a binary file and
// read back (protobuf refuses invalid UTF-8 in string fields).
TEST(HistoryFileTest, RejectsInvalidUtf8NamingTheLine) {
  const std::string file = absl::StrReplaceAll(
      JsonWithEvents({kStart}), {{"\"runId\":\"r\"", "\"runId\":\"r\xE0\""}});
  EXPECT_THAT(ParseHistoryFile(file),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("line 1: invalid JSON"))));
  // Anywhere in an event, too.
  const std::string workflow =
      absl::StrReplaceAll(kStart, {{"\"wf\"", "\"w\xC3\""}});
  EXPECT_THAT(ParseHistoryFile(JsonWithEvents({workflow})),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("line 2: invalid JSON"))));
  // Nor through an escape: a lone surrogate.
  EXPECT_THAT(ParseHistoryFile(JsonWithEvents(
                  {absl::StrReplaceAll(kStart, {{"\"wf\"", "\"w\\udc00\""}})})),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("not valid UTF-8"))));
}

// Found by tools/fuzz history_file (ASan: heap-buffer-overflow in RapidJSON's
// UTF-8 validation): a file ending inside a string with the first byte of a
// four-byte sequence made the reader take the bytes after the end of its
// NUL-terminated copy. The reader now has explicit bounds.
TEST(HistoryFileTest, TruncatedUtf8AtTheEndIsAnErrorNotAnOverread) {
  for (const char* tail : {"\xF1", "\xF1\x80", "\xE2", "\xC3"}) {
    // Exactly sized, so ASan (--config=asan) sees any read past the end.
    const std::string file = std::string("{\"namespace\": \"d") + tail;
    EXPECT_THAT(ParseHistoryFile(file), HasErrorCode("HISTORY_FILE_INVALID"));
  }
}

// A file nested far past any limit is an error, not a stack overflow.
TEST(HistoryFileTest, RejectsDeepNestingWithoutOverflow) {
  const int depth = 1 << 18;
  const std::string deep = absl::StrReplaceAll(
      kStart, {{"\"wf\"", "\"wf\", \"x\": " + std::string(depth, '[') +
                              std::string(depth, ']')}});
  EXPECT_THAT(ParseHistoryFile(JsonWithEvents({deep})),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("deeper than 1000"))));
}

TEST(HistoryFileTest, RejectsOversizedPayloadOnImport) {
  History h;
  h.set_namespace_("default");
  h.set_run_id("big");
  *h.add_events() = RunStarted();
  h.mutable_events(0)->mutable_run_started()->mutable_input()->set_data(
      std::string(101, 'x'));
  HistoryFileOptions options;
  options.max_payload_bytes = 100;
  for (auto format : {HistoryFileFormat::kJson, HistoryFileFormat::kBinary}) {
    auto text = FormatHistoryFile(h, format);
    ASSERT_THAT(text, IsOk());
    EXPECT_THAT(ParseHistoryFile(*text, options),
                AllOf(HasErrorCode("PAYLOAD_TOO_LARGE"),
                      StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("101 bytes, limit 100"))));
  }
}

TEST(HistoryFileTest, RejectsMalformedBinaryNamingTheRecord) {
  History h;
  h.set_namespace_("default");
  h.set_run_id("r");
  for (const auto& e : SimpleHistory(3)) *h.add_events() = e;
  auto bytes = FormatHistoryFile(h, HistoryFileFormat::kBinary);
  ASSERT_THAT(bytes, IsOk());
  // Truncated in the middle of the last record.
  EXPECT_THAT(ParseHistoryFile(bytes->substr(0, bytes->size() - 3)),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("record 3 at byte"))));
  // A record that is not an event.
  std::string garbage =
      std::string(*bytes) + std::string("\x03\xff\xff\xff", 4);
  EXPECT_THAT(ParseHistoryFile(garbage),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("record 4"))));
  // A corrupt, huge length.
  std::string huge = "RTRCHST1" + std::string("\xff\xff\xff\xff\x0f", 5);
  EXPECT_THAT(ParseHistoryFile(huge),
              AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("exceeds the limit"))));
  // Only the magic.
  EXPECT_THAT(ParseHistoryFile("RTRCHST1"),
              HasErrorCode("HISTORY_FILE_INVALID"));
  // Found by tools/fuzz history_file: an event with a field this version
  // does not know (there: step_scheduled's attempt, field 6, written as
  // length-delimited) was imported and kept as an unknown field, which a
  // JSON export then dropped. JSON import rejects unknown fields; so does
  // binary import now, at any depth.
  History odd = h;
  StepCompletedAttributes* completed =
      odd.mutable_events(1)->mutable_step_completed();
  completed->GetReflection()
      ->MutableUnknownFields(completed)
      ->AddLengthDelimited(3, "x");  // attempt is a varint
  auto odd_bytes = FormatHistoryFile(odd, HistoryFileFormat::kBinary);
  ASSERT_THAT(odd_bytes, IsOk());
  EXPECT_THAT(
      ParseHistoryFile(*odd_bytes),
      AllOf(HasErrorCode("HISTORY_FILE_INVALID"),
            StatusIs(absl::StatusCode::kInvalidArgument,
                     AllOf(HasSubstr("record 2"),
                           HasSubstr("StepCompletedAttributes field 3")))));
  History deeper = h;
  Payload* output =
      deeper.mutable_events(2)->mutable_step_completed()->mutable_output();
  output->GetReflection()->MutableUnknownFields(output)->AddVarint(99, 1);
  auto deeper_bytes = FormatHistoryFile(deeper, HistoryFileFormat::kBinary);
  ASSERT_THAT(deeper_bytes, IsOk());
  EXPECT_THAT(
      ParseHistoryFile(*deeper_bytes),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("record 3"), HasSubstr("Payload field 99"))));
  // Events out of order.
  History swapped = h;
  swapped.mutable_events()->SwapElements(1, 2);
  auto swapped_bytes = FormatHistoryFile(swapped, HistoryFileFormat::kBinary);
  ASSERT_THAT(swapped_bytes, IsOk());
  EXPECT_THAT(ParseHistoryFile(*swapped_bytes),
              AllOf(HasErrorCode("INVALID_EVENT_ID"),
                    StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("record 2"))));
}

TEST(HistoryFileTest, FileSizeLimitAtAndOver) {
  History h;
  h.set_namespace_("default");
  h.set_run_id("r");
  *h.add_events() = RunStarted();
  auto text = FormatHistoryFile(h, HistoryFileFormat::kJson);
  ASSERT_THAT(text, IsOk());
  HistoryFileOptions options;
  options.max_file_bytes = static_cast<int64_t>(text->size());
  EXPECT_THAT(ParseHistoryFile(*text, options), IsOk());
  options.max_file_bytes -= 1;
  EXPECT_THAT(ParseHistoryFile(*text, options),
              HasErrorCode("HISTORY_FILE_TOO_LARGE"));
}

TEST(HistoryFileTest, ReadHistoryFileNamesMissingFile) {
  EXPECT_THAT(ReadHistoryFile("/nonexistent/history.json"),
              AllOf(HasErrorCode("FILE_IO"),
                    StatusIs(absl::StatusCode::kNotFound,
                             HasSubstr("/nonexistent/history.json"))));
}

}  // namespace
}  // namespace retrace::history
