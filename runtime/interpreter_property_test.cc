// Property test: random definitions (all step types) driven through random
// interleavings of completions, failures, timeouts, signals, cancellations,
// terminations and retries. For every run it checks that
//   - a full replay of the history reaches exactly the incremental state,
//     at the end and at random prefixes;
//   - no step activation completes twice, and a completed one is never
//     scheduled again;
//   - the run reaches a terminal state, exactly once (per retry).
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "runtime/definition.h"
#include "runtime/replay.h"
#include "runtime/run_driver.h"

namespace retrace::runtime {
namespace {

using history::HistoryEvent;
using ::retrace::testing::IsOk;

class DefinitionGenerator {
 public:
  explicit DefinitionGenerator(std::mt19937& rng) : rng_(rng) {}

  std::string Generate() {
    std::vector<std::string> steps = Steps(0, 1 + Pick(4));
    std::string goal;
    if (Pick(6) == 0) goal = R"("goal": {"condition": "vars.v3 = true"},)";
    if (Pick(8) == 0) {
      goal = R"("goal": {"event": "goal.event", "correlation": "input.key"},)";
    }
    std::string on_failure;
    if (Pick(4) == 0) {
      on_failure = absl::StrCat(R"(, "on_failure": [)", Action(), "]");
    }
    return absl::StrCat(
        R"({"name": "random", "version": "1", )", goal,
        R"("defaults": {"retry": {"initial_interval": "1s", "max_attempts": 3, "non_retryable": ["FATAL"]}},)",
        R"("steps": [)", absl::StrJoin(steps, ","), "]", on_failure, "}");
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string Id() { return absl::StrCat("s", ++counter_); }

  std::vector<std::string> Steps(int depth, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(Step(depth));
    return out;
  }

  std::string Action() {
    const char* on_error = Pick(3) == 0 ? R"(, "on_error": "continue")" : "";
    return absl::StrCat(
        R"({"id": ")", Id(),
        R"(", "type": "action", "action": "act", "input": "{'n': input.n, 'v': vars.v1}")",
        on_error, "}");
  }

  std::string Block(int depth) {
    return absl::StrCat("[", absl::StrJoin(Steps(depth + 1, 1 + Pick(2)), ","),
                        "]");
  }

  std::string Step(int depth) {
    const int kinds = depth >= 2 ? 6 : 11;
    switch (Pick(kinds)) {
      case 0:
      case 1:
        return Action();
      case 2:
        return absl::StrCat(R"({"id": ")", Id(),
                            R"(", "type": "state.assign", "vars": {"v)",
                            1 + Pick(3), R"(": "$count(steps.*) > 1"}})");
      case 3:
        return absl::StrCat(R"({"id": ")", Id(),
                            R"(", "type": "time.sleep", "duration": ")",
                            Pick(3) == 0 ? "0s" : "10m", R"("})");
      case 4:
        return absl::StrCat(
            R"({"id": ")", Id(),
            R"(", "type": "event.wait", "event": "ev", "correlation": "input.key", "filter": "event.payload.ok", "timeout": "1h")",
            Pick(2) ? R"(, "on_timeout": "continue")" : "", "}");
      case 5:
        return absl::StrCat(
            R"({"id": ")", Id(),
            R"(", "type": "human.task", "title": "'review'", "timeout": "1d"})");
      case 6:
        return absl::StrCat(
            R"({"id": ")", Id(),
            R"(", "type": "control.if", "condition": "input.n > 2", "then": )",
            Block(depth), R"(, "else": )", Block(depth), "}");
      case 7:
        return absl::StrCat(
            R"({"id": ")", Id(),
            R"(", "type": "control.forEach", "items": "[1..input.n]", "steps": )",
            Block(depth), "}");
      case 8:
        return absl::StrCat(R"({"id": ")", Id(),
                            R"(", "type": "control.parallel", "branches": [)",
                            Block(depth), ",", Block(depth), "]",
                            Pick(2) ? R"(, "on_error": "continue")" : "", "}");
      case 9:
        return absl::StrCat(
            R"({"id": ")", Id(),
            R"(", "type": "control.switch", "cases": [{"when": "input.n = 1", "steps": )",
            Block(depth), R"(}], "default": )", Block(depth), "}");
      default:
        if (Pick(2) == 0) {
          return absl::StrCat(
              R"({"id": ")", Id(),
              R"(", "type": "control.return", "output": "vars"})");
        }
        return absl::StrCat(
            R"({"id": ")", Id(),
            R"(", "type": "control.continueAsNew", "input": "{'n': input.n - 1}"})");
    }
  }

  std::mt19937& rng_;
  int counter_ = 0;
};

bool IsTerminal(const HistoryEvent& e) {
  return e.has_run_completed() || e.has_run_failed() || e.has_run_canceled() ||
         e.has_run_terminated() || e.has_run_continued_as_new();
}

// Takes one random input action. Returns false when nothing could be done.
bool Step(RunDriver& d, std::mt19937& rng, bool wind_down) {
  auto pick = [&rng](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng);
  };
  if (d.finished()) {
    if (d.interpreter().status() == history::RUN_STATUS_FAILED && !wind_down &&
        pick(2) == 0) {
      return d.RetryRun().ok();
    }
    return false;
  }
  if (!wind_down && pick(40) == 0) return d.Cancel().ok();
  if (!wind_down && pick(60) == 0) return d.Terminate().ok();
  std::vector<std::function<absl::Status()>> moves;
  for (const HistoryEvent* s : d.OpenSteps()) {
    std::string id = s->step_scheduled().step_id();
    moves.push_back([&d, id] { return d.CompleteStep(id, R"({"ok": true})"); });
    if (!wind_down) {
      moves.push_back([&d, id] { return d.FailStep(id, "FLAKY"); });
      moves.push_back([&d, id] { return d.FailStep(id, "FATAL"); });
      moves.push_back([&d, id] { return d.TimeOutStep(id); });
      moves.push_back([&d, id] { return d.StartStep(id, "w"); });
    }
  }
  if (!d.OpenTimers().empty())
    moves.push_back([&d] { return d.FireNextTimer(); });
  for (const HistoryEvent* w : d.OpenWaits()) {
    std::string id = w->wait_started().wait_id();
    moves.push_back([&d, id] { return d.TimeOutWait(id); });
  }
  for (const HistoryEvent* t : d.OpenTasks()) {
    std::string id = t->human_task_created().task_id();
    moves.push_back([&d, id] { return d.CompleteHumanTask(id, "{}"); });
    moves.push_back([&d, id] { return d.TimeOutWait(id); });
  }
  moves.push_back([&d] { return d.Signal("ev", R"({"ok": true})", "k1"); });
  if (!wind_down) {
    moves.push_back([&d] { return d.Signal("ev", R"({"ok": false})", "k1"); });
    moves.push_back([&d] { return d.Signal("goal.event", "{}", "k1"); });
  }
  absl::Status s = moves[pick(static_cast<int>(moves.size()))]();
  EXPECT_THAT(s, IsOk());
  return s.ok();
}

TEST(InterpreterPropertyTest, RandomDefinitionsAndInterleavings) {
  constexpr int kRuns = 2000;
  int finished_runs = 0;
  int64_t events = 0;
  std::map<std::string, int> by_status;
  for (int seed = 1; seed <= kRuns; ++seed) {
    std::mt19937 rng(seed);
    DefinitionGenerator generator(rng);
    const std::string json = generator.Generate();
    DefinitionResult parsed = ParseDefinition(json);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << json;
    RunDriver d(parsed.definition, "default", absl::StrCat("run-", seed),
                absl::StrCat(R"({"n": )", 1 + seed % 3, R"(, "key": "k1"})"));
    ASSERT_THAT(d.Start(), IsOk()) << json;
    for (int i = 0; i < 400; ++i) {
      if (!Step(d, rng, /*wind_down=*/i > 250)) break;
      if (::testing::Test::HasFailure()) break;
    }
    SCOPED_TRACE(absl::StrCat("seed ", seed, "\n", json));
    ASSERT_FALSE(::testing::Test::HasFailure());
    ASSERT_TRUE(d.finished()) << d.interpreter().StateJson();
    ++finished_runs;
    events += d.history().events_size();
    ++by_status[std::string(history::RunStatusName(d.interpreter().status()))];

    // Replay equals incremental, at the end and at a random prefix.
    auto full = Replay(parsed.definition, d.history());
    ASSERT_THAT(full, IsOk());
    EXPECT_EQ((*full)->StateJson(), d.interpreter().StateJson());
    const int64_t cut = 1 + std::uniform_int_distribution<int64_t>(
                                0, d.history().events_size() - 1)(rng);
    ASSERT_THAT(Replay(parsed.definition, d.history(), cut), IsOk());

    // No activation completes twice or is scheduled after completing.
    std::set<std::string> completed_paths;
    std::map<int64_t, std::string> path_of;
    int terminals_since_retry = 0;
    for (const HistoryEvent& e : d.history().events()) {
      if (e.has_step_scheduled()) {
        EXPECT_FALSE(completed_paths.count(e.step_scheduled().step_path()))
            << "scheduled again after completing: " << e.DebugString();
        path_of[e.event_id()] = e.step_scheduled().step_path();
      }
      if (e.has_step_completed()) {
        const std::string& path =
            path_of[e.step_completed().scheduled_event_id()];
        EXPECT_TRUE(completed_paths.insert(path).second)
            << "completed twice: " << path;
      }
      if (e.has_run_retried()) terminals_since_retry = 0;
      if (IsTerminal(e)) ++terminals_since_retry;
    }
    EXPECT_EQ(terminals_since_retry, 1);
    EXPECT_TRUE(IsTerminal(d.history().events(d.history().events_size() - 1)));
  }
  EXPECT_EQ(finished_runs, kRuns);
  std::string summary = absl::StrCat(kRuns, " runs, ", events, " events:");
  for (const auto& [status, n] : by_status)
    absl::StrAppend(&summary, " ", status, "=", n);
  printf("%s\n", summary.c_str());
  // Every outcome is exercised.
  EXPECT_EQ(by_status.size(), 5u) << summary;
}

}  // namespace
}  // namespace retrace::runtime
