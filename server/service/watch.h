// WatchArticles: change-log streaming with live wake-ups.
#ifndef CONTENT_SERVER_SERVICE_WATCH_H_
#define CONTENT_SERVER_SERVICE_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content/v1/content_service.pb.h"
#include "server/service/validation.h"
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
};

// Wakes watchers after commits and cuts off stalled ones. Watchers read the
// change log themselves, so a slow watcher costs the events it read ahead
// (about 2 MiB at most; one message once cut off) and never slows writers:
// a commit only bumps a counter here.
// Thread-safe.
class WatchHub {
 public:
  // `limits` bound the filters watchers may send.
  WatchHub(store::Store* store, const WatchOptions& options,
           const Limits& limits);
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

 private:
  friend class WatchStream;
  void Loop();
  void Remove(WatchStream* stream);
  bool stopping() const;

  store::Store* const store_;
  const WatchOptions options_;
  const Limits limits_;
  // Lock order: mu_, then a stream's lock, then the store's; wake_mu_ is a
  // leaf taken by the store's commit listener.
  mutable absl::Mutex mu_;
  std::set<WatchStream*> streams_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex wake_mu_;
  int64_t committed_ ABSL_GUARDED_BY(wake_mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(wake_mu_) = false;
  std::thread thread_;
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_WATCH_H_
