// End-to-end: `contentctl completion bash|zsh` loaded into a real bash,
// asked to complete command lines as bash asks (COMP_WORDS, COMP_CWORD),
// with what it offers compared to contentctl's own verbs and flags, and to
// the tags and categories of a real contentd.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ctl.h"
#include "tests/support/harness.h"

namespace content {
namespace {

namespace fs = std::filesystem;

using ::content::testing::CommandResult;
using ::content::testing::ContentctlBinary;
using ::content::testing::Ctl;
using ::content::testing::PathWithContentctl;
using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsSupersetOf;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

// A completion's wait for the server, long enough for any machine the
// tests run on.
constexpr char kPatient[] = "CONTENT_COMPLETION_TIMEOUT=60s";

class CliCompletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CommandResult r = RunCommand({ContentctlBinary(), "completion", "bash"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    script_ = dir_.path() + "/contentctl.bash";
    WriteFile(script_, r.out);
    fs::create_directories(dir_.path() + "/site/posts");
    WriteFile(dir_.path() + "/site/posts/a.md", "");
    WriteFile(dir_.path() + "/notes with space.md", "");
  }

  // Writes an article `id` with front matter `front` (YAML lines after the
  // title) and applies it to `server`.
  void Apply(ServerProcess& server, const std::string& id,
             const std::string& front) {
    const std::string file = dir_.path() + "/" + id + ".md";
    WriteFile(file, absl::StrCat("---\ntitle: ", id, "\n", front, "\n---\n"));
    CommandResult r = Ctl(server, {"apply", "-f", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // What the completion offers for `words`, the last being the word under
  // the cursor, run in the test's directory with the environment entries
  // `env` (NAME=VALUE) added: one entry per COMPREPLY word. Nothing may
  // reach stderr. The server gets a minute to answer (kPatient) unless
  // `env` sets the wait: these tests are about which candidates come, and a
  // loaded machine took more than the default wait to start contentctl,
  // connect and ask (12-05).
  std::vector<std::string> Complete(const std::vector<std::string>& words,
                                    std::vector<std::string> env = {}) {
    if (std::none_of(env.begin(), env.end(), [](const std::string& e) {
          return absl::StartsWith(e, "CONTENT_COMPLETION_TIMEOUT=");
        })) {
      env.push_back(kPatient);
    }
    std::string array;
    for (const std::string& w : words) absl::StrAppend(&array, "'", w, "' ");
    const std::string driver = absl::StrCat(
        "cd '", dir_.path(), "' || exit 9\nsource '", script_, "' || exit 8\n",
        "COMP_WORDS=(", array, ")\nCOMP_CWORD=", words.size() - 1,
        "\n_contentctl\n",
        "for w in \"${COMPREPLY[@]}\"; do printf '%s\\n' \"$w\"; done\n");
    CommandResult r = RunCommand({"/bin/bash", "-c", driver}, "", env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::vector<std::string> out =
        absl::StrSplit(r.out, '\n', absl::SkipEmpty());
    return out;
  }

  TempDir dir_;
  std::string script_;
};

TEST_F(CliCompletionTest, VerbsAndTheirCommands) {
  EXPECT_THAT(Complete({"contentctl", ""}),
              ElementsAre("apply", "edit", "get", "query", "tags", "categories",
                          "history", "delete", "undelete", "diff", "restore",
                          "translations", "export", "watch", "admin", "version",
                          "completion", "help"));
  EXPECT_THAT(Complete({"contentctl", "ap"}), ElementsAre("apply"));
  EXPECT_THAT(Complete({"contentctl", "admin", ""}),
              ElementsAre("backup", "compact", "fsck", "stats", "operations",
                          "health"));
  EXPECT_THAT(Complete({"contentctl", "admin", "f"}), ElementsAre("fsck"));
  // Global flags and their values come before the verb too.
  EXPECT_THAT(Complete({"contentctl", "--server", "127.0.0.1:7070", "--token",
                        "t", "que"}),
              ElementsAre("query"));
  // After a verb that takes an id, nothing: ids are not listed.
  EXPECT_THAT(Complete({"contentctl", "get", ""}), IsEmpty());
}

// `completion` takes the shell, one of a set, as a flag's value of a set
// is completed; once given, nothing more (it offered nothing at all).
TEST_F(CliCompletionTest, TheShellOfCompletion) {
  EXPECT_THAT(Complete({"contentctl", "completion", ""}),
              ElementsAre("bash", "zsh"));
  EXPECT_THAT(Complete({"contentctl", "completion", "z"}), ElementsAre("zsh"));
  EXPECT_THAT(
      Complete({"contentctl", "-o", "json", "completion", "--token", "t", "b"}),
      ElementsAre("bash"));
  EXPECT_THAT(Complete({"contentctl", "completion", "bash", ""}), IsEmpty());
  EXPECT_THAT(Complete({"contentctl", "help", "completion", ""}), IsEmpty());
}

// `admin health --service` takes the services contentd serves (it offered
// nothing).
TEST_F(CliCompletionTest, TheServicesOfAdminHealth) {
  EXPECT_THAT(Complete({"contentctl", "admin", "health", "--service", ""}),
              ElementsAre("content.v1.Readiness", "content.v1.ContentService",
                          "content.v1.AdminService"));
  EXPECT_THAT(
      Complete({"contentctl", "admin", "health", "--service", "content.v1.A"}),
      ElementsAre("content.v1.AdminService"));
}

// `help` takes a verb, and after `admin` one of its commands, as kubectl's
// completion offers them.
TEST_F(CliCompletionTest, HelpTakesTheVerbsAndTheirCommands) {
  EXPECT_THAT(Complete({"contentctl", "he"}), ElementsAre("help"));
  EXPECT_THAT(Complete({"contentctl", "help", ""}),
              ElementsAre("apply", "edit", "get", "query", "tags", "categories",
                          "history", "delete", "undelete", "diff", "restore",
                          "translations", "export", "watch", "admin", "version",
                          "completion"));
  EXPECT_THAT(Complete({"contentctl", "help", "qu"}), ElementsAre("query"));
  EXPECT_THAT(Complete({"contentctl", "-o", "json", "help", "admin", "b"}),
              ElementsAre("backup"));
  EXPECT_THAT(Complete({"contentctl", "help", "get", ""}), IsEmpty());
  EXPECT_THAT(Complete({"contentctl", "help", "--he"}),
              IsSupersetOf({"--help", "--help-all"}));
}

TEST_F(CliCompletionTest, FlagsOfTheVerbWithTheGlobalOnes) {
  const std::vector<std::string> get = Complete({"contentctl", "get", "--"});
  EXPECT_THAT(get, IsSupersetOf({"--revision", "--show-deleted", "--all",
                                 "--server", "--output", "--help"}));
  EXPECT_THAT(get, Not(Contains("--dry-run")));
  EXPECT_EQ(std::count(get.begin(), get.end(), "--help"), 1);
  EXPECT_THAT(Complete({"contentctl", "apply", "--dr"}),
              ElementsAre("--dry-run"));
  // -s, kubectl's short --server, after a verb as before one.
  EXPECT_THAT(Complete({"contentctl", "-s"}), ElementsAre("-s"));
  EXPECT_THAT(Complete({"contentctl", "get", "-s"}), ElementsAre("-s"));
  EXPECT_THAT(Complete({"contentctl", "admin", "compact", "--st"}),
              ElementsAre("--storage"));
  // kubectl's --no-headers on the verbs that print tables.
  EXPECT_THAT(Complete({"contentctl", "query", "--no-h"}),
              ElementsAre("--no-headers"));
  EXPECT_THAT(Complete({"contentctl", "diff", "x", "--no-h"}), IsEmpty());
  // A flag's value is skipped on the way to the word completed.
  EXPECT_THAT(Complete({"contentctl", "query", "--tag", "ai", "--all-t"}),
              ElementsAre("--all-tags"));
}

TEST_F(CliCompletionTest, ValuesOfFlagsThatTakeOneOfASet) {
  EXPECT_THAT(Complete({"contentctl", "-o", ""}),
              ElementsAre("table", "json", "yaml", "markdown", "name"));
  EXPECT_THAT(Complete({"contentctl", "get", "x", "--output", "y"}),
              ElementsAre("yaml"));
  EXPECT_THAT(Complete({"contentctl", "diff", "x", "--color", ""}),
              ElementsAre("auto", "always", "never"));
  EXPECT_THAT(Complete({"contentctl", "query", "--state", "d"}),
              ElementsAre("draft"));
  EXPECT_THAT(Complete({"contentctl", "query", "--state", ""}),
              ElementsAre("draft", "published", "archived", "scheduled", "live",
                          "expired"));
  // `--output=j` reaches completion as three words; right after the `=`
  // the word is "=", which readline keeps: the values are offered bare
  // (RealBashInsertsWhatTheRepliesSay).
  EXPECT_THAT(Complete({"contentctl", "--output", "=", "j"}),
              ElementsAre("json"));
  EXPECT_THAT(Complete({"contentctl", "--output", "="}),
              ElementsAre("table", "json", "yaml", "markdown", "name"));
  EXPECT_THAT(Complete({"contentctl", "-o", "=", "y"}), ElementsAre("yaml"));
  // zsh (bashcompinit) leaves `-o=j`, pflag's spelling, one word, as it
  // does `--output=j`: each value keeps the `-o=`.
  EXPECT_THAT(
      Complete({"contentctl", "-o="}),
      ElementsAre("-o=table", "-o=json", "-o=yaml", "-o=markdown", "-o=name"));
  EXPECT_THAT(Complete({"contentctl", "get", "x", "-o=j"}),
              ElementsAre("-o=json"));
  EXPECT_THAT(Complete({"contentctl", "get", "x", "--output=y"}),
              ElementsAre("--output=yaml"));
  // A free value has no completion.
  EXPECT_THAT(Complete({"contentctl", "query", "--text", ""}), IsEmpty());
}

// --state and --facets take a comma-separated list, as contentctl parses
// them (`--state draft,scheduled`): after a comma, the words not given yet
// are offered, each reply the list so far and the word (the shell replaces
// the whole word), where nothing was offered past the comma.
TEST_F(CliCompletionTest, ValuesOfAListAfterAComma) {
  EXPECT_THAT(Complete({"contentctl", "query", "--state", "draft,"}),
              ElementsAre("draft,published", "draft,archived",
                          "draft,scheduled", "draft,live", "draft,expired"));
  EXPECT_THAT(Complete({"contentctl", "query", "--state", "draft,sch"}),
              ElementsAre("draft,scheduled"));
  EXPECT_THAT(
      Complete({"contentctl", "query", "--state", "draft,scheduled,ex"}),
      ElementsAre("draft,scheduled,expired"));
  // A word given already is not offered again.
  EXPECT_THAT(Complete({"contentctl", "query", "--state", "draft,d"}),
              IsEmpty());
  EXPECT_THAT(Complete({"contentctl", "query", "--facets", "tags,"}),
              ElementsAre("tags,categories", "tags,lang"));
  EXPECT_THAT(Complete({"contentctl", "query", "--facets=tags,l"}),
              ElementsAre("--facets=tags,lang"));
  // What is offered, contentctl takes.
  CommandResult r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1",
                                "--timeout", "1ms", "query", "--all", "--state",
                                "draft,scheduled", "--facets", "tags,lang"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the call, not a usage error
  EXPECT_THAT(r.err, Not(HasSubstr("--state")));
  // -o takes one format: no list.
  EXPECT_THAT(Complete({"contentctl", "-o", "json,"}), IsEmpty());
}

// -o after a verb offers the formats that verb takes: those contentctl
// does not refuse (exit 2, `--output: ...`), as OutputsOf lists them
// (`export -o` markdown alone, `tags -o` no name), however -o is spelt.
// Before any verb, every format.
TEST_F(CliCompletionTest, OutputValuesAreThoseOfTheVerb) {
  const std::vector<std::string> all = {"table", "json", "yaml", "markdown",
                                        "name"};
  for (const std::vector<std::string>& verb :
       {std::vector<std::string>{"get", "x"},
        {"query"},
        {"tags"},
        {"categories"},
        {"history", "x"},
        {"diff", "x"},
        {"export", "x"},
        {"apply", "-f", "none.md"},
        {"delete", "x"},
        {"admin", "stats"},
        {"admin", "health"}}) {
    SCOPED_TRACE(absl::StrJoin(verb, " "));
    std::vector<std::string> taken;
    for (const std::string& format : all) {
      // No server there: a format taken fails on the call, at once.
      std::vector<std::string> argv = {ContentctlBinary(), "--server",
                                       "127.0.0.1:1", "--timeout", "1ms"};
      argv.insert(argv.end(), verb.begin(), verb.end());
      argv.insert(argv.end(), {"-o", format});
      const CommandResult r = RunCommand(argv);
      // The refusal, as text or (-o json|yaml) an error object.
      if (r.exit_code != 2 ||
          !absl::StrContains(r.err,
                             absl::StrCat("--output: ", format, " not in {"))) {
        taken.push_back(format);
      }
    }
    std::vector<std::string> words = {"contentctl"};
    words.insert(words.end(), verb.begin(), verb.end());
    words.insert(words.end(), {"-o", ""});
    EXPECT_EQ(Complete(words), taken);
  }
  EXPECT_THAT(Complete({"contentctl", "export", "x", "-o", ""}),
              ElementsAre("markdown"));
  EXPECT_THAT(Complete({"contentctl", "export", "x", "--output", "="}),
              ElementsAre("markdown"));
  EXPECT_THAT(Complete({"contentctl", "export", "x", "--output=m"}),
              ElementsAre("--output=markdown"));
  EXPECT_THAT(Complete({"contentctl", "export", "x", "-o="}),
              ElementsAre("-o=markdown"));
  EXPECT_THAT(Complete({"contentctl", "export", "x", "-o"}), ElementsAre("-o"));
  EXPECT_THAT(Complete({"contentctl", "export", "x", "-om"}),
              ElementsAre("-omarkdown"));
  EXPECT_THAT(Complete({"contentctl", "export", "x", "-ot"}), IsEmpty());
  EXPECT_THAT(Complete({"contentctl", "tags", "-on"}), IsEmpty());
  EXPECT_THAT(Complete({"contentctl", "history", "x", "--output", "n"}),
              IsEmpty());
  EXPECT_THAT(Complete({"contentctl", "apply", "--output", "="}),
              ElementsAre("table", "json", "yaml", "name"));
  EXPECT_THAT(Complete({"contentctl", "admin", "backup", "d", "-o", ""}),
              ElementsAre("table", "json", "yaml"));
  // Global flags before the verb still count; -o before it is any format.
  EXPECT_THAT(
      Complete({"contentctl", "-s", "h", ":", "1", "export", "x", "-o", ""}),
      ElementsAre("markdown"));
  EXPECT_EQ(Complete({"contentctl", "-o", ""}), all);
}

// Help prints the same text whatever -o says (`help export -o xml` is
// `export --help`, exit 0), so after `help` no format is offered, none being
// more right than another, and -o is not among the flags offered; the word
// after it is still its value, not a verb.
TEST_F(CliCompletionTest, HelpTakesNoOutputFormat) {
  CommandResult r =
      RunCommand({ContentctlBinary(), "help", "export", "-o", "xml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, RunCommand({ContentctlBinary(), "export", "--help"}).out);
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{
           {"contentctl", "help", "export", "-o", ""},
           {"contentctl", "help", "-o", ""},
           {"contentctl", "help", "get", "--output", "="},
           {"contentctl", "help", "admin", "backup", "--output=j"},
           {"contentctl", "help", "tags", "-o="},
           {"contentctl", "help", "get", "-oj"}}) {
    SCOPED_TRACE(absl::StrJoin(words, " "));
    EXPECT_THAT(Complete(words), IsEmpty());
  }
  EXPECT_THAT(Complete({"contentctl", "help", "--"}),
              AllOf(Contains("--server"), Not(Contains("--output"))));
  EXPECT_THAT(Complete({"contentctl", "help", "admin", "-"}),
              AllOf(Contains("--help"), Not(Contains("-o"))));
  // After a verb with no commands too, where nothing was offered, though
  // `help get --server ADDR` parses as `help --server ADDR` does.
  EXPECT_THAT(Complete({"contentctl", "help", "get", "--"}),
              AllOf(Contains("--server"), Contains("--help"),
                    Not(Contains("--output"))));
  EXPECT_THAT(Complete({"contentctl", "help", "-o", "json", "ad"}),
              ElementsAre("admin"));
  // The verb itself still offers its formats.
  EXPECT_THAT(Complete({"contentctl", "export", "-o", ""}),
              ElementsAre("markdown"));
}

// `-oj`, a short flag with its value attached as getopt (and contentctl)
// takes it, completes as `-o j` and `-o=j` do, each reply keeping the
// `-o`; bash leaves it one word, as zsh does.
TEST_F(CliCompletionTest, ValuesAttachedToAShortFlag) {
  EXPECT_THAT(Complete({"contentctl", "get", "x", "-oj"}),
              ElementsAre("-ojson"));
  EXPECT_THAT(Complete({"contentctl", "-oya"}), ElementsAre("-oyaml"));
  EXPECT_THAT(Complete({"contentctl", "query", "-ot"}), ElementsAre("-otable"));
  // A directory ends in its slash, as `-f site/p` gives it (bash marks
  // it by the reply, which the `-f` makes no path).
  EXPECT_THAT(Complete({"contentctl", "apply", "-fsite/p"}),
              ElementsAre("-fsite/posts/"));
  EXPECT_THAT(Complete({"contentctl", "apply", "-fno"}),
              ElementsAre("-fnotes with space.md"));
  EXPECT_THAT(Complete({"contentctl", "-oz"}), IsEmpty());
  // The flag alone is still a flag to complete.
  EXPECT_THAT(Complete({"contentctl", "get", "-o"}), ElementsAre("-o"));
  // Done, it is no flag waiting for a value: the next word is a verb.
  EXPECT_THAT(Complete({"contentctl", "-ojson", "que"}), ElementsAre("query"));
}

TEST_F(CliCompletionTest, FilesAfterFileFlagsAndDirectoriesAfterDir) {
  EXPECT_THAT(
      Complete({"contentctl", "apply", "-f", ""}),
      UnorderedElementsAre("contentctl.bash", "notes with space.md", "site"));
  EXPECT_THAT(Complete({"contentctl", "apply", "-f", "site/posts/"}),
              ElementsAre("site/posts/a.md"));
  // delete -f names the articles its files hold, as apply's.
  EXPECT_THAT(Complete({"contentctl", "delete", "-f", "site/posts/"}),
              ElementsAre("site/posts/a.md"));
  EXPECT_THAT(Complete({"contentctl", "--ca", "no"}),
              ElementsAre("notes with space.md"));
  EXPECT_THAT(Complete({"contentctl", "export", "--dir", ""}),
              ElementsAre("site"));
}

// What a user gets: the script loaded into a real interactive bash (on a
// pseudo-terminal, through script(1)), each line typed with a TAB and then
// run as `show`, which prints its words as readline left them. The tests
// above set COMP_WORDS as bash does, but what readline does with the
// replies shows only here: after `--output=` it inserts a reply after the
// `=`, so a reply that kept the `=` made `--output==` (and `--dir==site`).
TEST_F(CliCompletionTest, RealBashInsertsWhatTheRepliesSay) {
  std::string keys =
      absl::StrCat("cd '", dir_.path(), "' && source '", script_,
                   "'; show() { printf '<%s>' \"$@\"; echo; }\n");
  const std::vector<std::string> lines = {
      "contentctl --output=",     "contentctl --output=j",
      "contentctl export --dir=", "contentctl get x -oj",
      "contentctl apply -fsi",    "contentctl apply -fno",
      "contentctl apply -f si",   "contentctl export x --output=",
      "contentctl tags -on"};
  // ^A: to the start of the line, where `show` goes.
  for (const std::string& line : lines) {
    absl::StrAppend(&keys, line, "\t\x01show \n");
  }
  absl::StrAppend(&keys, "exit\n");
  const CommandResult r = RunCommand(
      {"script", "-qec", "bash --norc --noprofile -i", "/dev/null"}, keys,
      {PathWithContentctl(), "TERM=dumb", "INPUTRC=/dev/null",
       "HOME=" + dir_.path()},
      std::chrono::minutes(2));
  EXPECT_FALSE(r.timed_out);
  std::vector<std::string> shown;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (absl::StartsWith(line, "<contentctl>")) shown.emplace_back(line);
  }
  EXPECT_THAT(
      shown, ElementsAre(
                 // Several values: none inserted, the `=` left alone.
                 "<contentctl><--output=>", "<contentctl><--output=json>",
                 "<contentctl><export><--dir=site/>",
                 "<contentctl><get><x><-ojson>", "<contentctl><apply><-fsite/>",
                 "<contentctl><apply><-fnotes with space.md>",
                 "<contentctl><apply><-f><site/>",
                 // One value, the only format export takes: inserted.
                 "<contentctl><export><x><--output=markdown>",
                 // None: name is no format of tags.
                 "<contentctl><tags><-on>"))
      << r.out << r.err;
}

// The completion calls `contentctl __complete tags PREFIX` (contentctl as
// the command line names it, found on PATH) on the server the command line
// names, else CONTENT_SERVER's.
TEST_F(CliCompletionTest, TagsAfterTagFlagsComeFromTheServer) {
  std::unique_ptr<ServerProcess> server =
      ServerProcess::Start(dir_.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::vector<std::pair<std::string, std::string>> articles = {
      {"a", "[ai, aws]"},
      {"b", "[ai-safety, \"machine learning\"]"},
      {"c", "[ai, cloud]"},
      {"d", "[\"team:search\", \"team:storage\"]"}};
  for (const auto& [id, tags] : articles) {
    Apply(*server, id, "tags: " + tags);
  }
  const std::string path_env = PathWithContentctl();
  const std::vector<std::string> env = {path_env,
                                        "CONTENT_SERVER=" + server->address()};

  EXPECT_THAT(Complete({"contentctl", "query", "--tag", "a"}, env),
              ElementsAre("ai", "ai-safety", "aws"));
  EXPECT_THAT(Complete({"contentctl", "query", "--tag", ""}, env),
              ElementsAre("ai", "ai-safety", "aws", "cloud",
                          "machine\\ learning", "team:search", "team:storage"));
  // Quoted for the command line, and read back unquoted as typed.
  EXPECT_THAT(
      Complete({"contentctl", "export", "--not-tag", "machine\\ "}, env),
      ElementsAre("machine\\ learning"));
  EXPECT_THAT(Complete({"contentctl", "watch", "--tag", "=", "c"}, env),
              ElementsAre("cloud"));
  EXPECT_THAT(Complete({"contentctl", "watch", "--not-tag", "="}, env),
              ElementsAre("ai", "ai-safety", "aws", "cloud",
                          "machine\\ learning", "team:search", "team:storage"));
  EXPECT_THAT(Complete({"contentctl", "query", "--tag", "zz"}, env), IsEmpty());
  // bash splits `team:se` at the colon and replaces only what follows it:
  // the tags are those starting with the whole value, less `team:`.
  EXPECT_THAT(
      Complete({"contentctl", "query", "--tag", "team", ":", "se"}, env),
      ElementsAre("search"));
  EXPECT_THAT(Complete({"contentctl", "query", "--tag", "team", ":"}, env),
              ElementsAre("search", "storage"));
  EXPECT_THAT(
      Complete({"contentctl", "watch", "--not-tag", "=", "team", ":", "st"},
               env),
      ElementsAre("storage"));

  // --server wins over CONTENT_SERVER, its `host:port` split at the colon
  // as bash splits words, or given with `=`.
  const std::vector<std::string> dead = {path_env,
                                         "CONTENT_SERVER=127.0.0.1:1"};
  EXPECT_THAT(Complete({"contentctl", "--server", "127.0.0.1", ":",
                        std::to_string(server->port()), "query", "--tag", "ai"},
                       dead),
              ElementsAre("ai", "ai-safety"));
  EXPECT_THAT(Complete({"contentctl", "query", "--server", "=", "127.0.0.1",
                        ":", std::to_string(server->port()), "--not-tag", "aw"},
                       dead),
              ElementsAre("aws"));
  // zsh (bashcompinit) leaves `--server=ADDR` one word.
  EXPECT_THAT(Complete({"contentctl", "--server=" + server->address(), "query",
                        "--tag", "cl"},
                       dead),
              ElementsAre("cloud"));
  // -s is --server.
  EXPECT_THAT(Complete({"contentctl", "-s", "127.0.0.1", ":",
                        std::to_string(server->port()), "query", "--tag", "ai"},
                       dead),
              ElementsAre("ai", "ai-safety"));
  EXPECT_THAT(Complete({"contentctl", "query", "-s=" + server->address(),
                        "--not-tag", "cl"},
                       dead),
              ElementsAre("cloud"));
  // --text takes no tag.
  EXPECT_THAT(Complete({"contentctl", "query", "--text", "a"}, env), IsEmpty());

  // No server there: no candidates, and nothing on the terminal (Complete
  // checks stderr).
  EXPECT_THAT(Complete({"contentctl", "query", "--tag", "a"}, dead), IsEmpty());
  ASSERT_EQ(server->Stop(SIGTERM), 0);
  EXPECT_THAT(Complete({"contentctl", "query", "--tag", "a"}, env), IsEmpty());

  // The hidden command the script calls is no verb to offer or list.
  EXPECT_THAT(Complete({"contentctl", "__"}), IsEmpty());
  CommandResult help = RunCommand({ContentctlBinary(), "--help-all"});
  EXPECT_THAT(help.out, Not(HasSubstr("__complete")));
}

// `-sADDR`, -s with the address attached, names the server the tags come
// from as `-s ADDR` does: split at its colon as bash splits words, or one
// word as zsh leaves it.
TEST_F(CliCompletionTest, TagsComeFromAServerAttachedToDashS) {
  std::unique_ptr<ServerProcess> server =
      ServerProcess::Start(dir_.path() + "/data");
  ASSERT_NE(server, nullptr);
  Apply(*server, "a", "tags: [ai, aws, cloud]");
  const std::vector<std::string> dead = {PathWithContentctl(),
                                         "CONTENT_SERVER=127.0.0.1:1"};
  EXPECT_THAT(Complete({"contentctl", "-s127.0.0.1", ":",
                        std::to_string(server->port()), "query", "--tag", "a"},
                       dead),
              ElementsAre("ai", "aws"));
  EXPECT_THAT(Complete({"contentctl", "query", "-s" + server->address(),
                        "--not-tag", "cl"},
                       dead),
              ElementsAre("cloud"));
}

// Categories complete as tags do, from `contentctl __complete categories
// PREFIX`: after --category, and after `categories --prefix`; tags after
// `tags --prefix`.
TEST_F(CliCompletionTest, CategoriesAndPrefixesComeFromTheServer) {
  std::unique_ptr<ServerProcess> server =
      ServerProcess::Start(dir_.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::vector<std::pair<std::string, std::string>> articles = {
      {"a", "categories: [tech, \"tech news\"]\ntags: [travel]"},
      {"b", "categories: [travel]\ntags: [tea, tech]"}};
  for (const auto& [id, front] : articles) Apply(*server, id, front);
  const std::string path_env = PathWithContentctl();
  const std::vector<std::string> env = {path_env,
                                        "CONTENT_SERVER=" + server->address()};

  EXPECT_THAT(Complete({"contentctl", "query", "--category", "te"}, env),
              ElementsAre("tech", "tech\\ news"));
  EXPECT_THAT(Complete({"contentctl", "export", "--category", ""}, env),
              ElementsAre("tech", "tech\\ news", "travel"));
  EXPECT_THAT(Complete({"contentctl", "watch", "--category", "=", "tr"}, env),
              ElementsAre("travel"));
  EXPECT_THAT(Complete({"contentctl", "query", "--category", "="}, env),
              ElementsAre("tech", "tech\\ news", "travel"));
  EXPECT_THAT(Complete({"contentctl", "categories", "--prefix", "t"}, env),
              ElementsAre("tech", "tech\\ news", "travel"));
  EXPECT_THAT(Complete({"contentctl", "tags", "--prefix", "t"}, env),
              ElementsAre("tea", "tech", "travel"));
  EXPECT_THAT(Complete({"contentctl", "tags", "--prefix", "=", "te"}, env),
              ElementsAre("tea", "tech"));
  // A category is no tag, nor the other way round.
  EXPECT_THAT(Complete({"contentctl", "query", "--category", "tea"}, env),
              IsEmpty());
  EXPECT_THAT(Complete({"contentctl", "query", "--tag", "tech"}, env),
              ElementsAre("tech"));

  CommandResult r =
      RunCommand({ContentctlBinary(), "--server", server->address(),
                  "__complete", "categories", "tech"},
                 "", {kPatient});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "tech\ntech news\n");

  // No server there: no candidates, and nothing on the terminal.
  const std::vector<std::string> dead = {path_env,
                                         "CONTENT_SERVER=127.0.0.1:1"};
  EXPECT_THAT(Complete({"contentctl", "query", "--category", "t"}, dead),
              IsEmpty());
  EXPECT_THAT(Complete({"contentctl", "categories", "--prefix", "t"}, dead),
              IsEmpty());
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "__complete",
                  "categories", "t"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

// CONTENT_COMPLETION_TIMEOUT sets the wait for the server (`inf`: none);
// a value that is no positive duration fails the call, exit 2, said on
// stderr (which the script drops: no candidates, nothing on the terminal).
TEST_F(CliCompletionTest, TheWaitForTheServerComesFromTheEnvironment) {
  std::unique_ptr<ServerProcess> server =
      ServerProcess::Start(dir_.path() + "/data");
  ASSERT_NE(server, nullptr);
  Apply(*server, "a", "tags: [ai]");
  const std::vector<std::string> complete = {
      ContentctlBinary(), "--server", server->address(),
      "__complete",       "tags",     "a"};
  CommandResult r =
      RunCommand(complete, "", {"CONTENT_COMPLETION_TIMEOUT=inf"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ai\n");
  for (const char* bad : {"soon", "0", "-1s"}) {
    SCOPED_TRACE(bad);
    r = RunCommand(complete, "",
                   {absl::StrCat("CONTENT_COMPLETION_TIMEOUT=", bad)});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, StartsWith("CONTENT_COMPLETION_TIMEOUT: "));
  }
  EXPECT_THAT(r.err, HasSubstr("must be more than 0"));
  // In the shell: no candidates, and nothing on the terminal.
  EXPECT_THAT(
      Complete({"contentctl", "query", "--tag", "a"},
               {PathWithContentctl(), "CONTENT_SERVER=" + server->address(),
                "CONTENT_COMPLETION_TIMEOUT=soon"}),
      IsEmpty());
}

TEST_F(CliCompletionTest, ZshLoadsTheBashCompletionAndOtherShellsAreRefused) {
  CommandResult r = RunCommand({ContentctlBinary(), "completion", "zsh"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("#compdef contentctl\n"));
  EXPECT_THAT(r.out, HasSubstr("bashcompinit"));
  EXPECT_THAT(r.out, HasSubstr("complete -F _contentctl contentctl"));
  // -o changes nothing: a script is a script.
  CommandResult json =
      RunCommand({ContentctlBinary(), "completion", "bash", "-o", "json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out,
            RunCommand({ContentctlBinary(), "completion", "bash"}).out);
  r = RunCommand({ContentctlBinary(), "completion", "fish"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("fish"));
  r = RunCommand({ContentctlBinary(), "completion"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("shell"));
}

}  // namespace
}  // namespace content
