// What contentd answers on grpc.health.v1, for the whole server ("") and
// each of its services by name, as Kubernetes probes and load balancers ask.
#ifndef CONTENT_SERVER_SERVICE_HEALTH_H_
#define CONTENT_SERVER_SERVICE_HEALTH_H_

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace content::service {

// The service names health answers besides "".
inline constexpr const char* kHealthServiceNames[] = {
    "content.v1.ContentService", "content.v1.AdminService"};

// The name whose health says whether this process can serve calls now, for
// readiness probes: NOT_SERVING whenever "" is, and also while the store
// cannot be reached (its database is down or cut off: StoreReachable),
// SERVING again once it can. "" stays SERVING through such an outage, which
// a restart would not cure, so that liveness probes and the systemd
// watchdog do not restart every replica for the database's sake.
inline constexpr const char* kReadinessServiceName = "content.v1.Readiness";

// SERVING from Attach on; NOT_SERVING under every name, for good, once the
// store stops taking writes (StorageFailed: only a restart recovers, so an
// orchestrator should restart the process) or a stop begins (Shutdown).
// kReadinessServiceName is also NOT_SERVING while the store is unreachable.
// Thread-safe; StorageFailed may come before Attach (while the server is
// built) and from any thread.
class ServingHealth {
 public:
  // `log` gets the one line StorageFailed writes; it must outlive this.
  explicit ServingHealth(std::ostream* log) : log_(log) {}

  // Answers through `health` from now on (null: the server has no health
  // service; only the log line is left).
  void Attach(grpc::HealthCheckServiceInterface* health);
  // The store refuses every write until a restart, for `why` (its
  // UNAVAILABLE). The first call writes one line to the log.
  void StorageFailed(const absl::Status& why);
  // A stop begins: NOT_SERVING while in-flight calls finish.
  void Shutdown();
  // Whether the store can be reached: OK, or why not (KvEngine::Ping).
  // Only kReadinessServiceName follows it; each change of reachability
  // writes one line to the log.
  void StoreReachable(const absl::Status& status);
  // Whether kReadinessServiceName answers SERVING.
  bool ready() const;
  // Whether StorageFailed was called.
  bool storage_failed() const;
  // Whether "" answers SERVING: neither StorageFailed nor Shutdown yet.
  bool serving() const;
  // Why "" (and every name) answers NOT_SERVING, as the log said it: the
  // store's error (StorageFailed) or that a stop began. "" while SERVING.
  std::string NotServingReason() const;
  // Why kReadinessServiceName answers NOT_SERVING: NotServingReason(), else
  // what readiness waits for and the store's error, as logged. "" while
  // ready.
  std::string NotReadyReason() const;

 private:
  std::string NotServingReasonLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  std::ostream* const log_;
  mutable absl::Mutex mu_;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool storage_failed_ ABSL_GUARDED_BY(mu_) = false;
  std::string storage_failure_ ABSL_GUARDED_BY(mu_);  // StorageFailed's why
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status unreachable_ ABSL_GUARDED_BY(mu_);  // OK: reachable
};

// The trailing metadata of a grpc.health.v1 Check that carry why contentd
// is not serving, since the health answer has room for a status only:
// kHealthReasonKey while "" (and every name) is NOT_SERVING
// (ServingHealth::NotServingReason), kReadinessReasonKey while
// kReadinessServiceName is (NotReadyReason). Each is there only while it
// applies, whatever name the call asked about. Values are the reason's
// bytes with `%` and those outside printable ASCII as `%XX`, as gRPC's
// grpc-message is sent.
inline constexpr char kHealthReasonKey[] = "contentd-health-reason";
inline constexpr char kReadinessReasonKey[] = "contentd-readiness-reason";

// Adds kHealthReasonKey and kReadinessReasonKey to grpc.health.v1 Check's
// answers as `health` says. `health` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewHealthReasonInterceptorFactory(const ServingHealth* health);

// Asks `ping` whether the store can be reached every `interval`, on a
// thread of its own, and tells `health` (StoreReachable), until destroyed.
// The destructor waits for a ping in progress: `ping` must be bounded.
class ReachabilityMonitor {
 public:
  ReachabilityMonitor(ServingHealth* health, std::function<absl::Status()> ping,
                      absl::Duration interval);
  ~ReachabilityMonitor();

 private:
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_HEALTH_H_
