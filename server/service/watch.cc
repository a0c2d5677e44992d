#include "server/service/watch.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/lang_tag.h"
#include "server/error_details.h"
#include "server/log_line.h"
#include "server/service/reactors.h"
#include "server/service/validation.h"
#include "server/text/nfc.h"

namespace content::service {
namespace {

// Initial metadata: the sequence the stream delivers events after.
constexpr absl::string_view kWatchStartMetadata = "content-watch-after";

// Language tags compare as in queries: ASCII case ignored, '_' as '-'.
bool AnyOf(const google::protobuf::RepeatedPtrField<std::string>& wanted,
           const google::protobuf::RepeatedPtrField<std::string>& have,
           bool ignore_case = false) {
  if (wanted.empty()) return true;
  for (const std::string& w : wanted) {
    for (const std::string& h : have) {
      if (ignore_case ? internal::SameLanguageTag(w, h) : w == h) return true;
    }
  }
  return false;
}

bool Matches(const v1::Query& f, const v1::Article& a) {
  if (f.tag_match() == v1::Query::TAG_MATCH_ALL) {
    for (const std::string& t : f.tags()) {
      bool found = false;
      for (const std::string& h : a.tags()) found = found || h == t;
      if (!found) return false;
    }
  } else if (!AnyOf(f.tags(), a.tags())) {
    return false;
  }
  for (const std::string& t : f.not_tags()) {
    for (const std::string& h : a.tags())
      if (h == t) return false;
  }
  return AnyOf(f.categories(), a.categories()) &&
         AnyOf(f.langs(), a.lang(), /*ignore_case=*/true);
}

// Tags and categories are stored in NFC (text/nfc.h): a filter in either
// spelling matches them.
v1::WatchArticlesRequest WithNfcFilter(v1::WatchArticlesRequest req) {
  text::NormalizeQueryTerms(req.mutable_filter());
  return req;
}

absl::string_view IdOf(const v1::ChangeEvent& e) {
  return absl::string_view(e.name()).substr(sizeof("articles/") - 1);
}

// Adds a violation for each filter field a watch does not apply, in field
// order: ignored in silence, a watch on `text` or `states` streamed every
// event.
void CheckWatchFilter(const v1::Query& f, Violations& v) {
  const std::pair<const char*, bool> fields[] = {
      {"date_from", f.has_date_from()},
      {"date_to", f.has_date_to()},
      {"order", f.order() != v1::Query::ORDER_UNSPECIFIED},
      {"include_deleted", f.include_deleted()},
      {"text", !f.text().empty()},
      {"update_time_from", f.has_update_time_from()},
      {"update_time_to", f.has_update_time_to()},
      {"states", f.states_size() > 0},
      {"publish_time_from", f.has_publish_time_from()},
      {"publish_time_to", f.has_publish_time_to()},
      {"windows", f.windows_size() > 0}};
  for (const auto& [field, set] : fields) {
    if (!set) continue;
    v.Add(absl::StrCat("filter.", field),
          "not applied to a watch, which filters on tags, not_tags, "
          "tag_match, categories, langs and visibility only");
  }
}

bool HasFilter(const v1::Query& f) {
  return f.tags_size() + f.categories_size() + f.langs_size() +
             f.not_tags_size() >
         0;
}

}  // namespace

// One WatchArticles call. All state is guarded by mu_; gRPC callbacks, the
// hub's thread and Start may call in concurrently.
//
// A stream may hold mu_ for long: a filtered watch from an old sequence
// reads every revision its backlog names before it finds one to send. The
// hub's thread never waits for it: Wake and CheckStall only try the lock,
// and a wake that finds it taken is left in wake_pending_ for whoever holds
// it, who pumps again after letting go (StreamLock, DrainWakes).
class WatchStream : public grpc::ServerWriteReactor<v1::WatchArticlesResponse> {
  // mu_, held for a scope; on release, pumps for wakes that came meanwhile.
  class ABSL_SCOPED_LOCKABLE StreamLock {
   public:
    explicit StreamLock(WatchStream* s) ABSL_EXCLUSIVE_LOCK_FUNCTION(s->mu_)
        : s_(s) {
      s_->mu_.Lock();
    }
    ~StreamLock() ABSL_UNLOCK_FUNCTION() {
      s_->mu_.Unlock();
      s_->DrainWakes();
    }

   private:
    WatchStream* const s_;
  };

 public:
  WatchStream(WatchHub* hub, grpc::CallbackServerContext* ctx,
              const v1::WatchArticlesRequest& req)
      : hub_(hub), ctx_(ctx), req_(WithNfcFilter(req)) {}

  // Validates the request and positions the stream; false if it finished.
  bool Start() {
    StreamLock lock(this);
    // Every bad field at once, in field order; a filter field both
    // malformed and not applied is named once, as malformed.
    Violations violations;
    if (req_.after_sequence() < 0)
      violations.Add("after_sequence", "must not be negative");
    CollectQueryViolations(req_.filter(), hub_->limits_, "filter", &violations);
    CheckWatchFilter(req_.filter(), violations);
    if (!v1::WatchArticlesRequest::View_IsValid(req_.view())) {
      violations.Add("view", absl::StrCat("unknown value ",
                                          static_cast<int>(req_.view())));
    }
    if (!violations.empty()) {
      FinishLocked(ToGrpcStatus(violations.Status()));
      return false;
    }
    if (hub_->reads_ != nullptr) {
      OnReadThread([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { Position(); });
      return true;
    }
    return Position();
  }

  // Finds where the stream starts, says so, and pumps; false if it
  // finished.
  bool Position() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    store::Store* store = hub_->store_;
    if (req_.start_now()) {
      next_ = store->last_sequence() + 1;
    } else {
      absl::StatusOr<int64_t> first = store->FirstSequence();
      if (!first.ok()) {
        FinishLocked(
            ToGrpcStatus(absl::UnavailableError(first.status().message())));
        return false;
      }
      // Saturating: INT64_MAX + 1 overflowed (and passed for "older than
      // the log" instead of "beyond the newest event").
      next_ = req_.after_sequence() == INT64_MAX ? INT64_MAX
                                                 : req_.after_sequence() + 1;
      if (req_.after_sequence() == 0) next_ = std::max<int64_t>(next_, *first);
      if (next_ < *first) {
        OutOfRangeLocked(*first);
        return false;
      }
      // A sequence a restored backup's numbering skipped came from the
      // store the backup was taken from, after the backup: this store has
      // other events (or none) after the backup, and the client has seen
      // events it does not have.
      if (std::optional<store::Store::SequenceGap> gap =
              store->GapHolding(req_.after_sequence())) {
        ctx_->AddTrailingMetadata("content-oldest-sequence",
                                  std::to_string(*first));
        FinishLocked(ToGrpcStatus(absl::OutOfRangeError(absl::StrCat(
            "after_sequence ", req_.after_sequence(),
            " is past the backup this store was restored from, which ends at "
            "sequence ",
            gap->after,
            ": it came from the store the backup was taken from, "
            "and the events after the backup are not here (this store's own "
            "go on after sequence ",
            gap->through, "); resync, then watch from there"))));
        return false;
      }
      // A sequence this store never reached comes from another store (a
      // backup restored, a store rebuilt, async writes a crash lost): its
      // next events would be skipped without a word until the numbers
      // caught up.
      absl::StatusOr<int64_t> last =
          req_.after_sequence() > store->last_sequence()
              ? store->CurrentLastSequence()
              : absl::StatusOr<int64_t>(req_.after_sequence());
      if (!last.ok()) {
        FinishLocked(
            ToGrpcStatus(absl::UnavailableError(last.status().message())));
        return false;
      }
      if (req_.after_sequence() > *last) {
        ctx_->AddTrailingMetadata("content-oldest-sequence",
                                  std::to_string(*first));
        FinishLocked(ToGrpcStatus(absl::OutOfRangeError(
            absl::StrCat("after_sequence ", req_.after_sequence(),
                         " is beyond the newest event, sequence ", *last,
                         ": it did not come from this store's change log "
                         "(restored from a backup?); resync, then watch "
                         "from there"))));
        return false;
      }
    }
    if (!req_.start_now() && req_.after_sequence() == 0) {
      // From the oldest kept event: retention may have trimmed since
      // FirstSequence, and the oldest is then the first event the log
      // holds now, which the client asked for as much as the one before
      // (nothing it asked for is lost). Read once before saying where the
      // stream starts, and start there: the first read found a hole and
      // refused the watch naming an after_sequence the client never sent.
      // A log trimmed empty (every event up to `last` gone) starts after
      // `last`, taken before the read. From the store, not the hub's tail,
      // which learns of a commit after last_sequence() does: an empty tail
      // then would skip the events up to `last`.
      const int64_t last = store->last_sequence();
      absl::StatusOr<std::vector<v1::ChangeEvent>> events =
          store->ReadChanges(next_ - 1, hub_->options_.batch);
      if (!events.ok()) {
        FinishLocked(
            ToGrpcStatus(absl::UnavailableError(events.status().message())));
        return false;
      }
      next_ = std::max(next_,
                       events->empty() ? last + 1 : events->front().sequence());
      first_batch_ = *std::move(events);
    }
    last_sent_ = next_ - 1;
    // Where the stream starts, before any event: a client that asked for
    // start_now and loses the stream before its first event resumes from
    // here instead of from "now" again, which would skip what came between.
    ctx_->AddInitialMetadata(std::string(kWatchStartMetadata),
                             std::to_string(last_sent_));
    StartSendInitialMetadata();
    started_ = true;
    PumpLocked();
    return true;
  }

  // New events may be in the log: pump, unless the stream is busy, whose
  // holder then pumps when it lets go.
  void Wake() ABSL_LOCKS_EXCLUDED(mu_) {
    wake_pending_.store(true);
    DrainWakes();
  }

  // The log line if this cut the stream off, else empty: the hub logs it
  // after letting go of its lock.
  std::string CheckStall(absl::Time now, absl::Duration timeout) {
    // A stream busy reading its backlog is not stalled on its client.
    if (!mu_.TryLock()) return "";
    std::string line = CheckStallLocked(now, timeout);
    mu_.Unlock();
    DrainWakes();
    return line;
  }

  std::string CheckStallLocked(absl::Time now, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || !writing_ || now - write_started_ < timeout) return "";
    // The pending message still reaches a client that reads again (the
    // status follows it), so it counts as delivered.
    const int64_t resume = buffer_.front().event().sequence();
    ctx_->AddTrailingMetadata("content-resume-after", std::to_string(resume));
    FinishLocked(ToGrpcStatus(
        WithReason(absl::ResourceExhaustedError(
                       absl::StrCat("watcher stopped reading for more than ",
                                    absl::FormatDuration(timeout),
                                    "; resume with after_sequence=", resume)),
                   reason::kWatchTooSlow,
                   {{"resume_after_sequence", std::to_string(resume)}})));
    // Only the message in flight is needed until the client goes.
    buffer_.resize(1);
    hub_->stalled_.fetch_add(1);
    return CutOffLine(
        reason::kWatchTooSlow,
        absl::StrCat("stopped reading for more than ",
                     absl::FormatDuration(timeout),
                     "; it may resume with after_sequence=", resume));
  }

  void Shutdown() {
    StreamLock lock(this);
    ctx_->AddTrailingMetadata("content-resume-after",
                              std::to_string(last_sent_));
    FinishLocked(ToGrpcStatus(
        WithReason(absl::UnavailableError(absl::StrCat(
                       "server is shutting down; resume with after_sequence=",
                       last_sent_)),
                   reason::kShuttingDown,
                   {{"resume_after_sequence", std::to_string(last_sent_)}})));
  }

  void OnWriteDone(bool ok) override {
    StreamLock lock(this);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    last_sent_ = buffer_.front().event().sequence();
    buffered_bytes_ -=
        std::min(buffered_bytes_, buffer_.front().ByteSizeLong());
    buffer_.pop_front();
    if (buffer_.empty()) buffered_bytes_ = 0;
    PumpLocked();
  }

  void OnCancel() override {
    StreamLock lock(this);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    hub_->Remove(this);
    bool gone;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      gone = read_tasks_ == 0;  // else the last read task deletes this
    }
    if (gone) delete this;
  }

 private:
  // Runs `work` under mu_ on a read thread (a shared store's reads wait on
  // the database: a table lock, a slow network; streams waiting on gRPC's
  // callback threads left the server answering nothing, health checks
  // included). The task keeps this alive: OnDone leaves the delete to it.
  void OnReadThread(std::function<void()> work)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++read_tasks_;
    const bool queued = hub_->reads_->Submit([this, work = std::move(work)] {
      mu_.Lock();
      on_read_thread_ = true;
      if (!finished_) work();
      on_read_thread_ = false;
      mu_.Unlock();
      DrainWakes();
      mu_.Lock();
      const bool gone = --read_tasks_ == 0 && done_;
      mu_.Unlock();
      if (gone) delete this;
    });
    if (!queued) {
      --read_tasks_;
      FinishLocked(StoppingStatus());
    }
  }

  // Pumps for each pending wake while mu_ is free; leaves a wake pending for
  // the holder when it is not (the holder drains after it lets go). The
  // fences order each side's flag access after its lock access, so one of
  // the two always sees the other's.
  void DrainWakes() ABSL_LOCKS_EXCLUDED(mu_) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    while (wake_pending_.load()) {
      if (!mu_.TryLock()) return;
      wake_pending_.store(false);
      if (started_) PumpLocked();
      mu_.Unlock();
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }

  // The line logged for a stream contentd cut off, in the style of its
  // other lines: one per stream, whatever the number of events it missed.
  std::string CutOffLine(absl::string_view reason,
                         absl::string_view why) const {
    return absl::StrCat("contentd: watch from ", ctx_->peer(), " cut off (",
                        reason, "): ", why);
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  void OutOfRangeLocked(int64_t first) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ctx_->AddTrailingMetadata("content-oldest-sequence", std::to_string(first));
    FinishLocked(ToGrpcStatus(WithReason(
        absl::OutOfRangeError(absl::StrCat(
            "after_sequence ", next_ - 1,
            " is older than the retained change log, which starts at "
            "sequence ",
            first, "; resync, then watch from there")),
        reason::kEventsTrimmed, {{"oldest_sequence", std::to_string(first)}})));
  }

  // Sends the next buffered event, refilling from the change log.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_) return;
    if (buffer_.empty() && hub_->reads_ != nullptr && !on_read_thread_ &&
        (first_batch_.has_value() ||
         !hub_->tail_.After(next_ - 1, 1).has_value())) {
      // A backlog the hub's tail does not hold: read from the store on a
      // read thread. Events from the tail stay on this thread.
      if (!refill_queued_) {
        refill_queued_ = true;
        OnReadThread([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          refill_queued_ = false;
          PumpLocked();
        });
      }
      return;
    }
    if (buffer_.empty()) Refill();
    if (finished_ || buffer_.empty()) return;
    writing_ = true;
    write_started_ = absl::Now();
    StartWrite(&buffer_.front());
  }

  // The next batch of events after next_ - 1: from the hub's tail of the
  // log where it holds them, else from the store.
  absl::StatusOr<std::vector<v1::ChangeEvent>> ReadLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::optional<std::vector<v1::ChangeEvent>> tail =
        hub_->tail_.After(next_ - 1, hub_->options_.batch);
    if (tail.has_value()) return *std::move(tail);
    return hub_->store_->ReadChanges(next_ - 1, hub_->options_.batch);
  }

  void Refill() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    store::Store* store = hub_->store_;
    const bool full = req_.view() != v1::WatchArticlesRequest::VIEW_NAME_ONLY;
    const bool filter = HasFilter(req_.filter());
    const bool live_only = req_.filter().visibility() != v1::VISIBILITY_ALL;
    while (buffer_.empty()) {
      if (ctx_->IsCancelled()) return;  // a long backlog read stops early
      absl::StatusOr<std::vector<v1::ChangeEvent>> events;
      if (first_batch_.has_value()) {  // Start's read
        events = *std::move(first_batch_);
        first_batch_.reset();
      } else {
        events = ReadLocked();
      }
      if (!events.ok()) {
        FinishLocked(
            ToGrpcStatus(absl::UnavailableError(events.status().message())));
        return;
      }
      const bool first_read = !read_;
      read_ = true;
      if (events->empty()) return;
      // (A restored backup's log jumps over the sequences its source may
      // have given out after it: nothing is missing there.)
      if (events->front().sequence() != next_ &&
          events->front().sequence() != store->SkipSequenceGaps(next_)) {
        // Retention trimmed the log under a slow watcher; or, at the
        // stream's first read, in the instant since Start checked the
        // log's start (an after_sequence the client gave: a watch from the
        // oldest kept event starts where Start's read found it): then the
        // watch is refused at its start, at once, as that check refuses
        // it, which is no cut-off (neither counted nor logged).
        OutOfRangeLocked(events->front().sequence());
        if (first_read) return;
        hub_->trimmed_.fetch_add(1);
        hub_->Log(CutOffLine(
            reason::kEventsTrimmed,
            absl::StrCat("retention trimmed the change log past sequence ",
                         next_,
                         ", which it had yet to send; the log starts "
                         "at sequence ",
                         events->front().sequence(), " (it must resync)")));
        return;
      }
      for (v1::ChangeEvent& e : *events) {
        next_ = e.sequence() + 1;
        bool send_article = full;
        // The revision the filter matches: the one written, except where a
        // reader is told an article went (below).
        int64_t match_revision = e.revision();
        if (live_only) {
          // Readers see what readers can see: a change to an article hidden
          // before and after is no event, one that shows it is a publish,
          // one that hides it an unpublish (without the hidden content).
          if (!e.live_before() && !e.live_after()) continue;
          if (!e.live_after() && e.type() != v1::ChangeEvent::TYPE_DELETED) {
            // Match what the reader last saw, not the hidden revision: a
            // filter on the draft's tags would tell readers what they are.
            // A write's live revision is the one before it; a scheduled
            // expiry's is the head it hides.
            if (e.type() != v1::ChangeEvent::TYPE_UNPUBLISHED)
              match_revision = e.revision() - 1;
            e.set_type(v1::ChangeEvent::TYPE_UNPUBLISHED);
            send_article = false;  // a draft's content is not for readers
          } else if (!e.live_before() &&
                     e.type() != v1::ChangeEvent::TYPE_CREATED &&
                     e.type() != v1::ChangeEvent::TYPE_UNDELETED) {
            e.set_type(v1::ChangeEvent::TYPE_PUBLISHED);
          }
        }
        v1::WatchArticlesResponse response;
        const absl::string_view id = IdOf(e);
        if (live_only && send_article) {
          // A revision that was live when written, of an article readers
          // may no longer see (archived, back to draft, expired since): its
          // content is not for readers now, as GetArticle of an old revision
          // is not; the same test, on the head's content (a deleted
          // article's tombstone shows what readers saw last). The event
          // still says what happened.
          absl::StatusOr<std::shared_ptr<const v1::Article>> head =
              hub_->ReadHead(e.sequence(), id);
          if (!head.ok() || !store::IsLiveContent(**head, store->Now()))
            send_article = false;
        }
        if (send_article || filter) {
          absl::StatusOr<std::shared_ptr<const v1::Article>> a =
              hub_->ReadArticle(e.sequence(), id, match_revision, e.time());
          if (a.ok()) {
            if (filter && !Matches(req_.filter(), **a)) continue;
            if (send_article) *response.mutable_article() = **a;
          } else if (filter && e.type() != v1::ChangeEvent::TYPE_DELETED &&
                     e.type() != v1::ChangeEvent::TYPE_UNPUBLISHED) {
            // Revision removed by retention: nothing to match against. An
            // article going away is sent anyway: a watcher resuming after a
            // purge must still drop what it holds, and one that never had
            // the article ignores it.
            continue;
          }
        }
        *response.mutable_event() = std::move(e);
        buffered_bytes_ += response.ByteSizeLong();
        buffer_.push_back(std::move(response));
        // A batch of 128 full 1 MiB articles held 128 MiB per stream; the
        // rest of the batch is read again when these are sent.
        if (buffered_bytes_ >= kMaxBufferedBytes) break;
      }
      if (buffer_.empty()) last_sent_ = next_ - 1;  // all filtered out
    }
  }

  WatchHub* const hub_;
  grpc::CallbackServerContext* const ctx_;
  const v1::WatchArticlesRequest req_;
  absl::Mutex mu_;
  int64_t next_ ABSL_GUARDED_BY(mu_) = 1;       // next sequence to read
  int64_t last_sent_ ABSL_GUARDED_BY(mu_) = 0;  // resume point
  std::deque<v1::WatchArticlesResponse> buffer_ ABSL_GUARDED_BY(mu_);
  // Bytes of the events read ahead into buffer_, bounded at about
  // kMaxBufferedBytes (plus one event).
  static constexpr size_t kMaxBufferedBytes = size_t{2} << 20;
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> wake_pending_{false};  // see Wake
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  // Refill has read the change log (or the hub's tail of it) once. The
  // first read is Start's: a trim it finds refuses the watch at its start.
  bool read_ ABSL_GUARDED_BY(mu_) = false;
  // The events Start read for a watch from the oldest kept event, for
  // Refill to take first.
  std::optional<std::vector<v1::ChangeEvent>> first_batch_ ABSL_GUARDED_BY(mu_);
  absl::Time write_started_ ABSL_GUARDED_BY(mu_);
  // Read tasks queued or running (OnReadThread); OnDone came (done_).
  int read_tasks_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool on_read_thread_ ABSL_GUARDED_BY(mu_) = false;
  bool refill_queued_ ABSL_GUARDED_BY(mu_) = false;
};

std::optional<std::vector<v1::ChangeEvent>> WatchTail::After(int64_t after,
                                                             int limit) const {
  absl::MutexLock lock(&mu_);
  if (!valid_ || after < from_ || after > through_) return std::nullopt;
  std::vector<v1::ChangeEvent> out;
  auto it = std::upper_bound(
      events_.begin(), events_.end(), after,
      [](int64_t a, const v1::ChangeEvent& e) { return a < e.sequence(); });
  for (; it != events_.end() && static_cast<int>(out.size()) < limit; ++it)
    out.push_back(*it);
  return out;
}

void WatchTail::Append(std::vector<v1::ChangeEvent> events) {
  absl::MutexLock lock(&mu_);
  valid_ = true;
  for (v1::ChangeEvent& e : events) {
    if (e.sequence() <= through_) continue;
    if (e.sequence() != through_ + 1) {
      // Sequences have no gaps: the log was trimmed past what the tail had.
      // Watchers before the hole read the log and are told (OUT_OF_RANGE).
      ClearLocked();
      from_ = e.sequence() - 1;
    }
    through_ = e.sequence();
    newest_[IdOf(e)] = e.sequence();
    events_.push_back(std::move(e));
  }
  while (static_cast<int>(events_.size()) > std::max(max_events_, 0)) {
    const v1::ChangeEvent& front = events_.front();
    from_ = front.sequence();
    auto it = newest_.find(IdOf(front));
    if (it != newest_.end() && it->second == from_) newest_.erase(it);
    events_.pop_front();
  }
}

void WatchTail::Restart(int64_t through) {
  absl::MutexLock lock(&mu_);
  ClearLocked();
  valid_ = true;
  from_ = through_ = through;
}

void WatchTail::ClearLocked() {
  events_.clear();
  newest_.clear();
  articles_.clear();
  added_.clear();
  bytes_ = 0;
}

void WatchTail::Invalidate() {
  absl::MutexLock lock(&mu_);
  valid_ = false;
}

bool WatchTail::valid() const {
  absl::MutexLock lock(&mu_);
  return valid_;
}

int64_t WatchTail::NewestOf(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  if (!valid_) return 0;
  auto it = newest_.find(id);
  return it == newest_.end() ? 0 : it->second;
}

absl::StatusOr<std::shared_ptr<const v1::Article>> WatchTail::Head(
    int64_t sequence, absl::string_view id, absl::Time now,
    absl::FunctionRef<absl::StatusOr<v1::Article>()> read) {
  // A stream ahead of the tail (newest < sequence) needs a head at least as
  // new as its event.
  const int64_t newest = NewestOf(id);
  const bool keep = newest != 0 && newest >= sequence;
  if (keep) {
    std::shared_ptr<const v1::Article> kept = FindArticle(newest, 0, now);
    if (kept != nullptr) return kept;
  }
  absl::StatusOr<v1::Article> a = read();
  if (!a.ok()) return a.status();
  auto article = std::make_shared<const v1::Article>(*std::move(a));
  // Under the `newest` seen before the read: a head written after it is
  // newer still, as if the watcher had come a moment later; an event of
  // the article appended meanwhile has a key of its own.
  if (keep) AddArticle(newest, 0, article, now);
  return article;
}

int64_t WatchTail::through() const {
  absl::MutexLock lock(&mu_);
  return through_;
}

std::shared_ptr<const v1::Article> WatchTail::FindArticle(
    int64_t sequence, int64_t revision, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  if (sequence <= from_) return nullptr;
  auto it = articles_.find(Key{sequence, revision});
  if (it == articles_.end() || now - it->second.added >= ttl_) return nullptr;
  return it->second.article;
}

void WatchTail::AddArticle(int64_t sequence, int64_t revision,
                           std::shared_ptr<const v1::Article> article,
                           absl::Time now) {
  const size_t bytes = article->ByteSizeLong();
  absl::MutexLock lock(&mu_);
  if (sequence <= from_ || sequence > through_ || bytes > max_article_bytes_)
    return;
  const Key key{sequence, revision};
  auto [it, added] = articles_.try_emplace(key);
  if (!added) return;
  it->second = Kept{std::move(article), bytes, now};
  added_.push_back(key);
  bytes_ += bytes;
  TrimArticles(now);
}

void WatchTail::TrimArticles(absl::Time now) {
  while (!added_.empty()) {
    auto it = articles_.find(added_.front());
    if (it != articles_.end()) {
      if (bytes_ <= max_article_bytes_ && now - it->second.added < ttl_ &&
          it->first.first > from_)
        break;
      bytes_ -= it->second.bytes;
      articles_.erase(it);
    }
    added_.pop_front();
  }
}

int WatchTail::events() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(events_.size());
}

size_t WatchTail::article_bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

WatchHub::WatchHub(store::Store* store, const WatchOptions& options,
                   const Limits& limits, WorkQueue* reads)
    : store_(store),
      options_(options),
      limits_(limits),
      reads_(reads),
      tail_(options.tail_events, options.tail_article_bytes,
            options.tail_article_ttl, store->last_sequence()) {
  committed_ = store_->last_sequence();
  // First, so that a thread the system refuses (std::system_error) leaves
  // no listener behind on the store, and those started are joined.
  try {
    for (int i = 1; i < options_.wake_threads; ++i)
      wakers_.emplace_back([this, i] { WakeLoop(i); });
    thread_ = std::thread([this] { Loop(); });
  } catch (...) {
    StopWakers();
    throw;
  }
  // Runs under the store's commit lock: touch only the leaf wake_mu_.
  store_->SetCommitListener([this](int64_t sequence) {
    absl::MutexLock lock(&wake_mu_);
    committed_ = sequence;
  });
}

WatchHub::~WatchHub() {
  Shutdown();
  store_->SetCommitListener(nullptr);
  thread_.join();
  StopWakers();
}

void WatchHub::StopWakers() {
  {
    absl::MutexLock lock(&round_mu_);
    round_stop_ = true;
  }
  for (std::thread& t : wakers_) t.join();
  wakers_.clear();
}

void WatchHub::WakeAll() {
  constexpr size_t kMinShare = 32;  // below it a handoff costs more
  const int shares = static_cast<int>(std::min<size_t>(
      wakers_.size() + 1, std::max<size_t>(streams_.size() / kMinShare, 1)));
  if (shares == 1) {
    for (WatchStream* s : streams_) s->Wake();
    return;
  }
  std::vector<WatchStream*> mine;
  {
    absl::MutexLock lock(&round_mu_);
    round_.assign(streams_.begin(), streams_.end());
    round_shares_ = shares;
    round_pending_ = shares - 1;
    ++round_number_;
    mine.assign(round_.begin(), round_.begin() + round_.size() / shares);
  }
  for (WatchStream* s : mine) s->Wake();
  absl::MutexLock lock(&round_mu_);
  round_mu_.Await(absl::Condition(
      +[](int* pending) { return *pending == 0; }, &round_pending_));
}

void WatchHub::WakeLoop(int share) {
  int64_t seen = 0;
  std::vector<WatchStream*> mine;
  while (true) {
    {
      absl::MutexLock lock(&round_mu_);
      const auto news = [this, &seen]()
                            ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_) {
                              return round_stop_ || round_number_ != seen;
                            };
      round_mu_.Await(absl::Condition(&news));
      if (round_stop_) return;
      seen = round_number_;
      if (share >= round_shares_) continue;  // not needed this round
      const size_t n = round_.size();
      mine.assign(round_.begin() + n * share / round_shares_,
                  round_.begin() + n * (share + 1) / round_shares_);
    }
    for (WatchStream* s : mine) s->Wake();
    absl::MutexLock lock(&round_mu_);
    --round_pending_;
  }
}

void WatchHub::Shutdown() {
  {
    absl::MutexLock lock(&wake_mu_);
    stopping_ = true;
  }
  absl::MutexLock lock(&mu_);
  for (WatchStream* s : streams_) s->Shutdown();
}

grpc::ServerWriteReactor<v1::WatchArticlesResponse>* WatchHub::Open(
    grpc::CallbackServerContext* ctx, const v1::WatchArticlesRequest* req) {
  auto* stream = new WatchStream(this, ctx, *req);
  {
    absl::MutexLock lock(&mu_);
    if (stopping()) {
      stream->Shutdown();
      return stream;
    }
    streams_.insert(stream);
  }
  stream->Start();
  return stream;
}

int WatchHub::watchers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(streams_.size());
}

void WatchHub::Remove(WatchStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

bool WatchHub::RefreshTail() {
  // What the tail could not keep is not worth reading: watchers that far
  // behind read the log themselves.
  const int64_t last = store_->last_sequence();
  if (last - tail_.through() > options_.tail_events)
    tail_.Restart(last - options_.tail_events);
  // Bounded per wake, so stall checks and wakes keep coming under a flood.
  for (int round = 0; round < 8; ++round) {
    absl::StatusOr<std::vector<v1::ChangeEvent>> events =
        store_->ReadChanges(tail_.through(), options_.batch);
    if (!events.ok()) {
      tail_.Invalidate();
      return false;
    }
    const bool full = static_cast<int>(events->size()) >= options_.batch;
    tail_.Append(*std::move(events));
    if (!full) return false;
  }
  return true;
}

absl::StatusOr<std::shared_ptr<const v1::Article>> WatchHub::ReadArticle(
    int64_t sequence, absl::string_view id, int64_t revision,
    const google::protobuf::Timestamp& event_time) {
  std::shared_ptr<const v1::Article> kept =
      tail_.FindArticle(sequence, revision, absl::Now());
  if (kept != nullptr) return kept;
  absl::StatusOr<v1::Article> a = store_->Get(id, revision, true);
  if (!a.ok()) return a.status();
  // Purging an article leaves its events in the log; an id created again
  // numbers its revisions from 1, so the event's revision may now name the
  // new article's, created after the event.
  const google::protobuf::Timestamp& created = a->create_time();
  if (created.seconds() > event_time.seconds() ||
      (created.seconds() == event_time.seconds() &&
       created.nanos() > event_time.nanos())) {
    return absl::NotFoundError(
        absl::StrCat("revision ", revision, " of ", id, " was purged"));
  }
  auto article = std::make_shared<const v1::Article>(*std::move(a));
  tail_.AddArticle(sequence, revision, article, absl::Now());
  return article;
}

absl::StatusOr<std::shared_ptr<const v1::Article>> WatchHub::ReadHead(
    int64_t sequence, absl::string_view id) {
  return tail_.Head(sequence, id, absl::Now(),
                    [&] { return store_->Get(id, 0, true); });
}

bool WatchHub::stopping() const {
  absl::MutexLock lock(&wake_mu_);
  return stopping_;
}

void WatchHub::Loop() {
  int64_t seen = 0;
  {
    absl::MutexLock lock(&wake_mu_);
    seen = committed_;
  }
  bool more = false;  // the tail's last refresh stopped short
  while (true) {
    bool wake;
    {
      absl::MutexLock lock(&wake_mu_);
      // Wake on a commit, or every 200 ms to look for stalled watchers.
      const auto news = [this, &seen]()
                            ABSL_EXCLUSIVE_LOCKS_REQUIRED(wake_mu_) {
                              return stopping_ || committed_ != seen;
                            };
      if (!more) {
        wake_mu_.AwaitWithTimeout(absl::Condition(&news),
                                  absl::Milliseconds(200));
      }
      if (stopping_) return;
      wake = more || committed_ != seen;
      seen = committed_;
    }
    // Before any watcher looks: one that finds the tail behind the commit
    // waits for this wake, which comes after the refresh. The tick also
    // retries a failed read and catches commits announced before the
    // listener was set. With no watchers nothing is read. Outside mu_, so
    // opening and closing streams does not wait for the store.
    if (watchers() == 0) {
      tail_.Restart(store_->last_sequence());
      more = false;
    } else if (wake || !tail_.valid() ||
               tail_.through() < store_->last_sequence()) {
      const int64_t through = tail_.through();
      more = RefreshTail();
      // Events no commit announced (or whose read failed at their commit)
      // wake the watchers too: caught up with the tail, they wait for a
      // wake.
      wake = wake || tail_.through() != through;
    }
    const absl::Time now = absl::Now();
    std::vector<std::string> cut_off;
    {
      absl::MutexLock lock(&mu_);
      if (wake) WakeAll();
      for (WatchStream* s : streams_) {
        std::string line = s->CheckStall(now, options_.stall_timeout);
        if (!line.empty()) cut_off.push_back(std::move(line));
      }
    }
    // Outside mu_: a slow stderr does not hold up opening watches.
    for (const std::string& line : cut_off) Log(line);
  }
}

void WatchHub::Log(const std::string& line) {
  LogLine(options_.log != nullptr ? *options_.log : std::cerr, line);
}

}  // namespace content::service
