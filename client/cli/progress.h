// Progress of a long admin call (`admin fsck`, `compact`, `backup`) drawn
// on the terminal from what the server reports (ListOperations).
#ifndef CONTENT_CLIENT_CLI_PROGRESS_H_
#define CONTENT_CLIENT_CLI_PROGRESS_H_

#include <functional>
#include <string>

#include "content/client.h"

namespace content::cli {

// Runs `call`, the RPC that starts an operation of `kind` ("backup",
// "compact", "check") on the server (it must print nothing). When
// `enabled`, meanwhile asks ListOperations twice a second (first after
// 0.1 s; on another thread) and redraws the operation `call` started on
// stderr (internal::TerminalProgress, common/terminal_progress.h), erasing
// it before returning. Drawn only if the server lists operations (an older
// server, or one refusing the call, gets no line) and once the operation
// appears; an operation of the same kind running before `call` began is not
// taken for it.
void WithProgress(Client& client, const std::string& kind, bool enabled,
                  const std::function<void()>& call);

}  // namespace content::cli

#endif  // CONTENT_CLIENT_CLI_PROGRESS_H_
