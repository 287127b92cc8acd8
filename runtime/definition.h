// Workflow definitions: the JSON DSL (docs/dsl.md), parsed and validated.
//
// A definition is a JSON document with a name, a version, optional trigger,
// defaults, goal and on_failure steps, and a list of steps. Parsing compiles
// every expression once; validation reports every problem, each with a JSON
// pointer to it, a stable code and a message.
//
//   DefinitionResult r = ParseDefinition(json_text);
//   if (!r.ok()) for (const Problem& p : r.problems) Print(p);
//   std::shared_ptr<const Definition> def = r.definition;
//
// Thread safety: a Definition is immutable once parsed and may be shared by
// any number of threads.
#ifndef RETRACE_RUNTIME_DEFINITION_H_
#define RETRACE_RUNTIME_DEFINITION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/expression.h"

namespace retrace::runtime {

enum class StepType {
  kAction,
  kIf,
  kSwitch,
  kForEach,
  kParallel,
  kAssign,
  kWait,
  kSleep,
  kHumanTask,
  kReturn,
  kContinueAsNew,
};

// "action", "control.if", ... as written in definitions.
absl::string_view StepTypeName(StepType type);

struct RetryPolicy {
  // Default: 1s
  absl::Duration initial_interval = absl::Seconds(1);
  // Each retry waits this many times longer than the last. Default: 2.0
  double backoff_coefficient = 2.0;
  // Cap on the wait between attempts. Default: 100s
  absl::Duration maximum_interval = absl::Seconds(100);
  // Attempts in all, including the first; 0 means unlimited. Default: 3
  int maximum_attempts = 3;
  // Failure codes that are never retried.
  std::vector<std::string> non_retryable_error_codes;
};

struct Step;
using StepList = std::vector<Step>;

struct SwitchCase {
  Expression when;
  StepList steps;
};

// One step. Which fields are used depends on `type` (see docs/dsl.md).
struct Step {
  std::string id;
  StepType type = StepType::kAction;
  // JSON pointer of the step in the definition, e.g. "/steps/3/then/0".
  std::string pointer;

  // action
  std::string action;
  Expression input;                  // also: continueAsNew's new input
  std::optional<RetryPolicy> retry;  // unset: the definition's default
  absl::Duration timeout = absl::ZeroDuration();  // zero: the default
  bool continue_on_error = false;                 // on_error: continue

  // control.if / control.switch / control.forEach / control.parallel
  Expression condition;
  StepList then_steps;
  StepList else_steps;
  std::vector<SwitchCase> cases;
  StepList default_steps;
  Expression items;
  std::string as = "item";
  StepList body;
  std::vector<StepList> branches;

  // state.assign: variable name -> expression, applied in order
  std::vector<std::pair<std::string, Expression>> assignments;

  // event.wait
  std::string event;
  Expression correlation;
  Expression filter;
  std::optional<absl::Duration> wait_timeout;
  std::string into;  // vars.<into> receives the event; empty: only steps.<id>
  bool continue_on_timeout = false;  // on_timeout: continue

  // time.sleep: a literal duration, or an expression giving one
  std::optional<absl::Duration> sleep_literal;
  Expression sleep_duration;

  // human.task
  Expression title;
  Expression assignee;
  Expression form;
  std::optional<absl::Duration> task_timeout;

  // control.return: output
  Expression output;
};

struct Trigger {
  std::string event;
  Expression guard;
  Expression dedupe_key;
  absl::Duration dedupe_window = absl::ZeroDuration();
};

struct Goal {
  // Either an event (with its correlation) or a condition.
  std::string event;
  Expression correlation;
  Expression condition;
};

struct Definition {
  std::string name;
  std::string version;
  std::string description;
  std::string task_queue = "default";
  std::optional<Trigger> trigger;
  RetryPolicy default_retry;
  // Default start-to-close timeout of action steps. Default: 5m
  absl::Duration default_timeout = absl::Minutes(5);
  std::optional<Goal> goal;
  StepList steps;
  StepList on_failure;
  // Number of steps in the main step list, for progress reporting.
  int total_top_level_steps() const { return static_cast<int>(steps.size()); }
};

// One validation problem.
struct Problem {
  std::string pointer;  // JSON pointer, "" for the document itself
  std::string code;     // stable code, docs/errors.md#definitions
  std::string message;
};

struct DefinitionResult {
  std::shared_ptr<const Definition> definition;  // null when problems exist
  std::vector<Problem> problems;
  bool ok() const { return problems.empty(); }
  // INVALID_DEFINITION listing every problem, or OK.
  absl::Status status() const;
};

struct DefinitionLimits {
  // Largest definition document. Default: 1 MiB
  size_t max_bytes = 1 << 20;
  // Most steps in all (nested ones included). Default: 10,000
  int max_steps = 10000;
  // Deepest nesting of steps in steps. Default: 32
  int max_depth = 32;
};

// The longest time.sleep and the longest timeouts. 30 days.
inline constexpr absl::Duration kMaxSleep = absl::Hours(24 * 30);

// Parses and validates a definition document.
DefinitionResult ParseDefinition(absl::string_view json,
                                 const DefinitionLimits& limits = {});

}  // namespace retrace::runtime

#endif  // RETRACE_RUNTIME_DEFINITION_H_
