// End-to-end: WatchArticles, ImportArticles and ExportArticles against a real
// contentd, through the SDK.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "content/client.h"
#include "content/v1/content_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"
#include "tests/support/watch_collector.h"

namespace content {
namespace {

using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::content::testing::WatchCollector;
using ::testing::HasSubstr;

v1::Article MakeArticle(const std::string& id, const std::string& tag,
                        int64_t seconds) {
  v1::Article a;
  a.set_name("articles/" + id);
  a.set_title("标题 " + id);
  a.mutable_date()->set_seconds(seconds);
  a.add_tags(tag);
  a.add_lang(seconds % 2 == 0 ? "zh-CN" : "en");
  a.set_body("正文 " + id + "\n");
  return a;
}

std::unique_ptr<Client> Connect(const ServerProcess& server) {
  ClientOptions options;
  options.target = server.address();
  auto c = Client::Connect(options);
  EXPECT_TRUE(c.ok());
  return c.ok() ? *std::move(c) : nullptr;
}

absl::Status Create(Client& client, const v1::Article& a) {
  v1::CreateArticleRequest req;
  req.set_article_id(ArticleId(a.name()));
  *req.mutable_article() = a;
  absl::Status s = client.CreateArticle(req).status();
  if (!s.ok()) ADD_FAILURE() << a.name() << ": " << s;
  return s;
}

// Waits until contentd logged that it cut off a watch or an export for
// `reason` (a client that does not read is told only when it reads again),
// bounded far above the cut-off's time; then its stats, whose count moved
// before the line was written.
v1::GetStatsResponse StatsAfterCutOff(Client& client,
                                      const ServerProcess& server,
                                      absl::string_view reason) {
  const std::string line = absl::StrCat(" cut off (", reason, "): ");
  for (absl::Time end = absl::Now() + absl::Seconds(60);
       absl::Now() < end && server.Log().find(line) == std::string::npos;) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::StatusOr<v1::GetStatsResponse> stats = client.GetStats({});
  EXPECT_TRUE(stats.ok()) << stats.status();
  return stats.ok() ? *std::move(stats) : v1::GetStatsResponse();
}

// How many times `needle` occurs in `text`.
int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size()))
    ++n;
  return n;
}

// A loopback TCP relay to `port`. Freeze() makes the connections open so
// far go silent, as behind a cut network or a host that lost power: they
// stay open but nothing passes either way. Later connections relay.
class SilentRelay {
 public:
  explicit SilentRelay(int port) : target_(port) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(listener_, 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "relay: cannot listen";
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~SilentRelay() {
    stop_ = true;
    acceptor_.join();  // then no relay thread is added
    for (std::thread& t : threads_) t.join();
    close(listener_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void Freeze() {
    ++frozen_generation_;
    // Past any poll begun before: every relay has seen the flag.
    absl::SleepFor(absl::Milliseconds(200));
  }

 private:
  void Accept() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int in = accept(listener_, nullptr, nullptr);
      if (in < 0) continue;
      const int out = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(target_);
      if (connect(out, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(in);
        close(out);
        continue;
      }
      threads_.emplace_back(
          [this, in, out, generation = frozen_generation_.load()] {
            Relay(in, out, generation);
          });
    }
  }
  void Relay(int a, int b, int generation) {
    char buf[1 << 14];
    while (!stop_) {
      if (frozen_generation_ != generation) {  // silent, yet open
        absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if (p[i].revents == 0) continue;
        const ssize_t n = read(p[i].fd, buf, sizeof(buf));
        closed = n <= 0 || write(p[1 - i].fd, buf, n) != n;
      }
      if (closed) break;
    }
    close(a);
    close(b);
  }

  const int target_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> frozen_generation_{0};
  std::thread acceptor_;
  std::vector<std::thread> threads_;
};

// A connection that goes silent without closing gives no error to retry on;
// keepalive pings find it dead, and the watch resumes on a new one.
TEST(WatchTest, SdkWatchReconnectsWhenItsConnectionGoesSilent) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto writer = Connect(*server);
  ASSERT_TRUE(Create(*writer, MakeArticle("s0", "x", 0)).ok());

  SilentRelay relay(server->port());
  ClientOptions options;
  options.target = relay.address();
  options.keepalive_time = absl::Seconds(10);
  options.keepalive_timeout = absl::Seconds(2);
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  v1::WatchArticlesRequest req;
  req.set_view(v1::WatchArticlesRequest::VIEW_NAME_ONLY);
  WatchCollector watcher(client->get(), req, 2);
  while (watcher.size() < 1) absl::SleepFor(absl::Milliseconds(20));

  relay.Freeze();
  ASSERT_TRUE(Create(*writer, MakeArticle("s1", "x", 1)).ok());
  ASSERT_TRUE(watcher.WaitFor(absl::Seconds(40)))
      << watcher.size() << " " << watcher.status();
  const auto events = watcher.events();
  EXPECT_EQ(events[1].event().name(), "articles/s1");
  EXPECT_EQ(events[1].event().sequence(), 2);
}

TEST(WatchTest, KeepaliveBelowWhatTheServerAcceptsIsRefused) {
  ClientOptions options;
  options.keepalive_time = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      client.status().message(),
      HasSubstr("keepalive_time: must be zero or at least 10s, got 5s"));
}

TEST(WatchTest, EveryEventInOrderAcrossConcurrentWritesAndARestart) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);

  // Writers: 4 threads x (create, update, delete) of their own articles.
  auto write_load = [&](const std::string& prefix, Client* c) {
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < 15; ++i) {
          const std::string id =
              prefix + std::to_string(w) + "-" + std::to_string(i);
          v1::Article a = MakeArticle(id, "load", 1700000000 + i);
          ASSERT_TRUE(Create(*c, a).ok());
          a.set_body("changed");
          v1::UpdateArticleRequest u;
          *u.mutable_article() = a;
          ASSERT_TRUE(c->UpdateArticle(u).ok());
          if (i % 3 == 0) {
            v1::DeleteArticleRequest d;
            d.set_name(a.name());
            ASSERT_TRUE(c->DeleteArticle(d).ok());
          }
        }
      });
    }
    for (auto& t : threads) t.join();
  };
  // 4 x 15 x 2 + 4 x 5 deletes = 140 events per round.
  constexpr size_t kPerRound = 140;

  // The SDK watcher connects to a fixed address; restart reuses the port by
  // pointing a second server process at the same data dir is not possible
  // with port 0, so the watcher's client follows via a fresh Watch call
  // below after the restart, resuming from the last sequence it saw.
  v1::WatchArticlesRequest req;  // from the beginning
  std::vector<v1::WatchArticlesResponse> seen;
  {
    WatchCollector watcher(client.get(), req, kPerRound);
    write_load("a", client.get());
    ASSERT_TRUE(watcher.WaitFor(absl::Seconds(30))) << watcher.size();
    seen = watcher.events();
  }
  ASSERT_EQ(seen.size(), kPerRound);

  // Restart, write more, and resume from the last sequence seen.
  ASSERT_TRUE(server->Restart());
  client = Connect(*server);
  req.set_after_sequence(seen.back().event().sequence());
  {
    WatchCollector watcher(client.get(), req, kPerRound);
    write_load("b", client.get());
    ASSERT_TRUE(watcher.WaitFor(absl::Seconds(30))) << watcher.size();
    for (auto& e : watcher.events()) seen.push_back(e);
  }
  ASSERT_EQ(seen.size(), 2 * kPerRound);
  std::map<std::string, int64_t> last_revision;
  for (size_t i = 0; i < seen.size(); ++i) {
    const v1::ChangeEvent& e = seen[i].event();
    EXPECT_EQ(e.sequence(), static_cast<int64_t>(i) + 1) << "gap or repeat";
    // Revisions of one article arrive in order, and the article matches.
    EXPECT_EQ(e.revision(), last_revision[e.name()] + 1) << e.name();
    last_revision[e.name()] = e.revision();
    EXPECT_EQ(seen[i].article().name(), e.name());
    EXPECT_EQ(seen[i].article().revision(), e.revision());
  }
}

TEST(WatchTest, SdkWatchResumesByItselfAcrossAServerRestart) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(
        Create(*client, MakeArticle("r" + std::to_string(i), "x", i)).ok());

  v1::WatchArticlesRequest req;
  req.set_view(v1::WatchArticlesRequest::VIEW_NAME_ONLY);
  WatchCollector watcher(client.get(), req, 10);
  while (watcher.size() < 5) absl::SleepFor(absl::Milliseconds(20));

  // SIGTERM ends the stream (UNAVAILABLE); the SDK retries until the server
  // is back on the same port, then resumes after sequence 5.
  ASSERT_TRUE(server->RestartOnSamePort()) << server->Log();
  for (int i = 5; i < 10; ++i)
    ASSERT_TRUE(
        Create(*client, MakeArticle("r" + std::to_string(i), "x", i)).ok());
  ASSERT_TRUE(watcher.WaitFor(absl::Seconds(20)))
      << watcher.size() << " " << watcher.status() << "\n"
      << server->Log();
  const auto events = watcher.events();
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].event().sequence(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(events[i].event().name(), "articles/r" + std::to_string(i));
    EXPECT_FALSE(events[i].has_article());
  }
}

// A start_now watcher whose stream breaks before its first event resumes
// from where that stream started, not from "now" again: events written
// between the restart and its reconnect arrive too.
TEST(WatchTest, StartNowLosesNothingWhenTheStreamBreaksBeforeAnyEvent) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  ASSERT_TRUE(Create(*client, MakeArticle("before", "x", 1)).ok());

  v1::WatchArticlesRequest req;
  req.set_start_now(true);
  req.set_view(v1::WatchArticlesRequest::VIEW_NAME_ONLY);
  WatchCollector watcher(client.get(), req, 2);
  ASSERT_TRUE(watcher.WaitStarted(absl::Seconds(10))) << watcher.status();

  // Down for 3 s: the watcher's channel backs off (its next try comes
  // about 2 s after the restart). A writer on a channel of its own
  // connects at once, so the writes land before the watcher is back.
  server->Stop(SIGKILL);
  absl::SleepFor(absl::Seconds(3));
  ASSERT_TRUE(server->RestartOnSamePort()) << server->Log();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto writer = v1::ContentService::NewStub(grpc::CreateCustomChannel(
      server->address(), grpc::InsecureChannelCredentials(), args));
  for (const auto& [id, seconds] :
       {std::pair<std::string, int64_t>{"after1", 2}, {"after2", 3}}) {
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    v1::CreateArticleRequest r;
    r.set_article_id(id);
    *r.mutable_article() = MakeArticle(id, "x", seconds);
    v1::Article out;
    grpc::Status s = writer->CreateArticle(&ctx, r, &out);
    ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
  }

  // The server says where a start_now stream starts (after sequence 3).
  {
    grpc::ClientContext ctx;
    v1::WatchArticlesRequest now;
    now.set_start_now(true);
    auto reader = writer->WatchArticles(&ctx, now);
    reader->WaitForInitialMetadata();
    const auto& md = ctx.GetServerInitialMetadata();
    auto it = md.find("content-watch-after");
    ASSERT_NE(it, md.end());
    EXPECT_EQ(std::string(it->second.data(), it->second.size()), "3");
    ctx.TryCancel();
    reader->Finish();
  }

  ASSERT_TRUE(watcher.WaitFor(absl::Seconds(20)))
      << watcher.size() << " " << watcher.status() << "\n"
      << server->Log();
  const auto events = watcher.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event().name(), "articles/after1");
  EXPECT_EQ(events[0].event().sequence(), 2);
  EXPECT_EQ(events[1].event().name(), "articles/after2");
}

TEST(WatchTest, FilterAndStartNow) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  ASSERT_TRUE(Create(*client, MakeArticle("old", "keep", 1)).ok());

  v1::WatchArticlesRequest req;
  req.set_start_now(true);
  req.mutable_filter()->add_tags("keep");
  WatchCollector watcher(client.get(), req, 3);
  ASSERT_TRUE(watcher.WaitStarted(absl::Seconds(10))) << watcher.status();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(Create(*client, MakeArticle("n" + std::to_string(i),
                                            i % 2 == 0 ? "keep" : "drop", i))
                    .ok());
  }
  ASSERT_TRUE(watcher.WaitFor(absl::Seconds(10))) << server->Log();
  std::vector<std::string> names;
  for (const auto& e : watcher.events()) names.push_back(e.event().name());
  EXPECT_EQ(names, (std::vector<std::string>{"articles/n0", "articles/n2",
                                             "articles/n4"}));
}

// Language tags match without regard to case, in a watch's filter as in a
// query (MakeArticle writes "zh-CN" for even dates, "en" for odd ones).
TEST(WatchTest, LanguagesMatchWhateverTheirCase) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  v1::WatchArticlesRequest req;
  req.set_start_now(true);
  req.mutable_filter()->add_langs("ZH-cn");
  WatchCollector watcher(client.get(), req, 2);
  ASSERT_TRUE(watcher.WaitStarted(absl::Seconds(10))) << watcher.status();
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(
        Create(*client, MakeArticle("l" + std::to_string(i), "t", i)).ok());
  ASSERT_TRUE(watcher.WaitFor(absl::Seconds(10))) << server->Log();
  std::vector<std::string> names;
  for (const auto& e : watcher.events()) names.push_back(e.event().name());
  EXPECT_EQ(names, (std::vector<std::string>{"articles/l0", "articles/l2"}));

  v1::QueryArticlesRequest q;
  q.mutable_query()->add_langs("zh-cn");
  absl::StatusOr<v1::QueryArticlesResponse> page = client->QueryArticles(q);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->articles_size(), 2);
}

// A watch filter is checked against the server's configured limits, and
// its errors name `filter`, the request's field, not `query`.
TEST(WatchTest, FilterErrorsNameTheFilterAndUseTheServersLimits) {
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  content::testing::WriteFile(config, "limits:\n  max_term_bytes: 8\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  // Runs a watch that should be refused; one accepted instead would stream
  // forever, so it is cancelled after 10 s (and the test fails on its code).
  auto watch = [&client](const v1::WatchArticlesRequest& r) {
    WatchCanceller canceller;
    std::atomic<bool> done{false};
    absl::Status status;
    std::thread t([&] {
      status = client->Watch(
          r, [](const auto&) { return true; }, &canceller);
      done = true;
    });
    for (int i = 0; i < 500 && !done; ++i)
      absl::SleepFor(absl::Milliseconds(20));
    canceller.Cancel();
    t.join();
    return status;
  };

  v1::WatchArticlesRequest req;
  req.set_start_now(true);
  req.mutable_filter()->add_tags("short");
  req.mutable_filter()->add_tags("longer-than-8");
  absl::Status s = watch(req);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("filter.tags[1]"));
  EXPECT_THAT(s.message(), HasSubstr("8"));

  req.mutable_filter()->clear_tags();
  req.mutable_filter()->mutable_date_from()->set_seconds(100);
  req.mutable_filter()->mutable_date_to()->set_seconds(50);
  s = watch(req);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("filter.date_to"));
  EXPECT_THAT(s.message(), HasSubstr("after filter.date_from"));

  // The same tag in a query names `query`.
  v1::QueryArticlesRequest q;
  q.mutable_query()->add_tags("longer-than-8");
  s = client->QueryArticles(q).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("query.tags[0]"));
}

// Retention purges a deleted article with every revision, but its events
// stay in the change log: a filtered watcher resuming from before the
// delete must still be told the article went, though there is no revision
// left to match the filter against.
TEST(WatchTest, FilteredWatchGetsTheDeleteOfAPurgedArticle) {
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  content::testing::WriteFile(config,
                              "retention:\n  purge_deleted_after_seconds: 1\n"
                              "retention_interval_ms: 3600000\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  ASSERT_TRUE(Create(*client, MakeArticle("followed", "ai", 1)).ok());
  ASSERT_TRUE(Create(*client, MakeArticle("other", "x", 2)).ok());
  for (const char* id : {"articles/followed", "articles/other"}) {
    v1::DeleteArticleRequest d;
    d.set_name(id);
    ASSERT_TRUE(client->DeleteArticle(d).ok());
  }
  absl::SleepFor(absl::Milliseconds(1500));
  auto compact = client->CompactStore({});
  ASSERT_TRUE(compact.ok()) << compact.status();
  ASSERT_EQ(compact->articles_purged(), 2);

  // The watcher saw sequence 1 (the create) before it went away.
  v1::WatchArticlesRequest req;
  req.set_after_sequence(1);
  req.mutable_filter()->add_tags("ai");
  WatchCollector watcher(client.get(), req, 3);
  EXPECT_FALSE(watcher.WaitFor(absl::Seconds(2)));  // two come, no third
  std::vector<std::string> got;
  for (const auto& e : watcher.events()) {
    got.push_back(absl::StrCat(v1::ChangeEvent::Type_Name(e.event().type()),
                               " ", e.event().name()));
  }
  // The other article's delete comes too: with its revisions gone, the
  // server cannot tell it from the followed one.
  EXPECT_EQ(got, (std::vector<std::string>{"TYPE_DELETED articles/followed",
                                           "TYPE_DELETED articles/other"}));
}

// A sequence beyond the newest event did not come from this store (a
// backup restored, a rebuilt store): the watch says so instead of waiting
// and skipping every event until the numbers catch up.
TEST(WatchTest, OutOfRangeBeyondTheNewestEvent) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(
        Create(*client, MakeArticle("b" + std::to_string(i), "x", i)).ok());

  v1::WatchArticlesRequest req;
  // Accepted, a watch would wait for the next sequence: cancelled after 5 s.
  auto refused = [&](int64_t after) {
    req.set_after_sequence(after);
    WatchCanceller canceller;
    std::atomic<bool> done{false};
    absl::Status s;
    std::thread t([&] {
      s = client->Watch(
          req, [](const auto&) { return true; }, &canceller);
      done = true;
    });
    for (int i = 0; i < 250 && !done; ++i)
      absl::SleepFor(absl::Milliseconds(20));
    canceller.Cancel();
    t.join();
    return s;
  };
  absl::Status s = refused(50);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  EXPECT_THAT(s.message(),
              HasSubstr("after_sequence 50 is beyond the newest event, "
                        "sequence 3"));
  // The largest value too (its successor overflowed).
  s = refused(INT64_MAX);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  EXPECT_THAT(s.message(), HasSubstr(" is beyond the newest event"));

  // The newest sequence itself is fine: the next write is the first event.
  req.set_after_sequence(3);
  WatchCollector watcher(client.get(), req, 1);
  ASSERT_TRUE(watcher.WaitStarted(absl::Seconds(10))) << watcher.status();
  EXPECT_EQ(watcher.starts(), std::vector<int64_t>{3});
  ASSERT_TRUE(Create(*client, MakeArticle("b3", "x", 3)).ok());
  ASSERT_TRUE(watcher.WaitFor(absl::Seconds(10))) << watcher.status();
  EXPECT_EQ(watcher.events().front().event().sequence(), 4);
}

TEST(WatchTest, OutOfRangeAfterRetention) {
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  content::testing::WriteFile(
      config, "changelog_retain_events: 5\nretention_interval_ms: 100\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(
        Create(*client, MakeArticle("t" + std::to_string(i), "x", i)).ok());
  // Until a retention pass trimmed the log (every 100 ms; a loaded machine
  // took longer than a fixed wait, and a watch from 3 then never ended),
  // bounded.
  for (absl::Time end = absl::Now() + absl::Seconds(30); absl::Now() < end;) {
    absl::StatusOr<v1::GetStatsResponse> stats = client->GetStats({});
    ASSERT_TRUE(stats.ok()) << stats.status();
    if (stats->first_sequence() == 16) break;  // 5 of 20 kept
    absl::SleepFor(absl::Milliseconds(50));
  }

  v1::WatchArticlesRequest req;
  req.set_after_sequence(3);
  absl::Status s = client->Watch(req, [](const auto&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  EXPECT_THAT(s.message(), HasSubstr("starts at sequence 16"));

  // From the oldest retained event it works.
  req.set_after_sequence(15);
  WatchCollector watcher(client.get(), req, 5);
  ASSERT_TRUE(watcher.WaitFor(absl::Seconds(10)));
  EXPECT_EQ(watcher.events().front().event().sequence(), 16);
}

// Article `big<i>` with a 64 KiB body: one fills a NarrowWindowChannel's
// stream.
v1::Article BigArticle(int i) {
  v1::Article a = MakeArticle("big" + std::to_string(i), "big", i);
  a.set_body(std::string(64 << 10, 'x'));
  return a;
}

TEST(WatchTest, StalledWatcherIsCutOffWhileWritesContinue) {
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  content::testing::WriteFile(config, "watch_stall_timeout_ms: 500\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);

  // A raw stream that never reads, on a window a loaded machine does not
  // grow past the 150 articles below (the stream never stalled).
  auto stub = v1::ContentService::NewStub(
      content::testing::NarrowWindowChannel(server->address()));
  grpc::ClientContext ctx;
  v1::WatchArticlesRequest req;
  auto reader = stub->WatchArticles(&ctx, req);

  // Large articles fill the flow-control window quickly; every write must
  // still be acknowledged promptly.
  for (int i = 0; i < 150; ++i) {
    const v1::Article a = BigArticle(i);
    v1::CreateArticleRequest c;
    c.set_article_id(ArticleId(a.name()));
    *c.mutable_article() = a;
    CallOptions call;
    call.timeout = absl::Seconds(5);
    ASSERT_TRUE(client->CreateArticle(c, call).ok()) << i;
  }
  // Counted and logged once, naming the client, though events kept coming.
  const v1::GetStatsResponse stats =
      StatsAfterCutOff(*client, *server, "WATCH_TOO_SLOW");
  EXPECT_EQ(stats.watchers_cut_off_stalled(), 1);
  EXPECT_EQ(stats.watchers_cut_off_trimmed(), 0);
  const std::string log = server->Log();
  EXPECT_EQ(Count(log, " cut off ("), 1) << log;

  // Draining now yields what was buffered, then RESOURCE_EXHAUSTED with the
  // sequence to resume from.
  v1::WatchArticlesResponse e;
  int64_t last = 0;
  while (reader->Read(&e)) last = e.event().sequence();
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  EXPECT_LT(last, 150);
  EXPECT_THAT(s.error_message(),
              HasSubstr("after_sequence=" + std::to_string(last)));
  auto trailer = ctx.GetServerTrailingMetadata().find("content-resume-after");
  ASSERT_NE(trailer, ctx.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(trailer->second.data(), trailer->second.size()),
            std::to_string(last));
  EXPECT_THAT(log, HasSubstr("contentd: watch from ipv4:127.0.0.1:"));
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       " cut off (WATCH_TOO_SLOW): stopped reading for more "
                       "than 500ms; it may resume with after_sequence=",
                       last, "\n")));
}

// A watcher that fell so far behind that retention trimmed the events it
// had yet to send is cut off when it reads again (OUT_OF_RANGE), counted
// apart from stalls, and logged once.
TEST(WatchTest, WatcherBehindRetentionIsCountedAndLogged) {
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  content::testing::WriteFile(config,
                              "watch_stall_timeout_ms: 600000\n"
                              "changelog_retain_events: 5\n"
                              "retention_interval_ms: 100\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);

  // A raw stream that stops reading: large articles fill flow control, a
  // window that stays narrow, so that the stream stops about 2 MiB (what
  // it reads ahead) into them. (gRPC's own window grew on a loaded machine
  // to hold every event: the stream had sent them all before retention
  // trimmed any, and waited for more until the deadline.)
  auto stub = v1::ContentService::NewStub(
      content::testing::NarrowWindowChannel(server->address()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(120));
  auto reader = stub->WatchArticles(&ctx, v1::WatchArticlesRequest());
  constexpr int kBig = 150;
  for (int i = 0; i < kBig; ++i) {
    ASSERT_TRUE(Create(*client, BigArticle(i)).ok()) << i;
  }
  // More events than the hub keeps for watchers (4096): the stream reads
  // the change log itself, which retention trims to the last 5.
  constexpr int kSmall = 4200;
  int next = 0;
  ASSERT_TRUE(client
                  ->ImportArticles(
                      [&](v1::ImportArticlesRequest* batch) {
                        if (next >= kSmall) return false;
                        for (int k = 0; k < 200 && next < kSmall; ++k, ++next)
                          *batch->add_articles() = MakeArticle(
                              "s" + std::to_string(next), "s", next);
                        return true;
                      },
                      [](const v1::ImportArticlesResponse&) {})
                  .ok());
  for (absl::Time end = absl::Now() + absl::Seconds(60); absl::Now() < end;) {
    absl::StatusOr<v1::GetStatsResponse> stats = client->GetStats({});
    ASSERT_TRUE(stats.ok()) << stats.status();
    if (stats->first_sequence() > kBig) break;
    absl::SleepFor(absl::Milliseconds(50));
  }

  v1::WatchArticlesResponse e;
  int64_t last = 0;
  while (reader->Read(&e)) last = e.event().sequence();
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE)
      << s.error_message();
  EXPECT_LT(last, kBig);
  const v1::GetStatsResponse stats =
      StatsAfterCutOff(*client, *server, "EVENTS_TRIMMED");
  EXPECT_EQ(stats.watchers_cut_off_trimmed(), 1);
  EXPECT_EQ(stats.watchers_cut_off_stalled(), 0);
  const std::string log = server->Log();
  EXPECT_EQ(Count(log, " cut off ("), 1) << log;
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       " cut off (EVENTS_TRIMMED): retention trimmed the "
                       "change log past sequence ",
                       last + 1, ", which it had yet to send")));
}

// One canceller handed to two Watch calls stops both (it used to hold one
// stream, the last started, and the other went on).
TEST(WatchTest, OneCancellerStopsEveryWatchItServes) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data", {});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  WatchCanceller canceller;
  std::atomic<bool> give_up{false};
  std::atomic<int> events{0}, done{0};
  std::vector<std::thread> watches;
  for (int i = 0; i < 2; ++i) {
    watches.emplace_back([&] {
      v1::WatchArticlesRequest req;
      absl::Status s = client->Watch(
          req,
          [&](const v1::WatchArticlesResponse&) {
            ++events;
            return !give_up.load();
          },
          &canceller);
      EXPECT_TRUE(s.ok()) << s;
      ++done;
    });
  }
  // Ended and joined however the test ends (an assertion below returns).
  absl::Cleanup join = [&] {
    give_up = true;
    canceller.Cancel();
    for (std::thread& t : watches) t.join();
  };
  // Both streams are open once both saw the first event.
  ASSERT_TRUE(Create(*client, MakeArticle("first", "t", 1)).ok());
  for (int i = 0; i < 500 && events < 2; ++i)
    absl::SleepFor(absl::Milliseconds(20));
  ASSERT_EQ(events.load(), 2);
  canceller.Cancel();
  for (int i = 0; i < 500 && done < 2; ++i)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(done.load(), 2);
  // A watch left running ends at its next event.
  give_up = true;
  if (done < 2) ASSERT_TRUE(Create(*client, MakeArticle("last", "t", 2)).ok());
  std::move(join).Invoke();
}

// An event larger than the SDK receives (64 MiB) ends the watch with
// RESOURCE_EXHAUSTED; it used to reconnect for it forever.
TEST(WatchTest, AnEventOverTheReceiveLimitIsAnError) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data",
                                     {"--max-article-bytes", "100000000"});
  ASSERT_NE(server, nullptr);
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(128 << 20);
  args.SetMaxReceiveMessageSize(128 << 20);  // the reply holds it too
  auto stub = v1::ContentService::NewStub(grpc::CreateCustomChannel(
      server->address(), grpc::InsecureChannelCredentials(), args));
  v1::CreateArticleRequest c;
  c.set_article_id("huge");
  *c.mutable_article() = MakeArticle("huge", "t", 1);
  c.mutable_article()->set_body(std::string(65 << 20, 'x'));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::Article created;
  grpc::Status created_status = stub->CreateArticle(&ctx, c, &created);
  ASSERT_TRUE(created_status.ok())
      << created_status.error_code() << " " << created_status.error_message();

  auto client = Connect(*server);
  WatchCanceller canceller;
  std::atomic<bool> done{false};
  absl::Status status;
  std::thread t([&] {
    status = client->Watch(
        v1::WatchArticlesRequest(), [](const auto&) { return true; },
        &canceller);
    done = true;
  });
  for (int i = 0; i < 1000 && !done; ++i)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(done.load()) << "the watch is still reconnecting";
  canceller.Cancel();
  t.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
}

// An article gRPC could not parse (params nested past protobuf's 100
// levels) fails alone, naming its place, and the import goes on. gRPC
// handed such a batch to the server as the end of the stream, which then
// ended OK with that batch and every later one unwritten.
TEST(BulkTest, AnUnparsableArticleFailsAlone) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  int next = 0;
  std::vector<v1::ImportResult> results;
  absl::Status s = client->ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        if (next == 3) return false;
        for (int k = 0; k < 2; ++k) {
          const std::string id = absl::StrCat("p", next, "-", k);
          v1::Article a = MakeArticle(id, "t", next);
          if (next == 1 && k == 1) {
            google::protobuf::Struct* level = a.mutable_params();
            for (int depth = 0; depth < 120; ++depth) {
              level = (*level->mutable_fields())["n"].mutable_struct_value();
            }
          }
          *batch->add_articles() = std::move(a);
        }
        ++next;
        return true;
      },
      [&](const v1::ImportArticlesResponse& r) {
        results.insert(results.end(), r.results().begin(), r.results().end());
      });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(results.size(), 6u);
  for (size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(i);
    if (i == 3) {
      EXPECT_EQ(results[i].outcome(), v1::ImportResult::OUTCOME_FAILED);
      EXPECT_EQ(results[i].name(), "articles/p1-1");
      EXPECT_EQ(results[i].error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_THAT(results[i].error(),
                  HasSubstr("articles[1]: cannot be parsed"));
    } else {
      EXPECT_EQ(results[i].outcome(), v1::ImportResult::OUTCOME_CREATED);
    }
  }
  EXPECT_TRUE(client->Get("p1-0").ok());
  EXPECT_EQ(client->Get("p1-1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(client->Get("p2-1").ok());
}

// A batch the server refuses whole ends the import; the error names the
// batch, which the server's message ("articles: at most 1000 per request")
// cannot.
TEST(BulkTest, ABatchRefusedWholeIsNamed) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  int next = 0;
  int answered = 0;
  absl::Status s = client->ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        if (next == 3) return false;
        const int n = next == 1 ? 1001 : 2;
        for (int k = 0; k < n; ++k) {
          *batch->add_articles() =
              MakeArticle(absl::StrCat("b", next, "-", k), "t", next);
        }
        ++next;
        return true;
      },
      [&](const v1::ImportArticlesResponse&) { ++answered; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(),
              HasSubstr("import: batch 2: articles: at most 1000 per "
                        "request, got 1001; it and later batches were not "
                        "written"));
  // With the server's details, as any other call's error: they were
  // dropped with the message the SDK rewrote.
  EXPECT_EQ(ErrorReason(s), "INVALID_ARGUMENT");
  EXPECT_EQ(ErrorDomain(s), "contentd.v1");
  const std::vector<FieldViolation> v = FieldViolations(s);
  ASSERT_EQ(v.size(), 1u) << s;
  EXPECT_EQ(v[0].field, "articles");
  EXPECT_EQ(v[0].description, "at most 1000 per request, got 1001");
  EXPECT_EQ(answered, 1);
  EXPECT_TRUE(client->Get("b0-1").ok());
  EXPECT_EQ(client->Get("b1-0").status().code(), absl::StatusCode::kNotFound);
}

// An export whose client stops reading ends after export_stall_timeout_ms
// with RESOURCE_EXHAUSTED (it used to keep its stream, and the snapshot it
// reads, for as long as the client stayed connected).
TEST(BulkTest, StalledExportIsCutOff) {
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  // 2 s, not less: the export that reads, below, must not pause that long
  // (it did for 500 ms on a loaded machine, and was cut off).
  content::testing::WriteFile(config, "export_stall_timeout_ms: 2000\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);

  // 20 MB of articles: far more than flow control lets through unread.
  constexpr int kCount = 320;
  const std::string body(64 << 10, 'x');
  int next = 0;
  ASSERT_TRUE(client
                  ->ImportArticles(
                      [&](v1::ImportArticlesRequest* batch) {
                        if (next >= kCount) return false;
                        for (int k = 0; k < 40 && next < kCount; ++k, ++next) {
                          v1::Article a = MakeArticle(
                              "big" + std::to_string(next), "big", next);
                          a.set_body(body);
                          *batch->add_articles() = a;
                        }
                        return true;
                      },
                      [](const v1::ImportArticlesResponse&) {})
                  .ok());

  // A raw stream that does not read, on a window that stays narrow
  // whatever the machine's load.
  auto stub = v1::ContentService::NewStub(
      content::testing::NarrowWindowChannel(server->address()));
  grpc::ClientContext ctx;
  // Past StatsAfterCutOff's guard: a cut-off not logged fails there.
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(120));
  auto reader = stub->ExportArticles(&ctx, v1::ExportArticlesRequest());
  // Counted and logged once, naming the client.
  const v1::GetStatsResponse stats =
      StatsAfterCutOff(*client, *server, "EXPORT_TOO_SLOW");
  EXPECT_EQ(stats.exports_cut_off_stalled(), 1);
  EXPECT_EQ(stats.watchers_cut_off_stalled(), 0);
  const std::string log = server->Log();
  EXPECT_EQ(Count(log, " cut off ("), 1) << log;
  EXPECT_THAT(log, HasSubstr("contentd: export from ipv4:127.0.0.1:"));
  EXPECT_THAT(log, HasSubstr(" cut off (EXPORT_TOO_SLOW): stopped reading for "
                             "more than 2s; its snapshot is released\n"));

  // Draining now yields what was in flight, then the cutoff.
  v1::ExportArticlesResponse r;
  int got = 0;
  while (reader->Read(&r)) got += r.articles_size();
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("stopped reading"));
  EXPECT_LT(got, kCount);

  // An export that reads still gets everything.
  int all = 0;
  ASSERT_TRUE(client
                  ->ExportArticles(v1::ExportArticlesRequest(),
                                   [&](const v1::Article&) {
                                     ++all;
                                     return true;
                                   })
                  .ok());
  EXPECT_EQ(all, kCount);
}

TEST(BulkTest, ImportReportsEachArticleAndExportStreamsThemBack) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);

  // 2,500 articles in batches of 500, one of them invalid.
  constexpr int kCount = 2500;
  auto import = [&](bool dry_run,
                    std::map<v1::ImportResult::Outcome, int>* totals,
                    std::vector<v1::ImportResult>* failed) {
    int next = 0;
    return client->ImportArticles(
        [&](v1::ImportArticlesRequest* batch) {
          if (next >= kCount) return false;
          batch->set_dry_run(dry_run);
          for (int k = 0; k < 500 && next < kCount; ++k, ++next) {
            v1::Article a = MakeArticle("imp" + std::to_string(next),
                                        next % 2 ? "odd" : "even", next);
            if (next == 777) a.clear_title();
            *batch->add_articles() = a;
          }
          return true;
        },
        [&](const v1::ImportArticlesResponse& r) {
          for (const auto& x : r.results()) {
            (*totals)[x.outcome()]++;
            if (x.outcome() == v1::ImportResult::OUTCOME_FAILED)
              failed->push_back(x);
          }
        });
  };

  std::map<v1::ImportResult::Outcome, int> totals;
  std::vector<v1::ImportResult> failed;
  ASSERT_TRUE(import(/*dry_run=*/true, &totals, &failed).ok());
  EXPECT_EQ(totals[v1::ImportResult::OUTCOME_CREATED], kCount - 1);
  EXPECT_EQ(client->Get("imp1").status().code(), absl::StatusCode::kNotFound);

  totals.clear();
  failed.clear();
  ASSERT_TRUE(import(false, &totals, &failed).ok());
  EXPECT_EQ(totals[v1::ImportResult::OUTCOME_CREATED], kCount - 1);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].name(), "articles/imp777");
  EXPECT_THAT(failed[0].error(), HasSubstr("title"));
  EXPECT_EQ(failed[0].error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  totals.clear();
  failed.clear();
  ASSERT_TRUE(import(false, &totals, &failed).ok());
  EXPECT_EQ(totals[v1::ImportResult::OUTCOME_UNCHANGED], kCount - 1);

  // Export everything, then only one tag, oldest first.
  std::vector<std::string> names;
  ASSERT_TRUE(client
                  ->ExportArticles(v1::ExportArticlesRequest(),
                                   [&](const v1::Article& a) {
                                     names.push_back(a.name());
                                     return true;
                                   })
                  .ok());
  EXPECT_EQ(names.size(), static_cast<size_t>(kCount - 1));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(),
            names.size());
  v1::ExportArticlesRequest odd;
  odd.mutable_query()->add_tags("odd");
  odd.mutable_query()->set_order(v1::Query::ORDER_OLDEST_FIRST);
  std::vector<int64_t> dates;
  ASSERT_TRUE(client
                  ->ExportArticles(odd,
                                   [&](const v1::Article& a) {
                                     dates.push_back(a.date().seconds());
                                     return true;
                                   })
                  .ok());
  ASSERT_EQ(dates.size(), static_cast<size_t>(kCount / 2 - 1));  // 777 failed
  EXPECT_TRUE(std::is_sorted(dates.begin(), dates.end()));
}

}  // namespace
}  // namespace content
