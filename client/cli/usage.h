// contentctl's usage errors (exit 2): a command line it refuses before
// calling the server, said as a text line, or under -o json|yaml as the
// object its other errors are.
#ifndef CONTENT_CLIENT_CLI_USAGE_H_
#define CONTENT_CLIENT_CLI_USAGE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/cli/output.h"

namespace content::cli {

inline constexpr int kExitUsage = 2;

// The `reason` of a usage error's object, for programs.
inline constexpr char kUnknownFlag[] = "UNKNOWN_FLAG";
// A verb's flag given before the verb, or with none.
inline constexpr char kMisplacedFlag[] = "MISPLACED_FLAG";
inline constexpr char kUnknownCommand[] = "UNKNOWN_COMMAND";
inline constexpr char kMissingCommand[] = "MISSING_COMMAND";
inline constexpr char kMissingArgument[] = "MISSING_ARGUMENT";
inline constexpr char kUnexpectedArgument[] = "UNEXPECTED_ARGUMENT";
inline constexpr char kExcludedFlags[] = "EXCLUDED_FLAGS";
inline constexpr char kInvalidValue[] = "INVALID_VALUE";

// The ErrorInfo-style domain of those reasons: contentctl's own, not the
// server's (contentd.v1).
inline constexpr const char* kUsageDomain = kLocalDomain;

struct UsageError {
  // The text line, e.g. `--tag: must not be empty`.
  std::string message;
  // The flag or argument it is about, as the line names it (`--tag`, `-o`,
  // `ID`); "" if it names none (`contentctl: needs a verb`).
  std::string flag;
  // One of the reasons above.
  std::string reason;
};

// The flag or argument `message` opens with: `--tag` of `--tag: ...`,
// `-o` of `-o markdown: ...`, `--server` of `--server (from
// CONTENT_SERVER): ...`, `ID` of `ID: ...`; "" if it opens with none.
std::string FlagOf(absl::string_view message);

// Records a usage error for main to print once it knows the command whose
// help the hint names (PrintUsageError), and returns kExitUsage. The flag
// is FlagOf(message) unless given. Only the first one recorded is kept.
// Not thread-safe: the command line is checked on the main thread.
int Usage(std::string message, absl::string_view reason = kInvalidValue);
int Usage(std::string message, std::string flag, absl::string_view reason);

// The usage error recorded, if any.
const std::optional<UsageError>& RecordedUsage();

// Prints `error` on stderr with `hint` (``Run `contentctl VERB --help` for
// more information.``): the line, then the hint on a line of its own; or,
// in -o json|yaml, one object as a failed call's (StderrObject), {"code":
// "INVALID_ARGUMENT", "domain": "contentctl", "fieldViolations": [],
// "flag": FLAG, "hint": HINT, "message": LINE, "metadata": {}, "reason":
// REASON}.
void PrintUsageError(const UsageError& error, const std::string& hint,
                     Format format);

// The flags of `flags` (a command's: `--tag`, `-o`, ...) that the unknown
// flag `given` may be meant as, for `unknown flag "--from-revision" (did
// you mean "--after"?)`: those a name of the same meaning stands for
// (`--from-revision`, `--since-revision`: `--after`; `--page-size`:
// `--limit`; `--json`: `-o json`), else those it is a slip of
// (internal::NearestNames).
std::vector<std::string> FlagsMeant(absl::string_view given,
                                    const std::vector<std::string>& flags);

}  // namespace content::cli

#endif  // CONTENT_CLIENT_CLI_USAGE_H_
