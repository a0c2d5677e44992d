// Checks the files in deploy/: the manifests parse and carry what operators
// rely on, the configs load in contentd, the systemd unit verifies.
#include <arpa/inet.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config.h"
#include "server/service/health.h"
#include "tests/support/ctl.h"
#include "tests/support/harness.h"
#include "yaml-cpp/yaml.h"

namespace content {
namespace {

using ::content::testing::ReadFile;
using ::content::testing::RunCommand;
using ::content::testing::SourceDir;
using ::testing::HasSubstr;

std::string Deploy(const std::string& file) {
  return SourceDir() + "/deploy/" + file;
}

YAML::Node Load(const std::string& file) {
  try {
    return YAML::LoadFile(Deploy(file));
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << file << ": " << e.what();
    return YAML::Node();
  }
}

// The Dockerfile's ENTRYPOINT, in exec form (a JSON array, which is YAML).
std::vector<std::string> Entrypoint() {
  const std::string df = ReadFile(Deploy("Dockerfile"));
  std::smatch m;
  std::regex re("\nENTRYPOINT (\\[[^\n]*\\])");
  if (!std::regex_search(df, m, re)) {
    ADD_FAILURE() << "no exec-form ENTRYPOINT in deploy/Dockerfile";
    return {};
  }
  return YAML::Load(m[1].str()).as<std::vector<std::string>>();
}

// What the container runs: `command` replaces the ENTRYPOINT, `args` are
// appended to it (Kubernetes' rules).
std::vector<std::string> ContainerCommandLine(const YAML::Node& container) {
  std::vector<std::string> argv =
      container["command"].IsDefined()
          ? container["command"].as<std::vector<std::string>>()
          : Entrypoint();
  if (container["args"].IsDefined()) {
    for (const auto& a : container["args"].as<std::vector<std::string>>())
      argv.push_back(a);
  }
  return argv;
}

// The options `contentd --help` lists, long and short.
std::set<std::string> ContentdFlags() {
  auto r = RunCommand({testing::ContentdBinary(), "--help"});
  std::set<std::string> flags;
  std::regex re("(^|[ ,])(--?[A-Za-z][A-Za-z0-9-]*)");
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), re), end; it != end;
       ++it) {
    flags.insert((*it)[2].str());
  }
  return flags;
}

// Checks a container's command line: contentd, each option once and known
// to it, and accepted by the real binary's parser.
void ExpectValidCommandLine(const std::vector<std::string>& argv) {
  SCOPED_TRACE(absl::StrJoin(argv, " "));
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv[0], "/usr/local/bin/contentd");
  const std::set<std::string> known = ContentdFlags();
  ASSERT_TRUE(known.count("--config")) << "cannot read contentd --help";
  std::set<std::string> seen;
  std::vector<std::string> run = {testing::ContentdBinary()};
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a.rfind("-", 0) == 0) {
      const std::string flag = a.substr(0, a.find('='));
      EXPECT_TRUE(known.count(flag)) << flag << " is not a contentd option";
      const std::string name = flag == "-c" ? "--config" : flag;
      EXPECT_TRUE(seen.insert(name).second) << name << " given twice";
    } else if (i > 1 && (argv[i - 1] == "--config" || argv[i - 1] == "-c")) {
      // Not this machine's /etc: reading it must be the first thing to fail.
      a = "/nonexistent/contentd.yaml";
    }
    run.push_back(a);
  }
  // The real parser: with the command line accepted, contentd gets as far as
  // reading the config file.
  auto r = RunCommand(run, "", {}, std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("cannot read /nonexistent/contentd.yaml"));
}

TEST(DeployTest, SampleConfigLoadsWithEveryDefault) {
  ServerConfig config;
  absl::Status s = LoadConfigFile(Deploy("contentd.yaml"), &config);
  ASSERT_TRUE(s.ok()) << s;
  ServerConfig defaults;
  EXPECT_EQ(config.listen, defaults.listen);
  EXPECT_EQ(config.store.sync, defaults.store.sync);
  EXPECT_EQ(config.service.limits.max_page_size,
            defaults.service.limits.max_page_size);
}

TEST(DeployTest, ConfigMapHoldsAValidConfigWithAuthOn) {
  YAML::Node cm = Load("k8s/configmap.yaml");
  EXPECT_EQ(cm["kind"].as<std::string>(), "ConfigMap");
  const std::string text = cm["data"]["contentd.yaml"].as<std::string>();
  ServerConfig config;
  absl::Status s = LoadConfigText(text, &config);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(config.auth.enabled);
  ASSERT_FALSE(config.auth.tokens.empty());
  EXPECT_EQ(config.listen, "0.0.0.0:7070");
  EXPECT_FALSE(config.metrics_listen.empty());
  // The Secret's token is the one the ConfigMap's hash stands for.
  YAML::Node secret = Load("k8s/secret.yaml");
  EXPECT_EQ(secret["kind"].as<std::string>(), "Secret");
  const std::string token = secret["stringData"]["token"].as<std::string>();
  EXPECT_EQ(service::HashToken(token), config.auth.tokens[0].sha256);
}

// The probes of contentd's container `c`: gRPC health on 7070 for all
// three. A slow start (log replay after a crash; on a shared store, the
// DDL lock and a layout upgrade) is the startup probe's to wait out, not
// the liveness probe's to kill: as long as contentd's own start timeout
// (past which it exits by itself; 5 minutes restarted a long layout
// upgrade for ever), and the liveness probe waits for it rather than for a
// guessed initial delay.
void ExpectProbes(const YAML::Node& c) {
  for (const char* probe : {"startupProbe", "livenessProbe", "readinessProbe"})
    EXPECT_EQ(c[probe]["grpc"]["port"].as<int>(), 7070) << probe;
  EXPECT_GE(c["startupProbe"]["periodSeconds"].as<int>() *
                c["startupProbe"]["failureThreshold"].as<int>(),
            absl::ToInt64Seconds(ServerConfig().start_timeout));
  EXPECT_FALSE(c["livenessProbe"]["initialDelaySeconds"].IsDefined());
  // Readiness asks content.v1.Readiness (NOT_SERVING also while the store
  // waits for a database or a repair, which a restart would not cure);
  // startup and liveness ask "" (gRPC's probe sends "" with no service:).
  EXPECT_EQ(c["readinessProbe"]["grpc"]["service"].as<std::string>(""),
            service::kReadinessServiceName);
  for (const char* probe : {"startupProbe", "livenessProbe"})
    EXPECT_EQ(c[probe]["grpc"]["service"].as<std::string>(""), "") << probe;
}

// Every manifest's containers with gRPC probes, by file.
std::vector<std::pair<std::string, YAML::Node>> ProbedContainers() {
  std::vector<std::pair<std::string, YAML::Node>> containers;
  for (const char* file :
       {"k8s/statefulset.yaml", "scale-out/deployment.yaml"}) {
    YAML::Node m = Load(file);
    for (const YAML::Node& c : m["spec"]["template"]["spec"]["containers"])
      containers.emplace_back(file, c);
  }
  return containers;
}

// The names the manifests' probes ask are ones contentd answers SERVING
// (a name it does not know is NOT_FOUND, which Kubernetes takes for a
// failed probe: a pod never ready, or restarted for ever): asked of a real
// contentd with `contentctl admin health --service NAME`.
TEST(DeployTest, ProbesAskHealthNamesContentdServes) {
  std::set<std::string> names;
  for (const auto& [file, c] : ProbedContainers()) {
    for (const char* probe :
         {"startupProbe", "livenessProbe", "readinessProbe"}) {
      ASSERT_TRUE(c[probe]["grpc"].IsDefined()) << file << " " << probe;
      names.insert(c[probe]["grpc"]["service"].as<std::string>(""));
    }
  }
  EXPECT_THAT(names,
              ::testing::ElementsAre("", service::kReadinessServiceName));
  testing::TempDir dir;
  auto server = testing::ServerProcess::Start(dir.path() + "/data");
  ASSERT_NE(server, nullptr);
  for (const std::string& name : names) {
    auto r = testing::Ctl(*server, {"admin", "health", "--service", name});
    EXPECT_EQ(r.exit_code, 0) << "\"" << name << "\": " << r.err;
    EXPECT_THAT(r.out, HasSubstr(" is healthy: SERVING")) << name;
  }
}

// The port a `--metrics-listen 127.0.0.1:0` server took, from its log; 0
// if the log does not say.
int MetricsPort(const testing::ServerProcess& server) {
  std::smatch m;
  const std::string log = server.Log();
  if (!std::regex_search(
          log, m, std::regex("metrics on http://127\\.0\\.0\\.1:(\\d+)/")))
    return 0;
  return std::stoi(m[1].str());
}

// GET `path` on 127.0.0.1:`port` (HTTP/1.0): the whole reply, or "".
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[512];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) reply.append(buf, n);
    }
  }
  close(fd);
  return reply;
}

// GET `path` on 127.0.0.1:`port` (HTTP/1.0): the status line's code, or 0.
int HttpStatus(int port, const std::string& path) {
  const std::string reply = HttpGet(port, path);
  int code = 0;
  std::smatch m;
  if (std::regex_search(reply, m, std::regex("^HTTP/1\\.[01] (\\d{3})")))
    code = std::stoi(m[1].str());
  return code;
}

// Each RocksDB config shipped, as its file is, started the way its
// supervisor starts it (--config FILE --data-dir DIR: the image's
// ENTRYPOINT, the systemd unit's ExecStart; the harness's --listen puts it
// on loopback, and the metrics port on a free one): it serves, answers the
// names the probes ask and the HTTP probes, and takes the token its Secret
// holds while refusing calls without one. Loading the text alone
// (above) does not run the checks a start makes.
TEST(DeployTest, ShippedConfigsStartAsTheirSupervisorsStartThem) {
  struct Case {
    std::string name, text, token;
    std::vector<std::string> extra_args;
  };
  const std::vector<Case> cases = {
      {"k8s/configmap.yaml",
       Load("k8s/configmap.yaml")["data"]["contentd.yaml"].as<std::string>(),
       Load("k8s/secret.yaml")["stringData"]["token"].as<std::string>(),
       {}},
      // Its tokens are empty: a plain `docker run` exits, and its comment
      // says to append --no-auth on a trusted network.
      {"docker/contentd.yaml",
       ReadFile(Deploy("docker/contentd.yaml")),
       "",
       {"--no-auth"}},
      {"contentd.yaml", ReadFile(Deploy("contentd.yaml")), "", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    testing::TempDir dir;
    const std::string config = dir.path() + "/contentd.yaml";
    testing::WriteFile(config, c.text);
    std::vector<std::string> args = {"--config", config};
    ServerConfig parsed;
    ASSERT_TRUE(LoadConfigText(c.text, &parsed).ok());
    const bool metrics = !parsed.metrics_listen.empty();
    if (metrics) {
      args.push_back("--metrics-listen");
      args.push_back("127.0.0.1:0");
    }
    for (const std::string& a : c.extra_args) args.push_back(a);
    auto server = testing::ServerProcess::Start(dir.path() + "/data", args);
    ASSERT_NE(server, nullptr);
    for (const std::string& name :
         {std::string(""), std::string(service::kReadinessServiceName)}) {
      auto r = testing::Ctl(*server, {"admin", "health", "--service", name},
                            {"CONTENT_TOKEN="});
      EXPECT_EQ(r.exit_code, 0) << "\"" << name << "\": " << r.err;
    }
    if (metrics) {
      const int port = MetricsPort(*server);
      ASSERT_GT(port, 0) << server->Log();
      EXPECT_EQ(HttpStatus(port, "/healthz"), 200);
      EXPECT_EQ(HttpStatus(port, "/readyz"), 200);
    }
    if (!c.token.empty()) {
      auto without =
          testing::Ctl(*server, {"admin", "stats"}, {"CONTENT_TOKEN="});
      EXPECT_NE(without.exit_code, 0);
      EXPECT_THAT(without.err, HasSubstr("UNAUTHENTICATED"));
    }
    auto with =
        testing::Ctl(*server, {"admin", "stats"}, {"CONTENT_TOKEN=" + c.token});
    EXPECT_EQ(with.exit_code, 0) << with.err;
    EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Log();
    EXPECT_THAT(server->Log(), HasSubstr("contentd: stopped cleanly"));
  }
}

// deploy/prometheus/contentd-rules.yaml is valid, and each alert fires on
// the series it is for and stays silent on others
// (tests/deploy/contentd-rules.test.yaml). promtool is Prometheus' own
// checker, from Debian's prometheus package (scripts/setup.sh installs it).
TEST(DeployTest, AlertRulesFireOnTheirSeries) {
  testing::CommandResult r = RunCommand(
      {"promtool", "check", "rules", Deploy("prometheus/contentd-rules.yaml")},
      "", {}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0)
      << "promtool (run scripts/setup.sh): " << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("SUCCESS: 11 rules found"));
  r = RunCommand({"promtool", "test", "rules",
                  SourceDir() + "/tests/deploy/contentd-rules.test.yaml"},
                 "", {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("SUCCESS"));
}

// Every series an alert reads is one a real contentd serves, by the name
// and label values the rule uses: a metric renamed (as the RocksDB figures
// were on 2026-12-04) would leave its alert silent for ever.
TEST(DeployTest, AlertRulesReadSeriesContentdServes) {
  testing::TempDir dir;
  auto server = testing::ServerProcess::Start(
      dir.path() + "/data", {"--metrics-listen", "127.0.0.1:0"});
  ASSERT_NE(server, nullptr);
  const int port = MetricsPort(*server);
  ASSERT_GT(port, 0) << server->Log();
  // A GetArticle, so that its counter and histogram exist.
  EXPECT_EQ(testing::Ctl(*server, {"get", "no-such-article"}).exit_code, 1);
  const std::string metrics = HttpGet(port, "/metrics");
  ASSERT_THAT(metrics, HasSubstr("HTTP/1.1 200"));
  // Served names: each `# TYPE NAME KIND`, a histogram's `_bucket` too.
  std::set<std::string> served;
  const std::regex type_line("\n# TYPE ([a-z_]+) ([a-z]+)");
  for (auto it =
           std::sregex_iterator(metrics.begin(), metrics.end(), type_line);
       it != std::sregex_iterator(); ++it) {
    served.insert((*it)[1].str());
    if ((*it)[2].str() == "histogram")
      served.insert((*it)[1].str() + "_bucket");
  }
  // Codes by gRPC's names, as the call above was counted.
  ASSERT_THAT(metrics, HasSubstr("code=\"NOT_FOUND\""));
  std::set<std::string> codes;
  for (int c = 0; c <= 16; ++c) {
    codes.insert(absl::StatusCodeToString(static_cast<absl::StatusCode>(c)));
  }
  const YAML::Node rules = Load("prometheus/contentd-rules.yaml");
  int alerts = 0;
  const std::regex name_re("\\b(contentd_[a-z_]+|process_[a-z_]+)\\b");
  const std::regex label_re("\\b(method|code|reason)=~?\"([^\"]+)\"");
  for (const YAML::Node& group : rules["groups"]) {
    for (const YAML::Node& rule : group["rules"]) {
      ++alerts;
      const std::string expr = rule["expr"].as<std::string>("");
      SCOPED_TRACE(rule["alert"].as<std::string>("?"));
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), name_re);
           it != std::sregex_iterator(); ++it) {
        EXPECT_TRUE(served.count((*it)[1].str()))
            << (*it)[1].str() << " is not served";
      }
      // Label values: each alternative of a regex one contentd could give
      // (the codes are gRPC's names, as contentd writes them).
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), label_re);
           it != std::sregex_iterator(); ++it) {
        for (absl::string_view value : absl::StrSplit((*it)[2].str(), '|')) {
          const std::string label = (*it)[1].str();
          if (label == "code") {
            EXPECT_TRUE(codes.count(std::string(value))) << value;
          } else {
            EXPECT_THAT(metrics,
                        HasSubstr(absl::StrCat(label, "=\"", value, "\"")));
          }
        }
      }
    }
  }
  EXPECT_EQ(alerts, 11);
}

TEST(DeployTest, StatefulSetHasVolumeProbesResourcesAndNonRoot) {
  YAML::Node ss = Load("k8s/statefulset.yaml");
  EXPECT_EQ(ss["kind"].as<std::string>(), "StatefulSet");
  EXPECT_EQ(ss["spec"]["replicas"].as<int>(), 1);
  ASSERT_TRUE(ss["spec"]["volumeClaimTemplates"].IsSequence());
  EXPECT_EQ(ss["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
                .as<std::string>(),
            "data");
  YAML::Node pod = ss["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  YAML::Node c = pod["containers"][0];
  ExpectProbes(c);
  EXPECT_TRUE(c["resources"]["requests"]["cpu"].IsDefined());
  EXPECT_TRUE(c["resources"]["requests"]["memory"].IsDefined());
  bool data_mounted = false, config_mounted = false;
  for (const auto& m : c["volumeMounts"]) {
    const std::string name = m["name"].as<std::string>();
    data_mounted |= name == "data";
    config_mounted |= name == "config";
  }
  EXPECT_TRUE(data_mounted);
  EXPECT_TRUE(config_mounted);
  EXPECT_EQ(c["env"][0]["valueFrom"]["secretKeyRef"]["name"].as<std::string>(),
            Load("k8s/secret.yaml")["metadata"]["name"].as<std::string>());
  EXPECT_EQ(pod["volumes"][0]["configMap"]["name"].as<std::string>(),
            Load("k8s/configmap.yaml")["metadata"]["name"].as<std::string>());
  YAML::Node svc = Load("k8s/service.yaml");
  EXPECT_EQ(svc["spec"]["ports"][0]["port"].as<int>(), 7070);
}

TEST(DeployTest, ScaleOutReplicasShareADatabaseAndHoldNoState) {
  YAML::Node secret = Load("scale-out/secret.yaml");
  ASSERT_EQ(secret["kind"].as<std::string>(), "Secret");
  const std::string secret_name = secret["metadata"]["name"].as<std::string>();
  const std::string token =
      secret["stringData"]["admin-token"].as<std::string>();
  ASSERT_TRUE(secret["stringData"]["db-password"].IsDefined());

  std::string configmap_name;
  std::vector<std::string> dsns;
  std::vector<int> pool_sizes;
  for (const char* file : {"scale-out/configmap-postgres.yaml",
                           "scale-out/configmap-cockroachdb.yaml",
                           "scale-out/configmap-yugabytedb.yaml"}) {
    SCOPED_TRACE(file);
    YAML::Node cm = Load(file);
    ASSERT_EQ(cm["kind"].as<std::string>(), "ConfigMap");
    const std::string name = cm["metadata"]["name"].as<std::string>();
    // One name: the operator applies exactly one of them.
    if (configmap_name.empty()) configmap_name = name;
    EXPECT_EQ(name, configmap_name);
    ServerConfig config;
    absl::Status s =
        LoadConfigText(cm["data"]["contentd.yaml"].as<std::string>(), &config);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(config.store.engine, "postgres");
    EXPECT_THAT(config.store.pg_dsn, HasSubstr("dbname=content"));
    dsns.push_back(config.store.pg_dsn);
    pool_sizes.push_back(config.store.pg_pool_size);
    // The password comes from PGPASSWORD, never the ConfigMap.
    EXPECT_THAT(config.store.pg_dsn, ::testing::Not(HasSubstr("password")));
    EXPECT_EQ(config.store.pg_table, "contentd_kv");
    EXPECT_TRUE(config.auth.enabled);
    ASSERT_FALSE(config.auth.tokens.empty());
    EXPECT_EQ(service::HashToken(token), config.auth.tokens[0].sha256);
    // A replica notices a database that went silent in seconds, not after
    // the kernel's 15 minutes of retransmissions (docs/scaling.md).
    for (const char* keyword :
         {"keepalives=1", "keepalives_idle=", "tcp_user_timeout="})
      EXPECT_THAT(config.store.pg_dsn, HasSubstr(keyword));
    // CockroachDB has no advisory locks.
    if (std::string(file).find("cockroach") != std::string::npos)
      EXPECT_FALSE(config.store.pg_write_lock);
  }

  YAML::Node d = Load("scale-out/deployment.yaml");
  ASSERT_EQ(d["kind"].as<std::string>(), "Deployment");
  const int replicas = d["spec"]["replicas"].as<int>();
  EXPECT_GE(replicas, 2);
  EXPECT_FALSE(d["spec"]["volumeClaimTemplates"].IsDefined());
  YAML::Node pod = d["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  YAML::Node c = pod["containers"][0];
  // A replica cut off from the database leaves the Service's endpoints
  // (readiness) but is not restarted: liveness and startup ask "", which
  // stays SERVING through a database outage.
  ExpectProbes(c);
  bool password_from_secret = false;
  for (const auto& e : c["env"]) {
    if (e["name"].as<std::string>() == "PGPASSWORD") {
      password_from_secret =
          e["valueFrom"]["secretKeyRef"]["name"].as<std::string>() ==
              secret_name &&
          e["valueFrom"]["secretKeyRef"]["key"].as<std::string>() ==
              "db-password";
    }
  }
  EXPECT_TRUE(password_from_secret);
  // Nothing stateful: every mount is read-only, the ConfigMap's or an
  // optional Secret's (certificates; a deployment without TLS has none).
  std::map<std::string, YAML::Node> volumes;
  for (const YAML::Node& v : pod["volumes"])
    volumes[v["name"].as<std::string>()] = v;
  std::vector<std::string> secret_dirs;
  bool config_mounted = false;
  for (const auto& m : c["volumeMounts"]) {
    const std::string name = m["name"].as<std::string>();
    SCOPED_TRACE(name);
    ASSERT_EQ(volumes.count(name), 1u);
    EXPECT_TRUE(m["readOnly"].IsDefined() && m["readOnly"].as<bool>());
    const YAML::Node& v = volumes[name];
    if (v["configMap"].IsDefined()) {
      EXPECT_EQ(v["configMap"]["name"].as<std::string>(), configmap_name);
      config_mounted = true;
      continue;
    }
    ASSERT_TRUE(v["secret"].IsDefined()) << "neither a ConfigMap nor a Secret";
    EXPECT_TRUE(v["secret"]["optional"].IsDefined() &&
                v["secret"]["optional"].as<bool>());
    secret_dirs.push_back(m["mountPath"].as<std::string>());
  }
  EXPECT_TRUE(config_mounted);
  // Files a DSN names are mounted (configmap-cockroachdb.yaml's CA was not).
  for (const std::string& dsn : dsns) {
    for (const char* keyword : {"sslrootcert=", "sslcert=", "sslkey="}) {
      const size_t at = dsn.find(keyword);
      if (at == std::string::npos) continue;
      const size_t from = at + std::strlen(keyword);
      const std::string path = dsn.substr(from, dsn.find(' ', from) - from);
      bool mounted = false;
      for (const std::string& dir : secret_dirs)
        mounted |= absl::StartsWith(path, dir + "/");
      EXPECT_TRUE(mounted) << path << " (" << dsn << ") is not mounted";
    }
  }

  // The connection budget of docs/scaling.md: during a rollout every pod
  // (replicas + maxSurge) may hold 4 x pool_size + 2 connections, within
  // PostgreSQL's default max_connections (100) less the 3 it reserves for
  // superusers. 3 replicas + 1 at pool_size 16 needed 264.
  const int pods =
      replicas + d["spec"]["strategy"]["rollingUpdate"]["maxSurge"].as<int>();
  for (const int pool_size : pool_sizes)
    EXPECT_LE(pods * (4 * pool_size + 2), 100 - 3) << "pool_size " << pool_size;

  YAML::Node svc = Load("scale-out/service.yaml");
  EXPECT_EQ(svc["spec"]["clusterIP"].as<std::string>(), "None");
  YAML::Node pdb = Load("scale-out/pdb.yaml");
  EXPECT_EQ(pdb["kind"].as<std::string>(), "PodDisruptionBudget");
  EXPECT_EQ(pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
                .as<std::string>(),
            "contentd");
}

// The evictions a PodDisruptionBudget allows with `replicas` pods, all
// healthy (the disruption controller's sum for integer budgets).
int DisruptionsAllowed(const YAML::Node& pdb_spec, int replicas) {
  if (pdb_spec["maxUnavailable"].IsDefined())
    return std::max(0, pdb_spec["maxUnavailable"].as<int>());
  return std::max(0, replicas - pdb_spec["minAvailable"].as<int>());
}

// The budget lets a drain through at every size `kubectl scale` may give
// the Deployment (docs/scaling.md), and keeps two of the shipped replicas:
// minAvailable: 2 allowed no eviction at 2 replicas, so `kubectl drain`
// waited for ever on a node running one.
TEST(DeployTest, ScaleOutDisruptionBudgetNeverBlocksADrain) {
  YAML::Node pdb = Load("scale-out/pdb.yaml");
  ASSERT_EQ(pdb["kind"].as<std::string>(), "PodDisruptionBudget");
  const YAML::Node spec = pdb["spec"];
  // Only one of the two, as an integer (a percentage rounds by size).
  ASSERT_NE(spec["minAvailable"].IsDefined(),
            spec["maxUnavailable"].IsDefined());
  for (const char* key : {"minAvailable", "maxUnavailable"}) {
    if (spec[key].IsDefined())
      ASSERT_EQ(spec[key].as<std::string>().find('%'), std::string::npos);
  }
  for (int replicas = 2; replicas <= 10; ++replicas)
    EXPECT_GE(DisruptionsAllowed(spec, replicas), 1) << replicas << " replicas";
  const int shipped =
      Load("scale-out/deployment.yaml")["spec"]["replicas"].as<int>();
  EXPECT_GE(shipped - DisruptionsAllowed(spec, shipped), 2);
}

TEST(DeployTest, DockerfileIsMultiStageAndRunsAsNonRoot) {
  const std::string df = ReadFile(Deploy("Dockerfile"));
  EXPECT_THAT(df, HasSubstr("FROM debian:12 AS build"));
  EXPECT_THAT(df, HasSubstr("FROM debian:12-slim"));
  EXPECT_THAT(df, HasSubstr("COPY --from=build"));
  // Every library contentd links, at build and at run time.
  EXPECT_THAT(df, HasSubstr("libpqxx-dev"));
  EXPECT_THAT(df, HasSubstr("libpqxx-6.4"));
  EXPECT_THAT(df, HasSubstr("libdtl-dev"));
  EXPECT_THAT(df, ::testing::ContainsRegex("\nUSER [1-9][0-9]*"));
}

// The Dockerfile makes its user with the uid and gid it runs as (USER) and
// the manifests run it as (runAsUser, runAsGroup, fsGroup): its groupadd
// and useradd, run as written against an empty /etc (--prefix). A bare
// `useradd --system --uid 10001` made the group contentd with the next
// free system gid (999 on debian:12-slim), so /var/lib/contentd was
// contentd:999 while the process ran as group 10001.
TEST(DeployTest, ImageUserHasTheUidAndGidItRunsAs) {
  const std::string df = ReadFile(Deploy("Dockerfile"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(df, m, std::regex("\nUSER (\\d+):(\\d+)\n")));
  const std::string uid = m[1].str(), gid = m[2].str();
  for (const char* file :
       {"k8s/statefulset.yaml", "scale-out/deployment.yaml"}) {
    const YAML::Node sc =
        Load(file)["spec"]["template"]["spec"]["securityContext"];
    EXPECT_EQ(sc["runAsUser"].as<std::string>(), uid) << file;
    EXPECT_EQ(sc["runAsGroup"].as<std::string>(), gid) << file;
    if (sc["fsGroup"].IsDefined())
      EXPECT_EQ(sc["fsGroup"].as<std::string>(), gid) << file;
  }
  // The runtime stage's commands that make users and groups.
  const std::string runtime = df.substr(df.find("\nFROM debian:12-slim"));
  std::vector<std::vector<std::string>> commands;
  std::string joined = std::regex_replace(runtime, std::regex("\\\\\n"), " ");
  for (absl::string_view part : absl::StrSplit(joined, "&&")) {
    for (absl::string_view line : absl::StrSplit(part, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (absl::StartsWith(line, "RUN ")) line.remove_prefix(4);
      if (absl::StartsWith(line, "useradd ") ||
          absl::StartsWith(line, "groupadd ")) {
        commands.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
      }
    }
  }
  ASSERT_FALSE(commands.empty()) << "no useradd in the runtime stage";
  if (geteuid() != 0) GTEST_SKIP() << "useradd --prefix needs root";
  if (access("/usr/sbin/useradd", X_OK) != 0 ||
      access("/usr/sbin/groupadd", X_OK) != 0) {
    GTEST_SKIP() << "no useradd/groupadd";
  }
  testing::TempDir root;
  const std::string etc = root.path() + "/etc";
  ASSERT_EQ(RunCommand({"mkdir", "-p", etc}).exit_code, 0);
  testing::WriteFile(etc + "/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  testing::WriteFile(etc + "/group", "root:x:0:\n");
  testing::WriteFile(etc + "/shadow", "root:*:19000:0:99999:7:::\n");
  testing::WriteFile(etc + "/gshadow", "root:*::\n");
  if (access("/etc/login.defs", R_OK) == 0)
    testing::WriteFile(etc + "/login.defs", ReadFile("/etc/login.defs"));
  for (std::vector<std::string> argv : commands) {
    SCOPED_TRACE(absl::StrJoin(argv, " "));
    argv[0] = "/usr/sbin/" + argv[0];
    argv.insert(argv.begin() + 1, {"--prefix", root.path()});
    auto r = RunCommand(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // name:x:uid:gid:... and name:x:gid:...
  std::map<std::string, std::vector<std::string>> users, groups;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(etc + "/passwd"), '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ':');
    users[f[0]] = f;
  }
  for (absl::string_view line :
       absl::StrSplit(ReadFile(etc + "/group"), '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ':');
    groups[f[0]] = f;
  }
  ASSERT_EQ(users.count("contentd"), 1u);
  EXPECT_EQ(users["contentd"][2], uid);
  EXPECT_EQ(users["contentd"][3], gid);
  EXPECT_EQ(users["contentd"][5], "/var/lib/contentd");
  ASSERT_EQ(groups.count("contentd"), 1u);
  EXPECT_EQ(groups["contentd"][2], gid);
  // `chown contentd:contentd /var/lib/contentd` then gives the directory
  // the process's own group.
  EXPECT_THAT(runtime, HasSubstr("chown contentd:contentd /var/lib/contentd"));
}

// The patterns of an ignore file (.gitignore, .dockerignore) that name
// entries of the repository's root: anchored ("/build*/") or not.
std::vector<std::string> RootPatterns(const std::string& path) {
  std::vector<std::string> patterns;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    absl::ConsumePrefix(&line, "/");
    absl::ConsumeSuffix(&line, "/");
    patterns.emplace_back(line);
  }
  return patterns;
}

bool MatchesAny(const std::vector<std::string>& patterns,
                const std::string& name) {
  for (const std::string& p : patterns) {
    if (fnmatch(p.c_str(), name.c_str(), FNM_PERIOD) == 0) return true;
  }
  return false;
}

// `docker build -f deploy/Dockerfile .` sends the repository root and
// COPY . . takes all of it: .dockerignore leaves out what .gitignore does
// (build trees, a local store) and .git, and keeps every source. There was
// none, and a built checkout sent its build trees (2 GB each) with every
// image build.
TEST(DeployTest, ImageBuildContextLeavesOutBuildTreesAndStores) {
  const std::string root = SourceDir();
  ASSERT_EQ(access((root + "/.dockerignore").c_str(), R_OK), 0)
      << "no .dockerignore beside the build context's root";
  const std::vector<std::string> ignored =
      RootPatterns(root + "/.dockerignore");
  for (const std::string& p : ignored) {
    // The simple matcher below is Docker's for these only.
    ASSERT_EQ(p.find_first_of("/!"), std::string::npos) << p;
  }
  const std::vector<std::string> git_ignored =
      RootPatterns(root + "/.gitignore");
  // What the root holds here, and what the README's builds make there.
  std::set<std::string> names = {"build", "build-rel", "build-asan",
                                 "data",  ".cache",    "compile_commands.json",
                                 ".git"};
  for (const auto& e : std::filesystem::directory_iterator(root))
    names.insert(e.path().filename().string());
  for (const std::string& name : names) {
    const bool generated = name == ".git" || MatchesAny(git_ignored, name);
    EXPECT_EQ(MatchesAny(ignored, name), generated)
        << name << (generated ? " is sent" : " (a source) is left out");
  }
  // The files the Dockerfile copies by name are sent.
  EXPECT_FALSE(MatchesAny(ignored, "deploy"));
}

// The packages the Dockerfile's runtime stage installs.
std::set<std::string> RuntimePackages() {
  const std::string df = ReadFile(Deploy("Dockerfile"));
  const size_t stage = df.find("\nFROM debian:12-slim");
  const size_t install = df.find("apt-get install", stage);
  if (stage == std::string::npos || install == std::string::npos) {
    ADD_FAILURE() << "no apt-get install in the runtime stage";
    return {};
  }
  const size_t end = df.find("&&", install);
  std::set<std::string> packages;
  for (absl::string_view word :
       absl::StrSplit(df.substr(install, end - install),
                      absl::ByAnyChar(" \t\n\\"), absl::SkipEmpty())) {
    word = absl::StripPrefix(absl::StripSuffix(word, "'"), "'");
    if (word != "apt-get" && word != "install" && word[0] != '-')
      packages.insert(std::string(word));
  }
  return packages;
}

// The Debian package of each shared library `binary` names (its NEEDED
// entries; ldd says where each resolves, dpkg -S who ships it).
std::set<std::string> NeededPackages(const std::string& binary) {
  auto elf = RunCommand({"readelf", "-d", binary});
  auto ldd = RunCommand({"ldd", binary});
  EXPECT_EQ(elf.exit_code, 0) << elf.err;
  EXPECT_EQ(ldd.exit_code, 0) << ldd.err;
  std::vector<std::string> paths;
  std::regex needed("\\(NEEDED\\)[^\\[]*\\[([^\\]]+)\\]");
  for (std::sregex_iterator it(elf.out.begin(), elf.out.end(), needed), end;
       it != end; ++it) {
    const std::string soname = (*it)[1].str();
    // `\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x...)`, or the
    // loader's own line, `\t/lib64/ld-linux-x86-64.so.2 (0x...)`.
    std::smatch m;
    std::regex line("(^|\n)\\s*(\\S*/)?" +
                    std::regex_replace(soname, std::regex("[.+]"), "\\$&") +
                    "( => (\\S+))? \\(");
    if (!std::regex_search(ldd.out, m, line) ||
        (m[4].matched ? m[4].str() : m[2].str()).empty()) {
      ADD_FAILURE() << binary << ": ldd does not resolve " << soname << "\n"
                    << ldd.out;
      continue;
    }
    paths.push_back(m[4].matched ? m[4].str() : m[2].str() + soname);
  }
  // dpkg knows /lib/... or /usr/lib/... (merged /usr): ask both, in one
  // call (it exits 1 for those it does not know).
  std::vector<std::string> argv = {"dpkg", "-S"};
  for (const std::string& path : paths) {
    argv.push_back(path);
    argv.push_back(absl::StartsWith(path, "/usr/")
                       ? path.substr(4)
                       : absl::StrCat("/usr", path));
  }
  // `libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3`
  std::map<std::string, std::string> owner;
  for (absl::string_view l : absl::StrSplit(RunCommand(argv).out, '\n')) {
    const size_t colon = l.find(": /");
    if (colon == absl::string_view::npos) continue;
    const absl::string_view package = l.substr(0, l.find_first_of(":,"));
    owner[std::string(l.substr(colon + 2))] = std::string(package);
    // The other spelling of the path too.
    const std::string path(l.substr(colon + 2));
    owner[absl::StartsWith(path, "/usr/") ? path.substr(4)
                                          : absl::StrCat("/usr", path)] =
        std::string(package);
  }
  std::set<std::string> packages;
  for (const std::string& path : paths) {
    if (owner.count(path)) {
      packages.insert(owner[path]);
    } else {
      ADD_FAILURE() << path << " is in no package";
    }
  }
  return packages;
}

// The runtime stage installs the packages of the shared libraries contentd
// and contentctl load, and nothing else: with gRPC, protobuf, Abseil and
// yaml-cpp linked in (CONTENT_STATIC_DEPS), it still installed their shared
// libraries (and RocksDB's), and named none of what RocksDB's archive
// needs (snappy, lz4, zstd, bzip2) nor libssl3, which only came along as
// dependencies of the packages it no longer needed.
TEST(DeployTest, ImageInstallsExactlyThePackagesTheBinariesLoad) {
#ifndef CONTENT_TEST_IMAGE_LINKAGE
  GTEST_SKIP() << "this build links otherwise than the image's (a sanitizer, "
                  "CONTENT_STATIC_DEPS, CONTENT_ROCKSDB_STATIC or tcmalloc)";
#endif
  if (access("/usr/bin/dpkg", X_OK) != 0)
    GTEST_SKIP() << "not a Debian system: no dpkg to name packages";
  if (RunCommand({"readelf", "--version"}).exit_code != 0)
    GTEST_SKIP() << "no readelf";
  std::set<std::string> needed = NeededPackages(testing::ContentdBinary());
  for (const std::string& p : NeededPackages(testing::ContentctlBinary()))
    needed.insert(p);
  ASSERT_TRUE(needed.count("libc6")) << absl::StrJoin(needed, " ");
  EXPECT_EQ(absl::StrJoin(RuntimePackages(), " "), absl::StrJoin(needed, " "));
}

TEST(DeployTest, ManifestCommandLinesAreValidWithTheImageEntrypoint) {
  ExpectValidCommandLine(Entrypoint());
  for (const char* file :
       {"k8s/statefulset.yaml", "scale-out/deployment.yaml"}) {
    SCOPED_TRACE(file);
    YAML::Node c = Load(file)["spec"]["template"]["spec"]["containers"][0];
    const std::vector<std::string> argv = ContainerCommandLine(c);
    ExpectValidCommandLine(argv);
    // The config it loads is the configMap's file, in a directory mount:
    // a subPath mount never sees the configMap's updates, so changed
    // tokens (read again while contentd runs) never reached the pod.
    std::string config_path;
    for (size_t i = 1; i + 1 < argv.size(); ++i)
      if (argv[i] == "--config" || argv[i] == "-c") config_path = argv[i + 1];
    bool mounted = false;
    for (const auto& m : c["volumeMounts"]) {
      if (m["name"].as<std::string>() != "config") continue;
      EXPECT_FALSE(m["subPath"].IsDefined())
          << "a subPath mount of the configMap never sees its updates";
      mounted |=
          m["mountPath"].as<std::string>() + "/contentd.yaml" == config_path;
    }
    EXPECT_TRUE(mounted) << config_path << " is not the configMap's file";
    // No mount inside it: a read-only configMap volume cannot take the
    // mount point a runtime would make there.
    for (const auto& m : c["volumeMounts"]) {
      if (m["name"].as<std::string>() == "config") continue;
      EXPECT_FALSE(
          absl::StartsWith(m["mountPath"].as<std::string>(), "/etc/contentd/"))
          << m["mountPath"].as<std::string>();
    }
  }
}

TEST(DeployTest, ImageConfigListensOnTheExposedPorts) {
  const std::string df = ReadFile(Deploy("Dockerfile"));
  // The image's config is the one its ENTRYPOINT loads.
  const std::vector<std::string> entry = Entrypoint();
  std::string config_path;
  for (size_t i = 1; i + 1 < entry.size(); ++i)
    if (entry[i] == "--config") config_path = entry[i + 1];
  ASSERT_FALSE(config_path.empty());
  EXPECT_THAT(df, HasSubstr("COPY deploy/docker/contentd.yaml " + config_path));
  ServerConfig config;
  absl::Status s = LoadConfigFile(Deploy("docker/contentd.yaml"), &config);
  ASSERT_TRUE(s.ok()) << s;
  // Reachable from outside the container, on the ports it EXPOSEs.
  EXPECT_EQ(config.listen, "0.0.0.0:7070");
  EXPECT_EQ(config.metrics_listen, "0.0.0.0:9464");
  EXPECT_THAT(df, HasSubstr("\nEXPOSE 7070 9464\n"));
  // Auth stays on: a plain `docker run` needs tokens or an explicit
  // --no-auth, and the file says so.
  EXPECT_TRUE(config.auth.enabled);
  const std::string text = ReadFile(Deploy("docker/contentd.yaml"));
  EXPECT_THAT(text, HasSubstr("--no-auth"));
  EXPECT_THAT(text, HasSubstr("auth.tokens"));
}

// The test PostgreSQL starts for root from a clone the postgres user
// cannot reach (under /root, mode 0700): every PostgreSQL test failed so on
// a fresh machine.
TEST(DeployTest, TestPostgresStartsUnderADirectoryOnlyRootCanReach) {
  if (geteuid() != 0) GTEST_SKIP() << "the case is root's";
  if (access("/usr/lib/postgresql/15/bin/initdb", X_OK) != 0)
    GTEST_SKIP() << "PostgreSQL 15 is not installed";
  testing::TempDir dir;
  const std::string locked = dir.path() + "/locked";
  ASSERT_EQ(RunCommand({"install", "-d", "-m", "0700", locked}).exit_code, 0);
  const std::string pg = SourceDir() + "/tests/support/pg.sh";
  auto r = RunCommand({"bash", pg, "start", locked + "/pg"}, "", {},
                      std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(ReadFile(locked + "/pg/dsn"), HasSubstr("host=127.0.0.1 port="));
  EXPECT_EQ(RunCommand({"bash", pg, "status", locked + "/pg"}).exit_code, 0);
  r = RunCommand({"bash", pg, "stop", locked + "/pg"}, "", {},
                 std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(RunCommand({"bash", pg, "status", locked + "/pg"}).exit_code, 0);
  // The cluster's directory in /tmp went with the stop, and the status
  // after it made none that stayed behind (each left an empty
  // /tmp/contentd-pg-* owned by postgres), nor does a second stop.
  const auto hash =
      RunCommand({"bash", "-c", "printf '%s' \"$1\" | sha1sum | cut -c1-16",
                  "-", locked + "/pg"});
  ASSERT_EQ(hash.exit_code, 0) << hash.err;
  const std::string home =
      "/tmp/contentd-pg-" +
      std::string(absl::StripTrailingAsciiWhitespace(hash.out));
  EXPECT_NE(access(home.c_str(), F_OK), 0) << home << " was left behind";
  r = RunCommand({"bash", pg, "stop", locked + "/pg"}, "", {},
                 std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(access(home.c_str(), F_OK), 0) << home << " was left behind";
}

// The README's first command: scripts/run.sh starts contentd with the
// samples loaded, says where it serves, and stops it on Ctrl-C. (Set-up
// and build are skipped: CI's run of scripts/test.sh does them.)
TEST(DeployTest, RunScriptServesTheSamplesAndStopsOnCtrlC) {
  testing::TempDir dir;
  // BUILD_DIR holds the binaries under test (and run.sh's port file).
  const std::string bin = dir.path() + "/bin";
  ASSERT_EQ(RunCommand({"mkdir", bin}).exit_code, 0);
  ASSERT_EQ(
      symlink(testing::ContentdBinary().c_str(), (bin + "/contentd").c_str()),
      0);
  ASSERT_EQ(symlink(testing::ContentctlBinary().c_str(),
                    (bin + "/contentctl").c_str()),
            0);
  const std::string data = dir.path() + "/data";
  const std::string out = dir.path() + "/out";
  auto run = testing::BackgroundCommand::Start(
      {"bash", SourceDir() + "/scripts/run.sh"}, out, dir.path() + "/err",
      {"CONTENT_SETUP=0", "BUILD_DIR=" + bin, "DATA_DIR=" + data,
       "CONTENT_LISTEN=127.0.0.1:0"});
  ASSERT_NE(run, nullptr);
  const std::string kServing = "contentd is serving on ";
  std::string text;
  for (int i = 0; i < 600 && !absl::StrContains(text, "Ctrl-C stops it"); ++i) {
    usleep(100 * 1000);
    text = ReadFile(out);
  }
  const size_t at = text.find(kServing);
  ASSERT_NE(at, std::string::npos) << text << ReadFile(dir.path() + "/err");
  const std::string server =
      text.substr(at + kServing.size(),
                  text.find('.', text.find(':', at + kServing.size())) -
                      (at + kServing.size()));
  EXPECT_THAT(text, HasSubstr("applied 6 files: 6 created"));

  auto q = RunCommand({testing::ContentctlBinary(), "--server", server, "query",
                       "--tag", "ai"});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_THAT(q.out, HasSubstr("articles/deepseek-brokers"));

  ASSERT_EQ(kill(run->pid(), SIGINT), 0);
  const testing::CommandResult r = run->Wait(std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  // contentd stopped (it left the store's lock) and kept the samples.
  auto again = testing::ServerProcess::Start(data);
  ASSERT_NE(again, nullptr);
  q = testing::Ctl(*again, {"query"});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  int rows = 0;
  for (size_t p = q.out.find("\narticles/"); p != std::string::npos;
       p = q.out.find("\narticles/", p + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, 6) << q.out;
}

TEST(DeployTest, SystemdUnitIsSandboxedAndVerifies) {
  const std::string path = Deploy("systemd/contentd.service");
  const std::string unit = ReadFile(path);
  for (const char* line :
       {"User=contentd", "NoNewPrivileges=yes", "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/contentd", "ProtectHome=yes",
        // contentd stops feeding the watchdog when health turns NOT_SERVING:
        // the only way systemd learns to restart it.
        "\nType=notify\n", "\nNotifyAccess=main\n", "\nWatchdogSec=30s\n",
        "\nRestart=on-failure\n",
        // contentd exits 2 on a configuration it refuses, which a restart
        // would meet again (docs/scaling.md: a login the database refuses).
        "\nRestartPreventExitStatus=2\n"}) {
    EXPECT_THAT(unit, HasSubstr(line));
  }
  if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
    GTEST_SKIP() << "systemd-analyze not installed";
  }
  // verify wants the ExecStart binary to exist: point it at a copy whose
  // ExecStart is the built contentd.
  testing::TempDir dir;
  std::string copy = unit;
  const std::string from = "/usr/local/bin/contentd";
  copy.replace(copy.find(from), from.size(), testing::ContentdBinary());
  testing::WriteFile(dir.path() + "/contentd.service", copy);
  auto r = RunCommand({"systemd-analyze", "verify", "--man=no",
                       dir.path() + "/contentd.service"});
  // Only lines about this unit count; the host's own units may be noisy.
  std::string ours;
  for (size_t start = 0, end; start < r.err.size(); start = end + 1) {
    end = r.err.find('\n', start);
    if (end == std::string::npos) end = r.err.size();
    const std::string line = r.err.substr(start, end - start);
    if (line.find("contentd.service") != std::string::npos) ours += line + "\n";
  }
  EXPECT_EQ(ours, "") << r.err;
}

}  // namespace
}  // namespace content
