// WatchArticles: change-log streaming with live wake-ups.
#ifndef CONTENT_SERVER_SERVICE_WATCH_H_
#define CONTENT_SERVER_SERVICE_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content/v1/content_service.pb.h"
#include "server/service/validation.h"
#include "server/service/work_queue.h"
#include "server/store/store.h"

namespace content::service {

class WatchStream;

// Options for watchers.
struct WatchOptions {
  // A watcher whose pending message has not been taken by the client for
  // this long is cut off with RESOURCE_EXHAUSTED. Default: 30 s.
  absl::Duration stall_timeout = absl::Seconds(30);
  // Events read from the change log per step. Default: 128.
  int batch = 128;
  // Newest change-log events kept for every watcher (WatchTail). Default:
  // 4096.
  int tail_events = 4096;
  // Bytes of articles those events name kept for every watcher. Default:
  // 16 MiB.
  size_t tail_article_bytes = size_t{16} << 20;
  // How long such an article is kept: retention removes revisions and
  // purges articles without an event, so a kept one may be gone from the
  // store for up to this long. Default: 5 s.
  absl::Duration tail_article_ttl = absl::Seconds(5);
  // Threads that wake watchers after a commit, the hub's own included, each
  // a share of at least 32: a wake fills the watcher's next message (a
  // copy of the article; gRPC serializes it), about 15 us each, so 200
  // watchers took the one thread 3-8 ms per commit. Default: 2.
  int wake_threads = 2;
  // Where a cut-off watcher is logged (one line per stream cut off); must
  // outlive the hub. Default: null, standard error.
  std::ostream* log = nullptr;
};

// The change log's newest events, read once per commit by the hub, and
// the articles watchers read for them. Watchers that have caught up take
// both from here: on PostgreSQL every read is a round trip, and a few
// hundred watchers each reading every commit's events and articles fell
// behind the writers. A watcher further behind reads the log itself.
// Thread-safe.
class WatchTail {
 public:
  WatchTail(int max_events, size_t max_article_bytes, absl::Duration ttl,
            int64_t through)
      : max_events_(max_events),
        max_article_bytes_(max_article_bytes),
        ttl_(ttl),
        from_(through),
        through_(through) {}

  // The events after `after`, at most `limit`, when the tail holds every
  // event after it (none if `after` is the newest it knows); nullopt when
  // it does not.
  std::optional<std::vector<v1::ChangeEvent>> After(int64_t after,
                                                    int limit) const;
  // Appends the events read after through(), in order. Events missing
  // before them (the log was trimmed past through()) empty the tail first,
  // so no watcher is handed events across the hole.
  void Append(std::vector<v1::ChangeEvent> events);
  // Empties the tail and starts it after `through`, without reading what
  // came before (no watchers, or too far behind to be worth reading).
  void Restart(int64_t through);
  // A read of the log failed: until the next Append the tail answers no one,
  // so watchers read the log themselves and see the error.
  void Invalidate();
  bool valid() const;
  // Newest sequence the tail has read up to.
  int64_t through() const;

  // Revision `revision` of `id` as read for event `sequence` within the
  // TTL: events are keys, not revisions, since a purged article's id can
  // come back with its revision numbers anew. nullptr if not kept.
  std::shared_ptr<const v1::Article> FindArticle(int64_t sequence,
                                                 int64_t revision,
                                                 absl::Time now) const;
  // Sequence of the newest event of article `id` in the tail; 0 if none.
  // A head read after that event stays good until another event of it
  // (or the TTL): Head keeps heads under it.
  int64_t NewestOf(absl::string_view id) const;
  // The head of `id` for a watcher at event `sequence`: kept under the
  // article's newest event in the tail (NewestOf) if that is `sequence` or
  // later, else what `read` returns (called without the tail's lock), kept
  // so when it can be. Never older than the event: a watcher ahead of the
  // tail (reading the log itself) always reads, since a head kept for an
  // earlier event may predate its own.
  absl::StatusOr<std::shared_ptr<const v1::Article>> Head(
      int64_t sequence, absl::string_view id, absl::Time now,
      absl::FunctionRef<absl::StatusOr<v1::Article>()> read);
  // Keeps what a watcher read at `now` for an event still in the tail
  // (revision 0: the head).
  void AddArticle(int64_t sequence, int64_t revision,
                  std::shared_ptr<const v1::Article> article, absl::Time now);
  // Sizes, for tests.
  int events() const;
  size_t article_bytes() const;

 private:
  struct Kept {
    std::shared_ptr<const v1::Article> article;
    size_t bytes;
    absl::Time added;
  };
  using Key = std::pair<int64_t, int64_t>;  // sequence, revision
  void ClearLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TrimArticles(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_events_;
  const size_t max_article_bytes_;
  const absl::Duration ttl_;
  mutable absl::Mutex mu_;  // a leaf: no other lock or store call under it
  bool valid_ ABSL_GUARDED_BY(mu_) = true;
  // events_ holds every event in (from_, through_].
  int64_t from_ ABSL_GUARDED_BY(mu_);
  int64_t through_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::ChangeEvent> events_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> newest_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Key, Kept> articles_ ABSL_GUARDED_BY(mu_);
  std::deque<Key> added_ ABSL_GUARDED_BY(mu_);  // articles_, oldest first
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

// Wakes watchers after commits and cuts off stalled ones. After a commit the
// hub's thread reads the new events into the tail once; watchers take them
// from there, or read the log themselves when they are further behind. A
// slow watcher costs the events it read ahead (about 2 MiB at most; one
// message once cut off) and never slows writers: a commit only bumps a
// counter here.
// Thread-safe.
class WatchHub {
 public:
  // `limits` bound the filters watchers may send.
  // `reads` (may be null: the store is read on the thread that asks) runs
  // a shared store's reads of a watch's start and backlog, off gRPC's
  // callback threads and the hub's; it must outlive the streams.
  WatchHub(store::Store* store, const WatchOptions& options,
           const Limits& limits, WorkQueue* reads = nullptr);
  // Finishes every open watcher (UNAVAILABLE) and stops the thread.
  ~WatchHub();

  // A new stream for one WatchArticles call.
  grpc::ServerWriteReactor<v1::WatchArticlesResponse>* Open(
      grpc::CallbackServerContext* ctx, const v1::WatchArticlesRequest* req);
  // Finishes every open watcher with UNAVAILABLE (and the sequence to resume
  // from) and refuses new ones. Call before shutting the gRPC server down so
  // it need not wait out the grace period for streams that never end.
  void Shutdown();
  // Watchers currently connected.
  int watchers() const;
  // Watch streams ended since the hub started because their client fell
  // behind: it left a message untaken for stall_timeout (WATCH_TOO_SLOW),
  // or retention trimmed the change log past the events the stream had yet
  // to read (EVENTS_TRIMMED; a watch that asks for trimmed events at its
  // start is refused, not counted).
  int64_t stalled() const { return stalled_.load(); }
  int64_t trimmed() const { return trimmed_.load(); }
  const WatchTail& tail() const { return tail_; }

 private:
  friend class WatchStream;
  void Loop();
  // Reads the log's new events into the tail; true if more are left.
  bool RefreshTail();
  // The head of `id` for event `sequence`, through the tail.
  absl::StatusOr<std::shared_ptr<const v1::Article>> ReadHead(
      int64_t sequence, absl::string_view id);
  // Revision `revision` of `id` for event `sequence`, committed at
  // `event_time`, through the tail. NOT_FOUND if the article was purged
  // and its id created again since.
  absl::StatusOr<std::shared_ptr<const v1::Article>> ReadArticle(
      int64_t sequence, absl::string_view id, int64_t revision,
      const google::protobuf::Timestamp& event_time);
  void Remove(WatchStream* stream);
  bool stopping() const;
  // Wakes every stream, in shares across the wake threads. REQUIRES: mu_.
  void WakeAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A wake thread: wakes share `share` of each round.
  void WakeLoop(int share);
  void StopWakers();
  // Writes `line` and a newline to options_.log, or standard error.
  void Log(const std::string& line);

  store::Store* const store_;
  const WatchOptions options_;
  const Limits limits_;
  WorkQueue* const reads_;
  // Lock order: mu_, then a stream's lock, then the store's; wake_mu_ is a
  // leaf taken by the store's commit listener.
  mutable absl::Mutex mu_;
  std::set<WatchStream*> streams_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex wake_mu_;
  int64_t committed_ ABSL_GUARDED_BY(wake_mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(wake_mu_) = false;
  WatchTail tail_;
  std::thread thread_;
  // One round of WakeAll: the streams (valid while WakeAll holds mu_), the
  // shares each thread takes, and the wake threads still at it.
  absl::Mutex round_mu_;
  std::vector<WatchStream*> round_ ABSL_GUARDED_BY(round_mu_);
  int round_shares_ ABSL_GUARDED_BY(round_mu_) = 0;
  int64_t round_number_ ABSL_GUARDED_BY(round_mu_) = 0;
  int round_pending_ ABSL_GUARDED_BY(round_mu_) = 0;
  bool round_stop_ ABSL_GUARDED_BY(round_mu_) = false;
  std::vector<std::thread> wakers_;  // wake_threads - 1
  std::atomic<int64_t> stalled_{0};
  std::atomic<int64_t> trimmed_{0};
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_WATCH_H_
