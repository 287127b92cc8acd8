// libFuzzer target for history file import (history/history_file.h): the
// input is a history file's contents, JSON or binary ("RTRCHST1" header).
// Every input must import or fail with a status, without crashing. A history
// that imports is valid, so it must also
//   - give the readable JSON line of each event (EventToJson), and
//   - export to either format and import back to the same events.
// Build and run with tools/fuzz; //history/fuzz:history_file_fuzz_corpus_test
// replays the seed corpus (testdata/fuzz/history_file) under Bazel.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "common/fuzz/check.h"
#include "google/protobuf/util/message_differencer.h"
#include "history/history_file.h"

namespace retrace::history {
namespace {

void CheckRoundTrip(const History& h, HistoryFileFormat format) {
  absl::StatusOr<std::string> file = FormatHistoryFile(h, format);
  FUZZ_CHECK(file.ok(), "export failed: " << file.status());
  absl::StatusOr<History> again = ParseHistoryFile(*file);
  FUZZ_CHECK(again.ok(), "re-import failed: " << again.status() << "\n"
                                              << *file);
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  FUZZ_CHECK(differencer.Compare(h, *again), "re-import differs:\n"
                                                 << diff << "file:\n"
                                                 << *file);
}

void FuzzHistoryFile(absl::string_view contents) {
  absl::StatusOr<History> h = ParseHistoryFile(contents);
  if (!h.ok()) return;
  for (const HistoryEvent& event : h->events()) {
    absl::StatusOr<std::string> line = EventToJson(event);
    FUZZ_CHECK(line.ok(),
               "an imported event has no JSON line: " << line.status() << "\n"
                                                      << event.DebugString());
  }
  CheckRoundTrip(*h, HistoryFileFormat::kJson);
  CheckRoundTrip(*h, HistoryFileFormat::kBinary);
}

}  // namespace
}  // namespace retrace::history

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  retrace::history::FuzzHistoryFile(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
