// Runs a Query as posting-list algebra and returns one page.
#ifndef CONTENT_SERVER_QUERY_ENGINE_H_
#define CONTENT_SERVER_QUERY_ENGINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content/v1/article.pb.h"
#include "content/v1/content_service.pb.h"
#include "server/store/store.h"

namespace content::query {

// What to return besides the query's selection.
struct QueryOptions {
  // Articles per page. REQUIRES: > 0. Default: 20.
  int page_size = 20;
  // `next_page_token` of the previous page; "" for the first.
  std::string page_token;
  // BASIC drops each article's body. Default: FULL.
  v1::ArticleView view = v1::ARTICLE_VIEW_FULL;
  // Return each article as its serialized bytes, in QueryPage::raw_articles,
  // instead of decoded in QueryPage::articles: a reply can carry them as
  // they are. Default: false.
  bool raw = false;
  // Fields to count over the result (each at most once).
  std::vector<v1::FacetField> facets;
  // Values kept per facet. Default: 10.
  int facet_limit = 10;
  // Candidates (entries the posting-list algebra yields) examined per page
  // before a short page is returned with a token; bounds the cost of
  // filters no index serves (update time, text verification).
  // Default: 10000.
  int max_candidates_per_page = 10000;
  // A page ends early, with a token, once its articles hold this many bytes
  // (it always holds one): a page of large articles stays under what a
  // client will receive (gRPC's default is 4 MiB). 0: no bound.
  // Default: 0.
  size_t max_page_bytes = 0;
  // Facets count at most this many matching articles ... Default: 10000.
  int facet_max_articles = 10000;
  // ... and examine at most this many candidates. Default: 100000.
  int facet_max_candidates = 100000;
  // Read through this view (a snapshot the caller keeps across pages, so a
  // paged read sees one state of the store) instead of a fresh snapshot per
  // page. Not owned; must outlive the call. Default: null.
  const store::ReadView* read_view = nullptr;
};

struct QueryPage {
  std::vector<v1::Article> articles;
  // With QueryOptions::raw: each article as a serialized v1::Article.
  std::vector<std::string> raw_articles;
  std::string next_page_token;
  int64_t total_size = 0;
  // One per QueryOptions::facets, in that order.
  std::vector<v1::Facet> facets;
  // True when the facets counted the whole result.
  bool facets_complete = true;
  // Matching articles the facets counted.
  int64_t facet_articles_counted = 0;
};

// As RunQuery below, with options.
absl::StatusOr<QueryPage> RunQuery(const store::Store& store,
                                   const v1::Query& query,
                                   const QueryOptions& options);

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
