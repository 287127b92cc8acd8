#include "projection/masking.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::projection {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MaskingTest, EmailsArePartlyMasked) {
  EXPECT_EQ(MaskText("jane.doe@example.com"), "j***@example.com");
  EXPECT_EQ(MaskText("mail a@b.io and Zed+x@mail.example.org now"),
            "mail a***@b.io and Z***@mail.example.org now");
  EXPECT_EQ(MaskText("no email here"), "no email here");
}

TEST(MaskingTest, SecretsAreRedactedFully) {
  EXPECT_EQ(
      MaskJson(
          R"({"user":"ada","password":"hunter2","nested":{"API_KEY":"k1","Authorization":"x"},"db_token":42})"),
      R"({"user":"ada","password":"***","nested":{"API_KEY":"***","Authorization":"***"},"db_token":"***"})");
  EXPECT_EQ(MaskJson(R"({"secrets":{"a":"b","list":["c"]}})"),
            R"({"secrets":{"a":"***","list":["***"]}})");
  EXPECT_EQ(MaskText("Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"), "***");
  EXPECT_EQ(MaskText("sk_live_51H8abc"), "***");
  EXPECT_EQ(MaskText("AKIAIOSFODNN7EXAMPLE"), "***");
  EXPECT_EQ(MaskText("0123456789abcdef0123456789abcdef01"),
            "***");  // opaque token
  EXPECT_EQ(MaskText("a perfectly normal sentence of words"),
            "a perfectly normal sentence of words");
  EXPECT_EQ(MaskJson(R"({"to":"jane@example.com","amount":12.5})"),
            R"({"to":"j***@example.com","amount":12.5})");
  EXPECT_THAT(MaskJson("not json jane@example.com"), Not(HasSubstr("jane@")));
}

}  // namespace
}  // namespace retrace::projection
