// End-to-end: the contentctl binary against a real contentd on an ephemeral
// loopback port.
//
// One server serves the whole suite (under ctest each test runs in its own
// process, so each gets a fresh one); tests keep out of each other's way by
// using their own ids and tags.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "content/client.h"
#include "content/v1/admin_service.grpc.pb.h"
#include "content/v1/content_service.grpc.pb.h"
#include "content/v1/content_service.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/ctl.h"
#include "tests/support/harness.h"
#include "tests/support/held_port.h"
#include "yaml-cpp/yaml.h"

namespace content {
namespace {

namespace fs = std::filesystem;

using ::content::testing::BackgroundCommand;
using ::content::testing::CommandResult;
using ::content::testing::ContentctlBinary;
using ::content::testing::Ctl;
using ::content::testing::HeldPort;
using ::content::testing::Lines;
using ::content::testing::MetadataValue;
using ::content::testing::ParseJson;
using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::SharedServerTest;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsSupersetOf;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

// An article file: front matter from the arguments, a short body.
std::string Doc(const std::string& title, const std::string& date,
                const std::string& tags, const std::string& extra = "",
                const std::string& body = "正文。Body text.\n") {
  std::string doc = "---\ntitle: \"" + title + "\"\n";
  if (!date.empty()) doc += "date: \"" + date + "\"\n";
  if (!tags.empty()) doc += "tags: [" + tags + "]\n";
  doc += extra;
  doc += "---\n\n" + body;
  return doc;
}

std::vector<std::string> Names(const v1::QueryArticlesResponse& response) {
  std::vector<std::string> names;
  for (const auto& a : response.articles()) names.push_back(a.name());
  return names;
}

class CliTest : public SharedServerTest {
 protected:
  // Runs contentctl against the suite's server.
  static CommandResult Ctl(std::vector<std::string> args,
                           const std::vector<std::string>& env = {}) {
    return testing::Ctl(*server_, std::move(args), env);
  }

  // Runs contentctl and expects success.
  static std::string CtlOk(std::vector<std::string> args) {
    return testing::CtlOk(*server_, args);
  }

  static v1::QueryArticlesResponse Query(std::vector<std::string> args) {
    args.insert(args.begin(), "query");
    args.push_back("-o");
    args.push_back("json");
    return ParseJson<v1::QueryArticlesResponse>(CtlOk(args));
  }

  static v1::Article GetJson(const std::string& id,
                             std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"get", id, "-o", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ParseJson<v1::Article>(CtlOk(args));
  }

  // Runs `cat FILE | contentctl ARGS` through a shell: stdin is a real pipe,
  // as in `export x | sed ... | contentctl apply -f -`.
  static CommandResult CtlPiped(const std::string& file,
                                std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "/bin/sh",          "-c",       "cat \"$0\" | \"$@\"", file,
        ContentctlBinary(), "--server", server_->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  // Writes `text` to `name` under a fresh per-test directory; returns the
  // path.
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = fs::path(files_.path()) / name;
    fs::create_directories(path.parent_path());
    WriteFile(path.string(), text);
    return path.string();
  }

  TempDir files_;
};

// ---- apply --------------------------------------------------------------

TEST_F(CliTest, ApplyDirectoryCreatesThenUnchangedThenUpdates) {
  Write("d/a1.md",
        Doc("Rates on hold", "2025-03-19T18:30:00Z", "ad1, finance"));
  Write("d/b2.md", Doc("券商接入开源大模型", "2025-02-10 21:05:40", "ad1, ai",
                       "lang: zh-CN\n"));
  Write("d/c3.md",
        Doc("十年期国债收益率再创新低", "2024-11-15", "ad1", "lang: zh-CN\n"));
  Write("d/sub/d4.md", Doc("Chip export rules", "2024-10-02", "ad1, tech"));
  Write("d/sub/e5.md", Doc("动力电池退役潮临近", "2024-07-03", "ad1, ev"));
  Write("d/notes.txt", "not an article");
  const std::string dir = files_.path() + "/d";

  CommandResult r = Ctl({"apply", "-f", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Lines(r.out),
              ElementsAre("articles/a1 created (revision 1)",
                          "articles/b2 created (revision 1)",
                          "articles/c3 created (revision 1)",
                          "articles/d4 created (revision 1)",
                          "articles/e5 created (revision 1)",
                          "applied 5 files: 5 created, 0 updated, "
                          "0 unchanged, 0 failed"));
  EXPECT_THAT(r.err, IsEmpty());  // no progress bar off a terminal

  r = Ctl({"apply", "-f", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Lines(r.out),
              ElementsAre("articles/a1 unchanged (revision 1)",
                          "articles/b2 unchanged (revision 1)",
                          "articles/c3 unchanged (revision 1)",
                          "articles/d4 unchanged (revision 1)",
                          "articles/e5 unchanged (revision 1)",
                          "applied 5 files: 0 created, 0 updated, "
                          "5 unchanged, 0 failed"));

  Write("d/b2.md", Doc("券商接入开源大模型（更新）", "2025-02-10 21:05:40",
                       "ad1, ai", "lang: zh-CN\n"));
  r = Ctl({"apply", "-f", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/b2 updated (revision 2)\n"));
  EXPECT_THAT(r.out, HasSubstr("articles/a1 unchanged (revision 1)\n"));
  EXPECT_THAT(r.out, HasSubstr("applied 5 files: 0 created, 1 updated, "
                               "4 unchanged, 0 failed\n"));
  EXPECT_EQ(GetJson("b2").title(), "券商接入开源大模型（更新）");
}

// Two files of one tree naming the same article: the first is applied, the
// second fails naming both files, and the command exits 1.
TEST_F(CliTest, ApplyDirectoryRefusesASecondFileForTheSameArticle) {
  Write("dup/news/dupe1.md", Doc("first", "2024-01-01", "adup"));
  Write("dup/posts/dupe1.md", Doc("second", "2024-01-02", "adup"));
  CommandResult r = Ctl({"apply", "-f", files_.path() + "/dup"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/dupe1 created (revision 1)"));
  EXPECT_THAT(r.out, HasSubstr("1 created, 0 updated, 0 unchanged, 1 failed"));
  EXPECT_THAT(r.err, HasSubstr("posts/dupe1.md"));
  EXPECT_THAT(r.err, HasSubstr("ALREADY_EXISTS"));
  EXPECT_THAT(r.err, HasSubstr("is also in "));
  EXPECT_EQ(GetJson("dupe1").title(), "first");
  EXPECT_EQ(GetJson("dupe1").revision(), 1);
}

// A file named twice, by two -f or by itself and its directory, is applied
// once: it used to fail as "articles/x is also in x.md", its own name.
TEST_F(CliTest, ApplyOfAFileNamedTwiceAppliesItOnce) {
  const std::string file =
      Write("twice/twice1.md", Doc("twice", "2024-01-01", "atwice"));
  CommandResult r = Ctl({"apply", "-f", file, "-f", file});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out,
            "articles/twice1 created (revision 1)\n"
            "applied 1 file: 1 created, 0 updated, 0 unchanged, 0 failed\n");
  EXPECT_EQ(r.err, "");
  r = Ctl({"apply", "-f", files_.path() + "/twice", "-f", file});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out,
            "articles/twice1 unchanged (revision 1)\n"
            "applied 1 file: 0 created, 0 updated, 1 unchanged, 0 failed\n");
  EXPECT_EQ(GetJson("twice1").revision(), 1);
}

TEST_F(CliTest, ApplyUsesFrontMatterIdOverFileName) {
  const std::string file =
      Write("whatever-name.md",
            Doc("Front-matter id", "2024-01-01", "aid", "id: fm-id\n"));
  CommandResult r = Ctl({"apply", "-f", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/fm-id created (revision 1)\n"));
  EXPECT_THAT(r.out, HasSubstr("applied 1 file: 1 created"));
  EXPECT_EQ(GetJson("fm-id").title(), "Front-matter id");
}

// `apply -f -` reads one article from stdin. Stdin has no file name, so the
// id comes from the front matter or --id; results and errors name it
// `<stdin>`.
TEST_F(CliTest, ApplyFromStdinTakesTheIdFromFrontMatterOrFlag) {
  const std::string with_id =
      Write("in1.md", Doc("From stdin", "2024-01-01", "ain", "id: stdin1\n"));
  CommandResult r = CtlPiped(with_id, {"apply", "-f", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Lines(r.out), ElementsAre("articles/stdin1 created (revision 1)",
                                        "applied 1 file: 1 created, 0 updated, "
                                        "0 unchanged, 0 failed"));
  EXPECT_EQ(GetJson("stdin1").title(), "From stdin");

  // No id in the front matter: --id names it (`articles/x` too), and a
  // conditional write goes through UpdateArticle.
  const std::string no_id =
      Write("in2.md", Doc("Flagged id", "2024-01-01", "ain"));
  r = CtlPiped(no_id, {"apply", "-f", "-", "--id", "stdin2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/stdin2 created (revision 1)\n"));
  Write("in2.md", Doc("Flagged id v2", "2024-01-01", "ain"));
  r = CtlPiped(no_id, {"apply", "-f", "-", "--id", "articles/stdin2",
                       "--expected-revision", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/stdin2 updated (revision 2)\n"));
  EXPECT_EQ(GetJson("stdin2").title(), "Flagged id v2");
  // The same id in both places is fine; -o json names the source <stdin>.
  r = CtlPiped(with_id, {"apply", "-f", "-", "--id", "stdin1", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"file\": \"<stdin>\""));
  EXPECT_THAT(r.out, HasSubstr("\"result\": \"unchanged\""));

  // Neither: the article fails, named <stdin>, and nothing is written.
  r = CtlPiped(no_id, {"apply", "-f", "-"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, StartsWith("<stdin>: error: INVALID_ARGUMENT: id: "));
  EXPECT_THAT(r.err, HasSubstr("--id"));
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 0 unchanged, 1 failed"));
  // Two ids that disagree, and malformed YAML, fail named <stdin> too.
  r = CtlPiped(with_id, {"apply", "-f", "-", "--id", "other"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("<stdin>: error: INVALID_ARGUMENT: id: the "
                               "front matter says \"stdin1\", --id says "
                               "\"other\""));
  EXPECT_EQ(Ctl({"get", "other", "--all"}).exit_code, 1);
  const std::string bad = Write("in3.md", "---\ntitle: [unclosed\n---\nx\n");
  r = CtlPiped(bad, {"apply", "-f", "-", "--id", "stdin3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("<stdin>: error: INVALID_ARGUMENT: "));

  // Stdin reads once, and --id names the one article read from it.
  r = CtlPiped(with_id, {"apply", "-f", "-", "-f", "-"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("-f -: standard input can be given once"));
  r = Ctl({"apply", "-f", no_id, "--id", "stdin4"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--id: applies only to a single -f -"));
  EXPECT_EQ(Ctl({"get", "stdin4", "--all"}).exit_code, 1);
}

// apply's results follow the proto3 JSON mapping the other verbs print:
// the revision (an int64) as a string, and no key where there is no value.
// It printed `"revision": 1` and `"error": null`.
TEST_F(CliTest, ApplyJsonPrintsResultsAndSummaryOnStderr) {
  Write("j/j1.md", Doc("JSON one", "2024-01-01", "aj"));
  Write("j/j2.md", "---\ntitle: [unclosed\n---\nbody\n");
  CommandResult r = Ctl({"apply", "-f", files_.path() + "/j", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  google::protobuf::Value results;
  auto status = google::protobuf::util::JsonStringToMessage(r.out, &results);
  ASSERT_TRUE(status.ok()) << status.message() << "\n" << r.out;
  ASSERT_EQ(results.list_value().values_size(), 2) << r.out;
  const auto& ok = results.list_value().values(0).struct_value().fields();
  EXPECT_EQ(ok.at("name").string_value(), "articles/j1");
  EXPECT_EQ(ok.at("result").string_value(), "created");
  EXPECT_EQ(ok.at("revision").string_value(), "1");
  EXPECT_EQ(ok.count("error"), 0) << r.out;
  const auto& bad = results.list_value().values(1).struct_value().fields();
  EXPECT_THAT(bad.at("file").string_value(), HasSubstr("j2.md"));
  EXPECT_EQ(bad.at("result").string_value(), "failed");
  EXPECT_THAT(bad.at("error").string_value(), StartsWith("INVALID_ARGUMENT: "));
  // A file that never named an article has no name or revision.
  EXPECT_EQ(bad.count("name"), 0) << r.out;
  EXPECT_EQ(bad.count("revision"), 0) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("null")));
  EXPECT_THAT(r.err, HasSubstr("applied 1 of 2 files: 1 created, 0 updated, "
                               "0 unchanged, 1 failed"));

  // YAML likewise: the revision quoted, as `get -o yaml` quotes its own.
  Write("j/j1.md", Doc("JSON one, again", "2024-01-01", "aj"));
  r = Ctl({"apply", "-f", files_.path() + "/j/j1.md", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("- file: ", files_.path(),
                                "/j/j1.md\n  name: articles/j1\n  result: "
                                "updated\n  revision: \"2\"\n"));
}

TEST_F(CliTest, ExpectedRevisionMismatchFailsWithFailedPrecondition) {
  const std::string file = Write("er1.md", Doc("v1", "2024-01-01", "aer"));
  CtlOk({"apply", "-f", file});
  Write("er1.md", Doc("v2", "2024-01-01", "aer"));
  EXPECT_THAT(CtlOk({"apply", "-f", file, "--expected-revision", "1"}),
              HasSubstr("articles/er1 updated (revision 2)"));
  Write("er1.md", Doc("v3", "2024-01-01", "aer"));

  CommandResult r = Ctl({"apply", "-f", file, "--expected-revision", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("er1.md: error: FAILED_PRECONDITION: "));
  EXPECT_EQ(GetJson("er1").revision(), 2);
  EXPECT_EQ(GetJson("er1").title(), "v2");

  // Only one file may carry an expected revision.
  Write("more/x.md", Doc("x", "", ""));
  Write("more/y.md", Doc("y", "", ""));
  r = Ctl({"apply", "-f", files_.path() + "/more", "--expected-revision", "1"});
  EXPECT_EQ(r.exit_code, 2);
  // Said as --id's rule is (`--id: applies only to a single -f -`).
  EXPECT_THAT(r.err,
              StartsWith("--expected-revision: applies only to a single file "
                         "(2 given)\n"));
}

// apply's flags that need a single input gave different reasons under -o
// json: --id EXCLUDED_FLAGS, --expected-revision and --etag INVALID_VALUE
// for the same kind of rule (the flag does not go with the -f given). All
// are EXCLUDED_FLAGS now.
TEST_F(CliTest, ApplySingleInputFlagsAreExcludedFlags) {
  const std::string dir = files_.path() + "/single";
  Write("single/a.md", Doc("a", "", ""));
  Write("single/b.md", Doc("b", "", ""));
  for (const auto& [args, flag, message] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"apply", "-f", dir, "--expected-revision", "1"},
            "--expected-revision",
            "--expected-revision: applies only to a single file (2 given)"},
           {{"apply", "-f", dir, "--etag", "x"},
            "--etag",
            "--etag: applies only to a single file (2 given)"},
           {{"apply", "-f", dir + "/a.md", "--id", "z"},
            "--id",
            "--id: applies only to a single -f - (a file takes its id from "
            "its front matter or its name)"}}) {
    std::vector<std::string> json = args;
    json.insert(json.end(), {"-o", "json"});
    SCOPED_TRACE(::testing::PrintToString(json));
    CommandResult r = Ctl(json);
    EXPECT_EQ(r.exit_code, 2);
    const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
    EXPECT_EQ(e.at("reason").string_value(), "EXCLUDED_FLAGS");
    EXPECT_EQ(e.at("flag").string_value(), flag);
    EXPECT_EQ(e.at("message").string_value(), message);
  }
}

// delete, undelete and restore passed a failed --expected-revision or
// --etag on as the server said it (`Error: FAILED_PRECONDITION:
// expected_revision 1 does not match ...`), naming no flag, while apply led
// it with its flag; and no write said the head's revision of an etag that
// did not match. Every write leads it with its flag now and says the
// revision, in text and in -o json, which keeps the reason and metadata;
// exit 1 both ways.
TEST_F(CliTest, WriteConditionsNameTheirFlagAndTheHeadRevision) {
  const std::string file = Write("cond1.md", Doc("c1", "", "acond"));
  CtlOk({"apply", "-f", file});
  const std::string etag1 = GetJson("cond1").etag();
  Write("cond1.md", Doc("c2", "", "acond"));
  CtlOk({"apply", "-f", file});
  const std::string etag2 = GetJson("cond1").etag();
  ASSERT_NE(etag1, etag2);
  Write("cond1.md", Doc("c3", "", "acond"));

  const std::string revision_2 =
      "--expected-revision: expected_revision 1 does not match the head "
      "revision 2 of articles/cond1";
  const std::string etag_2 =
      absl::StrCat("--etag: etag ", etag1, " does not match the head etag ",
                   etag2, " of articles/cond1 (revision 2)");
  struct Case {
    std::vector<std::string> args;
    std::string reason;
    std::string message;  // after `CODE: `
    std::string current_revision;
    std::string file;  // apply: the file's line, not `Error: `
  };
  std::vector<Case> cases = {
      {{"delete", "cond1", "--expected-revision", "1"},
       "REVISION_MISMATCH",
       revision_2,
       "2",
       ""},
      {{"delete", "cond1", "--etag", etag1}, "ETAG_MISMATCH", etag_2, "2", ""},
      {{"restore", "cond1", "1", "--expected-revision", "1"},
       "REVISION_MISMATCH",
       revision_2,
       "2",
       ""},
      {{"restore", "cond1", "1", "--etag", etag1},
       "ETAG_MISMATCH",
       etag_2,
       "2",
       ""},
      {{"apply", "-f", file, "--expected-revision", "1"},
       "REVISION_MISMATCH",
       revision_2,
       "2",
       file},
      {{"apply", "-f", file, "--etag", etag1},
       "ETAG_MISMATCH",
       etag_2,
       "2",
       file},
  };
  const auto check = [&](const Case& c) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 1);
    if (c.file.empty()) {
      EXPECT_EQ(r.err, "Error: FAILED_PRECONDITION: " + c.message + "\n");
      EXPECT_THAT(r.out, IsEmpty());
    } else {
      EXPECT_EQ(r.err,
                c.file + ": error: FAILED_PRECONDITION: " + c.message + "\n");
    }
    std::vector<std::string> json_args = c.args;
    json_args.insert(json_args.end(), {"-o", "json"});
    r = Ctl(json_args);
    EXPECT_EQ(r.exit_code, 1);
    const std::vector<std::string> lines = Lines(r.err);
    // apply: the object, then its summary.
    ASSERT_EQ(lines.size(), c.file.empty() ? 1u : 2u) << r.err;
    const auto e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
    EXPECT_EQ(e.at("code").string_value(), "FAILED_PRECONDITION");
    EXPECT_EQ(e.at("reason").string_value(), c.reason);
    EXPECT_EQ(e.at("domain").string_value(), "contentd.v1");
    EXPECT_EQ(e.at("message").string_value(), c.message);
    EXPECT_EQ(MetadataValue(e, "current_revision"), c.current_revision);
    if (c.file.empty()) {
      EXPECT_EQ(e.count("file"), 0u);
      EXPECT_THAT(r.out, IsEmpty());
    } else {
      EXPECT_EQ(e.at("file").string_value(), c.file);
      // stdout still holds the results, valid JSON.
      ParseJson<google::protobuf::ListValue>(r.out);
    }
  };
  for (const Case& c : cases) check(c);
  EXPECT_EQ(GetJson("cond1").revision(), 2);

  // undelete checks the tombstone's revision and etag.
  EXPECT_EQ(CtlOk({"delete", "cond1"}),
            "articles/cond1 deleted (revision 3)\n");
  check({{"undelete", "cond1", "--expected-revision", "2"},
         "REVISION_MISMATCH",
         "--expected-revision: expected_revision 2 does not match the head "
         "revision 3 of articles/cond1",
         "3",
         ""});
  const std::string tombstone = GetJson("cond1", {"--show-deleted"}).etag();
  check({{"undelete", "cond1", "--etag", etag2},
         "ETAG_MISMATCH",
         absl::StrCat("--etag: etag ", etag2, " does not match the head etag ",
                      tombstone, " of articles/cond1 (revision 3)"),
         "3",
         ""});
  EXPECT_EQ(GetJson("cond1", {"--show-deleted"}).revision(), 3);
}

// apply -o json printed each failed file as the text line `FILE: error:
// CODE: message` while every other verb's error under -o json is a JSON
// object. Each failed file is one now, with its file, on its own line; the
// summary stays a line, and the text output without -o json is as it was.
TEST_F(CliTest, ApplyJsonPrintsEachFailedFileAsAJsonObject) {
  const std::string dir = files_.path() + "/jerr";
  Write("jerr/je1.md", Doc("ok", "2024-01-01", "ajerr"));
  const std::string bad_yaml =
      Write("jerr/je2.md", "---\ntitle: [unclosed\n---\nbody\n");
  const std::string bad_dates =
      Write("jerr/je3.md", Doc("dates", "", "ajerr",
                               "publishDate: 2025-02-01\n"
                               "expiryDate: 2025-01-01\n"));
  CommandResult r = Ctl({"apply", "-f", dir, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 3u) << r.err;
  auto e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.at("file").string_value(), bad_yaml);
  EXPECT_EQ(e.at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_THAT(e.at("message").string_value(), Not(IsEmpty()));
  // Every key there, as for any -o json error; an import result has no
  // details.
  for (const char* key : {"reason", "domain", "metadata", "fieldViolations"}) {
    EXPECT_EQ(e.count(key), 1u) << key;
  }
  e = ParseJson<google::protobuf::Struct>(lines[1]).fields();
  EXPECT_EQ(e.at("file").string_value(), bad_dates);
  EXPECT_EQ(e.at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_THAT(e.at("message").string_value(),
              StartsWith("expiryDate: must be after publishDate"));
  // The summary is an object too.
  EXPECT_EQ(
      ParseJson<google::protobuf::Struct>(lines[2])
          .fields()
          .at("message")
          .string_value(),
      "applied 1 of 3 files: 1 created, 0 updated, 0 unchanged, 2 failed");
  const auto results = ParseJson<google::protobuf::ListValue>(r.out);
  ASSERT_EQ(results.values_size(), 3) << r.out;
  EXPECT_THAT(
      results.values(1).struct_value().fields().at("error").string_value(),
      StartsWith("INVALID_ARGUMENT: "));

  // Through UpdateArticle (a condition), the server's details stay: the
  // reason and the API field, under the front-matter key's message.
  r = Ctl({"apply", "-f", bad_dates, "--expected-revision", "1", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.at("file").string_value(), bad_dates);
  // No article je3 yet: the condition needs one.
  EXPECT_EQ(e.at("code").string_value(), "NOT_FOUND");
  CtlOk({"apply", "-f", Write("jerr2/je3.md", Doc("dates", "", "ajerr"))});
  r = Ctl({"apply", "-f", bad_dates, "--expected-revision", "1", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_EQ(e.at("reason").string_value(), "INVALID_ARGUMENT");
  EXPECT_THAT(e.at("message").string_value(),
              StartsWith("expiryDate: must be after publishDate"));
  const auto& violations = e.at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 1) << lines[0];
  EXPECT_THAT(
      violations.values(0).struct_value().fields().at("field").string_value(),
      HasSubstr("expiry_time"));

  // An error of the whole run is an object too, with no file.
  r = Ctl({"apply", "-f", files_.path() + "/no-such-dir", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.at("code").string_value(), "");  // a local failure
  EXPECT_EQ(e.at("reason").string_value(), "READ_FAILED");
  EXPECT_EQ(e.count("file"), 0u);
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                  "5s", "apply", "-f", dir + "/je1.md", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.count("file"), 0u);
  EXPECT_EQ(e.at("code").string_value(), "UNAVAILABLE");
  EXPECT_THAT(e.at("message").string_value(), HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(lines[1], HasSubstr("1 failed"));

  // Without -o json: the lines as before.
  r = Ctl({"apply", "-f", dir});
  EXPECT_EQ(r.exit_code, 1);
  lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], StartsWith(bad_yaml + ": error: INVALID_ARGUMENT: "));
  EXPECT_THAT(lines[1],
              StartsWith(bad_dates + ": error: INVALID_ARGUMENT: expiryDate: "
                                     "must be after publishDate"));
}

TEST_F(CliTest, MalformedYamlFailsThatFileAndTheOthersStillApply) {
  Write("m/m1.md", Doc("Good one", "2024-01-01", "am"));
  Write("m/m2.md",
        "---\ntitle: \"ok\"\ntags: [a, b\ndate: 2024-01-01\n---\nx\n");
  Write("m/m3.md", Doc("Good three", "2024-01-02", "am"));
  CommandResult r = Ctl({"apply", "-f", files_.path() + "/m"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("articles/m1 created (revision 1)\n"));
  EXPECT_THAT(r.out, HasSubstr("articles/m3 created (revision 1)\n"));
  EXPECT_THAT(r.out, HasSubstr("applied 2 of 3 files: 2 created, 0 updated, "
                               "0 unchanged, 1 failed\n"));
  EXPECT_THAT(r.err, HasSubstr("m2.md: error: INVALID_ARGUMENT: "));
  EXPECT_THAT(r.out, Not(HasSubstr("articles/m2")));

  // A value of the wrong type names its key.
  const std::string typed =
      Write("m4.md", "---\ntitle: \"t\"\ntags:\n  nested: map\n---\nx\n");
  r = Ctl({"apply", "-f", typed});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(r.err, HasSubstr("tags"));
}

// A misspelt zone applies nothing, rather than the files whose dates do not
// need it.
TEST_F(CliTest, UnknownDefaultZoneIsUsageErrorAndWritesNothing) {
  Write("zone/zone1.md", Doc("no date", "", ""));
  Write("zone/zone2.md", Doc("zoneless", "2025-03-01 10:00:00", ""));
  Write("zone/zone3.md", Doc("zoned", "2025-03-01T10:00:00+08:00", ""));
  CommandResult r = Ctl({"apply", "-f", files_.path() + "/zone",
                         "--default-zone", "Asia/Shangai"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("--default-zone: unknown time zone \"Asia/Shangai\""));
  for (const char* id : {"zone1", "zone2", "zone3"}) {
    EXPECT_EQ(Ctl({"get", id, "--all"}).exit_code, 1) << id;
  }
  r = Ctl({"apply", "-f", files_.path() + "/zone", "--default-zone",
           "Asia/Shanghai"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliTest, MissingTitleIsInvalidArgumentNamingTitle) {
  const std::string file =
      Write("nt1.md", "---\ndate: 2024-01-01\ntags: [ant]\n---\nbody\n");
  CommandResult r = Ctl({"apply", "-f", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("nt1.md: error: INVALID_ARGUMENT: "));
  EXPECT_THAT(r.err, HasSubstr("title"));
  EXPECT_EQ(Ctl({"get", "nt1"}).exit_code, 1);
}

// apply's summary counts what was applied: a run whose one file failed
// said `applied 1 file: ... 1 failed`.
TEST_F(CliTest, ApplySummaryCountsOnlyTheFilesApplied) {
  const std::string bad =
      Write("asum/as-bad.md", "---\ntitle: [\n---\n\nbody\n");
  const std::string good =
      Write("asum/as-good.md", Doc("good", "2024-06-01", "aas"));
  CommandResult r = Ctl({"apply", "-f", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "applied 0 of 1 file: 0 created, 0 updated, 0 unchanged, 1 "
            "failed\n");
  r = Ctl({"apply", "-f", bad, "-f", good});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("articles/as-good created (revision 1)\n"
                               "applied 1 of 2 files: 1 created, 0 updated, 0 "
                               "unchanged, 1 failed\n"));
  r = Ctl({"apply", "-f", bad, "--dry-run", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(Lines(r.err).size(), 2u) << r.err;
  const auto summary = ParseJson<google::protobuf::Struct>(Lines(r.err)[1]);
  EXPECT_EQ(summary.fields().at("message").string_value(),
            "dry run, nothing written: applied 0 of 1 file: 0 created, 0 "
            "updated, 0 unchanged, 1 failed");
  // With none failed the summary is as ever.
  EXPECT_EQ(CtlOk({"apply", "-f", good}),
            "articles/as-good unchanged (revision 1)\n"
            "applied 1 file: 0 created, 0 updated, 1 unchanged, 0 failed\n");
}

// More of such local failures: ApplyInputThatCannotBeReadIsALocalError.
TEST_F(CliTest, ApplyMissingPathFails) {
  CommandResult r = Ctl({"apply", "-f", files_.path() + "/nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: reading " + files_.path() +
                       "/nope: No such file or directory\n");
}

// ---- get, export ------------------------------------------------------------

TEST_F(CliTest, GetInEveryFormat) {
  const std::string file =
      Write("g1.md", Doc("动力电池回收", "2024-07-03 09:15:00", "ag, ev",
                         "lang: zh-CN\ncategories: [tech]\n"));
  CtlOk({"apply", "-f", file});

  v1::Article a = ParseJson<v1::Article>(CtlOk({"get", "g1", "-o", "json"}));
  EXPECT_EQ(a.name(), "articles/g1");
  EXPECT_EQ(a.title(), "动力电池回收");
  EXPECT_EQ(a.revision(), 1);
  EXPECT_THAT(a.tags(), ElementsAre("ag", "ev"));
  // The same through the full name, with global flags before the verb.
  a = ParseJson<v1::Article>(CtlOk({"-o", "json", "get", "articles/g1"}));
  EXPECT_EQ(a.title(), "动力电池回收");

  const std::string yaml = CtlOk({"get", "g1", "-o", "yaml"});
  EXPECT_THAT(yaml, HasSubstr("title: 动力电池回收\n"));
  EXPECT_THAT(yaml, HasSubstr("name: articles/g1\n"));
  EXPECT_THAT(yaml, HasSubstr("revision: \"1\"\n"));

  const std::string table = CtlOk({"get", "g1"});
  EXPECT_THAT(table, HasSubstr("Name:          articles/g1\n"));
  EXPECT_THAT(table, HasSubstr("Title:         动力电池回收\n"));
  EXPECT_THAT(table, HasSubstr("Revision:      1\n"));
  EXPECT_THAT(table, HasSubstr("Date:          2024-07-03T09:15:00Z\n"));
  EXPECT_THAT(table, HasSubstr("Tags:          ag, ev\n"));
  EXPECT_THAT(table, HasSubstr("Deleted:       no\n"));
  EXPECT_THAT(table, Not(HasSubstr("Body text")));

  const std::string md = CtlOk({"get", "g1", "-o", "markdown"});
  EXPECT_THAT(md, StartsWith("---\n"));
  EXPECT_THAT(md, HasSubstr("Body text"));

  // Years before 1000 keep four digits (they printed as "99-05-01...").
  CtlOk({"apply", "-f",
         Write("g2.md", Doc("Old", "0099-05-01T10:00:00Z", "ag"))});
  EXPECT_THAT(CtlOk({"get", "g2"}),
              HasSubstr("Date:          0099-05-01T10:00:00Z\n"));
}

// proto3 JSON leaves out empty lists and zeros, so an empty result printed
// `{}`: `jq '.articles[]'` failed ("Cannot iterate over null") and
// `.totalSize` was null. Empty lists print as `[]`, with the other fields.
TEST_F(CliTest, EmptyResultsKeepTheirKeysInJsonAndYaml) {
  for (const char* format : {"json", "yaml"}) {
    SCOPED_TRACE(format);
    YAML::Node n = YAML::Load(
        CtlOk({"query", "--tag", "empty-result-none", "-o", format}));
    ASSERT_TRUE(n["articles"].IsSequence()) << n;
    EXPECT_EQ(n["articles"].size(), 0u);
    EXPECT_EQ(n["totalSize"].as<std::string>(), "0");
    for (const char* verb : {"tags", "categories"}) {
      n = YAML::Load(
          CtlOk({verb, "--prefix", "empty-result-none", "-o", format}));
      ASSERT_TRUE(n[verb].IsSequence()) << verb << ": " << n;
      EXPECT_EQ(n[verb].size(), 0u);
    }
  }
  // A diff of two revisions with the same content: no field changes.
  CtlOk({"apply", "-f", Write("empty1.md", Doc("Empty", "", ""))});
  CtlOk({"delete", "empty1"});
  CtlOk({"undelete", "empty1"});
  YAML::Node n = YAML::Load(CtlOk({"diff", "empty1", "1", "3", "-o", "json"}));
  ASSERT_TRUE(n["fieldChanges"].IsSequence()) << n;
  EXPECT_EQ(n["fieldChanges"].size(), 0u);
  EXPECT_EQ(n["bodyDiff"].as<std::string>(), "");

  // Admin responses print their zeros: no problems is `0`, not no key.
  n = YAML::Load(CtlOk({"admin", "fsck", "-o", "json"}));
  EXPECT_EQ(n["problemCount"].as<std::string>(), "0") << n;
  ASSERT_TRUE(n["problems"].IsSequence()) << n;
  EXPECT_EQ(n["problems"].size(), 0u);
  n = YAML::Load(CtlOk({"admin", "compact", "-o", "yaml"}));
  EXPECT_EQ(n["articlesPurged"].as<std::string>(), "0") << n;
}

// Every -o json output is indented two spaces a level, as kubectl and
// etcdctl indent theirs: the API's messages were printed with protobuf's
// one space while apply's results and version used two, and `get A B`
// nested one-space objects in a two-space list.
TEST_F(CliTest, JsonOutputIsIndentedTwoSpacesALevel) {
  const std::string a =
      Write("indent/indent-a.md", Doc("Indent A", "2024-01-01", "aindent, b"));
  const std::string b =
      Write("indent/indent-b.md", Doc("Indent B", "2024-01-02", "aindent"));
  CommandResult applied = Ctl({"apply", "-f", a, "-f", b, "-o", "json"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  WriteFile(a, Doc("Indent A, again", "2024-01-01", "aindent, b"));
  CtlOk({"apply", "-f", a});
  // Each line indented by two spaces for each list or object it is in.
  const auto expect_two_spaces = [](const std::string& json,
                                    const std::string& what) {
    SCOPED_TRACE(what);
    ASSERT_THAT(json, StartsWith("{\n  \""));
    int depth = 0;
    for (const std::string& line : Lines(json)) {
      const size_t indent = line.find_first_not_of(' ');
      ASSERT_NE(indent, std::string::npos) << json;
      if (line[indent] == '}' || line[indent] == ']') --depth;
      EXPECT_EQ(indent, 2u * depth) << line << "\n" << json;
      if (line.back() == '{' || line.back() == '[') ++depth;
    }
    EXPECT_EQ(depth, 0) << json;
  };
  // `[` opens apply's results and `get A B`'s list: the same check inside.
  const auto as_object = [](const std::string& list) {
    return "{\n  \"list\": " +
           absl::StrReplaceAll(list.substr(0, list.size() - 1),
                               {{"\n", "\n  "}}) +
           "\n}\n";
  };
  expect_two_spaces(as_object(applied.out), "apply");
  expect_two_spaces(CtlOk({"get", "indent-a", "-o", "json"}), "get");
  expect_two_spaces(
      as_object(CtlOk({"get", "indent-a", "indent-b", "-o", "json"})),
      "get A B");
  expect_two_spaces(
      CtlOk({"query", "--tag", "aindent", "--facets", "tags", "-o", "json"}),
      "query");
  expect_two_spaces(CtlOk({"tags", "--prefix", "aindent", "-o", "json"}),
                    "tags");
  expect_two_spaces(CtlOk({"history", "indent-a", "-o", "json"}), "history");
  expect_two_spaces(CtlOk({"diff", "indent-a", "-o", "json"}), "diff");
  expect_two_spaces(CtlOk({"admin", "stats", "-o", "json"}), "admin stats");
  expect_two_spaces(CtlOk({"version", "-o", "json"}), "version");
  EXPECT_THAT(
      CtlOk({"get", "indent-a", "-o", "json"}),
      HasSubstr("\n  \"tags\": [\n    \"aindent\",\n    \"b\"\n  ],\n"));
}

// `--limit 0` is the API's page_size 0, the server's default page (20
// here), as it always was; now --help and the README say so, and what a
// size past the server's max does.
TEST_F(CliTest, LimitZeroIsTheServersDefaultPageAndHelpSaysSo) {
  for (int i = 0; i < 21; ++i) {
    Write(absl::StrFormat("limit0/limit0-%02d.md", i),
          Doc(absl::StrCat("Limit ", i), "2024-01-01",
              absl::StrFormat("alimit0, alimit0-%02d", i)));
  }
  CtlOk({"apply", "-f", files_.path() + "/limit0"});
  const v1::QueryArticlesResponse page =
      Query({"--tag", "alimit0", "--limit", "0"});
  EXPECT_EQ(page.articles_size(), 20);
  EXPECT_FALSE(page.next_page_token().empty());
  const auto tags = ParseJson<v1::ListTagsResponse>(
      CtlOk({"tags", "--prefix", "alimit0-", "--limit", "0", "-o", "json"}));
  EXPECT_EQ(tags.tags_size(), 20);
  EXPECT_FALSE(tags.next_page_token().empty());
  const std::string rule =
      "0: the server's default (20 unless configured); more than the "
      "server's max (1000 unless configured) gets the max";
  for (const char* verb : {"query", "history", "tags", "categories"}) {
    SCOPED_TRACE(verb);
    std::string help = CtlOk({verb, "--help"});
    // The description as one line, whatever its wrapping.
    const size_t at = help.find("  --limit INT");
    ASSERT_NE(at, std::string::npos) << help;
    std::string text = help.substr(at, help.find("--page-token", at) - at);
    while (text.find("  ") != std::string::npos) {
      text = absl::StrReplaceAll(text, {{"\n", " "}, {"  ", " "}});
    }
    EXPECT_THAT(text, HasSubstr(rule)) << help;
  }
}

TEST_F(CliTest, GetMissingIsNotFound) {
  CommandResult r = Ctl({"get", "no-such-article"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: NOT_FOUND: "));
  EXPECT_THAT(r.err, HasSubstr("articles/no-such-article"));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(CliTest, ExportedMarkdownAppliesUnchanged) {
  const std::string file =
      Write("x1.md", Doc("導出測試 export", "2025-02-08 19:34:12", "ax, ai",
                         "lang: zh-CN\nsummary: \"摘要\"\ncomments: false\n"
                         "custom_key: [1, 2]\n"));
  CtlOk({"apply", "-f", file});
  const std::string exported = CtlOk({"export", "x1"});
  EXPECT_THAT(exported, StartsWith("---\n"));
  const std::string out_file = Write("exported/x1.md", exported);
  EXPECT_THAT(CtlOk({"apply", "-f", out_file}),
              HasSubstr("articles/x1 unchanged (revision 1)"));

  // A fixture from samples/, exported after a round trip, is unchanged too.
  const std::string sample =
      content::testing::SourceDir() + "/samples/deepseek-brokers.md";
  ASSERT_TRUE(fs::exists(sample)) << sample;
  CtlOk({"apply", "-f", sample});
  const std::string exported_sample = CtlOk({"export", "deepseek-brokers"});
  EXPECT_EQ(exported_sample, content::testing::ReadFile(sample));
  const std::string again =
      Write("exported/deepseek-brokers.md", exported_sample);
  EXPECT_THAT(CtlOk({"apply", "-f", again}),
              HasSubstr("articles/deepseek-brokers unchanged (revision 1)"));
}

// Articles created through the API have no style. Exported, each file is in
// the layout written for no style, and applied it must read back as the
// same content: the reader recorded the file's key order and date layout as
// a style, so every article got a new revision (and a watch event) on the
// first apply of an export.
TEST_F(CliTest, ExportOfArticlesFromTheApiAppliesUnchanged) {
  ClientOptions options;
  options.target = server_->address();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto timestamp = [](int64_t seconds, int32_t nanos = 0) {
    google::protobuf::Timestamp t;
    t.set_seconds(seconds);
    t.set_nanos(nanos);
    return t;
  };
  std::vector<v1::Article> articles(5);
  // Typed fields, lists of one entry, a date with a fraction of a second.
  articles[0].set_title("API 文章 one");
  articles[0].set_summary("摘要");
  *articles[0].mutable_date() = timestamp(1738985652, 250000000);
  articles[0].add_categories("news");
  articles[0].add_lang("zh-CN");
  articles[0].add_translations("en");
  articles[0].add_tags("api-export");
  articles[0].add_tags("café");
  articles[0].set_comments(false);
  articles[0].set_toc(true);
  articles[0].set_sidebar("right");
  articles[0].add_widgets("recent");
  articles[0].set_body("Body.\n");
  // Params of every shape, some named like typed or editorial keys (written
  // in a `params:` mapping), a string under a theme key, a big integer.
  articles[1].set_title("API params");
  articles[1].add_tags("api-export");
  google::protobuf::Struct* params = articles[1].mutable_params();
  auto& fields = *params->mutable_fields();
  fields["weight"].set_number_value(10);
  fields["ratio"].set_number_value(0.5);
  fields["flag"].set_bool_value(true);
  fields["nothing"].set_null_value(google::protobuf::NULL_VALUE);
  fields["order"].set_string_value("12345678901234567890");
  fields["title"].set_string_value("a param named title");
  fields["draft"].set_bool_value(false);
  fields["sidebar"].set_string_value("left");
  auto& menu = *fields["menu"].mutable_struct_value()->mutable_fields();
  auto& main = *menu["main"].mutable_struct_value()->mutable_fields();
  main["weight"].set_number_value(2);
  main["parent"].set_string_value("docs");
  auto* people = fields["people"].mutable_list_value();
  people->add_values()->set_string_value("ann");
  (*people->add_values()->mutable_struct_value()->mutable_fields())["name"]
      .set_string_value("bob");
  articles[1].set_body("");
  // Editorial fields: a draft with publish and expiry times, in other
  // seconds than the date.
  articles[2].set_title("API draft");
  articles[2].add_tags("api-export");
  *articles[2].mutable_date() = timestamp(1738972800);
  articles[2].set_state(v1::Article::DRAFT);
  *articles[2].mutable_publish_time() = timestamp(4102444800);
  *articles[2].mutable_expiry_time() = timestamp(4133980799, 999000000);
  articles[2].set_translation_key("launch");
  articles[2].add_lang("en");
  articles[2].add_lang("zh-CN");
  articles[2].set_body("# Heading\n\nText.\n");
  // Archived, with no date.
  articles[3].set_title("API archived");
  articles[3].add_tags("api-export");
  articles[3].set_state(v1::Article::ARCHIVED);
  articles[3].set_body("gone\n");
  // Published, as `contentctl publish` leaves an article.
  articles[4].set_title("API published");
  articles[4].add_tags("api-export");
  articles[4].set_state(v1::Article::PUBLISHED);
  *articles[4].mutable_date() = timestamp(1700000000);
  for (size_t i = 0; i < articles.size(); ++i) {
    v1::CreateArticleRequest create;
    create.set_article_id(absl::StrCat("api", i));
    *create.mutable_article() = articles[i];
    absl::StatusOr<v1::Article> created = (*client)->CreateArticle(create);
    ASSERT_TRUE(created.ok()) << i << ": " << created.status();
    ASSERT_FALSE(created->has_style()) << i;
  }

  const std::string dir = files_.path() + "/api-export";
  CtlOk({"export", "--dir", dir, "--tag", "api-export"});
  CommandResult r = Ctl({"apply", "-f", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Lines(r.out),
              ElementsAre("articles/api0 unchanged (revision 1)",
                          "articles/api1 unchanged (revision 1)",
                          "articles/api2 unchanged (revision 1)",
                          "articles/api3 unchanged (revision 1)",
                          "articles/api4 unchanged (revision 1)",
                          "applied 5 files: 0 created, 0 updated, "
                          "5 unchanged, 0 failed"));
  for (size_t i = 0; i < articles.size(); ++i) {
    v1::GetArticleRequest get;
    get.set_name(absl::StrCat("articles/api", i));
    get.set_visibility(v1::VISIBILITY_ALL);
    absl::StatusOr<v1::Article> head = (*client)->GetArticle(get);
    ASSERT_TRUE(head.ok()) << i << ": " << head.status();
    EXPECT_EQ(head->revision(), 1) << i;
    EXPECT_FALSE(head->has_style()) << i;
  }
}

// Front matter a Hugo site reads by type came back with other types:
// `sidebar: false` as the string "false" (true to a template), a scalar
// `categories` as a list, keys inside params sorted, an integer past 2^53
// quoted. Applied and exported, the file comes back as it was.
TEST_F(CliTest, ExportKeepsFrontMatterTypesAndOrder) {
  const std::string text =
      "---\n"
      "title: \"Fidelity\"\n"
      "categories: \"news\"\n"
      "sidebar: false\n"
      "menu:\n"
      "  main:\n"
      "    weight: 10\n"
      "    parent: \"docs\"\n"
      "order: 12345678901234567890\n"
      "---\n"
      "\nBody.\n";
  const std::string file = Write("fid1.md", text);
  CtlOk({"apply", "-f", file});
  EXPECT_EQ(CtlOk({"export", "fid1"}), text);
  EXPECT_EQ(CtlOk({"get", "fid1", "-o", "markdown"}), text);
  const v1::Article a = GetJson("fid1");
  EXPECT_EQ(a.sidebar(), "");
  EXPECT_EQ(a.params().fields().at("sidebar").kind_case(),
            google::protobuf::Value::kBoolValue);
  EXPECT_THAT(a.categories(), ElementsAre("news"));
  EXPECT_THAT(CtlOk({"apply", "-f", file}),
              HasSubstr("articles/fid1 unchanged (revision 1)"));
}

// Params named like keys the reader maps to fields (as the API may set
// them, beside the fields) are exported in a `params:` mapping and come
// back as params, the fields as they were: summary came back in the field
// (a list failed to parse), title, id and the rest were dropped or moved.
TEST_F(CliTest, ParamsNamedLikeFieldsExportInAParamsMapping) {
  const std::string text =
      "---\n"
      "title: \"Shadows\"\n"
      "summary: \"The summary\"\n"
      "toc: false\n"
      "params:\n"
      "  summary:\n"
      "    - \"a\"\n"
      "  title: \"param title\"\n"
      "  id: \"not-the-id\"\n"
      "  toc: \"yes\"\n"
      "  draft: false\n"
      "---\n"
      "\nBody.\n";
  const std::string file = Write("pshadow1.md", text);
  CtlOk({"apply", "-f", file});
  EXPECT_EQ(CtlOk({"export", "pshadow1"}), text);
  const v1::Article a = GetJson("pshadow1");
  EXPECT_EQ(a.title(), "Shadows");
  EXPECT_EQ(a.summary(), "The summary");
  EXPECT_EQ(a.state(), v1::Article::STATE_UNSPECIFIED);
  EXPECT_FALSE(a.toc());
  const auto& f = a.params().fields();
  ASSERT_EQ(f.size(), 5u) << a.DebugString();
  EXPECT_EQ(f.at("summary").list_value().values(0).string_value(), "a");
  EXPECT_EQ(f.at("title").string_value(), "param title");
  EXPECT_EQ(f.at("id").string_value(), "not-the-id");
  EXPECT_EQ(f.at("toc").string_value(), "yes");
  EXPECT_FALSE(f.at("draft").bool_value());
  EXPECT_THAT(CtlOk({"apply", "-f", file}),
              HasSubstr("articles/pshadow1 unchanged (revision 1)"));
}

// publishDate and expiryDate keep their own offsets (and a zoneless one its
// default zone): they were exported in `date`'s zone, the same instant in
// other text, so the export differed from the file.
TEST_F(CliTest, ExportKeepsEachDateKeysZone) {
  const std::string text =
      "---\n"
      "title: \"Zones\"\n"
      "date: \"2025-02-08T19:34:12+08:00\"\n"
      "publishDate: \"2025-02-10T08:00:00-05:00\"\n"
      "expiryDate: \"2099-01-01 00:00:00\"\n"
      "---\n"
      "\nBody.\n";
  const std::string file = Write("dz1.md", text);
  CtlOk({"apply", "-f", file, "--default-zone", "Asia/Shanghai"});
  EXPECT_EQ(CtlOk({"export", "dz1"}), text);
  EXPECT_EQ(CtlOk({"get", "dz1", "-o", "markdown"}), text);
  const v1::Article a = GetJson("dz1");
  EXPECT_EQ(a.style().date_zone(), "+08:00");
  EXPECT_EQ(a.style().publish_date_zone(), "-05:00");
  EXPECT_EQ(a.style().expiry_date_zone(), "Asia/Shanghai");
  EXPECT_EQ(a.publish_time().seconds(), 1739192400);  // 2025-02-10T13:00Z
  EXPECT_EQ(a.expiry_time().seconds(), 4070880000);   // 2098-12-31T16:00Z
  EXPECT_THAT(Ctl({"apply", "-f", file, "--default-zone", "Asia/Shanghai"}).out,
              HasSubstr("articles/dz1 unchanged (revision 1)"));
  const std::string exported =
      Write("exported/dz1.md", CtlOk({"export", "dz1"}));
  EXPECT_THAT(
      Ctl({"apply", "-f", exported, "--default-zone", "Asia/Shanghai"}).out,
      HasSubstr("articles/dz1 unchanged (revision 1)"));
}

// `2025-01-01 10:00`, the space form without seconds, was refused while the
// T form took it. Both are read in --default-zone and exported as written;
// the date flags take both too.
TEST_F(CliTest, SpaceFormDateWithoutSecondsAppliesAndExportsAsWritten) {
  const std::string text = Doc("Minutes", "2025-01-01 10:00", "amin",
                               "publishDate: \"2025-01-01 09:30\"\n");
  const std::string file = Write("min1.md", text);
  CommandResult r =
      Ctl({"apply", "-f", file, "--default-zone", "Asia/Shanghai"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string exported = CtlOk({"export", "min1"});
  EXPECT_THAT(exported, HasSubstr("\ndate: \"2025-01-01 10:00\"\n"));
  EXPECT_THAT(exported, HasSubstr("\npublishDate: \"2025-01-01 09:30\"\n"));
  const v1::Article a = GetJson("min1");
  EXPECT_EQ(a.date().seconds(), 1735696800);  // 2025-01-01T02:00:00Z
  EXPECT_EQ(a.style().date_layout(),
            v1::FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES);
  EXPECT_EQ(a.style().date_zone(), "Asia/Shanghai");
  EXPECT_THAT(Ctl({"apply", "-f", file, "--default-zone", "Asia/Shanghai"}).out,
              HasSubstr("articles/min1 unchanged (revision 1)"));

  for (const char* since : {"2025-01-01 02:00", "2025-01-01T02:00"}) {
    EXPECT_EQ(Names(Query({"--tag", "amin", "--since", since})),
              std::vector<std::string>{"articles/min1"})
        << since;
  }
  EXPECT_THAT(Names(Query({"--tag", "amin", "--since", "2025-01-01 02:01"})),
              IsEmpty());
}

// Zone-less dates are exported as written, in the article's
// style.dateZone. Where the exporting contentctl cannot load that zone (no
// tzdata, as in slim containers: TZDIR here) it fell back to UTC but still
// wrote a zone-less date, UTC wall time that the next apply read in the
// zone: 8 hours off. And a date on a day whose midnight DST skips came back
// with a time, so applying the export wrote a new revision.
TEST_F(CliTest, ExportWritesZonelessDatesOnlyWhereTheyReadBack) {
  const std::string shanghai =
      Write("zl1.md", Doc("Shanghai", "2025-03-01 10:00:00", "azl"));
  ASSERT_EQ(Ctl({"apply", "-f", shanghai, "--default-zone", "Asia/Shanghai"})
                .exit_code,
            0);
  const v1::Article a = GetJson("zl1");
  EXPECT_EQ(a.style().date_zone(), "Asia/Shanghai");
  EXPECT_THAT(CtlOk({"export", "zl1"}),
              HasSubstr("\ndate: \"2025-03-01 10:00:00\"\n"));

  TempDir no_tzdata;
  CommandResult r =
      Ctl({"export", "zl1"}, {"TZDIR=" + no_tzdata.path() + "/none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\ndate: \"2025-03-01T02:00:00Z\"\n"));
  // Applied again, in the article's zone, it is the same instant.
  const std::string exported = Write("exported/zl1.md", r.out);
  CtlOk({"apply", "-f", exported, "--default-zone", "Asia/Shanghai"});
  EXPECT_EQ(GetJson("zl1").date().seconds(), a.date().seconds());

  // 2025-03-09 in Havana starts at 01:00 (DST from midnight).
  const std::string havana =
      Write("zl2.md", Doc("Havana", "2025-03-09", "azl"));
  ASSERT_EQ(Ctl({"apply", "-f", havana, "--default-zone", "America/Havana"})
                .exit_code,
            0);
  r = Ctl({"export", "zl2"});
  EXPECT_THAT(r.out, HasSubstr("\ndate: \"2025-03-09\"\n"));
  const std::string exported2 = Write("exported/zl2.md", r.out);
  EXPECT_THAT(
      CtlOk({"apply", "-f", exported2, "--default-zone", "America/Havana"}),
      HasSubstr("articles/zl2 unchanged (revision 1)"));
}

// ---- query --------------------------------------------------------------

class CliQueryTest : public CliTest {
 protected:
  // Six articles tagged `aq` (besides their own tags).
  void ApplyCorpus() {
    Write("q/q1.md", Doc("Q one", "2024-01-01", "aq, red",
                         "lang: en\ncategories: [news]\n"));
    Write("q/q2.md", Doc("Q two 第二", "2024-03-01", "aq, red, blue",
                         "lang: zh-CN\ncategories: [tech]\n"));
    Write("q/q3.md", Doc("Q three 第三", "2024-06-01", "aq, blue",
                         "lang: zh-CN\ncategories: [news, tech]\n"));
    Write("q/q4.md", Doc("Q four", "2024-09-01 12:00:00", "aq, red, blue",
                         "lang: [en, zh-CN]\ncategories: [finance]\n"));
    Write("q/q5.md", Doc("Q five", "2025-01-01T08:00:00+08:00", "aq",
                         "lang: en\ncategories: [finance]\n"));
    Write("q/q6.md", Doc("Q six", "2025-02-01", "aq, green",
                         "lang: ja\ncategories: [news]\n"));
    CtlOk({"apply", "-f", files_.path() + "/q"});
  }
};

TEST_F(CliQueryTest, FiltersReturnExactlyTheExpectedArticles) {
  ApplyCorpus();
  EXPECT_THAT(Names(Query({"--tag", "aq"})),
              ElementsAre("articles/q6", "articles/q5", "articles/q4",
                          "articles/q3", "articles/q2", "articles/q1"));
  EXPECT_THAT(Names(Query({"--tag", "aq", "--oldest-first"})),
              ElementsAre("articles/q1", "articles/q2", "articles/q3",
                          "articles/q4", "articles/q5", "articles/q6"));
  // Any of the tags by default, every tag with --all-tags.
  EXPECT_THAT(
      Names(Query({"--tag", "red", "--tag", "green"})),
      ElementsAre("articles/q6", "articles/q4", "articles/q2", "articles/q1"));
  EXPECT_THAT(Names(Query({"--tag", "red", "--tag", "blue", "--all-tags"})),
              ElementsAre("articles/q4", "articles/q2"));
  EXPECT_THAT(Names(Query({"--tag", "aq", "--lang", "zh-CN"})),
              ElementsAre("articles/q4", "articles/q3", "articles/q2"));
  EXPECT_THAT(
      Names(Query({"--tag", "aq", "--lang", "ja", "--lang", "zh-CN"})),
      ElementsAre("articles/q6", "articles/q4", "articles/q3", "articles/q2"));
  EXPECT_THAT(Names(Query({"--tag", "aq", "--category", "finance"})),
              ElementsAre("articles/q5", "articles/q4"));
  EXPECT_THAT(
      Names(Query({"--tag", "aq", "--category", "tech", "--category", "news",
                   "--oldest-first"})),
      ElementsAre("articles/q1", "articles/q2", "articles/q3", "articles/q6"));
  // --since is inclusive, --until exclusive; three date layouts.
  EXPECT_THAT(Names(Query({"--tag", "aq", "--since", "2024-03-01", "--until",
                           "2024-09-01 12:00:00"})),
              ElementsAre("articles/q3", "articles/q2"));
  EXPECT_THAT(Names(Query({"--tag", "aq", "--since", "2024-09-01T12:00:00Z",
                           "--until", "2025-01-01T00:00:00Z"})),
              ElementsAre("articles/q4"));
  EXPECT_THAT(Names(Query({"--tag", "aq", "--since", "2024-09-01T12:00:00Z",
                           "--until", "2025-01-01T08:00:01+08:00"})),
              ElementsAre("articles/q5", "articles/q4"));
  EXPECT_THAT(Names(Query({"--tag", "aq", "--since", "2025-01-01"})),
              ElementsAre("articles/q6", "articles/q5"));
  EXPECT_THAT(Names(Query({"--tag", "no-such-tag-anywhere"})), IsEmpty());
}

TEST_F(CliQueryTest, LimitAndPageTokenWalkEveryPageOnce) {
  ApplyCorpus();
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    std::vector<std::string> args = {"--tag", "aq", "--limit", "2"};
    if (!token.empty()) {
      args.push_back("--page-token");
      args.push_back(token);
    }
    const v1::QueryArticlesResponse page = Query(args);
    EXPECT_LE(page.articles_size(), 2);
    for (const auto& a : page.articles()) seen.push_back(a.name());
    token = page.next_page_token();
    ASSERT_LT(++pages, 10) << "pagination does not end";
  } while (!token.empty());
  EXPECT_THAT(seen, ElementsAre("articles/q6", "articles/q5", "articles/q4",
                                "articles/q3", "articles/q2", "articles/q1"));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(),
            seen.size());

  // The table gives the total (the response's total_size) and hints the
  // next page on stderr; the total is exact when the first page holds the
  // whole result, an estimate otherwise.
  CommandResult r = Ctl({"query", "--tag", "aq", "--limit", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Lines(r.out).at(0), StartsWith("NAME"));
  EXPECT_EQ(Lines(r.out).size(), 3u) << r.out;
  const v1::QueryArticlesResponse first =
      Query({"--tag", "aq", "--limit", "2"});
  EXPECT_GE(first.total_size(), 6);
  EXPECT_EQ(r.err, absl::StrCat("total: about ", first.total_size(),
                                " articles (2 on this page)\n"
                                "next page: --page-token=",
                                first.next_page_token(), "\n"));
  r = Ctl({"query", "--tag", "aq", "--limit", "2", "--page-token",
           first.next_page_token()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, StartsWith("total: about "));
  EXPECT_THAT(r.err, HasSubstr(" articles (2 on this page)\nnext page: "));
  r = Ctl({"query", "--tag", "aq"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 7u) << r.out;
  EXPECT_EQ(r.err, "total: 6 articles\n");
  r = Ctl({"query", "--tag", "aq", "--limit", "2", "-o", "markdown"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, StartsWith("total: about "));
  // A text-only query of live articles has no estimate (its lists hold
  // drafts too): the server says one more than the page, the least it
  // knows, which "about 3" of a search that found 6 misread as a count.
  const v1::QueryArticlesResponse text = Query({"--text", "q", "--limit", "2"});
  ASSERT_EQ(text.articles_size(), 2);
  ASSERT_EQ(text.total_size(), 3);
  r = Ctl({"query", "--text", "q", "--limit", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, StartsWith("total: at least 3 articles (2 on this "
                                "page)\nnext page: "));
  // The last page of several knows the result: what the pages returned.
  // The estimate (the tag's 6) leaves out --since, and the last page said
  // `total: about 6 articles (1 on this page)` of a walk that returned 5.
  {
    const std::vector<std::string> since = {"--tag",      "aq",      "--since",
                                            "2024-03-01", "--limit", "2"};
    std::string last_token;
    v1::QueryArticlesResponse page = Query(since);
    for (int pages = 0; !page.next_page_token().empty() && pages < 10;
         ++pages) {
      last_token = page.next_page_token();
      std::vector<std::string> args = since;
      args.push_back("--page-token=" + last_token);
      page = Query(args);
    }
    ASSERT_FALSE(last_token.empty());
    EXPECT_EQ(page.total_size(), 5);
    std::vector<std::string> args = {"query"};
    args.insert(args.end(), since.begin(), since.end());
    args.push_back("--page-token=" + last_token);
    r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "total: 5 articles (1 on this page)\n");
    // Facets that counted the whole result give the exact total on the
    // first page too (the estimate said "about 6").
    args = {"query",   "--tag", "aq",       "--since", "2024-03-01",
            "--limit", "2",     "--facets", "lang"};
    r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err,
                StartsWith("total: 5 articles (2 on this page)\nnext page: "));
  }
  // JSON and YAML print the response alone.
  for (const char* format : {"json", "yaml"}) {
    r = Ctl({"query", "--tag", "aq", "--limit", "2", "-o", format});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "") << format;
  }
}

TEST_F(CliQueryTest, TableYamlAndMarkdown) {
  ApplyCorpus();
  CommandResult r = Ctl({"query", "--tag", "aq", "--lang", "zh-CN"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("NAME"));
  EXPECT_THAT(lines[0], HasSubstr("REV"));
  EXPECT_THAT(lines[0], HasSubstr("TITLE"));
  EXPECT_THAT(lines[2], StartsWith("articles/q3 "));
  EXPECT_THAT(lines[2], HasSubstr("Q three 第三"));
  EXPECT_EQ(r.err, "total: 3 articles\n");  // the whole result: exact

  const std::string yaml =
      CtlOk({"query", "--tag", "aq", "--lang", "ja", "-o", "yaml"});
  EXPECT_THAT(yaml, HasSubstr("articles:\n"));
  EXPECT_THAT(yaml, HasSubstr("title: Q six\n"));

  const std::string md =
      CtlOk({"query", "--tag", "aq", "--lang", "zh-CN", "-o", "markdown"});
  EXPECT_THAT(md, StartsWith("---\n"));
  EXPECT_THAT(md, HasSubstr("Body text.\n\n---\n"));

  // Facets go to stderr, the documents alone to stdout; documents without
  // bodies are refused.
  r = Ctl({"query", "--tag", "aq", "--lang", "zh-CN", "-o", "markdown",
           "--facets", "lang"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("---\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("FACET")));
  EXPECT_THAT(r.err, HasSubstr("FACET"));
  EXPECT_THAT(r.err, HasSubstr("zh-CN"));
  r = Ctl({"query", "--tag", "aq", "-o", "markdown", "--view", "basic"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--view basic: "));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(CliQueryTest, BadDateIsUsageError) {
  CommandResult r = Ctl({"query", "--since", "last tuesday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--since"));
}

// ---- history, delete, undelete -----------------------------------------

TEST_F(CliTest, HistoryListsRevisionsNewestFirst) {
  const std::string file = Write("h1.md", Doc("h v1", "2024-01-01", "ah"));
  CtlOk({"apply", "-f", file});
  Write("h1.md", Doc("h v2", "2024-01-01", "ah"));
  CtlOk({"apply", "-f", file});
  Write("h1.md", Doc("h v3", "2024-01-01", "ah"));
  CtlOk({"apply", "-f", file});

  const auto history = ParseJson<v1::ListArticleRevisionsResponse>(
      CtlOk({"history", "h1", "-o", "json"}));
  ASSERT_EQ(history.revisions_size(), 3);
  EXPECT_EQ(history.revisions(0).revision(), 3);
  EXPECT_EQ(history.revisions(0).title(), "h v3");
  EXPECT_EQ(history.revisions(1).revision(), 2);
  EXPECT_EQ(history.revisions(2).revision(), 1);
  EXPECT_EQ(history.revisions(2).title(), "h v1");

  const std::vector<std::string> table = Lines(CtlOk({"history", "h1"}));
  ASSERT_EQ(table.size(), 4u);
  EXPECT_THAT(table[0], StartsWith("REV"));
  EXPECT_THAT(table[0], HasSubstr("CONTENT-HASH"));
  EXPECT_THAT(table[1], StartsWith("3 "));
  EXPECT_THAT(table[1], HasSubstr(" live "));
  EXPECT_THAT(table[1],
              HasSubstr(history.revisions(0).content_hash().substr(0, 12)));
  EXPECT_THAT(table[3], StartsWith("1 "));

  // One page at a time.
  const auto page = ParseJson<v1::ListArticleRevisionsResponse>(
      CtlOk({"history", "articles/h1", "--limit", "2", "-o", "json"}));
  ASSERT_EQ(page.revisions_size(), 2);
  ASSERT_FALSE(page.next_page_token().empty());
  const auto rest = ParseJson<v1::ListArticleRevisionsResponse>(
      CtlOk({"history", "h1", "--limit", "2", "--page-token",
             page.next_page_token(), "-o", "json"}));
  ASSERT_EQ(rest.revisions_size(), 1);
  EXPECT_EQ(rest.revisions(0).revision(), 1);
}

// A page size over the server's max is lowered to it (AIP-158), so the
// CLI's default of 20 works against a server configured for fewer.
TEST(CliPageSizeTest, ServerMaxBelowTheCliDefaultLowersThePage) {
  TempDir dir;
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--max-page-size", "3"});
  ASSERT_NE(server, nullptr);
  for (int i = 1; i <= 4; ++i) {
    const std::string file = dir.path() + "/ps" + std::to_string(i) + ".md";
    WriteFile(file, Doc("ps " + std::to_string(i),
                        "2024-01-0" + std::to_string(i), "aps"));
    ASSERT_EQ(Ctl(*server, {"apply", "-f", file}).exit_code, 0);
  }
  const std::string file = dir.path() + "/ps1.md";
  for (int v = 2; v <= 4; ++v) {
    WriteFile(file, Doc("ps 1 v" + std::to_string(v), "2024-01-01", "aps"));
    ASSERT_EQ(Ctl(*server, {"apply", "-f", file}).exit_code, 0);
  }

  CommandResult r = Ctl(*server, {"query", "--tag", "aps"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 4u) << r.out;  // header + 3
  EXPECT_THAT(r.err, HasSubstr("(3 on this page)\nnext page: --page-token="));
  const auto page = ParseJson<v1::QueryArticlesResponse>(
      Ctl(*server, {"query", "--tag", "aps", "--limit", "1000", "-o", "json"})
          .out);
  EXPECT_EQ(page.articles_size(), 3);
  EXPECT_FALSE(page.next_page_token().empty());

  r = Ctl(*server, {"history", "ps1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 4u) << r.out;
  EXPECT_THAT(r.err, StartsWith("next page: --page-token="));

  // A negative limit is a usage error naming the flag.
  r = Ctl(*server, {"query", "--limit", "-1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--limit"));
}

TEST_F(CliTest, DeleteGetShowDeletedUndelete) {
  const std::string file =
      Write("del1.md", Doc("to delete", "2024-01-01", "adel"));
  CtlOk({"apply", "-f", file});

  CommandResult r = Ctl({"delete", "del1", "--expected-revision", "7"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: FAILED_PRECONDITION: "));

  EXPECT_EQ(CtlOk({"delete", "del1", "--expected-revision", "1"}),
            "articles/del1 deleted (revision 2)\n");
  r = Ctl({"get", "del1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: NOT_FOUND: "));
  const v1::Article tombstone = GetJson("del1", {"--show-deleted"});
  EXPECT_EQ(tombstone.revision(), 2);
  EXPECT_TRUE(tombstone.has_delete_time());
  EXPECT_THAT(CtlOk({"get", "del1", "--show-deleted"}),
              HasSubstr("Deleted:       yes ("));

  // A deleted article is not applied over; its query results are gone.
  r = Ctl({"apply", "-f", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("del1.md: error: NOT_FOUND: "));
  EXPECT_THAT(r.err, HasSubstr("undelete"));
  EXPECT_THAT(Names(Query({"--tag", "adel"})), IsEmpty());
  EXPECT_THAT(Names(Query({"--tag", "adel", "--include-deleted"})),
              ElementsAre("articles/del1"));

  const v1::Article restored = ParseJson<v1::Article>(
      CtlOk({"undelete", "articles/del1", "-o", "json"}));
  EXPECT_EQ(restored.revision(), 3);
  EXPECT_FALSE(restored.has_delete_time());
  EXPECT_EQ(GetJson("del1").title(), "to delete");
  EXPECT_THAT(CtlOk({"apply", "-f", file}),
              HasSubstr("articles/del1 unchanged (revision 3)"));

  r = Ctl({"undelete", "del1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: FAILED_PRECONDITION: "));
}

// Revision 0 is no revision: given as a precondition it used to be sent as
// "none" and every write went through unconditionally; given to get,
// export or diff it silently meant the head. Each is a usage error naming
// the flag, and nothing is written; left out, there is no precondition.
TEST_F(CliTest, RevisionZeroIsUsageErrorNotNoPrecondition) {
  const std::string file = Write("rz1.md", Doc("v1", "2024-01-01", "arz"));
  CtlOk({"apply", "-f", file});
  Write("rz1.md", Doc("v2", "2024-01-01", "arz"));
  for (std::vector<std::string> args :
       {std::vector<std::string>{"apply", "-f", file, "--expected-revision",
                                 "0"},
        {"delete", "rz1", "--expected-revision", "0"},
        {"undelete", "rz1", "--expected-revision", "0"},
        {"restore", "rz1", "1", "--expected-revision", "0"},
        {"get", "rz1", "--revision", "0"},
        {"export", "rz1", "--revision", "0"}}) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << r.out;
    EXPECT_THAT(r.err,
                HasSubstr(args[args.size() - 2] + ": must be at least 1"))
        << ::testing::PrintToString(args);
    EXPECT_THAT(r.out, IsEmpty()) << ::testing::PrintToString(args);
  }
  for (std::vector<std::string> args :
       {std::vector<std::string>{"diff", "rz1", "0", "1"},
        {"diff", "rz1", "1", "0"},
        {"restore", "rz1", "0"}}) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << r.out;
    EXPECT_THAT(r.err, HasSubstr("must be at least 1"))
        << ::testing::PrintToString(args);
    EXPECT_THAT(r.out, IsEmpty()) << ::testing::PrintToString(args);
  }
  const v1::Article head = GetJson("rz1");
  EXPECT_EQ(head.revision(), 1);
  EXPECT_EQ(head.title(), "v1");
  // Left out, a write has no precondition.
  EXPECT_THAT(CtlOk({"apply", "-f", file}),
              HasSubstr("articles/rz1 updated (revision 2)"));
  EXPECT_EQ(CtlOk({"delete", "rz1"}), "articles/rz1 deleted (revision 3)\n");
}

// CLI11 alone reads integers with strtoll base 0: `--revision 010` was
// revision 8, `--limit 010` a page of 8, `09` no number at all. Every
// integer flag and positional reads decimal (leading zeros too, as
// zero-padded numbers from scripts have them) and refuses any other base.
TEST_F(CliTest, IntegerFlagsAreDecimal) {
  // Twelve articles tagged `adec`, each with its own tag and category, and
  // one of them at revision 11.
  for (int i = 1; i <= 12; ++i) {
    Write(absl::StrCat("dec/dec", i, ".md"),
          Doc(absl::StrCat("dec ", i), absl::StrFormat("2024-01-%02d", i),
              absl::StrCat("adec, adec-t", i),
              absl::StrCat("categories: [adec-c", i, "]\n")));
  }
  CtlOk({"apply", "-f", files_.path() + "/dec"});
  const std::string file = files_.path() + "/dec/dec1.md";
  for (int v = 2; v <= 10; ++v) {
    Write("dec/dec1.md", Doc(absl::StrCat("dec 1 v", v), "2024-01-01",
                             "adec, adec-t1", "categories: [adec-c1]\n"));
    CtlOk({"apply", "-f", file});
  }
  Write("dec/dec1.md", Doc("dec 1 v11", "2024-01-01", "adec, adec-t1",
                           "categories: [adec-c1]\n"));
  EXPECT_THAT(CtlOk({"apply", "-f", file, "--expected-revision", "010"}),
              HasSubstr("articles/dec1 updated (revision 11)"));

  EXPECT_EQ(GetJson("dec1", {"--revision", "010"}).revision(), 10);
  EXPECT_THAT(CtlOk({"export", "dec1", "--revision", "010"}),
              HasSubstr("title: \"dec 1 v10\"\n"));
  EXPECT_EQ(ParseJson<v1::ListArticleRevisionsResponse>(
                CtlOk({"history", "dec1", "--limit", "010", "-o", "json"}))
                .revisions_size(),
            10);
  const auto diff = ParseJson<v1::DiffArticleRevisionsResponse>(
      CtlOk({"diff", "dec1", "09", "010", "-o", "json"}));
  EXPECT_EQ(diff.from_revision(), 9);
  EXPECT_EQ(diff.to_revision(), 10);
  const v1::QueryArticlesResponse page =
      Query({"--tag", "adec", "--limit", "010", "--facets", "categories",
             "--facet-limit", "010"});
  EXPECT_EQ(page.articles_size(), 10);
  ASSERT_EQ(page.facets_size(), 1);
  EXPECT_EQ(page.facets(0).values_size(), 10);
  EXPECT_EQ(
      ParseJson<v1::ListTagsResponse>(
          CtlOk({"tags", "--prefix", "adec-t", "--limit", "010", "-o", "json"}))
          .tags_size(),
      10);
  EXPECT_EQ(ParseJson<v1::ListCategoriesResponse>(
                CtlOk({"categories", "--prefix", "adec-c", "--limit", "010",
                       "-o", "json"}))
                .categories_size(),
            10);
  EXPECT_EQ(Lines(CtlOk({"watch", "--tag", "adec", "--count", "010"})).size(),
            10u);
  const std::vector<std::string> after =
      Lines(CtlOk({"watch", "--after", "010", "--count", "1"}));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_THAT(after[0], StartsWith("11 "));
  EXPECT_THAT(
      CtlOk({"restore", "dec1", "01", "--expected-revision", "011"}),
      HasSubstr("articles/dec1 restored from revision 1 (revision 12)"));
  EXPECT_THAT(CtlOk({"delete", "dec1", "--expected-revision", "012"}),
              HasSubstr("(revision 13)"));
  EXPECT_THAT(CtlOk({"undelete", "dec1", "--expected-revision", "013"}),
              HasSubstr("(revision 14)"));

  // Another base, an exponent or a fraction is a usage error naming the
  // flag, for every integer flag and positional.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"apply", "-f", file, "--expected-revision", "0x10"},
           {"get", "dec1", "--revision", "0x10"},
           {"export", "dec1", "--revision", "0x10"},
           {"query", "--limit", "0x10"},
           {"query", "--facet-limit", "1e3"},
           {"tags", "--limit", "0x10"},
           {"categories", "--limit", "1.5"},
           {"history", "dec1", "--limit", "0x10"},
           {"delete", "dec1", "--expected-revision", "0x10"},
           {"undelete", "dec1", "--expected-revision", "0x10"},
           {"diff", "dec1", "0x1", "2"},
           {"diff", "dec1", "1", "0x2"},
           {"restore", "dec1", "0x1"},
           {"restore", "dec1", "1", "--expected-revision", "0x10"},
           {"watch", "--after", "0x10", "--count", "1"},
           {"watch", "--count", "0x1"},
           // A '+' was read as nothing: `+5` was 5.
           {"get", "dec1", "--revision", "+10"},
           {"query", "--limit", "+5"},
           {"watch", "--after", "+1", "--count", "1"},
           {"diff", "dec1", "+1", "2"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_THAT(r.err, HasSubstr(": not a decimal integer: \""));
    EXPECT_THAT(r.out, IsEmpty());
  }
  EXPECT_EQ(GetJson("dec1").revision(), 14);
}

// A number past the flag's type was "not a number" (`--revision
// 9223372036854775808`), or CLI11's "Could not convert" (`--limit
// 3000000000`): it names the range, worded as contentd's flags are.
TEST_F(CliTest, OutOfRangeIntegersNameTheRange) {
  for (const auto& [args, error] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"get", "x", "--revision", "9223372036854775808"},
            "--revision: not in range 1 to 9223372036854775807, got "
            "9223372036854775808"},
           {{"export", "x", "--revision", "99999999999999999999"},
            "--revision: not in range 1 to 9223372036854775807, got "
            "99999999999999999999"},
           {{"query", "--limit", "3000000000"},
            "--limit: not in range 0 to 2147483647, got 3000000000"},
           {{"tags", "--limit", "0003000000000"},
            "--limit: not in range 0 to 2147483647, got 3000000000"},
           {{"watch", "--after", "9223372036854775808"},
            "--after: not in range 0 to 9223372036854775807, got "
            "9223372036854775808"},
           {{"diff", "x", "1", "9223372036854775808"},
            "REV2: not in range 1 to 9223372036854775807, got "
            "9223372036854775808"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, StartsWith(error + "\n"));
    EXPECT_THAT(r.out, IsEmpty());
  }
}

// `query --lang "en US"` printed "No articles found." and exited 0: a
// malformed language matched nothing. --lang (query, export --dir, watch)
// follows the server's rule for a query's langs and article.lang, named by
// the flag. Bounded by a timeout: a watch that took it would never stop.
TEST_F(CliTest, MalformedLangIsUsageError) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"query", "--lang", "en US"},
        {"query", "--lang", "en", "--lang", "zh-"},
        {"export", "--dir", files_.path() + "/lang-out", "--lang", "e"},
        {"watch", "--lang", "not a lang!"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    args.insert(args.begin(),
                {ContentctlBinary(), "--server", server_->address()});
    CommandResult r = RunCommand(args, "", {}, std::chrono::seconds(60));
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, StartsWith("--lang: must be a BCP 47 language tag: "));
    EXPECT_THAT(r.err, HasSubstr("got \"" + args.back() + "\""));
    EXPECT_THAT(r.out, IsEmpty());
  }
  EXPECT_FALSE(fs::exists(files_.path() + "/lang-out"));
  // Well-formed tags, POSIX locale names too, still query.
  CommandResult r = Ctl({"query", "--lang", "zh_CN", "--lang", "en-US"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A tombstone printed alone (`delete -o markdown`, `export --revision N`,
// `get --show-deleted -o markdown`) was a plain document with the content
// before the deletion: applied, it wrote that back as a live article. It
// opens with the `(deleted)` line the `-o markdown` stream gives it, and
// apply refuses a document so marked, alone or in a stream.
TEST_F(CliTest, TombstoneMarkdownIsMarkedAndApplyRefusesIt) {
  const std::string file =
      Write("tm1.md", Doc("before deletion", "2024-01-01", "atm"));
  CtlOk({"apply", "-f", file});
  const std::string live = CtlOk({"export", "tm1"});
  EXPECT_THAT(live, StartsWith("---\ntitle: "));  // a live one: unmarked

  const std::string deleted = CtlOk({"delete", "tm1", "-o", "markdown"});
  EXPECT_THAT(deleted,
              StartsWith("---\n# articles/tm1 revision 2 (deleted)\n"));
  EXPECT_THAT(deleted, HasSubstr("before deletion"));
  EXPECT_EQ(CtlOk({"export", "tm1", "--revision", "2"}), deleted);
  EXPECT_EQ(CtlOk({"get", "tm1", "--show-deleted", "-o", "markdown"}), deleted);
  EXPECT_EQ(CtlOk({"export", "tm1", "--revision", "1"}), live);

  // Brought back and edited, the article must not go back to the content
  // of its tombstone.
  CtlOk({"undelete", "tm1"});
  Write("tm1.md", Doc("after undelete", "2024-01-01", "atm"));
  CtlOk({"apply", "-f", file});  // revision 4
  const std::string tombstone = Write("copy.md", deleted);
  const std::string refused =
      "INVALID_ARGUMENT: articles/tm1 revision 2 is a deletion (marked "
      "\"(deleted)\"), which apply does not write: `contentctl delete tm1` "
      "deletes the article; to apply this content as a live article, remove "
      "the `# articles/` comment line\n";
  CommandResult r = Ctl({"apply", "-f", tombstone});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, absl::StrCat(tombstone, ": error: ", refused));
  r = CtlPiped(tombstone, {"apply", "-f", "-"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, absl::StrCat("<stdin>: error: ", refused));
  r = CtlPiped(tombstone, {"apply", "-f", "-", "--id", "tm1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, absl::StrCat("<stdin>: error: ", refused));
  v1::Article head = GetJson("tm1");
  EXPECT_EQ(head.revision(), 4);
  EXPECT_EQ(head.title(), "after undelete");

  // In a stream too (it applied the tombstone's content), the tombstone
  // fails and the live documents apply.
  CtlOk({"apply", "-f", Write("tm2.md", Doc("kept", "2024-01-02", "atm"))});
  CtlOk({"delete", "tm1"});  // revision 5
  const std::string stream = Write(
      "stream.md",
      CtlOk({"query", "--tag", "atm", "--include-deleted", "-o", "markdown"}));
  r = Ctl({"apply", "-f", stream, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("\"name\": \"articles/tm2\",\n    "
                               "\"result\": \"unchanged\""));
  EXPECT_THAT(r.out, HasSubstr("articles/tm1 revision 5 is a deletion"));
  EXPECT_THAT(r.err, HasSubstr("1 unchanged, 1 failed"));
  head = GetJson("tm1", {"--show-deleted"});
  EXPECT_EQ(head.revision(), 5);
  EXPECT_TRUE(head.has_delete_time());
}

// A deleted article's error says how to read its tombstone and how to
// bring it back, as kubectl's errors name the flag that would help.
TEST_F(CliTest, GetOfDeletedArticleHintsShowDeletedAndUndelete) {
  CtlOk({"apply", "-f", Write("gd1.md", Doc("gone", "2024-01-01", "agd"))});
  CtlOk({"delete", "gd1"});
  for (const char* id : {"gd1", "articles/gd1"}) {
    CommandResult r = Ctl({"get", id});
    EXPECT_EQ(r.exit_code, 1) << id;
    EXPECT_EQ(r.err,
              "Error: NOT_FOUND: articles/gd1 is deleted (revision 2) (use "
              "--show-deleted to read it, or `contentctl undelete gd1`)\n")
        << id;
    EXPECT_THAT(r.out, IsEmpty());
  }
  // A missing article has nothing to read or bring back: no hint.
  CommandResult r = Ctl({"get", "gd-never"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, Not(HasSubstr("--show-deleted")));
}

// `export ID` of a deleted article names the command that prints its last
// content (the tombstone's revision holds it) and the one that brings it
// back; following the hint prints that content.
TEST_F(CliTest, ExportOfDeletedArticleHintsItsRevisionAndUndelete) {
  CtlOk({"apply", "-f", Write("xd1.md", Doc("gone", "2024-01-01", "axd"))});
  CtlOk({"delete", "articles/xd1"});
  for (const char* id : {"xd1", "articles/xd1"}) {
    CommandResult r = Ctl({"export", id});
    EXPECT_EQ(r.exit_code, 1) << id;
    EXPECT_EQ(r.err,
              "Error: NOT_FOUND: articles/xd1 is deleted (revision 2) "
              "(`contentctl export xd1 --revision 2` prints its last "
              "content, marked (deleted); `contentctl undelete xd1` brings "
              "it back)\n")
        << id;
    EXPECT_THAT(r.out, IsEmpty());
  }
  const std::string last = CtlOk({"export", "xd1", "--revision", "2"});
  EXPECT_THAT(last, HasSubstr("# articles/xd1 revision 2 (deleted)"));
  EXPECT_THAT(last, HasSubstr("gone"));
  EXPECT_THAT(last, HasSubstr("正文。Body text."));
  // A missing article has nothing to read or bring back: no hint.
  CommandResult r = Ctl({"export", "xd-never"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, Not(HasSubstr("--revision")));
}

// Every usage error ends with the same hint naming the help of the command
// given, whichever check found it: CLI11's said "Run with --help or
// --help-all", the unknown-flag check "Run `contentctl VERB --help`", and
// the rest (`--tag: must not be empty`) nothing.
TEST_F(CliTest, EveryUsageErrorEndsWithTheVerbsHelp) {
  for (const auto& [args, error, help] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"query", "--tag", ""}, "--tag: must not be empty", "query"},
           {{"watch", "--count", "0"},
            "--count: must be at least 1, got 0 (leave it out to watch until "
            "interrupted)",
            "watch"},
           {{"get", "x", "--bogus"}, "unknown flag \"--bogus\"", "get"},
           {{"get"},
            "missing ID: get takes one or more article ids, `x` or "
            "`articles/x` (contentctl get ID...); to list articles: contentctl "
            "query",
            "get"},
           {{"admin", "bogus"},
            "unknown admin command \"bogus\"; admin commands: backup, "
            "compact, fsck, stats, operations, health",
            "admin"},
           {{"admin", "fsck", "--repair"},
            "--repair: a repair runs only offline: stop contentd and run "
            "`contentd --data-dir DIR --check --repair` (on PostgreSQL, with "
            "every replica stopped: `contentd --check --repair "
            "--storage-engine postgres --storage-dsn DSN --storage-table "
            "TABLE`)",
            "admin fsck"},
           {{"tags", "-o", "markdown"},
            "--output: markdown not in {table,json,yaml}: tags prints tags "
            "and their counts, not documents",
            "tags"},
           // As every verb's missing ID (it said `export: give an ID, ...`).
           {{"export"},
            "missing ID: export takes an article id, `x` or `articles/x`, or "
            "--dir DIR to export many (contentctl export ID, or contentctl "
            "export --dir DIR)",
            "export"},
           {{"apply", "-f", "-", "-f", "-"},
            "-f -: standard input can be given once",
            "apply"}}) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_EQ(r.err, absl::StrCat(error, "\nRun `contentctl ", help,
                                  " --help` for more information.\n"))
        << ::testing::PrintToString(args);
    EXPECT_THAT(r.out, IsEmpty());
  }
  // No verb: contentctl's own help.
  CommandResult r = Ctl({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              EndsWith("\nRun `contentctl --help` for more information.\n"));
  // Help is no error: no hint.
  r = Ctl({"get", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_THAT(r.out, Not(HasSubstr("for more information")));
}

// `watch --count 0` watched for ever (0 was "no count"), which a script
// passing a computed count would not expect: it is a usage error, as the
// other flags' out-of-range values are. Bounded by a timeout so that a
// watch that never stops fails the test instead of hanging it.
TEST_F(CliTest, WatchCountZeroIsUsageError) {
  for (const char* count : {"0", "00", "-0"}) {
    CommandResult r =
        RunCommand({ContentctlBinary(), "--server", server_->address(), "watch",
                    "--count", count},
                   "", {}, std::chrono::seconds(60));
    EXPECT_FALSE(r.timed_out) << count;
    EXPECT_EQ(r.exit_code, 2) << count;
    EXPECT_EQ(r.err,
              "--count: must be at least 1, got 0 (leave it out to watch "
              "until interrupted)\nRun `contentctl watch --help` for more "
              "information.\n")
        << count;
    EXPECT_THAT(r.out, IsEmpty());
  }
}

// ---- usage, connection ------------------------------------------------------

TEST_F(CliTest, UsageErrorsExitTwo) {
  CommandResult r = Ctl({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("frobnicate"));
  EXPECT_EQ(Ctl({}).exit_code, 2);
  EXPECT_EQ(Ctl({"get"}).exit_code, 2);
  EXPECT_EQ(Ctl({"get", "x", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(Ctl({"get", "x", "-o", "xml"}).exit_code, 2);
  EXPECT_EQ(Ctl({"--timeout", "soon", "get", "x"}).exit_code, 2);
  EXPECT_EQ(Ctl({"apply"}).exit_code, 2);
  r = Ctl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("apply"));
}

TEST_F(CliTest, ConflictingFlagsAndBadPemAreUsageErrors) {
  // Rules the server states in API terms are named by their flags.
  CommandResult r = Ctl({"query", "--state", "draft"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--state draft: "));
  EXPECT_THAT(r.err, HasSubstr("needs --all"));
  r = Ctl({"query", "--since", "2025-02-01", "--until", "2025-01-01"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--until: must be after --since"));
  r = Ctl({"export", "--dir", files_.path() + "/out", "--since", "2025-02-01",
           "--until", "2025-02-01"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--until: must be after --since"));
  EXPECT_EQ(Ctl({"query", "--state", "draft", "--all", "-o", "json"}).exit_code,
            0);
  for (const char* flag : {"--tag", "--not-tag", "--category", "--lang"}) {
    r = Ctl({"query", flag, ""});
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_THAT(r.err, HasSubstr(std::string(flag) + ": must not be empty"));
  }
  r = Ctl({"watch", "--tag", ""});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--tag: must not be empty"));

  r = Ctl({"watch", "-o", "markdown"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--output: markdown not in {table,json,yaml}: "
                               "watch prints change events, not documents"));
  r = Ctl({"watch", "--after", "-5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--after: must not be negative, got -5"));
  r = Ctl({"watch", "--count", "-5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--count: must be at least 1, got -5"));
  // Sequences and counts are 64-bit: past 2^31 is not "not a number".
  r = Ctl({"watch", "--after", "3000000000", "--count", "3000000000", "-o",
           "markdown"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, Not(HasSubstr("not a number")));
  EXPECT_THAT(r.err, HasSubstr("--output: markdown not in"));
  r = Ctl({"query", "--limit", "3000000000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--limit"));
  r = Ctl({"watch", "--after", "5", "--from-now"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--from-now"));
  EXPECT_THAT(r.err, HasSubstr("--after"));
  // Filters select what --dir writes; with an ID they are an error, not
  // ignored.
  for (std::vector<std::string> flag : {std::vector<std::string>{"--tag", "x"},
                                        {"--all-tags"},
                                        {"--category", "c"},
                                        {"--lang", "en"},
                                        {"--not-tag", "y"},
                                        {"--since", "2025-01-01"},
                                        {"--until", "2025-01-01"}}) {
    std::vector<std::string> args = {"export", "some-id"};
    args.insert(args.end(), flag.begin(), flag.end());
    r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << flag[0];
    EXPECT_THAT(r.err, HasSubstr(flag[0] + ": applies only with --dir"));
  }
  // Rules of GetArticle and the writes, named by their flags.
  r = Ctl({"get", "x", "--fallback", "en"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--fallback: needs --lang"));
  r = Ctl({"get", "x", "--lang", "zh-CN", "--revision", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--revision: cannot be combined with --lang"));
  const std::string one = Write("neg.md", Doc("neg", "", ""));
  for (std::vector<std::string> args :
       {std::vector<std::string>{"get", "x", "--revision", "-1"},
        {"export", "x", "--revision", "-1"},
        {"query", "--facets", "tags", "--facet-limit", "-1"},
        {"apply", "-f", one, "--expected-revision", "-1"},
        {"delete", "x", "--expected-revision", "-1"},
        {"undelete", "x", "--expected-revision", "-1"},
        {"restore", "x", "1", "--expected-revision", "-1"}}) {
    r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_THAT(r.err, HasSubstr(args[args.size() - 2]))
        << ::testing::PrintToString(args);
    // Revisions start at 1 (RevisionZeroIsUsageErrorNotNoPrecondition).
    EXPECT_THAT(r.err, HasSubstr(args[args.size() - 2] == "--facet-limit"
                                     ? "not in range 0 to 100, got -1"
                                     : "must be at least 1, got -1"))
        << ::testing::PrintToString(args);
  }
  r = Ctl({"export", "--dir", files_.path() + "/out", "--revision", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--revision"));
  EXPECT_FALSE(fs::exists(files_.path() + "/out"));
  // --facet-limit's 100 is the API's, no server's to configure (unlike
  // the page size's max, which --limit leaves to the server): it was
  // refused only by contentd, `INVALID_ARGUMENT: facet_limit: must be
  // between 0 and 100, got 101`, exit 1.
  r = Ctl({"query", "--facets", "tags", "--facet-limit", "101"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "--facet-limit: not in range 0 to 100, got 101\nRun `contentctl "
            "query --help` for more information.\n");
  EXPECT_EQ(
      Ctl({"query", "--facets", "tags", "--facet-limit", "100"}).exit_code, 0);

  // A --ca that is not PEM names the flag instead of failing every call.
  const std::string not_pem = Write("not.pem", "hello\n");
  r = Ctl({"--ca", not_pem, "get", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--ca: " + not_pem + " holds no PEM block"));
  // One that cannot be read says why: it too said "holds no PEM block".
  // Reading /proc/self/mem from its start fails (EIO: page 0 is unmapped);
  // running as root, a file without read permission would still be read.
  r = Ctl({"--key", "/proc/self/mem", "get", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "--key: cannot read /proc/self/mem: Input/output error\nRun "
            "`contentctl get --help` for more information.\n");

  const std::string pem = Write("x.pem", "-----BEGIN CERTIFICATE-----\n");
  r = Ctl({"--ca", pem, "--cert", pem, "get", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--cert: needs --key"));

  // Exporting into a path that is a file (or under one) is no server's
  // error at all: it said FAILED_PRECONDITION, a code contentd gives, where
  // every other local output that cannot be written has none.
  const std::string file = Write("plain-file", "x");
  r = Ctl({"export", "--dir", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: creating " + file + ": Not a directory\n");
  r = Ctl({"export", "--dir", file + "/sub"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: creating " + file + "/sub: Not a directory\n");
}

// Input apply cannot read is no server's error either: a missing file said
// `Error: NOT_FOUND: nope.md: no such file or directory` with an empty
// domain, a file it could not open or read `PERMISSION_DENIED: cannot
// open: ...` or `FAILED_PRECONDITION: cannot read: ...`, codes contentd
// gives. Now each reads as output that cannot be written does: the path,
// the OS's words, no code, reason READ_FAILED.
TEST_F(CliTest, ApplyInputThatCannotBeReadIsALocalError) {
  const std::string missing = files_.path() + "/nope.md";
  CommandResult r = Ctl({"apply", "-f", missing});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: reading " + missing + ": No such file or directory\n");
  EXPECT_THAT(r.out, IsEmpty());
  r = Ctl({"apply", "-f", missing, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("code").string_value(), "");
  EXPECT_EQ(e.at("domain").string_value(), "contentctl");
  EXPECT_EQ(e.at("reason").string_value(), "READ_FAILED");
  EXPECT_EQ(e.at("message").string_value(),
            "reading " + missing + ": No such file or directory");
  EXPECT_EQ(e.at("metadata").struct_value().fields().at("path").string_value(),
            missing);

  // The OS's words, not "no such file" for every failure.
  const std::string file = Write("plain.md", Doc("Plain", "2024-01-01", ""));
  r = Ctl({"apply", "-f", file + "/"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: reading " + file + "/: Not a directory\n");

  // A directory with nothing to apply: said without a code too.
  const std::string empty = files_.path() + "/empty";
  fs::create_directories(empty);
  r = Ctl({"apply", "-f", empty, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("code").string_value(), "");
  EXPECT_EQ(e.at("reason").string_value(), "NO_MARKDOWN_FILES");
  EXPECT_EQ(e.at("message").string_value(),
            empty +
                ": no Markdown files (*.md, *.markdown, *.mdown, *.mkd, "
                "*.mkdn, *.mkdown)");

  // A file that opens but fails to read (as root may read any file, the
  // kernel's EIO) fails alone, the other file still applied.
  const std::string good =
      Write("readable/local-read-ok.md", Doc("Readable", "2024-01-01", ""));
  r = Ctl({"apply", "-f", "/proc/self/mem", "-f", good});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "/proc/self/mem: error: reading /proc/self/mem: Input/output "
            "error\n");
  EXPECT_THAT(r.out, HasSubstr("articles/local-read-ok created (revision 1)"));
  r = Ctl({"apply", "-f", "/proc/self/mem", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto results = ParseJson<google::protobuf::ListValue>(r.out);
  ASSERT_EQ(results.values_size(), 1) << r.out;
  const auto& result = results.values(0).struct_value().fields();
  EXPECT_EQ(result.at("error").string_value(),
            "reading /proc/self/mem: Input/output error");
  EXPECT_EQ(result.at("reason").string_value(), "READ_FAILED");
  const std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;  // the file's error, the summary
  e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.at("code").string_value(), "");
  EXPECT_EQ(e.at("file").string_value(), "/proc/self/mem");
  EXPECT_EQ(e.at("reason").string_value(), "READ_FAILED");

  // Standard input alike.
  r = RunCommand({"/bin/sh", "-c", "exec \"$@\" < /", "sh", ContentctlBinary(),
                  "--server", server_->address(), "apply", "-f", "-", "--id",
                  "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "<stdin>: error: reading from stdin: Is a directory\n");
}

// A directory under `apply -f DIR` that cannot be listed was skipped
// without a word (its articles not applied, exit 0), and a DIR that cannot
// be listed at all said it held "no *.md files". Both stop the run,
// naming the directory, before anything is sent. Run as the user nobody
// when root, whom permissions do not stop.
TEST_F(CliTest, ApplyDirectoryThatCannotBeListedIsALocalError) {
  std::vector<std::string> prefix;
  if (geteuid() == 0) {
    if (access("/usr/bin/setpriv", X_OK) != 0) {
      GTEST_SKIP() << "root, and /usr/bin/setpriv is not installed";
    }
    prefix = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
              "--clear-groups"};
  }
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::all);
  const std::string tree = dir.path() + "/tree";
  fs::create_directories(tree + "/open");
  fs::create_directories(tree + "/closed");
  WriteFile(tree + "/open/a.md", Doc("Open", "2024-01-01", ""));
  WriteFile(tree + "/closed/b.md", Doc("Closed", "2024-01-01", ""));
  for (const std::string& p :
       {tree, tree + "/open", tree + "/open/a.md", tree + "/closed/b.md"}) {
    fs::permissions(p, fs::perms::all);
  }
  fs::permissions(tree + "/closed", fs::perms::owner_all);
  const auto apply = [&](const std::string& path) {
    std::vector<std::string> argv = prefix;
    for (const std::string& a :
         {ContentctlBinary(), std::string("--server"), server_->address(),
          std::string("apply"), std::string("--dry-run"), std::string("-f"),
          path}) {
      argv.push_back(a);
    }
    return RunCommand(argv);
  };
  if (!prefix.empty()) {
    // nobody must reach the tree (TMPDIR may be private to root).
    auto probe =
        RunCommand({prefix[0], prefix[1], prefix[2], prefix[3], "/bin/sh", "-c",
                    "test -r \"$0\"", tree + "/open/a.md"});
    if (probe.exit_code != 0) GTEST_SKIP() << "nobody cannot read " << tree;
  }
  CommandResult r = apply(tree);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.err, "Error: reading " + tree + "/closed: Permission denied\n");
  EXPECT_THAT(r.out, IsEmpty());
  r = apply(tree + "/closed");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.err, "Error: reading " + tree + "/closed: Permission denied\n");
  fs::permissions(tree + "/closed", fs::perms::all);  // so TempDir removes it
}

// Text the server takes must be UTF-8 (protobuf `string`): sent, it got a
// libprotobuf log line and "request: cannot be parsed", naming nothing.
TEST_F(CliTest, TextThatIsNotUtf8IsUsageErrorNamingTheFlag) {
  const std::string bad = "a\xff";
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  for (const Case& c : std::vector<Case>{
           {{"query", "--tag", bad}, "--tag"},
           {{"query", "--text", bad}, "--text"},
           {{"query", "--not-tag", "x", "--not-tag", bad}, "--not-tag"},
           {{"tags", "--prefix", bad}, "--prefix"},
           {{"categories", "--prefix", bad}, "--prefix"},
           {{"watch", "--category", bad}, "--category"},
           {{"get", "x", "--fallback", "en," + bad, "--lang", "de"},
            "--fallback"},
           {{"delete", "x", "--etag", bad}, "--etag"},
           {{"get", bad}, "ID"},
           {{"history", "caf\xe9"}, "ID"},
           {{"admin", "backup", "/tmp/" + bad}, "DESTINATION"}}) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.named + ": not valid UTF-8"));
    EXPECT_THAT(r.err, Not(HasSubstr("libprotobuf")));
  }
}

// The id of a file without a front-matter `id` is its name: one that is not
// UTF-8 fails that file, named, and the others still apply.
TEST_F(CliTest, ApplyNamesAFileWhoseNameIsNotUtf8) {
  Write("tree/caf\xe9.md", Doc("latin-1 name", "", ""));
  Write("tree/fine-name.md", Doc("fine", "", ""));
  CommandResult r = Ctl({"apply", "-f", files_.path() + "/tree/"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("caf\xe9.md: error: INVALID_ARGUMENT: id: the "
                               "file name, which the id comes from, is not "
                               "valid UTF-8"));
  EXPECT_THAT(r.err, Not(HasSubstr("libprotobuf")));
  EXPECT_THAT(r.err, Not(HasSubstr("cannot be parsed")));
  EXPECT_EQ(GetJson("fine-name").title(), "fine");
  // With an id in its front matter the name does not matter.
  Write("tree/caf\xe9.md", Doc("latin-1 name", "", "", "id: cafe\n"));
  r = Ctl({"apply", "-f", files_.path() + "/tree/"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(GetJson("cafe").title(), "latin-1 name");
}

// Params nested deeper than protobuf and its JSON carry are refused by the
// reader, naming the key; the deepest accepted can be printed as JSON.
TEST_F(CliTest, DeeplyNestedParamsNameTheKey) {
  auto nested = [](int n, const std::string& open, const std::string& close) {
    std::string yaml = "deep:";
    for (int i = 0; i < n; ++i) yaml += " " + open;
    yaml += " 1";
    for (int i = 0; i < n; ++i) yaml += close;
    return yaml + "\n";
  };
  // 50 lists and 33 mappings were "request: cannot be parsed".
  for (const std::string& yaml :
       {nested(50, "[", "]"), nested(33, "{a:", "}"), nested(31, "[", "]")}) {
    CommandResult r =
        Ctl({"apply", "-f", Write("deep-too.md", Doc("deep", "", "", yaml))});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err,
                HasSubstr("front matter key \"deep\": is nested more than 30"));
    EXPECT_THAT(r.err, Not(HasSubstr("cannot be parsed")));
  }
  CtlOk({"apply", "-f",
         Write("deep-ok.md", Doc("deep", "", "", nested(30, "{a:", "}")))});
  CtlOk({"query", "--text", "deep", "-o", "json"});
  CtlOk({"get", "deep-ok", "-o", "yaml"});
}

// contentd never repairs online: the flag is a usage error with the
// offline command, refused before dialling.
TEST_F(CliTest, FsckRepairIsUsageErrorWithTheOfflineCommand) {
  CommandResult r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1",
                                "admin", "fsck", "--repair"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--repair: "));
  EXPECT_THAT(r.err, HasSubstr("contentd --data-dir DIR --check --repair"));
}

// gRPC wraps a port past 65535 (99999 dialled 34463): --server is checked
// first, a usage error naming the flag, or the variable it came from. A
// host without a port is gRPC's 443, as for every SDK user.
// A host without a port is 443, for an IP literal too (gRPC alone dials
// one on port 0).
TEST_F(CliTest, ServerWithoutAPortDials443) {
  for (const char* server : {"127.0.0.1", "[::1]", "localhost"}) {
    CommandResult r = RunCommand({ContentctlBinary(), "--server", server,
                                  "--timeout", "3s", "get", "x"});
    EXPECT_EQ(r.exit_code, 1) << server << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(":443")) << server;
    EXPECT_THAT(r.err, Not(HasSubstr(":0:"))) << server;
  }
  // The address as given, then the one dialled.
  CommandResult r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1",
                                "--timeout", "3s", "get", "x"});
  EXPECT_EQ(r.err,
            "Error: UNAVAILABLE: cannot reach 127.0.0.1 (127.0.0.1:443): "
            "Connection refused\n");
}

TEST_F(CliTest, InvalidServerAddressIsUsageError) {
  for (const char* server :
       {"127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:7x", "127.0.0.1:", "localhost:100000", "[::1]:99999"}) {
    CommandResult r = RunCommand({ContentctlBinary(), "--server", server,
                                  "--timeout", "5s", "get", "x"});
    EXPECT_EQ(r.exit_code, 2) << server << "\n" << r.err;
    EXPECT_THAT(r.err, StartsWith("--server: port must be 1-65535, got \""))
        << server;
    EXPECT_THAT(r.err, HasSubstr(server));
  }
  for (const char* server :
       {":7070", "::1:7070", "http://127.0.0.1:7070", "a b:7070", "",
        "dns:", "unix:", "[127.0.0.1]:7070"}) {
    CommandResult r = RunCommand({ContentctlBinary(), "--server", server,
                                  "--timeout", "5s", "get", "x"});
    EXPECT_EQ(r.exit_code, 2) << server << "\n" << r.err;
    EXPECT_THAT(r.err, StartsWith("--server: must be host:port")) << server;
    EXPECT_THAT(r.err, HasSubstr("dns:///host:port")) << server;
  }
  CommandResult r =
      RunCommand({ContentctlBinary(), "--timeout", "5s", "get", "x"}, "",
                 {"CONTENT_SERVER=127.0.0.1:99999"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("--server (from CONTENT_SERVER): port must be "
                                "1-65535, got \"99999\""));

  // Names, bracketed IPv6, dns:/// targets and unix sockets still dial.
  CtlOk({"apply", "-f", Write("srv1.md", Doc("srv", "", ""))});
  const std::string port = std::to_string(server_->port());
  for (const std::string& server :
       {"localhost:" + port, "dns:///localhost:" + port,
        "dns:///127.0.0.1:" + port, "ipv4:127.0.0.1:" + port}) {
    r = RunCommand({ContentctlBinary(), "--server", server, "get", "srv1"});
    EXPECT_EQ(r.exit_code, 0) << server << "\n" << r.err;
  }
  for (const std::string& server :
       {"unix:" + files_.path() + "/no.sock", std::string("[::1]:1")}) {
    r = RunCommand({ContentctlBinary(), "--server", server, "--timeout", "2s",
                    "get", "srv1"});
    EXPECT_EQ(r.exit_code, 1) << server << "\n" << r.err;
    EXPECT_THAT(r.err, StartsWith("Error: UNAVAILABLE: ")) << server;
  }
}

// The string fields of the object `key` in `json` (contentctl's -o json:
// admin stats' `serverInfo`, version's `contentd`), by name; empty, after a
// failure showing `json`, if it has no such object.
std::map<std::string, std::string> ObjectStrings(const std::string& json,
                                                 const std::string& key) {
  const auto fields = ParseJson<google::protobuf::Struct>(json).fields();
  const auto object = fields.find(key);
  if (object == fields.end() ||
      object->second.kind_case() != google::protobuf::Value::kStructValue) {
    ADD_FAILURE() << "no object \"" << key << "\" in\n" << json;
    return {};
  }
  std::map<std::string, std::string> strings;
  for (const auto& [name, value] : object->second.struct_value().fields())
    strings[name] = value.string_value();
  return strings;
}

// The name of the host the tests (and their contentd) run on.
std::string ThisHost() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

// `version` prints contentctl's version and the server's, as kubectl's
// does, and which host answered (behind a load balancer, one of several);
// `--client` needs no server. contentd's comes from GetServerInfo, and
// `contentd --version` says the same version.
TEST_F(CliTest, VersionPrintsTheServersVersionAndClientNeedsNoServer) {
  CommandResult r = RunCommand(
      {ContentctlBinary(), "--server", "127.0.0.1:1", "version", "--client"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, MatchesRegex("contentctl [0-9]+\\.[0-9]+\\.[0-9]+\n"));
  const std::string client_line = r.out;
  const std::string version =
      client_line.substr(std::strlen("contentctl "), client_line.size() - 12);

  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                  "2s", "version"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, client_line);
  EXPECT_THAT(r.err, StartsWith("Error: UNAVAILABLE: ")) << r.err;

  // pg_cli_test runs this file against PostgreSQL.
  const std::string engine =
      testing::TestEngineIsPostgres() ? "postgresql" : "rocksdb";
  const std::string host = ThisHost();
  ASSERT_NE(host, "");
  const std::string out = CtlOk({"version"});
  EXPECT_THAT(out, StartsWith(absl::StrCat(
                       client_line, "contentd ", version, " on ", host, " at ",
                       server_->address(), " (", engine, ", started 20")))
      << out;
  EXPECT_TRUE(absl::EndsWith(out, "Z)\n")) << out;

  const std::string json = CtlOk({"version", "-o", "json"});
  EXPECT_EQ(ParseJson<google::protobuf::Struct>(json)
                .fields()
                .at("contentctl")
                .string_value(),
            version);
  std::map<std::string, std::string> server = ObjectStrings(json, "contentd");
  EXPECT_THAT(server,
              IsSupersetOf({Pair("version", version), Pair("hostname", host),
                            Pair("storageEngine", engine),
                            Pair("server", server_->address())}));
  const YAML::Node yaml = YAML::Load(CtlOk({"version", "-o", "yaml"}));
  EXPECT_EQ(yaml["contentd"]["version"].as<std::string>(""), version);
  EXPECT_EQ(yaml["contentd"]["hostname"].as<std::string>(""), host);
  absl::Time started;
  std::string err;
  EXPECT_TRUE(
      absl::ParseTime(absl::RFC3339_full, server["startTime"], &started, &err))
      << err;
  EXPECT_LE(started, absl::Now());

  r = RunCommand({testing::ContentdBinary(), "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.out, StartsWith(absl::StrCat("contentd ", version, "\nstore layout ")));
}

// contentctl's version, from `contentctl version --client`.
std::string ClientVersion() {
  const CommandResult r =
      RunCommand({ContentctlBinary(), "version", "--client"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::string(
      absl::StripSuffix(absl::StripPrefix(r.out, "contentctl "), "\n"));
}

// `admin stats` says which contentd answered (behind a load balancer, one
// of several): its version, host name (replicas of one build differ only
// there), storage engine, start time and uptime, from GetStats' own reply,
// first in the table and as `serverInfo` under -o json|yaml, after the
// stats' own fields, which keep their names.
TEST_F(CliTest, AdminStatsNamesTheServerThatAnswered) {
  const std::string version = ClientVersion();
  const std::string host = ThisHost();
  ASSERT_NE(host, "");
  const std::string engine =
      testing::TestEngineIsPostgres() ? "postgresql" : "rocksdb";
  const std::string table = CtlOk({"admin", "stats"});
  const std::vector<std::string> lines = Lines(table);
  ASSERT_GE(lines.size(), 2u) << table;
  EXPECT_THAT(lines[0], StartsWith(absl::StrCat("server:            contentd ",
                                                version, " on ", host, " (",
                                                engine, ", started 20")));
  EXPECT_THAT(lines[0], MatchesRegex(".*Z, up [0-9hms.]+\\)"));
  EXPECT_THAT(lines[1], StartsWith("published:         "));

  const std::string json = CtlOk({"admin", "stats", "-o", "json"});
  const auto fields = ParseJson<google::protobuf::Struct>(json).fields();
  EXPECT_TRUE(fields.contains("liveArticles")) << json;
  EXPECT_TRUE(fields.contains("lastSequence")) << json;
  EXPECT_TRUE(fields.contains("readOnly")) << json;
  // Added last: the stats' fields come first, as before.
  EXPECT_THAT(json, StartsWith("{\n  \"liveArticles\": "));
  ASSERT_TRUE(fields.contains("serverInfo")) << json;
  const auto& info = fields.at("serverInfo").struct_value().fields();
  EXPECT_EQ(info.at("version").string_value(), version);
  ASSERT_TRUE(info.contains("hostname")) << json;
  EXPECT_EQ(info.at("hostname").string_value(), host);
  EXPECT_EQ(info.at("storageEngine").string_value(), engine);
  // Once: the reply's own server_info is not printed beside it.
  const std::vector<absl::string_view> around =
      absl::StrSplit(json, "\"serverInfo\"");
  EXPECT_EQ(around.size(), 2u) << json;
  absl::Time started;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(
      absl::RFC3339_full, info.at("startTime").string_value(), &started, &err))
      << err;
  EXPECT_LE(started, absl::Now());
  absl::Duration uptime;
  EXPECT_TRUE(absl::ParseDuration(info.at("uptime").string_value(), &uptime))
      << info.at("uptime").string_value();
  EXPECT_GE(uptime, absl::ZeroDuration());

  const YAML::Node yaml = YAML::Load(CtlOk({"admin", "stats", "-o", "yaml"}));
  EXPECT_TRUE(yaml["liveArticles"].IsDefined());
  EXPECT_EQ(yaml["serverInfo"]["version"].as<std::string>(""), version);
  EXPECT_EQ(yaml["serverInfo"]["storageEngine"].as<std::string>(""), engine);
  EXPECT_EQ(yaml["serverInfo"]["hostname"].as<std::string>(""), host);

  // The server fills GetStats' server_info as it answers GetServerInfo:
  // the same process, so the same fields.
  ClientOptions options;
  options.target = server_->address();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<v1::GetStatsResponse> stats = (*client)->GetStats({});
  ASSERT_TRUE(stats.ok()) << stats.status();
  absl::StatusOr<v1::ServerInfo> server_info = (*client)->GetServerInfo();
  ASSERT_TRUE(server_info.ok()) << server_info.status();
  ASSERT_TRUE(stats->has_server_info());
  EXPECT_EQ(stats->server_info().SerializeAsString(),
            server_info->SerializeAsString())
      << stats->server_info().DebugString() << server_info->DebugString();
  EXPECT_EQ(server_info->hostname(), host);
}

// A gRPC server in this process, on an ephemeral loopback port, serving
// `services` (which must outlive it) until destroyed: a stand-in for a
// contentd of another build. Not thread-safe.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::initializer_list<grpc::Service*> services) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    for (grpc::Service* service : services) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
  }
  ~LoopbackServer() {
    if (server_ != nullptr) server_->Shutdown();
  }
  bool started() const { return server_ != nullptr; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// An AdminService in this process that answers GetStats, without
// `server_info` in its reply, and has no ContentService, so GetServerInfo is
// UNIMPLEMENTED: a contentd from before GetServerInfo.
class StatsOnlyService final : public v1::AdminService::Service {
 public:
  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                        v1::GetStatsResponse* resp) override {
    resp->set_live_articles(7);
    resp->set_last_sequence(42);
    return grpc::Status::OK;
  }
};

// Such a server's stats still print; only which server it is stays
// unknown (null under -o json|yaml).
TEST(CliStatsTest, AdminStatsOfAServerWithoutGetServerInfoStillPrints) {
  StatsOnlyService service;
  LoopbackServer server({&service});
  ASSERT_TRUE(server.started());
  const std::string address = server.address();
  CommandResult r =
      RunCommand({ContentctlBinary(), "--server", address, "admin", "stats"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, StartsWith("server:            unknown (an earlier "
                                "contentd, which answers no GetServerInfo)\n"
                                "published:         7 (scheduled and "
                                "expired included)\n"));
  EXPECT_THAT(r.out, HasSubstr("\nlast sequence:     42\n"));

  r = RunCommand({ContentctlBinary(), "--server", address, "admin", "stats",
                  "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto fields = ParseJson<google::protobuf::Struct>(r.out).fields();
  EXPECT_EQ(fields.at("liveArticles").string_value(), "7") << r.out;
  ASSERT_TRUE(fields.contains("serverInfo")) << r.out;
  EXPECT_EQ(fields.at("serverInfo").kind_case(),
            google::protobuf::Value::kNullValue);
}

// A ContentService whose GetServerInfo answers `info`, counting the calls:
// a contentd of another build, or on another host.
class FixedServerInfo final : public v1::ContentService::Service {
 public:
  explicit FixedServerInfo(v1::ServerInfo info) : info_(std::move(info)) {}
  grpc::Status GetServerInfo(grpc::ServerContext*,
                             const v1::GetServerInfoRequest*,
                             v1::ServerInfo* resp) override {
    ++calls;
    *resp = info_;
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};

 private:
  const v1::ServerInfo info_;
};

// Behind a round-robin balancer, GetStats and a GetServerInfo call of its
// own may reach two replicas. This server answers as two would: GetStats
// from "replica-a" (with `server_info` in its reply when `with_info`, as
// contentd does since 2026-12-06, else without, as an earlier one), and
// GetServerInfo as "replica-b", counting those calls.
class TwoReplicas {
 public:
  explicit TwoReplicas(bool with_info)
      : admin_(with_info),
        content_(Info("replica-b")),
        server_({&admin_, &content_}) {}
  bool started() const { return server_.started(); }
  std::string address() const { return server_.address(); }
  int server_info_calls() const { return content_.calls; }

  // What each replica says of itself.
  static v1::ServerInfo Info(const std::string& host) {
    v1::ServerInfo info;
    info.set_version("0.0.9");
    info.set_hostname(host);
    info.set_storage_engine("postgresql");
    info.mutable_start_time()->set_seconds(1764547200);  // 2025-12-01
    return info;
  }

 private:
  class Admin final : public v1::AdminService::Service {
   public:
    explicit Admin(bool with_info) : with_info_(with_info) {}
    grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                          v1::GetStatsResponse* resp) override {
      resp->set_live_articles(7);
      if (with_info_) *resp->mutable_server_info() = Info("replica-a");
      return grpc::Status::OK;
    }

   private:
    const bool with_info_;
  };

  Admin admin_;
  FixedServerInfo content_;
  // Last: shut down before the services it serves are destroyed.
  LoopbackServer server_;
};

// The server line comes from GetStats' reply when it carries one: the
// replica whose figures follow, not whichever a second call reached. No
// GetServerInfo call is made.
TEST(CliStatsTest, AdminStatsNamesTheReplicaWhoseStatsItPrints) {
  TwoReplicas replicas(/*with_info=*/true);
  ASSERT_TRUE(replicas.started());
  CommandResult r = RunCommand(
      {ContentctlBinary(), "--server", replicas.address(), "admin", "stats"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("server:            contentd 0.0.9 on "
                                "replica-a (postgresql, started "
                                "2025-12-01T00:00:00Z, up "));
  EXPECT_THAT(r.out, HasSubstr("\npublished:         7 "));

  r = RunCommand({ContentctlBinary(), "--server", replicas.address(), "admin",
                  "stats", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      ObjectStrings(r.out, "serverInfo"),
      IsSupersetOf({Pair("hostname", "replica-a"), Pair("version", "0.0.9")}));
  EXPECT_THAT(r.out, Not(HasSubstr("replica-b")));
  EXPECT_EQ(replicas.server_info_calls(), 0);
}

// A contentd from before GetStats carried `server_info` (but with
// GetServerInfo) still gets a server line, from a GetServerInfo call of its
// own, host name included.
TEST(CliStatsTest, AdminStatsOfAServerWithoutServerInfoInItsStatsAsksForIt) {
  TwoReplicas replicas(/*with_info=*/false);
  ASSERT_TRUE(replicas.started());
  CommandResult r =
      RunCommand({ContentctlBinary(), "--server", replicas.address(), "admin",
                  "stats", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ObjectStrings(r.out, "serverInfo"),
              Contains(Pair("hostname", "replica-b")));
  EXPECT_EQ(replicas.server_info_calls(), 1);
  r = RunCommand(
      {ContentctlBinary(), "--server", replicas.address(), "admin", "stats"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              StartsWith("server:            contentd 0.0.9 on replica-b ("));
}

// `version` of an earlier contentd prints what it tells: no host from one
// before 2026-12-06 (an empty `hostname` under -o json|yaml, as admin
// stats'), no version either from one without GetServerInfo.
TEST(CliVersionTest, VersionOfAnEarlierServerLeavesOutWhatItDoesNotSay) {
  const std::string client_line =
      absl::StrCat("contentctl ", ClientVersion(), "\n");
  // As a contentd from before 2026-12-06 answers: without a host name.
  FixedServerInfo without_host(TwoReplicas::Info(/*host=*/""));
  LoopbackServer server({&without_host});
  ASSERT_TRUE(server.started());
  CommandResult r =
      RunCommand({ContentctlBinary(), "--server", server.address(), "version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            absl::StrCat(client_line, "contentd 0.0.9 at ", server.address(),
                         " (postgresql, started 2025-12-01T00:00:00Z)\n"));
  r = RunCommand({ContentctlBinary(), "--server", server.address(), "version",
                  "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ObjectStrings(r.out, "contentd"),
              IsSupersetOf({Pair("version", "0.0.9"), Pair("hostname", "")}));

  StatsOnlyService stats_only;
  LoopbackServer oldest({&stats_only});
  ASSERT_TRUE(oldest.started());
  r = RunCommand({ContentctlBinary(), "--server", oldest.address(), "version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat(client_line, "contentd at ", oldest.address(),
                                ": version unknown (an earlier build, which "
                                "answers no GetServerInfo)\n"));
  r = RunCommand({ContentctlBinary(), "--server", oldest.address(), "version",
                  "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const YAML::Node yaml = YAML::Load(r.out);
  EXPECT_EQ(yaml["contentd"]["version"].as<std::string>("?"), "");
  EXPECT_EQ(yaml["contentd"]["hostname"].as<std::string>("?"), "");
}

// `diff -f` shows what `apply -f` would change, as kubectl diff does, and
// writes nothing: exit 0 when nothing would change, 1 when something would
// (a changed file, a new article), 2 when a document cannot be compared,
// the others still shown.
TEST_F(CliTest, DiffOfAFileShowsWhatApplyWouldChange) {
  const std::string file =
      Write("dif/d1.md",
            Doc("Before", "2024-01-02", "\"a\", \"b\"", "", "one\ntwo\n"));
  CtlOk({"apply", "-f", file});
  CommandResult r = Ctl({"diff", "-f", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("articles/d1: revision 1 -> ", file,
                                "\nno changes\n"));

  Write("dif/d1.md",
        Doc("After", "2024-01-02", "\"a\", \"c\"", "", "one\n2\n"));
  Write("dif/d2.md", Doc("New", "", "", "", "fresh\n"));
  Write("dif/d3.md", "---\ntags: [x]\n---\nno title\n");
  r = Ctl({"diff", "-f", files_.path() + "/dif", "--color", "never"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("articles/d1: revision 1 -> ", file,
                                "\n"
                                "title:\n- \"Before\"\n+ \"After\"\n"
                                "tags:\n- [\"a\",\"b\"]\n+ [\"a\",\"c\"]\n"
                                "\n"
                                "--- articles/d1@1\n"
                                "+++ articles/d1 (not written)\n"
                                "@@ -1,3 +1,3 @@\n \n one\n-two\n+2\n"
                                "articles/d2: (new) -> ",
                                files_.path(),
                                "/dif/d2.md\n"
                                "title:\n+ \"New\"\n"
                                "\n"
                                "--- /dev/null\n"
                                "+++ articles/d2 (not written)\n"
                                "@@ -0,0 +1,2 @@\n+\n+fresh\n"));
  EXPECT_EQ(r.err, absl::StrCat(files_.path(),
                                "/dif/d3.md: error: INVALID_ARGUMENT: title: "
                                "is required\n"));
  // Nothing was written.
  r = Ctl({"get", "d1", "-o", "json"});
  EXPECT_THAT(r.out, HasSubstr("\"revision\": \"1\""));
  EXPECT_EQ(Ctl({"get", "d2"}).exit_code, 1);
  // Without the bad file: changes, exit 1; applied, none, exit 0.
  r = Ctl({"diff", "-f", file, "-f", files_.path() + "/dif/d2.md"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  CtlOk({"apply", "-f", file});
  r = Ctl({"diff", "-f", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no changes"));
  // An ID and -f do not go together; neither given is a usage error.
  r = Ctl({"diff", "d1", "-f", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("ID: not with -f"));
  r = Ctl({"diff"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing ID: diff takes an article id"));
}

// `diff -f -` names the article on stdin as apply does: its error for a
// document without an id said "or with --id", which diff did not take.
TEST_F(CliTest, DiffOfStdinTakesIdAsApplyDoes) {
  const std::string no_id = Write("dsi/no-id.md", Doc("On stdin", "", ""));
  CtlPiped(no_id, {"apply", "-f", "-", "--id", "dsi"});
  CommandResult r = CtlPiped(no_id, {"diff", "-f", "-", "--id", "dsi"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/dsi: revision 1 -> <stdin>\nno changes\n");
  r = CtlPiped(no_id, {"apply", "--dry-run", "-f", "-", "--id", "dsi"});
  EXPECT_THAT(r.out, HasSubstr("articles/dsi unchanged (revision 1)"));
  // apply's rules: a single -f - of one document, agreeing with `id`.
  r = Ctl({"diff", "-f", no_id, "--id", "dsi"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--id: applies only to a single -f -"));
  r = Ctl({"diff", "dsi", "--id", "dsi"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--id: only with -f -"));
  // So are the flags that shape how a file is read (accepted and ignored).
  r = Ctl({"diff", "dsi", "--strict"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--strict: only with -f"));
  r = Ctl({"diff", "dsi", "--default-zone", "Asia/Shanghai"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--default-zone: only with -f"));
  const std::string two =
      Write("dsi/two.md",
            "---\n# articles/dsi revision 1\ntitle: \"a\"\n---\n\na\n\n"
            "---\n# articles/dsi2 revision 1\ntitle: \"b\"\n---\n\nb\n");
  r = CtlPiped(two, {"diff", "-f", "-", "--id", "dsi"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("standard input holds 2 documents"));
  const std::string other =
      Write("dsi/other.md", Doc("Other", "", "", "id: dsj\n"));
  r = CtlPiped(other, {"diff", "-f", "-", "--id", "dsi"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("id: the front matter says \"dsj\", --id says "
                               "\"dsi\""));
}

// Under -o json|yaml a diff per document is a stream a reader can split,
// as watch's: a JSON object per line, a YAML document per `---`, each
// with the file it compared. Several YAML mappings in a row read as one,
// the last of each key winning, and no object said which file it was.
TEST_F(CliTest, DiffOfManyFilesIsAStreamUnderJsonAndYaml) {
  const std::string a = Write("dst/dsa.md", Doc("A", "", ""));
  const std::string b = Write("dst/dsb.md", Doc("B", "", ""));
  CtlOk({"apply", "-f", a, "-f", b});
  Write("dst/dsb.md", Doc("B2", "", ""));
  const std::string dir = files_.path() + "/dst";
  CommandResult r = Ctl({"diff", "-f", dir, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  std::vector<std::string> files, objects;
  for (const std::string& line : lines) {
    google::protobuf::Struct object;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &object).ok())
        << line;
    files.push_back(object.fields().at("file").string_value());
    objects.push_back(line);
  }
  EXPECT_THAT(files, ElementsAre(a, b));
  EXPECT_THAT(objects[0], HasSubstr("\"fieldChanges\":[]"));
  EXPECT_THAT(objects[1], HasSubstr("\"newValue\":\"\\\"B2\\\"\""));

  r = Ctl({"diff", "-f", dir, "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::vector<YAML::Node> docs = YAML::LoadAll(r.out);
  ASSERT_EQ(docs.size(), 2u) << r.out;
  EXPECT_EQ(docs[0]["file"].as<std::string>(), a);
  EXPECT_EQ(docs[0]["name"].as<std::string>(), "articles/dsa");
  EXPECT_EQ(docs[1]["file"].as<std::string>(), b);
  EXPECT_EQ(docs[1]["name"].as<std::string>(), "articles/dsb");
  EXPECT_EQ(docs[1]["fieldChanges"][0]["field"].as<std::string>(), "title");
}

// The warnings apply gives a document before it writes it, diff -f gives
// too: a Hugo language suffix the front matter does not say is an article
// stored with no language, which the diff shows without saying why.
TEST_F(CliTest, DiffOfAFileWarnsAsApplyDoes) {
  const std::string file = Write("dlw/post.zh-cn.md", Doc("Post", "", ""));
  CommandResult r = Ctl({"diff", "-f", file, "--color", "never"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, absl::StrCat(file,
                                ": warning: the file name ends in \".zh-cn\", "
                                "Hugo's language suffix, but the front matter "
                                "has no lang (contentctl reads the language "
                                "only from there): stored with no language "
                                "and in no translation group; add `lang: "
                                "zh-cn`\n"));
  r = Ctl({"apply", "--dry-run", "-f", file});
  EXPECT_THAT(r.err, HasSubstr("warning: the file name ends in \".zh-cn\""));
}

// A document's error reads as apply's: a field no front-matter key gives
// is named as the import names it (`body`), not as the API's
// `article.body`.
TEST_F(CliTest, DiffOfAFileNamesItsErrorsAsApplyDoes) {
  const std::string file = Write(
      "dne/dne.md", Doc("Too long", "", "", "", std::string(1100000, 'x')));
  CommandResult diff = Ctl({"diff", "-f", file});
  EXPECT_EQ(diff.exit_code, 2);
  CommandResult apply = Ctl({"apply", "--dry-run", "-f", file});
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_THAT(diff.err, StartsWith(absl::StrCat(
                            file, ": error: INVALID_ARGUMENT: body: article")));
  EXPECT_EQ(diff.err, apply.err);
}

TEST_F(CliTest, WatchStopsCleanlyOnCtrlC) {
  CtlOk({"apply", "-f", Write("sigint.md", Doc("Sigint", "", ""))});
  const std::string out = files_.path() + "/watch.out";
  std::unique_ptr<BackgroundCommand> ctl = BackgroundCommand::Start(
      {ContentctlBinary(), "--server", server_->address(), "watch"}, out,
      files_.path() + "/watch.err");
  ASSERT_NE(ctl, nullptr);
  // Interrupted once it streams (it printed the article's create).
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string printed;
  while (std::chrono::steady_clock::now() < deadline &&
         printed.find("CREATED articles/sigint") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(out);
    printed.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_THAT(printed, HasSubstr("CREATED articles/sigint"));
  ASSERT_EQ(kill(ctl->pid(), SIGINT), 0);
  const CommandResult r = ctl->Wait(std::chrono::seconds(30));
  EXPECT_FALSE(r.timed_out) << "watch did not stop on SIGINT";
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// apply of one file with a condition (through UpdateArticle, after a read
// of the head) said gRPC's wrapping of the reason on the file's line,
// `a.md: error: UNAVAILABLE: failed to connect to all addresses; last
// error: UNKNOWN: ipv4:127.0.0.1:1: ...`, and in its -o json result,
// where every other verb says `cannot reach 127.0.0.1:1: Connection
// refused`.
TEST_F(CliTest, UnreachableServerIsSaidAlikeOnAFilesLine) {
  const std::string file = Write("u2.md", Doc("u", "", ""));
  CommandResult r =
      RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "apply", "-f",
                  file, "--expected-revision", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, file +
                       ": error: UNAVAILABLE: cannot reach 127.0.0.1:1: "
                       "Connection refused\n");
  EXPECT_THAT(r.out, HasSubstr("1 failed"));
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "apply", "-f",
                  file, "--expected-revision", "1", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto e =
      ParseJson<google::protobuf::Struct>(Lines(r.err).front()).fields();
  EXPECT_EQ(e.at("message").string_value(),
            "cannot reach 127.0.0.1:1: Connection refused");
  EXPECT_EQ(e.at("file").string_value(), file);
  EXPECT_THAT(r.out, HasSubstr("\"error\": \"UNAVAILABLE: cannot reach "
                               "127.0.0.1:1: Connection refused\""));
}

TEST_F(CliTest, UnreachableServerIsUnavailable) {
  CommandResult r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1",
                                "--timeout", "5s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  // The operating system's reason, which writes say too, without gRPC's
  // wrapping of it (`failed to connect to all addresses; last error:
  // UNKNOWN: ipv4:127.0.0.1:1: Failed to connect to remote host: ...`).
  EXPECT_EQ(r.err,
            "Error: UNAVAILABLE: cannot reach 127.0.0.1:1: Connection "
            "refused\n");
  const std::string reason = r.err.substr(0, r.err.size() - 1);
  // A unix socket that is not there likewise.
  const std::string socket = files_.path() + "/none.sock";
  r = RunCommand({ContentctlBinary(), "--server", "unix:" + socket, "--timeout",
                  "5s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: UNAVAILABLE: cannot reach unix:" + socket +
                       ": No such file or directory\n");
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                  "5s", "delete", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith(reason + " (no connection within "));
  EXPECT_THAT(r.err, HasSubstr("; the write was not sent)"));
  // A deadline shorter than the wait for a connection (4 s) ends it.
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                  "2s", "delete", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: DEADLINE_EXCEEDED: no connection to 127.0.0.1:1 within "
            "the deadline (cannot reach 127.0.0.1:1: Connection refused); the "
            "write was not sent\n");

  // A read whose deadline ends gRPC's retries (4 attempts: 0.1, 0.2,
  // 0.4 s apart, each -20%) said only "Deadline Exceeded"; it says that it
  // found no connection, and why.
  for (const char* verb : {"get", "history"}) {
    r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                    "300ms", verb, "x"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err,
              "Error: DEADLINE_EXCEEDED: no connection to 127.0.0.1:1 within "
              "the deadline (cannot reach 127.0.0.1:1: Connection refused)\n")
        << verb;
  }
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                  "300ms", "export", "--dir", files_.path() + "/unexported"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: DEADLINE_EXCEEDED: no connection to 127.0.0.1:1 within "
            "the deadline (cannot reach 127.0.0.1:1: Connection refused)\n");

  // watch too, instead of retrying in silence.
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                  "5s", "watch"},
                 "", {}, std::chrono::seconds(30));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: UNAVAILABLE: "));

  const std::string file = Write("u1.md", Doc("u", "", ""));
  r = RunCommand(
      {ContentctlBinary(), "--server", "127.0.0.1:1", "apply", "-f", file});
  EXPECT_EQ(r.exit_code, 1);
  // The stream's error, once (not on the file's line as well), with gRPC's
  // reason: it said only "cannot connect to 127.0.0.1:1 within 4s".
  EXPECT_THAT(r.err, StartsWith(reason + " (no connection within "));
  EXPECT_EQ(r.err.find("UNAVAILABLE", r.err.find("UNAVAILABLE") + 1),
            std::string::npos)
      << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 failed"));
}

// A ContentService whose GetArticle and DeleteArticle answer nothing until
// the caller gives up: a server too slow for the call's deadline, on a
// connection that is up.
class NeverAnswers final : public v1::ContentService::Service {
 public:
  grpc::Status GetArticle(grpc::ServerContext* ctx,
                          const v1::GetArticleRequest*, v1::Article*) override {
    return Wait(ctx);
  }
  grpc::Status DeleteArticle(grpc::ServerContext* ctx,
                             const v1::DeleteArticleRequest*,
                             v1::Article*) override {
    return Wait(ctx);
  }

 private:
  // Bounded, should a caller never give up.
  static grpc::Status Wait(grpc::ServerContext* ctx) {
    for (int i = 0; i < 3000 && !ctx->IsCancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "gave up waiting");
  }
};

// A deadline that passed on a connection said only gRPC's "Deadline
// Exceeded", which names neither the deadline nor a way past it: it names
// --timeout (or CONTENT_TIMEOUT) as given, and how to wait longer; a
// write's note that it may have been applied stays.
TEST(CliDeadlineTest, ADeadlinePassedOnAConnectionNamesItAndHowToWaitLonger) {
  NeverAnswers service;
  LoopbackServer server({&service});
  ASSERT_TRUE(server.started());
  const std::string address = server.address();
  const std::string hint =
      "; a longer --timeout, or --timeout inf for none, waits more\n";
  CommandResult r = RunCommand({ContentctlBinary(), "--server", address,
                                "--timeout", "300ms", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: DEADLINE_EXCEEDED: no answer from " + address +
                       " within --timeout 300ms" + hint);
  EXPECT_EQ(r.out, "");

  r = RunCommand({ContentctlBinary(), "--server", address, "get", "x"}, "",
                 {"CONTENT_TIMEOUT=300ms"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: DEADLINE_EXCEEDED: no answer from " + address +
                       " within CONTENT_TIMEOUT=300ms" + hint);

  r = RunCommand({ContentctlBinary(), "--server", address, "--timeout", "300ms",
                  "delete", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: DEADLINE_EXCEEDED: no answer from " + address +
                       " within --timeout 300ms (the write was sent and may "
                       "have been applied: read it back before writing "
                       "again)" +
                       hint);

  // -o json's message is the text line's.
  r = RunCommand({ContentctlBinary(), "--server", address, "--timeout", "300ms",
                  "get", "x", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto fields = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(fields.at("code").string_value(), "DEADLINE_EXCEEDED") << r.err;
  EXPECT_EQ(fields.at("message").string_value(),
            "no answer from " + address + " within --timeout 300ms" +
                hint.substr(0, hint.size() - 1))
      << r.err;
}

// --timeout inf is no deadline, not one in the past.
TEST_F(CliTest, InfiniteTimeoutWorks) {
  CtlOk({"apply", "-f", Write("inf1.md", Doc("inf", "", ""))});
  CommandResult r = Ctl({"--timeout", "inf", "get", "inf1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("inf"));
}

// A --timeout that is a duration but no deadline (`0`, `-5s`) says the rule
// it breaks; it was called an "invalid duration", which `0` is not.
TEST_F(CliTest, TimeoutOfZeroOrLessSaysItMustBeMoreThanZero) {
  for (const char* value : {"0", "-5s", "-inf"}) {
    CommandResult r = Ctl({"--timeout", value, "get", "x"});
    EXPECT_EQ(r.exit_code, 2) << value;
    EXPECT_THAT(
        r.err, StartsWith(absl::StrCat("--timeout: must be more than 0, got \"",
                                       value, "\" (inf for no deadline)\n")));
    EXPECT_THAT(r.out, IsEmpty());
  }
  CommandResult r = Ctl({"--timeout", "soon", "get", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--timeout: invalid duration \"soon\": want "
                                "e.g. 500ms, 10s, 2m, or inf\n"));
}

// An explicit --timeout also bounds the admin calls and the streams, which
// otherwise have long deadlines or none. Checked against a server that
// answers nothing (stopped with SIGSTOP): with the flag each command ends
// with DEADLINE_EXCEEDED; with their own defaults they would wait an hour
// or for ever. (A tiny deadline against a live server races the reply.)
TEST_F(CliTest, TimeoutFlagAppliesToAdminAndStreams) {
  TempDir dir;
  auto stopped = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(stopped, nullptr);
  const std::string file = Write("tmo/tmo1.md", Doc("tmo", "", ""));
  ASSERT_EQ(kill(stopped->pid(), SIGSTOP), 0);
  for (std::vector<std::string> args : {
           std::vector<std::string>{"admin", "compact"},
           {"admin", "fsck"},
           {"admin", "backup", files_.path() + "/backup"},
           {"export", "--dir", files_.path() + "/out"},
           {"apply", "-f", files_.path() + "/tmo"},
       }) {
    args.insert(args.begin(), {ContentctlBinary(), "--server",
                               stopped->address(), "--timeout", "300ms"});
    CommandResult r = RunCommand(args, "", {}, std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(args);
    EXPECT_THAT(r.err, HasSubstr("DEADLINE_EXCEEDED"))
        << ::testing::PrintToString(args);
  }
  ASSERT_EQ(kill(stopped->pid(), SIGCONT), 0);
  // Without the flag they keep their own defaults.
  CtlOk({"apply", "-f", file});
  CtlOk({"admin", "fsck"});
}

// Output that cannot be written fails the command instead of exiting 0
// with it lost; watch stops at the first failed write. A page that was not
// written gets no `total:` or `next page:` line (they came first, as if all
// was well).
TEST_F(CliTest, FailedWritesToStdoutFail) {
  CtlOk({"apply", "-f", Write("full1.md", Doc("Full", "", "afull"))});
  CtlOk({"apply", "-f", Write("full1.md", Doc("Full 2", "", "afull"))});
  CtlOk({"apply", "-f", Write("full2.md", Doc("Full", "", "afull"))});
  for (std::vector<std::string> args :
       {std::vector<std::string>{"export", "full1"},
        {"get", "full1"},
        {"history", "full1"},
        {"query", "--tag", "afull"},
        {"query", "--tag", "afull", "-o", "name"},
        {"query", "--tag", "afull", "-o", "markdown"},
        // Pages of one: a next-page hint to leave out too.
        {"query", "--limit", "1"},
        {"tags", "--limit", "1"},
        {"history", "full1", "--limit", "1"},
        {"watch", "--tag", "afull"}}) {
    args.insert(args.begin(),
                {ContentctlBinary(), "--server", server_->address()});
    // Every write to /dev/full fails with ENOSPC.
    std::unique_ptr<BackgroundCommand> ctl =
        BackgroundCommand::Start(args, "/dev/full", files_.path() + "/err.txt");
    ASSERT_NE(ctl, nullptr);
    const CommandResult r = ctl->Wait(std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(args) << "\n"
                              << r.err;
    // The OS's reason, and no gRPC code: the server is not to blame.
    EXPECT_EQ(r.err, "Error: writing to stdout: No space left on device\n")
        << ::testing::PrintToString(args);
  }
}

TEST_F(CliTest, ServerAndTokenFromEnvironment) {
  const std::string file = Write("env1.md", Doc("from env", "", "aenv"));
  CommandResult r =
      RunCommand({ContentctlBinary(), "apply", "-f", file}, "",
                 {"CONTENT_SERVER=" + server_->address(), "CONTENT_TOKEN=t0k"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/env1 created (revision 1)"));
  // --server wins over the environment.
  r = RunCommand(
      {ContentctlBinary(), "--server", server_->address(), "get", "env1"}, "",
      {"CONTENT_SERVER=127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// CONTENT_TIMEOUT is --timeout's variable, as etcdctl's
// ETCDCTL_COMMAND_TIMEOUT: an apply (no deadline of its own) to a server
// that never answers ends at it, where it would wait for a connection (4 s)
// and fail UNAVAILABLE; --timeout wins over it; a bad value is a usage
// error naming the variable; --help shows the value in effect.
TEST_F(CliTest, TimeoutFromEnvironment) {
  const std::string file = Write("tenv.md", Doc("Timeout env", "", ""));
  const HeldPort silent;
  ASSERT_GT(silent.port(), 0);
  const std::vector<std::string> apply = {
      ContentctlBinary(),
      "--server",
      absl::StrCat("127.0.0.1:", silent.port()),
      "apply",
      "-f",
      file};
  CommandResult r = RunCommand(apply, "", {"CONTENT_TIMEOUT=300ms"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("DEADLINE_EXCEEDED")) << r.err;
  std::vector<std::string> flagged = apply;
  flagged.insert(flagged.begin() + 1, {"--timeout", "300ms"});
  r = RunCommand(flagged, "", {"CONTENT_TIMEOUT=soon"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("DEADLINE_EXCEEDED")) << r.err;

  r = Ctl({"get", "tenv"}, {"CONTENT_TIMEOUT=0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("--timeout (from CONTENT_TIMEOUT): must be "
                                "more than 0, got \"0\""));
  r = Ctl({"get", "tenv", "-o", "json"}, {"CONTENT_TIMEOUT=soon"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("\"flag\":\"--timeout\""));
  EXPECT_THAT(r.err, HasSubstr("--timeout (from CONTENT_TIMEOUT): invalid "
                               "duration \\\"soon\\\""));
  r = Ctl({"--timeout", "0", "get", "tenv"}, {"CONTENT_TIMEOUT=1s"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("--timeout: must be more than 0"));

  EXPECT_THAT(Ctl({"get", "--help"}, {"CONTENT_TIMEOUT=45s"}).out,
              HasSubstr("--timeout TEXT:DURATION=45s (from CONTENT_TIMEOUT)"));
  EXPECT_THAT(Ctl({"get", "--help"}, {"CONTENT_TIMEOUT="}).out,
              HasSubstr("(env CONTENT_TIMEOUT)"));
}

// -s is --server, as kubectl's: before or after the verb, with a space,
// an `=` or joined, winning over CONTENT_SERVER as --server does; --help
// says so.
TEST_F(CliTest, DashSIsShortForServer) {
  CtlOk({"apply", "-f", Write("short-s.md", Doc("Short s", "", ""))});
  const std::vector<std::string> dead = {"CONTENT_SERVER=127.0.0.1:1"};
  const std::string at = server_->address();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"-s", at, "get", "short-s", "-o", "name"},
           {"get", "short-s", "-s", at, "-o", "name"},
           {"-s=" + at, "get", "short-s", "-o", "name"},
           {"-s" + at, "get", "short-s", "-o", "name"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    std::vector<std::string> argv = {ContentctlBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult r = RunCommand(argv, "", dead);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "articles/short-s\n");
  }
  const CommandResult help = Ctl({"get", "--help"}, {"CONTENT_SERVER="});
  EXPECT_THAT(help.out, HasSubstr("  -s,--server TEXT=127.0.0.1:7070 "
                                  "(env CONTENT_SERVER)\n"));
}

// A token file's newline is not part of the token (CONTENT_TOKEN from a
// Kubernetes Secret ends in one); other control characters are a usage
// error naming the flag, not a gRPC abort, and the token is not echoed.
TEST_F(CliTest, TokenWithNewlineWorksAndControlCharactersAreUsageErrors) {
  CtlOk({"apply", "-f", Write("tok1.md", Doc("tok", "", ""))});
  for (const char* token : {"t0k\n", "t0k\r\n"}) {
    CommandResult r =
        Ctl({"get", "tok1"}, {std::string("CONTENT_TOKEN=") + token});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = Ctl({"--token", token, "get", "tok1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  CommandResult r = Ctl({"get", "tok1"}, {"CONTENT_TOKEN=t0k\x01x"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--token (from CONTENT_TOKEN): contains a "
                               "control character"));
  EXPECT_THAT(r.err, Not(HasSubstr("t0k")));
  r = Ctl({"--token", "t0k\tx", "get", "tok1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("--token: contains a control character"));
  EXPECT_THAT(r.err, Not(HasSubstr("t0k")));
}

// ---- usage nits ------------------------------------------------------------

// `contentctl admin bogus` said "A subcommand is required", as if none had
// been given. An unknown command is named as such, with the ones there are
// (kubectl, etcdctl); so is a missing one, and an unknown verb.
TEST_F(CliTest, UnknownOrMissingCommandListsTheValidOnes) {
  CommandResult r = Ctl({"admin", "bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(
      r.err,
      "unknown admin command \"bogus\"; admin commands: backup, "
      "compact, fsck, stats, operations, health\nRun `contentctl admin --help` "
      "for more "
      "information.\n");
  r = Ctl({"admin"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "admin: needs a command; admin commands: backup, compact, fsck, "
            "stats, operations, health\nRun `contentctl admin --help` for more "
            "information.\n");
  r = Ctl({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("unknown verb \"frobnicate\"; verbs: apply, "
                                "edit, get, query, tags, categories, history, "
                                "delete, undelete, diff, restore, "
                                "translations, export, watch, admin, "
                                "version, completion, help\n"));
  r = Ctl({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("contentctl: needs a verb; verbs: apply, "));
  // A missing argument is still said as such.
  r = Ctl({"admin", "backup"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing DESTINATION: admin backup takes "));
  EXPECT_THAT(r.out, IsEmpty());
}

// An argument a command has no room for (`history a b`, `query ai`, a shell
// glob after `apply -f`) said CLI11's `The following arguments were not
// expected: c b`, the last first. They are named in the order typed, with
// what the command takes, as its usage line gives it.
TEST_F(CliTest, ArgumentsACommandHasNoRoomForAreNamedWithWhatItTakes) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
    std::string command;  // whose --help the hint names
  };
  for (const Case& c : std::vector<Case>{
           {{"history", "a", "b"},
            "unexpected argument \"b\": history takes an article id, `x` or "
            "`articles/x` (contentctl history ID)",
            "history"},
           {{"translations", "a", "b", "c"},
            "unexpected arguments \"b\" and \"c\": translations takes an "
            "article id, `x` or `articles/x` (contentctl translations ID)",
            "translations"},
           {{"query", "ai", "--limit", "5"},
            "unexpected argument \"ai\": query takes no arguments, only flags",
            "query"},
           {{"admin", "stats", "now"},
            "unexpected argument \"now\": admin stats takes no arguments, "
            "only flags",
            "admin stats"},
           {{"restore", "a", "1", "2"},
            "unexpected argument \"2\": restore takes 2 arguments (contentctl "
            "restore ID REVISION)",
            "restore"},
           {{"diff", "a", "1", "2", "3"},
            "unexpected argument \"3\": diff takes at most 3 arguments "
            "(contentctl diff [ID] [REV1] [REV2])",
            "diff"},
           {{"apply", "-f", "a.md", "b.md", "c.md"},
            "unexpected arguments \"b.md\" and \"c.md\": apply takes no "
            "arguments, only flags (each file its own -f: -f a.md -f b.md, "
            "or -f DIR for every Markdown file under DIR)",
            "apply"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    std::vector<std::string> args = c.args;
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.out, IsEmpty());
    EXPECT_EQ(r.err, absl::StrCat(c.error, "\nRun `contentctl ", c.command,
                                  " --help` for more information.\n"));
    args.push_back("-o");
    args.push_back("json");
    r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2);
    const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
    EXPECT_EQ(e.at("reason").string_value(), "UNEXPECTED_ARGUMENT");
    EXPECT_EQ(e.at("message").string_value(), c.error);
    EXPECT_EQ(e.at("flag").string_value(), "");
  }
}

// A switch given a value it cannot read said CLI11's `Could not convert:
// --show-deleted = maybe`. It says what a switch takes. `apply
// --dry-run=server`, kubectl's spelling, was such a value: it is what
// contentctl's dry run is (the server checks, nothing is written), so it is
// taken, and `=none` for none; `=client`, which contentctl has no form of,
// says what --dry-run does.
TEST_F(CliTest, ASwitchGivenAValueSaysWhatItTakes) {
  CommandResult r = Ctl({"get", "x", "--show-deleted=maybe"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "--show-deleted: takes no value, or true or false; got "
            "\"maybe\"\nRun `contentctl get --help` for more information.\n");
  r = Ctl({"get", "x", "--show-deleted=maybe", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("flag").string_value(), "--show-deleted");
  EXPECT_EQ(e.at("reason").string_value(), "INVALID_VALUE");

  const std::string file = Write("dry1.md", Doc("Dry", "", "adry"));
  r = Ctl({"apply", "-f", file, "--dry-run=server"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("dry run, nothing written"));
  EXPECT_EQ(Ctl({"get", "dry1"}).exit_code, 1);  // not written
  r = Ctl({"apply", "-f", file, "--dry-run=client", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("flag").string_value(), "--dry-run");
  EXPECT_EQ(e.at("reason").string_value(), "INVALID_VALUE");
  EXPECT_EQ(e.at("message").string_value(),
            "--dry-run: \"client\": contentctl has no dry run of its own: "
            "--dry-run (or --dry-run=server) has the server check each file, "
            "and writes nothing");
  EXPECT_EQ(Ctl({"get", "dry1"}).exit_code, 1);
  r = Ctl({"apply", "-f", file, "--dry-run=none"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/dry1 created (revision 1)"));
}

// kubectl and etcdctl take `help VERB`; contentctl took `help` for no verb
// at all, and `help get` for nothing either (`unknown verb "help"`). It
// is a verb: `help [VERB [COMMAND]]` prints what `[VERB [COMMAND]] --help`
// prints, and a word that names no command is an unknown command, named,
// with the ones there are.
TEST_F(CliTest, HelpVerbPrintsTheHelpOfTheVerbNamed) {
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{{},
                                             {"get"},
                                             {"query"},
                                             {"admin"},
                                             {"admin", "backup"},
                                             {"completion"},
                                             {"help"}}) {
    SCOPED_TRACE(::testing::PrintToString(words));
    std::vector<std::string> help = {"help"};
    help.insert(help.end(), words.begin(), words.end());
    std::vector<std::string> flag = words;
    flag.push_back("--help");
    const CommandResult want = Ctl(flag);
    ASSERT_EQ(want.exit_code, 0) << want.err;
    CommandResult r = Ctl(help);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, IsEmpty());
    EXPECT_EQ(r.out, want.out);
    // The global flags go anywhere, as with --help.
    help.insert(help.begin(), {"-o", "json"});
    r = Ctl(help);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, want.out);
  }
  // `help get` is get's help, not contentctl's.
  EXPECT_THAT(CtlOk({"help", "get"}), HasSubstr("--show-deleted"));
  EXPECT_THAT(CtlOk({"help"}), HasSubstr("\n  help "));
  // Words after a verb that takes no command are left alone, as kubectl
  // leaves them: the command line one was about to run.
  EXPECT_EQ(CtlOk({"help", "get", "some-id"}), CtlOk({"get", "--help"}));

  CommandResult r = Ctl({"help", "frob"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.err,
            "unknown verb \"frob\"; verbs: apply, edit, get, query, tags, "
            "categories, history, delete, undelete, diff, restore, "
            "translations, export, watch, admin, version, completion, "
            "help\nRun `contentctl --help` for more information.\n");
  r = Ctl({"help", "qeury"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("unknown verb \"qeury\" (did you mean "
                                "\"query\"?); verbs: apply, "));
  r = Ctl({"help", "admin", "frob"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(
      r.err,
      "unknown admin command \"frob\"; admin commands: backup, "
      "compact, fsck, stats, operations, health\nRun `contentctl admin --help` "
      "for more information.\n");
  // The hidden command the completion script calls is no verb to help on.
  r = Ctl({"help", "__complete"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("unknown verb \"__complete\"; verbs: "));
  r = Ctl({"help", "frob", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "UNKNOWN_COMMAND");
  EXPECT_THAT(e.at("message").string_value(),
              StartsWith("unknown verb \"frob\"; verbs: apply, "));
  EXPECT_EQ(e.at("hint").string_value(),
            "Run `contentctl --help` for more information.");
}

// A required argument left out is named as --help names it, in capitals,
// with the command's arguments as its usage line gives them: CLI11 said
// `id is required` (`revision is required`, `destination is required`)
// where help said `id` and -o json's `flag` said `ID`. An argument's own
// errors name it alike (`REV1: must be at least 1, got 0`), and apply's
// -f, the one required flag, as delete's usage names it.
TEST_F(CliTest, MissingArgumentsAreNamedAsHelpNamesThem) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
    std::string flag;
  };
  for (const Case& c : std::vector<Case>{
           {{"get"},
            "missing ID: get takes one or more article ids, `x` or "
            "`articles/x` (contentctl get ID...); to list articles: "
            "contentctl query",
            "ID"},
           {{"history"},
            "missing ID: history takes an article id, `x` or `articles/x` "
            "(contentctl history ID)",
            "ID"},
           {{"diff"},
            "missing ID: diff takes an article id, `x` or `articles/x`, or "
            "-f FILE for what applying it would change (contentctl diff ID "
            "[REV1] [REV2], contentctl diff -f FILE)",
            "ID"},
           {{"restore", "x"},
            "missing REVISION: restore takes the revision to restore "
            "(contentctl restore ID REVISION)",
            "REVISION"},
           {{"admin", "backup"},
            "missing DESTINATION: admin backup takes the absolute path of a "
            "directory on the server to write the backup to (contentctl "
            "admin backup DESTINATION)",
            "DESTINATION"},
           {{"completion"},
            "missing SHELL: completion takes the shell to complete for, bash "
            "or zsh (contentctl completion SHELL)",
            "SHELL"},
           {{"diff", "x", "0"},
            "REV1: must be at least 1, got 0 (leave it out for the one "
            "before REV2)",
            "REV1"},
           // apply's files come with -f, a required flag, said alike
           // (CLI11 said `--filename is required`).
           {{"apply"},
            "missing -f: apply takes the files to apply, each its own -f: a "
            ".md file, a directory (every Markdown file under it) or - (one "
            "article "
            "on stdin) (contentctl apply -f FILE...)",
            "-f"},
       }) {
    std::vector<std::string> args = c.args;
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << c.error;
    std::string command = "contentctl";
    for (const std::string& a : c.args) {
      if (absl::StartsWith(a, "x") || absl::StartsWith(a, "0")) break;
      command += " " + a;
    }
    EXPECT_EQ(r.err, c.error + "\nRun `" + command +
                         " --help` for more information.\n");
    args.push_back("-o");
    args.push_back("json");
    r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << c.error;
    const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
    EXPECT_EQ(e.at("message").string_value(), c.error);
    EXPECT_EQ(e.at("flag").string_value(), c.flag);
  }
  // --help's usage line names them the same way.
  EXPECT_THAT(CtlOk({"get", "--help"}),
              HasSubstr("Usage: contentctl get [OPTIONS] ID...\n"));
  EXPECT_THAT(CtlOk({"diff", "--help"}),
              HasSubstr("Usage: contentctl diff [OPTIONS] [ID] [REV1] "
                        "[REV2]\n"));
  EXPECT_THAT(CtlOk({"admin", "backup", "--help"}),
              HasSubstr("[OPTIONS] DESTINATION\n"));
}

// kubectl lists with `get` and no name, or `get pods`: `contentctl get`
// said only that ID was missing, and `get articles` that no article
// "articles" was found. Both say that query lists them, with the exit code
// and reason they had.
TEST_F(CliTest, GetWithoutAnIdSaysQueryLists) {
  CommandResult r = Ctl({"get"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(Lines(r.err).front(),
              EndsWith("; to list articles: contentctl query"));
  r = Ctl({"get", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "MISSING_ARGUMENT");
  EXPECT_EQ(e.at("flag").string_value(), "ID");
  EXPECT_THAT(e.at("message").string_value(),
              EndsWith("; to list articles: contentctl query"));
  // Other verbs that need an id are as they were.
  EXPECT_THAT(Ctl({"history"}).err, Not(HasSubstr("to list")));

  for (const char* id : {"articles", "article"}) {
    r = Ctl({"get", id});
    EXPECT_EQ(r.exit_code, 1) << id;
    EXPECT_THAT(r.err, StartsWith(absl::StrCat("Error: NOT_FOUND: articles/",
                                               id, " not found")));
    EXPECT_THAT(r.err, EndsWith("; to list articles: contentctl query\n"));
  }
  r = Ctl({"get", "articles", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "ARTICLE_NOT_FOUND");
  // An article of that id is read as any other.
  CtlOk({"apply", "-f", Write("articles.md", Doc("Named so", "", ""))});
  EXPECT_EQ(GetJson("articles").title(), "Named so");
}

// pflag, and so kubectl, takes `-o=json` as `-o json`; CLI11 read the
// value "=json" and refused it. Every short flag that takes a value (-o,
// apply's -f) takes it so, in the output, in a usage error's format, and
// up to `--` only.
TEST_F(CliTest, ShortFlagsTakeAValueAfterAnEqualsSign) {
  const std::string file = Write("eq1.md", Doc("Equals", "", "eqtag"));
  EXPECT_THAT(CtlOk({"apply", "-f=" + file}),
              HasSubstr("articles/eq1 created"));
  EXPECT_EQ(ParseJson<v1::Article>(CtlOk({"get", "eq1", "-o=json"})).title(),
            "Equals");
  EXPECT_EQ(
      YAML::Load(CtlOk({"-o=yaml", "get", "eq1"}))["title"].as<std::string>(),
      "Equals");
  EXPECT_EQ(CtlOk({"get", "eq1", "-o=json"}),
            CtlOk({"get", "eq1", "-o", "json"}));
  // A usage error comes in the format asked for.
  CommandResult r = Ctl({"get", "-o=json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(ParseJson<google::protobuf::Struct>(r.err)
                .fields()
                .at("reason")
                .string_value(),
            "MISSING_ARGUMENT");
  // A value that is no format is named as given, without the "=".
  r = Ctl({"get", "eq1", "-o=xml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("xml"));
  EXPECT_THAT(r.err, Not(HasSubstr("=xml")));
  // After `--` it is an argument: an id, which this is not.
  r = Ctl({"get", "--", "-o=json"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out, IsEmpty());
}

// `admin operations` printed "No backup, compaction or check running." on
// stdout, where query's "No articles found." goes to stderr: a script
// reading stdout took it for a result. Every empty result's notice is on
// stderr, stdout empty; -o json|yaml print the empty response on stdout.
TEST_F(CliTest, EmptyResultNoticesGoToStderr) {
  for (const auto& [args, notice] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"admin", "operations"},
            "No backup, compaction or check running.\n"},
           {{"query", "--tag", "notice-none"}, "No articles found.\n"},
           {{"tags", "--prefix", "notice-none"}, "None found.\n"}}) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "") << notice;
    EXPECT_EQ(r.err, notice);
  }
  CommandResult r = Ctl({"admin", "operations", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  const YAML::Node n = YAML::Load(r.out);
  ASSERT_TRUE(n["operations"].IsSequence()) << r.out;
  EXPECT_EQ(n["operations"].size(), 0u);
}

// A backup re-run to the same destination (its first reply lost to a
// timeout or a killed contentctl) said only "already exists". It says the
// backup there is complete if an earlier run wrote it, and how to check it,
// which works as said.
TEST_F(CliTest, ABackupRerunSaysTheOneThereIsCompleteAndHowToCheckIt) {
  if (::content::testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  const std::string dest = files_.path() + "/bk";
  CtlOk({"admin", "backup", dest});
  CommandResult r = Ctl({"admin", "backup", dest});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(
      r.err,
      StartsWith("Error: ALREADY_EXISTS: DESTINATION: destination: " + dest +
                 " already exists on the server: if an "
                 "earlier `admin backup` to it ran"));
  EXPECT_THAT(r.err, HasSubstr("that backup is complete"));
  const std::string check = "contentd --data-dir " + dest + " --check";
  EXPECT_THAT(r.err, HasSubstr("`" + check + "`"));
  r = RunCommand(
      {::content::testing::ContentdBinary(), "--data-dir", dest, "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("(sequences "));
  EXPECT_THAT(r.out, HasSubstr("\nclean\n"));
}

// The server's INVALID_ARGUMENT names the request field (`query.tags[0]`,
// `page_token`, `fallback_langs`); of a value given by a flag, the error
// names the flag first, as contentctl's own checks do.
TEST_F(CliTest, ServerErrorsOfAFlagsValueNameTheFlag) {
  CtlOk({"apply", "-f", Write("flagged.md", Doc("Flagged", "", "flagged"))});
  const std::string long_text(1100, 'x');
  for (const auto& [args, prefix] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"query", "--tag", " ai"},
            "--tag: query.tags[0]: must not start or end with a space"},
           {{"query", "--tag", "ai", "--not-tag", "x\ty"},
            "--not-tag: query.not_tags[0]: must not contain control "
            "characters"},
           {{"query", "--category", "news "},
            "--category: query.categories[0]: must not start or end"},
           {{"query", "--text", long_text},
            "--text: query.text: must be at most 1024 bytes, got 1100"},
           {{"query", "--page-token", "bogus"}, "--page-token: page_token: "},
           {{"tags", "--page-token", "bogus"}, "--page-token: page_token: "},
           {{"categories", "--page-token", "bogus"},
            "--page-token: page_token: "},
           {{"history", "flagged", "--page-token", "bogus"},
            "--page-token: page_token: "},
           {{"get", "flagged", "--lang", "en", "--fallback",
             "aa,ab,ac,ad,ae,af,ag,ah,ai,aj,ak,al,am,an,ao,ap,aq"},
            "--fallback: fallback_langs: at most 16, got 17"},
           {{"get", "bad!id"}, "ID: name: "},
           {{"translations", "bad!id"}, "ID: name: "},
           {{"diff", "bad!id"}, "ID: name: "},
           {{"delete", "bad!id"}, "ID: name: "},
           {{"undelete", "bad!id"}, "ID: name: "},
           {{"restore", "bad!id", "1"}, "ID: name: "},
           // export said `name: ...`, naming no argument.
           {{"export", "bad!id"}, "ID: name: "},
           {{"history", "bad!id"}, "ID: name: "},
           {{"watch", "--tag", " x", "--count", "1"},
            "--tag: filter.tags[0]: must not start or end with a space"},
       }) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(args) << r.err;
    EXPECT_THAT(r.err, StartsWith("Error: INVALID_ARGUMENT: " + prefix))
        << ::testing::PrintToString(args);
  }
}

// apply's errors from the server name the file and the front-matter key the
// user wrote, not the Article field the server checks (`publishDate`, not
// `publish_time`; `article.` from UpdateArticle), for every file of a
// directory, and the summary counts what was applied and what failed. A
// write's failed condition is led by its flag, as the other verbs' are.
TEST_F(CliTest, ApplyErrorsNameTheFileAndTheFrontMatterKey) {
  const std::string dir = files_.path() + "/keys";
  Write("keys/keys-good.md", Doc("Good", "2025-01-01", "k1"));
  Write("keys/dates.md", Doc("Dates", "2025-01-01", "k1",
                             "publishDate: 2030-01-01\n"
                             "expiryDate: 2029-01-01\n"));
  Write("keys/group.md",
        Doc("Group", "2025-01-01", "k1", "translationKey: \" spaced\"\n"));
  Write("keys/has space.md", Doc("Space", "2025-01-01", "k1"));
  Write("keys/named.md", Doc("Named", "2025-01-01", "k1", "id: \"a b\"\n"));
  Write("keys/tagged.md", Doc("Tagged", "2025-01-01", "k1, \"k2 \""));
  CommandResult r = Ctl({"apply", "-f", dir});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  for (const std::string& line : {
           "dates.md: error: INVALID_ARGUMENT: expiryDate: must be after "
           "publishDate\n",
           "group.md: error: INVALID_ARGUMENT: translationKey: must not start "
           "or end with a space: \" spaced\"\n",
           "has space.md: error: INVALID_ARGUMENT: id (from the file name): "
           "must be 1-128 characters",
           "named.md: error: INVALID_ARGUMENT: id: must be 1-128 characters",
           "tagged.md: error: INVALID_ARGUMENT: tags[1]: must not start or "
           "end with a space",
       }) {
    EXPECT_THAT(r.err, HasSubstr(dir + "/" + line));
  }
  for (const char* field : {"publish_time", "expiry_time", "translation_key",
                            "name:", "article."}) {
    EXPECT_THAT(r.err, Not(HasSubstr(field)));
  }
  EXPECT_THAT(r.out, HasSubstr("applied 1 of 6 files: 1 created, 0 updated, 0 "
                               "unchanged, 5 failed\n"));
  // -o json carries the same errors.
  r = Ctl({"apply", "-f", dir + "/dates.md", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"error\": \"INVALID_ARGUMENT: expiryDate: "
                               "must be after publishDate\""));

  // One file through UpdateArticle (--expected-revision), whose errors say
  // `article.expiry_time`.
  const std::string one =
      Write("keys-cond.md", Doc("Cond", "2025-01-01", "k1"));
  CtlOk({"apply", "-f", one});
  Write("keys-cond.md",
        Doc("Cond", "2025-01-01", "k1",
            "publishDate: 2030-01-01\nexpiryDate: 2029-01-01\n"));
  r = Ctl({"apply", "-f", one, "--expected-revision", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(one + ": error: INVALID_ARGUMENT: expiryDate: "
                                     "must be after publishDate\n"));
  Write("keys-cond.md", Doc("Cond 2", "2025-01-01", "k1"));
  r = Ctl({"apply", "-f", one, "--expected-revision", "5"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(one + ": error: FAILED_PRECONDITION: "
                                     "--expected-revision: expected_revision "
                                     "5 does not match the head revision 1"));
  r = Ctl({"apply", "-f", one, "--etag", "bogus"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(one + ": error: FAILED_PRECONDITION: --etag: "
                                     "etag bogus does not match"));
  // Standard input's id from --id.
  r = RunCommand({ContentctlBinary(), "--server", server_->address(), "apply",
                  "-f", "-", "--id", "c d"},
                 Doc("Stdin", "2025-01-01", "k1"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("<stdin>: error: INVALID_ARGUMENT: --id: must "
                               "be 1-128 characters"));
}

// `get a.md`, naming the file `apply -f a.md` read, found nothing and
// said only that: the error now says how apply names the article. An id
// without the extension, or an article that exists, is as before.
TEST_F(CliTest, AnIdThatReadsAsAFileNameSaysHowApplyNamesArticles) {
  const std::string hint =
      "; \"notes.md\" reads as a file name: `apply` names an article after "
      "its file without \".md\" (articles/notes) unless its front matter "
      "gives an id";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"get", "notes.md"},
                                             {"history", "notes.md"},
                                             {"delete", "notes.md"},
                                             {"get", "notes.md", "absent"}}) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(args);
    EXPECT_THAT(Lines(r.err).front(), EndsWith(hint))
        << ::testing::PrintToString(args);
  }
  CommandResult r = Ctl({"-o", "json", "get", "page.markdown"});
  EXPECT_EQ(r.exit_code, 1);
  const auto error = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(error.at("reason").string_value(), "ARTICLE_NOT_FOUND");
  EXPECT_THAT(error.at("message").string_value(),
              EndsWith("(articles/page) unless its front matter gives an id"));
  r = Ctl({"get", "notes"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, Not(HasSubstr("file name")));
  // An article whose id does end so is read as any other.
  CtlOk({"apply", "-f",
         Write("fnh1.md", "---\nid: fnh-guide.md\ntitle: t\n---\nbody\n")});
  EXPECT_EQ(ParseJson<v1::Article>(CtlOk({"get", "fnh-guide.md", "-o", "json"}))
                .name(),
            "articles/fnh-guide.md");
}

// A mistyped flag, verb or admin command says what it is near (git's "did
// you mean"): a slip of the keys, another case or number, or the start of
// a longer flag; names far from every one say nothing more, and the flags
// offered are those of the command given (global ones included).
TEST_F(CliTest, AMistypedNameSaysWhichItIsNear) {
  for (const auto& [args, line] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"query", "--tga", "x"},
            "unknown flag \"--tga\" (did you mean \"--tag\"?)"},
           {{"query", "--tags", "x"},
            "unknown flag \"--tags\" (did you mean \"--tag\"?)"},
           {{"query", "--Since=2020-01-01"},
            "unknown flag \"--Since\" (did you mean \"--since\"?)"},
           {{"get", "--revison", "2", "x"},
            "unknown flag \"--revison\" (did you mean \"--revision\"?)"},
           {{"get", "--rev", "2", "x"},
            "unknown flag \"--rev\" (did you mean \"--revision\"?)"},
           {{"get", "x", "--sevrer", "y"},
            "unknown flag \"--sevrer\" (did you mean \"--server\"?)"},
           // --tag is query's, not get's.
           {{"get", "--tga", "x"}, "unknown flag \"--tga\""},
           {{"query", "--zzzz"}, "unknown flag \"--zzzz\""},
           {{"query", "--ta"}, "unknown flag \"--ta\""},
           {{"admin", "compcat"},
            "unknown admin command \"compcat\" (did you mean \"compact\"?); "
            "admin commands: backup, compact, fsck, stats, operations, "
            "health"}}) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_EQ(Lines(r.err).front(), line) << ::testing::PrintToString(args);
  }
  CommandResult r = Ctl({"qeury"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("unknown verb \"qeury\" (did you mean "
                                "\"query\"?); verbs: apply, "));
  // As near to two: both.
  r = Ctl({"query", "--publish", "2020-01-01"});
  EXPECT_THAT(r.err, StartsWith("unknown flag \"--publish\" (did you mean "
                                "\"--publish-from\" or \"--publish-to\"?)\n"));
  r = Ctl({"-o", "json", "query", "--tga", "x"});
  EXPECT_EQ(r.exit_code, 2);
  const auto error = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(error.at("flag").string_value(), "--tga");
  EXPECT_EQ(error.at("reason").string_value(), "UNKNOWN_FLAG");
  EXPECT_EQ(error.at("message").string_value(),
            "unknown flag \"--tga\" (did you mean \"--tag\"?)");
}

// A flag named for what it means, as other tools name it, got no
// suggestion, being no slip of the flag's spelling: `watch
// --from-revision 3` said only `unknown flag "--from-revision"`. A small
// table of such names suggests the flag of that meaning the command has
// (`--deleted` is query's --include-deleted and get's --show-deleted), and
// spelling slips are still found.
TEST_F(CliTest, UnknownFlagsNamedForTheirMeaningSuggestTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
    std::string meant;
  };
  for (const Case& c : std::vector<Case>{
           {{"watch", "--from-revision", "3"}, "--from-revision", "--after"},
           {{"watch", "--since-revision=3"}, "--since-revision", "--after"},
           {{"watch", "--from-sequence", "3"}, "--from-sequence", "--after"},
           // (watch --limit: AnotherVerbsFlagSaysWhichVerbsTakeIt.)
           {{"query", "--page-size", "5"}, "--page-size", "--limit"},
           {{"history", "x", "--page-size", "5"}, "--page-size", "--limit"},
           {{"query", "--search", "x"}, "--search", "--text"},
           {{"query", "--before", "2024-01-01"}, "--before", "--until"},
           {{"query", "--deleted"}, "--deleted", "--include-deleted"},
           {{"get", "x", "--deleted"}, "--deleted", "--show-deleted"},
           {{"delete", "x", "--if-match", "e"}, "--if-match", "--etag"},
           {{"get", "x", "--json"}, "--json", "-o json"},
           {{"get", "x", "--host", "h:1"}, "--host", "--server"},
           // kubectl's and etcdctl's names for the global flags.
           {{"--endpoints", "h:1", "get", "x"}, "--endpoints", "--server"},
           {{"get", "x", "--write-out", "json"}, "--write-out", "--output"},
           {{"query", "-w", "json"}, "-w", "-o"},
           {{"get", "x", "--request-timeout=5s"},
            "--request-timeout",
            "--timeout"},
           {{"--command-timeout", "5s", "get", "x"},
            "--command-timeout",
            "--timeout"},
           {{"get", "x", "--dial-timeout", "5s"},
            "--dial-timeout",
            "--timeout"},
           {{"get", "x", "--certificate-authority", "ca.pem"},
            "--certificate-authority",
            "--ca"},
           {{"get", "x", "--client-certificate", "c.pem"},
            "--client-certificate",
            "--cert"},
           {{"query", "--chunk-size", "5"}, "--chunk-size", "--limit"},
           // contentd --version's counterpart is a verb (kubectl's and
           // etcdctl's spelling), which `contentctl --version` did not say.
           {{"--version"}, "--version", "contentctl version"},
           {{"get", "x", "--version"}, "--version", "contentctl version"},
           // A slip of the spelling, as before.
           {{"query", "--tga", "x"}, "--tga", "--tag"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err,
                StartsWith("unknown flag \"" + c.flag + "\" (did you mean \"" +
                           c.meant + "\"?)\nRun `contentctl "));
  }
  // Only a flag the command has: watch has no --text, query no --after.
  CommandResult r = Ctl({"watch", "--search", "x"});
  EXPECT_THAT(r.err, StartsWith("unknown flag \"--search\"\n"));
  r = Ctl({"query", "--from-revision", "3", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("message").string_value(), "unknown flag \"--from-revision\"");
  EXPECT_EQ(e.at("reason").string_value(), "UNKNOWN_FLAG");
}

// A verb's flag put before the verb said `unknown flag "--limit" (did you
// mean "--limit"?)`, suggesting the very flag. Global flags go before or
// after the verb; a verb's flags after it, which the error now says, with
// the flag as typed in its place. (They are not moved after the verb: a
// flag means what its verb makes it mean.)
TEST_F(CliTest, AVerbsFlagBeforeTheVerbSaysWhereItGoes) {
  struct Case {
    std::vector<std::string> args;
    std::string line;
    std::string help;
  };
  for (const Case& c : std::vector<Case>{
           {{"--limit", "5", "query"},
            "--limit is a flag of \"query\": put it after the verb "
            "(contentctl query --limit 5)",
            "contentctl query"},
           {{"--limit=5", "query", "--tag", "x"},
            "--limit is a flag of \"query\": put it after the verb "
            "(contentctl query --limit=5)",
            "contentctl query"},
           {{"--tag", "a b", "query"},
            "--tag is a flag of \"query\": put it after the verb "
            "(contentctl query --tag 'a b')",
            "contentctl query"},
           // No value: named as --help names it.
           {{"--limit", "query"},
            "--limit is a flag of \"query\": put it after the verb "
            "(contentctl query --limit INT)",
            "contentctl query"},
           {{"--all", "get", "x"},
            "--all is a flag of \"get\": put it after the verb (contentctl "
            "get --all)",
            "contentctl get"},
           {{"admin", "--storage", "compact"},
            "--storage is a flag of \"admin compact\": put it after the "
            "command (contentctl admin compact --storage)",
            "contentctl admin compact"},
           // No verb: the verbs that have it.
           {{"--limit", "5"},
            "--limit is a flag of \"query\", \"tags\", \"categories\" and "
            "\"history\": put it after the verb (contentctl VERB --limit 5)",
            "contentctl"},
           {{"--show-deleted"},
            "--show-deleted is a flag of \"get\": put it after the verb "
            "(contentctl get --show-deleted)",
            "contentctl"},
           // After `--` it is an argument: no flag to suggest, itself least.
           {{"query", "--", "--limit"},
            "unknown flag \"--limit\"",
            "contentctl query"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, absl::StrCat(c.line, "\nRun `", c.help,
                                  " --help` for more information.\n"));
    EXPECT_THAT(r.out, IsEmpty());
  }
  // Under -o json, its own reason.
  CommandResult r = Ctl({"-o", "json", "--limit", "5", "query"});
  EXPECT_EQ(r.exit_code, 2);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "MISPLACED_FLAG");
  EXPECT_EQ(e.at("flag").string_value(), "--limit");
  // Global flags still go anywhere, `=` or not; the verb's after it work.
  EXPECT_LE(ParseJson<v1::QueryArticlesResponse>(
                CtlOk({"query", "--limit", "5", "--timeout=30s", "-o", "json"}))
                .articles_size(),
            5);
  EXPECT_LE(
      ParseJson<v1::QueryArticlesResponse>(
          CtlOk({"--timeout", "30s", "query", "--limit=5", "--output=json"}))
          .articles_size(),
      5);
  // A flag of another verb after this one is unknown to it
  // (AnotherVerbsFlagSaysWhichVerbsTakeIt).
  r = Ctl({"get", "x", "--limit", "5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("unknown flag \"--limit\" for \"get\": "));
  // The completion script's calls print nothing, whatever the mistake.
  r = Ctl({"--limit", "5", "__complete", "tags", "--", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, IsEmpty());
}

// A flag of another verb given to this one said only `unknown flag
// "--limit"`; it now says which verbs take it, as a verb's flag before the
// verb does (AVerbsFlagBeforeTheVerbSaysWhereItGoes), still UNKNOWN_FLAG:
// this verb has no such flag, wherever it goes.
TEST_F(CliTest, AnotherVerbsFlagSaysWhichVerbsTakeIt) {
  for (const auto& [args, line, help] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"get", "x", "--limit", "5"},
            "unknown flag \"--limit\" for \"get\": it is a flag of \"query\", "
            "\"tags\", \"categories\" and \"history\"",
            "contentctl get"},
           {{"history", "x", "--tag=a"},
            "unknown flag \"--tag\" for \"history\": it is a flag of "
            "\"query\", \"export\" and \"watch\"",
            "contentctl history"},
           {{"get", "x", "--dir", "d"},
            "unknown flag \"--dir\" for \"get\": it is a flag of \"export\"",
            "contentctl get"},
           // What it may be meant as here, then where it is a flag.
           {{"watch", "--limit", "2"},
            "unknown flag \"--limit\" for \"watch\" (did you mean "
            "\"--count\"?): it is a flag of \"query\", \"tags\", "
            "\"categories\" and \"history\"",
            "contentctl watch"},
           // Before the verb, but not the verb's: still not where it goes.
           {{"--limit", "5", "get", "x"},
            "unknown flag \"--limit\" for \"get\": it is a flag of \"query\", "
            "\"tags\", \"categories\" and \"history\"",
            "contentctl get"},
           {{"admin", "stats", "--storage"},
            "unknown flag \"--storage\" for \"admin stats\": it is a flag of "
            "\"admin compact\"",
            "contentctl admin stats"},
           // Nobody's flag, or after `--`: unknown, as before.
           {{"get", "x", "--bogus"},
            "unknown flag \"--bogus\"",
            "contentctl get"},
           {{"get", "x", "--", "--limit"},
            "unknown flag \"--limit\"",
            "contentctl get"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, absl::StrCat(line, "\nRun `", help,
                                  " --help` for more information.\n"));
    EXPECT_THAT(r.out, IsEmpty());
  }
  CommandResult r = Ctl({"-o", "json", "get", "x", "--limit", "5"});
  EXPECT_EQ(r.exit_code, 2);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "UNKNOWN_FLAG");
  EXPECT_EQ(e.at("flag").string_value(), "--limit");
  EXPECT_EQ(e.at("message").string_value(),
            "unknown flag \"--limit\" for \"get\": it is a flag of \"query\", "
            "\"tags\", \"categories\" and \"history\"");
}

// Flags that do not go together are said one way, as contentctl's own
// checks say it, `FLAG: cannot be combined with OTHER (why)`, in the same
// order whichever came first: CLI11 said `--dir excludes --revision` or
// `--revision excludes --dir` by the order given, and export `give an ID
// or --dir, not both`. Exit 2 with the verb's help, EXCLUDED_FLAGS.
TEST_F(CliTest, FlagsThatDoNotGoTogetherAreSaidOneWay) {
  const std::string dir = files_.path() + "/out";
  for (const auto& [args, line, help] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"export", "--dir", dir, "--revision", "2"},
            "--revision: cannot be combined with --dir (export --dir writes "
            "the head of each article it selects)",
            "export"},
           {{"export", "--revision=2", "--dir", dir},
            "--revision: cannot be combined with --dir (export --dir writes "
            "the head of each article it selects)",
            "export"},
           {{"watch", "--from-now", "--after", "3"},
            "--from-now: cannot be combined with --after (each says where the "
            "watch starts)",
            "watch"},
           {{"watch", "--after", "3", "--from-now"},
            "--from-now: cannot be combined with --after (each says where the "
            "watch starts)",
            "watch"},
           {{"export", "x", "--dir", dir},
            "--dir: cannot be combined with ID (export ID prints that one "
            "article; export --dir DIR writes those the filters select)",
            "export"},
           // The checks that said it so already.
           {{"get", "x", "--lang", "en", "--revision", "2"},
            "--revision: cannot be combined with --lang (a translation is "
            "always the head)",
            "get"},
           {{"export", "x", "--tag", "t"},
            "--tag: applies only with --dir (export ID prints that one "
            "article)",
            "export"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, absl::StrCat(line, "\nRun `contentctl ", help,
                                  " --help` for more information.\n"));
    EXPECT_THAT(r.out, IsEmpty());
  }
  EXPECT_FALSE(fs::exists(dir));
  CommandResult r =
      Ctl({"-o", "json", "export", "--dir", dir, "--revision", "2"});
  EXPECT_EQ(r.exit_code, 2);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "EXCLUDED_FLAGS");
  EXPECT_EQ(e.at("flag").string_value(), "--revision");
  EXPECT_EQ(e.at("message").string_value(),
            "--revision: cannot be combined with --dir (export --dir writes "
            "the head of each article it selects)");
}

// An unknown flag is named, with the help of the command it was given to,
// at every level: `admin --bogus` said that admin needs a command, `--bogus`
// alone that contentctl needs a verb, and `admin backup --bogus` that the
// destination is missing.
TEST_F(CliTest, UnknownFlagIsNamedAtEveryLevel) {
  for (const auto& [args, flag, help] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"--bogus"}, "--bogus", "contentctl --help"},
           {{"admin", "--bogus"}, "--bogus", "contentctl admin --help"},
           {{"admin", "-x"}, "-x", "contentctl admin --help"},
           {{"admin", "--bogus", "stats"},
            "--bogus",
            "contentctl admin stats --help"},
           {{"admin", "backup", "--bogus"},
            "--bogus",
            "contentctl admin backup --help"},
           {{"admin", "compact", "--bogus=1"},
            "--bogus",
            "contentctl admin compact --help"},
           {{"get", "--bogus", "x"}, "--bogus", "contentctl get --help"},
           {{"apply", "-f", "-", "--bogus"},
            "--bogus",
            "contentctl apply --help"},
           {{"watch", "--bogus"}, "--bogus", "contentctl watch --help"},
           {{"delete", "x", "--bogus"}, "--bogus", "contentctl delete --help"},
           // (Under -o json, one object: UsageErrorsUnderJsonAreOneObject.)
           {{"undelete", "x", "--bogus"},
            "--bogus",
            "contentctl undelete --help"},
           {{"restore", "x", "1", "--etag=e", "--bogus"},
            "--bogus",
            "contentctl restore --help"},
           {{"version", "--bogus"}, "--bogus", "contentctl version --help"}}) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_EQ(r.err, absl::StrCat("unknown flag \"", flag, "\"\nRun `", help,
                                  "` for more information.\n"))
        << ::testing::PrintToString(args);
    EXPECT_THAT(r.out, IsEmpty());
  }
  // Each write's help names the conditions it takes.
  for (const char* verb : {"apply", "delete", "undelete", "restore"}) {
    CommandResult r = Ctl({verb, "--help"});
    EXPECT_EQ(r.exit_code, 0) << verb;
    EXPECT_THAT(r.out, HasSubstr("--expected-revision INT")) << verb;
    EXPECT_THAT(r.out, HasSubstr("--etag TEXT")) << verb;
  }
  // `-5` is a value, not a flag: its own error stands.
  CommandResult r = Ctl({"get", "x", "--revision", "-5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--revision: must be at least 1, got -5"));
}

// Export into a directory that cannot take the file: the OS's reason, not
// an UNAVAILABLE that blamed the server. The file export writes first
// (`.ID.md.contentctl-tmp`) is a link to /dev/full, where every write
// fails with ENOSPC.
TEST_F(CliTest, ExportWriteFailureSaysWhyLocally) {
  CtlOk({"apply", "-f", Write("fullx.md", Doc("Full dir", "", "afullx"))});
  const std::string out = files_.path() + "/fullx-out";
  std::filesystem::create_directories(out);
  std::filesystem::create_symlink("/dev/full",
                                  out + "/.fullx.md.contentctl-tmp");
  CommandResult r = Ctl({"export", "--dir", out, "--tag", "afullx"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: writing " + out + "/fullx.md: No space left on device\n");
}

// `export --dir --text` writes what `query --text` finds, and nothing
// else: ExportArticles took a text query, contentctl had no flag for it.
TEST_F(CliTest, ExportTextWritesWhatTheSearchFinds) {
  CtlOk({"apply", "-f",
         Write("xtext1.md", Doc("召回通知", "2025-03-01 08:00:00", "xtext", "",
                                "厂商宣布召回部分产品。\n"))});
  CtlOk({"apply", "-f",
         Write("xtext2.md", Doc("Recall notice", "2025-03-02 08:00:00", "xtext",
                                "", "A recall of some units.\n"))});
  CtlOk({"apply", "-f",
         Write("xtext3.md", Doc("新品发布", "2025-03-03 08:00:00", "xtext", "",
                                "新产品今日发布。\n"))});
  const std::string out = files_.path() + "/xtext-out";
  CommandResult r =
      Ctl({"export", "--dir", out, "--tag", "xtext", "--text", "召回"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> written;
  for (const auto& e : std::filesystem::directory_iterator(out))
    written.push_back(e.path().filename().string());
  EXPECT_THAT(written, ElementsAre("xtext1.md"));
  EXPECT_THAT(r.err, HasSubstr("exported 1 article"));
  // As the other filters, it selects what --dir writes only.
  r = Ctl({"export", "xtext1", "--text", "召回"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              StartsWith("--text: applies only with --dir (export ID prints "
                         "that one article)"));
}

// Runs `contentctl watch --count 2 ARGS` against a contentd of its own,
// which is killed (SIGKILL) once the first event (articles/rc1) is out and
// restarted on the same port once the watch says it lost the stream; a
// second article is written once it says it reconnected. Returns the
// watch's result; `files` holds the article files.
CommandResult WatchAcrossARestart(const std::string& files,
                                  const std::vector<std::string>& args) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  if (server == nullptr) {
    ADD_FAILURE() << "no contentd";
    return {};
  }
  const auto apply = [&](const std::string& id) {
    const std::string path = files + "/" + id + ".md";
    WriteFile(path, Doc(id, "", ""));
    return Ctl(*server, {"apply", "-f", path}).exit_code;
  };
  EXPECT_EQ(apply("rc1"), 0);
  const std::string out = dir.path() + "/watch.out";
  const std::string err = dir.path() + "/watch.err";
  std::vector<std::string> argv = {ContentctlBinary(), "--server",
                                   server->address(),  "watch",
                                   "--count",          "2"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::unique_ptr<BackgroundCommand> watch =
      BackgroundCommand::Start(argv, out, err);
  if (watch == nullptr) {
    ADD_FAILURE() << "watch did not start";
    return {};
  }
  // Bounds the waits below, so that a broken watch fails the test.
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::minutes(1);
  const auto wait_for = [&](const std::string& path, const std::string& what) {
    while (std::chrono::steady_clock::now() < give_up) {
      std::ifstream in(path);
      const std::string text(std::istreambuf_iterator<char>(in), {});
      if (text.find(what) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  EXPECT_TRUE(wait_for(out, "articles/rc1"));
  server->Stop(SIGKILL);
  EXPECT_TRUE(wait_for(err, "lost the stream ("));
  EXPECT_TRUE(server->RestartOnSamePort());
  EXPECT_TRUE(wait_for(err, "reconnected"));
  EXPECT_EQ(apply("rc2"), 0);
  return watch->Wait(std::chrono::minutes(1));
}

// `watch` reconnected in silence when the server went away: a line on
// stderr now says that it lost the stream and one that it resumed, and
// from where, each once however many attempts it took; no event is lost
// or repeated.
TEST_F(CliTest, WatchSaysWhenItLosesAndResumesTheStream) {
  const CommandResult r = WatchAcrossARestart(files_.path(), {});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 CREATED articles/rc1 1\n2 CREATED articles/rc2 1\n");
  const std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("watch: lost the stream (UNAVAILABLE: "));
  EXPECT_THAT(lines[0], ::testing::EndsWith(
                            "); reconnecting to resume after sequence 1"));
  EXPECT_EQ(lines[1], "watch: reconnected; resuming after sequence 1");
}

// Under -o json those two notices were still text lines among the JSON a
// script reads. They are JSON objects on stderr now, each with the
// sequence it resumes after; stdout holds only the events.
TEST_F(CliTest, WatchJsonNoticesAreJsonObjects) {
  const CommandResult r = WatchAcrossARestart(files_.path(), {"-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> events = Lines(r.out);
  ASSERT_EQ(events.size(), 2u) << r.out;
  EXPECT_EQ(ParseJson<v1::WatchArticlesResponse>(events[0]).event().name(),
            "articles/rc1");
  EXPECT_EQ(ParseJson<v1::WatchArticlesResponse>(events[1]).event().sequence(),
            2);
  const std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  const auto lost = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(lost.at("notice").string_value(), "STREAM_LOST");
  EXPECT_EQ(lost.at("resumeAfterSequence").string_value(), "1");
  EXPECT_THAT(lost.at("message").string_value(),
              StartsWith("lost the stream (UNAVAILABLE: "));
  EXPECT_THAT(lost.at("message").string_value(),
              EndsWith("); reconnecting to resume after sequence 1"));
  const auto& status = lost.at("status").struct_value().fields();
  EXPECT_EQ(status.at("code").string_value(), "UNAVAILABLE");
  EXPECT_EQ(status.count("reason"), 1u);
  const auto resumed = ParseJson<google::protobuf::Struct>(lines[1]).fields();
  EXPECT_EQ(resumed.at("notice").string_value(), "RESUMED");
  EXPECT_EQ(resumed.at("resumeAfterSequence").string_value(), "1");
  EXPECT_EQ(resumed.at("message").string_value(),
            "reconnected; resuming after sequence 1");
  EXPECT_EQ(resumed.count("status"), 0u);
}

// `apply -f DIR` read a tree that an export cut off had left, marked by
// DIR/.incomplete, without a word. It warns now, and still applies.
TEST_F(CliTest, ApplyWarnsOfAnIncompleteExport) {
  const std::string tree = files_.path() + "/cutoff";
  Write("cutoff/inc1.md", Doc("inc1", "", ""));
  Write("cutoff/.incomplete", "An export into this directory did not ...\n");
  CommandResult r = Ctl({"apply", "-f", tree});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/inc1 created"));
  EXPECT_EQ(r.err, tree +
                       ": warning: holds .incomplete: an export into it did "
                       "not complete, so it may lack articles\n");
  std::filesystem::remove(tree + "/.incomplete");
  r = Ctl({"apply", "-f", tree});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.err, IsEmpty());
}

// Whether two YAML trees hold the same maps, lists and scalars.
bool SameYaml(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type() || a.size() != b.size()) return false;
  if (a.IsScalar()) return a.Scalar() == b.Scalar();
  if (a.IsSequence()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameYaml(a[i], b[i])) return false;
    }
    return true;
  }
  for (const auto& kv : a) {
    const YAML::Node other = b[kv.first.Scalar()];
    if (!other.IsDefined() || !SameYaml(kv.second, other)) return false;
  }
  return true;
}

// `watch -o yaml` was refused; it prints one YAML document per event, each
// opened by `---`, the same response as a line of -o json.
TEST_F(CliTest, WatchPrintsYamlDocuments) {
  CtlOk({"apply", "-f", Write("wy1.md", Doc("wy1", "", "awy"))});
  CtlOk({"apply", "-f", Write("wy2.md", Doc("wy2", "", "awy"))});
  const std::string yaml = CtlOk(
      {"watch", "--tag", "awy", "--names-only", "--count", "2", "-o", "yaml"});
  const std::vector<std::string> json = Lines(CtlOk(
      {"watch", "--tag", "awy", "--names-only", "--count", "2", "-o", "json"}));
  ASSERT_EQ(json.size(), 2u);
  EXPECT_THAT(yaml, StartsWith("---\nevent:\n  sequence: "));
  const std::vector<YAML::Node> docs = YAML::LoadAll(yaml);
  ASSERT_EQ(docs.size(), 2u) << yaml;
  for (size_t i = 0; i < docs.size(); ++i) {
    // JSON is YAML: the same tree.
    EXPECT_TRUE(SameYaml(docs[i], YAML::Load(json[i])))
        << YAML::Dump(docs[i]) << "\n"
        << json[i];
  }
  EXPECT_EQ(docs[1]["event"]["name"].as<std::string>(), "articles/wy2");
}

// -o markdown of many documents ran them together, with no way to tell
// where one ended (a `---` may be a rule in a body) or which article it
// was. Each now opens with `---` and a YAML comment naming the article and
// revision; parsers drop the comment, so a document cut out of the stream
// applies back unchanged. `tags -o markdown` printed its table; it is
// refused (names and counts are no documents).
TEST_F(CliTest, MarkdownOfManyDocumentsNamesEach) {
  CtlOk({"apply", "-f",
         Write("mds/md1.md", Doc("md one", "2025-01-01", "amds", "",
                                 "One.\n\n---\n\nRule.\n"))});
  CtlOk({"apply", "-f",
         Write("mds/md2.md", Doc("md two", "2025-01-02", "amds"))});
  const std::string md =
      CtlOk({"query", "--tag", "amds", "--oldest-first", "-o", "markdown"});
  const std::string second = "\n---\n# articles/md2 revision 1\n";
  ASSERT_THAT(md, StartsWith("---\n# articles/md1 revision 1\n"));
  const size_t at = md.find(second);
  ASSERT_NE(at, std::string::npos) << md;
  const std::string first_doc = md.substr(0, at);  // its blank line goes
  // The document as `get -o markdown` prints it, but for the comment.
  EXPECT_EQ(
      absl::StrReplaceAll(first_doc, {{"# articles/md1 revision 1\n", ""}}),
      CtlOk({"get", "md1", "-o", "markdown"}));
  CommandResult r =
      RunCommand({ContentctlBinary(), "--server", server_->address(), "apply",
                  "-f", "-", "--id", "md1"},
                 first_doc);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/md1 unchanged (revision 1)"));

  CtlOk({"apply", "-f",
         Write("mds/md2.md", Doc("md two!", "2025-01-02", "amds"))});
  const std::string history = CtlOk({"history", "md2", "-o", "markdown"});
  EXPECT_THAT(history, StartsWith("---\n# articles/md2 revision 2\ntitle: "));
  EXPECT_THAT(history,
              HasSubstr("\n\n---\n# articles/md2 revision 1\ntitle: "));

  for (const char* verb : {"tags", "categories"}) {
    r = Ctl({verb, "-o", "markdown"});
    EXPECT_EQ(r.exit_code, 2) << verb;
    EXPECT_EQ(r.err, absl::StrCat(
                         "--output: markdown not in {table,json,yaml}: ", verb,
                         " prints ", verb,
                         " and their counts, not documents\nRun "
                         "`contentctl ",
                         verb, " --help` for more information.\n"));
    EXPECT_THAT(r.out, IsEmpty());
  }
}

// export has no table: `-o table`, which it took and answered with
// Markdown, is refused as etcdctl refuses `-w table` where it has none, as
// its --help (`{markdown}`) and the formats table say; Markdown is what it
// prints without -o and with `-o markdown`.
TEST_F(CliTest, ExportRefusesOutputTable) {
  CtlOk({"apply", "-f", Write("ot1.md", Doc("No table", "", ""))});
  const std::string dir = files_.path() + "/ot-out";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"export", "ot1", "-o", "table"},
        {"export", "ot1", "--output=table"},
        {"-otable", "export", "ot1"},
        {"export", "--dir", dir, "-o", "table"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err,
              "--output: table not in {markdown}: export writes Markdown only; "
              "leave -o out (`get ID` prints an article's fields as a table)\n"
              "Run `contentctl export --help` for more information.\n");
  }
  EXPECT_FALSE(fs::exists(dir));
  const std::string markdown = CtlOk({"export", "ot1"});
  EXPECT_THAT(markdown, StartsWith("---\ntitle: \"No table\"\n"));
  EXPECT_EQ(CtlOk({"export", "ot1", "-o", "markdown"}), markdown);
  // Every other verb that prints a table takes -o table.
  EXPECT_THAT(CtlOk({"get", "ot1", "-o", "table"}), StartsWith("Name:"));
  const std::string help = CtlOk({"export", "--help"});
  EXPECT_THAT(help, HasSubstr("-o,--output TEXT:{markdown} "));
  EXPECT_THAT(help, Not(HasSubstr("=table")));
}

// An -o a verb cannot honour is a usage error naming it, with nothing on
// stdout: `export -o json` printed Markdown, and admin, apply and version
// printed their table text under -o markdown.
TEST_F(CliTest, OutputFormatsAVerbCannotPrintAreUsageErrors) {
  CtlOk({"apply", "-f", Write("of1.md", Doc("Formats", "", ""))});
  for (const char* format : {"json", "yaml"}) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"export", "of1"},
          {"export", "--dir", files_.path() + "/of-out"}}) {
      std::vector<std::string> argv = args;
      argv.insert(argv.end(), {"-o", format});
      CommandResult r = Ctl(argv);
      EXPECT_EQ(r.exit_code, 2) << format;
      // Under -o json|yaml the usage error is an object naming --output,
      // as CLI11's of a value that is no format.
      const YAML::Node error = YAML::Load(r.err);
      EXPECT_EQ(error["flag"].as<std::string>(""), "--output") << r.err;
      EXPECT_THAT(error["message"].as<std::string>(""),
                  StartsWith(absl::StrCat("--output: ", format,
                                          " not in {markdown}: export writes "
                                          "Markdown only")));
      EXPECT_THAT(r.out, IsEmpty());
    }
  }
  EXPECT_FALSE(fs::exists(files_.path() + "/of-out"));
  // Markdown is what export prints, so -o markdown is no error.
  EXPECT_THAT(CtlOk({"export", "of1", "-o", "markdown"}), StartsWith("---\n"));

  for (const auto& [args, name, formats, prints] :
       {std::tuple{std::vector<std::string>{"admin", "stats"}, "admin stats",
                   "table,json,yaml", "a report on the store"},
        {{"admin", "operations"},
         "admin operations",
         "table,json,yaml",
         "a report on the store"},
        {{"admin", "fsck"},
         "admin fsck",
         "table,json,yaml",
         "a report on the store"},
        {{"admin", "compact"},
         "admin compact",
         "table,json,yaml",
         "a report on the store"},
        {{"admin", "backup", files_.path() + "/of-backup"},
         "admin backup",
         "table,json,yaml",
         "a report on the store"},
        {{"apply", "-f", files_.path() + "/of1.md"},
         "apply",
         "table,json,yaml,name",
         "its results"},
        {{"version"}, "version", "table,json,yaml", "versions"}}) {
    std::vector<std::string> argv = args;
    argv.insert(argv.end(), {"-o", "markdown"});
    CommandResult r = Ctl(argv);
    EXPECT_EQ(r.exit_code, 2) << name;
    EXPECT_EQ(r.err, absl::StrCat("--output: markdown not in {", formats,
                                  "}: ", name, " prints ", prints,
                                  ", not documents\nRun `contentctl ", name,
                                  " --help` for more information.\n"));
    EXPECT_THAT(r.out, IsEmpty());
  }
  EXPECT_FALSE(fs::exists(files_.path() + "/of-backup"));
}

// A document cut out of `-o markdown` of many names its article only in its
// opening comment, `# articles/ID revision N`: applied from stdin it needed
// --id, and from a file it went to the article the file name made up.
// apply takes the id from that line when the front matter has no `id` and
// no --id is given (either wins over it). The whole stream, edited, was
// applied as one article with the others in its body; each document now
// goes to its own article.
TEST_F(CliTest, ApplyTakesTheIdFromTheMarkdownStreamLine) {
  CtlOk({"apply", "-f",
         Write("mst/ms1.md", Doc("ms one", "2025-01-01", "amst", "",
                                 "One.\n\n---\n\nRule.\n"))});
  CtlOk({"apply", "-f",
         Write("mst/ms2.md", Doc("ms two", "2025-01-02", "amst"))});
  const std::string md =
      CtlOk({"query", "--tag", "amst", "--oldest-first", "-o", "markdown"});
  const size_t at = md.find("\n---\n# articles/ms2 revision 1\n");
  ASSERT_NE(at, std::string::npos) << md;
  const std::string first_doc = md.substr(0, at);
  ASSERT_THAT(first_doc, StartsWith("---\n# articles/ms1 revision 1\n"));

  CommandResult r = RunCommand(
      {ContentctlBinary(), "--server", server_->address(), "apply", "-f", "-"},
      first_doc);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/ms1 unchanged (revision 1)\n"));
  r = Ctl({"apply", "-f", Write("cut.md", first_doc)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/ms1 unchanged (revision 1)\n"));
  EXPECT_EQ(Ctl({"get", "cut", "--all"}).exit_code, 1);
  // --id, and an `id` in the front matter, win: a copy.
  r = RunCommand({ContentctlBinary(), "--server", server_->address(), "apply",
                  "-f", "-", "--id", "ms1copy"},
                 first_doc);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/ms1copy created (revision 1)\n"));
  r = Ctl({"apply", "-f",
           Write("withid.md", absl::StrReplaceAll(
                                  first_doc, {{"revision 1\n",
                                               "revision 1\nid: ms1key\n"}}))});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/ms1key created (revision 1)\n"));

  // The whole stream, edited: each document to its article; the `---` rule
  // in the first body stays in it.
  const std::string edited =
      absl::StrReplaceAll(md, {{"One.", "One!"}, {"正文。", "Edited. "}});
  r = RunCommand(
      {ContentctlBinary(), "--server", server_->address(), "apply", "-f", "-"},
      edited);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Lines(r.out),
              ElementsAre("articles/ms1 updated (revision 2)",
                          "articles/ms2 updated (revision 2)",
                          "applied 2 documents from 1 file: 0 created, 2 "
                          "updated, 0 unchanged, 0 failed"));
  EXPECT_EQ(GetJson("ms1").body(), "\nOne!\n\n---\n\nRule.\n");
  EXPECT_EQ(GetJson("ms2").body(), "\nEdited. Body text.\n");
  r = Ctl({"apply", "-f", Write("all.md", edited), "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"file\": \"" + files_.path() + "/all.md#2\""));
  EXPECT_THAT(r.out, Not(HasSubstr("\"result\": \"failed\"")));

  // --id names one article, and a condition holds for one.
  r = RunCommand({ContentctlBinary(), "--server", server_->address(), "apply",
                  "-f", "-", "--id", "ms1"},
                 md);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--id: names one article, and standard input "
                                "holds 2 documents"));
  r = Ctl({"apply", "-f", Write("all2.md", md), "--expected-revision", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expected-revision: applies only to a single "
                               "article ("));
  EXPECT_THAT(r.err, HasSubstr("all2.md holds 2 documents)"));
  EXPECT_EQ(GetJson("ms1").revision(), 2);
}

// A stream saved by a Windows editor, with \r\n line ends, splits as the
// markdown reader reads each document: at `---` and the naming line.
TEST_F(CliTest, ApplySplitsAMarkdownStreamWithCrlfLineEnds) {
  CtlOk({"apply", "-f",
         Write("crlf/crlf1.md", Doc("crlf one", "2025-01-01", "acrlf", "",
                                    "One.\n\n---\n\nRule.\n"))});
  CtlOk({"apply", "-f",
         Write("crlf/crlf2.md", Doc("crlf two", "2025-01-02", "acrlf"))});
  const std::string md =
      CtlOk({"query", "--tag", "acrlf", "--oldest-first", "-o", "markdown"});
  ASSERT_THAT(md, HasSubstr("\n\n---\n# articles/crlf2 revision 1\n")) << md;
  const std::string edited = absl::StrReplaceAll(
      md, {{"\n", "\r\n"}, {"One.", "One!"}, {"正文。", "Edited. "}});

  CommandResult r = RunCommand(
      {ContentctlBinary(), "--server", server_->address(), "apply", "-f", "-"},
      edited);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Lines(r.out),
              ElementsAre("articles/crlf1 updated (revision 2)",
                          "articles/crlf2 updated (revision 2)",
                          "applied 2 documents from 1 file: 0 created, 2 "
                          "updated, 0 unchanged, 0 failed"));
  EXPECT_THAT(GetJson("crlf1").body(), HasSubstr("One!"));
  EXPECT_THAT(GetJson("crlf1").body(), HasSubstr("Rule."));
  EXPECT_THAT(GetJson("crlf2").body(), HasSubstr("Edited. Body text."));
  EXPECT_THAT(GetJson("crlf2").body(), Not(HasSubstr("crlf1")));

  r = Ctl({"apply", "-f", Write("crlf-all.md", edited)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Lines(r.out),
              ElementsAre("articles/crlf1 unchanged (revision 2)",
                          "articles/crlf2 unchanged (revision 2)",
                          "applied 2 documents from 1 file: 0 created, 0 "
                          "updated, 2 unchanged, 0 failed"));
}

// A file saved by a Windows editor (or checked out with git's autocrlf) is
// the article its LF twin is: the body's \r\n are read as \n, so applying
// either after the other, or either again, records nothing new, and the
// article exports with LF. Before, a body kept its \r\n: the twins were two
// contents, a new revision each time one followed the other, and an export
// turned to CRLF and applied gained a \r per line on every round.
TEST_F(CliTest, ApplyReadsACrlfFileAsItsLfTwin) {
  const std::string lf =
      Doc("twin one", "2025-01-01", "atwin", "", "One.\n\nTwo.\n");
  const std::string crlf = absl::StrReplaceAll(lf, {{"\n", "\r\n"}});
  CtlOk({"apply", "-f", Write("lf/twin1.md", lf)});
  CtlOk({"apply", "-f",
         Write("lf/twin2.md", Doc("twin two", "2025-01-02", "atwin"))});
  EXPECT_EQ(CtlOk({"apply", "-f", Write("crlf/twin1.md", crlf)}),
            "articles/twin1 unchanged (revision 1)\n"
            "applied 1 file: 0 created, 0 updated, 1 unchanged, 0 failed\n");
  EXPECT_EQ(GetJson("twin1").body(), "\nOne.\n\nTwo.\n");

  // An article stored with \r\n (before this, or through the API) takes LF
  // once, and is then unchanged by its CRLF file.
  ClientOptions options;
  options.target = server_->address();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  v1::UpdateArticleRequest update;
  *update.mutable_article() = GetJson("twin2");
  update.mutable_article()->set_body("\nOld\r\nlines.\r\n");
  ASSERT_EQ((*client)->UpdateArticle(update).status(), absl::OkStatus());
  const std::string crlf2 = absl::StrReplaceAll(
      Doc("twin two", "2025-01-02", "atwin", "", "Old\nlines.\n"),
      {{"\n", "\r\n"}});
  EXPECT_THAT(CtlOk({"apply", "-f", Write("crlf/twin2.md", crlf2)}),
              HasSubstr("articles/twin2 updated (revision 3)"));
  EXPECT_THAT(CtlOk({"apply", "-f", Write("crlf/twin2.md", crlf2)}),
              HasSubstr("articles/twin2 unchanged (revision 3)"));

  // The stream of both, turned to CRLF, applies unchanged, twice over.
  const std::string md =
      CtlOk({"query", "--tag", "atwin", "--oldest-first", "-o", "markdown"});
  EXPECT_THAT(md, Not(HasSubstr("\r")));
  const std::string stream = absl::StrReplaceAll(md, {{"\n", "\r\n"}});
  for (int i = 0; i < 2; ++i) {
    CommandResult r = RunCommand({ContentctlBinary(), "--server",
                                  server_->address(), "apply", "-f", "-"},
                                 stream);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(Lines(r.out),
                ElementsAre("articles/twin1 unchanged (revision 1)",
                            "articles/twin2 unchanged (revision 3)",
                            "applied 2 documents from 1 file: 0 created, 0 "
                            "updated, 2 unchanged, 0 failed"));
  }
}

// ---- get of several ids, help, apply -o json, several bad fields ----------

// `get A B C` was a usage error ("gm2 not expected"). It reads them in one
// BatchGetArticles call and lists them as `query` does: a table, a JSON
// list, a YAML sequence or Markdown documents; `get ID -o json` keeps its
// single object. An id that fails gets its own error line on stderr, with
// the reason, the others still print, and the exit code is 1.
TEST_F(CliTest, GetOfSeveralIdsListsThemAndNamesEachMissingOne) {
  for (const char* id : {"gm1", "gm2", "gm3"}) {
    CtlOk({"apply", "-f",
           Write(absl::StrCat(id, ".md"),
                 Doc(absl::StrCat("Many ", id), "2024-03-01", "agm"))});
  }
  CtlOk({"delete", "gm3"});

  CommandResult r = Ctl({"get", "gm1", "articles/gm2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("NAME"));
  EXPECT_THAT(lines[0], HasSubstr("TITLE"));
  EXPECT_THAT(lines[1], StartsWith("articles/gm1 "));
  EXPECT_THAT(lines[1], HasSubstr("Many gm1"));
  EXPECT_THAT(lines[2], StartsWith("articles/gm2 "));

  // The missing and the deleted are named on stderr, in the order given;
  // the others print.
  r = Ctl({"get", "gm1", "gm-nope", "gm3", "gm2"});
  EXPECT_EQ(r.exit_code, 1);
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[1], StartsWith("articles/gm1 "));
  EXPECT_THAT(lines[2], StartsWith("articles/gm2 "));
  lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("Error: NOT_FOUND (ARTICLE_NOT_FOUND): "
                                   "articles/gm-nope not found"));
  EXPECT_EQ(lines[1],
            "Error: NOT_FOUND (ARTICLE_DELETED): articles/gm3 is deleted "
            "(revision 2) (use --show-deleted to read it, or `contentctl "
            "undelete gm3`)");

  // -o json: a list of the articles on stdout, an error object per id on
  // stderr, with its reason and name.
  r = Ctl({"get", "gm1", "gm-nope", "gm2", "gm3", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  google::protobuf::ListValue list =
      ParseJson<google::protobuf::ListValue>(r.out);
  ASSERT_EQ(list.values_size(), 2) << r.out;
  std::vector<std::string> names;
  for (const auto& v : list.values()) {
    names.push_back(v.struct_value().fields().at("name").string_value());
    EXPECT_EQ(v.struct_value().fields().at("revision").string_value(), "1");
  }
  EXPECT_THAT(names, ElementsAre("articles/gm1", "articles/gm2"));
  lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  auto e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.at("code").string_value(), "NOT_FOUND");
  EXPECT_EQ(e.at("reason").string_value(), "ARTICLE_NOT_FOUND");
  EXPECT_EQ(e.at("domain").string_value(), "contentd.v1");
  EXPECT_EQ(e.at("name").string_value(), "articles/gm-nope");
  e = ParseJson<google::protobuf::Struct>(lines[1]).fields();
  EXPECT_EQ(e.at("reason").string_value(), "ARTICLE_DELETED");
  EXPECT_EQ(e.at("name").string_value(), "articles/gm3");
  // The head's revision, as `get gm3 -o json` gives it.
  EXPECT_EQ(
      e.at("metadata").struct_value().fields().at("revision").string_value(),
      "2");
  // None found: an empty list, still a list.
  r = Ctl({"get", "gm-nope", "gm3", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "[]\n");

  // One id keeps the single object, for scripts.
  EXPECT_EQ(GetJson("gm1").name(), "articles/gm1");

  // YAML: a sequence of the articles; Markdown: the documents, each named.
  r = Ctl({"get", "gm1", "gm2", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const YAML::Node yaml = YAML::Load(r.out);
  ASSERT_TRUE(yaml.IsSequence()) << r.out;
  ASSERT_EQ(yaml.size(), 2u);
  EXPECT_EQ(yaml[1]["name"].as<std::string>(), "articles/gm2");
  r = Ctl({"get", "gm1", "gm2", "-o", "markdown"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("---\n# articles/gm1 revision 1\n"));
  EXPECT_THAT(r.out, HasSubstr("\n\n---\n# articles/gm2 revision 1\n"));

  // --show-deleted and --all apply to each; the table marks a tombstone.
  r = Ctl({"get", "gm1", "gm3", "--show-deleted", "--all"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[0], HasSubstr("STATE"));
  EXPECT_THAT(lines[2], HasSubstr("2 (deleted)"));

  // Flags about one revision or translation of one article are usage
  // errors naming the flag.
  for (const auto& [args, error] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"get", "gm1", "gm2", "--revision", "1"},
            "--revision: names a revision of one article; give one ID (2 "
            "given)"},
           {{"get", "gm1", "gm2", "gm3", "--lang", "en"},
            "--lang: picks a translation of one article; give one ID (3 "
            "given)"},
           {{"get", "gm1", "gm2", "--lang", "en", "--fallback", "fr"},
            "--lang: picks a translation of one article; give one ID (2 "
            "given)"}}) {
    r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_EQ(r.err, absl::StrCat(error,
                                  "\nRun `contentctl get --help` for more "
                                  "information.\n"));
    EXPECT_THAT(r.out, IsEmpty());
  }
  r = Ctl({"get", "gm1", "gm2", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("unknown flag \"--bogus\"\n"));
}

// A flag's default in --help is the one in effect: where its environment
// variable is set, the variable's value, said to come from it (it showed
// the built-in 127.0.0.1:7070 under CONTENT_SERVER=...). A token's value is
// never shown, only that it is set. Set but empty is unset, as for parsing.
TEST_F(CliTest, HelpShowsTheDefaultsTheEnvironmentSets) {
  const std::string ca = Write("help/ca.pem", "not read by --help\n");
  const std::vector<std::string> env = {"CONTENT_SERVER=db1.internal:7070",
                                        "CONTENT_TOKEN=s3cret-t0ken",
                                        "CONTENT_CA=" + ca,
                                        "CONTENT_REQUEST_ID=",
                                        "CONTENT_CERT=",
                                        "CONTENT_KEY="};
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"},
        std::vector<std::string>{"get", "--help"}}) {
    CommandResult r = Ctl(args, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("  -s,--server TEXT=db1.internal:7070 (from "
                                 "CONTENT_SERVER)\n"));
    EXPECT_THAT(r.out, Not(HasSubstr("127.0.0.1:7070")));
    EXPECT_THAT(r.out, HasSubstr("  --token TEXT (from CONTENT_TOKEN)\n"));
    EXPECT_THAT(r.out, Not(HasSubstr("s3cret-t0ken")));
    EXPECT_THAT(r.out,
                HasSubstr("  --ca TEXT:FILE=" + ca + " (from CONTENT_CA)"));
    EXPECT_THAT(r.out, HasSubstr("  --cert TEXT:FILE (env CONTENT_CERT)"));
    EXPECT_THAT(r.out,
                HasSubstr("  --request-id TEXT (env CONTENT_REQUEST_ID)"));
  }
  CommandResult r = Ctl({"--help"}, {"CONTENT_SERVER=", "CONTENT_TOKEN="});
  EXPECT_THAT(r.out, HasSubstr("  -s,--server TEXT=127.0.0.1:7070 "
                               "(env CONTENT_SERVER)\n"));
  // gRPC's target forms work too (several replicas behind one name): the
  // help says so, not only host:port and unix:PATH.
  EXPECT_THAT(r.out, HasSubstr("unix:PATH, or a gRPC target such as\n"));
  EXPECT_THAT(r.out, HasSubstr(" dns:///host:port or "
                               "ipv4:ADDR:PORT,ADDR:PORT\n"));
  EXPECT_THAT(r.out, HasSubstr("  --token TEXT (env CONTENT_TOKEN)\n"));
}

// Every verb's --help names the environment variables one way, as the
// errors do: `(env CONTENT_CERT)`, `(from CONTENT_SERVER)` when set. The
// unset ones were CLI11's `(Env:CONTENT_CERT)` beside the set ones'
// `(from CONTENT_SERVER)`.
TEST_F(CliTest, HelpNamesEnvironmentVariablesOneWay) {
  for (const std::vector<std::string>& verb :
       std::vector<std::vector<std::string>>{{},
                                             {"apply"},
                                             {"edit"},
                                             {"get"},
                                             {"query"},
                                             {"tags"},
                                             {"categories"},
                                             {"history"},
                                             {"delete"},
                                             {"undelete"},
                                             {"diff"},
                                             {"restore"},
                                             {"translations"},
                                             {"export"},
                                             {"watch"},
                                             {"admin"},
                                             {"admin", "backup"},
                                             {"admin", "compact"},
                                             {"admin", "fsck"},
                                             {"admin", "stats"},
                                             {"admin", "operations"},
                                             {"admin", "health"},
                                             {"version"},
                                             {"completion"}}) {
    std::vector<std::string> args = verb;
    args.push_back("--help");
    CommandResult r =
        Ctl(args,
            {"CONTENT_SERVER=db1:7070", "CONTENT_TOKEN=", "CONTENT_REQUEST_ID=",
             "CONTENT_CA=", "CONTENT_CERT=", "CONTENT_KEY="});
    const std::string name = absl::StrJoin(verb, " ");
    ASSERT_EQ(r.exit_code, 0) << name << "\n" << r.err;
    EXPECT_THAT(r.out, Not(HasSubstr("Env:"))) << name;
    EXPECT_THAT(r.out, HasSubstr("  -s,--server TEXT=db1:7070 (from "
                                 "CONTENT_SERVER)\n"))
        << name;
    for (const std::string& line :
         {"  --token TEXT (env CONTENT_TOKEN)\n",
          "  --request-id TEXT (env CONTENT_REQUEST_ID)\n",
          "  --ca TEXT:FILE (env CONTENT_CA)\n",
          "  --cert TEXT:FILE (env CONTENT_CERT)\n",
          "  --key TEXT:FILE (env CONTENT_KEY)\n"}) {
      EXPECT_THAT(r.out, HasSubstr(line)) << name;
    }
  }
}

// CLI11 checked that --ca, --cert and --key name a file during the parse,
// on their variable's value too: `CONTENT_CA=/nonexistent contentctl
// --help` failed with `--ca: File does not exist: /nonexistent`, and so did
// `VERB --help`, `--help-all` and `completion bash`. Help and completion
// now work whatever the environment says (the completion's `__complete`
// call stays silent); a command that needs the file fails naming the
// variable, as CONTENT_REQUEST_ID's malformed value is named.
TEST_F(CliTest, TlsVariablesNamingNoFileLeaveHelpAndCompletionAlone) {
  const std::string gone = files_.path() + "/no-such.pem";
  for (const auto& [env, flag] :
       {std::pair{"CONTENT_CA", "--ca"}, std::pair{"CONTENT_CERT", "--cert"},
        std::pair{"CONTENT_KEY", "--key"}}) {
    SCOPED_TRACE(env);
    std::vector<std::string> vars = {absl::StrCat(env, "=", gone)};
    for (const char* other : {"CONTENT_CA", "CONTENT_CERT", "CONTENT_KEY"}) {
      if (other != absl::string_view(env))
        vars.push_back(absl::StrCat(other, "="));
    }
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--help"},
          std::vector<std::string>{"get", "--help"},
          std::vector<std::string>{"--help-all"},
          std::vector<std::string>{"completion", "bash"}}) {
      CommandResult r = Ctl(args, vars);
      EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(args) << r.err;
      EXPECT_THAT(r.out, Not(IsEmpty()));
      EXPECT_THAT(r.err, IsEmpty());
    }
    // The completion's call prints nothing, whatever went wrong.
    CommandResult r = Ctl({"__complete", "tags", "x"}, vars);
    EXPECT_THAT(r.err, IsEmpty());
    r = Ctl({"get", "x"}, vars);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, absl::StrCat(flag, " (from ", env, "): cannot read ", gone,
                                  ": No such file or directory\nRun "
                                  "`contentctl get --help` for more "
                                  "information.\n"));
    r = Ctl({"-o", "json", "get", "x"}, vars);
    EXPECT_EQ(r.exit_code, 2);
    const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
    EXPECT_EQ(e.at("flag").string_value(), flag);
    EXPECT_EQ(e.at("reason").string_value(), "INVALID_VALUE");
  }
  // The flag given: named alone.
  CommandResult r = Ctl({"--ca", gone, "get", "x"}, {"CONTENT_CA="});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "--ca: cannot read " + gone +
                       ": No such file or directory\nRun `contentctl get "
                       "--help` for more information.\n");
  // And --help after it is help.
  r = Ctl({"--ca", gone, "get", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// The help of a verb said nothing of the global flags (--server, --token,
// -o, TLS), which every verb takes before or after it: it ends with them
// now. Descriptions are wrapped to end by column 80, and `watch`'s
// exclusions are said in the description (`; not with --from-now`) instead
// of after the flag's name, which pushed the description onto its own line.
TEST_F(CliTest, VerbHelpNamesEveryFlagAndTheGlobalOnes) {
  const std::vector<std::string> globals = {
      "-s,--server TEXT", "--token TEXT", "--timeout TEXT", "-o,--output TEXT",
      "--ca TEXT",        "--cert TEXT",  "--key TEXT"};
  for (const auto& [verb, flags] : std::vector<
           std::pair<std::vector<std::string>, std::vector<std::string>>>{
           {{"get"},
            {"ID TEXT ... REQUIRED", "--revision INT", "--show-deleted",
             "--all", "--lang TEXT", "--fallback TEXT"}},
           {{"query"},
            {"--tag TEXT", "--all-tags", "--category TEXT", "--lang TEXT",
             "--not-tag TEXT", "--since TEXT", "--until TEXT", "--oldest-first",
             "--include-deleted", "--limit INT", "--page-token TEXT",
             "--text TEXT", "--view TEXT", "--facets TEXT", "--facet-limit INT",
             "--all", "--state TEXT", "--publish-from TEXT",
             "--publish-to TEXT"}},
           {{"watch"},
            {"--tag TEXT", "--all-tags", "--category TEXT", "--lang TEXT",
             "--not-tag TEXT", "--after INT", "--from-now", "--names-only",
             "--count INT", "--all"}},
           {{"apply"},
            {"-f,--filename TEXT", "--id TEXT", "--expected-revision INT",
             "--etag TEXT", "--dry-run", "--default-zone TEXT"}},
           {{"admin", "backup"}, {"DESTINATION TEXT REQUIRED"}}}) {
    std::vector<std::string> args = verb;
    args.push_back("--help");
    // Set, the variable would be named `(from CONTENT_SERVER)`.
    CommandResult r = Ctl(args, {"CONTENT_SERVER="});
    ASSERT_EQ(r.exit_code, 0) << ::testing::PrintToString(args);
    EXPECT_THAT(r.err, IsEmpty());
    for (const std::string& flag : flags) {
      EXPECT_THAT(r.out, HasSubstr("  " + flag)) << verb[0] << "\n" << r.out;
    }
    const size_t at =
        r.out.find("\nGlobal flags (before or after the verb):\n");
    ASSERT_NE(at, std::string::npos) << r.out;
    for (const std::string& flag : globals) {
      EXPECT_THAT(r.out.substr(at), HasSubstr("  " + flag)) << verb[0];
    }
    EXPECT_THAT(r.out.substr(at), HasSubstr("(env CONTENT_SERVER)"));
    for (const std::string& line : Lines(r.out)) {
      EXPECT_LE(line.size(), 80u) << verb[0] << ": " << line;
    }
  }
  CommandResult r = Ctl({"watch", "--help"});
  EXPECT_THAT(r.out, Not(HasSubstr("Excludes")));
  std::vector<std::string> after, from_now;
  for (const std::string& line : Lines(r.out)) {
    if (absl::StartsWith(line, "  --after ")) after.push_back(line);
    if (absl::StartsWith(line, "  --from-now ")) from_now.push_back(line);
  }
  // The flag and its description on one line, the exclusion in it.
  ASSERT_EQ(after.size(), 1u) << r.out;
  EXPECT_THAT(after[0], HasSubstr("Start after this sequence"));
  ASSERT_EQ(from_now.size(), 1u) << r.out;
  EXPECT_THAT(from_now[0],
              HasSubstr("Only changes made from now on; not with --after"));
  EXPECT_THAT(r.out, HasSubstr("; not with --from-now"));
  // contentctl's own help lists the global flags once, as its options.
  r = Ctl({"--help"});
  EXPECT_THAT(r.out, Not(HasSubstr("Global flags")));
  EXPECT_THAT(r.out, HasSubstr("  -s,--server TEXT"));
}

// Under -o json, apply's stderr mixed JSON error objects with a text
// summary and text warnings. Every line of it is a JSON object now: the
// warnings ({"notice": "WARNING", "reason": ...}), the failed files, and
// the summary last ({"notice": "SUMMARY"} with the counts).
TEST_F(CliTest, ApplyJsonStderrIsJsonObjectsOnly) {
  const std::string tree = files_.path() + "/jtree";
  Write("jtree/jt1.md", Doc("jt1", "", "ajt"));
  const std::string bad = Write("jtree/jt2.md", "---\ntitle: [x\n---\nbody\n");
  Write("jtree/.incomplete", "An export into this directory did not ...\n");
  ASSERT_EQ(mkfifo((tree + "/jt3.md").c_str(), 0600), 0);
  for (const bool dry_run : {true, false}) {
    std::vector<std::string> args = {"apply", "-f", tree, "-o", "json"};
    if (dry_run) args.push_back("--dry-run");
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 1);
    std::vector<std::string> lines = Lines(r.err);
    ASSERT_EQ(lines.size(), 4u) << r.err;
    std::vector<google::protobuf::Struct> objects;
    for (const std::string& line : lines) {
      objects.push_back(ParseJson<google::protobuf::Struct>(line));
    }
    // The warnings come as the tree is listed, in its order.
    std::map<std::string, google::protobuf::Struct> warnings;
    for (int i : {0, 1}) {
      const auto& fields = objects[i].fields();
      EXPECT_EQ(fields.at("notice").string_value(), "WARNING") << lines[i];
      warnings[fields.at("reason").string_value()] = objects[i];
    }
    ASSERT_EQ(warnings.count("EXPORT_INCOMPLETE"), 1u) << r.err;
    auto e = warnings["EXPORT_INCOMPLETE"].fields();
    EXPECT_EQ(e.at("file").string_value(), tree);
    EXPECT_EQ(e.at("message").string_value(),
              "holds .incomplete: an export into it did not complete, so it "
              "may lack articles");
    ASSERT_EQ(warnings.count("NOT_A_REGULAR_FILE"), 1u) << r.err;
    e = warnings["NOT_A_REGULAR_FILE"].fields();
    EXPECT_EQ(e.at("file").string_value(), tree + "/jt3.md");
    EXPECT_EQ(e.at("message").string_value(), "not a regular file, left out");
    e = objects[2].fields();
    EXPECT_EQ(e.at("file").string_value(), bad);
    EXPECT_EQ(e.at("code").string_value(), "INVALID_ARGUMENT");
    e = objects[3].fields();
    EXPECT_EQ(e.at("notice").string_value(), "SUMMARY");
    EXPECT_EQ(e.at("message").string_value(),
              absl::StrCat(dry_run ? "dry run, nothing written: " : "",
                           "applied 1 of 2 files: 1 created, 0 updated, 0 "
                           "unchanged, 1 failed"));
    EXPECT_EQ(e.at("dryRun").bool_value(), dry_run);
    EXPECT_EQ(e.at("files").number_value(), 2);
    EXPECT_EQ(e.at("documents").number_value(), 2);
    EXPECT_EQ(e.at("created").number_value(), 1);
    EXPECT_EQ(e.at("updated").number_value(), 0);
    EXPECT_EQ(e.at("unchanged").number_value(), 0);
    EXPECT_EQ(e.at("failed").number_value(), 1);
    EXPECT_EQ(ParseJson<google::protobuf::ListValue>(r.out).values_size(), 2);
  }
  // Text as before without -o json.
  CommandResult r = Ctl({"apply", "-f", tree});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 3u) << r.err;
  EXPECT_THAT(std::vector<std::string>(lines.begin(), lines.begin() + 2),
              ::testing::UnorderedElementsAre(
                  tree + ": warning: holds .incomplete: an export into it "
                         "did not complete, so it may lack articles",
                  tree + "/jt3.md: warning: not a regular file, left out"));
  EXPECT_THAT(lines[2], StartsWith(bad + ": error: INVALID_ARGUMENT: "));
  EXPECT_THAT(r.out, HasSubstr("applied 1 of 2 files: 0 created, 0 updated, 1 "
                               "unchanged, 1 failed"));
}

// A request with several bad fields gets a violation for each, but only
// the first was led by its flag (`--tag: query.tags[0]: ...;
// query.categories[0]: ...`). Each is now.
TEST_F(CliTest, ServerErrorsNameTheFlagOfEachBadField) {
  const std::string long_text(1100, 'x');
  for (const auto& [args, message] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"query", "--tag", " ai", "--category", "news ", "--text",
             long_text},
            "--tag: query.tags[0]: must not start or end with a space: \" "
            "ai\"; --category: query.categories[0]: must not start or end "
            "with a space: \"news \"; --text: query.text: must be at most "
            "1024 bytes, got 1100"},
           {{"watch", "--tag", " x", "--not-tag", "y ", "--count", "1"},
            "--tag: filter.tags[0]: must not start or end with a space: \" "
            "x\"; --not-tag: filter.not_tags[0]: must not start or end with "
            "a space: \"y \""},
           {{"get", "ok-id", "bad!id", "bad id"}, "ID: names[1]: "},
       }) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(args) << r.err;
    EXPECT_THAT(r.err, StartsWith("Error: INVALID_ARGUMENT: " + message))
        << ::testing::PrintToString(args);
  }
  CommandResult r = Ctl({"get", "ok-id", "bad!id", "bad id"});
  EXPECT_THAT(r.err, HasSubstr("; ID: names[2]: ")) << r.err;
  // -o json: the message likewise; the violations keep the API's fields.
  r = Ctl({"query", "--tag", " ai", "--category", "news ", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_THAT(e.at("message").string_value(),
              StartsWith("--tag: query.tags[0]: must not start or end with a "
                         "space: \" ai\"; --category: query.categories[0]: "));
  const auto& violations = e.at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 2) << r.err;
  EXPECT_EQ(
      violations.values(1).struct_value().fields().at("field").string_value(),
      "query.categories[0]");
}

// Under -o json a usage error (exit 2) was still two text lines, the error
// and the hint, which a script reading stderr as JSON could not parse. It
// is one object now, with the flag it names and the hint, whichever check
// found it: CLI11's parse (unknown flag, bad value, missing argument,
// excluded flags), contentctl's own, or apply's; with -o before or after
// the bad flag, or -o itself the flag named. -o yaml gives a YAML document.
TEST_F(CliTest, UsageErrorsUnderJsonAreOneObject) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
    std::string flag;
    std::string reason;
    std::string command;
  };
  for (const Case& c : std::vector<Case>{
           {{"get", "x", "--bogus", "-o", "json"},
            "unknown flag \"--bogus\"",
            "--bogus",
            "UNKNOWN_FLAG",
            "get"},
           {{"--bogus", "get", "x", "-o", "json"},
            "unknown flag \"--bogus\"",
            "--bogus",
            "UNKNOWN_FLAG",
            "get"},
           {{"get", "x", "--revision", "0", "-o", "json"},
            "--revision: must be at least 1, got 0 (leave it out for the "
            "head)",
            "--revision",
            "INVALID_VALUE",
            "get"},
           {{"-o", "json", "get", "x", "--revision"},
            "--revision: needs a value (a whole number)",
            "--revision",
            "MISSING_ARGUMENT",
            "get"},
           {{"get", "-o", "json"},
            "missing ID: get takes one or more article ids, `x` or "
            "`articles/x` (contentctl get ID...); to list articles: contentctl "
            "query",
            "ID",
            "MISSING_ARGUMENT",
            "get"},
           {{"watch", "--after", "1", "--from-now", "-o", "json"},
            "--from-now: cannot be combined with --after (each says where the "
            "watch starts)",
            "--from-now",
            "EXCLUDED_FLAGS",
            "watch"},
           {{"export", "x", "-o", "json"},
            "--output: json not in {markdown}: export writes Markdown only; "
            "leave -o out (`get ID -o json` prints an article as JSON)",
            "--output",
            "INVALID_VALUE",
            "export"},
           {{"query", "--tag", "", "-o", "json"},
            "--tag: must not be empty",
            "--tag",
            "INVALID_VALUE",
            "query"},
           {{"--output=json", "frob"},
            "unknown verb \"frob\"; verbs: apply, edit, get, query, tags, "
            "categories, history, delete, undelete, diff, restore, "
            "translations, export, watch, admin, version, completion, help",
            "",
            "UNKNOWN_COMMAND",
            ""},
           {{"apply", "-f", "-", "-f", "-", "-ojson"},
            "-f -: standard input can be given once",
            "-f",
            "INVALID_VALUE",
            "apply"}}) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.out, IsEmpty());
    ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
    const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
    EXPECT_EQ(e.at("code").string_value(), "INVALID_ARGUMENT");
    EXPECT_EQ(e.at("domain").string_value(), "contentctl");
    EXPECT_EQ(e.at("reason").string_value(), c.reason);
    EXPECT_EQ(e.at("message").string_value(), c.message);
    EXPECT_EQ(e.at("flag").string_value(), c.flag);
    EXPECT_EQ(e.at("hint").string_value(),
              absl::StrCat("Run `contentctl", c.command.empty() ? "" : " ",
                           c.command, " --help` for more information."));
    EXPECT_EQ(e.at("fieldViolations").list_value().values_size(), 0);
    EXPECT_EQ(e.at("metadata").struct_value().fields_size(), 0);
  }
  // -o yaml: a YAML document with the same keys.
  CommandResult r = Ctl({"get", "x", "--bogus", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("---\n"));
  const YAML::Node yaml = YAML::Load(r.err);
  EXPECT_EQ(yaml["flag"].as<std::string>(), "--bogus");
  EXPECT_EQ(yaml["reason"].as<std::string>(), "UNKNOWN_FLAG");
  EXPECT_EQ(yaml["hint"].as<std::string>(),
            "Run `contentctl get --help` for more information.");
  // An -o that names no format leaves the text lines.
  r = Ctl({"get", "x", "-o", "xml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "--output: xml not in {table,json,yaml,markdown,name}\nRun "
            "`contentctl "
            "get --help` for more information.\n");
}

// `-o "$UNSET"` said `--output:  not in {...}`, naming no value: it needs
// one, as --state's empty value does. kubectl's `-o wide` is told where
// every field is.
TEST_F(CliTest, AnEmptyOrWideOutputSaysWhatItTakes) {
  CommandResult r = Ctl({"query", "-o", ""});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "--output: needs a value (one of table, json, yaml, markdown, "
            "name)\nRun `contentctl query --help` for more information.\n");
  r = Ctl({"tags", "-o", ""});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              StartsWith("--output: needs a value (one of table, json, yaml)"));
  // `--output=` and a last `-o` list the verb's formats too, not all five.
  r = Ctl({"export", "--output="});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--output: needs a value (one of markdown)\n"));
  r = Ctl({"tags", "-o"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              StartsWith("-o: needs a value (one of table, json, yaml)\n"));
  r = Ctl({"get", "x", "-o", "wide"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              StartsWith("--output: wide not in "
                         "{table,json,yaml,markdown,name}: -o yaml shows "
                         "every field\n"));
}

// A streamed import's failed file had an empty `reason`, `domain` and
// `metadata` under -o json, though ImportResult carries the reason and the
// metadata (ARTICLE_TOO_LARGE's limit_bytes and size_bytes).
TEST_F(CliTest, ApplyJsonErrorOfAStreamedImportHasItsMetadata) {
  const std::string big =
      Write("big/too-large.md",
            Doc("Too large", "", "", "", std::string(1100000, 'x')));
  CommandResult r = Ctl({"apply", "-f", big, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  const auto e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.at("file").string_value(), big);
  EXPECT_EQ(e.at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_EQ(e.at("reason").string_value(), "ARTICLE_TOO_LARGE");
  EXPECT_EQ(e.at("domain").string_value(), "contentd.v1");
  const auto& metadata = e.at("metadata").struct_value().fields();
  ASSERT_EQ(metadata.count("limit_bytes"), 1u) << lines[0];
  EXPECT_EQ(metadata.at("limit_bytes").string_value(), "1048576");
  ASSERT_EQ(metadata.count("size_bytes"), 1u) << lines[0];
  EXPECT_GT(std::stoll(metadata.at("size_bytes").string_value()), 1100000);
}

// apply -o yaml printed its summary, and its failed files, as text lines
// on stderr. They are YAML documents now, with the keys -o json's objects
// have; so are a failed call's error and `get A B`'s per-id errors.
TEST_F(CliTest, YamlStderrIsYamlDocuments) {
  Write("ytree/y1.md", Doc("y1", "", "ayt"));
  const std::string bad = Write("ytree/y2.md", "---\ntitle: [x\n---\nbody\n");
  CommandResult r =
      Ctl({"apply", "-f", files_.path() + "/ytree", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_TRUE(YAML::Load(r.out).IsSequence()) << r.out;
  EXPECT_THAT(r.err, StartsWith("---\n"));
  std::vector<YAML::Node> docs = YAML::LoadAll(r.err);
  ASSERT_EQ(docs.size(), 2u) << r.err;
  EXPECT_EQ(docs[0]["file"].as<std::string>(), bad);
  EXPECT_EQ(docs[0]["code"].as<std::string>(), "INVALID_ARGUMENT");
  const YAML::Node& summary = docs[1];
  EXPECT_EQ(summary["notice"].as<std::string>(), "SUMMARY");
  EXPECT_EQ(
      summary["message"].as<std::string>(),
      "applied 1 of 2 files: 1 created, 0 updated, 0 unchanged, 1 failed");
  EXPECT_EQ(summary["files"].as<int>(), 2);
  EXPECT_EQ(summary["documents"].as<int>(), 2);
  EXPECT_EQ(summary["created"].as<int>(), 1);
  EXPECT_EQ(summary["updated"].as<int>(), 0);
  EXPECT_EQ(summary["unchanged"].as<int>(), 0);
  EXPECT_EQ(summary["failed"].as<int>(), 1);
  EXPECT_FALSE(summary["dryRun"].as<bool>());

  r = Ctl({"get", "no-such-yaml", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 1);
  docs = YAML::LoadAll(r.err);
  ASSERT_EQ(docs.size(), 1u) << r.err;
  EXPECT_EQ(docs[0]["code"].as<std::string>(), "NOT_FOUND");
  EXPECT_EQ(docs[0]["reason"].as<std::string>(), "ARTICLE_NOT_FOUND");

  r = Ctl({"get", "y1", "no-such-yaml", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 1);
  docs = YAML::LoadAll(r.err);
  ASSERT_EQ(docs.size(), 1u) << r.err;
  EXPECT_EQ(docs[0]["name"].as<std::string>(), "articles/no-such-yaml");
  EXPECT_EQ(docs[0]["reason"].as<std::string>(), "ARTICLE_NOT_FOUND");
}

// watch -o yaml's notices of a lost and resumed stream were text lines;
// they are YAML documents, as -o json's are JSON objects.
TEST_F(CliTest, WatchYamlNoticesAreYamlDocuments) {
  const CommandResult r = WatchAcrossARestart(files_.path(), {"-o", "yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(YAML::LoadAll(r.out).size(), 2u) << r.out;
  const std::vector<YAML::Node> docs = YAML::LoadAll(r.err);
  ASSERT_EQ(docs.size(), 2u) << r.err;
  EXPECT_EQ(docs[0]["notice"].as<std::string>(), "STREAM_LOST");
  EXPECT_EQ(docs[0]["resumeAfterSequence"].as<std::string>(), "1");
  EXPECT_EQ(docs[0]["status"]["code"].as<std::string>(), "UNAVAILABLE");
  EXPECT_EQ(docs[1]["notice"].as<std::string>(), "RESUMED");
}

// -o json's fieldViolations kept the API's field paths only; each says the
// flag or argument that gave it too, as the text leads each with it.
TEST_F(CliTest, JsonFieldViolationsNameTheirFlag) {
  CommandResult r =
      Ctl({"query", "--tag", " ai", "--category", "news ", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  auto violations = e.at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 2) << r.err;
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& v : violations.values()) {
    got.emplace_back(v.struct_value().fields().at("field").string_value(),
                     v.struct_value().fields().at("flag").string_value());
  }
  EXPECT_THAT(
      got,
      ElementsAre(std::pair<std::string, std::string>{"query.tags[0]", "--tag"},
                  std::pair<std::string, std::string>{"query.categories[0]",
                                                      "--category"}));
  r = Ctl({"get", "ok-id", "bad!id", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseJson<google::protobuf::Struct>(r.err).fields();
  violations = e.at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 1) << r.err;
  EXPECT_EQ(
      violations.values(0).struct_value().fields().at("field").string_value(),
      "names[1]");
  EXPECT_EQ(
      violations.values(0).struct_value().fields().at("flag").string_value(),
      "ID");
}

// `contentctl VERB --help-all` printed that verb's help only, as --help
// does, though --help-all says it is the help of every verb; `admin backup
// --help-all` printed backup in admin's place. Wherever it is given it is
// the whole reference now, every verb and admin command with its flags;
// --help stays the command's own.
TEST_F(CliTest, HelpAllIsEveryVerbWhereverGiven) {
  const std::string all = CtlOk({"--help-all"});
  for (const char* flag : {"  --dry-run ", "  --from-now ", "  --storage ",
                           "  DESTINATION TEXT REQUIRED", "  --repair "}) {
    EXPECT_THAT(all, HasSubstr(flag)) << all;
  }
  for (const std::string& line : Lines(all)) {
    EXPECT_LE(line.size(), 80u) << line;
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"get", "--help-all"},
        {"admin", "--help-all"},
        {"admin", "backup", "--help-all"},
        {"watch", "--tag", "x", "--help-all"}}) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(args);
    EXPECT_EQ(r.out, all) << ::testing::PrintToString(args);
  }
  const std::string get = CtlOk({"get", "--help"});
  EXPECT_THAT(get, Not(HasSubstr("--dry-run")));
  EXPECT_THAT(get, HasSubstr("  --help-all "));
}

// Under -o json|yaml stderr holds objects only, but output that could not
// be written to stdout was still said as a text line, `Error: writing to
// stdout: ...`, and so was `admin compact --storage`'s notice on a
// terminal. Each is an object now, of the shape the other errors and
// notices have.
TEST_F(CliTest, WriteFailuresAndTheCompactNoticeAreObjectsUnderJson) {
  CtlOk({"apply", "-f", Write("full2.md", Doc("Full", "", "afull2"))});
  for (const char* format : {"json", "yaml"}) {
    SCOPED_TRACE(format);
    std::unique_ptr<BackgroundCommand> ctl = BackgroundCommand::Start(
        {ContentctlBinary(), "--server", server_->address(), "query", "--tag",
         "afull2", "-o", format},
        "/dev/full", files_.path() + "/err.txt");
    ASSERT_NE(ctl, nullptr);
    const CommandResult r = ctl->Wait(std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const std::vector<YAML::Node> docs = YAML::LoadAll(r.err);
    ASSERT_EQ(docs.size(), 1u) << r.err;
    ASSERT_TRUE(docs[0].IsMap()) << r.err;
    EXPECT_EQ(docs[0]["code"].as<std::string>(), "") << r.err;
    EXPECT_EQ(docs[0]["domain"].as<std::string>(), "contentctl");
    EXPECT_EQ(docs[0]["reason"].as<std::string>(), "WRITE_FAILED");
    EXPECT_EQ(docs[0]["message"].as<std::string>(),
              "writing to stdout: No space left on device");
    EXPECT_EQ(docs[0]["metadata"]["path"].as<std::string>(), "stdout");
    EXPECT_EQ(docs[0]["fieldViolations"].size(), 0u);
    if (std::string(format) == "json") {
      EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
      ParseJson<google::protobuf::Struct>(r.err);
    }
  }
  // The notice shows on a terminal only: stderr on a pseudo-terminal
  // (script), stdout to a file.
  const std::string out = files_.path() + "/compact.out";
  const std::string command =
      absl::StrCat("'", ContentctlBinary(), "' --server '", server_->address(),
                   "' admin compact --storage -o json > '", out, "'");
  const CommandResult r = RunCommand({"script", "-qec", command, "/dev/null"},
                                     "", {}, std::chrono::seconds(120));
  ASSERT_FALSE(r.timed_out);
  // script gives the terminal's CR LF line ends.
  const std::vector<std::string> lines =
      Lines(absl::StrReplaceAll(r.out, {{"\r\n", "\n"}}));
  ASSERT_GE(lines.size(), 1u) << r.out;
  const auto notice = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(notice.at("notice").string_value(), "COMPACTING");
  EXPECT_EQ(notice.at("message").string_value(),
            "compacting; storage compaction can take minutes");
  if (!::content::testing::TestEngineIsPostgres()) {
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(lines.size(), 1u) << r.out;
  }
}

// `-o json -o yaml` was refused as a MISSING_ARGUMENT (`--output: At Most 1
// required but received 2`). A flag that takes one value and is given
// twice with different values is an INVALID_VALUE naming both; given twice
// with the same value it is taken.
TEST_F(CliTest, AFlagGivenTwiceWithDifferentValuesIsAnInvalidValue) {
  CommandResult r = Ctl({"get", "x", "-o", "json", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 2);
  const YAML::Node e = YAML::Load(r.err);
  EXPECT_EQ(e["reason"].as<std::string>(), "INVALID_VALUE") << r.err;
  EXPECT_EQ(e["flag"].as<std::string>(), "--output");
  EXPECT_EQ(e["message"].as<std::string>(),
            "--output: given 2 times with different values (\"json\", "
            "\"yaml\"); give it once");
  r = Ctl({"query", "--limit", "5", "--text", "a", "--limit", "6"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--limit: given 2 times with different "
                                "values (\"5\", \"6\"); give it once\n"));
  CtlOk({"apply", "-f", Write("twice.md", Doc("Twice", "", "atwice"))});
  r = Ctl({"get", "twice", "-o", "json", "--output=json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseJson<v1::Article>(r.out).title(), "Twice");
}

// `query --tag -o json` took `-o` as the tag and then refused `json` as an
// argument not expected; `query --tag -o` queried the tag "-o". A flag
// followed by another flag of the command instead of its value is a
// MISSING_ARGUMENT naming it, for every flag that takes a value; `=` gives
// a value that starts with `-`.
TEST_F(CliTest, AFlagFollowedByAnotherFlagLacksItsValue) {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
    std::string next;
    std::string command;
  };
  for (const Case& c : std::vector<Case>{
           {{"query", "--tag", "-o", "json"}, "--tag", "-o", "query"},
           {{"query", "--tag", "-o"}, "--tag", "-o", "query"},
           {{"-o", "json", "query", "--text", "--all"},
            "--text",
            "--all",
            "query"},
           {{"query", "--since", "--limit", "3", "-o", "json"},
            "--since",
            "--limit",
            "query"},
           {{"export", "--lang", "--dir", "d"}, "--lang", "--dir", "export"},
           {{"watch", "--category", "--from-now"},
            "--category",
            "--from-now",
            "watch"},
           {{"watch", "--not-tag", "--output=json"},
            "--not-tag",
            "--output=json",
            "watch"},
           {{"get", "x", "--revision", "-o", "json"},
            "--revision",
            "-o",
            "get"},
           {{"query", "--page-token", "--server", "127.0.0.1:1"},
            "--page-token",
            "--server",
            "query"}}) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const std::string message = absl::StrCat(
        c.flag, ": needs a value, and \"", c.next,
        "\" after it is a flag (to give a value that starts with -, write ",
        c.flag, "=", c.next, ")");
    if (absl::StrContains(absl::StrJoin(c.args, " "), "json")) {
      ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
      const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
      EXPECT_EQ(e.at("reason").string_value(), "MISSING_ARGUMENT");
      EXPECT_EQ(e.at("flag").string_value(), c.flag);
      EXPECT_EQ(e.at("message").string_value(), message);
    } else {
      EXPECT_EQ(r.err, absl::StrCat(message, "\nRun `contentctl ", c.command,
                                    " --help` for more information.\n"));
    }
  }
  // With `=` the value is taken as it is: a tag "-o" that nothing has.
  const auto response = Query({"--tag=-o"});
  EXPECT_EQ(response.articles_size(), 0);
}

// `query --tag --bogus` queried the tag "--bogus": a value that reads as a
// flag no command has is refused as a known flag there is, naming the flag
// and the `=` that gives such a value. `-` (stdin) and a negative number
// (for the flag's own range check) are still values.
TEST_F(CliTest, AFlagFollowedByAnUnknownFlagLacksItsValue) {
  CommandResult r = Ctl({"query", "--tag", "--bogus"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.err,
            "--tag: needs a value, and \"--bogus\" after it is an unknown "
            "flag (to give a value that starts with -, write --tag=--bogus)\n"
            "Run `contentctl query --help` for more information.\n");
  r = Ctl({"query", "--not-tag", "-x", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "MISSING_ARGUMENT");
  EXPECT_EQ(e.at("flag").string_value(), "--not-tag");
  EXPECT_EQ(e.at("message").string_value(),
            "--not-tag: needs a value, and \"-x\" after it is an unknown flag "
            "(to give a value that starts with -, write --not-tag=-x)");
  // With `=` the value is taken as it is.
  EXPECT_EQ(Query({"--tag=--bogus"}).articles_size(), 0);

  r = Ctl({"query", "--limit", "-5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--limit: must not be negative, got -5\n"));
  r = Ctl({"get", "x", "--revision", "-1", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(ParseJson<google::protobuf::Struct>(r.err)
                .fields()
                .at("reason")
                .string_value(),
            "INVALID_VALUE")
      << r.err;
  r = RunCommand({ContentctlBinary(), "--server", server_->address(), "apply",
                  "-f", "-", "--id", "dash-value"},
                 "---\ntitle: \"Dash\"\n---\nbody\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/dash-value created"));
}

// A flag that ends the line without its value said CLI11's `--limit: 1
// required INT missing`: it says what value it needs, in words, or only
// that it needs one.
TEST_F(CliTest, AFlagAtTheEndLacksItsValue) {
  for (const auto& [args, message, command] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"query", "--limit"},
            "--limit: needs a value (a whole number)",
            "query"},
           {{"get", "x", "--revision"},
            "--revision: needs a value (a whole number)",
            "get"},
           {{"query", "--tag", "a", "--tag"}, "--tag: needs a value", "query"},
           {{"get", "x", "--server"}, "--server: needs a value", "get"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_EQ(r.err, absl::StrCat(message, "\nRun `contentctl ", command,
                                  " --help` for more information.\n"));
  }
}

// A flag given `=` and nothing after it (`--tag=$UNSET`) lacks its value
// wherever it is: CLI11 takes an empty value after `=` as none and took the
// next argument instead, whatever it was, so `query --tag= ai` queried the
// tag "ai", `query --tag= --limit 3` refused the 3, and `--token= get x`
// sent the token "get" and refused the verb "x".
TEST_F(CliTest, AFlagGivenAnEmptyValueWithEqualsLacksItsValue) {
  for (const auto& [args, message, command] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"query", "--tag=", "ai"}, "--tag: needs a value", "query"},
           {{"query", "--tag=", "--limit", "3"},
            "--tag: needs a value",
            "query"},
           {{"query", "--limit=", "3"},
            "--limit: needs a value (a whole number)",
            "query"},
           {{"get", "--revision=", "1", "x"},
            "--revision: needs a value (a whole number)",
            "get"},
           {{"get", "x", "--token=", "y"}, "--token: needs a value", "get"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_EQ(r.err, absl::StrCat(message, "\nRun `contentctl ", command,
                                  " --help` for more information.\n"));
  }
  // Before the verb, as global flags go too.
  CommandResult r = Ctl({"--token=", "get", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.err, StartsWith("--token: needs a value\n"));
  r = Ctl({"query", "--tag=", "ai", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "MISSING_ARGUMENT");
  EXPECT_EQ(e.at("flag").string_value(), "--tag");
  EXPECT_EQ(e.at("message").string_value(), "--tag: needs a value");
}

// An empty value given apart (`--ca "$UNSET"`) of a TLS file, the request
// id or the token is no value either, as `--ca=` is: it read as the flag
// left out, so `--ca ""` dialled in plaintext and `--token ""` sent no
// token. An empty variable is still unset.
TEST_F(CliTest, AnEmptyTlsFileRequestIdOrTokenLacksItsValue) {
  for (const auto& [args, message] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--ca", "", "get", "x"}, "--ca: needs a value"},
           {{"get", "x", "--cert", ""}, "--cert: needs a value"},
           {{"get", "x", "--key", ""}, "--key: needs a value"},
           {{"get", "x", "--request-id", ""}, "--request-id: needs a value"},
           {{"--token", "", "get", "x"}, "--token: needs a value"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_EQ(r.err, absl::StrCat(message,
                                  "\nRun `contentctl get --help` for more "
                                  "information.\n"));
  }
  CommandResult r = Ctl({"get", "x", "--ca", "", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "MISSING_ARGUMENT");
  EXPECT_EQ(e.at("flag").string_value(), "--ca");
  // Empty variables are unset: the call goes out (NOT_FOUND, no such id).
  r = Ctl({"get", "no-such-article"},
          {"CONTENT_CA=", "CONTENT_CERT=", "CONTENT_KEY=",
           "CONTENT_REQUEST_ID=", "CONTENT_TOKEN="});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND")) << r.err;
}

// `query --tag --` queried the tag "--" (and `--tag -- x` refused `x` as an
// argument not expected): `--`, which ends the flags, is no value either,
// but for one given with `=`.
TEST_F(CliTest, AFlagFollowedByTheEndOfFlagsLacksItsValue) {
  CommandResult r = Ctl({"query", "--tag", "--"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.err,
            "--tag: needs a value, and \"--\" after it ends the flags (to "
            "give a value that starts with -, write --tag=--)\n"
            "Run `contentctl query --help` for more information.\n");
  r = Ctl({"query", "-o", "json", "--text", "--", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "MISSING_ARGUMENT");
  EXPECT_EQ(e.at("flag").string_value(), "--text");
  EXPECT_EQ(e.at("message").string_value(),
            "--text: needs a value, and \"--\" after it ends the flags (to "
            "give a value that starts with -, write --text=--)");
  // A one-letter flag is told of its long name's `=`.
  r = Ctl({"apply", "-f", "--"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.err, StartsWith("-f: needs a value, and \"--\" after it ends "
                                "the flags (to give a value that starts with "
                                "-, write --filename=--)\n"));
  // With `=` the value is taken as it is.
  EXPECT_EQ(Query({"--tag=--"}).articles_size(), 0);
}

// apply -o json's results carried a failed file's reason but not its
// metadata; and a field violation of the server's, in a failed file's
// error on stderr, had `"flag": ""`: it is about a front-matter key, which
// it names now as the text leads with it.
TEST_F(CliTest, ApplyJsonResultsHaveMetadataAndViolationsTheirKey) {
  const std::string big =
      Write("meta/too-large-2.md",
            Doc("Too large", "", "", "", std::string(1100000, 'x')));
  CommandResult r = Ctl({"apply", "-f", big, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto results = ParseJson<google::protobuf::ListValue>(r.out);
  ASSERT_EQ(results.values_size(), 1) << r.out;
  const auto& result = results.values(0).struct_value().fields();
  EXPECT_EQ(result.at("reason").string_value(), "ARTICLE_TOO_LARGE");
  EXPECT_EQ(result.count("metadata"), 1u) << r.out;
  if (result.count("metadata") == 1) {
    const auto& metadata = result.at("metadata").struct_value().fields();
    EXPECT_EQ(metadata.count("size_bytes"), 1u) << r.out;
    ASSERT_EQ(metadata.count("limit_bytes"), 1u) << r.out;
    EXPECT_EQ(metadata.at("limit_bytes").string_value(), "1048576");
  }
  // Through UpdateArticle: the server's BadRequest.
  const std::string one = Write("meta/keys-viol.md", Doc("Viol", "", "kv"));
  CtlOk({"apply", "-f", one});
  Write("meta/keys-viol.md",
        Doc("Viol", "", "kv, \"kv2 \"",
            "publishDate: 2030-01-01\nexpiryDate: 2029-01-01\n"));
  r = Ctl({"apply", "-f", one, "--expected-revision", "1", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  const auto e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& v : e.at("fieldViolations").list_value().values()) {
    const auto& fields = v.struct_value().fields();
    EXPECT_EQ(fields.count("flag"), 0u) << lines[0];
    got.emplace_back(
        fields.at("field").string_value(),
        fields.count("key") ? fields.at("key").string_value() : "(none)");
  }
  EXPECT_THAT(got, ::testing::UnorderedElementsAre(
                       std::pair<std::string, std::string>{"article.tags[1]",
                                                           "tags[1]"},
                       std::pair<std::string, std::string>{
                           "article.expiry_time", "expiryDate"}))
      << lines[0];
}

// A front-matter key that is no field went to params silently: `tittle:`
// or `tag:` left the article without its title or tags. apply warns of a
// top-level key close to a field (case, singular and plural, a letter or
// two off) and keeps it as a param; --strict fails the file instead. Keys
// far from every field, and keys under `params:`, are custom params,
// without a warning.
TEST_F(CliTest, ApplyWarnsOfFrontMatterKeysCloseToAField) {
  const std::string a =
      Write("near/near-a.md",
            "---\ntitle: \"A\"\ntittle: \"Typo\"\ntag: [x]\nCategory: news\n"
            "publish_date: 2025-01-01\ndescription: \"custom\"\nauthor: me\n"
            "data: 1\nparams:\n  summery: \"on purpose\"\n---\nbody\n");
  const std::string b = Write(
      "near/near-b.md",
      "---\ntitle: \"B\"\nsumary: \"s\"\nweight: 3\nslug: bee\n---\nbody\n");
  const std::string c =
      Write("near/near-c.md", Doc("C", "", "x", "image: \"c.png\"\n"));
  const std::string dir = files_.path() + "/near";
  CommandResult r = Ctl({"apply", "-f", dir, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto warning = [](const std::string& file, const std::string& key,
                          const std::string& field) {
    return absl::StrCat(file, ": warning: front matter key '", key,
                        "' is not a field; kept as a param (did you mean '",
                        field, "'?)");
  };
  EXPECT_THAT(
      Lines(r.err),
      ElementsAre(warning(a, "tittle", "title"), warning(a, "tag", "tags"),
                  warning(a, "Category", "categories"),
                  warning(a, "publish_date", "publishDate"),
                  warning(b, "sumary", "summary")))
      << r.err;
  // Applied, the keys are params, as before.
  CtlOk({"apply", "-f", dir});
  const v1::Article got = GetJson("near-a");
  EXPECT_EQ(got.title(), "A");
  EXPECT_EQ(got.params().fields().count("tittle"), 1u);
  EXPECT_EQ(got.params().fields().count("summery"), 1u);

  // -o json: a warning object each, as apply's other warnings.
  r = Ctl({"apply", "-f", b, "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  auto w = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(w.at("notice").string_value(), "WARNING");
  EXPECT_EQ(w.at("reason").string_value(), "KEY_NOT_A_FIELD");
  EXPECT_EQ(w.at("file").string_value(), b);
  EXPECT_EQ(w.at("key").string_value(), "sumary");
  EXPECT_EQ(w.at("field").string_value(), "summary");
  EXPECT_EQ(w.at("message").string_value(),
            "front matter key 'sumary' is not a field; kept as a param (did "
            "you mean 'summary'?)");
  EXPECT_EQ(ParseJson<google::protobuf::Struct>(lines[1])
                .fields()
                .at("notice")
                .string_value(),
            "SUMMARY");

  // --strict: such a file fails, unsent; the others apply.
  Write("near/near-c.md", Doc("C 2", "", "x", "image: \"c.png\"\n"));
  r = Ctl({"apply", "-f", dir, "--strict"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_EQ(lines[0],
            a + ": error: INVALID_ARGUMENT: front matter key 'tittle' is not "
                "a field (did you mean 'title'?); front matter key 'tag' is "
                "not a field (did you mean 'tags'?); front matter key "
                "'Category' is not a field (did you mean 'categories'?); "
                "front matter key 'publish_date' is not a field (did you mean "
                "'publishDate'?); --strict refuses it: correct the key, or put "
                "it under `params:` to keep it as a param");
  EXPECT_THAT(lines[1], StartsWith(b + ": error: INVALID_ARGUMENT: front "
                                       "matter key 'sumary' is not a field"));
  EXPECT_THAT(r.out, HasSubstr("articles/near-c updated"));
  EXPECT_THAT(r.out, HasSubstr("applied 1 of 3 files: 0 created, 1 updated, 0 "
                               "unchanged, 2 failed"));
  // Through UpdateArticle and from stdin too.
  r = Ctl({"apply", "-f", b, "--strict", "--expected-revision", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("'sumary' is not a field"));
  r = RunCommand({ContentctlBinary(), "--server", server_->address(), "apply",
                  "-f", "-", "--id", "near-b"},
                 "---\ntitle: \"B\"\nsumary: \"s\"\n---\nbody\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, warning("<stdin>", "sumary", "summary") + "\n");
}

// `page:` (a theme's param of its own) was warned of as a typo of `pager`:
// a key or field of 4 letters or fewer is close only by case and plural,
// as one letter more or less makes another word of a short one.
TEST_F(CliTest, ApplyTakesAShortKeyALetterFromAFieldAsAParam) {
  const std::string f =
      Write("short/short-keys.md",
            "---\ntitle: \"S\"\npage: 2\nraft: x\nPager: true\n---\nbody\n");
  CommandResult r = Ctl({"apply", "-f", f, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, f + ": warning: front matter key 'Pager' is not a field; "
                       "kept as a param (did you mean 'pager'?)\n");
  const std::string page =
      Write("short/short-page.md", "---\ntitle: \"P\"\npage: 2\n---\nbody\n");
  r = Ctl({"apply", "-f", page, "--strict"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(GetJson("short-page").params().fields().at("page").number_value(),
            2);
}

// `pages:` was warned of as a typo of `pager` (and refused by --strict): it
// is the plural of `page`, a short word and a param of its own. The field's
// own plural still warns, and so does a longer key a letter off that ends
// in s (`widgts`).
TEST_F(CliTest, ApplyTakesThePluralOfAShortWordAsAParam) {
  const std::string f =
      Write("plural/plural-keys.md",
            "---\ntitle: \"P\"\npages: 2\nPages: 3\npagers: true\n"
            "widgts: [w]\n---\nbody\n");
  CommandResult r = Ctl({"apply", "-f", f, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err,
            absl::StrCat(f,
                         ": warning: front matter key 'pagers' is not a "
                         "field; kept as a param (did you mean 'pager'?)\n",
                         f,
                         ": warning: front matter key 'widgts' is not a "
                         "field; kept as a param (did you mean 'widgets'?)\n"));
  const std::string pages = Write("plural/plural-pages.md",
                                  "---\ntitle: \"P\"\npages: 2\n---\nbody\n");
  r = Ctl({"apply", "-f", pages, "--strict"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(
      GetJson("plural-pages").params().fields().at("pages").number_value(), 2);
}

// ---- kubectl's output habits: -o name, --no-headers ----------------------

// `line`'s cells joined by one space: a row as it reads whatever the
// column widths.
std::string Cells(const std::string& line) {
  return absl::StrJoin(absl::StrSplit(line, ' ', absl::SkipEmpty()), " ");
}

// `-o name` prints `articles/ID`, a line each, wherever articles are listed
// or acted on, and nothing else on stdout, so that it feeds a pipe; the
// verbs that print no articles refuse it, naming the formats they take.
TEST_F(CliTest, OutputNameIsOneArticleNameALine) {
  Write("nm/nm-a.md",
        Doc("A", "2024-03-01", "anm", "lang: en\ntranslationKey: nmgrp\n"));
  Write("nm/nm-b.md",
        Doc("B", "2024-03-02", "anm", "lang: zh-CN\ntranslationKey: nmgrp\n"));
  CommandResult r = Ctl({"apply", "-f", files_.path() + "/nm", "-o", "name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/nm-a\narticles/nm-b\n");
  EXPECT_EQ(r.err,
            "applied 2 files: 2 created, 0 updated, 0 unchanged, 0 failed\n");

  EXPECT_EQ(CtlOk({"get", "nm-a", "-o", "name"}), "articles/nm-a\n");
  r = Ctl({"get", "nm-a", "nm-none", "nm-b", "-o", "name"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "articles/nm-a\narticles/nm-b\n");
  EXPECT_THAT(r.err, StartsWith("Error: NOT_FOUND"));
  EXPECT_THAT(r.err, HasSubstr("articles/nm-none"));

  r = Ctl({"query", "--tag", "anm", "-o", "name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/nm-b\narticles/nm-a\n");  // newest first
  EXPECT_EQ(r.err, "total: 2 articles\n");
  r = Ctl({"query", "--tag", "anm-none", "-o", "name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "No articles found.\n");

  EXPECT_THAT(
      Lines(CtlOk({"translations", "nm-a", "-o", "name"})),
      ::testing::UnorderedElementsAre("articles/nm-a", "articles/nm-b"));
  EXPECT_EQ(CtlOk({"delete", "nm-a", "-o", "name"}), "articles/nm-a\n");
  EXPECT_EQ(CtlOk({"undelete", "nm-a", "-o", "name"}), "articles/nm-a\n");
  EXPECT_EQ(CtlOk({"restore", "nm-a", "1", "-o", "name"}), "articles/nm-a\n");

  const std::string tjy = "--output: name not in {table,json,yaml}: ";
  for (const auto& [args, error] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"tags"}, tjy + "tags prints tags and their counts, not articles"},
           {{"categories"},
            tjy + "categories prints categories and their counts, not "
                  "articles"},
           {{"history", "nm-a"},
            "--output: name not in {table,json,yaml,markdown}: history prints "
            "the revisions of one article, not articles"},
           {{"diff", "nm-a"},
            tjy + "diff prints the changes between two revisions, not "
                  "articles"},
           {{"watch"}, tjy + "watch prints change events, not articles"},
           {{"admin", "stats"},
            tjy + "admin stats prints a report on the store, not articles"},
           {{"version"}, tjy + "version prints versions, not articles"},
           {{"export", "nm-a"},
            "--output: name not in {markdown}: export writes Markdown only; "
            "leave -o out (`query -o name` lists the articles' names)"},
       }) {
    SCOPED_TRACE(args.front());
    std::vector<std::string> with_o = args;
    with_o.insert(with_o.end(), {"-o", "name"});
    r = Ctl(with_o);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    const std::string command =
        args.front() == "admin" ? "admin stats" : args.front();
    EXPECT_EQ(r.err, absl::StrCat(error, "\nRun `contentctl ", command,
                                  " --help` for more information.\n"));
  }
}

// `apply --dry-run -o name` names what the apply would write, for a pipe
// (`| xargs`): it named the articles it would leave unchanged too, which
// read as changes. Its summary, on stderr, counts those; the apply itself
// still names every article it applied, changed or not, as kubectl does.
TEST_F(CliTest, ApplyDryRunOutputNameListsOnlyWhatWouldChange) {
  const std::string dir = files_.path() + "/odr";
  Write("odr/odr-a.md", Doc("A", "2024-05-01", "aodr"));
  Write("odr/odr-b.md", Doc("B", "2024-05-02", "aodr"));
  CtlOk({"apply", "-f", dir});
  Write("odr/odr-b.md", Doc("B changed", "2024-05-02", "aodr"));
  Write("odr/odr-c.md", Doc("C", "2024-05-03", "aodr"));
  for (const char* dry_run : {"--dry-run", "--dry-run=server"}) {
    CommandResult r = Ctl({"apply", "-f", dir, dry_run, "-o", "name"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "articles/odr-b\narticles/odr-c\n") << dry_run;
    EXPECT_EQ(r.err,
              "dry run, nothing written: applied 3 files: 1 created, 1 "
              "updated, 1 unchanged, 0 failed\n");
  }
  EXPECT_EQ(GetJson("odr-b").title(), "B");
  EXPECT_NE(Ctl({"get", "odr-c"}).exit_code, 0);
  // The table lists every file as before, the unchanged one too.
  EXPECT_EQ(Lines(CtlOk({"apply", "-f", dir, "--dry-run"})),
            (std::vector<std::string>{
                "articles/odr-a unchanged (revision 1) (dry run)",
                "articles/odr-b updated (revision 2) (dry run)",
                "articles/odr-c created (revision 1) (dry run)",
                "dry run, nothing written: applied 3 files: 1 created, 1 "
                "updated, 1 unchanged, 0 failed"}));
  // A file that would fail is said on stderr and named nowhere on stdout.
  const std::string bad = Write("odr-bad/odr-bad.md", "---\ntitle: [\n---\n");
  CommandResult r =
      Ctl({"apply", "-f", dir, "-f", bad, "--dry-run", "-o", "name"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "articles/odr-b\narticles/odr-c\n");
  EXPECT_THAT(r.err, HasSubstr("odr-bad.md: error: "));

  r = Ctl({"apply", "-f", dir, "-o", "name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/odr-a\narticles/odr-b\narticles/odr-c\n");
  // Now nothing would change: nothing on stdout.
  r = Ctl({"apply", "-f", dir, "--dry-run", "-o", "name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "dry run, nothing written: applied 3 files: 0 created, 0 "
            "updated, 3 unchanged, 0 failed\n");
}

// Every verb takes the -o formats its help lists and refuses the others
// alike: a usage error (exit 2, nothing on stdout, nothing sent) naming
// --output and listing the formats that verb takes, in the words of
// CLI11's error of a value that is no format. The refusals named `-o`
// (`"flag": "-o"` under -o json) each in words of its own, a value that is
// no format listed all five whatever the verb, `diff -o markdown` printed
// its table, and each verb's help listed all five.
TEST_F(CliTest, EveryVerbTakesTheOutputFormatsItsHelpListsAndRefusesTheRest) {
  const std::string file =
      Write("ofm/ofm-a.md", Doc("A", "2024-06-01", "aofm"));
  CtlOk({"apply", "-f", file});
  const std::string backup = files_.path() + "/ofm-backup";
  using Formats = std::vector<std::string>;
  const Formats all = {"table", "json", "yaml", "markdown", "name"};
  const Formats reports = {"table", "json", "yaml"};
  const Formats apply = {"table", "json", "yaml", "name"};
  for (const auto& [args, formats] :
       std::vector<std::pair<std::vector<std::string>, Formats>>{
           {{"apply", "-f", file}, apply},
           {{"apply", "-f", file, "--dry-run"}, apply},
           {{"edit", "ofm-a"}, all},
           {{"get", "ofm-a"}, all},
           {{"query", "--tag", "aofm"}, all},
           {{"tags"}, reports},
           {{"categories"}, reports},
           {{"history", "ofm-a"}, {"table", "json", "yaml", "markdown"}},
           {{"delete", "ofm-a"}, all},
           {{"undelete", "ofm-a"}, all},
           {{"diff", "ofm-a"}, reports},
           {{"restore", "ofm-a", "1"}, all},
           {{"translations", "ofm-a"}, all},
           {{"export", "ofm-a"}, {"markdown"}},
           {{"watch"}, reports},
           {{"admin", "stats"}, reports},
           {{"admin", "health"}, reports},
           {{"admin", "operations"}, reports},
           {{"admin", "fsck"}, reports},
           {{"admin", "compact"}, reports},
           {{"admin", "backup", backup}, reports},
           {{"version"}, reports},
       }) {
    const std::string verb =
        args[0] == "admin" ? absl::StrCat("admin ", args[1]) : args[0];
    SCOPED_TRACE(::testing::PrintToString(args));
    const std::string list =
        absl::StrCat("{", absl::StrJoin(formats, ","), "}");
    const std::string hint = absl::StrCat("\nRun `contentctl ", verb,
                                          " --help` for more information.\n");
    Formats refused = {"xml"};
    for (const std::string& f : all) {
      if (f != "table" &&
          std::find(formats.begin(), formats.end(), f) == formats.end()) {
        refused.push_back(f);
      }
    }
    for (const std::string& f : refused) {
      std::vector<std::string> argv = args;
      argv.insert(argv.end(), {"--output", f});
      CommandResult r = Ctl(argv);
      EXPECT_EQ(r.exit_code, 2) << f;
      EXPECT_EQ(r.out, "") << f;
      const std::string prefix = absl::StrCat("--output: ", f, " not in ", list,
                                              f == "xml" ? "\n" : ": ");
      if (f == "json" || f == "yaml") {
        // Refused in the format asked for: the usage error's object.
        const YAML::Node e = YAML::Load(r.err);
        EXPECT_EQ(e["code"].as<std::string>(""), "INVALID_ARGUMENT");
        EXPECT_EQ(e["reason"].as<std::string>(""), "INVALID_VALUE");
        EXPECT_EQ(e["flag"].as<std::string>(""), "--output");
        EXPECT_THAT(e["message"].as<std::string>(""), StartsWith(prefix));
        EXPECT_EQ(absl::StrCat("\n", e["hint"].as<std::string>(""), "\n"),
                  hint);
      } else {
        EXPECT_THAT(r.err, StartsWith(prefix));
        EXPECT_THAT(r.err, EndsWith(hint));
      }
    }
    // Its help's -o line lists the same.
    std::vector<std::string> help = args;
    help.push_back("--help");
    CommandResult r = Ctl(help);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("  -o,--output TEXT:", list)));
  }
  EXPECT_FALSE(fs::exists(backup));
  EXPECT_EQ(GetJson("ofm-a").revision(), 1);  // nothing was written
  // help and completion print the same whatever -o says.
  EXPECT_EQ(CtlOk({"help", "tags", "-o", "name"}), CtlOk({"tags", "--help"}));
  EXPECT_EQ(CtlOk({"completion", "bash", "-o", "markdown"}),
            CtlOk({"completion", "bash"}));
}

// --no-headers (kubectl's) leaves the header row out of each table, the
// rows as they were; the formats with no header row ignore it.
TEST_F(CliTest, NoHeadersLeavesTheHeaderRowOut) {
  Write("nh/nh-a.md", Doc("A", "2024-04-01", "anh",
                          "lang: en\ntranslationKey: nhgrp\n"
                          "categories: [nhcat]\n"));
  Write("nh/nh-b.md", Doc("B", "2024-04-02", "anh",
                          "lang: fr\ntranslationKey: nhgrp\n"
                          "categories: [nhcat]\n"));
  CtlOk({"apply", "-f", files_.path() + "/nh"});
  CtlOk({"apply", "-f",
         Write("nh/nh-a.md", Doc("A2", "2024-04-01", "anh",
                                 "lang: en\n"
                                 "translationKey: nhgrp\n"
                                 "categories: [nhcat]\n"))});
  for (const auto& [args, header] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"query", "--tag", "anh"}, "NAME REV DATE TITLE TAGS"},
           {{"query", "--tag", "anh", "--all"},
            "NAME REV STATE DATE TITLE TAGS"},
           {{"get", "nh-a", "nh-b"}, "NAME REV DATE TITLE TAGS"},
           {{"tags", "--prefix", "anh"}, "TAG ARTICLES"},
           {{"categories", "--prefix", "nhcat"}, "CATEGORY ARTICLES"},
           {{"history", "nh-a"}, "REV UPDATED STATE CONTENT-HASH"},
           {{"translations", "nh-a"}, "ID LANG STATE TITLE"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const std::vector<std::string> table = Lines(CtlOk(args));
    std::vector<std::string> no_headers_args = args;
    no_headers_args.push_back("--no-headers");
    const std::vector<std::string> rows = Lines(CtlOk(no_headers_args));
    ASSERT_EQ(table.size(), rows.size() + 1);
    EXPECT_EQ(Cells(table[0]), header);
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(Cells(rows[i]), Cells(table[i + 1]));
    }
    // Ignored where there is no header row.
    std::vector<std::string> json = args;
    json.insert(json.end(), {"-o", "json"});
    const std::string want = CtlOk(json);
    json.push_back("--no-headers");
    EXPECT_EQ(CtlOk(json), want);
  }
  // admin operations takes it too (its lines have no header).
  CommandResult r = Ctl({"admin", "operations", "--no-headers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A verb with no table does not take it.
  r = Ctl({"diff", "nh-a", "--no-headers"});
  EXPECT_EQ(r.exit_code, 2);
}

// `delete A B C` and `undelete A B C`: each in turn, a line each in order;
// one that fails says which and why on stderr, the others still go, and
// the exit code is 1. A condition on one article's head is refused with
// several.
TEST_F(CliTest, DeleteAndUndeleteTakeSeveralIdsEachReported) {
  for (const char* id : {"mdel1", "mdel2", "mdel3"}) {
    CtlOk({"apply", "-f",
           Write(absl::StrCat("mdel/", id, ".md"),
                 Doc(id, "2024-05-01", "amdel"))});
  }
  CommandResult r = Ctl({"delete", "mdel1", "mdel-none", "mdel2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "articles/mdel1 deleted (revision 2)\n"
            "articles/mdel2 deleted (revision 2)\n");
  EXPECT_EQ(r.err, "Error: NOT_FOUND: articles/mdel-none not found\n");

  // mdel3 is live: undelete fails for it, the others come back.
  r = Ctl({"undelete", "mdel1", "mdel3", "articles/mdel2", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto list = ParseJson<google::protobuf::ListValue>(r.out);
  ASSERT_EQ(list.values_size(), 2) << r.out;
  EXPECT_EQ(list.values(0).struct_value().fields().at("name").string_value(),
            "articles/mdel1");
  EXPECT_EQ(list.values(1).struct_value().fields().at("name").string_value(),
            "articles/mdel2");
  const auto error = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(error.at("code").string_value(), "FAILED_PRECONDITION");
  EXPECT_EQ(error.at("name").string_value(), "articles/mdel3");
  EXPECT_EQ(GetJson("mdel1").revision(), 3);

  r = Ctl({"delete", "mdel1", "mdel2", "--expected-revision", "3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "--expected-revision: is a condition on the head of one article; "
            "give one ID (2 given)\nRun `contentctl delete --help` for more "
            "information.\n");
  EXPECT_EQ(GetJson("mdel1").revision(), 3);  // nothing written

  r = Ctl({"delete"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("missing ID: delete takes one or more "
                                "article ids, `x` or `articles/x`, or -f "
                                "FILE"));
}

// `delete -f` (kubectl's): the articles the files name, as apply named
// them (front-matter id, else the file name); a document that names none
// is an error naming it. Ids and -f do not go together.
TEST_F(CliTest, DeleteFromFilesDeletesWhatApplyWrote) {
  Write("df/df-a.md", Doc("A", "2024-06-01", "adf"));
  const std::string with_id =
      Write("df/sub/whatever.md", Doc("B", "2024-06-02", "adf", "id: df-b\n"));
  const std::string dir = files_.path() + "/df";
  CtlOk({"apply", "-f", dir});

  CommandResult r = Ctl({"delete", "-f", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "articles/df-a deleted (revision 2)\n"
            "articles/df-b deleted (revision 2)\n");
  EXPECT_EQ(r.err, "");

  r = CtlPiped(with_id, {"undelete", "-f", "-", "-o", "name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/df-b\n");

  const std::string no_id = Write("noid.md", Doc("no id", "2024-06-03", "adf"));
  r = CtlPiped(no_id, {"undelete", "-f", "-"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error: INVALID_ARGUMENT: <stdin>: id: standard input has no file "
            "name to take the id from, and its front matter has no `id` "
            "(`id: x`)\n");

  r = Ctl({"delete", "df-a", "-f", dir});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("-f: cannot be combined with ID arguments"));
  r = Ctl({"undelete", "-f", dir, "--etag", "e"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--etag: is a condition on the head of one "
                                "article; -f names 2\n"));
  EXPECT_TRUE(GetJson("df-a", {"--show-deleted"}).has_delete_time());
}

// `delete -f a.md b.md`, what a shell glob gives -f, reads b.md as an ID:
// refused, with apply's hint that each file needs its own -f. An ID that
// is no file gets no hint.
TEST_F(CliTest, DeleteOfSeveralFilesAfterOneFHintsEachItsOwnF) {
  const std::string a = Write("dglob/dg-a.md", Doc("a", "2024-06-01", "adg"));
  const std::string b = Write("dglob/dg-b.md", Doc("b", "2024-06-02", "adg"));
  CtlOk({"apply", "-f", a, "-f", b});
  CommandResult r = Ctl({"delete", "-f", a, b});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "-f: cannot be combined with ID arguments (delete ID... or "
            "delete -f FILE); each file its own -f: -f a.md -f b.md, or -f "
            "DIR for every Markdown file under DIR\n"
            "Run `contentctl delete --help` for more information.\n");
  r = Ctl({"undelete", "-f", a, b});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("; each file its own -f: -f a.md -f b.md"));
  r = Ctl({"delete", "dg-b", "-f", a});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("-f: cannot be combined with ID arguments "
                                "(delete ID... or delete -f FILE)\n"));
  // Nothing was deleted; each file its own -f deletes both.
  EXPECT_FALSE(GetJson("dg-b").has_delete_time());
  EXPECT_EQ(CtlOk({"delete", "-f", a, "-f", b}),
            "articles/dg-a deleted (revision 2)\n"
            "articles/dg-b deleted (revision 2)\n");
}

// diff names states as front matter and the other tables do; history's
// UPDATED is to the second, one width down the column; admin stats lines
// its storage figures up in one column.
TEST_F(CliTest, DiffHistoryAndStatsReadAsTheOtherTables) {
  const std::string f = Write(
      "cs1.md", Doc("cs", "2024-07-01", "acs", "state: draft\n", "one\n"));
  CtlOk({"apply", "-f", f});
  Write("cs1.md",
        Doc("cs", "2024-07-01", "acs", "state: published\n", "two\n"));
  CtlOk({"apply", "-f", f});
  const std::string diff = CtlOk({"diff", "cs1", "--color=never"});
  EXPECT_THAT(diff, HasSubstr("state:\n- \"draft\"\n+ \"published\"\n"));
  EXPECT_THAT(diff, Not(HasSubstr("DRAFT")));

  const auto history = ParseJson<v1::ListArticleRevisionsResponse>(
      CtlOk({"history", "cs1", "-o", "json"}));
  const std::vector<std::string> table = Lines(CtlOk({"history", "cs1"}));
  ASSERT_EQ(table.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    const std::vector<std::string> cells =
        absl::StrSplit(table[i + 1], ' ', absl::SkipEmpty());
    ASSERT_GE(cells.size(), 2u);
    EXPECT_EQ(
        cells[1],
        absl::FormatTime(
            "%Y-%m-%dT%H:%M:%SZ",
            absl::FromUnixSeconds(history.revisions(i).update_time().seconds()),
            absl::UTCTimeZone()));
  }
  EXPECT_EQ(table[1].find("live"), table[2].find("draft"));

  const std::string stats = CtlOk({"admin", "stats"});
  EXPECT_THAT(stats, HasSubstr("\nread-only:         no\n"));
  const std::vector<std::string> lines = Lines(stats);
  const auto storage = std::find(lines.begin(), lines.end(), "storage:");
  if (storage == lines.end()) {
    EXPECT_THAT(stats, HasSubstr("\nstorage:           none\n"));
    return;
  }
  std::set<size_t> value_columns;
  for (auto it = storage + 1; it != lines.end(); ++it) {
    EXPECT_THAT(*it, StartsWith("  "));
    const size_t colon = it->find(": ");
    ASSERT_NE(colon, std::string::npos) << *it;
    value_columns.insert(it->find_first_not_of(' ', colon + 1));
  }
  EXPECT_GT(lines.end() - storage, 2);
  EXPECT_EQ(value_columns.size(), 1u) << stats;
}

}  // namespace
}  // namespace content
