// Fuzzes request validation on protos parsed from arbitrary bytes, as the
// server receives them. Property: validation never crashes, answers only OK
// or INVALID_ARGUMENT naming a field, and what it accepts is within limits
// and hashes deterministically (what the store will do next with it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "content/v1/content_service.pb.h"
#include "server/service/validation.h"
#include "server/store/store.h"

namespace {

void Expect(bool ok, const char* what, const absl::Status& s) {
  if (ok) return;
  std::cerr << what << ": " << s << "\n";
  std::abort();
}

void CheckStatus(const absl::Status& s, const char* field) {
  if (s.ok()) return;
  Expect(s.code() == absl::StatusCode::kInvalidArgument,
         "validation answered something other than INVALID_ARGUMENT", s);
  Expect(absl::StartsWith(s.message(), field),
         "the message does not start with the field", s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  content::service::Limits limits;
  limits.max_article_bytes = 64 << 10;  // small, so the fuzzer reaches it
  content::v1::CreateArticleRequest create;
  if (create.ParseFromArray(data, static_cast<int>(size))) {
    CheckStatus(content::service::ValidateId(create.article_id(), "article_id"),
                "article_id");
    absl::Status s =
        content::service::ValidateArticle(create.article(), limits, "article");
    CheckStatus(s, "article");
    if (s.ok()) {
      Expect(static_cast<int64_t>(create.article().ByteSizeLong()) <=
                 limits.max_article_bytes,
             "accepted an article over the size limit", s);
      Expect(content::store::Store::ContentHash(create.article()) ==
                 content::store::Store::ContentHash(create.article()),
             "content hash is not deterministic", s);
    }
  }
  content::v1::QueryArticlesRequest query;
  if (query.ParseFromArray(data, static_cast<int>(size))) {
    CheckStatus(content::service::ValidateQuery(query.query(), limits),
                "query");
    CheckStatus(content::service::PageSize(query.page_size(), limits).status(),
                "page_size");
  }
  content::v1::GetArticleRequest get;
  if (get.ParseFromArray(data, static_cast<int>(size)))
    CheckStatus(content::service::ParseName(get.name(), "name").status(),
                "name");
  return 0;
}
