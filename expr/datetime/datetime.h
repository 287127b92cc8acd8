// Date/time formatting and parsing behind the JSONata functions
// $fromMillis(ms, picture?, timezone?) and $toMillis(str, picture?).
//
// Semantics follow jsonata-js 2.x datetime.js, which implements the picture
// strings of XPath F&O 3.1 fn:format-dateTime (§9.8.4):
//
//   components   [Y] year, [M] month, [D] day of month, [d] day of year,
//                [F] day of week (Monday = 1), [W] ISO week of year,
//                [w] week of month, [X] ISO week-numbering year,
//                [x] week-numbering month, [H] hour 0-23, [h] hour 1-12,
//                [P] am/pm, [m] minute, [s] second, [f] fractional second,
//                [Z] offset "+01:00", [z] "GMT+01:00", [C] calendar and
//                [E] era (both "ISO")
//   presentation decimal patterns with grouping ("0001", "#1", "9,999"),
//                names "N" / "n" / "Nn" (months and days, English),
//                "I"/"i" roman, "A"/"a" letters, "W"/"w"/"Ww" words,
//                second modifier "o" for ordinals ("1st", "twenty-first"),
//                "t" on [Z] for "Z" at offset zero
//   width        ",min-max" with "*" for unbounded ("[MNn,3-3]" -> "Mar",
//                "[Y,2]" -> "18")
//   escapes      "[[" and "]]" for literal brackets
//
// All calendar arithmetic is proleptic Gregorian in UTC shifted by a fixed
// offset; the system time zone database is never consulted.
//
// Example:
//
//   absl::StatusOr<std::string> s =
//       FormatMillis(1521801216617, "[FNn], [D1o] [MNn] [Y]", "");
//   // *s == "Friday, 23rd March 2018"
//   absl::StatusOr<std::optional<int64_t>> ms =
//       ParseMillis("23rd March 2018", "[D1o] [MNn] [Y]");
//   // **ms == 1521763200000
//
// Errors are kInvalidArgument statuses made by retrace::Error() whose code
// string is the jsonata-js error code (retrace::ErrorCode(status)):
//   D3110  $toMillis text is not ISO 8601 (empty picture only)
//   D3130  unsupported numbering sequence, e.g. "[Dq]"
//   D3131  digit pattern mixes decimal digit groups
//   D3132  unknown component specifier, e.g. "[q]"
//   D3133  name presentation on a component without names, e.g. "[YN]"
//   D3134  [Z]/[z] digit pattern longer than four digits
//   D3135  "[" without a matching "]"
//   D3136  parsed components leave a gap ("[Y]-[D]") or use an unsupported
//          combination (ISO week dates)
//   EXPR_DATETIME_INVALID_TIMEZONE  timezone argument is not an offset
//          (jsonata-js has no code for this; it silently formats garbage)
//
// Thread safety: all functions are safe to call concurrently. ParseMillis
// keeps compiled pictures in a process-wide cache (at most 256 pictures,
// guarded by a mutex); results never depend on what is cached.
//
// REQUIRES: `picture` is valid UTF-8 (a picture that is not fails ParseMillis
// with kInternal).
#ifndef RETRACE_EXPR_DATETIME_DATETIME_H_
#define RETRACE_EXPR_DATETIME_DATETIME_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace retrace::expr::datetime {

// The picture used when FormatMillis gets an empty picture.
inline constexpr absl::string_view kIso8601Picture =
    "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";

// Formats `millis` (milliseconds since the Unix epoch) per `picture`.
//
// An empty `picture` means ISO 8601 as jsonata-js prints it:
// "2017-11-07T15:07:54.972Z" in UTC, "2017-11-07T10:07:54.972-05:00" with a
// timezone. (jsonata-js distinguishes an absent picture from ""; callers
// should pass "" for absent.)
//
// `timezone` is a fixed offset "+HHMM", "-HHMM", "HHMM" or "+HH:MM"; empty
// means UTC. The components are computed for local time at that offset, and
// [Z]/[z] print it.
//
// Returns the formatted string. Fails with kInvalidArgument and code
// D3130-D3135 for a bad picture, EXPR_DATETIME_INVALID_TIMEZONE for a bad
// timezone.
absl::StatusOr<std::string> FormatMillis(int64_t millis,
                                         absl::string_view picture,
                                         absl::string_view timezone);

// Parses `text` per `picture` into milliseconds since the Unix epoch.
//
// Empty `picture`: ISO 8601 as jsonata-js accepts it — "2018",
// "2018-02", "2018-02-01", "2018-02-01T09:42:13", with an optional fraction
// and an optional "Z", "+HH:MM" or "+HHMM" offset. Text without an offset is
// read as UTC (jsonata-js uses the host's local zone for date-times, which
// would make workflows non-deterministic). Text that is not ISO 8601 fails
// with D3110; ISO-shaped text naming no real date ("2018-13-01") returns
// nullopt.
//
// Otherwise `text` must match the whole picture (letters case-insensitively).
// Components the picture leaves out are filled in as jsonata-js does: those
// more significant than any given default to their value at `now_millis`
// (e.g. "[H]:[m]" gives that time today), less significant ones to their
// minimum (midnight, first of the month). Numbers are lenient like
// JavaScript's Date.UTC: day 31 of April is 1 May, and a parsed year 0-99
// means 1900-1999.
//
// Returns the millis; nullopt when `text` does not match `picture`, when the
// picture has no components, or when the result is outside JavaScript's
// date range (±8.64e15 ms). Fails with kInvalidArgument and code
// D3130-D3136 for a bad picture (D3133 also for [E]/[C], which cannot be
// parsed).
absl::StatusOr<std::optional<int64_t>> ParseMillis(absl::string_view text,
                                                   absl::string_view picture,
                                                   int64_t now_millis);

// As above with `now_millis` taken from the system clock (absl::Now()).
// Only pictures that omit the year (or all of the date) read the clock.
// Workflow code must use the three-argument form with the run's
// deterministic evaluation time so that replays give the same answer.
absl::StatusOr<std::optional<int64_t>> ParseMillis(absl::string_view text,
                                                   absl::string_view picture);

}  // namespace retrace::expr::datetime

#endif  // RETRACE_EXPR_DATETIME_DATETIME_H_
