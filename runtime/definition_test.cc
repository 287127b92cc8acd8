#include "runtime/definition.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::runtime {
namespace {

using ::retrace::testing::HasErrorCode;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// The (pointer, code) pairs of every problem.
std::vector<std::pair<std::string, std::string>> Problems(
    absl::string_view json) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Problem& p : ParseDefinition(json).problems) {
    out.emplace_back(p.pointer, p.code);
  }
  return out;
}

std::string WithSteps(absl::string_view steps) {
  return absl::StrCat(R"({"name": "wf", "version": "1", "steps": )", steps,
                      "}");
}

using P = std::pair<std::string, std::string>;

TEST(DefinitionTest, ParsesEveryStepType) {
  DefinitionResult r = ParseDefinition(R"({
    "name": "all", "version": 3, "description": "every step type",
    "task_queue": "orders",
    "trigger": {"event": "order.created", "guard": "payload.amount > 0",
                "dedupe_key": "payload.id", "dedupe_window": "1h"},
    "defaults": {"retry": {"initial_interval": "2s", "max_attempts": 5}, "timeout": "30s"},
    "goal": {"condition": "vars.done"},
    "steps": [
      {"id": "a", "type": "action", "action": "x", "input": "input", "timeout": "10s",
       "retry": {"max_attempts": 2}, "on_error": "continue"},
      {"id": "i", "type": "control.if", "condition": "true", "then": [], "else": []},
      {"id": "s", "type": "control.switch", "cases": [{"when": "false", "steps": []}], "default": []},
      {"id": "f", "type": "control.forEach", "items": "[1,2]", "as": "n",
       "steps": [{"id": "inner", "type": "state.assign", "vars": {"last": "n"}}]},
      {"id": "p", "type": "control.parallel", "branches": [[], []], "on_error": "continue"},
      {"id": "w", "type": "event.wait", "event": "e", "correlation": "input.k",
       "filter": "true", "timeout": "1d", "into": "got", "on_timeout": "continue"},
      {"id": "z", "type": "time.sleep", "duration": "90s"},
      {"id": "z2", "type": "time.sleep", "duration": "vars.delay"},
      {"id": "h", "type": "human.task", "title": "'t'", "assignee": "'a'", "form": "{}", "timeout": "2d"},
      {"id": "r", "type": "control.return", "output": "1"},
      {"id": "c", "type": "control.continueAsNew", "input": "{}"}
    ],
    "on_failure": [{"id": "alert", "type": "action", "action": "pager"}]
  })");
  ASSERT_TRUE(r.ok()) << r.status();
  const Definition& d = *r.definition;
  EXPECT_EQ(d.name, "all");
  EXPECT_EQ(d.version, "3");
  EXPECT_EQ(d.task_queue, "orders");
  ASSERT_TRUE(d.trigger.has_value());
  EXPECT_EQ(d.trigger->dedupe_window, absl::Hours(1));
  EXPECT_EQ(d.default_retry.initial_interval, absl::Seconds(2));
  EXPECT_EQ(d.default_retry.maximum_attempts, 5);
  EXPECT_EQ(d.default_timeout, absl::Seconds(30));
  ASSERT_THAT(d.steps, SizeIs(11));
  EXPECT_EQ(d.steps[0].retry->maximum_attempts, 2);
  EXPECT_EQ(d.steps[0].retry->initial_interval, absl::Seconds(2));  // inherited
  EXPECT_TRUE(d.steps[0].continue_on_error);
  EXPECT_EQ(d.steps[3].as, "n");
  EXPECT_EQ(d.steps[3].body[0].pointer, "/steps/3/steps/0");
  EXPECT_EQ(*d.steps[6].sleep_literal, absl::Seconds(90));
  EXPECT_TRUE(d.steps[7].sleep_duration.present());
  EXPECT_TRUE(d.steps[5].continue_on_timeout);
  EXPECT_THAT(d.on_failure, SizeIs(1));
}

TEST(DefinitionTest, ReportsEveryProblemWithItsPointer) {
  auto problems = Problems(R"({
    "version": "1",
    "colour": "red",
    "steps": [
      {"id": "a", "type": "action"},
      {"id": "a", "type": "action", "action": "x", "input": "1 +"},
      {"id": "b", "type": "control.if", "condition": "true",
       "then": [{"id": "c", "type": "teleport"}]},
      {"id": "9bad", "type": "time.sleep", "duration": "31d"},
      {"type": "action", "action": "x", "timeout": "5 minutes"}
    ]})");
  EXPECT_THAT(problems, Contains(P{"/name", "DEF_FIELD_MISSING"}));
  EXPECT_THAT(problems, Contains(P{"/colour", "DEF_FIELD_UNKNOWN"}));
  EXPECT_THAT(problems, Contains(P{"/steps/0/action", "DEF_FIELD_MISSING"}));
  EXPECT_THAT(problems, Contains(P{"/steps/1/id", "DEF_STEP_ID_DUPLICATE"}));
  EXPECT_THAT(problems,
              Contains(P{"/steps/1/input", "DEF_EXPRESSION_INVALID"}));
  EXPECT_THAT(problems,
              Contains(P{"/steps/2/then/0/type", "DEF_STEP_TYPE_UNKNOWN"}));
  EXPECT_THAT(problems, Contains(P{"/steps/3/id", "DEF_STEP_ID_INVALID"}));
  EXPECT_THAT(problems,
              Contains(P{"/steps/3/duration", "DEF_DURATION_TOO_LONG"}));
  EXPECT_THAT(problems, Contains(P{"/steps/4/id", "DEF_FIELD_MISSING"}));
  EXPECT_THAT(problems,
              Contains(P{"/steps/4/timeout", "DEF_DURATION_INVALID"}));
  EXPECT_THAT(problems, SizeIs(10));
  DefinitionResult r = ParseDefinition(
      R"({"name": "x", "version": "1", "steps": [{"id": "a", "type": "nope"}]})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.definition, nullptr);
  EXPECT_THAT(r.status(), HasErrorCode("INVALID_DEFINITION"));
  EXPECT_THAT(r.status().message(),
              HasSubstr("/steps/0/type: DEF_STEP_TYPE_UNKNOWN"));
}

TEST(DefinitionTest, EveryValidationCode) {
  EXPECT_THAT(Problems("{not json"), Contains(P{"", "DEF_JSON_INVALID"}));
  EXPECT_THAT(Problems("[1]"), Contains(P{"", "DEF_FIELD_TYPE"}));
  EXPECT_THAT(
      Problems(
          R"({"name": "", "version": "1", "steps": [{"id": "a", "type": "control.return"}]})"),
      Contains(P{"/name", "DEF_NAME_INVALID"}));
  EXPECT_THAT(Problems(R"({"name": "n", "version": "1", "steps": []})"),
              Contains(P{"/steps", "DEF_STEPS_EMPTY"}));
  EXPECT_THAT(
      Problems(WithSteps(
          R"([{"id": "a", "type": "action", "action": "x", "on_error": "explode"}])")),
      Contains(P{"/steps/0/on_error", "DEF_VALUE_INVALID"}));
  EXPECT_THAT(
      Problems(WithSteps(R"([{"id": "a", "type": "action", "action": 5}])")),
      Contains(P{"/steps/0/action", "DEF_FIELD_TYPE"}));
  EXPECT_THAT(
      Problems(WithSteps(
          R"([{"id": "l", "type": "control.forEach", "items": "x", "as": "input", "steps": []}])")),
      Contains(P{"/steps/0/as", "DEF_RESERVED_NAME"}));
  EXPECT_THAT(
      Problems(WithSteps(
          R"js([{"id": "a", "type": "action", "action": "x", "input": "$random()"}])js")),
      Contains(P{"/steps/0/input", "DEF_EXPRESSION_INVALID"}));
  EXPECT_THAT(
      Problems(WithSteps(
          R"([{"id": "a", "type": "action", "action": "x", "retry": {"backoff_coefficient": 0.5}}])")),
      Contains(P{"/steps/0/retry/backoff_coefficient", "DEF_VALUE_INVALID"}));
  EXPECT_THAT(
      Problems(
          R"({"name": "n", "version": "1", "goal": {}, "steps": [{"id": "a", "type": "control.return"}]})"),
      Contains(P{"/goal", "DEF_VALUE_INVALID"}));
  EXPECT_THAT(
      Problems(
          R"({"name": "n", "version": "1", "trigger": {"event": "e", "dedupe_key": "x"}, "steps": [{"id": "a", "type": "control.return"}]})"),
      Contains(P{"/trigger/dedupe_window", "DEF_FIELD_MISSING"}));
  // Limits.
  DefinitionLimits small;
  small.max_bytes = 10;
  EXPECT_THAT(ParseDefinition(WithSteps("[]"), small).problems,
              Contains(Field(&Problem::code, "DEF_TOO_LARGE")));
  DefinitionLimits shallow;
  shallow.max_depth = 2;
  EXPECT_THAT(
      ParseDefinition(
          WithSteps(
              R"([{"id": "a", "type": "control.if", "condition": "true", "then": [
      {"id": "b", "type": "control.if", "condition": "true", "then": [{"id": "c", "type": "control.return"}]}]}])"),
          shallow)
          .problems,
      Contains(Field(&Problem::code, "DEF_TOO_DEEP")));
  DefinitionLimits few;
  few.max_steps = 2;
  EXPECT_THAT(
      ParseDefinition(
          WithSteps(
              R"([{"id": "a", "type": "control.return"}, {"id": "b", "type": "control.return"},
      {"id": "c", "type": "control.return"}])"),
          few)
          .problems,
      Contains(Field(&Problem::code, "DEF_TOO_MANY_STEPS")));
}

// Found by tools/fuzz definition: an event name holding bytes that are not
// UTF-8 was accepted, and the run's history could not be exported and
// imported back unchanged (protobuf string fields must be UTF-8).
TEST(DefinitionTest, RejectsStringsThatAreNotUtf8) {
  EXPECT_THAT(Problems(WithSteps("[{\"id\": \"w\", \"type\": \"event.wait\", "
                                 "\"event\": \"a\xFF\xFE\"}]")),
              Contains(P{"", "DEF_JSON_INVALID"}));
  // Nor through an escape: a lone surrogate.
  EXPECT_THAT(Problems(WithSteps(
                  R"([{"id": "a", "type": "action", "action": "x\udc00"}])")),
              Contains(P{"", "DEF_JSON_INVALID"}));
  EXPECT_THAT(Problems(WithSteps(
                  R"([{"id": "a", "type": "action", "action": "\u00e9"}])")),
              SizeIs(0));
}

// A document nested far past any limit is a problem, not a stack overflow.
TEST(DefinitionTest, RejectsDeepNestingWithoutOverflow) {
  const int depth = 1 << 18;
  const std::string deep =
      absl::StrCat(R"({"name": "wf", "version": "1", "x": )",
                   std::string(depth, '['), std::string(depth, ']'), "}");
  EXPECT_THAT(Problems(deep), Contains(P{"", "DEF_JSON_INVALID"}));
}

TEST(DefinitionTest, SurvivesGarbage) {
  // A crude fuzz: every prefix of a valid definition, and byte flips.
  const std::string valid = WithSteps(
      R"([{"id": "a", "type": "control.if", "condition": "input.x > 1",
      "then": [{"id": "b", "type": "action", "action": "x", "input": "{'a': [1, 2]}"}]}])");
  for (size_t n = 0; n < valid.size(); ++n) {
    ParseDefinition(valid.substr(0, n));
  }
  for (size_t i = 0; i < valid.size(); ++i) {
    for (char c : {'"', '{', '[', '\\', '\0', '}', ':'}) {
      std::string mutated = valid;
      mutated[i] = c;
      ParseDefinition(mutated);
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace retrace::runtime
