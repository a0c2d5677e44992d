// Checks the files in deploy/: the manifests parse and carry what operators
// rely on, the configs load in contentd, the systemd unit verifies.
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config.h"
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
  EXPECT_EQ(c["livenessProbe"]["grpc"]["port"].as<int>(), 7070);
  EXPECT_EQ(c["readinessProbe"]["grpc"]["port"].as<int>(), 7070);
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
    // The password comes from PGPASSWORD, never the ConfigMap.
    EXPECT_THAT(config.store.pg_dsn, ::testing::Not(HasSubstr("password")));
    EXPECT_EQ(config.store.pg_table, "contentd_kv");
    EXPECT_TRUE(config.auth.enabled);
    ASSERT_FALSE(config.auth.tokens.empty());
    EXPECT_EQ(service::HashToken(token), config.auth.tokens[0].sha256);
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
  EXPECT_EQ(c["readinessProbe"]["grpc"]["port"].as<int>(), 7070);
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
  for (const auto& m : c["volumeMounts"])
    EXPECT_EQ(m["name"].as<std::string>(), "config");  // nothing stateful
  EXPECT_EQ(pod["volumes"][0]["configMap"]["name"].as<std::string>(),
            configmap_name);

  YAML::Node svc = Load("scale-out/service.yaml");
  EXPECT_EQ(svc["spec"]["clusterIP"].as<std::string>(), "None");
  YAML::Node pdb = Load("scale-out/pdb.yaml");
  EXPECT_EQ(pdb["kind"].as<std::string>(), "PodDisruptionBudget");
  EXPECT_LT(pdb["spec"]["minAvailable"].as<int>(), replicas);
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

TEST(DeployTest, SystemdUnitIsSandboxedAndVerifies) {
  const std::string path = Deploy("systemd/contentd.service");
  const std::string unit = ReadFile(path);
  for (const char* line :
       {"User=contentd", "NoNewPrivileges=yes", "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/contentd", "ProtectHome=yes"}) {
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
