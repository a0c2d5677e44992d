// Tests for the per-request log line (server/service/metrics.h).

#include "server/service/metrics.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace content::service {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

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

}  // namespace
}  // namespace content::service
