// Internal to the SDK (not installed): how a call's gRPC status becomes the
// absl::Status the Client returns.
#ifndef CONTENT_CLIENT_GRPC_STATUS_H_
#define CONTENT_CLIENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace content::internal {

// `s` as an absl::Status: its code and message, and each detail of the
// google.rpc.Status in its grpc-status-details-bin trailer as a payload
// keyed by the detail's type URL, holding its serialized message (what
// content::ErrorReason and FieldViolations read). Details that do not
// parse are left out.
absl::Status FromGrpc(const grpc::Status& s);

}  // namespace content::internal

#endif  // CONTENT_CLIENT_GRPC_STATUS_H_
