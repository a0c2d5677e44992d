// The name of the host contentd runs on, for what it says of itself:
// GetServerInfo's `hostname` and the name its PostgreSQL sessions carry.
#ifndef CONTENT_SERVER_HOST_NAME_H_
#define CONTENT_SERVER_HOST_NAME_H_

#include <string>

namespace content {

// gethostname(2) (in Kubernetes, the pod's name), or "" if the system gives
// none. Thread-safe.
std::string HostName();

}  // namespace content

#endif  // CONTENT_SERVER_HOST_NAME_H_
