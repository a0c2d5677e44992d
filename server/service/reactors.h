// Reactors that only finish a call with an error, for streams refused
// before they start (bad token, shutting down).
#ifndef CONTENT_SERVER_SERVICE_REACTORS_H_
#define CONTENT_SERVER_SERVICE_REACTORS_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/status.h"
#include "server/error_details.h"

namespace content::service {

// The gRPC status of `s`, with its details (server/error_details.h) in the
// grpc-status-details-bin trailer. The one conversion of a call's status:
// every error a call ends with goes through it. OK costs nothing more.
inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()), EncodeStatusDetails(s));
}

// What a call still running at the end of a stop's grace ends with, and a
// call that comes after: UNAVAILABLE, which a client may retry (AIP-193),
// where gRPC's own cut said only "Cancelling all calls".
inline constexpr char kStoppingMessage[] =
    "contentd is stopping; retry on another replica or after restart";
inline grpc::Status StoppingStatus() {
  return ToGrpcStatus(WithReason(absl::UnavailableError(kStoppingMessage),
                                 reason::kShuttingDown));
}

template <typename Response>
class FailedWriteReactor : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FailedWriteReactor(const absl::Status& s) {
    this->Finish(ToGrpcStatus(s));
  }
  void OnDone() override { delete this; }
};

template <typename Request, typename Response>
class FailedBidiReactor : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit FailedBidiReactor(const absl::Status& s) {
    this->Finish(ToGrpcStatus(s));
  }
  void OnDone() override { delete this; }
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_REACTORS_H_
