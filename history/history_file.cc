#include "history/history_file.h"

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "history/events.h"
#include "history/validation.h"
#include "rapidjson/document.h"
#include "rapidjson/encodedstream.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace retrace::history {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using JsonValue = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

absl::Status FileInvalid(absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, "HISTORY_FILE_INVALID",
               message);
}

std::string Compact(const JsonValue& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool HasJsonEncoding(const JsonValue& payload) {
  auto meta = payload.FindMember("metadata");
  if (meta == payload.MemberEnd() || !meta->value.IsObject()) return false;
  auto enc = meta->value.FindMember("encoding");
  return enc != meta->value.MemberEnd() && enc->value.IsString() &&
         absl::string_view(enc->value.GetString(),
                           enc->value.GetStringLength()) == kEncodingJson;
}

// Walks a protobuf-JSON object of message type `d` and rewrites every Payload
// in it: to the "json" shorthand (to_shorthand) or back to base64 "data".
void RewritePayloads(JsonValue& obj, const Descriptor* d, bool to_shorthand,
                     Allocator& alloc);

void RewriteField(JsonValue& value, const FieldDescriptor* f, bool to_shorthand,
                  Allocator& alloc) {
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_map()) return;
  if (f->is_repeated()) {
    if (!value.IsArray()) return;
    for (auto& element : value.GetArray()) {
      RewritePayloads(element, f->message_type(), to_shorthand, alloc);
    }
  } else {
    RewritePayloads(value, f->message_type(), to_shorthand, alloc);
  }
}

void RewritePayloads(JsonValue& obj, const Descriptor* d, bool to_shorthand,
                     Allocator& alloc) {
  if (!obj.IsObject()) return;
  if (d == Payload::descriptor()) {
    if (to_shorthand) {
      auto data = obj.FindMember("data");
      if (data == obj.MemberEnd() || !data->value.IsString() ||
          !HasJsonEncoding(obj)) {
        return;
      }
      std::string bytes;
      if (!absl::Base64Unescape(
              absl::string_view(data->value.GetString(),
                                data->value.GetStringLength()),
              &bytes)) {
        return;
      }
      rapidjson::Document parsed(&alloc);
      if (json::Parse(bytes, json::Utf8::kRequire, &parsed).IsError() ||
          Compact(parsed) != bytes) {
        return;
      }
      obj.RemoveMember("data");
      JsonValue moved;
      moved.Swap(parsed);  // parsed shares obj's allocator
      obj.AddMember("json", moved, alloc);
    } else {
      auto json = obj.FindMember("json");
      if (json == obj.MemberEnd()) return;
      std::string data = absl::Base64Escape(Compact(json->value));
      obj.RemoveMember("json");
      obj.AddMember("data", JsonValue(data.c_str(), alloc), alloc);
      if (!obj.HasMember("metadata")) {
        JsonValue meta(rapidjson::kObjectType);
        meta.AddMember("encoding",
                       JsonValue(std::string(kEncodingJson).c_str(), alloc),
                       alloc);
        obj.AddMember("metadata", meta, alloc);
      }
    }
    return;
  }
  for (auto& member : obj.GetObject()) {
    std::string name(member.name.GetString(), member.name.GetStringLength());
    const FieldDescriptor* f = d->FindFieldByCamelcaseName(name);
    if (f == nullptr) f = d->FindFieldByName(name);
    if (f != nullptr) RewriteField(member.value, f, to_shorthand, alloc);
  }
}

absl::StatusOr<std::string> EventToJsonLine(const HistoryEvent& event) {
  std::string proto_json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = false;
  auto s =
      google::protobuf::util::MessageToJsonString(event, &proto_json, print);
  if (!s.ok()) {
    return Error(absl::StatusCode::kInternal, "HISTORY_FILE_INVALID",
                 absl::StrCat("event ", event.event_id(),
                              " cannot be written as JSON: ", s.ToString()));
  }
  rapidjson::Document doc;
  if (json::Parse(proto_json, json::Utf8::kRequire, &doc).IsError()) {
    return proto_json;
  }
  RewritePayloads(doc, HistoryEvent::descriptor(), /*to_shorthand=*/true,
                  doc.GetAllocator());
  return Compact(doc);
}

int LineOf(absl::string_view contents, size_t offset) {
  int line = 1;
  for (size_t i = 0; i < offset && i < contents.size(); ++i) {
    if (contents[i] == '\n') ++line;
  }
  return line;
}

// SAX handler that finds the top-level "namespace" and "runId" strings and the
// byte range of every element of the top-level "events" array.
// The scanner reads from memory with explicit bounds: RapidJSON's UTF-8
// validation takes every byte of a multi-byte sequence, so a NUL-terminated
// StringStream let a truncated sequence at the very end read past the buffer.
using FileStream =
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream>;

struct FileScanner
    : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, FileScanner> {
  explicit FileScanner(const FileStream* stream) : stream(stream) {}

  // Scalars: only strings matter, and only at the top level.
  bool Default() {
    if (depth == 1) key.clear();
    if (depth == 2 && in_events) bad_element_offset = stream->Tell();
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (depth == 2 && in_events) bad_element_offset = stream->Tell();
    if (depth == 1) {
      if (key == "namespace") ns.assign(s, n);
      if (key == "runId" || key == "run_id") run_id.assign(s, n);
      key.clear();
    }
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (depth == 1) key.assign(s, n);
    return true;
  }
  bool StartObject() {
    if (depth == 2 && in_events) start = stream->Tell() - 1;
    ++depth;
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth;
    if (depth == 2 && in_events) {
      events.emplace_back(start, stream->Tell());
    }
    if (depth == 1) key.clear();
    return true;
  }
  bool StartArray() {
    if (depth == 1 && (key == "events")) in_events = true;
    if (depth == 2 && in_events) bad_element_offset = stream->Tell() - 1;
    ++depth;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth;
    if (depth == 1) {
      in_events = false;
      key.clear();
    }
    return true;
  }

  const FileStream* stream;
  int depth = 0;
  std::string key;
  bool in_events = false;
  size_t start = 0;
  size_t bad_element_offset = std::string::npos;
  std::string ns;
  std::string run_id;
  std::vector<std::pair<size_t, size_t>> events;
};

// The first field of `m` (or of a message inside it) that this version does
// not know, as "retrace.history.StepScheduledAttributes field 6"; "" when
// there is none. A known field number with the wrong wire type lands among
// the unknown fields too.
std::string FirstUnknownField(const google::protobuf::Message& m) {
  const google::protobuf::Reflection* r = m.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = r->GetUnknownFields(m);
  if (!unknown.empty()) {
    return absl::StrCat(m.GetDescriptor()->full_name(), " field ",
                        unknown.field(0).number());
  }
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      std::string found =
          FirstUnknownField(f->is_repeated() ? r->GetRepeatedMessage(m, f, i)
                                             : r->GetMessage(m, f));
      if (!found.empty()) return found;
    }
  }
  return "";
}

absl::Status ValidateHeader(const History& history) {
  RETURN_IF_ERROR(ValidateIdentifier("namespace", history.namespace_()));
  return ValidateIdentifier("run id", history.run_id());
}

absl::StatusOr<History> ParseJson(absl::string_view contents,
                                  const HistoryFileOptions& options) {
  rapidjson::MemoryStream memory(contents.data(), contents.size());
  FileStream stream(memory);
  FileScanner scanner(&stream);
  // Strings must be UTF-8 (as bytes and once unescaped): they become
  // protobuf string fields, which cannot be written or read back otherwise.
  // The parse is recursive, bounded by the handler's depth limit: the
  // iterative parser calls EndObject before it consumes the '}', and the
  // scanner's offsets need it consumed.
  json::Handler<FileScanner> handler(&scanner, json::Utf8::kRequire);
  rapidjson::Reader reader;
  rapidjson::ParseResult ok =
      reader.Parse<json::kParseFlags | rapidjson::kParseValidateEncodingFlag>(
          stream, handler);
  if (!ok) {
    return FileInvalid(absl::StrCat(
        "line ", LineOf(contents, ok.Offset()),
        ": invalid JSON: ", json::ErrorMessage(ok, handler.error())));
  }
  if (scanner.bad_element_offset != std::string::npos) {
    return FileInvalid(
        absl::StrCat("line ", LineOf(contents, scanner.bad_element_offset),
                     ": every element of \"events\" must be an event object"));
  }
  History history;
  history.set_namespace_(scanner.ns);
  history.set_run_id(scanner.run_id);
  if (absl::Status header = ValidateHeader(history); !header.ok()) {
    return Annotate(header, "line 1");
  }
  HistoryValidator validator(NewRunInfo(history.namespace_(), history.run_id()),
                             options.max_payload_bytes);
  google::protobuf::util::JsonParseOptions parse_options;
  for (const auto& [begin, end] : scanner.events) {
    const int line = LineOf(contents, begin);
    rapidjson::Document doc;
    if (json::Parse(contents.substr(begin, end - begin), json::Utf8::kRequire,
                    &doc)
            .IsError() ||
        !doc.IsObject()) {
      return FileInvalid(
          absl::StrCat("line ", line, ": event is not an object"));
    }
    RewritePayloads(doc, HistoryEvent::descriptor(), /*to_shorthand=*/false,
                    doc.GetAllocator());
    HistoryEvent* event = history.add_events();
    auto s = google::protobuf::util::JsonStringToMessage(Compact(doc), event,
                                                         parse_options);
    if (!s.ok()) {
      return FileInvalid(absl::StrCat("line ", line, ": event ",
                                      history.events_size(), ": ",
                                      s.message().ToString()));
    }
    RETURN_IF_ERROR(
        Annotate(validator.Add(*event), absl::StrCat("line ", line)));
  }
  if (history.events_size() == 0) {
    return FileInvalid(
        "the file has no events (an \"events\" array is required)");
  }
  return history;
}

absl::StatusOr<History> ParseBinary(absl::string_view contents,
                                    const HistoryFileOptions& options) {
  contents.remove_prefix(kBinaryMagic.size());
  google::protobuf::io::ArrayInputStream array(
      contents.data(), static_cast<int>(contents.size()));
  google::protobuf::io::CodedInputStream in(&array);
  in.SetTotalBytesLimit(INT32_MAX);
  History history;
  std::unique_ptr<HistoryValidator> validator;
  std::string record;
  for (int index = 0;; ++index) {
    const int64_t offset = kBinaryMagic.size() + in.CurrentPosition();
    const std::string where =
        absl::StrCat("record ", index, " at byte ", offset);
    if (in.CurrentPosition() >= static_cast<int>(contents.size())) break;
    uint32_t size = 0;
    if (!in.ReadVarint32(&size)) {
      return FileInvalid(absl::StrCat(where, ": truncated record length"));
    }
    if (size > options.max_record_bytes) {
      return FileInvalid(absl::StrCat(where, ": record length ", size,
                                      " exceeds the limit ",
                                      options.max_record_bytes));
    }
    if (!in.ReadString(&record, static_cast<int>(size))) {
      return FileInvalid(absl::StrCat(where, ": truncated record (", size,
                                      " bytes declared)"));
    }
    if (index == 0) {
      if (!history.ParseFromString(record) || history.events_size() != 0 ||
          !FirstUnknownField(history).empty()) {
        return FileInvalid(absl::StrCat(where, ": the header does not parse"));
      }
      RETURN_IF_ERROR(Annotate(ValidateHeader(history), where));
      validator = std::make_unique<HistoryValidator>(
          NewRunInfo(history.namespace_(), history.run_id()),
          options.max_payload_bytes);
      continue;
    }
    HistoryEvent* event = history.add_events();
    if (!event->ParseFromString(record)) {
      return FileInvalid(absl::StrCat(where, ": the event does not parse"));
    }
    // As JSON import rejects unknown fields, so does this: kept, they would
    // vanish from a JSON export.
    if (std::string field = FirstUnknownField(*event); !field.empty()) {
      return FileInvalid(
          absl::StrCat(where, ": the event has an unknown field (", field,
                       ", or a known one with the wrong wire type)"));
    }
    RETURN_IF_ERROR(Annotate(validator->Add(*event), where));
  }
  if (validator == nullptr) return FileInvalid("the file has no header record");
  if (history.events_size() == 0) return FileInvalid("the file has no events");
  return history;
}

}  // namespace

absl::Status HistoryFileWriter::Begin(absl::string_view ns,
                                      absl::string_view run_id) {
  History header;
  header.set_namespace_(std::string(ns));
  header.set_run_id(std::string(run_id));
  if (format_ == HistoryFileFormat::kBinary) {
    *out_ << kBinaryMagic;
    std::string bytes = header.SerializeAsString();
    std::string size;
    google::protobuf::io::StringOutputStream sink(&size);
    {
      google::protobuf::io::CodedOutputStream coded(&sink);
      coded.WriteVarint32(static_cast<uint32_t>(bytes.size()));
    }
    *out_ << size << bytes;
  } else {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("namespace");
    w.String(ns.data(), static_cast<rapidjson::SizeType>(ns.size()));
    w.Key("runId");
    w.String(run_id.data(), static_cast<rapidjson::SizeType>(run_id.size()));
    w.Key("events");
    w.StartArray();
    std::string head(buffer.GetString(), buffer.GetSize());
    *out_ << head << "\n";  // `{"namespace":..,"runId":..,"events":[`
  }
  return out_->good() ? absl::OkStatus()
                      : Error(absl::StatusCode::kUnavailable, "FILE_IO",
                              "writing the history file failed");
}

absl::Status HistoryFileWriter::Add(const HistoryEvent& event) {
  if (format_ == HistoryFileFormat::kBinary) {
    std::string bytes = event.SerializeAsString();
    std::string size;
    google::protobuf::io::StringOutputStream sink(&size);
    {
      google::protobuf::io::CodedOutputStream coded(&sink);
      coded.WriteVarint32(static_cast<uint32_t>(bytes.size()));
    }
    *out_ << size << bytes;
  } else {
    ASSIGN_OR_RETURN(std::string line, EventToJsonLine(event));
    if (count_ > 0) *out_ << ",\n";
    *out_ << line;
  }
  ++count_;
  return out_->good() ? absl::OkStatus()
                      : Error(absl::StatusCode::kUnavailable, "FILE_IO",
                              "writing the history file failed");
}

absl::Status HistoryFileWriter::Finish() {
  if (format_ == HistoryFileFormat::kJson) *out_ << "\n]}\n";
  out_->flush();
  return out_->good() ? absl::OkStatus()
                      : Error(absl::StatusCode::kUnavailable, "FILE_IO",
                              "writing the history file failed");
}

absl::StatusOr<History> ParseHistoryFile(absl::string_view contents,
                                         const HistoryFileOptions& options) {
  if (static_cast<int64_t>(contents.size()) > options.max_file_bytes) {
    return Error(absl::StatusCode::kInvalidArgument, "HISTORY_FILE_TOO_LARGE",
                 absl::StrCat("the history file is ", contents.size(),
                              " bytes, limit ", options.max_file_bytes));
  }
  if (absl::StartsWith(contents, kBinaryMagic)) {
    return ParseBinary(contents, options);
  }
  size_t first = contents.find_first_not_of(" \t\r\n");
  if (first == absl::string_view::npos || contents[first] != '{') {
    return FileInvalid(
        "not a history file: expected a JSON object or the binary header "
        "\"RTRCHST1\"");
  }
  return ParseJson(contents, options);
}

absl::StatusOr<History> ReadHistoryFile(const std::string& path,
                                        const HistoryFileOptions& options) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return Error(absl::StatusCode::kNotFound, "FILE_IO",
                 absl::StrCat("cannot open ", path));
  }
  const int64_t size = static_cast<int64_t>(in.tellg());
  if (size > options.max_file_bytes) {
    return Error(absl::StatusCode::kInvalidArgument, "HISTORY_FILE_TOO_LARGE",
                 absl::StrCat(path, ": the history file is ", size,
                              " bytes, limit ", options.max_file_bytes));
  }
  in.seekg(0);
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::StatusOr<History> history = ParseHistoryFile(buffer.str(), options);
  if (!history.ok()) return Annotate(history.status(), path);
  return history;
}

absl::StatusOr<std::string> EventToJson(const HistoryEvent& event) {
  return EventToJsonLine(event);
}

absl::StatusOr<std::string> FormatHistoryFile(const History& history,
                                              HistoryFileFormat format) {
  std::ostringstream out;
  HistoryFileWriter writer(&out, format);
  RETURN_IF_ERROR(writer.Begin(history.namespace_(), history.run_id()));
  for (const HistoryEvent& event : history.events()) {
    RETURN_IF_ERROR(writer.Add(event));
  }
  RETURN_IF_ERROR(writer.Finish());
  return out.str();
}

}  // namespace retrace::history
