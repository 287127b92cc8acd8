// The engine process is killed (SIGKILL) at random points while it runs a
// load of 1,000 runs with in-process workers, then restarted. Afterwards
// every started run completes, no step has two successful completions, and
// every history replays ok against its definition.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/rocksdb_store.h"
#include "runtime/actions.h"
#include "runtime/definition.h"
#include "runtime/engine.h"
#include "runtime/replay.h"
#include "runtime/worker_pool.h"

namespace retrace::runtime {
namespace {

using ::retrace::testing::IsOk;

constexpr int kRuns = 1000;
constexpr char kDefinition[] = R"({
  "name": "crash", "version": "1",
  "defaults": {"timeout": "2s", "retry": {"initial_interval": "10ms", "max_attempts": 0}},
  "steps": [
    {"id": "a", "type": "action", "action": "core.echo", "input": "input + 1"},
    {"id": "b", "type": "action", "action": "core.echo", "input": "steps.a.output + 1"},
    {"id": "c", "type": "action", "action": "core.echo", "input": "steps.b.output + 1"},
    {"id": "r", "type": "control.return", "output": "steps.c.output"}
  ]})";

std::string RunId(int i) { return absl::StrCat("load-", i); }

absl::Status StartAll(Engine& engine, int from, int write_fd) {
  for (int i = from; i < kRuns; ++i) {
    StartRunRequest s;
    s.set_namespace_("default");
    s.set_workflow("crash");
    s.set_run_id(RunId(i));
    s.set_input_json(absl::StrCat(i));
    absl::StatusOr<StartRunResponse> r = engine.StartRun(s);
    if (!r.ok()) return r.status();
    if (write_fd >= 0) {
      std::string line = absl::StrCat(i, "\n");
      if (write(write_fd, line.data(), line.size()) < 0) _exit(7);
    }
  }
  return absl::OkStatus();
}

struct Stack {
  std::unique_ptr<history::HistoryStore> store;
  std::unique_ptr<Engine> engine;
  ActionRegistry actions;
  std::unique_ptr<WorkerPool> pool;
};

absl::StatusOr<std::unique_ptr<Stack>> Open(const std::string& dir) {
  auto stack = std::make_unique<Stack>();
  ASSIGN_OR_RETURN(stack->store, history::OpenRocksDbHistoryStore(dir));
  ASSIGN_OR_RETURN(stack->engine, Engine::Open(stack->store.get()));
  RegisterDefinitionRequest def;
  def.set_namespace_("default");
  def.set_definition_json(kDefinition);
  RETURN_IF_ERROR(stack->engine->RegisterDefinition(def).status());
  RegisterBuiltinActions(&stack->actions);
  WorkerPoolOptions options;
  options.identity = absl::StrCat("worker-", getpid());
  options.threads = 4;
  options.poll_timeout = absl::Milliseconds(20);
  stack->pool = std::make_unique<WorkerPool>(stack->engine.get(),
                                             &stack->actions, options);
  RETURN_IF_ERROR(stack->pool->Start());
  return stack;
}

TEST(EngineCrashTest, KilledAtRandomPointsEveryRunCompletesExactlyOnce) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/crash");
  std::filesystem::remove_all(dir);
  std::mt19937 rng(20261122);
  int acknowledged = 0;
  for (int cycle = 0; cycle < 3; ++cycle) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      auto stack = Open(dir);
      if (!stack.ok()) _exit(3);
      if (!StartAll(*(*stack)->engine, acknowledged, fds[1]).ok()) _exit(4);
      for (;;) absl::SleepFor(absl::Seconds(1));  // workers keep going
    }
    close(fds[1]);
    // Kill after a random number of acknowledged starts (or, when all were
    // started, after a random delay while workers run).
    const int kill_after = std::uniform_int_distribution<int>(20, 300)(rng);
    std::string buffer;
    char chunk[4096];
    int seen = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (seen < kill_after && acknowledged + seen < kRuns &&
           absl::Now() < deadline) {
      ssize_t n = read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) seen += chunk[i] == '\n';
    }
    if (acknowledged + seen >= kRuns) {
      absl::SleepFor(
          absl::Milliseconds(std::uniform_int_distribution<int>(10, 200)(rng)));
    }
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << status;
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof(chunk))) > 0) {
      for (ssize_t i = 0; i < n; ++i) seen += chunk[i] == '\n';
    }
    close(fds[0]);
    acknowledged += seen;
  }

  // Restart for good: start what was never acknowledged (starts are
  // idempotent by run id) and let the workers finish everything.
  auto stack = Open(dir);
  ASSERT_THAT(stack, IsOk());
  Engine& engine = *(*stack)->engine;
  ASSERT_THAT(StartAll(engine, 0, -1), IsOk());
  auto def = ParseDefinition(kDefinition).definition;
  const absl::Time give_up = absl::Now() + absl::Seconds(120);
  for (int i = 0; i < kRuns; ++i) {
    DescribeRunRequest d;
    d.set_namespace_("default");
    d.set_run_id(RunId(i));
    for (;;) {
      auto described = engine.DescribeRun(d);
      ASSERT_THAT(described, IsOk());
      if (described->status() == "COMPLETED") {
        ASSERT_EQ(described->output_json(), absl::StrCat(i + 3)) << RunId(i);
        break;
      }
      ASSERT_LT(absl::Now(), give_up)
          << RunId(i) << " is " << described->status();
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  (*stack)->pool->Stop();
  int retried_attempts = 0;
  for (int i = 0; i < kRuns; ++i) {
    GetHistoryRequest g;
    g.set_namespace_("default");
    g.set_run_id(RunId(i));
    auto events = engine.GetHistory(g);
    ASSERT_THAT(events, IsOk());
    history::History h;
    h.set_namespace_("default");
    h.set_run_id(RunId(i));
    *h.mutable_events() = events->events();
    ASSERT_THAT(Replay(def, h), IsOk()) << RunId(i);
    std::map<std::string, int> completions;
    for (const auto& e : h.events()) {
      if (e.has_step_completed()) ++completions[e.step_completed().step_id()];
      if (e.has_step_scheduled() && e.step_scheduled().attempt() > 1) {
        ++retried_attempts;
      }
    }
    EXPECT_EQ(completions.size(), 3u) << RunId(i);
    for (const auto& [step, count] : completions) {
      EXPECT_EQ(count, 1) << RunId(i) << " step " << step;
    }
  }
  printf(
      "starts acknowledged before the last restart: %d; attempts after the "
      "first: %d\n",
      acknowledged, retried_attempts);
}

}  // namespace
}  // namespace retrace::runtime
