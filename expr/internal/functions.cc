// The built-in function library, registered by group. Signatures are the
// ones the JSONata specification gives; arguments are validated against them
// before a built-in runs (T0410 / T0411 / T0412).
#include <algorithm>
#include <cmath>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "expr/datetime/datetime.h"
#include "expr/format/format.h"
#include "expr/internal/errors.h"
#include "expr/internal/evaluator.h"
#include "expr/options.h"
#include "expr/regex/regex.h"
#include "re2/re2.h"

namespace retrace::expr::internal {
namespace {

using Args = ValueList;

const Value& Arg(const Args& a, size_t i) {
  static const Value kUndefined;
  return i < a.size() ? a[i] : kUndefined;
}

// ---- UTF-8 helpers ---------------------------------------------------------

// Byte offsets of each code point start, plus the end.
std::vector<size_t> CodePointOffsets(absl::string_view s) {
  std::vector<size_t> offs;
  offs.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) offs.push_back(i);
  }
  offs.push_back(s.size());
  return offs;
}

std::vector<uint32_t> DecodeUtf8(absl::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    uint32_t cp;
    int n;
    if (c < 0x80) {
      cp = c;
      n = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      n = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      n = 3;
    } else {
      cp = c & 0x07;
      n = 4;
    }
    for (int k = 1; k < n && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back(cp);
    i += n;
  }
  return out;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// JavaScript ToIntegerOrInfinity, clamped to int64.
int64_t ToInt(double d) {
  if (std::isnan(d)) return 0;
  if (d > 9e15) return static_cast<int64_t>(9e15);
  if (d < -9e15) return static_cast<int64_t>(-9e15);
  return static_cast<int64_t>(std::trunc(d));
}

// Array.prototype.slice over code points.
std::string SliceCodePoints(absl::string_view s, int64_t start, int64_t end) {
  std::vector<size_t> offs = CodePointOffsets(s);
  int64_t len = offs.size() - 1;
  if (start < 0) start = std::max<int64_t>(0, len + start);
  if (end < 0) end = std::max<int64_t>(0, len + end);
  start = std::min(start, len);
  end = std::min(end, len);
  if (start >= end) return "";
  return std::string(s.substr(offs[start], offs[end] - offs[start]));
}

// ---- regex helpers ---------------------------------------------------------

struct RegexMatch {
  size_t start, end;  // byte offsets
  std::vector<Value> groups;
  Value text;  // the matched text reported by a custom matcher, if any
};

std::vector<RegexMatch> FindAll(const re2::RE2& re, absl::string_view s,
                                int64_t limit) {
  std::vector<RegexMatch> out;
  int ngroups = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> sub(ngroups + 1);
  size_t pos = 0;
  while (pos <= s.size()) {
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
    if (!re.Match(re2::StringPiece(s.data(), s.size()), pos, s.size(),
                  re2::RE2::UNANCHORED, sub.data(), ngroups + 1)) {
      break;
    }
    RegexMatch m;
    m.start = sub[0].data() - s.data();
    m.end = m.start + sub[0].size();
    if (m.start < s.size() &&
        (static_cast<unsigned char>(s[m.start]) & 0xC0) == 0x80) {
      // RE2 searches bytes: a match cannot start inside a character.
      pos = m.start + 1;
      continue;
    }
    for (int g = 1; g <= ngroups; ++g) {
      if (sub[g].data() == nullptr) {
        m.groups.push_back(Value::String(""));
      } else {
        m.groups.push_back(
            Value::String(std::string(sub[g].data(), sub[g].size())));
      }
    }
    out.push_back(std::move(m));
    if (out.back().end == out.back().start) {
      // Empty match: step over one code point.
      size_t next = out.back().end + 1;
      while (next < s.size() &&
             (static_cast<unsigned char>(s[next]) & 0xC0) == 0x80) {
        ++next;
      }
      pos = next;
    } else {
      pos = out.back().end;
    }
  }
  return out;
}

const re2::RE2& RegexOf(const Value& v) { return *AsFunction(v)->regex->re; }

bool IsRegex(const Value& v) {
  return v.IsFunction() && AsFunction(v)->kind == FunctionValue::kRegex;
}

Value MatchObject(absl::string_view s, const RegexMatch& m) {
  Value o = Value::Object();
  ObjectCell* c = o.MutableObject();
  c->entries.reserve(3);
  c->Set("match",
         m.text.IsString()
             ? m.text
             : Value::String(std::string(s.substr(m.start, m.end - m.start))));
  c->Set("index", Value::Number(CodePointLength(s.substr(0, m.start))));
  c->Set("groups", Value::Array(m.groups));
  return o;
}

absl::Status NotAMatcher(absl::string_view fn, int position) {
  return LangError("T1010", position,
                   absl::StrCat("The matcher function argument passed to "
                                "function ",
                                fn,
                                " does not return the correct object "
                                "structure"));
}

absl::StatusOr<Value> Call(CallContext& ctx, const Value& fn, Args args) {
  return ctx.eval->Apply(fn, std::move(args), Value(), ctx.env, ctx.position);
}

// The matches of `matcher` over `s`, at most `limit` (-1: all). `matcher` is
// a regex, or a function implementing JSONata's matcher protocol: called
// with the string it returns undefined or {match, start, end, groups, next},
// where next() returns the following match.
absl::StatusOr<std::vector<RegexMatch>> Matches(CallContext& ctx,
                                                const Value& matcher,
                                                const std::string& s,
                                                int64_t limit,
                                                absl::string_view fn) {
  if (IsRegex(matcher)) return FindAll(RegexOf(matcher), s, limit);
  std::vector<RegexMatch> out;
  std::vector<size_t> offs = CodePointOffsets(s);
  auto offset = [&](double cp) {
    if (!(cp > 0)) return size_t{0};
    size_t i = static_cast<size_t>(cp);
    return i < offs.size() ? offs[i] : s.size();
  };
  ASSIGN_OR_RETURN(Value m, Call(ctx, matcher, {Value::String(s)}));
  while (m.IsDefined() &&
         (limit < 0 || static_cast<int64_t>(out.size()) < limit)) {
    if (!m.IsObject()) return NotAMatcher(fn, ctx.position);
    const ObjectCell& o = m.object();
    const Value* text = o.Find("match");
    const Value* start = o.Find("start");
    const Value* end = o.Find("end");
    const Value* groups = o.Find("groups");
    if (text == nullptr || !text->IsString() || start == nullptr ||
        !start->IsNumber() || end == nullptr || !end->IsNumber()) {
      return NotAMatcher(fn, ctx.position);
    }
    RegexMatch r;
    r.start = offset(start->number());
    r.end = std::max(r.start, offset(end->number()));
    r.text = *text;
    if (groups != nullptr && groups->IsArray()) r.groups = groups->items();
    out.push_back(std::move(r));
    const Value* next = o.Find("next");
    if (next == nullptr || !next->IsFunction()) break;
    Value next_fn = *next;
    ASSIGN_OR_RETURN(m, Call(ctx, next_fn, {}));
  }
  return out;
}

// Higher-order call arguments by the function's arity.
Args HofArgs(CallContext& ctx, const Value& fn, const Value& a1,
             const Value& a2, const Value& a3) {
  Args out;
  out.reserve(3);
  out.push_back(a1);
  int arity = ctx.eval->Arity(fn);
  if (arity >= 2) out.push_back(a2);
  if (arity >= 3) out.push_back(a3);
  return out;
}

// ---- string functions ------------------------------------------------------

absl::StatusOr<Value> FnString(CallContext& ctx, Args& a) {
  const Value& v = Arg(a, 0);
  if (v.IsUndefined()) return Value();
  bool pretty = Arg(a, 1).IsBool() && Arg(a, 1).boolean();
  ASSIGN_OR_RETURN(std::string s, ToJsString(v, pretty, ctx.position));
  return Value::String(std::move(s));
}

absl::StatusOr<Value> FnLength(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  return Value::Number(CodePointLength(a[0].str()));
}

absl::StatusOr<Value> FnSubstring(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  const std::string& s = a[0].str();
  int64_t len = CodePointLength(s);
  int64_t start = ToInt(Arg(a, 1).IsNumber() ? a[1].number() : 0);
  if (len + start < 0) start = 0;
  if (Arg(a, 2).IsNumber()) {
    double length = a[2].number();
    if (length <= 0) return Value::String("");
    int64_t end =
        start >= 0 ? start + ToInt(length) : len + start + ToInt(length);
    return Value::String(SliceCodePoints(s, start, end));
  }
  return Value::String(SliceCodePoints(s, start, len));
}

absl::StatusOr<Value> FnSubstringBefore(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  if (Arg(a, 1).IsUndefined()) return a[0];
  size_t pos = a[0].str().find(a[1].str());
  if (pos == std::string::npos) return a[0];
  return Value::String(a[0].str().substr(0, pos));
}

absl::StatusOr<Value> FnSubstringAfter(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  if (Arg(a, 1).IsUndefined()) return a[0];
  size_t pos = a[0].str().find(a[1].str());
  if (pos == std::string::npos) return a[0];
  return Value::String(a[0].str().substr(pos + a[1].str().size()));
}

// Simple case mapping for ASCII, Latin-1, Latin Extended-A, Greek and
// Cyrillic (the scripts JavaScript's toUpperCase changes one-to-one).
uint32_t ToUpperCp(uint32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x131) return 0x49;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) {
      return (c % 2 == 0) ? c - 1 : c;
    }
    if (c == 0x138 || c == 0x149 || c == 0x130 || c == 0x178) return c;
    if (c == 0x17F) return 0x53;
    return (c % 2 == 1) ? c - 1 : c;
  }
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

uint32_t ToLowerCp(uint32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x130) return 0x69;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) {
      return (c % 2 == 1) ? c + 1 : c;
    }
    if (c == 0x138 || c == 0x149 || c == 0x131 || c == 0x17F) return c;
    return (c % 2 == 0) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

std::string MapCase(const std::string& s, uint32_t (*f)(uint32_t)) {
  bool ascii = true;
  for (unsigned char c : s) ascii = ascii && c < 0x80;
  if (ascii) {
    std::string out = s;
    for (char& c : out) c = static_cast<char>(f(static_cast<unsigned char>(c)));
    return out;
  }
  std::string out;
  for (uint32_t cp : DecodeUtf8(s)) AppendUtf8(f(cp), &out);
  return out;
}

absl::StatusOr<Value> FnUppercase(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  return Value::String(MapCase(a[0].str(), ToUpperCp));
}

absl::StatusOr<Value> FnLowercase(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  return Value::String(MapCase(a[0].str(), ToLowerCp));
}

absl::StatusOr<Value> FnTrim(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  std::string out;
  bool in_ws = false;
  for (char c : a[0].str()) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      in_ws = true;
    } else {
      if (in_ws) out.push_back(' ');
      in_ws = false;
      out.push_back(c);
    }
  }
  if (in_ws) out.push_back(' ');
  if (!out.empty() && out.front() == ' ') out.erase(0, 1);
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return Value::String(std::move(out));
}

absl::StatusOr<Value> FnPad(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  const std::string& s = a[0].str();
  int64_t width = ToInt(Arg(a, 1).IsNumber() ? a[1].number() : 0);
  std::string ch =
      Arg(a, 2).IsString() && !a[2].str().empty() ? a[2].str() : " ";
  int64_t pad = std::abs(width) - static_cast<int64_t>(CodePointLength(s));
  if (pad <= 0) return a[0];
  RETURN_IF_ERROR(
      ctx.eval->CheckString(pad * ch.size() + s.size(), ctx.position));
  std::string padding;
  int64_t ch_len = std::max<int64_t>(1, CodePointLength(ch));
  for (int64_t n = 0; n < pad; n += ch_len) padding += ch;
  if (ch_len > 1) padding = SliceCodePoints(padding, 0, pad);
  return Value::String(width > 0 ? s + padding : padding + s);
}

absl::StatusOr<Value> FnContains(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  const std::string& s = a[0].str();
  if (Arg(a, 1).IsFunction()) {
    ASSIGN_OR_RETURN(std::vector<RegexMatch> ms,
                     Matches(ctx, a[1], s, 1, "contains"));
    return Value::Bool(!ms.empty());
  }
  if (!Arg(a, 1).IsString()) return Value();
  return Value::Bool(s.find(a[1].str()) != std::string::npos);
}

absl::StatusOr<Value> FnSplit(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  const std::string& s = a[0].str();
  int64_t limit = -1;
  if (Arg(a, 2).IsNumber()) {
    if (a[2].number() < 0) {
      return LangError("D3020", ctx.position,
                       "Third argument of split function must evaluate to a "
                       "positive number");
    }
    limit = ToInt(a[2].number());
  }
  std::vector<Value> out;
  if (limit == 0) return Value::Array();
  if (Arg(a, 1).IsFunction()) {
    ASSIGN_OR_RETURN(std::vector<RegexMatch> ms,
                     Matches(ctx, a[1], s, limit, "split"));
    size_t start = 0;
    for (const RegexMatch& m : ms) {
      out.push_back(Value::String(s.substr(start, m.start - start)));
      start = m.end;
    }
    if (limit < 0 || static_cast<int64_t>(ms.size()) < limit) {
      out.push_back(Value::String(s.substr(std::min(start, s.size()))));
    }
  } else {
    const std::string& sep = Arg(a, 1).IsString() ? a[1].str() : "";
    if (sep.empty()) {
      std::vector<size_t> offs = CodePointOffsets(s);
      for (size_t i = 0; i + 1 < offs.size(); ++i) {
        out.push_back(Value::String(s.substr(offs[i], offs[i + 1] - offs[i])));
      }
    } else {
      size_t start = 0;
      while (true) {
        size_t p = s.find(sep, start);
        if (p == std::string::npos) {
          out.push_back(Value::String(s.substr(start)));
          break;
        }
        out.push_back(Value::String(s.substr(start, p - start)));
        start = p + sep.size();
      }
    }
    if (limit >= 0 && static_cast<int64_t>(out.size()) > limit)
      out.resize(limit);
  }
  return Value::Array(std::move(out));
}

absl::StatusOr<Value> FnJoin(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  std::string sep = Arg(a, 1).IsString() ? a[1].str() : "";
  std::string out;
  bool first = true;
  for (const Value& v : a[0].items()) {
    if (!first) out += sep;
    first = false;
    out += v.str();
  }
  RETURN_IF_ERROR(ctx.eval->CheckString(out.size(), ctx.position));
  return Value::String(std::move(out));
}

absl::StatusOr<Value> FnMatch(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  int64_t limit = -1;
  if (Arg(a, 2).IsNumber()) {
    if (a[2].number() < 0) {
      return LangError("D3040", ctx.position,
                       "Third argument of match function must evaluate to a "
                       "positive number");
    }
    limit = ToInt(a[2].number());
  }
  if (!Arg(a, 1).IsFunction()) {
    return LangError("T0410", ctx.position,
                     "Argument 2 of function $match does not match function "
                     "signature");
  }
  const std::string& s = a[0].str();
  std::vector<Value> out;
  ASSIGN_OR_RETURN(std::vector<RegexMatch> ms,
                   Matches(ctx, a[1], s, limit, "match"));
  for (const RegexMatch& m : ms) {
    out.push_back(MatchObject(s, m));
  }
  return MakeSequence(std::move(out));
}

std::string SubstituteGroups(const std::string& replacement,
                             absl::string_view s, const RegexMatch& m) {
  std::string out;
  size_t pos = 0;
  size_t ngroups = m.groups.size();
  while (pos < replacement.size()) {
    size_t idx = replacement.find('$', pos);
    if (idx == std::string::npos) break;
    out += replacement.substr(pos, idx - pos);
    pos = idx + 1;
    if (pos >= replacement.size()) {
      out += '$';
      break;
    }
    char d = replacement[pos];
    if (d == '$') {
      out += '$';
      ++pos;
    } else if (d == '0') {
      out.append(s.data() + m.start, m.end - m.start);
      ++pos;
    } else {
      int max_digits = 1;
      for (size_t g = ngroups; g >= 10; g /= 10) ++max_digits;
      auto parse = [&](int digits, int* value) {
        int v = 0, k = 0;
        for (; k < digits && pos + k < replacement.size() &&
               isdigit(static_cast<unsigned char>(replacement[pos + k]));
             ++k) {
          v = v * 10 + (replacement[pos + k] - '0');
        }
        *value = v;
        return k;
      };
      int value;
      int used = parse(max_digits, &value);
      if (max_digits > 1 && value > static_cast<int>(ngroups)) {
        used = parse(max_digits - 1, &value);
      }
      if (used > 0) {
        if (ngroups > 0 && value >= 1 && value <= static_cast<int>(ngroups)) {
          const Value& g = m.groups[value - 1];
          if (g.IsString()) out += g.str();
        }
        pos += std::to_string(value).size();
      } else {
        out += '$';
      }
    }
  }
  if (pos < replacement.size()) out += replacement.substr(pos);
  return out;
}

absl::StatusOr<Value> FnReplace(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  const std::string& s = a[0].str();
  const Value& pattern = Arg(a, 1);
  const Value& repl = Arg(a, 2);
  if (pattern.IsString() && pattern.str().empty()) {
    return LangError("D3010", ctx.position,
                     "Second argument of replace function cannot be an empty "
                     "string");
  }
  int64_t limit = -1;
  if (Arg(a, 3).IsNumber()) {
    if (a[3].number() < 0) {
      return LangError("D3011", ctx.position,
                       "Fourth argument of replace function must evaluate to a "
                       "positive number");
    }
    limit = ToInt(a[3].number());
  }
  if (limit == 0) return a[0];
  std::string out;
  if (pattern.IsString()) {
    if (!repl.IsString()) {
      return LangError("T0410", ctx.position,
                       "Argument 3 of function $replace does not match "
                       "function signature");
    }
    size_t pos = 0;
    int64_t count = 0;
    while (limit < 0 || count < limit) {
      size_t idx = s.find(pattern.str(), pos);
      if (idx == std::string::npos) break;
      out += s.substr(pos, idx - pos);
      out += repl.str();
      pos = idx + pattern.str().size();
      ++count;
    }
    out += s.substr(pos);
  } else {
    size_t pos = 0;
    ASSIGN_OR_RETURN(std::vector<RegexMatch> ms,
                     Matches(ctx, pattern, s, limit, "replace"));
    for (const RegexMatch& m : ms) {
      out.append(s, pos, m.start - pos);
      if (repl.IsString()) {
        out += SubstituteGroups(repl.str(), s, m);
      } else {
        ASSIGN_OR_RETURN(Value r, Call(ctx, repl, {MatchObject(s, m)}));
        if (!r.IsString()) {
          return LangError("D3012", ctx.position,
                           "Attempted to replace a matched string with a "
                           "non-string value");
        }
        out += r.str();
      }
      pos = m.end;
      RETURN_IF_ERROR(ctx.eval->CheckString(out.size(), ctx.position));
    }
    out.append(s, std::min(pos, s.size()), std::string::npos);
  }
  RETURN_IF_ERROR(ctx.eval->CheckString(out.size(), ctx.position));
  return Value::String(std::move(out));
}

absl::StatusOr<Value> FnBase64Encode(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  std::string bytes;
  for (uint32_t cp : DecodeUtf8(a[0].str()))
    bytes.push_back(static_cast<char>(cp & 0xFF));
  return Value::String(absl::Base64Escape(bytes));
}

absl::StatusOr<Value> FnBase64Decode(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  std::string bytes;
  if (!absl::Base64Unescape(a[0].str(), &bytes)) {
    return LangError("D3140", ctx.position, "Malformed base64 string");
  }
  std::string out;
  for (unsigned char c : bytes) AppendUtf8(c, &out);
  return Value::String(std::move(out));
}

absl::StatusOr<Value> EncodeUri(CallContext& ctx, Args& a,
                                absl::string_view keep) {
  if (Arg(a, 0).IsUndefined()) return Value();
  for (uint32_t cp : DecodeUtf8(a[0].str())) {
    if (cp >= 0xD800 && cp <= 0xDFFF) {  // a lone surrogate (URIError in JS)
      return LangError("D3140", ctx.position,
                       "Malformed URL passed to encode: lone surrogate");
    }
  }
  std::string out;
  for (unsigned char c : a[0].str()) {
    if (isalnum(c) ||
        absl::string_view("-_.!~*'()").find(c) != absl::string_view::npos ||
        keep.find(c) != absl::string_view::npos) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%",
                      absl::AsciiStrToUpper(absl::BytesToHexString(
                          absl::string_view(reinterpret_cast<char*>(&c), 1))));
    }
  }
  return Value::String(std::move(out));
}

bool ValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    int n = c < 0x80             ? 1
            : (c & 0xE0) == 0xC0 ? 2
            : (c & 0xF0) == 0xE0 ? 3
            : (c & 0xF8) == 0xF0 ? 4
                                 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

absl::StatusOr<Value> DecodeUri(CallContext& ctx, Args& a,
                                absl::string_view reserved) {
  if (Arg(a, 0).IsUndefined()) return Value();
  const std::string& s = a[0].str();
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return LangError("D3140", ctx.position, "Malformed URL passed to decode");
    }
    char c = static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
    if (reserved.find(c) != absl::string_view::npos) {
      out += s.substr(i, 3);
    } else {
      out.push_back(c);
    }
    i += 2;
  }
  if (!ValidUtf8(out)) {
    return LangError("D3140", ctx.position, "Malformed URL passed to decode");
  }
  return Value::String(std::move(out));
}

absl::StatusOr<Value> FnEncodeUrlComponent(CallContext& ctx, Args& a) {
  return EncodeUri(ctx, a, "");
}
absl::StatusOr<Value> FnEncodeUrl(CallContext& ctx, Args& a) {
  return EncodeUri(ctx, a, ";,/?:@&=+$#");
}
absl::StatusOr<Value> FnDecodeUrlComponent(CallContext& ctx, Args& a) {
  return DecodeUri(ctx, a, "");
}
absl::StatusOr<Value> FnDecodeUrl(CallContext& ctx, Args& a) {
  return DecodeUri(ctx, a, ";/?:@&=+$,#");
}

absl::StatusOr<Value> FnEval(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  Value input = ctx.input;
  if (Arg(a, 1).IsDefined()) {
    input = a[1];
    if (input.IsArray() && !IsSequence(input)) {
      input = MakeSequence({input});
      input.MutableArray()->outer_wrapper = true;
    }
  }
  return ctx.eval->EvalSource(a[0].str(), input, ctx.env, ctx.position);
}

// ---- numeric functions -----------------------------------------------------

bool MatchesDecimal(const std::string& s) {
  static const re2::RE2 re("-?[0-9]+(\\.[0-9]+)?([Ee][-+]?[0-9]+)?");
  return re2::RE2::FullMatch(s, re);
}

absl::StatusOr<Value> FnNumber(CallContext& ctx, Args& a) {
  const Value& v = Arg(a, 0);
  if (v.IsUndefined()) return Value();
  if (v.IsNumber()) return v;
  if (v.IsBool()) return Value::Number(v.boolean() ? 1 : 0);
  if (v.IsString()) {
    const std::string& s = v.str();
    if (MatchesDecimal(s)) {
      double d = std::strtod(s.c_str(), nullptr);
      if (std::isfinite(d)) return Value::Number(d);
    }
    if (s.size() > 2 && s[0] == '0') {
      int base = 0;
      char p = s[1] | 0x20;
      if (p == 'x') base = 16;
      if (p == 'o') base = 8;
      if (p == 'b') base = 2;
      if (base != 0) {
        double r = 0;
        bool ok = true;
        for (size_t i = 2; i < s.size(); ++i) {
          int d = isdigit(static_cast<unsigned char>(s[i])) ? s[i] - '0'
                  : isalpha(static_cast<unsigned char>(s[i]))
                      ? (s[i] | 0x20) - 'a' + 10
                      : 99;
          if (d >= base) {
            ok = false;
            break;
          }
          r = r * base + d;
        }
        if (ok) return Value::Number(r);
      }
    }
  }
  return LangError(
      "D3030", ctx.position,
      absl::StrCat("Unable to cast value to a number: ", ToJson(v)));
}

absl::StatusOr<Value> FnAbs(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  return Value::Number(std::fabs(a[0].number()));
}
absl::StatusOr<Value> FnFloor(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  return Value::Number(std::floor(a[0].number()));
}
absl::StatusOr<Value> FnCeil(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  return Value::Number(std::ceil(a[0].number()));
}

double JsRound(double x) { return std::floor(x + 0.5); }

// Shifts the decimal point of `d` by `places` through its decimal string, as
// jsonata-js does, to avoid binary scaling errors.
double ShiftDecimal(double d, int places) {
  std::string s = FormatNumber(d);
  size_t e = s.find('e');
  std::string mant = e == std::string::npos ? s : s.substr(0, e);
  int exp = e == std::string::npos ? 0 : std::atoi(s.c_str() + e + 1);
  std::string t = absl::StrCat(mant, "e", exp + places);
  return std::strtod(t.c_str(), nullptr);
}

double RoundHalfEven(double arg, int precision) {
  if (precision != 0) arg = ShiftDecimal(arg, precision);
  double result = JsRound(arg);
  double diff = result - arg;
  if (std::fabs(diff) == 0.5 && std::fabs(std::fmod(result, 2)) == 1) {
    result -= 1;
  }
  if (precision != 0) result = ShiftDecimal(result, -precision);
  if (result == 0) result = 0;  // no -0
  return result;
}

absl::StatusOr<Value> FnRound(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  int precision =
      Arg(a, 1).IsNumber() ? static_cast<int>(ToInt(a[1].number())) : 0;
  return Value::Number(RoundHalfEven(a[0].number(), precision));
}

absl::StatusOr<Value> FnPower(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  double r = std::pow(a[0].number(), Arg(a, 1).IsNumber() ? a[1].number() : 0);
  if (!std::isfinite(r)) {
    return LangError("D3061", ctx.position,
                     "The power function has resulted in a value that cannot "
                     "be represented as a JSON number");
  }
  return Value::Number(r);
}

absl::StatusOr<Value> FnSqrt(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  if (a[0].number() < 0) {
    return LangError(
        "D3060", ctx.position,
        "The sqrt function cannot be applied to a negative number");
  }
  return Value::Number(std::sqrt(a[0].number()));
}

absl::StatusOr<Value> FnRandom(CallContext&, Args&) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return Value::Number(std::uniform_real_distribution<double>(0, 1)(rng));
}

absl::StatusOr<Value> FnFormatBase(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  double v = RoundHalfEven(a[0].number(), 0);
  int radix =
      Arg(a, 1).IsNumber() ? static_cast<int>(ToInt(a[1].number())) : 10;
  if (radix < 2 || radix > 36) {
    return LangError("D3100", ctx.position,
                     "The radix of the formatBase function must be between 2 "
                     "and 36");
  }
  bool neg = v < 0;
  double x = std::fabs(v);
  std::string digits;
  if (x == 0) digits = "0";
  while (x >= 1) {
    int d = static_cast<int>(std::fmod(x, radix));
    digits.push_back(d < 10 ? '0' + d : 'a' + d - 10);
    x = std::floor(x / radix);
  }
  std::reverse(digits.begin(), digits.end());
  return Value::String(neg ? "-" + digits : digits);
}

absl::StatusOr<Value> FnFormatNumber(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  format::DecimalFormat decimal_format;
  if (Arg(a, 2).IsObject()) {
    for (const auto& e : a[2].object().entries) {
      if (e.second.IsString()) decimal_format.Set(e.first, e.second.str());
    }
  }
  std::string picture = Arg(a, 1).IsString() ? a[1].str() : "";
  absl::StatusOr<std::string> s =
      format::FormatNumber(a[0].number(), picture, decimal_format);
  if (!s.ok())
    return retrace::Annotate(s.status(),
                             absl::StrCat("at position ", ctx.position));
  return Value::String(*std::move(s));
}
absl::StatusOr<Value> FnFormatInteger(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  std::string picture = Arg(a, 1).IsString() ? a[1].str() : "";
  absl::StatusOr<std::string> s = format::FormatInteger(a[0].number(), picture);
  if (!s.ok())
    return retrace::Annotate(s.status(),
                             absl::StrCat("at position ", ctx.position));
  return Value::String(*std::move(s));
}
absl::StatusOr<Value> FnParseInteger(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  std::string picture = Arg(a, 1).IsString() ? a[1].str() : "";
  absl::StatusOr<std::optional<double>> v =
      format::ParseInteger(a[0].str(), picture);
  if (!v.ok())
    return retrace::Annotate(v.status(),
                             absl::StrCat("at position ", ctx.position));
  if (!v->has_value()) return Value();
  return Value::Number(**v);
}

// ---- aggregation -----------------------------------------------------------

absl::StatusOr<Value> FnSum(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  double total = 0;
  for (const Value& v : a[0].items()) total += v.number();
  return Value::Number(total);
}

absl::StatusOr<Value> FnMax(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined() || a[0].items().empty()) return Value();
  double m = -INFINITY;
  for (const Value& v : a[0].items()) m = std::max(m, v.number());
  return Value::Number(m);
}

absl::StatusOr<Value> FnMin(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined() || a[0].items().empty()) return Value();
  double m = INFINITY;
  for (const Value& v : a[0].items()) m = std::min(m, v.number());
  return Value::Number(m);
}

absl::StatusOr<Value> FnAverage(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined() || a[0].items().empty()) return Value();
  double total = 0;
  for (const Value& v : a[0].items()) total += v.number();
  return Value::Number(total / a[0].items().size());
}

absl::StatusOr<Value> FnCount(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value::Number(0);
  return Value::Number(a[0].items().size());
}

// ---- boolean ---------------------------------------------------------------

absl::StatusOr<Value> FnBoolean(CallContext&, Args& a) {
  return ToBoolean(Arg(a, 0));
}
absl::StatusOr<Value> FnNot(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  return Value::Bool(!Truthy(a[0]));
}
absl::StatusOr<Value> FnExists(CallContext&, Args& a) {
  return Value::Bool(Arg(a, 0).IsDefined());
}

// ---- arrays ----------------------------------------------------------------

absl::StatusOr<Value> FnAppend(CallContext& ctx, Args& a) {
  Value r = AppendValues(Arg(a, 0), Arg(a, 1));
  if (r.IsArray())
    RETURN_IF_ERROR(ctx.eval->CheckSequence(r.items().size(), ctx.position));
  return r;
}

absl::StatusOr<Value> FnReverse(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  if (a[0].items().size() <= 1) return a[0];
  std::vector<Value> items = a[0].items();
  std::reverse(items.begin(), items.end());
  return Value::Array(std::move(items));
}

absl::StatusOr<Value> FnShuffle(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  if (a[0].items().size() <= 1) return a[0];
  std::vector<Value> items = a[0].items();
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::shuffle(items.begin(), items.end(), rng);
  return Value::Array(std::move(items));
}

absl::StatusOr<Value> FnDistinct(CallContext& ctx, Args& a) {
  const Value& arr = Arg(a, 0);
  if (arr.IsUndefined()) return Value();
  if (NestingExceeds(arr)) return TooDeep(ctx.position);
  if (!arr.IsArray() || arr.items().size() <= 1) return arr;
  std::vector<Value> out;
  for (const Value& v : arr.items()) {
    bool found = false;
    for (const Value& o : out) {
      if (DeepEqual(v, o)) {
        found = true;
        break;
      }
    }
    if (!found) out.push_back(v);
  }
  if (IsSequence(arr)) return MakeSequence(std::move(out));
  return Value::Array(std::move(out));
}

// Sorts (*items)[lo, hi) stably; `greater(a, b)` true puts b first.
absl::Status MergeSort(CallContext& ctx, const Value& greater,
                       std::vector<Value>* items, std::vector<Value>* tmp,
                       size_t lo, size_t hi) {
  if (hi - lo < 2) return absl::OkStatus();
  size_t mid = (lo + hi) / 2;
  RETURN_IF_ERROR(MergeSort(ctx, greater, items, tmp, lo, mid));
  RETURN_IF_ERROR(MergeSort(ctx, greater, items, tmp, mid, hi));
  std::vector<Value>& v = *items;
  std::vector<Value>& t = *tmp;
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    Args args;
    args.reserve(2);
    args.push_back(v[i]);
    args.push_back(v[j]);
    ASSIGN_OR_RETURN(Value r, Call(ctx, greater, std::move(args)));
    if (Truthy(r)) {
      t[k++] = std::move(v[j++]);
    } else {
      t[k++] = std::move(v[i++]);
    }
  }
  while (i < mid) t[k++] = std::move(v[i++]);
  while (j < hi) t[k++] = std::move(v[j++]);
  for (size_t x = lo; x < hi; ++x) v[x] = std::move(t[x]);
  return absl::OkStatus();
}

absl::StatusOr<Value> FnSort(CallContext& ctx, Args& a) {
  const Value& arr = Arg(a, 0);
  if (arr.IsUndefined()) return Value();
  if (arr.items().size() <= 1) return arr;
  std::vector<Value> items = arr.items();
  const Value& cmp = Arg(a, 1);
  if (cmp.IsUndefined()) {
    bool all_num = true, all_str = true;
    for (const Value& v : items) {
      all_num = all_num && v.IsNumber();
      all_str = all_str && v.IsString();
    }
    if (!all_num && !all_str) {
      return LangError("D3070", ctx.position,
                       "The single argument form of the sort function can "
                       "only be applied to an array of strings or an array "
                       "of numbers");
    }
    std::stable_sort(items.begin(), items.end(),
                     [&](const Value& x, const Value& y) {
                       if (all_num) return x.number() < y.number();
                       return x.str() < y.str();
                     });
    return Value::Array(std::move(items));
  }
  // Merge sort with the user's "greater than" function, as jsonata-js.
  std::vector<Value> tmp(items.size());
  RETURN_IF_ERROR(MergeSort(ctx, cmp, &items, &tmp, 0, items.size()));
  return Value::Array(std::move(items));
}

absl::StatusOr<Value> FnZip(CallContext&, Args& a) {
  size_t n = SIZE_MAX;
  for (const Value& v : a) {
    if (v.IsUndefined()) return Value::Array();
    n = std::min(n, v.items().size());
  }
  if (a.empty()) return Value::Array();
  std::vector<Value> out;
  for (size_t i = 0; i < n; ++i) {
    std::vector<Value> tuple;
    for (const Value& v : a) tuple.push_back(v.items()[i]);
    out.push_back(Value::Array(std::move(tuple)));
  }
  return Value::Array(std::move(out));
}

// ---- objects ---------------------------------------------------------------

void CollectKeys(const Value& v, std::vector<std::string>* keys,
                 absl::flat_hash_map<std::string, bool>* seen) {
  if (v.IsArray()) {
    for (const Value& item : v.items()) CollectKeys(item, keys, seen);
  } else if (v.IsObject()) {
    for (const auto& e : v.object().entries) {
      if (seen->emplace(e.first, true).second) keys->push_back(e.first);
    }
  }
}

absl::StatusOr<Value> FnKeys(CallContext&, Args& a) {
  std::vector<std::string> keys;
  absl::flat_hash_map<std::string, bool> seen;
  CollectKeys(Arg(a, 0), &keys, &seen);
  std::vector<Value> out;
  for (auto& k : keys) out.push_back(Value::String(std::move(k)));
  return MakeSequence(std::move(out));
}

absl::StatusOr<Value> FnLookup(CallContext&, Args& a) {
  if (!Arg(a, 1).IsString()) return Value();
  return LookupField(Arg(a, 0), a[1].str());
}

Value Spread(const Value& v) {
  if (v.IsArray()) {
    Value result = MakeSequence();
    for (const Value& item : v.items())
      result = AppendValues(result, Spread(item));
    return result;
  }
  if (v.IsObject()) {
    std::vector<Value> out;
    for (const auto& e : v.object().entries) {
      Value o = Value::Object();
      o.MutableObject()->Set(e.first, e.second);
      out.push_back(std::move(o));
    }
    return MakeSequence(std::move(out));
  }
  return v;
}

absl::StatusOr<Value> FnSpread(CallContext&, Args& a) {
  return Spread(Arg(a, 0));
}

absl::StatusOr<Value> FnMerge(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  Value result = Value::Object();
  ObjectCell* o = result.MutableObject();
  for (const Value& item : a[0].items()) {
    for (const auto& e : item.object().entries) o->Set(e.first, e.second);
  }
  return result;
}

absl::StatusOr<Value> FnSift(CallContext& ctx, Args& a) {
  const Value& obj = Arg(a, 0);
  if (obj.IsUndefined()) return Value();
  Value result = Value::Object();
  ObjectCell* o = result.MutableObject();
  for (const auto& e : obj.object().entries) {
    ASSIGN_OR_RETURN(Value r, Call(ctx, a[1],
                                   HofArgs(ctx, a[1], e.second,
                                           Value::String(e.first), obj)));
    if (Truthy(r)) o->Set(e.first, e.second);
  }
  if (o->size() == 0) return Value();
  return result;
}

absl::StatusOr<Value> FnEach(CallContext& ctx, Args& a) {
  const Value& obj = Arg(a, 0);
  if (obj.IsUndefined()) return Value();
  std::vector<Value> out;
  for (const auto& e : obj.object().entries) {
    ASSIGN_OR_RETURN(Value r, Call(ctx, a[1],
                                   HofArgs(ctx, a[1], e.second,
                                           Value::String(e.first), obj)));
    if (r.IsDefined()) out.push_back(std::move(r));
  }
  return MakeSequence(std::move(out));
}

absl::StatusOr<Value> FnError(CallContext& ctx, Args& a) {
  std::string msg =
      Arg(a, 0).IsString() ? a[0].str() : "$error() function evaluated";
  return LangError("D3137", ctx.position, msg);
}

absl::StatusOr<Value> FnAssert(CallContext& ctx, Args& a) {
  if (!Arg(a, 0).IsBool()) {
    return LangError("T0410", ctx.position,
                     "Argument 1 of function $assert does not match function "
                     "signature");
  }
  if (!a[0].boolean()) {
    std::string msg =
        Arg(a, 1).IsString() ? a[1].str() : "$assert() statement failed";
    return LangError("D3141", ctx.position, msg);
  }
  return Value();
}

absl::StatusOr<Value> FnType(CallContext&, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  return Value::String(std::string(TypeName(a[0])));
}

absl::StatusOr<Value> FnClone(CallContext& ctx, Args& a) {
  if (NestingExceeds(Arg(a, 0))) return TooDeep(ctx.position);
  return DeepClone(Arg(a, 0));
}

// ---- higher-order ----------------------------------------------------------

absl::StatusOr<Value> FnMap(CallContext& ctx, Args& a) {
  const Value& arr = Arg(a, 0);
  if (arr.IsUndefined()) return Value();
  std::vector<Value> out;
  const auto& items = arr.items();
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(
        Value r,
        Call(ctx, a[1], HofArgs(ctx, a[1], items[i], Value::Number(i), arr)));
    if (r.IsDefined()) out.push_back(std::move(r));
  }
  return MakeSequence(std::move(out));
}

absl::StatusOr<Value> FnFilter(CallContext& ctx, Args& a) {
  const Value& arr = Arg(a, 0);
  if (arr.IsUndefined()) return Value();
  std::vector<Value> out;
  const auto& items = arr.items();
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(
        Value r,
        Call(ctx, a[1], HofArgs(ctx, a[1], items[i], Value::Number(i), arr)));
    if (Truthy(r)) out.push_back(items[i]);
  }
  return MakeSequence(std::move(out));
}

absl::StatusOr<Value> FnSingle(CallContext& ctx, Args& a) {
  const Value& arr = Arg(a, 0);
  if (arr.IsUndefined()) return Value();
  bool found = false;
  Value result;
  const auto& items = arr.items();
  for (size_t i = 0; i < items.size(); ++i) {
    bool ok = true;
    if (Arg(a, 1).IsDefined()) {
      ASSIGN_OR_RETURN(
          Value r,
          Call(ctx, a[1], HofArgs(ctx, a[1], items[i], Value::Number(i), arr)));
      ok = Truthy(r);
    }
    if (ok) {
      if (found) {
        return LangError("D3138", ctx.position,
                         "The $single() function expected exactly 1 matching "
                         "result. Instead it matched more.");
      }
      found = true;
      result = items[i];
    }
  }
  if (!found) {
    return LangError("D3139", ctx.position,
                     "The $single() function expected exactly 1 matching "
                     "result. Instead it matched 0.");
  }
  return result;
}

absl::StatusOr<Value> FnReduce(CallContext& ctx, Args& a) {
  const Value& arr = Arg(a, 0);
  if (arr.IsUndefined()) return Value();
  const Value& fn = a[1];
  int arity = ctx.eval->Arity(fn);
  if (arity < 2) {
    return LangError("D3050", ctx.position,
                     "The second argument of reduce function must be a "
                     "function with at least two arguments");
  }
  const auto& items = arr.items();
  Value result;
  size_t i = 0;
  if (Arg(a, 2).IsUndefined() && !items.empty()) {
    result = items[0];
    i = 1;
  } else {
    result = Arg(a, 2);
  }
  for (; i < items.size(); ++i) {
    Args args{result, items[i]};
    if (arity >= 3) args.push_back(Value::Number(i));
    if (arity >= 4) args.push_back(arr);
    ASSIGN_OR_RETURN(result, Call(ctx, fn, std::move(args)));
  }
  return result;
}

// ---- date / time -----------------------------------------------------------

absl::StatusOr<Value> FnNow(CallContext& ctx, Args& a) {
  std::string picture = Arg(a, 0).IsString() ? a[0].str() : "";
  std::string tz = Arg(a, 1).IsString() ? a[1].str() : "";
  absl::StatusOr<std::string> s =
      datetime::FormatMillis(ctx.eval->now_millis(), picture, tz);
  if (!s.ok())
    return retrace::Annotate(s.status(),
                             absl::StrCat("at position ", ctx.position));
  return Value::String(*std::move(s));
}

absl::StatusOr<Value> FnMillis(CallContext& ctx, Args&) {
  return Value::Number(static_cast<double>(ctx.eval->now_millis()));
}

absl::StatusOr<Value> FnFromMillis(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  // Outside JavaScript's date range, undefined, as $toMillis gives there
  // (jsonata-js prints NaN fields or throws a RangeError). Past the range of
  // int64_t the conversion below would be undefined behaviour.
  constexpr double kMaxJsMillis = 8.64e15;
  if (!(std::fabs(a[0].number()) <= kMaxJsMillis)) return Value();
  std::string picture = Arg(a, 1).IsString() ? a[1].str() : "";
  std::string tz = Arg(a, 2).IsString() ? a[2].str() : "";
  absl::StatusOr<std::string> s = datetime::FormatMillis(
      static_cast<int64_t>(std::floor(a[0].number())), picture, tz);
  if (!s.ok())
    return retrace::Annotate(s.status(),
                             absl::StrCat("at position ", ctx.position));
  return Value::String(*std::move(s));
}

absl::StatusOr<Value> FnToMillis(CallContext& ctx, Args& a) {
  if (Arg(a, 0).IsUndefined()) return Value();
  std::string picture = Arg(a, 1).IsString() ? a[1].str() : "";
  absl::StatusOr<std::optional<int64_t>> ms =
      datetime::ParseMillis(a[0].str(), picture, ctx.eval->now_millis());
  if (!ms.ok())
    return retrace::Annotate(ms.status(),
                             absl::StrCat("at position ", ctx.position));
  if (!ms->has_value()) return Value();
  return Value::Number(static_cast<double>(**ms));
}

// ---- registry --------------------------------------------------------------

struct Spec {
  const char* name;
  const char* signature;
  BuiltinFn fn;
  int arity;  // -1: the signature's parameter count
};

const Spec kStringFunctions[] = {
    {"string", "<x-b?:s>", FnString, 1},
    {"length", "<s-:n>", FnLength, -1},
    {"substring", "<s-nn?:s>", FnSubstring, -1},
    {"substringBefore", "<s-s:s>", FnSubstringBefore, -1},
    {"substringAfter", "<s-s:s>", FnSubstringAfter, -1},
    {"uppercase", "<s-:s>", FnUppercase, -1},
    {"lowercase", "<s-:s>", FnLowercase, -1},
    {"trim", "<s-:s>", FnTrim, -1},
    {"pad", "<s-ns?:s>", FnPad, -1},
    {"contains", "<s-(sf):b>", FnContains, -1},
    {"split", "<s-(sf)n?:a<s>>", FnSplit, -1},
    {"join", "<a<s>s?:s>", FnJoin, -1},
    {"match", "<s-f<s:o>n?:a<o>>", FnMatch, -1},
    {"replace", "<s-(sf)(sf)n?:s>", FnReplace, -1},
    {"eval", "<sx?:x>", FnEval, -1},
    {"base64encode", "<s-:s>", FnBase64Encode, -1},
    {"base64decode", "<s-:s>", FnBase64Decode, -1},
    {"encodeUrlComponent", "<s-:s>", FnEncodeUrlComponent, -1},
    {"encodeUrl", "<s-:s>", FnEncodeUrl, -1},
    {"decodeUrlComponent", "<s-:s>", FnDecodeUrlComponent, -1},
    {"decodeUrl", "<s-:s>", FnDecodeUrl, -1},
    {"formatNumber", "<n-so?:s>", FnFormatNumber, -1},
    {"formatBase", "<n-n?:s>", FnFormatBase, -1},
    {"formatInteger", "<n-s:s>", FnFormatInteger, -1},
    {"parseInteger", "<s-s:n>", FnParseInteger, -1},
};

const Spec kNumericFunctions[] = {
    {"number", "<(nsb)-:n>", FnNumber, -1}, {"abs", "<n-:n>", FnAbs, -1},
    {"floor", "<n-:n>", FnFloor, -1},       {"ceil", "<n-:n>", FnCeil, -1},
    {"round", "<n-n?:n>", FnRound, -1},     {"power", "<n-n:n>", FnPower, -1},
    {"sqrt", "<n-:n>", FnSqrt, -1},         {"random", "<:n>", FnRandom, -1},
};

const Spec kAggregationFunctions[] = {
    {"sum", "<a<n>:n>", FnSum, -1},  {"max", "<a<n>:n>", FnMax, -1},
    {"min", "<a<n>:n>", FnMin, -1},  {"average", "<a<n>:n>", FnAverage, -1},
    {"count", "<a:n>", FnCount, -1},
};

const Spec kBooleanFunctions[] = {
    {"boolean", "<x-:b>", FnBoolean, -1},
    {"not", "<x-:b>", FnNot, -1},
    {"exists", "<x:b>", FnExists, -1},
};

const Spec kArrayFunctions[] = {
    {"append", "<xx:a>", FnAppend, -1},  {"reverse", "<a:a>", FnReverse, -1},
    {"shuffle", "<a:a>", FnShuffle, -1}, {"distinct", "<x:x>", FnDistinct, -1},
    {"sort", "<af?:a>", FnSort, -1},     {"zip", "<a+>", FnZip, -1},
};

const Spec kObjectFunctions[] = {
    {"keys", "<x-:a<s>>", FnKeys, -1},     {"lookup", "<x-s:x>", FnLookup, -1},
    {"spread", "<x-:a<o>>", FnSpread, -1}, {"merge", "<a<o>:o>", FnMerge, -1},
    {"sift", "<o-f?:o>", FnSift, -1},      {"each", "<o-f?:a>", FnEach, -1},
    {"error", "<s?:x>", FnError, -1},      {"assert", "<bs?:x>", FnAssert, -1},
    {"type", "<x:s>", FnType, -1},         {"clone", "<(oa)-:o>", FnClone, -1},
};

const Spec kHigherOrderFunctions[] = {
    {"map", "<af>", FnMap, -1},
    {"filter", "<af>", FnFilter, -1},
    {"single", "<af?>", FnSingle, -1},
    {"reduce", "<afj?:j>", FnReduce, -1},
};

const Spec kDateTimeFunctions[] = {
    {"now", "<s?s?:s>", FnNow, -1},
    {"millis", "<:n>", FnMillis, -1},
    {"fromMillis", "<n-s?s?:s>", FnFromMillis, -1},
    {"toMillis", "<s-s?:n>", FnToMillis, -1},
};

struct Registry {
  absl::flat_hash_map<std::string, std::unique_ptr<BuiltinDef>> defs;
  std::vector<std::string> names;
};

// Adds one group of built-ins to `r`.
template <size_t N>
void RegisterGroup(const Spec (&specs)[N], Registry* r) {
  for (const Spec& s : specs) {
    auto def = std::make_unique<BuiltinDef>();
    def->name = s.name;
    def->display_name = std::string("$") + s.name;
    auto sig = ParseSignature(s.signature, 0);
    def->signature = *sig;
    def->fn = s.fn;
    def->arity = s.arity >= 0 ? s.arity : def->signature->params.size();
    r->names.push_back(s.name);
    r->defs.emplace(s.name, std::move(def));
  }
}

const Registry& GetRegistry() {
  static const Registry* registry = [] {
    auto* r = new Registry();
    RegisterGroup(kStringFunctions, r);
    RegisterGroup(kNumericFunctions, r);
    RegisterGroup(kAggregationFunctions, r);
    RegisterGroup(kBooleanFunctions, r);
    RegisterGroup(kArrayFunctions, r);
    RegisterGroup(kObjectFunctions, r);
    RegisterGroup(kHigherOrderFunctions, r);
    RegisterGroup(kDateTimeFunctions, r);
    return r;
  }();
  return *registry;
}

}  // namespace

const BuiltinDef* FindBuiltin(absl::string_view name) {
  const auto& defs = GetRegistry().defs;
  auto it = defs.find(name);
  return it == defs.end() ? nullptr : it->second.get();
}

absl::StatusOr<std::shared_ptr<const RegexProgram>> CompileRegex(
    absl::string_view pattern, absl::string_view flags, int64_t max_mem,
    int position) {
  // JSONata accepts any lower-case flags; only i and m change matching (g is
  // implied by the functions that use regexes).
  std::string kept;
  for (char f : flags) {
    if ((f == 'i' || f == 'm') && kept.find(f) == std::string::npos) {
      kept.push_back(f);
    }
  }
  regex::RegexOptions options;
  options.max_mem = max_mem > 0 ? max_mem : (8 << 20);
  absl::StatusOr<std::shared_ptr<const re2::RE2>> re =
      regex::CompileEcmaRegex(pattern, kept, options);
  if (!re.ok()) {
    return retrace::Annotate(
        re.status(), absl::StrCat("regular expression at position ", position));
  }
  auto program = std::make_shared<RegexProgram>();
  program->re = *std::move(re);
  program->source = std::string(pattern);
  return std::shared_ptr<const RegexProgram>(std::move(program));
}

}  // namespace retrace::expr::internal

namespace retrace::expr {

const std::vector<std::string>& AllFunctionNames() {
  return internal::GetRegistry().names;
}

std::vector<std::string> DefaultAllowedFunctions() {
  std::vector<std::string> out;
  for (const std::string& n : AllFunctionNames()) {
    if (n != "random" && n != "shuffle") out.push_back(n);
  }
  return out;
}

}  // namespace retrace::expr
