#include "server/service/operations.h"

#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace content::service {

Operations::Handle::Handle(Handle&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), it_(other.it_) {}

Operations::Handle::~Handle() {
  if (owner_ == nullptr) return;
  absl::MutexLock lock(&owner_->mu_);
  owner_->running_.erase(it_);
}

void Operations::Handle::Step(const std::string& name, int number, int count,
                              int64_t total, const std::string& unit) {
  {
    absl::MutexLock lock(&owner_->mu_);
    it_->set_step(name);
    it_->set_unit(unit);
    it_->set_step_number(number);
    it_->set_step_count(count);
    it_->set_done(0);
    it_->set_total(total);
    it_->set_total_exact(false);
  }
  Reported();
}

void Operations::Handle::Progress(int64_t done, int64_t total, bool exact) {
  {
    absl::MutexLock lock(&owner_->mu_);
    it_->set_done(done);
    it_->set_total(total);
    it_->set_total_exact(exact);
  }
  Reported();
}

void Operations::Handle::Reported() {
  if (!owner_->on_report_) return;
  v1::RunningOperation now;
  {
    absl::MutexLock lock(&owner_->mu_);
    now = *it_;
  }
  owner_->on_report_(now);
}

Operations::Handle Operations::Start(const std::string& kind) {
  v1::RunningOperation op;
  op.set_kind(kind);
  const absl::Time now = absl::Now();
  const int64_t seconds = absl::ToUnixSeconds(now);
  op.mutable_start_time()->set_seconds(seconds);
  op.mutable_start_time()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(now - absl::FromUnixSeconds(seconds))));
  absl::MutexLock lock(&mu_);
  running_.push_back(std::move(op));
  return Handle(this, std::prev(running_.end()));
}

v1::ListOperationsResponse Operations::List() const {
  v1::ListOperationsResponse out;
  absl::MutexLock lock(&mu_);
  for (const v1::RunningOperation& op : running_) *out.add_operations() = op;
  return out;
}

}  // namespace content::service
