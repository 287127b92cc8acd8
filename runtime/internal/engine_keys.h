// Keys of the engine's rows in the history store's key spaces. Identifiers
// never contain control bytes (history/validation.h), so '\0' separates
// components; times and sequences are 8-byte big-endian so keys sort by them.
//
//   kDefinitions  ns \0 name                         WorkflowRecord
//                 ns \0 name \0 version              DefinitionRecord
//   kRunState     ns \0 run                          RunRecord
//                 \x01 "can" \0 ns \0 run            StartRunRequest (a
//                                                    continue-as-new start
//                                                    not yet done)
//   kTasks        queue \0 ready_ms \0 ns \0 run \0 scheduled_event_id
//   kTimers       fire_ms \0 ns \0 run \0 kind \0 id
//   kWaits        ns \0 event \0 correlation_key \0 run \0 wait_id
//   kDedupe       ns \0 workflow \0 dedupe_key       DedupeRecord
//   kOutbox       sequence                           history::OutboxEntry
//   kAudit        "start" \0 sequence                StartAuditRecord
//   kWorkers      worker_id                          WorkerRecord
#ifndef RETRACE_RUNTIME_INTERNAL_ENGINE_KEYS_H_
#define RETRACE_RUNTIME_INTERNAL_ENGINE_KEYS_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace retrace::runtime::internal {

inline std::string Join(std::initializer_list<absl::string_view> parts) {
  std::string out;
  bool first = true;
  for (absl::string_view p : parts) {
    if (!first) out.push_back('\0');
    out.append(p.data(), p.size());
    first = false;
  }
  return out;
}

inline std::string BigEndian(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

inline uint64_t FromBigEndian(absl::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  }
  return v;
}

inline uint64_t TimeKey(absl::Time t) {
  int64_t ms = absl::ToUnixMillis(t);
  return static_cast<uint64_t>(ms < 0 ? 0 : ms);
}

inline std::string RunKey(absl::string_view ns, absl::string_view run) {
  return Join({ns, run});
}
inline std::string ContinueKey(absl::string_view ns, absl::string_view run) {
  return Join(
      {"\x01"
       "can",
       ns, run});
}
inline std::string TaskKey(absl::string_view queue, absl::Time ready,
                           absl::string_view ns, absl::string_view run,
                           int64_t scheduled_event_id) {
  return Join({queue, BigEndian(TimeKey(ready)), ns, run,
               BigEndian(static_cast<uint64_t>(scheduled_event_id))});
}
inline std::string TimerKey(absl::Time fire, absl::string_view ns,
                            absl::string_view run, absl::string_view kind,
                            absl::string_view id) {
  return Join({BigEndian(TimeKey(fire)), ns, run, kind, id});
}
inline std::string WaitKey(absl::string_view ns, absl::string_view event,
                           absl::string_view key, absl::string_view run,
                           absl::string_view wait_id) {
  return Join({ns, event, key, run, wait_id});
}
inline std::string DedupeKey(absl::string_view ns, absl::string_view workflow,
                             absl::string_view key) {
  return Join({ns, workflow, key});
}
inline std::string WorkflowKey(absl::string_view ns, absl::string_view name) {
  return Join({ns, name});
}
inline std::string DefinitionKey(absl::string_view ns, absl::string_view name,
                                 absl::string_view version) {
  return Join({ns, name, version});
}

}  // namespace retrace::runtime::internal

#endif  // RETRACE_RUNTIME_INTERNAL_ENGINE_KEYS_H_
