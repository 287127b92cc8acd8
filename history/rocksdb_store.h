// The durable HistoryStore, on RocksDB.
//
// Layout (docs/history-format.md#storage): column family "history" holds the
// events of each append as one StoredEvents under internal/keys.h's history
// key of its first event (format 1: one HistoryEvent per key), "runs" holds
// each run's RunInfo, and one column family per KeySpace holds the extra rows
// of later layers. "default" holds the store's format version. Every Append is
// one WriteBatch across these families, written with sync by default (RocksDB
// groups concurrent synced writes into one WAL sync: group commit).
//
// One process opens a directory at a time (RocksDB's LOCK file). Appends to
// one run are serialized in-process by striped locks; the conditional check
// (expected_next_event_id) reads the stored RunInfo under that lock.
//
// Storage failures (docs/reliability.md#storage-faults): when a write or a
// WAL sync fails (a full or failing disk), that Append or Write fails with
// kUnavailable / STORAGE_FAILED naming the operation and RocksDB's status,
// and the store turns read-only: every later Append and Write fails with the
// same code without touching the disk, because RocksDB cannot tell whether
// the failed batch reached the disk. RocksDB itself stops writes after such an
// error (its background error); the store disables RocksDB's automatic
// recovery from it so that only a reopen makes the store writable again.
// Reads keep working and see exactly the acknowledged appends. Reopening
// (after the disk is fixed) recovers every acknowledged append; the failed
// one is, as a whole, either there or not (its WriteBatch is atomic).
//
// Thread safety: as HistoryStore.
#ifndef RETRACE_HISTORY_ROCKSDB_STORE_H_
#define RETRACE_HISTORY_ROCKSDB_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "history/history_store.h"
#include "rocksdb/file_system.h"

namespace retrace::history {

// Options of the RocksDB store only; StoreOptions holds those common to every
// store.
struct RocksDbOptions {
  // The file system RocksDB does all its file I/O through (it becomes the
  // DB's Env). Tests pass a testing::FaultInjectionFileSystem
  // (history/testing/fault_injection_fs.h) to fail writes and syncs and to
  // simulate power cuts. The store keeps a reference to it. nullptr: the
  // default (POSIX) file system.
  // Default: nullptr
  std::shared_ptr<rocksdb::FileSystem> file_system;

  // The format a new store is created with (docs/history-format.md#storage):
  // 2 keeps the events of one append under one key, 1 keeps one key per
  // event. An existing store keeps the format it was created with; this
  // build reads and writes both. Tests create format-1 stores to check that
  // stores written by older builds keep working.
  // Default: 2
  int format_version = 2;
};

// Opens (creating if missing) the store in directory `path`. Fails with
// kFailedPrecondition / STORE_FORMAT_UNSUPPORTED when the directory holds a
// store of a format version other than 1 or 2 (or `format_version` is
// neither), kUnavailable / STORE_IO when RocksDB
// cannot open it (e.g. another process holds it, or a file cannot be created
// or written).
absl::StatusOr<std::unique_ptr<HistoryStore>> OpenRocksDbHistoryStore(
    const std::string& path, const StoreOptions& options = {},
    const RocksDbOptions& rocksdb_options = {});

}  // namespace retrace::history

#endif  // RETRACE_HISTORY_ROCKSDB_STORE_H_
