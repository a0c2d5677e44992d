// `contentctl apply`: create or update articles from Markdown files.
#ifndef CONTENT_CLIENT_CLI_APPLY_H_
#define CONTENT_CLIENT_CLI_APPLY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/cli/output.h"
#include "content/client.h"

namespace content::cli {

// Marks a directory `export --dir` has not finished writing (it may lack
// articles); `apply` warns of one in a directory it reads.
inline constexpr char kIncompleteMarker[] = ".incomplete";

struct ApplyOptions {
  // Files and directories (`-f`); a directory stands for every Markdown file
  // (`*.md`, `*.markdown`, ...: IsMarkdownName) under it, recursively, in path
  // order; "-" stands for standard input (given once; results and errors name
  // it `<stdin>`). A file or standard input that opens as `-o markdown` of many
  // documents does, with `---` and a
  // `# articles/ID revision N` line, holds a document at each such two
  // lines after a blank one: each applies to its own article, named in
  // results `FILE#N`.
  std::vector<std::string> paths;
  // Id of the article read from standard input, `x` or `articles/x`, when
  // its front matter has no `id` (`--id`; only with a single "-" holding
  // one document). Must agree with the front matter's `id` if both are
  // given; wins over a `# articles/ID revision N` line. Default: "".
  std::string id;
  // When non-zero, the head must be at this revision (one file only).
  // Default: 0.
  int64_t expected_revision = 0;
  // When non-empty, the head must have this etag (one file only).
  // Default: "".
  std::string etag;
  // Report what would change without writing. Default: false.
  bool dry_run = false;
  // Refuse a document whose front matter has a top-level key that is no
  // field but close to one (NearFieldKeys: `tittle`, `tag`), which is
  // otherwise applied with a warning, the key kept as a param. Default:
  // false.
  bool strict = false;
  // Zone for front-matter dates written without one. Default: "UTC".
  std::string default_zone = "UTC";
  // Deadline of the whole import (ImportArticles); zero for none.
  // Default: zero.
  absl::Duration timeout = absl::ZeroDuration();
  // How the client reaches contentd, for what a connection error says.
  Connection connection;
};

// Applies every file: creates the article `articles/{id}` when it does not
// exist, otherwise updates it (an identical file leaves it unchanged, by
// content hash). Files stream through ImportArticles in batches; with
// `expected_revision` or `etag` the single file goes through UpdateArticle
// instead. The
// id is the front-matter `id`, else (standard input) `id`, else the one a
// `# articles/ID revision N` line opening the document names, else the
// file name without its extension; standard input has no name, so it needs
// one of the others. A document whose line says `(deleted)` (a tombstone)
// fails unsent: apply writes no deletions.
// Reports one line per file (for -o name the article's name alone, and
// with `dry_run` only of those it would create or update; for -o
// json/yaml, a list of results on stdout), failures on stderr, and a
// summary (on stderr for -o name and json/yaml); keeps going after a
// failure.
//
// Returns the exit code: 0 when every file applied, 1 when one failed or
// nothing could be read (standard input without an id too), 2 for a usage
// error (`--expected-revision` or `--etag` with more than one file or
// document or with `dry_run`, "-" twice, `id` with anything but a single
// "-" of one document, a `default_zone` that does not load), 130 when a
// Ctrl-C (SIGINT, caught while it runs) stopped the sending before every
// file went.
int Apply(Client& client, const ApplyOptions& options, Format format);

// An article a document names, for `delete -f`: `label` as apply's results
// name the document (`a.md`, `all.md#2`, `<stdin>`), and the id apply would
// write it to, or why the document names none (it could not be read or
// parsed, or standard input has no `id` and no `# articles/ID revision N`
// line).
struct NamedArticle {
  std::string label;
  absl::StatusOr<std::string> id;
};

// The articles `paths` name (files, directories and "-", as
// ApplyOptions.paths), document by document in apply's order, each id by
// apply's rule (ApplyOptions.paths, Apply): the front-matter `id`, else the
// one a `# articles/ID revision N` line names (a tombstone's too), else the
// file name without its extension. A path that does not exist, or a
// directory that cannot be listed or holds no `*.md`, is the error, as
// apply words it (LocalError). Warnings go to stderr in `format`.
absl::StatusOr<std::vector<NamedArticle>> ArticlesNamedIn(
    const std::vector<std::string>& paths, Format format);

// `contentctl edit`'s write: `text`, one Markdown document as the file
// `label` holds it, read as apply reads a file and written to the article
// `articles/{id}` with UpdateArticle, only while its head is at
// `expected_revision` (FAILED_PRECONDITION otherwise, as the server words
// it). Several documents, a tombstone, or a document naming another
// article (front-matter `id`, a `# articles/ID revision N` line) are
// INVALID_ARGUMENT, unsent; the server's field errors name the keys as the
// document wrote them (`publishDate: ...`). A front-matter key close to a
// field is warned of on stderr, in `format`, as apply warns of it, and
// kept as a param; with `strict` it is INVALID_ARGUMENT instead, unsent,
// as `apply --strict` words it. Dates written without a zone are read in
// `default_zone`, as apply's `--default-zone`. Returns the head after the
// write, still at `expected_revision` when the content was unchanged.
absl::StatusOr<v1::Article> UpdateFromDocument(
    Client& client, const std::string& label, absl::string_view text,
    const std::string& id, int64_t expected_revision, bool strict,
    Format format, const std::string& default_zone = "UTC");

// `contentctl diff -f`: for each document of `options.paths` (read as
// apply reads them: `default_zone`, `strict`, `id` under apply's rules),
// what applying it would change, as DiffArticleRevisions with `article`
// answers (nothing is written), printed as Output::PrintDiff prints a
// diff, the newer side named by the document's label; a document that
// cannot be read, parsed or compared gets its error on stderr, as apply
// prints it (with apply's warnings), and the rest go on, but for a refused
// token or no connection, said once. Returns the exit code, as kubectl
// diff's: 0 when no document would change its article, 1 when one would,
// 2 when one could not be compared (or for a usage error).
int DiffFiles(Client& client, const ApplyOptions& options, Format format,
              bool color, bool show_cr);

}  // namespace content::cli

#endif  // CONTENT_CLIENT_CLI_APPLY_H_
