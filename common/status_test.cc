#include "common/status.h"

#include "common/status_macros.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ErrorTest, CarriesCodeStringAndMessage) {
  absl::Status s = Error(absl::StatusCode::kAborted, "HISTORY_CONFLICT",
                         "run r1: expected 4, is 6");
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ErrorCode(s), "HISTORY_CONFLICT");
  EXPECT_EQ(s.message(), "HISTORY_CONFLICT: run r1: expected 4, is 6");
}

TEST(ErrorTest, PlainStatusHasNoCodeString) {
  EXPECT_EQ(ErrorCode(absl::OkStatus()), "");
  EXPECT_EQ(ErrorCode(absl::InternalError("boom")), "");
}

TEST(AnnotateTest, KeepsCodeStringInFront) {
  absl::Status s = Annotate(
      Error(absl::StatusCode::kInvalidArgument, "BAD", "field x"), "line 3");
  EXPECT_THAT(s, HasErrorCode("BAD"));
  EXPECT_EQ(s.message(), "BAD: line 3: field x");
  EXPECT_THAT(Annotate(absl::NotFoundError("gone"), "file f"),
              StatusIs(absl::StatusCode::kNotFound, "file f: gone"));
  EXPECT_THAT(Annotate(absl::OkStatus(), "ctx"), IsOk());
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0)
    return Error(absl::StatusCode::kInvalidArgument, "ODD", "odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(MacrosTest, PropagateErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), HasErrorCode("ODD"));
  EXPECT_THAT(CheckEven(4), IsOk());
  EXPECT_THAT(CheckEven(3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("odd")));
}

}  // namespace
}  // namespace retrace
