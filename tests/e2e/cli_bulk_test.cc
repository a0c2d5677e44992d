// End-to-end: contentctl's bulk verbs (streaming apply, export --dir, watch)
// against real contentd processes.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "content/v1/content_service.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/ctl.h"
#include "tests/support/harness.h"

namespace content {
namespace {

namespace fs = std::filesystem;
using ::content::testing::BackgroundCommand;
using ::content::testing::CommandResult;
using ::content::testing::ContentctlBinary;
using ::content::testing::Ctl;
using ::content::testing::Lines;
using ::content::testing::ParseJson;
using ::content::testing::ReadFile;
using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::SourceDir;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::HasSubstr;

// Every regular file under `dir`, relative path -> contents.
std::map<std::string, std::string> Tree(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file())
      files[fs::relative(e.path(), dir).string()] = ReadFile(e.path().string());
  }
  return files;
}

// A generated corpus: `n` articles, Chinese and English, varied front matter.
void WriteCorpus(const std::string& dir, int n) {
  fs::create_directories(dir + "/sub");
  for (int i = 0; i < n; ++i) {
    std::string doc = "---\ntitle: \"";
    doc += (i % 2 ? "第" + std::to_string(i) + "篇：本地化部署"
                  : "Story " + std::to_string(i));
    doc += "\"\ndate: \"2025-0" + std::to_string(1 + i % 9) + "-1" +
           std::to_string(i % 10) + " 08:00:00\"\n";
    doc += "tags:\n  - \"t" + std::to_string(i % 7) + "\"\n  - \"all\"\n";
    doc += i % 3 ? "lang: \"zh-CN\"\n" : "lang:\n  - \"en\"\n";
    doc += "comments: " + std::string(i % 2 ? "true" : "false") + "\n";
    if (i % 5 == 0) doc += "author: \"A. Writer\"\n";
    doc += "---\n\n正文 body " + std::to_string(i) + "\n";
    WriteFile(
        dir + (i % 4 == 0 ? "/sub/" : "/") + "a" + std::to_string(i) + ".md",
        doc);
  }
}

TEST(CliBulkTest, ExportApplyExportRoundTripIsIdentical) {
  TempDir dir;
  auto first = ServerProcess::Start(dir.path() + "/one");
  auto second = ServerProcess::Start(dir.path() + "/two");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);

  // The samples plus a generated corpus of 450 (more than two batches).
  const std::string corpus = dir.path() + "/corpus";
  WriteCorpus(corpus, 450);
  for (const auto& e : fs::directory_iterator(SourceDir() + "/samples"))
    fs::copy_file(e.path(), corpus + "/" + e.path().filename().string());

  CommandResult r = Ctl(*first, {"apply", "-f", corpus});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("applied 456 files: 456 created, 0 updated, "
                               "0 unchanged, 0 failed"));

  const std::string out1 = dir.path() + "/out1", out2 = dir.path() + "/out2";
  r = Ctl(*first, {"export", "--dir", out1});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("exported 456 articles"));
  // The samples come back byte for byte.
  for (const auto& e : fs::directory_iterator(SourceDir() + "/samples")) {
    EXPECT_EQ(ReadFile(out1 + "/" + e.path().filename().string()),
              ReadFile(e.path().string()))
        << e.path();
  }

  r = Ctl(*second, {"apply", "-f", out1});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl(*second, {"export", "--dir", out2});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Tree(out1), Tree(out2));

  // A second apply changes nothing, and says so.
  r = Ctl(*second, {"apply", "-f", out1});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("456 unchanged, 0 failed"));
}

TEST(CliBulkTest, DryRunWritesNothingAndBadFilesFailAlone) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string corpus = dir.path() + "/corpus";
  WriteCorpus(corpus, 30);
  WriteFile(corpus + "/broken.md", "---\ntitle: [unclosed\n---\nbody\n");
  WriteFile(corpus + "/notitle.md", "---\ntags: [\"x\"]\n---\nbody\n");
  // Over max_article_bytes (1 MiB) mostly in params: the error names the
  // article as a whole rather than its body.
  WriteFile(corpus + "/bigparams.md", "---\ntitle: Big\nparams:\n  blob: \"" +
                                          std::string(1200 * 1024, 'x') +
                                          "\"\n---\nbody\n");

  CommandResult r = Ctl(*server, {"apply", "-f", corpus, "--dry-run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out,
              HasSubstr("dry run, nothing written: applied 30 of 33 files: "
                        "30 created, 0 updated, 0 unchanged, 3 failed"));
  EXPECT_THAT(r.err, HasSubstr("broken.md: error: INVALID_ARGUMENT"));
  // The field as the file has it, not by its place in a request batch.
  EXPECT_THAT(r.err, HasSubstr("notitle.md: error: INVALID_ARGUMENT: title: "
                               "is required\n"));
  EXPECT_THAT(r.err, HasSubstr("bigparams.md: error: INVALID_ARGUMENT: "
                               "article is "));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("articles[")));
  r = Ctl(*server, {"get", "a1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));

  r = Ctl(*server, {"apply", "-f", corpus});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("30 created, 0 updated, 0 unchanged, 3 failed"));
  EXPECT_EQ(Ctl(*server, {"get", "a1"}).exit_code, 0);

  // Dry run of a change reports it but keeps revision 1.
  WriteFile(corpus + "/a1.md", "---\ntitle: \"changed\"\n---\nnew\n");
  r = Ctl(*server, {"apply", "-f", corpus + "/a1.md", "--dry-run"});
  EXPECT_THAT(r.out, HasSubstr("articles/a1 updated (revision 2) (dry run)"));
  r = Ctl(*server, {"get", "a1", "-o", "json"});
  EXPECT_THAT(r.out, HasSubstr("\"revision\": \"1\""));
}

// A symlink to a file the directory holds under its own name was applied
// instead of it when its name sorted first (`a-link.md -> post.md`:
// articles/a-link written, post.md left out without a word), and left out
// without a word otherwise. The file is applied under its own name; each
// such link is left out with a warning. A link to a file outside is read.
TEST(CliBulkTest, ASymlinkToAFileInTheTreeIsLeftOutSayingSo) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/site";
  fs::create_directories(site);
  WriteFile(site + "/post.md", "---\ntitle: Post\n---\nbody\n");
  WriteFile(dir.path() + "/outside.md", "---\ntitle: Outside\n---\nbody\n");
  fs::create_symlink("post.md", site + "/a-link.md");
  fs::create_symlink("post.md", site + "/z-link.md");
  fs::create_symlink(dir.path() + "/outside.md", site + "/there.md");
  CommandResult r = Ctl(*server, {"apply", "-f", site});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/post created (revision 1)"));
  EXPECT_THAT(r.out, HasSubstr("articles/there created (revision 1)"));
  EXPECT_THAT(r.out, HasSubstr("applied 2 files: 2 created"));
  for (const char* link : {"a-link.md", "z-link.md"}) {
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat(
                           site, "/", link, ": warning: a symlink to ", site,
                           "/post.md, which is applied under its own name; "
                           "left out\n")));
  }
  EXPECT_EQ(Ctl(*server, {"get", "a-link"}).exit_code, 1);
  // -o json: the warning is an object with its reason.
  r = Ctl(*server, {"apply", "-f", site, "-o", "json"});
  EXPECT_THAT(r.err, HasSubstr("\"reason\":\"DUPLICATE_FILE\""));
}

// Ctrl-C of a long apply ended contentctl at once with nothing said of what
// it had written. The first Ctrl-C now stops the sending: the answers to
// what went are reported, the summary counts what was not sent, and the
// exit code is 130. The apply is held reading a pipe (given between two
// directories) while it is interrupted, so no timing decides the counts:
// the 200 files of the first batch and the 50 of the second read before
// the pipe went; the pipe's document and what follows did not.
TEST(CliBulkTest, CtrlCStopsSendingAndSaysWhatWasApplied) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string before = dir.path() + "/before";
  const std::string after = dir.path() + "/after";
  fs::create_directories(before);
  fs::create_directories(after);
  // More than a batch (200) before the pipe, so one has gone when it blocks.
  for (int i = 0; i < 250; ++i) {
    WriteFile(absl::StrFormat("%s/b%03d.md", before, i),
              absl::StrFormat("---\ntitle: B %d\n---\nbody\n", i));
  }
  for (int i = 0; i < 100; ++i) {
    WriteFile(absl::StrFormat("%s/c%03d.md", after, i),
              absl::StrFormat("---\ntitle: C %d\n---\nbody\n", i));
  }
  const std::string pipe = dir.path() + "/pipe.md";
  ASSERT_EQ(mkfifo(pipe.c_str(), 0600), 0);
  std::unique_ptr<BackgroundCommand> ctl = BackgroundCommand::Start(
      {ContentctlBinary(), "--server", server->address(), "apply", "-f", before,
       "-f", pipe, "-f", after},
      dir.path() + "/out", dir.path() + "/err");
  ASSERT_NE(ctl, nullptr);
  // The pipe opens for writing once contentctl opens it to read.
  int fd = -1;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (fd < 0 && std::chrono::steady_clock::now() < deadline) {
    fd = open(pipe.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(fd, 0) << "contentctl never opened the pipe";
  ASSERT_EQ(kill(ctl->pid(), SIGINT), 0);
  const std::string doc = "---\ntitle: Piped\n---\nbody\n";
  ASSERT_EQ(write(fd, doc.data(), doc.size()),
            static_cast<ssize_t>(doc.size()));
  close(fd);
  CommandResult r = ctl->Wait(std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  // The piped document was read after the Ctrl-C: not sent either.
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 251u) << r.out;
  EXPECT_EQ(lines[249], "articles/b249 created (revision 1)");
  EXPECT_EQ(lines[250],
            "interrupted: applied 250 of 351 files: 250 created, 0 updated, "
            "0 unchanged, 0 failed, 101 not sent");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(Ctl(*server, {"get", "b249"}).exit_code, 0);
  for (const char* id : {"pipe", "c000"}) {
    r = Ctl(*server, {"get", id});
    EXPECT_EQ(r.exit_code, 1) << id;
    EXPECT_THAT(r.err, HasSubstr("NOT_FOUND")) << id;
  }
  // What the summary said was not sent is what a second run creates.
  r = Ctl(*server, {"apply", "-f", before, "-f", after});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("applied 350 files: 100 created, 0 updated, "
                               "250 unchanged, 0 failed"));
}

// Under a directory, dot names are left out (a site's .github/*.md became
// articles), a broken symlink fails by name (it was skipped in silence),
// and a FIFO is left out with a warning (reading it would block).
TEST(CliBulkTest, ApplyOfADirectoryLeavesOutDotNamesAndSaysWhatItSkips) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/site";
  const std::string doc = "---\ntitle: T\n---\nbody\n";
  fs::create_directories(site + "/.github");
  WriteFile(site + "/a.md", doc);
  WriteFile(site + "/.github/h.md", doc);
  WriteFile(site + "/.draft.md", doc);
  fs::create_symlink(site + "/nowhere.md", site + "/broken.md");
  ASSERT_EQ(mkfifo((site + "/pipe.md").c_str(), 0600), 0);
  CommandResult r = Ctl(*server, {"--timeout", "10s", "apply", "-f", site});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("applied 1 of 2 files: 1 created, 0 updated, "
                               "0 unchanged, 1 failed"));
  // A local failure: no gRPC code (it said NOT_FOUND, as if the server had).
  EXPECT_THAT(r.err, HasSubstr("broken.md: error: reading " + site +
                               "/broken.md: No such file or directory\n"));
  EXPECT_THAT(r.err,
              HasSubstr("pipe.md: warning: not a regular file, left out"));
  EXPECT_EQ(Ctl(*server, {"get", "a"}).exit_code, 0);
  EXPECT_NE(Ctl(*server, {"get", "h"}).exit_code, 0);
  EXPECT_NE(Ctl(*server, {"get", ".draft"}).exit_code, 0);
  // Named on the command line, a dot file is applied like any other.
  r = Ctl(*server, {"apply", "-f", site + "/.github/h.md"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliBulkTest, ApplyOfADirectoryReadsEveryMarkdownExtension) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  // A Jekyll or Hugo site: posts as .markdown, .mdown, .MD beside .md
  // ones were left out without a word, as were their articles.
  const std::string site = dir.path() + "/site";
  fs::create_directories(site + "/_posts");
  fs::create_directories(site + "/post/bundle");
  const auto doc = [](const std::string& title) {
    return "---\ntitle: \"" + title + "\"\n---\nbody\n";
  };
  WriteFile(site + "/a.md", doc("A"));
  WriteFile(site + "/_posts/2024-01-02-b.markdown", doc("B"));
  WriteFile(site + "/_posts/c.mdown", doc("C"));
  WriteFile(site + "/README.MD", doc("R"));
  WriteFile(site + "/d.Markdown", doc("D"));
  WriteFile(site + "/e.mkd", doc("E"));
  WriteFile(site + "/notes.txt", "not an article\n");
  WriteFile(site + "/post/bundle/cover.png", "\x89PNG\r\n");
  // A link back up the tree is not followed (no loop, no hang).
  fs::create_directory_symlink("..", site + "/post/up");
  CommandResult r = Ctl(*server, {"--timeout", "20s", "apply", "-f", site});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("applied 6 files: 6 created, 0 updated, "
                               "0 unchanged, 0 failed"));
  for (const char* id : {"a", "2024-01-02-b", "c", "README", "d", "e"}) {
    EXPECT_EQ(Ctl(*server, {"get", id}).exit_code, 0) << id;
  }
  r = Ctl(*server, {"apply", "-f", site});
  EXPECT_THAT(r.out, HasSubstr("applied 6 files: 0 created, 0 updated, "
                               "6 unchanged, 0 failed"));
  // delete -f names the same files.
  r = Ctl(*server, {"delete", "-f", site});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/2024-01-02-b deleted"));
}

// MDX (JSX in Markdown, Docusaurus' and Next.js' form) is not read: a tree
// of .md and .mdx files was applied without a word about the .mdx ones.
// A Jekyll post's date, `2024-01-02 03:04:05 +0800` (Jekyll writes every
// new post so), was refused as no date: the import of a Jekyll site failed
// on every post. It is the instant with that offset, exported as written.
TEST(CliBulkTest, AJekyllPostsDateWithItsOffsetIsAppliedAndExportedAsIs) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/site";
  fs::create_directories(site + "/_posts");
  const std::string post =
      "---\n"
      "title: \"Hello\"\n"
      "date: \"2024-01-02 03:04:05 +0800\"\n"
      "tags: \"jekyll\"\n"
      "---\n"
      "body\n";
  WriteFile(site + "/_posts/2024-01-02-hello.markdown", post);
  CommandResult r = Ctl(*server, {"apply", "-f", site});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl(*server, {"get", "2024-01-02-hello", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"date\": \"2024-01-01T19:04:05Z\""));
  r = Ctl(*server, {"export", "--dir", dir.path() + "/out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.path() + "/out/2024-01-02-hello.md"), post);
  r = Ctl(*server, {"apply", "-f", site});
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 1 unchanged"));
}

// Jekyll dates a post by its file name, `_posts/2024-01-02-hello.md`,
// when the front matter has none (most posts): such a site's posts were
// stored undated, found by no date query.
TEST(CliBulkTest, AJekyllPostWithoutADateIsDatedByItsFileName) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/site";
  fs::create_directories(site + "/_posts/2024");
  const std::string doc = "---\nlayout: post\ntitle: \"T\"\n---\nbody\n";
  WriteFile(site + "/_posts/2024/2024-01-02-hello.md", doc);
  WriteFile(site + "/_posts/2024-01-05-dated.md",
            "---\ntitle: \"D\"\ndate: \"2023-06-01\"\n---\nbody\n");
  WriteFile(site + "/_posts/2024-02-30-impossible.md", doc);
  WriteFile(site + "/2024-01-03-not-a-post.md", doc);
  CommandResult r = Ctl(*server, {"apply", "-f", site});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto date_of = [&](const std::string& id) {
    CommandResult got = Ctl(*server, {"get", id, "-o", "json"});
    EXPECT_EQ(got.exit_code, 0) << got.err;
    const size_t at = got.out.find("\"date\": \"");
    return at == std::string::npos ? std::string("none")
                                   : got.out.substr(at + 9, 20);
  };
  EXPECT_EQ(date_of("2024-01-02-hello"), "2024-01-02T00:00:00Z");
  EXPECT_EQ(date_of("2024-01-05-dated"), "2023-06-01T00:00:00Z");  // its own
  EXPECT_EQ(date_of("2024-02-30-impossible"), "none");
  EXPECT_EQ(date_of("2024-01-03-not-a-post"), "none");  // not under _posts
  r = Ctl(*server, {"query", "--since", "2024-01-01", "--until", "2024-01-03",
                    "-o", "name"});
  EXPECT_EQ(r.out, "articles/2024-01-02-hello\n") << r.err;
  // The export writes the date; it and the site are one article.
  r = Ctl(*server, {"export", "--dir", dir.path() + "/out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.path() + "/out/2024-01-02-hello.md"),
            "---\nlayout: \"post\"\ntitle: \"T\"\ndate: \"2024-01-02\"\n---\n"
            "body\n");
  r = Ctl(*server, {"apply", "-f", dir.path() + "/out"});
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 4 unchanged")) << r.err;
  r = Ctl(*server, {"apply", "-f", site});
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 4 unchanged")) << r.err;
  // In the zone dates without one are read in (the one in front matter
  // too).
  r = Ctl(*server, {"apply", "-f", site, "--default-zone", "Asia/Shanghai"});
  EXPECT_THAT(r.out, HasSubstr("2 updated, 2 unchanged")) << r.err;
  EXPECT_EQ(date_of("2024-01-02-hello"), "2024-01-01T16:00:00Z");
}

// Jekyll keeps `_drafts/*` and `published: false` posts off the site; both
// went live to readers (a draft's state came from nowhere, `published` was
// a param).
TEST(CliBulkTest, AJekyllSitesDraftsAndUnpublishedPostsStayDrafts) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/site";
  fs::create_directories(site + "/_posts");
  fs::create_directories(site + "/_drafts");
  const auto doc = [](const std::string& extra) {
    return "---\ntitle: \"T\"\ntags: \"j\"\n" + extra + "---\nbody\n";
  };
  WriteFile(site + "/_posts/2024-01-02-live.md", doc(""));
  WriteFile(site + "/_posts/2024-01-03-held.md", doc("published: false\n"));
  WriteFile(site + "/_drafts/wip.md", doc(""));
  WriteFile(site + "/_drafts/ready.md", doc("draft: false\n"));  // it says
  CommandResult r = Ctl(*server, {"apply", "-f", site});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl(*server, {"query", "--tag", "j", "-o", "name"});
  EXPECT_EQ(r.out, "articles/2024-01-02-live\narticles/ready\n") << r.err;
  EXPECT_NE(Ctl(*server, {"get", "wip"}).exit_code, 0);
  EXPECT_NE(Ctl(*server, {"get", "2024-01-03-held"}).exit_code, 0);
  // Exported as read; the export and the site are one content.
  r = Ctl(*server, {"export", "--dir", dir.path() + "/out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.path() + "/out/2024-01-03-held.md"),
            "---\ntitle: \"T\"\ntags: \"j\"\npublished: false\n"
            "date: \"2024-01-03\"\n---\nbody\n");
  EXPECT_EQ(ReadFile(dir.path() + "/out/wip.md"), doc("draft: true\n"));
  r = Ctl(*server, {"apply", "-f", dir.path() + "/out"});
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 4 unchanged")) << r.err;
  r = Ctl(*server, {"apply", "-f", site});
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 4 unchanged")) << r.err;
}

// Jekyll reads `tags: ruby rails` as two tags; it was the one tag `ruby
// rails`. Outside a Jekyll tree (Hugo's) a string is one tag, as before.
TEST(CliBulkTest, AJekyllPostsStringOfTagsIsOneTagPerWord) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/site";
  fs::create_directories(site + "/_posts");
  const std::string doc =
      "---\ntitle: \"T\"\ntags: ruby rails  ruby\ncategories: dev "
      "news\n---\nbody\n";
  WriteFile(site + "/_posts/2024-01-02-post.md", doc);
  WriteFile(site + "/hugo.md", doc);
  WriteFile(site + "/_posts/2024-01-03-list.md",
            "---\ntitle: \"T\"\ntags: [\"ruby rails\"]\n---\nbody\n");
  CommandResult r = Ctl(*server, {"apply", "-f", site});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl(*server, {"query", "--tag", "rails", "-o", "name"});
  EXPECT_EQ(r.out, "articles/2024-01-02-post\n") << r.err;
  r = Ctl(*server, {"query", "--tag", "ruby rails", "-o", "name"});
  EXPECT_EQ(r.out, "articles/2024-01-03-list\n") << r.err;
  r = Ctl(*server, {"query", "--tag", "ruby rails  ruby", "-o", "name"});
  EXPECT_EQ(r.out, "articles/hugo\n") << r.err;
  r = Ctl(*server, {"query", "--category", "news", "-o", "name"});
  EXPECT_EQ(r.out, "articles/2024-01-02-post\n") << r.err;
  r = Ctl(*server, {"apply", "-f", site});
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 3 unchanged")) << r.err;
  r = Ctl(*server, {"export", "--dir", dir.path() + "/out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl(*server, {"apply", "-f", dir.path() + "/out"});
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 3 unchanged")) << r.err;
}

TEST(CliBulkTest, ApplyOfADirectorySaysItsMdxFilesAreLeftOut) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/docs";
  fs::create_directories(site + "/guides");
  fs::create_directories(dir.path() + "/one");
  const std::string doc = "---\ntitle: T\n---\nbody\n";
  WriteFile(site + "/intro.md", doc);
  WriteFile(site + "/guides/a.mdx", doc + "<Tabs />\n");
  WriteFile(site + "/guides/b.MDX", doc);
  CommandResult r = Ctl(*server, {"apply", "-f", site});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("applied 1 file: 1 created"));
  EXPECT_EQ(r.err, site + ": warning: 2 MDX files (*.mdx, the first " + site +
                       "/guides/a.mdx), left out: MDX mixes JSX components "
                       "into Markdown, which would be stored and served as "
                       "text; convert to .md to apply\n");
  // One alone is named; a directory of nothing else has no Markdown file.
  WriteFile(dir.path() + "/one/page.mdx", doc);
  r = Ctl(*server, {"apply", "-f", dir.path() + "/one", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"file\":\"" + dir.path() + "/one/page.mdx\""));
  EXPECT_THAT(r.err, HasSubstr("\"message\":\"an MDX file, left out"));
  EXPECT_THAT(r.err, HasSubstr("MDX_NOT_READ"));
  EXPECT_THAT(r.err + r.out, HasSubstr("no Markdown files (*.md"));
}

TEST(CliBulkTest, ApplySaysWhatAHugoSiteNamesThatItDoesNotRead) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/site";
  fs::create_directories(site + "/post/a");
  fs::create_directories(site + "/post/b");
  const std::string doc = "---\ntitle: T\n---\nbody\n";
  // Hugo's translations by file name: without `lang:` these were stored
  // with no language and in no group, without a word.
  WriteFile(site + "/foo.en.md", doc);
  WriteFile(site + "/foo.zh-cn.md", doc);
  WriteFile(site + "/bar.en.md", "---\ntitle: T\nlang: en\n---\nbody\n");
  WriteFile(site + "/notes.v2.md", doc);  // no language: no warning
  // Page bundles: both are articles/index; the error said to "give each
  // article one file", which each does.
  WriteFile(site + "/post/a/index.md", doc);
  WriteFile(site + "/post/b/index.md", doc);
  CommandResult r = Ctl(*server, {"apply", "-f", site});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("applied 5 of 6 files: 5 created, 0 updated, "
                               "0 unchanged, 1 failed"));
  EXPECT_THAT(r.err, HasSubstr(site + "/foo.zh-cn.md: warning: the file name "
                                      "ends in \".zh-cn\", Hugo's language "
                                      "suffix, but the front matter has no "
                                      "lang (contentctl reads the language "
                                      "only from there): stored with no "
                                      "language and in no translation group; "
                                      "add `lang: zh-cn`\n"));
  EXPECT_THAT(r.err, HasSubstr(site + "/foo.en.md: warning: "));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("bar.en.md: warning")));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("notes.v2.md: warning")));
  EXPECT_THAT(r.err,
              HasSubstr(site +
                        "/post/b/index.md: error: ALREADY_EXISTS: "
                        "articles/index is also in " +
                        site +
                        "/post/a/index.md; the id comes from the file name, "
                        "so each page bundle's index.md needs its own `id:` "
                        "in its front matter\n"));
  // Under -o json, a warning object naming the language.
  r = Ctl(*server, {"apply", "-f", site + "/foo.en.md", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("\"lang\":\"en\""));
  EXPECT_THAT(r.err, HasSubstr("\"reason\":\"LANG_NOT_SET\""));
}

// A translation's file name names a language its front matter does not:
// `foo.fr.md` copied from `foo.en.md` with `lang: en` left as it was, or
// `foo.zh_cn.md` with `lang: zh-CN`. Each was stored, without a word, as
// an article alone, outside the group `foo` its file name put it in.
TEST(CliBulkTest, ApplyWarnsOfALanguageSuffixTheFrontMatterDoesNotName) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string site = dir.path() + "/site";
  fs::create_directories(site);
  auto doc = [](const std::string& more) {
    return "---\ntitle: T\n" + more + "---\nbody\n";
  };
  WriteFile(site + "/foo.en.md", doc("lang: en\n"));
  WriteFile(site + "/foo.fr.md", doc("lang: en\n"));
  WriteFile(site + "/foo.zh_cn.md", doc("lang: zh-CN\n"));
  // No warning: the suffix names a language (case aside), or a key groups.
  WriteFile(site + "/foo.en-gb.md", doc("lang: en-GB\n"));
  WriteFile(site + "/foo.de.md", doc("lang: en\ntranslations: [de]\n"));
  WriteFile(site + "/foo.es.md", doc("lang: en\ntranslationKey: foo\n"));
  CommandResult r = Ctl(*server, {"apply", "-f", site});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.err,
      HasSubstr(site + "/foo.fr.md: warning: the file name ends in \".fr\", "
                       "Hugo's language suffix, but the front matter has "
                       "lang: en ("));
  EXPECT_THAT(r.err, HasSubstr("): stored in en and not in translation group "
                               "\"foo\"; correct lang, or add "
                               "`translationKey: foo`\n"));
  EXPECT_THAT(r.err, HasSubstr(site + "/foo.zh_cn.md: warning: the file name "
                                      "ends in \".zh_cn\""));
  for (const char* quiet :
       {"foo.en.md", "foo.en-gb.md", "foo.de.md", "foo.es.md"}) {
    EXPECT_THAT(r.err, ::testing::Not(
                           HasSubstr(std::string("/") + quiet + ": warning")))
        << quiet;
  }
  // What the warning says: foo.fr is not among foo's translations.
  const std::string listed =
      CtlOk(*server, {"translations", "foo.en", "-o", "name"});
  EXPECT_EQ(listed,
            "articles/foo.de\narticles/foo.en\narticles/foo.en-gb\n"
            "articles/foo.es\n");
  r = Ctl(*server, {"apply", "-f", site + "/foo.fr.md", "-o", "json"});
  EXPECT_THAT(r.err, HasSubstr("\"reason\":\"LANG_NOT_SUFFIX\""));
  EXPECT_THAT(r.err, HasSubstr("\"frontMatterLang\":\"en\""));
}

// `n` articles big0.md, big1.md, ... in `dir`, each with a body of `bytes`
// bytes.
void WriteBigArticles(const std::string& dir, int n, size_t bytes) {
  fs::create_directories(dir);
  const std::string body(bytes, 'x');
  for (int i = 0; i < n; ++i) {
    WriteFile(
        dir + "/big" + std::to_string(i) + ".md",
        "---\ntitle: \"Big " + std::to_string(i) + "\"\n---\n" + body + "\n");
  }
}

TEST(CliBulkTest, ApplyOfManyLargeFilesStaysUnderTheMessageLimit) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  // 40 articles of 600 KB: each within max_article_bytes (1 MiB), together
  // 24 MB, more than contentd takes in one request (16 MiB).
  const std::string corpus = dir.path() + "/corpus";
  WriteBigArticles(corpus, 40, 600 << 10);

  CommandResult r = Ctl(*server, {"apply", "-f", corpus, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("40 created, 0 updated, 0 unchanged, 0 failed"));
  r = Ctl(*server, {"apply", "-f", corpus});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("40 created, 0 updated, 0 unchanged, 0 failed"));
  EXPECT_EQ(r.err, "");
  r = Ctl(*server, {"get", "big39", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // A file more than one request holds fails alone; the files after it
  // are applied (it used to end the stream for all of them).
  const std::string mixed = dir.path() + "/mixed";
  fs::create_directories(mixed);
  // Within the 16 MiB a file may hold (below), over what a request does.
  WriteFile(mixed + "/a-huge.md", "---\ntitle: \"Huge\"\n---\n" +
                                      std::string((16 << 20) - 64, 'h') + "\n");
  WriteFile(mixed + "/b-small.md", "---\ntitle: \"Small\"\n---\nSmall.\n");
  r = Ctl(*server, {"apply", "-f", mixed});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("1 created, 0 updated, 0 unchanged, 1 failed"));
  EXPECT_THAT(r.err,
              HasSubstr("a-huge.md: error: INVALID_ARGUMENT: article: "));
  EXPECT_THAT(r.err, HasSubstr("more than contentd takes in one request"));
  EXPECT_EQ(Ctl(*server, {"get", "b-small"}).exit_code, 0);
}

// apply read a file or standard input whole before the size check (1 GB
// on stdin took 2 GB of memory): a regular file over 16 MiB, the most
// contentd takes in one request, is refused by its size unread, a pipe once
// one byte past it is read; the error names the file and the limit. It is
// a local failure (FILE_TOO_LARGE, no gRPC code), as a file that cannot be
// read is: it said `INVALID_ARGUMENT: more than 16 MiB ...`, a code
// contentd gives.
TEST(CliBulkTest, ApplyRefusesAFileOverTheLimitUnread) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  constexpr size_t kLimit = size_t{16} << 20;
  const std::string kError =
      " more than 16 MiB (16777216 bytes), the most contentd takes in one "
      "request; an article may hold limits.max_article_bytes (1 MiB by "
      "default)\n";

  const std::string big = dir.path() + "/big.md";
  WriteFile(big, "");
  fs::resize_file(big, kLimit + 1);  // sparse
  CommandResult r = Ctl(*server, {"apply", "-f", big});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, big + ": error: " + big + " is 16777217 bytes," + kError);
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 0 unchanged, 1 failed"));
  r = Ctl(*server, {"apply", "-f", big, "--expected-revision", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(big + " is 16777217 bytes," + kError));
  r = Ctl(*server, {"apply", "-f", big, "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;  // the file's error, the summary
  const auto e = ParseJson<google::protobuf::Struct>(lines[0]).fields();
  EXPECT_EQ(e.at("code").string_value(), "");
  EXPECT_EQ(e.at("domain").string_value(), "contentctl");
  EXPECT_EQ(e.at("reason").string_value(), "FILE_TOO_LARGE");
  EXPECT_EQ(e.at("file").string_value(), big);
  const auto& metadata = e.at("metadata").struct_value().fields();
  EXPECT_EQ(metadata.at("path").string_value(), big);
  EXPECT_EQ(metadata.at("size_bytes").string_value(), "16777217");
  EXPECT_EQ(metadata.at("limit_bytes").string_value(), "16777216");

  // Standard input from a pipe: 64 MiB offered, the limit and a byte read.
  r = RunCommand({"/bin/sh", "-c",
                  "head -c 67108864 /dev/zero | \"$0\" --server \"$1\" apply "
                  "-f - --id big",
                  ContentctlBinary(), server->address()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "<stdin>: error: stdin holds" + kError);
  // Standard input from a file (the harness's stdin is one).
  r = RunCommand({ContentctlBinary(), "--server", server->address(), "apply",
                  "-f", "-", "--id", "big"},
                 std::string(kLimit + 1, 'x'));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "<stdin>: error: stdin is 16777217 bytes," + kError);

  // A file of exactly the limit is read, and fails on what it holds (an
  // article over one request's framing), not on its size.
  const std::string at = dir.path() + "/at.md";
  const std::string head = "---\ntitle: \"At\"\n---\n";
  WriteFile(at, head + std::string(kLimit - head.size(), 'a'));
  ASSERT_EQ(fs::file_size(at), kLimit);
  r = Ctl(*server, {"apply", "-f", at});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(at + ": error: INVALID_ARGUMENT: article: "));
  EXPECT_EQ(Ctl(*server, {"get", "big"}).exit_code, 1);
}

TEST(CliBulkTest, ExportOfManyLargeArticlesStaysUnderTheMessageLimit) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  // 100 articles of 700 KB: one export page of them is 70 MB, more than
  // the SDK takes in one message (64 MiB).
  const std::string corpus = dir.path() + "/corpus";
  WriteBigArticles(corpus, 100, 700 << 10);
  CommandResult r = Ctl(*server, {"apply", "-f", corpus});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const std::string out = dir.path() + "/out";
  r = Ctl(*server, {"export", "--dir", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("exported 100 articles"));
  EXPECT_EQ(Tree(out).size(), 100u);
  r = Ctl(*server, {"apply", "-f", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0 created, 0 updated, 100 unchanged"));
}

// An export cut short leaves no truncated file behind for a later apply
// to store: here the file size limit stops the write of a 6 KB article.
TEST(CliBulkTest, ExportCutShortLeavesNoTruncatedFile) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string corpus = dir.path() + "/corpus";
  fs::create_directories(corpus);
  WriteFile(corpus + "/long.md",
            "---\ntitle: \"Long\"\n---\n" + std::string(6000, 'x') + "\n");
  ASSERT_EQ(Ctl(*server, {"apply", "-f", corpus}).exit_code, 0);

  const std::string out = dir.path() + "/out";
  // 1 KiB file size limit; EFBIG instead of the SIGXFSZ that would kill it.
  CommandResult r =
      RunCommand({"/bin/sh", "-c",
                  "ulimit -f 1; trap '' XFSZ; exec \"$0\" --server \"$1\" "
                  "export --dir \"$2\"",
                  ContentctlBinary(), server->address(), out});
  EXPECT_EQ(r.exit_code, 1);
  // The OS's reason, and no gRPC code: the server is not to blame.
  EXPECT_EQ(r.err, "Error: writing " + out + "/long.md: File too large\n");
  // Nothing was written: no marker either (export incomplete: not said).
  EXPECT_THAT(Tree(out), ::testing::IsEmpty());
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("incomplete")));
}

// The `*.md` files directly in `dir`.
int MarkdownFiles(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    n += e.path().extension() == ".md";
  return n;
}

// An export cut off part-way (here: the server killed while contentctl
// holds a stream it has only begun to read) exited 1 with the stream's
// error alone, its files looking like a whole export. It says how many
// articles it wrote and that the export is incomplete, and leaves
// DIR/.incomplete, which a completed export into the same directory
// removes.
TEST(CliBulkTest, ExportCutOffSaysSoAndLeavesAMarker) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  // 40 MB of articles: far more than flow control and socket buffers let
  // through unread.
  constexpr int kCount = 640;
  const std::string corpus = dir.path() + "/corpus";
  fs::create_directories(corpus);
  const std::string body(64 << 10, 'x');
  for (int i = 0; i < kCount; ++i) {
    WriteFile(
        corpus + "/big" + std::to_string(i) + ".md",
        "---\ntitle: \"Big " + std::to_string(i) + "\"\n---\n" + body + "\n");
  }
  ASSERT_EQ(Ctl(*server, {"apply", "-f", corpus}).exit_code, 0);

  const std::string out = dir.path() + "/out";
  std::unique_ptr<BackgroundCommand> ctl =
      BackgroundCommand::Start({ContentctlBinary(), "--server",
                                server->address(), "export", "--dir", out},
                               "/dev/null", dir.path() + "/export.err");
  ASSERT_NE(ctl, nullptr);

  // Once the first article is written, stop contentctl, kill the server,
  // and let contentctl go on: it writes what had reached it, then the
  // stream fails.
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::minutes(2);
  bool started = false;
  while (!started && std::chrono::steady_clock::now() < give_up) {
    std::error_code ec;
    started = fs::exists(out, ec) && MarkdownFiles(out) > 0;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(kill(ctl->pid(), SIGSTOP), 0);
  server->Stop(SIGKILL);
  ASSERT_EQ(kill(ctl->pid(), SIGCONT), 0);
  const CommandResult exported = ctl->Wait();
  ASSERT_TRUE(started) << "no article written";
  EXPECT_EQ(exported.exit_code, 1);

  const std::string err = exported.err;
  const int files = MarkdownFiles(out);
  EXPECT_LT(files, kCount);
  EXPECT_THAT(err, HasSubstr("Error: UNAVAILABLE: "));
  EXPECT_THAT(err, HasSubstr("export incomplete: " + std::to_string(files) +
                             " article" + (files == 1 ? "" : "s") +
                             " written to " + out + " before the error; " +
                             out + "/.incomplete marks it"));
  EXPECT_TRUE(fs::exists(out + "/.incomplete"));
  // No half-written file among them.
  for (const auto& e : fs::directory_iterator(out)) {
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
    EXPECT_NE(e.path().extension(), ".contentctl-tmp") << e.path();
  }

  // A complete export into the same directory removes the marker; apply
  // would leave it out anyway (a dot name).
  ASSERT_TRUE(server->Restart());
  CommandResult r = Ctl(*server, {"export", "--dir", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("exported 640 articles"));
  EXPECT_FALSE(fs::exists(out + "/.incomplete"));
  EXPECT_EQ(MarkdownFiles(out), kCount);
}

// An export killed mid-write leaves the file it was writing; the next
// export into the directory removes such files, and only those: its own
// `.ID.md.contentctl-tmp`, and after a cut-off export (DIR/.incomplete)
// the `ID.md.tmp` earlier versions wrote. They stayed, `ID.md.tmp` looking
// like content to anything but `apply`.
TEST(CliBulkTest, ExportRemovesTheTempFilesAKilledExportLeft) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string corpus = dir.path() + "/corpus";
  WriteCorpus(corpus, 3);
  ASSERT_EQ(Ctl(*server, {"apply", "-f", corpus}).exit_code, 0);

  // Leftovers of a killed export, and files that are not its own.
  const std::string out = dir.path() + "/out";
  fs::create_directories(out + "/sub");
  WriteFile(out + "/.incomplete", "cut off\n");
  WriteFile(out + "/.a1.md.contentctl-tmp", "---\ntitle: half");
  WriteFile(out + "/.gone.md.contentctl-tmp", "an article since deleted");
  WriteFile(out + "/a2.md.tmp", "---\ntitle: half");
  const std::map<std::string, std::string> kept = {
      {"notes.txt", "mine"},
      {".a1.md.contentctl-tmp.bak", "mine"},
      {".-x.md.contentctl-tmp", "not an article id"},
      {"a1.md.tmp.orig", "mine"},
      {"sub/.a1.md.contentctl-tmp", "not where export writes"},
  };
  for (const auto& [name, text] : kept) WriteFile(out + "/" + name, text);

  CommandResult r = Ctl(*server, {"export", "--dir", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> want = kept;
  for (const char* id : {"a0", "a1", "a2"}) {
    std::map<std::string, std::string> exported = Tree(out);
    ASSERT_TRUE(exported.count(std::string(id) + ".md")) << id;
    want[std::string(id) + ".md"] = exported[std::string(id) + ".md"];
  }
  EXPECT_EQ(Tree(out), want);

  // Without a cut-off export, an `ID.md.tmp` is no leftover of one: kept.
  WriteFile(out + "/a0.md.tmp", "mine");
  r = Ctl(*server, {"export", "--dir", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out + "/a0.md.tmp"));
}

TEST(CliBulkTest, WatchPrintsOneLinePerEvent) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string corpus = dir.path() + "/corpus";
  WriteCorpus(corpus, 14);
  ASSERT_EQ(Ctl(*server, {"apply", "-f", corpus}).exit_code, 0);
  ASSERT_EQ(Ctl(*server, {"delete", "a3"}).exit_code, 0);

  // Table: `SEQUENCE TYPE NAME REVISION`, the backlog from the start.
  CommandResult r = Ctl(*server, {"watch", "--count", "15"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  for (size_t start = 0, end; start < r.out.size(); start = end + 1) {
    end = r.out.find('\n', start);
    lines.push_back(r.out.substr(start, end - start));
  }
  ASSERT_EQ(lines.size(), 15u);
  EXPECT_EQ(lines.back(), "15 DELETED articles/a3 2");
  EXPECT_THAT(lines.front(),
              ::testing::MatchesRegex("1 CREATED articles/a[0-9]+ 1"));

  // Filtered, JSON lines, resuming after a sequence.
  r = Ctl(*server, {"watch", "--tag", "t3", "--after", "2", "--count", "2",
                    "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<v1::WatchArticlesResponse> events;
  for (size_t start = 0, end; start < r.out.size(); start = end + 1) {
    end = r.out.find('\n', start);
    v1::WatchArticlesResponse e;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                    r.out.substr(start, end - start), &e)
                    .ok());
    events.push_back(e);
  }
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_GT(e.event().sequence(), 2);
    EXPECT_THAT(e.article().tags(), ::testing::Contains("t3"));
  }
}

}  // namespace
}  // namespace content
