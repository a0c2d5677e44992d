// Request validation: every rule names the field it checks, so a client
// learns what to fix from the status message alone, and in a BadRequest
// made where the rule is checked (InvalidField). A request's checks go on
// past the first violation: the INVALID_ARGUMENT gives each (Violations).
#ifndef CONTENT_SERVER_SERVICE_VALIDATION_H_
#define CONTENT_SERVER_SERVICE_VALIDATION_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content/v1/article.pb.h"
#include "server/error_details.h"

namespace content::service {

// Limits on what clients may send. Defaults suit news-sized articles.
struct Limits {
  // Encoded size of an article's content. Default: 1 MiB; at most
  // kMaxArticleBytesCap from contentd's config or flags.
  int64_t max_article_bytes = int64_t{1} << 20;
  // Entries in each of tags, categories, lang, translations, widgets.
  // Default: 64.
  int max_list_entries = 64;
  // Bytes in one tag, category or lang. Default: 128.
  int max_term_bytes = 128;
  // Bytes in the title. Default: 1024.
  int max_title_bytes = 1024;
  // Page size when a request says 0. Default: 20.
  int default_page_size = 20;
  // Largest page a request may ask for. Default: 1000.
  int max_page_size = 1000;
  // Bytes in a query's `text`. Default: 1024.
  int max_query_text_bytes = 1024;
  // Names in one BatchGetArticles. Default: 1000.
  int max_batch_get = 1000;
};

// The largest Limits::max_article_bytes contentd takes from its config or
// flags: 1 GiB. An article travels in one gRPC message, which protobuf
// refuses at 2 GiB and gRPC's receive limit (an int) caps at INT32_MAX; 1 GiB
// leaves room for the rest of the request, and 4 x max_article_bytes (the
// receive limit contentd derives from it) cannot overflow.
inline constexpr int64_t kMaxArticleBytesCap = int64_t{1} << 30;

// Checks an article id (1-128 of [A-Za-z0-9._-], starting alphanumeric).
absl::Status ValidateId(absl::string_view id, absl::string_view field);
// The id of `articles/{id}`; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> ParseName(absl::string_view name,
                                      absl::string_view field);
// Whether ValidateArticle scans the text fields (title, summary, body...)
// for UTF-8. An article parsed off the wire was scanned by protobuf, which
// refuses a proto3 string that is not UTF-8; a second scan of the body was
// 3% of an import's CPU.
enum class TextUtf8 { kCheck, kCheckedByParser };
// Checks the user-written fields of an article; `field` prefixes messages.
// Every violation found is in the INVALID_ARGUMENT (Violations), the first
// first.
// `stored` is the article's current head, if it has one: a list (tags,
// categories, lang, translations, widgets) longer than max_list_entries
// passes if it is no longer than the same list in `stored`, so a limit
// lowered under stored content does not refuse re-applying it (or updates
// that do not grow the list). New content obeys the limit.
absl::Status ValidateArticle(const v1::Article& article, const Limits& limits,
                             absl::string_view field,
                             TextUtf8 text_utf8 = TextUtf8::kCheck,
                             const v1::Article* stored = nullptr);
// As ValidateArticle, adding each violation to `v`, after those of the
// request's other fields (its name) that the caller added.
void CollectArticleViolations(const v1::Article& article, const Limits& limits,
                              absl::string_view field, Violations* v,
                              TextUtf8 text_utf8 = TextUtf8::kCheck,
                              const v1::Article* stored = nullptr);
// Whether a list of `article` has more than limits.max_list_entries entries:
// only then does ValidateArticle need the stored head.
bool ExceedsListLimit(const v1::Article& article, const Limits& limits);
// Whether every tag and category of `article`, and its translation_key,
// are in Unicode NFC (text/nfc.h), so NormalizeArticleTerms would change
// nothing.
bool TermsAreNfc(const v1::Article& article);
// Puts the tags, categories and translation_key of `article` in NFC, as
// they are stored and looked up: `café` composed or decomposed is one tag,
// or one translation group (case is kept: `AI` and `ai` are two).
// INVALID_ARGUMENT naming the entry when two entries are one term in NFC. Call
// before ValidateArticle, whose limits apply to the stored text; an entry that
// is not valid UTF-8 is left for it.
absl::Status NormalizeArticleTerms(v1::Article* article,
                                   absl::string_view field);
// As above, adding each such entry to `v`.
void NormalizeArticleTerms(v1::Article* article, absl::string_view field,
                           Violations* v);
// Checks a query; `field` names it in messages ("query", a watch's
// "filter").
absl::Status ValidateQuery(const v1::Query& query, const Limits& limits,
                           absl::string_view field = "query");
// As ValidateQuery, adding each violation to `v`, after those of the
// request's fields before it: all of them, where a ValidateQuery status
// added to `v` brings only those its message gives (the first 20).
void CollectQueryViolations(const v1::Query& query, const Limits& limits,
                            absl::string_view field, Violations* v);
// INVALID_ARGUMENT naming `field` unless `value` is a BCP 47 language tag
// by syntax, as Article.lang and Query.langs are checked.
absl::Status ValidateLanguageTag(absl::string_view value,
                                 absl::string_view field);
// The effective page size for a request's page_size: the default for 0, at
// most the max; INVALID_ARGUMENT if negative.
absl::StatusOr<int> PageSize(int32_t requested, const Limits& limits);
// True if `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(absl::string_view s);

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_VALIDATION_H_
