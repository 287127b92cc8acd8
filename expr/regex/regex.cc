// ECMAScript (Annex B, non-Unicode mode) pattern -> RE2 pattern. The
// translator is a single left-to-right pass with an explicit group stack (no
// recursion, so no nesting depth can overflow the C++ stack) that re-emits
// every atom in RE2 syntax; only what it emits reaches RE2's parser.

#include "expr/regex/regex.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace retrace::expr::regex {
namespace {

constexpr absl::string_view kUnsupported = "EXPR_REGEX_UNSUPPORTED";
constexpr absl::string_view kSyntax = "EXPR_REGEX_SYNTAX";
constexpr absl::string_view kTooLarge = "EXPR_REGEX_TOO_LARGE";

constexpr char32_t kMaxCodePoint = 0x10FFFF;

absl::Status Fail(absl::string_view code, absl::string_view what,
                  size_t offset) {
  return Error(absl::StatusCode::kInvalidArgument, code,
               absl::StrCat(what, " at offset ", offset));
}

// --- Character sets ----------------------------------------------------------

using Ranges = std::vector<std::pair<char32_t, char32_t>>;

const Ranges& DigitRanges() {
  static const Ranges* r = new Ranges{{U'0', U'9'}};
  return *r;
}
const Ranges& WordRanges() {
  static const Ranges* r =
      new Ranges{{U'0', U'9'}, {U'A', U'Z'}, {U'_', U'_'}, {U'a', U'z'}};
  return *r;
}
// ECMAScript WhiteSpace and LineTerminator.
const Ranges& SpaceRanges() {
  static const Ranges* r = new Ranges{
      {0x09, 0x0D},     {0x20, 0x20},     {0xA0, 0xA0},     {0x1680, 0x1680},
      {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
      {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
  return *r;
}

// Sorted, merged, and without surrogates (which never occur in UTF-8 text).
Ranges Normalize(Ranges ranges) {
  Ranges split;
  for (auto [lo, hi] : ranges) {
    if (lo <= 0xD7FF || hi >= 0xE000) {
      if (lo < 0xD800) split.push_back({lo, std::min<char32_t>(hi, 0xD7FF)});
      if (hi > 0xDFFF) split.push_back({std::max<char32_t>(lo, 0xE000), hi});
    }
  }
  std::sort(split.begin(), split.end());
  Ranges merged;
  for (auto range : split) {
    if (!merged.empty() && range.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, range.second);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

Ranges Complement(const Ranges& ranges) {
  Ranges out;
  char32_t next = 0;
  for (auto [lo, hi] : Normalize(ranges)) {
    if (lo > next) out.push_back({next, lo - 1});
    next = hi + 1;
  }
  if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
  return out;
}

std::string Hex(char32_t c) {
  return absl::StrFormat("\\x{%X}", static_cast<uint32_t>(c));
}

bool IsAsciiAlnum(char32_t c) {
  return (c >= U'0' && c <= U'9') || (c >= U'A' && c <= U'Z') ||
         (c >= U'a' && c <= U'z');
}

std::string ClassChar(char32_t c) {
  return IsAsciiAlnum(c) ? std::string(1, static_cast<char>(c)) : Hex(c);
}

// A bracket expression matching exactly `ranges` (or its complement).
std::string ClassToRe2(const Ranges& ranges, bool negated) {
  Ranges set = Normalize(ranges);
  if (set.empty()) {
    // [] matches nothing, [^] anything.
    return negated ? "[\\x{0}-\\x{10FFFF}]" : "[^\\x{0}-\\x{10FFFF}]";
  }
  std::string out = negated ? "[^" : "[";
  for (auto [lo, hi] : set) {
    out += ClassChar(lo);
    if (hi > lo) absl::StrAppend(&out, "-", ClassChar(hi));
  }
  out += "]";
  return out;
}

// One literal character outside a class.
std::string Literal(char32_t c) {
  if (c >= 0xD800 && c <= 0xDFFF)
    return ClassToRe2({}, false);  // never in UTF-8
  if (c < 0x80) {
    if (IsAsciiAlnum(c) || c == U'_')
      return std::string(1, static_cast<char>(c));
    if (absl::string_view("\\.+*?()|[]{}^$").find(static_cast<char>(c)) !=
        absl::string_view::npos) {
      return std::string{'\\', static_cast<char>(c)};
    }
    if (c >= 0x20 && c < 0x7F) return std::string(1, static_cast<char>(c));
  }
  return Hex(c);
}

bool IsHex(char32_t c) {
  return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'f') ||
         (c >= U'A' && c <= U'F');
}
int HexValue(char32_t c) {
  if (c <= U'9') return c - U'0';
  if (c >= U'a') return c - U'a' + 10;
  return c - U'A' + 10;
}
bool IsOctal(char32_t c) { return c >= U'0' && c <= U'7'; }
bool IsDecimal(char32_t c) { return c >= U'0' && c <= U'9'; }
bool IsAsciiLetter(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
}

// What a class atom stands for: one character or a set such as \d.
struct ClassAtom {
  bool is_set = false;
  char32_t c = 0;
  Ranges set;
  size_t offset = 0;
};

class Translator {
 public:
  // `pattern` must outlive the translator.
  Translator(absl::string_view pattern, std::vector<char32_t> cps,
             std::vector<size_t> offsets, bool ignore_case)
      : pattern_(pattern),
        cp_(std::move(cps)),
        offset_(std::move(offsets)),
        n_(cp_.size()),
        ignore_case_(ignore_case) {}

  absl::StatusOr<std::string> Run() {
    CountGroups();
    std::string out;
    std::vector<size_t> open_groups;  // offsets of unclosed '('
    bool can_quantify = false;
    while (i_ < n_) {
      const size_t at = offset_[i_];
      const char32_t c = cp_[i_];
      switch (c) {
        case U'|':
          out += '|';
          ++i_;
          can_quantify = false;
          break;
        case U'(': {
          absl::Status status = OpenGroup(&out);
          if (!status.ok()) return status;
          open_groups.push_back(at);
          can_quantify = false;
          break;
        }
        case U')':
          if (open_groups.empty()) return Fail(kSyntax, "unmatched ')'", at);
          open_groups.pop_back();
          out += ')';
          ++i_;
          can_quantify = true;
          break;
        case U'[': {
          absl::StatusOr<std::string> cls = CharacterClass();
          if (!cls.ok()) return cls.status();
          out += *cls;
          can_quantify = true;
          break;
        }
        case U'.':
          out += "[^\\n\\r\\x{2028}\\x{2029}]";
          ++i_;
          can_quantify = true;
          break;
        case U'^':
        case U'$':
          out += static_cast<char>(c);
          ++i_;
          can_quantify = false;
          break;
        case U'*':
        case U'+':
        case U'?':
          if (!can_quantify) return Fail(kSyntax, "nothing to repeat", at);
          out += static_cast<char>(c);
          ++i_;
          Lazy(&out);
          can_quantify = false;
          break;
        case U'{': {
          std::optional<Braces> braces = ParseBraces(i_);
          if (!braces.has_value()) {  // Annex B: a literal '{'
            out += "\\{";
            ++i_;
            can_quantify = true;
            break;
          }
          if (!can_quantify) return Fail(kSyntax, "nothing to repeat", at);
          if (braces->max.has_value() && *braces->max < braces->min) {
            return Fail(kSyntax, "numbers out of order in {} quantifier", at);
          }
          if (braces->min > kMaxRepeatCount ||
              braces->max.value_or(0) > kMaxRepeatCount) {
            return Fail(
                kTooLarge,
                absl::StrCat("repetition count above ", kMaxRepeatCount), at);
          }
          absl::StrAppend(&out, "{", braces->min);
          if (braces->comma) out += ",";
          if (braces->max.has_value() && braces->comma) {
            absl::StrAppend(&out, *braces->max);
          }
          out += "}";
          i_ = braces->end;
          Lazy(&out);
          can_quantify = false;
          break;
        }
        case U'\\': {
          absl::Status status = Escape(&out, &can_quantify);
          if (!status.ok()) return status;
          break;
        }
        default:
          out += Lit(c);
          ++i_;
          can_quantify = true;
      }
    }
    if (!open_groups.empty()) {
      return Fail(kSyntax, "missing ')' for the group", open_groups.back());
    }
    return out;
  }

 private:
  struct Braces {
    long long min = 0;
    std::optional<long long> max;
    bool comma = false;
    size_t end = 0;  // index after '}'
  };

  bool At(size_t k, char32_t c) const { return k < n_ && cp_[k] == c; }

  void Lazy(std::string* out) {
    if (At(i_, U'?')) {
      *out += '?';
      ++i_;
    }
  }

  // Capturing groups decide whether \N is a backreference (Annex B).
  void CountGroups() {
    bool in_class = false;
    for (size_t k = 0; k < n_; ++k) {
      const char32_t c = cp_[k];
      if (c == U'\\') {
        ++k;
      } else if (in_class) {
        if (c == U']') in_class = false;
      } else if (c == U'[') {
        in_class = true;
      } else if (c == U'(') {
        if (!At(k + 1, U'?')) {
          ++group_count_;
        } else if (At(k + 2, U'<') && !At(k + 3, U'=') && !At(k + 3, U'!')) {
          ++group_count_;
          has_named_groups_ = true;
        }
      }
    }
  }

  // A decimal number starting at k, saturating at 1e9; returns {value, end}.
  std::pair<long long, size_t> Number(size_t k) const {
    long long value = 0;
    while (k < n_ && IsDecimal(cp_[k])) {
      value = std::min<long long>(value * 10 + (cp_[k] - U'0'), 1000000000);
      ++k;
    }
    return {value, k};
  }

  // {n}, {n,} or {n,m} at k, or nullopt when it is not a quantifier.
  std::optional<Braces> ParseBraces(size_t k) const {
    Braces b;
    size_t j = k + 1;
    if (j >= n_ || !IsDecimal(cp_[j])) return std::nullopt;
    std::tie(b.min, j) = Number(j);
    if (At(j, U',')) {
      b.comma = true;
      ++j;
      if (j < n_ && IsDecimal(cp_[j])) {
        long long max;
        std::tie(max, j) = Number(j);
        b.max = max;
      }
    } else {
      b.max = b.min;
    }
    if (!At(j, U'}')) return std::nullopt;
    b.end = j + 1;
    return b;
  }

  absl::Status OpenGroup(std::string* out) {
    const size_t at = offset_[i_];
    if (!At(i_ + 1, U'?')) {
      *out += '(';
      i_ += 1;
      return absl::OkStatus();
    }
    if (At(i_ + 2, U':')) {
      *out += "(?:";
      i_ += 3;
      return absl::OkStatus();
    }
    if (At(i_ + 2, U'=')) return Fail(kUnsupported, "lookahead (?=", at);
    if (At(i_ + 2, U'!')) {
      return Fail(kUnsupported, "negative lookahead (?!", at);
    }
    if (!At(i_ + 2, U'<')) return Fail(kSyntax, "invalid group (?", at);
    if (At(i_ + 3, U'=')) return Fail(kUnsupported, "lookbehind (?<=", at);
    if (At(i_ + 3, U'!')) {
      return Fail(kUnsupported, "negative lookbehind (?<!", at);
    }
    size_t k = i_ + 3;
    std::u32string name;
    while (k < n_ && cp_[k] != U'>') name.push_back(cp_[k++]);
    if (k >= n_) return Fail(kSyntax, "unterminated group name", at);
    // ECMAScript: an identifier ($, _, letters; digits after the first).
    bool valid = !name.empty() && !IsDecimal(name[0]);
    bool re2_ok = valid;
    for (char32_t c : name) {
      bool ascii_ok = IsAsciiAlnum(c) || c == U'_';
      valid &= ascii_ok || c == U'$' || (c >= 0x80 && c != 0xFFFD);
      re2_ok &= ascii_ok;
    }
    const std::string utf8(pattern_slice(i_ + 3, k));
    if (!valid) {
      return Fail(kSyntax, absl::StrCat("invalid group name '", utf8, "'"), at);
    }
    if (!re2_ok) {
      return Fail(kUnsupported,
                  absl::StrCat("group name '", utf8,
                               "' (RE2 names use only A-Z, a-z, 0-9 and _)"),
                  at);
    }
    if (!names_.insert(utf8).second) {
      return Fail(kSyntax, absl::StrCat("duplicate group name '", utf8, "'"),
                  at);
    }
    absl::StrAppend(out, "(?P<", utf8, ">");
    i_ = k + 1;
    return absl::OkStatus();
  }

  // The pattern's own text between code point indexes [from, to).
  absl::string_view pattern_slice(size_t from, size_t to) const {
    return pattern_.substr(offset_[from], offset_[to] - offset_[from]);
  }

  // Annex B LegacyOctalEscapeSequence at k (an octal digit); {value, end}.
  std::pair<char32_t, size_t> LegacyOctal(size_t k) const {
    const char32_t first = cp_[k];
    const size_t max_digits = first <= U'3' ? 3 : 2;
    char32_t value = 0;
    size_t j = k;
    while (j < n_ && j - k < max_digits && IsOctal(cp_[j])) {
      value = value * 8 + (cp_[j] - U'0');
      ++j;
    }
    return {value, j};
  }

  // \uXXXX (pairs combined), \u{X...}; k is at the backslash. Returns
  // {code point, end}, or nullopt when this is the identity escape "u".
  absl::StatusOr<std::optional<std::pair<char32_t, size_t>>> UnicodeEscape(
      size_t k) const {
    if (At(k + 2, U'{')) {
      size_t j = k + 3;
      uint64_t value = 0;
      while (j < n_ && IsHex(cp_[j])) {
        value = std::min<uint64_t>(value * 16 + HexValue(cp_[j]), 0x7FFFFFFF);
        ++j;
      }
      if (j > k + 3 && At(j, U'}')) {
        if (value > kMaxCodePoint) {
          return Fail(kSyntax, "code point above U+10FFFF", offset_[k]);
        }
        return std::make_optional(
            std::make_pair(static_cast<char32_t>(value), j + 1));
      }
      return std::optional<std::pair<char32_t, size_t>>();
    }
    auto four = [&](size_t j) -> std::optional<char32_t> {
      if (j + 4 > n_) return std::nullopt;
      char32_t v = 0;
      for (size_t d = j; d < j + 4; ++d) {
        if (!IsHex(cp_[d])) return std::nullopt;
        v = v * 16 + HexValue(cp_[d]);
      }
      return v;
    };
    std::optional<char32_t> unit = four(k + 2);
    if (!unit.has_value()) return std::optional<std::pair<char32_t, size_t>>();
    if (*unit >= 0xD800 && *unit <= 0xDBFF && At(k + 6, U'\\') &&
        At(k + 7, U'u')) {
      std::optional<char32_t> low = four(k + 8);
      if (low.has_value() && *low >= 0xDC00 && *low <= 0xDFFF) {
        char32_t cp = 0x10000 + ((*unit - 0xD800) << 10) + (*low - 0xDC00);
        return std::make_optional(std::make_pair(cp, k + 12));
      }
    }
    return std::make_optional(std::make_pair(*unit, k + 6));
  }

  std::string CaseSensitive(std::string re2) const {
    return ignore_case_ ? absl::StrCat("(?-i:", re2, ")") : re2;
  }

  // An escape outside a class; i_ is at the backslash.
  absl::Status Escape(std::string* out, bool* can_quantify) {
    const size_t at = offset_[i_];
    if (i_ + 1 >= n_) return Fail(kSyntax, "\\ at end of pattern", at);
    const char32_t e = cp_[i_ + 1];
    *can_quantify = true;
    auto literal = [&](char32_t c, size_t end) {
      *out += Lit(c);
      i_ = end;
    };
    switch (e) {
      case U'b':
      case U'B':
        *out += e == U'b' ? "\\b" : "\\B";
        i_ += 2;
        *can_quantify = false;
        return absl::OkStatus();
      case U'd':
      case U'D':
        *out += ClassToRe2(DigitRanges(), e == U'D');
        i_ += 2;
        return absl::OkStatus();
      case U'w':
      case U'W':
        *out += CaseSensitive(ClassToRe2(WordRanges(), e == U'W'));
        i_ += 2;
        return absl::OkStatus();
      case U's':
      case U'S':
        *out += ClassToRe2(SpaceRanges(), e == U'S');
        i_ += 2;
        return absl::OkStatus();
      case U't':
        literal(0x09, i_ + 2);
        return absl::OkStatus();
      case U'n':
        literal(0x0A, i_ + 2);
        return absl::OkStatus();
      case U'v':
        literal(0x0B, i_ + 2);
        return absl::OkStatus();
      case U'f':
        literal(0x0C, i_ + 2);
        return absl::OkStatus();
      case U'r':
        literal(0x0D, i_ + 2);
        return absl::OkStatus();
      case U'0':
        if (i_ + 2 >= n_ || !IsDecimal(cp_[i_ + 2])) {
          literal(0, i_ + 2);
          return absl::OkStatus();
        }
        break;  // legacy octal below
      case U'k':
        if (has_named_groups_) {
          size_t k = i_ + 2;
          if (At(k, U'<')) {
            while (k < n_ && cp_[k] != U'>') ++k;
            if (k < n_) {
              return Fail(kUnsupported,
                          absl::StrCat("named backreference ",
                                       pattern_slice(i_, k + 1)),
                          at);
            }
          }
          return Fail(kSyntax, "invalid named reference \\k", at);
        }
        literal(U'k', i_ + 2);
        return absl::OkStatus();
      case U'c':
        if (i_ + 2 < n_ && IsAsciiLetter(cp_[i_ + 2])) {
          literal(cp_[i_ + 2] % 32, i_ + 3);
        } else {
          literal(U'\\', i_ + 1);  // Annex B: "\c" is a backslash, then 'c'
        }
        return absl::OkStatus();
      case U'x':
        if (i_ + 3 < n_ && IsHex(cp_[i_ + 2]) && IsHex(cp_[i_ + 3])) {
          literal(HexValue(cp_[i_ + 2]) * 16 + HexValue(cp_[i_ + 3]), i_ + 4);
        } else {
          literal(U'x', i_ + 2);
        }
        return absl::OkStatus();
      case U'u': {
        auto escape = UnicodeEscape(i_);
        if (!escape.ok()) return escape.status();
        if (escape->has_value()) {
          literal((*escape)->first, (*escape)->second);
        } else {
          literal(U'u', i_ + 2);
        }
        return absl::OkStatus();
      }
      default:
        break;
    }
    if (IsDecimal(e)) {
      if (e != U'0') {
        auto [number, end] = Number(i_ + 1);
        if (number <= group_count_) {
          return Fail(kUnsupported,
                      absl::StrCat("backreference ", pattern_slice(i_, end)),
                      at);
        }
      }
      if (e == U'8' || e == U'9') {  // Annex B identity escape
        literal(e, i_ + 2);
      } else {
        auto [value, end] = LegacyOctal(i_ + 1);
        literal(value, end);
      }
      return absl::OkStatus();
    }
    literal(e, i_ + 2);  // identity escape: \/ \. \- \a ...
    return absl::OkStatus();
  }

  // One class atom at i_ (not ']').
  absl::StatusOr<ClassAtom> ParseClassAtom() {
    ClassAtom a;
    a.offset = offset_[i_];
    if (cp_[i_] != U'\\') {
      a.c = cp_[i_++];
      return a;
    }
    if (i_ + 1 >= n_) return Fail(kSyntax, "\\ at end of pattern", a.offset);
    const char32_t e = cp_[i_ + 1];
    auto one = [&](char32_t c, size_t end) {
      a.c = c;
      i_ = end;
      return a;
    };
    auto set = [&](const Ranges& ranges, bool negated) {
      a.is_set = true;
      a.set = negated ? Complement(ranges) : ranges;
      i_ += 2;
      return a;
    };
    switch (e) {
      case U'd':
        return set(DigitRanges(), false);
      case U'D':
        return set(DigitRanges(), true);
      case U'w':
        return set(WordRanges(), false);
      case U'W':
        return set(WordRanges(), true);
      case U's':
        return set(SpaceRanges(), false);
      case U'S':
        return set(SpaceRanges(), true);
      case U'b':
        return one(0x08, i_ + 2);
      case U't':
        return one(0x09, i_ + 2);
      case U'n':
        return one(0x0A, i_ + 2);
      case U'v':
        return one(0x0B, i_ + 2);
      case U'f':
        return one(0x0C, i_ + 2);
      case U'r':
        return one(0x0D, i_ + 2);
      case U'c':
        // Annex B ClassControlLetter also allows digits and '_'.
        if (i_ + 2 < n_ && (IsAsciiLetter(cp_[i_ + 2]) ||
                            IsDecimal(cp_[i_ + 2]) || cp_[i_ + 2] == U'_')) {
          return one(cp_[i_ + 2] % 32, i_ + 3);
        }
        return one(U'\\', i_ + 1);
      case U'x':
        if (i_ + 3 < n_ && IsHex(cp_[i_ + 2]) && IsHex(cp_[i_ + 3])) {
          return one(HexValue(cp_[i_ + 2]) * 16 + HexValue(cp_[i_ + 3]),
                     i_ + 4);
        }
        return one(U'x', i_ + 2);
      case U'u': {
        auto escape = UnicodeEscape(i_);
        if (!escape.ok()) return escape.status();
        if (escape->has_value())
          return one((*escape)->first, (*escape)->second);
        return one(U'u', i_ + 2);
      }
      default:
        break;
    }
    if (IsOctal(e)) {
      auto [value, end] = LegacyOctal(i_ + 1);
      return one(value, end);
    }
    return one(e, i_ + 2);  // identity escape, including \- \] \8
  }

  // A bracket expression at i_ ('[').
  absl::StatusOr<std::string> CharacterClass() {
    const size_t start = offset_[i_];
    ++i_;
    bool negated = false;
    if (At(i_, U'^')) {
      negated = true;
      ++i_;
    }
    Ranges ranges;
    bool only_sets = true;
    auto add = [&](const ClassAtom& a) {
      if (a.is_set) {
        ranges.insert(ranges.end(), a.set.begin(), a.set.end());
      } else {
        ranges.push_back({a.c, a.c});
        only_sets = false;
      }
    };
    while (true) {
      if (i_ >= n_) return Fail(kSyntax, "missing ']' for the class", start);
      if (cp_[i_] == U']') {
        ++i_;
        break;
      }
      absl::StatusOr<ClassAtom> from = ParseClassAtom();
      if (!from.ok()) return from.status();
      if (At(i_, U'-') && i_ + 1 < n_ && cp_[i_ + 1] != U']') {
        ++i_;
        absl::StatusOr<ClassAtom> to = ParseClassAtom();
        if (!to.ok()) return to.status();
        if (from->is_set || to->is_set) {  // Annex B: [\d-z] is \d, '-', z
          add(*from);
          add(ClassAtom{false, U'-', {}, 0});
          add(*to);
        } else if (from->c > to->c) {
          return Fail(kSyntax, "range out of order in character class",
                      from->offset);
        } else {
          ranges.push_back({from->c, to->c});
          only_sets = false;
        }
      } else {
        add(*from);
      }
    }
    std::string cls = ClassToRe2(ranges, negated);
    if (!ignore_case_ || ranges.empty()) return cls;
    // Sets built only from \d \w \s (and negations) are already closed under
    // ECMAScript's case mapping; RE2's Unicode folding would add U+017F and
    // U+212A to them.
    if (only_sets) return CaseSensitive(cls);
    // A positive class holding s or k: match its ASCII letters (closed under
    // ASCII case) case-sensitively and fold only the rest.
    if (negated || !HasFoldTrap(ranges)) return cls;
    Ranges letters, rest;
    for (auto [lo, hi] : Normalize(ranges)) {
      for (auto [a, z] : {std::pair<char32_t, char32_t>{U'A', U'Z'},
                          std::pair<char32_t, char32_t>{U'a', U'z'}}) {
        char32_t from = std::max(lo, a), to = std::min(hi, z);
        if (from > to) continue;
        letters.push_back({from, to});
        letters.push_back({from ^ 0x20, to ^ 0x20});  // the other case
      }
    }
    rest = Normalize(ranges);
    Ranges ascii_letters = {{U'A', U'Z'}, {U'a', U'z'}};
    Ranges kept;
    for (auto [lo, hi] : rest) {  // rest minus ASCII letters
      char32_t from = lo;
      for (auto [a, z] : ascii_letters) {
        if (z < from || a > hi) continue;
        if (a > from) kept.push_back({from, a - 1});
        from = z + 1;
      }
      if (from <= hi) kept.push_back({from, hi});
    }
    std::string letters_re2 = CaseSensitive(ClassToRe2(letters, false));
    if (Normalize(kept).empty()) return letters_re2;
    return absl::StrCat("(?:", letters_re2, "|", ClassToRe2(kept, false), ")");
  }

  // Whether RE2's (?i) would add U+017F or U+212A: the class has s or k.
  static bool HasFoldTrap(const Ranges& ranges) {
    for (auto [lo, hi] : ranges) {
      for (char32_t c : {U's', U'S', U'k', U'K'}) {
        if (lo <= c && c <= hi) return true;
      }
    }
    return false;
  }

  // A literal outside a class; with 'i', s and k must not fold to U+017F and
  // U+212A as RE2 would.
  std::string Lit(char32_t c) const {
    if (ignore_case_) {
      if (c == U's' || c == U'S') return "(?-i:[Ss])";
      if (c == U'k' || c == U'K') return "(?-i:[Kk])";
    }
    return Literal(c);
  }

  const absl::string_view pattern_;
  const std::vector<char32_t> cp_;
  const std::vector<size_t> offset_;  // byte offset of each code point; +end
  const size_t n_;
  const bool ignore_case_;
  size_t i_ = 0;
  long long group_count_ = 0;
  bool has_named_groups_ = false;
  std::set<std::string> names_;
};

// Strict UTF-8 decoding with byte offsets (one extra: the end).
absl::Status Decode(absl::string_view text, std::vector<char32_t>* cps,
                    std::vector<size_t>* offsets) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char b = static_cast<unsigned char>(text[i]);
    int length = 0;
    char32_t cp = 0, min = 0;
    if (b < 0x80) {
      length = 1, cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      length = 2, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      length = 3, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      length = 4, cp = b & 0x07, min = 0x10000;
    }
    bool valid = length > 0 && i + length <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      const unsigned char c = static_cast<unsigned char>(text[i + k]);
      valid = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!valid || cp < min || cp > kMaxCodePoint ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Fail(kSyntax, "invalid UTF-8", i);
    }
    cps->push_back(cp);
    offsets->push_back(i);
    i += length;
  }
  offsets->push_back(text.size());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> TranslateEcmaRegex(absl::string_view pattern,
                                               absl::string_view flags) {
  bool ignore_case = false, multi_line = false;
  for (size_t k = 0; k < flags.size(); ++k) {
    if (flags[k] == 'i' && !ignore_case) {
      ignore_case = true;
    } else if (flags[k] == 'm' && !multi_line) {
      multi_line = true;
    } else {
      return Error(absl::StatusCode::kInvalidArgument, kSyntax,
                   absl::StrCat("invalid regex flags \"",
                                absl::CHexEscape(flags), "\" at offset ", k,
                                " of the flags (allowed: i, m, each once)"));
    }
  }
  std::vector<char32_t> cps;
  std::vector<size_t> offsets;
  absl::Status decoded = Decode(pattern, &cps, &offsets);
  if (!decoded.ok()) return decoded;
  Translator translator(pattern, std::move(cps), std::move(offsets),
                        ignore_case);
  absl::StatusOr<std::string> body = translator.Run();
  if (!body.ok()) return body.status();
  std::string prefix;
  if (ignore_case || multi_line) {
    prefix =
        absl::StrCat("(?", ignore_case ? "i" : "", multi_line ? "m" : "", ")");
  }
  return prefix + *body;
}

absl::StatusOr<std::shared_ptr<const RE2>> CompileEcmaRegex(
    absl::string_view pattern, absl::string_view flags,
    const RegexOptions& options) {
  if (options.max_mem <= 0) {
    return Error(
        absl::StatusCode::kInvalidArgument, kTooLarge,
        absl::StrCat("max_mem must be positive, is ", options.max_mem));
  }
  absl::StatusOr<std::string> translated = TranslateEcmaRegex(pattern, flags);
  if (!translated.ok()) return translated.status();
  RE2::Options re2_options;
  re2_options.set_encoding(RE2::Options::EncodingUTF8);
  re2_options.set_log_errors(false);
  re2_options.set_max_mem(options.max_mem);
  auto re = std::make_shared<const RE2>(*translated, re2_options);
  if (re->ok()) return re;
  switch (re->error_code()) {
    case RE2::ErrorRepeatSize:
      return Error(absl::StatusCode::kInvalidArgument, kTooLarge,
                   absl::StrCat("nested repetition counts multiply to more "
                                "than ",
                                kMaxRepeatCount, " (RE2: ", re->error(), ")"));
    case RE2::ErrorPatternTooLarge:
      return Error(
          absl::StatusCode::kInvalidArgument, kTooLarge,
          absl::StrCat("pattern does not fit max_mem=", options.max_mem,
                       " bytes (RE2: ", re->error(), ")"));
    default:
      return Error(
          absl::StatusCode::kInvalidArgument, kSyntax,
          absl::StrCat("RE2 rejects the translated pattern: ", re->error()));
  }
}

}  // namespace retrace::expr::regex
