// Tests for contentd's YAML configuration (server/config.h).

#include "server/config.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace content {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Passes if `s` is INVALID_ARGUMENT and its message names `key`.
::testing::AssertionResult InvalidNaming(const absl::Status& s,
                                         const std::string& key) {
  if (s.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure()
           << "want INVALID_ARGUMENT naming " << key << ", got " << s;
  }
  if (s.message().find(absl::StrCat("config ", key, ":")) ==
      absl::string_view::npos) {
    return ::testing::AssertionFailure()
           << "message does not name " << key << ": " << s;
  }
  return ::testing::AssertionSuccess();
}

absl::Status Load(const std::string& yaml, ServerConfig* config = nullptr) {
  ServerConfig local;
  return LoadConfigText(yaml, config != nullptr ? config : &local);
}

TEST(ConfigTest, EmptyDocumentKeepsDefaults) {
  ServerConfig c;
  ASSERT_TRUE(LoadConfigText("", &c).ok());
  ASSERT_TRUE(LoadConfigText("# only a comment\n", &c).ok());
  EXPECT_EQ(c.listen, "127.0.0.1:7070");
  EXPECT_EQ(c.store.data_dir, "./data");
  EXPECT_TRUE(c.store.sync);
  EXPECT_EQ(c.store.block_cache_bytes, size_t{128} << 20);
  EXPECT_EQ(c.service.write_threads, 128);
  EXPECT_EQ(c.shutdown_grace, absl::Seconds(10));
  EXPECT_EQ(c.service.limits.max_page_size, 1000);
  EXPECT_EQ(c.service.limits.default_page_size, 20);
}

TEST(ConfigTest, EveryKey) {
  ServerConfig c;
  absl::Status s = LoadConfigText(R"(
listen: 0.0.0.0:9090
data_dir: /var/lib/contentd
sync: false
block_cache_mb: 64
write_threads: 4
shutdown_grace_seconds: 3
watch_stall_timeout_ms: 2500
watch_wake_threads: 3
export_stall_timeout_ms: 4500
changelog_retain_events: 500
changelog_retain_hours: 48
retention_interval_ms: 750
limits:
  max_article_bytes: 2097152
  max_tags: 10
  max_term_bytes: 40
  max_title_bytes: 200
  default_page_size: 15
  max_page_size: 500
)",
                                  &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.listen, "0.0.0.0:9090");
  EXPECT_EQ(c.store.data_dir, "/var/lib/contentd");
  EXPECT_FALSE(c.store.sync);
  EXPECT_EQ(c.store.block_cache_bytes, size_t{64} << 20);
  EXPECT_EQ(c.service.write_threads, 4);
  EXPECT_EQ(c.shutdown_grace, absl::Seconds(3));
  EXPECT_EQ(c.service.watch.stall_timeout, absl::Milliseconds(2500));
  EXPECT_EQ(c.service.watch.wake_threads, 3);
  EXPECT_EQ(c.service.exports.stall_timeout, absl::Milliseconds(4500));
  EXPECT_EQ(c.changelog_retain_events, 500);
  EXPECT_EQ(c.changelog_retain_age, absl::Hours(48));
  EXPECT_EQ(c.retention_interval, absl::Milliseconds(750));
  const service::Limits& l = c.service.limits;
  EXPECT_EQ(l.max_article_bytes, 2097152);
  EXPECT_EQ(l.max_list_entries, 10);
  EXPECT_EQ(l.max_term_bytes, 40);
  EXPECT_EQ(l.max_title_bytes, 200);
  EXPECT_EQ(l.default_page_size, 15);
  EXPECT_EQ(l.max_page_size, 500);
}

TEST(ConfigTest, LaterDocumentsOverlayEarlierOnes) {
  ServerConfig c;
  ASSERT_TRUE(LoadConfigText("listen: a:1\nsync: false\n", &c).ok());
  ASSERT_TRUE(LoadConfigText("listen: b:2\n", &c).ok());
  EXPECT_EQ(c.listen, "b:2");
  EXPECT_FALSE(c.store.sync);
}

TEST(ConfigTest, UnknownKeysAreNamed) {
  EXPECT_TRUE(InvalidNaming(Load("colour: blue\n"), "colour"));
  EXPECT_THAT(Load("colour: blue\n").message(), HasSubstr("unknown key"));
  EXPECT_TRUE(
      InvalidNaming(Load("limits:\n  max_widgets: 3\n"), "limits.max_widgets"));
  EXPECT_THAT(Load("limits:\n  max_widgets: 3\n").message(),
              HasSubstr("unknown key"));
  // Even when its value would not have been a number.
  EXPECT_THAT(Load("limits:\n  max_widgets: lots\n").message(),
              HasSubstr("unknown key"));
}

// block_cache_mb took up to 2^44 (16 EiB): RocksDB allocates the cache as
// it fills, so such a value started and then met the OOM killer.
TEST(ConfigTest, BlockCacheIsBoundedByATebibyteAndThisMachinesMemory) {
  absl::Status s = Load("block_cache_mb: 1048577\n");
  EXPECT_TRUE(InvalidNaming(s, "block_cache_mb"));
  EXPECT_THAT(s.message(), HasSubstr("1 to 1048576"));
  s = Load("block_cache_mb: 17592186044415\n");
  EXPECT_TRUE(InvalidNaming(s, "block_cache_mb"));
  EXPECT_THAT(s.message(), HasSubstr("1 to 1048576"));
  const uint64_t memory_mb = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                                 static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) >>
                             20;
  ASSERT_GT(memory_mb, 0u);
  if (memory_mb < 1048576) {
    s = Load(absl::StrCat("block_cache_mb: ", memory_mb + 1, "\n"));
    EXPECT_TRUE(InvalidNaming(s, "block_cache_mb"));
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat(
                                 "must be at most this machine's memory (",
                                 memory_mb, " MiB), got ", memory_mb + 1)));
  }
  // Flags cannot set it, but CheckConfig sees what the file set.
  ServerConfig c;
  ASSERT_TRUE(Load(absl::StrCat("block_cache_mb: ", memory_mb, "\n"), &c).ok());
  EXPECT_EQ(c.store.block_cache_bytes, static_cast<size_t>(memory_mb) << 20);
  EXPECT_TRUE(CheckConfig(c).ok());
}

TEST(ConfigTest, WatchWakeThreadsIsAKey) {
  ServerConfig c;
  EXPECT_EQ(c.service.watch.wake_threads, 2);
  ASSERT_TRUE(Load("watch_wake_threads: 4\n", &c).ok());
  EXPECT_EQ(c.service.watch.wake_threads, 4);
  ASSERT_TRUE(Load("watch_wake_threads: 1\n", &c).ok());
  EXPECT_EQ(c.service.watch.wake_threads, 1);
  for (const char* bad : {"0", "-1", "65", "2.5", "many"}) {
    SCOPED_TRACE(bad);
    absl::Status s = Load(absl::StrCat("watch_wake_threads: ", bad, "\n"));
    EXPECT_TRUE(InvalidNaming(s, "watch_wake_threads"));
  }
  EXPECT_THAT(Load("watch_wake_threads: 65\n").message(), HasSubstr("1 to 64"));
}

TEST(ConfigTest, WrongTypesAreNamed) {
  EXPECT_TRUE(InvalidNaming(Load("listen: [a, b]\n"), "listen"));
  EXPECT_TRUE(InvalidNaming(Load("data_dir: {a: 1}\n"), "data_dir"));
  EXPECT_TRUE(InvalidNaming(Load("sync: maybe\n"), "sync"));
  EXPECT_TRUE(InvalidNaming(Load("block_cache_mb: big\n"), "block_cache_mb"));
  EXPECT_TRUE(InvalidNaming(Load("write_threads: 2.5\n"), "write_threads"));
  EXPECT_TRUE(InvalidNaming(Load("shutdown_grace_seconds: [1]\n"),
                            "shutdown_grace_seconds"));
  EXPECT_TRUE(InvalidNaming(Load("changelog_retain_events: all\n"),
                            "changelog_retain_events"));
  EXPECT_TRUE(InvalidNaming(Load("changelog_retain_hours: 1.5\n"),
                            "changelog_retain_hours"));
  EXPECT_TRUE(InvalidNaming(Load("limits: 5\n"), "limits"));
  EXPECT_TRUE(InvalidNaming(Load("limits: [1, 2]\n"), "limits"));
  EXPECT_TRUE(
      InvalidNaming(Load("limits:\n  max_tags: many\n"), "limits.max_tags"));
  // The error says what the key takes.
  EXPECT_THAT(Load("sync: maybe\n").message(),
              HasSubstr("sync: must be true or false, got \"maybe\""));
  EXPECT_THAT(Load("listen: [a, b]\n").message(),
              HasSubstr("listen: must be a string"));
}

// Integers are decimal, as the flags are (common/decimal.h): yaml-cpp alone
// read `010` as 8 and took `0x10` and `+8`.
TEST(ConfigTest, IntegersAreDecimal) {
  ServerConfig c;
  ASSERT_TRUE(Load("limits:\n  max_tags: 010\nwrite_threads: 8\n", &c).ok());
  EXPECT_EQ(c.service.limits.max_list_entries, 10);
  EXPECT_EQ(c.service.write_threads, 8);
  for (const char* v :
       {"0x10", "1e3", "1.5", "0o7", "10abc", "\"-\"", "+8", "\"+8\""}) {
    absl::Status s = Load(absl::StrCat("limits:\n  max_tags: ", v, "\n"));
    EXPECT_TRUE(InvalidNaming(s, "limits.max_tags")) << v << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr("decimal integer")) << v;
  }
  EXPECT_TRUE(InvalidNaming(Load("export_stall_timeout_ms: 0x10\n"),
                            "export_stall_timeout_ms"));
  // Past the key's type: the range, not "not a number".
  absl::Status s = Load("limits:\n  max_tags: 99999999999\n");
  EXPECT_TRUE(InvalidNaming(s, "limits.max_tags")) << s;
  EXPECT_THAT(s.message(),
              HasSubstr("not in range 1 to 2147483647, got 99999999999"));
}

TEST(ConfigTest, NonPositiveNumbersAreRefused) {
  for (const char* key :
       {"block_cache_mb", "write_threads", "shutdown_grace_seconds",
        "watch_stall_timeout_ms", "retention_interval_ms"}) {
    for (const char* v : {"0", "-1"}) {
      absl::Status s = Load(absl::StrCat(key, ": ", v, "\n"));
      EXPECT_TRUE(InvalidNaming(s, key)) << v;
      // The key's range, worded as the flags word theirs.
      EXPECT_THAT(s.message(), HasSubstr("not in range 1 to "));
    }
  }
  // An export's stall cut-off may be off (0) but not negative.
  ServerConfig never;
  ASSERT_TRUE(Load("export_stall_timeout_ms: 0\n", &never).ok());
  EXPECT_EQ(never.service.exports.stall_timeout, absl::ZeroDuration());
  EXPECT_TRUE(InvalidNaming(Load("export_stall_timeout_ms: -1\n"),
                            "export_stall_timeout_ms"));
  // Retention may be off (0) but not negative.
  for (const char* key :
       {"changelog_retain_events", "changelog_retain_hours"}) {
    EXPECT_TRUE(Load(absl::StrCat(key, ": 0\n")).ok()) << key;
    EXPECT_TRUE(InvalidNaming(Load(absl::StrCat(key, ": -1\n")), key));
  }
  for (const char* key :
       {"max_article_bytes", "max_tags", "max_term_bytes", "max_title_bytes",
        "default_page_size", "max_page_size"}) {
    for (const char* v : {"0", "-3"}) {
      absl::Status s = Load(absl::StrCat("limits:\n  ", key, ": ", v, "\n"));
      EXPECT_TRUE(InvalidNaming(s, absl::StrCat("limits.", key))) << v;
    }
  }
}

// How long a postgres write waits for the write lock (PgKvOptions).
TEST(ConfigTest, StorageLockTimeout) {
  ServerConfig c;
  EXPECT_EQ(c.store.pg_lock_timeout, absl::Seconds(10));
  ASSERT_TRUE(LoadConfigText("storage: {lock_timeout_ms: 2500}\n", &c).ok());
  EXPECT_EQ(c.store.pg_lock_timeout, absl::Milliseconds(2500));
  for (const char* v : {"0", "-1", "3600001"}) {
    EXPECT_TRUE(InvalidNaming(
        Load(absl::StrCat("storage: {lock_timeout_ms: ", v, "}\n")),
        "storage.lock_timeout_ms"))
        << v;
  }
}

// The postgres engine sends a value as hex text in one message, which
// PostgreSQL caps at 1 GB: articles up to the general cap (1 GiB) could
// never be stored there.
TEST(ConfigTest, PostgresCapsMaxArticleBytes) {
  const std::string pg = "storage: {engine: postgres, dsn: 'host=db'}\n";
  EXPECT_TRUE(
      Load(pg + "limits: {max_article_bytes: 268435456}\n").ok());  // 256 MiB
  EXPECT_TRUE(
      InvalidNaming(Load(pg + "limits: {max_article_bytes: 268435457}\n"),
                    "limits.max_article_bytes"));
  // Either order, and not on RocksDB.
  EXPECT_TRUE(
      InvalidNaming(Load("limits: {max_article_bytes: 536870912}\n" + pg),
                    "limits.max_article_bytes"));
  EXPECT_TRUE(Load("limits: {max_article_bytes: 536870912}\n").ok());
  // Flags are applied after the file: contentd checks again, naming each
  // setting as it was given.
  ServerConfig c;
  c.store.engine = "postgres";
  c.store.pg_dsn = "host=db";
  c.service.limits.max_article_bytes = int64_t{512} << 20;
  EXPECT_TRUE(InvalidNaming(CheckConfig(c), "limits.max_article_bytes"));
  ConfigOrigin origin;
  origin.file = "contentd.yaml";
  origin.flags["limits.max_article_bytes"] = "--max-article-bytes";
  absl::Status s = CheckConfig(c, origin);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()),
              StartsWith("--max-article-bytes: must be at most 268435456 "
                         "(256 MiB) with storage.engine postgres in "
                         "contentd.yaml, got 536870912"));
  origin.flags = {{"storage.engine", "--storage-engine"}};
  s = CheckConfig(c, origin);
  EXPECT_THAT(std::string(s.message()),
              StartsWith("contentd.yaml: config limits.max_article_bytes: "
                         "must be at most 268435456 (256 MiB) with "
                         "--storage-engine postgres, got 536870912"));
}

// storage.engine postgres needs a DSN, from the file or --storage-dsn: the
// file alone may leave it to the flag (ReadConfigFile checks no rule
// between keys), and CheckConfig names what was given.
TEST(ConfigTest, PostgresNeedsADsnFromTheFileOrAFlag) {
  EXPECT_TRUE(
      InvalidNaming(Load("storage: {engine: postgres}\n"), "storage.dsn"));
  ServerConfig c;
  c.store.engine = "postgres";
  ConfigOrigin origin;
  origin.flags["storage.engine"] = "--storage-engine";
  EXPECT_EQ(CheckConfig(c, origin).message(),
            "--storage-engine postgres: needs a libpq connection string, "
            "--storage-dsn DSN (or storage.dsn in the config file)");
  c.store.pg_dsn = "host=db";
  EXPECT_TRUE(CheckConfig(c, origin).ok());
}

// A DSN without storage.engine postgres was ignored: contentd served an
// embedded store of its own while its operator took it for the shared one.
TEST(ConfigTest, ADsnWithoutThePostgresEngineIsRefused) {
  absl::Status s = Load("storage: {dsn: \"host=db\"}\n");
  EXPECT_TRUE(InvalidNaming(s, "storage.dsn")) << s;
  EXPECT_THAT(s.message(), HasSubstr("applies only with --storage-engine "
                                     "postgres"));
  ServerConfig c;
  c.store.pg_dsn = "host=db";
  ConfigOrigin origin;
  origin.flags["storage.dsn"] = "--storage-dsn";
  EXPECT_THAT(std::string(CheckConfig(c, origin).message()),
              ::testing::StartsWith("--storage-dsn: applies only with "
                                    "--storage-engine postgres"));
  c.store.pg_dsn.clear();
  origin.flags = {{"storage.table", "--storage-table"}};
  EXPECT_THAT(std::string(CheckConfig(c, origin).message()),
              ::testing::StartsWith("--storage-table: applies only with "));
  c.store.engine = "postgres";
  c.store.pg_dsn = "host=db";
  EXPECT_TRUE(CheckConfig(c, origin).ok());
}

// A receive limit below what one request needs made every write fail in
// gRPC ("Received message larger than max (7617 vs. 100)"), while contentd
// started as if all were well.
TEST(ConfigTest, MessageLimitBelowWhatARequestNeedsIsRefused) {
  EXPECT_TRUE(Load("max_message_bytes: 0\n").ok());
  EXPECT_TRUE(Load("max_message_bytes: 16777216\n").ok());
  absl::Status s = Load("max_message_bytes: 100\n");
  EXPECT_TRUE(InvalidNaming(s, "max_message_bytes"));
  EXPECT_THAT(s.message(), HasSubstr("at least 16777216"));
  EXPECT_THAT(s.message(), HasSubstr("got 100"));
  EXPECT_TRUE(InvalidNaming(Load("max_message_bytes: 16777215\n"),
                            "max_message_bytes"));
  // An article larger than 15 MiB needs room beyond 16 MiB.
  EXPECT_TRUE(InvalidNaming(Load("limits: {max_article_bytes: 33554432}\n"
                                 "max_message_bytes: 33554432\n"),
                            "max_message_bytes"));
  EXPECT_TRUE(Load("limits: {max_article_bytes: 33554432}\n"
                   "max_message_bytes: 34603008\n")
                  .ok());
  // Flags are applied after the file: --max-article-bytes counts too.
  ServerConfig c;
  c.max_message_bytes = int64_t{16} << 20;
  c.service.limits.max_article_bytes = int64_t{64} << 20;
  EXPECT_TRUE(InvalidNaming(CheckConfig(c), "max_message_bytes"));
  // At the largest article the limit is gRPC's own cap, which is allowed.
  c.service.limits.max_article_bytes = int64_t{1} << 30;
  c.max_message_bytes = std::numeric_limits<int>::max();
  EXPECT_TRUE(CheckConfig(c).ok());
}

TEST(ConfigTest, OutOfRangeNumbersAreRefused) {
  // Values that would wrap when narrowed must not turn into 0 or negatives.
  EXPECT_TRUE(InvalidNaming(Load("limits:\n  max_tags: 4294967296\n"),
                            "limits.max_tags"));
  EXPECT_TRUE(InvalidNaming(Load("limits:\n  max_page_size: 2147483648\n"),
                            "limits.max_page_size"));
  EXPECT_TRUE(
      InvalidNaming(Load("write_threads: 4294967297\n"), "write_threads"));
  EXPECT_TRUE(InvalidNaming(Load("block_cache_mb: 17592186044416\n"),
                            "block_cache_mb"));  // 2^64 bytes
  EXPECT_TRUE(InvalidNaming(Load("limits:\n  max_tags: 99999999999999999999\n"),
                            "limits.max_tags"));
  // Not a number at all: .nan passed "must not be negative" and turned the
  // rate limit off; .inf is no limit either.
  for (const char* v : {".nan", ".inf", "-1"}) {
    EXPECT_TRUE(InvalidNaming(
        Load(absl::StrCat("auth: {rate_limit_per_second: ", v, "}\n")),
        "auth.rate_limit_per_second"))
        << v;
    EXPECT_TRUE(
        InvalidNaming(Load(absl::StrCat("auth: {rate_limit_burst: ", v, "}\n")),
                      "auth.rate_limit_burst"))
        << v;
  }
}

// Caps on values that were only checked against their type:
// write_threads: 100000 made the service's constructor throw
// std::system_error after the store opened (terminate, core dump),
// shutdown_grace_seconds near INT64_MAX overflowed now() + grace, and a
// max_article_bytes above 2^61 overflowed 4 x max_article_bytes (both
// undefined behaviour).
TEST(ConfigTest, CapsAreRefusedNamingTheKeyAndTheRange) {
  struct Case {
    std::string yaml;
    std::string key;
    std::string range;
  };
  for (const Case& c : std::vector<Case>{
           {"write_threads: 1025\n", "write_threads", "1 to 1024"},
           {"write_threads: 100000\n", "write_threads", "1 to 1024"},
           {"shutdown_grace_seconds: 86401\n", "shutdown_grace_seconds",
            "1 to 86400"},
           {"shutdown_grace_seconds: 9223372036854775807\n",
            "shutdown_grace_seconds", "1 to 86400"},
           {"limits:\n  max_article_bytes: 1073741825\n",
            "limits.max_article_bytes", "1 to 1073741824"},
           {"limits:\n  max_article_bytes: 2305843009213693952\n",
            "limits.max_article_bytes", "1 to 1073741824"},
       }) {
    absl::Status s = Load(c.yaml);
    EXPECT_TRUE(InvalidNaming(s, c.key)) << c.yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.range)) << c.yaml;
  }
  ServerConfig c;
  ASSERT_TRUE(Load("write_threads: 1024\nshutdown_grace_seconds: 86400\n"
                   "limits:\n  max_article_bytes: 1073741824\n",
                   &c)
                  .ok());
  EXPECT_EQ(c.service.write_threads, 1024);
  EXPECT_EQ(c.shutdown_grace, absl::Hours(24));
  EXPECT_EQ(c.service.limits.max_article_bytes, int64_t{1} << 30);
}

TEST(ConfigTest, DefaultPageSizeMustNotExceedMax) {
  EXPECT_TRUE(InvalidNaming(
      Load("limits:\n  default_page_size: 50\n  max_page_size: 10\n"),
      "limits.default_page_size"));
  EXPECT_TRUE(
      Load("limits:\n  default_page_size: 10\n  max_page_size: 10\n").ok());
  // Against the default max (1000) too.
  EXPECT_FALSE(Load("limits:\n  default_page_size: 1001\n").ok());
}

TEST(ConfigTest, MalformedDocuments) {
  absl::Status s = Load("listen: [unclosed\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("YAML"));
  EXPECT_EQ(Load("- a\n- b\n").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load("just a string\n").code(), absl::StatusCode::kInvalidArgument);
  // A key that is not a scalar is an error, not a crash.
  EXPECT_EQ(Load("? [a, b]\n: 1\n").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Load("limits:\n  ? {a: 1}\n  : 1\n").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ConfigTest, LoadConfigFile) {
  ServerConfig c;
  absl::Status missing = LoadConfigFile("/nonexistent/contentd.yaml", &c);
  // A config error like any other (contentd exits 2), saying why.
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), HasSubstr("/nonexistent/contentd.yaml: No "
                                           "such file or directory"));

  const char* tmp = getenv("TMPDIR");
  std::string path = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                  "/config_test.XXXXXX");
  const int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "listen: 127.0.0.1:0\nwrite_threads: 2\n";
  }
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_EQ(c.listen, "127.0.0.1:0");
  EXPECT_EQ(c.service.write_threads, 2);
  {
    std::ofstream out(path);
    out << "write_threads: 0\n";
  }
  absl::Status bad = LoadConfigFile(path, &c);
  EXPECT_TRUE(InvalidNaming(bad, "write_threads"));
  EXPECT_THAT(bad.message(), HasSubstr(path));  // the file is named too
  std::remove(path.c_str());
}

TEST(ConfigTest, ConfigPathThatIsADirectoryIsRefused) {
  // A Kubernetes configMap mounted without subPath is a directory.
  ServerConfig c;
  const char* tmp = getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                 "/config_test_dir.XXXXXX");
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  absl::Status s = LoadConfigFile(dir, &c);
  rmdir(dir.c_str());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr(dir));
  EXPECT_THAT(s.message(), HasSubstr("is a directory"));
}

// The file's relative paths are relative to its folder, as a kubeconfig's
// are to kubectl: they were taken from the working directory, so the same
// file named other files depending on where contentd was started. An
// absolute path, and text read from no file, stay as written.
TEST(ConfigTest, RelativePathsAreRelativeToTheConfigFile) {
  const char* tmp = getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                 "/config_test_rel.XXXXXX");
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/contentd.yaml";
  {
    std::ofstream out(path);
    out << "data_dir: data\ntls:\n  cert_file: tls/cert.pem\n  key_file: "
           "../key.pem\n  client_ca_file: /etc/contentd/ca.pem\n";
  }
  ServerConfig c;
  absl::Status s = ReadConfigFile(path, &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.store.data_dir, dir + "/data");
  EXPECT_EQ(c.tls.cert_file, dir + "/tls/cert.pem");
  EXPECT_EQ(c.tls.key_file, dir + "/../key.pem");
  EXPECT_EQ(c.tls.client_ca_file, "/etc/contentd/ca.pem");
  // deploy/contentd.yaml's `./data` is DIR/data, not DIR/./data (which
  // contentd's start line showed).
  {
    std::ofstream out(path);
    out << "data_dir: ./data\ntls:\n  cert_file: ./tls/./cert.pem\n  "
           "key_file: key.pem\n";
  }
  ServerConfig dotted;
  s = ReadConfigFile(path, &dotted);
  std::remove(path.c_str());
  rmdir(dir.c_str());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(dotted.store.data_dir, dir + "/data");
  EXPECT_EQ(dotted.tls.cert_file, dir + "/tls/cert.pem");

  ServerConfig text;
  ASSERT_TRUE(LoadConfigText("data_dir: data\ntls: {cert_file: c.pem, "
                             "key_file: k.pem}\n",
                             &text)
                  .ok());
  EXPECT_EQ(text.store.data_dir, "data");
  EXPECT_EQ(text.tls.cert_file, "c.pem");
  // A key the file leaves out keeps its default, relative to the working
  // directory as the flags are.
  EXPECT_EQ(ServerConfig().store.data_dir, "./data");
}

TEST(ConfigTest, ClientCaWithoutCertificateIsRefused) {
  // It would serve plaintext and check no client certificate.
  absl::Status s = Load("tls: {client_ca_file: /etc/ca.pem}\n");
  EXPECT_TRUE(InvalidNaming(s, "tls.client_ca_file"));
  EXPECT_THAT(s.message(), HasSubstr("tls.cert_file and tls.key_file"));
  ServerConfig c;
  ASSERT_TRUE(Load("tls: {cert_file: a.crt, key_file: a.key, "
                   "client_ca_file: ca.pem}\n",
                   &c)
                  .ok());
  EXPECT_EQ(c.tls.client_ca_file, "ca.pem");
}

TEST(ConfigTest, TlsReloadIntervalIsOneSecondToADay) {
  EXPECT_EQ(ServerConfig().tls.reload_interval_seconds, 60);
  ServerConfig c;
  ASSERT_TRUE(Load("tls: {cert_file: a.crt, key_file: a.key, "
                   "reload_interval_seconds: 5}\n",
                   &c)
                  .ok());
  EXPECT_EQ(c.tls.reload_interval_seconds, 5);
  for (const char* bad : {"0", "86401", "-1", "1.5"}) {
    absl::Status s =
        Load(absl::StrCat("tls: {cert_file: a.crt, key_file: "
                          "a.key, reload_interval_seconds: ",
                          bad, "}\n"));
    EXPECT_TRUE(InvalidNaming(s, "tls.reload_interval_seconds")) << bad << s;
  }
}

TEST(ConfigTest, TokensWithTheSameHashAreRefused) {
  const std::string hash(64, 'a');
  const std::string upper(64, 'A');  // the same hash: compared as lowercase
  for (const std::string& second : {hash, upper}) {
    absl::Status s =
        Load(absl::StrCat("auth:\n  tokens:\n"
                          "    - {name: reader1, role: reader, sha256: ",
                          hash,
                          "}\n"
                          "    - {name: boss, role: admin, sha256: ",
                          second, "}\n"));
    EXPECT_TRUE(InvalidNaming(s, "auth.tokens[1].sha256"));
    EXPECT_THAT(s.message(), HasSubstr("\"reader1\""));
    EXPECT_THAT(s.message(), HasSubstr("\"boss\""));
  }
  EXPECT_TRUE(Load(absl::StrCat("auth:\n  tokens:\n"
                                "    - {name: a, role: reader, sha256: ",
                                hash,
                                "}\n"
                                "    - {name: b, role: admin, sha256: ",
                                std::string(64, 'b'), "}\n"))
                  .ok());
}

// Names key the rate-limit buckets and the request log: two tokens under
// one name would share a bucket and be indistinguishable in the log.
TEST(ConfigTest, TokensWithTheSameNameAreRefused) {
  absl::Status s =
      Load(absl::StrCat("auth:\n  tokens:\n"
                        "    - {name: ci, role: reader, sha256: ",
                        std::string(64, 'a'),
                        "}\n"
                        "    - {name: ops, role: admin, sha256: ",
                        std::string(64, 'b'),
                        "}\n"
                        "    - {name: ci, role: editor, sha256: ",
                        std::string(64, 'c'), "}\n"));
  EXPECT_TRUE(InvalidNaming(s, "auth.tokens[2].name"));
  EXPECT_THAT(s.message(), HasSubstr("\"ci\""));
  EXPECT_THAT(s.message(), HasSubstr("auth.tokens[0]"));
}

TEST(ConfigTest, DuplicateKeysAreRefusedAtEveryLevel) {
  struct Case {
    const char* yaml;
    const char* key;
  };
  for (const Case& c : {
           Case{"sync: true\nsync: false\n", "sync"},
           Case{"limits:\n  max_tags: 3\n  max_tags: 4\n", "limits.max_tags"},
           Case{"auth:\n  enabled: true\n  enabled: false\n", "auth.enabled"},
           Case{"auth:\n  tokens:\n    - {name: a, name: b, role: admin}\n",
                "auth.tokens[0].name"},
           Case{"tls:\n  cert_file: a\n  key_file: b\n  cert_file: c\n",
                "tls.cert_file"},
           Case{"retention: {keep_revisions: 1, keep_revisions: 2}\n",
                "retention.keep_revisions"},
           Case{"storage:\n  table: a\n  table: b\n", "storage.table"},
           // A repeated section, not only a repeated leaf.
           Case{"limits: {max_tags: 3}\nlimits: {max_page_size: 9}\n",
                "limits"},
       }) {
    absl::Status s = Load(c.yaml);
    EXPECT_TRUE(InvalidNaming(s, c.key)) << c.yaml;
    EXPECT_THAT(s.message(), HasSubstr("duplicate key")) << c.yaml;
  }
}

// yaml-cpp 0.7 reads YAML's null (a value left blank, `~`, `null`) as the
// string "null": a blank data_dir served a new, empty store in ./null, a
// blank storage.table a table named "null", and a blank token name passed
// "is required".
TEST(ConfigTest, BlankOrNullValuesAreRefusedNamingTheKey) {
  const std::string hash(64, 'a');
  struct Case {
    std::string yaml;
    std::string key;
  };
  for (const Case& c : std::vector<Case>{
           {"data_dir:\n", "data_dir"},
           {"data_dir: ~\n", "data_dir"},
           {"data_dir: null\n", "data_dir"},
           {"listen:\n", "listen"},
           {"metrics_listen: ~\n", "metrics_listen"},
           {"log_requests:\n", "log_requests"},
           {"storage: {engine: postgres, dsn: 'host=x', table: }\n",
            "storage.table"},
           {"storage:\n  engine: postgres\n  dsn:\n", "storage.dsn"},
           {"storage:\n  engine:\n", "storage.engine"},
           {"tls: {cert_file: ~, key_file: ~}\n", "tls.cert_file"},
           {"auth:\n  tokens:\n    - {name: , role: admin, sha256: " + hash +
                "}\n",
            "auth.tokens[0].name"},
           {"auth:\n  tokens:\n    - {name: ci, role: ~, sha256: " + hash +
                "}\n",
            "auth.tokens[0].role"},
           // Booleans and numbers said "has the wrong type"; now the same as
           // strings.
           {"sync:\n", "sync"},
           {"write_threads: ~\n", "write_threads"},
           {"auth: {rate_limit_per_second: }\n", "auth.rate_limit_per_second"},
           {"limits:\n  max_tags:\n", "limits.max_tags"},
           {"retention: {keep_revisions: null}\n", "retention.keep_revisions"},
       }) {
    ServerConfig config;
    absl::Status s = Load(c.yaml, &config);
    EXPECT_TRUE(InvalidNaming(s, c.key)) << c.yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr("must not be empty"))
        << c.yaml;
  }
  // A data directory or table named by an empty string is no more usable.
  EXPECT_TRUE(InvalidNaming(Load("data_dir: ''\n"), "data_dir"));
  EXPECT_TRUE(InvalidNaming(Load("storage: {table: \"\"}\n"), "storage.table"));
  // Quoted, "null" is a string like any other; "" still turns metrics off.
  ServerConfig c;
  ASSERT_TRUE(Load("data_dir: 'null'\nmetrics_listen: \"\"\n", &c).ok());
  EXPECT_EQ(c.store.data_dir, "null");
  EXPECT_EQ(c.metrics_listen, "");
}

// YAML::Load read the first document only: an auth block after `---` was
// dropped in silence.
TEST(ConfigTest, MoreThanOneDocumentIsRefused) {
  for (const char* yaml : {
           "listen: 127.0.0.1:0\n---\nauth:\n  enabled: false\n",
           "listen: 127.0.0.1:0\n...\ndata_dir: /srv/content\n",
           "listen: 127.0.0.1:0\n---\n",
       }) {
    ServerConfig c;
    absl::Status s = Load(yaml, &c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr("config: 2 YAML documents"))
        << yaml;
  }
  // A document marked with `---` (and ended with `...`) is still one.
  ServerConfig c;
  ASSERT_TRUE(Load("---\nlisten: a:1\n...\n", &c).ok());
  EXPECT_EQ(c.listen, "a:1");
}

TEST(ConfigTest, AnUnclosedQuoteIsRefusedNotReadToTheEnd) {
  // yaml-cpp 0.7 alone made this a data_dir named after the next line.
  ServerConfig c;
  absl::Status s =
      LoadConfigText("data_dir: \"/srv/content\nlisten: 127.0.0.1:0\n", &c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("config: invalid YAML at line 1, column 11: the "
                        "double-quoted string opened here has no closing"));
  s = LoadConfigText("auth:\n  tokens:\n    - name: 'ci\n      role: admin\n",
                     &c);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("line 3, column 13: the single-quoted"));
  // yaml-cpp counts positions after a byte order mark (a Windows editor's).
  s = LoadConfigText(
      "\xEF\xBB\xBF"
      "data_dir: \"/srv/content\nlisten: x:1\n",
      &c);
  EXPECT_THAT(std::string(s.message()), HasSubstr("line 1, column 11: the "));
  // Closed quotes, escapes and '' still read.
  ServerConfig ok;
  ASSERT_TRUE(LoadConfigText("data_dir: \"/srv/a\\\"b\"\nlisten: "
                             "'127.0.0.1:0'\nstorage: {table: 'it''s'}\n",
                             &ok)
                  .ok());
  EXPECT_EQ(ok.store.data_dir, "/srv/a\"b");
  EXPECT_EQ(ok.store.pg_table, "it's");
  ServerConfig bom;
  ASSERT_TRUE(LoadConfigText("\xEF\xBB\xBF"
                             "data_dir: \"/srv/b\"\n",
                             &bom)
                  .ok());
  EXPECT_EQ(bom.store.data_dir, "/srv/b");
}

}  // namespace
}  // namespace content
