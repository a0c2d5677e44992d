// Internal to contentd and its tools (not installed): proto3 JSON with map
// keys in byte order. MessageToJsonString follows a map's iteration order,
// which protobuf leaves unspecified and which differs between two copies of
// one map (front-matter params are a Struct): the same article printed
// differently from run to run, and a diff saw changes that were not there.
#ifndef CONTENT_COMMON_PROTO_JSON_H_
#define CONTENT_COMMON_PROTO_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"

namespace content::internal {

// `json`, as protobuf's pretty printer writes it (one space a level), with
// two spaces a level, as kubectl and etcdctl indent theirs and contentctl
// its own JSON (`apply`, `version`). Only a line's leading spaces are
// indentation: a JSON string holds no raw newline.
inline std::string IndentTwoSpaces(const std::string& json) {
  std::string out;
  out.reserve(json.size() + json.size() / 2);
  bool line_start = true;
  for (const char c : json) {
    if (line_start && c == ' ') {
      out += "  ";
      continue;
    }
    line_start = c == '\n';
    out += c;
  }
  return out;
}

// `message` as JSON (lowerCamelCase names; `pretty` puts each value on a
// line of its own, indented two spaces a level). Equal messages give equal
// text. With `all_fields`, fields at their default
// (0, "", false, an empty list) are printed too rather than left out.
// Thread-safe.
inline absl::StatusOr<std::string> DeterministicJson(
    const google::protobuf::Message& message, bool pretty,
    bool all_fields = false) {
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com",
          google::protobuf::DescriptorPool::generated_pool());
  // Deterministic serialization writes map entries sorted by key, and
  // BinaryToJsonString keeps the order of the wire.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&coded)) {
      return absl::InternalError("JSON encoding: cannot serialize the message");
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = all_fields;
  std::string json;
  const auto status = google::protobuf::util::BinaryToJsonString(
      resolver,
      absl::StrCat("type.googleapis.com/",
                   message.GetDescriptor()->full_name()),
      binary, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("JSON encoding: ", std::string(status.message())));
  }
  return pretty ? IndentTwoSpaces(json) : json;
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_PROTO_JSON_H_
