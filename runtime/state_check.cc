#include "runtime/state_check.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "history/events.h"
#include "runtime/engine.pb.h"
#include "runtime/internal/engine_keys.h"
#include "runtime/internal/engine_state.pb.h"

namespace retrace::runtime {
namespace {

using history::HistoryEvent;
using history::KeySpace;

// Must match the engine's bound on remembered signal ids (engine.cc).
constexpr int kRecentSignalIds = 256;

absl::Status Corrupt(absl::string_view what) {
  return Error(absl::StatusCode::kDataLoss, "STORE_CORRUPT", what);
}

template <typename Message>
absl::StatusOr<std::optional<Message>> GetRow(history::HistoryStore* store,
                                              KeySpace space,
                                              const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store->Get(space, key));
  if (!bytes.has_value()) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(*bytes)) {
    return Corrupt(absl::StrCat("a row in ", history::KeySpaceName(space),
                                " does not parse"));
  }
  return std::optional<Message>(std::move(m));
}

// Timer rows use whole milliseconds, rounded up (as the engine does).
absl::Time TimerFireTime(absl::Time t) {
  absl::Time fire =
      absl::FromUnixMillis(static_cast<int64_t>(internal::TimeKey(t)));
  if (fire < t) fire += absl::Milliseconds(1);
  return fire;
}

std::string Ts(const google::protobuf::Timestamp& ts) {
  return history::FormatTimestamp(history::ToTime(ts)) +
         absl::StrCat("(", ts.seconds(), ".", ts.nanos(), ")");
}

bool SameTime(const google::protobuf::Timestamp& a,
              const google::protobuf::Timestamp& b) {
  return a.seconds() == b.seconds() && a.nanos() == b.nanos();
}

// Readable key bytes: control bytes as \xNN.
std::string Printable(absl::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    if (c < 0x20 || c >= 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CheckRunState(
    history::HistoryStore* store, absl::string_view ns,
    absl::string_view run_id, const history::History& history,
    const Interpreter& replayed) {
  const auto& events = history.events();
  std::vector<std::string> diffs;
  auto diff = [&](auto&&... parts) { diffs.push_back(absl::StrCat(parts...)); };
  ASSIGN_OR_RETURN(auto stored,
                   GetRow<internal::RunRecord>(store, KeySpace::kRunState,
                                               internal::RunKey(ns, run_id)));
  if (!stored.has_value()) {
    diff("the run has no run record");
    return diffs;
  }
  if (events.empty()) {
    diff("the run record exists but the history is empty");
    return diffs;
  }
  const internal::RunRecord& rec = *stored;

  // What the history implies, event by event.
  const history::RunStartedAttributes& started = events.begin()->run_started();
  std::string output_json, continued_as;
  std::optional<history::Failure> failure;
  std::vector<std::string> signal_ids;
  std::map<int64_t, const HistoryEvent*> scheduled;
  std::map<std::string, const HistoryEvent*> timer_started, wait_started,
      task_created;
  for (const HistoryEvent& e : events) {
    if (e.has_step_scheduled()) scheduled[e.event_id()] = &e;
    if (e.has_timer_started()) timer_started[e.timer_started().timer_id()] = &e;
    if (e.has_wait_started()) wait_started[e.wait_started().wait_id()] = &e;
    if (e.has_human_task_created()) {
      task_created[e.human_task_created().task_id()] = &e;
    }
    if (e.has_run_completed()) output_json = e.run_completed().output().data();
    if (e.has_run_failed()) failure = e.run_failed().failure();
    if (e.has_run_retried()) failure.reset();
    if (e.has_run_continued_as_new()) {
      continued_as = e.run_continued_as_new().new_run_id();
    }
    if (e.has_signal_received() && !e.signal_received().signal_id().empty()) {
      signal_ids.push_back(e.signal_received().signal_id());
    }
  }
  if (signal_ids.size() > kRecentSignalIds) {
    signal_ids.erase(signal_ids.begin(), signal_ids.end() - kRecentSignalIds);
  }

  if (rec.workflow() != started.workflow() ||
      rec.version() != started.version()) {
    diff("record says workflow ", rec.workflow(), " version ", rec.version(),
         ", run_started says ", started.workflow(), " version ",
         started.version());
  }
  const std::string status =
      replayed.finished()
          ? std::string(history::RunStatusName(replayed.status()))
          : "";
  if (rec.status() != status) {
    diff("record status '", rec.status(), "', replay gives '", status, "'");
  }
  const int64_t length = events.rbegin()->event_id();
  if (rec.history_length() != length) {
    diff("record history_length ", rec.history_length(), ", history has ",
         length, " events");
  }
  if (!SameTime(rec.started_at(), events.begin()->event_time())) {
    diff("record started_at ", Ts(rec.started_at()), ", event 1 at ",
         Ts(events.begin()->event_time()));
  }
  if (!SameTime(rec.updated_at(), events.rbegin()->event_time())) {
    diff("record updated_at ", Ts(rec.updated_at()), ", last event at ",
         Ts(events.rbegin()->event_time()));
  }
  if (rec.output_json() != output_json) {
    diff("record output '", rec.output_json(), "', run_completed has '",
         output_json, "'");
  }
  if (rec.has_failure() != failure.has_value() ||
      (failure.has_value() &&
       !google::protobuf::util::MessageDifferencer::Equals(rec.failure(),
                                                           *failure))) {
    diff("record failure '", rec.failure().ShortDebugString(),
         "', the history gives '",
         failure.has_value() ? failure->ShortDebugString() : "", "'");
  }
  if (rec.continued_as_run_id() != continued_as) {
    diff("record continued_as_run_id '", rec.continued_as_run_id(),
         "', run_continued_as_new has '", continued_as, "'");
  }
  if (rec.dedupe_key() != started.dedupe_key()) {
    diff("record dedupe_key '", rec.dedupe_key(), "', run_started has '",
         started.dedupe_key(), "'");
  }
  if (!std::equal(rec.recent_signal_ids().begin(),
                  rec.recent_signal_ids().end(), signal_ids.begin(),
                  signal_ids.end())) {
    diff("record remembers signal ids [",
         absl::StrJoin(rec.recent_signal_ids(), ","),
         "], the history received [", absl::StrJoin(signal_ids, ","), "]");
  }
  if (!replayed.pending().empty()) {
    diff("replay leaves ", replayed.pending().size(),
         " decided commands unrecorded (first: ",
         history::EventTypeName(replayed.pending().front()), ")");
  }

  OpenWork open;
  if (!replayed.finished()) open = replayed.open_work();

  // Tasks: one per open attempt, with its queue row.
  std::map<int64_t, const internal::OpenTaskRow*> rec_tasks;
  for (const auto& row : rec.tasks())
    rec_tasks[row.scheduled_event_id()] = &row;
  std::set<int64_t> want_tasks(open.scheduled_event_ids.begin(),
                               open.scheduled_event_ids.end());
  for (int64_t id : want_tasks) {
    auto it = rec_tasks.find(id);
    auto s = scheduled.find(id);
    if (it == rec_tasks.end()) {
      diff("attempt scheduled by event ", id,
           " is open after replay but the record has no task for it");
      continue;
    }
    if (s == scheduled.end()) {
      diff("open attempt ", id, " has no step_scheduled event");
      continue;
    }
    const auto& a = s->second->step_scheduled();
    const internal::OpenTaskRow& row = *it->second;
    const std::string key = internal::TaskKey(
        a.task_queue(), history::ToTime(s->second->event_time()), ns, run_id,
        id);
    if (row.step_id() != a.step_id() || row.action() != a.action() ||
        row.attempt() != a.attempt() || row.key() != key) {
      diff("task row of event ", id, " is step ", row.step_id(), " action ",
           row.action(), " attempt ", row.attempt(), " key ",
           Printable(row.key()), "; event ", id, " scheduled step ",
           a.step_id(), " action ", a.action(), " attempt ", a.attempt(),
           " key ", Printable(key));
    }
    ASSIGN_OR_RETURN(auto task, GetRow<internal::TaskRecord>(
                                    store, KeySpace::kTasks, row.key()));
    if (!task.has_value()) {
      diff("the task queue has no row for the attempt scheduled by event ", id);
    } else if (task->run_id() != run_id || task->namespace_() != ns ||
               task->scheduled_event_id() != id) {
      diff("the task queue row of event ", id, " belongs to ",
           task->namespace_(), "/", task->run_id(), " event ",
           task->scheduled_event_id());
    }
  }
  for (const auto& [id, row] : rec_tasks) {
    if (!want_tasks.count(id)) {
      diff("record has a task for event ", id, " (step ", row->step_id(),
           " attempt ", row->attempt(), ") that is not open after replay");
    }
  }

  // Timers: sleeps and backoffs, wait and human-task deadlines.
  std::map<std::string, absl::Time> want_timers;  // "kind:id" -> fire time
  for (const std::string& id : open.timer_ids) {
    auto it = timer_started.find(id);
    if (it == timer_started.end()) {
      diff("open timer ", id, " has no timer_started event");
      continue;
    }
    want_timers[absl::StrCat("timer:", id)] =
        TimerFireTime(history::ToTime(it->second->timer_started().fire_at()));
  }
  for (const std::string& id : open.wait_ids) {
    auto it = wait_started.find(id);
    if (it != wait_started.end() && it->second->wait_started().has_deadline()) {
      want_timers[absl::StrCat("wait:", id)] =
          TimerFireTime(history::ToTime(it->second->wait_started().deadline()));
    }
  }
  for (const std::string& id : open.task_ids) {
    auto it = task_created.find(id);
    if (it != task_created.end() &&
        it->second->human_task_created().has_deadline()) {
      want_timers[absl::StrCat("task:", id)] = TimerFireTime(
          history::ToTime(it->second->human_task_created().deadline()));
    }
  }
  std::set<std::string> seen_timers;
  for (const auto& row : rec.timers()) {
    const std::string tag = absl::StrCat(row.kind(), ":", row.id());
    seen_timers.insert(tag);
    auto want = want_timers.find(tag);
    if (want == want_timers.end()) {
      diff("record has timer ", tag, " that is not open after replay");
      continue;
    }
    const std::string key =
        internal::TimerKey(want->second, ns, run_id, row.kind(), row.id());
    if (history::ToTime(row.fire_at()) != want->second || row.key() != key) {
      diff("timer ", tag, " fires at ", Ts(row.fire_at()),
           " in the record, the history says ",
           history::FormatTimestamp(want->second));
    }
    ASSIGN_OR_RETURN(auto timer, GetRow<internal::TimerRecord>(
                                     store, KeySpace::kTimers, row.key()));
    if (!timer.has_value()) {
      diff("timer ", tag, " has no row in the timer key space");
    } else if (timer->run_id() != run_id || timer->kind() != row.kind() ||
               timer->id() != row.id()) {
      diff("the timer row of ", tag, " belongs to ", timer->run_id(), " ",
           timer->kind(), ":", timer->id());
    }
  }
  for (const auto& [tag, fire] : want_timers) {
    if (!seen_timers.count(tag)) {
      diff("timer ", tag, " is open after replay but not in the record");
    }
  }

  // Wait index.
  std::map<std::string, const HistoryEvent*> want_waits;
  for (const std::string& id : open.wait_ids) {
    auto it = wait_started.find(id);
    if (it != wait_started.end()) want_waits[id] = it->second;
  }
  std::set<std::string> seen_waits;
  for (const auto& row : rec.waits()) {
    seen_waits.insert(row.wait_id());
    auto want = want_waits.find(row.wait_id());
    if (want == want_waits.end()) {
      diff("record has wait ", row.wait_id(), " that is not open after replay");
      continue;
    }
    const auto& w = want->second->wait_started();
    const std::string key = internal::WaitKey(
        ns, w.event_name(), w.correlation_key(), run_id, row.wait_id());
    if (row.event_name() != w.event_name() ||
        row.correlation_key() != w.correlation_key() || row.key() != key ||
        row.has_deadline() != w.has_deadline() ||
        !SameTime(row.deadline(), w.deadline())) {
      diff("wait ", row.wait_id(), " is for ", row.event_name(), " key '",
           row.correlation_key(), "' in the record, wait_started says ",
           w.event_name(), " key '", w.correlation_key(), "'");
    }
    ASSIGN_OR_RETURN(std::optional<std::string> index,
                     store->Get(KeySpace::kWaits, row.key()));
    if (!index.has_value()) {
      diff("wait ", row.wait_id(), " has no wait-index row");
    }
  }
  for (const auto& [id, e] : want_waits) {
    if (!seen_waits.count(id)) {
      diff("wait ", id, " is open after replay but not in the record");
    }
  }

  // Human tasks.
  std::vector<std::string> want_human(open.task_ids.begin(),
                                      open.task_ids.end());
  std::vector<std::string> have_human(rec.human_tasks().begin(),
                                      rec.human_tasks().end());
  std::sort(want_human.begin(), want_human.end());
  std::sort(have_human.begin(), have_human.end());
  if (want_human != have_human) {
    diff("record has human tasks [", absl::StrJoin(have_human, ","),
         "], replay has [", absl::StrJoin(want_human, ","), "]");
  }
  return diffs;
}

absl::StatusOr<std::vector<std::string>> FindOrphanRows(
    history::HistoryStore* store) {
  std::set<std::string> tasks, timers, waits;
  std::vector<std::string> records;  // run record keys
  for (auto it = store->Scan(KeySpace::kRunState, "", ""); it->Valid();
       it->Next()) {
    if (absl::StartsWith(it->key(), "\x01")) continue;  // continuations
    internal::RunRecord rec;
    if (!rec.ParseFromArray(it->value().data(),
                            static_cast<int>(it->value().size()))) {
      return Corrupt("a run record does not parse");
    }
    for (const auto& t : rec.tasks()) tasks.insert(t.key());
    for (const auto& t : rec.timers()) timers.insert(t.key());
    for (const auto& w : rec.waits()) waits.insert(w.key());
    records.emplace_back(it->key());
  }
  std::vector<std::string> orphans;
  // Run records and dedupe rows of runs that do not exist.
  auto exists = [&](absl::string_view ns,
                    absl::string_view run) -> absl::StatusOr<bool> {
    absl::StatusOr<history::RunInfo> info = store->GetRunInfo(ns, run);
    if (info.ok()) return true;
    if (absl::IsNotFound(info.status())) return false;
    return info.status();
  };
  for (const std::string& key : records) {
    const size_t sep = key.find('\0');
    if (sep == std::string::npos) continue;
    const std::string ns = key.substr(0, sep), run = key.substr(sep + 1);
    ASSIGN_OR_RETURN(bool found, exists(ns, run));
    if (!found) {
      orphans.push_back(absl::StrCat("run record of ", ns, "/", run,
                                     ", which has no history"));
    }
  }
  {
    auto it = store->Scan(KeySpace::kDedupe, "", "");
    for (; it->Valid(); it->Next()) {
      internal::DedupeRecord d;
      if (!d.ParseFromArray(it->value().data(),
                            static_cast<int>(it->value().size()))) {
        continue;  // other rows of the key space (ingested event ids)
      }
      const std::vector<std::string> parts =
          absl::StrSplit(it->key(), absl::ByChar('\0'));
      if (parts.size() != 3 || d.run_id().empty()) continue;
      ASSIGN_OR_RETURN(bool found, exists(parts[0], d.run_id()));
      if (!found) {
        orphans.push_back(absl::StrCat("dedupe row of workflow ", parts[1],
                                       " key '", parts[2], "' names run ",
                                       parts[0], "/", d.run_id(),
                                       ", which does not exist"));
      }
    }
    RETURN_IF_ERROR(it->status());
  }
  {
    auto it = store->Scan(KeySpace::kTasks, "", "");
    for (; it->Valid(); it->Next()) {
      if (tasks.count(std::string(it->key()))) continue;
      internal::TaskRecord t;
      t.ParseFromArray(it->value().data(),
                       static_cast<int>(it->value().size()));
      orphans.push_back(absl::StrCat(
          "task queue row of run ", t.namespace_(), "/", t.run_id(), " (step ",
          t.step_id(), " attempt ", t.attempt(), ", scheduled by event ",
          t.scheduled_event_id(), ") is listed by no run record"));
    }
    RETURN_IF_ERROR(it->status());
  }
  {
    auto it = store->Scan(KeySpace::kTimers, "", "");
    for (; it->Valid(); it->Next()) {
      if (timers.count(std::string(it->key()))) continue;
      internal::TimerRecord t;
      t.ParseFromArray(it->value().data(),
                       static_cast<int>(it->value().size()));
      orphans.push_back(absl::StrCat("timer row of run ", t.namespace_(), "/",
                                     t.run_id(), " (", t.kind(), ":", t.id(),
                                     ") is listed by no run record"));
    }
    RETURN_IF_ERROR(it->status());
  }
  {
    auto it = store->Scan(KeySpace::kWaits, "", "");
    for (; it->Valid(); it->Next()) {
      if (waits.count(std::string(it->key()))) continue;
      // ns \0 event \0 key \0 run \0 wait_id
      std::vector<std::string> parts =
          absl::StrSplit(it->key(), absl::ByChar('\0'));
      orphans.push_back(
          parts.size() == 5
              ? absl::StrCat("wait-index row of run ", parts[0], "/", parts[3],
                             " (", parts[4], " for ", parts[1], " key '",
                             parts[2], "') is listed by no run record")
              : absl::StrCat("wait-index row ", Printable(it->key()),
                             " is listed by no run record"));
    }
    RETURN_IF_ERROR(it->status());
  }
  return orphans;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
PendingContinuations(history::HistoryStore* store) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string prefix =
      internal::Join({"\x01"
                      "can",
                      ""});
  auto it = store->Scan(KeySpace::kRunState, prefix,
                        internal::Join({"\x01"
                                        "cao"}));
  for (; it->Valid(); it->Next()) {
    StartRunRequest start;
    if (!start.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return Corrupt("a pending continue-as-new start does not parse");
    }
    out.emplace_back(start.namespace_(), start.run_id());
  }
  RETURN_IF_ERROR(it->status());
  return out;
}

absl::StatusOr<std::optional<std::string>> StoredDefinition(
    history::HistoryStore* store, absl::string_view ns, absl::string_view name,
    absl::string_view version) {
  ASSIGN_OR_RETURN(auto rec, GetRow<internal::DefinitionRecord>(
                                 store, KeySpace::kDefinitions,
                                 internal::DefinitionKey(ns, name, version)));
  if (!rec.has_value()) return std::optional<std::string>();
  return std::optional<std::string>(rec->json());
}

}  // namespace retrace::runtime
