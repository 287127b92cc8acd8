#include "expr/datetime/datetime.h"

#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "expr/datetime/internal/integer_picture.h"
#include "expr/datetime/internal/picture.h"
#include "re2/re2.h"

namespace retrace::expr::datetime {
namespace {

using internal::IntegerFormat;
using internal::IntegerPrimary;
using internal::LetterCase;
using internal::Marker;
using internal::PicturePart;

constexpr std::array<absl::string_view, 12> kMonths = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
// Index 1 is Monday, as [F] counts (ISO 8601).
constexpr std::array<absl::string_view, 8> kDays = {
    "",         "Monday", "Tuesday",  "Wednesday",
    "Thursday", "Friday", "Saturday", "Sunday"};

// JavaScript dates span ±100,000,000 days around the epoch.
constexpr int64_t kMaxJsMillis = 8'640'000'000'000'000;

const absl::CivilSecond kEpoch(1970, 1, 1, 0, 0, 0);

absl::Status InvalidArgument(absl::string_view code,
                             absl::string_view message) {
  return retrace::Error(absl::StatusCode::kInvalidArgument, code, message);
}

// ---------------------------------------------------------------------------
// Calendar fragments

// A wall-clock time: UTC shifted by the formatting offset.
struct WallTime {
  absl::CivilSecond second;
  int millis = 0;  // 0-999
};

WallTime ToWallTime(int64_t millis) {
  int64_t seconds = millis / 1000;
  int64_t rem = millis % 1000;
  if (rem < 0) {
    rem += 1000;
    seconds -= 1;
  }
  return {kEpoch + seconds, static_cast<int>(rem)};
}

// Monday = 1 ... Sunday = 7.
int IsoWeekday(absl::CivilDay day) {
  return static_cast<int>(absl::GetWeekday(day)) + 1;
}

// ISO 8601's week 1 of a year contains its first Thursday; XPath F&O applies
// the same rule to months. Returns the Monday that starts week 1.
absl::CivilDay StartOfFirstWeek(absl::CivilMonth month) {
  const absl::CivilDay first(month);
  const int dow = IsoWeekday(first);
  return dow > 4 ? first + (8 - dow) : first - (dow - 1);
}

// Week number of `today` counted from `start` (week 1), as datetime.js
// computes it (fractional weeks, floored by the caller).
double DeltaWeeks(absl::CivilDay start, absl::CivilDay today) {
  return static_cast<double>(today - start) / 7.0 + 1.0;
}

// The integer value of component `c` at `t`; P is 0 (am) or 1 (pm).
int64_t Fragment(const WallTime& t, char c) {
  const absl::CivilDay today(t.second);
  switch (c) {
    case 'Y':
      return t.second.year();
    case 'M':
      return t.second.month();
    case 'D':
      return t.second.day();
    case 'd':
      return today - absl::CivilDay(t.second.year(), 1, 1) + 1;
    case 'F':
      return IsoWeekday(today);
    case 'W': {
      const absl::CivilYear year(t.second);
      double week = DeltaWeeks(StartOfFirstWeek(absl::CivilMonth(year)), today);
      if (week > 52) {
        if (today >= StartOfFirstWeek(absl::CivilMonth(year + 1))) week = 1;
      } else if (week < 1) {
        week = DeltaWeeks(StartOfFirstWeek(absl::CivilMonth(year - 1)), today);
      }
      return static_cast<int64_t>(std::floor(week));
    }
    case 'w': {
      const absl::CivilMonth month(t.second);
      double week = DeltaWeeks(StartOfFirstWeek(month), today);
      if (week > 4) {
        if (today >= StartOfFirstWeek(month + 1)) week = 1;
      } else if (week < 1) {
        week = DeltaWeeks(StartOfFirstWeek(month - 1), today);
      }
      return static_cast<int64_t>(std::floor(week));
    }
    case 'X': {
      const absl::CivilYear year(t.second);
      if (today < StartOfFirstWeek(absl::CivilMonth(year))) {
        return year.year() - 1;
      }
      if (today >= StartOfFirstWeek(absl::CivilMonth(year + 1))) {
        return year.year() + 1;
      }
      return year.year();
    }
    case 'x': {
      const absl::CivilMonth month(t.second);
      if (today < StartOfFirstWeek(month)) return (month - 1).month();
      if (today >= StartOfFirstWeek(month + 1)) return (month + 1).month();
      return month.month();
    }
    case 'H':
      return t.second.hour();
    case 'h': {
      const int h = t.second.hour() % 12;
      return h == 0 ? 12 : h;
    }
    case 'P':
      return t.second.hour() >= 12 ? 1 : 0;
    case 'm':
      return t.second.minute();
    case 's':
      return t.second.second();
    case 'f':
      return t.millis;
    default:
      return 0;
  }
}

std::string ApplyCase(absl::string_view text, LetterCase letter_case) {
  switch (letter_case) {
    case LetterCase::kUpper:
      return absl::AsciiStrToUpper(text);
    case LetterCase::kLower:
      return absl::AsciiStrToLower(text);
    case LetterCase::kTitle:
      break;
  }
  return std::string(text);
}

// ---------------------------------------------------------------------------
// Formatting

// A fixed offset from UTC.
struct Offset {
  int minutes = 0;  // signed total
};

absl::StatusOr<Offset> ParseTimezone(absl::string_view timezone) {
  Offset offset;
  if (timezone.empty()) return offset;
  auto bad = [&] {
    return InvalidArgument(
        "EXPR_DATETIME_INVALID_TIMEZONE",
        absl::StrCat("timezone \"", timezone,
                     "\" is not an offset like \"+0100\", \"-0500\" or "
                     "\"+05:30\""));
  };
  int sign = 1;
  absl::string_view rest = timezone;
  if (rest[0] == '+' || rest[0] == '-') {
    sign = rest[0] == '-' ? -1 : 1;
    rest.remove_prefix(1);
  }
  std::string digits;
  if (rest.size() == 5 && rest[2] == ':') {
    digits = absl::StrCat(rest.substr(0, 2), rest.substr(3));
  } else if (rest.size() == 4) {
    digits = std::string(rest);
  } else {
    return bad();
  }
  for (char c : digits) {
    if (!absl::ascii_isdigit(c)) return bad();
  }
  const int hours = (digits[0] - '0') * 10 + (digits[1] - '0');
  const int minutes = (digits[2] - '0') * 10 + (digits[3] - '0');
  if (hours > 23 || minutes > 59) return bad();
  offset.minutes = sign * (hours * 60 + minutes);
  return offset;
}

// §9.8.4.5: the milliseconds as a decimal fraction, at least the mandatory
// digits and at most the maximum width.
std::string FormatFraction(int millis, const Marker& marker) {
  const IntegerFormat& format = *marker.integer_format;
  std::string digits = absl::StrCat(millis + 1000).substr(1);  // "005"
  const int mandatory = format.mandatory_digits;
  int max = -1;  // unbounded
  if (marker.max_width.has_value()) {
    max = *marker.max_width;
  } else if (format.mandatory_digits + format.optional_digits > 1) {
    max = format.mandatory_digits + format.optional_digits;
  }
  while (static_cast<int>(digits.size()) > mandatory && digits.back() == '0') {
    digits.pop_back();
  }
  if (static_cast<int>(digits.size()) < mandatory) {
    digits.append(mandatory - digits.size(), '0');
  }
  if (max > 0 && static_cast<int>(digits.size()) > max) digits.resize(max);
  std::string out;
  for (char d : digits) {
    internal::AppendUtf8(format.zero_code + (d - '0'), &out);
  }
  return out;
}

absl::StatusOr<std::string> FormatTimezone(const Marker& marker,
                                           Offset offset) {
  const int abs_minutes = std::abs(offset.minutes);
  const int hours = abs_minutes / 60;
  const int minutes = abs_minutes % 60;
  const IntegerFormat& format = *marker.integer_format;
  std::string value;
  if (format.primary == IntegerPrimary::kDecimal && format.regular_grouping) {
    ASSIGN_OR_RETURN(value,
                     internal::FormatInteger(hours * 100 + minutes, format));
  } else {
    const int digits = format.primary == IntegerPrimary::kDecimal
                           ? format.mandatory_digits
                           : 0;
    if (digits == 1 || digits == 2) {
      ASSIGN_OR_RETURN(value, internal::FormatInteger(hours, format));
      if (minutes != 0) {
        absl::StrAppend(&value, ":", minutes < 10 ? "0" : "", minutes);
      }
    } else if (digits == 3 || digits == 4) {
      ASSIGN_OR_RETURN(value,
                       internal::FormatInteger(hours * 100 + minutes, format));
    } else {
      return InvalidArgument(
          "D3134",
          absl::StrCat("The timezone integer format specifier cannot have "
                       "more than four digits (\"[",
                       std::string(1, marker.component), marker.presentation1,
                       "]\")"));
    }
  }
  value.insert(0, offset.minutes >= 0 ? "+" : "-");
  if (marker.component == 'z') value.insert(0, "GMT");
  if (offset.minutes == 0 && marker.presentation2 == 't') value = "Z";
  return value;
}

absl::StatusOr<std::string> FormatMarker(const WallTime& t, const Marker& m,
                                         Offset offset) {
  const char c = m.component;
  if (absl::StrContains("YMDdFWwXxHhms", c)) {
    int64_t value = Fragment(t, c);
    if (c == 'Y' && m.year_digits >= 0 && m.year_digits < 18) {
      int64_t modulus = 1;
      for (int i = 0; i < m.year_digits; ++i) modulus *= 10;
      value %= modulus;
    }
    if (m.names.has_value()) {
      std::string name;
      if (c == 'M' || c == 'x') {
        name = std::string(kMonths[value - 1]);
      } else if (c == 'F') {
        name = std::string(kDays[value]);
      } else {
        return InvalidArgument(
            "D3133",
            absl::StrCat("The 'name' modifier can only be applied to months "
                         "and days in the date/time picture string, not ",
                         std::string(1, c)));
      }
      name = ApplyCase(name, *m.names);
      if (m.max_width.has_value() &&
          static_cast<int>(name.size()) > *m.max_width) {
        name.resize(*m.max_width);
      }
      return name;
    }
    return internal::FormatInteger(value, *m.integer_format);
  }
  switch (c) {
    case 'f':
      if (m.names.has_value()) {
        return InvalidArgument(
            "D3133",
            "The 'name' modifier can only be applied to months and days in "
            "the date/time picture string, not f");
      }
      if (m.integer_format->primary == IntegerPrimary::kDecimal) {
        return FormatFraction(t.millis, m);
      }
      return internal::FormatInteger(t.millis, *m.integer_format);
    case 'Z':
    case 'z':
      return FormatTimezone(m, offset);
    case 'P': {
      const bool pm = Fragment(t, 'P') == 1;
      std::string marker = pm ? "pm" : "am";
      if (m.names == LetterCase::kUpper) marker = pm ? "PM" : "AM";
      return marker;
    }
    case 'C':
    case 'E':
      return std::string("ISO");
    default:
      return std::string();
  }
}

// ---------------------------------------------------------------------------
// Parsing

// One capture group of the parsing expression and how to read its value.
struct PartMatcher {
  std::string regex;
  char component = '\0';  // '\0' for literals
  // Returns nullopt when the captured text has no value.
  std::function<std::optional<int64_t>(absl::string_view)> parse;
};

// Digits of the group starting at `zero`, as ASCII.
std::optional<std::string> AsciiDigits(absl::string_view text, char32_t zero) {
  std::string out;
  for (char32_t c : internal::DecodeUtf8(text)) {
    if (c < zero || c > zero + 9) return std::nullopt;
    out.push_back(static_cast<char>('0' + (c - zero)));
  }
  return out;
}

std::optional<int64_t> ToInt(absl::string_view digits) {
  if (digits.empty() || digits.size() > 15) return std::nullopt;
  int64_t value = 0;
  for (char d : digits) value = value * 10 + (d - '0');
  return value;
}

std::string DigitClass(char32_t zero) {
  if (zero == U'0') return "[0-9]";
  return absl::StrCat("[\\x{", absl::Hex(static_cast<uint32_t>(zero)), "}-\\x{",
                      absl::Hex(static_cast<uint32_t>(zero + 9)), "}]");
}

absl::Status NameError(char c) {
  return InvalidArgument(
      "D3133",
      absl::StrCat("The 'name' modifier can only be applied to months and "
                   "days in the date/time picture string, not ",
                   std::string(1, c)));
}

absl::StatusOr<PartMatcher> IntegerMatcher(const IntegerFormat& format,
                                           bool fraction) {
  PartMatcher m;
  switch (format.primary) {
    case IntegerPrimary::kLetters:
      m.regex = format.letter_case == LetterCase::kUpper ? "[A-Z]+" : "[a-z]+";
      m.parse = [](absl::string_view v) {
        return internal::LettersToDecimal(v);
      };
      break;
    case IntegerPrimary::kRoman:
      m.regex = format.letter_case == LetterCase::kUpper ? "[MDCLXVI]+"
                                                         : "[mdclxvi]+";
      m.parse = [](absl::string_view v) { return internal::RomanToDecimal(v); };
      break;
    case IntegerPrimary::kWords:
      m.regex = absl::StrCat("(?:", absl::StrJoin(internal::NumberWords(), "|"),
                             "|and|[\\-, ])+");
      m.parse = [](absl::string_view v) {
        return internal::WordsToNumber(absl::AsciiStrToLower(v));
      };
      break;
    case IntegerPrimary::kDecimal: {
      m.regex = DigitClass(format.zero_code);
      if (format.parse_width.has_value() && *format.parse_width > 0) {
        absl::StrAppend(&m.regex, "{", *format.parse_width, "}");
      } else {
        absl::StrAppend(&m.regex, "+");
      }
      if (format.ordinal) absl::StrAppend(&m.regex, "(?:th|st|nd|rd)");
      const bool ordinal = format.ordinal;
      const char32_t zero = format.zero_code;
      m.parse = [ordinal, zero,
                 fraction](absl::string_view v) -> std::optional<int64_t> {
        if (ordinal) v.remove_suffix(2);
        std::optional<std::string> digits = AsciiDigits(v, zero);
        if (!digits.has_value()) return std::nullopt;
        if (fraction) {
          // A decimal fraction of a second, truncated to milliseconds.
          digits->resize(3, '0');
        }
        return ToInt(*digits);
      };
      break;
    }
    case IntegerPrimary::kSequence:
      return InvalidArgument(
          "D3130",
          absl::StrCat("Formatting or parsing an integer as a sequence "
                       "starting with \"",
                       format.token,
                       "\" is not supported by this implementation"));
  }
  return m;
}

absl::StatusOr<PartMatcher> TimezoneMatcher(const Marker& marker) {
  PartMatcher m;
  const IntegerFormat& format = *marker.integer_format;
  std::string separator;
  if (format.primary == IntegerPrimary::kDecimal && format.regular_grouping) {
    separator = format.separators[0].character;
  }
  std::string regex = marker.component == 'z' ? "GMT" : "";
  absl::StrAppend(&regex, "[-+][0-9]+");
  if (!separator.empty()) {
    absl::StrAppend(&regex, RE2::QuoteMeta(separator), "[0-9]+");
  }
  // "t" prints offset zero as "Z"; accept it back.
  if (marker.presentation2 == 't') regex = absl::StrCat("(?:", regex, "|Z)");
  m.regex = std::move(regex);
  const bool gmt = marker.component == 'z';
  m.parse = [gmt, separator](absl::string_view v) -> std::optional<int64_t> {
    if (v == "Z" || v == "z") return 0;
    if (gmt) v.remove_prefix(3);
    const int sign = v[0] == '-' ? -1 : 1;
    v.remove_prefix(1);
    std::optional<int64_t> hours, minutes = 0;
    if (!separator.empty()) {
      const size_t at = v.find(separator);
      hours = ToInt(v.substr(0, at));
      minutes = ToInt(v.substr(at + separator.size()));
    } else if (v.size() <= 2) {
      hours = ToInt(v);
    } else {
      hours = ToInt(v.substr(0, 2));
      minutes = ToInt(v.substr(2));
    }
    if (!hours.has_value() || !minutes.has_value()) return std::nullopt;
    if (*hours > 99 || *minutes > 9999) return std::nullopt;
    return sign * (*hours * 60 + *minutes);
  };
  return m;
}

absl::StatusOr<PartMatcher> NameMatcher(const Marker& marker) {
  PartMatcher m;
  m.regex = "[a-zA-Z]+";
  std::vector<std::pair<std::string, int64_t>> names;
  auto add = [&](absl::string_view name, int64_t value) {
    if (marker.max_width.has_value() && *marker.max_width > 0) {
      name = name.substr(0, *marker.max_width);
    }
    names.emplace_back(std::string(name), value);
  };
  switch (marker.component) {
    case 'M':
    case 'x':
      for (size_t i = 0; i < kMonths.size(); ++i) add(kMonths[i], i + 1);
      break;
    case 'F':
      for (size_t i = 1; i < kDays.size(); ++i) add(kDays[i], i);
      break;
    case 'P':
      names = {{"am", 0}, {"pm", 1}};
      break;
    default:
      return NameError(marker.component);
  }
  m.parse = [names](absl::string_view v) -> std::optional<int64_t> {
    for (const auto& [name, value] : names) {
      if (absl::EqualsIgnoreCase(name, v)) return value;
    }
    return std::nullopt;
  };
  return m;
}

absl::StatusOr<PartMatcher> MatcherFor(const PicturePart& part) {
  if (part.is_literal) {
    PartMatcher m;
    m.regex = RE2::QuoteMeta(part.literal);
    return m;
  }
  const Marker& marker = part.marker;
  PartMatcher m;
  if (marker.component == 'Z' || marker.component == 'z') {
    ASSIGN_OR_RETURN(m, TimezoneMatcher(marker));
  } else if (marker.integer_format.has_value()) {
    ASSIGN_OR_RETURN(
        m, IntegerMatcher(*marker.integer_format, marker.component == 'f'));
  } else {
    ASSIGN_OR_RETURN(m, NameMatcher(marker));
  }
  m.component = marker.component;
  return m;
}

// Date.UTC maps years 0-99 to 1900-1999; jsonata-js inherits that.
int64_t JsYear(int64_t year) {
  return year >= 0 && year <= 99 ? 1900 + year : year;
}

// Millis for the given wall-clock fields, normalising overflow like Date.UTC
// (month 13 is January next year). nullopt outside JavaScript's date range.
std::optional<int64_t> UtcMillis(int64_t year, int64_t month0, int64_t day,
                                 int64_t hour, int64_t minute, int64_t second,
                                 int64_t millis) {
  constexpr int64_t kFieldLimit = 1'000'000'000;
  if (std::abs(year) > 1'000'000) return std::nullopt;
  for (int64_t field : {month0, day, hour, minute, second}) {
    if (std::abs(field) > kFieldLimit) return std::nullopt;
  }
  if (std::abs(millis) > kMaxJsMillis) return std::nullopt;
  const absl::CivilSecond civil(year, month0 + 1, day, hour, minute, second);
  const int64_t seconds = civil - kEpoch;
  const int64_t result = seconds * 1000 + millis;
  if (std::abs(result) > kMaxJsMillis) return std::nullopt;
  return result;
}

// A picture ready for matching: one capture group per picture part.
struct CompiledPicture {
  std::vector<PartMatcher> matchers;
  std::unique_ptr<RE2> regex;
};

constexpr int64_t kMaxRegexMemory = 2 << 20;

absl::StatusOr<std::shared_ptr<const CompiledPicture>> CompilePicture(
    absl::string_view picture) {
  ASSIGN_OR_RETURN(std::vector<PicturePart> parts,
                   internal::AnalyseDateTimePicture(picture));
  auto compiled = std::make_shared<CompiledPicture>();
  std::string regex;
  for (const PicturePart& part : parts) {
    ASSIGN_OR_RETURN(PartMatcher m, MatcherFor(part));
    absl::StrAppend(&regex, "(", m.regex, ")");
    compiled->matchers.push_back(std::move(m));
  }
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  // Bounds what each cached expression may use (program plus DFA states);
  // four word components compile to about 1,600 instructions, far below it.
  options.set_max_mem(kMaxRegexMemory);
  compiled->regex = std::make_unique<RE2>(regex, options);
  if (!compiled->regex->ok()) {
    // Literals are quoted, so only a picture that is not UTF-8 gets here.
    return absl::InternalError(absl::StrCat(
        "date/time picture \"", picture,
        "\" compiled to a bad expression: ", compiled->regex->error()));
  }
  return compiled;
}

// Compiling a picture costs far more than matching it (tens to hundreds of
// microseconds for word pictures) and workflows reuse a handful of pictures,
// so compiled pictures are kept, up to kMaxCachedPictures; the cache is
// emptied when full. Pictures that fail to compile are not kept.
constexpr size_t kMaxCachedPictures = 256;

absl::StatusOr<std::shared_ptr<const CompiledPicture>> CachedPicture(
    absl::string_view picture) {
  ABSL_CONST_INIT static absl::Mutex mu(absl::kConstInit);
  static auto* const cache =
      new absl::flat_hash_map<std::string,
                              std::shared_ptr<const CompiledPicture>>();
  {
    absl::MutexLock lock(&mu);
    auto it = cache->find(picture);
    if (it != cache->end()) return it->second;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const CompiledPicture> compiled,
                   CompilePicture(picture));
  absl::MutexLock lock(&mu);
  if (cache->size() >= kMaxCachedPictures) cache->clear();
  cache->emplace(std::string(picture), compiled);
  return compiled;
}

absl::StatusOr<std::optional<int64_t>> ParsePicture(absl::string_view text,
                                                    absl::string_view picture,
                                                    int64_t now_millis) {
  ASSIGN_OR_RETURN(std::shared_ptr<const CompiledPicture> compiled,
                   CachedPicture(picture));
  const RE2& re = *compiled->regex;
  const std::vector<PartMatcher>& matchers = compiled->matchers;
  const int groups = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> captures(groups);
  std::vector<RE2::Arg> args(groups);
  std::vector<const RE2::Arg*> arg_ptrs(groups);
  for (int i = 0; i < groups; ++i) {
    args[i] = &captures[i];
    arg_ptrs[i] = &args[i];
  }
  if (!RE2::FullMatchN(re2::StringPiece(text.data(), text.size()), re,
                       arg_ptrs.data(), groups)) {
    return std::nullopt;
  }

  std::map<char, int64_t> components;
  for (size_t i = 0; i < matchers.size(); ++i) {
    if (!matchers[i].parse) continue;
    std::optional<int64_t> value = matchers[i].parse(
        absl::string_view(captures[i].data(), captures[i].size()));
    if (!value.has_value()) return std::nullopt;
    components[matchers[i].component] = *value;
  }
  if (components.empty()) return std::nullopt;

  // Which combination of components the picture gives (datetime.js):
  //        Y X M x W w d D            P H h m s f
  // dateA  1 0 1 0 0 0 0 1   timeA    0 1 0 1 1 1
  // dateB  1 0 0 0 0 0 1 0   timeB    1 0 1 1 1 1
  // dateC  0 1 0 1 0 1 0 0   (1 = may appear, 0 = must not; F, Z ignored)
  // dateD  0 1 0 0 1 0 0 0
  auto mask_of = [&](absl::string_view letters) {
    int mask = 0;
    for (char c : letters) mask = (mask << 1) | (components.count(c) ? 1 : 0);
    return mask;
  };
  auto is_type = [](int type, int mask) {
    return (~type & mask) == 0 && (type & mask) != 0;
  };
  const int date_mask = mask_of("YXMxWwdD");
  const bool date_a = is_type(0b10100001, date_mask);
  const bool date_b = !date_a && is_type(0b10000010, date_mask);
  const bool date_c = is_type(0b01010100, date_mask);
  const bool date_d = !date_c && is_type(0b01001000, date_mask);
  const int time_mask = mask_of("PHhmsf");
  const bool time_a = is_type(0b010111, time_mask);
  const bool time_b = !time_a && is_type(0b101111, time_mask);

  // datetime.js lists "YD" for dateB, which makes "[Y]-[d] [H]" a gap error;
  // day-of-year is what dateB is made of, so it is listed here.
  const std::string order = absl::StrCat(date_b   ? "Yd"
                                         : date_c ? "XxwF"
                                         : date_d ? "XWF"
                                                  : "YMD",
                                         time_b ? "Phmsf" : "Hmsf");
  // Unspecified components more significant than every given one take their
  // value now; less significant ones their minimum; a gap is an error.
  const WallTime now = ToWallTime(now_millis);
  bool started = false;
  bool ended = false;
  for (char c : order) {
    if (components.count(c) == 0) {
      if (started) {
        components[c] = (c == 'M' || c == 'D' || c == 'd') ? 1 : 0;
        ended = true;
      } else {
        // jsonata-js fills P with a string that never equals pm: am.
        components[c] = c == 'P' ? 0 : Fragment(now, c);
      }
    } else {
      started = true;
      if (ended) {
        return InvalidArgument(
            "D3136",
            absl::StrCat("The date/time picture string is missing specifiers "
                         "required to parse the timestamp (picture \"",
                         picture, "\")"));
      }
    }
  }
  if (date_c || date_d) {
    return InvalidArgument(
        "D3136",
        absl::StrCat("The date/time picture string is missing specifiers "
                     "required to parse the timestamp: week-based dates "
                     "cannot be parsed (picture \"",
                     picture, "\")"));
  }
  int64_t year = JsYear(components['Y']);
  int64_t month0 = components['M'] > 0 ? components['M'] - 1 : 0;
  int64_t day = components['D'];
  if (date_b) {
    const int64_t d = components['d'];
    if (std::abs(year) > 1'000'000 || std::abs(d) > 1'000'000'000) {
      return std::nullopt;
    }
    const absl::CivilDay derived = absl::CivilDay(year, 1, 1) + (d - 1);
    year = derived.year();
    month0 = derived.month() - 1;
    day = derived.day();
  }
  int64_t hour = components['H'];
  if (time_b) {
    hour = components['h'] == 12 ? 0 : components['h'];
    if (components['P'] == 1) hour += 12;
  }
  std::optional<int64_t> millis =
      UtcMillis(year, month0, day, hour, components['m'], components['s'],
                components['f']);
  if (!millis.has_value()) return std::nullopt;
  const int64_t offset =
      components.count('Z') ? components['Z'] : components['z'];
  *millis -= offset * 60 * 1000;
  if (std::abs(*millis) > kMaxJsMillis) return std::nullopt;
  return millis;
}

// Parses `text` as ISO 8601 the way $toMillis without a picture does.
absl::StatusOr<std::optional<int64_t>> ParseIso8601(absl::string_view text) {
  // The shape jsonata-js checks before handing the text to Date.parse.
  static const RE2* const kShape = new RE2(
      R"(\d{4}(-[01]\d)*(-[0-3]\d)*(T[0-2]\d:[0-5]\d:[0-5]\d)*(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?)");
  // What Date.parse turns into a date.
  static const RE2* const kDate = new RE2(
      R"((\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?)?)");
  const re2::StringPiece input(text.data(), text.size());
  if (!RE2::FullMatch(input, *kShape)) {
    return InvalidArgument(
        "D3110",
        absl::StrCat("The argument of the toMillis function must be an ISO "
                     "8601 formatted timestamp. Given \"",
                     text, "\""));
  }
  std::string year, month, day, hour, minute, second, fraction, zone;
  if (!RE2::FullMatch(input, *kDate, &year, &month, &day, &hour, &minute,
                      &second, &fraction, &zone)) {
    return std::nullopt;
  }
  auto num = [](const std::string& s, int64_t fallback) {
    return s.empty() ? fallback : *ToInt(s);
  };
  const int64_t y = num(year, 0), mo = num(month, 1), d = num(day, 1);
  const int64_t h = num(hour, 0), mi = num(minute, 0), s = num(second, 0);
  std::string ms_digits = fraction;
  ms_digits.resize(3, '0');
  const int64_t ms = *ToInt(ms_digits);
  if (mo < 1 || mo > 12) return std::nullopt;
  const absl::CivilDay date(y, mo, d);
  if (d < 1 || date.month() != mo) return std::nullopt;  // e.g. 2018-02-30
  if (h > 24 || (h == 24 && (mi != 0 || s != 0 || ms != 0))) {
    return std::nullopt;
  }
  int64_t offset_minutes = 0;
  if (!zone.empty() && zone != "Z") {
    const int sign = zone[0] == '-' ? -1 : 1;
    const int64_t zh = *ToInt(zone.substr(1, 2));
    const int64_t zm = *ToInt(zone.substr(zone.size() - 2));
    if (zh > 23 || zm > 59) return std::nullopt;
    offset_minutes = sign * (zh * 60 + zm);
  }
  const absl::CivilSecond civil(y, mo, d, h, mi, s);
  return (civil - kEpoch) * 1000 + ms - offset_minutes * 60 * 1000;
}

}  // namespace

absl::StatusOr<std::string> FormatMillis(int64_t millis,
                                         absl::string_view picture,
                                         absl::string_view timezone) {
  ASSIGN_OR_RETURN(Offset offset, ParseTimezone(timezone));
  // The default picture is analysed once.
  static const std::vector<PicturePart>* const kIsoParts =
      new std::vector<PicturePart>(
          *internal::AnalyseDateTimePicture(kIso8601Picture));
  std::vector<PicturePart> custom_parts;
  if (!picture.empty()) {
    ASSIGN_OR_RETURN(custom_parts, internal::AnalyseDateTimePicture(picture));
  }
  const std::vector<PicturePart>& parts =
      picture.empty() ? *kIsoParts : custom_parts;
  // Shifting the instant by the offset turns UTC fields into local ones.
  int64_t shifted;
  if (__builtin_add_overflow(millis, int64_t{offset.minutes} * 60 * 1000,
                             &shifted)) {
    shifted = millis;
  }
  const WallTime t = ToWallTime(shifted);
  std::string result;
  for (const PicturePart& part : parts) {
    if (part.is_literal) {
      result += part.literal;
      continue;
    }
    ASSIGN_OR_RETURN(std::string value, FormatMarker(t, part.marker, offset));
    result += value;
  }
  return result;
}

absl::StatusOr<std::optional<int64_t>> ParseMillis(absl::string_view text,
                                                   absl::string_view picture,
                                                   int64_t now_millis) {
  if (picture.empty()) return ParseIso8601(text);
  return ParsePicture(text, picture, now_millis);
}

absl::StatusOr<std::optional<int64_t>> ParseMillis(absl::string_view text,
                                                   absl::string_view picture) {
  return ParseMillis(text, picture, absl::ToUnixMillis(absl::Now()));
}

}  // namespace retrace::expr::datetime
