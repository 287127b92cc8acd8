// SyncProbe: how long this disk takes to make a small write durable, the
// floor under every synced commit (a WAL append + fdatasync). `retrace
// bench` prints it beside its figures, which move with it.
//
//   absl::StatusOr<SyncLatency> l = ProbeSyncLatency("/path/on/the/disk");
//   // l->p50, l->p90
//
// The probe writes `count` blocks of `bytes` one after another into a file in
// `dir` whose space was written (and synced) beforehand, each followed by
// fdatasync, as a preallocated WAL does; the file is removed afterwards.
//
// Thread safety: pure function (its file name is unique per call).
#ifndef RETRACE_TOOLS_CLI_SYNC_PROBE_H_
#define RETRACE_TOOLS_CLI_SYNC_PROBE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace retrace::cli {

struct SyncLatency {
  absl::Duration p50;
  absl::Duration p90;
  int writes = 0;
  int bytes = 0;
};

// Fails with SYNC_PROBE_FAILED naming the file and the call when `dir` is
// not a writable directory or a write or sync fails; kInvalidArgument /
// USAGE when count or bytes is not positive.
absl::StatusOr<SyncLatency> ProbeSyncLatency(const std::string& dir,
                                             int count = 500, int bytes = 512);

// "512-byte synced write p50 88 µs, p90 137 µs (500 writes)".
std::string FormatSyncLatency(const SyncLatency& latency);

}  // namespace retrace::cli

#endif  // RETRACE_TOOLS_CLI_SYNC_PROBE_H_
