// Per-RPC metrics (Prometheus text) and one structured log line per request,
// both fed by a gRPC server interceptor.
#ifndef CONTENT_SERVER_SERVICE_METRICS_H_
#define CONTENT_SERVER_SERVICE_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/service/auth.h"

namespace content::service {

// Counts and latency histograms of RPCs by method and status code.
// Thread-safe.
class Metrics {
 public:
  static constexpr std::array<double, 16> kBucketsSeconds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

  // `method` is the gRPC path (`/pkg.Service/Method`). Paths this server
  // does not serve are counted under `method="unknown"`: every path a
  // client makes up would otherwise add series for good.
  void Record(const std::string& method, grpc::StatusCode code,
              absl::Duration latency);

  // A named value sampled when rendering.
  struct Gauge {
    std::string name;  // e.g. contentd_articles{state="live"}
    std::string help;
    double value;
    // A running total (TYPE counter) rather than a level. Default: false.
    bool counter = false;
  };
  // Prometheus text exposition format 0.0.4: the RPC series, then `gauges`.
  std::string Render(const std::vector<Gauge>& gauges) const;

 private:
  struct Series {
    std::map<int, int64_t> codes;  // status code -> count
    std::array<int64_t, kBucketsSeconds.size()> buckets{};
    int64_t count = 0;
    double sum_seconds = 0;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Series> by_method_ ABSL_GUARDED_BY(mu_);
};

// The metric for the storage figure `name` (a GetStats key, e.g.
// `rocksdb.block-cache-hit`) holding `value`, named as Prometheus expects:
// running totals end in `_total`, sizes in `_bytes`, and the help text says
// what the figure is. A figure this build does not know keeps its name with
// `.` and `-` as `_` (and `_total` if it is a total). None for a value that
// is not a number (`postgres.error`, the reason the figures could not be
// read): a 0 in its place would read as a measurement.
std::optional<Metrics::Gauge> StorageGauge(absl::string_view name,
                                           absl::string_view value);

// Which requests get a log line on stderr.
enum class RequestLog { kNone, kErrors, kAll };

// One request's log line in logfmt, ending in a newline:
// `time=... method=... peer=... token=... code=... latency_ms=...`, then
// `request_id=...` if `request_id` is not empty (the caller's
// `x-request-id`, which contentd checked: request_id.h), then
// `error="..."` (always quoted) unless `code` is OK. A value with a space,
// `=`, `"`, `\` or a control character, or an empty one, is quoted, with
// `"` and `\` escaped by a backslash and newline, CR and tab as `\n`, `\r`,
// `\t` (other control characters as `\u00XX`).
std::string RequestLogLine(absl::Time time, absl::string_view method,
                           absl::string_view peer, absl::string_view token,
                           grpc::StatusCode code, absl::Duration latency,
                           absl::string_view error,
                           absl::string_view request_id = "");

// Records every RPC in `metrics` and logs it per `log`, a RequestLogLine on
// stderr. `metrics` and `auth` (may be null) must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewObservabilityInterceptorFactory(Metrics* metrics, const Authenticator* auth,
                                   RequestLog log);

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_METRICS_H_
