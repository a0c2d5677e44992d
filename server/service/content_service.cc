#include "server/service/content_service.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/editorial/diff.h"
#include "server/error_details.h"
#include "server/host_name.h"
#include "server/log_line.h"
#include "server/query/engine.h"
#include "server/query/page_token.h"
#include "server/service/bulk.h"
#include "server/service/lang_match.h"
#include "server/service/parse_error_interceptor.h"
#include "server/service/reactors.h"
#include "server/service/request_id.h"
#include "server/store/article_wire.h"
#include "server/store/keys.h"
#include "server/text/nfc.h"

namespace content::service {
namespace {

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx,
                                 const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

// Parses a raw method's request; INVALID_ARGUMENT as for typed methods.
template <typename Message>
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, Message* req) {
  grpc::Slice slice;
  if (bytes.TrySingleSlice(&slice).ok()) {
    if (req->ParseFromArray(slice.begin(), static_cast<int>(slice.size())))
      return absl::OkStatus();
  } else {
    std::vector<grpc::Slice> slices;
    std::string joined;
    if (bytes.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices)
        joined.append(reinterpret_cast<const char*>(s.begin()), s.size());
      if (req->ParseFromString(joined)) return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(kUnparsableRequest);
}

// A reply of `bytes`, handed to gRPC without a copy.
grpc::ByteBuffer TakeBytes(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(),
      [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

constexpr int kDefaultFacetLimit = 10;
constexpr int kMaxFacetLimit = 100;
// Bytes of articles after which a query page ends early (see DoQuery).
constexpr size_t kMaxQueryPageBytes = size_t{2} << 20;
// Bytes of articles a BatchGetArticles reply may hold (it has no pages).
constexpr size_t kMaxBatchGetBytes = size_t{16} << 20;
// Articles a translation group lists (ListTranslations has no pages) and the
// bytes they may hold.
constexpr size_t kMaxGroupMembers = 1000;
constexpr size_t kMaxTranslationsBytes = size_t{16} << 20;

absl::Status CheckView(v1::ArticleView view, absl::string_view field) {
  if (!v1::ArticleView_IsValid(view)) {
    return InvalidField(field,
                        absl::StrCat("unknown value ", static_cast<int>(view)));
  }
  return absl::OkStatus();
}

absl::Status CheckVisibility(v1::Visibility v, absl::string_view field) {
  if (!v1::Visibility_IsValid(v)) {
    return InvalidField(field,
                        absl::StrCat("unknown value ", static_cast<int>(v)));
  }
  return absl::OkStatus();
}

// Role a read at visibility `v` needs.
Role ReadRole(v1::Visibility v) {
  return v == v1::VISIBILITY_ALL ? Role::kEditor : Role::kReader;
}

absl::Status NotLive(absl::string_view id) {
  return WithReason(
      absl::NotFoundError(absl::StrCat(
          "articles/", id,
          " not found or not live (drafts, scheduled, expired and archived "
          "articles need visibility ALL and the editor role)")),
      reason::kArticleNotFound);
}

// NOT_FOUND for a head that is a deletion (revision `revision`), as the
// store says it, then `then` (what to do).
absl::Status ArticleDeleted(absl::string_view id, int64_t revision,
                            absl::string_view then = "") {
  return WithReason(
      absl::NotFoundError(absl::StrCat(
          "articles/", id, " is deleted (revision ", revision, ")", then)),
      reason::kArticleDeleted,
      {{"name", absl::StrCat("articles/", id)},
       {"revision", absl::StrCat(revision)}});
}

// A revision readers may not read, in the same words whether it is missing,
// removed by retention or a draft: which revisions a live article had in
// between is not for readers. Its head, revision `head`, which readers may
// read, is in the metadata as the store gives it to editors.
absl::Status RevisionNotLive(absl::string_view id, int64_t revision,
                             int64_t head) {
  return WithReason(
      absl::NotFoundError(absl::StrCat(
          "articles/", id, " has no revision ", revision,
          " readers may read (draft, archived and scheduled revisions need "
          "visibility ALL and the editor role)")),
      reason::kRevisionNotFound,
      {{"name", absl::StrCat("articles/", id)},
       {"revision", absl::StrCat(revision)},
       {"current_revision", absl::StrCat(head)}});
}

// Revision `revision` of `id` as read, if readers may read it: else
// RevisionNotLive. REQUIRES: the head, revision `head`, is live (readers
// see no revision of an article that is not).
absl::StatusOr<v1::Article> ForReaders(absl::StatusOr<v1::Article> a,
                                       absl::string_view id, int64_t revision,
                                       int64_t head, absl::Time now) {
  if (absl::IsNotFound(a.status())) return RevisionNotLive(id, revision, head);
  if (a.ok() && !store::IsPublishedRevision(*a, now))
    return RevisionNotLive(id, revision, head);
  return a;
}

std::string GenerateId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local absl::BitGen gen;
  std::string id(16, ' ');
  for (char& c : id) c = kAlphabet[absl::Uniform<int>(gen, 0, 36)];
  return id;
}

// The store's answer to an asynchronous write, as the reply: the article
// into `resp`, the status to `finish`.
std::function<void(absl::StatusOr<v1::Article>)> ReplyWith(
    v1::Article* resp, std::function<void(absl::Status)> finish) {
  return [resp, finish = std::move(finish)](absl::StatusOr<v1::Article> a) {
    if (a.ok()) *resp = *std::move(a);
    finish(a.status());
  };
}

}  // namespace

absl::Status ContentService::Allow(const grpc::ServerContextBase& ctx,
                                   Role needed) {
  // First: every call passes here, and its id is logged only if good.
  if (absl::Status s = CheckRequestId(ctx); !s.ok()) return s;
  if (auth_ == nullptr) return absl::OkStatus();
  return auth_->Authorize(ctx, needed).status();
}

absl::StatusOr<bool> ContentService::AllowEditor(
    const grpc::ServerContextBase& ctx, Role needed) {
  if (absl::Status s = CheckRequestId(ctx); !s.ok()) return s;
  if (auth_ == nullptr) return true;
  absl::StatusOr<Caller> caller = auth_->Authorize(ctx, needed);
  if (!caller.ok()) return caller.status();
  return static_cast<int>(caller->role) >= static_cast<int>(Role::kEditor);
}

namespace {

// What limits the threads this process may start, for an error message.
std::string ThreadLimit() {
  struct rlimit nproc;
  if (getrlimit(RLIMIT_NPROC, &nproc) != 0 || nproc.rlim_cur == RLIM_INFINITY) {
    return "RLIMIT_NPROC (ulimit -u) is unlimited: check kernel.threads-max, "
           "the cgroup's pids.max and memory";
  }
  return absl::StrCat("this user may run at most ", nproc.rlim_cur,
                      " processes and threads (RLIMIT_NPROC, ulimit -u)");
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContentService>> ContentService::Create(
    store::Store* store, const ServiceOptions& options, Authenticator* auth) {
  absl::StatusOr<std::unique_ptr<WorkQueue>> writes =
      WorkQueue::Start(options.write_threads);
  if (!writes.ok()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "write_threads: ", writes.status().message(), "; ", ThreadLimit(),
        ". Lower write_threads or raise the limit"));
  }
  std::unique_ptr<WorkQueue> reads;
  if (store->engine()->shared()) {
    absl::StatusOr<std::unique_ptr<WorkQueue>> started =
        WorkQueue::Start(options.shared_read_threads);
    if (!started.ok()) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot start the service's ", options.shared_read_threads,
          " read threads for the shared store after its ",
          options.write_threads, " write_threads: ", started.status().message(),
          "; ", ThreadLimit(), ". Lower write_threads or raise the limit"));
    }
    reads = *std::move(started);
  }
  // The hubs and the scheduler start one thread each; std::thread throws
  // if the system refuses it.
  try {
    return absl::WrapUnique(new ContentService(
        store, options, auth, *std::move(writes), std::move(reads)));
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot start the service's threads after its ", options.write_threads,
        " write_threads (", e.code().message(), "); ", ThreadLimit(),
        ". Lower write_threads or raise the limit"));
  }
}

ContentService::ContentService(store::Store* store,
                               const ServiceOptions& options,
                               Authenticator* auth,
                               std::unique_ptr<WorkQueue> writes,
                               std::unique_ptr<WorkQueue> reads)
    : auth_(auth),
      store_(store),
      options_(options),
      start_time_(absl::Now()),
      hostname_(HostName()),
      writes_(std::move(writes)),
      reads_(std::move(reads)),
      watch_(store, options.watch, options.limits, reads_.get()),
      imports_(store, writes_.get(), options.limits),
      exports_(options.exports, reads_.get()) {
  if (options_.schedule_poll > absl::ZeroDuration())
    schedule_thread_ = std::thread([this] { ScheduleLoop(); });
}

ContentService::~ContentService() {
  {
    absl::MutexLock lock(&schedule_mu_);
    schedule_stop_ = true;
  }
  if (schedule_thread_.joinable()) schedule_thread_.join();
}

void ContentService::ScheduleLoop() {
  std::ostream& log = options_.log != nullptr ? *options_.log : std::cerr;
  auto log_line = [&log](absl::string_view line) { LogLine(log, line); };
  // Why the last poll failed; OK when it did not.
  absl::Status failure;
  // What the last FireSchedule that succeeded saw, while the lease has
  // been held since: the store's last sequence before it read, the next
  // time due, and when it ran. A poll that finds the sequence unchanged
  // and nothing due reads nothing (the store on PostgreSQL: a key and four
  // iterator pages a second, idle).
  bool known = false;
  int64_t known_sequence = 0;
  absl::Time known_next, known_at;
  absl::MutexLock lock(&schedule_mu_);
  while (!schedule_stop_) {
    absl::Duration wait = options_.schedule_poll;
    schedule_mu_.Unlock();
    // Replicas of one shared store: only the lease holder fires.
    absl::StatusOr<bool> lease = store_->TryLease("schedule");
    absl::StatusOr<absl::Time> next = absl::InfiniteFuture();
    if (!lease.ok()) {
      next = lease.status();
    } else if (*lease) {
      const int64_t sequence = store_->last_sequence();
      if (known && sequence == known_sequence && store_->Now() < known_next &&
          absl::Now() - known_at < options_.schedule_recheck) {
        next = known_next;
      } else {
        next = store_->FireSchedule();
        if (next.ok()) {
          known_sequence = sequence;
          known_next = *next;
          known_at = absl::Now();
        }
      }
    }
    known = lease.ok() && *lease && next.ok();
    // The store's clock may be a test's fake one: never sleep past the
    // poll interval, whatever it says.
    if (next.ok()) wait = std::min(wait, *next - store_->Now());
    schedule_mu_.Lock();
    // A failure that lasts (writes stopped, a full disk) fails every poll
    // alike: one line when it starts, one when its code changes (a full
    // disk, then a fatal write error) and one when it ends, not one a poll.
    // Messages are not compared: a full disk's names the free bytes, which
    // move from poll to poll.
    if (!next.ok() && next.status().code() != failure.code()) {
      log_line(absl::StrCat(
          "contentd: schedule: ", next.status().message(), "; retrying every ",
          absl::FormatDuration(options_.schedule_poll),
          ", silently until it succeeds or fails with another code"));
    } else if (next.ok() && !failure.ok()) {
      log_line("contentd: schedule: firing again");
    }
    failure = next.status();
    if (!next.ok()) wait = options_.schedule_poll;
    wait = std::max(wait, absl::Milliseconds(10));
    schedule_mu_.AwaitWithTimeout(absl::Condition(&schedule_stop_), wait);
  }
}

grpc::ServerUnaryReactor* ContentService::OffloadAsync(
    grpc::CallbackServerContext* ctx,
    std::function<void(Finisher finish)> work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Defer(ctx, reactor, [reactor, work = std::move(work)] {
    work([reactor](absl::Status s) { reactor->Finish(ToGrpcStatus(s)); });
  });
  return reactor;
}

void ContentService::Defer(grpc::CallbackServerContext* ctx,
                           grpc::ServerUnaryReactor* reactor,
                           std::function<void()> work) {
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
      reactor->Finish(ToGrpcStatus(absl::DeadlineExceededError(
          "deadline passed before the write began")));
      return;
    }
    work();
  };
  if (!writes_->Submit(std::move(run))) {
    reactor->Finish(ToGrpcStatus(
        WithReason(absl::UnavailableError("server is shutting down"),
                   reason::kShuttingDown)));
  }
}

grpc::ServerUnaryReactor* ContentService::ReadOnPool(
    grpc::CallbackServerContext* ctx, std::function<absl::Status()> read) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto run = [ctx, reactor, read = std::move(read)] {
    // A caller that gave up while the read queued is not read for.
    if (ctx->IsCancelled()) {
      reactor->Finish(ToGrpcStatus(
          absl::DeadlineExceededError("the call ended before the read began")));
      return;
    }
    reactor->Finish(ToGrpcStatus(read()));
  };
  if (!reads_->Submit(std::move(run))) {
    reactor->Finish(ToGrpcStatus(
        WithReason(absl::UnavailableError("server is shutting down"),
                   reason::kShuttingDown)));
  }
  return reactor;
}

void ContentService::DoCreate(const v1::CreateArticleRequest& req,
                              v1::Article* resp, Finisher finish) {
  // Every violation of the request, the id's first.
  Violations violations;
  std::string id = req.article_id();
  if (id.empty()) {
    id = GenerateId();
  } else {
    violations.Add(ValidateId(id, "article_id"));
  }
  // Tags and categories are stored in NFC; a copy only if one is not.
  std::optional<v1::Article> nfc;
  if (!TermsAreNfc(req.article())) {
    nfc = req.article();
    NormalizeArticleTerms(&*nfc, "article", &violations);
  }
  const v1::Article& article = nfc ? *nfc : req.article();
  CollectArticleViolations(article, options_.limits, "article", &violations,
                           TextUtf8::kCheckedByParser);
  if (!violations.empty()) return finish(violations.Status());
  // As DoUpdate: the write thread moves on while the group commit syncs
  // (waiting, creates ran at a quarter of the updates' rate: 1.1-1.3k/s).
  store_->CreateAsync(id, article, ReplyWith(resp, std::move(finish)));
}

grpc::ServerUnaryReactor* ContentService::CreateArticle(
    grpc::CallbackServerContext* ctx, const v1::CreateArticleRequest* req,
    v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  return OffloadAsync(ctx, [this, req, resp](Finisher finish) {
    DoCreate(*req, resp, std::move(finish));
  });
}

grpc::ServerUnaryReactor* ContentService::GetArticle(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req_bytes,
    grpc::ByteBuffer* resp) {
  // Callers are authenticated before their bytes are parsed, as with typed
  // methods: garbage without a token is UNAUTHENTICATED.
  absl::StatusOr<bool> editor = AllowEditor(*ctx, Role::kReader);
  if (!editor.ok()) return Finish(ctx, editor.status());
  v1::GetArticleRequest req;
  if (absl::Status s = ParseRequest(*req_bytes, &req); !s.ok())
    return Finish(ctx, s);
  if (!*editor && ReadRole(req.visibility()) == Role::kEditor)
    return Finish(ctx, Allow(*ctx, Role::kEditor));
  return Read(ctx, [this, req = std::move(req), editor = *editor, resp] {
    std::string bytes;
    absl::Status s = DoGetBytes(req, editor, &bytes);
    if (s.ok()) *resp = TakeBytes(std::move(bytes));
    return s;
  });
}

namespace {

// Every bad field of a GetArticleRequest, named together (as writes name
// theirs), before anything is read: so bad input reads the same for any
// article, present, hidden or missing. Returns the article's id.
absl::StatusOr<std::string> CheckGetRequest(const v1::GetArticleRequest& req) {
  Violations v;
  absl::StatusOr<std::string> id = ParseName(req.name(), "name");
  v.Add(id.status());
  v.Add(CheckVisibility(req.visibility(), "visibility"));
  if (req.lang().empty()) {
    if (req.fallback_langs_size() > 0) v.Add("fallback_langs", "needs lang");
  } else {
    if (req.revision() != 0) v.Add("lang", "cannot be combined with revision");
    if (req.fallback_langs_size() > 16) {
      v.Add("fallback_langs",
            absl::StrCat("at most 16, got ", req.fallback_langs_size()));
    }
    // Checked as Query.langs are: a malformed tag was NOT_FOUND "no
    // translation in ...", the whole value echoed however long.
    v.Add(ValidateLanguageTag(req.lang(), "lang"));
    for (int i = 0; i < req.fallback_langs_size(); ++i) {
      const std::string field = absl::StrCat("fallback_langs[", i, "]");
      if (req.fallback_langs(i).empty()) {
        v.Add(field, "must be a non-empty language tag");
      } else {
        v.Add(ValidateLanguageTag(req.fallback_langs(i), field));
      }
    }
  }
  if (req.revision() < 0) {
    v.Add("revision", "must be 0 (the head) or a positive revision number");
  }
  if (absl::Status s = v.Status(); !s.ok()) return s;
  return id;
}

}  // namespace

absl::Status ContentService::DoGetBytes(const v1::GetArticleRequest& req,
                                        bool editor, std::string* resp) {
  absl::StatusOr<std::string> id = CheckGetRequest(req);
  if (!id.ok()) return id.status();
  if (!req.lang().empty()) return DoGetTranslation(req, *id, resp);
  if (req.visibility() == v1::VISIBILITY_ALL) {
    absl::StatusOr<store::StoredArticle> a =
        store_->GetStored(*id, req.revision(), req.show_deleted());
    if (!a.ok()) return a.status();
    *resp = std::move(a->bytes);
    return absl::OkStatus();
  }
  // LIVE (what readers see, whoever asks): the head must be live, also for
  // an old revision, and is
  // checked first with one answer for missing and hidden articles, so
  // neither which ids exist nor which revisions a hidden article has is for
  // readers. An old revision must also be published itself
  // (IsPublishedRevision).
  absl::StatusOr<store::StoredArticle> head = store_->GetStored(*id, 0, true);
  if (absl::IsNotFound(head.status())) return NotLive(*id);
  if (!head.ok()) return head.status();
  if (!store::IsLiveContent(head->skeleton, store_->Now())) return NotLive(*id);
  if (req.revision() == 0) {
    if (head->skeleton.has_delete_time() && !req.show_deleted()) {
      return ArticleDeleted(*id, head->skeleton.revision());
    }
    *resp = std::move(head->bytes);
    return absl::OkStatus();
  }
  absl::StatusOr<store::StoredArticle> a =
      store_->GetStored(*id, req.revision(), req.show_deleted());
  // Readers are not told a draft from a revision retention removed.
  if (!editor && absl::IsNotFound(a.status()))
    return RevisionNotLive(*id, req.revision(), head->skeleton.revision());
  if (!a.ok()) return a.status();
  if (!store::IsPublishedRevision(a->skeleton, store_->Now()))
    return RevisionNotLive(*id, req.revision(), head->skeleton.revision());
  *resp = std::move(a->bytes);
  return absl::OkStatus();
}

absl::Status ContentService::DoGetTranslation(const v1::GetArticleRequest& req,
                                              const std::string& id,
                                              std::string* resp) {
  const bool all = req.visibility() == v1::VISIBILITY_ALL;
  // (The request was checked whole by CheckGetRequest.)
  std::vector<std::string> wanted = {req.lang()};
  for (const std::string& lang : req.fallback_langs()) wanted.push_back(lang);
  // One snapshot, and each member read once: the one chosen is returned as
  // it was read (it used to be read again, whole, after the group was read
  // without bodies). Members are decoded without their bodies, and only
  // the best so far is kept whole, so a group of large articles costs two
  // bodies of memory.
  std::unique_ptr<store::ReadView> view = store_->NewReadView();
  struct Member {
    store::StoredArticle stored;
    v1::Article fields;  // without the body
  };
  auto read = [&](const std::string& member_id) -> absl::StatusOr<Member> {
    absl::StatusOr<store::StoredArticle> a = view->StoredHead(member_id);
    if (!a.ok()) return a.status();
    Member m{*std::move(a), {}};
    std::string without_body;
    if (!store::AppendArticleWithoutBody(m.stored.bytes, &without_body) ||
        !m.fields.ParseFromString(without_body)) {
      return absl::DataLossError(
          absl::StrCat("articles/", member_id, " is corrupt"));
    }
    return m;
  };
  absl::StatusOr<Member> named = read(id);
  if (!all && absl::IsNotFound(named.status())) return NotLive(id);
  if (!named.ok()) return named.status();
  const std::string group = store::TranslationGroup(named->fields);
  const absl::Time now = store_->Now();
  // A hidden article's group key is its translationKey, which is not for
  // readers: the error below names the group only to those who may see the
  // article named.
  const bool named_visible = all || store::IsLive(named->fields, now);
  // The group's list is an index: not read while they are incomplete.
  if (absl::Status s = store_->IndexesUsable(); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> ids = GroupIds(*view, group, all);
  if (!ids.ok()) return ids.status();
  // Rank of a member: the first wanted language it answers, and how
  // closely (exactly, then by script and region); lower is better.
  const LanguagePreference preference(wanted);
  std::optional<Member> best;
  size_t best_rank = LanguagePreference::kNoMatch;
  size_t members = 0;
  // The members the NOT_FOUND below names, within a budget: a group of
  // hundreds named each, and the reply's trailers passed the 8 KiB a gRPC
  // client takes (RESOURCE_EXHAUSTED "received initial metadata size
  // exceeds limit" instead of the NOT_FOUND; Violations::kMaxMessageBytes).
  std::string have;
  size_t unlisted = 0;
  for (const std::string& member_id : *ids) {
    const bool is_named = member_id == id;
    absl::StatusOr<Member> m = is_named ? std::move(named) : read(member_id);
    if (absl::IsNotFound(m.status())) continue;
    if (!m.ok()) return m.status();
    if (!all && !store::IsLive(m->fields, now)) continue;
    ++members;
    std::string member = absl::StrCat(
        m->fields.lang().empty() ? "no lang"
                                 : absl::StrJoin(m->fields.lang(), "+"),
        " (", m->fields.name(), ")");
    if (unlisted > 0 ||
        have.size() + 2 + member.size() > Violations::kMaxMessageBytes) {
      ++unlisted;
    } else {
      absl::StrAppend(&have, have.empty() ? "" : ", ", member);
    }
    // Ids come in order: the first best wins a tie, unless the article
    // named is among them.
    const size_t r = preference.Rank(m->fields.lang());
    if (r < best_rank ||
        (r == best_rank && r != LanguagePreference::kNoMatch && is_named)) {
      best_rank = r;
      best = *std::move(m);
    }
  }
  if (members == 0) return NotLive(id);
  if (best.has_value()) {
    *resp = std::move(best->stored.bytes);
    return absl::OkStatus();
  }
  return WithReason(
      absl::NotFoundError(absl::StrCat(
          "no translation of ", req.name(), " in ", absl::StrJoin(wanted, ", "),
          "; ",
          named_visible ? absl::StrCat("translation group \"", group, "\"")
                        : std::string("its translation group"),
          " has ", have,
          unlisted == 0  ? ""
          : have.empty() ? absl::StrCat(unlisted, " articles")
                         : absl::StrCat(" and ", unlisted, " more"))),
      reason::kTranslationNotFound,
      {{"name", req.name()}, {"langs", absl::StrJoin(wanted, ",")}});
}

absl::StatusOr<std::vector<std::string>> ContentService::GroupIds(
    const store::ReadView& view, const std::string& group, bool all) {
  std::vector<std::string> ids;
  for (store::ListState state :
       {store::ListState::kLive, store::ListState::kUnpublished}) {
    if (state == store::ListState::kUnpublished && !all) continue;
    const std::string prefix =
        store::PostingPrefix(store::IndexKind::kGroup, state, group);
    std::unique_ptr<store::KvIterator> it =
        view.Postings(prefix, store::PrefixSuccessor(prefix));
    for (it->SeekToFirst(); it->Valid() && ids.size() < kMaxGroupMembers;
         it->Next()) {
      uint64_t date_key;
      absl::string_view id;
      if (store::ParsePostingKey(it->key(), prefix.size(), &date_key, &id))
        ids.emplace_back(id);
    }
    if (!it->status().ok()) return it->status();
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::vector<v1::Article>> ContentService::GroupHeads(
    const std::string& group, bool all, bool with_bodies) {
  std::unique_ptr<store::ReadView> view = store_->NewReadView();
  // The group's list is an index: not read while they are incomplete.
  if (absl::Status s = store_->IndexesUsable(); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> ids = GroupIds(*view, group, all);
  if (!ids.ok()) return ids.status();
  const absl::Time now = store_->Now();
  std::vector<v1::Article> heads;
  size_t bytes = 0;
  for (const std::string& id : *ids) {
    absl::StatusOr<v1::Article> a = view->Head(id);
    if (absl::IsNotFound(a.status())) continue;
    if (!a.ok()) return a.status();
    if (!all && !store::IsLive(*a, now)) continue;
    if (!with_bodies) a->clear_body();
    // A thousand members of 1 MiB would build a gigabyte reply.
    bytes += a->ByteSizeLong();
    if (bytes > kMaxTranslationsBytes) {
      return WithReason(
          absl::ResourceExhaustedError(absl::StrCat(
              "view: the group's articles hold more than ",
              kMaxTranslationsBytes >> 20, " MiB; use view BASIC")),
          reason::kResponseTooLarge,
          {{"limit_bytes", absl::StrCat(kMaxTranslationsBytes)}});
    }
    heads.push_back(*std::move(a));
  }
  return heads;
}

absl::Status ContentService::CheckLive(const std::string& id) {
  absl::StatusOr<v1::Article> head = store_->Get(id, 0, true);
  // One answer for missing and hidden: which ids exist is not for readers.
  if (absl::IsNotFound(head.status())) return NotLive(id);
  if (!head.ok()) return head.status();
  if (!store::IsLiveContent(*head, store_->Now())) return NotLive(id);
  return absl::OkStatus();
}

void ContentService::DoUpdate(
    v1::UpdateArticleRequest req,
    std::function<void(absl::StatusOr<std::string>)> done,
    std::function<void(std::function<void()>)> elsewhere) {
  // Every violation of the request, in the order of its fields.
  Violations violations;
  absl::StatusOr<std::string> id =
      ParseName(req.article().name(), "article.name");
  violations.Add(id.status());
  if (req.expected_revision() < 0)
    violations.Add("expected_revision", "must not be negative");
  NormalizeArticleTerms(req.mutable_article(), "article", &violations);
  // A list over the limit may still be no longer than the stored one's
  // (ValidateArticle): only then is the head read.
  absl::StatusOr<v1::Article> stored = absl::NotFoundError("not read");
  if (id.ok() && ExceedsListLimit(req.article(), options_.limits))
    stored = store_->Get(*id, 0, /*show_deleted=*/false);
  if (!stored.ok() && !absl::IsNotFound(stored.status()))
    return done(stored.status());  // not a limit's fault
  CollectArticleViolations(req.article(), options_.limits, "article",
                           &violations, TextUtf8::kCheckedByParser,
                           stored.ok() ? &*stored : nullptr);
  if (!violations.empty()) return done(violations.Status());
  // The calling thread moves on while the group commit syncs; with a thread
  // per write waiting for its sync, every commit woke its writers one by
  // one (most of an update's CPU on the benchmark VMs was the kernel's).
  store::WriteConditions conditions{req.expected_revision(),
                                    req.article().etag()};
  store_->UpdateAsyncNoWait(*id, std::move(*req.mutable_article()), conditions,
                            std::move(done), std::move(elsewhere));
}

grpc::ServerUnaryReactor* ContentService::UpdateArticle(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req_bytes,
    grpc::ByteBuffer* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  v1::UpdateArticleRequest req;
  if (absl::Status s = ParseRequest(*req_bytes, &req); !s.ok())
    return Finish(ctx, s);
  // On gRPC's thread, which must not block: validation and the store's
  // reads do not, and the commit is the committer thread's. Handing every
  // update to a write thread cost a wake-up each (2026-12-03: 8-13% of the
  // server's CPU per update). Only an update that would wait for another
  // write of its article goes to a write thread (on a shared store, every
  // update: Store::UpdateAsyncNoWait).
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  DoUpdate(
      std::move(req),
      [reactor, resp](absl::StatusOr<std::string> bytes) {
        if (bytes.ok()) *resp = TakeBytes(*std::move(bytes));
        reactor->Finish(ToGrpcStatus(bytes.status()));
      },
      [this, ctx, reactor](std::function<void()> work) {
        Defer(ctx, reactor, std::move(work));
      });
  return reactor;
}

namespace {

// The id a Delete, Undelete or Restore names, or every bad field of its
// request at once, in field order: name, revision (a restore's, which
// must be positive), expected_revision.
absl::StatusOr<std::string> CheckWriteTarget(const std::string& name,
                                             int64_t revision,
                                             int64_t expected_revision,
                                             bool restore = false) {
  Violations v;
  absl::StatusOr<std::string> id = ParseName(name, "name");
  v.Add(id.status());
  if (restore && revision == 0) {
    v.Add("revision", "required, the revision number to restore");
  } else if (restore && revision < 0) {
    v.Add("revision", absl::StrCat("must be positive, got ", revision));
  }
  if (expected_revision < 0) v.Add("expected_revision", "must not be negative");
  if (!v.empty()) return v.Status();
  return id;
}

}  // namespace

grpc::ServerUnaryReactor* ContentService::DeleteArticle(
    grpc::CallbackServerContext* ctx, const v1::DeleteArticleRequest* req,
    v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  // As UpdateArticle: the write thread does not wait for the commit.
  return OffloadAsync(ctx, [this, req, resp](Finisher finish) {
    absl::StatusOr<std::string> id =
        CheckWriteTarget(req->name(), 0, req->expected_revision());
    if (!id.ok()) return finish(id.status());
    store_->DeleteAsync(*id, {req->expected_revision(), req->etag()},
                        ReplyWith(resp, std::move(finish)));
  });
}

grpc::ServerUnaryReactor* ContentService::UndeleteArticle(
    grpc::CallbackServerContext* ctx, const v1::UndeleteArticleRequest* req,
    v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  // As UpdateArticle: the write thread does not wait for the commit.
  return OffloadAsync(ctx, [this, req, resp](Finisher finish) {
    absl::StatusOr<std::string> id =
        CheckWriteTarget(req->name(), 0, req->expected_revision());
    if (!id.ok()) return finish(id.status());
    store_->UndeleteAsync(*id, {req->expected_revision(), req->etag()},
                          ReplyWith(resp, std::move(finish)));
  });
}

absl::Status ContentService::DoListRevisions(
    const v1::ListArticleRevisionsRequest& req, bool editor,
    v1::ListArticleRevisionsResponse* resp) {
  // Every bad field at once, in field order.
  Violations violations;
  absl::StatusOr<std::string> id = ParseName(req.name(), "name");
  violations.Add(id.status());
  absl::StatusOr<int> page_size = PageSize(req.page_size(), options_.limits);
  violations.Add(page_size.status());
  // The token holds the next revision to return, bound to the article
  // (which a bad name leaves unknown: then only whether it opens).
  const std::string binding =
      id.ok() ? absl::StrCat("revisions/", *id) : std::string();
  int64_t start = 0;
  if (!req.page_token().empty()) {
    absl::StatusOr<std::string> payload =
        query::OpenPageToken(req.page_token(), store_->token_key());
    if (!payload.ok()) {
      violations.Add(payload.status());
    } else if (id.ok() && (payload->size() != 8 + binding.size() ||
                           payload->substr(8) != binding)) {
      violations.Add("page_token", "was issued for a different article");
    } else if (id.ok()) {
      start = static_cast<int64_t>(store::ReadBigEndian64(*payload));
    }
  }
  if (!violations.empty()) return violations.Status();
  // After the input checks, so bad input reads the same for any article.
  if (!editor) {
    if (absl::Status s = CheckLive(*id); !s.ok()) return s;
  }
  if (start < 0 || (!req.page_token().empty() && start == 0))
    return absl::OkStatus();
  // Like a query page, a page ends once its revisions hold 2 MiB (at least
  // one): a thousand revisions of a large article would make a reply no
  // client receives. The store stops reading there. Readers are not shown
  // revisions that were never published (IsPublishedRevision): those are
  // skipped, and more read to fill the page.
  const absl::Time now = store_->Now();
  std::vector<v1::Article> kept;
  size_t bytes = 0;
  int64_t next = start;  // the next revision to look at; 0: the head
  bool more = false;
  while (true) {
    if (bytes >= kMaxQueryPageBytes) {  // one revision of 2 MiB or more
      more = true;
      break;
    }
    const int want = *page_size + 1 - static_cast<int>(kept.size());
    bool bytes_cut = false;
    absl::StatusOr<std::vector<v1::Article>> read = store_->ListRevisions(
        *id, next, want, kMaxQueryPageBytes - bytes, &bytes_cut);
    if (!read.ok()) return read.status();
    bool full = false;
    for (v1::Article& a : *read) {
      if (!editor && !store::IsPublishedRevision(a, now)) {
        next = a.revision() - 1;
        continue;
      }
      const size_t size = a.ByteSizeLong();
      if (static_cast<int>(kept.size()) == *page_size ||
          (!kept.empty() && bytes + size > kMaxQueryPageBytes)) {
        full = true;
        next = a.revision();
        break;
      }
      next = a.revision() - 1;
      bytes += size;
      kept.push_back(std::move(a));
    }
    if (full || next < 1) {
      more = full;
      break;
    }
    if (static_cast<int>(read->size()) < want && !bytes_cut) break;
  }
  // The last page of an editor's history ends at the oldest revision kept:
  // revisions are numbered from 1 without gaps, so one past 1 means
  // retention removed those before it, which the history says rather than
  // ending as if the article began there. Not to readers: that would tell
  // a hidden draft from a removed revision.
  if (!more && editor && !kept.empty() && kept.back().revision() > 1)
    resp->set_oldest_kept_revision(kept.back().revision());
  for (v1::Article& a : kept) *resp->add_revisions() = std::move(a);
  if (more) {
    std::string payload;
    store::AppendBigEndian64(&payload, static_cast<uint64_t>(next));
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
  absl::StatusOr<bool> editor = AllowEditor(*ctx, Role::kReader);
  if (!editor.ok()) return Finish(ctx, editor.status());
  return Read(ctx, [this, req, editor = *editor, resp] {
    return DoListRevisions(*req, editor, resp);
  });
}

absl::StatusOr<int64_t> ContentService::PublishedBefore(const std::string& id,
                                                        int64_t revision,
                                                        absl::Time now) {
  int64_t next = revision - 1;
  while (next >= 1) {
    bool bytes_cut = false;
    absl::StatusOr<std::vector<v1::Article>> read =
        store_->ListRevisions(id, next, 16, kMaxQueryPageBytes, &bytes_cut);
    if (!read.ok()) return read.status();
    if (read->empty()) break;
    for (const v1::Article& a : *read) {
      if (store::IsPublishedRevision(a, now)) return a.revision();
      next = a.revision() - 1;
    }
  }
  return 0;
}

absl::Status ContentService::DoDiff(const v1::DiffArticleRevisionsRequest& req,
                                    bool editor,
                                    v1::DiffArticleRevisionsResponse* resp) {
  if (req.has_article()) return DoDiffProposed(req, resp);  // an editor's
  // Every bad field at once, in field order.
  Violations violations;
  absl::StatusOr<std::string> id = ParseName(req.name(), "name");
  violations.Add(id.status());
  if (req.from_revision() < 0)
    violations.Add("from_revision", "must not be negative");
  if (req.to_revision() < 0)
    violations.Add("to_revision", "must not be negative");
  if (!violations.empty()) return violations.Status();
  absl::StatusOr<v1::Article> head = store_->Get(*id, 0, true);
  if (!editor && absl::IsNotFound(head.status())) return NotLive(*id);
  if (!head.ok()) return head.status();
  if (!editor && !store::IsLiveContent(*head, store_->Now()))
    return NotLive(*id);
  const int64_t to =
      req.to_revision() != 0 ? req.to_revision() : head->revision();
  const absl::Time now = store_->Now();
  absl::StatusOr<v1::Article> b =
      to == head->revision() ? head : store_->Get(*id, to, true);
  // Both sides as GetArticle gives them to readers.
  if (!editor) b = ForReaders(std::move(b), *id, to, head->revision(), now);
  if (!b.ok()) return b.status();
  int64_t from = req.from_revision();
  if (from == 0 && !editor) {
    // The revision before `to` in the history readers are shown: drafts in
    // between are skipped, not an error (they are not theirs to know of).
    absl::StatusOr<int64_t> before = PublishedBefore(*id, to, now);
    if (!before.ok()) return before.status();
    from = *before;
  } else if (from == 0) {
    from = to - 1;
  }
  if (from < 1) {
    return InvalidField(
        "from_revision",
        absl::StrCat(req.name(), " revision ", to, " is the first",
                     editor ? "" : " readers may read",
                     "; there is nothing before it to compare with"));
  }
  absl::StatusOr<v1::Article> a = store_->Get(*id, from, true);
  if (!editor) a = ForReaders(std::move(a), *id, from, head->revision(), now);
  if (editor && req.from_revision() == 0 && absl::IsNotFound(a.status()) &&
      from < head->revision()) {
    // The caller asked for no revision: "has no revision N" would name one
    // they never gave. Retention left `to` the oldest kept.
    return InvalidField(
        "from_revision",
        absl::StrCat(req.name(), " revision ", to,
                     " is the oldest kept (retention removed the ones before "
                     "it); there is nothing before it to compare with"));
  }
  if (!a.ok()) return a.status();
  *resp = editorial::DiffRevisions(*a, *b);
  return absl::OkStatus();
}

absl::Status ContentService::DoDiffProposed(
    const v1::DiffArticleRevisionsRequest& req,
    v1::DiffArticleRevisionsResponse* resp) {
  // The article as UpdateArticle validates and normalizes it (DoUpdate),
  // every bad field at once, in field order.
  Violations violations;
  absl::StatusOr<std::string> id = ParseName(req.name(), "name");
  violations.Add(id.status());
  if (req.from_revision() < 0)
    violations.Add("from_revision", "must not be negative");
  if (req.to_revision() != 0) {
    violations.Add("to_revision",
                   "must be 0 with article (the article is the newer side)");
  }
  v1::Article proposed = req.article();
  if (!proposed.name().empty() && proposed.name() != req.name()) {
    violations.Add("article.name",
                   absl::StrCat("must be empty or name's (", req.name(),
                                "), got \"", proposed.name(), "\""));
  }
  proposed.set_name(req.name());
  NormalizeArticleTerms(&proposed, "article", &violations);
  absl::StatusOr<v1::Article> stored = absl::NotFoundError("not read");
  if (id.ok() && ExceedsListLimit(proposed, options_.limits))
    stored = store_->Get(*id, 0, /*show_deleted=*/false);
  if (!stored.ok() && !absl::IsNotFound(stored.status()))
    return stored.status();  // not a limit's fault
  CollectArticleViolations(proposed, options_.limits, "article", &violations,
                           TextUtf8::kCheckedByParser,
                           stored.ok() ? &*stored : nullptr);
  if (!violations.empty()) return violations.Status();
  // Server fields are the store's to give, as an update's are.
  proposed.clear_revision();
  proposed.clear_etag();
  proposed.clear_create_time();
  proposed.clear_update_time();
  proposed.clear_delete_time();
  proposed.clear_content_hash();
  absl::StatusOr<v1::Article> from =
      store_->Get(*id, req.from_revision(), /*show_deleted=*/true);
  if (req.from_revision() == 0 && absl::IsNotFound(from.status())) {
    from = v1::Article();  // a create: every field is new
    from->set_name(req.name());
  }
  if (!from.ok()) return from.status();
  if (req.from_revision() == 0 && from->has_delete_time()) {
    return ArticleDeleted(*id, from->revision(),
                          "; undelete it before updating");
  }
  *resp = editorial::DiffRevisions(*from, proposed);
  // `articles/x@0` would name a revision: the sides by what they are.
  resp->set_body_diff(editorial::UnifiedDiff(
      from->body(), proposed.body(),
      from->revision() == 0 ? "/dev/null"
                            : absl::StrCat(req.name(), "@", from->revision()),
      absl::StrCat(req.name(), " (not written)")));
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ContentService::DiffArticleRevisions(
    grpc::CallbackServerContext* ctx,
    const v1::DiffArticleRevisionsRequest* req,
    v1::DiffArticleRevisionsResponse* resp) {
  absl::StatusOr<bool> editor = AllowEditor(*ctx, Role::kReader);
  if (!editor.ok()) return Finish(ctx, editor.status());
  // Content not written is an editor's to send, as an update is.
  if (!*editor && req->has_article())
    return Finish(ctx, Allow(*ctx, Role::kEditor));
  return Read(ctx, [this, req, editor = *editor, resp] {
    return DoDiff(*req, editor, resp);
  });
}

grpc::ServerUnaryReactor* ContentService::RestoreArticleRevision(
    grpc::CallbackServerContext* ctx,
    const v1::RestoreArticleRevisionRequest* req, v1::Article* resp) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return Finish(ctx, s);
  return OffloadAsync(ctx, [this, req, resp](Finisher finish) {
    absl::StatusOr<std::string> id =
        CheckWriteTarget(req->name(), req->revision(), req->expected_revision(),
                         /*restore=*/true);
    if (!id.ok()) return finish(id.status());
    store_->RestoreAsync(*id, req->revision(),
                         {req->expected_revision(), req->etag()},
                         ReplyWith(resp, std::move(finish)));
  });
}

absl::Status ContentService::DoListTranslations(
    const v1::ListTranslationsRequest& req,
    v1::ListTranslationsResponse* resp) {
  // Every bad field at once, in field order.
  Violations violations;
  absl::StatusOr<std::string> id = ParseName(req.name(), "name");
  violations.Add(id.status());
  violations.Add(CheckVisibility(req.visibility(), "visibility"));
  violations.Add(CheckView(req.view(), "view"));
  if (!violations.empty()) return violations.Status();
  const bool all = req.visibility() == v1::VISIBILITY_ALL;
  absl::StatusOr<v1::Article> named =
      store_->Get(*id, 0, /*show_deleted=*/true);
  if (!all) {
    // As GetArticle at LIVE: one answer for missing and hidden articles (a
    // deleted draft too), so readers cannot tell which hidden ids exist.
    if (absl::IsNotFound(named.status())) return NotLive(*id);
    if (!named.ok()) return named.status();
    if (!store::IsLiveContent(*named, store_->Now())) return NotLive(*id);
    if (named->has_delete_time()) {
      return ArticleDeleted(*id, named->revision());
    }
  }
  if (!named.ok()) return named.status();
  const std::string group = store::TranslationGroup(*named);
  absl::StatusOr<std::vector<v1::Article>> members =
      GroupHeads(group, all, req.view() == v1::ARTICLE_VIEW_FULL);
  if (!members.ok()) return members.status();
  resp->set_translation_key(group);
  for (v1::Article& m : *members) *resp->add_articles() = std::move(m);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ContentService::ListTranslations(
    grpc::CallbackServerContext* ctx, const v1::ListTranslationsRequest* req,
    v1::ListTranslationsResponse* resp) {
  if (absl::Status s = Allow(*ctx, ReadRole(req->visibility())); !s.ok())
    return Finish(ctx, s);
  return Read(ctx,
              [this, req, resp] { return DoListTranslations(*req, resp); });
}

absl::Status ContentService::DoQuery(const v1::QueryArticlesRequest& req,
                                     v1::QueryArticlesResponse* resp,
                                     std::vector<std::string>* articles) {
  // Every bad field at once (README "Bad input"), in the request's order:
  // a bad page size hid the query's own faults, which came one per call.
  absl::StatusOr<int> page_size = PageSize(req.page_size(), options_.limits);
  query::QueryOptions options;
  // `with_token`: whether the page token is opened here too. A valid
  // request's is opened once, by RunQuery; with other faults it is opened
  // here, so that a bad one is named with them rather than on the next try.
  auto check = [&](Violations& violations, bool with_token) {
    violations.Add(page_size.status());
    CollectQueryViolations(req.query(), options_.limits, "query", &violations);
    if (with_token) {
      violations.Add(
          query::OpenPageToken(req.page_token(), store_->token_key()).status());
    }
    violations.Add(CheckView(req.view(), "view"));
    options.facets.clear();
    for (int i = 0; i < req.facets_size(); ++i) {
      const std::string field = absl::StrCat("facets[", i, "]");
      const v1::FacetField f = req.facets(i);
      if (f == v1::FACET_FIELD_UNSPECIFIED || !v1::FacetField_IsValid(f)) {
        violations.Add(field, absl::StrCat("must be FACET_FIELD_TAGS, "
                                           "FACET_FIELD_CATEGORIES or "
                                           "FACET_FIELD_LANG, got ",
                                           static_cast<int>(f)));
      } else if (std::find(options.facets.begin(), options.facets.end(), f) !=
                 options.facets.end()) {
        violations.Add(
            field, absl::StrCat("duplicate facet ", v1::FacetField_Name(f)));
      } else {
        options.facets.push_back(f);
      }
    }
    if (req.facet_limit() < 0 || req.facet_limit() > kMaxFacetLimit) {
      violations.Add("facet_limit",
                     absl::StrCat("must be between 0 and ", kMaxFacetLimit,
                                  ", got ", req.facet_limit()));
    }
  };
  Violations violations;
  check(violations, /*with_token=*/false);
  if (!violations.empty()) {
    if (req.page_token().empty()) return violations.Status();
    Violations with_token;
    check(with_token, /*with_token=*/true);
    return with_token.Status();
  }
  options.page_token = req.page_token();
  options.view = req.view();
  options.page_size = *page_size;
  options.facet_limit =
      req.facet_limit() == 0 ? kDefaultFacetLimit : req.facet_limit();
  options.raw = true;
  // Articles may be 1 MiB each (limits.max_article_bytes): 20 would
  // pass gRPC's default 4 MiB a client receives. A page ends early instead
  // (AIP-158 allows short pages), at most 2 MiB plus one article.
  options.max_page_bytes = kMaxQueryPageBytes;
  absl::StatusOr<query::QueryPage> page =
      query::RunQuery(*store_, req.query(), options);
  if (!page.ok()) return page.status();
  *articles = std::move(page->raw_articles);
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
  // Every bad field at once, in field order: each malformed name, then
  // view and visibility.
  Violations violations;
  std::vector<std::string> ids;
  if (req.names_size() == 0) {
    violations.Add("names", "at least one name is required");
  } else if (req.names_size() > options_.limits.max_batch_get) {
    // Refused whole: its names are not parsed one by one.
    violations.Add("names",
                   absl::StrCat("at most ", options_.limits.max_batch_get,
                                " names, got ", req.names_size()));
  } else {
    ids.reserve(req.names_size());
    for (int i = 0; i < req.names_size(); ++i) {
      absl::StatusOr<std::string> id =
          ParseName(req.names(i), absl::StrCat("names[", i, "]"));
      violations.Add(id.status());
      if (id.ok()) ids.push_back(*std::move(id));
    }
  }
  violations.Add(CheckView(req.view(), "view"));
  violations.Add(CheckVisibility(req.visibility(), "visibility"));
  if (!violations.empty()) return violations.Status();
  const bool all = req.visibility() == v1::VISIBILITY_ALL;
  const absl::Time now = store_->Now();
  // One snapshot, so the articles are from one moment.
  std::unique_ptr<store::ReadView> view = store_->NewReadView();
  size_t bytes = 0;
  for (int i = 0; i < req.names_size(); ++i) {
    v1::BatchGetArticlesResult* r = resp->add_results();
    r->set_name(req.names(i));
    absl::StatusOr<v1::Article> a = view->Head(ids[i]);
    if (!all && (absl::IsNotFound(a.status()) ||
                 (a.ok() && !store::IsLiveContent(*a, now)))) {
      a = NotLive(ids[i]);  // one answer for missing and hidden
    } else if (a.ok() && a->has_delete_time() && !req.show_deleted()) {
      a = ArticleDeleted(ids[i], a->revision());  // as GetArticle says
    }
    if (absl::IsNotFound(a.status())) {
      r->set_error_code(static_cast<int32_t>(a.status().code()));
      r->set_error(std::string(a.status().message()));
      r->set_reason(ReasonOf(a.status()));
      for (auto& [key, value] : MetadataOf(a.status()))
        (*r->mutable_metadata())[key] = std::move(value);
      continue;
    }
    if (!a.ok()) return a.status();  // storage trouble fails the call
    if (req.view() == v1::ARTICLE_VIEW_BASIC) a->clear_body();
    // Names may repeat: a thousand of one 1 MiB article would build a
    // gigabyte reply no client receives.
    bytes += a->ByteSizeLong();
    if (bytes > kMaxBatchGetBytes) {
      return WithReason(absl::ResourceExhaustedError(absl::StrCat(
                            "names: the articles named hold more than ",
                            kMaxBatchGetBytes >> 20,
                            " MiB; ask for fewer or use view BASIC")),
                        reason::kResponseTooLarge,
                        {{"limit_bytes", absl::StrCat(kMaxBatchGetBytes)}});
    }
    *r->mutable_article() = *std::move(a);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ContentService::VisibleCount(store::IndexKind kind,
                                                     const std::string& term,
                                                     int64_t listed) const {
  // The live lists also hold published articles readers do not see yet
  // (scheduled) or any more (expired), and their counters count them: a
  // term only such articles carry would show readers an embargoed name.
  // A live query settles it: short lists are counted exactly, longer ones
  // (where an invisible few barely move the count) need one visible
  // article.
  constexpr int64_t kExactUpTo = 32;
  if (listed <= 0) return 0;
  v1::Query q;
  if (kind == store::IndexKind::kTag) {
    q.add_tags(term);
  } else {
    q.add_categories(term);
  }
  query::QueryOptions options;
  options.page_size = listed <= kExactUpTo ? static_cast<int>(listed) : 1;
  options.view = v1::ARTICLE_VIEW_BASIC;
  options.raw = true;
  absl::StatusOr<query::QueryPage> page = query::RunQuery(*store_, q, options);
  if (!page.ok()) return page.status();
  const int64_t found = static_cast<int64_t>(page->raw_articles.size());
  if (listed <= kExactUpTo && page->next_page_token.empty()) return found;
  // A long list, or a short one the engine stopped early on: keep the
  // counter's figure unless nothing visible turned up at all.
  return found > 0 || !page->next_page_token.empty() ? listed : 0;
}

absl::Status ContentService::DoListTerms(
    store::IndexKind kind, absl::string_view list, int32_t requested_size,
    const std::string& page_token, const std::string& prefix,
    google::protobuf::RepeatedPtrField<v1::TermCount>* out,
    std::string* next_page_token) {
  // Every bad field at once, in field order.
  Violations violations;
  absl::StatusOr<int> page_size = PageSize(requested_size, options_.limits);
  violations.Add(page_size.status());
  const bool prefix_ok = IsValidUtf8(prefix);
  // The token holds the last term returned, bound to the list and prefix
  // (no token was issued for a bad prefix: then only whether it opens).
  const std::string binding = absl::StrCat(list, "/", prefix);
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> payload =
        query::OpenPageToken(page_token, store_->token_key());
    const size_t nul = payload.ok() ? payload->find('\0') : std::string::npos;
    if (!payload.ok()) {
      violations.Add(payload.status());
    } else if (nul == std::string::npos || payload->substr(0, nul) != binding) {
      if (prefix_ok) {
        violations.Add("page_token",
                       "was issued for another listing; send the same "
                       "prefix to the same RPC");
      }
    } else {
      after = payload->substr(nul + 1);
    }
  }
  if (!prefix_ok) violations.Add("prefix", "must be valid UTF-8");
  if (!violations.empty()) return violations.Status();
  // The counters are the indexes' (query::RunQuery says why not).
  if (absl::Status s = store_->IndexesUsable(); !s.ok()) return s;
  std::unique_ptr<store::ReadView> view = store_->NewReadView();
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> counts =
      view->ListCounts(kind, text::ToNfc(prefix), after, *page_size + 1);
  if (!counts.ok()) return counts.status();
  const bool more = static_cast<int>(counts->size()) > *page_size;
  if (more) counts->pop_back();
  for (auto& [term, n] : *counts) {
    absl::StatusOr<int64_t> visible = VisibleCount(kind, term, n);
    if (!visible.ok()) return visible.status();
    if (*visible <= 0) continue;
    v1::TermCount* tc = out->Add();
    tc->set_value(term);
    tc->set_article_count(*visible);
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
  if (absl::Status s = Allow(*ctx, ReadRole(req->visibility())); !s.ok())
    return Finish(ctx, s);
  return Read(ctx, [this, req, resp] { return DoBatchGet(*req, resp); });
}

grpc::ServerUnaryReactor* ContentService::ListTags(
    grpc::CallbackServerContext* ctx, const v1::ListTagsRequest* req,
    v1::ListTagsResponse* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  return Read(ctx, [this, req, resp] {
    return DoListTerms(store::IndexKind::kTag, "tags", req->page_size(),
                       req->page_token(), req->prefix(), resp->mutable_tags(),
                       resp->mutable_next_page_token());
  });
}

grpc::ServerUnaryReactor* ContentService::ListCategories(
    grpc::CallbackServerContext* ctx, const v1::ListCategoriesRequest* req,
    v1::ListCategoriesResponse* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  return Read(ctx, [this, req, resp] {
    return DoListTerms(store::IndexKind::kCategory, "categories",
                       req->page_size(), req->page_token(), req->prefix(),
                       resp->mutable_categories(),
                       resp->mutable_next_page_token());
  });
}

grpc::ServerUnaryReactor* ContentService::GetServerInfo(
    grpc::CallbackServerContext* ctx, const v1::GetServerInfoRequest*,
    v1::ServerInfo* resp) {
  if (absl::Status s = Allow(*ctx, Role::kReader); !s.ok())
    return Finish(ctx, s);
  *resp = ServerInfo();
  return Finish(ctx, absl::OkStatus());
}

v1::ServerInfo ContentService::ServerInfo() const {
  v1::ServerInfo info;
  info.set_version(options_.version);
  info.set_hostname(hostname_);
  info.set_storage_engine(store_->engine()->shared() ? "postgresql"
                                                     : "rocksdb");
  const int64_t micros = absl::ToUnixMicros(start_time_);
  info.mutable_start_time()->set_seconds(micros / 1000000);
  info.mutable_start_time()->set_nanos(
      static_cast<int32_t>(micros % 1000000 * 1000));
  return info;
}

grpc::ServerUnaryReactor* ContentService::QueryArticles(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req_bytes,
    grpc::ByteBuffer* resp) {
  // Authenticated before parsing, as in GetArticle.
  absl::StatusOr<bool> editor = AllowEditor(*ctx, Role::kReader);
  if (!editor.ok()) return Finish(ctx, editor.status());
  v1::QueryArticlesRequest req;
  if (absl::Status s = ParseRequest(*req_bytes, &req); !s.ok())
    return Finish(ctx, s);
  if (!*editor && ReadRole(req.query().visibility()) == Role::kEditor)
    return Finish(ctx, Allow(*ctx, Role::kEditor));
  return Read(ctx, [this, req = std::move(req), resp] {
    v1::QueryArticlesResponse rest;
    std::vector<std::string> articles;
    absl::Status s = DoQuery(req, &rest, &articles);
    if (s.ok()) {
      // Field 1 (`articles`) as length-delimited entries, then the others:
      // fields may come in any order on the wire.
      size_t size = rest.ByteSizeLong();
      for (const std::string& a : articles) size += a.size() + 6;
      std::string bytes;
      bytes.reserve(size);
      for (const std::string& a : articles) {
        bytes.push_back(static_cast<char>(
            (v1::QueryArticlesResponse::kArticlesFieldNumber << 3) | 2));
        AppendVarint(a.size(), &bytes);
        bytes += a;
      }
      rest.AppendToString(&bytes);
      *resp = TakeBytes(std::move(bytes));
    }
    return s;
  });
}

}  // namespace content::service

namespace content::service {

grpc::ServerWriteReactor<v1::WatchArticlesResponse>*
ContentService::WatchArticles(grpc::CallbackServerContext* ctx,
                              const v1::WatchArticlesRequest* req) {
  if (absl::Status s = Allow(*ctx, ReadRole(req->filter().visibility()));
      !s.ok())
    return new FailedWriteReactor<v1::WatchArticlesResponse>(s);
  return watch_.Open(ctx, req);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
ContentService::ImportArticles(grpc::CallbackServerContext* ctx) {
  if (absl::Status s = Allow(*ctx, Role::kEditor); !s.ok())
    return new FailedBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>(s);
  return imports_.Open();
}

grpc::ServerWriteReactor<v1::ExportArticlesResponse>*
ContentService::ExportArticles(grpc::CallbackServerContext* ctx,
                               const v1::ExportArticlesRequest* req) {
  if (absl::Status s = Allow(*ctx, ReadRole(req->query().visibility()));
      !s.ok())
    return new FailedWriteReactor<v1::ExportArticlesResponse>(s);
  return exports_.Open(ctx, store_, options_.limits, *req);
}

void ContentService::PrepareShutdown() { watch_.Shutdown(); }

void ContentService::EndCalls() {
  imports_.EndAll();
  exports_.EndAll(StoppingStatus());
}

}  // namespace content::service
