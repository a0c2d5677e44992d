// DiffRevisions: front-matter fields through protobuf reflection, the body
// through dtl's shortest edit script.

#include "server/editorial/diff.h"

#include <algorithm>
#include <dtl/dtl.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/proto_json.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace content::editorial {
namespace {

using ::content::v1::Article;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using ::google::protobuf::Value;

// Fields from `revision` on are output only; they are not content.
constexpr int kFirstOutputField = 30;

// Front-matter keys of the fields whose key is not the field's name (the
// others, title to widgets, are named alike).
std::string FieldName(const FieldDescriptor* field) {
  switch (field->number()) {
    case Article::kPublishTimeFieldNumber:
      return "publishDate";
    case Article::kExpiryTimeFieldNumber:
      return "expiryDate";
    case Article::kTranslationKeyFieldNumber:
      return "translationKey";
    default:
      return field->name();
  }
}

// Compact JSON of `message` in which equal values have equal text; the text
// is printed and compared.
std::string ToJson(const Message& message) {
  // Generated messages always serialize and convert.
  absl::StatusOr<std::string> json =
      internal::DeterministicJson(message, /*pretty=*/false);
  return json.ok() ? *std::move(json) : std::string();
}

Value StringValue(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

// One element of a singular or repeated field as a JSON-able Value.
Value ElementValue(const Message& message, const FieldDescriptor* field,
                   int index) {
  const Reflection* refl = message.GetReflection();
  const bool repeated = field->is_repeated();
  Value v;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return StringValue(repeated
                             ? refl->GetRepeatedString(message, field, index)
                             : refl->GetString(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      v.set_bool_value(repeated ? refl->GetRepeatedBool(message, field, index)
                                : refl->GetBool(message, field));
      return v;
    case FieldDescriptor::CPPTYPE_ENUM:
      return StringValue((repeated
                              ? refl->GetRepeatedEnum(message, field, index)
                              : refl->GetEnum(message, field))
                             ->name());
    case FieldDescriptor::CPPTYPE_INT32:
      v.set_number_value(repeated
                             ? refl->GetRepeatedInt32(message, field, index)
                             : refl->GetInt32(message, field));
      return v;
    case FieldDescriptor::CPPTYPE_INT64:
      // As JSON does for 64-bit integers: a string, exact.
      return StringValue(
          absl::StrCat(repeated ? refl->GetRepeatedInt64(message, field, index)
                                : refl->GetInt64(message, field)));
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = repeated
                               ? refl->GetRepeatedMessage(message, field, index)
                               : refl->GetMessage(message, field);
      if (field->message_type() == google::protobuf::Timestamp::descriptor()) {
        google::protobuf::Timestamp ts;
        ts.CopyFrom(sub);
        return StringValue(google::protobuf::util::TimeUtil::ToString(ts));
      }
      // No other message field is compared whole; keep its JSON as text.
      return StringValue(ToJson(sub));
    }
    default:
      return StringValue(absl::StrCat("<", field->type_name(), ">"));
  }
}

// The field's value as compact JSON text; "" when it is unset.
std::string FieldJson(const Message& message, const FieldDescriptor* field) {
  const Reflection* refl = message.GetReflection();
  if (field->is_repeated()) {
    const int n = refl->FieldSize(message, field);
    if (n == 0) return "";
    Value list;
    for (int i = 0; i < n; ++i) {
      *list.mutable_list_value()->add_values() =
          ElementValue(message, field, i);
    }
    return ToJson(list);
  }
  if (!refl->HasField(message, field)) return "";
  return ToJson(ElementValue(message, field, 0));
}

void AddChange(std::string field, std::string old_value, std::string new_value,
               v1::DiffArticleRevisionsResponse* response) {
  if (old_value == new_value) return;
  v1::FieldChange* change = response->add_field_changes();
  change->set_field(std::move(field));
  change->set_old_value(std::move(old_value));
  change->set_new_value(std::move(new_value));
}

// A key is changed when its values' canonical JSON differs, so maps that
// hold the same entries in another order are equal.
void DiffParams(const google::protobuf::Struct& from,
                const google::protobuf::Struct& to,
                v1::DiffArticleRevisionsResponse* response) {
  std::vector<std::string> keys;
  for (const auto& [key, unused] : from.fields()) keys.push_back(key);
  for (const auto& [key, unused] : to.fields()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const std::string& key : keys) {
    auto a = from.fields().find(key);
    auto b = to.fields().find(key);
    AddChange(absl::StrCat("params.", key),
              a == from.fields().end() ? "" : ToJson(a->second),
              b == to.fields().end() ? "" : ToJson(b->second), response);
  }
}

void DiffStyle(const v1::FrontMatterStyle& from, const v1::FrontMatterStyle& to,
               v1::DiffArticleRevisionsResponse* response) {
  const google::protobuf::Descriptor* d = v1::FrontMatterStyle::descriptor();
  std::vector<const FieldDescriptor*> fields;
  for (int i = 0; i < d->field_count(); ++i) fields.push_back(d->field(i));
  std::sort(fields.begin(), fields.end(),
            [](const FieldDescriptor* a, const FieldDescriptor* b) {
              return a->number() < b->number();
            });
  for (const FieldDescriptor* field : fields) {
    AddChange(absl::StrCat("style.", field->json_name()),
              FieldJson(from, field), FieldJson(to, field), response);
  }
}

// A line of a body, with its newline if it has one.
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    lines.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return lines;
}

void AppendLine(char mark, const std::string& line, std::string* out) {
  out->push_back(mark);
  if (!line.empty() && line.back() == '\n') {
    out->append(line);
  } else {
    absl::StrAppend(out, line, "\n\\ No newline at end of file\n");
  }
}

// `start,count` of one side of a hunk header, as diff(1) writes it: a count
// of 1 is left out. With 3 lines of context a side is empty only when its
// text is, and diff(1) writes that `0,0`.
std::string Range(long long first, long long count) {
  if (count == 0) return "0,0";
  if (count == 1) return absl::StrCat(first);
  return absl::StrCat(first, ",", count);
}

}  // namespace

std::string UnifiedDiff(const std::string& from, const std::string& to,
                        const std::string& from_label,
                        const std::string& to_label) {
  if (from == to) return "";
  using Sequence = std::vector<std::string>;
  using SesElem = std::pair<std::string, dtl::elemInfo>;
  dtl::Diff<std::string, Sequence> diff(SplitLines(from), SplitLines(to));
  diff.compose();
  diff.composeUnifiedHunks();
  std::string out = absl::StrCat("--- ", from_label, "\n+++ ", to_label, "\n");
  // dtl closes a hunk after 3 unchanged lines; diff(1) keeps one hunk while
  // the context of two changes meets. Hunks that touch are joined so the
  // output reads like diff -u, dropping lines both hunks hold.
  std::vector<std::vector<const SesElem*>> hunks;
  long long last_before = 0, last_after = 0;  // last line index in the hunks
  // getUniHunks returns a copy; the lines below point into this one.
  const std::vector<dtl::uniHunk<SesElem>> uni_hunks = diff.getUniHunks();
  for (const dtl::uniHunk<SesElem>& hunk : uni_hunks) {
    std::vector<const SesElem*> lines;
    for (const auto* part : {&hunk.common[0], &hunk.change, &hunk.common[1]}) {
      for (const SesElem& e : *part) lines.push_back(&e);
    }
    if (lines.empty()) continue;
    const dtl::elemInfo& first = lines.front()->second;
    const bool touches =
        !hunks.empty() &&
        ((first.type != dtl::SES_ADD && first.beforeIdx <= last_before + 1) ||
         (first.type != dtl::SES_DELETE && first.afterIdx <= last_after + 1));
    if (!touches) hunks.emplace_back();
    for (const SesElem* e : lines) {
      const dtl::elemInfo& info = e->second;
      const bool seen =
          touches &&
          ((info.type != dtl::SES_ADD && info.beforeIdx <= last_before) ||
           (info.type != dtl::SES_DELETE && info.afterIdx <= last_after));
      if (seen) continue;
      hunks.back().push_back(e);
      if (info.type != dtl::SES_ADD) last_before = info.beforeIdx;
      if (info.type != dtl::SES_DELETE) last_after = info.afterIdx;
    }
  }
  for (std::vector<const SesElem*>& lines : hunks) {
    // dtl may keep a fourth line of context at the end of the text.
    auto changed = [](const SesElem* e) {
      return e->second.type != dtl::SES_COMMON;
    };
    const auto first = std::find_if(lines.begin(), lines.end(), changed);
    if (first == lines.end()) continue;
    const auto last = std::find_if(lines.rbegin(), lines.rend(), changed);
    const long long begin = std::max<long long>(0, (first - lines.begin()) - 3);
    const long long end = std::min<long long>(
        static_cast<long long>(lines.size()), (lines.rend() - last) + 3);
    lines =
        std::vector<const SesElem*>(lines.begin() + begin, lines.begin() + end);
    // The header is computed from the hunk's lines rather than taken from
    // dtl's a/b/c/d, which do not survive the joining.
    long long old_first = 0, old_count = 0, new_first = 0, new_count = 0;
    for (const SesElem* e : lines) {
      const dtl::elemInfo& info = e->second;
      if (info.type != dtl::SES_ADD && old_count++ == 0) {
        old_first = info.beforeIdx;
      }
      if (info.type != dtl::SES_DELETE && new_count++ == 0) {
        new_first = info.afterIdx;
      }
    }
    absl::StrAppend(&out, "@@ -", Range(old_first, old_count), " +",
                    Range(new_first, new_count), " @@\n");
    for (const SesElem* e : lines) {
      const char mark = e->second.type == dtl::SES_ADD      ? '+'
                        : e->second.type == dtl::SES_DELETE ? '-'
                                                            : ' ';
      AppendLine(mark, e->first, &out);
    }
  }
  return out;
}

v1::DiffArticleRevisionsResponse DiffRevisions(const v1::Article& from,
                                               const v1::Article& to) {
  v1::DiffArticleRevisionsResponse response;
  response.set_name(to.name().empty() ? from.name() : to.name());
  response.set_from_revision(from.revision());
  response.set_to_revision(to.revision());
  response.set_from_deleted(from.has_delete_time());
  response.set_to_deleted(to.has_delete_time());

  const google::protobuf::Descriptor* d = Article::descriptor();
  std::vector<const FieldDescriptor*> fields;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* field = d->field(i);
    if (field->number() < kFirstOutputField &&
        field->number() != Article::kBodyFieldNumber) {
      fields.push_back(field);
    }
  }
  std::sort(fields.begin(), fields.end(),
            [](const FieldDescriptor* a, const FieldDescriptor* b) {
              return a->number() < b->number();
            });
  for (const FieldDescriptor* field : fields) {
    switch (field->number()) {
      case Article::kParamsFieldNumber:
        DiffParams(from.params(), to.params(), &response);
        break;
      case Article::kStyleFieldNumber:
        DiffStyle(from.style(), to.style(), &response);
        break;
      default:
        AddChange(FieldName(field), FieldJson(from, field),
                  FieldJson(to, field), &response);
    }
  }
  response.set_body_diff(
      UnifiedDiff(from.body(), to.body(),
                  absl::StrCat(response.name(), "@", from.revision()),
                  absl::StrCat(response.name(), "@", to.revision())));
  return response;
}

}  // namespace content::editorial
