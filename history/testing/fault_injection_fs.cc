#include "history/testing/fault_injection_fs.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace retrace::history::testing {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

constexpr uint64_t kEverything = std::numeric_limits<uint64_t>::max();

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool Matches(const std::string& glob, const std::string& base_name) {
  return fnmatch(glob.c_str(), base_name.c_str(), 0) == 0;
}

const char* OpName(FileOp op) {
  switch (op) {
    case kFileCreate:
      return "create";
    case kFileAppend:
      return "append";
    case kFileSync:
      return "sync";
    case kFileRename:
      return "rename";
    default:
      return "operation";
  }
}

IOStatus Injected(FaultError error, FileOp op, const std::string& fname) {
  const std::string what =
      absl::StrCat("injected fault: ", OpName(op), " ", BaseName(fname));
  return error == FaultError::kNoSpace ? IOStatus::NoSpace(what)
                                       : IOStatus::IOError(what);
}

}  // namespace

// A writable file that reports its appends, syncs and truncations to the
// file system and asks it before each append and sync.
class FaultInjectionFileSystem::TrackedFile
    : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedFile(FaultInjectionFileSystem* fs, std::string fname,
              std::unique_ptr<FSWritableFile> target)
      : FSWritableFileOwnerWrapper(std::move(target)),
        fs_(fs),
        fname_(std::move(fname)) {}

  ~TrackedFile() override {
    if (!closed_) fs_->Closed(fname_);
  }

  IOStatus Append(const Slice& data, const IOOptions& options,
                  IODebugContext* dbg) override {
    return DoAppend(data, [&](const Slice& part) {
      return target()->Append(part, options, dbg);
    });
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& verification_info,
                  IODebugContext* dbg) override {
    return DoAppend(data, [&](const Slice& part) {
      // A torn write's checksum would not match: write it unverified.
      return part.size() == data.size()
                 ? target()->Append(part, options, verification_info, dbg)
                 : target()->Append(part, options, dbg);
    });
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& options,
                            IODebugContext* dbg) override {
    return DoAppend(data, [&](const Slice& part) {
      return target()->PositionedAppend(part, offset, options, dbg);
    });
  }
  IOStatus PositionedAppend(
      const Slice& data, uint64_t offset, const IOOptions& options,
      const rocksdb::DataVerificationInfo& verification_info,
      IODebugContext* dbg) override {
    return DoAppend(data, [&](const Slice& part) {
      return part.size() == data.size()
                 ? target()->PositionedAppend(part, offset, options,
                                              verification_info, dbg)
                 : target()->PositionedAppend(part, offset, options, dbg);
    });
  }

  IOStatus Truncate(uint64_t size, const IOOptions& options,
                    IODebugContext* dbg) override {
    IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) fs_->Truncated(fname_, size);
    return s;
  }

  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = target()->Close(options, dbg);
    if (!closed_) {
      closed_ = true;
      fs_->Closed(fname_);
    }
    return s;
  }

  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    return DoSync(kEverything, [&] { return target()->Sync(options, dbg); });
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    return DoSync(kEverything, [&] { return target()->Fsync(options, dbg); });
  }
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options,
                     IODebugContext* dbg) override {
    return DoSync(offset + nbytes, [&] {
      return target()->RangeSync(offset, nbytes, options, dbg);
    });
  }

 private:
  template <typename Write>
  IOStatus DoAppend(const Slice& data, const Write& write) {
    size_t allowed = 0;
    IOStatus injected = fs_->CheckAppend(fname_, data.size(), &allowed);
    if (allowed > 0) {
      IOStatus s = write(Slice(data.data(), allowed));
      if (!s.ok()) return s;
      fs_->Appended(fname_, allowed);
    }
    return injected;
  }

  template <typename SyncFn>
  IOStatus DoSync(uint64_t end, const SyncFn& sync) {
    IOStatus s = fs_->Check(kFileSync, fname_);
    if (!s.ok()) return s;
    if (fs_->options_.forward_syncs) {
      s = sync();
      if (!s.ok()) return s;
    }
    fs_->SyncedUpTo(fname_, end);
    return IOStatus::OK();
  }

  FaultInjectionFileSystem* const fs_;
  const std::string fname_;
  bool closed_ = false;
};

// A directory whose syncs are checked for faults and, unless forward_syncs,
// not passed on (directory entries survive the simulated power cut anyway).
class FaultInjectionFileSystem::TrackedDirectory
    : public rocksdb::FSDirectoryWrapper {
 public:
  TrackedDirectory(FaultInjectionFileSystem* fs, std::string name,
                   std::unique_ptr<rocksdb::FSDirectory> target)
      : FSDirectoryWrapper(std::move(target)),
        fs_(fs),
        name_(std::move(name)) {}

  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = fs_->Check(kFileSync, name_);
    if (!s.ok() || !fs_->options_.forward_syncs) return s;
    return FSDirectoryWrapper::Fsync(options, dbg);
  }
  IOStatus FsyncWithDirOptions(
      const IOOptions& options, IODebugContext* dbg,
      const rocksdb::DirFsyncOptions& dir_fsync_options) override {
    IOStatus s = fs_->Check(kFileSync, name_);
    if (!s.ok() || !fs_->options_.forward_syncs) return s;
    return FSDirectoryWrapper::FsyncWithDirOptions(options, dbg,
                                                   dir_fsync_options);
  }

 private:
  FaultInjectionFileSystem* const fs_;
  const std::string name_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base,
    const FaultInjectionOptions& options)
    : FileSystemWrapper(base), options_(options) {}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

void FaultInjectionFileSystem::InjectFault(const FaultSpec& spec) {
  absl::MutexLock lock(&mu_);
  Rule rule;
  rule.spec = spec;
  rule.random.seed(spec.seed);
  rules_.push_back(std::move(rule));
}

void FaultInjectionFileSystem::FailAfterBytes(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  bytes_left_ = std::max<int64_t>(0, bytes);
}

void FaultInjectionFileSystem::ClearFaults() {
  absl::MutexLock lock(&mu_);
  rules_.clear();
  bytes_left_ = -1;
}

absl::StatusOr<int64_t> FaultInjectionFileSystem::DropUnsyncedData() {
  absl::MutexLock lock(&mu_);
  for (const auto& [fname, state] : files_) {
    if (state.open_handles > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("DropUnsyncedData: ", fname,
                       " is still open; close the database first"));
    }
  }
  int64_t dropped = 0;
  for (auto& [fname, state] : files_) {
    if (state.synced >= state.size) continue;
    std::error_code error;
    std::filesystem::resize_file(fname, state.synced, error);
    if (error && error != std::errc::no_such_file_or_directory) {
      return absl::InternalError(absl::StrCat("DropUnsyncedData: truncating ",
                                              fname, ": ", error.message()));
    }
    dropped += static_cast<int64_t>(state.size - state.synced);
    state.size = state.synced;
  }
  return dropped;
}

int64_t FaultInjectionFileSystem::UnsyncedBytes() const {
  absl::MutexLock lock(&mu_);
  int64_t total = 0;
  for (const auto& [fname, state] : files_) {
    if (state.size > state.synced) total += state.size - state.synced;
  }
  return total;
}

int64_t FaultInjectionFileSystem::Count(FileOp op,
                                        absl::string_view file_glob) const {
  const std::string glob(file_glob);
  absl::MutexLock lock(&mu_);
  int64_t total = 0;
  for (const auto& [key, n] : attempts_) {
    if (key.first == op && Matches(glob, key.second)) total += n;
  }
  return total;
}

int64_t FaultInjectionFileSystem::FaultsInjected() const {
  absl::MutexLock lock(&mu_);
  return faults_injected_;
}

IOStatus FaultInjectionFileSystem::Check(FileOp op, const std::string& fname,
                                         const std::string& other) {
  const std::string name = BaseName(fname);
  const std::string other_name = other.empty() ? "" : BaseName(other);
  absl::MutexLock lock(&mu_);
  ++attempts_[{op, name}];
  IOStatus result;
  // Every matching rule counts the operation, even when an earlier one has
  // already failed it, so that `skip` means the same with several rules.
  for (Rule& rule : rules_) {
    const FaultSpec& spec = rule.spec;
    if ((spec.ops & op) == 0) continue;
    if (!Matches(spec.file_glob, name) &&
        (other_name.empty() || !Matches(spec.file_glob, other_name))) {
      continue;
    }
    if (++rule.seen <= spec.skip) continue;
    if (spec.count != FaultSpec::kForever && rule.failed >= spec.count) {
      continue;
    }
    if (spec.probability < 1.0 && std::uniform_real_distribution<double>(
                                      0, 1)(rule.random) >= spec.probability) {
      continue;
    }
    ++rule.failed;
    if (result.ok()) result = Injected(spec.error, op, fname);
  }
  if (!result.ok()) ++faults_injected_;
  return result;
}

IOStatus FaultInjectionFileSystem::CheckAppend(const std::string& fname,
                                               size_t n, size_t* allowed) {
  *allowed = 0;
  IOStatus s = Check(kFileAppend, fname);
  if (!s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (bytes_left_ < 0 || static_cast<uint64_t>(bytes_left_) >= n) {
    if (bytes_left_ >= 0) bytes_left_ -= static_cast<int64_t>(n);
    *allowed = n;
    return IOStatus::OK();
  }
  *allowed = static_cast<size_t>(bytes_left_);
  bytes_left_ = 0;
  ++faults_injected_;
  return IOStatus::NoSpace(
      absl::StrCat("injected fault: disk full appending to ", BaseName(fname)));
}

void FaultInjectionFileSystem::Track(const std::string& fname, uint64_t size,
                                     uint64_t synced, bool keep_tracked_state,
                                     std::unique_ptr<FSWritableFile>* result) {
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = files_.try_emplace(fname);
    FileState& state = it->second;
    if (inserted || !keep_tracked_state) {
      state.size = size;
      state.synced = synced;
    }
    ++state.open_handles;
  }
  *result = std::make_unique<TrackedFile>(this, fname, std::move(*result));
}

void FaultInjectionFileSystem::Appended(const std::string& fname, uint64_t n) {
  absl::MutexLock lock(&mu_);
  files_[fname].size += n;
}

void FaultInjectionFileSystem::SyncedUpTo(const std::string& fname,
                                          uint64_t end) {
  absl::MutexLock lock(&mu_);
  FileState& state = files_[fname];
  state.synced = std::max(state.synced, std::min(state.size, end));
}

void FaultInjectionFileSystem::Truncated(const std::string& fname,
                                         uint64_t size) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(fname);
  if (it == files_.end()) return;  // untracked: its contents count as synced
  it->second.size = size;
  it->second.synced = std::min(it->second.synced, size);
}

void FaultInjectionFileSystem::Closed(const std::string& fname) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(fname);
  if (it != files_.end() && it->second.open_handles > 0) {
    --it->second.open_handles;
  }
}

IOStatus FaultInjectionFileSystem::NewWritableFile(
    const std::string& fname, const FileOptions& file_opts,
    std::unique_ptr<FSWritableFile>* result, IODebugContext* dbg) {
  IOStatus s = Check(kFileCreate, fname);
  if (!s.ok()) return s;
  s = target()->NewWritableFile(fname, file_opts, result, dbg);
  if (!s.ok()) return s;
  // A new (or truncated) file: nothing of it is synced yet.
  Track(fname, 0, 0, /*keep_tracked_state=*/false, result);
  return s;
}

IOStatus FaultInjectionFileSystem::ReopenWritableFile(
    const std::string& fname, const FileOptions& file_opts,
    std::unique_ptr<FSWritableFile>* result, IODebugContext* dbg) {
  IOStatus s = Check(kFileCreate, fname);
  if (!s.ok()) return s;
  uint64_t size = 0;
  if (!target()->GetFileSize(fname, file_opts.io_options, &size, dbg).ok()) {
    size = 0;  // a new file
  }
  s = target()->ReopenWritableFile(fname, file_opts, result, dbg);
  if (!s.ok()) return s;
  // Untracked existing contents count as synced.
  Track(fname, size, size, /*keep_tracked_state=*/true, result);
  return s;
}

IOStatus FaultInjectionFileSystem::ReuseWritableFile(
    const std::string& fname, const std::string& old_fname,
    const FileOptions& file_opts, std::unique_ptr<FSWritableFile>* result,
    IODebugContext* dbg) {
  IOStatus s = Check(kFileCreate, fname);
  if (!s.ok()) return s;
  s = target()->ReuseWritableFile(fname, old_fname, file_opts, result, dbg);
  if (!s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    files_.erase(old_fname);
  }
  Track(fname, 0, 0, /*keep_tracked_state=*/false, result);
  return s;
}

IOStatus FaultInjectionFileSystem::NewDirectory(
    const std::string& name, const IOOptions& io_opts,
    std::unique_ptr<rocksdb::FSDirectory>* result, IODebugContext* dbg) {
  IOStatus s = target()->NewDirectory(name, io_opts, result, dbg);
  if (!s.ok()) return s;
  std::string base_name = name;
  while (base_name.size() > 1 && base_name.back() == '/') base_name.pop_back();
  *result =
      std::make_unique<TrackedDirectory>(this, base_name, std::move(*result));
  return s;
}

IOStatus FaultInjectionFileSystem::RenameFile(const std::string& src,
                                              const std::string& target_name,
                                              const IOOptions& options,
                                              IODebugContext* dbg) {
  IOStatus s = Check(kFileRename, src, target_name);
  if (!s.ok()) return s;
  s = target()->RenameFile(src, target_name, options, dbg);
  if (!s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = files_.find(src);
  if (it == files_.end()) {
    files_.erase(target_name);  // replaced by an untracked (synced) file
  } else {
    FileState state = it->second;
    files_.erase(it);
    files_[target_name] = state;
  }
  return s;
}

IOStatus FaultInjectionFileSystem::LinkFile(const std::string& src,
                                            const std::string& target_name,
                                            const IOOptions& options,
                                            IODebugContext* dbg) {
  IOStatus s = target()->LinkFile(src, target_name, options, dbg);
  if (!s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = files_.find(src);
  if (it != files_.end()) {
    FileState state = it->second;
    state.open_handles = 0;
    files_[target_name] = state;
  }
  return s;
}

IOStatus FaultInjectionFileSystem::DeleteFile(const std::string& fname,
                                              const IOOptions& options,
                                              IODebugContext* dbg) {
  IOStatus s = target()->DeleteFile(fname, options, dbg);
  if (s.ok()) {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(fname);
    // A file deleted while open keeps its handle count until closed.
    if (it != files_.end() && it->second.open_handles == 0) files_.erase(it);
  }
  return s;
}

IOStatus FaultInjectionFileSystem::Truncate(const std::string& fname,
                                            size_t size,
                                            const IOOptions& options,
                                            IODebugContext* dbg) {
  IOStatus s = target()->Truncate(fname, size, options, dbg);
  if (s.ok()) Truncated(fname, size);
  return s;
}

}  // namespace retrace::history::testing
