// A fixed pool of threads running queued closures, for work that may block
// (WAL syncs) and so must stay off gRPC's callback threads.
#ifndef CONTENT_SERVER_SERVICE_WORK_QUEUE_H_
#define CONTENT_SERVER_SERVICE_WORK_QUEUE_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace content::service {

// Thread-safe.
class WorkQueue {
 public:
  // Creates one thread (std::thread's constructor, or a test's fake that
  // throws as it does).
  using Spawn = std::function<std::thread(std::function<void()>)>;

  // A queue run by `threads` threads (at least 1). RESOURCE_EXHAUSTED if the
  // system refuses one (std::thread throws std::system_error, e.g. past
  // RLIMIT_NPROC), saying how many started; those are stopped first.
  static absl::StatusOr<std::unique_ptr<WorkQueue>> Start(int threads);
  // As above, creating each thread with `spawn`.
  static absl::StatusOr<std::unique_ptr<WorkQueue>> Start(int threads,
                                                          const Spawn& spawn);
  struct Options {
    // Threads (at least 1). Default 1.
    int threads = 1;
    // Creates each thread. Default std::thread.
    Spawn spawn;
    // A thread that has found nothing to run for this long calls `on_idle`
    // once, until it runs work again. Default 1 s.
    absl::Duration idle_after = absl::Seconds(1);
    // Default ReturnThreadCache (allocator.h): an idle thread's malloc cache
    // goes back to the threads still serving.
    std::function<void()> on_idle;
  };
  static absl::StatusOr<std::unique_ptr<WorkQueue>> Start(Options options);
  // Runs everything already queued, then joins the threads.
  ~WorkQueue();
  // Queues `work`; false (and `work` dropped) once the destructor began.
  bool Submit(std::function<void()> work);

 private:
  WorkQueue() = default;
  void Loop();

  absl::Duration idle_after_;
  std::function<void()> on_idle_;

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_WORK_QUEUE_H_
