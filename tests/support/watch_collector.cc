#include "tests/support/watch_collector.h"

#include "absl/time/clock.h"

namespace content::testing {

WatchCollector::WatchCollector(Client* client, v1::WatchArticlesRequest req,
                               size_t want)
    : want_(want) {
  thread_ = std::thread([this, client, req] {
    WatchHooks hooks;
    hooks.on_started = [this](int64_t after) {
      std::lock_guard<std::mutex> lock(mu_);
      starts_.push_back(after);
    };
    absl::Status s = client->Watch(
        req,
        [this](const v1::WatchArticlesResponse& e) {
          std::lock_guard<std::mutex> lock(mu_);
          events_.push_back(e);
          return events_.size() < want_;
        },
        &canceller_, hooks);
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
  });
}

WatchCollector::~WatchCollector() {
  canceller_.Cancel();
  thread_.join();
}

bool WatchCollector::WaitFor(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (size() >= want_) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

bool WatchCollector::WaitStarted(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (!starts().empty()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

std::vector<int64_t> WatchCollector::starts() {
  std::lock_guard<std::mutex> lock(mu_);
  return starts_;
}

std::vector<v1::WatchArticlesResponse> WatchCollector::events() {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

size_t WatchCollector::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return events_.size();
}

absl::Status WatchCollector::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace content::testing
