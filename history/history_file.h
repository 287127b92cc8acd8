// History files: one run's history on disk, for export, import, replay and
// debugging (docs/history-format.md#files).
//
// Two formats, told apart by their first bytes:
//   JSON    The protobuf JSON of `History` with one event per line, and one
//           readability rule: a Payload whose encoding is "json/plain" shows
//           its JSON as `"json": <value>` instead of base64 `"data"` whenever
//           that is lossless (the compact JSON is byte-identical to the
//           stored bytes). Import accepts both spellings.
//   binary  "RTRCHST1" (8 bytes), then a length-delimited (varint32 size +
//           bytes) `History` holding only namespace and run_id, then one
//           length-delimited `HistoryEvent` per event.
//
// Reading validates everything the store would on append (validation.h) and
// names the place of the first problem: "line 7" in JSON, "record 3 at byte
// 120" in binary.
//
// Thread safety: HistoryFileWriter is not thread-safe; the functions are.
//
// Example:
//   HistoryFileWriter writer(&std::cout, HistoryFileFormat::kJson);
//   RETURN_IF_ERROR(writer.Begin("default", "order-17"));
//   for (...) RETURN_IF_ERROR(writer.Add(event));
//   RETURN_IF_ERROR(writer.Finish());
//
//   ASSIGN_OR_RETURN(History h, ReadHistoryFile("order-17.json"));
#ifndef RETRACE_HISTORY_HISTORY_FILE_H_
#define RETRACE_HISTORY_HISTORY_FILE_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "history/history.pb.h"

namespace retrace::history {

enum class HistoryFileFormat { kJson, kBinary };

inline constexpr absl::string_view kBinaryMagic = "RTRCHST1";

struct HistoryFileOptions {
  // Largest payload accepted on read, as StoreOptions::max_payload_bytes.
  // Default: 2 MiB
  int64_t max_payload_bytes = 2 << 20;
  // Largest single binary record (a guard against corrupt lengths).
  // Default: 64 MiB
  int64_t max_record_bytes = 64 << 20;
  // Largest history file ReadHistoryFile / ParseHistoryFile accept; a larger
  // one fails with HISTORY_FILE_TOO_LARGE before it is read.
  // Default: 1 GiB
  int64_t max_file_bytes = int64_t{1} << 30;
};

// Writes one history file to a stream, one event at a time.
class HistoryFileWriter {
 public:
  // `out` must outlive the writer.
  HistoryFileWriter(std::ostream* out, HistoryFileFormat format)
      : out_(out), format_(format) {}

  // Writes the header. Call once, first.
  absl::Status Begin(absl::string_view ns, absl::string_view run_id);
  // Writes one event. REQUIRES: Begin() succeeded.
  absl::Status Add(const HistoryEvent& event);
  // Writes the trailer and flushes. Fails with kUnavailable / FILE_IO when the
  // stream has failed.
  absl::Status Finish();

 private:
  std::ostream* out_;
  HistoryFileFormat format_;
  int64_t count_ = 0;
};

// Parses a history file's contents (either format), validating ids, order,
// types, times and payload sizes. Fails with kInvalidArgument and
// HISTORY_FILE_INVALID for syntax errors, or the validation code
// (INVALID_EVENT_ID, ...) for a malformed history, naming the line or record.
absl::StatusOr<History> ParseHistoryFile(
    absl::string_view contents, const HistoryFileOptions& options = {});

// Reads and parses the file at `path`; errors are prefixed with the path.
// kNotFound / FILE_IO when it cannot be read.
absl::StatusOr<History> ReadHistoryFile(const std::string& path,
                                        const HistoryFileOptions& options = {});

// The whole file contents for `history` (convenience over HistoryFileWriter).
absl::StatusOr<std::string> FormatHistoryFile(const History& history,
                                              HistoryFileFormat format);

}  // namespace retrace::history

#endif  // RETRACE_HISTORY_HISTORY_FILE_H_
