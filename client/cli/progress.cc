#include "client/cli/progress.h"

#include <cstdio>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"

namespace content::cli {
namespace {

// 1234567 -> "1,234,567".
std::string Grouped(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// "45s", "1m12s", "2h03m".
std::string Elapsed(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, s % 3600 / 60);
}

// Identifies an operation among those listed: its kind and start time.
std::pair<int64_t, int32_t> Started(const v1::RunningOperation& op) {
  return {op.start_time().seconds(), op.start_time().nanos()};
}

}  // namespace

std::string ProgressLine(const v1::RunningOperation& op,
                         absl::Duration elapsed) {
  std::string line = absl::StrCat(op.kind(), ": ");
  if (op.step_count() > 1) {
    absl::StrAppend(&line, "step ", op.step_number(), "/", op.step_count(),
                    " ");
  }
  absl::StrAppend(&line, op.step().empty() ? "starting" : op.step());
  if (op.total() > 0 && op.done() <= op.total()) {
    constexpr int64_t kWidth = 20;
    const int64_t filled = op.done() * kWidth / op.total();
    absl::StrAppend(&line, " [", std::string(filled, '#'),
                    std::string(kWidth - filled, '.'), "] ",
                    op.done() * 100 / op.total(), "% ", Grouped(op.done()),
                    " of ~", Grouped(op.total()), " ", op.unit());
  } else if (op.done() > 0) {
    absl::StrAppend(&line, " ", Grouped(op.done()), " ", op.unit());
  }
  absl::StrAppend(&line, ", ", Elapsed(elapsed));
  return line;
}

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
    bool shown = false;
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
      if (mine == nullptr) continue;
      const std::string line = absl::StrCat(
          "\r", ProgressLine(*mine, absl::Now() - start), "\033[K");
      std::fputs(line.c_str(), stderr);
      std::fflush(stderr);
      shown = true;
    }
    if (shown) {
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
    }
  });
  call();
  done.Notify();
  drawer.join();
}

}  // namespace content::cli
