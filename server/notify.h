// systemd's service notifications (sd_notify(3)) spoken without libsystemd:
// READY=1, STOPPING=1 and watchdog pings as datagrams to $NOTIFY_SOCKET, so
// that a Type=notify unit knows when contentd serves and restarts it once
// it stops pinging.
#ifndef CONTENT_SERVER_NOTIFY_H_
#define CONTENT_SERVER_NOTIFY_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace content {

// Where notifications go, as the service manager said. Without
// $NOTIFY_SOCKET it is disabled and every call does nothing. Thread-safe
// (immutable once made).
class SystemdNotifier {
 public:
  // From $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID.
  static SystemdNotifier FromEnvironment();
  // The same from the variables' values (null: unset) for process `pid`:
  // the watchdog is on when WATCHDOG_USEC is a positive number and
  // WATCHDOG_PID is unset or `pid` (it names the process to ping for).
  static SystemdNotifier FromValues(const char* notify_socket,
                                    const char* watchdog_usec,
                                    const char* watchdog_pid, pid_t pid);

  bool enabled() const { return !socket_.empty(); }
  // How often to ping: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
  // advises. Zero: no watchdog.
  absl::Duration ping_interval() const { return ping_interval_; }

  // Sends `state` ("READY=1") as one datagram. OK, doing nothing, when
  // disabled. A path socket, or "@NAME" for an abstract one.
  absl::Status Notify(absl::string_view state) const;

  // One watchdog turn: WATCHDOG=1 only while `serving` (health "" is
  // SERVING), so that systemd restarts a contentd whose store stopped
  // taking writes. Nothing without a watchdog.
  absl::Status PingIfServing(bool serving) const;

 private:
  SystemdNotifier() = default;

  std::string socket_;
  absl::Duration ping_interval_ = absl::ZeroDuration();
};

// Pings every ping_interval() on a thread of its own while `serving()`
// says so, from construction until destruction (which joins it). Make one
// only when the notifier has a watchdog.
class WatchdogPinger {
 public:
  WatchdogPinger(const SystemdNotifier& notifier,
                 std::function<bool()> serving);
  ~WatchdogPinger();

  WatchdogPinger(const WatchdogPinger&) = delete;
  WatchdogPinger& operator=(const WatchdogPinger&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace content

#endif  // CONTENT_SERVER_NOTIFY_H_
