// JSONata regular expressions (ECMAScript syntax) on RE2.
//
// A JSONata regex literal is /pattern/flags with ECMAScript pattern syntax
// (as `new RegExp(pattern, flags)` in a web-compatible engine, Annex B) and
// the flags 'i' (ignore case) and 'm' (multi-line). We run them on RE2, which
// matches in time linear in the input, so no pattern can backtrack
// catastrophically; the price is that constructs needing backtracking are
// rejected instead of translated.
//
// Thread safety: the functions are pure; the returned RE2 is immutable and
// safe to use from many threads at once (RE2's own guarantee), which is why
// it is handed out as shared_ptr<const RE2> for caching.
//
// Example:
//
//   RegexOptions options;
//   absl::StatusOr<std::shared_ptr<const RE2>> re =
//       CompileEcmaRegex("(?<year>\\d{4})-\\d\\d", "i", options);
//   if (re.ok()) RE2::PartialMatch("on 2024-05", **re);         // true
//   // Debian's RE2 (2022-06) takes re2::StringPiece, not absl::string_view.
//   CompileEcmaRegex("(a)\\1", "", options)   // EXPR_REGEX_UNSUPPORTED
//
// Translation (ECMAScript -> RE2):
//   .            [^\n\r\x{2028}\x{2029}]  (ECMAScript line terminators)
//   \d \D        [0-9] [^0-9]
//   \w \W        [0-9A-Z_a-z] and its negation, with 'i' kept case-sensitive
//                so RE2's Unicode folding adds no U+017F / U+212A; likewise
//                with 'i' a literal s is (?-i:[Ss]), k is (?-i:[Kk]), and a
//                class holding s or k is split into (?-i:[ASCII
//                letters])|[rest]
//   \s \S        ECMAScript's white space and line terminators (\v, U+00A0,
//                U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
//                U+3000, U+FEFF as well as RE2's [\t\n\f\r ])
//   [^]  []      any character / no character
//   [...]        re-emitted range by range, so ECMAScript's "[]a]" (an empty
//                class then "a]") and "[\d-z]" (Annex B) mean what they mean
//                in JavaScript
//   \/ \- \a ... identity escapes become the literal character
//   \cX          the control character X % 32 (a lone "\c" is a backslash)
//   \0 \012      legacy octal escapes when no such group exists (Annex B)
//   \xHH \uXXXX \u{X...}   \x{...}; a surrogate pair becomes one code point,
//                a lone surrogate matches nothing (the input is UTF-8).
//                \u{...} is read as in ECMAScript's Unicode mode, as most
//                authors mean it (non-Unicode JavaScript reads "u" repeated)
//   (?<name>x)   (?P<name>x)
//   ^ $          the same; flag m gives (?m), flag i gives (?i)
//   \b \B        the same (ASCII word characters in both)
//   {n,m}        the same; "{" that is not a quantifier is a literal (Annex B)
//
// Known differences that remain (found by running ~30k random patterns
// against node's RegExp):
//   - with flag m, ^ and $ see only \n as a line end (ECMAScript also \r,
//     U+2028, U+2029);
//   - with flag i, RE2 folds case by Unicode simple folding, which would let
//     s and k match U+017F and U+212A (ECMAScript keeps those apart from
//     ASCII). Literals s/k, positive classes and \w \d \s are emitted so
//     they don't; a negated class with ASCII letters ([^a-z]) still excludes
//     U+017F / U+212A, and [\x{17F}] still matches s;
//   - a quantified group may match the empty string in an iteration
//     (ECMAScript rejects such iterations), e.g. /([^a]*?|)?/ on "xy" matches
//     "" where JavaScript matches "x"; captures inside a repeated group keep
//     RE2's values (ECMAScript resets them each iteration);
//   - RE2 searches byte by byte, so a match that begins with \B can start
//     inside a multi-byte character; callers that slice on match offsets
//     should skip a match whose start is a UTF-8 continuation byte;
//   - a non-BMP character is one character (in non-Unicode ECMAScript it is
//     two code units).
#ifndef RETRACE_EXPR_REGEX_REGEX_H_
#define RETRACE_EXPR_REGEX_REGEX_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "re2/re2.h"

namespace retrace::expr::regex {

struct RegexOptions {
  // RE2's program memory budget for one compiled regex; a pattern whose
  // program does not fit fails with EXPR_REGEX_TOO_LARGE. Must be positive.
  int64_t max_mem = 8 << 20;  // Default: 8 MiB
};

// Counted repetitions ({n}, {n,m}) above this fail with EXPR_REGEX_TOO_LARGE,
// and so do nested ones whose counts multiply past it, e.g. (a{100}){11}
// (RE2's own limits).
inline constexpr int kMaxRepeatCount = 1000;

// Translates the ECMAScript `pattern` with `flags` (any of "i", "m", each at
// most once) into RE2 syntax, as described above. Offsets in messages are
// byte offsets into `pattern`.
//
// Returns the RE2 pattern, or kInvalidArgument with code:
//   EXPR_REGEX_UNSUPPORTED  a construct RE2 cannot express: backreference
//                           (\1, \k<name>), lookahead ((?=, (?!), lookbehind
//                           ((?<=, (?<!), a group name RE2 does not accept;
//                           the message names the construct and its offset
//   EXPR_REGEX_SYNTAX       not a valid ECMAScript pattern or flags (also
//                           invalid UTF-8), with the offset
//   EXPR_REGEX_TOO_LARGE    a repetition count above kMaxRepeatCount
absl::StatusOr<std::string> TranslateEcmaRegex(absl::string_view pattern,
                                               absl::string_view flags);

// Translates as above and compiles the result with RE2 (UTF-8, leftmost-first
// like ECMAScript, errors not logged) within options.max_mem. Never crashes,
// whatever the bytes of `pattern` and `flags`.
//
// Returns the compiled regex, or kInvalidArgument with the codes of
// TranslateEcmaRegex, plus EXPR_REGEX_TOO_LARGE when the program exceeds
// options.max_mem (or max_mem is not positive) or nested repetitions multiply
// past kMaxRepeatCount, and EXPR_REGEX_SYNTAX for
// anything else RE2 rejects (e.g. a duplicate group name).
absl::StatusOr<std::shared_ptr<const RE2>> CompileEcmaRegex(
    absl::string_view pattern, absl::string_view flags,
    const RegexOptions& options);

}  // namespace retrace::expr::regex

#endif  // RETRACE_EXPR_REGEX_REGEX_H_
