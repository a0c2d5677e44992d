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

// Runs `turn` at once and then every `interval` on a thread of its own,
// from construction until destruction (which joins it).
class Repeater {
 public:
  Repeater(absl::Duration interval, std::function<void()> turn);
  ~Repeater();

  Repeater(const Repeater&) = delete;
  Repeater& operator=(const Repeater&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Pings every ping_interval() while `serving()` says so, from construction
// until destruction. Make one only when the notifier has a watchdog.
class WatchdogPinger {
 public:
  WatchdogPinger(const SystemdNotifier& notifier,
                 std::function<bool()> serving);

 private:
  Repeater repeater_;
};

// While a start works (a long write-ahead log replay, a store layout
// upgrade over every article), tells systemd it is still starting, so that
// the unit's start timeout (90 s by default) does not kill it and have
// Restart= begin the same work again, for ever: EXTEND_TIMEOUT_USEC of
// 3 x `interval` at once and every `interval` (default 20 s), from
// construction until destruction, just before READY=1.
//
// But not for ever: a start that hangs (a file system or database that
// does not answer) would be extended without end and never restarted. Once
// `limit` has passed since construction (zero: no limit), the extensions
// stop and `on_limit` runs, on the extender's own thread (the start's is
// the one stuck); contentd logs why there and exits 1, which the unit's
// Restart=on-failure restarts. Nothing at all when the notifier is
// disabled and there is no limit. Not copyable; the destructor joins.
class StartExtender {
 public:
  explicit StartExtender(const SystemdNotifier& notifier,
                         absl::Duration interval = absl::Seconds(20),
                         absl::Duration limit = absl::ZeroDuration(),
                         std::function<void()> on_limit = nullptr);
  ~StartExtender();

  StartExtender(const StartExtender&) = delete;
  StartExtender& operator=(const StartExtender&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace content

#endif  // CONTENT_SERVER_NOTIFY_H_
