// contentctl: the admin command line for contentd.
//
//   contentctl [--server ADDR] [--token T] [--timeout 10s]
//              [-o table|json|yaml|markdown] VERB ...
//
// Exit codes: 0 success, 1 an RPC or file failed (`Error: CODE: message` on
// stderr), 2 a usage error.
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/cli/apply.h"
#include "client/cli/output.h"
#include "content/client.h"
#include "content/markdown.h"

namespace content::cli {
namespace {

// Kept in step with project(VERSION) in CMakeLists.txt.
constexpr char kVersion[] = "0.1.0";

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Flags every verb takes.
struct GlobalFlags {
  std::string server = "127.0.0.1:7070";
  std::string token;
  std::string timeout = "10s";
  std::string output = "table";
};

struct GetFlags {
  std::string id;
  int64_t revision = 0;
  bool show_deleted = false;
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
};

struct HistoryFlags {
  std::string id;
  int limit = 20;
  std::string page_token;
};

struct DeleteFlags {
  std::string id;
  int64_t expected_revision = 0;
  std::string etag;
};

// What a verb works with: the connection and the output format.
struct Session {
  std::unique_ptr<Client> client;
  Output output;
};

int Fail(const absl::Status& status) {
  std::cerr << "Error: " << StatusText(status) << "\n";
  return kExitFailure;
}

int Finish(const absl::Status& status) {
  return status.ok() ? kExitOk : Fail(status);
}

// `articles/x` for `x` or `articles/x`.
std::string NameOf(const std::string& id) {
  return absl::StartsWith(id, "articles/") ? id : ArticleName(id);
}

// A point in time from a flag: RFC 3339, or `YYYY-MM-DD HH:MM:SS`,
// `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DD` read as UTC.
absl::StatusOr<absl::Time> ParseDate(const std::string& text) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return t;
  for (const char* layout :
       {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"}) {
    if (absl::ParseTime(layout, text, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid date \"", text,
                   "\": want RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD"));
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
      if (absl::ParseDuration(text, &d) && d > absl::ZeroDuration()) return "";
      return "invalid duration \"" + text + "\": want e.g. 500ms, 10s, 2m";
    },
    "DURATION");

const CLI::Validator kDate(
    [](std::string& text) -> std::string {
      absl::StatusOr<absl::Time> t = ParseDate(text);
      return t.ok() ? "" : std::string(t.status().message());
    },
    "DATE");

// --- Verbs ------------------------------------------------------------------

int RunGet(Session& s, const GetFlags& f) {
  v1::GetArticleRequest request;
  request.set_name(NameOf(f.id));
  request.set_revision(f.revision);
  request.set_show_deleted(f.show_deleted);
  absl::StatusOr<v1::Article> article = s.client->GetArticle(request);
  if (!article.ok()) return Fail(article.status());
  return Finish(s.output.PrintArticle(*article));
}

int RunQuery(Session& s, const QueryFlags& f) {
  v1::QueryArticlesRequest request;
  v1::Query& q = *request.mutable_query();
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
  request.set_page_size(f.limit);
  request.set_page_token(f.page_token);
  absl::StatusOr<v1::QueryArticlesResponse> response =
      s.client->QueryArticles(request);
  if (!response.ok()) return Fail(response.status());
  return Finish(s.output.PrintQuery(*response));
}

int RunHistory(Session& s, const HistoryFlags& f) {
  v1::ListArticleRevisionsRequest request;
  request.set_name(NameOf(f.id));
  request.set_page_size(f.limit);
  request.set_page_token(f.page_token);
  absl::StatusOr<v1::ListArticleRevisionsResponse> response =
      s.client->ListArticleRevisions(request);
  if (!response.ok()) return Fail(response.status());
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

int RunDelete(Session& s, const DeleteFlags& f) {
  v1::DeleteArticleRequest request;
  request.set_name(NameOf(f.id));
  request.set_expected_revision(f.expected_revision);
  request.set_etag(f.etag);
  absl::StatusOr<v1::Article> article = s.client->DeleteArticle(request);
  if (!article.ok()) return Fail(article.status());
  return PrintWrite(s, *article, "deleted");
}

int RunUndelete(Session& s, const DeleteFlags& f) {
  v1::UndeleteArticleRequest request;
  request.set_name(NameOf(f.id));
  request.set_expected_revision(f.expected_revision);
  request.set_etag(f.etag);
  absl::StatusOr<v1::Article> article = s.client->UndeleteArticle(request);
  if (!article.ok()) return Fail(article.status());
  return PrintWrite(s, *article, "undeleted");
}

// Markdown whatever -o says: export is for files.
int RunExport(Session& s, const GetFlags& f) {
  v1::GetArticleRequest request;
  request.set_name(NameOf(f.id));
  request.set_revision(f.revision);
  absl::StatusOr<v1::Article> article = s.client->GetArticle(request);
  if (!article.ok()) return Fail(article.status());
  std::cout << FormatMarkdown(*article);
  return kExitOk;
}

int RunVersion(Format format) {
  if (format == Format::kJson) {
    std::cout << "{\n  \"contentctl\": \"" << kVersion << "\"\n}\n";
  } else if (format == Format::kYaml) {
    std::cout << "contentctl: \"" << kVersion << "\"\n";
  } else {
    std::cout << "contentctl " << kVersion << "\n";
  }
  return kExitOk;
}

// --- Command line -----------------------------------------------------------

// Adds the `ID` positional that names an article.
void AddId(CLI::App* verb, std::string* id) {
  verb->add_option("id", *id, "Article id, `x` or `articles/x`")->required();
}

int Main(int argc, char** argv) {
  CLI::App app{"contentctl: manage the articles in a contentd server.",
               "contentctl"};
  app.fallthrough();  // global flags may follow the verb, kubectl style
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every verb");

  GlobalFlags g;
  app.add_option("--server", g.server, "contentd address, host:port")
      ->envname("CONTENT_SERVER")
      ->capture_default_str();
  app.add_option("--token", g.token, "Bearer token sent with every call")
      ->envname("CONTENT_TOKEN");
  app.add_option("--timeout", g.timeout, "Deadline of each call, e.g. 500ms")
      ->check(kDuration)
      ->capture_default_str();
  app.add_option("-o,--output", g.output, "Output format")
      ->check(CLI::IsMember(FormatNames()))
      ->capture_default_str();

  ApplyOptions apply;
  CLI::App* apply_cmd = app.add_subcommand(
      "apply", "Create or update articles from Markdown files");
  apply_cmd
      ->add_option("-f,--filename", apply.paths, "A .md file or a directory")
      ->required()
      ->allow_extra_args(false);
  apply_cmd->add_option("--expected-revision", apply.expected_revision,
                        "Fail unless the head is at this revision (one file)");
  apply_cmd
      ->add_option("--default-zone", apply.default_zone,
                   "Zone of front-matter dates written without one")
      ->capture_default_str();

  GetFlags get;
  CLI::App* get_cmd = app.add_subcommand("get", "Show an article");
  AddId(get_cmd, &get.id);
  get_cmd->add_option("--revision", get.revision, "Revision to show");
  get_cmd->add_flag("--show-deleted", get.show_deleted,
                    "Show the tombstone of a deleted article");

  QueryFlags query;
  CLI::App* query_cmd =
      app.add_subcommand("query", "List the articles that match filters");
  query_cmd->add_option("--tag", query.tags, "Has this tag (repeatable)")
      ->allow_extra_args(false);
  query_cmd->add_flag("--all-tags", query.all_tags,
                      "Require every --tag instead of any");
  query_cmd
      ->add_option("--category", query.categories,
                   "In this category (repeatable)")
      ->allow_extra_args(false);
  query_cmd->add_option("--lang", query.langs, "In this language (repeatable)")
      ->allow_extra_args(false);
  query_cmd->add_option("--since", query.since, "Dated at or after DATE (UTC)")
      ->check(kDate);
  query_cmd->add_option("--until", query.until, "Dated before DATE (UTC)")
      ->check(kDate);
  query_cmd->add_flag("--oldest-first", query.oldest_first,
                      "Oldest first instead of newest first");
  query_cmd->add_flag("--include-deleted", query.include_deleted,
                      "Also list deleted articles");
  query_cmd->add_option("--limit", query.limit, "Articles per page")
      ->capture_default_str();
  query_cmd->add_option("--page-token", query.page_token,
                        "Token of the page to show");

  HistoryFlags history;
  CLI::App* history_cmd =
      app.add_subcommand("history", "List the revisions of an article");
  AddId(history_cmd, &history.id);
  history_cmd->add_option("--limit", history.limit, "Revisions per page")
      ->capture_default_str();
  history_cmd->add_option("--page-token", history.page_token,
                          "Token of the page to show");

  DeleteFlags del;
  CLI::App* delete_cmd =
      app.add_subcommand("delete", "Delete an article (undoable)");
  AddId(delete_cmd, &del.id);
  delete_cmd->add_option("--expected-revision", del.expected_revision,
                         "Fail unless the head is at this revision");
  delete_cmd->add_option("--etag", del.etag,
                         "Fail unless the head has this etag");

  DeleteFlags undel;
  CLI::App* undelete_cmd =
      app.add_subcommand("undelete", "Restore a deleted article");
  AddId(undelete_cmd, &undel.id);
  undelete_cmd->add_option("--expected-revision", undel.expected_revision,
                           "Fail unless the head is at this revision");

  GetFlags exp;
  CLI::App* export_cmd =
      app.add_subcommand("export", "Print an article as Markdown");
  AddId(export_cmd, &exp.id);
  export_cmd->add_option("--revision", exp.revision, "Revision to print");

  CLI::App* version_cmd = app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    // `contentctl frob`: say that the verb is unknown, not that one is
    // missing.
    const std::vector<std::string> rest = app.remaining();
    if (!app.get_subcommands().empty() || rest.empty()) {
      app.exit(e);
      return kExitUsage;
    }
    std::cerr << "unknown verb \"" << rest.front() << "\"\n"
              << "Run with --help for more information.\n";
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  const Format format = *ParseFormat(g.output);  // checked by IsMember
  if (version_cmd->parsed()) return RunVersion(format);

  ClientOptions options;
  options.target = g.server;
  options.token = g.token;
  absl::ParseDuration(g.timeout, &options.timeout);  // checked by kDuration
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  if (!client.ok()) return Fail(client.status());
  Session session{*std::move(client), Output(format, std::cout, std::cerr)};

  if (apply_cmd->parsed()) return Apply(*session.client, apply, format);
  if (get_cmd->parsed()) return RunGet(session, get);
  if (query_cmd->parsed()) return RunQuery(session, query);
  if (history_cmd->parsed()) return RunHistory(session, history);
  if (delete_cmd->parsed()) return RunDelete(session, del);
  if (undelete_cmd->parsed()) return RunUndelete(session, undel);
  if (export_cmd->parsed()) return RunExport(session, exp);
  return kExitUsage;  // require_subcommand(1) makes this unreachable
}

}  // namespace
}  // namespace content::cli

int main(int argc, char** argv) {
  try {
    return content::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "Error: INTERNAL: " << e.what() << "\n";
    return 1;
  }
}
