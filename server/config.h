// contentd's configuration: a YAML file, then command-line flags on top.
#ifndef CONTENT_SERVER_CONFIG_H_
#define CONTENT_SERVER_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/service/content_service.h"
#include "server/store/store.h"

namespace content {

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
  // How long in-flight calls get to finish on SIGTERM. Default: 10 s.
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// Applies the YAML document at `path` over `config`. INVALID_ARGUMENT naming
// the key on an unknown key, a wrong type or an out-of-range value.
absl::Status LoadConfigFile(const std::string& path, ServerConfig* config);
// Same, from YAML text (for tests).
absl::Status LoadConfigText(const std::string& yaml, ServerConfig* config);

}  // namespace content

#endif  // CONTENT_SERVER_CONFIG_H_
