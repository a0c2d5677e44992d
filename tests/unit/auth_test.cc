// Tests for bearer-token authentication and its rate limit
// (server/service/auth.h).

#include "server/service/auth.h"

#include <grpcpp/server_context.h>
#include <grpcpp/test/server_context_test_spouse.h>

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

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

}  // namespace
}  // namespace content::service
