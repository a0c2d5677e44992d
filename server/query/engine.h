// Runs a Query as posting-list algebra and returns one page.
#ifndef CONTENT_SERVER_QUERY_ENGINE_H_
#define CONTENT_SERVER_QUERY_ENGINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content/v1/article.pb.h"
#include "server/store/store.h"

namespace content::query {

struct QueryPage {
  std::vector<v1::Article> articles;
  std::string next_page_token;
  int64_t total_size = 0;
};

// One page of `query` from a consistent snapshot of `store`, continuing from
// `page_token` ("" for the first page). The caller validated the query and
// page_size (> 0). INVALID_ARGUMENT for a bad token or one minted for a
// different query. Date bounds are exact to the nanosecond; the order compares
// dates to the microsecond (the index's precision), then ids. Thread-safe.
absl::StatusOr<QueryPage> RunQuery(const store::Store& store,
                                   const v1::Query& query, int page_size,
                                   absl::string_view page_token);

}  // namespace content::query

#endif  // CONTENT_SERVER_QUERY_ENGINE_H_
