// libFuzzer target for NDJSON event ingest (signals/ndjson.h): the input is
// an NDJSON document; each non-blank line is parsed as `retrace signal
// ingest` parses it, and each event that parses has its correlation key
// resolved against a fixed configuration (signals/correlation.h), on the
// object ingress builds (signals/event.h). Invariants checked:
//   - a parsed event has an id and a name, and its id, name, namespace and
//     correlation key are valid UTF-8 (they become protobuf string fields
//     of the runs' histories and of the audit records);
//   - its payload_json is JSON that ingress can parse again, already in
//     compact form (parse + print gives the same text);
//   - an explicit correlation_key always wins resolution, and a resolved key
//     names its source.
// Build and run with tools/fuzz; //signals/fuzz:ndjson_fuzz_corpus_test
// replays the seed corpus (testdata/fuzz/ndjson) under Bazel.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/fuzz/check.h"
#include "common/utf8.h"
#include "expr/value.h"
#include "signals/correlation.h"
#include "signals/event.h"
#include "signals/ndjson.h"

namespace retrace::signals {
namespace {

const CorrelationConfig& Config() {
  static const CorrelationConfig* config = [] {
    absl::StatusOr<CorrelationConfig> c = CorrelationConfig::Parse(R"json({
      "order.paid": ["payload.order.id", "payload.refs[0]"],
      "payment.settled": ["$string(payload.amount)"],
      "*": ["payload.customer.id", "occurred_at", "id & '-' & name"]})json");
    FUZZ_CHECK(c.ok(), c.status());
    return new CorrelationConfig(*std::move(c));
  }();
  return *config;
}

void FuzzLine(absl::string_view line) {
  absl::StatusOr<Event> e = ParseEventLine(line, "default");
  if (!e.ok()) return;
  FUZZ_CHECK(!e->id.empty() && !e->name.empty(), "no id or name: " << line);
  for (const std::string* s : {&e->id, &e->name, &e->ns, &e->correlation_key}) {
    FUZZ_CHECK(IsValidUtf8(*s), "not UTF-8: \"" << *s << "\"");
  }
  absl::StatusOr<expr::Value> payload = expr::ParseJson(e->payload_json);
  FUZZ_CHECK(payload.ok(),
             "payload_json does not parse again: " << payload.status() << "\n"
                                                   << e->payload_json);
  FUZZ_CHECK(expr::ToJson(*payload) == e->payload_json,
             "payload_json is not in compact form: " << e->payload_json);
  Resolution r = Config().Resolve(e->correlation_key, EventValue(*e, *payload),
                                  e->name, 1767323045000);
  if (!e->correlation_key.empty()) {
    FUZZ_CHECK(r.key == e->correlation_key && r.source == "explicit",
               "the explicit key lost to " << r.source);
  }
  FUZZ_CHECK(!r.resolved() || !r.source.empty(), "a key with no source");
}

}  // namespace
}  // namespace retrace::signals

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.find_first_not_of(" \t\r") == absl::string_view::npos) continue;
    retrace::signals::FuzzLine(line);
  }
  return 0;
}
