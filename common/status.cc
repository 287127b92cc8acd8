#include "common/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace retrace {

absl::Status Error(absl::StatusCode code, absl::string_view error_code,
                   absl::string_view message) {
  absl::Status status(code, absl::StrCat(error_code, ": ", message));
  status.SetPayload(kErrorCodeUrl, absl::Cord(error_code));
  return status;
}

std::string ErrorCode(const absl::Status& status) {
  if (status.ok()) return "";
  auto payload = status.GetPayload(kErrorCodeUrl);
  return payload.has_value() ? std::string(*payload) : std::string();
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  std::string error_code = ErrorCode(status);
  absl::string_view message = status.message();
  // Keep the code string leading the message: "CODE: context: rest".
  if (!error_code.empty() &&
      absl::StartsWith(message, absl::StrCat(error_code, ": "))) {
    message.remove_prefix(error_code.size() + 2);
    return Error(status.code(), error_code,
                 absl::StrCat(context, ": ", message));
  }
  absl::Status annotated(status.code(), absl::StrCat(context, ": ", message));
  return annotated;
}

}  // namespace retrace
