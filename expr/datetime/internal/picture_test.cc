#include "expr/datetime/internal/picture.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace retrace::expr::datetime::internal {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;

TEST(AnalyseDateTimePictureTest, LiteralsAndEscapes) {
  absl::StatusOr<std::vector<PicturePart>> parts =
      AnalyseDateTimePicture("[[Year]]: [[[Y0001]]]");
  ASSERT_THAT(parts, IsOk());
  ASSERT_EQ(parts->size(), 5u);
  EXPECT_EQ((*parts)[0].literal, "[");
  EXPECT_EQ((*parts)[1].literal, "Year]: ");
  EXPECT_EQ((*parts)[2].literal, "[");
  EXPECT_EQ((*parts)[3].marker.component, 'Y');
  EXPECT_EQ((*parts)[4].literal, "]");
}

TEST(AnalyseDateTimePictureTest, MarkerModifiers) {
  absl::StatusOr<std::vector<PicturePart>> parts =
      AnalyseDateTimePicture("[D1o][MNn,3-3][Y,*-4][Z01:01t][ f 0 01 ]");
  ASSERT_THAT(parts, IsOk());
  ASSERT_EQ(parts->size(), 5u);
  const Marker& day = (*parts)[0].marker;
  EXPECT_EQ(day.presentation1, "1");
  EXPECT_EQ(day.presentation2, 'o');
  EXPECT_TRUE(day.integer_format->ordinal);
  const Marker& month = (*parts)[1].marker;
  EXPECT_EQ(month.names, LetterCase::kTitle);
  EXPECT_EQ(month.min_width, 3);
  EXPECT_EQ(month.max_width, 3);
  const Marker& year = (*parts)[2].marker;
  EXPECT_EQ(year.min_width, std::nullopt);
  EXPECT_EQ(year.max_width, 4);
  EXPECT_EQ(year.year_digits, 4);
  EXPECT_EQ(year.integer_format->mandatory_digits, 4);
  const Marker& zone = (*parts)[3].marker;
  EXPECT_EQ(zone.presentation1, "01:01");
  EXPECT_EQ(zone.presentation2, 't');
  EXPECT_TRUE(zone.integer_format->regular_grouping);
  EXPECT_EQ((*parts)[4].marker.presentation1, "001");
}

TEST(AnalyseDateTimePictureTest, AdjacentIntegersGetParseWidth) {
  absl::StatusOr<std::vector<PicturePart>> parts =
      AnalyseDateTimePicture("[Y0001][M01]-[D01]");
  ASSERT_THAT(parts, IsOk());
  EXPECT_EQ((*parts)[0].marker.integer_format->parse_width, 4);
  EXPECT_EQ((*parts)[1].marker.integer_format->parse_width, std::nullopt);
  EXPECT_EQ((*parts)[3].marker.integer_format->parse_width, std::nullopt);
}

TEST(AnalyseDateTimePictureTest, YearDigits) {
  auto year_digits = [](absl::string_view picture) {
    return (*AnalyseDateTimePicture(picture))[0].marker.year_digits;
  };
  EXPECT_EQ(year_digits("[Y]"), -1);
  EXPECT_EQ(year_digits("[Y1]"), -1);
  EXPECT_EQ(year_digits("[Y01]"), 2);
  EXPECT_EQ(year_digits("[Y,2]"), 2);
  EXPECT_EQ(year_digits("[Y0001,2]"), 4);
  EXPECT_EQ(year_digits("[Y0001,2-2]"), 2);
  EXPECT_EQ(year_digits("[YI]"), -1);
}

TEST(AnalyseDateTimePictureTest, Errors) {
  EXPECT_THAT(AnalyseDateTimePicture("[Y0001"), HasErrorCode("D3135"));
  EXPECT_THAT(AnalyseDateTimePicture("[q]"), HasErrorCode("D3132"));
  EXPECT_THAT(AnalyseDateTimePicture("[qN]"), HasErrorCode("D3132"));
  EXPECT_THAT(AnalyseDateTimePicture("[]"), HasErrorCode("D3132"));
  EXPECT_THAT(AnalyseDateTimePicture("[Y0\u0661]"), HasErrorCode("D3131"));
}

}  // namespace
}  // namespace retrace::expr::datetime::internal
