#include "server/host_name.h"

#include <unistd.h>

namespace content {

std::string HostName() {
  // Zeroed and one byte longer than gethostname may fill, so that a
  // truncated name (which POSIX leaves unterminated) still ends in a NUL.
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

}  // namespace content
