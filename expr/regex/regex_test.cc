#include "expr/regex/regex.h"

#include <memory>
#include <random>
#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace retrace::expr::regex {
namespace {

using ::retrace::testing::HasErrorCode;
using ::retrace::testing::IsOk;
using ::retrace::testing::StatusIs;
using ::testing::HasSubstr;

std::string T(absl::string_view pattern, absl::string_view flags = "") {
  absl::StatusOr<std::string> result = TranslateEcmaRegex(pattern, flags);
  EXPECT_THAT(result, IsOk()) << pattern;
  return result.ok() ? *result : "<error>";
}

std::shared_ptr<const RE2> Compile(absl::string_view pattern,
                                   absl::string_view flags = "") {
  absl::StatusOr<std::shared_ptr<const RE2>> re =
      CompileEcmaRegex(pattern, flags, RegexOptions());
  EXPECT_THAT(re, IsOk()) << pattern;
  return re.ok() ? *re : nullptr;
}

// Whether `pattern` matches somewhere in `text` (RegExp.prototype.test).
bool Matches(absl::string_view pattern, absl::string_view text,
             absl::string_view flags = "") {
  std::shared_ptr<const RE2> re = Compile(pattern, flags);
  return re != nullptr &&
         RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re);
}

// The first match (what String.prototype.match returns as [0]).
std::string First(absl::string_view pattern, absl::string_view text,
                  absl::string_view flags = "") {
  std::shared_ptr<const RE2> re = Compile(pattern, flags);
  re2::StringPiece match;
  if (re == nullptr || !re->Match(re2::StringPiece(text.data(), text.size()), 0,
                                  text.size(), RE2::UNANCHORED, &match, 1)) {
    return "<no match>";
  }
  return std::string(match);
}

absl::Status CompileStatus(absl::string_view pattern,
                           absl::string_view flags = "",
                           RegexOptions options = RegexOptions()) {
  return CompileEcmaRegex(pattern, flags, options).status();
}

// --- Translation of each construct -------------------------------------------

TEST(TranslateTest, LiteralsPassThroughOrAreEscaped) {
  EXPECT_EQ(T("abc"), "abc");
  EXPECT_EQ(T("a b"), "a b");
  EXPECT_EQ(T("\\/path\\/"), "/path/");
  EXPECT_EQ(T("\\."), "\\.");
  EXPECT_EQ(T("a\\-b"), "a-b");
  EXPECT_EQ(T("é"), "\\x{E9}");
  EXPECT_EQ(T("}]"), "\\}\\]");
}

TEST(TranslateTest, CharacterClassEscapes) {
  EXPECT_EQ(T("\\d"), "[0-9]");
  EXPECT_EQ(T("\\D"), "[^0-9]");
  EXPECT_EQ(T("\\w"), "[0-9A-Z\\x{5F}a-z]");
  EXPECT_EQ(T("\\W"), "[^0-9A-Z\\x{5F}a-z]");
  EXPECT_EQ(T("\\s"),
            "[\\x{9}-\\x{D}\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
            "\\x{2028}-\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]");
  EXPECT_EQ(T("\\S").substr(0, 2), "[^");
  // With 'i', \w keeps ECMAScript's ASCII set.
  EXPECT_EQ(T("\\w", "i"), "(?i)(?-i:[0-9A-Z\\x{5F}a-z])");
}

TEST(TranslateTest, Dot) {
  EXPECT_EQ(T("a.b"), "a[^\\n\\r\\x{2028}\\x{2029}]b");
}

TEST(TranslateTest, CharacterClasses) {
  EXPECT_EQ(T("[a-z]"), "[a-z]");
  EXPECT_EQ(T("[^a-z]"), "[^a-z]");
  EXPECT_EQ(T("[z-]"), "[\\x{2D}z]");
  EXPECT_EQ(T("[\\d-z]"), "[\\x{2D}0-9z]");  // Annex B: not a range
  EXPECT_EQ(T("[\\]]"), "[\\x{5D}]");
  EXPECT_EQ(T("[\\b]"), "[\\x{8}]");
  EXPECT_EQ(T("[^]"), "[\\x{0}-\\x{10FFFF}]");
  EXPECT_EQ(T("[]"), "[^\\x{0}-\\x{10FFFF}]");
  EXPECT_EQ(T("[]a]"), "[^\\x{0}-\\x{10FFFF}]a\\]");
  EXPECT_EQ(T("[\\s\\d]", "i"),
            "(?i)(?-i:[\\x{9}-\\x{D}\\x{20}0-9\\x{A0}\\x{1680}\\x{2000}-"
            "\\x{200A}\\x{2028}-\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
            "\\x{FEFF}])");
}

TEST(TranslateTest, ControlAndCodePointEscapes) {
  EXPECT_EQ(T("\\cJ"), "\\x{A}");
  EXPECT_EQ(T("\\cj"), "\\x{A}");
  EXPECT_EQ(T("\\c1"), "\\\\c1");  // Annex B: a backslash, then "c1"
  EXPECT_EQ(T("[\\c1]"), "[\\x{11}]");
  EXPECT_EQ(T("\\x41"), "A");
  EXPECT_EQ(T("\\xZ"), "xZ");  // not an escape: identity 'x'
  EXPECT_EQ(T("\\u00e9"), "\\x{E9}");
  EXPECT_EQ(T("\\u{1F600}"), "\\x{1F600}");
  EXPECT_EQ(T("\\uD83D\\uDE00"), "\\x{1F600}");
  EXPECT_EQ(T("\\u12"), "u12");  // not an escape: identity 'u'
  EXPECT_EQ(T("\\t\\n\\v\\f\\r"), "\\x{9}\\x{A}\\x{B}\\x{C}\\x{D}");
  EXPECT_EQ(T("\\0"), "\\x{0}");
  EXPECT_EQ(T("\\012"), "\\x{A}");  // legacy octal, no groups
  EXPECT_EQ(T("\\1"), "\\x{1}");    // no group 1: octal (Annex B)
  EXPECT_EQ(T("\\8"), "8");
  EXPECT_EQ(T("\\k"), "k");  // no named groups: identity
}

TEST(TranslateTest, GroupsAndQuantifiers) {
  EXPECT_EQ(T("(a)(?:b)"), "(a)(?:b)");
  EXPECT_EQ(T("(?<year>\\d{4})"), "(?P<year>[0-9]{4})");
  EXPECT_EQ(T("a*b+?c??d{2,}e{1,3}?"), "a*b+?c??d{2,}e{1,3}?");
  EXPECT_EQ(T("a{,3}"), "a\\{,3\\}");  // not a quantifier: literal (Annex B)
  EXPECT_EQ(T("{"), "\\{");
  EXPECT_EQ(T("x{a}"), "x\\{a\\}");
  EXPECT_EQ(T("a|b|"), "a|b|");
}

TEST(TranslateTest, AnchorsAndFlags) {
  EXPECT_EQ(T("^a$"), "^a$");
  EXPECT_EQ(T("^a$", "m"), "(?m)^a$");
  EXPECT_EQ(T("a", "i"), "(?i)a");
  EXPECT_EQ(T("sk", "i"), "(?i)(?-i:[Ss])(?-i:[Kk])");
  EXPECT_EQ(T("[a-z]", "i"), "(?i)(?-i:[A-Za-z])");
  EXPECT_EQ(T("[k\\u00e9]", "i"), "(?i)(?:(?-i:[Kk])|[\\x{E9}])");
  EXPECT_EQ(T("[^a-z]", "i"), "(?i)[^a-z]");
  EXPECT_EQ(T("a", "mi"), "(?im)a");
  EXPECT_EQ(T("\\bword\\B"), "\\bword\\B");
}

// --- Semantics on RE2
// ---------------------------------------------------------

TEST(MatchTest, WhiteSpaceIsEcmaScripts) {
  EXPECT_TRUE(Matches("^\\s$", "\v"));
  EXPECT_TRUE(Matches("^\\s$", "\u00a0"));
  EXPECT_TRUE(Matches("^\\s$", "\u3000"));
  EXPECT_TRUE(Matches("^\\s$", "\ufeff"));
  EXPECT_FALSE(Matches("^\\s$", "x"));
  EXPECT_TRUE(Matches("^\\S$", "x"));
  EXPECT_FALSE(Matches("^\\S$", "\u2028"));
  EXPECT_TRUE(Matches("^[^\\s]$", "\u00e9"));
}

TEST(MatchTest, DotSkipsLineTerminators) {
  EXPECT_TRUE(Matches("^.$", "\u00e9"));
  EXPECT_FALSE(Matches("^.$", "\n"));
  EXPECT_FALSE(Matches("^.$", "\r"));
  EXPECT_FALSE(Matches("^.$", "\u2028"));
  EXPECT_TRUE(Matches("^[^]$", "\n"));
  EXPECT_FALSE(Matches("[]", "anything"));
  EXPECT_FALSE(Matches("^[]a]$", "a]"));  // [] never matches
}

TEST(MatchTest, AnchorsWithAndWithoutMultiLine) {
  EXPECT_FALSE(Matches("^b", "a\nb"));
  EXPECT_TRUE(Matches("^b", "a\nb", "m"));
  EXPECT_FALSE(Matches("a$", "a\nb"));
  EXPECT_TRUE(Matches("a$", "a\nb", "m"));
  EXPECT_FALSE(Matches("a$", "a\n"));  // $ is the end of input, not before \n
}

TEST(MatchTest, IgnoreCase) {
  EXPECT_TRUE(Matches("hello", "HeLLo", "i"));
  EXPECT_FALSE(Matches("hello", "HeLLo"));
  EXPECT_TRUE(Matches("[a-c]+", "ABC", "i"));
  EXPECT_FALSE(Matches("^\\w$", "\u017f", "i"));  // as ECMAScript: no long s
  EXPECT_TRUE(Matches("^\\W$", "\u212a", "i"));   // Kelvin sign is not a word
  EXPECT_FALSE(Matches("s", "\u017f", "i"));
  EXPECT_TRUE(Matches("s", "S", "i"));
  EXPECT_FALSE(Matches("^[a-z]$", "\u212a", "i"));
  EXPECT_TRUE(Matches("^[a-z]+$", "SK", "i"));
  EXPECT_TRUE(Matches("^[\\w-]+$", "a-Z_9", "i"));
  EXPECT_FALSE(Matches("^[\\w-]$", "\u017f", "i"));
  EXPECT_TRUE(Matches("^[sé]+$", "SÉé", "i"));
}

TEST(MatchTest, WordBoundary) {
  EXPECT_TRUE(Matches("\\bcat\\b", "a cat!"));
  EXPECT_FALSE(Matches("\\bcat\\b", "concat"));
  EXPECT_TRUE(Matches("\\Bcat", "concat"));
}

TEST(MatchTest, NamedGroupsAreCaptured) {
  std::shared_ptr<const RE2> re = Compile("(?<year>\\d{4})-(?<month>\\d\\d)");
  ASSERT_NE(re, nullptr);
  EXPECT_EQ(re->NamedCapturingGroups().at("year"), 1);
  EXPECT_EQ(re->NamedCapturingGroups().at("month"), 2);
  std::string year, month;
  EXPECT_TRUE(RE2::PartialMatch("on 2024-05", *re, &year, &month));
  EXPECT_EQ(year, "2024");
  EXPECT_EQ(month, "05");
}

TEST(MatchTest, LeftmostFirstLikeEcmaScript) {
  EXPECT_EQ(First("a|ab", "ab"), "a");
  EXPECT_EQ(First("a+?", "aaa"), "a");
  EXPECT_EQ(First("a{2,3}", "aaaa"), "aaa");
  EXPECT_EQ(First("\\u{1F600}+", "x\U0001F600\U0001F600y"),
            "\U0001F600\U0001F600");
  EXPECT_EQ(First("\\/\\d+\\/", "a/42/b"), "/42/");
  EXPECT_EQ(First("\\cJ", "a\nb"), "\n");
  EXPECT_EQ(First("\\\\c", "a\\cb"), "\\c");
  EXPECT_EQ(First("\\c", "a\\cb"), "\\c");
}

TEST(MatchTest, LoneSurrogateMatchesNothing) {
  EXPECT_FALSE(Matches("\\uD800", "\U0001F600"));
  EXPECT_TRUE(Matches("a\\uD800|b", "b"));
  EXPECT_TRUE(Matches("^[^\\uD800]$", "x"));
}

// --- Unsupported constructs, with offsets -----------------------------------

TEST(UnsupportedTest, BackreferencesLookaroundAreRejectedWithOffsets) {
  struct Case {
    const char* pattern;
    const char* message;
  };
  const Case cases[] = {
      {"(a)\\1", "backreference \\1 at offset 3"},
      {"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10", "backreference \\10 at offset 30"},
      {"(?<x>a)\\k<x>", "named backreference \\k<x> at offset 7"},
      {"a(?=b)", "lookahead (?= at offset 1"},
      {"a(?!b)", "negative lookahead (?! at offset 1"},
      {"(?<=a)b", "lookbehind (?<= at offset 0"},
      {"xy(?<!a)b", "negative lookbehind (?<! at offset 2"},
      {"é(?=b)", "lookahead (?= at offset 2"},  // byte offsets
      {"(?<$x>a)", "group name '$x'"},
  };
  for (const Case& c : cases) {
    absl::Status status = CompileStatus(c.pattern);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr(c.message)))
        << c.pattern;
    EXPECT_THAT(status, HasErrorCode("EXPR_REGEX_UNSUPPORTED")) << c.pattern;
  }
}

TEST(UnsupportedTest, BackreferenceInClassIsOctal) {
  EXPECT_EQ(First("(a)[\\1]", "a\x01"), "a\x01");
}

// --- Syntax errors
// --------------------------------------------------------------

TEST(SyntaxTest, InvalidPatternsAreSyntaxErrors) {
  struct Case {
    const char* pattern;
    const char* message;
  };
  const Case cases[] = {
      {"(", "missing ')' for the group at offset 0"},
      {"a)", "unmatched ')' at offset 1"},
      {"[a", "missing ']' for the class at offset 0"},
      {"*a", "nothing to repeat at offset 0"},
      {"a**", "nothing to repeat at offset 2"},
      {"a|*", "nothing to repeat at offset 2"},
      {"^*", "nothing to repeat at offset 1"},
      {"\\b+", "nothing to repeat at offset 2"},
      {"{1}", "nothing to repeat at offset 0"},
      {"a{2,1}", "numbers out of order"},
      {"[z-a]", "range out of order in character class at offset 1"},
      {"a\\", "\\ at end of pattern at offset 1"},
      {"(?i)a", "invalid group (? at offset 0"},
      {"(?<1x>a)", "invalid group name"},
      {"(?<a>x)(?<a>y)", "duplicate group name 'a'"},
      {"(?<a", "unterminated group name"},
      {"(?<a>x)\\k", "invalid named reference"},
      {"\\u{110000}", "code point above U+10FFFF"},
      {"a\xff", "invalid UTF-8 at offset 1"},
  };
  for (const Case& c : cases) {
    absl::Status status = CompileStatus(c.pattern);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr(c.message)))
        << c.pattern;
    EXPECT_THAT(status, HasErrorCode("EXPR_REGEX_SYNTAX")) << c.pattern;
  }
}

TEST(SyntaxTest, OnlyFlagsIAndMOnce) {
  EXPECT_THAT(CompileStatus("a", "im"), IsOk());
  EXPECT_THAT(CompileStatus("a", "g"), HasErrorCode("EXPR_REGEX_SYNTAX"));
  EXPECT_THAT(CompileStatus("a", "ii"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at offset 1 of the flags")));
}

// --- Limits
// ---------------------------------------------------------------------

TEST(LimitTest, RepetitionCountAtAndPastTheLimit) {
  EXPECT_THAT(CompileStatus("a{1000}"), IsOk());
  EXPECT_THAT(CompileStatus("a{0,1000}"), IsOk());
  EXPECT_THAT(CompileStatus("a{1001}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("repetition count above 1000 at offset 1")));
  EXPECT_THAT(CompileStatus("a{1,99999999999999999999}"),
              HasErrorCode("EXPR_REGEX_TOO_LARGE"));
}

TEST(LimitTest, ProgramOverTheMemoryBudget) {
  const std::string pattern = "[a-z]{1000}";  // about 1000 instructions
  EXPECT_THAT(CompileStatus(pattern), IsOk());
  RegexOptions enough;
  enough.max_mem = 64 << 10;
  EXPECT_THAT(CompileStatus(pattern, "", enough), IsOk());
  RegexOptions small;
  small.max_mem = 4 << 10;
  EXPECT_THAT(
      CompileStatus(pattern, "", small),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_mem=4096")));
  EXPECT_THAT(CompileStatus(pattern, "", small),
              HasErrorCode("EXPR_REGEX_TOO_LARGE"));
}

TEST(LimitTest, NestedRepetitionAtAndPastRe2sLimit) {
  EXPECT_THAT(CompileStatus("(a{100}){10}"), IsOk());
  EXPECT_THAT(CompileStatus("(a{100}){11}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nested repetition")));
  EXPECT_THAT(CompileStatus("(a{100}){11}"),
              HasErrorCode("EXPR_REGEX_TOO_LARGE"));
}

TEST(LimitTest, MaxMemMustBePositive) {
  RegexOptions zero;
  zero.max_mem = 0;
  EXPECT_THAT(CompileStatus("a", "", zero),
              HasErrorCode("EXPR_REGEX_TOO_LARGE"));
}

// --- No catastrophic backtracking
// ------------------------------------------------

TEST(BacktrackingTest, ExponentialPatternsFromJavaScriptFinish) {
  const std::string a30b = std::string(30, 'a') + "b";
  EXPECT_FALSE(Matches("^(a+)+$", a30b));
  EXPECT_FALSE(Matches("(a+)+$", a30b));
  EXPECT_TRUE(Matches("^(a+)+$", std::string(30, 'a')));
  const std::string x40 = std::string(40, 'x');
  EXPECT_FALSE(Matches("(x+x+)+y", x40));
  EXPECT_TRUE(Matches("(x+x+)+y", x40 + "y"));
  EXPECT_FALSE(Matches("^(\\w+\\s?)*$", std::string(5000, 'a') + "!"));
  EXPECT_FALSE(Matches("^(.*a){12}$", std::string(10000, 'a') + "b"));
}

// --- Robustness
// ----------------------------------------------------------------

TEST(FuzzTest, RandomBytesNeverCrash) {
  std::mt19937 rng(20240601);
  const std::string syntax = "()[]{}|*+?.^$\\-,:=!<>0123456789abcdkuxwsSDWBbc";
  for (int i = 0; i < 20000; ++i) {
    std::string pattern;
    const int length = rng() % 24;
    for (int k = 0; k < length; ++k) {
      pattern += (rng() % 4 == 0) ? static_cast<char>(rng() % 256)
                                  : syntax[rng() % syntax.size()];
    }
    std::string flags;
    if (rng() % 3 == 0) flags += "im"[rng() % 2];
    absl::StatusOr<std::shared_ptr<const RE2>> re =
        CompileEcmaRegex(pattern, flags, RegexOptions());
    if (re.ok()) {
      ASSERT_TRUE((*re)->ok()) << pattern;
      RE2::PartialMatch(pattern, **re);
    } else {
      const std::string code = ErrorCode(re.status());
      EXPECT_TRUE(code == "EXPR_REGEX_SYNTAX" ||
                  code == "EXPR_REGEX_UNSUPPORTED" ||
                  code == "EXPR_REGEX_TOO_LARGE")
          << pattern << " " << re.status();
    }
  }
}

TEST(FuzzTest, DeepNestingNeverCrashes) {
  const std::string deep = std::string(100000, '(') + std::string(100000, ')');
  absl::Status status = CompileStatus(deep);
  EXPECT_TRUE(status.ok() || ErrorCode(status) == "EXPR_REGEX_TOO_LARGE" ||
              ErrorCode(status) == "EXPR_REGEX_SYNTAX")
      << status;
  EXPECT_THAT(CompileStatus(std::string(100000, '(')),
              HasErrorCode("EXPR_REGEX_SYNTAX"));
}

}  // namespace
}  // namespace retrace::expr::regex
