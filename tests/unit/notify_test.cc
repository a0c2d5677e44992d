#include "server/notify.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/service/health.h"
#include "tests/support/harness.h"

namespace content {
namespace {

// A datagram socket standing in for systemd's notify socket: `name` is a
// path, or "@NAME" for an abstract one.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t len = offsetof(sockaddr_un, sun_path) + name.size();
    if (name[0] == '@') addr.sun_path[0] = '\0';
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
  }
  ~NotifySocket() { close(fd_); }
  bool bound() const { return bound_; }

  // The next datagram; "" if none came within a generous bound (a
  // failure, not a measurement).
  std::string Next() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 30000) != 1) return "";
    char buf[256];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, n) : "";
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

TEST(SystemdNotifierTest, WithoutNotifySocketDoesNothing) {
  SystemdNotifier n =
      SystemdNotifier::FromValues(nullptr, "200000", nullptr, getpid());
  EXPECT_FALSE(n.enabled());
  EXPECT_EQ(n.ping_interval(), absl::ZeroDuration());
  EXPECT_TRUE(n.Notify("READY=1").ok());
}

TEST(SystemdNotifierTest, PingsEveryHalfWatchdogForThisProcessOnly) {
  const char* s = "/run/notify";
  EXPECT_EQ(
      SystemdNotifier::FromValues(s, "200000", nullptr, 42).ping_interval(),
      absl::Milliseconds(100));
  EXPECT_EQ(SystemdNotifier::FromValues(s, "200000", "42", 42).ping_interval(),
            absl::Milliseconds(100));
  // Another process's watchdog, none, or values that do not parse.
  EXPECT_EQ(SystemdNotifier::FromValues(s, "200000", "43", 42).ping_interval(),
            absl::ZeroDuration());
  EXPECT_EQ(
      SystemdNotifier::FromValues(s, nullptr, nullptr, 42).ping_interval(),
      absl::ZeroDuration());
  EXPECT_EQ(SystemdNotifier::FromValues(s, "0", nullptr, 42).ping_interval(),
            absl::ZeroDuration());
  EXPECT_EQ(SystemdNotifier::FromValues(s, "30s", nullptr, 42).ping_interval(),
            absl::ZeroDuration());
  EXPECT_EQ(SystemdNotifier::FromValues(s, "200000", "x", 42).ping_interval(),
            absl::ZeroDuration());
}

TEST(SystemdNotifierTest, PingsOnlyWhileServing) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  NotifySocket sock(path);
  ASSERT_TRUE(sock.bound()) << path;
  SystemdNotifier n =
      SystemdNotifier::FromValues(path.c_str(), "200000", nullptr, getpid());
  ASSERT_TRUE(n.enabled());
  ASSERT_TRUE(n.PingIfServing(true).ok());
  EXPECT_EQ(sock.Next(), "WATCHDOG=1");
  // Not serving: nothing goes out, so the next datagram is the marker.
  ASSERT_TRUE(n.PingIfServing(false).ok());
  ASSERT_TRUE(n.Notify("MARK=1").ok());
  EXPECT_EQ(sock.Next(), "MARK=1");
}

TEST(SystemdNotifierTest, NoWatchdogNoPing) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  NotifySocket sock(path);
  ASSERT_TRUE(sock.bound()) << path;
  SystemdNotifier n =
      SystemdNotifier::FromValues(path.c_str(), nullptr, nullptr, getpid());
  ASSERT_TRUE(n.PingIfServing(true).ok());
  ASSERT_TRUE(n.Notify("MARK=1").ok());
  EXPECT_EQ(sock.Next(), "MARK=1");
}

TEST(SystemdNotifierTest, SendsToAnAbstractSocket) {
  const std::string name = absl::StrCat("@contentd-notify-test-", getpid());
  NotifySocket sock(name);
  ASSERT_TRUE(sock.bound());
  SystemdNotifier n =
      SystemdNotifier::FromValues(name.c_str(), nullptr, nullptr, getpid());
  ASSERT_TRUE(n.Notify("READY=1").ok());
  EXPECT_EQ(sock.Next(), "READY=1");
}

TEST(SystemdNotifierTest, RefusesARelativeSocketNamingTheVariable) {
  SystemdNotifier n =
      SystemdNotifier::FromValues("notify", nullptr, nullptr, getpid());
  absl::Status s = n.Notify("READY=1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("NOTIFY_SOCKET"), absl::string_view::npos) << s;
}

// What the watchdog asks: serving until the store stops taking writes or a
// stop begins, and never again after.
TEST(ServingHealthTest, ServingUntilWritesStopOrAStopBegins) {
  std::ostringstream log;
  service::ServingHealth failed(&log);
  EXPECT_TRUE(failed.serving());
  failed.StorageFailed(absl::UnavailableError("disk"));
  EXPECT_FALSE(failed.serving());

  service::ServingHealth stopping(&log);
  stopping.Shutdown();
  EXPECT_FALSE(stopping.serving());
  EXPECT_FALSE(stopping.storage_failed());
}

}  // namespace
}  // namespace content
