#include "runtime/state_check.h"

#include <memory>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/definition.h"
#include "runtime/internal/engine_keys.h"
#include "runtime/internal/engine_state.pb.h"
#include "runtime/replay.h"
#include "runtime/test_env.h"

namespace retrace::runtime {
namespace {

using ::retrace::testing::IsOk;
using ::retrace::testing::TestEnv;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

// A step, a 1-hour sleep, a wait with a deadline, a step.
constexpr char kDefinition[] = R"({"name": "check", "version": "1", "steps": [
  {"id": "a", "type": "action", "action": "core.echo", "input": "input"},
  {"id": "nap", "type": "time.sleep", "duration": "1h"},
  {"id": "w", "type": "event.wait", "event": "go", "correlation": "input.key",
   "timeout": "2h"},
  {"id": "b", "type": "action", "action": "core.echo", "input": "input"}]})";

class StateCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(env_.RegisterDefinition(kDefinition), IsOk());
    def_ = ParseDefinition(kDefinition).definition;
  }

  history::History Read(const std::string& run) {
    history::History h;
    h.set_namespace_("default");
    h.set_run_id(run);
    for (auto it = env_.store().ReadHistory("default", run, 1); it->Valid();
         it->Next()) {
      *h.add_events() = it->event();
    }
    return h;
  }

  std::vector<std::string> Check(const std::string& run) {
    history::History h = Read(run);
    auto replayed = Replay(def_, h);
    EXPECT_THAT(replayed, IsOk());
    auto diffs = CheckRunState(&env_.store(), "default", run, h, **replayed);
    EXPECT_THAT(diffs, IsOk());
    return diffs.ok() ? *diffs : std::vector<std::string>{"error"};
  }

  internal::RunRecord Record(const std::string& run) {
    auto bytes = env_.store().Get(history::KeySpace::kRunState,
                                  internal::RunKey("default", run));
    internal::RunRecord rec;
    EXPECT_TRUE(bytes.ok() && bytes->has_value());
    rec.ParseFromString(**bytes);
    return rec;
  }

  void PutRecord(const std::string& run, const internal::RunRecord& rec) {
    ASSERT_THAT(
        env_.store().Write({history::Mutation::Put(
            history::KeySpace::kRunState, internal::RunKey("default", run),
            rec.SerializeAsString())}),
        IsOk());
  }

  std::string Start(absl::string_view input) {
    absl::StatusOr<std::string> run = env_.Start("check", input);
    EXPECT_THAT(run, IsOk());
    return run.ok() ? *run : "";
  }

  std::vector<std::string> Orphans() {
    auto orphans = FindOrphanRows(&env_.store());
    EXPECT_THAT(orphans, IsOk());
    return orphans.ok() ? *orphans : std::vector<std::string>{"error"};
  }

  TestEnv env_;
  std::shared_ptr<const Definition> def_;
};

TEST_F(StateCheckTest, TheEngineRowsOfRunsInEveryPhaseEqualAFullReplay) {
  // Waiting (wait row and deadline timer), finished, sleeping (timer row).
  const std::string waiting = Start(R"({"key": "k2"})");
  const std::string done = Start(R"({"key": "k3"})");
  ASSERT_THAT(env_.AdvanceTime(absl::Hours(1)), IsOk());
  ASSERT_THAT(env_.Signal(done, "go", "{}"), IsOk());
  const std::string sleeping = Start(R"({"key": "k4"})");
  EXPECT_EQ(env_.Describe(done)->status(), "COMPLETED");
  EXPECT_EQ(env_.Describe(waiting)->status(), "WAITING");
  EXPECT_EQ(env_.Describe(sleeping)->status(), "SLEEPING");
  for (const std::string& run : {waiting, done, sleeping}) {
    EXPECT_THAT(Check(run), IsEmpty()) << run;
  }
  EXPECT_THAT(Orphans(), IsEmpty());
}

TEST_F(StateCheckTest, ARecordThatDiffersFromTheReplayIsReported) {
  const std::string run = Start(R"({"key": "k"})");
  internal::RunRecord rec = Record(run);
  ASSERT_EQ(rec.timers_size(), 1);  // the sleep
  rec.set_status("COMPLETED");
  rec.set_history_length(rec.history_length() + 1);
  rec.clear_timers();
  PutRecord(run, rec);
  std::vector<std::string> diffs = Check(run);
  EXPECT_THAT(diffs, Contains(HasSubstr("record status 'COMPLETED', replay "
                                        "gives ''")));
  EXPECT_THAT(diffs, Contains(HasSubstr("history_length")));
  EXPECT_THAT(diffs, Contains(HasSubstr("is open after replay but not in the "
                                        "record")));
  // The sleep's timer row now has no owner.
  EXPECT_THAT(Orphans(),
              Contains(HasSubstr("timer row of run default/" + run)));
}

TEST_F(StateCheckTest, AMissingTaskRowAndAMissingRecordAreReported) {
  const std::string run = Start(R"({"key": "k"})");
  const std::string other = Start(R"({"key": "k"})");
  internal::RunRecord rec = Record(run);
  // Pretend the first step is still open: a task the queue does not have.
  internal::OpenTaskRow* task = rec.add_tasks();
  task->set_scheduled_event_id(2);
  task->set_step_id("a");
  task->set_key("nowhere");
  PutRecord(run, rec);
  EXPECT_THAT(Check(run), Contains(HasSubstr("record has a task for event 2")));

  ASSERT_THAT(
      env_.store().Write({history::Mutation::Delete(
          history::KeySpace::kRunState, internal::RunKey("default", other))}),
      IsOk());
  EXPECT_THAT(Check(other), Contains(HasSubstr("has no run record")));
}

TEST_F(StateCheckTest, RecordsAndDedupeRowsOfRunsThatDoNotExistAreReported) {
  internal::RunRecord ghost;
  ghost.set_workflow("check");
  internal::DedupeRecord dedupe;
  dedupe.set_run_id("nobody");
  ASSERT_THAT(
      env_.store().Write(
          {history::Mutation::Put(history::KeySpace::kRunState,
                                  internal::RunKey("default", "ghost"),
                                  ghost.SerializeAsString()),
           history::Mutation::Put(history::KeySpace::kDedupe,
                                  internal::DedupeKey("default", "check", "k1"),
                                  dedupe.SerializeAsString())}),
      IsOk());
  std::vector<std::string> orphans = Orphans();
  EXPECT_THAT(orphans, Contains(HasSubstr("run record of default/ghost")));
  EXPECT_THAT(orphans, Contains(HasSubstr("names run default/nobody")));
}

TEST_F(StateCheckTest, StoredDefinitionsAndPendingContinuations) {
  auto stored = StoredDefinition(&env_.store(), "default", "check", "1");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(*stored, std::optional<std::string>(kDefinition));
  auto removed = StoredDefinition(&env_.store(), "default", "check", "2");
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(*removed, std::nullopt);
  StartRunRequest next;
  next.set_namespace_("default");
  next.set_run_id("next-1");
  ASSERT_THAT(env_.store().Write({history::Mutation::Put(
                  history::KeySpace::kRunState,
                  internal::ContinueKey("default", "next-1"),
                  next.SerializeAsString())}),
              IsOk());
  auto pending = PendingContinuations(&env_.store());
  ASSERT_THAT(pending, IsOk());
  EXPECT_THAT(*pending, ElementsAre(Pair("default", "next-1")));
}

}  // namespace
}  // namespace retrace::runtime
