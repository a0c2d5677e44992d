// contentd: the content repository server.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include "CLI/CLI.hpp"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/bearer_token.h"
#include "common/decimal_flag.h"
#include "common/did_you_mean.h"
#include "common/progress_line.h"
#include "common/terminal.h"
#include "common/terminal_progress.h"
#include "common/tls_pem.h"
#include "common/usage_error.h"
#include "httplib.h"
#include "server/config.h"
#include "server/error_details.h"
#include "server/listen.h"
#include "server/log_line.h"
#include "server/notify.h"
#include "server/service/admin_service.h"
#include "server/service/allocator.h"
#include "server/service/call_tracker.h"
#include "server/service/content_service.h"
#include "server/service/health.h"
#include "server/service/metrics.h"
#include "server/service/parse_error_interceptor.h"
#include "server/service/request_id.h"
#include "server/service/validation.h"
#include "server/store/fsck.h"
#include "server/store/keys.h"
#include "server/store/rocksdb_kv.h"
#include "server/store/store.h"

namespace {

int Fail(const absl::Status& s) {
  // Code and message: Status::ToString would add the payloads' bytes (an
  // ErrorInfo's `[type.googleapis.com/google.rpc.ErrorInfo='\n\x12...']`).
  content::LogLine(
      std::cerr, absl::StrCat("contentd: ", absl::StatusCodeToString(s.code()),
                              ": ", s.message()));
  return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

// `status` with the table's key, which the store names in its errors
// whatever gave it, named as `table_name` says (the flag or the key it
// came from): a leading `storage.table: ` as `--storage-table: `. Code and
// payloads kept. (The DSN's setting the store names itself, as
// StoreOptions::pg_dsn_name says: its errors come while serving too.)
absl::Status NameTheStorageFlags(const absl::Status& status,
                                 const std::string& table_name) {
  std::string message(status.message());
  if (absl::StartsWith(message, "storage.table: ")) {
    message.replace(0, std::string("storage.table").size(), table_name);
  }
  if (message == status.message()) return status;
  absl::Status out(status.code(), message);
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

// contentd --check [--repair]: fsck on a stopped data directory. A check
// opens the store read-only and changes nothing in it (a backup or a
// read-only mount can be checked); --repair opens it read-write.
// `data_dir_name` and `table_name` are the flags or keys the directory and
// table came from, for errors.
int RunCheck(content::store::StoreOptions options, bool repair,
             const std::string& data_dir_name, const std::string& table_name) {
  // The store's errors name its settings by their keys.
  const auto fail = [&](const absl::Status& s) {
    return Fail(NameTheStorageFlags(s, table_name));
  };
  // Opening would create an empty store, and report a mistyped path clean.
  if (options.engine == "rocksdb") {
    std::error_code ec;
    if (!std::filesystem::exists(options.data_dir + "/CURRENT", ec)) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat(data_dir_name, ": no store at ", options.data_dir,
                       std::filesystem::is_directory(options.data_dir, ec)
                           ? " (the directory holds no RocksDB CURRENT file)"
                           : " (no such directory)")));
    }
  }
  const auto in_use = [&] {
    // Not a damaged store: 1 would read as "not clean".
    std::cerr << "contentd: " << data_dir_name << ": " << options.data_dir
              << " is in use by a running contentd (it holds the store's "
                 "LOCK); stop it, or check a backup (contentctl admin "
                 "backup)\n";
    return 2;
  };
  options.read_only = !repair;
  // Opening would create an empty table, and report a mistyped name clean.
  options.pg_create_table = false;
  // The sessions a refused replica or repair lists name the check.
  options.pg_session_name =
      repair ? "contentd --check --repair" : "contentd --check";
  if (options.read_only && options.engine == "rocksdb") {
    // A read-only open takes no lock, so it would not notice the server
    // (and would read files the server compacts away): ask the lock.
    absl::StatusOr<bool> held = content::store::RocksKvInUse(options.data_dir);
    if (!held.ok()) return Fail(held.status());
    if (*held) return in_use();
  }
  absl::StatusOr<std::unique_ptr<content::store::Store>> store =
      content::store::Store::Open(options);
  if (!store.ok() && options.engine == "rocksdb" &&
      absl::StrContains(store.status().message(), "/LOCK")) {
    return in_use();
  }
  if (!store.ok()) return fail(store.status());
  if (repair) {
    // Replicas of a shared store write to it while they serve, and a
    // repair rebuilds the indexes their writes change: refused while any
    // serves. Held to the end, so that none starts serving meanwhile.
    absl::Status alone = (*store)->engine()->HoldAlone();
    if (absl::IsFailedPrecondition(alone)) {
      std::cerr << "contentd: --repair: " << alone.message()
                << "; a repair rebuilds the indexes that their writes "
                   "change: stop every replica (`kubectl scale deployment "
                   "contentd --replicas=0`, or `systemctl stop contentd` on "
                   "each host) and run it again\n";
      return 2;
    }
    if (!alone.ok()) return fail(alone);
  }
  // On a terminal (stderr) that takes the escape sequences the line is
  // redrawn with, how far the check (7 minutes at 1M articles) or the
  // repair has come.
  const bool draw = content::internal::IsAnsiTerminal(STDERR_FILENO);
  content::internal::TerminalProgress line;
  content::store::CheckOptions check;
  if (draw) {
    check.progress = [&line](const content::store::CheckProgress& p) {
      content::v1::RunningOperation op;
      op.set_kind("check");
      op.set_step(p.step);
      op.set_step_number(p.step_number);
      op.set_step_count(p.step_count);
      op.set_done(p.done);
      op.set_total(p.total);
      op.set_unit(p.unit);
      line.Draw(op);
    };
  }
  absl::StatusOr<content::store::FsckReport> report =
      content::store::CheckStore(**store, check);
  line.Erase();
  if (!report.ok()) return fail(report.status());
  std::cout << report->ToString();
  if (repair && !report->clean()) {
    std::cout << "repairing indexes" << std::endl;
    content::store::RepairOptions repair_options;
    // The check that follows draws as the first did.
    repair_options.check = check;
    if (draw) {
      repair_options.progress = [&line](
                                    const content::store::RepairProgress& p) {
        content::v1::RunningOperation op;
        op.set_kind("repair");
        op.set_step(p.step);
        op.set_step_number(p.step_number);
        op.set_step_count(p.step_count);
        if (p.step_number == 2) {
          op.set_done(p.heads_read);
          op.set_total(p.heads_total);
          op.set_unit("articles");
        }
        line.Draw(op, p.postings_written == 0
                          ? ""
                          : absl::StrCat(
                                content::internal::Grouped(p.postings_written),
                                " postings written"));
      };
    }
    report = content::store::RepairIndexes(**store, repair_options);
    line.Erase();
    if (!report.ok()) return fail(report.status());
    std::cout << report->ToString();
  }
  return report->clean() ? 0 : 1;
}

struct HostPort {
  std::string host;  // an IPv6 address keeps its brackets
  int port = 0;

  // The host as getaddrinfo takes it: without brackets.
  std::string BareHost() const {
    return host.size() > 2 && host.front() == '['
               ? host.substr(1, host.size() - 2)
               : host;
  }
};

// `address` as host:port with a port of 0-65535 (0 picks a free one); an
// IPv6 host goes in brackets. `name` is the flag or key it came from.
absl::StatusOr<HostPort> ParseHostPort(const std::string& address,
                                       const std::string& name) {
  const size_t colon = address.rfind(':');
  const std::string host =
      colon == std::string::npos ? "" : address.substr(0, colon);
  const bool bracketed =
      host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (host.empty() || (!bracketed && absl::StrContains(host, ':'))) {
    return absl::InvalidArgumentError(
        absl::StrCat(name,
                     ": must be host:port (an IPv6 host in brackets), "
                     "got \"",
                     address, "\""));
  }
  const std::string digits = address.substr(colon + 1);
  HostPort out{host, 0};
  // Checked here: gRPC and the HTTP listener would wrap 99999 to 34463.
  if (digits.empty() || digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &out.port) || out.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": port must be 0-65535, got \"", digits, "\" in \"",
                     address, "\""));
  }
  return out;
}

// gRPC's unix socket addresses: no host, no port.
bool IsUnixSocket(const std::string& listen) {
  return absl::StartsWith(listen, "unix:") ||
         absl::StartsWith(listen, "unix-abstract:");
}

// Checks the gRPC listen address before anything starts. gRPC takes unix
// sockets too; any other address needs an explicit port (it would default
// a bare host to 443).
absl::Status CheckListen(const std::string& listen, const std::string& name) {
  if (IsUnixSocket(listen)) {
    return absl::OkStatus();
  }
  return ParseHostPort(listen, name).status();
}

// The TCP addresses `listen` (from flag or key `name`) resolves to, with
// its port; none for a unix socket.
absl::StatusOr<std::vector<content::ListenAddress>> ResolveListen(
    const std::string& listen, const std::string& name) {
  if (IsUnixSocket(listen)) {
    return std::vector<content::ListenAddress>();
  }
  absl::StatusOr<HostPort> where = ParseHostPort(listen, name);
  if (!where.ok()) return where.status();
  return content::ResolveListen(where->BareHost(), where->port, name);
}

// "NAME: cannot listen on SHOWN: why", after a listener failed to bind
// `addresses`, with why (neither gRPC nor cpp-httplib reports the errno)
// found by binding them once more.
absl::Status ListenError(const std::string& name, const std::string& shown,
                         const std::vector<content::ListenAddress>& addresses) {
  absl::StatusOr<content::PortReservation> held =
      content::PortReservation::Reserve(addresses, name, shown);
  if (!held.ok()) return held.status();
  return absl::UnavailableError(
      absl::StrCat(name, ": cannot listen on ", shown));
}

// Whether `addresses` (`listen` resolved, from flag or key `name`) bind
// now, with `held` holding them; nothing to do for port 0 on one address
// (any free port will do). With port 0 on several, a port free on all of
// them is chosen here and set in `addresses`: gRPC would bind the first
// and then the others only where that port happened to be free.
absl::Status CheckBind(const std::string& listen, const std::string& name,
                       std::vector<content::ListenAddress>* addresses,
                       std::vector<content::PortReservation>* held) {
  if (absl::StartsWith(listen, "unix:")) {
    // gRPC removes a socket file it finds at the path and binds anew: a
    // second contentd took a running one's socket (clients then reached
    // the wrong store, and the first was unreachable once the second went).
    // A socket someone answers on is in use; a stale one gRPC may replace.
    std::string path = listen.substr(5);
    if (absl::StartsWith(path, "//")) path = path.substr(2);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() < sizeof(addr.sun_path)) {
      std::memcpy(addr.sun_path, path.data(), path.size());
      // Non-blocking: a server too busy to accept (a full backlog) answers
      // EAGAIN, which is in use too, rather than blocking the start.
      const int fd =
          socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      const bool answers =
          fd >= 0 && (connect(fd, reinterpret_cast<const sockaddr*>(&addr),
                              sizeof(addr)) == 0 ||
                      errno == EAGAIN || errno == EINPROGRESS);
      if (fd >= 0) close(fd);
      if (answers) {
        return absl::UnavailableError(
            absl::StrCat(name, ": cannot listen on ", listen,
                         ": address in use (a server answers on that socket)"));
      }
    }
    return absl::OkStatus();
  }
  if (addresses->empty() ||
      (addresses->size() == 1 && addresses->front().port() == 0)) {
    return absl::OkStatus();
  }
  absl::StatusOr<content::PortReservation> reserved =
      content::PortReservation::Reserve(*addresses, name, listen);
  if (!reserved.ok()) return reserved.status();
  for (content::ListenAddress& a : *addresses) a.set_port(reserved->port());
  held->push_back(*std::move(reserved));
  return absl::OkStatus();
}

// Writes `port` to `path` through a temporary file renamed into place, so
// a reader never sees a partial file.
absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp);
  if (!out) {
    const int error = errno;
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat("--port-file: cannot write ", tmp, ": ",
                                     std::strerror(error)));
  }
  out << port << "\n";
  out.close();
  if (!out) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(
        absl::StrCat("--port-file: cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(tmp.c_str());
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat("--port-file: cannot rename ", tmp, " to ",
                                     path, ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

// Whether only this host can reach `listen`: a unix socket, or a host
// whose every address is a loopback one. Judged by the addresses, not the
// text: "127.x.example.com" may be any address, and a name that resolves to
// 127.0.1.1 (Debian's own host name) or [::ffff:127.0.0.1] is loopback.
bool IsLoopback(const std::string& listen, const std::string& name) {
  if (IsUnixSocket(listen)) return true;
  absl::StatusOr<std::vector<content::ListenAddress>> addresses =
      ResolveListen(listen, name);
  if (!addresses.ok() || addresses->empty()) return false;
  return std::all_of(
      addresses->begin(), addresses->end(),
      [](const content::ListenAddress& a) { return a.IsLoopback(); });
}

// Auth is on unless configured off. With no tokens configured it can only
// be off, which is allowed without saying so only on a loopback address
// (the out-of-the-box `contentd`); anywhere else contentd refuses to start.
// Off, it is said loudly once bound (WarnIfAuthOff).
absl::Status ResolveAuth(content::ServerConfig* config) {
  if (config->auth.enabled && config->auth.tokens.empty()) {
    if (!IsLoopback(config->listen, "listen")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "auth is on but no tokens are configured; add auth.tokens (see "
          "deploy/contentd.yaml) or, to serve ",
          config->listen, " without authentication, say so with --no-auth"));
    }
    config->auth.enabled = false;
  }
  return absl::OkStatus();
}

// `bound` is the listen address as bound: with port 0, the port chosen.
void WarnIfAuthOff(const content::ServerConfig& config,
                   const std::string& bound) {
  if (config.auth.enabled) return;
  std::cerr << "contentd: WARNING: AUTHENTICATION IS OFF: anyone who can "
               "reach "
            << bound
            << " can read and write everything. Configure auth.tokens to "
               "turn it on."
            << std::endl;
}

absl::StatusOr<std::string> ReadText(const std::string& path,
                                     const char* what) {
  std::ifstream in(path);
  // A directory opens, and reads as nothing: it was said to hold no PEM.
  std::error_code ec;
  const int err = !in                                       ? errno
                  : std::filesystem::is_directory(path, ec) ? EISDIR
                                                            : 0;
  if (err != 0) {
    // A key readable by root only is the usual mistake: say why.
    return absl::InvalidArgumentError(absl::StrCat(
        "config tls.", what, ": cannot read ", path, ": ", std::strerror(err)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// gRPC checks the certificate and key only when it binds, and then reports
// that it cannot listen; checked here (by the rules the SDK and contentctl
// use, common/tls_pem.h), the error names the key and file at fault and
// comes before the data directory is created.
absl::Status CheckTlsPem(const content::TlsConfig& tls, const std::string& cert,
                         const std::string& key, const std::string* ca) {
  auto bad = [](const char* name, const std::string& path,
                const std::string& problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("config tls.", name, ": ", path, " ", problem));
  };
  if (std::string p = content::internal::PemCertificateProblem(cert);
      !p.empty()) {
    return bad("cert_file", tls.cert_file, p);
  }
  if (std::string p = content::internal::PemKeyProblem(
          cert, key, absl::StrCat("tls.cert_file ", tls.cert_file));
      !p.empty()) {
    return bad("key_file", tls.key_file, p);
  }
  if (ca != nullptr) {
    if (std::string p = content::internal::PemCertificateProblem(*ca);
        !p.empty()) {
      return bad("client_ca_file", tls.client_ca_file, p);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const content::TlsConfig& tls) {
  if (tls.cert_file.empty()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadText(tls.cert_file, "cert_file");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadText(tls.key_file, "key_file");
  if (!key.ok()) return key.status();
  std::optional<std::string> ca_pem;
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadText(tls.client_ca_file, "client_ca_file");
    if (!ca.ok()) return ca.status();
    ca_pem = *std::move(ca);
  }
  absl::Status pem_ok =
      CheckTlsPem(tls, *cert, *key, ca_pem ? &*ca_pem : nullptr);
  if (!pem_ok.ok()) return pem_ok;
  // Served anyway (a renewed file is read within the reload interval, and
  // refusing to start helps no client), but every client refuses the
  // handshake with OpenSSL's bare "certificate verify failed": say why here.
  if (std::string dates = content::internal::PemCertificateDatesProblem(*cert);
      !dates.empty()) {
    std::cerr << "contentd: WARNING: config tls.cert_file: " << tls.cert_file
              << " " << dates
              << "; TLS clients will refuse every connection (certificate "
                 "verify failed) until it is replaced (read again every "
              << tls.reload_interval_seconds << " s)" << std::endl;
  }
  // gRPC's file watcher reads the files again every interval, so a renewed
  // certificate (cert-manager rewrites its Secret's files days before the
  // old one expires) reaches new connections without a restart; the
  // credentials of an SslServerCredentials are fixed for the process.
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          tls.key_file, tls.cert_file, tls.client_ca_file,
          static_cast<unsigned int>(tls.reload_interval_seconds));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (ca_pem) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

// Says on stderr when the TLS files change, what gRPC's watcher will serve:
// it loads whatever the files hold, and a certificate and key that do not
// go together (or an expired certificate) fail every new handshake with
// nothing in the log. Reads the files at the same interval. Thread-safe.
class TlsFileLog {
 public:
  explicit TlsFileLog(const content::TlsConfig& tls) : tls_(tls) {
    last_ = Read();
    thread_ = std::thread([this] { Run(); });
  }
  ~TlsFileLog() {
    stop_.Notify();
    thread_.join();
  }

 private:
  // The three files' contents ("" for one that cannot be read).
  std::string Read() const {
    std::string all;
    for (const std::string* path :
         {&tls_.cert_file, &tls_.key_file, &tls_.client_ca_file}) {
      absl::StatusOr<std::string> text =
          path->empty() ? std::string() : ReadText(*path, "");
      absl::StrAppend(&all, text.ok() ? *text : "", "\n--\n");
    }
    return all;
  }

  // What is wrong with the files as they are now, "" if nothing.
  std::string Problem() const {
    absl::StatusOr<std::string> cert = ReadText(tls_.cert_file, "cert_file");
    if (!cert.ok()) return std::string(cert.status().message());
    absl::StatusOr<std::string> key = ReadText(tls_.key_file, "key_file");
    if (!key.ok()) return std::string(key.status().message());
    std::optional<std::string> ca;
    if (!tls_.client_ca_file.empty()) {
      absl::StatusOr<std::string> read =
          ReadText(tls_.client_ca_file, "client_ca_file");
      if (!read.ok()) return std::string(read.status().message());
      ca = *std::move(read);
    }
    absl::Status ok = CheckTlsPem(tls_, *cert, *key, ca ? &*ca : nullptr);
    if (!ok.ok()) return std::string(ok.message());
    std::string dates = content::internal::PemCertificateDatesProblem(*cert);
    if (!dates.empty()) {
      return absl::StrCat("config tls.cert_file: ", tls_.cert_file, " ", dates);
    }
    return "";
  }

  void Run() {
    const absl::Duration interval = absl::Seconds(tls_.reload_interval_seconds);
    while (!stop_.WaitForNotificationWithTimeout(interval)) {
      std::string now = Read();
      if (now == last_) continue;
      // A Secret's files change together (one symlink swap), but a read
      // may straddle it: a problem is judged on a second look.
      std::string problem = Problem();
      if (!problem.empty() &&
          !stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
        now = Read();
        problem = Problem();
      }
      last_ = std::move(now);
      if (problem.empty()) {
        std::cerr << "contentd: TLS files changed; new connections get them "
                     "(within "
                  << tls_.reload_interval_seconds << " s)" << std::endl;
      } else {
        std::cerr << "contentd: WARNING: TLS files changed: " << problem
                  << "; new TLS connections fail until they are fixed"
                  << std::endl;
      }
    }
  }

  const content::TlsConfig tls_;
  std::string last_;
  absl::Notification stop_;
  std::thread thread_;
};

// Reads the config file again every auth.reload_interval_seconds and, when
// its auth.tokens changed, hands them to the authenticator: a token added,
// revoked (a leaked one) or given another role needed a restart, a
// moment of refused calls on one store. Other keys take effect at a
// restart, as before. A file that no longer parses, or that has no tokens
// (every client locked out, or auth turned off, which a start decides),
// changes nothing and is said on stderr. Thread-safe.
class ConfigTokenWatch {
 public:
  ConfigTokenWatch(std::string path, content::service::Authenticator* auth,
                   std::vector<content::service::TokenConfig> tokens,
                   int interval_seconds)
      : path_(std::move(path)),
        auth_(auth),
        tokens_(std::move(tokens)),
        interval_(absl::Seconds(interval_seconds)) {
    last_ = Read();
    thread_ = std::thread([this] { Run(); });
  }
  ~ConfigTokenWatch() {
    stop_.Notify();
    thread_.join();
  }

 private:
  std::string Read() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // "name (role)" of each token in `a` and not in `b`, joined.
  static std::string Missing(
      const std::vector<content::service::TokenConfig>& a,
      const std::vector<content::service::TokenConfig>& b) {
    std::vector<std::string> out;
    for (const auto& t : a) {
      const bool kept = std::any_of(b.begin(), b.end(), [&](const auto& u) {
        return u.name == t.name && u.role == t.role &&
               absl::AsciiStrToLower(u.sha256) ==
                   absl::AsciiStrToLower(t.sha256);
      });
      if (!kept) {
        out.push_back(absl::StrCat(t.name, " (",
                                   content::service::RoleName(t.role), ")"));
      }
    }
    return absl::StrJoin(out, ", ");
  }

  void Run() {
    while (!stop_.WaitForNotificationWithTimeout(interval_)) {
      std::string now = Read();
      if (now == last_) continue;
      last_ = std::move(now);
      content::ServerConfig fresh;
      absl::Status s = content::ReadConfigFile(path_, &fresh);
      if (s.ok() && (!fresh.auth.enabled || fresh.auth.tokens.empty())) {
        s = absl::InvalidArgumentError(
            "config auth.tokens: none, or auth turned off (which only a "
            "start decides; a running contentd would lock every client "
            "out)");
      }
      if (!s.ok()) {
        std::cerr << "contentd: WARNING: " << path_
                  << " changed but its tokens were not taken: " << s.message()
                  << "; the " << tokens_.size() << " tokens in use stay"
                  << std::endl;
        continue;
      }
      const std::string added = Missing(fresh.auth.tokens, tokens_);
      const std::string removed = Missing(tokens_, fresh.auth.tokens);
      if (added.empty() && removed.empty()) {
        std::cerr << "contentd: " << path_
                  << " changed, its auth.tokens did not; other keys take "
                     "effect at a restart"
                  << std::endl;
        continue;
      }
      auth_->ReplaceTokens(fresh.auth.tokens);
      tokens_ = std::move(fresh.auth.tokens);
      std::cerr << "contentd: auth.tokens read again from " << path_ << ": "
                << tokens_.size() << " tokens; now accepted: "
                << (added.empty() ? "none new" : added)
                << "; no longer accepted: "
                << (removed.empty() ? "none" : removed)
                << " (other keys take effect at a restart)" << std::endl;
    }
  }

  const std::string path_;
  content::service::Authenticator* const auth_;
  std::vector<content::service::TokenConfig> tokens_;
  const absl::Duration interval_;
  std::string last_;
  absl::Notification stop_;
  std::thread thread_;
};

// GET /metrics in Prometheus text format, on its own port and thread, and
// GET /healthz and /readyz: grpc.health.v1's "" and content.v1.Readiness
// over HTTP, for probes and hosts that cannot ask gRPC health (curl).
class MetricsServer {
 public:
  MetricsServer(content::service::Metrics* metrics,
                content::store::Store* store,
                content::service::ContentService* service,
                const content::service::ServingHealth* health)
      : metrics_(metrics), store_(store), service_(service), health_(health) {}
  ~MetricsServer() {
    http_.stop();
    if (thread_.joinable()) thread_.join();
  }

  const std::string& address() const { return address_; }

  // `name` is the flag or key `listen` came from, for errors.
  absl::Status Start(const std::string& listen, const std::string& name) {
    absl::StatusOr<HostPort> where = ParseHostPort(listen, name);
    if (!where.ok()) return where.status();
    const std::string host = where->BareHost();
    const int port = where->port;
    // cpp-httplib's default sets SO_REUSEPORT, which let a second process
    // (or the gRPC listener) share the port and take half the connections.
    // SO_REUSEADDR alone still allows a restart over TIME_WAIT connections.
    http_.set_socket_options([](socket_t sock) {
      const int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http_.Get("/metrics",
              [this](const httplib::Request&, httplib::Response& res) {
                res.set_content(Render(), "text/plain; version=0.0.4");
              });
    // 200 "ok" while the name answers SERVING; else 503 with the reason
    // its health answer's trailer carries (health.h), as Kubernetes' own
    // /healthz and /readyz answer.
    const auto probe = [](httplib::Response& res, const std::string& why) {
      res.status = why.empty() ? 200 : 503;
      res.set_content(why.empty() ? "ok\n" : absl::StrCat(why, "\n"),
                      "text/plain; charset=utf-8");
    };
    http_.Get("/healthz",
              [this, probe](const httplib::Request&, httplib::Response& res) {
                probe(res, health_->NotServingReason());
              });
    http_.Get("/readyz",
              [this, probe](const httplib::Request&, httplib::Response& res) {
                probe(res, health_->NotReadyReason());
              });
    // Port 0 picks a free one; address() then tells which.
    port_ = port == 0 ? http_.bind_to_any_port(host) : port;
    if (port_ <= 0 || (port != 0 && !http_.bind_to_port(host.c_str(), port))) {
      absl::StatusOr<std::vector<content::ListenAddress>> addresses =
          ResolveListen(listen, name);
      if (!addresses.ok()) return addresses.status();
      return ListenError(name, listen, *addresses);
    }
    address_ = absl::StrCat(where->host, ":", port_);
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    return absl::OkStatus();
  }

 private:
  std::string Render() {
    using Gauge = content::service::Metrics::Gauge;
    std::unique_ptr<content::store::ReadView> view = store_->NewReadView();
    std::vector<Gauge> gauges;
    // A count that could not be read (a database gone away) is left out:
    // 0 articles would read as a store that lost them.
    for (const bool deleted : {false, true}) {
      absl::StatusOr<int64_t> n =
          view->CheckedCount(content::store::PostingPrefix(
              content::store::IndexKind::kAll, deleted, ""));
      if (!n.ok()) continue;
      gauges.push_back({deleted ? "contentd_articles{state=\"deleted\"}"
                                : "contentd_articles{state=\"live\"}",
                        "Articles by state.", static_cast<double>(*n)});
    }
    // Prometheus' build-info idiom: always 1, the labels say what runs.
    gauges.push_back(
        {absl::StrCat("contentd_build_info{version=\"", CONTENT_VERSION,
                      "\",storage_engine=\"",
                      store_->engine()->shared() ? "postgresql" : "rocksdb",
                      "\"}"),
         "contentd's version and storage engine (the value is 1).", 1.0});
    gauges.push_back(
        {"process_start_time_seconds",
         "When contentd began serving, in seconds since the Unix epoch.",
         absl::ToDoubleSeconds(service_->start_time() - absl::UnixEpoch())});
    gauges.push_back({"contentd_last_sequence", "Last change-log sequence.",
                      static_cast<double>(store_->last_sequence())});
    gauges.push_back({"contentd_watchers", "Watch streams open.",
                      static_cast<double>(service_->watchers())});
    // Running totals since start, by the reason the client was told.
    constexpr char kCutOffHelp[] =
        "Watch streams contentd ended because their client fell behind, by "
        "reason.";
    gauges.push_back(
        {"contentd_watchers_cut_off_total{reason=\"WATCH_TOO_SLOW\"}",
         kCutOffHelp, static_cast<double>(service_->watchers_stalled()),
         /*counter=*/true});
    gauges.push_back(
        {"contentd_watchers_cut_off_total{reason=\"EVENTS_TRIMMED\"}",
         kCutOffHelp, static_cast<double>(service_->watchers_trimmed()),
         /*counter=*/true});
    gauges.push_back({"contentd_exports",
                      "Exports (ExportArticles streams) open.",
                      static_cast<double>(service_->exports())});
    // One reason only (EXPORT_TOO_SLOW), so no label.
    gauges.push_back({"contentd_exports_cut_off_total",
                      "Exports contentd ended because their client stopped "
                      "taking batches.",
                      static_cast<double>(service_->exports_stalled()),
                      /*counter=*/true});
    // 1 (with the reason every write gets) while the store takes no writes,
    // else 0. DISK_FULL ends by itself once the volume has room: the help
    // said "until contentd restarts" of every reason.
    const absl::Status refused = store_->WritesRefused();
    gauges.push_back(
        {refused.ok() ? std::string("contentd_store_read_only")
                      : absl::StrCat("contentd_store_read_only{reason=\"",
                                     content::ReasonOf(refused), "\"}"),
         "1 while the store serves reads only, labelled with the reason "
         "writes get (DISK_FULL: until the volume has room; UNAVAILABLE: "
         "until contentd restarts), else 0.",
         refused.ok() ? 0.0 : 1.0});
    for (const auto& [name, value] : store_->StorageStats()) {
      if (name == "rocksdb.dbstats") continue;
      if (std::optional<Gauge> g = content::service::StorageGauge(name, value))
        gauges.push_back(*std::move(g));
    }
    return metrics_->Render(gauges);
  }

  content::service::Metrics* const metrics_;
  content::store::Store* const store_;
  content::service::ContentService* const service_;
  const content::service::ServingHealth* const health_;
  int port_ = 0;
  std::string address_;
  httplib::Server http_;
  std::thread thread_;
};

// Stops `server`: health says NOT_SERVING, Watch streams end, and calls in
// progress get `grace` to finish; those left at its end are ended with
// UNAVAILABLE "contentd is stopping", and gRPC cuts what is left a second
// later. Every stop takes this path: a signal's, and a start that fails
// once serving (the port file).
void StopServing(grpc::Server& server, content::service::CallTracker& calls,
                 content::service::ServingHealth& health,
                 content::service::ContentService& service,
                 content::service::AdminService& admin, absl::Duration grace) {
  // NOT_SERVING while in-flight calls finish, so load balancers stop
  // sending new ones.
  health.Shutdown();
  service.PrepareShutdown();
  // gRPC closes each connection once its client answers a PING sent with
  // the first GOAWAY (up to 20 s), and an idle C++ client (gRPC 1.51)
  // reads its socket only every 5 s: a stop took 5 s while any client was
  // connected, even with no call. So once no call has run for a moment
  // (time for calls sent before a client saw the GOAWAY to arrive), the
  // connections left are closed (grpc_server_cancel_all_calls: no call is
  // left to cancel). Calls in progress still get the grace; those left
  // at its end are ended with UNAVAILABLE "contentd is stopping", and
  // gRPC cuts what is left a second later.
  constexpr absl::Duration kQuiet = absl::Milliseconds(200);
  static constexpr absl::Duration kCutAfterGrace = absl::Seconds(1);
  const absl::Time grace_end = absl::Now() + grace;
  absl::Notification shutting_down;
  std::thread shutdown([&server, &shutting_down, grace_end] {
    shutting_down.Notify();
    server.Shutdown(absl::ToChronoTime(grace_end + kCutAfterGrace));
  });
  shutting_down.WaitForNotification();
  if (!calls.WaitUntilQuiet(kQuiet, grace_end)) {
    content::LogLine(
        std::cerr,
        absl::StrCat("contentd: ", calls.in_flight(),
                     " calls still running at the end of the grace (",
                     absl::FormatDuration(grace),
                     "): ending them with UNAVAILABLE"));
    service.EndCalls();
    admin.EndCalls();
    calls.WaitUntilQuiet(absl::ZeroDuration(), grace_end + kCutAfterGrace);
  }
  grpc_server_cancel_all_calls(server.c_server());
  shutdown.join();
  server.Wait();
}

// A data directory that exists, holds no store (no CURRENT file) and is not
// empty: contentd would create a new, empty store beside what is there and
// serve it. The usual cause is a restore: `cp -a BACKUP DIR` into a DIR that
// exists copies to DIR/BACKUP, and contentd then served an empty store,
// last sequence 0, with the backup one level down. OK for a missing or empty
// directory, and for what a first start cut short leaves (RocksDB's and
// contentd's own files) or the file system puts there (lost+found, dot
// names).
absl::Status CheckNewStoreDir(const std::string& dir, const std::string& flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || fs::exists(dir + "/CURRENT", ec))
    return absl::OkStatus();
  std::vector<std::string> others;
  std::string store_below;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool rocksdb_file =
        name == "LOCK" || name == "IDENTITY" || name == "LOG" ||
        name == "contentd.pid" || name == "ingest" ||
        absl::StartsWith(name, "LOG.old.") ||
        absl::StartsWith(name, "MANIFEST-") ||
        absl::StartsWith(name, "OPTIONS-") || absl::EndsWith(name, ".log") ||
        absl::EndsWith(name, ".sst") || absl::EndsWith(name, ".blob") ||
        absl::EndsWith(name, ".dbtmp");
    if (rocksdb_file || name == "lost+found" || name[0] == '.') continue;
    std::error_code sub_ec;
    if (store_below.empty() && fs::exists(it->path() / "CURRENT", sub_ec))
      store_below = it->path().string();
    others.push_back(name);
  }
  if (others.empty()) return absl::OkStatus();
  std::sort(others.begin(), others.end());
  const size_t shown = std::min<size_t>(others.size(), 5);
  std::string listed =
      absl::StrJoin(others.begin(), others.begin() + shown, ", ");
  if (others.size() > shown)
    absl::StrAppend(&listed, " and ", others.size() - shown, " more");
  std::string message =
      absl::StrCat(flag, ": ", dir,
                   " holds no store (no RocksDB CURRENT file) and is not "
                   "empty (",
                   listed,
                   "): contentd creates a new store only in a missing "
                   "or empty directory");
  if (!store_below.empty()) {
    absl::StrAppend(&message, "; ", store_below,
                    " holds one: serve it with --data-dir ", store_below,
                    " (`cp -a BACKUP DIR` into a DIR that exists copies to "
                    "DIR/BACKUP)");
  } else {
    absl::StrAppend(&message,
                    "; give --data-dir a new directory, or the one that "
                    "holds the store");
  }
  return absl::FailedPreconditionError(message);
}

// DATA_DIR/contentd.pid: the serving contentd's pid, removed when it stops
// cleanly. Found at a start it tells that the last run was killed or
// crashed (RocksDB's LOCK rules out a live one), which the log then says:
// the store's recovery from its write-ahead log is otherwise silent.
// Errors are ignored: the file only informs. Not thread-safe.
class PidFile {
 public:
  explicit PidFile(std::string path) : path_(std::move(path)) {
    std::ifstream in(path_);
    left_ = static_cast<bool>(in);
    if (left_) in >> previous_;
    std::ofstream out(path_, std::ios::trunc);
    out << getpid() << "\n";
  }
  ~PidFile() { std::remove(path_.c_str()); }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Whether the last run left its file; its pid (0 if unreadable).
  bool left() const { return left_; }
  long previous() const { return previous_; }

 private:
  const std::string path_;
  bool left_ = false;
  long previous_ = 0;
};

const char* SignalName(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "SIGINT";
}

// The stop signals (blocked in every thread), taken by one thread for the
// rest of the process's life. Until Serving(), the first ends contentd at
// once, as if it were not blocked: a start can take minutes (a log replay, a
// layout upgrade, a file system that does not answer), and a stop then
// waited for systemd's SIGKILL. The store is left as a kill leaves it, which
// the next start recovers from like any crash. Once serving, the first is a
// request for a clean stop (WaitForStop) and a second ends a stop that takes
// too long at once. Thread-safe; never destroyed (its thread runs on).
class StopSignals {
 public:
  // `kept`: where acknowledged writes are when a second signal cuts the
  // stop short, as the log line says it.
  StopSignals(const sigset_t& signals, const char* kept)
      : signals_(signals), kept_(kept) {
    std::thread([this] { Run(); }).detach();
  }

  // From now on the first signal asks for a clean stop.
  void Serving() {
    absl::MutexLock lock(&mu_);
    serving_ = true;
  }

  // The first signal after Serving(): waits for it.
  int WaitForStop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* first) { return *first != 0; }, &first_));
    return first_;
  }

 private:
  void Run() {
    // Named, so that /proc (and a test) tells it from the threads that
    // must leave these signals alone.
    pthread_setname_np(pthread_self(), "stop-signals");
    for (;;) {
      int sig = 0;
      if (sigwait(&signals_, &sig) != 0) continue;
      absl::MutexLock lock(&mu_);
      if (!serving_) EndWhileStarting(sig);
      if (first_ == 0) {
        // Said here, before this thread takes the next signal: said by the
        // main thread once it woke, the line was lost to a second signal
        // that came first, whose _exit left only "second SIGTERM".
        content::LogLine(std::cerr,
                         absl::StrCat("contentd: ", SignalName(sig),
                                      ", finishing in-flight calls"));
        first_ = sig;
        first_at_ = absl::Now();
        continue;
      }
      // The same signal again at once is the same request sent twice:
      // `timeout` signals its child and then its process group, and a
      // script may kill a process and its group. Taken as a second, it cut
      // every such stop short. No hand presses Ctrl-C twice this fast.
      if (sig == first_ && absl::Now() - first_at_ < kEcho) {
        content::LogLine(
            std::cerr,
            absl::StrCat("contentd: ", SignalName(sig), " again within ",
                         absl::FormatDuration(kEcho),
                         ", taken as the same stop (one sent to the process "
                         "and to its group, as `timeout` does)"));
        continue;
      }
      // Every acknowledged write is kept (RocksDB's WAL, which the next
      // start replays as after a kill -9; PostgreSQL's commit): a second
      // Ctrl-C ends calls that hold the stop up to the grace, or a storage
      // compaction past it.
      content::LogLine(
          std::cerr,
          absl::StrCat("contentd: second ", SignalName(sig),
                       ", stopping now without waiting for calls in progress "
                       "(acknowledged writes are ",
                       kept_, ")"));
      _exit(1);
    }
  }

  // Ends the process by `sig`'s default action, so that a supervisor sees
  // the stop it asked for (systemd takes death by SIGTERM for a clean one).
  [[noreturn]] static void EndWhileStarting(int sig) {
    content::LogLine(
        std::cerr,
        absl::StrCat("contentd: ", SignalName(sig),
                     " while starting, stopping now (nothing was served yet; "
                     "the next start opens the store as after a kill)"));
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    raise(sig);
    _exit(128 + sig);
  }

  const sigset_t signals_;
  const char* const kept_;
  absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  int first_ ABSL_GUARDED_BY(mu_) = 0;
  // When first_ came.
  absl::Time first_at_ ABSL_GUARDED_BY(mu_);
  // A repeat of the first signal this soon after it is the same request.
  static constexpr absl::Duration kEcho = absl::Milliseconds(100);
};

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken synchronously by the main thread only (sigwait): block
  // them before any thread starts (gRPC's start with its credentials, the
  // page returner's with the allocator), so none of those takes one and
  // dies of it. A check gets them back (Ctrl-C stops it). SIGHUP (the
  // terminal of a foreground contentd closed) stops it the same graceful
  // way: by default it would end the process mid-call, with no clean stop.
  // A write to a closed pipe or socket fails with EPIPE instead of ending
  // the process: with stderr a pipe whose reader went away (`contentd 2>&1
  // | logger`, a log shipper restarting) contentd died of SIGPIPE at its
  // next line, at start before it served. gRPC, libpq and the notify
  // socket send with MSG_NOSIGNAL; cpp-httplib ignored SIGPIPE too, but
  // only once the metrics listener was made, after the first lines.
  // contentd runs no other program, so none inherits it.
  signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  content::ServerConfig config;
  std::string config_path, listen, data_dir, durability, port_file;
  int64_t max_article_bytes = 0, max_tags = 0, max_page_size = 0;

  CLI::App app{"contentd: a versioned content repository served over gRPC"};
  app.add_option("-c,--config", config_path,
                 "YAML config file (see deploy/contentd.yaml)");
  app.add_option(
      "--listen", listen,
      "Address to serve on (default 127.0.0.1:7070; port 0 picks one)");
  app.add_option(
      "--data-dir", data_dir,
      "Data directory (default ./data; created if missing, else it must "
      "hold a store or be empty)");
  std::string storage_engine, storage_dsn, storage_table;
  app.add_option("--storage-engine", storage_engine,
                 "rocksdb (embedded, in --data-dir; default) or postgres "
                 "(a table shared by replicas)")
      ->check(CLI::IsMember({"rocksdb", "postgres"}));
  app.add_option("--storage-dsn", storage_dsn,
                 "postgres: libpq connection string, e.g. \"host=db "
                 "user=contentd dbname=content\"");
  app.add_option("--storage-table", storage_table,
                 "postgres: table holding the store (default contentd_kv)");
  app.add_option("--durability", durability,
                 "sync: acknowledge after the WAL is synced (default); "
                 "async: acknowledge before (faster, may lose the last writes "
                 "on power loss)")
      ->check(CLI::IsMember({"sync", "async"}));
  // Integer flags read decimal (DecimalInt): CLI11 alone reads 010 as 8.
  // Capped as limits.max_article_bytes is: 4 x it (the gRPC receive limit
  // below) overflowed past 2^61.
  app.add_option("--max-article-bytes", max_article_bytes,
                 "Largest article accepted (default 1 MiB, at most 1 GiB)")
      ->transform(content::internal::DecimalInt(
          int64_t{1}, content::service::kMaxArticleBytesCap));
  // Both are ints in service::Limits: 2147483648 would wrap to INT_MIN
  // (every write refused, every page size negative).
  constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
  app.add_option("--max-tags", max_tags,
                 "Most entries in each of an article's tags, categories, "
                 "lang, translations and widgets (default 64)")
      ->transform(content::internal::DecimalInt(int64_t{1}, kMaxInt));
  app.add_option("--max-page-size", max_page_size,
                 "Largest page a query may ask for (default 1000)")
      ->transform(content::internal::DecimalInt(int64_t{1}, kMaxInt));
  int64_t start_timeout_seconds = 0;
  app.add_option("--start-timeout-seconds", start_timeout_seconds,
                 "How long a start (opening the store) may take before "
                 "contentd takes it for hung and exits 1, for systemd to "
                 "restart it (default 1800; start_timeout_seconds)")
      ->transform(content::internal::DecimalInt(
          int64_t{1}, content::kMaxStartTimeoutSeconds));
  app.add_option("--port-file", port_file,
                 "Write the bound port to this file once serving (not with "
                 "a unix: --listen)");
  bool no_auth = false, hash_token = false;
  std::string metrics_listen;
  app.add_flag("--no-auth", no_auth,
               "Serve without authentication (explicitly; logged loudly)");
  app.add_flag("--hash-token", hash_token,
               "Read a token on stdin, print the sha256 to put in the config, "
               "and exit");
  app.add_option("--metrics-listen", metrics_listen,
                 "Serve Prometheus /metrics on this address (default off)");
  bool check = false, repair = false;
  app.add_flag("--check", check,
               "Check the data directory's consistency offline, print a "
               "report and exit (0 clean, 1 not, 2 no store there or a running "
               "contentd holds it)");
  app.add_flag("--repair", repair,
               "With --check (needs it): open the store read-write and, "
               "if the check finds index problems, rebuild the indexes "
               "from the heads and check again");
  // What this build is, and the store layouts it writes (an older build
  // refuses a newer layout: docs/operations.md, "Stop and start", layout
  // versions).
  app.set_version_flag(
      "--version",
      absl::StrCat("contentd ", CONTENT_VERSION, "\nstore layout ",
                   content::store::kStoreFormat, " (PostgreSQL tables: ",
                   content::store::kSharedStoreFormat, ")"),
      "Print the version and the store layout this build writes, and exit");
  std::string clock_file;
  app.add_option("--clock-file", clock_file,
                 "Tests only: read the current time (RFC 3339) from this "
                 "file whenever the time is needed; real time while the file "
                 "is missing or unreadable")
      ->group("");
  std::string hold_operations;
  app.add_option("--hold-operations", hold_operations,
                 "Tests only: while this file exists, a backup, compaction "
                 "or check waits at each report of its progress that counts "
                 "something (a total or an amount done; only an amount done "
                 "if the file says `done`), so that a test sees it running "
                 "however fast it is")
      ->group("");
  // A usage error is said as contentctl says one: a line naming the flag
  // and the rule, then `Run `contentd --help` for more information.`
  // (common/usage_error.h), where CLI11 said "Run with --help ...". Exit 2
  // like the flags and keys checked below (CLI11's own codes are 100 and
  // up).
  const auto usage = [](const std::string& message) {
    std::cerr << message << "\n"
              << content::internal::UsageHint("contentd") << "\n";
    return 2;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a ParseError too (exit code 0): it prints the help.
    if (e.get_exit_code() == 0) return app.exit(e);
    // An unknown flag is said as contentctl says it, `unknown flag
    // "--data-dri" (did you mean "--data-dir"?)`, before any other error:
    // CLI11 said only that arguments "were not expected".
    const std::vector<std::string> rest = app.remaining();
    for (const std::string& arg : rest) {
      if (!content::internal::LooksLikeFlag(arg)) continue;
      const std::string flag = arg.substr(0, arg.find('='));
      std::vector<std::string> flags;
      for (const CLI::Option* o : app.get_options()) {
        if (o->get_group().empty())
          continue;  // hidden: --clock-file, --hold-operations
        for (const std::string& l : o->get_lnames()) flags.push_back("--" + l);
        for (const std::string& n : o->get_snames()) flags.push_back("-" + n);
      }
      return usage(content::internal::UnknownFlagMessage(
          flag, content::internal::NearestNames(flag, flags)));
    }
    // `--data-dir --max-tags 5`: CLI11 took --max-tags as the directory and
    // refused the 5.
    if (std::string flag,
        bad = content::internal::FlagWithoutValue(app, argc, argv, &flag);
        !bad.empty()) {
      return usage(bad);
    }
    // An argument, which contentd takes none of, is named alone.
    if (!rest.empty() && dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      return usage(absl::StrCat("unexpected argument \"", rest.front(),
                                "\": contentd takes flags only"));
    }
    // CLI11's line names the flag: `--max-tags: not in range 1 to
    // 2147483647, got 0`, `--durability: nope not in {sync,async}`.
    return usage(e.what());
  }
  // `--data-dir --no-auth` parsed, serving a directory named `--no-auth`.
  if (std::string flag,
      bad = content::internal::FlagWithoutValue(app, argc, argv, &flag);
      !bad.empty()) {
    return usage(bad);
  }
  // The checks of the command line alone, below, are usage errors too:
  // said as the parse's are, with the hint line (they read `contentd:
  // INVALID_ARGUMENT: ...`, with none). Errors of the config file name the
  // file and the key (`FILE: config KEY: ...`).
  //
  // An empty value given on purpose would be taken as not given and fall
  // back to the config or default (`--data-dir "$UNSET"` served ./data).
  // (`--metrics-listen ""` kept the config's metrics address: no flag turns
  // metrics off; `metrics_listen: ""` in the file does.)
  for (const char* flag :
       {"--config", "--listen", "--data-dir", "--port-file", "--storage-engine",
        "--storage-dsn", "--storage-table", "--metrics-listen"}) {
    const CLI::Option* o = app.get_option(flag);
    if (o->count() > 0 && o->as<std::string>().empty()) {
      return usage(absl::StrCat(flag, ": must not be empty"));
    }
  }
  if (repair && !check) {
    // Alone it would still open the store read-write and repair: say how
    // to ask for that instead of doing it.
    return usage(
        "--repair: needs --check (contentd --check --repair --data-dir DIR "
        "checks a stopped store and rebuilds its indexes)");
  }
  // Debian's Abseil is built with deadlock detection on, which records a
  // lock graph on every absl::Mutex acquisition (gRPC's too): a few percent
  // of a GetArticle. The tests and TSan builds keep catching lock cycles.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  if (hash_token) {
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);  // Ctrl-C stops it
    std::string token;
    std::getline(std::cin, token);
    // A file written on Windows ends its line in \r\n; the SDK drops both.
    if (!token.empty() && token.back() == '\r') token.pop_back();
    if (token.empty()) return Fail(absl::InvalidArgumentError("empty token"));
    // A token no client can send (a control character, a byte that is not
    // ASCII) would make a hash nobody can match.
    absl::StatusOr<std::string> sendable = content::internal::CleanToken(token);
    if (!sendable.ok()) return Fail(sendable.status());
    std::cout << content::service::HashToken(*sendable) << "\n";
    return 0;
  }
  if (!config_path.empty()) {
    // Its rules between keys are checked with the flags applied
    // (CheckConfig, below): a flag may complete the file.
    absl::Status s = content::ReadConfigFile(config_path, &config);
    if (!s.ok()) return Fail(s);
  }
  // How errors name the data directory and the listen address: the flag
  // when it gave them; else the file and key when the file did; else the
  // flag that sets them, the default being used (`data_dir` named a key of
  // a config file there was none of).
  const content::ServerConfig defaults;
  const auto setting_name = [&](bool flag_given, bool file_set,
                                const char* flag, const char* key) {
    if (flag_given || !file_set) return std::string(flag);
    return absl::StrCat(config_path, ": config ", key);
  };
  const std::string data_dir_name = setting_name(
      !data_dir.empty(), config.store.data_dir != defaults.store.data_dir,
      "--data-dir", "data_dir");
  // The table as the store's errors name it: `storage.table` from the
  // file, else its flag (the default's too: it named a key of a config
  // file there was none of).
  const std::string table_name =
      storage_table.empty() && config.store.pg_table != defaults.store.pg_table
          ? "storage.table"
          : "--storage-table";
  const std::string listen_name = setting_name(
      !listen.empty(), config.listen != defaults.listen, "--listen", "listen");
  const std::string metrics_listen_name = setting_name(
      !metrics_listen.empty(), true, "--metrics-listen", "metrics_listen");
  // The keys the flags below set, for CheckConfig's errors to name them.
  content::ConfigOrigin origin;
  origin.file = config_path;
  for (const auto& [given, key, flag] :
       {std::tuple{!listen.empty(), "listen", "--listen"},
        std::tuple{!data_dir.empty(), "data_dir", "--data-dir"},
        std::tuple{!metrics_listen.empty(), "metrics_listen",
                   "--metrics-listen"},
        std::tuple{!storage_engine.empty(), "storage.engine",
                   "--storage-engine"},
        std::tuple{!storage_dsn.empty(), "storage.dsn", "--storage-dsn"},
        std::tuple{!storage_table.empty(), "storage.table", "--storage-table"},
        std::tuple{!durability.empty(), "sync", "--durability"},
        std::tuple{max_article_bytes > 0, "limits.max_article_bytes",
                   "--max-article-bytes"},
        std::tuple{max_tags > 0, "limits.max_tags", "--max-tags"},
        std::tuple{max_page_size > 0, "limits.max_page_size",
                   "--max-page-size"}}) {
    if (given) origin.flags[key] = flag;
  }
  if (no_auth) config.auth.enabled = false;
  if (start_timeout_seconds > 0)
    config.start_timeout = absl::Seconds(start_timeout_seconds);
  if (!metrics_listen.empty()) config.metrics_listen = metrics_listen;
  if (!listen.empty()) config.listen = listen;
  if (!data_dir.empty()) config.store.data_dir = data_dir;
  if (!storage_engine.empty()) config.store.engine = storage_engine;
  if (!storage_dsn.empty()) config.store.pg_dsn = storage_dsn;
  if (!storage_table.empty()) config.store.pg_table = storage_table;
  if (!durability.empty()) config.store.sync = durability == "sync";
  if (max_article_bytes > 0)
    config.service.limits.max_article_bytes = max_article_bytes;
  if (max_tags > 0)
    config.service.limits.max_list_entries = static_cast<int>(max_tags);
  if (max_page_size > 0) {
    config.service.limits.max_page_size = static_cast<int>(max_page_size);
    if (config.service.limits.default_page_size >
        config.service.limits.max_page_size)
      config.service.limits.default_page_size =
          config.service.limits.max_page_size;
  }
  // The database's errors name the DSN as it was given, starting, checking
  // and serving alike (readiness and schedule lines, UNAVAILABLE replies).
  if (origin.flags.count("storage.dsn") > 0) {
    config.store.pg_dsn_name = origin.flags.at("storage.dsn");
  } else if (!config_path.empty()) {
    config.store.pg_dsn_name = absl::StrCat("storage.dsn in ", config_path);
  }
  if (absl::Status s = content::CheckConfig(config, origin); !s.ok()) {
    // Naming a flag, it is the command line's: a usage error, as the
    // flags' other checks. Naming the file's key, the file's error.
    if (absl::StartsWith(s.message(), "-")) {
      return usage(std::string(s.message()));
    }
    return Fail(s);
  }

  if (!clock_file.empty()) {
    // A fake clock for end-to-end tests of scheduling (publish and expiry
    // times): the test writes the time it wants into the file. A file
    // caught while it is rewritten (truncated, not yet written) keeps the
    // last time read: the real clock, years before a test's, would look to
    // the scheduler like a clock set back and fire entries again. The
    // first read is here, before anything is served: the scheduler's
    // thread, late on a loaded machine, could otherwise make it after a
    // test began a rewrite, with no last time to keep.
    const auto read = [clock_file]() -> std::optional<absl::Time> {
      std::ifstream in(clock_file);
      std::string text;
      absl::Time t;
      std::string err;
      if (in && std::getline(in, text) &&
          absl::ParseTime(absl::RFC3339_full,
                          std::string(absl::StripAsciiWhitespace(text)), &t,
                          &err)) {
        return t;
      }
      return std::nullopt;
    };
    struct LastRead {
      absl::Mutex mu;
      absl::Time time ABSL_GUARDED_BY(mu);
    };
    auto last = std::make_shared<LastRead>();
    const std::optional<absl::Time> first = read();
    if (!first.has_value()) {
      return usage(absl::StrCat("--clock-file: ", clock_file,
                                " holds no RFC 3339 time on its first line"));
    }
    {
      absl::MutexLock lock(&last->mu);
      last->time = *first;
    }
    config.store.clock = [read, last] {
      absl::MutexLock lock(&last->mu);
      if (std::optional<absl::Time> t = read(); t.has_value()) last->time = *t;
      return last->time;
    };
    std::fprintf(stderr, "contentd: clock from %s (tests only)\n",
                 clock_file.c_str());
  }

  if (check) {
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
    return RunCheck(config.store, repair, data_dir_name, table_name);
  }
  // Everything that can be checked without the store is, before opening
  // (and so creating) the data directory.
  // A malformed address is a usage error from a flag; from the config
  // file, the file's error, `FILE: config listen: must be host:port`.
  const auto address_error = [&](const absl::Status& s, bool from_flag) {
    if (from_flag) return usage(std::string(s.message()));
    return Fail(s);
  };
  absl::Status listen_ok = CheckListen(config.listen, listen_name);
  if (!listen_ok.ok()) return address_error(listen_ok, !listen.empty());
  if (!port_file.empty() && IsUnixSocket(config.listen)) {
    // gRPC reports 1 as the "port" of a unix socket. Whichever gave the
    // socket, --port-file is what to leave out.
    return usage(absl::StrCat("--port-file: a unix socket has no port (",
                              listen.empty() ? "listen" : "--listen", " ",
                              config.listen,
                              "); leave out --port-file, or listen on "
                              "host:port"));
  }
  if (!port_file.empty()) {
    // Its folder must be there to take the file (written beside it and
    // renamed, WritePortFile): found now, before serving, and said as the
    // flag's error (exit 2, which systemd does not restart: it would fail
    // again), naming what is wrong. It was exit 1 saying "is not a
    // directory" of a folder that did not exist.
    std::filesystem::path parent =
        std::filesystem::path(port_file).parent_path();
    if (parent.empty()) parent = ".";
    std::string why;
    struct stat st;
    if (stat(parent.c_str(), &st) != 0) {
      why = absl::StrCat("its folder ", parent.string(), ": ",
                         std::strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
      why = absl::StrCat(parent.string(), " is not a folder");
    } else if (access(parent.c_str(), W_OK | X_OK) != 0) {
      why = absl::StrCat("cannot create files in its folder ", parent.string(),
                         ": ", std::strerror(errno));
    }
    if (!why.empty()) {
      return usage(
          absl::StrCat("--port-file: cannot write ", port_file, ": ", why));
    }
  }
  if (!config.metrics_listen.empty()) {
    absl::Status s =
        ParseHostPort(config.metrics_listen, metrics_listen_name).status();
    if (!s.ok()) return address_error(s, !metrics_listen.empty());
  }
  absl::Status auth_ok = ResolveAuth(&config);
  if (!auth_ok.ok()) {
    // A configuration refused: exit 2, as for a flag or key, which the
    // systemd unit does not restart (RestartPreventExitStatus=2). It exited
    // 1 and was started again every 2 s, to be refused again.
    Fail(auth_ok);
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      ServerCredentials(config.tls);
  if (!creds.ok()) {
    // tls.* come from the file only: its errors name the file too.
    return Fail(absl::Status(
        creds.status().code(),
        absl::StrCat(config_path, ": ", creds.status().message())));
  }
  std::unique_ptr<TlsFileLog> tls_file_log;
  if (!config.tls.cert_file.empty()) {
    tls_file_log = std::make_unique<TlsFileLog>(config.tls);
  }
  // gRPC binds every address the listen host resolves to, or fails: a
  // client of `localhost:7070` may try ::1 or 127.0.0.1, and another
  // server holding one of them would answer some of its calls. (Left to
  // itself, gRPC starts if any one of them binds.) None for a unix socket.
  absl::StatusOr<std::vector<content::ListenAddress>> grpc_addresses =
      ResolveListen(config.listen, listen_name);
  if (!grpc_addresses.ok()) return Fail(grpc_addresses.status());
  std::vector<content::ListenAddress> metrics_addresses;
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<std::vector<content::ListenAddress>> resolved =
        ResolveListen(config.metrics_listen, metrics_listen_name);
    if (!resolved.ok()) return Fail(resolved.status());
    metrics_addresses = *std::move(resolved);
  }
  // An address in use, too, is found before the store is opened: a failed
  // start then leaves no new data directory behind. Both addresses are held
  // at once (so one shared by both fails) while the store opens, and let go
  // just before the listeners bind: a port chosen here for port 0 is not
  // free for other sockets (the store's own connections) meanwhile. Another
  // process could still take one in that last moment; the listener then
  // fails as it did before this check.
  std::vector<content::PortReservation> held;
  {
    absl::Status s =
        CheckBind(config.listen, listen_name, &*grpc_addresses, &held);
    // (cpp-httplib binds the first address of the metrics host; port 0
    // there needs no common port.)
    if (s.ok() && !metrics_addresses.empty() &&
        metrics_addresses.front().port() != 0) {
      s = CheckBind(config.metrics_listen, metrics_listen_name,
                    &metrics_addresses, &held);
    }
    if (!s.ok()) return Fail(s);
  }

  content::service::FreePageReturner free_pages(
      content::service::FreePageReturner::Options{});

  // From here on a stop signal ends the start (checks above take Ctrl-C
  // themselves).
  StopSignals* const stop_signals =
      new StopSignals(signals, config.store.engine == "postgres"
                                   ? "committed in the database"
                                   : "in the WAL; the next start replays it");

  // Under a Type=notify systemd unit: still starting while the store opens
  // (a long log replay, a layout upgrade), then ready once it serves.
  const content::SystemdNotifier notifier =
      content::SystemdNotifier::FromEnvironment();
  // A start that outlasts start_timeout is taken for hung (a file system
  // or database that does not answer): rather than extend systemd's start
  // timeout for ever, say so and exit 1, which Restart=on-failure restarts.
  // _exit: the start's thread is stuck and cannot be joined.
  std::optional<content::StartExtender> starting(
      std::in_place, notifier, absl::Seconds(20), config.start_timeout,
      [notifier, limit = config.start_timeout] {
        const std::string why = absl::StrCat(
            "start did not finish within ", absl::FormatDuration(limit),
            " (start_timeout_seconds): the store's file system or database "
            "may not be answering; exiting for the supervisor to start "
            "contentd again");
        content::LogLine(std::cerr, absl::StrCat("contentd: ", why));
        (void)notifier.Notify(absl::StrCat("STATUS=", why));
        _exit(1);
      });

  if (config.store.engine == "rocksdb") {
    // Said plainly, rather than as RocksDB's "While lock file: ...".
    absl::StatusOr<bool> in_use =
        content::store::RocksKvInUse(config.store.data_dir);
    if (in_use.ok() && *in_use) {
      return Fail(absl::FailedPreconditionError(absl::StrCat(
          data_dir_name, ": ", config.store.data_dir,
          " is in use by a running contentd (it holds the store's LOCK); "
          "stop it, or give this one another directory")));
    }
    // A restart would be refused again: exit 2, as a configuration.
    if (absl::Status s = CheckNewStoreDir(config.store.data_dir, data_dir_name);
        !s.ok()) {
      Fail(s);
      return 2;
    }
  }
  // Health answers NOT_SERVING once the store stops taking writes for good
  // (an I/O error RocksDB cannot recover from while running), so that an
  // orchestrator restarts contentd; reads go on meanwhile.
  content::service::ServingHealth serving_health(&std::cerr);
  config.store.on_writes_stopped = [&serving_health](const absl::Status& s) {
    serving_health.StorageFailed(s);
  };
  // Reads are served meanwhile, so health stays SERVING; once the volume
  // has room the store opens itself for writing (and logs it), or, should
  // that fail, health turns NOT_SERVING (on_writes_stopped: a restart).
  config.store.on_opened_read_only = [](const absl::Status& s) {
    content::LogLine(
        std::cerr, absl::StrCat("contentd: serving reads only: ", s.message()));
  };

  // The store's errors name its settings by their keys.
  const auto store_fail = [&](const absl::Status& s) {
    return Fail(NameTheStorageFlags(s, table_name));
  };
  // Declared first, so that it is removed once the store has closed.
  std::optional<PidFile> pid_file;
  absl::StatusOr<std::unique_ptr<content::store::Store>> store =
      content::store::Store::Open(config.store);
  if (!store.ok()) {
    // A damaged store (RocksDB's Corruption: a table file missing or cut
    // short, a MANIFEST failing its checksum) or a newer build's: a restart
    // meets it again, so exit 2, which systemd does not restart
    // (RestartPreventExitStatus=2). It exited 1 and was started every 2 s.
    if (absl::IsDataLoss(store.status())) {
      const std::string check =
          config.store.engine == "rocksdb"
              ? absl::StrCat("contentd --check --data-dir ",
                             config.store.data_dir)
              : std::string("contentd --check with the same storage settings");
      store_fail(absl::DataLossError(absl::StrCat(
          store.status().message(),
          "; the store is damaged and a restart would meet the same damage: "
          "see what `",
          check,
          "` reports, and restore the last backup (docs/operations.md, "
          "\"Backup and restore\")")));
      return 2;
    }
    if (content::ReasonOf(store.status()) ==
        content::reason::kStoreLayoutNewer) {
      store_fail(store.status());
      return 2;
    }
    return store_fail(store.status());
  }
  if (config.store.engine == "rocksdb") {
    pid_file.emplace(config.store.data_dir + "/contentd.pid");
    if (pid_file->left()) {
      content::LogLine(
          std::cerr,
          absl::StrCat("contentd: the last run",
                       pid_file->previous() > 0
                           ? absl::StrCat(" (pid ", pid_file->previous(), ")")
                           : "",
                       " did not stop cleanly (killed or crashed); the store "
                       "was recovered from its write-ahead log"));
    }
  }
  // Replicas of a shared store say that they serve it, so that an offline
  // repair refuses while any does; one that starts during a repair stops.
  if (absl::Status s = (*store)->engine()->MarkServing(); !s.ok())
    return store_fail(s);
  // A store this configuration must not serve: a restart is refused the
  // same way until an operator repairs it or changes the setting, so exit
  // 2, as for a configuration refused (systemd's RestartPreventExitStatus).
  const auto refuse = [&](const absl::Status& s) {
    store_fail(s);
    return 2;
  };
  // Incomplete indexes would answer queries wrongly: refuse to serve.
  absl::Status repair_ok = content::store::IndexRepairPending(**store);
  if (content::ReasonOf(repair_ok) == content::reason::kIndexRepairPending)
    return refuse(repair_ok);
  if (!repair_ok.ok()) return store_fail(repair_ok);
  // So would text postings built with the other text_index setting. (On a
  // full volume, the records below go with the first write once there is
  // room: reads do not need them.)
  bool text_index_deferred = false;
  absl::Status text_ok =
      content::store::MatchTextIndexSetting(**store, &text_index_deferred);
  // (The mismatch is its only FAILED_PRECONDITION without an ErrorInfo; a
  // repair holding a shared store says REPAIR_RUNNING, and ends.)
  if (absl::IsFailedPrecondition(text_ok) &&
      !text_ok.GetPayload(content::kErrorInfoTypeUrl).has_value())
    return refuse(text_ok);
  if (!text_ok.ok()) return store_fail(text_ok);
  // Stores of earlier builds: text postings of articles not live where
  // those builds kept them, and text-list counters this build does not keep.
  // A local store opened without a marker and with articles (no expiry
  // list: Store::Init) is an earlier build's, not a new one.
  const bool unmarked_earlier =
      !(*store)->engine()->shared() && !(*store)->expiry_list();
  absl::StatusOr<content::store::FormatUpgrade> upgraded =
      content::store::UpgradeStoreFormat(**store);
  if (!upgraded.ok()) return store_fail(upgraded.status());
  const bool from_unmarked = upgraded->from == 0 && unmarked_earlier;
  if (upgraded->moved_text_postings > 0) {
    std::cerr << "contentd: moved " << upgraded->moved_text_postings
              << " text postings of deleted or unpublished articles into "
                 "the text lists that now hold every state"
              << std::endl;
  }
  if (upgraded->dropped_text_counters && !upgraded->counters_deferred) {
    std::cerr << "contentd: dropped the text lists' counters of an earlier "
                 "build (their sizes are estimated now)"
              << std::endl;
  }
  if (upgraded->guard_missing && upgraded->from >= 5) {
    std::cerr << "contentd: the store (layout " << upgraded->from
              << ") had lost its layout guard (a build from before layout "
                 "markers rebuilt its indexes in its own layout, and may "
                 "have written since): upgraded again, and the guard that "
                 "keeps such builds from serving it written back"
              << std::endl;
  }
  if ((upgraded->guard_missing || from_unmarked ||
       (upgraded->from != 0 && upgraded->from < 4)) &&
      !upgraded->expiry_list_deferred && !(*store)->engine()->shared()) {
    std::cerr << "contentd: built the expiry list that queries of expired "
                 "articles read ("
              << upgraded->expiry_entries
              << (upgraded->expiry_entries == 1 ? " article" : " articles")
              << " with an expiry time)" << std::endl;
  }
  if (upgraded->expiry_list_deferred) {
    std::cerr << "contentd: the volume is full: the expiry list is built at "
                 "the next start with room; until then queries of expired "
                 "articles alone walk every article"
              << std::endl;
  }
  // (A new store's first marker goes unsaid.)
  if (upgraded->from != 0 && upgraded->from != upgraded->to &&
      !upgraded->deferred) {
    std::cerr << "contentd: store layout " << upgraded->from << " -> "
              << upgraded->to << " recorded" << std::endl;
  } else if (from_unmarked && !upgraded->deferred) {
    std::cerr << "contentd: store of a build from before layout markers "
                 "(2026-12-02) -> layout "
              << upgraded->to << " recorded" << std::endl;
  }
  // A restored backup's first start: its numbering jumps past the
  // sequences its source may have given out after the backup, so that a
  // watcher resuming from one of those is refused (resync) instead of
  // being sent other events under numbers it has seen.
  bool restore_deferred = false;
  if (config.store.engine == "rocksdb") {
    const std::string marker = absl::StrCat(config.store.data_dir, "/",
                                            content::store::kBackupMarkerFile);
    std::ifstream in(marker);
    if (in) {
      std::string first_line;
      std::getline(in, first_line);
      absl::string_view line = first_line;
      int64_t backup_sequence = 0;
      if (!absl::ConsumePrefix(&line, "contentd backup through sequence ") ||
          !absl::SimpleAtoi(line, &backup_sequence) || backup_sequence < 0) {
        return refuse(absl::FailedPreconditionError(absl::StrCat(
            marker,
            ": does not start with \"contentd backup through sequence N\" "
            "(admin backup writes it into a backup; a restored backup's "
            "first start reads it): restore the file, or remove it if this "
            "directory is no restored backup")));
      }
      absl::StatusOr<bool> skipped = (*store)->SkipSequencesAfterRestore(
          backup_sequence, &restore_deferred);
      if (!skipped.ok()) return store_fail(skipped.status());
      if (*skipped) {
        std::cerr << "contentd: serving a backup (through sequence "
                  << backup_sequence
                  << ") for the first time: its change log goes on from "
                     "sequence "
                  << (*store)->last_sequence() + 1
                  << ", past any sequence the store it was taken from gave "
                     "out after it (a watcher resuming from one of those is "
                     "told to resync)"
                  << std::endl;
      }
      // Kept until the records are stored: a start meanwhile does it again.
      std::error_code ec;
      if (!restore_deferred) std::filesystem::remove(marker, ec);
    }
  }
  // A full volume: what waits for room (reads need none of it).
  std::vector<std::string> waiting;
  if (restore_deferred)
    waiting.push_back("the restored backup's sequence jump");
  if (text_index_deferred) waiting.push_back("the store's text_index setting");
  if (upgraded->deferred) waiting.push_back("its layout marker");
  if (upgraded->counters_deferred)
    waiting.push_back("the deletion of its text lists' counters");
  if (!waiting.empty()) {
    std::string what = waiting.back();
    if (waiting.size() > 1) {
      waiting.pop_back();
      what = absl::StrCat(absl::StrJoin(waiting, ", "), " and ", what);
    }
    std::cerr << "contentd: the volume is full: " << what
              << " will be written with the first write once there is room"
              << std::endl;
  }

  content::service::Authenticator auth(config.auth);
  std::unique_ptr<ConfigTokenWatch> token_watch;
  if (config.auth.enabled && !config_path.empty()) {
    token_watch = std::make_unique<ConfigTokenWatch>(
        config_path, &auth, config.auth.tokens,
        config.auth.reload_interval_seconds);
  }

  config.service.version = CONTENT_VERSION;
  // Reads in flight on a shared store: as many as the pool keeps open
  // connections for, two each (a text query's snapshot and its list).
  config.service.shared_read_threads =
      std::max(2, config.store.pg_pool_size / 2);
  // Each export of a shared store holds a connection while it runs: half
  // the pool at most, so that other calls keep the rest.
  config.service.exports.max_snapshots =
      std::max(1, config.store.pg_pool_size / 2);
  absl::StatusOr<std::unique_ptr<content::service::ContentService>> created =
      content::service::ContentService::Create(store->get(), config.service,
                                               &auth);
  if (!created.ok()) return Fail(created.status());
  std::unique_ptr<content::service::ContentService> service =
      *std::move(created);
  content::service::AdminOptions admin_options;
  admin_options.retention = config.retention;
  admin_options.changelog_retain_events = config.changelog_retain_events;
  admin_options.changelog_retain_age = config.changelog_retain_age;
  if (!hold_operations.empty()) {
    // Held where a listing shows figures: a test that looks while the file
    // exists finds the operation running, whatever the machine's load.
    admin_options.on_operation_report =
        [hold_operations](const content::v1::RunningOperation& op) {
          for (;;) {
            std::ifstream in(hold_operations);
            if (!in) return;  // gone: not held, or let go
            std::string at;
            std::getline(in, at);
            const bool counts = absl::StripAsciiWhitespace(at) == "done"
                                    ? op.done() > 0
                                    : op.done() > 0 || op.total() > 0;
            if (!counts) return;
            absl::SleepFor(absl::Milliseconds(10));
          }
        };
    std::fprintf(stderr,
                 "contentd: operations held while %s exists (tests only)\n",
                 hold_operations.c_str());
  }
  absl::StatusOr<std::unique_ptr<content::service::AdminService>>
      admin_created = content::service::AdminService::Create(
          store->get(), &auth, admin_options,
          [svc = service.get()](content::v1::GetStatsResponse* r) {
            r->set_watchers(svc->watchers());
            r->set_watchers_cut_off_stalled(svc->watchers_stalled());
            r->set_watchers_cut_off_trimmed(svc->watchers_trimmed());
            r->set_exports(svc->exports());
            r->set_exports_cut_off_stalled(svc->exports_stalled());
            // Which contentd answers, in the stats' own reply: behind a
            // load balancer a GetServerInfo call of its own may reach
            // another replica.
            *r->mutable_server_info() = svc->ServerInfo();
          });
  if (!admin_created.ok()) return Fail(admin_created.status());
  std::unique_ptr<content::service::AdminService> admin =
      *std::move(admin_created);
  content::service::Metrics metrics;
  content::service::CallTracker calls;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // One port per address, all the same number; BuildAndStart fails unless
  // every one binds.
  std::vector<int> ports(std::max<size_t>(1, grpc_addresses->size()));
  if (grpc_addresses->empty()) {
    builder.AddListeningPort(config.listen, *creds, &ports[0]);
  }
  for (size_t i = 0; i < grpc_addresses->size(); ++i) {
    builder.AddListeningPort((*grpc_addresses)[i].ToString(), *creds,
                             &ports[i]);
  }
  // gRPC sets SO_REUSEPORT by default: a second contentd on this port would
  // start and take half the connections. Fail to bind instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(service.get());
  builder.RegisterService(admin.get());
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             config.max_concurrent_streams);
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config.keepalive_timeout)));
  // Let clients keep idle connections alive with pings of their own.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  // Unparseable requests: INVALID_ARGUMENT, not a bare UNIMPLEMENTED.
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(content::service::NewParseErrorInterceptorFactory());
  // gRPC's health and reflection check x-request-id as our services do.
  interceptors.push_back(content::service::NewRequestIdInterceptorFactory());
  // A stop waits for the calls this counts, then closes idle connections.
  interceptors.push_back(calls.NewInterceptorFactory());
  // Why health answers NOT_SERVING, which its answer has no room for.
  interceptors.push_back(
      content::service::NewHealthReasonInterceptorFactory(&serving_health));
  // Metrics and the request log see the final status, after the above.
  interceptors.push_back(content::service::NewObservabilityInterceptorFactory(
      &metrics, &auth, config.log_requests));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  // Generous transport limit so an oversized article reaches validation and
  // gets an INVALID_ARGUMENT naming the field, not a bare transport error.
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(
      INT32_MAX,
      config.max_message_bytes > 0
          ? config.max_message_bytes
          : std::max<int64_t>(int64_t{16} << 20,
                              4 * config.service.limits.max_article_bytes))));
  held.clear();
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  const int port = ports[0];
  if (server == nullptr || port == 0) {
    return Fail(ListenError(listen_name, config.listen, *grpc_addresses));
  }
  for (content::ListenAddress& a : *grpc_addresses) a.set_port(port);
  // Probes ask by service name as often as for the whole server ("").
  serving_health.Attach(server->GetHealthCheckService());
  // The server (and its health service) goes before the store, which may
  // still report a failure while it closes.
  absl::Cleanup detach_health = [&serving_health] {
    serving_health.Attach(nullptr);
  };
  // Readiness follows whether a shared store's database answers: a ping a
  // second on a connection of its own, each bounded, rather than a query
  // per health check. (Gone before the store.)
  //
  // Each ping that the database answers also looks for the mark an index
  // repair leaves until it completes, in the ping's own statement
  // (PingAndNoteIndexes): `contentd --check --repair` may set it after this
  // replica started (once this replica's presence session was lost, or as
  // a repair that then stopped). While it is there, queries (which would
  // answer from incomplete indexes) are refused and readiness is
  // NOT_SERVING; Get, history and writes go on.
  std::optional<content::service::ReachabilityMonitor> reachability;
  if ((*store)->engine()->shared()) {
    reachability.emplace(
        &serving_health,
        [store = store->get()] {
          return content::store::PingAndNoteIndexes(*store, absl::Seconds(5));
        },
        absl::Seconds(1));
  }
  // The listen address as bound: "127.0.0.1:0" serves as "127.0.0.1:PORT".
  std::string bound = config.listen;
  if (!IsUnixSocket(config.listen)) {
    absl::StatusOr<HostPort> where = ParseHostPort(config.listen, listen_name);
    if (where.ok()) bound = absl::StrCat(where->host, ":", port);
  }
  // Said before the port file is written: whoever waits for it (tests,
  // supervisors) finds the warning in the log.
  WarnIfAuthOff(config, bound);
  // The metrics listener starts before the port file is written: whoever
  // waits for the file (tests, supervisors) finds every listener up.
  std::unique_ptr<MetricsServer> metrics_server;
  if (!config.metrics_listen.empty()) {
    metrics_server = std::make_unique<MetricsServer>(
        &metrics, store->get(), service.get(), &serving_health);
    absl::Status s =
        metrics_server->Start(config.metrics_listen, metrics_listen_name);
    if (!s.ok()) return Fail(s);
    content::LogLine(std::cerr, absl::StrCat("contentd: metrics on http://",
                                             metrics_server->address(),
                                             "/metrics (probes: /healthz, "
                                             "/readyz)"));
  }

  // "port P (listen BOUND[ on RESOLVED], " or, with no port, "unix:PATH
  // (": RESOLVED is what the listen host resolved to, if that reads
  // otherwise.
  std::string serving = absl::StrCat(config.listen, " (");
  if (!IsUnixSocket(config.listen)) {
    std::string resolved;
    for (const content::ListenAddress& a : *grpc_addresses) {
      absl::StrAppend(&resolved, resolved.empty() ? "" : ", ", a.ToString());
    }
    serving = absl::StrCat("port ", port, " (listen ", bound);
    if (resolved != bound) absl::StrAppend(&serving, " on ", resolved);
    absl::StrAppend(&serving, ", ");
  }
  // How clients must connect, beside the address: plaintext, TLS, or
  // mutual TLS (tls.client_ca_file: a client certificate required).
  content::LogLine(
      std::cerr,
      absl::StrCat("contentd: serving on ", serving,
                   config.tls.cert_file.empty()        ? "plaintext"
                   : config.tls.client_ca_file.empty() ? "TLS"
                                                       : "mutual TLS",
                   ", data ",
                   config.store.engine == "postgres"
                       ? "postgres table " + config.store.pg_table
                       : config.store.data_dir,
                   ", durability ", config.store.sync ? "sync" : "async",
                   ", last sequence ", (*store)->last_sequence(), ")"));
  // After the line: whoever waits for the file (a script, a test) finds the
  // line in the log once the file is there.
  if (!port_file.empty()) {
    absl::Status s = WritePortFile(port_file, port);
    if (!s.ok()) {
      // Whoever waits for the file would wait forever: stop instead, as a
      // signal does (calls that came meanwhile get the grace).
      StopServing(*server, calls, serving_health, *service, *admin,
                  config.shutdown_grace);
      return Fail(s);
    }
  }
  // Under a Type=notify systemd unit: ready now, and a watchdog fed only
  // while health is SERVING, so that systemd restarts a contentd whose
  // store stopped taking writes (nothing else would: it cannot ask health).
  stop_signals->Serving();
  starting.reset();
  if (absl::Status s = notifier.Notify("READY=1"); !s.ok()) {
    content::LogLine(std::cerr, absl::StrCat("contentd: ", s.message()));
  }
  std::optional<content::WatchdogPinger> watchdog;
  if (notifier.ping_interval() > absl::ZeroDuration()) {
    watchdog.emplace(notifier,
                     [&serving_health] { return serving_health.serving(); });
  }

  // Retention in the background: old revisions, long-deleted articles and
  // the change log (watchers behind it get OUT_OF_RANGE and resync). A stop
  // ends a pass at its next article (each article's removal is one atomic
  // write): at 1M articles a pass takes minutes, and held the stop so.
  absl::Notification stop_retention;
  std::thread retention([&] {
    while (!stop_retention.WaitForNotificationWithTimeout(
        config.retention_interval)) {
      // Replicas of one shared store take turns: one holds the lease. A
      // turn with nothing to do since the last pass reads nothing.
      absl::StatusOr<bool> lease = (*store)->TryLease("retention");
      absl::StatusOr<std::optional<content::v1::CompactStoreResponse>> r =
          admin->RetentionTurn(lease.ok() && *lease, [&stop_retention] {
            return stop_retention.HasBeenNotified();
          });
      if (!r.ok())
        content::LogLine(std::cerr, absl::StrCat("contentd: retention: ",
                                                 r.status().ToString()));
    }
  });

  // (The signal's thread logs it.)
  stop_signals->WaitForStop();
  // No pings while stopping: STOPPING=1 tells systemd to wait for the exit
  // (up to TimeoutStopSec) instead.
  watchdog.reset();
  (void)notifier.Notify("STOPPING=1");
  // A retention pass stops at its next article.
  stop_retention.Notify();
  StopServing(*server, calls, serving_health, *service, *admin,
              config.shutdown_grace);
  // After the calls: a ping in progress (up to 5 s) holds up no drain.
  reachability.reset();
  retention.join();
  metrics_server.reset();
  admin.reset();
  service.reset();
  store->reset();
  pid_file.reset();
  content::LogLine(std::cerr, "contentd: stopped cleanly");
  return 0;
}
