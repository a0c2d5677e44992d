// End-to-end: authentication and roles, TLS, rate limits, backup and
// restore, retention and metrics, against real contentd processes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/progress_line.h"
#include "content/client.h"
#include "content/v1/content_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/support/ctl.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"
#include "tests/support/held_port.h"

namespace content {
namespace {

using ::content::testing::AuthConfigYaml;
using ::content::testing::CommandResult;
using ::content::testing::ContentdBinary;
using ::content::testing::HeldPort;
using ::content::testing::RawUnaryCall;
using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<Client> Connect(const std::string& target,
                                const std::string& token = "",
                                ClientOptions options = {}) {
  options.target = target;
  options.token = token;
  options.max_attempts = 1;
  options.timeout = absl::Seconds(10);
  auto c = Client::Connect(options);
  EXPECT_TRUE(c.ok());
  return *std::move(c);
}

v1::Article Article(const std::string& title) {
  v1::Article a;
  a.set_title(title);
  a.add_tags("ops");
  a.mutable_date()->set_seconds(1735689600);
  // Over 512 bytes, like real articles: stored revisions then live in
  // RocksDB's blob files, which backups, restores and compactions must keep.
  a.set_body("body of " + title + "\n\n" + std::string(600, '.'));
  return a;
}

absl::StatusOr<v1::Article> Create(Client& c, const std::string& id,
                                   const std::string& title) {
  v1::CreateArticleRequest req;
  req.set_article_id(id);
  *req.mutable_article() = Article(title);
  return c.CreateArticle(req);
}

// Writes a config with three tokens (one per role) and `extra` YAML.
std::string AuthConfig(const std::string& dir, const std::string& extra = "") {
  const std::string path = dir + "/contentd.yaml";
  WriteFile(path, AuthConfigYaml({{"r", "reader", "reader-token"},
                                  {"e", "editor", "editor-token"},
                                  {"a", "admin", "admin-token"}}) +
                      extra);
  return path;
}

TEST(AuthTest, EveryRoleAgainstEveryRpc) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data",
                                     {"--config", AuthConfig(dir.path())});
  ASSERT_NE(server, nullptr);
  // Something to read, written by the editor.
  auto editor = Connect(server->address(), "editor-token");
  ASSERT_TRUE(Create(*editor, "seed", "seed").ok());

  // Each RPC with the weakest role that may call it (0 reader, 1 editor,
  // 2 admin). A fresh id per call keeps creates from colliding.
  int n = 0;
  struct Rpc {
    std::string name;
    int role;
    std::function<absl::Status(Client&)> call;
  };
  const std::string backup_root = dir.path() + "/backups";
  std::vector<Rpc> rpcs = {
      {"GetArticle", 0, [](Client& c) { return c.Get("seed").status(); }},
      {"QueryArticles", 0,
       [](Client& c) { return c.QueryArticles({}).status(); }},
      {"ListArticleRevisions", 0,
       [](Client& c) {
         v1::ListArticleRevisionsRequest r;
         r.set_name("articles/seed");
         return c.ListArticleRevisions(r).status();
       }},
      {"BatchGetArticles", 0,
       [](Client& c) {
         v1::BatchGetArticlesRequest r;
         r.add_names("articles/seed");
         return c.BatchGetArticles(r).status();
       }},
      {"DiffArticleRevisions", 0,
       [](Client& c) {
         // The seed may have one revision only: compare it with itself.
         v1::DiffArticleRevisionsRequest r;
         r.set_name("articles/seed");
         r.set_from_revision(1);
         r.set_to_revision(1);
         return c.DiffArticleRevisions(r).status();
       }},
      {"ListTranslations", 0,
       [](Client& c) {
         v1::ListTranslationsRequest r;
         r.set_name("articles/seed");
         return c.ListTranslations(r).status();
       }},
      {"ListTags", 0, [](Client& c) { return c.ListTags({}).status(); }},
      {"ListCategories", 0,
       [](Client& c) { return c.ListCategories({}).status(); }},
      {"ExportArticles", 0,
       [](Client& c) {
         return c.ExportArticles({}, [](const v1::Article&) { return true; });
       }},
      {"WatchArticles", 0,
       [](Client& c) {
         v1::WatchArticlesRequest r;
         // Stops at the first event (the seed's creation).
         return c.Watch(r,
                        [](const v1::WatchArticlesResponse&) { return false; });
       }},
      {"CreateArticle", 1,
       [&n](Client& c) {
         return Create(c, "c" + std::to_string(++n), "new").status();
       }},
      {"UpdateArticle", 1,
       [&n](Client& c) {
         v1::UpdateArticleRequest r;
         *r.mutable_article() = Article("updated " + std::to_string(++n));
         r.mutable_article()->set_name("articles/seed");
         return c.UpdateArticle(r).status();
       }},
      {"RestoreArticleRevision", 1,
       [](Client& c) {
         v1::RestoreArticleRevisionRequest r;
         r.set_name("articles/seed");
         r.set_revision(1);
         return c.RestoreArticleRevision(r).status();
       }},
      {"DeleteArticle+UndeleteArticle", 1,
       [](Client& c) {
         v1::DeleteArticleRequest d;
         d.set_name("articles/seed");
         absl::Status s = c.DeleteArticle(d).status();
         if (!s.ok()) return s;
         v1::UndeleteArticleRequest u;
         u.set_name("articles/seed");
         return c.UndeleteArticle(u).status();
       }},
      {"ImportArticles", 1,
       [&n](Client& c) {
         bool sent = false;
         absl::Status result;
         absl::Status s = c.ImportArticles(
             [&](v1::ImportArticlesRequest* b) {
               if (sent) return false;
               sent = true;
               *b->add_articles() = Article("imported");
               b->mutable_articles(0)->set_name("articles/i" +
                                                std::to_string(++n));
               return true;
             },
             [](const v1::ImportArticlesResponse&) {});
         return s;
       }},
      {"GetStats", 2, [](Client& c) { return c.GetStats({}).status(); }},
      {"ListOperations", 2,
       [](Client& c) { return c.ListOperations({}).status(); }},
      {"CheckStore", 2, [](Client& c) { return c.CheckStore({}).status(); }},
      {"CompactStore", 2,
       [](Client& c) { return c.CompactStore({}).status(); }},
      {"BackupStore", 2,
       [&n, &backup_root](Client& c) {
         v1::BackupStoreRequest r;
         r.set_destination(backup_root + std::to_string(++n));
         return c.BackupStore(r).status();
       }},
  };
  const std::vector<std::pair<std::string, int>> callers = {
      {"reader-token", 0}, {"editor-token", 1}, {"admin-token", 2}};
  for (const Rpc& rpc : rpcs) {
    for (const auto& [token, role] : callers) {
      auto client = Connect(server->address(), token);
      absl::Status s = rpc.call(*client);
      if (role >= rpc.role && rpc.name == "BackupStore" &&
          testing::TestEngineIsPostgres()) {
        // Past the role check; only RocksDB can take checkpoints.
        EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented)
            << rpc.name << " as " << token << ": " << s;
      } else if (role >= rpc.role) {
        EXPECT_TRUE(s.ok()) << rpc.name << " as " << token << ": " << s;
      } else {
        EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied)
            << rpc.name << " as " << token << ": " << s;
      }
    }
    for (const std::string& bad : {std::string(), std::string("forged")}) {
      auto client = Connect(server->address(), bad);
      absl::Status s = rpc.call(*client);
      EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated)
          << rpc.name << " with token '" << bad << "': " << s;
    }
  }
  // The config never held a token in plain text.
  EXPECT_THAT(testing::ReadFile(dir.path() + "/contentd.yaml"),
              ::testing::Not(HasSubstr("reader-token")));
}

// Reads at VISIBILITY_ALL (drafts, scheduled, expired, archived) need the
// editor role on every RPC that takes a visibility; the same reads at the
// default visibility are the reader's.
TEST(AuthTest, VisibilityAllNeedsTheEditorRole) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data",
                                     {"--config", AuthConfig(dir.path())});
  ASSERT_NE(server, nullptr);
  auto editor = Connect(server->address(), "editor-token");
  ASSERT_TRUE(Create(*editor, "seed", "seed").ok());
  v1::CreateArticleRequest draft;
  draft.set_article_id("draft");
  *draft.mutable_article() = Article("draft");
  draft.mutable_article()->set_state(v1::Article::DRAFT);
  ASSERT_TRUE(editor->CreateArticle(draft).ok());

  struct Read {
    std::string name;
    std::function<absl::Status(Client&, v1::Visibility)> call;
  };
  const std::vector<Read> reads = {
      {"GetArticle",
       [](Client& c, v1::Visibility v) {
         GetOptions options;
         options.visibility = v;
         return c.Get("seed", options).status();
       }},
      {"QueryArticles",
       [](Client& c, v1::Visibility v) {
         v1::QueryArticlesRequest r;
         r.mutable_query()->set_visibility(v);
         return c.QueryArticles(r).status();
       }},
      {"BatchGetArticles",
       [](Client& c, v1::Visibility v) {
         v1::BatchGetArticlesRequest r;
         r.add_names("articles/seed");
         r.set_visibility(v);
         return c.BatchGetArticles(r).status();
       }},
      {"ListTranslations",
       [](Client& c, v1::Visibility v) {
         v1::ListTranslationsRequest r;
         r.set_name("articles/seed");
         r.set_visibility(v);
         return c.ListTranslations(r).status();
       }},
      {"WatchArticles",
       [](Client& c, v1::Visibility v) {
         v1::WatchArticlesRequest r;
         r.mutable_filter()->set_visibility(v);
         // Stops at the first event.
         return c.Watch(r,
                        [](const v1::WatchArticlesResponse&) { return false; });
       }},
      {"ExportArticles",
       [](Client& c, v1::Visibility v) {
         v1::ExportArticlesRequest r;
         r.mutable_query()->set_visibility(v);
         return c.ExportArticles(r, [](const v1::Article&) { return true; });
       }},
  };
  auto reader = Connect(server->address(), "reader-token");
  for (const Read& read : reads) {
    for (v1::Visibility v : {v1::VISIBILITY_UNSPECIFIED, v1::VISIBILITY_LIVE}) {
      EXPECT_TRUE(read.call(*reader, v).ok())
          << read.name << " as reader at " << v1::Visibility_Name(v);
    }
    absl::Status s = read.call(*reader, v1::VISIBILITY_ALL);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied)
        << read.name << " as reader: " << s;
    s = read.call(*editor, v1::VISIBILITY_ALL);
    EXPECT_TRUE(s.ok()) << read.name << " as editor: " << s;
  }
  // What ALL adds: the draft, for the editor only.
  GetOptions all;
  all.visibility = v1::VISIBILITY_ALL;
  EXPECT_TRUE(editor->Get("draft", all).ok());
  EXPECT_EQ(reader->Get("draft").status().code(), absl::StatusCode::kNotFound);
}

// Methods that parse their own request bytes authenticate first, like the
// typed ones: a caller without a token learns nothing from bad bytes.
TEST(AuthTest, BytesThatDoNotParseWithoutATokenAreUnauthenticated) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data",
                                     {"--config", AuthConfig(dir.path())});
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  auto raw = [&](const std::string& method, const std::string& token) {
    std::vector<std::pair<std::string, std::string>> metadata;
    if (!token.empty())
      metadata.emplace_back("authorization", "Bearer " + token);
    std::string reply;
    return RawUnaryCall(*channel, "/content.v1.ContentService/" + method,
                        std::string("\xff\xff\xff", 3), metadata, &reply, 5)
        .error_code();
  };
  for (const std::string method :
       {"GetArticle", "QueryArticles", "UpdateArticle"}) {
    EXPECT_EQ(raw(method, ""), grpc::StatusCode::UNAUTHENTICATED) << method;
    EXPECT_EQ(raw(method, "no-such-token"), grpc::StatusCode::UNAUTHENTICATED)
        << method;
  }
  // With a token, the bytes are the problem.
  EXPECT_EQ(raw("GetArticle", "reader-token"),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(raw("QueryArticles", "reader-token"),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A contentd in `dir` with AuthConfig's tokens, each limited to `rate` calls
// a second with `burst`.
std::unique_ptr<ServerProcess> StartRateLimited(const TempDir& dir, int rate,
                                                int burst) {
  return ServerProcess::Start(
      dir.path() + "/data",
      {"--config",
       AuthConfig(dir.path(),
                  absl::StrCat("  rate_limit_per_second: ", rate,
                               "\n  rate_limit_burst: ", burst, "\n"))});
}

TEST(AuthTest, RateLimitPerTokenAnswersResourceExhausted) {
  TempDir dir;
  auto server = StartRateLimited(dir, 5, 5);
  ASSERT_NE(server, nullptr);
  auto reader = Connect(server->address(), "reader-token");
  auto admin = Connect(server->address(), "admin-token");
  int ok = 0, limited = 0;
  for (int i = 0; i < 20; ++i) {
    absl::Status s = reader->QueryArticles({}).status();
    if (s.ok()) ++ok;
    if (s.code() == absl::StatusCode::kResourceExhausted) {
      ++limited;
      EXPECT_THAT(s.message(), HasSubstr("rate limit"));
    }
  }
  EXPECT_GE(ok, 5);
  EXPECT_GE(limited, 10);
  // Another token has its own bucket.
  EXPECT_TRUE(admin->QueryArticles({}).ok());
}

// A token revoked, added or given another role in the config file needed a
// restart. The file is read again every auth.reload_interval_seconds; a
// file that does not parse, or has no tokens, changes nothing and is said.
TEST(AuthTest, TokensChangedInTheConfigFileTakeEffectWithoutARestart) {
  TempDir dir;
  const std::string config =
      AuthConfig(dir.path(), "  reload_interval_seconds: 1\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto works = [&](const std::string& token) {
    return Connect(server->address(), token)->QueryArticles({}).status();
  };
  EXPECT_TRUE(works("reader-token").ok());
  EXPECT_EQ(works("new-token").code(), absl::StatusCode::kUnauthenticated);
  // Waits (bounded) until the log holds `line`.
  auto logged = [&](const std::string& line) {
    for (int i = 0; i < 60; ++i) {
      if (server->Log().find(line) != std::string::npos) return true;
      absl::SleepFor(absl::Milliseconds(250));
    }
    return false;
  };

  // The reader's token revoked, another added.
  WriteFile(config, testing::AuthConfigYaml({{"n", "reader", "new-token"},
                                             {"e", "editor", "editor-token"},
                                             {"a", "admin", "admin-token"}}) +
                        "  reload_interval_seconds: 1\n");
  EXPECT_TRUE(logged("contentd: auth.tokens read again from " + config +
                     ": 3 tokens; now accepted: n (reader); no longer "
                     "accepted: r (reader) (other keys take effect at a "
                     "restart)"))
      << server->Log();
  EXPECT_TRUE(works("new-token").ok());
  EXPECT_EQ(works("reader-token").code(), absl::StatusCode::kUnauthenticated);

  // A broken file, then one without tokens: the tokens in use stay.
  WriteFile(config, "auth: [\n");
  EXPECT_TRUE(logged("contentd: WARNING: " + config +
                     " changed but its tokens were not taken: "))
      << server->Log();
  EXPECT_TRUE(works("new-token").ok());
  WriteFile(config, "auth:\n  tokens: []\n  reload_interval_seconds: 1\n");
  EXPECT_TRUE(logged("config auth.tokens: none, or auth turned off"))
      << server->Log();
  EXPECT_TRUE(works("new-token").ok());
  EXPECT_EQ(works("").code(), absl::StatusCode::kUnauthenticated);
}

// A rate limit's refusal says how long to wait (a RetryInfo, and in its
// message), and the SDK waits that long and sends the call again, a write
// too, since the refusal came before it did anything: a run of writes at
// twice the rate all land, each once. They failed RESOURCE_EXHAUSTED
// "retry later", and the caller had to guess the wait.
TEST(AuthTest, TheSdkWaitsOutARateLimitAsTheServerSays) {
  TempDir dir;
  auto server = StartRateLimited(dir, 2, 1);
  ASSERT_NE(server, nullptr);
  auto once = Connect(server->address(), "editor-token");  // max_attempts 1
  // Calls back to back, until one comes within 500 ms of the one before (a
  // loaded machine may space a few further apart).
  absl::Status refused;
  for (int i = 0; i < 20 && refused.ok(); ++i)
    refused = Create(*once, absl::StrCat("probe", i), "Probe").status();
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(ErrorReason(refused), "RATE_LIMIT_EXCEEDED");
  EXPECT_THAT(refused.message(), HasSubstr("; retry in "));
  EXPECT_GT(ErrorRetryDelay(refused), absl::ZeroDuration());
  EXPECT_LE(ErrorRetryDelay(refused), absl::Milliseconds(500));

  ClientOptions options;
  options.target = server->address();
  options.token = "editor-token";
  auto patient = Client::Connect(options);  // max_attempts 4, the default
  ASSERT_TRUE(patient.ok()) << patient.status();
  for (int i = 0; i < 8; ++i) {
    const std::string id = absl::StrCat("w", i);
    absl::StatusOr<v1::Article> a = Create(**patient, id, id);
    ASSERT_TRUE(a.ok()) << id << ": " << a.status();
  }
  v1::ListArticleRevisionsRequest list;
  for (int i = 0; i < 8; ++i) {
    list.set_name(absl::StrCat("articles/w", i));
    // Reads are limited too, and waited out alike.
    absl::StatusOr<v1::ListArticleRevisionsResponse> revisions =
        (*patient)->ListArticleRevisions(list);
    ASSERT_TRUE(revisions.ok()) << i << ": " << revisions.status();
    EXPECT_EQ(revisions->revisions_size(), 1) << "written once: w" << i;
  }
}

TEST(AuthTest, RefusesToServeBeyondLoopbackWithoutTokens) {
  TempDir dir;
  auto r = RunCommand({ContentdBinary(), "--listen", "0.0.0.0:0", "--data-dir",
                       dir.path() + "/data"});
  // Exit 2, a configuration refused, which the systemd unit does not
  // restart (RestartPreventExitStatus=2); it was 1, restarted every 2 s.
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no tokens are configured"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data"));
  // From the config file alike.
  WriteFile(dir.path() + "/open.yaml", "listen: 0.0.0.0:0\n");
  r = RunCommand({ContentdBinary(), "--config", dir.path() + "/open.yaml",
                  "--data-dir", dir.path() + "/data"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no tokens are configured"));
  // Plain-text tokens in the config are refused too.
  WriteFile(dir.path() + "/bad.yaml",
            "auth:\n  tokens:\n    - {name: x, role: admin, token: hunter2}\n");
  r = RunCommand({ContentdBinary(), "--config", dir.path() + "/bad.yaml",
                  "--data-dir", dir.path() + "/data"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("plain-text tokens are not accepted"));
}

// Loopback is judged by the address the listen host resolves to, not by
// its text (which took any name starting "127." for loopback): an IPv4
// loopback address written as IPv6 was refused as if it were public.
TEST(AuthTest, ServesWithoutTokensOnAnyLoopbackAddress) {
  {
    // A host without IPv6 sockets cannot bind a v4-mapped address at all.
    const int fd = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 mapped{};
    mapped.sin6_family = AF_INET6;
    const bool bindable =
        fd >= 0 &&
        inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr) == 1 &&
        bind(fd, reinterpret_cast<sockaddr*>(&mapped), sizeof mapped) == 0;
    if (fd >= 0) close(fd);
    if (!bindable) GTEST_SKIP() << "no IPv6 socket for [::ffff:127.0.0.1]";
  }
  TempDir dir;
  const std::string err_path = dir.path() + "/err";
  auto server = testing::BackgroundCommand::Start(
      {ContentdBinary(), "--listen", "[::ffff:127.0.0.1]:0", "--data-dir",
       dir.path() + "/data"},
      "/dev/null", err_path);
  ASSERT_NE(server, nullptr);
  // Until it serves or refuses (bounded: a hung start fails the test).
  std::string err;
  for (int i = 0; i < 1200; ++i) {
    err = testing::ReadFile(err_path);
    if (absl::StrContains(err, "serving on port") ||
        absl::StrContains(err, "no tokens are configured")) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(server->pid(), SIGTERM);
  const testing::CommandResult r = server->Wait(std::chrono::seconds(60));
  EXPECT_THAT(r.err, Not(HasSubstr("no tokens are configured")));
  EXPECT_THAT(r.err, HasSubstr("AUTHENTICATION IS OFF"));
  EXPECT_THAT(r.err, HasSubstr("serving on port"));
}

// The warning names the address as bound: with port 0, the port chosen
// (it used to say 127.0.0.1:0).
TEST(AuthTest, AuthOffWarningNamesTheBoundPort) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string log = server->Log();
  const size_t at = log.find("AUTHENTICATION IS OFF");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_THAT(line, HasSubstr(absl::StrCat("anyone who can reach 127.0.0.1:",
                                           server->port(), " can read")));
}

// Certificates made here with openssl: a CA, a server certificate for
// 127.0.0.1 and a client certificate.
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path();
    auto run = [&](const std::string& cmd) {
      auto r = RunCommand({"/bin/sh", "-c", "cd " + d + " && " + cmd});
      ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
    };
    run("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
        "-days 2 -subj /CN=test-ca");
    WriteFile(d + "/san.ext", "subjectAltName=IP:127.0.0.1\n");
    run("openssl req -newkey rsa:2048 -nodes -keyout server.key -out "
        "server.csr -subj /CN=127.0.0.1");
    run("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out server.pem -days 2 -extfile san.ext");
    run("openssl req -newkey rsa:2048 -nodes -keyout client.key -out "
        "client.csr -subj /CN=client");
    run("openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out client.pem -days 2");
  }
  std::string Path(const std::string& f) { return dir_.path() + "/" + f; }
  ClientOptions Tls(bool with_cert) {
    ClientOptions o;
    o.tls_ca_pem = testing::ReadFile(Path("ca.pem"));
    if (with_cert) {
      o.tls_cert_pem = testing::ReadFile(Path("client.pem"));
      o.tls_key_pem = testing::ReadFile(Path("client.key"));
    }
    return o;
  }
  TempDir dir_;
};

// A key that is not the certificate's, or files without PEM, name the file
// at fault before anything is created (gRPC only said it could not listen).
// The rules are the SDK's and contentctl's (common/tls_pem.h): a key given
// as a certificate is named as such, and a key with a passphrase is refused
// without asking for it.
TEST_F(TlsTest, MismatchedOrMissingPemIsRefusedNamingTheFile) {
  auto r = RunCommand({"/bin/sh", "-c",
                       "cd " + dir_.path() +
                           " && openssl pkey -in server.key -aes256 -passout "
                           "pass:secret -out locked.key"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct Case {
    std::string cert, key, ca, want;
  };
  for (const Case& c : std::vector<Case>{
           {"server.pem", "client.key", "",
            "tls.key_file: " + Path("client.key") +
                " is not the key of the certificate in tls.cert_file " +
                Path("server.pem")},
           {"san.ext", "server.key", "",
            "tls.cert_file: " + Path("san.ext") + " holds no PEM certificate"},
           {"server.key", "server.key", "",
            "tls.cert_file: " + Path("server.key") +
                " holds a private key, not a PEM certificate"},
           {"server.pem", "san.ext", "",
            "tls.key_file: " + Path("san.ext") + " holds no PEM private key"},
           {"server.pem", "locked.key", "",
            "tls.key_file: " + Path("locked.key") +
                " holds no PEM private key (or one with a passphrase)"},
           {"server.pem", "server.key", "san.ext",
            "tls.client_ca_file: " + Path("san.ext") +
                " holds no PEM certificate"},
           {"server.pem", "server.key", "ca.key",
            "tls.client_ca_file: " + Path("ca.key") +
                " holds a private key, not a PEM certificate"},
           // A file that cannot be read says why, and is a config error
           // (exit 2) like the rest: it was exit 1 with no reason.
           {"server.pem", "gone.key", "",
            "tls.key_file: cannot read " + Path("gone.key") +
                ": No such file or directory"},
           {"server.pem", "server.key", "gone.pem",
            "tls.client_ca_file: cannot read " + Path("gone.pem") +
                ": No such file or directory"},
           // A directory read as empty: it was said to hold no PEM.
           {".", "server.key", "",
            "tls.cert_file: cannot read " + Path(".") + ": Is a directory"}}) {
    SCOPED_TRACE(c.cert + " " + c.key + " " + c.ca);
    std::string yaml =
        "listen: 127.0.0.1:0\ntls:\n  cert_file: " + Path(c.cert) +
        "\n  key_file: " + Path(c.key) + "\n";
    if (!c.ca.empty()) yaml += "  client_ca_file: " + Path(c.ca) + "\n";
    WriteFile(Path("bad.yaml"), yaml);
    auto r = RunCommand({ContentdBinary(), "--config", Path("bad.yaml"),
                         "--data-dir", Path("never")},
                        "", {}, std::chrono::seconds(30));
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.want));
    // tls.* are keys of the file only: its errors name it.
    EXPECT_THAT(r.err, HasSubstr(Path("bad.yaml") + ": config " + c.want));
    EXPECT_FALSE(std::filesystem::exists(Path("never")));
  }
}

// TLS material that cannot work is refused when the client is made, naming
// the option; gRPC took it, logged OpenSSL's errors at the first call and
// failed it as UNAVAILABLE "empty address list".
TEST_F(TlsTest, ConnectRefusesPemThatCannotWork) {
  struct Case {
    std::string ca, cert, key, want;
  };
  for (const Case& c : std::vector<Case>{
           {"server.key", "", "",
            "tls_ca_pem: holds a private key, not a "
            "PEM certificate"},
           {"san.ext", "", "", "tls_ca_pem: holds no PEM certificate"},
           {"ca.pem", "client.key", "client.key",
            "tls_cert_pem: holds a private key"},
           {"ca.pem", "client.pem", "client.pem",
            "tls_key_pem: holds no PEM private key"},
           {"ca.pem", "client.pem", "server.key",
            "tls_key_pem: is not the key of the certificate in "
            "tls_cert_pem"}}) {
    SCOPED_TRACE(c.ca + " " + c.cert + " " + c.key);
    ClientOptions o;
    o.target = "127.0.0.1:1";
    o.tls_ca_pem = testing::ReadFile(Path(c.ca));
    if (!c.cert.empty()) o.tls_cert_pem = testing::ReadFile(Path(c.cert));
    if (!c.key.empty()) o.tls_key_pem = testing::ReadFile(Path(c.key));
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(o);
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(client.status().message(), HasSubstr(c.want));
  }
  // TLS with a CA alone, or with a matching certificate and key, is fine.
  ClientOptions o = Tls(false);
  o.target = "127.0.0.1:1";
  EXPECT_TRUE(Client::Connect(o).ok());
  o = Tls(true);
  o.target = "127.0.0.1:1";
  EXPECT_TRUE(Client::Connect(o).ok());
}

// contentctl names the flag and the file, as a usage error, instead of four
// lines of gRPC's OpenSSL log and "UNAVAILABLE: empty address list".
TEST_F(TlsTest, ContentctlNamesTlsFilesThatCannotWork) {
  struct Case {
    std::vector<std::string> flags;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {{"--ca", Path("server.key")},
            "--ca: " + Path("server.key") +
                " holds a private key, not a PEM certificate"},
           {{"--ca", Path("ca.pem"), "--cert", Path("client.pem"), "--key",
             Path("server.key")},
            "--key: " + Path("server.key") +
                " is not the key of the certificate in --cert"},
           {{"--ca", Path("ca.pem"), "--cert", Path("client.key"), "--key",
             Path("client.key")},
            "--cert: " + Path("client.key") + " holds a private key"}}) {
    SCOPED_TRACE(::testing::PrintToString(c.flags));
    std::vector<std::string> argv = {testing::ContentctlBinary(), "--server",
                                     "127.0.0.1:1"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    argv.insert(argv.end(), {"get", "x"});
    auto r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.want));
    EXPECT_THAT(r.err, Not(HasSubstr("ssl_transport_security")));
  }
  // From the environment, the variable is named too.
  auto r = RunCommand(
      {testing::ContentctlBinary(), "--server", "127.0.0.1:1", "get", "x"}, "",
      {"CONTENT_CA=" + Path("server.key")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--ca (from CONTENT_CA): "));
}

// One side speaking TLS and the other not gets a hint, not only gRPC's
// "Socket closed".
TEST_F(TlsTest, ContentctlHintsAtATlsMismatch) {
  WriteFile(Path("tls.yaml"), "tls:\n  cert_file: " + Path("server.pem") +
                                  "\n  key_file: " + Path("server.key") + "\n");
  auto tls_server =
      ServerProcess::Start(Path("data"), {"--config", Path("tls.yaml")});
  ASSERT_NE(tls_server, nullptr);
  auto r = testing::Ctl(*tls_server, {"--timeout", "3s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(r.err, HasSubstr("(is the server using TLS? try --ca)"));
  // A write whose deadline ends its wait for a connection keeps time to
  // ask gRPC why, within the deadline.
  r = testing::Ctl(*tls_server, {"--timeout", "2s", "delete", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_THAT(r.err, HasSubstr("the write was not sent"));
  EXPECT_THAT(r.err, HasSubstr("(is the server using TLS? try --ca)"));
  auto plain_server = ServerProcess::Start(Path("data2"));
  ASSERT_NE(plain_server, nullptr);
  r = testing::Ctl(*plain_server,
                   {"--ca", Path("ca.pem"), "--timeout", "3s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  // One line: gRPC's own log of each failed handshake (`E...
  // ssl_transport_security.cc:1501] Handshake failed ...`) is kept quiet.
  const std::string want =
      "Error: UNAVAILABLE: cannot reach " + plain_server->address() +
      ": TLS handshake failed: the server answered in plaintext (is the "
      "server plaintext? try without --ca)\n";
  EXPECT_EQ(r.err, want);
  // apply too, which waits for a connection before it writes (4 s, within
  // the 10 s deadline: UNAVAILABLE), and a write whose deadline comes
  // first (DEADLINE_EXCEEDED).
  WriteFile(Path("t.md"), "---\ntitle: t\n---\nt\n");
  r = testing::Ctl(*plain_server,
                   {"--ca", Path("ca.pem"), "apply", "-f", Path("t.md")});
  EXPECT_EQ(r.exit_code, 1);
  const std::string refused_write =
      ": cannot reach " + plain_server->address() +
      ": TLS handshake failed: the server answered in plaintext; the write "
      "was not sent (is the server plaintext? try without --ca)\n";
  EXPECT_EQ(r.err, "Error: UNAVAILABLE" + refused_write);
  r = testing::Ctl(*plain_server,
                   {"--ca", Path("ca.pem"), "--timeout", "2s", "delete", "t"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: DEADLINE_EXCEEDED" + refused_write);
  // GRPC_VERBOSITY, set by the user, shows gRPC's logs again.
  r = RunCommand(
      {testing::ContentctlBinary(), "--server", plain_server->address(), "--ca",
       Path("ca.pem"), "--timeout", "3s", "get", "x"},
      "", {"GRPC_VERBOSITY=ERROR"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ssl_transport_security"));
  EXPECT_THAT(r.err, HasSubstr(want));
}

TEST_F(TlsTest, ServerTlsThenMutualTls) {
  WriteFile(Path("tls.yaml"), "tls:\n  cert_file: " + Path("server.pem") +
                                  "\n  key_file: " + Path("server.key") + "\n");
  auto server =
      ServerProcess::Start(Path("data"), {"--config", Path("tls.yaml")});
  ASSERT_NE(server, nullptr);
  // The first TLS call may find its handshake cut short on a loaded machine
  // (UNAVAILABLE; CI under the sanitizers, 2026-12-03): the helpers here make
  // one attempt per call, so the calls that must succeed try again.
  auto create_over_tls = [](Client& c, const std::string& id,
                            const std::string& title) {
    absl::Status s;
    for (int i = 0; i < 20; ++i) {
      s = Create(c, id, title).status();
      if (!absl::IsUnavailable(s)) break;
      absl::SleepFor(absl::Milliseconds(250));
    }
    return s;
  };
  absl::Status created =
      create_over_tls(*Connect(server->address(), "", Tls(false)), "t1", "tls");
  EXPECT_TRUE(created.ok()) << created;
  // A plaintext client cannot talk to it.
  ClientOptions plain;
  plain.timeout = absl::Seconds(3);
  EXPECT_FALSE(Connect(server->address(), "", plain)->Get("t1").ok());
  // contentctl with --ca.
  auto r = testing::Ctl(*server, {"--ca", Path("ca.pem"), "get", "t1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("tls"));
  // The start line says TLS is on; `admin health` asks over it, and
  // without --ca says what is wrong as every verb does.
  EXPECT_THAT(server->Log(), HasSubstr(", TLS, data "));
  r = testing::Ctl(*server, {"--ca", Path("ca.pem"), "admin", "health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(" is healthy: SERVING (took "));
  r = testing::Ctl(*server, {"admin", "health"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(" is unhealthy: UNAVAILABLE: cannot reach "));
  EXPECT_THAT(r.err, HasSubstr("(is the server using TLS? try --ca)"));
  server.reset();

  WriteFile(Path("mtls.yaml"), "tls:\n  cert_file: " + Path("server.pem") +
                                   "\n  key_file: " + Path("server.key") +
                                   "\n  client_ca_file: " + Path("ca.pem") +
                                   "\n");
  server = ServerProcess::Start(Path("data2"), {"--config", Path("mtls.yaml")});
  ASSERT_NE(server, nullptr);
  ClientOptions no_cert = Tls(false);
  no_cert.timeout = absl::Seconds(3);
  EXPECT_FALSE(
      Create(*Connect(server->address(), "", no_cert), "m0", "x").ok());
  created =
      create_over_tls(*Connect(server->address(), "", Tls(true)), "m1", "mtls");
  EXPECT_TRUE(created.ok()) << created;
  r = testing::Ctl(
      *server, {"--ca", Path("ca.pem"), "--cert", Path("client.pem"), "--key",
                Path("client.key"), "get", "m1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(server->Log(), HasSubstr(", mutual TLS, data "));
}

// A server that wants a client certificate ends the handshake of a client
// with none, or with one its client CA did not sign, and gRPC says only
// "Socket closed": contentctl said `cannot reach HOST:PORT: Socket closed`
// of a server it reached, with no hint of what was missing.
TEST_F(TlsTest, ContentctlHintsAtAClientCertificateTheServerWants) {
  auto r = RunCommand({"/bin/sh", "-c",
                       "cd " + dir_.path() +
                           " && openssl req -x509 -newkey rsa:2048 -nodes "
                           "-keyout self.key -out self.pem -days 2 "
                           "-subj /CN=self-signed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WriteFile(Path("mtls.yaml"), "tls:\n  cert_file: " + Path("server.pem") +
                                   "\n  key_file: " + Path("server.key") +
                                   "\n  client_ca_file: " + Path("ca.pem") +
                                   "\n");
  auto server =
      ServerProcess::Start(Path("data"), {"--config", Path("mtls.yaml")});
  ASSERT_NE(server, nullptr);
  const std::string no_cert =
      "Error: UNAVAILABLE: cannot reach " + server->address() +
      ": Socket closed (does the server require a client certificate? try "
      "--cert and --key)\n";
  r = testing::Ctl(*server,
                   {"--ca", Path("ca.pem"), "--timeout", "3s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, no_cert);
  // A write that found no connection says so, and the same hint.
  r = testing::Ctl(*server,
                   {"--ca", Path("ca.pem"), "--timeout", "2s", "delete", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("the write was not sent"));
  EXPECT_THAT(r.err, HasSubstr("(does the server require a client "
                               "certificate? try --cert and --key)"));
  // A certificate the server's client CA did not sign.
  r = testing::Ctl(*server,
                   {"--ca", Path("ca.pem"), "--cert", Path("self.pem"), "--key",
                    Path("self.key"), "--timeout", "3s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "Error: UNAVAILABLE: cannot reach " + server->address() +
                       ": Socket closed (did the server refuse the client "
                       "certificate? --cert must be signed by a CA in the "
                       "server's tls.client_ca_file)\n");
  // With the certificate it wants, the server's own answer.
  r = testing::Ctl(
      *server, {"--ca", Path("ca.pem"), "--cert", Path("client.pem"), "--key",
                Path("client.key"), "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND")) << r.err;
}

// A server certificate the client cannot verify (another CA, expired, or
// not naming the host dialled) got OpenSSL's words alone, `certificate
// verify failed`, naming neither --ca nor the dates; and contentd served an
// expired certificate without a word, while every TLS client failed.
TEST_F(TlsTest, CertificateTheClientRejectsIsExplained) {
  const std::string d = dir_.path();
  auto run = [&](const std::string& cmd) {
    auto r = RunCommand({"/bin/sh", "-c", "cd " + d + " && " + cmd});
    ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  };
  // -days 0: notAfter is the moment it is made, so already past.
  run("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -out expired.pem -days 0 -extfile san.ext");
  run("openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out "
      "other.pem -days 2 -subj /CN=other-ca");
  WriteFile(Path("expired.yaml"), "tls:\n  cert_file: " + Path("expired.pem") +
                                      "\n  key_file: " + Path("server.key") +
                                      "\n");
  auto expired =
      ServerProcess::Start(Path("data"), {"--config", Path("expired.yaml")});
  ASSERT_NE(expired, nullptr);
  EXPECT_THAT(expired->Log(),
              HasSubstr("contentd: WARNING: config tls.cert_file: " +
                        Path("expired.pem") + " expired at "));
  const std::string hint =
      "certificate verify failed (the server's certificate is not signed by "
      "a CA in --ca, or has expired or is not yet valid)\n";
  auto r = testing::Ctl(
      *expired, {"--ca", Path("ca.pem"), "--timeout", "3s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, EndsWith(hint));
  expired.reset();

  WriteFile(Path("tls.yaml"), "tls:\n  cert_file: " + Path("server.pem") +
                                  "\n  key_file: " + Path("server.key") + "\n");
  auto server =
      ServerProcess::Start(Path("data2"), {"--config", Path("tls.yaml")});
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->Log(), Not(HasSubstr("tls.cert_file")));
  // A CA that did not sign the server's certificate.
  r = testing::Ctl(*server,
                   {"--ca", Path("other.pem"), "--timeout", "3s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, EndsWith(hint));
  // A name the certificate (IP:127.0.0.1 only) does not list.
  r = RunCommand({testing::ContentctlBinary(), "--server",
                  absl::StrCat("localhost:", server->port()), "--ca",
                  Path("ca.pem"), "--timeout", "3s", "get", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("(--server must be a name or address the "
                               "server's certificate lists in its "
                               "subjectAltName)"));
}

// A renewed certificate (cert-manager rewrites its Secret's files before
// the old one expires) was read only at start: contentd served the old one
// until restarted, and every client failed once it expired. The files are
// read again every tls.reload_interval_seconds, and the log says when they
// changed, or that the new pair cannot work.
TEST_F(TlsTest, ARenewedCertificateIsServedWithoutARestart) {
  const std::string d = dir_.path();
  auto run = [&](const std::string& cmd) {
    auto r = RunCommand({"/bin/sh", "-c", "cd " + d + " && " + cmd});
    ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  };
  // The renewal: another CA's certificate for the same address, so a
  // client tells which one it was served by the CA it trusts.
  run("openssl req -x509 -newkey rsa:2048 -nodes -keyout new-ca.key -out "
      "new-ca.pem -days 2 -subj /CN=new-ca");
  run("openssl req -newkey rsa:2048 -nodes -keyout new.key -out new.csr "
      "-subj /CN=127.0.0.1");
  run("openssl x509 -req -in new.csr -CA new-ca.pem -CAkey new-ca.key "
      "-CAcreateserial -out new.pem -days 2 -extfile san.ext");
  run("cp server.pem tls.crt && cp server.key tls.key");
  WriteFile(Path("tls.yaml"), "tls:\n  cert_file: " + Path("tls.crt") +
                                  "\n  key_file: " + Path("tls.key") +
                                  "\n  reload_interval_seconds: 1\n");
  auto server =
      ServerProcess::Start(Path("data"), {"--config", Path("tls.yaml")});
  ASSERT_NE(server, nullptr);
  // Reached (NOT_FOUND is the server's answer) when the CA signed what it
  // serves.
  auto reached = [&](const std::string& ca) {
    CommandResult r = testing::Ctl(
        *server, {"--ca", Path(ca), "--timeout", "3s", "get", "nothing"});
    return r.exit_code == 1 && r.err.find("NOT_FOUND") != std::string::npos;
  };
  EXPECT_TRUE(reached("ca.pem"));
  EXPECT_FALSE(reached("new-ca.pem"));

  // Renamed into place, as a Secret's files are swapped.
  run("cp new.key tls.key.tmp && cp new.pem tls.crt.tmp && mv tls.key.tmp "
      "tls.key && mv tls.crt.tmp tls.crt");
  bool renewed = false;
  for (int i = 0; i < 60 && !renewed; ++i) {
    renewed = reached("new-ca.pem");
    if (!renewed) absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_TRUE(renewed) << server->Log();
  EXPECT_FALSE(reached("ca.pem"));
  for (int i = 0; i < 60; ++i) {
    if (server->Log().find("TLS files changed") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_THAT(server->Log(),
              HasSubstr("contentd: TLS files changed; new connections get "
                        "them (within 1 s)"));

  // A key that is not the certificate's: said, since every handshake
  // fails from then on.
  run("cp server.key tls.key.tmp && mv tls.key.tmp tls.key");
  const std::string warning =
      "contentd: WARNING: TLS files changed: config "
      "tls.key_file: " +
      Path("tls.key") +
      " is not the key of the "
      "certificate in tls.cert_file";
  for (int i = 0; i < 60; ++i) {
    if (server->Log().find(warning) != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_THAT(server->Log(), HasSubstr(warning));
}

// A config file's relative tls.* paths are relative to its folder, as a
// kubeconfig's are: contentd started from another working directory read
// `cert.pem` there and stopped, `cannot read server.pem: No such file or
// directory`.
TEST_F(TlsTest, RelativeTlsPathsAreRelativeToTheConfigFile) {
  // Not where the files are: the test's working directory.
  ASSERT_NE(std::filesystem::current_path().string(), dir_.path());
  ASSERT_FALSE(std::filesystem::exists("server.pem"));
  WriteFile(Path("tls.yaml"),
            "tls:\n  cert_file: server.pem\n  key_file: ./server.key\n  "
            "client_ca_file: ca.pem\n");
  auto server =
      ServerProcess::Start(Path("data-rel"), {"--config", Path("tls.yaml")});
  ASSERT_NE(server, nullptr);
  auto r = testing::Ctl(
      *server, {"--ca", Path("ca.pem"), "--cert", Path("client.pem"), "--key",
                Path("client.key"), "get", "none"});
  // Over mutual TLS, the server's own answer.
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND")) << r.err;
}

TEST(BackupTest, BackupUnderWriteLoadHoldsEveryWriteAcknowledgedBefore) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(server->address());

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> acked;
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto c = Connect(server->address());
      for (int i = 0; !stop; ++i) {
        const std::string id = absl::StrCat("w", w, "-", i);
        if (Create(*c, id, id).ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked.push_back(id);
        }
      }
    });
  }
  // Until some writes are in (not a fixed time: a loaded machine took only
  // 20 in 400 ms), bounded.
  std::vector<std::string> before;
  for (int i = 0; i < 1500 && before.size() <= 20; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    std::lock_guard<std::mutex> lock(mu);
    before = acked;
  }
  const std::string backup = dir.path() + "/backup";
  auto r = testing::Ctl(*server, {"admin", "backup", backup});
  absl::SleepFor(absl::Milliseconds(200));
  stop = true;
  for (auto& t : writers) t.join();
  // (After the join: a return with the writers running ended the binary.)
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GT(before.size(), 20u);

  // The backup is a data directory: it checks clean offline and serves.
  auto check = RunCommand({ContentdBinary(), "--data-dir", backup, "--check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  auto restored = ServerProcess::Start(backup);
  ASSERT_NE(restored, nullptr);
  auto rc = Connect(restored->address());
  for (const std::string& id : before) {
    EXPECT_TRUE(rc->Get(id).ok()) << id << " acknowledged before the backup";
  }
  // Writes after the backup began need not be there; the restored server
  // takes new ones.
  EXPECT_TRUE(Create(*rc, "after-restore", "new").ok());
  // A second backup to the same place is refused.
  r = testing::Ctl(*server, {"admin", "backup", backup});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ALREADY_EXISTS"));
}

// A restored backup must not give out again the sequences its source gave
// out after the backup: a watcher that saw those and resumes on the
// restored store was sent the restored store's own later events under
// them, skipping those before without a word (here 6..8), once the
// restored store had written past its position.
TEST(BackupTest, ARestoredBackupNeverReusesASequenceItsSourceGaveOut) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(server->address());
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(Create(*client, absl::StrCat("before-", i), "x").ok());
  const std::string backup = dir.path() + "/backup";
  CommandResult r = testing::Ctl(*server, {"admin", "backup", backup});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_THAT(r.out, HasSubstr("(through sequence 5)"));
  // Sequences 6..8, which a watcher of the source sees.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(Create(*client, absl::StrCat("lost-", i), "x").ok());
  server.reset();

  const std::string restored_dir = dir.path() + "/restored";
  ASSERT_EQ(RunCommand({"cp", "-a", backup, restored_dir}).exit_code, 0);
  auto restored = ServerProcess::Start(restored_dir);
  ASSERT_NE(restored, nullptr);
  EXPECT_THAT(restored->Log(),
              HasSubstr("contentd: serving a backup (through sequence 5) for "
                        "the first time: its change log goes on from "
                        "sequence 1000000000006"));
  auto rc = Connect(restored->address());
  // More writes than the source made after the backup.
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(Create(*rc, absl::StrCat("new-", i), "x").ok());

  const std::string refused =
      "OUT_OF_RANGE: after_sequence 8 is past the backup this store was "
      "restored from, which ends at sequence 5";
  r = testing::Ctl(*restored, {"watch", "--after", "8", "--count", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr(refused));
  // From the backup's end (or before) the log goes on with this store's
  // own events.
  r = testing::Ctl(*restored, {"watch", "--after", "4", "--count", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "5 CREATED articles/before-4 1\n"
            "1000000000006 CREATED articles/new-0 1\n"
            "1000000000007 CREATED articles/new-1 1\n");

  // The jump checks clean offline and holds across a restart.
  ASSERT_EQ(restored->Stop(SIGTERM), 0);
  auto check =
      RunCommand({ContentdBinary(), "--data-dir", restored_dir, "--check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  ASSERT_TRUE(restored->Restart());
  EXPECT_THAT(restored->Log(), HasSubstr("last sequence 1000000000010)"));
  r = testing::Ctl(*restored, {"watch", "--after", "8", "--count", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr(refused));
  r = testing::Ctl(*restored, {"watch", "--after", "5", "--count", "1"});
  EXPECT_EQ(r.out, "1000000000006 CREATED articles/new-0 1\n") << r.err;
}

// `admin backup` says how big the backup is and how much of it is hard
// links to the store's files: a backup on the store's volume takes
// little room but dies with that disk, which its reader should know.
TEST(BackupTest, ABackupSaysItsSizeAndHowMuchOfItIsHardLinks) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(server->address());
  // Tables to link: the checkpoint flushes these first.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Create(*client, absl::StrCat("sized-", i), "sized").ok());
  }
  const auto files_bytes = [](const std::string& where) {
    int64_t bytes = 0;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(where)) {
      if (entry.is_regular_file()) bytes += entry.file_size();
    }
    return bytes;
  };

  const std::string text_dest = dir.path() + "/text";
  CommandResult r = testing::Ctl(*server, {"admin", "backup", text_dest});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::MatchesRegex(
                         "backup written to " + text_dest +
                         " \\(through sequence 50\\): [0-9.]+ [KM]iB, [0-9.]+ "
                         "[KM]?i?B copied and [0-9.]+ [KM]?i?B hard links to "
                         "the store's files, on its disk \\(copy the "
                         "backup to another disk to survive that disk's "
                         "loss\\)\nto restore, copy it \\(cp -a\\) and serve "
                         "the copy with contentd --data-dir COPY\n"));

  const std::string json_dest = dir.path() + "/json";
  r = testing::Ctl(*server, {"-o", "json", "admin", "backup", json_dest});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  v1::BackupStoreResponse told;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &told).ok())
      << r.out;
  EXPECT_EQ(told.size_bytes(), files_bytes(json_dest));
  // MANIFEST and CURRENT are written; tables, blob files and OPTIONS linked.
  EXPECT_GT(told.copied_bytes(), 0);
  EXPECT_LT(told.copied_bytes(), told.size_bytes());
  int64_t linked = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(json_dest)) {
    struct stat st;
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) linked += st.st_size;
  }
  EXPECT_GT(linked, 0) << "the 50 articles' tables and blob files";
  EXPECT_EQ(told.size_bytes() - told.copied_bytes(), linked);
}

// Two backups to one destination at once (a re-run while the first still
// writes, two operators): RocksDB stages each in DEST.tmp and clears that
// first, so the second could empty the first's staging while it wrote.
// One must write a whole backup and the other be refused, every time.
TEST(BackupTest, TwoBackupsToOneDestinationAtOnceWriteOneWholeBackup) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(server->address());
  for (int round = 0; round < 6; ++round) {
    // Writes since the last backup: each checkpoint flushes them first,
    // which widens the window the two calls share.
    for (int i = 0; i < 200; ++i) {
      const std::string id = absl::StrCat("r", round, "-", i);
      ASSERT_TRUE(Create(*client, id, id).ok()) << id;
    }
    const std::string dest = absl::StrCat(dir.path(), "/backup", round);
    std::vector<absl::Status> results(2);
    std::vector<std::thread> callers;
    for (int c = 0; c < 2; ++c) {
      callers.emplace_back([&, c] {
        auto mine = Connect(server->address());
        v1::BackupStoreRequest req;
        req.set_destination(dest);
        results[c] = mine->BackupStore(req).status();
      });
    }
    for (auto& t : callers) t.join();
    SCOPED_TRACE(absl::StrCat("round ", round, ": ", results[0].ToString(),
                              " / ", results[1].ToString()));
    EXPECT_EQ(results[0].ok() + results[1].ok(), 1);
    for (const absl::Status& s : results) {
      if (!s.ok()) EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
    }
    auto check = RunCommand({ContentdBinary(), "--data-dir", dest, "--check"});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_FALSE(std::filesystem::exists(dest + ".tmp"));
  }
}

// A backup inside the live data directory, or under a parent that does not
// exist, is the caller's mistake: refused with the rule, nothing written.
TEST(BackupTest, DestinationInsideTheStoreOrWithoutAParentIsRefused) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto backup = [&](const std::string& dest) {
    return testing::Ctl(*server, {"admin", "backup", dest});
  };
  auto r = backup(dir.path() + "/data/inside");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: DESTINATION: destination: "));
  EXPECT_THAT(r.err, HasSubstr("inside the data directory"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data/inside"));
  // The same through a path that walks out and back in.
  r = backup(dir.path() + "/other/../data/inside2");
  EXPECT_THAT(r.err, HasSubstr("inside the data directory"));
  // The argument is named, as a flag is: the user gave no `destination`.
  r = backup("relative/bk");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: INVALID_ARGUMENT: DESTINATION: "
                               "destination: must be an absolute path on "
                               "the server\n"));

  r = backup(dir.path() + "/no/such/parent/bk");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION: DESTINATION: destination: "
                               "parent directory "));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/no"));

  // A file, or a directory that holds no backup (the backups' parent named
  // by mistake), is no earlier run's backup: contentctl said that one was
  // complete and to check it; and a file is no parent directory that does
  // not exist.
  WriteFile(dir.path() + "/a-file", "x");
  r = backup(dir.path() + "/a-file");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ALREADY_EXISTS: DESTINATION: destination: " +
                               dir.path() +
                               "/a-file already exists and is not a "
                               "directory: admin backup creates the "
                               "directory it writes"));
  EXPECT_THAT(r.err, Not(HasSubstr("that backup is complete")));
  r = backup(dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ALREADY_EXISTS: DESTINATION: destination: " +
                               dir.path() +
                               " already exists and holds no backup (no "
                               "CURRENT file): admin backup creates the "
                               "directory it writes; name one that does not "
                               "exist, such as " +
                               dir.path() + "/NAME"));
  EXPECT_THAT(r.err, Not(HasSubstr("that backup is complete")));
  r = backup(dir.path() + "/a-file/bk");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION: DESTINATION: destination: "
                               "parent " +
                               dir.path() +
                               "/a-file is not a directory on the server"));

  // A name the file system refuses is the caller's mistake, not a crash.
  r = backup("/" + std::string(300, 'a') + "/bk");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              HasSubstr("FAILED_PRECONDITION: DESTINATION: destination: "));
  EXPECT_THAT(r.err, HasSubstr("File name too long"));

  // Next to the store is fine (and the server is still up).
  r = backup(dir.path() + "/data-backup");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A destination written with a trailing slash (`/backups/today/`, as shells
// complete directory names) names the same directory as without it. Its
// parent was taken to be the directory itself: FAILED_PRECONDITION "parent
// directory .../today does not exist".
TEST(BackupTest, ATrailingSlashNamesTheSameDirectory) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(server->address());
  ASSERT_TRUE(Create(*client, "a1", "one").ok());
  v1::BackupStoreRequest req;
  req.set_destination(dir.path() + "/today//");
  absl::StatusOr<v1::BackupStoreResponse> r = client->BackupStore(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->destination(), dir.path() + "/today");
  EXPECT_GE(r->last_sequence(), 1);
  auto check =
      RunCommand({ContentdBinary(), "--data-dir", r->destination(), "--check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // Taken again, with or without the slash, it exists.
  EXPECT_EQ(client->BackupStore(req).status().code(),
            absl::StatusCode::kAlreadyExists);
  req.set_destination("/");
  EXPECT_EQ(client->BackupStore(req).status().code(),
            absl::StatusCode::kAlreadyExists);
}

// A destination the server cannot write in is the caller's mistake
// (FAILED_PRECONDITION naming it), not an outage to retry (UNAVAILABLE).
TEST(BackupTest, AnUnwritableDestinationIsAPrecondition) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  TempDir dir;
  const std::string ro = dir.path() + "/ro";
  std::filesystem::create_directories(ro);
  // Read-only even for root, who ignores permission bits.
  if (testing::MountTestTmpfs(ro, "ro,size=1m").exit_code != 0) {
    GTEST_SKIP() << "cannot mount a read-only tmpfs (needs root)";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { testing::UnmountTestTmpfs(path); }
  } unmount{ro};
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto r = testing::Ctl(*server, {"admin", "backup", ro + "/bk"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION: DESTINATION: destination: "
                               "the server cannot write in "));
  EXPECT_THAT(r.err, HasSubstr("Read-only file system"));
}

TEST(RetentionTest, KeepsNewestRevisionsAndPurgesDeletedArticles) {
  TempDir dir;
  WriteFile(
      dir.path() + "/c.yaml",
      "retention:\n  keep_revisions: 2\n  purge_deleted_after_seconds: 1\n"
      "retention_interval_ms: 3600000\n");
  auto server = ServerProcess::Start(dir.path() + "/data",
                                     {"--config", dir.path() + "/c.yaml"});
  ASSERT_NE(server, nullptr);
  auto c = Connect(server->address());
  ASSERT_TRUE(Create(*c, "kept", "v1").ok());
  for (int i = 2; i <= 5; ++i) {
    v1::UpdateArticleRequest u;
    *u.mutable_article() = Article("v" + std::to_string(i));
    u.mutable_article()->set_name("articles/kept");
    ASSERT_TRUE(c->UpdateArticle(u).ok());
  }
  ASSERT_TRUE(Create(*c, "gone", "doomed").ok());
  v1::DeleteArticleRequest d;
  d.set_name("articles/gone");
  ASSERT_TRUE(c->DeleteArticle(d).ok());
  absl::SleepFor(absl::Milliseconds(1500));

  auto compact = c->CompactStore({});
  ASSERT_TRUE(compact.ok()) << compact.status();
  EXPECT_EQ(compact->revisions_removed(), 3 + 2);  // kept 1-3; gone 1-2
  EXPECT_EQ(compact->articles_purged(), 1);

  v1::ListArticleRevisionsRequest h;
  h.set_name("articles/kept");
  auto history = c->ListArticleRevisions(h);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->revisions_size(), 2);
  EXPECT_EQ(history->revisions(0).revision(), 5);
  EXPECT_EQ(history->revisions(1).revision(), 4);
  EXPECT_EQ(c->Get("kept", 3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c->Get("kept")->title(), "v5");
  v1::GetArticleRequest g;
  g.set_name("articles/gone");
  g.set_show_deleted(true);
  EXPECT_EQ(c->GetArticle(g).status().code(), absl::StatusCode::kNotFound);
  // The purged id is free again, and the store checks clean.
  EXPECT_TRUE(Create(*c, "gone", "reborn").ok());
  auto check = c->CheckStore({});
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << ::testing::PrintToString(check->problems());

  // Storage compaction through the CLI: the engine's files are rewritten
  // and every article reads back the same. PostgreSQL's table is VACUUM's
  // to compact: refused, saying so, and nothing is done.
  auto r = testing::Ctl(*server, {"admin", "compact", "--storage"});
  if (testing::TestEngineIsPostgres()) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION: --storage: storage: the "
                                 "postgres engine does not compact its table"));
    EXPECT_THAT(r.err, HasSubstr("`VACUUM "));
    EXPECT_EQ(r.out, "");
  } else {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("removed 0 old revisions"));
    EXPECT_THAT(r.out, HasSubstr("compacted storage in "));
    r = testing::Ctl(*server, {"admin", "compact", "--storage", "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("\"storageCompactionTime\""));
  }
  EXPECT_EQ(c->Get("kept")->title(), "v5");
  EXPECT_EQ(c->Get("gone")->title(), "reborn");
  check = c->CheckStore({});
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << ::testing::PrintToString(check->problems());
}

// `admin compact` says the old revisions removed apart from the purged
// articles' revisions: it printed `removed 5 revisions, purged 1 deleted
// article` of 2 old revisions and a purged article's 3, whose revisions
// CompactStoreResponse.revisions_removed counts too (revisions_purged says
// how many). Time moves by the clock file, not by waiting.
TEST(RetentionTest, CompactSaysOldRevisionsApartFromPurgedOnes) {
  TempDir dir;
  const std::string clock = dir.path() + "/clock";
  WriteFile(clock, "2026-01-01T00:00:00Z\n");
  WriteFile(dir.path() + "/c.yaml",
            "retention:\n  keep_revisions: 2\n  purge_deleted_after_seconds: "
            "60\nretention_interval_ms: 3600000\n");
  auto server = ServerProcess::Start(
      dir.path() + "/data",
      {"--config", dir.path() + "/c.yaml", "--clock-file", clock});
  ASSERT_NE(server, nullptr);
  // kept: 4 revisions, 2 of them old; gone: created, updated, deleted.
  for (const auto& [id, title] :
       std::vector<std::pair<std::string, std::string>>{{"kept", "v1"},
                                                        {"kept", "v2"},
                                                        {"kept", "v3"},
                                                        {"kept", "v4"},
                                                        {"gone", "g1"},
                                                        {"gone", "g2"}}) {
    WriteFile(dir.path() + "/" + id + ".md",
              "---\ntitle: " + title + "\n---\nbody\n");
    testing::CtlOk(*server, {"apply", "-f", dir.path() + "/" + id + ".md"});
  }
  testing::CtlOk(*server, {"delete", "gone"});
  WriteFile(clock, "2026-01-01T00:10:00Z\n");  // the delete is due a purge

  CommandResult r = testing::Ctl(*server, {"admin", "compact"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith(
                         "removed 2 old revisions, purged 1 deleted article "
                         "(3 revisions), trimmed "));
  // What the response holds: the two together, and the purged share.
  testing::CtlOk(*server, {"delete", "kept"});
  WriteFile(clock, "2026-01-01T00:20:00Z\n");
  r = testing::Ctl(*server, {"admin", "compact", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto response = testing::ParseJson<v1::CompactStoreResponse>(r.out);
  EXPECT_EQ(response.revisions_removed(), 3);  // kept's 2 and its tombstone
  EXPECT_EQ(response.revisions_purged(), 3);
  EXPECT_EQ(response.articles_purged(), 1);
}

// A revision retention removed is named as such by get, diff and restore
// alike, one past the head names the head, and a reader asking for a
// revision of a hidden article learns only that it is not live.
TEST(RetentionTest, MissingRevisionsSayWhy) {
  TempDir dir;
  const std::string config = AuthConfig(dir.path(),
                                        "retention:\n  keep_revisions: 2\n"
                                        "retention_interval_ms: 3600000\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto editor = Connect(server->address(), "editor-token");
  auto admin = Connect(server->address(), "admin-token");
  auto reader = Connect(server->address(), "reader-token");
  ASSERT_TRUE(Create(*editor, "kept", "v1").ok());
  for (int i = 2; i <= 4; ++i) {
    v1::UpdateArticleRequest u;
    *u.mutable_article() = Article("v" + std::to_string(i));
    u.mutable_article()->set_name("articles/kept");
    ASSERT_TRUE(editor->UpdateArticle(u).ok());
  }
  auto compact = admin->CompactStore({});
  ASSERT_TRUE(compact.ok()) << compact.status();
  ASSERT_EQ(compact->revisions_removed(), 2);

  auto ctl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {testing::ContentctlBinary(), "--server",
                                     server->address(), "--token",
                                     "editor-token"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  };
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"get", "kept", "--revision", "1"},
                                             {"diff", "kept", "2", "4"},
                                             {"restore", "kept", "2"}}) {
    CommandResult r = ctl(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    // Each names the argument or flag that gave it.
    const std::map<std::string, std::string> argument = {
        {"get", "--revision: "}, {"diff", "REV1: "}, {"restore", "REVISION: "}};
    EXPECT_THAT(r.err,
                HasSubstr(absl::StrCat("NOT_FOUND: ", argument.at(args[0]),
                                       "articles/kept has no revision")));
    EXPECT_THAT(r.err, HasSubstr("(removed by retention)")) << args[0];
  }
  // The one before a revision left out: no number the caller never gave.
  v1::DiffArticleRevisionsRequest d;
  d.set_name("articles/kept");
  d.set_to_revision(3);
  auto diff = editor->DiffArticleRevisions(d);
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(diff.status().message()),
              HasSubstr("from_revision: articles/kept revision 3 is the oldest "
                        "kept (retention removed the ones before it)"));
  CommandResult r = ctl({"get", "kept", "--revision", "9"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("has no revision 9 (the head is revision 4)"));
  r = ctl({"get", "nothing", "--revision", "2"});
  EXPECT_THAT(r.err, HasSubstr("articles/nothing not found"));

  // Hidden from readers: no revision numbers, kept or not.
  v1::Article draft = Article("v5");
  draft.set_name("articles/kept");
  draft.set_state(v1::Article::DRAFT);
  v1::UpdateArticleRequest u;
  *u.mutable_article() = draft;
  ASSERT_TRUE(editor->UpdateArticle(u).ok());
  for (int rev : {1, 4, 9}) {
    v1::GetArticleRequest g;
    g.set_name("articles/kept");
    g.set_revision(rev);
    absl::Status s = reader->GetArticle(g).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << rev;
    EXPECT_THAT(s.message(), HasSubstr("not found or not live")) << rev;
  }
}

// An editor's history cut by retention says where on its last page
// (ListArticleRevisionsResponse.oldest_kept_revision, and a line on
// contentctl's stderr): it ended at the oldest revision kept as if the
// article began there. Readers are not told (a gap they see may be a
// draft's).
TEST(RetentionTest, HistorySaysWhereRetentionCutIt) {
  TempDir dir;
  const std::string config = AuthConfig(dir.path(),
                                        "retention:\n  keep_revisions: 3\n"
                                        "retention_interval_ms: 3600000\n");
  auto server =
      ServerProcess::Start(dir.path() + "/data", {"--config", config});
  ASSERT_NE(server, nullptr);
  auto editor = Connect(server->address(), "editor-token");
  auto admin = Connect(server->address(), "admin-token");
  auto reader = Connect(server->address(), "reader-token");
  ASSERT_TRUE(Create(*editor, "kept", "v1").ok());
  ASSERT_TRUE(Create(*editor, "whole", "w1").ok());
  for (int i = 2; i <= 5; ++i) {
    v1::UpdateArticleRequest u;
    *u.mutable_article() = Article("v" + std::to_string(i));
    u.mutable_article()->set_name("articles/kept");
    ASSERT_TRUE(editor->UpdateArticle(u).ok());
  }
  auto history = [](Client& c, const std::string& token, int page_size) {
    v1::ListArticleRevisionsRequest h;
    h.set_name("articles/kept");
    h.set_page_size(page_size);
    h.set_page_token(token);
    return c.ListArticleRevisions(h);
  };
  // Nothing removed yet: the whole history, and no cut.
  auto before = history(*editor, "", 0);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->revisions_size(), 5);
  EXPECT_EQ(before->oldest_kept_revision(), 0);

  auto compact = admin->CompactStore({});
  ASSERT_TRUE(compact.ok()) << compact.status();
  ASSERT_EQ(compact->revisions_removed(), 2);

  // Paged: only the last page says it.
  auto first = history(*editor, "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->revisions_size(), 2);
  EXPECT_EQ(first->oldest_kept_revision(), 0);
  ASSERT_FALSE(first->next_page_token().empty());
  auto last = history(*editor, first->next_page_token(), 2);
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->revisions_size(), 1);
  EXPECT_EQ(last->revisions(0).revision(), 3);
  EXPECT_EQ(last->oldest_kept_revision(), 3);
  EXPECT_TRUE(last->next_page_token().empty());
  auto read = history(*reader, "", 0);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->revisions_size(), 3);
  EXPECT_EQ(read->oldest_kept_revision(), 0);

  auto ctl = [&](const std::string& token, std::vector<std::string> args) {
    std::vector<std::string> argv = {testing::ContentctlBinary(), "--server",
                                     server->address(), "--token", token};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  };
  CommandResult r = ctl("editor-token", {"history", "kept"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "revisions 1 to 2 were removed by retention\n");
  r = ctl("editor-token", {"history", "kept", "--limit", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, ::testing::StartsWith("next page: --page-token="));
  EXPECT_THAT(r.err, Not(HasSubstr("retention")));
  r = ctl("editor-token", {"history", "kept", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"oldestKeptRevision\": \"3\""));
  r = ctl("reader-token", {"history", "kept"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // An article retention left whole: no line.
  r = ctl("editor-token", {"history", "whole"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(LimitsTest, WritesQueuedPastTheDefaultDeadlineAreShedNotApplied) {
  TempDir dir;
  // One write thread and a 1 ms default deadline: of a burst of concurrent
  // creates, those still queued after 1 ms are shed. 32 in flight: the
  // write thread hands each create's commit to the committer thread and
  // takes the next, so with 8 the last of a burst sometimes began within
  // 1 ms (once in CI, 2026-12-03).
  WriteFile(dir.path() + "/c.yaml",
            "write_threads: 1\ndefault_deadline_ms: 1\n");
  auto server = ServerProcess::Start(dir.path() + "/data",
                                     {"--config", dir.path() + "/c.yaml"});
  ASSERT_NE(server, nullptr);
  std::mutex mu;
  std::map<std::string, absl::StatusCode> outcome;
  std::vector<std::thread> threads;
  // Bodies of 5,000 distinct words: each write indexes them (milliseconds),
  // so a burst queues past 1 ms even when the clients are slow to send
  // (small writes under load all began in time: nothing shed).
  std::string body;
  for (int w = 0; w < 5000; ++w) absl::StrAppend(&body, "w", w, " ");
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      // Raw stub without a deadline, as a client that sets none.
      auto channel = grpc::CreateChannel(server->address(),
                                         grpc::InsecureChannelCredentials());
      auto stub = v1::ContentService::NewStub(channel);
      for (int i = 0; i < 10; ++i) {
        const std::string id = absl::StrCat("d", t, "-", i);
        grpc::ClientContext ctx;
        v1::CreateArticleRequest req;
        req.set_article_id(id);
        *req.mutable_article() = Article(id);
        req.mutable_article()->set_body(body);
        v1::Article resp;
        grpc::Status s = stub->CreateArticle(&ctx, req, &resp);
        std::lock_guard<std::mutex> lock(mu);
        outcome[id] = static_cast<absl::StatusCode>(s.error_code());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto c = Connect(server->address());
  int shed = 0, ok = 0;
  for (const auto& [id, code] : outcome) {
    if (code == absl::StatusCode::kDeadlineExceeded) {
      ++shed;
      EXPECT_EQ(c->Get(id).status().code(), absl::StatusCode::kNotFound) << id;
    } else {
      ASSERT_EQ(code, absl::StatusCode::kOk) << id;
      ++ok;
      EXPECT_TRUE(c->Get(id).ok()) << id;
    }
  }
  EXPECT_GT(shed, 0) << ok << " applied";
  EXPECT_GT(ok, 0) << shed << " shed";
}

TEST(TextIndexTest, OffMeansNoTextQueriesButEverythingElseWorks) {
  TempDir dir;
  WriteFile(dir.path() + "/c.yaml", "text_index: false\n");
  auto server = ServerProcess::Start(dir.path() + "/data",
                                     {"--config", dir.path() + "/c.yaml"});
  ASSERT_NE(server, nullptr);
  auto c = Connect(server->address());
  ASSERT_TRUE(Create(*c, "plain", "本地化部署 without a text index").ok());
  v1::QueryArticlesRequest text;
  text.mutable_query()->set_text("本地化部署");
  auto r = c->QueryArticles(text);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("text_index"));
  // A reason of its own, not the code's name every unnamed
  // FAILED_PRECONDITION gets.
  EXPECT_EQ(content::ErrorReason(r.status()), "TEXT_INDEX_OFF");
  v1::QueryArticlesRequest tag;
  tag.mutable_query()->add_tags("ops");
  auto t = c->QueryArticles(tag);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->articles_size(), 1);
  // The store checks clean without text postings.
  auto check = c->CheckStore({});
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << ::testing::PrintToString(check->problems());
}

// `admin stats` through the real CLI: counts, and where the memory is
// (RocksDB's memtables and table readers, the allocator's own figures).
TEST(StatsTest, AdminStatsShowsCountsAndMemory) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto c = Connect(server->address());
  ASSERT_TRUE(Create(*c, "s1", "one").ok());
  ASSERT_TRUE(Create(*c, "s2", "two").ok());

  auto r = testing::Ctl(*server, {"admin", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("published:         2 (scheduled and expired "
                               "included)\n"));
  EXPECT_THAT(r.out, HasSubstr("\nread-only:         no\n"));
  EXPECT_THAT(r.out, HasSubstr("\nwatchers cut off:  0 stalled, 0 trimmed\n"
                               "exports:           0\n"
                               "exports cut off:   0 stalled\n"));
  auto stats = c->GetStats({});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->live_articles(), 2);
  EXPECT_FALSE(stats->read_only());
  const auto& storage = stats->storage();
  auto number = [&](const std::string& key) -> int64_t {
    auto it = storage.find(key);
    if (it == storage.end()) return -1;
    return std::stoll(it->second);
  };
  if (!testing::TestEngineIsPostgres()) {
    EXPECT_GT(number("rocksdb.cur-size-all-mem-tables"), 0);
    EXPECT_GE(number("rocksdb.estimate-table-readers-mem"), 0);
    EXPECT_GE(number("rocksdb.block-cache-pinned-usage"), 0);
    EXPECT_THAT(r.out, HasSubstr("rocksdb.cur-size-all-mem-tables: "));
  }
#ifdef CONTENT_TEST_TCMALLOC
  // What the program holds is part of what the allocator holds.
  const int64_t allocated = number("allocator.allocated-bytes");
  const int64_t heap = number("allocator.heap-bytes");
  EXPECT_GT(allocated, 0);
  EXPECT_GE(heap, allocated);
  EXPECT_GE(number("allocator.free-bytes"), 0);
  EXPECT_GE(number("allocator.returned-bytes"), 0);
  EXPECT_GE(number("allocator.thread-cache-bytes"), 0);
  EXPECT_THAT(r.out, HasSubstr("allocator.allocated-bytes: "));
#else
  EXPECT_EQ(storage.count("allocator.allocated-bytes"), 0u);
#endif
}

// `admin stats` counts every published article not deleted, scheduled and
// expired ones too (GetStatsResponse.live_articles): it labelled them
// "live articles", while `live` elsewhere (--state, the STATE column) is
// what readers see. Said as what it counts; the JSON keeps the API's name.
TEST(StatsTest, AdminStatsCountsPublishedNotLive) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string files = dir.path() + "/files";
  std::filesystem::create_directories(files);
  WriteFile(files + "/st-live.md", "---\ntitle: Live\n---\n\nx\n");
  WriteFile(files + "/st-sched.md",
            "---\ntitle: Sched\npublishDate: 2099-01-01T00:00:00Z\n---\n\nx\n");
  WriteFile(files + "/st-exp.md",
            "---\ntitle: Exp\nexpiryDate: 2001-01-01T00:00:00Z\n---\n\nx\n");
  WriteFile(files + "/st-draft.md",
            "---\ntitle: Draft\nstate: draft\n---\n\nx\n");
  testing::CtlOk(*server, {"apply", "-f", files});
  // Readers see one of them.
  EXPECT_EQ(testing::CtlOk(*server, {"query", "-o", "name"}),
            "articles/st-live\n");
  auto r = testing::Ctl(*server, {"admin", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\npublished:         3 (scheduled and "
                               "expired included)\n"
                               "deleted articles:  0\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("live articles")));
  r = testing::Ctl(*server, {"admin", "stats", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"liveArticles\": \"3\""));
}

// A deadline for calls that take seconds, many more in the sanitizer tree.
CallOptions Minutes() {
  CallOptions call;
  call.timeout = absl::Minutes(2);
  return call;
}

int MetricsPort(const std::string& log);  // with MetricsTest, below

// A contentd under `dir` with /metrics on an ephemeral port of its own,
// and that port; the port is 0, after a failure, if either did not start.
struct ServerWithMetrics {
  std::unique_ptr<ServerProcess> server;
  int port = 0;
};
ServerWithMetrics StartWithMetrics(const TempDir& dir) {
  ServerWithMetrics out;
  out.server = ServerProcess::Start(dir.path() + "/data",
                                    {"--metrics-listen", "127.0.0.1:0"});
  EXPECT_NE(out.server, nullptr);
  if (out.server == nullptr) return out;
  out.port = MetricsPort(out.server->Log());
  EXPECT_GT(out.port, 0) << out.server->Log();
  return out;
}

// An export in progress is counted in GetStats, `admin stats` and
// /metrics until it ends: one whose client does not read stays open (well
// inside export_stall_timeout_ms, 5 min), and drained, it goes.
TEST(StatsTest, ExportsOpenAreCountedUntilTheyEnd) {
  TempDir dir;
  auto [server, port] = StartWithMetrics(dir);
  ASSERT_GT(port, 0);
  auto c = Connect(server->address());
  // 20 MB of articles: far more than flow control lets through unread, so
  // the export cannot finish while its client does not read.
  constexpr int kCount = 320;
  const std::string body(64 << 10, 'x');
  int next = 0;
  absl::Status imported = c->ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        for (int k = 0; k < 40 && next < kCount; ++k, ++next) {
          v1::Article* a = batch->add_articles();
          *a = Article(absl::StrCat("big ", next));
          a->set_name(absl::StrCat("articles/big", next));
          a->set_body(body);
        }
        return batch->articles_size() > 0;
      },
      [](const v1::ImportArticlesResponse&) {}, Minutes());
  ASSERT_TRUE(imported.ok()) << imported;

  // The figure once it is `n` (bounded far above the time it takes).
  const auto exports_become = [&](int n) {
    int exports = -1;
    for (const absl::Time deadline = absl::Now() + absl::Seconds(60);
         absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(20))) {
      auto stats = c->GetStats({});
      if (!stats.ok()) continue;
      exports = stats->exports();
      if (exports == n) break;
    }
    return exports;
  };
  httplib::Client http("127.0.0.1", port);
  const auto metrics = [&]() -> std::string {
    auto res = http.Get("/metrics");
    return res ? res->body : "no answer";
  };

  // A raw stream that does not read, on a window that stays narrow
  // whatever the machine's load.
  auto stub = v1::ContentService::NewStub(
      testing::NarrowWindowChannel(server->address()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(120));
  auto reader = stub->ExportArticles(&ctx, v1::ExportArticlesRequest());
  ASSERT_EQ(exports_become(1), 1);
  auto r = testing::Ctl(*server, {"admin", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\nexports:           1\n"
                               "exports cut off:   0 stalled\n"));
  EXPECT_THAT(metrics(),
              HasSubstr("# HELP contentd_exports Exports (ExportArticles "
                        "streams) open.\n# TYPE contentd_exports gauge\n"
                        "contentd_exports 1\n"));

  // Drained, the export ends and is no longer counted.
  v1::ExportArticlesResponse batch;
  int got = 0;
  while (reader->Read(&batch)) got += batch.articles_size();
  const grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got, kCount);
  ASSERT_EQ(exports_become(0), 0);
  r = testing::Ctl(*server, {"admin", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\nexports:           0\n"));
  EXPECT_THAT(metrics(), HasSubstr("\ncontentd_exports 0\n"));
}

// `n` articles of about 2 KiB of distinct words (some 300 text postings
// each), imported in batches of 500.
void ImportWordyArticles(Client& c, int n) {
  int next = 0;
  absl::Status s = c.ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        for (int i = 0; i < 500 && next < n; ++i, ++next) {
          v1::Article* a = batch->add_articles();
          *a = Article(absl::StrCat("wordy ", next));
          a->set_name(absl::StrCat("articles/w", next));
          std::string body;
          for (int w = 0; w < 300; ++w)
            absl::StrAppend(&body, "w", next, "x", w, " ");
          a->set_body(body);
        }
        return batch->articles_size() > 0;
      },
      [](const v1::ImportArticlesResponse&) {}, Minutes());
  ASSERT_TRUE(s.ok()) << s;
}

// Whether a listed operation counts something (a total or an amount
// done): where contentd --hold-operations holds it.
bool Counts(const v1::RunningOperation& op) {
  return op.done() > 0 || op.total() > 0;
}

// The flags that make a server hold its backups, compactions and checks
// while `gate` exists (ListedWhile).
std::vector<std::string> HoldingArgs(const std::string& gate) {
  return {"--hold-operations", gate};
}

// Runs `call` on a thread of its own and returns every operation that
// ListOperations listed meanwhile, looking as often as it can. The server
// was started with HoldingArgs(gate): `gate` exists until an operation is
// listed counting something, so the one `call` starts waits there, however
// fast it is and however loaded the machine; `look` (if set) runs then,
// while it waits, and the operation goes on once `gate` is removed after.
// With `done_only` the count must be an amount done, not a total alone.
std::vector<v1::RunningOperation> ListedWhile(
    Client& c, const std::string& gate, const std::function<void()>& call,
    const std::function<void()>& look = nullptr, bool done_only = false) {
  WriteFile(gate, done_only ? "done" : "");
  std::atomic<bool> done{false};
  std::thread caller([&] {
    call();
    done = true;
  });
  std::vector<v1::RunningOperation> seen;
  bool held = false;
  while (!done) {
    absl::StatusOr<v1::ListOperationsResponse> ops = c.ListOperations({});
    if (!ops.ok()) {
      ADD_FAILURE() << "ListOperations: " << ops.status();
      break;
    }
    for (const v1::RunningOperation& op : ops->operations()) {
      seen.push_back(op);
      held = held || (done_only ? op.done() > 0 : Counts(op));
    }
    if (held && std::filesystem::exists(gate)) {
      if (look) look();
      std::filesystem::remove(gate);
    }
  }
  // (Also when the call ended before its operation counted anything.)
  std::filesystem::remove(gate);
  caller.join();
  return seen;
}

// Runs `call` as ListedWhile does and returns the output of `contentctl
// admin operations` run while the operation was held, if it starts with
// `prefix` ("" if it did not).
std::string DrawnWhile(const ServerProcess& server, const std::string& gate,
                       absl::string_view prefix,
                       const std::function<void()>& call) {
  auto c = Connect(server.address());
  std::string listed;
  ListedWhile(*c, gate, call, [&] {
    CommandResult r = RunCommand({testing::ContentctlBinary(), "--server",
                                  server.address(), "admin", "operations"});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "admin operations: " << r.err;
    } else if (absl::StartsWith(r.out, prefix)) {
      listed = r.out;
    }
  });
  return listed;
}

// While a check runs, ListOperations lists it with its step and how far it
// has come, and `contentctl admin fsck` on a terminal draws that as a line
// it erases before the result; off a terminal, or under -o json, it draws
// nothing.
// `admin fsck`'s summary counts in words that agree with the numbers (it
// said "1 articles", "1 problems").
TEST(OperationsTest, TheCheckSummaryCountsInTheRightNumber) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  CommandResult r = testing::Ctl(*server, {"admin", "fsck"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "clean: 0 articles, 0 index entries checked, 0 problems\n");
  auto c = Connect(server->address());
  ImportWordyArticles(*c, 1);
  r = testing::Ctl(*server, {"admin", "fsck"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::MatchesRegex(
                         "clean: 1 article, [0-9]+ index entries checked, 0 "
                         "problems\n"));
}

TEST(OperationsTest, ARunningCheckIsListedAndDrawnOnATerminal) {
  TempDir dir;
  const std::string gate = dir.path() + "/hold";
  auto server = ServerProcess::Start(dir.path() + "/data", HoldingArgs(gate));
  ASSERT_NE(server, nullptr);
  auto c = Connect(server->address());
  // Held, the check is seen however short; on PostgreSQL (no estimates of
  // the keys to read) at its first count of 4096 keys, which the postings
  // of 300 articles pass.
  const int n = 300;
  ImportWordyArticles(*c, n);
  absl::StatusOr<v1::ListOperationsResponse> none = c->ListOperations({});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->operations_size(), 0);

  // Looked at while the check runs.
  absl::StatusOr<v1::CheckStoreResponse> check;
  const auto run_check = [&] { check = c->CheckStore({}, Minutes()); };
  const std::vector<v1::RunningOperation> seen =
      ListedWhile(*c, gate, run_check);
  // And `contentctl admin operations` lists it, a line as the call draws.
  const std::string listed = DrawnWhile(*server, gate, "check: ", run_check);
  EXPECT_THAT(listed, ::testing::MatchesRegex("check: [^\n]*, [0-9]+s\n"));
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->ok());
  ASSERT_FALSE(seen.empty()) << "the check was never listed";
  int last_step = 0;
  bool counted = false;
  for (const v1::RunningOperation& op : seen) {
    EXPECT_EQ(op.kind(), "check");
    // (Listed from the call's start; its first step begins soon after.)
    if (op.step_number() > 0) EXPECT_EQ(op.step_count(), 7);
    EXPECT_GE(op.step_number(), last_step) << op.ShortDebugString();
    last_step = op.step_number();
    EXPECT_GT(op.start_time().seconds(), 0);
    counted = counted || (op.step_number() > 0 && Counts(op));
  }
  EXPECT_TRUE(counted) << "never listed with a count";
  absl::StatusOr<v1::ListOperationsResponse> after = c->ListOperations({});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->operations_size(), 0);
  CommandResult none_listed =
      RunCommand({testing::ContentctlBinary(), "--server", server->address(),
                  "admin", "operations"});
  ASSERT_EQ(none_listed.exit_code, 0) << none_listed.err;
  EXPECT_EQ(none_listed.out, "");
  EXPECT_EQ(none_listed.err, "No backup, compaction or check running.\n");

  // On a terminal (script(1) gives it one, and flushes what it draws to
  // `typescript` as it comes): held until the line with the count is drawn,
  // at contentctl's next look (twice a second; bounded far above that). A
  // line drawn before the count (a step just begun) does not release it:
  // the check could end before the next look (it did on PostgreSQL).
  const std::string fsck =
      absl::StrCat(testing::ContentctlBinary(), " --server ", server->address(),
                   " admin fsck");
  const std::string typescript = dir.path() + "/typescript";
  CommandResult r;
  ListedWhile(
      *c, gate,
      [&] {
        // TERM set: a dumb terminal (TERM unset or dumb) draws nothing.
        r = RunCommand({"script", "-qfec", fsck, typescript}, "",
                       {"TERM=xterm"});
      },
      [&] {
        for (const absl::Time end = absl::Now() + absl::Seconds(60);
             absl::Now() < end &&
             !absl::StrContains(testing::ReadFile(typescript), " keys, ");
             absl::SleepFor(absl::Milliseconds(10))) {
        }
      });
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("\rcheck: step "));
  EXPECT_THAT(r.out, HasSubstr(" keys, "));
  // Erased, then the result on a line of its own.
  EXPECT_THAT(r.out,
              HasSubstr(absl::StrCat("\r\033[Kclean: ", n, " articles, ")));
  r = RunCommand({"script", "-qec", fsck + " -o json", "/dev/null"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("check: step")));
  r = testing::Ctl(*server, {"admin", "fsck"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("clean: ", n, " articles, ")));

  // `contentd --check` (offline) on a terminal draws the same line, each
  // step as it begins.
  if (testing::TestEngineIsPostgres()) return;
  ASSERT_EQ(server->Stop(SIGTERM), 0);
  r = RunCommand({"script", "-qec",
                  absl::StrCat(ContentdBinary(), " --data-dir ", dir.path(),
                               "/data --check"),
                  "/dev/null"},
                 "", {"TERM=xterm"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("\rcheck: step 1/7 heads"));
  EXPECT_THAT(r.out, HasSubstr("\rcheck: step 7/7 change log"));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("\r\033[Karticles ", n, ", ")));
}

// `admin stats` lists the backups, compactions and checks running, a
// progress line each, and under -o json the response's operations: a user
// who looks at the figures while a long job runs sees it.
TEST(StatsTest, AdminStatsListsTheOperationsRunning) {
  TempDir dir;
  const std::string gate = dir.path() + "/hold";
  auto server = ServerProcess::Start(dir.path() + "/data", HoldingArgs(gate));
  ASSERT_NE(server, nullptr);
  auto c = Connect(server->address());
  CommandResult r = testing::Ctl(*server, {"admin", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\noperations:        none\n"));
  r = testing::Ctl(*server, {"admin", "stats", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"operations\": []"));

  // A check held while each form of stats looks (ListedWhile).
  ImportWordyArticles(*c, 300);
  std::string human, json;
  absl::StatusOr<v1::CheckStoreResponse> check;
  ListedWhile(
      *c, gate, [&] { check = c->CheckStore({}, Minutes()); },
      [&] {
        CommandResult s = testing::Ctl(*server, {"admin", "stats"});
        EXPECT_EQ(s.exit_code, 0) << s.err;
        human = s.out;
        s = testing::Ctl(*server, {"admin", "stats", "-o", "json"});
        EXPECT_EQ(s.exit_code, 0) << s.err;
        json = s.out;
      });
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_THAT(human, HasSubstr("\noperations:        1 running\n  check: "));
  EXPECT_THAT(json, HasSubstr("\"kind\": \"check\""));
  // The line `admin operations` and `admin fsck` draw.
  EXPECT_THAT(human,
              ::testing::ContainsRegex(
                  "\n  check: (starting|step [1-7]/7 [^\n]*), [0-9]+s\n"));
  EXPECT_THAT(json, HasSubstr("\"operations\": ["));
  EXPECT_THAT(json, HasSubstr("\"startTime\": \""));
}

// `n` articles whose bodies are `bytes` random letters and digits (they
// compress little), imported 4 to a request.
void ImportBigArticles(Client& c, int n, size_t bytes) {
  std::mt19937 random(11);
  int next = 0;
  absl::Status s = c.ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        for (int i = 0; i < 4 && next < n; ++i, ++next) {
          v1::Article* a = batch->add_articles();
          *a = Article(absl::StrCat("big ", next));
          a->set_name(absl::StrCat("articles/big", next));
          std::string body(bytes, ' ');
          for (char& ch : body)
            ch = "abcdefghijklmnopqrstuvwxyz0123456789"[random() % 36];
          a->set_body(body);
        }
        return batch->articles_size() > 0;
      },
      [](const v1::ImportArticlesResponse&) {}, Minutes());
  ASSERT_TRUE(s.ok()) << s;
}

// A backup to another file system copies every file of the store (minutes
// at 1M articles), where one on the store's own hard-links its tables:
// while it runs, ListOperations lists it with the bytes it has copied of
// about how many it will (an estimate: writes go on), and `contentctl admin
// operations` draws that as `admin backup` does on a terminal.
TEST(OperationsTest, ABackupToAnotherFileSystemIsListedWithTheBytesItCopies) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "BackupStore checkpoints a RocksDB data dir";
  }
  TempDir dir;
  const std::string other = dir.path() + "/other";
  std::filesystem::create_directories(other);
  testing::CommandResult mounted = testing::MountTestTmpfs(other, "size=512m");
  if (mounted.exit_code != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs as a second file system (needs "
                    "root): "
                 << mounted.err;
  }
  absl::Cleanup unmount = [&] { testing::UnmountTestTmpfs(other); };
  const std::string gate = dir.path() + "/hold";
  auto server = ServerProcess::Start(dir.path() + "/data", HoldingArgs(gate));
  ASSERT_NE(server, nullptr);
  auto c = Connect(server->address());
  // 96 MiB of bodies: a copy that takes a while.
  const int64_t bodies = int64_t{96} << 20;
  ImportBigArticles(*c, 192, 512 << 10);

  absl::StatusOr<v1::BackupStoreResponse> backup;
  const auto back_up = [&](const std::string& dest) {
    return [&, dest] {
      v1::BackupStoreRequest request;
      request.set_destination(dest);
      backup = c->BackupStore(request, Minutes());
    };
  };
  // Held once it has copied, not as it begins: a hold between the estimate
  // (measured as the copy begins) and the copy, checked against each other
  // below, let the files change in between (copied 101.2 MB of an estimate
  // of 79.6 MB once, under load).
  const std::vector<v1::RunningOperation> seen = ListedWhile(
      *c, gate, back_up(other + "/one"), nullptr, /*done_only=*/true);
  ASSERT_TRUE(backup.ok()) << backup.status();
  ASSERT_FALSE(seen.empty()) << "the backup was never listed";
  int64_t total = 0;
  for (const v1::RunningOperation& op : seen) {
    EXPECT_EQ(op.kind(), "backup");
    if (op.step_number() == 0) continue;  // listed from Start, before Step
    EXPECT_EQ(op.step(), "checkpoint");
    EXPECT_EQ(op.unit(), "bytes");
    EXPECT_FALSE(op.total_exact()) << "writes go on: the total is an estimate";
    if (op.total() > 0) {
      EXPECT_TRUE(total == 0 || op.total() == total) << "measured once";
      total = op.total();
    }
  }
  // Every table is copied: about the bodies' size, as the copy is.
  EXPECT_GE(total, bodies / 2);
  EXPECT_LE(total, bodies * 3 / 2);
  int64_t copied = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(other + "/one")) {
    if (entry.is_regular_file()) copied += entry.file_size();
  }
  // The total is measured as the copy begins, the memtables' keys and
  // values standing for the tables their flush writes: 91.1 MB for a copy
  // of 101.2 MB once (CI, 2026-12-06), so a quarter either way.
  EXPECT_GE(copied, total * 3 / 4);
  EXPECT_LE(copied, total * 5 / 4);
  // Nothing links across file systems: all of the backup was copied.
  EXPECT_EQ(backup->size_bytes(), copied);
  EXPECT_EQ(backup->copied_bytes(), copied);

  // Held, a copy to a tmpfs is drawn however soon it would end.
  const std::string listed = DrawnWhile(*server, gate, "backup: checkpoint [",
                                        back_up(other + "/two"));
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_THAT(listed, ::testing::MatchesRegex(
                          "backup: checkpoint \\[[#.]{20}\\] [0-9]+% [0-9.]+ "
                          "[KMG]?i?B of ~[0-9.]+ MiB, [0-9]+s\n"));
}

// A storage compaction is listed by ListOperations with its three steps,
// the last counted in bytes read, and `contentctl admin operations` draws
// it as `admin compact --storage` does on a terminal.
TEST(OperationsTest, AStorageCompactionIsListedWithItsSteps) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "PostgreSQL refuses a storage compaction";
  }
  TempDir dir;
  const std::string gate = dir.path() + "/hold";
  auto server = ServerProcess::Start(dir.path() + "/data", HoldingArgs(gate));
  ASSERT_NE(server, nullptr);
  auto c = Connect(server->address());
  ImportWordyArticles(*c, 3000);

  absl::StatusOr<v1::CompactStoreResponse> compact;
  const auto run_compaction = [&] {
    v1::CompactStoreRequest request;
    request.set_storage(true);
    compact = c->CompactStore(request, Minutes());
  };
  const std::vector<v1::RunningOperation> seen =
      ListedWhile(*c, gate, run_compaction);
  ASSERT_TRUE(compact.ok()) << compact.status();
  ASSERT_FALSE(seen.empty()) << "the compaction was never listed";
  int last_step = 0;
  bool storage_seen = false;
  for (const v1::RunningOperation& op : seen) {
    EXPECT_EQ(op.kind(), "compact");
    if (op.step_number() > 0) EXPECT_EQ(op.step_count(), 3);
    EXPECT_GE(op.step_number(), last_step) << op.ShortDebugString();
    last_step = op.step_number();
    if (op.step() == "storage") {
      storage_seen = true;
      EXPECT_EQ(op.step_number(), 3);
      EXPECT_EQ(op.unit(), "bytes");
      EXPECT_GE(op.done(), 0);
    }
  }
  EXPECT_TRUE(storage_seen) << "the storage step was never listed";

  // `admin operations` draws it (held, however short it is).
  const std::string listed =
      DrawnWhile(*server, gate, "compact: ", run_compaction);
  ASSERT_TRUE(compact.ok()) << compact.status();
  EXPECT_THAT(listed,
              ::testing::MatchesRegex(
                  "compact: (starting|step [123]/3 [a-z ]+)[^\n]*, [0-9]+s\n"));
}

// `contentd --check --repair` on a terminal draws the repair as it draws
// the check: each step as it begins, the postings written, then the check
// that follows the repair; each line erased before its result.
TEST(OperationsTest, AnOfflineRepairIsDrawnOnATerminal) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "runs contentd --check --repair on a RocksDB data dir";
  }
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string off = dir.path() + "/off.yaml";
  WriteFile(off, "text_index: false\n");
  const int n = 1000;
  {
    auto server = ServerProcess::Start(data, {"--config", off});
    ASSERT_NE(server, nullptr);
    auto c = Connect(server->address());
    ImportWordyArticles(*c, n);
    ASSERT_EQ(server->Stop(SIGTERM), 0);
  }
  // Built without the text index; under the default (text_index: true)
  // the check finds the setting changed, and the repair writes 300 text
  // postings an article besides the rest: several writes.
  CommandResult r = RunCommand({"script", "-qec",
                                absl::StrCat(ContentdBinary(), " --data-dir ",
                                             data, " --check --repair"),
                                "/dev/null"},
                               "", {"TERM=xterm"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string& out = r.out;
  // The repaired store's postings, from the last report ("articles 1000,
  // revisions 1000, postings N, ...").
  const size_t report = out.rfind(absl::StrCat("\r\033[Karticles ", n, ", "));
  ASSERT_NE(report, std::string::npos) << out;
  const size_t at = out.find(", postings ", report);
  ASSERT_NE(at, std::string::npos) << out;
  const int64_t postings = std::atoll(out.c_str() + at + 11);
  ASSERT_GT(postings, 300 * n);
  EXPECT_THAT(out.substr(report), HasSubstr("clean"));
  // In order: the check that finds the setting changed, the repair's three
  // steps, the check that follows it.
  size_t pos = 0;
  size_t found = 0;
  for (const std::string& part :
       {std::string("\rcheck: step 1/7 heads"),
        std::string("\r\033[Karticles "), std::string("repairing indexes"),
        std::string("\rrepair: step 1/3 dropping indexes"),
        std::string("\rrepair: step 2/3 postings"),
        absl::StrCat("\rrepair: step 3/3 counters, ",
                     content::internal::Grouped(postings), " postings written"),
        std::string("\rcheck: step 1/7 heads"),
        std::string("\rcheck: step 7/7 change log"),
        std::string("\r\033[Karticles ")}) {
    found = out.find(part, pos);
    ASSERT_NE(found, std::string::npos)
        << "no " << absl::CEscape(part) << " after " << pos << " in "
        << absl::CEscape(out);
    pos = found + part.size();
  }
  EXPECT_EQ(found, report);  // the last report: the repaired store
}

// A contentd with /metrics on a port of its own, on a PostgreSQL of its
// own under `dir` (for tests that stop the database: `bash PG stop
// DIR/pg`, PG being tests/support/pg.sh); null, after a failure, if
// either did not start.
std::unique_ptr<ServerProcess> StartOnPrivatePostgres(const TempDir& dir,
                                                      const std::string& pg) {
  CommandResult r = RunCommand({"bash", pg, "start", dir.path() + "/pg"}, "",
                               {}, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  if (r.exit_code != 0) return nullptr;
  std::string dsn = testing::ReadFile(dir.path() + "/pg/dsn");
  while (!dsn.empty() && dsn.back() == '\n') dsn.pop_back();
  return ServerProcess::Start(dir.path() + "/data",
                              {"--storage-engine", "postgres", "--storage-dsn",
                               dsn, "--metrics-listen", "127.0.0.1:0"});
}

// The port a `--metrics-listen 127.0.0.1:0` server took, from its log; 0
// if the log does not say.
int MetricsPort(const std::string& log) {
  const size_t at = log.find("metrics on http://127.0.0.1:");
  return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + 28);
}

TEST(MetricsTest, PrometheusEndpointCountsRpcsAndArticles) {
  TempDir dir;
  auto [server, port] = StartWithMetrics(dir);
  ASSERT_GT(port, 0);
  auto c = Connect(server->address());
  ASSERT_TRUE(Create(*c, "m1", "one").ok());
  ASSERT_TRUE(Create(*c, "m2", "two").ok());
  EXPECT_EQ(c->Get("missing").status().code(), absl::StatusCode::kNotFound);

  httplib::Client http("127.0.0.1", port);
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const std::string& body = res->body;
  EXPECT_THAT(body, HasSubstr("contentd_rpcs_total{method=\"/content.v1."
                              "ContentService/CreateArticle\",code=\"OK\"} 2"));
  EXPECT_THAT(body, HasSubstr("code=\"NOT_FOUND\"} 1"));
  EXPECT_THAT(
      body,
      HasSubstr("contentd_rpc_latency_seconds_bucket{method=\"/"
                "content.v1.ContentService/CreateArticle\",le=\"+Inf\"} 2"));
  EXPECT_THAT(body, HasSubstr("contentd_articles{state=\"live\"} 2"));
  EXPECT_THAT(body, HasSubstr("contentd_watchers 0"));
  EXPECT_THAT(body, HasSubstr("# TYPE contentd_watchers_cut_off_total counter\n"
                              "contentd_watchers_cut_off_total{reason=\""
                              "WATCH_TOO_SLOW\"} 0\n"
                              "contentd_watchers_cut_off_total{reason=\""
                              "EVENTS_TRIMMED\"} 0\n"));
  EXPECT_THAT(body, HasSubstr("# TYPE contentd_exports_cut_off_total counter\n"
                              "contentd_exports_cut_off_total 0\n"));
  EXPECT_THAT(body, HasSubstr("\ncontentd_store_read_only 0\n"));
  // Its help says which reason ends by itself (it said every one needed a
  // restart, which an operator would then do for a full volume).
  EXPECT_THAT(body, HasSubstr("# HELP contentd_store_read_only 1 while the "
                              "store serves reads only, labelled with the "
                              "reason writes get (DISK_FULL: until the volume "
                              "has room; UNAVAILABLE: until contentd "
                              "restarts), else 0.\n"));
  // What runs, for dashboards: the version GetServerInfo gives, the engine,
  // and when it started (an uptime is time() minus it).
  const absl::StatusOr<v1::ServerInfo> info = c->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(body,
              HasSubstr(absl::StrCat("\ncontentd_build_info{version=\"",
                                     info->version(), "\",storage_engine=\"",
                                     info->storage_engine(), "\"} 1\n")));
  EXPECT_EQ(info->storage_engine(),
            testing::TestEngineIsPostgres() ? "postgresql" : "rocksdb");
  EXPECT_THAT(body, ::testing::ContainsRegex(absl::StrCat(
                        "\nprocess_start_time_seconds ",
                        info->start_time().seconds(), "(\\.[0-9]+)?\n")));
  if (testing::TestEngineIsPostgres()) {  // the engine's own figures
    EXPECT_THAT(body, HasSubstr("contentd_postgres_table_bytes"));
  } else {
    EXPECT_THAT(body,
                HasSubstr("contentd_rocksdb_estimate_live_data_size_bytes "));
    EXPECT_THAT(body, HasSubstr("contentd_rocksdb_block_cache_hit_ratio "));
    EXPECT_THAT(body, HasSubstr("contentd_rocksdb_blob_cache_hit_total "));
    EXPECT_THAT(body, HasSubstr("contentd_rocksdb_blob_cache_miss_total "));
    EXPECT_THAT(
        body, HasSubstr("contentd_rocksdb_estimate_pending_compaction_bytes "));
    EXPECT_THAT(body,
                HasSubstr("contentd_rocksdb_cur_size_all_mem_tables_bytes "));
  }
  // Prometheus' naming rules, which promtool checks and dashboards assume:
  // a counter's name ends in `_total`, and a size says its unit. Each
  // family has help text beyond its name.
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (!absl::ConsumePrefix(&line, "# TYPE ")) continue;
    const std::vector<std::string> f = absl::StrSplit(line, ' ');
    ASSERT_EQ(f.size(), 2u) << line;
    if (f[1] == "counter") {
      EXPECT_THAT(f[0], EndsWith("_total")) << "counter " << f[0];
    }
    for (const char* size : {"size", "usage", "capacity", "mem"}) {
      if (absl::StrContains(f[0], size)) {
        EXPECT_THAT(f[0], EndsWith("_bytes")) << f[0] << " is a size";
      }
    }
  }
  EXPECT_THAT(body, Not(HasSubstr("Storage engine figure")));
  // Errors are logged one line each, with the fields operators grep for.
  EXPECT_THAT(server->Log(),
              ::testing::ContainsRegex("method=/content.v1.ContentService/"
                                       "GetArticle peer=ipv4:127.0.0.1:[0-9]+ "
                                       "token=- code=NOT_FOUND latency_ms="));
}

// The metrics page at 127.0.0.1:`port` once it has `wanted`, or as it is
// after 5 s.
std::string MetricsOnceThey(int port, const std::string& wanted) {
  httplib::Client http("127.0.0.1", port);
  std::string body;
  for (int i = 0; i < 100 && !absl::StrContains(body, wanted); ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(50));
    auto res = http.Get("/metrics");
    body = res ? res->body : "";
  }
  return body;
}

// `server`'s log once it has `wanted`, or as it is after 5 s.
std::string LogOnceIt(const ServerProcess& server, const std::string& wanted) {
  std::string log;
  for (int i = 0; i < 100 && !absl::StrContains(log, wanted); ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(50));
    log = server.Log();
  }
  return log;
}

// At the default `log_requests: errors`, a call its client left (here
// `watch --count 1`, done after one event) is counted as CANCELLED but
// gets no log line: the client never sees that status, and a line per
// closed watch buried real errors. A real error still gets its line.
TEST(MetricsTest, ACallItsClientLeftIsCountedNotLogged) {
  TempDir dir;
  auto [server, port] = StartWithMetrics(dir);
  ASSERT_GT(port, 0);
  auto c = Connect(server->address());
  ASSERT_TRUE(Create(*c, "w1", "one").ok());
  CommandResult r =
      testing::Ctl(*server, {"watch", "--after", "0", "--count", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // The watch's end is counted (bounded wait: the server sees the client
  // go a moment after contentctl exits).
  const std::string cancelled =
      "contentd_rpcs_total{method=\"/content.v1.ContentService/"
      "WatchArticles\",code=\"CANCELLED\"} 1";
  const std::string body = MetricsOnceThey(port, cancelled);
  ASSERT_THAT(body, HasSubstr(cancelled));
  // A real error afterwards is logged; by the time its line is there, the
  // watch's would be too.
  EXPECT_EQ(c->Get("missing").status().code(), absl::StatusCode::kNotFound);
  const std::string log = LogOnceIt(*server, "code=NOT_FOUND");
  EXPECT_THAT(log, HasSubstr("code=NOT_FOUND"));
  EXPECT_THAT(log, Not(HasSubstr("code=CANCELLED"))) << log;
}

// An HTTP/2 frame: its 9-byte header, then `payload`.
std::string H2Frame(uint8_t type, uint8_t flags, uint32_t stream,
                    const std::string& payload) {
  std::string f;
  for (int shift : {16, 8, 0})
    f.push_back(static_cast<char>(payload.size() >> shift));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift : {24, 16, 8, 0})
    f.push_back(static_cast<char>(stream >> shift));
  return f + payload;
}

// Sends `bytes` whole on `fd`.
bool SendAll(int fd, const std::string& bytes) {
  return send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(bytes.size());
}

// Opens an HTTP/2 connection to 127.0.0.1:`port` and the headers of a
// gRPC call of `method` on its stream 1, with `headers` (name, value)
// besides; the request's DATA is the caller's to send (gRPC's own client
// cannot send half a message, or let a deadline pass unannounced). -1 if
// it could not; else the socket, which the caller closes.
int OpenGrpcStream(
    int port, const std::string& method,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  absl::Cleanup closer = [fd] { close(fd); };
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return -1;
  // HPACK: each a literal header without indexing, new name.
  const auto header = [](const std::string& name, const std::string& value) {
    return std::string(1, '\0') + static_cast<char>(name.size()) + name +
           static_cast<char>(value.size()) + value;
  };
  std::string block =
      header(":method", "POST") + header(":scheme", "http") +
      header(":path", method) + header(":authority", "localhost") +
      header("content-type", "application/grpc") + header("te", "trailers");
  for (const auto& [name, value] : headers) block += header(name, value);
  // The preface, SETTINGS, then HEADERS (END_HEADERS).
  if (!SendAll(fd, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + H2Frame(4, 0, 0, "") +
                       H2Frame(1, 4, 1, block)))
    return -1;
  std::move(closer).Cancel();
  return fd;
}

// Calls `method` on 127.0.0.1:`port` with a gRPC message frame that
// promises 100 bytes and brings 2, then resets the stream (CANCEL): a
// client whose deadline passed mid-request. Returns false if it could not.
bool CancelMidRequest(int port, const std::string& method) {
  const int fd = OpenGrpcStream(port, method, {});
  if (fd < 0) return false;
  absl::Cleanup closer = [fd] { close(fd); };
  if (!SendAll(fd, H2Frame(0, 0, 1, std::string("\0\0\0\0\x64\x12\x02", 7))))
    return false;
  absl::SleepFor(absl::Milliseconds(200));
  if (!SendAll(fd, H2Frame(3, 0, 1, std::string("\0\0\0\x08", 4))))
    return false;
  absl::SleepFor(absl::Milliseconds(200));
  return true;
}

// A request its client cancelled before all of it arrived reaches gRPC's
// callback API as one that does not parse: it was counted and logged as
// INVALID_ARGUMENT "request: cannot be parsed", as if a client sent
// garbage (seen under overload, where deadlines pass mid-request). It is
// counted CANCELLED and not logged; a request that really does not parse
// still is, as INVALID_ARGUMENT.
TEST(MetricsTest, ARequestCancelledBeforeItArrivedIsNotCalledUnparsable) {
  TempDir dir;
  auto [server, port] = StartWithMetrics(dir);
  ASSERT_GT(port, 0);
  const std::string query = "/content.v1.ContentService/QueryArticles";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(CancelMidRequest(server->port(), query));
  }
  const std::string cancelled = absl::StrCat("contentd_rpcs_total{method=\"",
                                             query, "\",code=\"CANCELLED\"} 3");
  const std::string body = MetricsOnceThey(port, cancelled);
  EXPECT_THAT(body, HasSubstr(cancelled));
  EXPECT_THAT(body, Not(HasSubstr("code=\"INVALID_ARGUMENT\"")));

  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  std::string reply;
  const grpc::Status bad =
      testing::RawUnaryCall(*channel, query, "\xff\xff\xff", {}, &reply);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const std::string log = LogOnceIt(*server, "cannot be parsed");
  // One line: the garbage's, none for the cancelled calls.
  const std::vector<absl::string_view> parts =
      absl::StrSplit(log, "cannot be parsed");
  EXPECT_EQ(parts.size(), 2u) << log;
  EXPECT_THAT(log, Not(HasSubstr("code=CANCELLED"))) << log;
}

// Calls `method` on 127.0.0.1:`port` with `headers` (name, value) and an
// empty request, half-closed; then sends nothing more, not even a reset
// when the call's `grpc-timeout` passes, as gRPC's own client does a
// moment before the server's timer: the server ends the call by its
// deadline alone. -1 if it could not; else the socket, which the caller
// closes.
int CallAndWait(
    int port, const std::string& method,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  const int fd = OpenGrpcStream(port, method, headers);
  if (fd < 0) return -1;
  // DATA (END_STREAM): an empty message.
  if (!SendAll(fd, H2Frame(0, 1, 1, std::string(5, '\0')))) {
    close(fd);
    return -1;
  }
  return fd;
}

// A call whose deadline passed is what its client saw, DEADLINE_EXCEEDED,
// in /metrics and in the log at `errors`, with its request id: it was
// counted CANCELLED and not logged, as a call its client left, so clients
// timing out left no trace an operator could find. (A watch never ends by
// itself, so this one runs until its deadline.)
TEST(MetricsTest, ACallWhoseDeadlinePassedIsCountedAndLoggedAsSuch) {
  TempDir dir;
  auto [server, port] = StartWithMetrics(dir);
  ASSERT_GT(port, 0);
  const int fd =
      CallAndWait(server->port(), "/content.v1.ContentService/WatchArticles",
                  {{"grpc-timeout", "300m"}, {"x-request-id", "deadline-7"}});
  ASSERT_GE(fd, 0);
  absl::Cleanup closer = [fd] { close(fd); };

  const std::string exceeded =
      "contentd_rpcs_total{method=\"/content.v1.ContentService/"
      "WatchArticles\",code=\"DEADLINE_EXCEEDED\"} 1";
  const std::string body = MetricsOnceThey(port, exceeded);
  EXPECT_THAT(body, HasSubstr(exceeded));
  EXPECT_THAT(body, Not(HasSubstr("code=\"CANCELLED\"")));
  const std::string log = LogOnceIt(*server, "request_id=deadline-7");
  EXPECT_THAT(log, ::testing::ContainsRegex(
                       "method=/content.v1.ContentService/WatchArticles "
                       "peer=[^ ]+ token=- code=DEADLINE_EXCEEDED "
                       "latency_ms=[0-9.]+ request_id=deadline-7 error=\""
                       "the call's deadline passed"));
}

// With the database gone, the figures that could not be read are left out
// of /metrics and GetStats fails: /metrics said `contentd_articles{state=
// "live"} 0` and `contentd_postgres_error 0`, and `admin stats` 0 articles,
// which read as a store that lost everything. A private PostgreSQL, since
// the test stops it.
TEST(MetricsTest, FiguresThatCannotBeReadAreLeftOutNotZero) {
  if (access("/usr/lib/postgresql/15/bin/initdb", X_OK) != 0)
    GTEST_SKIP() << "PostgreSQL 15 is not installed";
  TempDir dir;
  const std::string pg = testing::SourceDir() + "/tests/support/pg.sh";
  auto server = StartOnPrivatePostgres(dir, pg);
  ASSERT_NE(server, nullptr);
  const int port = MetricsPort(server->Log());
  ASSERT_GT(port, 0) << server->Log();
  auto c = Connect(server->address());
  ASSERT_TRUE(Create(*c, "m1", "one").ok());
  httplib::Client http("127.0.0.1", port);
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("contentd_articles{state=\"live\"} 1\n"));
  EXPECT_THAT(res->body, HasSubstr("contentd_postgres_table_bytes "));

  CommandResult r = RunCommand({"bash", pg, "stop", dir.path() + "/pg"}, "", {},
                               std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, Not(HasSubstr("contentd_articles{")));
  EXPECT_THAT(res->body, Not(HasSubstr("contentd_postgres")));
  // What does not need the database is still there.
  EXPECT_THAT(res->body, HasSubstr("contentd_rpcs_total{"));
  EXPECT_THAT(res->body, HasSubstr("contentd_last_sequence 1\n"));
  absl::StatusOr<v1::GetStatsResponse> stats = c->GetStats({});
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kUnavailable)
      << (stats.ok() ? stats->DebugString() : stats.status().ToString());
}

// Startup failures end the process with a message naming the flag; they are
// run bounded, since the failure they guard against is serving on.
constexpr std::chrono::seconds kStartupTimeout(30);

// A loopback port free a moment ago (bound to port 0, then closed).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Every thread of a serving contentd blocks SIGTERM, SIGINT and SIGHUP but
// one, "stop-signals", which takes them with sigwait. gRPC's and the page
// returner's threads used to start before the mask, so a SIGTERM that
// reached one of them killed the process with no clean stop.
TEST(StartupTest, EveryThreadLeavesTheStopSignalsToOne) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  const std::string tasks = absl::StrCat("/proc/", server->pid(), "/task");
  int threads = 0, takers = 0;
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    // It waits in sigwait, which unblocks them while it waits.
    if (testing::ReadFile(task.path().string() + "/comm") == "stop-signals\n") {
      ++takers;
      continue;
    }
    const std::string status =
        testing::ReadFile(task.path().string() + "/status");
    // A thread that ended since the listing (a PostgreSQL connection's, a
    // finished job's) has no status left to read.
    if (status.empty()) continue;
    const size_t at = status.find("SigBlk:");
    ASSERT_NE(at, std::string::npos) << task.path();
    const uint64_t blocked = std::stoull(
        status.substr(at + 7, status.find('\n', at) - at - 7), nullptr, 16);
    const uint64_t stop = (uint64_t{1} << (SIGTERM - 1)) |
                          (uint64_t{1} << (SIGINT - 1)) |
                          (uint64_t{1} << (SIGHUP - 1));
    EXPECT_EQ(blocked & stop, stop)
        << task.path() << " "
        << testing::ReadFile(task.path().string() + "/comm");
    ++threads;
  }
  EXPECT_GE(threads, 2);
  EXPECT_EQ(takers, 1);
}

// A write to a closed pipe fails instead of ending contentd: with stdout
// and stderr a pipe whose reader went away (a log shipper restarting), it
// died of SIGPIPE at its first line, before it wrote its port file.
TEST(StartupTest, ALogPipeWithNoReaderDoesNotEndIt) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  close(fds[0]);  // no reader
  const std::string port_file = dir.path() + "/port";
  std::vector<std::string> argv = {
      ContentdBinary(),     "--listen",    "127.0.0.1:0", "--data-dir",
      dir.path() + "/data", "--port-file", port_file};
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  ASSERT_EQ(rc, 0);
  int status = 0;
  bool ended = false;
  int port = 0;
  for (int i = 0; i < 1500 && port == 0 && !ended; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    port = std::atoi(testing::ReadFile(port_file).c_str());
    ended = waitpid(pid, &status, WNOHANG) == pid;
  }
  if (!ended && port == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  ASSERT_FALSE(ended) << "ended by signal "
                      << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  ASSERT_GT(port, 0);
  EXPECT_TRUE(
      Create(*Connect(absl::StrCat("127.0.0.1:", port)), "a", "a").ok());
  kill(pid, SIGTERM);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status))
      << "ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
}

// An import batch of one article `id`.
v1::ImportArticlesRequest ImportBatch(const std::string& id) {
  v1::ImportArticlesRequest req;
  *req.add_articles() = Article(id);
  req.mutable_articles(0)->set_name("articles/" + id);
  return req;
}

// Sends SIGTERM and waits (bounded) until contentd says it is stopping.
void TerminateAndAwaitStop(ServerProcess& server) {
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  for (int i = 0;
       i < 200 && !absl::StrContains(server.Log(), "finishing in-flight calls");
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_THAT(server.Log(), HasSubstr("SIGTERM, finishing in-flight calls"));
}

// contentd on dir/data, its config file (`*config`, for tests that rewrite
// it and restart) holding only the stop's grace.
std::unique_ptr<ServerProcess> StartWithGrace(const TempDir& dir,
                                              int grace_seconds,
                                              std::string* config) {
  *config = dir.path() + "/contentd.yaml";
  WriteFile(*config,
            absl::StrCat("shutdown_grace_seconds: ", grace_seconds, "\n"));
  return ServerProcess::Start(dir.path() + "/data", {"--config", *config});
}

// The fields of `admin health -o json`'s object, "error" as its "code"
// (or "null"), every other value as its text.
std::map<std::string, std::string> HealthObject(const std::string& json) {
  const auto object =
      testing::ParseJson<google::protobuf::Struct>(json).fields();
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : object) {
    switch (value.kind_case()) {
      case google::protobuf::Value::kStringValue:
        out[key] = value.string_value();
        break;
      case google::protobuf::Value::kBoolValue:
        out[key] = value.bool_value() ? "true" : "false";
        break;
      case google::protobuf::Value::kStructValue:
        out[key] = value.struct_value().fields().at("code").string_value();
        break;
      default:
        out[key] = "null";
    }
  }
  return out;
}

// `contentctl admin health`, as `etcdctl endpoint health`: asks "" and
// content.v1.Readiness without a token, says `HOST:PORT is healthy:
// SERVING (took ...)` (exit 0), or what it is instead and why: a name the
// server does not know (exit 3), a server it cannot reach, with contentctl's
// connect hint (exit 1); -o json|yaml an object on stdout either way.
TEST(HealthTest, AdminHealthSaysServingOrWhatItIsInstead) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data",
                                     {"--config", AuthConfig(dir.path())});
  ASSERT_NE(server, nullptr);
  const std::string endpoint = server->address();
  // The start line says how the port is served.
  EXPECT_THAT(server->Log(), HasSubstr(", plaintext, data "));
  // No token: health needs none, though every other call does.
  CommandResult r = testing::Ctl(*server, {"admin", "health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              ::testing::StartsWith(endpoint + " is healthy: SERVING (took "));
  EXPECT_THAT(r.out, EndsWith(")\n"));
  EXPECT_EQ(testing::Lines(r.out).size(), 1u) << r.out;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(testing::Ctl(*server, {"admin", "stats"}).exit_code, 1);

  r = testing::Ctl(*server, {"admin", "health", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> object = HealthObject(r.out);
  EXPECT_EQ(object["endpoint"], endpoint);
  EXPECT_EQ(object["healthy"], "true");
  EXPECT_EQ(object["service"], "");
  EXPECT_EQ(object["status"], "SERVING");
  EXPECT_EQ(object["readiness"], "SERVING");
  EXPECT_EQ(object["reason"], "");
  EXPECT_EQ(object["error"], "null");
  EXPECT_THAT(object["took"], EndsWith("s"));
  r = testing::Ctl(*server, {"admin", "health", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("healthy: true\n"));
  EXPECT_THAT(r.out, HasSubstr("status: SERVING\n"));

  // One name alone.
  r = testing::Ctl(*server,
                   {"admin", "health", "--service", "content.v1.AdminService"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith(endpoint +
                                           " is healthy: SERVING "
                                           "(content.v1.AdminService) (took "));
  r = testing::Ctl(*server, {"admin", "health", "--service", "no.Such"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, ::testing::StartsWith(
                         endpoint +
                         " is unhealthy: SERVICE_UNKNOWN (no.Such): the server "
                         "has no health status by this name (took "));

  // --help (and `help admin health`) lists the exit codes.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"admin", "health", "--help"},
        {"help", "admin", "health"}}) {
    r = testing::Ctl(*server, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Exit status:\n  0  SERVING\n"));
    EXPECT_THAT(r.out, HasSubstr("  3  NOT_SERVING: "));
    EXPECT_THAT(r.out, HasSubstr("  4  alive but not ready: "));
  }

  // Gone: no answer, said as every verb says it (exit 1).
  const int stopped = server->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0) << stopped;
  r = testing::Ctl(*server, {"admin", "health"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(
      r.err, ::testing::StartsWith(endpoint +
                                   " is unhealthy: UNAVAILABLE: cannot reach " +
                                   endpoint + ": Connection refused (took "));
  r = testing::Ctl(*server, {"admin", "health", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "");
  object = HealthObject(r.out);
  EXPECT_EQ(object["healthy"], "false");
  EXPECT_EQ(object["status"], "");
  EXPECT_EQ(object["error"], "UNAVAILABLE");
}

// The metrics port answers GET /healthz and /readyz as health's "" and
// content.v1.Readiness do: 200 "ok" while SERVING; once a stop begins, 503
// with why, while the calls in progress finish (here an import the test
// holds open).
TEST(HealthTest, HealthzAndReadyzFollowHealthThroughAStop) {
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  WriteFile(config, "shutdown_grace_seconds: 60\n");
  auto server = ServerProcess::Start(
      dir.path() + "/data",
      {"--config", config, "--metrics-listen", "127.0.0.1:0"});
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->Log(), HasSubstr("/metrics (probes: /healthz, /readyz)"));
  const int port = MetricsPort(server->Log());
  ASSERT_GT(port, 0) << server->Log();
  httplib::Client http("127.0.0.1", port);
  for (const char* path : {"/healthz", "/readyz"}) {
    auto res = http.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->body, "ok\n") << path;
  }

  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::ContentService::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->ImportArticles(&ctx);
  ASSERT_TRUE(stream->Write(ImportBatch("held")));
  v1::ImportArticlesResponse answer;
  ASSERT_TRUE(stream->Read(&answer));  // the server has the call
  ASSERT_NO_FATAL_FAILURE(TerminateAndAwaitStop(*server));
  // The line comes just before the stop turns health NOT_SERVING.
  httplib::Result healthz = http.Get("/healthz");
  for (int i = 0; i < 200 && healthz && healthz->status == 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    healthz = http.Get("/healthz");
  }
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 503);
  EXPECT_EQ(healthz->body,
            "contentd is stopping (in-flight calls are finishing)\n");
  httplib::Result readyz = http.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 503);
  EXPECT_EQ(readyz->body, healthz->body);

  stream->WritesDone();
  while (stream->Read(&answer)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  const int exit = server->Stop(0);  // (no signal: it is stopping)
  EXPECT_TRUE(WIFEXITED(exit) && WEXITSTATUS(exit) == 0) << server->Log();
}

// A database that stops answering turns content.v1.Readiness NOT_SERVING
// while "" stays SERVING: `admin health` says the server is not ready and
// why (exit 4), /readyz is 503 with the same reason, /healthz stays 200.
TEST(HealthTest, ADatabaseDownIsNotReadyToAdminHealthAndReadyz) {
  if (access("/usr/lib/postgresql/15/bin/initdb", X_OK) != 0)
    GTEST_SKIP() << "PostgreSQL 15 is not installed";
  TempDir dir;
  const std::string pg = testing::SourceDir() + "/tests/support/pg.sh";
  auto server = StartOnPrivatePostgres(dir, pg);
  ASSERT_NE(server, nullptr);
  const int port = MetricsPort(server->Log());
  ASSERT_GT(port, 0) << server->Log();
  EXPECT_EQ(testing::Ctl(*server, {"admin", "health"}).exit_code, 0);

  CommandResult r = RunCommand({"bash", pg, "stop", dir.path() + "/pg"}, "", {},
                               std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Readiness turns at the next ping (one a second).
  CommandResult health;
  for (int i = 0; i < 300; ++i) {
    health = testing::Ctl(*server, {"admin", "health"});
    if (health.exit_code != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string reason =
      "not ready until the store answers again: storage: PostgreSQL "
      "unreachable (--storage-dsn)";
  EXPECT_EQ(health.exit_code, 4) << health.out << health.err;
  EXPECT_EQ(health.out, "");
  EXPECT_THAT(health.err, ::testing::StartsWith(server->address() +
                                                " is not ready: NOT_SERVING "
                                                "(content.v1.Readiness): " +
                                                reason));
  r = testing::Ctl(*server, {"admin", "health", "-o", "json"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  std::map<std::string, std::string> object = HealthObject(r.out);
  EXPECT_EQ(object["healthy"], "false");
  EXPECT_EQ(object["status"], "SERVING");
  EXPECT_EQ(object["readiness"], "NOT_SERVING");
  EXPECT_THAT(object["reason"], ::testing::StartsWith(reason));
  EXPECT_EQ(object["error"], "null");
  // The reason is the log's readiness line.
  EXPECT_THAT(server->Log(), HasSubstr("contentd: readiness: NOT_SERVING "
                                       "(content.v1.Readiness) " +
                                       object["reason"].substr(10)));

  httplib::Client http("127.0.0.1", port);
  auto res = http.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_THAT(res->body, ::testing::StartsWith(reason));
  res = http.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok\n");
}

// A second signal ends a stop at once, exit status 1, where the first
// waits for calls in progress up to the grace (here 30 s, held by an import
// stream its client keeps open). Writes acknowledged before it are kept.
// Before, every later signal was ignored: only kill -9 ended such a stop.
TEST(StartupTest, ASecondSignalEndsAStopAtOnce) {
  TempDir dir;
  std::string config;
  auto server = StartWithGrace(dir, 30, &config);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(Create(*Connect(server->address()), "kept", "kept").ok());
  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::ContentService::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->ImportArticles(&ctx);
  ASSERT_TRUE(stream->Write(ImportBatch("imported")));
  v1::ImportArticlesResponse answer;
  ASSERT_TRUE(stream->Read(&answer));  // the server has the call

  ASSERT_NO_FATAL_FAILURE(TerminateAndAwaitStop(*server));
  const int status = server->Stop(SIGINT);
  EXPECT_TRUE(WIFEXITED(status)) << server->Log();
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1) << server->Log();
  // Where acknowledged writes are: PostgreSQL has no WAL of contentd's to
  // replay (the line said so on either engine).
  EXPECT_THAT(server->Log(),
              HasSubstr(absl::StrCat(
                  "contentd: second SIGINT, stopping now without waiting for "
                  "calls in progress (acknowledged writes are ",
                  testing::TestEngineIsPostgres()
                      ? "committed in the database)\n"
                      : "in the WAL; the next start replays it)\n")));
  EXPECT_THAT(server->Log(), Not(HasSubstr("stopped cleanly")));
  ctx.TryCancel();

  ASSERT_TRUE(server->Restart());
  auto c = Connect(server->address());
  EXPECT_TRUE(c->Get("kept").ok());
  EXPECT_TRUE(c->Get("imported").ok());
}

// Two signals back to back (a supervisor and a user, or `timeout`, which
// signals the child and then its group): the log says the first, then the
// second. The first's line was the main thread's, written once it woke,
// and a second signal taken before that ended the process without it: the
// log said "second SIGTERM" of a first it never mentioned, about half the
// time. Several rounds, as the race went either way.
TEST(StartupTest, TwoSignalsBackToBackLogBothInOrder) {
  TempDir dir;
  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE(round);
    auto server =
        ServerProcess::Start(absl::StrCat(dir.path(), "/data", round));
    ASSERT_NE(server, nullptr);
    ASSERT_EQ(kill(server->pid(), SIGTERM), 0);
    // The second 0 to 10 us later: the race was lost when it came after
    // the first was taken and before the main thread wrote its line. (No
    // sleep, which takes far longer: a spin on the clock.)
    const absl::Time second_at =
        absl::Now() + absl::Microseconds(2 * (round % 6));
    while (absl::Now() < second_at) {
    }
    ASSERT_EQ(kill(server->pid(), SIGTERM), 0);
    // Had the two arrived as one (a clean stop), this is the second.
    server->Stop(SIGTERM);
    const std::string log = server->Log();
    const size_t first = log.find("contentd: SIGTERM, finishing in-flight");
    EXPECT_NE(first, std::string::npos) << log;
    const size_t second = log.find("contentd: second SIGTERM");
    if (second != std::string::npos) EXPECT_LT(first, second) << log;
  }
}

// `timeout 60 contentd` signals contentd and then its process group: the
// same SIGTERM twice, microseconds apart. Taken as a second signal, it cut
// every such stop short (exit 1, a log replay at the next start); it is
// one clean stop. A SIGTERM that comes later still ends a stop at once
// (ASecondSignalEndsAStopAtOnce).
TEST(StartupTest, TheSameSignalTwiceAtOnceIsOneCleanStop) {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    const std::string log = absl::StrCat(dir.path(), "/log", round);
    // timeout forwards a signal it gets as it sends its own: to contentd,
    // then to its process group (its own: not this test's).
    auto command = testing::BackgroundCommand::Start(
        {"timeout", "600", ContentdBinary(), "--listen", "127.0.0.1:0",
         "--no-auth", "--data-dir", absl::StrCat(dir.path(), "/data", round)},
        log, log);
    ASSERT_NE(command, nullptr);
    std::string text;
    for (int i = 0; i < 600 && !absl::StrContains(text, "serving on port");
         ++i) {
      absl::SleepFor(absl::Milliseconds(50));
      text = testing::ReadFile(log);
    }
    ASSERT_THAT(text, HasSubstr("serving on port"));
    ASSERT_EQ(kill(command->pid(), SIGTERM), 0);
    const CommandResult r = command->Wait(std::chrono::seconds(60));
    text = testing::ReadFile(log);
    EXPECT_FALSE(r.timed_out) << text;
    EXPECT_THAT(text, Not(HasSubstr("second SIGTERM"))) << text;
    EXPECT_THAT(text, HasSubstr("stopped cleanly")) << text;
  }
}

// SIGHUP (a foreground contentd's terminal closed) and SIGINT stop it as
// SIGTERM does: in-flight calls finish and the store closes cleanly. By
// default SIGHUP ended the process at once (exit by signal 1).
TEST(StartupTest, HangupAndInterruptStopCleanlyAsTerminateDoes) {
  TempDir dir;
  for (const int signal : {SIGHUP, SIGINT, SIGTERM}) {
    const std::string name = signal == SIGHUP   ? "SIGHUP"
                             : signal == SIGINT ? "SIGINT"
                                                : "SIGTERM";
    SCOPED_TRACE(name);
    auto server = ServerProcess::Start(dir.path() + "/data");
    ASSERT_NE(server, nullptr);
    ASSERT_TRUE(Create(*Connect(server->address()), name, name).ok());
    const int status = server->Stop(signal);
    EXPECT_TRUE(WIFEXITED(status))
        << "ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
        << "\n"
        << server->Log();
    EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
    EXPECT_THAT(server->Log(), HasSubstr(name + ", finishing in-flight calls"));
    EXPECT_THAT(server->Log(), HasSubstr("contentd: stopped cleanly"));
  }
  // Each stop kept its write.
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto c = Connect(server->address());
  for (const char* id : {"SIGHUP", "SIGINT", "SIGTERM"})
    EXPECT_TRUE(c->Get(id).ok()) << id;
}

// Connections with no call on them do not hold a stop: contentd closes them
// once no call is left. gRPC waits for each client to answer a PING sent
// with the GOAWAY: an idle C++ client reads its socket only every 5 s, so a
// stop took 5 s with any client connected (34 ms with none), and a client
// that does not read at all (here a `contentctl watch` stopped with
// SIGSTOP, whose watch the stop ends) held it 20 s, and an open health
// Watch the whole grace. The grace is 30 s.
TEST(StopTest, IdleConnectionsDoNotHoldTheStop) {
  TempDir dir;
  std::string config;
  auto server = StartWithGrace(dir, 30, &config);
  ASSERT_NE(server, nullptr);
  const std::string out = dir.path() + "/watch.out";
  std::unique_ptr<testing::BackgroundCommand> watch =
      testing::BackgroundCommand::Start(
          {testing::ContentctlBinary(), "--server", server->address(), "watch",
           "--from-now"},
          out, dir.path() + "/watch.err");
  ASSERT_NE(watch, nullptr);
  // An SDK client that made a call, and a channel that only connected.
  std::unique_ptr<Client> client = Connect(server->address());
  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(10)));
  // A health Watch, as gRPC's client-side health checking keeps open: the
  // stop sends it NOT_SERVING, and gRPC leaves it open, which held the stop
  // to the end of the grace.
  grpc::GenericStub health(channel);
  grpc::ClientContext health_ctx;
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> health_watch =
      health.PrepareCall(&health_ctx, "/grpc.health.v1.Health/Watch", &cq);
  void* tag = nullptr;
  bool ok = false;
  health_watch->StartCall(&cq);
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Slice no_service("");  // an empty HealthCheckRequest: the server
  health_watch->Write(grpc::ByteBuffer(&no_service, 1), &cq);
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer serving;
  health_watch->Read(&serving, &cq);
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  absl::Cleanup drain = [&] {
    health_ctx.TryCancel();
    grpc::Status ignored;
    health_watch->Finish(&ignored, &cq);
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  };
  // Once the watch has printed a write, it is connected: stop it there.
  for (int i = 0;
       i < 200 && !absl::StrContains(testing::ReadFile(out), "articles/seen");
       ++i) {
    ASSERT_TRUE(Create(*client, absl::StrCat("seen", i), "seen").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_THAT(testing::ReadFile(out), HasSubstr("articles/seen"));
  ASSERT_EQ(kill(watch->pid(), SIGSTOP), 0);

  const auto start = std::chrono::steady_clock::now();
  const int status = server->Stop(SIGTERM);
  const int64_t took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  kill(watch->pid(), SIGKILL);
  EXPECT_TRUE(WIFEXITED(status)) << server->Log();
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0) << server->Log();
  EXPECT_THAT(server->Log(), HasSubstr("contentd: stopped cleanly"));
  // The health Watch that the stop ended is no error of the server's: gRPC
  // ends it UNKNOWN "OnCancel()", which the request log printed.
  EXPECT_THAT(server->Log(), Not(HasSubstr("OnCancel()")));
  // Far below the 20 s (and the 5 s) without the fix, with room for a
  // loaded machine or a sanitizer build.
  EXPECT_LT(took_ms, 8000) << server->Log();
}

// An import stream its client keeps open gets the grace (a batch sent
// during it is written and answered), and at its end UNAVAILABLE saying
// that contentd is stopping, which a client may retry; gRPC's own cut
// said only "Cancelling all calls". contentd then stops cleanly.
TEST(StopTest, AStreamLeftAtTheEndOfTheGraceGetsUnavailable) {
  TempDir dir;
  std::string config;
  auto server = StartWithGrace(dir, 2, &config);
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::ContentService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->ImportArticles(&ctx);
  ASSERT_TRUE(stream->Write(ImportBatch("before")));
  v1::ImportArticlesResponse answer;
  ASSERT_TRUE(stream->Read(&answer));  // the server has the call

  ASSERT_NO_FATAL_FAILURE(TerminateAndAwaitStop(*server));
  ASSERT_TRUE(stream->Write(ImportBatch("during")));
  ASSERT_TRUE(stream->Read(&answer));
  ASSERT_EQ(answer.results_size(), 1);
  EXPECT_EQ(answer.results(0).outcome(), v1::ImportResult::OUTCOME_CREATED)
      << answer.results(0).error();
  // No more batches: the server ends the stream when the grace is over.
  EXPECT_FALSE(stream->Read(&answer));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_EQ(status.error_message(),
            "contentd is stopping; retry on another replica or after "
            "restart");

  const int exit = server->Stop(0);  // (no signal: it is stopping)
  EXPECT_TRUE(WIFEXITED(exit)) << server->Log();
  EXPECT_EQ(WIFEXITED(exit) ? WEXITSTATUS(exit) : -1, 0) << server->Log();
  EXPECT_THAT(server->Log(), HasSubstr("contentd: stopped cleanly"));
  ASSERT_TRUE(server->Restart());
  auto c = Connect(server->address());
  EXPECT_TRUE(c->Get("before").ok());
  EXPECT_TRUE(c->Get("during").ok());
}

// Calls from 4 threads, each with the caller `make_caller` gives it, all
// through a SIGTERM stop of `server` (which has served 200 calls first);
// returns the failures as "CODE message" -> count.
std::map<std::string, int> FailuresThroughAStop(
    ServerProcess* server,
    const std::function<std::function<absl::Status()>()>& make_caller) {
  std::atomic<bool> done{false};
  std::atomic<int> ok{0};
  std::mutex mu;
  std::map<std::string, int> failures;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, call = make_caller()] {
      while (!done.load()) {
        const absl::Status s = call();
        if (s.ok()) {
          ++ok;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        ++failures[absl::StrCat(absl::StatusCodeToString(s.code()), " ",
                                s.message())];
      }
    });
  }
  absl::Cleanup join = [&] {
    done = true;
    for (std::thread& t : callers) t.join();
  };
  for (int i = 0; i < 1000 && ok.load() < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(ok.load(), 200);
  const int status = server->Stop(SIGTERM);
  // The callers go on until the port refuses them for a while.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::move(join).Invoke();
  EXPECT_TRUE(WIFEXITED(status)) << server->Log();
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0) << server->Log();
  return failures;
}

// A contentd with a 5 s grace holding article "x"; null on failure.
std::unique_ptr<ServerProcess> StartHoldingX(const TempDir& dir) {
  std::string config;
  auto server = StartWithGrace(dir, 5, &config);
  if (server == nullptr ||
      !Create(*Connect(server->address()), "x", "x").ok()) {
    ADD_FAILURE() << "cannot start contentd holding x";
    return nullptr;
  }
  return server;
}

// Every failure is UNAVAILABLE, saying that contentd is stopping or (once
// the port is closed) that there is no connection.
void ExpectOnlyUnavailable(const std::map<std::string, int>& failures) {
  for (const auto& [what, count] : failures) {
    const bool unavailable = absl::StartsWith(what, "UNAVAILABLE ");
    const bool said_stopping = absl::StrContains(
        what,
        "contentd is stopping; retry on another replica or after restart");
    const bool no_server = absl::StrContains(what, "failed to connect") ||
                           absl::StrContains(what, "Connection refused");
    EXPECT_TRUE(unavailable && (said_stopping || no_server))
        << count << " x " << what;
  }
}

// A client calling all through a stop: every call that fails should fail
// UNAVAILABLE, which it may retry on another replica or after the restart,
// saying that contentd is stopping (or, once the port is closed, that there
// is no connection). Disabled: it fails most runs (8 of 10 on 2026-12-04,
// 3-4 CANCELLED calls each, from 4 callers), and contentd cannot fix it.
// gRPC (1.51) itself ends a call that arrives after the stop's
// Server::Shutdown began, sent before its client read the GOAWAY, CANCELLED
// (Server::CallData::StartNewRpc: a "zombie"), before any interceptor or
// service sees it: the request log has no line for them. Run it with
// --gtest_also_run_disabled_tests to see whether a gRPC upgrade fixed it.
// The SDK's reads retry such a call (the next test).
TEST(StopTest, DISABLED_CallsDuringAStopFailOnlyUnavailable) {
  TempDir dir;
  auto server = StartHoldingX(dir);
  ASSERT_NE(server, nullptr);
  ExpectOnlyUnavailable(FailuresThroughAStop(server.get(), [&] {
    auto stub = std::shared_ptr<v1::ContentService::Stub>(
        v1::ContentService::NewStub(grpc::CreateChannel(
            server->address(), grpc::InsecureChannelCredentials())));
    return [stub]() -> absl::Status {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
      v1::GetArticleRequest req;
      req.set_name("articles/x");
      v1::Article a;
      const grpc::Status s = stub->GetArticle(&ctx, req, &a);
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          s.error_message());
    };
  }));
}

// The same through the SDK with retries on (its default): a read that
// gRPC's server ends CANCELLED unrun as the stop begins is retried, so the
// program sees only UNAVAILABLE, which it can act on.
TEST(StopTest, SdkReadsDuringAStopFailOnlyUnavailable) {
  TempDir dir;
  auto server = StartHoldingX(dir);
  ASSERT_NE(server, nullptr);
  ExpectOnlyUnavailable(FailuresThroughAStop(server.get(), [&] {
    ClientOptions options;
    options.target = server->address();
    options.timeout = absl::Seconds(10);
    std::shared_ptr<Client> client = *Client::Connect(options);
    return [client] { return client->Get("x").status(); };
  }));
}

// A stop during a long retention pass ends the pass at its next article
// (each article's removal is whole) instead of waiting for its end, minutes
// at 1M articles: contentd stops well within the grace, logs that the pass
// stopped early, and the articles it had not reached keep their revisions
// for the next pass.
TEST(StopTest, AStopDuringARetentionPassEndsThePass) {
  TempDir dir;
  std::string config;
  auto server = StartWithGrace(dir, 30, &config);
  ASSERT_NE(server, nullptr);
  // Two revisions of each of kArticles articles, for retention to trim.
  constexpr int kArticles = 10000;
  const auto id = [](int i) { return absl::StrFormat("a%05d", i); };
  {
    auto client = Connect(server->address());
    for (const char* title : {"one", "two"}) {
      int next = 0;
      int failed = 0;
      absl::Status s = client->ImportArticles(
          [&](v1::ImportArticlesRequest* batch) {
            for (; next < kArticles && batch->articles_size() < 200; ++next) {
              v1::Article* a = batch->add_articles();
              a->set_title(absl::StrCat(title, " ", next));
              a->set_name(absl::StrCat("articles/", id(next)));
            }
            return batch->articles_size() > 0;
          },
          [&](const v1::ImportArticlesResponse& r) {
            for (const v1::ImportResult& x : r.results()) {
              if (x.outcome() == v1::ImportResult::OUTCOME_FAILED) ++failed;
            }
          });
      ASSERT_TRUE(s.ok()) << s;
      ASSERT_EQ(failed, 0);
    }
  }
  ASSERT_EQ(server->Stop(SIGTERM), 0) << server->Log();
  WriteFile(config,
            "shutdown_grace_seconds: 30\nretention_interval_ms: 100\n"
            "retention:\n  keep_revisions: 1\n");
  ASSERT_TRUE(server->Restart());
  auto client = Connect(server->address());
  // The pass has begun once the first article has lost revision 1.
  bool begun = false;
  for (int i = 0; i < 20000 && !begun; ++i) {
    begun = absl::IsNotFound(client->Get(id(0), 1).status());
    if (!begun) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(begun) << server->Log();
  const auto start = std::chrono::steady_clock::now();
  const int status = server->Stop(SIGTERM);
  const int64_t took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  EXPECT_TRUE(WIFEXITED(status)) << server->Log();
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0) << server->Log();
  EXPECT_THAT(server->Log(),
              HasSubstr("contentd: retention: CANCELLED: retention: stopped "
                        "before it finished"));
  EXPECT_THAT(server->Log(), HasSubstr("contentd: stopped cleanly"));
  // Far below the grace (30 s), with room for a loaded machine or a
  // sanitizer build.
  EXPECT_LT(took_ms, 8000) << server->Log();
  // The last article was not reached: it keeps revision 1, for the next
  // pass (none runs here: retention is off again).
  WriteFile(config, "shutdown_grace_seconds: 30\n");
  ASSERT_TRUE(server->Restart());
  client = Connect(server->address());
  EXPECT_TRUE(client->Get(id(kArticles - 1), 1).ok());
  EXPECT_TRUE(absl::IsNotFound(client->Get(id(0), 1).status()));
  // 20k revisions to check: on PostgreSQL with the machine loaded (CI
  // 12-05) more than the client's 10 s.
  CallOptions slow;
  slow.timeout = absl::Seconds(120);
  auto check = client->CheckStore({}, slow);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->ok()) << ::testing::PrintToString(check->problems());
}

TEST(StartupTest, PortsInUseAreRefusedAndTheFirstServerKeepsServing) {
  TempDir dir;
  auto first = ServerProcess::Start(dir.path() + "/a",
                                    {"--metrics-listen", "127.0.0.1:0"});
  ASSERT_NE(first, nullptr);
  const int metrics_port = MetricsPort(first->Log());
  ASSERT_GT(metrics_port, 0) << first->Log();
  // An ephemeral metrics port never shares the gRPC one.
  EXPECT_NE(metrics_port, first->port());
  {
    auto c = Connect(first->address());
    ASSERT_TRUE(Create(*c, "first", "first").ok());
  }
  const std::string grpc_address = first->address();
  const std::string metrics_address = absl::StrCat("127.0.0.1:", metrics_port);
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"--listen", grpc_address},
       "--listen: cannot listen on " + grpc_address + ": address in use"},
      {{"--listen", metrics_address},
       "--listen: cannot listen on " + metrics_address + ": address in use"},
      {{"--listen", "127.0.0.1:0", "--metrics-listen", grpc_address},
       "--metrics-listen: cannot listen on " + grpc_address +
           ": address in use"},
      {{"--listen", "127.0.0.1:0", "--metrics-listen", metrics_address},
       "--metrics-listen: cannot listen on " + metrics_address +
           ": address in use"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {ContentdBinary(), "--data-dir",
                                     dir.path() + "/b", "--port-file",
                                     dir.path() + "/b.port"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = RunCommand(argv, "", {}, kStartupTimeout);
    SCOPED_TRACE(c.error);
    EXPECT_FALSE(r.timed_out) << "a second contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.error));
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/b.port"));
    // Refused before the store is opened, so no data directory was made.
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/b"));
  }
  // The first server still answers, on new connections too.
  for (int i = 0; i < 5; ++i) {
    auto c = Connect(grpc_address);
    const absl::StatusOr<v1::Article> got = c->Get("first");
    EXPECT_TRUE(got.ok()) << i << ": " << got.status() << "\n" << first->Log();
  }
  httplib::Client http("127.0.0.1", metrics_port);
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("contentd_articles{state=\"live\"} 1"));
}

// A start that fails to bind leaves no data directory behind (it used to
// open, and so create, the store first) and leaves an existing one as it
// was.
// A data directory where no store can be made says why, not that the
// volume is full: /proc reports 0 bytes free, and contentd used to refuse
// it as "the volume has 0 bytes free".
TEST(StartupTest, ADataDirOnAPseudoFilesystemIsRefusedForWhatItIs) {
  auto r =
      RunCommand({ContentdBinary(), "--data-dir", "/proc/contentd-no-such-dir",
                  "--listen", "127.0.0.1:0", "--storage-engine", "rocksdb"},
                 "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("/proc/contentd-no-such-dir"));
  EXPECT_THAT(r.err, HasSubstr("No such file or directory"));
  EXPECT_THAT(r.err, Not(HasSubstr("bytes free")));
}

// Creates `articles` articles, a0, a1, ..., in a store at DIR/data and
// backs it up to `backup` (contentctl admin backup).
void StoreAndBackUp(const TempDir& dir, int articles,
                    const std::string& backup) {
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto client = Connect(server->address());
  for (int i = 0; i < articles; ++i) {
    ASSERT_TRUE(Create(*client, absl::StrCat("a", i), "kept").ok());
  }
  auto r = testing::Ctl(*server, {"admin", "backup", backup});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Runs contentd on the RocksDB store at `data` expecting it to refuse it:
// what it printed and its exit code (a failure if it served instead).
CommandResult StartRefused(const std::string& data) {
  CommandResult r =
      RunCommand({ContentdBinary(), "--data-dir", data, "--listen",
                  "127.0.0.1:0", "--storage-engine", "rocksdb"},
                 "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  return r;
}

// A restore by the book, `cp -a BACKUP DIR`, into a DIR that exists copies
// the backup to DIR/BACKUP: contentd served DIR as a new, empty store
// (last sequence 0) beside the backup, and clients saw every article gone.
// A directory that holds no store and is not empty is refused (exit 2, a
// configuration a restart meets again), naming the store one level down;
// nothing is created there. lost+found (a volume's root) is no content.
TEST(StartupTest, ANonEmptyDirectoryWithoutAStoreIsRefusedNotServedEmpty) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "a RocksDB data dir";
  }
  TempDir dir;
  const std::string backup = dir.path() + "/backup";
  ASSERT_NO_FATAL_FAILURE(StoreAndBackUp(dir, 1, backup));
  const std::string restored = dir.path() + "/restored";
  ASSERT_EQ(mkdir(restored.c_str(), 0755), 0);
  auto cp = RunCommand({"cp", "-a", backup, restored});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;

  auto r = StartRefused(restored);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--data-dir: " + restored +
                               " holds no store (no RocksDB CURRENT file) and "
                               "is not empty (backup)"));
  EXPECT_THAT(r.err,
              HasSubstr("serve it with --data-dir " + restored + "/backup"));
  EXPECT_FALSE(std::filesystem::exists(restored + "/CURRENT"));

  // Served as it says, the backup has the article.
  auto server = ServerProcess::Start(restored + "/backup");
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Connect(server->address())->Get("a0").ok());
  server.reset();

  // A volume's root holds lost+found: a new store starts there.
  const std::string root = dir.path() + "/volume";
  ASSERT_TRUE(std::filesystem::create_directories(root + "/lost+found"));
  EXPECT_NE(ServerProcess::Start(root), nullptr);
}

// A store RocksDB finds damaged at open (a table file gone, a MANIFEST that
// fails its checksum) is refused with exit 2, which the systemd unit does
// not restart (RestartPreventExitStatus=2): a restart meets the same damage.
// It exited 1, started again every 2 s for ever, and said nothing of what
// to do.
TEST(StartupTest, ADamagedStoreIsRefusedWithExit2AndWhatToDo) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "the files of a RocksDB data dir";
  }
  TempDir dir;
  const std::string backup = dir.path() + "/backup";
  // A backup flushes the memtables: its tables are files to damage.
  ASSERT_NO_FATAL_FAILURE(StoreAndBackUp(dir, 20, backup));
  // Copies, each damaged one way.
  const auto copy = [&](const std::string& name) {
    const std::string to = dir.path() + "/" + name;
    std::filesystem::copy(backup, to);
    return to;
  };
  const std::string no_table = copy("no-table");
  const std::string bad_manifest = copy("bad-manifest");
  int tables = 0;
  for (const auto& e : std::filesystem::directory_iterator(no_table)) {
    if (e.path().extension() == ".sst") {
      std::filesystem::remove(e.path());
      ++tables;
      break;
    }
  }
  ASSERT_EQ(tables, 1);
  bool damaged = false;
  for (const auto& e : std::filesystem::directory_iterator(bad_manifest)) {
    if (!absl::StartsWith(e.path().filename().string(), "MANIFEST-")) continue;
    const auto size = std::filesystem::file_size(e.path());
    ASSERT_GT(size, 64u);
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write("XXXXXXXX", 8);
    damaged = f.good();
  }
  ASSERT_TRUE(damaged);

  for (const std::string& data : {no_table, bad_manifest}) {
    SCOPED_TRACE(data);
    auto r = StartRefused(data);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("contentd: DATA_LOSS: opening " + data));
    EXPECT_THAT(r.err, HasSubstr("the store is damaged and a restart would "
                                 "meet the same damage: see what `contentd "
                                 "--check --data-dir " +
                                 data +
                                 "` reports, and restore the last "
                                 "backup"));
    EXPECT_THAT(r.err, Not(HasSubstr("serving on")));
    // The check it names says "not clean" (exit 1).
    auto check = RunCommand({ContentdBinary(), "--check", "--data-dir", data,
                             "--storage-engine", "rocksdb"},
                            "", {}, kStartupTimeout);
    EXPECT_EQ(check.exit_code, 1) << check.err;
    EXPECT_THAT(check.err, HasSubstr("DATA_LOSS"));
  }
  // The backup itself serves every article.
  auto server = ServerProcess::Start(backup);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Connect(server->address())->Get("a19").ok());
}

TEST(StartupTest, BindFailureCreatesNoDataDirAndLeavesAStoreAsItWas) {
  TempDir dir;
  HeldPort held;
  ASSERT_GT(held.port(), 0);
  const std::string busy = absl::StrCat("127.0.0.1:", held.port());
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"--listen", busy}, "--listen: cannot listen on " + busy},
      {{"--listen", "127.0.0.1:0", "--metrics-listen", busy},
       "--metrics-listen: cannot listen on " + busy},
  };
  for (const std::string& data : {dir.path() + "/new", dir.path() + "/x/y"}) {
    for (const Case& c : cases) {
      std::vector<std::string> argv = {ContentdBinary(), "--data-dir", data};
      argv.insert(argv.end(), c.args.begin(), c.args.end());
      auto r = RunCommand(argv, "", {}, kStartupTimeout);
      SCOPED_TRACE(data + ": " + c.error);
      EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
      EXPECT_EQ(r.exit_code, 1) << r.err;
      EXPECT_THAT(r.err, HasSubstr(c.error + ": address in use"));
      EXPECT_FALSE(std::filesystem::exists(data));
      EXPECT_FALSE(std::filesystem::exists(dir.path() + "/x"));
    }
  }

  // An existing store (RocksDB whatever the suite's engine: it is the
  // directory at stake) is neither opened nor changed.
  const std::string store = dir.path() + "/store";
  {
    auto server = ServerProcess::Start(store, {"--storage-engine", "rocksdb"});
    ASSERT_NE(server, nullptr);
    auto c = Connect(server->address());
    ASSERT_TRUE(Create(*c, "kept", "kept").ok());
    ASSERT_EQ(server->Stop(SIGTERM), 0);
  }
  const auto before = testing::DirectoryState(store);
  ASSERT_FALSE(before.empty());
  for (const Case& c : cases) {
    std::vector<std::string> argv = {ContentdBinary(), "--data-dir", store};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = RunCommand(argv, "", {}, kStartupTimeout);
    SCOPED_TRACE(c.error);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.error + ": address in use"));
    EXPECT_EQ(testing::DirectoryState(store), before);
  }
  auto server = ServerProcess::Start(store, {"--storage-engine", "rocksdb"});
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Connect(server->address())->Get("kept").ok());
}

// Whether `localhost` resolves to both 127.0.0.1 and ::1 here and ::1 can
// be bound (it often is only one of them).
bool LocalhostIsBothLoopbacks() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo("localhost", "0", &hints, &found) != 0) return false;
  bool v4 = false, v6 = false;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    v4 = v4 || ai->ai_family == AF_INET;
    v6 = v6 || ai->ai_family == AF_INET6;
  }
  freeaddrinfo(found);
  return v4 && v6 && HeldPort(AF_INET6).port() > 0;
}

// A client of localhost:P may reach ::1 or 127.0.0.1: contentd serves on
// both or refuses to start (gRPC alone starts if either binds).
TEST(StartupTest, ListenOnANameNeedsEveryAddressItResolvesTo) {
  if (!LocalhostIsBothLoopbacks()) {
    GTEST_SKIP() << "localhost is not both 127.0.0.1 and a bindable ::1 "
                    "here; listen_test covers the reservation itself";
  }
  TempDir dir;
  for (int family : {AF_INET6, AF_INET}) {
    HeldPort held(family);
    ASSERT_GT(held.port(), 0);
    const std::string address = absl::StrCat("localhost:", held.port());
    const std::string busy = family == AF_INET6
                                 ? absl::StrCat("[::1]:", held.port())
                                 : absl::StrCat("127.0.0.1:", held.port());
    auto r = RunCommand({ContentdBinary(), "--listen", address, "--data-dir",
                         dir.path() + "/data"},
                        "", {}, kStartupTimeout);
    SCOPED_TRACE(busy);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--listen: cannot listen on " + address +
                                 " (" + busy + "): address in use"));
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data"));
  }
  // Port 0: one port, served on both.
  const std::string port_file = dir.path() + "/port";
  CommandResult served;
  std::thread run([&] {
    served =
        RunCommand({ContentdBinary(), "--listen", "localhost:0", "--data-dir",
                    dir.path() + "/data", "--port-file", port_file},
                   "", {}, std::chrono::seconds(5));
  });
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    port = std::atoi(testing::ReadFile(port_file).c_str());
  }
  EXPECT_GT(port, 0);
  if (port > 0) {
    EXPECT_EQ(HeldPort(AF_INET, port).port(), 0) << "127.0.0.1 not served";
    EXPECT_EQ(HeldPort(AF_INET6, port).port(), 0) << "::1 not served";
    EXPECT_TRUE(
        Connect(absl::StrCat("127.0.0.1:", port))->Get("x").status().code() ==
        absl::StatusCode::kNotFound);
    EXPECT_TRUE(
        Connect(absl::StrCat("[::1]:", port))->Get("x").status().code() ==
        absl::StatusCode::kNotFound);
  }
  run.join();
  EXPECT_TRUE(served.timed_out) << served.err;
}

TEST(StartupTest, MetricsOnTheGrpcPortIsRefused) {
  TempDir dir;
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  auto r =
      RunCommand({ContentdBinary(), "--listen", address, "--metrics-listen",
                  address, "--data-dir", dir.path() + "/data"},
                 "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--metrics-listen: cannot listen on " + address +
                               ": address in use"));
}

TEST(StartupTest, MalformedOrOutOfRangeListenAddressesAreRefused) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"--listen", "127.0.0.1:99999"},
       "--listen: port must be 0-65535, got \"99999\""},
      {{"--listen", "127.0.0.1:65536"},
       "--listen: port must be 0-65535, got \"65536\""},
      {{"--listen", "127.0.0.1:-1"},
       "--listen: port must be 0-65535, got \"-1\""},
      {{"--listen", "bogus"}, "--listen: must be host:port"},
      {{"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:99999"},
       "--metrics-listen: port must be 0-65535, got \"99999\""},
      {{"--listen", "127.0.0.1:0", "--metrics-listen", "bogus"},
       "--metrics-listen: must be host:port"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {ContentdBinary(), "--data-dir", data};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = RunCommand(argv, "", {}, kStartupTimeout);
    SCOPED_TRACE(c.error);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.error));
    // Refused before the store is opened, so nothing was created.
    EXPECT_FALSE(std::filesystem::exists(data));
  }
}

// Runs contentd with `argv` and expects the usage error `error`: exit 2,
// before serving, and that line then the hint on stderr, nothing else.
void ExpectContentdUsageError(const std::vector<std::string>& argv,
                              const std::string& error) {
  auto r = RunCommand(argv, "", {}, kStartupTimeout);
  SCOPED_TRACE(error);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, error + "\nRun `contentd --help` for more information.\n");
}

// An unknown flag is said as contentctl says it, with the flag it looks
// like a slip of (common/did_you_mean.h): contentd said only "The
// following arguments were not expected: x --data-dri". An argument,
// which contentd takes none of, is named alone. Exit 2, nothing created.
TEST(StartupTest, UnknownFlagsAreNamedWithTheFlagMeant) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"--data-dri", data},
       "unknown flag \"--data-dri\" (did you mean "
       "\"--data-dir\"?)"},
      {{"--data-dir", data, "--max-tag=5"},
       "unknown flag \"--max-tag\" (did you mean \"--max-tags\"?)"},
      {{"--data-dir", data, "--Listen", "127.0.0.1:0"},
       "unknown flag \"--Listen\" (did you mean \"--listen\"?)"},
      {{"--data-dir", data, "--bogus"}, "unknown flag \"--bogus\""},
      // The hidden --clock-file is no suggestion.
      {{"--data-dir", data, "--clock"}, "unknown flag \"--clock\""},
      {{"--data-dir", data, "serve"},
       "unexpected argument \"serve\": contentd takes flags only"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {ContentdBinary()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ExpectContentdUsageError(argv, c.error);
    EXPECT_FALSE(std::filesystem::exists(data));
  }
}

// Every usage error of contentd reads as contentctl's do: the line naming
// the flag and the rule, then `Run `contentd --help` ...` (CLI11 said "Run
// with --help ..."). A flag followed by another flag in place of its value
// is named as contentctl names it: CLI11 took `--max-tags` as the data
// directory and then refused the 5, and served a directory named
// `--no-auth`. A flag that ends the line without its value says what value
// it needs (CLI11 said `--max-tags: 1 required INT missing`). The checks
// of the command line after the parse (an empty value, --repair without
// --check, a malformed --listen) printed `contentd: INVALID_ARGUMENT: ...`
// with no hint. Exit 2, nothing created.
TEST(StartupTest, UsageErrorsReadAsContentctlsDo) {
  TempDir dir;
  const std::string data = dir.path() + "/data";  // never made
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"--data-dir", data, "--max-tags", "abc"},
       "--max-tags: not a decimal integer: \"abc\""},
      {{"--data-dir", data, "--max-tags", "0"},
       "--max-tags: not in range 1 to 2147483647, got 0"},
      {{"--data-dir", data, "--max-tags"},
       "--max-tags: needs a value (a whole number)"},
      {{"--data-dir", data, "--durability"},
       "--durability: needs a value (sync or async)"},
      {{"--data-dir", data, "--listen"}, "--listen: needs a value"},
      {{"--data-dir", data, "-c"}, "-c: needs a value"},
      {{"--listen", "127.0.0.1:0", "--data-dir="}, "--data-dir: needs a value"},
      // Not only at the end: CLI11 took the next argument as the value,
      // and `--data-dir=$UNSET --no-auth` served a directory `--no-auth`.
      {{"--listen", "127.0.0.1:0", "--data-dir=", "--no-auth"},
       "--data-dir: needs a value"},
      {{"--data-dir", data, "--listen=", "127.0.0.1:0"},
       "--listen: needs a value"},
      {{"--data-dir", ""}, "--data-dir: must not be empty"},
      {{"--data-dir", data, "--repair"},
       "--repair: needs --check (contentd --check --repair --data-dir DIR "
       "checks a stopped store and rebuilds its indexes)"},
      {{"--data-dir", data, "--listen", "bogus"},
       "--listen: must be host:port (an IPv6 host in brackets), got "
       "\"bogus\""},
      {{"--data-dir", data, "--listen", "127.0.0.1:0", "--metrics-listen",
        "127.0.0.1:99999"},
       "--metrics-listen: port must be 0-65535, got \"99999\" in "
       "\"127.0.0.1:99999\""},
      {{"--data-dir", data, "--listen", "unix:" + dir.path() + "/s",
        "--port-file", dir.path() + "/port"},
       "--port-file: a unix socket has no port (--listen unix:" + dir.path() +
           "/s); leave out --port-file, or listen on host:port"},
      {{"--data-dir", data, "--durability", "nope"},
       "--durability: nope not in {sync,async}"},
      {{"--listen", "127.0.0.1:0", "--data-dir", "--max-tags", "5"},
       "--data-dir: needs a value, and \"--max-tags\" after it is a flag (to "
       "give a value that starts with -, write --data-dir=--max-tags)"},
      {{"--listen", "127.0.0.1:0", "--data-dir", "--no-auth"},
       "--data-dir: needs a value, and \"--no-auth\" after it is a flag (to "
       "give a value that starts with -, write --data-dir=--no-auth)"},
  };
  for (const Case& c : cases) {
    // In the test's directory, where a data directory named `--no-auth`
    // would be made.
    std::vector<std::string> argv = {"/bin/sh", "-c",
                                     "cd \"$0\" && exec \"$@\"", dir.path(),
                                     ContentdBinary()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ExpectContentdUsageError(argv, c.error);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  }
}

// An address of the config file's that contentd refuses names the file
// and the key, as its other keys do (`listen: must be host:port`, with no
// file, read as a flag's): an error of the file, with no usage hint.
TEST(StartupTest, AMalformedAddressInTheConfigNamesTheFileAndTheKey) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string config = dir.path() + "/contentd.yaml";
  for (const auto& [yaml, error] :
       std::vector<std::pair<std::string, std::string>>{
           {"listen: bogus\n",
            "config listen: must be host:port (an IPv6 host in brackets), "
            "got \"bogus\""},
           {"listen: 127.0.0.1:0\nmetrics_listen: 127.0.0.1:99999\n",
            "config metrics_listen: port must be 0-65535, got \"99999\" in "
            "\"127.0.0.1:99999\""}}) {
    SCOPED_TRACE(yaml);
    WriteFile(config, yaml);
    auto r =
        RunCommand({ContentdBinary(), "--config", config, "--data-dir", data},
                   "", {}, kStartupTimeout);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err, absl::StrCat("contentd: INVALID_ARGUMENT: ", config, ": ",
                                  error, "\n"));
    EXPECT_FALSE(std::filesystem::exists(data));
  }
}

// --max-tags and --max-page-size were narrowed to int unchecked:
// 2147483648 wrapped to INT_MIN, so every write was refused (--max-tags)
// or every page size was negative (--max-page-size); CLI11 also reads a
// number past int64 as INT64_MAX. Out of 1..INT_MAX is a usage error
// (exit 2, as for other bad flags), before anything is created.
// The postgres engine stores values up to 256 MiB articles (hex text in
// messages PostgreSQL caps at 1 GB): a larger --max-article-bytes with it,
// from flags or the file, stops contentd before it connects, instead of
// failing those writes one by one.
//
// Checks between settings that flags may give too named the config key
// whatever the user typed: `--storage-engine postgres` alone said
// `contentd: INVALID_ARGUMENT: storage.dsn: required when ...`, and
// `--max-article-bytes` past the cap `config limits.max_article_bytes`,
// with no config file given. Now a setting from a flag is named by the
// flag, a usage error (with the hint); one from the file by the file and
// its key, the file's error; and a setting the rule refers to alike. The
// rules run once the flags are applied, so a flag may complete the file
// (its storage.engine postgres, with --storage-dsn).
TEST(StartupTest, ChecksBetweenSettingsNameTheFlagOrTheFileThatGaveThem) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string nowhere = "host=127.0.0.1 port=1 connect_timeout=1";
  const std::string pg = dir.path() + "/pg.yaml";
  WriteFile(pg, "storage: {engine: postgres, dsn: '" + nowhere + "'}\n");
  const std::string big = dir.path() + "/big.yaml";
  WriteFile(big, "limits: {max_article_bytes: 536870912}\n");
  const std::string no_dsn = dir.path() + "/no-dsn.yaml";
  WriteFile(no_dsn, "storage: {engine: postgres}\n");
  const std::string message = dir.path() + "/message.yaml";
  WriteFile(message, "max_message_bytes: 16777216\n");
  const std::string pg_cap =
      ": its values travel as hex text in messages PostgreSQL caps at 1 GB";
  const std::vector<std::string> contentd = {ContentdBinary(), "--listen",
                                             "127.0.0.1:0", "--data-dir", data};
  const auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), contentd.begin(), contentd.end());
    return args;
  };
  // From flags: usage errors naming them.
  ExpectContentdUsageError(
      with({"--storage-engine", "postgres"}),
      "--storage-engine postgres: needs a libpq connection string, "
      "--storage-dsn DSN (or storage.dsn in the config file)");
  ExpectContentdUsageError(
      with({"--storage-engine", "postgres", "--storage-dsn", nowhere,
            "--max-article-bytes", "268435457"}),
      "--max-article-bytes: must be at most 268435456 (256 MiB) with "
      "--storage-engine postgres, got 268435457" +
          pg_cap);
  ExpectContentdUsageError(
      with({"--config", pg, "--max-article-bytes", "536870912"}),
      "--max-article-bytes: must be at most 268435456 (256 MiB) with "
      "storage.engine postgres in " +
          pg + ", got 536870912" + pg_cap);
  // From the file: the file's errors, naming the file and the key, and the
  // flag the rule refers to.
  for (const auto& [args, error] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--config", big, "--storage-engine", "postgres", "--storage-dsn",
             nowhere},
            big +
                ": config limits.max_article_bytes: must be at most 268435456 "
                "(256 MiB) with --storage-engine postgres, got 536870912" +
                pg_cap},
           {{"--config", no_dsn},
            no_dsn + ": config storage.dsn: required when storage.engine is "
                     "postgres (or give --storage-dsn)"},
           {{"--config", message, "--max-article-bytes", "33554432"},
            message +
                ": config max_message_bytes: must be 0 (4 x "
                "--max-article-bytes, at least 16 MiB) or at least 34603008 "
                "(16 MiB, and --max-article-bytes plus 1 MiB for the request "
                "around an article), got 16777216"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    auto r = RunCommand(with(args), "", {}, kStartupTimeout);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err, "contentd: INVALID_ARGUMENT: " + error + "\n");
  }
  // A flag completes the file: it gets as far as the database (none).
  auto r = RunCommand(with({"--config", no_dsn, "--storage-dsn", nowhere}), "",
                      {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cannot connect to PostgreSQL"));
  // With no flag and no file, the default data directory is named by the
  // flag that sets it, not as a key of a config file there is none of.
  r = RunCommand({"/bin/sh", "-c", "cd \"$0\" && exec \"$1\" --check",
                  dir.path(), ContentdBinary()},
                 "", {}, kStartupTimeout);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err,
            "contentd: INVALID_ARGUMENT: --data-dir: no store at ./data (no "
            "such directory)\n");
  EXPECT_FALSE(std::filesystem::exists(data));
}

// The store named the DSN by its key, `(storage.dsn)`, and the table
// `storage.table: ...`, whatever gave them (and libpq's reason, on two
// lines, is one now): a DSN from --storage-dsn was
// called `storage.dsn` although no config file had one. Named by the flag
// where the flag gave it, starting or checking, and the table by its flag
// where nothing gave it; by the key in the file from the file.
TEST(StartupTest, PostgresErrorsNameTheFlagThatGaveTheDsn) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string nowhere = "host=127.0.0.1 port=1 connect_timeout=1";
  const std::string pg = dir.path() + "/pg.yaml";
  WriteFile(pg, "storage: {engine: postgres, dsn: '" + nowhere + "'}\n");
  const std::string refused =
      "contentd: UNAVAILABLE: storage: cannot connect to PostgreSQL ";
  for (const auto& [args, named] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--listen", "127.0.0.1:0", "--data-dir", data, "--storage-engine",
             "postgres", "--storage-dsn", nowhere},
            "(--storage-dsn): "},
           {{"--check", "--storage-engine", "postgres", "--storage-dsn",
             nowhere},
            "(--storage-dsn): "},
           {{"--check", "--repair", "--storage-engine", "postgres",
             "--storage-dsn", nowhere},
            "(--storage-dsn): "},
           // From the file: its key, in the file.
           {{"--listen", "127.0.0.1:0", "--data-dir", data, "--config", pg},
            "(storage.dsn in " + pg + "): "},
           {{"--check", "--config", pg}, "(storage.dsn in " + pg + "): "},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    std::vector<std::string> argv = {ContentdBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv, "", {}, kStartupTimeout);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, ::testing::StartsWith(refused + named)) << r.err;
    // One line: libpq's second, tab-indented one joined to it.
    EXPECT_THAT(r.err, HasSubstr("Connection refused; Is the server running"));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // On a PostgreSQL that answers (the pg_* runs), a table that is not
  // there is named by its flag too.
  const std::string dsn = testing::TestPgDsn();
  if (dsn.empty()) return;
  auto r =
      RunCommand({ContentdBinary(), "--check", "--storage-engine", "postgres",
                  "--storage-dsn", dsn, "--storage-table", "kv_no_such_table"},
                 "", {}, kStartupTimeout);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, ::testing::StartsWith(
                         "contentd: INVALID_ARGUMENT: --storage-table: "
                         "no table kv_no_such_table in database "));
  EXPECT_THAT(r.err, HasSubstr(" (--storage-dsn): no store there\n"));

  // The table given by neither, the default contentd_kv, is named by its
  // flag, as the data directory is (`storage.table` named a key of a
  // config file there was none of); by the key where the file gives it. A
  // search_path of no schema finds no table without creating anything.
  const std::string nothing_found =
      dsn + " options='-c search_path=contentd_no_such_schema'";
  const std::string file = dir.path() + "/found.yaml";
  const std::string file_with_table = dir.path() + "/table.yaml";
  WriteFile(file,
            "storage: {engine: postgres, dsn: \"" + nothing_found + "\"}\n");
  WriteFile(file_with_table, "storage: {engine: postgres, dsn: \"" +
                                 nothing_found + "\", table: kv_of_file}\n");
  for (const auto& [args, named] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--storage-engine", "postgres", "--storage-dsn", nothing_found},
            "--storage-table: no table contentd_kv in database postgres "
            "(--storage-dsn)"},
           {{"--config", file},
            "--storage-table: no table contentd_kv in database postgres "
            "(storage.dsn in " +
                file + ")"},
           {{"--config", file_with_table},
            "storage.table: no table kv_of_file in database postgres "
            "(storage.dsn in " +
                file_with_table + ")"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    std::vector<std::string> argv = {ContentdBinary(), "--check"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto check = RunCommand(argv, "", {}, kStartupTimeout);
    EXPECT_EQ(check.exit_code, 2) << check.err;
    EXPECT_EQ(check.err,
              "contentd: INVALID_ARGUMENT: " + named + ": no store there\n");
  }
}

TEST(StartupTest, OutOfRangeLimitFlagsAreRefused) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"--max-tags", "2147483648"},
           {"--max-tags", "99999999999999999999"},
           {"--max-tags", "0"},
           {"--max-page-size", "2147483648"},
           {"--max-page-size", "4294967296"},
           {"--max-page-size", "-1"},
       }) {
    std::vector<std::string> argv = {ContentdBinary(), "--listen",
                                     "127.0.0.1:0", "--data-dir", data};
    argv.insert(argv.end(), args.begin(), args.end());
    SCOPED_TRACE(args[0] + " " + args[1]);
    auto r = RunCommand(argv, "", {}, kStartupTimeout);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(args[0]));
    EXPECT_FALSE(std::filesystem::exists(data));
  }
  // The largest int is allowed.
  auto server = ServerProcess::Start(
      data, {"--max-tags", "2147483647", "--max-page-size", "2147483647"});
  ASSERT_NE(server, nullptr);
  // More tags than the default limit (64).
  auto client = Connect(server->address());
  v1::CreateArticleRequest req;
  req.set_article_id("fits");
  *req.mutable_article() = Article("fits");
  for (int i = 0; i < 100; ++i)
    req.mutable_article()->add_tags(absl::StrCat("t", i));
  absl::StatusOr<v1::Article> created = client->CreateArticle(req);
  EXPECT_TRUE(created.ok()) << created.status();
}

// A list limit lowered under stored content (--max-tags 64 -> 3): the
// stored article re-applies unchanged, and updates that do not grow a list
// pass, through UpdateArticle and ImportArticles alike; growing a list past
// the stored count, and new content past the limit, are refused naming the
// field. Every list limit (tags, categories, lang, translations, widgets)
// follows the same rule.
TEST(LimitsTest, ALoweredListLimitStillTakesStoredContentUnchanged) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  v1::Article stored = Article("many lists");
  stored.clear_tags();
  for (int i = 0; i < 6; ++i) {
    stored.add_tags(absl::StrCat("t", i));
    stored.add_categories(absl::StrCat("c", i));
    stored.add_widgets(absl::StrCat("w", i));
  }
  {
    auto server = ServerProcess::Start(data);
    ASSERT_NE(server, nullptr);
    auto client = Connect(server->address());
    v1::CreateArticleRequest req;
    req.set_article_id("many");
    *req.mutable_article() = stored;
    absl::StatusOr<v1::Article> created = client->CreateArticle(req);
    ASSERT_TRUE(created.ok()) << created.status();
  }
  auto server = ServerProcess::Start(data, {"--max-tags", "3"});
  ASSERT_NE(server, nullptr);
  auto client = Connect(server->address());
  auto update = [&](const v1::Article& a) {
    v1::UpdateArticleRequest req;
    *req.mutable_article() = a;
    req.mutable_article()->set_name(ArticleName("many"));
    return client->UpdateArticle(req);
  };
  // Unchanged: no new revision.
  absl::StatusOr<v1::Article> same = update(stored);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->revision(), 1);
  // Shorter lists, still over the limit: a new revision.
  v1::Article shorter = stored;
  shorter.mutable_tags()->RemoveLast();
  shorter.mutable_widgets()->RemoveLast();
  absl::StatusOr<v1::Article> updated = update(shorter);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revision(), 2);
  EXPECT_EQ(updated->tags_size(), 5);
  // Growing a list past what is stored.
  v1::Article grown = shorter;
  grown.add_categories("c6");
  absl::StatusOr<v1::Article> refused = update(grown);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("article.categories: at most 6 entries (the stored "
                        "revision's count; the limit for new content is 3), "
                        "got 7"));
  // The import path (contentctl apply of many files) takes the same rule.
  std::vector<v1::ImportResult> results;
  int batches = 0;
  absl::Status imported = client->ImportArticles(
      [&](v1::ImportArticlesRequest* req) {
        if (batches++ > 0) return false;
        *req->add_articles() = shorter;
        req->mutable_articles(0)->set_name(ArticleName("many"));
        *req->add_articles() = stored;
        req->mutable_articles(1)->set_name(ArticleName("new-one"));
        return true;
      },
      [&](const v1::ImportArticlesResponse& r) {
        for (const v1::ImportResult& x : r.results()) results.push_back(x);
      });
  ASSERT_TRUE(imported.ok()) << imported;
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome(), v1::ImportResult::OUTCOME_UNCHANGED)
      << results[0].ShortDebugString();
  EXPECT_EQ(results[1].outcome(), v1::ImportResult::OUTCOME_FAILED);
  EXPECT_THAT(results[1].error(),
              HasSubstr("articles[1].tags: at most 3 entries, got 6"));
  // New content obeys the limit.
  v1::CreateArticleRequest req;
  req.set_article_id("new-one");
  *req.mutable_article() = stored;
  absl::StatusOr<v1::Article> created = client->CreateArticle(req);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(created.status().message(),
              HasSubstr("article.tags: at most 3 entries, got 6"));
}

// CLI11 alone reads integer flags with strtoll base 0: `--max-page-size 010`
// served pages of 8, and `0x10` was 16. They read decimal, leading zeros
// too; another base, an exponent, a fraction or a '+' is a usage error
// (exit 2) before anything is created.
TEST(StartupTest, IntegerFlagsAreDecimal) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  for (const char* flag :
       {"--max-article-bytes", "--max-tags", "--max-page-size"}) {
    for (const char* value : {"0x10", "1e3", "16.0", "+16"}) {
      SCOPED_TRACE(absl::StrCat(flag, " ", value));
      auto r = RunCommand({ContentdBinary(), "--listen", "127.0.0.1:0",
                           "--data-dir", data, flag, value},
                          "", {}, kStartupTimeout);
      EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
      EXPECT_EQ(r.exit_code, 2) << r.err;
      EXPECT_THAT(r.err, HasSubstr(absl::StrCat(flag,
                                                ": not a decimal "
                                                "integer: \"",
                                                value, "\"")));
      EXPECT_FALSE(std::filesystem::exists(data));
    }
    // Past the flag's range (and int64's): the range, as contentctl says.
    auto r = RunCommand({ContentdBinary(), "--listen", "127.0.0.1:0",
                         "--data-dir", data, flag, "99999999999999999999"},
                        "", {}, kStartupTimeout);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat(flag, ": not in range 1 to ")));
    EXPECT_THAT(r.err, HasSubstr(", got 99999999999999999999"));
    EXPECT_FALSE(std::filesystem::exists(data));
  }
  auto server =
      ServerProcess::Start(data, {"--max-page-size", "010", "--max-tags", "010",
                                  "--max-article-bytes", "0100000"});
  ASSERT_NE(server, nullptr);
  auto client = Connect(server->address());
  // Ten tags fit (octal 010 would have allowed eight), eleven do not.
  v1::CreateArticleRequest req;
  req.set_article_id("ten-tags");
  *req.mutable_article() = Article("ten tags");
  for (int i = 1; i < 10; ++i)
    req.mutable_article()->add_tags(absl::StrCat("t", i));
  EXPECT_TRUE(client->CreateArticle(req).ok());
  req.set_article_id("eleven-tags");
  req.mutable_article()->add_tags("t10");
  EXPECT_EQ(client->CreateArticle(req).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (int i = 0; i < 11; ++i) {
    ASSERT_TRUE(Create(*client, absl::StrCat("page", i), "page").ok());
  }
  // A page is at most 10 articles; an article at most 100000 bytes.
  v1::QueryArticlesRequest query;
  query.mutable_query()->add_tags("ops");
  query.set_page_size(100);
  absl::StatusOr<v1::QueryArticlesResponse> page = client->QueryArticles(query);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->articles_size(), 10);
  req.set_article_id("large");
  *req.mutable_article() = Article("large");
  req.mutable_article()->set_body(std::string(100001, 'x'));
  EXPECT_EQ(client->CreateArticle(req).status().code(),
            absl::StatusCode::kInvalidArgument);
  req.mutable_article()->set_body(std::string(90000, 'x'));
  EXPECT_TRUE(client->CreateArticle(req).ok());
}

// --max-article-bytes had no upper bound: above 2^61 the gRPC receive
// limit, 4 x max_article_bytes, overflowed (undefined behaviour). It takes
// 1 to 1 GiB, as limits.max_article_bytes does.
TEST(StartupTest, OutOfRangeMaxArticleBytesIsRefused) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  for (const char* bytes :
       {"1073741825", "2305843009213693952", "99999999999999999999"}) {
    SCOPED_TRACE(bytes);
    auto r = RunCommand({ContentdBinary(), "--listen", "127.0.0.1:0",
                         "--data-dir", data, "--max-article-bytes", bytes},
                        "", {}, kStartupTimeout);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--max-article-bytes"));
    EXPECT_THAT(r.err, HasSubstr("1073741824"));
    EXPECT_FALSE(std::filesystem::exists(data));
  }
  // The postgres engine takes at most 256 MiB
  // (StartupTest.PostgresRefusesArticlesPastItsCap).
  auto server = ServerProcess::Start(
      data, {"--max-article-bytes",
             testing::TestEngineIsPostgres() ? "268435456" : "1073741824"});
  EXPECT_NE(server, nullptr);
}

TEST(StartupTest, CheckOfAPathWithNoStoreFailsAndCreatesNothing) {
  TempDir dir;
  const std::string missing = dir.path() + "/missing";
  for (std::vector<std::string> flags :
       {std::vector<std::string>{"--check"}, {"--check", "--repair"}}) {
    std::vector<std::string> argv = {ContentdBinary()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--data-dir", missing});
    auto r = RunCommand(argv, "", {}, kStartupTimeout);
    SCOPED_TRACE(::testing::PrintToString(flags));
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("--data-dir: no store at " + missing +
                                 " (no such directory)"));
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("clean")));
    EXPECT_FALSE(std::filesystem::exists(missing));
  }
  // A directory that exists but holds no store: refused, and left empty.
  const std::string empty = dir.path() + "/empty";
  std::filesystem::create_directory(empty);
  auto r = RunCommand({ContentdBinary(), "--check", "--data-dir", empty}, "",
                      {}, kStartupTimeout);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("--data-dir: no store at " + empty));
  EXPECT_TRUE(std::filesystem::is_empty(empty));
}

// A store a running server holds is not a damaged store: exit 2 and say
// so, where 1 would read as "not clean".
TEST(StartupTest, CheckOfAStoreInUseSaysSo) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "--check of a RocksDB data dir";
  }
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  auto r = RunCommand(
      {ContentdBinary(), "--check", "--data-dir", dir.path() + "/data"}, "", {},
      kStartupTimeout);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("is in use by a running contentd"));
}

// Writes 20 articles (bodies in blob files, an update, a delete) through
// `server`, for the checks below.
void PopulateForCheck(ServerProcess& server, const std::string& prefix) {
  auto c = Connect(server.address());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Create(*c, absl::StrCat(prefix, i), absl::StrCat("t", i)).ok());
  }
  v1::UpdateArticleRequest update;
  *update.mutable_article() = Article("updated");
  update.mutable_article()->set_name(absl::StrCat("articles/", prefix, 0));
  ASSERT_TRUE(c->UpdateArticle(update).ok());
  v1::DeleteArticleRequest del;
  del.set_name(absl::StrCat("articles/", prefix, 1));
  ASSERT_TRUE(c->DeleteArticle(del).ok());
}

// --repair is a modifier of --check ("With --check"): alone it used to run
// a read-write check and repair. It is a usage error naming both flags,
// refused before the store is opened, so not a byte changes.
TEST(StartupTest, RepairWithoutCheckIsUsageErrorAndChangesNothing) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "data-dir files of a RocksDB store";
  }
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto server = ServerProcess::Start(data);
  ASSERT_NE(server, nullptr);
  PopulateForCheck(*server, "r");
  server->Stop(SIGTERM);
  const std::map<std::string, std::string> before =
      testing::DirectoryState(data);
  auto r = RunCommand({ContentdBinary(), "--repair", "--data-dir", data}, "",
                      {}, kStartupTimeout);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("--repair: needs --check"));
  EXPECT_THAT(r.err, HasSubstr("contentd --check --repair"));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(testing::DirectoryState(data), before);
  // Nor is a missing directory created.
  const std::string missing = dir.path() + "/missing";
  r = RunCommand({ContentdBinary(), "--repair", "--data-dir", missing}, "", {},
                 kStartupTimeout);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("--repair: needs --check"));
  EXPECT_FALSE(std::filesystem::exists(missing));
}

// A start after a kill -9 says so, naming the killed run's pid: RocksDB's
// recovery from the write-ahead log was silent, and `last sequence N` alone
// did not tell a crash from a stop. After a clean stop nothing is said.
TEST(StartupTest, AStartAfterAKillSaysTheLastRunDidNotStopCleanly) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "the pid file of a RocksDB data dir";
  }
  TempDir dir;
  auto server = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(Create(*Connect(server->address()), "kept", "kept").ok());
  const std::string said = "did not stop cleanly";
  EXPECT_THAT(server->Log(), Not(HasSubstr(said)));
  const pid_t killed = server->pid();
  server->Stop(SIGKILL);
  ASSERT_TRUE(server->Restart());
  EXPECT_THAT(server->Log(),
              HasSubstr(absl::StrCat(
                  "contentd: the last run (pid ", killed,
                  ") did not stop cleanly (killed or crashed); the store was "
                  "recovered from its write-ahead log\n")));
  EXPECT_TRUE(Connect(server->address())->Get("kept").ok());
  server->Stop(SIGTERM);
  const size_t before = server->Log().size();
  ASSERT_TRUE(server->Restart());
  const std::string after = server->Log().substr(before);
  EXPECT_THAT(after, HasSubstr("contentd: serving on "));
  EXPECT_THAT(after, Not(HasSubstr(said)));
}

// `contentd --check` opens the store read-only: not a byte of the data
// directory changes (no MANIFEST, OPTIONS or LOG file, no flush, no lock),
// after a clean stop and after a kill -9 (whose WAL the check replays in
// memory only), and the report is the same each time it runs.
TEST(StartupTest, CheckChangesNothingInTheDataDirectory) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "--check of a RocksDB data dir";
  }
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto server = ServerProcess::Start(data);
  ASSERT_NE(server, nullptr);
  PopulateForCheck(*server, "a");
  for (const int signal : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(signal == SIGTERM ? "stopped" : "killed");
    if (signal == SIGKILL) {
      ASSERT_TRUE(server->Restart());
      PopulateForCheck(*server, "b");
    }
    server->Stop(signal);
    const std::map<std::string, std::string> before =
        testing::DirectoryState(data);
    ASSERT_GT(before.size(), 5u);
    std::string first_report;
    for (int run = 0; run < 2; ++run) {
      auto r = RunCommand({ContentdBinary(), "--check", "--data-dir", data}, "",
                          {}, kStartupTimeout);
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
      EXPECT_THAT(r.out, HasSubstr("clean"));
      EXPECT_THAT(r.out, HasSubstr(signal == SIGTERM ? "articles 20,"
                                                     : "articles 40,"));
      if (run == 0) first_report = r.out;
      EXPECT_EQ(r.out, first_report);
      EXPECT_EQ(testing::DirectoryState(data), before);
    }
  }
  // --repair still opens read-write, and the store still serves.
  auto r =
      RunCommand({ContentdBinary(), "--check", "--repair", "--data-dir", data},
                 "", {}, kStartupTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(server->Restart());
  EXPECT_TRUE(Connect(server->address())->Get("b19").ok());
}

// A backup on a read-only mount, or a directory the checking user cannot
// write, checks clean and stays as it was. Root writes through missing
// write permissions, so there only the unchanged files are asserted.
TEST(StartupTest, CheckOfAReadOnlyDirectorySucceeds) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "--check of a RocksDB data dir";
  }
  TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    auto server = ServerProcess::Start(data);
    ASSERT_NE(server, nullptr);
    PopulateForCheck(*server, "a");
    server->Stop(SIGTERM);
  }
  namespace fs = std::filesystem;
  auto set_writable = [&data](bool writable) {
    const fs::perm_options how =
        writable ? fs::perm_options::add : fs::perm_options::remove;
    const fs::perms write = fs::perms::owner_write | fs::perms::group_write |
                            fs::perms::others_write;
    fs::permissions(data, write, how);
    for (const auto& e : fs::recursive_directory_iterator(data))
      fs::permissions(e.path(), write, how);
  };
  set_writable(false);
  const std::map<std::string, std::string> before =
      testing::DirectoryState(data);
  if (geteuid() != 0) {
    EXPECT_NE(access(data.c_str(), W_OK), 0) << "the directory is read-only";
  }
  auto r = RunCommand({ContentdBinary(), "--check", "--data-dir", data}, "", {},
                      kStartupTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles 20,"));
  EXPECT_THAT(r.out, HasSubstr("clean"));
  EXPECT_EQ(testing::DirectoryState(data), before);
  set_writable(true);  // so that TempDir can remove it
}

// A unix socket has no port to write (it used to write "1"): refused as a
// usage error naming both settings, before anything is created.
TEST(StartupTest, PortFileWithAUnixSocketIsRefused) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string port_file = dir.path() + "/port";
  const std::string socket = "unix:" + dir.path() + "/contentd.sock";
  auto r = RunCommand({ContentdBinary(), "--listen", socket, "--data-dir", data,
                       "--port-file", port_file},
                      "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--port-file: a unix socket has no port "
                               "(--listen " +
                               socket + ")"));
  // From the config file, the key is named.
  WriteFile(dir.path() + "/contentd.yaml", "listen: " + socket + "\n");
  r = RunCommand({ContentdBinary(), "--config", dir.path() + "/contentd.yaml",
                  "--data-dir", data, "--port-file", port_file},
                 "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--port-file: a unix socket has no port "
                               "(listen " +
                               socket + ")"));
  EXPECT_FALSE(std::filesystem::exists(port_file));
  EXPECT_FALSE(std::filesystem::exists(data));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/contentd.sock"));
}

// A second contentd on a unix socket a running one answers on is refused
// as on a TCP port in use; it used to replace the socket (clients reached
// the wrong store) and remove it on exit (the first became unreachable).
TEST(StartupTest, AUnixSocketInUseIsRefused) {
  TempDir dir;
  const std::string socket = "unix:" + dir.path() + "/contentd.sock";
  const std::string binary = ContentdBinary();
  const std::string data_a = dir.path() + "/a";
  const pid_t first = fork();
  ASSERT_GE(first, 0);
  if (first == 0) {
    execl(binary.c_str(), binary.c_str(), "--listen", socket.c_str(),
          "--data-dir", data_a.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto get = [&] {
    return RunCommand({testing::ContentctlBinary(), "--server", socket,
                       "--timeout", "5s", "get", "first"},
                      "", {}, std::chrono::seconds(20));
  };
  // Serving once a write goes through.
  WriteFile(dir.path() + "/first.md", "---\ntitle: A\n---\nbody\n");
  testing::CommandResult put;
  for (int i = 0; i < 100; ++i) {
    put =
        RunCommand({testing::ContentctlBinary(), "--server", socket,
                    "--timeout", "5s", "apply", "-f", dir.path() + "/first.md"},
                   "", {}, std::chrono::seconds(20));
    if (put.exit_code == 0) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(put.exit_code, 0) << put.err;

  auto r =
      RunCommand({binary, "--listen", socket, "--data-dir", dir.path() + "/b"},
                 "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "a second contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--listen: cannot listen on " + socket +
                               ": address in use"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/b"));
  // The first still answers, with its article.
  auto got = get();
  EXPECT_EQ(got.exit_code, 0) << got.err;
  kill(first, SIGTERM);
  int status = 0;
  waitpid(first, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// An empty value given on purpose (`--data-dir "$UNSET"`) is a usage error
// naming the flag; it was taken as not given, and served ./data.
// A config file that cannot be read is a config error (exit 2, as for a
// bad key in it) and says why; it was exit 1 with "cannot read PATH" alone.
TEST(StartupTest, AnUnreadableConfigFileSaysWhy) {
  TempDir dir;
  auto r = RunCommand({ContentdBinary(), "--config", dir.path() + "/gone.yaml",
                       "--data-dir", dir.path() + "/never"},
                      "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("config: cannot read " + dir.path() +
                               "/gone.yaml: No such file or directory"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/never"));
}

TEST(StartupTest, EmptyFlagValuesAreRefused) {
  TempDir dir;
  for (const char* flag : {"--data-dir", "--listen", "--config", "--port-file",
                           "--storage-table"}) {
    auto r = RunCommand({ContentdBinary(), flag, ""}, "", {}, kStartupTimeout);
    SCOPED_TRACE(flag);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(std::string(flag) + ": must not be empty"));
  }
  // It served, with the config's metrics_listen (or none): a script's
  // `--metrics-listen "$ADDR"` with ADDR unset was dropped without a word.
  auto r = RunCommand({ContentdBinary(), "--metrics-listen", "", "--listen",
                       "127.0.0.1:0", "--data-dir", dir.path() + "/never"},
                      "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--metrics-listen: must not be empty"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/never"));
}

// contentd --hash-token reads one line: a Windows line end (\r\n) is not
// part of the token, as the SDK drops it too.
TEST(StartupTest, HashTokenDropsTheLineEnd) {
  auto unix_end = RunCommand({ContentdBinary(), "--hash-token"}, "tok\n");
  auto windows_end = RunCommand({ContentdBinary(), "--hash-token"}, "tok\r\n");
  ASSERT_EQ(unix_end.exit_code, 0) << unix_end.err;
  EXPECT_EQ(windows_end.out, unix_end.out);
}

// A token that clients refuse to send (control characters, bytes that are
// not ASCII) gets no hash: one would match nothing.
TEST(StartupTest, HashTokenRefusesATokenNoClientSends) {
  for (const std::string token : {"a b\x01\n", "caf\xc3\xa9\n"}) {
    auto r = RunCommand({ContentdBinary(), "--hash-token"}, token);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_THAT(r.err, HasSubstr("token: contains")) << r.err;
  }
  auto spaced = RunCommand({ContentdBinary(), "--hash-token"}, "a b\n");
  EXPECT_EQ(spaced.exit_code, 0) << spaced.err;  // printable ASCII is fine
}

// A token that starts with a space got a hash, and contentctl sent it, but
// contentd reads the spaces after `Bearer` as the separator: the token it
// hashed had none, and no call with it was ever authenticated.
TEST(StartupTest, ATokenStartingWithASpaceIsRefusedEverywhere) {
  auto r = RunCommand({ContentdBinary(), "--hash-token"}, " tok\n");
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_THAT(r.err, HasSubstr("token: starts with a space")) << r.err;
  // contentctl refuses it before dialling, naming the flag, not the token.
  r = RunCommand({testing::ContentctlBinary(), "--server", "127.0.0.1:1",
                  "--token", " s3cret", "query"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--token: starts with a space")) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("s3cret")));
  // Spaces inside or after it are carried as they are.
  r = RunCommand({ContentdBinary(), "--hash-token"}, "t ok \n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A port file whose folder is missing, or is a file, is refused before
// contentd serves, as the flag's error (exit 2, which systemd does not
// restart), saying what is wrong with the folder. It was exit 1, saying
// "is not a directory" of a folder that does not exist.
TEST(StartupTest, UnwritablePortFileStopsTheServer) {
  TempDir dir;
  WriteFile(dir.path() + "/file", "");
  for (const auto& [port_file, why] :
       std::vector<std::pair<std::string, std::string>>{
           {dir.path() + "/no/such/dir/port",
            "its folder " + dir.path() +
                "/no/such/dir: No such file or directory"},
           {dir.path() + "/file/port", dir.path() + "/file is not a folder"}}) {
    auto r =
        RunCommand({ContentdBinary(), "--listen", "127.0.0.1:0", "--data-dir",
                    dir.path() + "/data", "--port-file", port_file},
                   "", {}, kStartupTimeout);
    EXPECT_FALSE(r.timed_out) << "contentd served on:\n" << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err, "--port-file: cannot write " + port_file + ": " + why +
                         "\nRun `contentd --help` for more information.\n");
    // Found before the store is opened (and its directory made).
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data"));
  }
}

// A port file that cannot be written once contentd serves (here the name is
// a directory, so the file written beside it cannot be renamed into place)
// stops contentd as a signal does: a call in progress gets the grace, then
// UNAVAILABLE "contentd is stopping", which its client may retry. The stop
// was gRPC's plain Shutdown, whose cut at the grace's end said only
// "Cancelling all calls".
TEST(StartupTest, APortFileThatCannotBeWrittenStopsAsASignalDoes) {
  TempDir dir;
  const std::string config = dir.path() + "/contentd.yaml";
  WriteFile(config, "shutdown_grace_seconds: 1\n");
  const std::string port_file = dir.path() + "/port";
  ASSERT_TRUE(std::filesystem::create_directory(port_file));
  // contentd writes the port to port.tmp, then renames it to port: a FIFO
  // there holds it, serving, until the test reads the port from it.
  ASSERT_EQ(mkfifo((port_file + ".tmp").c_str(), 0600), 0);
  const int port = FreePort();
  ASSERT_NE(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  std::unique_ptr<testing::BackgroundCommand> contentd =
      testing::BackgroundCommand::Start(
          {ContentdBinary(), "--listen", address, "--data-dir",
           dir.path() + "/data", "--port-file", port_file, "--config", config},
          dir.path() + "/out", dir.path() + "/err");
  ASSERT_NE(contentd, nullptr);
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(30)))
      << testing::ReadFile(dir.path() + "/err");
  auto stub = v1::ContentService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->ImportArticles(&ctx);
  ASSERT_TRUE(stream->Write(ImportBatch("before")));
  v1::ImportArticlesResponse answer;
  ASSERT_TRUE(stream->Read(&answer));  // the server has the call

  std::string written;
  {
    std::ifstream fifo(port_file + ".tmp");
    std::getline(fifo, written);
  }
  EXPECT_EQ(written, std::to_string(port));
  EXPECT_FALSE(stream->Read(&answer));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_EQ(status.error_message(),
            "contentd is stopping; retry on another replica or after "
            "restart");
  CommandResult r = contentd->Wait(std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--port-file: cannot rename " + port_file +
                               ".tmp to " + port_file + ": "));
  EXPECT_THAT(r.err, HasSubstr("1 calls still running at the end of the "
                               "grace (1s): ending them with UNAVAILABLE"));
}

// A data directory another contentd holds is refused plainly (it was
// RocksDB's "IO error: While lock file: .../LOCK: Resource temporarily
// unavailable").
TEST(StartupTest, ADataDirectoryInUseIsRefusedPlainly) {
  if (testing::TestEngineIsPostgres()) {
    GTEST_SKIP() << "a RocksDB data directory's lock";
  }
  TempDir dir;
  auto first = ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(first, nullptr);
  auto r = RunCommand({ContentdBinary(), "--listen", "127.0.0.1:0",
                       "--data-dir", dir.path() + "/data"},
                      "", {}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "a second contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--data-dir: " + dir.path() +
                               "/data is in use by a running contentd"));
}

// Threads the process cannot start are an error naming write_threads and the
// limit, exit 1 (std::thread's std::system_error used to abort contentd,
// SIGABRT, after the store had opened): a writer, and the watch hub's,
// export hub's or scheduler's threads after all the writers started
// (ContentService::Create; each leaves the others' threads to be joined).
// Runs the real binary under a lowered RLIMIT_NPROC (prlimit); as root,
// which the limit does not bind, as the user nobody (setpriv). One test, so
// that no other contentd of nobody's runs meanwhile; and one run of it at a
// time on the machine (a lock file): ops_test and pg_ops_test run it in
// parallel, and each one's contentd counted against the other's limit.
TEST(StartupTest, ThreadsPastTheProcessLimitAreAClearError) {
  const bool root = geteuid() == 0;
  const uid_t uid = root ? 65534 : geteuid();
  for (const char* tool : {"/usr/bin/prlimit", "/usr/bin/setpriv"}) {
    if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " is not installed";
  }
  const int lock = open("/tmp/contentd-test-nproc.lock",
                        O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
  ASSERT_GE(lock, 0) << std::strerror(errno);
  absl::Cleanup unlock = [lock] { close(lock); };  // and with it the lock
  ASSERT_EQ(flock(lock, LOCK_EX), 0) << std::strerror(errno);
  TempDir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  std::vector<std::string> prefix;
  if (root) {
    prefix = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
              "--clear-groups"};
    // nobody must reach the directory (TMPDIR may be private to root).
    auto probe = RunCommand({prefix[0], prefix[1], prefix[2], prefix[3],
                             "/bin/sh", "-c", "test -w \"$0\"", dir.path()});
    if (probe.exit_code != 0)
      GTEST_SKIP() << "nobody cannot write " << dir.path();
  }
  // RLIMIT_NPROC counts the user's threads: room for contentd's first few
  // dozen beyond those the user runs now, not for 512 writers.
  int running = 0;
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    struct stat st;
    if (stat(proc.path().c_str(), &st) != 0 || st.st_uid != uid) continue;
    for (auto it =
             std::filesystem::directory_iterator(proc.path() / "task", ec);
         !ec && it != std::filesystem::directory_iterator(); ++it) {
      ++running;
    }
  }
  const int limit = running + 60;
  const std::string limit_text = absl::StrCat(
      "at most ", limit, " processes and threads (RLIMIT_NPROC, ulimit -u)");
  // contentd with `write_threads` on a fresh data directory.
  auto run = [&](int write_threads) {
    const std::string base = absl::StrCat(dir.path(), "/", write_threads);
    WriteFile(base + ".yaml",
              absl::StrCat("write_threads: ", write_threads, "\n"));
    std::filesystem::permissions(base + ".yaml", std::filesystem::perms::all);
    std::vector<std::string> argv = prefix;
    for (const std::string& a :
         {std::string("/usr/bin/prlimit"), absl::StrCat("--nproc=", limit),
          ContentdBinary(), std::string("--listen"), std::string("127.0.0.1:0"),
          std::string("--data-dir"), base + ".data", std::string("--config"),
          base + ".yaml"}) {
      argv.push_back(a);
    }
    return RunCommand(argv, "", {}, kStartupTimeout);
  };
  auto r = run(512);
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("write_threads: cannot start thread"));
  EXPECT_THAT(r.err, HasSubstr(" of 512 "));
  EXPECT_THAT(r.err, HasSubstr(limit_text));

  // The writers that started: with one, two and three fewer, the first
  // thread refused is one of the watch hub's, the export hub's and the
  // scheduler's, each later in ContentService's construction.
  const size_t at = r.err.find("cannot start thread ");
  ASSERT_NE(at, std::string::npos);
  const int refused = std::atoi(r.err.c_str() + at + 20);
  ASSERT_GT(refused, 3) << r.err;
  for (int w = refused - 1; w >= refused - 3; --w) {
    SCOPED_TRACE(absl::StrCat("write_threads: ", w));
    r = run(w);
    EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err,
                HasSubstr(absl::StrCat("cannot start the service's threads "
                                       "after its ",
                                       w, " write_threads")));
    EXPECT_THAT(r.err, HasSubstr(limit_text));
  }
}

// A bound datagram socket for $NOTIFY_SOCKET, as systemd's.
class NotifyListener {
 public:
  explicit NotifyListener(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof(addr.sun_path)) return;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifyListener() {
    if (fd_ >= 0) close(fd_);
  }
  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // The next datagram; "" when none came within a generous bound.
  std::string Next() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 30000) != 1) return std::string();
    char buf[512];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, n) : std::string();
  }
  // Whether a datagram is queued now.
  bool Pending() {
    char buf[512];
    return recv(fd_, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK) >= 0;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

// Under a Type=notify systemd unit: EXTEND_TIMEOUT_USEC while it starts,
// READY=1 once it serves, WATCHDOG=1 while health is SERVING
// (WATCHDOG_USEC/2 apart), STOPPING=1 on SIGTERM.
TEST(SystemdNotifyTest, ReadyWatchdogAndStopping) {
  TempDir dir;
  NotifyListener listener(dir.path() + "/notify");
  ASSERT_TRUE(listener.bound()) << listener.path();
  const std::string path = listener.path();
  auto next = [&listener] { return listener.Next(); };
  auto server =
      ServerProcess::Start(dir.path() + "/data", {},
                           {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"});
  ASSERT_NE(server, nullptr);
  // Starting: the start timeout extended (once, or again if the start took
  // 20 s), then ready.
  EXPECT_EQ(next(), "EXTEND_TIMEOUT_USEC=60000000") << server->Log();
  std::string got;
  do {
    got = next();
  } while (got == "EXTEND_TIMEOUT_USEC=60000000");
  EXPECT_EQ(got, "READY=1") << server->Log();
  EXPECT_EQ(next(), "WATCHDOG=1") << server->Log();
  EXPECT_EQ(next(), "WATCHDOG=1") << server->Log();
  const int status = server->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server->Log();
  // What it sent stays queued: pings from before the signal, then
  // STOPPING=1 and nothing after it.
  do {
    got = next();
  } while (got == "WATCHDOG=1");
  EXPECT_EQ(got, "STOPPING=1") << server->Log();
  EXPECT_FALSE(listener.Pending()) << "sent after STOPPING=1";
}

// A data directory whose open hangs: RocksDB opens CURRENT, here a FIFO
// nothing writes to (a file system that does not answer).
void MakeHangingDataDir(const std::string& data) {
  ASSERT_TRUE(std::filesystem::create_directory(data));
  ASSERT_EQ(mkfifo((data + "/CURRENT").c_str(), 0600), 0);
}

// A start that hangs (here RocksDB opening CURRENT, a FIFO nothing writes
// to: a file system that does not answer) has systemd's start timeout
// extended only until start_timeout_seconds has passed; then contentd
// says why, to systemd (STATUS=) and in its log, and exits 1, which the
// unit's Restart=on-failure restarts. It used to be extended for ever.
TEST(SystemdNotifyTest, AHungStartEndsAtTheStartTimeout) {
  TempDir dir;
  NotifyListener listener(dir.path() + "/notify");
  ASSERT_TRUE(listener.bound()) << listener.path();
  const std::string data = dir.path() + "/data";
  ASSERT_NO_FATAL_FAILURE(MakeHangingDataDir(data));
  // kStartupTimeout only ends a contentd that never exits (the failure).
  const CommandResult r =
      RunCommand({ContentdBinary(), "--listen", "127.0.0.1:0", "--no-auth",
                  "--data-dir", data, "--start-timeout-seconds", "1"},
                 "", {"NOTIFY_SOCKET=" + listener.path()}, kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "the hung start went on:\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string why =
      "start did not finish within 1s (start_timeout_seconds): the store's "
      "file system or database may not be answering; exiting for the "
      "supervisor to start contentd again";
  EXPECT_THAT(r.err, HasSubstr("contentd: " + why + "\n"));
  // What systemd heard: the start extended, then why it ends; never
  // READY=1.
  EXPECT_EQ(listener.Next(), "EXTEND_TIMEOUT_USEC=60000000") << r.err;
  std::string got;
  do {
    got = listener.Next();
  } while (got == "EXTEND_TIMEOUT_USEC=60000000");
  EXPECT_EQ(got, "STATUS=" + why);
  EXPECT_FALSE(listener.Pending()) << "sent after STATUS=";
}

// A stop asked for while a start hangs ends it at once, by the signal
// (systemd takes that for a clean stop); it was blocked until contentd
// served, and systemd had to fall back to SIGKILL after TimeoutStopSec.
TEST(SystemdNotifyTest, AStopWhileAStartHangsEndsIt) {
  TempDir dir;
  NotifyListener listener(dir.path() + "/notify");
  ASSERT_TRUE(listener.bound()) << listener.path();
  const std::string data = dir.path() + "/data";
  ASSERT_NO_FATAL_FAILURE(MakeHangingDataDir(data));
  std::unique_ptr<testing::BackgroundCommand> contentd =
      testing::BackgroundCommand::Start(
          {ContentdBinary(), "--listen", "127.0.0.1:0", "--no-auth",
           "--data-dir", data},
          dir.path() + "/out", dir.path() + "/err",
          {"NOTIFY_SOCKET=" + listener.path()});
  ASSERT_NE(contentd, nullptr);
  // Starting: the store's open waits on the FIFO.
  ASSERT_EQ(listener.Next(), "EXTEND_TIMEOUT_USEC=60000000");
  ASSERT_EQ(kill(contentd->pid(), SIGTERM), 0);
  // kStartupTimeout only ends a contentd that never exits (the failure).
  const CommandResult r = contentd->Wait(kStartupTimeout);
  EXPECT_FALSE(r.timed_out) << "SIGTERM did not end the start:\n" << r.err;
  EXPECT_EQ(r.exit_code, -1) << "ended by the signal:\n" << r.err;
  EXPECT_THAT(r.err, HasSubstr("contentd: SIGTERM while starting, stopping "
                               "now (nothing was served yet; the next start "
                               "opens the store as after a kill)\n"));
}

}  // namespace
}  // namespace content
