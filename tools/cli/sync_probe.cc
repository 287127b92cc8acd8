#include "tools/cli/sync_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "tools/cli/engine_session.h"

namespace retrace::cli {
namespace {

absl::Status Failed(const std::string& path, absl::string_view call) {
  return Error(absl::StatusCode::kUnavailable, "SYNC_PROBE_FAILED",
               absl::StrCat(call, " ", path, ": ", std::strerror(errno)));
}

// Writes all of `data` at `offset`.
bool WriteAt(int fd, const char* data, size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t n = pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;  // no progress: not a stale errno in the message
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

}  // namespace

absl::StatusOr<SyncLatency> ProbeSyncLatency(const std::string& dir, int count,
                                             int bytes) {
  if (count <= 0 || bytes <= 0) {
    return Error(absl::StatusCode::kInvalidArgument, "USAGE",
                 absl::StrCat("a sync probe needs a positive count and size, "
                              "not ",
                              count, " writes of ", bytes, " bytes"));
  }
  static std::atomic<int> sequence{0};
  const std::string path =
      absl::StrCat(dir, "/sync-probe-", getpid(), "-", sequence.fetch_add(1));
  const int fd =
      open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Failed(path, "creating");
  absl::Cleanup remove = [fd, &path] {
    close(fd);
    unlink(path.c_str());
  };
  // Written and synced space first: each timed write then overwrites
  // allocated blocks and the file's size does not change, as in a
  // preallocated write-ahead log.
  const size_t total = static_cast<size_t>(count) * static_cast<size_t>(bytes);
  const std::vector<char> zeros(std::min<size_t>(total, 1 << 20), 0);
  for (size_t off = 0; off < total; off += zeros.size()) {
    if (!WriteAt(fd, zeros.data(), std::min(zeros.size(), total - off),
                 static_cast<off_t>(off))) {
      return Failed(path, "writing");
    }
  }
  if (fsync(fd) != 0) return Failed(path, "syncing");

  const std::vector<char> block(static_cast<size_t>(bytes), 'x');
  std::vector<absl::Duration> took;
  took.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const absl::Time start = absl::Now();
    if (!WriteAt(fd, block.data(), block.size(),
                 static_cast<off_t>(i) * bytes)) {
      return Failed(path, "writing");
    }
    if (fdatasync(fd) != 0) return Failed(path, "syncing");
    took.push_back(absl::Now() - start);
  }
  std::sort(took.begin(), took.end());
  SyncLatency latency;
  latency.p50 = Quantile(took, 0.50);
  latency.p90 = Quantile(took, 0.90);
  latency.writes = count;
  latency.bytes = bytes;
  return latency;
}

std::string FormatSyncLatency(const SyncLatency& latency) {
  return absl::StrFormat(
      "%d-byte synced write p50 %d µs, p90 %d µs (%d writes)", latency.bytes,
      absl::ToInt64Microseconds(latency.p50),
      absl::ToInt64Microseconds(latency.p90), latency.writes);
}

}  // namespace retrace::cli
