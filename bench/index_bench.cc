// index_bench: CPU cost of a write's text indexing and content hash, on
// benchmark-corpus articles (2 KiB bodies, Chinese and English). Run by
// hand; results in docs/benchmarks.md and docs/benchmarks-history.md (the
// 2026-12-01 05:46 section).
//   build-rel/bench/index_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/corpus.h"
#include "server/store/store.h"
#include "server/text/tokenizer.h"

namespace content::bench {
namespace {

std::vector<v1::Article> Articles(int n) {
  const Corpus corpus{CorpusOptions()};
  std::vector<v1::Article> out;
  for (int i = 0; i < n; ++i) out.push_back(corpus.Make(i));
  return out;
}

// The distinct index terms of one article (what a create computes).
void BM_ArticleTerms(benchmark::State& state) {
  const std::vector<v1::Article> articles = Articles(64);
  size_t i = 0, terms = 0;
  for (auto _ : state) {
    std::vector<std::string> t =
        text::ArticleTerms(articles[i++ % articles.size()]);
    terms += t.size();
    benchmark::DoNotOptimize(t.data());
  }
  state.counters["terms/article"] =
      static_cast<double>(terms) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ArticleTerms);

// Normalization and tokenization alone.
void BM_Tokenize(benchmark::State& state) {
  const std::vector<v1::Article> articles = Articles(64);
  size_t i = 0;
  for (auto _ : state) {
    std::vector<text::Token> t =
        text::Tokenize(text::SearchableText(articles[i++ % articles.size()]));
    benchmark::DoNotOptimize(t.data());
  }
}
BENCHMARK(BM_Tokenize);

// The content hash as an update computed it twice before 2026-12-02 evening
// (copy, deterministic encoding, SHA-256): the work each update now saves.
void BM_ContentHash(benchmark::State& state) {
  const std::vector<v1::Article> articles = Articles(64);
  size_t i = 0;
  for (auto _ : state) {
    std::string h = store::Store::ContentHash(articles[i++ % articles.size()]);
    benchmark::DoNotOptimize(h.data());
  }
}
BENCHMARK(BM_ContentHash);

}  // namespace
}  // namespace content::bench

BENCHMARK_MAIN();
