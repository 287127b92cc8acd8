// Cases from the JSONata test suite (test/test-suite/groups/function-
// formatNumber, function-formatInteger, function-parseInteger), translated to
// direct calls, then our own cases for edges and the deliberate differences
// listed in format.h.
#include "expr/format/format.h"

#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr::format {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

std::string Fn(double value, absl::string_view picture,
               const DecimalFormat& format = DecimalFormat()) {
  absl::StatusOr<std::string> result = FormatNumber(value, picture, format);
  EXPECT_THAT(result, IsOk()) << picture;
  return result.ok() ? *result : "<error>";
}

std::string Fi(double value, absl::string_view picture) {
  absl::StatusOr<std::string> result = FormatInteger(value, picture);
  EXPECT_THAT(result, IsOk()) << picture;
  return result.ok() ? *result : "<error>";
}

std::optional<double> Pi(absl::string_view text, absl::string_view picture) {
  absl::StatusOr<std::optional<double>> result = ParseInteger(text, picture);
  EXPECT_THAT(result, IsOk()) << picture;
  return result.ok() ? *result : std::nullopt;
}

DecimalFormat With(absl::string_view name, absl::string_view value) {
  DecimalFormat format;
  EXPECT_TRUE(format.Set(name, value));
  return format;
}

// --- $formatNumber: suite cases ---------------------------------------------

TEST(FormatNumberSuiteTest, Results) {
  EXPECT_EQ(Fn(12345.6, "#,###.00"), "12,345.60");                  // 000
  EXPECT_EQ(Fn(12345678.9, "9,999.99"), "12,345,678.90");           // 001
  EXPECT_EQ(Fn(123412345678.9, "9,9,99.99"), "123412345,6,78.90");  // 002
  EXPECT_EQ(Fn(123.9, "9999"), "0124");                             // 004
  EXPECT_EQ(Fn(0.14, "###pm", With("per-mille", "pm")), "140pm");   // 007
  EXPECT_EQ(Fn(-6, "000"), "-006");                                 // 008
  EXPECT_EQ(Fn(1234.5678, "00.000e0"), "12.346e2");                 // 009
  EXPECT_EQ(Fn(1234.5678, "00.000e000"), "12.346e002");             // 010
  EXPECT_EQ(Fn(1234.5678, "①①.①①①e①", With("zero-digit", "⑟")),
            "①②.③④⑥e②");                     // 011
  EXPECT_EQ(Fn(0.234, "0.0e0"), "2.3e-1");   // 012
  EXPECT_EQ(Fn(0.234, "#.00e0"), "0.23e0");  // 013
  EXPECT_EQ(Fn(0.123, "#.e9"), "0.1e0");     // 014
  EXPECT_EQ(Fn(2392.14 * (-36.58), "000,000.000###;###,###.000###"),
            "87,504.4812");  // 016
  EXPECT_EQ(Fn(2.14 * 86.58, "PREFIX##00.000###SUFFIX"),
            "PREFIX185.2812SUFFIX");                                // 017
  EXPECT_EQ(Fn(1E20, "#,######"), "100,000000,000000,000000");      // 018
  EXPECT_EQ(Fn(2, "000.000"), "002.000");                           // 033
  EXPECT_EQ(Fn(2, "AAA.AAA", With("zero-digit", "A")), "AAC.AAA");  // 034
  EXPECT_EQ(Fn(0.1, "AeAAA", With("zero-digit", "A")), "Be-AAB");   // 035
}

TEST(FormatNumberSuiteTest, Issue785ExponentWithZeroAndNegatives) {
  EXPECT_EQ(Fn(0, "0e0"), "0e0");
  EXPECT_EQ(Fn(-42, "0e0"), "-4e1");
  EXPECT_EQ(Fn(42, "0e0"), "4e1");
  EXPECT_EQ(Fn(0, "0.00e0"), "0.00e0");
}

TEST(FormatNumberSuiteTest, PictureErrors) {
  struct Case {
    const char* picture;
    const char* code;
  };
  const Case cases[] = {
      {"#;#;#", "D3080"},    {"#.0.0", "D3081"},   {"#0%%", "D3082"},
      {"#0‰‰", "D3083"},     {"#0%‰", "D3084"},    {".e0", "D3085"},
      {"0,.e0", "D3087"},    {"0,", "D3088"},      {"0,,0", "D3089"},
      {"0#.e0", "D3090"},    {"#0.#0e0", "D3091"}, {"#0.0e0%", "D3092"},
      {"#0.0e0,0", "D3093"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(FormatNumber(20, c.picture, DecimalFormat()),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << c.picture;
    EXPECT_THAT(FormatNumber(20, c.picture, DecimalFormat()),
                HasErrorCode(c.code))
        << c.picture;
  }
}

// --- $formatNumber: our cases -----------------------------------------------

// Results checked against jsonata-js 2.2.2 (node), including its quirks:
// "#e0" keeps a decimal separator, half-even rounding on decimal halves.
TEST(FormatNumberTest, MatchesJsonataJs) {
  struct Case {
    double value;
    const char* picture;
    const char* expected;
  };
  const Case cases[] = {
      {2.5, "#e0", "0.e1"},
      {0.995, "#e0", "1.e0"},
      {-87504.4812, "$#,##0.00", "-$87,504.48"},
      {0.995, "$#,##0.00", "$1.00"},
      {1.005, "$#,##0.00", "$1.00"},
      {2.5, "##.##e0", "0.25e1"},
      {0.001, "##.##e0", "0.1e-2"},
      {0.995, "##.##e0", "1e0"},
      {-87504.4812, "0.0##e0", "-8.75e4"},
      {123456789.123, "0.0##e0", "1.235e8"},
      {0.001, "0.0##e0", "1.0e-3"},
      {1.005, "0.0##e0", "1.005e0"},
      {-87504.4812, "#,##0;-#", "-87504"},
      {123456789.123, "#,##0;-#", "123,456,789"},
      {0.001, "#.0#", ".0"},
      {0.995, ".##", "1.0"},
      {123456789.123, ".##", "123456789.12"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Fn(c.value, c.picture), c.expected)
        << c.value << " " << c.picture;
  }
  EXPECT_THAT(FormatNumber(2.5, "0.000e-0", DecimalFormat()),
              HasErrorCode("D3093"));
}

TEST(FormatNumberTest, PassiveCharacterBetweenActiveOnesIsD3086) {
  EXPECT_THAT(FormatNumber(1, "#a0", DecimalFormat()), HasErrorCode("D3086"));
}

TEST(FormatNumberTest, PictureWithoutActiveCharacter) {
  EXPECT_THAT(FormatNumber(1, "abc", DecimalFormat()), HasErrorCode("D3086"));
  EXPECT_THAT(FormatNumber(1, "", DecimalFormat()), HasErrorCode("D3085"));
}

TEST(FormatNumberTest, ErrorMessageNamesTheSubPicture) {
  EXPECT_THAT(FormatNumber(1, "#0%%", DecimalFormat()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sub-picture \"#0%%\"")));
}

TEST(FormatNumberTest, RoundsHalfToEvenLikeJsonata) {
  EXPECT_EQ(Fn(12.345, "#,##0.00"), "12.34");
  EXPECT_EQ(Fn(0.25, "0.0"), "0.2");
  EXPECT_EQ(Fn(0.35, "0.0"), "0.4");
  EXPECT_EQ(Fn(2.5, "0"), "2");
  EXPECT_EQ(Fn(3.5, "0"), "4");
}

TEST(FormatNumberTest, OptionalDigitsAndDecimalSeparator) {
  EXPECT_EQ(Fn(1.5, "0."), "2");
  EXPECT_EQ(Fn(1, "0."), "1");
  EXPECT_EQ(Fn(0.25, "#.#"), ".2");
  EXPECT_EQ(Fn(1, "#.e0"), "1.0e0");
  EXPECT_EQ(Fn(0, "#"), "0");
  EXPECT_EQ(Fn(0, "#.##"), ".0");
  EXPECT_EQ(Fn(1234567.891, "#,##0.###"), "1,234,567.891");
}

TEST(FormatNumberTest, PercentAndPerMille) {
  EXPECT_EQ(Fn(0.123, "#0.0%"), "12.3%");
  EXPECT_EQ(Fn(0.0123, "#0‰"), "12‰");
  EXPECT_EQ(Fn(-0.5, "0%"), "-50%");
}

TEST(FormatNumberTest, NegativeSubPicture) {
  EXPECT_EQ(Fn(-1234.5, "#,##0.00;(#,##0.00)"), "(1,234.50)");
  EXPECT_EQ(Fn(1234.5, "#,##0.00;(#,##0.00)"), "1,234.50");
  EXPECT_EQ(Fn(-1, "0", With("minus-sign", "\u2212")), "\u22121");
}

TEST(FormatNumberTest, CustomSeparators) {
  DecimalFormat european;
  ASSERT_TRUE(european.Set("decimal-separator", ","));
  ASSERT_TRUE(european.Set("grouping-separator", "."));
  EXPECT_EQ(Fn(1234567.891, "#.##0,00", european), "1.234.567,89");
  EXPECT_EQ(Fn(1234.5, "#,##0.0", With("exponent-separator", "E")), "1,234.5");
  EXPECT_EQ(Fn(1234.5, "0.0E0", With("exponent-separator", "E")), "1.2E3");
}

TEST(FormatNumberTest, MultiByteDigitFamily) {
  // Arabic-Indic digits as the zero digit.
  EXPECT_EQ(Fn(1234.5, "#,##٠.٠٠", With("zero-digit", "٠")), "١,٢٣٤.٥٠");
  // A supplementary-plane family works too (jsonata-js works in UTF-16 units
  // and cannot do this).
  EXPECT_EQ(Fn(42, "\U0001D7F6\U0001D7F6\U0001D7F6",
               With("zero-digit", "\U0001D7F6")),
            "\U0001D7F6\U0001D7FA\U0001D7F8");
}

TEST(FormatNumberTest, FractionalGroupingSeparators) {
  EXPECT_EQ(Fn(0.123456, "0.000,000"), "0.123,456");
  EXPECT_EQ(Fn(0.123456789, "0.000,000,000"), "0.123,456,789");
  EXPECT_EQ(Fn(0.5, "0.0##,###"), "0.5");  // no separator without a digit after
}

TEST(FormatNumberTest, GroupingOnlyBetweenDigits) {
  EXPECT_EQ(Fn(123, "#,##,##0"), "123");
  EXPECT_EQ(Fn(1234567, "#,##,##0"), "12,34,567");
  EXPECT_EQ(Fn(5, "#,#,##0"), "5");
}

TEST(FormatNumberTest, ExponentAfterPrefixIsFound) {
  // jsonata-js misplaces the exponent by the prefix length (D3093 here).
  EXPECT_EQ(Fn(1234.5, "$0.0e0"), "$1.2e3");
}

TEST(FormatNumberTest, NaNAndInfinity) {
  EXPECT_EQ(Fn(std::nan(""), "#,##0.00"), "NaN");
  EXPECT_EQ(Fn(std::numeric_limits<double>::infinity(), "#,##0.00"),
            "Infinity");
  EXPECT_EQ(Fn(-std::numeric_limits<double>::infinity(), "#,##0.00"),
            "-Infinity");
  EXPECT_EQ(Fn(std::nan(""), "0", With("NaN", "n/a")), "n/a");
  EXPECT_EQ(Fn(1e308, "0%"), "Infinity%");
}

TEST(FormatNumberTest, ExtremeValuesDoNotHang) {
  EXPECT_EQ(Fn(5e-324, "0.0e0"), "4.9e-324");
  EXPECT_EQ(Fn(1.7976931348623157e308, "0.0e0"), "1.8e308");
  EXPECT_EQ(Fn(1e21, "#"), "1e+21");  // JavaScript's toFixed, as jsonata-js
  EXPECT_EQ(Fn(1e-10, "0.00"), "0.00");
}

TEST(FormatNumberTest, LongPicturesWork) {
  std::string picture = "0." + std::string(400, '0');
  absl::StatusOr<std::string> result =
      FormatNumber(1.5, picture, DecimalFormat());
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(*result, "1.5" + std::string(399, '0'));
}

TEST(DecimalFormatTest, SetKnowsEveryPropertyName) {
  DecimalFormat format;
  for (const char* name :
       {"decimal-separator", "grouping-separator", "exponent-separator",
        "minus-sign", "infinity", "NaN", "percent", "per-mille", "zero-digit",
        "digit", "pattern-separator"}) {
    EXPECT_TRUE(format.Set(name, "x")) << name;
  }
  EXPECT_FALSE(format.Set("nan", "x"));
  EXPECT_FALSE(format.Set("decimal_separator", "x"));
}

TEST(FormatNumberTest, RandomPicturesNeverCrash) {
  std::mt19937 rng(1234);
  const std::string alphabet = "#0,.;e%‰9-x ";
  for (int i = 0; i < 5000; ++i) {
    std::string picture;
    int length = rng() % 10;
    for (int k = 0; k < length; ++k) {
      picture += alphabet[rng() % alphabet.size()];
    }
    double value = std::ldexp(static_cast<double>(rng()) - 2147483648.0,
                              static_cast<int>(rng() % 200) - 100);
    (void)FormatNumber(value, picture, DecimalFormat());
    (void)FormatInteger(value, picture);
    (void)ParseInteger(picture, picture);
  }
}

TEST(FormatNumberTest, DegenerateDecimalFormatsNeverCrash) {
  std::mt19937 rng(99);
  const char* names[] = {"decimal-separator",
                         "grouping-separator",
                         "exponent-separator",
                         "minus-sign",
                         "percent",
                         "per-mille",
                         "zero-digit",
                         "digit",
                         "pattern-separator"};
  const char* values[] = {"",  "0",      "1",  "#",    ".",          ",", "e",
                          "%", "\u2030", "ab", "\xff", "\U0001D7F6", ";"};
  const char* pictures[] = {"#,##0.00", "0.0e0",        "#%",  "00",
                            "",         "#,##0.00;(#)", "1.1", "ab"};
  for (int i = 0; i < 3000; ++i) {
    DecimalFormat format;
    for (int k = rng() % 4; k > 0; --k) {
      format.Set(names[rng() % 9], values[rng() % 13]);
    }
    (void)FormatNumber(static_cast<double>(static_cast<int>(rng())) / 1000,
                       pictures[rng() % 8], format);
  }
}

// --- $formatInteger: suite cases --------------------------------------------

TEST(FormatIntegerSuiteTest, DecimalDigitPatterns) {
  EXPECT_EQ(Fi(123, "000"), "123");
  EXPECT_EQ(Fi(123, "0000"), "0123");
  EXPECT_EQ(Fi(-3, "0000"), "-0003");
  EXPECT_EQ(Fi(1234, "0;c"), "1234");
  EXPECT_EQ(Fi(1234, "###0"), "1234");
  EXPECT_EQ(Fi(12, "###0"), "12");
  EXPECT_EQ(Fi(12.6, "###0"), "12");
  EXPECT_EQ(Fi(123, "000;o"), "123rd");
  EXPECT_EQ(Fi(1, "0;o"), "1st");
  EXPECT_EQ(Fi(28, "#0;o"), "28th");
  EXPECT_EQ(Fi(1234, "###0;o"), "1234th");
  EXPECT_EQ(Fi(12, "###0;o"), "12th");
  EXPECT_EQ(Fi(12340, "###١"), "١٢٣٤٠");
  EXPECT_EQ(Fi(12340, "###０"), "１２３４０");
  EXPECT_THAT(FormatInteger(12340, "##0０"), HasErrorCode("D3131"));
}

TEST(FormatIntegerSuiteTest, GroupingSeparators) {
  EXPECT_EQ(Fi(12, "#,##0"), "12");
  EXPECT_EQ(Fi(1200, "#,##0"), "1,200");
  EXPECT_EQ(Fi(120000, "#,##0"), "120,000");
  EXPECT_EQ(Fi(12345678, "#,##0"), "12,345,678");
  EXPECT_EQ(Fi(1234567890, "#,##0"), "1,234,567,890");
  EXPECT_EQ(Fi(1234567890, "#,###,##0"), "1,234,567,890");
  EXPECT_EQ(Fi(1234567890, "#:###,##0"), "1234:567,890");
  EXPECT_EQ(Fi(1234567890, "##,##,##0"), "12345,67,890");
}

TEST(FormatIntegerSuiteTest, RomanNumerals) {
  EXPECT_EQ(Fi(0, "I"), "");
  EXPECT_EQ(Fi(1984, "I"), "MCMLXXXIV");
  EXPECT_EQ(Fi(99, "i"), "xcix");
}

TEST(FormatIntegerSuiteTest, CardinalWords) {
  EXPECT_EQ(Fi(12, "w"), "twelve");
  EXPECT_EQ(Fi(20, "w"), "twenty");
  EXPECT_EQ(Fi(34, "w"), "thirty-four");
  EXPECT_EQ(Fi(99, "W"), "NINETY-NINE");
  EXPECT_EQ(Fi(100, "w"), "one hundred");
  EXPECT_EQ(Fi(555, "W"), "FIVE HUNDRED AND FIFTY-FIVE");
  EXPECT_EQ(Fi(555, "Ww"), "Five Hundred and Fifty-Five");
  EXPECT_EQ(Fi(919, "w"), "nine hundred and nineteen");
  EXPECT_EQ(Fi(730, "w"), "seven hundred and thirty");
  EXPECT_EQ(Fi(1000, "w"), "one thousand");
  EXPECT_EQ(Fi(3730, "w"), "three thousand, seven hundred and thirty");
  EXPECT_EQ(Fi(327730, "w"),
            "three hundred and twenty-seven thousand, seven hundred and "
            "thirty");
  EXPECT_EQ(Fi(4327730, "w"),
            "four million, three hundred and twenty-seven thousand, seven "
            "hundred and thirty");
  EXPECT_EQ(Fi(1000000000001, "w"), "one trillion and one");
  EXPECT_EQ(Fi(1234567890123, "w"),
            "one trillion, two hundred and thirty-four billion, five hundred "
            "and sixty-seven million, eight hundred and ninety thousand, one "
            "hundred and twenty-three");
  EXPECT_EQ(Fi(1000000000000000, "w"), "one thousand trillion");
  EXPECT_EQ(Fi(1e+46, "w"), "ten billion trillion trillion trillion");
  EXPECT_EQ(Fi(1234567890123456, "w"),
            "one thousand, two hundred and thirty-four trillion, five hundred "
            "and sixty-seven billion, eight hundred and ninety million, one "
            "hundred and twenty-three thousand, four hundred and fifty-six");
}

TEST(FormatIntegerSuiteTest, OrdinalWords) {
  EXPECT_EQ(Fi(12, "w;o"), "twelfth");
  EXPECT_EQ(Fi(20, "w;o"), "twentieth");
  EXPECT_EQ(Fi(34, "w;o"), "thirty-fourth");
  EXPECT_EQ(Fi(99, "W;o"), "NINETY-NINTH");
  EXPECT_EQ(Fi(100, "w;o"), "one hundredth");
  EXPECT_EQ(Fi(555, "W;o"), "FIVE HUNDRED AND FIFTY-FIFTH");
  EXPECT_EQ(Fi(919, "w;o"), "nine hundred and nineteenth");
  EXPECT_EQ(Fi(730, "w;o"), "seven hundred and thirtieth");
  EXPECT_EQ(Fi(1000, "w;o"), "one thousandth");
  EXPECT_EQ(Fi(3731, "w;o"), "three thousand, seven hundred and thirty-first");
  EXPECT_EQ(Fi(327713, "w;o"),
            "three hundred and twenty-seven thousand, seven hundred and "
            "thirteenth");
  EXPECT_EQ(Fi(4327732, "w;o"),
            "four million, three hundred and twenty-seven thousand, seven "
            "hundred and thirty-second");
  EXPECT_EQ(Fi(1000000000001, "w;o"), "one trillion and first");
}

TEST(FormatIntegerSuiteTest, Letters) {
  EXPECT_EQ(Fi(1, "A"), "A");
  EXPECT_EQ(Fi(12, "a"), "l");
  EXPECT_EQ(Fi(26, "a"), "z");
  EXPECT_EQ(Fi(27, "a"), "aa");
  EXPECT_EQ(Fi(300, "A"), "KN");
  EXPECT_EQ(Fi(123456, "A"), "FZPH");
  EXPECT_THAT(FormatInteger(123456, "α"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FormatInteger(123456, "α"), HasErrorCode("D3130"));
}

// --- $formatInteger: our cases ----------------------------------------------

TEST(FormatIntegerTest, OrdinalSuffixes) {
  EXPECT_EQ(Fi(2, "0;o"), "2nd");
  EXPECT_EQ(Fi(11, "0;o"), "11th");
  EXPECT_EQ(Fi(13, "0;o"), "13th");
  EXPECT_EQ(Fi(21, "0;o"), "21st");
  EXPECT_EQ(Fi(112, "0;o"), "112th");
  EXPECT_EQ(Fi(21, "w;o"), "twenty-first");
  EXPECT_EQ(Fi(0, "w;o"), "zeroth");
  EXPECT_EQ(Fi(2000000, "Ww;o"), "Two Millionth");
}

TEST(FormatIntegerTest, NegativesAndZero) {
  EXPECT_EQ(Fi(-21, "w"), "-twenty-one");
  EXPECT_EQ(Fi(-4, "I"), "-IV");
  EXPECT_EQ(Fi(-0.5, "0"), "-1");  // floor first
  EXPECT_EQ(Fi(0, "w"), "zero");
  EXPECT_EQ(Fi(0, "a"), "");
  EXPECT_EQ(Fi(0, "0"), "0");
}

TEST(FormatIntegerTest, GroupingNeverPrecedesAllDigits) {
  EXPECT_EQ(Fi(123, "#,##,##0"), "123");
  EXPECT_EQ(Fi(123456, "#,##,##0"), "1,23,456");
}

TEST(FormatIntegerTest, LargeValuesKeepAllDigits) {
  EXPECT_EQ(Fi(1e21, "0"), "1000000000000000000000");
  EXPECT_EQ(Fi(1e21, "#,##0"), "1,000,000,000,000,000,000,000");
  EXPECT_EQ(Fi(std::pow(2.0, 60), "0"), "1152921504606847000");  // as JS
}

TEST(FormatIntegerTest, RomanNumeralLimit) {
  EXPECT_THAT(FormatInteger(kMaxRomanValue, "I"), IsOk());
  EXPECT_THAT(FormatInteger(kMaxRomanValue + 1, "I"),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("limited to 10000000")));
  EXPECT_THAT(FormatInteger(-kMaxRomanValue - 1, "i"),
              HasErrorCode("EXPR_FORMAT_TOO_LARGE"));
}

TEST(FormatIntegerTest, NumberingSequencesAreUnsupported) {
  EXPECT_THAT(FormatInteger(50, "#"), HasErrorCode("D3130"));
  EXPECT_THAT(FormatInteger(50, ""), HasErrorCode("D3130"));
  EXPECT_THAT(FormatInteger(50, "Aa"), HasErrorCode("D3130"));
}

TEST(FormatIntegerTest, NonFiniteValuesAreErrors) {
  EXPECT_THAT(FormatInteger(std::nan(""), "0"), HasErrorCode("D3001"));
  EXPECT_THAT(FormatInteger(std::numeric_limits<double>::infinity(), "w"),
              HasErrorCode("D3001"));
}

TEST(FormatIntegerTest, HugeValuesInWordsAndLetters) {
  EXPECT_THAT(FormatInteger(1e300, "w"), IsOk());
  EXPECT_THAT(FormatInteger(1e300, "A"), IsOk());
}

// --- $parseInteger: suite cases ---------------------------------------------

TEST(ParseIntegerSuiteTest, DecimalDigitPatterns) {
  EXPECT_THAT(Pi("123", "000"), Optional(123));
  EXPECT_THAT(Pi("0123", "0000"), Optional(123));
  EXPECT_THAT(Pi("1234", "0"), Optional(1234));
  EXPECT_THAT(Pi("1234", "###0"), Optional(1234));
  EXPECT_THAT(Pi("12", "###0"), Optional(12));
  EXPECT_THAT(Pi("123rd", "000;o"), Optional(123));
  EXPECT_THAT(Pi("1st", "0;o"), Optional(1));
  EXPECT_THAT(Pi("28th", "#0;o"), Optional(28));
  EXPECT_THAT(Pi("1234th", "###0;o"), Optional(1234));
  EXPECT_THAT(Pi("12th", "###0;o"), Optional(12));
  EXPECT_THAT(Pi("١٢٣٤٠", "###١"), Optional(12340));
  EXPECT_THAT(Pi("１２３４０", "###０"), Optional(12340));
  EXPECT_THAT(Pi("12", "#,##0"), Optional(12));
  EXPECT_THAT(Pi("1,200", "#,##0"), Optional(1200));
  EXPECT_THAT(Pi("12,345,678", "#,##0"), Optional(12345678));
  EXPECT_THAT(Pi("1,234,567,890", "#,##0"), Optional(1234567890));
  EXPECT_THAT(Pi("1,234,567,890", "#,###,##0"), Optional(1234567890));
  EXPECT_THAT(Pi("1234:567,890", "#:###,##0"), Optional(1234567890));
  EXPECT_THAT(Pi("12345,67,890", "##,##,##0"), Optional(1234567890));
}

TEST(ParseIntegerSuiteTest, RomanNumeralsAndLetters) {
  EXPECT_THAT(Pi("", "I"), Optional(0));
  EXPECT_THAT(Pi("MCMLXXXIV", "I"), Optional(1984));
  EXPECT_THAT(Pi("xcix", "i"), Optional(99));
  EXPECT_THAT(Pi("A", "A"), Optional(1));
  EXPECT_THAT(Pi("l", "a"), Optional(12));
  EXPECT_THAT(Pi("z", "a"), Optional(26));
  EXPECT_THAT(Pi("aa", "a"), Optional(27));
  EXPECT_THAT(Pi("KN", "A"), Optional(300));
  EXPECT_THAT(Pi("FZPH", "A"), Optional(123456));
}

TEST(ParseIntegerSuiteTest, CardinalWords) {
  EXPECT_THAT(Pi("twelve", "w"), Optional(12));
  EXPECT_THAT(Pi("twenty", "w"), Optional(20));
  EXPECT_THAT(Pi("thirty-four", "w"), Optional(34));
  EXPECT_THAT(Pi("NINETY-NINE", "W"), Optional(99));
  EXPECT_THAT(Pi("one hundred", "w"), Optional(100));
  EXPECT_THAT(Pi("FIVE HUNDRED AND FIFTY-FIVE", "W"), Optional(555));
  EXPECT_THAT(Pi("Five Hundred and Fifty-Five", "Ww"), Optional(555));
  EXPECT_THAT(Pi("nine hundred and nineteen", "w"), Optional(919));
  EXPECT_THAT(Pi("seven hundred and thirty", "w"), Optional(730));
  EXPECT_THAT(Pi("one thousand", "w"), Optional(1000));
  EXPECT_THAT(Pi("three thousand, seven hundred and thirty", "w"),
              Optional(3730));
  EXPECT_THAT(Pi("three hundred and twenty-seven thousand, seven hundred and "
                 "thirty",
                 "w"),
              Optional(327730));
  EXPECT_THAT(Pi("four million, three hundred and twenty-seven thousand, "
                 "seven hundred and thirty",
                 "w"),
              Optional(4327730));
  EXPECT_THAT(Pi("one trillion and one", "w"), Optional(1000000000001));
  EXPECT_THAT(Pi("one trillion, two hundred and thirty-four billion, five "
                 "hundred and sixty-seven million, eight hundred and ninety "
                 "thousand, one hundred and twenty-three",
                 "w"),
              Optional(1234567890123));
  EXPECT_THAT(Pi("one thousand trillion", "w"), Optional(1000000000000000));
  EXPECT_THAT(Pi("ten billion trillion trillion trillion", "w"),
              Optional(::testing::DoubleEq(1e+46)));
}

TEST(ParseIntegerSuiteTest, OrdinalWords) {
  EXPECT_THAT(Pi("twelfth", "w;o"), Optional(12));
  EXPECT_THAT(Pi("twentieth", "w;o"), Optional(20));
  EXPECT_THAT(Pi("thirty-fourth", "w;o"), Optional(34));
  EXPECT_THAT(Pi("NINETY-NINTH", "W;o"), Optional(99));
  EXPECT_THAT(Pi("one hundredth", "w;o"), Optional(100));
  EXPECT_THAT(Pi("FIVE HUNDRED AND FIFTY-FIFTH", "W;o"), Optional(555));
  EXPECT_THAT(Pi("nine hundred and nineteenth", "w;o"), Optional(919));
  EXPECT_THAT(Pi("seven hundred and thirtieth", "w;o"), Optional(730));
  EXPECT_THAT(Pi("Seven Hundred and Thirty-Third", "Ww;o"), Optional(733));
  EXPECT_THAT(Pi("one thousandth", "w;o"), Optional(1000));
  EXPECT_THAT(Pi("three thousand, seven hundred and thirty-first", "w;o"),
              Optional(3731));
  EXPECT_THAT(Pi("three hundred and twenty-seven thousand, seven hundred and "
                 "thirteenth",
                 "w;o"),
              Optional(327713));
  EXPECT_THAT(Pi("four million, three hundred and twenty-seven thousand, "
                 "seven hundred and thirty-second",
                 "w;o"),
              Optional(4327732));
  EXPECT_THAT(Pi("one trillion and first", "w;o"), Optional(1000000000001));
}

TEST(ParseIntegerSuiteTest, UnsupportedPicture) {
  EXPECT_THAT(ParseInteger("50", "#"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseInteger("50", "#"), HasErrorCode("D3130"));
}

// --- $parseInteger: our cases -----------------------------------------------

TEST(ParseIntegerTest, NonMatchingTextIsNullopt) {
  EXPECT_EQ(Pi("hello", "0"), std::nullopt);
  EXPECT_EQ(Pi("", "0"), std::nullopt);
  EXPECT_EQ(Pi("12x", "0"), std::nullopt);
  EXPECT_EQ(Pi(",12", "#,##0"), std::nullopt);
  EXPECT_EQ(Pi("12", "0;o"), std::nullopt);
  EXPECT_EQ(Pi("12xx", "0;o"), std::nullopt);
  EXPECT_EQ(Pi("123", "###١"), std::nullopt);  // wrong digit family
  EXPECT_EQ(Pi("twelve dozen", "w"), std::nullopt);
  EXPECT_EQ(Pi("", "w"), std::nullopt);
  EXPECT_EQ(Pi("xcix", "I"), std::nullopt);  // picture's case
  EXPECT_EQ(Pi("ABC", "a"), std::nullopt);
  EXPECT_EQ(Pi("A1", "A"), std::nullopt);
}

TEST(ParseIntegerTest, Negatives) {
  EXPECT_THAT(Pi("-0003", "0000"), Optional(-3));
  EXPECT_THAT(Pi("-twenty-one", "w"), Optional(-21));
  EXPECT_THAT(Pi("-IV", "I"), Optional(-4));
  EXPECT_THAT(Pi("-aa", "a"), Optional(-27));
  EXPECT_EQ(Pi("-", "I"), std::nullopt);
  EXPECT_EQ(Pi("--1", "0"), std::nullopt);
}

TEST(ParseIntegerTest, RegularSeparatorsOtherThanComma) {
  // jsonata-js strips only ',' here and returns 1.
  EXPECT_THAT(Pi("1.234.567", "#.##0"), Optional(1234567));
}

TEST(ParseIntegerTest, MixedFamiliesAreD3131) {
  EXPECT_THAT(ParseInteger("1", "##0０"), HasErrorCode("D3131"));
}

TEST(ParseIntegerTest, InvertsFormatInteger) {
  const char* pictures[] = {"0", "#,##0", "0001;o", "w", "W;o", "Ww",
                            "A", "a",     "I",      "i", "١",   "#:###,##0"};
  for (const char* picture : pictures) {
    for (double value : {1.0, 7.0, 19.0, 21.0, 99.0, 100.0, 101.0, 999.0,
                         1001.0, 3999.0, 123456.0, 7654321.0, -5.0, -1234.0}) {
      std::string text = Fi(value, picture);
      EXPECT_THAT(Pi(text, picture), Optional(value)) << picture << " " << text;
    }
  }
}

}  // namespace
}  // namespace retrace::expr::format
