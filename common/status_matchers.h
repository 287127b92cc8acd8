// gMock matchers for absl::Status / absl::StatusOr in tests.
//
//   EXPECT_THAT(store.Append(req), IsOk());
//   EXPECT_THAT(store.Append(req), StatusIs(absl::StatusCode::kAborted,
//                                           HasSubstr("expected next")));
//   EXPECT_THAT(store.Append(req), HasErrorCode("HISTORY_CONFLICT"));
#ifndef RETRACE_COMMON_STATUS_MATCHERS_H_
#define RETRACE_COMMON_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::testing {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << status.ToString();
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << status.ToString();
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << status.ToString();
  return status.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(status.message()), result_listener);
}

MATCHER_P(HasErrorCode, error_code,
          "has error code " + std::string(error_code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << status.ToString();
  return retrace::ErrorCode(status) == error_code;
}

}  // namespace retrace::testing

#endif  // RETRACE_COMMON_STATUS_MATCHERS_H_
