// Tests for the write thread pool (server/service/work_queue.h), above all
// that a thread the system refuses is an error, not an abort.

#include "server/service/work_queue.h"

#include <atomic>
#include <cerrno>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
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

// A pool thread left idle hands its malloc cache back (on_idle; by default
// ReturnThreadCache): after an import 128 idle write threads held tcmalloc's
// cache budget and query pages cost twice the CPU until a restart.
TEST(WorkQueueTest, AThreadIdleAfterWorkCallsOnIdleOnceUntilItWorksAgain) {
  std::atomic<int> idle_calls{0};
  WorkQueue::Options options;
  options.threads = 1;
  options.idle_after = absl::Milliseconds(20);
  options.on_idle = [&] { ++idle_calls; };
  absl::StatusOr<std::unique_ptr<WorkQueue>> q = WorkQueue::Start(options);
  ASSERT_TRUE(q.ok()) << q.status();

  // A thread that never ran work has nothing to hand back.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(idle_calls.load(), 0);

  for (int round = 1; round <= 2; ++round) {
    absl::Notification ran;
    ASSERT_TRUE((*q)->Submit([&] { ran.Notify(); }));
    ran.WaitForNotification();
    for (int i = 0; i < 500 && idle_calls.load() < round; ++i)  // up to 5 s
      absl::SleepFor(absl::Milliseconds(10));
    ASSERT_EQ(idle_calls.load(), round);
    // Once per idle spell, not once per idle_after.
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_EQ(idle_calls.load(), round);
  }
}

TEST(WorkQueueTest, WorkQueuedWhileAThreadIsIdleStillRuns) {
  WorkQueue::Options options;
  options.threads = 2;
  options.idle_after = absl::Milliseconds(1);
  std::atomic<int> idle_calls{0};
  options.on_idle = [&] { ++idle_calls; };
  absl::StatusOr<std::unique_ptr<WorkQueue>> q = WorkQueue::Start(options);
  ASSERT_TRUE(q.ok()) << q.status();
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i) {
    absl::Notification ran;
    ASSERT_TRUE((*q)->Submit([&] {
      ++done;
      ran.Notify();
    }));
    ran.WaitForNotification();
    if (i % 20 == 0) absl::SleepFor(absl::Milliseconds(3));
  }
  EXPECT_EQ(done.load(), 200);
  EXPECT_GT(idle_calls.load(), 0);
}

}  // namespace
}  // namespace content::service
