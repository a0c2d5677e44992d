#include "server/service/content_service.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "server/query/engine.h"
#include "server/query/page_token.h"
#include "server/service/bulk.h"
#include "server/store/keys.h"

namespace content::service {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx,
                                 const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpc(s));
  return reactor;
}

std::string GenerateId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local absl::BitGen gen;
  std::string id(16, ' ');
  for (char& c : id) c = kAlphabet[absl::Uniform<int>(gen, 0, 36)];
  return id;
}

}  // namespace

ContentService::ContentService(store::Store* store,
                               const ServiceOptions& options)
    : store_(store),
      options_(options),
      writes_(options.write_threads),
      watch_(store, options.watch) {}

ContentService::~ContentService() = default;

grpc::ServerUnaryReactor* ContentService::Offload(
    grpc::CallbackServerContext* ctx, std::function<absl::Status()> work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto run = [reactor, work = std::move(work)] {
    reactor->Finish(ToGrpc(work()));
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
  return Offload(ctx, [this, req, resp] { return DoCreate(*req, resp); });
}

grpc::ServerUnaryReactor* ContentService::GetArticle(
    grpc::CallbackServerContext* ctx, const v1::GetArticleRequest* req,
    v1::Article* resp) {
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
  return Offload(ctx, [this, req, resp] { return DoUpdate(*req, resp); });
}

grpc::ServerUnaryReactor* ContentService::DeleteArticle(
    grpc::CallbackServerContext* ctx, const v1::DeleteArticleRequest* req,
    v1::Article* resp) {
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
  return Finish(ctx, DoListRevisions(*req, resp));
}

absl::Status ContentService::DoQuery(const v1::QueryArticlesRequest& req,
                                     v1::QueryArticlesResponse* resp) {
  absl::StatusOr<int> page_size = PageSize(req.page_size(), options_.limits);
  if (!page_size.ok()) return page_size.status();
  absl::Status s = ValidateQuery(req.query(), options_.limits);
  if (!s.ok()) return s;
  absl::StatusOr<query::QueryPage> page =
      query::RunQuery(*store_, req.query(), *page_size, req.page_token());
  if (!page.ok()) return page.status();
  for (v1::Article& a : page->articles) *resp->add_articles() = std::move(a);
  resp->set_next_page_token(std::move(page->next_page_token));
  resp->set_total_size(page->total_size);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ContentService::QueryArticles(
    grpc::CallbackServerContext* ctx, const v1::QueryArticlesRequest* req,
    v1::QueryArticlesResponse* resp) {
  return Finish(ctx, DoQuery(*req, resp));
}

}  // namespace content::service

namespace content::service {

grpc::ServerWriteReactor<v1::WatchArticlesResponse>*
ContentService::WatchArticles(grpc::CallbackServerContext* ctx,
                              const v1::WatchArticlesRequest* req) {
  return watch_.Open(ctx, req);
}

grpc::ServerBidiReactor<v1::ImportArticlesRequest, v1::ImportArticlesResponse>*
ContentService::ImportArticles(grpc::CallbackServerContext* ctx) {
  (void)ctx;
  return NewImportReactor(store_, &writes_, options_.limits);
}

grpc::ServerWriteReactor<v1::ExportArticlesResponse>*
ContentService::ExportArticles(grpc::CallbackServerContext* ctx,
                               const v1::ExportArticlesRequest* req) {
  (void)ctx;
  return NewExportReactor(store_, options_.limits, *req);
}

void ContentService::PrepareShutdown() { watch_.Shutdown(); }

}  // namespace content::service
