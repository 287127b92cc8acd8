#include "signals/ndjson.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/utf8.h"
#include "expr/value.h"

namespace retrace::signals {
namespace {

absl::Status Bad(absl::string_view code, absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, code, message);
}

}  // namespace

absl::StatusOr<Event> ParseEventLine(absl::string_view line,
                                     absl::string_view default_ns,
                                     const LineLimits& limits) {
  if (line.size() > limits.max_line_bytes) {
    return Bad("EVENT_LINE_TOO_LONG",
               absl::StrCat("the line is ", line.size(), " bytes, limit ",
                            limits.max_line_bytes));
  }
  absl::StatusOr<expr::Value> doc = expr::ParseJson(line);
  if (!doc.ok()) {
    return Bad("EVENT_INVALID_JSON",
               absl::StrCat("not JSON: ", doc.status().message()));
  }
  if (!doc->IsObject())
    return Bad("EVENT_FIELD_TYPE", "an event is a JSON object");
  const expr::ObjectCell& o = doc->object();
  Event e;
  auto text = [&](const char* field, std::string* out,
                  bool required) -> absl::Status {
    const expr::Value* v = o.Find(field);
    if (v == nullptr || v->IsNull()) {
      return required ? Bad("EVENT_FIELD_MISSING",
                            absl::StrCat("\"", field, "\" is required"))
                      : absl::OkStatus();
    }
    if (v->IsString()) {
      // These strings become protobuf string fields (histories, audit
      // records), which must be UTF-8; JSON escapes can produce lone
      // surrogates, which are not.
      if (!IsValidUtf8(v->str())) {
        return Bad("EVENT_FIELD_TYPE",
                   absl::StrCat("\"", field, "\" is not valid UTF-8"));
      }
      *out = v->str();
    } else if (v->IsNumber() && std::string(field) == "correlation_key") {
      *out = expr::FormatNumber(v->number());
    } else {
      return Bad("EVENT_FIELD_TYPE",
                 absl::StrCat("\"", field, "\" must be a string"));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = text("id", &e.id, true); !s.ok()) return s;
  if (absl::Status s = text("name", &e.name, true); !s.ok()) return s;
  if (e.id.empty()) return Bad("EVENT_FIELD_MISSING", "\"id\" is empty");
  if (e.name.empty()) return Bad("EVENT_FIELD_MISSING", "\"name\" is empty");
  e.ns = std::string(default_ns);
  if (absl::Status s = text("namespace", &e.ns, false); !s.ok()) return s;
  if (absl::Status s = text("correlation_key", &e.correlation_key, false);
      !s.ok()) {
    return s;
  }
  if (const expr::Value* p = o.Find("payload"))
    e.payload_json = expr::ToJson(*p);
  std::string occurred;
  if (absl::Status s = text("occurred_at", &occurred, false); !s.ok()) return s;
  if (!occurred.empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, occurred, &t, &err)) {
      return Bad(
          "EVENT_FIELD_TYPE",
          absl::StrCat("\"occurred_at\" is not an RFC 3339 time: ", err));
    }
    e.occurred_at = t;
  }
  return e;
}

}  // namespace retrace::signals
