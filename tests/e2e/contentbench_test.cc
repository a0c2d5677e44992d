// End-to-end: the contentbench binary against a real contentd with
// authentication on. Its throughput is checked by bench/smoke.sh; this
// checks that it can authenticate and that a run that measured nothing
// fails instead of reporting a result.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "content/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::AuthConfigYaml;
using ::content::testing::CommandResult;
using ::content::testing::ReadFile;
using ::content::testing::RunCommand;
using ::content::testing::RunInTerminal;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kEditor[] = "editor-token";

std::string Contentbench() {
  const char* env = std::getenv("CONTENTBENCH_BIN");
  return env != nullptr && env[0] != '\0' ? env : CONTENTBENCH_BIN_DEFAULT;
}

class ContentbenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string config = dir_.path() + "/contentd.yaml";
    WriteFile(config, AuthConfigYaml({{"e", "editor", kEditor}}));
    server_ = ServerProcess::Start(dir_.path() + "/data", {"--config", config});
    ASSERT_NE(server_, nullptr);
  }

  // contentbench VERB --target the server, small and short, plus `args`
  // (20 articles unless they give --articles).
  CommandResult Bench(const std::string& verb, std::vector<std::string> args,
                      const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {
        Contentbench(), verb, "--target", server_->address(),
        "-c",           "1",  "-m",       "2",
        "--json",       "-q"};
    if (std::find(args.begin(), args.end(), "--articles") == args.end()) {
      argv.insert(argv.end(), {"--articles", "20"});
    }
    if (verb == "run") {
      argv.insert(argv.end(), {"--warmup", "0", "--duration", "0.3"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, "", env, std::chrono::seconds(60));
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ContentbenchTest, WithoutATokenEveryCallFailsAndTheRunFails) {
  for (const char* verb : {"load", "run"}) {
    CommandResult r = Bench(verb, {});
    EXPECT_EQ(r.exit_code, 1) << verb << "\n" << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("\"ok\":0,")) << verb;
    EXPECT_THAT(r.out, HasSubstr("UNAUTHENTICATED")) << verb;
    EXPECT_THAT(r.err, HasSubstr("no call succeeded")) << verb;
    EXPECT_THAT(r.err, HasSubstr("--token")) << verb;
  }
}

TEST_F(ContentbenchTest, TokenFromTheFlagOrTheEnvironmentAuthenticates) {
  CommandResult r = Bench("load", {"--token", kEditor});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"ok\":20,"));
  // Loaded again: every article is already there, which is not a failure.
  r = Bench("load", {"--token", kEditor});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"errors\":0,"));

  r = Bench("run", {"--workload", "get", "--token", kEditor});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"errors\":0,"));
  EXPECT_THAT(r.out, Not(HasSubstr("\"ok\":0,")));
  // A token from a file or a Secret ends in a newline.
  r = Bench("run", {"--workload", "get"},
            {std::string("CONTENT_TOKEN=") + kEditor + "\n"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("\"ok\":0,")));

  // Any other control character is a usage error that does not echo it.
  r = Bench("run", {"--workload", "get", "--token", "editor\x01token"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("--token: contains a control character"));
  EXPECT_THAT(r.err, Not(HasSubstr("editor")));

  // A wrong token: every call fails.
  r = Bench("run", {"--workload", "get", "--token", "wrong"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

// contentbench checks --token with the SDK's code (common/bearer_token.h),
// not a copy of it: the tokens Client::Connect refuses are refused with the
// same message, naming the flag.
TEST_F(ContentbenchTest, TokenIsCheckedAsTheSdkChecksIt) {
  for (const char* token :
       {"editor\x01token", "editor-token\r", "editor-token\n\n",
        "edit\xc3\xa9r", "editor\x7f"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(token)));
    ClientOptions options;
    options.target = server_->address();
    options.token = token;
    const absl::Status sdk = Client::Connect(options).status();
    ASSERT_EQ(sdk.code(), absl::StatusCode::kInvalidArgument);
    CommandResult r = Bench("run", {"--workload", "get", "--token", token});
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_EQ(r.err, absl::StrCat("contentbench: --", sdk.message(), "\n"));
  }
}

// --help's exit statuses: 2 is a usage error, not CLI11's own 106-109.
TEST_F(ContentbenchTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Bench("run", {"--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(Bench("run", {"--workload", "no-such-workload"}).exit_code, 2);
  // Integers read as contentd's and contentctl's do (common/decimal.h):
  // `+5` is not decimal, and a value out of range names the range.
  CommandResult plus = Bench("run", {"--channels", "+5"});
  EXPECT_EQ(plus.exit_code, 2);
  EXPECT_THAT(plus.err, HasSubstr("--channels: not a decimal integer: \"+5\""));
  CommandResult big = Bench("run", {"--outstanding", "20000"});
  EXPECT_EQ(big.exit_code, 2);
  EXPECT_THAT(big.err,
              HasSubstr("--outstanding: not in range 1 to 10000, got 20000"));
  CommandResult r = RunCommand({Contentbench(), "run", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--token"));
  EXPECT_THAT(r.out, HasSubstr("Exit status: "));
}

// Values that made a run measure nothing or something else were taken: a
// negative --warmup closed the window before it opened ("no call
// succeeded"), --timeout 0 or -1 failed every call, --raw-hex zz sent
// bytes nobody wrote, --server-pid of no process left its column out
// without a word, and --duration 0 printed CLI11's "not in range 0.000000
// to 1797693...".
TEST_F(ContentbenchTest, BadValuesAreUsageErrorsNamingTheFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--warmup=-1"}, "--warmup: must be 0 or more seconds, got -1"},
      {{"--duration", "0"}, "--duration: must be more than 0 seconds, got 0"},
      {{"--timeout", "0"}, "--timeout: must be more than 0 seconds, got 0"},
      {{"--timeout=-1"}, "--timeout: must be more than 0 seconds, got -1"},
      {{"--timeout", "abc"}, "--timeout: not a number of seconds: \"abc\""},
      {{"--timeout", "1e9"},
       "--timeout: must be at most 1000000 seconds, got 1e9"},
      {{"--page-size", "0"}, "--page-size: must be at least 1, got 0"},
      {{"--date-window-days", "0"},
       "--date-window-days: must be at least 1, got 0"},
      {{"--workload", "raw", "--raw-method", "/a.B/C", "--raw-hex", "zz"},
       "--raw-hex: not a hex digit: 'z'"},
      {{"--workload", "raw", "--raw-method", "/a.B/C", "--raw-hex", "0a0"},
       "--raw-hex: must be an even number of hex digits, got 3"},
      {{"--server-pid", "2147483647"},
       "--server-pid: no process 2147483647 on this machine"}};
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(message);
    CommandResult r = Bench("run", args);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr(message));
  }
  CommandResult load = Bench("load", {"--timeout", "0"});
  EXPECT_EQ(load.exit_code, 2) << load.out << load.err;
  EXPECT_THAT(load.err, HasSubstr("--timeout: must be more than 0 seconds"));
}

// load's progress: into a pipe or a file (a CI log) whole lines, not a
// line redrawn with "\r" that a log shows run together; on a terminal the
// redrawn line. The count is of articles answered.
TEST_F(ContentbenchTest, LoadProgressIsLinesWithoutATerminal) {
  const std::vector<std::string> argv = {
      Contentbench(), "load", "--target", server_->address(),
      "--articles",   "20",   "-c",       "1",
      "-m",           "2",    "--token",  kEditor};
  CommandResult r = RunCommand(argv, "", {}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("loaded 20/20 ("));
  EXPECT_THAT(r.err, Not(HasSubstr("\r")));
  EXPECT_EQ(r.err.back(), '\n');

  CommandResult tty = RunInTerminal(argv);
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_THAT(tty.out, HasSubstr("\rloaded 20/20 ("));
}

// The "rows_per_op" figure of a --json line (bytes per op for raw calls).
double RowsPerOp(const std::string& out) {
  const size_t at = out.find("\"rows_per_op\":");
  if (at == std::string::npos) return -1;
  return std::atof(out.c_str() + at + std::strlen("\"rows_per_op\":"));
}

// Latencies and rows per op are those of the calls counted as ok, as the
// throughput is: failed calls (NOT_FOUND here, or the instant UNAVAILABLEs
// of a killed server) pulled the percentiles down and halved bytes/op.
TEST_F(ContentbenchTest, FailedCallsAreNotAveragedIntoTheFigures) {
  CommandResult r = Bench("load", {"--token", kEditor, "--articles", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Articles a00000000..9 exist; with --articles 20 half the gets are of
  // ids never loaded.
  r = Bench("run", {"--token", kEditor, "--workload", "get", "--raw-client",
                    "--articles", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const double all_found = RowsPerOp(r.out);
  r = Bench("run", {"--token", kEditor, "--workload", "get", "--raw-client",
                    "--articles", "20"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  ASSERT_THAT(r.out, HasSubstr("\"NOT_FOUND\":"));
  const double half_found = RowsPerOp(r.out);
  // Bytes of one article on average either way: the 10 articles' sizes
  // differ by a few percent; counting the failures gave half.
  ASSERT_GT(all_found, 1000) << r.out;
  EXPECT_NEAR(half_found / all_found, 1.0, 0.1) << r.out;
}

// grpc.health.v1 needs no token: a run without one measures it.
// An etcd export's keys carry --etcd-prefix, as a load into etcd and the
// etcd workloads' do: they were /articles/ whatever it said, so a corpus
// exported under another prefix was not the one the workloads read.
TEST(ContentbenchExportTest, EtcdKeysCarryThePrefix) {
  TempDir dir;
  const std::string out = dir.path() + "/corpus.ndjson";
  CommandResult r =
      RunCommand({Contentbench(), "export", "--articles", "3", "--format",
                  "etcd", "--etcd-prefix", "/news/", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFile(out);
  // {"key":"<base64 of /news/ID>", ...}: "/news/" is 6 bytes, whole
  // base64 groups "L25ld3Mv".
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
  size_t keys = 0;
  for (size_t at = text.find("{\"key\":\""); at != std::string::npos;
       at = text.find("{\"key\":\"", at + 1)) {
    ++keys;
    EXPECT_EQ(text.substr(at + 8, 8), "L25ld3Mv") << text.substr(at, 40);
  }
  EXPECT_EQ(keys, 3u);
}

TEST_F(ContentbenchTest, HealthNeedsNoToken) {
  CommandResult r = Bench("run", {"--workload", "health"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("\"ok\":0,")));
}

// "cannot connect" says why: gRPC's reason, and for a TLS server (which
// closes a plaintext client's connection without a word) a hint, since
// contentbench speaks plaintext only.
TEST(ContentbenchConnectTest, CannotConnectSaysWhy) {
  TempDir dir;
  const std::string d = dir.path();
  CommandResult cert = RunCommand(
      {"/bin/sh", "-c",
       "cd " + d +
           " && openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key "
           "-out tls.pem -days 2 -subj /CN=127.0.0.1 -addext "
           "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(cert.exit_code, 0) << cert.err;
  WriteFile(d + "/tls.yaml", "tls:\n  cert_file: " + d + "/tls.pem\n" +
                                 "  key_file: " + d + "/tls.key\n");
  auto server =
      ServerProcess::Start(d + "/data", {"--config", d + "/tls.yaml"});
  ASSERT_NE(server, nullptr);
  const std::vector<std::string> run = {Contentbench(), "run",
                                        "--target",     server->address(),
                                        "--duration",   "0.1"};
  CommandResult r = RunCommand(run, "", {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cannot connect to " + server->address() +
                               ": UNAVAILABLE: "));
  EXPECT_THAT(r.err, HasSubstr("(is the server using TLS? contentbench "
                               "speaks plaintext gRPC only)"));

  // Stopped: its port refuses connections.
  server->Stop(SIGTERM);
  r = RunCommand(run, "", {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("Connection refused"));
  EXPECT_THAT(r.err, Not(HasSubstr("TLS")));
}

// A gRPC server for any method: it answers every call OK with the 4 bytes
// "abcd" (`answer`), or takes every call and never answers it (a hung or
// SIGSTOPped server, as the test can hold one without racing its run).
class FakeServer {
 public:
  // `unavailable`: every call is answered UNAVAILABLE at once (a server
  // restarting), whatever `answer` says.
  explicit FakeServer(bool answer, bool unavailable = false)
      : service_(answer || unavailable, unavailable) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { server_->Shutdown(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(bool answer, bool unavailable) : unavailable_(unavailable) {
      if (answer) StartRead(&request_);
    }

   private:
    void OnReadDone(bool ok) override {
      if (unavailable_) {
        return Finish(
            grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting"));
      }
      if (!ok) return Finish(grpc::Status::OK);
      grpc::Slice slice(std::string("abcd"));
      reply_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&reply_, grpc::WriteOptions(), grpc::Status::OK);
    }
    // Unanswered: only when the client gives the call up (deadline).
    void OnCancel() override { Finish(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }
    const bool unavailable_;
    grpc::ByteBuffer request_, reply_;
  };
  class Service : public grpc::CallbackGenericService {
   public:
    Service(bool answer, bool unavailable)
        : answer_(answer), unavailable_(unavailable) {}
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext*) override {
      return new Reactor(answer_, unavailable_);
    }

   private:
    const bool answer_;
    const bool unavailable_;
  };

  int port_ = 0;
  Service service_;
  std::unique_ptr<grpc::Server> server_;
};

// A load into etcd (here a server answering its Txn calls) counts its
// replies' bytes, and said "rows/op" of them.
TEST(ContentbenchFakeServerTest, EtcdLoadReportsBytesNotRows) {
  FakeServer server(/*answer=*/true);
  CommandResult r = RunCommand(
      {Contentbench(), "load", "--to", "etcd", "--target", server.address(),
       "--articles", "64", "--etcd-batch", "8", "-c", "1", "-m", "2", "-q"},
      "", {}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok        64"));
  EXPECT_THAT(r.out, HasSubstr("  4.0 bytes/op"));
  EXPECT_THAT(r.out, Not(HasSubstr("rows/op")));
}

// The calls in flight when the window ends get 1 s, not --timeout: a
// server that stops answering held a 0.3 s run for the whole --timeout
// (until this test's bound killed it), and the calls it swallowed are
// errors the run reports.
TEST(ContentbenchHungServerTest, RunEndsSoonAfterItsWindow) {
  FakeServer server(/*answer=*/false);
  CommandResult r =
      RunCommand({Contentbench(), "run", "--target", server.address(),
                  "--workload", "health", "-c", "1", "-m", "3", "--warmup", "0",
                  "--duration", "0.3", "--timeout", "600", "--json"},
                 "", {}, std::chrono::seconds(30));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"ok\":0,"));
  EXPECT_THAT(r.out, HasSubstr("\"status\":{\"DEADLINE_EXCEEDED\":3}"));
  EXPECT_THAT(r.err, HasSubstr("no call succeeded"));
}

// A server answering UNAVAILABLE at once (gone, restarting) had each slot
// send its next call at once: a core spun on failures for the whole run
// (thousands a second per slot). A slot now pauses 50 ms after one.
TEST(ContentbenchFakeServerTest, AnUnavailableServerIsNotHammered) {
  FakeServer server(/*answer=*/true, /*unavailable=*/true);
  CommandResult r =
      RunCommand({Contentbench(), "run", "--target", server.address(),
                  "--workload", "health", "-c", "1", "-m", "1", "--warmup", "0",
                  "--duration", "1", "--json"},
                 "", {}, std::chrono::seconds(30));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const size_t at = r.out.find("\"UNAVAILABLE\":");
  ASSERT_NE(at, std::string::npos) << r.out;
  const long failures = std::strtol(r.out.c_str() + at + 14, nullptr, 10);
  // One slot, 1 s, a call every 50 ms: about 20; sent at once, thousands.
  EXPECT_GE(failures, 5) << r.out;
  EXPECT_LE(failures, 40) << r.out;
}

}  // namespace
}  // namespace content
