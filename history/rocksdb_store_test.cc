#include "history/rocksdb_store.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
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

}  // namespace
}  // namespace retrace::history::testing
