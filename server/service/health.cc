#include "server/service/health.h"

#include <ostream>

namespace content::service {

void ServingHealth::Attach(grpc::HealthCheckServiceInterface* health) {
  absl::MutexLock lock(&mu_);
  health_ = health;
  if (health_ == nullptr) return;
  // "" is SERVING from the start; the names are registered here.
  for (const char* name : kHealthServiceNames)
    health_->SetServingStatus(name, !storage_failed_);
  health_->SetServingStatus(kReadinessServiceName,
                            !storage_failed_ && unreachable_.ok());
  if (storage_failed_) health_->SetServingStatus(false);
}

void ServingHealth::StorageFailed(const absl::Status& why) {
  absl::MutexLock lock(&mu_);
  if (storage_failed_) return;
  storage_failed_ = true;
  *log_ << "contentd: health NOT_SERVING: " << why.message() << std::endl;
  // Every registered name, "" included.
  if (health_ != nullptr) health_->SetServingStatus(false);
}

void ServingHealth::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  if (health_ != nullptr) health_->Shutdown();
}

namespace {

// What readiness waits for while `status` (not OK) holds: the store to
// answer, or, while an offline repair holds a shared store
// (FAILED_PRECONDITION, KvEngine::Ping), the repair to end.
const char* WaitedFor(const absl::Status& status) {
  return absl::IsFailedPrecondition(status)
             ? "until the offline repair holding the store ends"
             : "until the store answers again";
}

}  // namespace

void ServingHealth::StoreReachable(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  const absl::Status before = unreachable_;
  unreachable_ = status;  // the latest reason
  // One line per change of what readiness waits for: none while it goes
  // on, one when it changes (the store answers, but a repair holds it).
  if (status.ok() == before.ok() &&
      (status.ok() || absl::IsFailedPrecondition(status) ==
                          absl::IsFailedPrecondition(before)))
    return;
  if (shut_down_) return;
  if (status.ok()) {
    *log_ << (absl::IsFailedPrecondition(before)
                  ? "contentd: readiness: the offline repair ended; SERVING "
                    "again"
                  : "contentd: readiness: the store answers again")
          << std::endl;
  } else {
    *log_ << "contentd: readiness: NOT_SERVING (" << kReadinessServiceName
          << ") " << WaitedFor(status) << ": " << status.message() << std::endl;
  }
  if (health_ != nullptr && !storage_failed_)
    health_->SetServingStatus(kReadinessServiceName, status.ok());
}

bool ServingHealth::ready() const {
  absl::MutexLock lock(&mu_);
  return !storage_failed_ && !shut_down_ && unreachable_.ok();
}

ReachabilityMonitor::ReachabilityMonitor(ServingHealth* health,
                                         std::function<absl::Status()> ping,
                                         absl::Duration interval) {
  thread_ = std::thread([this, health, ping = std::move(ping), interval] {
    absl::MutexLock lock(&mu_);
    while (!stop_) {
      mu_.Unlock();
      health->StoreReachable(ping());
      mu_.Lock();
      mu_.AwaitWithTimeout(absl::Condition(&stop_), interval);
    }
  });
}

ReachabilityMonitor::~ReachabilityMonitor() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

bool ServingHealth::storage_failed() const {
  absl::MutexLock lock(&mu_);
  return storage_failed_;
}

bool ServingHealth::serving() const {
  absl::MutexLock lock(&mu_);
  return !storage_failed_ && !shut_down_;
}

}  // namespace content::service
