// The caller's request id (`x-request-id` metadata, common/request_id.h):
// checked before any other part of a call, and written to the request log.
#ifndef CONTENT_SERVER_SERVICE_REQUEST_ID_H_
#define CONTENT_SERVER_SERVICE_REQUEST_ID_H_

#include <grpcpp/server_context.h>

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

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_REQUEST_ID_H_
