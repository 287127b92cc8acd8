#include "expr/format/internal/text.h"

#include <cmath>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr::format::internal {
namespace {

TEST(Utf8Test, RoundTripsMultiByteText) {
  const std::string text = "a\u2030\u0661\U0001D7CE";
  std::u32string decoded = DecodeUtf8(text);
  EXPECT_EQ(decoded, (std::u32string{U'a', 0x2030, 0x0661, 0x1D7CE}));
  EXPECT_EQ(EncodeUtf8(decoded), text);
}

TEST(Utf8Test, InvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(DecodeUtf8("a\xff\xc0\x80z"),
            (std::u32string{U'a', 0xFFFD, 0xFFFD, 0xFFFD, U'z'}));
  EXPECT_EQ(DecodeUtf8("\xed\xa0\x80"),  // an encoded surrogate
            (std::u32string{0xFFFD, 0xFFFD, 0xFFFD}));
  EXPECT_EQ(DecodeUtf8("\xe2\x80"), (std::u32string{0xFFFD, 0xFFFD}));
  EXPECT_EQ(EncodeUtf8(std::u32string{0xD800, 0x110000}),
            "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(JsNumberToStringTest, MatchesJavaScript) {
  EXPECT_EQ(JsNumberToString(0), "0");
  EXPECT_EQ(JsNumberToString(-0.0), "0");
  EXPECT_EQ(JsNumberToString(12.5), "12.5");
  EXPECT_EQ(JsNumberToString(-12.5), "-12.5");
  EXPECT_EQ(JsNumberToString(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(JsNumberToString(1e20), "100000000000000000000");
  EXPECT_EQ(JsNumberToString(1e21), "1e+21");
  EXPECT_EQ(JsNumberToString(1.5e21), "1.5e+21");
  EXPECT_EQ(JsNumberToString(0.000001), "0.000001");
  EXPECT_EQ(JsNumberToString(1.5e-7), "1.5e-7");
  EXPECT_EQ(JsNumberToString(std::pow(2.0, 60)), "1152921504606847000");
  EXPECT_EQ(JsNumberToString(std::numeric_limits<double>::infinity()),
            "Infinity");
  EXPECT_EQ(JsNumberToString(std::nan("")), "NaN");
}

TEST(JsToFixedTest, RoundsTheExactValueHalfUp) {
  EXPECT_EQ(JsToFixed(2.5, 0), "3");  // printf would say "2"
  EXPECT_EQ(JsToFixed(0.5, 0), "1");
  EXPECT_EQ(JsToFixed(1.005, 2), "1.00");  // 1.00499999999999989...
  EXPECT_EQ(JsToFixed(9.995, 2), "9.99");  // 9.99499999999999921...
  EXPECT_EQ(JsToFixed(9.9999, 2), "10.00");
  EXPECT_EQ(JsToFixed(123.456, 0), "123");
  EXPECT_EQ(JsToFixed(0, 3), "0.000");
  EXPECT_EQ(JsToFixed(1e21, 2), "1e+21");
}

TEST(JsRoundHalfEvenTest, MatchesJsonataRound) {
  EXPECT_EQ(JsRoundHalfEven(2.5, 0), 2);
  EXPECT_EQ(JsRoundHalfEven(3.5, 0), 4);
  EXPECT_EQ(JsRoundHalfEven(-2.5, 0), -2);
  EXPECT_EQ(JsRoundHalfEven(-3.5, 0), -4);
  EXPECT_EQ(JsRoundHalfEven(12.345, 2), 12.34);  // decimal half: to even
  EXPECT_EQ(JsRoundHalfEven(12.355, 2), 12.36);
  EXPECT_EQ(JsRoundHalfEven(1.005, 2), 1);  // 1.005 is a decimal half
  EXPECT_EQ(JsRoundHalfEven(0.25, 1), 0.2);
  EXPECT_EQ(JsRoundHalfEven(-0.4, 0), 0);
  EXPECT_FALSE(std::signbit(JsRoundHalfEven(-0.4, 0)));
  EXPECT_EQ(JsRoundHalfEven(1.5, 400), 1.5);  // shift overflows: unchanged
}

}  // namespace
}  // namespace retrace::expr::format::internal
