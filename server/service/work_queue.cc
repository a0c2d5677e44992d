#include "server/service/work_queue.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/service/allocator.h"

namespace content::service {

absl::StatusOr<std::unique_ptr<WorkQueue>> WorkQueue::Start(int threads) {
  Options options;
  options.threads = threads;
  return Start(std::move(options));
}

absl::StatusOr<std::unique_ptr<WorkQueue>> WorkQueue::Start(
    int threads, const Spawn& spawn) {
  Options options;
  options.threads = threads;
  options.spawn = spawn;
  return Start(std::move(options));
}

absl::StatusOr<std::unique_ptr<WorkQueue>> WorkQueue::Start(Options options) {
  const int threads = std::max(options.threads, 1);
  const Spawn spawn =
      options.spawn ? std::move(options.spawn) : [](std::function<void()> f) {
        return std::thread(std::move(f));
      };
  std::unique_ptr<WorkQueue> q(new WorkQueue());
  q->idle_after_ = options.idle_after;
  q->on_idle_ = options.on_idle ? std::move(options.on_idle)
                                : std::function<void()>(ReturnThreadCache);
  q->threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    // std::thread reports a thread the system refuses only by throwing,
    // and uncaught that aborted contentd.
    try {
      q->threads_.push_back(spawn([raw = q.get()] { raw->Loop(); }));
    } catch (const std::system_error& e) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot start thread ", i + 1, " of ", threads, " (",
                       e.code().message(), ")"));
    }  // ~WorkQueue stops and joins the threads that started
  }
  return q;
}

WorkQueue::~WorkQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

bool WorkQueue::Submit(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  queue_.push_back(std::move(work));
  return true;
}

void WorkQueue::Loop() {
  const absl::Condition ready(
      +[](WorkQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) {
        return q->stopping_ || !q->queue_.empty();
      },
      this);
  // Whether this thread ran work since it last called on_idle_.
  bool worked = false;
  while (true) {
    std::function<void()> work;
    {
      absl::MutexLock lock(&mu_);
      if (worked && !mu_.AwaitWithTimeout(ready, idle_after_)) {
        worked = false;
      } else {
        mu_.Await(ready);
        if (queue_.empty()) return;  // stopping and drained
        work = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (!work) {
      on_idle_();  // outside the lock: it may take a while
      continue;
    }
    work();
    worked = true;
  }
}

}  // namespace content::service
