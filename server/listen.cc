#include "server/listen.h"

#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace content {
namespace {

bool SameAddress(const ListenAddress& a, const ListenAddress& b) {
  return a.len == b.len && std::memcmp(&a.addr, &b.addr, a.len) == 0;
}

// A socket listening on `where` as contentd's listeners would, or -1 with
// errno set.
int BindAndListen(const ListenAddress& where) {
  const int fd =
      socket(where.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return -1;
  // TIME_WAIT connections of an earlier run are no conflict for the
  // listeners, so none here either. Listening, not just bound: two bound
  // SO_REUSEADDR sockets may share an address, two listening ones not.
  const int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&where.addr), where.len) !=
          0 ||
      listen(fd, 1) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

int BoundPort(int fd) {
  ListenAddress bound;
  bound.len = sizeof(bound.addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound.addr), &bound.len) !=
      0) {
    return 0;
  }
  return bound.port();
}

// False when this machine cannot have `a` at all: its family is not
// supported (IPv6 turned off), or no interface holds it.
bool CanExistHere(const ListenAddress& a) {
  ListenAddress any_port = a;
  any_port.set_port(0);
  const int fd =
      socket(a.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return errno != EAFNOSUPPORT;
  const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&any_port.addr),
                       any_port.len) == 0 ||
                  (errno != EADDRNOTAVAIL && errno != EAFNOSUPPORT);
  close(fd);
  return ok;
}

}  // namespace

std::vector<ListenAddress> DropAddressesNotHere(
    std::vector<ListenAddress> addresses) {
  std::vector<ListenAddress> here;
  for (const ListenAddress& a : addresses) {
    if (CanExistHere(a)) here.push_back(a);
  }
  // None: keep them all, so binding reports why.
  return here.empty() ? addresses : here;
}

int ListenAddress::port() const {
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return 0;
}

void ListenAddress::set_port(int port) {
  if (addr.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(port);
  } else if (addr.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(port);
  }
}

bool ListenAddress::IsLoopback() const {
  if (addr.ss_family == AF_INET) {
    const in_addr& a = reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr;
    return (ntohl(a.s_addr) >> 24) == 127;
  }
  if (addr.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a) ||
           (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
  }
  return false;
}

std::string ListenAddress::ToString() const {
  char host[NI_MAXHOST] = "";
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host,
                  sizeof(host), nullptr, 0, NI_NUMERICHOST) != 0) {
    return "?";
  }
  return addr.ss_family == AF_INET6 ? absl::StrCat("[", host, "]:", port())
                                    : absl::StrCat(host, ":", port());
}

absl::StatusOr<std::vector<ListenAddress>> ResolveListen(
    const std::string& host, int port, const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc =
      getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat(name, ": cannot resolve \"",
                                               host, "\": ", gai_strerror(rc)));
  }
  std::vector<ListenAddress> out;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
        ai->ai_addrlen > sizeof(sockaddr_storage)) {
      continue;
    }
    ListenAddress a;
    std::memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    bool seen = false;
    for (const ListenAddress& b : out) seen = seen || SameAddress(a, b);
    if (!seen) out.push_back(a);
  }
  freeaddrinfo(found);
  // /etc/hosts names ::1 localhost in containers that run with IPv6 off:
  // an address no interface can have is not one to serve or to refuse on.
  if (out.size() > 1) out = DropAddressesNotHere(std::move(out));
  if (out.empty()) {
    return absl::UnavailableError(absl::StrCat(
        name, ": \"", host, "\" resolves to no IPv4 or IPv6 address"));
  }
  return out;
}

absl::StatusOr<PortReservation> PortReservation::Reserve(
    const std::vector<ListenAddress>& addresses, const std::string& name,
    const std::string& shown) {
  // With port 0 the first address picks a port, which a later one may not
  // have free: then all are let go and another port tried.
  constexpr int kAttempts = 16;
  for (int attempt = 1;; ++attempt) {
    PortReservation held;
    bool retry = false;
    for (const ListenAddress& address : addresses) {
      ListenAddress where = address;
      if (held.port_ != 0) where.set_port(held.port_);
      const int fd = BindAndListen(where);
      if (fd < 0) {
        const int error = errno;
        if (error == EADDRINUSE && address.port() == 0 && held.port_ != 0 &&
            attempt < kAttempts) {
          retry = true;
          break;
        }
        const std::string resolved = where.ToString();
        return absl::UnavailableError(absl::StrCat(
            name, ": cannot listen on ", shown,
            resolved == shown ? "" : absl::StrCat(" (", resolved, ")"), ": ",
            error == EADDRINUSE ? "address in use" : std::strerror(error)));
      }
      held.fds_.push_back(fd);
      if (held.port_ == 0) held.port_ = BoundPort(fd);
    }
    if (!retry) return held;
  }
}

PortReservation::PortReservation(PortReservation&& other) noexcept
    : fds_(std::move(other.fds_)), port_(other.port_) {
  other.fds_.clear();
  other.port_ = 0;
}

PortReservation& PortReservation::operator=(PortReservation&& other) noexcept {
  if (this != &other) {
    Close();
    fds_ = std::move(other.fds_);
    port_ = other.port_;
    other.fds_.clear();
    other.port_ = 0;
  }
  return *this;
}

PortReservation::~PortReservation() { Close(); }

void PortReservation::Close() {
  for (int fd : fds_) close(fd);
  fds_.clear();
  port_ = 0;
}

}  // namespace content
