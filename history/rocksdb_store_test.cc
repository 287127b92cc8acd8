#include "history/rocksdb_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "history/history_store_conformance.h"
#include "history/test_events.h"
#include "rocksdb/db.h"

namespace retrace::history::testing {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;

std::string NewTempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir =
      absl::StrCat(base ? base : "/tmp", "/store-", getpid(), "-", counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

INSTANTIATE_TEST_SUITE_P(
    RocksDb, HistoryStoreConformanceTest,
    ::testing::Values(
        StoreFactory{
            "rocksdb_sync",
            [](const StoreOptions& options) {
              return OpenRocksDbHistoryStore(NewTempDir(), options).value();
            }},
        StoreFactory{
            "rocksdb_relaxed",
            [](const StoreOptions& options) {
              StoreOptions relaxed = options;
              relaxed.sync = false;
              return OpenRocksDbHistoryStore(NewTempDir(), relaxed).value();
            }}),
    [](const auto& info) { return info.param.name; });

AppendRequest Request(absl::string_view run, int64_t expected,
                      std::vector<HistoryEvent> events) {
  AppendRequest r;
  r.ns = "default";
  r.run_id = std::string(run);
  r.expected_next_event_id = expected;
  r.events = std::move(events);
  return r;
}

TEST(RocksDbHistoryStoreTest, SurvivesReopen) {
  const std::string dir = NewTempDir();
  {
    auto store = OpenRocksDbHistoryStore(dir);
    ASSERT_THAT(store, IsOk());
    AppendRequest r = Request("r", 1, SimpleHistory(5));
    r.writes.push_back(Mutation::Put(KeySpace::kOutbox, "o1", "row"));
    ASSERT_THAT((*store)->Append(r), IsOk());
  }
  auto store = OpenRocksDbHistoryStore(dir);
  ASSERT_THAT(store, IsOk());
  auto info = (*store)->GetRunInfo("default", "r");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->next_event_id(), 6);
  EXPECT_EQ(**(*store)->Get(KeySpace::kOutbox, "o1"), "row");
  int n = 0;
  for (auto it = (*store)->ReadHistory("default", "r", 1); it->Valid();
       it->Next()) {
    EXPECT_EQ(it->event().event_id(), ++n);
  }
  EXPECT_EQ(n, 5);
}

TEST(RocksDbHistoryStoreTest, SecondOpenOfSameDirectoryFails) {
  const std::string dir = NewTempDir();
  auto first = OpenRocksDbHistoryStore(dir);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(OpenRocksDbHistoryStore(dir), HasErrorCode("STORE_IO"));
}

TEST(RocksDbHistoryStoreTest, RefusesOtherFormatVersion) {
  const std::string dir = NewTempDir();
  { ASSERT_THAT(OpenRocksDbHistoryStore(dir), IsOk()); }
  {
    // Rewrite the format marker with raw RocksDB.
    rocksdb::Options options;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& name : names) families.emplace_back(name, options);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir, families, &handles, &db).ok());
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), "retrace.store.format", "99").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  EXPECT_THAT(OpenRocksDbHistoryStore(dir),
              HasErrorCode("STORE_FORMAT_UNSUPPORTED"));
}

// A child process appends to several runs as fast as it can and reports each
// acknowledged append on a pipe; the parent SIGKILLs it mid-stream, reopens
// the store and checks that every acknowledged event is there and every
// history is dense.
TEST(RocksDbHistoryStoreTest, RecoversEveryAcknowledgedAppendAfterSigkill) {
  for (bool sync : {true, false}) {
    const std::string dir = NewTempDir();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      StoreOptions options;
      options.sync = sync;
      auto store = OpenRocksDbHistoryStore(dir, options);
      if (!store.ok()) _exit(3);
      constexpr int kRuns = 4;
      int64_t next[kRuns] = {1, 1, 1, 1};
      for (int64_t i = 0;; ++i) {
        const int run = static_cast<int>(i % kRuns);
        const int64_t id = next[run];
        HistoryEvent e = id == 1
                             ? RunStarted(1, TestTime())
                             : StepCompleted(id, TestTime(id), "s",
                                             absl::StrCat("{\"i\":", id, "}"));
        auto info =
            (*store)->Append(Request(absl::StrCat("crash-", run), id, {e}));
        if (!info.ok()) _exit(4);
        next[run] = id + 1;
        std::string line = absl::StrCat(run, " ", id, "\n");
        if (write(fds[1], line.data(), line.size()) !=
            static_cast<ssize_t>(line.size())) {
          _exit(5);
        }
      }
    }
    close(fds[1]);
    // Read acknowledgements until enough have arrived, then kill.
    std::map<int, int64_t> acked;
    std::string buffer;
    int lines = 0;
    char chunk[4096];
    while (lines < 400) {
      ssize_t n = read(fds[0], chunk, sizeof(chunk));
      ASSERT_GT(n, 0) << "child stopped early";
      buffer.append(chunk, n);
      size_t pos;
      while ((pos = buffer.find('\n')) != std::string::npos) {
        std::vector<std::string> parts =
            absl::StrSplit(buffer.substr(0, pos), ' ');
        int run;
        int64_t id;
        ASSERT_TRUE(absl::SimpleAtoi(parts[0], &run));
        ASSERT_TRUE(absl::SimpleAtoi(parts[1], &id));
        acked[run] = std::max(acked[run], id);
        buffer.erase(0, pos + 1);
        ++lines;
      }
    }
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(child, &wstatus, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wstatus));
    // Acknowledgements still in the pipe were acknowledged too.
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
      buffer.append(chunk, n);
    for (absl::string_view line :
         absl::StrSplit(buffer, '\n', absl::SkipEmpty())) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() != 2) continue;  // a torn last line
      int run;
      int64_t id;
      if (absl::SimpleAtoi(parts[0], &run) && absl::SimpleAtoi(parts[1], &id)) {
        acked[run] = std::max(acked[run], id);
      }
    }
    close(fds[0]);

    auto store = OpenRocksDbHistoryStore(dir);
    ASSERT_THAT(store, IsOk());
    for (const auto& [run, last_acked] : acked) {
      const std::string run_id = absl::StrCat("crash-", run);
      auto info = (*store)->GetRunInfo("default", run_id);
      ASSERT_THAT(info, IsOk());
      EXPECT_GE(info->next_event_id(), last_acked + 1) << run_id;
      int64_t expected = 1;
      auto it = (*store)->ReadHistory("default", run_id, 1);
      for (; it->Valid(); it->Next()) {
        ASSERT_EQ(it->event().event_id(), expected++) << run_id;
      }
      ASSERT_THAT(it->status(), IsOk());
      EXPECT_EQ(expected, info->next_event_id()) << run_id;
      EXPECT_GE(expected - 1, last_acked)
          << run_id << " lost acknowledged events";
    }
  }
}

}  // namespace
}  // namespace retrace::history::testing
