#include "projection/log_details.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "expr/value.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "history/events.h"
#include "history/history_file.h"
#include "projection/internal/timestamps.h"
#include "projection/masking.h"
#include "rapidjson/reader.h"
#include "rapidjson/writer.h"

namespace retrace::projection {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using history::HistoryEvent;
using history::Payload;

// Deeper payloads take the reference path (expr::ParseJson refuses documents
// nested deeper than expr::kMaxValueNesting; the event itself adds a few
// levels).
constexpr int kMaxDepth = expr::kMaxValueNesting - 16;

// A JSON string as expr::ToJson writes it.
void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
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
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out->append(buf);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

// A string value after masking (MaskText, or "***" under a secret key).
void AppendMasked(absl::string_view s, bool secret, std::string* out) {
  if (secret || LooksLikeCredential(s)) {
    out->append("\"***\"");
  } else if (s.find('@') == absl::string_view::npos) {
    AppendJsonString(s, out);
  } else {
    AppendJsonString(MaskText(s), out);
  }
}

// A number as expr::ToJson writes it (numbers are doubles there).
void AppendNumber(double d, bool secret, std::string* out) {
  if (secret) {
    out->append("\"***\"");
  } else if (d == std::floor(d) && std::fabs(d) < 1e15) {
    absl::StrAppend(out, static_cast<int64_t>(d));
  } else {
    out->append(expr::FormatNumber(d));
  }
}

bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += len;
  }
  return true;
}

// How one message type is written, worked out once per type: its fields in
// field-number order (the order protobuf's printer writes them) with their
// JSON keys, whether the key names a secret (none does today; computed, so
// that a new field cannot slip through) and the type's reflection.
struct FieldPlan {
  const FieldDescriptor* field;
  std::string key;  // "jsonName":
  bool secret;
  int oneof;  // index of the real oneof it belongs to, or -1
};
struct MessagePlan {
  enum class Kind { kMessage, kPayload, kTimestamp, kUnsupported };
  Kind kind = Kind::kMessage;
  const Reflection* reflection = nullptr;
  std::vector<FieldPlan> fields;
  std::vector<const google::protobuf::OneofDescriptor*> oneofs;
};

const absl::flat_hash_map<const Descriptor*, MessagePlan>& Plans() {
  static const auto* plans = [] {
    auto* map = new absl::flat_hash_map<const Descriptor*, MessagePlan>();
    std::vector<const Descriptor*> todo = {HistoryEvent::descriptor()};
    while (!todo.empty()) {
      const Descriptor* d = todo.back();
      todo.pop_back();
      if (map->contains(d)) continue;
      MessagePlan& plan = (*map)[d];
      plan.reflection = google::protobuf::MessageFactory::generated_factory()
                            ->GetPrototype(d)
                            ->GetReflection();
      if (d == Payload::descriptor()) {
        plan.kind = MessagePlan::Kind::kPayload;
        continue;
      }
      if (d == google::protobuf::Timestamp::descriptor()) {
        plan.kind = MessagePlan::Kind::kTimestamp;
        continue;
      }
      if (d->file()->package() == "google.protobuf") {
        plan.kind = MessagePlan::Kind::kUnsupported;
        continue;
      }
      for (int i = 0; i < d->field_count(); ++i) {
        const FieldDescriptor* f = d->field(i);
        FieldPlan fp{f, "", IsSecretKey(f->json_name()), -1};
        AppendJsonString(f->json_name(), &fp.key);
        fp.key.push_back(':');
        if (const auto* oneof = f->real_containing_oneof()) {
          auto it = std::find(plan.oneofs.begin(), plan.oneofs.end(), oneof);
          fp.oneof = static_cast<int>(it - plan.oneofs.begin());
          if (it == plan.oneofs.end()) plan.oneofs.push_back(oneof);
        }
        plan.fields.push_back(std::move(fp));
        if (f->message_type() != nullptr) todo.push_back(f->message_type());
      }
      std::sort(plan.fields.begin(), plan.fields.end(),
                [](const FieldPlan& a, const FieldPlan& b) {
                  return a.field->number() < b.field->number();
                });
    }
    return map;
  }();
  return *plans;
}

// An output stream for rapidjson::Writer that compares what is written with
// `expected` instead of keeping it: the payload shorthand applies only when
// the payload's data is exactly its compact form.
class CompareStream {
 public:
  using Ch = char;
  explicit CompareStream(absl::string_view expected) : expected_(expected) {}
  void Put(char c) {
    if (pos_ < expected_.size() && expected_[pos_] == c) {
      ++pos_;
    } else {
      differs_ = true;
    }
  }
  void Flush() {}
  bool differs() const { return differs_; }
  bool complete() const { return !differs_ && pos_ == expected_.size(); }

 private:
  absl::string_view expected_;
  size_t pos_ = 0;
  bool differs_ = false;
};

// SAX handler over a JSON payload: writes its compact RapidJSON form into a
// CompareStream and, at the same time, the masked document as expr::ToJson
// writes it.
class PayloadHandler {
 public:
  PayloadHandler(absl::string_view data, bool secret, int depth,
                 std::string* out)
      : compare_(data),
        compact_(compare_),
        out_(out),
        root_secret_(secret),
        base_depth_(depth) {}

  bool Null() {
    if (!compact_.Null()) return false;
    Value();
    out_->append("null");
    return Check();
  }
  bool Bool(bool b) {
    if (!compact_.Bool(b)) return false;
    const bool secret = Value();
    out_->append(secret ? "\"***\"" : b ? "true" : "false");
    return Check();
  }
  bool Int(int i) {
    if (!compact_.Int(i)) return false;
    AppendNumber(i, Value(), out_);
    return Check();
  }
  bool Uint(unsigned u) {
    if (!compact_.Uint(u)) return false;
    AppendNumber(u, Value(), out_);
    return Check();
  }
  bool Int64(int64_t i) {
    if (!compact_.Int64(i)) return false;
    AppendNumber(static_cast<double>(i), Value(), out_);
    return Check();
  }
  bool Uint64(uint64_t u) {
    if (!compact_.Uint64(u)) return false;
    AppendNumber(static_cast<double>(u), Value(), out_);
    return Check();
  }
  bool Double(double d) {
    if (!compact_.Double(d)) return false;
    AppendNumber(d, Value(), out_);
    return Check();
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    if (!compact_.String(s, n, copy)) return false;
    AppendMasked(absl::string_view(s, n), Value(), out_);
    return Check();
  }
  bool StartObject() {
    if (!compact_.StartObject()) return false;
    const bool secret = Value();
    out_->push_back('{');
    stack_.push_back(Frame{true, secret});
    return Deep() && Check();
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    if (!compact_.Key(s, n, copy)) return false;
    Frame& f = stack_.back();
    const absl::string_view key(s, n);
    // expr objects keep one entry per key: a repeated key takes the
    // reference path rather than being reproduced here.
    for (const std::string& k : f.keys) {
      if (k == key) {
        unsupported_ = true;
        return false;
      }
    }
    f.keys.emplace_back(key);
    if (!f.first) out_->push_back(',');
    f.first = false;
    AppendJsonString(key, out_);
    out_->push_back(':');
    f.member_secret = f.secret || IsSecretKey(key);
    return Check();
  }
  bool EndObject(rapidjson::SizeType) {
    if (!compact_.EndObject()) return false;
    stack_.pop_back();
    out_->push_back('}');
    return Check();
  }
  bool StartArray() {
    if (!compact_.StartArray()) return false;
    const bool secret = Value();
    out_->push_back('[');
    stack_.push_back(Frame{false, secret});
    return Deep() && Check();
  }
  bool EndArray(rapidjson::SizeType) {
    if (!compact_.EndArray()) return false;
    stack_.pop_back();
    out_->push_back(']');
    return Check();
  }

  bool unsupported() const { return unsupported_; }
  bool shorthand() const { return compare_.complete(); }

 private:
  struct Frame {
    bool object;
    bool secret;
    bool first = true;
    bool member_secret = false;
    std::vector<std::string> keys;
  };

  // Before a value: the separator inside arrays; whether it is secret.
  bool Value() {
    if (stack_.empty()) return root_secret_;
    Frame& f = stack_.back();
    if (f.object) return f.member_secret;
    if (!f.first) out_->push_back(',');
    f.first = false;
    return f.secret;
  }
  bool Deep() {
    if (base_depth_ + static_cast<int>(stack_.size()) > kMaxDepth) {
      unsupported_ = true;
      return false;
    }
    return true;
  }
  // Stops the parse as soon as the compact form differs from the data.
  bool Check() const { return !compare_.differs(); }

  CompareStream compare_;
  rapidjson::Writer<CompareStream> compact_;
  std::string* out_;
  bool root_secret_;
  int base_depth_;
  bool unsupported_ = false;
  std::vector<Frame> stack_;
};

class DetailsWriter {
 public:
  explicit DetailsWriter(std::string* out) : out_(out) {}

  // False when the event has a shape left to the reference path.
  bool Event(const HistoryEvent& e) {
    return WriteMessage(e, HistoryEvent::descriptor(), false, 1);
  }

 private:
  bool WriteMessage(const Message& m, const Descriptor* d, bool secret,
                    int depth) {
    auto plan_it = Plans().find(d);
    if (plan_it == Plans().end()) return false;
    const MessagePlan& plan = plan_it->second;
    switch (plan.kind) {
      case MessagePlan::Kind::kPayload:
        return WritePayload(static_cast<const Payload&>(m), secret, depth);
      case MessagePlan::Kind::kTimestamp: {
        const auto& ts = static_cast<const google::protobuf::Timestamp&>(m);
        std::string text;
        if (!internal::AppendProtoJsonTimestamp(ts.seconds(), ts.nanos(),
                                                &text)) {
          return false;
        }
        AppendMasked(text, secret, out_);
        return true;
      }
      case MessagePlan::Kind::kUnsupported:
        return false;
      case MessagePlan::Kind::kMessage:
        break;
    }
    const Reflection* r = plan.reflection;
    // The set member of each oneof, looked up once.
    const FieldDescriptor* active[4] = {nullptr, nullptr, nullptr, nullptr};
    if (plan.oneofs.size() > 4) return false;
    for (size_t i = 0; i < plan.oneofs.size(); ++i) {
      active[i] = r->GetOneofFieldDescriptor(m, plan.oneofs[i]);
    }
    out_->push_back('{');
    bool first = true;
    // The fields protobuf's printer writes: set oneof members, non-empty
    // repeated fields, and singular fields that are present (proto3: a
    // message that is set, a scalar that is not its default).
    for (const FieldPlan& fp : plan.fields) {
      const FieldDescriptor* f = fp.field;
      if (fp.oneof >= 0) {
        if (active[fp.oneof] != f) continue;
      } else if (f->is_repeated()) {
        if (r->FieldSize(m, f) == 0) continue;
      } else if (!r->HasField(m, f)) {
        continue;
      }
      if (!first) out_->push_back(',');
      first = false;
      out_->append(fp.key);
      const bool field_secret = secret || fp.secret;
      if (f->is_map()) {
        return false;  // only Payload.metadata, written by WritePayload
      }
      if (f->is_repeated()) {
        out_->push_back('[');
        const int n = r->FieldSize(m, f);
        for (int i = 0; i < n; ++i) {
          if (i > 0) out_->push_back(',');
          if (!WriteField(m, r, f, i, field_secret, depth + 1)) return false;
        }
        out_->push_back(']');
      } else if (!WriteField(m, r, f, -1, field_secret, depth)) {
        return false;
      }
    }
    out_->push_back('}');
    return true;
  }

  // One value of `f` (element `index` of a repeated field, -1 otherwise).
  bool WriteField(const Message& m, const Reflection* r,
                  const FieldDescriptor* f, int index, bool secret, int depth) {
    const bool rep = index >= 0;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        AppendNumber(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f),
                     secret, out_);
        return true;
      case FieldDescriptor::CPPTYPE_UINT32:
        AppendNumber(
            rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f),
            secret, out_);
        return true;
      case FieldDescriptor::CPPTYPE_INT64:  // 64-bit integers are strings
        AppendMasked(absl::StrCat(rep ? r->GetRepeatedInt64(m, f, index)
                                      : r->GetInt64(m, f)),
                     secret, out_);
        return true;
      case FieldDescriptor::CPPTYPE_UINT64:
        AppendMasked(absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, index)
                                      : r->GetUInt64(m, f)),
                     secret, out_);
        return true;
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        // Printed by protobuf in a form that parses back to the same double.
        const double v =
            rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
        if (!std::isfinite(v)) return false;
        AppendNumber(v, secret, out_);
        return true;
      }
      case FieldDescriptor::CPPTYPE_FLOAT:
        return false;  // printed as a float, parsed back as a double
      case FieldDescriptor::CPPTYPE_BOOL: {
        const bool v = rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f);
        out_->append(secret ? "\"***\"" : v ? "true" : "false");
        return true;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const int v =
            rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
        const auto* value = f->enum_type()->FindValueByNumber(v);
        if (value == nullptr) return false;  // printed as a number
        AppendMasked(value->name(), secret, out_);
        return true;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        const std::string& v =
            rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                : r->GetStringReference(m, f, &scratch);
        if (f->type() == FieldDescriptor::TYPE_BYTES) {
          AppendMasked(absl::Base64Escape(v), secret, out_);
          return true;
        }
        if (!ValidUtf8(v)) return false;
        AppendMasked(v, secret, out_);
        return true;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return WriteMessage(
            rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f),
            f->message_type(), secret, depth + 1);
    }
    return false;
  }

  // A Payload as history files show it: JSON data (exactly in its compact
  // form) inline under "json", anything else base64 under "data".
  bool WritePayload(const Payload& p, bool secret, int depth) {
    out_->push_back('{');
    bool first = true;
    if (!p.metadata().empty()) {
      out_->append("\"metadata\":{");
      std::vector<std::pair<absl::string_view, absl::string_view>> entries;
      entries.reserve(p.metadata().size());
      for (const auto& [key, value] : p.metadata()) {
        entries.emplace_back(key, value);
      }
      std::sort(entries.begin(), entries.end());
      bool first_entry = true;
      for (const auto& [key, value] : entries) {
        if (!ValidUtf8(key) || !ValidUtf8(value)) return false;
        if (!first_entry) out_->push_back(',');
        first_entry = false;
        AppendJsonString(key, out_);
        out_->push_back(':');
        AppendMasked(value, secret || IsSecretKey(key), out_);
      }
      out_->push_back('}');
      first = false;
    }
    if (!p.data().empty()) {
      if (!first) out_->push_back(',');
      const size_t mark = out_->size();
      if (history::IsJson(p)) {
        out_->append("\"json\":");
        PayloadHandler handler(p.data(), secret, depth + 1, out_);
        rapidjson::Reader reader;
        rapidjson::MemoryStream ms(p.data().data(), p.data().size());
        rapidjson::EncodedInputStream<rapidjson::UTF8<>,
                                      rapidjson::MemoryStream>
            is(ms);
        const bool parsed =
            reader.Parse<rapidjson::kParseFullPrecisionFlag>(is, handler);
        if (handler.unsupported()) return false;
        if (parsed && handler.shorthand()) {
          out_->push_back('}');
          return true;
        }
        out_->resize(mark);
      }
      out_->append("\"data\":");
      AppendMasked(absl::Base64Escape(p.data()), secret, out_);
    }
    out_->push_back('}');
    return true;
  }

  std::string* out_;
};

}  // namespace

bool AppendExecutionLogDetails(const HistoryEvent& event, std::string* out) {
  DetailsWriter writer(out);
  return writer.Event(event);
}

std::string ExecutionLogDetails(const HistoryEvent& event) {
  std::string out;
  out.reserve(256);
  if (AppendExecutionLogDetails(event, &out)) return out;
  return ExecutionLogDetailsReference(event);
}

std::string ExecutionLogDetailsReference(const HistoryEvent& event) {
  absl::StatusOr<std::string> json = history::EventToJson(event);
  return MaskJson(json.ok() ? *json : history::Summarize(event));
}

}  // namespace retrace::projection
