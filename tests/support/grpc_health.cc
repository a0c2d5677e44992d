#include "tests/support/grpc_health.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace content::testing {

grpc::Status CheckHealth(grpc::Channel& channel, const std::string& service,
                         int* serving_status) {
  grpc::GenericStub stub(channel.shared_from_this());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  // HealthCheckRequest { string service = 1; }; names here are < 128 bytes,
  // so the length is one varint byte.
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back('\x0a');
    request_bytes.push_back(static_cast<char>(service.size()));
    request_bytes += service;
  }
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!response.Dump(&slices).ok())
    return grpc::Status(grpc::StatusCode::INTERNAL, "unreadable reply");
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse { ServingStatus status = 1; }; 0 (UNKNOWN) is
  // omitted on the wire.
  if (bytes.empty()) {
    *serving_status = 0;
  } else if (bytes.size() == 2 && bytes[0] == '\x08') {
    *serving_status = bytes[1];
  } else {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "reply is not a HealthCheckResponse");
  }
  return grpc::Status::OK;
}

}  // namespace content::testing
