#include "expr/internal/signature.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr::internal {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;

std::shared_ptr<const Signature> Sig(const char* text) {
  auto s = ParseSignature(text, 0);
  EXPECT_THAT(s, IsOk());
  return *s;
}

TEST(SignatureTest, AcceptsMatchingArguments) {
  auto sig = Sig("<s-nn?:s>");
  auto args = ValidateArgs(*sig, {Value::String("abc"), Value::Number(1)},
                           Value(), "$substring", 0);
  ASSERT_THAT(args, IsOk());
  EXPECT_EQ(args->size(), 3u);
}

TEST(SignatureTest, SubstitutesContext) {
  auto sig = Sig("<s-:s>");
  auto args = ValidateArgs(*sig, {}, Value::String("ctx"), "$uppercase", 0);
  ASSERT_THAT(args, IsOk());
  ASSERT_EQ(args->size(), 1u);
  EXPECT_EQ((*args)[0].str(), "ctx");
  EXPECT_THAT(ValidateArgs(*sig, {}, Value::Number(1), "$uppercase", 0),
              HasErrorCode("T0411"));
}

TEST(SignatureTest, RejectsWrongTypes) {
  auto sig = Sig("<s-:s>");
  EXPECT_THAT(ValidateArgs(*sig, {Value::Number(1)}, Value(), "$uppercase", 0),
              HasErrorCode("T0410"));
}

TEST(SignatureTest, ChecksArrayItemTypesAndWrapsSingletons) {
  auto sig = Sig("<a<n>:n>");
  auto wrapped = ValidateArgs(*sig, {Value::Number(2)}, Value(), "$sum", 0);
  ASSERT_THAT(wrapped, IsOk());
  EXPECT_TRUE((*wrapped)[0].IsArray());
  EXPECT_THAT(ValidateArgs(*sig, {Value::Array({Value::String("x")})}, Value(),
                           "$sum", 0),
              HasErrorCode("T0412"));
}

TEST(SignatureTest, VariadicParameters) {
  auto sig = Sig("<a+>");
  auto args =
      ValidateArgs(*sig, {Value::Array(), Value::Array(), Value::Array()},
                   Value(), "$zip", 0);
  ASSERT_THAT(args, IsOk());
  EXPECT_EQ(args->size(), 3u);
}

TEST(SignatureTest, BadSignatures) {
  EXPECT_THAT(ParseSignature("<q>", 0), HasErrorCode("S0401"));
  EXPECT_THAT(ParseSignature("<(a<n>)>", 0), HasErrorCode("S0402"));
}

}  // namespace
}  // namespace retrace::expr::internal
