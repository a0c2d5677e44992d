// End to end: the error details contentd sends (AIP-193), read through the
// SDK, off a raw channel without it, and printed by contentctl -o json.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "content/client.h"
#include "gmock/gmock.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/ctl.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::CommandResult;
using ::content::testing::ContentctlBinary;
using ::content::testing::MetadataValue;
using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::SharedServerTest;
using ::testing::Contains;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

v1::Article Simple(const std::string& title) {
  v1::Article a;
  a.set_title(title);
  a.set_body("Body.\n");
  return a;
}

class ErrorsTest : public SharedServerTest {
 protected:
  void SetUp() override {
    SharedServerTest::SetUp();
    if (HasFatalFailure()) return;
    ClientOptions options;
    options.target = server_->address();
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(options);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
  }
  // The results of ImportArticles for the one batch `batch`.
  std::vector<v1::ImportResult> ImportOneBatch(
      const v1::ImportArticlesRequest& batch) {
    std::vector<v1::ImportResult> results;
    absl::Status s = client_->ImportArticles(
        [&, sent = false](v1::ImportArticlesRequest* out) mutable {
          if (sent) return false;
          *out = batch;
          sent = true;
          return true;
        },
        [&](const v1::ImportArticlesResponse& resp) {
          results.insert(results.end(), resp.results().begin(),
                         resp.results().end());
        });
    EXPECT_TRUE(s.ok()) << s;
    return results;
  }

  // Creates `id` and updates it once: its head is revision 2.
  void CreateTwice(const std::string& id) {
    v1::CreateArticleRequest create;
    create.set_article_id(id);
    *create.mutable_article() = Simple("one");
    ASSERT_TRUE(client_->CreateArticle(create).ok());
    v1::UpdateArticleRequest update;
    *update.mutable_article() = Simple("two");
    update.mutable_article()->set_name(ArticleName(id));
    absl::StatusOr<v1::Article> two = client_->UpdateArticle(update);
    ASSERT_TRUE(two.ok()) << two.status();
    ASSERT_EQ(two->revision(), 2);
  }
  static CommandResult Ctl(std::vector<std::string> args) {
    return testing::Ctl(*server_, std::move(args));
  }

  std::unique_ptr<Client> client_;
};

TEST_F(ErrorsTest, BadQueryFieldComesAsABadRequestNamingIt) {
  v1::QueryArticlesRequest req;
  req.mutable_query()->add_tags("ai");
  req.mutable_query()->add_tags(" padded");
  absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "INVALID_ARGUMENT");
  EXPECT_EQ(ErrorDomain(r.status()), "contentd.v1");
  const std::vector<FieldViolation> v = FieldViolations(r.status());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "query.tags[1]");
  EXPECT_THAT(v[0].description,
              StartsWith("must not start or end with a space"));
}

// Every bad field of a query at once, in the request's order: a bad page
// size or query hid the rest, which a client then met one call at a time.
TEST_F(ErrorsTest, EveryBadFieldOfAQueryIsNamed) {
  v1::QueryArticlesRequest req;
  req.set_page_size(-1);
  req.mutable_query()->add_tags("");
  req.add_facets(v1::FACET_FIELD_TAGS);
  req.add_facets(v1::FACET_FIELD_TAGS);
  req.add_facets(v1::FACET_FIELD_UNSPECIFIED);
  req.set_facet_limit(1000);
  absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  const std::vector<FieldViolation> v = FieldViolations(r.status());
  ASSERT_EQ(v.size(), 5u) << r.status();
  EXPECT_EQ(v[0].field, "page_size");
  EXPECT_EQ(v[1].field, "query.tags[0]");
  EXPECT_EQ(v[2].field, "facets[1]");
  EXPECT_EQ(v[2].description, "duplicate facet FACET_FIELD_TAGS");
  EXPECT_EQ(v[3].field, "facets[2]");
  EXPECT_EQ(v[4].field, "facet_limit");
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("page_size: must not be negative, got -1; "
                         "query.tags[0]: must not be empty; facets[1]: "));
}

// Past the first 20 the rest are counted, the query's own with the
// request's: a query's faults beyond its 20th were lost when it was
// collected apart ("(and 1 more)" for 26 faults).
TEST_F(ErrorsTest, EveryBadFieldOfALongQueryIsCounted) {
  v1::QueryArticlesRequest req;
  req.set_page_size(-1);
  for (int i = 0; i < 25; ++i) req.mutable_query()->add_tags("");
  absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), EndsWith(" (and 6 more)"));
  const std::vector<FieldViolation> v = FieldViolations(r.status());
  ASSERT_EQ(v.size(), 20u) << r.status();
  EXPECT_EQ(v[0].field, "page_size");
  EXPECT_EQ(v[19].field, "query.tags[18]");

  v1::WatchArticlesRequest watch;
  watch.set_after_sequence(-1);
  for (int i = 0; i < 25; ++i) watch.mutable_filter()->add_tags("");
  const absl::Status s =
      client_->Watch(watch, [](const auto&) { return false; });
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), EndsWith(" (and 6 more)"));
}

// The field and description of each violation `s` carries, in order, for
// comparing a whole list at once.
std::vector<std::pair<std::string, std::string>> Violated(
    const absl::Status& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FieldViolation& v : FieldViolations(s))
    out.emplace_back(v.field, v.description);
  return out;
}

// Every bad field of the other requests at once too, in field order, in
// one INVALID_ARGUMENT with one BadRequest: each RPC below stopped at its
// first bad field, so a client met the rest one call at a time.
TEST_F(ErrorsTest, EveryBadFieldOfAListingIsNamed) {
  v1::ListTagsRequest tags;
  tags.set_page_size(-1);
  tags.set_page_token("!!");
  absl::StatusOr<v1::ListTagsResponse> t = client_->ListTags(tags);
  ASSERT_TRUE(absl::IsInvalidArgument(t.status())) << t.status();
  EXPECT_THAT(
      Violated(t.status()),
      ::testing::ElementsAre(
          Pair("page_size", "must not be negative, got -1"),
          Pair("page_token", "malformed; pass next_page_token unchanged")));
  EXPECT_THAT(std::string(t.status().message()),
              StartsWith("page_size: must not be negative, got -1; "
                         "page_token: malformed"));

  v1::ListCategoriesRequest categories;
  categories.set_page_size(-2);
  categories.set_page_token("!!");
  absl::StatusOr<v1::ListCategoriesResponse> c =
      client_->ListCategories(categories);
  ASSERT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
  EXPECT_THAT(
      Violated(c.status()),
      ::testing::ElementsAre(
          Pair("page_size", "must not be negative, got -2"),
          Pair("page_token", "malformed; pass next_page_token unchanged")));

  v1::ListArticleRevisionsRequest revisions;
  revisions.set_name("posts/x");
  revisions.set_page_size(-3);
  revisions.set_page_token("!!");
  absl::StatusOr<v1::ListArticleRevisionsResponse> r =
      client_->ListArticleRevisions(revisions);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(
      Violated(r.status()),
      ::testing::ElementsAre(
          Pair("name", "must have the form articles/{id}; got \"posts/x\""),
          Pair("page_size", "must not be negative, got -3"),
          Pair("page_token", "malformed; pass next_page_token unchanged")));

  // A token that opens but names another article is still refused with
  // the rest (its binding is checked once the name is good).
  CreateTwice("listed-one");
  CreateTwice("listed-two");
  revisions.Clear();
  revisions.set_name(ArticleName("listed-one"));
  revisions.set_page_size(1);
  r = client_->ListArticleRevisions(revisions);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(r->next_page_token().empty());
  revisions.set_name(ArticleName("listed-two"));
  revisions.set_page_size(-1);
  revisions.set_page_token(r->next_page_token());
  r = client_->ListArticleRevisions(revisions);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(Violated(r.status()),
              ::testing::ElementsAre(
                  Pair("page_size", "must not be negative, got -1"),
                  Pair("page_token", "was issued for a different article")));

  // QueryArticles' page token, opened only once the rest is good, is named
  // with the rest too, in its place.
  v1::QueryArticlesRequest query;
  query.set_page_size(-1);
  query.set_page_token("!!");
  query.set_view(static_cast<v1::ArticleView>(9));
  absl::StatusOr<v1::QueryArticlesResponse> q = client_->QueryArticles(query);
  ASSERT_TRUE(absl::IsInvalidArgument(q.status())) << q.status();
  EXPECT_THAT(
      Violated(q.status()),
      ::testing::ElementsAre(
          Pair("page_size", "must not be negative, got -1"),
          Pair("page_token", "malformed; pass next_page_token unchanged"),
          Pair("view", "unknown value 9")));
}

TEST_F(ErrorsTest, EveryBadFieldOfAWriteByNameIsNamed) {
  v1::DeleteArticleRequest del;
  del.set_name("x");
  del.set_expected_revision(-1);
  absl::StatusOr<v1::Article> a = client_->DeleteArticle(del);
  ASSERT_TRUE(absl::IsInvalidArgument(a.status())) << a.status();
  EXPECT_THAT(Violated(a.status()),
              ::testing::ElementsAre(
                  Pair("name", "must have the form articles/{id}; got \"x\""),
                  Pair("expected_revision", "must not be negative")));
  EXPECT_EQ(std::string(a.status().message()),
            "name: must have the form articles/{id}; got \"x\"; "
            "expected_revision: must not be negative");

  v1::UndeleteArticleRequest undelete;
  undelete.set_name("");
  undelete.set_expected_revision(-5);
  a = client_->UndeleteArticle(undelete);
  ASSERT_TRUE(absl::IsInvalidArgument(a.status())) << a.status();
  EXPECT_THAT(Violated(a.status()),
              ::testing::ElementsAre(
                  Pair("name", "is required (articles/{id})"),
                  Pair("expected_revision", "must not be negative")));

  v1::RestoreArticleRevisionRequest restore;
  restore.set_name("articles/");
  restore.set_revision(-3);
  restore.set_expected_revision(-1);
  a = client_->RestoreArticleRevision(restore);
  ASSERT_TRUE(absl::IsInvalidArgument(a.status())) << a.status();
  const std::vector<std::pair<std::string, std::string>> v =
      Violated(a.status());
  ASSERT_EQ(v.size(), 3u) << a.status();
  EXPECT_EQ(v[0].first, "name");
  EXPECT_THAT(v[0].second, StartsWith("must be 1-128 characters"));
  EXPECT_THAT(v[1], Pair("revision", "must be positive, got -3"));
  EXPECT_THAT(v[2], Pair("expected_revision", "must not be negative"));
  restore.set_name("articles/ok");
  restore.set_revision(0);
  a = client_->RestoreArticleRevision(restore);
  ASSERT_TRUE(absl::IsInvalidArgument(a.status())) << a.status();
  EXPECT_THAT(Violated(a.status()),
              ::testing::ElementsAre(
                  Pair("revision", "required, the revision number to restore"),
                  Pair("expected_revision", "must not be negative")));
}

TEST_F(ErrorsTest, EveryBadFieldOfAReadByNameIsNamed) {
  v1::DiffArticleRevisionsRequest diff;
  diff.set_from_revision(-1);
  diff.set_to_revision(-2);
  absl::StatusOr<v1::DiffArticleRevisionsResponse> d =
      client_->DiffArticleRevisions(diff);
  ASSERT_TRUE(absl::IsInvalidArgument(d.status())) << d.status();
  EXPECT_THAT(
      Violated(d.status()),
      ::testing::ElementsAre(Pair("name", "is required (articles/{id})"),
                             Pair("from_revision", "must not be negative"),
                             Pair("to_revision", "must not be negative")));

  v1::ListTranslationsRequest translations;
  translations.set_name("articles/bad id");
  translations.set_visibility(static_cast<v1::Visibility>(7));
  translations.set_view(static_cast<v1::ArticleView>(9));
  absl::StatusOr<v1::ListTranslationsResponse> t =
      client_->ListTranslations(translations);
  ASSERT_TRUE(absl::IsInvalidArgument(t.status())) << t.status();
  std::vector<std::pair<std::string, std::string>> v = Violated(t.status());
  ASSERT_EQ(v.size(), 3u) << t.status();
  EXPECT_EQ(v[0].first, "name");
  EXPECT_THAT(v[0].second, StartsWith("must be 1-128 characters"));
  EXPECT_THAT(v[1], Pair("visibility", "unknown value 7"));
  EXPECT_THAT(v[2], Pair("view", "unknown value 9"));

  v1::BatchGetArticlesRequest batch;
  batch.add_names(ArticleName("fine"));
  batch.add_names("fine");
  batch.add_names("articles/");
  batch.set_view(static_cast<v1::ArticleView>(9));
  batch.set_visibility(static_cast<v1::Visibility>(7));
  absl::StatusOr<v1::BatchGetArticlesResponse> b =
      client_->BatchGetArticles(batch);
  ASSERT_TRUE(absl::IsInvalidArgument(b.status())) << b.status();
  v = Violated(b.status());
  ASSERT_EQ(v.size(), 4u) << b.status();
  EXPECT_THAT(v[0], Pair("names[1]",
                         "must have the form articles/{id}; got "
                         "\"fine\""));
  EXPECT_EQ(v[1].first, "names[2]");
  EXPECT_THAT(v[1].second, StartsWith("must be 1-128 characters"));
  EXPECT_THAT(v[2], Pair("view", "unknown value 9"));
  EXPECT_THAT(v[3], Pair("visibility", "unknown value 7"));
  // No names at all is one violation among the others.
  batch.clear_names();
  b = client_->BatchGetArticles(batch);
  ASSERT_TRUE(absl::IsInvalidArgument(b.status())) << b.status();
  EXPECT_THAT(
      Violated(b.status()),
      ::testing::ElementsAre(Pair("names", "at least one name is required"),
                             Pair("view", "unknown value 9"),
                             Pair("visibility", "unknown value 7")));
}

// A watch's request too, and each filter field a watch does not apply,
// not only the first.
TEST_F(ErrorsTest, EveryBadFieldOfAWatchIsNamed) {
  v1::WatchArticlesRequest req;
  req.set_after_sequence(-1);
  req.mutable_filter()->add_tags("");
  req.mutable_filter()->set_text("news");
  req.mutable_filter()->add_states(v1::Article::PUBLISHED);
  req.set_view(static_cast<v1::WatchArticlesRequest::View>(9));
  int events = 0;
  const absl::Status s = client_->Watch(req, [&](const auto&) {
    ++events;
    return false;
  });
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(events, 0);
  constexpr absl::string_view kNotApplied =
      "not applied to a watch, which filters on tags, not_tags, tag_match, "
      "categories, langs and visibility only";
  EXPECT_THAT(Violated(s), ::testing::ElementsAre(
                               Pair("after_sequence", "must not be negative"),
                               Pair("filter.tags[0]", "must not be empty"),
                               Pair("filter.text", kNotApplied),
                               Pair("filter.states", kNotApplied),
                               Pair("view", "unknown value 9")));
}

TEST_F(ErrorsTest, StaleRevisionSaysRevisionMismatchAndTheCurrentRevision) {
  CreateTwice("stale");
  v1::UpdateArticleRequest req;
  *req.mutable_article() = Simple("three");
  req.mutable_article()->set_name("articles/stale");
  req.set_expected_revision(1);
  absl::StatusOr<v1::Article> r = client_->UpdateArticle(req);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
      << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "REVISION_MISMATCH");
  const std::map<std::string, std::string> m = ErrorMetadata(r.status());
  EXPECT_THAT(m, Contains(Pair("current_revision", "2")));
  EXPECT_THAT(m, Contains(Pair("expected_revision", "1")));
  EXPECT_THAT(m, Contains(Pair("name", "articles/stale")));
  EXPECT_TRUE(FieldViolations(r.status()).empty());

  // By etag: the same, with the etags.
  req.set_expected_revision(0);
  req.mutable_article()->set_etag("\"nope\"");
  r = client_->UpdateArticle(req);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(r.status()), "ETAG_MISMATCH");
  EXPECT_THAT(ErrorMetadata(r.status()),
              Contains(Pair("current_revision", "2")));
  EXPECT_THAT(ErrorMetadata(r.status()),
              Contains(Pair("expected_etag", "\"nope\"")));
}

TEST_F(ErrorsTest, MissingDeletedAndTakenArticlesSayWhich) {
  absl::StatusOr<v1::Article> r = client_->Get("never-there");
  ASSERT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "ARTICLE_NOT_FOUND");

  CreateTwice("gone");
  r = client_->Get("gone", 7);
  EXPECT_EQ(ErrorReason(r.status()), "REVISION_NOT_FOUND");
  v1::DeleteArticleRequest del;
  del.set_name("articles/gone");
  ASSERT_TRUE(client_->DeleteArticle(del).ok());
  r = client_->Get("gone");
  ASSERT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "ARTICLE_DELETED");
  EXPECT_THAT(ErrorMetadata(r.status()), Contains(Pair("revision", "3")));

  v1::CreateArticleRequest create;
  create.set_article_id("gone");
  *create.mutable_article() = Simple("again");
  r = client_->CreateArticle(create);
  ASSERT_TRUE(absl::IsAlreadyExists(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "ARTICLE_ALREADY_EXISTS");
  EXPECT_THAT(ErrorMetadata(r.status()),
              Contains(Pair("current_revision", "3")));
}

// REVISION_NOT_FOUND carries the head as `current_revision` besides the
// revision asked for, so that a client can say where the head is without
// reading it (contentctl's `diff x 5 4`): from a read, a diff and a
// restore, and from the reader's error of a revision readers may not read
// (a draft), whose head is live and theirs to read.
TEST_F(ErrorsTest, AMissingRevisionSaysWhereTheHeadIs) {
  CreateTwice("head-meta");
  const auto expect_missing = [](const absl::Status& s,
                                 const std::string& revision,
                                 const std::string& head) {
    ASSERT_TRUE(absl::IsNotFound(s)) << s;
    EXPECT_EQ(ErrorReason(s), "REVISION_NOT_FOUND");
    const std::map<std::string, std::string> m = ErrorMetadata(s);
    EXPECT_THAT(m, Contains(Pair("name", "articles/head-meta")));
    EXPECT_THAT(m, Contains(Pair("revision", revision)));
    EXPECT_THAT(m, Contains(Pair("current_revision", head)));
  };
  v1::GetArticleRequest get;
  get.set_name("articles/head-meta");
  get.set_revision(7);
  get.set_visibility(v1::VISIBILITY_ALL);
  expect_missing(client_->GetArticle(get).status(), "7", "2");
  v1::DiffArticleRevisionsRequest diff;
  diff.set_name("articles/head-meta");
  diff.set_from_revision(5);
  diff.set_to_revision(4);
  expect_missing(client_->DiffArticleRevisions(diff).status(), "4", "2");
  v1::RestoreArticleRevisionRequest restore;
  restore.set_name("articles/head-meta");
  restore.set_revision(9);
  expect_missing(client_->RestoreArticleRevision(restore).status(), "9", "2");

  // A draft revision 3 under a live head 4, read as readers read.
  v1::UpdateArticleRequest update;
  *update.mutable_article() = Simple("draft");
  update.mutable_article()->set_name("articles/head-meta");
  update.mutable_article()->set_state(v1::Article::DRAFT);
  ASSERT_TRUE(client_->UpdateArticle(update).ok());
  update.mutable_article()->set_title("four");
  update.mutable_article()->set_state(v1::Article::PUBLISHED);
  ASSERT_TRUE(client_->UpdateArticle(update).ok());
  get.set_revision(3);
  get.set_visibility(v1::VISIBILITY_LIVE);
  const absl::Status s = client_->GetArticle(get).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("readers may read"));
  expect_missing(s, "3", "4");
}

// A request with several bad fields gets each of them back, not just the
// first: the name and a tag, on each write that takes an article.
TEST_F(ErrorsTest, EveryBadFieldOfAnArticleIsNamed) {
  v1::Article bad = Simple("");
  bad.add_tags(" padded");
  v1::CreateArticleRequest create;
  create.set_article_id("-bad id");
  *create.mutable_article() = bad;
  absl::StatusOr<v1::Article> r = client_->CreateArticle(create);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("article_id: must be 1-128 characters"));
  std::vector<FieldViolation> v = FieldViolations(r.status());
  ASSERT_EQ(v.size(), 3u) << r.status();
  EXPECT_EQ(v[0].field, "article_id");
  EXPECT_EQ(v[1].field, "article.title");
  EXPECT_EQ(v[2].field, "article.tags[0]");
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("; article.title: is required; article.tags[0]: must "
                        "not start or end with a space"));

  v1::UpdateArticleRequest update;
  *update.mutable_article() = bad;
  update.mutable_article()->set_name("posts/x");
  r = client_->UpdateArticle(update);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  v = FieldViolations(r.status());
  ASSERT_EQ(v.size(), 3u) << r.status();
  EXPECT_EQ(v[0].field, "article.name");
  EXPECT_EQ(v[1].field, "article.title");
  EXPECT_EQ(v[2].field, "article.tags[0]");
  // Nothing was written.
  EXPECT_TRUE(absl::IsNotFound(client_->Get("x").status()));

  v1::ImportArticlesRequest batch;
  *batch.add_articles() = bad;
  batch.mutable_articles(0)->set_name("articles/");
  const std::vector<v1::ImportResult> results = ImportOneBatch(batch);
  ASSERT_EQ(results.size(), 1u);
  const v1::ImportResult& result = results[0];
  EXPECT_EQ(result.outcome(), v1::ImportResult::OUTCOME_FAILED);
  EXPECT_EQ(result.error_code(), 3);
  EXPECT_EQ(result.reason(), "INVALID_ARGUMENT");
  EXPECT_THAT(result.error(), StartsWith("articles[0].name: "));
  EXPECT_THAT(result.error(),
              HasSubstr("; articles[0].title: is required; "
                        "articles[0].tags[0]: must not start or end"));
}

// A read names every bad field of its request too, not only the first,
// and reads nothing: a missing article answers bad input the same.
TEST_F(ErrorsTest, EveryBadFieldOfAGetIsNamed) {
  v1::GetArticleRequest get;
  get.set_name("posts/x");
  get.set_lang("en");
  get.set_revision(2);
  get.add_fallback_langs("");
  get.add_fallback_langs("zz-!!");
  absl::StatusOr<v1::Article> r = client_->GetArticle(get);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  std::vector<FieldViolation> v = FieldViolations(r.status());
  ASSERT_EQ(v.size(), 4u) << r.status();
  EXPECT_EQ(v[0].field, "name");
  EXPECT_EQ(v[1].field, "lang");
  EXPECT_EQ(v[1].description, "cannot be combined with revision");
  EXPECT_EQ(v[2].field, "fallback_langs[0]");
  EXPECT_EQ(v[3].field, "fallback_langs[1]");
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("; lang: cannot be combined with revision; "
                        "fallback_langs[0]: must be a non-empty language "
                        "tag; fallback_langs[1]: "));

  get.Clear();
  get.set_name("articles/never-written");
  get.set_revision(-1);
  get.add_fallback_langs("en");
  r = client_->GetArticle(get);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  v = FieldViolations(r.status());
  ASSERT_EQ(v.size(), 2u) << r.status();
  EXPECT_EQ(v[0].field, "fallback_langs");
  EXPECT_EQ(v[0].description, "needs lang");
  EXPECT_EQ(v[1].field, "revision");

  // contentctl leads each with its flag (its own checks pass these).
  const CommandResult ctl = Ctl(
      {"get", "bad!id", "--lang", "en", "--fallback",
       "aab,abb,acb,adb,aeb,afb,agb,ahb,aib,ajb,akb,alb,amb,anb,aob,apb,aqb"});
  EXPECT_EQ(ctl.exit_code, 1);
  EXPECT_THAT(ctl.err, HasSubstr("ID: name: must be 1-128 characters"));
  EXPECT_THAT(ctl.err, HasSubstr("; --fallback: fallback_langs: at most 16, "
                                 "got 17"));
}

// Many long violations still reach the client as INVALID_ARGUMENT: the
// message and its details travel in the trailers, which gRPC clients
// refuse over 8 KiB (RESOURCE_EXHAUSTED "received initial metadata size
// exceeds limit"), so the message stops at about 1 KiB and counts the rest.
TEST_F(ErrorsTest, ManyLongViolationsStillArriveAsABadRequest) {
  v1::Article bad = Simple("many bad tags");
  for (int i = 0; i < 25; ++i) {
    // An edge space, and 21 CJK characters (63 bytes) the message quotes.
    std::string tag = " ";
    for (int j = 0; j < 21; ++j) tag += "标";
    bad.add_tags(absl::StrCat(tag, i));
  }
  v1::CreateArticleRequest create;
  create.set_article_id("many-bad-tags");
  *create.mutable_article() = bad;
  absl::StatusOr<v1::Article> r = client_->CreateArticle(create);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  const std::string message(r.status().message());
  EXPECT_THAT(message, StartsWith("article.tags[0]: must not start or end "
                                  "with a space"));
  EXPECT_LE(message.size(), 1100u);
  const std::vector<FieldViolation> v = FieldViolations(r.status());
  ASSERT_GE(v.size(), 2u);
  EXPECT_EQ(v[1].field, "article.tags[1]");
  EXPECT_THAT(message,
              EndsWith(absl::StrCat("(and ", 25 - v.size(), " more)")));

  v1::GetArticleRequest get;
  get.set_name("articles/many-bad-tags");
  get.set_lang("zh-CN");
  for (int i = 0; i < 17; ++i) get.add_fallback_langs(absl::StrCat("x", i));
  absl::StatusOr<v1::Article> g = client_->GetArticle(get);
  ASSERT_TRUE(absl::IsInvalidArgument(g.status())) << g.status();
  EXPECT_THAT(std::string(g.status().message()),
              StartsWith("fallback_langs: at most 16, got 17; "));
  EXPECT_THAT(std::string(g.status().message()), HasSubstr(" more)"));
}

// Each failed result of ImportArticles and BatchGetArticles says its
// reason, as an error of the single-article calls would.
TEST_F(ErrorsTest, BatchResultsCarryTheirReason) {
  CreateTwice("batch-here");
  CreateTwice("batch-gone");
  v1::DeleteArticleRequest del;
  del.set_name("articles/batch-gone");
  ASSERT_TRUE(client_->DeleteArticle(del).ok());

  v1::BatchGetArticlesRequest get;
  get.add_names("articles/batch-here");
  get.add_names("articles/batch-none");
  get.add_names("articles/batch-gone");
  get.set_visibility(v1::VISIBILITY_ALL);
  absl::StatusOr<v1::BatchGetArticlesResponse> got =
      client_->BatchGetArticles(get);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->results_size(), 3);
  EXPECT_EQ(got->results(0).reason(), "");
  EXPECT_EQ(got->results(1).reason(), "ARTICLE_NOT_FOUND");
  EXPECT_EQ(got->results(1).error_code(), 5);
  EXPECT_EQ(got->results(2).reason(), "ARTICLE_DELETED");

  // Two malformed names: both named.
  get.add_names("nope");
  get.add_names("articles/");
  got = client_->BatchGetArticles(get);
  ASSERT_TRUE(absl::IsInvalidArgument(got.status())) << got.status();
  const std::vector<FieldViolation> v = FieldViolations(got.status());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "names[3]");
  EXPECT_EQ(v[1].field, "names[4]");

  v1::ImportArticlesRequest batch;
  v1::Article taken = Simple("new");
  taken.set_name("articles/batch-ok");
  *batch.add_articles() = taken;
  v1::Article big = Simple("big");
  big.set_name("articles/batch-big");
  big.set_body(std::string(2 << 20, 'x'));  // over the 1 MiB default
  *batch.add_articles() = big;
  const std::vector<v1::ImportResult> results = ImportOneBatch(batch);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome(), v1::ImportResult::OUTCOME_CREATED);
  EXPECT_EQ(results[0].reason(), "");
  EXPECT_EQ(results[1].outcome(), v1::ImportResult::OUTCOME_FAILED);
  EXPECT_EQ(results[1].reason(), "ARTICLE_TOO_LARGE");
}

// And the metadata that the ErrorInfo of a single-article call carries:
// ARTICLE_TOO_LARGE's limit_bytes and size_bytes were lost for imports.
TEST_F(ErrorsTest, BatchResultsCarryTheMetadataOfTheirReason) {
  v1::Article big = Simple("big");
  big.set_name("articles/meta-big");
  big.set_body(std::string(2 << 20, 'x'));  // over the 1 MiB default
  v1::CreateArticleRequest create;
  create.set_article_id("meta-big");
  *create.mutable_article() = big;
  create.mutable_article()->clear_name();
  const absl::Status single = client_->CreateArticle(create).status();
  ASSERT_EQ(ErrorReason(single), "ARTICLE_TOO_LARGE") << single;
  const std::map<std::string, std::string> expected = ErrorMetadata(single);
  ASSERT_THAT(expected, Contains(Pair("limit_bytes", "1048576")));

  v1::ImportArticlesRequest batch;
  *batch.add_articles() = big;
  v1::Article fine = Simple("fine");
  fine.set_name("articles/meta-fine");
  *batch.add_articles() = fine;
  const std::vector<v1::ImportResult> results = ImportOneBatch(batch);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].reason(), "ARTICLE_TOO_LARGE");
  const std::map<std::string, std::string> imported(
      results[0].metadata().begin(), results[0].metadata().end());
  EXPECT_EQ(imported, expected);
  EXPECT_THAT(imported,
              Contains(Pair("size_bytes", expected.at("size_bytes"))));
  EXPECT_TRUE(results[1].metadata().empty());

  CreateTwice("meta-gone");
  v1::DeleteArticleRequest del;
  del.set_name("articles/meta-gone");
  ASSERT_TRUE(client_->DeleteArticle(del).ok());
  v1::BatchGetArticlesRequest get;
  get.add_names("articles/meta-gone");
  get.add_names("articles/meta-none");
  absl::StatusOr<v1::BatchGetArticlesResponse> got =
      client_->BatchGetArticles(get);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->results_size(), 2);
  EXPECT_EQ(got->results(0).reason(), "ARTICLE_DELETED");
  const std::map<std::string, std::string> deleted(
      got->results(0).metadata().begin(), got->results(0).metadata().end());
  EXPECT_EQ(deleted, (std::map<std::string, std::string>{
                         {"name", "articles/meta-gone"}, {"revision", "3"}}));
  EXPECT_TRUE(got->results(1).metadata().empty());
}

TEST_F(ErrorsTest, AMissingTranslationSaysTranslationNotFound) {
  v1::CreateArticleRequest create;
  create.set_article_id("launch.en");
  *create.mutable_article() = Simple("Launch");
  create.mutable_article()->add_lang("en");
  ASSERT_TRUE(client_->CreateArticle(create).ok());
  GetOptions o;
  o.lang = "fr";
  o.fallback_langs = {"de"};
  absl::StatusOr<v1::Article> r = client_->Get("launch.en", o);
  ASSERT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "TRANSLATION_NOT_FOUND");
  EXPECT_THAT(ErrorMetadata(r.status()),
              Contains(Pair("name", "articles/launch.en")));
  EXPECT_THAT(ErrorMetadata(r.status()), Contains(Pair("langs", "fr,de")));
}

// A number with no JSON spelling is refused where it is sent, so that
// get -o json and export never meet one.
TEST_F(ErrorsTest, ParamsNumbersThatAreNotFiniteAreRefused) {
  v1::CreateArticleRequest create;
  create.set_article_id("rated");
  *create.mutable_article() = Simple("Rated");
  (*create.mutable_article()->mutable_params()->mutable_fields())["rating"]
      .set_number_value(std::numeric_limits<double>::infinity());
  absl::StatusOr<v1::Article> r = client_->CreateArticle(create);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_EQ(r.status().message(),
            "article.params.rating: must be a finite number");
  EXPECT_TRUE(absl::IsNotFound(client_->Get("rated").status()));
}

// Front matter's `.nan` and `.inf` are numbers, refused with the path;
// quoted, they are text and apply.
TEST_F(ErrorsTest, ApplyRefusesNanAndInfinityInFrontMatter) {
  const std::string dir = dir_->path() + "/nonfinite";
  ASSERT_EQ(RunCommand({"mkdir", "-p", dir}).exit_code, 0);
  testing::WriteFile(dir + "/nan.md",
                     "---\ntitle: N\nrating: .nan\n---\nBody.\n");
  testing::WriteFile(dir + "/inf.md",
                     "---\ntitle: I\nscores: {low: -.inf}\n---\nBody.\n");
  testing::WriteFile(dir + "/text.md",
                     "---\ntitle: T\nrating: \".nan\"\n---\nBody.\n");
  // Under a key with a typed field as well (it was the text ".inf" there).
  testing::WriteFile(dir + "/side.md",
                     "---\ntitle: S\nsidebar: .inf\n---\nBody.\n");
  testing::WriteFile(dir + "/sidetext.md",
                     "---\ntitle: S\nsidebar: \".inf\"\n---\nBody.\n");
  CommandResult r = Ctl({"apply", "-f", dir});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(dir + "/nan.md: error: INVALID_ARGUMENT: "
                                     "params.rating: must be a finite number"));
  EXPECT_THAT(r.err, HasSubstr(dir + "/inf.md: error: INVALID_ARGUMENT: "
                                     "params.scores.low: must be a finite "
                                     "number"));
  EXPECT_TRUE(absl::IsNotFound(client_->Get("nan").status()));
  absl::StatusOr<v1::Article> text = client_->Get("text");
  ASSERT_TRUE(text.ok()) << text.status() << r.err;
  EXPECT_EQ(text->params().fields().at("rating").string_value(), ".nan");
  EXPECT_THAT(r.err, HasSubstr(dir + "/side.md: error: INVALID_ARGUMENT: "
                                     "params.sidebar: must be a finite "
                                     "number"));
  EXPECT_TRUE(absl::IsNotFound(client_->Get("side").status()));
  absl::StatusOr<v1::Article> side_text = client_->Get("sidetext");
  ASSERT_TRUE(side_text.ok()) << side_text.status() << r.err;
  EXPECT_EQ(side_text->sidebar(), ".inf");
}

// apply -o json gives each failed file's reason beside its error, and the
// error names every bad key as the file has it.
TEST_F(ErrorsTest, ApplyPrintsEachFailedFilesReason) {
  const std::string dir = dir_->path() + "/apply-reasons";
  ASSERT_EQ(RunCommand({"mkdir", "-p", dir}).exit_code, 0);
  testing::WriteFile(dir + "/a.md",
                     "---\ntitle: \" \"\ntags: [ok, \" padded\"]\n"
                     "publishDate: 2025-02-01\nexpiryDate: 2025-01-01\n---\n"
                     "Body.\n");
  testing::WriteFile(dir + "/b.md", "---\ntitle: Fine\n---\nBody.\n");
  CommandResult r = Ctl({"apply", "-f", dir, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  google::protobuf::Value v;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &v).ok())
      << r.out;
  ASSERT_EQ(v.list_value().values_size(), 2) << r.out;
  const auto& a = v.list_value().values(0).struct_value().fields();
  EXPECT_EQ(a.at("result").string_value(), "failed");
  EXPECT_EQ(a.at("reason").string_value(), "INVALID_ARGUMENT");
  EXPECT_EQ(a.at("error").string_value(),
            "INVALID_ARGUMENT: title: is required; tags[1]: must not start or "
            "end with a space: \" padded\"; expiryDate: must be after "
            "publishDate");
  const auto& b = v.list_value().values(1).struct_value().fields();
  EXPECT_EQ(b.at("result").string_value(), "created");
  EXPECT_EQ(b.count("reason"), 0u);

  // Through UpdateArticle (--expected-revision): the reason of the call.
  r = Ctl(
      {"apply", "-f", dir + "/b.md", "--expected-revision", "7", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &v).ok())
      << r.out;
  EXPECT_EQ(v.list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("reason")
                .string_value(),
            "REVISION_MISMATCH");
}

// The google.rpc.Status field numbers, read with no definition of ours:
// Status {code 1, message 2, details 3}, each detail a
// google.protobuf.Any, ErrorInfo {reason 1, domain 2, metadata 3 of
// entries {key 1, value 2}} and BadRequest {field_violations 1 of {field 1,
// description 2}}, as googleapis defines them.
TEST_F(ErrorsTest, TheTrailerDecodesWithoutTheSdk) {
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials());
  v1::QueryArticlesRequest req;
  req.mutable_query()->add_categories("");
  std::string reply;
  const grpc::Status s = testing::RawUnaryCall(
      *channel, "/content.v1.ContentService/QueryArticles",
      req.SerializeAsString(), {}, &reply);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_FALSE(s.error_details().empty());

  google::protobuf::UnknownFieldSet status;
  ASSERT_TRUE(status.ParseFromString(s.error_details()));
  int64_t code = -1;
  std::string message;
  std::vector<google::protobuf::Any> details;
  for (int i = 0; i < status.field_count(); ++i) {
    const google::protobuf::UnknownField& f = status.field(i);
    if (f.number() == 1) code = static_cast<int64_t>(f.varint());
    if (f.number() == 2) message = f.length_delimited();
    if (f.number() == 3) {
      details.emplace_back();
      ASSERT_TRUE(details.back().ParseFromString(f.length_delimited()));
    }
  }
  EXPECT_EQ(code, 3);
  EXPECT_EQ(message, s.error_message());
  ASSERT_EQ(details.size(), 2u);

  EXPECT_EQ(details[0].type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  google::protobuf::UnknownFieldSet info;
  ASSERT_TRUE(info.ParseFromString(details[0].value()));
  std::map<int, std::string> info_fields;
  for (int i = 0; i < info.field_count(); ++i)
    info_fields[info.field(i).number()] = info.field(i).length_delimited();
  EXPECT_EQ(info_fields[1], "INVALID_ARGUMENT");
  EXPECT_EQ(info_fields[2], "contentd.v1");

  EXPECT_EQ(details[1].type_url(), "type.googleapis.com/google.rpc.BadRequest");
  google::protobuf::UnknownFieldSet bad;
  ASSERT_TRUE(bad.ParseFromString(details[1].value()));
  ASSERT_EQ(bad.field_count(), 1);
  EXPECT_EQ(bad.field(0).number(), 1);
  google::protobuf::UnknownFieldSet violation;
  ASSERT_TRUE(violation.ParseFromString(bad.field(0).length_delimited()));
  std::map<int, std::string> violation_fields;
  for (int i = 0; i < violation.field_count(); ++i) {
    violation_fields[violation.field(i).number()] =
        violation.field(i).length_delimited();
  }
  EXPECT_EQ(violation_fields[1], "query.categories[0]");
  EXPECT_EQ(violation_fields[2], "must not be empty");

  // A mismatch's metadata: map entries of key 1 and value 2.
  CreateTwice("raw");
  v1::DeleteArticleRequest del;
  del.set_name("articles/raw");
  del.set_expected_revision(1);
  const grpc::Status m = testing::RawUnaryCall(
      *channel, "/content.v1.ContentService/DeleteArticle",
      del.SerializeAsString(), {}, &reply);
  ASSERT_EQ(m.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(status.ParseFromString(m.error_details()));
  google::protobuf::Any any;
  for (int i = 0; i < status.field_count(); ++i) {
    if (status.field(i).number() == 3)
      ASSERT_TRUE(any.ParseFromString(status.field(i).length_delimited()));
  }
  ASSERT_TRUE(info.ParseFromString(any.value()));
  std::map<std::string, std::string> metadata;
  std::string reason;
  for (int i = 0; i < info.field_count(); ++i) {
    if (info.field(i).number() == 1) reason = info.field(i).length_delimited();
    if (info.field(i).number() != 3) continue;
    google::protobuf::UnknownFieldSet entry;
    ASSERT_TRUE(entry.ParseFromString(info.field(i).length_delimited()));
    std::string key, value;
    for (int j = 0; j < entry.field_count(); ++j) {
      if (entry.field(j).number() == 1) key = entry.field(j).length_delimited();
      if (entry.field(j).number() == 2)
        value = entry.field(j).length_delimited();
    }
    metadata[key] = value;
  }
  EXPECT_EQ(reason, "REVISION_MISMATCH");
  EXPECT_THAT(metadata, Contains(Pair("current_revision", "2")));
}

google::protobuf::Struct ParseStruct(const std::string& json) {
  google::protobuf::Struct out;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << json;
  return out;
}

TEST_F(ErrorsTest, ContentctlPrintsTheDetailsAsJsonUnderOJson) {
  CommandResult r = Ctl({"get", "no-such", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  google::protobuf::Struct e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("code").string_value(), "NOT_FOUND");
  EXPECT_THAT(e.fields().at("message").string_value(),
              StartsWith("articles/no-such not found"));
  EXPECT_EQ(e.fields().at("reason").string_value(), "ARTICLE_NOT_FOUND");
  EXPECT_EQ(e.fields().at("domain").string_value(), "contentd.v1");
  EXPECT_EQ(e.fields().at("metadata").struct_value().fields_size(), 0);
  EXPECT_EQ(e.fields().at("fieldViolations").list_value().values_size(), 0);

  // The flag leads the message, as on the text line; the field is the API's.
  r = Ctl({"query", "--tag", " x", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_THAT(e.fields().at("message").string_value(),
              StartsWith("--tag: query.tags[0]: must not start or end"));
  const auto& violations = e.fields().at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 1);
  EXPECT_EQ(
      violations.values(0).struct_value().fields().at("field").string_value(),
      "query.tags[0]");

  CreateTwice("ctl");
  r = Ctl({"delete", "ctl", "--expected-revision", "1", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("reason").string_value(), "REVISION_MISMATCH");
  EXPECT_EQ(MetadataValue(e.fields(), "current_revision"), "2");

  // A deleted article's hint stays in the message, with the reason.
  ASSERT_EQ(Ctl({"delete", "ctl"}).exit_code, 0);
  r = Ctl({"get", "ctl", "-o", "json"});
  e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("reason").string_value(), "ARTICLE_DELETED");
  EXPECT_THAT(e.fields().at("message").string_value(),
              HasSubstr("--show-deleted"));

  // admin backup leads with DESTINATION: and keeps the details.
  r = Ctl({"admin", "backup", "relative/dir", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseStruct(r.err);
  EXPECT_THAT(e.fields().at("message").string_value(),
              StartsWith("DESTINATION: destination: "));
  EXPECT_EQ(e.fields().at("reason").string_value(), "INVALID_ARGUMENT");
  ASSERT_EQ(e.fields().at("fieldViolations").list_value().values_size(), 1);
  EXPECT_EQ(e.fields()
                .at("fieldViolations")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("field")
                .string_value(),
            "destination");

  // Without -o json: one line, as before.
  r = Ctl({"get", "no-such"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              StartsWith("Error: NOT_FOUND: articles/no-such not found"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // A connection error has no details: "" and empty lists.
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                  "2s", "get", "x", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("reason").string_value(), "");
  EXPECT_THAT(e.fields().at("message").string_value(),
              HasSubstr("127.0.0.1:1"));
}

}  // namespace
}  // namespace content
