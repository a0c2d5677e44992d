#include "server/service/health.h"

#include <cstring>
#include <map>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/error_details.h"
#include "server/log_line.h"

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
  storage_failure_ = std::string(why.message());
  LogLine(*log_, absl::StrCat("contentd: health NOT_SERVING: ", why.message()));
  // Every registered name, "" included.
  if (health_ != nullptr) health_->SetServingStatus(false);
}

void ServingHealth::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  if (health_ != nullptr) health_->Shutdown();
}

namespace {

// What keeps readiness NOT_SERVING, by KvEngine::Ping's status and the
// index check that follows it (main.cc): each gets its own log line.
enum class Waiting {
  kNothing,
  kAnswer,       // UNAVAILABLE: the database does not answer
  kNoError,      // another code: the database answers with an error
  kRepairEnd,    // REPAIR_RUNNING: an offline repair holds the store
  kIndexRepair,  // INDEX_REPAIR_PENDING: the indexes are marked incomplete
};

Waiting WaitingFor(const absl::Status& status) {
  if (status.ok()) return Waiting::kNothing;
  const std::string why = ReasonOf(status);
  if (why == reason::kRepairRunning) return Waiting::kRepairEnd;
  if (why == reason::kIndexRepairPending) return Waiting::kIndexRepair;
  return absl::IsUnavailable(status) ? Waiting::kAnswer : Waiting::kNoError;
}

// What readiness waits for while `status` (not OK) holds.
const char* WaitedFor(Waiting waiting) {
  switch (waiting) {
    case Waiting::kRepairEnd:
      return "until the offline repair holding the store ends";
    case Waiting::kIndexRepair:
      return "until an index repair completes (queries are refused "
             "meanwhile)";
    case Waiting::kNoError:
      return "until the store answers without this error";
    default:
      return "until the store answers again";
  }
}

// What the line says once readiness no longer waits for `waited`.
const char* Ended(Waiting waited) {
  switch (waited) {
    case Waiting::kRepairEnd:
      return "the offline repair ended; SERVING again";
    case Waiting::kIndexRepair:
      return "the indexes are complete again; SERVING again";
    case Waiting::kNoError:
      return "the store answers without error again";
    default:
      return "the store answers again";
  }
}

}  // namespace

void ServingHealth::StoreReachable(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  const Waiting before = WaitingFor(unreachable_);
  const Waiting now = WaitingFor(status);
  unreachable_ = status;  // the latest reason
  // One line per change of what readiness waits for: none while it goes
  // on, one when it changes (the store answers, but a repair holds it).
  if (now == before) return;
  if (shut_down_) return;
  if (status.ok()) {
    LogLine(*log_, absl::StrCat("contentd: readiness: ", Ended(before)));
  } else {
    LogLine(*log_, absl::StrCat("contentd: readiness: NOT_SERVING (",
                                kReadinessServiceName, ") ", WaitedFor(now),
                                ": ", status.message()));
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

std::string ServingHealth::NotServingReasonLocked() const {
  if (storage_failed_) return storage_failure_;
  if (shut_down_) return "contentd is stopping (in-flight calls are finishing)";
  return "";
}

std::string ServingHealth::NotServingReason() const {
  absl::MutexLock lock(&mu_);
  return NotServingReasonLocked();
}

std::string ServingHealth::NotReadyReason() const {
  absl::MutexLock lock(&mu_);
  std::string why = NotServingReasonLocked();
  if (!why.empty() || unreachable_.ok()) return why;
  // As the readiness line in the log says it.
  return absl::StrCat("not ready ", WaitedFor(WaitingFor(unreachable_)), ": ",
                      unreachable_.message());
}

namespace {

// `text` as a metadata value: `%` and bytes outside printable ASCII as
// `%XX` (gRPC refuses other bytes in a text value).
std::string PercentEncoded(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b > 0x7e || c == '%') {
      absl::StrAppendFormat(&out, "%%%02X", b);
    } else {
      out += c;
    }
  }
  return out;
}

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

class HealthReasonInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit HealthReasonInterceptor(const ServingHealth* health)
      : health_(health) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      std::multimap<std::string, std::string>* trailers =
          methods->GetSendTrailingMetadata();
      const std::string health = health_->NotServingReason();
      if (trailers != nullptr && !health.empty())
        trailers->emplace(kHealthReasonKey, PercentEncoded(health));
      const std::string ready = health_->NotReadyReason();
      if (trailers != nullptr && !ready.empty())
        trailers->emplace(kReadinessReasonKey, PercentEncoded(ready));
    }
    methods->Proceed();
  }

 private:
  const ServingHealth* const health_;
};

class HealthReasonFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit HealthReasonFactory(const ServingHealth* health) : health_(health) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (info->method() == nullptr ||
        std::strcmp(info->method(), kHealthCheck) != 0) {
      return nullptr;
    }
    // Ready, neither reason applies: no interceptor, so that a healthy
    // server's Check (bench/compare's measure of gRPC's own ceiling) costs
    // what it did. A call that meets a change of state on its way out goes
    // without the reason; the next one has it.
    if (health_->ready()) return nullptr;
    return new HealthReasonInterceptor(health_);
  }

 private:
  const ServingHealth* const health_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewHealthReasonInterceptorFactory(const ServingHealth* health) {
  return std::make_unique<HealthReasonFactory>(health);
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
