// Tests for the write thread pool (server/service/work_queue.h), above all
// that a thread the system refuses is an error, not an abort.

#include "server/service/work_queue.h"

#include <atomic>
#include <cerrno>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace content::service {
namespace {

using ::testing::HasSubstr;

TEST(WorkQueueTest, RunsWorkOnItsThreads) {
  absl::StatusOr<std::unique_ptr<WorkQueue>> q = WorkQueue::Start(4);
  ASSERT_TRUE(q.ok()) << q.status();
  std::atomic<int> done{0};
  absl::Notification last;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE((*q)->Submit([&] {
      if (++done == 100) last.Notify();
    }));
  }
  last.WaitForNotification();
  EXPECT_EQ(done.load(), 100);
}

// std::thread throws std::system_error (EAGAIN) past RLIMIT_NPROC; that
// used to escape ContentService's constructor and abort contentd.
TEST(WorkQueueTest, AThreadTheSystemRefusesIsAnError) {
  int spawned = 0;
  std::atomic<int> ran{0};
  absl::StatusOr<std::unique_ptr<WorkQueue>> q =
      WorkQueue::Start(5, [&](std::function<void()> loop) {
        if (++spawned == 3) {
          throw std::system_error(EAGAIN, std::generic_category(),
                                  "thread creation");
        }
        return std::thread([&ran, loop = std::move(loop)] {
          ++ran;
          loop();
        });
      });
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(q.status().message(), HasSubstr("cannot start thread 3 of 5"));
  EXPECT_THAT(q.status().message(),
              HasSubstr(std::generic_category().message(EAGAIN)));
  // The two that started were stopped and joined before the error.
  EXPECT_EQ(spawned, 3);
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace content::service
