// An external event as signal ingress sees it (ingress.h), and the object
// correlation paths and triggers evaluate it as (correlation.h).
//
//   Event e;
//   e.id = "evt-1";
//   e.name = "payment.settled";
//   expr::Value scope = EventValue(e, *expr::ParseJson(e.payload_json));
//
// Thread safety: plain values and a pure function.
#ifndef RETRACE_SIGNALS_EVENT_H_
#define RETRACE_SIGNALS_EVENT_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "expr/value.h"

namespace retrace::signals {

struct Event {
  std::string id;  // required, unique per namespace
  std::string name;
  std::string ns = "default";
  std::string payload_json = "null";
  std::string correlation_key;  // optional explicit key
  std::optional<absl::Time> occurred_at;
};

// {id, name, namespace, payload, occurred_at (RFC 3339, when known)}: what
// correlation paths see. `payload` is the parsed `e.payload_json`.
expr::Value EventValue(const Event& e, const expr::Value& payload);

}  // namespace retrace::signals

#endif  // RETRACE_SIGNALS_EVENT_H_
