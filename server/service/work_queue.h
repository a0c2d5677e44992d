// A fixed pool of threads running queued closures, for work that may block
// (WAL syncs) and so must stay off gRPC's callback threads.
#ifndef CONTENT_SERVER_SERVICE_WORK_QUEUE_H_
#define CONTENT_SERVER_SERVICE_WORK_QUEUE_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace content::service {

// Thread-safe.
class WorkQueue {
 public:
  explicit WorkQueue(int threads);
  // Runs everything already queued, then joins the threads.
  ~WorkQueue();
  // Queues `work`; false (and `work` dropped) once the destructor began.
  bool Submit(std::function<void()> work);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_WORK_QUEUE_H_
