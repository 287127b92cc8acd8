#include "signals/event.h"

namespace retrace::signals {

expr::Value EventValue(const Event& e, const expr::Value& payload) {
  expr::Value v = expr::Value::Object();
  auto* o = v.MutableObject();
  o->Set("id", expr::Value::String(e.id));
  o->Set("name", expr::Value::String(e.name));
  o->Set("namespace", expr::Value::String(e.ns));
  o->Set("payload", payload);
  if (e.occurred_at) {
    o->Set("occurred_at",
           expr::Value::String(absl::FormatTime(
               absl::RFC3339_full, *e.occurred_at, absl::UTCTimeZone())));
  }
  return v;
}

}  // namespace retrace::signals
