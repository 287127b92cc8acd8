// Correlation: which business key an ingested event carries, so it can reach
// the runs waiting for it (docs/signals.md).
//
// Resolution order, stopping at the first hit:
//   1. the event's own `correlation_key`                    source "explicit"
//   2. payload.workflowCorrelationKey "payload.workflowCorrelationKey"
//   3. payload.correlationKey "payload.correlationKey"
//   4. configured JSONata paths for the event's name, then
//      those for "*", each evaluated on the event
//      ({id, name, namespace, payload, occurred_at})         "path:<expr>"
// A hit is a non-empty string or a number. There is never a fallback to the
// event id: an event whose key cannot be resolved routes to no wait.
//
// Thread safety: a CorrelationConfig is immutable after loading and may be
// shared by threads.
#ifndef RETRACE_SIGNALS_CORRELATION_H_
#define RETRACE_SIGNALS_CORRELATION_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "expr/value.h"
#include "runtime/expression.h"

namespace retrace::signals {

struct Resolution {
  std::string key;     // empty when unresolved
  std::string source;  // "explicit", "payload.correlationKey", "path:...", ""
  bool resolved() const { return !key.empty(); }
};

class CorrelationConfig {
 public:
  // No configured paths.
  CorrelationConfig() = default;

  // Parses `{"event.name": ["path", ...], "*": ["path", ...]}`. Fails with
  // kInvalidArgument / CORRELATION_CONFIG_INVALID naming the bad entry
  // ("/order.paid/1: ...").
  static absl::StatusOr<CorrelationConfig> Parse(absl::string_view json);

  // The configuration a process starts with: the file `path` when given
  // (it wins), else the environment variable RETRACE_CORRELATION_PATHS_JSON,
  // else none. Errors name the source.
  static absl::StatusOr<CorrelationConfig> Load(const std::string& path);

  // Resolves the key of an event; `event` is the object paths see.
  Resolution Resolve(absl::string_view explicit_key, const expr::Value& event,
                     absl::string_view event_name, int64_t now_ms) const;

 private:
  struct Path {
    std::string source;
    runtime::Expression expression;
  };
  std::map<std::string, std::vector<Path>, std::less<>> paths_;
};

}  // namespace retrace::signals

#endif  // RETRACE_SIGNALS_CORRELATION_H_
