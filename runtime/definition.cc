#include "runtime/definition.h"

#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/json.h"
#include "common/status.h"
#include "rapidjson/document.h"
#include "runtime/duration.h"

namespace retrace::runtime {
namespace {

using JsonValue = rapidjson::Value;

std::string Escape(absl::string_view key) {
  return absl::StrReplaceAll(key, {{"~", "~0"}, {"/", "~1"}});
}

std::string Child(absl::string_view pointer, absl::string_view key) {
  return absl::StrCat(pointer, "/", Escape(key));
}

std::string Child(absl::string_view pointer, size_t index) {
  return absl::StrCat(pointer, "/", index);
}

absl::string_view JsonTypeName(const JsonValue& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  return "object";
}

bool ValidStepId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(id[0])) && id[0] != '_') {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Names an expression scope already uses; a forEach `as` or an assigned
// variable cannot shadow them.
const std::set<std::string>& ReservedScopeNames() {
  static const auto* names = new std::set<std::string>{
      "input", "vars", "steps", "run", "event", "index"};
  return *names;
}

class Parser {
 public:
  explicit Parser(const DefinitionLimits& limits) : limits_(limits) {}

  DefinitionResult Parse(absl::string_view json) {
    DefinitionResult result;
    if (json.size() > limits_.max_bytes) {
      Add("", "DEF_TOO_LARGE",
          absl::StrCat("the definition is ", json.size(), " bytes, limit ",
                       limits_.max_bytes));
      result.problems = std::move(problems_);
      return result;
    }
    // Strings must be UTF-8: names, ids and actions end up in protobuf
    // string fields of the run's history.
    rapidjson::Document doc;
    std::string error;
    rapidjson::ParseResult parsed =
        json::Parse(json, json::Utf8::kRequire, &doc, &error);
    if (parsed.IsError()) {
      Add("", "DEF_JSON_INVALID",
          absl::StrCat("not valid JSON at byte ", parsed.Offset(), ": ",
                       error));
    } else if (!doc.IsObject()) {
      Add("", "DEF_FIELD_TYPE",
          absl::StrCat("a definition is a JSON object, not ",
                       JsonTypeName(doc)));
    } else {
      ParseDocument(doc);
    }
    if (problems_.empty()) {
      result.definition = std::make_shared<const Definition>(std::move(def_));
    }
    result.problems = std::move(problems_);
    return result;
  }

 private:
  void Add(std::string pointer, absl::string_view code, std::string message) {
    problems_.push_back(
        Problem{std::move(pointer), std::string(code), std::move(message)});
  }

  void CheckKnown(const JsonValue& obj, absl::string_view pointer,
                  const std::set<absl::string_view>& known) {
    for (const auto& m : obj.GetObject()) {
      absl::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (!known.count(key)) {
        Add(Child(pointer, key), "DEF_FIELD_UNKNOWN",
            absl::StrCat("unknown field \"", key,
                         "\"; expected one of: ", absl::StrJoin(known, ", ")));
      }
    }
  }

  const JsonValue* Member(const JsonValue& obj, absl::string_view key) {
    auto it =
        obj.FindMember(JsonValue(rapidjson::StringRef(key.data(), key.size())));
    return it == obj.MemberEnd() ? nullptr : &it->value;
  }

  void Missing(absl::string_view pointer, absl::string_view key,
               absl::string_view what) {
    Add(Child(pointer, key), "DEF_FIELD_MISSING",
        absl::StrCat("\"", key, "\" is required", what.empty() ? "" : " ",
                     what));
  }

  void WrongType(const std::string& pointer, absl::string_view expected,
                 const JsonValue& got) {
    Add(pointer, "DEF_FIELD_TYPE",
        absl::StrCat("expected ", expected, ", got ", JsonTypeName(got)));
  }

  std::optional<std::string> String(const JsonValue& obj,
                                    absl::string_view pointer,
                                    absl::string_view key, bool required) {
    const JsonValue* v = Member(obj, key);
    if (v == nullptr) {
      if (required) Missing(pointer, key, "");
      return std::nullopt;
    }
    if (!v->IsString()) {
      WrongType(Child(pointer, key), "a string", *v);
      return std::nullopt;
    }
    return std::string(v->GetString(), v->GetStringLength());
  }

  Expression Expr(const JsonValue& obj, absl::string_view pointer,
                  absl::string_view key, bool required) {
    std::optional<std::string> source = String(obj, pointer, key, required);
    if (!source.has_value()) return Expression();
    return CompileAt(Child(pointer, key), *source);
  }

  Expression CompileAt(const std::string& pointer, absl::string_view source) {
    absl::StatusOr<Expression> compiled = Expression::Compile(source);
    if (!compiled.ok()) {
      Add(pointer, "DEF_EXPRESSION_INVALID",
          absl::StrCat("expression ", source, ": ",
                       compiled.status().message()));
      return Expression();
    }
    return *std::move(compiled);
  }

  std::optional<absl::Duration> Dur(const JsonValue& obj,
                                    absl::string_view pointer,
                                    absl::string_view key) {
    std::optional<std::string> text = String(obj, pointer, key, false);
    if (!text.has_value()) return std::nullopt;
    absl::StatusOr<absl::Duration> d = ParseDuration(*text);
    if (!d.ok()) {
      Add(Child(pointer, key), "DEF_DURATION_INVALID",
          std::string(d.status().message()));
      return std::nullopt;
    }
    if (*d > kMaxSleep) {
      Add(Child(pointer, key), "DEF_DURATION_TOO_LONG",
          absl::StrCat(*text, " is longer than the maximum of 30d"));
      return std::nullopt;
    }
    return *d;
  }

  std::optional<std::string> OneOf(const JsonValue& obj,
                                   absl::string_view pointer,
                                   absl::string_view key,
                                   const std::set<absl::string_view>& allowed) {
    std::optional<std::string> v = String(obj, pointer, key, false);
    if (v.has_value() && !allowed.count(*v)) {
      Add(Child(pointer, key), "DEF_VALUE_INVALID",
          absl::StrCat("\"", *v,
                       "\" is not one of: ", absl::StrJoin(allowed, ", ")));
      return std::nullopt;
    }
    return v;
  }

  RetryPolicy Retry(const JsonValue& v, const std::string& pointer,
                    const RetryPolicy& base) {
    RetryPolicy policy = base;
    if (!v.IsObject()) {
      WrongType(pointer, "an object", v);
      return policy;
    }
    CheckKnown(v, pointer,
               {"initial_interval", "backoff_coefficient", "max_interval",
                "max_attempts", "non_retryable"});
    if (auto d = Dur(v, pointer, "initial_interval")) {
      policy.initial_interval = *d;
    }
    if (auto d = Dur(v, pointer, "max_interval")) policy.maximum_interval = *d;
    if (const JsonValue* c = Member(v, "backoff_coefficient")) {
      if (!c->IsNumber()) {
        WrongType(Child(pointer, "backoff_coefficient"), "a number", *c);
      } else if (c->GetDouble() < 1.0 || c->GetDouble() > 100.0) {
        Add(Child(pointer, "backoff_coefficient"), "DEF_VALUE_INVALID",
            "backoff_coefficient must be between 1 and 100");
      } else {
        policy.backoff_coefficient = c->GetDouble();
      }
    }
    if (const JsonValue* a = Member(v, "max_attempts")) {
      if (!a->IsInt() || a->GetInt() < 0) {
        Add(Child(pointer, "max_attempts"), "DEF_VALUE_INVALID",
            "max_attempts must be a whole number >= 0 (0: unlimited)");
      } else {
        policy.maximum_attempts = a->GetInt();
      }
    }
    if (const JsonValue* codes = Member(v, "non_retryable")) {
      std::string p = Child(pointer, "non_retryable");
      if (!codes->IsArray()) {
        WrongType(p, "an array of strings", *codes);
      } else {
        policy.non_retryable_error_codes.clear();
        for (size_t i = 0; i < codes->Size(); ++i) {
          const JsonValue& c = (*codes)[i];
          if (!c.IsString()) {
            WrongType(Child(p, i), "a string", c);
          } else {
            policy.non_retryable_error_codes.emplace_back(c.GetString(),
                                                          c.GetStringLength());
          }
        }
      }
    }
    // As Temporal: without an explicit cap, backoff stops growing at 100x the
    // initial interval (never below the inherited cap).
    if (Member(v, "max_interval") == nullptr &&
        Member(v, "initial_interval") != nullptr) {
      policy.maximum_interval =
          std::max(base.maximum_interval, 100 * policy.initial_interval);
    }
    if (policy.maximum_interval < policy.initial_interval) {
      Add(pointer, "DEF_VALUE_INVALID",
          "max_interval must not be shorter than initial_interval");
    }
    return policy;
  }

  void ParseDocument(const JsonValue& doc) {
    CheckKnown(doc, "",
               {"name", "version", "description", "task_queue", "trigger",
                "defaults", "goal", "steps", "on_failure"});
    if (auto name = String(doc, "", "name", true)) {
      if (!ValidName(*name)) {
        Add("/name", "DEF_NAME_INVALID",
            "the name must be 1..255 bytes without control characters");
      }
      def_.name = *name;
    }
    if (const JsonValue* v = Member(doc, "version")) {
      if (v->IsString()) {
        def_.version.assign(v->GetString(), v->GetStringLength());
      } else if (v->IsUint64()) {
        def_.version = absl::StrCat(v->GetUint64());
      } else {
        WrongType("/version", "a string or a whole number", *v);
      }
      if ((v->IsString() || v->IsUint64()) && !ValidName(def_.version)) {
        Add("/version", "DEF_NAME_INVALID",
            "the version must be 1..255 bytes without control characters");
      }
    } else {
      Missing("", "version", "");
    }
    if (auto d = String(doc, "", "description", false)) def_.description = *d;
    if (auto q = String(doc, "", "task_queue", false)) {
      if (!ValidName(*q)) {
        Add("/task_queue", "DEF_NAME_INVALID",
            "the task queue name is invalid");
      }
      def_.task_queue = *q;
    }
    if (const JsonValue* t = Member(doc, "trigger")) ParseTrigger(*t);
    if (const JsonValue* d = Member(doc, "defaults")) {
      if (!d->IsObject()) {
        WrongType("/defaults", "an object", *d);
      } else {
        CheckKnown(*d, "/defaults", {"retry", "timeout"});
        if (const JsonValue* r = Member(*d, "retry")) {
          def_.default_retry = Retry(*r, "/defaults/retry", RetryPolicy());
        }
        if (auto timeout = Dur(*d, "/defaults", "timeout")) {
          def_.default_timeout = *timeout;
        }
      }
    }
    if (const JsonValue* g = Member(doc, "goal")) ParseGoal(*g);
    const JsonValue* steps = Member(doc, "steps");
    if (steps == nullptr) {
      Missing("", "steps", "(a list of steps)");
    } else {
      def_.steps = Steps(*steps, "/steps", 1);
      if (steps->IsArray() && steps->Empty()) {
        Add("/steps", "DEF_STEPS_EMPTY", "a workflow needs at least one step");
      }
    }
    if (const JsonValue* f = Member(doc, "on_failure")) {
      def_.on_failure = Steps(*f, "/on_failure", 1);
    }
  }

  void ParseTrigger(const JsonValue& t) {
    if (!t.IsObject()) {
      WrongType("/trigger", "an object", t);
      return;
    }
    CheckKnown(t, "/trigger",
               {"event", "guard", "dedupe_key", "dedupe_window"});
    Trigger trigger;
    if (auto e = String(t, "/trigger", "event", true)) {
      if (!ValidName(*e)) {
        Add("/trigger/event", "DEF_NAME_INVALID", "the event name is invalid");
      }
      trigger.event = *e;
    }
    trigger.guard = Expr(t, "/trigger", "guard", false);
    trigger.dedupe_key = Expr(t, "/trigger", "dedupe_key", false);
    if (auto w = Dur(t, "/trigger", "dedupe_window"))
      trigger.dedupe_window = *w;
    if (trigger.dedupe_key.present() &&
        trigger.dedupe_window == absl::ZeroDuration()) {
      Add("/trigger/dedupe_window", "DEF_FIELD_MISSING",
          "a dedupe_key needs a dedupe_window");
    }
    def_.trigger = std::move(trigger);
  }

  void ParseGoal(const JsonValue& g) {
    if (!g.IsObject()) {
      WrongType("/goal", "an object", g);
      return;
    }
    CheckKnown(g, "/goal", {"event", "correlation", "condition"});
    Goal goal;
    if (auto e = String(g, "/goal", "event", false)) goal.event = *e;
    goal.correlation = Expr(g, "/goal", "correlation", false);
    goal.condition = Expr(g, "/goal", "condition", false);
    const bool has_event = Member(g, "event") != nullptr;
    const bool has_condition = Member(g, "condition") != nullptr;
    if (has_event == has_condition) {
      Add("/goal", "DEF_VALUE_INVALID",
          "a goal has either \"event\" (with \"correlation\") or "
          "\"condition\", not both and not neither");
    }
    if (Member(g, "correlation") != nullptr && !has_event) {
      Add("/goal/correlation", "DEF_VALUE_INVALID",
          "correlation only goes with a goal event");
    }
    def_.goal = std::move(goal);
  }

  StepList Steps(const JsonValue& v, const std::string& pointer, int depth) {
    StepList steps;
    if (!v.IsArray()) {
      WrongType(pointer, "an array of steps", v);
      return steps;
    }
    if (depth > limits_.max_depth) {
      Add(pointer, "DEF_TOO_DEEP",
          absl::StrCat("steps are nested ", depth, " deep, limit ",
                       limits_.max_depth));
      return steps;
    }
    for (size_t i = 0; i < v.Size(); ++i) {
      if (++step_count_ > limits_.max_steps) {
        if (step_count_ == limits_.max_steps + 1) {
          Add(Child(pointer, i), "DEF_TOO_MANY_STEPS",
              absl::StrCat("more than ", limits_.max_steps, " steps"));
        }
        return steps;
      }
      steps.push_back(ParseStep(v[i], Child(pointer, i), depth));
    }
    return steps;
  }

  Step ParseStep(const JsonValue& v, const std::string& pointer, int depth) {
    Step step;
    step.pointer = pointer;
    if (!v.IsObject()) {
      WrongType(pointer, "a step object", v);
      return step;
    }
    if (auto id = String(v, pointer, "id", true)) {
      if (!ValidStepId(*id)) {
        Add(Child(pointer, "id"), "DEF_STEP_ID_INVALID",
            absl::StrCat("\"", *id,
                         "\" is not a valid step id (a letter or _, then "
                         "letters, digits, _ or -; at most 128)"));
      } else if (!ids_.insert(*id).second) {
        Add(Child(pointer, "id"), "DEF_STEP_ID_DUPLICATE",
            absl::StrCat("step id \"", *id, "\" is used more than once"));
      }
      step.id = *id;
    }
    std::optional<std::string> type = String(v, pointer, "type", true);
    if (!type.has_value()) return step;
    static const std::set<absl::string_view> kCommon = {"id", "type",
                                                        "description"};
    auto known = [&](std::set<absl::string_view> extra) {
      extra.insert(kCommon.begin(), kCommon.end());
      CheckKnown(v, pointer, extra);
    };
    auto on_error = [&](absl::string_view key) {
      auto mode = OneOf(v, pointer, key, {"fail", "continue"});
      return mode.has_value() && *mode == "continue";
    };
    const std::string& t = *type;
    if (t == "action") {
      step.type = StepType::kAction;
      known({"action", "input", "retry", "timeout", "on_error"});
      if (auto a = String(v, pointer, "action", true)) {
        if (!ValidName(*a)) {
          Add(Child(pointer, "action"), "DEF_NAME_INVALID",
              "the action name is invalid");
        }
        step.action = *a;
      }
      step.input = Expr(v, pointer, "input", false);
      if (const JsonValue* r = Member(v, "retry")) {
        step.retry = Retry(*r, Child(pointer, "retry"), def_.default_retry);
      }
      if (auto d = Dur(v, pointer, "timeout")) step.timeout = *d;
      step.continue_on_error = on_error("on_error");
    } else if (t == "control.if") {
      step.type = StepType::kIf;
      known({"condition", "then", "else"});
      step.condition = Expr(v, pointer, "condition", true);
      if (const JsonValue* s = Member(v, "then")) {
        step.then_steps = Steps(*s, Child(pointer, "then"), depth + 1);
      } else {
        Missing(pointer, "then", "(the steps run when the condition holds)");
      }
      if (const JsonValue* s = Member(v, "else")) {
        step.else_steps = Steps(*s, Child(pointer, "else"), depth + 1);
      }
    } else if (t == "control.switch") {
      step.type = StepType::kSwitch;
      known({"cases", "default"});
      const JsonValue* cases = Member(v, "cases");
      const std::string cases_ptr = Child(pointer, "cases");
      if (cases == nullptr) {
        Missing(pointer, "cases", "(a list of {when, steps})");
      } else if (!cases->IsArray()) {
        WrongType(cases_ptr, "an array", *cases);
      } else {
        for (size_t i = 0; i < cases->Size(); ++i) {
          const JsonValue& c = (*cases)[i];
          const std::string case_ptr = Child(cases_ptr, i);
          if (!c.IsObject()) {
            WrongType(case_ptr, "an object", c);
            continue;
          }
          CheckKnown(c, case_ptr, {"when", "steps"});
          SwitchCase sc;
          sc.when = Expr(c, case_ptr, "when", true);
          if (const JsonValue* s = Member(c, "steps")) {
            sc.steps = Steps(*s, Child(case_ptr, "steps"), depth + 1);
          } else {
            Missing(case_ptr, "steps", "");
          }
          step.cases.push_back(std::move(sc));
        }
      }
      if (const JsonValue* s = Member(v, "default")) {
        step.default_steps = Steps(*s, Child(pointer, "default"), depth + 1);
      }
    } else if (t == "control.forEach") {
      step.type = StepType::kForEach;
      known({"items", "as", "steps"});
      step.items = Expr(v, pointer, "items", true);
      if (auto as = String(v, pointer, "as", false)) {
        if (!ValidStepId(*as) || ReservedScopeNames().count(*as)) {
          Add(Child(pointer, "as"), "DEF_RESERVED_NAME",
              absl::StrCat("\"", *as,
                           "\" cannot name the loop item (it must be an "
                           "identifier other than input, vars, steps, run, "
                           "event, index)"));
        }
        step.as = *as;
      }
      if (const JsonValue* s = Member(v, "steps")) {
        step.body = Steps(*s, Child(pointer, "steps"), depth + 1);
      } else {
        Missing(pointer, "steps", "(the loop body)");
      }
    } else if (t == "control.parallel") {
      step.type = StepType::kParallel;
      known({"branches", "on_error"});
      const JsonValue* b = Member(v, "branches");
      const std::string b_ptr = Child(pointer, "branches");
      if (b == nullptr) {
        Missing(pointer, "branches", "(a list of step lists)");
      } else if (!b->IsArray() || b->Empty()) {
        Add(b_ptr, "DEF_FIELD_TYPE", "branches must be a non-empty array");
      } else {
        for (size_t i = 0; i < b->Size(); ++i) {
          step.branches.push_back(Steps((*b)[i], Child(b_ptr, i), depth + 1));
        }
      }
      step.continue_on_error = on_error("on_error");
    } else if (t == "state.assign") {
      step.type = StepType::kAssign;
      known({"vars"});
      const JsonValue* vars = Member(v, "vars");
      const std::string vars_ptr = Child(pointer, "vars");
      if (vars == nullptr) {
        Missing(pointer, "vars", "(variable name -> expression)");
      } else if (!vars->IsObject() || vars->ObjectEmpty()) {
        Add(vars_ptr, "DEF_FIELD_TYPE",
            "vars must be a non-empty object of expressions");
      } else {
        for (const auto& m : vars->GetObject()) {
          std::string name(m.name.GetString(), m.name.GetStringLength());
          const std::string p = Child(vars_ptr, name);
          if (!ValidStepId(name)) {
            Add(p, "DEF_RESERVED_NAME",
                absl::StrCat("\"", name, "\" is not a valid variable name"));
          }
          if (!m.value.IsString()) {
            WrongType(p, "an expression string", m.value);
            continue;
          }
          step.assignments.emplace_back(
              name, CompileAt(p, absl::string_view(m.value.GetString(),
                                                   m.value.GetStringLength())));
        }
      }
    } else if (t == "event.wait") {
      step.type = StepType::kWait;
      known(
          {"event", "correlation", "filter", "timeout", "into", "on_timeout"});
      if (auto e = String(v, pointer, "event", true)) {
        if (!ValidName(*e)) {
          Add(Child(pointer, "event"), "DEF_NAME_INVALID",
              "the event name is invalid");
        }
        step.event = *e;
      }
      step.correlation = Expr(v, pointer, "correlation", false);
      step.filter = Expr(v, pointer, "filter", false);
      step.wait_timeout = Dur(v, pointer, "timeout");
      if (auto into = String(v, pointer, "into", false)) {
        if (!ValidStepId(*into)) {
          Add(Child(pointer, "into"), "DEF_RESERVED_NAME",
              absl::StrCat("\"", *into, "\" is not a valid variable name"));
        }
        step.into = *into;
      }
      auto mode = OneOf(v, pointer, "on_timeout", {"fail", "continue"});
      step.continue_on_timeout = mode.has_value() && *mode == "continue";
    } else if (t == "time.sleep") {
      step.type = StepType::kSleep;
      known({"duration"});
      if (auto d = String(v, pointer, "duration", true)) {
        absl::StatusOr<absl::Duration> literal = ParseDuration(*d);
        if (literal.ok()) {
          if (*literal > kMaxSleep) {
            Add(Child(pointer, "duration"), "DEF_DURATION_TOO_LONG",
                absl::StrCat(*d, " is longer than the maximum sleep of 30d"));
          }
          step.sleep_literal = *literal;
        } else {
          step.sleep_duration = CompileAt(Child(pointer, "duration"), *d);
        }
      }
    } else if (t == "human.task") {
      step.type = StepType::kHumanTask;
      known({"title", "assignee", "form", "timeout"});
      step.title = Expr(v, pointer, "title", true);
      step.assignee = Expr(v, pointer, "assignee", false);
      step.form = Expr(v, pointer, "form", false);
      step.task_timeout = Dur(v, pointer, "timeout");
    } else if (t == "control.return") {
      step.type = StepType::kReturn;
      known({"output"});
      step.output = Expr(v, pointer, "output", false);
    } else if (t == "control.continueAsNew") {
      step.type = StepType::kContinueAsNew;
      known({"input"});
      step.input = Expr(v, pointer, "input", false);
    } else {
      Add(Child(pointer, "type"), "DEF_STEP_TYPE_UNKNOWN",
          absl::StrCat("unknown step type \"", t,
                       "\"; expected action, control.if, control.switch, "
                       "control.forEach, control.parallel, state.assign, "
                       "event.wait, time.sleep, human.task, control.return "
                       "or control.continueAsNew"));
    }
    return step;
  }

  const DefinitionLimits& limits_;
  Definition def_;
  std::vector<Problem> problems_;
  absl::flat_hash_set<std::string> ids_;
  int step_count_ = 0;
};

}  // namespace

absl::string_view StepTypeName(StepType type) {
  switch (type) {
    case StepType::kAction:
      return "action";
    case StepType::kIf:
      return "control.if";
    case StepType::kSwitch:
      return "control.switch";
    case StepType::kForEach:
      return "control.forEach";
    case StepType::kParallel:
      return "control.parallel";
    case StepType::kAssign:
      return "state.assign";
    case StepType::kWait:
      return "event.wait";
    case StepType::kSleep:
      return "time.sleep";
    case StepType::kHumanTask:
      return "human.task";
    case StepType::kReturn:
      return "control.return";
    case StepType::kContinueAsNew:
      return "control.continueAsNew";
  }
  return "unknown";
}

absl::Status DefinitionResult::status() const {
  if (problems.empty()) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const Problem& p : problems) {
    lines.push_back(absl::StrCat(p.pointer.empty() ? "(document)" : p.pointer,
                                 ": ", p.code, ": ", p.message));
  }
  return Error(absl::StatusCode::kInvalidArgument, "INVALID_DEFINITION",
               absl::StrCat(problems.size(), " problem(s):\n  ",
                            absl::StrJoin(lines, "\n  ")));
}

DefinitionResult ParseDefinition(absl::string_view json,
                                 const DefinitionLimits& limits) {
  return Parser(limits).Parse(json);
}

}  // namespace retrace::runtime
