// Long operations from an operator's seat, cut short by a crash: contentd
// SIGKILLed while `contentctl apply -f DIR` streams a tree. After the kill
// the store must be consistent (`contentd --check` clean), every article
// contentctl reported must be there, contentctl must say what happened, and
// the same command run again must finish the job. Loopback only; each test
// starts its own contentd and stops by itself.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
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
using ::content::testing::BackgroundCommand;
using ::content::testing::CommandResult;
using ::content::testing::ContentctlBinary;
using ::content::testing::ContentdBinary;
using ::content::testing::Ctl;
using ::content::testing::ReadFile;
using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;

// `n` articles of about 6 KB each: 12 MB for 2000, far more than one
// import batch or what socket buffers hold.
void WriteCorpus(const std::string& dir, int n) {
  fs::create_directories(dir);
  const std::string body(6000, 'x');
  for (int i = 0; i < n; ++i) {
    WriteFile(absl::StrCat(dir, "/a", 10000 + i, ".md"),
              absl::StrCat("---\ntitle: \"Article ", i,
                           "\"\ntags: [bulk]\n---\n\n", i, " ", body, "\n"));
  }
}

// The names apply reported written, from its table output
// (`articles/ID created (revision 1)`).
std::set<std::string> Reported(const std::string& out) {
  std::set<std::string> names;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    const size_t space = line.find(' ');
    if (space != absl::string_view::npos &&
        line.substr(space + 1).rfind("created (revision", 0) == 0) {
      names.insert(std::string(line.substr(0, space)));
    }
  }
  return names;
}

// contentd killed part-way through `apply -f DIR`: contentctl said
// "Connection reset by peer (is the server using TLS? try --ca)", sending
// the operator to look at TLS. It must say the connection was lost during
// the call, and a rerun must finish the job, reporting what was already
// there as unchanged.
TEST(CrashOpsTest, ApplyCutByAKillSaysSoAndARerunFinishesTheJob) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto server = ServerProcess::Start(data);
  ASSERT_NE(server, nullptr);
  constexpr int kFiles = 2000;
  const std::string corpus = dir.path() + "/corpus";
  WriteCorpus(corpus, kFiles);

  const std::string out = dir.path() + "/apply.out";
  std::unique_ptr<BackgroundCommand> apply =
      BackgroundCommand::Start({ContentctlBinary(), "--server",
                                server->address(), "apply", "-f", corpus},
                               out, dir.path() + "/apply.err");
  ASSERT_NE(apply, nullptr);
  // Once the first batch is answered, hold contentctl, kill the server, and
  // let contentctl go on to find its stream gone.
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::minutes(2);
  bool started = false;
  while (!started && std::chrono::steady_clock::now() < give_up) {
    started = ReadFile(out).find(" created (revision 1)") != std::string::npos;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(started) << "no article applied";
  ASSERT_EQ(kill(apply->pid(), SIGSTOP), 0);
  server->Stop(SIGKILL);
  ASSERT_EQ(kill(apply->pid(), SIGCONT), 0);
  const CommandResult cut = apply->Wait(std::chrono::minutes(2));
  EXPECT_EQ(cut.exit_code, 1) << cut.err;
  EXPECT_THAT(cut.err, HasSubstr("Error: UNAVAILABLE: "));
  EXPECT_THAT(cut.err, HasSubstr("(the connection to " + server->address() +
                                 " was lost during the call, as when the "
                                 "server stops or restarts: a write in it "
                                 "may or may not have been applied)"));
  EXPECT_THAT(cut.err, Not(HasSubstr("TLS")));
  const std::set<std::string> acked = Reported(cut.out);
  ASSERT_FALSE(acked.empty());
  ASSERT_LT(acked.size(), static_cast<size_t>(kFiles))
      << "the whole tree was applied before the kill";
  EXPECT_THAT(cut.out,
              HasSubstr(absl::StrCat("applied ", acked.size(), " of ", kFiles,
                                     " files: ", acked.size(),
                                     " created, 0 updated, 0 unchanged, ",
                                     kFiles - acked.size(), " failed")));

  // Nothing half-way: the stopped directory checks clean.
  CommandResult check =
      RunCommand({ContentdBinary(), "--check", "--data-dir", data}, "", {},
                 std::chrono::minutes(2));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // The same command again finishes the job: every article reported
  // before is there and unchanged, the rest are created.
  ASSERT_TRUE(server->Restart());
  CommandResult again = RunCommand({ContentctlBinary(), "--server",
                                    server->address(), "apply", "-f", corpus},
                                   "", {}, std::chrono::minutes(2));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  for (const std::string& name : acked)
    EXPECT_THAT(again.out, HasSubstr(name + " unchanged (revision 1)"));
  const std::set<std::string> created = Reported(again.out);
  EXPECT_THAT(again.out, HasSubstr(absl::StrCat(
                             "applied ", kFiles, " files: ", created.size(),
                             " created, 0 updated, ", kFiles - created.size(),
                             " unchanged, 0 failed")));
  CommandResult fsck = Ctl(*server, {"admin", "fsck"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  EXPECT_THAT(fsck.out,
              HasSubstr(absl::StrCat("clean: ", kFiles, " articles")));
}

}  // namespace
}  // namespace content
