// watch_bench: how late change events reach many watchers (issue 4).
//
//   watch_bench --target 127.0.0.1:7070 [--watchers 200] [--rate 50]
//               [--seconds 10] [--view full|name] [--tag t1] [--json]
//
// Opens `--watchers` WatchArticles streams from now on (one thread each,
// `--view` FULL or NAME_ONLY, optionally filtered on `--tag`), then creates
// articles tagged `--tag` at `--rate` per second for `--seconds`, one call
// at a time. Each event's lag is the time from the start of the create
// that wrote it to its arrival at a watcher; the tool prints the lag's
// percentiles over every (event, watcher) pair, and how many pairs never
// arrived within 10 s after the last write. Loopback only; bounded in time.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/corpus.h"
#include "bench/histogram.h"
#include "content/v1/content_service.grpc.pb.h"

namespace {

using content::bench::Histogram;
namespace v1 = content::v1;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string target = "127.0.0.1:7070";
  std::string token;
  int watchers = 200;
  int rate = 50;
  int seconds = 10;
  bool full = true;
  std::string tag = "t1";
  bool json = false;
};

int Usage(const char* why) {
  std::fprintf(stderr,
               "watch_bench: %s\nusage: watch_bench --target HOST:PORT "
               "[--watchers N] [--rate N] [--seconds N] [--view full|name] "
               "[--tag T] [--token T] [--json]\n",
               why);
  return 2;
}

bool ParseInt(const char* s, int lo, int hi, int* out) {
  int v = 0;
  if (!absl::SimpleAtoi(s, &v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

void Authorize(grpc::ClientContext* ctx, const std::string& token) {
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--json") {
      f.json = true;
      continue;
    }
    if (v == nullptr) return Usage(("missing value of " + a).c_str());
    ++i;
    if (a == "--target") {
      f.target = v;
    } else if (a == "--token") {
      f.token = v;
    } else if (a == "--tag") {
      f.tag = v;
    } else if (a == "--view") {
      if (std::string(v) != "full" && std::string(v) != "name")
        return Usage("--view: full or name");
      f.full = std::string(v) == "full";
    } else if (a == "--watchers") {
      if (!ParseInt(v, 1, 2000, &f.watchers))
        return Usage("--watchers: 1 to 2000");
    } else if (a == "--rate") {
      if (!ParseInt(v, 1, 10000, &f.rate)) return Usage("--rate: 1 to 10000");
    } else if (a == "--seconds") {
      if (!ParseInt(v, 1, 600, &f.seconds)) return Usage("--seconds: 1 to 600");
    } else {
      return Usage(("unknown flag " + a).c_str());
    }
  }

  auto channel =
      grpc::CreateChannel(f.target, grpc::InsecureChannelCredentials());
  auto stub = v1::ContentService::NewStub(channel);
  const int writes = f.rate * f.seconds;
  const std::string prefix =
      absl::StrCat("wb",
                   std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count(),
                   "-");
  // Start of the create of article k, in nanoseconds since `t0`; 0 = not
  // sent yet.
  const Clock::time_point t0 = Clock::now();
  std::vector<std::atomic<int64_t>> sent(writes);
  for (auto& s : sent) s.store(0);

  // Watchers: each records lags into its own histogram.
  struct Watcher {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchArticlesResponse>> stream;
    Histogram lag;
    std::atomic<int> received{0};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Watcher>> ws;
  v1::WatchArticlesRequest req;
  req.set_start_now(true);
  req.set_view(f.full ? v1::WatchArticlesRequest::VIEW_FULL
                      : v1::WatchArticlesRequest::VIEW_NAME_ONLY);
  if (!f.tag.empty()) req.mutable_filter()->add_tags(f.tag);
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(f.seconds + 60);
  for (int i = 0; i < f.watchers; ++i) {
    auto w = std::make_unique<Watcher>();
    w->ctx.set_deadline(deadline);
    Authorize(&w->ctx, f.token);
    w->stream = stub->WatchArticles(&w->ctx, req);
    ws.push_back(std::move(w));
  }
  for (auto& w : ws) w->stream->WaitForInitialMetadata();
  for (auto& w : ws) {
    Watcher* p = w.get();
    p->thread = std::thread([p, &sent, &prefix, t0, writes] {
      v1::WatchArticlesResponse r;
      while (p->stream->Read(&r)) {
        const int64_t now =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                                 t0)
                .count();
        const std::string name = r.event().name();
        const std::string want = "articles/" + prefix;
        int k = -1;
        if (name.compare(0, want.size(), want) != 0 ||
            !absl::SimpleAtoi(name.substr(want.size()), &k) || k < 0 ||
            k >= writes)
          continue;  // someone else's write
        const int64_t start = sent[k].load();
        p->lag.Record(static_cast<uint64_t>(std::max<int64_t>(now - start, 0)));
        if (++p->received == writes) break;
      }
    });
  }

  // The writer: one create at a time, paced to --rate.
  content::bench::Corpus corpus{content::bench::CorpusOptions()};
  int failed = 0;
  std::string first_error;
  const auto interval = std::chrono::nanoseconds(1000000000LL / f.rate);
  Clock::time_point next = Clock::now();
  for (int k = 0; k < writes; ++k) {
    std::this_thread::sleep_until(next);
    next += interval;
    v1::CreateArticleRequest c;
    *c.mutable_article() = corpus.Make(k);
    c.mutable_article()->clear_tags();
    c.mutable_article()->add_tags(f.tag.empty() ? "t1" : f.tag);
    c.set_article_id(absl::StrCat(prefix, k));
    v1::Article out;
    grpc::ClientContext ctx;
    Authorize(&ctx, f.token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    sent[k].store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0)
            .count());
    grpc::Status st = stub->CreateArticle(&ctx, c, &out);
    if (!st.ok()) {
      ++failed;
      if (first_error.empty()) first_error = st.error_message();
    }
  }
  // Late events get 10 s, then the streams are cancelled.
  const Clock::time_point stop = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < stop) {
    bool all = true;
    for (auto& w : ws) all = all && w->received >= writes - failed;
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& w : ws) w->ctx.TryCancel();
  Histogram lag;
  int64_t received = 0;
  for (auto& w : ws) {
    w->thread.join();
    w->stream->Finish();
    lag.Merge(w->lag);
    received += w->received;
  }
  const int64_t expected = int64_t{writes - failed} * f.watchers;
  auto ms = [&](double q) { return lag.Percentile(q) / 1e6; };
  if (f.json) {
    std::printf(
        "{\"tool\":\"watch_bench\",\"watchers\":%d,\"rate\":%d,\"seconds\":%d,"
        "\"view\":\"%s\",\"writes\":%d,\"failed_writes\":%d,"
        "\"expected\":%lld,\"received\":%lld,\"lag_p50_ms\":%.2f,"
        "\"lag_p90_ms\":%.2f,\"lag_p99_ms\":%.2f,\"lag_max_ms\":%.2f}\n",
        f.watchers, f.rate, f.seconds, f.full ? "full" : "name", writes, failed,
        static_cast<long long>(expected), static_cast<long long>(received),
        ms(0.5), ms(0.9), ms(0.99), lag.max() / 1e6);
  } else {
    std::printf(
        "watchers %d  writes %d (%d failed) at %d/s  view %s  received "
        "%lld/%lld  lag p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
        f.watchers, writes, failed, f.rate, f.full ? "full" : "name",
        static_cast<long long>(received), static_cast<long long>(expected),
        ms(0.5), ms(0.9), ms(0.99), lag.max() / 1e6);
  }
  if (failed > 0)
    std::fprintf(stderr, "watch_bench: %d writes failed: %s\n", failed,
                 first_error.c_str());
  if (failed == writes) return 1;
  return received == expected ? 0 : 3;
}
