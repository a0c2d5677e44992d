// Counts the calls a gRPC server is running, so that a stop can tell when
// none is left and close the connections that stay open with no call on
// them instead of waiting for gRPC to.
#ifndef CONTENT_SERVER_SERVICE_CALL_TRACKER_H_
#define CONTENT_SERVER_SERVICE_CALL_TRACKER_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace content::service {

// Thread-safe. Must outlive the server its interceptors are registered with.
class CallTracker {
 public:
  // Counts every call of the server it is registered with
  // (ServerBuilder::experimental().SetInterceptorCreators), of every
  // service but health's Watch streams, from when gRPC hands the call to
  // the server until the call is gone (after its reactor's OnDone).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

  // Calls running now.
  int in_flight() const;

  // Waits until no call has run for `quiet` on end (counted from the later
  // of this call and the last call's end), or until `deadline`. True if
  // the quiet came first.
  bool WaitUntilQuiet(absl::Duration quiet, absl::Time deadline) const;

 private:
  class Counter;
  class Factory;
  void Started();
  void Ended();

  mutable absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_end_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_CALL_TRACKER_H_
