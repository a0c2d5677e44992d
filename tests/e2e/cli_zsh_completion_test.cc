// End-to-end: `contentctl completion zsh` loaded into a real interactive
// zsh (on a pseudo-terminal, through zsh's own zpty module), with a TAB
// typed after each command line and the line editor's buffer read back:
// what a zsh user sees, through zsh's bashcompinit, which the bash test
// (cli_completion_test) does not go through.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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
using ::content::testing::ReadFile;
using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs an interactive `zsh -f` on a pty, runs INIT (zsh commands, e.g.
// compinit), loads SCRIPT, waits for the prompt, writing what the terminal
// showed until then to OUT.start, and for each LINE types it, a TAB, then a
// key bound to a widget that appends the buffer to OUT, then
// kill-whole-line. ZLE reads keys in order, so each dump sees the buffer as
// its completion left it (a call to the server included).
constexpr char kDriver[] = R"zsh(
zmodload zsh/zpty || exit 7
out=$1 script=$2 init=$3
shift 3
zpty z zsh -f -i
zpty -w z "PS1='Z''Z> '; $init source ${(q)script}; _dump() { print -r -- \"[\$BUFFER]\" >> ${(q)out}; }; zle -N _dump; bindkey '^X^D' _dump; bindkey '^U' kill-whole-line"
# Keys typed before the line editor runs would meet the terminal's own
# line editing (^U erases the line there): wait for its prompt.
zpty -r z ready '*ZZ> *' || exit 6
print -r -- "$ready" > $out.start
for line in "$@"; do zpty -w -n z "$line"$'\t\C-x\C-d\C-u'; done
for i in {1..300}; do
  [[ -f $out ]] && (( $(wc -l < $out) >= $# )) && break
  sleep 0.1
done
zpty -w z exit
zpty -d z
)zsh";

class CliZshCompletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/zsh") && !fs::exists("/bin/zsh")) {
      GTEST_SKIP() << "zsh is not installed (scripts/setup.sh installs it)";
    }
    CommandResult r = RunCommand({ContentctlBinary(), "completion", "zsh"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    script_ = dir_.path() + "/contentctl.zsh";
    WriteFile(script_, r.out);
    driver_ = dir_.path() + "/driver.zsh";
    WriteFile(driver_, kDriver);
    fs::create_directories(dir_.path() + "/work/site/posts");
    WriteFile(dir_.path() + "/work/notes.md", "");
    WriteFile(dir_.path() + "/work/my notes.md", "");
  }

  // The buffer after a TAB at the end of each of `lines`, typed in the
  // directory work/ with contentctl's directory first on PATH. A call to
  // the server may take a minute: a loaded machine took more than the
  // default wait to start contentctl, connect and ask (12-05).
  // `init` runs before the script is sourced: compinit, as a ~/.zshrc
  // runs it, unless given.
  std::vector<std::string> Complete(
      const std::vector<std::string>& lines,
      const std::string& init = "autoload -U compinit; compinit -u -D;") {
    const std::string out = dir_.path() + "/out";
    fs::remove(out);
    std::vector<std::string> argv = {"/bin/sh",
                                     "-c",
                                     "cd \"$1\" && shift && exec zsh -f \"$@\"",
                                     "sh",
                                     dir_.path() + "/work",
                                     driver_,
                                     out,
                                     script_,
                                     init};
    argv.insert(argv.end(), lines.begin(), lines.end());
    CommandResult r =
        RunCommand(argv, "",
                   {PathWithContentctl(), "TERM=dumb", "HOME=" + dir_.path(),
                    "CONTENT_COMPLETION_TIMEOUT=60s"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    return absl::StrSplit(text.str(), '\n', absl::SkipEmpty());
  }

  TempDir dir_;
  std::string script_, driver_;
};

// Sourced in a zsh whose ~/.zshrc has not run compinit (zsh -f, a new
// account), the script loads without an error and completes: bashcompinit's
// `complete` said `command not found: compdef` twice, and TAB completed
// file names only.
TEST_F(CliZshCompletionTest, LoadsAndCompletesWithoutCompinitRunFirst) {
  EXPECT_THAT(Complete({"contentctl ver", "contentctl query --state dr"},
                       /*init=*/""),
              ElementsAre("[contentctl version ]",
                          "[contentctl query --state draft ]"));
  const std::string start = ReadFile(dir_.path() + "/out.start");
  EXPECT_THAT(start, Not(HasSubstr("not found"))) << start;
  EXPECT_THAT(start, Not(HasSubstr("compdef"))) << start;
}

// A directory completes with its slash, ready for the next part (it came
// out as `site `, a word ended); a name with a space is quoted.
TEST_F(CliZshCompletionTest, FileNamesCompleteAsPaths) {
  EXPECT_THAT(
      Complete({"contentctl apply -f si", "contentctl apply -f site/p",
                "contentctl apply -f my", "contentctl export --dir si",
                "contentctl apply -f ./not", "contentctl apply --filename=si"}),
      ElementsAre("[contentctl apply -f site/]",
                  "[contentctl apply -f site/posts/]",
                  "[contentctl apply -f my\\ notes.md ]",
                  "[contentctl export --dir site/]",
                  "[contentctl apply -f ./notes.md ]",
                  "[contentctl apply --filename=site/]"));
}

TEST_F(CliZshCompletionTest, VerbsFlagsAndTheirValuesComplete) {
  EXPECT_THAT(
      Complete({"contentctl qu", "contentctl query --out",
                "contentctl query --output j", "contentctl -o y",
                "contentctl get --rev", "contentctl admin comp",
                "contentctl query --state dr", "contentctl query --output=ya",
                "contentctl apply -f not", "contentctl query -o=ya",
                "contentctl get x -o=j", "contentctl completion z"}),
      ElementsAre("[contentctl query ]", "[contentctl query --output ]",
                  "[contentctl query --output json ]", "[contentctl -o yaml ]",
                  "[contentctl get --revision ]", "[contentctl admin compact ]",
                  "[contentctl query --state draft ]",
                  // zsh leaves `--flag=value` one word.
                  "[contentctl query --output=yaml ]",
                  "[contentctl apply -f notes.md ]",
                  // And `-o=value`, pflag's spelling, which contentctl takes.
                  "[contentctl query -o=yaml ]", "[contentctl get x -o=json ]",
                  // The shell, completion's argument, of a set too.
                  "[contentctl completion zsh ]"));
}

// -o after a verb completes only the formats that verb takes: markdown,
// export's one, is inserted; name, which tags does not take, is not offered.
TEST_F(CliZshCompletionTest, OutputValuesAreThoseOfTheVerb) {
  EXPECT_THAT(
      Complete({"contentctl export x -o ",
                "contentctl export x --output=", "contentctl tags -on",
                "contentctl diff x --output=m", "contentctl -o n"}),
      ElementsAre("[contentctl export x -o markdown ]",
                  "[contentctl export x --output=markdown ]",
                  "[contentctl tags -on]", "[contentctl diff x --output=m]",
                  "[contentctl -o name ]"));
}

// A list's next word after a comma completes in place, as bash's does
// (`--state draft,sch`); after `help`, which ignores -o, no format is.
TEST_F(CliZshCompletionTest, ListValuesAfterACommaAndNoFormatAfterHelp) {
  EXPECT_THAT(Complete({"contentctl query --state draft,sch",
                        "contentctl query --facets=tags,l",
                        "contentctl help export -o m"}),
              ElementsAre("[contentctl query --state draft,scheduled ]",
                          "[contentctl query --facets=tags,lang ]",
                          "[contentctl help export -o m]"));
}

// `-oj`, -o with its value attached (as contentctl takes it), completes as
// `-o=j` does; a directory after `-f` keeps its slash.
TEST_F(CliZshCompletionTest, ValuesAttachedToAShortFlagComplete) {
  EXPECT_THAT(
      Complete({"contentctl get x -oj", "contentctl query -oya",
                "contentctl apply -fsi", "contentctl apply -fnot"}),
      ElementsAre("[contentctl get x -ojson ]", "[contentctl query -oyaml ]",
                  "[contentctl apply -fsite/]",
                  "[contentctl apply -fnotes.md ]"));
}

// zsh hands `--server=ADDR` and `ADDR` with its colon over as one word
// (bash splits at `:` and `=`): the tags still come from that server.
TEST_F(CliZshCompletionTest, TagsComeFromTheServerNamedOnTheLine) {
  std::unique_ptr<ServerProcess> server =
      ServerProcess::Start(dir_.path() + "/data");
  ASSERT_NE(server, nullptr);
  WriteFile(dir_.path() + "/a.md",
            "---\ntitle: a\ntags: [finance, fintech, ai, \"team:search\"]\n"
            "---\n");
  CommandResult r = Ctl(*server, {"apply", "-f", dir_.path() + "/a.md"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string at = server->address();
  EXPECT_THAT(
      Complete({"contentctl --server " + at + " query --tag a",
                "contentctl --server=" + at + " query --not-tag financ",
                "contentctl --server " + at + " query --tag fin",
                "contentctl --server " + at + " query --tag=fint",
                "contentctl --server " + at + " query --tag team:s",
                "contentctl -s " + at + " query --tag fint"}),
      ElementsAre("[contentctl --server " + at + " query --tag ai ]",
                  "[contentctl --server=" + at + " query --not-tag finance ]",
                  // Two tags start so: the common part, then a list.
                  "[contentctl --server " + at + " query --tag fin]",
                  "[contentctl --server " + at + " query --tag=fintech ]",
                  "[contentctl --server " + at + " query --tag team:search ]",
                  // -s is --server.
                  "[contentctl -s " + at + " query --tag fintech ]"));
}

}  // namespace
}  // namespace content
