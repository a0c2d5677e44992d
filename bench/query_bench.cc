// query_bench: the cost of one 20-article page of the query engine, in
// process (no gRPC), at several corpus sizes, and Xapian 1.4 (CJK n-gram
// mode) on the same articles in the same run.
//
//   query_bench [--sizes=10000,100000] [--dir=/tmp/query_bench]
//               [--xapian_max=100000] [--compact] [google benchmark flags...]
//
// --compact compacts each corpus fully before measuring it.
//
// Corpora are generated straight through Store::Apply (no server) into
// DIR/<size> and reused by later runs if complete. Each article: a date over
// 2020-2025, tags (`rare` on 0.3%, so even 10k articles fill a page of 20;
// `common` on 30%, `t0`..`t49` on 5% each),
// a short title and summary, and a body of ~60 random common Chinese
// characters with some English words. 2% of bodies hold `本地化部署`; another
// 4% hold `本地`, `化部` and `部署` apart (candidates verification rejects).
// Queries, newest first, page of 20:
//   all_newest    no filter (the floor: one list, 20 revision reads)
//   rare_tag      tags=[rare]
//   common_year   tags=[common], date in [2024-01-01, 2025-01-01)
//   two_tag_and   tags ALL [t1, t2], then [t3, t4] ... [t9, t10] in turn
//                 (~0.25% each)
//   text_zh       text="本地化部署"
//   text_zh_bigram text="部署" (one exact term: no verification)
//   text_en       text="database engine"
// Xapian gets the same title/summary/body through TermGenerator with
// FLAG_CJK_NGRAM and the date in value slot 0; its queries go through
// QueryParser with FLAG_CJK_NGRAM: `xapian_default` (default operator OR,
// relevance order, what an embedding team gets out of the box) and
// `xapian_and_by_date` (operator AND, sorted newest first, the same
// question contentd answers).
#include <benchmark/benchmark.h>
#include <xapian.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "content/v1/article.pb.h"
#include "server/query/engine.h"
#include "server/store/store.h"

namespace content::bench {
namespace {

constexpr int64_t k2020 = 1577836800;
constexpr int64_t k2024 = 1704067200;
constexpr int64_t k2025 = 1735689600;

// 200 common characters: random pairs of them make plenty of bigrams.
const char kCommonHan[] =
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可"
    "主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家"
    "电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合"
    "还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明"
    "看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想";

const std::vector<std::string>& HanChars() {
  static const auto* chars = [] {
    auto* v = new std::vector<std::string>;
    const std::string s = kCommonHan;
    for (size_t i = 0; i + 3 <= s.size(); i += 3) v->push_back(s.substr(i, 3));
    return v;
  }();
  return *chars;
}

const std::vector<std::string> kEnglish = {
    "database", "engine", "cloud",   "model",  "search", "index",
    "server",   "client", "storage", "stream", "query",  "latency"};

v1::Article MakeArticle(std::mt19937_64& rng, int64_t i) {
  auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  auto pick = [&](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  v1::Article a;
  a.set_title(absl::StrCat("文章 ", i, " ", HanChars()[pick(HanChars().size())],
                           HanChars()[pick(HanChars().size())]));
  a.set_summary(absl::StrCat("摘要 ", kEnglish[pick(kEnglish.size())]));
  std::string body;
  for (int k = 0; k < 60; ++k) {
    body += HanChars()[pick(HanChars().size())];
    if (k % 12 == 11) {
      body += " ";
      if (chance(0.4)) body += kEnglish[pick(kEnglish.size())] + " ";
    }
  }
  if (chance(0.02)) body += "。支持本地化部署。";
  if (chance(0.04)) body += "。本地团队，化部分为部署。";
  a.set_body(body);
  if (chance(0.003)) a.add_tags("rare");
  if (chance(0.30)) a.add_tags("common");
  for (int t = 0; t < 50; ++t)
    if (chance(0.05)) a.add_tags(absl::StrCat("t", t));
  a.add_lang(chance(0.7) ? "zh-CN" : "en");
  a.add_categories(chance(0.5) ? "Tech" : "Finance");
  a.mutable_date()->set_seconds(
      k2020 + std::uniform_int_distribution<int64_t>(0, 6 * 365 * 86400)(rng));
  return a;
}

int64_t DirBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += static_cast<int64_t>(e.file_size(ec));
  }
  return total;
}

struct Corpus {
  int64_t size = 0;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Xapian::Database> xapian;
};

// Opens (building if needed) the store and, when `with_xapian`, the Xapian
// index of `size` articles under `dir`.
Corpus Build(const std::string& dir, int64_t size, bool with_xapian) {
  Corpus c;
  c.size = size;
  const std::string store_dir = absl::StrCat(dir, "/", size, "/store");
  const std::string xapian_dir = absl::StrCat(dir, "/", size, "/xapian");
  const std::string done = absl::StrCat(dir, "/", size, "/complete");
  const bool reuse = std::filesystem::exists(done) &&
                     (!with_xapian || std::filesystem::exists(xapian_dir));
  if (!reuse) std::filesystem::remove_all(absl::StrCat(dir, "/", size));
  std::filesystem::create_directories(store_dir);
  store::StoreOptions options;
  options.data_dir = store_dir;
  options.sync = false;
  options.block_cache_bytes = size_t{256} << 20;
  absl::StatusOr<std::unique_ptr<store::Store>> s = store::Store::Open(options);
  if (!s.ok()) {
    std::fprintf(stderr, "open %s: %s\n", store_dir.c_str(),
                 std::string(s.status().message()).c_str());
    std::exit(1);
  }
  c.store = *std::move(s);
  if (!reuse) {
    std::mt19937_64 rng(size);
    std::unique_ptr<Xapian::WritableDatabase> wdb;
    Xapian::TermGenerator tg;
    if (with_xapian) {
      wdb = std::make_unique<Xapian::WritableDatabase>(
          xapian_dir, Xapian::DB_CREATE_OR_OVERWRITE);
      tg.set_flags(Xapian::TermGenerator::FLAG_CJK_NGRAM);
    }
    const absl::Time start = absl::Now();
    absl::Duration xapian_time;
    constexpr int kBatch = 1000;
    for (int64_t i = 0; i < size; i += kBatch) {
      std::vector<std::pair<std::string, v1::Article>> items;
      for (int64_t k = i; k < std::min(size, i + kBatch); ++k)
        items.emplace_back(absl::StrCat("a", k), MakeArticle(rng, k));
      if (wdb) {
        const absl::Time x0 = absl::Now();
        for (const auto& [id, a] : items) {
          Xapian::Document doc;
          tg.set_document(doc);
          tg.index_text(a.title());
          tg.increase_termpos();
          tg.index_text(a.summary());
          tg.increase_termpos();
          tg.index_text(a.body());
          doc.add_value(0, Xapian::sortable_serialise(
                               static_cast<double>(a.date().seconds())));
          doc.set_data(id);
          wdb->add_document(doc);
        }
        xapian_time += absl::Now() - x0;
      }
      absl::StatusOr<std::vector<store::ApplyResult>> r =
          c.store->Apply(std::move(items), false);
      if (!r.ok()) {
        std::fprintf(stderr, "apply: %s\n",
                     std::string(r.status().message()).c_str());
        std::exit(1);
      }
      if ((i / kBatch) % 50 == 49)
        std::fprintf(stderr, "  %lld/%lld articles\n",
                     static_cast<long long>(i + kBatch),
                     static_cast<long long>(size));
    }
    if (wdb) {
      const absl::Time x0 = absl::Now();
      wdb->commit();
      wdb->close();
      xapian_time += absl::Now() - x0;
    }
    const absl::Duration total = absl::Now() - start;
    std::fprintf(
        stderr, "built %lld articles in %s (contentd store %s, xapian %s)\n",
        static_cast<long long>(size), absl::FormatDuration(total).c_str(),
        absl::FormatDuration(total - xapian_time).c_str(),
        absl::FormatDuration(xapian_time).c_str());
    std::ofstream(done) << "ok\n";
  }
  if (with_xapian) c.xapian = std::make_unique<Xapian::Database>(xapian_dir);
  std::fprintf(stderr, "corpus %lld: store %.1f MiB, xapian %.1f MiB\n",
               static_cast<long long>(size), DirBytes(store_dir) / 1048576.0,
               with_xapian ? DirBytes(xapian_dir) / 1048576.0 : 0.0);
  return c;
}

// The queries a benchmark cycles through: one, except the two-tag AND,
// which takes five tag pairs in turn. One pair's first 20 matches lie
// wherever the corpus's random draws put them: 20 matches at 0.25% are
// ~8,000 articles deep on average, where the two lists hold ~780 entries,
// but in the 10k corpus (t1, t2) filled its page after 459 leapfrog seeks
// and in the 1M corpus after 735 (counted with callgrind). The cost per
// seek was the same; the page depth alone moved the 1M/10k ratio by 1.6x.
std::vector<v1::Query> NamedQueries(const std::string& name) {
  if (name == "two_tag_and") {
    std::vector<v1::Query> out;
    for (int t = 1; t < 10; t += 2) {
      v1::Query q;
      q.add_tags(absl::StrCat("t", t));
      q.add_tags(absl::StrCat("t", t + 1));
      q.set_tag_match(v1::Query::TAG_MATCH_ALL);
      out.push_back(std::move(q));
    }
    return out;
  }
  v1::Query q;
  if (name == "rare_tag") q.add_tags("rare");
  if (name == "common_year") {
    q.add_tags("common");
    q.mutable_date_from()->set_seconds(k2024);
    q.mutable_date_to()->set_seconds(k2025);
  }
  if (name == "text_zh") q.set_text("本地化部署");
  if (name == "text_en") q.set_text("database engine");
  if (name == "text_zh_bigram") q.set_text("部署");  // exact: no verification
  return {q};
}

void RunContentd(benchmark::State& state, Corpus* c,
                 const std::vector<v1::Query>& queries, bool facets) {
  query::QueryOptions options;
  if (facets) {
    options.facets = {v1::FACET_FIELD_TAGS, v1::FACET_FIELD_CATEGORIES,
                      v1::FACET_FIELD_LANG};
  }
  int64_t results = 0;
  size_t next = 0;
  for (auto _ : state) {
    const v1::Query& q = queries[next];
    next = (next + 1) % queries.size();
    absl::StatusOr<query::QueryPage> page =
        query::RunQuery(*c->store, q, options);
    if (!page.ok()) {
      state.SkipWithError(std::string(page.status().message()).c_str());
      return;
    }
    results = static_cast<int64_t>(page->articles.size());
    benchmark::DoNotOptimize(page->articles.data());
  }
  state.counters["results"] = static_cast<double>(results);
}

void RunXapian(benchmark::State& state, Corpus* c, const std::string& text,
               bool and_by_date) {
  Xapian::QueryParser qp;
  qp.set_database(*c->xapian);
  if (and_by_date) qp.set_default_op(Xapian::Query::OP_AND);
  int64_t results = 0;
  for (auto _ : state) {
    Xapian::Query query =
        qp.parse_query(text, Xapian::QueryParser::FLAG_DEFAULT |
                                 Xapian::QueryParser::FLAG_CJK_NGRAM);
    Xapian::Enquire enquire(*c->xapian);
    enquire.set_query(query);
    if (and_by_date) enquire.set_sort_by_value(0, true);
    Xapian::MSet mset = enquire.get_mset(0, 20);
    // Fetch what a caller would show: the documents of the page.
    for (Xapian::MSetIterator it = mset.begin(); it != mset.end(); ++it)
      benchmark::DoNotOptimize(it.get_document().get_data());
    results = mset.size();
  }
  state.counters["results"] = static_cast<double>(results);
}

}  // namespace
}  // namespace content::bench

int main(int argc, char** argv) {
  using namespace content::bench;  // NOLINT: a tool's main
  std::vector<int64_t> sizes = {10000, 100000};
  std::string dir = "/tmp/query_bench";
  int64_t xapian_max = 100000;
  bool compact = false;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--sizes=", 0) == 0) {
      sizes.clear();
      for (absl::string_view s : absl::StrSplit(arg.substr(8), ',')) {
        int64_t n = 0;
        if (absl::SimpleAtoi(s, &n) && n > 0) sizes.push_back(n);
      }
    } else if (arg.rfind("--dir=", 0) == 0) {
      dir = arg.substr(6);
    } else if (arg == "--compact") {
      compact = true;
    } else if (arg.rfind("--xapian_max=", 0) == 0) {
      absl::SimpleAtoi(arg.substr(13), &xapian_max);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());

  std::vector<std::unique_ptr<Corpus>> corpora;
  for (int64_t size : sizes) {
    corpora.push_back(
        std::make_unique<Corpus>(Build(dir, size, size <= xapian_max)));
    Corpus* c = corpora.back().get();
    if (compact) {
      // The settled shape of a store that has been running for a while,
      // rather than the levels a bulk load leaves behind.
      const absl::Time t0 = absl::Now();
      absl::Status s = c->store->engine()->CompactAll();
      if (!s.ok()) {
        std::fprintf(stderr, "compact: %s\n", std::string(s.message()).c_str());
        return 1;
      }
      std::fprintf(stderr, "corpus %lld compacted in %s\n",
                   static_cast<long long>(size),
                   absl::FormatDuration(absl::Now() - t0).c_str());
    }
    for (const char* name :
         {"all_newest", "rare_tag", "common_year", "two_tag_and", "text_zh",
          "text_zh_bigram", "text_en"}) {
      const std::vector<content::v1::Query> q = NamedQueries(name);
      benchmark::RegisterBenchmark(
          absl::StrCat("contentd/", name, "/", size).c_str(),
          [c, q](benchmark::State& st) { RunContentd(st, c, q, false); })
          ->Unit(benchmark::kMicrosecond);
    }
    // Facets (tags, categories, lang) over a whole result: every matching
    // article is read, up to the 10000-article cap.
    for (const char* name : {"rare_tag", "text_zh", "common_year"}) {
      const std::vector<content::v1::Query> q = NamedQueries(name);
      benchmark::RegisterBenchmark(
          absl::StrCat("contentd_facets/", name, "/", size).c_str(),
          [c, q](benchmark::State& st) { RunContentd(st, c, q, true); })
          ->Unit(benchmark::kMicrosecond);
    }
    if (c->xapian) {
      for (const auto& [name, text] :
           {std::pair<std::string, std::string>{"text_zh", "本地化部署"},
            {"text_en", "database engine"}}) {
        for (bool by_date : {false, true}) {
          benchmark::RegisterBenchmark(
              absl::StrCat(by_date ? "xapian_and_by_date/" : "xapian_default/",
                           name, "/", size)
                  .c_str(),
              [c, text = text, by_date](benchmark::State& st) {
                RunXapian(st, c, text, by_date);
              })
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
