#include "server/service/work_queue.h"

#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace content::service {

absl::StatusOr<std::unique_ptr<WorkQueue>> WorkQueue::Start(int threads) {
  return Start(threads, [](std::function<void()> f) {
    return std::thread(std::move(f));
  });
}

absl::StatusOr<std::unique_ptr<WorkQueue>> WorkQueue::Start(
    int threads, const Spawn& spawn) {
  if (threads < 1) threads = 1;
  std::unique_ptr<WorkQueue> q(new WorkQueue());
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
  while (true) {
    std::function<void()> work;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WorkQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) {
            return q->stopping_ || !q->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping and drained
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

}  // namespace content::service
