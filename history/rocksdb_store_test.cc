#include "history/rocksdb_store.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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
            }},
        StoreFactory{"rocksdb_format1",
                     [](const StoreOptions& options) {
                       RocksDbOptions format1;
                       format1.format_version = 1;
                       return OpenRocksDbHistoryStore(NewTempDir(), options,
                                                      format1)
                           .value();
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

// Opens `dir` with raw RocksDB (every column family) and calls `body`.
void WithRawDb(const std::string& dir,
               const std::function<void(
                   rocksdb::DB*, std::vector<rocksdb::ColumnFamilyHandle*>&,
                   const std::vector<std::string>&)>& body) {
  rocksdb::Options options;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.emplace_back(name, options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, families, &handles, &db).ok());
  body(db, handles, names);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

// The number of keys in column family "history" of the store in `dir`.
int HistoryKeys(const std::string& dir) {
  int keys = 0;
  WithRawDb(dir, [&](rocksdb::DB* db,
                     std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                     const std::vector<std::string>& names) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] != "history") continue;
      std::unique_ptr<rocksdb::Iterator> it(
          db->NewIterator(rocksdb::ReadOptions(), handles[i]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) ++keys;
    }
  });
  return keys;
}

// Appends run "r"'s 6 events in appends of 2, 3 and 1 to the store in `dir`.
void AppendInThreeParts(const std::string& dir, const RocksDbOptions& options) {
  auto store = OpenRocksDbHistoryStore(dir, {}, options);
  ASSERT_THAT(store, IsOk());
  const std::vector<HistoryEvent> all = SimpleHistory(6);
  ASSERT_THAT((*store)->Append(Request("r", 1, {all[0], all[1]})), IsOk());
  ASSERT_THAT((*store)->Append(Request("r", 3, {all[2], all[3], all[4]})),
              IsOk());
  ASSERT_THAT((*store)->Append(Request("r", 6, {all[5]})), IsOk());
}

TEST(RocksDbHistoryStoreTest, FormatTwoKeepsTheEventsOfAnAppendUnderOneKey) {
  const std::string dir = NewTempDir();
  AppendInThreeParts(dir, {});
  EXPECT_EQ(HistoryKeys(dir), 3);
}

TEST(RocksDbHistoryStoreTest, AFormatOneStoreKeepsItsFormat) {
  const std::string dir = NewTempDir();
  RocksDbOptions format1;
  format1.format_version = 1;
  AppendInThreeParts(dir, format1);
  EXPECT_EQ(HistoryKeys(dir), 6);
  {
    // Reopened by default options (which create format 2), it is read and
    // appended to in format 1.
    auto store = OpenRocksDbHistoryStore(dir);
    ASSERT_THAT(store, IsOk());
    AppendRequest more = Request("r2", 1, SimpleHistory(2));
    ASSERT_THAT((*store)->Append(more), IsOk());
    std::vector<int64_t> ids;
    for (auto it = (*store)->ReadHistory("default", "r", 4); it->Valid();
         it->Next()) {
      ids.push_back(it->event().event_id());
    }
    EXPECT_EQ(ids, (std::vector<int64_t>{4, 5, 6}));
  }
  EXPECT_EQ(HistoryKeys(dir), 8);
}

TEST(RocksDbHistoryStoreTest, RefusesToCreateAnUnknownFormat) {
  RocksDbOptions options;
  options.format_version = 3;
  EXPECT_THAT(OpenRocksDbHistoryStore(NewTempDir(), {}, options),
              HasErrorCode("STORE_FORMAT_UNSUPPORTED"));
}

TEST(RocksDbHistoryStoreTest, RefusesOtherFormatVersion) {
  const std::string dir = NewTempDir();
  { ASSERT_THAT(OpenRocksDbHistoryStore(dir), IsOk()); }
  // Rewrite the format marker with raw RocksDB.
  WithRawDb(dir, [](rocksdb::DB* db, auto&, const auto&) {
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), "retrace.store.format", "99").ok());
  });
  EXPECT_THAT(OpenRocksDbHistoryStore(dir),
              HasErrorCode("STORE_FORMAT_UNSUPPORTED"));
}

}  // namespace
}  // namespace retrace::history::testing
