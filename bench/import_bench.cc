// import_bench: how fast a whole site loads through ImportArticles, the path
// `contentctl apply -f DIR` takes.
//
//   import_bench --target 127.0.0.1:7070 --articles 1000000 [--streams 2]
//                [--batch 1000] [--seed 1] [--generate-inline]
//
// Generates the deterministic corpus of bench/corpus.h (about 2 KiB bodies,
// Chinese and English, 3-8 Zipf tags) in the client, streams it over
// `--streams` concurrent ImportArticles calls in batches, and prints the
// wall time, the rate and the outcome counts (one JSON line with --json).
//
// The corpus is generated before the clock starts (about 3.5 GiB at 1M), as
// `contentctl apply` reads files that already exist: on a 2-core box the
// generator's random text otherwise takes a fifth of the CPU the server is
// measured on. The clock covers what an import costs: encoding, streaming,
// and the server's work. --generate-inline generates while streaming.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/corpus.h"
#include "content/client.h"

namespace {

struct Flags {
  std::string target = "127.0.0.1:7070";
  std::string token;
  int64_t articles = 100000;
  int streams = 2;
  int batch = 1000;
  uint64_t seed = 1;
  bool json = false;
  bool generate_inline = false;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (a != name || i + 1 >= argc) return nullptr;
      return argv[++i];
    };
    if (const char* v = value("--target")) {
      f->target = v;
    } else if (const char* v = value("--token")) {
      f->token = v;
    } else if (const char* v = value("--articles")) {
      f->articles = std::atoll(v);
    } else if (const char* v = value("--streams")) {
      f->streams = std::atoi(v);
    } else if (const char* v = value("--batch")) {
      f->batch = std::atoi(v);
    } else if (const char* v = value("--seed")) {
      f->seed = std::strtoull(v, nullptr, 10);
    } else if (a == "--json") {
      f->json = true;
    } else if (a == "--generate-inline") {
      f->generate_inline = true;
    } else {
      std::fprintf(stderr, "import_bench: unknown or incomplete flag %s\n",
                   a.c_str());
      return false;
    }
  }
  return f->articles > 0 && f->streams > 0 && f->batch > 0 && f->batch <= 1000;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, &f)) return 2;
  content::ClientOptions options;
  options.target = f.target;
  options.token = f.token;
  auto client = content::Client::Connect(options);
  if (!client.ok()) return 1;
  content::bench::CorpusOptions corpus_options;
  corpus_options.seed = f.seed;
  const content::bench::Corpus corpus(corpus_options);
  auto fill = [&](int64_t first, content::v1::ImportArticlesRequest* batch) {
    const int64_t end = std::min<int64_t>(first + f.batch, f.articles);
    for (int64_t i = first; i < end; ++i) {
      content::v1::Article* a = batch->add_articles();
      *a = corpus.Make(i);
      a->set_name("articles/" + content::bench::Corpus::Id(i));
    }
  };
  // Batch k holds articles [k * batch, (k + 1) * batch).
  std::vector<content::v1::ImportArticlesRequest> batches;
  if (!f.generate_inline) {
    batches.resize((f.articles + f.batch - 1) / f.batch);
    std::atomic<size_t> next_batch{0};
    std::vector<std::thread> generators;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned t = 0; t < cores; ++t) {
      generators.emplace_back([&] {
        for (size_t k; (k = next_batch.fetch_add(1)) < batches.size();)
          fill(static_cast<int64_t>(k) * f.batch, &batches[k]);
      });
    }
    for (auto& t : generators) t.join();
    std::fprintf(stderr, "generated %lld articles; importing\n",
                 static_cast<long long>(f.articles));
  }

  std::atomic<int64_t> next{0}, done{0}, created{0}, updated{0}, unchanged{0},
      failed{0};
  std::atomic<bool> broken{false};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < f.streams; ++s) {
    threads.emplace_back([&] {
      absl::Status st = (*client)->ImportArticles(
          [&](content::v1::ImportArticlesRequest* batch) {
            const int64_t first = next.fetch_add(f.batch);
            if (first >= f.articles) return false;
            if (f.generate_inline) {
              fill(first, batch);
            } else {
              batch->Swap(&batches[first / f.batch]);
            }
            return true;
          },
          [&](const content::v1::ImportArticlesResponse& r) {
            for (const auto& x : r.results()) {
              switch (x.outcome()) {
                case content::v1::ImportResult::OUTCOME_CREATED:
                  ++created;
                  break;
                case content::v1::ImportResult::OUTCOME_UPDATED:
                  ++updated;
                  break;
                case content::v1::ImportResult::OUTCOME_UNCHANGED:
                  ++unchanged;
                  break;
                default:
                  ++failed;
              }
            }
            done += r.results_size();
          });
      if (!st.ok()) {
        broken = true;
        std::fprintf(stderr, "\nimport_bench: stream failed: %s\n",
                     st.ToString().c_str());
      }
    });
  }
  std::thread progress([&] {
    while (done.load() < f.articles && !broken.load()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const double s = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      std::fprintf(stderr, "\rimported %lld/%lld (%.0f/s)   ",
                   static_cast<long long>(done.load()),
                   static_cast<long long>(f.articles), done.load() / s);
    }
  });
  for (auto& t : threads) t.join();
  // Timed before joining the progress thread, which sleeps in 1 s steps.
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  progress.join();
  std::fprintf(stderr, "\n");
  if (f.json) {
    std::printf(
        "{\"tool\":\"import_bench\",\"articles\":%lld,\"seconds\":%.2f,"
        "\"per_second\":%.0f,\"created\":%lld,\"updated\":%lld,"
        "\"unchanged\":%lld,\"failed\":%lld}\n",
        static_cast<long long>(f.articles), secs, f.articles / secs,
        static_cast<long long>(created.load()),
        static_cast<long long>(updated.load()),
        static_cast<long long>(unchanged.load()),
        static_cast<long long>(failed.load()));
  } else {
    std::printf(
        "imported %lld articles in %.1f s (%.0f/s): %lld created, %lld "
        "updated, %lld unchanged, %lld failed\n",
        static_cast<long long>(f.articles), secs, f.articles / secs,
        static_cast<long long>(created.load()),
        static_cast<long long>(updated.load()),
        static_cast<long long>(unchanged.load()),
        static_cast<long long>(failed.load()));
  }
  return broken || failed > 0 ? 1 : 0;
}
