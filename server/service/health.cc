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

void ServingHealth::StoreReachable(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (status.ok() == unreachable_.ok()) {
    unreachable_ = status;  // the latest reason
    return;
  }
  unreachable_ = status;
  if (shut_down_) return;
  if (status.ok()) {
    *log_ << "contentd: readiness: the store answers again" << std::endl;
  } else {
    *log_ << "contentd: readiness: NOT_SERVING (" << kReadinessServiceName
          << ") until the store answers again: " << status.message()
          << std::endl;
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
