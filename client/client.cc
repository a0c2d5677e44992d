#include "content/client.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/types/optional.h"
#include "client/connect_check.h"
#include "client/grpc_status.h"
#include "common/bearer_token.h"
#include "common/proto_wire.h"
#include "common/request_id.h"
#include "common/tls_pem.h"
#include "content/v1/admin_service.grpc.pb.h"
#include "content/v1/content_service.grpc.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace content {
namespace internal {
namespace {

// Calls `on_field(number, bytes)` for each length-delimited field of the
// serialized message `bytes`, in order, skipping fields of other wire
// types; false if `bytes` is not a message. The SDK reads the few
// google.rpc fields it needs this way rather than compiling googleapis'
// messages in, which a program could not then link beside its own copy.
bool ForEachBytesField(
    std::string_view bytes,
    const std::function<void(int, std::string_view)>& on_field) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.CurrentPosition() == static_cast<int>(bytes.size());
    if (WireFormatLite::GetTagWireType(tag) !=
        WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    uint32_t size = 0;
    const void* data = nullptr;
    int available = 0;
    if (!in.ReadVarint32(&size)) return false;
    if (!in.GetDirectBufferPointer(&data, &available)) available = 0;
    if (static_cast<uint32_t>(available) < size) return false;
    on_field(WireFormatLite::GetTagFieldNumber(tag),
             std::string_view(static_cast<const char*>(data), size));
    if (!in.Skip(static_cast<int>(size))) return false;
  }
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(s.error_code()),
                   s.error_message());
  // google.rpc.Status: each of `details` (3) is an Any, whose type_url (1)
  // and value (2) become a payload.
  ForEachBytesField(s.error_details(), [&](int field, std::string_view any) {
    if (field != 3) return;
    std::string_view url;
    std::string_view value;
    const bool parsed =
        ForEachBytesField(any, [&](int f, std::string_view bytes) {
          if (f == 1) url = bytes;
          if (f == 2) value = bytes;
        });
    if (parsed && !url.empty()) {
      out.SetPayload(absl::string_view(url.data(), url.size()),
                     absl::Cord(absl::string_view(value.data(), value.size())));
    }
  });
  return out;
}

}  // namespace internal
namespace {

constexpr std::string_view kNamePrefix = "articles/";

using internal::FromGrpc;

constexpr std::string_view kErrorInfoTypeUrl =
    "type.googleapis.com/google.rpc.ErrorInfo";
constexpr std::string_view kBadRequestTypeUrl =
    "type.googleapis.com/google.rpc.BadRequest";
constexpr std::string_view kRetryInfoTypeUrl =
    "type.googleapis.com/google.rpc.RetryInfo";

// An article id as contentd generates one for a create without an id: 16
// of [a-z0-9] (82 random bits) from OpenSSL's generator, which the SDK
// links already; a byte of 252 or more is drawn again, so that each of the
// 36 is as likely. "" if the generator fails (contentd then picks the id).
std::string NewArticleId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  unsigned char bytes[32];
  while (id.size() < 16) {
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "";
    for (unsigned char b : bytes) {
      if (b < 252 && id.size() < 16) id.push_back(kAlphabet[b % 36]);
    }
  }
  return id;
}

// Retries UNAVAILABLE with backoff, for reads only. UNAVAILABLE can also
// come after the server applied a call (killed after its commit, connection
// dropped before the reply): a retried write would then create a second
// article, or answer ALREADY_EXISTS or NOT_FOUND for a write that succeeded.
// Writes go once; gRPC still retries by itself a call that never left the
// client. CompactStore applies the same retention again, so it is safe.
// CANCELLED from the server is retried too: contentd answers it only to a
// caller that has left, but
// gRPC's server ends so a call that arrives as a stop begins, unrun
// (docs/operations.md); a call the program cancelled is not retried.
// With `load_balancing` (ClientOptions), gRPC's loadBalancingConfig too.
std::string ServiceConfig(int max_attempts, const std::string& load_balancing) {
  std::vector<std::string> parts;
  if (!load_balancing.empty()) {
    parts.push_back(absl::StrFormat(R"("loadBalancingConfig":[{"%s":{}}])",
                                    load_balancing));
  }
  if (max_attempts < 2)
    return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
  constexpr std::pair<const char*, const char*> kRetried[] = {
      {"ContentService", "GetArticle"},
      {"ContentService", "ListArticleRevisions"},
      {"ContentService", "DiffArticleRevisions"},
      {"ContentService", "ListTranslations"},
      {"ContentService", "QueryArticles"},
      {"ContentService", "BatchGetArticles"},
      {"ContentService", "ListTags"},
      {"ContentService", "ListCategories"},
      {"ContentService", "GetServerInfo"},
      {"ContentService", "WatchArticles"},
      {"ContentService", "ExportArticles"},
      {"AdminService", "CheckStore"},
      {"AdminService", "GetStats"},
      {"AdminService", "ListOperations"},
      {"AdminService", "CompactStore"},
  };
  std::vector<std::string> names;
  for (const auto& [service, method] : kRetried) {
    names.push_back(absl::StrFormat(
        R"({"service":"content.v1.%s","method":"%s"})", service, method));
  }
  parts.push_back(absl::StrFormat(
      R"("methodConfig":[{"name":[%s],)"
      R"("retryPolicy":{"maxAttempts":%d,"initialBackoff":"0.1s",)"
      R"("maxBackoff":"2s","backoffMultiplier":2,)"
      R"("retryableStatusCodes":["UNAVAILABLE","CANCELLED"]}}])",
      absl::StrJoin(names, ","), max_attempts > 5 ? 5 : max_attempts));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

// Sets the deadline `timeout` from now; none for an infinite one. absl::Time
// saturates where system_clock arithmetic would overflow into the past.
void SetTimeout(grpc::ClientContext* ctx, absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return;
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// Sets `deadline`; none for absl::InfiniteFuture().
void SetDeadline(grpc::ClientContext* ctx, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return;
  ctx->set_deadline(absl::ToChronoTime(deadline));
}

// INVALID_ARGUMENT `request_id: RULE (WHERE); WHAT` for a request id
// contentd would refuse; OK for a good one or none. gRPC aborts the process
// on a header value outside printable ASCII, so such an id is never sent.
absl::Status CheckRequestId(const std::string& id, absl::string_view where,
                            absl::string_view what) {
  if (id.empty()) return absl::OkStatus();
  const std::string rule = internal::RequestIdProblem(id);
  if (rule.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("request_id: ", rule, " (", where, "); ", what));
}

// What `call` asks that cannot be sent: INVALID_ARGUMENT for a request id
// contentd would refuse, DEADLINE_EXCEEDED for a timeout below zero (a
// budget worked out as `deadline - absl::Now()` that has run out). The
// latter fell back to ClientOptions::timeout, so a caller already out of
// time waited up to 10 s more, and a write it had given up on could still
// be applied.
absl::Status CheckCall(const CallOptions& call) {
  if (absl::Status s = CheckRequestId(call.request_id, "CallOptions",
                                      "the call was not sent");
      !s.ok()) {
    return s;
  }
  if (call.timeout >= absl::ZeroDuration()) return absl::OkStatus();
  return absl::DeadlineExceededError(
      absl::StrCat("deadline passed before the call was sent (CallOptions "
                   "timeout ",
                   absl::FormatDuration(call.timeout), "); it was not sent"));
}

// The target to dial, or INVALID_ARGUMENT naming `target` unless it can be
// dialled: host[:port] with a port of 1-65535 (a DNS name or IP, an IPv6
// host in brackets; `dns:///host[:port]` too; no port is 443, written out
// here since gRPC dials an IP literal without one on port 0), a unix
// socket (`unix:PATH`, `unix-abstract:NAME`), or another gRPC target form
// (`ipv4:`, `ipv6:`, `dns:` with an authority or none, `xds:`, `vsock:`),
// which gRPC parses itself. gRPC would dial port 99999 as 34463 and fail
// only at the first call.
absl::StatusOr<std::string> DialTarget(absl::string_view target) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "target: must be host:port (an IPv6 host in brackets; no port is "
        "443), unix:PATH, or a gRPC target such as dns:///host:port or "
        "ipv4:ADDR:PORT,ADDR:PORT, got \"",
        target, "\""));
  };
  for (const char* scheme : {"unix:", "unix-abstract:", "ipv4:", "ipv6:",
                             "xds:", "vsock:", "dns:"}) {
    absl::string_view rest = target;
    if (!absl::ConsumePrefix(&rest, scheme)) continue;
    if (std::string_view(scheme) == "dns:" && absl::StartsWith(rest, "///"))
      break;  // dns:///host[:port], checked below
    if (rest.empty() || rest == "//" || rest == "/") return bad();
    return std::string(target);
  }
  absl::string_view address = target;
  absl::ConsumePrefix(&address, "dns:///");
  absl::string_view host = address;
  std::optional<absl::string_view> digits;
  bool bracketed = false;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close != absl::string_view::npos) {
      bracketed = true;
      host = address.substr(0, close + 1);
      absl::string_view rest = address.substr(close + 1);
      if (absl::ConsumePrefix(&rest, ":")) {
        digits = rest;
      } else if (!rest.empty()) {
        host = address;  // junk after the bracket: refused below
        bracketed = false;
      }
    }
  } else if (const size_t colon = address.find(':');
             colon != absl::string_view::npos) {
    host = address.substr(0, colon);
    digits = address.substr(colon + 1);
    // An unbracketed IPv6 address: gRPC would take it all as the host.
    if (digits->find(':') != absl::string_view::npos) host = "";
  }
  // A bracketed host is an IPv6 address (gRPC refuses `[127.0.0.1]`).
  const bool host_ok =
      host.size() > (bracketed ? 2 : 0) &&
      (!bracketed || host.find(':') != absl::string_view::npos) &&
      std::all_of(host.begin(), host.end(), [&](char c) {
        return absl::ascii_isalnum(c) || c == '.' || c == '-' || c == '_' ||
               (bracketed && (c == '[' || c == ']' || c == ':' || c == '%'));
      });
  if (!host_ok) return bad();
  int port = 0;
  if (!digits.has_value()) return absl::StrCat(target, ":443");
  if (digits->empty() || digits->size() > 5 ||
      !std::all_of(digits->begin(), digits->end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(*digits, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("target: port must be 1-65535, got \"", *digits,
                     "\" in \"", target, "\""));
  }
  return std::string(target);
}

}  // namespace

struct WatchCanceller::State {
  std::mutex mu;
  // Signalled by Cancel: a Watch pausing between reconnects wakes at once.
  std::condition_variable cancelled_cv;
  bool cancelled = false;
  // The running streams: one canceller may serve several Watch calls.
  std::vector<grpc::ClientContext*> ctxs;
};

WatchCanceller::WatchCanceller() : state_(std::make_shared<State>()) {}
WatchCanceller::~WatchCanceller() = default;

void WatchCanceller::Cancel() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->cancelled = true;
    for (grpc::ClientContext* ctx : state_->ctxs) ctx->TryCancel();
  }
  state_->cancelled_cv.notify_all();
}

// The callbacks running on this thread, innermost first, each with the
// Client whose call runs it: ~Client from one of its own would wait forever
// for that call, so it aborts instead (the REQUIRES in client.h). Per
// thread rather than a list under the Client's mutex, so that an event or
// an article costs no lock.
class CallbackScope {
 public:
  CallbackScope(const Client* client, const char* name)
      : client_(client), name_(name), outer_(innermost_) {
    innermost_ = this;
  }
  ~CallbackScope() { innermost_ = outer_; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

  // The name of a callback of `client` running on this thread, else null.
  static const char* Running(const Client* client) {
    for (const CallbackScope* s = innermost_; s != nullptr; s = s->outer_) {
      if (s->client_ == client) return s->name_;
    }
    return nullptr;
  }

 private:
  static thread_local const CallbackScope* innermost_;
  const Client* const client_;
  const char* const name_;  // "Watch on_event"
  const CallbackScope* const outer_;
};

thread_local const CallbackScope* CallbackScope::innermost_ = nullptr;

// An ImportArticles stream, shared by the call and the thread that writes
// to it, which may outlive the call (ImportWriter).
struct ImportStream {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ImportArticlesRequest,
                                           v1::ImportArticlesResponse>>
      stream;
};

// Writes an import's batches on a thread of its own, so that the call can
// wait for each write with a bound. gRPC's Write blocks until the batch is
// in the socket, and a cancel (the deadline, ~Client) does not end it: a
// server that stopped reading (a hung contentd, a network cut) held the
// import until the connection was dropped, keepalive_timeout past the
// deadline, or for good with keepalives off. A writer still writing when
// destroyed is left to end by itself, keeping the stream alive until then.
class ImportWriter {
 public:
  explicit ImportWriter(std::shared_ptr<ImportStream> stream)
      : state_(std::make_shared<State>()) {
    state_->stream = std::move(stream);
    thread_ = std::thread([state = state_] { Run(*state); });
  }
  ~ImportWriter() {
    Close(/*writes_done=*/false);
    std::unique_lock<std::mutex> lock(state_->mu);
    if (state_->exited) {
      lock.unlock();
      thread_.join();
    } else {
      thread_.detach();
    }
  }
  ImportWriter(const ImportWriter&) = delete;
  ImportWriter& operator=(const ImportWriter&) = delete;

  // The batch the next Write sends; not to be touched while one runs.
  v1::ImportArticlesRequest* batch() { return &state_->batch; }
  // Starts writing batch().
  void Write() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->pending = true;
    state_->cv.notify_all();
  }
  // Ends the writer after the write in progress, half-closing the stream
  // first if `writes_done`.
  void Close(bool writes_done) {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->closing) return;
    state_->closing = true;
    state_->writes_done = writes_done;
    state_->cv.notify_all();
  }
  // Whether the writer is done with what it was asked (by Close: it has
  // ended) by `until`.
  bool Wait(absl::Time until) {
    std::unique_lock<std::mutex> lock(state_->mu);
    return state_->cv.wait_until(lock, absl::ToChronoTime(until), [&] {
      return !state_->pending && (!state_->closing || state_->exited);
    });
  }
  // Whether the last write went (false: the stream ended).
  bool ok() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->ok;
  }

 private:
  struct State {
    std::shared_ptr<ImportStream> stream;
    v1::ImportArticlesRequest batch;
    std::mutex mu;
    std::condition_variable cv;
    bool pending = false;  // batch to write
    bool ok = true;
    bool closing = false;
    bool writes_done = false;
    bool exited = false;
  };
  static void Run(State& s) {
    std::unique_lock<std::mutex> lock(s.mu);
    for (;;) {
      s.cv.wait(lock, [&] { return s.pending || s.closing; });
      if (s.pending) {
        lock.unlock();
        const bool ok = s.stream->stream->Write(s.batch);
        lock.lock();
        s.ok = ok;
        s.pending = false;
        s.cv.notify_all();
        continue;
      }
      if (s.writes_done) {
        lock.unlock();
        s.stream->stream->WritesDone();
        lock.lock();
      }
      s.exited = true;
      s.cv.notify_all();
      return;
    }
  }

  const std::shared_ptr<State> state_;
  std::thread thread_;
};

class GrpcClient final : public Client {
 public:
  GrpcClient(const ClientOptions& options,
             std::shared_ptr<grpc::Channel> channel)
      : options_(options),
        channel_(channel),
        stub_(v1::ContentService::NewStub(channel)),
        admin_(v1::AdminService::NewStub(channel)) {}

  // Cancels the calls other threads have in progress and waits for them to
  // return. A Watch would otherwise read on through the channel its stream
  // keeps alive, and reconnect through members destroyed.
  ~GrpcClient() override {
    if (const char* callback = CallbackScope::Running(this)) {
      std::fprintf(stderr,
                   "content::Client destroyed from its own %s callback, "
                   "which would wait forever for the call running it. "
                   "REQUIRES: no callback of a Client destroys it "
                   "(content/client.h); destroy it once the call has "
                   "returned, or from another thread.\n",
                   callback);
      std::abort();
    }
    std::unique_lock<std::mutex> lock(running_mu_);
    closing_ = true;
    for (grpc::ClientContext* ctx : running_ctxs_) ctx->TryCancel();
    // A Watch pausing between reconnects waits on its canceller's
    // condition variable; taking the canceller's mutex first, the notify
    // cannot come between its check of closing_ and its wait.
    for (WatchCanceller::State* watch : running_watches_) {
      std::lock_guard<std::mutex> watch_lock(watch->mu);
      watch->cancelled_cv.notify_all();
    }
    running_done_.wait(lock, [&] { return running_ == 0; });
  }

  absl::StatusOr<v1::Article> CreateArticle(
      const v1::CreateArticleRequest& request,
      const CallOptions& call) override {
    if (!request.article_id().empty())
      return Call(&Stub::CreateArticle, request, call, /*write=*/true);
    // No id: this side picks it, as contentd would have (16 lowercase
    // letters and digits), so that a create whose answer was lost (a
    // contentd killed after its commit) can be read back by the id its
    // error names. Left to contentd, it was known only to the lost reply,
    // and a create sent again made a second article.
    v1::CreateArticleRequest named = request;
    named.set_article_id(NewArticleId());
    if (named.article_id().empty())
      return Call(&Stub::CreateArticle, request, call, /*write=*/true);
    return Call(&Stub::CreateArticle, named, call, /*write=*/true,
                ArticleName(named.article_id()));
  }
  absl::StatusOr<v1::Article> GetArticle(const v1::GetArticleRequest& request,
                                         const CallOptions& call) override {
    return Call(&Stub::GetArticle, request, call);
  }
  absl::StatusOr<v1::Article> UpdateArticle(
      const v1::UpdateArticleRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::UpdateArticle, request, call, /*write=*/true);
  }
  absl::StatusOr<v1::Article> DeleteArticle(
      const v1::DeleteArticleRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::DeleteArticle, request, call, /*write=*/true);
  }
  absl::StatusOr<v1::Article> UndeleteArticle(
      const v1::UndeleteArticleRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::UndeleteArticle, request, call, /*write=*/true);
  }
  absl::StatusOr<v1::ListArticleRevisionsResponse> ListArticleRevisions(
      const v1::ListArticleRevisionsRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::ListArticleRevisions, request, call);
  }
  absl::StatusOr<v1::DiffArticleRevisionsResponse> DiffArticleRevisions(
      const v1::DiffArticleRevisionsRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::DiffArticleRevisions, request, call);
  }
  absl::StatusOr<v1::Article> RestoreArticleRevision(
      const v1::RestoreArticleRevisionRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::RestoreArticleRevision, request, call, /*write=*/true);
  }
  absl::StatusOr<v1::ListTranslationsResponse> ListTranslations(
      const v1::ListTranslationsRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::ListTranslations, request, call);
  }
  absl::StatusOr<v1::QueryArticlesResponse> QueryArticles(
      const v1::QueryArticlesRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::QueryArticles, request, call);
  }
  absl::StatusOr<v1::BatchGetArticlesResponse> BatchGetArticles(
      const v1::BatchGetArticlesRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::BatchGetArticles, request, call);
  }
  absl::StatusOr<v1::ListTagsResponse> ListTags(
      const v1::ListTagsRequest& request, const CallOptions& call) override {
    return Call(&Stub::ListTags, request, call);
  }
  absl::StatusOr<v1::ListCategoriesResponse> ListCategories(
      const v1::ListCategoriesRequest& request,
      const CallOptions& call) override {
    return Call(&Stub::ListCategories, request, call);
  }
  absl::StatusOr<v1::ServerInfo> GetServerInfo(
      const CallOptions& call) override {
    return Call(&Stub::GetServerInfo, v1::GetServerInfoRequest(), call);
  }

  absl::StatusOr<v1::BackupStoreResponse> BackupStore(
      const v1::BackupStoreRequest& request, const CallOptions& call) override {
    return CallOn(admin_.get(), &AdminStub::BackupStore, request, call,
                  /*write=*/true);
  }
  absl::StatusOr<v1::CompactStoreResponse> CompactStore(
      const v1::CompactStoreRequest& request,
      const CallOptions& call) override {
    return CallOn(admin_.get(), &AdminStub::CompactStore, request, call);
  }
  absl::StatusOr<v1::CheckStoreResponse> CheckStore(
      const v1::CheckStoreRequest& request, const CallOptions& call) override {
    return CallOn(admin_.get(), &AdminStub::CheckStore, request, call);
  }
  absl::StatusOr<v1::GetStatsResponse> GetStats(
      const v1::GetStatsRequest& request, const CallOptions& call) override {
    return CallOn(admin_.get(), &AdminStub::GetStats, request, call);
  }
  absl::StatusOr<v1::ListOperationsResponse> ListOperations(
      const v1::ListOperationsRequest& request,
      const CallOptions& call) override {
    return CallOn(admin_.get(), &AdminStub::ListOperations, request, call);
  }

  absl::Status Watch(
      v1::WatchArticlesRequest request,
      const std::function<bool(const v1::WatchArticlesResponse&)>& on_event,
      WatchCanceller* canceller, const WatchHooks& hooks) override {
    if (absl::Status s = internal::CheckParsable(request); !s.ok()) return s;
    if (absl::Status s = CheckRequestId(hooks.request_id, "WatchHooks",
                                        "the watch was not started");
        !s.ok()) {
      return s;
    }
    // Every stream of this watch, reconnects included, carries its id.
    CallOptions streams;
    streams.request_id = hooks.request_id;
    std::shared_ptr<WatchCanceller::State> state =
        canceller != nullptr ? canceller->state_
                             : std::make_shared<WatchCanceller::State>();
    const Running watch(this, nullptr, state.get());
    if (!watch.started()) return Destroyed();
    absl::Duration backoff = absl::Milliseconds(100);
    bool lost = false;     // on_lost was called; on_resumed not yet
    bool started = false;  // a stream started (on_started was called)
    while (true) {
      grpc::ClientContext ctx;
      const Running stream(this, &ctx);
      if (!stream.started()) return Destroyed();
      AddMetadata(&ctx, streams);
      {
        std::lock_guard<std::mutex> lock(state->mu);
        if (state->cancelled) return absl::OkStatus();
        state->ctxs.push_back(&ctx);
      }
      // However this attempt ends, an exception from on_event or on_resumed
      // included: a later Cancel would otherwise cancel a destroyed context.
      absl::Cleanup unregister = [&] {
        std::lock_guard<std::mutex> lock(state->mu);
        state->ctxs.erase(
            std::find(state->ctxs.begin(), state->ctxs.end(), &ctx));
      };
      // Reconnecting, Watch's backoff (up to 2 s) sets the pace, not the
      // channel's (up to 5 s).
      if (lost) PokeChannel(/*always=*/true);
      std::unique_ptr<grpc::ClientReader<v1::WatchArticlesResponse>> reader =
          stub_->WatchArticles(&ctx, request);
      // An exception from on_event or on_resumed leaves the stream ended
      // (cancelled and finished) before it goes on to the caller.
      absl::Cleanup abandon = [&] {
        ctx.TryCancel();
        reader->Finish();
      };
      // "Now" is where this stream starts; asking for "now" again after a
      // reconnect would skip what was written in between. So is "the
      // oldest event kept" (after_sequence 0): asked for again, it skipped
      // the events retention trimmed meanwhile instead of failing
      // OUT_OF_RANGE. The server sends the start as soon as it takes a
      // stream, which is also when a reconnect has taken, and when
      // on_started can tell the caller.
      const bool resume_from_start =
          request.start_now() || request.after_sequence() == 0 || lost;
      if (resume_from_start || (!started && hooks.on_started)) {
        reader->WaitForInitialMetadata();
        const auto& md = ctx.GetServerInitialMetadata();
        auto it = md.find("content-watch-after");
        int64_t after = 0;
        if (it != md.end() &&
            absl::SimpleAtoi(
                absl::string_view(it->second.data(), it->second.size()),
                &after)) {
          if (resume_from_start) {
            request.set_start_now(false);
            request.set_after_sequence(after);
          }
          if (!started) {
            started = true;
            if (hooks.on_started)
              RunCallback("Watch on_started", hooks.on_started, after);
          }
          if (lost) {
            lost = false;
            if (hooks.on_resumed)
              RunCallback("Watch on_resumed", hooks.on_resumed, after);
          }
        }
      }
      v1::WatchArticlesResponse event;
      bool stopped = false;
      bool progressed = false;
      while (reader->Read(&event)) {
        // A server that sent no start: the first event says where the
        // stream started. From "now", just before that event (the
        // request's after_sequence is 0 then, which says nothing).
        const int64_t start = request.start_now() ? event.event().sequence() - 1
                                                  : request.after_sequence();
        if (!started) {  // a server that sent no start: the event says it is
          started = true;
          if (hooks.on_started) {
            RunCallback("Watch on_started", hooks.on_started, start);
          }
        }
        if (lost) {  // a server that sent no start: the event says it took
          lost = false;
          if (hooks.on_resumed) {
            RunCallback("Watch on_resumed", hooks.on_resumed, start);
          }
        }
        progressed = true;
        backoff = absl::Milliseconds(100);
        // Resume after this event on any reconnect.
        request.set_start_now(false);
        request.set_after_sequence(event.event().sequence());
        if (!RunCallback("Watch on_event", on_event, event)) {
          stopped = true;
          ctx.TryCancel();
          break;
        }
      }
      std::move(abandon).Cancel();
      grpc::Status s = reader->Finish();
      std::move(unregister).Invoke();
      bool cancelled;
      {
        std::lock_guard<std::mutex> lock(state->mu);
        cancelled = state->cancelled;
      }
      if (stopped || cancelled) return absl::OkStatus();
      if (closing_) return Destroyed();
      switch (s.error_code()) {
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
          // A stall cut-off or a rate limit passes; an event over the
          // receive limit comes again on every reconnect (gRPC's own text).
          if (!progressed &&
              absl::StrContains(s.error_message(), "larger than max")) {
            return FromGrpc(s);
          }
          break;
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::DEADLINE_EXCEEDED:
        // Not cancelled by us: the server went away mid-stream (restart).
        case grpc::StatusCode::CANCELLED:
        case grpc::StatusCode::OK:  // a server that ended the stream: resume
          break;
        default:
          return FromGrpc(s);
      }
      // A stream contentd ends (SHUTTING_DOWN, WATCH_TOO_SLOW) says where
      // to resume: past the events a filter left out as well, which the
      // last one delivered may be far behind (a reconnect from there
      // replayed them, and met OUT_OF_RANGE once retention had passed it).
      // Every event it sent was read before its status.
      const auto& trailers = ctx.GetServerTrailingMetadata();
      if (auto it = trailers.find("content-resume-after");
          it != trailers.end()) {
        int64_t resume = 0;
        if (absl::SimpleAtoi(
                absl::string_view(it->second.data(), it->second.size()),
                &resume) &&
            resume > request.after_sequence() && !request.start_now()) {
          request.set_after_sequence(resume);
        }
      }
      if (!lost) {
        lost = true;
        if (hooks.on_lost) {
          RunCallback("Watch on_lost", hooks.on_lost, FromGrpc(s),
                      request.after_sequence());
        }
      }
      // The pause ends early when the canceller is cancelled: a Cancel
      // during it used to wait for the pause (up to 2 s) to end.
      {
        std::unique_lock<std::mutex> lock(state->mu);
        if (state->cancelled_cv.wait_for(
                lock, absl::ToChronoNanoseconds(backoff),
                [&] { return state->cancelled || closing_; })) {
          return state->cancelled ? absl::OkStatus() : Destroyed();
        }
      }
      backoff = std::min(backoff * 2, absl::Seconds(2));
    }
  }

  absl::Status ImportArticles(
      const std::function<bool(v1::ImportArticlesRequest*)>& next_batch,
      const std::function<void(const v1::ImportArticlesResponse&)>& on_results,
      const CallOptions& call) override {
    if (absl::Status s = CheckCall(call); !s.ok()) return s;
    // The stream, shared with the thread that writes to it (ImportWriter),
    // which may outlive this call.
    auto shared = std::make_shared<ImportStream>();
    grpc::ClientContext& ctx = shared->ctx;
    const Running running(this, &ctx);
    if (!running.started()) return Destroyed();
    AddMetadata(&ctx, call);
    // The stream has no deadline unless the call sets one; the wait for a
    // connection is bounded either way.
    const absl::Time deadline =
        absl::Now() +
        (call.timeout > absl::ZeroDuration() ? call.timeout : options_.timeout);
    if (absl::Status s = AwaitConnection(deadline); !s.ok()) return s;
    ctx.set_wait_for_ready(true);
    const absl::Time stream_deadline =
        call.timeout > absl::ZeroDuration() ? deadline : absl::InfiniteFuture();
    SetDeadline(&ctx, stream_deadline);
    shared->stream = stub_->ImportArticles(&ctx);
    auto& stream = shared->stream;
    ImportWriter writer(shared);
    // Results are read on a second thread so batches keep flowing while the
    // server answers earlier ones.
    int64_t answered = 0, sent = 0;
    // An exception from on_results or next_batch ends the stream and
    // reaches the caller, as Watch's callbacks' do. It terminated the
    // program: on_results's escaped its thread, and next_batch's left that
    // thread joinable.
    std::exception_ptr results_error;
    std::thread reader([&] {
      v1::ImportArticlesResponse response;
      while (stream->Read(&response)) {
        ++answered;
        try {
          RunCallback("ImportArticles on_results", on_results, response);
        } catch (...) {
          results_error = std::current_exception();
          ctx.TryCancel();  // the writer's next Write fails
          return;
        }
      }
    });
    // Whether the writer is done with what it was given, waiting for it up
    // to the stream's deadline (which gRPC's own cancel ends a write at) or
    // ~Client (which cancelled it), and kAbandonWrite more: false when it
    // is not done by then.
    const auto written = [&] {
      for (;;) {
        const absl::Time now = absl::Now();
        if (closing_ || now >= stream_deadline) break;
        if (writer.Wait(std::min(stream_deadline, now + kClosingCheck)))
          return true;
      }
      return writer.Wait(absl::Now() + kAbandonWrite);
    };
    bool stuck = false;  // a write gRPC did not end by then
    absl::Cleanup abandon = [&] {
      ctx.TryCancel();
      reader.join();
      writer.Close(/*writes_done=*/false);
      if (!stuck && writer.Wait(absl::Now() + kAbandonWrite)) stream->Finish();
    };
    // Batches are not checked as other requests are (CheckParsable): the
    // server fails an article it cannot parse alone, and the rest of its
    // batch and the batches after it still go.
    while (true) {
      v1::ImportArticlesRequest* batch = writer.batch();
      batch->Clear();
      if (!RunCallback("ImportArticles next_batch", next_batch, batch)) break;
      writer.Write();
      if (!written()) {
        stuck = true;
        break;
      }
      if (!writer.ok()) break;  // the server ended the stream
      ++sent;
    }
    bool half_closed = false;  // stuck in WritesDone, every batch sent
    if (!stuck) {
      half_closed = true;
      writer.Close(/*writes_done=*/true);
      stuck = !written();
    }
    // A write gRPC has not ended by the deadline (or ~Client) is one the
    // server stopped taking (a hung contentd, a network cut): gRPC ends it
    // only when the connection is dropped, keepalive_timeout later (never
    // with keepalives off), and the import waited that long past its
    // deadline. The writer is left to end it; this returns now.
    if (stuck) {
      std::move(abandon).Invoke();
      if (results_error) std::rethrow_exception(results_error);
      if (closing_) return Destroyed();
      return absl::DeadlineExceededError(absl::StrCat(
          "Deadline Exceeded (the server stopped taking the import: ",
          half_closed
              ? absl::StrCat("after its last batch; the ", sent)
              : absl::StrCat("batch ", sent + 1, " was being sent; it and the ",
                             sent, " before it"),
          " may have been written, ", answered, " were answered)"));
    }
    std::move(abandon).Cancel();
    reader.join();
    grpc::Status s = stream->Finish();
    if (results_error) std::rethrow_exception(results_error);
    if (closing_ && s.error_code() == grpc::StatusCode::CANCELLED)
      return Destroyed();
    // gRPC hands a streaming server a batch it cannot parse as the end of
    // the stream, which then ends OK: every batch from there on unwritten.
    if (s.ok() && answered < sent) {
      return absl::InvalidArgumentError(absl::StrCat(
          "import: the server answered ", answered, " of ", sent,
          " batches and ended the stream: batch ", answered + 1,
          " cannot be parsed (a string field that is not valid UTF-8, or "
          "nesting deeper than 100 levels); it and later batches were not "
          "written"));
    }
    // The server ends the stream with INVALID_ARGUMENT at a batch it
    // refuses whole (over 1000 articles, or not a batch at all), before
    // writing any of it: the first unanswered one. Its message cannot say
    // which batch that was. Its details (ErrorInfo, BadRequest) are kept:
    // ErrorReason and FieldViolations read them as for any other call.
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
        answered < sent) {
      absl::Status out = absl::InvalidArgumentError(
          absl::StrCat("import: batch ", answered + 1, ": ", s.error_message(),
                       "; it and later batches were not written (", answered,
                       " batches before it were answered)"));
      FromGrpc(s).ForEachPayload(
          [&](absl::string_view url, const absl::Cord& value) {
            out.SetPayload(url, value);
          });
      return out;
    }
    return FromGrpc(s);
  }

  absl::Status ExportArticles(
      const v1::ExportArticlesRequest& request,
      const std::function<bool(const v1::Article&)>& on_article,
      const CallOptions& call) override {
    if (absl::Status s = internal::CheckParsable(request); !s.ok()) return s;
    if (absl::Status s = CheckCall(call); !s.ok()) return s;
    grpc::ClientContext ctx;
    const Running running(this, &ctx);
    if (!running.started()) return Destroyed();
    AddMetadata(&ctx, call);
    if (call.timeout > absl::ZeroDuration()) SetTimeout(&ctx, call.timeout);
    PokeChannel(/*always=*/false);
    auto reader = stub_->ExportArticles(&ctx, request);
    // An exception from on_article leaves the stream ended (cancelled and
    // finished) before it goes on to the caller, as Watch's and
    // ImportArticles' callbacks' do, rather than relying on the context's
    // destruction to cancel a call whose status was never read.
    absl::Cleanup abandon = [&] {
      ctx.TryCancel();
      reader->Finish();
    };
    v1::ExportArticlesResponse batch;
    bool any = false;
    while (reader->Read(&batch)) {
      any = true;
      for (const v1::Article& a : batch.articles()) {
        if (!RunCallback("ExportArticles on_article", on_article, a))
          return absl::OkStatus();  // `abandon` ends the stream
      }
    }
    std::move(abandon).Cancel();
    const grpc::Status s = reader->Finish();
    if (closing_ && s.error_code() == grpc::StatusCode::CANCELLED)
      return Destroyed();
    return any ? FromGrpc(s) : ReadFailure(s);
  }

  absl::StatusOr<Health> CheckHealth(const std::string& service,
                                     const CallOptions& call) override {
    if (absl::Status s = CheckCall(call); !s.ok()) return s;
    grpc::ClientContext ctx;
    const Running running(this, &ctx);
    if (!running.started()) return Destroyed();
    SetTimeout(&ctx, call.timeout > absl::ZeroDuration() ? call.timeout
                                                         : options_.timeout);
    AddMetadata(&ctx, call);
    // grpc.health.v1.HealthCheckRequest {string service = 1;}, encoded
    // here as the SDK reads google.rpc's fields (ForEachBytesField): the
    // health protos are not compiled in.
    std::string request;
    if (!service.empty()) {
      request += '\x0a';
      for (uint64_t n = service.size();; n >>= 7) {
        if (n < 0x80) {
          request += static_cast<char>(n);
          break;
        }
        request += static_cast<char>((n & 0x7f) | 0x80);
      }
      request += service;
    }
    grpc::Slice slice(request);
    grpc::ByteBuffer request_buffer(&slice, 1);
    grpc::ByteBuffer response_buffer;
    grpc::GenericStub generic(channel_);
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                      &request_buffer, &response_buffer,
                      [&done](grpc::Status s) { done.set_value(s); });
    const grpc::Status s = done.get_future().get();
    if (closing_ && s.error_code() == grpc::StatusCode::CANCELLED)
      return Destroyed();
    Health health;
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      health.status = Health::Status::kServiceUnknown;
      return health;
    }
    if (!s.ok()) return ReadFailure(s);
    // HealthCheckResponse {ServingStatus status = 1;}: a varint.
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (response_buffer.Dump(&slices).ok()) {
      for (const grpc::Slice& part : slices)
        bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
    google::protobuf::io::CodedInputStream in(
        reinterpret_cast<const uint8_t*>(bytes.data()),
        static_cast<int>(bytes.size()));
    uint32_t value = 0;
    for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
      if (tag == 8 && in.ReadVarint32(&value)) continue;
      if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag))
        break;
    }
    health.status = value == 1   ? Health::Status::kServing
                    : value == 2 ? Health::Status::kNotServing
                    : value == 3 ? Health::Status::kServiceUnknown
                                 : Health::Status::kUnknown;
    if (health.status == Health::Status::kServing) return health;
    // contentd's reasons (server/service/health.h): the whole server's
    // applies to every name; else only readiness differs, and says why.
    const auto& trailers = ctx.GetServerTrailingMetadata();
    for (const char* key :
         {"contentd-health-reason", "contentd-readiness-reason"}) {
      const auto it = trailers.find(key);
      if (it == trailers.end()) continue;
      health.reason = PercentDecoded(
          absl::string_view(it->second.data(), it->second.size()));
      break;
    }
    return health;
  }

 private:
  using Stub = v1::ContentService::Stub;

  // A metadata value's `%XX` escapes as the bytes they stand for.
  static std::string PercentDecoded(absl::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      int byte = 0;
      if (text[i] == '%' && i + 2 < text.size() &&
          absl::SimpleHexAtoi(text.substr(i + 1, 2), &byte)) {
        out += static_cast<char>(byte);
        i += 2;
      } else {
        out += text[i];
      }
    }
    return out;
  }
  using AdminStub = v1::AdminService::Stub;

  // A call in progress, for the destructor to cancel and wait for: its
  // context (null for a Watch as a whole, whose streams come and go) and,
  // for a Watch, its canceller's state. Not started() once the destructor
  // has begun.
  class Running {
   public:
    Running(GrpcClient* client, grpc::ClientContext* ctx,
            WatchCanceller::State* watch = nullptr)
        : client_(client), ctx_(ctx), watch_(watch) {
      std::lock_guard<std::mutex> lock(client_->running_mu_);
      if (client_->closing_) return;
      started_ = true;
      ++client_->running_;
      if (ctx_ != nullptr) client_->running_ctxs_.push_back(ctx_);
      if (watch_ != nullptr) client_->running_watches_.push_back(watch_);
    }
    ~Running() {
      if (!started_) return;
      // Notified under the lock: the destructor, once it sees no call
      // running, destroys the condition variable.
      std::lock_guard<std::mutex> lock(client_->running_mu_);
      if (ctx_ != nullptr) Erase(client_->running_ctxs_, ctx_);
      if (watch_ != nullptr) Erase(client_->running_watches_, watch_);
      if (--client_->running_ == 0) client_->running_done_.notify_all();
    }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
    bool started() const { return started_; }

   private:
    template <typename T>
    static void Erase(std::vector<T*>& v, T* p) {
      v.erase(std::find(v.begin(), v.end(), p));
    }
    GrpcClient* const client_;
    grpc::ClientContext* const ctx_;
    WatchCanceller::State* const watch_;
    bool started_ = false;
  };

  // Calls the user's `callback` with `args`, known as `name` to the
  // destructor's check (CallbackScope).
  template <typename F, typename... Args>
  auto RunCallback(const char* name, const F& callback, Args&&... args)
      -> decltype(callback(std::forward<Args>(args)...)) {
    const CallbackScope in(this, name);
    return callback(std::forward<Args>(args)...);
  }

  // What a call the destructor cancelled returns.
  static absl::Status Destroyed() {
    return absl::CancelledError("the Client was destroyed while the call ran");
  }

  template <typename S, typename Req, typename Resp>
  absl::StatusOr<Resp> CallOn(S* stub,
                              grpc::Status (S::*method)(grpc::ClientContext*,
                                                        const Req&, Resp*),
                              const Req& request, const CallOptions& call,
                              bool write = false,
                              std::string_view created = {}) {
    if (absl::Status s = internal::CheckParsable(request); !s.ok()) return s;
    if (absl::Status s = CheckCall(call); !s.ok()) return s;
    // Held across attempts, so that the destructor waits for a pause too.
    const Running running(this, nullptr);
    if (!running.started()) return Destroyed();
    const absl::Duration timeout =
        call.timeout > absl::ZeroDuration() ? call.timeout : options_.timeout;
    // One deadline for the wait for a connection, the calls and pauses.
    const absl::Time deadline = absl::Now() + timeout;
    // A call a rate limit refused did nothing (contentd checks the limit
    // first), so it goes again, a write too, after the wait the refusal
    // gives (RetryInfo), while max_attempts and the deadline allow.
    for (int attempt = 1;; ++attempt) {
      absl::StatusOr<Resp> r =
          CallOnce(stub, method, request, call, write, created, deadline);
      if (r.ok() || attempt >= std::clamp(options_.max_attempts, 1, 5) ||
          ErrorReason(r.status()) != "RATE_LIMIT_EXCEEDED") {
        return r;
      }
      const absl::Duration wait = ErrorRetryDelay(r.status());
      if (wait <= absl::ZeroDuration() || absl::Now() + wait >= deadline ||
          !PauseUnlessClosing(absl::Now() + wait)) {
        return r;
      }
    }
  }

  // Waits until `until` in slices, looking at closing_ between them: false
  // if the destructor began meanwhile.
  bool PauseUnlessClosing(absl::Time until) {
    for (absl::Time now = absl::Now(); now < until; now = absl::Now()) {
      if (closing_) return false;
      absl::SleepFor(std::min(until - now, kClosingCheck));
    }
    return !closing_;
  }

  // One attempt of CallOn's, within `deadline`.
  template <typename S, typename Req, typename Resp>
  absl::StatusOr<Resp> CallOnce(S* stub,
                                grpc::Status (S::*method)(grpc::ClientContext*,
                                                          const Req&, Resp*),
                                const Req& request, const CallOptions& call,
                                bool write, std::string_view created,
                                absl::Time deadline) {
    grpc::ClientContext ctx;
    const Running running(this, &ctx);
    if (!running.started()) return Destroyed();
    if (write) {
      if (absl::Status s = AwaitConnection(deadline); !s.ok()) return s;
      ctx.set_wait_for_ready(true);
    } else {
      PokeChannel(/*always=*/false);
    }
    SetDeadline(&ctx, deadline);
    AddMetadata(&ctx, call);
    Resp response;
    grpc::Status s = (stub->*method)(&ctx, request, &response);
    if (closing_ && s.error_code() == grpc::StatusCode::CANCELLED)
      return Destroyed();
    if (!s.ok()) return write ? WriteFailure(s, created) : ReadFailure(s);
    return response;
  }

  // A sent write's error. gRPC's own DEADLINE_EXCEEDED, UNAVAILABLE or
  // CANCELLED (no contentd reason: "Deadline Exceeded", "Socket closed", a
  // bare "CANCELLED" from a contentd that began to stop as the call came)
  // says nothing of whether the write ran, and writes are not retried, so
  // it says so; contentd's own answers say what happened and stay as
  // they are. `created`: the article a create whose id this side chose
  // would have made, named so that the caller can read it back.
  static absl::Status WriteFailure(const grpc::Status& s,
                                   std::string_view created = {}) {
    absl::Status status = FromGrpc(s);
    if (status.code() != absl::StatusCode::kDeadlineExceeded &&
        status.code() != absl::StatusCode::kUnavailable &&
        status.code() != absl::StatusCode::kCancelled) {
      return status;
    }
    if (!ErrorReason(status).empty()) return status;
    absl::Status out(
        status.code(),
        absl::StrCat(status.message(), " (",
                     status.code() == absl::StatusCode::kCancelled
                         ? "cancelled by the server, not by this program; "
                         : "",
                     "the write was sent and may have been applied: read it "
                     "back before writing again",
                     created.empty()
                         ? ""
                         : absl::StrCat("; it is ", std::string(created),
                                        ", the id this client chose as "
                                        "article_id was empty"),
                     ")"));
    status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
      out.SetPayload(url, value);
    });
    return out;
  }

  // A read's error: gRPC's, but a deadline that passed while the channel
  // had no connection (a server down or unreachable, retried until the
  // deadline) says so, with gRPC's reason where it has one, instead of
  // gRPC's bare "Deadline Exceeded".
  absl::Status ReadFailure(const grpc::Status& s) {
    if (s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return FromGrpc(s);
    }
    const grpc_connectivity_state state =
        channel_->GetState(/*try_to_connect=*/false);
    if (state == GRPC_CHANNEL_READY) return FromGrpc(s);
    // Only a channel that failed to connect answers the check at once: no
    // waiting past the deadline for one still connecting.
    const std::string why = state == GRPC_CHANNEL_TRANSIENT_FAILURE
                                ? ConnectFailure(kReadConnectCheck)
                                : "";
    return absl::DeadlineExceededError(absl::StrCat(
        "no connection to ", options_.target, " within the deadline",
        why.empty()
            ? (state == GRPC_CHANNEL_CONNECTING ? " (still connecting)" : "")
            : absl::StrCat(" (", why, ")")));
  }

  // The token, and the request id: the call's, else ClientOptions'.
  // REQUIRES: CheckCall(call) (or Watch's CheckRequestId) was OK.
  void AddMetadata(grpc::ClientContext* ctx, const CallOptions& call = {}) {
    if (!options_.token.empty())
      ctx->AddMetadata("authorization", "Bearer " + options_.token);
    const std::string& id =
        call.request_id.empty() ? options_.request_id : call.request_id;
    if (!id.empty()) ctx->AddMetadata(internal::kRequestIdMetadata, id);
  }

  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                         const Req&, Resp*),
                            const Req& request, const CallOptions& call,
                            bool write = false, std::string_view created = {}) {
    return CallOn(stub_.get(), method, request, call, write, created);
  }

  // Writes are sent once (ServiceConfig), so instead of failing on the
  // first refused connection (a server restarting) a write waits for one:
  // up to a second per attempt max_attempts allows (at least one), within
  // `timeout`. A write still waiting has not been sent; it goes with
  // wait_for_ready, so a connection lost before sending is waited out too.
  // A wait that the deadline ends stops a little before it, to ask gRPC
  // why there is no connection (client/connect_check.h); the reason gRPC
  // gave while the wait saw the connection fail stands if that last check
  // gets none (ConnectFailure). CANCELLED (Destroyed) once the destructor
  // has begun: the write is not sent.
  absl::Status AwaitConnection(absl::Time deadline) {
    const absl::Duration wait =
        absl::Seconds(std::clamp(options_.max_attempts, 1, 5));
    const absl::Time now = absl::Now();
    const bool deadline_first = deadline <= now + wait;
    const absl::Time until =
        deadline_first
            ? deadline - internal::ConnectCheckReserve(deadline - now)
            : now + wait;
    PokeChannel(/*always=*/true);
    std::string why;
    const bool connected = WaitForConnected(until, &why);
    if (closing_) return Destroyed();
    if (!connected) {
      // The latest reason, if the channel failed again since. The check
      // waits for an attempt still connecting for its budget only, which a
      // loaded host can use up: the hint at a TLS mismatch was lost so.
      if (std::string last = ConnectFailure(
              internal::ConnectCheckBudget(absl::Now(), deadline));
          !last.empty()) {
        why = std::move(last);
      }
      if (deadline_first) {
        return absl::DeadlineExceededError(absl::StrCat(
            "no connection to ", options_.target, " within the deadline",
            why.empty() ? "" : absl::StrCat(" (", why, ")"),
            "; the write was not sent"));
      }
      // Said as a read that failed says it, with what the wait adds.
      return absl::UnavailableError(absl::StrCat(
          why.empty() ? absl::StrCat("cannot connect to ", options_.target)
                      : why,
          " (no connection within ", absl::FormatDuration(wait),
          "; the write was not sent)"));
    }
    // Sent with no time left, the write would race its own deadline: the
    // server could apply it and the caller still see DEADLINE_EXCEEDED.
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          "deadline passed before the write was sent; it was not sent");
    }
    return absl::OkStatus();
  }

  // Whether the channel connected by `until`; false, within kClosingCheck
  // (and a check's kClosingCheck), once the destructor has begun. gRPC's
  // own wait cannot be cut short and kept the destructor waiting for up to
  // 5 s (max_attempts), so it is waited in slices with a look at closing_
  // after each. Each time the channel fails to connect, `why` is set to
  // gRPC's reason (ConnectFailure), asked while the failure is fresh: in
  // TRANSIENT_FAILURE gRPC answers the check at once, with no network
  // round trip, and on a slow answer it is asked again in the next slice.
  bool WaitForConnected(absl::Time until, std::string* why) {
    bool asked = false;  // this failure's reason is in `why`
    for (;;) {
      const grpc_connectivity_state state =
          channel_->GetState(/*try_to_connect=*/true);
      if (state == GRPC_CHANNEL_READY) return true;
      if (state != GRPC_CHANNEL_TRANSIENT_FAILURE) asked = false;
      absl::Time now = absl::Now();
      if (closing_ || now >= until) return false;
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && !asked) {
        std::string reason =
            ConnectFailure(std::min(kClosingCheck, until - now));
        if (!reason.empty()) {
          *why = std::move(reason);
          asked = true;
        }
        now = absl::Now();
        if (closing_ || now >= until) return false;
      }
      channel_->WaitForStateChange(
          state, absl::ToChronoTime(std::min(until, now + kClosingCheck)));
    }
  }

  // Why the channel has no connection, in gRPC's words ("failed to connect
  // to all addresses; last error: ... Connection refused"), which the wait
  // for one does not give: a health check that fails fast is answered at
  // once with them while the channel is in TRANSIENT_FAILURE. No write, and
  // no method that is retried (ServiceConfig). "" if it says nothing of the
  // kind (still connecting, or connected meanwhile), or if `budget`, the
  // most the check may take (internal::ConnectCheckBudget), is zero.
  std::string ConnectFailure(absl::Duration budget) {
    if (budget <= absl::ZeroDuration()) return "";
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    SetTimeout(&ctx, budget);
    grpc::Slice empty;  // an empty HealthCheckRequest: the whole server
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                      &request, &response,
                      [&done](grpc::Status s) { done.set_value(s); });
    const grpc::Status s = done.get_future().get();
    return s.error_code() == grpc::StatusCode::UNAVAILABLE ? s.error_message()
                                                           : "";
  }

  // Makes a channel in TRANSIENT_FAILURE try to connect now, instead of
  // when its reconnect backoff (up to GRPC_ARG_MAX_RECONNECT_BACKOFF_MS)
  // ends: after a long outage gRPC tries once in 5 s, so calls went on
  // failing for seconds after the server was back, and a write that waits
  // for a connection (AwaitConnection) gave up although one was there to be
  // had. The backoff starts again from 100 ms. A write and a Watch
  // reconnect (paced by Watch's own backoff) always poke; reads at most once
  // per kPokeIntervalNanos per Client, so that a flood of reads against a
  // server that is down makes no flood of connection attempts.
  void PokeChannel(bool always) {
    if (channel_->GetState(/*try_to_connect=*/false) !=
        GRPC_CHANNEL_TRANSIENT_FAILURE) {
      return;
    }
    if (!always) {
      const int64_t now = absl::GetCurrentTimeNanos();
      int64_t last = last_poke_ns_.load(std::memory_order_relaxed);
      // Of threads that find the interval over, the one that swaps pokes.
      if (now - last < kPokeIntervalNanos ||
          !last_poke_ns_.compare_exchange_strong(last, now,
                                                 std::memory_order_relaxed)) {
        return;
      }
    }
    grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
  }

  static constexpr int64_t kPokeIntervalNanos = 500'000'000;  // 500 ms
  // The most ~Client waits for a write waiting for a connection to see it.
  static constexpr absl::Duration kClosingCheck = absl::Milliseconds(50);
  // The most a read's DEADLINE_EXCEEDED waits, past the deadline, for gRPC
  // to say why it had no connection; asked only where gRPC answers at once.
  static constexpr absl::Duration kReadConnectCheck = absl::Milliseconds(50);
  // How long an import's write gets to end once cancelled (the deadline,
  // ~Client) before it is left to its thread (ImportWriter).
  static constexpr absl::Duration kAbandonWrite = absl::Milliseconds(200);

  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  std::mutex running_mu_;
  std::condition_variable running_done_;  // running_ fell to 0
  int running_ ABSL_GUARDED_BY(running_mu_) = 0;
  std::vector<grpc::ClientContext*> running_ctxs_ ABSL_GUARDED_BY(running_mu_);
  std::vector<WatchCanceller::State*> running_watches_
      ABSL_GUARDED_BY(running_mu_);
  // Set by the destructor (under running_mu_); read without it by a Watch
  // pausing between reconnects, under its canceller's mutex instead, and by
  // a write waiting for a connection.
  std::atomic<bool> closing_{false};
  std::atomic<int64_t> last_poke_ns_{0};
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<AdminStub> admin_;
};

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const ClientOptions& options) {
  absl::StatusOr<std::string> dial = DialTarget(options.target);
  if (!dial.ok()) return dial.status();
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout: must be positive (InfiniteDuration for none), "
                     "got ",
                     absl::FormatDuration(options.timeout)));
  }
  // Without a CA the channel is plaintext: a client certificate would be
  // dropped in silence and every call fail on the server's TLS port.
  if (options.tls_ca_pem.empty() &&
      (!options.tls_cert_pem.empty() || !options.tls_key_pem.empty())) {
    return absl::InvalidArgumentError(
        "tls_cert_pem, tls_key_pem: need tls_ca_pem (mutual TLS runs over "
        "TLS)");
  }
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "tls_cert_pem, tls_key_pem: give both or neither");
  }
  // gRPC would take any bytes here, log OpenSSL's errors at the first
  // connection and fail every call as UNAVAILABLE, naming nothing.
  if (!options.tls_ca_pem.empty()) {
    if (std::string bad = internal::PemCertificateProblem(options.tls_ca_pem);
        !bad.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("tls_ca_pem: ", bad));
    }
  }
  if (!options.tls_cert_pem.empty()) {
    if (std::string bad = internal::PemCertificateProblem(options.tls_cert_pem);
        !bad.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("tls_cert_pem: ", bad));
    }
    if (std::string bad = internal::PemKeyProblem(
            options.tls_cert_pem, options.tls_key_pem, "tls_cert_pem");
        !bad.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("tls_key_pem: ", bad));
    }
  }
  // gRPC would take 0 or 10 as 5 in silence (and AwaitConnection its wait
  // for a connection as 1 s or 5 s).
  if (options.max_attempts < 1 || options.max_attempts > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_attempts: must be 1-5 (1 disables retries), got ",
                     options.max_attempts));
  }
  if (options.keepalive_time != absl::ZeroDuration() &&
      options.keepalive_time < absl::Seconds(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("keepalive_time: must be zero or at least 10s, got ",
                     absl::FormatDuration(options.keepalive_time)));
  }
  if (options.keepalive_time != absl::ZeroDuration() &&
      options.keepalive_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("keepalive_timeout: must be positive, got ",
                     absl::FormatDuration(options.keepalive_timeout)));
  }
  // Checked here, naming the field, rather than left to gRPC's parse of
  // the service config when the channel is made.
  if (!options.load_balancing.empty() &&
      options.load_balancing != "pick_first" &&
      options.load_balancing != "round_robin") {
    return absl::InvalidArgumentError(
        absl::StrCat("load_balancing: must be empty (gRPC's default, "
                     "pick_first), \"pick_first\" or \"round_robin\", got \"",
                     absl::CEscape(options.load_balancing), "\""));
  }
  absl::StatusOr<std::string> token = internal::CleanToken(options.token);
  if (!token.ok()) return token.status();
  if (!options.request_id.empty()) {
    if (std::string rule = internal::RequestIdProblem(options.request_id);
        !rule.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("request_id: ", rule));
    }
  }
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls_ca_pem.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_ca_pem;
    ssl.pem_cert_chain = options.tls_cert_pem;
    ssl.pem_private_key = options.tls_key_pem;
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(
      ServiceConfig(options.max_attempts, options.load_balancing));
  // Reconnect quickly after a server restart so retried calls find it.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  // gRPC reads this as the least time a connection attempt gets (TCP,
  // TLS and the server's SETTINGS frame), not only as a backoff: at 100 ms
  // a server more than about 50 ms away failed its first calls UNAVAILABLE.
  // 2 s covers a few round trips across the world; gRPC's default (20 s)
  // slowed the reconnects after a server that closes each connection
  // (SdkRetryTest.ACallAfterALongOutageTriesToConnectAtOnce: 5 attempts in
  // 30 s, 9 in 15 s at 100 ms and 19 s at 2 s).
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  if (options.keepalive_time != absl::ZeroDuration()) {
    // Without pings a connection that went silent (no FIN, no RST) looks
    // healthy forever, and a Watch on it never sees an error to retry on.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(
                    std::min(options.keepalive_time, absl::Hours(24)))));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(absl::ToInt64Milliseconds(
                    std::min(options.keepalive_timeout, absl::Hours(24)))));
    // A quiet Watch sends no data; keep pinging it anyway.
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(*dial, creds, args);
  ClientOptions cleaned = options;
  cleaned.token = *std::move(token);
  return std::unique_ptr<Client>(new GrpcClient(cleaned, std::move(channel)));
}

absl::StatusOr<Health> Client::CheckHealth(const std::string&,
                                           const CallOptions&) {
  return absl::UnimplementedError(
      "CheckHealth: this Client implementation does not ask health");
}

const char* HealthStatusName(Health::Status status) {
  switch (status) {
    case Health::Status::kServing:
      return "SERVING";
    case Health::Status::kNotServing:
      return "NOT_SERVING";
    case Health::Status::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    default:
      return "UNKNOWN";
  }
}

absl::StatusOr<v1::Article> Client::Get(const std::string& id, int64_t revision,
                                        const CallOptions& call) {
  v1::GetArticleRequest request;
  request.set_name(ArticleName(id));
  request.set_revision(revision);
  return GetArticle(request, call);
}

absl::StatusOr<v1::Article> Client::Get(const std::string& id,
                                        const GetOptions& options,
                                        const CallOptions& call) {
  v1::GetArticleRequest request;
  request.set_name(ArticleName(id));
  request.set_revision(options.revision);
  request.set_visibility(options.visibility);
  request.set_lang(options.lang);
  for (const std::string& lang : options.fallback_langs) {
    request.add_fallback_langs(lang);
  }
  return GetArticle(request, call);
}

namespace {

// The payload `url` of `status`, flattened; "" without one.
std::string Payload(const absl::Status& status, std::string_view url) {
  const absl::optional<absl::Cord> payload =
      status.GetPayload(absl::string_view(url.data(), url.size()));
  return payload.has_value() ? std::string(*payload) : std::string();
}

// google.rpc.ErrorInfo: reason (1), domain (2), metadata (3: a map entry of
// key 1 and value 2).
std::string ErrorInfoString(const absl::Status& status, int number) {
  std::string out;
  internal::ForEachBytesField(Payload(status, kErrorInfoTypeUrl),
                              [&](int field, std::string_view bytes) {
                                if (field == number) out = std::string(bytes);
                              });
  return out;
}

}  // namespace

std::string ErrorReason(const absl::Status& status) {
  return ErrorInfoString(status, 1);
}

std::string ErrorDomain(const absl::Status& status) {
  return ErrorInfoString(status, 2);
}

std::map<std::string, std::string> ErrorMetadata(const absl::Status& status) {
  std::map<std::string, std::string> out;
  internal::ForEachBytesField(Payload(status, kErrorInfoTypeUrl),
                              [&](int field, std::string_view entry) {
                                if (field != 3) return;
                                std::string key;
                                std::string value;
                                internal::ForEachBytesField(
                                    entry, [&](int f, std::string_view bytes) {
                                      if (f == 1) key = std::string(bytes);
                                      if (f == 2) value = std::string(bytes);
                                    });
                                out[key] = value;
                              });
  return out;
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  // google.rpc.BadRequest: field_violations (1), each of field (1) and
  // description (2).
  std::vector<FieldViolation> out;
  internal::ForEachBytesField(Payload(status, kBadRequestTypeUrl),
                              [&](int field, std::string_view violation) {
                                if (field != 1) return;
                                FieldViolation v;
                                internal::ForEachBytesField(
                                    violation,
                                    [&](int f, std::string_view bytes) {
                                      if (f == 1) v.field = std::string(bytes);
                                      if (f == 2)
                                        v.description = std::string(bytes);
                                    });
                                out.push_back(std::move(v));
                              });
  return out;
}

absl::Duration ErrorRetryDelay(const absl::Status& status) {
  // google.rpc.RetryInfo: retry_delay (1), a google.protobuf.Duration of
  // seconds (1) and nanos (2), both varints.
  absl::Duration out;
  internal::ForEachBytesField(
      Payload(status, kRetryInfoTypeUrl),
      [&](int field, std::string_view duration) {
        if (field != 1) return;
        using google::protobuf::internal::WireFormatLite;
        google::protobuf::io::CodedInputStream in(
            reinterpret_cast<const uint8_t*>(duration.data()),
            static_cast<int>(duration.size()));
        for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
          uint64_t v = 0;
          if (WireFormatLite::GetTagWireType(tag) !=
                  WireFormatLite::WIRETYPE_VARINT ||
              !in.ReadVarint64(&v)) {
            if (!WireFormatLite::SkipField(&in, tag)) return;
            continue;
          }
          const int n = WireFormatLite::GetTagFieldNumber(tag);
          if (n == 1) out += absl::Seconds(static_cast<int64_t>(v));
          if (n == 2) out += absl::Nanoseconds(static_cast<int32_t>(v));
        }
      });
  return std::max(out, absl::ZeroDuration());
}

std::string ArticleName(std::string_view id) {
  std::string name(kNamePrefix);
  name.append(id);
  return name;
}

std::string ArticleId(std::string_view name) {
  if (name.size() <= kNamePrefix.size() ||
      name.substr(0, kNamePrefix.size()) != kNamePrefix) {
    return "";
  }
  return std::string(name.substr(kNamePrefix.size()));
}

}  // namespace content
