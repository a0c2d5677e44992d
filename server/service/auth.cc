#include "server/service/auth.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/error_details.h"

namespace content::service {

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  if (name == "reader") return Role::kReader;
  if (name == "editor") return Role::kEditor;
  if (name == "admin") return Role::kAdmin;
  return absl::InvalidArgumentError(
      absl::StrCat("role \"", name, "\": must be reader, editor or admin"));
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kEditor:
      return "editor";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::string HashToken(absl::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

Authenticator::Authenticator(AuthOptions options)
    : options_(std::move(options)) {
  ReplaceTokens(options_.tokens);
}

void Authenticator::ReplaceTokens(const std::vector<TokenConfig>& tokens) {
  absl::flat_hash_map<std::string, std::shared_ptr<const TokenConfig>> by_hash;
  for (const TokenConfig& t : tokens) {
    by_hash[absl::AsciiStrToLower(t.sha256)] =
        std::make_shared<const TokenConfig>(t);
  }
  absl::MutexLock lock(&tokens_mu_);
  by_hash_.swap(by_hash);
}

std::shared_ptr<const TokenConfig> Authenticator::Find(
    const grpc::ServerContextBase& ctx, absl::Status* why) const {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) {
    *why = WithReason(absl::UnauthenticatedError(
                          "missing token: send `authorization: Bearer TOKEN` "
                          "(contentctl --token or CONTENT_TOKEN)"),
                      reason::kTokenMissing);
    return nullptr;
  }
  absl::string_view value(it->second.data(), it->second.size());
  // RFC 7235: the scheme is case-insensitive (`bearer TOKEN` is as good),
  // and one or more spaces follow it (RFC 6750: "Bearer" 1*SP b64token).
  constexpr absl::string_view kBearer = "Bearer";
  const size_t space = value.find(' ');
  if (space == absl::string_view::npos ||
      !absl::EqualsIgnoreCase(value.substr(0, space), kBearer)) {
    *why = WithReason(
        absl::UnauthenticatedError("authorization: must be `Bearer TOKEN`"),
        reason::kTokenInvalid);
    return nullptr;
  }
  absl::string_view token = value.substr(space);
  while (absl::ConsumePrefix(&token, " ")) {
  }
  const std::string hash = HashToken(token);
  absl::ReaderMutexLock lock(&tokens_mu_);
  auto found = by_hash_.find(hash);
  if (found == by_hash_.end()) {
    *why = WithReason(absl::UnauthenticatedError("token not recognized"),
                      reason::kTokenInvalid);
    return nullptr;
  }
  return found->second;
}

absl::StatusOr<Caller> Authenticator::Authorize(
    const grpc::ServerContextBase& ctx, Role needed) {
  if (!options_.enabled) return Caller{"-", Role::kAdmin};
  absl::Status why;
  const std::shared_ptr<const TokenConfig> t = Find(ctx, &why);
  if (!t) {
    // Calls without a recognized token share one bucket: with a limit set,
    // a client guessing tokens (or one misconfigured in a retry loop) got
    // unlimited attempts while every real token was held to its rate.
    if (const absl::Duration wait = TakeRate(nullptr);
        wait > absl::ZeroDuration()) {
      return WithRetryDelay(
          WithReason(absl::ResourceExhaustedError(absl::StrCat(
                         "calls without a recognized token are over their "
                         "shared rate limit of ",
                         options_.rate_limit_per_second,
                         " requests per second (this one: ", why.message(),
                         "); retry in ", absl::FormatDuration(wait))),
                     reason::kRateLimitExceeded,
                     {{"limit_per_second",
                       absl::StrCat(options_.rate_limit_per_second)}}),
          wait);
    }
    return why;
  }
  if (static_cast<int>(t->role) < static_cast<int>(needed)) {
    return WithReason(
        absl::PermissionDeniedError(
            absl::StrCat("token \"", t->name, "\" has role ", RoleName(t->role),
                         "; this call needs ", RoleName(needed))),
        reason::kPermissionDenied,
        {{"token", t->name},
         {"role", RoleName(t->role)},
         {"required_role", RoleName(needed)}});
  }
  if (const absl::Duration wait = TakeRate(&t->name);
      wait > absl::ZeroDuration()) {
    // The wait travels as a RetryInfo too, for programs: the call did
    // nothing, so a client may send it again then, a write too.
    return WithRetryDelay(
        WithReason(
            absl::ResourceExhaustedError(absl::StrCat(
                "token \"", t->name, "\" is over its rate limit of ",
                options_.rate_limit_per_second,
                " requests per second; retry in ", absl::FormatDuration(wait))),
            reason::kRateLimitExceeded,
            {{"token", t->name},
             {"limit_per_second",
              absl::StrCat(options_.rate_limit_per_second)}}),
        wait);
  }
  return Caller{t->name, t->role};
}

std::string Authenticator::NameOf(const grpc::ServerContextBase& ctx) const {
  if (!options_.enabled) return "-";
  absl::Status ignored;
  const std::shared_ptr<const TokenConfig> t = Find(ctx, &ignored);
  return t ? t->name : "-";
}

absl::Duration Authenticator::TakeRate(const std::string* name) {
  const double rate = options_.rate_limit_per_second;
  if (rate <= 0) return absl::ZeroDuration();
  // A call takes a whole token, so a bucket capped below 1 (a rate or burst
  // under 1) would never admit one: the cap is at least 1.
  const double burst = std::max(
      1.0, options_.rate_limit_burst > 0 ? options_.rate_limit_burst : rate);
  absl::MutexLock lock(&mu_);
  // Read under the lock, so a bucket's times come in order: read before
  // it, a call could find `last` set by a later one.
  const std::chrono::steady_clock::time_point now = options_.clock();
  bool inserted = false;
  Bucket* bucket = &unrecognized_;
  if (name != nullptr) {
    auto it = buckets_.try_emplace(*name);
    bucket = &it.first->second;
    inserted = it.second;
  } else {
    inserted = !unrecognized_used_;
    unrecognized_used_ = true;
  }
  Bucket& b = *bucket;
  if (inserted) {
    b.tokens = burst;
  } else {
    // Never negative: a clock that went back (options_.clock is monotonic
    // by contract; a fake one may not be) refills nothing and takes
    // nothing away, and refills resume from `now`.
    const double elapsed =
        std::max(0.0, std::chrono::duration<double>(now - b.last).count());
    b.tokens = std::min(burst, b.tokens + elapsed * rate);
  }
  b.last = now;
  // A call that waited the time it was told finds a whole token, which
  // the sum of its refills may miss by a rounding error.
  constexpr double kRounding = 1e-9;
  if (b.tokens < 1 - kRounding) {
    // Whole milliseconds, rounded up: the bucket holds a call by then.
    return absl::Milliseconds(
        std::max(1.0, std::ceil((1 - b.tokens) / rate * 1000 - kRounding)));
  }
  b.tokens = std::max(0.0, b.tokens - 1);
  return absl::ZeroDuration();
}

}  // namespace content::service
