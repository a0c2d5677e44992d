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

bool ServingHealth::storage_failed() const {
  absl::MutexLock lock(&mu_);
  return storage_failed_;
}

bool ServingHealth::serving() const {
  absl::MutexLock lock(&mu_);
  return !storage_failed_ && !shut_down_;
}

}  // namespace content::service
