#include "tests/support/grpc_raw.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace content::testing {

grpc::ChannelArguments NarrowWindowArgs() {
  grpc::ChannelArguments args;
  // Without the probe the window stays at the lookahead, whatever the load.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  return args;
}

std::shared_ptr<grpc::Channel> NarrowWindowChannel(const std::string& address) {
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   NarrowWindowArgs());
}

grpc::Status RawUnaryCall(
    grpc::Channel& channel, const std::string& method,
    const std::string& request,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    std::string* response, int timeout_seconds) {
  grpc::GenericStub stub(channel.shared_from_this());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(timeout_seconds));
  for (const auto& [key, value] : metadata) ctx.AddMetadata(key, value);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1), response_buffer;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request_buffer,
                 &response_buffer, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  response->clear();
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok())
    return grpc::Status(grpc::StatusCode::INTERNAL, "unreadable reply");
  for (const grpc::Slice& s : slices)
    response->append(reinterpret_cast<const char*>(s.begin()), s.size());
  return grpc::Status::OK;
}

namespace {

// The bytes of `buffer`.
std::string BytesOf(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

}  // namespace

grpc::Status RawStreamingCall(
    grpc::Channel& channel, const std::string& method,
    const std::vector<std::string>& requests,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    std::vector<std::string>* responses, size_t max_responses,
    int timeout_seconds) {
  grpc::GenericStub stub(channel.shared_from_this());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(timeout_seconds));
  for (const auto& [key, value] : metadata) ctx.AddMetadata(key, value);
  grpc::CompletionQueue cq;
  // One operation at a time: each waits for its own completion.
  const auto await = [&cq] {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&ctx, method, &cq);
  call->StartCall(nullptr);
  // A write or read that fails means the call has ended: Finish says how.
  bool open = await();
  for (const std::string& request : requests) {
    if (!open) break;
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, nullptr);
    open = await();
  }
  if (open) {
    call->WritesDone(nullptr);
    open = await();
  }
  responses->clear();
  while (open) {
    grpc::ByteBuffer buffer;
    call->Read(&buffer, nullptr);
    if (!await()) break;
    responses->push_back(BytesOf(buffer));
    if (responses->size() >= max_responses) {
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status status;
  call->Finish(&status, nullptr);
  await();
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

grpc::Status CheckHealth(grpc::Channel& channel, const std::string& service,
                         int* serving_status) {
  // HealthCheckRequest { string service = 1; }; names here are < 128 bytes,
  // so the length is one varint byte.
  std::string request;
  if (!service.empty()) {
    request.push_back('\x0a');
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  std::string bytes;
  grpc::Status status = RawUnaryCall(channel, "/grpc.health.v1.Health/Check",
                                     request, {}, &bytes);
  if (!status.ok()) return status;
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
