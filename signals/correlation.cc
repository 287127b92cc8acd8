#include "signals/correlation.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/status.h"
#include "common/status_macros.h"

namespace retrace::signals {
namespace {

absl::Status ConfigError(absl::string_view where, absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, "CORRELATION_CONFIG_INVALID",
               absl::StrCat(where, ": ", message));
}

// A key is a non-empty string or a number.
std::optional<std::string> KeyOf(const expr::Value& v) {
  if (v.IsString() && !v.str().empty()) return v.str();
  if (v.IsNumber()) return expr::FormatNumber(v.number());
  return std::nullopt;
}

std::string Escape(absl::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<CorrelationConfig> CorrelationConfig::Parse(
    absl::string_view json) {
  absl::StatusOr<expr::Value> doc = expr::ParseJson(json);
  if (!doc.ok()) return ConfigError("(document)", doc.status().message());
  if (!doc->IsObject()) {
    return ConfigError("(document)",
                       "expected an object of event name -> list of paths");
  }
  CorrelationConfig config;
  for (const auto& [name, list] : doc->object().entries) {
    const std::string where = absl::StrCat("/", Escape(name));
    if (name.empty()) return ConfigError(where, "an empty event name");
    if (!list.IsArray()) {
      return ConfigError(where, "expected a list of JSONata paths");
    }
    std::vector<Path>& paths = config.paths_[name];
    for (size_t i = 0; i < list.items().size(); ++i) {
      const expr::Value& p = list.items()[i];
      const std::string at = absl::StrCat(where, "/", i);
      if (!p.IsString() || p.str().empty()) {
        return ConfigError(at, "a path must be a non-empty string");
      }
      absl::StatusOr<runtime::Expression> compiled =
          runtime::Expression::Compile(p.str());
      if (!compiled.ok()) {
        return ConfigError(
            at,
            absl::StrCat("\"", p.str(), "\": ", compiled.status().message()));
      }
      paths.push_back({p.str(), *std::move(compiled)});
    }
  }
  return config;
}

absl::StatusOr<CorrelationConfig> CorrelationConfig::Load(
    const std::string& path) {
  if (!path.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(path);
    if (!text.ok()) return Annotate(text.status(), "correlation config");
    absl::StatusOr<CorrelationConfig> parsed = Parse(*text);
    if (!parsed.ok()) return Annotate(parsed.status(), path);
    return parsed;
  }
  if (const char* env = std::getenv("RETRACE_CORRELATION_PATHS_JSON")) {
    absl::StatusOr<CorrelationConfig> parsed = Parse(env);
    if (!parsed.ok()) {
      return Annotate(parsed.status(), "RETRACE_CORRELATION_PATHS_JSON");
    }
    return parsed;
  }
  return CorrelationConfig();
}

Resolution CorrelationConfig::Resolve(absl::string_view explicit_key,
                                      const expr::Value& event,
                                      absl::string_view event_name,
                                      int64_t now_ms) const {
  if (!explicit_key.empty()) return {std::string(explicit_key), "explicit"};
  const expr::Value* payload =
      event.IsObject() ? event.object().Find("payload") : nullptr;
  if (payload != nullptr && payload->IsObject()) {
    for (const char* field : {"workflowCorrelationKey", "correlationKey"}) {
      const expr::Value* v = payload->object().Find(field);
      if (v == nullptr) continue;
      if (auto key = KeyOf(*v)) return {*key, absl::StrCat("payload.", field)};
    }
  }
  for (absl::string_view list : {event_name, absl::string_view("*")}) {
    auto it = paths_.find(list);
    if (it == paths_.end()) continue;
    for (const Path& p : it->second) {
      absl::StatusOr<expr::Value> v = p.expression.Evaluate(event, now_ms);
      if (!v.ok()) continue;
      if (auto key = KeyOf(*v)) return {*key, absl::StrCat("path:", p.source)};
    }
  }
  return {};
}

}  // namespace retrace::signals
