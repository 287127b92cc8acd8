// libFuzzer target for the expression engine: parser, compile checks and
// evaluator under a tight sandbox. Input: the first line is the expression,
// the rest (if any) is the JSON input. Build and run with tools/fuzz
// (clang, -fsanitize=fuzzer,address,undefined; docs/expressions.md#fuzzing).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "expr/expr.h"
#include "expr/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  const size_t newline = text.find('\n');
  const std::string source = text.substr(0, newline);
  const std::string json =
      newline == std::string::npos ? std::string() : text.substr(newline + 1);
  retrace::expr::Options options;
  options.max_steps = 200000;
  options.max_wall_time = absl::Milliseconds(200);
  options.max_output_bytes = 1 << 20;
  options.max_sequence_length = 100000;
  absl::StatusOr<retrace::expr::CompiledExpression> compiled =
      retrace::expr::Compile(source, options);
  if (!compiled.ok()) return 0;
  retrace::expr::Value input;
  if (!json.empty()) {
    absl::StatusOr<retrace::expr::Value> parsed =
        retrace::expr::ParseJson(json);
    if (parsed.ok()) input = *std::move(parsed);
  }
  retrace::expr::FixedClock clock(1767323045000);
  absl::StatusOr<retrace::expr::Value> result =
      compiled->Evaluate(input, retrace::expr::Value(), &clock);
  if (result.ok()) (void)retrace::expr::ToJson(*result);
  return 0;
}
