// Tests for the metrics and the per-request log line
// (server/service/metrics.h).

#include "server/service/metrics.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "content/v1/content_service.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace content::service {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kTime = absl::FromUnixMillis(1739014452123);

// The rate limiter's message quotes the token's name.
TEST(RequestLogLineTest, QuotesInErrorAreEscaped) {
  EXPECT_EQ(
      RequestLogLine(kTime, "/m", "ipv4:127.0.0.1:5000", "r",
                     grpc::StatusCode::RESOURCE_EXHAUSTED, absl::ZeroDuration(),
                     "token \"r\" is over its rate limit"),
      "time=2025-02-08T11:34:12.123Z method=/m peer=ipv4:127.0.0.1:5000 "
      "token=r code=RESOURCE_EXHAUSTED latency_ms=0.000 "
      "error=\"token \\\"r\\\" is over its rate limit\"\n");
}

TEST(RequestLogLineTest, BackslashesAndControlCharactersAreEscaped) {
  const std::string line =
      RequestLogLine(kTime, "/m", "p", "t", grpc::StatusCode::INVALID_ARGUMENT,
                     absl::ZeroDuration(), "a\\b\nc\rd\te\x01");
  EXPECT_THAT(line, EndsWith(" error=\"a\\\\b\\nc\\rd\\te\\u0001\"\n"));
  // One line, however many lines the message has.
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  // An error without a message is still a (quoted, empty) value.
  EXPECT_THAT(RequestLogLine(kTime, "/m", "p", "t", grpc::StatusCode::INTERNAL,
                             absl::ZeroDuration(), ""),
              EndsWith(" code=INTERNAL latency_ms=0.000 error=\"\"\n"));
}

// Token names come from the configuration and may hold anything; values
// that need no quotes (the usual ones) stay bare.
TEST(RequestLogLineTest, OtherValuesQuotedOnlyWhenNeeded) {
  EXPECT_EQ(RequestLogLine(kTime, "/content.v1.ContentService/GetArticle",
                           "ipv4:127.0.0.1:5000", "-", grpc::StatusCode::OK,
                           absl::Microseconds(1500), ""),
            "time=2025-02-08T11:34:12.123Z "
            "method=/content.v1.ContentService/GetArticle "
            "peer=ipv4:127.0.0.1:5000 token=- code=OK latency_ms=1.500\n");
  EXPECT_THAT(RequestLogLine(kTime, "/m", "p", "ci bot \"x\"=1",
                             grpc::StatusCode::OK, absl::ZeroDuration(), ""),
              HasSubstr(" peer=p token=\"ci bot \\\"x\\\"=1\" code=OK "));
  EXPECT_THAT(RequestLogLine(kTime, "/m", "", "t", grpc::StatusCode::OK,
                             absl::ZeroDuration(), ""),
              HasSubstr(" peer=\"\" token=t "));
}

// The caller's request id follows latency_ms (lines read as before up to
// there), before the error, quoted as other values are; none, no field.
TEST(RequestLogLineTest, RequestIdFollowsTheLatencyWhenGiven) {
  EXPECT_EQ(RequestLogLine(kTime, "/m", "p", "t", grpc::StatusCode::NOT_FOUND,
                           absl::Microseconds(1500), "gone", "order-42"),
            "time=2025-02-08T11:34:12.123Z method=/m peer=p token=t "
            "code=NOT_FOUND latency_ms=1.500 request_id=order-42 "
            "error=\"gone\"\n");
  EXPECT_THAT(RequestLogLine(kTime, "/m", "p", "t", grpc::StatusCode::OK,
                             absl::ZeroDuration(), "", "a \"b\"=c"),
              EndsWith(" request_id=\"a \\\"b\\\"=c\"\n"));
  EXPECT_THAT(RequestLogLine(kTime, "/m", "p", "t", grpc::StatusCode::OK,
                             absl::ZeroDuration(), "", ""),
              Not(HasSubstr("request_id")));
}

// Made-up paths (answered UNIMPLEMENTED) share one series: each used to add
// twenty lines to /metrics for good, for any client that cares to call.
TEST(MetricsTest, PathsNobodyServesShareOneSeries) {
  // Link the service's descriptors in, as the server does.
  (void)v1::GetArticleRequest::descriptor();
  Metrics m;
  m.Record("/content.v1.ContentService/GetArticle", grpc::StatusCode::OK,
           absl::Milliseconds(1));
  m.Record("/grpc.health.v1.Health/Check", grpc::StatusCode::OK,
           absl::Milliseconds(1));
  for (int i = 0; i < 500; ++i) {
    m.Record(absl::StrCat("/junk.S/M", i), grpc::StatusCode::UNIMPLEMENTED,
             absl::Milliseconds(1));
  }
  m.Record("/content.v1.ContentService/NoSuchMethod",
           grpc::StatusCode::UNIMPLEMENTED, absl::Milliseconds(1));
  const std::string out = m.Render({});
  EXPECT_THAT(out, HasSubstr("contentd_rpcs_total{method=\"/content.v1."
                             "ContentService/GetArticle\",code=\"OK\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("method=\"/grpc.health.v1.Health/Check\""));
  EXPECT_THAT(out, HasSubstr("contentd_rpcs_total{method=\"unknown\",code="
                             "\"UNIMPLEMENTED\"} 501\n"));
  EXPECT_THAT(out, Not(HasSubstr("junk")));
  EXPECT_THAT(out, Not(HasSubstr("NoSuchMethod")));
  EXPECT_LT(out.size(), 6000u);
}

// A path that names a served method with the slash elsewhere
// (`/content.v1/ContentService.GetArticle`), which gRPC answers
// UNIMPLEMENTED, is not served either: it had a series of its own, its
// dotted name being GetArticle's.
TEST(MetricsTest, AServedMethodWithItsSlashMovedIsUnknown) {
  (void)v1::GetArticleRequest::descriptor();
  Metrics m;
  for (const char* path : {"/content.v1/ContentService.GetArticle",
                           "/content/v1.ContentService.GetArticle",
                           "/content.v1.ContentService.GetArticle/"}) {
    m.Record(path, grpc::StatusCode::UNIMPLEMENTED, absl::Milliseconds(1));
  }
  const std::string out = m.Render({});
  EXPECT_THAT(out, HasSubstr("contentd_rpcs_total{method=\"unknown\",code="
                             "\"UNIMPLEMENTED\"} 3\n"));
  EXPECT_THAT(out, Not(HasSubstr("GetArticle")));
}

// Gauges print every digit (a 128 MiB capacity was 1.34218e+08), and
// running totals say they are counters.
TEST(MetricsTest, ValuesKeepTheirDigitsAndTotalsAreCounters) {
  Metrics m;
  const std::string out =
      m.Render({{"contentd_rocksdb_block_cache_capacity", "h", 134217728.0},
                {"contentd_last_sequence", "h", 12345678901.0},
                {"contentd_ratio", "h", 0.123456789012},
                {"contentd_rocksdb_block_cache_hit", "h", 42.0, true}});
  EXPECT_THAT(out, HasSubstr("contentd_rocksdb_block_cache_capacity "
                             "134217728\n"));
  EXPECT_THAT(out, HasSubstr("contentd_last_sequence 12345678901\n"));
  EXPECT_THAT(out, HasSubstr("contentd_ratio 0.123456789012\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE contentd_rocksdb_block_cache_hit "
                             "counter\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE contentd_last_sequence gauge\n"));
}

// A value prints in the fewest digits that read back as it: the hit ratio
// RocksDB's figures give as "0.0857143" printed 0.085714299999999993.
TEST(MetricsTest, ValuesPrintInTheFewestDigitsThatReadBackTheSame) {
  Metrics m;
  const std::optional<Metrics::Gauge> ratio =
      StorageGauge("rocksdb.block-cache-hit-ratio", "0.0857143");
  ASSERT_TRUE(ratio.has_value());
  const std::string out = m.Render({*ratio,
                                    {"contentd_third", "h", 1.0 / 3.0},
                                    {"contentd_tenth", "h", 0.1}});
  EXPECT_THAT(out, HasSubstr("contentd_rocksdb_block_cache_hit_ratio "
                             "0.0857143\n"));
  // As many digits as it takes to read back the same double.
  EXPECT_THAT(out, HasSubstr("contentd_third 0.3333333333333333\n"));
  EXPECT_THAT(out, HasSubstr("contentd_tenth 0.1\n"));
}

// Storage figures follow Prometheus' naming: totals end in `_total`, sizes
// in `_bytes`; a figure a later RocksDB adds still gets `_total` if it is one.
TEST(MetricsTest, StorageFiguresAreNamedByPrometheusRules) {
  const std::optional<Metrics::Gauge> hit =
      StorageGauge("rocksdb.block-cache-hit", "3");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->name, "contentd_rocksdb_block_cache_hit_total");
  EXPECT_TRUE(hit->counter);
  const std::optional<Metrics::Gauge> usage =
      StorageGauge("rocksdb.block-cache-usage", "96");
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->name, "contentd_rocksdb_block_cache_usage_bytes");
  EXPECT_FALSE(usage->counter);
  EXPECT_EQ(usage->value, 96);
  EXPECT_THAT(usage->help, Not(HasSubstr("rocksdb.")));
  const std::optional<Metrics::Gauge> later =
      StorageGauge("rocksdb.row-cache-miss", "1");
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->name, "contentd_rocksdb_row_cache_miss_total");
  EXPECT_TRUE(later->counter);
  EXPECT_EQ(StorageGauge("rocksdb.new-figure", "1")->name,
            "contentd_rocksdb_new_figure");
}

// The reason figures could not be read is no figure: it was exported as
// `contentd_postgres_error 0`.
TEST(MetricsTest, AStorageFigureThatIsNoNumberIsLeftOut) {
  EXPECT_FALSE(
      StorageGauge("postgres.error", "UNAVAILABLE: PostgreSQL connection lost")
          .has_value());
  EXPECT_FALSE(StorageGauge("rocksdb.block-cache-usage", "").has_value());
  EXPECT_EQ(StorageGauge("rocksdb.block-cache-hit-ratio", "0.5")->value, 0.5);
}

}  // namespace
}  // namespace content::service
