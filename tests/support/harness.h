// Test support: real contentd processes on ephemeral loopback ports, and
// running command-line tools with captured output.
#ifndef CONTENT_TESTS_SUPPORT_HARNESS_H_
#define CONTENT_TESTS_SUPPORT_HARNESS_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace content::testing {

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One contentd process serving on 127.0.0.1 with its own data directory.
// Not thread-safe.
class ServerProcess {
 public:
  // Starts contentd ($CONTENTD_BIN) on port 0 with `data_dir` and `args`,
  // and extra environment entries NAME=VALUE (each replacing an inherited
  // one of that name), and waits until it serves. Aborts the test
  // (ADD_FAILURE + nullptr) on failure.
  static std::unique_ptr<ServerProcess> Start(
      const std::string& data_dir, std::vector<std::string> args = {},
      std::vector<std::string> env = {});
  ~ServerProcess();  // SIGKILL if still running

  // `127.0.0.1:PORT`.
  std::string address() const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for exit; returns the exit status as from
  // waitpid (use WIFEXITED etc.). The port stays bound (not listening:
  // clients see a refused connection) until the next start, so that no
  // other test's server is given it meanwhile and takes this one's clients.
  int Stop(int signal);
  // Starts again on the same data directory (a new port).
  bool Restart();
  // Starts again on the same data directory and the same port, so clients
  // connected before reconnect by themselves.
  bool RestartOnSamePort();
  // What the server printed so far.
  std::string Log() const;

 private:
  ServerProcess(std::string data_dir, std::vector<std::string> args);
  bool Launch();
  void HoldPort();
  void ReleasePort();

  std::string data_dir_;
  std::string pg_table_;  // the table it runs on (postgres), dropped after
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::string log_path_;
  std::string port_file_;
  std::string listen_ = "127.0.0.1:0";
  pid_t pid_ = -1;
  int port_ = 0;
  int port_hold_fd_ = -1;  // bound to port_ while stopped
};

// A fixture whose tests share one contentd, started with no flags when the
// suite starts and stopped when it ends (under ctest each test runs in its
// own process, so each still gets a fresh one); tests keep out of each
// other's way by their own ids and tags. A test fails in SetUp if the
// server did not start.
class SharedServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static TempDir* dir_;  // the suite's; the server's data is in DIR/data
  static ServerProcess* server_;  // nullptr if it did not start
};

struct CommandResult {
  int exit_code = -1;  // -1 if killed by a signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

// A command running in the background, its standard streams on files:
// for a test that acts on it while it runs (signals it, reads what it has
// printed so far) or that needs stdout on a device (`/dev/full`: every
// write fails with ENOSPC). Kills (SIGKILL) and reaps it on destruction if
// it still runs. Not thread-safe.
class BackgroundCommand {
 public:
  // Starts argv[0] (looked up on PATH if it has no '/'; no shell) with
  // `argv`, stdin from `stdin_path`, stdout to `stdout_path` and stderr to
  // `stderr_path` (both created or truncated; a device is opened as it is)
  // and extra environment entries as NAME=VALUE, each replacing an
  // inherited one of that name. nullptr if it could not start.
  static std::unique_ptr<BackgroundCommand> Start(
      std::vector<std::string> argv, const std::string& stdout_path,
      const std::string& stderr_path, const std::vector<std::string>& env = {},
      const std::string& stdin_path = "/dev/null");
  ~BackgroundCommand();
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for the exit, killing the command (SIGKILL, `timed_out`) once a
  // nonzero `timeout` has passed. `out` and `err` are what the files hold
  // then (`out` empty for a device). Call once.
  CommandResult Wait(std::chrono::milliseconds timeout = {});

 private:
  BackgroundCommand(pid_t pid, std::string stdout_path, std::string stderr_path)
      : pid_(pid),
        stdout_path_(std::move(stdout_path)),
        stderr_path_(std::move(stderr_path)) {}

  pid_t pid_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// Runs argv[0] with `argv` on a new pseudo-terminal (its stdin, stdout and
// stderr: isatty() is true for each), with extra environment entries as
// NAME=VALUE; `out` is everything it printed there (both streams, "\r\n"
// line ends as a terminal gives them), `err` empty. Never uses a shell.
// The command is killed (SIGKILL, `timed_out`) after `timeout`.
CommandResult RunInTerminal(
    const std::vector<std::string>& argv,
    const std::vector<std::string>& env = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Runs argv[0] with `argv` and optional stdin text; extra environment entries
// as NAME=VALUE, each replacing an inherited one of that name. Never uses a
// shell. A nonzero `timeout` bounds the run: the command is then killed
// (SIGKILL) and `timed_out` set, so a command that should exit but serves on
// instead fails the test rather than hanging it.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& stdin_text = "",
                         const std::vector<std::string>& env = {},
                         std::chrono::milliseconds timeout = {});

// The storage engine the suite runs against: $CONTENTD_TEST_ENGINE is
// "postgres" for the PostgreSQL runs (tests/CMakeLists.txt, pg_* tests),
// unset or anything else for RocksDB. Under postgres, ServerProcess passes
// `--storage-engine postgres --storage-dsn TestPgDsn() --storage-table
// kv_<hash of the data dir>` unless the test's own args name
// --storage-engine, so each data dir has its own table (and Restart finds
// it again) while explicit flags can point replicas at one shared table.
bool TestEngineIsPostgres();
// The libpq DSN of the test PostgreSQL: $CONTENTD_TEST_PG_DIR/dsn (written by
// tests/support/pg.sh), trimmed; empty if unset or unreadable.
std::string TestPgDsn();
// `kv_` and 16 hex digits of a stable hash (FNV-1a) of `data_dir`.
std::string TestPgTable(const std::string& data_dir);
// Tables and roles a test makes on the test PostgreSQL (TestPgDsn()) are
// dropped when it ends, passed or failed (a gtest listener the harness
// installs), so that runs leave none behind: a table once no ServerProcess
// started on it runs any more (one a suite's server uses, when the suite
// ends), then each role (DROP OWNED BY, DROP ROLE). ServerProcess names
// the table of every contentd it starts on postgres itself. Without a test
// PostgreSQL nothing is done; a drop that fails is said on stderr and
// fails nothing.
void DropPgTableAfterTest(const std::string& table);
void DropPgRoleAfterTest(const std::string& role);

// Paths of the built binaries and the source tree, from the environment
// ctest sets (CONTENTD_BIN, CONTENTCTL_BIN, CONTENT_SOURCE_DIR).
std::string ContentdBinary();
std::string ContentctlBinary();
std::string SourceDir();
// `PATH=` contentctl's directory, then the inherited PATH: an environment
// entry for a shell that runs `contentctl` by name (completion scripts).
std::string PathWithContentctl();

// The sha256 that `contentd --hash-token` prints for `token`: what a
// config's token entry holds. A failure if contentd refuses the token.
std::string TokenHash(const std::string& token);

// A token a test's contentd accepts: the config's `name` and `role` for it,
// and `token`, the secret a client sends.
struct TestToken {
  std::string name;
  std::string role;
  std::string token;
};
// A contentd config's `auth:` section that accepts `tokens`, each by its
// TokenHash.
std::string AuthConfigYaml(const std::vector<TestToken>& tokens);

// Test mounts (tmpfs; needs root). A test killed before it unmounts
// (timeout, ^C) left its tmpfs mounted under $TMPDIR/contentd-test-*/ for
// good; so each mount made here is recorded as this process's (DIR.owner,
// beside it: the pid and its start time), and MountTestTmpfs first unmounts
// those of processes gone (UnmountStaleTestMounts).
//
// Mounts a tmpfs with `options` (e.g. "size=24m", "ro,size=1m") at `dir`,
// an existing directory in a TempDir. Returns the mount command's result.
CommandResult MountTestTmpfs(const std::string& dir,
                             const std::string& options);
// Unmounts MountTestTmpfs's `dir` (lazily) and drops its owner record.
void UnmountTestTmpfs(const std::string& dir);
// Unmounts each tmpfs at $TMPDIR/contentd-test-*/NAME (TempDir's) whose
// owner record names a process that is gone, unless something uses it (a
// plain umount, refused while a file there is open or a process works in
// it: a contentd a killed test left running keeps its mount), and then
// removes that TempDir if nothing is mounted in it any more. A mount with
// no owner record (an older build's test, or one not made here) is left
// alone: nothing says it is stale. Returns the mount points unmounted.
std::vector<std::string> UnmountStaleTestMounts();
// While one is held, no other process sweeps (UnmountStaleTestMounts
// waits for a lock on $TMPDIR/.contentd-test-mounts.lock; this process's
// own sweeps run under it): for a test that makes mounts look stale and
// checks what its own sweep did with them, which another test's sweep
// could otherwise take first, or half (unmounted, the directory not yet
// removed). Nests.
class TestMountsLock {
 public:
  TestMountsLock();
  ~TestMountsLock();
  TestMountsLock(const TestMountsLock&) = delete;
  TestMountsLock& operator=(const TestMountsLock&) = delete;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

// Every file and directory under `dir`, by path relative to it, as "dir
// MODE MTIME" or "file MODE MTIME SIZE HASH" (mtime in nanoseconds, FNV-1a
// of the bytes): two states compare equal only if nothing was added,
// removed, written, touched or chmod-ed.
std::map<std::string, std::string> DirectoryState(const std::string& dir);

}  // namespace content::testing

#endif  // CONTENT_TESTS_SUPPORT_HARNESS_H_
