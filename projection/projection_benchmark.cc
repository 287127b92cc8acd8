// Read-model benchmarks (docs/benchmarks.md):
//   bazel run --config=bench //projection:projection_benchmark --
//       [--benchmarks writer,details,lists] [--runs N] [--events-per-run E]
//       [--batch B] [--list-runs M]
//
// writer: N runs of E events each (step scheduled/started/completed triples)
//         appended to a RocksDB store with their outbox rows, then applied
//         into SQLite by ReadModels::ApplyOutbox in batches of B outbox rows
//         (default: kDefaultBatchRows); events/s.
// details: the execution-log details of those events, one pass and the
//         reference (protobuf JSON, re-parsed, masked); CPU us per event.
// lists:  M run rows (default 1,000,000) in the runs table, then ListRuns:
//         the newest page, a page filtered by workflow and status, and a page
//         deep behind a cursor; ms per query.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "history/events.h"
#include "history/rocksdb_store.h"
#include "projection/log_details.h"
#include "projection/read_models.h"

using namespace retrace;

namespace {

std::string BigEndian(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

history::HistoryEvent Event(int64_t id, absl::Time t, int64_t steps) {
  history::HistoryEvent e;
  e.set_event_id(id);
  *e.mutable_event_time() = history::FromTime(t);
  if (id == 1) {
    e.mutable_run_started()->set_workflow("bench");
    e.mutable_run_started()->set_version("1");
    e.mutable_run_started()->set_total_steps(static_cast<int32_t>(steps));
    *e.mutable_run_started()->mutable_input() =
        history::JsonPayload(R"({"order":"SO-1"})");
    return e;
  }
  const int64_t scheduled = id - (id - 2) % 3;
  const std::string step = absl::StrCat("s", (id - 2) / 3);
  switch ((id - 2) % 3) {
    case 0: {
      auto* s = e.mutable_step_scheduled();
      s->set_step_id(step);
      s->set_step_path(absl::StrCat("/steps/", (id - 2) / 3));
      s->set_action("core.echo");
      s->set_attempt(1);
      *s->mutable_input() =
          history::JsonPayload(R"({"to":"jane@example.com","n":1})");
      break;
    }
    case 1:
      e.mutable_step_started()->set_scheduled_event_id(scheduled);
      e.mutable_step_started()->set_step_id(step);
      e.mutable_step_started()->set_worker_id("w1");
      break;
    default:
      e.mutable_step_completed()->set_scheduled_event_id(scheduled);
      e.mutable_step_completed()->set_step_id(step);
      *e.mutable_step_completed()->mutable_output() =
          history::JsonPayload(R"({"ok":true})");
  }
  return e;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// CPU time of this process (all threads), in seconds: on a shared machine a
// steadier measure of the writer's own cost than the wall clock.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  int64_t runs = 10000, per_run = 11, list_runs = 1000000;
  int64_t batch = projection::kDefaultBatchRows;
  std::string benchmarks = "writer,details,lists";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--benchmarks") benchmarks = argv[i + 1];
    if (flag == "--runs") absl::SimpleAtoi(argv[i + 1], &runs);
    if (flag == "--events-per-run") absl::SimpleAtoi(argv[i + 1], &per_run);
    if (flag == "--list-runs") absl::SimpleAtoi(argv[i + 1], &list_runs);
    if (flag == "--batch") absl::SimpleAtoi(argv[i + 1], &batch);
  }
  const std::string dir =
      absl::StrCat("/tmp/retrace-projection-bench-", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::remove(dir + ".sqlite");
  history::StoreOptions relaxed;
  relaxed.sync = false;  // setup speed; the writer's own commits are SQLite's
  auto store = history::OpenRocksDbHistoryStore(dir, relaxed).value();
  const absl::Time t0 = absl::FromUnixSeconds(1767323045);
  int64_t seq = 0;
  for (int64_t r = 0; r < runs; ++r) {
    history::AppendRequest req;
    req.ns = "default";
    req.run_id = absl::StrCat("run-", r);
    for (int64_t id = 1; id <= per_run; ++id) {
      req.events.push_back(Event(id,
                                 t0 + absl::Seconds(r) + absl::Milliseconds(id),
                                 (per_run + 1) / 3));
    }
    history::OutboxEntry entry;
    entry.set_namespace_("default");
    entry.set_run_id(req.run_id);
    entry.set_first_event_id(1);
    entry.set_last_event_id(per_run);
    req.writes.push_back(history::Mutation::Put(history::KeySpace::kOutbox,
                                                BigEndian(++seq),
                                                entry.SerializeAsString()));
    if (!store->Append(req).ok()) return 1;
  }
  auto models =
      projection::ReadModels::Open(store.get(), dir + ".sqlite").value();
  auto wanted = [&](absl::string_view name) {
    for (absl::string_view b : absl::StrSplit(benchmarks, ',')) {
      if (b == name) return true;
    }
    return false;
  };
  int64_t applied = 0;
  if (wanted("writer")) {
    const absl::Time start = absl::Now();
    const double cpu_start = CpuSeconds();
    for (;;) {
      auto n = models->ApplyOutbox(static_cast<int>(batch));
      if (!n.ok()) {
        std::fprintf(stderr, "%s\n", n.status().ToString().c_str());
        return 1;
      }
      if (*n == 0) break;
      applied += *n;
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double cpu = CpuSeconds() - cpu_start;
    std::printf(
        "writer: %lld runs, %lld events applied in %.2f s (batches of %lld "
        "outbox rows): %.0f events/s; %.2f s CPU: %.0f events per CPU-second\n",
        static_cast<long long>(applied),
        static_cast<long long>(applied * per_run), seconds,
        static_cast<long long>(batch), applied * per_run / seconds, cpu,
        applied * per_run / cpu);
  }

  // The details column alone: the one-pass writer and the reference
  // (protobuf's JSON printer, re-parsed, masked), over one run's events.
  if (wanted("details")) {
    std::vector<history::HistoryEvent> events;
    for (int64_t id = 1; id <= per_run; ++id) {
      events.push_back(Event(id, t0, (per_run + 1) / 3));
    }
    auto time_details = [&](const char* name, auto&& fn) {
      constexpr int kRounds = 2000;
      size_t bytes = 0;
      const double s = CpuSeconds();
      for (int i = 0; i < kRounds; ++i) {
        for (const auto& e : events) bytes += fn(e).size();
      }
      std::printf("details %-10s %.2f us CPU per event (%zu bytes per event)\n",
                  name, (CpuSeconds() - s) * 1e6 / (kRounds * events.size()),
                  bytes / (kRounds * events.size()));
    };
    time_details("one pass:", projection::ExecutionLogDetails);
    time_details("reference:", projection::ExecutionLogDetailsReference);
  }

  // Lists over many runs: rows inserted directly (the writer is measured
  // above).
  auto db = projection::Database::Open(dir + ".sqlite").value();
  if (wanted("lists")) {
    if (!db->Exec("BEGIN").ok()) return 1;
    auto insert =
        db->Prepare(
              "INSERT INTO runs (namespace, run_id, workflow, version, status, "
              "created_at, updated_at, last_event_id) VALUES ('default', ?, ?, "
              "'1', ?, ?, ?, 3)")
            .value();
    const char* statuses[] = {"COMPLETED", "RUNNING", "FAILED", "WAITING"};
    for (int64_t i = 0; i < list_runs; ++i) {
      const std::string t = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                                             t0 + absl::Milliseconds(i * 37),
                                             absl::UTCTimeZone());
      insert.Bind(1, absl::StrCat("many-", i))
          .Bind(2, absl::StrCat("wf-", i % 20))
          .Bind(3, statuses[i % 4])
          .Bind(4, t)
          .Bind(5, t);
      if (!insert.Run().ok()) return 1;
    }
    if (!db->Exec("COMMIT").ok() || !db->Exec("ANALYZE").ok()) return 1;
    auto time_query = [&](const char* name, const projection::RunQuery& q) {
      constexpr int kRepeats = 20;
      absl::Time s = absl::Now();
      std::string cursor;
      for (int i = 0; i < kRepeats; ++i) {
        auto page = models->ListRuns(q);
        if (!page.ok() || page->runs.empty()) {
          std::fprintf(stderr, "%s failed\n", name);
          std::exit(1);
        }
        cursor = page->next_cursor;
      }
      std::printf("list %-28s %.3f ms per query\n", name,
                  Ms(absl::Now() - s) / kRepeats);
      return cursor;
    };
    projection::RunQuery newest;
    time_query("newest 50:", newest);
    projection::RunQuery filtered;
    filtered.workflow = "wf-7";
    filtered.status = "WAITING";
    time_query("workflow + status 50:", filtered);
    projection::RunQuery deep;
    deep.cursor = absl::StrCat(
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                         t0 + absl::Milliseconds(list_runs / 2 * 37),
                         absl::UTCTimeZone()),
        "|many-", list_runs / 2);
    time_query("cursor, half-way down:", deep);
    std::printf("(%lld rows in runs)\n",
                static_cast<long long>(list_runs + applied));
  }
  models.reset();
  db.reset();
  store.reset();
  std::filesystem::remove_all(dir);
  std::filesystem::remove(dir + ".sqlite");
  std::filesystem::remove(dir + ".sqlite-wal");
  std::filesystem::remove(dir + ".sqlite-shm");
  return 0;
}
