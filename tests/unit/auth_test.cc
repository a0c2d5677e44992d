// Tests for bearer-token authentication and its rate limit
// (server/service/auth.h).

#include "server/service/auth.h"

#include <grpcpp/server_context.h>
#include <grpcpp/test/server_context_test_spouse.h>

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/error_details.h"

namespace content::service {
namespace {

constexpr char kToken[] = "s3cret";

AuthOptions WithRate(double rate, double burst) {
  AuthOptions o;
  o.tokens.push_back({"loader", Role::kEditor, HashToken(kToken)});
  o.rate_limit_per_second = rate;
  o.rate_limit_burst = burst;
  return o;
}

// One call's outcome, as the server would see it with `token`.
absl::Status Call(Authenticator& auth, const std::string& token) {
  grpc::ServerContext ctx;
  grpc::testing::ServerContextTestSpouse spouse(&ctx);
  spouse.AddClientMetadata("authorization", "Bearer " + token);
  return auth.Authorize(ctx, Role::kReader).status();
}

TEST(AuthTest, TokenAndRole) {
  Authenticator auth(WithRate(0, 0));
  EXPECT_TRUE(Call(auth, kToken).ok());
  EXPECT_EQ(Call(auth, "wrong").code(), absl::StatusCode::kUnauthenticated);
}

// One call's outcome with `authorization: value`.
absl::Status CallWithHeader(Authenticator& auth, const std::string& value) {
  grpc::ServerContext ctx;
  grpc::testing::ServerContextTestSpouse spouse(&ctx);
  spouse.AddClientMetadata("authorization", value);
  return auth.Authorize(ctx, Role::kReader).status();
}

// The scheme is case-insensitive (RFC 7235) and one or more spaces may
// follow it (RFC 6750): `bearer TOKEN`, as some clients and tools send it,
// was UNAUTHENTICATED "must be `Bearer TOKEN`".
TEST(AuthTest, BearerSchemeInAnyCaseWithOneOrMoreSpaces) {
  Authenticator auth(WithRate(0, 0));
  for (const std::string value :
       {"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "Bearer  s3cret"}) {
    EXPECT_TRUE(CallWithHeader(auth, value).ok()) << value;
  }
  for (const std::string value :
       {"s3cret", "Bearers3cret", "Basic s3cret", "Bearer", "Bearer ",
        "Bearer s3cret ", "Bearer\ts3cret"}) {
    EXPECT_EQ(CallWithHeader(auth, value).code(),
              absl::StatusCode::kUnauthenticated)
        << value;
  }
}

// The ErrorInfo an error carries (server/error_details.h).
google::rpc::ErrorInfo InfoOf(const absl::Status& s) {
  google::rpc::ErrorInfo info;
  const absl::optional<absl::Cord> payload = s.GetPayload(kErrorInfoTypeUrl);
  EXPECT_TRUE(payload.has_value()) << s;
  if (payload.has_value()) info.ParseFromString(std::string(*payload));
  return info;
}

// A client tells a missing token from a wrong one, and learns the role a
// call needs, by the reason.
TEST(AuthTest, RefusalsSayWhyInTheirReason) {
  AuthOptions o = WithRate(0, 0);
  o.tokens.push_back({"viewer", Role::kReader, HashToken("view")});
  Authenticator auth(o);
  {
    grpc::ServerContext ctx;
    const absl::Status s = auth.Authorize(ctx, Role::kReader).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(InfoOf(s).reason(), "TOKEN_MISSING");
  }
  for (const std::string value : {"Bearer wrong", "Basic s3cret"}) {
    const absl::Status s = CallWithHeader(auth, value);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << value;
    EXPECT_EQ(InfoOf(s).reason(), "TOKEN_INVALID") << value;
    EXPECT_TRUE(InfoOf(s).metadata().empty()) << value;
  }
  grpc::ServerContext ctx;
  grpc::testing::ServerContextTestSpouse spouse(&ctx);
  spouse.AddClientMetadata("authorization", "Bearer view");
  const absl::Status s = auth.Authorize(ctx, Role::kEditor).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  const google::rpc::ErrorInfo info = InfoOf(s);
  EXPECT_EQ(info.reason(), "PERMISSION_DENIED");
  EXPECT_EQ(info.domain(), "contentd.v1");
  EXPECT_EQ(info.metadata().at("token"), "viewer");
  EXPECT_EQ(info.metadata().at("role"), "reader");
  EXPECT_EQ(info.metadata().at("required_role"), "editor");
}

TEST(AuthTest, RateLimitSpendsTheBurstThenRefuses) {
  // Refilled at one call per 100 s: a loaded machine cannot refill one
  // between these calls.
  Authenticator auth(WithRate(0.01, 3));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Call(auth, kToken).ok()) << i;
  EXPECT_EQ(Call(auth, kToken).code(), absl::StatusCode::kResourceExhausted);
}

// A bucket capped below 1 (the rate, when no burst is set) never held a
// whole token: the token was locked out forever.
TEST(AuthTest, RateBelowOnePerSecondStillAdmitsCalls) {
  Authenticator auth(WithRate(0.5, 0));
  EXPECT_TRUE(Call(auth, kToken).ok());
  Authenticator slow(WithRate(0.01, 0));
  EXPECT_TRUE(Call(slow, kToken).ok());
  // One call per 100 s: the next one right away is over the rate.
  EXPECT_EQ(Call(slow, kToken).code(), absl::StatusCode::kResourceExhausted);
}

TEST(AuthTest, BurstBelowOneStillAdmitsCalls) {
  Authenticator auth(WithRate(1000, 0.5));
  EXPECT_TRUE(Call(auth, kToken).ok());
}

TEST(AuthTest, RateLimitRefillsAtTheRateOfItsClock) {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  AuthOptions o = WithRate(2, 1);
  o.clock = [&now] { return now; };
  Authenticator auth(o);
  EXPECT_TRUE(Call(auth, kToken).ok());
  EXPECT_EQ(Call(auth, kToken).code(), absl::StatusCode::kResourceExhausted);
  now += std::chrono::milliseconds(250);  // half a call's worth
  EXPECT_EQ(Call(auth, kToken).code(), absl::StatusCode::kResourceExhausted);
  now += std::chrono::milliseconds(250);
  EXPECT_TRUE(Call(auth, kToken).ok());
  // The burst caps what an idle token saves up.
  now += std::chrono::hours(1);
  EXPECT_TRUE(Call(auth, kToken).ok());
  EXPECT_EQ(Call(auth, kToken).code(), absl::StatusCode::kResourceExhausted);
}

// A refusal says when the bucket holds a call again, as a RetryInfo (AIP-193)
// and in its message: it said "retry later", and a program had to guess.
TEST(AuthTest, RateLimitRefusalSaysWhenToRetry) {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  AuthOptions o = WithRate(4, 1);
  o.clock = [&now] { return now; };
  Authenticator auth(o);
  EXPECT_TRUE(Call(auth, kToken).ok());
  now += std::chrono::milliseconds(100);  // 0.4 of a call back: 150 ms to go
  const absl::Status refused = Call(auth, kToken);
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(InfoOf(refused).reason(), reason::kRateLimitExceeded);
  EXPECT_NE(std::string(refused.message()).find("retry in 150ms"),
            std::string::npos)
      << refused.message();
  const absl::optional<absl::Cord> payload =
      refused.GetPayload(kRetryInfoTypeUrl);
  ASSERT_TRUE(payload.has_value());
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(retry.ParseFromString(std::string(*payload)));
  EXPECT_EQ(retry.retry_delay().seconds(), 0);
  EXPECT_EQ(retry.retry_delay().nanos(), 150000000);
  // A refused call took nothing: the wait it was told is the wait.
  now += std::chrono::milliseconds(150);
  EXPECT_TRUE(Call(auth, kToken).ok());
  // The google.rpc.Status sent to the client carries it beside the
  // ErrorInfo.
  google::rpc::Status sent;
  ASSERT_TRUE(sent.ParseFromString(EncodeStatusDetails(refused)));
  bool has_retry = false;
  for (const auto& any : sent.details()) {
    has_retry |= any.type_url() == kRetryInfoTypeUrl;
  }
  EXPECT_TRUE(has_retry);
}

// Calls without a recognized token were never limited: a client guessing
// tokens had as many tries as it could send. They share one bucket, and a
// real token keeps its own.
TEST(AuthTest, CallsWithoutARecognizedTokenShareOneRateLimit) {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  AuthOptions o = WithRate(1, 2);
  o.clock = [&now] { return now; };
  Authenticator auth(o);
  EXPECT_EQ(Call(auth, "guess1").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CallWithHeader(auth, "Basic x").code(),
            absl::StatusCode::kUnauthenticated);
  const absl::Status refused = Call(auth, "guess2");
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(InfoOf(refused).reason(), reason::kRateLimitExceeded);
  EXPECT_EQ(InfoOf(refused).metadata().count("token"), 0u);
  EXPECT_NE(std::string(refused.message()).find("token not recognized"),
            std::string::npos)
      << refused.message();
  EXPECT_NE(std::string(refused.message()).find("retry in 1s"),
            std::string::npos)
      << refused.message();
  EXPECT_TRUE(refused.GetPayload(kRetryInfoTypeUrl).has_value());
  // A call with no header at all is in the same bucket.
  grpc::ServerContext bare;
  EXPECT_EQ(auth.Authorize(bare, Role::kReader).status().code(),
            absl::StatusCode::kResourceExhausted);
  // The real token's bucket is its own.
  EXPECT_TRUE(Call(auth, kToken).ok());
  EXPECT_TRUE(Call(auth, kToken).ok());
  // Refilled at the rate, the next guess is judged (and refused) as before.
  now += std::chrono::seconds(1);
  EXPECT_EQ(Call(auth, "guess3").code(), absl::StatusCode::kUnauthenticated);
  // With no limit, there is no bucket.
  Authenticator unlimited(WithRate(0, 0));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Call(unlimited, "guess").code(),
              absl::StatusCode::kUnauthenticated);
  }
}

// Tokens given again (a config file read again) replace the old ones: a
// revoked token is refused from the next call, a new one accepted, a role
// changed takes effect.
TEST(AuthTest, ReplacedTokensTakeEffectAtTheNextCall) {
  Authenticator auth(WithRate(0, 0));
  EXPECT_TRUE(Call(auth, kToken).ok());
  auth.ReplaceTokens({{"new", Role::kReader, HashToken("n3w")},
                      {"loader", Role::kAdmin, HashToken("s3cret2")}});
  EXPECT_EQ(Call(auth, kToken).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Call(auth, "n3w").ok());
  grpc::ServerContext ctx;
  grpc::testing::ServerContextTestSpouse spouse(&ctx);
  spouse.AddClientMetadata("authorization", "Bearer s3cret2");
  absl::StatusOr<Caller> admin = auth.Authorize(ctx, Role::kAdmin);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->token_name, "loader");
  EXPECT_EQ(auth.NameOf(ctx), "loader");
}

// The limiter read the wall clock: a step back (NTP) made the elapsed time
// negative and the bucket owed an hour's worth of calls for a step of an
// hour, so the token was refused for that hour. A clock going back now
// refills nothing and takes nothing away.
TEST(AuthTest, AClockGoingBackDoesNotLockTheTokenOut) {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  AuthOptions o = WithRate(1, 2);
  o.clock = [&now] { return now; };
  Authenticator auth(o);
  EXPECT_TRUE(Call(auth, kToken).ok());
  EXPECT_TRUE(Call(auth, kToken).ok());
  EXPECT_EQ(Call(auth, kToken).code(), absl::StatusCode::kResourceExhausted);
  now -= std::chrono::hours(1);
  EXPECT_EQ(Call(auth, kToken).code(), absl::StatusCode::kResourceExhausted);
  // A second after the step, a second's worth has come back, as it would
  // have without the step.
  now += std::chrono::seconds(1);
  EXPECT_TRUE(Call(auth, kToken).ok());
  EXPECT_EQ(Call(auth, kToken).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace content::service
