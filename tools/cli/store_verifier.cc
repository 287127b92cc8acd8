#include "tools/cli/store_verifier.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "history/events.h"
#include "history/validation.h"
#include "projection/read_models.h"
#include "runtime/definition.h"
#include "runtime/replay.h"
#include "runtime/state_check.h"
#include "signals/ingress.h"

namespace retrace::cli {
namespace {

using history::HistoryEvent;

// Violations of one kind printed in full before the rest are summarised (the
// projection check can differ in thousands of rows at once).
constexpr size_t kMaxProjectionLines = 20;

// An explicit dedupe key without a trigger window is kept this long
// (runtime/engine.cc).
constexpr absl::Duration kDefaultDedupeWindow = absl::Hours(24);

// What the checks against the expected-state log need to know of a run.
struct RunFacts {
  std::string workflow, version, dedupe_key, trigger_event_id;
  std::string continued_from, continued_as;
  absl::Time started;
  history::RunStatus status = history::RUN_STATUS_UNSPECIFIED;
  std::map<std::string, int> signal_ids;  // signal id -> times received
  std::set<std::string> completed_tasks;  // human task ids
  int cancels = 0, terminations = 0, retries = 0, canceled = 0;
  // (step path, attempt) -> "completed" / "failed" / "timed_out".
  std::map<std::pair<std::string, int64_t>, std::string> outcomes;
};

bool Terminal(history::RunStatus status) {
  return history::IsFinal(status) || status == history::RUN_STATUS_FAILED;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

template <typename Repeated>
std::vector<std::string> Sorted(const Repeated& r) {
  return Sorted(std::vector<std::string>(r.begin(), r.end()));
}

class Verifier {
 public:
  Verifier(history::HistoryStore* store, const VerifyOptions& options)
      : store_(store), options_(options) {
    for (const std::string& json : options.known_definitions) {
      runtime::DefinitionResult parsed = runtime::ParseDefinition(json);
      if (parsed.ok()) {
        known_[{parsed.definition->name, parsed.definition->version}] =
            parsed.definition;
      }
    }
  }

  absl::StatusOr<VerifyReport> Run(const std::vector<ExpectedOp>& expected) {
    std::string cursor;
    for (;;) {
      ASSIGN_OR_RETURN(history::RunPage page,
                       store_->ListAllRuns(cursor, 1000));
      for (const history::RunInfo& info : page.runs) {
        RETURN_IF_ERROR(VerifyRun(info));
      }
      cursor = page.next_cursor;
      if (cursor.empty()) break;
    }
    RETURN_IF_ERROR(CheckAcrossRuns());
    CheckExpected(expected);
    if (!options_.read_models_path.empty()) RETURN_IF_ERROR(CheckProjection());
    return std::move(report_);
  }

 private:
  using RunKey = std::pair<std::string, std::string>;  // (ns, run id)

  void Violate(absl::string_view check, absl::string_view run_id,
               absl::string_view event_id, std::string message) {
    report_.violations.push_back({std::string(check), std::string(run_id),
                                  std::string(event_id), std::move(message)});
  }

  // The pinned definition of a run: the stored document, else a known one.
  absl::StatusOr<std::shared_ptr<const runtime::Definition>> FindDefinition(
      const std::string& ns, const std::string& name,
      const std::string& version) {
    const auto key = std::make_tuple(ns, name, version);
    if (auto it = definitions_.find(key); it != definitions_.end()) {
      return it->second;
    }
    std::shared_ptr<const runtime::Definition> def;
    ASSIGN_OR_RETURN(std::optional<std::string> json,
                     runtime::StoredDefinition(store_, ns, name, version));
    if (json.has_value()) {
      runtime::DefinitionResult parsed = runtime::ParseDefinition(*json);
      if (parsed.ok()) def = parsed.definition;
    }
    if (def == nullptr) {
      if (auto it = known_.find({name, version}); it != known_.end()) {
        def = it->second;
      }
    }
    definitions_[key] = def;
    return def;
  }

  absl::Status VerifyRun(const history::RunInfo& info) {
    const std::string& ns = info.namespace_();
    const std::string& run_id = info.run_id();
    ++report_.runs;
    history::History history;
    history.set_namespace_(ns);
    history.set_run_id(run_id);
    {
      auto it = store_->ReadHistory(ns, run_id, 1);
      for (; it->Valid(); it->Next()) *history.add_events() = it->event();
      RETURN_IF_ERROR(it->status());
    }
    const auto& events = history.events();
    report_.events += events.size();
    RunFacts& facts = runs_[{ns, run_id}];
    facts.status = info.status();

    // Dense ids 1..n, as many as the run info says.
    bool dense = true;
    for (int i = 0; i < events.size(); ++i) {
      if (events[i].event_id() != i + 1) {
        Violate("history_gap", run_id, "",
                absl::StrCat("event ", i + 1, " of the history has id ",
                             events[i].event_id(), " (ids must be 1..n)"));
        dense = false;
        break;
      }
    }
    if (dense && events.size() != info.next_event_id() - 1) {
      Violate("history_gap", run_id, "",
              absl::StrCat("the history has ", events.size(),
                           " events, the run info expects next event id ",
                           info.next_event_id()));
      dense = false;
    }
    if (events.empty() || !events[0].has_run_started()) {
      Violate("history_invalid", run_id, "",
              "the history does not begin with run_started");
      return absl::OkStatus();
    }

    // History validation, and the run info it leads to.
    history::HistoryValidator validator(
        history::NewRunInfo(ns, run_id),
        history::StoreOptions().max_payload_bytes);
    bool valid = true;
    for (const HistoryEvent& e : events) {
      if (absl::Status s = validator.Add(e); !s.ok()) {
        Violate("history_invalid", run_id, "",
                absl::StrCat("event ", e.event_id(), ": ", s.message()));
        valid = false;
        break;
      }
    }
    if (valid) {
      const history::RunInfo& want = validator.info();
      if (want.status() != info.status() ||
          want.next_event_id() != info.next_event_id() ||
          want.workflow() != info.workflow() ||
          want.version() != info.version() ||
          history::ToTime(want.last_event_time()) !=
              history::ToTime(info.last_event_time())) {
        Violate("history_invalid", run_id, "",
                absl::StrCat("the stored run info (", info.ShortDebugString(),
                             ") differs from the one the history gives (",
                             want.ShortDebugString(), ")"));
      }
    }

    CollectFacts(run_id, history, &facts);

    // Replay against the pinned definition, then the engine's rows.
    const auto& started = events[0].run_started();
    ASSIGN_OR_RETURN(std::shared_ptr<const runtime::Definition> def,
                     FindDefinition(ns, started.workflow(), started.version()));
    if (def == nullptr) {
      Violate("replay_failed", run_id, "",
              absl::StrCat("workflow ", started.workflow(), " version ",
                           started.version(),
                           " is neither registered nor a known definition"));
      return absl::OkStatus();
    }
    if (!dense) return absl::OkStatus();  // replay would only repeat it
    absl::StatusOr<std::unique_ptr<runtime::Interpreter>> replayed =
        runtime::Replay(def, history);
    if (!replayed.ok()) {
      Violate("replay_failed", run_id, "",
              std::string(replayed.status().message()));
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(
        std::vector<std::string> diffs,
        runtime::CheckRunState(store_, ns, run_id, history, **replayed));
    for (std::string& d : diffs) Violate("state_mismatch", run_id, "", d);
    return absl::OkStatus();
  }

  // Step outcomes, signals, and what the log checks need.
  void CollectFacts(const std::string& run_id, const history::History& history,
                    RunFacts* facts) {
    const auto& started = history.events(0).run_started();
    facts->workflow = started.workflow();
    facts->version = started.version();
    facts->dedupe_key = started.dedupe_key();
    facts->trigger_event_id = started.trigger_event_id();
    facts->continued_from = started.continued_from_run_id();
    facts->started = history::ToTime(history.events(0).event_time());
    struct Attempt {
      const HistoryEvent* scheduled;
      int64_t outcome_event = 0;
    };
    std::map<int64_t, Attempt> attempts;
    std::map<std::string, int64_t> completed_by_path;  // path -> event id
    for (const HistoryEvent& e : history.events()) {
      if (e.has_step_scheduled()) {
        attempts[e.event_id()] = {&e};
        continue;
      }
      int64_t scheduled_id = 0;
      std::string step_id, outcome;
      int64_t attempt = 0;
      if (e.has_step_completed()) {
        scheduled_id = e.step_completed().scheduled_event_id();
        step_id = e.step_completed().step_id();
        attempt = e.step_completed().attempt();
        outcome = "completed";
      } else if (e.has_step_failed()) {
        scheduled_id = e.step_failed().scheduled_event_id();
        step_id = e.step_failed().step_id();
        attempt = e.step_failed().attempt();
        outcome = "failed";
      } else if (e.has_step_timed_out()) {
        scheduled_id = e.step_timed_out().scheduled_event_id();
        step_id = e.step_timed_out().step_id();
        attempt = e.step_timed_out().attempt();
        outcome = "timed_out";
      } else if (e.has_signal_received()) {
        const std::string& id = e.signal_received().signal_id();
        if (!id.empty() && ++facts->signal_ids[id] == 2) {
          Violate("signal_duplicated", run_id, id,
                  absl::StrCat("the run received signal ", id,
                               " twice (again at event ", e.event_id(), ")"));
        }
        continue;
      } else {
        if (e.has_cancel_requested()) ++facts->cancels;
        if (e.has_run_canceled()) ++facts->canceled;
        if (e.has_run_terminated()) ++facts->terminations;
        if (e.has_run_retried()) ++facts->retries;
        if (e.has_human_task_completed()) {
          facts->completed_tasks.insert(e.human_task_completed().task_id());
        }
        if (e.has_run_continued_as_new()) {
          facts->continued_as = e.run_continued_as_new().new_run_id();
        }
        continue;
      }
      auto it = attempts.find(scheduled_id);
      if (it == attempts.end()) {
        Violate("step_outcome_invalid", run_id, "",
                absl::StrCat("event ", e.event_id(), " (",
                             history::EventTypeName(e), " of step ", step_id,
                             ") names scheduled event ", scheduled_id,
                             ", which is no earlier step_scheduled"));
        continue;
      }
      const auto& s = it->second.scheduled->step_scheduled();
      if (s.step_id() != step_id || s.attempt() != attempt) {
        Violate("step_outcome_invalid", run_id, "",
                absl::StrCat("event ", e.event_id(), " is an outcome of step ",
                             step_id, " attempt ", attempt,
                             " but scheduled event ", scheduled_id, " is step ",
                             s.step_id(), " attempt ", s.attempt()));
      }
      if (it->second.outcome_event != 0) {
        Violate("duplicate_completion", run_id, "",
                absl::StrCat("attempt ", attempt, " of step ", step_id,
                             " (scheduled by event ", scheduled_id,
                             ") has two outcomes: events ",
                             it->second.outcome_event, " and ", e.event_id()));
      }
      it->second.outcome_event = e.event_id();
      facts->outcomes[{s.step_path(), s.attempt()}] = outcome;
      if (outcome == "completed") {
        auto [done, first] =
            completed_by_path.emplace(s.step_path(), e.event_id());
        if (!first) {
          Violate("duplicate_completion", run_id, "",
                  absl::StrCat("step ", step_id, " (activation ", s.step_path(),
                               ") completed twice: events ", done->second,
                               " and ", e.event_id()));
        }
      }
    }
  }

  absl::Status CheckAcrossRuns() {
    ASSIGN_OR_RETURN(std::vector<std::string> orphans,
                     runtime::FindOrphanRows(store_));
    for (std::string& o : orphans) Violate("orphan_row", "", "", o);

    ASSIGN_OR_RETURN(auto pending, runtime::PendingContinuations(store_));
    std::set<RunKey> pending_set(pending.begin(), pending.end());
    for (const auto& [key, facts] : runs_) {
      if (facts.continued_as.empty()) continue;
      const RunKey next{key.first, facts.continued_as};
      auto it = runs_.find(next);
      if (it != runs_.end()) {
        if (it->second.continued_from != key.second) {
          Violate("continuation_missing", key.second, "",
                  absl::StrCat("continued as run ", facts.continued_as,
                               ", whose run_started says it continues '",
                               it->second.continued_from, "'"));
        }
      } else if (!pending_set.count(next) || options_.final) {
        Violate("continuation_missing", key.second, "",
                absl::StrCat("continued as run ", facts.continued_as,
                             ", which does not exist",
                             pending_set.count(next)
                                 ? " (its start is still pending)"
                                 : " and whose start is not pending"));
      }
    }
    if (options_.final) {
      for (const auto& [ns, run] : pending) {
        if (!runs_.count({ns, run})) continue;  // reported above
        Violate("not_terminal", run, "",
                "a continue-as-new start of this (existing) run is still "
                "pending");
      }
      for (const auto& [key, facts] : runs_) {
        if (!Terminal(facts.status)) {
          Violate(
              "not_terminal", key.second, "",
              absl::StrCat("the run is ", history::RunStatusName(facts.status),
                           " after the workload was drained"));
        }
      }
    }

    // Dedupe keys: one run per (workflow, key) inside the window.
    std::map<std::tuple<std::string, std::string, std::string>,
             std::vector<std::pair<absl::Time, std::string>>>
        by_key;
    for (const auto& [key, facts] : runs_) {
      if (facts.dedupe_key.empty()) continue;
      by_key[{key.first, facts.workflow, facts.dedupe_key}].emplace_back(
          facts.started, key.second);
    }
    for (auto& [key, starts] : by_key) {
      if (starts.size() < 2) continue;
      std::sort(starts.begin(), starts.end());
      for (size_t i = 1; i < starts.size(); ++i) {
        const RunFacts& later = runs_[{std::get<0>(key), starts[i].second}];
        ASSIGN_OR_RETURN(
            auto def,
            FindDefinition(std::get<0>(key), later.workflow, later.version));
        absl::Duration window = kDefaultDedupeWindow;
        if (def != nullptr && def->trigger &&
            def->trigger->dedupe_window > absl::ZeroDuration()) {
          window = def->trigger->dedupe_window;
        }
        // A second of slack: the window is measured from the engine's clock
        // at StartRun, the start time from the run_started event.
        if (starts[i].first - starts[i - 1].first + absl::Seconds(1) < window) {
          Violate(
              "dedupe_violated", starts[i].second, "",
              absl::StrCat(
                  "runs ", starts[i - 1].second, " and ", starts[i].second,
                  " of workflow ", std::get<1>(key), " share dedupe key '",
                  std::get<2>(key), "' and started ",
                  absl::FormatDuration(starts[i].first - starts[i - 1].first),
                  " apart (window ", absl::FormatDuration(window), ")"));
        }
      }
    }
    return absl::OkStatus();
  }

  const RunFacts* Find(const std::string& run_id) const {
    auto it = runs_.find({options_.ns, run_id});
    return it == runs_.end() ? nullptr : &it->second;
  }

  void CheckExpected(const std::vector<ExpectedOp>& expected) {
    // Acknowledged operations per run, counted against the history.
    std::map<std::string, int> cancels, terminations, retries;
    for (const ExpectedOp& op : expected) {
      if (op.op == "session" || op.op == "intent" ||
          op.op == "remove_version") {
        continue;
      }
      ++report_.acks;
      const std::string where =
          absl::StrCat(" (expected.log line ", op.line, ")");
      if (op.op == "start") {
        const RunFacts* run = Find(op.run_id);
        if (run == nullptr) {
          Violate("start_missing", op.run_id, "",
                  absl::StrCat("the start of ", op.workflow, " was ",
                               "acknowledged (", op.outcome,
                               ") but the run does not exist", where));
        } else if (run->workflow != op.workflow) {
          Violate(
              "start_missing", op.run_id, "",
              absl::StrCat("acknowledged as a run of ", op.workflow,
                           ", the store has a run of ", run->workflow, where));
        } else if (op.outcome == "started" && !op.dedupe_key.empty() &&
                   run->dedupe_key != op.dedupe_key) {
          Violate("start_missing", op.run_id, "",
                  absl::StrCat("started with dedupe key '", op.dedupe_key,
                               "', run_started has '", run->dedupe_key, "'",
                               where));
        }
      } else if (op.op == "signal") {
        CheckSignal(op, where);
      } else if (op.op == "cancel" || op.op == "terminate" ||
                 op.op == "retry") {
        const RunFacts* run = Find(op.run_id);
        if (run == nullptr) {
          Violate("ack_lost", op.run_id, "",
                  absl::StrCat("a ", op.op, " was acknowledged but the run ",
                               "does not exist", where));
          continue;
        }
        if (op.op == "cancel" && op.outcome == "already_canceled") {
          if (run->status != history::RUN_STATUS_CANCELED) {
            Violate("ack_lost", op.run_id, "",
                    absl::StrCat("a cancel was acknowledged as already done "
                                 "but the run is ",
                                 history::RunStatusName(run->status), where));
          }
          continue;
        }
        int& n = op.op == "cancel"      ? cancels[op.run_id]
                 : op.op == "terminate" ? terminations[op.run_id]
                                        : retries[op.run_id];
        const int have = op.op == "cancel"      ? run->cancels
                         : op.op == "terminate" ? run->terminations
                                                : run->retries;
        if (++n > have) {
          Violate("ack_lost", op.run_id, "",
                  absl::StrCat(n, " ", op.op, "(s) acknowledged, the history ",
                               "records ", have, where));
        }
        if (op.op == "cancel" && run->canceled == 0) {
          Violate("ack_lost", op.run_id, "",
                  absl::StrCat("a cancel was acknowledged but the history has ",
                               "no run_canceled", where));
        }
      } else if (op.op == "complete_task") {
        const RunFacts* run = Find(op.run_id);
        if (run == nullptr || !run->completed_tasks.count(op.task_id)) {
          Violate("ack_lost", op.run_id, "",
                  absl::StrCat("human task ", op.task_id,
                               " was acknowledged as completed; the history ",
                               "has no human_task_completed for it", where));
        }
      } else if (op.op == "step") {
        const RunFacts* run = Find(op.run_id);
        std::string recorded = "no such run";
        if (run != nullptr) {
          auto it = run->outcomes.find({op.step_path, op.attempt});
          recorded = it == run->outcomes.end() ? "no outcome" : it->second;
        }
        if (recorded != op.outcome) {
          Violate("ack_lost", op.run_id, "",
                  absl::StrCat("attempt ", op.attempt, " of ", op.step_path,
                               " was acknowledged as ", op.outcome,
                               "; the history has ", recorded, where));
        }
      } else {
        Violate("ack_unknown", op.run_id, op.event_id,
                absl::StrCat("unknown operation '", op.op, "'", where));
      }
    }
  }

  void CheckSignal(const ExpectedOp& op, const std::string& where) {
    absl::StatusOr<std::optional<std::string>> bytes = store_->Get(
        history::KeySpace::kAudit, signals::AuditKey(options_.ns, op.event_id));
    history::SignalAuditRecord audit;
    if (!bytes.ok() || !bytes->has_value() || !audit.ParseFromString(**bytes)) {
      Violate("signal_lost", "", op.event_id,
              absl::StrCat("signal ", op.event_name, " was acknowledged (",
                           op.outcome, ") but has no audit record", where));
      return;
    }
    signal_ids_.push_back(op.event_id);
    if (Sorted(audit.matched_run_ids()) != Sorted(op.matched) ||
        Sorted(audit.resumed_run_ids()) != Sorted(op.resumed) ||
        Sorted(audit.started_run_ids()) != Sorted(op.started) ||
        audit.error_code() != op.error) {
      Violate(
          "signal_mismatch", "", op.event_id,
          absl::StrCat("acknowledged matched [", absl::StrJoin(op.matched, ","),
                       "] resumed [", absl::StrJoin(op.resumed, ","),
                       "] started [", absl::StrJoin(op.started, ","),
                       "] error '", op.error, "'; the audit record has [",
                       absl::StrJoin(audit.matched_run_ids(), ","), "] [",
                       absl::StrJoin(audit.resumed_run_ids(), ","), "] [",
                       absl::StrJoin(audit.started_run_ids(), ","), "] '",
                       audit.error_code(), "'", where));
    }
    for (const std::string& run_id : audit.matched_run_ids()) {
      const RunFacts* run = Find(run_id);
      if (run == nullptr || !run->signal_ids.count(op.event_id)) {
        Violate("signal_lost", run_id, op.event_id,
                absl::StrCat("the audit record says run ", run_id,
                             " got the signal but its history has no ",
                             "signal_received with this id", where));
      }
    }
    for (const std::string& run_id : audit.started_run_ids()) {
      const RunFacts* run = Find(run_id);
      if (run == nullptr || run->trigger_event_id != op.event_id) {
        Violate("signal_lost", run_id, op.event_id,
                absl::StrCat("the audit record says the signal started run ",
                             run_id, ", which ",
                             run == nullptr ? "does not exist"
                                            : "names another trigger event",
                             where));
      }
    }
    if (audit.correlation_key().empty() &&
        audit.error_code() != "CORRELATION_UNRESOLVED") {
      Violate("signal_mismatch", "", op.event_id,
              absl::StrCat("no correlation key, but the audit record's "
                           "reason is '",
                           audit.error_code(),
                           "' instead of CORRELATION_UNRESOLVED", where));
    }
  }

  absl::Status CheckProjection() {
    const std::string& path = options_.read_models_path;
    std::vector<std::string> incremental, rebuilt;
    {
      ASSIGN_OR_RETURN(auto models, projection::ReadModels::Open(store_, path));
      for (;;) {
        ASSIGN_OR_RETURN(int applied, models->ApplyOutbox(1000));
        if (applied == 0) break;
      }
      ASSIGN_OR_RETURN(incremental, models->Dump());
    }
    // Every acknowledged signal is a runtime event ("runtime_events|ns|id|").
    std::set<std::string> projected;
    for (const std::string& line : incremental) {
      if (!absl::StartsWith(line, "runtime_events|")) continue;
      std::vector<std::string> cols =
          absl::StrSplit(line, absl::MaxSplits('|', 3));
      if (cols.size() >= 3 && cols[1] == options_.ns) projected.insert(cols[2]);
    }
    for (const std::string& id : signal_ids_) {
      if (!projected.count(id)) {
        Violate("signal_lost", "", id,
                "the signal has an audit record but no runtime_events row "
                "after projection catch-up");
      }
    }
    const std::string rebuild_path = path + ".rebuild";
    auto remove_rebuild = [&] {
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::remove((rebuild_path + suffix).c_str());
      }
    };
    remove_rebuild();
    {
      ASSIGN_OR_RETURN(auto models,
                       projection::ReadModels::Open(store_, rebuild_path));
      RETURN_IF_ERROR(models->Rebuild());
      ASSIGN_OR_RETURN(rebuilt, models->Dump());
    }
    remove_rebuild();
    std::multiset<std::string> a(incremental.begin(), incremental.end());
    std::multiset<std::string> b(rebuilt.begin(), rebuilt.end());
    std::vector<std::string> only_incremental, only_rebuilt;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                        std::back_inserter(only_incremental));
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(),
                        std::back_inserter(only_rebuilt));
    size_t printed = 0;
    for (const auto& [lines, side] :
         {std::make_pair(&only_incremental, "caught up from the outbox"),
          std::make_pair(&only_rebuilt, "rebuilt from the histories")}) {
      for (const std::string& line : *lines) {
        if (printed++ < kMaxProjectionLines) {
          Violate("projection_mismatch", "", "",
                  absl::StrCat("only in the read models ", side, ": ", line));
        }
      }
    }
    if (printed > kMaxProjectionLines) {
      Violate("projection_mismatch", "", "",
              absl::StrCat("... and ", printed - kMaxProjectionLines,
                           " more differing rows"));
    }
    return absl::OkStatus();
  }

  history::HistoryStore* store_;
  const VerifyOptions& options_;
  VerifyReport report_;
  std::map<RunKey, RunFacts> runs_;
  std::vector<std::string> signal_ids_;  // acknowledged, with an audit row
  std::map<std::pair<std::string, std::string>,
           std::shared_ptr<const runtime::Definition>>
      known_;
  std::map<std::tuple<std::string, std::string, std::string>,
           std::shared_ptr<const runtime::Definition>>
      definitions_;
};

}  // namespace

std::string Violation::ToString() const {
  std::string out = absl::StrCat("violation: ", check, ":");
  if (!run_id.empty()) absl::StrAppend(&out, " run ", run_id);
  if (!event_id.empty()) absl::StrAppend(&out, " event ", event_id);
  absl::StrAppend(&out, run_id.empty() && event_id.empty() ? " " : ": ",
                  message);
  return out;
}

absl::StatusOr<VerifyReport> VerifyStore(
    history::HistoryStore* store, const std::vector<ExpectedOp>& expected,
    const VerifyOptions& options) {
  Verifier verifier(store, options);
  return verifier.Run(expected);
}

}  // namespace retrace::cli
