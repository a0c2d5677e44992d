// Internal to contentd and its tools (not installed): whether output goes
// to a terminal that takes escape sequences, for colours and lines drawn
// in place.
#ifndef CONTENT_COMMON_TERMINAL_H_
#define CONTENT_COMMON_TERMINAL_H_

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace content::internal {

// Whether `fd` is a terminal that takes ANSI escape sequences: not a file
// or pipe, and not a terminal whose TERM is "dumb" or unset (Emacs' shell
// buffer, an editor's output pane), where they print as `^[[36m` litter,
// as git decides for its colours and progress.
inline bool IsAnsiTerminal(int fd) {
  if (isatty(fd) != 1) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && std::strcmp(term, "dumb") != 0;
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_TERMINAL_H_
