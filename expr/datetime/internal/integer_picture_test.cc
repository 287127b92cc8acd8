#include "expr/datetime/internal/integer_picture.h"

#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr::datetime::internal {
namespace {

using ::retrace::testing::HasErrorCode;
using ::testing::ElementsAre;
using ::testing::Optional;

std::string Format(int64_t value, absl::string_view picture) {
  absl::StatusOr<IntegerFormat> format = AnalyseIntegerPicture(picture);
  if (!format.ok()) return format.status().ToString();
  absl::StatusOr<std::string> out = FormatInteger(value, *format);
  return out.ok() ? *out : out.status().ToString();
}

TEST(FormatIntegerTest, DecimalPadding) {
  EXPECT_EQ(Format(7, "01"), "07");
  EXPECT_EQ(Format(2018, "0001"), "2018");
  EXPECT_EQ(Format(5, "#1"), "5");
  EXPECT_EQ(Format(123, "01"), "123");
  EXPECT_EQ(Format(-5, "01"), "-05");
}

TEST(FormatIntegerTest, RegularGrouping) {
  EXPECT_EQ(Format(2018, "9,999"), "2,018");
  EXPECT_EQ(Format(1234567, "#,##0"), "1,234,567");
  EXPECT_EQ(Format(530, "01:01"), "05:30");
}

TEST(FormatIntegerTest, IrregularGrouping) {
  // Separators at 3 and 5 digits from the right (Indian style).
  EXPECT_EQ(Format(1234567, "#,##,##0"), "12,34,567");
  EXPECT_EQ(Format(1234567, "0-0/00"), "1234-5/67");
}

TEST(FormatIntegerTest, OtherDigitGroups) {
  // Arabic-Indic digits U+0660..U+0669.
  EXPECT_EQ(Format(2018, "\u0660\u0660\u0660\u0661"),
            "\u0662\u0660\u0661\u0668");
  // Fullwidth digits.
  EXPECT_EQ(Format(42, "\uFF10\uFF11"), "\uFF14\uFF12");
}

TEST(FormatIntegerTest, Ordinals) {
  EXPECT_EQ(Format(1, "1;o"), "1st");
  EXPECT_EQ(Format(2, "1;o"), "2nd");
  EXPECT_EQ(Format(3, "1;o"), "3rd");
  EXPECT_EQ(Format(4, "1;o"), "4th");
  EXPECT_EQ(Format(11, "1;o"), "11th");
  EXPECT_EQ(Format(12, "1;o"), "12th");
  EXPECT_EQ(Format(13, "1;o"), "13th");
  EXPECT_EQ(Format(21, "1;o"), "21st");
  EXPECT_EQ(Format(22, "1;o"), "22nd");
  EXPECT_EQ(Format(23, "1;o"), "23rd");
  EXPECT_EQ(Format(111, "1;o"), "111th");
  EXPECT_EQ(Format(101, "1;o"), "101st");
}

TEST(FormatIntegerTest, Roman) {
  EXPECT_EQ(Format(2018, "I"), "MMXVIII");
  EXPECT_EQ(Format(1984, "i"), "mcmlxxxiv");
  EXPECT_EQ(Format(3999, "I"), "MMMCMXCIX");
  EXPECT_EQ(Format(4, "I"), "IV");
  EXPECT_EQ(Format(0, "I"), "");
}

TEST(FormatIntegerTest, Letters) {
  EXPECT_EQ(Format(1, "A"), "A");
  EXPECT_EQ(Format(23, "a"), "w");
  EXPECT_EQ(Format(26, "A"), "Z");
  EXPECT_EQ(Format(27, "A"), "AA");
  EXPECT_EQ(Format(31, "a"), "ae");
  EXPECT_EQ(Format(702, "A"), "ZZ");
  EXPECT_EQ(Format(703, "A"), "AAA");
}

TEST(FormatIntegerTest, Words) {
  EXPECT_EQ(Format(0, "w"), "zero");
  EXPECT_EQ(Format(13, "w"), "thirteen");
  EXPECT_EQ(Format(21, "w"), "twenty-one");
  EXPECT_EQ(Format(100, "w"), "one hundred");
  EXPECT_EQ(Format(101, "w"), "one hundred and one");
  EXPECT_EQ(Format(2018, "w"), "two thousand and eighteen");
  EXPECT_EQ(Format(1984, "w"), "one thousand, nine hundred and eighty-four");
  EXPECT_EQ(Format(1000000, "w"), "one million");
  EXPECT_EQ(Format(1234567, "w"),
            "one million, two hundred and thirty-four thousand, five hundred "
            "and sixty-seven");
  EXPECT_EQ(Format(21, "W"), "TWENTY-ONE");
  EXPECT_EQ(Format(21, "Ww"), "Twenty-One");
}

TEST(FormatIntegerTest, OrdinalWords) {
  EXPECT_EQ(Format(1, "w;o"), "first");
  EXPECT_EQ(Format(12, "Ww;o"), "Twelfth");
  EXPECT_EQ(Format(20, "w;o"), "twentieth");
  EXPECT_EQ(Format(21, "w;o"), "twenty-first");
  EXPECT_EQ(Format(23, "w;o"), "twenty-third");
  EXPECT_EQ(Format(100, "w;o"), "one hundredth");
  EXPECT_EQ(Format(365, "w;o"), "three hundred and sixty-fifth");
  EXPECT_EQ(Format(2000, "w;o"), "two thousandth");
}

// The integer cases of function-formatInteger/formatInteger.json: the same
// algorithm serves date/time markers, so it must agree with $formatInteger.
TEST(FormatIntegerTest, AgreesWithFormatIntegerSuite) {
  struct Case {
    int64_t value;
    const char* picture;
    const char* expected;
  };
  const Case kCases[] = {
      {123LL, "000", "123"},
      {123LL, "0000", "0123"},
      {-3LL, "0000", "-0003"},
      {1234LL, "0;c", "1234"},
      {1234LL, "###0", "1234"},
      {12LL, "###0", "12"},
      {123LL, "000;o", "123rd"},
      {1LL, "0;o", "1st"},
      {28LL, "#0;o", "28th"},
      {1234LL, "###0;o", "1234th"},
      {12LL, "###0;o", "12th"},
      {12340LL, "###\u0661", "\u0661\u0662\u0663\u0664\u0660"},
      {12340LL, "###\uFF10", "\uFF11\uFF12\uFF13\uFF14\uFF10"},
      {12LL, "#,##0", "12"},
      {1200LL, "#,##0", "1,200"},
      {120000LL, "#,##0", "120,000"},
      {12345678LL, "#,##0", "12,345,678"},
      {1234567890LL, "#,##0", "1,234,567,890"},
      {1234567890LL, "#,###,##0", "1,234,567,890"},
      {1234567890LL, "#:###,##0", "1234:567,890"},
      {1234567890LL, "##,##,##0", "12345,67,890"},
      {0LL, "I", ""},
      {1984LL, "I", "MCMLXXXIV"},
      {99LL, "i", "xcix"},
      {12LL, "w", "twelve"},
      {20LL, "w", "twenty"},
      {34LL, "w", "thirty-four"},
      {99LL, "W", "NINETY-NINE"},
      {100LL, "w", "one hundred"},
      {555LL, "W", "FIVE HUNDRED AND FIFTY-FIVE"},
      {555LL, "Ww", "Five Hundred and Fifty-Five"},
      {919LL, "w", "nine hundred and nineteen"},
      {730LL, "w", "seven hundred and thirty"},
      {1000LL, "w", "one thousand"},
      {3730LL, "w", "three thousand, seven hundred and thirty"},
      {327730LL, "w",
       "three hundred and twenty-seven thousand, seven hundred and thirty"},
      {4327730LL, "w",
       "four million, three hundred and twenty-seven thousand, seven hundred "
       "and thirty"},
      {1000000000001LL, "w", "one trillion and one"},
      {1234567890123LL, "w",
       "one trillion, two hundred and thirty-four billion, five hundred and "
       "sixty-seven million, eight hundred and ninety thousand, one hundred "
       "and twenty-three"},
      {1000000000000000LL, "w", "one thousand trillion"},
      {1234567890123456LL, "w",
       "one thousand, two hundred and thirty-four trillion, five hundred and "
       "sixty-seven billion, eight hundred and ninety million, one hundred and "
       "twenty-three thousand, four hundred and fifty-six"},
      {12LL, "w;o", "twelfth"},
      {20LL, "w;o", "twentieth"},
      {34LL, "w;o", "thirty-fourth"},
      {99LL, "W;o", "NINETY-NINTH"},
      {100LL, "w;o", "one hundredth"},
      {555LL, "W;o", "FIVE HUNDRED AND FIFTY-FIFTH"},
      {919LL, "w;o", "nine hundred and nineteenth"},
      {730LL, "w;o", "seven hundred and thirtieth"},
      {1000LL, "w;o", "one thousandth"},
      {3731LL, "w;o", "three thousand, seven hundred and thirty-first"},
      {327713LL, "w;o",
       "three hundred and twenty-seven thousand, seven hundred and thirteenth"},
      {4327732LL, "w;o",
       "four million, three hundred and twenty-seven thousand, seven hundred "
       "and thirty-second"},
      {1000000000001LL, "w;o", "one trillion and first"},
      {1LL, "A", "A"},
      {12LL, "a", "l"},
      {26LL, "a", "z"},
      {27LL, "a", "aa"},
      {300LL, "A", "KN"},
      {123456LL, "A", "FZPH"},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(Format(c.value, c.picture), c.expected)
        << c.value << " " << c.picture;
  }
  EXPECT_THAT(AnalyseIntegerPicture("##0\uFF10"), HasErrorCode("D3131"));
  absl::StatusOr<IntegerFormat> alpha = AnalyseIntegerPicture("\u03B1");
  ASSERT_TRUE(alpha.ok());
  EXPECT_THAT(FormatInteger(123456, *alpha), HasErrorCode("D3130"));
}

TEST(AnalyseIntegerPictureTest, MixedDigitGroupsIsD3131) {
  EXPECT_THAT(AnalyseIntegerPicture("0\u0661"), HasErrorCode("D3131"));
}

TEST(AnalyseIntegerPictureTest, SequenceIsD3130WhenUsed) {
  absl::StatusOr<IntegerFormat> format = AnalyseIntegerPicture("q");
  ASSERT_TRUE(format.ok());
  EXPECT_EQ(format->primary, IntegerPrimary::kSequence);
  EXPECT_THAT(FormatInteger(1, *format), HasErrorCode("D3130"));
}

TEST(AnalyseIntegerPictureTest, GroupingShape) {
  absl::StatusOr<IntegerFormat> f = AnalyseIntegerPicture("#,##,##0");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->regular_grouping);
  EXPECT_EQ(f->mandatory_digits, 1);
  EXPECT_EQ(f->optional_digits, 5);
  ASSERT_EQ(f->separators.size(), 2u);
  EXPECT_EQ(f->separators[0].position, 3);
  EXPECT_EQ(f->separators[1].position, 5);
}

TEST(WordsToNumberTest, ReadsWhatNumberToWordsWrites) {
  for (int64_t n : {0, 1, 7, 13, 20, 21, 99, 100, 101, 365, 999, 1000, 1001,
                    1984, 2017, 2018, 12345, 1000000, 1234567}) {
    for (bool ordinal : {false, true}) {
      std::string words = NumberToWords(n, ordinal);
      for (char& c : words) c = static_cast<char>(std::tolower(c));
      EXPECT_THAT(WordsToNumber(words), Optional(n)) << words;
    }
  }
}

TEST(WordsToNumberTest, SuiteSpellings) {
  EXPECT_THAT(WordsToNumber("one thousand, nine hundred and eighty-four"),
              Optional(1984));
  EXPECT_THAT(WordsToNumber("nineteen hundred and eighty-four"),
              Optional(1984));
  EXPECT_THAT(WordsToNumber("two thousand and seventeen"), Optional(2017));
  EXPECT_THAT(WordsToNumber("twenty-seven"), Optional(27));
  EXPECT_THAT(WordsToNumber("twentieth"), Optional(20));
  EXPECT_EQ(WordsToNumber("twenty-umpteen"), std::nullopt);
  EXPECT_EQ(WordsToNumber("twenty  one"), std::nullopt);
}

TEST(RomanTest, RoundTrip) {
  for (int64_t n = 1; n < 4000; ++n) {
    EXPECT_THAT(RomanToDecimal(DecimalToRoman(n)), Optional(n));
  }
  EXPECT_THAT(RomanToDecimal("MCMLXXXIV"), Optional(1984));
  EXPECT_EQ(RomanToDecimal("MXQ"), std::nullopt);
}

TEST(LettersTest, RoundTrip) {
  for (int64_t n = 1; n < 20000; ++n) {
    EXPECT_THAT(LettersToDecimal(DecimalToLetters(n, 'a')), Optional(n));
  }
  EXPECT_THAT(LettersToDecimal("C"), Optional(3));
}

TEST(Utf8Test, DecodeAndEncode) {
  EXPECT_THAT(DecodeUtf8("a\u0661\uFF10"), ElementsAre(U'a', 0x661, 0xFF10));
  std::string out;
  AppendUtf8(0x661, &out);
  EXPECT_EQ(out, "\u0661");
  // A truncated sequence decodes byte by byte instead of reading past the end.
  EXPECT_THAT(DecodeUtf8("\xE0\x80"), ElementsAre(0xE0, 0x80));
}

}  // namespace
}  // namespace retrace::expr::datetime::internal
