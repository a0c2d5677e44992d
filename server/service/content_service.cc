#include "server/service/content_service.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "server/query/engine.h"
#include "server/query/page_token.h"
#include "server/service/bulk.h"
#include "server/service/reactors.h"
#include "server/store/keys.h"

namespace content::service {
namespace {

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx,
                                 const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

constexpr int kDefaultFacetLimit = 10;
constexpr int kMaxFacetLimit = 100;

absl::Status CheckView(v1::ArticleView view, absl::string_view field) {
  if (!v1::ArticleView_IsValid(view)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": unknown value ", static_cast<int>(view)));
  }
  return absl::OkStatus();
}

std::string GenerateId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local absl::BitGen gen;
  std::string id(16, ' ');
  for (char& c : id) c = kAlphabet[absl::Uniform<int>(gen, 0, 36)];
  return id;
}

}  // namespace

absl::Status ContentService::Allow(const grpc::ServerContextBase& ctx,
                                   Role needed) {
  if (auth_ == nullptr) return absl::OkStatus();
  return auth_->Authorize(ctx, needed).status();
}

ContentService::ContentService(store::Store* store,
                               const ServiceOptions& options,
                               Authenticator* auth)
    : auth_(auth),
      store_(store),
      options_(options),
      writes_(options.write_threads),
      watch_(store, options.watch) {}

ContentService::~ContentService() = default;

grpc::ServerUnaryReactor* ContentService::Offload(
    grpc::CallbackServerContext* ctx, std::function<absl::Status()> work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // A call without a deadline gets the server's default, so a write that
  // queued behind a slow disk for longer than anyone waits is shed.
  const auto deadline = std::min(
      ctx->deadline(),
      std::chrono::system_clock::now() +
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              absl::ToChronoNanoseconds(options_.default_deadline)));
  auto run = [ctx, reactor, deadline, work = std::move(work)] {
    // A write whose caller has already given up (deadline passed while it
    // queued, or cancelled) must not be applied: the caller was told
    // DEADLINE_EXCEEDED/CANCELLED and will not expect it to have happened.
    // (Found by tests/reliability/bad_input_test.cc: a zero deadline wrote.)
    if (ctx->IsCancelled() || deadline <= std::chrono::system_clock::now()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "deadline passed before the write began"));
      return;
    }
    reactor->Finish(ToGrpcStatus(work()));
  };
  if (!writes_.Submit(std::move(run))) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"));
  }
  return reactor;
}

absl::Status ContentService::DoCreate(const v1::CreateArticleRequest& req,
                                      v1::Article* resp) {
  std::string id = req.article_id();
  if (id.empty()) {
    id = GenerateId();
  } else {
    absl::Status s = ValidateId(id, "article_id");
    if (!s.ok()) return s;
  }
  absl::Status s = ValidateArticle(req.article(), options_.limits, "article");
  if (!s.ok()) return s;
  absl::StatusOr<v1::Article> a = store_->Create(id, req.article());
  if (!a.ok()) return a.status();
  *resp = *std::move(a);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ContentService::CreateArticle(
    grpc::CallbackServerContext* ctx, const v1::CreateArticleRequest* req,
    v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  return Offload(ctx, [this, req, resp] { return DoCreate(*req, resp); });
}

grpc::ServerUnaryReactor* ContentService::GetArticle(
    grpc::CallbackServerContext* ctx, const v1::GetArticleRequest* req,
    v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  absl::StatusOr<std::string> id = ParseName(req->name(), "name");
  if (!id.ok()) return Finish(ctx, id.status());
  absl::StatusOr<v1::Article> a =
      store_->Get(*id, req->revision(), req->show_deleted());
  if (a.ok()) *resp = *std::move(a);
  return Finish(ctx, a.status());
}

absl::Status ContentService::DoUpdate(const v1::UpdateArticleRequest& req,
                                      v1::Article* resp) {
  absl::StatusOr<std::string> id =
      ParseName(req.article().name(), "article.name");
  if (!id.ok()) return id.status();
  if (req.expected_revision() < 0)
    return absl::InvalidArgumentError(
        "expected_revision: must not be negative");
  absl::Status s = ValidateArticle(req.article(), options_.limits, "article");
  if (!s.ok()) return s;
  absl::StatusOr<v1::Article> a = store_->Update(
      *id, req.article(), {req.expected_revision(), req.article().etag()});
  if (!a.ok()) return a.status();
  *resp = *std::move(a);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ContentService::UpdateArticle(
    grpc::CallbackServerContext* ctx, const v1::UpdateArticleRequest* req,
    v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  return Offload(ctx, [this, req, resp] { return DoUpdate(*req, resp); });
}

grpc::ServerUnaryReactor* ContentService::DeleteArticle(
    grpc::CallbackServerContext* ctx, const v1::DeleteArticleRequest* req,
    v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  return Offload(ctx, [this, req, resp]() -> absl::Status {
    absl::StatusOr<std::string> id = ParseName(req->name(), "name");
    if (!id.ok()) return id.status();
    if (req->expected_revision() < 0)
      return absl::InvalidArgumentError(
          "expected_revision: must not be negative");
    absl::StatusOr<v1::Article> a =
        store_->Delete(*id, {req->expected_revision(), req->etag()});
    if (!a.ok()) return a.status();
    *resp = *std::move(a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContentService::UndeleteArticle(
    grpc::CallbackServerContext* ctx, const v1::UndeleteArticleRequest* req,
    v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  return Offload(ctx, [this, req, resp]() -> absl::Status {
    absl::StatusOr<std::string> id = ParseName(req->name(), "name");
    if (!id.ok()) return id.status();
    if (req->expected_revision() < 0)
      return absl::InvalidArgumentError(
          "expected_revision: must not be negative");
    absl::StatusOr<v1::Article> a =
        store_->Undelete(*id, {req->expected_revision(), req->etag()});
    if (!a.ok()) return a.status();
    *resp = *std::move(a);
    return absl::OkStatus();
  });
}

absl::Status ContentService::DoListRevisions(
    const v1::ListArticleRevisionsRequest& req,
    v1::ListArticleRevisionsResponse* resp) {
  absl::StatusOr<std::string> id = ParseName(req.name(), "name");
  if (!id.ok()) return id.status();
  absl::StatusOr<int> page_size = PageSize(req.page_size(), options_.limits);
  if (!page_size.ok()) return page_size.status();

  // The token holds the next revision to return, bound to the article.
  std::string binding = absl::StrCat("revisions/", *id);
  int64_t start = 0;
  if (!req.page_token().empty()) {
    absl::StatusOr<std::string> payload =
        query::OpenPageToken(req.page_token(), store_->token_key());
    if (!payload.ok()) return payload.status();
    if (payload->size() != 8 + binding.size() ||
        payload->substr(8) != binding) {
      return absl::InvalidArgumentError(
          "page_token: was issued for a different article");
    }
    start = static_cast<int64_t>(store::ReadBigEndian64(*payload));
    if (start <= 0) return absl::OkStatus();
  }
  absl::StatusOr<std::vector<v1::Article>> revisions =
      store_->ListRevisions(*id, start, *page_size + 1);
  if (!revisions.ok()) return revisions.status();
  const bool more = static_cast<int>(revisions->size()) > *page_size;
  if (more) revisions->pop_back();
  for (v1::Article& a : *revisions) *resp->add_revisions() = std::move(a);
  if (more) {
    std::string payload;
    store::AppendBigEndian64(
        &payload,
        static_cast<uint64_t>(resp->revisions().rbegin()->revision() - 1));
    payload += binding;
    resp->set_next_page_token(
        query::SealPageToken(payload, store_->token_key()));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ContentService::ListArticleRevisions(
    grpc::CallbackServerContext* ctx,
    const v1::ListArticleRevisionsRequest* req,
    v1::ListArticleRevisionsResponse* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  return Finish(ctx, DoListRevisions(*req, resp));
}

absl::Status ContentService::DoQuery(const v1::QueryArticlesRequest& req,
                                     v1::QueryArticlesResponse* resp) {
  absl::StatusOr<int> page_size = PageSize(req.page_size(), options_.limits);
  if (!page_size.ok()) return page_size.status();
  absl::Status s = ValidateQuery(req.query(), options_.limits);
  if (!s.ok()) return s;
  query::QueryOptions options;
  options.page_size = *page_size;
  options.page_token = req.page_token();
  if (!(s = CheckView(req.view(), "view")).ok()) return s;
  options.view = req.view();
  for (int i = 0; i < req.facets_size(); ++i) {
    const std::string field = absl::StrCat("facets[", i, "]");
    const v1::FacetField f = req.facets(i);
    if (f == v1::FACET_FIELD_UNSPECIFIED || !v1::FacetField_IsValid(f)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field,
                       ": must be FACET_FIELD_TAGS, FACET_FIELD_CATEGORIES or "
                       "FACET_FIELD_LANG, got ",
                       static_cast<int>(f)));
    }
    if (std::find(options.facets.begin(), options.facets.end(), f) !=
        options.facets.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": duplicate facet ", v1::FacetField_Name(f)));
    }
    options.facets.push_back(f);
  }
  if (req.facet_limit() < 0 || req.facet_limit() > kMaxFacetLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("facet_limit: must be between 0 and ", kMaxFacetLimit,
                     ", got ", req.facet_limit()));
  }
  options.facet_limit =
      req.facet_limit() == 0 ? kDefaultFacetLimit : req.facet_limit();
  absl::StatusOr<query::QueryPage> page =
      query::RunQuery(*store_, req.query(), options);
  if (!page.ok()) return page.status();
  for (v1::Article& a : page->articles) *resp->add_articles() = std::move(a);
  resp->set_next_page_token(std::move(page->next_page_token));
  resp->set_total_size(page->total_size);
  for (v1::Facet& f : page->facets) *resp->add_facets() = std::move(f);
  if (!options.facets.empty()) {
    resp->set_facets_complete(page->facets_complete);
    resp->set_facet_articles_counted(page->facet_articles_counted);
  }
  return absl::OkStatus();
}

absl::Status ContentService::DoBatchGet(const v1::BatchGetArticlesRequest& req,
                                        v1::BatchGetArticlesResponse* resp) {
  if (req.names_size() == 0)
    return absl::InvalidArgumentError("names: at least one name is required");
  if (req.names_size() > options_.limits.max_batch_get) {
    return absl::InvalidArgumentError(
        absl::StrCat("names: at most ", options_.limits.max_batch_get,
                     " names, got ", req.names_size()));
  }
  absl::Status s = CheckView(req.view(), "view");
  if (!s.ok()) return s;
  std::vector<std::string> ids;
  ids.reserve(req.names_size());
  for (int i = 0; i < req.names_size(); ++i) {
    absl::StatusOr<std::string> id =
        ParseName(req.names(i), absl::StrCat("names[", i, "]"));
    if (!id.ok()) return id.status();
    ids.push_back(*std::move(id));
  }
  // One snapshot, so the articles are from one moment.
  std::unique_ptr<store::ReadView> view = store_->NewReadView();
  for (int i = 0; i < req.names_size(); ++i) {
    v1::BatchGetArticlesResult* r = resp->add_results();
    r->set_name(req.names(i));
    absl::StatusOr<v1::Article> a = view->Head(ids[i]);
    if (a.ok() && a->has_delete_time() && !req.show_deleted()) {
      a = absl::NotFoundError(absl::StrCat(req.names(i), " is deleted"));
    }
    if (absl::IsNotFound(a.status())) {
      r->set_error_code(static_cast<int32_t>(a.status().code()));
      r->set_error(std::string(a.status().message()));
      continue;
    }
    if (!a.ok()) return a.status();  // storage trouble fails the call
    if (req.view() == v1::ARTICLE_VIEW_BASIC) a->clear_body();
    *r->mutable_article() = *std::move(a);
  }
  return absl::OkStatus();
}

absl::Status ContentService::DoListTerms(
    store::IndexKind kind, absl::string_view list, int32_t requested_size,
    const std::string& page_token, const std::string& prefix,
    google::protobuf::RepeatedPtrField<v1::TermCount>* out,
    std::string* next_page_token) {
  absl::StatusOr<int> page_size = PageSize(requested_size, options_.limits);
  if (!page_size.ok()) return page_size.status();
  if (!IsValidUtf8(prefix))
    return absl::InvalidArgumentError("prefix: must be valid UTF-8");
  // The token holds the last term returned, bound to the list and prefix.
  const std::string binding = absl::StrCat(list, "/", prefix);
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> payload =
        query::OpenPageToken(page_token, store_->token_key());
    if (!payload.ok()) return payload.status();
    const size_t nul = payload->find('\0');
    if (nul == std::string::npos || payload->substr(0, nul) != binding) {
      return absl::InvalidArgumentError(absl::StrCat(
          "page_token: was issued for another listing; send the same prefix "
          "to the same RPC"));
    }
    after = payload->substr(nul + 1);
  }
  std::unique_ptr<store::ReadView> view = store_->NewReadView();
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> counts =
      view->ListCounts(kind, prefix, after, *page_size + 1);
  if (!counts.ok()) return counts.status();
  const bool more = static_cast<int>(counts->size()) > *page_size;
  if (more) counts->pop_back();
  for (auto& [term, n] : *counts) {
    v1::TermCount* tc = out->Add();
    tc->set_value(term);
    tc->set_article_count(n);
  }
  if (more) {
    *next_page_token = query::SealPageToken(
        absl::StrCat(binding, std::string(1, '\0'), counts->back().first),
        store_->token_key());
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ContentService::BatchGetArticles(
    grpc::CallbackServerContext* ctx, const v1::BatchGetArticlesRequest* req,
    v1::BatchGetArticlesResponse* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  return Finish(ctx, DoBatchGet(*req, resp));
}

grpc::ServerUnaryReactor* ContentService::ListTags(
    grpc::CallbackServerContext* ctx, const v1::ListTagsRequest* req,
    v1::ListTagsResponse* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  return Finish(
      ctx, DoListTerms(store::IndexKind::kTag, "tags", req->page_size(),
                       req->page_token(), req->prefix(), resp->mutable_tags(),
                       resp->mutable_next_page_token()));
}

grpc::ServerUnaryReactor* ContentService::ListCategories(
    grpc::CallbackServerContext* ctx, const v1::ListCategoriesRequest* req,
    v1::ListCategoriesResponse* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  return Finish(ctx, DoListTerms(store::IndexKind::kCategory, "categories",
                                 req->page_size(), req->page_token(),
                                 req->prefix(), resp->mutable_categories(),
                                 resp->mutable_next_page_token()));
}

grpc::ServerUnaryReactor* ContentService::QueryArticles(
    grpc::CallbackServerContext* ctx, const v1::QueryArticlesRequest* req,
    v1::QueryArticlesResponse* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  return Finish(ctx, DoQuery(*req, resp));
}

}  // namespace content::service

namespace content::service {

grpc::ServerWriteReactor<v1::WatchArticlesResponse>*
ContentService::WatchArticles(grpc::CallbackServerContext* ctx,
                              const v1::WatchArticlesRequest* req) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return new FailedWriteReactor<v1::WatchArticlesResponse>(s);
  return watch_.Open(ctx, req);
}

grpc::ServerBidiReactor<v1::ImportArticlesRequest, v1::ImportArticlesResponse>*
ContentService::ImportArticles(grpc::CallbackServerContext* ctx) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok()) {
    return new FailedBidiReactor<v1::ImportArticlesRequest,
                                 v1::ImportArticlesResponse>(s);
  }
  (void)ctx;
  return NewImportReactor(store_, &writes_, options_.limits);
}

grpc::ServerWriteReactor<v1::ExportArticlesResponse>*
ContentService::ExportArticles(grpc::CallbackServerContext* ctx,
                               const v1::ExportArticlesRequest* req) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return new FailedWriteReactor<v1::ExportArticlesResponse>(s);
  (void)ctx;
  return NewExportReactor(store_, options_.limits, *req);
}

void ContentService::PrepareShutdown() { watch_.Shutdown(); }

}  // namespace content::service
