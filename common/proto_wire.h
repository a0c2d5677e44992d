// Internal to contentd (not installed): what a message must be for the
// receiver to parse it. protobuf serializes a `string` field holding
// invalid UTF-8 anyway (logging an error on the sender's stderr) and nesting
// of any depth, but the parser refuses both, and gRPC then reports only
// that the request "cannot be parsed", naming no field.
#ifndef CONTENT_COMMON_PROTO_WIRE_H_
#define CONTENT_COMMON_PROTO_WIRE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/utf8.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"

namespace content::internal {

// protobuf's default recursion limit: a message nested at most this many
// levels below the one parsed (each map entry counts as a level: a Struct
// in a Struct is three, Struct, entry and Value; in a list two).
inline constexpr int kProtoMaxNesting = 100;

// OK, or INVALID_ARGUMENT naming the first field of `m` (`query.tags[1]`,
// `article.params.seo.title`; `prefix` names the root) whose text is not
// valid UTF-8 or that nests deeper than the parser takes, `level` being the
// nesting level of `m` itself.
inline absl::Status CheckParsable(const google::protobuf::Message& m,
                                  const std::string& prefix = "",
                                  int level = 0) {
  using ::google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* refl = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(m, &fields);
  // Struct, Value and ListValue are named as the JSON they stand for
  // (`params.seo.title`, not `params.seo.struct_value.fields.title`).
  const std::string& type = m.GetDescriptor()->full_name();
  const bool json_like = type == "google.protobuf.Value" ||
                         type == "google.protobuf.Struct" ||
                         type == "google.protobuf.ListValue";
  const auto join = [&](absl::string_view name) {
    if (json_like) return prefix;
    return prefix.empty() ? std::string(name) : absl::StrCat(prefix, ".", name);
  };
  const auto check_text = [](absl::string_view text,
                             const std::string& path) -> absl::Status {
    const size_t bad = InvalidUtf8Offset(text);
    if (bad == absl::string_view::npos) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not valid UTF-8 (byte offset ", bad, ")"));
  };
  for (const FieldDescriptor* f : fields) {
    const std::string path = join(f->name());
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (!f->is_repeated()) {
        std::string scratch;
        absl::Status s =
            check_text(refl->GetStringReference(m, f, &scratch), path);
        if (!s.ok()) return s;
        continue;
      }
      for (int i = 0; i < refl->FieldSize(m, f); ++i) {
        std::string scratch;
        absl::Status s =
            check_text(refl->GetRepeatedStringReference(m, f, i, &scratch),
                       absl::StrCat(path, "[", i, "]"));
        if (!s.ok()) return s;
      }
      continue;
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (level + 1 > kProtoMaxNesting) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": nests deeper than the ", kProtoMaxNesting,
                       " levels protobuf parses"));
    }
    if (!f->is_repeated()) {
      absl::Status s = CheckParsable(refl->GetMessage(m, f), path, level + 1);
      if (!s.ok()) return s;
      continue;
    }
    for (int i = 0; i < refl->FieldSize(m, f); ++i) {
      const google::protobuf::Message& item = refl->GetRepeatedMessage(m, f, i);
      std::string item_path = absl::StrCat(path, "[", i, "]");
      if (f->is_map()) {
        // Named by the key, as the server does (`params.seo`), when the key
        // is text that can be printed.
        const FieldDescriptor* key = f->message_type()->map_key();
        if (key->type() == FieldDescriptor::TYPE_STRING) {
          std::string scratch;
          const std::string& k =
              item.GetReflection()->GetStringReference(item, key, &scratch);
          if (!IsValidUtf8(k)) {
            return absl::InvalidArgumentError(
                absl::StrCat(path, ": a key is not valid UTF-8"));
          }
          item_path = absl::StrCat(path, ".", k);
        }
        // The entry is a level of its own; its key and value are its
        // fields, named here by the key alone.
        if (level + 2 > kProtoMaxNesting) {
          return absl::InvalidArgumentError(
              absl::StrCat(item_path, ": nests deeper than the ",
                           kProtoMaxNesting, " levels protobuf parses"));
        }
        const FieldDescriptor* value = f->message_type()->map_value();
        if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          absl::Status s =
              CheckParsable(item.GetReflection()->GetMessage(item, value),
                            item_path, level + 2);
          if (!s.ok()) return s;
        } else if (value->type() == FieldDescriptor::TYPE_STRING) {
          std::string scratch;
          absl::Status s = check_text(
              item.GetReflection()->GetStringReference(item, value, &scratch),
              item_path);
          if (!s.ok()) return s;
        }
        continue;
      }
      absl::Status s = CheckParsable(item, item_path, level + 1);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_PROTO_WIRE_H_
