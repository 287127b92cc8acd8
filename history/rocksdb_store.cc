#include "history/rocksdb_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "history/internal/keys.h"
#include "history/validation.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace retrace::history {
namespace {

using internal::HistoryKey;
using internal::HistoryPrefix;
using internal::PrefixEnd;
using internal::RunKey;

using google::protobuf::internal::WireFormatLite;

constexpr char kFormatKey[] = "retrace.store.format";
// Append locks, by hash of the run. A batch holds its runs' stripes through
// its commit: many stripes keep two concurrent batches from sharing one.
constexpr int kLockStripes = 16384;

absl::Status IoError(const rocksdb::Status& s, absl::string_view what) {
  absl::StatusCode code = s.IsCorruption() ? absl::StatusCode::kDataLoss
                          : s.IsIOError()  ? absl::StatusCode::kUnavailable
                                           : absl::StatusCode::kInternal;
  return Error(code, "STORE_IO", absl::StrCat(what, ": ", s.ToString()));
}

// Keeps RocksDB in read-only mode after a background error (a failed WAL
// write or sync, flush or compaction) instead of letting it resume writes by
// itself (it does for ENOSPC): the store stays read-only until reopened, so
// RocksDB and the store agree on when writing stops and restarts.
class NoAutoRecovery : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "retrace.NoAutoRecovery"; }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/,
                            rocksdb::Status /*bg_error*/,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

// Reads a run's events from its history keys: one event per key in format
// 1, the events of one append per key (StoredEvents) in format 2.
class RocksEventIterator : public EventIterator {
 public:
  // Reads the events with ids >= `from_event_id` of the history keys that
  // start with `prefix`.
  static std::unique_ptr<EventIterator> Create(rocksdb::DB* db,
                                               rocksdb::ColumnFamilyHandle* cf,
                                               std::string prefix,
                                               int64_t from_event_id,
                                               int format) {
    auto result = std::unique_ptr<RocksEventIterator>(new RocksEventIterator());
    result->format_ = format;
    result->from_event_id_ = from_event_id;
    result->lower_bound_ = prefix;
    result->upper_bound_ = PrefixEnd(prefix);
    result->lower_slice_ = rocksdb::Slice(result->lower_bound_);
    result->upper_slice_ = rocksdb::Slice(result->upper_bound_);
    rocksdb::ReadOptions read_options;
    read_options.iterate_lower_bound = &result->lower_slice_;
    read_options.iterate_upper_bound = &result->upper_slice_;
    // No fixed readahead: most reads are a short history loaded for a
    // transition, where a 2 MiB prefetch per iterator cost more than the
    // read (a fifth of a cold signal delivery). RocksDB's automatic
    // readahead (8 KiB doubling to 256 KiB after sequential block reads)
    // still serves long replays.
    result->it_.reset(db->NewIterator(read_options, cf));
    std::string start = std::move(prefix);
    internal::AppendBigEndian64(
        &start, static_cast<uint64_t>(std::max<int64_t>(from_event_id, 0)));
    if (format == 1) {
      result->it_->Seek(start);
    } else {
      // The append holding event `from_event_id` has a key at or before it.
      result->it_->SeekForPrev(start);
      if (!result->it_->Valid() && result->it_->status().ok()) {
        result->it_->Seek(start);
      }
    }
    result->Settle();
    return result;
  }

  bool Valid() const override { return valid_; }
  const HistoryEvent& event() const override { return batch_.events(index_); }
  void Next() override {
    if (++index_ < batch_.events_size()) return;
    it_->Next();
    Settle();
  }
  absl::Status status() const override { return status_; }

 private:
  RocksEventIterator() = default;

  // Loads the key the RocksDB iterator is at, and the keys after it until
  // one holds an event at or after from_event_id_.
  void Settle() {
    valid_ = false;
    for (; it_->Valid(); it_->Next()) {
      if (!ParseValue(it_->value())) {
        status_ = Error(absl::StatusCode::kDataLoss, "STORE_CORRUPT",
                        "a stored history event does not parse");
        return;
      }
      for (index_ = 0; index_ < batch_.events_size(); ++index_) {
        if (batch_.events(index_).event_id() >= from_event_id_) {
          valid_ = true;
          return;
        }
      }
    }
    if (!it_->status().ok()) {
      status_ = IoError(it_->status(), "reading history");
    }
  }

  // Parses a history value into batch_: one event (format 1) or a
  // non-empty StoredEvents (format 2).
  bool ParseValue(const rocksdb::Slice& v) {
    const int size = static_cast<int>(v.size());
    if (format_ == 1) {
      batch_.Clear();
      return batch_.add_events()->ParseFromArray(v.data(), size);
    }
    return batch_.ParseFromArray(v.data(), size) && batch_.events_size() > 0;
  }

  int format_ = 2;
  int64_t from_event_id_ = 0;
  // The iterator's ReadOptions point at the bounds, which must outlive it.
  std::string lower_bound_, upper_bound_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  StoredEvents batch_;  // the events of the key the iterator is at
  int index_ = 0;
  bool valid_ = false;
  absl::Status status_;
};

class RocksKeyIterator : public KeyIterator {
 public:
  static std::unique_ptr<KeyIterator> Create(rocksdb::DB* db,
                                             rocksdb::ColumnFamilyHandle* cf,
                                             absl::string_view start,
                                             absl::string_view end) {
    auto result = std::unique_ptr<RocksKeyIterator>(new RocksKeyIterator());
    result->upper_bound_ = std::string(end);
    result->bound_slice_ = rocksdb::Slice(result->upper_bound_);
    rocksdb::ReadOptions read_options;
    if (!end.empty()) read_options.iterate_upper_bound = &result->bound_slice_;
    result->it_.reset(db->NewIterator(read_options, cf));
    result->it_->Seek(rocksdb::Slice(start.data(), start.size()));
    return result;
  }
  bool Valid() const override { return it_->Valid(); }
  absl::string_view key() const override {
    rocksdb::Slice k = it_->key();
    return absl::string_view(k.data(), k.size());
  }
  absl::string_view value() const override {
    rocksdb::Slice v = it_->value();
    return absl::string_view(v.data(), v.size());
  }
  void Next() override { it_->Next(); }
  absl::Status status() const override {
    return it_->status().ok() ? absl::OkStatus()
                              : IoError(it_->status(), "scanning");
  }

 private:
  std::string upper_bound_;
  rocksdb::Slice bound_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// "appending events 5..7 to run default/r1", for error messages.
std::string Describe(const AppendRequest& r) {
  if (r.events.empty())
    return absl::StrCat("appending to run ", r.ns, "/", r.run_id);
  return absl::StrCat("appending events ", r.events.front().event_id(), "..",
                      r.events.back().event_id(), " to run ", r.ns, "/",
                      r.run_id);
}

// Serializes `events` as a StoredEvents without copying them into one.
std::string EncodeStoredEvents(const std::vector<HistoryEvent>& events) {
  std::string value;
  {
    google::protobuf::io::StringOutputStream stream(&value);
    google::protobuf::io::CodedOutputStream out(&stream);
    for (const HistoryEvent& event : events) {
      out.WriteTag(
          WireFormatLite::MakeTag(StoredEvents::kEventsFieldNumber,
                                  WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
      out.WriteVarint64(event.ByteSizeLong());
      event.SerializeWithCachedSizes(&out);
    }
  }
  return value;
}

// Preallocates write-ahead logs with their size set (no
// FALLOC_FL_KEEP_SIZE), so a synced append overwrites allocated space and
// `fdatasync` need not also write the inode's new size. On the project
// machine's ext4 a 512-byte `dd oflag=dsync` takes 175 µs growing a file and
// 133 µs inside an fallocated one; `retrace bench --concurrency 1` p50 went
// from ~1.05 to ~0.88 ms. A crash leaves zeros after the last record, which
// WAL recovery skips (zero-type records are what preallocating writers
// leave); a log is trimmed to its size when closed.
class SizedWalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit SizedWalFileSystem(std::shared_ptr<rocksdb::FileSystem> target)
      : FileSystemWrapper(std::move(target)) {}
  static const char* kClassName() { return "RetraceSizedWalFileSystem"; }
  const char* Name() const override { return kClassName(); }
  rocksdb::FileOptions OptimizeForLogWrite(
      const rocksdb::FileOptions& options,
      const rocksdb::DBOptions& db_options) const override {
    rocksdb::FileOptions o =
        FileSystemWrapper::OptimizeForLogWrite(options, db_options);
    o.fallocate_with_keep_size = false;
    return o;
  }
};

// Memtable insert hints (ColumnFamilyOptions::
// memtable_insert_with_hint_prefix_extractor): the memtable keeps, per
// prefix, where the last key with that prefix went, and starts the next
// insert there instead of at the top of the skip list. Each column family's
// prefix follows how its keys arrive:
//   - "runs", "run_state": a run's row is rewritten by every transition: the
//     prefix is the whole key.
//   - "history": a run's keys ascend: the prefix is the run (the key without
//     its 8-byte event id).
//   - "outbox", "timers": keys ascend (a sequence, a fire time) across runs:
//     one prefix for all.
// A hint costs ~250 bytes per prefix until the memtable is flushed.
class HintPrefix : public rocksdb::SliceTransform {
 public:
  enum Kind { kWholeKey, kDropEventId, kConstant };
  explicit HintPrefix(Kind kind) : kind_(kind) {}
  const char* Name() const override { return "retrace.HintPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    switch (kind_) {
      case kWholeKey:
        return key;
      case kDropEventId:
        return rocksdb::Slice(key.data(), key.size() - 8);
      case kConstant:
        break;
    }
    return rocksdb::Slice(key.data(), 0);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return kind_ != kDropEventId || key.size() > 8;
  }

 private:
  const Kind kind_;
};

class RocksDbHistoryStore : public HistoryStore {
 public:
  // Takes ownership of `db` and its `handles`; `file_system` and `env` (both
  // may be null) must outlive `db`, so the store holds them too.
  RocksDbHistoryStore(const StoreOptions& options,
                      std::shared_ptr<rocksdb::FileSystem> file_system,
                      std::unique_ptr<rocksdb::Env> env, rocksdb::DB* db,
                      std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : options_(options),
        file_system_(std::move(file_system)),
        env_(std::move(env)),
        db_(db),
        handles_(std::move(handles)) {
    write_options_.sync = options.sync;
  }

  void set_format(int format) { format_ = format; }

  ~RocksDbHistoryStore() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
    delete db_;
  }

  absl::StatusOr<RunInfo> Append(const AppendRequest& request) override {
    const AppendRequest* one = &request;
    ASSIGN_OR_RETURN(std::vector<RunInfo> infos, AppendAll({&one, 1}, {}));
    return std::move(infos.front());
  }

  absl::StatusOr<std::vector<RunInfo>> AppendBatch(
      const std::vector<AppendRequest>& requests,
      const std::vector<Mutation>& writes) override {
    RETURN_IF_ERROR(CheckDistinctRuns(requests));
    std::vector<const AppendRequest*> all;
    for (const AppendRequest& r : requests) all.push_back(&r);
    return AppendAll(all, writes);
  }

  absl::Status Write(const std::vector<Mutation>& writes) override {
    RETURN_IF_ERROR(RefuseIfFailed("writing"));
    rocksdb::WriteBatch batch;
    AddWrites(writes, &batch);
    return Commit(&batch, absl::StrCat("writing ", writes.size(), " rows"));
  }

  absl::StatusOr<RunInfo> GetRunInfo(absl::string_view ns,
                                     absl::string_view run_id) override {
    const std::string run_key = RunKey(ns, run_id);
    std::optional<RunInfo> info;
    ASSIGN_OR_RETURN(
        bool exists,
        ReadRunInfo(absl::Hash<std::string>()(run_key) % kLockStripes, run_key,
                    ns, run_id, &info));
    if (!exists) {
      return Error(absl::StatusCode::kNotFound, "RUN_NOT_FOUND",
                   absl::StrCat("run ", ns, "/", run_id, " does not exist"));
    }
    return *std::move(info);
  }

  std::unique_ptr<EventIterator> ReadHistory(absl::string_view ns,
                                             absl::string_view run_id,
                                             int64_t from_event_id) override {
    return RocksEventIterator::Create(
        db_, history_cf(), HistoryPrefix(ns, run_id), from_event_id, format_);
  }

  absl::StatusOr<RunPage> ListRuns(absl::string_view ns,
                                   absl::string_view cursor,
                                   int limit) override {
    RETURN_IF_ERROR(ValidateIdentifier("namespace", ns));
    const std::string prefix = absl::StrCat(ns, absl::string_view("\0", 1));
    auto it = RocksKeyIterator::Create(db_, runs_cf(), RunKey(ns, cursor),
                                       PrefixEnd(prefix));
    RunPage page;
    for (; it->Valid(); it->Next()) {
      absl::string_view run_id = it->key().substr(prefix.size());
      if (!cursor.empty() && run_id == cursor) continue;
      if (static_cast<int>(page.runs.size()) == limit) {
        page.next_cursor = page.runs.back().run_id();
        break;
      }
      RunInfo info;
      if (!info.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
        return Error(absl::StatusCode::kDataLoss, "STORE_CORRUPT",
                     absl::StrCat("run ", ns, "/", run_id,
                                  ": stored run info does not parse"));
      }
      page.runs.push_back(std::move(info));
    }
    RETURN_IF_ERROR(it->status());
    return page;
  }

  absl::StatusOr<RunPage> ListAllRuns(absl::string_view cursor,
                                      int limit) override {
    auto it = RocksKeyIterator::Create(db_, runs_cf(), cursor, "");
    RunPage page;
    for (; it->Valid(); it->Next()) {
      if (!cursor.empty() && it->key() == cursor) continue;
      if (static_cast<int>(page.runs.size()) == limit) {
        page.next_cursor =
            RunKey(page.runs.back().namespace_(), page.runs.back().run_id());
        break;
      }
      RunInfo info;
      if (!info.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
        return Error(absl::StatusCode::kDataLoss, "STORE_CORRUPT",
                     "a stored run info does not parse");
      }
      page.runs.push_back(std::move(info));
    }
    RETURN_IF_ERROR(it->status());
    return page;
  }

  absl::StatusOr<std::optional<std::string>> Get(
      KeySpace space, absl::string_view key) override {
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), space_cf(space),
                 rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return IoError(s, "reading");
    return value;
  }

  std::unique_ptr<KeyIterator> Scan(KeySpace space, absl::string_view start,
                                    absl::string_view end) override {
    return RocksKeyIterator::Create(db_, space_cf(space), start, end);
  }

 private:
  // handles_: [0] default, [1] history, [2] runs, [3 + KeySpace] the spaces.
  rocksdb::ColumnFamilyHandle* history_cf() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* runs_cf() const { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* space_cf(KeySpace space) const {
    return handles_[3 + static_cast<int>(space)];
  }

  // Appends to distinct runs and writes `writes` in one batch, under the
  // runs' stripes (taken in order, each once: no deadlock between batches).
  absl::StatusOr<std::vector<RunInfo>> AppendAll(
      absl::Span<const AppendRequest* const> requests,
      const std::vector<Mutation>& writes) {
    const std::string what =
        requests.size() == 1
            ? Describe(*requests[0])
            : absl::StrCat("appending to ", requests.size(), " runs");
    RETURN_IF_ERROR(RefuseIfFailed(what));
    std::vector<std::string> run_keys;
    std::vector<size_t> stripes;
    for (const AppendRequest* r : requests) {
      run_keys.push_back(RunKey(r->ns, r->run_id));
      stripes.push_back(absl::Hash<std::string>()(run_keys.back()) %
                        kLockStripes);
    }
    std::vector<size_t> order = stripes;
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());
    for (size_t stripe : order) stripes_[stripe].Lock();
    absl::Cleanup unlock = [&] {
      for (auto it = order.rbegin(); it != order.rend(); ++it) {
        stripes_[*it].Unlock();
      }
    };
    rocksdb::WriteBatch batch;
    std::vector<RunInfo> infos;
    for (size_t i = 0; i < requests.size(); ++i) {
      ASSIGN_OR_RETURN(RunInfo info, PrepareAppend(*requests[i], stripes[i],
                                                   run_keys[i], &batch));
      AddWrites(requests[i]->writes, &batch);
      infos.push_back(std::move(info));
    }
    AddWrites(writes, &batch);
    absl::Status committed = Commit(&batch, what);
    for (size_t i = 0; i < requests.size(); ++i) {
      if (committed.ok()) {
        RememberRunInfo(stripes[i], run_keys[i], infos[i]);
      } else {
        ForgetRunInfo(stripes[i], run_keys[i]);
      }
    }
    RETURN_IF_ERROR(committed);
    return infos;
  }

  // Checks `request` against the run's stored info (the caller holds the
  // run's stripe) and adds its events and new run info to `batch`.
  absl::StatusOr<RunInfo> PrepareAppend(const AppendRequest& request,
                                        size_t stripe,
                                        const std::string& run_key,
                                        rocksdb::WriteBatch* batch) {
    std::optional<RunInfo> stored;
    ASSIGN_OR_RETURN(bool exists, ReadRunInfo(stripe, run_key, request.ns,
                                              request.run_id, &stored));
    ASSIGN_OR_RETURN(RunInfo info, ValidateAppend(exists ? &*stored : nullptr,
                                                  request, options_));
    if (format_ == 1) {
      std::string buffer;
      for (const HistoryEvent& event : request.events) {
        buffer.clear();
        event.SerializeToString(&buffer);
        batch->Put(history_cf(),
                   HistoryKey(request.ns, request.run_id, event.event_id()),
                   buffer);
      }
    } else {
      batch->Put(history_cf(),
                 HistoryKey(request.ns, request.run_id,
                            request.events.front().event_id()),
                 EncodeStoredEvents(request.events));
    }
    batch->Put(runs_cf(), run_key, info.SerializeAsString());
    return info;
  }

  // The run infos of recently appended runs, per lock stripe: every append
  // goes through this object (RocksDB's LOCK file keeps other processes
  // out) and updates its entry after the write, so an entry is always the
  // stored value and an append or lookup skips a read. Bounded; an evicted
  // run is read from RocksDB again.
  struct InfoCache {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, RunInfo> infos ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kInfosPerStripe = 4;

  // Reads `run_key`'s info into `info` (cache first). Returns whether the
  // run exists.
  absl::StatusOr<bool> ReadRunInfo(size_t stripe, const std::string& run_key,
                                   absl::string_view ns,
                                   absl::string_view run_id,
                                   std::optional<RunInfo>* info) {
    {
      InfoCache& cache = info_cache_[stripe];
      absl::MutexLock lock(&cache.mu);
      auto it = cache.infos.find(run_key);
      if (it != cache.infos.end()) {
        *info = it->second;
        return true;
      }
    }
    std::string bytes;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), runs_cf(), run_key, &bytes);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return IoError(s, "reading run info");
    info->emplace();
    if (!(*info)->ParseFromString(bytes)) {
      return Error(absl::StatusCode::kDataLoss, "STORE_CORRUPT",
                   absl::StrCat("run ", ns, "/", run_id,
                                ": stored run info does not parse"));
    }
    return true;
  }

  void RememberRunInfo(size_t stripe, const std::string& run_key,
                       const RunInfo& info) {
    InfoCache& cache = info_cache_[stripe];
    absl::MutexLock lock(&cache.mu);
    if (cache.infos.size() >= kInfosPerStripe &&
        !cache.infos.contains(run_key)) {
      cache.infos.erase(cache.infos.begin());
    }
    cache.infos[run_key] = info;
  }

  void ForgetRunInfo(size_t stripe, const std::string& run_key) {
    InfoCache& cache = info_cache_[stripe];
    absl::MutexLock lock(&cache.mu);
    cache.infos.erase(run_key);
  }

  // The one place where batches are written. The first failure makes the
  // store read-only: RocksDB may have written the batch to the WAL without
  // applying it (a failed sync) or applied nothing, and in either case stops
  // accepting writes (its background error); only a reopen, replaying the
  // WAL, tells what is durable.
  absl::Status Commit(rocksdb::WriteBatch* batch, absl::string_view what) {
    rocksdb::Status s = db_->Write(write_options_, batch);
    if (s.ok()) return absl::OkStatus();
    absl::Status error =
        Error(absl::StatusCode::kUnavailable, "STORAGE_FAILED",
              absl::StrCat(what, " failed: ", s.ToString(),
                           "; the store refuses writes until it is reopened"));
    absl::MutexLock lock(&failure_mu_);
    if (first_failure_.empty()) {
      first_failure_ = absl::StrCat(what, ": ", s.ToString());
      failed_.store(true, std::memory_order_release);
    }
    return error;
  }

  // STORAGE_FAILED when an earlier write failed, else OK.
  absl::Status RefuseIfFailed(absl::string_view what) {
    if (!failed_.load(std::memory_order_acquire)) return absl::OkStatus();
    absl::MutexLock lock(&failure_mu_);
    return Error(
        absl::StatusCode::kUnavailable, "STORAGE_FAILED",
        absl::StrCat(what, " refused: the store is read-only since ",
                     first_failure_, "; fix the disk and reopen the store"));
  }

  void AddWrites(const std::vector<Mutation>& writes,
                 rocksdb::WriteBatch* batch) const {
    for (const Mutation& m : writes) {
      if (m.value.has_value()) {
        batch->Put(space_cf(m.space), m.key, *m.value);
      } else {
        batch->Delete(space_cf(m.space), m.key);
      }
    }
  }

  const StoreOptions options_;
  int format_ = 2;  // set once, by OpenRocksDbHistoryStore
  rocksdb::WriteOptions write_options_;
  const std::shared_ptr<rocksdb::FileSystem> file_system_;
  const std::unique_ptr<rocksdb::Env> env_;  // destroyed after db_
  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::array<absl::Mutex, kLockStripes> stripes_;
  std::array<InfoCache, kLockStripes> info_cache_;

  // Set, once, by the first failed write.
  std::atomic<bool> failed_{false};
  absl::Mutex failure_mu_;
  std::string first_failure_ ABSL_GUARDED_BY(failure_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<HistoryStore>> OpenRocksDbHistoryStore(
    const std::string& path, const StoreOptions& options,
    const RocksDbOptions& rocksdb_options) {
  rocksdb::Options db_options;
  std::shared_ptr<rocksdb::FileSystem> file_system =
      std::make_shared<SizedWalFileSystem>(
          rocksdb_options.file_system != nullptr
              ? rocksdb_options.file_system
              : rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  db_options.env = env.get();
  db_options.listeners.push_back(std::make_shared<NoAutoRecovery>());
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
#ifdef __SANITIZE_THREAD__
  // Opening a store starts max_file_opening_threads (default 16) threads per
  // column family, files or not: 192 for our 12 families. Thread start and
  // exit are slow under ThreadSanitizer, and the CLI tests open a store per
  // command, which made them about twice as slow as they need be.
  db_options.max_file_opening_threads = 1;
#endif
  // Transitions are small batches from many threads on few cores: the
  // group-commit leader inserts the whole group into the memtables itself
  // and followers block instead of spinning. Measured with `retrace bench`:
  // a fifth fewer context switches per run than parallel memtable writes.
  db_options.allow_concurrent_memtable_write = false;
  db_options.enable_write_thread_adaptive_yield = false;
  // The next group writes and syncs the WAL while this one fills the
  // memtables. `retrace bench` (64 in flight, synced), 30 interleaved pairs:
  // +1.8% runs/s on average, faster in 24 of 30 (docs/benchmarks.md).
  db_options.enable_pipelined_write = true;
  // Small rows, written in order per run: a larger memtable and bloom filters
  // for point lookups of run info.
  // Memtables of all column families share one budget, so a store with a
  // dozen key spaces stays small in RAM.
  db_options.write_buffer_size = 32 << 20;
  db_options.db_write_buffer_size = 128 << 20;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options(db_options);
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  auto hinted = [&cf_options](HintPrefix::Kind kind) {
    rocksdb::ColumnFamilyOptions o = cf_options;
    o.memtable_insert_with_hint_prefix_extractor =
        std::make_shared<HintPrefix>(kind);
    return o;
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  families.emplace_back("history", hinted(HintPrefix::kDropEventId));
  families.emplace_back("runs", hinted(HintPrefix::kWholeKey));
  for (int i = 0; i < kNumKeySpaces; ++i) {
    const KeySpace space = static_cast<KeySpace>(i);
    families.emplace_back(
        std::string(KeySpaceName(space)),
        space == KeySpace::kRunState ? hinted(HintPrefix::kWholeKey)
        : space == KeySpace::kOutbox || space == KeySpace::kTimers
            ? hinted(HintPrefix::kConstant)
            : cf_options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, path, families, &handles, &db);
  if (!s.ok()) {
    return Error(absl::StatusCode::kUnavailable, "STORE_IO",
                 absl::StrCat("opening store at ", path, ": ", s.ToString()));
  }
  auto store = std::make_unique<RocksDbHistoryStore>(
      options, std::move(file_system), std::move(env), db, handles);

  std::string format;
  s = db->Get(rocksdb::ReadOptions(), handles[0], kFormatKey, &format);
  const bool creating = s.IsNotFound();
  if (creating) {
    format = absl::StrCat(rocksdb_options.format_version);
  } else if (!s.ok()) {
    return IoError(s, "reading store format");
  }
  if (format != "1" && format != "2") {
    return Error(
        absl::StatusCode::kFailedPrecondition, "STORE_FORMAT_UNSUPPORTED",
        creating ? absl::StrCat("creating store at ", path, ": format version ",
                                format, " does not exist (1 or 2)")
                 : absl::StrCat("store at ", path, " has format version ",
                                format, "; this build reads versions 1 and 2"));
  }
  if (creating) {
    rocksdb::WriteOptions sync_write;
    sync_write.sync = true;
    s = db->Put(sync_write, handles[0], kFormatKey, format);
    if (!s.ok()) return IoError(s, "writing store format");
  }
  store->set_format(format == "1" ? 1 : 2);
  return store;
}

}  // namespace retrace::history
