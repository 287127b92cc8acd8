// Key encodings of the history store. Identifiers never contain control bytes
// (validation.h), so '\0' separates components and keys sort by namespace,
// then run id, then event id:
//
//   history key := namespace '\0' run_id '\0' event_id(8 bytes, big-endian)
//   run key     := namespace '\0' run_id
#ifndef RETRACE_HISTORY_INTERNAL_KEYS_H_
#define RETRACE_HISTORY_INTERNAL_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace retrace::history::internal {

inline void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

inline uint64_t DecodeBigEndian64(absl::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

inline std::string RunKey(absl::string_view ns, absl::string_view run_id) {
  return absl::StrCat(ns, absl::string_view("\0", 1), run_id);
}

// All history keys of a run start with this prefix.
inline std::string HistoryPrefix(absl::string_view ns,
                                 absl::string_view run_id) {
  return absl::StrCat(ns, absl::string_view("\0", 1), run_id,
                      absl::string_view("\0", 1));
}

inline std::string HistoryKey(absl::string_view ns, absl::string_view run_id,
                              int64_t event_id) {
  std::string key = HistoryPrefix(ns, run_id);
  AppendBigEndian64(&key, static_cast<uint64_t>(event_id));
  return key;
}

// The smallest key greater than every key starting with `prefix`, or "" when
// there is none (prefix of all 0xff bytes).
inline std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace retrace::history::internal

#endif  // RETRACE_HISTORY_INTERNAL_KEYS_H_
