#include "server/config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/decimal.h"
#include "common/yaml_quotes.h"
#include "server/service/content_service.h"
#include "server/service/validation.h"
#include "server/store/pg_kv.h"
#include "yaml-cpp/yaml.h"

namespace content {
namespace {

absl::Status Bad(const std::string& key, const std::string& rule) {
  return absl::InvalidArgumentError(absl::StrCat("config ", key, ": ", rule));
}

// A scalar as T. YAML's null (a value left blank, `~`, `null`) is refused
// for every T: yaml-cpp 0.7 reads it as the string "null", so a blank
// data_dir was a directory named null. A sequence or mapping is the wrong
// type.
template <typename T>
absl::Status Read(const YAML::Node& node, const std::string& key, T* out) {
  // What the key takes, for the error: "has the wrong type" named none.
  const char* wanted = std::is_same_v<T, bool> ? "must be true or false"
                       : std::is_same_v<T, std::string> ? "must be a string"
                                                        : "must be a number";
  if (node.IsNull()) {
    return Bad(key,
               "must not be empty (a blank value, ~ and null are YAML's "
               "null; quote a string that reads null)");
  }
  if (!node.IsScalar()) return Bad(key, wanted);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // Decimal, as the flags are (common/decimal.h): yaml-cpp reads `010`
    // as 8 and takes 0x10 and +8.
    std::string error =
        internal::ParseDecimal<T>(node.Scalar(), std::numeric_limits<T>::min(),
                                  std::numeric_limits<T>::max(), out);
    if (!error.empty()) return Bad(key, error);
    return absl::OkStatus();
  }
  try {
    *out = node.as<T>();
  } catch (const YAML::Exception&) {
    return Bad(key, absl::StrCat(wanted, ", got \"", node.Scalar(), "\""));
  }
  return absl::OkStatus();
}

// A string that is not empty, for settings an empty string cannot mean (a
// directory, a table).
absl::Status ReadNonEmpty(const YAML::Node& node, const std::string& key,
                          std::string* out) {
  absl::Status s = Read(node, key, out);
  if (s.ok() && out->empty()) return Bad(key, "must not be empty");
  return s;
}

// A positive integer no larger than `max`, so that narrowing it to the
// option's type cannot wrap.
absl::Status ReadPositive(const YAML::Node& node, const std::string& key,
                          int64_t* out,
                          int64_t max = std::numeric_limits<int>::max()) {
  std::string text;
  absl::Status s = Read(node, key, &text);  // refuses null and non-scalars
  if (!s.ok()) return s;
  // The key's own range in the error, as the flags name theirs.
  const std::string error = internal::ParseDecimal<int64_t>(text, 1, max, out);
  return error.empty() ? absl::OkStatus() : Bad(key, error);
}

// A mapping key as a string; keys that are not scalars are an error.
absl::Status KeyOf(const YAML::Node& node, const std::string& parent,
                   std::string* key) {
  if (!node.IsScalar()) {
    return Bad(parent.empty() ? "(top level)" : parent,
               "keys must be plain strings");
  }
  *key = node.Scalar();
  return absl::OkStatus();
}

// yaml-cpp keeps every pair of a mapping, so a repeated key would silently
// override the first one when applied: reject it, at every level.
absl::Status CheckDuplicateKeys(const YAML::Node& node,
                                const std::string& path) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      absl::Status s =
          CheckDuplicateKeys(node[i], absl::StrCat(path, "[", i, "]"));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (!node.IsMap()) return absl::OkStatus();
  std::set<std::string> seen;
  for (const auto& kv : node) {
    // Keys that are not scalars are reported where the mapping is applied.
    if (!kv.first.IsScalar()) continue;
    const std::string key = kv.first.Scalar();
    const std::string full = path.empty() ? key : path + "." + key;
    if (!seen.insert(key).second) {
      return Bad(full, "duplicate key (each key may appear once)");
    }
    absl::Status s = CheckDuplicateKeys(kv.second, full);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ApplyLimits(const YAML::Node& limits, ServerConfig* c) {
  constexpr const char* kKnown[] = {"max_article_bytes", "max_tags",
                                    "max_term_bytes",    "max_title_bytes",
                                    "default_page_size", "max_page_size"};
  service::Limits& l = c->service.limits;
  for (const auto& kv : limits) {
    std::string key;
    absl::Status s = KeyOf(kv.first, "limits", &key);
    if (!s.ok()) return s;
    const std::string full = "limits." + key;
    // Unknown keys first, so a typo is reported as one whatever its value.
    if (std::find(std::begin(kKnown), std::end(kKnown), key) ==
        std::end(kKnown)) {
      return Bad(full, "unknown key");
    }
    int64_t v = 0;
    s = ReadPositive(kv.second, full, &v,
                     key == "max_article_bytes"
                         ? service::kMaxArticleBytesCap
                         : std::numeric_limits<int>::max());
    if (!s.ok()) return s;
    if (key == "max_article_bytes") {
      l.max_article_bytes = v;
    } else if (key == "max_tags") {
      l.max_list_entries = static_cast<int>(v);
    } else if (key == "max_term_bytes") {
      l.max_term_bytes = static_cast<int>(v);
    } else if (key == "max_title_bytes") {
      l.max_title_bytes = static_cast<int>(v);
    } else if (key == "default_page_size") {
      l.default_page_size = static_cast<int>(v);
    } else if (key == "max_page_size") {
      l.max_page_size = static_cast<int>(v);
    } else {
      return Bad(full, "unknown key");
    }
  }
  if (l.default_page_size > l.max_page_size)
    return Bad("limits.default_page_size", "must not exceed max_page_size");
  return absl::OkStatus();
}

absl::Status ApplyAuth(const YAML::Node& node, ServerConfig* c) {
  if (!node.IsMap()) return Bad("auth", "must be a mapping");
  service::AuthOptions& a = c->auth;
  for (const auto& kv : node) {
    std::string key;
    absl::Status s = KeyOf(kv.first, "auth", &key);
    if (!s.ok()) return s;
    const std::string full = "auth." + key;
    if (key == "enabled") {
      s = Read(kv.second, full, &a.enabled);
    } else if (key == "rate_limit_per_second") {
      s = Read(kv.second, full, &a.rate_limit_per_second);
      // `!(x >= 0)` also refuses .nan, which turned the limit off.
      if (s.ok() && !(a.rate_limit_per_second >= 0 &&
                      std::isfinite(a.rate_limit_per_second)))
        s = Bad(full, "must be a finite number, not negative");
    } else if (key == "reload_interval_seconds") {
      int64_t n = 0;
      s = ReadPositive(kv.second, full, &n, 86400);
      if (s.ok()) a.reload_interval_seconds = static_cast<int>(n);
    } else if (key == "rate_limit_burst") {
      s = Read(kv.second, full, &a.rate_limit_burst);
      if (s.ok() &&
          !(a.rate_limit_burst >= 0 && std::isfinite(a.rate_limit_burst)))
        s = Bad(full, "must be a finite number, not negative");
    } else if (key == "tokens") {
      if (!kv.second.IsSequence()) return Bad(full, "must be a list");
      for (size_t i = 0; i < kv.second.size(); ++i) {
        const YAML::Node& t = kv.second[i];
        const std::string item = absl::StrCat(full, "[", i, "]");
        if (!t.IsMap())
          return Bad(item, "must be a mapping of name, role, sha256");
        service::TokenConfig token;
        std::string role;
        for (const auto& f : t) {
          std::string field;
          s = KeyOf(f.first, item, &field);
          if (!s.ok()) return s;
          const std::string where = item + "." + field;
          if (field == "name") {
            s = Read(f.second, where, &token.name);
          } else if (field == "role") {
            s = Read(f.second, where, &role);
          } else if (field == "sha256") {
            s = Read(f.second, where, &token.sha256);
          } else if (field == "token") {
            return Bad(where,
                       "plain-text tokens are not accepted; store "
                       "`sha256` (contentd --hash-token)");
          } else {
            return Bad(where, "unknown key");
          }
          if (!s.ok()) return s;
        }
        if (token.name.empty()) return Bad(item + ".name", "is required");
        if (token.sha256.size() != 64 ||
            token.sha256.find_first_not_of("0123456789abcdefABCDEF") !=
                std::string::npos) {
          return Bad(item + ".sha256", "must be 64 hex digits");
        }
        absl::StatusOr<service::Role> r = service::ParseRole(role);
        if (!r.ok())
          return Bad(item + ".role", std::string(r.status().message()));
        token.role = *r;
        // Names key the rate-limit buckets and the request log: a second
        // token under one name would share the first one's bucket.
        for (size_t j = 0; j < a.tokens.size(); ++j) {
          if (a.tokens[j].name == token.name) {
            return Bad(
                item + ".name",
                absl::StrCat("\"", token.name, "\" is also the name of ", full,
                             "[", j, "]; each token needs its own name"));
          }
        }
        // Tokens are looked up by hash: a second one with the same hash
        // would silently replace the first one's name and role.
        for (const service::TokenConfig& other : a.tokens) {
          if (absl::AsciiStrToLower(other.sha256) ==
              absl::AsciiStrToLower(token.sha256)) {
            return Bad(
                item + ".sha256",
                absl::StrCat("tokens \"", other.name, "\" and \"", token.name,
                             "\" have the same sha256; each token "
                             "needs its own"));
          }
        }
        a.tokens.push_back(std::move(token));
      }
    } else {
      return Bad(full, "unknown key");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// A path the config file gives: relative to `dir`, the file's folder, as
// kubectl reads a kubeconfig's, so that the file means the same whichever
// directory contentd is started from. "" for `dir` (the file is in the
// working directory, or the text came from no file) leaves it as written.
// Its `.` parts go (deploy/contentd.yaml's `./data` was served, and
// logged, as `/etc/contentd/./data`); `..` stays, as a symlinked folder
// may need it.
void InDir(const std::string& dir, std::string* path) {
  if (!dir.empty() && !path->empty() &&
      std::filesystem::path(*path).is_relative()) {
    std::filesystem::path joined(dir);
    for (const std::filesystem::path& part : std::filesystem::path(*path)) {
      if (part != ".") joined /= part;
    }
    *path = joined.string();
  }
}

absl::Status ReadPath(const YAML::Node& node, const std::string& key,
                      const std::string& dir, std::string* out) {
  absl::Status s = Read(node, key, out);
  if (s.ok()) InDir(dir, out);
  return s;
}

absl::Status ApplyTls(const YAML::Node& node, const std::string& dir,
                      ServerConfig* c) {
  if (!node.IsMap()) return Bad("tls", "must be a mapping");
  for (const auto& kv : node) {
    std::string key;
    absl::Status s = KeyOf(kv.first, "tls", &key);
    if (!s.ok()) return s;
    const std::string full = "tls." + key;
    if (key == "cert_file") {
      s = ReadPath(kv.second, full, dir, &c->tls.cert_file);
    } else if (key == "key_file") {
      s = ReadPath(kv.second, full, dir, &c->tls.key_file);
    } else if (key == "client_ca_file") {
      s = ReadPath(kv.second, full, dir, &c->tls.client_ca_file);
    } else if (key == "reload_interval_seconds") {
      int64_t n = 0;
      s = ReadPositive(kv.second, full, &n, 86400);
      if (s.ok()) c->tls.reload_interval_seconds = static_cast<int>(n);
    } else {
      return Bad(full, "unknown key");
    }
    if (!s.ok()) return s;
  }
  if (c->tls.cert_file.empty() != c->tls.key_file.empty())
    return Bad("tls", "cert_file and key_file go together");
  // Without a certificate the port is plaintext, and no client certificate
  // would be asked for: mutual TLS that silently is not.
  if (!c->tls.client_ca_file.empty() && c->tls.cert_file.empty())
    return Bad("tls.client_ca_file",
               "needs tls.cert_file and tls.key_file (mutual TLS is TLS)");
  return absl::OkStatus();
}

absl::Status ApplyStorage(const YAML::Node& node, ServerConfig* c) {
  if (!node.IsMap()) return Bad("storage", "must be a mapping");
  for (const auto& kv : node) {
    std::string key;
    absl::Status s = KeyOf(kv.first, "storage", &key);
    if (!s.ok()) return s;
    const std::string full = "storage." + key;
    if (key == "engine") {
      s = Read(kv.second, full, &c->store.engine);
      if (s.ok() && c->store.engine != "rocksdb" &&
          c->store.engine != "postgres")
        s = Bad(full, "must be rocksdb or postgres");
    } else if (key == "dsn") {
      s = Read(kv.second, full, &c->store.pg_dsn);
    } else if (key == "table") {
      s = ReadNonEmpty(kv.second, full, &c->store.pg_table);
    } else if (key == "pool_size") {
      int64_t n = 0;
      s = ReadPositive(kv.second, full, &n, 1000);
      if (s.ok()) c->store.pg_pool_size = static_cast<int>(n);
    } else if (key == "write_lock") {
      s = Read(kv.second, full, &c->store.pg_write_lock);
    } else if (key == "lock_timeout_ms") {
      int64_t ms = 0;
      s = ReadPositive(kv.second, full, &ms, 3600 * 1000);
      if (s.ok()) c->store.pg_lock_timeout = absl::Milliseconds(ms);
    } else {
      return Bad(full, "unknown key");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ApplyRetention(const YAML::Node& node, ServerConfig* c) {
  if (!node.IsMap()) return Bad("retention", "must be a mapping");
  for (const auto& kv : node) {
    std::string key;
    absl::Status s = KeyOf(kv.first, "retention", &key);
    if (!s.ok()) return s;
    const std::string full = "retention." + key;
    int64_t v = 0;
    s = Read(kv.second, full, &v);
    if (s.ok() && v < 0) s = Bad(full, "must not be negative");
    if (!s.ok()) return s;
    if (key == "keep_revisions") {
      c->retention.keep_revisions = v;
    } else if (key == "keep_revision_seconds") {
      c->retention.keep_age = absl::Seconds(v);
    } else if (key == "purge_deleted_after_seconds") {
      c->retention.purge_deleted_after = absl::Seconds(v);
    } else {
      return Bad(full, "unknown key");
    }
  }
  return absl::OkStatus();
}

// How CheckConfig names settings: by the flag that set one, else by its
// key, in `origin.file` when there is one.
class SettingNames {
 public:
  explicit SettingNames(const ConfigOrigin& origin) : origin_(origin) {}

  bool FromFlag(const std::string& key) const {
    return origin_.flags.count(key) > 0;
  }

  // The error refusing `key`, `rule` said of it: `--flag: rule`, `FILE:
  // config KEY: rule` or `config KEY: rule`.
  absl::Status Refuse(const std::string& key, const std::string& rule) const {
    if (FromFlag(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin_.flags.at(key), ": ", rule));
    }
    const absl::Status s = Bad(key, rule);
    if (origin_.file.empty()) return s;
    return absl::InvalidArgumentError(
        absl::StrCat(origin_.file, ": ", s.message()));
  }

  // `key`, with `value` when given, as a rule about `refused` refers to it:
  // `--storage-engine postgres`, `storage.engine postgres` (`in FILE` when
  // `refused` came from a flag, whose error names no file).
  std::string Ref(const std::string& key, const std::string& refused,
                  const std::string& value = "") const {
    const std::string with = value.empty() ? "" : absl::StrCat(" ", value);
    if (FromFlag(key)) return absl::StrCat(origin_.flags.at(key), with);
    // A key that is no key of the file: set by neither, so the default.
    std::string name = absl::StrCat(key, with);
    if (!origin_.file.empty() && FromFlag(refused)) {
      absl::StrAppend(&name, " in ", origin_.file);
    }
    return name;
  }

 private:
  const ConfigOrigin& origin_;
};

}  // namespace

absl::Status CheckConfig(const ServerConfig& c, const ConfigOrigin& origin) {
  const SettingNames names(origin);
  if (c.store.engine == "postgres" && c.store.pg_dsn.empty()) {
    if (names.FromFlag("storage.engine")) {
      return absl::InvalidArgumentError(absl::StrCat(
          names.Ref("storage.engine", "", "postgres"),
          ": needs a libpq connection string, --storage-dsn DSN (or "
          "storage.dsn in the config file)"));
    }
    return names.Refuse("storage.dsn",
                        "required when storage.engine is postgres (or give "
                        "--storage-dsn)");
  }
  // A DSN beside the embedded engine was ignored: contentd served a store
  // of its own in data_dir while its operator took it for the shared one,
  // and writes went where no other replica would see them.
  if (c.store.engine != "postgres") {
    for (const char* key : {"storage.dsn", "storage.table"}) {
      const bool given = std::string(key) == "storage.dsn"
                             ? !c.store.pg_dsn.empty()
                             : names.FromFlag(key);
      if (!given) continue;
      return names.Refuse(
          key,
          "applies only with --storage-engine postgres (or storage.engine: "
          "postgres in the config file); without it contentd would serve "
          "the embedded store in the data directory");
    }
  }
  // The host's memory even inside a container (sysconf does not see cgroup
  // limits): a loose bound that never refuses a cache the machine can hold.
  const int64_t pages = sysconf(_SC_PHYS_PAGES);
  const int64_t page_bytes = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_bytes > 0) {
    const uint64_t memory_mb =
        static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_bytes) >> 20;
    if ((c.store.block_cache_bytes >> 20) > memory_mb) {
      return names.Refuse(
          "block_cache_mb",
          absl::StrCat("must be at most this machine's memory (", memory_mb,
                       " MiB), got ", c.store.block_cache_bytes >> 20));
    }
  }
  // Below this every ordinary request fails in gRPC with a bare "Received
  // message larger than max", and an oversized article never reaches
  // validation, which names the field: contentctl sends up to 16 MiB in one
  // request (4 MiB import batches, one file of up to 16 MiB).
  if (c.max_message_bytes != 0) {
    const int64_t least =
        std::min<int64_t>(std::numeric_limits<int>::max(),
                          std::max<int64_t>(int64_t{16} << 20,
                                            c.service.limits.max_article_bytes +
                                                (int64_t{1} << 20)));
    if (c.max_message_bytes < least) {
      const std::string article_bytes =
          names.Ref("limits.max_article_bytes", "max_message_bytes");
      return names.Refuse(
          "max_message_bytes",
          absl::StrCat("must be 0 (4 x ", article_bytes,
                       ", at least 16 MiB) or at least ", least,
                       " (16 MiB, and ", article_bytes,
                       " plus 1 MiB for the request around an article), "
                       "got ",
                       c.max_message_bytes));
    }
  }
  if (c.store.engine == "postgres" &&
      c.service.limits.max_article_bytes > store::kPgMaxArticleBytes) {
    return names.Refuse(
        "limits.max_article_bytes",
        absl::StrCat(
            "must be at most ", store::kPgMaxArticleBytes, " (256 MiB) with ",
            names.Ref("storage.engine", "limits.max_article_bytes", "postgres"),
            ", got ", c.service.limits.max_article_bytes,
            ": its values travel as hex text in messages PostgreSQL "
            "caps at 1 GB"));
  }
  return absl::OkStatus();
}

namespace {

// Applies the YAML text over `c`, each key checked alone; relative paths
// are relative to `dir` (ReadPath).
absl::Status ApplyConfigText(const std::string& yaml, const std::string& dir,
                             ServerConfig* c) {
  YAML::Node root;
  try {
    // An unclosed quote would read the rest of the file as one value: a
    // data_dir named after the keys that follow it.
    std::istringstream in(yaml);
    YAML::Parser parser(in);
    internal::QuoteCheck quotes(yaml);
    parser.HandleNextDocument(quotes);
    if (const auto& u = quotes.unclosed()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: invalid YAML at line ", u->line + 1, ", column ",
          u->column + 1, ": ", internal::QuoteCheck::Describe(*u)));
    }
    // YAML::Load reads the first document only: keys after a `---` (an
    // auth block) would be dropped in silence.
    const std::vector<YAML::Node> docs = YAML::LoadAll(yaml);
    if (docs.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config: ", docs.size(),
          " YAML documents (separated by --- or ...); contentd reads one: "
          "put every key in a single document"));
    }
    if (!docs.empty()) root = docs.front();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: invalid YAML: ", e.what()));
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) return Bad("(top level)", "must be a mapping");
  absl::Status dup = CheckDuplicateKeys(root, "");
  if (!dup.ok()) return dup;
  for (const auto& kv : root) {
    std::string key;
    absl::Status s = KeyOf(kv.first, "", &key);
    if (!s.ok()) return s;
    const YAML::Node& v = kv.second;
    if (key == "listen") {
      s = Read(v, key, &c->listen);
    } else if (key == "data_dir") {
      s = ReadNonEmpty(v, key, &c->store.data_dir);
      if (s.ok()) InDir(dir, &c->store.data_dir);
    } else if (key == "text_index") {
      s = Read(v, key, &c->store.text_index);
    } else if (key == "sync") {
      s = Read(v, key, &c->store.sync);
    } else if (key == "block_cache_mb") {
      int64_t mb = 0;
      s = ReadPositive(v, key, &mb, kMaxBlockCacheMb);
      if (s.ok()) c->store.block_cache_bytes = static_cast<size_t>(mb) << 20;
    } else if (key == "write_threads") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n, service::kMaxWriteThreads);
      if (s.ok()) c->service.write_threads = static_cast<int>(n);
    } else if (key == "shutdown_grace_seconds") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n, kMaxShutdownGraceSeconds);
      if (s.ok()) c->shutdown_grace = absl::Seconds(n);
    } else if (key == "start_timeout_seconds") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n, kMaxStartTimeoutSeconds);
      if (s.ok()) c->start_timeout = absl::Seconds(n);
    } else if (key == "default_deadline_ms") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n);
      if (s.ok()) c->service.default_deadline = absl::Milliseconds(n);
    } else if (key == "watch_stall_timeout_ms") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n);
      if (s.ok()) c->service.watch.stall_timeout = absl::Milliseconds(n);
    } else if (key == "watch_wake_threads") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n, kMaxWatchWakeThreads);
      if (s.ok()) c->service.watch.wake_threads = static_cast<int>(n);
    } else if (key == "export_stall_timeout_ms") {
      // 0: never (a client that reads slowly but surely is never cut off).
      int64_t n = 0;
      s = Read(v, key, &n);
      if (s.ok() && (n < 0 || n > std::numeric_limits<int>::max())) {
        s = Bad(key,
                absl::StrCat("must be 0 (never) to ",
                             std::numeric_limits<int>::max(), ", got ", n));
      }
      if (s.ok()) c->service.exports.stall_timeout = absl::Milliseconds(n);
    } else if (key == "changelog_retain_events") {
      s = Read(v, key, &c->changelog_retain_events);
      if (s.ok() && c->changelog_retain_events < 0)
        s = Bad(key, "must not be negative");
    } else if (key == "changelog_retain_hours") {
      int64_t n = 0;
      s = Read(v, key, &n);
      if (s.ok() && n < 0) s = Bad(key, "must not be negative");
      c->changelog_retain_age = absl::Hours(n);
    } else if (key == "retention_interval_ms") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n);
      c->retention_interval = absl::Milliseconds(n);
    } else if (key == "auth") {
      s = ApplyAuth(v, c);
    } else if (key == "tls") {
      s = ApplyTls(v, dir, c);
    } else if (key == "retention") {
      s = ApplyRetention(v, c);
    } else if (key == "storage") {
      s = ApplyStorage(v, c);
    } else if (key == "metrics_listen") {
      s = Read(v, key, &c->metrics_listen);
    } else if (key == "log_requests") {
      std::string level;
      s = Read(v, key, &level);
      if (s.ok()) {
        if (level == "none") {
          c->log_requests = service::RequestLog::kNone;
        } else if (level == "errors") {
          c->log_requests = service::RequestLog::kErrors;
        } else if (level == "all") {
          c->log_requests = service::RequestLog::kAll;
        } else {
          s = Bad(key, "must be none, errors or all");
        }
      }
    } else if (key == "max_message_bytes") {
      int64_t n = 0;  // 0: derived from max_article_bytes
      s = Read(v, key, &n);
      if (s.ok() && (n < 0 || n > std::numeric_limits<int>::max()))
        s = Bad(key, "must be 0 or a positive 32-bit size");
      if (s.ok()) c->max_message_bytes = n;
    } else if (key == "max_concurrent_streams") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n);
      if (s.ok()) c->max_concurrent_streams = static_cast<int>(n);
    } else if (key == "keepalive_time_ms") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n);
      if (s.ok()) c->keepalive_time = absl::Milliseconds(n);
    } else if (key == "keepalive_timeout_ms") {
      int64_t n = 0;
      s = ReadPositive(v, key, &n);
      if (s.ok()) c->keepalive_timeout = absl::Milliseconds(n);
    } else if (key == "limits") {
      if (!v.IsMap()) return Bad(key, "must be a mapping");
      s = ApplyLimits(v, c);
    } else {
      return Bad(key, "unknown key");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadConfigText(const std::string& yaml, ServerConfig* c) {
  absl::Status s = ApplyConfigText(yaml, "", c);
  if (!s.ok()) return s;
  return CheckConfig(*c);
}

absl::Status ReadConfigFile(const std::string& path, ServerConfig* c) {
  // A directory opens and reads as empty, which would be a config of all
  // defaults: what a Kubernetes configMap mounted without subPath gives.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config: ", path,
        " is a directory; --config needs the YAML file (for a Kubernetes "
        "configMap, mount it with subPath or name the file inside)"));
  }
  std::ifstream in(path);
  if (!in) {
    // Why, so that a config readable by root only (the usual mistake under
    // a service user) says "Permission denied" rather than nothing.
    const int err = errno;
    return absl::InvalidArgumentError(
        absl::StrCat("config: cannot read ", path, ": ", std::strerror(err)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  absl::Status s = ApplyConfigText(
      ss.str(), std::filesystem::path(path).parent_path().string(), c);
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status LoadConfigFile(const std::string& path, ServerConfig* c) {
  absl::Status s = ReadConfigFile(path, c);
  if (!s.ok()) return s;
  ConfigOrigin origin;
  origin.file = path;
  return CheckConfig(*c, origin);
}

}  // namespace content
