#include "tools/cli/store_verifier.h"

#include <stdlib.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "projection/sqlite.h"
#include "runtime/test_env.h"
#include "signals/correlation.h"
#include "signals/ingress.h"

namespace retrace::cli {
namespace {

using ::retrace::testing::IsOk;
using ::retrace::testing::TestEnv;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kEcho[] = R"({"name": "echo", "version": "1", "steps": [
  {"id": "a", "type": "action", "action": "core.echo", "input": "input"},
  {"id": "b", "type": "action", "action": "core.echo", "input": "steps.a.output"}]})";

// Fails twice (1s backoff), then passes over the failure.
constexpr char kFlaky[] = R"({"name": "flaky", "version": "1", "steps": [
  {"id": "f", "type": "action", "action": "core.fail",
   "input": "{ 'code': 'DOWN', 'message': 'down' }",
   "retry": {"initial_interval": "1s", "max_attempts": 2}, "on_error": "continue"},
  {"id": "each", "type": "control.forEach", "items": "[1, 2]", "steps": [
    {"id": "e", "type": "action", "action": "core.echo", "input": "index"}]}]})";

constexpr char kWait[] = R"({"name": "wait", "version": "1", "steps": [
  {"id": "w", "type": "event.wait", "event": "go", "correlation": "input.key",
   "timeout": "1h"},
  {"id": "after", "type": "action", "action": "core.noop"}]})";

std::string TempPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir && *dir ? dir : "/tmp", "/", name);
}

// A store whose histories can be altered on the way out, to stand for a
// store that lost or duplicated events.
class TamperedStore final : public history::HistoryStore {
 public:
  using Edit = std::function<void(std::vector<history::HistoryEvent>&)>;
  explicit TamperedStore(history::HistoryStore* inner) : inner_(inner) {}
  void Tamper(const std::string& run_id, Edit edit) { edits_[run_id] = edit; }

  absl::StatusOr<history::RunInfo> Append(
      const history::AppendRequest& r) override {
    return inner_->Append(r);
  }
  absl::Status Write(const std::vector<history::Mutation>& w) override {
    return inner_->Write(w);
  }
  absl::StatusOr<history::RunInfo> GetRunInfo(absl::string_view ns,
                                              absl::string_view run) override {
    return inner_->GetRunInfo(ns, run);
  }
  std::unique_ptr<history::EventIterator> ReadHistory(absl::string_view ns,
                                                      absl::string_view run,
                                                      int64_t from) override {
    auto edit = edits_.find(std::string(run));
    if (edit == edits_.end()) return inner_->ReadHistory(ns, run, from);
    std::vector<history::HistoryEvent> events;
    for (auto it = inner_->ReadHistory(ns, run, 1); it->Valid(); it->Next()) {
      events.push_back(it->event());
    }
    edit->second(events);
    std::vector<history::HistoryEvent> out;
    for (auto& e : events) {
      if (e.event_id() >= from) out.push_back(std::move(e));
    }
    return std::make_unique<VectorIterator>(std::move(out));
  }
  absl::StatusOr<history::RunPage> ListRuns(absl::string_view ns,
                                            absl::string_view cursor,
                                            int limit) override {
    return inner_->ListRuns(ns, cursor, limit);
  }
  absl::StatusOr<history::RunPage> ListAllRuns(absl::string_view cursor,
                                               int limit) override {
    return inner_->ListAllRuns(cursor, limit);
  }
  absl::StatusOr<std::optional<std::string>> Get(
      history::KeySpace space, absl::string_view key) override {
    return inner_->Get(space, key);
  }
  std::unique_ptr<history::KeyIterator> Scan(history::KeySpace space,
                                             absl::string_view start,
                                             absl::string_view end) override {
    return inner_->Scan(space, start, end);
  }

 private:
  class VectorIterator final : public history::EventIterator {
   public:
    explicit VectorIterator(std::vector<history::HistoryEvent> events)
        : events_(std::move(events)) {}
    bool Valid() const override { return i_ < events_.size(); }
    const history::HistoryEvent& event() const override { return events_[i_]; }
    void Next() override { ++i_; }
    absl::Status status() const override { return absl::OkStatus(); }

   private:
    std::vector<history::HistoryEvent> events_;
    size_t i_ = 0;
  };

  history::HistoryStore* inner_;
  std::map<std::string, Edit> edits_;
};

// Renumbers events 1..n after an edit.
void Renumber(std::vector<history::HistoryEvent>& events) {
  for (size_t i = 0; i < events.size(); ++i) events[i].set_event_id(i + 1);
}

auto HasViolation(absl::string_view check, absl::string_view run_id,
                  absl::string_view event_id = "") {
  return Contains(AllOf(Field(&Violation::check, std::string(check)),
                        Field(&Violation::run_id, std::string(run_id)),
                        Field(&Violation::event_id, std::string(event_id))));
}

class StoreVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    read_models_ = TempPath(absl::StrCat(
        ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        ".sqlite"));
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove((read_models_ + suffix).c_str());
    }
    for (const char* def : {kEcho, kFlaky, kWait}) {
      ASSERT_THAT(env_.RegisterDefinition(def), IsOk());
    }
    Start("echo", "good", R"({"n": 1})");
    Start("flaky", "flaky", "{}");
    Start("wait", "waiter", R"({"key": "k-waiter"})");
    Start("wait", "waited", R"({"key": "k-waited"})");
    Start("wait", "canceled", R"({"key": "k-canceled"})");
    ASSERT_THAT(env_.AdvanceTime(absl::Seconds(2)), IsOk());  // the backoff

    // A signal through ingress that resumes one run.
    signals::SignalIngress ingress(&env_.engine(), &env_.store(),
                                   signals::CorrelationConfig());
    signals::Event e;
    e.id = "ev-1";
    e.name = "go";
    e.correlation_key = "k-waited";
    e.payload_json = R"({"ok": true})";
    auto results = ingress.Ingest({e});
    ASSERT_THAT(results, IsOk());
    ASSERT_THAT((*results)[0], IsOk());
    const auto& audit = (*results)[0]->audit;
    ExpectedOp signal;
    signal.op = "signal";
    signal.event_id = e.id;
    signal.event_name = e.name;
    signal.correlation_key = e.correlation_key;
    signal.outcome = "ingested";
    signal.matched.assign(audit.matched_run_ids().begin(),
                          audit.matched_run_ids().end());
    signal.resumed.assign(audit.resumed_run_ids().begin(),
                          audit.resumed_run_ids().end());
    ASSERT_EQ(signal.resumed, std::vector<std::string>{"waited"});
    expected_.push_back(signal);
    ASSERT_THAT(env_.RunUntilIdle(), IsOk());

    runtime::CancelRunRequest cancel;
    cancel.set_namespace_("default");
    cancel.set_run_id("canceled");
    ASSERT_THAT(env_.engine().CancelRun(cancel), IsOk());
    expected_.push_back(Op("cancel", "canceled", "canceled"));

    // Every step outcome as a worker's acknowledgement.
    for (const char* run : {"good", "flaky", "waited"}) {
      std::map<int64_t, history::StepScheduledAttributes> scheduled;
      for (auto it = env_.store().ReadHistory("default", run, 1); it->Valid();
           it->Next()) {
        const history::HistoryEvent& ev = it->event();
        if (ev.has_step_scheduled())
          scheduled[ev.event_id()] = ev.step_scheduled();
        if (ev.has_step_completed() || ev.has_step_failed()) {
          const auto& s =
              scheduled[ev.has_step_completed()
                            ? ev.step_completed().scheduled_event_id()
                            : ev.step_failed().scheduled_event_id()];
          ExpectedOp step =
              Op("step", run, ev.has_step_completed() ? "completed" : "failed");
          step.step_path = s.step_path();
          step.attempt = s.attempt();
          expected_.push_back(step);
        }
      }
    }
    EXPECT_EQ(env_.Describe("good")->status(), "COMPLETED");
    EXPECT_EQ(env_.Describe("flaky")->status(), "COMPLETED");
    EXPECT_EQ(env_.Describe("waited")->status(), "COMPLETED");
    EXPECT_EQ(env_.Describe("waiter")->status(), "WAITING");
  }

  static ExpectedOp Op(const std::string& op, const std::string& run,
                       const std::string& outcome) {
    ExpectedOp o;
    o.op = op;
    o.run_id = run;
    o.outcome = outcome;
    return o;
  }

  void Start(const std::string& workflow, const std::string& run,
             const std::string& input) {
    ASSERT_THAT(env_.Start(workflow, input, run), IsOk());
    ExpectedOp op = Op("start", run, "started");
    op.workflow = workflow;
    op.version = "1";
    expected_.push_back(op);
  }

  std::vector<Violation> Verify(history::HistoryStore* store,
                                bool final = false) {
    VerifyOptions options;
    options.final = final;
    options.read_models_path = read_models_;
    absl::StatusOr<VerifyReport> report =
        VerifyStore(store, expected_, options);
    EXPECT_THAT(report, IsOk());
    if (!report.ok()) return {Violation{"error", "", "", ""}};
    EXPECT_EQ(report->runs, 5);
    return report->violations;
  }
  std::vector<Violation> Verify(bool final = false) {
    return Verify(&env_.store(), final);
  }

  TestEnv env_;
  std::vector<ExpectedOp> expected_;
  std::string read_models_;
};

TEST_F(StoreVerifierTest, AKnownGoodStorePasses) {
  std::vector<Violation> violations = Verify();
  for (const Violation& v : violations) ADD_FAILURE() << v.ToString();
  // Twice: the second catch-up finds nothing new and still equals a rebuild.
  EXPECT_THAT(Verify(), IsEmpty());
}

TEST_F(StoreVerifierTest, AMissingAcknowledgedStartIsReported) {
  ExpectedOp ghost = Op("start", "ghost", "started");
  ghost.workflow = "echo";
  expected_.push_back(ghost);
  EXPECT_THAT(Verify(), HasViolation("start_missing", "ghost"));
}

TEST_F(StoreVerifierTest, AGapInHistoryIdsIsReported) {
  TamperedStore store(&env_.store());
  store.Tamper("good", [](std::vector<history::HistoryEvent>& events) {
    events.erase(events.begin() + 2);
  });
  EXPECT_THAT(Verify(&store), HasViolation("history_gap", "good"));
}

TEST_F(StoreVerifierTest, ADuplicatedSuccessfulCompletionIsReported) {
  TamperedStore store(&env_.store());
  store.Tamper("good", [](std::vector<history::HistoryEvent>& events) {
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i].has_step_completed()) {
        events.insert(events.begin() + i + 1, events[i]);
        break;
      }
    }
    Renumber(events);
  });
  std::vector<Violation> violations = Verify(&store);
  EXPECT_THAT(violations, HasViolation("duplicate_completion", "good"));
  EXPECT_THAT(violations, Contains(Field(&Violation::message,
                                         HasSubstr("has two outcomes"))));
}

TEST_F(StoreVerifierTest, ASecondCompletionOfOneActivationIsReported) {
  // The loop's second iteration re-labelled as the first: two attempts of
  // activation /steps/1/steps/0#0 completed.
  TamperedStore store(&env_.store());
  store.Tamper("flaky", [](std::vector<history::HistoryEvent>& events) {
    for (auto& e : events) {
      if (e.has_step_scheduled() &&
          e.step_scheduled().step_path() == "/steps/1/steps/0#1") {
        e.mutable_step_scheduled()->set_step_path("/steps/1/steps/0#0");
      }
    }
  });
  EXPECT_THAT(Verify(&store),
              Contains(AllOf(
                  Field(&Violation::check, "duplicate_completion"),
                  Field(&Violation::message, HasSubstr("completed twice")))));
}

TEST_F(StoreVerifierTest, CachedStateThatDiffersFromAReplayIsReported) {
  // An event appended behind the engine's back: the history moves on, the
  // engine's run record does not.
  absl::StatusOr<history::RunInfo> info =
      env_.store().GetRunInfo("default", "waiter");
  ASSERT_THAT(info, IsOk());
  history::AppendRequest append;
  append.ns = "default";
  append.run_id = "waiter";
  append.expected_next_event_id = info->next_event_id();
  history::HistoryEvent e;
  e.set_event_id(info->next_event_id());
  *e.mutable_event_time() = info->last_event_time();
  e.mutable_signal_received()->set_signal_id("sneaky");
  e.mutable_signal_received()->set_event_name("unrelated");
  append.events.push_back(e);
  ASSERT_THAT(env_.store().Append(append), IsOk());
  std::vector<Violation> violations = Verify();
  EXPECT_THAT(violations, HasViolation("state_mismatch", "waiter"));
  EXPECT_THAT(violations, Contains(Field(&Violation::message,
                                         HasSubstr("history_length"))));
}

TEST_F(StoreVerifierTest, ALostAcknowledgedSignalIsReported) {
  ExpectedOp lost;
  lost.op = "signal";
  lost.event_id = "ev-lost";
  lost.event_name = "go";
  lost.outcome = "ingested";
  expected_.push_back(lost);
  TamperedStore store(&env_.store());
  store.Tamper("waited", [](std::vector<history::HistoryEvent>& events) {
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i].has_signal_received()) {
        events.erase(events.begin() + i);
        break;
      }
    }
    Renumber(events);
  });
  std::vector<Violation> violations = Verify(&store);
  EXPECT_THAT(violations, HasViolation("signal_lost", "", "ev-lost"));
  EXPECT_THAT(violations, HasViolation("signal_lost", "waited", "ev-1"));
}

TEST_F(StoreVerifierTest,
       LostAcknowledgementsOfCancelsStepsAndTasksAreReported) {
  expected_.push_back(Op("cancel", "good", "canceled"));
  ExpectedOp step = Op("step", "good", "completed");
  step.step_path = "/steps/0";
  step.attempt = 7;
  expected_.push_back(step);
  ExpectedOp task = Op("complete_task", "flaky", "completed");
  task.task_id = "/steps/9";
  expected_.push_back(task);
  std::vector<Violation> violations = Verify();
  EXPECT_THAT(violations, HasViolation("ack_lost", "good"));
  EXPECT_THAT(violations, Contains(Field(&Violation::message,
                                         HasSubstr("attempt 7 of /steps/0"))));
  EXPECT_THAT(violations, HasViolation("ack_lost", "flaky"));
}

TEST_F(StoreVerifierTest, ReadModelsThatDifferFromARebuildAreReported) {
  ASSERT_THAT(Verify(), IsEmpty());  // catches the read models up
  auto db = projection::Database::Open(read_models_);
  ASSERT_THAT(db, IsOk());
  ASSERT_THAT((*db)->Exec("UPDATE runs SET status = 'BOGUS' WHERE run_id = "
                          "'good'"),
              IsOk());
  db->reset();
  EXPECT_THAT(Verify(),
              Contains(AllOf(Field(&Violation::check, "projection_mismatch"),
                             Field(&Violation::message, HasSubstr("BOGUS")))));
}

TEST_F(StoreVerifierTest, FinalRequiresEveryRunToHaveEnded) {
  EXPECT_THAT(Verify(/*final=*/false), IsEmpty());
  std::vector<Violation> violations = Verify(/*final=*/true);
  EXPECT_THAT(violations, HasViolation("not_terminal", "waiter"));
  EXPECT_EQ(violations.size(), 1u);
}

}  // namespace
}  // namespace retrace::cli
