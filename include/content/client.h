// C++ client for contentd.
#ifndef CONTENT_CLIENT_H_
#define CONTENT_CLIENT_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "content/v1/admin_service.pb.h"
#include "content/v1/content_service.pb.h"

namespace content {

// Options for Client::Connect.
struct ClientOptions {
  // Server address: `host:port` with a port of 1-65535 (a DNS name or an
  // IP, an IPv6 host in brackets; `dns:///host:port` too; a host without a
  // port is dialled on 443, as gRPC does), `unix:PATH`, `unix-abstract:NAME`,
  // or another gRPC target form passed to gRPC as is (`ipv4:`, `ipv6:`,
  // `dns:` with or without an authority, `xds:`, `vsock:`).
  // Default: "127.0.0.1:7070".
  std::string target = "127.0.0.1:7070";
  // Deadline for each call unless CallOptions says otherwise; must be
  // positive, absl::InfiniteDuration() for none. Default: 10 s.
  absl::Duration timeout = absl::Seconds(10);
  // Attempts per read call for UNAVAILABLE (gRPC retry policy), and for
  // CANCELLED from the server (gRPC's server ends so, unrun, a call that
  // arrives as a stop begins; a call the program cancels is not retried),
  // 1-5 (else Connect fails); 1 disables retries. Writes (Create, Update,
  // Delete, Undelete, RestoreArticleRevision, ImportArticles, BackupStore) are
  // sent once: a sent write that gRPC ended UNAVAILABLE, DEADLINE_EXCEEDED
  // or CANCELLED (a contentd that began to stop as it came) may have been
  // applied, so read before writing again; the message says so ("the write
  // was sent and may have been applied"). Before sending, a write waits for
  // a connection (a server
  // restarting) up to max_attempts seconds (1-5) within its deadline;
  // UNAVAILABLE "the write was not sent" when none comes, or DEADLINE_EXCEEDED
  // saying the same when the deadline comes first. Either says why in gRPC's
  // words when gRPC knows: as each connection attempt fails during the wait,
  // and again at its end, which takes the last tenth of the time left (at
  // most 100 ms) and never runs past the deadline. A unary call, a write
  // too, that a rate limit refused (RESOURCE_EXHAUSTED RATE_LIMIT_EXCEEDED:
  // refused before it did anything) goes again after the wait the refusal
  // gives (ErrorRetryDelay), up to max_attempts in all while the deadline
  // leaves room for the wait. Default: 4.
  int max_attempts = 4;
  // Bearer token sent in `authorization` metadata when non-empty. One
  // trailing line ending ("\n" or "\r\n") is dropped, since tokens read
  // from files and Kubernetes Secrets end in a newline; any other byte
  // outside printable ASCII, and a leading space (contentd reads the spaces
  // after `Bearer` as the separator), is refused by Connect. Default: none.
  std::string token;
  // A connection with calls open but no traffic for this long is pinged,
  // and dropped when no answer comes within `keepalive_timeout`, so a Watch
  // whose server vanished without closing the connection (host down, network
  // cut) reconnects instead of waiting forever. At least 10 s (contentd
  // refuses pings more often); zero disables. Default: 30 s.
  absl::Duration keepalive_time = absl::Seconds(30);
  // How long a ping may go unanswered before the connection is dropped
  // (and its calls fail UNAVAILABLE; Watch reconnects). Must be positive
  // unless keepalive_time is zero. Default: 10 s.
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // PEM CA bundle; when non-empty the channel uses TLS. Each new connection
  // (a reconnect after a server restart too) checks the server's
  // certificate against it, so a server certificate contentd renewed is
  // taken as connections come; while a CA is being replaced, give both.
  // Default: plaintext.
  std::string tls_ca_pem;
  // PEM client certificate and key for mutual TLS. Default: none.
  // The three are the text given to Connect, kept for the Client's life
  // (no file is read, then or later): a renewed client certificate or CA
  // bundle takes a new Client.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Request id sent in `x-request-id` metadata on every call whose
  // CallOptions name none, and on each stream of a Watch (reconnects
  // included) whose WatchHooks name none, so that contentd's request log
  // (`request_id=...`) can be matched with the caller's own logs. 1-128
  // bytes of printable ASCII (0x20-0x7E), else Connect fails
  // INVALID_ARGUMENT. Default: none sent.
  std::string request_id;
  // gRPC's load-balancing policy across the addresses `target` resolves
  // to: "" for gRPC's default, "pick_first" (every call on one connection,
  // to the first address that answers), or "round_robin" (a connection to
  // each address, calls spread over those that are ready), for a busy
  // client of several replicas behind one name (`dns:///contentd-headless:
  // 7070`, `ipv4:10.0.0.1:7070,10.0.0.2:7070`). Anything else: Connect
  // fails INVALID_ARGUMENT. Default: "" (pick_first).
  std::string load_balancing;
};

// Per-call settings.
struct CallOptions {
  // Overrides ClientOptions::timeout when positive (absl::InfiniteDuration()
  // for no deadline). Below zero it is a deadline already passed (a budget
  // `deadline - absl::Now()` that ran out): the call fails DEADLINE_EXCEEDED
  // and is not sent. Default: zero, unset.
  absl::Duration timeout = absl::ZeroDuration();
  // Overrides ClientOptions::request_id when non-empty: sent in
  // `x-request-id` metadata (each attempt of a retried read carries the
  // same id), and logged by contentd as `request_id=...` in its request
  // log. 1-128 bytes of printable ASCII (0x20-0x7E); any other id fails the
  // call INVALID_ARGUMENT `request_id: ...`, unsent (contentd would refuse
  // it by the same rule). Default: empty, ClientOptions::request_id.
  std::string request_id;
};

// Options for Client::Get.
struct GetOptions {
  // A revision other than the head when non-zero. Default: 0 (the head).
  int64_t revision = 0;
  // LIVE returns only what readers see now; ALL (editor role) also drafts,
  // scheduled, expired and archived articles. Default: unspecified (LIVE).
  v1::Visibility visibility = v1::VISIBILITY_UNSPECIFIED;
  // Returns the article's translation in this language (`zh-CN`), else in
  // the first of `fallback_langs` there is. Default: none (the article
  // itself).
  std::string lang;
  std::vector<std::string> fallback_langs;
};

// What Client::CheckHealth learnt of a service name's health.
struct Health {
  // grpc.health.v1's answer. kServiceUnknown: the server has no health for
  // the name asked (its Check answered NOT_FOUND).
  enum class Status { kUnknown, kServing, kNotServing, kServiceUnknown };
  Status status = Status::kUnknown;
  // Why the name is not SERVING, in contentd's words (what its log said:
  // `storage: writes stopped ...`, `contentd is stopping ...`, `not ready
  // until the store answers again: ...`), from the trailing metadata
  // contentd adds to health answers (docs/operations.md); "" while
  // SERVING, or from a server that does not say (not contentd, or one
  // before 2026-12-06).
  std::string reason;
};

// "SERVING", "NOT_SERVING", "UNKNOWN" or "SERVICE_UNKNOWN", as
// grpc.health.v1 names them.
const char* HealthStatusName(Health::Status status);

// Lets another thread stop a running Client::Watch. Copies share one
// state: cancelling any copy cancels them all. One-shot, as
// std::stop_source is: a cancelled canceller stays cancelled, and a Watch
// given it (or a copy) afterwards returns OK at once, unstarted; a Watch
// started after a Cancel needs a new WatchCanceller. Thread-safe.
class WatchCanceller {
 public:
  WatchCanceller();
  ~WatchCanceller();
  // Makes Watch return OK as soon as possible: now, or when it starts; a
  // Watch pausing between reconnect attempts returns at once, without
  // waiting for the pause to end. Cannot be undone.
  void Cancel();

 private:
  friend class GrpcClient;
  struct State;
  std::shared_ptr<State> state_;
};

// What Client::Watch reports of its start and reconnects, on the thread
// that runs it, between events (any may be empty), and the request id its
// streams carry.
struct WatchHooks {
  // The stream was lost (`status`: the error, or OK for a server that
  // ended it) and Watch reconnects, resuming after sequence `after`: the
  // last event delivered, or where contentd said it had got to when it
  // ended the stream if that is later (past events the filter left out),
  // else where the lost stream started (with `start_now`, the newest event
  // then), or 0 with `start_now` if no stream had started yet (the
  // reconnect starts from "now"). Called once per loss, not for each
  // attempt while the server stays away.
  std::function<void(const absl::Status& status, int64_t after)> on_lost;
  // A reconnect after on_lost took: the server resumes after `after`.
  std::function<void(int64_t after)> on_resumed;
  // Called once, before the first event: the first stream started and
  // delivers the events after sequence `after` (with `start_now`, the newest
  // event then), so anything written from now on reaches on_event. A first
  // stream that came only after on_lost is reported here before on_resumed.
  // A server that sends no start (an older contentd) reports it with the
  // first event instead, `after` being the request's after_sequence, or
  // with `start_now` the first event's sequence minus one (a filtered watch
  // may have started earlier: nothing it would deliver came in between).
  // on_resumed is told the same when such a stream follows on_lost. Last
  // here so that `WatchHooks{on_lost, on_resumed}` still reads as before.
  std::function<void(int64_t after)> on_started;
  // Overrides ClientOptions::request_id for this watch when non-empty: sent
  // in `x-request-id` metadata on each of its streams (the first and every
  // reconnect), and logged by contentd as `request_id=...`. The rule is
  // CallOptions::request_id's: 1-128 bytes of printable ASCII (0x20-0x7E),
  // else Watch fails INVALID_ARGUMENT `request_id: ...` at once, unstarted.
  // Default: empty, ClientOptions::request_id.
  std::string request_id;
};

// A connection to contentd. One method per RPC; each returns the server's
// status unchanged (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ...) or
// DEADLINE_EXCEEDED/UNAVAILABLE for transport trouble. A read (or an
// export that received nothing) whose deadline passed while the channel had
// no connection says so, keeping DEADLINE_EXCEEDED: `no connection to
// TARGET within the deadline (REASON)`, REASON in gRPC's words ("failed to
// connect to all addresses; last error: ... Connection refused", or "still
// connecting"); asking gRPC takes at most 50 ms past the deadline, and only
// where it answers at once. A request the server
// could not parse (a string field that is not valid UTF-8, messages nested
// past protobuf's 100 levels) is not sent: INVALID_ARGUMENT naming the field
// (`query.tags[1]: not valid UTF-8`). ImportArticles excepted, below.
// A call made while the server cannot be reached (a restart, an outage)
// makes the channel try to connect at once, not when gRPC's reconnect
// backoff (up to 5 s) would: calls succeed as soon as the server is back.
// Reads do so at most twice a second per Client.
//
// Every call blocks the calling thread until its reply, its deadline or
// its end (a stream). Thread-safe: one Client may be shared by any number
// of threads.
class Client {
 public:
  // Creates a client. The channel connects lazily: an unreachable server
  // shows as UNAVAILABLE on the first call, not here. INVALID_ARGUMENT for a
  // target of none of the forms ClientOptions::target lists (a missing host,
  // a port out of 1-65535; the message names `target`), a timeout
  // that is not positive, a client certificate without a CA, a certificate
  // without its key (or the reverse), TLS material that cannot work (a
  // `tls_ca_pem` or `tls_cert_pem` with no PEM certificate, a `tls_key_pem`
  // with no PEM key or not the key of the certificate; the message names
  // the option), a keepalive time below 10 s (or a keepalive timeout that
  // is not positive), max_attempts outside 1-5, or a token with a control
  // character or a non-ASCII byte, or that starts with a space (the message
  // names `token` and never holds it).
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const ClientOptions& options);

  // Cancels the calls other threads have in progress on this Client (a
  // Watch, an export, a write still waiting for a connection, any call
  // waiting for its reply): they return CANCELLED "the Client was destroyed
  // while the call ran", and the destructor waits until they have.
  // REQUIRES: no call starts once destruction begins, and no callback of a
  // Client destroys it (the destructor would wait forever for the call
  // running the callback): that aborts the program, saying so on stderr.
  virtual ~Client() = default;

  // Each RPC's errors in full are in its comment in
  // content/v1/content_service.proto, installed with this header; in
  // short:
  //
  // Revision 1 of a new article, `article_id` or a generated id;
  // ALREADY_EXISTS for an id in use (by a deleted article too). The SDK
  // generates it (16 lowercase letters and digits, as contentd would) and
  // sends it, so that a create whose outcome is unknown (the write was sent
  // and may have been applied) can be read back: its error names the
  // article (`...; it is articles/ID, the id this client chose as
  // article_id was empty`), and sending the create again with that
  // `article_id` cannot make a second article. To know the id without
  // parsing a message, set `article_id` yourself.
  virtual absl::StatusOr<v1::Article> CreateArticle(
      const v1::CreateArticleRequest& request,
      const CallOptions& call = {}) = 0;
  // The head, or `revision`; NOT_FOUND (reason ARTICLE_DELETED for a
  // deleted one unless `show_deleted`).
  virtual absl::StatusOr<v1::Article> GetArticle(
      const v1::GetArticleRequest& request, const CallOptions& call = {}) = 0;
  // A new revision (none if the content is the head's); FAILED_PRECONDITION
  // when a non-zero `expected_revision` or a set `article.etag` is not the
  // head's (REVISION_MISMATCH, ETAG_MISMATCH, with `current_revision`),
  // NOT_FOUND (missing or deleted).
  virtual absl::StatusOr<v1::Article> UpdateArticle(
      const v1::UpdateArticleRequest& request,
      const CallOptions& call = {}) = 0;
  // Soft delete (a tombstone revision); NOT_FOUND, FAILED_PRECONDITION (a
  // revision or etag mismatch).
  virtual absl::StatusOr<v1::Article> DeleteArticle(
      const v1::DeleteArticleRequest& request,
      const CallOptions& call = {}) = 0;
  // A deleted article live again; NOT_FOUND, FAILED_PRECONDITION (not
  // deleted, or a revision or etag mismatch).
  virtual absl::StatusOr<v1::Article> UndeleteArticle(
      const v1::UndeleteArticleRequest& request,
      const CallOptions& call = {}) = 0;
  // Newest first, paged (`next_page_token`); NOT_FOUND.
  virtual absl::StatusOr<v1::ListArticleRevisionsResponse> ListArticleRevisions(
      const v1::ListArticleRevisionsRequest& request,
      const CallOptions& call = {}) = 0;
  // Field changes and a unified body diff between two revisions.
  virtual absl::StatusOr<v1::DiffArticleRevisionsResponse> DiffArticleRevisions(
      const v1::DiffArticleRevisionsRequest& request,
      const CallOptions& call = {}) = 0;
  // A new revision with the content of an old one; returns the new head.
  virtual absl::StatusOr<v1::Article> RestoreArticleRevision(
      const v1::RestoreArticleRevisionRequest& request,
      const CallOptions& call = {}) = 0;
  // The articles of an article's translation group, by id.
  virtual absl::StatusOr<v1::ListTranslationsResponse> ListTranslations(
      const v1::ListTranslationsRequest& request,
      const CallOptions& call = {}) = 0;
  // One page of the articles `request.query` selects; pass
  // `next_page_token` back as `page_token` until it is empty.
  // INVALID_ARGUMENT for a bad filter, page size or page token.
  virtual absl::StatusOr<v1::QueryArticlesResponse> QueryArticles(
      const v1::QueryArticlesRequest& request,
      const CallOptions& call = {}) = 0;
  // Up to 1000 articles by name; missing ones fail alone, per name.
  virtual absl::StatusOr<v1::BatchGetArticlesResponse> BatchGetArticles(
      const v1::BatchGetArticlesRequest& request,
      const CallOptions& call = {}) = 0;
  // Tags in use with their live article counts, paged.
  virtual absl::StatusOr<v1::ListTagsResponse> ListTags(
      const v1::ListTagsRequest& request, const CallOptions& call = {}) = 0;
  // Categories in use with their live article counts, paged.
  virtual absl::StatusOr<v1::ListCategoriesResponse> ListCategories(
      const v1::ListCategoriesRequest& request,
      const CallOptions& call = {}) = 0;
  // Which contentd answers: its version, storage engine and start time.
  // UNIMPLEMENTED from a contentd older than the call.
  virtual absl::StatusOr<v1::ServerInfo> GetServerInfo(
      const CallOptions& call = {}) = 0;

  // content.v1.AdminService (admin role): see admin_service.proto.
  virtual absl::StatusOr<v1::BackupStoreResponse> BackupStore(
      const v1::BackupStoreRequest& request, const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<v1::CompactStoreResponse> CompactStore(
      const v1::CompactStoreRequest& request, const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<v1::CheckStoreResponse> CheckStore(
      const v1::CheckStoreRequest& request, const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<v1::GetStatsResponse> GetStats(
      const v1::GetStatsRequest& request, const CallOptions& call = {}) = 0;
  virtual absl::StatusOr<v1::ListOperationsResponse> ListOperations(
      const v1::ListOperationsRequest& request,
      const CallOptions& call = {}) = 0;

  // Streams change events to `on_event`, in sequence order, until it returns
  // false or `canceller` is cancelled (then OK; one canceller may stop
  // several Watch calls). Reconnects by itself after UNAVAILABLE,
  // DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (a stall cut-off, a rate limit),
  // CANCELLED not asked for here, or a server restart, resuming after the last
  // event delivered (or, when contentd ended the stream, a stop or a stall
  // cut-off, after the last event it examined for this watch: the
  // `content-resume-after` it sends), so `on_event` sees each event exactly
  // once. Returns OUT_OF_RANGE when the server no longer has the events
  // needed to resume (resync and watch again), RESOURCE_EXHAUSTED for an
  // event over the 64 MiB the SDK receives, CANCELLED when the Client is
  // destroyed (~Client), or the first non-retryable error.
  // `request.after_sequence`/`start_now` set the start; from 0 (the oldest
  // event the server keeps) or "now", reconnects resume where the first
  // stream started (on_started's `after`), so events trimmed by retention
  // meanwhile end the watch OUT_OF_RANGE, not skipped. No deadline applies,
  // and there is no retry budget: Watch reconnects until the server is back
  // (backing off to one attempt every 2 s; a cancel ends the pause at
  // once), reporting through `hooks`. An exception from `on_event` or a
  // hook ends the stream and reaches the caller; the canceller stays usable.
  // Each stream carries `hooks.request_id`, else ClientOptions::request_id,
  // if set.
  virtual absl::Status Watch(
      v1::WatchArticlesRequest request,
      const std::function<bool(const v1::WatchArticlesResponse&)>& on_event,
      WatchCanceller* canceller = nullptr, const WatchHooks& hooks = {}) = 0;

  // Streams batches from `next_batch` (false when there are no more) and
  // hands each batch's results to `on_results`, in order, while later
  // batches are in flight. The first stream error is returned;
  // INVALID_ARGUMENT, naming the batch (`import: batch 3: articles: at most
  // 1000 per request, got 1500; ...`, with the server's ErrorInfo and
  // BadRequest), for a batch the server refuses whole (over 1000 articles,
  // or one it could not parse): it and those after it were not written.
  // Batches are sent unchecked: an article the server cannot parse fails
  // alone (OUTCOME_FAILED, INVALID_ARGUMENT `articles[i]: cannot be
  // parsed`).
  // Deadline: `call.timeout` for the whole import if positive, else none;
  // the wait for a connection before the first batch is bounded by
  // `call.timeout` if positive, else by ClientOptions::timeout. An import
  // whose server stopped taking batches (a hung contentd, a network cut)
  // ends at its deadline, DEADLINE_EXCEEDED `Deadline Exceeded (the server
  // stopped taking the import: ...)`, as does ~Client's cancel; gRPC's
  // write of the batch in the socket, which only a dropped connection ends,
  // is left to an SDK thread (it held the import keepalive_timeout past its
  // deadline, or for good with keepalives off). A batch
  // must also fit the server's `max_message_bytes` (at least 16 MiB): size
  // batches of large articles by bytes as well as by count.
  // `on_results` runs on an SDK thread, concurrently with `next_batch` on
  // the caller's: guard any state the two share. An exception from either
  // ends the stream (batches sent may have been written) and reaches the
  // caller.
  virtual absl::Status ImportArticles(
      const std::function<bool(v1::ImportArticlesRequest*)>& next_batch,
      const std::function<void(const v1::ImportArticlesResponse&)>& on_results,
      const CallOptions& call = {}) = 0;

  // Streams every article `request` selects to `on_article` (stop early by
  // returning false; an exception from it ends the stream and reaches the
  // caller). Deadline as for ImportArticles. Articles come in
  // batches of up to 2 MiB, the next taken when `on_article` is done with
  // the last: a server ends an export whose client takes no batch for its
  // `export_stall_timeout_ms` (default 5 min) with RESOURCE_EXHAUSTED.
  virtual absl::Status ExportArticles(
      const v1::ExportArticlesRequest& request,
      const std::function<bool(const v1::Article&)>& on_article,
      const CallOptions& call = {}) = 0;

  // grpc.health.v1 Check of `service`: "" for the whole server (what a
  // liveness probe asks: NOT_SERVING once a stop begins or the store takes
  // no writes until a restart), "content.v1.Readiness" for whether it can
  // serve calls now (a readiness probe's), or a service's name. No token
  // is needed. One attempt, not retried: an unreachable server is
  // UNAVAILABLE at once (`call.timeout`, else ClientOptions::timeout,
  // bounds a slow answer). An error only when no answer came; a name the
  // server does not know is Health::Status::kServiceUnknown. Clients
  // implemented outside the SDK answer UNIMPLEMENTED.
  virtual absl::StatusOr<Health> CheckHealth(const std::string& service = "",
                                             const CallOptions& call = {});

  // Convenience: the head of `articles/{id}` (or `revision` when non-zero),
  // with `call` as for GetArticle.
  absl::StatusOr<v1::Article> Get(const std::string& id, int64_t revision = 0,
                                  const CallOptions& call = {});
  // Convenience: GetArticle of `articles/{id}` as `options` say, e.g. the
  // zh-CN translation of launch.en, else the English one:
  //   GetOptions o;
  //   o.lang = "zh-CN";
  //   o.fallback_langs = {"en"};
  //   Get("launch.en", o);
  absl::StatusOr<v1::Article> Get(const std::string& id,
                                  const GetOptions& options,
                                  const CallOptions& call = {});
};

// `articles/{id}` for an id, and the id of such a name: what follows
// `articles/`, unchecked ("" if the name does not start so or has nothing
// after it). Neither checks the id's characters; the server does.
std::string ArticleName(std::string_view id);
std::string ArticleId(std::string_view name);

// What a failed call says for programs, beside its code and message
// (AIP-193). contentd sends a google.rpc.ErrorInfo with each error it names
// and a google.rpc.BadRequest with an INVALID_ARGUMENT; the Client keeps
// them in the status it returns, as payloads under their type URLs
// (`type.googleapis.com/google.rpc.ErrorInfo`, ...) holding the serialized
// messages. README "Errors" lists the reasons and their metadata. These
// read them; a status without them (OK, or an error made on this side,
// such as a refused connection) gives "" and empty lists. absl::Status's
// ToString() and operator<< print the payloads too, as escaped bytes; to
// log only the code and message, use
// `status.ToString(absl::StatusToStringMode::kWithNoExtraData)`.
//
//   absl::StatusOr<v1::Article> a = client->UpdateArticle(req);
//   if (ErrorReason(a.status()) == "REVISION_MISMATCH")
//     reload_from(ErrorMetadata(a.status())["current_revision"]);

// The ErrorInfo reason, e.g. "REVISION_MISMATCH" or "ARTICLE_NOT_FOUND".
std::string ErrorReason(const absl::Status& status);
// The ErrorInfo domain: "contentd.v1" for every reason contentd gives.
std::string ErrorDomain(const absl::Status& status);
// The ErrorInfo metadata, e.g. {"current_revision": "5", "name": ...}.
std::map<std::string, std::string> ErrorMetadata(const absl::Status& status);

// A field of the request that an INVALID_ARGUMENT refused.
struct FieldViolation {
  // The field's path in the request, e.g. `query.tags[0]`.
  std::string field;
  // The rule it broke, e.g. `must not be empty`.
  std::string description;
};
// The BadRequest's field violations, in the order sent.
std::vector<FieldViolation> FieldViolations(const absl::Status& status);

// How long the server asks to wait before sending the call again (its
// google.rpc.RetryInfo): a rate limit's refusal (RESOURCE_EXHAUSTED
// RATE_LIMIT_EXCEEDED) carries one, the call having done nothing. Zero if
// the status carries none.
absl::Duration ErrorRetryDelay(const absl::Status& status);

}  // namespace content

#endif  // CONTENT_CLIENT_H_
