// Listen addresses: resolution, and reservations that must hold every
// address a host resolves to (IPv6 parts skip where ::1 cannot be bound).
#include "server/listen.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace content {
namespace {

using ::testing::HasSubstr;

ListenAddress Loopback(int family, int port) {
  ListenAddress a;
  if (family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    a.len = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.addr);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.len = sizeof(sockaddr_in);
  }
  a.set_port(port);
  return a;
}

// Whether a socket can listen on `a` now.
bool Free(const ListenAddress& a) {
  const int fd = socket(a.addr.ss_family, SOCK_STREAM, 0);
  const int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  const bool ok =
      fd >= 0 &&
      bind(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) == 0 &&
      listen(fd, 1) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

bool HaveIpv6Loopback() { return Free(Loopback(AF_INET6, 0)); }

TEST(ListenTest, ResolvesLiteralsAndNames) {
  auto v4 = ResolveListen("127.0.0.1", 7070, "--listen");
  ASSERT_TRUE(v4.ok()) << v4.status();
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].ToString(), "127.0.0.1:7070");
  EXPECT_EQ((*v4)[0].port(), 7070);
  auto v6 = ResolveListen("::1", 0, "--listen");
  ASSERT_TRUE(v6.ok()) << v6.status();
  ASSERT_EQ(v6->size(), 1u);
  EXPECT_EQ((*v6)[0].ToString(), "[::1]:0");
  // localhost is 127.0.0.1, ::1 or both, each once.
  auto local = ResolveListen("localhost", 7070, "--listen");
  ASSERT_TRUE(local.ok()) << local.status();
  ASSERT_FALSE(local->empty());
  for (size_t i = 0; i < local->size(); ++i) {
    const std::string text = (*local)[i].ToString();
    EXPECT_TRUE(text == "127.0.0.1:7070" || text == "[::1]:7070") << text;
    for (size_t j = 0; j < i; ++j) EXPECT_NE((*local)[j].ToString(), text);
  }
  auto bad = ResolveListen("no-such-host.invalid", 7070, "--listen");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("--listen: cannot resolve \"no-such-host.invalid\""));
}

// Whether contentd may serve without tokens: by the address, whatever
// its text looks like.
TEST(ListenTest, LoopbackIsJudgedByTheAddress) {
  for (const char* host : {"127.0.0.1", "127.0.1.1", "127.255.0.9", "::1",
                           "::ffff:127.0.0.1", "0177.0.0.1"}) {
    absl::StatusOr<std::vector<ListenAddress>> a =
        ResolveListen(host, 7070, "--listen");
    ASSERT_TRUE(a.ok()) << host << ": " << a.status();
    ASSERT_EQ(a->size(), 1u) << host;
    EXPECT_TRUE(a->front().IsLoopback()) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1",
                           "::ffff:10.0.0.1", "::2", "fe80::1"}) {
    absl::StatusOr<std::vector<ListenAddress>> a =
        ResolveListen(host, 7070, "--listen");
    ASSERT_TRUE(a.ok()) << host << ": " << a.status();
    for (const ListenAddress& one : *a) {
      EXPECT_FALSE(one.IsLoopback()) << host << " as " << one.ToString();
    }
  }
}

TEST(ListenTest, AddressesNoInterfaceHoldsAreDroppedUnlessNoneIsLeft) {
  // 192.0.2.1 is TEST-NET-1: no interface of a test machine holds it, as
  // none holds ::1 in a container with IPv6 off (/etc/hosts still names it).
  ListenAddress elsewhere = Loopback(AF_INET, 7070);
  reinterpret_cast<sockaddr_in*>(&elsewhere.addr)->sin_addr.s_addr =
      htonl(0xC0000201);
  ASSERT_EQ(elsewhere.ToString(), "192.0.2.1:7070");
  std::vector<ListenAddress> kept =
      DropAddressesNotHere({elsewhere, Loopback(AF_INET, 7070)});
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].ToString(), "127.0.0.1:7070");
  // Alone it stays, so that binding it reports why it cannot be served.
  kept = DropAddressesNotHere({elsewhere});
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].ToString(), "192.0.2.1:7070");
  auto reserved = PortReservation::Reserve(kept, "--listen", "192.0.2.1:7070");
  EXPECT_THAT(reserved.status().message(),
              HasSubstr("--listen: cannot listen on 192.0.2.1:7070: "));
}

TEST(ListenTest, ReservationHoldsTheAddressUntilDestroyed) {
  const std::vector<ListenAddress> any = {Loopback(AF_INET, 0)};
  int port = 0;
  {
    auto held = PortReservation::Reserve(any, "--listen", "127.0.0.1:0");
    ASSERT_TRUE(held.ok()) << held.status();
    port = held->port();
    ASSERT_GT(port, 0);
    EXPECT_FALSE(Free(Loopback(AF_INET, port)));
    const std::string shown = absl::StrCat("127.0.0.1:", port);
    auto again = PortReservation::Reserve({Loopback(AF_INET, port)},
                                          "--metrics-listen", shown);
    EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(again.status().message(), "--metrics-listen: cannot listen on " +
                                            shown + ": address in use");
  }
  EXPECT_TRUE(Free(Loopback(AF_INET, port)));
}

// `localhost:P` reaches ::1 or 127.0.0.1, whichever a client tries: one
// held by another process is refused, either way round.
TEST(ListenTest, EveryAddressMustBind) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback here";
  for (int busy_family : {AF_INET6, AF_INET}) {
    auto other =
        PortReservation::Reserve({Loopback(busy_family, 0)}, "other", "other");
    ASSERT_TRUE(other.ok()) << other.status();
    const int port = other->port();
    const int free_family = busy_family == AF_INET6 ? AF_INET : AF_INET6;
    // The free address may be taken by someone else too: then skip it.
    if (!Free(Loopback(free_family, port))) continue;
    const std::string shown = absl::StrCat("localhost:", port);
    const std::string busy = Loopback(busy_family, port).ToString();
    for (bool busy_first : {true, false}) {
      std::vector<ListenAddress> both = {Loopback(AF_INET6, port),
                                         Loopback(AF_INET, port)};
      if (busy_first != (busy_family == AF_INET6)) {
        std::swap(both[0], both[1]);
      }
      auto held = PortReservation::Reserve(both, "--listen", shown);
      SCOPED_TRACE(busy);
      EXPECT_EQ(held.status().code(), absl::StatusCode::kUnavailable);
      EXPECT_EQ(held.status().message(), "--listen: cannot listen on " + shown +
                                             " (" + busy + "): address in use");
      // Nothing is left held when one fails.
      EXPECT_TRUE(Free(Loopback(free_family, port)));
    }
  }
}

// Port 0 on several addresses: one port, free on all of them.
TEST(ListenTest, PortZeroOnSeveralAddressesPicksOnePortForAll) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback here";
  for (int i = 0; i < 20; ++i) {
    auto held =
        PortReservation::Reserve({Loopback(AF_INET, 0), Loopback(AF_INET6, 0)},
                                 "--listen", "localhost:0");
    ASSERT_TRUE(held.ok()) << held.status();
    ASSERT_GT(held->port(), 0);
    EXPECT_FALSE(Free(Loopback(AF_INET, held->port())));
    EXPECT_FALSE(Free(Loopback(AF_INET6, held->port())));
  }
}

}  // namespace
}  // namespace content
