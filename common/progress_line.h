// Internal to contentd and its tools (not installed): the one line that
// shows how far a long admin operation has come, as `contentctl admin`
// draws it (ListOperations) and `contentd --check` prints it.
#ifndef CONTENT_COMMON_PROGRESS_LINE_H_
#define CONTENT_COMMON_PROGRESS_LINE_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "content/v1/admin_service.pb.h"

namespace content::internal {

// 1234567 -> "1,234,567".
inline std::string Grouped(int64_t n) {
  const std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// 1536 -> "1.5 KiB"; under 1 KiB, "812 B".
inline std::string Bytes(int64_t n) {
  static constexpr const char* kUnits[] = {"B",   "KiB", "MiB",
                                           "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while ((v >= 1024 || v <= -1024) && u < 5) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return absl::StrCat(n, " B");
  return absl::StrFormat("%.1f %s", v, kUnits[u]);
}

// One line for `op`, e.g. `check: step 3/7 postings [#####...............]
// 25% 1,234,567 of ~4,900,000 keys, 1m12s`; `elapsed` is how long it has
// run. Without a total, or past it (an estimate), the count alone; with
// neither, the step and the time; `starting` before the first step. Bytes
// (unit "bytes") read as sizes: `1.2 GiB of ~3.4 GiB`. A total is marked
// `~` unless the server says it is exact (total_exact).
// `also`, if given, follows the count (e.g. "2,345,678 postings written").
inline std::string ProgressLine(const v1::RunningOperation& op,
                                absl::Duration elapsed,
                                absl::string_view also = "") {
  std::string line = absl::StrCat(op.kind(), ": ");
  if (op.step_count() > 1) {
    absl::StrAppend(&line, "step ", op.step_number(), "/", op.step_count(),
                    " ");
  }
  absl::StrAppend(&line, op.step().empty() ? "starting" : op.step());
  const bool bytes = op.unit() == "bytes";
  const auto count = [&](int64_t n) {
    return bytes ? Bytes(n) : absl::StrCat(Grouped(n), " ", op.unit());
  };
  if (op.total() > 0 && op.done() <= op.total()) {
    constexpr int64_t kWidth = 20;
    const int64_t filled = op.done() * kWidth / op.total();
    absl::StrAppend(&line, " [", std::string(filled, '#'),
                    std::string(kWidth - filled, '.'), "] ",
                    op.done() * 100 / op.total(), "% ",
                    bytes ? Bytes(op.done()) : Grouped(op.done()), " of ",
                    op.total_exact() ? "" : "~", count(op.total()));
  } else if (op.done() > 0) {
    absl::StrAppend(&line, " ", count(op.done()));
  }
  if (!also.empty()) absl::StrAppend(&line, ", ", also);
  const int64_t s = absl::ToInt64Seconds(elapsed);
  if (s < 60) {
    absl::StrAppend(&line, ", ", s, "s");
  } else if (s < 3600) {
    absl::StrAppend(&line, ", ", absl::StrFormat("%dm%02ds", s / 60, s % 60));
  } else {
    absl::StrAppend(&line,
                    absl::StrFormat(", %dh%02dm", s / 3600, s % 3600 / 60));
  }
  return line;
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_PROGRESS_LINE_H_
