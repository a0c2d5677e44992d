// Internal to the SDK (not installed): the time a write that found no
// connection spends asking gRPC why (a health check that fails fast with
// gRPC's reason while the channel is in TRANSIENT_FAILURE). That question
// must not make the write's error come later than the write's deadline.
#ifndef CONTENT_CLIENT_CONNECT_CHECK_H_
#define CONTENT_CLIENT_CONNECT_CHECK_H_

#include <algorithm>

#include "absl/time/time.h"

namespace content::internal {

// The longest the check may take, however much time is left.
inline constexpr absl::Duration kMaxConnectCheck = absl::Milliseconds(500);

// The check's deadline budget at `now` for a write due at `deadline`:
// kMaxConnectCheck, or the time left if that is less; zero (send no check)
// when none is left.
inline absl::Duration ConnectCheckBudget(absl::Time now, absl::Time deadline) {
  if (now >= deadline) return absl::ZeroDuration();
  return std::min(kMaxConnectCheck, deadline - now);
}

// When the deadline is what ends a write's wait for a connection, the wait
// stops this much earlier, given `time_left` at its start: a tenth of it, at
// most 100 ms. The check gets what remains, so a write against a server it
// cannot reach still says why; one that connected that late would have
// raced its own deadline anyway.
inline absl::Duration ConnectCheckReserve(absl::Duration time_left) {
  if (time_left <= absl::ZeroDuration()) return absl::ZeroDuration();
  return std::min(time_left / 10, absl::Milliseconds(100));
}

}  // namespace content::internal

#endif  // CONTENT_CLIENT_CONNECT_CHECK_H_
