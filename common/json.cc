#include "common/json.h"

#include "rapidjson/error/en.h"

namespace retrace::json {

std::string ErrorMessage(const rapidjson::ParseResult& result,
                         absl::string_view handler_error) {
  if (result.Code() == rapidjson::kParseErrorTermination &&
      !handler_error.empty()) {
    return std::string(handler_error);
  }
  return rapidjson::GetParseError_En(result.Code());
}

rapidjson::ParseResult Parse(absl::string_view text, Utf8 utf8,
                             rapidjson::Document* doc, std::string* error) {
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document& target) {
    Handler<rapidjson::Document> handler(&target, utf8);
    rapidjson::MemoryStream memory(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream>
        in(memory);
    rapidjson::Reader reader;
    result = reader.Parse<kParseFlags | rapidjson::kParseValidateEncodingFlag |
                          rapidjson::kParseIterativeFlag>(in, handler);
    if (result.IsError() && error != nullptr) {
      *error = ErrorMessage(result, handler.error());
    }
    return !result.IsError();
  };
  doc->Populate(generate);
  return result;
}

}  // namespace retrace::json
