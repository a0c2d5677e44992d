// contentd's configuration: a YAML file, then command-line flags on top.
#ifndef CONTENT_SERVER_CONFIG_H_
#define CONTENT_SERVER_CONFIG_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/service/auth.h"
#include "server/service/content_service.h"
#include "server/service/metrics.h"
#include "server/store/store.h"

namespace content {

// The longest shutdown_grace_seconds accepted: a day, far past what a
// supervisor waits (systemd's default stop timeout is 90 s). The grace is
// added to system_clock::now() for the gRPC shutdown deadline, which
// overflowed (undefined behaviour) near INT64_MAX seconds.
inline constexpr int64_t kMaxShutdownGraceSeconds = 86400;

// The longest start_timeout_seconds accepted: a week, which is no bound in
// practice for those who want none.
inline constexpr int64_t kMaxStartTimeoutSeconds = 7 * 86400;

// The largest block_cache_mb accepted: 1 TiB. RocksDB allocates the cache as
// it fills, so a value past the machine's memory starts fine and ends in the
// OOM killer; beyond this no machine contentd runs on has the memory, and
// the bytes (MiB << 20) stay far from overflowing. CheckConfig also refuses
// more than this machine's physical memory.
inline constexpr int64_t kMaxBlockCacheMb = int64_t{1} << 20;
// The most watch_wake_threads accepted. Each takes a share of at least 32
// watchers per commit, so 64 wake 2,048 watchers at once; threads beyond
// the cores only contend.
inline constexpr int64_t kMaxWatchWakeThreads = 64;

// TLS for the gRPC port.
struct TlsConfig {
  // PEM certificate chain and key; TLS is on when both are set.
  std::string cert_file;
  std::string key_file;
  // PEM CA bundle; when set, clients must present a certificate it signed
  // (mutual TLS).
  std::string client_ca_file;
  // How often the three files are read again: a renewed certificate (a
  // cert-manager Secret) is served to new connections without a restart.
  // 1 to 86400. Default: 60.
  int reload_interval_seconds = 60;
};

// Everything contentd can be told. Defaults serve 127.0.0.1:7070 from ./data.
struct ServerConfig {
  // Address to serve on; port 0 picks a free one. Default: "127.0.0.1:7070".
  std::string listen = "127.0.0.1:7070";
  // Store settings (data_dir, sync, block cache).
  store::StoreOptions store;
  // Limits and threads of the service.
  service::ServiceOptions service;
  // Change-log retention: keep at most this many newest events (0: no count
  // limit). Default: 1,000,000.
  int64_t changelog_retain_events = 1000000;
  // ...and none older than this (zero: no age limit). Default: 7 days.
  absl::Duration changelog_retain_age = absl::Hours(24 * 7);
  // How often retention runs. Default: 60 s.
  absl::Duration retention_interval = absl::Seconds(60);
  // Tokens and roles; see service::AuthOptions (on by default).
  service::AuthOptions auth;
  // TLS; plaintext when unset.
  TlsConfig tls;
  // Address of the Prometheus /metrics HTTP endpoint; empty: off.
  // Default: off.
  std::string metrics_listen;
  // Request log lines on stderr: none, errors or all. Default: errors.
  service::RequestLog log_requests = service::RequestLog::kErrors;
  // Largest gRPC message accepted, in bytes; 0 derives it from
  // max_article_bytes (4x, at least 16 MiB). Default: 0.
  int64_t max_message_bytes = 0;
  // Concurrent streams per HTTP/2 connection. Default: 1000.
  int max_concurrent_streams = 1000;
  // Server keepalive pings on idle connections, so load balancers and NATs
  // keep them open and dead peers are noticed. Default: every 60 s, 20 s to
  // answer.
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Revision retention and purge of deleted articles (background and
  // CompactStore). Default: keep everything.
  store::RetentionPolicy retention;
  // How long in-flight calls get to finish on SIGTERM, at most
  // kMaxShutdownGraceSeconds. Default: 10 s.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // How long a start (opening the store: a log replay, a layout upgrade)
  // may take before contentd takes it for hung, logs so and exits 1, for
  // its supervisor to start it again; until then, under systemd, it keeps
  // extending the unit's start timeout. At most kMaxStartTimeoutSeconds.
  // Default: 30 minutes.
  absl::Duration start_timeout = absl::Minutes(30);
};

// Where the settings of a ServerConfig came from, for CheckConfig's errors
// to name what the user typed.
struct ConfigOrigin {
  // The config file's path; "" when none was given.
  std::string file;
  // The keys a command-line flag set, by key, with the flag:
  // {"limits.max_article_bytes", "--max-article-bytes"}.
  std::map<std::string, std::string> flags;
};

// Applies the YAML document at `path` over `config`, checking each key's
// own rules but not CheckConfig's between keys, which flags applied after
// may meet (a storage.engine postgres whose DSN is --storage-dsn).
// INVALID_ARGUMENT naming the file and the key (`FILE: config KEY: ...`) on
// an unknown key, a wrong type, an empty (null) value or an out-of-range
// value; INVALID_ARGUMENT too for a file of more than one YAML document.
// Relative paths in it (data_dir, tls.*) are relative to the file's folder.
absl::Status ReadConfigFile(const std::string& path, ServerConfig* config);
// ReadConfigFile, then CheckConfig: a file that must hold every setting.
absl::Status LoadConfigFile(const std::string& path, ServerConfig* config);
// Same, from YAML text (for tests); errors name no file.
absl::Status LoadConfigText(const std::string& yaml, ServerConfig* config);
// Checks rules between keys that flags may set too, once all are applied:
// storage.dsn given with storage.engine postgres, limits.max_article_bytes
// at most store::kPgMaxArticleBytes (256 MiB) with it, max_message_bytes
// room for the largest article, and block_cache_mb at most this machine's
// physical memory. INVALID_ARGUMENT naming the setting refused as
// `origin` says it was given: the flag (`--max-article-bytes: ...`, and a
// message that starts with `-` is the command line's fault), else the
// file and the key (`FILE: config limits.max_article_bytes: ...`), else
// the key (`config KEY: ...`); a setting the rule refers to is named
// alike (`with --storage-engine postgres`).
absl::Status CheckConfig(const ServerConfig& config,
                         const ConfigOrigin& origin = {});

}  // namespace content

#endif  // CONTENT_SERVER_CONFIG_H_
