#include "tests/support/harness.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

extern char** environ;

// Built with AddressSanitizer (clang says so by __has_feature, GCC by a
// macro).
#if defined(__SANITIZE_ADDRESS__)
#define CONTENT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONTENT_TEST_ASAN 1
#endif
#endif

namespace content::testing {
namespace fs = std::filesystem;

namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// This process's environment with `mine` (NAME=VALUE entries) in place of
// the inherited entries of the same names: getenv finds the first of two
// entries, so an inherited one put first would win.
std::vector<std::string> WithEnvironment(const std::vector<std::string>& mine) {
  std::vector<std::string> envs = mine;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string name(*e, std::strcspn(*e, "="));
    bool replaced = false;
    for (const std::string& m : mine)
      replaced = replaced || m.compare(0, name.size() + 1, name + "=") == 0;
    if (!replaced) envs.emplace_back(*e);
  }
  return envs;
}

// `env` with contentctl's leak check turned off in a sanitized build. The
// check at exit is about a quarter of a sanitized contentctl run's CPU (36 of
// 160 ms), and the sanitized suite runs contentctl some four thousand times:
// over a minute of CI. The client library contentctl is built on is still
// leak-checked in the test processes that link it (sdk_test and others),
// and contentd keeps its check. Commands that run contentctl in turn
// (script, bash) keep it too.
std::vector<std::string> WithoutLeakCheck(const std::vector<std::string>& argv,
                                          std::vector<std::string> env) {
#ifdef CONTENT_TEST_ASAN
  const bool asan_options_given = std::any_of(
      env.begin(), env.end(),
      [](const std::string& e) { return e.rfind("ASAN_OPTIONS=", 0) == 0; });
  if (!argv.empty() && fs::path(argv[0]).filename() == "contentctl" &&
      !asan_options_given) {
    // Sanitizer options are read in order: the last detect_leaks wins.
    const std::string inherited = Env("ASAN_OPTIONS", "");
    env.push_back("ASAN_OPTIONS=" + inherited + (inherited.empty() ? "" : ":") +
                  "detect_leaks=0");
  }
#else
  (void)argv;
#endif
  return env;
}

// `flag` as one argument or as `flag=value`.
bool HasFlag(const std::vector<std::string>& args, const std::string& flag) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == flag || a.rfind(flag + "=", 0) == 0;
  });
}

}  // namespace

bool TestEngineIsPostgres() {
  return Env("CONTENTD_TEST_ENGINE", "") == "postgres";
}

std::string TestPgDsn() {
  const std::string dir = Env("CONTENTD_TEST_PG_DIR", "");
  if (dir.empty()) return "";
  std::string dsn = ReadFile(dir + "/dsn");
  const char* space = " \t\r\n";
  const size_t begin = dsn.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return dsn.substr(begin, dsn.find_last_not_of(space) - begin + 1);
}

std::string TestPgTable(const std::string& data_dir) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (unsigned char c : data_dir) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(h));
  return std::string("kv_") + hex;
}

namespace {

// What DropPgTableAfterTest and DropPgRoleAfterTest keep until a test (or
// its suite) ends: each table with the number of ServerProcess objects
// started on it that still exist, and the roles.
struct PgLeftovers {
  std::mutex mu;
  std::map<std::string, int> tables;
  std::set<std::string> roles;
};

PgLeftovers& Leftovers() {
  static PgLeftovers* leftovers = new PgLeftovers;
  return *leftovers;
}

// Drops the tables no server uses any more and, with `roles`, the roles,
// through one connection to the test PostgreSQL.
void DropPgLeftovers(bool roles) {
  PgLeftovers& l = Leftovers();
  std::vector<std::string> statements;
  {
    std::lock_guard<std::mutex> lock(l.mu);
    for (auto it = l.tables.begin(); it != l.tables.end();) {
      if (it->second > 0) {
        ++it;
        continue;
      }
      statements.push_back("DROP TABLE IF EXISTS " + it->first);
      it = l.tables.erase(it);
    }
    if (roles) {
      for (const std::string& role : l.roles) {
        statements.push_back(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" +
            role + "') THEN DROP OWNED BY " + role + "; DROP ROLE " + role +
            "; END IF; END $$");
      }
      l.roles.clear();
    }
  }
  if (statements.empty()) return;
  const std::string dsn = TestPgDsn();
  if (dsn.empty()) return;
  PGconn* c = PQconnectdb(dsn.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::fprintf(stderr,
                 "harness: cannot drop the test's PostgreSQL objects: %s",
                 PQerrorMessage(c));
    PQfinish(c);
    return;
  }
  // A session of a contentd killed a moment ago may still hold a lock on
  // the table: wait for it a while, not for good.
  statements.insert(statements.begin(), "SET lock_timeout = '20s'");
  for (const std::string& sql : statements) {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      std::fprintf(stderr, "harness: %s: %s", sql.c_str(),
                   PQresultErrorMessage(r));
    }
    PQclear(r);
  }
  PQfinish(c);
}

// Drops them as each test and each suite ends.
class PgLeftoversListener : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo&) override { DropPgLeftovers(true); }
  void OnTestSuiteEnd(const ::testing::TestSuite&) override {
    DropPgLeftovers(true);
  }
};

void ListenForTestEnds() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::testing::UnitTest::GetInstance()->listeners().Append(
        new PgLeftoversListener);
  });
}

// The value of `flag` in `argv` (as two arguments or `flag=value`), or "".
std::string FlagValue(const std::vector<std::string>& argv,
                      const std::string& flag) {
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == flag && i + 1 < argv.size()) return argv[i + 1];
    if (argv[i].rfind(flag + "=", 0) == 0)
      return argv[i].substr(flag.size() + 1);
  }
  return "";
}

}  // namespace

void DropPgTableAfterTest(const std::string& table) {
  ListenForTestEnds();
  std::lock_guard<std::mutex> lock(Leftovers().mu);
  Leftovers().tables.emplace(table, 0);
}

void DropPgRoleAfterTest(const std::string& role) {
  ListenForTestEnds();
  std::lock_guard<std::mutex> lock(Leftovers().mu);
  Leftovers().roles.insert(role);
}

std::string ContentdBinary() {
  return Env("CONTENTD_BIN", CONTENTD_BIN_DEFAULT);
}
std::string ContentctlBinary() {
  return Env("CONTENTCTL_BIN", CONTENTCTL_BIN_DEFAULT);
}
std::string SourceDir() {
  return Env("CONTENT_SOURCE_DIR", CONTENT_SOURCE_DIR_DEFAULT);
}
std::string PathWithContentctl() {
  const char* path = std::getenv("PATH");
  return "PATH=" +
         std::filesystem::path(ContentctlBinary()).parent_path().string() +
         ":" + (path != nullptr ? path : "/usr/bin:/bin");
}

std::string TokenHash(const std::string& token) {
  CommandResult r = RunCommand({ContentdBinary(), "--hash-token"}, token);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, 64);
}

std::string AuthConfigYaml(const std::vector<TestToken>& tokens) {
  std::string yaml = "auth:\n  tokens:\n";
  for (const TestToken& t : tokens) {
    yaml += "    - {name: " + t.name + ", role: " + t.role +
            ", sha256: " + TokenHash(t.token) + "}\n";
  }
  return yaml;
}

namespace {

// The start time of process `pid` (field 22 of /proc/PID/stat, in clock
// ticks since boot), "" if there is no such process. With the pid it names
// a process; a pid alone may be reused.
std::string ProcessStartTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold spaces.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && (fields >> field); ++i) {
    if (i == 22) return field;
  }
  return "";
}

// Whether the owner record `record` ("PID START") names a process that is
// gone. A record that cannot be read is not taken for a gone owner.
bool OwnerGone(const std::string& record) {
  std::istringstream in(record);
  long pid = 0;
  std::string start;
  if (!(in >> pid >> start) || pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  const std::string now = ProcessStartTime(static_cast<pid_t>(pid));
  return !now.empty() && now != start;  // the pid is another process's
}

// The mount points of tmpfs mounts, from /proc/self/mounts.
std::vector<std::string> TmpfsMounts() {
  std::vector<std::string> points;
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source, point, type;
    if (!(fields >> source >> point >> type) || type != "tmpfs") continue;
    // Mount points with spaces are escaped (\040); TempDir makes none.
    if (point.find('\\') != std::string::npos) continue;
    points.push_back(point);
  }
  return points;
}

std::string OwnerRecordPath(const std::string& dir) {
  return fs::path(dir).lexically_normal().string() + ".owner";
}

// This process's hold of the sweep's lock file (TestMountsLock): its
// descriptor, and how many hold it (a TestMountsLock, a sweep within one).
struct MountsLock {
  std::mutex mu;
  int fd = -1;
  int holders = 0;
};
MountsLock& TheMountsLock() {
  static MountsLock* lock = new MountsLock;
  return *lock;
}

void AcquireMountsLock() {
  MountsLock& l = TheMountsLock();
  std::lock_guard<std::mutex> guard(l.mu);
  if (l.holders++ > 0) return;
  l.fd = ::open((Env("TMPDIR", "/tmp") + "/.contentd-test-mounts.lock").c_str(),
                O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  // Without it (unwritable $TMPDIR) sweeps run unlocked, as before.
  while (l.fd >= 0 && ::flock(l.fd, LOCK_EX) != 0 && errno == EINTR) {
  }
}

void ReleaseMountsLock() {
  MountsLock& l = TheMountsLock();
  std::lock_guard<std::mutex> guard(l.mu);
  if (--l.holders > 0) return;
  if (l.fd >= 0) ::close(l.fd);  // lets the flock go
  l.fd = -1;
}

}  // namespace

TestMountsLock::TestMountsLock() { AcquireMountsLock(); }
TestMountsLock::~TestMountsLock() { ReleaseMountsLock(); }

CommandResult MountTestTmpfs(const std::string& dir,
                             const std::string& options) {
  UnmountStaleTestMounts();
  // Recorded before the mount, so that no mount of this process goes
  // unrecorded however it is killed.
  const std::string record = OwnerRecordPath(dir);
  WriteFile(record, std::to_string(::getpid()) + " " +
                        ProcessStartTime(::getpid()) + "\n");
  CommandResult r =
      RunCommand({"mount", "-t", "tmpfs", "-o", options, "tmpfs", dir});
  if (r.exit_code != 0) {
    std::error_code ec;
    fs::remove(record, ec);
  }
  return r;
}

void UnmountTestTmpfs(const std::string& dir) {
  RunCommand({"umount", "-l", dir});
  std::error_code ec;
  fs::remove(OwnerRecordPath(dir), ec);
}

std::vector<std::string> UnmountStaleTestMounts() {
  // One sweep at a time across processes: a sweep that finds a stale mount
  // already unmounted by another (still removing its directory) did not
  // see it at all.
  TestMountsLock lock;
  std::vector<std::string> unmounted;
  std::set<std::string> emptied;  // TempDirs whose mounts were unmounted
  for (const std::string& point : TmpfsMounts()) {
    const fs::path parent = fs::path(point).parent_path();
    if (parent.filename().string().rfind("contentd-test-", 0) != 0) continue;
    const std::string record = OwnerRecordPath(point);
    std::error_code ec;
    if (!fs::exists(record, ec) || !OwnerGone(ReadFile(record))) continue;
    // Not lazily: refused (EBUSY) while anything uses the mount.
    if (::umount2(point.c_str(), 0) != 0) continue;
    fs::remove(record, ec);
    unmounted.push_back(point);
    emptied.insert(parent.string());
  }
  if (emptied.empty()) return unmounted;
  const std::vector<std::string> still = TmpfsMounts();
  for (const std::string& dir : emptied) {
    const bool mounted = std::any_of(
        still.begin(), still.end(),
        [&](const std::string& p) { return p.rfind(dir + "/", 0) == 0; });
    std::error_code ec;
    if (!mounted) fs::remove_all(dir, ec);
  }
  return unmounted;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::map<std::string, std::string> DirectoryState(const std::string& dir) {
  std::map<std::string, std::string> state;
  auto describe = [](const fs::path& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return std::string("unreadable");
    char head[96];
    std::snprintf(head, sizeof(head), "%s %o %lld%09ld",
                  S_ISDIR(st.st_mode) ? "dir" : "file",
                  static_cast<unsigned>(st.st_mode & 07777),
                  static_cast<long long>(st.st_mtim.tv_sec),
                  static_cast<long>(st.st_mtim.tv_nsec));
    if (S_ISDIR(st.st_mode)) return std::string(head);
    uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits
    for (unsigned char c : ReadFile(path.string())) {
      h ^= c;
      h *= 1099511628211ull;
    }
    char tail[64];
    std::snprintf(tail, sizeof(tail), " %lld %016llx",
                  static_cast<long long>(st.st_size),
                  static_cast<unsigned long long>(h));
    return std::string(head) + tail;
  };
  state["."] = describe(dir);
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec))
    state[fs::relative(entry.path(), dir).string()] = describe(entry.path());
  if (ec) ADD_FAILURE() << "listing " << dir << ": " << ec.message();
  return state;
}

ServerProcess* SharedServerTest::server_ = nullptr;
TempDir* SharedServerTest::dir_ = nullptr;

void SharedServerTest::SetUpTestSuite() {
  dir_ = new TempDir();
  server_ = ServerProcess::Start(dir_->path() + "/data").release();
}

void SharedServerTest::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
  delete dir_;
  dir_ = nullptr;
}

void SharedServerTest::SetUp() { ASSERT_NE(server_, nullptr) << "no contentd"; }

TempDir::TempDir() {
  std::string tmpl = Env("TMPDIR", "/tmp") + "/contentd-test-XXXXXX";
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) ADD_FAILURE() << "mkdtemp failed";
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

ServerProcess::ServerProcess(std::string data_dir,
                             std::vector<std::string> args)
    : data_dir_(std::move(data_dir)), args_(std::move(args)) {
  log_path_ = data_dir_ + ".log";
  port_file_ = data_dir_ + ".port";
}

std::unique_ptr<ServerProcess> ServerProcess::Start(
    const std::string& data_dir, std::vector<std::string> args,
    std::vector<std::string> env) {
  std::unique_ptr<ServerProcess> p(
      new ServerProcess(data_dir, std::move(args)));
  p->env_ = std::move(env);
  if (!p->Launch()) {
    ADD_FAILURE() << "contentd did not start; log:\n" << p->Log();
    return nullptr;
  }
  return p;
}

bool ServerProcess::Launch() {
  std::error_code ec;
  fs::remove(port_file_, ec);
  std::vector<std::string> argv = {ContentdBinary(), "--listen", listen_,
                                   "--data-dir",     data_dir_,  "--port-file",
                                   port_file_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  // Under postgres each flag the test did not give itself is added; a test
  // that names --storage-engine chooses everything itself.
  if (TestEngineIsPostgres() && !HasFlag(args_, "--storage-engine")) {
    const std::string dsn = TestPgDsn();
    if (dsn.empty()) {
      ADD_FAILURE() << "CONTENTD_TEST_ENGINE=postgres needs "
                       "$CONTENTD_TEST_PG_DIR/dsn (tests/support/pg.sh start "
                       "DIR); CONTENTD_TEST_PG_DIR="
                    << Env("CONTENTD_TEST_PG_DIR", "(unset)");
      return false;
    }
    argv.insert(argv.end(), {"--storage-engine", "postgres"});
    if (!HasFlag(args_, "--storage-dsn"))
      argv.insert(argv.end(), {"--storage-dsn", dsn});
    if (!HasFlag(args_, "--storage-table"))
      argv.insert(argv.end(), {"--storage-table", TestPgTable(data_dir_)});
  }
  if (pg_table_.empty() && FlagValue(argv, "--storage-engine") == "postgres") {
    pg_table_ = FlagValue(argv, "--storage-table");
    if (!pg_table_.empty()) {
      ListenForTestEnds();
      std::lock_guard<std::mutex> lock(Leftovers().mu);
      ++Leftovers().tables[pg_table_];
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> cargv = CStrings(argv);
  std::vector<std::string> envs = WithEnvironment(env_);
  std::vector<char*> cenv = CStrings(envs);
  int rc = posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, cargv.data(),
                       cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return false;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadFile(port_file_);
    if (!text.empty()) {
      port_ = std::atoi(text.c_str());
      return port_ > 0;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGKILL);
  ReleasePort();
  if (!pg_table_.empty()) {
    std::lock_guard<std::mutex> lock(Leftovers().mu);
    --Leftovers().tables[pg_table_];
  }
}

void ServerProcess::HoldPort() {
  ReleasePort();
  if (port_ <= 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  // First without SO_REUSEADDR (a port so bound is never handed to another
  // bind to port 0); with it if the dead server's connections linger.
  for (int reuse : {0, 1}) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      port_hold_fd_ = fd;
      return;
    }
    close(fd);
  }
}

void ServerProcess::ReleasePort() {
  if (port_hold_fd_ >= 0) close(port_hold_fd_);
  port_hold_fd_ = -1;
}

std::string ServerProcess::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

int ServerProcess::Stop(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  HoldPort();
  return status;
}

bool ServerProcess::Restart() {
  if (pid_ > 0) Stop(SIGTERM);
  ReleasePort();
  return Launch();
}

bool ServerProcess::RestartOnSamePort() {
  if (pid_ > 0) Stop(SIGTERM);
  ReleasePort();
  listen_ = address();
  const bool ok = Launch();
  listen_ = "127.0.0.1:0";
  return ok;
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

std::unique_ptr<BackgroundCommand> BackgroundCommand::Start(
    std::vector<std::string> argv, const std::string& stdout_path,
    const std::string& stderr_path, const std::vector<std::string>& env,
    const std::string& stdin_path) {
  std::vector<std::string> envs = WithEnvironment(WithoutLeakCheck(argv, env));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY,
                                   0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> cargv = CStrings(argv);
  std::vector<char*> cenv = CStrings(envs);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr,
                              cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return nullptr;
  return std::unique_ptr<BackgroundCommand>(
      new BackgroundCommand(pid, stdout_path, stderr_path));
}

BackgroundCommand::~BackgroundCommand() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

CommandResult BackgroundCommand::Wait(std::chrono::milliseconds timeout) {
  CommandResult result;
  int status = 0;
  if (timeout.count() > 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        result.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } else {
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::error_code ec;
  if (fs::is_regular_file(stdout_path_, ec))
    result.out = ReadFile(stdout_path_);
  if (fs::is_regular_file(stderr_path_, ec))
    result.err = ReadFile(stderr_path_);
  return result;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& stdin_text,
                         const std::vector<std::string>& env,
                         std::chrono::milliseconds timeout) {
  TempDir dir;
  const std::string in_path = dir.path() + "/in";
  WriteFile(in_path, stdin_text);
  std::unique_ptr<BackgroundCommand> command = BackgroundCommand::Start(
      argv, dir.path() + "/out", dir.path() + "/err", env, in_path);
  if (command == nullptr) {
    CommandResult result;
    result.err = "cannot start " + argv[0];
    return result;
  }
  return command->Wait(timeout);
}

CommandResult RunInTerminal(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env,
                            std::chrono::milliseconds timeout) {
  CommandResult result;
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    result.out = std::string("forkpty: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    for (const std::string& e : env) {
      const size_t eq = e.find('=');
      if (eq != std::string::npos)
        setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      result.timed_out = true;
      break;
    }
    pollfd p{master, POLLIN, 0};
    const int ready =
        poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = read(master, buffer, sizeof buffer);
    if (n <= 0) break;  // EIO: every holder of the terminal closed it
    result.out.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  close(master);
  return result;
}

}  // namespace content::testing
