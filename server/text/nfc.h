// Unicode normalization of index terms: tags and categories are stored and
// looked up in NFC (canonical composition), so that a term written composed
// (`café`, U+00E9) or decomposed (`cafe` + U+0301, as macOS file names and
// some editors give it) is one term. Case is not folded: `AI` and `ai` stay
// two tags (docs/operations.md). Here, below the store, since the store
// normalizes the revisions it restores.
#ifndef CONTENT_SERVER_TEXT_NFC_H_
#define CONTENT_SERVER_TEXT_NFC_H_

#include <string>

#include "absl/strings/string_view.h"
#include "content/v1/article.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace content::text {

// Whether `s` is in NFC. ASCII always is; so is text that is not valid
// UTF-8, which ToNfc leaves as it is (validation refuses it). Thread-safe.
bool IsNfc(absl::string_view s);

// `s` in NFC; `s` itself where IsNfc. Thread-safe.
std::string ToNfc(absl::string_view s);

// Puts each entry in NFC; returns whether any changed.
bool NormalizeTerms(google::protobuf::RepeatedPtrField<std::string>* terms);

// Whether the query's `tags`, `not_tags` and `categories` are in NFC.
bool IsNfcQuery(const v1::Query& query);

// The query's `tags`, `not_tags` and `categories` in NFC, as articles are
// stored (server/service/validation.h).
void NormalizeQueryTerms(v1::Query* query);

}  // namespace content::text

#endif  // CONTENT_SERVER_TEXT_NFC_H_
