#include "server/service/validation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/lang_tag.h"
#include "server/error_details.h"
#include "server/text/nfc.h"

namespace content::service {
namespace {

constexpr int kMaxIdLength = 128;
constexpr absl::string_view kNamePrefix = "articles/";

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return InvalidField(field, rule);
}

// Quotes a user value for an error message, cut short if long.
std::string Quote(absl::string_view v) {
  if (v.size() > 64) return absl::StrCat("\"", v.substr(0, 64), "...\"");
  return absl::StrCat("\"", v, "\"");
}

void CheckText(absl::string_view value, absl::string_view field,
               Violations& v) {
  if (!IsValidUtf8(value)) v.Add(field, "must be valid UTF-8");
}

// A tag, category or lang: non-empty, bounded, printable, no edge spaces.
absl::Status CheckTerm(absl::string_view value, absl::string_view field,
                       const Limits& limits) {
  if (value.empty()) return Invalid(field, "must not be empty");
  if (static_cast<int>(value.size()) > limits.max_term_bytes) {
    return Invalid(field, absl::StrFormat("must be at most %d bytes, got %d",
                                          limits.max_term_bytes, value.size()));
  }
  if (!IsValidUtf8(value)) return Invalid(field, "must be valid UTF-8");
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f)
      return Invalid(field, "must not contain control characters");
  }
  if (absl::ascii_isspace(static_cast<unsigned char>(value.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(value.back()))) {
    return Invalid(field, absl::StrCat("must not start or end with a space: ",
                                       Quote(value)));
  }
  return absl::OkStatus();
}

// A list's length: at most max_list_entries, or `stored` (the stored
// head's length of the same list, -1 if none) where that is more.
absl::Status CheckListSize(int size, int stored, absl::string_view field,
                           const Limits& limits) {
  if (size <= std::max(limits.max_list_entries, stored))
    return absl::OkStatus();
  if (stored > limits.max_list_entries) {
    return Invalid(field,
                   absl::StrFormat("at most %d entries (the stored revision's "
                                   "count; the limit for new content is %d), "
                                   "got %d",
                                   stored, limits.max_list_entries, size));
  }
  return Invalid(field, absl::StrFormat("at most %d entries, got %d",
                                        limits.max_list_entries, size));
}

// Each entry of a list that is not too long; one that is is refused whole.
void CheckTerms(const google::protobuf::RepeatedPtrField<std::string>& terms,
                absl::string_view field, const Limits& limits, Violations& v,
                int stored = -1) {
  if (absl::Status s = CheckListSize(terms.size(), stored, field, limits);
      !s.ok()) {
    v.Add(std::move(s));
    return;
  }
  std::set<absl::string_view> seen;
  for (int i = 0; i < terms.size(); ++i) {
    const std::string item = absl::StrCat(field, "[", i, "]");
    absl::Status s = CheckTerm(terms[i], item, limits);
    if (!s.ok()) {
      v.Add(std::move(s));
    } else if (!seen.insert(terms[i]).second) {
      v.Add(item, absl::StrCat("duplicate entry ", Quote(terms[i])));
    }
  }
}

// A language tag (internal::IsLanguageTag). The translation lookup
// compares primary subtags, so `not a lang!` would never match what a
// reader asks for; '_' is taken for '-' because POSIX locale names (`zh_CN`)
// were stored before this check, the lookup reads them, and an unchanged
// re-apply of such an article must not fail.
absl::Status CheckLangTag(absl::string_view value, absl::string_view field) {
  if (internal::IsLanguageTag(value)) return absl::OkStatus();
  return Invalid(field, absl::StrCat(internal::kLanguageTagRule, Quote(value)));
}

void CheckLangTags(const google::protobuf::RepeatedPtrField<std::string>& tags,
                   absl::string_view field, bool allow_empty, Violations& v) {
  for (int i = 0; i < tags.size(); ++i) {
    if (allow_empty && tags[i].empty()) continue;
    v.Add(CheckLangTag(tags[i], absl::StrCat(field, "[", i, "]")));
  }
}

// An article's languages name each language once: `en` and `EN`, or
// `zh_CN` and `zh-cn`, are one language to every lookup, facet and filter
// (internal::SameLanguageTag), so a second spelling would mean nothing.
void CheckDistinctLanguages(
    const google::protobuf::RepeatedPtrField<std::string>& tags,
    absl::string_view field, Violations& v) {
  for (int i = 1; i < tags.size(); ++i) {
    for (int j = 0; j < i; ++j) {
      if (!internal::SameLanguageTag(tags[j], tags[i])) continue;
      // The other entry by its index alone, as tags name theirs: the
      // field's path (`articles[0].lang`) is the violation's, and clients
      // (contentctl apply) rename that to the key they read.
      const size_t dot = field.rfind('.');
      const absl::string_view list =
          dot == absl::string_view::npos ? field : field.substr(dot + 1);
      v.Add(
          absl::StrCat(field, "[", i, "]"),
          absl::StrCat("duplicate language ", Quote(tags[i]), " (the same as ",
                       list, "[", j, "] ", Quote(tags[j]), ")"));
      break;
    }
  }
}

void CheckStrings(const google::protobuf::RepeatedPtrField<std::string>& list,
                  absl::string_view field, const Limits& limits, Violations& v,
                  int stored = -1) {
  if (absl::Status s = CheckListSize(list.size(), stored, field, limits);
      !s.ok()) {
    v.Add(std::move(s));
    return;
  }
  for (int i = 0; i < list.size(); ++i)
    CheckText(list[i], absl::StrCat(field, "[", i, "]"), v);
}

bool Before(const google::protobuf::Timestamp& a,
            const google::protobuf::Timestamp& b) {
  return a.seconds() != b.seconds() ? a.seconds() < b.seconds()
                                    : a.nanos() < b.nanos();
}

absl::Status CheckTimestamp(const google::protobuf::Timestamp& ts,
                            absl::string_view field) {
  // 0001-01-01 .. 9999-12-31, as google.protobuf.Timestamp defines.
  constexpr int64_t kMin = -62135596800;
  constexpr int64_t kMax = 253402300799;
  if (ts.seconds() < kMin || ts.seconds() > kMax || ts.nanos() < 0 ||
      ts.nanos() > 999999999) {
    return Invalid(field, "must be between years 0001 and 9999");
  }
  return absl::OkStatus();
}

// Adds the timestamp's violation, if any; whether it was valid.
bool AddTimestamp(const google::protobuf::Timestamp& ts,
                  absl::string_view field, Violations& v) {
  absl::Status s = CheckTimestamp(ts, field);
  const bool ok = s.ok();
  v.Add(std::move(s));
  return ok;
}

void CheckValue(const google::protobuf::Value& value, const std::string& field,
                int depth, Violations& v);

void CheckStruct(const google::protobuf::Struct& s, const std::string& field,
                 int depth, Violations& v) {
  if (s.fields().empty()) return;
  // In key order, so that the violations come in the same order each time
  // (a Struct's map has none).
  std::vector<const std::string*> keys;
  keys.reserve(s.fields_size());
  for (const auto& [key, value] : s.fields()) keys.push_back(&key);
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (const std::string* key : keys) {
    if (!IsValidUtf8(*key)) {
      v.Add(field, "keys must be valid UTF-8");
      continue;
    }
    CheckValue(s.fields().at(*key), absl::StrCat(field, ".", *key), depth + 1,
               v);
  }
}

void CheckValue(const google::protobuf::Value& value, const std::string& field,
                int depth, Violations& v) {
  // Markdown's reader takes 30 levels of lists and maps (a scalar at 31):
  // one more does not print as JSON, and deeper maps do not parse.
  if (depth > 31) {
    v.Add(field, "nested more than 30 deep");
    return;
  }
  switch (value.kind_case()) {
    case google::protobuf::Value::kStringValue:
      CheckText(value.string_value(), field, v);
      return;
    case google::protobuf::Value::kStructValue:
      CheckStruct(value.struct_value(), field, depth, v);
      return;
    case google::protobuf::Value::kListValue:
      for (int i = 0; i < value.list_value().values_size(); ++i) {
        CheckValue(value.list_value().values(i),
                   absl::StrCat(field, "[", i, "]"), depth + 1, v);
      }
      return;
    case google::protobuf::Value::kNumberValue:
      // NaN and the infinities have no JSON (proto3's JSON mapping refuses
      // them in a Value: get -o json could not print the article) and no
      // YAML a reader agrees on.
      if (!std::isfinite(value.number_value()))
        v.Add(field, "must be a finite number");
      return;
    default:
      return;
  }
}

// Encoded bytes of `a`'s name and output-only fields, which the store
// replaces with its own.
size_t ServerFieldBytes(const v1::Article& a) {
  v1::Article server;
  server.set_name(a.name());
  server.set_revision(a.revision());
  server.set_etag(a.etag());
  if (a.has_create_time()) *server.mutable_create_time() = a.create_time();
  if (a.has_update_time()) *server.mutable_update_time() = a.update_time();
  if (a.has_delete_time()) *server.mutable_delete_time() = a.delete_time();
  server.set_content_hash(a.content_hash());
  return server.ByteSizeLong();
}

}  // namespace

bool IsValidUtf8(absl::string_view s) {
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
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

absl::Status ValidateId(absl::string_view id, absl::string_view field) {
  constexpr absl::string_view kRule =
      "must be 1-128 characters from [A-Za-z0-9._-], starting with a letter "
      "or digit";
  if (id.empty() || static_cast<int>(id.size()) > kMaxIdLength ||
      !absl::ascii_isalnum(static_cast<unsigned char>(id[0]))) {
    return Invalid(field, absl::StrCat(kRule, "; got ", Quote(id)));
  }
  for (unsigned char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-')
      return Invalid(field, absl::StrCat(kRule, "; got ", Quote(id)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ParseName(absl::string_view name,
                                      absl::string_view field) {
  if (name.empty()) return Invalid(field, "is required (articles/{id})");
  if (!absl::StartsWith(name, kNamePrefix)) {
    return Invalid(field, absl::StrCat("must have the form articles/{id}; got ",
                                       Quote(name)));
  }
  std::string id(name.substr(kNamePrefix.size()));
  absl::Status s = ValidateId(id, field);
  if (!s.ok()) return s;
  return id;
}

bool ExceedsListLimit(const v1::Article& a, const Limits& limits) {
  for (int size : {a.tags_size(), a.categories_size(), a.lang_size(),
                   a.translations_size(), a.widgets_size()}) {
    if (size > limits.max_list_entries) return true;
  }
  return false;
}

void CollectArticleViolations(const v1::Article& a, const Limits& limits,
                              absl::string_view field, Violations* out,
                              TextUtf8 text_utf8, const v1::Article* stored) {
  Violations& v = *out;
  auto f = [&](absl::string_view name) {
    return absl::StrCat(field, ".", name);
  };
  // The stored head's length of a list (-1 without a head).
  auto stored_size = [stored](int (v1::Article::*size)() const) {
    return stored != nullptr ? (stored->*size)() : -1;
  };
  // The content counts, not `name` and the output-only fields: the store
  // sets those itself, and a client that sends back the article it read
  // (etag, timestamps, content hash and all) must not find it over the
  // limit its content was stored under.
  const size_t size = a.ByteSizeLong() - ServerFieldBytes(a);
  if (static_cast<int64_t>(size) > limits.max_article_bytes) {
    v.Add(WithReason(
        Invalid(a.body().size() * 2 > size ? f("body") : field,
                absl::StrFormat("article is %d bytes; the limit is %d", size,
                                limits.max_article_bytes)),
        reason::kArticleTooLarge,
        {{"size_bytes", absl::StrCat(size)},
         {"limit_bytes", absl::StrCat(limits.max_article_bytes)}}));
  }
  if (absl::StripAsciiWhitespace(a.title()).empty()) {
    v.Add(f("title"), "is required");
  } else if (static_cast<int>(a.title().size()) > limits.max_title_bytes) {
    v.Add(f("title"),
          absl::StrFormat("must be at most %d bytes, got %d",
                          limits.max_title_bytes, a.title().size()));
  }
  // Short fields a page prints as they are: a NUL or a bell in a title is
  // a mistake upstream (tags and ids refuse every control character).
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"title", &a.title()},
        {"summary", &a.summary()}}) {
    for (unsigned char c : *value) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        v.Add(f(name), absl::StrFormat("must not contain control characters "
                                       "other than tab and line breaks, got "
                                       "0x%02x",
                                       c));
        break;
      }
    }
  }
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"title", &a.title()},
        {"summary", &a.summary()},
        {"menu", &a.menu()},
        {"thumbnail", &a.thumbnail()},
        {"lead", &a.lead()},
        {"sidebar", &a.sidebar()},
        {"body", &a.body()}}) {
    if (text_utf8 == TextUtf8::kCheckedByParser) break;
    CheckText(*value, f(name), v);
  }
  if (a.has_date()) AddTimestamp(a.date(), f("date"), v);
  CheckTerms(a.tags(), f("tags"), limits, v,
             stored_size(&v1::Article::tags_size));
  CheckTerms(a.categories(), f("categories"), limits, v,
             stored_size(&v1::Article::categories_size));
  CheckTerms(a.lang(), f("lang"), limits, v,
             stored_size(&v1::Article::lang_size));
  CheckLangTags(a.lang(), f("lang"), false, v);
  CheckDistinctLanguages(a.lang(), f("lang"), v);
  CheckStrings(a.translations(), f("translations"), limits, v,
               stored_size(&v1::Article::translations_size));
  // Empty entries were always taken here, unlike in `lang`.
  CheckLangTags(a.translations(), f("translations"), true, v);
  CheckStrings(a.widgets(), f("widgets"), limits, v,
               stored_size(&v1::Article::widgets_size));
  CheckStruct(a.params(), f("params"), 0, v);
  if (!v1::FrontMatterStyle::DateLayout_IsValid(a.style().date_layout())) {
    v.Add(f("style.date_layout"),
          absl::StrCat("unknown value ", a.style().date_layout()));
  }
  for (const auto& [name, layout] :
       {std::pair<const char*, int>{"style.publish_date_layout",
                                    a.style().publish_date_layout()},
        {"style.expiry_date_layout", a.style().expiry_date_layout()}}) {
    if (!v1::FrontMatterStyle::DateLayout_IsValid(layout))
      v.Add(f(name), absl::StrCat("unknown value ", layout));
  }
  if (!v1::Article::State_IsValid(a.state()))
    v.Add(f("state"), absl::StrCat("unknown value ", a.state()));
  const bool publish_ok = a.has_publish_time() &&
                          AddTimestamp(a.publish_time(), f("publish_time"), v);
  const bool expiry_ok =
      a.has_expiry_time() && AddTimestamp(a.expiry_time(), f("expiry_time"), v);
  if (publish_ok && expiry_ok && !Before(a.publish_time(), a.expiry_time()))
    v.Add(f("expiry_time"), "must be after publish_time");
  if (!a.translation_key().empty())
    v.Add(CheckTerm(a.translation_key(), f("translation_key"), limits));
}

absl::Status ValidateArticle(const v1::Article& a, const Limits& limits,
                             absl::string_view field, TextUtf8 text_utf8,
                             const v1::Article* stored) {
  Violations v;
  CollectArticleViolations(a, limits, field, &v, text_utf8, stored);
  return v.Status();
}

bool TermsAreNfc(const v1::Article& a) {
  for (const auto* terms : {&a.tags(), &a.categories()}) {
    for (const std::string& t : *terms) {
      if (!text::IsNfc(t)) return false;
    }
  }
  return text::IsNfc(a.translation_key());
}

void NormalizeArticleTerms(v1::Article* a, absl::string_view field,
                           Violations* v) {
  // A group's key is an index term too: `café` typed composed in one
  // translation and decomposed in another made two groups.
  if (!text::IsNfc(a->translation_key()))
    a->set_translation_key(text::ToNfc(a->translation_key()));
  for (const auto& [name, terms] :
       {std::pair<const char*,
                  google::protobuf::RepeatedPtrField<std::string>*>{
            "tags", a->mutable_tags()},
        {"categories", a->mutable_categories()}}) {
    if (std::all_of(terms->begin(), terms->end(),
                    [](const std::string& t) { return text::IsNfc(t); })) {
      continue;
    }
    const std::vector<std::string> written(terms->begin(), terms->end());
    text::NormalizeTerms(terms);
    // Exact repeats are CheckTerms' to refuse; here, two spellings.
    std::map<absl::string_view, int> first;
    for (int i = 0; i < terms->size(); ++i) {
      auto [it, inserted] = first.emplace((*terms)[i], i);
      if (!inserted && written[it->second] != written[i]) {
        v->Add(absl::StrCat(field, ".", name, "[", i, "]"),
               absl::StrCat(Quote(written[i]), " is ", name, "[", it->second,
                            "] in another Unicode spelling (", name,
                            " are compared in NFC); give it once"));
      }
    }
  }
}

absl::Status NormalizeArticleTerms(v1::Article* a, absl::string_view field) {
  Violations v;
  NormalizeArticleTerms(a, field, &v);
  return v.Status();
}

absl::Status ValidateQuery(const v1::Query& q, const Limits& limits,
                           absl::string_view field) {
  Violations v;
  CollectQueryViolations(q, limits, field, &v);
  return v.Status();
}

void CollectQueryViolations(const v1::Query& q, const Limits& limits,
                            absl::string_view field, Violations* out) {
  Violations& v = *out;
  auto f = [field](absl::string_view name) {
    return absl::StrCat(field, ".", name);
  };
  CheckTerms(q.tags(), f("tags"), limits, v);
  CheckTerms(q.categories(), f("categories"), limits, v);
  CheckTerms(q.langs(), f("langs"), limits, v);
  // A malformed tag is refused, as in an article's lang, rather than read
  // as a query that matches nothing (only articles stored before that
  // check can hold one; docs/operations.md).
  CheckLangTags(q.langs(), f("langs"), false, v);
  if (!v1::Query::TagMatch_IsValid(q.tag_match()))
    v.Add(f("tag_match"), absl::StrCat("unknown value ", q.tag_match()));
  if (!v1::Query::Order_IsValid(q.order()))
    v.Add(f("order"), absl::StrCat("unknown value ", q.order()));
  const bool from_ok =
      q.has_date_from() && AddTimestamp(q.date_from(), f("date_from"), v);
  const bool to_ok =
      q.has_date_to() && AddTimestamp(q.date_to(), f("date_to"), v);
  if (from_ok && to_ok && !Before(q.date_from(), q.date_to()))
    v.Add(f("date_to"), absl::StrCat("must be after ", f("date_from")));
  CheckTerms(q.not_tags(), f("not_tags"), limits, v);
  const bool update_from_ok =
      q.has_update_time_from() &&
      AddTimestamp(q.update_time_from(), f("update_time_from"), v);
  const bool update_to_ok =
      q.has_update_time_to() &&
      AddTimestamp(q.update_time_to(), f("update_time_to"), v);
  if (update_from_ok && update_to_ok &&
      !Before(q.update_time_from(), q.update_time_to())) {
    v.Add(f("update_time_to"),
          absl::StrCat("must be after ", f("update_time_from")));
  }
  if (static_cast<int>(q.text().size()) > limits.max_query_text_bytes) {
    v.Add(f("text"),
          absl::StrFormat("must be at most %d bytes, got %d",
                          limits.max_query_text_bytes, q.text().size()));
  } else {
    CheckText(q.text(), f("text"), v);
    // A NUL or an escape in a search is a mistake upstream (a buffer sent
    // whole, a terminal's keys): refused as a title refuses it, rather than
    // read as a word break. Tabs and line breaks are pasted text.
    for (unsigned char c : q.text()) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        v.Add(f("text"), absl::StrFormat("must not contain control characters "
                                         "other than tab and line breaks, got "
                                         "0x%02x",
                                         c));
        break;
      }
    }
  }
  if (!v1::Visibility_IsValid(q.visibility()))
    v.Add(f("visibility"), absl::StrCat("unknown value ", q.visibility()));
  if (q.states_size() > 4) {
    v.Add(f("states"), "must hold at most 4 values");
  } else {
    for (int i = 0; i < q.states_size(); ++i) {
      const int st = q.states(i);
      const std::string entry = absl::StrCat(field, ".states[", i, "]");
      if (!v1::Article::State_IsValid(st)) {
        v.Add(entry, absl::StrCat("unknown value ", st));
      } else if ((st == v1::Article::DRAFT || st == v1::Article::ARCHIVED) &&
                 q.visibility() != v1::VISIBILITY_ALL) {
        v.Add(entry, absl::StrCat(v1::Article::State_Name(st),
                                  " articles are never live; set ",
                                  f("visibility"), " to VISIBILITY_ALL"));
      }
    }
  }
  if (q.windows_size() > 3) {
    v.Add(f("windows"), "must hold at most 3 values");
  } else {
    for (int i = 0; i < q.windows_size(); ++i) {
      const int w = q.windows(i);
      const std::string entry = absl::StrCat(field, ".windows[", i, "]");
      if (w == v1::Query::PUBLISH_WINDOW_UNSPECIFIED ||
          !v1::Query::PublishWindow_IsValid(w)) {
        v.Add(entry, absl::StrCat("must be PUBLISH_WINDOW_SCHEDULED, "
                                  "PUBLISH_WINDOW_LIVE or "
                                  "PUBLISH_WINDOW_EXPIRED, got ",
                                  w));
      } else if (w != v1::Query::PUBLISH_WINDOW_LIVE &&
                 q.visibility() != v1::VISIBILITY_ALL) {
        v.Add(entry, absl::StrCat(v1::Query::PublishWindow_Name(w),
                                  " articles are not live; set ",
                                  f("visibility"), " to VISIBILITY_ALL"));
      }
    }
  }
  // The windows narrow published articles: beside states that leave those
  // out they would be ignored in silence.
  if (q.windows_size() > 0 && q.states_size() > 0 &&
      std::none_of(q.states().begin(), q.states().end(), [](int st) {
        return st == v1::Article::STATE_UNSPECIFIED ||
               st == v1::Article::PUBLISHED;
      })) {
    v.Add(f("windows"),
          absl::StrCat("narrows published articles, which ", f("states"),
                       " leaves out; add PUBLISHED to ", f("states"),
                       " or clear ", f("windows")));
  }
  bool publish_ok[2] = {true, true};
  int k = 0;
  for (const auto& [name, ts] :
       {std::pair<const char*, const google::protobuf::Timestamp*>{
            "publish_time_from", &q.publish_time_from()},
        {"publish_time_to", &q.publish_time_to()}}) {
    if (ts->seconds() != 0 || ts->nanos() != 0)
      publish_ok[k] = AddTimestamp(*ts, f(name), v);
    ++k;
  }
  if (q.has_publish_time_from() && q.has_publish_time_to() && publish_ok[0] &&
      publish_ok[1] && !Before(q.publish_time_from(), q.publish_time_to())) {
    v.Add(f("publish_time_to"),
          absl::StrCat("must be after ", f("publish_time_from")));
  }
  // Whether the text holds anything to search for is the query engine's
  // call (it owns the tokenizer): INVALID_ARGUMENT from there.
}

absl::Status ValidateLanguageTag(absl::string_view value,
                                 absl::string_view field) {
  return CheckLangTag(value, field);
}

absl::StatusOr<int> PageSize(int32_t requested, const Limits& limits) {
  if (requested < 0) {
    return Invalid("page_size",
                   absl::StrCat("must not be negative, got ", requested));
  }
  if (requested == 0) return limits.default_page_size;
  // AIP-158: a larger page is lowered to the maximum, not refused, so a
  // client's fixed page size keeps working on a server configured lower.
  return std::min<int>(requested, limits.max_page_size);
}

}  // namespace content::service
