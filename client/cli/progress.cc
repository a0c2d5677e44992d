#include "client/cli/progress.h"

#include <set>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "common/terminal_progress.h"

namespace content::cli {
namespace {

// Identifies an operation among those listed: its start time.
std::pair<int64_t, int32_t> Started(const v1::RunningOperation& op) {
  return {op.start_time().seconds(), op.start_time().nanos()};
}

}  // namespace

void WithProgress(Client& client, const std::string& kind, bool enabled,
                  const std::function<void()>& call) {
  if (!enabled) return call();
  CallOptions quick;
  quick.timeout = absl::Seconds(2);
  // Operations of this kind already running are someone else's.
  absl::StatusOr<v1::ListOperationsResponse> before =
      client.ListOperations(v1::ListOperationsRequest(), quick);
  if (!before.ok()) return call();
  std::set<std::pair<int64_t, int32_t>> others;
  for (const v1::RunningOperation& op : before->operations()) {
    if (op.kind() == kind) others.insert(Started(op));
  }
  const absl::Time start = absl::Now();
  absl::Notification done;
  std::thread drawer([&] {
    // Erased when the call has returned. (The polls are 500 ms apart, so
    // its limit of two draws a second skips none.)
    internal::TerminalProgress line(start);
    // A first look soon: many calls end within a second.
    absl::Duration wait = absl::Milliseconds(100);
    while (!done.WaitForNotificationWithTimeout(wait)) {
      wait = absl::Milliseconds(500);
      absl::StatusOr<v1::ListOperationsResponse> now =
          client.ListOperations(v1::ListOperationsRequest(), quick);
      if (!now.ok() || done.HasBeenNotified()) continue;
      // The newest of its kind that was not running before: ours.
      const v1::RunningOperation* mine = nullptr;
      for (const v1::RunningOperation& op : now->operations()) {
        if (op.kind() == kind && others.count(Started(op)) == 0) mine = &op;
      }
      if (mine != nullptr) line.Draw(*mine);
    }
  });
  call();
  done.Notify();
  drawer.join();
}

}  // namespace content::cli
