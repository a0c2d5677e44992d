// End-to-end: contentctl's editorial verbs and flags (issue 8) against a real
// contentd with a reader and an editor token: diff and restore of the
// repository's sample article, translation lookup and listing, drafts seen
// only with --all, and an export that includes drafts and applies back
// unchanged.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "content/client.h"
#include "content/v1/content_service.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/support/ctl.h"
#include "tests/support/harness.h"

namespace content {
namespace {

namespace fs = std::filesystem;

using ::content::testing::AuthConfigYaml;
using ::content::testing::CommandResult;
using ::content::testing::ContentctlBinary;
using ::content::testing::Lines;
using ::content::testing::MetadataValue;
using ::content::testing::ParseJson;
using ::content::testing::ReadFile;
using ::content::testing::RunCommand;
using ::content::testing::RunInTerminal;
using ::content::testing::ServerProcess;
using ::content::testing::SourceDir;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kEditor[] = "editor-token";
constexpr char kReader[] = "reader-token";

// The repository's own sample: Chinese news with front matter.
std::string Sample() { return SourceDir() + "/samples/deepseek-brokers.md"; }

constexpr char kOldTitle[] =
    "券商扎堆接入国产开源大模型，投研与客服成首批落地场景";
constexpr char kNewTitle[] = "券商扎堆接入开源大模型";
constexpr char kOldParagraph[] =
    "成本是另一个被反复提及的因素。据多位从业者估算，同等效果下，新一代开源"
    "模型的推理开销比一年前低了不少，这让预算有限的中小机构第一次有了自建的"
    "底气。";
constexpr char kNewParagraph[] =
    "成本是另一个被反复提及的因素：同等效果下，开源模型的推理开销比一年前低"
    "了一半以上。";

// The sample with a new title, a fourth tag and one paragraph rewritten.
std::string EditedSample(const std::string& text) {
  return absl::StrReplaceAll(
      text, {{kOldTitle, kNewTitle},
             {"  - \"brokers\"\n", "  - \"brokers\"\n  - \"llm\"\n"},
             {kOldParagraph, kNewParagraph}});
}

// `-o json`'s error for a revision the article does not have: exit 1,
// NOT_FOUND, REVISION_NOT_FOUND, `message`, and the revision the server
// looked up in its metadata.
void ExpectRevisionNotFoundJson(const CommandResult& r,
                                const std::string& message,
                                const std::string& revision) {
  EXPECT_EQ(r.exit_code, 1);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("code").string_value(), "NOT_FOUND");
  EXPECT_EQ(e.at("reason").string_value(), "REVISION_NOT_FOUND");
  EXPECT_EQ(e.at("message").string_value(), message);
  EXPECT_EQ(MetadataValue(e, "revision"), revision);
}

// A contentd with a reader and an editor token; contentctl runs as the
// editor unless told otherwise. A fresh server per test.
class CliEditorialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string config = dir_.path() + "/contentd.yaml";
    WriteFile(config, AuthConfigYaml({{"r", "reader", kReader},
                                      {"e", "editor", kEditor}}) +
                          ExtraConfig());
    server_ = ServerProcess::Start(dir_.path() + "/data", {"--config", config});
    ASSERT_NE(server_, nullptr);
  }

  // More of contentd.yaml, for a fixture of its own.
  virtual std::string ExtraConfig() const { return ""; }

  // contentctl against the server as `token`.
  CommandResult Ctl(std::vector<std::string> args,
                    const std::string& token = kEditor) {
    args.insert(args.begin(), {"--token", token});
    return testing::Ctl(*server_, std::move(args));
  }

  std::string CtlOk(std::vector<std::string> args,
                    const std::string& token = kEditor) {
    args.insert(args.begin(), {"--token", token});
    return testing::CtlOk(*server_, args);
  }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = fs::path(dir_.path()) / "files" / name;
    fs::create_directories(path.parent_path());
    WriteFile(path.string(), text);
    return path.string();
  }

  // `get ID -o json` as an editor, with `extra` flags.
  v1::Article GetJsonArticle(const std::string& id,
                             std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"get", id, "--all", "-o", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ParseJson<v1::Article>(CtlOk(args));
  }

  // Applies the sample as `deepseek-brokers`, then the edited sample:
  // revisions 1 and 2. False when it could not.
  bool ApplySampleTwice() {
    const std::string text = ReadFile(Sample());
    EXPECT_THAT(text, HasSubstr(kOldParagraph)) << Sample();
    const std::string path = Write("deepseek-brokers.md", text);
    CtlOk({"apply", "-f", path});
    const std::string edited = EditedSample(text);
    EXPECT_NE(edited, text);
    WriteFile(path, edited);
    const std::string out = CtlOk({"apply", "-f", path});
    EXPECT_THAT(out,
                StartsWith("articles/deepseek-brokers updated (revision 2)"));
    return !::testing::Test::HasFailure();
  }

  // `id` applied twice, a different body each time: revisions 1 and 2.
  void ApplyTwoRevisions(const std::string& id) {
    const std::string path =
        Write(id + ".md", "---\ntitle: " + id + "\n---\n\nOne.\n");
    CtlOk({"apply", "-f", path});
    Write(id + ".md", "---\ntitle: " + id + "\n---\n\nTwo.\n");
    CtlOk({"apply", "-f", path});
  }

  // Two translations without a translationKey (group `launch` from the ids)
  // and a French draft of the same group.
  void ApplyLaunch() {
    Write("launch/launch.en.md",
          "---\ntitle: \"Launch\"\nlang: \"en\"\n---\n\nWe launched.\n");
    Write("launch/launch.zh-CN.md",
          "---\ntitle: \"发布\"\nlang: \"zh-CN\"\n---\n\n我们发布了。\n");
    Write("launch/launch.fr.md",
          "---\ntitle: \"Lancement\"\nlang: \"fr\"\ndraft: true\n---\n\n"
          "Brouillon.\n");
    CtlOk({"apply", "-f", dir_.path() + "/files/launch"});
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

// ---- diff ------------------------------------------------------------------

// Occurrences of `what` in `text`.
int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos;
       at += what.size()) {
    ++n;
  }
  return n;
}

// An import the server ends (a reader may not write) fails every file: the
// ones sent and the ones it never got to, in the summary and in -o json.
// The stream's error is printed once: it was on every file's line too,
// then again as the run's error (twice for a single file).
TEST_F(CliEditorialTest, ApplyRefusedStreamCountsEveryFile) {
  const std::string one = Write("one/o1.md", "---\ntitle: o\n---\n\nbody\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"apply", "-f", one},
        {"apply", "-f", one, "--dry-run"},
        {"apply", "-f", one, "-o", "yaml"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args, kReader);
    EXPECT_EQ(r.exit_code, 1);
    // -o yaml: the error a YAML document on stderr.
    const bool yaml = args.back() == "yaml";
    EXPECT_EQ(
        Count(r.err, yaml ? "code: PERMISSION_DENIED" : "PERMISSION_DENIED"), 1)
        << r.err;
    EXPECT_THAT(r.err, HasSubstr(yaml ? "---\ncode: PERMISSION_DENIED\n"
                                      : "Error: PERMISSION_DENIED: "));
    EXPECT_THAT(r.out + r.err, HasSubstr("1 failed"));
  }

  constexpr int kFiles = 600;  // several batches
  for (int i = 0; i < kFiles; ++i) {
    Write(absl::StrCat("many/m", i, ".md"),
          absl::StrCat("---\ntitle: \"m", i, "\"\n---\n\nbody\n"));
  }
  const std::string dir = dir_.path() + "/files/many";
  CommandResult r = Ctl({"apply", "-f", dir}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("applied 0 of ", kFiles,
                                            " files: 0 created, 0 updated, 0 "
                                            "unchanged, ",
                                            kFiles, " failed")));
  EXPECT_THAT(r.err, HasSubstr("Error: PERMISSION_DENIED: "));
  EXPECT_EQ(Count(r.err, "PERMISSION_DENIED"), 1);

  r = Ctl({"apply", "-f", dir, "-o", "json"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  int entries = 0;
  for (size_t at = 0; (at = r.out.find("\"file\": ", at)) != std::string::npos;
       ++at) {
    ++entries;
  }
  EXPECT_EQ(entries, kFiles);
  // Each result still holds the error.
  EXPECT_EQ(Count(r.out, "\"error\": \"PERMISSION_DENIED: "), kFiles);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(kFiles, " failed")));
}

// A reader's diff -f is refused for every document alike, as apply's is:
// said once, not once per file of a site.
TEST_F(CliEditorialTest, DiffOfFilesRefusedSaysSoOnce) {
  for (int i = 0; i < 3; ++i) {
    Write(absl::StrCat("dfr/f", i, ".md"),
          absl::StrCat("---\ntitle: \"f", i, "\"\n---\n\nbody\n"));
  }
  const std::string dir = dir_.path() + "/files/dfr";
  CommandResult r = Ctl({"diff", "-f", dir}, kReader);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Count(r.err, "PERMISSION_DENIED"), 1) << r.err;
  EXPECT_THAT(r.err, StartsWith("Error: PERMISSION_DENIED: "));
  EXPECT_THAT(r.err, Not(HasSubstr("Run `contentctl")));  // no usage hint
  // An editor's goes on past a document's own error.
  Write("dfr/f1.md", "---\ntags: [x]\n---\nno title\n");
  r = Ctl({"diff", "-f", dir, "--color", "never"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Count(r.out, "(new) -> "), 2) << r.out;
  EXPECT_THAT(r.err, HasSubstr("f1.md: error: INVALID_ARGUMENT: title:"));
}

// A diff of an article's first revision (REV1 left out, the one before it
// wanted) names REV1, the argument the user knows, not the API's
// `from_revision`, which no flag or argument is called.
TEST_F(CliEditorialTest, DiffOfTheFirstRevisionNamesRev1) {
  CtlOk({"apply", "-f", Write("first.md", "---\ntitle: First\n---\n\nOne.\n")});
  CommandResult r = Ctl({"diff", "first"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error: INVALID_ARGUMENT: REV1: articles/first revision 1 is the "
            "first; there is nothing before it to compare with\n");
  r = Ctl({"diff", "first", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("message").string_value(),
            "REV1: articles/first revision 1 is the first; there is nothing "
            "before it to compare with");
  const auto& violations = e.at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 1) << r.err;
  EXPECT_EQ(
      violations.values(0).struct_value().fields().at("flag").string_value(),
      "REV1");
  // REV1 given as 0 is contentctl's own usage error, naming it too.
  r = Ctl({"diff", "first", "0", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("REV1: must be at least 1, got 0"));
}

// `diff launch.en launch.zh-CN`, two translations side by side, was only
// "REV1: not a decimal integer": diff compares revisions of one article,
// and the error now says how two articles compare, which does.
TEST_F(CliEditorialTest, DiffOfTwoIdsSaysHowTwoArticlesCompare) {
  CommandResult r = Ctl({"diff", "launch.en", "launch.zh-CN"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("REV1: not a decimal integer: "
                                "\"launch.zh-CN\" (diff compares revisions of "
                                "one article; to compare two, such as "
                                "translations: contentctl export launch.zh-CN "
                                "| contentctl diff -f - --id launch.en)\n"));
  // A number stays a number's error.
  r = Ctl({"diff", "launch.en", "0x5"});
  EXPECT_THAT(r.err, StartsWith("REV1: not a decimal integer: \"0x5\"\n"));
  // The way it names works: the zh-CN translation against the English.
  CtlOk({"apply", "-f",
         Write("launch.en.md", "---\ntitle: Launch\nlang: en\n---\n\nGo.\n")});
  CtlOk({"apply", "-f",
         Write("launch.zh-CN.md",
               "---\ntitle: 发布\nlang: zh-CN\n---\n\n出发。\n")});
  r = RunCommand(
      {ContentctlBinary(), "--server", server_->address(), "--token", kEditor,
       "diff", "-f", "-", "--id", "launch.en", "--color", "never"},
      CtlOk({"export", "launch.zh-CN"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("+ \"发布\""));
  EXPECT_THAT(r.out, HasSubstr("+出发。"));
}

// A revision past the head names the argument that gave it, REV1 or REV2
// as diff --help calls them, as a first revision's error names REV1: the
// server's NOT_FOUND said which revision but not which argument, and a lone
// revision is REV1 (`diff x 3` compares 3 with the head). Exit 1 as every
// NOT_FOUND; an article that is not there is no argument's revision.
TEST_F(CliEditorialTest, DiffOfARevisionPastTheHeadNamesTheArgument) {
  const std::string path = Write("past.md", "---\ntitle: P\n---\n\nOne.\n");
  CtlOk({"apply", "-f", path});
  Write("past.md", "---\ntitle: P\n---\n\nTwo.\n");
  CtlOk({"apply", "-f", path});
  const std::string head = " (the head is revision 2)";
  // Both past the head: the server looks up REV2 first.
  for (const auto& [args, want, token] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"diff", "past", "3"},
            "REV1: articles/past has no revision 3" + head,
            kEditor},
           {{"diff", "past", "1", "3"},
            "REV2: articles/past has no revision 3" + head,
            kEditor},
           {{"diff", "past", "2", "5"},
            "REV2: articles/past has no revision 5" + head,
            kEditor},
           // A reader is told the argument too, in the words readers get.
           {{"diff", "past", "1", "7"},
            "REV2: articles/past has no revision 7 readers may read (draft, "
            "archived and scheduled revisions need the editor role)",
            kReader},
           {{"diff", "absent", "1", "2"},
            "articles/absent not found",
            kEditor}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const CommandResult r = Ctl(args, token);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, absl::StrCat("Error: NOT_FOUND: ", want, "\n"));
  }
  const CommandResult r = Ctl({"diff", "past", "3", "-o", "json"});
  ExpectRevisionNotFoundJson(r, "REV1: articles/past has no revision 3" + head,
                             "3");
}

// One revision past the head given as both REV1 and REV2 is both
// arguments' mistake: both are named, not REV2 alone (which the server
// looks up first), the code, reason, metadata and exit 1 unchanged.
TEST_F(CliEditorialTest, DiffOfARevisionPastTheHeadAsBothNamesBoth) {
  ApplyTwoRevisions("past");
  CommandResult r = Ctl({"diff", "past", "3", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error: NOT_FOUND: REV1 and REV2: articles/past has no revision 3 "
            "(the head is revision 2)\n");
  r = Ctl({"diff", "past", "3", "3", "-o", "json"});
  ExpectRevisionNotFoundJson(
      r,
      "REV1 and REV2: articles/past has no revision 3 (the head is "
      "revision 2)",
      "3");
}

// REV1 past the head as REV2 is: the server looks up REV2 first and named
// only it (`diff x 5 4` said `REV2: ... no revision 4`); with the head read,
// every argument past it is named, in the order given, the code, reason,
// metadata (REV2's revision) and exit 1 unchanged. A reader, whose NOT_FOUND
// did not say where the head is, is told too.
TEST_F(CliEditorialTest, DiffNamesEveryRevisionPastTheHead) {
  ApplyTwoRevisions("past");
  const std::string head = " (the head is revision 2)";
  for (const auto& [args, want, token] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"diff", "past", "5", "4"},
            "REV1 and REV2: articles/past has no revision 5 or 4" + head,
            kEditor},
           {{"diff", "past", "4", "5"},
            "REV1 and REV2: articles/past has no revision 4 or 5" + head,
            kEditor},
           {{"diff", "past", "3", "7"},
            "REV1 and REV2: articles/past has no revision 3 or 7" + head,
            kReader},
           // REV1 at or before the head is no mistake of its own.
           {{"diff", "past", "2", "4"},
            "REV2: articles/past has no revision 4" + head,
            kEditor}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const CommandResult r = Ctl(args, token);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, absl::StrCat("Error: NOT_FOUND: ", want, "\n"));
  }
  const CommandResult r = Ctl({"diff", "past", "5", "4", "-o", "json"});
  ExpectRevisionNotFoundJson(
      r, "REV1 and REV2: articles/past has no revision 5 or 4" + head, "4");
}

// REV2 missing for another reason than the head (a draft, to a reader)
// keeps the server's words, and REV1 past the head is said after them.
TEST_F(CliEditorialTest, DiffNamesRev1PastTheHeadAfterRev2sOwnError) {
  const std::string path =
      Write("mixed.md", "---\ntitle: mixed\n---\n\nOne.\n");
  CtlOk({"apply", "-f", path});
  Write("mixed.md", "---\ntitle: mixed\ndraft: true\n---\n\nTwo.\n");
  CtlOk({"apply", "-f", path});
  Write("mixed.md", "---\ntitle: mixed\n---\n\nThree.\n");
  CtlOk({"apply", "-f", path});
  const CommandResult r = Ctl({"diff", "mixed", "5", "2"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error: NOT_FOUND: REV2: articles/mixed has no revision 2 readers "
            "may read (draft, archived and scheduled revisions need the "
            "editor role); REV1: articles/mixed has no revision 5 (the head "
            "is revision 3)\n");
}

// A contentd that logs every request, to count the calls contentctl makes.
class CliEditorialCallsTest : public CliEditorialTest {
 protected:
  std::string ExtraConfig() const override { return "log_requests: all\n"; }

  // The request-log lines of ContentService's `method` so far. A unary
  // call's line is written before its reply is sent, so every call of a
  // contentctl run that has exited is there.
  size_t Calls(const std::string& method) const {
    size_t n = 0;
    for (absl::string_view line : absl::StrSplit(server_->Log(), '\n')) {
      n += absl::StrContains(
          line,
          absl::StrCat(" method=/content.v1.ContentService/", method, " "));
    }
    return n;
  }
};

// `diff x 5 4` past the head names both arguments and where the head is
// from the NOT_FOUND's `current_revision`, with no read of the head after
// it: one call, DiffArticleRevisions, as an editor and as a reader, the
// message as before.
TEST_F(CliEditorialCallsTest, DiffPastTheHeadTakesTheHeadFromTheError) {
  ApplyTwoRevisions("past");
  const size_t gets = Calls("GetArticle");
  const size_t diffs = Calls("DiffArticleRevisions");
  for (const std::string& token : {kEditor, kReader}) {
    SCOPED_TRACE(token);
    const CommandResult r = Ctl({"diff", "past", "5", "4"}, token);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err,
              "Error: NOT_FOUND: REV1 and REV2: articles/past has no revision "
              "5 or 4 (the head is revision 2)\n");
  }
  EXPECT_EQ(Calls("DiffArticleRevisions"), diffs + 2);
  EXPECT_EQ(Calls("GetArticle"), gets);
  // The key is in the error's metadata, under -o json.
  const CommandResult r = Ctl({"diff", "past", "5", "4", "-o", "json"});
  ExpectRevisionNotFoundJson(
      r,
      "REV1 and REV2: articles/past has no revision 5 or 4 (the head is "
      "revision 2)",
      "4");
  EXPECT_EQ(MetadataValue(ParseJson<google::protobuf::Struct>(r.err).fields(),
                          "current_revision"),
            "2");
}

// get and export --revision past the head name the flag, as diff names
// REV1 or REV2: the server's NOT_FOUND said which revision, not which flag.
// Exit 1 as every NOT_FOUND; an article that is not there is no flag's.
TEST_F(CliEditorialTest, GetAndExportOfARevisionPastTheHeadNameTheFlag) {
  ApplyTwoRevisions("past");
  for (const auto& [args, want, token] : std::vector<
           std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"get", "past", "--revision", "9"},
            "--revision: articles/past has no revision 9 (the head is "
            "revision 2)",
            kEditor},
           {{"export", "past", "--revision", "3"},
            "--revision: articles/past has no revision 3 (the head is "
            "revision 2)",
            kEditor},
           // A reader is told the flag too, in the words readers get.
           {{"get", "past", "--revision", "9"},
            "--revision: articles/past has no revision 9 readers may read "
            "(draft, archived and scheduled revisions need --all and the "
            "editor role)",
            kReader},
           {{"get", "absent", "--revision", "2"},
            "articles/absent not found or not live (drafts, scheduled, "
            "expired and archived articles need --all and the editor role)",
            kEditor}}) {
    SCOPED_TRACE(::testing::PrintToString(args) + " as " + token);
    const CommandResult r = Ctl(args, token);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, absl::StrCat("Error: NOT_FOUND: ", want, "\n"));
  }
  const CommandResult r = Ctl({"get", "past", "--revision", "9", "-o", "json"});
  ExpectRevisionNotFoundJson(
      r,
      "--revision: articles/past has no revision 9 (the head is "
      "revision 2)",
      "9");
}

TEST_F(CliEditorialTest, DiffOfTwoRevisionsOfTheSampleArticle) {
  ASSERT_TRUE(ApplySampleTwice());
  const std::string want = absl::StrCat(
      "articles/deepseek-brokers: revision 1 -> 2\n"
      "title:\n"
      "- \"",
      kOldTitle,
      "\"\n"
      "+ \"",
      kNewTitle,
      "\"\n"
      "tags:\n"
      "- [\"ai\",\"finance\",\"brokers\"]\n"
      "+ [\"ai\",\"finance\",\"brokers\",\"llm\"]\n"
      "\n"
      "--- articles/deepseek-brokers@1\n"
      "+++ articles/deepseek-brokers@2\n"
      "@@ -3,6 +3,6 @@\n"
      " \n"
      " 一位在华东某券商负责信息技术的人士介绍，此次部署主要面向三类需求：研究"
      "报告的初稿整理、客服问答的自动回复，以及合规文档的预审。“过去我们也试过"
      "调用外部接口，但数据不能出机房，这是硬性要求。”他说。\n"
      " \n"
      "-",
      kOldParagraph,
      "\n"
      "+",
      kNewParagraph,
      "\n"
      " \n"
      " 不过，也有分析人士提醒，模型上线只是第一步。如何评估输出质量、如何在出"
      "错时追责，仍是行业需要共同回答的问题。\n");
  // Defaults: the head against the revision before it.
  EXPECT_EQ(CtlOk({"diff", "deepseek-brokers", "--color=never"}), want);
  EXPECT_EQ(CtlOk({"diff", "deepseek-brokers", "1", "2", "--color", "never"}),
            want);
  // Off a terminal `auto` means no colours.
  EXPECT_EQ(CtlOk({"diff", "deepseek-brokers"}), want);

  const std::string colored =
      CtlOk({"diff", "deepseek-brokers", "1", "--color=always"});
  // A bare --color, last or before another flag, is always, as git's is
  // (it was refused as a flag without its value).
  EXPECT_EQ(CtlOk({"diff", "deepseek-brokers", "1", "--color"}), colored);
  EXPECT_EQ(CtlOk({"diff", "deepseek-brokers", "--color", "-o", "table", "1"}),
            colored);
  EXPECT_THAT(colored, HasSubstr("\033[36mtitle:\033[0m\n"));
  EXPECT_THAT(colored, HasSubstr("\033[36m@@ -3,6 +3,6 @@\033[0m\n"));
  // The paragraph rewritten is one line replaced by another: what changed
  // inside it is in reverse video, in the line's colour.
  const std::string unmarked =
      absl::StrReplaceAll(colored, {{"\033[7m", ""}, {"\033[27m", ""}});
  EXPECT_THAT(unmarked,
              HasSubstr(absl::StrCat("\033[31m-", kOldParagraph, "\033[0m\n")));
  EXPECT_THAT(unmarked,
              HasSubstr(absl::StrCat("\033[32m+", kNewParagraph, "\033[0m\n")));
  EXPECT_THAT(colored, HasSubstr("\033[31m-成本是另一个被反复提及的因素\033[7m"
                                 "。据多位从业者估算，\033[27m同等效果下，"));
  EXPECT_THAT(colored, HasSubstr("\033[32m+成本是另一个被反复提及的因素\033[7m"
                                 "：\033[27m同等效果下，"));

  const auto response = ParseJson<v1::DiffArticleRevisionsResponse>(
      CtlOk({"diff", "deepseek-brokers", "-o", "json"}));
  EXPECT_EQ(response.from_revision(), 1);
  EXPECT_EQ(response.to_revision(), 2);
  ASSERT_EQ(response.field_changes_size(), 2);
  EXPECT_EQ(response.field_changes(0).field(), "title");
  EXPECT_EQ(response.field_changes(1).field(), "tags");
  EXPECT_EQ(response.field_changes(1).new_value(),
            "[\"ai\",\"finance\",\"brokers\",\"llm\"]");
  EXPECT_THAT(response.body_diff(),
              StartsWith("--- articles/deepseek-brokers@1\n"));

  CommandResult r = Ctl({"diff", "deepseek-brokers", "1", "9"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: NOT_FOUND: "));
  r = Ctl({"diff", "deepseek-brokers", "--color=sometimes"});
  EXPECT_EQ(r.exit_code, 2);
}

// On a terminal `diff` colours and `apply` draws a progress bar, unless
// NO_COLOR is set (colours) or the terminal is dumb, TERM=dumb or unset
// (Emacs' shell buffer, an editor's output pane), whose escape sequences
// printed as litter (`^[[36mtitle:^[[0m`, the bar erased with `\033[K`),
// as git leaves them out there. --color=always still colours.
TEST_F(CliEditorialTest, NoEscapeSequencesOnADumbTerminal) {
  ASSERT_TRUE(ApplySampleTwice());
  Write("two/a.md", "---\ntitle: \"A\"\n---\nA.\n");
  const std::string dir =
      fs::path(Write("two/b.md", "---\ntitle: \"B\"\n---\nB.\n"))
          .parent_path()
          .string();
  // `contentctl ARGS` on a pseudo-terminal (script), its environment
  // `env` and then `unset`: what both streams showed there.
  auto on_terminal = [&](const std::string& args,
                         const std::vector<std::string>& env,
                         const std::string& unset = "") {
    const std::string command =
        absl::StrCat(unset.empty() ? "" : absl::StrCat("env -u ", unset, " "),
                     "'", ContentctlBinary(), "' --server '",
                     server_->address(), "' --token ", kEditor, " ", args);
    const CommandResult r = RunCommand({"script", "-qec", command, "/dev/null"},
                                       "", env, std::chrono::seconds(60));
    EXPECT_FALSE(r.timed_out) << args;
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.out;
    return r.out;
  };
  const std::string colored = "\033[36mtitle:\033[0m";
  // (NO_COLOR empty is unset: https://no-color.org.)
  EXPECT_THAT(on_terminal("diff deepseek-brokers", {"TERM=xterm", "NO_COLOR="}),
              HasSubstr(colored));
  EXPECT_THAT(
      on_terminal("diff deepseek-brokers", {"TERM=xterm", "NO_COLOR=1"}),
      Not(HasSubstr("\033")));
  EXPECT_THAT(on_terminal("diff deepseek-brokers", {"TERM=dumb"}),
              Not(HasSubstr("\033")));
  EXPECT_THAT(on_terminal("diff deepseek-brokers", {}, "TERM"),
              Not(HasSubstr("\033")));
  EXPECT_THAT(
      on_terminal("diff deepseek-brokers --color=always", {"TERM=dumb"}),
      HasSubstr(colored));

  EXPECT_THAT(on_terminal("apply -f " + dir, {"TERM=xterm"}),
              HasSubstr("\r\033[K"));
  const std::string dumb = on_terminal("apply -f " + dir, {"TERM=dumb"});
  EXPECT_THAT(dumb, Not(HasSubstr("\033")));
  EXPECT_THAT(dumb, HasSubstr("applied 2 files: 0 created, 0 updated, 2 "
                              "unchanged, 0 failed"));
}

// On a terminal a line replaced by another has what changed inside it
// marked (reverse video, in the line's colour), as git's diff-highlight
// marks it: a Chinese paragraph is one line, and two characters changed in
// it showed as two long lines that looked alike. A title changed likewise;
// lines with little in common, and text off a terminal, are not marked.
TEST_F(CliEditorialTest, DiffMarksWhatChangedInsideALine) {
  const std::string path = Write(
      "cn.md",
      "---\ntitle: \"接入DeepSeek！券商官宣\"\n---\n\n"
      "截止目前，已有多家券商、基金宣布完成本地化部署。\n\n不变的一段。\n\n"
      "完全不同的旧句子。\n");
  CtlOk({"apply", "-f", path});
  WriteFile(
      path,
      "---\ntitle: \"【更新】接入DeepSeek！券商官宣\"\n---\n\n"
      "截至目前，已有十余家券商、基金宣布完成本地化部署。\n\n不变的一段。\n\n"
      "Another sentence.\n");
  CtlOk({"apply", "-f", path});
  const std::string colored = CtlOk({"diff", "cn", "--color=always"});
  EXPECT_THAT(colored,
              HasSubstr("\033[31m- \"接入DeepSeek！券商官宣\"\033[0m\n"
                        "\033[32m+ \"\033[7m【更新】\033[27m接入DeepSeek！"
                        "券商官宣\"\033[0m\n"));
  EXPECT_THAT(colored,
              HasSubstr("\033[31m-截\033[7m止\033[27m目前，已有\033[7m多"
                        "\033[27m家券商、基金宣布完成本地化部署。\033[0m\n"));
  EXPECT_THAT(colored,
              HasSubstr("\033[32m+截\033[7m至\033[27m目前，已有\033[7m十余"
                        "\033[27m家券商、基金宣布完成本地化部署。\033[0m\n"));
  EXPECT_THAT(colored, HasSubstr("\033[31m-完全不同的旧句子。\033[0m\n"));
  EXPECT_THAT(colored, HasSubstr("\033[32m+Another sentence.\033[0m\n"));
  const std::string plain = CtlOk({"diff", "cn", "--color=never"});
  EXPECT_THAT(plain, Not(HasSubstr("\033")));
  EXPECT_THAT(plain,
              HasSubstr("-截止目前，已有多家券商、基金宣布完成本地化部署。\n"));
}

// A body stored with CRLF (through the API, or by a contentctl before
// 2026-12-06) and written again with LF, as applying its file does: each
// line's only change is its CR, which a terminal does not show, so the diff
// showed every line replaced by itself. On a terminal (here: colours) a CR
// prints as `^M`, as less and `cat -v` show it, marked as the change;
// without colours, piped, the lines are diff(1)'s bytes.
TEST_F(CliEditorialTest, DiffShowsACarriageReturnOnATerminal) {
  ClientOptions options;
  options.target = server_->address();
  options.token = kEditor;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  v1::CreateArticleRequest create;
  create.set_article_id("crlf");
  create.mutable_article()->set_title("换行");
  create.mutable_article()->set_body("截止目前\r\n已有多家\r\n");
  ASSERT_TRUE((*client)->CreateArticle(create).ok());
  v1::UpdateArticleRequest update;
  *update.mutable_article() = create.article();
  update.mutable_article()->set_name("articles/crlf");
  update.mutable_article()->set_body("截止目前\n已有多家\n");
  ASSERT_TRUE((*client)->UpdateArticle(update).ok());

  const std::string colored = CtlOk({"diff", "crlf", "--color=always"});
  EXPECT_THAT(colored, HasSubstr("\033[31m-截止目前\033[7m^M\033[27m\033[0m\n"
                                 "\033[31m-已有多家\033[7m^M\033[27m\033[0m\n"
                                 "\033[32m+截止目前\033[0m\n"
                                 "\033[32m+已有多家\033[0m\n"));
  EXPECT_THAT(colored, Not(HasSubstr("\r")));
  EXPECT_EQ(CtlOk({"diff", "crlf", "--color=never"}),
            "articles/crlf: revision 1 -> 2\n"
            "--- articles/crlf@1\n"
            "+++ articles/crlf@2\n"
            "@@ -1,2 +1,2 @@\n"
            "-截止目前\r\n"
            "-已有多家\r\n"
            "+截止目前\n"
            "+已有多家\n");
}

// A removed body line that itself begins with `-- ` prints as `--- sig`,
// as diff(1) and git print it; on a terminal it is red, a removal, not
// bold as the `--- articles/x@1` header above the first hunk is (and a
// `++ ` line added likewise green, not a `+++ ` header).
TEST_F(CliEditorialTest, DiffColoursABodyLineLikeAHeaderAsABodyLine) {
  const std::string path =
      Write("sig.md", "---\ntitle: Sig\n---\n\nHello.\n-- sig\nBye.\n");
  CtlOk({"apply", "-f", path});
  WriteFile(path, "---\ntitle: Sig\n---\n\nHello.\nBye.\n++ plus\n");
  CtlOk({"apply", "-f", path});
  const std::string colored = CtlOk({"diff", "sig", "--color=always"});
  EXPECT_THAT(colored, HasSubstr("\033[1m--- articles/sig@1\033[0m\n"
                                 "\033[1m+++ articles/sig@2\033[0m\n"
                                 "\033[36m@@ "));
  EXPECT_THAT(colored, HasSubstr("\033[31m--- sig\033[0m\n"));
  EXPECT_THAT(colored, HasSubstr("\033[32m+++ plus\033[0m\n"));
  EXPECT_THAT(colored, Not(HasSubstr("\033[1m--- sig")));
  EXPECT_THAT(colored, Not(HasSubstr("\033[1m+++ plus")));
  // Without colours the lines are diff(1)'s, a patch as ever.
  EXPECT_THAT(CtlOk({"diff", "sig", "--color=never"}),
              HasSubstr("\n Hello.\n--- sig\n Bye.\n+++ plus\n"));
}

// ---- nested front-matter maps ----------------------------------------------

// The sample whose front matter has a nested `seo:` map (a Struct in the
// Article): protobuf iterates maps in an unspecified order, different from
// one copy of a map to the next.
constexpr char kFedTitle[] =
    "Central bank holds rates steady, signals patience on cuts";

std::string FedSample() { return SourceDir() + "/samples/fed-rate-pause.md"; }

TEST_F(CliEditorialTest, JsonOfNestedMapIsTheSameEveryTime) {
  const std::string path = Write("fed.md", ReadFile(FedSample()));
  CtlOk({"apply", "-f", path});
  const std::string first = CtlOk({"get", "fed", "-o", "json"});
  // Keys in byte order, at every level.
  const size_t seo = first.find("\"seo\": {");
  ASSERT_NE(seo, std::string::npos) << first;
  const size_t description = first.find("\"description\":", seo);
  const size_t keywords = first.find("\"keywords\":", seo);
  const size_t noindex = first.find("\"noindex\":", seo);
  EXPECT_LT(description, keywords) << first;
  EXPECT_LT(keywords, noindex) << first;
  EXPECT_NE(noindex, std::string::npos) << first;
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(CtlOk({"get", "fed", "-o", "json"}), first) << "call " << i;
  }
  // YAML is made from the JSON.
  const std::string yaml = CtlOk({"get", "fed", "-o", "yaml"});
  EXPECT_THAT(yaml, HasSubstr("  seo:\n"
                              "    description: Rates unchanged as officials "
                              "wait for clearer inflation data.\n"
                              "    keywords:\n"
                              "      - interest rates\n"
                              "      - inflation\n"
                              "    noindex: false\n"));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(CtlOk({"get", "fed", "-o", "yaml"}), yaml) << "call " << i;
  }
}

TEST_F(CliEditorialTest, DiffIgnoresTheOrderOfNestedMaps) {
  const std::string text = ReadFile(FedSample());
  ASSERT_THAT(text, HasSubstr(kFedTitle));
  const std::string path = Write("fed.md", text);
  CtlOk({"apply", "-f", path});
  WriteFile(path, absl::StrReplaceAll(text, {{kFedTitle, "Rates on hold"}}));
  CtlOk({"apply", "-f", path});
  // Revision 3 restores revision 1's content.
  WriteFile(path, text);
  CtlOk({"apply", "-f", path});
  // Each diff reads both revisions afresh; a few of them give the maps
  // several chances to come out in another order.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(CtlOk({"diff", "fed", "1", "2", "--color=never"}),
              absl::StrCat("articles/fed: revision 1 -> 2\n"
                           "title:\n"
                           "- \"",
                           kFedTitle,
                           "\"\n"
                           "+ \"Rates on hold\"\n"));
    EXPECT_EQ(CtlOk({"diff", "fed", "1", "3", "--color=never"}),
              "articles/fed: revision 1 -> 3\nno changes\n");
  }
  // A change inside the map prints both values with sorted keys.
  WriteFile(path,
            absl::StrReplaceAll(text, {{"noindex: false", "noindex: true"}}));
  CtlOk({"apply", "-f", path});
  EXPECT_EQ(CtlOk({"diff", "fed", "3", "4", "--color=never"}),
            "articles/fed: revision 3 -> 4\n"
            "params.seo:\n"
            "- {\"description\":\"Rates unchanged as officials wait for "
            "clearer inflation data.\",\"keywords\":[\"interest rates\","
            "\"inflation\"],\"noindex\":false}\n"
            "+ {\"description\":\"Rates unchanged as officials wait for "
            "clearer inflation data.\",\"keywords\":[\"interest rates\","
            "\"inflation\"],\"noindex\":true}\n");
}

// ---- restore ---------------------------------------------------------------

TEST_F(CliEditorialTest, RestoreWritesANewRevisionAndKeepsHistory) {
  ASSERT_TRUE(ApplySampleTwice());
  CommandResult r =
      Ctl({"restore", "deepseek-brokers", "1", "--expected-revision", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: FAILED_PRECONDITION: "));

  EXPECT_EQ(
      CtlOk({"restore", "deepseek-brokers", "1", "--expected-revision", "2"}),
      "articles/deepseek-brokers restored from revision 1 (revision 3)\n");
  const auto head =
      ParseJson<v1::Article>(CtlOk({"get", "deepseek-brokers", "-o", "json"}));
  EXPECT_EQ(head.revision(), 3);
  EXPECT_EQ(head.title(), kOldTitle);
  EXPECT_THAT(head.tags(), ElementsAre("ai", "finance", "brokers"));

  const auto history = ParseJson<v1::ListArticleRevisionsResponse>(
      CtlOk({"history", "deepseek-brokers", "-o", "json"}));
  ASSERT_EQ(history.revisions_size(), 3);
  EXPECT_EQ(history.revisions(0).revision(), 3);
  EXPECT_EQ(history.revisions(1).revision(), 2);
  EXPECT_EQ(history.revisions(2).revision(), 1);
  EXPECT_EQ(history.revisions(0).content_hash(),
            history.revisions(2).content_hash());
  EXPECT_NE(history.revisions(1).content_hash(),
            history.revisions(2).content_hash());
  // The table too: three live revisions, newest first.
  const std::vector<std::string> table =
      Lines(CtlOk({"history", "deepseek-brokers"}));
  ASSERT_EQ(table.size(), 4u);
  EXPECT_THAT(table[1], StartsWith("3 "));
  EXPECT_THAT(table[3], StartsWith("1 "));

  EXPECT_EQ(CtlOk({"diff", "deepseek-brokers", "1", "3", "--color=never"}),
            "articles/deepseek-brokers: revision 1 -> 3\nno changes\n");
  r = Ctl({"restore", "deepseek-brokers", "7"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: NOT_FOUND: "));
}

// restore of a revision past the head names REVISION, as its --help
// does, and says where the head is, as get and diff do; nothing is written.
TEST_F(CliEditorialTest, RestoreOfARevisionPastTheHeadNamesTheArgument) {
  ApplyTwoRevisions("past");
  CommandResult r = Ctl({"restore", "past", "9"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error: NOT_FOUND: REVISION: articles/past has no revision 9 (the "
            "head is revision 2)\n");
  r = Ctl({"restore", "past", "9", "-o", "json"});
  ExpectRevisionNotFoundJson(
      r, "REVISION: articles/past has no revision 9 (the head is revision 2)",
      "9");
  EXPECT_EQ(GetJsonArticle("past").revision(), 2);
  // An article that is not there is no argument's.
  r = Ctl({"restore", "absent", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: NOT_FOUND: articles/absent not found\n");
}

// restore of a deletion's revision is refused leading with REVISION and
// then the server's words as a sentence: it said `REVISION: revision: 2
// of ...`, the argument twice, once in the API's field name (diff's REV1
// likewise drops `from_revision:`). -o json keeps the field and its flag.
TEST_F(CliEditorialTest, RestoreOfATombstoneNamesTheArgumentOnce) {
  ApplyTwoRevisions("gone");
  CtlOk({"delete", "gone"});
  CommandResult r = Ctl({"restore", "gone", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error: INVALID_ARGUMENT: REVISION: revision 3 of articles/gone "
            "is a deletion tombstone; restore a live revision\n");
  r = Ctl({"restore", "gone", "3", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("message").string_value(),
            "REVISION: revision 3 of articles/gone is a deletion tombstone; "
            "restore a live revision");
  const auto& violations = e.at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 1) << r.err;
  const auto& v = violations.values(0).struct_value().fields();
  EXPECT_EQ(v.at("field").string_value(), "revision");
  EXPECT_EQ(v.at("flag").string_value(), "REVISION");
}

// Content equal to the head writes nothing: restore says so, as apply
// does for an unchanged file, rather than claiming a restore.
TEST_F(CliEditorialTest, RestoreOfTheHeadsContentSaysUnchanged) {
  ASSERT_TRUE(ApplySampleTwice());
  EXPECT_EQ(CtlOk({"restore", "deepseek-brokers", "2"}),
            "articles/deepseek-brokers unchanged (revision 2): already has "
            "the content of revision 2\n");
  EXPECT_EQ(
      CtlOk({"restore", "deepseek-brokers", "2", "--expected-revision", "2"}),
      "articles/deepseek-brokers unchanged (revision 2): already has the "
      "content of revision 2\n");
  EXPECT_EQ(CtlOk({"restore", "deepseek-brokers", "1"}),
            "articles/deepseek-brokers restored from revision 1 (revision "
            "3)\n");
  // Revision 3 holds revision 1's content now.
  EXPECT_EQ(CtlOk({"restore", "deepseek-brokers", "1"}),
            "articles/deepseek-brokers unchanged (revision 3): already has "
            "the content of revision 1\n");
  const auto history = ParseJson<v1::ListArticleRevisionsResponse>(
      CtlOk({"history", "deepseek-brokers", "-o", "json"}));
  EXPECT_EQ(history.revisions_size(), 3);
  // Into a deleted article a restore always writes (it undeletes).
  CtlOk({"delete", "deepseek-brokers"});
  EXPECT_EQ(CtlOk({"restore", "deepseek-brokers", "1"}),
            "articles/deepseek-brokers restored from revision 1 (revision "
            "5)\n");
}

// ---- translations ----------------------------------------------------------

TEST_F(CliEditorialTest, GetWithLangAndFallback) {
  ApplyLaunch();
  const auto name_of = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "get");
    args.push_back("-o");
    args.push_back("json");
    return ParseJson<v1::Article>(CtlOk(args)).name();
  };
  EXPECT_EQ(name_of({"launch.en", "--lang", "zh-CN"}), "articles/launch.zh-CN");
  EXPECT_EQ(name_of({"launch.zh-CN", "--lang", "en"}), "articles/launch.en");
  EXPECT_EQ(name_of({"launch.en", "--lang", "zh"}), "articles/launch.zh-CN");
  EXPECT_EQ(name_of({"launch.zh-CN", "--lang", "de", "--fallback", "en"}),
            "articles/launch.en");
  EXPECT_EQ(name_of({"launch.en", "--lang", "de", "--fallback", "ja,zh-CN"}),
            "articles/launch.zh-CN");
  EXPECT_EQ(name_of({"launch.en", "--lang", "de", "--fallback", "ja",
                     "--fallback", "zh-CN", "--fallback", "en"}),
            "articles/launch.zh-CN");
  // The French draft is for editors only.
  EXPECT_EQ(name_of({"launch.en", "--lang", "fr", "--fallback", "en"}),
            "articles/launch.en");
  EXPECT_EQ(name_of({"launch.en", "--lang", "fr", "--all"}),
            "articles/launch.fr");
  CommandResult r = Ctl({"get", "launch.en", "--lang", "de"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: NOT_FOUND: "));

  // An explicit translationKey joins articles whose ids say nothing.
  Write("story/story-en.md",
        "---\ntitle: \"Story\"\nlang: \"en\"\ntranslationKey: \"story\"\n"
        "---\n\nText.\n");
  Write("story/geschichte.md",
        "---\ntitle: \"Geschichte\"\nlang: \"de\"\ntranslationKey: \"story\"\n"
        "---\n\nText.\n");
  CtlOk({"apply", "-f", dir_.path() + "/files/story"});
  EXPECT_EQ(name_of({"story-en", "--lang", "de"}), "articles/geschichte");
  EXPECT_EQ(name_of({"geschichte", "--lang", "fr", "--fallback", "en"}),
            "articles/story-en");
}

// A deleted translation leaves its group, so `get --lang` of its language
// said "no translation in zh-CN" and listed the live ones, as if there had
// never been one. It says that translation is deleted and how to read it
// or bring it back, to readers too; an article of the group named
// otherwise (its own translationKey) is not looked for.
TEST_F(CliEditorialTest, GetLangOfADeletedTranslationSaysItIsDeleted) {
  ApplyLaunch();
  CtlOk({"delete", "launch.zh-CN"});
  const std::string said =
      "the zh-CN translation, articles/launch.zh-CN, is deleted (revision "
      "2): `contentctl get launch.zh-CN --show-deleted` reads it, "
      "`contentctl undelete launch.zh-CN` brings it back\n";
  for (const char* token : {kEditor, kReader}) {
    CommandResult r = Ctl({"get", "launch.en", "--lang", "zh-CN"}, token);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err,
              "Error: NOT_FOUND: no translation of articles/launch.en in "
              "zh-CN; translation group \"launch\" has en (articles/"
              "launch.en); " +
                  said);
  }
  // Asked as a fallback, too; only the languages asked for are looked for.
  CommandResult r =
      Ctl({"get", "launch.en", "--lang", "de", "--fallback", "zh-CN"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(" in de, zh-CN; "));
  EXPECT_THAT(r.err, HasSubstr("; " + said));
  r = Ctl({"get", "launch.en", "--lang", "de"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, Not(HasSubstr("deleted")));
  // Followed, the advice works.
  EXPECT_THAT(CtlOk({"get", "launch.zh-CN", "--show-deleted"}),
              HasSubstr("发布"));
  CtlOk({"undelete", "launch.zh-CN"});
  EXPECT_EQ(ParseJson<v1::Article>(
                CtlOk({"get", "launch.en", "--lang", "zh-CN", "-o", "json"}))
                .name(),
            "articles/launch.zh-CN");
}

// translations of a deleted article said only that it is deleted; get
// says how to bring it back, and so does translations now (it has no
// --show-deleted to offer).
TEST_F(CliEditorialTest, TranslationsOfADeletedArticleSaysHowToBringItBack) {
  ApplyLaunch();
  CtlOk({"delete", "launch.zh-CN"});
  CommandResult r = Ctl({"translations", "launch.zh-CN"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: NOT_FOUND: articles/launch.zh-CN is deleted (revision 2) "
            "(`contentctl undelete launch.zh-CN` brings it back)\n");
  r = Ctl({"translations", "launch.zh-CN", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(ParseJson<google::protobuf::Struct>(r.err)
                .fields()
                .at("reason")
                .string_value(),
            "ARTICLE_DELETED");
  CtlOk({"undelete", "launch.zh-CN"});
  EXPECT_THAT(CtlOk({"translations", "launch.zh-CN"}), HasSubstr("zh-CN"));
}

TEST_F(CliEditorialTest, TranslationsListsTheGroup) {
  ApplyLaunch();
  EXPECT_EQ(CtlOk({"translations", "launch.en"}),
            "ID             LANG    STATE   TITLE\n"
            "launch.en      en      live    Launch\n"
            "launch.zh-CN   zh-CN   live    发布\n");
  EXPECT_EQ(CtlOk({"translations", "launch.zh-CN", "--all"}),
            "ID             LANG    STATE   TITLE\n"
            "launch.en      en      live    Launch\n"
            "launch.fr      fr      draft   Lancement\n"
            "launch.zh-CN   zh-CN   live    发布\n");
  const auto response = ParseJson<v1::ListTranslationsResponse>(
      CtlOk({"translations", "launch.en", "-o", "json"}));
  EXPECT_EQ(response.translation_key(), "launch");
  ASSERT_EQ(response.articles_size(), 2);
  EXPECT_EQ(response.articles(0).name(), "articles/launch.en");
  EXPECT_EQ(response.articles(0).body(), "");  // BASIC view
  CommandResult r = Ctl({"translations", "launch.fr"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: NOT_FOUND: "));
}

// ---- drafts ----------------------------------------------------------------

// A reader's --all is refused for the role: the error says that --all is
// what needs it (it said only that "this call needs editor"), for each
// verb that takes --all; without --all the reader reads as ever.
TEST_F(CliEditorialTest, ReaderAllSaysAllNeedsTheEditorRole) {
  ApplyLaunch();
  constexpr char kAllNeedsEditor[] =
      "; --all (drafts, scheduled, expired and archived articles) needs the "
      "editor role: leave it out for what readers see\n";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"get", "--all", "launch.en"},
           {"get", "--all", "launch.en", "launch.fr"},
           {"query", "--all"},
           {"query", "--all", "--state", "draft"},
           {"translations", "--all", "launch.en"},
           {"watch", "--all", "--count", "1"}}) {
    CommandResult r = Ctl(args, kReader);
    const std::string name = absl::StrJoin(args, " ");
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_EQ(r.err,
              absl::StrCat("Error: PERMISSION_DENIED: token \"r\" has role "
                           "reader; this call needs editor",
                           kAllNeedsEditor))
        << name;
  }
  CommandResult r = Ctl({"query", "--all", "-o", "json"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("code").string_value(), "PERMISSION_DENIED");
  EXPECT_EQ(MetadataValue(e, "required_role"), "editor");
  EXPECT_THAT(e.at("message").string_value(),
              HasSubstr("; --all (drafts, scheduled"));
  EXPECT_THAT(CtlOk({"translations", "launch.en"}, kReader),
              HasSubstr("launch.zh-CN"));
}

TEST_F(CliEditorialTest, DraftIsVisibleOnlyWithAll) {
  const std::string path =
      Write("wip.md",
            "---\ntitle: \"Work in progress\"\ndraft: true\n---\n\n"
            "Not yet.\n");
  CtlOk({"apply", "-f", path});
  CommandResult r = Ctl({"get", "wip"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: NOT_FOUND: "));
  const std::string shown = CtlOk({"get", "wip", "--all"});
  EXPECT_THAT(shown, HasSubstr("Title:         Work in progress\n"));
  EXPECT_THAT(shown, HasSubstr("State:         draft\n"));
  // Readers may not ask for drafts.
  r = Ctl({"get", "wip", "--all"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: PERMISSION_DENIED: "));

  const auto q = ParseJson<v1::QueryArticlesResponse>(
      CtlOk({"query", "--all", "--state", "draft", "-o", "json"}));
  ASSERT_EQ(q.articles_size(), 1);
  EXPECT_EQ(q.articles(0).name(), "articles/wip");
  const auto live =
      ParseJson<v1::QueryArticlesResponse>(CtlOk({"query", "-o", "json"}));
  EXPECT_EQ(live.articles_size(), 0);

  // Re-applying the same file is a no-op, and publishing it is an update.
  EXPECT_THAT(CtlOk({"apply", "-f", path}),
              StartsWith("articles/wip unchanged (revision 1)"));
  WriteFile(path,
            "---\ntitle: \"Work in progress\"\ndraft: false\n---\n\n"
            "Not yet.\n");
  EXPECT_THAT(CtlOk({"apply", "-f", path, "--expected-revision", "1"}),
              StartsWith("articles/wip updated (revision 2)"));
  EXPECT_THAT(CtlOk({"get", "wip"}), HasSubstr("State:         live\n"));
}

// A draft asked for without --all is NOT_FOUND, saying which flag shows
// it, in contentctl's words rather than the API's (`visibility ALL`): --all
// for get (of one id, of several, of an old revision) and translations,
// leaving out --live-only for export.
TEST_F(CliEditorialTest, NotLiveErrorsNameTheFlagThatShowsIt) {
  CtlOk({"apply", "-f",
         Write("wip.md", "---\ntitle: \"WIP\"\ndraft: true\n---\n\nx\n")});
  const std::string hint =
      "(drafts, scheduled, expired and archived articles need --all and the "
      "editor role)";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"get", "wip"},
                                             {"translations", "wip"}}) {
    const CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.err, "Error: NOT_FOUND: articles/wip not found or not live " +
                         hint + "\n")
        << args[0];
  }
  CommandResult r = Ctl({"get", "wip", "wip2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: NOT_FOUND (ARTICLE_NOT_FOUND): "
                               "articles/wip not found or not live " +
                               hint + "\n"));
  r = Ctl({"get", "wip", "--revision", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(" need --all and the editor role)\n"));
  r = Ctl({"export", "wip", "--live-only"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("articles need the editor role, without "
                               "--live-only)\n"));
  // -o json keeps the reason the server gave.
  r = Ctl({"get", "wip", "-o", "json"});
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "ARTICLE_NOT_FOUND");
  EXPECT_THAT(e.at("message").string_value(), HasSubstr(hint));
  EXPECT_THAT(CtlOk({"get", "wip", "--all"}),
              HasSubstr("State:         draft"));
}

// `history` and `diff` have no --all (an editor's token shows every
// revision): a reader is told the role, not the API's "visibility ALL",
// which no flag of contentctl is named after.
TEST_F(CliEditorialTest, HistoryAndDiffOfHiddenRevisionsNameTheRole) {
  const std::string path = Write(
      "草稿.md", "---\nid: wip\ntitle: \"草稿\"\ndraft: true\n---\n\n初稿。\n");
  CtlOk({"apply", "-f", path});
  const std::string hint =
      "(drafts, scheduled, expired and archived articles need the editor "
      "role)";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"history", "wip"},
                                             {"diff", "wip"}}) {
    const CommandResult r = Ctl(args, kReader);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.err, "Error: NOT_FOUND: articles/wip not found or not live " +
                         hint + "\n")
        << args[0];
  }
  // Published (2), back to draft (3), published again (4): revision 3 is
  // not the reader's.
  WriteFile(path, "---\nid: wip\ntitle: \"定稿\"\n---\n\n定稿。\n");
  CtlOk({"apply", "-f", path});
  WriteFile(path,
            "---\nid: wip\ntitle: \"改稿\"\ndraft: true\n---\n\n改稿。\n");
  CtlOk({"apply", "-f", path});
  WriteFile(path, "---\nid: wip\ntitle: \"终稿\"\n---\n\n终稿。\n");
  CtlOk({"apply", "-f", path});
  CommandResult r = Ctl({"diff", "wip", "3", "4"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: NOT_FOUND: REV1: articles/wip has no revision 3 readers "
            "may read (draft, archived and scheduled revisions need the "
            "editor role)\n");
  r = Ctl({"diff", "wip", "3", "4", "-o", "json"}, kReader);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "REVISION_NOT_FOUND");
  EXPECT_THAT(e.at("message").string_value(),
              HasSubstr("revisions need the editor role)"));
  // The editor's token shows it, with no flag.
  EXPECT_THAT(CtlOk({"diff", "wip", "3", "4"}), HasSubstr("+ \"终稿\""));
  EXPECT_THAT(CtlOk({"history", "wip"}), HasSubstr("\n3 "));
}

// Every revision's STATE names what it made the article, as `get` does;
// a tombstone is `deleted`.
TEST_F(CliEditorialTest, HistoryNamesTheStateOfEachRevision) {
  const std::string path = Write("h/wip.md",
                                 "---\ntitle: \"Draft\"\ndraft: true\n---\n\n"
                                 "Draft.\n");
  CtlOk({"apply", "-f", path});
  const auto states = [&](const std::string& id) {
    std::vector<std::string> out;
    for (const std::string& line : Lines(CtlOk({"history", id}))) {
      std::vector<std::string> columns =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      EXPECT_EQ(columns.size(), 4u) << line;
      if (columns.size() > 2) out.push_back(columns[0] + " " + columns[2]);
    }
    return out;
  };
  EXPECT_THAT(states("wip"), ElementsAre("REV STATE", "1 draft"));

  WriteFile(path, "---\ntitle: \"Draft\"\n---\n\nDraft.\n");
  CtlOk({"apply", "-f", path});
  WriteFile(path, "---\ntitle: \"Draft\"\nstate: archived\n---\n\nDraft.\n");
  CtlOk({"apply", "-f", path});
  CtlOk({"delete", "wip"});
  EXPECT_THAT(states("wip"), ElementsAre("REV STATE", "4 deleted", "3 archived",
                                         "2 live", "1 draft"));

  Write("h/later.md",
        "---\ntitle: \"Later\"\npublishDate: \"2999-01-01\"\n---\n\nLater.\n");
  Write("h/gone.md",
        "---\ntitle: \"Gone\"\nexpiryDate: \"2001-01-01\"\n---\n\nGone.\n");
  CtlOk({"apply", "-f", dir_.path() + "/files/h/later.md", "-f",
         dir_.path() + "/files/h/gone.md"});
  EXPECT_THAT(states("later"), ElementsAre("REV STATE", "1 scheduled"));
  EXPECT_THAT(states("gone"), ElementsAre("REV STATE", "1 expired"));
}

// The QA repro: a draft with an embargoed figure, then a public statement
// over it. A reader's history, get --revision, diff and export --revision
// used to show the draft; none does now, and the editor still sees it.
TEST_F(CliEditorialTest, ReadersNeverSeeADraftRevisionOfAPublishedArticle) {
  const std::string path =
      Write("embargo.md",
            "---\ntitle: Embargoed\ndate: 2025-01-01\nstate: draft\n---\n"
            "SECRET: profit fell 40%\n");
  CtlOk({"apply", "-f", path});  // the id is the file's name
  WriteFile(path,
            "---\ntitle: Earnings\ndate: 2025-01-01\n---\nPublic statement.\n");
  CtlOk({"apply", "-f", path});  // the id is the file's name

  const std::string history = CtlOk({"history", "embargo"}, kReader);
  EXPECT_THAT(Lines(history), ElementsAre(StartsWith("REV"), StartsWith("2 ")))
      << history;
  EXPECT_THAT(history, Not(HasSubstr("draft")));
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"get", "embargo", "--revision", "1", "-o", "json"},
           {"diff", "embargo", "1", "2"},
           {"export", "embargo", "--revision", "1", "--live-only"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    CommandResult r = Ctl(args, kReader);
    EXPECT_EQ(r.exit_code, 1);
    if (args.back() == "json") {
      // -o json prints the error as a JSON object (README "Errors").
      EXPECT_THAT(r.err, HasSubstr("\"NOT_FOUND\""));
      EXPECT_THAT(r.err, HasSubstr("articles/embargo has no revision 1 "
                                   "readers may read"));
    } else {
      // Each names the argument or flag that gave the revision.
      EXPECT_THAT(r.err, StartsWith(absl::StrCat(
                             "Error: NOT_FOUND: ",
                             args[0] == "diff" ? "REV1: " : "--revision: ",
                             "articles/embargo has no revision 1 readers may "
                             "read")));
    }
    EXPECT_THAT(r.out + r.err, Not(HasSubstr("SECRET")));
  }
  // A plain diff compares with the revision before in the reader's
  // history: there is none, and the draft is not named.
  CommandResult diff = Ctl({"diff", "embargo"}, kReader);
  EXPECT_EQ(diff.exit_code, 1);
  EXPECT_EQ(diff.err,
            "Error: INVALID_ARGUMENT: REV1: articles/embargo revision 2 is "
            "the first readers may read; there is nothing before it to "
            "compare with\n");
  EXPECT_THAT(diff.out, Not(HasSubstr("SECRET")));
  EXPECT_THAT(
      CtlOk({"get", "embargo", "--revision", "2", "-o", "json"}, kReader),
      HasSubstr("Public statement."));

  // The editor reads it all.
  EXPECT_THAT(CtlOk({"history", "embargo"}), HasSubstr("1 "));
  EXPECT_THAT(
      CtlOk({"get", "embargo", "--revision", "1", "--all", "-o", "json"}),
      HasSubstr("SECRET"));
  EXPECT_THAT(CtlOk({"diff", "embargo"}), HasSubstr("SECRET"));
  EXPECT_THAT(CtlOk({"export", "embargo", "--revision", "1"}),
              HasSubstr("SECRET"));
}

TEST_F(CliEditorialTest, QueryByStateAndPublishTime) {
  Write("q/live.md", "---\ntitle: \"Live\"\n---\n\nLive.\n");
  Write("q/wip.md", "---\ntitle: \"Draft\"\nstate: draft\n---\n\nDraft.\n");
  Write("q/old.md", "---\ntitle: \"Old\"\nstate: Archived\n---\n\nOld.\n");
  Write("q/later.md",
        "---\ntitle: \"Later\"\npublishDate: \"2999-01-01\"\n---\n\nLater.\n");
  CtlOk({"apply", "-f", dir_.path() + "/files/q"});
  const auto names = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "query");
    args.push_back("--oldest-first");
    args.push_back("-o");
    args.push_back("json");
    const auto response = ParseJson<v1::QueryArticlesResponse>(CtlOk(args));
    std::vector<std::string> out;
    for (const auto& a : response.articles()) out.push_back(a.name());
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_THAT(names({}), ElementsAre("articles/live"));
  EXPECT_THAT(names({"--all"}), ElementsAre("articles/later", "articles/live",
                                            "articles/old", "articles/wip"));
  EXPECT_THAT(names({"--all", "--state", "draft,archived"}),
              ElementsAre("articles/old", "articles/wip"));
  EXPECT_THAT(names({"--all", "--state", "draft", "--state", "archived"}),
              ElementsAre("articles/old", "articles/wip"));
  EXPECT_THAT(names({"--all", "--publish-from", "2998-01-01"}),
              ElementsAre("articles/later"));
  EXPECT_THAT(names({"--all", "--publish-to", "2998-01-01"}), ElementsAre());
  CommandResult r = Ctl({"query", "--state", "deleted"});
  EXPECT_EQ(r.exit_code, 2);
  r = Ctl({"query", "--publish-from", "tomorrow"});
  EXPECT_EQ(r.exit_code, 2);
}

// The space-separated cells of a table row.
std::vector<std::string> Cells(const std::string& row) {
  return absl::StrSplit(row, ' ', absl::SkipEmpty());
}

// `query --all` shows STATE scheduled and expired; `--state scheduled`
// was refused client-side, with only a publish-time range to point to.
// Now `--state scheduled|live|expired` lists published articles by where
// the server's clock falls in their window (`query.windows`), with other
// states and with paging; `published` keeps meaning all of them.
TEST_F(CliEditorialTest, QueryStateScheduledLiveOrExpired) {
  Write("s/soon.md",
        "---\ntitle: \"Soon\"\ndate: \"2025-01-02\"\n"
        "publishDate: \"2999-01-01\"\n---\n\nSoon.\n");
  Write("s/later.md",
        "---\ntitle: \"Later\"\ndate: \"2025-01-01\"\n"
        "publishDate: \"2998-01-01\"\n---\n\nLater.\n");
  Write("s/gone.md",
        "---\ntitle: \"Gone\"\nexpiryDate: \"2001-01-01\"\n---\n\nGone.\n");
  Write("s/live.md", "---\ntitle: \"Live\"\n---\n\nLive.\n");
  Write("s/wip.md", "---\ntitle: \"Wip\"\nstate: draft\n---\n\nDraft.\n");
  CtlOk({"apply", "-f", dir_.path() + "/files/s"});
  const auto names = [&](std::vector<std::string> args,
                         const char* token = kEditor) {
    args.insert(args.begin(), "query");
    args.push_back("-o");
    args.push_back("json");
    const auto response =
        ParseJson<v1::QueryArticlesResponse>(CtlOk(args, token));
    std::vector<std::string> out;
    for (const auto& a : response.articles()) out.push_back(a.name());
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_THAT(names({"--all", "--state", "scheduled"}),
              ElementsAre("articles/later", "articles/soon"));
  EXPECT_THAT(names({"--all", "--state", "expired"}),
              ElementsAre("articles/gone"));
  EXPECT_THAT(names({"--all", "--state", "live"}),
              ElementsAre("articles/live"));
  EXPECT_THAT(names({"--state", "live"}, kReader),
              ElementsAre("articles/live"));
  EXPECT_THAT(names({"--all", "--state", "scheduled,expired"}),
              ElementsAre("articles/gone", "articles/later", "articles/soon"));
  EXPECT_THAT(names({"--all", "--state", "draft", "--state", "scheduled"}),
              ElementsAre("articles/later", "articles/soon", "articles/wip"));
  const std::vector<std::string> published = {"articles/gone", "articles/later",
                                              "articles/live", "articles/soon"};
  EXPECT_EQ(names({"--all", "--state", "published"}), published);
  EXPECT_EQ(names({"--all", "--state", "expired,published"}), published);

  // The table's STATE says the same words.
  const std::vector<std::string> table =
      Lines(CtlOk({"query", "--all", "--state", "expired,scheduled"}));
  ASSERT_EQ(table.size(), 4u) << ::testing::PrintToString(table);
  for (size_t i = 1; i < table.size(); ++i) {
    const std::vector<std::string> cells = Cells(table[i]);
    ASSERT_GE(cells.size(), 3u) << table[i];
    EXPECT_EQ(cells[2], cells[0] == "articles/gone" ? "expired" : "scheduled")
        << table[i];
  }

  // A page at a time: the token carries the query, windows and all.
  std::vector<std::string> paged;
  std::string token;
  std::string first_token;
  for (int pages = 0; pages < 10; ++pages) {
    std::vector<std::string> args = {"query",   "--all", "--state", "scheduled",
                                     "--limit", "1",     "-o",      "json"};
    if (!token.empty()) {
      args.push_back("--page-token");
      args.push_back(token);
    }
    CommandResult r = Ctl(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto page = ParseJson<v1::QueryArticlesResponse>(r.out);
    for (const auto& a : page.articles()) paged.push_back(a.name());
    token = page.next_page_token();
    if (first_token.empty()) first_token = token;
    if (token.empty()) break;
  }
  EXPECT_THAT(paged, ElementsAre("articles/soon", "articles/later"));
  ASSERT_FALSE(first_token.empty());
  // ... and only that query.
  CommandResult r = Ctl({"query", "--all", "--state", "expired", "--limit", "1",
                         "--page-token", first_token});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("was issued for a different query"));

  // Scheduled and expired articles are not live: --all, the editor's.
  r = Ctl({"query", "--state", "scheduled"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--state scheduled: scheduled articles are "
                                "not live; needs --all\n"));
  r = Ctl({"query", "--all", "--state", "expired"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: PERMISSION_DENIED: "));
  r = Ctl({"query", "--state", "gone"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              StartsWith("--state: gone not in {draft,published,archived,"
                         "scheduled,live,expired}\n"));
  // --help names them.
  EXPECT_THAT(CtlOk({"query", "--help"}),
              HasSubstr("--state TEXT:{draft,published,archived,scheduled,live,"
                        "expired}"));
}

// An editor's watch shows every change, and says where a write showed an
// article to readers or hid it, which its type (UPDATED) does not, and
// which articles readers do not see; readers' watches get those writes as
// PUBLISHED and UNPUBLISHED.
TEST_F(CliEditorialTest, WatchShowsDraftsOnlyWithAll) {
  const std::string wip = Write(
      "w/a-wip.md", "---\ntitle: \"Draft\"\ndraft: true\n---\n\nDraft.\n");
  CtlOk({"apply", "-f", wip});
  const std::string live =
      Write("w/b-live.md", "---\ntitle: \"Live\"\n---\n\nLive.\n");
  CtlOk({"apply", "-f", live});
  EXPECT_EQ(CtlOk({"watch", "--count", "1"}), "2 CREATED articles/b-live 1\n");
  EXPECT_EQ(CtlOk({"watch", "--all", "--count", "2"}),
            "1 CREATED articles/a-wip 1 (not live)\n"
            "2 CREATED articles/b-live 1\n");

  // Published, archived, then edited while archived.
  WriteFile(wip, "---\ntitle: \"Draft\"\ndraft: false\n---\n\nDraft.\n");
  CtlOk({"apply", "-f", wip});
  WriteFile(live, "---\ntitle: \"Live\"\nstate: archived\n---\n\nLive.\n");
  CtlOk({"apply", "-f", live});
  WriteFile(live, "---\ntitle: \"Old\"\nstate: archived\n---\n\nLive.\n");
  CtlOk({"apply", "-f", live});
  EXPECT_EQ(CtlOk({"watch", "--all", "--after", "2", "--count", "3"}),
            "3 UPDATED articles/a-wip 2 (now live)\n"
            "4 UPDATED articles/b-live 2 (no longer live)\n"
            "5 UPDATED articles/b-live 3 (not live)\n");
  EXPECT_EQ(CtlOk({"watch", "--after", "2", "--count", "2"}, kReader),
            "3 PUBLISHED articles/a-wip 2\n4 UNPUBLISHED articles/b-live 2\n");
}

// ---- export ----------------------------------------------------------------

TEST_F(CliEditorialTest, ExportIncludesDraftsAndAppliesBackUnchanged) {
  Write("site/live.md",
        "---\ntitle: \"Live\"\ndate: \"2025-01-02\"\n---\n\n"
        "Live.\n");
  Write("site/wip.md", "---\ntitle: \"Draft\"\ndraft: true\n---\n\nDraft.\n");
  Write("site/old.md",
        "---\ntitle: \"Old\"\nstate: \"archived\"\n"
        "expiryDate: \"2025-06-01 00:00:00\"\n---\n\nOld.\n");
  Write("site/later.md",
        "---\ntitle: \"Later\"\npublishDate: \"2999-01-01\"\n"
        "translationKey: \"later\"\n---\n\nLater.\n");
  CtlOk({"apply", "-f", dir_.path() + "/files/site"});

  const std::string out = dir_.path() + "/export";
  CommandResult r = Ctl({"export", "--dir", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("exported 4 articles"));
  for (const char* id : {"live", "wip", "old", "later"}) {
    SCOPED_TRACE(id);
    // Byte for byte the files applied.
    EXPECT_EQ(ReadFile(absl::StrCat(out, "/", id, ".md")),
              ReadFile(absl::StrCat(dir_.path(), "/files/site/", id, ".md")));
  }
  EXPECT_EQ(CtlOk({"export", "wip"}),
            ReadFile(dir_.path() + "/files/site/wip.md"));

  r = Ctl({"apply", "-f", out, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 4 unchanged, 0 failed"));
  r = Ctl({"apply", "-f", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("applied 4 files: 0 created, 0 updated, "
                               "4 unchanged, 0 failed"));

  // What readers see, and what a reader may export.
  const std::string live_out = dir_.path() + "/live-only";
  r = Ctl({"export", "--dir", live_out, "--live-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("exported 1 article to "));
  EXPECT_TRUE(fs::exists(live_out + "/live.md"));
  EXPECT_FALSE(fs::exists(live_out + "/wip.md"));
  EXPECT_FALSE(fs::exists(live_out + "/old.md"));
  EXPECT_FALSE(fs::exists(live_out + "/later.md"));

  r = Ctl({"export", "--dir", dir_.path() + "/reader"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: PERMISSION_DENIED: "));
  EXPECT_THAT(r.err, HasSubstr("--live-only"));
  // Refused outright, it leaves no empty directory of its own behind.
  EXPECT_FALSE(fs::exists(dir_.path() + "/reader"));
  r = Ctl({"export", "wip"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--live-only"));
  r = Ctl({"export", "--dir", dir_.path() + "/reader", "--live-only"}, kReader);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("--live-only")));
}

// `export --dir` takes query's editorial filters, --state, --publish-from
// and --publish-to, as the server applies them to an export: an editor
// writes the drafts, or what is scheduled, to a tree of their own for
// review. It had none, though `export` writes every state by default.
TEST_F(CliEditorialTest, ExportDirTakesTheStateAndPublishTimeFilters) {
  Write("site/live.md",
        "---\ntitle: \"已发布\"\npublishDate: \"2020-06-01\"\n---\n\n正文。\n");
  Write("site/wip.md", "---\ntitle: \"草稿\"\ndraft: true\n---\n\n草稿。\n");
  Write("site/later.md",
        "---\ntitle: \"定时\"\npublishDate: \"2999-01-01\"\n---\n\n定时。\n");
  Write("site/gone.md",
        "---\ntitle: \"过期\"\nexpiryDate: \"2001-01-01\"\n---\n\n过期。\n");
  CtlOk({"apply", "-f", dir_.path() + "/files/site"});
  // The ids of the files export --dir wrote into `dir`, sorted.
  const auto ids = [](const std::string& dir) {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
      out.insert(entry.path().stem().string());
    }
    return std::vector<std::string>(out.begin(), out.end());
  };
  const std::string drafts = dir_.path() + "/drafts";
  CommandResult r = Ctl({"export", "--dir", drafts, "--state", "draft"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ids(drafts), ElementsAre("wip"));
  EXPECT_EQ(ReadFile(drafts + "/wip.md"),
            ReadFile(dir_.path() + "/files/site/wip.md"));
  const std::string window = dir_.path() + "/window";
  r = Ctl({"export", "--dir", window, "--state", "scheduled,expired"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ids(window), ElementsAre("gone", "later"));
  const std::string published = dir_.path() + "/published";
  r = Ctl({"export", "--dir", published, "--publish-from", "2020-01-01",
           "--publish-to", "2021-01-01"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ids(published), ElementsAre("live"));
  const std::string live = dir_.path() + "/live";
  r = Ctl({"export", "--dir", live, "--state", "live", "--live-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ids(live), ElementsAre("live"));

  // Usage errors, nothing written: a state readers never see beside
  // --live-only, and a filter with one ID.
  r = Ctl({"export", "--dir", dir_.path() + "/none", "--state", "draft",
           "--live-only"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("--state draft: draft articles are never "
                                "live; cannot be combined with --live-only\n"));
  EXPECT_FALSE(fs::exists(dir_.path() + "/none"));
  for (const char* flag : {"--state", "--publish-from"}) {
    r = Ctl({"export", "wip", flag,
             std::string(flag) == "--state" ? "draft" : "2020-01-01"});
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_THAT(r.err, StartsWith(absl::StrCat(flag,
                                               ": applies only with --dir "
                                               "(export ID prints that one "
                                               "article)\n")));
  }
}

// An empty value of a flag that takes one of a set (`--state "$STATE"`
// with STATE unset) is no value, as `--state=` is: it said `--state:  not
// in {draft,...}`, naming no value at all.
TEST_F(CliEditorialTest, AnEmptyStateIsNoValue) {
  const std::string want =
      "--state: needs a value (one of draft, published, archived, scheduled, "
      "live, expired)\n";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"query", "--all", "--state", ""},
           {"query", "--all", "--state="},
           {"export", "--dir", dir_.path() + "/out", "--state", ""}}) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    const CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, StartsWith(want));
  }
  const CommandResult r = Ctl({"query", "--state", "", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("reason").string_value(), "MISSING_ARGUMENT");
  EXPECT_EQ(e.at("flag").string_value(), "--state");
  EXPECT_EQ(e.at("message").string_value() + "\n", want);
  EXPECT_THAT(Ctl({"diff", "x", "--color", ""}).err,
              StartsWith("--color: needs a value (one of auto, always, "
                         "never)\n"));
}

// ---- usage nits ------------------------------------------------------------

// An editor's query mixes states; the table had no column to tell a draft
// from a live article. With --all it has STATE, as history and
// translations do; without, every row is live and the table is as before.
// A reader may ask which server answers (`version`); without a token
// an auth-on server refuses it as any call.
TEST_F(CliEditorialTest, AReaderMayAskTheServersVersion) {
  EXPECT_THAT(CtlOk({"version"}, kReader),
              HasSubstr(absl::StrCat("\ncontentd ")));
  const CommandResult r = testing::Ctl(*server_, {"version"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith("contentctl "));
  EXPECT_THAT(r.err, StartsWith("Error: UNAUTHENTICATED: ")) << r.err;
}

// watch's first call (a probe that the server answers) is refused for a
// missing token as the watch would be, and the watch is not sent: the
// server logged two refusals for one command.
TEST_F(CliEditorialTest, AWatchWithoutATokenIsRefusedOnce) {
  const size_t before = server_->Log().size();
  const CommandResult r = testing::Ctl(*server_, {"watch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: UNAUTHENTICATED: missing token"))
      << r.err;
  const std::string log = server_->Log().substr(before);
  EXPECT_THAT(log, HasSubstr("ContentService/GetServerInfo"));
  EXPECT_THAT(log, Not(HasSubstr("ContentService/WatchArticles")));
}

TEST_F(CliEditorialTest, QueryAllTableHasAStateColumn) {
  Write("st/live.md", "---\ntitle: \"Live\"\n---\n\nLive.\n");
  Write("st/wip.md", "---\ntitle: \"Wip\"\nstate: draft\n---\n\nDraft.\n");
  Write("st/old.md", "---\ntitle: \"Old\"\nstate: archived\n---\n\nOld.\n");
  CtlOk({"apply", "-f", dir_.path() + "/files/st"});
  const std::vector<std::string> all =
      Lines(CtlOk({"query", "--all", "--oldest-first"}));
  ASSERT_EQ(all.size(), 4u) << ::testing::PrintToString(all);
  EXPECT_THAT(Cells(all[0]),
              ElementsAre("NAME", "REV", "STATE", "DATE", "TITLE", "TAGS"));
  std::set<std::string> rows;
  for (size_t i = 1; i < all.size(); ++i) {
    const std::vector<std::string> cells = Cells(all[i]);
    ASSERT_GE(cells.size(), 3u) << all[i];
    rows.insert(cells[0] + " " + cells[2]);
  }
  EXPECT_THAT(rows, ElementsAre("articles/live live", "articles/old archived",
                                "articles/wip draft"));
  const std::vector<std::string> live = Lines(CtlOk({"query"}));
  ASSERT_EQ(live.size(), 2u);
  EXPECT_THAT(Cells(live[0]),
              ElementsAre("NAME", "REV", "DATE", "TITLE", "TAGS"));
}

// The STATE of a published article is its window, in --state's words:
// live (it said `published`, which --state takes for all three), scheduled
// or expired, by Query.windows' rule (store::PublishWindowOf), so that what
// the table says is what `--state` selects. A tombstone of an article
// deleted before its publish time stays scheduled, as the server has it:
// the table called it published once that time had passed.
TEST(CliStateTest, TheTablesStateIsThePublishWindowAsStateNamesIt) {
  TempDir dir;
  const std::string clock = dir.path() + "/clock";
  const auto set_clock = [&](const char* rfc3339) {
    WriteFile(clock, std::string(rfc3339) + "\n");
  };
  set_clock("2000-01-01T00:00:00Z");
  const std::string config = dir.path() + "/contentd.yaml";
  WriteFile(config, AuthConfigYaml({{"e", "editor", kEditor}}));
  auto server = ServerProcess::Start(
      dir.path() + "/data", {"--config", config, "--clock-file", clock});
  ASSERT_NE(server, nullptr);
  const auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--token", kEditor});
    return testing::CtlOk(*server, args);
  };
  const std::string files = dir.path() + "/files";
  std::filesystem::create_directories(files);
  // Scheduled for 2001, deleted in 2000: it never came out.
  WriteFile(files + "/never.md",
            "---\ntitle: \"Never\"\npublishDate: \"2001-01-01\"\n---\n\n"
            "Never.\n");
  WriteFile(files + "/live.md",
            "---\ntitle: \"Live\"\nstate: published\n---\n\nLive.\n");
  ctl({"apply", "-f", files});
  ctl({"delete", "never"});
  set_clock("2002-01-01T00:00:00Z");
  // The server's windows, then the table's STATE of each article.
  const auto names = [&](const char* state) {
    const auto response = ParseJson<v1::QueryArticlesResponse>(
        ctl({"query", "--all", "--include-deleted", "--state", state, "-o",
             "json"}));
    std::vector<std::string> out;
    for (const auto& a : response.articles()) out.push_back(a.name());
    return out;
  };
  EXPECT_THAT(names("scheduled"), ElementsAre("articles/never"));
  EXPECT_THAT(names("live"), ElementsAre("articles/live"));
  std::map<std::string, std::string> states;
  const std::vector<std::string> table =
      Lines(ctl({"query", "--all", "--include-deleted"}));
  ASSERT_EQ(table.size(), 3u) << ::testing::PrintToString(table);
  for (size_t i = 1; i < table.size(); ++i) {
    const std::vector<std::string> cells =
        absl::StrSplit(table[i], ' ', absl::SkipEmpty());
    ASSERT_GE(cells.size(), 4u) << table[i];
    // NAME REV [(deleted)] STATE ...
    states[cells[0]] = cells[cells[2] == "(deleted)" ? 3 : 2];
  }
  EXPECT_THAT(states, ElementsAre(std::pair{"articles/live", "live"},
                                  std::pair{"articles/never", "scheduled"}));
  // `get` of several ids lists them alike; of one, its State line (there
  // for an article with no state but a publish time, as `never`).
  const std::vector<std::string> got =
      Lines(ctl({"get", "live", "never", "--all", "--show-deleted"}));
  ASSERT_EQ(got.size(), 3u) << ::testing::PrintToString(got);
  EXPECT_THAT(Cells(got[1]), ElementsAre("articles/live", "1", "live", "Live"));
  EXPECT_THAT(Cells(got[2]), ElementsAre("articles/never", "2", "(deleted)",
                                         "scheduled", "Never"));
  EXPECT_THAT(ctl({"get", "live", "--all"}),
              HasSubstr("State:         live\n"));
  EXPECT_THAT(ctl({"get", "never", "--all", "--show-deleted"}),
              HasSubstr("State:         scheduled\n"));
}

// `get --lang` and `--fallback` took any text, which matched no
// translation (NOT_FOUND) or reached the server as `fallback_langs[0]`;
// query's --lang was checked. Now a malformed tag is a usage error naming
// the flag, and well-formed ones (POSIX `zh_CN` too) still work.
TEST_F(CliEditorialTest, GetLangAndFallbackMustBeLanguageTags) {
  ApplyLaunch();
  for (auto [args, flag, bad] :
       {std::tuple{std::vector<std::string>{"--lang", "not a lang!"}, "--lang",
                   "not a lang!"},
        std::tuple{std::vector<std::string>{"--lang", "e"}, "--lang", "e"},
        std::tuple{
            std::vector<std::string>{"--lang", "de", "--fallback", "en,zh--CN"},
            "--fallback", "zh--CN"},
        std::tuple{std::vector<std::string>{"--lang", "de", "--fallback", "12"},
                   "--fallback", "12"}}) {
    args.insert(args.begin(), {"get", "launch.en"});
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << r.err;
    EXPECT_EQ(r.err, absl::StrCat(flag, ": must be a BCP 47 language tag: ",
                                  "subtags of 1-8 letters or digits joined "
                                  "by '-', the first 2-3 or 5-8 letters (or "
                                  "x/i for private use), e.g. en, zh-CN; got "
                                  "\"",
                                  bad,
                                  "\"\nRun `contentctl get --help` for more "
                                  "information.\n"))
        << ::testing::PrintToString(args);
  }
  EXPECT_THAT(CtlOk({"get", "launch.en", "--lang", "zh_CN", "-o", "json"}),
              HasSubstr("\"articles/launch.zh-CN\""));
}

// Only `delete` took --etag, though undelete, restore and update (apply of
// one file) take the same condition in the API. Each now does: a stale
// etag fails the write (FAILED_PRECONDITION) and writes nothing, the
// head's etag lets it through.
TEST_F(CliEditorialTest, WritesTakeAnEtag) {
  const std::string path =
      Write("etag/tagged.md", "---\ntitle: \"One\"\n---\n\nOne.\n");
  CtlOk({"apply", "-f", path});
  const std::string etag1 = GetJsonArticle("tagged").etag();
  ASSERT_FALSE(etag1.empty());
  WriteFile(path, "---\ntitle: \"Two\"\n---\n\nTwo.\n");
  CtlOk({"apply", "-f", path});  // revision 2: etag1 is stale now
  const std::string etag2 = GetJsonArticle("tagged").etag();
  ASSERT_NE(etag1, etag2);

  WriteFile(path, "---\ntitle: \"Three\"\n---\n\nThree.\n");
  CommandResult r = Ctl({"apply", "-f", path, "--etag", etag1});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_EQ(GetJsonArticle("tagged").revision(), 2);
  r = Ctl({"apply", "-f", path, "--etag", etag2});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("articles/tagged updated (revision 3)"));
  const std::string etag3 = GetJsonArticle("tagged").etag();

  r = Ctl({"restore", "tagged", "1", "--etag", etag2});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_EQ(GetJsonArticle("tagged").revision(), 3);
  EXPECT_THAT(CtlOk({"restore", "tagged", "1", "--etag", etag3}),
              StartsWith("articles/tagged restored from revision 1 "
                         "(revision 4)"));

  CtlOk({"delete", "tagged"});
  const std::string tombstone =
      GetJsonArticle("tagged", {"--show-deleted"}).etag();
  r = Ctl({"undelete", "tagged", "--etag", etag3});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(CtlOk({"undelete", "tagged", "--etag", tombstone}),
              StartsWith("articles/tagged undeleted"));

  // A condition is on one article: not with many files, nor a dry run, and
  // an article that does not exist has no etag to match.
  Write("etag/other.md", "---\ntitle: \"Other\"\n---\n\nOther.\n");
  r = Ctl({"apply", "-f", dir_.path() + "/files/etag", "--etag", etag3});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("--etag: applies only to a single file (2 given)"));
  r = Ctl({"apply", "-f", path, "--etag", etag3, "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--etag: cannot be combined with --dry-run"));
  r = Ctl(
      {"apply", "-f", dir_.path() + "/files/etag/other.md", "--etag", etag3});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("articles/other not found; --etag " + etag3 +
                               " needs an existing article"));
}

// ---- edit ------------------------------------------------------------------

// `contentctl edit` with CONTENT_EDITOR set to `script` (a shell script
// written to a file; its first argument is the file to edit) and TMPDIR a
// directory of the test's, so that what edit leaves there can be checked.
class CliEditTest : public CliEditorialTest {
 protected:
  CommandResult Edit(const std::string& script, std::vector<std::string> args,
                     const std::string& token = kEditor) {
    const std::vector<std::string> argv =
        EditArgv(script, std::move(args), token);
    return RunCommand(argv, "",
                      {"CONTENT_EDITOR=" + editor_, "TMPDIR=" + tmp_,
                       "CONTENT_SERVER=" + server_->address(),
                       "CONTENT_TOKEN=" + std::string(token)});
  }

  // Edit, run on a terminal of its own (RunInTerminal: stdout and stderr
  // together in `out`).
  CommandResult EditInTerminal(const std::string& script,
                               std::vector<std::string> args) {
    const std::vector<std::string> argv =
        EditArgv(script, std::move(args), kEditor);
    return RunInTerminal(argv, {"CONTENT_EDITOR=" + editor_, "TMPDIR=" + tmp_});
  }

  // Writes `script` as the editor (editor_) and returns the command line of
  // `contentctl edit ARGS` as `token`.
  std::vector<std::string> EditArgv(const std::string& script,
                                    std::vector<std::string> args,
                                    const std::string& token) {
    editor_ = Write("editor.sh", "#!/bin/sh\n" + script);
    fs::permissions(editor_, fs::perms::owner_all);
    fs::create_directories(tmp_);
    std::vector<std::string> argv = {
        ContentctlBinary(), "--server", server_->address(),
        "--token",          token,      "edit"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // The files edit left under TMPDIR.
  std::vector<std::string> Left() {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(tmp_, ec))
      if (e.is_regular_file()) files.push_back(e.path().string());
    return files;
  }

  std::string Head(const std::string& id) { return GetJsonArticle(id).title(); }

  const std::string tmp_ = dir_.path() + "/tmp";
  std::string editor_;
};

// The editor gets the head as export prints it, opened by the line naming
// the article and its revision; what it saves is written as the next
// revision, and the file is removed.
TEST_F(CliEditTest, WritesWhatTheEditorSaved) {
  ASSERT_TRUE(ApplySampleTwice());
  const std::string seen = dir_.path() + "/seen.md";
  CommandResult r = Edit(absl::StrCat("cp \"$1\" ", seen,
                                      "\nsed -i 's/^title: .*/title: "
                                      "\"Edited\"/' \"$1\"\n"),
                         {"articles/deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/deepseek-brokers edited (revision 3)\n");
  const std::string exported =
      CtlOk({"export", "deepseek-brokers", "--revision", "2"});
  EXPECT_EQ(ReadFile(seen), "---\n# articles/deepseek-brokers revision 2\n" +
                                exported.substr(4));
  const v1::Article head = GetJsonArticle("deepseek-brokers");
  EXPECT_EQ(head.title(), "Edited");
  EXPECT_EQ(head.revision(), 3);
  EXPECT_THAT(head.body(), HasSubstr(kNewParagraph));
  EXPECT_THAT(head.tags(), ElementsAre("ai", "finance", "brokers", "llm"));
  EXPECT_THAT(Left(), ::testing::IsEmpty());

  // -o json prints the article written; saving the same content again
  // writes no revision.
  r = Edit("sed -i 's/^title: .*/title: \"Again\"/' \"$1\"\n",
           {"deepseek-brokers", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const v1::Article printed = ParseJson<v1::Article>(r.out);
  EXPECT_EQ(printed.title(), "Again");
  EXPECT_EQ(printed.revision(), 4);
  // A quoted title written bare is the same content.
  r = Edit("sed -i 's/^title: .*/title: Again/' \"$1\"\n",
           {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/deepseek-brokers unchanged (revision 4)\n");
  EXPECT_THAT(Left(), ::testing::IsEmpty());
}

// On a terminal, as kubectl's edit, a refused edit reopens the file with
// the error in it (before the front matter's closing line, so that the
// YAML error's line number still points at the line); fixed, it is
// written; saved unchanged, edit stops with the error and keeps the file
// as the user wrote it. Without a terminal it stops at once (above).
TEST_F(CliEditTest, OnATerminalARefusedEditReopensWithTheError) {
  ASSERT_TRUE(ApplySampleTwice());
  const std::string rounds = dir_.path() + "/rounds";
  // Round 1 breaks the title's YAML; round 2 keeps what it was given and
  // fixes the title.
  const std::string script = absl::StrCat(
      "n=$(cat ", rounds, " 2>/dev/null || echo 0); n=$((n+1)); echo $n > ",
      rounds, "\ncp \"$1\" ", dir_.path(),
      "/round$n.md\nif [ $n = 1 ]; then sed -i 's/^title: .*/title: "
      "[unclosed/' \"$1\"; else sed -i 's/^title: .*/title: Fixed/' \"$1\"; "
      "fi\n");
  CommandResult r = EditInTerminal(script, {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out,
              HasSubstr("articles/deepseek-brokers edited (revision 3)"));
  EXPECT_EQ(ReadFile(rounds), "2\n");
  const std::string second = ReadFile(dir_.path() + "/round2.md");
  EXPECT_THAT(second, HasSubstr("\ntitle: [unclosed\n"));
  EXPECT_THAT(second,
              HasSubstr("\n# contentctl edit: not written: INVALID_ARGUMENT: "
                        "front matter: invalid YAML at line 4"));
  // The notes close the front matter; the body follows unchanged.
  EXPECT_THAT(second, HasSubstr("these lines are dropped\n---\n"));
  const v1::Article head = GetJsonArticle("deepseek-brokers");
  EXPECT_EQ(head.title(), "Fixed");
  EXPECT_THAT(head.body(), Not(HasSubstr("contentctl edit")));
  EXPECT_THAT(Left(), ::testing::IsEmpty());

  // Saved unchanged after the refusal: the error, the file kept without
  // the notes, nothing written.
  fs::remove(rounds);
  r = EditInTerminal(
      absl::StrCat("n=$(cat ", rounds,
                   " 2>/dev/null || echo 0); n=$((n+1)); echo $n > ", rounds,
                   "\nif [ $n = 1 ]; then sed -i 's/^title: .*/title: "
                   "[unclosed/' \"$1\"; fi\n"),
      {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(ReadFile(rounds), "2\n");
  EXPECT_THAT(r.out, HasSubstr("Error: INVALID_ARGUMENT: front matter: "
                               "invalid YAML at line 4"));
  ASSERT_EQ(Left().size(), 1u);
  EXPECT_THAT(r.out, HasSubstr("your edit is kept in " + Left()[0]));
  const std::string kept = ReadFile(Left()[0]);
  EXPECT_THAT(kept, HasSubstr("\ntitle: [unclosed\n"));
  EXPECT_THAT(kept, Not(HasSubstr("contentctl edit")));
  EXPECT_EQ(GetJsonArticle("deepseek-brokers").revision(), 3);
}

// Saved unchanged or emptied, nothing is written; an editor that fails
// writes nothing either.
TEST_F(CliEditTest, CancelledOrFailedEditsWriteNothing) {
  ASSERT_TRUE(ApplySampleTwice());
  CommandResult r = Edit("exit 0\n", {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "Edit cancelled, no changes made.\n");
  EXPECT_EQ(r.out, "");
  r = Edit(": > \"$1\"\n", {"deepseek-brokers", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("\"notice\":\"CANCELLED\""));
  EXPECT_THAT(r.err, HasSubstr("the file was emptied"));

  // Unchanged, the file is not worth keeping; changed, it is.
  r = Edit("exit 3\n", {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("exited with status 3; nothing was written"));
  EXPECT_THAT(Left(), ::testing::IsEmpty());
  r = Edit("sed -i 's/^title: .*/title: \"Half\"/' \"$1\"\nexit 4\n",
           {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("exited with status 4"));
  ASSERT_EQ(Left().size(), 1u);
  // And how to write it, as a refused edit's hint says (it said where
  // only).
  EXPECT_THAT(r.err, HasSubstr("\nthe file as saved is kept in " + Left()[0] +
                               ": `contentctl apply -f " + Left()[0] +
                               " --expected-revision 2` writes it\n"));
  EXPECT_THAT(ReadFile(Left()[0]), HasSubstr("title: \"Half\""));
  EXPECT_EQ(GetJsonArticle("deepseek-brokers").revision(), 2);
  EXPECT_THAT(CtlOk({"apply", "-f", Left()[0], "--expected-revision", "2"}),
              StartsWith("articles/deepseek-brokers updated (revision 3)"));
  EXPECT_EQ(Head("deepseek-brokers"), "Half");
  fs::remove_all(tmp_);

  // No editor set and no terminal to run vi on.
  std::vector<std::string> argv = {
      ContentctlBinary(), "--server", server_->address(),
      "--token",          kEditor,    "edit",
      "deepseek-brokers"};
  r = RunCommand(argv, "", {"CONTENT_EDITOR=", "VISUAL=", "EDITOR="});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: no editor: "));
  EXPECT_THAT(r.err, HasSubstr("set CONTENT_EDITOR, VISUAL or EDITOR"));
}

// What fails on this side of an edit, the editor or its file, is no
// server's error: it said FAILED_PRECONDITION (no editor), ABORTED (the
// editor failed) or the OS's code as a gRPC one (the file). Each is now
// said as apply's local failures are: no code, domain contentctl, a reason,
// and metadata naming the editor, how it ended and the file kept.
TEST_F(CliEditTest, EditorAndFileFailuresAreLocalErrors) {
  ASSERT_TRUE(ApplySampleTwice());
  // contentctl edit deepseek-brokers with $EDITOR set to `editor`.
  const auto edit_with = [&](const std::string& editor,
                             std::vector<std::string> args,
                             const std::string& tmpdir = "") {
    fs::create_directories(tmp_);
    std::vector<std::string> argv = {
        ContentctlBinary(), "--server", server_->address(),
        "--token",          kEditor,    "edit",
        "deepseek-brokers"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, "",
                      {"CONTENT_EDITOR=", "VISUAL=", "EDITOR=" + editor,
                       "TMPDIR=" + (tmpdir.empty() ? tmp_ : tmpdir)});
  };
  using Fields = google::protobuf::Map<std::string, google::protobuf::Value>;
  // The -o json error on the last line of stderr (the shell may say why
  // before it), as a local one: no code, contentctl's domain.
  const auto local_error = [](const CommandResult& r) {
    const std::vector<std::string> lines = Lines(r.err);
    Fields e;
    if (lines.empty()) {
      ADD_FAILURE() << "no error";
      return e;
    }
    e = ParseJson<google::protobuf::Struct>(lines.back()).fields();
    EXPECT_EQ(e["code"].string_value(), "") << r.err;
    EXPECT_EQ(e["domain"].string_value(), "contentctl") << r.err;
    return e;
  };
  const auto metadata = [](Fields& e) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : e["metadata"].struct_value().fields())
      out[k] = v.string_value();
    return out;
  };

  CommandResult r = edit_with("false", {});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(
      r.err,
      "Error: editor `false` exited with status 1; nothing was written\n");
  r = edit_with("false", {"-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  Fields e = local_error(r);
  EXPECT_EQ(e["reason"].string_value(), "EDITOR_FAILED");
  EXPECT_EQ(e["message"].string_value(),
            "editor `false` exited with status 1; nothing was written");
  EXPECT_EQ(metadata(e), (std::map<std::string, std::string>{
                             {"editor", "false"}, {"exit_status", "1"}}));
  EXPECT_THAT(Left(), ::testing::IsEmpty());

  // Not found by the shell, which says so first.
  r = edit_with("/nonexistent", {});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::EndsWith(
                         "\nError: editor `/nonexistent` exited with status "
                         "127 (command not found); nothing was written\n"));
  r = edit_with("/nonexistent", {"-o", "json"});
  e = local_error(r);
  EXPECT_EQ(e["reason"].string_value(), "EDITOR_NOT_FOUND");
  EXPECT_EQ(metadata(e),
            (std::map<std::string, std::string>{{"editor", "/nonexistent"},
                                                {"exit_status", "127"}}));

  // Killed, after saving a change: the file is kept, its path in the
  // metadata too. (The shell that runs the editor kills itself: "$1" is
  // the file, the path added after the command is a comment.)
  const std::string killed =
      "sed -i 's/^title: .*/title: \"Half\"/' \"$1\"; kill -9 $$ #";
  r = edit_with(killed, {"-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = local_error(r);
  EXPECT_EQ(e["reason"].string_value(), "EDITOR_FAILED");
  EXPECT_EQ(
      e["message"].string_value(),
      "editor `" + killed + "` was killed by signal 9; nothing was written");
  ASSERT_EQ(Left().size(), 1u);
  const std::string kept = Left()[0];
  EXPECT_EQ(e["file"].string_value(), kept);
  EXPECT_EQ(metadata(e),
            (std::map<std::string, std::string>{
                {"editor", killed}, {"path", kept}, {"signal", "9"}}));
  EXPECT_EQ(GetJsonArticle("deepseek-brokers").revision(), 2);
  fs::remove_all(tmp_);

  // The file gone when the editor closed.
  const std::string remover = Write("remover.sh", "#!/bin/sh\nrm \"$1\"\n");
  fs::permissions(remover, fs::perms::owner_all);
  r = edit_with(remover, {});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              StartsWith("Error: reading " + tmp_ + "/contentctl-edit-"));
  EXPECT_THAT(r.err, ::testing::EndsWith(
                         "/deepseek-brokers.md after the editor closed: No "
                         "such file or directory\n"));
  r = edit_with(remover, {"-o", "json"});
  e = local_error(r);
  EXPECT_EQ(e["reason"].string_value(), "READ_FAILED");
  EXPECT_THAT(metadata(e)["path"], StartsWith(tmp_ + "/contentctl-edit-"));

  // No directory to make the file in.
  const std::string nowhere = dir_.path() + "/no-such-tmp";
  r = edit_with("true", {}, nowhere);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: creating a directory like " + nowhere +
                       "/contentctl-edit-XXXXXX: No such file or directory\n");
  r = edit_with("true", {"-o", "json"}, nowhere);
  e = local_error(r);
  EXPECT_EQ(e["reason"].string_value(), "WRITE_FAILED");
  EXPECT_EQ(metadata(e)["path"], nowhere + "/contentctl-edit-XXXXXX");

  // No editor at all.
  std::vector<std::string> argv = {
      ContentctlBinary(), "--server", server_->address(),
      "--token",          kEditor,    "edit",
      "deepseek-brokers", "-o",       "json"};
  r = RunCommand(argv, "", {"CONTENT_EDITOR=", "VISUAL=", "EDITOR="});
  EXPECT_EQ(r.exit_code, 1);
  e = local_error(r);
  EXPECT_EQ(e["reason"].string_value(), "NO_EDITOR");
  EXPECT_THAT(e["message"].string_value(), StartsWith("no editor: "));
  EXPECT_TRUE(metadata(e).empty());

  // The server's refusals keep their codes.
  r = edit_with(
      "sed -i 's/^date: .*/date: 2025-01-01/; s/^title: .*/title: "
      "\"\"/'",
      {"-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseJson<google::protobuf::Struct>(Lines(r.err).back()).fields();
  EXPECT_EQ(e["code"].string_value(), "INVALID_ARGUMENT") << r.err;
  fs::remove_all(tmp_);
}

// A change made while the editor was open is not overwritten: the edit is
// refused, kept, and apply of the kept file writes it over the change.
TEST_F(CliEditTest, AChangeMadeMeanwhileIsNotOverwritten) {
  ASSERT_TRUE(ApplySampleTwice());
  const std::string theirs =
      Write("theirs.md", EditedSample(ReadFile(Sample()))
                             .replace(0, 4, "---\nid: deepseek-brokers\n"));
  WriteFile(theirs,
            absl::StrReplaceAll(ReadFile(theirs), {{kNewTitle, "Theirs"}}));
  CommandResult r = Edit(
      absl::StrCat("sed -i 's/^title: .*/title: \"Mine\"/' \"$1\"\n",
                   ContentctlBinary(), " apply -f ", theirs, " >/dev/null\n"),
      {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err,
              HasSubstr("FAILED_PRECONDITION: articles/deepseek-brokers "
                        "changed while it was being edited (from revision 2 "
                        "to 3)"));
  EXPECT_EQ(Head("deepseek-brokers"), "Theirs");
  ASSERT_EQ(Left().size(), 1u);
  const std::string kept = Left()[0];
  EXPECT_THAT(r.err, HasSubstr("your edit is kept in " + kept +
                               ": `contentctl diff deepseek-brokers 2` shows "
                               "the change made meanwhile"));
  EXPECT_THAT(CtlOk({"apply", "-f", kept}),
              StartsWith("articles/deepseek-brokers updated (revision 4)"));
  EXPECT_EQ(Head("deepseek-brokers"), "Mine");
}

// An article deleted while the editor was open is not brought back by the
// edit; the error says so, and the hint, followed, writes the edit. (It
// said "fix it, then apply -f FILE --expected-revision 2", which fails at
// the tombstone whatever is fixed.)
TEST_F(CliEditTest, AnArticleDeletedMeanwhileSaysToUndeleteFirst) {
  ASSERT_TRUE(ApplySampleTwice());
  const std::string script =
      absl::StrCat(ContentctlBinary(), " delete deepseek-brokers >/dev/null\n",
                   "sed -i 's/^title: .*/title: \"Mine\"/' \"$1\"\n");
  CommandResult r = Edit(script, {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("Error: NOT_FOUND: articles/deepseek-brokers "
                               "was deleted while it was being edited "
                               "(revision 3)\n"));
  ASSERT_EQ(Left().size(), 1u);
  const std::string kept = Left()[0];
  EXPECT_THAT(r.err, HasSubstr("your edit is kept in " + kept +
                               ": `contentctl undelete deepseek-brokers` "
                               "brings the article back, then `contentctl "
                               "apply -f " +
                               kept + "` writes your edit\n"));
  EXPECT_THAT(r.err, Not(HasSubstr("--expected-revision")));
  // Under -o json the object carries the server's reason and the tombstone.
  CtlOk({"undelete", "deepseek-brokers"});
  fs::remove_all(tmp_);
  r = Edit(script, {"deepseek-brokers", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  auto e = ParseJson<google::protobuf::Struct>(Lines(r.err).back()).fields();
  EXPECT_EQ(e["reason"].string_value(), "ARTICLE_DELETED") << r.err;
  EXPECT_EQ(MetadataValue(e, "revision"), "5");
  ASSERT_EQ(Left().size(), 1u);
  EXPECT_EQ(e["file"].string_value(), Left()[0]);
  EXPECT_THAT(e["hint"].string_value(), HasSubstr("`contentctl undelete "));

  // What the hint says works.
  CtlOk({"undelete", "deepseek-brokers"});
  EXPECT_THAT(CtlOk({"apply", "-f", Left()[0]}),
              StartsWith("articles/deepseek-brokers updated (revision 7)"));
  EXPECT_EQ(Head("deepseek-brokers"), "Mine");
}

// A write that failed for want of a server keeps the file and says to
// apply it on the same condition, with nothing to fix in it (the hint said
// "fix it, then ...", as of a refused edit).
TEST_F(CliEditTest, AWriteWithNoServerToTakeItSaysToApplyTheFileAgain) {
  ASSERT_TRUE(ApplySampleTwice());
  CommandResult r =
      Edit(absl::StrCat("kill -9 ", server_->pid(),
                        "\nsed -i 's/^title: .*/title: \"Mine\"/' \"$1\"\n"),
           {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("Error: UNAVAILABLE: "));
  ASSERT_EQ(Left().size(), 1u);
  const std::string kept = Left()[0];
  EXPECT_THAT(r.err, HasSubstr("\nyour edit is kept in " + kept +
                               ": `contentctl apply -f " + kept +
                               " --expected-revision 2` writes it\n"));
  EXPECT_THAT(r.err, Not(HasSubstr("fix it")));
  server_->Stop(SIGKILL);
  ASSERT_TRUE(server_->Restart());
  EXPECT_THAT(CtlOk({"apply", "-f", kept, "--expected-revision", "2"}),
              StartsWith("articles/deepseek-brokers updated (revision 3)"));
  EXPECT_EQ(Head("deepseek-brokers"), "Mine");
}

// Dates written without a zone, applied with --default-zone, keep their
// instants through an edit that leaves them alone: the file edit writes
// shows them as they were written, in that zone, and what was saved is
// read back in it. (It was read in UTC: editing the title moved the date,
// the publish and the expiry time by 8 hours.)
TEST_F(CliEditTest, ZonelessDatesKeepTheZoneTheyWereAppliedIn) {
  const std::string path =
      Write("zoned.md",
            "---\ntitle: \"时区\"\ndate: 2026-12-06 09:00\n"
            "publishDate: 2030-01-01 08:00:00\nexpiryDate: 2030-02-01\n"
            "---\n\n正文。\n");
  CtlOk({"apply", "-f", path, "--default-zone", "Asia/Shanghai"});
  const v1::Article before = GetJsonArticle("zoned");
  ASSERT_EQ(before.style().date_zone(), "Asia/Shanghai");

  CommandResult r =
      Edit("sed -i 's/^title: .*/title: \"时区二\"/' \"$1\"\n", {"zoned"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/zoned edited (revision 2)\n");
  const v1::Article after = GetJsonArticle("zoned");
  EXPECT_EQ(after.title(), "时区二");
  EXPECT_EQ(after.date().seconds(), before.date().seconds());
  EXPECT_EQ(after.publish_time().seconds(), before.publish_time().seconds());
  EXPECT_EQ(after.expiry_time().seconds(), before.expiry_time().seconds());
  EXPECT_EQ(after.style().date_zone(), "Asia/Shanghai");
  // The diff is the title alone.
  const std::string diff = CtlOk({"diff", "zoned", "--color", "never"});
  EXPECT_EQ(diff,
            "articles/zoned: revision 1 -> 2\ntitle:\n- \"时区\"\n+ "
            "\"时区二\"\n");
}

// A malformed ID is said as get and the other verbs say it, led by the
// argument (it said `name: ...`), its violation naming the flag for -o json;
// the editor never opens.
TEST_F(CliEditTest, AMalformedIdIsSaidAsGetSaysIt) {
  CommandResult r = Edit("exit 0\n", {"bad!id"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("Error: INVALID_ARGUMENT: ID: name: "));
  EXPECT_EQ(r.err, Ctl({"get", "bad!id"}).err);
  r = Edit("exit 0\n", {"bad!id", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"message\":\"ID: name: "));
  EXPECT_THAT(r.err, HasSubstr("\"flag\":\"ID\""));
  EXPECT_THAT(Left(), ::testing::IsEmpty());
}

// An id that reads as a file name, not found, gets get's word on how apply
// names the article of a file (edit said only `not found`).
TEST_F(CliEditTest, AFileNameForAnIdIsSaidAsGetSaysIt) {
  ASSERT_TRUE(ApplySampleTwice());
  CommandResult r = Edit("exit 0\n", {"deepseek-brokers.md"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: NOT_FOUND: articles/deepseek-brokers.md not found; "
            "\"deepseek-brokers.md\" reads as a file name: `apply` names an "
            "article after its file without \".md\" "
            "(articles/deepseek-brokers) unless its front matter gives an "
            "id\n");
  r = Edit("exit 0\n", {"deepseek-brokers.md", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("reads as a file name"));
  EXPECT_THAT(r.err, HasSubstr("\"reason\":\"ARTICLE_NOT_FOUND\""));
  EXPECT_THAT(Left(), ::testing::IsEmpty());
}

// Bad front matter, a field the server refuses, a renamed article, a
// deleted or missing one: the error names what is wrong, nothing is
// written, and an edit that was made is kept with how to apply it.
TEST_F(CliEditTest, RefusedEditsSayWhyAndKeepTheFile) {
  ASSERT_TRUE(ApplySampleTwice());
  CommandResult r = Edit("sed -i 's/^date: .*/date: notadate/' \"$1\"\n",
                         {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: front matter key \"date\""));
  ASSERT_EQ(Left().size(), 1u);
  EXPECT_THAT(r.err, HasSubstr("your edit is kept in " + Left()[0] +
                               ": fix it, then `contentctl apply -f " +
                               Left()[0] + " --expected-revision 2`"));
  fs::remove_all(tmp_);

  // The server's rule, named by the key the document has.
  r = Edit(
      "sed -i 's/^date: .*/&\\npublishDate: 2025-03-01\\nexpiryDate: "
      "2025-02-01/' \"$1\"\n",
      {"deepseek-brokers", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"code\":\"INVALID_ARGUMENT\""));
  EXPECT_THAT(r.err, HasSubstr("expiryDate: must be after publishDate"));
  ASSERT_EQ(Left().size(), 1u);
  EXPECT_THAT(r.err, HasSubstr("\"file\":\"" + Left()[0] + "\""));
  EXPECT_THAT(r.err, HasSubstr("\"hint\":\"your edit is kept in"));
  fs::remove_all(tmp_);

  // Renamed in the editor: not written to either article.
  const std::string other = Write("other.md", "---\ntitle: \"O\"\n---\n\nx\n");
  CtlOk({"apply", "-f", other});
  r = Edit(
      "sed -i 's@^# articles/deepseek-brokers revision@# articles/other "
      "revision@; s/^title: .*/title: \"R\"/' \"$1\"\n",
      {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              HasSubstr("the edit names articles/other; edit writes only the "
                        "article it opened, articles/deepseek-brokers"));
  EXPECT_EQ(Head("other"), "O");
  EXPECT_EQ(GetJsonArticle("deepseek-brokers").revision(), 2);

  CtlOk({"delete", "other"});
  r = Edit("exit 0\n", {"other"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("articles/other is deleted (revision 2); "
                               "`contentctl undelete other` brings it back"));
  r = Edit("exit 0\n", {"missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  // A reader may not read every state, nor write.
  r = Edit("exit 0\n", {"deepseek-brokers"}, kReader);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
}

// A key close to a field that the editor's user typed (`tag:` for `tags:`)
// is kept as a param, as apply keeps it, and warned of as apply warns.
TEST_F(CliEditTest, WarnsOfAFrontMatterKeyCloseToAField) {
  ASSERT_TRUE(ApplySampleTwice());
  const std::string add_tag =
      "sed -i 's/^title: .*/title: \"Tagged\"\\ntag: \"x\"/' \"$1\"\n";
  CommandResult r = Edit(add_tag, {"deepseek-brokers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/deepseek-brokers edited (revision 3)\n");
  EXPECT_THAT(r.err, ::testing::EndsWith(
                         ".md: warning: front matter key 'tag' is not a "
                         "field; kept as a param (did you mean 'tags'?)\n"))
      << r.err;
  const v1::Article head = GetJsonArticle("deepseek-brokers");
  EXPECT_EQ(head.params().fields().at("tag").string_value(), "x");
  EXPECT_THAT(head.tags(), ElementsAre("ai", "finance", "brokers", "llm"));
  r = Edit("sed -i 's/^title: .*/title: \"Tagged 2\"/' \"$1\"\n",
           {"deepseek-brokers", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto w = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(w.at("reason").string_value(), "KEY_NOT_A_FIELD");
  EXPECT_EQ(w.at("key").string_value(), "tag");
  EXPECT_EQ(w.at("field").string_value(), "tags");
}

// edit --strict refuses what apply --strict refuses, a key close to a
// field (`tag:`): nothing is written, the file is kept and the error says
// how to write it, as for any refused edit. Without such a key it edits.
TEST_F(CliEditTest, StrictRefusesAFrontMatterKeyCloseToAField) {
  ASSERT_TRUE(ApplySampleTwice());
  const std::string add_tag =
      "sed -i 's/^title: .*/title: \"Tagged\"\\ntag: \"x\"/' \"$1\"\n";
  CommandResult r = Edit(add_tag, {"deepseek-brokers", "--strict"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(Left().size(), 1u) << r.err;
  const std::string kept = Left()[0];
  EXPECT_EQ(r.err,
            "Error: INVALID_ARGUMENT: front matter key 'tag' is not a field "
            "(did you mean 'tags'?); --strict refuses it: correct the key, or "
            "put it under `params:` to keep it as a param\nyour edit is kept "
            "in " +
                kept + ": fix it, then `contentctl apply -f " + kept +
                " --expected-revision 2` writes it\n");
  EXPECT_EQ(GetJsonArticle("deepseek-brokers").revision(), 2);
  EXPECT_THAT(ReadFile(kept), HasSubstr("\ntag: \"x\"\n"));
  fs::remove_all(tmp_);

  r = Edit(add_tag, {"deepseek-brokers", "--strict", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  const auto e = ParseJson<google::protobuf::Struct>(r.err).fields();
  EXPECT_EQ(e.at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_THAT(e.at("message").string_value(),
              HasSubstr("front matter key 'tag' is not a field"));
  ASSERT_EQ(Left().size(), 1u);
  EXPECT_EQ(e.at("file").string_value(), Left()[0]);
  EXPECT_THAT(e.at("hint").string_value(), StartsWith("your edit is kept in"));
  fs::remove_all(tmp_);

  r = Edit("sed -i 's/^title: .*/title: \"Strict\"/' \"$1\"\n",
           {"deepseek-brokers", "--strict"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "articles/deepseek-brokers edited (revision 3)\n");
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(Left(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace content
