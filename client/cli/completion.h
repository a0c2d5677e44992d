// `contentctl completion bash|zsh`: shell completion of contentctl's
// verbs and flags.
#ifndef CONTENT_CLIENT_CLI_COMPLETION_H_
#define CONTENT_CLIENT_CLI_COMPLETION_H_

#include <string>

namespace CLI {
class App;
}

namespace content::cli {

// The completion script for `shell`, "bash" or "zsh" (which loads bash's
// completion emulation), made from `app`: its verbs and their commands,
// each command's flags with the global ones, the values of flags that take
// one of a set (`-o`: after a verb, the formats it takes, OutputsOf), files
// after a file flag (`-f`, `--ca`), directories after `--dir`, tags after
// `--tag`, `--not-tag` and `tags --prefix`, and categories after
// `--category` and `categories --prefix`, which it asks of the server with
// `contentctl __complete tags|categories PREFIX` (and the connection flags
// the command line has), saying nothing on an error.
// Commands in no group (`__complete`) are not offered. Article ids are not
// completed: listing them would be a call to the server at each key press.
// "" for another shell.
std::string CompletionScript(const CLI::App& app, const std::string& shell);

}  // namespace content::cli

#endif  // CONTENT_CLIENT_CLI_COMPLETION_H_
