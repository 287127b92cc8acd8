// Child processes append to several runs as fast as they can and report each
// acknowledged append on a pipe; the parent SIGKILLs them mid-stream, reopens
// each store and checks that every acknowledged event is there and every
// history is dense.
//
// The parent forks only while it is single-threaded. The child of a
// multi-threaded process may call only async-signal-safe functions, and
// opening RocksDB starts background threads (Env::Default()'s pools) that
// outlive the database, so after the parent opens a store it must not fork
// again: every child runs and is killed first, and this test has a binary of
// its own in which no other test opens RocksDB. (ThreadSanitizer enforces
// the rule: it refuses to start threads in a child of a multi-threaded
// process.)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "history/events.h"
#include "history/rocksdb_store.h"
#include "history/test_events.h"

namespace retrace::history::testing {
namespace {

using ::retrace::testing::IsOk;

constexpr int kRuns = 4;

// A killed child's store and the last event id it acknowledged per run.
struct KilledWriter {
  std::string dir;
  std::map<int, int64_t> acked;
};

AppendRequest Request(absl::string_view run, int64_t expected,
                      std::vector<HistoryEvent> events) {
  AppendRequest r;
  r.ns = "default";
  r.run_id = std::string(run);
  r.expected_next_event_id = expected;
  r.events = std::move(events);
  return r;
}

// The child: appends round-robin to kRuns runs until killed, writing
// "<run> <event id>\n" to `fd` after each acknowledged append.
[[noreturn]] void AppendUntilKilled(const std::string& dir, bool sync, int fd) {
  StoreOptions options;
  options.sync = sync;
  auto store = OpenRocksDbHistoryStore(dir, options);
  if (!store.ok()) _exit(3);
  int64_t next[kRuns] = {1, 1, 1, 1};
  for (int64_t i = 0;; ++i) {
    const int run = static_cast<int>(i % kRuns);
    const int64_t id = next[run];
    HistoryEvent e = id == 1 ? RunStarted(1, TestTime())
                             : StepCompleted(id, TestTime(id), "s",
                                             absl::StrCat("{\"i\":", id, "}"));
    auto info = (*store)->Append(Request(absl::StrCat("crash-", run), id, {e}));
    if (!info.ok()) _exit(4);
    next[run] = id + 1;
    std::string line = absl::StrCat(run, " ", id, "\n");
    if (write(fd, line.data(), line.size()) !=
        static_cast<ssize_t>(line.size())) {
      _exit(5);
    }
  }
}

// Forks a writer on a fresh store in `dir`, kills it once at least 400
// appends were acknowledged and collects every acknowledgement it made.
void RunAndKill(const std::string& dir, bool sync, KilledWriter* out) {
  out->dir = dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    AppendUntilKilled(dir, sync, fds[1]);
  }
  close(fds[1]);
  std::string buffer;
  char chunk[4096];
  int lines = 0;
  while (lines < 400) {
    ssize_t n = read(fds[0], chunk, sizeof(chunk));
    if (n <= 0) {
      int wstatus = 0;
      waitpid(child, &wstatus, 0);
      FAIL() << "child stopped early, wait status " << wstatus;
    }
    buffer.append(chunk, n);
    for (char c : absl::string_view(chunk, n)) lines += c == '\n';
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  // Acknowledgements still in the pipe were acknowledged too.
  ssize_t n;
  while ((n = read(fds[0], chunk, sizeof(chunk))) > 0) buffer.append(chunk, n);
  close(fds[0]);
  for (absl::string_view line :
       absl::StrSplit(buffer, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() != 2) continue;  // a torn last line
    int run;
    int64_t id;
    if (absl::SimpleAtoi(parts[0], &run) && absl::SimpleAtoi(parts[1], &id)) {
      out->acked[run] = std::max(out->acked[run], id);
    }
  }
}

TEST(RocksDbHistoryStoreCrashTest,
     RecoversEveryAcknowledgedAppendAfterSigkill) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string base =
      absl::StrCat(tmp ? tmp : "/tmp", "/crash-", getpid());
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base);
  std::vector<KilledWriter> killed(2);
  for (int i = 0; i < 2; ++i) {
    const bool sync = i == 0;
    RunAndKill(absl::StrCat(base, sync ? "/sync" : "/relaxed"), sync,
               &killed[i]);
    if (HasFatalFailure()) return;
  }

  for (const KilledWriter& k : killed) {
    auto store = OpenRocksDbHistoryStore(k.dir);
    ASSERT_THAT(store, IsOk()) << k.dir;
    EXPECT_EQ(k.acked.size(), static_cast<size_t>(kRuns)) << k.dir;
    for (const auto& [run, last_acked] : k.acked) {
      const std::string run_id = absl::StrCat("crash-", run);
      auto info = (*store)->GetRunInfo("default", run_id);
      ASSERT_THAT(info, IsOk());
      EXPECT_GE(info->next_event_id(), last_acked + 1) << k.dir << run_id;
      int64_t expected = 1;
      auto it = (*store)->ReadHistory("default", run_id, 1);
      for (; it->Valid(); it->Next()) {
        ASSERT_EQ(it->event().event_id(), expected++) << k.dir << run_id;
      }
      ASSERT_THAT(it->status(), IsOk());
      EXPECT_EQ(expected, info->next_event_id()) << k.dir << run_id;
      EXPECT_GE(expected - 1, last_acked)
          << k.dir << run_id << " lost acknowledged events";
    }
  }
}

}  // namespace
}  // namespace retrace::history::testing
