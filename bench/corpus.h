// Deterministic benchmark corpus: article i is a pure function of (seed, i),
// so contentd, etcd and PostgreSQL get byte-identical content and any tool can
// regenerate an article without storing the corpus.
#ifndef CONTENT_BENCH_CORPUS_H_
#define CONTENT_BENCH_CORPUS_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "content/v1/article.pb.h"

namespace content::bench {

// Options for Corpus. The defaults are the shape of samples/news-article.md.
struct CorpusOptions {
  // Seed of every random choice. Default: 1.
  uint64_t seed = 1;
  // Distinct tags; tag of rank k (1-based, 1 = most used) is "t<k>" so that
  // pgbench can name it from a number. Default: 5000.
  int tag_vocabulary = 5000;
  // Zipf exponent of tag popularity (pgbench's random_zipfian needs > 1).
  // Default: 1.05.
  double tag_zipf = 1.05;
  // Approximate body size in bytes of UTF-8. Default: 2048.
  int body_bytes = 2048;
  // Dates are uniform over [2021-01-01, +days). Default: 1826 (five years).
  int days = 1826;
};

// Samples ranks 1..n with P(k) proportional to 1/k^s. Thread-compatible.
class ZipfSampler {
 public:
  ZipfSampler(int n, double s);
  // Returns a rank in [1, n].
  int Sample(std::mt19937_64& rng) const;
  int n() const { return static_cast<int>(cdf_.size()); }

 private:
  std::vector<double> cdf_;
};

// Thread-safe (const after construction).
class Corpus {
 public:
  explicit Corpus(const CorpusOptions& options);

  // Id of article i: "a" + 8 digits, e.g. "a00000042".
  static std::string Id(int64_t i);
  // Tag name of rank k.
  static std::string Tag(int rank) { return "t" + std::to_string(rank); }
  // First second of the date range (2021-01-01T00:00:00Z).
  static constexpr int64_t kEpochSeconds = 1609459200;

  // Article i with every user-writable field set; name/output fields unset.
  v1::Article Make(int64_t i) const;
  // A word or phrase that occurs in the corpus's text (Chinese or English),
  // for full-text queries.
  static std::string SearchTerm(std::mt19937_64& rng);
  // A body that differs from article i's for update number `version`.
  std::string UpdatedBody(int64_t i, int64_t version) const;

  const CorpusOptions& options() const { return options_; }
  const ZipfSampler& tags() const { return tags_; }

 private:
  std::mt19937_64 Rng(int64_t i, uint64_t salt) const;
  std::string Body(std::mt19937_64& rng, bool chinese) const;

  CorpusOptions options_;
  ZipfSampler tags_;
};

// Writes articles [0, n) in one of the export formats:
//   "csv"    PostgreSQL COPY ... (FORMAT csv) rows:
//            id,title,date,summary,categories,lang,tags,thumbnail,body with
//            arrays as PostgreSQL array literals.
//   "ndjson" one JSON object per line: {"id":...,"article":<proto3 JSON>}.
//   "etcd"   one JSON object per line: {"key":"<etcd_prefix><id>",
//            "value":<base64 of the binary Article>} (etcd's gRPC-gateway
//            shape; contentbench can also load etcd directly over gRPC).
// Returns false and prints why on an unknown format or a write error.
bool ExportCorpus(const Corpus& corpus, int64_t n, const std::string& format,
                  const std::string& path,
                  const std::string& etcd_prefix = "/articles/");

}  // namespace content::bench

#endif  // CONTENT_BENCH_CORPUS_H_
