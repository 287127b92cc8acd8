#include "expr/value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status.h"
#include "rapidjson/reader.h"

namespace retrace::expr {

const Value* ObjectCell::Find(absl::string_view key) const {
  if (!index_.empty()) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries[it->second].second;
  }
  for (const auto& e : entries) {
    if (e.first == key) return &e.second;
  }
  return nullptr;
}

void ObjectCell::Set(absl::string_view key, Value value) {
  if (!index_.empty()) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      entries[it->second].second = std::move(value);
      return;
    }
    index_.emplace(std::string(key), entries.size());
    entries.emplace_back(std::string(key), std::move(value));
    return;
  }
  for (auto& e : entries) {
    if (e.first == key) {
      e.second = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::string(key), std::move(value));
  if (entries.size() > kIndexThreshold) {
    index_.reserve(entries.size() * 2);
    for (uint32_t i = 0; i < entries.size(); ++i) {
      index_.emplace(entries[i].first, i);
    }
  }
}

void ObjectCell::Erase(absl::string_view key) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].first == key) {
      entries.erase(entries.begin() + i);
      if (!index_.empty()) {
        index_.clear();
        for (uint32_t j = 0; j < entries.size(); ++j) {
          index_.emplace(entries[j].first, j);
        }
      }
      return;
    }
  }
}

namespace {
struct DestroyState {
  bool destroying = false;
  std::vector<HeapCell*> pending;
};
}  // namespace

void Value::Destroy(HeapCell* cell) {
  static thread_local DestroyState state
      __attribute__((tls_model("initial-exec")));
  if (state.destroying) {
    state.pending.push_back(cell);  // the outer call deletes it
    return;
  }
  state.destroying = true;
  delete cell;  // may queue more cells
  while (!state.pending.empty()) {
    HeapCell* c = state.pending.back();
    state.pending.pop_back();
    delete c;
  }
  state.destroying = false;
}

ArrayCell* Value::MutableArray() {
  if (RefCount() > 1) {
    auto* copy = new ArrayCell();
    const ArrayCell& old = array();
    copy->items = old.items;
    copy->sequence = old.sequence;
    copy->keep_singleton = old.keep_singleton;
    copy->cons = old.cons;
    copy->outer_wrapper = old.outer_wrapper;
    copy->tuple_stream = old.tuple_stream;
    *this = FromArray(copy);
  }
  return static_cast<ArrayCell*>(cell_);
}

ObjectCell* Value::MutableObject() {
  if (RefCount() > 1) {
    auto* copy = new ObjectCell();
    for (const auto& e : object().entries) copy->Set(e.first, e.second);
    *this = FromObject(copy);
  }
  return static_cast<ObjectCell*>(cell_);
}

bool DeepEqual(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kUndefined:
      return false;
    case Value::Type::kNull:
      return true;
    case Value::Type::kBoolean:
      return a.boolean() == b.boolean();
    case Value::Type::kNumber:
      return a.number() == b.number();
    case Value::Type::kString:
      return a.str() == b.str();
    case Value::Type::kArray: {
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!DeepEqual(x[i], y[i])) return false;
      }
      return true;
    }
    case Value::Type::kObject: {
      const auto& x = a.object();
      const auto& y = b.object();
      if (x.size() != y.size()) return false;
      for (const auto& e : x.entries) {
        const Value* other = y.Find(e.first);
        if (other == nullptr || !DeepEqual(e.second, *other)) return false;
      }
      return true;
    }
    case Value::Type::kFunction:
      return a.SameCell(b);
  }
  return false;
}

bool NestingExceeds(const Value& v, int limit) {
  if (!v.IsArray() && !v.IsObject()) return false;
  if (limit <= 0) return true;
  if (v.IsArray()) {
    for (const Value& x : v.items()) {
      if (NestingExceeds(x, limit - 1)) return true;
    }
  } else {
    for (const auto& e : v.object().entries) {
      if (NestingExceeds(e.second, limit - 1)) return true;
    }
  }
  return false;
}

namespace {

// RapidJSON SAX handler that builds Values on a stack.
class Builder {
 public:
  bool Null() { return Add(Value::Null()); }
  bool Bool(bool b) { return Add(Value::Bool(b)); }
  bool Int(int i) { return Add(Value::Number(i)); }
  bool Uint(unsigned u) { return Add(Value::Number(u)); }
  bool Int64(int64_t i) { return Add(Value::Number(static_cast<double>(i))); }
  bool Uint64(uint64_t u) { return Add(Value::Number(static_cast<double>(u))); }
  bool Double(double d) { return Add(Value::Number(d)); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
  // Nesting is limited by json::Handler (kMaxValueNesting).
  bool String(const char* s, rapidjson::SizeType len, bool) {
    return Add(Value::String(std::string(s, len)));
  }
  bool StartObject() {
    stack_.push_back(Frame{Value::Object(), {}});
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    stack_.back().key.assign(s, len);
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return Pop(); }
  bool StartArray() {
    stack_.push_back(Frame{Value::Array(), {}});
    return true;
  }
  bool EndArray(rapidjson::SizeType) { return Pop(); }

  Value result;

 private:
  struct Frame {
    Value container;
    std::string key;
  };
  bool Add(Value v) {
    if (stack_.empty()) {
      result = std::move(v);
      return true;
    }
    Frame& top = stack_.back();
    if (top.container.IsArray()) {
      top.container.MutableArray()->items.push_back(std::move(v));
    } else {
      top.container.MutableObject()->Set(top.key, std::move(v));
    }
    return true;
  }
  bool Pop() {
    Value v = std::move(stack_.back().container);
    stack_.pop_back();
    return Add(std::move(v));
  }
  std::vector<Frame> stack_;
};

}  // namespace

namespace {

int Hex4(absl::string_view s, size_t at) {
  if (at + 4 > s.size()) return -1;
  int v = 0;
  for (size_t k = at; k < at + 4; ++k) {
    char h = s[k];
    v <<= 4;
    if (h >= '0' && h <= '9') {
      v |= h - '0';
    } else if (h >= 'a' && h <= 'f') {
      v |= h - 'a' + 10;
    } else if (h >= 'A' && h <= 'F') {
      v |= h - 'A' + 10;
    } else {
      return -1;
    }
  }
  return v;
}

// Rewrites escapes of lone UTF-16 surrogates ("\ud800" without its pair),
// which JavaScript strings allow but UTF-8 cannot carry, into their WTF-8
// bytes, so such text still parses; functions that need well-formed text
// (e.g. $encodeUrl) reject them as jsonata-js does.
std::string EncodeLoneSurrogates(absl::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] != '\\' || i + 1 >= json.size()) {
      out.push_back(json[i]);
      continue;
    }
    if (json[i + 1] != 'u') {
      out.push_back(json[i]);
      out.push_back(json[++i]);
      continue;
    }
    int cp = Hex4(json, i + 2);
    bool high = cp >= 0xD800 && cp <= 0xDBFF;
    bool low = cp >= 0xDC00 && cp <= 0xDFFF;
    if (high && i + 11 < json.size() && json[i + 6] == '\\' &&
        json[i + 7] == 'u') {
      int next = Hex4(json, i + 8);
      if (next >= 0xDC00 && next <= 0xDFFF) {  // a proper pair: keep
        out.append(json.data() + i, 12);
        i += 11;
        continue;
      }
    }
    if (high || low) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      i += 5;
      continue;
    }
    out.push_back(json[i]);
  }
  return out;
}

}  // namespace

absl::StatusOr<Value> ParseJson(absl::string_view json) {
  absl::StatusOr<Value> v = ParseJsonStrict(json);
  if (!v.ok() && json.find("\\u") != absl::string_view::npos) {
    std::string rewritten = EncodeLoneSurrogates(json);
    if (rewritten != json) {
      absl::StatusOr<Value> again = ParseJsonStrict(rewritten);
      if (again.ok()) return again;
    }
  }
  return v;
}

absl::StatusOr<Value> ParseJsonStrict(absl::string_view json) {
  Builder builder;
  // JavaScript strings may hold lone surrogates: kept as WTF-8.
  json::Handler<Builder> handler(&builder, json::Utf8::kAllowEscapedSurrogates,
                                 kMaxValueNesting);
  rapidjson::Reader reader;
  rapidjson::MemoryStream ms(json.data(), json.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(
      ms);
  rapidjson::ParseResult ok =
      reader.Parse<json::kParseFlags | rapidjson::kParseStopWhenDoneFlag |
                   rapidjson::kParseIterativeFlag>(is, handler);
  if (!ok) {
    return retrace::Error(
        absl::StatusCode::kInvalidArgument, "EXPR_JSON_PARSE",
        absl::StrCat("invalid JSON at offset ", ok.Offset(), ": ",
                     json::ErrorMessage(ok, handler.error())));
  }
  // Only whitespace may follow the document.
  for (size_t i = is.Tell(); i < json.size(); ++i) {
    char c = json[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      return retrace::Error(absl::StatusCode::kInvalidArgument,
                            "EXPR_JSON_PARSE",
                            absl::StrCat("invalid JSON at offset ", i,
                                         ": text after the document"));
    }
  }
  return std::move(builder.result);
}

std::string FormatNumber(double d, int precision) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  char buf[40];
  if (d == std::floor(d) && std::fabs(d) < 1e15) {
    return std::to_string(static_cast<int64_t>(d));
  }
  if (precision > 0) {
    // Rounded to `precision` digits, the shortest form is these digits
    // without trailing zeros.
    std::snprintf(buf, sizeof(buf), "%.*e", precision - 1, d);
  } else {
    // Shortest representation that round-trips: rounding to 15 significant
    // digits and dropping trailing zeros finds it whenever 15 or fewer
    // digits suffice; otherwise 16 or 17 do.
    for (int digits_wanted = 15; digits_wanted <= 17; ++digits_wanted) {
      std::snprintf(buf, sizeof(buf), "%.*e", digits_wanted - 1, d);
      if (std::strtod(buf, nullptr) == d) break;
    }
  }
  // buf looks like "-d.ddde+XX".
  std::string s(buf);
  bool negative = s[0] == '-';
  if (negative) s.erase(0, 1);
  size_t e = s.find('e');
  int exponent = std::atoi(s.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i) {
    if (s[i] != '.') digits.push_back(s[i]);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int k = digits.size();
  int n = exponent + 1;  // position of the decimal point
  std::string out = negative ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits;
    out.append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n);
    out += '.';
    out += digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(-n, '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += (n - 1 >= 0) ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

namespace {

void WriteString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void Indent(const JsonWriteOptions& o, int depth, std::string* out) {
  if (!o.pretty) return;
  out->push_back('\n');
  out->append(depth * 2, ' ');
}

void Write(const Value& v, const JsonWriteOptions& o, int depth,
           std::string* out) {
  switch (v.type()) {
    case Value::Type::kUndefined:
    case Value::Type::kNull:
      out->append("null");
      return;
    case Value::Type::kBoolean:
      out->append(v.boolean() ? "true" : "false");
      return;
    case Value::Type::kNumber: {
      double d = v.number();
      if (!std::isfinite(d)) {
        out->append("null");
      } else {
        // Integers are exact up to 2^53 and keep all their digits.
        bool integral = d == std::floor(d) && std::fabs(d) < 9007199254740992.0;
        out->append(FormatNumber(d, o.fifteen_digits && !integral ? 15 : 0));
      }
      return;
    }
    case Value::Type::kString:
      WriteString(v.str(), out);
      return;
    case Value::Type::kFunction:
      out->append("\"\"");
      return;
    case Value::Type::kArray: {
      const auto& items = v.items();
      out->push_back('[');
      if (items.empty()) {
        out->push_back(']');
        return;
      }
      bool first = true;
      for (const Value& item : items) {
        if (!first) out->push_back(',');
        first = false;
        Indent(o, depth + 1, out);
        Write(item, o, depth + 1, out);
      }
      Indent(o, depth, out);
      out->push_back(']');
      return;
    }
    case Value::Type::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& e : v.object().entries) {
        if (e.second.IsUndefined()) continue;
        if (!first) out->push_back(',');
        first = false;
        Indent(o, depth + 1, out);
        WriteString(e.first, out);
        out->push_back(':');
        if (o.pretty) out->push_back(' ');
        Write(e.second, o, depth + 1, out);
      }
      if (!first) Indent(o, depth, out);
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

std::string ToJson(const Value& value, const JsonWriteOptions& options) {
  std::string out;
  if (value.IsUndefined()) return out;
  Write(value, options, 0, &out);
  return out;
}

absl::string_view TypeName(const Value& v) {
  switch (v.type()) {
    case Value::Type::kUndefined:
      return "undefined";
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBoolean:
      return "boolean";
    case Value::Type::kNumber:
      return "number";
    case Value::Type::kString:
      return "string";
    case Value::Type::kArray:
      return "array";
    case Value::Type::kObject:
      return "object";
    case Value::Type::kFunction:
      return "function";
  }
  return "undefined";
}

}  // namespace retrace::expr
