#include "expr/datetime/internal/picture.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status.h"
#include "common/status_macros.h"

namespace retrace::expr::datetime::internal {
namespace {

constexpr absl::string_view kComponents = "YMDdFWwXxHhPmsfZzCE";
constexpr absl::string_view kIntegerComponents = "YMDdFWwXxHhmsf";

// The presentation used when a marker gives none (§9.8.4.1 defaults, as
// jsonata-js applies them).
absl::string_view DefaultPresentation(char component) {
  switch (component) {
    case 'F':
    case 'P':
    case 'C':
    case 'E':
      return "n";
    case 'm':
    case 's':
      return "01";
    case 'Z':
    case 'z':
      return "01:01";
    default:
      return "1";
  }
}

// A width bound: digits, or "*"/empty for none. Like parseInt, trailing
// junk after leading digits is ignored and no digits at all means none.
std::optional<int> ParseWidth(absl::string_view text) {
  int value = 0;
  size_t i = 0;
  while (i < text.size() && absl::ascii_isdigit(text[i]) && value < 100000) {
    value = value * 10 + (text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  return value;
}

absl::StatusOr<Marker> AnalyseMarker(absl::string_view raw,
                                     std::vector<PicturePart>* spec) {
  std::string text;
  for (char c : raw) {
    if (!absl::ascii_isspace(c)) text.push_back(c);
  }
  Marker marker;
  if (text.empty() || !absl::StrContains(kComponents, text[0])) {
    return retrace::Error(
        absl::StatusCode::kInvalidArgument, "D3132",
        absl::StrCat("Unknown component specifier \"",
                     text.empty() ? "" : text.substr(0, 1),
                     "\" in date/time picture string (marker \"[", raw,
                     "]\")"));
  }
  marker.component = text[0];
  absl::string_view presentation = absl::string_view(text).substr(1);
  const size_t comma = text.rfind(',');
  if (comma != std::string::npos && comma > 0) {
    absl::string_view width = absl::string_view(text).substr(comma + 1);
    marker.has_width = true;
    const size_t dash = width.find('-');
    if (dash == absl::string_view::npos) {
      marker.min_width = ParseWidth(width);
    } else {
      marker.min_width = ParseWidth(width.substr(0, dash));
      marker.max_width = ParseWidth(width.substr(dash + 1));
    }
    presentation = absl::string_view(text).substr(1, comma - 1);
  }
  if (presentation.size() > 1 &&
      absl::StrContains("atco", presentation.back())) {
    marker.presentation2 = presentation.back();
    marker.presentation1 =
        std::string(presentation.substr(0, presentation.size() - 1));
  } else if (!presentation.empty()) {
    marker.presentation1 = std::string(presentation);
  } else {
    marker.presentation1 = std::string(DefaultPresentation(marker.component));
  }

  if (marker.presentation1[0] == 'n') {
    marker.names = LetterCase::kLower;
  } else if (marker.presentation1[0] == 'N') {
    marker.names =
        marker.presentation1.size() > 1 && marker.presentation1[1] == 'n'
            ? LetterCase::kTitle
            : LetterCase::kUpper;
  } else if (absl::StrContains(kIntegerComponents, marker.component)) {
    std::string pattern = marker.presentation1;
    if (marker.presentation2 != '\0') {
      absl::StrAppend(&pattern, ";", std::string(1, marker.presentation2));
    }
    ASSIGN_OR_RETURN(IntegerFormat format, AnalyseIntegerPicture(pattern));
    if (format.primary == IntegerPrimary::kDecimal &&
        marker.min_width.has_value() &&
        format.mandatory_digits < *marker.min_width) {
      format.mandatory_digits = *marker.min_width;
    }
    if (marker.component == 'Y') {
      if (marker.max_width.has_value()) {
        marker.year_digits = *marker.max_width;
        format.mandatory_digits = *marker.max_width;
      } else if (format.primary == IntegerPrimary::kDecimal &&
                 format.mandatory_digits + format.optional_digits >= 2) {
        marker.year_digits = format.mandatory_digits + format.optional_digits;
      }
    }
    // Two integer markers with no literal between them: the first must be
    // read with a fixed width or the parser cannot tell where it ends.
    if (!spec->empty() && !spec->back().is_literal &&
        spec->back().marker.integer_format.has_value()) {
      IntegerFormat& previous = *spec->back().marker.integer_format;
      previous.parse_width = previous.mandatory_digits;
    }
    marker.integer_format = std::move(format);
  }
  if (marker.component == 'Z' || marker.component == 'z') {
    ASSIGN_OR_RETURN(marker.integer_format,
                     AnalyseIntegerPicture(marker.presentation1));
  }
  return marker;
}

}  // namespace

absl::StatusOr<std::vector<PicturePart>> AnalyseDateTimePicture(
    absl::string_view picture) {
  std::vector<PicturePart> spec;
  auto add_literal = [&](size_t start, size_t end) {
    if (end > start) {
      PicturePart part;
      part.is_literal = true;
      part.literal = absl::StrReplaceAll(picture.substr(start, end - start),
                                         {{"]]", "]"}});
      spec.push_back(std::move(part));
    }
  };
  size_t start = 0;
  size_t pos = 0;
  while (pos < picture.size()) {
    if (picture[pos] == '[') {
      if (pos + 1 < picture.size() && picture[pos + 1] == '[') {
        add_literal(start, pos);
        PicturePart bracket;
        bracket.is_literal = true;
        bracket.literal = "[";
        spec.push_back(std::move(bracket));
        pos += 2;
        start = pos;
        continue;
      }
      add_literal(start, pos);
      start = pos;
      pos = picture.find(']', start);
      if (pos == absl::string_view::npos) {
        return retrace::Error(
            absl::StatusCode::kInvalidArgument, "D3135",
            absl::StrCat("No matching closing bracket ']' in date/time "
                         "picture string \"",
                         picture, "\""));
      }
      PicturePart part;
      ASSIGN_OR_RETURN(
          part.marker,
          AnalyseMarker(picture.substr(start + 1, pos - start - 1), &spec));
      spec.push_back(std::move(part));
      start = pos + 1;
    }
    ++pos;
  }
  add_literal(start, pos);
  return spec;
}

}  // namespace retrace::expr::datetime::internal
