#ifndef CONTENT_TESTS_SUPPORT_HELD_PORT_H_
#define CONTENT_TESTS_SUPPORT_HELD_PORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace content::testing {

// A socket listening on loopback (127.0.0.1, or ::1 for AF_INET6; port 0:
// a free one) until destroyed. It accepts nothing: a connection made to it
// waits in the backlog, as to a server that never answers, and a bind to
// its port fails. Not thread-safe.
class HeldPort {
 public:
  explicit HeldPort(int family = AF_INET, int port = 0) {
    fd_ = socket(family, SOCK_STREAM, 0);
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      a->sin6_port = htons(port);
      len = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a->sin_port = htons(port);
      len = sizeof(*a);
    }
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        listen(fd_, 1) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(family == AF_INET6
                        ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                        : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    }
  }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  ~HeldPort() {
    if (fd_ >= 0) close(fd_);
  }
  // 0 if the bind failed.
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace content::testing

#endif  // CONTENT_TESTS_SUPPORT_HELD_PORT_H_
