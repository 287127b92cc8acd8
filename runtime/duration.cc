#include "runtime/duration.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace retrace::runtime {
namespace {

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return Error(absl::StatusCode::kInvalidArgument, "INVALID_DURATION",
               absl::StrCat("\"", text, "\" is not a duration: ", why,
                            " (use e.g. \"90s\", \"2h\", \"1h30m\", \"30d\")"));
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  if (text.empty()) return Invalid(text, "it is empty");
  if (text[0] == '-') return Invalid(text, "durations cannot be negative");
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      return Invalid(text, absl::StrCat("expected a number at offset ", i));
    }
    int64_t n = 0;
    while (i < text.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > (int64_t{1} << 40))
        return Invalid(text, "the number is too large");
      ++i;
    }
    size_t unit_start = i;
    while (i < text.size() &&
           absl::ascii_isalpha(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    absl::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit == "ms") {
      total += absl::Milliseconds(n);
    } else if (unit == "s") {
      total += absl::Seconds(n);
    } else if (unit == "m") {
      total += absl::Minutes(n);
    } else if (unit == "h") {
      total += absl::Hours(n);
    } else if (unit == "d") {
      total += absl::Hours(24 * n);
    } else if (unit.empty()) {
      return Invalid(text, "a unit (ms, s, m, h, d) is missing");
    } else {
      return Invalid(text, absl::StrCat("unknown unit \"", unit, "\""));
    }
  }
  return total;
}

std::string DurationToString(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return "0s";
  int64_t ms = absl::ToInt64Milliseconds(d);
  std::string out;
  const std::pair<int64_t, const char*> units[] = {
      {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [size, name] : units) {
    if (ms >= size) {
      absl::StrAppend(&out, ms / size, name);
      ms %= size;
    }
  }
  return out;
}

}  // namespace retrace::runtime
