// contentctl: the admin command line for contentd.
//
//   contentctl [-s|--server ADDR] [--token T] [--timeout 10s] [--request-id ID]
//              [-o table|json|yaml|markdown|name] VERB ...
//   contentctl help [VERB [COMMAND]]      (VERB [COMMAND] --help)
//
// Exit codes: 0 success, 1 an RPC or file failed (`Error: CODE: message` on
// stderr; `Error: writing to stdout: REASON` for output that could not be
// written, `Error: reading FILE: REASON` for input that could not be read,
// with no code), 2 a usage error (what is wrong, then ``Run `contentctl VERB
// --help` for more information.``).
#include <grpc/support/log.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/cli/apply.h"
#include "client/cli/completion.h"
#include "client/cli/edit.h"
#include "client/cli/output.h"
#include "client/cli/progress.h"
#include "client/cli/usage.h"
#include "common/decimal_flag.h"
#include "common/did_you_mean.h"
#include "common/lang_tag.h"
#include "common/progress_line.h"
#include "common/terminal.h"
#include "common/usage_error.h"
#include "common/utf8.h"
#include "content/client.h"
#include "content/markdown.h"
#include "google/protobuf/struct.pb.h"

namespace content::cli {
namespace {

// project(VERSION) in CMakeLists.txt, as contentd's.
constexpr char kVersion[] = CONTENT_VERSION;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
// kExitUsage: client/cli/usage.h.

// Flags every verb takes.
struct GlobalFlags {
  std::string server = "127.0.0.1:7070";
  std::string token;
  std::string timeout = "10s";
  std::string request_id;  // x-request-id of every call
  std::string output = "table";
  std::string ca;    // PEM CA bundle: use TLS
  std::string cert;  // PEM client certificate (mutual TLS)
  std::string key;   // its key
};

struct AdminFlags {
  std::string destination;
  bool repair = false;
  bool storage = false;        // compact: also the storage engine's files
  std::string service;         // health --service: this name alone
  bool service_given = false;  // --service "" asks "" alone
};

struct GetFlags {
  std::string id;
  // `get`'s ids; `id` is the first. Several are read in one call.
  std::vector<std::string> ids;
  int64_t revision = 0;
  bool show_deleted = false;
  bool all = false;  // visibility ALL: drafts, scheduled, archived too
  std::string lang;
  std::vector<std::string> fallback_langs;
};

struct QueryFlags {
  std::vector<std::string> tags;
  bool all_tags = false;
  std::vector<std::string> categories;
  std::vector<std::string> langs;
  std::string since;
  std::string until;
  bool oldest_first = false;
  bool include_deleted = false;
  int limit = 20;
  std::string page_token;
  std::vector<std::string> not_tags;
  std::string text;
  std::string view = "full";
  std::vector<std::string> facets;
  int facet_limit = 0;
  bool all = false;  // visibility ALL
  std::vector<std::string> states;
  std::string publish_from;
  std::string publish_to;
};

struct TermsFlags {
  std::string prefix;
  int limit = 0;
  std::string page_token;
};

struct HistoryFlags {
  std::string id;
  int limit = 20;
  std::string page_token;
};

struct DeleteFlags {
  // The articles, in the order given: `ids`, else those `files` name.
  std::vector<std::string> ids;
  std::vector<std::string> files;  // -f: Markdown files, directories, -
  int64_t expected_revision = 0;
  std::string etag;
};

struct DiffFlags {
  std::string id;
  int64_t from_revision = 0;  // 0: the revision before `to_revision`
  int64_t to_revision = 0;    // 0: the head
  std::string color = "auto";
  // -f: what applying these would change (DiffFiles), instead of an ID's
  // revisions; with default_zone and strict as apply takes them.
  ApplyOptions files;
};

struct RestoreFlags {
  std::string id;
  int64_t revision = 0;
  int64_t expected_revision = 0;
  std::string etag;
};

struct TranslationsFlags {
  std::string id;
  bool all = false;
};

// What a verb works with: the connection and the output format.
struct Session {
  std::unique_ptr<Client> client;
  Output output;
  // --timeout when given, else zero: long calls and streams use it instead
  // of their own default.
  absl::Duration timeout_flag = absl::ZeroDuration();
};

// Options of a call that may take longer than --timeout's default:
// `default_timeout` (zero: none) unless --timeout was given.
CallOptions LongCall(const Session& s, absl::Duration default_timeout) {
  CallOptions call;
  call.timeout =
      s.timeout_flag > absl::ZeroDuration() ? s.timeout_flag : default_timeout;
  return call;
}

// The connection, for what Fail says of a connection error.
Connection g_connection;

// Exit code 2 of `diff -f` is trouble (a document that could not be
// compared), as kubectl diff's and diff(1)'s, not a usage error: main gives
// it no usage hint unless a usage error was recorded (Usage).
bool g_exit_2_is_trouble = false;
// -o: Fail prints an object (StderrObject) under json and yaml, a line
// otherwise.
Format g_format = Format::kTable;

// Whether errors are objects rather than lines.
bool StructuredErrors() {
  return g_format == Format::kJson || g_format == Format::kYaml;
}

int Fail(const absl::Status& given) {
  const absl::Status status = WithFileNameHint(given);
  const std::string text = CallErrorText(status, g_connection);
  google::protobuf::Struct error = ErrorStruct(status, text);
  AddRequestId(&error, g_connection);
  std::cerr << StderrObject(error, g_format, absl::StrCat("Error: ", text));
  return kExitFailure;
}

int Finish(const absl::Status& status) {
  return status.ok() ? kExitOk : Fail(status);
}

// "1 article", "2 articles": `n` and the noun, plural but for one.
std::string Counted(int64_t n, absl::string_view noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

// How errors name a global flag: `--token (from CONTENT_TOKEN)` when the
// variable holds `value` (it was set there, or the same on both).
std::string FlagName(const char* flag, const char* env,
                     const std::string& value) {
  const char* from_env = std::getenv(env);
  if (from_env != nullptr && value == from_env) {
    return absl::StrCat(flag, " (from ", env, ")");
  }
  return flag;
}

// The value of environment variable `name`; "" when unset. Set but empty
// is unset, as CLI11 reads it for a flag's envname.
std::string EnvValue(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? "" : value;
}

// `articles/x` for `x` or `articles/x`.
std::string NameOf(const std::string& id) {
  return absl::StartsWith(id, "articles/") ? id : ArticleName(id);
}

// A point in time from a flag: RFC 3339, or `YYYY-MM-DD HH:MM[:SS]`,
// `YYYY-MM-DDTHH:MM[:SS]` or `YYYY-MM-DD` read as UTC (the zoneless forms
// front matter takes).
absl::StatusOr<absl::Time> ParseDate(const std::string& text) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return t;
  for (const char* layout : {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                             "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    if (absl::ParseTime(layout, text, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid date \"", text,
                   "\": want RFC 3339, YYYY-MM-DD HH:MM[:SS] or YYYY-MM-DD"));
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

// CLI11 validators: an empty string accepts the value.
const CLI::Validator kDuration(
    [](std::string& text) -> std::string {
      absl::Duration d;
      if (!absl::ParseDuration(text, &d)) {
        return "invalid duration \"" + text +
               "\": want e.g. 500ms, 10s, 2m, or inf";
      }
      // `0` and `-1s` are durations, just not deadlines: say the rule.
      if (d <= absl::ZeroDuration()) {
        return "must be more than 0, got \"" + text +
               "\" (inf for no deadline)";
      }
      return "";
    },
    "DURATION");

const CLI::Validator kDate(
    [](std::string& text) -> std::string {
      absl::StatusOr<absl::Time> t = ParseDate(text);
      return t.ok() ? "" : std::string(t.status().message());
    },
    "DATE");

// Request fields a verb fills straight from a flag (or the ID argument),
// for NameTheFlag.

const FieldFlags kGetFields = {{"name", "ID"},
                               {"revision", "--revision"},
                               {"lang", "--lang"},
                               {"fallback_langs", "--fallback"}};
// `get` of several ids: BatchGetArticles names them `names[i]`.
const FieldFlags kBatchGetFields = {{"names", "ID"}};
const FieldFlags kQueryFields = {{"query.tags", "--tag"},
                                 {"query.not_tags", "--not-tag"},
                                 {"query.categories", "--category"},
                                 {"query.langs", "--lang"},
                                 {"query.text", "--text"},
                                 {"query.date_from", "--since"},
                                 {"query.date_to", "--until"},
                                 {"query.states", "--state"},
                                 {"query.windows", "--state"},
                                 {"query.publish_time_from", "--publish-from"},
                                 {"query.publish_time_to", "--publish-to"},
                                 {"page_size", "--limit"},
                                 {"page_token", "--page-token"},
                                 {"facet_limit", "--facet-limit"}};
const FieldFlags kTermsFields = {{"prefix", "--prefix"},
                                 {"page_size", "--limit"},
                                 {"page_token", "--page-token"}};
const FieldFlags kHistoryFields = {
    {"name", "ID"}, {"page_size", "--limit"}, {"page_token", "--page-token"}};
const FieldFlags kNameFields = {{"name", "ID"}};
// diff's REV1 left out is filled in by the server (the one before REV2),
// whose error about it names the field: `from_revision: articles/x
// revision 1 is the first; ...`.
const FieldFlags kDiffFields = {
    {"name", "ID"}, {"from_revision", "REV1"}, {"to_revision", "REV2"}};
const FieldFlags kWriteFields = {{"name", "ID"},
                                 {"revision", "REVISION"},
                                 {"expected_revision", "--expected-revision"},
                                 {"etag", "--etag"}};

// As NameTheFlag for an admin verb's one value, `field` in the request, from
// `flag`: contentd leads every error about it with the field, whatever the
// code (`destination: /b already exists`, ALREADY_EXISTS; `storage: the
// postgres engine does not compact its table`, FAILED_PRECONDITION).
absl::Status NameTheAdminFlag(const absl::Status& status,
                              absl::string_view field, absl::string_view flag) {
  if (!absl::StartsWith(status.message(), absl::StrCat(field, ": "))) {
    return status;
  }
  return Reworded(status, absl::StrCat(flag, ": ", status.message()));
}

// A revision the user gave, and the argument or flag that gave it as
// --help names it (`--revision`, `REV1`); 0 where the user gave none.
struct GivenRevision {
  absl::string_view argument;
  int64_t revision;
};

// A NOT_FOUND of a revision the user gave (REVISION_NOT_FOUND, the
// revision in its metadata) led by the argument that gave it, as an
// INVALID_ARGUMENT is (`--revision: articles/x has no revision 9 (the head
// is revision 2)`): the server's text says which revision, not which
// argument, and `diff x 3` (REV1, compared with the head) reads like REV2.
// Every argument in `given` that gave it is named, in order: `diff x 3 3`
// is `REV1 and REV2: ...`, both being wrong. A revision the server filled
// in (0 in `given`: diff's REV1 or REV2 left out) is no argument's: that
// status is returned unchanged, as is any other. Code, reason and metadata
// are kept.
absl::Status NameTheMissingRevision(
    const absl::Status& status, std::initializer_list<GivenRevision> given) {
  if (!absl::IsNotFound(status) ||
      ErrorReason(status) != "REVISION_NOT_FOUND") {
    return status;
  }
  const std::map<std::string, std::string> metadata = ErrorMetadata(status);
  const auto it = metadata.find("revision");
  int64_t revision = 0;
  if (it == metadata.end() || !absl::SimpleAtoi(it->second, &revision) ||
      revision == 0) {
    return status;
  }
  std::vector<absl::string_view> arguments;
  for (const GivenRevision& g : given) {
    if (g.revision == revision) arguments.push_back(g.argument);
  }
  if (arguments.empty()) return status;
  return Reworded(status, absl::StrCat(absl::StrJoin(arguments, " and "), ": ",
                                       status.message()));
}

// A write's error (delete, undelete, restore) led by the flag or argument
// it is about: INVALID_ARGUMENT by NameTheFlag, a condition that did not
// hold (FAILED_PRECONDITION) by NameTheCondition, as apply leads them.
int FailWriteCall(const absl::Status& status) {
  return Fail(NameTheCondition(NameTheFlag(status, kWriteFields)));
}

// --- Verbs ------------------------------------------------------------------

v1::Visibility VisibilityOf(bool all) {
  return all ? v1::VISIBILITY_ALL : v1::VISIBILITY_UNSPECIFIED;
}

// What `get ID --lang L` adds when the server found no translation in the
// languages asked for (`no translation of articles/ID in L, ...;
// translation group "G" has ...`), where one was deleted: its deletion
// drops it from the group, so the server lists only the live ones. The
// server's answer names the group G; a translation in L is looked for
// where the group's naming puts it, at `G.L` (the group of an article with
// no translationKey is its id less `.L`), as a tombstone in L of group G.
// "" when none is found so, or the answer names no group (the article
// named is hidden from this caller).
std::string DeletedTranslations(Session& s, const v1::GetArticleRequest& asked,
                                const absl::Status& status) {
  const absl::string_view message = status.message();
  constexpr absl::string_view kGroup = "; translation group \"";
  const size_t at = message.find(kGroup);
  if (!absl::StartsWith(message, "no translation of ") ||
      at == absl::string_view::npos) {
    return "";
  }
  const size_t start = at + kGroup.size();
  const size_t end = message.find("\" has ", start);
  if (end == absl::string_view::npos) return "";
  const std::string group(message.substr(start, end - start));
  std::vector<std::string> langs = {asked.lang()};
  for (const std::string& l : asked.fallback_langs()) langs.push_back(l);
  std::vector<std::string> found;
  std::set<std::string> seen;
  for (const std::string& lang : langs) {
    const std::string id = absl::StrCat(group, ".", lang);
    if (!seen.insert(absl::AsciiStrToLower(id)).second) continue;
    v1::GetArticleRequest request;
    request.set_name(ArticleName(id));
    request.set_show_deleted(true);
    request.set_visibility(asked.visibility());
    absl::StatusOr<v1::Article> a = s.client->GetArticle(request);
    if (!a.ok() || !a->has_delete_time()) continue;
    if (!a->translation_key().empty() && a->translation_key() != group) {
      continue;
    }
    const bool in_lang = std::any_of(
        a->lang().begin(), a->lang().end(),
        [&](const std::string& l) { return absl::EqualsIgnoreCase(l, lang); });
    if (!in_lang) continue;
    found.push_back(absl::StrCat(
        "the ", lang, " translation, ", a->name(), ", is deleted (revision ",
        a->revision(), "): `contentctl get ", id,
        " --show-deleted` reads it, `contentctl undelete ", id,
        "` brings it back"));
  }
  return absl::StrJoin(found, "; ");
}

// The server's NOT_FOUND of an article or revision readers cannot see
// says it needs "visibility ALL and the editor role", the API's words;
// contentctl's are the flag: `the_flag` replaces them, "--all and the
// editor role" for get and translations, "the editor role, without
// --live-only" for export. An editor who applied a draft and ran `get ID`
// was told of a visibility no flag is named after.
constexpr absl::string_view kNeedsAll = "visibility ALL and the editor role";

std::string NameTheAllFlag(absl::string_view message,
                           absl::string_view the_flag) {
  return absl::StrReplaceAll(message, {{kNeedsAll, the_flag}});
}

absl::Status NameTheAllFlag(const absl::Status& status,
                            absl::string_view the_flag) {
  if (!absl::IsNotFound(status) ||
      !absl::StrContains(status.message(), kNeedsAll)) {
    return status;
  }
  return Reworded(status, NameTheAllFlag(status.message(), the_flag));
}

constexpr absl::string_view kAllFlag = "--all and the editor role";
// `history` and `diff` have no --all: an editor's token shows every
// revision, so the role is all a reader lacks.
constexpr absl::string_view kEditorRole = "the editor role";

// A reader's --all is refused for the role (PERMISSION_DENIED, "this call
// needs editor"), which said nothing of --all having asked for it: says so,
// as FailExport does of its dump. Any other status is returned unchanged.
absl::Status NameTheAllRole(const absl::Status& status, bool all) {
  if (!all || !absl::IsPermissionDenied(status)) return status;
  return Reworded(
      status,
      absl::StrCat(status.message(),
                   "; --all (drafts, scheduled, expired and archived "
                   "articles) needs the editor role: leave it out for what "
                   "readers see"));
}

// `get A B C`: the articles in one call (BatchGetArticles, one snapshot),
// printed as `query` prints a page (a table, or a JSON list, YAML sequence
// or Markdown documents), and an error line on stderr for each id that
// fails (missing, deleted, not live), with its reason; exit 1 if one did.
// The flags that name one revision or translation of one article are
// refused.
int RunGetMany(Session& s, const GetFlags& f) {
  for (auto [given, flag, what] :
       {std::tuple{f.revision != 0, "--revision", "names a revision"},
        std::tuple{!f.lang.empty(), "--lang", "picks a translation"},
        std::tuple{!f.fallback_langs.empty(), "--fallback",
                   "picks a translation"}}) {
    if (given) {
      return Usage(absl::StrCat(flag, ": ", what, " of one article; give one ",
                                "ID (", f.ids.size(), " given)"),
                   kExcludedFlags);
    }
  }
  v1::BatchGetArticlesRequest request;
  for (const std::string& id : f.ids) request.add_names(NameOf(id));
  request.set_show_deleted(f.show_deleted);
  request.set_visibility(VisibilityOf(f.all));
  // The table and the names print no bodies: leave them on the server.
  request.set_view(s.output.format() == Format::kTable ||
                           s.output.format() == Format::kName
                       ? v1::ARTICLE_VIEW_BASIC
                       : v1::ARTICLE_VIEW_FULL);
  absl::StatusOr<v1::BatchGetArticlesResponse> response =
      s.client->BatchGetArticles(request);
  if (!response.ok()) {
    return Fail(
        NameTheFlag(NameTheAllRole(response.status(), f.all), kBatchGetFields));
  }
  google::protobuf::RepeatedPtrField<v1::Article> found;
  std::vector<std::string> errors;
  for (v1::BatchGetArticlesResult& r : *response->mutable_results()) {
    if (r.error_code() == 0) {
      *found.Add() = std::move(*r.mutable_article());
      continue;
    }
    std::string message = r.error();
    if (r.reason() == "ARTICLE_DELETED") {
      // As `get ID` says of one: the tombstone is there to read.
      absl::StrAppend(&message, " (use --show-deleted to read it, or ",
                      "`contentctl undelete ", ArticleId(r.name()), "`)");
    } else if (r.error_code() ==
               static_cast<int>(absl::StatusCode::kNotFound)) {
      message = std::string(WithFileNameHint(absl::NotFoundError(NameTheAllFlag(
                                                 message, kAllFlag)))
                                .message());
    }
    const absl::Status status(static_cast<absl::StatusCode>(r.error_code()),
                              message);
    // `Error: NOT_FOUND (ARTICLE_DELETED): articles/b is deleted ...`
    const std::string line = absl::StrCat(
        "Error: ", absl::StatusCodeToString(status.code()),
        r.reason().empty() ? "" : absl::StrCat(" (", r.reason(), ")"), ": ",
        message);
    if (!StructuredErrors()) {
      errors.push_back(absl::StrCat(line, "\n"));
      continue;
    }
    // A result carries no ErrorInfo: its reason and metadata are put where
    // a failed call's -o json has them, with the name it is about.
    google::protobuf::Struct error = ErrorStruct(status, StatusText(status));
    auto& fields = *error.mutable_fields();
    fields["reason"].set_string_value(r.reason());
    if (!r.reason().empty()) fields["domain"].set_string_value(kErrorDomain);
    auto& metadata =
        *fields["metadata"].mutable_struct_value()->mutable_fields();
    for (const auto& [key, value] : r.metadata())
      metadata[key].set_string_value(value);
    fields["name"].set_string_value(r.name());
    errors.push_back(StderrObject(error, g_format, line));
  }
  const absl::Status printed = s.output.PrintArticles(found, /*states=*/f.all);
  std::cout.flush();
  for (const std::string& error : errors) std::cerr << error;
  if (!printed.ok()) return Fail(printed);
  return errors.empty() ? kExitOk : kExitFailure;
}

int RunGet(Session& s, GetFlags f) {
  if (f.ids.size() > 1) return RunGetMany(s, f);
  f.id = f.ids.empty() ? "" : f.ids.front();
  // The server would name the API fields (`fallback_langs`, `lang`).
  if (!f.fallback_langs.empty() && f.lang.empty()) {
    return Usage("--fallback: needs --lang", kMissingArgument);
  }
  // The server's rule (`lang`, `fallback_langs[0]`), named by the flags.
  const auto bad_tag = [](const char* flag, const std::string& lang) {
    return Usage(
        absl::StrCat(flag, ": ", internal::kLanguageTagRule, "\"", lang, "\""));
  };
  if (!f.lang.empty() && !internal::IsLanguageTag(f.lang)) {
    return bad_tag("--lang", f.lang);
  }
  for (const std::string& lang : f.fallback_langs) {
    if (!internal::IsLanguageTag(lang)) return bad_tag("--fallback", lang);
  }
  if (!f.lang.empty() && f.revision != 0) {
    return Usage(
        "--revision: cannot be combined with --lang (a translation is always "
        "the head)",
        kExcludedFlags);
  }
  v1::GetArticleRequest request;
  request.set_name(NameOf(f.id));
  request.set_revision(f.revision);
  request.set_show_deleted(f.show_deleted);
  request.set_visibility(VisibilityOf(f.all));
  request.set_lang(f.lang);
  for (const std::string& lang : f.fallback_langs) {
    request.add_fallback_langs(lang);
  }
  absl::StatusOr<v1::Article> article = s.client->GetArticle(request);
  if (absl::IsNotFound(article.status()) && !f.show_deleted &&
      absl::StrContains(article.status().message(), " is deleted (revision ")) {
    // The tombstone is there to read, and the article to bring back.
    return Fail(Reworded(
        article.status(),
        absl::StrCat(article.status().message(),
                     " (use --show-deleted to read it, or `",
                     "contentctl undelete ", ArticleId(request.name()), "`)")));
  }
  if (absl::IsNotFound(article.status()) && !f.lang.empty()) {
    if (std::string deleted = DeletedTranslations(s, request, article.status());
        !deleted.empty()) {
      return Fail(
          Reworded(article.status(),
                   absl::StrCat(article.status().message(), "; ", deleted)));
    }
  }
  if (!article.ok()) {
    return Fail(NameTheMissingRevision(
        NameTheFlag(
            NameTheAllRole(NameTheAllFlag(article.status(), kAllFlag), f.all),
            kGetFields),
        {{"--revision", f.revision}}));
  }
  return Finish(s.output.PrintArticle(*article));
}

// The filters of `query` (shared with `export --dir` and `watch`).
v1::Query BuildQuery(const QueryFlags& f) {
  v1::Query q;
  for (const auto& t : f.tags) q.add_tags(t);
  if (f.all_tags) q.set_tag_match(v1::Query::TAG_MATCH_ALL);
  for (const auto& c : f.categories) q.add_categories(c);
  for (const auto& l : f.langs) q.add_langs(l);
  // The validators already accepted these dates.
  if (!f.since.empty())
    *q.mutable_date_from() = ToTimestamp(*ParseDate(f.since));
  if (!f.until.empty()) *q.mutable_date_to() = ToTimestamp(*ParseDate(f.until));
  if (f.oldest_first) q.set_order(v1::Query::ORDER_OLDEST_FIRST);
  q.set_include_deleted(f.include_deleted);
  for (const auto& t : f.not_tags) q.add_not_tags(t);
  q.set_text(f.text);
  q.set_visibility(VisibilityOf(f.all));
  // --state is checked by IsMember. draft, published and archived are
  // stored states; scheduled, live and expired are published articles by
  // where the server's clock falls in their publish window
  // (`query.windows`), which `published` (all of them) makes moot.
  bool all_published = false;
  std::vector<v1::Query::PublishWindow> windows;
  for (const std::string& state : f.states) {
    v1::Query::PublishWindow window = v1::Query::PUBLISH_WINDOW_UNSPECIFIED;
    if (state == "draft") q.add_states(v1::Article::DRAFT);
    if (state == "archived") q.add_states(v1::Article::ARCHIVED);
    if (state == "published") all_published = true;
    if (state == "scheduled") window = v1::Query::PUBLISH_WINDOW_SCHEDULED;
    if (state == "live") window = v1::Query::PUBLISH_WINDOW_LIVE;
    if (state == "expired") window = v1::Query::PUBLISH_WINDOW_EXPIRED;
    if (window != v1::Query::PUBLISH_WINDOW_UNSPECIFIED &&
        std::find(windows.begin(), windows.end(), window) == windows.end())
      windows.push_back(window);
    // PUBLISHED once, where the first published value was given.
    if ((state == "published" ||
         window != v1::Query::PUBLISH_WINDOW_UNSPECIFIED) &&
        std::find(q.states().begin(), q.states().end(),
                  v1::Article::PUBLISHED) == q.states().end())
      q.add_states(v1::Article::PUBLISHED);
  }
  if (!all_published) {
    for (v1::Query::PublishWindow w : windows) q.add_windows(w);
  }
  if (!f.publish_from.empty()) {
    *q.mutable_publish_time_from() = ToTimestamp(*ParseDate(f.publish_from));
  }
  if (!f.publish_to.empty()) {
    *q.mutable_publish_time_to() = ToTimestamp(*ParseDate(f.publish_to));
  }
  return q;
}

// Rules the server would report in API terms (`query.tags[0]`,
// `query.visibility`, `query.date_to`), checked here to name the flags instead;
// "" if none is broken. `all_flag` is how the verb asks for every state:
// "--all" (query, watch), or "" for export, where every state is the
// default and only --live-only leaves them out.
std::string CheckQueryFlags(const QueryFlags& f, const char* all_flag) {
  for (auto [values, flag] :
       {std::pair{&f.tags, "--tag"}, std::pair{&f.not_tags, "--not-tag"},
        std::pair{&f.categories, "--category"},
        std::pair{&f.langs, "--lang"}}) {
    for (const std::string& v : *values) {
      if (v.empty()) return absl::StrCat(flag, ": must not be empty");
    }
  }
  // The server's rule (`query.langs[0]`): a malformed tag matches nothing.
  for (const std::string& lang : f.langs) {
    if (!internal::IsLanguageTag(lang)) {
      return absl::StrCat("--lang: ", internal::kLanguageTagRule, "\"", lang,
                          "\"");
    }
  }
  const std::string remedy = all_flag[0] == '\0'
                                 ? "cannot be combined with --live-only"
                                 : absl::StrCat("needs ", all_flag);
  for (const std::string& state : f.states) {
    if (!f.all && (state == "draft" || state == "archived")) {
      return absl::StrCat("--state ", state, ": ", state,
                          " articles are never live; ", remedy);
    }
    if (!f.all && (state == "scheduled" || state == "expired")) {
      return absl::StrCat("--state ", state, ": ", state,
                          " articles are not live; ", remedy);
    }
  }
  for (auto [from, to, from_flag, to_flag] :
       {std::tuple{&f.since, &f.until, "--since", "--until"},
        std::tuple{&f.publish_from, &f.publish_to, "--publish-from",
                   "--publish-to"}}) {
    if (from->empty() || to->empty()) continue;
    if (*ParseDate(*to) <= *ParseDate(*from)) {  // both checked by kDate
      return absl::StrCat(to_flag, ": must be after ", from_flag);
    }
  }
  return "";
}

// Adds the filter flags of `query` to a verb.
void AddFilterFlags(CLI::App* verb, QueryFlags* f) {
  verb->add_option("--tag", f->tags, "Has this tag (repeatable)")
      ->allow_extra_args(false);
  verb->add_flag("--all-tags", f->all_tags,
                 "Require every --tag instead of any");
  verb->add_option("--category", f->categories, "In this category (repeatable)")
      ->allow_extra_args(false);
  verb->add_option("--lang", f->langs, "In this language (repeatable)")
      ->allow_extra_args(false);
  verb->add_option("--not-tag", f->not_tags,
                   "Does not have this tag (repeatable)")
      ->allow_extra_args(false);
}

// --state, --publish-from and --publish-to of `verb` (query, export), the
// states' help ending with `states_note`.
void AddEditorialFilterFlags(CLI::App* verb, QueryFlags* f,
                             const char* states_note) {
  verb->add_option("--state", f->states,
                   absl::StrCat("In one of these states: draft, published, "
                                "archived; or, of the published, scheduled, "
                                "live, expired by the server's clock (",
                                states_note, ")"))
      ->delimiter(',')
      ->check(CLI::IsMember(
          {"draft", "published", "archived", "scheduled", "live", "expired"}))
      ->allow_extra_args(false);
  verb->add_option("--publish-from", f->publish_from,
                   "Publish time at or after DATE (UTC)")
      ->check(kDate);
  verb->add_option("--publish-to", f->publish_to,
                   "Publish time before DATE (UTC)")
      ->check(kDate);
}

int RunQuery(Session& s, const QueryFlags& f) {
  if (std::string bad = CheckQueryFlags(f, "--all"); !bad.empty()) {
    return Usage(std::move(bad));
  }
  if (f.view == "basic" && s.output.format() == Format::kMarkdown) {
    // Markdown documents are their bodies; without them each is empty.
    return Usage("--view basic: has no bodies to print as -o markdown",
                 kExcludedFlags);
  }
  v1::QueryArticlesRequest request;
  *request.mutable_query() = BuildQuery(f);
  request.set_page_size(f.limit);
  request.set_page_token(f.page_token);
  // Names need no bodies.
  request.set_view(f.view == "basic" || s.output.format() == Format::kName
                       ? v1::ARTICLE_VIEW_BASIC
                       : v1::ARTICLE_VIEW_FULL);
  for (const std::string& name : f.facets) {
    v1::FacetField field = v1::FACET_FIELD_UNSPECIFIED;
    if (name == "tags") field = v1::FACET_FIELD_TAGS;
    if (name == "categories") field = v1::FACET_FIELD_CATEGORIES;
    if (name == "lang") field = v1::FACET_FIELD_LANG;
    request.add_facets(field);  // --facets is checked by IsMember
  }
  request.set_facet_limit(f.facet_limit);
  absl::StatusOr<v1::QueryArticlesResponse> response =
      s.client->QueryArticles(request);
  if (!response.ok()) {
    return Fail(
        NameTheFlag(NameTheAllRole(response.status(), f.all), kQueryFields));
  }
  // Editors' queries mix states: --all adds a STATE column.
  return Finish(
      s.output.PrintQuery(*response, f.page_token.empty(), /*states=*/f.all));
}

// `tags` and `categories`: a page of names with their article counts.
int RunTerms(Session& s, const TermsFlags& f, bool categories) {
  if (categories) {
    v1::ListCategoriesRequest request;
    request.set_prefix(f.prefix);
    request.set_page_size(f.limit);
    request.set_page_token(f.page_token);
    absl::StatusOr<v1::ListCategoriesResponse> response =
        s.client->ListCategories(request);
    if (!response.ok()) {
      return Fail(NameTheFlag(response.status(), kTermsFields));
    }
    return Finish(s.output.PrintTermCounts(*response, "CATEGORY",
                                           response->categories(),
                                           response->next_page_token()));
  }
  v1::ListTagsRequest request;
  request.set_prefix(f.prefix);
  request.set_page_size(f.limit);
  request.set_page_token(f.page_token);
  absl::StatusOr<v1::ListTagsResponse> response = s.client->ListTags(request);
  if (!response.ok()) return Fail(NameTheFlag(response.status(), kTermsFields));
  return Finish(s.output.PrintTermCounts(*response, "TAG", response->tags(),
                                         response->next_page_token()));
}

// How long completing a value may wait for the server, process start and
// connection included, unless CONTENT_COMPLETION_TIMEOUT says otherwise.
// A key press is kept waiting that long at most; a second was too short for
// a loaded host (contentctl's start alone took most of it), which then
// completed nothing.
constexpr absl::Duration kCompletionDeadline = absl::Seconds(2);
// Overrides kCompletionDeadline: a duration as --timeout takes (`inf`).
constexpr char kCompletionTimeoutEnv[] = "CONTENT_COMPLETION_TIMEOUT";
// Candidates asked for: the server's max page size by default.
constexpr int kCompletionNames = 1000;

// `__complete tags|categories PREFIX`: the tags (or the categories) of live
// articles starting with `prefix` (bytewise), one a line, for the
// completion script (names hold no control characters). On an error, 1 and
// nothing said: a completion has no candidates then, and no message on the
// terminal.
int RunCompleteNames(Client& client, bool categories,
                     const std::string& prefix) {
  const auto print = [](const auto& counts) {
    for (const v1::TermCount& c : counts) std::cout << c.value() << "\n";
    return kExitOk;
  };
  if (categories) {
    v1::ListCategoriesRequest request;
    request.set_prefix(prefix);
    request.set_page_size(kCompletionNames);
    absl::StatusOr<v1::ListCategoriesResponse> response =
        client.ListCategories(request);
    return response.ok() ? print(response->categories()) : kExitFailure;
  }
  v1::ListTagsRequest request;
  request.set_prefix(prefix);
  request.set_page_size(kCompletionNames);
  absl::StatusOr<v1::ListTagsResponse> response = client.ListTags(request);
  return response.ok() ? print(response->tags()) : kExitFailure;
}

int RunHistory(Session& s, const HistoryFlags& f) {
  v1::ListArticleRevisionsRequest request;
  request.set_name(NameOf(f.id));
  request.set_page_size(f.limit);
  request.set_page_token(f.page_token);
  absl::StatusOr<v1::ListArticleRevisionsResponse> response =
      s.client->ListArticleRevisions(request);
  if (!response.ok()) {
    return Fail(NameTheFlag(NameTheAllFlag(response.status(), kEditorRole),
                            kHistoryFields));
  }
  return Finish(s.output.PrintHistory(*response));
}

// Table output of a write: `articles/x deleted (revision 3)`; other formats
// print the article written.
int PrintWrite(Session& s, const v1::Article& article, const char* verb) {
  if (s.output.format() != Format::kTable) {
    return Finish(s.output.PrintArticle(article));
  }
  std::cout << article.name() << " " << verb << " (revision "
            << article.revision() << ")\n";
  return kExitOk;
}

// Colours for `diff`: --color=always|never, or on a terminal unless
// NO_COLOR is set (https://no-color.org) or TERM is dumb.
bool UseColor(const std::string& flag) {
  if (flag == "always") return true;
  if (flag == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return internal::IsAnsiTerminal(STDOUT_FILENO);
}

// The head revision of article `name`, as a reader reads it, else (a
// draft, scheduled or deleted head) as an editor does.
absl::StatusOr<int64_t> HeadRevision(Session& s, const std::string& name) {
  v1::GetArticleRequest get;
  get.set_name(name);
  absl::StatusOr<v1::Article> head = s.client->GetArticle(get);
  if (!head.ok()) {
    get.set_show_deleted(true);
    get.set_visibility(v1::VISIBILITY_ALL);
    head = s.client->GetArticle(get);
  }
  if (!head.ok()) return head.status();
  return head->revision();
}

// diff's NOT_FOUND of REV2 (which the server looks up first, and alone
// names) where REV1 is past the head too, `diff x 5 4` with the head at 2:
// both arguments are named, `REV1 and REV2: articles/x has no revision 5
// or 4 (the head is revision 2)`, and REV1 after REV2's own error where
// REV2 is missing for another reason (removed by retention; to a reader, a
// draft). The head is the error's `current_revision`; a server older than
// that key costs one more call, made only then. `status` unchanged if the
// head cannot be read or REV1 is not past it. Code, reason and metadata
// (REV2's revision) are kept.
absl::Status NameRev1PastTheHead(Session& s, const absl::Status& status,
                                 const std::string& name, const DiffFlags& f) {
  if (!absl::IsNotFound(status) ||
      ErrorReason(status) != "REVISION_NOT_FOUND" || f.from_revision == 0 ||
      f.to_revision == 0 || f.from_revision == f.to_revision) {
    return status;
  }
  const std::map<std::string, std::string> metadata = ErrorMetadata(status);
  const auto it = metadata.find("revision");
  if (it == metadata.end() || it->second != absl::StrCat(f.to_revision)) {
    return status;
  }
  absl::StatusOr<int64_t> head;
  const auto current = metadata.find("current_revision");
  int64_t given = 0;
  if (current != metadata.end() && absl::SimpleAtoi(current->second, &given)) {
    head = given;
  } else {
    head = HeadRevision(s, name);
  }
  if (!head.ok() || f.from_revision <= *head) return status;
  const std::string past_rev1 =
      absl::StrCat(name, " has no revision ", f.from_revision);
  const std::string the_head =
      absl::StrCat(" (the head is revision ", *head, ")");
  if (f.to_revision > *head) {
    return Reworded(status, absl::StrCat("REV1 and REV2: ", past_rev1, " or ",
                                         f.to_revision, the_head));
  }
  return Reworded(
      status, absl::StrCat(status.message(), "; REV1: ", past_rev1, the_head));
}

int RunDiff(Session& s, DiffFlags f) {
  // Colours are for a terminal, forced or not; so is a CR made visible.
  const bool color = UseColor(f.color);
  const bool show_cr = color || isatty(STDOUT_FILENO);
  if (!f.files.paths.empty()) {
    if (!f.id.empty()) {
      return Usage(
          "ID: not with -f (a file names its article, as apply names it; "
          "diff -f compares it with the head)",
          kExcludedFlags);
    }
    f.files.connection = g_connection;
    g_exit_2_is_trouble = true;
    return DiffFiles(*s.client, f.files, s.output.format(), color, show_cr);
  }
  if (!f.files.id.empty()) {
    return Usage("--id: only with -f - (the id of the article on stdin)",
                 kExcludedFlags);
  }
  // They shape how a file is read; without -f they did nothing, silently.
  for (const auto& [flag, given] :
       {std::pair{"--strict", f.files.strict},
        std::pair{"--default-zone", f.files.default_zone != "UTC"}}) {
    if (given) {
      return Usage(absl::StrCat(flag, ": only with -f (it shapes how a file ",
                                "is read)"),
                   kExcludedFlags);
    }
  }
  if (f.id.empty()) {
    return Usage(
        "missing ID: diff takes an article id, `x` or `articles/x`, or -f "
        "FILE for what applying it would change (contentctl diff ID [REV1] "
        "[REV2], contentctl diff -f FILE)",
        "ID", kMissingArgument);
  }
  v1::DiffArticleRevisionsRequest request;
  request.set_name(NameOf(f.id));
  request.set_from_revision(f.from_revision);
  request.set_to_revision(f.to_revision);
  absl::StatusOr<v1::DiffArticleRevisionsResponse> response =
      s.client->DiffArticleRevisions(request);
  if (!response.ok()) {
    // `REV1: from_revision: ...` names the argument twice, once in the
    // API's word, which the user never typed: the argument alone.
    absl::Status status = NameTheFlag(
        NameTheAllFlag(response.status(), kEditorRole), kDiffFields);
    std::string message(status.message());
    if (absl::StrReplaceAll({{"REV1: from_revision: ", "REV1: "},
                             {"REV2: to_revision: ", "REV2: "}},
                            &message) > 0) {
      status = Reworded(status, message);
    }
    return Fail(NameRev1PastTheHead(
        s,
        NameTheMissingRevision(
            status, {{"REV1", f.from_revision}, {"REV2", f.to_revision}}),
        request.name(), f));
  }
  return Finish(s.output.PrintDiff(*response, color, show_cr));
}

int RunRestore(Session& s, const RestoreFlags& f) {
  v1::RestoreArticleRevisionRequest request;
  request.set_name(NameOf(f.id));
  request.set_revision(f.revision);
  request.set_expected_revision(f.expected_revision);
  request.set_etag(f.etag);
  // Content equal to a live head writes nothing and the server answers with
  // the head: the head's revision, known beforehand, tells the two apart
  // (as apply does). With --expected-revision the head is that or the call
  // fails; otherwise it is read first (a write landing between the two
  // calls reads as a restore).
  int64_t head_revision = f.expected_revision;
  if (head_revision == 0 && s.output.format() == Format::kTable) {
    v1::GetArticleRequest get;
    get.set_name(request.name());
    get.set_show_deleted(true);
    get.set_visibility(v1::VISIBILITY_ALL);  // a draft can be restored too
    absl::StatusOr<v1::Article> head = s.client->GetArticle(get);
    // A failed read leaves the restore to report its own error.
    if (head.ok() && !head->has_delete_time()) {
      head_revision = head->revision();
    }
  }
  absl::StatusOr<v1::Article> article =
      s.client->RestoreArticleRevision(request);
  if (!article.ok()) {
    // `REVISION: revision: 3 of articles/x is a deletion tombstone` names
    // the argument twice, once in the API's word, which the user never
    // typed (as diff's `REV1: from_revision: ...`): the argument, then the
    // server's words read as a sentence.
    absl::Status status = NameTheFlag(
        NameTheMissingRevision(article.status(), {{"REVISION", f.revision}}),
        kWriteFields);
    std::string message(status.message());
    if (absl::StrReplaceAll({{"REVISION: revision: ", "REVISION: revision "}},
                            &message) > 0) {
      status = Reworded(status, message);
    }
    return FailWriteCall(status);
  }
  if (s.output.format() == Format::kTable && !article->has_delete_time() &&
      article->revision() == head_revision) {
    std::cout << article->name() << " unchanged (revision "
              << article->revision() << "): already has the content of "
              << "revision " << f.revision << "\n";
    return kExitOk;
  }
  const std::string verb = absl::StrCat("restored from revision ", f.revision);
  return PrintWrite(s, *article, verb.c_str());
}

int RunTranslations(Session& s, const TranslationsFlags& f) {
  v1::ListTranslationsRequest request;
  request.set_name(NameOf(f.id));
  request.set_visibility(VisibilityOf(f.all));
  request.set_view(s.output.format() == Format::kMarkdown
                       ? v1::ARTICLE_VIEW_FULL
                       : v1::ARTICLE_VIEW_BASIC);
  absl::StatusOr<v1::ListTranslationsResponse> response =
      s.client->ListTranslations(request);
  if (absl::IsNotFound(response.status()) &&
      absl::StrContains(response.status().message(),
                        " is deleted (revision ")) {
    // As get says it (translations has no --show-deleted).
    return Fail(Reworded(
        response.status(),
        absl::StrCat(response.status().message(), " (`contentctl undelete ",
                     ArticleId(request.name()), "` brings it back)")));
  }
  if (!response.ok()) {
    return Fail(NameTheFlag(
        NameTheAllRole(NameTheAllFlag(response.status(), kAllFlag), f.all),
        kNameFields));
  }
  return Finish(s.output.PrintTranslations(*response));
}

// `delete`, or `undelete` where `undelete`, of one article: their requests
// have the same fields.
absl::StatusOr<v1::Article> DeleteCall(Session& s, const std::string& id,
                                       const DeleteFlags& f, bool undelete) {
  const auto fill = [&](auto* request) {
    request->set_name(NameOf(id));
    request->set_expected_revision(f.expected_revision);
    request->set_etag(f.etag);
  };
  if (undelete) {
    v1::UndeleteArticleRequest request;
    fill(&request);
    return s.client->UndeleteArticle(request);
  }
  v1::DeleteArticleRequest request;
  fill(&request);
  return s.client->DeleteArticle(request);
}

// What `delete A B` prints on stderr of an article (`name`, or the
// document `file` of -f that names none) that failed: `Error: CODE:
// message`, the message naming it (the server's do; a connection error is
// led by the name), or under -o json|yaml the object a failed call's is
// with `"name"` and, from -f, `"file"`.
std::string ItemError(const absl::Status& given, const std::string& name,
                      const std::string& file) {
  absl::Status status = given;
  if (!name.empty() && !absl::StrContains(status.message(), name)) {
    status = Reworded(status, absl::StrCat(name, ": ", status.message()));
  }
  const std::string text = CallErrorText(status, g_connection);
  google::protobuf::Struct error = ErrorStruct(status, text);
  AddRequestId(&error, g_connection);
  auto& fields = *error.mutable_fields();
  if (!name.empty()) fields["name"].set_string_value(name);
  if (!file.empty()) fields["file"].set_string_value(file);
  return StderrObject(error, g_format, absl::StrCat("Error: ", text));
}

// `delete`, or `undelete` where `undelete`. One ID as ever: the article
// written, or the error. Several, or -f (the articles the files' documents
// name, as apply names them): each in turn, a line each on stdout as it is
// done (table, name), or at the end as get of several prints them (a JSON
// list, a YAML sequence, Markdown documents), and an error each on stderr
// for those that fail, naming it; the others still go, and the exit code
// is 1 if one failed. A condition (--expected-revision, --etag) is of one
// article's head: refused with several.
int RunDelete(Session& s, const DeleteFlags& f, bool undelete) {
  const std::string verb = undelete ? "undelete" : "delete";
  if (!f.ids.empty() && !f.files.empty()) {
    // `-f a.md b.md`, as a shell glob gives it, reads as -f a.md and the
    // ID b.md: an "ID" that is a file on disk was meant as one (apply's
    // hint, UnexpectedArguments).
    const bool file_as_id =
        std::any_of(f.ids.begin(), f.ids.end(), [](const std::string& id) {
          std::error_code ec;
          return std::filesystem::exists(id, ec);
        });
    return Usage(
        absl::StrCat("-f: cannot be combined with ID arguments (", verb,
                     " ID... or ", verb, " -f FILE)",
                     file_as_id ? "; each file its own -f: -f a.md -f b.md, "
                                  "or -f DIR for every Markdown file under DIR"
                                : ""),
        "-f", kExcludedFlags);
  }
  if (f.ids.empty() && f.files.empty()) {
    // Said as every verb's missing argument is (MissingPositional).
    return Usage(absl::StrCat("missing ID: ", verb,
                              " takes one or more article ids, `x` or "
                              "`articles/x`, or -f FILE (contentctl ",
                              verb, " ID... or contentctl ", verb, " -f FILE)"),
                 "ID", kMissingArgument);
  }
  if (std::count(f.files.begin(), f.files.end(), "-") > 1) {
    return Usage("-f -: standard input can be given once");
  }
  const char* condition = f.expected_revision != 0 ? "--expected-revision"
                          : !f.etag.empty()        ? "--etag"
                                                   : nullptr;
  if (condition != nullptr && f.ids.size() > 1) {
    return Usage(
        absl::StrCat(condition, ": is a condition on the head of one ",
                     "article; give one ID (", f.ids.size(), " given)"),
        kExcludedFlags);
  }
  const char* done = undelete ? "undeleted" : "deleted";
  if (f.ids.size() == 1) {
    absl::StatusOr<v1::Article> article =
        DeleteCall(s, f.ids.front(), f, undelete);
    if (!article.ok()) return FailWriteCall(article.status());
    return PrintWrite(s, *article, done);
  }
  std::vector<NamedArticle> targets;
  if (f.files.empty()) {
    for (const std::string& id : f.ids) targets.push_back({"", id});
  } else {
    absl::StatusOr<std::vector<NamedArticle>> named =
        ArticlesNamedIn(f.files, s.output.format());
    if (!named.ok()) return Fail(named.status());
    targets = *std::move(named);
    if (condition != nullptr && targets.size() != 1) {
      return Usage(absl::StrCat(condition, ": is a condition on the head of ",
                                "one article; -f names ", targets.size()),
                   kExcludedFlags);
    }
  }
  const Format format = s.output.format();
  google::protobuf::RepeatedPtrField<v1::Article> written;
  int failed = 0;
  for (const NamedArticle& target : targets) {
    if (!target.id.ok()) {
      ++failed;
      std::cout.flush();
      std::cerr << ItemError(target.id.status(), "", target.label)
                << std::flush;
      continue;
    }
    const std::string name = NameOf(*target.id);
    absl::StatusOr<v1::Article> article =
        DeleteCall(s, *target.id, f, undelete);
    if (!article.ok()) {
      ++failed;
      std::cout.flush();
      std::cerr << ItemError(
                       NameTheCondition(NameTheFlag(
                           article.status(),
                           f.files.empty() ? kWriteFields : FieldFlags{})),
                       name, target.label)
                << std::flush;
      continue;
    }
    if (format == Format::kTable) {
      std::cout << article->name() << " " << done << " (revision "
                << article->revision() << ")\n";
    } else if (format == Format::kName) {
      std::cout << article->name() << "\n";
    } else {
      *written.Add() = *std::move(article);
    }
    std::cout.flush();
  }
  if (format != Format::kTable && format != Format::kName) {
    if (absl::Status printed = s.output.PrintArticles(written, false);
        !printed.ok()) {
      return Fail(printed);
    }
  }
  return failed > 0 ? kExitFailure : kExitOk;
}

// Export is a site dump: drafts, scheduled, expired and archived articles
// too, which takes the editor role. Says how to do without it.
int FailExport(const absl::Status& status, bool live_only) {
  if (status.code() != absl::StatusCode::kPermissionDenied || live_only) {
    return Fail(status);
  }
  return Fail(Reworded(
      status,
      absl::StrCat(
          status.message(),
          "; export includes drafts, scheduled and archived articles, which "
          "needs the editor role: add --live-only to export what readers "
          "see")));
}

// A local file or stdout that could not be written, with the OS's reason
// (`Error: writing out/x.md: No space left on device`): no gRPC code, since
// the server is not to blame (LocalError). Under -o json|yaml the object a
// failed call's error is (StderrObject), {"code": "", "domain":
// "contentctl", "fieldViolations": [], "message": "writing to stdout: No
// space left on device", "metadata": {"path": "stdout"}, "reason":
// "WRITE_FAILED"}, the path being the file's for `export --dir`. `action`
// is what was being done to it: "writing", or "creating" and "removing"
// for `export --dir`'s directory and marker.
int FailWrite(absl::string_view what, int err,
              absl::string_view action = "writing") {
  absl::string_view path = what;
  absl::ConsumePrefix(&path, "to ");
  return Fail(LocalError(
      kWriteFailed, absl::StrCat(action, " ", what, ": ", std::strerror(err)),
      path));
}

// Writes `text` to `path` (created or truncated); returns 0, or the errno
// of the step that failed. The close is checked too: a file system may
// report a full disk only there.
int WriteLocalFile(const std::string& path, absl::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return errno;
  int err = 0;
  if (std::fwrite(text.data(), 1, text.size(), f) != text.size() ||
      std::fflush(f) != 0) {
    err = errno != 0 ? errno : EIO;
  }
  if (std::fclose(f) != 0 && err == 0) err = errno != 0 ? errno : EIO;
  return err;
}

// Reads the whole of `path` into `text`; returns 0, or the errno of the
// step that failed.
int ReadLocalFile(const std::string& path, std::string* text) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return errno;
  text->clear();
  char buf[1 << 14];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text->append(buf, n);
  const int err = std::ferror(f) != 0 ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(f);
  return err;
}

// What `export --dir` writes an article to before renaming it to ID.md:
// `.ID.md.contentctl-tmp`, a dot name that `apply -f DIR` (and file
// browsers) leave out, which no article file can be mistaken for.
constexpr absl::string_view kExportTempSuffix = ".md.contentctl-tmp";

std::string ExportTempPath(const std::string& dir, absl::string_view id) {
  return absl::StrCat(dir, "/.", id, kExportTempSuffix);
}

// Whether `name` is `id` by the server's rule: 1-128 of [A-Za-z0-9._-],
// starting with a letter or digit.
bool IsArticleId(absl::string_view id) {
  return !id.empty() && id.size() <= 128 &&
         absl::ascii_isalnum(static_cast<unsigned char>(id[0])) &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '.' || c == '_' || c == '-';
         });
}

// Removes from `dir` the temporary files an export into it left when it
// was killed mid-write: `.ID.md.contentctl-tmp`, and, where an export was
// cut off (`had_marker`), `ID.md.tmp`, as contentctl named them before.
// Nothing else: only regular files named so, with ID an article id.
void RemoveExportLeftovers(const std::string& dir, bool had_marker) {
  std::error_code ec;
  std::vector<std::filesystem::path> stale;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    absl::string_view id = name;
    const bool ours = absl::ConsumePrefix(&id, ".") &&
                      absl::ConsumeSuffix(&id, kExportTempSuffix);
    absl::string_view old_id = name;
    const bool old = had_marker && absl::ConsumeSuffix(&old_id, ".md.tmp");
    std::error_code type_ec;
    if (((ours && IsArticleId(id)) || (old && IsArticleId(old_id))) &&
        it->is_regular_file(type_ec) && !it->is_symlink(type_ec)) {
      stale.push_back(it->path());
    }
  }
  for (const std::filesystem::path& path : stale) {
    std::filesystem::remove(path, ec);
  }
}

// Markdown whatever -o says: export is for files. With --dir, every article
// the filters select becomes DIR/<id>.md, a tree `apply -f DIR` reads back
// unchanged. Every state is exported unless `live_only`.
int RunExport(Session& s, const GetFlags& f, QueryFlags filters,
              const std::string& dir, bool live_only) {
  filters.all = !live_only;
  if (std::string bad = CheckQueryFlags(filters, ""); !bad.empty()) {
    return Usage(std::move(bad));
  }
  if (dir.empty()) {
    if (f.id.empty()) {
      // Said as every verb's missing argument is (MissingPositional).
      return Usage(
          "missing ID: export takes an article id, `x` or `articles/x`, or "
          "--dir DIR to export many (contentctl export ID, or contentctl "
          "export --dir DIR)",
          "ID", kMissingArgument);
    }
    // The filters select what --dir writes; with an ID they would be
    // ignored, and the article printed whether it matches or not.
    for (auto [given, flag] :
         {std::pair{!filters.tags.empty(), "--tag"},
          std::pair{filters.all_tags, "--all-tags"},
          std::pair{!filters.categories.empty(), "--category"},
          std::pair{!filters.langs.empty(), "--lang"},
          std::pair{!filters.not_tags.empty(), "--not-tag"},
          std::pair{!filters.since.empty(), "--since"},
          std::pair{!filters.until.empty(), "--until"},
          std::pair{!filters.text.empty(), "--text"},
          std::pair{!filters.states.empty(), "--state"},
          std::pair{!filters.publish_from.empty(), "--publish-from"},
          std::pair{!filters.publish_to.empty(), "--publish-to"}}) {
      if (given) {
        return Usage(absl::StrCat(flag,
                                  ": applies only with --dir (export ID "
                                  "prints that one article)"),
                     kExcludedFlags);
      }
    }
    v1::GetArticleRequest request;
    request.set_name(NameOf(f.id));
    request.set_revision(f.revision);
    request.set_visibility(VisibilityOf(!live_only));
    absl::StatusOr<v1::Article> article = s.client->GetArticle(request);
    if (absl::IsNotFound(article.status()) && f.revision == 0) {
      // The tombstone's revision holds the last content: name the command
      // that prints it, as `get` names --show-deleted.
      const absl::string_view message = article.status().message();
      constexpr absl::string_view kDeleted = " is deleted (revision ";
      const size_t at = message.find(kDeleted);
      int64_t tombstone = 0;
      if (at != std::string::npos &&
          absl::SimpleAtoi(
              message.substr(at + kDeleted.size(),
                             message.find(')', at) - at - kDeleted.size()),
              &tombstone)) {
        return Fail(Reworded(
            article.status(),
            absl::StrCat(
                message, " (`contentctl export ", ArticleId(request.name()),
                " --revision ", tombstone,
                "` prints its last content, marked (deleted); `contentctl "
                "undelete ",
                ArticleId(request.name()), "` brings it back)")));
      }
    }
    if (!article.ok()) {
      // As `get` says it: `ID: name: ...`, `--revision: ...`.
      return FailExport(
          NameTheMissingRevision(
              NameTheFlag(
                  NameTheAllFlag(article.status(),
                                 "the editor role, without --live-only"),
                  kGetFields),
              {{"--revision", f.revision}}),
          live_only);
    }
    std::cout << MarkdownDocument(*article);
    return kExitOk;
  }
  if (!f.id.empty()) {
    return Usage(
        "--dir: cannot be combined with ID (export ID prints that one "
        "article; export --dir DIR writes those the filters select)",
        "--dir", kExcludedFlags);
  }
  std::error_code ec;
  const bool existed = std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  int64_t written = 0;
  // Like a file that cannot be written, a directory that cannot be made (a
  // file in its place) is no server's error: no gRPC code.
  if (ec) return FailWrite(dir, ec.value(), "creating");
  // DIR/.incomplete stands while the export runs and goes once it
  // completes: an export cut off (the stream failed, the server cut off a
  // stalled export, a write failed, contentctl was killed) leaves it, so a
  // script can tell the tree lacks articles. `apply -f DIR` leaves dot
  // names out.
  const std::string marker = absl::StrCat(dir, "/", kIncompleteMarker);
  const bool had_marker = std::filesystem::exists(marker, ec);
  if (const int err = WriteLocalFile(
          marker,
          "An export into this directory did not complete: it may lack "
          "articles. Export again (contentctl export --dir); a complete "
          "export removes this file.\n");
      err != 0) {
    return FailWrite(marker, err);
  }
  // An export killed mid-write left its temporary file; this one will
  // write every article it selects again.
  RemoveExportLeftovers(dir, had_marker);
  // An export refused outright (no permission, a bad query) leaves no empty
  // directory of its own making behind, and no marker in a directory it
  // did not change.
  auto drop_empty_dir = [&] {
    std::error_code ignored;
    if (!had_marker) std::filesystem::remove(marker, ignored);
    if (!existed) std::filesystem::remove(dir, ignored);  // only if empty
  };
  // What a failed export says after its error.
  auto fail_incomplete = [&](int code) {
    if (written > 0) {
      std::cerr << "export incomplete: " << Counted(written, "article")
                << " written to " << dir << " before the error; " << marker
                << " marks it until an export completes\n";
    }
    return code;
  };
  // The count drawn in place, "\r" and erased with "\033[K".
  const bool tty = internal::IsAnsiTerminal(STDERR_FILENO);
  v1::ExportArticlesRequest request;
  *request.mutable_query() = BuildQuery(filters);
  std::string write_error;  // the file that could not be written
  int write_errno = 0;
  absl::Status status = s.client->ExportArticles(
      request,
      [&](const v1::Article& a) {
        const std::string path =
            absl::StrCat(dir, "/", ArticleId(a.name()), ".md");
        // Written aside and renamed: a write cut short (disk full, file
        // size limit) must not leave a truncated article that a later
        // `apply -f DIR` would store. `apply` skips the dot name, and the
        // next export into DIR removes one left by a kill.
        const std::string tmp = ExportTempPath(dir, ArticleId(a.name()));
        int err = WriteLocalFile(tmp, MarkdownDocument(a));
        std::error_code ec;
        if (err == 0) std::filesystem::rename(tmp, path, ec);
        if (err == 0 && ec) err = ec.value();
        if (err != 0) {
          std::filesystem::remove(tmp, ec);
          write_error = path;
          write_errno = err;
          return false;
        }
        ++written;
        if (tty && written % 100 == 0) {
          std::cerr << "\rexported " << written << std::flush;
        }
        return true;
      },
      LongCall(s, absl::ZeroDuration()));
  if (tty) std::cerr << "\r\033[K";
  if (!write_error.empty()) {
    if (written == 0 && !had_marker) std::filesystem::remove(marker, ec);
    return fail_incomplete(FailWrite(write_error, write_errno));
  }
  if (!status.ok()) {
    if (written == 0) drop_empty_dir();
    return fail_incomplete(FailExport(status, live_only));
  }
  if (!std::filesystem::remove(marker, ec) && ec) {
    return FailWrite(marker, ec.value(), "removing");
  }
  std::cerr << "exported " << Counted(written, "article") << " to " << dir
            << "\n";
  return kExitOk;
}

struct WatchFlags {
  int64_t after = 0;
  bool from_now = false;
  bool names_only = false;
  int64_t count = 0;
};

// Set by the SIGINT handler, which may do nothing else (Cancel locks).
std::atomic<bool> g_watch_interrupted{false};

// A notice of `watch -o json|yaml` (StderrObject: a JSON line, a YAML
// document): `notice` with the keys every notice has added, {"message":
// TEXT (the text line less `watch: `), "notice": KIND,
// "resumeAfterSequence": "41"}, the sequence a string as proto3 JSON writes
// an int64, and left out while there is none (no event yet, and the server
// never said where the stream starts: the message says from now or from
// the oldest event kept).
std::string WatchNotice(google::protobuf::Struct* notice,
                        absl::string_view kind, const std::string& text,
                        int64_t after, Format format) {
  auto& fields = *notice->mutable_fields();
  fields["notice"].set_string_value(std::string(kind));
  fields["message"].set_string_value(text);
  if (after > 0) {
    fields["resumeAfterSequence"].set_string_value(absl::StrCat(after));
  }
  return StderrObject(*notice, format, absl::StrCat("watch: ", text));
}

// What a watch line adds where its type does not say whether readers see
// the article: a write that showed it, ` (now live)`, or hid it, ` (no
// longer live)`, and one to an article they do not see, ` (not live)`.
// Readers' watches get such writes as PUBLISHED and UNPUBLISHED and no
// event of what stays hidden; without these words `watch --all` said
// `UPDATED` alike of a draft published, an article archived or one
// rescheduled, and `CREATED` of a draft as of a live article.
std::string ReadersView(const v1::ChangeEvent& e) {
  switch (e.type()) {
    case v1::ChangeEvent::TYPE_CREATED:
    case v1::ChangeEvent::TYPE_UPDATED:
    case v1::ChangeEvent::TYPE_UNDELETED:
      break;
    default:  // PUBLISHED, UNPUBLISHED and DELETED say it
      return "";
  }
  if (e.live_after()) {
    return !e.live_before() && e.type() == v1::ChangeEvent::TYPE_UPDATED
               ? " (now live)"
               : "";
  }
  return e.live_before() ? " (no longer live)" : " (not live)";
}

// One line per event: `SEQUENCE TYPE NAME REVISION`, with the readers' view
// where the type does not give it (ReadersView), or with -o json one
// compact JSON object (the WatchArticlesResponse) per line, or with -o yaml
// one YAML document per event, each opened by `---`. Notices of a lost and
// resumed stream go to stderr, as lines or, with -o json|yaml, objects
// (WatchNotice).
int RunWatch(Session& s, const QueryFlags& filters, const WatchFlags& f) {
  if (std::string bad = CheckQueryFlags(filters, "--all"); !bad.empty()) {
    return Usage(std::move(bad));
  }
  v1::WatchArticlesRequest request;
  *request.mutable_filter() = BuildQuery(filters);
  request.set_after_sequence(f.after);
  request.set_start_now(f.from_now);
  if (f.names_only || s.output.format() == Format::kTable) {
    request.set_view(v1::WatchArticlesRequest::VIEW_NAME_ONLY);
  }
  // The SDK's watch retries until the server is back, which suits a
  // restart but leaves a watch of a wrong address waiting in silence: one
  // cheap call first fails the command like any other's. A missing or
  // unknown token fails it too, as the watch would (with one refusal in
  // the server's log, not two). One that reads no store: a ListTags
  // waiting on a slow database (a table lock on PostgreSQL) past --timeout
  // ended the watch DEADLINE_EXCEEDED, where the watch itself waits for it.
  if (absl::Status reach = s.client->GetServerInfo().status();
      absl::IsUnavailable(reach) || absl::IsDeadlineExceeded(reach) ||
      absl::IsUnauthenticated(reach)) {
    return Fail(reach);
  }
  WatchCanceller canceller;
  g_watch_interrupted = false;
  std::signal(SIGINT, [](int) { g_watch_interrupted = true; });
  // Turns a Ctrl-C into a cancel outside the signal handler.
  std::atomic<bool> watch_done{false};
  std::thread interrupt_watcher([&canceller, &watch_done] {
    while (!watch_done) {
      if (g_watch_interrupted) {
        // A second Ctrl-C ends the process, should the cancel hang (output
        // blocked on a full pipe).
        std::signal(SIGINT, SIG_DFL);
        canceller.Cancel();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  // The SDK reconnects by itself, with no retry budget: a line on each
  // side of the gap says that the events stopped for a reason and where
  // they pick up again (each event still comes once).
  WatchHooks hooks;
  // 0: no event yet, and the server never said where the stream starts.
  const auto from = [&f](int64_t after) {
    if (after > 0) return absl::StrCat("after sequence ", after);
    return std::string(f.from_now ? "from now" : "from the oldest event kept");
  };
  // Under -o json each notice is a JSON object on stderr too (under -o
  // yaml a YAML document), not on stdout with the events: stdout stays a
  // stream of WatchArticlesResponse objects only, which a `jq` filter reads
  // without telling two shapes apart, and each notice carries the sequence
  // the watch resumes after, which places it among the events whatever
  // order a reader of both streams sees them in (both are flushed as they
  // are written).
  const Format notices = s.output.format();
  hooks.on_lost = [&from, notices](const absl::Status& status, int64_t after) {
    const std::string text =
        absl::StrCat("lost the stream (", StatusText(status),
                     "); reconnecting to resume ", from(after));
    google::protobuf::Struct notice;
    // The error that ended the stream, as a failed call's -o json gives it
    // (a server that ended the stream itself: code OK).
    *(*notice.mutable_fields())["status"].mutable_struct_value() =
        ErrorStruct(status, StatusText(status));
    std::cerr << WatchNotice(&notice, "STREAM_LOST", text, after, notices)
              << std::flush;
  };
  hooks.on_resumed = [&from, notices](int64_t after) {
    const std::string text =
        absl::StrCat("reconnected; resuming ", from(after));
    google::protobuf::Struct notice;
    std::cerr << WatchNotice(&notice, "RESUMED", text, after, notices)
              << std::flush;
  };
  int64_t seen = 0;
  const Format format = s.output.format();
  absl::Status status = s.client->Watch(
      request,
      [&](const v1::WatchArticlesResponse& e) {
        if (format == Format::kJson) {
          // An event always converts; the status only covers malformed
          // messages.
          absl::StatusOr<std::string> line = ToJson(e, /*pretty=*/false);
          std::cout << line.value_or("") << "\n";
        } else if (format == Format::kYaml) {
          // A YAML stream: each event a document opened by `---`, so that
          // a reader takes each as it comes (yaml.safe_load_all).
          absl::StatusOr<std::string> json = ToJson(e, /*pretty=*/false);
          absl::StatusOr<std::string> yaml =
              json.ok() ? JsonToYaml(*json) : json.status();
          std::cout << "---\n" << yaml.value_or("{}\n");
        } else {
          std::string type = v1::ChangeEvent::Type_Name(e.event().type());
          if (absl::StartsWith(type, "TYPE_")) type = type.substr(5);
          std::cout << e.event().sequence() << " " << type << " "
                    << e.event().name() << " " << e.event().revision()
                    << ReadersView(e.event()) << "\n";
        }
        std::cout.flush();
        // Output nobody can read (disk full, closed pipe) ends the watch;
        // main reports it.
        if (std::cout.fail()) return false;
        return f.count == 0 || ++seen < f.count;  // 0: --count not given
      },
      &canceller, hooks);
  watch_done = true;
  interrupt_watcher.join();
  std::signal(SIGINT, SIG_DFL);
  return Finish(
      NameTheFlag(NameTheAllRole(status, filters.all), kQueryFields, "filter"));
}

// `admin` verbs print the response message in -o json/yaml, a short
// summary otherwise. Every field is printed, zeros too, so that a script
// reads `"problemCount": "0"` rather than finding no key.
int PrintAdmin(Session& s, const google::protobuf::Message& m,
               const std::string& summary) {
  if (s.output.format() == Format::kJson ||
      s.output.format() == Format::kYaml) {
    return Finish(s.output.PrintMessage(m, /*all_fields=*/true));
  }
  std::cout << summary;
  return kExitOk;
}

// Whether a long admin call draws its progress: on a terminal that takes
// escape sequences, and not under -o json|yaml (whose stderr holds objects
// only).
bool DrawProgress(const Session& s) {
  return internal::IsAnsiTerminal(STDERR_FILENO) &&
         s.output.format() == Format::kTable;
}

// What `admin backup` wrote: where, up to which sequence, its size and
// how much of it is hard links to the store's files (a backup on the
// store's volume, which dies with that disk: the reader should know), and
// how to restore it. An older server tells no size.
std::string BackupSummary(const v1::BackupStoreResponse& r) {
  std::string size;
  if (r.size_bytes() > 0) {
    const int64_t linked = r.size_bytes() - r.copied_bytes();
    size = absl::StrCat(": ", internal::Bytes(r.size_bytes()));
    if (linked > 0) {
      absl::StrAppend(&size, ", ", internal::Bytes(r.copied_bytes()),
                      " copied and ", internal::Bytes(linked),
                      " hard links to the store's files, on its disk "
                      "(copy the backup to another disk to survive that "
                      "disk's loss)");
    } else {
      absl::StrAppend(&size, ", all of it copied");
    }
  }
  return absl::StrCat("backup written to ", r.destination(),
                      " (through sequence ", r.last_sequence(), ")", size,
                      "\nto restore, copy it (cp -a) and serve the copy "
                      "with contentd --data-dir COPY\n");
}

int RunBackup(Session& s, const AdminFlags& f) {
  v1::BackupStoreRequest request;
  request.set_destination(f.destination);
  // A checkpoint of a big store takes a while.
  const CallOptions call = LongCall(s, absl::Hours(1));
  absl::StatusOr<v1::BackupStoreResponse> r;
  WithProgress(*s.client, "backup", DrawProgress(s),
               [&] { r = s.client->BackupStore(request, call); });
  // (Not one still being written: that message says so.)
  if (absl::IsAlreadyExists(r.status()) &&
      absl::StartsWith(r.status().message(), "destination: ") &&
      absl::EndsWith(r.status().message(), " already exists")) {
    // A re-run after a reply that was lost (a timeout, a killed contentctl)
    // meets the backup the first run wrote. The server writes it aside
    // and renames it into place once whole, so one that is there is
    // complete; one still being written is not there yet.
    return Fail(Reworded(
        r.status(),
        absl::StrCat(
            "DESTINATION: ", r.status().message(),
            " on the server: if an earlier `admin backup` to it ran (its "
            "reply lost to a timeout or an interrupt), that backup is "
            "complete, since the server moves a backup there only once it is "
            "whole; check it there with `contentd --data-dir ",
            f.destination,
            " --check` (read-only; it says `clean` and the sequences the "
            "backup holds), or back up to a new destination")));
  }
  if (!r.ok()) {
    return Fail(NameTheAdminFlag(r.status(), "destination", "DESTINATION"));
  }
  return PrintAdmin(s, *r, BackupSummary(*r));
}

int RunCompact(Session& s, const AdminFlags& f) {
  // Storage compaction of a big store.
  const CallOptions call = LongCall(s, absl::Hours(2));
  v1::CompactStoreRequest request;
  request.set_storage(f.storage);
  // On a terminal only; under -o json|yaml a notice object, as watch's,
  // {"message": TEXT, "notice": "COMPACTING"}.
  if (f.storage && isatty(STDERR_FILENO)) {
    google::protobuf::Struct notice;
    auto& fields = *notice.mutable_fields();
    const std::string text = "compacting; storage compaction can take minutes";
    fields["message"].set_string_value(text);
    fields["notice"].set_string_value("COMPACTING");
    std::cerr << StderrObject(notice, s.output.format(), text) << std::flush;
  }
  absl::StatusOr<v1::CompactStoreResponse> r;
  WithProgress(*s.client, "compact", DrawProgress(s),
               [&] { r = s.client->CompactStore(request, call); });
  if (!r.ok())
    return Fail(NameTheAdminFlag(r.status(), "storage", "--storage"));
  // revisions_removed counts the purged articles' revisions too: said
  // apart, so that the numbers add up to it rather than overlap ("removed
  // 5 revisions, purged 1 deleted article" of 3 old revisions and a
  // purged article's 2). A server before revisions_purged sends 0 there
  // with articles purged (each has a revision at least): the sum, said so.
  const int64_t purged_revisions = r->revisions_purged();
  const bool split = r->articles_purged() == 0 || purged_revisions > 0;
  std::string text =
      split ? absl::StrCat(
                  "removed ",
                  Counted(r->revisions_removed() - purged_revisions,
                          "old revision"),
                  ", purged ", Counted(r->articles_purged(), "deleted article"),
                  r->articles_purged() > 0
                      ? absl::StrCat(" (",
                                     Counted(purged_revisions, "revision"), ")")
                      : "")
            : absl::StrCat("removed ",
                           Counted(r->revisions_removed(), "revision"),
                           " in all, purging ",
                           Counted(r->articles_purged(), "deleted article"),
                           " with theirs");
  absl::StrAppend(&text, ", trimmed ",
                  Counted(r->changes_removed(), "change-log event"), "\n");
  if (r->has_storage_compaction_time()) {
    absl::StrAppend(
        &text, "compacted storage in ",
        absl::StrFormat("%.1f", r->storage_compaction_time().seconds() +
                                    r->storage_compaction_time().nanos() / 1e9),
        " s\n");
  }
  return PrintAdmin(s, *r, text);
}

int RunFsck(Session& s, const AdminFlags& f) {
  v1::CheckStoreRequest request;
  request.set_repair(f.repair);
  const CallOptions call = LongCall(s, absl::Hours(1));
  absl::StatusOr<v1::CheckStoreResponse> r;
  WithProgress(*s.client, "check", DrawProgress(s),
               [&] { r = s.client->CheckStore(request, call); });
  if (!r.ok()) return Fail(NameTheAdminFlag(r.status(), "repair", "--repair"));
  std::string summary = absl::StrCat(
      r->ok() ? "clean" : "PROBLEMS FOUND", ": ",
      Counted(r->heads_checked(), "article"), ", ", r->postings_checked(),
      r->postings_checked() == 1 ? " index entry" : " index entries",
      " checked, ", Counted(r->problem_count(), "problem"), "\n");
  for (const std::string& p : r->problems())
    absl::StrAppend(&summary, "  ", p, "\n");
  const int code = PrintAdmin(s, *r, summary);
  return code != kExitOk ? code : (r->ok() ? kExitOk : kExitFailure);
}

// A progress line each for `ops` (as the calls draw them), each after
// `indent`, on a line of its own.
std::string OperationLines(
    const google::protobuf::RepeatedPtrField<v1::RunningOperation>& ops,
    absl::string_view indent = "") {
  std::string lines;
  const absl::Time now = absl::Now();
  for (const v1::RunningOperation& op : ops) {
    const absl::Time start = absl::FromUnixSeconds(op.start_time().seconds()) +
                             absl::Nanoseconds(op.start_time().nanos());
    absl::StrAppend(
        &lines, indent,
        internal::ProgressLine(op, std::max(now - start, absl::ZeroDuration())),
        "\n");
  }
  return lines;
}

// " on HOST", the host a ServerInfo names, for a line naming the contentd
// that answered; "" from a contentd before 2026-12-06, which names none.
std::string OnHost(const v1::ServerInfo& info) {
  return info.hostname().empty() ? "" : absl::StrCat(" on ", info.hostname());
}

int RunStats(Session& s) {
  absl::StatusOr<v1::GetStatsResponse> r =
      s.client->GetStats(v1::GetStatsRequest());
  if (!r.ok()) return Fail(r.status());
  // Which contentd answered (behind a load balancer, one of several): its
  // version, host, storage engine, start time and uptime. From the stats'
  // own reply, so that it names the replica the figures below come from; a
  // contentd before 2026-12-06 sends none, and a GetServerInfo call of its
  // own (which may reach another replica) stands in. The stats print all
  // the same without it: an earlier contentd still answers GetServerInfo
  // UNIMPLEMENTED.
  absl::StatusOr<v1::ServerInfo> info =
      r->has_server_info() ? absl::StatusOr<v1::ServerInfo>(r->server_info())
                           : s.client->GetServerInfo();
  // Printed below as `serverInfo`, with the uptime, not as a field of its
  // own.
  r->clear_server_info();
  google::protobuf::Value server_info;
  std::string server_line;
  if (info.ok()) {
    const absl::Time started =
        absl::FromUnixSeconds(info->start_time().seconds()) +
        absl::Nanoseconds(info->start_time().nanos());
    const absl::Duration uptime =
        std::max(absl::Now() - started, absl::ZeroDuration());
    auto& fields = *server_info.mutable_struct_value()->mutable_fields();
    fields["version"].set_string_value(info->version());
    // "" from a contentd before 2026-12-06.
    fields["hostname"].set_string_value(info->hostname());
    fields["storageEngine"].set_string_value(info->storage_engine());
    fields["startTime"].set_string_value(FormatTimestamp(info->start_time()));
    // A Duration's JSON form, as health's took.
    fields["uptime"].set_string_value(
        absl::StrFormat("%.3fs", absl::ToDoubleSeconds(uptime)));
    server_line = absl::StrCat(
        "contentd ", info->version(), OnHost(*info), " (",
        info->storage_engine(), ", started ",
        FormatTimestamp(info->start_time()), ", up ",
        absl::FormatDuration(absl::Trunc(uptime, absl::Seconds(1))), ")");
  } else {
    server_info.set_null_value(google::protobuf::NULL_VALUE);
    server_line =
        absl::IsUnimplemented(info.status())
            ? "unknown (an earlier contentd, which answers no GetServerInfo)"
            : absl::StrCat("unknown (",
                           CallErrorText(info.status(), g_connection), ")");
  }
  std::string summary = absl::StrCat(
      "server:            ", server_line, "\n",
      // `live_articles` counts every published article not deleted, of
      // which only those in their window are what readers see (`live`
      // to --state and the STATE column).
      "published:         ", r->live_articles(),
      " (scheduled and expired included)",
      "\ndeleted articles:  ", r->deleted_articles(),
      "\nlast sequence:     ", r->last_sequence(),
      "\nfirst sequence:    ", r->first_sequence(),
      "\nwatchers:          ", r->watchers(),
      "\nwatchers cut off:  ", r->watchers_cut_off_stalled(), " stalled, ",
      r->watchers_cut_off_trimmed(), " trimmed",
      "\nexports:           ", r->exports(),
      "\nexports cut off:   ", r->exports_cut_off_stalled(), " stalled\n");
  // Whether writes wait for a restart, and why.
  absl::StrAppend(&summary, "read-only:         ",
                  r->read_only() ? absl::StrCat("yes (", r->read_only_reason(),
                                                "): ", r->read_only_message())
                                 : "no",
                  "\n");
  // What runs now: a long backup, compaction or check explains much of the
  // rest (the disk filling, the compaction figures).
  absl::StrAppend(&summary, "operations:        ",
                  r->operations().empty()
                      ? "none\n"
                      : absl::StrCat(r->operations_size(), " running\n",
                                     OperationLines(r->operations(), "  ")));
  // The storage engine's and the allocator's figures, under a heading of
  // their own as the operations are, their values in one column: their
  // keys are too long for the one above.
  std::map<std::string, std::string> sorted(r->storage().begin(),
                                            r->storage().end());
  sorted.erase("rocksdb.dbstats");  // a multi-line report of its own
  size_t width = 0;
  for (const auto& [k, v] : sorted) width = std::max(width, k.size());
  absl::StrAppend(&summary, "storage:", sorted.empty() ? "           none" : "",
                  "\n");
  for (const auto& [k, v] : sorted) {
    std::string label = absl::StrCat(k, ":");
    label.resize(width + 3, ' ');
    absl::StrAppend(&summary, "  ", label, v, "\n");
  }
  if (s.output.format() == Format::kJson ||
      s.output.format() == Format::kYaml) {
    return Finish(s.output.PrintMessageAnd(*r, "serverInfo", server_info));
  }
  return PrintAdmin(s, *r, summary);
}

// `admin operations`: the backups, compactions and checks the server is
// running, a progress line each (as the calls draw them), oldest first.
int RunOperations(Session& s) {
  absl::StatusOr<v1::ListOperationsResponse> r =
      s.client->ListOperations(v1::ListOperationsRequest());
  if (!r.ok()) return Fail(r.status());
  std::string summary = OperationLines(r->operations());
  // As query's "No articles found.": stderr, so stdout holds only results.
  if (summary.empty() && s.output.format() != Format::kJson &&
      s.output.format() != Format::kYaml) {
    std::cerr << "No backup, compaction or check running.\n";
    return kExitOk;
  }
  return PrintAdmin(s, *r, summary);
}

// `admin health`'s exit codes beyond 0 (SERVING), 1 (no answer: the
// server unreachable, TLS, the deadline) and 2 (a usage error): the server
// answered NOT_SERVING (or UNKNOWN, or has no such name), which a restart
// may cure; or it is alive ("" SERVING) but not ready (content.v1.Readiness
// NOT_SERVING: a database down, a repair running), which a restart would
// not.
constexpr int kExitNotServing = 3;
constexpr int kExitNotReady = 4;
constexpr char kReadinessName[] = "content.v1.Readiness";

// `admin health`, as `etcdctl endpoint health`: asks grpc.health.v1 Check
// of "" and then of content.v1.Readiness (or of --service's name alone),
// and prints `ENDPOINT is healthy: SERVING (took 1.2ms)`, or what it is
// instead and why: on stdout when healthy, else on stderr; under -o
// json|yaml an object on stdout either way. No token is needed.
int RunHealth(Session& s, const AdminFlags& f, const std::string& endpoint) {
  const std::string& name = f.service;
  const absl::Time start = absl::Now();
  absl::StatusOr<Health> health = s.client->CheckHealth(name);
  std::optional<absl::StatusOr<Health>> ready;
  if (!f.service_given && health.ok() &&
      health->status == Health::Status::kServing) {
    ready = s.client->CheckHealth(kReadinessName);
  }
  const absl::Duration took = absl::Now() - start;
  // Whichever call got no answer; what the server said otherwise.
  absl::Status error = health.status();
  if (error.ok() && ready.has_value()) error = ready->status();
  int code = kExitOk;
  std::string status, readiness, reason, said;
  if (!error.ok()) {
    code = kExitFailure;
    said = CallErrorText(error, g_connection);
  } else {
    status = HealthStatusName(health->status);
    const std::string named =
        name.empty() ? status : absl::StrCat(status, " (", name, ")");
    if (ready.has_value()) readiness = HealthStatusName((*ready)->status);
    if (health->status != Health::Status::kServing) {
      code = kExitNotServing;
      reason = health->status == Health::Status::kServiceUnknown
                   ? "the server has no health status by this name"
                   : health->reason;
      said = named;
    } else if (ready.has_value() &&
               (*ready)->status != Health::Status::kServing) {
      code = kExitNotReady;
      reason = (*ready)->reason;
      said = absl::StrCat(readiness, " (", kReadinessName, ")");
    } else {
      said = named;
    }
    if (!reason.empty()) absl::StrAppend(&said, ": ", reason);
  }
  if (s.output.format() == Format::kJson ||
      s.output.format() == Format::kYaml) {
    // Every key, empty ones too, as the other admin commands print theirs.
    google::protobuf::Struct object;
    auto& fields = *object.mutable_fields();
    fields["endpoint"].set_string_value(endpoint);
    fields["healthy"].set_bool_value(code == kExitOk);
    fields["service"].set_string_value(name);
    fields["status"].set_string_value(status);
    fields["readiness"].set_string_value(readiness);
    fields["reason"].set_string_value(reason);
    // A Duration's JSON form, as compact's storageCompactionTime.
    fields["took"].set_string_value(
        absl::StrFormat("%.6fs", absl::ToDoubleSeconds(took)));
    if (error.ok()) {
      fields["error"].set_null_value(google::protobuf::NULL_VALUE);
    } else {
      google::protobuf::Struct e = ErrorStruct(error, said);
      AddRequestId(&e, g_connection);
      *fields["error"].mutable_struct_value() = std::move(e);
    }
    const int printed = Finish(s.output.PrintMessage(object));
    return printed != kExitOk ? printed : code;
  }
  const std::string line = absl::StrCat(
      endpoint,
      code == kExitOk         ? " is healthy: "
      : code == kExitNotReady ? " is not ready: "
                              : " is unhealthy: ",
      said, " (took ",
      absl::FormatDuration(absl::Trunc(took, absl::Microseconds(100))), ")\n");
  (code == kExitOk ? std::cout : std::cerr) << line;
  return code;
}

// `version`: contentctl's version, then the version of the contentd at
// --server (kubectl's client and server versions) and the host that
// answered (behind a load balancer, one of several), unless `client_only`.
// A server that cannot be reached fails as any call does, after the
// client's line; an earlier contentd, without GetServerInfo, says so, and
// one before 2026-12-06 names no host.
int RunVersion(Session* s, const std::string& server, Format format) {
  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  fields["contentctl"].set_string_value(kVersion);
  std::string text = absl::StrCat("contentctl ", kVersion, "\n");
  absl::Status failed;
  if (s != nullptr) {
    absl::StatusOr<v1::ServerInfo> info = s->client->GetServerInfo();
    auto& contentd =
        *fields["contentd"].mutable_struct_value()->mutable_fields();
    contentd["server"].set_string_value(server);
    if (info.ok()) {
      contentd["version"].set_string_value(info->version());
      // "" from a contentd before 2026-12-06, as in admin stats.
      contentd["hostname"].set_string_value(info->hostname());
      contentd["storageEngine"].set_string_value(info->storage_engine());
      const std::string started = FormatTimestamp(info->start_time());
      contentd["startTime"].set_string_value(started);
      absl::StrAppend(&text, "contentd ", info->version(), OnHost(*info),
                      " at ", server, " (", info->storage_engine(),
                      ", started ", started, ")\n");
    } else if (absl::IsUnimplemented(info.status())) {
      contentd["version"].set_string_value("");
      contentd["hostname"].set_string_value("");
      absl::StrAppend(&text, "contentd at ", server,
                      ": version unknown (an earlier build, which answers "
                      "no GetServerInfo)\n");
    } else {
      fields.erase("contentd");
      failed = info.status();
    }
  }
  if (format == Format::kJson || format == Format::kYaml) {
    Output output(format, std::cout, std::cerr);
    if (absl::Status p = output.PrintMessage(out); !p.ok()) return Fail(p);
  } else {
    std::cout << text << std::flush;
  }
  return failed.ok() ? kExitOk : Fail(failed);
}

// --- Command line -----------------------------------------------------------

// Adds an integer option or positional of at least `min`. Every one goes
// through here so that all read decimal (`--revision 010` is 10, not
// CLI11's octal 8; `0x10` and `+5` are usage errors) and name their range
// when out of it (`--revision: not in range 1 to 9223372036854775807, got
// 9223372036854775808`), the checks added after it seeing the same number.
// `note` follows an error for a value below `min`: what leaving the flag
// out does instead. Page sizes take 0 (the server's default; more than the
// server's max gets the max). Revisions start at 1: the API reads 0 as
// "none" (no precondition, the head, the default of diff), so a 0 given on
// purpose must not reach it. `max` is a bound the API fixes (--facet-limit's
// 100); one a server configures (its max page size) is left to it.
template <typename T>
CLI::Option* AddInt(CLI::App* verb, const std::string& name, T& value,
                    const std::string& help, std::common_type_t<T> min,
                    const std::string& note = "",
                    std::common_type_t<T> max = std::numeric_limits<T>::max()) {
  static_assert(std::is_integral_v<T>);
  return verb->add_option(name, value, help)
      ->transform(internal::DecimalInt<T>(min, max, note));
}

// The first flag or argument given on `app` or the verbs parsed under it
// whose value is not valid UTF-8, as `--tag` or `ID`; "" if none. What the
// server reads is protobuf text, which must be UTF-8: sent, it would fail as
// a request that "cannot be parsed", naming nothing. `skip` are the ones
// checked elsewhere: local paths, which are the file system's bytes, and
// --server and --token, which Connect checks naming their variables too.
std::string NotUtf8Argument(const CLI::App& app,
                            const std::set<const CLI::Option*>& skip) {
  for (const CLI::Option* opt : app.get_options()) {
    if (skip.count(opt) > 0) continue;
    for (const std::string& value : opt->results()) {
      if (internal::IsValidUtf8(value)) continue;
      const std::string name = opt->get_name();
      return opt->get_positional() ? absl::AsciiStrToUpper(name) : name;
    }
  }
  for (const CLI::App* verb : app.get_subcommands()) {
    std::string bad = NotUtf8Argument(*verb, skip);
    if (!bad.empty()) return bad;
  }
  return "";
}

// The commands of `group` one may name: not the hidden `__complete`.
std::vector<const CLI::App*> NamedCommands(const CLI::App& group) {
  return group.get_subcommands(
      [](const CLI::App* a) { return !a->get_group().empty(); });
}

// What to say of `word`, given where `group` takes a command: `unknown
// verb "frob"; verbs: apply, ...`, `unknown admin command "frob" (did you
// mean ...); admin commands: backup, ...`. `path` is the group's as typed
// after contentctl, "" or "admin".
std::string UnknownCommand(const CLI::App& group, const std::string& path,
                           const std::string& word) {
  std::vector<std::string> names;
  for (const CLI::App* sub : NamedCommands(group)) {
    names.push_back(sub->get_name());
  }
  const std::string kind =
      path.empty() ? "verb" : absl::StrCat(path, " command");
  return absl::StrCat("unknown ", kind, " \"", word, "\"",
                      internal::DidYouMean(internal::NearestNames(word, names)),
                      "; ", kind, "s: ", absl::StrJoin(names, ", "));
}

// When the innermost command given (`contentctl`, `contentctl admin`)
// takes a command and none was given: what to say, `unknown admin command
// "frob"` (`*unknown` set) or `admin: needs a command`, and the ones there
// are; "" otherwise (a RequiredError for a missing flag or argument).
std::string MissingCommand(const CLI::App& app, bool* unknown) {
  const CLI::App* group = &app;
  std::string path;  // "admin" for `contentctl admin`
  while (!group->get_subcommands().empty()) {
    group = group->get_subcommands().front();
    absl::StrAppend(&path, path.empty() ? "" : " ", group->get_name());
  }
  if (group->get_require_subcommand_min() == 0) return "";
  // Subcommands fall through to the top: what they did not take is there.
  const std::vector<std::string> rest = app.remaining(/*recurse=*/true);
  *unknown = !rest.empty() && !absl::StartsWith(rest.front(), "-");
  if (*unknown) return UnknownCommand(*group, path, rest.front());
  std::vector<std::string> names;
  for (const CLI::App* sub : NamedCommands(*group)) {
    names.push_back(sub->get_name());
  }
  const std::string kind =
      path.empty() ? "verb" : absl::StrCat(path, " command");
  return absl::StrCat(path.empty() ? "contentctl" : path, ": needs a ",
                      path.empty() ? "verb" : "command", "; ", kind,
                      "s: ", absl::StrJoin(names, ", "));
}

// `contentctl help [VERB [COMMAND]]`, as kubectl and etcdctl spell
// `VERB [COMMAND] --help`: prints that help, word for word, and returns 0.
// Words after a command that takes none are left alone, as kubectl leaves
// them (`help get ID`, the command line one was about to type). A word
// that names no command is a usage error naming it and listing the ones
// there are, its hint the help of the command above it (`*command`).
int RunHelp(const CLI::App& app, const std::vector<std::string>& words,
            std::string* command) {
  const CLI::App* target = &app;
  std::string parent;  // the command line above target: "contentctl admin"
  std::string path;    // target's after contentctl: "admin"
  for (const std::string& word : words) {
    const std::vector<const CLI::App*> subs = NamedCommands(*target);
    if (subs.empty()) break;
    const auto named = std::find_if(
        subs.begin(), subs.end(),
        [&](const CLI::App* sub) { return sub->get_name() == word; });
    if (named == subs.end()) {
      *command =
          path.empty() ? "contentctl" : absl::StrCat("contentctl ", path);
      return Usage(UnknownCommand(*target, path, word), "", kUnknownCommand);
    }
    parent = path.empty() ? "contentctl" : absl::StrCat("contentctl ", path);
    target = *named;
    absl::StrAppend(&path, path.empty() ? "" : " ", word);
  }
  // As `--help` prints it: CLI::App::exit prints the root's help(), which
  // hands it to the command given; the root's own has the help verb given,
  // so its formatter is asked directly.
  std::cout << (target == &app
                    ? app.get_formatter()->make_help(&app, app.get_name(),
                                                     CLI::AppFormatMode::Normal)
                    : target->help(parent));
  return kExitOk;
}

using internal::LooksLikeFlag;

const CLI::App* Leaf(const CLI::App& app);
std::string VerbPath(const CLI::App* cmd);

// internal::FlagWithoutValue, with -o's formats the verb's own: `export
// --output=` listed all five, where `export -o ""` says "(one of
// markdown)".
std::string FlagWithoutValue(const CLI::App& app, int argc, char** argv,
                             std::string* flag) {
  std::string bad = internal::FlagWithoutValue(app, argc, argv, flag);
  if ((*flag == "--output" || *flag == "-o") &&
      absl::StartsWith(bad, absl::StrCat(*flag, ": needs a value ("))) {
    bad = absl::StrCat(
        *flag, ": needs a value (one of ",
        absl::StrJoin(OutputsOf(VerbPath(Leaf(app))).formats, ", "), ")");
  }
  return bad;
}

// The first of the arguments no command took that is a flag (`--bogus`,
// `-x`), as given but for a value after `=`; "" if none is a flag. Checked
// before
// any other parse error: `admin --bogus` would otherwise say that admin
// needs a command, and `admin backup --bogus` that the destination is
// missing, neither naming the flag; CLI11 says only that an argument was
// "not expected". `-` (stdin) and `-5` (a number) are no flags.
std::string UnknownFlag(const CLI::App& app) {
  for (const std::string& arg : app.remaining(/*recurse=*/true)) {
    if (!LooksLikeFlag(arg)) continue;
    return arg.substr(0, arg.find('='));  // --bogus=1
  }
  return "";
}

// The option of `command` (not of the commands above it) that `flag`
// (`--limit`, `-o`) names, or nullptr.
const CLI::Option* OwnFlag(const CLI::App& command, absl::string_view flag) {
  for (const CLI::Option* opt : command.get_options()) {
    if (opt->get_positional() || opt->get_group().empty()) continue;
    for (const std::string& name : opt->get_lnames()) {
      if (flag == "--" + name) return opt;
    }
    for (const std::string& name : opt->get_snames()) {
      if (flag == "-" + name) return opt;
    }
  }
  return nullptr;
}

// `word` as a shell reads it back: as it is when it holds only characters
// no shell treats specially, else in single quotes.
std::string ShellWord(absl::string_view word) {
  const bool plain =
      !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
               absl::string_view("-_.,:/=@%+").find(c) !=
                   absl::string_view::npos;
      });
  if (plain) return std::string(word);
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

// Where on the command line `argv` the flag `flag` was typed (`--limit`,
// `--limit=5`), 0 if nowhere before a `--` (after it, it is an argument).
int TypedAt(int argc, char** argv, const std::string& flag) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") return 0;
    if (arg == flag || absl::StartsWith(arg, flag + "=")) return i;
  }
  return 0;
}

// The commands of `app` (verbs, and `admin`'s commands as `admin compact`)
// that have `flag` as a flag of their own, in --help's order; in `*opt`
// the first one's option, nullptr when none has it.
std::vector<std::string> CommandsWithFlag(const CLI::App& app,
                                          absl::string_view flag,
                                          const CLI::Option** opt) {
  std::vector<std::string> commands;
  *opt = nullptr;
  for (const CLI::App* verb : app.get_subcommands(
           [](const CLI::App* a) { return !a->get_group().empty(); })) {
    std::vector<const CLI::App*> under = {verb};
    for (const CLI::App* sub : verb->get_subcommands(
             [](const CLI::App* a) { return !a->get_group().empty(); })) {
      under.push_back(sub);
    }
    for (const CLI::App* c : under) {
      const CLI::Option* own = OwnFlag(*c, flag);
      if (own == nullptr) continue;
      if (*opt == nullptr) *opt = own;
      commands.push_back(
          c == verb ? c->get_name()
                    : absl::StrCat(verb->get_name(), " ", c->get_name()));
    }
  }
  return commands;
}

// `names` quoted and joined as a sentence lists them: `"a"`, `"a" and
// "b"`, `"a", "b" and "c"`. REQUIRES: !names.empty().
std::string QuotedList(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  for (const std::string& name : names) {
    quoted.push_back(absl::StrCat("\"", name, "\""));
  }
  std::string last = quoted.back();
  if (quoted.size() == 1) return last;
  quoted.pop_back();
  return absl::StrCat(absl::StrJoin(quoted, ", "), " and ", last);
}

// What to say of `flag`, a flag no command took, when it is a verb's and
// was given where that verb's flags do not go: before the verb (`contentctl
// --limit 5 query`), which CLI11 left to contentctl, which has no such
// flag, or with no verb at all (`contentctl --limit 5`). `--limit is a flag
// of "query": put it after the verb (contentctl query --limit 5)`; "" if
// `flag` is no flag of the command given, or, with none, of any verb.
// Only global flags go anywhere (kubectl's rule too): a verb's flags are
// not moved after it, as the verb says what they mean (`--all` is get's,
// query's and watch's, `--limit` query's and history's, each its own).
std::string MisplacedVerbFlag(const CLI::App& app, int argc, char** argv,
                              const std::string& flag) {
  // The command given (`query`, `admin compact`), if any.
  const CLI::App* command = &app;
  std::string path;
  while (!command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
    absl::StrAppend(&path, path.empty() ? "" : " ", command->get_name());
  }
  const int at = TypedAt(argc, argv, flag);
  if (at == 0) return "";
  // The flag as typed and its value, for the command line to write
  // instead: `--limit 5`, `--limit=5`, `--all`; `--limit INT`, as --help
  // names the value, when none was given (`--limit query`, `--tag -o
  // json`).
  const auto as_typed = [&](const CLI::Option& opt) {
    if (argv[at] != flag) return ShellWord(argv[at]);
    if (opt.get_expected_min() < 1 || opt.get_type_size_min() < 1) {
      return flag;
    }
    const absl::string_view next = at + 1 < argc ? argv[at + 1] : "";
    const bool verb = command != &app && next == path.substr(0, path.find(' '));
    if (next.empty() || verb || LooksLikeFlag(next)) {
      return absl::StrCat(flag, " ", opt.get_type_name());
    }
    return absl::StrCat(flag, " ", ShellWord(next));
  };
  if (command != &app) {
    // After the verb it would have been taken: it came before it.
    const CLI::Option* opt = OwnFlag(*command, flag);
    if (opt == nullptr) return "";
    return absl::StrCat(flag, " is a flag of \"", path, "\": put it after the ",
                        command->get_parent() == &app ? "verb" : "command",
                        " (contentctl ", path, " ", as_typed(*opt), ")");
  }
  const CLI::Option* opt = nullptr;
  std::vector<std::string> verbs = CommandsWithFlag(app, flag, &opt);
  if (opt == nullptr) return "";
  // The command to write, when one has the flag.
  const std::string verb = verbs.size() == 1 ? verbs[0] : std::string("VERB");
  return absl::StrCat(flag, " is a flag of ", QuotedList(verbs),
                      ": put it after the verb (contentctl ", verb, " ",
                      as_typed(*opt), ")");
}

// What to say of `flag`, a flag the command given (`get`) does not take,
// typed after it, when other commands do: `unknown flag "--limit" for
// "get": it is a flag of "query", "tags", "categories" and "history"`,
// with `meant` (FlagsMeant's) as UnknownFlagMessage says them; "" when no
// command was given, the flag came after `--` (an argument), or no command
// has it.
std::string OtherCommandsFlag(const CLI::App& app, int argc, char** argv,
                              const std::string& flag,
                              const std::vector<std::string>& meant) {
  // The command given (`get`, `admin compact`).
  std::string path;
  for (const CLI::App* c = &app; !c->get_subcommands().empty();) {
    c = c->get_subcommands().front();
    absl::StrAppend(&path, path.empty() ? "" : " ", c->get_name());
  }
  if (path.empty() || TypedAt(argc, argv, flag) == 0) return "";
  const CLI::Option* opt = nullptr;
  const std::vector<std::string> commands = CommandsWithFlag(app, flag, &opt);
  if (commands.empty()) return "";
  return absl::StrCat("unknown flag \"", flag, "\" for \"", path, "\"",
                      internal::DidYouMean(meant), ": it is a flag of ",
                      QuotedList(commands));
}

// The flags the command parsed so far takes (`--tag`, `-o`, ...): its own
// and, as they fall through, those of the commands above it.
std::vector<std::string> FlagsOf(const CLI::App& app) {
  const CLI::App* command = &app;
  while (!command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
  }
  std::vector<std::string> flags;
  for (; command != nullptr; command = command->get_parent()) {
    for (const CLI::Option* opt : command->get_options()) {
      if (opt->get_positional() || opt->get_group().empty()) continue;
      for (const std::string& name : opt->get_lnames())
        flags.push_back("--" + name);
      for (const std::string& name : opt->get_snames())
        flags.push_back("-" + name);
    }
  }
  return flags;
}

// The format -o asks for on the command line `argv`, read as CLI11 reads
// it (`-o json`, `-ojson`, `-o=json`, `--output json`, `--output=json`; the
// last given; none after `--`), for a usage error found before or at -o, when
// the parse has not set it: table when none is given or its value is no
// format.
Format FormatInArgs(int argc, char** argv) {
  std::string value;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "-o" || arg == "--output") {
      if (i + 1 < argc) value = argv[++i];
    } else if (absl::StartsWith(arg, "--output=")) {
      value = std::string(arg.substr(9));
    } else if (absl::StartsWith(arg, "-o=")) {
      value = std::string(arg.substr(3));  // pflag's spelling
    } else if (absl::StartsWith(arg, "-o") && !absl::StartsWith(arg, "--")) {
      value = std::string(arg.substr(2));
    }
  }
  return ParseFormat(value).value_or(Format::kTable);
}

// How usage errors name `opt`: its flag (`--revision`), or an argument in
// capitals (`ID`), as NotUtf8Argument names them.
std::string DisplayName(const CLI::Option& opt) {
  const std::string name = opt.get_name();
  return opt.get_positional() ? absl::AsciiStrToUpper(name) : name;
}

// The flag or argument of `app` or a command under it that CLI11's
// `message` is about: the one it opens with (`--revision: ...`, `id is
// required`, `--from-now excludes --after`), else the first it names as a
// word; "" if none.
std::string OptionIn(const CLI::App& app, absl::string_view message) {
  std::vector<const CLI::App*> apps = {&app};
  std::vector<const CLI::Option*> options;
  for (size_t i = 0; i < apps.size(); ++i) {
    for (const CLI::Option* opt : apps[i]->get_options()) {
      options.push_back(opt);
    }
    for (const CLI::App* sub :
         apps[i]->get_subcommands([](const CLI::App*) { return true; })) {
      apps.push_back(sub);
    }
  }
  const auto is_name_char = [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_';
  };
  // At `at` in `message` as a word of its own.
  const auto word_at = [&](const std::string& name, size_t at) {
    const size_t end = at + name.size();
    return (at == 0 || !is_name_char(message[at - 1])) &&
           (end == message.size() || !is_name_char(message[end]));
  };
  for (const CLI::Option* opt : options) {
    const std::string name = opt->get_name();
    if (!name.empty() && absl::StartsWith(message, name) && word_at(name, 0)) {
      return DisplayName(*opt);
    }
  }
  for (const CLI::Option* opt : options) {
    const std::string name = opt->get_name();
    if (name.empty() || name[0] != '-') continue;
    for (size_t at = message.find(name); at != absl::string_view::npos;
         at = message.find(name, at + 1)) {
      if (word_at(name, at)) return DisplayName(*opt);
    }
  }
  return "";
}

// Every option of `app` and of the commands under it.
std::vector<CLI::Option*> AllOptions(CLI::App* app) {
  std::vector<CLI::Option*> options = app->get_options();
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    std::vector<CLI::Option*> more = AllOptions(sub);
    options.insert(options.end(), more.begin(), more.end());
  }
  return options;
}

// The command line `argv` with each short flag that takes a value
// joined to it by `=` (`-o=json`, `-f=a.md`, as kubectl's pflag takes
// them) split into the flag and the value (`-o json`), up to `--`. CLI11
// read `-o=json` as `-o` with the value "=json" and refused it. A bare
// `--color` (last, or before another flag) is `--color=always`, as git's
// and ls's are; it was refused as a flag without its value.
std::vector<std::string> SplitShortFlagValues(CLI::App* app, int argc,
                                              char** argv) {
  std::set<std::string> takes_value;  // "-o", "-f"
  for (const CLI::Option* opt : AllOptions(app)) {
    if (opt->get_positional() || opt->get_type_size_min() < 1) continue;
    for (const std::string& name : opt->get_snames()) {
      takes_value.insert("-" + name);
    }
  }
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (args[i] == "--color" &&
        (i + 1 == args.size() || internal::LooksLikeFlag(args[i + 1]))) {
      args[i] = "--color=always";
      continue;
    }
    const size_t eq = args[i].find('=');
    if (eq == std::string::npos ||
        takes_value.count(args[i].substr(0, eq)) == 0) {
      continue;
    }
    std::string value = args[i].substr(eq + 1);
    args[i].resize(eq);
    args.insert(args.begin() + i + 1, std::move(value));
    ++i;
  }
  return args;
}

// The flags of `app` that take one value (`-o`, `--text`, `--revision`):
// made to keep the last of several, so that a flag repeated with the same
// value is no error (a script that adds `-o json` to a command line that
// has it); RepeatedFlag refuses different ones. CLI11 said of them only
// `At Most 1 required but received 2`.
std::vector<const CLI::Option*> SingleValueFlags(CLI::App* app) {
  std::vector<const CLI::Option*> single;
  for (CLI::Option* opt : AllOptions(app)) {
    if (opt->get_positional() || opt->get_type_size_max() != 1 ||
        opt->get_expected_max() != 1 ||
        opt->get_multi_option_policy() != CLI::MultiOptionPolicy::Throw) {
      continue;
    }
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    single.push_back(opt);
  }
  return single;
}

// A flag of `single` given more than once with different values, said as
// `--output: given 2 times with different values ("json", "yaml"); give it
// once`; "" if none was. In `*flag`, the flag's name.
std::string RepeatedFlag(const std::vector<const CLI::Option*>& single,
                         std::string* flag) {
  for (const CLI::Option* opt : single) {
    const CLI::results_t& values = opt->results();
    if (values.size() < 2 ||
        std::all_of(values.begin(), values.end(),
                    [&](const std::string& v) { return v == values[0]; })) {
      continue;
    }
    *flag = opt->get_name();
    std::vector<std::string> quoted;
    for (const std::string& v : values)
      quoted.push_back(absl::StrCat("\"", v, "\""));
    return absl::StrCat(*flag, ": given ", values.size(),
                        " times with different values (",
                        absl::StrJoin(quoted, ", "), "); give it once");
  }
  return "";
}

// Flags CLI11 refuses together (`->excludes`), with the one its error
// leads with and why they do not go together, said as contentctl's own
// checks say theirs (`--revision: cannot be combined with --lang (...)`).
struct Exclusion {
  const char* flag;
  const char* other;
  const char* why;
};
constexpr Exclusion kExclusions[] = {
    {"--revision", "--dir",
     "export --dir writes the head of each article it selects"},
    {"--from-now", "--after", "each says where the watch starts"},
};

// The flags of the command parsed that were given together where one
// excludes the other, said `--revision: cannot be combined with --dir
// (WHY)` (kExclusions' order and why, else as CLI11 met them), CLI11
// having said `--dir excludes --revision`; "" if none were. In `*flag`,
// the flag it leads with.
std::string ExcludedFlags(const CLI::App& app, std::string* flag) {
  const CLI::App* command = &app;
  while (!command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
  }
  for (const CLI::Option* opt : command->get_options()) {
    if (opt->count() == 0) continue;
    for (const CLI::Option* other : opt->get_excludes()) {
      if (other->count() == 0) continue;
      std::string lead = opt->get_name();
      std::string second = other->get_name();
      std::string why;
      for (const Exclusion& x : kExclusions) {
        if ((lead == x.flag && second == x.other) ||
            (lead == x.other && second == x.flag)) {
          lead = x.flag;
          second = x.other;
          why = absl::StrCat(" (", x.why, ")");
        }
      }
      *flag = lead;
      return absl::StrCat(lead, ": cannot be combined with ", second, why);
    }
  }
  return "";
}

// A usage error of CLI11's parse (a bad value, a missing argument, flags
// that exclude each other, an argument not expected), recorded as Usage
// records the others: CLI11's line (ExcludedFlags' for flags that exclude
// each other), the flag or argument it names, and the reason of its kind.
int ParseUsageError(const CLI::App& app, const CLI::ParseError& e) {
  const char* reason = kInvalidValue;
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr ||
      dynamic_cast<const CLI::RequiresError*>(&e) != nullptr ||
      dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    reason = kMissingArgument;
  } else if (dynamic_cast<const CLI::ExcludesError*>(&e) != nullptr) {
    reason = kExcludedFlags;
  } else if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    reason = kUnexpectedArgument;
  }
  std::string flag;
  if (reason == kExcludedFlags) {
    if (std::string message = ExcludedFlags(app, &flag); !message.empty()) {
      return Usage(std::move(message), std::move(flag), reason);
    }
  }
  std::string message = e.what();
  flag = OptionIn(app, message);
  // An empty value (`--state "$UNSET"`) is no value, as `--state=` is:
  // `--state: needs a value (one of draft, ...)`, where IsMember's words
  // read `--state:  not in {draft,...}`, naming no value.
  if (reason == kInvalidValue && !flag.empty() &&
      absl::StartsWith(message, absl::StrCat(flag, ":  not in {"))) {
    for (const CLI::App* cmd = &app; cmd != nullptr;
         cmd = cmd->get_subcommands().empty()
                   ? nullptr
                   : cmd->get_subcommands().front()) {
      for (const CLI::Option* opt : cmd->get_options()) {
        if (opt->get_positional() || opt->get_name() != flag) continue;
        const std::string kind = internal::ValueKind(*opt);
        message =
            absl::StrCat(flag, ": needs a value",
                         kind.empty() ? "" : absl::StrCat(" (", kind, ")"));
        return Usage(std::move(message), std::move(flag), kMissingArgument);
      }
    }
  }
  // A value its variable gave (`CONTENT_TIMEOUT=0`) is named so, as the
  // other flags' are: `--timeout (from CONTENT_TIMEOUT): must be more...`.
  if (const CLI::Option* opt = app.get_option_no_throw(flag);
      opt != nullptr && !opt->get_envname().empty() &&
      absl::StartsWith(message, flag + ":")) {
    const std::string env = EnvValue(opt->get_envname());
    const CLI::results_t& given = opt->results();
    if (!env.empty() &&
        std::find(given.begin(), given.end(), env) != given.end()) {
      message =
          absl::StrCat(FlagName(flag.c_str(), opt->get_envname().c_str(), env),
                       message.substr(flag.size()));
    }
  }
  return Usage(std::move(message), std::move(flag), reason);
}

// What a positional argument is, for MissingPositional: `ID` an article id
// (one or more for `get`), and so on; its help text for any other.
std::string WhatArgumentIs(const CLI::Option& opt) {
  const std::string name = opt.get_name();
  if (name == "ID") {
    return opt.get_expected_max() > 1
               ? "one or more article ids, `x` or `articles/x`"
               : "an article id, `x` or `articles/x`";
  }
  if (name == "REVISION") return "the revision to restore";
  if (name == "DESTINATION") {
    return "the absolute path of a directory on the server to write the "
           "backup to";
  }
  if (name == "SHELL") return "the shell to complete for, bash or zsh";
  return opt.get_description();
}

// A required flag the command line left out, apply's -f, named as the
// usage lines of the other verbs name it (`delete -f FILE`), with what it
// takes: `missing -f: apply takes -f FILE ...`, where CLI11 said
// `--filename is required`, as it said `id is required` of an argument.
// "" if `e` names no flag of `command` (at `path`). In `*flag`, the flag.
std::string MissingFlag(const CLI::App& command, const std::string& path,
                        const CLI::ParseError& e, std::string* flag) {
  for (const CLI::Option* opt : command.get_options([](const CLI::Option* o) {
         return !o->get_positional() && o->get_required();
       })) {
    if (opt->count() != 0 ||
        !absl::StartsWith(e.what(),
                          absl::StrCat(opt->get_name(), " is required"))) {
      continue;
    }
    *flag = opt->get_snames().empty() ? opt->get_name()
                                      : absl::StrCat("-", opt->get_snames()[0]);
    if (path == "apply") {
      return "missing -f: apply takes the files to apply, each its own -f: "
             "a .md file, a directory (every Markdown file under it) or - (one "
             "article on stdin) (contentctl apply -f FILE...)";
    }
    return absl::StrCat("missing ", *flag, ": ", path, " takes ", *flag, " (",
                        opt->get_description(), ")");
  }
  return "";
}

// A required positional argument the command line left out, named as
// --help's usage line names it, with that line: `missing ID: get takes one
// or more article ids, `x` or `articles/x` (contentctl get ID...)`;
// "" if `e` is no such error. CLI11 said `id is required`, naming it in
// words help does not use. In `*flag`, the argument's name.
std::string MissingPositional(const CLI::App& app, const CLI::ParseError& e,
                              std::string* flag) {
  if (dynamic_cast<const CLI::RequiredError*>(&e) == nullptr) return "";
  const CLI::App* command = &app;
  std::string path;  // "admin backup"
  while (!command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
    absl::StrAppend(&path, path.empty() ? "" : " ", command->get_name());
  }
  std::string synopsis = absl::StrCat("contentctl ", path);
  const CLI::Option* missing = nullptr;
  for (const CLI::Option* opt : command->get_options(
           [](const CLI::Option* o) { return o->get_positional(); })) {
    const std::string name = opt->get_name();
    const std::string arg =
        absl::StrCat(name, opt->get_expected_max() > 1 ? "..." : "");
    absl::StrAppend(&synopsis, " ",
                    opt->get_required() ? arg : absl::StrCat("[", arg, "]"));
    if (missing == nullptr && opt->get_required() && opt->count() == 0 &&
        absl::StartsWith(e.what(), absl::StrCat(name, " is required"))) {
      missing = opt;
    }
  }
  if (path.empty()) return "";
  if (missing == nullptr) return MissingFlag(*command, path, e, flag);
  *flag = missing->get_name();
  // kubectl lists with `get` and no name: ours is query.
  const absl::string_view list_hint =
      path == "get" ? "; to list articles: contentctl query" : "";
  return absl::StrCat("missing ", *flag, ": ", path, " takes ",
                      WhatArgumentIs(*missing), " (", synopsis, ")", list_hint);
}

// Arguments the command given has no room for (`delete a b`, `query ai`),
// in the order typed, with what the command takes, as --help's usage line
// gives it: `unexpected argument "b": delete takes an article id, `x` or
// `articles/x` (contentctl delete ID)`, `unexpected argument "ai": query
// takes no arguments, only flags`; apply's files each need their -f (a
// shell glob gives -f one). "" if `e` is no such error or names no
// argument. CLI11 said `The following arguments were not expected: c b`,
// the last first, and not what goes there.
std::string UnexpectedArguments(const CLI::App& app, const CLI::ParseError& e) {
  if (dynamic_cast<const CLI::ExtrasError*>(&e) == nullptr) return "";
  std::vector<std::string> extra;
  for (const std::string& arg : app.remaining(/*recurse=*/true)) {
    if (!LooksLikeFlag(arg)) extra.push_back(arg);
  }
  const CLI::App* command = &app;
  std::string path;  // "admin stats"
  while (!command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
    absl::StrAppend(&path, path.empty() ? "" : " ", command->get_name());
  }
  if (extra.empty() || path.empty()) return "";
  std::string text =
      absl::StrCat("unexpected argument", extra.size() > 1 ? "s " : " ",
                   QuotedList(extra), ": ", path, " takes ");
  const std::vector<const CLI::Option*> positionals = command->get_options(
      [](const CLI::Option* o) { return o->get_positional(); });
  if (positionals.empty()) {
    absl::StrAppend(&text, "no arguments, only flags");
    if (path == "apply") {
      absl::StrAppend(&text,
                      " (each file its own -f: -f a.md -f b.md, or -f "
                      "DIR for every Markdown file under DIR)");
    }
    return text;
  }
  std::string synopsis = absl::StrCat("contentctl ", path);
  bool all_required = true;
  for (const CLI::Option* opt : positionals) {
    const std::string arg =
        absl::StrCat(opt->get_name(), opt->get_expected_max() > 1 ? "..." : "");
    absl::StrAppend(&synopsis, " ",
                    opt->get_required() ? arg : absl::StrCat("[", arg, "]"));
    all_required = all_required && opt->get_required();
  }
  absl::StrAppend(
      &text,
      positionals.size() == 1 ? WhatArgumentIs(*positionals[0])
      : all_required
          ? absl::StrCat(positionals.size(), " arguments")
          : absl::StrCat("at most ", positionals.size(), " arguments"),
      " (", synopsis, ")");
  return text;
}

// A switch given a value it cannot read (`--all=x`): `--all: takes no
// value, or true or false; got "x"`, where CLI11 said `Could not convert:
// --all = x`. "" if `e` is no such error. In `*flag`, the switch.
std::string SwitchValue(const CLI::App& app, const CLI::ParseError& e,
                        std::string* flag) {
  if (dynamic_cast<const CLI::ConversionError*>(&e) == nullptr) return "";
  absl::string_view message = e.what();
  if (!absl::ConsumePrefix(&message, "Could not convert: ")) return "";
  const size_t eq = message.find(" = ");
  if (eq == absl::string_view::npos) return "";
  const std::string name(message.substr(0, eq));
  const absl::string_view value = message.substr(eq + 3);
  for (const CLI::App* c = &app; c != nullptr;
       c = c->get_subcommands().empty() ? nullptr
                                        : c->get_subcommands().front()) {
    for (const CLI::Option* opt : c->get_options()) {
      if (opt->get_name() != name || opt->get_expected_max() != 0) continue;
      *flag = name;
      return absl::StrCat(name, ": takes no value, or true or false; got \"",
                          value, "\"");
    }
  }
  return "";
}

// The innermost command given, `contentctl admin backup`, or `contentctl`
// when no verb was: whose help a usage error points to. Also after a parse
// error, for the commands parsed up to it.
std::string CommandPath(const CLI::App& app) {
  std::string path = "contentctl";
  for (const CLI::App* cmd = &app; !cmd->get_subcommands().empty();) {
    cmd = cmd->get_subcommands().front();
    absl::StrAppend(&path, " ", cmd->get_name());
  }
  return path;
}

// The command the command line gave: admin's command under admin.
const CLI::App* Leaf(const CLI::App& app) {
  const CLI::App* cmd = &app;
  while (!cmd->get_subcommands().empty()) {
    cmd = cmd->get_subcommands().front();
  }
  return cmd;
}

// The command path of `cmd` below contentctl: `tags`, `admin stats`.
std::string VerbPath(const CLI::App* cmd) {
  std::vector<std::string> names;
  for (; cmd != nullptr && cmd->get_parent() != nullptr;
       cmd = cmd->get_parent()) {
    names.insert(names.begin(), cmd->get_name());
  }
  return absl::StrJoin(names, " ");
}

// -o's help in `VERB --help`: the verb's formats, and what name lists.
std::string OutputHelp(const VerbOutput& v) {
  if (v.help[0] != '\0') return v.help;
  if (std::find(v.formats.begin(), v.formats.end(), "name") ==
      v.formats.end()) {
    return "Output format";
  }
  if (absl::string_view(v.verb) == "apply") {
    return "Output format; name: one articles/ID line per article applied, "
           "changed or not (with --dry-run, only those it would create or "
           "update)";
  }
  return "Output format; name: one articles/ID line per article";
}

// The usage error of an -o value `verb` does not take: `--output: name not
// in {table,json,yaml}: tags prints tags and their counts, not articles`,
// `--output: xml not in {table,json,yaml}` (no format at all); "" if it
// takes it. REQUIRES: -o was given: without it every verb prints its own
// output (export its Markdown), which `export -o table` would not be.
std::string OutputRefusal(const std::string& verb, const std::string& value) {
  const VerbOutput& v = OutputsOf(verb);
  const std::optional<Format> format = ParseFormat(value);
  if (format.has_value() &&
      std::find(v.formats.begin(), v.formats.end(), value) != v.formats.end()) {
    return "";
  }
  std::string refusal = absl::StrCat("--output: ", value, " not in {",
                                     absl::StrJoin(v.formats, ","), "}");
  // kubectl's `-o wide` adds columns; here -o yaml (or json) shows them all.
  if (value == "wide" &&
      std::find(v.formats.begin(), v.formats.end(), "yaml") != v.formats.end())
    return absl::StrCat(refusal, ": -o yaml shows every field");
  if (!format.has_value()) return refusal;
  if (verb == "export") {
    std::string instead;
    if (*format == Format::kName) {
      instead = "`query -o name` lists the articles' names";
    } else if (*format == Format::kTable) {
      instead = "`get ID` prints an article's fields as a table";
    } else {
      instead = absl::StrCat("`get ID -o ", value, "` prints an article as ",
                             absl::AsciiStrToUpper(value));
    }
    return absl::StrCat(
        refusal, ": export writes Markdown only; leave -o out (", instead, ")");
  }
  return absl::StrCat(refusal, ": ", verb, " prints ", v.prints, ", not ",
                      *format == Format::kName ? "articles" : "documents");
}

// Columns of help text: descriptions are wrapped to fit.
constexpr size_t kHelpColumns = 80;

// `text` with its lines broken at spaces so that each holds at most
// `width` characters (a longer word stands alone); its own line breaks
// kept.
std::string WrapText(absl::string_view text, size_t width) {
  std::vector<std::string> lines;
  for (absl::string_view paragraph : absl::StrSplit(text, '\n')) {
    std::string line;
    for (absl::string_view word :
         absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        lines.push_back(std::move(line));
        line.clear();
      }
      absl::StrAppend(&line, line.empty() ? "" : " ", word);
    }
    lines.push_back(std::move(line));
  }
  return absl::StrJoin(lines, "\n");
}

// --help shows the default in effect: where a flag's variable is set, its
// value rather than the built-in one (`--server TEXT=db1:7070 (from
// CONTENT_SERVER)`), as kubectl shows its defaults from the environment.
// Never `secret`'s value (the token): its line says only that it is set.
void ShowEnvDefaults(CLI::App& app, const CLI::Option* secret) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt == secret || opt->get_envname().empty()) continue;
    if (std::string value = EnvValue(opt->get_envname()); !value.empty()) {
      opt->default_str(std::move(value));
    }
  }
}

// contentctl's help: CLI11's layout with each description wrapped to end by
// column 80, under the one before; an option's exclusions said at the end
// of its description (`; not with --from-now`) rather than after its name,
// where CLI11 puts them, which pushed the description onto a line of its
// own; and a verb's help ending with the global flags, which go before or
// after the verb, so that `contentctl VERB --help` shows every flag the
// command takes.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::string opts = CLI::Formatter::make_option_opts(opt);
    // A flag's variable in the words the errors use: `(from
    // CONTENT_SERVER)` where it is set, beside the value in effect
    // (ShowEnvDefaults), `(env CONTENT_SERVER)` where it is not, rather
    // than CLI11's `(Env:CONTENT_SERVER)`.
    if (const std::string& env = opt->get_envname(); !env.empty()) {
      absl::StrReplaceAll(
          {{absl::StrCat(" (", get_label("Env"), ":", env, ")"),
            absl::StrCat(EnvValue(env).empty() ? " (env " : " (from ", env,
                         ")")}},
          &opts);
    }
    if (!opt->get_excludes().empty()) {
      const size_t at = opts.find(" Excludes:");
      if (at != std::string::npos) opts.erase(at);
    }
    // -o in a verb's help: the formats that verb takes (OutputsOf).
    if (verb_ != nullptr && opt->check_lname("output")) {
      const VerbOutput& v = OutputsOf(VerbPath(verb_));
      const bool table = std::find(v.formats.begin(), v.formats.end(),
                                   "table") != v.formats.end();
      absl::StrReplaceAll(
          {{absl::StrCat("{", absl::StrJoin(FormatNames(), ","), "}",
                         table ? "" : "=table"),
            absl::StrCat("{", absl::StrJoin(v.formats, ","), "}")}},
          &opts);
    }
    return opts;
  }

  std::string make_option_desc(const CLI::Option* opt) const override {
    std::string desc = opt->get_description();
    if (verb_ != nullptr && opt->check_lname("output")) {
      desc = OutputHelp(OutputsOf(VerbPath(verb_)));
    }
    std::vector<std::string> excluded;
    for (const CLI::Option* other : opt->get_excludes()) {
      excluded.push_back(other->get_name());
    }
    if (!excluded.empty()) {
      absl::StrAppend(&desc, "; not with ", absl::StrJoin(excluded, " or "));
    }
    return WrapText(desc, DescriptionWidth());
  }

  std::string make_subcommand(const CLI::App* sub) const override {
    std::stringstream out;
    CLI::detail::format_help(
        out, sub->get_display_name(true),
        WrapText(sub->get_description(), DescriptionWidth()),
        get_column_width());
    return out.str();
  }

  // --help-all: every verb expanded, and every admin command in admin's.
  // CLI11 asks each verb for its help, which is that of the command given
  // under it when there is one (`admin backup --help-all` listed backup in
  // admin's place), and lists admin's commands without their flags.
  std::string make_subcommands(const CLI::App* app,
                               CLI::AppFormatMode mode) const override {
    if (mode != CLI::AppFormatMode::All && depth_ == 0) {
      return CLI::Formatter::make_subcommands(app, mode);
    }
    const std::vector<const CLI::App*> subs = app->get_subcommands(
        [](const CLI::App* a) { return !a->get_group().empty(); });
    if (subs.empty()) return "";
    std::string out = "\nSubcommands:\n";
    for (const CLI::App* sub : subs) {
      absl::StrAppend(&out, make_expanded(sub), "\n");
    }
    return out;
  }

  // A verb in --help-all, indented by 2 columns: its descriptions are
  // wrapped 2 columns narrower.
  std::string make_expanded(const CLI::App* sub) const override {
    ++depth_;
    std::string out = CLI::Formatter::make_expanded(sub);
    --depth_;
    return out;
  }

  std::string make_footer(const CLI::App* app) const override {
    const std::string footer = CLI::Formatter::make_footer(app);
    const CLI::App* root = app;
    while (root->get_parent() != nullptr) root = root->get_parent();
    if (root == app) return footer;
    std::string globals = "Global flags (before or after the verb):\n";
    verb_ = app;
    for (const CLI::Option* opt :
         root->get_options([root](const CLI::Option* o) {
           return o != root->get_help_ptr() && o != root->get_help_all_ptr();
         })) {
      absl::StrAppend(&globals, make_option(opt, /*is_positional=*/false));
    }
    verb_ = nullptr;
    return footer.empty() ? globals : absl::StrCat(globals, "\n", footer);
  }

 private:
  // Columns left for a description at the current depth.
  size_t DescriptionWidth() const {
    return kHelpColumns - get_column_width() - 2 * depth_;
  }

  // How many verbs deep make_expanded is (--help-all).
  mutable size_t depth_ = 0;
  // The verb whose help make_footer lists the global flags of, for -o's
  // line; null elsewhere.
  mutable const CLI::App* verb_ = nullptr;
};

// What a page size flag's help says of 0 and of a large size, as the API's
// `page_size` reads them (limits.default_page_size, max_page_size).
constexpr char kPageSizeRule[] =
    "; 0: the server's default (20 unless configured); more than the "
    "server's max (1000 unless configured) gets the max";

// Adds the `ID` positional that names an article. Positionals are named in
// capitals (ID, REV1, REVISION, DESTINATION), as --help's usage line, the
// errors about them and -o json's `flag` name them.
void AddId(CLI::App* verb, std::string* id) {
  verb->add_option("ID", *id, "Article id, `x` or `articles/x`")->required();
}

// Adds the preconditions of a write to `verb`: --expected-revision and
// --etag, which `head` must meet ("the head"), each help ending in `note`
// (" (one file)").
void AddPreconditions(CLI::App* verb, int64_t* expected_revision,
                      std::string* etag, absl::string_view head = "the head",
                      absl::string_view note = "") {
  AddInt(verb, "--expected-revision", *expected_revision,
         absl::StrCat("Fail unless ", head, " is at this revision", note), 1,
         "leave it out for no precondition");
  verb->add_option("--etag", *etag,
                   absl::StrCat("Fail unless ", head, " has this etag", note));
}

// Runs contentctl; returns the exit code. Sets `*command` to the command
// given (CommandPath) once the command line is parsed, and `*format_out` to
// -o's format, for the usage error main prints (RecordedUsage), with the
// help hint.
int Main(int argc, char** argv, std::string* command, Format* format_out) {
  CLI::App app{"contentctl: manage the articles in a contentd server.",
               "contentctl"};
  // CLI11's parse errors are recorded (ParseUsageError) and printed by
  // main as every other usage error, not by CLI11 with its own hint.
  app.fallthrough();  // global flags may follow the verb, kubectl style
  // Before the verbs are added: each takes its parent's formatter.
  app.formatter(std::make_shared<HelpFormatter>());
  app.require_subcommand(1);
  // `--help` is the help of the command given (`contentctl VERB --help`:
  // its flags, then the global ones), `--help-all` every verb's, wherever
  // given.
  app.set_help_all_flag("--help-all",
                        "Help for every verb and its flags, wherever given");

  GlobalFlags g;
  // Options not checked for UTF-8 after parsing (NotUtf8Argument).
  std::set<const CLI::Option*> not_text;
  not_text.insert(
      app.add_option(
             "-s,--server", g.server,
             "contentd address: host:port (port 1-65535; no port: 443), "
             "unix:PATH, or a gRPC target such as dns:///host:port or "
             "ipv4:ADDR:PORT,ADDR:PORT")
          ->envname("CONTENT_SERVER")
          ->capture_default_str());
  CLI::Option* token_opt =
      app.add_option("--token", g.token, "Bearer token sent with every call")
          ->envname("CONTENT_TOKEN");
  not_text.insert(token_opt);
  CLI::Option* timeout_opt =
      app.add_option("--timeout", g.timeout,
                     "Deadline of each call, e.g. 500ms or inf. Not given: "
                     "10s, admin backup and fsck 1h, admin compact 2h, no "
                     "deadline for apply and export --dir (watch never has "
                     "one)")
          ->envname("CONTENT_TIMEOUT")
          ->check(kDuration)
          ->capture_default_str();
  app.add_option("--request-id", g.request_id,
                 "Sent as x-request-id with every call, and logged so by "
                 "contentd (request_id=ID): 1-128 printable ASCII characters")
      ->envname("CONTENT_REQUEST_ID");
  app.add_option("-o,--output", g.output,
                 "Output format (`VERB --help` lists those VERB takes); "
                 "name: one articles/ID line per article (get, query, "
                 "translations, apply, edit, delete, undelete, restore)")
      // Checked once the verb is known (OutputRefusal), so that the error
      // lists the formats it takes; named here as CLI11 names a checked
      // set, which completion reads.
      ->type_name(
          absl::StrCat("TEXT:{", absl::StrJoin(FormatNames(), ","), "}"))
      ->capture_default_str();
  // No CLI::ExistingFile check on the TLS files: CLI11 runs it on the
  // variable's value too, during the parse, so a CONTENT_CA naming no file
  // stopped --help, `completion` and `__complete` as well. The file is read
  // once a command needs it (below), and an error names the variable.
  not_text.insert(
      app.add_option("--ca", g.ca, "PEM CA bundle; connects with TLS")
          ->envname("CONTENT_CA")
          ->type_name("TEXT:FILE"));
  not_text.insert(
      app.add_option("--cert", g.cert, "PEM client certificate (mutual TLS)")
          ->envname("CONTENT_CERT")
          ->type_name("TEXT:FILE"));
  not_text.insert(app.add_option("--key", g.key, "PEM key of --cert")
                      ->envname("CONTENT_KEY")
                      ->type_name("TEXT:FILE"));

  ShowEnvDefaults(app, token_opt);

  // kubectl's --no-headers, on the verbs that print tables. Not -o's
  // business: the other formats have no header row, and ignore it.
  bool no_headers = false;
  const auto add_no_headers = [&no_headers](CLI::App* verb) {
    verb->add_flag("--no-headers", no_headers,
                   "Table output without its header row (ignored by -o json, "
                   "yaml, markdown and name, which have none)");
  };

  ApplyOptions apply;
  CLI::App* apply_cmd = app.add_subcommand(
      "apply", "Create or update articles from Markdown files");
  not_text.insert(
      apply_cmd
          ->add_option("-f,--filename", apply.paths,
                       "A .md file, a directory, or - for one article on "
                       "stdin (repeatable)")
          ->required()
          ->allow_extra_args(false));
  apply_cmd->add_option("--id", apply.id,
                        "With -f -: the article's id when its front matter "
                        "has no `id` (stdin has no file name); wins over a "
                        "`# articles/ID revision N` line");
  AddPreconditions(apply_cmd, &apply.expected_revision, &apply.etag, "the head",
                   " (one file)");
  // The server checks each file and writes nothing: kubectl's
  // --dry-run=server, which is taken too (and =none for no dry run).
  apply_cmd
      ->add_flag("--dry-run", apply.dry_run,
                 "Report what would change; write nothing (the server checks "
                 "each file, as kubectl's --dry-run=server)")
      ->transform(CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "server") value = "true";
            if (value == "none") value = "false";
            if (value != "client") return "";
            return "\"client\": contentctl has no dry run of its own: "
                   "--dry-run (or --dry-run=server) has the server check "
                   "each file, and writes nothing";
          },
          "", ""));
  apply_cmd->add_flag("--strict", apply.strict,
                      "Fail a file whose front matter has a key that is no "
                      "field but close to one (`tittle`, `tag`), rather "
                      "than warn and keep it as a param");
  apply_cmd
      ->add_option("--default-zone", apply.default_zone,
                   "Zone of front-matter dates written without one")
      ->capture_default_str();

  EditOptions edit;
  CLI::App* edit_cmd = app.add_subcommand(
      "edit",
      "Change an article in an editor ($CONTENT_EDITOR, $VISUAL, $EDITOR)");
  AddId(edit_cmd, &edit.id);
  edit_cmd->add_flag("--strict", edit.strict,
                     "Refuse what was saved if its front matter has a key "
                     "that is no field but close to one (`tittle`, `tag`), "
                     "rather than warn and keep it as a param; the file is "
                     "kept");

  GetFlags get;
  CLI::App* get_cmd =
      app.add_subcommand("get", "Show an article, or several as a list");
  get_cmd
      ->add_option("ID", get.ids,
                   "Article ids, `x` or `articles/x`; several are listed as "
                   "`query` lists them")
      ->required();
  AddInt(get_cmd, "--revision", get.revision, "Revision to show", 1,
         "leave it out for the head");
  get_cmd->add_flag("--show-deleted", get.show_deleted,
                    "Show the tombstone of a deleted article");
  add_no_headers(get_cmd);
  get_cmd->add_flag("--all", get.all,
                    "Also drafts, scheduled, expired and archived articles "
                    "(editor role)");
  get_cmd->add_option("--lang", get.lang,
                      "The article's translation in this language, e.g. zh-CN");
  get_cmd
      ->add_option("--fallback", get.fallback_langs,
                   "Languages to try when --lang has none (repeatable or "
                   "comma-separated)")
      ->delimiter(',')
      ->allow_extra_args(false);

  QueryFlags query;
  CLI::App* query_cmd =
      app.add_subcommand("query", "List the articles that match filters");
  AddFilterFlags(query_cmd, &query);
  query_cmd->add_option("--since", query.since, "Dated at or after DATE (UTC)")
      ->check(kDate);
  query_cmd->add_option("--until", query.until, "Dated before DATE (UTC)")
      ->check(kDate);
  query_cmd->add_flag("--oldest-first", query.oldest_first,
                      "Oldest first instead of newest first");
  query_cmd->add_flag("--include-deleted", query.include_deleted,
                      "Also list deleted articles");
  AddInt(query_cmd, "--limit", query.limit,
         absl::StrCat("Articles per page", kPageSizeRule), 0)
      ->capture_default_str();
  query_cmd->add_option("--page-token", query.page_token,
                        "Token of the page to show");
  query_cmd->add_option("--text", query.text,
                        "Contains these words and CJK phrases (full text)");
  query_cmd
      ->add_option("--view", query.view,
                   "full, or basic (no body; not with -o markdown)")
      ->check(CLI::IsMember({"full", "basic"}))
      ->capture_default_str();
  query_cmd
      ->add_option("--facets", query.facets,
                   "Count values of tags, categories, lang over the result")
      ->delimiter(',')
      ->check(CLI::IsMember({"tags", "categories", "lang"}))
      ->allow_extra_args(false);
  // QueryArticlesRequest.facet_limit: 0 means 10, at most 100, fixed by the
  // API (no server configures it), so checked here as a usage error.
  AddInt(query_cmd, "--facet-limit", query.facet_limit,
         "Values per facet (0: the default, 10; at most 100)", 0, "", 100);
  add_no_headers(query_cmd);
  query_cmd->add_flag("--all", query.all,
                      "Also drafts, scheduled, expired and archived articles "
                      "(editor role)");
  AddEditorialFilterFlags(query_cmd, &query,
                          "all but published and live need --all");

  TermsFlags tags_flags;
  CLI::App* tags_cmd =
      app.add_subcommand("tags", "List tags with their article counts");
  TermsFlags categories_flags;
  CLI::App* categories_cmd = app.add_subcommand(
      "categories", "List categories with their article counts");
  for (auto [cmd, flags] : {std::pair{tags_cmd, &tags_flags},
                            std::pair{categories_cmd, &categories_flags}}) {
    cmd->add_option("--prefix", flags->prefix, "Only names starting with this");
    AddInt(cmd, "--limit", flags->limit,
           absl::StrCat("Entries per page", kPageSizeRule), 0)
        ->capture_default_str();
    cmd->add_option("--page-token", flags->page_token,
                    "Token of the page to show");
    add_no_headers(cmd);
  }

  HistoryFlags history;
  CLI::App* history_cmd =
      app.add_subcommand("history", "List the revisions of an article");
  AddId(history_cmd, &history.id);
  AddInt(history_cmd, "--limit", history.limit,
         absl::StrCat("Revisions per page", kPageSizeRule), 0)
      ->capture_default_str();
  history_cmd->add_option("--page-token", history.page_token,
                          "Token of the page to show");
  add_no_headers(history_cmd);

  DeleteFlags del;
  CLI::App* delete_cmd = app.add_subcommand(
      "delete", "Delete articles (undoable), by id or by their files");
  DeleteFlags undel;
  CLI::App* undelete_cmd =
      app.add_subcommand("undelete", "Restore deleted articles");
  for (auto [cmd, flags] :
       {std::pair{delete_cmd, &del}, std::pair{undelete_cmd, &undel}}) {
    cmd->add_option("ID", flags->ids,
                    "Article ids, `x` or `articles/x`; each is done in turn, "
                    "and reported on a line of its own");
    not_text.insert(
        cmd->add_option(
               "-f,--filename", flags->files,
               "The articles a .md file, a directory (every Markdown file "
               "under it) or - (stdin) names, as apply names them "
               "(front-matter id, else the file name; repeatable)")
            ->allow_extra_args(false));
    AddPreconditions(
        cmd, &flags->expected_revision, &flags->etag,
        cmd == delete_cmd ? "the head" : "the head (the tombstone)",
        " (one article)");
  }

  DiffFlags diff;
  CLI::App* diff_cmd = app.add_subcommand(
      "diff",
      "Compare two revisions, or a file and its article (-f): fields, body");
  diff_cmd->add_option("ID", diff.id,
                       "Article id, `x` or `articles/x` (required without -f)");
  // A second id where REV1 goes (`diff launch.en launch.zh-CN`, two
  // translations) was only "not a decimal integer": say how two articles
  // compare.
  diff_cmd
      ->add_option("REV1", diff.from_revision,
                   "Older revision (default: the one before REV2)")
      ->transform(CLI::Validator(
          [decimal = internal::DecimalInt<int64_t>(
               1, std::numeric_limits<int64_t>::max(),
               "leave it out for the one before REV2"),
           &diff](std::string& text) mutable -> std::string {
            std::string error = decimal(text);
            if (error.empty() || text.empty() ||
                !absl::ascii_isalpha(static_cast<unsigned char>(text[0])))
              return error;
            return absl::StrCat(
                error,
                " (diff compares revisions of one article; to compare "
                "two, such as translations: contentctl export ",
                text, " | contentctl diff -f - --id ",
                diff.id.empty() ? "ID" : ArticleId(NameOf(diff.id)), ")");
          },
          "", "DecimalInt"));
  AddInt(diff_cmd, "REV2", diff.to_revision, "Newer revision (default: head)",
         1, "leave it out for the head");
  not_text.insert(
      diff_cmd
          ->add_option("-f,--filename", diff.files.paths,
                       "Show what `apply -f` of these would change: a .md "
                       "file, a directory, or - (stdin; repeatable); exit "
                       "status 0 no change, 1 changes, 2 an error")
          ->allow_extra_args(false));
  diff_cmd->add_option("--id", diff.files.id,
                       "With -f -: the article's id when its front matter "
                       "has no `id`, as apply --id takes it");
  diff_cmd->add_flag("--strict", diff.files.strict,
                     "With -f: fail a document whose front matter has a key "
                     "that is no field but close to one, as apply --strict");
  diff_cmd
      ->add_option("--default-zone", diff.files.default_zone,
                   "With -f: zone of front-matter dates written without one")
      ->capture_default_str();
  diff_cmd
      ->add_option("--color", diff.color,
                   "Colours: auto (on a terminal, unless NO_COLOR is set "
                   "or TERM is dumb), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();

  RestoreFlags restore;
  CLI::App* restore_cmd = app.add_subcommand(
      "restore", "Write a new revision with the content of an old one");
  AddId(restore_cmd, &restore.id);
  AddInt(restore_cmd, "REVISION", restore.revision, "Revision to restore", 1)
      ->required();
  AddPreconditions(restore_cmd, &restore.expected_revision, &restore.etag);

  TranslationsFlags translations;
  CLI::App* translations_cmd =
      app.add_subcommand("translations", "List the translations of an article");
  AddId(translations_cmd, &translations.id);
  translations_cmd->add_flag("--all", translations.all,
                             "Also drafts, scheduled, expired and archived "
                             "translations (editor role)");
  add_no_headers(translations_cmd);

  GetFlags exp;
  QueryFlags export_filters;
  std::string export_dir;
  bool export_live_only = false;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "Print an article as Markdown, or write many into a directory");
  export_cmd->add_option("ID", exp.id, "Article id, `x` or `articles/x`");
  CLI::Option* export_revision =
      AddInt(export_cmd, "--revision", exp.revision, "Revision to print", 1,
             "leave it out for the head");
  not_text.insert(
      export_cmd
          ->add_option("--dir", export_dir,
                       "Write every selected article as DIR/<id>.md")
          ->excludes(export_revision));
  AddFilterFlags(export_cmd, &export_filters);
  export_cmd
      ->add_option("--since", export_filters.since,
                   "Dated at or after DATE (UTC)")
      ->check(kDate);
  export_cmd
      ->add_option("--until", export_filters.until, "Dated before DATE (UTC)")
      ->check(kDate);
  export_cmd->add_option("--text", export_filters.text,
                         "Contains these words and CJK phrases (full text)");
  export_cmd->add_flag("--live-only", export_live_only,
                       "Only what readers see now (default: every state, "
                       "which needs the editor role)");
  // The editorial filters of `query`, as the server applies them to an
  // export alike (`export --dir review/ --state draft`).
  AddEditorialFilterFlags(export_cmd, &export_filters,
                          "only published and live with --live-only");

  QueryFlags watch_filters;
  WatchFlags watch;
  CLI::App* watch_cmd = app.add_subcommand(
      "watch", "Print changes as they happen, one line per event");
  AddFilterFlags(watch_cmd, &watch_filters);
  CLI::Option* watch_after =
      AddInt(watch_cmd, "--after", watch.after,
             "Start after this sequence (default: the oldest kept)", 0);
  watch_cmd
      ->add_flag("--from-now", watch.from_now, "Only changes made from now on")
      ->excludes(watch_after);
  watch_cmd->add_flag("--names-only", watch.names_only,
                      "Events without the article (with -o json or yaml)");
  // 0 is refused rather than read as "never": a script passing a computed
  // count of 0 would otherwise wait for ever. Left out, the watch runs
  // until interrupted.
  AddInt(watch_cmd, "--count", watch.count,
         "Stop after this many events, at least 1 (default: never)", 1,
         "leave it out to watch until interrupted");
  watch_cmd->add_flag("--all", watch_filters.all,
                      "Also changes to drafts, scheduled, expired and "
                      "archived articles (editor role)");

  AdminFlags admin_flags;
  CLI::App* admin_cmd = app.add_subcommand(
      "admin", "Operate the store (admin role; health needs no token)");
  admin_cmd->require_subcommand(1);
  CLI::App* backup_cmd = admin_cmd->add_subcommand(
      "backup", "Write a consistent copy of the store on the server");
  backup_cmd
      ->add_option("DESTINATION", admin_flags.destination,
                   "Absolute directory on the server; must not exist")
      ->required();
  CLI::App* compact_cmd = admin_cmd->add_subcommand(
      "compact", "Apply revision, purge and change-log retention now");
  compact_cmd->add_flag("--storage", admin_flags.storage,
                        "Then compact the storage engine's files (RocksDB: "
                        "every level; minutes on a large store). Refused on "
                        "PostgreSQL, whose VACUUM does this");
  CLI::App* fsck_cmd = admin_cmd->add_subcommand(
      "fsck", "Check that indexes, histories and the change log agree");
  fsck_cmd->add_flag("--repair", admin_flags.repair,
                     "Refused: a repair runs only offline, with contentd "
                     "--data-dir DIR --check --repair (PostgreSQL: "
                     "--storage-engine postgres --storage-dsn DSN "
                     "--storage-table TABLE instead of --data-dir)");
  CLI::App* stats_cmd = admin_cmd->add_subcommand(
      "stats", "Which contentd answered, counts and storage figures");
  CLI::App* operations_cmd = admin_cmd->add_subcommand(
      "operations",
      "The backups, compactions and checks running, and how "
      "far each has come");
  // Its lines have no header; taken so that a script can pass it to every
  // listing.
  operations_cmd->add_flag("--no-headers", no_headers,
                           "Taken as the other listings take it: the lines "
                           "have no header row");
  CLI::App* health_cmd = admin_cmd->add_subcommand(
      "health",
      "Ask the server's health, as etcdctl endpoint health (no token "
      "needed)");
  CLI::Option* health_service =
      health_cmd
          ->add_option("--service", admin_flags.service,
                       "Ask this name alone: \"\" (liveness), "
                       "content.v1.Readiness, content.v1.ContentService, "
                       "content.v1.AdminService")
          ->type_name("NAME");
  // Wrapped here: CLI11 prints a footer as it is.
  health_cmd->footer(
      "Asks \"\" (liveness), then content.v1.Readiness (can it serve calls\n"
      "now), and prints `HOST:PORT is healthy: SERVING (took 1.2ms)`, or\n"
      "what it is instead and why, on stderr.\n"
      "\n"
      "Exit status:\n"
      "  0  SERVING\n"
      "  1  no answer: the server cannot be reached (TLS, the deadline)\n"
      "  2  a usage error\n"
      "  3  NOT_SERVING: a stop begun, or the store takes no writes until\n"
      "     a restart (also UNKNOWN, or a --service the server lacks)\n"
      "  4  alive but not ready: \"\" SERVING, content.v1.Readiness\n"
      "     NOT_SERVING (its database not answering, a repair running);\n"
      "     a restart would not cure it");

  CLI::App* version_cmd = app.add_subcommand(
      "version", "Print contentctl's version and the server's, with its host");
  bool version_client_only = false;
  version_cmd->add_flag("--client", version_client_only,
                        "contentctl's version alone: no call to the server");
  const std::vector<const CLI::Option*> single_value_flags =
      SingleValueFlags(&app);

  std::string shell;
  CLI::App* completion_cmd = app.add_subcommand(
      "completion", "Print a shell completion script (bash or zsh)");
  completion_cmd
      ->add_option("SHELL", shell,
                   "bash: `source <(contentctl completion bash)`; zsh alike")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));

  // kubectl's and etcdctl's `help VERB`: RunHelp. The words go to a
  // positional, so that none of them is parsed as a verb.
  std::vector<std::string> help_words;
  CLI::App* help_cmd = app.add_subcommand(
      "help",
      "Help for a verb: `help VERB [COMMAND]` is `VERB [COMMAND] --help`");
  help_cmd->add_option("COMMAND", help_words,
                       "A verb, and an admin command after admin");

  // What the completion script asks of the server: `__complete tags
  // PREFIX` prints the tags starting with PREFIX, `__complete categories
  // PREFIX` the categories. In no group, so hidden: no verb to list,
  // document or complete.
  std::string complete_prefix;
  CLI::App* complete_cmd = app.add_subcommand("__complete", "")->group("");
  complete_cmd->require_subcommand(1);
  CLI::App* complete_tags_cmd =
      complete_cmd->add_subcommand("tags", "")->group("");
  CLI::App* complete_categories_cmd =
      complete_cmd->add_subcommand("categories", "")->group("");
  for (CLI::App* cmd : {complete_tags_cmd, complete_categories_cmd}) {
    cmd->add_option("PREFIX", complete_prefix);
  }

  // Every later reading of the command line sees `-o json` for `-o=json`.
  std::vector<std::string> split_args = SplitShortFlagValues(&app, argc, argv);
  std::vector<char*> split_argv;
  for (std::string& arg : split_args) split_argv.push_back(arg.data());
  split_argv.push_back(nullptr);
  argc = static_cast<int>(split_args.size());
  argv = split_argv.data();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *command = CommandPath(app);
    // The parse stopped where it met the error, perhaps before -o, or at
    // it: the command line says what was asked for.
    g_format = *format_out = FormatInArgs(argc, argv);
    // --help-all is the whole reference, every verb with its flags,
    // wherever it is given: the command's own help is --help's (CLI11
    // printed only the verb's for `VERB --help-all`, as --help does).
    if (dynamic_cast<const CLI::CallForAllHelp*>(&e) != nullptr) {
      std::cout << app.get_formatter()->make_help(&app, "contentctl",
                                                  CLI::AppFormatMode::All);
      return kExitOk;
    }
    // --help is a ParseError too (exit code 0): it prints the help.
    if (e.get_exit_code() == 0) {
      app.exit(e);
      return kExitOk;
    }
    if (std::string bad = UnknownFlag(app); !bad.empty()) {
      if (std::string misplaced = MisplacedVerbFlag(app, argc, argv, bad);
          !misplaced.empty()) {
        return Usage(std::move(misplaced), bad, kMisplacedFlag);
      }
      // A flag the command has is no suggestion (`query -- --limit`: an
      // argument after `--`).
      std::vector<std::string> meant = FlagsMeant(bad, FlagsOf(app));
      meant.erase(std::remove(meant.begin(), meant.end(), bad), meant.end());
      // contentd takes --version; contentctl's (its own and the server's)
      // is a verb, as kubectl's and etcdctl's are.
      if (meant.empty() && bad == "--version") {
        meant.push_back("contentctl version");
      }
      // Unknown to this verb, but another's (`get x --limit 5`): which.
      std::string message = OtherCommandsFlag(app, argc, argv, bad, meant);
      if (message.empty()) message = internal::UnknownFlagMessage(bad, meant);
      return Usage(std::move(message), bad, kUnknownFlag);
    }
    if (std::string flag, bad = FlagWithoutValue(app, argc, argv, &flag);
        !bad.empty()) {
      return Usage(std::move(bad), std::move(flag), kMissingArgument);
    }
    // `contentctl frob`, `contentctl admin frob`: say that the command is
    // unknown, or missing, and which there are, rather than CLI11's "A
    // subcommand is required".
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      bool unknown = false;
      if (std::string bad = MissingCommand(app, &unknown); !bad.empty()) {
        return Usage(std::move(bad), "",
                     unknown ? kUnknownCommand : kMissingCommand);
      }
    }
    if (std::string flag, bad = MissingPositional(app, e, &flag);
        !bad.empty()) {
      return Usage(std::move(bad), std::move(flag), kMissingArgument);
    }
    if (std::string bad = UnexpectedArguments(app, e); !bad.empty()) {
      return Usage(std::move(bad), "", kUnexpectedArgument);
    }
    if (std::string flag, bad = SwitchValue(app, e, &flag); !bad.empty()) {
      return Usage(std::move(bad), std::move(flag), kInvalidValue);
    }
    return ParseUsageError(app, e);
  }
  *command = CommandPath(app);
  // One no verb takes is refused below (OutputRefusal).
  const Format format = ParseFormat(g.output).value_or(Format::kTable);
  g_format = *format_out = format;
  // Before the checks that need a verb to run: as `VERB --help`, `help
  // VERB` prints its help whatever else the command line says.
  if (help_cmd->parsed()) return RunHelp(app, help_words, command);
  if (std::string flag, bad = FlagWithoutValue(app, argc, argv, &flag);
      !bad.empty()) {
    // `--tag --output=json` took -o as the tag: the error comes in the
    // format the command line asks for.
    g_format = *format_out = FormatInArgs(argc, argv);
    return Usage(std::move(bad), std::move(flag), kMissingArgument);
  }
  if (std::string flag, bad = RepeatedFlag(single_value_flags, &flag);
      !bad.empty()) {
    return Usage(std::move(bad), std::move(flag), kInvalidValue);
  }

  if (std::string bad = NotUtf8Argument(app, not_text); !bad.empty()) {
    return Usage(absl::StrCat(bad, ": not valid UTF-8"), bad, kInvalidValue);
  }
  if (fsck_cmd->parsed() && admin_flags.repair) {
    // contentd refuses an online repair (FAILED_PRECONDITION): say how to
    // run one instead of dialling for that.
    return Usage(
        "--repair: a repair runs only offline: stop contentd and run "
        "`contentd --data-dir DIR --check --repair` (on PostgreSQL, with "
        "every replica stopped: `contentd --check --repair --storage-engine "
        "postgres --storage-dsn DSN --storage-table TABLE`)");
  }
  // An -o the verb cannot honour is refused rather than ignored: `export
  // -o json` (and `-o table`) printed Markdown, and admin, apply, version
  // and diff printed their table under -o markdown, which would pass for a
  // document.
  if (app.get_option("--output")->count() > 0) {
    // `-o "$UNSET"` is no value, as --state's is (ParseUsageError).
    if (g.output.empty()) {
      return Usage(
          absl::StrCat(
              "--output: needs a value (one of ",
              absl::StrJoin(OutputsOf(VerbPath(Leaf(app))).formats, ", "), ")"),
          "--output", kMissingArgument);
    }
    if (std::string bad = OutputRefusal(VerbPath(Leaf(app)), g.output);
        !bad.empty()) {
      return Usage(std::move(bad), "--output", kInvalidValue);
    }
  }
  if (version_cmd->parsed() && version_client_only)
    return RunVersion(nullptr, g.server, format);
  if (completion_cmd->parsed()) {  // whatever -o says: a script
    std::cout << CompletionScript(app, shell);
    return kExitOk;
  }

  // An empty value on the command line (`--ca "$UNSET"`) is no value, as
  // `--ca=` is: it read as the flag left out, so a variable meant to name
  // the CA dialled in plaintext without a word, and `--token "$UNSET"`
  // sent no token (against a server with auth on, an UNAUTHENTICATED that
  // blamed the server's side). An empty CONTENT_CA is still unset (CLI11
  // adds no result for it).
  for (const char* name :
       {"--ca", "--cert", "--key", "--request-id", "--token"}) {
    const CLI::Option* opt = app.get_option(name);
    const CLI::results_t& given = opt->results();
    if (std::find(given.begin(), given.end(), "") == given.end()) continue;
    const std::string kind = internal::ValueKind(*opt);
    return Usage(
        absl::StrCat(name, ": needs a value",
                     kind.empty() ? "" : absl::StrCat(" (", kind, ")")),
        name, kMissingArgument);
  }

  ClientOptions options;
  options.target = g.server;
  options.token = g.token;
  options.request_id = g.request_id;
  for (auto [path, pem] : {std::pair{&g.ca, &options.tls_ca_pem},
                           std::pair{&g.cert, &options.tls_cert_pem},
                           std::pair{&g.key, &options.tls_key_pem}}) {
    if (path->empty()) continue;
    // `--ca (from CONTENT_CA)` when the variable gave it.
    const std::string flag =
        path == &g.ca     ? FlagName("--ca", "CONTENT_CA", *path)
        : path == &g.cert ? FlagName("--cert", "CONTENT_CERT", *path)
                          : FlagName("--key", "CONTENT_KEY", *path);
    // A file that cannot be read says why (none there, no permission, an
    // I/O error), rather than that it "holds no PEM block".
    if (const int err = ReadLocalFile(*path, pem); err != 0) {
      return Usage(absl::StrCat(flag, ": cannot read ", *path, ": ",
                                std::strerror(err)));
    }
    // gRPC would only log that it loaded no certificate, then fail every
    // call as UNAVAILABLE: refuse here, naming the flag.
    if (pem->find("-----BEGIN ") == std::string::npos) {
      return Usage(absl::StrCat(flag, ": ", *path, " holds no PEM block"));
    }
  }
  if (options.tls_ca_pem.empty() && !options.tls_cert_pem.empty()) {
    return Usage("--cert: needs --ca (mutual TLS runs over TLS)",
                 kMissingArgument);
  }
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return Usage(options.tls_key_pem.empty() ? "--cert: needs --key"
                                             : "--key: needs --cert",
                 kMissingArgument);
  }
  // gRPC logs what it meets on stderr, OpenSSL's handshake errors once per
  // connection attempt, ahead of the one error contentctl prints with the
  // same cause: quiet, unless GRPC_VERBOSITY asks for its logs.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  absl::ParseDuration(g.timeout, &options.timeout);  // checked by kDuration
  if (complete_cmd->parsed()) {
    // A key press waits for no slow or missing server: one try, briefly,
    // and silence on any error (main prints no usage error either). A bad
    // CONTENT_COMPLETION_TIMEOUT is said on stderr, which the script drops:
    // seen when `__complete` is run by hand to find why nothing completes.
    options.timeout = kCompletionDeadline;
    if (const char* env = std::getenv(kCompletionTimeoutEnv); env != nullptr) {
      std::string text = env;
      if (std::string bad = kDuration(text); !bad.empty()) {
        std::cerr << kCompletionTimeoutEnv << ": " << bad << "\n";
        return kExitUsage;
      }
      absl::ParseDuration(text, &options.timeout);
    }
    options.max_attempts = 1;
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    return client.ok()
               ? RunCompleteNames(**client, complete_categories_cmd->parsed(),
                                  complete_prefix)
               : kExitFailure;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  if (absl::IsInvalidArgument(client.status())) {
    // Connect names the ClientOptions field the flags set wrong (`token:
    // contains a control character`, `target: port must be 1-65535`): a
    // usage error, named by the flag. --server is checked there only, so
    // that contentctl and every other SDK user take the same targets.
    absl::string_view message = client.status().message();
    std::string flag;
    if (absl::ConsumePrefix(&message, "token:")) {
      flag = FlagName("--token", "CONTENT_TOKEN", g.token);
    } else if (absl::ConsumePrefix(&message, "target:")) {
      flag = FlagName("--server", "CONTENT_SERVER", g.server);
    } else if (absl::ConsumePrefix(&message, "request_id:")) {
      flag = FlagName("--request-id", "CONTENT_REQUEST_ID", g.request_id);
    }
    if (!flag.empty()) {
      return Usage(absl::StrCat(flag, ":", message));
    }
    // TLS material that is not what the flag says: `--ca: FILE holds a
    // private key, not a PEM certificate`.
    for (auto [field, name, env, path] :
         {std::tuple{"tls_ca_pem: ", "--ca", "CONTENT_CA", &g.ca},
          std::tuple{"tls_cert_pem: ", "--cert", "CONTENT_CERT", &g.cert},
          std::tuple{"tls_key_pem: ", "--key", "CONTENT_KEY", &g.key}}) {
      if (!absl::ConsumePrefix(&message, field)) continue;
      return Usage(absl::StrCat(
          FlagName(name, env, *path), ": ", *path, " ",
          absl::StrReplaceAll(message, {{"tls_cert_pem", "--cert"}})));
    }
  }
  if (!client.ok()) return Fail(client.status());
  g_connection.target = g.server;
  g_connection.tls = !options.tls_ca_pem.empty();
  g_connection.client_cert = !options.tls_cert_pem.empty();
  g_connection.request_id = options.request_id;
  if (timeout_opt->count() > 0) {
    const std::string flag =
        FlagName("--timeout", "CONTENT_TIMEOUT", g.timeout);
    g_connection.deadline = flag == "--timeout"
                                ? absl::StrCat("--timeout ", g.timeout)
                                : absl::StrCat("CONTENT_TIMEOUT=", g.timeout);
  }
  Session session{*std::move(client), Output(format, std::cout, std::cerr)};
  session.output.set_no_headers(no_headers);
  if (timeout_opt->count() > 0) session.timeout_flag = options.timeout;

  if (apply_cmd->parsed()) {
    apply.timeout = session.timeout_flag;
    apply.connection = g_connection;
    return Apply(*session.client, apply, format);
  }
  if (edit_cmd->parsed()) {
    edit.connection = g_connection;
    return Edit(*session.client, edit, format);
  }
  if (version_cmd->parsed()) return RunVersion(&session, g.server, format);
  if (get_cmd->parsed()) return RunGet(session, get);
  if (query_cmd->parsed()) return RunQuery(session, query);
  if (tags_cmd->parsed()) return RunTerms(session, tags_flags, false);
  if (categories_cmd->parsed())
    return RunTerms(session, categories_flags, true);
  if (history_cmd->parsed()) return RunHistory(session, history);
  if (delete_cmd->parsed()) return RunDelete(session, del, /*undelete=*/false);
  if (undelete_cmd->parsed()) {
    return RunDelete(session, undel, /*undelete=*/true);
  }
  if (diff_cmd->parsed()) return RunDiff(session, diff);
  if (restore_cmd->parsed()) return RunRestore(session, restore);
  if (translations_cmd->parsed()) return RunTranslations(session, translations);
  if (export_cmd->parsed())
    return RunExport(session, exp, export_filters, export_dir,
                     export_live_only);
  if (watch_cmd->parsed()) return RunWatch(session, watch_filters, watch);
  if (backup_cmd->parsed()) return RunBackup(session, admin_flags);
  if (compact_cmd->parsed()) return RunCompact(session, admin_flags);
  if (fsck_cmd->parsed()) return RunFsck(session, admin_flags);
  if (stats_cmd->parsed()) return RunStats(session);
  if (operations_cmd->parsed()) return RunOperations(session);
  if (health_cmd->parsed()) {
    admin_flags.service_given = health_service->count() > 0;
    return RunHealth(session, admin_flags, g.server);
  }
  return kExitUsage;  // require_subcommand(1) makes this unreachable
}

}  // namespace

// std::cout's buffer: writes to file descriptor 1 and keeps the errno of
// the first write that failed, which stdio's buffering loses (a later
// flush of an emptied buffer reports nothing, and errno is long
// overwritten when main checks). Not thread-safe, as std::cout.
class StdoutBuffer : public std::streambuf {
 public:
  StdoutBuffer() { setp(buffer_, buffer_ + sizeof(buffer_)); }
  StdoutBuffer(const StdoutBuffer&) = delete;
  StdoutBuffer& operator=(const StdoutBuffer&) = delete;

  // errno of the first failed write; 0 if none failed.
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!Drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return Drain() ? 0 : -1; }

 private:
  // Writes out what is buffered; false once a write has failed (what
  // follows is dropped: output with a hole in it is no use).
  bool Drain() {
    const char* p = pbase();
    while (error_ == 0 && p < pptr()) {
      const ssize_t n = ::write(STDOUT_FILENO, p, pptr() - p);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        break;
      }
      p += n;
    }
    setp(buffer_, buffer_ + sizeof(buffer_));
    return error_ == 0;
  }

  char buffer_[1 << 16];
  int error_ = 0;
};

// Output that never reached stdout (disk full, closed pipe) fails the
// command instead of exiting 0 with it truncated, naming the OS's reason:
// a local failure, not the server's.
int CheckStdout(int code, const StdoutBuffer& buffer) {
  std::cout.flush();
  if (buffer.error() != 0 || std::cout.fail()) {
    FailWrite("to stdout", buffer.error() != 0 ? buffer.error() : EIO);
    return code == kExitOk ? kExitFailure : code;
  }
  return code;
}

}  // namespace content::cli

int main(int argc, char** argv) {
  content::cli::StdoutBuffer stdout_buffer;
  std::cout.rdbuf(&stdout_buffer);
  int code;
  std::string command = "contentctl";
  content::cli::Format format = content::cli::Format::kTable;
  try {
    code = content::cli::Main(argc, argv, &command, &format);
  } catch (const std::exception& e) {
    // A bug: said as a failed call's INTERNAL is, an object under -o
    // json|yaml (the command line's -o if the parse never got to it).
    const absl::Status status = absl::InternalError(e.what());
    const std::string text = content::cli::StatusText(status);
    std::cerr << content::cli::StderrObject(
        content::cli::ErrorStruct(status, text),
        format == content::cli::Format::kTable
            ? content::cli::FormatInArgs(argc, argv)
            : format,
        absl::StrCat("Error: ", text));
    code = 1;
  }
  // Every usage error, whichever check found it, ends with the same hint:
  // after its line, or in its object under -o json|yaml. But for the
  // completion script's calls: a key press prints no error.
  const auto& usage = content::cli::RecordedUsage();
  if (code == content::cli::kExitUsage &&
      !absl::StartsWith(command, "contentctl __complete") &&
      (usage.has_value() || !content::cli::g_exit_2_is_trouble)) {
    const std::string hint = content::internal::UsageHint(command);
    if (usage.has_value()) {
      content::cli::PrintUsageError(*usage, hint, format);
    } else {
      std::cerr << hint << "\n";
    }
  }
  code = content::cli::CheckStdout(code, stdout_buffer);
  // std::cout outlives main: it must not flush into a buffer that is gone.
  std::cout.rdbuf(nullptr);
  return code;
}
