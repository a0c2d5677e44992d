// A raw grpc.health.v1.Health/Check call for tests, so they need no
// generated health stubs (Debian's gRPC ships none).
#ifndef CONTENT_TESTS_SUPPORT_GRPC_HEALTH_H_
#define CONTENT_TESTS_SUPPORT_GRPC_HEALTH_H_

#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace content::testing {

// Asks `channel`'s server for the health of `service` ("" is the server as a
// whole), waiting up to 10 s. On OK, *serving_status is the answer:
// 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING; a reply that is not a
// HealthCheckResponse is INTERNAL. Thread-safe.
grpc::Status CheckHealth(grpc::Channel& channel, const std::string& service,
                         int* serving_status);

}  // namespace content::testing

#endif  // CONTENT_TESTS_SUPPORT_GRPC_HEALTH_H_
