#include "bench/corpus.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace content::bench {
namespace {

// Short phrases for generated text. Written for this tool; the mix of
// financial and technology news matches what the sample article carries.
constexpr const char* kChinese[] = {
    "金融机构", "大模型",         "本地化部署", "应用场景", "券商",
    "基金公司", "开源框架",       "数据中心",   "人工智能", "投资者",
    "市场分析", "风险管理",       "业务流程",   "技术团队", "合作伙伴",
    "监管部门", "研究报告",       "云计算",     "用户体验", "产品发布",
    "核心业务", "算力资源",       "信息披露",   "行业研究", "今年以来",
    "据了解",   "相关负责人表示", "进一步",     "持续推进", "全面升级",
    "智能服务", "客户服务",       "数字化转型", "新能源",   "半导体",
    "消费电子"};
constexpr const char* kChinesePunct[] = {"，", "，", "。", "；", "、"};
constexpr const char* kEnglish[] = {
    "market",   "model",     "deployment", "investors", "platform",  "release",
    "analysts", "growth",    "quarter",    "revenue",   "open",      "source",
    "data",     "center",    "cloud",      "service",   "customers", "risk",
    "research", "report",    "the",        "a",         "of",        "and",
    "to",       "in",        "with",       "for",       "new",       "local",
    "company",  "industry",  "team",       "said",      "according", "expected",
    "systems",  "inference", "capacity",   "regulators"};
constexpr const char* kCategories[] = {
    "qq",      "finance", "tech",   "world",  "china",   "business",
    "science", "sports",  "health", "travel", "opinion", "culture",
    "auto",    "games",   "energy", "food",   "housing", "education"};
constexpr const char* kTitleZh[] = {"接入", "官宣", "发布", "落地",
                                    "测试", "升级", "合作", "突破"};

template <typename T, size_t N>
const char* Pick(const T (&words)[N], std::mt19937_64& rng) {
  return words[rng() % N];
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// PostgreSQL array literal of simple tokens (ours never need quoting).
std::string PgArray(const google::protobuf::RepeatedPtrField<std::string>& v) {
  return absl::StrCat("{", absl::StrJoin(v, ","), "}");
}

std::string CsvField(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

ZipfSampler::ZipfSampler(int n, double s) {
  cdf_.resize(std::max(n, 1));
  double sum = 0;
  for (int k = 1; k <= static_cast<int>(cdf_.size()); ++k) {
    sum += 1.0 / std::pow(k, s);
    cdf_[k - 1] = sum;
  }
  for (double& c : cdf_) c /= sum;
}

int ZipfSampler::Sample(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
  if (it == cdf_.end()) --it;
  return static_cast<int>(it - cdf_.begin()) + 1;
}

Corpus::Corpus(const CorpusOptions& options)
    : options_(options), tags_(options.tag_vocabulary, options.tag_zipf) {}

std::string Corpus::Id(int64_t i) { return absl::StrFormat("a%08d", i); }

std::mt19937_64 Corpus::Rng(int64_t i, uint64_t salt) const {
  return std::mt19937_64(
      SplitMix(SplitMix(options_.seed ^ salt) + static_cast<uint64_t>(i)));
}

std::string Corpus::Body(std::mt19937_64& rng, bool chinese) const {
  std::string body;
  body.reserve(options_.body_bytes + 64);
  int in_paragraph = 0;
  while (static_cast<int>(body.size()) < options_.body_bytes) {
    if (chinese) {
      body += Pick(kChinese, rng);
      body += (rng() % 3 == 0) ? Pick(kChinesePunct, rng) : "";
    } else {
      if (!body.empty() && body.back() != '\n') body += ' ';
      body += Pick(kEnglish, rng);
      if (rng() % 12 == 0) body += '.';
    }
    if (++in_paragraph > 40 && rng() % 8 == 0) {
      body += chinese ? "。\n\n" : ".\n\n";
      in_paragraph = 0;
    }
  }
  return body;
}

v1::Article Corpus::Make(int64_t i) const {
  std::mt19937_64 rng = Rng(i, 0);
  v1::Article a;
  const bool chinese = rng() % 10 < 6;  // 60% zh-CN, 40% en.
  const std::string lang = chinese ? "zh-CN" : "en";
  if (chinese) {
    a.set_title(absl::StrCat(Pick(kTitleZh, rng), Pick(kChinese, rng), "！",
                             Pick(kChinese, rng), Pick(kChinese, rng), "：",
                             Pick(kChinese, rng), " #", i));
  } else {
    a.set_title(absl::StrCat("The ", Pick(kEnglish, rng), " ",
                             Pick(kEnglish, rng), " ", Pick(kEnglish, rng),
                             " report #", i));
  }
  const int64_t seconds =
      kEpochSeconds +
      static_cast<int64_t>(rng() %
                           (static_cast<uint64_t>(options_.days) * 86400));
  a.mutable_date()->set_seconds(seconds);
  a.add_lang(lang);
  a.add_translations(lang);
  const int ncat = 1 + static_cast<int>(rng() % 2);
  while (a.categories_size() < ncat) {
    const char* c = Pick(kCategories, rng);
    if (std::find(a.categories().begin(), a.categories().end(), c) ==
        a.categories().end())
      a.add_categories(c);
  }
  const int ntags = 3 + static_cast<int>(rng() % 6);  // 3..8
  std::vector<int> ranks;
  while (static_cast<int>(ranks.size()) < ntags) {
    const int r = tags_.Sample(rng);
    if (std::find(ranks.begin(), ranks.end(), r) == ranks.end())
      ranks.push_back(r);
  }
  for (int r : ranks) a.add_tags(Tag(r));
  a.set_thumbnail(absl::StrCat("https://img.example.com/", Id(i), "/640360"));
  a.set_sidebar("right");
  a.add_widgets("search");
  a.add_widgets("recent");
  a.add_widgets("taglist");
  a.set_comments(false);
  a.set_authorbox(false);
  a.set_pager(true);
  a.set_toc(false);
  a.set_mathjax(false);
  a.set_body(Body(rng, chinese));
  // Summary: the first ~90 bytes of the body cut at a UTF-8 boundary.
  size_t cut = std::min<size_t>(90, a.body().size());
  while (cut > 0 && (static_cast<unsigned char>(a.body()[cut]) & 0xC0) == 0x80)
    --cut;
  a.set_summary(absl::StrCat(a.body().substr(0, cut), "..."));
  return a;
}

std::string Corpus::SearchTerm(std::mt19937_64& rng) {
  return rng() % 10 < 6 ? Pick(kChinese, rng) : Pick(kEnglish, rng);
}

std::string Corpus::UpdatedBody(int64_t i, int64_t version) const {
  std::mt19937_64 rng = Rng(i, 0x5eed0000ULL + static_cast<uint64_t>(version));
  return absl::StrCat(Body(rng, rng() % 2 == 0), "\n\nrev ", version, "\n");
}

bool ExportCorpus(const Corpus& corpus, int64_t n, const std::string& format,
                  const std::string& path, const std::string& etcd_prefix) {
  if (format != "csv" && format != "ndjson" && format != "etcd") {
    std::cerr << "contentbench: --format must be csv, ndjson or etcd\n";
    return false;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "contentbench: cannot write " << path << "\n";
    return false;
  }
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = false;
  std::string line;
  for (int64_t i = 0; i < n; ++i) {
    const v1::Article a = corpus.Make(i);
    const std::string id = Corpus::Id(i);
    line.clear();
    if (format == "csv") {
      absl::StrAppend(
          &line, id, ",", CsvField(a.title()), ",",
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                           absl::FromUnixSeconds(a.date().seconds()),
                           absl::UTCTimeZone()),
          ",", CsvField(a.summary()), ",", CsvField(PgArray(a.categories())),
          ",", a.lang(0), ",", CsvField(PgArray(a.tags())), ",",
          CsvField(a.thumbnail()), ",", CsvField(a.body()), "\n");
    } else if (format == "ndjson") {
      std::string article_json;
      if (!google::protobuf::util::MessageToJsonString(a, &article_json, json)
               .ok())
        return false;
      absl::StrAppend(&line, "{\"id\":\"", id, "\",\"article\":", article_json,
                      "}\n");
    } else {
      absl::StrAppend(&line, "{\"key\":\"",
                      absl::Base64Escape(absl::StrCat(etcd_prefix, id)),
                      "\",\"value\":\"",
                      absl::Base64Escape(a.SerializeAsString()), "\"}\n");
    }
    out << line;
    if ((i + 1) % 100000 == 0) std::cerr << "exported " << (i + 1) << "\n";
  }
  out.flush();
  if (!out) {
    std::cerr << "contentbench: error writing " << path << "\n";
    return false;
  }
  return true;
}

}  // namespace content::bench
