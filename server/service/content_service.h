// The gRPC edge: validates requests, calls the store and the query engine,
// and maps absl::Status to gRPC status codes.
#ifndef CONTENT_SERVER_SERVICE_CONTENT_SERVICE_H_
#define CONTENT_SERVER_SERVICE_CONTENT_SERVICE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "content/v1/content_service.grpc.pb.h"
#include "server/service/auth.h"
#include "server/service/bulk.h"
#include "server/service/reactors.h"
#include "server/service/validation.h"
#include "server/service/watch.h"
#include "server/service/work_queue.h"
#include "server/store/store.h"

namespace content::service {

// The most write_threads contentd's config accepts: 8x the default. They
// all start with the service (ContentService::Create), which fails with
// RESOURCE_EXHAUSTED if the system refuses one.
inline constexpr int kMaxWriteThreads = 1024;

// Options for ContentService.
struct ServiceOptions {
  Limits limits;
  // Threads that run writes, which may wait on a WAL sync; kept off gRPC's
  // callback threads so a slow disk never stalls reads. A group commit
  // holds only writes that reached it, so fewer threads than writes in
  // flight cap each WAL sync's group (32 held updates at 100 in flight to
  // 1.3-1.8k/s, 128 gave 2.0-2.4k/s). Idle threads cost only their stacks.
  // Default: 128. At most kMaxWriteThreads from contentd's config.
  int write_threads = 128;
  // Threads that run reads on a shared store (PostgreSQL), where each
  // read waits on the database: round trips, a connection of the pool, a
  // lock (VACUUM FULL), a database gone silent. On gRPC's callback threads
  // (two on two cores) such waits stopped the whole server, health checks
  // and new connections included. contentd gives half storage.pool_size
  // (at least 2), a text query holding two connections: more reads at once
  // open connections past the pool for a moment each, and text queries at
  // 5 in flight on a pool of 5 cost the server 2.5x the CPU (SCRAM logins).
  // A local store (RocksDB) reads inline and starts none. Default: 8.
  int shared_read_threads = 8;
  // Deadline of a write whose caller set none (or a later one): past it,
  // a write still queued is not started (DEADLINE_EXCEEDED). Default: 30 s.
  absl::Duration default_deadline = absl::Seconds(30);
  // Watch streams.
  WatchOptions watch;
  // ExportArticles streams.
  ExportOptions exports;
  // Longest wait between looks for scheduled publish and expiry times
  // (a write can add an earlier one); zero: no scheduler. A look reads the
  // store only when something it read may have changed: the store's last
  // sequence moved (every write that adds a time commits an event), the
  // next time is due, the lease was taken, or the last read failed; else
  // once every schedule_recheck. Default: 1 s.
  absl::Duration schedule_poll = absl::Seconds(1);
  // Default: 60 s.
  absl::Duration schedule_recheck = absl::Seconds(60);
  // Where the scheduler logs (one line when its polls start failing, one
  // when they succeed again); must outlive the service. Default: null,
  // standard error.
  std::ostream* log = nullptr;
  // The version GetServerInfo reports; contentd gives its own. Default: ""
  // (tests that build the service alone).
  std::string version;
};

// GetArticle, QueryArticles and UpdateArticle reply with bytes: the stored
// revisions are already serialized Articles, and sending them as they are
// skips a decode and an encode (both UTF-8 checking every string) per
// article. UpdateArticle also moves the article out of its request.
// ImportArticles parses its batches itself, article by article when one
// would fail the whole batch. Its typed and raw forms cannot both be in the
// chain (same parameters, other return type), so this is CallbackService's
// chain with the raw ImportArticles in place of the typed one.
namespace base {
using S = v1::ContentService;
using Streams =
    S::WithCallbackMethod_WatchArticles<S::WithRawCallbackMethod_ImportArticles<
        S::WithCallbackMethod_ExportArticles<
            S::WithCallbackMethod_GetServerInfo<S::Service>>>>;
using Lists =
    S::WithCallbackMethod_ListTranslations<S::WithCallbackMethod_QueryArticles<
        S::WithCallbackMethod_BatchGetArticles<S::WithCallbackMethod_ListTags<
            S::WithCallbackMethod_ListCategories<Streams>>>>>;
using History = S::WithCallbackMethod_UndeleteArticle<
    S::WithCallbackMethod_ListArticleRevisions<
        S::WithCallbackMethod_DiffArticleRevisions<
            S::WithCallbackMethod_RestoreArticleRevision<Lists>>>>;
using Typed = S::WithCallbackMethod_CreateArticle<
    S::WithCallbackMethod_GetArticle<S::WithCallbackMethod_UpdateArticle<
        S::WithCallbackMethod_DeleteArticle<History>>>>;
}  // namespace base
using ContentServiceBase = base::S::WithRawCallbackMethod_GetArticle<
    base::S::WithRawCallbackMethod_QueryArticles<
        base::S::WithRawCallbackMethod_UpdateArticle<base::Typed>>>;

// Implements content.v1.ContentService on the callback API.
// Thread-safe. `store` and `auth` must outlive the service; a null `auth`
// lets every call through (tests).
class ContentService final : public ContentServiceBase {
 public:
  // Starts the service's threads: write_threads writers, the watch and
  // export hubs' and the scheduler's. RESOURCE_EXHAUSTED, naming
  // write_threads and the process limit (RLIMIT_NPROC), if the system
  // refuses one.
  static absl::StatusOr<std::unique_ptr<ContentService>> Create(
      store::Store* store, const ServiceOptions& options,
      Authenticator* auth = nullptr);
  // Waits for queued writes to finish. Call after the gRPC server shut down.
  ~ContentService() override;

  grpc::ServerUnaryReactor* CreateArticle(grpc::CallbackServerContext* ctx,
                                          const v1::CreateArticleRequest* req,
                                          v1::Article* resp) override;
  // Request: GetArticleRequest; reply: Article.
  grpc::ServerUnaryReactor* GetArticle(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* req,
                                       grpc::ByteBuffer* resp) override;
  // Request: UpdateArticleRequest; reply: Article.
  grpc::ServerUnaryReactor* UpdateArticle(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* req,
                                          grpc::ByteBuffer* resp) override;
  grpc::ServerUnaryReactor* DeleteArticle(grpc::CallbackServerContext* ctx,
                                          const v1::DeleteArticleRequest* req,
                                          v1::Article* resp) override;
  grpc::ServerUnaryReactor* UndeleteArticle(
      grpc::CallbackServerContext* ctx, const v1::UndeleteArticleRequest* req,
      v1::Article* resp) override;
  grpc::ServerUnaryReactor* ListArticleRevisions(
      grpc::CallbackServerContext* ctx,
      const v1::ListArticleRevisionsRequest* req,
      v1::ListArticleRevisionsResponse* resp) override;
  grpc::ServerUnaryReactor* DiffArticleRevisions(
      grpc::CallbackServerContext* ctx,
      const v1::DiffArticleRevisionsRequest* req,
      v1::DiffArticleRevisionsResponse* resp) override;
  grpc::ServerUnaryReactor* RestoreArticleRevision(
      grpc::CallbackServerContext* ctx,
      const v1::RestoreArticleRevisionRequest* req, v1::Article* resp) override;
  grpc::ServerUnaryReactor* ListTranslations(
      grpc::CallbackServerContext* ctx, const v1::ListTranslationsRequest* req,
      v1::ListTranslationsResponse* resp) override;
  // Request: QueryArticlesRequest; reply: QueryArticlesResponse.
  grpc::ServerUnaryReactor* QueryArticles(grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* req,
                                          grpc::ByteBuffer* resp) override;
  grpc::ServerUnaryReactor* BatchGetArticles(
      grpc::CallbackServerContext* ctx, const v1::BatchGetArticlesRequest* req,
      v1::BatchGetArticlesResponse* resp) override;
  grpc::ServerUnaryReactor* ListTags(grpc::CallbackServerContext* ctx,
                                     const v1::ListTagsRequest* req,
                                     v1::ListTagsResponse* resp) override;
  grpc::ServerUnaryReactor* ListCategories(
      grpc::CallbackServerContext* ctx, const v1::ListCategoriesRequest* req,
      v1::ListCategoriesResponse* resp) override;
  grpc::ServerWriteReactor<v1::WatchArticlesResponse>* WatchArticles(
      grpc::CallbackServerContext* ctx,
      const v1::WatchArticlesRequest* req) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ImportArticles(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerWriteReactor<v1::ExportArticlesResponse>* ExportArticles(
      grpc::CallbackServerContext* ctx,
      const v1::ExportArticlesRequest* req) override;
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetServerInfoRequest* req,
                                          v1::ServerInfo* resp) override;

  // Ends every watch stream (UNAVAILABLE, with where to resume). Call before
  // shutting the gRPC server down.
  void PrepareShutdown();
  // Ends the import and export streams still open when a stop's grace is
  // over, and those opened later, with UNAVAILABLE "contentd is stopping;
  // ...", where gRPC's cut at the end of the grace told their clients only
  // "Cancelling all calls". An import first answers the batch it is
  // writing. Call once the grace is over, before the server cancels what
  // is left.
  void EndCalls();
  // When the service was made (GetServerInfo's start_time).
  absl::Time start_time() const { return start_time_; }
  // What GetServerInfo answers (no role check here), for GetStats' reply to
  // carry too: one call, so it cannot describe another replica.
  v1::ServerInfo ServerInfo() const;
  // Watch streams open now.
  int watchers() const { return watch_.watchers(); }
  // Watch streams cut off since start, by reason (WatchHub::stalled).
  int64_t watchers_stalled() const { return watch_.stalled(); }
  int64_t watchers_trimmed() const { return watch_.trimmed(); }
  // Exports (ExportArticles streams) open now.
  int exports() const { return exports_.exports(); }
  // Exports cut off since start, their client stalled (ExportHub::stalled).
  int64_t exports_stalled() const { return exports_.stalled(); }

 private:
  // Runs `work` on a write thread; it calls `finish` once (from any
  // thread) with the call's status, and the write thread is free meanwhile
  // (writes hand their batch to the group commit and return).
  using Finisher = std::function<void(absl::Status)>;
  grpc::ServerUnaryReactor* OffloadAsync(
      grpc::CallbackServerContext* ctx,
      std::function<void(Finisher finish)> work);
  // Queues `work` for a write thread. It does not run (and `reactor`
  // finishes with DEADLINE_EXCEEDED, CANCELLED's stand-in, or UNAVAILABLE)
  // if the call is over by then or the server is shutting down.
  void Defer(grpc::CallbackServerContext* ctx,
             grpc::ServerUnaryReactor* reactor, std::function<void()> work);
  // Finishes the call with what `read` (absl::Status()) returns: run
  // inline on a local store, on a read thread on a shared one
  // (shared_read_threads).
  template <typename Fn>
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* ctx, Fn read) {
    if (reads_ == nullptr) {
      grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
      reactor->Finish(ToGrpcStatus(read()));
      return reactor;
    }
    return ReadOnPool(ctx, std::move(read));
  }
  grpc::ServerUnaryReactor* ReadOnPool(grpc::CallbackServerContext* ctx,
                                       std::function<absl::Status()> read);

  void DoCreate(const v1::CreateArticleRequest& req, v1::Article* resp,
                Finisher finish);
  // `done` gets the written article's serialized bytes. `elsewhere` takes
  // the update to a write thread when it would have to wait on this one
  // (see Store::UpdateAsyncNoWait).
  void DoUpdate(v1::UpdateArticleRequest req,
                std::function<void(absl::StatusOr<std::string>)> done,
                std::function<void(std::function<void()>)> elsewhere);
  // GetArticle's work; the reply is the article's serialized bytes.
  // `editor`: the caller has the editor role (told why a revision is
  // missing even at visibility LIVE).
  absl::Status DoGetBytes(const v1::GetArticleRequest& req, bool editor,
                          std::string* resp);
  // GetArticle with `lang`: the best translation of `id`'s group, as its
  // serialized bytes. Reads each member once, through one snapshot.
  absl::Status DoGetTranslation(const v1::GetArticleRequest& req,
                                const std::string& id, std::string* resp);
  absl::Status DoListRevisions(const v1::ListArticleRevisionsRequest& req,
                               bool editor,
                               v1::ListArticleRevisionsResponse* resp);
  absl::Status DoDiff(const v1::DiffArticleRevisionsRequest& req, bool editor,
                      v1::DiffArticleRevisionsResponse* resp);
  // DoDiff of `req.article()`, content not written, against a revision.
  absl::Status DoDiffProposed(const v1::DiffArticleRevisionsRequest& req,
                              v1::DiffArticleRevisionsResponse* resp);
  // The newest revision of `id` before `revision` that readers may read
  // (store::IsPublishedRevision at `now`); 0 if there is none.
  absl::StatusOr<int64_t> PublishedBefore(const std::string& id,
                                          int64_t revision, absl::Time now);
  absl::Status DoListTranslations(const v1::ListTranslationsRequest& req,
                                  v1::ListTranslationsResponse* resp);
  // NOT_FOUND unless `id`'s head is live now (readers' history reads).
  absl::Status CheckLive(const std::string& id);
  // Ids in the translation group `group`'s lists at `view` (the live one,
  // and the unpublished one too with `all`), sorted, at most 1000.
  static absl::StatusOr<std::vector<std::string>> GroupIds(
      const store::ReadView& view, const std::string& group, bool all);
  // Heads of the translation group `group` (live ones, or all with
  // `all`), by id, at most 1000; deleted articles left out; bodies only
  // `with_bodies` (RESOURCE_EXHAUSTED past 16 MiB).
  absl::StatusOr<std::vector<v1::Article>> GroupHeads(const std::string& group,
                                                      bool all,
                                                      bool with_bodies);
  // Calls Store::FireSchedule until shutdown, so watchers get publish and
  // expiry events when their time comes.
  void ScheduleLoop();
  // The page's articles go to `articles` as serialized Articles; `resp`
  // holds the rest of the reply.
  absl::Status DoQuery(const v1::QueryArticlesRequest& req,
                       v1::QueryArticlesResponse* resp,
                       std::vector<std::string>* articles);
  absl::Status DoBatchGet(const v1::BatchGetArticlesRequest& req,
                          v1::BatchGetArticlesResponse* resp);
  // Readers' count of a listed term with `listed` entries in its live list
  // (0: readers see none of its articles).
  absl::StatusOr<int64_t> VisibleCount(store::IndexKind kind,
                                       const std::string& term,
                                       int64_t listed) const;
  // One page of tag or category counts; `list` names the kind in tokens.
  absl::Status DoListTerms(
      store::IndexKind kind, absl::string_view list, int32_t page_size,
      const std::string& page_token, const std::string& prefix,
      google::protobuf::RepeatedPtrField<v1::TermCount>* out,
      std::string* next_page_token);

  // OK if the caller's token allows `needed`.
  absl::Status Allow(const grpc::ServerContextBase& ctx, Role needed);
  // As Allow; also says whether the caller is at least an editor.
  absl::StatusOr<bool> AllowEditor(const grpc::ServerContextBase& ctx,
                                   Role needed);

  ContentService(store::Store* store, const ServiceOptions& options,
                 Authenticator* auth, std::unique_ptr<WorkQueue> writes,
                 std::unique_ptr<WorkQueue> reads);

  Authenticator* const auth_;
  store::Store* const store_;
  const ServiceOptions options_;
  const absl::Time start_time_;  // GetServerInfo's start_time
  const std::string hostname_;   // GetServerInfo's hostname

  const std::unique_ptr<WorkQueue> writes_;
  // Null on a local store.
  const std::unique_ptr<WorkQueue> reads_;
  WatchHub watch_;
  ImportHub imports_;
  ExportHub exports_;

  absl::Mutex schedule_mu_;
  bool schedule_stop_ ABSL_GUARDED_BY(schedule_mu_) = false;
  std::thread schedule_thread_;
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_CONTENT_SERVICE_H_
