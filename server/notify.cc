#include "server/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "server/log_line.h"

namespace content {

SystemdNotifier SystemdNotifier::FromEnvironment() {
  return FromValues(std::getenv("NOTIFY_SOCKET"), std::getenv("WATCHDOG_USEC"),
                    std::getenv("WATCHDOG_PID"), getpid());
}

SystemdNotifier SystemdNotifier::FromValues(const char* notify_socket,
                                            const char* watchdog_usec,
                                            const char* watchdog_pid,
                                            pid_t pid) {
  SystemdNotifier n;
  if (notify_socket == nullptr) return n;
  n.socket_ = notify_socket;
  uint64_t usec = 0;
  int64_t for_pid = 0;
  // A WATCHDOG_PID of another process (a wrapper that exec'd us is fine:
  // same pid) means the watchdog is not ours to feed.
  const bool ours =
      watchdog_pid == nullptr ||
      (absl::SimpleAtoi(watchdog_pid, &for_pid) && for_pid == pid);
  if (watchdog_usec != nullptr && absl::SimpleAtoi(watchdog_usec, &usec) &&
      usec > 0 && ours) {
    n.ping_interval_ = absl::Microseconds(usec) / 2;
  }
  return n;
}

absl::Status SystemdNotifier::Notify(absl::string_view state) const {
  if (!enabled()) return absl::OkStatus();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // An abstract name has no terminating NUL; a path does.
  if (socket_.size() < 2 || (socket_[0] != '/' && socket_[0] != '@') ||
      socket_.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("NOTIFY_SOCKET: \"", socket_,
                     "\" is not an absolute socket path or @abstract name of "
                     "fewer than ",
                     sizeof(addr.sun_path), " bytes"));
  }
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + socket_.size();
  if (socket_[0] == '@') {
    addr.sun_path[0] = '\0';
  } else {
    ++len;
  }
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("NOTIFY_SOCKET: socket: ", std::strerror(errno)));
  }
  const ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                              reinterpret_cast<const sockaddr*>(&addr), len);
  const int err = errno;
  close(fd);
  if (sent < 0) {
    return absl::UnavailableError(absl::StrCat(
        "NOTIFY_SOCKET: sending to ", socket_, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status SystemdNotifier::PingIfServing(bool serving) const {
  if (ping_interval_ == absl::ZeroDuration() || !serving)
    return absl::OkStatus();
  return Notify("WATCHDOG=1");
}

struct Repeater::State {
  absl::Notification stop;
  std::thread thread;
};

Repeater::Repeater(absl::Duration interval, std::function<void()> turn)
    : state_(std::make_unique<State>()) {
  state_->thread =
      std::thread([interval, turn = std::move(turn), state = state_.get()] {
        do {
          turn();
        } while (!state->stop.WaitForNotificationWithTimeout(interval));
      });
}

Repeater::~Repeater() {
  state_->stop.Notify();
  state_->thread.join();
}

WatchdogPinger::WatchdogPinger(const SystemdNotifier& notifier,
                               std::function<bool()> serving)
    : repeater_(notifier.ping_interval(), [notifier,
                                           serving = std::move(serving),
                                           logged = false]() mutable {
        absl::Status s = notifier.PingIfServing(serving());
        // One line, not one per ping.
        if (!s.ok() && !logged) {
          LogLine(std::cerr, absl::StrCat("contentd: watchdog: ", s.message()));
          logged = true;
        }
      }) {}

struct StartExtender::State {
  absl::Notification done;
  std::thread thread;
};

StartExtender::StartExtender(const SystemdNotifier& notifier,
                             absl::Duration interval, absl::Duration limit,
                             std::function<void()> on_limit) {
  const bool bounded = limit > absl::ZeroDuration() && on_limit != nullptr;
  if (!notifier.enabled() && !bounded) return;
  state_ = std::make_unique<State>();
  const absl::Time deadline =
      bounded ? absl::Now() + limit : absl::InfiniteFuture();
  state_->thread =
      std::thread([notifier, interval, deadline, on_limit = std::move(on_limit),
                   state = state_.get()] {
        const std::string extend = absl::StrCat(
            "EXTEND_TIMEOUT_USEC=", absl::ToInt64Microseconds(3 * interval));
        while (absl::Now() < deadline) {
          // A failure shows at READY=1, which logs it.
          (void)notifier.Notify(extend);
          if (state->done.WaitForNotificationWithDeadline(
                  std::min(absl::Now() + interval, deadline))) {
            return;
          }
        }
        // The start outlasted the limit (unless it ended just now): no more
        // extensions.
        if (!state->done.HasBeenNotified()) on_limit();
      });
}

StartExtender::~StartExtender() {
  if (state_ == nullptr) return;
  state_->done.Notify();
  state_->thread.join();
}

}  // namespace content
