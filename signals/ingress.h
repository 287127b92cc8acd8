// Signal ingress: external events (a payment, a reply, an approval) routed to
// the runs waiting for them by correlation key, and event-triggered starts
// (docs/signals.md).
//
// For each event:
//   1. an event id seen before in its namespace does nothing again;
//   2. its correlation key is resolved (correlation.h), never from the id;
//   3. with a key, the wait index gives the candidate runs; each gets a
//      signal_received event in its own transition and its interpreter
//      decides (the wait's filter runs inside the run). Without a key the
//      event routes to no wait (CORRELATION_UNRESOLVED);
//   4. workflows whose trigger names the event start a run, key or not
//      (their guard and dedupe window apply);
//   5. one audit record says what happened.
// Events of one batch with the same key are applied in order. Each ingesting
// thread commits the signals of a few events together with their audit
// records in one atomic batch (Engine::SignalRuns); threads run concurrently
// so their commits also share fsyncs.
//
// Delivery guarantee: a run never receives the same event id twice (runs
// remember the ids they received), and trigger starts use a run id derived
// from the event id, so re-ingesting after a crash completes what was
// interrupted without doing anything twice.
//
// Thread safety: Ingest may be called from several threads.
#ifndef RETRACE_SIGNALS_INGRESS_H_
#define RETRACE_SIGNALS_INGRESS_H_

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "history/history.pb.h"
#include "history/history_store.h"
#include "runtime/engine.h"
#include "signals/correlation.h"
#include "signals/event.h"

namespace retrace::signals {

struct IngestResult {
  std::string event_id;
  bool duplicate = false;  // the id was ingested before: nothing was done
  history::SignalAuditRecord audit;
};

struct IngressOptions {
  // Threads applying events at once (events of one key stay in order on
  // one thread). Default: 32
  int parallelism = 32;
  // Largest payload. Default: 2 MiB
  int64_t max_payload_bytes = 2 << 20;
};

class SignalIngress {
 public:
  // `engine` and `store` (the engine's store) must outlive the ingress.
  SignalIngress(runtime::Engine* engine, history::HistoryStore* store,
                CorrelationConfig config, IngressOptions options = {});

  // Ingests `events` and returns one result per event, in order. A malformed
  // event (no id, no name, a bad namespace, an oversized payload, a payload
  // that is not JSON) is rejected before anything is written: its result's
  // status is the error. Fails as a whole only when the store fails.
  absl::StatusOr<std::vector<absl::StatusOr<IngestResult>>> Ingest(
      const std::vector<Event>& events);

 private:
  // Events routed but not yet committed by one ingesting thread: their
  // signals go to the engine in one SignalRuns call, with their audit rows.
  struct Chunk {
    struct Pending {
      size_t index;                  // in the Ingest call's events
      IngestResult result;           // audit without the signal outcomes yet
      std::vector<size_t> requests;  // its signals, in `requests`
    };
    std::vector<Pending> pending;
    std::vector<runtime::SignalRunRequest> requests;
    absl::flat_hash_set<std::pair<std::string, std::string>> runs;
  };
  // A chunk is committed when it holds this many signals or events. Small
  // signal chunks keep commits spread over time, so one thread's WAL sync
  // overlaps the others' run loads (measured: 8 signals per commit resumed
  // ~20% more runs/s than 64); events that signal nothing only add an audit
  // row each and are cheap to batch more.
  static constexpr size_t kChunkSignals = 8;
  static constexpr size_t kChunkEvents = 256;

  // Dedupes, resolves, starts triggered runs and adds the event's signals to
  // `chunk` (committing the chunk first if one of its runs is already in
  // it). Errors are the store's; an event's own error goes to `results`.
  absl::Status Process(const Event& e, size_t index, Chunk* chunk,
                       std::vector<absl::StatusOr<IngestResult>>* results);
  // The runs with a wait on (namespace, event name, key).
  absl::StatusOr<std::vector<std::string>> WaitingRuns(const Event& e,
                                                       const std::string& key);
  // Commits the chunk's signals and audit rows; fills their results.
  absl::Status Flush(Chunk* chunk,
                     std::vector<absl::StatusOr<IngestResult>>* results);

  runtime::Engine* engine_;
  history::HistoryStore* store_;
  CorrelationConfig config_;
  IngressOptions options_;
  std::atomic<uint32_t> outbox_seq_{0};
};

// The audit row key of an event.
std::string AuditKey(absl::string_view ns, absl::string_view event_id);

}  // namespace retrace::signals

#endif  // RETRACE_SIGNALS_INGRESS_H_
