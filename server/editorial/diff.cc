// DiffRevisions: front-matter fields through protobuf reflection, the body
// through dtl's shortest edit script.

#include "server/editorial/diff.h"

#include <algorithm>
#include <dtl/dtl.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/proto_json.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"
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
      // Any other message (style.paramsKeyOrder's entries) as the JSON
      // object it is, so it prints like a map in params rather than as a
      // JSON string holding escaped JSON.
      if (google::protobuf::util::JsonStringToMessage(ToJson(sub), &v).ok())
        return v;
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
std::vector<absl::string_view> SplitLines(absl::string_view text) {
  std::vector<absl::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    end = end == absl::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return lines;
}

void AppendLine(char mark, absl::string_view line, std::string* out) {
  out->push_back(mark);
  if (!line.empty() && line.back() == '\n') {
    out->append(line.data(), line.size());
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

// One line of the edit script: kept, deleted from `from` or added from `to`.
enum class Op : char { kCommon = ' ', kDelete = '-', kAdd = '+' };

// The shortest edit script turning `a` into `b`, common prefix and suffix
// taken off first. dtl compares line numbers, not strings; only its order of
// operations is used: the line indexes dtl reports go wrong past its 2M path
// coordinates (a diff of 16,000 two-byte lines lost its last thousand).
std::vector<Op> EditScript(const std::vector<absl::string_view>& a,
                           const std::vector<absl::string_view>& b) {
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix])
    ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  std::vector<Op> ops(prefix, Op::kCommon);
  // Each distinct line gets a number, and which sides have it.
  struct Seen {
    int id;
    bool in_a, in_b;
  };
  absl::flat_hash_map<absl::string_view, Seen> seen;
  for (size_t i = prefix; i < a.size() - suffix; ++i) {
    seen.emplace(a[i], Seen{static_cast<int>(seen.size()), false, false})
        .first->second.in_a = true;
  }
  for (size_t i = prefix; i < b.size() - suffix; ++i) {
    seen.emplace(b[i], Seen{static_cast<int>(seen.size()), false, false})
        .first->second.in_b = true;
  }
  // A line only one side has is never common: it is left out of the search
  // (so two bodies with nothing in common cost no search at all) and put
  // back as a deletion or addition in its place.
  std::vector<int> from, to;
  std::vector<size_t> from_at, to_at;  // line index of each number kept
  for (size_t i = prefix; i < a.size() - suffix; ++i) {
    const Seen& s = seen.find(a[i])->second;
    if (s.in_b) from.push_back(s.id), from_at.push_back(i);
  }
  for (size_t i = prefix; i < b.size() - suffix; ++i) {
    const Seen& s = seen.find(b[i])->second;
    if (s.in_a) to.push_back(s.id), to_at.push_back(i);
  }
  size_t next_a = prefix, next_b = prefix;  // first line without an op
  auto catch_up = [&](size_t until_a, size_t until_b) {
    for (; next_a < until_a; ++next_a) ops.push_back(Op::kDelete);
    for (; next_b < until_b; ++next_b) ops.push_back(Op::kAdd);
  };
  if (!from.empty() && !to.empty()) {
    dtl::Diff<int, std::vector<int>> diff(from, to);
    diff.compose();
    size_t fa = 0, fb = 0;  // positions in `from` and `to`
    for (const auto& e : diff.getSes().getSequence()) {
      if (e.second.type == dtl::SES_DELETE) {
        catch_up(from_at[fa], next_b);
        ops.push_back(Op::kDelete);
        next_a = from_at[fa++] + 1;
      } else if (e.second.type == dtl::SES_ADD) {
        catch_up(next_a, to_at[fb]);
        ops.push_back(Op::kAdd);
        next_b = to_at[fb++] + 1;
      } else {
        catch_up(from_at[fa], to_at[fb]);
        ops.push_back(Op::kCommon);
        next_a = from_at[fa++] + 1;
        next_b = to_at[fb++] + 1;
      }
    }
  }
  catch_up(a.size() - suffix, b.size() - suffix);
  ops.insert(ops.end(), suffix, Op::kCommon);
  return ops;
}

}  // namespace

std::string UnifiedDiff(const std::string& from, const std::string& to,
                        const std::string& from_label,
                        const std::string& to_label) {
  if (from == to) return "";
  const std::vector<absl::string_view> a = SplitLines(from);
  const std::vector<absl::string_view> b = SplitLines(to);
  const std::vector<Op> ops = EditScript(a, b);
  // Line index (0-based) in `a` and `b` before each operation.
  std::vector<size_t> at_a(ops.size() + 1), at_b(ops.size() + 1);
  for (size_t i = 0; i < ops.size(); ++i) {
    at_a[i + 1] = at_a[i] + (ops[i] != Op::kAdd);
    at_b[i + 1] = at_b[i] + (ops[i] != Op::kDelete);
  }
  constexpr size_t kContext = 3;
  std::string out = absl::StrCat("--- ", from_label, "\n+++ ", to_label, "\n");
  size_t i = 0;
  while (i < ops.size()) {
    while (i < ops.size() && ops[i] == Op::kCommon) ++i;
    if (i == ops.size()) break;
    // A hunk: changes whose unchanged gaps are at most twice the context
    // (diff(1) joins those), with the context around them.
    const size_t begin = i >= kContext ? i - kContext : 0;
    size_t last = i;  // last change of the hunk
    for (size_t j = i + 1; j < ops.size(); ++j) {
      if (ops[j] == Op::kCommon) {
        if (j - last > 2 * kContext) break;
      } else {
        last = j;
      }
    }
    const size_t end = std::min(ops.size(), last + 1 + kContext);
    const size_t old_count = at_a[end] - at_a[begin];
    const size_t new_count = at_b[end] - at_b[begin];
    absl::StrAppend(
        &out, "@@ -", Range(old_count == 0 ? 0 : at_a[begin] + 1, old_count),
        " +", Range(new_count == 0 ? 0 : at_b[begin] + 1, new_count), " @@\n");
    // Each run of changes as diff(1) prints it: deletions, then additions.
    for (size_t j = begin; j < end;) {
      if (ops[j] == Op::kCommon) {
        AppendLine(' ', a[at_a[j]], &out);
        ++j;
        continue;
      }
      size_t run_end = j;
      while (run_end < end && ops[run_end] != Op::kCommon) ++run_end;
      for (size_t k = j; k < run_end; ++k)
        if (ops[k] == Op::kDelete) AppendLine('-', a[at_a[k]], &out);
      for (size_t k = j; k < run_end; ++k)
        if (ops[k] == Op::kAdd) AppendLine('+', b[at_b[k]], &out);
      j = run_end;
    }
    i = end;
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
