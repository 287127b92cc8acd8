#include "expr/datetime/datetime.h"

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr::datetime {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::testing::Optional;

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

}  // namespace
}  // namespace retrace::expr::datetime
