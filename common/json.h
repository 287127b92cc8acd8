// Reading outside JSON with RapidJSON, with two repairs. Every parser of
// JSON that comes from users goes through here: expr::ParseJson (payloads,
// inputs, NDJSON events), workflow definitions and history files.
//
//   1. Numbers. RapidJSON 1.1's (Debian's rapidjson-dev) full-precision
//      conversion (kParseFullPrecisionFlag) gives garbage for some numbers:
//      all-zero digits on its slow path ("0e51", "0.0e-30": GCC builds read
//      0e51 as -2.48e-265, clang builds as 3.38e+125) and significands
//      starting 18446744073709551615 then a digit of 5 or more
//      ("184467440737095516159" reads as -2.0e264), both through undefined
//      __builtin_clzll(0) in DiyFp::Normalize(). Here numbers reach the
//      handler as text (kParseNumbersAsStringsFlag) and are converted with
//      absl::SimpleAtoi / SimpleAtod (absl::from_chars, correctly rounded),
//      choosing Int, Uint, Int64, Uint64 or Double as RapidJSON does.
//   2. Strings, with Utf8::kRequire. kParseValidateEncodingFlag rejects
//      invalid UTF-8 bytes but not escapes that decode to it: a lone
//      surrogate "\udc00" becomes the three bytes of a WTF-8 surrogate.
//      Strings and keys that are not valid UTF-8 end the parse, and
//      error() says why. Text bound for protobuf `string` fields needs
//      this: protobuf refuses to parse such fields back.
// And one limit: objects and arrays nest at most max_depth deep (default
// kMaxDepth), so that recursive walks over the result stay shallow.
//
//   json::Handler<Builder> handler(&builder, json::Utf8::kRequire);
//   rapidjson::Reader reader;
//   rapidjson::ParseResult r =
//       reader.Parse<json::kParseFlags | rapidjson::kParseIterativeFlag>(
//           stream, handler);
//   if (!r) ... json::ErrorMessage(r, handler.error()) ...
//
//   rapidjson::Document doc;
//   rapidjson::ParseResult r = json::Parse(text, json::Utf8::kRequire, &doc);
//
// Thread safety: a Handler serves one parse at a time; the functions are
// thread-safe.
#ifndef RETRACE_COMMON_JSON_H_
#define RETRACE_COMMON_JSON_H_

#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "common/utf8.h"
#include "rapidjson/document.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"

namespace retrace::json {

enum class Utf8 {
  // Strings may hold anything the escapes produce (JSONata's strings are
  // JavaScript's: expr::ParseJson keeps lone surrogates as WTF-8).
  kAllowEscapedSurrogates,
  // Every string and key must be valid UTF-8 once unescaped.
  kRequire,
};

// Deepest nesting of objects and arrays a Handler accepts by default, as
// expr::kMaxValueNesting.
inline constexpr int kMaxDepth = 1000;

// The flags a Handler needs; add others (kParseIterativeFlag, ...) to them.
// kParseValidateEncodingFlag is the caller's choice; with it, read from a
// MemoryStream (bounded), not a NUL-terminated StringStream: RapidJSON's
// validation takes all bytes of a multi-byte sequence, past the NUL when the
// text ends inside one.
inline constexpr unsigned kParseFlags = rapidjson::kParseNumbersAsStringsFlag;

// Sends the number text `s` (JSON syntax, as RapidJSON checked it) to
// `handler` as RapidJSON would without kParseNumbersAsStringsFlag: integers
// as Uint / Int when they fit 32 bits, else Uint64 / Int64 when they fit 64,
// everything else as a correctly rounded Double. Returns the handler's result.
template <typename H>
bool SendNumber(absl::string_view s, H& handler) {
  if (s.find_first_of(".eE") == absl::string_view::npos) {
    if (s[0] == '-') {
      int64_t i;
      if (absl::SimpleAtoi(s, &i)) {
        return i >= INT32_MIN ? handler.Int(static_cast<int>(i))
                              : handler.Int64(i);
      }
    } else {
      uint64_t u;
      if (absl::SimpleAtoi(s, &u)) {
        return u <= UINT32_MAX ? handler.Uint(static_cast<unsigned>(u))
                               : handler.Uint64(u);
      }
    }
  }
  double d;
  if (!absl::SimpleAtod(s, &d)) return false;  // not after RapidJSON's check
  return handler.Double(d);
}

// A RapidJSON SAX handler that passes every event on to `Next` (another
// handler, or a rapidjson::Document), repairing numbers and checking strings
// as described above. REQUIRES: the parse uses kParseFlags.
template <typename Next>
class Handler {
 public:
  // `next` must outlive the handler.
  Handler(Next* next, Utf8 utf8, int max_depth = kMaxDepth)
      : next_(next), utf8_(utf8), max_depth_(max_depth) {}

  bool Null() { return next_->Null(); }
  bool Bool(bool b) { return next_->Bool(b); }
  bool Int(int i) { return next_->Int(i); }
  bool Uint(unsigned u) { return next_->Uint(u); }
  bool Int64(int64_t i) { return next_->Int64(i); }
  bool Uint64(uint64_t u) { return next_->Uint64(u); }
  bool Double(double d) { return next_->Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    return SendNumber(absl::string_view(s, n), *next_);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return Check(s, n) && next_->String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return Check(s, n) && next_->Key(s, n, copy);
  }
  bool StartObject() { return Enter() && next_->StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return next_->EndObject(members);
  }
  bool StartArray() { return Enter() && next_->StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return next_->EndArray(elements);
  }

  // Why this handler ended the parse; "" when it did not (the error, if
  // any, came from the reader or from `Next`).
  const std::string& error() const { return error_; }

 private:
  bool Check(const char* s, rapidjson::SizeType n) {
    if (utf8_ == Utf8::kRequire &&
        !retrace::IsValidUtf8(absl::string_view(s, n))) {
      error_ = "a string is not valid UTF-8 (a lone surrogate escape?)";
      return false;
    }
    return true;
  }
  bool Enter() {
    if (++depth_ > max_depth_) {
      error_ =
          "objects and arrays nest deeper than " + std::to_string(max_depth_);
      return false;
    }
    return true;
  }

  Next* next_;
  Utf8 utf8_;
  int max_depth_;
  int depth_ = 0;
  std::string error_;
};

// RapidJSON's message for a failed parse, or the handler's reason when it
// ended the parse.
std::string ErrorMessage(const rapidjson::ParseResult& result,
                         absl::string_view handler_error);

// Parses `text` into `doc` through a Handler (default depth limit), with
// kParseFlags, kParseValidateEncodingFlag and kParseIterativeFlag (so deep
// nesting cannot overflow the stack). The document may be modified even when
// the parse fails. On failure, `*error` (when not null) receives
// ErrorMessage().
rapidjson::ParseResult Parse(absl::string_view text, Utf8 utf8,
                             rapidjson::Document* doc,
                             std::string* error = nullptr);

}  // namespace retrace::json

#endif  // RETRACE_COMMON_JSON_H_
