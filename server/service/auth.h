// Bearer tokens with roles, and a per-token request rate limit.
#ifndef CONTENT_SERVER_SERVICE_AUTH_H_
#define CONTENT_SERVER_SERVICE_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace content::service {

// What a token may do; each role includes the ones before it.
enum class Role : int {
  kReader = 1,  // get, query, history, watch, export
  kEditor = 2,  // + create, update, delete, undelete, import
  kAdmin = 3,   // + backup, compact, check, stats
};
absl::StatusOr<Role> ParseRole(absl::string_view name);
const char* RoleName(Role role);

// One accepted token, kept as the hex SHA-256 of the token, never the token.
struct TokenConfig {
  std::string name;
  Role role = Role::kReader;
  std::string sha256;
};

// Options for Authenticator.
struct AuthOptions {
  // Off only by an explicit setting (`auth: {enabled: false}` or
  // --no-auth); contentd then warns loudly at start. Default: true.
  bool enabled = true;
  std::vector<TokenConfig> tokens;
  // Requests per second allowed per token (token bucket), and to all calls
  // without a recognized token together; 0 means no limit. Default: 0.
  double rate_limit_per_second = 0;
  // Bucket size: the burst a token may spend at once. 0 means one second's
  // worth of requests. Never less than 1 in effect, so a rate below 1 per
  // second admits one call every 1/rate seconds. Default: 0.
  double rate_limit_burst = 0;
  // How often contentd reads its config file again for `tokens` (a token
  // added, revoked or given another role without a restart); 1 to 86400.
  // Authenticator itself does not read files. Default: 60.
  int reload_interval_seconds = 60;
  // The rate limit's clock. It must be monotonic: with a wall clock, a step
  // back (NTP) left a token's bucket owing the whole step's worth of
  // requests, locking the token out for as long as the step. Tests set a
  // fake one. Default: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> clock =
      std::chrono::steady_clock::now;
};

// Who made a call.
struct Caller {
  std::string token_name;  // "-" when auth is off
  Role role = Role::kAdmin;
};

// Hex SHA-256 of a token, as the config stores it.
std::string HashToken(absl::string_view token);

// Checks `authorization: Bearer TOKEN` metadata. Thread-safe.
class Authenticator {
 public:
  explicit Authenticator(AuthOptions options);

  // The caller, if its token is valid, its role includes `needed` and it is
  // within its rate. UNAUTHENTICATED (missing or unknown token),
  // PERMISSION_DENIED (role too weak) or RESOURCE_EXHAUSTED (rate; calls
  // without a recognized token share one bucket).
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& ctx,
                                   Role needed);
  // The token's name for logs, or "-"; never fails, never rate-limits.
  std::string NameOf(const grpc::ServerContextBase& ctx) const;
  // Accepts `tokens` from now on, in place of those it had (a config file
  // read again); a call already admitted keeps its caller.
  void ReplaceTokens(const std::vector<TokenConfig>& tokens);

  bool enabled() const { return options_.enabled; }

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  // The caller's token (shared: a reload may replace the map meanwhile).
  std::shared_ptr<const TokenConfig> Find(const grpc::ServerContextBase& ctx,
                                          absl::Status* why) const;
  // Takes a call from the bucket of the token named `name` (nullptr: the
  // one that calls without a recognized token share): zero if admitted,
  // else how long until the bucket holds one.
  absl::Duration TakeRate(const std::string* name);

  const AuthOptions options_;
  mutable absl::Mutex tokens_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const TokenConfig>> by_hash_
      ABSL_GUARDED_BY(tokens_mu_);
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  Bucket unrecognized_ ABSL_GUARDED_BY(mu_);
  bool unrecognized_used_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_AUTH_H_
