// What contentd answers on grpc.health.v1, for the whole server ("") and
// each of its services by name, as Kubernetes probes and load balancers ask.
#ifndef CONTENT_SERVER_SERVICE_HEALTH_H_
#define CONTENT_SERVER_SERVICE_HEALTH_H_

#include <grpcpp/health_check_service_interface.h>

#include <functional>
#include <iosfwd>
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

 private:
  std::ostream* const log_;
  mutable absl::Mutex mu_;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool storage_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status unreachable_ ABSL_GUARDED_BY(mu_);  // OK: reachable
};

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
