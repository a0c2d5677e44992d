// End-to-end: three contentd replicas on ephemeral loopback ports sharing one
// PostgreSQL table (issue 9), driven through the C++ client SDK. Whatever
// replica a call goes to, clients see one store: reads, queries and page
// tokens, the store-wide change sequence, and create / compare-and-set races.
//
// PostgreSQL: $CONTENTD_TEST_PG_DIR/dsn when set (the ctest fixture `pg`),
// else a private PostgreSQL 15 started with tests/support/pg.sh for this
// process. Without PostgreSQL the tests fail; they never pass vacuously.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "content/client.h"
#include "content/v1/content_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/ctl.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"
#include "tests/support/watch_collector.h"

namespace content {
namespace {

using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::content::testing::WatchCollector;
using ::google::protobuf::util::MessageDifferencer;

constexpr int64_t k2025 = 1735689600;  // 2025-01-01T00:00:00Z

v1::Article MakeArticle(const std::string& id, const std::string& title,
                        std::vector<std::string> tags, int64_t seconds) {
  v1::Article a;
  a.set_name(ArticleName(id));
  a.set_title(title);
  a.mutable_date()->set_seconds(seconds);
  for (auto& t : tags) a.add_tags(t);
  a.add_lang(seconds % 2 == 0 ? "zh-CN" : "en");
  a.add_categories("replicas");
  a.set_summary("summary of " + id);
  a.set_body("# " + title + "\n\nThe lighthouse keeper writes " + id +
             ". 正文。\n");
  return a;
}

absl::StatusOr<v1::Article> Create(Client& c, const v1::Article& a) {
  v1::CreateArticleRequest req;
  req.set_article_id(ArticleId(a.name()));
  *req.mutable_article() = a;
  return c.CreateArticle(req);
}

absl::StatusOr<v1::Article> Update(Client& c, const v1::Article& a,
                                   int64_t expected_revision = 0) {
  v1::UpdateArticleRequest req;
  *req.mutable_article() = a;
  req.set_expected_revision(expected_revision);
  return c.UpdateArticle(req);
}

// Releases every waiting thread at once, so racing calls leave together.
class StartLine {
 public:
  explicit StartLine(int n) : waiting_(n) {}
  void ArriveAndWait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (--waiting_ == 0) {
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [this] { return waiting_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_;
};

// The `port=` entry of a key/value DSN; 0 if it has none or it is not a
// number.
int DsnPort(const std::string& dsn) {
  int port = 0;
  for (absl::string_view part : absl::StrSplit(dsn, ' ')) {
    if (absl::ConsumePrefix(&part, "port=") && !absl::SimpleAtoi(part, &port))
      return 0;
  }
  return port;
}

// A TCP relay on 127.0.0.1 to PostgreSQL's port: the replicas' way to the
// database, which a test cuts (every connection through it closes, and new
// ones are closed as soon as accepted, as when the server restarts) and
// restores, without touching the server the other tests share.
class DatabaseLink {
 public:
  explicit DatabaseLink(int target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(0);
    if (listen_fd_ < 0 ||
        bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) !=
            0 ||
        listen(listen_fd_, 64) != 0) {
      ADD_FAILURE() << "relay: cannot listen";
      return;
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~DatabaseLink() {
    stopping_ = true;
    Cut();
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> pumps;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pumps.swap(pumps_);
    }
    for (auto& t : pumps) t.join();
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  int port() const { return port_; }

  // Closes every relayed connection; new ones are closed until Restore.
  void Cut() {
    std::lock_guard<std::mutex> lock(mu_);
    cut_ = true;
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
  }
  void Restore() {
    std::lock_guard<std::mutex> lock(mu_);
    cut_ = false;
  }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    return addr;
  }

  void Accept() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      if (cut_) {
        close(client);
        continue;
      }
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = Loopback(target_port_);
      if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&addr),
                                sizeof addr) != 0) {
        if (server >= 0) close(server);
        close(client);
        continue;
      }
      open_.insert(client);
      open_.insert(server);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
    }
  }

  // Relays both ways until either side closes, then closes both.
  void Pump(int a, int b) {
    char buf[65536];
    bool done = false;
    while (!done) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (poll(p, 2, 100) < 0) break;
      for (int i = 0; i < 2 && !done; ++i) {
        if (p[i].revents == 0) continue;
        const ssize_t n = read(p[i].fd, buf, sizeof buf);
        if (n <= 0) {
          done = true;
          break;
        }
        const int to = i == 0 ? b : a;
        for (ssize_t off = 0; off < n;) {
          // No SIGPIPE for this process when the other side closed.
          const ssize_t w =
              send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
          if (w <= 0) {
            done = true;
            break;
          }
          off += w;
        }
      }
      if (stopping_) done = true;
    }
    std::lock_guard<std::mutex> lock(mu_);
    open_.erase(a);
    open_.erase(b);
    close(a);
    close(b);
  }

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  bool cut_ = false;
  std::set<int> open_;
  std::vector<std::thread> pumps_;
};

// What health answers for `service` on `server` once it answers `want` (1
// SERVING, 2 NOT_SERVING), waiting up to 30 s; else the last answer (-1: the
// check failed).
int HealthBecomes(const ServerProcess& server, const std::string& service,
                  int want) {
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  int serving = -1;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
       absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(50))) {
    serving = -1;
    if (testing::CheckHealth(*channel, service, &serving).ok() &&
        serving == want) {
      break;
    }
  }
  return serving;
}

// The first line of `server`'s log holding `text`, waiting up to 30 s for
// one; "" if none came.
std::string LogLine(const ServerProcess& server, const std::string& text) {
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
       absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(50))) {
    const std::string log = server.Log();
    const size_t at = log.find(text);
    if (at == std::string::npos) continue;
    const size_t start = log.rfind('\n', at);
    const size_t end = log.find('\n', at);
    if (end == std::string::npos) continue;  // being written
    return log.substr(start == std::string::npos ? 0 : start + 1,
                      end - (start == std::string::npos ? 0 : start + 1));
  }
  return "";
}

// The PostgreSQL the replicas share, once per process.
struct Postgres {
  std::string dsn;
  std::string error;             // why there is none
  std::unique_ptr<TempDir> own;  // set when this process started it
};

Postgres* started_postgres = nullptr;  // once SharedPostgres() ran

Postgres* SharedPostgres() {
  static Postgres* pg = [] {
    auto* p = new Postgres;
    const char* dir = std::getenv("CONTENTD_TEST_PG_DIR");
    if (dir != nullptr && *dir != '\0') {
      p->dsn = testing::TestPgDsn();
      if (p->dsn.empty()) {
        p->error = absl::StrCat("CONTENTD_TEST_PG_DIR=", dir,
                                " but no DSN in its dsn file (did pg_start "
                                "run? tests/support/pg.sh start DIR)");
      }
      return p;
    }
    p->own = std::make_unique<TempDir>();
    // As root, pg.sh runs PostgreSQL as the postgres user, which must be
    // able to enter the directory.
    chmod(p->own->path().c_str(), 0755);
    const std::string pg_dir = p->own->path() + "/pg";
    testing::CommandResult r = RunCommand(
        {testing::SourceDir() + "/tests/support/pg.sh", "start", pg_dir});
    if (r.exit_code != 0) {
      p->error = absl::StrCat(
          "tests/support/pg.sh could not start PostgreSQL 15 (CI installs "
          "postgresql-15; scripts/setup.sh does too), exit ",
          r.exit_code, ":\n", r.out, r.err);
      return p;
    }
    p->dsn = testing::ReadFile(pg_dir + "/dsn");
    while (!p->dsn.empty() &&
           std::isspace(static_cast<unsigned char>(p->dsn.back()))) {
      p->dsn.pop_back();
    }
    if (p->dsn.empty()) p->error = "pg.sh started PostgreSQL but wrote no DSN";
    return p;
  }();
  started_postgres = pg;
  return pg;
}

// Stops a PostgreSQL this process started when the tests end.
class StopOwnPostgres : public ::testing::Environment {
 public:
  void TearDown() override {
    Postgres* pg = started_postgres;
    if (pg == nullptr || pg->own == nullptr) return;
    RunCommand({testing::SourceDir() + "/tests/support/pg.sh", "stop",
                pg->own->path() + "/pg"});
    pg->own.reset();  // removes the directory
  }
};
const auto* const kStopOwnPostgres =
    ::testing::AddGlobalTestEnvironment(new StopOwnPostgres);

// A table of the test's own on the test PostgreSQL, named after `path`
// (under the test's directory), dropped when the test ends.
std::string TestTable(const std::string& path) {
  const std::string table = testing::TestPgTable(path);
  testing::DropPgTableAfterTest(table);
  return table;
}

// The flags that put contentd on `table` through `dsn`.
std::vector<std::string> PgArgs(const std::string& dsn,
                                const std::string& table) {
  return {"--storage-engine", "postgres", "--storage-dsn", dsn,
          "--storage-table",  table};
}

// A replica on `table` through `dsn`, with its data directory `data_dir`.
std::unique_ptr<ServerProcess> StartReplica(const std::string& data_dir,
                                            const std::string& dsn,
                                            const std::string& table) {
  return ServerProcess::Start(data_dir, PgArgs(dsn, table));
}

// A client of `server` that makes each call once (no transparent retries:
// the tests count every attempt) and waits up to 15 s for it.
std::unique_ptr<Client> ConnectOnce(const ServerProcess& server) {
  ClientOptions options;
  options.target = server.address();
  options.timeout = absl::Seconds(15);
  options.max_attempts = 1;
  auto c = Client::Connect(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

// `contentd --check --repair` of `table` through `dsn`.
std::vector<std::string> RepairCommand(const std::string& dsn,
                                       const std::string& table) {
  std::vector<std::string> argv = {testing::ContentdBinary(), "--check",
                                   "--repair"};
  for (std::string& arg : PgArgs(dsn, table)) argv.push_back(std::move(arg));
  return argv;
}

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Postgres* pg = SharedPostgres();
    ASSERT_TRUE(pg->error.empty()) << pg->error;
    // A table of this test's own: every replica names it explicitly, so the
    // harness adds nothing even when CONTENTD_TEST_ENGINE=postgres.
    table_ = TestTable(dir_.path() + "/shared");
    std::vector<std::string> args = PgArgs(pg->dsn, table_);
    if (!Config().empty()) {
      testing::WriteFile(dir_.path() + "/contentd.yaml", Config());
      args.insert(args.end(), {"--config", dir_.path() + "/contentd.yaml"});
    }
    for (const char* name : {"a", "b", "c"}) {
      auto server = ServerProcess::Start(dir_.path() + "/" + name, args);
      ASSERT_NE(server, nullptr) << "replica " << name;
      // RocksDB would have made a data directory with a CURRENT file.
      ASSERT_FALSE(
          std::filesystem::exists(dir_.path() + "/" + name + "/CURRENT"))
          << "replica " << name << " is not on PostgreSQL:\n"
          << server->Log();
      servers_.push_back(std::move(server));
      clients_.push_back(Connect(*servers_.back()));
    }
  }

  // contentd.yaml for every replica; none if empty.
  virtual std::string Config() { return ""; }

  // The whole change log, read through `c` once every write is done:
  // exactly `want` events, sequences 1 to `want` (waiting up to 30 s for
  // them).
  static std::vector<v1::WatchArticlesResponse> ChangeLog(Client& c,
                                                          size_t want) {
    WatchCollector all(&c, {}, want);
    EXPECT_TRUE(all.WaitFor(absl::Seconds(30)))
        << all.size() << " of " << want << " events; " << all.status();
    std::vector<v1::WatchArticlesResponse> events = all.events();
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].event().sequence(), static_cast<int64_t>(i) + 1)
          << "gap or repeat";
    }
    // And none after them: a watch after sequence want + 1 is refused as
    // beyond the newest event, which the replica reads from the database
    // for a sequence it has not heard of (other replicas' commits
    // included), instead of a wait for an extra event that might come.
    v1::WatchArticlesRequest past;
    past.set_after_sequence(static_cast<int64_t>(want) + 1);
    WatchCollector beyond(&c, past, 1);
    for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
         beyond.status().ok() && beyond.starts().empty() &&
         absl::Now() < deadline;) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_EQ(beyond.status().code(), absl::StatusCode::kOutOfRange)
        << beyond.status() << "; started after "
        << ::testing::PrintToString(beyond.starts());
    EXPECT_THAT(std::string(beyond.status().message()),
                ::testing::HasSubstr(absl::StrCat(
                    "is beyond the newest event, sequence ", want, ":")));
    return events;
  }

  // No transparent retries: each race below counts every attempt.
  static std::unique_ptr<Client> Connect(const ServerProcess& server) {
    return ConnectOnce(server);
  }

  // On a test failure, what each replica printed.
  void TearDown() override {
    if (!HasFailure()) return;
    for (size_t i = 0; i < servers_.size(); ++i) {
      std::string log = servers_[i]->Log();
      if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
      std::cerr << "--- log of replica "
                << "abc"[i] << ":\n"
                << log << "\n";
    }
  }

  Client& A() { return *clients_[0]; }
  Client& B() { return *clients_[1]; }
  Client& C() { return *clients_[2]; }

  // Every name `q` selects, walking pages of `page_size` and sending page i
  // to replica i % 3 (or to `via` in turn): a page token from one replica
  // works on the others.
  std::vector<std::string> QueryAcrossReplicas(const v1::Query& q,
                                               int page_size,
                                               std::vector<Client*> via = {}) {
    if (via.empty()) {
      for (auto& c : clients_) via.push_back(c.get());
    }
    std::vector<std::string> names;
    std::string token;
    for (int page = 0; page < 1000; ++page) {
      v1::QueryArticlesRequest req;
      *req.mutable_query() = q;
      req.set_page_size(page_size);
      req.set_page_token(token);
      auto r = via[page % via.size()]->QueryArticles(req);
      EXPECT_TRUE(r.ok()) << "page " << page << ": " << r.status();
      if (!r.ok()) break;
      for (const auto& a : r->articles()) names.push_back(a.name());
      token = r->next_page_token();
      if (token.empty()) break;
    }
    return names;
  }

  TempDir dir_;
  std::string table_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
  std::vector<std::unique_ptr<Client>> clients_;
};

TEST_F(ReplicasTest, WritesThroughOneReplicaAreReadThroughTheOthers) {
  std::vector<v1::Article> created;
  for (int i = 0; i < 10; ++i) {
    const std::string id = "r" + std::to_string(i);
    auto r = Create(A(), MakeArticle(id, "标题 " + id, {"read"}, k2025 + i));
    ASSERT_TRUE(r.ok()) << id << ": " << r.status();
    EXPECT_EQ(r->revision(), 1);
    created.push_back(*r);
  }
  for (const v1::Article& want : created) {
    for (Client* c : {&B(), &C()}) {
      auto got = c->Get(ArticleId(want.name()));
      ASSERT_TRUE(got.ok()) << want.name() << ": " << got.status();
      EXPECT_TRUE(MessageDifferencer::Equals(*got, want))
          << "want " << want.DebugString() << "got " << got->DebugString();
    }
  }

  // An update through B is the head on A and C; revision 1 stays readable.
  v1::Article changed = created[3];
  changed.set_title("changed through B");
  auto updated = Update(B(), changed, 1);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revision(), 2);
  for (Client* c : {&A(), &C()}) {
    auto head = c->Get("r3");
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(head->revision(), 2);
    EXPECT_EQ(head->title(), "changed through B");
    auto first = c->Get("r3", 1);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(first->title(), "标题 r3");
  }
  v1::ListArticleRevisionsRequest history;
  history.set_name("articles/r3");
  auto revisions = A().ListArticleRevisions(history);
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  ASSERT_EQ(revisions->revisions_size(), 2);
  EXPECT_EQ(revisions->revisions(0).revision(), 2);

  // A delete through C is seen by A and B; an undelete through A by C.
  v1::DeleteArticleRequest del;
  del.set_name("articles/r5");
  ASSERT_TRUE(C().DeleteArticle(del).ok());
  for (Client* c : {&A(), &B()}) {
    EXPECT_EQ(c->Get("r5").status().code(), absl::StatusCode::kNotFound);
  }
  v1::UndeleteArticleRequest undel;
  undel.set_name("articles/r5");
  ASSERT_TRUE(A().UndeleteArticle(undel).ok());
  auto back = C().Get("r5");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->revision(), 3);
}

TEST_F(ReplicasTest, WatchOnOneReplicaSeesEveryEventOfWritesThroughOthers) {
  // Writers: 2 threads through A and 2 through B, each creating, updating
  // and sometimes deleting articles of their own.
  constexpr int kPerWriter = 24;
  std::mutex mu;
  std::map<std::pair<std::string, int64_t>, int> written;  // (name, rev)
  auto writer = [&](Client* c, const std::string& prefix) {
    for (int i = 0; i < kPerWriter; ++i) {
      const std::string id = prefix + "-" + std::to_string(i);
      v1::Article a = MakeArticle(id, id, {"watch"}, k2025 + i);
      auto r = Create(*c, a);
      ASSERT_TRUE(r.ok()) << id << ": " << r.status();
      a.set_body("changed " + id);
      auto u = Update(*c, a);
      ASSERT_TRUE(u.ok()) << id << ": " << u.status();
      int64_t last = u->revision();
      if (i % 3 == 0) {
        v1::DeleteArticleRequest d;
        d.set_name(a.name());
        auto del = c->DeleteArticle(d);
        ASSERT_TRUE(del.ok()) << id << ": " << del.status();
        last = del->revision();
      }
      std::lock_guard<std::mutex> lock(mu);
      for (int64_t rev = 1; rev <= last; ++rev) ++written[{a.name(), rev}];
    }
  };
  // 4 writers x (create + update) each, and a delete of every third.
  constexpr size_t kEvents = 4 * kPerWriter * 2 + 4 * ((kPerWriter + 2) / 3);

  WatchCollector on_c(&C(), {}, kEvents);  // from the first event
  {
    std::vector<std::thread> threads;
    threads.emplace_back(writer, &A(), "a0");
    threads.emplace_back(writer, &A(), "a1");
    threads.emplace_back(writer, &B(), "b0");
    threads.emplace_back(writer, &B(), "b1");
    for (auto& t : threads) t.join();
  }
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(written.size(), kEvents);
  ASSERT_TRUE(on_c.WaitFor(absl::Seconds(30)))
      << on_c.size() << " of " << kEvents << " events; " << on_c.status();
  const std::vector<v1::WatchArticlesResponse> seen = on_c.events();
  ASSERT_EQ(seen.size(), kEvents);

  // Sequences 1..N in order: none missing, none repeated. Every write made
  // arrives exactly once, each article's revisions in order, with the
  // revision written.
  std::map<std::pair<std::string, int64_t>, int> arrived;
  std::map<std::string, int64_t> last_revision;
  for (size_t i = 0; i < seen.size(); ++i) {
    const v1::ChangeEvent& e = seen[i].event();
    EXPECT_EQ(e.sequence(), static_cast<int64_t>(i) + 1) << "gap or repeat";
    EXPECT_EQ(e.revision(), last_revision[e.name()] + 1) << e.name();
    last_revision[e.name()] = e.revision();
    ++arrived[{e.name(), e.revision()}];
    EXPECT_EQ(seen[i].article().name(), e.name());
    EXPECT_EQ(seen[i].article().revision(), e.revision());
  }
  EXPECT_EQ(arrived, written);

  // The sequence is store-wide: a watch on A from the start, and one on B
  // resuming halfway, see the very same events.
  {
    WatchCollector on_a(&A(), {}, kEvents);
    ASSERT_TRUE(on_a.WaitFor(absl::Seconds(30))) << on_a.size();
    const auto again = on_a.events();
    for (size_t i = 0; i < kEvents; ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(again[i].event(), seen[i].event()))
          << i << ": " << again[i].event().DebugString() << " vs "
          << seen[i].event().DebugString();
    }
  }
  const size_t half = kEvents / 2;
  v1::WatchArticlesRequest resume;
  resume.set_after_sequence(seen[half - 1].event().sequence());
  {
    WatchCollector on_b(&B(), resume, kEvents - half);
    ASSERT_TRUE(on_b.WaitFor(absl::Seconds(30))) << on_b.size();
    const auto rest = on_b.events();
    for (size_t i = 0; i < rest.size(); ++i) {
      EXPECT_TRUE(
          MessageDifferencer::Equals(rest[i].event(), seen[half + i].event()))
          << rest[i].event().DebugString();
    }
  }

  // A live watcher on C hears of a write through A by NOTIFY. Without it C
  // reads the last sequence only every 10 s, so the 5 s guard below fails
  // unless that read happens to fall inside it. No timed assertion beyond.
  v1::WatchArticlesRequest now;
  now.set_start_now(true);
  WatchCollector live(&C(), now, 1);
  ASSERT_TRUE(live.WaitStarted(absl::Seconds(10))) << live.status();
  {
    auto created = Create(A(), MakeArticle("late", "late", {"watch"}, k2025));
    ASSERT_TRUE(created.ok()) << created.status();
  }
  ASSERT_TRUE(live.WaitFor(absl::Seconds(5)))
      << "no event on C within 5 s of a write through A (its fallback read "
         "comes every 10 s): "
      << live.status();
  EXPECT_EQ(live.events().at(0).event().name(), "articles/late");
  EXPECT_EQ(live.events().at(0).event().sequence(),
            static_cast<int64_t>(kEvents) + 1);
}

// A watcher that saw sequence N on one replica resumes on another at once:
// that replica may not have heard of N yet, but N is in the shared store,
// so the watch is not refused as beyond the newest event. Each write
// through A is followed at once by a watch on B and C after it, which get
// the next write's event.
TEST_F(ReplicasTest, ResumingOnAnotherReplicaRightAfterAWriteWorks) {
  for (int i = 0; i < 10; ++i) {
    const std::string id = "resume-" + std::to_string(i);
    ASSERT_TRUE(Create(A(), MakeArticle(id, id, {"r"}, k2025 + i)).ok());
    v1::WatchArticlesRequest req;
    req.set_after_sequence(2 * i + 1);
    WatchCollector on_b(&B(), req, 1);
    WatchCollector on_c(&C(), req, 1);
    v1::DeleteArticleRequest d;
    d.set_name(ArticleName(id));
    ASSERT_TRUE(A().DeleteArticle(d).ok());
    ASSERT_TRUE(on_b.WaitFor(absl::Seconds(10))) << i << ": " << on_b.status();
    ASSERT_TRUE(on_c.WaitFor(absl::Seconds(10))) << i << ": " << on_c.status();
    EXPECT_EQ(on_b.events()[0].event().sequence(), 2 * i + 2);
    EXPECT_EQ(on_c.events()[0].event().sequence(), 2 * i + 2);
  }
}

TEST_F(ReplicasTest, ConcurrentCreatesOfOneIdThroughTwoReplicas) {
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string id = "same-" + std::to_string(round);
    StartLine start(2);
    absl::StatusOr<v1::Article> via_a, via_b;
    std::thread ta([&] {
      start.ArriveAndWait();
      via_a = Create(A(), MakeArticle(id, "from A", {"race"}, k2025));
    });
    std::thread tb([&] {
      start.ArriveAndWait();
      via_b = Create(B(), MakeArticle(id, "from B", {"race"}, k2025));
    });
    ta.join();
    tb.join();
    ASSERT_NE(via_a.ok(), via_b.ok())
        << id << ": exactly one create must win; A: " << via_a.status()
        << ", B: " << via_b.status();
    const absl::Status& lost = via_a.ok() ? via_b.status() : via_a.status();
    EXPECT_EQ(lost.code(), absl::StatusCode::kAlreadyExists) << id << lost;
    const std::string winner = via_a.ok() ? "from A" : "from B";
    auto head = C().Get(id);
    ASSERT_TRUE(head.ok()) << id << ": " << head.status();
    EXPECT_EQ(head->title(), winner) << id;
    EXPECT_EQ(head->revision(), 1) << id;
    v1::ListArticleRevisionsRequest h;
    h.set_name(ArticleName(id));
    auto history = C().ListArticleRevisions(h);
    ASSERT_TRUE(history.ok()) << history.status();
    EXPECT_EQ(history->revisions_size(), 1) << id;
  }
  // The change log holds the winners only: a failed create takes no sequence.
  const auto log = ChangeLog(A(), kRounds);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].event().type(), v1::ChangeEvent::TYPE_CREATED);
    EXPECT_EQ(log[i].event().name(), ArticleName(absl::StrCat("same-", i)));
  }
  // One article per id, counted once.
  v1::Query q;
  q.add_tags("race");
  EXPECT_EQ(QueryAcrossReplicas(q, 7).size(), static_cast<size_t>(kRounds));
  auto tags = C().ListTags({});
  ASSERT_TRUE(tags.ok()) << tags.status();
  ASSERT_EQ(tags->tags_size(), 1);
  EXPECT_EQ(tags->tags(0).value(), "race");
  EXPECT_EQ(tags->tags(0).article_count(), kRounds);
}

TEST_F(ReplicasTest, ConditionalUpdatesWithOneRevisionThroughThreeReplicas) {
  {
    auto created = Create(A(), MakeArticle("cas", "v0", {"cas"}, k2025));
    ASSERT_TRUE(created.ok()) << created.status();
  }
  constexpr int kRounds = 15;
  std::vector<std::string> winners;
  for (int round = 0; round < kRounds; ++round) {
    const int64_t expected = round + 1;
    StartLine start(3);
    std::vector<absl::StatusOr<v1::Article>> results(3);
    std::vector<std::thread> threads;
    for (int r = 0; r < 3; ++r) {
      threads.emplace_back([&, r] {
        v1::Article a = MakeArticle(
            "cas",
            absl::StrCat("round ", round, " via ", std::string(1, "ABC"[r])),
            {"cas"}, k2025);
        start.ArriveAndWait();
        results[r] = Update(*clients_[r], a, expected);
      });
    }
    for (auto& t : threads) t.join();
    int won = 0;
    for (int r = 0; r < 3; ++r) {
      if (results[r].ok()) {
        ++won;
        EXPECT_EQ(results[r]->revision(), expected + 1);
        winners.push_back(results[r]->title());
      } else {
        EXPECT_EQ(results[r].status().code(),
                  absl::StatusCode::kFailedPrecondition)
            << "round " << round << " via "
            << "ABC"[r] << ": " << results[r].status();
      }
    }
    ASSERT_EQ(won, 1) << "round " << round << ": exactly one update must win";
  }
  // No update was lost or applied twice: the history is the winners, in
  // order, whichever replica is asked.
  for (Client* c : {&A(), &B(), &C()}) {
    auto head = c->Get("cas");
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(head->revision(), kRounds + 1);
    for (int rev = 2; rev <= kRounds + 1; ++rev) {
      auto r = c->Get("cas", rev);
      ASSERT_TRUE(r.ok()) << rev << ": " << r.status();
      EXPECT_EQ(r->title(), winners[rev - 2]) << "revision " << rev;
    }
  }
  // One event per winner, none for the losers.
  const auto log = ChangeLog(B(), kRounds + 1);
  for (size_t i = 1; i < log.size(); ++i) {
    EXPECT_EQ(log[i].event().revision(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(log[i].article().title(), winners[i - 1]);
  }
}

TEST_F(ReplicasTest, QueriesThroughOneReplicaSeeArticlesWrittenThroughOthers) {
  // A and B write concurrently; tag counts must add up across replicas.
  std::set<std::string> alpha, beta;
  {
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int w = 0; w < 2; ++w) {
      threads.emplace_back([&, w] {
        Client& c = w == 0 ? A() : B();
        for (int i = 0; i < 20; ++i) {
          const std::string id = absl::StrCat("q", w, "-", i);
          std::vector<std::string> tags = {i % 2 == 0 ? "alpha" : "beta"};
          if (i % 5 == 0) tags.push_back("gamma");
          auto r = Create(c, MakeArticle(id, id, tags, k2025 + 86400 * i));
          ASSERT_TRUE(r.ok()) << id << ": " << r.status();
          std::lock_guard<std::mutex> lock(mu);
          (i % 2 == 0 ? alpha : beta).insert(r->name());
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  ASSERT_FALSE(HasFatalFailure());

  v1::Query q;
  q.add_tags("alpha");
  std::vector<std::string> got = QueryAcrossReplicas(q, 3);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), alpha);
  EXPECT_EQ(got.size(), alpha.size()) << "a page repeated an article";

  // Either tag, newest first, paged through A, B and C in turn.
  v1::Query both;
  both.add_tags("alpha");
  both.add_tags("beta");
  got = QueryAcrossReplicas(both, 4);
  std::set<std::string> all = alpha;
  all.insert(beta.begin(), beta.end());
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), all);
  EXPECT_EQ(got.size(), all.size());

  // Text search and tag counts through C.
  v1::QueryArticlesRequest text;
  text.mutable_query()->set_text("lighthouse");
  text.set_page_size(100);
  auto found = C().QueryArticles(text);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->articles_size(), 40);

  v1::ListTagsRequest lt;
  lt.set_page_size(100);
  auto tags = C().ListTags(lt);
  ASSERT_TRUE(tags.ok()) << tags.status();
  std::map<std::string, int64_t> counts;
  for (const auto& t : tags->tags()) counts[t.value()] = t.article_count();
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{
                        {"alpha", 20}, {"beta", 20}, {"gamma", 8}}));

  // A batch read through B of names created through A and B.
  v1::BatchGetArticlesRequest bg;
  bg.add_names("articles/q0-0");
  bg.add_names("articles/q1-19");
  bg.add_names("articles/missing");
  auto batch = B().BatchGetArticles(bg);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->results_size(), 3);
  EXPECT_EQ(batch->results(0).article().name(), "articles/q0-0");
  EXPECT_EQ(batch->results(1).article().name(), "articles/q1-19");
  EXPECT_EQ(batch->results(2).error_code(), 5);  // NOT_FOUND
}

// An export through one replica reads one snapshot while another replica
// writes: every article once, as it was when the export began. Before
// 2026-12-07 each page read a fresh snapshot on PostgreSQL, so articles
// updated to another date meanwhile crossed the export's cursor: those
// moved from its end to its start were missed, those moved the other way
// came twice (an export of 76,000 articles under such updates wrote
// 74,989).
TEST_F(ReplicasTest, AnExportIsOneSnapshotWhileAnotherReplicaWrites) {
  constexpr int kArticles = 600;
  constexpr int kMoved = 100;  // of each end
  // 8 KiB bodies, about 5 MiB in all: more than gRPC buffers ahead of a
  // client busy with its first article, so the export reads its last
  // pages after the updates below.
  const std::string filler(8 << 10, '.');
  auto article = [&](int i, int64_t seconds) {
    const std::string id = absl::StrCat("e", 1000 + i);
    v1::Article a = MakeArticle(id, id, {"export"}, seconds);
    a.set_body(a.body() + filler);
    return a;
  };
  int next = 0;
  int failed = 0;
  absl::Status imported = A().ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        if (next == kArticles) return false;
        for (int k = 0; k < 100 && next < kArticles; ++k, ++next)
          *batch->add_articles() = article(next, k2025 + 3600 * next);
        return true;
      },
      [&](const v1::ImportArticlesResponse& r) {
        for (const auto& result : r.results())
          failed += result.outcome() == v1::ImportResult::OUTCOME_FAILED;
      });
  ASSERT_TRUE(imported.ok()) << imported;
  ASSERT_EQ(failed, 0);

  // Newest first, through B, on a stream whose client takes no more than
  // 64 KiB ahead of what it read (gRPC's default grows to megabytes), so
  // that B reads its last pages after the client read its first batch. A
  // then moves the oldest articles before the newest and the newest after
  // the oldest, in one batch, one transaction.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  auto stub = v1::ContentService::NewStub(grpc::CreateCustomChannel(
      servers_[1]->address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = stub->ExportArticles(&ctx, v1::ExportArticlesRequest());
  std::map<std::string, int> seen;
  std::map<std::string, int64_t> dates;
  bool moved = false;
  for (v1::ExportArticlesResponse batch; reader->Read(&batch);) {
    for (const v1::Article& a : batch.articles()) {
      ++seen[a.name()];
      dates[a.name()] = a.date().seconds();
    }
    if (std::exchange(moved, true)) continue;
    bool sent = false;
    int updated = 0;
    absl::Status s = A().ImportArticles(
        [&](v1::ImportArticlesRequest* moves) {
          if (std::exchange(sent, true)) return false;
          for (int i = 0; i < kMoved; ++i) {
            *moves->add_articles() = article(i, k2025 + 3600 * (kArticles + i));
            *moves->add_articles() =
                article(kArticles - 1 - i, k2025 - 3600 * (1 + i));
          }
          return true;
        },
        [&](const v1::ImportArticlesResponse& r) {
          for (const auto& result : r.results())
            updated += result.outcome() == v1::ImportResult::OUTCOME_UPDATED;
        });
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(updated, 2 * kMoved);
  }
  grpc::Status finished = reader->Finish();
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  ASSERT_TRUE(moved);
  std::vector<std::string> missing, repeated;
  for (int i = 0; i < kArticles; ++i) {
    const std::string name = ArticleName(absl::StrCat("e", 1000 + i));
    auto it = seen.find(name);
    if (it == seen.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second > 1) repeated.push_back(name);
    EXPECT_EQ(dates[name], k2025 + 3600 * i) << name << ": not as it was";
  }
  EXPECT_THAT(missing, ::testing::IsEmpty());
  EXPECT_THAT(repeated, ::testing::IsEmpty());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kArticles));
}

TEST_F(ReplicasTest, KillingAReplicaLosesNoAcknowledgedWrite) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  // id -> the newest revision acknowledged; an update cut off by the kill
  // may or may not have committed, so the head is at least that.
  std::vector<std::pair<std::string, int64_t>> acked;
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string id = absl::StrCat("k", w, "-", i);
        v1::Article a = MakeArticle(id, id, {"kill"}, k2025 + i);
        CallOptions call;
        call.timeout = absl::Seconds(3);
        v1::CreateArticleRequest req;
        req.set_article_id(id);
        *req.mutable_article() = a;
        auto r = A().CreateArticle(req, call);
        if (!r.ok()) break;
        int64_t revision = r->revision();
        if (i % 2 == 1) {
          // Odd ones get a second revision, acknowledged separately.
          a.set_title(id + " v2");
          v1::UpdateArticleRequest u;
          *u.mutable_article() = a;
          auto up = A().UpdateArticle(u, call);
          if (up.ok()) revision = up->revision();
        }
        std::lock_guard<std::mutex> lock(mu);
        acked.push_back({id, revision});
      }
    });
  }
  // Until some writes are in (not a fixed time: a loaded machine acks
  // fewer in one), bounded; the writers keep writing through the kill.
  constexpr size_t kBeforeKill = 20;
  for (const absl::Time end = absl::Now() + absl::Seconds(60);
       absl::Now() < end; absl::SleepFor(absl::Milliseconds(20))) {
    std::lock_guard<std::mutex> lock(mu);
    if (acked.size() >= kBeforeKill) break;
  }
  servers_[0]->Stop(SIGKILL);
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_GE(acked.size(), kBeforeKill)
      << "too few writes acknowledged in 60 s before the kill";

  for (Client* c : {&B(), &C()}) {
    for (const auto& [id, revision] : acked) {
      auto r = c->Get(id);
      ASSERT_TRUE(r.ok()) << id << " was acknowledged: " << r.status();
      EXPECT_GE(r->revision(), revision) << id;
      EXPECT_LE(r->revision(), 2) << id;
    }
  }
  v1::Query q;
  q.add_tags("kill");
  EXPECT_GE(QueryAcrossReplicas(q, 100, {&B(), &C()}).size(), acked.size());

  // The survivors keep serving writes, and A comes back with everything.
  ASSERT_TRUE(
      Create(B(), MakeArticle("after-kill", "after", {"kill"}, k2025)).ok());
  ASSERT_TRUE(servers_[0]->Restart()) << servers_[0]->Log();
  clients_[0] = Connect(*servers_[0]);
  auto after = A().Get("after-kill");
  ASSERT_TRUE(after.ok()) << after.status();
  for (const auto& [id, revision] : acked) {
    auto r = A().Get(id);
    ASSERT_TRUE(r.ok()) << id << ": " << r.status();
    EXPECT_GE(r->revision(), revision) << id;
  }
}

// An online repair is refused with the command that repairs a shared store
// (no data directory), and a check through any replica reports it clean.
TEST_F(ReplicasTest, RepairIsRefusedWithTheSharedStoresOfflineCommand) {
  ASSERT_TRUE(Create(A(), MakeArticle("fsck", "fsck", {"f"}, k2025)).ok());
  v1::CheckStoreRequest repair;
  repair.set_repair(true);
  auto refused = B().CheckStore(repair);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition)
      << refused.status();
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr("stop every replica and run `contentd "
                                   "--check --repair --storage-engine "
                                   "postgres"));
  EXPECT_THAT(refused.status().message(),
              ::testing::Not(::testing::HasSubstr("--data-dir")));
  auto check = C().CheckStore({});
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->ok()) << ::testing::PrintToString(check->problems());
  EXPECT_EQ(check->heads_checked(), 1);
}

// `contentd --check --repair` of the shared store while replicas serve it
// would rebuild indexes under their writes: it is refused (exit 2) naming
// each replica, and runs once every one stopped.
TEST_F(ReplicasTest, OfflineRepairIsRefusedWhileAnyReplicaServes) {
  ASSERT_TRUE(Create(A(), MakeArticle("repair", "repair", {"r"}, k2025)).ok());
  const std::vector<std::string> repair =
      RepairCommand(SharedPostgres()->dsn, table_);
  testing::CommandResult refused =
      RunCommand(repair, "", {}, std::chrono::seconds(60));
  EXPECT_FALSE(refused.timed_out);
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_THAT(refused.err,
              ::testing::HasSubstr("contentd: --repair: 3 processes serve "
                                   "table " +
                                   table_ + ": contentd on "));
  for (const auto& server : servers_) {
    EXPECT_THAT(refused.err, ::testing::HasSubstr(
                                 absl::StrCat("(pid ", server->pid(), ")")));
  }
  EXPECT_THAT(refused.err, ::testing::HasSubstr("stop every replica"));
  EXPECT_THAT(refused.out, ::testing::Not(::testing::HasSubstr("repairing")));
  // One replica left is one too many.
  clients_.resize(1);
  servers_.resize(1);
  refused = RunCommand(repair, "", {}, std::chrono::seconds(60));
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_THAT(refused.err,
              ::testing::HasSubstr("--repair: 1 process serves table " +
                                   table_ + ": contentd on "));

  clients_.clear();
  servers_.clear();
  testing::CommandResult repaired =
      RunCommand(repair, "", {}, std::chrono::seconds(60));
  EXPECT_EQ(repaired.exit_code, 0) << repaired.out << repaired.err;
  EXPECT_THAT(repaired.out, ::testing::HasSubstr("clean"));
}

// Retention through the CompactStore RPC, no background runs.
class ReplicasRetentionTest : public ReplicasTest {
 protected:
  std::string Config() override {
    return "retention:\n  keep_revisions: 2\n  purge_deleted_after_seconds: 1\n"
           "retention_interval_ms: 3600000\n";
  }
};

TEST_F(ReplicasRetentionTest, ConcurrentCompactionsRemoveEachRevisionOnce) {
  // `kept`: 5 revisions written through A, B and C; `gone`: 2, deleted.
  {
    auto created = Create(A(), MakeArticle("kept", "v1", {"keep"}, k2025));
    ASSERT_TRUE(created.ok()) << created.status();
  }
  for (int i = 2; i <= 5; ++i) {
    auto r = Update(*clients_[i % 3],
                    MakeArticle("kept", absl::StrCat("v", i), {"keep"}, k2025),
                    i - 1);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  {
    auto created = Create(B(), MakeArticle("gone", "doomed", {"gone"}, k2025));
    ASSERT_TRUE(created.ok()) << created.status();
  }
  v1::DeleteArticleRequest d;
  d.set_name("articles/gone");
  absl::StatusOr<v1::Article> deleted = C().DeleteArticle(d);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  // What compaction waits for is time: a deletion is purged once its
  // delete_time, in whole seconds, is more than purge_deleted_after (1 s)
  // before the compaction's clock, this machine's.
  const absl::Time purgeable =
      absl::FromUnixSeconds(deleted->delete_time().seconds()) +
      absl::Seconds(1);
  while (absl::Now() <= purgeable) absl::SleepFor(absl::Milliseconds(10));

  // All three replicas compact at once; between them they remove revisions
  // 1-3 of `kept` and both of `gone`, each exactly once.
  StartLine start(3);
  std::vector<absl::StatusOr<v1::CompactStoreResponse>> results(3);
  {
    std::vector<std::thread> threads;
    for (int r = 0; r < 3; ++r) {
      threads.emplace_back([&, r] {
        start.ArriveAndWait();
        results[r] = clients_[r]->CompactStore({});
      });
    }
    for (auto& t : threads) t.join();
  }
  int64_t removed = 0, purged = 0;
  for (int r = 0; r < 3; ++r) {
    EXPECT_TRUE(results[r].ok()) << "CompactStore via "
                                 << "ABC"[r] << ": " << results[r].status();
    if (!results[r].ok()) continue;
    removed += results[r]->revisions_removed();
    purged += results[r]->articles_purged();
  }
  EXPECT_EQ(removed, 3 + 2);
  EXPECT_EQ(purged, 1);

  for (Client* c : {&A(), &B(), &C()}) {
    v1::ListArticleRevisionsRequest h;
    h.set_name("articles/kept");
    auto history = c->ListArticleRevisions(h);
    ASSERT_TRUE(history.ok()) << history.status();
    ASSERT_EQ(history->revisions_size(), 2);
    EXPECT_EQ(history->revisions(0).revision(), 5);
    EXPECT_EQ(history->revisions(1).revision(), 4);
    v1::GetArticleRequest g;
    g.set_name("articles/gone");
    g.set_show_deleted(true);
    EXPECT_EQ(c->GetArticle(g).status().code(), absl::StatusCode::kNotFound);
    // Counters and postings agree with the articles.
    auto check = c->CheckStore({});
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_TRUE(check->ok()) << ::testing::PrintToString(check->problems());
  }
  v1::ListTagsRequest lt;
  auto tags = B().ListTags(lt);
  ASSERT_TRUE(tags.ok()) << tags.status();
  ASSERT_EQ(tags->tags_size(), 1);
  EXPECT_EQ(tags->tags(0).value(), "keep");
  EXPECT_EQ(tags->tags(0).article_count(), 1);
  // The purged id is free again, through any replica.
  EXPECT_TRUE(Create(C(), MakeArticle("gone", "reborn", {"gone"}, k2025)).ok());
}

// A storage compaction is the database's (VACUUM): asked for on
// PostgreSQL, it is refused saying so, before retention runs, rather than
// skipped in silence; without --storage retention runs.
TEST_F(ReplicasRetentionTest, StorageCompactionIsRefusedNamingVacuum) {
  ASSERT_TRUE(Create(A(), MakeArticle("kept", "v1", {"keep"}, k2025)).ok());
  for (int i = 2; i <= 3; ++i) {
    auto r = Update(
        B(), MakeArticle("kept", absl::StrCat("v", i), {"keep"}, k2025), i - 1);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  v1::CompactStoreRequest storage;
  storage.set_storage(true);
  auto refused = C().CompactStore(storage);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition)
      << refused.status();
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr("storage: the postgres engine does not "
                                   "compact its table"));
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr("`VACUUM " + table_ + "`"));
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr("Nothing was done"));
  v1::ListArticleRevisionsRequest h;
  h.set_name("articles/kept");
  auto history = A().ListArticleRevisions(h);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->revisions_size(), 3) << "retention ran";

  auto compacted = C().CompactStore({});
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  EXPECT_EQ(compacted->revisions_removed(), 1);
}

// A table named after the running test (its suite and name), dropped when
// the test ends: no two tests share it, whatever runs beside them.
std::string ThisTestsTable() {
  const ::testing::TestInfo* test =
      ::testing::UnitTest::GetInstance()->current_test_info();
  return TestTable(absl::StrCat(test->test_suite_name(), ".", test->name()));
}

// contentd run against PostgreSQL with `dsn` and `table` (the test's own,
// ThisTestsTable, if empty; and `extra` flags): its exit and what it
// printed.
testing::CommandResult StartAgainst(const std::string& dsn,
                                    const std::string& dir,
                                    const std::string& table = "",
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {testing::ContentdBinary(), "--listen",
                                   "127.0.0.1:0", "--data-dir", dir};
  for (std::string& arg :
       PgArgs(dsn, table.empty() ? ThisTestsTable() : table)) {
    argv.push_back(std::move(arg));
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv, "", {}, std::chrono::seconds(60));
}

// Runs `sql` through psql as the test server's superuser; its output.
std::string Psql(const std::string& dsn, const std::string& sql) {
  const char* bin = std::getenv("PG_BIN");
  testing::CommandResult r = RunCommand(
      {absl::StrCat(
           bin != nullptr && *bin != '\0' ? bin : "/usr/lib/postgresql/15/bin",
           "/psql"),
       dsn, "-v", "ON_ERROR_STOP=1", "-qAtc", sql});
  EXPECT_EQ(r.exit_code, 0) << sql << ":\n" << r.out << r.err;
  return std::string(absl::StripAsciiWhitespace(r.out));
}

// `dsn` with its `key=value` entry replaced (or added).
std::string WithDsnEntry(const std::string& dsn, const std::string& key,
                         const std::string& value) {
  std::string out;
  for (absl::string_view part : absl::StrSplit(dsn, ' ', absl::SkipEmpty())) {
    if (!absl::StartsWith(part, key + "=")) absl::StrAppend(&out, part, " ");
  }
  return absl::StrCat(out, key, "=", value);
}

// Each export of a shared store holds a snapshot, a connection, until it
// ends: a replica runs half its storage.pool_size of them at once, and the
// others wait for one to end. Unbounded, three exports held three
// connections of a pool of 2 (the read thread that took the first snapshot
// took the others as a call already holding one, past the pool's cap), and
// a hundred would have held a hundred.
class ReplicasSmallPoolTest : public ReplicasTest {
 protected:
  std::string Config() override { return "storage:\n  pool_size: 2\n"; }
};

TEST_F(ReplicasSmallPoolTest, ExportsBeyondHalfThePoolWaitForASnapshot) {
  // 250 articles of 8 KiB: three batches, more than the streams below
  // take ahead, so that no export ends before it is cancelled.
  constexpr int kArticles = 250;
  const std::string filler(8 << 10, '.');
  int next = 0;
  absl::Status imported = A().ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        if (next == kArticles) return false;
        for (int k = 0; k < 50 && next < kArticles; ++k, ++next) {
          v1::Article a = MakeArticle(absl::StrCat("p", next), "p", {"pool"},
                                      k2025 + 3600 * next);
          a.set_body(a.body() + filler);
          *batch->add_articles() = std::move(a);
        }
        return true;
      },
      [](const v1::ImportArticlesResponse&) {});
  ASSERT_TRUE(imported.ok()) << imported;

  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  auto stub = v1::ContentService::NewStub(grpc::CreateCustomChannel(
      servers_[1]->address(), grpc::InsecureChannelCredentials(), args));
  constexpr int kExports = 3;
  grpc::ClientContext ctx[kExports];
  std::mutex mu;
  std::condition_variable cv;
  int first_batches = 0;
  std::vector<std::thread> readers;
  for (int i = 0; i < kExports; ++i) {
    readers.emplace_back([&, i] {
      auto reader = stub->ExportArticles(&ctx[i], v1::ExportArticlesRequest());
      v1::ExportArticlesResponse batch;
      if (reader->Read(&batch)) {
        std::lock_guard<std::mutex> lock(mu);
        ++first_batches;
        cv.notify_all();
      }
      // Holds the export (reads no more) until cancelled.
      (void)reader->Finish();
    });
  }
  absl::Cleanup join = [&] {
    for (auto& c : ctx) c.TryCancel();
    for (auto& t : readers) t.join();
  };
  auto batches_reach = [&](int n, std::chrono::seconds bound) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, bound, [&] { return first_batches >= n; });
    return first_batches;
  };
  // One export runs; the others wait for its snapshot (the bounded wait
  // gives an unbounded replica time to start all three).
  ASSERT_EQ(batches_reach(1, std::chrono::seconds(30)), 1);
  EXPECT_EQ(batches_reach(kExports, std::chrono::seconds(3)), 1);
  const std::string held = absl::StrCat(
      "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in "
      "transaction' AND application_name LIKE '%(pid ",
      servers_[1]->pid(), ")'");
  EXPECT_EQ(Psql(SharedPostgres()->dsn, held), "1");

  // Cancelled, the exports give their snapshot back: a whole export
  // through the same replica runs.
  std::move(join).Invoke();
  int exported = 0;
  absl::Status s =
      B().ExportArticles(v1::ExportArticlesRequest(), [&](const v1::Article&) {
        ++exported;
        return true;
      });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(exported, kArticles);
}

TEST(ReplicaStartTest, ALoginTheDatabaseRefusesExits2NamingTheDsn) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  struct Case {
    std::string dsn;
    std::string says;  // libpq's reason, passed on
  };
  const std::vector<Case> cases = {
      {WithDsnEntry(pg->dsn, "dbname", "no_such_database"),
       "database \"no_such_database\" does not exist"},
      {WithDsnEntry(pg->dsn, "user", "no_such_role"),
       "role \"no_such_role\" does not exist"},
      {pg->dsn + " no_such_option=1", "invalid connection option"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dsn);
    testing::CommandResult r = StartAgainst(c.dsn, dir.path() + "/data");
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    // Named by the flag that gave it.
    EXPECT_THAT(r.err, ::testing::HasSubstr("(--storage-dsn)"));
    EXPECT_THAT(r.err, ::testing::HasSubstr(c.says));
    EXPECT_THAT(r.err, ::testing::HasSubstr("cannot connect to PostgreSQL"));
    EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("connection lost")));
  }
  // Refused before it made anything: no table.
  EXPECT_EQ(Psql(pg->dsn, absl::StrCat("SELECT to_regclass('", ThisTestsTable(),
                                       "') IS NULL")),
            "t");
}

TEST(ReplicaStartTest, ADatabaseItCannotReachExits1NamingTheDsn) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  // A port nothing listens on: bound here, never listened on.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string dsn =
      WithDsnEntry(pg->dsn, "port", std::to_string(ntohs(addr.sin_port)));
  testing::CommandResult r = StartAgainst(dsn, dir.path() + "/data");
  close(fd);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr("(--storage-dsn)"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("Connection refused"));
  EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("connection lost")));
}

// A table created for contentd, its user given its rows but not CREATE on
// the schema (a DBA's least privilege; PostgreSQL 15 gives `public`'s
// CREATE to the database's owner alone), serves. Without the table, or
// without one of the four privileges, contentd says which and exits 2.
TEST(ReplicaStartTest, ATableCreatedForAUserWithoutCreateServes) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  const std::string table = TestTable(dir.path() + "/granted");
  const std::string role = "contentd_rows_only";
  testing::DropPgRoleAfterTest(role);
  Psql(pg->dsn, absl::StrCat("DO $$ BEGIN CREATE ROLE ", role,
                             " LOGIN; EXCEPTION WHEN duplicate_object THEN "
                             "NULL; END $$"));
  const std::string dsn = WithDsnEntry(pg->dsn, "user", role);

  testing::CommandResult missing = StartAgainst(dsn, dir.path(), table);
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_THAT(missing.err,
              ::testing::HasSubstr("--storage-table: cannot create table " +
                                   table + ": ERROR:  permission denied"));
  EXPECT_THAT(missing.err, ::testing::HasSubstr("CREATE on the schema"));

  Psql(pg->dsn,
       absl::StrCat("CREATE TABLE ", table,
                    " (family smallint NOT NULL, key bytea NOT NULL, value "
                    "bytea NOT NULL, PRIMARY KEY (family, key)); GRANT "
                    "SELECT, INSERT, UPDATE, DELETE ON ",
                    table, " TO ", role));
  {
    auto server = StartReplica(dir.path() + "/a", dsn, table);
    ASSERT_NE(server, nullptr);
    ClientOptions options;
    options.target = server->address();
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
    auto created =
        Create(**client, MakeArticle("granted", "rows only", {"g"}, k2025));
    ASSERT_TRUE(created.ok()) << created.status();
    auto read = (*client)->Get("granted");
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->title(), "rows only");
  }

  Psql(pg->dsn, absl::StrCat("REVOKE DELETE ON ", table, " FROM ", role));
  testing::CommandResult no_delete = StartAgainst(dsn, dir.path(), table);
  EXPECT_EQ(no_delete.exit_code, 2) << no_delete.err;
  EXPECT_THAT(no_delete.err,
              ::testing::HasSubstr("--storage-table: the DSN's user may not "
                                   "read and write table " +
                                   table));
  Psql(pg->dsn, absl::StrCat("DROP TABLE ", table));
}

// `contentd --check` of a table that is not there (a mistyped name) finds
// no store, as for a data directory, and leaves no empty table behind to
// report clean.
TEST(ReplicaStartTest, CheckOfAMissingTableExits2AndCreatesNothing) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  const std::string table = TestTable(dir.path() + "/mistyped");
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--check"},
                                             {"--check", "--repair"}}) {
    SCOPED_TRACE(flags.back());
    testing::CommandResult r = StartAgainst(pg->dsn, dir.path(), table, flags);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_THAT(r.err,
                ::testing::HasSubstr("--storage-table: no table " + table +
                                     " in database postgres (--storage-dsn)"));
    EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr("clean")));
    EXPECT_EQ(Psql(pg->dsn,
                   absl::StrCat("SELECT to_regclass('", table, "') IS NULL")),
              "t");
  }
}

// A store contentd must not serve (a repair that did not finish, postings
// built with the other text_index setting) is refused naming the table and
// the shared store's offline repair: a replica has no data directory.
TEST(ReplicaStartTest, RefusalsToServeNameTheTableAndItsOfflineRepair) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  const std::string table = TestTable(dir.path() + "/refused");
  {
    // Records text_index: true.
    auto server = StartReplica(dir.path() + "/a", pg->dsn, table);
    ASSERT_NE(server, nullptr);
  }
  const std::string repair =
      "`contentd --check --repair --storage-engine postgres --storage-dsn DSN "
      "--storage-table " +
      table + "`";
  testing::WriteFile(dir.path() + "/off.yaml", "text_index: false\n");
  testing::CommandResult text =
      StartAgainst(pg->dsn, dir.path() + "/data", table,
                   {"--config", dir.path() + "/off.yaml"});
  EXPECT_FALSE(text.timed_out);
  EXPECT_EQ(text.exit_code, 2) << text.err;
  EXPECT_THAT(text.err, ::testing::HasSubstr("built with text_index: true"));
  EXPECT_THAT(text.err,
              ::testing::HasSubstr("Stop every replica and run " + repair +
                                   " with this configuration to rebuild the "
                                   "postings in table " +
                                   table));
  EXPECT_THAT(text.err, ::testing::Not(::testing::HasSubstr("data directory")));

  Psql(pg->dsn, "INSERT INTO " + table +
                    " (family, key, value) VALUES (0, "
                    "'index_repair'::bytea, ''::bytea)");
  testing::CommandResult marker =
      StartAgainst(pg->dsn, dir.path() + "/data", table);
  EXPECT_FALSE(marker.timed_out);
  EXPECT_EQ(marker.exit_code, 2) << marker.err;
  EXPECT_THAT(marker.err,
              ::testing::HasSubstr("the indexes in table " + table +
                                   " are incomplete; stop every replica and "
                                   "run " +
                                   repair + " again"));
  EXPECT_THAT(marker.err,
              ::testing::Not(::testing::HasSubstr("data directory")));
  Psql(pg->dsn, "DROP TABLE " + table);
}

// A DSN from the config file is named so in the errors contentd meets once
// serving, as at its start: `(storage.dsn in FILE)`, the reply's and the
// readiness line's.
TEST(ReplicaOutageTest, ErrorsWhileServingNameTheFileThatGaveTheDsn) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  const int pg_port = DsnPort(pg->dsn);
  ASSERT_GT(pg_port, 0) << pg->dsn;
  DatabaseLink link(pg_port);
  ASSERT_GT(link.port(), 0);
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  testing::WriteFile(
      config, "storage:\n  dsn: '" +
                  WithDsnEntry(pg->dsn, "port", std::to_string(link.port())) +
                  "'\n  table: " + TestTable(dir.path() + "/named") + "\n");
  // The engine by flag, so that the harness adds no DSN of its own.
  auto server = ServerProcess::Start(
      dir.path() + "/data",
      {"--storage-engine", "postgres", "--config", config});
  ASSERT_NE(server, nullptr);
  ClientOptions options;
  options.timeout = absl::Seconds(15);
  options.max_attempts = 1;
  options.target = server->address();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(
      Create(**client, MakeArticle("named", "named", {"outage"}, k2025)).ok());

  link.Cut();
  const std::string named = "(storage.dsn in " + config + ")";
  auto read = (*client)->Get("named");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable)
      << read.status();
  EXPECT_THAT(read.status().message(), ::testing::HasSubstr(named))
      << read.status();
  EXPECT_EQ(HealthBecomes(*server, "content.v1.Readiness", 2), 2)
      << server->Log();
  EXPECT_THAT(LogLine(*server, "contentd: readiness: NOT_SERVING"),
              ::testing::HasSubstr("storage: PostgreSQL unreachable " + named))
      << server->Log();
}

// The database going away under two replicas and coming back: calls meanwhile
// fail UNAVAILABLE saying so, the replicas recover without a restart, a
// Watch open through the outage goes on with every event exactly once, and
// every acknowledged write is there afterwards.
TEST(ReplicaOutageTest, ReplicasRecoverWhenTheDatabaseComesBack) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  const int pg_port = DsnPort(pg->dsn);
  ASSERT_GT(pg_port, 0) << pg->dsn;
  DatabaseLink link(pg_port);
  ASSERT_GT(link.port(), 0);
  TempDir dir;
  const std::vector<std::string> args =
      PgArgs(WithDsnEntry(pg->dsn, "port", std::to_string(link.port())),
             TestTable(dir.path() + "/outage"));
  auto a = ServerProcess::Start(dir.path() + "/a", args);
  ASSERT_NE(a, nullptr);
  auto b = ServerProcess::Start(dir.path() + "/b", args);
  ASSERT_NE(b, nullptr);
  ClientOptions options;
  options.timeout = absl::Seconds(15);
  options.max_attempts = 1;  // each call counted as made
  options.target = a->address();
  auto via_a = Client::Connect(options);
  ASSERT_TRUE(via_a.ok()) << via_a.status();
  options.target = b->address();
  auto via_b = Client::Connect(options);
  ASSERT_TRUE(via_b.ok()) << via_b.status();

  constexpr int kBefore = 5, kAfter = 5;
  WatchCollector on_b(via_b->get(), {}, kBefore + kAfter);
  std::vector<std::string> acknowledged;
  for (int i = 0; i < kBefore; ++i) {
    const std::string id = absl::StrCat("before-", i);
    auto r = Create(**via_a, MakeArticle(id, id, {"outage"}, k2025 + i));
    ASSERT_TRUE(r.ok()) << id << ": " << r.status();
    acknowledged.push_back(id);
  }
  // B has followed A's commits before the outage.
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
       on_b.size() < kBefore && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(on_b.size(), static_cast<size_t>(kBefore)) << on_b.status();

  link.Cut();
  auto read = (*via_b)->Get("before-0");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable)
      << read.status();
  EXPECT_THAT(read.status().message(), ::testing::HasSubstr("PostgreSQL"));
  // Named as the operator gave it (it said `storage.dsn` once serving).
  EXPECT_THAT(read.status().message(), ::testing::HasSubstr("(--storage-dsn)"));
  auto write = Create(
      **via_a, MakeArticle("during", "during", {"outage"}, k2025 + kBefore));
  EXPECT_EQ(write.status().code(), absl::StatusCode::kUnavailable)
      << write.status();
  EXPECT_THAT(write.status().message(), ::testing::HasSubstr("PostgreSQL"));
  auto query = (*via_b)->QueryArticles({});
  EXPECT_EQ(query.status().code(), absl::StatusCode::kUnavailable)
      << query.status();

  // Readiness says so, for load balancers; "" stays SERVING, so that
  // liveness probes and the watchdog restart no replica for the database.
  const std::string readiness = "content.v1.Readiness";
  for (const ServerProcess* server : {a.get(), b.get()}) {
    EXPECT_EQ(HealthBecomes(*server, readiness, 2), 2) << server->Log();
    EXPECT_EQ(HealthBecomes(*server, "", 1), 1);
    EXPECT_THAT(server->Log(),
                ::testing::HasSubstr("contentd: readiness: NOT_SERVING "
                                     "(content.v1.Readiness) until the store "
                                     "answers again: storage: PostgreSQL "
                                     "unreachable (--storage-dsn)"));
  }
  // The scheduler, cut off, says what happened, with libpq's reason (it
  // passed on libpqxx's words alone: "Connection to database failed",
  // "Could not obtain client encoding"). Its first failing call is its
  // lease, or, when the cut falls between the lease and the poll's read
  // (a loaded machine, CI 12-05), that read.
  for (const ServerProcess* server : {a.get(), b.get()}) {
    const std::string line = LogLine(*server, "contentd: schedule: ");
    EXPECT_THAT(
        line,
        ::testing::AnyOf(
            ::testing::HasSubstr("contentd: schedule: storage: PostgreSQL "
                                 "unreachable (--storage-dsn): "),
            ::testing::HasSubstr("contentd: schedule: storage: PostgreSQL "
                                 "unavailable (--storage-dsn) while reading")))
        << server->Log();
    EXPECT_THAT(line, ::testing::AnyOf(
                          ::testing::HasSubstr("this replica's leases"),
                          ::testing::HasSubstr("connection to server at")));
    EXPECT_THAT(line, ::testing::Not(::testing::HasSubstr("client encoding")));
  }

  // Back: the next calls succeed, through the same processes.
  link.Restore();
  for (const ServerProcess* server : {a.get(), b.get()}) {
    EXPECT_EQ(HealthBecomes(*server, readiness, 1), 1) << server->Log();
    EXPECT_THAT(LogLine(*server, "contentd: readiness: the store answers"),
                ::testing::Not(::testing::IsEmpty()));
  }
  for (int i = 0; i < kAfter; ++i) {
    const std::string id = absl::StrCat("after-", i);
    Client& c = i % 2 == 0 ? **via_a : **via_b;
    auto r = Create(c, MakeArticle(id, id, {"outage"}, k2025 + 10 + i));
    ASSERT_TRUE(r.ok()) << id << ": " << r.status();
    acknowledged.push_back(id);
  }
  for (const std::string& id : acknowledged) {
    for (Client* c : {via_a->get(), via_b->get()}) {
      auto r = c->Get(id);
      EXPECT_TRUE(r.ok()) << id << ": " << r.status();
    }
  }
  // The Watch opened before the outage saw every acknowledged create, once
  // and in order (a write that failed took no sequence).
  ASSERT_TRUE(on_b.WaitFor(absl::Seconds(30))) << on_b.status();
  const auto events = on_b.events();
  ASSERT_EQ(events.size(), acknowledged.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].event().sequence(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(events[i].event().name(), ArticleName(acknowledged[i]));
  }
}

// A replica's presence lock as pg_locks shows it: the key (classid, objid)
// and the backend of the presence connection holding it shared (outside
// any transaction: a write's pooled session, named alike, holds it for its
// transaction).
struct Presence {
  int64_t key = 0;
  int backend = 0;
};

// The presence lock that the replica with process id `pid` holds, waiting
// up to 30 s for it (a replica that lost it takes it again); backend 0 if
// it never came.
Presence PresenceOf(const std::string& dsn, pid_t pid) {
  Presence p;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
       absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(20))) {
    const std::string row = Psql(
        dsn, absl::StrCat(
                 "SELECT l.classid::bigint << 32 | l.objid::bigint, l.pid FROM "
                 "pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
                 "l.locktype = 'advisory' AND l.granted AND l.mode = "
                 "'ShareLock' AND a.application_name LIKE 'contentd on % "
                 "(pid ",
                 pid,
                 ")' AND a.xact_start IS NULL"));  // not a write's session
    std::vector<std::string> fields = absl::StrSplit(row, '|');
    if (fields.size() == 2 && absl::SimpleAtoi(fields[0], &p.key) &&
        absl::SimpleAtoi(fields[1], &p.backend)) {
      return p;
    }
  }
  return Presence{};
}

// Waits up to 30 s until `sql` answers `want`; its last answer.
std::string PsqlBecomes(const std::string& dsn, const std::string& sql,
                        const std::string& want) {
  std::string got;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
       absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(20))) {
    got = Psql(dsn, sql);
    if (got == want) break;
  }
  return got;
}

constexpr char kLostPresence[] =
    "storage: this replica lost its PostgreSQL presence lock (a repair may "
    "be running); writes are refused until it is re-taken";

// A replica whose presence connection is cut (pg_terminate_backend of its
// backend; a restart or a network cut does the same) while a repair takes
// the presence lock exclusively writes nothing while the repair holds it:
// every write is UNAVAILABLE saying so, readiness turns NOT_SERVING, reads
// go on; when the lock is free again writes resume, with a log line each
// way. The replica went on writing through its pool under the repair.
TEST(ReplicaPresenceTest, AReplicaThatLostItsPresenceLockRefusesWrites) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  const std::string table = TestTable(dir.path() + "/presence");
  auto a = StartReplica(dir.path() + "/a", pg->dsn, table);
  ASSERT_NE(a, nullptr);
  std::unique_ptr<Client> client = ConnectOnce(*a);
  ASSERT_NE(client, nullptr);
  Client& c = *client;
  ASSERT_TRUE(Create(c, MakeArticle("first", "first", {"p"}, k2025)).ok());
  const Presence presence = PresenceOf(pg->dsn, a->pid());
  ASSERT_NE(presence.backend, 0) << a->Log();

  // The stand-in for a repair: a session that asks for the presence lock
  // exclusively (the lock contentd --check --repair takes) and waits for
  // it, then holds it until its backend is ended.
  const std::string holder = absl::StrCat("presence_holder_", getpid());
  const char* bin = std::getenv("PG_BIN");
  std::thread holding([&] {
    RunCommand({absl::StrCat(bin != nullptr && *bin != '\0'
                                 ? bin
                                 : "/usr/lib/postgresql/15/bin",
                             "/psql"),
                pg->dsn + " application_name=" + holder, "-qAtc",
                absl::StrCat("SELECT pg_advisory_lock(", presence.key,
                             "); SELECT pg_sleep(600)")},
               "", {}, std::chrono::seconds(120));
  });
  const std::string end_holder = absl::StrCat(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
      "application_name = '",
      holder, "'");
  absl::Cleanup release = [&] {
    Psql(pg->dsn, end_holder);
    holding.join();
  };
  const std::string holder_locks = absl::StrCat(
      "SELECT string_agg(l.granted::text, ',') FROM pg_locks l JOIN "
      "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND "
      "a.application_name = '",
      holder, "'");
  ASSERT_EQ(PsqlBecomes(pg->dsn, holder_locks, "false"), "false");
  // The replica's presence session ends; the waiting holder gets the lock
  // before the replica can take it again.
  Psql(pg->dsn,
       absl::StrCat("SELECT pg_terminate_backend(", presence.backend, ")"));
  ASSERT_EQ(PsqlBecomes(pg->dsn, holder_locks, "true"), "true");

  const std::string readiness = "content.v1.Readiness";
  EXPECT_EQ(HealthBecomes(*a, readiness, 2), 2) << a->Log();
  EXPECT_EQ(HealthBecomes(*a, "", 1), 1);
  auto created = Create(c, MakeArticle("during", "during", {"p"}, k2025 + 1));
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable)
      << created.status();
  EXPECT_THAT(created.status().message(), ::testing::HasSubstr(kLostPresence));
  EXPECT_THAT(created.status().message(),
              ::testing::HasSubstr("an offline repair (contentd --check "
                                   "--repair) holds table " +
                                   table));
  auto updated = Update(c, MakeArticle("first", "changed", {"p"}, k2025));
  EXPECT_EQ(updated.status().code(), absl::StatusCode::kUnavailable)
      << updated.status();
  v1::DeleteArticleRequest del;
  del.set_name(ArticleName("first"));
  auto deleted = c.DeleteArticle(del);
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kUnavailable)
      << deleted.status();
  // Reads go on.
  auto read = c.Get("first");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->title(), "first");
  auto query = c.QueryArticles({});
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->articles_size(), 1);
  EXPECT_THAT(LogLine(*a, "contentd: " + std::string(kLostPresence)),
              ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(LogLine(*a, "contentd: readiness: NOT_SERVING"),
              ::testing::HasSubstr("holds table " + table));

  // The holder ends: the next write takes the lock again, and succeeds.
  std::move(release).Invoke();
  ASSERT_EQ(PsqlBecomes(pg->dsn, holder_locks, ""), "");
  auto after = Create(c, MakeArticle("after", "after", {"p"}, k2025 + 2));
  EXPECT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(HealthBecomes(*a, readiness, 1), 1) << a->Log();
  EXPECT_THAT(
      LogLine(*a, "presence lock on table " + table + " again; writes resume"),
      ::testing::Not(::testing::IsEmpty()));
  EXPECT_EQ(c.Get("during").status().code(), absl::StatusCode::kNotFound);
  auto first = c.Get("first");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->title(), "first");
}

// `contentd --check --repair` run right after a replica's presence
// connection was cut, while the replica writes, either is refused (the
// replica took its lock again, or a write in flight holds it) or runs
// while the replica refuses writes: never a repair under live writes. Every
// write refused says why, every one acknowledged is there, and the store
// checks clean.
TEST(ReplicaPresenceTest, ARepairInTheGapIsRefusedOrRunsWithWritesRefused) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  const std::string table = TestTable(dir.path() + "/gap");
  auto a = StartReplica(dir.path() + "/a", pg->dsn, table);
  ASSERT_NE(a, nullptr);
  std::unique_ptr<Client> writer_client = ConnectOnce(*a);
  ASSERT_NE(writer_client, nullptr);
  std::unique_ptr<Client> client = ConnectOnce(*a);
  ASSERT_NE(client, nullptr);

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::vector<absl::Status> refused;
  // The writer pauses between writes while `hold` (then `idle`) for
  // PresenceOf: a write's transaction holds the presence lock's key in the
  // same mode as the presence session, and one that began or ended as
  // PresenceOf looked (it reads pg_locks and pg_stat_activity at different
  // moments) could be taken for it and ended, the write then failing
  // mid-commit ("connection lost while committing") instead of refused.
  std::condition_variable gate;
  bool hold = false, idle = false;  // guarded by mu
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      {
        std::unique_lock<std::mutex> lock(mu);
        idle = true;
        gate.notify_all();
        gate.wait(lock, [&] { return !hold || stop; });
        idle = false;
      }
      const std::string id = absl::StrCat("gap-", i);
      auto r = Create(*writer_client, MakeArticle(id, id, {"gap"}, k2025 + i));
      std::lock_guard<std::mutex> lock(mu);
      if (r.ok()) {
        acknowledged.push_back(id);
      } else {
        refused.push_back(r.status());
      }
    }
  });
  // Stopped and joined however the test ends (an assertion below returns).
  absl::Cleanup stop_writer = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
      hold = false;
    }
    gate.notify_all();
    writer.join();
  };
  const std::vector<std::string> repair = RepairCommand(pg->dsn, table);
  int ran = 0, was_refused = 0;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    {
      std::unique_lock<std::mutex> lock(mu);
      hold = true;
      gate.wait(lock, [&] { return idle; });
    }
    const Presence presence = PresenceOf(pg->dsn, a->pid());
    if (presence.backend != 0) {
      Psql(pg->dsn,
           absl::StrCat("SELECT pg_terminate_backend(", presence.backend, ")"));
    }
    // Writing again as the repair starts.
    {
      std::lock_guard<std::mutex> lock(mu);
      hold = false;
    }
    gate.notify_all();
    ASSERT_NE(presence.backend, 0) << a->Log();
    testing::CommandResult r =
        RunCommand(repair, "", {}, std::chrono::seconds(60));
    EXPECT_FALSE(r.timed_out);
    if (r.exit_code == 2) {
      ++was_refused;
      EXPECT_THAT(r.err, ::testing::HasSubstr(" serve"));
      EXPECT_THAT(r.err, ::testing::HasSubstr("table " + table + ": "));
    } else {
      ++ran;
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
      // Nothing changed under the check: no write went through meanwhile.
      EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr("repairing")));
      // What the repair leaves behind, however soon it ended: it took the
      // presence lock exclusively, which it could only while the replica
      // held it on no session, so the replica holds it again on a new one,
      // taken once the repair let go. (Whether the replica saw the repair
      // and refused writes depends on one of its pings or writes falling
      // inside it: a log line looked for here was missed when none did.
      // Every refused write is checked below; a repair that holds the lock
      // longer is seen refusing in
      // AReplicaThatLostItsPresenceLockRefusesWrites.)
      Presence again = PresenceOf(pg->dsn, a->pid());
      for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
           again.backend == presence.backend && absl::Now() < deadline;
           absl::SleepFor(absl::Milliseconds(20))) {
        again = PresenceOf(pg->dsn, a->pid());  // the old one is still ending
      }
      EXPECT_NE(again.backend, 0) << a->Log();
      EXPECT_NE(again.backend, presence.backend) << a->Log();
    }
  }
  std::move(stop_writer).Invoke();
  std::cerr << "repairs run: " << ran << ", refused: " << was_refused
            << "; writes acknowledged: " << acknowledged.size()
            << ", refused: " << refused.size() << "\n";
  for (const absl::Status& s : refused) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_THAT(s.message(), ::testing::HasSubstr("presence lock")) << s;
  }
  EXPECT_FALSE(acknowledged.empty());
  // Serving again: the store checks clean and holds every acknowledged
  // write.
  EXPECT_EQ(HealthBecomes(*a, "content.v1.Readiness", 1), 1) << a->Log();
  ASSERT_TRUE(
      Create(*client, MakeArticle("final", "final", {"gap"}, k2025 - 1)).ok());
  for (const std::string& id : acknowledged)
    EXPECT_TRUE(client->Get(id).ok()) << id;
  auto check = client->CheckStore({});
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->ok()) << ::testing::PrintToString(check->problems());
  EXPECT_EQ(check->heads_checked(),
            static_cast<int64_t>(acknowledged.size()) + 1);
}

// psql running `sql` in a session named `name`, on a thread, until End()
// ends its backend (the way to hold a lock for a while).
class HeldSession {
 public:
  HeldSession(const std::string& dsn, const std::string& name,
              const std::string& sql)
      : dsn_(dsn), name_(name) {
    const char* bin = std::getenv("PG_BIN");
    const std::string psql = absl::StrCat(
        bin != nullptr && *bin != '\0' ? bin : "/usr/lib/postgresql/15/bin",
        "/psql");
    thread_ = std::thread([psql, dsn, name, sql] {
      RunCommand({psql, dsn + " application_name=" + name, "-qAtc", sql}, "",
                 {}, std::chrono::seconds(120));
    });
  }
  ~HeldSession() { End(); }
  void End() {
    if (!thread_.joinable()) return;
    Psql(dsn_, absl::StrCat("SELECT count(pg_terminate_backend(pid)) FROM "
                            "pg_stat_activity WHERE application_name = '",
                            name_, "'"));
    thread_.join();
  }

 private:
  const std::string dsn_;
  const std::string name_;
  std::thread thread_;
};

// Runs `contentd --check --repair` on `table` and ends its presence session
// (pg_terminate_backend) while its first write, which drops every posting
// and marks the indexes incomplete, waits for a posting row this test
// holds locked: the write then commits (it checked its hold first) and the
// repair stops at the next one. Its exit and output. The indexes must need
// a repair, and no one may serve the table.
testing::CommandResult RepairStoppedAfterItsFirstWrite(
    const std::string& dsn, const std::string& table) {
  const std::string holder = absl::StrCat("posting_holder_", getpid());
  HeldSession rows(
      dsn, holder,
      absl::StrCat("BEGIN; SELECT length(key) FROM ", table,
                   " WHERE family = 3 AND key = (SELECT key FROM ", table,
                   " WHERE family = 3 ORDER BY key DESC LIMIT 1) FOR UPDATE; "
                   "SELECT pg_sleep(600)"));
  EXPECT_EQ(PsqlBecomes(dsn,
                        absl::StrCat("SELECT count(*) FROM pg_stat_activity "
                                     "WHERE application_name = '",
                                     holder, "' AND wait_event = 'PgSleep'"),
                        "1"),
            "1");
  testing::CommandResult result;
  std::thread repair([&] {
    result = RunCommand(RepairCommand(dsn, table), "", {},
                        std::chrono::seconds(120));
  });
  const std::string repair_sessions =
      "a.application_name LIKE 'contentd --check --repair on %'";
  EXPECT_EQ(PsqlBecomes(dsn,
                        "SELECT count(*) FROM pg_stat_activity a WHERE " +
                            repair_sessions + " AND a.wait_event_type = 'Lock'",
                        "1"),
            "1")
      << "the repair's first write never waited for the held row";
  // Its presence session: the one holding the presence lock outside any
  // transaction (its write holds the write lock inside one).
  EXPECT_EQ(Psql(dsn,
                 "SELECT count(pg_terminate_backend(a.pid)) FROM "
                 "pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                 "WHERE l.locktype = 'advisory' AND l.granted AND "
                 "l.mode = 'ExclusiveLock' AND " +
                     repair_sessions + " AND a.xact_start IS NULL"),
            "1");
  EXPECT_EQ(PsqlBecomes(dsn,
                        "SELECT count(*) FROM pg_locks l JOIN "
                        "pg_stat_activity a ON a.pid = l.pid WHERE "
                        "l.locktype = 'advisory' AND l.mode = "
                        "'ExclusiveLock' AND " +
                            repair_sessions + " AND a.xact_start IS NULL",
                        "0"),
            "0");
  rows.End();
  repair.join();
  return result;
}

// SQL that sets one index counter wrong: fsck reports it, and a repair
// has work to do.
std::string DriftACounter(const std::string& table) {
  return absl::StrCat("UPDATE ", table,
                      " SET value = '\\x6300000000000000'::bytea WHERE "
                      "family = 0 AND key = (SELECT key FROM ",
                      table,
                      " WHERE family = 0 AND key LIKE 'n/%' ORDER BY key "
                      "LIMIT 1)");
}

std::string IndexRepairMarks(const std::string& dsn, const std::string& table) {
  return Psql(dsn, absl::StrCat("SELECT count(*) FROM ", table,
                                " WHERE family = 0 AND key = "
                                "'index_repair'::bytea"));
}

// A repair whose presence session ends while it runs (pg_terminate_backend
// here; a restart or a network cut alike) stops at its next write, exit 1
// saying why and what to do, and leaves the indexes marked incomplete (its
// first write had dropped them): replicas refuse to start on them.
TEST(ReplicaPresenceTest, ARepairStopsOnceItsPresenceSessionEnded) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  const std::string table = TestTable(dir.path() + "/stopped");
  {
    auto a = StartReplica(dir.path() + "/a", pg->dsn, table);
    ASSERT_NE(a, nullptr);
    ClientOptions options;
    options.target = a->address();
    auto c = Client::Connect(options);
    ASSERT_TRUE(c.ok()) << c.status();
    for (int i = 0; i < 3; ++i) {
      const std::string id = absl::StrCat("s", i);
      ASSERT_TRUE(Create(**c, MakeArticle(id, id, {"kept"}, k2025 + i)).ok());
    }
  }
  // A counter wrong: the check finds work for the repair.
  Psql(pg->dsn, DriftACounter(table));
  ASSERT_EQ(IndexRepairMarks(pg->dsn, table), "0");

  testing::CommandResult r = RepairStoppedAfterItsFirstWrite(pg->dsn, table);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("repairing indexes"));
  EXPECT_THAT(r.err, ::testing::HasSubstr(
                         "storage: the repair lost its hold on table " + table +
                         ": its PostgreSQL presence session (backend "));
  EXPECT_THAT(r.err, ::testing::HasSubstr(
                         "the repair stopped, and this write wrote nothing"));
  EXPECT_THAT(
      r.err, ::testing::HasSubstr("stop every replica and run contentd --check "
                                  "--repair again"));
  EXPECT_EQ(IndexRepairMarks(pg->dsn, table), "1");
  testing::CommandResult start =
      StartAgainst(pg->dsn, dir.path() + "/data", table);
  EXPECT_EQ(start.exit_code, 2) << start.err;
  EXPECT_THAT(start.err,
              ::testing::HasSubstr("an index repair started and did not "
                                   "finish: the indexes in table " +
                                   table + " are incomplete"));
  // A repair that runs to its end clears the mark.
  r = RunCommand(RepairCommand(pg->dsn, table), "", {},
                 std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(IndexRepairMarks(pg->dsn, table), "0");
  Psql(pg->dsn, "DROP TABLE " + table);
}

// Waits up to 30 s until `call` returns a status of `code`; the last one.
absl::Status CallBecomes(const std::function<absl::Status()>& call,
                         absl::StatusCode code) {
  absl::Status s;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
       absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(50))) {
    s = call();
    if (s.code() == code) break;
  }
  return s;
}

// A running replica and a repair, two processes on one table. The replica
// lost its presence lock and cannot take it again (a database error, which
// it tells apart from a repair); a repair then runs and stops half-way. The
// replica, which checked the indexes' repair mark only at its start,
// answered queries from the dropped indexes (nothing found). Now it
// notices the mark at its next ping: queries, tag and category lists and
// translations are refused FAILED_PRECONDITION saying why, and readiness
// turns NOT_SERVING, until a repair completes; Get and writes go on.
TEST(ReplicaIndexRepairTest,
     ARunningReplicaRefusesQueriesWhileIndexesAreIncomplete) {
  Postgres* pg = SharedPostgres();
  ASSERT_TRUE(pg->error.empty()) << pg->error;
  TempDir dir;
  const std::string table = TestTable(dir.path() + "/marked");
  const std::string role = "contentd_no_presence";
  testing::DropPgRoleAfterTest(role);
  Psql(
      pg->dsn,
      absl::StrCat("DO $$ BEGIN CREATE ROLE ", role,
                   " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; "
                   "CREATE TABLE ",
                   table,
                   " (family smallint NOT NULL, key bytea NOT NULL, value "
                   "bytea NOT NULL, PRIMARY KEY (family, key)); GRANT SELECT, "
                   "INSERT, UPDATE, DELETE ON ",
                   table, " TO ", role));
  // Without EXECUTE on the function, the replica (not a superuser) cannot
  // take its presence lock again once its session ends.
  const std::string revoke =
      "REVOKE EXECUTE ON FUNCTION pg_try_advisory_lock_shared(bigint) FROM "
      "PUBLIC";
  const std::string grant =
      "GRANT EXECUTE ON FUNCTION pg_try_advisory_lock_shared(bigint) TO "
      "PUBLIC";
  absl::Cleanup granted = [&] {
    Psql(pg->dsn, grant);
    Psql(pg->dsn, "DROP TABLE IF EXISTS " + table);
  };
  auto a = StartReplica(dir.path() + "/a", WithDsnEntry(pg->dsn, "user", role),
                        table);
  ASSERT_NE(a, nullptr);
  std::unique_ptr<Client> client = ConnectOnce(*a);
  ASSERT_NE(client, nullptr);
  Client& c = *client;
  for (int i = 0; i < 3; ++i) {
    const std::string id = absl::StrCat("m", i);
    ASSERT_TRUE(Create(c, MakeArticle(id, id, {"marked"}, k2025 + i)).ok());
  }
  v1::QueryArticlesRequest by_tag;
  by_tag.mutable_query()->add_tags("marked");
  auto query = [&] { return c.QueryArticles(by_tag).status(); };
  ASSERT_TRUE(query().ok());

  // The presence session ends and cannot be taken again: a database error,
  // which readiness and writes name as what it is, not a repair.
  Psql(pg->dsn, revoke);
  const Presence presence = PresenceOf(pg->dsn, a->pid());
  ASSERT_NE(presence.backend, 0) << a->Log();
  Psql(pg->dsn,
       absl::StrCat("SELECT pg_terminate_backend(", presence.backend, ")"));
  const std::string readiness = "content.v1.Readiness";
  EXPECT_EQ(HealthBecomes(*a, readiness, 2), 2) << a->Log();
  EXPECT_THAT(LogLine(*a, "contentd: readiness: NOT_SERVING"),
              ::testing::HasSubstr(
                  "until the store answers without this error: storage: "
                  "PostgreSQL error while taking the presence lock: ERROR:  "
                  "permission denied for function pg_try_advisory_lock_shared "
                  "(SQLSTATE 42501)"));
  // Writes are refused with that error's code, INTERNAL, naming it (they
  // were UNAVAILABLE "a repair may be running", which clients retry).
  auto refused = Create(c, MakeArticle("during", "during", {"marked"}, k2025));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInternal)
      << refused.status();
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr(
                  "storage: this replica lost its PostgreSQL presence lock "
                  "and cannot take it again: the database answers with an "
                  "error (SQLSTATE 42501), not a repair; writes are refused "
                  "until it is re-taken: PostgreSQL error while taking the "
                  "presence lock: ERROR:  permission denied for function"));
  EXPECT_EQ(ErrorReason(refused.status()), "PRESENCE_LOST");
  std::map<std::string, std::string> refused_metadata =
      ErrorMetadata(refused.status());
  EXPECT_EQ(refused_metadata["sqlstate"], "42501");
  EXPECT_EQ(refused_metadata["table"], table);

  // A repair runs meanwhile (a counter set wrong gives it work) and stops after
  // its first write.
  Psql(pg->dsn, DriftACounter(table));
  testing::CommandResult stopped =
      RepairStoppedAfterItsFirstWrite(pg->dsn, table);
  EXPECT_EQ(stopped.exit_code, 1) << stopped.out << stopped.err;
  ASSERT_EQ(IndexRepairMarks(pg->dsn, table), "1");

  // The replica notices: queries are refused, saying why.
  const absl::Status marked =
      CallBecomes(query, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(marked.code(), absl::StatusCode::kFailedPrecondition) << marked;
  EXPECT_THAT(marked.message(),
              ::testing::HasSubstr(
                  "queries are refused while the indexes are marked "
                  "incomplete: an index repair started and did not finish: "
                  "the indexes in table " +
                  table + " are incomplete"));
  EXPECT_EQ(c.ListTags({}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::ListTranslationsRequest translations;
  translations.set_name(ArticleName("m0"));
  EXPECT_EQ(c.ListTranslations(translations).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(c.Get("m1").ok());

  // Its presence lock back, it writes again; queries stay refused and
  // readiness NOT_SERVING, now for the indexes.
  Psql(pg->dsn, grant);
  EXPECT_THAT(LogLine(*a, "until an index repair completes"),
              ::testing::HasSubstr("contentd: readiness: NOT_SERVING "
                                   "(content.v1.Readiness) until an index "
                                   "repair completes (queries are refused "
                                   "meanwhile): queries are refused while "
                                   "the indexes are marked incomplete"))
      << a->Log();
  EXPECT_EQ(HealthBecomes(*a, readiness, 2), 2);
  auto written = Create(c, MakeArticle("m3", "m3", {"marked"}, k2025 + 3));
  EXPECT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(query().code(), absl::StatusCode::kFailedPrecondition);

  // A repair that completes (the replica kept out again, as above) clears
  // the mark: queries find every article again, readiness is SERVING.
  Psql(pg->dsn, revoke);
  const Presence again = PresenceOf(pg->dsn, a->pid());
  ASSERT_NE(again.backend, 0) << a->Log();
  Psql(pg->dsn,
       absl::StrCat("SELECT pg_terminate_backend(", again.backend, ")"));
  ASSERT_EQ(PsqlBecomes(pg->dsn,
                        absl::StrCat("SELECT count(*) FROM pg_stat_activity "
                                     "WHERE pid = ",
                                     again.backend),
                        "0"),
            "0");
  testing::CommandResult repaired = RunCommand(
      RepairCommand(pg->dsn, table), "", {}, std::chrono::seconds(120));
  EXPECT_EQ(repaired.exit_code, 0) << repaired.out << repaired.err;
  Psql(pg->dsn, grant);
  EXPECT_EQ(HealthBecomes(*a, readiness, 1), 1) << a->Log();
  EXPECT_TRUE(CallBecomes(query, absl::StatusCode::kOk).ok());
  auto found = c.QueryArticles(by_tag);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->articles_size(), 4);

  // A read the database refuses is INTERNAL naming why (it was
  // UNAVAILABLE, which the SDK retries), and readiness says the same.
  Psql(pg->dsn, absl::StrCat("REVOKE SELECT ON ", table, " FROM ", role));
  auto denied = c.Get("m1");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kInternal)
      << denied.status();
  EXPECT_THAT(denied.status().message(),
              ::testing::HasSubstr("storage: PostgreSQL error while reading a "
                                   "key: ERROR:  permission denied for table " +
                                   table));
  EXPECT_EQ(HealthBecomes(*a, readiness, 2), 2);
  EXPECT_THAT(LogLine(*a,
                      "without this error: storage: PostgreSQL error "
                      "while reading a key"),
              ::testing::HasSubstr("permission denied for table " + table));
  Psql(pg->dsn, absl::StrCat("GRANT SELECT ON ", table, " TO ", role));
  EXPECT_EQ(HealthBecomes(*a, readiness, 1), 1);
}

// What `sql`, a SELECT count(*), returns on `dsn`; -1 if it fails.
int CountOf(const std::string& dsn, const std::string& sql) {
  int n = 0;
  return absl::SimpleAtoi(Psql(dsn, sql), &n) ? n : -1;
}

// `table` held ACCESS EXCLUSIVE (what VACUUM FULL and LOCK TABLE take) by a
// session of its own named `name`, for 120 s at most or until End().
class TableLock {
 public:
  TableLock(const std::string& dsn, const std::string& table,
            const std::string& name)
      : dsn_(dsn),
        granted_(absl::StrCat(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s ON "
            "s.pid = l.pid WHERE l.mode = 'AccessExclusiveLock' AND l.granted "
            "AND s.application_name = '",
            name, "'")),
        session_(dsn, name,
                 absl::StrCat("BEGIN; LOCK TABLE ", table,
                              " IN ACCESS EXCLUSIVE MODE; SELECT "
                              "pg_sleep(120)")) {}

  // Whether PostgreSQL granted it, waiting up to 30 s.
  bool AwaitGranted() {
    for (const absl::Time end = absl::Now() + absl::Seconds(30);
         !Held() && absl::Now() < end;) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return Held();
  }
  bool Held() { return CountOf(dsn_, granted_) == 1; }

  // How many of `replica`'s sessions wait on a lock, once at least `n` do
  // (or after 30 s).
  int AwaitWaiting(const ServerProcess& replica, int n) {
    const std::string waiting = absl::StrCat(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
        "'Lock' AND application_name LIKE 'contentd on % (pid ",
        replica.pid(), ")'");
    for (const absl::Time end = absl::Now() + absl::Seconds(30);
         CountOf(dsn_, waiting) < n && absl::Now() < end;) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return CountOf(dsn_, waiting);
  }

  void End() { session_.End(); }

 private:
  const std::string dsn_;
  const std::string granted_;
  HeldSession session_;
};

// `replica` answers a health check and GetServerInfo on new connections,
// and `lock` was held throughout.
void ExpectAnswering(const ServerProcess& replica, TableLock& lock) {
  auto channel = grpc::CreateChannel(replica.address(),
                                     grpc::InsecureChannelCredentials());
  int serving = -1;
  grpc::Status health = testing::CheckHealth(*channel, "", &serving);
  EXPECT_TRUE(health.ok()) << health.error_code() << " "
                           << health.error_message();
  EXPECT_EQ(serving, 1);
  std::unique_ptr<Client> other = ConnectOnce(replica);
  ASSERT_NE(other, nullptr);
  auto info = other->GetServerInfo({});
  EXPECT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(lock.Held()) << "the lock went before the checks";
}

// A replica on a table of its own whose table a session then locks.
class ReplicaWaitTest : public ::testing::Test {
 protected:
  // Starts the replica, creates `n` articles PREFIX0, PREFIX1, ... tagged
  // "lock", and locks the table in a session named LOCKER_PID.
  void StartLocked(const std::string& prefix, int n,
                   const std::string& locker) {
    Postgres* pg = SharedPostgres();
    ASSERT_TRUE(pg->error.empty()) << pg->error;
    const std::string table = TestTable(dir_.path() + "/locked");
    a_ = StartReplica(dir_.path() + "/a", pg->dsn, table);
    ASSERT_NE(a_, nullptr);
    std::unique_ptr<Client> client = ConnectOnce(*a_);
    ASSERT_NE(client, nullptr);
    for (int i = 0; i < n; ++i) {
      const std::string id = absl::StrCat(prefix, i);
      ASSERT_TRUE(Create(*client, MakeArticle(id, id, {"lock"}, k2025)).ok());
    }
    lock_ = std::make_unique<TableLock>(pg->dsn, table,
                                        absl::StrCat(locker, getpid()));
    ASSERT_TRUE(lock_->AwaitGranted()) << "the table lock was not taken";
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> a_;
  std::unique_ptr<TableLock> lock_;
};

// Reads that wait on the database (here on a table lock, as VACUUM FULL or
// LOCK TABLE takes; likewise a silent network or a pool with every
// connection in use) leave the replica answering everything else: a
// health check and GetServerInfo on new connections. The waiting reads ran
// on gRPC's callback threads (two on two cores) and stopped the server:
// no health answer, no new connection, until the lock went. (Updates wait
// on write threads already.)
TEST_F(ReplicaWaitTest, ReadsWaitingOnTheDatabaseLeaveTheReplicaAnswering) {
  // More reads than gRPC has callback threads anywhere (at most 16).
  constexpr int kCalls = 20;
  ASSERT_NO_FATAL_FAILURE(StartLocked("l", kCalls, "table_locker_"));

  // Each call on a client of its own, so that none waits behind another's
  // connection.
  std::vector<absl::Status> results(kCalls);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      ClientOptions options;
      options.target = a_->address();
      options.timeout = absl::Seconds(90);
      options.max_attempts = 1;
      auto c = Client::Connect(options);
      results[i] =
          c.ok() ? (*c)->Get(absl::StrCat("l", i)).status() : c.status();
    });
  }
  absl::Cleanup join = [&] {
    lock_->End();
    for (std::thread& t : callers) t.join();
  };
  // Until at least two of them wait on the lock in the database.
  ASSERT_GE(lock_->AwaitWaiting(*a_, 2), 2) << a_->Log();

  // A new connection is answered while they wait.
  ExpectAnswering(*a_, *lock_);

  // Once the lock goes, every waiting call completes.
  std::move(join).Invoke();
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(results[i].ok()) << "call " << i << ": " << results[i];
  }
}

// As above, of exports: each reads its pages on a read thread, not on
// gRPC's callback threads, which exports waiting on the lock left answering
// nothing (health DEADLINE_EXCEEDED).
TEST_F(ReplicaWaitTest, ExportsWaitingOnTheDatabaseLeaveTheReplicaAnswering) {
  constexpr int kArticles = 5;
  ASSERT_NO_FATAL_FAILURE(StartLocked("e", kArticles, "export_locker_"));

  // More exports than gRPC has callback threads anywhere (at most 16), each
  // on a client of its own.
  constexpr int kCalls = 20;
  std::vector<absl::Status> results(kCalls);
  std::vector<int> exported(kCalls, 0);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      ClientOptions options;
      options.target = a_->address();
      options.timeout = absl::Seconds(90);
      options.max_attempts = 1;
      auto c = Client::Connect(options);
      if (!c.ok()) {
        results[i] = c.status();
        return;
      }
      v1::ExportArticlesRequest request;
      request.mutable_query()->set_visibility(v1::VISIBILITY_ALL);
      results[i] = (*c)->ExportArticles(request, [&, i](const v1::Article&) {
        ++exported[i];
        return true;
      });
    });
  }
  absl::Cleanup join = [&] {
    lock_->End();
    for (std::thread& t : callers) t.join();
  };
  ASSERT_GE(lock_->AwaitWaiting(*a_, 2), 2) << a_->Log();

  // A new connection is answered while they wait.
  ExpectAnswering(*a_, *lock_);

  // Once the lock goes, every export completes, whole.
  std::move(join).Invoke();
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(results[i].ok()) << "export " << i << ": " << results[i];
    EXPECT_EQ(exported[i], kArticles) << "export " << i;
  }
}

// As above, of watches: each reads its start and a backlog the hub's tail
// does not hold on a read thread. 20 watches from the oldest event waiting
// on the lock left health DEADLINE_EXCEEDED (after 10 s).
TEST_F(ReplicaWaitTest, WatchesWaitingOnTheDatabaseLeaveTheReplicaAnswering) {
  constexpr int kArticles = 5;
  ASSERT_NO_FATAL_FAILURE(StartLocked("w", kArticles, "watch_locker_"));

  // More watches than gRPC has callback threads anywhere (at most 16), each
  // on a client of its own, half of them filtered; each stops after the
  // articles' creations.
  constexpr int kCalls = 20;
  std::vector<absl::Status> results(kCalls);
  std::vector<std::vector<std::string>> seen(kCalls);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      ClientOptions options;
      options.target = a_->address();
      options.max_attempts = 1;
      auto c = Client::Connect(options);
      if (!c.ok()) {
        results[i] = c.status();
        return;
      }
      v1::WatchArticlesRequest request;
      if (i % 2 == 1) request.mutable_filter()->add_tags("lock");
      results[i] =
          (*c)->Watch(request, [&, i](const v1::WatchArticlesResponse& e) {
            seen[i].push_back(e.event().name());
            return seen[i].size() < kArticles;
          });
    });
  }
  absl::Cleanup join = [&] {
    lock_->End();
    for (std::thread& t : callers) t.join();
  };
  ASSERT_GE(lock_->AwaitWaiting(*a_, 2), 2) << a_->Log();

  // A new connection is answered while they wait.
  ExpectAnswering(*a_, *lock_);

  // Once the lock goes, every watch gets each creation once, in order.
  std::move(join).Invoke();
  std::vector<std::string> want;
  for (int i = 0; i < kArticles; ++i)
    want.push_back(absl::StrCat("articles/w", i));
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(results[i].ok()) << "watch " << i << ": " << results[i];
    EXPECT_EQ(seen[i], want) << "watch " << i;
  }
}

// `contentctl watch` waits for a database that holds its reads up, as the
// watch's stream does: its first call, which asks whether the server is
// there at all, read tags, and one waiting on the lock past --timeout ended
// the watch, exit 1 `DEADLINE_EXCEEDED: Deadline Exceeded`.
TEST_F(ReplicaWaitTest, CliWatchWaitsForTheDatabase) {
  ASSERT_NO_FATAL_FAILURE(StartLocked("c", 1, "cli_locker_"));

  testing::CommandResult watch;
  std::thread watcher([&] {
    watch = testing::Ctl(*a_, {"--timeout", "500ms", "watch", "--count", "1"});
  });
  absl::Cleanup join = [&] {
    lock_->End();
    watcher.join();
  };
  ASSERT_GE(lock_->AwaitWaiting(*a_, 1), 1) << a_->Log();
  // Past --timeout, so that a first call waiting on the lock has given up.
  absl::SleepFor(absl::Seconds(2));
  std::move(join).Invoke();
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_EQ(watch.out, "1 CREATED articles/c0 1\n") << watch.err;
}

}  // namespace
}  // namespace content
