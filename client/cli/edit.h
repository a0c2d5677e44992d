// `contentctl edit`: change an article in a text editor.
#ifndef CONTENT_CLIENT_CLI_EDIT_H_
#define CONTENT_CLIENT_CLI_EDIT_H_

#include <string>

#include "absl/status/status.h"
#include "client/cli/output.h"
#include "content/client.h"

namespace content::cli {

struct EditOptions {
  // The article, `x` or `articles/x`. Required.
  std::string id;
  // Shell command line of the editor; the file's path is added as its last
  // argument. Empty: EditorCommand(). Default: "".
  std::string editor;
  // Refuse what the editor saved when its front matter has a top-level key
  // that is no field but close to one (`tittle`, `tag`), as `apply
  // --strict` does, rather than warn and keep it as a param; the file is
  // kept as for any refused edit. Default: false.
  bool strict = false;
  // How the client reaches contentd, for what a connection error says.
  Connection connection;
};

// The editor `edit` opens: CONTENT_EDITOR, else VISUAL, else EDITOR (the
// first set and not empty), else `vi`; "" when none is set and standard
// input is not a terminal, where vi could not be used.
std::string EditorCommand();

// Runs the shell command line `editor` with `path` added as one argument,
// on this process's terminal, and waits for it; SIGINT and SIGQUIT go to
// the editor only meanwhile. A LocalError (no gRPC code) when it could
// not start or did not exit with 0: EDITOR_NOT_FOUND for the shell's exit
// status 127, else EDITOR_FAILED, with metadata `editor` and `exit_status`
// (or `signal` when it was killed).
absl::Status RunEditor(const std::string& editor, const std::string& path);

// Writes the head of the article (every state; the editor role) as
// `export` prints it, opening with its `# articles/ID revision N` line, to
// a file of its own in a new directory under $TMPDIR (default /tmp), opens
// it in the editor, and writes what was saved back with UpdateArticle on
// the condition that the head is still the revision the edit started from:
// a change made meanwhile is not overwritten (FAILED_PRECONDITION). A file
// saved unchanged or emptied writes nothing: `Edit cancelled, no changes
// made.` When the write fails the file is kept, its path and how to apply
// it printed with the error (an article deleted meanwhile: undelete it,
// then apply); on a terminal (standard input is one), an
// edit refused as INVALID_ARGUMENT first reopens in the editor with the
// error as comment lines before the front matter's closing `---` (dropped
// from what is written), until it is written, emptied (cancelled) or saved
// unchanged (the error, the file kept without them). Prints `articles/x
// edited (revision N)` (`unchanged` when the saved content is the head's),
// or the article (-o json|yaml|markdown). Not for deleted articles (undelete
// first). Failures on this side, no server involved, are LocalErrors with no
// gRPC code (StatusText): no editor (NO_EDITOR), the editor's (RunEditor; with
// metadata `path` when what it saved is kept), the file's (WRITE_FAILED,
// READ_FAILED).
//
// Returns the exit code: 0 written, unchanged or cancelled; 1 otherwise.
int Edit(Client& client, const EditOptions& options, Format format);

}  // namespace content::cli

#endif  // CONTENT_CLIENT_CLI_EDIT_H_
