#include "signals/ingress.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "expr/value.h"
#include "history/events.h"
#include "history/validation.h"
#include "runtime/interpreter.h"

namespace retrace::signals {
namespace {

std::string Join3(absl::string_view a, absl::string_view b,
                  absl::string_view c) {
  std::string out;
  out.append(a.data(), a.size());
  out.push_back('\0');
  out.append(b.data(), b.size());
  out.push_back('\0');
  out.append(c.data(), c.size());
  return out;
}

absl::Status Validate(const Event& e, const IngressOptions& options) {
  if (e.id.empty()) {
    return Error(absl::StatusCode::kInvalidArgument, "EVENT_FIELD_MISSING",
                 "the event has no id");
  }
  RETURN_IF_ERROR(history::ValidateIdentifier("event id", e.id));
  if (e.name.empty()) {
    return Error(absl::StatusCode::kInvalidArgument, "EVENT_FIELD_MISSING",
                 absl::StrCat("event ", e.id, " has no name"));
  }
  RETURN_IF_ERROR(history::ValidateIdentifier("event name", e.name));
  RETURN_IF_ERROR(history::ValidateIdentifier("namespace", e.ns));
  if (static_cast<int64_t>(e.payload_json.size()) > options.max_payload_bytes) {
    return Error(
        absl::StatusCode::kInvalidArgument, "PAYLOAD_TOO_LARGE",
        absl::StrCat("event ", e.id, ": payload is ", e.payload_json.size(),
                     " bytes, limit ", options.max_payload_bytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string AuditKey(absl::string_view ns, absl::string_view event_id) {
  return Join3("signal", ns, event_id);
}

SignalIngress::SignalIngress(runtime::Engine* engine,
                             history::HistoryStore* store,
                             CorrelationConfig config, IngressOptions options)
    : engine_(engine),
      store_(store),
      config_(std::move(config)),
      options_(options) {}

absl::StatusOr<std::vector<absl::StatusOr<IngestResult>>> SignalIngress::Ingest(
    const std::vector<Event>& events) {
  std::vector<absl::StatusOr<IngestResult>> results(events.size());
  // More partitions than threads, taken in turn, so that no thread is left
  // alone with a long partition at the end of a batch.
  const size_t threads_wanted = std::max(1, options_.parallelism);
  std::vector<std::vector<size_t>> partitions(threads_wanted * 8);
  std::map<std::pair<std::string, std::string>, size_t> first_of_id;
  std::vector<size_t> repeats;  // in-batch repeats of an earlier id
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (absl::Status s = Validate(e, options_); !s.ok()) {
      results[i] = s;
      continue;
    }
    if (!first_of_id.emplace(std::make_pair(e.ns, e.id), i).second) {
      repeats.push_back(i);
      continue;
    }
    // Same key (or, unresolved, same id): same partition, so order holds.
    absl::StatusOr<expr::Value> payload = expr::ParseJson(e.payload_json);
    std::string key = e.correlation_key;
    if (payload.ok()) {
      key =
          config_.Resolve(e.correlation_key, EventValue(e, *payload), e.name, 0)
              .key;
    }
    const size_t p = absl::Hash<std::pair<std::string, std::string>>()(
                         {e.ns, key.empty() ? e.id : key}) %
                     partitions.size();
    partitions[p].push_back(i);
  }
  std::atomic<size_t> next_partition{0};
  absl::Mutex error_mu;
  absl::Status store_error;
  auto work = [&] {
    Chunk chunk;
    absl::Status s;
    for (size_t p = next_partition++; s.ok() && p < partitions.size();
         p = next_partition++) {
      for (size_t i : partitions[p]) {
        s = Process(events[i], i, &chunk, &results);
        if (!s.ok()) break;
      }
    }
    if (s.ok()) s = Flush(&chunk, &results);
    if (!s.ok()) {
      absl::MutexLock lock(&error_mu);
      if (store_error.ok()) store_error = s;
    }
  };
  size_t busy = 0;
  for (const auto& partition : partitions) busy += !partition.empty();
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(threads_wanted, busy); ++t) {
    threads.emplace_back(work);
  }
  work();
  for (auto& t : threads) t.join();
  RETURN_IF_ERROR(store_error);
  for (size_t i : repeats) {
    const Event& e = events[i];
    size_t first = first_of_id[{e.ns, e.id}];
    IngestResult r;
    r.event_id = e.id;
    r.duplicate = true;
    if (results[first].ok()) r.audit = results[first]->audit;
    results[i] = std::move(r);
  }
  return results;
}

absl::Status SignalIngress::Process(
    const Event& e, size_t index, Chunk* chunk,
    std::vector<absl::StatusOr<IngestResult>>* results) {
  // An id ingested before (an earlier batch or call) does nothing again.
  ASSIGN_OR_RETURN(
      std::optional<std::string> seen,
      store_->Get(history::KeySpace::kAudit, AuditKey(e.ns, e.id)));
  if (seen.has_value()) {
    IngestResult r;
    r.event_id = e.id;
    r.duplicate = true;
    r.audit.ParseFromString(*seen);
    (*results)[index] = std::move(r);
    return absl::OkStatus();
  }
  IngestResult result;
  result.event_id = e.id;
  history::SignalAuditRecord& audit = result.audit;
  audit.set_event_id(e.id);
  audit.set_event_name(e.name);
  audit.set_namespace_(e.ns);
  const absl::Time now = absl::Now();
  *audit.mutable_ingested_at() = history::FromTime(now);
  if (e.occurred_at)
    *audit.mutable_occurred_at() = history::FromTime(*e.occurred_at);
  absl::StatusOr<expr::Value> payload = expr::ParseJson(e.payload_json);
  if (!payload.ok()) {
    (*results)[index] = Error(
        absl::StatusCode::kInvalidArgument, "EVENT_INVALID_JSON",
        absl::StrCat("event ", e.id,
                     ": payload is not JSON: ", payload.status().message()));
    return absl::OkStatus();
  }
  Resolution key = config_.Resolve(e.correlation_key, EventValue(e, *payload),
                                   e.name, absl::ToUnixMillis(now));
  audit.set_correlation_key(key.key);
  audit.set_key_source(key.source);

  std::vector<std::string> runs;
  if (key.resolved()) {
    // Candidate runs from the wait index; each run's interpreter decides.
    ASSIGN_OR_RETURN(runs, WaitingRuns(e, key.key));
    bool repeated = false;
    for (const std::string& run : runs) {
      repeated |= chunk->runs.contains(std::make_pair(e.ns, run));
    }
    if (repeated) {
      // An earlier event of this chunk signals the same run: commit it
      // first, and read the index again, as if the events came one by one.
      RETURN_IF_ERROR(Flush(chunk, results));
      ASSIGN_OR_RETURN(runs, WaitingRuns(e, key.key));
    }
  } else {
    audit.set_error_code("CORRELATION_UNRESOLVED");
    audit.set_error_message(absl::StrCat(
        "event ", e.id, " (", e.name,
        ") carries no correlation key: no explicit key, no "
        "payload.workflowCorrelationKey or payload.correlationKey, "
        "no configured path matched; it routes to no wait"));
  }

  // Triggers start runs whether or not the key resolved.
  for (const std::string& workflow : engine_->TriggeredBy(e.ns, e.name)) {
    runtime::StartRunRequest start;
    start.set_namespace_(e.ns);
    start.set_workflow(workflow);
    start.set_run_id(absl::StrCat(
        workflow, "-",
        absl::Hex(runtime::StableHash(absl::StrCat(e.ns, "\n", e.id)),
                  absl::kZeroPad16)));
    start.set_input_json(e.payload_json);
    start.set_trigger_event_id(e.id);
    start.set_correlation_key(key.key);
    start.set_identity(absl::StrCat("trigger:", e.name));
    absl::StatusOr<runtime::StartRunResponse> r = engine_->StartRun(start);
    if (!r.ok()) {
      audit.add_skipped_triggers(
          absl::StrCat(workflow, ": ", r.status().message()));
    } else if (r->duplicate() && r->run_id() != start.run_id()) {
      audit.add_skipped_triggers(
          absl::StrCat(workflow, ": duplicate trigger ignored (run ",
                       r->run_id(), " has the same dedupe key)"));
    } else {
      audit.add_started_run_ids(r->run_id());
    }
  }

  Chunk::Pending pending;
  pending.index = index;
  pending.result = std::move(result);
  for (const std::string& run : runs) {
    runtime::SignalRunRequest signal;
    signal.set_namespace_(e.ns);
    signal.set_run_id(run);
    signal.set_event_name(e.name);
    signal.set_payload_json(e.payload_json);
    signal.set_signal_id(e.id);
    signal.set_correlation_key(key.key);
    signal.set_key_source(key.source);
    signal.set_identity("signal-ingress");
    pending.requests.push_back(chunk->requests.size());
    chunk->requests.push_back(std::move(signal));
    chunk->runs.insert(std::make_pair(e.ns, run));
  }
  chunk->pending.push_back(std::move(pending));
  if (chunk->requests.size() >= kChunkSignals ||
      chunk->pending.size() >= kChunkEvents) {
    return Flush(chunk, results);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SignalIngress::WaitingRuns(
    const Event& e, const std::string& key) {
  std::string prefix = Join3(e.ns, e.name, key);
  prefix.push_back('\0');
  std::string end = prefix;
  end.back() = '\x01';
  std::vector<std::string> runs;
  auto it = store_->Scan(history::KeySpace::kWaits, prefix, end);
  for (; it->Valid(); it->Next()) {
    absl::string_view rest = it->key().substr(prefix.size());
    std::string run(rest.substr(0, rest.find('\0')));
    if (runs.empty() || runs.back() != run) runs.push_back(std::move(run));
  }
  RETURN_IF_ERROR(it->status());
  return runs;
}

absl::Status SignalIngress::Flush(
    Chunk* chunk, std::vector<absl::StatusOr<IngestResult>>* results) {
  if (chunk->pending.empty()) return absl::OkStatus();
  // The signals' transitions and every event's audit row (and its outbox
  // row, for the read models) commit together.
  auto rows = [&](const std::vector<absl::StatusOr<runtime::SignalRunResponse>>&
                      signaled) {
    std::vector<history::Mutation> out;
    const int64_t now_us = absl::ToUnixMicros(absl::Now());
    for (Chunk::Pending& p : chunk->pending) {
      history::SignalAuditRecord& audit = p.result.audit;
      for (size_t r : p.requests) {
        const std::string& run = chunk->requests[r].run_id();
        if (!signaled[r].ok()) {
          // The run ended between the index read and the signal: no match.
          if (ErrorCode(signaled[r].status()) == "RUN_ALREADY_TERMINAL") {
            continue;
          }
          audit.set_error_code(ErrorCode(signaled[r].status()));
          audit.set_error_message(std::string(signaled[r].status().message()));
          continue;
        }
        audit.add_matched_run_ids(run);
        if (signaled[r]->delivered()) audit.add_resumed_run_ids(run);
      }
      const std::string key = AuditKey(audit.namespace_(), audit.event_id());
      out.push_back(history::Mutation::Put(history::KeySpace::kAudit, key,
                                           audit.SerializeAsString()));
      history::OutboxEntry entry;
      entry.set_namespace_(audit.namespace_());
      entry.set_audit_key(key);
      // Audit outbox keys sort after the engine's (which start with a zero
      // byte): 0x01, then time and a sequence number.
      const uint32_t seq = outbox_seq_.fetch_add(1);
      std::string outbox_key(1, '\x01');
      for (int shift = 56; shift >= 0; shift -= 8) {
        outbox_key.push_back(static_cast<char>((now_us >> shift) & 0xff));
      }
      for (int shift = 24; shift >= 0; shift -= 8) {
        outbox_key.push_back(static_cast<char>((seq >> shift) & 0xff));
      }
      out.push_back(history::Mutation::Put(
          history::KeySpace::kOutbox, outbox_key, entry.SerializeAsString()));
    }
    return out;
  };
  absl::StatusOr<std::vector<absl::StatusOr<runtime::SignalRunResponse>>>
      signaled = engine_->SignalRuns(chunk->requests, rows);
  if (!signaled.ok()) return signaled.status();
  for (Chunk::Pending& p : chunk->pending) {
    (*results)[p.index] = std::move(p.result);
  }
  chunk->pending.clear();
  chunk->requests.clear();
  chunk->runs.clear();
  return absl::OkStatus();
}

}  // namespace retrace::signals
