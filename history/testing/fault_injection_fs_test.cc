#include "history/testing/fault_injection_fs.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::history::testing {
namespace {

using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::rocksdb::FileOptions;
using ::rocksdb::FSWritableFile;
using ::rocksdb::IOOptions;
using ::rocksdb::IOStatus;

std::string NewTempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir =
      absl::StrCat(base ? base : "/tmp", "/faultfs-", getpid(), "-", counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

class FaultInjectionFileSystemTest : public ::testing::Test {
 protected:
  std::unique_ptr<FSWritableFile> Create(const std::string& name) {
    std::unique_ptr<FSWritableFile> file;
    IOStatus s =
        fs_->NewWritableFile(Path(name), FileOptions(), &file, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return file;
  }
  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }
  std::string Contents(const std::string& name) const {
    return ReadFileToString(Path(name)).value();
  }

  const std::string dir_ = NewTempDir();
  std::shared_ptr<FaultInjectionFileSystem> fs_ =
      std::make_shared<FaultInjectionFileSystem>();
};

TEST_F(FaultInjectionFileSystemTest, PassesThroughWithoutFaults) {
  auto file = Create("a.log");
  ASSERT_TRUE(file->Append("hello", IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Contents("a.log"), "hello");
  EXPECT_EQ(fs_->Count(kFileAppend), 1);
  EXPECT_EQ(fs_->Count(kFileSync, "*.log"), 1);
  EXPECT_EQ(fs_->Count(kFileSync, "*.sst"), 0);
  EXPECT_EQ(fs_->FaultsInjected(), 0);
}

TEST_F(FaultInjectionFileSystemTest, FailsTheNthMatchingSyncOnce) {
  FaultSpec spec;
  spec.ops = kFileSync;
  spec.file_glob = "*.log";
  spec.skip = 1;
  spec.error = FaultError::kNoSpace;
  fs_->InjectFault(spec);
  auto other = Create("MANIFEST-000001");
  auto wal = Create("000003.log");
  EXPECT_TRUE(other->Sync(IOOptions(), nullptr).ok());  // does not match
  EXPECT_TRUE(wal->Sync(IOOptions(), nullptr).ok());    // skipped
  IOStatus failed = wal->Sync(IOOptions(), nullptr);
  EXPECT_TRUE(failed.IsNoSpace()) << failed.ToString();
  EXPECT_TRUE(wal->Fsync(IOOptions(), nullptr).ok());  // count 1 is spent
  EXPECT_EQ(fs_->FaultsInjected(), 1);
}

TEST_F(FaultInjectionFileSystemTest, DirectorySyncsCountAsSyncs) {
  std::unique_ptr<rocksdb::FSDirectory> dir;
  ASSERT_TRUE(fs_->NewDirectory(dir_, IOOptions(), &dir, nullptr).ok());
  EXPECT_TRUE(dir->Fsync(IOOptions(), nullptr).ok());
  FaultSpec spec;
  spec.ops = kFileSync;
  spec.file_glob = "faultfs-*";  // the directory's base name
  fs_->InjectFault(spec);
  EXPECT_TRUE(dir->Fsync(IOOptions(), nullptr).IsIOError());
  EXPECT_EQ(fs_->Count(kFileSync, "faultfs-*"), 2);
}

TEST_F(FaultInjectionFileSystemTest, ForeverFailsEveryLaterOperation) {
  FaultSpec spec;
  spec.ops = kFileAppend;
  spec.count = FaultSpec::kForever;
  fs_->InjectFault(spec);
  auto file = Create("x.sst");
  for (int i = 0; i < 5; ++i) {
    IOStatus s = file->Append("data", IOOptions(), nullptr);
    EXPECT_TRUE(s.IsIOError() && !s.IsNoSpace()) << s.ToString();
  }
  EXPECT_TRUE(file->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Contents("x.sst"), "");
  fs_->ClearFaults();
  auto again = Create("y.sst");
  EXPECT_TRUE(again->Append("data", IOOptions(), nullptr).ok());
}

TEST_F(FaultInjectionFileSystemTest, FailsCreationAndRename) {
  FaultSpec spec;
  spec.ops = kFileCreate | kFileRename;
  spec.file_glob = "CURRENT";
  spec.count = FaultSpec::kForever;
  fs_->InjectFault(spec);
  std::unique_ptr<FSWritableFile> file;
  EXPECT_TRUE(
      fs_->NewWritableFile(Path("CURRENT"), FileOptions(), &file, nullptr)
          .IsIOError());
  EXPECT_FALSE(std::filesystem::exists(Path("CURRENT")));
  auto tmp = Create("000001.dbtmp");
  ASSERT_TRUE(tmp->Close(IOOptions(), nullptr).ok());
  // A rename matches on either name.
  EXPECT_TRUE(fs_->RenameFile(Path("000001.dbtmp"), Path("CURRENT"),
                              IOOptions(), nullptr)
                  .IsIOError());
  EXPECT_TRUE(std::filesystem::exists(Path("000001.dbtmp")));
}

TEST_F(FaultInjectionFileSystemTest, RandomFaultsAreReproducibleBySeed) {
  auto pattern = [this](uint64_t seed) {
    auto fs = std::make_shared<FaultInjectionFileSystem>();
    FaultSpec spec;
    spec.ops = kFileAppend;
    spec.count = FaultSpec::kForever;
    spec.probability = 0.3;
    spec.seed = seed;
    fs->InjectFault(spec);
    std::unique_ptr<FSWritableFile> file;
    EXPECT_TRUE(fs->NewWritableFile(Path(absl::StrCat("r", seed)),
                                    FileOptions(), &file, nullptr)
                    .ok());
    std::string failures;
    for (int i = 0; i < 64; ++i) {
      failures += file->Append("x", IOOptions(), nullptr).ok() ? '.' : 'F';
    }
    return failures;
  };
  const std::string a = pattern(7);
  EXPECT_EQ(a, pattern(7));
  EXPECT_NE(a, pattern(8));
  EXPECT_THAT(a, ::testing::HasSubstr("F"));
  EXPECT_THAT(a, ::testing::HasSubstr("."));
}

TEST_F(FaultInjectionFileSystemTest, FullDiskTearsTheWriteThatCrossesIt) {
  auto file = Create("000005.log");
  fs_->FailAfterBytes(7);
  EXPECT_TRUE(file->Append("12345", IOOptions(), nullptr).ok());
  IOStatus s = file->Append("67890", IOOptions(), nullptr);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_TRUE(file->Append("x", IOOptions(), nullptr).IsNoSpace());
  ASSERT_TRUE(file->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Contents("000005.log"), "1234567");
  EXPECT_EQ(fs_->FaultsInjected(), 2);
}

TEST_F(FaultInjectionFileSystemTest, PowerCutDropsWhatWasNotSynced) {
  auto synced = Create("000007.log");
  ASSERT_TRUE(synced->Append("acked;", IOOptions(), nullptr).ok());
  ASSERT_TRUE(synced->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(synced->Append("lost", IOOptions(), nullptr).ok());
  ASSERT_TRUE(synced->Close(IOOptions(), nullptr).ok());
  auto never = Create("000008.log");
  ASSERT_TRUE(never->Append("never synced", IOOptions(), nullptr).ok());
  EXPECT_EQ(fs_->UnsyncedBytes(), 4 + 12);
  // Not while a file is open.
  EXPECT_THAT(fs_->DropUnsyncedData(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  never.reset();  // closed by its destructor
  absl::StatusOr<int64_t> dropped = fs_->DropUnsyncedData();
  ASSERT_THAT(dropped, IsOk());
  EXPECT_EQ(*dropped, 4 + 12);
  EXPECT_EQ(Contents("000007.log"), "acked;");
  EXPECT_EQ(Contents("000008.log"), "");
  EXPECT_EQ(fs_->UnsyncedBytes(), 0);
}

TEST_F(FaultInjectionFileSystemTest, PowerCutKeepsWhatAFailedSyncLeftUnsynced) {
  FaultSpec spec;
  spec.ops = kFileSync;
  spec.skip = 1;
  fs_->InjectFault(spec);
  auto file = Create("000009.log");
  ASSERT_TRUE(file->Append("one;", IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Append("two;", IOOptions(), nullptr).ok());
  ASSERT_FALSE(file->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Close(IOOptions(), nullptr).ok());
  ASSERT_THAT(fs_->DropUnsyncedData(), IsOk());
  EXPECT_EQ(Contents("000009.log"), "one;");
}

TEST_F(FaultInjectionFileSystemTest, RenameCarriesTheSyncedLength) {
  auto file = Create("000010.dbtmp");
  ASSERT_TRUE(file->Append("abc", IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Fsync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Append("d", IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Close(IOOptions(), nullptr).ok());
  ASSERT_TRUE(fs_->RenameFile(Path("000010.dbtmp"), Path("CURRENT"),
                              IOOptions(), nullptr)
                  .ok());
  ASSERT_THAT(fs_->DropUnsyncedData(), IsOk());
  EXPECT_EQ(Contents("CURRENT"), "abc");
}

TEST_F(FaultInjectionFileSystemTest, FilesWrittenElsewhereCountAsSynced) {
  {
    auto plain = rocksdb::FileSystem::Default();
    std::unique_ptr<FSWritableFile> file;
    ASSERT_TRUE(
        plain->NewWritableFile(Path("old.log"), FileOptions(), &file, nullptr)
            .ok());
    ASSERT_TRUE(file->Append("before", IOOptions(), nullptr).ok());
    ASSERT_TRUE(file->Close(IOOptions(), nullptr).ok());
  }
  std::unique_ptr<FSWritableFile> reopened;
  ASSERT_TRUE(fs_->ReopenWritableFile(Path("old.log"), FileOptions(), &reopened,
                                      nullptr)
                  .ok());
  ASSERT_TRUE(reopened->Append(";after", IOOptions(), nullptr).ok());
  ASSERT_TRUE(reopened->Close(IOOptions(), nullptr).ok());
  ASSERT_THAT(fs_->DropUnsyncedData(), IsOk());
  EXPECT_EQ(Contents("old.log"), "before");
}

}  // namespace
}  // namespace retrace::history::testing
