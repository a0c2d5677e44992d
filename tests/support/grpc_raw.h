// Raw gRPC calls for tests: request bytes in, reply bytes out, for methods
// with no generated stub here (Debian's gRPC ships no health stubs) or
// requests that must not parse.
#ifndef CONTENT_TESTS_SUPPORT_GRPC_RAW_H_
#define CONTENT_TESTS_SUPPORT_GRPC_RAW_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/status.h"

namespace content::testing {

// Sends `request` (encoded bytes) to `method` ("/pkg.Service/Method") on
// `channel` with `metadata`, waiting up to `timeout_seconds`; on OK,
// *response holds the reply's bytes. Thread-safe.
grpc::Status RawUnaryCall(
    grpc::Channel& channel, const std::string& method,
    const std::string& request,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    std::string* response, int timeout_seconds = 10);

// Calls a streaming `method` on `channel` with `metadata`: sends each of
// `requests` (encoded bytes), closes its side, and reads replies into
// *responses until the server ends the call, or until it has
// `max_responses` of them (then it cancels the call: CANCELLED). Waits up
// to `timeout_seconds` in all. Returns the call's status. Thread-safe.
grpc::Status RawStreamingCall(
    grpc::Channel& channel, const std::string& method,
    const std::vector<std::string>& requests,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    std::vector<std::string>* responses, size_t max_responses = SIZE_MAX,
    int timeout_seconds = 10);

// Channel arguments under which a stream takes at most 64 KiB ahead of
// what its client read, for tests of a client that stops reading. gRPC's
// default window follows its estimate of the connection's bandwidth-delay
// product (BDP probing): on loopback several megabytes, and more on a
// loaded machine, where a probe's answer comes late; a test's writes then
// all fit in it and the server never blocks.
grpc::ChannelArguments NarrowWindowArgs();
// An insecure channel to `address` with NarrowWindowArgs().
std::shared_ptr<grpc::Channel> NarrowWindowChannel(const std::string& address);

// Asks `channel`'s server for the health of `service` ("" is the server as a
// whole), waiting up to 10 s. On OK, *serving_status is the answer:
// 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING; a reply that is not a
// HealthCheckResponse is INTERNAL. Thread-safe.
grpc::Status CheckHealth(grpc::Channel& channel, const std::string& service,
                         int* serving_status);

}  // namespace content::testing

#endif  // CONTENT_TESTS_SUPPORT_GRPC_RAW_H_
