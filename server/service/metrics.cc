#include "server/service/metrics.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "server/service/parse_error_interceptor.h"
#include "server/service/request_id.h"

namespace content::service {
namespace {

// gRPC's code names (OK, NOT_FOUND, ...), which absl spells the same way.
std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// An error worth a line at `errors`: not a CANCELLED that only ends a call
// its client already left (a watch closed with Ctrl-C, `watch --count`
// done, a cancelled read). The client never sees that status, and a line
// per closed stream would bury real failures. The metrics still count it.
// gRPC's own health Watch ends a cancelled stream (its client left, or a
// stop closed it) UNKNOWN "OnCancel()": the same thing, not a failure.
bool IsServerError(const grpc::Status& status, bool cancelled) {
  if (status.ok()) return false;
  if (!cancelled) return true;
  const bool health_watch_cancelled =
      status.error_code() == grpc::StatusCode::UNKNOWN &&
      status.error_message() == "OnCancel()";
  return !(status.error_code() == grpc::StatusCode::CANCELLED ||
           health_watch_cancelled);
}

// What the client of a call gRPC cancelled (begun at `start`) saw:
// DEADLINE_EXCEEDED once the call's deadline has passed, whatever `sent`
// (the handler's answer, which goes nowhere then), else `sent`. Counted and
// logged as CANCELLED, a call whose client timed out read as one whose
// client left. gRPC's client ends the call by its own timer, a moment
// before the server's (which starts once the request's headers are read):
// a cancel with under a tenth of the call's time left, at most 1 s, is
// taken for the deadline.
grpc::Status AsItsClientSawIt(const grpc::ServerContextBase& ctx,
                              absl::Time start, grpc::Status sent) {
  const std::chrono::system_clock::time_point deadline_point = ctx.deadline();
  if (deadline_point == std::chrono::system_clock::time_point::max()) {
    return sent;
  }
  const absl::Time deadline = absl::FromChrono(deadline_point);
  const absl::Duration slack = std::clamp(
      (deadline - start) / 10, absl::ZeroDuration(), absl::Seconds(1));
  if (absl::Now() < deadline - slack) return sent;
  std::string message =
      "the call's deadline passed before it finished (its client got "
      "DEADLINE_EXCEEDED)";
  if (!sent.ok() && sent.error_code() != grpc::StatusCode::CANCELLED &&
      sent.error_message() != kUnparsableRequest) {
    absl::StrAppend(&message, "; contentd would have answered ",
                    CodeName(sent.error_code()), ": ", sent.error_message());
  }
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, message);
}

class ObservabilityInterceptor : public grpc::experimental::Interceptor {
 public:
  ObservabilityInterceptor(grpc::experimental::ServerRpcInfo* info,
                           Metrics* metrics, const Authenticator* auth,
                           RequestLog log)
      : info_(info),
        metrics_(metrics),
        auth_(auth),
        log_(log),
        start_(absl::Now()) {}

  ~ObservabilityInterceptor() override {
    // The call closed unseen (not expected): counted as it was answered.
    if (unparsed_ != nullptr) Emit(*unparsed_, /*cancelled=*/false);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
          status.error_message() == kUnparsableRequest) {
        Unparsed(status);
      } else {
        const absl::Duration latency = absl::Now() - start_;
        const std::string method = info_->method() ? info_->method() : "?";
        grpc::ServerContextBase* ctx = info_->server_context();
        const bool cancelled = ctx != nullptr && ctx->IsCancelled();
        if (cancelled)
          status = AsItsClientSawIt(*ctx, start_, std::move(status));
        metrics_->Record(method, status.error_code(), latency);
        if (log_ == RequestLog::kAll ||
            (log_ == RequestLog::kErrors &&
             IsServerError(status, cancelled && !status.ok()))) {
          Log(Capture(status, latency));
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_CLOSE)) {
      std::unique_ptr<Answered> unparsed;
      {
        absl::MutexLock lock(&mu_);
        closed_ = true;
        unparsed = std::move(unparsed_);
      }
      if (unparsed != nullptr) {
        grpc::ServerContextBase* ctx = info_->server_context();
        Emit(*unparsed, ctx != nullptr && ctx->IsCancelled());
      }
    }
    methods->Proceed();
  }

 private:
  // A status sent, with what its log line says of the call, taken while
  // the call's context may still be read.
  struct Answered {
    grpc::Status status;
    absl::Duration latency;
    std::string method;
    std::string peer;
    std::string token;
    std::string request_id;
  };

  Answered Capture(grpc::Status status, absl::Duration latency) const {
    grpc::ServerContextBase* ctx = info_->server_context();
    return Answered{
        std::move(status),
        latency,
        info_->method() ? info_->method() : "?",
        ctx != nullptr ? ctx->peer() : "?",
        auth_ != nullptr && ctx != nullptr ? auth_->NameOf(*ctx) : "-",
        ctx != nullptr ? RequestIdOf(*ctx) : ""};
  }

  // gRPC says "cannot be parsed" (UNIMPLEMENTED, which ParseErrorInterceptor
  // rewords) of a request its client cancelled before the whole of it
  // arrived (a deadline, a dropped connection) too, and the call knows
  // which only once it is closed (POST_RECV_CLOSE, before or after this):
  // a cancelled one is counted CANCELLED, and not logged as a client
  // sending garbage.
  void Unparsed(grpc::Status status) {
    auto answered = std::make_unique<Answered>(
        Capture(std::move(status), absl::Now() - start_));
    {
      absl::MutexLock lock(&mu_);
      if (!closed_) {
        unparsed_ = std::move(answered);
        return;
      }
    }
    grpc::ServerContextBase* ctx = info_->server_context();
    Emit(*answered, ctx != nullptr && ctx->IsCancelled());
  }

  // Counts a call answered "cannot be parsed" and logs it as the log
  // level says; `cancelled`: its client left.
  void Emit(const Answered& a, bool cancelled) {
    grpc::Status status = a.status;
    grpc::ServerContextBase* ctx = info_->server_context();
    if (cancelled && ctx != nullptr) {
      status = AsItsClientSawIt(*ctx, start_, std::move(status));
    }
    if (cancelled && status.error_message() == kUnparsableRequest) {
      status = grpc::Status(grpc::StatusCode::CANCELLED,
                            "the client cancelled the call before its request "
                            "arrived");
    }
    metrics_->Record(a.method, status.error_code(), a.latency);
    if (log_ == RequestLog::kAll ||
        (log_ == RequestLog::kErrors && IsServerError(status, cancelled))) {
      Answered logged = a;
      logged.status = std::move(status);
      Log(logged);
    }
  }

  static void Log(const Answered& a) {
    const std::string line = RequestLogLine(
        absl::Now(), a.method, a.peer, a.token, a.status.error_code(),
        a.latency, a.status.error_message(), a.request_id);
    std::fputs(line.c_str(), stderr);
  }

  grpc::experimental::ServerRpcInfo* const info_;
  Metrics* const metrics_;
  const Authenticator* const auth_;
  const RequestLog log_;
  const absl::Time start_;
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<Answered> unparsed_ ABSL_GUARDED_BY(mu_);
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  Factory(Metrics* metrics, const Authenticator* auth, RequestLog log)
      : metrics_(metrics), auth_(auth), log_(log) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ObservabilityInterceptor(info, metrics_, auth_, log_);
  }

 private:
  Metrics* const metrics_;
  const Authenticator* const auth_;
  const RequestLog log_;
};

// Prometheus label values escape backslash, quote and newline.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// A logfmt value: bare when it can be, else quoted with `"`, `\` and
// control characters escaped, so a reader splits the line where it should.
std::string LogfmtValue(absl::string_view v, bool always_quote) {
  const bool bare = !always_quote && !v.empty() &&
                    std::none_of(v.begin(), v.end(), [](char c) {
                      return c == ' ' || c == '=' || c == '"' || c == '\\' ||
                             static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                    });
  if (bare) return std::string(v);
  std::string out = "\"";
  for (const char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string RequestLogLine(absl::Time time, absl::string_view method,
                           absl::string_view peer, absl::string_view token,
                           grpc::StatusCode code, absl::Duration latency,
                           absl::string_view error,
                           absl::string_view request_id) {
  std::string line = absl::StrFormat(
      "time=%s method=%s peer=%s token=%s code=%s latency_ms=%.3f",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()),
      LogfmtValue(method, false), LogfmtValue(peer, false),
      LogfmtValue(token, false), CodeName(code),
      absl::ToDoubleMilliseconds(latency));
  if (!request_id.empty()) {
    absl::StrAppend(&line, " request_id=", LogfmtValue(request_id, false));
  }
  if (code != grpc::StatusCode::OK) {
    absl::StrAppend(&line, " error=", LogfmtValue(error, true));
  }
  line += '\n';
  return line;
}

namespace {

// Whether this server serves `path` (`/pkg.Service/Method`): a method of a
// service compiled in (the descriptor pool), or the health and reflection
// services gRPC provides.
bool Served(absl::string_view path) {
  if (path == "/grpc.health.v1.Health/Check" ||
      path == "/grpc.health.v1.Health/Watch" ||
      path ==
          "/grpc.reflection.v1alpha.ServerReflection/"
          "ServerReflectionInfo" ||
      path == "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") {
    return true;
  }
  if (!absl::ConsumePrefix(&path, "/")) return false;
  const size_t slash = path.find('/');
  if (slash == absl::string_view::npos) return false;
  // The service by its full name, then the method in it: joined into one
  // dotted name, `/content.v1/ContentService.GetArticle` (which gRPC does
  // not serve) found GetArticle and got a series of its own.
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(path.substr(0, slash)));
  return service != nullptr &&
         service->FindMethodByName(std::string(path.substr(slash + 1))) !=
             nullptr;
}

// Prometheus sample values: integers exactly (counts, bytes and sequences
// pass a million), other values in the fewest digits that read back as the
// same double. Always 17 printed the block-cache hit ratio, read as
// "0.0857143", as 0.085714299999999993.
std::string SampleValue(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  for (int digits = 15; digits < 17; ++digits) {
    std::string text = absl::StrFormat("%.*g", digits, v);
    if (std::strtod(text.c_str(), nullptr) == v) return text;
  }
  return absl::StrFormat("%.17g", v);
}

}  // namespace

void Metrics::Record(const std::string& method, grpc::StatusCode code,
                     absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  absl::MutexLock lock(&mu_);
  auto it = by_method_.find(method);
  if (it == by_method_.end()) {
    // The descriptor lookup runs once per served method, and on every call
    // of a path nobody serves.
    it = by_method_.try_emplace(Served(method) ? method : "unknown").first;
  }
  Series& s = it->second;
  ++s.codes[static_cast<int>(code)];
  ++s.count;
  s.sum_seconds += seconds;
  for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    if (seconds <= kBucketsSeconds[i]) ++s.buckets[i];
  }
}

std::string Metrics::Render(const std::vector<Gauge>& gauges) const {
  std::string out;
  absl::StrAppend(&out,
                  "# HELP contentd_rpcs_total RPCs finished, by method and "
                  "status code.\n# TYPE contentd_rpcs_total counter\n");
  absl::MutexLock lock(&mu_);
  for (const auto& [method, s] : by_method_) {
    for (const auto& [code, n] : s.codes) {
      absl::StrAppend(&out, "contentd_rpcs_total{method=\"", Label(method),
                      "\",code=\"", CodeName(code), "\"} ", n, "\n");
    }
  }
  absl::StrAppend(&out,
                  "# HELP contentd_rpc_latency_seconds RPC latency, by "
                  "method.\n# TYPE contentd_rpc_latency_seconds histogram\n");
  for (const auto& [method, s] : by_method_) {
    const std::string m = Label(method);
    for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
      absl::StrAppend(&out, "contentd_rpc_latency_seconds_bucket{method=\"", m,
                      "\",le=\"", kBucketsSeconds[i], "\"} ", s.buckets[i],
                      "\n");
    }
    absl::StrAppend(&out, "contentd_rpc_latency_seconds_bucket{method=\"", m,
                    "\",le=\"+Inf\"} ", s.count, "\n");
    absl::StrAppend(&out, "contentd_rpc_latency_seconds_sum{method=\"", m,
                    "\"} ", SampleValue(s.sum_seconds), "\n");
    absl::StrAppend(&out, "contentd_rpc_latency_seconds_count{method=\"", m,
                    "\"} ", s.count, "\n");
  }
  std::string last_family;
  for (const Gauge& g : gauges) {
    const std::string family = g.name.substr(0, g.name.find('{'));
    if (family != last_family) {
      absl::StrAppend(&out, "# HELP ", family, " ", g.help, "\n# TYPE ", family,
                      g.counter ? " counter\n" : " gauge\n");
      last_family = family;
    }
    absl::StrAppend(&out, g.name, " ", SampleValue(g.value), "\n");
  }
  return out;
}

std::optional<Metrics::Gauge> StorageGauge(absl::string_view name,
                                           absl::string_view text) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value)) return std::nullopt;
  struct Known {
    absl::string_view figure;
    absl::string_view metric;
    absl::string_view help;
    bool counter;
  };
  // Dashboards key on these names: rename one only with a note in
  // docs/operations.md.
  static constexpr Known kKnown[] = {
      {"rocksdb.estimate-live-data-size",
       "contentd_rocksdb_estimate_live_data_size_bytes",
       "Estimated bytes of live data in RocksDB's files.", false},
      {"rocksdb.total-sst-files-size",
       "contentd_rocksdb_total_sst_files_size_bytes",
       "Bytes of RocksDB's table files, obsolete ones not yet deleted "
       "included.",
       false},
      {"rocksdb.cur-size-all-mem-tables",
       "contentd_rocksdb_cur_size_all_mem_tables_bytes",
       "Bytes held by RocksDB's memtables, unflushed ones included.", false},
      {"rocksdb.estimate-num-keys", "contentd_rocksdb_estimate_num_keys",
       "Estimated number of keys in RocksDB.", false},
      {"rocksdb.estimate-pending-compaction-bytes",
       "contentd_rocksdb_estimate_pending_compaction_bytes",
       "Estimated bytes compaction has to rewrite to bring every level "
       "within its target size.",
       false},
      {"rocksdb.num-running-compactions",
       "contentd_rocksdb_num_running_compactions", "Compactions running.",
       false},
      {"rocksdb.block-cache-usage", "contentd_rocksdb_block_cache_usage_bytes",
       "Bytes in the block cache.", false},
      {"rocksdb.block-cache-capacity",
       "contentd_rocksdb_block_cache_capacity_bytes",
       "Capacity of the block cache in bytes (block_cache_mb).", false},
      {"rocksdb.block-cache-pinned-usage",
       "contentd_rocksdb_block_cache_pinned_usage_bytes",
       "Bytes of block-cache entries pinned by readers.", false},
      {"rocksdb.estimate-table-readers-mem",
       "contentd_rocksdb_estimate_table_readers_mem_bytes",
       "Estimated bytes of memory held by table readers outside the block "
       "cache.",
       false},
      {"rocksdb.block-cache-hit", "contentd_rocksdb_block_cache_hit_total",
       "Block-cache lookups that hit, revision bodies apart.", true},
      {"rocksdb.block-cache-miss", "contentd_rocksdb_block_cache_miss_total",
       "Block-cache lookups that missed, revision bodies apart.", true},
      {"rocksdb.block-cache-hit-ratio",
       "contentd_rocksdb_block_cache_hit_ratio",
       "Block-cache hits over lookups since start.", false},
      {"rocksdb.blob-cache-hit", "contentd_rocksdb_blob_cache_hit_total",
       "Revision-body (blob) lookups that hit the block cache.", true},
      {"rocksdb.blob-cache-miss", "contentd_rocksdb_blob_cache_miss_total",
       "Revision-body (blob) lookups that missed the block cache and read a "
       "file.",
       true},
      {"rocksdb.write-resumes", "contentd_rocksdb_write_resumes_total",
       "Flushes run to take writes again after RocksDB stopped them (a "
       "failed write, or a flush that met a full volume).",
       true},
      {"postgres.table-bytes", "contentd_postgres_table_bytes",
       "Bytes of the store's table, its indexes and TOAST included.", false},
  };
  for (const Known& k : kKnown) {
    if (k.figure == name) {
      return Metrics::Gauge{std::string(k.metric), std::string(k.help), value,
                            k.counter};
    }
  }
  std::string metric = absl::StrCat("contentd_", name);
  for (char& c : metric) {
    if (c == '.' || c == '-') c = '_';
  }
  // RocksDB's tickers (cache hits and misses) only grow.
  const bool total =
      absl::EndsWith(name, "-hit") || absl::EndsWith(name, "-miss");
  if (total) absl::StrAppend(&metric, "_total");
  return Metrics::Gauge{std::move(metric),
                        absl::StrCat("Storage engine figure ", name, "."),
                        value, total};
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewObservabilityInterceptorFactory(Metrics* metrics, const Authenticator* auth,
                                   RequestLog log) {
  return std::make_unique<Factory>(metrics, auth, log);
}

}  // namespace content::service
