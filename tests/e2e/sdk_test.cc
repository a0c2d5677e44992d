// End-to-end: a real contentd on an ephemeral loopback port, driven through
// the C++ client SDK.
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/connect_check.h"
#include "content/client.h"
#include "content/v1/content_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::CheckHealth;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::testing::HasSubstr;

google::protobuf::Timestamp Date(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

constexpr int64_t kDay = 86400;
constexpr int64_t k2025 = 1735689600;  // 2025-01-01T00:00:00Z

v1::Article MakeArticle(const std::string& title, std::vector<std::string> tags,
                        int64_t date, std::string lang = "zh-CN",
                        std::string category = "news") {
  v1::Article a;
  a.set_title(title);
  *a.mutable_date() = Date(date);
  for (auto& t : tags) a.add_tags(t);
  a.add_lang(lang);
  a.add_categories(category);
  a.set_summary("摘要：" + title);
  a.set_body("# " + title + "\n\n正文。Body text.\n");
  a.set_comments(false);
  a.set_pager(true);
  a.add_widgets("search");
  return a;
}

// A socket listening on an ephemeral loopback port, which it sets in
// `port`; -1 (a test failure) if there is none.
int ListenOnLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot listen on loopback";
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

// Forwards loopback connections to `port`, holding what the server sends
// on each for `hold` before passing it on: a distant or slow server, whose
// HTTP/2 SETTINGS frame comes late. Counts the connections.
class SlowRelay {
 public:
  SlowRelay(int port, absl::Duration hold) : port_(port), hold_(hold) {
    fd_ = ListenOnLoopback(&listen_port_);
    if (fd_ >= 0) accepter_ = std::thread([this] { Accept(); });
  }
  ~SlowRelay() {
    stop_ = true;
    if (accepter_.joinable()) accepter_.join();
    for (std::thread& t : pipes_) t.join();
    close(fd_);
  }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(listen_port_);
  }
  int connections() const { return connections_; }

 private:
  void Accept() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int client = accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      to.sin_port = htons(static_cast<uint16_t>(port_));
      if (connect(server, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
        close(server);
        close(client);
        continue;
      }
      ++connections_;
      pipes_.emplace_back([this, client, server] { Pipe(client, server); });
    }
  }
  static bool WriteAll(int fd, const char* data, size_t n) {
    while (n > 0) {
      const ssize_t w = write(fd, data, n);
      if (w <= 0) return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  // Until either side closes or the relay stops.
  void Pipe(int client, int server) {
    const absl::Time release = absl::Now() + hold_;
    std::string held;
    char buf[16384];
    while (!stop_) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (poll(p, 2, 10) < 0) break;
      if (p[0].revents != 0) {
        const ssize_t n = read(client, buf, sizeof(buf));
        if (n <= 0 || !WriteAll(server, buf, static_cast<size_t>(n))) break;
      }
      if (p[1].revents != 0) {
        const ssize_t n = read(server, buf, sizeof(buf));
        if (n <= 0) break;
        held.append(buf, static_cast<size_t>(n));
      }
      if (!held.empty() && absl::Now() >= release) {
        if (!WriteAll(client, held.data(), held.size())) break;
        held.clear();
      }
    }
    close(client);
    close(server);
  }

  const int port_;
  const absl::Duration hold_;
  int fd_ = -1;
  int listen_port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread accepter_;
  std::vector<std::thread> pipes_;  // the accepter's until it is joined
};

class SdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = ServerProcess::Start(dir_.path() + "/data");
    ASSERT_NE(server_, nullptr);
    Connect();
  }
  void Connect() {
    ClientOptions options;
    options.target = server_->address();
    options.timeout = absl::Seconds(10);
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(options);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
  }
  v1::Article Create(const std::string& id, const v1::Article& a) {
    v1::CreateArticleRequest req;
    req.set_article_id(id);
    *req.mutable_article() = a;
    absl::StatusOr<v1::Article> r = client_->CreateArticle(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::Article();
  }
  absl::StatusOr<v1::Article> Update(const std::string& id, v1::Article a,
                                     int64_t expected = 0) {
    v1::UpdateArticleRequest req;
    a.set_name(ArticleName(id));
    *req.mutable_article() = a;
    req.set_expected_revision(expected);
    return client_->UpdateArticle(req);
  }
  // Every name the query returns, walking all pages of `page_size`.
  std::vector<std::string> QueryAll(const v1::Query& q, int page_size) {
    std::vector<std::string> names;
    std::string token;
    for (int pages = 0; pages < 1000; ++pages) {
      v1::QueryArticlesRequest req;
      *req.mutable_query() = q;
      req.set_page_size(page_size);
      req.set_page_token(token);
      absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      EXPECT_LE(r->articles_size(), page_size);
      for (const auto& a : r->articles()) names.push_back(a.name());
      token = r->next_page_token();
      if (token.empty()) break;
    }
    return names;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

// A loopback "server" that counts connection attempts and serves none.
//  - kDropCalls: answers each connection's HTTP/2 preface with its SETTINGS,
//    waits for the call's HEADERS frame, and closes the connection: every
//    call attempt reaches the wire and is cut off unanswered, as when
//    contentd dies after its commit. Counts the calls, and the connections
//    the client closed in turn (client_closes()): it closes one once its
//    channel has seen the end, so a call made after that does not go out on
//    the dead connection.
//  - kCloseConnections: accepts each connection and closes it at once, so
//    that every connection attempt fails (as against a server that is
//    down) and the client's reconnect backoff grows. Counts the
//    connections.
//  - kCancelCalls: keeps each connection and answers every call's HEADERS
//    with RST_STREAM CANCEL, as gRPC 1.51's server ends a call that
//    arrives as a stop begins, before contentd sees it. Counts the calls.
class FakeListener {
 public:
  enum Mode { kDropCalls, kCloseConnections, kCancelCalls };
  explicit FakeListener(Mode mode) : mode_(mode) {
    fd_ = ListenOnLoopback(&port_);
    if (fd_ >= 0) thread_ = std::thread([this] { Serve(); });
  }
  ~FakeListener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int attempts() const { return attempts_; }
  // Waits (at most `polls` times 10 ms) for attempts() to reach `n`.
  bool WaitForAttempts(int n, int polls) const {
    for (int i = 0; i < polls && attempts_ < n; ++i)
      absl::SleepFor(absl::Milliseconds(10));
    return attempts_ >= n;
  }
  // kDropCalls: waits (at most `timeout`) for the client to have closed `n`
  // of the connections dropped.
  bool WaitForClientCloses(int n, absl::Duration timeout) const {
    for (const absl::Time end = absl::Now() + timeout;
         client_closes_ < n && absl::Now() < end;) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return client_closes_ >= n;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      static constexpr char kSettings[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
      if (mode_ == kCancelCalls) {
        if (write(conn, kSettings, sizeof(kSettings)) == sizeof(kSettings))
          CancelEachCall(conn);
        close(conn);
        continue;
      }
      if (mode_ == kCloseConnections) {
        ++attempts_;
      } else if (write(conn, kSettings, sizeof(kSettings)) ==
                     sizeof(kSettings) &&
                 SawHeaders(conn)) {
        ++attempts_;
        // The end of our side (FIN); the client closes its own once its
        // transport has seen it.
        shutdown(conn, SHUT_WR);
        if (SawClose(conn)) ++client_closes_;
      }
      close(conn);
    }
  }
  // Reads and drops what the client sends until it closes the connection,
  // for at most about 5 s. Whether it did.
  bool SawClose(int conn) {
    for (int polls = 0; polls < 100 && !stop_;) {
      pollfd p{conn, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) {
        ++polls;
        continue;
      }
      char buf[4096];
      if (read(conn, buf, sizeof(buf)) <= 0) return true;
    }
    return false;
  }
  // Answers each HEADERS frame with RST_STREAM (type 3) CANCEL (8) on its
  // stream, until the client goes or is quiet for about 5 s.
  void CancelEachCall(int conn) {
    ReadFrames(conn, [&](const char* stream_id) {
      const char rst[13] = {
          0, 0, 4, 3, 0, stream_id[0], stream_id[1], stream_id[2], stream_id[3],
          0, 0, 0, 8};
      ++attempts_;  // before the client can see the answer
      return write(conn, rst, sizeof(rst)) == sizeof(rst);
    });
  }
  // Reads the client preface and frames until a HEADERS frame (type 1), for
  // at most about 5 s.
  bool SawHeaders(int conn) {
    return ReadFrames(conn, [](const char*) { return false; });
  }
  // Reads the client preface and frames, calling `on_headers` with each
  // HEADERS frame's stream id (4 bytes) until it returns false, for at most
  // about 5 s without a frame. Whether a HEADERS frame came.
  bool ReadFrames(
      int conn, const std::function<bool(const char* stream_id)>& on_headers) {
    std::string in;
    size_t pos = 24;  // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    bool saw = false;
    for (int polls = 0; polls < 100 && !stop_;) {
      while (in.size() >= pos + 9) {
        const size_t length = (static_cast<unsigned char>(in[pos]) << 16) |
                              (static_cast<unsigned char>(in[pos + 1]) << 8) |
                              static_cast<unsigned char>(in[pos + 2]);
        if (in[pos + 3] == 1) {
          saw = true;
          if (!on_headers(&in[pos + 5])) return true;
          polls = 0;
        }
        pos += 9 + length;
      }
      pollfd p{conn, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) {
        ++polls;
        continue;
      }
      char buf[4096];
      const ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) return saw;
      in.append(buf, n);
    }
    return saw;
  }

  const Mode mode_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> attempts_{0};
  std::atomic<int> client_closes_{0};
  std::thread thread_;
};

// The options of the retry tests: 3 attempts.
ClientOptions RetryOptions(const FakeListener& server) {
  ClientOptions o;
  o.target = server.address();
  o.max_attempts = 3;
  o.timeout = absl::Seconds(20);
  return o;
}

// How many calls a Get through a new client reached a new listener in
// `mode` with, ending `code`.
int ReadAttempts(FakeListener::Mode mode, absl::StatusCode code) {
  FakeListener server(mode);
  absl::StatusOr<std::unique_ptr<Client>> c =
      Client::Connect(RetryOptions(server));
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return 0;
  EXPECT_EQ((*c)->Get("retried").status().code(), code);
  return server.attempts();
}

// A Create through `c` ends `code`; returns its status.
absl::Status ExpectCreateEnds(Client& c, absl::StatusCode code) {
  v1::CreateArticleRequest create;
  *create.mutable_article() = MakeArticle("Once", {}, k2025);
  absl::Status s = c.CreateArticle(create).status();
  EXPECT_EQ(s.code(), code) << s;
  return s;
}

// What a sent write that gRPC ended says: whether it ran is unknown.
constexpr char kMayHaveBeenApplied[] =
    "the write was sent and may have been applied: read it back before "
    "writing again";

// A reply lost after the call reached the server is retried for a read, but
// not for a write, which the server may have applied.
TEST(SdkRetryTest, ReadsAreRetriedAndWritesSentOnce) {
  EXPECT_GT(
      ReadAttempts(FakeListener::kDropCalls, absl::StatusCode::kUnavailable),
      1);
  FakeListener server(FakeListener::kDropCalls);
  absl::StatusOr<std::unique_ptr<Client>> c =
      Client::Connect(RetryOptions(server));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(ExpectCreateEnds(**c, absl::StatusCode::kUnavailable).message(),
              HasSubstr(kMayHaveBeenApplied));
  EXPECT_EQ(server.attempts(), 1);
  // Until the client has seen that connection close, the channel still
  // looks READY and the next write would go out on it and fail unseen (as
  // ClientOptions says such a write may); once it has, the write waits for
  // a new connection and reaches the listener. Its transport closes the
  // socket once it has seen the close, after marking itself closed.
  ASSERT_TRUE(server.WaitForClientCloses(1, absl::Seconds(30)))
      << "the client did not close the connection the listener dropped";
  v1::DeleteArticleRequest del;
  del.set_name(ArticleName("once"));
  EXPECT_EQ((*c)->DeleteArticle(del).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.attempts(), 2);
}

// contentctl, which adds its own hint to a connection lost during a call,
// says once that a write may have been applied: the SDK says it now.
TEST(SdkRetryTest, ContentctlSaysOnceThatALostWriteMayHaveBeenApplied) {
  FakeListener server(FakeListener::kDropCalls);
  const content::testing::CommandResult r = content::testing::RunCommand(
      {content::testing::ContentctlBinary(), "--server", server.address(),
       "delete", "once"},
      "", {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(kMayHaveBeenApplied));
  EXPECT_THAT(r.err, HasSubstr("(the connection to " + server.address() +
                               " was lost during the call, as when the "
                               "server stops or restarts)"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("may or may not")));
}

// A read that the server ends CANCELLED without running it (gRPC's server
// does so to a call arriving as a stop begins) is retried like an
// UNAVAILABLE one; a write is sent once, since a CANCELLED write may have
// been applied, and says so: gRPC's bare "CANCELLED" read as if the
// program had cancelled it.
TEST(SdkRetryTest, AReadTheServerCancelledIsRetriedAndAWriteIsNot) {
  EXPECT_EQ(
      ReadAttempts(FakeListener::kCancelCalls, absl::StatusCode::kCancelled),
      3);
  FakeListener server(FakeListener::kCancelCalls);
  absl::StatusOr<std::unique_ptr<Client>> c =
      Client::Connect(RetryOptions(server));
  ASSERT_TRUE(c.ok()) << c.status();
  const absl::Status s = ExpectCreateEnds(**c, absl::StatusCode::kCancelled);
  EXPECT_THAT(s.message(),
              HasSubstr("cancelled by the server, not by this program"));
  EXPECT_THAT(s.message(), HasSubstr(kMayHaveBeenApplied));
  EXPECT_EQ(server.attempts(), 1);
}

// After a long outage gRPC tries to reconnect only every few seconds (its
// backoff grows to 5 s), so a call made once the server was back failed for
// up to that long, and a write, which waits max_attempts seconds for a
// connection, gave up with "the write was not sent" while the server
// answered. A call on a channel that found no server makes it try again at
// once. Checked right after one of the channel's own attempts, when its next
// is seconds away (the 9th waits about 4 s): each call must bring one
// within its one second.
TEST(SdkRetryTest, ACallAfterALongOutageTriesToConnectAtOnce) {
  // One server and client for a write, one for a read: each call resets
  // its channel's backoff. Both back off at once.
  FakeListener write_server(FakeListener::kCloseConnections);
  FakeListener read_server(FakeListener::kCloseConnections);
  ClientOptions o;
  o.max_attempts = 1;  // a write waits 1 s for a connection; no read retries
  o.target = write_server.address();
  absl::StatusOr<std::unique_ptr<Client>> writer = Client::Connect(o);
  ASSERT_TRUE(writer.ok()) << writer.status();
  o.target = read_server.address();
  absl::StatusOr<std::unique_ptr<Client>> reader = Client::Connect(o);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*writer)->Get("x").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*reader)->Get("x").status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(write_server.WaitForAttempts(9, 3000)) << write_server.attempts();
  ASSERT_TRUE(read_server.WaitForAttempts(9, 3000)) << read_server.attempts();

  int before = write_server.attempts();
  ASSERT_TRUE(write_server.WaitForAttempts(before + 1, 1000));
  before = write_server.attempts();
  v1::CreateArticleRequest create;
  *create.mutable_article() = MakeArticle("Back", {}, k2025);
  absl::Status s = (*writer)->CreateArticle(create).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("the write was not sent"));
  EXPECT_GT(write_server.attempts(), before)
      << "the write waited without trying to connect";

  before = read_server.attempts();
  ASSERT_TRUE(read_server.WaitForAttempts(before + 1, 1000));
  before = read_server.attempts();
  EXPECT_EQ((*reader)->Get("x").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_TRUE(read_server.WaitForAttempts(before + 1, 50))
      << "the read did not try to connect";
}

// A Cancel while Watch pauses between reconnects (the server away) ends
// the pause: Watch returns OK at once, with no further attempt. The pause
// slept to its end, up to 2 s, before Watch saw the cancel. Cancelled
// after the 6th attempt, which is followed by a 2 s pause (100 ms doubling;
// max_attempts 1: no gRPC retries inside an attempt).
TEST(SdkWatchTest, ACancelDuringTheReconnectPauseReturnsAtOnce) {
  FakeListener server(FakeListener::kDropCalls);
  ClientOptions o;
  o.max_attempts = 1;
  o.target = server.address();
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  WatchCanceller canceller;
  std::atomic<int> losses{0};
  WatchHooks hooks;
  hooks.on_lost = [&](const absl::Status&, int64_t) { ++losses; };
  std::promise<absl::Status> done;
  std::thread watcher([&] {
    done.set_value((*c)->Watch(
        v1::WatchArticlesRequest(),
        [](const v1::WatchArticlesResponse&) { return true; }, &canceller,
        hooks));
  });
  const bool paused = server.WaitForAttempts(6, 3000);
  const int attempts = server.attempts();
  const absl::Time cancelled = absl::Now();
  canceller.Cancel();
  std::future<absl::Status> result = done.get_future();
  // Far above the expected (no wait); the test's point is that it returns
  // without sleeping out the pause, which the report shows in the log.
  const bool returned =
      result.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  const absl::Duration took = absl::Now() - cancelled;
  watcher.join();
  ASSERT_TRUE(paused) << server.attempts();
  ASSERT_TRUE(returned);
  EXPECT_TRUE(result.get().ok());
  std::cout << "Watch returned " << absl::FormatDuration(took)
            << " after Cancel\n";
  EXPECT_EQ(losses.load(), 1);
  EXPECT_EQ(server.attempts(), attempts) << "Watch tried again after Cancel";
}

// Destroying a Client ends the Watch another thread runs on it, CANCELLED,
// whether the Watch is reading a live stream or pausing between reconnects
// (the server away): a service that drops its client on shutdown need not
// cancel its watches first. The Watch read on, through a channel its
// stream kept alive, and after the next loss reconnected through the
// destroyed Client's members.
// gRPC takes GRPC_ARG_MIN_RECONNECT_BACKOFF_MS as its minimum connect
// timeout as well: at the SDK's 100 ms, a connection whose handshake took
// longer was given up, and a read failed UNAVAILABLE ("timed out before
// receiving SETTINGS frame") long before its deadline; a write waited its
// few seconds for a connection, then gave up. A slow server is not a
// down one: both wait for it within their deadline.
TEST_F(SdkTest, AServerSlowToAnswerAConnectionIsWaitedForWithinTheDeadline) {
  Create("far", MakeArticle("far", {"slow"}, k2025));
  SlowRelay relay(server_->port(), absl::Milliseconds(1500));
  ClientOptions o;
  o.target = relay.address();
  o.timeout = absl::Seconds(20);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<v1::Article> got = (*c)->Get("far");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->title(), "far");
  // One connection, kept: no attempt was given up and made again.
  EXPECT_EQ(relay.connections(), 1);

  // A write waits for its connection too (through a relay of its own: two
  // Clients of one target share gRPC's connection).
  SlowRelay write_relay(server_->port(), absl::Milliseconds(1500));
  o.target = write_relay.address();
  absl::StatusOr<std::unique_ptr<Client>> w = Client::Connect(o);
  ASSERT_TRUE(w.ok()) << w.status();
  v1::CreateArticleRequest req;
  req.set_article_id("near");
  *req.mutable_article() = MakeArticle("near", {"slow"}, k2025);
  absl::StatusOr<v1::Article> made = (*w)->CreateArticle(req);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->revision(), 1);
  EXPECT_EQ(write_relay.connections(), 1);
}

TEST_F(SdkTest, DestroyingTheClientEndsItsWatchesCancelled) {
  Create("watched", MakeArticle("Watched", {"w"}, k2025));
  // Each Watch runs on a thread, its canceller kept as a last resort: with
  // no end to the Watch, the test cancels it after failing, to join.
  struct Watcher {
    WatchCanceller canceller;
    std::promise<void> seen;
    std::promise<void> lost;
    std::promise<absl::Status> done;
    std::thread thread;
    void Start(Client* c) {
      thread = std::thread([this, c] {
        WatchHooks hooks;
        hooks.on_lost = [this](const absl::Status&, int64_t) {
          lost.set_value();
        };
        bool first = true;
        done.set_value(c->Watch(
            v1::WatchArticlesRequest(),
            [&](const v1::WatchArticlesResponse&) {
              if (first) seen.set_value();
              first = false;
              return true;
            },
            &canceller, hooks));
      });
    }
    // Whether Watch returned (within a minute), and with what; joined.
    absl::Status Finish() {
      std::future<absl::Status> f = done.get_future();
      const bool returned =
          f.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
      if (!returned) canceller.Cancel();
      thread.join();
      return returned ? f.get() : absl::DeadlineExceededError("still running");
    }
  };

  // A live stream: the event came.
  Watcher streaming;
  streaming.Start(client_.get());
  streaming.seen.get_future().wait();
  client_.reset();
  absl::Status s = streaming.Finish();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("Client was destroyed"));

  // Pausing between reconnects: the server stopped, the loss reported.
  Connect();
  Watcher pausing;
  pausing.Start(client_.get());
  pausing.seen.get_future().wait();
  server_->Stop(SIGKILL);
  pausing.lost.get_future().wait();
  client_.reset();
  s = pausing.Finish();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
}

// Destroying a Client ends a write that is waiting for a connection (up to
// max_attempts seconds, the server down) CANCELLED, unsent: the destructor
// waited the wait out, and the write then returned UNAVAILABLE. The
// listener closes every connection, as a server that is down refuses it,
// and counts them: once one has come, the write is waiting, so the Client
// is destroyed during the call, not before it.
TEST(SdkDestroyTest, DestroyingTheClientEndsAWriteWaitingForAConnection) {
  FakeListener server(FakeListener::kCloseConnections);
  ClientOptions o;
  o.target = server.address();
  o.max_attempts = 5;  // a wait of 5 s
  o.timeout = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Client> client = *std::move(c);
  Client* const shared = client.get();
  std::promise<absl::Status> done;
  std::thread writer([&] {
    v1::CreateArticleRequest create;
    create.set_article_id("waiting");
    *create.mutable_article() = MakeArticle("Waiting", {}, k2025);
    done.set_value(shared->CreateArticle(create).status());
  });
  EXPECT_TRUE(server.WaitForAttempts(1, 3000)) << "the write never dialled";
  client.reset();
  writer.join();
  const absl::Status s = done.get_future().get();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("Client was destroyed"));
}

// A ContentService in this process: each Watch gets one event and stays
// open until the client goes, each export one article, each import batch
// one result. The death tests' calls run in a child process, which a
// contentd started there would outlive.
class OneOfEachService final : public v1::ContentService::Service {
 public:
  grpc::Status WatchArticles(
      grpc::ServerContext* ctx, const v1::WatchArticlesRequest*,
      grpc::ServerWriter<v1::WatchArticlesResponse>* writer) override {
    v1::WatchArticlesResponse event;
    event.mutable_event()->set_sequence(1);
    writer->Write(event);
    while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
    return grpc::Status::OK;
  }
  grpc::Status ImportArticles(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::ImportArticlesResponse,
                               v1::ImportArticlesRequest>* stream) override {
    v1::ImportArticlesRequest batch;
    while (stream->Read(&batch)) {
      v1::ImportArticlesResponse results;
      results.add_results();
      stream->Write(results);
    }
    return grpc::Status::OK;
  }
  grpc::Status ExportArticles(
      grpc::ServerContext*, const v1::ExportArticlesRequest*,
      grpc::ServerWriter<v1::ExportArticlesResponse>* writer) override {
    v1::ExportArticlesResponse batch;
    batch.add_articles()->set_name(ArticleName("one"));
    writer->Write(batch);
    return grpc::Status::OK;
  }
};

// `service` (by default a OneOfEachService) on a loopback port while this
// lives, and Clients of it.
class InProcessServer {
 public:
  // REQUIRES: `service`, if given, outlives the server.
  explicit InProcessServer(grpc::Service* service = nullptr) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(service != nullptr ? service : &service_);
    server_ = builder.BuildAndStart();
  }
  // Cancels a Watch still open.
  ~InProcessServer() {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }
  // A Client with `o`, its target this server.
  std::unique_ptr<Client> NewClient(ClientOptions o = {}) const {
    o.target = "127.0.0.1:" + std::to_string(port_);
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

 private:
  OneOfEachService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// A ContentService whose writes never answer: each ends when its caller
// gives up.
class SilentWriteService final : public v1::ContentService::Service {
 public:
  grpc::Status CreateArticle(grpc::ServerContext* ctx,
                             const v1::CreateArticleRequest*,
                             v1::Article*) override {
    while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::CANCELLED;
  }
};

// A write sent whose deadline passed before the answer may have been
// applied; it says so, where gRPC said only "Deadline Exceeded" (a write
// that never went says "it was not sent").
TEST(SdkRetryTest, ASentWriteOutOfTimeSaysItMayHaveBeenApplied) {
  SilentWriteService service;
  InProcessServer server(&service);
  std::unique_ptr<Client> client = server.NewClient();
  ASSERT_NE(client, nullptr);
  v1::CreateArticleRequest create;
  *create.mutable_article() = MakeArticle("Late", {}, k2025);
  CallOptions call;
  call.timeout = absl::Milliseconds(300);
  const absl::Status s = client->CreateArticle(create, call).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr(kMayHaveBeenApplied));
}

// A ContentService that applies each create (records the id it was sent,
// as contentd commits it) and whose reply is lost: the call ends when its
// caller gives up, as when contentd is killed between its commit and its
// answer.
class LostReplyCreateService final : public v1::ContentService::Service {
 public:
  grpc::Status CreateArticle(grpc::ServerContext* ctx,
                             const v1::CreateArticleRequest* req,
                             v1::Article*) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ids_.push_back(req->article_id());
    }
    while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::CANCELLED;
  }
  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> ids_;
};

// A create without an id whose answer is lost may have made an article
// that only the lost answer named (contentd picked the id), so the caller
// could neither read it back, as the error says to, nor send the create
// again without making a second article. The SDK picks the id, sends it,
// and the error names it; each create gets its own.
TEST(SdkRetryTest, ALostCreateWithoutAnIdNamesTheIdItWasSentWith) {
  LostReplyCreateService service;
  InProcessServer server(&service);
  std::unique_ptr<Client> client = server.NewClient();
  ASSERT_NE(client, nullptr);
  v1::CreateArticleRequest create;
  *create.mutable_article() = MakeArticle("Lost", {}, k2025);
  CallOptions call;
  call.timeout = absl::Milliseconds(300);
  const absl::Status first = client->CreateArticle(create, call).status();
  const absl::Status second = client->CreateArticle(create, call).status();
  const std::vector<std::string> ids = service.ids();
  ASSERT_EQ(ids.size(), 2u);
  for (const std::string& id : ids)
    EXPECT_THAT(id, ::testing::MatchesRegex("[a-z0-9]{16}"));
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(first.code(), absl::StatusCode::kDeadlineExceeded) << first;
  EXPECT_THAT(first.message(), HasSubstr(kMayHaveBeenApplied));
  EXPECT_THAT(first.message(),
              HasSubstr("; it is articles/" + ids[0] +
                        ", the id this client chose as article_id was "
                        "empty)"));
  EXPECT_THAT(second.message(), HasSubstr("articles/" + ids[1]));
  // An id of the caller's own is sent as it is, and not repeated.
  create.set_article_id("mine");
  const absl::Status mine = client->CreateArticle(create, call).status();
  EXPECT_EQ(service.ids().back(), "mine");
  EXPECT_THAT(mine.message(), HasSubstr(kMayHaveBeenApplied));
  EXPECT_THAT(mine.message(), ::testing::Not(HasSubstr("this client chose")));
}

// A Client destroyed from one of its own callbacks, which the call running
// it would wait for forever (~Client waits for its calls), hung for good;
// it now aborts, saying so, whichever callback and whichever thread: the
// caller's (on_event, the hooks, next_batch, on_article) or the SDK's
// (on_results).
TEST(SdkDestroyDeathTest, DestroyedFromItsOwnCallbackAbortsSayingWhy) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        InProcessServer server;
        std::unique_ptr<Client> client = server.NewClient();
        (void)client->Watch(v1::WatchArticlesRequest(),
                            [&](const v1::WatchArticlesResponse&) {
                              client.reset();
                              return false;
                            });
      },
      "content::Client destroyed from its own Watch on_event callback, .*"
      "REQUIRES: no callback of a Client destroys it");
  EXPECT_DEATH(
      {
        FakeListener refusing(FakeListener::kCloseConnections);
        ClientOptions o;
        o.target = refusing.address();
        std::unique_ptr<Client> client = *Client::Connect(o);
        WatchHooks hooks;
        hooks.on_lost = [&](const absl::Status&, int64_t) { client.reset(); };
        (void)client->Watch(
            v1::WatchArticlesRequest(),
            [](const v1::WatchArticlesResponse&) { return true; }, nullptr,
            hooks);
      },
      "destroyed from its own Watch on_lost callback");
  EXPECT_DEATH(
      {
        InProcessServer server;
        std::unique_ptr<Client> client = server.NewClient();
        (void)client->ImportArticles(
            [&](v1::ImportArticlesRequest*) {
              client.reset();
              return false;
            },
            [](const v1::ImportArticlesResponse&) {});
      },
      "destroyed from its own ImportArticles next_batch callback");
  EXPECT_DEATH(
      {
        InProcessServer server;
        std::unique_ptr<Client> client = server.NewClient();
        bool sent = false;
        (void)client->ImportArticles(
            [&](v1::ImportArticlesRequest* batch) {
              batch->add_articles()->set_title("one");
              return !std::exchange(sent, true);
            },
            [&](const v1::ImportArticlesResponse&) { client.reset(); });
      },
      "destroyed from its own ImportArticles on_results callback");
  EXPECT_DEATH(
      {
        InProcessServer server;
        std::unique_ptr<Client> client = server.NewClient();
        (void)client->ExportArticles({}, [&](const v1::Article&) {
          client.reset();
          return false;
        });
      },
      "destroyed from its own ExportArticles on_article callback");
}

// An exception from ImportArticles' next_batch (on the caller's thread) or
// on_results (on the SDK's) ends the stream and reaches the caller, as one
// from a Watch callback does; both terminated the program ("terminate
// called without an active exception", or the exception escaping the SDK's
// thread). The Client stays usable.
TEST(SdkImportTest, AnExceptionFromACallbackReachesTheCaller) {
  InProcessServer server;
  std::unique_ptr<Client> client = server.NewClient();
  ASSERT_NE(client, nullptr);
  const auto one_article = [](v1::ImportArticlesRequest* batch) {
    v1::Article* a = batch->add_articles();
    a->set_name(ArticleName("imported"));
    a->set_title("Imported");
  };
  int batches = 0;
  EXPECT_THROW((void)client->ImportArticles(
                   [&](v1::ImportArticlesRequest* batch) {
                     if (++batches == 2)
                       throw std::runtime_error("bad input file");
                     one_article(batch);
                     return true;
                   },
                   [](const v1::ImportArticlesResponse&) {}),
               std::runtime_error);
  batches = 0;
  EXPECT_THROW((void)client->ImportArticles(
                   [&](v1::ImportArticlesRequest* batch) {
                     if (++batches > 3) return false;
                     one_article(batch);
                     return true;
                   },
                   [](const v1::ImportArticlesResponse&) {
                     throw std::runtime_error("results store down");
                   }),
               std::runtime_error);
  int results = 0;
  batches = 0;
  const absl::Status s = client->ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        if (++batches > 2) return false;
        one_article(batch);
        return true;
      },
      [&](const v1::ImportArticlesResponse&) { ++results; });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(results, 2);
}

// An import whose server stopped reading (a hung contentd, here one
// stopped with SIGSTOP; a network cut) blocked in gRPC's write of the batch
// in the socket: neither its deadline nor ~Client's cancel ends such a
// write, only the connection's drop does, keepalive_timeout later (a 3 s
// deadline ended after 10.5 s), and never with keepalives off, as here.
// The import now returns DEADLINE_EXCEEDED at its deadline, and the write
// is left to end by itself. The bound below only catches a hang: without
// keepalives nothing else ends the write while the server is stopped.
TEST(SdkImportTest, AnImportTheServerStoppedReadingEndsByItsDeadline) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  ClientOptions o;
  o.target = server->address();
  o.keepalive_time = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_EQ((*client)->Get("x").status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(kill(server->pid(), SIGSTOP), 0);
  // Batches of 1 MB fill the socket's buffers within a few.
  std::atomic<int> batches{0};
  const auto next_batch = [&](v1::ImportArticlesRequest* batch) {
    v1::Article* a = batch->add_articles();
    a->set_name(ArticleName(absl::StrCat("big-", batches.fetch_add(1))));
    a->set_title("Big");
    a->set_body(std::string(1 << 20, 'x'));
    return true;
  };
  CallOptions call;
  call.timeout = absl::Seconds(1);
  std::future<absl::Status> import = std::async(std::launch::async, [&] {
    return (*client)->ImportArticles(
        next_batch, [](const v1::ImportArticlesResponse&) {}, call);
  });
  const bool ended =
      import.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  EXPECT_TRUE(ended) << "the import outlived its deadline by a minute";

  ASSERT_EQ(kill(server->pid(), SIGCONT), 0);
  const absl::Status s = import.get();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
}

// A callback may destroy another Client: only its own would wait for it.
TEST(SdkDestroyTest, ACallbackMayDestroyAnotherClient) {
  InProcessServer server;
  std::unique_ptr<Client> client = server.NewClient();
  std::unique_ptr<Client> other = server.NewClient();
  ASSERT_NE(client, nullptr);
  ASSERT_NE(other, nullptr);
  int articles = 0;
  const absl::Status s = client->ExportArticles({}, [&](const v1::Article& a) {
    EXPECT_EQ(a.name(), ArticleName("one"));
    ++articles;
    other.reset();
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(articles, 1);
  EXPECT_EQ(other, nullptr);
}

// A cancelled WatchCanceller stays cancelled (as std::stop_source does): a
// Watch given it, or a copy, afterwards returns OK at once, before it opens
// a stream; a Watch started after the Cancel needs a new canceller.
TEST_F(SdkTest, ACancelledCancellerStopsEveryLaterWatchAtOnce) {
  Create("stopped", MakeArticle("Stopped", {"s"}, k2025));
  WatchCanceller canceller;
  canceller.Cancel();
  WatchCanceller copy = canceller;
  int events = 0;
  const auto count = [&](const v1::WatchArticlesResponse&) {
    ++events;
    return false;  // ends a Watch that did start
  };
  EXPECT_TRUE(
      client_->Watch(v1::WatchArticlesRequest(), count, &canceller).ok());
  EXPECT_TRUE(client_->Watch(v1::WatchArticlesRequest(), count, &copy).ok());
  EXPECT_EQ(events, 0);
  // A new canceller starts uncancelled: this Watch gets the event.
  WatchCanceller fresh;
  EXPECT_TRUE(client_->Watch(v1::WatchArticlesRequest(), count, &fresh).ok());
  EXPECT_EQ(events, 1);
}

// An exception from on_event ends the stream and reaches the caller, and
// the canceller stays usable: the attempt's context was left registered in
// it, a destroyed context that a later Cancel would cancel.
TEST_F(SdkTest, AnExceptionFromOnEventEndsTheStreamAndReachesTheCaller) {
  Create("thrown", MakeArticle("Thrown", {"x"}, k2025));
  WatchCanceller canceller;
  bool caught = false;
  try {
    (void)client_->Watch(
        v1::WatchArticlesRequest(),
        [](const v1::WatchArticlesResponse&) -> bool {
          throw std::runtime_error("on_event failed");
        },
        &canceller);
  } catch (const std::runtime_error& e) {
    caught = true;
    EXPECT_STREQ(e.what(), "on_event failed");
  }
  EXPECT_TRUE(caught);
  // The server saw the stream end.
  int64_t watchers = -1;
  for (int i = 0; i < 500 && watchers != 0; ++i) {
    absl::StatusOr<v1::GetStatsResponse> stats = client_->GetStats({});
    ASSERT_TRUE(stats.ok()) << stats.status();
    watchers = stats->watchers();
    if (watchers != 0) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(watchers, 0);
  // A Watch on the same canceller, stopped by it from another thread.
  std::promise<void> seen;
  std::thread stopper([&] {
    seen.get_future().wait();
    canceller.Cancel();
  });
  bool first = true;
  absl::Status s = client_->Watch(
      v1::WatchArticlesRequest(),
      [&](const v1::WatchArticlesResponse&) {
        if (first) seen.set_value();
        first = false;
        return true;
      },
      &canceller);
  stopper.join();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_FALSE(first);
}

// An exception from ExportArticles' on_article ends the stream (cancelled
// and finished) before it reaches the caller, as Watch's and
// ImportArticles' callbacks' do; the server sees the export end, and the
// Client goes on.
TEST_F(SdkTest, AnExceptionFromOnArticleEndsTheExportAndReachesTheCaller) {
  // Batches of up to 2 MiB: these 6 need three, so the server has more to
  // send when the first article throws.
  for (int i = 0; i < 6; ++i) {
    v1::Article a = MakeArticle(absl::StrCat("Big ", i), {"big"}, k2025);
    a.set_body(std::string(700 << 10, 'a' + i));
    Create(absl::StrCat("big-", i), a);
  }
  int seen = 0;
  bool caught = false;
  try {
    (void)client_->ExportArticles({}, [&](const v1::Article&) -> bool {
      ++seen;
      throw std::runtime_error("on_article failed");
    });
  } catch (const std::runtime_error& e) {
    caught = true;
    EXPECT_STREQ(e.what(), "on_article failed");
  }
  EXPECT_TRUE(caught);
  EXPECT_EQ(seen, 1);
  int exports = -1;
  for (int i = 0; i < 500 && exports != 0; ++i) {
    absl::StatusOr<v1::GetStatsResponse> stats = client_->GetStats({});
    ASSERT_TRUE(stats.ok()) << stats.status();
    exports = stats->exports();
    if (exports != 0) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(exports, 0);
  int articles = 0;
  const absl::Status s = client_->ExportArticles({}, [&](const v1::Article&) {
    ++articles;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(articles, 6);
}

// on_started comes once, before the first event, with the sequence the
// stream delivers events after (start_now: the newest event then; else
// after_sequence), so a write made once it came reaches the watch: here the
// hook itself writes, and the watch's first event is that write.
TEST_F(SdkTest, WatchOnStartedComesOnceBeforeTheFirstEventWithItsStart) {
  // A fresh store: these are sequences 1, 2 and 3.
  for (int i = 0; i < 3; ++i) {
    Create("old" + std::to_string(i), MakeArticle("Old", {"o"}, k2025));
  }
  const auto watch = [&](const v1::WatchArticlesRequest& req,
                         const std::string& id) {
    std::vector<std::string> calls;
    WatchHooks hooks;
    hooks.on_started = [&](int64_t after) {
      calls.push_back("started after " + std::to_string(after));
      Create(id, MakeArticle("Live", {"l"}, k2025));
    };
    // Without on_started nothing writes and the watch would wait forever.
    WatchCanceller canceller;
    std::promise<void> done;
    std::thread guard([&canceller, f = done.get_future()] {
      if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
        canceller.Cancel();
    });
    absl::Status s = client_->Watch(
        req,
        [&](const v1::WatchArticlesResponse& e) {
          calls.push_back("event " + std::to_string(e.event().sequence()) +
                          " " + e.event().name());
          return false;
        },
        &canceller, hooks);
    done.set_value();
    guard.join();
    EXPECT_TRUE(s.ok()) << s;
    return calls;
  };
  v1::WatchArticlesRequest now;
  now.set_start_now(true);
  EXPECT_THAT(
      watch(now, "live1"),
      ::testing::ElementsAre("started after 3", "event 4 articles/live1"));
  v1::WatchArticlesRequest after;
  after.set_after_sequence(2);
  EXPECT_THAT(
      watch(after, "live2"),
      ::testing::ElementsAre("started after 2", "event 3 articles/old2"));
}

// Runs `client`'s Watch with `req` until `events` events came, and returns
// what it reported, in order: "lost UNAVAILABLE after 3", "started after 3",
// "resumed after 3", "event 4 articles/e4". Each of `act`'s hooks runs
// after its call is recorded. A Watch still running after 60 s is
// cancelled, failing the test.
std::vector<std::string> WatchCalls(Client& client,
                                    const v1::WatchArticlesRequest& req,
                                    size_t events, const WatchHooks& act = {},
                                    absl::Status* result = nullptr) {
  std::vector<std::string> calls;
  size_t seen = 0;
  WatchHooks hooks;
  hooks.on_started = [&](int64_t after) {
    calls.push_back(absl::StrCat("started after ", after));
    if (act.on_started) act.on_started(after);
  };
  hooks.on_lost = [&](const absl::Status& s, int64_t after) {
    calls.push_back(absl::StrCat("lost ", absl::StatusCodeToString(s.code()),
                                 " after ", after));
    if (act.on_lost) act.on_lost(s, after);
  };
  hooks.on_resumed = [&](int64_t after) {
    calls.push_back(absl::StrCat("resumed after ", after));
    if (act.on_resumed) act.on_resumed(after);
  };
  WatchCanceller canceller;
  std::promise<void> done;
  std::atomic<bool> timed_out{false};
  std::thread guard([&canceller, &timed_out, f = done.get_future()] {
    if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      timed_out = true;
      canceller.Cancel();
    }
  });
  const absl::Status s = client.Watch(
      req,
      [&](const v1::WatchArticlesResponse& e) {
        calls.push_back(absl::StrCat("event ", e.event().sequence(), " ",
                                     e.event().name()));
        return ++seen < events;
      },
      &canceller, hooks);
  done.set_value();
  guard.join();
  if (result != nullptr) {
    *result = s;
  } else {
    EXPECT_TRUE(s.ok()) << s;
  }
  EXPECT_FALSE(timed_out) << "the watch had " << seen << " of " << events
                          << " events after 60 s, then was cancelled; so far "
                          << ::testing::PrintToString(calls);
  return calls;
}

// A Watch begun while its server is down reports the loss (after 0 with
// start_now: no stream started, the reconnect starts from "now"), and when
// the server comes: on_started once, with where that first stream started,
// then on_resumed with the same; a write made from on_started reaches it.
TEST_F(SdkTest, AWatchBegunWhileTheServerIsDownStartsWhenItComes) {
  // A fresh store: sequences 1 and 2.
  Create("old0", MakeArticle("Old", {"o"}, k2025));
  Create("old1", MakeArticle("Old", {"o"}, k2025));
  const auto watch = [&](const v1::WatchArticlesRequest& req,
                         const std::string& id) {
    // Refused connections until the watch has found the server away.
    server_->Stop(SIGTERM);
    WatchHooks act;
    act.on_lost = [&](const absl::Status&, int64_t) {
      EXPECT_TRUE(server_->RestartOnSamePort()) << server_->Log();
    };
    act.on_started = [&](int64_t) {
      Create(id, MakeArticle("Live", {"l"}, k2025));
    };
    return WatchCalls(*client_, req, 1, act);
  };
  v1::WatchArticlesRequest now;
  now.set_start_now(true);
  EXPECT_THAT(
      watch(now, "live0"),
      ::testing::ElementsAre("lost UNAVAILABLE after 0", "started after 2",
                             "resumed after 2", "event 3 articles/live0"));
  v1::WatchArticlesRequest after;
  after.set_after_sequence(1);
  EXPECT_THAT(
      watch(after, "live1"),
      ::testing::ElementsAre("lost UNAVAILABLE after 1", "started after 1",
                             "resumed after 1", "event 2 articles/old1"));
}

// How ScriptedWatchService answers one WatchArticles stream.
struct StreamScript {
  // Ends the stream UNAVAILABLE at once, before any metadata or event, as
  // a server that is not serving yet.
  bool refuse = false;
  // Sends `content-watch-after` first, as contentd does; an older contentd
  // sends none.
  bool send_start = true;
  // Events then sent, the sequences after the stream's start; then the
  // stream ends UNAVAILABLE (`drop`, a server that went away) or stays
  // open until the client goes.
  int events = 1;
  bool drop = false;
  // The oldest event the change log keeps as the stream starts: a watch
  // from 0 starts just before it, one from further back is refused
  // OUT_OF_RANGE, as contentd does once retention has trimmed the log.
  int64_t oldest = 1;
  // When the stream is dropped, the `content-resume-after` trailer it
  // carries (contentd's, on SHUTTING_DOWN and WATCH_TOO_SLOW), if non-zero.
  int64_t resume_after = 0;
};
enum StreamEnd { kStaysOpen, kDropped };
enum StreamStart { kSendsStart, kNoStart };
StreamScript Refused() {
  StreamScript s;
  s.refuse = true;
  return s;
}
StreamScript Serves(int events, StreamEnd end = kStaysOpen,
                    StreamStart start = kSendsStart) {
  StreamScript s;
  s.events = events;
  s.drop = end == kDropped;
  s.send_start = start == kSendsStart;
  return s;
}
// `s` with the log trimmed to start at `oldest`.
StreamScript Trimmed(StreamScript s, int64_t oldest) {
  s.oldest = oldest;
  return s;
}

// A ContentService in this process whose WatchArticles answers its streams
// as `script` says, one entry per stream in turn (the last for any after),
// in a store whose newest event is kNewest. A stream starts after the
// request's after_sequence, or after kNewest with start_now.
class ScriptedWatchService final : public v1::ContentService::Service {
 public:
  static constexpr int64_t kNewest = 5;
  explicit ScriptedWatchService(std::vector<StreamScript> script)
      : script_(std::move(script)) {}

  grpc::Status WatchArticles(
      grpc::ServerContext* ctx, const v1::WatchArticlesRequest* req,
      grpc::ServerWriter<v1::WatchArticlesResponse>* writer) override {
    const StreamScript& s = script_[std::min(streams_++, script_.size() - 1)];
    if (s.refuse) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not serving yet");
    }
    int64_t after = req->start_now() ? kNewest : req->after_sequence();
    if (!req->start_now() && after == 0) after = s.oldest - 1;
    if (after < s.oldest - 1) {
      return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "events trimmed");
    }
    if (s.send_start) {
      ctx->AddInitialMetadata("content-watch-after", std::to_string(after));
      writer->SendInitialMetadata();
    }
    for (int64_t seq = after + 1; seq <= after + s.events; ++seq) {
      v1::WatchArticlesResponse event;
      event.mutable_event()->set_sequence(seq);
      event.mutable_event()->set_name(ArticleName(absl::StrCat("e", seq)));
      if (!writer->Write(event)) return grpc::Status::OK;
    }
    if (s.drop) {
      if (s.resume_after != 0) {
        ctx->AddTrailingMetadata("content-resume-after",
                                 std::to_string(s.resume_after));
      }
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "dropped");
    }
    while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
    return grpc::Status::OK;
  }

 private:
  const std::vector<StreamScript> script_;
  std::atomic<size_t> streams_{0};
};

// What a Watch with `req` reports against a ScriptedWatchService playing
// `script`, until `events` events came. The client makes each call once
// (max_attempts 1): every stream the service answers is one the Watch sees,
// none retried inside gRPC.
std::vector<std::string> ScriptedWatchCalls(std::vector<StreamScript> script,
                                            const v1::WatchArticlesRequest& req,
                                            size_t events,
                                            absl::Status* result = nullptr) {
  ScriptedWatchService service(std::move(script));
  InProcessServer server(&service);
  ClientOptions o;
  o.max_attempts = 1;
  std::unique_ptr<Client> client = server.NewClient(o);
  if (client == nullptr) return {};
  return WatchCalls(*client, req, events, {}, result);
}

// A first stream the server refuses is a loss like any other: on_lost
// (after the request's after_sequence, or 0 with start_now), and when a
// stream starts, on_started and then on_resumed, both with its start.
// on_started comes once: a later loss is reported by on_lost and
// on_resumed alone.
TEST(SdkWatchStartTest, AFirstStreamRefusedStartsOnTheNextThenResumes) {
  v1::WatchArticlesRequest after;
  after.set_after_sequence(3);
  EXPECT_THAT(
      ScriptedWatchCalls({Refused(), Serves(1, kDropped), Serves(1)}, after, 2),
      ::testing::ElementsAre("lost UNAVAILABLE after 3", "started after 3",
                             "resumed after 3", "event 4 articles/e4",
                             "lost UNAVAILABLE after 4", "resumed after 4",
                             "event 5 articles/e5"));
  v1::WatchArticlesRequest now;
  now.set_start_now(true);
  EXPECT_THAT(
      ScriptedWatchCalls({Refused(), Serves(1)}, now, 1),
      ::testing::ElementsAre("lost UNAVAILABLE after 0", "started after 5",
                             "resumed after 5", "event 6 articles/e6"));
  // A stream that starts and is dropped before its first event: the next
  // resumes where it started, not from "now" again.
  EXPECT_THAT(
      ScriptedWatchCalls({Serves(0, kDropped), Serves(1)}, now, 1),
      ::testing::ElementsAre("started after 5", "lost UNAVAILABLE after 5",
                             "resumed after 5", "event 6 articles/e6"));
}

// A watch from the oldest event kept (after_sequence 0) whose stream is lost
// before its first event resumes where that stream started (on_lost says
// so), not from the oldest kept again: that skipped, without a word, the
// events retention trimmed meanwhile (an outage, a filter that matched
// none), where a watch must end OUT_OF_RANGE for its caller to resync.
TEST(SdkWatchStartTest, AWatchFromTheOldestResumesWhereItsFirstStreamStarted) {
  const v1::WatchArticlesRequest from_oldest;  // after_sequence 0
  EXPECT_THAT(
      ScriptedWatchCalls(
          {Trimmed(Serves(0, kDropped), 3), Trimmed(Serves(1), 3)}, from_oldest,
          1),
      ::testing::ElementsAre("started after 2", "lost UNAVAILABLE after 2",
                             "resumed after 2", "event 3 articles/e3"));
  // Event 3 trimmed before the reconnect: it is gone, and Watch says so.
  absl::Status s;
  EXPECT_THAT(
      ScriptedWatchCalls(
          {Trimmed(Serves(0, kDropped), 3), Trimmed(Serves(1), 4)}, from_oldest,
          1, &s),
      ::testing::ElementsAre("started after 2", "lost UNAVAILABLE after 2"));
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
}

// A stream contentd ends (a stop, a stall cut-off) says where to resume,
// past the events the watch's filter left out; the reconnect resumes
// there rather than after the last event delivered, which replayed them
// (and met OUT_OF_RANGE once retention had trimmed past that event, for
// a filter that matches rarely). A hint behind the last event is ignored.
TEST(SdkWatchStartTest, AReconnectResumesWhereTheServerSaid) {
  v1::WatchArticlesRequest after;
  after.set_after_sequence(3);
  StreamScript filtered_out = Serves(1, kDropped);
  filtered_out.resume_after = 9;  // events 5-9 matched no filter
  EXPECT_THAT(
      ScriptedWatchCalls({filtered_out, Serves(1)}, after, 2),
      ::testing::ElementsAre("started after 3", "event 4 articles/e4",
                             "lost UNAVAILABLE after 9", "resumed after 9",
                             "event 10 articles/e10"));
  StreamScript behind = Serves(1, kDropped);
  behind.resume_after = 2;
  EXPECT_THAT(ScriptedWatchCalls({behind, Serves(1)}, after, 2),
              ::testing::ElementsAre("started after 3", "event 4 articles/e4",
                                     "lost UNAVAILABLE after 4",
                                     "resumed after 4", "event 5 articles/e5"));
}

// A server that sends no `content-watch-after` (an older contentd): the
// watch reports its start with the first event, after the request's
// after_sequence, or with start_now just before the event (it said the
// request's 0); after a first stream refused, on_started before on_resumed
// as with a server that sends it.
TEST(SdkWatchStartTest, AServerThatSendsNoStartStartsTheWatchAtItsFirstEvent) {
  v1::WatchArticlesRequest after;
  after.set_after_sequence(7);
  EXPECT_THAT(ScriptedWatchCalls({Serves(1, kStaysOpen, kNoStart)}, after, 1),
              ::testing::ElementsAre("started after 7", "event 8 articles/e8"));
  EXPECT_THAT(
      ScriptedWatchCalls({Refused(), Serves(1, kStaysOpen, kNoStart)}, after,
                         1),
      ::testing::ElementsAre("lost UNAVAILABLE after 7", "started after 7",
                             "resumed after 7", "event 8 articles/e8"));
  EXPECT_THAT(ScriptedWatchCalls({Serves(1, kDropped, kNoStart),
                                  Serves(1, kStaysOpen, kNoStart)},
                                 after, 2),
              ::testing::ElementsAre("started after 7", "event 8 articles/e8",
                                     "lost UNAVAILABLE after 8",
                                     "resumed after 8", "event 9 articles/e9"));
  v1::WatchArticlesRequest now;
  now.set_start_now(true);
  EXPECT_THAT(ScriptedWatchCalls({Serves(1, kStaysOpen, kNoStart)}, now, 1),
              ::testing::ElementsAre("started after 5", "event 6 articles/e6"));
  EXPECT_THAT(
      ScriptedWatchCalls({Refused(), Serves(1, kStaysOpen, kNoStart)}, now, 1),
      ::testing::ElementsAre("lost UNAVAILABLE after 0", "started after 5",
                             "resumed after 5", "event 6 articles/e6"));
}

// A request protobuf cannot send (a string that is not UTF-8) is refused
// before it is sent, naming the field: sent, it got a libprotobuf log line
// and the server's "request: cannot be parsed", naming nothing.
TEST_F(SdkTest, TextThatIsNotUtf8IsRefusedBeforeSendingNamingTheField) {
  const std::string bad = "caf\xe9";
  absl::Status s = client_->Get(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("name: not valid UTF-8"));
  v1::QueryArticlesRequest q;
  q.mutable_query()->add_tags("ok");
  q.mutable_query()->add_tags(bad);
  s = client_->QueryArticles(q).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("query.tags[1]: not valid UTF-8"));
  v1::WatchArticlesRequest w;
  w.mutable_filter()->set_text(bad);
  s = client_->Watch(w, [](const v1::WatchArticlesResponse&) { return false; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("filter.text: not valid UTF-8"));
  v1::ExportArticlesRequest e;
  e.mutable_query()->add_categories(bad);
  s = client_->ExportArticles(e, [](const v1::Article&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("query.categories[0]: not valid UTF-8"));

  // ImportArticles is not checked: the server fails such an article alone
  // (BulkTest.AnUnparsableArticleFailsAlone).
}

// TLS options that cannot work are refused when the client is made, not
// turned into a plaintext channel every call of which then fails.
TEST(SdkConnectTest, IncompleteTlsOptionsAreInvalidArgument) {
  ClientOptions o;
  o.target = "127.0.0.1:1";
  o.tls_cert_pem = "-----BEGIN CERTIFICATE-----";
  o.tls_key_pem = "-----BEGIN PRIVATE KEY-----";
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), ::testing::HasSubstr("tls_ca_pem"));
  o.tls_ca_pem = "-----BEGIN CERTIFICATE-----";
  o.tls_key_pem.clear();
  c = Client::Connect(o);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), ::testing::HasSubstr("give both"));
  // Nor is text that only looks like PEM taken: TLS material is checked
  // (with real certificates in ops_test's TlsTest).
  o.tls_cert_pem.clear();
  c = Client::Connect(o);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              ::testing::HasSubstr("tls_ca_pem: holds no PEM certificate"));
  o = ClientOptions();
  o.target.clear();
  EXPECT_EQ(Client::Connect(o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// max_attempts past gRPC's 5 was taken as 5, and 0 as 1, in silence.
TEST(SdkConnectTest, MaxAttemptsOutsideOneToFiveIsRefusedNamingIt) {
  ClientOptions o;
  o.target = "127.0.0.1:1";
  for (int attempts : {0, -1, 6, 100}) {
    o.max_attempts = attempts;
    absl::Status s = Client::Connect(o).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << attempts;
    EXPECT_THAT(s.message(),
                HasSubstr("max_attempts: must be 1-5 (1 disables retries), "
                          "got " +
                          std::to_string(attempts)));
  }
  for (int attempts : {1, 5}) {
    o.max_attempts = attempts;
    EXPECT_TRUE(Client::Connect(o).ok()) << attempts;
  }
}

// A client of two servers at one target: pick_first (the default) sends
// every read to one; round_robin spreads them over both. Each server's
// store holds its own article "who", so a read says which one answered.
TEST(SdkConnectTest, RoundRobinSpreadsReadsOverEveryAddress) {
  TempDir dir;
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (const std::string name : {"a", "b"}) {
    servers.push_back(ServerProcess::Start(dir.path() + "/" + name));
    ASSERT_NE(servers.back(), nullptr);
    ClientOptions o;
    o.target = servers.back()->address();
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
    ASSERT_TRUE(c.ok()) << c.status();
    v1::CreateArticleRequest req;
    req.set_article_id("who");
    *req.mutable_article() = MakeArticle(name, {}, k2025);
    ASSERT_TRUE((*c)->CreateArticle(req).ok());
  }
  const std::string target =
      absl::StrCat("ipv4:", servers[0]->address(), ",", servers[1]->address());
  // The titles seen by up to `reads` reads through a client of both
  // servers, which stop once both have answered.
  const auto answered = [&](const std::string& policy, int reads) {
    ClientOptions o;
    o.target = target;
    o.load_balancing = policy;
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
    EXPECT_TRUE(c.ok()) << c.status();
    std::set<std::string> titles;
    for (int i = 0; c.ok() && i < reads && titles.size() < 2; ++i) {
      absl::StatusOr<v1::Article> a = (*c)->Get("who");
      EXPECT_TRUE(a.ok()) << a.status();
      if (a.ok()) titles.insert(a->title());
    }
    return titles;
  };
  EXPECT_EQ(answered("", 50).size(), 1u);
  EXPECT_EQ(answered("pick_first", 50).size(), 1u);
  // Calls go to the connections that are ready: the first reads may all
  // go to one, until the other connection is ready too.
  EXPECT_EQ(answered("round_robin", 1000), (std::set<std::string>{"a", "b"}));
}

TEST(SdkConnectTest, AnUnknownLoadBalancingPolicyIsRefusedNamingIt) {
  ClientOptions o;
  o.target = "127.0.0.1:1";
  o.load_balancing = "least_request";
  absl::Status s = Client::Connect(o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("load_balancing: must be empty (gRPC's "
                                     "default, pick_first), \"pick_first\" "
                                     "or \"round_robin\", got "
                                     "\"least_request\""));
}

// gRPC takes a port past 65535 modulo 2^16 (99999 dials 34463), failing
// only at the first call, if at all: Connect refuses such a target, naming
// `target`. A host without a port is gRPC's 443 (a TLS server behind an
// ingress); other gRPC target forms are left to gRPC.
TEST(SdkConnectTest, TargetIsCheckedAndNamed) {
  ClientOptions o;
  for (const char* target :
       {"127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:7x", "127.0.0.1:", "localhost:100000", "[::1]:99999",
        "dns:///localhost:0"}) {
    SCOPED_TRACE(target);
    o.target = target;
    absl::Status s = Client::Connect(o).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()),
                ::testing::StartsWith("target: port must be 1-65535, got \""));
    EXPECT_THAT(std::string(s.message()), HasSubstr(target));
  }
  for (const char* target :
       {"", ":7070", "::1:7070", "::1", "[]:7070", "[::1]x", "[127.0.0.1]:7070",
        "http://127.0.0.1:7070", "a b:7070", "dns:///", "dns:///:7070",
        "dns:", "unix:", "unix-abstract:", "ipv4:"}) {
    SCOPED_TRACE(target);
    o.target = target;
    absl::Status s = Client::Connect(o).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()),
                ::testing::StartsWith("target: must be host:port"));
    // It names the other forms it takes, as contentctl's --help does.
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("unix:PATH, or a gRPC target such as "
                          "dns:///host:port or ipv4:ADDR:PORT,ADDR:PORT"));
  }
  for (const char* target :
       {"127.0.0.1:1", "localhost:65535", "my-host_1.example:7070",
        "[::1]:7070", "[fe80::1%eth0]:7070", "dns:///localhost:7070",
        "dns://8.8.8.8/localhost:7070", "ipv4:127.0.0.1:7070",
        "ipv6:[::1]:7070", "unix:/tmp/contentd.sock", "unix-abstract:contentd",
        "xds:///contentd", "127.0.0.1", "localhost", "content.example.com",
        "[::1]", "dns:///content.example.com", "dns:localhost:7070"}) {
    SCOPED_TRACE(target);
    o.target = target;
    EXPECT_TRUE(Client::Connect(o).ok());
  }
}

// A token read from a file or a Kubernetes Secret ends in a newline: it is
// sent without it. Any other control character is refused when the client
// is made (gRPC aborts the process on such a header value), and the error
// does not echo the token.
TEST(SdkTokenTest, TrailingNewlineIsStrippedAndControlCharactersRefused) {
  TempDir dir;
  auto hash = content::testing::RunCommand(
      {content::testing::ContentdBinary(), "--hash-token"}, "s3cret");
  ASSERT_EQ(hash.exit_code, 0) << hash.err;
  const std::string config = dir.path() + "/contentd.yaml";
  content::testing::WriteFile(
      config, "auth:\n  tokens:\n    - {name: r, role: reader, sha256: " +
                  hash.out.substr(0, 64) + "}\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  ClientOptions o;
  o.target = server->address();
  for (const char* token : {"s3cret", "s3cret\n", "s3cret\r\n"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(token)));
    o.token = token;
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
    ASSERT_TRUE(c.ok()) << c.status();
    // Authenticated: the article is missing, not the credentials.
    EXPECT_EQ((*c)->Get("no-such-article").status().code(),
              absl::StatusCode::kNotFound);
  }
  o.token = "wrong\n";
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->Get("no-such-article").status().code(),
            absl::StatusCode::kUnauthenticated);
  for (const char* token : {"s3c\x01ret", "s3cret\r", "s3cret\n\n", "s3\ncret",
                            "s3cret\t", "s3cret\x7f", "s3cr\xc3\xa9t"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(token)));
    o.token = token;
    c = Client::Connect(o);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(c.status().message());
    EXPECT_THAT(message, ::testing::StartsWith("token: contains "));
    EXPECT_THAT(message, ::testing::Not(HasSubstr("s3c")));
  }
  o.token = "s3c\x01ret";
  EXPECT_THAT(std::string(Client::Connect(o).status().message()),
              HasSubstr("token: contains a control character"));
}

TEST_F(SdkTest, CreateGetUpdateVersionsConflictDeleteUndelete) {
  v1::Article a = MakeArticle("接入测试", {"ai", "finance"}, k2025);
  v1::Article created = Create("deepseek", a);
  EXPECT_EQ(created.name(), "articles/deepseek");
  EXPECT_EQ(created.revision(), 1);
  EXPECT_FALSE(created.etag().empty());
  EXPECT_EQ(created.content_hash().size(), 64u);
  EXPECT_TRUE(created.has_create_time());

  // The head reads back with every field the client wrote.
  absl::StatusOr<v1::Article> got = client_->Get("deepseek");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->title(), "接入测试");
  EXPECT_EQ(got->body(), a.body());
  EXPECT_TRUE(got->has_comments());
  EXPECT_FALSE(got->comments());
  EXPECT_FALSE(got->has_toc());

  // Three updates: revisions 2, 3, 4, each readable afterwards.
  v1::Article last;  // the last update's answer
  for (int i = 2; i <= 4; ++i) {
    a.set_body(a.body() + "更新 " + std::to_string(i) + "\n");
    absl::StatusOr<v1::Article> u = Update("deepseek", a, i - 1);
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_EQ(u->revision(), i);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        u->create_time(), created.create_time()));
    last = *std::move(u);
  }
  // An update answers with the revision as stored, field for field.
  absl::StatusOr<v1::Article> head = client_->Get("deepseek");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(last, *head));
  EXPECT_EQ(last.body(), a.body());
  for (int i = 1; i <= 4; ++i) {
    absl::StatusOr<v1::Article> r = client_->Get("deepseek", i);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->revision(), i);
    EXPECT_THAT(r->body(),
                HasSubstr(i > 1 ? "更新 " + std::to_string(i) : "正文"));
  }

  // Identical content writes no revision and answers with the head.
  absl::StatusOr<v1::Article> same = Update("deepseek", a);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->revision(), 4);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*same, *head));

  // A stale expected_revision or etag conflicts and changes nothing.
  v1::Article stale = a;
  stale.set_title("stale");
  absl::StatusOr<v1::Article> conflict = Update("deepseek", stale, 2);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(conflict.status().message(), HasSubstr("expected_revision"));
  stale.set_etag(created.etag());
  conflict = Update("deepseek", stale);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client_->Get("deepseek")->revision(), 4);

  // History, newest first, in pages of 3.
  v1::ListArticleRevisionsRequest hreq;
  hreq.set_name("articles/deepseek");
  hreq.set_page_size(3);
  absl::StatusOr<v1::ListArticleRevisionsResponse> h =
      client_->ListArticleRevisions(hreq);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->revisions_size(), 3);
  EXPECT_EQ(h->revisions(0).revision(), 4);
  EXPECT_EQ(h->revisions(2).revision(), 2);
  ASSERT_FALSE(h->next_page_token().empty());
  hreq.set_page_token(h->next_page_token());
  h = client_->ListArticleRevisions(hreq);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->revisions_size(), 1);
  EXPECT_EQ(h->revisions(0).revision(), 1);
  EXPECT_TRUE(h->next_page_token().empty());

  // Soft delete: a tombstone revision; the article leaves queries.
  v1::DeleteArticleRequest dreq;
  dreq.set_name("articles/deepseek");
  absl::StatusOr<v1::Article> deleted = client_->DeleteArticle(dreq);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->revision(), 5);
  EXPECT_TRUE(deleted->has_delete_time());
  EXPECT_EQ(client_->Get("deepseek").status().code(),
            absl::StatusCode::kNotFound);
  v1::Query q;
  q.add_tags("ai");
  EXPECT_TRUE(QueryAll(q, 10).empty());
  q.set_include_deleted(true);
  EXPECT_EQ(QueryAll(q, 10), std::vector<std::string>{"articles/deepseek"});
  EXPECT_EQ(Update("deepseek", a).status().code(), absl::StatusCode::kNotFound);

  v1::UndeleteArticleRequest ureq;
  ureq.set_name("articles/deepseek");
  absl::StatusOr<v1::Article> undeleted = client_->UndeleteArticle(ureq);
  ASSERT_TRUE(undeleted.ok()) << undeleted.status();
  EXPECT_EQ(undeleted->revision(), 6);
  EXPECT_FALSE(undeleted->has_delete_time());
  EXPECT_EQ(client_->Get("deepseek")->body(), a.body());
  q.set_include_deleted(false);
  EXPECT_EQ(QueryAll(q, 10), std::vector<std::string>{"articles/deepseek"});
}

// An infinite timeout means no deadline, not one that overflowed into the
// past; a timeout of zero or less is refused.
TEST_F(SdkTest, InfiniteTimeoutHasNoDeadline) {
  Create("forever", MakeArticle("Forever", {}, k2025));
  ClientOptions o;
  o.target = server_->address();
  o.timeout = absl::InfiniteDuration();
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE((*c)->Get("forever").ok()) << (*c)->Get("forever").status();
  CallOptions call;
  call.timeout = absl::InfiniteDuration();
  v1::GetArticleRequest get;
  get.set_name(ArticleName("forever"));
  EXPECT_TRUE(client_->GetArticle(get, call).ok());
  v1::ExportArticlesRequest all;
  int exported = 0;
  EXPECT_TRUE(client_
                  ->ExportArticles(
                      all,
                      [&](const v1::Article&) {
                        ++exported;
                        return true;
                      },
                      call)
                  .ok());
  EXPECT_EQ(exported, 1);

  for (absl::Duration bad : {absl::ZeroDuration(), absl::Seconds(-1)}) {
    o.timeout = bad;
    c = Client::Connect(o);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr("timeout"));
  }
}

// A per-call timeout below zero (a caller's budget that ran out) fails
// DEADLINE_EXCEEDED unsent; it was read as "unset", the call given the
// client's 10 s and the write applied.
TEST_F(SdkTest, ANegativeCallTimeoutIsADeadlinePassedAndSendsNothing) {
  Create("late", MakeArticle("Late", {}, k2025));
  CallOptions late;
  late.timeout = absl::Milliseconds(-5);
  v1::GetArticleRequest get;
  get.set_name(ArticleName("late"));
  absl::Status s = client_->GetArticle(get, late).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr("it was not sent"));

  v1::CreateArticleRequest create;
  create.set_article_id("never");
  *create.mutable_article() = MakeArticle("Never", {}, k2025);
  EXPECT_EQ(client_->CreateArticle(create, late).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(client_->Get("never").status().code(), absl::StatusCode::kNotFound);

  int exported = 0;
  EXPECT_EQ(client_
                ->ExportArticles(
                    {},
                    [&](const v1::Article&) {
                      ++exported;
                      return true;
                    },
                    late)
                .code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(exported, 0);
  int batches = 0;
  EXPECT_EQ(client_
                ->ImportArticles(
                    [&](v1::ImportArticlesRequest* batch) {
                      v1::Article* a = batch->add_articles();
                      *a = MakeArticle("Never", {}, k2025);
                      a->set_name(ArticleName("never"));
                      return batches++ == 0;
                    },
                    [](const v1::ImportArticlesResponse&) {}, late)
                .code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(client_->Get("never").status().code(), absl::StatusCode::kNotFound);
}

// Get takes CallOptions as the calls it wraps do: a timeout already passed
// is DEADLINE_EXCEEDED unsent (the call sent would find the article), and
// one with time left is the call's. Get had no way to set a deadline but
// the Client's.
TEST_F(SdkTest, GetTakesCallOptions) {
  Create("called", MakeArticle("Called", {}, k2025));
  CallOptions call;
  call.timeout = absl::Seconds(30);
  absl::StatusOr<v1::Article> got = client_->Get("called", 0, call);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->title(), "Called");
  GetOptions head;
  got = client_->Get("called", head, call);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->revision(), 1);

  CallOptions late;
  late.timeout = absl::Milliseconds(-5);
  for (const absl::Status& s : {client_->Get("called", 1, late).status(),
                                client_->Get("called", head, late).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("it was not sent")) << s;
  }
}

TEST_F(SdkTest, CreateConflictsAndGeneratedIds) {
  Create("taken", MakeArticle("one", {"a"}, k2025));
  v1::CreateArticleRequest req;
  req.set_article_id("taken");
  *req.mutable_article() = MakeArticle("two", {"a"}, k2025);
  EXPECT_EQ(client_->CreateArticle(req).status().code(),
            absl::StatusCode::kAlreadyExists);
  req.clear_article_id();
  absl::StatusOr<v1::Article> gen = client_->CreateArticle(req);
  ASSERT_TRUE(gen.ok()) << gen.status();
  EXPECT_THAT(gen->name(), ::testing::MatchesRegex("articles/[a-z0-9]{16}"));
}

TEST_F(SdkTest, BadInputIsRejectedNamingTheFieldAndStoresNothing) {
  struct Case {
    std::string what;
    std::string id;
    v1::Article article;
    std::string field;
  };
  std::vector<Case> cases;
  v1::Article ok = MakeArticle("fine", {"t"}, k2025);
  {
    v1::Article a = ok;
    a.clear_title();
    cases.push_back({"missing title", "x1", a, "article.title"});
  }
  {
    v1::Article a = ok;
    for (int i = 0; i < 65; ++i) a.add_tags("tag" + std::to_string(i));
    cases.push_back({"too many tags", "x2", a, "article.tags"});
  }
  {
    v1::Article a = ok;
    a.add_tags(std::string(200, 'x'));
    cases.push_back({"long tag", "x3", a, "article.tags[1]"});
  }
  {
    v1::Article a = ok;
    a.set_body(std::string(3 << 19, 'b'));  // 1.5 MiB > the 1 MiB limit
    cases.push_back({"oversized body", "x4", a, "article.body"});
  }
  {
    v1::Article a = ok;
    a.mutable_date()->set_seconds(999999999999LL);
    cases.push_back({"bad date", "x5", a, "article.date"});
  }
  cases.push_back({"illegal id", "bad/id", ok, "article_id"});
  cases.push_back({"id with space", "bad id", ok, "article_id"});
  for (const Case& c : cases) {
    v1::CreateArticleRequest req;
    req.set_article_id(c.id);
    *req.mutable_article() = c.article;
    absl::StatusOr<v1::Article> r = client_->CreateArticle(req);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(r.status().message(), HasSubstr(c.field)) << c.what;
  }
  EXPECT_TRUE(QueryAll(v1::Query(), 100).empty());

  // Paging errors.
  v1::QueryArticlesRequest qreq;
  qreq.set_page_size(-1);
  EXPECT_EQ(client_->QueryArticles(qreq).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Over the max (1000) is lowered to it (AIP-158), not refused.
  qreq.set_page_size(1001);
  EXPECT_TRUE(client_->QueryArticles(qreq).ok());
  qreq.set_page_size(10);
  qreq.set_page_token("not-a-token");
  auto bad_token = client_->QueryArticles(qreq);
  EXPECT_EQ(bad_token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_token.status().message(), HasSubstr("page_token"));
  qreq.clear_page_token();
  qreq.mutable_query()->set_order(static_cast<v1::Query::Order>(7));
  auto bad_enum = client_->QueryArticles(qreq);
  EXPECT_EQ(bad_enum.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_enum.status().message(), HasSubstr("query.order"));

  v1::GetArticleRequest greq;
  greq.set_name("posts/x");
  auto bad_name = client_->GetArticle(greq);
  EXPECT_EQ(bad_name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_name.status().message(), HasSubstr("name"));
}

// An article stored just under the size limit can be read, edited and
// written back whole, as UpdateArticle and ImportArticles take it: the
// name and output-only fields it comes back with are not content. They
// were counted, so a read-modify-write of such an article was
// INVALID_ARGUMENT "article is 1048710 bytes", and so was importing the
// article CreateArticle had taken (an import names each article).
TEST_F(SdkTest, AnArticleJustUnderTheSizeLimitCanBeWrittenBackAsRead) {
  v1::Article a = MakeArticle("near the limit", {"t"}, k2025);
  a.clear_body();
  // The body's 2-byte tag and 3-byte length, then bytes up to 1 MiB less 8.
  a.set_body(std::string((1 << 20) - a.ByteSizeLong() - 5 - 8, 'b'));
  ASSERT_EQ(a.ByteSizeLong(), (1u << 20) - 8);
  Create("near", a);
  absl::StatusOr<v1::Article> read = client_->Get("near");
  ASSERT_TRUE(read.ok()) << read.status();

  v1::UpdateArticleRequest same;
  *same.mutable_article() = *read;
  same.set_expected_revision(1);
  absl::StatusOr<v1::Article> unchanged = client_->UpdateArticle(same);
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_EQ(unchanged->revision(), 1);

  v1::UpdateArticleRequest edited = same;
  edited.mutable_article()->set_title("near the limiT");
  absl::StatusOr<v1::Article> updated = client_->UpdateArticle(edited);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revision(), 2);

  std::vector<v1::ImportResult> results;
  bool sent = false;
  absl::Status s = client_->ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        if (sent) return false;
        sent = true;
        *batch->add_articles() = *updated;
        v1::Article copy = a;
        copy.set_name("articles/near-copy");
        *batch->add_articles() = copy;
        return true;
      },
      [&](const v1::ImportArticlesResponse& r) {
        results.insert(results.end(), r.results().begin(), r.results().end());
      });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome(), v1::ImportResult::OUTCOME_UNCHANGED)
      << results[0].error();
  EXPECT_EQ(results[1].outcome(), v1::ImportResult::OUTCOME_CREATED)
      << results[1].error();

  // Content over the limit is still refused, whatever else comes with it.
  edited.set_expected_revision(0);
  edited.mutable_article()->mutable_body()->append(16, 'b');
  EXPECT_EQ(client_->UpdateArticle(edited).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SdkTest, QueriesByTagTagsAllLangCategoryAndDateRangePageCleanly) {
  // 30 articles over 30 days; tag "even"/"odd", every third "three", two
  // langs and two categories; two articles share each of a few dates.
  std::map<std::string, v1::Article> all;
  for (int i = 0; i < 30; ++i) {
    std::vector<std::string> tags = {i % 2 == 0 ? "even" : "odd"};
    if (i % 3 == 0) tags.push_back("three");
    const int64_t date = k2025 + (i / 2) * kDay;  // pairs share a date
    v1::Article a =
        MakeArticle("文章 " + std::to_string(i), tags, date,
                    i % 4 == 0 ? "en" : "zh-CN", i < 10 ? "finance" : "tech");
    const std::string id = "a" + std::to_string(100 + i);
    Create(id, a);
    a.set_name("articles/" + id);
    all[id] = a;
  }
  auto expect = [&](auto pred, bool oldest_first) {
    std::vector<std::pair<int64_t, std::string>> keyed;
    for (auto& [id, a] : all)
      if (pred(a)) keyed.push_back({a.date().seconds(), a.name()});
    // Newest first, ties by name ascending; oldest first is the reverse.
    std::sort(keyed.begin(), keyed.end(), [](auto& x, auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    if (oldest_first) std::reverse(keyed.begin(), keyed.end());
    std::vector<std::string> names;
    for (auto& k : keyed) names.push_back(k.second);
    return names;
  };
  auto has = [](const v1::Article& a, const std::string& tag) {
    return std::find(a.tags().begin(), a.tags().end(), tag) != a.tags().end();
  };

  for (int page_size : {1, 4, 7, 100}) {
    v1::Query q;
    q.add_tags("even");
    EXPECT_EQ(QueryAll(q, page_size),
              expect([&](auto& a) { return has(a, "even"); }, false));
    q.add_tags("three");
    EXPECT_EQ(QueryAll(q, page_size),
              expect([&](auto& a) { return has(a, "even") || has(a, "three"); },
                     false));
    q.set_tag_match(v1::Query::TAG_MATCH_ALL);
    EXPECT_EQ(QueryAll(q, page_size),
              expect([&](auto& a) { return has(a, "even") && has(a, "three"); },
                     false));
    q.set_order(v1::Query::ORDER_OLDEST_FIRST);
    EXPECT_EQ(QueryAll(q, page_size),
              expect([&](auto& a) { return has(a, "even") && has(a, "three"); },
                     true));

    v1::Query lang;
    lang.add_langs("en");
    EXPECT_EQ(QueryAll(lang, page_size),
              expect([&](auto& a) { return a.lang(0) == "en"; }, false));

    v1::Query cat;
    cat.add_categories("finance");
    *cat.mutable_date_from() = Date(k2025 + 2 * kDay);
    *cat.mutable_date_to() = Date(k2025 + 4 * kDay);
    EXPECT_EQ(QueryAll(cat, page_size),
              expect(
                  [&](auto& a) {
                    return a.categories(0) == "finance" &&
                           a.date().seconds() >= k2025 + 2 * kDay &&
                           a.date().seconds() < k2025 + 4 * kDay;
                  },
                  false));

    v1::Query range;
    range.add_tags("odd");
    *range.mutable_date_from() = Date(k2025 + 5 * kDay);
    *range.mutable_date_to() = Date(k2025 + 12 * kDay);
    range.set_order(v1::Query::ORDER_OLDEST_FIRST);
    EXPECT_EQ(QueryAll(range, page_size),
              expect(
                  [&](auto& a) {
                    return has(a, "odd") &&
                           a.date().seconds() >= k2025 + 5 * kDay &&
                           a.date().seconds() < k2025 + 12 * kDay;
                  },
                  true));

    EXPECT_EQ(QueryAll(v1::Query(), page_size),
              expect([](auto&) { return true; }, false));
  }

  // The first page reports a total; a token used with another query fails.
  v1::QueryArticlesRequest req;
  req.mutable_query()->add_tags("even");
  req.set_page_size(5);
  absl::StatusOr<v1::QueryArticlesResponse> first = client_->QueryArticles(req);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->total_size(), 15);
  req.set_page_token(first->next_page_token());
  req.mutable_query()->set_tags(0, "odd");
  EXPECT_EQ(client_->QueryArticles(req).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- Editorial workflow (issue 8) -------------------------------------------

TEST_F(SdkTest, DiffAndRestoreRevisions) {
  v1::Article first = MakeArticle("第一版", {"ai"}, k2025);
  first.set_body("# 第一版\n\n正文。Body text.\n");
  Create("story", first);
  v1::Article second = first;
  second.set_title("第二版");
  second.add_tags("finance");
  second.set_body("# 第二版\n\n正文。Body text.\n");
  ASSERT_TRUE(Update("story", second, 1).ok());

  // Defaults: the head against the revision before it.
  v1::DiffArticleRevisionsRequest dr;
  dr.set_name("articles/story");
  absl::StatusOr<v1::DiffArticleRevisionsResponse> d =
      client_->DiffArticleRevisions(dr);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->name(), "articles/story");
  EXPECT_EQ(d->from_revision(), 1);
  EXPECT_EQ(d->to_revision(), 2);
  ASSERT_EQ(d->field_changes_size(), 2);
  EXPECT_EQ(d->field_changes(0).field(), "title");
  EXPECT_EQ(d->field_changes(0).old_value(), "\"第一版\"");
  EXPECT_EQ(d->field_changes(0).new_value(), "\"第二版\"");
  EXPECT_EQ(d->field_changes(1).field(), "tags");
  EXPECT_EQ(d->field_changes(1).old_value(), "[\"ai\"]");
  EXPECT_EQ(d->field_changes(1).new_value(), "[\"ai\",\"finance\"]");
  EXPECT_EQ(d->body_diff(),
            "--- articles/story@1\n+++ articles/story@2\n@@ -1,3 +1,3 @@\n"
            "-# 第一版\n+# 第二版\n \n 正文。Body text.\n");

  // Either direction, named explicitly.
  dr.set_from_revision(2);
  dr.set_to_revision(1);
  d = client_->DiffArticleRevisions(dr);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->from_revision(), 2);
  EXPECT_EQ(d->to_revision(), 1);
  ASSERT_EQ(d->field_changes_size(), 2);
  EXPECT_EQ(d->field_changes(0).new_value(), "\"第一版\"");
  dr.set_to_revision(7);
  EXPECT_EQ(client_->DiffArticleRevisions(dr).status().code(),
            absl::StatusCode::kNotFound);

  // Restore honours expected_revision, and writes a new revision.
  v1::RestoreArticleRevisionRequest rr;
  rr.set_name("articles/story");
  rr.set_revision(1);
  rr.set_expected_revision(1);
  absl::StatusOr<v1::Article> restored = client_->RestoreArticleRevision(rr);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition)
      << restored.status();
  EXPECT_EQ(client_->Get("story")->revision(), 2);
  rr.set_expected_revision(2);
  restored = client_->RestoreArticleRevision(rr);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->revision(), 3);
  EXPECT_EQ(restored->title(), "第一版");
  EXPECT_THAT(restored->tags(), ::testing::ElementsAre("ai"));
  EXPECT_EQ(restored->body(), first.body());

  // History is kept: three revisions, the first and third alike.
  v1::ListArticleRevisionsRequest lr;
  lr.set_name("articles/story");
  absl::StatusOr<v1::ListArticleRevisionsResponse> history =
      client_->ListArticleRevisions(lr);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->revisions_size(), 3);
  EXPECT_EQ(history->revisions(0).content_hash(),
            history->revisions(2).content_hash());
  EXPECT_NE(history->revisions(1).content_hash(),
            history->revisions(2).content_hash());
  dr.set_from_revision(1);
  dr.set_to_revision(3);
  d = client_->DiffArticleRevisions(dr);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->field_changes_size(), 0);
  EXPECT_EQ(d->body_diff(), "");

  // A revision that does not exist; the head is unchanged.
  rr.set_revision(9);
  rr.set_expected_revision(0);
  EXPECT_EQ(client_->RestoreArticleRevision(rr).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->Get("story")->revision(), 3);
}

TEST_F(SdkTest, TranslationsAndLanguageFallback) {
  Create("launch.en", MakeArticle("Launch", {"news"}, k2025, "en"));
  Create("launch.zh-CN", MakeArticle("发布", {"news"}, k2025, "zh-CN"));
  v1::Article fr = MakeArticle("Lancement", {"news"}, k2025, "fr");
  fr.set_state(v1::Article::DRAFT);
  Create("launch.fr", fr);
  // An explicit key joins ids that say nothing of the group.
  v1::Article guide = MakeArticle("Guide", {}, k2025, "en");
  guide.set_translation_key("guide");
  Create("guide-en", guide);
  v1::Article anleitung = MakeArticle("Anleitung", {}, k2025, "de");
  anleitung.set_translation_key("guide");
  Create("anleitung", anleitung);

  v1::ListTranslationsRequest lt;
  lt.set_name("articles/launch.zh-CN");
  absl::StatusOr<v1::ListTranslationsResponse> group =
      client_->ListTranslations(lt);
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->translation_key(), "launch");
  ASSERT_EQ(group->articles_size(), 2);
  EXPECT_EQ(group->articles(0).name(), "articles/launch.en");
  EXPECT_EQ(group->articles(1).name(), "articles/launch.zh-CN");
  EXPECT_EQ(group->articles(0).body(), "");  // BASIC by default
  EXPECT_EQ(group->articles(0).title(), "Launch");
  // Editors see the draft too; FULL returns bodies.
  lt.set_visibility(v1::VISIBILITY_ALL);
  lt.set_view(v1::ARTICLE_VIEW_FULL);
  group = client_->ListTranslations(lt);
  ASSERT_TRUE(group.ok()) << group.status();
  ASSERT_EQ(group->articles_size(), 3);
  EXPECT_EQ(group->articles(1).name(), "articles/launch.fr");
  EXPECT_EQ(group->articles(1).state(), v1::Article::DRAFT);
  EXPECT_NE(group->articles(0).body(), "");
  lt.set_name("articles/anleitung");
  group = client_->ListTranslations(lt);
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->translation_key(), "guide");
  ASSERT_EQ(group->articles_size(), 2);
  EXPECT_EQ(group->articles(0).name(), "articles/anleitung");
  EXPECT_EQ(group->articles(1).name(), "articles/guide-en");
  // A reader may not list the group of an article that is not live.
  lt.set_name("articles/launch.fr");
  lt.set_visibility(v1::VISIBILITY_UNSPECIFIED);
  EXPECT_EQ(client_->ListTranslations(lt).status().code(),
            absl::StatusCode::kNotFound);

  auto name_of = [&](const std::string& id, GetOptions options) {
    absl::StatusOr<v1::Article> a = client_->Get(id, options);
    EXPECT_TRUE(a.ok()) << id << ": " << a.status();
    return a.ok() ? a->name() : a.status().ToString();
  };
  GetOptions o;
  o.lang = "zh-CN";
  EXPECT_EQ(name_of("launch.en", o), "articles/launch.zh-CN");
  o.lang = "EN";  // case does not matter
  EXPECT_EQ(name_of("launch.zh-CN", o), "articles/launch.en");
  o.lang = "zh-TW";  // no exact match: the primary subtag
  EXPECT_EQ(name_of("launch.en", o), "articles/launch.zh-CN");
  o.lang = "de";
  o.fallback_langs = {"ja", "en", "zh-CN"};
  EXPECT_EQ(name_of("launch.zh-CN", o), "articles/launch.en");
  o.lang = "fr";  // the French draft is not live
  o.fallback_langs = {"en"};
  EXPECT_EQ(name_of("launch.zh-CN", o), "articles/launch.en");
  o.visibility = v1::VISIBILITY_ALL;
  EXPECT_EQ(name_of("launch.zh-CN", o), "articles/launch.fr");
  o = GetOptions();
  o.lang = "de";
  EXPECT_EQ(name_of("guide-en", o), "articles/anleitung");
  // No lang asked: the article itself, whatever its language.
  EXPECT_EQ(name_of("launch.en", GetOptions()), "articles/launch.en");

  // Nothing in the wanted languages: NOT_FOUND naming what there is.
  o.lang = "ja";
  o.fallback_langs = {"ko"};
  absl::StatusOr<v1::Article> none = client_->Get("launch.en", o);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("ja, ko"));
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("en (articles/launch.en)"));
  // A language with a revision is refused.
  o.fallback_langs.clear();
  o.revision = 1;
  EXPECT_EQ(client_->Get("launch.en", o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SdkTest, GetVisibilityDraftScheduledExpiredAndOldRevisions) {
  v1::Article draft = MakeArticle("草稿", {"wip"}, k2025);
  draft.set_state(v1::Article::DRAFT);
  Create("draft", draft);
  v1::Article scheduled = MakeArticle("预告", {"wip"}, k2025);
  *scheduled.mutable_publish_time() = Date(32503680000);  // 3000-01-01
  Create("scheduled", scheduled);
  v1::Article expired = MakeArticle("过期", {"wip"}, k2025);
  *expired.mutable_publish_time() = Date(k2025 - 30 * kDay);
  *expired.mutable_expiry_time() = Date(k2025);
  Create("expired", expired);
  v1::Article archived = MakeArticle("归档", {"wip"}, k2025);
  archived.set_state(v1::Article::ARCHIVED);
  Create("archived", archived);
  Create("live", MakeArticle("在线", {"wip"}, k2025));

  GetOptions all;
  all.visibility = v1::VISIBILITY_ALL;
  GetOptions live;
  live.visibility = v1::VISIBILITY_LIVE;
  for (const char* id : {"draft", "scheduled", "expired", "archived"}) {
    SCOPED_TRACE(id);
    absl::StatusOr<v1::Article> a = client_->Get(id);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(std::string(a.status().message()), HasSubstr("not live"));
    EXPECT_EQ(client_->Get(id, live).status().code(),
              absl::StatusCode::kNotFound);
    a = client_->Get(id, all);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->name(), ArticleName(id));
  }
  EXPECT_EQ(client_->Get("draft", all)->state(), v1::Article::DRAFT);
  EXPECT_TRUE(client_->Get("live").ok());
  EXPECT_TRUE(client_->Get("live", live).ok());

  // Visibility is the head's, for old revisions too: once the article is
  // back to a draft, readers cannot read revision 1 either.
  v1::Article withdrawn = MakeArticle("在线", {"wip"}, k2025);
  withdrawn.set_state(v1::Article::DRAFT);
  ASSERT_TRUE(Update("live", withdrawn, 1).ok());
  GetOptions old;
  old.revision = 1;
  EXPECT_EQ(client_->Get("live", old).status().code(),
            absl::StatusCode::kNotFound);
  old.visibility = v1::VISIBILITY_ALL;
  absl::StatusOr<v1::Article> first = client_->Get("live", old);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->revision(), 1);
  EXPECT_NE(first->state(), v1::Article::DRAFT);
}

TEST_F(SdkTest, RestartAndKillNineKeepEveryAcknowledgedWrite) {
  Create("before-restart", MakeArticle("restart", {"r"}, k2025));
  ASSERT_EQ(WEXITSTATUS(server_->Stop(SIGTERM)), 0) << server_->Log();
  EXPECT_THAT(server_->Log(), HasSubstr("stopped cleanly"));
  ASSERT_TRUE(server_->Restart());
  Connect();
  EXPECT_EQ(client_->Get("before-restart")->title(), "restart");

  // Writers run until the kill; everything acknowledged must survive.
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  std::mutex mu;
  std::vector<std::pair<std::string, int64_t>> acked;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string id =
            "k" + std::to_string(w) + "-" + std::to_string(i);
        v1::CreateArticleRequest req;
        req.set_article_id(id);
        *req.mutable_article() = MakeArticle(id, {"kill"}, k2025 + i);
        CallOptions call;
        call.timeout = absl::Seconds(2);
        absl::StatusOr<v1::Article> r = client_->CreateArticle(req, call);
        if (!r.ok()) break;
        std::lock_guard<std::mutex> lock(mu);
        acked.push_back({id, r->revision()});
      }
    });
  }
  // Until some writes are in (not a fixed time: a loaded machine acks
  // fewer in one), bounded; the writers keep writing through the kill.
  for (absl::Time end = absl::Now() + absl::Seconds(30); absl::Now() < end;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (acked.size() > 10) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  server_->Stop(SIGKILL);
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_GT(acked.size(), 10u);
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  Connect();
  for (const auto& [id, rev] : acked) {
    absl::StatusOr<v1::Article> r = client_->Get(id);
    ASSERT_TRUE(r.ok()) << id << ": " << r.status();
    EXPECT_EQ(r->revision(), rev);
  }
  v1::Query q;
  q.add_tags("kill");
  EXPECT_GE(QueryAll(q, 1000).size(), acked.size());
}

TEST_F(SdkTest, HealthCheckAndUnreachableServer) {
  // grpc.health.v1.Health/Check answers SERVING (1) for the server ("")
  // and for each of its services by full name, as probes ask.
  auto channel = grpc::CreateChannel(server_->address(),
                                     grpc::InsecureChannelCredentials());
  for (const std::string service :
       {"", "content.v1.ContentService", "content.v1.AdminService"}) {
    SCOPED_TRACE(service);
    int serving = -1;
    grpc::Status status = CheckHealth(*channel, service, &serving);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(serving, 1);
  }
  int serving = -1;
  EXPECT_EQ(
      CheckHealth(*channel, "content.v1.NoSuchService", &serving).error_code(),
      grpc::StatusCode::NOT_FOUND);

  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.timeout = absl::Seconds(2);
  options.max_attempts = 1;
  auto unreachable = Client::Connect(options);
  ASSERT_TRUE(unreachable.ok());
  absl::StatusOr<v1::Article> r = (*unreachable)->Get("x");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  // A write waits for a connection first (a second at max_attempts 1), then
  // says that it was not sent: safe to send again.
  v1::CreateArticleRequest create;
  create.set_article_id("x");
  create.mutable_article()->set_title("x");
  r = (*unreachable)->CreateArticle(create);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr("the write was not sent"));
}

// A read (or an export) whose deadline passes while gRPC retries a server
// that refuses connections (4 attempts, 0.1, 0.2 and 0.4 s apart, each
// -20%: the last after 300 ms) said only "Deadline Exceeded". It says it
// had no connection to the target, with gRPC's reason, and stays
// DEADLINE_EXCEEDED. A deadline with a connection (a server that is slow)
// stays as gRPC says it.
TEST(SdkConnectTest, AReadOutOfTimeToConnectSaysWhy) {
  ClientOptions o;
  o.target = "127.0.0.1:1";
  o.timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string said =
      "no connection to 127.0.0.1:1 within the deadline (failed to connect "
      "to all addresses";
  absl::Status s = (*c)->Get("x").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith(said)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("Connection refused")) << s;
  v1::ListTagsRequest tags;
  s = (*c)->ListTags(tags).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith(said)) << s;
  CallOptions call;
  call.timeout = absl::Milliseconds(300);
  s = (*c)->ExportArticles(
      v1::ExportArticlesRequest(), [](const v1::Article&) { return true; },
      call);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith(said)) << s;

  // A server that takes the connection but answers nothing in time.
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  o.target = server->address();
  o.timeout = absl::Seconds(10);
  c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Get("x").status().code() == absl::StatusCode::kNotFound);
  ASSERT_EQ(kill(server->pid(), SIGSTOP), 0);
  // kill() returns before the process has stopped: wait until it has
  // (state T in /proc/PID/stat), bounded.
  const std::string stat = "/proc/" + std::to_string(server->pid()) + "/stat";
  bool stopped = false;
  for (int i = 0; i < 500 && !stopped; ++i) {
    const std::string text = testing::ReadFile(stat);
    const size_t paren = text.rfind(')');
    stopped = paren != std::string::npos && paren + 2 < text.size() &&
              text[paren + 2] == 'T';
    if (!stopped) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(stopped);
  call.timeout = absl::Milliseconds(300);
  v1::GetArticleRequest get;
  get.set_name("articles/x");
  s = (*c)->GetArticle(get, call).status();
  ASSERT_EQ(kill(server->pid(), SIGCONT), 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(std::string(s.message()),
              ::testing::Not(HasSubstr("no connection")))
      << s;
}

// A write that found no connection asks gRPC why with a health check: for
// 500 ms at most, never past the write's deadline, and not at all once it
// has passed (it took 500 ms more, whatever the deadline).
TEST(SdkConnectCheckTest, TheCheckEndsByTheWritesDeadline) {
  using internal::ConnectCheckBudget;
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  EXPECT_EQ(ConnectCheckBudget(now, now + absl::Seconds(10)),
            absl::Milliseconds(500));
  EXPECT_EQ(ConnectCheckBudget(now, absl::InfiniteFuture()),
            absl::Milliseconds(500));
  EXPECT_EQ(ConnectCheckBudget(now, now + absl::Milliseconds(30)),
            absl::Milliseconds(30));
  EXPECT_EQ(ConnectCheckBudget(now, now), absl::ZeroDuration());
  EXPECT_EQ(ConnectCheckBudget(now, now - absl::Milliseconds(1)),
            absl::ZeroDuration());
}

// So that the check has time before the deadline, a wait for a connection
// that the deadline ends stops a tenth of the time left early, at most
// 100 ms.
TEST(SdkConnectCheckTest, AWaitTheDeadlineEndsLeavesTimeForTheCheck) {
  using internal::ConnectCheckReserve;
  EXPECT_EQ(ConnectCheckReserve(absl::Seconds(2)), absl::Milliseconds(100));
  EXPECT_EQ(ConnectCheckReserve(absl::Milliseconds(300)),
            absl::Milliseconds(30));
  EXPECT_EQ(ConnectCheckReserve(absl::InfiniteDuration()),
            absl::Milliseconds(100));
  EXPECT_EQ(ConnectCheckReserve(absl::ZeroDuration()), absl::ZeroDuration());
}

// A write whose deadline comes before the wait for a connection would end
// (5 s at max_attempts 5) is DEADLINE_EXCEEDED, and still says why there was
// no connection, in gRPC's words.
TEST(SdkConnectTest, AWriteOutOfTimeToConnectSaysWhy) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.timeout = absl::Seconds(2);
  options.max_attempts = 5;
  auto unreachable = Client::Connect(options);
  ASSERT_TRUE(unreachable.ok()) << unreachable.status();
  v1::CreateArticleRequest create;
  create.set_article_id("x");
  create.mutable_article()->set_title("x");
  absl::StatusOr<v1::Article> r = (*unreachable)->CreateArticle(create);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("Connection refused"));
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("the write was not sent"));
}

TEST(SdkConfigTest, ServesWithTheSampleConfigFile) {
  TempDir dir;
  // Flags override the file's listen and data_dir.
  auto server = ServerProcess::Start(
      dir.path() + "/data",
      {"--config", content::testing::SourceDir() + "/deploy/contentd.yaml"});
  ASSERT_NE(server, nullptr);
  ClientOptions options;
  options.target = server->address();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  v1::CreateArticleRequest req;
  req.set_article_id("configured");
  *req.mutable_article() = MakeArticle("配置", {"c"}, k2025);
  EXPECT_TRUE((*client)->CreateArticle(req).ok());
  EXPECT_THAT(server->Log(), HasSubstr("durability sync"));
}

}  // namespace
}  // namespace content
