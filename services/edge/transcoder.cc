#include "services/edge/transcoder.h"

#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace evc::edge {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsWellKnownType(const Descriptor& type) {
  return type.file()->name().rfind("google/protobuf/", 0) == 0;
}

bool IsUtf8(absl::string_view text) {
  return google::protobuf::internal::IsStructurallyValidUTF8(text.data(), static_cast<int>(text.size()));
}

absl::Status ParseJsonInto(absl::string_view json, Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (status.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(status.message()));
}

template <typename T>
bool ParseNumber(absl::string_view text, T* out) {
  if constexpr (std::is_same_v<T, float>) return absl::SimpleAtof(text, out);
  else if constexpr (std::is_same_v<T, double>) return absl::SimpleAtod(text, out);
  else return absl::SimpleAtoi(text, out);
}

// Sets (or, for repeated fields, appends) `field` of `message` from text.
absl::Status SetLeaf(Message& message, const FieldDescriptor& field, absl::string_view text) {
  const Reflection& r = *message.GetReflection();
  const bool repeated = field.is_repeated();
  auto wrong = [&](absl::string_view expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("field '", field.name(), "': '", text, "' is not ", expected));
  };
#define EVC_SET_NUMBER(CPPTYPE, TYPE, Name)                         \
  case FieldDescriptor::CPPTYPE: {                                  \
    TYPE v;                                                         \
    if (!ParseNumber(text, &v)) return wrong("a number of that type"); \
    repeated ? r.Add##Name(&message, &field, v) : r.Set##Name(&message, &field, v); \
    return absl::OkStatus();                                        \
  }
  switch (field.cpp_type()) {
    EVC_SET_NUMBER(CPPTYPE_INT32, int32_t, Int32)
    EVC_SET_NUMBER(CPPTYPE_INT64, int64_t, Int64)
    EVC_SET_NUMBER(CPPTYPE_UINT32, uint32_t, UInt32)
    EVC_SET_NUMBER(CPPTYPE_UINT64, uint64_t, UInt64)
    EVC_SET_NUMBER(CPPTYPE_FLOAT, float, Float)
    EVC_SET_NUMBER(CPPTYPE_DOUBLE, double, Double)
#undef EVC_SET_NUMBER
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (text == "true" || text == "1") v = true;
      else if (text == "false" || text == "0") v = false;
      else return wrong("true or false");
      repeated ? r.AddBool(&message, &field, v) : r.SetBool(&message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* value = field.enum_type()->FindValueByName(std::string(text));
      int number;
      if (value == nullptr && absl::SimpleAtoi(text, &number)) value = field.enum_type()->FindValueByNumber(number);
      if (value == nullptr) return wrong(absl::StrCat("a value of ", field.enum_type()->full_name()));
      repeated ? r.AddEnum(&message, &field, value) : r.SetEnum(&message, &field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v(text);
      if (field.type() == FieldDescriptor::TYPE_STRING && !IsUtf8(text)) return wrong("valid UTF-8 text");
      if (field.type() == FieldDescriptor::TYPE_BYTES &&
          !absl::WebSafeBase64Unescape(text, &v) && !absl::Base64Unescape(text, &v)) {
        return wrong("base64");
      }
      repeated ? r.AddString(&message, &field, std::move(v)) : r.SetString(&message, &field, std::move(v));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (!IsWellKnownType(*field.message_type())) {
        return absl::InvalidArgumentError(
            absl::StrCat("field '", field.name(), "' is a message: send it in a JSON body"));
      }
      Message* target = repeated ? r.AddMessage(&message, &field) : r.MutableMessage(&message, &field);
      absl::Status s = ParseJsonInto(absl::StrCat("\"", absl::CEscape(text), "\""), *target);
      if (!s.ok()) return wrong(absl::StrCat("a valid ", field.message_type()->full_name()));
      return absl::OkStatus();
    }
  }
  return wrong("settable from text");
}

}  // namespace

absl::Status SetFieldFromText(Message& message, absl::string_view field_path, absl::string_view text) {
  Message* current = &message;
  std::vector<absl::string_view> names = absl::StrSplit(field_path, '.');
  for (size_t i = 0; i < names.size(); ++i) {
    const Descriptor& type = *current->GetDescriptor();
    const FieldDescriptor* field = type.FindFieldByName(std::string(names[i]));
    if (field == nullptr) field = type.FindFieldByLowercaseName(std::string(names[i]));
    if (field == nullptr) field = type.FindFieldByCamelcaseName(std::string(names[i]));
    if (field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field '", field_path, "': ", type.full_name(), " has no '", names[i], "'"));
    }
    if (i + 1 == names.size()) return SetLeaf(*current, *field, text);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated() ||
        IsWellKnownType(*field->message_type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("field '", field_path, "': '", names[i], "' has no sub-fields"));
    }
    current = current->GetReflection()->MutableMessage(current, field);
  }
  return absl::InvalidArgumentError("empty field path");
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> raw = absl::StrSplit(part, absl::MaxSplits('=', 1));
    for (std::string* s : {&raw.first, &raw.second}) {
      for (char& c : *s) {
        if (c == '+') c = ' ';
      }
      std::string decoded;
      if (!PercentDecode(*s, &decoded)) {
        return absl::InvalidArgumentError(absl::StrCat("query parameter '", part, "' has a bad %-escape"));
      }
      *s = std::move(decoded);
    }
    if (raw.first.empty()) return absl::InvalidArgumentError(absl::StrCat("query parameter '", part, "' has no name"));
    out.push_back(std::move(raw));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Message>> BuildRequest(const Route& route, const std::vector<Binding>& bindings,
                                                      absl::string_view query, absl::string_view body) {
  std::unique_ptr<Message> request = NewMessage(*route.method->input_type());
  const bool has_body = !absl::StripAsciiWhitespace(body).empty();
  if (!IsUtf8(body)) return absl::InvalidArgumentError("request body: JSON must be valid UTF-8");
  if (route.body.empty() && has_body) {
    return absl::InvalidArgumentError(
        absl::StrCat(route.http_method, " ", route.path.text(), " takes no body; use query parameters"));
  }
  if (has_body) {
    if (route.body == "*") {
      if (absl::Status s = ParseJsonInto(body, *request); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("request body: ", s.message()));
      }
    } else {
      const FieldDescriptor* field = request->GetDescriptor()->FindFieldByName(route.body);
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
        // A scalar or list body: parse it as that one field of the request.
        std::string wrapped = absl::StrCat("{\"", field->json_name(), "\":", body, "}");
        if (absl::Status s = ParseJsonInto(wrapped, *request); !s.ok()) {
          return absl::InvalidArgumentError(absl::StrCat("request body: ", s.message()));
        }
      } else {
        Message* target = request->GetReflection()->MutableMessage(request.get(), field);
        if (absl::Status s = ParseJsonInto(body, *target); !s.ok()) {
          return absl::InvalidArgumentError(absl::StrCat("request body (", route.body, "): ", s.message()));
        }
      }
    }
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> params = ParseQuery(query);
  if (!params.ok()) return params.status();
  const std::vector<std::string> path_fields = route.path.variables();
  for (const auto& [name, value] : *params) {
    if (route.body == "*") {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter '", name, "': this route takes every field in the JSON body"));
    }
    if (std::find(path_fields.begin(), path_fields.end(), name) != path_fields.end()) {
      return absl::InvalidArgumentError(absl::StrCat("query parameter '", name, "' is already in the path"));
    }
    if (!route.body.empty() && (name == route.body || absl::StartsWith(name, route.body + "."))) {
      return absl::InvalidArgumentError(absl::StrCat("query parameter '", name, "' belongs in the body"));
    }
    if (absl::Status s = SetFieldFromText(*request, name, value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("query parameter ", s.message()));
    }
  }
  for (const auto& [field, value] : bindings) {
    if (absl::Status s = SetFieldFromText(*request, field, value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("path ", s.message()));
    }
  }
  // The upstream parses what we send: a text field that is not UTF-8 (say,
  // from a JSON escape of a lone surrogate) would fail there as INTERNAL.
  std::unique_ptr<Message> check = NewMessage(*route.method->input_type());
  if (!check->ParseFromString(request->SerializeAsString())) {
    return absl::InvalidArgumentError("the request has a text field that is not valid UTF-8");
  }
  return request;
}

google::protobuf::util::JsonPrintOptions ResponsePrintOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  return options;
}

std::string ToJson(const Message& message) {
  std::string out;
  // Only fails for Any with unknown types, which our APIs do not use.
  (void)google::protobuf::util::MessageToJsonString(message, &out, ResponsePrintOptions());
  return out;
}

std::unique_ptr<Message> NewMessage(const Descriptor& type) {
  const Message* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(&type);
  return std::unique_ptr<Message>(prototype->New());
}

absl::StatusOr<std::unique_ptr<Message>> ParseResponse(const google::protobuf::MethodDescriptor& method,
                                                       const std::string& bytes) {
  std::unique_ptr<Message> response = NewMessage(*method.output_type());
  if (!response->ParseFromString(bytes)) {
    return absl::InternalError(absl::StrCat("cannot parse the ", method.output_type()->full_name(),
                                            " returned by ", method.full_name()));
  }
  return response;
}

}  // namespace evc::edge
