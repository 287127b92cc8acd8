// HistoryStore: the append-only store of workflow run histories, the single
// source of truth of every run.
//
// A run is identified by (namespace, run id). Its history is a dense, 1-based
// sequence of HistoryEvents (history.proto). Appends are conditional: the
// caller says which event id it expects to write next, so two writers can never
// interleave one run's history. Each Append is atomic: the events, the run's
// RunInfo and any extra writes (run state, task queue, timers, wait index,
// outbox rows of later layers) become durable together or not at all.
//
// Two implementations pass the same conformance suite
// (history_store_conformance.h): OpenRocksDbHistoryStore (rocksdb_store.h), the
// durable one, and NewInMemoryHistoryStore (memory_store.h), for fast tests.
//
// Thread safety: every method is safe to call concurrently from many threads
// without external synchronization. Appends to one run are serialized; appends
// to different runs proceed concurrently (and share RocksDB group commits).
//
// Example:
//   ASSIGN_OR_RETURN(auto store, OpenRocksDbHistoryStore("/var/retrace", {}));
//   AppendRequest req;
//   req.ns = "default";
//   req.run_id = "order-17";
//   req.expected_next_event_id = 1;          // a new run
//   req.events.push_back(run_started_event);  // event_id 1
//   ASSIGN_OR_RETURN(RunInfo info, store->Append(req));
//   for (auto it = store->ReadHistory("default", "order-17", 1); it->Valid();
//        it->Next()) {
//     Use(it->event());
//   }
//   RETURN_IF_ERROR(it->status());
#ifndef RETRACE_HISTORY_HISTORY_STORE_H_
#define RETRACE_HISTORY_HISTORY_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "history/history.pb.h"

namespace retrace::history {

// Key spaces for the rows that later layers commit together with events. Each
// is an ordered key/value space of its own (a RocksDB column family). Values
// are never renumbered; new spaces are added at the end.
enum class KeySpace : uint8_t {
  kRunState = 0,     // engine's cached run state, by run
  kTasks = 1,        // ready task queue, ordered by ready time
  kTimers = 2,       // timers, ordered by fire time
  kWaits = 3,        // wait index: namespace / event / key / run
  kDefinitions = 4,  // workflow definitions: namespace / name / version
  kDedupe = 5,       // dedupe keys and ingested event ids
  kOutbox = 6,       // projection outbox rows, in commit order
  kWorkers = 7,      // registered workers
  kAudit = 8,        // signal audit records
};
inline constexpr int kNumKeySpaces = 9;

// Returns the stable name of `space` ("run_state", "tasks", ...), which is also
// its RocksDB column family name.
absl::string_view KeySpaceName(KeySpace space);

// One extra write committed together with an append: a put, or a delete when
// `value` is empty (std::nullopt).
struct Mutation {
  KeySpace space;
  std::string key;
  std::optional<std::string> value;

  static Mutation Put(KeySpace space, std::string key, std::string value) {
    return Mutation{space, std::move(key), std::move(value)};
  }
  static Mutation Delete(KeySpace space, std::string key) {
    return Mutation{space, std::move(key), std::nullopt};
  }
};

struct AppendRequest {
  std::string ns;  // namespace
  std::string run_id;
  // The event id the caller expects the run to be at: 1 for a new run,
  // RunInfo::next_event_id otherwise.
  int64_t expected_next_event_id = 1;
  // Must be non-empty and carry ids expected_next_event_id, +1, +2, ...
  std::vector<HistoryEvent> events;
  // Committed in the same atomic batch as the events.
  std::vector<Mutation> writes;
};

struct StoreOptions {
  // Sync the write-ahead log before an append is acknowledged, so an
  // acknowledged append survives a power loss. With false ("relaxed"), an
  // append survives a process crash but the last few may be lost on power
  // loss or kernel panic. Ignored by the in-memory store.
  // Default: true
  bool sync = true;

  // Largest Payload (its `data` bytes) an event may carry. Checked before
  // anything is written; a larger one fails with PAYLOAD_TOO_LARGE.
  // Default: 2 MiB
  int64_t max_payload_bytes = 2 << 20;
};

// Iterates over a run's events in event-id order. Not thread-safe; use one per
// thread.
class EventIterator {
 public:
  virtual ~EventIterator() = default;
  // True while positioned at an event. False at the end or after an error.
  virtual bool Valid() const = 0;
  // REQUIRES: Valid(). The reference is good until the next call to Next().
  virtual const HistoryEvent& event() const = 0;
  // REQUIRES: Valid().
  virtual void Next() = 0;
  // OK unless reading failed (e.g. a corrupt event, an I/O error); check it
  // once Valid() is false.
  virtual absl::Status status() const = 0;
};

// Iterates over the keys of one key space in key order. Not thread-safe.
class KeyIterator {
 public:
  virtual ~KeyIterator() = default;
  virtual bool Valid() const = 0;
  // REQUIRES: Valid(). Good until the next call to Next().
  virtual absl::string_view key() const = 0;
  virtual absl::string_view value() const = 0;
  virtual void Next() = 0;
  virtual absl::Status status() const = 0;
};

struct RunPage {
  std::vector<RunInfo> runs;
  // Pass to ListRuns to get the next page; empty when there are no more runs.
  std::string next_cursor;
};

class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // Appends request.events to the run's history, atomically with
  // request.writes, and returns the run's updated RunInfo.
  // Fails, writing nothing, with:
  //   kAborted / HISTORY_CONFLICT: expected_next_event_id is stale (another
  //     writer appended first, or the run exists when 1 was expected);
  //   kInvalidArgument / INVALID_IDENTIFIER, INVALID_EVENT, INVALID_EVENT_ID,
  //     EVENT_TIME_REGRESSED, INVALID_EVENT_ORDER, PAYLOAD_TOO_LARGE: the
  //     request or one of its events is malformed (see docs/errors.md);
  //   kFailedPrecondition / RUN_ALREADY_TERMINAL: the run has ended;
  //   kUnavailable / kInternal / STORE_IO: reading the run's state failed.
  // Fails with kUnavailable / STORAGE_FAILED when writing or syncing failed,
  // or an earlier write did: the store is then read-only until reopened,
  // and this append is, as a whole, either durable or not (the caller cannot
  // tell which until the store is reopened). Every later Append and Write
  // fails the same way; reads keep working.
  virtual absl::StatusOr<RunInfo> Append(const AppendRequest& request) = 0;

  // Appends to several runs (each at most once) and commits `writes`, all in
  // one atomic batch: one WAL sync for the lot. Returns each run's updated
  // RunInfo, in request order. Fails as Append, writing nothing, if any
  // request would fail; the error names its run. Stores that cannot batch
  // answer kUnimplemented / STORE_NO_BATCH (the default).
  virtual absl::StatusOr<std::vector<RunInfo>> AppendBatch(
      const std::vector<AppendRequest>& requests,
      const std::vector<Mutation>& writes);

  // Commits `writes` atomically, without touching any history. Fails as
  // Append with STORAGE_FAILED.
  virtual absl::Status Write(const std::vector<Mutation>& writes) = 0;

  // Returns the run's RunInfo, or kNotFound / RUN_NOT_FOUND.
  virtual absl::StatusOr<RunInfo> GetRunInfo(absl::string_view ns,
                                             absl::string_view run_id) = 0;

  // Returns an iterator over the run's events with id >= from_event_id. A run
  // that does not exist yields no events (check GetRunInfo to tell apart).
  virtual std::unique_ptr<EventIterator> ReadHistory(absl::string_view ns,
                                                     absl::string_view run_id,
                                                     int64_t from_event_id) = 0;

  // Lists up to `limit` runs of `ns` in run-id order, starting after `cursor`
  // (empty: from the first run).
  virtual absl::StatusOr<RunPage> ListRuns(absl::string_view ns,
                                           absl::string_view cursor,
                                           int limit) = 0;

  // Lists up to `limit` runs of every namespace in (namespace, run id) order,
  // starting after `cursor` (empty: from the first; otherwise the
  // next_cursor of the previous page). For rebuilding read models.
  virtual absl::StatusOr<RunPage> ListAllRuns(absl::string_view cursor,
                                              int limit) = 0;

  // Returns the value stored under `key` in `space`, or std::nullopt.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      KeySpace space, absl::string_view key) = 0;

  // Returns an iterator over the keys k of `space` with start <= k < end
  // (an empty `end` means no upper bound), in key order.
  virtual std::unique_ptr<KeyIterator> Scan(KeySpace space,
                                            absl::string_view start,
                                            absl::string_view end) = 0;
};

// For AppendBatch implementations: kInvalidArgument / INVALID_BATCH when a
// run appears twice in `requests`.
absl::Status CheckDistinctRuns(const std::vector<AppendRequest>& requests);

}  // namespace retrace::history

#endif  // RETRACE_HISTORY_HISTORY_STORE_H_
