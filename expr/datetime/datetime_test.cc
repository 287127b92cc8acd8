#include "expr/datetime/datetime.h"

#include <atomic>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr::datetime {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

// StatusOr<T> holds a value matching `inner`.
MATCHER_P(IsOkAndHolds, inner, "") {
  return arg.ok() &&
         ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

// A fixed evaluation time for parses that default to "now":
// 2024-07-15T18:30:45.678Z (a Monday, in the afternoon).
constexpr int64_t kNow = 1721068245678;

std::string Format(int64_t millis, absl::string_view picture,
                   absl::string_view timezone = "") {
  absl::StatusOr<std::string> out = FormatMillis(millis, picture, timezone);
  return out.ok() ? *out : out.status().ToString();
}

std::optional<int64_t> Parse(absl::string_view text,
                             absl::string_view picture) {
  absl::StatusOr<std::optional<int64_t>> out = ParseMillis(text, picture, kNow);
  EXPECT_THAT(out, IsOk()) << text << " / " << picture;
  return out.ok() ? *out : std::nullopt;
}

struct FormatCase {
  int64_t millis;
  const char* picture;
  const char* timezone;
  const char* expected;
};

// The example in datetime.h.
TEST(DatetimeHeaderTest, ExampleHolds) {
  EXPECT_EQ(Format(1521801216617, "[FNn], [D1o] [MNn] [Y]"),
            "Friday, 23rd March 2018");
  EXPECT_THAT(ParseMillis("23rd March 2018", "[D1o] [MNn] [Y]"),
              IsOkAndHolds(Optional(1521763200000)));
}

// function-fromMillis/formatDateTime.json, case000.json.
TEST(FormatMillisTest, SuiteFormatDateTime) {
  const FormatCase kCases[] = {
      {1, "", "", "1970-01-01T00:00:00.001Z"},
      {1521801216617, "Hello", "", "Hello"},
      {1521801216617, "Year: [Y0001]", "", "Year: 2018"},
      {1521801216617, "Year: <[Y0001]>", "", "Year: <2018>"},
      {1521801216617, "Year: <[Y9,999,*]>", "", "Year: <2,018>"},
      {1521801216617, "[[Year: <[Y0001]>", "", "[Year: <2018>"},
      {1521801216617, "Year]]: <[Y0001]>", "", "Year]: <2018>"},
      {1521801216617, "[[Year]]: [[[Y0001]]]", "", "[Year]: [2018]"},
      {1521801216617, "[D#1]/[M#1]/[Y0001]", "", "23/3/2018"},
      {1522616700000, "[F0] [FNn]", "", "7 Sunday"},
      {1522703100000, "[F0] [FNn]", "", "1 Monday"},
      {1521801216617, "[Y0001]-[M01]-[D01]", "", "2018-03-23"},
      {1521801216617, "[M01]/[D01]/[Y0001] at [H01]:[m01]:[s01]", "",
       "03/23/2018 at 10:33:36"},
      {1521801216617, "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z01:01t]", "",
       "2018-03-23T10:33:36.617Z"},
      {1521801216617,
       "[Y]-[ M01]-[D 01]T[H01 ]:[ m   ]:[s].[f0  01][Z01:\n 01t]", "",
       "2018-03-23T10:33:36.617Z"},
      {1521801216617, "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z0101t]", "+0100",
       "2018-03-23T11:33:36.617+0100"},
      {1531310400000, "[Y]-[M01]-[D01]T[H01]:[m]:[s][Z01:01]", "",
       "2018-07-11T12:00:00+00:00"},
      {1531310400000, "[Y]-[M01]-[D01]T[H01]:[m]:[s][Z01:01t]", "",
       "2018-07-11T12:00:00Z"},
      {1531310400000, "[Y]-[M01]-[D01]T[H01]:[m]:[s][Z]", "-0500",
       "2018-07-11T07:00:00-05:00"},
      {1531310400000, "[Y]-[M01]-[D01]T[H01]:[m]:[s][Z0]", "-0500",
       "2018-07-11T07:00:00-5"},
      {1531310400000, "[Y]-[M01]-[D01]T[H01]:[m]:[s][Z]", "+1000",
       "2018-07-11T22:00:00+10:00"},
      {1531310400000, "[Y]-[M01]-[D01]T[H01]:[m]:[s][Z0]", "+1000",
       "2018-07-11T22:00:00+10"},
      {1531310400000, "[Y]-[M01]-[D01]T[H01]:[m]:[s][Z0]", "+0530",
       "2018-07-11T17:30:00+5:30"},
      {1531310400000, "[Y]-[M01]-[D01]T[H01]:[m]:[s][z]", "-0500",
       "2018-07-11T07:00:00GMT-05:00"},
      {1204405500000, "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z0101t]", "+0530",
       "2008-03-02T02:35:00.000+0530"},
      {1230757500000, "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z0101t]", "+0530",
       "2009-01-01T02:35:00.000+0530"},
      {1521801216617, "[D#1,2]/[M1,2]/[Y,2]", "", "23/03/18"},
      {1521801216617, "[D#1,2]/[M1,2]/[Y0001,2]", "", "23/03/2018"},
      {1521801216617, "[D#1,2]/[M1,2]/[Y##01,2-2]", "", "23/03/18"},
      {1521801216617, "[D#1,2]/[M1,2]/[Y0001,2-2]", "", "23/03/18"},
      {1521801216617, "[D1] [M01] [YI]", "", "23 03 MMXVIII"},
      {1521801216617, "[Da] [MA] [Yi]", "", "w C mmxviii"},
      {1521801216617, "[D1o] [M01] [Y]", "", "23rd 03 2018"},
      {1521801216617, "[Yw]", "", "two thousand and eighteen"},
      {1521801216617, "[Dwo] [M01] [Y]", "", "twenty-third 03 2018"},
      {1521801216617, "[D1o] [MNn] [Y]", "", "23rd March 2018"},
      {1521801216617, "[D1o] [MN] [Y]", "", "23rd MARCH 2018"},
      {1521801216617, "[FNn], [D1o] [MNn] [Y]", "", "Friday, 23rd March 2018"},
      {1521801216617, "[FNn], the [Dwo] of [MNn] [Y] [E]", "",
       "Friday, the twenty-third of March 2018 ISO"},
      {1521801216617, "[FNn,3-3], [D1o] [MNn,3-3] [Y] [C]", "",
       "Fri, 23rd Mar 2018 ISO"},
      {1521801216617, "[F], [D]/[M]/[Y] [h]:[m]:[s] [P]", "",
       "friday, 23/3/2018 10:33:36 am"},
      {1204405500000, "[F], [D]/[M]/[Y] [h]:[m]:[s] [P]", "",
       "saturday, 1/3/2008 9:05:00 pm"},
      {1199664000000, "[F], [D]/[M]/[Y] [h]:[m]:[s] [P]", "",
       "monday, 7/1/2008 12:00:00 am"},
      {1514808000000, "[dwo] day of the year", "", "first day of the year"},
      {1546257600000, "[d] days in [Y0001]", "", "365 days in 2018"},
      {1483185600000, "[d] days in [Y0001]", "", "366 days in 2016"},
      {1514808000000, "Week: [W]", "", "Week: 1"},
      {1515326400000, "Week: [W]", "", "Week: 1"},
      {1545739200000, "Week: [W]", "", "Week: 52"},
      {1388577600000, "Week: [W]", "", "Week: 1"},
      {1419854400000, "Week: [W]", "", "Week: 1"},
      {1419768000000, "Week: [W]", "", "Week: 52"},
      {1419336000000, "Week: [W]", "", "Week: 52"},
      {1420113600000, "Week: [W]", "", "Week: 1"},
      {1420459200000, "Week: [W]", "", "Week: 2"},
      {1451304000000, "Week: [W]", "", "Week: 53"},
      {1451563200000, "Week: [W]", "", "Week: 53"},
      {1451736000000, "Week: [W]", "", "Week: 53"},
      {1359460800000, "Week: [w] of [xNn]", "", "Week: 5 of January"},
      {1359633600000, "Week: [w] of [xNn]", "", "Week: 5 of January"},
      {1359720000000, "Week: [w] of [xNn]", "", "Week: 5 of January"},
      {1514808000000, "Week: [w] of [xNn]", "", "Week: 1 of January"},
      {1483272000000, "Week: [w] of [xNn]", "", "Week: 5 of December"},
      {1533038400000, "Week: [w] of [xNn]", "", "Week: 1 of August"},
      {1419940800000, "Week: [w] of [xNn]", "", "Week: 1 of January"},
      {1521801216617, "[F], [D]/[M]/[Y] [h]:[m]:[s] [PN]", "",
       "friday, 23/3/2018 10:33:36 AM"},
      {1521801216617, "[F], [D]/[M]/[Y] [h]:[m]:[s] [Pn]", "",
       "friday, 23/3/2018 10:33:36 am"},
  };
  for (const FormatCase& c : kCases) {
    EXPECT_EQ(Format(c.millis, c.picture, c.timezone), c.expected)
        << c.millis << " " << c.picture << " " << c.timezone;
  }
}

// "Undefined picture string defaults to ISO 8601" (formatDateTime.json).
TEST(FormatMillisTest, SuiteDefaultPicture) {
  std::optional<int64_t> ms = Parse("2018-10-21T13:05:00Z", "");
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(Format(*ms, ""), "2018-10-21T13:05:00.000Z");
  EXPECT_EQ(Format(*ms, "", "-0500"), "2018-10-21T08:05:00.000-05:00");
  EXPECT_EQ(Format(*ms, "", "0000"), "2018-10-21T13:05:00.000Z");
}

TEST(FormatMillisTest, SuiteErrors) {
  EXPECT_THAT(
      FormatMillis(1230757500000,
                   "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z010101t]", "+0530"),
      HasErrorCode("D3134"));
  EXPECT_THAT(FormatMillis(1419940800000, "[YN]-[M]-[D]", ""),
              HasErrorCode("D3133"));
  EXPECT_THAT(FormatMillis(1419940800000, "[YN]-[M", ""),
              HasErrorCode("D3135"));
}

// function-fromMillis/isoWeekDate.json: $toMillis(date, '[Y]-[M]-[D]') then
// '[X0001]-W[W01]-[F1]'.
TEST(FormatMillisTest, SuiteIsoWeekDate) {
  const std::pair<const char*, const char*> kCases[] = {
      {"2005-01-01", "2004-W53-6"}, {"2005-01-02", "2004-W53-7"},
      {"2005-12-31", "2005-W52-6"}, {"2006-01-01", "2005-W52-7"},
      {"2006-01-02", "2006-W01-1"}, {"2006-12-31", "2006-W52-7"},
      {"2007-01-01", "2007-W01-1"}, {"2007-12-30", "2007-W52-7"},
      {"2007-12-31", "2008-W01-1"}, {"2008-01-01", "2008-W01-2"},
      {"2008-12-28", "2008-W52-7"}, {"2008-12-29", "2009-W01-1"},
      {"2008-12-30", "2009-W01-2"}, {"2008-12-31", "2009-W01-3"},
      {"2009-01-01", "2009-W01-4"}, {"2009-12-31", "2009-W53-4"},
      {"2010-01-01", "2009-W53-5"}, {"2010-01-02", "2009-W53-6"},
      {"2010-01-03", "2009-W53-7"},
  };
  for (const auto& [date, expected] : kCases) {
    std::optional<int64_t> ms = Parse(date, "[Y]-[M]-[D]");
    ASSERT_TRUE(ms.has_value()) << date;
    EXPECT_EQ(Format(*ms, "[X0001]-W[W01]-[F1]"), expected) << date;
  }
}

struct ParseCase {
  const char* text;
  const char* picture;
  std::optional<int64_t> expected;
};

// function-tomillis/case*.json and parseDateTime.json.
TEST(ParseMillisTest, SuiteToMillis) {
  const ParseCase kCases[] = {
      {"2018-02-01T09:42:13.123+0000", "", 1517478133123},
      {"2017-10-30", "", 1509321600000},
      {"2017-10-30T15:28:34Z", "", 1509377314000},
      {"2018", "", 1514764800000},
      {"201802", "[Y0001][M01]", 1517443200000},
      {"201802", "[Y,*-4][M01]", 1517443200000},
      {"20180205", "[Y0001][M01][D01]", 1517788800000},
      {"20240101123849", "[Y0000][M00][D00][H00][m00][s00]", 1704112729000},
      {"Hello", "Hello", std::nullopt},
      {"2018", "[Y1]", 1514764800000},
      {"2018-03-27", "[Y1]-[M01]-[D01]", 1522108800000},
      {"2018-03-27T14:03:00.123Z",
       "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]Z", 1522159380123},
      {"27th 3 1976", "[D1o] [M#1] [Y0001]", 196732800000},
      {"21st 12 1881", "[D1o] [M01] [Y0001]", -2777932800000},
      {"2nd 12 2012", "[D1o] [M01] [Y0001]", 1354406400000},
      {"MCMLXXXIV", "[YI]", 441763200000},
      {"27 03 MMXVIII", "[D1] [M01] [YI]", 1522108800000},
      {"27 iii MMXVIII", "[D1] [Mi] [YI]", 1522108800000},
      {"w C mmxviii", "[Da] [MA] [Yi]", 1521763200000},
      {"ae C mmxviii", "[Da] [MA] [Yi]", 1522454400000},
      {"27th April 2008", "[D1o] [MNn] [Y0001]", 1209254400000},
      {"21 August 2017", "[D1] [MNn] [Y0001]", 1503273600000},
      {"2 Feb 2012", "[D1] [MNn,3-3] [Y0001]", 1328140800000},
      {"one thousand, nine hundred and eighty-four", "[Yw]", 441763200000},
      {"nineteen hundred and eighty-four", "[Yw]", 441763200000},
      {"twenty-seven April 2008", "[Dw] [MNn] [Y0001]", 1209254400000},
      {"twenty-seventh April 2008", "[Dw] [MNn] [Y0001]", 1209254400000},
      {"twenty-first August two thousand and seventeen", "[Dw] [MNn] [Yw]",
       1503273600000},
      {"TWENTY-SECOND August two thousand and seventeen", "[DW] [MNn] [Yw]",
       1503360000000},
      {"Twentieth of August, two thousand and seventeen", "[DW] of [MNn], [Yw]",
       1503187200000},
      {"4/4/2018 12:06 am", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522800360000},
      {"4/4/2018 06:30 am", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522823400000},
      {"4/4/2018 12:06 pm", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522843560000},
      {"4/4/2018 11:30 pm", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522884600000},
      {"2018-094", "[Y0001]-[d001]", 1522800000000},
      {"irrelevent string", "[Y]-[M]-[D]", std::nullopt},
  };
  for (const ParseCase& c : kCases) {
    EXPECT_EQ(Parse(c.text, c.picture), c.expected)
        << c.text << " / " << c.picture;
  }
}

// Suite cases that go on to format the result with $fromMillis().
TEST(ParseMillisTest, SuiteToMillisThenFromMillis) {
  const std::pair<ParseCase, const char*> kCases[] = {
      {{"Wednesday, 14th November 2018", "[FNn], [D1o] [MNn] [Y]", {}},
       "2018-11-14T00:00:00.000Z"},
      {{"Mon, Twelfth November 2018", "[FNn,*-3], [DWwo] [MNn] [Y]", {}},
       "2018-11-12T00:00:00.000Z"},
      {{"2018--180", "[Y]--[d]", {}}, "2018-06-29T00:00:00.000Z"},
      {{"three hundred and sixty-fifth day of 2018", "[dwo] day of [Y]", {}},
       "2018-12-31T00:00:00.000Z"},
      {{"2020-09-09 08:00:00 +02:00",
        "[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [Z]",
        {}},
       "2020-09-09T06:00:00.000Z"},
      {{"2020-09-09 08:00:00 GMT-05:00",
        "[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [z]",
        {}},
       "2020-09-09T13:00:00.000Z"},
      {{"2020-09-09 12:00:00 +05:30",
        "[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [Z]",
        {}},
       "2020-09-09T06:30:00.000Z"},
      {{"2020-09-09 12:00:00 GMT-5",
        "[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [z01]",
        {}},
       "2020-09-09T17:00:00.000Z"},
      {{"2020-09-09 12:00:00 +0530",
        "[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [Z0001]",
        {}},
       "2020-09-09T06:30:00.000Z"},
      {{"2026-04-08T19:05:04.01987",
        "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f1]",
        {}},
       "2026-04-08T19:05:04.019Z"},
  };
  for (const auto& [c, expected] : kCases) {
    std::optional<int64_t> ms = Parse(c.text, c.picture);
    ASSERT_TRUE(ms.has_value()) << c.text;
    EXPECT_EQ(Format(*ms, ""), expected) << c.text;
  }
}

// "time only defaults to todays date" and "hours/minutes only defaults
// seconds to zero".
TEST(ParseMillisTest, SuiteTimeOnlyDefaultsToToday) {
  std::optional<int64_t> ms = Parse("13:45", "[H]:[m]");
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(Format(*ms, ""), "2024-07-15T13:45:00.000Z");
  EXPECT_EQ(Format(*ms, "[Y0001]-[M01]-[D01]"),
            Format(kNow, "[Y0001]-[M01]-[D01]"));
}

TEST(ParseMillisTest, SuiteErrors) {
  EXPECT_THAT(ParseMillis("01-02-2018", ""), HasErrorCode("D3110"));
  EXPECT_THAT(ParseMillis("2018-02-03 11:15:33", ""), HasErrorCode("D3110"));
  EXPECT_THAT(ParseMillis("2018-05-22", "[Y]-[M]-[q]"), HasErrorCode("D3132"));
  EXPECT_THAT(ParseMillis("2018-05-22", "[YN]-[M]-[D]"), HasErrorCode("D3133"));
  EXPECT_THAT(ParseMillis("2018-22", "[Y]-[D]"), HasErrorCode("D3136"));
  EXPECT_THAT(ParseMillis("5-22 23:59", "[M]-[D] [m]:[s]"),
              HasErrorCode("D3136"));
  EXPECT_THAT(ParseMillis("2018-3-2-5", "[X]-[x]-[w]-[F1]"),
              HasErrorCode("D3136"));
  EXPECT_THAT(ParseMillis("2018-32-5", "[X]-[W]-[F1]"), HasErrorCode("D3136"));
}

// ---------------------------------------------------------------------------
// Error codes: one test per code, checking status code, code string and that
// the message names the offending input.

TEST(ErrorCodesTest, D3110NotIso8601) {
  absl::StatusOr<std::optional<int64_t>> out = ParseMillis("yesterday", "");
  EXPECT_THAT(out, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr("yesterday")));
  EXPECT_THAT(out, HasErrorCode("D3110"));
}

TEST(ErrorCodesTest, D3130UnsupportedSequence) {
  EXPECT_THAT(FormatMillis(0, "[Dq]", ""), HasErrorCode("D3130"));
  EXPECT_THAT(ParseMillis("1", "[Dq]", kNow), HasErrorCode("D3130"));
  EXPECT_THAT(FormatMillis(0, "[Dq]", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"q\"")));
}

TEST(ErrorCodesTest, D3131MixedDigitGroups) {
  EXPECT_THAT(FormatMillis(0, "[Y0\u0661]", ""), HasErrorCode("D3131"));
  EXPECT_THAT(ParseMillis("2018", "[Y0\u0661]", kNow), HasErrorCode("D3131"));
}

TEST(ErrorCodesTest, D3132UnknownComponent) {
  EXPECT_THAT(FormatMillis(0, "[q]", ""), HasErrorCode("D3132"));
  EXPECT_THAT(FormatMillis(0, "[qNn]", ""), HasErrorCode("D3132"));
  EXPECT_THAT(FormatMillis(0, "[]", ""), HasErrorCode("D3132"));
  EXPECT_THAT(FormatMillis(0, "[q]", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[q]")));
}

TEST(ErrorCodesTest, D3133NameOnNamelessComponent) {
  EXPECT_THAT(FormatMillis(0, "[YN]", ""), HasErrorCode("D3133"));
  EXPECT_THAT(FormatMillis(0, "[Hn]", ""), HasErrorCode("D3133"));
  EXPECT_THAT(FormatMillis(0, "[fN]", ""), HasErrorCode("D3133"));
  EXPECT_THAT(ParseMillis("2018", "[YN]", kNow), HasErrorCode("D3133"));
  // Era and calendar print as "ISO" but cannot be read back.
  EXPECT_THAT(ParseMillis("2018 ISO", "[Y] [E]", kNow), HasErrorCode("D3133"));
  EXPECT_THAT(ParseMillis("2018 ISO", "[Y] [C]", kNow), HasErrorCode("D3133"));
}

TEST(ErrorCodesTest, D3134TimezoneTooManyDigits) {
  EXPECT_THAT(FormatMillis(0, "[Z00001]", ""), HasErrorCode("D3134"));
  EXPECT_THAT(FormatMillis(0, "[z010101]", "+0100"), HasErrorCode("D3134"));
  EXPECT_THAT(FormatMillis(0, "[ZN]", ""), HasErrorCode("D3134"));
}

TEST(ErrorCodesTest, D3135NoClosingBracket) {
  EXPECT_THAT(FormatMillis(0, "[Y", ""), HasErrorCode("D3135"));
  EXPECT_THAT(ParseMillis("2018", "[Y", kNow), HasErrorCode("D3135"));
}

TEST(ErrorCodesTest, D3136Gaps) {
  EXPECT_THAT(ParseMillis("2018 10:30", "[Y] [H]:[m]", kNow),
              HasErrorCode("D3136"));
  EXPECT_THAT(ParseMillis("10:30", "[H]:[s]", kNow), HasErrorCode("D3136"));
  // No gap when the tail is complete.
  EXPECT_THAT(ParseMillis("2018-3-4 10:30", "[Y]-[M]-[D] [H]:[m]", kNow),
              IsOk());
}

TEST(ErrorCodesTest, InvalidTimezone) {
  for (const char* tz : {"+1", "+01", "EST", "Europe/London", "+2400", "+0160",
                         "+01:0", "++0100", "+01000"}) {
    EXPECT_THAT(FormatMillis(0, "", tz),
                HasErrorCode("EXPR_DATETIME_INVALID_TIMEZONE"))
        << tz;
  }
  EXPECT_THAT(FormatMillis(0, "", "Mars"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Mars")));
}

// ---------------------------------------------------------------------------
// Formatting details beyond the suite.

TEST(FormatMillisTest, TimezoneSpellings) {
  EXPECT_EQ(Format(0, "[H01]:[m01][Z]", "+05:30"), "05:30+05:30");
  EXPECT_EQ(Format(0, "[H01]:[m01][Z]", "0530"), "05:30+05:30");
  EXPECT_EQ(Format(0, "[H01]:[m01][Z]", "-0000"), "00:00+00:00");
}

// jsonata-js reads "-0330" as -4h+30m; offsets west of UTC with minutes are
// -3h30m here.
TEST(FormatMillisTest, NegativeOffsetWithMinutes) {
  EXPECT_EQ(Format(0, "[D01] [H01]:[m01] [Z]", "-0330"), "31 20:30 -03:30");
  EXPECT_EQ(Format(0, "[Z0]", "-0330"), "-3:30");
  EXPECT_EQ(Format(0, "[Z0101]", "-0330"), "-0330");
  EXPECT_EQ(Format(0, "[z]", "-0330"), "GMT-03:30");
  EXPECT_EQ(Format(0, "[z0]", "+0000"), "GMT+0");
  EXPECT_EQ(Format(0, "[z01:01t]", "+0000"), "Z");
}

TEST(FormatMillisTest, FractionalSeconds) {
  EXPECT_EQ(Format(5, "[f001]"), "005");
  EXPECT_EQ(Format(617, "[f001]"), "617");
  EXPECT_EQ(Format(5, "[f1]"), "005");
  EXPECT_EQ(Format(500, "[f1]"), "5");
  EXPECT_EQ(Format(0, "[f1]"), "0");
  EXPECT_EQ(Format(617, "[f01]"), "61");
  EXPECT_EQ(Format(5, "[f0001]"), "0050");
  EXPECT_EQ(Format(617, "[f,2-2]"), "61");
  EXPECT_EQ(Format(617, "[f]"), "617");
  EXPECT_EQ(Format(617, "[f\u0660\u0660\u0661]"), "\u0666\u0661\u0667");
}

TEST(FormatMillisTest, TwoDigitYears) {
  EXPECT_EQ(Format(1521801216617, "[Y01]"), "18");
  EXPECT_EQ(Format(1521801216617, "[Y,2]"), "18");
  EXPECT_EQ(Format(1521801216617, "[Y,2-2]"), "18");
  EXPECT_EQ(Format(946684800000, "[Y01]"), "00");  // 2000
  // "#" alone has no mandatory digit: a numbering sequence, as in jsonata-js.
  EXPECT_THAT(FormatMillis(1521801216617, "[Y#]", ""), HasErrorCode("D3130"));
}

TEST(FormatMillisTest, NamesAndCase) {
  EXPECT_EQ(Format(1521801216617, "[Mn] [MN] [MNn] [FN,*-2] [Fn,3]"),
            "march MARCH March FR friday");
  EXPECT_EQ(Format(1521801216617, "[DWwo] [DW] [Dw]"),
            "Twenty-Third TWENTY-THREE twenty-three");
  EXPECT_EQ(Format(1521801216617, "[M01] [MI] [Mi] [MA] [Ma] [M1o]"),
            "03 III iii C c 3rd");
}

TEST(FormatMillisTest, TwelveHourClockAroundNoonAndMidnight) {
  // 2018-01-01 00:00, 11:59, 12:00, 12:59, 23:59 UTC.
  constexpr int64_t kDay = 1514764800000;
  constexpr int64_t kMinute = 60 * 1000;
  EXPECT_EQ(Format(kDay, "[h]:[m01] [P]"), "12:00 am");
  EXPECT_EQ(Format(kDay + 719 * kMinute, "[h]:[m01] [P]"), "11:59 am");
  EXPECT_EQ(Format(kDay + 720 * kMinute, "[h]:[m01] [P]"), "12:00 pm");
  EXPECT_EQ(Format(kDay + 779 * kMinute, "[h]:[m01] [P]"), "12:59 pm");
  EXPECT_EQ(Format(kDay + 1439 * kMinute, "[h]:[m01] [PN]"), "11:59 PM");
}

TEST(FormatMillisTest, LastDaysOfMonthsAndYears) {
  // [d] on 31 December and 29 February; [D] on the last day of each month.
  EXPECT_EQ(Format(1483142400000, "[D] [MNn] [d]"), "31 December 366");  // 2016
  EXPECT_EQ(Format(951782400000, "[D] [MNn] [d]"), "29 February 60");    // 2000
  EXPECT_EQ(Format(-2203977600000, "[Y] [D] [MNn] [d]"),
            "1900 28 February 59");  // 1900 is not a leap year
}

TEST(FormatMillisTest, BeforeTheEpoch) {
  EXPECT_EQ(Format(-1, ""), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(Format(-2777932800000, "[D1o] [MNn] [Y0001]"),
            "21st December 1881");
}

TEST(FormatMillisTest, ExtremesDoNotCrash) {
  for (int64_t ms : {std::numeric_limits<int64_t>::min(),
                     std::numeric_limits<int64_t>::max(),
                     int64_t{8640000000000000}, int64_t{-8640000000000000}}) {
    EXPECT_THAT(FormatMillis(ms, "", "+1000"), IsOk()) << ms;
    EXPECT_THAT(FormatMillis(ms, "[Yw] [W] [w] [X] [x] [d] [F]", ""), IsOk());
  }
  EXPECT_EQ(Format(8640000000000000, "[Y] [M01] [D01]"), "275760 09 13");
}

TEST(FormatMillisTest, OtherDigitGroups) {
  // Arabic-Indic digits and a fullwidth grouped year.
  EXPECT_EQ(Format(1521801216617, "[D\u0660\u0661]/[M\u0660\u0661]"),
            "\u0662\u0663/\u0660\u0663");
}

// ---------------------------------------------------------------------------
// Parsing details beyond the suite.

TEST(ParseMillisTest, DoesNotMatch) {
  EXPECT_EQ(Parse("abc", "[Y]"), std::nullopt);
  EXPECT_EQ(Parse("2018-", "[Y]"), std::nullopt);
  EXPECT_EQ(Parse(" 2018", "[Y]"), std::nullopt);
  EXPECT_EQ(Parse("Marc 2018", "[MNn] [Y]"), std::nullopt);
  EXPECT_EQ(Parse("twenty umpteen", "[Yw]"), std::nullopt);
  EXPECT_EQ(Parse("", "[Y]"), std::nullopt);
}

TEST(ParseMillisTest, LettersAreCaseInsensitive) {
  EXPECT_THAT(Parse("21 AUGUST 2017", "[D] [MNn] [Y]"),
              Optional(1503273600000));
  EXPECT_THAT(Parse("4/4/2018 11:30 PM", "[D1]/[M1]/[Y0001] [h]:[m] [P]"),
              Optional(1522884600000));
  EXPECT_THAT(Parse("mcmlxxxiv", "[YI]"), Optional(441763200000));
}

// Date.UTC normalises out-of-range fields and so does ParseMillis.
TEST(ParseMillisTest, LenientFieldsRollOver) {
  EXPECT_EQ(Parse("31/4/2018", "[D]/[M]/[Y]"),
            Parse("1/5/2018", "[D]/[M]/[Y]"));
  EXPECT_EQ(Parse("13/2018", "[M]/[Y]"), Parse("1/2019", "[M]/[Y]"));
  EXPECT_EQ(Parse("2018-366", "[Y]-[d]"), Parse("2019-1", "[Y]-[d]"));
}

// Date.UTC reads years 0-99 as 1900-1999, so jsonata-js does too.
TEST(ParseMillisTest, TwoDigitYearMeansTwentiethCentury) {
  EXPECT_EQ(Parse("18", "[Y01]"), Parse("1918", "[Y0001]"));
  EXPECT_EQ(Parse("0099", "[Y0001]"), Parse("1999", "[Y0001]"));
  EXPECT_THAT(Parse("0100", "[Y0001]"), Optional(-59011459200000));
  // Day-of-year dates too, and the mapping happens once.
  EXPECT_EQ(Parse("18-32", "[Y]-[d]"), Parse("1918-2-1", "[Y]-[M]-[D]"));
}

TEST(ParseMillisTest, OutsideJavaScriptRangeIsNullopt) {
  EXPECT_EQ(Parse("300000", "[Y]"), std::nullopt);
  EXPECT_EQ(Parse("99999999999999999999", "[Y]"), std::nullopt);
  EXPECT_THAT(Parse("275760-09-13", "[Y]-[M]-[D]"), Optional(8640000000000000));
  EXPECT_EQ(Parse("275760-09-13T00:00:00.001", "[Y]-[M]-[D]T[H]:[m]:[s].[f]"),
            std::nullopt);
}

TEST(ParseMillisTest, DefaultsFromNow) {
  // Month and day only: this year (2024), midnight.
  EXPECT_EQ(Format(*Parse("3-9", "[M]-[D]"), ""), "2024-03-09T00:00:00.000Z");
  // Day-of-year with a time.
  EXPECT_EQ(Format(*Parse("2018-32 10:15", "[Y]-[d] [H]:[m]"), ""),
            "2018-02-01T10:15:00.000Z");
  // Minutes only: today, this hour.
  EXPECT_EQ(Format(*Parse("05", "[m]"), ""), "2024-07-15T18:05:00.000Z");
  // A 12-hour time without a marker is am.
  EXPECT_EQ(Format(*Parse("7:15", "[h]:[m]"), ""), "2024-07-15T07:15:00.000Z");
  // Offset only: now, shifted.
  EXPECT_THAT(Parse("+01:00", "[Z]"), Optional(kNow - 3600 * 1000));
}

TEST(ParseMillisTest, FractionTruncatesToMillis) {
  const char* kPicture = "[H]:[m]:[s].[f]";
  const int64_t base = *Parse("10:00:00.0", kPicture);
  EXPECT_EQ(*Parse("10:00:00.5", kPicture) - base, 500);
  EXPECT_EQ(*Parse("10:00:00.05", kPicture) - base, 50);
  EXPECT_EQ(*Parse("10:00:00.123", kPicture) - base, 123);
  EXPECT_EQ(*Parse("10:00:00.123999", kPicture) - base, 123);
}

TEST(ParseMillisTest, TimezoneForms) {
  const int64_t utc = *Parse("2020-09-09 12:00", "[Y]-[M]-[D] [H]:[m]");
  const char* kPicture = "[Y]-[M]-[D] [H]:[m] [Z]";
  EXPECT_THAT(Parse("2020-09-09 12:00 -05:30", kPicture),
              Optional(utc + 330 * 60 * 1000));
  EXPECT_THAT(Parse("2020-09-09 12:00 +00:00", kPicture), Optional(utc));
  EXPECT_THAT(Parse("2020-09-09 12:00 Z", "[Y]-[M]-[D] [H]:[m] [Z01:01t]"),
              Optional(utc));
  EXPECT_EQ(Parse("2020-09-09 12:00 Z", kPicture), std::nullopt);
  EXPECT_THAT(Parse("2020-09-09 12:00 -0330", "[Y]-[M]-[D] [H]:[m] [Z0001]"),
              Optional(utc + 210 * 60 * 1000));
}

TEST(ParseMillisTest, Iso8601Forms) {
  EXPECT_THAT(Parse("2018-02", ""), Optional(1517443200000));
  EXPECT_THAT(Parse("2018-02-01T09:42:13", ""), Optional(1517478133000));
  EXPECT_THAT(Parse("2018-02-01T09:42:13.1", ""), Optional(1517478133100));
  EXPECT_THAT(Parse("2018-02-01T09:42:13.123456Z", ""),
              Optional(1517478133123));
  EXPECT_THAT(Parse("2018-02-01T10:42:13+01:00", ""), Optional(1517478133000));
  EXPECT_THAT(Parse("2018-02-01T04:12:13-0530", ""), Optional(1517478133000));
  EXPECT_THAT(Parse("2018-02-01T24:00:00Z", ""), Optional(1517529600000));
  EXPECT_THAT(Parse("1969-12-31T23:59:59.999Z", ""), Optional(-1));
  // ISO-shaped but no such date: nullopt, as Date.parse gives NaN.
  EXPECT_EQ(Parse("2018-13-01", ""), std::nullopt);
  EXPECT_EQ(Parse("2018-02-30", ""), std::nullopt);
  EXPECT_EQ(Parse("2018-01-01-01", ""), std::nullopt);
  EXPECT_EQ(Parse("2018-01-01T25:00:00Z", ""), std::nullopt);
  EXPECT_EQ(Parse("2018.5", ""), std::nullopt);
}

TEST(ParseMillisTest, SystemClockOverloadMatchesWhenDateIsGiven) {
  absl::StatusOr<std::optional<int64_t>> out =
      ParseMillis("2018-03-27 14:03", "[Y]-[M]-[D] [H]:[m]");
  ASSERT_THAT(out, IsOk());
  EXPECT_THAT(*out, Optional(1522159380000));
}

// ---------------------------------------------------------------------------
// Round trips: what FormatMillis writes, ParseMillis reads back.

// A picture without [Z]/[z] loses the offset, so those are formatted in UTC;
// roman numerals and letters have no zero, so they only carry components
// that are never 0.
TEST(RoundTripTest, FormatThenParse) {
  struct Picture {
    const char* picture;
    const char* timezone;
  };
  const Picture kPictures[] = {
      {"", ""},
      {"", "+0530"},
      {"", "-0330"},
      {kIso8601Picture.data(), "-1000"},
      {"[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01]", "+1400"},
      {"[Y0001][M01][D01][H01][m01][s01][f001]", ""},
      {"[FNn], [D1o] [MNn] [Y0001] [h]:[m01]:[s01].[f001] [PN] [z]", "-0800"},
      {"[Dwo] [MNn,3-3] [Yw] at [H01]:[m01]:[s01].[f001]", ""},
      {"[D1] [Mi] [YI] [H01]:[m01]:[s01].[f001]", ""},
      {"[Y0001]-[d001]T[H01][m01][s01].[f001][Z0101]", "+0200"},
      {"[YW] [MA] [Da] [HWw] [mw] [s01] [f001] [Z0]", "-0500"},
  };
  // Deterministic pseudo-random instants between the years 1000 and 9999.
  uint64_t state = 42;
  constexpr int64_t kLow = -30610224000000;   // 1000-01-01
  constexpr int64_t kHigh = 253402300799999;  // 9999-12-31T23:59:59.999
  for (int i = 0; i < 300; ++i) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    const int64_t millis =
        kLow + static_cast<int64_t>((state >> 11) %
                                    static_cast<uint64_t>(kHigh - kLow));
    for (const Picture& p : kPictures) {
      absl::StatusOr<std::string> text =
          FormatMillis(millis, p.picture, p.timezone);
      ASSERT_THAT(text, IsOk()) << p.picture;
      const absl::string_view parse_picture =
          (absl::string_view(p.picture).empty() && p.timezone[0] != '\0')
              ? kIso8601Picture
              : absl::string_view(p.picture);
      EXPECT_THAT(Parse(*text, parse_picture), Optional(millis))
          << millis << " " << p.picture << " -> " << *text;
    }
  }
}

TEST(RoundTripTest, ParseThenFormat) {
  const char* kPicture = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]Z";
  for (const char* text :
       {"2018-03-27T14:03:00.123Z", "2000-02-29T00:00:00.000Z",
        "1970-01-01T00:00:00.000Z", "1881-12-21T23:59:59.999Z"}) {
    std::optional<int64_t> ms = Parse(text, kPicture);
    ASSERT_TRUE(ms.has_value()) << text;
    EXPECT_EQ(Format(*ms, kPicture), text);
    EXPECT_EQ(Format(*ms, ""), text);
  }
}

// ---------------------------------------------------------------------------
// The compiled-picture cache.

TEST(PictureCacheTest, ManyPicturesAndRepeatsAgree) {
  // More distinct pictures than the cache holds, each parsed twice.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 600; ++i) {
      const std::string picture = absl::StrCat("[Y0001]-[M01]-[D01] #", i);
      const std::string text = absl::StrCat("2018-03-27 #", i);
      EXPECT_THAT(Parse(text, picture), Optional(1522108800000)) << picture;
    }
  }
  // Errors are reported every time, not cached as successes.
  EXPECT_THAT(ParseMillis("x", "[q]", kNow), HasErrorCode("D3132"));
  EXPECT_THAT(ParseMillis("x", "[q]", kNow), HasErrorCode("D3132"));
}

TEST(PictureCacheTest, ConcurrentParses) {
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &mismatches] {
      for (int i = 0; i < 300; ++i) {
        const std::string picture =
            absl::StrCat("[Dw] [MNn] [Y0001] ", (t * 1000 + i) % 300);
        const std::string text =
            absl::StrCat("twenty-seven April 2008 ", (t * 1000 + i) % 300);
        absl::StatusOr<std::optional<int64_t>> out =
            ParseMillis(text, picture, kNow);
        if (!out.ok() || *out != std::optional<int64_t>(1209254400000)) {
          ++mismatches;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ParseMillisTest, PictureThatIsNotUtf8IsInternal) {
  EXPECT_THAT(ParseMillis("2018", "\xff[Y]", kNow),
              StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace retrace::expr::datetime
