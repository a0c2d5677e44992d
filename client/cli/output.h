// Output formats of contentctl: table, proto3 JSON, YAML and Markdown.
#ifndef CONTENT_CLIENT_CLI_OUTPUT_H_
#define CONTENT_CLIENT_CLI_OUTPUT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "content/v1/content_service.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace content::cli {

// What `-o` asks for. kName is kubectl's `-o name`: one `articles/ID` line
// per article listed or acted on.
enum class Format { kTable, kJson, kYaml, kMarkdown, kName };

// The ErrorInfo domain of contentd's reasons, which -o json prints.
inline constexpr char kErrorDomain[] = "contentd.v1";

// The domain of the errors contentctl finds itself, no server involved: a
// local file or directory it cannot read or write (LocalError), a command
// line it refuses (usage.h). They have no gRPC code.
inline constexpr char kLocalDomain[] = "contentctl";

// Reasons of LocalError: a file, directory or standard input that could not
// be read; output (or edit's file) that could not be written; a directory
// `apply -f` was given that holds no `*.md` file; a file or standard input
// over the 16 MiB contentd takes in one request; no editor for `edit` to
// run; an editor the shell did not find (exit status 127); an editor that
// could not be started, exited non-zero or was killed.
inline constexpr char kReadFailed[] = "READ_FAILED";
inline constexpr char kWriteFailed[] = "WRITE_FAILED";
inline constexpr char kNoMarkdownFiles[] = "NO_MARKDOWN_FILES";
inline constexpr char kFileTooLarge[] = "FILE_TOO_LARGE";
inline constexpr char kNoEditor[] = "NO_EDITOR";
inline constexpr char kEditorNotFound[] = "EDITOR_NOT_FOUND";
inline constexpr char kEditorFailed[] = "EDITOR_FAILED";

// A failure on this side, the server not to blame: `message` (`reading
// nope.md: No such file or directory`) with an ErrorInfo of `reason`,
// domain kLocalDomain and metadata {"path": path}, which ErrorReason,
// ErrorDomain and ErrorMetadata read as they read a server's. StatusText
// gives the message alone, with no code, and ErrorStruct a "code" of "".
absl::Status LocalError(absl::string_view reason, absl::string_view message,
                        absl::string_view path);

// LocalError with `metadata` as the ErrorInfo's metadata (none for an
// empty map): `{"editor": "false", "exit_status": "1"}`.
absl::Status LocalError(absl::string_view reason, absl::string_view message,
                        const std::map<std::string, std::string>& metadata);

// LocalError of `reason` saying `ACTION PATH: ` and the OS's words for
// errno `err` (`reading nope.md: No such file or directory`).
absl::Status LocalFileError(absl::string_view reason, absl::string_view action,
                            absl::string_view path, int err);

// Whether `status` is a LocalError.
bool IsLocalError(const absl::Status& status);

// The names `-o` accepts, in help order.
const std::vector<std::string>& FormatNames();

// The format called `name`; nullopt for an unknown name.
std::optional<Format> ParseFormat(absl::string_view name);

// The -o formats each verb takes: the one place they are kept, which the
// command line's check, each verb's --help (its -o line), the completion
// of -o's value and the README's table follow. markdown where a verb
// prints articles as documents, name where it lists articles or acts on
// them (kubectl's `-o name`); help and completion print the same whatever
// format -o names. table, -o's default, is the verb's own output where it
// is listed; export has none and refuses it, as etcdctl refuses `-w table`
// where it has no table.
struct VerbOutput {
  const char* verb;  // a command path, `tags`; `admin` for its commands
  std::vector<absl::string_view> formats;  // in FormatNames' order
  // What the verb prints instead of articles, for the refusal of name and
  // markdown: `tags and their counts`.
  const char* prints;
  // -o's help in `VERB --help`; "" for the words main.cc makes of it.
  const char* help;
};

// The formats of command path `verb` (`tags`, `admin stats`): every format
// for one not in the table (`help`, `completion`, none at all).
const VerbOutput& OutputsOf(absl::string_view verb);

// `CODE: message`, e.g. `NOT_FOUND: articles/x not found`, with the code in
// upper-case gRPC style; the message alone for a LocalError.
std::string StatusText(const absl::Status& status);

// How contentctl reaches contentd, for what its errors say.
struct Connection {
  // --server as given. Default: "".
  std::string target;
  // Whether --ca asked for TLS. Default: false.
  bool tls = false;
  // Whether --cert gave a client certificate (mutual TLS). Default: false.
  bool client_cert = false;
  // --request-id (or CONTENT_REQUEST_ID) as given. Default: "" (none
  // sent).
  std::string request_id;
  // Where the calls' deadline came from, as a deadline that passed names
  // it: `--timeout 500ms` or `CONTENT_TIMEOUT=500ms`. Default: "" (the
  // verb's own default).
  std::string deadline;
};

// What `Error: ` is followed by for a failed call: StatusText, but where
// gRPC's text of an UNAVAILABLE (or of a write's DEADLINE_EXCEEDED waiting
// for a connection) hides why the connection failed, plainer
// and with a hint. gRPC says "Ssl handshake failed ... wrong version
// number" when a TLS client read a plaintext answer (`cannot reach
// HOST:PORT: TLS handshake failed: the server answered in plaintext (is
// the server plaintext? try without --ca)`), and only "Socket closed" or
// "Connection reset" when a plaintext client met a TLS server, which can be
// other faults too: that text stays, with `(is the server using TLS? try
// --ca)` after it. A TLS client gets the same words when the server ends
// the handshake, which a server that wants a client certificate does when
// it gets none or one its client CA did not sign: `(does the server
// require a client certificate? try --cert and --key)`, or with --cert
// `(did the server refuse the client certificate? ...)`. A server
// certificate the client rejects, OpenSSL's "certificate verify failed",
// gets `(the server's certificate is not signed by a CA in --ca, or has
// expired or is not yet valid)`, and one that does not name the host dialled
// a hint at its subjectAltName. The same words (or
// "Broken pipe") about a connection that was up (no "failed to connect")
// mean it was lost during the call, the server stopped or killed: they are
// followed by that, and that a write's outcome is unknown, instead. A
// connection refused or a name not resolved is said with the system's reason:
// `cannot reach HOST:PORT: Connection refused`. A deadline that passed on a
// connection (gRPC's bare "Deadline Exceeded": a slow server, a long call)
// names the deadline and how to wait longer: `no answer from HOST:PORT
// within --timeout 500ms; a longer --timeout, or --timeout inf for none,
// waits more`.
std::string CallErrorText(const absl::Status& status,
                          const Connection& connection);

// What a failed call prints on stderr under -o json, on one line instead of
// `Error: TEXT` (`text` being CallErrorText): {"code": "NOT_FOUND",
// "domain": "contentd.v1", "fieldViolations": [{"field": ...,
// "description": ...}], "message": TEXT without its `CODE: `, "metadata":
// {...}, "reason": "ARTICLE_NOT_FOUND"}, every key there whether or not the
// status has a value for it ("", [] and {} when not).
std::string ErrorJson(const absl::Status& status, absl::string_view text);

// ErrorJson's object, for output that adds keys of its own (apply's `file`,
// watch's notices). Each of its `fieldViolations` has the flag or argument
// that gave the field, `{"description": ..., "field": "query.tags[0]",
// "flag": "--tag"}`, as WithViolationFlags put them in `status` ("" where
// none did).
google::protobuf::Struct ErrorStruct(const absl::Status& status,
                                     absl::string_view text);

// Adds `"requestId": ID` to an error object (ErrorStruct's) of a call that
// carried `connection.request_id`, the id to look for in contentd's request
// log; nothing when none was sent. The text line never shows it: the one
// who gave --request-id knows it.
void AddRequestId(google::protobuf::Struct* error,
                  const Connection& connection);

// `status` with `flags[i]` the flag or argument (`--tag`, `ID`) that gave
// the field of its i-th BadRequest violation, "" for one no flag gave,
// for ErrorStruct. Kept as a payload of this side's status only.
absl::Status WithViolationFlags(const absl::Status& status,
                                const std::vector<std::string>& flags);

// `object` as -o json and -o yaml write each object on stderr (a failed
// call's error, apply's warnings, failed files and summary, watch's
// notices, a usage error): one line of JSON for json; for yaml a YAML
// document opened by `---`, so that a script reads stderr as a stream of
// documents. For any other format, and should the object not convert,
// `fallback`, a text line. Ends with a newline.
std::string StderrObject(const google::protobuf::Struct& object, Format format,
                         absl::string_view fallback);

// `status` with `message` instead of its own, keeping its code and details
// (ErrorReason, ErrorMetadata, FieldViolations), which -o json prints.
absl::Status Reworded(const absl::Status& status, absl::string_view message);

// `status`, with a word on file names when it is NOT_FOUND of an article
// whose id reads as one (`get a.md`, as `apply -f a.md` was given): apply
// names the article after the file without its extension; and of
// `get articles`, where query lists them. Any other status unchanged.
absl::Status WithFileNameHint(const absl::Status& status);

// A write's condition that did not hold (FAILED_PRECONDITION, reason
// REVISION_MISMATCH or ETAG_MISMATCH, or a message that opens with
// `expected_revision ` or `etag ` where the details are missing) led by the
// flag that gave it, with the head's revision from the details where the
// message does not say it: `--expected-revision: expected_revision 3 does
// not match the head revision 5 of articles/x`, `--etag: etag E does not
// match the head etag F of articles/x (revision 5)`. Details kept; any
// other status is returned unchanged.
absl::Status NameTheCondition(const absl::Status& status);

// Request fields a verb fills straight from a flag (or the ID argument),
// by the field path the server's errors name (`query.tags`), with the
// flag: the server says `query.tags[0]: ...` of a value the user gave as
// `--tag`.
using FieldFlags = std::vector<std::pair<absl::string_view, absl::string_view>>;

// `status` with the flag that gave each field it names put before it
// (`--tag: query.tags[0]: ...`), for INVALID_ARGUMENT naming one of
// `fields`; else `status` unchanged. A request with several bad fields
// gets a message naming each after "; " (`query.tags[0]: ...;
// query.langs[0]: ...`) and a BadRequest violation per field: each of
// them is led by its own flag (`--tag: query.tags[0]: ...; --lang:
// query.langs[0]: ...`). `query_as` is what the request calls the Query
// whose fields `fields` names as `query.` (Watch's `filter`).
absl::Status NameTheFlag(const absl::Status& status, const FieldFlags& fields,
                         absl::string_view query_as = "query");

// The proto3 JSON mapping of `message`, camelCase names: pretty-printed,
// indented two spaces a level as every JSON contentctl prints, or on one
// line when `pretty` is false. Map keys, a Struct's too, come in byte
// order, so equal messages print the same bytes. With `all_fields`, fields
// at their default (0, "", false, an empty list) are printed too.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   bool pretty = true, bool all_fields = false);

// Block-style YAML of a JSON document. JSON strings that would read back as
// another YAML type (`"1"`, `"true"`, a date) stay quoted; multi-line strings
// become literal blocks where that round-trips exactly.
absl::StatusOr<std::string> JsonToYaml(absl::string_view json);

// Terminal columns that UTF-8 `text` takes: 2 for East Asian wide and
// full-width characters and emoji (a narrow one with VS16 too; a ZWJ
// sequence or a skin-tone modifier adds none), 0 for combining marks, 1
// otherwise (also for each byte of an invalid sequence).
int DisplayWidth(absl::string_view text);

// `text` cut to at most `columns` display columns, ending in `…` when cut.
// Never splits a UTF-8 sequence, nor a character from its marks or an
// emoji sequence.
std::string TruncateToWidth(absl::string_view text, int columns);

// `2025-02-10T13:05:40Z` (UTC, fractional seconds when present); "" when
// `ts` is unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);

// What readers see of `a` at `now`, in the words of query's --state:
// `draft`, `archived`, or, of a published article, where `now` falls in
// its publish window (store::PublishWindowOf's rule, by this machine's
// clock): `scheduled` (publish time not reached; for a tombstone, not
// reached by its deletion), `expired` (expiry time reached) or `live`.
std::string StateLabel(const v1::Article& a, absl::Time now);

// `a` as a Markdown document (FormatMarkdown). With `marked`, and always for
// a tombstone, it opens with `---` and a YAML comment naming it, `#
// articles/ID revision N`, ` (deleted)` after it for a tombstone, as each
// document of `-o markdown` of many does: a deletion printed alone cannot
// pass for a live article, and `apply` refuses it.
std::string MarkdownDocument(const v1::Article& a, bool marked = false);

// Writes results in one format: data to `out`, hints to `err`. In json and
// yaml a response whose list is empty (no articles, tags, revisions or
// field changes) is printed with every field, `"articles": []` and
// `"totalSize": "0"`, since proto3 JSON would print `{}` and a script's
// `.articles[]` or `.totalSize` would find nothing to read.
// Not thread-safe.
class Output {
 public:
  Output(Format format, std::ostream& out, std::ostream& err)
      : format_(format), out_(out), err_(err) {}

  Format format() const { return format_; }

  // Leaves the header row out of every table (kubectl's --no-headers);
  // other formats have none. Default: false.
  void set_no_headers(bool no_headers) { no_headers_ = no_headers; }

  // One article: a `Field: value` listing (table), the Article message
  // (json, yaml), the document (markdown) or its name (name).
  absl::Status PrintArticle(const v1::Article& article) const;

  // A page of a query: columns NAME REV DATE TITLE TAGS (table; with
  // `states`, STATE after REV: each article's StateLabel now), the whole
  // response (json, yaml) or the documents separated by a blank line
  // (markdown). Table and markdown give the total on `err` (`total: 3
  // articles` when `first_page` holds the whole result, `total: 46 articles
  // (6 on this page)` on a later last page, both exact, else `total: about
  // 40 articles (20 on this page)`), then
  // the next page token. Facets follow as a FACET VALUE COUNT table, on
  // `err` for markdown. name: the articles' names, a line each, the rest
  // on `err` as for markdown.
  absl::Status PrintQuery(const v1::QueryArticlesResponse& response,
                          bool first_page, bool states = false) const;

  // Articles named one by one (`get A B C`): the table of PrintQuery
  // (STATE with `states`), a JSON list of the Article messages (json), a
  // YAML sequence of them (yaml), the documents (markdown) or their names
  // (name). No total: nothing at all for none.
  absl::Status PrintArticles(
      const google::protobuf::RepeatedPtrField<v1::Article>& articles,
      bool states) const;

  // A page of revisions: columns REV UPDATED STATE CONTENT-HASH (table), the
  // whole response (json, yaml) or the documents (markdown). STATE is
  // `deleted` for a tombstone, else the revision's StateLabel now; UPDATED
  // is to the second, `2025-02-10T13:05:40Z`, as query's DATE, so that the
  // column keeps one width. REQUIRES: format() is not kName.
  absl::Status PrintHistory(
      const v1::ListArticleRevisionsResponse& response) const;

  // A page of tags or categories: columns `header` ARTICLES (table), or
  // `response` (json, yaml). REQUIRES: format() is kTable, kJson or kYaml.
  absl::Status PrintTermCounts(
      const google::protobuf::Message& response, const std::string& header,
      const google::protobuf::RepeatedPtrField<v1::TermCount>& counts,
      const std::string& next_page_token) const;

  // Two revisions compared (table, markdown): a `NAME: revision A -> B` line,
  // each changed field as `field:` then `- old` and `+ new` (an unset side
  // is left out), then the unified body diff; `no changes` when there are
  // none. With `color`, ANSI colours: field names and `@@` lines cyan,
  // removals red, additions green. A change of `state` names the states as
  // front matter and the rest of contentctl do (`"draft"`, not the API's
  // `"DRAFT"`). With `show_cr` (on a terminal), a carriage return in a body
  // line prints as `^M`, as less and `cat -v` show it: a terminal shows
  // none, and a body stored with CRLF and written again with LF read as
  // every line replaced by itself. With `to_label` (`diff -f`: content not
  // written), the heading names the newer side by it, and an older side of
  // revision 0 (none: a create) as `(new)`. json, yaml: the response;
  // with `to_label`, as one of a stream, with `"file": to_label`: a line
  // of JSON, a YAML document opened by `---`.
  // REQUIRES: format() is not kName.
  absl::Status PrintDiff(const v1::DiffArticleRevisionsResponse& diff,
                         bool color, bool show_cr,
                         absl::string_view to_label = "") const;

  // A translation group: columns ID LANG STATE TITLE (table), the response
  // (json, yaml), the documents (markdown) or the names (name).
  absl::Status PrintTranslations(
      const v1::ListTranslationsResponse& response) const;

  // `message` as JSON or YAML; with `all_fields`, fields at their default
  // too (ToJson). REQUIRES: format() is kJson or kYaml.
  absl::Status PrintMessage(const google::protobuf::Message& message,
                            bool all_fields = false) const;
  // PrintMessage of `message` with every field, and then one member more,
  // `key`: `value` (an object, or null), after the message's own fields:
  // what a command adds to a response it prints, without renaming the
  // response's fields or changing their order.
  absl::Status PrintMessageAnd(const google::protobuf::Message& message,
                               absl::string_view key,
                               const google::protobuf::Value& value) const;

 private:
  // The end of every JSON-or-YAML printer: `json` on `out_` as it is (a
  // newline after it if it has none), or as YAML (JsonToYaml) under kYaml.
  absl::Status PrintJsonOrYaml(absl::string_view json) const;

  // Columns NAME REV DATE TITLE TAGS of `articles` on `out_`, STATE after
  // REV with `states`.
  void WriteArticleTable(
      const google::protobuf::RepeatedPtrField<v1::Article>& articles,
      bool states) const;
  void PrintDocuments(
      const google::protobuf::RepeatedPtrField<v1::Article>& articles) const;
  void HintNextPage(const std::string& token) const;
  // `revisions 1 to N were removed by retention` on `err_` when a
  // history's last page ends at `oldest_kept` > 1.
  void NoteRemovedRevisions(int64_t oldest_kept) const;
  // The `total:` line of PrintQuery on `err_`.
  void PrintTotal(const v1::QueryArticlesResponse& response,
                  bool first_page) const;
  // The facets of a query as a FACET VALUE COUNT table on `os`, if any.
  void PrintFacets(const v1::QueryArticlesResponse& response,
                   std::ostream& os) const;

  // `articles/ID` of each of `articles`, a line each (-o name).
  void PrintNames(
      const google::protobuf::RepeatedPtrField<v1::Article>& articles) const;

  const Format format_;
  std::ostream& out_;
  std::ostream& err_;
  bool no_headers_ = false;
};

}  // namespace content::cli

#endif  // CONTENT_CLIENT_CLI_OUTPUT_H_
