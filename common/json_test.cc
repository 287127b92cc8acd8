#include "common/json.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::json {
namespace {

using ::testing::HasSubstr;

// Found by tools/fuzz ndjson (UBSan: "passing zero to clz()"): RapidJSON's
// full-precision path read "0e51" as -2.48e-265 (GCC) or 3.38e+125 (clang).
TEST(JsonTest, ZerosWithLargeExponentsAreZero) {
  rapidjson::Document doc;
  const std::string thirty_zeros = "0." + std::string(30, '0');
  ASSERT_FALSE(
      Parse("[0e51, 0.0e-30, -0E+99, " + thirty_zeros + ", -0.0, 0.0, 0e0]",
            Utf8::kRequire, &doc)
          .IsError());
  ASSERT_EQ(doc.Size(), 7u);
  for (const auto& v : doc.GetArray()) {
    ASSERT_TRUE(v.IsDouble());
    EXPECT_EQ(v.GetDouble(), 0.0);
  }
  EXPECT_TRUE(std::signbit(doc[2].GetDouble()));
  EXPECT_TRUE(std::signbit(doc[4].GetDouble()));
  EXPECT_FALSE(std::signbit(doc[0].GetDouble()));
}

// Found by tools/fuzz ndjson (the same UBSan report, another path):
// RapidJSON rounded a significand of 2^64 - 1 up to 0 and read
// 184467440737095516159 as -2.0e264.
TEST(JsonTest, SignificandsOfAllOnesAreRead) {
  rapidjson::Document doc;
  ASSERT_FALSE(Parse("[184467440737095516159, -18446744073709551615709551615, "
                     "18446744073709551615.9, 1.84467440737095516159e5]",
                     Utf8::kRequire, &doc)
                   .IsError());
  EXPECT_EQ(doc[0].GetDouble(), 184467440737095516159.0);
  EXPECT_EQ(doc[1].GetDouble(), -18446744073709551615709551615.0);
  EXPECT_EQ(doc[2].GetDouble(), 18446744073709551615.9);
  EXPECT_EQ(doc[3].GetDouble(), 1.84467440737095516159e5);
}

TEST(JsonTest, OtherNumbersAsRapidJsonReadsThem) {
  rapidjson::Document doc;
  ASSERT_FALSE(Parse("[0, -0, 7, -7, 4294967296, -2147483649, "
                     "18446744073709551615, 18446744073709551616, 0.1, "
                     "1e22, 1.7976931348623157e308, 5e-324, 1e-400, "
                     "4294967295, -2147483648, -9223372036854775808, "
                     "-9223372036854775809, 123456789012345678901234567890]",
                     Utf8::kRequire, &doc)
                   .IsError());
  EXPECT_TRUE(doc[0].IsUint());
  EXPECT_TRUE(doc[1].IsInt());
  EXPECT_EQ(doc[1].GetInt(), 0);
  EXPECT_EQ(doc[2].GetUint(), 7u);
  EXPECT_EQ(doc[3].GetInt(), -7);
  EXPECT_TRUE(doc[4].IsUint64());
  EXPECT_EQ(doc[4].GetUint64(), 4294967296u);
  EXPECT_TRUE(doc[5].IsInt64());
  EXPECT_EQ(doc[5].GetInt64(), -2147483649);
  EXPECT_EQ(doc[6].GetUint64(), 18446744073709551615u);
  EXPECT_TRUE(doc[7].IsDouble());
  EXPECT_EQ(doc[7].GetDouble(), 18446744073709551616.0);
  EXPECT_EQ(doc[8].GetDouble(), 0.1);
  EXPECT_EQ(doc[9].GetDouble(), 1e22);
  EXPECT_EQ(doc[10].GetDouble(), 1.7976931348623157e308);
  EXPECT_EQ(doc[11].GetDouble(), 5e-324);
  EXPECT_EQ(doc[12].GetDouble(), 0.0);
  EXPECT_TRUE(doc[13].IsUint());
  EXPECT_EQ(doc[13].GetUint(), 4294967295u);
  EXPECT_TRUE(doc[14].IsInt());
  EXPECT_EQ(doc[14].GetInt(), INT32_MIN);
  EXPECT_EQ(doc[15].GetInt64(), INT64_MIN);
  EXPECT_TRUE(doc[16].IsDouble());
  EXPECT_EQ(doc[16].GetDouble(), -9223372036854775809.0);
  EXPECT_EQ(doc[17].GetDouble(), 123456789012345678901234567890.0);
}

TEST(JsonTest, RejectsInvalidUtf8BytesAndLoneSurrogateEscapes) {
  rapidjson::Document doc;
  std::string error;
  EXPECT_TRUE(Parse("[\"a\xff\"]", Utf8::kRequire, &doc, &error).IsError());
  EXPECT_THAT(error, HasSubstr("Invalid encoding"));
  error.clear();
  EXPECT_TRUE(Parse(R"(["a\udc00"])", Utf8::kRequire, &doc, &error).IsError());
  EXPECT_THAT(error, HasSubstr("not valid UTF-8"));
  EXPECT_TRUE(Parse(R"({"\udc00": 1})", Utf8::kRequire, &doc).IsError());
  // A pair is one character; and lone surrogates pass when allowed.
  EXPECT_FALSE(Parse(R"(["\ud83d\ude00"])", Utf8::kRequire, &doc).IsError());
  EXPECT_FALSE(
      Parse(R"(["a\udc00"])", Utf8::kAllowEscapedSurrogates, &doc).IsError());
}

TEST(JsonTest, DepthLimitAtAndPast) {
  rapidjson::Document doc;
  std::string error;
  const std::string at =
      std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']');
  EXPECT_FALSE(Parse(at, Utf8::kRequire, &doc).IsError());
  const std::string past = "[" + at + "]";
  EXPECT_TRUE(Parse(past, Utf8::kRequire, &doc, &error).IsError());
  EXPECT_THAT(error, HasSubstr("deeper than 1000"));
  // Far past it: no stack overflow on the way.
  const std::string deep =
      std::string(1 << 20, '[') + std::string(1 << 20, ']');
  EXPECT_TRUE(Parse(deep, Utf8::kRequire, &doc).IsError());
}

}  // namespace
}  // namespace retrace::json
