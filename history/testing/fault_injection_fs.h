// FaultInjectionFileSystem: a RocksDB FileSystem for tests that fails file
// creation, writes, syncs and renames on demand and simulates a power cut.
//
// It wraps a real file system (by default rocksdb::FileSystem::Default()) and
// passes every call through, except that:
//   - an operation hit by an armed fault does nothing and fails with
//     IOStatus::NoSpace() (ENOSPC) or IOStatus::IOError() (EIO);
//   - it tracks, for every file written through it, the bytes written and the
//     bytes synced (Sync, Fsync, RangeSync). DropUnsyncedData() truncates each
//     such file to its synced length: what a power cut leaves of data that
//     was never synced. Files that existed before (or were written by another
//     file system) count as synced.
//   - file and directory syncs are recorded but, unless
//     FaultInjectionOptions::forward_syncs, not passed on: a power cut is
//     what DropUnsyncedData() simulates, so tests need not pay for fsync.
//
// Faults are armed with InjectFault (a rule: which operations on which
// files, after how many, how many times, with what probability) or
// FailAfterBytes (a disk that fills up). The model of a power cut is file
// data only: directory entries (created, renamed, deleted files) survive it.
//
// Passed to the store through RocksDbOptions::file_system (rocksdb_store.h).
//
// Thread safety: every method is safe to call concurrently (RocksDB calls the
// file system from its background threads).
//
// Example: the third WAL sync from now fails with ENOSPC, then a power cut.
//   auto fs = std::make_shared<FaultInjectionFileSystem>();
//   RocksDbOptions rocks;
//   rocks.file_system = fs;
//   auto store = OpenRocksDbHistoryStore(dir, {}, rocks).value();
//   FaultSpec fault;
//   fault.ops = kFileSync;
//   fault.file_glob = "*.log";
//   fault.skip = 2;
//   fault.error = FaultError::kNoSpace;
//   fs->InjectFault(fault);
//   ... appends: the third fails with STORAGE_FAILED ...
//   store.reset();                          // close every file first
//   ASSERT_OK(fs->DropUnsyncedData());      // the power cut
//   fs->ClearFaults();
//   store = OpenRocksDbHistoryStore(dir, {}, rocks).value();
#ifndef RETRACE_HISTORY_TESTING_FAULT_INJECTION_FS_H_
#define RETRACE_HISTORY_TESTING_FAULT_INJECTION_FS_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/file_system.h"
#include "rocksdb/io_status.h"

namespace retrace::history::testing {

// The operations a fault can hit; a FaultSpec's `ops` is a bitwise OR.
enum FileOp : uint32_t {
  // NewWritableFile, ReopenWritableFile, ReuseWritableFile.
  kFileCreate = 1u << 0,
  // FSWritableFile::Append and PositionedAppend.
  kFileAppend = 1u << 1,
  // FSWritableFile::Sync, Fsync and RangeSync; FSDirectory::Fsync (matched
  // by the directory's base name).
  kFileSync = 1u << 2,
  // FileSystem::RenameFile.
  kFileRename = 1u << 3,
  kAllFileOps = kFileCreate | kFileAppend | kFileSync | kFileRename,
};

enum class FaultError {
  kNoSpace,  // IOStatus::NoSpace(): ENOSPC, a full disk
  kIoError,  // IOStatus::IOError(): EIO, a failing disk
};

// One fault rule. Of the operations it matches (an op in `ops` on a file
// whose base name matches `file_glob`), the first `skip` succeed; after that
// each fails with probability `probability` until `count` have failed.
struct FaultSpec {
  // Which operations (FileOp bits).
  // Default: kFileAppend | kFileSync
  uint32_t ops = kFileAppend | kFileSync;

  // fnmatch(3) pattern for the file's base name: "*.log" (the WALs),
  // "MANIFEST-*", "*.sst", "CURRENT". A rename matches on either name.
  // Default: "*" (every file)
  std::string file_glob = "*";

  // Matching operations that succeed before the fault becomes armed: 0
  // fails the next one, 2 the third from now.
  // Default: 0
  int64_t skip = 0;

  // How many operations fail once armed; kForever: every later one (a dead
  // disk).
  // Default: 1
  int64_t count = 1;
  static constexpr int64_t kForever = -1;

  // Each armed matching operation fails with this probability, drawn from a
  // generator seeded with `seed`, so a run is reproducible by seed.
  // Default: 1.0 (deterministic)
  double probability = 1.0;
  uint64_t seed = 0;

  // Default: kIoError
  FaultError error = FaultError::kIoError;
};

struct FaultInjectionOptions {
  // Pass Sync/Fsync/RangeSync on to the wrapped file system. Tests that
  // simulate power cuts with DropUnsyncedData() do not need real syncs.
  // Default: false
  bool forward_syncs = false;
};

class FaultInjectionFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectionFileSystem(std::shared_ptr<rocksdb::FileSystem> base =
                                        rocksdb::FileSystem::Default(),
                                    const FaultInjectionOptions& options = {});
  ~FaultInjectionFileSystem() override;

  static const char* kClassName() { return "FaultInjectionFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // Arms a fault rule, in addition to those already armed. An operation
  // fails when any armed rule fails it.
  void InjectFault(const FaultSpec& spec);

  // A disk that fills up: once `bytes` more bytes have been appended (to any
  // file), appends fail with NoSpace. The append that crosses the limit
  // writes the part that fits, then fails (a torn write).
  void FailAfterBytes(int64_t bytes);

  // Disarms every rule and the byte limit. Counters are kept.
  void ClearFaults();

  // The power cut: truncates every file written through this file system to
  // the length it had at its last successful sync, and returns how many
  // bytes were dropped. REQUIRES: no file written through it is still open
  // (close the DB first); fails with kFailedPrecondition otherwise.
  absl::StatusOr<int64_t> DropUnsyncedData();

  // Bytes DropUnsyncedData() would drop now.
  int64_t UnsyncedBytes() const;

  // How many operations of kind `op` (one FileOp bit) were attempted through
  // this file system, failed or not, on files matching `file_glob`.
  int64_t Count(FileOp op, absl::string_view file_glob = "*") const;

  // How many operations failed by an injected fault.
  int64_t FaultsInjected() const;

  // rocksdb::FileSystem.
  rocksdb::IOStatus NewWritableFile(
      const std::string& fname, const rocksdb::FileOptions& file_opts,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& fname, const rocksdb::FileOptions& file_opts,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& fname, const std::string& old_fname,
      const rocksdb::FileOptions& file_opts,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name,
                                 const rocksdb::IOOptions& io_opts,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src,
                               const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& target,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;

 private:
  class TrackedFile;
  friend class TrackedFile;
  class TrackedDirectory;
  friend class TrackedDirectory;

  struct Rule {
    FaultSpec spec;
    std::mt19937_64 random;
    int64_t seen = 0;
    int64_t failed = 0;
  };
  // What is known of a file written through this file system.
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    int open_handles = 0;
  };

  // Records an attempt of `op` on `fname` (and `other`, for renames) and
  // returns the injected error, or OK.
  rocksdb::IOStatus Check(FileOp op, const std::string& fname,
                          const std::string& other = "")
      ABSL_LOCKS_EXCLUDED(mu_);
  // As Check for an append of `n` bytes; also applies the byte limit, and
  // sets *allowed to how many bytes may be written (all of them when OK; the
  // part that fits, or 0, when it fails).
  rocksdb::IOStatus CheckAppend(const std::string& fname, size_t n,
                                size_t* allowed) ABSL_LOCKS_EXCLUDED(mu_);

  // Wraps a freshly opened file of `fname` whose size and synced length are
  // `size` and `synced`, unless it is already tracked.
  void Track(const std::string& fname, uint64_t size, uint64_t synced,
             bool keep_tracked_state,
             std::unique_ptr<rocksdb::FSWritableFile>* result)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Callbacks of TrackedFile.
  void Appended(const std::string& fname, uint64_t n) ABSL_LOCKS_EXCLUDED(mu_);
  void SyncedUpTo(const std::string& fname, uint64_t end)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Truncated(const std::string& fname, uint64_t size)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Closed(const std::string& fname) ABSL_LOCKS_EXCLUDED(mu_);

  const FaultInjectionOptions options_;
  mutable absl::Mutex mu_;
  std::vector<Rule> rules_ ABSL_GUARDED_BY(mu_);
  int64_t bytes_left_ ABSL_GUARDED_BY(mu_) = -1;  // -1: no limit
  absl::flat_hash_map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);
  // Attempts by (FileOp, base name).
  absl::flat_hash_map<std::pair<uint32_t, std::string>, int64_t> attempts_
      ABSL_GUARDED_BY(mu_);
  int64_t faults_injected_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace retrace::history::testing

#endif  // RETRACE_HISTORY_TESTING_FAULT_INJECTION_FS_H_
