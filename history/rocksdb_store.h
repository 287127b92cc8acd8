// The durable HistoryStore, on RocksDB.
//
// Layout (docs/history-format.md#storage): column family "history" holds the
// serialized HistoryEvents under internal/keys.h's history keys, "runs" holds
// each run's RunInfo, and one column family per KeySpace holds the extra rows
// of later layers. "default" holds the store's format version. Every Append is
// one WriteBatch across these families, written with sync by default (RocksDB
// groups concurrent synced writes into one WAL sync: group commit).
//
// One process opens a directory at a time (RocksDB's LOCK file). Appends to
// one run are serialized in-process by striped locks; the conditional check
// (expected_next_event_id) reads the stored RunInfo under that lock.
//
// Thread safety: as HistoryStore.
#ifndef RETRACE_HISTORY_ROCKSDB_STORE_H_
#define RETRACE_HISTORY_ROCKSDB_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "history/history_store.h"

namespace retrace::history {

// Opens (creating if missing) the store in directory `path`. Fails with
// kFailedPrecondition / STORE_FORMAT_UNSUPPORTED when the directory holds a
// store of another format version, kUnavailable / STORE_IO when RocksDB
// cannot open it (e.g. another process holds it).
absl::StatusOr<std::unique_ptr<HistoryStore>> OpenRocksDbHistoryStore(
    const std::string& path, const StoreOptions& options = {});

}  // namespace retrace::history

#endif  // RETRACE_HISTORY_ROCKSDB_STORE_H_
