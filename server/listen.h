// TCP listen addresses: what a host resolves to, and sockets held on those
// addresses so contentd can tell whether its listeners will bind before it
// opens (and so creates) the store.
#ifndef CONTENT_SERVER_LISTEN_H_
#define CONTENT_SERVER_LISTEN_H_

#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace content {

// One address to listen on. A plain value.
struct ListenAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;

  int port() const;
  void set_port(int port);
  // Whether only this host can reach it: 127.0.0.0/8, ::1, or an IPv4
  // loopback address mapped into IPv6 (::ffff:127.0.0.1).
  bool IsLoopback() const;
  // "127.0.0.1:7070", "[::1]:7070": what gRPC takes as a listen address.
  std::string ToString() const;
};

// Every address `host` resolves to for a TCP listener on `port`, in the
// resolver's order and without duplicates. `host` is an IP literal (an IPv6
// one without brackets) or a name: `localhost` may be both 127.0.0.1 and
// ::1 (addresses of a name this machine cannot have are left out, see
// DropAddressesNotHere). UNAVAILABLE, naming `name` (the flag or key), if it
// resolves to none.
absl::StatusOr<std::vector<ListenAddress>> ResolveListen(
    const std::string& host, int port, const std::string& name);

// `addresses` without those this machine cannot have (an IPv6 address with
// IPv6 turned off, an address no interface holds); all of them when none
// is left. ResolveListen applies it to names that resolve to several.
std::vector<ListenAddress> DropAddressesNotHere(
    std::vector<ListenAddress> addresses);

// Listening sockets held on a set of addresses until destroyed. Not
// thread-safe; movable, not copyable.
class PortReservation {
 public:
  // Binds and listens on every one of `addresses` at once, as contentd's
  // listeners do (SO_REUSEADDR, no SO_REUSEPORT), so an address that
  // another process or another reservation holds fails. With port 0 in
  // every address, the port is one free on all of them. UNAVAILABLE
  // "NAME: cannot listen on SHOWN: why" on the first address that fails,
  // where SHOWN is `shown` (the address as given), followed by the
  // resolved address in parentheses when that reads differently.
  static absl::StatusOr<PortReservation> Reserve(
      const std::vector<ListenAddress>& addresses, const std::string& name,
      const std::string& shown);

  PortReservation(PortReservation&& other) noexcept;
  PortReservation& operator=(PortReservation&& other) noexcept;
  PortReservation(const PortReservation&) = delete;
  PortReservation& operator=(const PortReservation&) = delete;
  ~PortReservation();

  // The port held (the same on every address); 0 if none is.
  int port() const { return port_; }

 private:
  PortReservation() = default;
  void Close();

  std::vector<int> fds_;
  int port_ = 0;
};

}  // namespace content

#endif  // CONTENT_SERVER_LISTEN_H_
