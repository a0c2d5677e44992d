// The caller's request id (`x-request-id` metadata, common/request_id.h):
// checked before any other part of a call, of every service contentd
// serves, and written to the request log.
#ifndef CONTENT_SERVER_SERVICE_REQUEST_ID_H_
#define CONTENT_SERVER_SERVICE_REQUEST_ID_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/status/status.h"

namespace content::service {

// INVALID_ARGUMENT `x-request-id: RULE`, with a BadRequest naming the
// `x-request-id` field, when the caller sent a request id that is not
// 1-128 bytes of printable ASCII, or sent more than one; OK when it sent
// one good id or none. A client sending garbage learns of it, rather than
// finding its id altered in the log.
absl::Status CheckRequestId(const grpc::ServerContextBase& ctx);

// The caller's request id for the log: "" when it sent none, or one that
// CheckRequestId refuses (never logged raw).
std::string RequestIdOf(const grpc::ServerContextBase& ctx);

// Holds gRPC's own services, health (grpc.health.v1) and reflection, whose
// handlers are gRPC's, to the rule ContentService and AdminService check
// first thing in their handlers. A unary call with a malformed id ends with
// CheckRequestId's status, BadRequest included (its handler still runs; a
// health check changes nothing). A stream is cancelled with that code and
// message as it arrives, before it sends anything (a health Watch would
// otherwise run until its client left): gRPC 1.51's interceptors cannot
// refuse a call, and a cancel carries no BadRequest. The request log sees
// the same status. Register with
// ServerBuilder::experimental().SetInterceptorCreators, ahead of the
// request log's interceptor.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRequestIdInterceptorFactory();

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_REQUEST_ID_H_
