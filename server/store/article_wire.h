// Reads stored Article bytes without decoding the whole message.
//
// A stored revision is a serialized v1::Article, the same bytes a reply
// carries. Reads that only need to decide whether to return an article (is it
// deleted, live, in the date range?) look at a few scalar fields; parsing the
// whole message would copy and UTF-8-check the title, summary and body, and
// serializing it again for the reply would check them a second time.
#ifndef CONTENT_SERVER_STORE_ARTICLE_WIRE_H_
#define CONTENT_SERVER_STORE_ARTICLE_WIRE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "content/v1/article.pb.h"

namespace content::store {

// Fills `out` (cleared first) with the fields that decide visibility and
// filters: date, state, publish_time, expiry_time, revision, create_time,
// update_time and delete_time. Every other field is skipped unread.
// Returns false if `bytes` is not a well-formed Article encoding.
bool ParseArticleSkeleton(absl::string_view bytes, v1::Article* out);

// Whether the Article in `bytes` has every tag of `tags` (exact strings).
// False also if `bytes` is not well-formed.
bool HasAllTags(absl::string_view bytes,
                const google::protobuf::RepeatedPtrField<std::string>& tags);
// Appends `bytes` to `out` without its top-level `body` field (the BASIC
// view). Returns false if `bytes` is not well-formed.
bool AppendArticleWithoutBody(absl::string_view bytes, std::string* out);

}  // namespace content::store

#endif  // CONTENT_SERVER_STORE_ARTICLE_WIRE_H_
