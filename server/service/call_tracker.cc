#include "server/service/call_tracker.h"

#include <algorithm>
#include <cstring>

#include "absl/time/clock.h"

namespace content::service {

namespace {

// Health's Watch only waits for the next change of status; the stop has
// sent the last one (NOT_SERVING) and gRPC leaves the stream open, so it
// would hold every stop to the end of the grace.
constexpr char kHealthWatch[] = "/grpc.health.v1.Health/Watch";

}  // namespace

// One per call: created with it and destroyed with it. A null tracker
// counts nothing.
class CallTracker::Counter : public grpc::experimental::Interceptor {
 public:
  explicit Counter(CallTracker* tracker) : tracker_(tracker) {
    if (tracker_ != nullptr) tracker_->Started();
  }
  ~Counter() override {
    if (tracker_ != nullptr) tracker_->Ended();
  }
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  CallTracker* const tracker_;
};

class CallTracker::Factory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(CallTracker* tracker) : tracker_(tracker) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const bool watch = info->method() != nullptr &&
                       std::strcmp(info->method(), kHealthWatch) == 0;
    return new Counter(watch ? nullptr : tracker_);
  }

 private:
  CallTracker* const tracker_;
};

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
CallTracker::NewInterceptorFactory() {
  return std::make_unique<Factory>(this);
}

void CallTracker::Started() {
  absl::MutexLock lock(&mu_);
  ++in_flight_;
}

void CallTracker::Ended() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
  last_end_ = absl::Now();
}

int CallTracker::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

bool CallTracker::WaitUntilQuiet(absl::Duration quiet,
                                 absl::Time deadline) const {
  const absl::Time start = absl::Now();
  bool (*const busy)(const int*) = [](const int* n) { return *n != 0; };
  bool (*const idle)(const int*) = [](const int* n) { return *n == 0; };
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = absl::Now();
    if (in_flight_ == 0) {
      const absl::Time quiet_at = std::max(start, last_end_) + quiet;
      if (now >= quiet_at) return true;
      if (now >= deadline) return false;
      // A call that starts meanwhile ends the wait, which then waits for
      // its end and a quiet after it.
      mu_.AwaitWithDeadline(absl::Condition(busy, &in_flight_),
                            std::min(quiet_at, deadline));
    } else {
      if (now >= deadline) return false;
      mu_.AwaitWithDeadline(absl::Condition(idle, &in_flight_), deadline);
    }
  }
}

}  // namespace content::service
