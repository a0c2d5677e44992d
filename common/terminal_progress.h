// Internal to contentd and its tools (not installed): the progress line
// (common/progress_line.h) drawn in place on a terminal, as `contentctl
// admin` draws a call's operation and `contentd --check` its check.
#ifndef CONTENT_COMMON_TERMINAL_PROGRESS_H_
#define CONTENT_COMMON_TERMINAL_PROGRESS_H_

#include <iostream>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/progress_line.h"
#include "content/v1/admin_service.pb.h"

namespace content::internal {

// One line on stderr, redrawn in place ("\r", erased to its end) at each
// new step and at most twice a second between, erased when Erase is called
// or it is destroyed (before a result is printed). The caller decides that
// stderr is a terminal. Not thread-safe: one thread draws.
class TerminalProgress {
 public:
  // The clock of the first operation drawn starts at `start`.
  explicit TerminalProgress(absl::Time start = absl::Now()) : start_(start) {}
  ~TerminalProgress() { Erase(); }
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  // Draws `op` (ProgressLine's `also` follows its count); another kind of
  // operation than the last starts its clock again.
  void Draw(const v1::RunningOperation& op, absl::string_view also = "") {
    const absl::Time now = absl::Now();
    if (!kind_.empty() && op.kind() != kind_) start_ = now;
    const bool begun = op.kind() != kind_ || op.step_number() != step_;
    if (!begun && now - drawn_ < absl::Milliseconds(500)) return;
    kind_ = op.kind();
    step_ = op.step_number();
    drawn_ = now;
    std::cerr << "\r" << ProgressLine(op, now - start_, also) << "\033[K"
              << std::flush;
    shown_ = true;
  }

  void Erase() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  absl::Time start_;
  std::string kind_;
  int step_ = 0;
  absl::Time drawn_ = absl::InfinitePast();
  bool shown_ = false;
};

}  // namespace content::internal

#endif  // CONTENT_COMMON_TERMINAL_PROGRESS_H_
