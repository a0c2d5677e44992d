// contentbench: closed-loop gRPC load generator for contentd (and, through
// its raw mode, for any gRPC server such as etcd), plus a deterministic
// corpus loader and exporter.
//
//   contentbench run    --workload get --target HOST:PORT -c 10 -m 10 ...
//   contentbench load   --articles 100000 [--to contentd|etcd]
//   contentbench export --articles 100000 --format csv|ndjson|etcd --out F
//
// run and load send --token (or CONTENT_TOKEN) as contentd's bearer token.
// They exit 1 when no call succeeded (figures of failed calls measure
// nothing) and 3 when some failed unexpectedly (kExitStatus).
//
// C channels (separate TCP connections) each keep M calls in flight; every
// completion starts the next call from gRPC's callback thread, so the tool
// measures the server, not a client thread pool. Calls go through the
// generated stub's callback API (stub->async()), which the SDK installs with
// its headers; the SDK's Client is synchronous and would need a thread per
// outstanding call. Raw workloads use grpc::GenericStub with pre-encoded
// requests, so etcd and the health check go through the same code path.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/corpus.h"
#include "bench/histogram.h"
#include "common/bearer_token.h"
#include "common/decimal_flag.h"
#include "content/v1/content_service.grpc.pb.h"

namespace content::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kWorkloads[] = {"get",
                                      "put",
                                      "update",
                                      "update-blind",
                                      "delete-undelete",
                                      "query-tag",
                                      "query-tag-date",
                                      "query-two-tags",
                                      "query-text",
                                      "mixed",
                                      "health",
                                      "raw",
                                      "etcd-range",
                                      "etcd-put"};

// gRPC status code names, as absl spells them too.
std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}
constexpr int kCodes = 17;

// run: how long after the measured window the calls still in flight may
// take before they fail (DEADLINE_EXCEEDED), whatever --timeout says.
constexpr std::chrono::seconds kDrainGrace(1);
// How long a slot waits after an UNAVAILABLE before its next call.
constexpr std::chrono::milliseconds kUnavailablePause(50);

// Everything the command line can set. Defaults match the targets.
struct Options {
  std::string target = "127.0.0.1:7070";  // Default: contentd's default.
  // Bearer token sent with every call (contentd's auth; also
  // CONTENT_TOKEN), one trailing newline dropped. Default: none.
  std::string token;
  std::string workload = "get";
  int channels = 10;          // Default: 10 connections.
  int outstanding = 10;       // Default: 10 calls in flight per connection.
  double warmup_s = 2;        // Default: 2 s not measured.
  double duration_s = 10;     // Default: 10 s measured.
  int64_t articles = 100000;  // Corpus size (ids a00000000..). Default: 100k.
  int64_t start = 0;          // load: first index. Default: 0.
  int page_size = 20;         // Query page size. Default: 20.
  int date_window_days = 90;  // query-tag-date window. Default: 90 days.
  double timeout_s = 10;      // Per-call deadline. Default: 10 s.
  int pool = 4096;  // Pre-built articles for put/update-blind. Default: 4096.
  std::string raw_method;  // raw: e.g. /etcdserverpb.KV/Range.
  std::string raw_hex;     // raw: request bytes in hex. Default: empty.
  std::string etcd_prefix = "/articles/";  // Default: "/articles/".
  std::string id_prefix;  // put: ids are <prefix><n>; default from pid/time.
  std::string to = "contentd";  // load: contentd or etcd.
  // load --to etcd: puts per Txn request (etcd allows 128 by default).
  // Default: 16.
  int etcd_batch = 16;
  std::string format = "csv";  // export format.
  std::string out;             // export path.
  std::string label;           // Free text copied into the JSON line.
  bool json = false;           // Also print one JSON line.
  bool quiet = false;          // No progress lines.
  // get/query-*: send pre-serialized requests through the generic stub and
  // keep the reply as bytes, like h2load or the etcd workloads: the client
  // then costs the same for every server. Default: false (parse replies).
  bool raw_client = false;
  // run: a process on this machine (the server under test) whose CPU time
  // over the measured window is reported per operation, next to the
  // tool's own. On 2 shared cores throughput alone mixes the two costs.
  // Default: 0 (only the tool's own CPU is reported).
  int server_pid = 0;
  CorpusOptions corpus;
};

// CPU seconds (user + system) this process has used.
double OwnCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// CPU seconds (user + system, all threads) process `pid` has used, from
// /proc/PID/stat; negative if it cannot be read.
double ProcessCpuSeconds(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its ')'.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::vector<std::string> fields =
      absl::StrSplit(stat.substr(paren + 2), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  if (fields.size() < 13) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

// Protobuf wire format for etcd's RangeRequest and PutRequest, so the tool
// needs no etcd headers: field 1 key (bytes); Put field 2 value (bytes);
// Range field 7 serializable (bool).
void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void AppendBytesField(std::string* out, int field, const std::string& bytes) {
  AppendVarint(out, static_cast<uint64_t>(field) << 3 | 2);
  AppendVarint(out, bytes.size());
  out->append(bytes);
}
std::string EtcdRange(const std::string& key) {
  std::string r;
  AppendBytesField(&r, 1, key);
  r.append("\x38\x01", 2);  // serializable = true
  return r;
}
std::string EtcdPut(const std::string& key, const std::string& value) {
  std::string r;
  AppendBytesField(&r, 1, key);
  AppendBytesField(&r, 2, value);
  return r;
}
// A TxnRequest (no compares) whose success ops are the given PutRequests:
// TxnRequest field 2 success, RequestOp field 2 request_put.
void AppendTxnPut(std::string* txn, const std::string& put) {
  std::string op;
  AppendBytesField(&op, 2, put);
  AppendBytesField(txn, 2, op);
}

grpc::ByteBuffer ToBuffer(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

// `authorization` metadata for `token` as the SDK sends it (CleanToken: one
// trailing line ending dropped, any other byte outside printable ASCII
// INVALID_ARGUMENT naming --token, never showing the token); "" for no
// token.
absl::StatusOr<std::string> BearerHeader(const std::string& token) {
  absl::StatusOr<std::string> clean = internal::CleanToken(token);
  if (!clean.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", clean.status().message()));
  }
  return clean->empty() ? "" : "Bearer " + *clean;
}

class Driver;

// One closed-loop caller: at most one operation in flight, so its state
// needs no lock (gRPC orders a call's completion after its start).
struct Slot {
  Driver* driver = nullptr;
  int channel = 0;
  int index = 0;
  std::mt19937_64 rng;
  Histogram hist;
  std::array<uint64_t, kCodes> codes{};
  uint64_t rows = 0;    // query results or raw response bytes
  uint64_t writes = 0;  // per-slot counter for unique update bodies
  int64_t load_index = 0;
  int64_t load_count = 1;  // articles in the slot's load request
  Clock::time_point start;
  bool measured = false;

  std::unique_ptr<grpc::ClientContext> ctx;
  v1::GetArticleRequest get_req;
  v1::Article article;
  v1::UpdateArticleRequest update_req;
  v1::Article update_resp;
  v1::CreateArticleRequest create_req;
  v1::Article create_resp;
  // delete-undelete: the slot's article (index, i + k * slots) and whether
  // its undelete is due next.
  int64_t toggle_index = -1;
  bool undelete_due = false;
  v1::DeleteArticleRequest delete_req;
  v1::UndeleteArticleRequest undelete_req;
  v1::QueryArticlesRequest query_req;
  v1::QueryArticlesResponse query_resp;
  grpc::ByteBuffer raw_req, raw_resp;
};

class Driver {
 public:
  // `bearer`: the authorization header value, "" for none.
  Driver(const Options& o, const Corpus& corpus, std::string bearer)
      : o_(o),
        corpus_(corpus),
        bearer_(std::move(bearer)),
        timeout_(std::chrono::microseconds(
            static_cast<int64_t>(o.timeout_s * 1e6))) {}

  bool Connect() {
    for (int c = 0; c < o_.channels; ++c) {
      grpc::ChannelArguments args;
      // A distinct argument and a local pool give each channel its own
      // connection instead of one shared subchannel.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("contentbench.channel", c);
      args.SetMaxReceiveMessageSize(64 << 20);
      auto ch = grpc::CreateCustomChannel(
          o_.target, grpc::InsecureChannelCredentials(), args);
      if (!ch->WaitForConnected(std::chrono::system_clock::now() +
                                std::chrono::seconds(5))) {
        std::cerr << "contentbench: cannot connect to " << o_.target
                  << ConnectError(ch) << "\n";
        return false;
      }
      stubs_.push_back(v1::ContentService::NewStub(ch));
      generic_.push_back(std::make_unique<grpc::GenericStub>(ch));
      channels_.push_back(std::move(ch));
    }
    return true;
  }

  // Why `channel` has no connection, as ": REASON (HINT)": one call that
  // fails fast gets gRPC's words ("Connection refused", "Socket closed"),
  // which "cannot connect" alone left out.
  static std::string ConnectError(const std::shared_ptr<grpc::Channel>& ch) {
    grpc::GenericStub stub(ch);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
    grpc::ByteBuffer req = ToBuffer(std::string()), resp;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                   &req, &resp, [&](grpc::Status st) {
                     std::lock_guard<std::mutex> lock(mu);
                     status = std::move(st);
                     done = true;
                     cv.notify_all();
                   });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    if (status.ok()) return "";
    const std::string& m = status.error_message();
    std::string text =
        absl::StrCat(": ", CodeName(status.error_code()), ": ", m);
    // A TLS server closes a plaintext client's connection without a word.
    if (absl::StrContains(m, "Socket closed") ||
        absl::StrContains(m, "Connection reset")) {
      absl::StrAppend(&text,
                      " (is the server using TLS? contentbench speaks "
                      "plaintext gRPC only)");
    }
    return text;
  }

  // Pre-built content so the write loops do not spend client CPU generating.
  void BuildPool() {
    std::mt19937_64 rng(o_.corpus.seed * 7919 + 17);
    const int n = std::max(1, o_.pool);
    for (int i = 0; i < n; ++i) {
      const int64_t idx =
          static_cast<int64_t>(rng() % std::max<int64_t>(1, o_.articles));
      pool_ids_.push_back(idx);
      pool_.push_back(corpus_.Make(idx));
      pool_[i].set_name(absl::StrCat("articles/", Corpus::Id(idx)));
      pool_bytes_.push_back(pool_.back().SerializeAsString());
      v1::Article no_body = pool_.back();
      no_body.clear_body();
      pool_no_body_.push_back(no_body.SerializeAsString());
    }
  }

  // Runs a timed workload (load == false) or loads [start, articles).
  void Run(bool load) {
    load_ = load;
    next_load_ = o_.start;
    const auto now = Clock::now();
    measure_start_ = now + std::chrono::microseconds(
                               static_cast<int64_t>(o_.warmup_s * 1e6));
    measure_end_ =
        measure_start_ +
        std::chrono::microseconds(static_cast<int64_t>(o_.duration_s * 1e6));
    if (load) measure_start_ = now;
    // A server that stops answering (hung, SIGSTOPped) held the run for up
    // to --timeout past its window; calls of the window now give up
    // kDrainGrace after it ends, as DEADLINE_EXCEEDED.
    drain_deadline_ =
        std::chrono::system_clock::now() + (measure_end_ - now) + kDrainGrace;
    slots_.resize(static_cast<size_t>(o_.channels) * o_.outstanding);
    active_ = static_cast<int>(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      s.driver = this;
      s.index = static_cast<int>(i);
      s.channel = static_cast<int>(i) % o_.channels;
      s.rng.seed(o_.corpus.seed * 1000003 + i);
    }
    for (Slot& s : slots_) Next(&s);
    std::unique_lock<std::mutex> lock(mu_);
    auto last = Clock::now();
    int64_t last_done = o_.start;
    // On a terminal one line redrawn each second; into a file or a pipe
    // (a CI log, bench/compare's) a line each 10 s, not "\r"s run together.
    const bool terminal = isatty(STDERR_FILENO) == 1;
    const auto progress_every =
        terminal ? std::chrono::seconds(1) : std::chrono::seconds(10);
    // CPU is sampled when the measured window opens and closes (wake-ups
    // are scheduled for both), so warm-up and the drain are left out.
    int samples = load ? 2 : 0;
    auto sample = [this, &samples] {
      cpu_[samples].client_s = OwnCpuSeconds();
      cpu_[samples].server_s =
          o_.server_pid > 0 ? ProcessCpuSeconds(o_.server_pid) : -1;
      ++samples;
    };
    while (active_ > 0) {
      auto wake = Clock::now() + std::chrono::seconds(1);
      if (samples < 2)
        wake = std::min(wake, samples == 0 ? measure_start_ : measure_end_);
      for (const auto& [due, slot] : paused_) wake = std::min(wake, due);
      cv_.wait_until(lock, wake);
      // Slots paused after an UNAVAILABLE whose pause is over go on,
      // outside the lock (Next may retire the slot, which takes it).
      std::vector<Slot*> resume;
      const auto now = Clock::now();
      for (size_t i = 0; i < paused_.size();) {
        if (paused_[i].first <= now) {
          resume.push_back(paused_[i].second);
          paused_[i] = paused_.back();
          paused_.pop_back();
        } else {
          ++i;
        }
      }
      if (!resume.empty()) {
        lock.unlock();
        for (Slot* slot : resume) Next(slot);
        lock.lock();
      }
      if (samples == 0 && Clock::now() >= measure_start_) sample();
      if (samples == 1 && Clock::now() >= measure_end_) sample();
      const auto t = Clock::now();
      if (load && !o_.quiet && (t - last >= progress_every || active_ == 0)) {
        // Articles answered, not requests sent (up to C x M more).
        const int64_t done = o_.start + loaded_.load();
        const double rate = (done - last_done) /
                            std::chrono::duration<double>(t - last).count();
        std::fprintf(stderr, "%sloaded %lld/%lld (%.0f/s)%s",
                     terminal ? "\r" : "", static_cast<long long>(done),
                     static_cast<long long>(o_.articles), rate,
                     terminal ? "   " : "\n");
        last = t;
        last_done = done;
      }
    }
    if (load && !o_.quiet && terminal) std::fprintf(stderr, "\n");
    while (samples < 2) sample();  // the window closed as the last call did
    wall_s_ =
        std::chrono::duration<double>(Clock::now() - measure_start_).count();
  }

  // Prints the summary (and JSON line); returns the exit status: 1 when no
  // call succeeded (ALREADY_EXISTS counts for a load: loaded before), else 3
  // when a call failed unexpectedly (any status but OK, FAILED_PRECONDITION
  // for update and mixed, ALREADY_EXISTS for a load), else 0.
  int Report(bool load) const {
    Histogram h;
    std::array<uint64_t, kCodes> codes{};
    uint64_t rows = 0;
    for (const Slot& s : slots_) {
      h.Merge(s.hist);
      for (int c = 0; c < kCodes; ++c) codes[c] += s.codes[c];
      rows += s.rows;
    }
    const double secs = load ? wall_s_ : o_.duration_s;
    const uint64_t ok = codes[0];
    const bool conditional = o_.workload == "update" || o_.workload == "mixed";
    const uint64_t conflicts = conditional ? codes[9] : 0;
    uint64_t errors = 0;
    for (int c = 1; c < kCodes; ++c) errors += codes[c];
    if (load) errors -= codes[6];  // ALREADY_EXISTS: loaded by an earlier run
    errors -= conflicts;
    const double tput = ok / secs;
    const double us = 1e-3;
    const char* what = load ? "load" : o_.workload.c_str();
    std::printf(
        "%-15s c=%d m=%d %5.1fs  ok %9llu  %9.0f/s  p50 %7.0fus  p90 %7.0fus  "
        "p99 %7.0fus  p99.9 %7.0fus  max %7.0fus",
        what, o_.channels, o_.outstanding, secs,
        static_cast<unsigned long long>(ok), tput, h.Percentile(0.5) * us,
        h.Percentile(0.9) * us, h.Percentile(0.99) * us,
        h.Percentile(0.999) * us, h.max() * us);
    if (rows > 0 && h.count() > 0)
      std::printf("  %.1f %s/op", static_cast<double>(rows) / h.count(),
                  IsRaw() ? "bytes" : "rows");
    // CPU per successful operation over the measured window, microseconds.
    double client_us = -1, server_us = -1;
    if (!load && ok > 0) {
      client_us = (cpu_[1].client_s - cpu_[0].client_s) * 1e6 / ok;
      if (cpu_[0].server_s >= 0 && cpu_[1].server_s >= 0)
        server_us = (cpu_[1].server_s - cpu_[0].server_s) * 1e6 / ok;
      std::printf("  cpu/op client %.0fus", client_us);
      if (server_us >= 0) std::printf(" server %.0fus", server_us);
    }
    std::printf("\n");
    auto json_us = [](double v) {
      return v >= 0 ? absl::StrFormat("%.1f", v) : std::string("null");
    };
    std::string errs;
    for (int c = 1; c < kCodes; ++c) {
      if (codes[c] == 0) continue;
      std::printf("  status %s: %llu%s\n", CodeName(c).c_str(),
                  static_cast<unsigned long long>(codes[c]),
                  (c == 9 && conditional) ? " (expected: revision conflicts)"
                  : (c == 6 && load)      ? " (already loaded)"
                                          : "");
      absl::StrAppend(&errs, errs.empty() ? "" : ",", "\"", CodeName(c).c_str(),
                      "\":", codes[c]);
    }
    if (o_.json) {
      std::printf(
          "{\"tool\":\"contentbench\",\"workload\":\"%s\",\"label\":\"%s\","
          "\"target\":\"%s\",\"channels\":%d,\"outstanding\":%d,"
          "\"duration_s\":%.3f,\"ok\":%llu,\"throughput\":%.1f,"
          "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
          "\"max_us\":%.1f,\"mean_us\":%.1f,\"rows_per_op\":%.2f,"
          "\"client_cpu_us\":%s,\"server_cpu_us\":%s,"
          "\"conflicts\":%llu,\"errors\":%llu,\"status\":{%s}}\n",
          what, o_.label.c_str(), o_.target.c_str(), o_.channels,
          o_.outstanding, secs, static_cast<unsigned long long>(ok), tput,
          h.Percentile(0.5) * us, h.Percentile(0.9) * us,
          h.Percentile(0.99) * us, h.Percentile(0.999) * us, h.max() * us,
          h.mean() * us,
          h.count() ? static_cast<double>(rows) / h.count() : 0.0,
          json_us(client_us).c_str(), json_us(server_us).c_str(),
          static_cast<unsigned long long>(conflicts),
          static_cast<unsigned long long>(errors), errs.c_str());
    }
    std::fflush(stdout);
    if (ok + (load ? codes[6] : 0) == 0) {
      // Figures of calls that all failed measure nothing.
      const bool unauthenticated = codes[16] > 0;
      std::fprintf(stderr, "contentbench: no call succeeded%s\n",
                   unauthenticated
                       ? " (UNAUTHENTICATED: give --token or CONTENT_TOKEN)"
                       : "");
      return 1;
    }
    return errors == 0 ? 0 : 3;
  }

 private:
  bool IsRaw() const {
    // (A load into etcd too: its rows were the Txn replies' bytes.)
    return o_.raw_client || o_.workload == "raw" || o_.workload == "health" ||
           o_.workload == "etcd-range" || o_.workload == "etcd-put" ||
           (load_ && o_.to == "etcd");
  }

  grpc::ClientContext* NewContext(Slot* s) {
    s->ctx = std::make_unique<grpc::ClientContext>();
    auto deadline = std::chrono::system_clock::now() + timeout_;
    // Not the undelete a delete-undelete slot owes after the window: it
    // puts the store back as found.
    if (!load_ && Clock::now() < measure_end_) {
      deadline = std::min(deadline, drain_deadline_);
    }
    s->ctx->set_deadline(deadline);
    if (!bearer_.empty()) s->ctx->AddMetadata("authorization", bearer_);
    return s->ctx.get();
  }

  int64_t RandomArticle(Slot* s) const {
    return static_cast<int64_t>(s->rng() % std::max<int64_t>(1, o_.articles));
  }

  // Starts the slot's next operation, or retires the slot.
  void Next(Slot* s) {
    const auto now = Clock::now();
    if (load_) {
      const int64_t batch = o_.to == "etcd" ? o_.etcd_batch : 1;
      s->load_index = next_load_.fetch_add(batch);
      if (s->load_index >= o_.articles) return Retire();
      s->load_count = std::min(batch, o_.articles - s->load_index);
    } else if (now >= measure_end_ && !s->undelete_due) {
      // (A delete-undelete slot first undeletes its article, unmeasured,
      // so the store is left as it was found.)
      return Retire();
    }
    s->start = now;
    s->measured = load_ || (now >= measure_start_ && now < measure_end_);
    if (load_) return o_.to == "etcd" ? LoadEtcd(s) : LoadContent(s);
    const std::string& w = o_.workload;
    if (w == "get") return Get(s, false);
    if (w == "update") return Get(s, true);
    if (w == "mixed") return Get(s, s->rng() % 10 == 0);
    if (w == "put") return Put(s);
    if (w == "update-blind") return UpdateBlind(s);
    if (w == "delete-undelete") return DeleteOrUndelete(s);
    if (w == "query-tag" || w == "query-tag-date" || w == "query-two-tags" ||
        w == "query-text")
      return Query(s);
    return Raw(s);
  }

  void Retire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) cv_.notify_all();
  }

  void Done(Slot* s, const grpc::Status& status, uint64_t rows = 0) {
    if (load_) loaded_ += s->load_count;
    if (s->measured) {
      // A load request counts once per article it carries.
      const int code = static_cast<int>(status.error_code());
      s->codes[code >= 0 && code < kCodes ? code : 2] +=
          load_ ? s->load_count : 1;
      // Latency and rows of the calls counted as ok, as throughput is: a
      // server killed mid-run answered 225k calls UNAVAILABLE within
      // microseconds, and p50 read 18us for gets that took 120us.
      if (status.ok()) {
        s->rows += rows;
        s->hist.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                                 s->start)
                .count()));
      }
    }
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      // A server gone or restarting answers at once: sent again at once,
      // the slot spun a core on failures (225k in a 2 s window) and so
      // starved whatever shared the machine. It waits its turn in Run.
      std::lock_guard<std::mutex> lock(mu_);
      paused_.emplace_back(Clock::now() + kUnavailablePause, s);
      cv_.notify_all();
      return;
    }
    Next(s);
  }

  v1::ContentService::Stub::async_interface* Async(Slot* s) {
    return stubs_[s->channel]->async();
  }

  void Get(Slot* s, bool then_update) {
    s->get_req.set_name(
        absl::StrCat("articles/", Corpus::Id(RandomArticle(s))));
    if (o_.raw_client && !then_update) {
      s->raw_req = ToBuffer(s->get_req.SerializeAsString());
      return StartRaw(s, "/content.v1.ContentService/GetArticle");
    }
    s->article.Clear();
    Async(s)->GetArticle(NewContext(s), &s->get_req, &s->article,
                         [this, s, then_update](grpc::Status st) {
                           if (!st.ok() || !then_update) return Done(s, st);
                           ConditionalUpdate(s);
                         });
  }

  // Writes the article just read back with a new body, conditional on the
  // revision read (AIP-154); a concurrent writer makes it FAILED_PRECONDITION.
  void ConditionalUpdate(Slot* s) {
    v1::Article* a = s->update_req.mutable_article();
    a->Swap(&s->article);
    const int64_t revision = a->revision();
    std::string* body = a->mutable_body();
    const size_t mark = body->rfind("\n<!-- rev ");
    if (mark != std::string::npos) body->resize(mark);
    absl::StrAppend(body, "\n<!-- rev ", s->index, ".", ++s->writes, " -->");
    s->update_req.set_expected_revision(revision);
    s->update_resp.Clear();
    Async(s)->UpdateArticle(NewContext(s), &s->update_req, &s->update_resp,
                            [this, s](grpc::Status st) { Done(s, st); });
  }

  void UpdateBlind(Slot* s) {
    const size_t p = s->rng() % pool_.size();
    if (o_.raw_client) {
      // The request encoded straight from the pool's bytes, the reply kept
      // as bytes: the client work of etcd-put's pre-encoded Put.
      const std::string marker =
          absl::StrCat("\n<!-- rev ", s->index, ".", ++s->writes, " -->");
      const std::string& body = pool_[p].body();
      std::string field;  // the body field's tag and length
      AppendVarint(&field, uint64_t{v1::Article::kBodyFieldNumber} << 3 | 2);
      AppendVarint(&field, body.size() + marker.size());
      const size_t article_size =
          pool_no_body_[p].size() + field.size() + body.size() + marker.size();
      std::string req;
      req.reserve(article_size + 16);
      AppendVarint(
          &req,
          uint64_t{v1::UpdateArticleRequest::kArticleFieldNumber} << 3 | 2);
      AppendVarint(&req, article_size);
      req.append(pool_no_body_[p]).append(field).append(body).append(marker);
      s->raw_req = ToBuffer(req);
      return StartRaw(s, "/content.v1.ContentService/UpdateArticle");
    }
    *s->update_req.mutable_article() = pool_[p];
    absl::StrAppend(s->update_req.mutable_article()->mutable_body(),
                    "\n<!-- rev ", s->index, ".", ++s->writes, " -->");
    s->update_req.set_expected_revision(0);
    s->update_resp.Clear();
    Async(s)->UpdateArticle(NewContext(s), &s->update_req, &s->update_resp,
                            [this, s](grpc::Status st) { Done(s, st); });
  }

  // Deletes an article, then undeletes it, then moves on to the next of
  // the slot's own articles (no two slots share one, so neither fails).
  void DeleteOrUndelete(Slot* s) {
    if (s->undelete_due) {
      s->undelete_due = false;
      s->undelete_req.set_name(
          absl::StrCat("articles/", Corpus::Id(s->toggle_index)));
      s->update_resp.Clear();
      Async(s)->UndeleteArticle(NewContext(s), &s->undelete_req,
                                &s->update_resp,
                                [this, s](grpc::Status st) { Done(s, st); });
      return;
    }
    const int64_t slots = static_cast<int64_t>(slots_.size());
    s->toggle_index = s->toggle_index < 0 ? s->index : s->toggle_index + slots;
    if (s->toggle_index >= o_.articles) s->toggle_index = s->index;
    s->undelete_due = true;
    s->delete_req.set_name(
        absl::StrCat("articles/", Corpus::Id(s->toggle_index)));
    s->update_resp.Clear();
    Async(s)->DeleteArticle(NewContext(s), &s->delete_req, &s->update_resp,
                            [this, s](grpc::Status st) { Done(s, st); });
  }

  void Put(Slot* s) {
    const size_t p = s->rng() % pool_.size();
    *s->create_req.mutable_article() = pool_[p];
    s->create_req.mutable_article()->clear_name();
    s->create_req.set_article_id(
        absl::StrCat(o_.id_prefix, s->index, "-", ++s->writes));
    s->create_resp.Clear();
    Async(s)->CreateArticle(NewContext(s), &s->create_req, &s->create_resp,
                            [this, s](grpc::Status st) { Done(s, st); });
  }

  void Query(Slot* s) {
    v1::QueryArticlesRequest& r = s->query_req;
    r.Clear();
    r.set_page_size(o_.page_size);
    v1::Query* q = r.mutable_query();
    if (o_.workload == "query-text") {
      // A phrase of the generated text: Chinese ones exercise the CJK
      // bigram lists and the verification step, English ones word lists.
      q->set_text(Corpus::SearchTerm(s->rng));
      return SendQuery(s);
    }
    const int t1 = corpus_.tags().Sample(s->rng);
    q->add_tags(Corpus::Tag(t1));
    if (o_.workload == "query-two-tags") {
      int t2 = t1;
      while (t2 == t1) t2 = corpus_.tags().Sample(s->rng);
      q->add_tags(Corpus::Tag(t2));
      q->set_tag_match(v1::Query::TAG_MATCH_ALL);
    } else if (o_.workload == "query-tag-date") {
      const int span = std::max(1, o_.corpus.days - o_.date_window_days);
      const int64_t from =
          Corpus::kEpochSeconds +
          int64_t{86400} * static_cast<int64_t>(s->rng() % span);
      q->mutable_date_from()->set_seconds(from);
      q->mutable_date_to()->set_seconds(from +
                                        int64_t{86400} * o_.date_window_days);
    }
    SendQuery(s);
  }

  void SendQuery(Slot* s) {
    const v1::QueryArticlesRequest& r = s->query_req;
    if (o_.raw_client) {
      s->raw_req = ToBuffer(r.SerializeAsString());
      return StartRaw(s, "/content.v1.ContentService/QueryArticles");
    }
    s->query_resp.Clear();
    Async(s)->QueryArticles(NewContext(s), &s->query_req, &s->query_resp,
                            [this, s](grpc::Status st) {
                              Done(s, st, s->query_resp.articles_size());
                            });
  }

  void Raw(Slot* s) {
    std::string method = o_.raw_method;
    if (o_.workload == "health") {
      method = "/grpc.health.v1.Health/Check";
      s->raw_req = ToBuffer(std::string());  // service "" = whole server
    } else if (o_.workload == "etcd-range") {
      method = "/etcdserverpb.KV/Range";
      s->raw_req =
          ToBuffer(EtcdRange(o_.etcd_prefix + Corpus::Id(RandomArticle(s))));
    } else if (o_.workload == "etcd-put") {
      method = "/etcdserverpb.KV/Put";
      const size_t p = s->rng() % pool_.size();
      s->raw_req = ToBuffer(
          EtcdPut(o_.etcd_prefix + Corpus::Id(pool_ids_[p]), pool_bytes_[p]));
    } else {
      s->raw_req = ToBuffer(raw_bytes_);
    }
    StartRaw(s, method);
  }

  void StartRaw(Slot* s, const std::string& method) {
    s->raw_resp.Clear();
    generic_[s->channel]->UnaryCall(
        NewContext(s), method, grpc::StubOptions(), &s->raw_req, &s->raw_resp,
        [this, s](grpc::Status st) { Done(s, st, s->raw_resp.Length()); });
  }

  void LoadContent(Slot* s) {
    *s->create_req.mutable_article() = corpus_.Make(s->load_index);
    s->create_req.set_article_id(Corpus::Id(s->load_index));
    s->create_resp.Clear();
    Async(s)->CreateArticle(NewContext(s), &s->create_req, &s->create_resp,
                            [this, s](grpc::Status st) { Done(s, st); });
  }

  // Batches of puts go in one Txn: etcd commits a request at a time, and
  // one put per request made the 1M load take 154 s of a compare.
  void LoadEtcd(Slot* s) {
    auto put = [&](int64_t i) {
      return EtcdPut(o_.etcd_prefix + Corpus::Id(i),
                     corpus_.Make(i).SerializeAsString());
    };
    if (s->load_count == 1) {
      s->raw_req = ToBuffer(put(s->load_index));
      return StartRaw(s, "/etcdserverpb.KV/Put");
    }
    std::string txn;
    for (int64_t i = 0; i < s->load_count; ++i)
      AppendTxnPut(&txn, put(s->load_index + i));
    s->raw_req = ToBuffer(txn);
    StartRaw(s, "/etcdserverpb.KV/Txn");
  }

 public:
  std::string raw_bytes_;

 private:
  const Options& o_;
  const Corpus& corpus_;
  const std::string bearer_;  // authorization header value; "" for none
  const std::chrono::microseconds timeout_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::ContentService::Stub>> stubs_;
  std::vector<std::unique_ptr<grpc::GenericStub>> generic_;
  std::vector<v1::Article> pool_;
  std::vector<int64_t> pool_ids_;
  std::vector<std::string> pool_bytes_;
  std::vector<std::string> pool_no_body_;  // pool_ encoded without the body
  std::vector<Slot> slots_;
  bool load_ = false;
  std::atomic<int64_t> next_load_{0};
  std::atomic<int64_t> loaded_{0};  // load: articles answered (any status)
  Clock::time_point measure_start_, measure_end_;
  // run: the latest deadline of a call started before measure_end_.
  std::chrono::system_clock::time_point drain_deadline_;
  double wall_s_ = 0;
  struct CpuSample {
    double client_s = 0;
    double server_s = -1;  // negative: not measured
  };
  CpuSample cpu_[2];  // at the window's start and end (run only)
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  // Slots that got UNAVAILABLE, and when each goes on (guarded by mu_).
  std::vector<std::pair<Clock::time_point, Slot*>> paused_;
};

// What `run` and `load` exit with (Driver::Report).
constexpr char kExitStatus[] =
    "Exit status: 0 every call succeeded (revision conflicts,\n"
    "FAILED_PRECONDITION, are expected in update and mixed; ALREADY_EXISTS\n"
    "in load means loaded before); 1 cannot connect, or no call succeeded\n"
    "(UNAUTHENTICATED: give --token); 2 usage error; 3 some calls failed\n"
    "with another status.";

// A CLI11 check for a number of seconds: finite, more than 0 (0 or more
// when `zero_ok`) and at most kMaxSeconds. CLI11's own Range printed "Value
// 0 not in range 0.000000 to 1797...", and a negative --timeout or --warmup
// was taken: every call failed at once, or the window was over before it
// began.
constexpr double kMaxSeconds = 1e6;
CLI::Validator Seconds(bool zero_ok) {
  return CLI::Validator(
      [zero_ok](std::string& text) -> std::string {
        double v = 0;
        if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
          return absl::StrCat("not a number of seconds: \"", text, "\"");
        }
        if (v < 0 || (v == 0 && !zero_ok)) {
          return absl::StrCat("must be ", zero_ok ? "0 or more" : "more than 0",
                              " seconds, got ", text);
        }
        // In microseconds it must fit the clocks' int64 nanoseconds.
        if (v > kMaxSeconds) {
          return absl::StrCat("must be at most ",
                              static_cast<int64_t>(kMaxSeconds),
                              " seconds, got ", text);
        }
        return "";
      },
      "", "Seconds");
}

// --raw-hex: hex digits in pairs (absl::HexStringToBytes reads anything,
// and `zz` or an odd digit sent bytes nobody wrote).
CLI::Validator HexBytes() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.size() % 2 != 0) {
          return absl::StrCat("must be an even number of hex digits, got ",
                              text.size());
        }
        for (char c : text) {
          if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
            return absl::StrCat("not a hex digit: '", std::string(1, c), "'");
          }
        }
        return "";
      },
      "", "HexBytes");
}

// --server-pid: a process whose /proc/PID/stat can be read (else its CPU
// column was left out without a word).
CLI::Validator LocalProcess() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        int pid = 0;
        if (absl::SimpleAtoi(text, &pid) && pid > 0 &&
            ProcessCpuSeconds(pid) >= 0) {
          return "";
        }
        return absl::StrCat("no process ", text,
                            " on this machine (cannot read /proc/", text,
                            "/stat)");
      },
      "", "LocalProcess");
}

// --token, for the verbs that call contentd.
void AddToken(CLI::App* app, Options* o) {
  app->add_option("--token", o->token,
                  "Bearer token for contentd's auth, sent with every call "
                  "(one trailing newline dropped)")
      ->envname("CONTENT_TOKEN");
}

void AddCommon(CLI::App* app, Options* o) {
  app->add_option("--target", o->target,
                  "Server host:port (default 127.0.0.1:7070)");
  app->add_option("-c,--channels", o->channels, "Connections (default 10)")
      ->transform(content::internal::DecimalInt(1, 10000));
  app->add_option("-m,--outstanding", o->outstanding,
                  "Calls in flight per connection (default 10)")
      ->transform(content::internal::DecimalInt(1, 10000));
  app->add_option("-n,--articles", o->articles,
                  "Corpus size: ids a00000000 .. (default 100000)")
      ->transform(content::internal::DecimalInt<int64_t>(1));
  app->add_option("--seed", o->corpus.seed,
                  "Corpus and choice seed (default 1)")
      ->transform(content::internal::DecimalInt<uint64_t>());
  app->add_option("--tag-vocabulary", o->corpus.tag_vocabulary,
                  "Distinct tags t1..tN (default 5000)")
      ->transform(content::internal::DecimalInt(1));
  app->add_option("--tag-zipf", o->corpus.tag_zipf,
                  "Zipf exponent of tag popularity (default 1.05)")
      ->check(CLI::Range(1.001, 100.0));
  app->add_option("--body-bytes", o->corpus.body_bytes,
                  "Body size (default 2048)")
      ->transform(content::internal::DecimalInt(1));
  app->add_option("--timeout", o->timeout_s,
                  "Per-call deadline, s (default 10; run: calls still "
                  "unanswered 1 s after the measured window fail as "
                  "DEADLINE_EXCEEDED)")
      ->check(Seconds(/*zero_ok=*/false));
  app->add_option("--etcd-prefix", o->etcd_prefix,
                  "etcd key prefix (default /articles/)");
  app->add_option("--label", o->label, "Copied into the JSON line");
  app->add_flag("--json", o->json, "Also print one machine-readable JSON line");
  app->add_flag("-q,--quiet", o->quiet, "No progress line");
}

}  // namespace
}  // namespace content::bench

int main(int argc, char** argv) {
  using content::bench::Corpus;
  using content::bench::Driver;
  using content::bench::Options;
  Options o;
  o.id_prefix = absl::StrFormat("p%x-%x-", static_cast<unsigned>(getpid()),
                                static_cast<unsigned>(time(nullptr)));

  CLI::App app{"contentbench: closed-loop gRPC load generator for contentd"};
  app.require_subcommand(1);
  app.footer(content::bench::kExitStatus);
  CLI::App* run =
      app.add_subcommand("run", "Run a named workload for a fixed time");
  content::bench::AddCommon(run, &o);
  content::bench::AddToken(run, &o);
  run->footer(content::bench::kExitStatus);
  std::vector<std::string> names(std::begin(content::bench::kWorkloads),
                                 std::end(content::bench::kWorkloads));
  run->add_option("-w,--workload", o.workload, "Workload (default get)")
      ->check(CLI::IsMember(names));
  run->add_option("--warmup", o.warmup_s,
                  "Unmeasured seconds first (default 2)")
      ->check(content::bench::Seconds(/*zero_ok=*/true));
  run->add_option("-d,--duration", o.duration_s,
                  "Measured seconds (default 10)")
      ->check(content::bench::Seconds(/*zero_ok=*/false));
  run->add_option("--page-size", o.page_size, "Query page size (default 20)")
      ->transform(content::internal::DecimalInt<int>(1));
  run->add_option("--date-window-days", o.date_window_days,
                  "query-tag-date window (default 90)")
      ->transform(content::internal::DecimalInt<int>(1));
  run->add_option("--pool", o.pool,
                  "Pre-built articles for writes (default 4096)")
      ->transform(content::internal::DecimalInt(1));
  run->add_option("--id-prefix", o.id_prefix,
                  "put: id prefix (default unique per run)");
  run->add_option("--server-pid", o.server_pid,
                  "Also report this local process's CPU per operation "
                  "(the server under test; default: none)")
      ->transform(content::internal::DecimalInt<int>(1))
      ->check(content::bench::LocalProcess());
  run->add_flag("--raw-client", o.raw_client,
                "get/query-*/update-blind: send pre-encoded requests, keep "
                "replies as bytes (client work equal for every server; "
                "default: parse replies)");
  run->add_option("--raw-method", o.raw_method,
                  "raw: method path, e.g. /pkg.Svc/Method");
  run->add_option("--raw-hex", o.raw_hex,
                  "raw: request message bytes in hex (default empty)")
      ->check(content::bench::HexBytes());

  CLI::App* load = app.add_subcommand("load", "Create the corpus on a server");
  content::bench::AddCommon(load, &o);
  content::bench::AddToken(load, &o);
  load->footer(content::bench::kExitStatus);
  load->add_option("--start", o.start, "First article index (default 0)")
      ->transform(content::internal::DecimalInt<int64_t>());
  load->add_option("--to", o.to, "contentd or etcd (default contentd)")
      ->check(CLI::IsMember({"contentd", "etcd"}));
  load->add_option("--etcd-batch", o.etcd_batch,
                   "etcd: puts per Txn request (default 16)")
      ->transform(content::internal::DecimalInt(1, 128));

  CLI::App* exp = app.add_subcommand("export", "Write the corpus to a file");
  content::bench::AddCommon(exp, &o);
  exp->add_option("--format", o.format,
                  "csv (PostgreSQL COPY), ndjson or etcd (default csv)")
      ->check(CLI::IsMember({"csv", "ndjson", "etcd"}));
  exp->add_option("--out", o.out, "Output file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every other parse error is a usage error (CLI11's
    // own codes, 106-109, would read as failed runs).
    return app.exit(e) == 0 ? 0 : 2;
  }
  // As in contentd: Debian's Abseil records a lock graph on every
  // absl::Mutex acquisition (gRPC's), ~3% of the client's CPU per page.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  const Corpus corpus(o.corpus);
  if (exp->parsed())
    return content::bench::ExportCorpus(corpus, o.articles, o.format, o.out,
                                        o.etcd_prefix)
               ? 0
               : 1;

  absl::StatusOr<std::string> bearer = content::bench::BearerHeader(o.token);
  if (!bearer.ok()) {
    std::cerr << "contentbench: " << bearer.status().message() << "\n";
    return 2;
  }
  Driver driver(o, corpus, *std::move(bearer));
  if (run->parsed() && o.workload == "raw") {
    if (o.raw_method.empty()) {
      std::cerr << "contentbench: --raw-method is required for raw\n";
      return 2;
    }
    driver.raw_bytes_ = absl::HexStringToBytes(o.raw_hex);
  }
  if (!driver.Connect()) return 1;
  if (run->parsed() && (o.workload == "put" || o.workload == "update-blind" ||
                        o.workload == "etcd-put"))
    driver.BuildPool();
  driver.Run(load->parsed());
  return driver.Report(load->parsed());
}
