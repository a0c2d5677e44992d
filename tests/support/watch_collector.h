// Test support: a Watch through the SDK collecting its events on a thread.
#ifndef CONTENT_TESTS_SUPPORT_WATCH_COLLECTOR_H_
#define CONTENT_TESTS_SUPPORT_WATCH_COLLECTOR_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "content/client.h"

namespace content::testing {

// Runs `client`'s Watch with `req` on a thread of its own, collecting the
// events until `want` arrived or it is destroyed (which cancels the Watch
// and joins the thread). Thread-safe.
class WatchCollector {
 public:
  // REQUIRES: `client` outlives the collector.
  WatchCollector(Client* client, v1::WatchArticlesRequest req, size_t want);
  ~WatchCollector();
  WatchCollector(const WatchCollector&) = delete;
  WatchCollector& operator=(const WatchCollector&) = delete;

  // Whether `want` events arrived within `timeout`.
  bool WaitFor(absl::Duration timeout);
  // Whether the stream started (WatchHooks::on_started) within `timeout`:
  // from then on, every write reaches the watch.
  bool WaitStarted(absl::Duration timeout);
  // Each `after` on_started gave, in order (once, or not yet).
  std::vector<int64_t> starts();
  // The events so far, in order.
  std::vector<v1::WatchArticlesResponse> events();
  size_t size();
  // What Watch returned; OK while it runs.
  absl::Status status();

 private:
  const size_t want_;
  std::mutex mu_;
  std::vector<v1::WatchArticlesResponse> events_;  // guarded by mu_
  std::vector<int64_t> starts_;                    // guarded by mu_
  absl::Status status_;                            // guarded by mu_
  WatchCanceller canceller_;
  std::thread thread_;
};

}  // namespace content::testing

#endif  // CONTENT_TESTS_SUPPORT_WATCH_COLLECTOR_H_
