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
// Events of one batch with the same key are applied in order; other events
// run concurrently so their commits share fsyncs.
//
// Delivery guarantee: a run never receives the same event id twice (runs
// remember the ids they received), and trigger starts use a run id derived
// from the event id, so re-ingesting after a crash completes what was
// interrupted without doing anything twice.
//
// Thread safety: Ingest may be called from several threads.
#ifndef RETRACE_SIGNALS_INGRESS_H_
#define RETRACE_SIGNALS_INGRESS_H_

#include <optional>
#include <string>
#include <vector>

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
  // Events applied at once (by key partition). Default: 32
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
  absl::StatusOr<IngestResult> Route(const Event& event);

  runtime::Engine* engine_;
  history::HistoryStore* store_;
  CorrelationConfig config_;
  IngressOptions options_;
};

// The audit row key of an event.
std::string AuditKey(absl::string_view ns, absl::string_view event_id);

}  // namespace retrace::signals

#endif  // RETRACE_SIGNALS_INGRESS_H_
