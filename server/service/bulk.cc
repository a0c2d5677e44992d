#include "server/service/bulk.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "server/log_line.h"
#include "server/query/engine.h"
#include "server/service/parse_error_interceptor.h"
#include "server/service/reactors.h"

namespace content::service {
namespace {

v1::ImportResult::Outcome ToProto(store::ApplyResult::Outcome o) {
  switch (o) {
    case store::ApplyResult::Outcome::kCreated:
      return v1::ImportResult::OUTCOME_CREATED;
    case store::ApplyResult::Outcome::kUpdated:
      return v1::ImportResult::OUTCOME_UPDATED;
    case store::ApplyResult::Outcome::kUnchanged:
      return v1::ImportResult::OUTCOME_UNCHANGED;
    case store::ApplyResult::Outcome::kFailed:
      break;
  }
  return v1::ImportResult::OUTCOME_FAILED;
}

void Fail(v1::ImportResult* r, const absl::Status& s) {
  r->set_outcome(v1::ImportResult::OUTCOME_FAILED);
  r->set_error(std::string(s.message()));
  r->set_error_code(static_cast<int32_t>(s.code()));
  r->set_reason(ReasonOf(s));
  for (auto& [key, value] : MetadataOf(s))
    (*r->mutable_metadata())[key] = std::move(value);
}

constexpr char kUnparsableArticle[] =
    "cannot be parsed: a string field is not valid UTF-8, or it nests deeper "
    "than protobuf's 100 levels";

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// The `name` (field 1) of an Article encoding that does not parse, if it
// can be read and is valid UTF-8; "" otherwise.
std::string NameOf(const std::string& article) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(article.data()),
      static_cast<int>(article.size()));
  while (uint32_t tag = in.ReadTag()) {
    if (tag == ((1 << 3) | 2)) {
      uint32_t size = 0;
      std::string name;
      if (!in.ReadVarint32(&size) || !in.ReadString(&name, size)) break;
      return IsValidUtf8(name) ? name : std::string();
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) break;
  }
  return std::string();
}

}  // namespace

class ImportReactor
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit ImportReactor(ImportHub* hub)
      : hub_(hub),
        store_(hub->store_),
        writes_(hub->writes_),
        limits_(hub->limits_) {}

  void Start() {
    absl::MutexLock lock(&mu_);
    if (!finished_) StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;  // ended (End) while the read waited
    if (!ok) {              // the client finished sending (or went away)
      FinishLocked(grpc::Status::OK);
      return;
    }
    if (ending_) {  // a batch after the stop's grace: not written
      FinishLocked(StoppingStatus());
      return;
    }
    busy_ = true;
    if (!writes_->Submit([this] { Process(); })) {
      busy_ = false;
      FinishLocked(StoppingStatus());
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    busy_ = false;
    if (finished_) return;
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    if (ending_) {
      FinishLocked(StoppingStatus());
      return;
    }
    StartRead(&in_);
  }

  // Ends the call with StoppingStatus(): now if it waits for its client,
  // else once the answer to the batch in progress is written.
  void End() {
    absl::MutexLock lock(&mu_);
    ending_ = true;
    if (!busy_) FinishLocked(StoppingStatus());
  }

  void OnDone() override {
    hub_->Remove(this);
    delete this;
  }

 private:
  // Parses the batch in in_ into request_. A batch gRPC would not parse
  // (one article with a string that is not UTF-8) is read article by
  // article, so that one fails alone: unparsed_[i] marks those. False if
  // the bytes are not a batch at all.
  bool ParseBatch() {
    const std::string bytes = Flatten(in_);
    in_.Clear();
    request_.Clear();
    unparsed_.clear();
    if (request_.ParseFromString(bytes)) {
      unparsed_.assign(request_.articles_size(), false);
      return true;
    }
    request_.Clear();
    google::protobuf::io::CodedInputStream in(
        reinterpret_cast<const uint8_t*>(bytes.data()),
        static_cast<int>(bytes.size()));
    while (uint32_t tag = in.ReadTag()) {
      const int field = static_cast<int>(tag >> 3);
      if (field == v1::ImportArticlesRequest::kArticlesFieldNumber &&
          (tag & 7) == 2) {
        uint32_t size = 0;
        std::string article;
        if (!in.ReadVarint32(&size) || !in.ReadString(&article, size))
          return false;
        v1::Article* a = request_.add_articles();
        const bool parsed = a->ParseFromString(article);
        if (!parsed) {
          a->Clear();
          a->set_name(NameOf(article));
        }
        unparsed_.push_back(!parsed);
      } else if (field == v1::ImportArticlesRequest::kDryRunFieldNumber &&
                 (tag & 7) == 0) {
        uint64_t v = 0;
        if (!in.ReadVarint64(&v)) return false;
        request_.set_dry_run(v != 0);
      } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in,
                                                                        tag)) {
        return false;
      }
    }
    return in.ConsumedEntireMessage() &&
           in.CurrentPosition() == static_cast<int>(bytes.size());
  }

  // On a write thread, with busy_ set: in_, request_, unparsed_, response_
  // and out_ are its own until the write it starts is done.
  void Process() {
    response_.Clear();
    if (!ParseBatch()) {
      Done(ToGrpcStatus(absl::InvalidArgumentError(kUnparsableRequest)));
      return;
    }
    if (request_.articles_size() > kMaxImportBatch) {
      Done(ToGrpcStatus(InvalidField(
          "articles",
          absl::StrCat("at most ", kMaxImportBatch, " per request, got ",
                       request_.articles_size()))));
      return;
    }
    // Validate each article on its own; only the valid ones reach the store.
    std::vector<std::pair<std::string, v1::Article>> items;
    std::vector<int> slot;  // items[i] answers results[slot[i]]
    for (int i = 0; i < request_.articles_size(); ++i) {
      v1::Article* a = request_.mutable_articles(i);
      v1::ImportResult* r = response_.add_results();
      r->set_name(a->name());
      const std::string field = absl::StrCat("articles[", i, "]");
      if (unparsed_[i]) {
        Fail(r, InvalidField(field, kUnparsableArticle));
        continue;
      }
      // Every violation of the article, its name's first.
      Violations violations;
      absl::StatusOr<std::string> id = ParseName(a->name(), field + ".name");
      violations.Add(id.status());
      NormalizeArticleTerms(a, field, &violations);
      // As UpdateArticle: a list over the limit may be no longer than the
      // stored head's.
      absl::StatusOr<v1::Article> stored = absl::NotFoundError("not read");
      if (id.ok() && ExceedsListLimit(*a, limits_))
        stored = store_->Get(*id, 0, /*show_deleted=*/false);
      if (!stored.ok() && !absl::IsNotFound(stored.status())) {
        Fail(r, stored.status());  // not a limit's fault
        continue;
      }
      CollectArticleViolations(*a, limits_, field, &violations,
                               TextUtf8::kCheckedByParser,
                               stored.ok() ? &*stored : nullptr);
      if (!violations.empty()) {
        Fail(r, violations.Status());
        continue;
      }
      items.emplace_back(*std::move(id), std::move(*a));
      slot.push_back(i);
    }
    absl::StatusOr<std::vector<store::ApplyResult>> applied =
        store_->Apply(std::move(items), request_.dry_run());
    if (!applied.ok()) {
      Done(ToGrpcStatus(applied.status()));  // storage trouble: stop the import
      return;
    }
    for (size_t k = 0; k < applied->size(); ++k) {
      const store::ApplyResult& a = (*applied)[k];
      v1::ImportResult* r = response_.mutable_results(slot[k]);
      if (a.outcome == store::ApplyResult::Outcome::kFailed) {
        Fail(r, a.status);
      } else {
        r->set_outcome(ToProto(a.outcome));
        r->set_revision(a.revision);
      }
    }
    std::string bytes;
    response_.SerializeToString(&bytes);
    grpc::Slice slice(bytes);
    out_ = grpc::ByteBuffer(&slice, 1);
    absl::MutexLock lock(&mu_);
    StartWrite(&out_);  // busy_ until OnWriteDone
  }

  // Ends the call from Process, which returns at once.
  void Done(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    busy_ = false;
    FinishLocked(status);
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  ImportHub* const hub_;
  store::Store* const store_;
  WorkQueue* const writes_;
  const Limits limits_;
  // gRPC's threads (reads and writes done), the write thread (Process) and
  // End meet here.
  absl::Mutex mu_;
  // A batch is being processed, or its answer written.
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ByteBuffer in_, out_;
  v1::ImportArticlesRequest request_;
  std::vector<bool> unparsed_;  // per article of request_
  v1::ImportArticlesResponse response_;
};

class ExportReactor
    : public grpc::ServerWriteReactor<v1::ExportArticlesResponse> {
 public:
  ExportReactor(ExportHub* hub, grpc::CallbackServerContext* ctx,
                store::Store* store, const Limits& limits,
                const v1::ExportArticlesRequest& request)
      : hub_(hub),
        ctx_(ctx),
        store_(store),
        limits_(limits),
        query_(request.query()),
        // A shared engine's snapshot waits for a database connection: the
        // first page's read takes it, on a read thread (ReadPageOnPool).
        view_(store->engine()->shared() ? nullptr : store->NewReadView()),
        take_view_(store->engine()->shared()) {}

  void Start() {
    absl::MutexLock lock(&mu_);
    if (finished_) return;  // ended (End) before it began
    absl::Status s = ValidateQuery(query_, limits_);
    if (!s.ok()) {
      FinishLocked(ToGrpcStatus(s));
      return;
    }
    Next();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (finished_) return;  // cut off while the write waited
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    Next();
  }

  void OnDone() override {
    hub_->Remove(this);
    delete this;
  }

  // Ends the export with `status`, releasing its snapshot and page: the
  // batch in flight, if any, still reaches a client that takes it.
  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    view_.reset();
    page_.clear();
    page_.shrink_to_fit();
    FinishLocked(status);
  }

  // Ends the export if its client has left a batch untaken for `timeout`.
  // An export busy reading a page is not stalled on its client: only
  // tries the lock. Returns the log line if this cut the export off, else
  // empty: the hub logs it after letting go of its lock.
  std::string CheckStall(absl::Time now, absl::Duration timeout) {
    if (!mu_.TryLock()) return "";
    std::string line;
    if (!finished_ && writing_ && now - write_started_ >= timeout) {
      // Only the batch in flight is needed until the client goes; the
      // snapshot would pin every version the store had at the start. The
      // write in flight keeps the call (and this) alive until OnWriteDone,
      // which waits for mu_.
      view_.reset();
      page_.clear();
      page_.shrink_to_fit();
      FinishLocked(ToGrpcStatus(
          WithReason(absl::ResourceExhaustedError(absl::StrCat(
                         "export client stopped reading for more than ",
                         absl::FormatDuration(timeout),
                         "; the export's snapshot is released: export again")),
                     reason::kExportTooSlow)));
      hub_->stalled_.fetch_add(1);
      // In the style of a watch cut off: one line per export.
      line = absl::StrCat(
          "contentd: export from ", ctx_->peer(), " cut off (",
          reason::kExportTooSlow, "): stopped reading for more than ",
          absl::FormatDuration(timeout), "; its snapshot is released");
    }
    mu_.Unlock();
    return line;
  }

 private:
  static constexpr int kBatch = 100;
  // Most bytes of articles in one response (one article may exceed it): a
  // page of 100 large articles would pass the 4 MiB a gRPC client takes by
  // default, or the SDK's 64 MiB, and fail the whole export. Pages are read
  // to the same bound, so a client that stops reading holds one of them.
  static constexpr size_t kBatchBytes = size_t{2} << 20;

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    // A read thread's page read is no reaction of the call's: the call
    // (and this) may be gone as soon as Finish is called, so it finishes
    // after the read, once it let go of mu_ (ReadPageOnPool).
    if (reading_ || on_read_thread_) {
      deferred_finish_ = status;
      return;
    }
    Finish(status);
  }

  // Reads the page after token_ on a read thread, then goes on with Next
  // there: on PostgreSQL a page waits on the database (a table lock, a
  // slow network), and exports waiting on gRPC's callback threads left the
  // server answering nothing, health checks included.
  void ReadPageOnPool() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    reading_ = true;
    // The first page of a shared store's export takes a snapshot, one of
    // the hub's max_snapshots: with none free the export waits (reading_
    // set, so that a finish meanwhile waits too) until the hub's thread
    // finds one (ResumeIfWaiting).
    if (take_view_ && !snapshot_reserved_) {
      if (!ReserveSnapshot()) {
        waiting_for_snapshot_ = true;
        return;
      }
      snapshot_reserved_ = true;
    }
    query::QueryOptions options;
    options.page_size = kBatch;
    options.page_token = token_;
    options.max_page_bytes = kBatchBytes;
    // The read thread holds the snapshot while it reads: End, meanwhile,
    // finds none to release under it, and the read drops it if the export
    // ended by then.
    const bool take_view = std::exchange(take_view_, false);
    std::shared_ptr<std::atomic<int>> slots = hub_->snapshots_;
    const bool queued = hub_->reads_->Submit(
        [this, options, view = std::move(view_), take_view, slots]() mutable {
          // Every page through one snapshot, as on RocksDB: paging through
          // fresh ones, an article updated to another date meanwhile moved
          // across the cursor, and the export missed it or sent it twice.
          if (take_view) {
            view = std::shared_ptr<store::ReadView>(
                store_->NewReadView().release(), [slots](store::ReadView* v) {
                  delete v;
                  slots->fetch_sub(1);
                });
          }
          options.read_view = view.get();
          absl::StatusOr<query::QueryPage> page =
              query::RunQuery(*store_, query_, options);
          std::optional<grpc::Status> finish;
          {
            absl::MutexLock lock(&mu_);
            reading_ = false;
            if (!finished_ && view != nullptr) view_ = std::move(view);
            on_read_thread_ = true;
            if (!finished_) {
              if (!page.ok()) {
                FinishLocked(ToGrpcStatus(page.status()));
              } else {
                TakePage(*std::move(page));
                Next();  // may queue the next page's read
              }
            }
            on_read_thread_ = false;
            // A read queued again takes the finish with it.
            if (!reading_ && deferred_finish_.has_value()) {
              finish = std::move(deferred_finish_);
              deferred_finish_.reset();
            }
          }
          if (finish.has_value()) Finish(*finish);  // this may be gone after
        });
    if (!queued) {
      if (take_view) slots->fetch_sub(1);  // reserved, never taken
      reading_ = false;
      FinishLocked(StoppingStatus());
    }
  }

  // Takes one of the hub's max_snapshots, if one is free.
  bool ReserveSnapshot() {
    std::atomic<int>& held = *hub_->snapshots_;
    const int max = hub_->options_.max_snapshots;
    for (int n = held.load(); max <= 0 || n < max;) {
      if (held.compare_exchange_weak(n, n + 1)) return true;
    }
    return false;
  }

 public:
  // From the hub's thread: an export waiting for a snapshot reads its
  // first page once one is free, and one ended meanwhile finishes. Only
  // tries the lock, as CheckStall. True if it finished the call.
  bool ResumeIfWaiting() {
    if (!mu_.TryLock()) return false;
    std::optional<grpc::Status> finish;
    if (waiting_for_snapshot_) {
      if (finished_) {
        waiting_for_snapshot_ = false;
        reading_ = false;
        finish = std::move(deferred_finish_);
        deferred_finish_.reset();
      } else if (ReserveSnapshot()) {
        waiting_for_snapshot_ = false;
        snapshot_reserved_ = true;
        ReadPageOnPool();
      }
    }
    mu_.Unlock();
    // The hub holds its lock: OnDone, which takes it, deletes this later.
    if (finish.has_value()) Finish(*finish);
    return finish.has_value();
  }

 private:
  void TakePage(query::QueryPage page) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    page_ = std::move(page.articles);
    next_ = 0;
    token_ = std::move(page.next_page_token);
    last_page_ = token_.empty();
  }

  // Writes the next response: what is left of the current page, up to
  // kBatchBytes, reading pages until there are articles or no more pages.
  void Next() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    response_.Clear();
    size_t bytes = 0;
    while (true) {
      for (; next_ < page_.size(); ++next_) {
        const size_t size = page_[next_].ByteSizeLong();
        if (response_.articles_size() > 0 && bytes + size > kBatchBytes) break;
        bytes += size;
        *response_.add_articles() = std::move(page_[next_]);
      }
      if (response_.articles_size() > 0 || last_page_) break;
      // A page can be empty yet have a token (its candidates all failed the
      // filters no index serves): keep going until articles or the end, but
      // not for a client gone (a filter that rejects nearly everything scans
      // the whole store on this thread).
      if (ctx_->IsCancelled()) {
        FinishLocked(grpc::Status::CANCELLED);
        return;
      }
      if (hub_->reads_ != nullptr) {
        ReadPageOnPool();
        return;
      }
      query::QueryOptions options;
      options.page_size = kBatch;
      options.page_token = token_;
      options.max_page_bytes = kBatchBytes;
      options.read_view = view_.get();
      absl::StatusOr<query::QueryPage> page =
          query::RunQuery(*store_, query_, options);
      if (!page.ok()) {
        FinishLocked(ToGrpcStatus(page.status()));
        return;
      }
      TakePage(*std::move(page));
    }
    if (response_.articles_size() == 0) {
      FinishLocked(grpc::Status::OK);
      return;
    }
    writing_ = true;
    write_started_ = absl::Now();
    StartWrite(&response_);
  }

  ExportHub* const hub_;
  grpc::CallbackServerContext* const ctx_;
  store::Store* const store_;
  const Limits limits_;
  const v1::Query query_;
  // OnWriteDone (gRPC's threads) and CheckStall (the hub's) meet here.
  absl::Mutex mu_;
  // One snapshot for the whole export: paging through fresh ones, an
  // article whose date changed between pages came twice or not at all.
  // Null once cut off, on a shared engine until the first page's read
  // takes it (take_view_), and while a read thread holds it.
  std::shared_ptr<store::ReadView> view_ ABSL_GUARDED_BY(mu_);
  bool take_view_ ABSL_GUARDED_BY(mu_) = false;
  // One of the hub's max_snapshots is this export's (it then waits for no
  // other), and it waits for one (ResumeIfWaiting).
  bool snapshot_reserved_ ABSL_GUARDED_BY(mu_) = false;
  bool waiting_for_snapshot_ ABSL_GUARDED_BY(mu_) = false;
  std::string token_ ABSL_GUARDED_BY(mu_);
  // The page being sent, from next_.
  std::vector<v1::Article> page_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  // page_ is the query's last page.
  bool last_page_ ABSL_GUARDED_BY(mu_) = false;
  v1::ExportArticlesResponse response_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // response_ is in flight
  absl::Time write_started_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // A page read is queued or running on a read thread (ReadPageOnPool),
  // or that thread's work goes on under mu_: a finish meanwhile waits in
  // deferred_finish_ for the read thread, which calls it after mu_.
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool on_read_thread_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> deferred_finish_ ABSL_GUARDED_BY(mu_);
};

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ImportHub::Open() {
  auto* reactor = new ImportReactor(this);
  bool ending;
  {
    absl::MutexLock lock(&mu_);
    imports_.insert(reactor);
    ending = ending_;
  }
  if (ending) {
    reactor->End();
  } else {
    reactor->Start();
  }
  return reactor;
}

void ImportHub::EndAll() {
  absl::MutexLock lock(&mu_);
  ending_ = true;
  for (ImportReactor* r : imports_) r->End();
}

void ImportHub::Remove(ImportReactor* reactor) {
  absl::MutexLock lock(&mu_);
  imports_.erase(reactor);
}

ExportHub::ExportHub(const ExportOptions& options, WorkQueue* reads)
    : options_(options), reads_(reads) {
  thread_ = std::thread([this] { Loop(); });
}

ExportHub::~ExportHub() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

grpc::ServerWriteReactor<v1::ExportArticlesResponse>* ExportHub::Open(
    grpc::CallbackServerContext* ctx, store::Store* store, const Limits& limits,
    const v1::ExportArticlesRequest& request) {
  auto* reactor = new ExportReactor(this, ctx, store, limits, request);
  std::optional<grpc::Status> ending;
  {
    absl::MutexLock lock(&mu_);
    exports_.insert(reactor);
    if (ending_) ending = ending_status_;
  }
  if (ending.has_value()) {
    reactor->End(*ending);
  } else {
    reactor->Start();
  }
  return reactor;
}

void ExportHub::EndAll(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  ending_ = true;
  ending_status_ = status;
  for (ExportReactor* r : exports_) r->End(status);
}

int ExportHub::exports() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(exports_.size());
}

void ExportHub::Remove(ExportReactor* reactor) {
  absl::MutexLock lock(&mu_);
  exports_.erase(reactor);
}

void ExportHub::Loop() {
  while (true) {
    std::vector<std::string> cut_off;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                           absl::Milliseconds(200));
      if (stopping_) return;
      const absl::Time now = absl::Now();
      for (ExportReactor* r : exports_) {
        if (options_.max_snapshots > 0 && r->ResumeIfWaiting()) continue;
        if (options_.stall_timeout <= absl::ZeroDuration()) continue;
        std::string line = r->CheckStall(now, options_.stall_timeout);
        if (!line.empty()) cut_off.push_back(std::move(line));
      }
    }
    // Outside mu_: a slow stderr does not hold up opening exports.
    for (const std::string& line : cut_off) Log(line);
  }
}

void ExportHub::Log(const std::string& line) {
  LogLine(options_.log != nullptr ? *options_.log : std::cerr, line);
}

}  // namespace content::service
