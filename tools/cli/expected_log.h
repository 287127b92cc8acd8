// The expected-state log of `retrace stress` (the oracle of the crash test):
// one JSON object per line in DIR/expected.log, appended after the engine or
// signal ingress acknowledged an operation (returned OK), and made durable
// (fdatasync) before the appending call returns. `retrace stress verify`
// reads it back and checks that the store still holds everything it says.
//
// Grammar (docs/reliability.md#crash-testing):
//   log   := line*
//   line  := json-object "\n"     one acknowledged operation
//   op    := "session" | "intent" | "start" | "signal" | "cancel"
//          | "terminate" | "retry" | "complete_task" | "remove_version"
//          | "step"
// Fields by op (absent fields are empty):
//   session         seed, pid, at, outcome (workload | drain)
//   intent          event, name, key, payload: an event about to be
//                   ingested, not an acknowledgement (later sessions re-send
//                   some, as a client retrying after a crash would)
//   start           run, workflow, version, dedupe_key, outcome
//                   (started | duplicate)
//   signal          event, name, key, payload, outcome (ingested |
//                   duplicate), matched, resumed, started (run id arrays),
//                   error (the audit's error code)
//   cancel          run, outcome (canceled | already_canceled)
//   terminate       run, outcome (terminated)
//   retry           run, outcome (retried)
//   complete_task   run, task (a human task id), outcome (completed)
//   remove_version  workflow, version, outcome (removed)
//   step            run, step_path, attempt, outcome (completed | failed):
//                   a worker's CompleteTask / FailTask acknowledged
// A SIGKILL can cut the last line short; the reader skips a line that is not
// a JSON object (and counts it), and the writer ends an unterminated last
// line before appending.
//
//   ASSIGN_OR_RETURN(auto log, ExpectedLogWriter::Open(dir + "/expected.log"));
//   ExpectedOp op{.op = "start", .run_id = "r1", .outcome = "started"};
//   RETURN_IF_ERROR(log->Append(op));   // durable when this returns
//
// Thread safety: ExpectedLogWriter::Append may be called from many threads;
// concurrent appends share one write and one fdatasync (group commit).
#ifndef RETRACE_TOOLS_CLI_EXPECTED_LOG_H_
#define RETRACE_TOOLS_CLI_EXPECTED_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace retrace::cli {

struct ExpectedOp {
  std::string op;
  std::string run_id;
  std::string workflow, version, dedupe_key;
  std::string event_id, event_name, correlation_key, payload_json;
  std::string step_path;
  int64_t attempt = 0;
  std::string task_id;
  std::string outcome;
  std::vector<std::string> matched, resumed, started;
  std::string error;
  int64_t seed = 0;
  int64_t pid = 0;
  std::string at;
  // Where it was read from (1-based line number); 0 when not read.
  int64_t line = 0;
};

// One JSON line (without the newline), and back. FromJsonLine fails with
// INVALID_JSON when the line is not a JSON object.
std::string ToJsonLine(const ExpectedOp& op);
absl::StatusOr<ExpectedOp> FromJsonLine(const std::string& line);

struct ExpectedLog {
  std::vector<ExpectedOp> ops;
  // Lines that were not JSON objects (cut short by a kill).
  int64_t torn_lines = 0;
};

// Reads the log at `path`; a missing file is an empty log. Fails with
// FILE_IO when the file cannot be read.
absl::StatusOr<ExpectedLog> ReadExpectedLog(const std::string& path);

class ExpectedLogWriter {
 public:
  // Opens `path` for appending (creating it), and ends an unterminated last
  // line. Fails with FILE_IO.
  static absl::StatusOr<std::unique_ptr<ExpectedLogWriter>> Open(
      const std::string& path);
  ~ExpectedLogWriter();

  // Appends `op` as one line and returns once it is on disk (fdatasync).
  // Fails with FILE_IO; after a failure every later Append fails too.
  absl::Status Append(const ExpectedOp& op);
  // Appends `ops` in order, with one sync.
  absl::Status Append(const std::vector<ExpectedOp>& ops);

  int64_t lines_written() const;

 private:
  explicit ExpectedLogWriter(int fd) : fd_(fd) {}

  const int fd_;
  mutable absl::Mutex mu_;
  absl::CondVar synced_cv_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  int64_t appended_ ABSL_GUARDED_BY(mu_) = 0;  // lines handed to Append
  int64_t synced_ ABSL_GUARDED_BY(mu_) = 0;    // lines on disk
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_EXPECTED_LOG_H_
