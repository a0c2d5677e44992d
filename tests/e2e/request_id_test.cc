// End-to-end: the caller's request id (`x-request-id`) from the SDK and
// contentctl to contentd's request log, and contentd's refusal of a
// malformed one.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/grpc_status.h"
#include "content/client.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/support/ctl.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGetArticle[] = "/content.v1.ContentService/GetArticle";
constexpr char kWatchArticles[] = "/content.v1.ContentService/WatchArticles";

// A contentd that logs every request (`log_requests: all`).
std::unique_ptr<ServerProcess> StartLoggingServer(const TempDir& dir) {
  testing::WriteFile(dir.path() + "/contentd.yaml", "log_requests: all\n");
  return ServerProcess::Start(dir.path() + "/data",
                              {"--config", dir.path() + "/contentd.yaml"});
}

std::unique_ptr<Client> Connect(const ServerProcess& server,
                                const std::string& request_id = "") {
  ClientOptions options;
  options.target = server.address();
  options.request_id = request_id;
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

CallOptions WithId(const std::string& id) {
  CallOptions call;
  call.request_id = id;
  return call;
}

v1::Article Article(const std::string& title) {
  v1::Article a;
  a.set_title(title);
  a.mutable_date()->set_seconds(1735689600);
  a.set_body("body of " + title);
  return a;
}

// The request-log lines of `method` (`/pkg.Service/Method`) in `log`.
std::vector<std::string> LinesOf(const std::string& log,
                                 const std::string& method) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, absl::StrCat(" method=", method, " "))) {
      out.emplace_back(line);
    }
  }
  return out;
}

// Whether `server` logged a line of `method` carrying `field` (e.g.
// `request_id=get-1`, followed by a space or the end of the line). A
// streaming call's line comes as the server ends the stream, a moment after
// the client has left: waited for, at most 5 s.
bool Logged(const ServerProcess& server, const std::string& method,
            const std::string& field) {
  for (int i = 0; i < 100; ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(50));
    for (const std::string& line : LinesOf(server.Log(), method)) {
      if (absl::StrContains(absl::StrCat(line, " "),
                            absl::StrCat(" ", field, " "))) {
        return true;
      }
    }
  }
  return false;
}

// The request-log lines of `method` once there are at least `n` (each
// streaming call's comes as it ends): waited for, at most 5 s.
std::vector<std::string> AtLeastLinesOf(const ServerProcess& server,
                                        const std::string& method, size_t n) {
  std::vector<std::string> lines;
  for (int i = 0; i < 100; ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(50));
    lines = LinesOf(server.Log(), method);
    if (lines.size() >= n) break;
  }
  return lines;
}

// Waits up to `timeout` for `flag`.
bool WaitFor(const std::atomic<bool>& flag, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!flag && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
  return flag;
}

TEST(RequestIdTest, EveryKindOfSdkCallIsLoggedWithItsId) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  auto c = Connect(*server);
  ASSERT_NE(c, nullptr);

  // A write, a read, an admin call.
  v1::CreateArticleRequest create;
  create.set_article_id("r1");
  *create.mutable_article() = Article("one");
  ASSERT_TRUE(c->CreateArticle(create, WithId("create-1")).ok());
  ASSERT_TRUE(c->Get("r1", 0, WithId("get-1")).ok());
  ASSERT_TRUE(c->GetStats(v1::GetStatsRequest(), WithId("stats-1")).ok());
  // A failed call keeps its id too: that is the line someone looks for.
  EXPECT_EQ(c->Get("missing", 0, WithId("get-missing")).status().code(),
            absl::StatusCode::kNotFound);
  // Both streams that take CallOptions.
  bool sent = false;
  ASSERT_TRUE(c->ImportArticles(
                   [&](v1::ImportArticlesRequest* batch) {
                     if (sent) return false;
                     *batch->add_articles() = Article("two");
                     batch->mutable_articles(0)->set_name("articles/r2");
                     sent = true;
                     return true;
                   },
                   [](const v1::ImportArticlesResponse&) {}, WithId("import-1"))
                  .ok());
  int exported = 0;
  ASSERT_TRUE(c->ExportArticles(
                   v1::ExportArticlesRequest(),
                   [&](const v1::Article&) {
                     ++exported;
                     return true;
                   },
                   WithId("export-1"))
                  .ok());
  EXPECT_EQ(exported, 2);
  // Quoted as other values are when it holds a space or a quote.
  ASSERT_TRUE(c->Get("r1", 0, WithId("order \"42\"")).ok());

  EXPECT_TRUE(Logged(*server, "/content.v1.ContentService/CreateArticle",
                     "request_id=create-1"));
  EXPECT_TRUE(Logged(*server, kGetArticle, "request_id=get-1"));
  EXPECT_TRUE(Logged(*server, "/content.v1.AdminService/GetStats",
                     "request_id=stats-1"));
  EXPECT_TRUE(Logged(*server, kGetArticle, "request_id=get-missing"));
  EXPECT_TRUE(Logged(*server, "/content.v1.ContentService/ImportArticles",
                     "request_id=import-1"));
  EXPECT_TRUE(Logged(*server, "/content.v1.ContentService/ExportArticles",
                     "request_id=export-1"));
  EXPECT_TRUE(Logged(*server, kGetArticle, R"(request_id="order \"42\"")"));
  // The id follows latency_ms, so lines read as before up to there.
  EXPECT_THAT(server->Log(),
              ::testing::ContainsRegex(
                  "method=/content.v1.ContentService/GetArticle "
                  "peer=[^ ]+ token=- code=NOT_FOUND latency_ms=[0-9.]+ "
                  "request_id=get-missing error="))
      << server->Log();
  // A call without an id has no request_id field.
  ASSERT_TRUE(c->Get("r1").ok());
  const std::vector<std::string> gets = LinesOf(server->Log(), kGetArticle);
  ASSERT_FALSE(gets.empty());
  EXPECT_THAT(gets.back(), Not(HasSubstr("request_id"))) << gets.back();
}

// ClientOptions::request_id goes with every call that names none, Watch's
// included; a call's own id wins.
TEST(RequestIdTest, TheClientsIdGoesWithEveryCallThatNamesNone) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  auto c = Connect(*server, "worker-7");
  ASSERT_NE(c, nullptr);
  v1::CreateArticleRequest create;
  create.set_article_id("w1");
  *create.mutable_article() = Article("one");
  ASSERT_TRUE(c->CreateArticle(create).ok());
  ASSERT_TRUE(c->Get("w1", 0, WithId("own-id")).ok());

  // A Watch from the start, ended by its callback after the first event.
  v1::WatchArticlesRequest watch;
  watch.set_after_sequence(0);
  std::atomic<int> events{0};
  const absl::Status s = c->Watch(watch, [&](const v1::WatchArticlesResponse&) {
    ++events;
    return false;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(events.load(), 1);

  EXPECT_TRUE(Logged(*server, "/content.v1.ContentService/CreateArticle",
                     "request_id=worker-7"));
  EXPECT_TRUE(Logged(*server, kGetArticle, "request_id=own-id"));
  for (const std::string& line : LinesOf(server->Log(), kGetArticle)) {
    EXPECT_THAT(line, Not(HasSubstr("worker-7")));
  }
  EXPECT_TRUE(Logged(*server, "/content.v1.ContentService/WatchArticles",
                     "request_id=worker-7"))
      << server->Log();
}

// WatchHooks::request_id is a watch's own id, over ClientOptions': sent on
// its first stream and on each reconnect. One that breaks the rule is
// refused as CallOptions' is, before anything is sent.
TEST(RequestIdTest, AWatchCarriesItsOwnIdOnEveryReconnect) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  auto c = Connect(*server, "worker-7");
  ASSERT_NE(c, nullptr);

  WatchHooks bad;
  bad.request_id = "bad\nid";
  absl::Status s = c->Watch(
      v1::WatchArticlesRequest(),
      [](const v1::WatchArticlesResponse&) { return false; }, nullptr, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "request_id: must be printable ASCII (0x20-0x7E), got byte 0x0a "
            "at offset 3 (WatchHooks); the watch was not started");
  EXPECT_TRUE(LinesOf(server->Log(), kWatchArticles).empty()) << server->Log();

  // A watch that sees its stream start, lose it to a restart, and resume,
  // then ends with its first event.
  std::atomic<bool> started{false}, resumed{false};
  WatchHooks hooks;
  hooks.request_id = "watch-own";
  hooks.on_started = [&](int64_t) { started = true; };
  hooks.on_resumed = [&](int64_t) { resumed = true; };
  WatchCanceller canceller;  // ends the watch should the test fail first
  absl::Status watched;
  std::thread watcher([&] {
    watched = c->Watch(
        v1::WatchArticlesRequest(),
        [](const v1::WatchArticlesResponse&) { return false; }, &canceller,
        hooks);
  });
  const bool was_started = WaitFor(started, absl::Seconds(10));
  const bool restarted = was_started && server->RestartOnSamePort();
  const bool was_resumed = restarted && WaitFor(resumed, absl::Seconds(30));
  v1::CreateArticleRequest create;
  create.set_article_id("w1");
  *create.mutable_article() = Article("one");
  const bool created = was_resumed && c->CreateArticle(create).ok();
  if (!created) canceller.Cancel();
  watcher.join();
  ASSERT_TRUE(was_started);
  ASSERT_TRUE(restarted) << server->Log();
  ASSERT_TRUE(was_resumed) << server->Log();
  ASSERT_TRUE(created);
  EXPECT_TRUE(watched.ok()) << watched;

  // One line per stream, the first written by the server that stopped.
  const std::vector<std::string> lines =
      AtLeastLinesOf(*server, kWatchArticles, 2);
  EXPECT_GE(lines.size(), 2u) << server->Log();
  for (const std::string& line : lines) {
    EXPECT_THAT(line, HasSubstr(" request_id=watch-own")) << line;
  }
  // The Client's id still goes with its other calls.
  EXPECT_TRUE(Logged(*server, "/content.v1.ContentService/CreateArticle",
                     "request_id=worker-7"));
}

// An id contentd would refuse is not sent: gRPC aborts the process on a
// header value outside printable ASCII.
TEST(RequestIdTest, TheSdkRefusesAnIdItCannotSend) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  auto c = Connect(*server);
  ASSERT_NE(c, nullptr);
  absl::StatusOr<v1::Article> r = c->Get("x", 0, WithId("bad\nid"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("request_id: must be printable ASCII (0x20-0x7E), got "
                        "byte 0x0a at offset 3"));
  r = c->Get("x", 0, WithId(std::string(129, 'a')));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("request_id: must be at most 128 bytes of printable "
                        "ASCII, got 129 bytes"));
  EXPECT_EQ(c->ExportArticles(
                 v1::ExportArticlesRequest(),
                 [](const v1::Article&) { return true; }, WithId("\x01"))
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Not sent: the server logged no GetArticle.
  EXPECT_TRUE(LinesOf(server->Log(), kGetArticle).empty()) << server->Log();

  ClientOptions options;
  options.target = server->address();
  options.request_id = "tab\there";
  absl::StatusOr<std::unique_ptr<Client>> bad = Client::Connect(options);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("request_id: must be"));
}

// A client that is not the SDK sending a malformed id learns of it: the call
// fails INVALID_ARGUMENT naming the metadata and the rule, with a BadRequest
// (AIP-193), and the log does not carry the id.
TEST(RequestIdTest, ContentdRefusesAMalformedIdNamingTheMetadata) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  v1::GetArticleRequest get;
  get.set_name("articles/x");
  std::string reply;
  const std::string long_id(129, 'L');
  grpc::Status s =
      testing::RawUnaryCall(*channel, kGetArticle, get.SerializeAsString(),
                            {{"x-request-id", long_id}}, &reply);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  EXPECT_EQ(s.error_message(),
            "x-request-id: metadata must be at most 128 bytes of printable "
            "ASCII, got 129 bytes");
  const std::vector<FieldViolation> v = FieldViolations(internal::FromGrpc(s));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "x-request-id");
  EXPECT_THAT(v[0].description, HasSubstr("at most 128 bytes"));
  EXPECT_THAT(server->Log(), Not(HasSubstr(long_id)));

  // Admin calls and streams check it as well, and two ids are one too many.
  s = testing::RawUnaryCall(*channel, "/content.v1.AdminService/GetStats", "",
                            {{"x-request-id", long_id}}, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = testing::RawUnaryCall(*channel, kGetArticle, get.SerializeAsString(),
                            {{"x-request-id", "a"}, {"x-request-id", "b"}},
                            &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              HasSubstr("x-request-id: metadata must be sent once, got 2"));

  // 128 bytes is within the rule, and logged whole.
  const std::string max_id(128, 'M');
  s = testing::RawUnaryCall(*channel, kGetArticle, get.SerializeAsString(),
                            {{"x-request-id", max_id}}, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_TRUE(Logged(*server, kGetArticle, "request_id=" + max_id));
}

// gRPC's own services follow the same rule: a health check, a health
// Watch and a reflection stream with a malformed id are refused
// INVALID_ARGUMENT (the streams before they send anything), and a good id
// is logged with them.
TEST(RequestIdTest, HealthAndReflectionFollowTheSameRule) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(server->address(),
                                     grpc::InsecureChannelCredentials());
  constexpr char kCheck[] = "/grpc.health.v1.Health/Check";
  constexpr char kWatch[] = "/grpc.health.v1.Health/Watch";
  constexpr char kReflection[] =
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
  // ServerReflectionRequest{list_services: ""}.
  const std::string list_services("\x3a\x00", 2);
  const std::string long_id(129, 'L');
  const std::string rule =
      "x-request-id: metadata must be at most 128 bytes of printable ASCII, "
      "got 129 bytes";

  std::string reply;
  grpc::Status s = testing::RawUnaryCall(*channel, kCheck, "",
                                         {{"x-request-id", long_id}}, &reply);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  EXPECT_EQ(s.error_message(), rule);
  const std::vector<FieldViolation> v = FieldViolations(internal::FromGrpc(s));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "x-request-id");
  s = testing::RawUnaryCall(*channel, kCheck, "",
                            {{"x-request-id", "a"}, {"x-request-id", "b"}},
                            &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              HasSubstr("x-request-id: metadata must be sent once, got 2"));

  // The streams end at once, with nothing sent: a health Watch would
  // otherwise stream until its client left.
  std::vector<std::string> replies;
  s = testing::RawStreamingCall(*channel, kWatch, {""},
                                {{"x-request-id", long_id}}, &replies);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  EXPECT_EQ(s.error_message(), rule);
  EXPECT_TRUE(replies.empty());
  s = testing::RawStreamingCall(*channel, kReflection, {list_services},
                                {{"x-request-id", long_id}}, &replies);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  EXPECT_EQ(s.error_message(), rule);
  EXPECT_TRUE(replies.empty());
  // Logged as refused, without the id.
  EXPECT_TRUE(Logged(*server, kCheck, "code=INVALID_ARGUMENT"));
  EXPECT_TRUE(Logged(*server, kWatch, "code=INVALID_ARGUMENT"));
  EXPECT_TRUE(Logged(*server, kReflection, "code=INVALID_ARGUMENT"));
  EXPECT_THAT(server->Log(), Not(HasSubstr(long_id)));

  // A good id is taken and logged.
  s = testing::RawUnaryCall(*channel, kCheck, "", {{"x-request-id", "probe-1"}},
                            &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply, std::string("\x08\x01", 2));  // SERVING
  s = testing::RawStreamingCall(*channel, kWatch, {""},
                                {{"x-request-id", "probe-watch"}}, &replies,
                                /*max_responses=*/1);
  EXPECT_EQ(replies.size(), 1u) << s.error_message();
  s = testing::RawStreamingCall(*channel, kReflection, {list_services},
                                {{"x-request-id", "reflect-1"}}, &replies);
  EXPECT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_THAT(replies[0], HasSubstr("content.v1.ContentService"));
  EXPECT_TRUE(Logged(*server, kCheck, "request_id=probe-1"));
  EXPECT_TRUE(Logged(*server, kWatch, "request_id=probe-watch"));
  EXPECT_TRUE(Logged(*server, kReflection, "request_id=reflect-1"));
}

TEST(RequestIdTest, ContentctlSendsItsRequestIdWithEveryCall) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  testing::WriteFile(dir.path() + "/a.md",
                     "---\ntitle: A\ndate: 2025-01-01\n---\nBody.\n");
  testing::CommandResult r = testing::Ctl(
      *server,
      {"--request-id", "deploy-42", "apply", "-f", dir.path() + "/a.md"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // apply writes through ImportArticles.
  EXPECT_TRUE(Logged(*server, "/content.v1.ContentService/ImportArticles",
                     "request_id=deploy-42"))
      << server->Log();

  // A failed call: the human line is as before; -o json names the id.
  r = testing::Ctl(*server, {"--request-id", "look-1", "get", "missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, Not(HasSubstr("look-1")));
  EXPECT_TRUE(Logged(*server, kGetArticle, "request_id=look-1"));
  r = testing::Ctl(*server,
                   {"--request-id", "look-2", "-o", "json", "get", "missing"});
  EXPECT_EQ(r.exit_code, 1);
  const auto error = testing::ParseJson<google::protobuf::Struct>(r.err);
  ASSERT_TRUE(error.fields().contains("requestId")) << r.err;
  EXPECT_EQ(error.fields().at("requestId").string_value(), "look-2");
  EXPECT_EQ(error.fields().at("code").string_value(), "NOT_FOUND");

  // An id that cannot be sent is a usage error naming the flag.
  r = testing::Ctl(*server,
                   {"--request-id", std::string(200, 'x'), "get", "a"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--request-id: must be at most 128 bytes"));
  EXPECT_THAT(testing::CtlOk(*server, {"--help"}), HasSubstr("--request-id"));
}

// CONTENT_REQUEST_ID is --request-id's default, as CONTENT_TOKEN is
// --token's: the flag wins, and a malformed value is a usage error naming
// the variable. Either reaches a watch's streams.
TEST(RequestIdTest, ContentctlTakesItsRequestIdFromTheEnvironment) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  auto c = Connect(*server);
  ASSERT_NE(c, nullptr);
  v1::CreateArticleRequest create;
  create.set_article_id("e1");
  *create.mutable_article() = Article("one");
  ASSERT_TRUE(c->CreateArticle(create).ok());

  testing::CommandResult r =
      testing::Ctl(*server, {"get", "e1"}, {"CONTENT_REQUEST_ID=env-1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Logged(*server, kGetArticle, "request_id=env-1"));
  r = testing::Ctl(*server, {"--request-id", "flag-1", "get", "e1"},
                   {"CONTENT_REQUEST_ID=env-2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Logged(*server, kGetArticle, "request_id=flag-1"));
  EXPECT_THAT(server->Log(), Not(HasSubstr("env-2")));
  r = testing::Ctl(*server, {"-o", "json", "get", "missing"},
                   {"CONTENT_REQUEST_ID=env-3"});
  EXPECT_EQ(r.exit_code, 1);
  const auto error = testing::ParseJson<google::protobuf::Struct>(r.err);
  ASSERT_TRUE(error.fields().contains("requestId")) << r.err;
  EXPECT_EQ(error.fields().at("requestId").string_value(), "env-3");

  r = testing::Ctl(*server, {"get", "e1"},
                   {"CONTENT_REQUEST_ID=" + std::string(200, 'x')});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--request-id (from CONTENT_REQUEST_ID): must "
                               "be at most 128 bytes"));
  // The flag given, the variable is not looked at.
  r = testing::Ctl(*server, {"--request-id", "flag-2", "get", "e1"},
                   {"CONTENT_REQUEST_ID=bad\tid"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // watch: the whole stream carries it, from the variable or the flag.
  r = testing::Ctl(*server, {"watch", "--count", "1"},
                   {"CONTENT_REQUEST_ID=env-watch"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Logged(*server, kWatchArticles, "request_id=env-watch"))
      << server->Log();
  r = testing::Ctl(*server,
                   {"watch", "--count", "1", "--request-id", "flag-watch"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Logged(*server, kWatchArticles, "request_id=flag-watch"))
      << server->Log();
  EXPECT_THAT(testing::CtlOk(*server, {"--help"}),
              HasSubstr("CONTENT_REQUEST_ID"));
}

// A Markdown file over the server's 1 MiB article limit: refused by the
// server, so sent. Its path.
std::string WriteTooBigFile(const TempDir& dir) {
  const std::string path = dir.path() + "/big.md";
  testing::WriteFile(path, "---\ntitle: Big\ndate: 2025-01-01\n---\n" +
                               std::string(1100000, 'x') + "\n");
  return path;
}

// A Markdown file whose front matter does not parse: refused before it is
// sent. Its path.
std::string WriteBrokenFile(const TempDir& dir) {
  const std::string path = dir.path() + "/broken.md";
  testing::WriteFile(path, "---\ntitle: [unclosed\n---\nBody.\n");
  return path;
}

// apply -o json: a failed file's error object names the request id of the
// call that carried the file, as a failed call's object does; a file that
// failed before anything was sent names none. So does edit's.
TEST(RequestIdTest, ApplyAndEditErrorObjectsNameTheRequestId) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  const std::string big = WriteTooBigFile(dir);
  const std::string broken = WriteBrokenFile(dir);
  // The objects on stderr: a file's by its file, the summary under
  // "SUMMARY", an error of the whole run under "error".
  const auto objects = [](const std::string& err) {
    std::map<std::string, google::protobuf::Struct> out;
    for (const std::string& line : testing::Lines(err)) {
      auto o = testing::ParseJson<google::protobuf::Struct>(line);
      const auto& f = o.fields();
      const std::string key = f.contains("file") ? f.at("file").string_value()
                              : f.contains("notice")
                                  ? f.at("notice").string_value()
                                  : "error";
      out[key] = o;
    }
    return out;
  };

  testing::CommandResult r =
      testing::Ctl(*server, {"--request-id", "apply-7", "-o", "json", "apply",
                             "-f", big, "-f", broken});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto by_file = objects(r.err);
  ASSERT_EQ(by_file.count(big), 1u) << r.err;
  EXPECT_EQ(by_file[big].fields().at("reason").string_value(),
            "ARTICLE_TOO_LARGE");
  ASSERT_TRUE(by_file[big].fields().contains("requestId")) << r.err;
  EXPECT_EQ(by_file[big].fields().at("requestId").string_value(), "apply-7");
  ASSERT_EQ(by_file.count(broken), 1u) << r.err;
  EXPECT_FALSE(by_file[broken].fields().contains("requestId")) << r.err;
  EXPECT_TRUE(Logged(*server, "/content.v1.ContentService/ImportArticles",
                     "request_id=apply-7"));

  // A conditional write goes through GetArticle and UpdateArticle.
  r = testing::Ctl(*server, {"--request-id", "apply-8", "-o", "json", "apply",
                             "-f", big, "--expected-revision", "3"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  by_file = objects(r.err);
  ASSERT_EQ(by_file.count(big), 1u) << r.err;
  EXPECT_EQ(by_file[big].fields().at("code").string_value(), "NOT_FOUND");
  EXPECT_EQ(by_file[big].fields().at("requestId").string_value(), "apply-8");

  // edit's error objects name it too.
  r = testing::Ctl(*server,
                   {"--request-id", "edit-1", "-o", "json", "edit", "missing"},
                   {"CONTENT_EDITOR=true"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto edit_error = testing::ParseJson<google::protobuf::Struct>(r.err);
  EXPECT_EQ(edit_error.fields().at("code").string_value(), "NOT_FOUND");
  ASSERT_TRUE(edit_error.fields().contains("requestId")) << r.err;
  EXPECT_EQ(edit_error.fields().at("requestId").string_value(), "edit-1");

  // No id given, none named.
  r = testing::Ctl(*server, {"-o", "json", "apply", "-f", big});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  by_file = objects(r.err);
  ASSERT_EQ(by_file.count(big), 1u) << r.err;
  EXPECT_FALSE(by_file[big].fields().contains("requestId")) << r.err;

  // The import stream failing (no server) is one run error, not one per
  // file, and it names the id too.
  server->Stop(SIGTERM);
  r = testing::Ctl(
      *server, {"--request-id", "apply-9", "-o", "json", "apply", "-f", big});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  by_file = objects(r.err);
  ASSERT_EQ(by_file.count("error"), 1u) << r.err;
  EXPECT_EQ(by_file["error"].fields().at("code").string_value(), "UNAVAILABLE");
  EXPECT_EQ(by_file["error"].fields().at("requestId").string_value(),
            "apply-9");
}

// The string `key` holds in `fields`, "" where it is not there.
std::string ValueOf(
    const google::protobuf::Map<std::string, google::protobuf::Value>& fields,
    const std::string& key) {
  const auto it = fields.find(key);
  return it == fields.end() ? "" : it->second.string_value();
}

// apply -o json's results on stdout: a failed file's result carries the
// code, reason and request id of its error object on stderr, where it
// carried only the `error` string (`CODE: message`), its reason and
// metadata: a script reading the results alone gets the code without
// parsing the string, and sees which failures the server logged under the
// id (a file that failed before it was sent has none).
TEST(RequestIdTest, ApplyResultsOfAFailedFileCarryItsErrorsCodeAndId) {
  TempDir dir;
  auto server = StartLoggingServer(dir);
  ASSERT_NE(server, nullptr);
  const std::string big = WriteTooBigFile(dir);
  const std::string broken = WriteBrokenFile(dir);
  const std::string good = dir.path() + "/good.md";
  testing::WriteFile(good, "---\ntitle: Good\ndate: 2025-01-01\n---\nBody.\n");
  // The results by file, and the error objects on stderr by file.
  const auto by_file = [](const google::protobuf::ListValue& list) {
    std::map<std::string, google::protobuf::Struct> out;
    for (const google::protobuf::Value& v : list.values()) {
      out[v.struct_value().fields().at("file").string_value()] =
          v.struct_value();
    }
    return out;
  };
  const auto errors = [](const std::string& err) {
    std::map<std::string, google::protobuf::Struct> out;
    for (const std::string& line : testing::Lines(err)) {
      auto o = testing::ParseJson<google::protobuf::Struct>(line);
      if (o.fields().contains("file")) {
        out[o.fields().at("file").string_value()] = o;
      }
    }
    return out;
  };

  for (const std::vector<std::string>& conditional :
       {std::vector<std::string>{}, {"--expected-revision", "3"}}) {
    SCOPED_TRACE(::testing::PrintToString(conditional));
    std::vector<std::string> args = {"--request-id", "apply-r", "-o", "json",
                                     "apply",        "-f",      big,  "-f",
                                     broken,         "-f",      good};
    // A condition holds for one file only.
    if (!conditional.empty())
      args = {"--request-id", "apply-r", "-o",           "json",        "apply",
              "-f",           big,       conditional[0], conditional[1]};
    testing::CommandResult r = testing::Ctl(*server, args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    auto results =
        by_file(testing::ParseJson<google::protobuf::ListValue>(r.out));
    auto stderr_objects = errors(r.err);
    ASSERT_EQ(results.count(big), 1u) << r.out;
    ASSERT_EQ(stderr_objects.count(big), 1u) << r.err;
    const auto& result = results[big].fields();
    const auto& error = stderr_objects[big].fields();
    // The same values; a key with none is left out of the result ("" in
    // the error object).
    for (const char* key : {"code", "reason", "requestId"}) {
      EXPECT_EQ(ValueOf(result, key), ValueOf(error, key)) << key;
    }
    EXPECT_EQ(ValueOf(result, "requestId"), "apply-r") << r.out;
    EXPECT_EQ(ValueOf(result, "code"),
              conditional.empty() ? "INVALID_ARGUMENT" : "NOT_FOUND")
        << r.out;
    if (!conditional.empty()) continue;
    // Failed before it was sent: its code, no id.
    ASSERT_EQ(results.count(broken), 1u) << r.out;
    ASSERT_EQ(stderr_objects.count(broken), 1u) << r.err;
    const auto& unsent = results[broken].fields();
    EXPECT_EQ(ValueOf(unsent, "code"),
              ValueOf(stderr_objects[broken].fields(), "code"));
    EXPECT_EQ(ValueOf(unsent, "code"), "INVALID_ARGUMENT") << r.out;
    EXPECT_FALSE(unsent.contains("requestId")) << r.out;
    // Written: no error keys at all.
    ASSERT_EQ(results.count(good), 1u) << r.out;
    EXPECT_EQ(results[good].fields().at("result").string_value(), "created");
    for (const char* key : {"error", "code", "reason", "requestId"}) {
      EXPECT_FALSE(results[good].fields().contains(key)) << key;
    }
  }
  // No id given, none named.
  testing::CommandResult r =
      testing::Ctl(*server, {"-o", "json", "apply", "-f", big});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto results =
      by_file(testing::ParseJson<google::protobuf::ListValue>(r.out));
  ASSERT_EQ(results.count(big), 1u) << r.out;
  EXPECT_TRUE(results[big].fields().contains("code"));
  EXPECT_FALSE(results[big].fields().contains("requestId"));
}

}  // namespace
}  // namespace content
