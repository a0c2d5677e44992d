#include "server/notify.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/error_details.h"
#include "server/log_line.h"
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

// A start still working says so at once and again every interval, each
// time extending the start timeout to three intervals, until it ends.
TEST(SystemdNotifierTest, StartExtenderExtendsTheStartTimeoutUntilItEnds) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  NotifySocket sock(path);
  ASSERT_TRUE(sock.bound()) << path;
  SystemdNotifier n =
      SystemdNotifier::FromValues(path.c_str(), nullptr, nullptr, getpid());
  {
    StartExtender starting(n, absl::Milliseconds(20));
    EXPECT_EQ(sock.Next(), "EXTEND_TIMEOUT_USEC=60000");
    EXPECT_EQ(sock.Next(), "EXTEND_TIMEOUT_USEC=60000");
  }
  // Ended: whatever it sent before is queued ahead of the marker, and
  // nothing comes after it.
  ASSERT_TRUE(n.Notify("MARK=1").ok());
  std::string got;
  do {
    got = sock.Next();
  } while (got == "EXTEND_TIMEOUT_USEC=60000");
  EXPECT_EQ(got, "MARK=1");
  ASSERT_TRUE(n.Notify("MARK=2").ok());
  EXPECT_EQ(sock.Next(), "MARK=2");
}

// Past its limit a start is taken for hung: the extensions stop and
// on_limit runs (contentd exits there), where they went on for ever.
TEST(SystemdNotifierTest, StartExtenderStopsExtendingAtItsLimit) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  NotifySocket sock(path);
  ASSERT_TRUE(sock.bound()) << path;
  SystemdNotifier n =
      SystemdNotifier::FromValues(path.c_str(), nullptr, nullptr, getpid());
  absl::Notification limit_reached;
  StartExtender starting(n, absl::Milliseconds(20), absl::Milliseconds(100),
                         [&] {
                           ASSERT_TRUE(n.Notify("LIMIT=1").ok());
                           limit_reached.Notify();
                         });
  limit_reached.WaitForNotification();
  // Extensions, then the limit, and nothing after it while the extender
  // still exists (the start is still "running").
  std::string got;
  do {
    got = sock.Next();
  } while (got == "EXTEND_TIMEOUT_USEC=60000");
  EXPECT_EQ(got, "LIMIT=1");
  ASSERT_TRUE(n.Notify("MARK=1").ok());
  EXPECT_EQ(sock.Next(), "MARK=1");
}

// With no notify socket, the limit holds all the same (a start outside
// systemd hangs no less).
TEST(SystemdNotifierTest, StartExtenderLimitHoldsWithoutNotifySocket) {
  SystemdNotifier n =
      SystemdNotifier::FromValues(nullptr, nullptr, nullptr, getpid());
  absl::Notification limit_reached;
  StartExtender starting(n, absl::Milliseconds(20), absl::Milliseconds(50),
                         [&] { limit_reached.Notify(); });
  limit_reached.WaitForNotification();
  EXPECT_TRUE(limit_reached.HasBeenNotified());
}

// A start that ends before its limit never reaches on_limit.
TEST(SystemdNotifierTest, StartExtenderEndedBeforeItsLimitDoesNothingMore) {
  bool reached = false;
  {
    StartExtender starting(
        SystemdNotifier::FromValues(nullptr, nullptr, nullptr, getpid()),
        absl::Milliseconds(20), absl::Hours(1), [&] { reached = true; });
  }
  EXPECT_FALSE(reached);
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

// Records what ServingHealth sets, as gRPC's default health service would
// answer it.
class FakeHealthService : public grpc::HealthCheckServiceInterface {
 public:
  void SetServingStatus(const std::string& name, bool serving) override {
    absl::MutexLock lock(&mu_);
    if (!shut_down_) status_[name] = serving;
  }
  void SetServingStatus(bool serving) override {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    for (auto& [name, s] : status_) s = serving;
  }
  void Shutdown() override {
    absl::MutexLock lock(&mu_);
    for (auto& [name, s] : status_) s = false;
    shut_down_ = true;
  }
  // 1 SERVING, 0 NOT_SERVING, -1 not registered.
  int Status(const std::string& name) {
    absl::MutexLock lock(&mu_);
    auto it = status_.find(name);
    return it == status_.end() ? -1 : it->second ? 1 : 0;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, bool> status_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// Readiness goes NOT_SERVING while the store cannot be reached and back
// when it can, with one log line each way; "" (what liveness probes and the
// watchdog ask) and the services' names stay SERVING throughout.
TEST(ServingHealthTest, ReadinessFollowsTheStoresReachabilityAlone) {
  std::ostringstream log;
  FakeHealthService fake;
  service::ServingHealth health(&log);
  health.Attach(&fake);
  fake.SetServingStatus("", true);  // gRPC registers "" itself
  const std::string ready = service::kReadinessServiceName;
  EXPECT_EQ(fake.Status(ready), 1);
  EXPECT_TRUE(health.ready());

  const absl::Status down = absl::UnavailableError(
      "storage: PostgreSQL unreachable (storage.dsn): connection refused");
  health.StoreReachable(down);
  health.StoreReachable(down);  // no second line
  EXPECT_EQ(fake.Status(ready), 0);
  EXPECT_FALSE(health.ready());
  EXPECT_TRUE(health.serving());
  for (const std::string name :
       {"", "content.v1.ContentService", "content.v1.AdminService"}) {
    EXPECT_EQ(fake.Status(name), 1) << name;
  }
  health.StoreReachable(absl::OkStatus());
  EXPECT_EQ(fake.Status(ready), 1);
  EXPECT_TRUE(health.ready());
  EXPECT_EQ(log.str(),
            "contentd: readiness: NOT_SERVING (content.v1.Readiness) until "
            "the store answers again: storage: PostgreSQL unreachable "
            "(storage.dsn): connection refused\n"
            "contentd: readiness: the store answers again\n");

  // A store that stopped taking writes is not ready, reachable or not.
  health.StorageFailed(absl::UnavailableError("disk"));
  health.StoreReachable(down);
  health.StoreReachable(absl::OkStatus());
  EXPECT_EQ(fake.Status(ready), 0);
  EXPECT_FALSE(health.ready());
}

// While an offline repair holds a shared store (the ping's
// FAILED_PRECONDITION) the log line says readiness waits for the repair to
// end, not for the store to answer (it does answer); a change of what it
// waits for while NOT_SERVING gets its line, a repeat none.
TEST(ServingHealthTest, ReadinessSaysWhatItWaitsFor) {
  std::ostringstream log;
  FakeHealthService fake;
  service::ServingHealth health(&log);
  health.Attach(&fake);
  const std::string ready = service::kReadinessServiceName;
  const absl::Status repair = WithReason(
      absl::FailedPreconditionError(
          "storage: an offline repair (contentd --check --repair) holds "
          "table t"),
      reason::kRepairRunning);
  const absl::Status down = absl::UnavailableError(
      "storage: PostgreSQL unreachable (storage.dsn): connection refused");
  health.StoreReachable(repair);
  health.StoreReachable(repair);  // no second line
  EXPECT_EQ(fake.Status(ready), 0);
  health.StoreReachable(absl::OkStatus());
  EXPECT_EQ(fake.Status(ready), 1);
  health.StoreReachable(down);
  health.StoreReachable(repair);
  EXPECT_EQ(fake.Status(ready), 0);
  health.StoreReachable(absl::OkStatus());
  EXPECT_EQ(fake.Status(ready), 1);
  EXPECT_EQ(log.str(),
            "contentd: readiness: NOT_SERVING (content.v1.Readiness) until "
            "the offline repair holding the store ends: storage: an offline "
            "repair (contentd --check --repair) holds table t\n"
            "contentd: readiness: the offline repair ended; SERVING again\n"
            "contentd: readiness: NOT_SERVING (content.v1.Readiness) until "
            "the store answers again: storage: PostgreSQL unreachable "
            "(storage.dsn): connection refused\n"
            "contentd: readiness: NOT_SERVING (content.v1.Readiness) until "
            "the offline repair holding the store ends: storage: an offline "
            "repair (contentd --check --repair) holds table t\n"
            "contentd: readiness: the offline repair ended; SERVING again\n");
}

// A database error that is no lost connection (INTERNAL: a privilege
// revoked) is not an offline repair: readiness waits for the error to go,
// and says so. Indexes marked incomplete (INDEX_REPAIR_PENDING) get a line
// of their own, as does their end. Both were told apart by code alone, and
// every FAILED_PRECONDITION, or none, read as a repair.
TEST(ServingHealthTest, ReadinessTellsDatabaseErrorsAndIndexRepairsApart) {
  std::ostringstream log;
  FakeHealthService fake;
  service::ServingHealth health(&log);
  health.Attach(&fake);
  const std::string ready = service::kReadinessServiceName;
  const absl::Status error = absl::InternalError(
      "storage: PostgreSQL error while taking the presence lock: ERROR:  "
      "permission denied for function pg_try_advisory_lock_shared (SQLSTATE "
      "42501)");
  const absl::Status incomplete = WithReason(
      absl::FailedPreconditionError("queries are refused while the indexes "
                                    "are marked incomplete: ..."),
      reason::kIndexRepairPending);
  const absl::Status unnamed = absl::FailedPreconditionError("no reason");
  health.StoreReachable(error);
  EXPECT_EQ(fake.Status(ready), 0);
  health.StoreReachable(absl::OkStatus());
  health.StoreReachable(incomplete);
  health.StoreReachable(incomplete);  // no second line
  EXPECT_EQ(fake.Status(ready), 0);
  health.StoreReachable(absl::OkStatus());
  EXPECT_EQ(fake.Status(ready), 1);
  health.StoreReachable(unnamed);
  EXPECT_EQ(fake.Status(ready), 0);
  EXPECT_EQ(log.str(),
            "contentd: readiness: NOT_SERVING (content.v1.Readiness) until "
            "the store answers without this error: storage: PostgreSQL error "
            "while taking the presence lock: ERROR:  permission denied for "
            "function pg_try_advisory_lock_shared (SQLSTATE 42501)\n"
            "contentd: readiness: the store answers without error again\n"
            "contentd: readiness: NOT_SERVING (content.v1.Readiness) until "
            "an index repair completes (queries are refused meanwhile): "
            "queries are refused while the indexes are marked incomplete: "
            "...\n"
            "contentd: readiness: the indexes are complete again; SERVING "
            "again\n"
            "contentd: readiness: NOT_SERVING (content.v1.Readiness) until "
            "the store answers without this error: no reason\n");
}

// Attached while unreachable (the first ping came first), readiness starts
// NOT_SERVING; a stop ends readiness whatever pings say afterwards.
TEST(ServingHealthTest, ReadinessAtAttachAndAfterAStop) {
  std::ostringstream log;
  FakeHealthService fake;
  service::ServingHealth health(&log);
  health.StoreReachable(absl::UnavailableError("down"));
  health.Attach(&fake);
  EXPECT_EQ(fake.Status(service::kReadinessServiceName), 0);
  EXPECT_EQ(fake.Status("content.v1.ContentService"), 1);
  health.StoreReachable(absl::OkStatus());
  EXPECT_EQ(fake.Status(service::kReadinessServiceName), 1);
  health.Shutdown();
  health.StoreReachable(absl::OkStatus());
  EXPECT_FALSE(health.ready());
  EXPECT_EQ(fake.Status(service::kReadinessServiceName), 0);
}

// The monitor pings on its own thread and reports each answer; destroyed,
// it stops pinging.
TEST(ReachabilityMonitorTest, ReportsEachPingUntilDestroyed) {
  std::ostringstream log;
  FakeHealthService fake;
  service::ServingHealth health(&log);
  health.Attach(&fake);
  absl::Mutex mu;
  int pings = 0;
  bool reachable = true;
  auto ping = [&]() -> absl::Status {
    absl::MutexLock lock(&mu);
    ++pings;
    return reachable ? absl::OkStatus() : absl::UnavailableError("cut off");
  };
  auto wait_until = [](const std::function<bool()>& done) {
    for (int i = 0; i < 3000 && !done(); ++i)
      absl::SleepFor(absl::Milliseconds(10));
    return done();
  };
  int pinged = 0;
  {
    service::ReachabilityMonitor monitor(&health, ping, absl::Milliseconds(5));
    {
      absl::MutexLock lock(&mu);
      reachable = false;
    }
    EXPECT_TRUE(wait_until([&] { return !health.ready(); }));
    {
      absl::MutexLock lock(&mu);
      reachable = true;
    }
    EXPECT_TRUE(wait_until([&] { return health.ready(); }));
    absl::MutexLock lock(&mu);
    pinged = pings;
  }
  EXPECT_GE(pinged, 2);
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return pings;
  };
  const int at_end = count();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(count(), at_end);
}

// A stream buffer that keeps each write it is handed, as stderr's writes
// reach the log file one by one.
class WriteRecorder : public std::streambuf {
 public:
  const std::vector<std::string>& writes() const { return writes_; }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    writes_.emplace_back(s, static_cast<size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) writes_.emplace_back(1, static_cast<char>(c));
    return c;
  }

 private:
  std::vector<std::string> writes_;
};

// A log line is one write with its newline: std::cerr writes each `<<`
// on its own, and a readiness line built from several was cut in two by
// the scheduler's line, written from another thread between its pieces.
TEST(LogLineTest, ALineIsOneWriteWithItsNewline) {
  WriteRecorder recorder;
  std::ostream log(&recorder);
  LogLine(log, "contentd: one line");
  EXPECT_EQ(recorder.writes(),
            std::vector<std::string>{"contentd: one line\n"});

  WriteRecorder health_recorder;
  std::ostream health_log(&health_recorder);
  service::ServingHealth health(&health_log);
  health.StoreReachable(absl::UnavailableError("database down"));
  health.StoreReachable(absl::OkStatus());
  health.StorageFailed(absl::DataLossError("disk gone"));
  ASSERT_EQ(health_recorder.writes().size(), 3u);
  for (const std::string& w : health_recorder.writes()) {
    EXPECT_EQ(w.find('\n'), w.size() - 1) << w;
    EXPECT_EQ(w.rfind("contentd: ", 0), 0u) << w;
  }
}

}  // namespace
}  // namespace content
