#ifndef CONTENT_SERVER_LOG_LINE_H_
#define CONTENT_SERVER_LOG_LINE_H_

#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace content {

// Writes one line of contentd's log whole: the line and its newline in one
// write. std::cerr writes each `<<` on its own, so a line built from several
// could be cut by another thread's (a readiness line split by the
// scheduler's). Thread-safe as `log` is (std::cerr is).
inline void LogLine(std::ostream& log, absl::string_view line) {
  log << absl::StrCat(line, "\n") << std::flush;
}

}  // namespace content

#endif  // CONTENT_SERVER_LOG_LINE_H_
