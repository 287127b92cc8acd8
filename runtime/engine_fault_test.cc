// The engine under storage faults (docs/reliability.md#storage-faults): a
// failed commit surfaces as STORAGE_FAILED to the caller, the engine refuses
// every later transition instead of acknowledging it, keeps no in-memory
// state ahead of what was committed, loses nothing it acknowledged across a
// power cut, and runs everything to completion once reopened.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "history/memory_store.h"
#include "history/rocksdb_store.h"
#include "history/testing/fault_injection_fs.h"
#include "history/validation.h"
#include "runtime/clock.h"
#include "runtime/definition.h"
#include "runtime/engine.h"
#include "runtime/replay.h"

namespace retrace::runtime {
namespace {

using ::retrace::history::testing::FaultError;
using ::retrace::history::testing::FaultInjectionFileSystem;
using ::retrace::history::testing::FaultSpec;
using ::retrace::history::testing::kFileAppend;
using ::retrace::history::testing::kFileSync;
using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Two tasks, then a wait for the event "go", then the end.
constexpr char kDefinition[] = R"({
  "name": "faulty", "version": "1",
  "steps": [
    {"id": "a", "type": "action", "action": "work", "input": "input + 1"},
    {"id": "b", "type": "action", "action": "work", "input": "steps.a.output + 1"},
    {"id": "go", "type": "event.wait", "event": "go"},
    {"id": "r", "type": "control.return", "output": "steps.b.output"}
  ]})";
constexpr char kWorker[] = "default/w";

std::string NewTempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/engine-fault-",
                                 getpid(), "-", counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

EngineOptions Options(const Clock* clock) {
  EngineOptions options;
  options.clock = clock;
  options.timer_thread = false;
  return options;
}

// Registers the definition and the worker `kWorker`.
absl::Status Prepare(Engine& engine) {
  RegisterDefinitionRequest def;
  def.set_namespace_("default");
  def.set_definition_json(kDefinition);
  RETURN_IF_ERROR(engine.RegisterDefinition(def).status());
  RegisterWorkerRequest worker;
  worker.set_namespace_("default");
  worker.set_identity("w");
  return engine.RegisterWorker(worker).status();
}

absl::StatusOr<StartRunResponse> Start(Engine& engine, const std::string& run,
                                       int input) {
  StartRunRequest s;
  s.set_namespace_("default");
  s.set_workflow("faulty");
  s.set_run_id(run);
  s.set_input_json(absl::StrCat(input));
  return engine.StartRun(s);
}

// A ready task of `kWorker`, or nullopt.
std::optional<Task> Poll(Engine& engine) {
  PollTaskRequest p;
  p.set_worker_id(kWorker);
  absl::StatusOr<PollTaskResponse> polled = engine.PollTask(p);
  EXPECT_THAT(polled, IsOk());
  if (!polled.ok() || !polled->has_task()) return std::nullopt;
  return polled->task();
}

// Completes `task` with its input as output.
absl::Status Complete(Engine& engine, const Task& task) {
  CompleteTaskRequest c;
  c.set_token(task.token());
  c.set_worker_id(kWorker);
  *c.mutable_output() = task.input();
  return engine.CompleteTask(c).status();
}

absl::StatusOr<SignalRunResponse> Signal(Engine& engine, const std::string& run,
                                         const std::string& signal_id) {
  SignalRunRequest s;
  s.set_namespace_("default");
  s.set_run_id(run);
  s.set_event_name("go");
  s.set_signal_id(signal_id);
  return engine.SignalRun(s);
}

absl::StatusOr<DescribeRunResponse> Describe(Engine& engine,
                                             const std::string& run) {
  DescribeRunRequest d;
  d.set_namespace_("default");
  d.set_run_id(run);
  return engine.DescribeRun(d);
}

absl::StatusOr<history::History> HistoryOf(Engine& engine,
                                           const std::string& run) {
  GetHistoryRequest g;
  g.set_namespace_("default");
  g.set_run_id(run);
  ASSIGN_OR_RETURN(GetHistoryResponse response, engine.GetHistory(g));
  history::History h;
  h.set_namespace_("default");
  h.set_run_id(run);
  *h.mutable_events() = response.events();
  return h;
}

// Checks that the run's history is dense and valid, replays against the
// definition, and has no step completed twice.
void ExpectSound(Engine& engine, const std::string& run,
                 absl::string_view definition = kDefinition) {
  SCOPED_TRACE(run);
  absl::StatusOr<history::History> h = HistoryOf(engine, run);
  ASSERT_THAT(h, IsOk());
  history::HistoryValidator validator(history::NewRunInfo("default", run),
                                      2 << 20);
  std::map<std::string, int> completions;
  for (const history::HistoryEvent& e : h->events()) {
    ASSERT_THAT(validator.Add(e), IsOk()) << "event " << e.event_id();
    if (e.has_step_completed()) ++completions[e.step_completed().step_id()];
  }
  for (const auto& [step, n] : completions) {
    EXPECT_EQ(n, 1) << "step " << step << " completed " << n << " times";
  }
  EXPECT_THAT(Replay(ParseDefinition(definition).definition, *h), IsOk());
}

// Runs every run in `runs` to completion: starts it if it is missing
// (starts are idempotent by run id), completes every task and sends "go" to
// every waiting run.
void RunToCompletion(Engine& engine, const std::set<std::string>& runs) {
  for (const std::string& run : runs) {
    ASSERT_THAT(Start(engine, run, 1), IsOk());
  }
  for (int round = 0; round < 20; ++round) {
    while (std::optional<Task> task = Poll(engine)) {
      ASSERT_THAT(Complete(engine, *task), IsOk()) << task->run_id();
    }
    bool all_done = true;
    for (const std::string& run : runs) {
      absl::StatusOr<DescribeRunResponse> d = Describe(engine, run);
      ASSERT_THAT(d, IsOk());
      if (d->status() == "WAITING") {
        ASSERT_THAT(Signal(engine, run, absl::StrCat("final-", round)), IsOk());
      }
      all_done &= d->status() == "COMPLETED";
    }
    if (all_done) return;
  }
  for (const std::string& run : runs) {
    EXPECT_EQ(Describe(engine, run)->status(), "COMPLETED") << run;
  }
}

// ---- RocksDB under injected faults -----------------------------------------

// A directory holding a closed store with the definition and the worker
// registered. Copying it is much faster than creating a store.
const std::string& PreparedStore() {
  static const std::string* dir = [] {
    auto* d = new std::string(NewTempDir());
    auto store = history::OpenRocksDbHistoryStore(*d);
    EXPECT_THAT(store, IsOk());
    ManualClock clock;
    auto engine = Engine::Open(store->get(), Options(&clock));
    EXPECT_THAT(engine, IsOk());
    EXPECT_THAT(Prepare(**engine), IsOk());
    engine->reset();
    store->reset();
    // Reopened once, the store has moved its WAL into table files, so that
    // each copy opens without recovering anything.
    EXPECT_THAT(history::OpenRocksDbHistoryStore(*d).status(), IsOk());
    return d;
  }();
  return *dir;
}

// The engine on a RocksDB store that does its I/O through a
// FaultInjectionFileSystem.
class FaultyEngine {
 public:
  FaultyEngine() {
    std::filesystem::copy(PreparedStore(), dir_,
                          std::filesystem::copy_options::recursive);
    rocksdb_options_.file_system = fs_;
  }
  absl::Status Open() {
    ASSIGN_OR_RETURN(
        store_, history::OpenRocksDbHistoryStore(dir_, history::StoreOptions(),
                                                 rocksdb_options_));
    ASSIGN_OR_RETURN(engine_, Engine::Open(store_.get(), Options(&clock_)));
    return absl::OkStatus();
  }
  // Stops the engine and closes the store; with `power_cut`, drops every
  // byte not synced. Then disarms the faults.
  void Crash(bool power_cut) {
    engine_.reset();
    store_.reset();
    if (power_cut) {
      ASSERT_THAT(fs_->DropUnsyncedData(), IsOk());
    }
    fs_->ClearFaults();
  }
  Engine& engine() { return *engine_; }
  FaultInjectionFileSystem& fs() { return *fs_; }

 private:
  const std::string dir_ = NewTempDir();
  const std::shared_ptr<FaultInjectionFileSystem> fs_ =
      std::make_shared<FaultInjectionFileSystem>();
  history::RocksDbOptions rocksdb_options_;
  ManualClock clock_;
  std::unique_ptr<history::HistoryStore> store_;
  std::unique_ptr<Engine> engine_;
};

FaultSpec WalFault(uint32_t ops, FaultError error, int64_t skip = 0) {
  FaultSpec spec;
  spec.ops = ops;
  spec.file_glob = "*.log";
  spec.error = error;
  spec.skip = skip;
  return spec;
}

TEST(EngineFaultTest, FailedCommitIsStickyAndNothingAcknowledgedIsLost) {
  for (uint32_t op : {kFileAppend, kFileSync}) {
    SCOPED_TRACE(op == kFileAppend ? "WAL append fails" : "WAL sync fails");
    FaultyEngine faulty;
    ASSERT_THAT(faulty.Open(), IsOk());
    Engine& engine = faulty.engine();
    ASSERT_THAT(Start(engine, "r1", 1), IsOk());
    ASSERT_THAT(Start(engine, "r2", 10), IsOk());
    std::optional<Task> a1 = Poll(engine);
    ASSERT_TRUE(a1.has_value());
    ASSERT_THAT(Complete(engine, *a1), IsOk());  // acknowledged
    std::optional<Task> next = Poll(engine);
    ASSERT_TRUE(next.has_value());

    faulty.fs().InjectFault(WalFault(op, FaultError::kNoSpace));
    EXPECT_THAT(
        Complete(engine, *next),
        AllOf(HasErrorCode("STORAGE_FAILED"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("No space"))));
    // The fault fired once; the engine refuses every later transition
    // anyway.
    EXPECT_THAT(Start(engine, "r3", 1), HasErrorCode("STORAGE_FAILED"));
    std::optional<Task> again = Poll(engine);  // claimable again
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->run_id(), next->run_id());
    EXPECT_EQ(again->step_id(), next->step_id());
    EXPECT_THAT(Complete(engine, *again), HasErrorCode("STORAGE_FAILED"));
    CancelRunRequest cancel;
    cancel.set_namespace_("default");
    cancel.set_run_id("r1");
    EXPECT_THAT(engine.CancelRun(cancel), HasErrorCode("STORAGE_FAILED"));
    RegisterWorkerRequest worker;
    worker.set_namespace_("default");
    worker.set_identity("w2");
    EXPECT_THAT(engine.RegisterWorker(worker), HasErrorCode("STORAGE_FAILED"));
    // Reads keep working and show what was committed.
    absl::StatusOr<history::History> r1 = HistoryOf(engine, "r1");
    ASSERT_THAT(r1, IsOk());
    absl::StatusOr<DescribeRunResponse> d = Describe(engine, next->run_id());
    ASSERT_THAT(d, IsOk());
    EXPECT_EQ(d->history_length(), next->run_id() == "r1" ? 5 : 2);

    faulty.Crash(/*power_cut=*/true);
    ASSERT_THAT(faulty.Open(), IsOk());
    Engine& reopened = faulty.engine();
    absl::StatusOr<history::History> after = HistoryOf(reopened, "r1");
    ASSERT_THAT(after, IsOk());
    EXPECT_GE(after->events_size(), 5);  // a1's completion survived
    EXPECT_EQ(after->events(3).step_completed().step_id(), "a");
    EXPECT_THAT(Describe(reopened, "r3"), HasErrorCode("RUN_NOT_FOUND"));
    RunToCompletion(reopened, {"r1", "r2", "r3"});
    for (const char* run : {"r1", "r2", "r3"}) ExpectSound(reopened, run);
  }
}

// What the workload was told: runs started, tasks completed (run, step) and
// signals delivered (run, signal id).
struct Acknowledged {
  std::set<std::string> runs;
  std::set<std::pair<std::string, std::string>> steps;
  std::set<std::pair<std::string, std::string>> signals;
};

// Arms one random fault on the WAL: a chosen append or sync from now, random
// ones with a seeded probability, or a disk that fills up.
void ArmRandomFault(FaultInjectionFileSystem& fs, std::mt19937_64& rng) {
  auto pick = [&](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng);
  };
  if (pick(5) == 0) {
    fs.FailAfterBytes(pick(20000));
    return;
  }
  FaultSpec spec;
  spec.ops = pick(3) == 0   ? kFileAppend
             : pick(2) == 0 ? kFileSync
                            : (kFileAppend | kFileSync);
  spec.file_glob = "*.log";
  spec.skip = pick(40);
  spec.count = pick(2) == 0 ? 1 : FaultSpec::kForever;
  spec.probability = pick(3) == 0 ? 0.1 : 1.0;
  spec.seed = rng();
  spec.error = pick(2) == 0 ? FaultError::kNoSpace : FaultError::kIoError;
  fs.InjectFault(spec);
}

// Starts runs, completes tasks and signals runs while a random fault is
// armed, over 200 seeds in blocks of kSeedsPerBlock, one test case each.
// After the first failure every transition is refused with STORAGE_FAILED.
// After a power cut (or a plain crash) and a reopen, everything acknowledged
// is there, every history is sound, and all runs complete. The seeds of a
// block run one after another on one store, each on the engine the previous
// one reopened: the store goes through 50 fault, crash and recovery cycles in
// a row (and the test pays for one store open per seed, not two). A block is
// deterministic; rerun the block to reproduce one of its seeds.
constexpr int kSeedBlocks = 4;
constexpr int kSeedsPerBlock = 50;

class EngineRandomFaultTest : public ::testing::TestWithParam<int> {};

TEST_P(EngineRandomFaultTest, LosesNothingAcknowledged) {
  int failed_seeds = 0;
  FaultyEngine faulty;
  ASSERT_THAT(faulty.Open(), IsOk());
  for (int seed = GetParam() * kSeedsPerBlock;
       seed < (GetParam() + 1) * kSeedsPerBlock; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    std::mt19937_64 rng(seed);
    auto pick = [&](int n) {
      return std::uniform_int_distribution<int>(0, n - 1)(rng);
    };
    Engine& engine = faulty.engine();
    ArmRandomFault(faulty.fs(), rng);

    Acknowledged acked;
    std::set<std::string> attempted;
    std::vector<std::string> started;  // acknowledged, in order
    bool failed = false;
    auto check = [&](const absl::Status& s) {
      if (s.ok()) {
        EXPECT_FALSE(failed) << "acknowledged after a storage failure";
        return true;
      }
      EXPECT_THAT(s, HasErrorCode("STORAGE_FAILED"));
      failed = true;
      return false;
    };
    for (int op = 0; op < 30 && !failed; ++op) {
      const int what = pick(10);
      if (what < 4 || started.empty()) {
        const std::string run =
            absl::StrCat("s", seed, "-run-", attempted.size());
        attempted.insert(run);
        if (check(Start(engine, run, op).status())) {
          acked.runs.insert(run);
          started.push_back(run);
        }
      } else if (what < 8) {
        std::optional<Task> task = Poll(engine);
        if (task.has_value() && check(Complete(engine, *task))) {
          acked.steps.insert({task->run_id(), task->step_id()});
        }
      } else {
        const std::string& run = started[pick(started.size())];
        const std::string id = absl::StrCat("sig-", op);
        absl::StatusOr<SignalRunResponse> r = Signal(engine, run, id);
        if (ErrorCode(r.status()) == "RUN_ALREADY_TERMINAL") continue;
        if (check(r.status()) && !r->duplicate()) {
          acked.signals.insert({run, id});
        }
      }
    }
    if (failed) {
      ++failed_seeds;
      // Refused, not acknowledged.
      EXPECT_THAT(Start(engine, absl::StrCat("s", seed, "-refused"), 1),
                  HasErrorCode("STORAGE_FAILED"));
      if (std::optional<Task> task = Poll(engine)) {
        EXPECT_THAT(Complete(engine, *task), HasErrorCode("STORAGE_FAILED"));
      }
    }

    faulty.Crash(/*power_cut=*/pick(4) != 0);
    ASSERT_THAT(faulty.Open(), IsOk());
    Engine& reopened = faulty.engine();
    std::set<std::string> present;
    for (const std::string& run : attempted) {
      absl::StatusOr<history::History> h = HistoryOf(reopened, run);
      if (!h.ok()) {
        ASSERT_THAT(h, HasErrorCode("RUN_NOT_FOUND"));
        EXPECT_EQ(acked.runs.count(run), 0u) << run << " was acknowledged";
        continue;
      }
      present.insert(run);
      ExpectSound(reopened, run);
      for (const auto& e : h->events()) {
        if (e.has_step_completed()) {
          acked.steps.erase({run, e.step_completed().step_id()});
        }
        if (e.has_signal_received()) {
          acked.signals.erase({run, e.signal_received().signal_id()});
        }
      }
    }
    for (const std::string& run : acked.runs) {
      EXPECT_EQ(present.count(run), 1u) << "lost start of " << run;
    }
    // A refused start never reached the disk.
    EXPECT_THAT(Describe(reopened, absl::StrCat("s", seed, "-refused")),
                HasErrorCode("RUN_NOT_FOUND"));
    for (const auto& [run, step] : acked.steps) {
      ADD_FAILURE() << "lost completion of " << run << " step " << step;
    }
    for (const auto& [run, id] : acked.signals) {
      ADD_FAILURE() << "lost signal " << id << " to " << run;
    }
    RunToCompletion(reopened, attempted);
    for (const std::string& run : attempted) ExpectSound(reopened, run);
    if (::testing::Test::HasFailure()) return;
  }
  // Most seeds hit their fault within the workload.
  EXPECT_GT(failed_seeds, kSeedsPerBlock / 2);
}

INSTANTIATE_TEST_SUITE_P(Seeds, EngineRandomFaultTest,
                         ::testing::Range(0, kSeedBlocks));

// ---- a store that fails once, then works again -----------------------------

// Delegates to the in-memory store, failing the next `fail_appends` Appends
// and `fail_writes` Writes with STORAGE_FAILED. Unlike the RocksDB store it
// is not sticky, so a test can see what the engine does next.
class FlakyStore : public history::HistoryStore {
 public:
  std::atomic<int> fail_appends{0};  // Appends and AppendBatches
  std::atomic<int> fail_writes{0};
  std::atomic<int> appends{0};  // commits of events: Append + AppendBatch
  std::atomic<int> history_reads{0};

  absl::StatusOr<history::RunInfo> Append(
      const history::AppendRequest& request) override {
    if (fail_appends > 0) {
      --fail_appends;
      return Error(absl::StatusCode::kUnavailable, "STORAGE_FAILED",
                   "injected append failure");
    }
    ++appends;
    return store_->Append(request);
  }
  absl::StatusOr<std::vector<history::RunInfo>> AppendBatch(
      const std::vector<history::AppendRequest>& requests,
      const std::vector<history::Mutation>& writes) override {
    if (fail_appends > 0) {
      --fail_appends;
      return Error(absl::StatusCode::kUnavailable, "STORAGE_FAILED",
                   "injected batch failure");
    }
    ++appends;
    return store_->AppendBatch(requests, writes);
  }
  absl::Status Write(const std::vector<history::Mutation>& writes) override {
    if (fail_writes > 0) {
      --fail_writes;
      return Error(absl::StatusCode::kUnavailable, "STORAGE_FAILED",
                   "injected write failure");
    }
    return store_->Write(writes);
  }
  absl::StatusOr<history::RunInfo> GetRunInfo(
      absl::string_view ns, absl::string_view run_id) override {
    return store_->GetRunInfo(ns, run_id);
  }
  std::unique_ptr<history::EventIterator> ReadHistory(
      absl::string_view ns, absl::string_view run_id,
      int64_t from_event_id) override {
    ++history_reads;
    return store_->ReadHistory(ns, run_id, from_event_id);
  }
  absl::StatusOr<history::RunPage> ListRuns(absl::string_view ns,
                                            absl::string_view cursor,
                                            int limit) override {
    return store_->ListRuns(ns, cursor, limit);
  }
  absl::StatusOr<history::RunPage> ListAllRuns(absl::string_view cursor,
                                               int limit) override {
    return store_->ListAllRuns(cursor, limit);
  }
  absl::StatusOr<std::optional<std::string>> Get(
      history::KeySpace space, absl::string_view key) override {
    return store_->Get(space, key);
  }
  std::unique_ptr<history::KeyIterator> Scan(history::KeySpace space,
                                             absl::string_view start,
                                             absl::string_view end) override {
    return store_->Scan(space, start, end);
  }

 private:
  std::unique_ptr<history::HistoryStore> store_ =
      history::NewInMemoryHistoryStore();
};

class FlakyEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine = Engine::Open(&store_, Options(&clock_));
    ASSERT_THAT(engine, IsOk());
    engine_ = std::move(*engine);
    ASSERT_THAT(Prepare(*engine_), IsOk());
  }

  ManualClock clock_;
  FlakyStore store_;
  std::unique_ptr<Engine> engine_;
};

// Two branches of work at once, then the end.
constexpr char kForkDefinition[] = R"({
  "name": "fork", "version": "1",
  "steps": [
    {"id": "both", "type": "control.parallel", "branches": [
      [{"id": "left", "type": "action", "action": "work", "input": "input"}],
      [{"id": "right", "type": "action", "action": "work", "input": "input"}]]},
    {"id": "r", "type": "control.return", "output": "steps.left.output + steps.right.output"}
  ]})";

// A worker "wide" holding up to 10 tasks, with every ready task polled.
class ReportTasksTest : public FlakyEngineTest {
 protected:
  void SetUp() override {
    FlakyEngineTest::SetUp();
    RegisterDefinitionRequest def;
    def.set_namespace_("default");
    def.set_definition_json(kForkDefinition);
    ASSERT_THAT(engine_->RegisterDefinition(def), IsOk());
    RegisterWorkerRequest worker;
    worker.set_namespace_("default");
    worker.set_identity("wide");
    worker.set_max_concurrency(10);
    worker_ = engine_->RegisterWorker(worker)->worker_id();
  }
  std::vector<Task> PollAll() {
    std::vector<Task> tasks;
    for (;;) {
      PollTaskRequest p;
      p.set_worker_id(worker_);
      absl::StatusOr<PollTaskResponse> polled = engine_->PollTask(p);
      if (!polled.ok() || !polled->has_task()) return tasks;
      tasks.push_back(polled->task());
    }
  }
  static TaskOutcome Output(const Task& task, absl::string_view json) {
    TaskOutcome o;
    o.set_token(task.token());
    *o.mutable_output() = history::JsonPayload(json);
    return o;
  }
  // Starts runs r1 and r2 and reports their first steps done.
  ReportTasksRequest ReportOfTwoRuns() {
    EXPECT_THAT(Start(*engine_, "r1", 1), IsOk());
    EXPECT_THAT(Start(*engine_, "r2", 1), IsOk());
    std::vector<Task> tasks = PollAll();
    EXPECT_EQ(tasks.size(), 2u);
    ReportTasksRequest report;
    report.set_worker_id(worker_);
    for (const Task& t : tasks) *report.add_outcomes() = Output(t, "2");
    return report;
  }
  std::vector<std::string> Codes(const ReportTasksResponse& r) {
    std::vector<std::string> codes;
    for (const auto& result : r.results()) codes.push_back(result.code());
    return codes;
  }

  std::string worker_;
};

TEST_F(ReportTasksTest, OutcomesOfSeveralRunsAreRecordedInOneCommit) {
  Engine& engine = *engine_;
  ASSERT_THAT(Start(engine, "r1", 1), IsOk());
  ASSERT_THAT(Start(engine, "r2", 10), IsOk());
  StartRunRequest fork;
  fork.set_namespace_("default");
  fork.set_workflow("fork");
  fork.set_run_id("f");
  fork.set_input_json("5");
  ASSERT_THAT(engine.StartRun(fork), IsOk());
  std::map<std::string, Task> tasks;  // by run/step
  for (const Task& t : PollAll()) tasks[t.run_id() + "/" + t.step_id()] = t;
  ASSERT_EQ(tasks.size(), 4u);

  ReportTasksRequest report;
  report.set_worker_id(worker_);
  *report.add_outcomes() = Output(tasks["r1/a"], "2");
  TaskOutcome failed;
  failed.set_token(tasks["r2/a"].token());
  failed.mutable_failure()->set_code("BOOM");
  failed.mutable_failure()->set_non_retryable(true);
  *report.add_outcomes() = failed;
  // Two outcomes of one run (its parallel branches) in the same report.
  *report.add_outcomes() = Output(tasks["f/left"], "5");
  *report.add_outcomes() = Output(tasks["f/right"], "6");
  TaskOutcome forged;
  forged.set_token("not-a-token");
  *forged.mutable_output() = history::JsonPayload("1");
  *report.add_outcomes() = forged;
  report.set_max_next_tasks(5);
  const int appends = store_.appends;
  absl::StatusOr<ReportTasksResponse> reported = engine.ReportTasks(report);
  ASSERT_THAT(reported, IsOk());
  EXPECT_EQ(store_.appends - appends, 1);  // one commit for three runs
  EXPECT_THAT(Codes(*reported),
              ::testing::ElementsAre("", "", "", "", "INVALID_TOKEN"));
  // Each result says whether its outcome ended the run.
  std::vector<std::string> run_status;
  for (const auto& r : reported->results())
    run_status.push_back(r.run_status());
  EXPECT_THAT(run_status, ::testing::ElementsAre("", "FAILED", "COMPLETED",
                                                 "COMPLETED", ""));
  // r1's next step came back with the report, leased to the worker.
  ASSERT_EQ(reported->next_tasks_size(), 1);
  EXPECT_EQ(reported->next_tasks(0).run_id(), "r1");
  EXPECT_EQ(reported->next_tasks(0).step_id(), "b");
  EXPECT_TRUE(PollAll().empty());

  EXPECT_EQ(Describe(engine, "r1")->status(), "RUNNING");
  EXPECT_EQ(Describe(engine, "r2")->status(), "FAILED");
  absl::StatusOr<DescribeRunResponse> f = Describe(engine, "f");
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->status(), "COMPLETED");
  EXPECT_EQ(f->output_json(), "11");
  for (const char* run : {"r1", "r2"}) ExpectSound(engine, run);
  ExpectSound(engine, "f", kForkDefinition);

  // Reporting again (a client retrying): acknowledged, nothing recorded;
  // another outcome under a used token is refused.
  const int64_t length = Describe(engine, "f")->history_length();
  ReportTasksRequest again;
  again.set_worker_id(worker_);
  *again.add_outcomes() = Output(tasks["f/left"], "5");
  *again.add_outcomes() = Output(tasks["f/right"], "7");
  reported = engine.ReportTasks(again);
  ASSERT_THAT(reported, IsOk());
  EXPECT_THAT(Codes(*reported),
              ::testing::ElementsAre("", "TOKEN_ALREADY_USED"));
  EXPECT_EQ(Describe(engine, "f")->history_length(), length);
}

TEST_F(ReportTasksTest, StartRunsCommitsItsRunsOnceAndDecidesEachLikeStartRun) {
  Engine& engine = *engine_;
  ASSERT_THAT(Start(engine, "old", 1), IsOk());
  auto start = [](const std::string& run_id, const std::string& input) {
    StartRunRequest s;
    s.set_namespace_("default");
    s.set_workflow("faulty");
    s.set_run_id(run_id);
    s.set_input_json(input);
    return s;
  };
  std::vector<StartRunRequest> batch = {
      start("s1", "1"), start("s2", "2"), start("old", "1"),
      start("s3", "not json"), start("s1", "1")};
  StartRunRequest missing = start("s4", "1");
  missing.set_workflow("nope");
  batch.push_back(missing);
  StartRunRequest deduped = start("s5", "5");
  deduped.set_dedupe_key("order-5");
  batch.push_back(deduped);
  StartRunRequest deduped_again = start("s6", "5");
  deduped_again.set_dedupe_key("order-5");
  batch.push_back(deduped_again);
  const int appends = store_.appends;
  auto started = engine.StartRuns(batch);
  ASSERT_THAT(started, IsOk());
  ASSERT_EQ(started->size(), batch.size());
  // s1 and s2 in one commit; each dedupe-keyed start on its own.
  EXPECT_EQ(store_.appends - appends, 2);
  const auto& r = *started;
  ASSERT_THAT(r[0], IsOk());
  EXPECT_FALSE(r[0]->duplicate());
  ASSERT_THAT(r[1], IsOk());
  EXPECT_FALSE(r[1]->duplicate());
  ASSERT_THAT(r[2], IsOk());
  EXPECT_TRUE(r[2]->duplicate());  // existed before
  EXPECT_THAT(r[3], HasErrorCode("INVALID_JSON"));
  ASSERT_THAT(r[4], IsOk());
  EXPECT_TRUE(r[4]->duplicate());  // earlier in the same batch
  EXPECT_THAT(r[5], HasErrorCode("WORKFLOW_NOT_FOUND"));
  ASSERT_THAT(r[6], IsOk());
  EXPECT_FALSE(r[6]->duplicate());
  ASSERT_THAT(r[7], IsOk());
  EXPECT_TRUE(r[7]->duplicate());
  EXPECT_EQ(r[7]->run_id(), "s5");
  EXPECT_THAT(Describe(engine, "s3"), HasErrorCode("RUN_NOT_FOUND"));
  EXPECT_THAT(Describe(engine, "s6"), HasErrorCode("RUN_NOT_FOUND"));
  // Each started run has its first task, and runs to its end.
  std::set<std::string> tasks;
  for (const Task& t : PollAll()) tasks.insert(t.run_id());
  EXPECT_EQ(tasks, (std::set<std::string>{"old", "s1", "s2", "s5"}));
  for (const char* run : {"s1", "s2", "s5"}) ExpectSound(engine, run);

  // A failed commit starts none of the batched runs.
  store_.fail_appends = 1;
  EXPECT_THAT(engine.StartRuns({start("f1", "1"), start("f2", "1")}),
              HasErrorCode("STORAGE_FAILED"));
  EXPECT_THAT(Describe(engine, "f1"), HasErrorCode("RUN_NOT_FOUND"));
  EXPECT_THAT(Describe(engine, "f2"), HasErrorCode("RUN_NOT_FOUND"));
  EXPECT_TRUE(PollAll().empty());
  started = engine.StartRuns({start("f1", "1"), start("f2", "1")});
  ASSERT_THAT(started, IsOk());
  EXPECT_FALSE((*started)[0]->duplicate());
  EXPECT_EQ(PollAll().size(), 2u);
}

TEST_F(ReportTasksTest, EagerTasksStopAtMaxNextTasksAndTheRestQueue) {
  Engine& engine = *engine_;
  ReportTasksRequest report = ReportOfTwoRuns();
  report.set_max_next_tasks(1);
  absl::StatusOr<ReportTasksResponse> reported = engine.ReportTasks(report);
  ASSERT_THAT(reported, IsOk());
  ASSERT_EQ(reported->next_tasks_size(), 1);
  std::vector<Task> rest = PollAll();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_NE(rest[0].run_id(), reported->next_tasks(0).run_id());
  EXPECT_EQ(rest[0].step_id(), "b");
}

TEST_F(ReportTasksTest, AFailedCommitRecordsNothingAndTheTasksComeBack) {
  Engine& engine = *engine_;
  ReportTasksRequest report = ReportOfTwoRuns();
  report.set_max_next_tasks(2);
  store_.fail_appends = 1;
  EXPECT_THAT(engine.ReportTasks(report), HasErrorCode("STORAGE_FAILED"));
  EXPECT_EQ(Describe(engine, "r1")->history_length(), 2);
  EXPECT_EQ(Describe(engine, "r2")->history_length(), 2);
  // Claimable again as the same attempts; they complete once.
  std::vector<Task> again = PollAll();
  ASSERT_EQ(again.size(), 2u);
  ReportTasksRequest retry;
  retry.set_worker_id(worker_);
  for (const Task& t : again) {
    EXPECT_EQ(t.attempt(), 1);
    *retry.add_outcomes() = Output(t, "2");
  }
  absl::StatusOr<ReportTasksResponse> reported = engine.ReportTasks(retry);
  ASSERT_THAT(reported, IsOk());
  EXPECT_THAT(Codes(*reported), ::testing::ElementsAre("", ""));
  // The first tokens lost their lease when the tasks came back.
  reported = engine.ReportTasks(report);
  ASSERT_THAT(reported, IsOk());
  EXPECT_THAT(Codes(*reported),
              ::testing::ElementsAre("LEASE_LOST", "LEASE_LOST"));
  for (const char* run : {"r1", "r2"}) ExpectSound(engine, run);
}

// The transition that failed to commit left nothing behind in memory: the
// run's cached interpreter and run record are not ahead of the store, so the
// retried completion, start and signal all apply exactly once.
// The run cache keeps open runs: a run that ended takes no place in it (it
// takes no more transitions but a retry, which replays), so it does not
// push out a run still waiting for its next step, which would then replay
// its whole history.
TEST(EngineCacheTest, AnEndedRunDoesNotPushAnOpenRunOutOfTheCache) {
  ManualClock clock;
  FlakyStore store;
  EngineOptions options = Options(&clock);
  options.run_cache_size = 2;
  auto engine = Engine::Open(&store, options).value();
  ASSERT_THAT(Prepare(*engine), IsOk());
  RegisterWorkerRequest worker;  // holds r1's task while running r2's
  worker.set_namespace_("default");
  worker.set_identity("w");
  worker.set_max_concurrency(2);
  ASSERT_THAT(engine->RegisterWorker(worker), IsOk());
  ASSERT_THAT(Start(*engine, "r1", 1), IsOk());
  std::optional<Task> r1_a = Poll(*engine);
  ASSERT_TRUE(r1_a.has_value());
  // r2 runs to its end while r1 waits: cache r2, r1.
  ASSERT_THAT(Start(*engine, "r2", 1), IsOk());
  for (int step = 0; step < 2; ++step) {
    std::optional<Task> t = Poll(*engine);
    ASSERT_TRUE(t.has_value());
    ASSERT_EQ(t->run_id(), "r2");
    ASSERT_THAT(Complete(*engine, *t), IsOk());
  }
  ASSERT_THAT(Signal(*engine, "r2", "s1"), IsOk());
  DescribeRunRequest d;
  d.set_namespace_("default");
  d.set_run_id("r2");
  ASSERT_EQ(engine->DescribeRun(d)->status(), "COMPLETED");
  // A third run takes the place r2 held.
  ASSERT_THAT(Start(*engine, "r3", 1), IsOk());

  const int reads = store.history_reads;
  ASSERT_THAT(Complete(*engine, *r1_a), IsOk());
  EXPECT_EQ(store.history_reads - reads, 0) << "r1 was replayed";
}

TEST_F(FlakyEngineTest, FailedCommitLeavesNoInMemoryStateAhead) {
  Engine& engine = *engine_;
  store_.fail_appends = 1;
  EXPECT_THAT(Start(engine, "r", 1), HasErrorCode("STORAGE_FAILED"));
  EXPECT_THAT(Describe(engine, "r"), HasErrorCode("RUN_NOT_FOUND"));
  EXPECT_FALSE(Poll(engine).has_value());  // no task of the failed start
  absl::StatusOr<StartRunResponse> started = Start(engine, "r", 1);
  ASSERT_THAT(started, IsOk());
  EXPECT_FALSE(started->duplicate());

  for (const char* step : {"a", "b"}) {
    std::optional<Task> task = Poll(engine);
    ASSERT_TRUE(task.has_value());
    ASSERT_EQ(task->step_id(), step);
    const int64_t length = Describe(engine, "r")->history_length();
    store_.fail_appends = 1;
    EXPECT_THAT(Complete(engine, *task), HasErrorCode("STORAGE_FAILED"));
    EXPECT_EQ(Describe(engine, "r")->history_length(), length);
    // The task is claimable again, as the same attempt, and completes.
    std::optional<Task> again = Poll(engine);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->step_id(), step);
    EXPECT_EQ(again->attempt(), task->attempt());
    ASSERT_THAT(Complete(engine, *again), IsOk());
  }

  // A failed signal is not remembered as delivered.
  ASSERT_EQ(Describe(engine, "r")->status(), "WAITING");
  store_.fail_appends = 1;
  EXPECT_THAT(Signal(engine, "r", "s1"), HasErrorCode("STORAGE_FAILED"));
  absl::StatusOr<SignalRunResponse> signaled = Signal(engine, "r", "s1");
  ASSERT_THAT(signaled, IsOk());
  EXPECT_FALSE(signaled->duplicate());
  EXPECT_TRUE(signaled->delivered());
  absl::StatusOr<DescribeRunResponse> done = Describe(engine, "r");
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->status(), "COMPLETED");
  EXPECT_EQ(done->output_json(), "3");
  ExpectSound(engine, "r");
}

// Regression: DeregisterWorker dropped the worker and released its leases in
// memory before writing the deregistration, so a failed write left a worker
// that the store still had but the engine had forgotten, and its tasks
// leased to nobody until a restart.
TEST_F(FlakyEngineTest, FailedDeregisterKeepsTheWorkerAndItsLeases) {
  Engine& engine = *engine_;
  ASSERT_THAT(Start(engine, "r", 1), IsOk());
  std::optional<Task> task = Poll(engine);
  ASSERT_TRUE(task.has_value());
  store_.fail_writes = 1;
  DeregisterWorkerRequest deregister;
  deregister.set_worker_id(kWorker);
  EXPECT_THAT(engine.DeregisterWorker(deregister),
              HasErrorCode("STORAGE_FAILED"));
  // Still registered, still holding its lease.
  ASSERT_THAT(Complete(engine, *task), IsOk());
  EXPECT_TRUE(Poll(engine).has_value());
  EXPECT_THAT(engine.DeregisterWorker(deregister), IsOk());
  PollTaskRequest p;
  p.set_worker_id(kWorker);
  EXPECT_THAT(engine.PollTask(p), HasErrorCode("WORKER_NOT_FOUND"));
}

}  // namespace
}  // namespace retrace::runtime
