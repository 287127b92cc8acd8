// libFuzzer target for the correlation configuration (signals/correlation.h):
// the input is a configuration document (event name -> list of JSONata
// paths). Every document must load or fail with a status, without crashing.
// A configuration that loads resolves a few fixed events; invariants: an
// explicit key always wins, and a resolved key names its source.
// Build and run with tools/fuzz;
// //signals/fuzz:correlation_config_fuzz_corpus_test replays the seed corpus
// (testdata/fuzz/correlation_config) under Bazel.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/fuzz/check.h"
#include "expr/value.h"
#include "signals/correlation.h"
#include "signals/event.h"

namespace retrace::signals {
namespace {

struct Sample {
  Event event;
  expr::Value payload;
};

const std::vector<Sample>& Samples() {
  static const std::vector<Sample>* samples = [] {
    auto* out = new std::vector<Sample>;
    const char* payloads[][2] = {
        {"order.paid", R"({"order": {"id": "SO-1"}, "refs": ["r1", 2]})"},
        {"payment.settled", R"({"amount": 120.5, "customer": {"id": 7}})"},
        {"anything", R"([1, "two", {"three": null}])"},
        {"empty", "null"},
    };
    for (const auto& [name, payload] : payloads) {
      Sample s;
      s.event.id = "evt-1";
      s.event.name = name;
      s.event.payload_json = payload;
      s.event.occurred_at = absl::FromUnixSeconds(1767323045);
      absl::StatusOr<expr::Value> v = expr::ParseJson(payload);
      FUZZ_CHECK(v.ok(), v.status());
      s.payload = *std::move(v);
      out->push_back(std::move(s));
    }
    return out;
  }();
  return *samples;
}

void FuzzConfig(absl::string_view json) {
  absl::StatusOr<CorrelationConfig> config = CorrelationConfig::Parse(json);
  if (!config.ok()) return;
  for (const Sample& s : Samples()) {
    const expr::Value event = EventValue(s.event, s.payload);
    Resolution r = config->Resolve("", event, s.event.name, 1767323045000);
    FUZZ_CHECK(!r.resolved() || !r.source.empty(), "a key with no source");
    r = config->Resolve("E-1", event, s.event.name, 1767323045000);
    FUZZ_CHECK(r.key == "E-1" && r.source == "explicit",
               "the explicit key lost to " << r.source);
  }
}

}  // namespace
}  // namespace retrace::signals

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  retrace::signals::FuzzConfig(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
