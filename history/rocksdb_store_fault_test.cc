// The RocksDB store under storage faults (docs/reliability.md#storage-faults):
// a file that cannot be created, a WAL append or sync that fails with ENOSPC
// or EIO, a disk that fills up mid-record, and power cuts that drop whatever
// was not synced. In every case: no acknowledged append is lost, no failed
// append is partly visible, the failure is sticky until the store is
// reopened, and the reopened store is whole (and passes the conformance
// suite).
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "history/history_store_conformance.h"
#include "history/rocksdb_store.h"
#include "history/test_events.h"
#include "history/testing/fault_injection_fs.h"
#include "history/validation.h"

namespace retrace::history::testing {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;

std::string NewTempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/fault-store-",
                                 getpid(), "-", counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

// A directory holding a new, empty, closed store. Copying it is much faster
// than creating a store (a dozen column families).
const std::string& EmptyStoreTemplate() {
  static const std::string* dir = [] {
    auto* d = new std::string(NewTempDir());
    // Opened twice, the store has moved its WAL into table files, so that
    // each copy opens without recovering anything.
    EXPECT_THAT(OpenRocksDbHistoryStore(*d).status(), IsOk());
    EXPECT_THAT(OpenRocksDbHistoryStore(*d).status(), IsOk());
    return d;
  }();
  return *dir;
}

// A store directory opened through a FaultInjectionFileSystem. It starts as a
// copy of an empty store, or with nothing (`fresh`).
class FaultyStore {
 public:
  explicit FaultyStore(StoreOptions options = {}, bool fresh = false)
      : options_(options) {
    rocksdb_options_.file_system = fs_;
    if (!fresh) {
      std::filesystem::copy(EmptyStoreTemplate(), dir_,
                            std::filesystem::copy_options::recursive);
    }
  }

  absl::Status Open() {
    auto store = OpenRocksDbHistoryStore(dir_, options_, rocksdb_options_);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    return absl::OkStatus();
  }
  // Closes the store (every file) and, with `power_cut`, drops every byte
  // that was not synced; then disarms the faults.
  void Crash(bool power_cut) {
    store_.reset();
    if (power_cut) {
      ASSERT_THAT(fs_->DropUnsyncedData(), IsOk());
    }
    fs_->ClearFaults();
  }
  HistoryStore& store() { return *store_; }
  FaultInjectionFileSystem& fs() { return *fs_; }
  std::unique_ptr<HistoryStore> Release() { return std::move(store_); }

 private:
  const StoreOptions options_;
  const std::string dir_ = NewTempDir();
  const std::shared_ptr<FaultInjectionFileSystem> fs_ =
      std::make_shared<FaultInjectionFileSystem>();
  RocksDbOptions rocksdb_options_;
  std::unique_ptr<HistoryStore> store_;
};

FaultSpec Fault(uint32_t ops, const std::string& glob,
                FaultError error = FaultError::kIoError, int64_t skip = 0,
                int64_t count = 1) {
  FaultSpec spec;
  spec.ops = ops;
  spec.file_glob = glob;
  spec.error = error;
  spec.skip = skip;
  spec.count = count;
  return spec;
}

// The model of what a test appended: per run, the last acknowledged event id
// and the events of the one append whose outcome is unknown (the first that
// failed). Every append also puts an outbox row "<run>/<first event id>",
// so the test can tell that events and extra writes commit together.
class Model {
 public:
  // Appends `n` events to run `run`. Records the outcome.
  absl::Status Append(HistoryStore& store, const std::string& run, int n,
                      int payload_bytes = 16) {
    RunModel& m = runs_[run];
    const int64_t first = m.acked + 1;
    AppendRequest r;
    r.ns = "default";
    r.run_id = run;
    r.expected_next_event_id = first;
    for (int64_t id = first; id < first + n; ++id) {
      r.events.push_back(
          id == 1 ? RunStarted(1, TestTime())
                  : StepCompleted(
                        id, TestTime(id), "s",
                        absl::StrCat("\"", std::string(payload_bytes, 'x'), id,
                                     "\"")));
    }
    r.writes.push_back(Mutation::Put(KeySpace::kOutbox, OutboxKey(run, first),
                                     absl::StrCat(first)));
    absl::StatusOr<RunInfo> info = store.Append(r);
    if (info.ok()) {
      m.acked = first + n - 1;
      m.sent.insert(m.sent.end(), r.events.begin(), r.events.end());
      return absl::OkStatus();
    }
    if (!failed_) {
      // The first failure reached RocksDB: its outcome is unknown.
      failed_ = true;
      m.unknown = r.events;
    }
    return info.status();
  }

  // Checks `store` (reopened) against the model: every acknowledged event is
  // there as sent, the unknown append is there whole or not at all, nothing
  // else is, and every history is dense and valid.
  void Verify(HistoryStore& store) const {
    for (const auto& [run, m] : runs_) {
      SCOPED_TRACE(run);
      std::vector<HistoryEvent> events;
      auto it = store.ReadHistory("default", run, 1);
      for (; it->Valid(); it->Next()) events.push_back(it->event());
      ASSERT_THAT(it->status(), IsOk());
      const int64_t n = static_cast<int64_t>(events.size());
      const int64_t with_unknown =
          m.acked + static_cast<int64_t>(m.unknown.size());
      ASSERT_TRUE(n == m.acked || (!m.unknown.empty() && n == with_unknown))
          << "history has " << n << " events; acknowledged " << m.acked
          << ", unknown append of " << m.unknown.size();
      HistoryValidator validator(NewRunInfo("default", run), 2 << 20);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_THAT(validator.Add(events[i]), IsOk()) << "event " << i + 1;
        const HistoryEvent& sent =
            i < m.acked ? m.sent[i] : m.unknown[i - m.acked];
        ASSERT_EQ(events[i].SerializeAsString(), sent.SerializeAsString())
            << "event " << i + 1;
      }
      if (n == 0) {
        EXPECT_THAT(store.GetRunInfo("default", run),
                    HasErrorCode("RUN_NOT_FOUND"));
      } else {
        absl::StatusOr<RunInfo> info = store.GetRunInfo("default", run);
        ASSERT_THAT(info, IsOk());
        EXPECT_EQ(info->next_event_id(), n + 1);
      }
      // The unknown append's outbox row is there exactly when its events
      // are.
      if (!m.unknown.empty()) {
        auto row = store.Get(KeySpace::kOutbox,
                             OutboxKey(run, m.unknown.front().event_id()));
        ASSERT_THAT(row, IsOk());
        EXPECT_EQ(row->has_value(), n == with_unknown);
      }
    }
  }

  // Checks an open store after a failure: reads see the acknowledged
  // appends only.
  void VerifyVisible(HistoryStore& store) const {
    for (const auto& [run, m] : runs_) {
      absl::StatusOr<RunInfo> info = store.GetRunInfo("default", run);
      if (m.acked == 0) {
        EXPECT_THAT(info, HasErrorCode("RUN_NOT_FOUND")) << run;
      } else {
        ASSERT_THAT(info, IsOk()) << run;
        EXPECT_EQ(info->next_event_id(), m.acked + 1) << run;
      }
    }
  }

  // Forgets the unknown append after a reopen, adopting what the store
  // kept, so that appends can continue.
  void Settle(HistoryStore& store) {
    for (auto& [run, m] : runs_) {
      absl::StatusOr<RunInfo> info = store.GetRunInfo("default", run);
      if (info.ok() && info->next_event_id() - 1 > m.acked) {
        m.sent.insert(m.sent.end(), m.unknown.begin(), m.unknown.end());
        m.acked = info->next_event_id() - 1;
      }
      m.unknown.clear();
    }
    failed_ = false;
  }

  int64_t acked(const std::string& run) const {
    auto it = runs_.find(run);
    return it == runs_.end() ? 0 : it->second.acked;
  }

 private:
  struct RunModel {
    int64_t acked = 0;
    std::vector<HistoryEvent> sent;     // acknowledged events, in order
    std::vector<HistoryEvent> unknown;  // events of the failed append
  };
  static std::string OutboxKey(const std::string& run, int64_t first) {
    return absl::StrCat(run, "/", first);
  }

  std::map<std::string, RunModel> runs_;
  bool failed_ = false;
};

// WAL appends and syncs attempted so far: "touching the disk".
int64_t WalOps(FaultInjectionFileSystem& fs) {
  return fs.Count(kFileAppend, "*.log") + fs.Count(kFileSync, "*.log");
}

// ---- before: the store cannot create or write its files ------------------

// Every fault lasts (kForever): RocksDB tolerates some single failures at
// open (e.g. it cannot reopen an old WAL to truncate it) and goes on.
TEST(RocksDbStoreFaultTest, OpenFailsCleanlyWhileFilesCannotBeWritten) {
  constexpr int64_t kForever = FaultSpec::kForever;
  const std::vector<FaultSpec> faults = {
      Fault(kFileCreate, "*.log", FaultError::kIoError, 0, kForever),
      Fault(kFileCreate, "MANIFEST-*", FaultError::kNoSpace, 0, kForever),
      Fault(kFileAppend, "MANIFEST-*", FaultError::kIoError, 0, kForever),
      Fault(kFileSync, "MANIFEST-*", FaultError::kNoSpace, 0, kForever),
      Fault(kFileRename, "CURRENT", FaultError::kIoError, 0, kForever),
  };
  for (size_t i = 0; i < faults.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("fault ", i, " on ", faults[i].file_glob));
    FaultyStore faulty({}, /*fresh=*/true);
    Model model;
    // A brand new store.
    faulty.fs().InjectFault(faults[i]);
    EXPECT_THAT(faulty.Open(), AllOf(HasErrorCode("STORE_IO"),
                                     StatusIs(absl::StatusCode::kUnavailable)));
    faulty.Crash(/*power_cut=*/true);
    ASSERT_THAT(faulty.Open(), IsOk());
    ASSERT_THAT(model.Append(faulty.store(), "a", 3), IsOk());
    // An existing store.
    faulty.Crash(/*power_cut=*/false);
    faulty.fs().InjectFault(faults[i]);
    EXPECT_THAT(faulty.Open(), HasErrorCode("STORE_IO"));
    faulty.Crash(/*power_cut=*/true);
    ASSERT_THAT(faulty.Open(), IsOk());
    model.Verify(faulty.store());
    ASSERT_THAT(model.Append(faulty.store(), "a", 1), IsOk());
    EXPECT_GT(faulty.fs().FaultsInjected(), 0);
  }
}

// ---- during: the WAL append or the WAL sync fails ------------------------

TEST(RocksDbStoreFaultTest, FailedWalAppendIsStickyAndLeavesNothingBehind) {
  for (FaultError error : {FaultError::kNoSpace, FaultError::kIoError}) {
    FaultyStore faulty;
    Model model;
    ASSERT_THAT(faulty.Open(), IsOk());
    ASSERT_THAT(model.Append(faulty.store(), "a", 2), IsOk());
    ASSERT_THAT(model.Append(faulty.store(), "b", 1), IsOk());

    faulty.fs().InjectFault(Fault(kFileAppend, "*.log", error));
    EXPECT_THAT(
        model.Append(faulty.store(), "a", 1),
        AllOf(
            HasErrorCode("STORAGE_FAILED"),
            StatusIs(
                absl::StatusCode::kUnavailable,
                AllOf(HasSubstr("appending events 3..3 to run default/a"),
                      error == FaultError::kNoSpace ? HasSubstr("No space")
                                                    : HasSubstr("IO error")))));
    // The fault fired once; the store refuses every later write anyway,
    // without touching the disk.
    const int64_t wal_ops = WalOps(faulty.fs());
    EXPECT_THAT(
        model.Append(faulty.store(), "b", 1),
        StatusIs(absl::StatusCode::kUnavailable,
                 AllOf(HasSubstr("STORAGE_FAILED"), HasSubstr("read-only"),
                       HasSubstr("default/a"))));
    EXPECT_THAT(model.Append(faulty.store(), "c", 1),
                HasErrorCode("STORAGE_FAILED"));
    EXPECT_THAT(
        faulty.store().Write({Mutation::Put(KeySpace::kWorkers, "w", "1")}),
        HasErrorCode("STORAGE_FAILED"));
    EXPECT_EQ(WalOps(faulty.fs()), wal_ops);
    // Reads keep working and see the acknowledged appends only.
    model.VerifyVisible(faulty.store());
    model.Verify(faulty.store());

    // The failed record never reached the WAL: after a reopen it is gone,
    // power cut or not.
    faulty.Crash(/*power_cut=*/false);
    ASSERT_THAT(faulty.Open(), IsOk());
    model.Verify(faulty.store());
    EXPECT_EQ(faulty.store().GetRunInfo("default", "a")->next_event_id(), 3);
    model.Settle(faulty.store());
    ASSERT_THAT(model.Append(faulty.store(), "a", 1), IsOk());
    ASSERT_THAT(model.Append(faulty.store(), "c", 1), IsOk());
  }
}

TEST(RocksDbStoreFaultTest, FailedWalSyncIsStickyAndTheAppendAllOrNothing) {
  for (bool power_cut : {false, true}) {
    for (FaultError error : {FaultError::kNoSpace, FaultError::kIoError}) {
      SCOPED_TRACE(absl::StrCat("power cut ", power_cut, ", error ",
                                static_cast<int>(error)));
      FaultyStore faulty;
      Model model;
      ASSERT_THAT(faulty.Open(), IsOk());
      ASSERT_THAT(model.Append(faulty.store(), "a", 2), IsOk());
      ASSERT_THAT(model.Append(faulty.store(), "b", 1), IsOk());

      faulty.fs().InjectFault(Fault(kFileSync, "*.log", error));
      EXPECT_THAT(model.Append(faulty.store(), "a", 2),
                  StatusIs(absl::StatusCode::kUnavailable,
                           AllOf(HasSubstr("STORAGE_FAILED"),
                                 HasSubstr("appending events 3..4"))));
      const int64_t wal_ops = WalOps(faulty.fs());
      EXPECT_THAT(model.Append(faulty.store(), "b", 1),
                  HasErrorCode("STORAGE_FAILED"));
      EXPECT_EQ(WalOps(faulty.fs()), wal_ops);
      // The record was written to the WAL but not synced, and RocksDB did
      // not apply it: reads do not see it.
      model.VerifyVisible(faulty.store());

      faulty.Crash(power_cut);
      ASSERT_THAT(faulty.Open(), IsOk());
      model.Verify(faulty.store());
      if (power_cut) {
        // Never synced: the power cut took it.
        EXPECT_EQ(faulty.store().GetRunInfo("default", "a")->next_event_id(),
                  3);
      }
      model.Settle(faulty.store());
      ASSERT_THAT(model.Append(faulty.store(), "a", 1), IsOk());
      ASSERT_THAT(model.Append(faulty.store(), "b", 1), IsOk());
    }
  }
}

TEST(RocksDbStoreFaultTest, FullDiskTearsTheWalRecordAndRecoveryDropsIt) {
  for (bool power_cut : {false, true}) {
    SCOPED_TRACE(absl::StrCat("power cut ", power_cut));
    FaultyStore faulty;
    Model model;
    ASSERT_THAT(faulty.Open(), IsOk());
    ASSERT_THAT(model.Append(faulty.store(), "a", 3), IsOk());
    // Room for part of the next record only.
    faulty.fs().FailAfterBytes(100);
    EXPECT_THAT(
        model.Append(faulty.store(), "a", 2, /*payload_bytes=*/4000),
        AllOf(HasErrorCode("STORAGE_FAILED"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("No space"))));
    EXPECT_THAT(model.Append(faulty.store(), "b", 1),
                HasErrorCode("STORAGE_FAILED"));
    faulty.Crash(power_cut);
    ASSERT_THAT(faulty.Open(), IsOk());
    model.Verify(faulty.store());
    EXPECT_EQ(faulty.store().GetRunInfo("default", "a")->next_event_id(), 4);
    model.Settle(faulty.store());
    ASSERT_THAT(model.Append(faulty.store(), "a", 2, 4000), IsOk());
    ASSERT_THAT(model.Append(faulty.store(), "b", 1), IsOk());
  }
}

// ---- after: acknowledged, then the next write fails, then a power cut ----

TEST(RocksDbStoreFaultTest, AcknowledgedAppendsSurviveAPowerCutAfterAFailure) {
  FaultyStore faulty;
  Model model;
  ASSERT_THAT(faulty.Open(), IsOk());
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(model.Append(faulty.store(), "a", 1), IsOk());
    ASSERT_THAT(model.Append(faulty.store(), "b", 2), IsOk());
  }
  // Every acknowledged append was synced: a power cut now drops nothing.
  EXPECT_EQ(faulty.fs().UnsyncedBytes(), 0);
  // The disk dies: every later WAL sync fails.
  faulty.fs().InjectFault(
      Fault(kFileSync, "*.log", FaultError::kIoError, 0, FaultSpec::kForever));
  EXPECT_THAT(model.Append(faulty.store(), "a", 1),
              HasErrorCode("STORAGE_FAILED"));
  EXPECT_GT(faulty.fs().UnsyncedBytes(), 0);
  faulty.Crash(/*power_cut=*/true);
  ASSERT_THAT(faulty.Open(), IsOk());
  model.Verify(faulty.store());
  EXPECT_EQ(faulty.store().GetRunInfo("default", "a")->next_event_id(), 6);
  EXPECT_EQ(faulty.store().GetRunInfo("default", "b")->next_event_id(), 11);
  model.Settle(faulty.store());
  ASSERT_THAT(model.Append(faulty.store(), "a", 1), IsOk());
}

// With StoreOptions::sync false an acknowledged append is not synced, so a
// power cut may drop it (the documented trade-off); it still never tears one.
TEST(RocksDbStoreFaultTest, RelaxedStoreMayLoseUnsyncedAppendsButNeverTears) {
  StoreOptions relaxed;
  relaxed.sync = false;
  FaultyStore faulty(relaxed);
  Model model;
  ASSERT_THAT(faulty.Open(), IsOk());
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(model.Append(faulty.store(), "a", 2), IsOk());
  }
  faulty.Crash(/*power_cut=*/true);
  ASSERT_THAT(faulty.Open(), IsOk());
  std::vector<HistoryEvent> events;
  auto it = faulty.store().ReadHistory("default", "a", 1);
  for (; it->Valid(); it->Next()) events.push_back(it->event());
  ASSERT_THAT(it->status(), IsOk());
  EXPECT_EQ(events.size() % 2, 0u) << "an append was torn";
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].event_id(), static_cast<int64_t>(i) + 1);
  }
}

// ---- random faults, many seeds --------------------------------------------

TEST(RocksDbStoreFaultTest, RandomWalFaultsNeverLoseAcknowledgedAppends) {
  constexpr int kSeeds = 60;
  int failures = 0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    std::mt19937_64 rng(seed);
    auto pick = [&](int n) {
      return std::uniform_int_distribution<int>(0, n - 1)(rng);
    };
    FaultyStore faulty;
    Model model;
    ASSERT_THAT(faulty.Open(), IsOk());
    if (pick(4) == 0) {
      faulty.fs().FailAfterBytes(pick(6000));
    } else {
      FaultSpec spec;
      spec.ops = pick(3) == 0   ? kFileAppend
                 : pick(2) == 0 ? kFileSync
                                : (kFileAppend | kFileSync);
      spec.file_glob = "*.log";
      spec.skip = pick(30);
      spec.count = pick(2) == 0 ? 1 : FaultSpec::kForever;
      spec.probability = pick(2) == 0 ? 1.0 : 0.25;
      spec.seed = rng();
      spec.error = pick(2) == 0 ? FaultError::kNoSpace : FaultError::kIoError;
      faulty.fs().InjectFault(spec);
    }
    bool failed = false;
    for (int i = 0; i < 40; ++i) {
      const std::string run = absl::StrCat("r", pick(4));
      absl::Status s =
          model.Append(faulty.store(), run, 1 + pick(3), 16 + pick(300));
      if (s.ok()) {
        ASSERT_FALSE(failed) << "an append succeeded after a failure";
        continue;
      }
      ASSERT_THAT(s, HasErrorCode("STORAGE_FAILED"));
      failed = true;
    }
    failures += failed;
    model.VerifyVisible(faulty.store());
    faulty.Crash(/*power_cut=*/pick(2) == 0);
    ASSERT_THAT(faulty.Open(), IsOk());
    model.Verify(faulty.store());
    // Recovered: appends work again.
    model.Settle(faulty.store());
    ASSERT_THAT(model.Append(faulty.store(), "r0", 1), IsOk());
    ASSERT_THAT(model.Append(faulty.store(), "r9", 1), IsOk());
  }
  // Most seeds hit a fault within the workload.
  EXPECT_GT(failures, kSeeds / 2);
}

// ---- the recovered store is a whole store ---------------------------------

// Opens a store, fails a write to it, reopens it and hands it over: the
// conformance suite then runs on a store that recovered from a fault.
std::unique_ptr<HistoryStore> RecoveredStore(const StoreOptions& options,
                                             const FaultSpec& fault,
                                             bool power_cut) {
  FaultyStore faulty(options);
  EXPECT_THAT(faulty.Open(), IsOk());
  faulty.fs().InjectFault(fault);
  AppendRequest probe;
  probe.ns = "default";
  probe.run_id = "probe";
  probe.events.push_back(RunStarted());
  EXPECT_THAT(faulty.store().Append(probe), HasErrorCode("STORAGE_FAILED"));
  faulty.Crash(power_cut);
  EXPECT_THAT(faulty.Open(), IsOk());
  // The probe never became durable, so the store is empty again.
  EXPECT_THAT(faulty.store().GetRunInfo("default", "probe"),
              HasErrorCode("RUN_NOT_FOUND"));
  return faulty.Release();
}

INSTANTIATE_TEST_SUITE_P(
    RocksDbAfterFault, HistoryStoreConformanceTest,
    ::testing::Values(StoreFactory{"after_wal_append_failure",
                                   [](const StoreOptions& options) {
                                     return RecoveredStore(
                                         options, Fault(kFileAppend, "*.log"),
                                         false);
                                   }},
                      StoreFactory{"after_wal_sync_failure_and_power_cut",
                                   [](const StoreOptions& options) {
                                     return RecoveredStore(
                                         options,
                                         Fault(kFileSync, "*.log",
                                               FaultError::kNoSpace),
                                         true);
                                   }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace retrace::history::testing
