// Comparison of two revisions of an article, for DiffArticleRevisions.
#ifndef CONTENT_SERVER_EDITORIAL_DIFF_H_
#define CONTENT_SERVER_EDITORIAL_DIFF_H_

#include <string>

#include "content/v1/article.pb.h"
#include "content/v1/content_service.pb.h"

namespace content::editorial {

// Compares revision `from` with revision `to` of one article (a pure
// function: thread-safe).
//
// `field_changes` lists every content field (field numbers below 30) other
// than the body whose value differs, in field-number order. A field is named
// by its front-matter key (`title`, `publishDate`, `translationKey`, ...);
// `params` is compared per key (`params.author`, keys in byte order) and
// `style` per field (`style.dateLayout`). Values are compact JSON text
// (timestamps as RFC 3339 strings, enums by name, lists as arrays, other
// messages such as `style.paramsKeyOrder`'s entries as objects, object keys
// in byte order), "" when the field is unset; a map holding the same
// entries in another order is no change.
//
// `body_diff` is a unified diff of the bodies with 3 lines of context and
// headers `--- articles/ID@FROM` and `+++ articles/ID@TO`; empty when the
// bodies are equal.
v1::DiffArticleRevisionsResponse DiffRevisions(const v1::Article& from,
                                               const v1::Article& to);

// The body part alone: a unified diff of `from` and `to` under the given
// header names, "" when equal. A last line without a newline is marked
// `\ No newline at end of file`, as diff(1) does.
std::string UnifiedDiff(const std::string& from, const std::string& to,
                        const std::string& from_label,
                        const std::string& to_label);

}  // namespace content::editorial

#endif  // CONTENT_SERVER_EDITORIAL_DIFF_H_
