// Tests for the query engine (server/query): RunQuery against a brute-force
// oracle over random editorial corpora (states, publish and expiry times,
// visibility at a fixed store clock), page tokens, pagination under
// concurrent inserts, and the stream operators on their own.

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/lang_tag.h"
#include "content/v1/article.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/query/engine.h"
#include "server/query/page_token.h"
#include "server/query/stream.h"
#include "server/store/fsck.h"
#include "server/store/keys.h"
#include "server/store/rocksdb_kv.h"
#include "server/store/store.h"
#include "server/text/tokenizer.h"

namespace content::query {
namespace {

using google::protobuf::util::MessageDifferencer;
using store::IndexKind;
using store::Store;
using ::testing::ElementsAre;
using v1::Article;
using v1::Query;

constexpr int64_t kEpoch2020 = 1577836800;
constexpr int64_t kFiveYears = int64_t{5} * 365 * 86400;
constexpr int64_t kNanosPerSecond = 1000000000;
// The instants the oracle test queries at, in Unix nanoseconds: the store's
// clock stands still at one while queries run. Writes happen before the
// first and between the two. Inside the corpus's date range, three days
// apart; the second is not a whole microsecond.
constexpr int64_t kNow1 =
    (kEpoch2020 + int64_t{1500} * 86400) * kNanosPerSecond;
constexpr int64_t kNow2 =
    kNow1 + int64_t{3} * 86400 * kNanosPerSecond + 250000300;

std::string MakeTempDir() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = absl::StrCat(
      tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/query_test.XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

std::string IdOf(const Article& a) { return a.name().substr(9); }

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

google::protobuf::Timestamp NanosTs(int64_t nanos) {
  int64_t seconds = nanos / kNanosPerSecond;
  int64_t rem = nanos % kNanosPerSecond;
  if (rem < 0) {
    rem += kNanosPerSecond;
    --seconds;
  }
  return Ts(seconds, static_cast<int32_t>(rem));
}

int64_t NanosOf(const google::protobuf::Timestamp& t) {
  return t.seconds() * kNanosPerSecond + t.nanos();
}

bool Less(const google::protobuf::Timestamp& a,
          const google::protobuf::Timestamp& b) {
  return std::make_pair(a.seconds(), a.nanos()) <
         std::make_pair(b.seconds(), b.nanos());
}

// Owns a store in a fresh directory; `clock`, if given, is its clock.
class TempStore {
 public:
  explicit TempStore(std::function<absl::Time()> clock = nullptr)
      : dir_(MakeTempDir()) {
    store::StoreOptions options;
    options.data_dir = dir_;
    options.sync = false;
    options.block_cache_bytes = size_t{8} << 20;
    options.clock = std::move(clock);
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(options);
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) store_ = *std::move(s);
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Store& store() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<Store> store_;
};

// ---- A random corpus and its in-memory model --------------------------------

const std::vector<std::string>& TagVocabulary() {
  static const auto* kTags = new std::vector<std::string>{
      "news",  "tech",   "新闻",  "ai",    "go",    "rust", "c++",
      "db",    "web",    "cloud", "k8s",   "linux", "math", "art",
      "music", "travel", "food",  "sport", "game",  "读书"};
  return *kTags;
}
// Skewed: a few tags are on a large share of articles.
const std::vector<double>& TagWeights() {
  static const auto* kWeights = new std::vector<double>{
      40, 25, 18, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1};
  return *kWeights;
}
const std::vector<std::string> kCategories = {"Tech", "Life", "World",
                                              "Opinion", "Science"};
// Articles and queries spell languages in either case ("zh-cn" is "zh-CN"),
// and with '_' for '-' as POSIX locale names do ("zh_CN" is "zh-CN").
const std::vector<std::string> kLangs = {"zh-CN", "en", "ja",
                                         "zh-cn", "EN", "zh_CN"};

// Text: a few Latin words in several spellings, and CJK runs drawn from a
// small pool of characters, so bigrams of a query often occur in an article
// without the query's run (the case verification must reject).
const std::vector<std::string> kWords = {
    "Rust",  "rust", "RUST",     "Ｒｕｓｔ", "database", "Database",
    "cloud", "gpt4", "ＧＰＴ４", "engine",   "rusty",    "ai"};
const std::vector<std::string> kCjkPool = {"本", "地", "化", "部", "署",
                                           "数", "据", "库", "引", "擎"};

// With a `clock` (the store's, in Unix nanoseconds) the corpus is
// editorial: random states, publish and expiry times around kNow1 and
// kNow2, updates that move articles between states, and restores; every
// write advances the clock a little. Without one, every article is
// published with no times.
class Corpus {
 public:
  Corpus(Store* store, uint32_t seed, std::atomic<int64_t>* clock = nullptr)
      : store_(store), rng_(seed), clock_(clock) {}

  // Distinct entries drawn by weight.
  std::vector<std::string> WeightedPick(const std::vector<std::string>& from,
                                        std::vector<double> weights, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      std::discrete_distribution<int> d(weights.begin(), weights.end());
      const int k = d(rng_);
      out.push_back(from[k]);
      weights[k] = 0;
      if (std::all_of(weights.begin(), weights.end(),
                      [](double w) { return w == 0; }))
        break;
    }
    return out;
  }
  std::vector<std::string> UniformPick(const std::vector<std::string>& from,
                                       int n) {
    return WeightedPick(from, std::vector<double>(from.size(), 1), n);
  }
  int Uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::mt19937& rng() { return rng_; }

  int64_t RandomDate() {
    // Many articles share a date, so ties are broken by id.
    if (!dates_.empty() && Chance(0.25))
      return dates_[Uniform(0, static_cast<int>(dates_.size()) - 1)];
    const int64_t d = kEpoch2020 + std::uniform_int_distribution<int64_t>(
                                       0, kFiveYears)(rng_);
    dates_.push_back(d);
    return d;
  }

  std::string RandomCjk(int lo, int hi) {
    std::string out;
    for (int n = Uniform(lo, hi); n > 0; --n)
      out += kCjkPool[Uniform(0, static_cast<int>(kCjkPool.size()) - 1)];
    return out;
  }

  std::string RandomText() {
    std::string out;
    for (int n = Uniform(1, 8); n > 0; --n) {
      if (Chance(0.5)) {
        out += kWords[Uniform(0, static_cast<int>(kWords.size()) - 1)];
      } else {
        out += RandomCjk(1, 6);
      }
      const int sep = Uniform(0, 3);
      out += sep == 0 ? " " : sep == 1 ? "，" : sep == 2 ? "。" : "";
    }
    return out;
  }

  // Query text: a word, a CJK run (random, or cut from an article so it
  // hits), or both.
  std::string RandomQueryText() {
    std::string out;
    if (Chance(0.5))
      out += kWords[Uniform(0, static_cast<int>(kWords.size()) - 1)];
    if (out.empty() || Chance(0.4)) {
      if (!out.empty()) out += " ";
      if (Chance(0.5) && !model_.empty()) {
        auto it = model_.begin();
        std::advance(it, Uniform(0, static_cast<int>(model_.size()) - 1));
        const std::string& body = it->second.body();
        // A run of 1-4 CJK characters (3 bytes each) of the body, if any.
        std::vector<size_t> starts;
        for (size_t i = 0; i + 3 <= body.size(); ++i) {
          if (static_cast<unsigned char>(body[i]) >= 0xe4 &&
              static_cast<unsigned char>(body[i]) <= 0xe9)
            starts.push_back(i);
        }
        if (!starts.empty()) {
          const size_t at =
              starts[Uniform(0, static_cast<int>(starts.size()) - 1)];
          size_t end = at;
          for (int k = Uniform(1, 4);
               k > 0 && end + 3 <= body.size() &&
               static_cast<unsigned char>(body[end]) >= 0xe4 &&
               static_cast<unsigned char>(body[end]) <= 0xe9;
               --k)
            end += 3;
          out += body.substr(at, end - at);
          return out;
        }
      }
      out += RandomCjk(1, 5);
    }
    return out;
  }

  // A publish or expiry time: at one of the query instants, or at the start
  // of its microsecond or of the one before or after; seconds to days
  // either side (any nanosecond); or a time already in use, so that
  // articles share them.
  int64_t RandomScheduleTime() {
    if (!schedule_times_.empty() && Chance(0.15))
      return schedule_times_[Uniform(
          0, static_cast<int>(schedule_times_.size()) - 1)];
    const int64_t ref = Chance(0.5) ? kNow1 : kNow2;
    const int64_t sign = Chance(0.5) ? 1 : -1;
    int64_t t = ref;
    switch (Uniform(0, 5)) {
      case 0:
        break;
      case 1:
        t = ref - ref % 1000 + 1000 * Uniform(-1, 1);
        break;
      case 2:
      case 3:
        t = ref + sign * (int64_t{Uniform(1, 2 * 86400)} * kNanosPerSecond +
                          Uniform(0, 999999999));
        break;
      default:
        t = ref + sign * (int64_t{Uniform(1, 400)} * 86400 * kNanosPerSecond +
                          int64_t{Uniform(0, 86399)} * kNanosPerSecond +
                          Uniform(0, 999999999));
        break;
    }
    schedule_times_.push_back(t);
    return t;
  }

  // Random publish and expiry times (expiry after publish) or none.
  void RandomizeSchedule(Article* a) {
    a->clear_publish_time();
    a->clear_expiry_time();
    int64_t publish = Chance(0.5) ? RandomScheduleTime() : INT64_MIN;
    int64_t expiry = Chance(0.4) ? RandomScheduleTime() : INT64_MIN;
    if (publish != INT64_MIN && expiry != INT64_MIN) {
      if (publish > expiry) std::swap(publish, expiry);
      if (publish == expiry) expiry = INT64_MIN;
    }
    if (publish != INT64_MIN) {
      *a->mutable_publish_time() = NanosTs(publish);
      publish_times_.push_back(publish);
    }
    if (expiry != INT64_MIN) *a->mutable_expiry_time() = NanosTs(expiry);
  }

  Article::State RandomState() {
    // Unspecified and PUBLISHED are both published.
    return static_cast<Article::State>(
        std::discrete_distribution<int>({3, 2, 3, 2})(rng_));
  }

  Article RandomContent(const std::string& title) {
    Article a;
    a.set_title(title);
    a.set_body(absl::StrCat("正文 ", title, " ", RandomText()));
    if (Chance(0.3)) a.set_summary(RandomText());
    for (auto& t : WeightedPick(TagVocabulary(), TagWeights(), Uniform(0, 4)))
      a.add_tags(t);
    for (auto& c : UniformPick(kCategories, Uniform(1, 2))) a.add_categories(c);
    a.add_lang(kLangs[Uniform(0, static_cast<int>(kLangs.size()) - 1)]);
    *a.mutable_date() = Ts(RandomDate());
    if (clock_ != nullptr) {
      a.set_state(RandomState());
      RandomizeSchedule(&a);
    }
    return a;
  }

  std::string NewId() {
    // Ids unrelated to dates or creation order.
    while (true) {
      std::string id = absl::StrCat("a", Uniform(0, 999999));
      if (model_.count(id) == 0) return id;
    }
  }

  // Moves the store's clock on by up to two minutes before a write.
  void Tick() {
    if (clock_ == nullptr) return;
    clock_->fetch_add(int64_t{Uniform(1, 120000)} * 1000000 +
                      Uniform(0, 999999));
  }

  void Create(const std::string& id, const Article& a) {
    Tick();
    absl::StatusOr<Article> r = store_->Create(id, a);
    ASSERT_TRUE(r.ok()) << r.status();
    Record(id, *r);
  }

  // One round of random writes over every article: content updates, state
  // changes, schedule changes, deletes, undeletes and restores.
  void Mutate() {
    for (const std::string& id : Ids()) {
      const Article head = model_[id];
      absl::StatusOr<Article> r = head;
      if (!head.has_delete_time() && Chance(clock_ ? 0.15 : 0.2)) {
        Article next = RandomContent(absl::StrCat("Updated ", id));
        if (Chance(0.5)) *next.mutable_date() = head.date();
        Tick();
        r = store_->Update(id, next, {});
      } else if (clock_ != nullptr && !head.has_delete_time() && Chance(0.2)) {
        // Only the state: the article moves between lists, nothing else.
        Article next = head;
        Article::State st = RandomState();
        while (st == head.state()) st = RandomState();
        next.set_state(st);
        Tick();
        r = store_->Update(id, next, {});
      } else if (clock_ != nullptr && !head.has_delete_time() && Chance(0.15)) {
        Article next = head;
        RandomizeSchedule(&next);
        Tick();
        r = store_->Update(id, next, {});
      } else if (clock_ != nullptr && head.revision() > 1 && Chance(0.1)) {
        // An older revision's content (it undeletes a deleted article).
        const int64_t rev = Uniform(1, static_cast<int>(head.revision()) - 1);
        absl::StatusOr<Article> old = store_->Get(id, rev, true);
        ASSERT_TRUE(old.ok()) << old.status();
        if (!old->has_delete_time()) {
          Tick();
          r = store_->Restore(id, rev, {});
        }
      }
      ASSERT_TRUE(r.ok()) << id << ": " << r.status();
      Record(id, *r);
      if (!model_[id].has_delete_time() && Chance(0.15)) {
        Tick();
        r = store_->Delete(id, {});
        ASSERT_TRUE(r.ok()) << r.status();
        Record(id, *r);
        if (Chance(clock_ ? 0.3 : 0.1)) {
          Tick();
          r = store_->Undelete(id, {});
          ASSERT_TRUE(r.ok()) << r.status();
          Record(id, *r);
        }
      }
    }
  }

  // n articles, then updates, deletes and undeletes (two rounds of them
  // for an editorial corpus).
  void Build(int n) {
    for (int i = 0; i < n; ++i) {
      std::string id = NewId();
      ASSERT_NO_FATAL_FAILURE(
          Create(id, RandomContent(absl::StrCat("Article ", i))));
    }
    ASSERT_NO_FATAL_FAILURE(Mutate());
    if (clock_ != nullptr) ASSERT_NO_FATAL_FAILURE(Mutate());
  }

  std::vector<std::string> Ids() const {
    std::vector<std::string> ids;
    for (const auto& [id, a] : model_) ids.push_back(id);
    return ids;
  }
  const std::map<std::string, Article>& model() const { return model_; }
  const std::vector<int64_t>& dates() const { return dates_; }
  // Writes that moved an article between the published lists and the
  // DRAFT/ARCHIVED ones (deletes and undeletes not counted).
  int moves() const { return moves_; }

  google::protobuf::Timestamp RandomBound() {
    int64_t seconds =
        Chance(0.5) && !dates_.empty()
            ? dates_[Uniform(0, static_cast<int>(dates_.size()) - 1)]
            : kEpoch2020 - 86400 +
                  std::uniform_int_distribution<int64_t>(
                      0, kFiveYears + 2 * 86400)(rng_);
    int32_t nanos = 0;
    const int r = Uniform(0, 9);
    if (r == 0) nanos = 500;        // inside the same microsecond
    if (r == 1) nanos = 999999999;  // just before the next second
    if (r == 2) nanos = 1000;       // one microsecond later
    if (r == 3) seconds -= 1;       // just before a date
    return Ts(seconds, nanos);
  }

  Query RandomQuery() {
    Query q;
    std::vector<double> tag_weights = TagWeights();
    for (double& w : tag_weights) w += 4;  // query rare tags too
    const int ntags = std::discrete_distribution<int>({35, 30, 20, 15})(rng_);
    for (auto& t : WeightedPick(TagVocabulary(), tag_weights, ntags))
      q.add_tags(t);
    if (Chance(0.05)) q.add_tags("nosuchtag");
    q.set_tag_match(static_cast<Query::TagMatch>(Uniform(0, 2)));
    const int ncats = std::discrete_distribution<int>({60, 30, 10})(rng_);
    for (auto& c : UniformPick(kCategories, ncats)) q.add_categories(c);
    const int nlangs = std::discrete_distribution<int>({60, 30, 10})(rng_);
    for (auto& l : UniformPick(kLangs, nlangs)) q.add_langs(l);
    if (Chance(0.35)) *q.mutable_date_from() = RandomBound();
    if (Chance(0.35)) *q.mutable_date_to() = RandomBound();
    if (q.has_date_from() && q.has_date_to()) {
      if (Less(q.date_to(), q.date_from())) {
        google::protobuf::Timestamp t = q.date_to();
        *q.mutable_date_to() = q.date_from();
        *q.mutable_date_from() = t;
      }
      if (!Less(q.date_from(), q.date_to())) q.clear_date_to();
    }
    q.set_order(static_cast<Query::Order>(Uniform(0, 2)));
    q.set_include_deleted(Chance(0.3));
    if (Chance(0.25)) {
      const int nnot = Uniform(1, 2);
      for (auto& t : WeightedPick(TagVocabulary(), tag_weights, nnot))
        q.add_not_tags(t);
    }
    if (Chance(0.3)) q.set_text(RandomQueryText());
    if (Chance(0.2) && !model_.empty()) {
      // Bounds at, just before or just after an update time in use.
      auto pick = [&] {
        auto it = model_.begin();
        std::advance(it, Uniform(0, static_cast<int>(model_.size()) - 1));
        google::protobuf::Timestamp t = it->second.update_time();
        const int r = Uniform(0, 2);
        if (r == 1 && t.nanos() >= 1000) t.set_nanos(t.nanos() - 1000);
        if (r == 2 && t.nanos() < 999998000) t.set_nanos(t.nanos() + 1000);
        return t;
      };
      if (Chance(0.7)) *q.mutable_update_time_from() = pick();
      if (Chance(0.5)) *q.mutable_update_time_to() = pick();
      if (q.has_update_time_from() && q.has_update_time_to() &&
          !Less(q.update_time_from(), q.update_time_to())) {
        q.clear_update_time_to();
      }
    }
    // Visibility and states as validation allows them: DRAFT and ARCHIVED
    // only with VISIBILITY_ALL; repeats are allowed.
    const int vis = std::discrete_distribution<int>({2, 2, 5})(rng_);
    q.set_visibility(vis == 0   ? v1::VISIBILITY_UNSPECIFIED
                     : vis == 1 ? v1::VISIBILITY_LIVE
                                : v1::VISIBILITY_ALL);
    if (Chance(0.4)) {
      for (int n = Uniform(1, 3); n > 0; --n) {
        if (q.visibility() == v1::VISIBILITY_ALL) {
          q.add_states(static_cast<Article::State>(Uniform(0, 3)));
        } else {
          q.add_states(Chance(0.5) ? Article::STATE_UNSPECIFIED
                                   : Article::PUBLISHED);
        }
      }
    }
    if (Chance(0.25)) {
      // Publish-time bounds: at, a nanosecond or a microsecond either side
      // of a publish time in use, or anywhere a schedule time may be.
      auto pick = [&]() -> int64_t {
        if (publish_times_.empty() || Chance(0.3)) return RandomScheduleTime();
        const int64_t t = publish_times_[Uniform(
            0, static_cast<int>(publish_times_.size()) - 1)];
        static constexpr int64_t kShift[] = {0, 0, -1, 1, -1000, 1000};
        return t + kShift[Uniform(0, 5)];
      };
      if (Chance(0.7)) *q.mutable_publish_time_from() = NanosTs(pick());
      if (Chance(0.6)) *q.mutable_publish_time_to() = NanosTs(pick());
      if (q.has_publish_time_from() && q.has_publish_time_to()) {
        if (Less(q.publish_time_to(), q.publish_time_from())) {
          google::protobuf::Timestamp t = q.publish_time_to();
          *q.mutable_publish_time_to() = q.publish_time_from();
          *q.mutable_publish_time_from() = t;
        }
        if (!Less(q.publish_time_from(), q.publish_time_to()))
          q.clear_publish_time_to();
      }
    }
    if (Chance(0.3)) {
      // Publish windows as validation allows them: SCHEDULED and EXPIRED
      // only with VISIBILITY_ALL; beside `states`, those hold PUBLISHED.
      for (int n = Uniform(1, 3); n > 0; --n) {
        q.add_windows(q.visibility() == v1::VISIBILITY_ALL
                          ? static_cast<Query::PublishWindow>(Uniform(1, 3))
                          : Query::PUBLISH_WINDOW_LIVE);
      }
      if (q.states_size() > 0 &&
          std::none_of(q.states().begin(), q.states().end(), [](int st) {
            return st == Article::STATE_UNSPECIFIED || st == Article::PUBLISHED;
          }))
        q.add_states(Article::PUBLISHED);
    }
    return q;
  }

 private:
  static bool Published(const Article& a) {
    return a.state() == Article::STATE_UNSPECIFIED ||
           a.state() == Article::PUBLISHED;
  }
  void Record(const std::string& id, const Article& a) {
    auto it = model_.find(id);
    if (it != model_.end() && it->second.revision() != a.revision() &&
        Published(it->second) != Published(a))
      ++moves_;
    model_[id] = a;
  }

  Store* store_;
  std::mt19937 rng_;
  std::atomic<int64_t>* const clock_;
  std::map<std::string, Article> model_;
  std::vector<int64_t> dates_;
  std::vector<int64_t> schedule_times_;
  std::vector<int64_t> publish_times_;
  int moves_ = 0;
};

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// Whether readers see an article's content at `now`, as docs/design.md
// states it (written here, not taken from store::IsLive): state PUBLISHED
// or unspecified, publish_time unset or <= now (and, for a tombstone, <=
// its delete_time: one deleted while embargoed was never public),
// expiry_time unset or > now.
bool LiveContentAt(const Article& a, const google::protobuf::Timestamp& now) {
  if (a.state() != Article::STATE_UNSPECIFIED &&
      a.state() != Article::PUBLISHED)
    return false;
  if (a.has_publish_time() && Less(now, a.publish_time())) return false;
  if (a.has_publish_time() && a.has_delete_time() &&
      Less(a.delete_time(), a.publish_time()))
    return false;
  if (a.has_expiry_time() && !Less(now, a.expiry_time())) return false;
  return true;
}

// Where `now` falls in a published article's window, as Query.windows
// defines it (written here, not taken from store::PublishWindowOf).
Query::PublishWindow WindowAt(const Article& a,
                              const google::protobuf::Timestamp& now) {
  if (LiveContentAt(a, now)) return Query::PUBLISH_WINDOW_LIVE;
  if (a.has_publish_time() &&
      (Less(now, a.publish_time()) ||
       (a.has_delete_time() && Less(a.delete_time(), a.publish_time()))))
    return Query::PUBLISH_WINDOW_SCHEDULED;
  return Query::PUBLISH_WINDOW_EXPIRED;
}

// `q.windows` at `now`: published articles by their window; others only
// when `states` names theirs.
bool InWindowsAt(const Query& q, const Article& a,
                 const google::protobuf::Timestamp& now) {
  if (q.windows_size() == 0) return true;
  if (a.state() != Article::STATE_UNSPECIFIED &&
      a.state() != Article::PUBLISHED)
    return q.states_size() > 0;  // Matches checked the state is listed
  const Query::PublishWindow w = WindowAt(a, now);
  return std::find(q.windows().begin(), q.windows().end(), w) !=
         q.windows().end();
}

// Every condition of `q` except visibility and windows (see Oracle).
bool Matches(const Query& q, const Article& a) {
  if (a.has_delete_time() && !q.include_deleted()) return false;
  if (q.states_size() > 0) {
    auto norm = [](int s) {
      return s == Article::STATE_UNSPECIFIED ? Article::PUBLISHED : s;
    };
    bool any = false;
    for (int s : q.states()) any = any || norm(s) == norm(a.state());
    if (!any) return false;
  }
  if (q.has_publish_time_from() || q.has_publish_time_to()) {
    if (!a.has_publish_time()) return false;
    if (q.has_publish_time_from() &&
        Less(a.publish_time(), q.publish_time_from()))
      return false;
    if (q.has_publish_time_to() && !Less(a.publish_time(), q.publish_time_to()))
      return false;
  }
  auto has = [](const auto& list, const std::string& v) {
    return std::find(list.begin(), list.end(), v) != list.end();
  };
  if (q.tags_size() > 0) {
    if (q.tag_match() == Query::TAG_MATCH_ALL) {
      for (const std::string& t : q.tags())
        if (!has(a.tags(), t)) return false;
    } else {
      bool any = false;
      for (const std::string& t : q.tags()) any = any || has(a.tags(), t);
      if (!any) return false;
    }
  }
  if (q.categories_size() > 0) {
    bool any = false;
    for (const std::string& c : q.categories())
      any = any || has(a.categories(), c);
    if (!any) return false;
  }
  if (q.langs_size() > 0) {
    bool any = false;
    for (const std::string& l : q.langs()) {
      for (const std::string& h : a.lang())
        any =
            any || absl::EqualsIgnoreCase(absl::StrReplaceAll(h, {{"_", "-"}}),
                                          absl::StrReplaceAll(l, {{"_", "-"}}));
    }
    if (!any) return false;
  }
  if (q.has_date_from() && Less(a.date(), q.date_from())) return false;
  if (q.has_date_to() && !Less(a.date(), q.date_to())) return false;
  for (const std::string& t : q.not_tags())
    if (has(a.tags(), t)) return false;
  if (q.has_update_time_from() && Less(a.update_time(), q.update_time_from()))
    return false;
  if (q.has_update_time_to() && !Less(a.update_time(), q.update_time_to()))
    return false;
  // Text by the token-list check, not the index or the string search the
  // engine uses.
  if (!q.text().empty() && !text::TextMatcher(q.text()).MatchesTokens(
                               text::Tokenize(text::SearchableText(a))))
    return false;
  return true;
}

// What visibility did to one query (for the generator's coverage checks).
struct VisibilityStats {
  // Articles that matched everything else but were left out because they
  // were not live: published ones (by their times), and drafts or archived.
  int hidden_by_time = 0;
  int hidden_by_state = 0;
  // Articles returned that readers would not see (at VISIBILITY_ALL).
  int shown_not_live = 0;
};

// Ids the query selects at `now` (Unix nanoseconds), in its order: (date
// desc, id asc) newest first and exactly reversed oldest first. A deleted
// article's visibility is that of its tombstone's content.
std::vector<std::string> Oracle(const Query& q,
                                const std::map<std::string, Article>& model,
                                int64_t now = kNow1,
                                VisibilityStats* stats = nullptr) {
  VisibilityStats unused;
  if (stats == nullptr) stats = &unused;
  const google::protobuf::Timestamp now_ts = NanosTs(now);
  const bool live_only = q.visibility() != v1::VISIBILITY_ALL;
  std::vector<std::pair<int64_t, std::string>> hits;
  for (const auto& [id, a] : model) {
    if (!Matches(q, a) || !InWindowsAt(q, a, now_ts)) continue;
    const bool live = LiveContentAt(a, now_ts);
    if (live_only && !live) {
      if (a.state() == Article::DRAFT || a.state() == Article::ARCHIVED) {
        ++stats->hidden_by_state;
      } else {
        ++stats->hidden_by_time;
      }
      continue;
    }
    if (!live) ++stats->shown_not_live;
    hits.emplace_back(Micros(a.date()), id);
  }
  std::sort(hits.begin(), hits.end(), [](const auto& x, const auto& y) {
    if (x.first != y.first) return x.first > y.first;
    return x.second < y.second;
  });
  if (q.order() == Query::ORDER_OLDEST_FIRST)
    std::reverse(hits.begin(), hits.end());
  std::vector<std::string> ids;
  for (auto& h : hits) ids.push_back(std::move(h.second));
  return ids;
}

std::string Describe(const Query& q) { return q.ShortDebugString(); }

// The same page asked for as stored bytes (QueryOptions::raw) holds the same
// articles, the same token and total, and nothing decoded.
void ExpectRawPageMatches(const Store& store, const Query& q, int page_size,
                          const std::string& token, const QueryPage& decoded) {
  QueryOptions o;
  o.page_size = page_size;
  o.page_token = token;
  o.raw = true;
  absl::StatusOr<QueryPage> raw = RunQuery(store, q, o);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_TRUE(raw->articles.empty());
  ASSERT_EQ(raw->raw_articles.size(), decoded.articles.size());
  for (size_t i = 0; i < decoded.articles.size(); ++i) {
    Article a;
    ASSERT_TRUE(a.ParseFromString(raw->raw_articles[i]));
    EXPECT_TRUE(MessageDifferencer::Equals(a, decoded.articles[i]))
        << a.ShortDebugString();
  }
  EXPECT_EQ(raw->next_page_token, decoded.next_page_token);
  EXPECT_EQ(raw->total_size, decoded.total_size);
}

// Every article of `q`, walking all pages with page sizes from `rng`.
// Checks each page's shape on the way.
std::vector<Article> WalkAll(const Store& store, const Query& q,
                             std::mt19937& rng, int64_t expected_total) {
  std::vector<Article> out;
  std::string token;
  bool first = true;
  for (int pages = 0; pages < 100000; ++pages) {
    const int page_size = std::uniform_int_distribution<int>(1, 50)(rng);
    absl::StatusOr<QueryPage> page = RunQuery(store, q, page_size, token);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    ExpectRawPageMatches(store, q, page_size, token, *page);
    EXPECT_LE(static_cast<int>(page->articles.size()), page_size);
    if (!page->next_page_token.empty()) {
      // Pages are full unless they are the last.
      EXPECT_EQ(static_cast<int>(page->articles.size()), page_size);
      EXPECT_GT(page->total_size, static_cast<int64_t>(page->articles.size()));
    } else if (first) {
      EXPECT_EQ(page->total_size, expected_total);
    }
    first = false;
    for (Article& a : page->articles) out.push_back(std::move(a));
    if (page->next_page_token.empty()) break;
    token = page->next_page_token;
  }
  return out;
}

class QueryOracleTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  // Generator coverage, summed over both instants.
  struct Coverage {
    int queries = 0;
    int nonempty = 0;
    int text_hits = 0, not_hits = 0, update_hits = 0, coincidences = 0;
    int all_hits = 0;            // nonempty at VISIBILITY_ALL
    int unpublished_hits = 0;    // returned a DRAFT or ARCHIVED article
    int state_hits = 0;          // nonempty with `states`
    int publish_range_hits = 0;  // nonempty with a publish-time bound
    int window_hits = 0;         // nonempty with `windows`
    int scheduled_hits = 0;      // ... returning a scheduled article
    int expired_hits = 0;        // ... or an expired one
    int expired_alone_hits = 0;  // ... asking for EXPIRED alone (its list)
    int deleted_hits = 0;        // returned a tombstone
    int hidden_by_time = 0;      // queries that left out a scheduled/expired
    int hidden_by_state = 0;     // ... or a draft/archived article
    int shown_not_live = 0;      // ALL queries that returned a non-live one
    int mismatches = 0;
  };

  // Runs `n` random queries with the store's clock standing at `now` and
  // compares every page walk with the oracle.
  void RunQueries(Store& store, Corpus& corpus, std::atomic<int64_t>& clock,
                  int64_t now, int n, Coverage* cov) {
    clock.store(now);
    // Text terms of every head, to count bigram coincidences below.
    std::map<std::string, std::vector<std::string>> terms;
    for (const auto& [id, a] : corpus.model())
      terms[id] = text::ArticleTerms(a);
    for (int i = 0; i < n && cov->mismatches < 5; ++i) {
      const Query q = corpus.RandomQuery();
      VisibilityStats vs;
      const std::vector<std::string> want = Oracle(q, corpus.model(), now, &vs);
      ++cov->queries;
      if (!want.empty()) {
        ++cov->nonempty;
        if (!q.text().empty()) ++cov->text_hits;
        if (q.not_tags_size() > 0) ++cov->not_hits;
        if (q.has_update_time_from() || q.has_update_time_to())
          ++cov->update_hits;
        if (q.visibility() == v1::VISIBILITY_ALL) ++cov->all_hits;
        if (q.states_size() > 0) ++cov->state_hits;
        if (q.has_publish_time_from() || q.has_publish_time_to())
          ++cov->publish_range_hits;
        if (q.windows_size() > 0) {
          ++cov->window_hits;
          bool scheduled = false, expired = false;
          for (const std::string& id : want) {
            const Article& a = corpus.model().at(id);
            if (a.state() == Article::DRAFT || a.state() == Article::ARCHIVED)
              continue;
            const Query::PublishWindow w = WindowAt(a, NanosTs(now));
            scheduled = scheduled || w == Query::PUBLISH_WINDOW_SCHEDULED;
            expired = expired || w == Query::PUBLISH_WINDOW_EXPIRED;
          }
          if (scheduled) ++cov->scheduled_hits;
          if (expired) ++cov->expired_hits;
          // What the engine reads from the expiry list (WindowOnly).
          if (!q.include_deleted() &&
              std::all_of(
                  q.windows().begin(), q.windows().end(),
                  [](int w) { return w == Query::PUBLISH_WINDOW_EXPIRED; }) &&
              std::none_of(q.states().begin(), q.states().end(), [](int st) {
                return st == Article::DRAFT || st == Article::ARCHIVED;
              }))
            ++cov->expired_alone_hits;
        }
      }
      if (vs.hidden_by_time > 0) ++cov->hidden_by_time;
      if (vs.hidden_by_state > 0) ++cov->hidden_by_state;
      if (vs.shown_not_live > 0) ++cov->shown_not_live;
      if (!q.text().empty()) {
        // Articles holding every term of the text without matching it: the
        // index alone would have returned them.
        const text::TextMatcher m(q.text());
        for (const auto& [id, a] : corpus.model()) {
          const std::vector<std::string>& have = terms[id];
          if (std::all_of(m.terms().begin(), m.terms().end(),
                          [&](const std::string& t) {
                            return std::binary_search(have.begin(), have.end(),
                                                      t);
                          }) &&
              !m.MatchesTokens(text::Tokenize(text::SearchableText(a))))
            ++cov->coincidences;
        }
      }
      const std::vector<Article> got =
          WalkAll(store, q, corpus.rng(), static_cast<int64_t>(want.size()));
      std::vector<std::string> got_ids;
      bool unpublished = false, deleted = false;
      for (const Article& a : got) {
        got_ids.push_back(IdOf(a));
        // Each result is the head revision (the tombstone if deleted).
        auto it = corpus.model().find(IdOf(a));
        if (it == corpus.model().end()) {
          ADD_FAILURE() << "unknown article " << a.name();
          continue;
        }
        EXPECT_EQ(a.revision(), it->second.revision()) << a.name();
        EXPECT_EQ(a.has_delete_time(), it->second.has_delete_time())
            << a.name();
        unpublished = unpublished || a.state() == Article::DRAFT ||
                      a.state() == Article::ARCHIVED;
        deleted = deleted || a.has_delete_time();
      }
      if (unpublished) ++cov->unpublished_hits;
      if (deleted) ++cov->deleted_hits;
      if (got_ids != want) {
        ADD_FAILURE() << "query " << i << " at " << NanosTs(now).DebugString()
                      << ": " << Describe(q) << "\n  want " << want.size()
                      << ": " << absl::StrJoin(want, ",") << "\n  got  "
                      << got_ids.size() << ": " << absl::StrJoin(got_ids, ",");
        ++cov->mismatches;  // five are enough to debug with
      }
    }
  }

  // The model is what the store holds.
  static void CheckModel(Store& store, const Corpus& corpus) {
    for (const auto& [id, a] : corpus.model()) {
      absl::StatusOr<Article> head = store.Get(id, 0, true);
      ASSERT_TRUE(head.ok()) << head.status();
      ASSERT_EQ(head->SerializeAsString(), a.SerializeAsString());
    }
  }
};

// An editorial corpus (random states, publish and expiry times around two
// fixed instants, state changes that move articles between lists, deletes,
// undeletes, restores) queried with the store's clock standing at the first
// instant, then written to again and queried at the second, three days
// later: scheduled articles have come up and others expired without any
// write. Every query walks all its pages and must give the oracle's ids in
// the oracle's order.
TEST_P(QueryOracleTest, RandomQueriesMatchBruteForce) {
  std::atomic<int64_t> clock{kNow1 - int64_t{2} * 86400 * kNanosPerSecond};
  TempStore ts([&clock] { return absl::FromUnixNanos(clock.load()); });
  Corpus corpus(&ts.store(), GetParam(), &clock);
  ASSERT_NO_FATAL_FAILURE(corpus.Build(300));
  ASSERT_LT(clock.load(), kNow1);
  ASSERT_NO_FATAL_FAILURE(CheckModel(ts.store(), corpus));

  constexpr int kQueriesPerInstant = 1500;
  Coverage cov;
  RunQueries(ts.store(), corpus, clock, kNow1, kQueriesPerInstant, &cov);
  if (cov.mismatches > 0) return;

  // Articles whose liveness the clock alone changes between the instants,
  // and times at most a microsecond from an instant.
  int flips = 0, near = 0;
  for (const auto& [id, a] : corpus.model()) {
    if (LiveContentAt(a, NanosTs(kNow1)) != LiveContentAt(a, NanosTs(kNow2)))
      ++flips;
    for (int64_t now : {kNow1, kNow2}) {
      if (a.has_publish_time() &&
          std::abs(NanosOf(a.publish_time()) - now) <= 1000)
        ++near;
      if (a.has_expiry_time() &&
          std::abs(NanosOf(a.expiry_time()) - now) <= 1000)
        ++near;
    }
  }
  EXPECT_GT(flips, 10);
  EXPECT_GT(near, 10);

  clock.store(kNow1 + 1000);
  ASSERT_NO_FATAL_FAILURE(corpus.Mutate());
  ASSERT_LT(clock.load(), kNow2);
  ASSERT_NO_FATAL_FAILURE(CheckModel(ts.store(), corpus));
  RunQueries(ts.store(), corpus, clock, kNow2, kQueriesPerInstant, &cov);
  if (cov.mismatches > 0) return;

  // The generator must produce interesting queries, not only empty ones.
  EXPECT_GT(corpus.moves(), 100);
  EXPECT_GT(cov.nonempty, cov.queries / 2);
  EXPECT_GT(cov.text_hits, 100);
  EXPECT_GT(cov.not_hits, 100);
  EXPECT_GT(cov.update_hits, 50);
  EXPECT_GT(cov.coincidences, 20);
  EXPECT_GT(cov.all_hits, 500);
  EXPECT_GT(cov.unpublished_hits, 300);
  EXPECT_GT(cov.state_hits, 300);
  EXPECT_GT(cov.publish_range_hits, 150);
  EXPECT_GT(cov.window_hits, 300);
  EXPECT_GT(cov.scheduled_hits, 60);
  EXPECT_GT(cov.expired_hits, 60);
  EXPECT_GT(cov.expired_alone_hits, 5);
  EXPECT_GT(cov.deleted_hits, 200);
  EXPECT_GT(cov.hidden_by_time, 300);
  EXPECT_GT(cov.hidden_by_state, 300);
  EXPECT_GT(cov.shown_not_live, 300);
  std::cout << "coverage: queries " << cov.queries << ", nonempty "
            << cov.nonempty << ", text " << cov.text_hits << ", not "
            << cov.not_hits << ", update " << cov.update_hits
            << ", coincidences " << cov.coincidences << ", all " << cov.all_hits
            << ", unpublished " << cov.unpublished_hits << ", states "
            << cov.state_hits << ", publish range " << cov.publish_range_hits
            << ", windows " << cov.window_hits << " (scheduled "
            << cov.scheduled_hits << ", expired " << cov.expired_hits
            << ", expired alone " << cov.expired_alone_hits << ")"
            << ", deleted " << cov.deleted_hits << ", hidden by time "
            << cov.hidden_by_time << ", by state " << cov.hidden_by_state
            << ", shown not live " << cov.shown_not_live << ", moves "
            << corpus.moves() << ", flips " << flips << ", near " << near
            << "\n";
}

INSTANTIATE_TEST_SUITE_P(Seeds, QueryOracleTest,
                         ::testing::Values(1u, 20240607u, 987654321u));

// ---- Specific cases
// ----------------------------------------------------------

class QueryTest : public ::testing::Test {
 protected:
  Article Create(const std::string& id, std::vector<std::string> tags,
                 google::protobuf::Timestamp date, bool deleted = false) {
    Article a;
    a.set_title(id);
    for (auto& t : tags) a.add_tags(t);
    a.add_lang("en");
    *a.mutable_date() = date;
    absl::StatusOr<Article> r = ts_.store().Create(id, a);
    EXPECT_TRUE(r.ok()) << r.status();
    if (deleted) {
      r = ts_.store().Delete(id, {});
      EXPECT_TRUE(r.ok()) << r.status();
    }
    return r.ok() ? *r : Article();
  }

  std::vector<std::string> Ids(const Query& q, int page_size = 1000) {
    std::vector<std::string> ids;
    std::string token;
    do {
      absl::StatusOr<QueryPage> page =
          RunQuery(ts_.store(), q, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const Article& a : page->articles) ids.push_back(IdOf(a));
      token = page->next_page_token;
    } while (!token.empty());
    return ids;
  }

  // `id` is the one article a tag query and a category query find, for
  // each of `spellings`; the store is consistent.
  void ExpectFoundByEachSpelling(const std::string& id,
                                 const std::vector<std::string>& spellings) {
    for (const std::string& spelling : spellings) {
      SCOPED_TRACE(absl::CEscape(spelling));
      Query tag;
      tag.add_tags(spelling);
      EXPECT_THAT(Ids(tag), ElementsAre(id));
      Query category;
      category.add_categories(spelling);
      EXPECT_THAT(Ids(category), ElementsAre(id));
    }
    absl::StatusOr<store::FsckReport> report = store::CheckStore(ts_.store());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->clean()) << report->ToString();
  }

  TempStore ts_;
};

TEST_F(QueryTest, EmptyStoreAndEmptyResults) {
  Query q;
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->articles.empty());
  EXPECT_TRUE(page->next_page_token.empty());
  EXPECT_EQ(page->total_size, 0);
  Create("x", {"a"}, Ts(kEpoch2020));
  q.add_tags("b");
  page = RunQuery(ts_.store(), q, 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->articles.empty());
  EXPECT_EQ(page->total_size, 0);
}

// Tags and categories are stored in NFC (the service normalizes writes),
// and a query's are normalized alike: "café" composed (U+00E9) and
// decomposed (e + U+0301) find the same articles, in every kind of tag
// filter. Case is kept: `AI` finds no `ai`.
TEST_F(QueryTest, TagsAndCategoriesMatchInEitherUnicodeSpelling) {
  const std::string composed = "caf\xC3\xA9";
  const std::string decomposed = "cafe\xCC\x81";
  Article a;
  a.set_title("nfc");
  a.add_tags(composed);
  a.add_tags("ai");
  a.add_categories(composed);
  *a.mutable_date() = Ts(kEpoch2020);
  ASSERT_TRUE(ts_.store().Create("nfc", a).ok());
  Create("nfc2", {"ai", composed}, Ts(kEpoch2020 - 1));
  Create("other", {"ai"}, Ts(kEpoch2020 - 2));
  for (const std::string& spelling : {composed, decomposed}) {
    SCOPED_TRACE(absl::CEscape(spelling));
    Query any;
    any.add_tags(spelling);
    EXPECT_THAT(Ids(any), ElementsAre("nfc", "nfc2"));
    Query all;
    all.add_tags("ai");
    all.add_tags(spelling);
    all.set_tag_match(Query::TAG_MATCH_ALL);
    EXPECT_THAT(Ids(all), ElementsAre("nfc", "nfc2"));
    Query category;
    category.add_categories(spelling);
    EXPECT_THAT(Ids(category), ElementsAre("nfc"));
    Query without;
    without.add_tags("ai");
    without.add_not_tags(spelling);
    EXPECT_THAT(Ids(without), ElementsAre("other"));
    // A page token serves the other spelling of the same query.
    absl::StatusOr<QueryPage> first = RunQuery(ts_.store(), all, 1, "");
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_FALSE(first->next_page_token.empty());
    all.set_tags(1, spelling == composed ? decomposed : composed);
    absl::StatusOr<QueryPage> second =
        RunQuery(ts_.store(), all, 1, first->next_page_token);
    ASSERT_TRUE(second.ok()) << second.status();
    ASSERT_EQ(second->articles.size(), 1u);
    EXPECT_EQ(IdOf(second->articles[0]), "nfc2");
  }
  Query upper;
  upper.add_tags("AI");
  EXPECT_THAT(Ids(upper), ::testing::IsEmpty());
}

// Stores written before tags were normalized hold them as written. Such an
// article's index entries match its head, so a check finds nothing wrong.
TEST_F(QueryTest, TagsStoredDecomposedAreNoCorruption) {
  Create("old", {"cafe\xCC\x81"}, Ts(kEpoch2020));
  absl::StatusOr<store::FsckReport> report = store::CheckStore(ts_.store());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
}

// Restore stores the revision's tags and categories in NFC, as a write
// does: a revision written before tags were normalized (here straight into
// the store, which the service's normalization does not pass) comes back
// composed, so queries in either spelling find it. Of two spellings of one
// term the first is kept. A head that holds the same content normalized is
// returned unchanged.
TEST_F(QueryTest, RestoreStoresTagsAndCategoriesInNfc) {
  const std::string composed = "caf\xC3\xA9";
  const std::string decomposed = "cafe\xCC\x81";
  Article old;
  old.set_title("old");
  old.add_tags(decomposed);
  old.add_tags("ai");
  old.add_tags(composed);
  old.add_categories(decomposed);
  *old.mutable_date() = Ts(kEpoch2020);
  ASSERT_TRUE(ts_.store().Create("old", old).ok());
  Article other = old;
  other.clear_tags();
  other.add_tags("ai");
  other.clear_categories();
  ASSERT_TRUE(ts_.store().Update("old", other, {}).ok());

  absl::StatusOr<Article> restored = ts_.store().Restore("old", 1, {});
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->revision(), 3);
  EXPECT_THAT(restored->tags(), ElementsAre(composed, "ai"));
  EXPECT_THAT(restored->categories(), ElementsAre(composed));
  absl::StatusOr<Article> head = ts_.store().Get("old", 0, false);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_THAT(head->tags(), ElementsAre(composed, "ai"));
  EXPECT_THAT(head->categories(), ElementsAre(composed));
  ExpectFoundByEachSpelling("old", {composed, decomposed});

  // Revision 1 normalized is the head's content: nothing new is written.
  restored = ts_.store().Restore("old", 1, {});
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->revision(), 3);
}

// An article deleted while it held a decomposed tag (written before terms
// were stored in NFC) comes back with its terms in NFC, found by either
// spelling.
TEST_F(QueryTest, UndeleteStoresTagsAndCategoriesInNfc) {
  const std::string composed = "caf\xC3\xA9";
  const std::string decomposed = "cafe\xCC\x81";
  Article old;
  old.set_title("old");
  old.add_tags(decomposed);
  old.add_tags(composed);
  old.add_tags("ai");
  old.add_categories(decomposed);
  *old.mutable_date() = Ts(kEpoch2020);
  ASSERT_TRUE(ts_.store().Create("old", old).ok());
  ASSERT_TRUE(ts_.store().Delete("old", {}).ok());

  absl::StatusOr<Article> back = ts_.store().Undelete("old", {});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_THAT(back->tags(), ElementsAre(composed, "ai"));
  EXPECT_THAT(back->categories(), ElementsAre(composed));
  absl::StatusOr<Article> head = ts_.store().Get("old", 0, false);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_THAT(head->tags(), ElementsAre(composed, "ai"));
  ExpectFoundByEachSpelling("old", {composed, decomposed});
}

// An update that keeps an article's tags, language and date leaves their
// postings naming revision 1 (keys.h); queries still return the head, in
// pages, raw or decoded, through one list or an AND of two, with facets.
TEST_F(QueryTest, EntriesAnUpdateKeptStillReturnTheHead) {
  Create("kept", {"t", "u"}, Ts(kEpoch2020));
  Create("other", {"t"}, Ts(kEpoch2020 - 1));
  absl::StatusOr<Article> head = ts_.store().Get("kept", 0, false);
  ASSERT_TRUE(head.ok()) << head.status();
  for (int edit = 1; edit <= 2; ++edit) {
    Article next = *head;
    next.set_body(absl::StrCat("edit ", edit));
    head = ts_.store().Update("kept", next, {});
    ASSERT_TRUE(head.ok()) << head.status();
  }
  ASSERT_EQ(head->revision(), 3);
  for (bool raw : {false, true}) {
    for (const std::vector<std::string>& tags :
         {std::vector<std::string>{"t"}, std::vector<std::string>{"t", "u"}}) {
      SCOPED_TRACE(absl::StrCat(raw ? "raw " : "", absl::StrJoin(tags, "+")));
      Query q;
      for (const std::string& t : tags) q.add_tags(t);
      QueryOptions options;
      options.page_size = 1;
      options.raw = raw;
      options.facets = {v1::FACET_FIELD_TAGS};
      absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, options);
      ASSERT_TRUE(page.ok()) << page.status();
      Article got;
      if (raw) {
        ASSERT_EQ(page->raw_articles.size(), 1u);
        ASSERT_TRUE(got.ParseFromString(page->raw_articles[0]));
      } else {
        ASSERT_EQ(page->articles.size(), 1u);
        got = page->articles[0];
      }
      EXPECT_EQ(IdOf(got), "kept");
      EXPECT_EQ(got.revision(), 3);
      EXPECT_EQ(got.body(), "edit 2");
      ASSERT_EQ(page->facets.size(), 1u);
      EXPECT_GT(page->facets[0].values_size(), 0);
    }
  }
}

TEST_F(QueryTest, TiesOnDateBreakByIdBothWays) {
  for (const char* id : {"m", "b", "z", "a"}) Create(id, {"t"}, Ts(kEpoch2020));
  Create("new", {"t"}, Ts(kEpoch2020 + 1));
  Create("old", {"t"}, Ts(kEpoch2020 - 1));
  Query q;
  q.add_tags("t");
  const std::vector<std::string> newest = {"new", "a", "b", "m", "z", "old"};
  EXPECT_EQ(Ids(q), newest);
  EXPECT_EQ(Ids(q, 1), newest);
  q.set_order(Query::ORDER_OLDEST_FIRST);
  const std::vector<std::string> oldest(newest.rbegin(), newest.rend());
  EXPECT_EQ(Ids(q), oldest);
  EXPECT_EQ(Ids(q, 2), oldest);
}

TEST_F(QueryTest, DateBoundsAreExactBelowOneMicrosecond) {
  // The index keeps microseconds; query bounds may carry nanoseconds.
  Create("t0", {"x"}, Ts(kEpoch2020, 0));
  Create("t1us", {"x"}, Ts(kEpoch2020, 1000));
  Create("before", {"x"}, Ts(kEpoch2020 - 1, 999999000));
  Query q;
  *q.mutable_date_from() = Ts(kEpoch2020, 500);  // after t0, before t1us
  EXPECT_EQ(Ids(q), std::vector<std::string>({"t1us"}));
  q.clear_date_from();
  *q.mutable_date_to() = Ts(kEpoch2020, 500);  // t0 < to
  EXPECT_EQ(Ids(q), std::vector<std::string>({"t0", "before"}));
  *q.mutable_date_from() = Ts(kEpoch2020, 0);
  *q.mutable_date_to() = Ts(kEpoch2020, 1);  // [t0, t0 + 1ns) holds t0
  EXPECT_EQ(Ids(q), std::vector<std::string>({"t0"}));
  *q.mutable_date_from() = Ts(kEpoch2020 - 1, 999999001);
  *q.mutable_date_to() = Ts(kEpoch2020, 0);  // nothing: `before` is earlier
  EXPECT_TRUE(Ids(q).empty());
}

TEST_F(QueryTest, PagesEndEarlyAtTheByteBoundAndLoseNothing) {
  for (int i = 0; i < 10; ++i) {
    Article a;
    a.set_title(absl::StrCat("big", i));
    a.add_tags("big");
    *a.mutable_date() = Ts(kEpoch2020 + i);
    a.set_body(std::string(100 << 10, static_cast<char>('a' + i)));
    ASSERT_TRUE(ts_.store().Create(absl::StrCat("big", i), a).ok());
  }
  Query q;
  q.add_tags("big");
  for (bool raw : {true, false}) {
    SCOPED_TRACE(raw ? "raw" : "decoded");
    QueryOptions options;
    options.page_size = 20;
    options.raw = raw;
    options.max_page_bytes = 250 << 10;
    std::vector<std::string> ids;
    std::vector<size_t> sizes;
    do {
      absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, options);
      ASSERT_TRUE(page.ok()) << page.status();
      const size_t n = raw ? page->raw_articles.size() : page->articles.size();
      sizes.push_back(n);
      for (size_t i = 0; i < n; ++i) {
        Article a = page->articles.empty() ? Article() : page->articles[i];
        if (raw) ASSERT_TRUE(a.ParseFromString(page->raw_articles[i]));
        ids.push_back(IdOf(a));
      }
      options.page_token = page->next_page_token;
    } while (!options.page_token.empty());
    // Three 100 KiB articles pass 250 KiB: pages of 3, 3, 3 and 1, newest
    // first, each article once.
    EXPECT_THAT(sizes, ElementsAre(3, 3, 3, 1));
    std::vector<std::string> want;
    for (int i = 9; i >= 0; --i) want.push_back(absl::StrCat("big", i));
    EXPECT_EQ(ids, want);
    // One article larger than the bound still makes a page.
    options.page_token.clear();
    options.max_page_bytes = 1;
    absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, options);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(raw ? page->raw_articles.size() : page->articles.size(), 1u);
    EXPECT_FALSE(page->next_page_token.empty());
  }
}

TEST_F(QueryTest, TotalSizeIsExactOnASinglePage) {
  for (int i = 0; i < 30; ++i)
    Create(absl::StrCat("a", i),
           i % 3 == 0 ? std::vector<std::string>{"x"}
                      : std::vector<std::string>{"y"},
           Ts(kEpoch2020 + i), /*deleted=*/i % 5 == 0);
  Query q;
  q.add_tags("x");
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 50, "");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->next_page_token.empty());
  EXPECT_EQ(page->total_size, 8);  // 10 with x, 2 of them deleted
  q.set_include_deleted(true);
  page = RunQuery(ts_.store(), q, 10, "");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->next_page_token.empty());
  EXPECT_EQ(page->total_size, 10);
  page = RunQuery(ts_.store(), q, 4, "");
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->next_page_token.empty());
  EXPECT_GE(page->total_size, 5);
}

// A first page of a date-range query that goes on says about as many as
// the range holds, not as its lists hold: "about 60" of a tag whose 60
// articles span two months, for the 10 days asked, was what it said. The
// page's matches are spread at their rate to the range's far end, newest
// first and oldest first; the last page is exact, as before.
TEST_F(QueryTest, AFirstPageEstimatesTheDateRangeNotTheWholeList) {
  constexpr int64_t kDay = 86400;
  for (int d = 0; d < 60; ++d)
    Create(absl::StrCat("d", d), {"t"}, Ts(kEpoch2020 + d * kDay + kDay / 2));
  Query q;
  q.add_tags("t");
  *q.mutable_date_from() = Ts(kEpoch2020 + 20 * kDay);
  *q.mutable_date_to() = Ts(kEpoch2020 + 30 * kDay);  // days 20-29: 10
  for (const bool oldest_first : {false, true}) {
    SCOPED_TRACE(oldest_first ? "oldest first" : "newest first");
    q.set_order(oldest_first ? Query::ORDER_OLDEST_FIRST
                             : Query::ORDER_NEWEST_FIRST);
    absl::StatusOr<QueryPage> first = RunQuery(ts_.store(), q, 3, "");
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_FALSE(first->next_page_token.empty());
    EXPECT_GE(first->total_size, 9);
    EXPECT_LE(first->total_size, 12);
    EXPECT_EQ(Ids(q, 3).size(), 10u);
  }
  // Without a bound on the far side the list's count stands (an upper
  // bound), as it does for a page that spans one instant.
  q.clear_date_from();
  q.set_order(Query::ORDER_NEWEST_FIRST);
  absl::StatusOr<QueryPage> open = RunQuery(ts_.store(), q, 3, "");
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(open->total_size, 60);
}

// The last page of a walk knows the result: what its pages returned (the
// token counts them). The lists' estimate ignores the date range and the
// filters no list answers: the last page said 34 (the tag's list) or 59
// (every article) of a walk that returned 5, and contentctl printed `total:
// about 34 articles (1 on this page)` with no page to follow.
TEST_F(QueryTest, TotalSizeIsExactOnTheLastPageOfAWalk) {
  for (int i = 0; i < 30; ++i)
    Create(absl::StrCat("a", i), {"x"}, Ts(kEpoch2020 + i * 3600),
           /*deleted=*/i == 11);
  Query tag_and_dates;
  tag_and_dates.add_tags("x");
  *tag_and_dates.mutable_date_from() = Ts(kEpoch2020 + 10 * 3600);
  *tag_and_dates.mutable_date_to() = Ts(kEpoch2020 + 16 * 3600);
  Query dates_only;  // the list of every article
  *dates_only.mutable_date_from() = Ts(kEpoch2020 + 10 * 3600);
  *dates_only.mutable_date_to() = Ts(kEpoch2020 + 16 * 3600);
  Query all_of_two_tags;  // 5 of the 34 with x and the 30 with y
  all_of_two_tags.add_tags("x");
  all_of_two_tags.add_tags("y");
  all_of_two_tags.set_tag_match(Query::TAG_MATCH_ALL);
  for (int i = 0; i < 5; ++i) {
    Article a;
    a.set_title(absl::StrCat("xy", i));
    a.add_tags("x");
    a.add_tags("y");
    *a.mutable_date() = Ts(kEpoch2020 + 100 * 3600 + i);
    ASSERT_TRUE(ts_.store().Create(absl::StrCat("xy", i), a).ok());
  }
  for (int i = 0; i < 25; ++i) Create(absl::StrCat("y", i), {"y"}, Ts(i));
  for (const Query& q : {tag_and_dates, dates_only, all_of_two_tags}) {
    SCOPED_TRACE(q.ShortDebugString());
    for (int page_size : {1, 2, 4}) {
      SCOPED_TRACE(page_size);
      std::string token;
      int64_t so_far = 0;
      int pages = 0;
      absl::StatusOr<QueryPage> page;
      do {
        page = RunQuery(ts_.store(), q, page_size, token);
        ASSERT_TRUE(page.ok()) << page.status();
        so_far += static_cast<int64_t>(page->articles.size());
        token = page->next_page_token;
      } while (!token.empty() && ++pages < 100);
      EXPECT_EQ(so_far, 5);
      EXPECT_EQ(page->total_size, 5);
    }
    // Facets that count the whole result make every page's total exact,
    // the first included (the lists' estimate said 34 or 59 there).
    QueryOptions o;
    o.page_size = 2;
    o.facets = {v1::FACET_FIELD_TAGS};
    absl::StatusOr<QueryPage> first = RunQuery(ts_.store(), q, o);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_TRUE(first->facets_complete);
    EXPECT_EQ(first->facet_articles_counted, 5);
    EXPECT_FALSE(first->next_page_token.empty());
    EXPECT_EQ(first->total_size, 5);
    // Sampled facets leave the estimate as it was.
    o.facet_max_articles = 1;
    o.facets = {};
    const int64_t estimate = RunQuery(ts_.store(), q, o)->total_size;
    o.facets = {v1::FACET_FIELD_TAGS};
    absl::StatusOr<QueryPage> sampled = RunQuery(ts_.store(), q, o);
    ASSERT_TRUE(sampled.ok()) << sampled.status();
    EXPECT_FALSE(sampled->facets_complete);
    EXPECT_EQ(sampled->total_size, estimate);
  }
}

TEST_F(QueryTest, TokenFromAnotherQueryIsInvalidArgument) {
  for (int i = 0; i < 20; ++i)
    Create(absl::StrCat("a", i), {"x", "y"}, Ts(kEpoch2020 + i));
  Query q;
  q.add_tags("x");
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 5, "");
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_page_token.empty());
  const std::string token = page->next_page_token;
  // The same query continues.
  EXPECT_TRUE(RunQuery(ts_.store(), q, 7, token).ok());

  std::vector<Query> others;
  others.emplace_back(q);
  others.back().set_tags(0, "y");
  others.emplace_back(q);
  others.back().set_order(Query::ORDER_OLDEST_FIRST);
  others.emplace_back(q);
  others.back().set_include_deleted(true);
  others.emplace_back(q);
  others.back().set_tag_match(Query::TAG_MATCH_ALL);
  others.emplace_back(q);
  others.back().add_langs("en");
  others.emplace_back(q);
  *others.back().mutable_date_from() = Ts(kEpoch2020);
  others.emplace_back();
  for (const Query& other : others) {
    absl::StatusOr<QueryPage> r = RunQuery(ts_.store(), other, 5, token);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << Describe(other);
    EXPECT_NE(r.status().message().find("page_token"), std::string::npos);
  }
}

TEST_F(QueryTest, TamperedTokenIsInvalidArgument) {
  for (int i = 0; i < 20; ++i)
    Create(absl::StrCat("a", i), {"x"}, Ts(kEpoch2020 + i));
  Query q;
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 5, "");
  ASSERT_TRUE(page.ok());
  const std::string token = page->next_page_token;
  ASSERT_FALSE(token.empty());
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    for (char c : {alphabet[(alphabet.find(token[i]) + 1) % 64],
                   alphabet[(alphabet.find(token[i]) + 32) % 64], '!'}) {
      std::string bad = token;
      bad[i] = c;
      absl::StatusOr<QueryPage> r = RunQuery(ts_.store(), q, 5, bad);
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
          << "position " << i << " of " << token << " -> " << bad;
    }
  }
  // Refused even for a query that can match nothing.
  Query empty_range;
  *empty_range.mutable_date_from() = Ts(kEpoch2020, 1);
  *empty_range.mutable_date_to() = Ts(kEpoch2020, 2);
  EXPECT_EQ(RunQuery(ts_.store(), empty_range, 5, "garbage").status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const std::string& bad :
       {token.substr(0, token.size() - 1), token.substr(1), token + "A",
        std::string("x"), std::string("===="), std::string(400, 'A')}) {
    EXPECT_EQ(RunQuery(ts_.store(), q, 5, bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  // A token sealed by another store (another key) is refused too.
  TempStore other;
  for (int i = 0; i < 20; ++i) {
    Article a;
    a.set_title("t");
    ASSERT_TRUE(other.store().Create(absl::StrCat("a", i), a).ok());
  }
  absl::StatusOr<QueryPage> foreign = RunQuery(other.store(), q, 5, "");
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(
      RunQuery(ts_.store(), q, 5, foreign->next_page_token).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(QueryTest, PagingWhileInsertingNeverRepeatsOrSkips) {
  Corpus corpus(&ts_.store(), 4242);
  ASSERT_NO_FATAL_FAILURE(corpus.Build(200));
  std::vector<Query> queries(4);
  queries[1].set_order(Query::ORDER_OLDEST_FIRST);
  queries[2].add_tags("news");
  queries[2].add_tags("tech");
  queries[3].add_tags("news");
  queries[3].set_order(Query::ORDER_OLDEST_FIRST);
  queries[3].set_include_deleted(true);
  int serial = 0;
  for (const Query& q : queries) {
    SCOPED_TRACE(Describe(q));
    const std::vector<std::string> before = Oracle(q, corpus.model());
    std::vector<std::string> seen;
    std::string token;
    do {
      absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 7, token);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const Article& a : page->articles) seen.push_back(IdOf(a));
      token = page->next_page_token;
      // New articles land everywhere: before, inside and after the pages
      // read so far, some on dates already taken.
      for (int k = 0; k < 3; ++k) {
        Article a = corpus.RandomContent(absl::StrCat("late ", serial));
        if (std::find(a.tags().begin(), a.tags().end(), "news") ==
            a.tags().end())
          a.add_tags("news");
        corpus.Create(absl::StrCat("late", serial++), a);
      }
    } while (!token.empty());

    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << "an article came twice";
    for (const std::string& id : before)
      EXPECT_EQ(unique.count(id), 1u) << id << " was skipped";
    // Whatever came, came in order.
    const std::vector<std::string> now = Oracle(q, corpus.model());
    std::map<std::string, size_t> rank;
    for (size_t i = 0; i < now.size(); ++i) rank[now[i]] = i;
    for (size_t i = 1; i < seen.size(); ++i)
      EXPECT_LT(rank[seen[i - 1]], rank[seen[i]]) << seen[i];
  }
}

// Pages read through one ReadView see one state of the store: articles
// whose dates move between pages (out of the part still to come, into it)
// come exactly once each, as they were when the view was taken. Paging
// through fresh snapshots, the first kind was skipped and the second came
// twice; ExportArticles pages so.
TEST_F(QueryTest, PagesThroughOneViewSeeOneStateWhateverMoves) {
  Corpus corpus(&ts_.store(), 77);
  ASSERT_NO_FATAL_FAILURE(corpus.Build(120));
  Query q;
  const std::vector<std::string> before = Oracle(q, corpus.model());
  ASSERT_GT(before.size(), 40u);
  std::unique_ptr<store::ReadView> view = ts_.store().NewReadView();
  QueryOptions options;
  options.page_size = 10;
  options.read_view = view.get();
  std::vector<std::string> seen;
  int moved = 0;
  do {
    absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, options);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const Article& a : page->articles) seen.push_back(IdOf(a));
    options.page_token = page->next_page_token;
    if (seen.size() == 10 || seen.size() == 20) {
      // The oldest article still to come becomes the newest, and the
      // newest already listed the oldest.
      for (const std::string& id :
           {before.back(), before[moved == 0 ? 0 : 1]}) {
        Article a = corpus.model().at(id);
        a.mutable_date()->set_seconds(id == before.back() ? 4000000000 : 1000);
        ASSERT_TRUE(ts_.store().Update(id, a, {}).ok());
      }
      ++moved;
    }
  } while (!options.page_token.empty());
  EXPECT_EQ(seen, before);
}

TEST_F(QueryTest, TextWithNothingToSearchIsInvalidArgument) {
  Create("x", {"a"}, Ts(kEpoch2020));
  Query q;
  q.set_text(" ，。!? ");
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 10, "");
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("query.text"), std::string::npos);
}

TEST_F(QueryTest, PhraseNeverMatchesOnBigramCoincidence) {
  auto make = [&](const std::string& id, const std::string& body) {
    Article a;
    a.set_title(id);
    a.set_body(body);
    *a.mutable_date() = Ts(kEpoch2020);
    ASSERT_TRUE(ts_.store().Create(id, a).ok());
  };
  make("hit1", "我们支持本地化部署。");
  make("hit2", "Self-hosted: 本地化部署方案");
  make("apart", "本地化工作由文化部门部署");
  make("split", "本地化，部署");
  make("none", "云端服务");
  Query q;
  q.set_text("本地化部署");
  EXPECT_EQ(Ids(q), std::vector<std::string>({"hit1", "hit2"}));
  q.set_text("ＳＥＬＦ 部署");  // full-width word, any order
  EXPECT_EQ(Ids(q), std::vector<std::string>({"hit2"}));
  q.set_text("部署");
  EXPECT_EQ(Ids(q),
            std::vector<std::string>({"apart", "hit1", "hit2", "split"}));
  // Deleting or rewriting an article drops its old terms.
  ASSERT_TRUE(ts_.store().Delete("hit1", {}).ok());
  Article changed;
  changed.set_title("hit2");
  changed.set_body("nothing here");
  *changed.mutable_date() = Ts(kEpoch2020);
  ASSERT_TRUE(ts_.store().Update("hit2", changed, {}).ok());
  q.set_text("本地化部署");
  EXPECT_TRUE(Ids(q).empty());
  q.set_include_deleted(true);
  EXPECT_EQ(Ids(q), std::vector<std::string>({"hit1"}));
  std::unique_ptr<store::ReadView> view = ts_.store().NewReadView();
  auto entries = [&](const std::string& prefix) {
    std::unique_ptr<store::KvIterator> it =
        view->Postings(prefix, store::PrefixSuccessor(prefix));
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  };
  // Text lists hold every state: hit1's tombstone kept its postings there.
  EXPECT_EQ(entries(store::PostingPrefix(IndexKind::kText, false, "本地")),
            3);  // apart, split, hit1
  EXPECT_EQ(entries(store::PostingPrefix(IndexKind::kText, true, "本地")), 0);
  EXPECT_EQ(entries(store::PostingPrefix(IndexKind::kText, false, "here")), 1);
}

// Words longer than kMaxWordTermBytes are indexed by their first 61 to 64
// bytes (cut on a character boundary). A query word that long may share its
// term with a longer word and is checked on the article; an edit that drops
// one of two words sharing a cut term keeps the term's posting.
TEST_F(QueryTest, WordsNearTheTermLimitMatchWholeWords) {
  auto put = [&](const std::string& id, const std::string& body, bool update) {
    Article a;
    a.set_title(id);
    a.set_body(body);
    *a.mutable_date() = Ts(kEpoch2020);
    absl::StatusOr<Article> r =
        update ? ts_.store().Update(id, a, {}) : ts_.store().Create(id, a);
    ASSERT_TRUE(r.ok()) << r.status();
  };
  // 70 `a` hold the term of 64 `a`, not the word.
  put("long", std::string(70, 'a'), false);
  put("exact", std::string(64, 'a'), false);
  Query q;
  q.set_text(std::string(64, 'a'));
  EXPECT_EQ(Ids(q), std::vector<std::string>({"exact"}));
  q.set_text(std::string(70, 'a'));
  EXPECT_EQ(Ids(q), std::vector<std::string>({"long"}));
  // Both words are cut to 63 `a` (`é` straddles byte 64); removing the
  // second keeps the first findable.
  const std::string w = std::string(63, 'a') + "ébc";
  const std::string w2 = std::string(63, 'a') + "ébd";
  put("edited", w + "\nx\n" + w2, false);
  put("edited", w + "\nx\ny", true);
  q.set_text(w);
  EXPECT_EQ(Ids(q), std::vector<std::string>({"edited"}));
  q.set_text(w2);
  EXPECT_TRUE(Ids(q).empty());
  q.set_text(std::string(63, 'a'));
  EXPECT_TRUE(Ids(q).empty());
}

// Text lists hold articles of every state (store/keys.h): a text query
// returns each article only in the states it asks for, alone and with a tag,
// through deletes, undeletes, publishing and archiving.
// A reader's total_size must not count articles the reader cannot see: text
// lists hold every state, and deleted lists hold deleted drafts, so their
// sizes would tell a reader how many hidden articles match.
TEST_F(QueryTest, ReadersTotalSizeCountsNoHiddenArticles) {
  auto make = [&](const std::string& id, Article::State state,
                  const std::string& tag, bool deleted) {
    Article a;
    a.set_title(id);
    a.set_body("embargoed merger notes");
    a.add_tags(tag);
    a.set_state(state);
    *a.mutable_date() = Ts(kEpoch2020 + std::hash<std::string>()(id) % 1000);
    ASSERT_TRUE(ts_.store().Create(id, a).ok());
    if (deleted) ASSERT_TRUE(ts_.store().Delete(id, {}).ok());
  };
  for (int i = 0; i < 3; ++i)
    make(absl::StrCat("live", i), Article::PUBLISHED, "x", false);
  for (int i = 0; i < 60; ++i)
    make(absl::StrCat("draft", i), Article::DRAFT, "x", false);
  for (int i = 0; i < 60; ++i)
    make(absl::StrCat("gone", i), Article::DRAFT, "x", true);
  Query text;
  text.set_text("merger");
  Query deleted_tag;
  deleted_tag.add_tags("x");
  deleted_tag.set_include_deleted(true);
  Query text_and_tag = text;
  text_and_tag.add_tags("x");
  for (const Query& q : {text, deleted_tag, text_and_tag}) {
    SCOPED_TRACE(q.ShortDebugString());
    std::string token;
    int pages = 0;
    do {
      absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 1, token);
      ASSERT_TRUE(page.ok()) << page.status();
      // The 3 it may see, and one while a page follows (as the token says):
      // after the third live one, hidden ones can still be ahead.
      EXPECT_LE(page->total_size, page->next_page_token.empty() ? 3 : 4)
          << "page " << pages;
      if (!page->next_page_token.empty()) {
        EXPECT_GT(page->total_size,
                  static_cast<int64_t>(page->articles.size()));
      }
      token = page->next_page_token;
      ++pages;
    } while (!token.empty() && pages < 200);
    EXPECT_EQ(Ids(q).size(), 3u);
  }
  // An editor sees every state, so the lists' sizes are no secret.
  Query all = deleted_tag;
  all.set_visibility(v1::VISIBILITY_ALL);
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), all, 1, "");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total_size, 123);
}

// A reader's text-only query has no list to estimate from (text lists hold
// drafts): its total_size is what the pages returned so far, counted in the
// token, plus one while a page follows; a later page never says less than
// the earlier ones returned. Tokens from before the count still continue.
TEST_F(QueryTest, ReadersTotalSizeCoversEveryPageReturnedSoFar) {
  for (int i = 0; i < 50; ++i) {
    Article a;
    a.set_title(absl::StrCat("t", i));
    a.set_body("merger notes");
    a.set_state(i % 5 < 2 ? Article::PUBLISHED : Article::DRAFT);  // 20 live
    *a.mutable_date() = Ts(kEpoch2020 + i);
    ASSERT_TRUE(ts_.store().Create(absl::StrCat("a", i), a).ok());
  }
  Query q;
  q.set_text("merger");
  std::string token;
  int64_t so_far = 0;
  int pages = 0;
  do {
    absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 3, token);
    ASSERT_TRUE(page.ok()) << page.status();
    so_far += static_cast<int64_t>(page->articles.size());
    token = page->next_page_token;
    const int64_t follows = token.empty() ? 0 : 1;
    EXPECT_GE(page->total_size, so_far + follows) << "page " << pages;
    EXPECT_LE(page->total_size, 20 + follows) << "page " << pages;
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(so_far, 20);
  EXPECT_GE(pages, 7);

  // A token as made before it held the count: the cursor alone.
  absl::StatusOr<QueryPage> first = RunQuery(ts_.store(), q, 3, "");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->articles.size(), 3u);
  const Article& last = first->articles.back();
  std::string payload;
  store::AppendBigEndian64(&payload, Fingerprint(q));
  store::AppendBigEndian64(&payload, store::DateKey(last.date()));
  payload += IdOf(last);
  absl::StatusOr<QueryPage> next = RunQuery(
      ts_.store(), q, 3, SealPageToken(payload, ts_.store().token_key()));
  ASSERT_TRUE(next.ok()) << next.status();
  absl::StatusOr<QueryPage> want =
      RunQuery(ts_.store(), q, 3, first->next_page_token);
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_EQ(next->articles.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(IdOf(next->articles[i]), IdOf(want->articles[i]));
  EXPECT_EQ(next->total_size, 4);  // this page's 3 and one to follow
  EXPECT_EQ(want->total_size, 7);
}

TEST_F(QueryTest, TextListsHoldEveryStateAndQueriesFilterIt) {
  auto make = [&](const std::string& id, Article::State state) {
    Article a;
    a.set_title(id);
    a.set_body("离线同步 offline sync");
    a.add_tags("sync");
    a.set_state(state);
    *a.mutable_date() = Ts(kEpoch2020);
    ASSERT_TRUE(ts_.store().Create(id, a).ok());
  };
  make("live", Article::PUBLISHED);
  make("gone", Article::PUBLISHED);
  make("draft", Article::DRAFT);
  make("archived", Article::ARCHIVED);
  ASSERT_TRUE(ts_.store().Delete("gone", {}).ok());
  for (bool with_tag : {false, true}) {
    SCOPED_TRACE(with_tag ? "text and tag" : "text alone");
    Query q;
    q.set_text("离线同步");
    if (with_tag) q.add_tags("sync");
    EXPECT_EQ(Ids(q), std::vector<std::string>({"live"}));
    q.set_include_deleted(true);
    EXPECT_EQ(Ids(q), std::vector<std::string>({"gone", "live"}));
    q.set_include_deleted(false);
    q.set_visibility(v1::VISIBILITY_ALL);
    EXPECT_EQ(Ids(q), std::vector<std::string>({"archived", "draft", "live"}));
    q.add_states(Article::DRAFT);
    EXPECT_EQ(Ids(q), std::vector<std::string>({"draft"}));
  }
  ASSERT_TRUE(ts_.store().Undelete("gone", {}).ok());
  Article published;
  published.set_title("draft");
  published.set_body("离线同步 offline sync");
  published.add_tags("sync");
  published.set_state(Article::PUBLISHED);
  *published.mutable_date() = Ts(kEpoch2020);
  ASSERT_TRUE(ts_.store().Update("draft", published, {}).ok());
  ASSERT_TRUE(ts_.store().Delete("live", {}).ok());
  Query q;
  q.set_text("offline sync");
  EXPECT_EQ(Ids(q), std::vector<std::string>({"draft", "gone"}));
  q.set_include_deleted(true);
  EXPECT_EQ(Ids(q), std::vector<std::string>({"draft", "gone", "live"}));
}

// An import batch may write an id twice: the second write drops the words
// only the first held, and a text query must stop finding them, whether the
// batch's creates go in as a file (65 here) or through the batch itself (63:
// too few to ingest). The first write's text postings were held back for a
// file and, with too few creates, appended after the second write's deletes,
// which they then outlived: `zebra` found an article whose head holds `yak`.
TEST_F(QueryTest, ABatchThatWritesAnIdTwiceKeepsOnlyTheSecondWritesText) {
  std::vector<std::string> written_twice;
  for (int creates : {63, 65}) {
    SCOPED_TRACE(creates);
    const std::string twice = absl::StrCat("twice", creates);
    written_twice.push_back(twice);
    auto article = [](const std::string& title, const std::string& body) {
      Article a;
      a.set_title(title);
      a.set_body(body);
      *a.mutable_date() = Ts(kEpoch2020);
      return a;
    };
    std::vector<std::pair<std::string, Article>> items;
    items.emplace_back(twice, article(twice, "zebra 旧词"));
    for (int i = 1; i < creates; ++i) {
      const std::string id = absl::StrCat("other", creates, "-", i);
      items.emplace_back(id, article(id, "filler"));
    }
    items.emplace_back(twice, article(twice, "yak 新词"));
    absl::StatusOr<std::vector<store::ApplyResult>> r =
        ts_.store().Apply(items, /*dry_run=*/false);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const store::ApplyResult& x : *r) ASSERT_TRUE(x.status.ok());
    for (const char* gone : {"zebra", "旧词", "旧", "zebra 旧词"}) {
      SCOPED_TRACE(gone);
      Query q;
      q.set_text(gone);
      EXPECT_THAT(Ids(q), ::testing::IsEmpty());
    }
    Query q;
    q.set_text("yak 新词");
    EXPECT_THAT(Ids(q), ::testing::UnorderedElementsAreArray(written_twice));
    absl::StatusOr<store::FsckReport> report = store::CheckStore(ts_.store());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->clean()) << report->ToString();
  }
}

TEST_F(QueryTest, ViewFacetsAndCandidateBudget) {
  for (int i = 0; i < 40; ++i) {
    Article a;
    a.set_title(absl::StrCat("t", i));
    a.set_body("body text");
    a.add_tags(i % 2 ? "odd" : "even");
    if (i % 5 == 0) a.add_tags("five");
    a.add_categories(i % 4 ? "Tech" : "Life");
    a.add_lang(i < 10 ? "en" : "zh-CN");
    *a.mutable_date() = Ts(kEpoch2020 + i);
    ASSERT_TRUE(ts_.store().Create(absl::StrCat("a", i), a).ok());
  }
  Query q;
  q.add_not_tags("five");  // 32 left: 16 odd, 16 even
  QueryOptions o;
  o.page_size = 5;
  o.view = v1::ARTICLE_VIEW_BASIC;
  o.facets = {v1::FACET_FIELD_TAGS, v1::FACET_FIELD_CATEGORIES,
              v1::FACET_FIELD_LANG};
  o.facet_limit = 2;
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, o);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->articles.size(), 5u);
  for (const Article& a : page->articles) EXPECT_TRUE(a.body().empty());
  {
    // Stored bytes, BASIC: the same articles, the body cut from the bytes.
    QueryOptions raw = o;
    raw.raw = true;
    raw.facets.clear();
    absl::StatusOr<QueryPage> rp = RunQuery(ts_.store(), q, raw);
    ASSERT_TRUE(rp.ok()) << rp.status();
    ASSERT_EQ(rp->raw_articles.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
      Article a;
      ASSERT_TRUE(a.ParseFromString(rp->raw_articles[i]));
      EXPECT_TRUE(a.body().empty());
      EXPECT_TRUE(MessageDifferencer::Equals(a, page->articles[i]));
    }
  }
  ASSERT_EQ(page->facets.size(), 3u);
  EXPECT_TRUE(page->facets_complete);
  EXPECT_EQ(page->facet_articles_counted, 32);
  EXPECT_EQ(page->facets[0].ShortDebugString(),
            "field: FACET_FIELD_TAGS values { value: \"even\" count: 16 } "
            "values { value: \"odd\" count: 16 }");
  EXPECT_EQ(page->facets[1].values(0).value(), "Tech");
  EXPECT_EQ(page->facets[1].values(0).count(), 24);
  EXPECT_EQ(page->facets[2].values(0).value(), "zh-CN");
  // A sampled facet says so.
  o.facet_max_articles = 10;
  page = RunQuery(ts_.store(), q, o);
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->facets_complete);
  EXPECT_EQ(page->facet_articles_counted, 10);

  // A candidate budget of 3 gives short pages but loses nothing.
  Query rare;
  rare.set_text("body");
  *rare.mutable_update_time_from() =
      RunQuery(ts_.store(), Query(), 1, "")->articles[0].update_time();
  QueryOptions small;
  small.page_size = 10;
  small.max_candidates_per_page = 3;
  std::vector<std::string> got;
  int pages = 0;
  do {
    absl::StatusOr<QueryPage> p = RunQuery(ts_.store(), rare, small);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_LE(p->articles.size(), 3u);
    for (const Article& a : p->articles) got.push_back(IdOf(a));
    small.page_token = p->next_page_token;
    ++pages;
  } while (!small.page_token.empty());
  EXPECT_EQ(got, std::vector<std::string>({"a39"}));  // the newest write
  EXPECT_GE(pages, 10);
}

// An AND's revision is that of the article at its cursor. A tag child
// that the leader's tag fingerprints answered for is not moved and stands
// at another article ("c" here); its posting's revision was taken as this
// one's, and a shared store, which reads a posting's revision as it is
// (ReadView::StoredLatest), failed the query NOT_FOUND (`reading a for a
// query: not found`) whenever that revision was past the article's head.
TEST_F(QueryTest, AndStreamRevisionIsTheArticleAtItsCursor) {
  Article c;
  c.set_title("c");
  c.add_tags("x");
  *c.mutable_date() = Ts(kEpoch2020 + 3);
  ASSERT_TRUE(ts_.store().Create("c", c).ok());
  for (int64_t d : {4, 5}) {  // a moved date rewrites the postings
    *c.mutable_date() = Ts(kEpoch2020 + d);
    ASSERT_TRUE(ts_.store().Update("c", c, {}).ok());
  }
  Create("a", {"x", "y"}, Ts(kEpoch2020 + 2));
  Create("b", {"x"}, Ts(kEpoch2020 + 1));
  std::unique_ptr<store::ReadView> view = ts_.store().NewReadView();
  std::vector<std::unique_ptr<Stream>> children;
  for (const char* tag : {"x", "y"}) {
    children.push_back(NewTermStream(
        *view, store::PostingPrefix(IndexKind::kTag, false, tag), {}, false));
  }
  ASSERT_EQ(children[0]->revision(), 3);  // "c", newest in x
  std::unique_ptr<Stream> s = NewAndStream(std::move(children), false);
  ASSERT_TRUE(s->Valid());
  EXPECT_EQ(s->cursor().id, "a");
  EXPECT_EQ(s->revision(), 1);
  s->Next();
  EXPECT_FALSE(s->Valid());
}

// Facets that counted the whole result saw its last match: the page that
// returns it is the last, though the lists go on with candidates that do
// not match (a scheduled article in a tag's list, for a reader). It had a
// token to an empty page, and total_size said one more than the facets
// counted (`total: 2 articles (1 on this page)` of one match).
TEST_F(QueryTest, CompleteFacetsEndThePageAtTheLastMatch) {
  Article live;
  live.set_title("live");
  live.add_tags("t");
  *live.mutable_date() = Ts(kEpoch2020 + 2);
  ASSERT_TRUE(ts_.store().Create("live", live).ok());
  Article scheduled = live;
  scheduled.set_title("scheduled");
  *scheduled.mutable_date() = Ts(kEpoch2020 + 1);
  *scheduled.mutable_publish_time() = Ts(4102444800);  // 2100
  ASSERT_TRUE(ts_.store().Create("scheduled", scheduled).ok());
  Query q;
  q.add_tags("t");
  for (const auto order :
       {Query::ORDER_NEWEST_FIRST, Query::ORDER_OLDEST_FIRST}) {
    SCOPED_TRACE(Query::Order_Name(order));
    q.set_order(order);
    QueryOptions o;
    o.page_size = 1;
    o.facets = {v1::FACET_FIELD_TAGS};
    absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, o);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->articles.size(), 1u);
    EXPECT_EQ(IdOf(page->articles[0]), "live");
    EXPECT_TRUE(page->facets_complete);
    EXPECT_EQ(page->facet_articles_counted, 1);
    EXPECT_EQ(page->total_size, 1);
    EXPECT_EQ(page->next_page_token, "");
    // Newest first the list goes on past the match; without facets nothing
    // says none follows: a token and an estimate, as before.
    if (order == Query::ORDER_OLDEST_FIRST) continue;
    o.facets.clear();
    page = RunQuery(ts_.store(), q, o);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_NE(page->next_page_token, "");
    EXPECT_EQ(page->total_size, 2);
  }
  // A page before the last match keeps its token, and total_size is the
  // facets' count.
  Article older = live;
  older.set_title("older");
  *older.mutable_date() = Ts(kEpoch2020);
  ASSERT_TRUE(ts_.store().Create("older", older).ok());
  q.set_order(Query::ORDER_NEWEST_FIRST);
  QueryOptions o;
  o.page_size = 1;
  o.facets = {v1::FACET_FIELD_TAGS};
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, o);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total_size, 2);
  ASSERT_NE(page->next_page_token, "");
  o.page_token = page->next_page_token;
  page = RunQuery(ts_.store(), q, o);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->articles.size(), 1u);
  EXPECT_EQ(IdOf(page->articles[0]), "older");
  EXPECT_EQ(page->total_size, 2);
  EXPECT_EQ(page->next_page_token, "");
}

// The lang facet counts a language once whatever its stored spelling
// (`zh_CN` from before the lang check, `zh-cn`), as the `langs` filter finds
// all of them, under its BCP 47 spelling: each value filters to as many
// articles as it counts.
TEST_F(QueryTest, LangFacetMergesSpellingsOfOneLanguage) {
  const std::vector<std::vector<std::string>> langs = {
      {"zh-CN"},
      {"zh-CN"},
      {"zh_CN"},
      {"zh_CN"},
      {"zh_CN"},
      {"zh-cn"},
      {"ZH_cn", "zh-CN"},  // counted once
      {"en"},
      {"EN"},
      {"EN"},
      {"zh_hans_cn"},
      {"en", "x-Private"}};
  for (size_t i = 0; i < langs.size(); ++i) {
    Article a;
    a.set_title(absl::StrCat("t", i));
    for (const std::string& l : langs[i]) a.add_lang(l);
    *a.mutable_date() = Ts(kEpoch2020 + static_cast<int64_t>(i));
    ASSERT_TRUE(ts_.store().Create(absl::StrCat("a", i), a).ok());
  }
  QueryOptions o;
  o.page_size = 1;
  o.facets = {v1::FACET_FIELD_LANG};
  absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), Query(), o);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->facets.size(), 1u);
  EXPECT_EQ(page->facets[0].ShortDebugString(),
            "field: FACET_FIELD_LANG "
            "values { value: \"zh-CN\" count: 7 } "
            "values { value: \"en\" count: 4 } "
            "values { value: \"x-private\" count: 1 } "
            "values { value: \"zh-Hans-CN\" count: 1 }");
  for (const v1::FacetValue& v : page->facets[0].values()) {
    Query q;
    q.add_langs(v.value());
    EXPECT_EQ(static_cast<int64_t>(Ids(q).size()), v.count()) << v.value();
  }
}

TEST(LangTagTest, CanonicalSpellingIsOnePerLanguage) {
  using internal::CanonicalLanguageTag;
  EXPECT_EQ(CanonicalLanguageTag("zh_cn"), "zh-CN");
  EXPECT_EQ(CanonicalLanguageTag("ZH-cn"), "zh-CN");
  EXPECT_EQ(CanonicalLanguageTag("EN"), "en");
  EXPECT_EQ(CanonicalLanguageTag("sr_latn_rs"), "sr-Latn-RS");
  EXPECT_EQ(CanonicalLanguageTag("zh-YUE-hk"), "zh-yue-HK");
  EXPECT_EQ(CanonicalLanguageTag("de-CH-1996"), "de-CH-1996");
  EXPECT_EQ(CanonicalLanguageTag("en-US-X-Twain-AB"), "en-US-x-twain-ab");
  EXPECT_EQ(CanonicalLanguageTag("X-ab"), "x-ab");
  EXPECT_EQ(CanonicalLanguageTag("i-Klingon"), "i-klingon");
  EXPECT_EQ(CanonicalLanguageTag(""), "");
  // Same language, same spelling; another language, another.
  for (const auto& [a, b] : std::vector<std::pair<std::string, std::string>>{
           {"zh_Hant_TW", "ZH-hant-tw"},
           {"en-gb", "EN_GB"},
           {"ab-cd", "AB_CD"}}) {
    EXPECT_TRUE(internal::SameLanguageTag(a, b));
    EXPECT_EQ(CanonicalLanguageTag(a), CanonicalLanguageTag(b)) << a;
  }
  EXPECT_NE(CanonicalLanguageTag("zh-CN"), CanonicalLanguageTag("zh-TW"));
}

// ---- Publish windows -------------------------------------------------------

// A store whose clock stands at kNow1 until a test moves it.
class PublishWindowTest : public ::testing::Test {
 protected:
  static constexpr int64_t kHour = int64_t{3600} * kNanosPerSecond;

  // A published article dated `age` seconds before 2020 (so that ids sort
  // by age newest first), with the publish and expiry times given as
  // nanoseconds from kNow1 (none where nullopt).
  void Make(const std::string& id, int age, std::optional<int64_t> publish,
            std::optional<int64_t> expiry,
            Article::State state = Article::PUBLISHED) {
    Article a;
    a.set_title(id);
    a.add_tags("news");
    a.set_state(state);
    *a.mutable_date() = Ts(kEpoch2020 - age);
    if (publish) *a.mutable_publish_time() = NanosTs(kNow1 + *publish);
    if (expiry) *a.mutable_expiry_time() = NanosTs(kNow1 + *expiry);
    absl::StatusOr<Article> r = ts_.store().Create(id, a);
    ASSERT_TRUE(r.ok()) << id << ": " << r.status();
  }

  // Every id `q` returns over all its pages, sorted.
  std::vector<std::string> Ids(const Query& q) {
    std::vector<std::string> ids;
    std::string token;
    do {
      absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 2, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const Article& a : page->articles) ids.push_back(IdOf(a));
      token = page->next_page_token;
    } while (!token.empty());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // Imports "imported" alone, then it again with "imp0".."imp99" in one
  // batch, big enough to be ingested (Store::Apply). `mark` gives
  // "imported" and "imp7" the time of the window under test.
  void ImportAloneAndIngested(const std::function<void(Article*)>& mark) {
    const auto imported = [&](int age, bool marked) {
      Article a;
      a.set_title("imported");
      a.add_tags("news");
      *a.mutable_date() = Ts(kEpoch2020 - age);
      if (marked) mark(&a);
      return a;
    };
    std::vector<std::pair<std::string, Article>> items = {
        {"imported", imported(1300, true)}};
    for (int i = 0; i < 100; ++i)
      items.emplace_back(absl::StrCat("imp", i), imported(2000 + i, i == 7));
    for (size_t n : {size_t{1}, items.size()}) {
      absl::StatusOr<std::vector<store::ApplyResult>> r =
          ts_.store().Apply(std::vector<std::pair<std::string, Article>>(
                                items.begin(), items.begin() + n),
                            /*dry_run=*/false);
      ASSERT_TRUE(r.ok()) << r.status();
      for (const store::ApplyResult& x : *r) ASSERT_TRUE(x.status.ok());
    }
  }

  // Every page of `q` at `options`: the first at kNow1, the rest with the
  // clock 2.5 h on (a query keeps its first page's instant).
  struct Walk {
    std::vector<std::string> ids;
    std::vector<size_t> sizes;
  };
  Walk WalkPages(const Query& q, QueryOptions options) {
    clock_.store(kNow1);
    Walk w;
    do {
      absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, options);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const Article& a : page->articles) w.ids.push_back(IdOf(a));
      w.sizes.push_back(page->articles.size());
      options.page_token = page->next_page_token;
      clock_.store(kNow1 + 150 * 60 * kNanosPerSecond);
    } while (!options.page_token.empty() && w.sizes.size() < 1000);
    return w;
  }

  static Query Windows(std::vector<Query::PublishWindow> windows,
                       std::vector<Article::State> states = {},
                       v1::Visibility visibility = v1::VISIBILITY_ALL) {
    Query q;
    q.set_visibility(visibility);
    for (Query::PublishWindow w : windows) q.add_windows(w);
    for (Article::State st : states) q.add_states(st);
    return q;
  }

  std::atomic<int64_t> clock_{kNow1};
  TempStore ts_{[this] { return absl::FromUnixNanos(clock_.load()); }};
};

// Scheduled, live and expired as the store's clock has them, to the
// nanosecond at both ends (a publish time now is live, an expiry now
// expired); drafts and archived articles have no window and come only
// where `states` names them; readers may ask for LIVE.
TEST_F(PublishWindowTest, SelectsPublishedArticlesByTheirWindowNow) {
  Make("plain", 1, std::nullopt, std::nullopt);
  Make("soon", 2, kHour, std::nullopt);
  Make("soon-by-1ns", 3, 1, 2 * kHour);
  Make("now", 4, 0, std::nullopt);
  Make("window", 5, -24 * kHour, 24 * kHour);
  Make("gone", 6, -48 * kHour, -24 * kHour);
  Make("gone-now", 7, std::nullopt, 0);
  Make("wip", 8, kHour, std::nullopt, Article::DRAFT);
  Make("old", 9, std::nullopt, -kHour, Article::ARCHIVED);
  using W = Query;
  EXPECT_THAT(Ids(Windows({W::PUBLISH_WINDOW_SCHEDULED})),
              ElementsAre("soon", "soon-by-1ns"));
  EXPECT_THAT(Ids(Windows({W::PUBLISH_WINDOW_LIVE})),
              ElementsAre("now", "plain", "window"));
  EXPECT_THAT(Ids(Windows({W::PUBLISH_WINDOW_EXPIRED})),
              ElementsAre("gone", "gone-now"));
  EXPECT_THAT(
      Ids(Windows({W::PUBLISH_WINDOW_EXPIRED, W::PUBLISH_WINDOW_SCHEDULED})),
      ElementsAre("gone", "gone-now", "soon", "soon-by-1ns"));
  // All three windows are every published article, as `states` says.
  EXPECT_EQ(Ids(Windows({W::PUBLISH_WINDOW_SCHEDULED, W::PUBLISH_WINDOW_LIVE,
                         W::PUBLISH_WINDOW_EXPIRED})),
            Ids(Windows({}, {Article::PUBLISHED})));
  // Other states beside PUBLISHED are not narrowed.
  EXPECT_THAT(Ids(Windows({W::PUBLISH_WINDOW_SCHEDULED},
                          {Article::DRAFT, Article::PUBLISHED})),
              ElementsAre("soon", "soon-by-1ns", "wip"));
  EXPECT_THAT(Ids(Windows({W::PUBLISH_WINDOW_EXPIRED},
                          {Article::STATE_UNSPECIFIED, Article::ARCHIVED})),
              ElementsAre("gone", "gone-now", "old"));
  // A reader's LIVE is what a reader sees anyway.
  const Query reader =
      Windows({W::PUBLISH_WINDOW_LIVE}, {}, v1::VISIBILITY_UNSPECIFIED);
  EXPECT_THAT(Ids(reader), ElementsAre("now", "plain", "window"));
  EXPECT_EQ(Ids(reader), Ids(Query()));

  // Two hours on, with no write: the scheduled ones are live, one of them
  // already expired.
  clock_.store(kNow1 + 2 * kHour);
  EXPECT_THAT(Ids(Windows({W::PUBLISH_WINDOW_SCHEDULED})), ElementsAre());
  EXPECT_THAT(Ids(Windows({W::PUBLISH_WINDOW_LIVE})),
              ElementsAre("now", "plain", "soon", "window"));
  EXPECT_THAT(Ids(Windows({W::PUBLISH_WINDOW_EXPIRED})),
              ElementsAre("gone", "gone-now", "soon-by-1ns"));
}

// An article withdrawn (deleted) before its publish time never came out:
// its tombstone stays SCHEDULED once the time passes, as readers never
// see it (store::IsLiveContent); one deleted while live keeps its window.
TEST_F(PublishWindowTest, TombstoneDeletedWhileEmbargoedStaysScheduled) {
  Make("embargoed", 1, kHour, std::nullopt);
  Make("shown", 2, -kHour, std::nullopt);
  ASSERT_TRUE(ts_.store().Delete("embargoed", {}).ok());
  ASSERT_TRUE(ts_.store().Delete("shown", {}).ok());
  clock_.store(kNow1 + 2 * kHour);
  Query q = Windows({Query::PUBLISH_WINDOW_SCHEDULED});
  q.set_include_deleted(true);
  EXPECT_THAT(Ids(q), ElementsAre("embargoed"));
  q.set_windows(0, Query::PUBLISH_WINDOW_LIVE);
  EXPECT_THAT(Ids(q), ElementsAre("shown"));
}

// The instant a query's windows are judged at is the first page's, carried
// in its token: an article whose publish time passes while a client pages
// stays in the scheduled result it was in, on a later page. A new query
// takes a new instant. What a reader may see is still decided per page.
TEST_F(PublishWindowTest, OneInstantForEveryPageOfAQuery) {
  for (int i = 1; i <= 4; ++i) {
    Make(absl::StrCat("s", i), i, i * kNanosPerSecond, std::nullopt);
  }
  Make("r1", 11, std::nullopt, std::nullopt);
  Make("r2", 12, std::nullopt, 5 * kNanosPerSecond);
  // Pages of one article from the clock at kNow1, the clock moved past
  // every time above after the first.
  const auto paged = [&](const Query& q) {
    clock_.store(kNow1);
    std::vector<std::string> ids;
    std::string token;
    do {
      absl::StatusOr<QueryPage> page = RunQuery(ts_.store(), q, 1, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const Article& a : page->articles) ids.push_back(IdOf(a));
      token = page->next_page_token;
      clock_.store(kNow1 + 10 * kNanosPerSecond);
    } while (!token.empty() && ids.size() < 10);
    return ids;
  };
  const Query scheduled = Windows({Query::PUBLISH_WINDOW_SCHEDULED});
  EXPECT_THAT(paged(scheduled), ElementsAre("s1", "s2", "s3", "s4"));
  EXPECT_THAT(Ids(scheduled), ElementsAre());  // a new query, a new instant
  const Query live = Windows({Query::PUBLISH_WINDOW_LIVE});
  EXPECT_THAT(paged(live), ElementsAre("r1", "r2"));
  EXPECT_THAT(Ids(live), ElementsAre("r1", "s1", "s2", "s3", "s4"));
  // A reader's windows keep the instant too, but what a reader may see is
  // decided at each page: r2 expired between the pages.
  const Query reader =
      Windows({Query::PUBLISH_WINDOW_LIVE}, {}, v1::VISIBILITY_UNSPECIFIED);
  EXPECT_THAT(paged(reader), ElementsAre("r1"));
}

// Scheduled articles alone come from the schedule list (Store keeps it for
// its scheduler), not from a walk of every article under the candidate
// budget: on a store of many live articles and a few scheduled ones every
// page but the last is full, in the order and with the tokens of the walk,
// which a budget below the list's length still takes and which returns the
// same articles. Drafts with a publish time, tombstones deleted while
// embargoed, articles rescheduled, unscheduled or published since, and
// tags, dates and order are judged as on any candidate.
TEST_F(PublishWindowTest, ScheduledAloneReadsTheScheduleListNotEveryArticle) {
  for (int i = 0; i < 300; ++i) {
    Make(absl::StrCat("live", i), 1000 + i,
         i % 3 == 0 ? std::optional<int64_t>(-kHour) : std::nullopt,
         i % 5 == 0 ? std::optional<int64_t>(kHour) : std::nullopt);
  }
  // Scheduled, dated among the live articles (`age` orders them).
  for (int i = 0; i < 7; ++i) {
    Make(absl::StrCat("sched", i), 1010 + 40 * i, (i + 1) * kHour,
         i == 3 ? std::optional<int64_t>(48 * kHour) : std::nullopt);
  }
  Make("wip", 1020, kHour, std::nullopt, Article::DRAFT);
  Make("shelved", 1030, kHour, std::nullopt, Article::ARCHIVED);
  Make("embargoed", 1040, kHour, std::nullopt);
  ASSERT_TRUE(ts_.store().Delete("embargoed", {}).ok());
  // Written scheduled, then: rescheduled later, unscheduled, unpublished,
  // deleted and undeleted, restored to the scheduled revision.
  Make("moved", 1055, kHour, std::nullopt);
  Make("cleared", 1060, kHour, std::nullopt);
  Make("unpublished", 1070, kHour, std::nullopt);
  Make("back", 1080, kHour, std::nullopt);
  Make("restored", 1095, kHour, std::nullopt);
  // Written scheduled two hours ago, live since an hour: its entry stays
  // in the list, behind the query's instant.
  clock_.store(kNow1 - 2 * kHour);
  Make("came-out", 1100, -kHour, std::nullopt);
  clock_.store(kNow1);
  auto update = [&](const std::string& id, auto edit) {
    absl::StatusOr<Article> a = ts_.store().Get(id, 0, false);
    ASSERT_TRUE(a.ok()) << a.status();
    edit(&*a);
    ASSERT_TRUE(ts_.store().Update(id, *a, {}).ok()) << id;
  };
  update("moved", [](Article* a) {
    *a->mutable_publish_time() = NanosTs(kNow1 + 30 * kHour);
  });
  update("cleared", [](Article* a) { a->clear_publish_time(); });
  update("unpublished", [](Article* a) { a->set_state(Article::DRAFT); });
  ASSERT_TRUE(ts_.store().Delete("back", {}).ok());
  ASSERT_TRUE(ts_.store().Undelete("back", {}).ok());
  update("restored", [](Article* a) { a->clear_publish_time(); });
  ASSERT_TRUE(ts_.store().Restore("restored", 1, {}).ok());
  update("sched5", [](Article* a) { a->add_tags("late"); });
  // A draft published since; imported alone and in a batch big enough to
  // be ingested (Store::Apply).
  Make("published", 1120, kHour, std::nullopt, Article::DRAFT);
  update("published", [](Article* a) { a->set_state(Article::PUBLISHED); });
  ImportAloneAndIngested(
      [](Article* a) { *a->mutable_publish_time() = NanosTs(kNow1 + kHour); });

  // WalkPages moves the clock past the publish times of sched0, sched1,
  // back and restored after the first page: the query keeps its instant.
  QueryOptions list;  // the list holds 13 entries still to come
  list.page_size = 2;
  list.max_candidates_per_page = 50;
  QueryOptions scan = list;  // a budget below the list: the walk
  scan.max_candidates_per_page = 5;

  Query q = Windows({Query::PUBLISH_WINDOW_SCHEDULED});
  const Walk fast = WalkPages(q, list);
  EXPECT_THAT(fast.ids,
              ElementsAre("sched0", "sched1", "moved", "back", "sched2",
                          "restored", "published", "sched3", "sched4", "sched5",
                          "sched6", "imported", "imp7"));
  EXPECT_THAT(fast.sizes, ElementsAre(2, 2, 2, 2, 2, 2, 1));
  const Walk slow = WalkPages(q, scan);
  EXPECT_EQ(slow.ids, fast.ids);
  EXPECT_GT(slow.sizes.size(), 60u);  // 400 articles, 5 a page

  q.set_order(Query::ORDER_OLDEST_FIRST);
  q.add_states(Article::PUBLISHED);
  const Walk oldest = WalkPages(q, list);
  EXPECT_THAT(oldest.ids,
              ElementsAre("imp7", "imported", "sched6", "sched5", "sched4",
                          "sched3", "published", "restored", "sched2", "back",
                          "moved", "sched1", "sched0"));
  EXPECT_THAT(oldest.sizes, ElementsAre(2, 2, 2, 2, 2, 2, 1));
  EXPECT_EQ(WalkPages(q, scan).ids, oldest.ids);

  // With a tag, a date range, or text, the list is one filter among them.
  Query tagged = Windows({Query::PUBLISH_WINDOW_SCHEDULED});
  tagged.add_tags("news");
  tagged.add_tags("late");
  tagged.set_tag_match(Query::TAG_MATCH_ALL);
  EXPECT_THAT(WalkPages(tagged, list).ids, ElementsAre("sched5"));
  EXPECT_EQ(WalkPages(tagged, scan).ids, WalkPages(tagged, list).ids);
  Query dated = Windows({Query::PUBLISH_WINDOW_SCHEDULED});
  *dated.mutable_date_from() = Ts(kEpoch2020 - 1130);
  *dated.mutable_date_to() = Ts(kEpoch2020 - 1050);
  dated.add_not_tags("late");
  const Walk in_range = WalkPages(dated, list);
  EXPECT_THAT(in_range.ids, ElementsAre("moved", "back", "sched2", "restored",
                                        "published", "sched3"));
  EXPECT_EQ(WalkPages(dated, scan).ids, in_range.ids);

  // total_size counts the scheduled articles on the first page; two hours
  // and a half on, seven of them are live.
  list.page_token.clear();
  clock_.store(kNow1);
  absl::StatusOr<QueryPage> first =
      RunQuery(ts_.store(), Windows({Query::PUBLISH_WINDOW_SCHEDULED}), list);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->total_size, 13);
  clock_.store(kNow1 + 150 * 60 * kNanosPerSecond);
  first =
      RunQuery(ts_.store(), Windows({Query::PUBLISH_WINDOW_SCHEDULED}), list);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->total_size, 6);

  // States beside PUBLISHED, and deleted articles, walk the lists.
  Query drafts = Windows({Query::PUBLISH_WINDOW_SCHEDULED},
                         {Article::PUBLISHED, Article::DRAFT});
  const Walk with_drafts = WalkPages(drafts, list);
  EXPECT_EQ(with_drafts.ids.size(), 15u);  // and wip, unpublished
  EXPECT_GT(with_drafts.sizes.size(), 6u);
  Query deleted = Windows({Query::PUBLISH_WINDOW_SCHEDULED});
  deleted.set_include_deleted(true);
  const Walk with_deleted = WalkPages(deleted, list);
  EXPECT_EQ(with_deleted.ids.size(), 14u);
  EXPECT_NE(
      std::find(with_deleted.ids.begin(), with_deleted.ids.end(), "embargoed"),
      with_deleted.ids.end());
}

// EXPIRED asked alone reads the expiry list (every live article with an
// expiry time, past or future: keys.h) instead of every article: each page
// but the last is full, in the order and with the tokens of the walk, which
// a budget below the list's length still takes and which returns the same
// articles. Articles written already expired (which the scheduler's list
// leaves out), expired by an update, deleted and undeleted, restored,
// published from a draft, imported alone and ingested, and kept by an
// update whose old revision retention removed come; drafts, archived and
// deleted articles, expiries cleared or moved into the future do not.
TEST_F(PublishWindowTest, ExpiredAloneReadsTheExpiryListNotEveryArticle) {
  ASSERT_TRUE(ts_.store().expiry_list());
  for (int i = 0; i < 300; ++i) {
    Make(absl::StrCat("live", i), 1000 + i,
         i % 3 == 0 ? std::optional<int64_t>(-kHour) : std::nullopt,
         i % 25 == 0 ? std::optional<int64_t>(kHour) : std::nullopt);
  }
  // Written expired, dated among the live articles (`age` orders them).
  for (int i = 0; i < 7; ++i) {
    Make(absl::StrCat("exp", i), 1010 + 40 * i,
         i % 2 == 0 ? std::optional<int64_t>(-48 * kHour) : std::nullopt,
         -(i + 1) * kHour);
  }
  Make("wip", 1020, std::nullopt, -kHour, Article::DRAFT);
  Make("shelved", 1030, std::nullopt, -kHour, Article::ARCHIVED);
  Make("gone", 1040, std::nullopt, -kHour);
  // Written expiring later, then expired; and the other way round.
  Make("moved", 1055, std::nullopt, 5 * kHour);
  Make("extended", 1058, std::nullopt, -kHour);
  Make("cleared", 1060, std::nullopt, -kHour);
  Make("unpublished", 1070, std::nullopt, -kHour);
  Make("back", 1080, std::nullopt, -kHour);
  Make("restored", 1095, std::nullopt, -kHour);
  Make("kept", 1135, std::nullopt, -kHour);
  Make("purged", 1145, std::nullopt, -kHour);
  Make("sched", 1155, kHour, 2 * kHour);
  // Written two hours ago expiring in one: expired since.
  clock_.store(kNow1 - 2 * kHour);
  Make("came-due", 1100, std::nullopt, -kHour);
  clock_.store(kNow1);
  auto update = [&](const std::string& id, auto edit) {
    absl::StatusOr<Article> a = ts_.store().Get(id, 0, false);
    ASSERT_TRUE(a.ok()) << a.status();
    edit(&*a);
    ASSERT_TRUE(ts_.store().Update(id, *a, {}).ok()) << id;
  };
  update("moved", [](Article* a) {
    *a->mutable_expiry_time() = NanosTs(kNow1 - 30 * 60 * kNanosPerSecond);
  });
  update("extended", [](Article* a) {
    *a->mutable_expiry_time() = NanosTs(kNow1 + 30 * kHour);
  });
  update("cleared", [](Article* a) { a->clear_expiry_time(); });
  update("unpublished", [](Article* a) { a->set_state(Article::DRAFT); });
  ASSERT_TRUE(ts_.store().Delete("back", {}).ok());
  ASSERT_TRUE(ts_.store().Undelete("back", {}).ok());
  update("restored", [](Article* a) { a->clear_expiry_time(); });
  ASSERT_TRUE(ts_.store().Restore("restored", 1, {}).ok());
  update("exp5", [](Article* a) { a->add_tags("late"); });
  // kept's entry names revision 1, which retention removes; purged goes
  // with its history.
  update("kept", [](Article* a) { a->add_tags("kept"); });
  ASSERT_TRUE(ts_.store().Delete("purged", {}).ok());
  clock_.store(kNow1 + kHour);
  store::RetentionPolicy policy;
  policy.keep_revisions = 1;
  policy.purge_deleted_after = absl::Minutes(1);
  absl::StatusOr<store::RetentionResult> kept =
      ts_.store().ApplyRetention(policy);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->articles_purged, 1);
  clock_.store(kNow1);
  ASSERT_TRUE(ts_.store().Delete("gone", {}).ok());
  // A draft published since; imported alone and in a batch big enough to
  // be ingested (Store::Apply).
  Make("published", 1120, std::nullopt, -kHour, Article::DRAFT);
  update("published", [](Article* a) { a->set_state(Article::PUBLISHED); });
  ImportAloneAndIngested(
      [](Article* a) { *a->mutable_expiry_time() = NanosTs(kNow1 - kHour); });

  // WalkPages moves the clock past the expiry times of twelve live
  // articles and sched after the first page: the query keeps its instant.
  QueryOptions list;  // the list holds 15 entries expired at kNow1
  list.page_size = 2;
  list.max_candidates_per_page = 50;
  QueryOptions scan = list;  // a budget below the list: the walk
  scan.max_candidates_per_page = 5;

  Query q = Windows({Query::PUBLISH_WINDOW_EXPIRED});
  const Walk fast = WalkPages(q, list);
  EXPECT_THAT(fast.ids,
              ElementsAre("exp0", "exp1", "moved", "back", "exp2", "restored",
                          "came-due", "published", "exp3", "kept", "exp4",
                          "exp5", "exp6", "imported", "imp7"));
  EXPECT_THAT(fast.sizes, ElementsAre(2, 2, 2, 2, 2, 2, 2, 1));
  const Walk slow = WalkPages(q, scan);
  EXPECT_EQ(slow.ids, fast.ids);
  EXPECT_GT(slow.sizes.size(), 60u);  // 400 articles, 5 a page

  q.set_order(Query::ORDER_OLDEST_FIRST);
  q.add_states(Article::PUBLISHED);
  const Walk oldest = WalkPages(q, list);
  EXPECT_THAT(oldest.ids,
              ElementsAre("imp7", "imported", "exp6", "exp5", "exp4", "kept",
                          "exp3", "published", "came-due", "restored", "exp2",
                          "back", "moved", "exp1", "exp0"));
  EXPECT_THAT(oldest.sizes, ElementsAre(2, 2, 2, 2, 2, 2, 2, 1));
  EXPECT_EQ(WalkPages(q, scan).ids, oldest.ids);

  // With a tag, a date range, or text, the list is one filter among them.
  Query tagged = Windows({Query::PUBLISH_WINDOW_EXPIRED});
  tagged.add_tags("news");
  tagged.add_tags("late");
  tagged.set_tag_match(Query::TAG_MATCH_ALL);
  EXPECT_THAT(WalkPages(tagged, list).ids, ElementsAre("exp5"));
  EXPECT_EQ(WalkPages(tagged, scan).ids, WalkPages(tagged, list).ids);
  Query dated = Windows({Query::PUBLISH_WINDOW_EXPIRED});
  *dated.mutable_date_from() = Ts(kEpoch2020 - 1135);
  *dated.mutable_date_to() = Ts(kEpoch2020 - 1050);
  dated.add_not_tags("kept");
  const Walk in_range = WalkPages(dated, list);
  EXPECT_THAT(in_range.ids, ElementsAre("moved", "back", "exp2", "restored",
                                        "came-due", "published", "exp3"));
  EXPECT_EQ(WalkPages(dated, scan).ids, in_range.ids);
  Query text = Windows({Query::PUBLISH_WINDOW_EXPIRED});
  text.set_text("imported");
  EXPECT_THAT(WalkPages(text, list).ids, ElementsAre("imported", "imp7"));
  EXPECT_EQ(WalkPages(text, scan).ids, WalkPages(text, list).ids);

  // total_size counts the expired articles on the first page; two hours and
  // a half on, twelve live articles and sched have expired too.
  list.page_token.clear();
  clock_.store(kNow1);
  absl::StatusOr<QueryPage> first =
      RunQuery(ts_.store(), Windows({Query::PUBLISH_WINDOW_EXPIRED}), list);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->total_size, 15);
  clock_.store(kNow1 + 150 * 60 * kNanosPerSecond);
  first = RunQuery(ts_.store(), Windows({Query::PUBLISH_WINDOW_EXPIRED}), list);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->total_size, 28);

  // States beside PUBLISHED, and deleted articles, walk the lists.
  Query drafts = Windows({Query::PUBLISH_WINDOW_EXPIRED},
                         {Article::PUBLISHED, Article::DRAFT});
  const Walk with_drafts = WalkPages(drafts, list);
  EXPECT_EQ(with_drafts.ids.size(), 17u);  // and wip, unpublished
  EXPECT_GT(with_drafts.sizes.size(), 8u);
  Query deleted = Windows({Query::PUBLISH_WINDOW_EXPIRED});
  deleted.set_include_deleted(true);
  const Walk with_deleted = WalkPages(deleted, list);
  EXPECT_EQ(with_deleted.ids.size(), 16u);
  EXPECT_NE(std::find(with_deleted.ids.begin(), with_deleted.ids.end(), "gone"),
            with_deleted.ids.end());

  // The store's indexes hold what its heads call for.
  absl::StatusOr<store::FsckReport> report = store::CheckStore(ts_.store());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
}

// ---- Stream operators ------------------------------------------------------

// A small index: every article gets tags by id, several per date.
class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(77);
    for (int i = 0; i < 120; ++i) {
      Article a;
      a.set_title("s");
      const std::string id = absl::StrCat("s", (i * 37) % 120);
      for (int t = 0; t < 6; ++t)
        if (rng() % (t + 2) == 0) a.add_tags(absl::StrCat("t", t));
      *a.mutable_date() = Ts(kEpoch2020 + 3600 * (rng() % 40));
      absl::StatusOr<Article> r = ts_.store().Create(id, a);
      ASSERT_TRUE(r.ok()) << r.status();
      if (i % 7 == 0) {
        ASSERT_TRUE(ts_.store().Update(id, a, {}).ok());  // no-op
        a.set_body("changed");
        r = ts_.store().Update(id, a, {});
        ASSERT_TRUE(r.ok());
      }
      heads_[id] = *r;
    }
    view_ = ts_.store().NewReadView();
  }

  std::unique_ptr<Stream> Tag(int t, bool reverse, DateKeyRange range = {}) {
    return NewTermStream(
        *view_,
        store::PostingPrefix(IndexKind::kTag, false, absl::StrCat("t", t)),
        range, reverse);
  }

  // Cursors of the articles with tag t, in stream order.
  std::vector<Cursor> Expected(const std::set<std::string>& ids, bool reverse,
                               DateKeyRange range = {}) {
    std::vector<Cursor> out;
    for (const std::string& id : ids) {
      const uint64_t k = store::DateKey(heads_[id].date());
      if (k < range.lo || (range.hi != 0 && k >= range.hi)) continue;
      out.push_back({k, id});
    }
    std::sort(out.begin(), out.end(), [&](const Cursor& a, const Cursor& b) {
      return Compare(a, b, reverse) < 0;
    });
    return out;
  }

  std::set<std::string> WithTag(int t) {
    std::set<std::string> out;
    for (const auto& [id, a] : heads_) {
      for (const std::string& tag : a.tags())
        if (tag == absl::StrCat("t", t)) out.insert(id);
    }
    return out;
  }

  static std::vector<Cursor> Drain(Stream& s) {
    std::vector<Cursor> out;
    for (; s.Valid(); s.Next()) out.push_back(s.cursor());
    EXPECT_TRUE(s.status().ok()) << s.status();
    return out;
  }

  static bool Same(const std::vector<Cursor>& a, const std::vector<Cursor>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (Compare(a[i], b[i], false) != 0) return false;
    return true;
  }

  TempStore ts_;
  std::map<std::string, Article> heads_;
  std::unique_ptr<store::ReadView> view_;
};

TEST_F(StreamTest, TermStreamListsPostingsInOrderWithRevisions) {
  for (bool reverse : {false, true}) {
    for (int t = 0; t < 6; ++t) {
      std::unique_ptr<Stream> s = Tag(t, reverse);
      EXPECT_EQ(s->EstimatedSize(), static_cast<int64_t>(WithTag(t).size()));
      std::vector<Cursor> want = Expected(WithTag(t), reverse);
      size_t i = 0;
      for (; s->Valid(); s->Next(), ++i) {
        ASSERT_LT(i, want.size());
        EXPECT_EQ(Compare(s->cursor(), want[i], reverse), 0);
        // Written at the create: the body edits kept every entry.
        EXPECT_EQ(s->revision(), 1);
        EXPECT_LE(s->revision(), heads_[s->cursor().id].revision());
      }
      EXPECT_EQ(i, want.size());
    }
  }
  // A term nobody has.
  std::unique_ptr<Stream> none = NewTermStream(
      *view_, store::PostingPrefix(IndexKind::kTag, false, "t"), {}, false);
  EXPECT_FALSE(none->Valid());
}

TEST_F(StreamTest, TermStreamHonoursDateRange) {
  DateKeyRange range;
  range.lo = store::DateKey(Ts(kEpoch2020 + 3600 * 30)) + 1;  // before 30h
  range.hi = store::DateKey(Ts(kEpoch2020 + 3600 * 10)) + 1;  // from 10h
  for (bool reverse : {false, true}) {
    std::unique_ptr<Stream> s = Tag(0, reverse, range);
    std::vector<Cursor> want = Expected(WithTag(0), reverse, range);
    EXPECT_FALSE(want.empty());
    EXPECT_TRUE(Same(Drain(*s), want));
  }
}

TEST_F(StreamTest, SeekNeverMovesBackwards) {
  for (bool reverse : {false, true}) {
    std::unique_ptr<Stream> s = Tag(0, reverse);
    std::vector<Cursor> want = Expected(WithTag(0), reverse);
    ASSERT_GT(want.size(), 5u);
    s->Next();
    s->Next();
    s->Next();
    ASSERT_EQ(Compare(s->cursor(), want[3], reverse), 0);
    s->Seek(want[1]);  // behind: stays
    EXPECT_EQ(Compare(s->cursor(), want[3], reverse), 0);
    s->Seek(want[3]);  // here: stays
    EXPECT_EQ(Compare(s->cursor(), want[3], reverse), 0);
    // Strictly between two entries: lands on the later one. `id + "\x01"`
    // is the next key after `id` that any other id could not fall under.
    Cursor between = reverse ? want[4] : want[3];
    between.id += '\x01';
    s->Seek(between);
    EXPECT_EQ(Compare(s->cursor(), want[4], reverse), 0);
    const Cursor past = reverse ? Cursor{0, ""} : Cursor{UINT64_MAX, "~"};
    s->Seek(past);
    EXPECT_FALSE(s->Valid());
  }
}

// Random trees of AND/OR over term streams, driven by random Next/Seek,
// against sets.
TEST_F(StreamTest, AndOrMatchSetAlgebraUnderRandomSeeks) {
  std::mt19937 rng(99);
  std::vector<std::string> all_ids;
  for (const auto& [id, a] : heads_) all_ids.push_back(id);
  for (int round = 0; round < 400; ++round) {
    const bool reverse = rng() % 2 == 1;
    // AND of 1-3 groups, each an OR of 1-3 tags.
    std::vector<std::unique_ptr<Stream>> groups;
    std::set<std::string> want_ids(all_ids.begin(), all_ids.end());
    std::string shape;
    const int ngroups = 1 + rng() % 3;
    for (int g = 0; g < ngroups; ++g) {
      std::vector<std::unique_ptr<Stream>> terms;
      std::set<std::string> any;
      const int nterms = 1 + rng() % 3;
      absl::StrAppend(&shape, g ? " AND (" : "(");
      for (int k = 0; k < nterms; ++k) {
        const int t = rng() % 6;
        absl::StrAppend(&shape, k ? " OR t" : "t", t);
        terms.push_back(Tag(t, reverse));
        for (const std::string& id : WithTag(t)) any.insert(id);
      }
      shape += ")";
      groups.push_back(NewOrStream(std::move(terms), reverse));
      std::set<std::string> both;
      std::set_intersection(want_ids.begin(), want_ids.end(), any.begin(),
                            any.end(), std::inserter(both, both.end()));
      want_ids = std::move(both);
    }
    SCOPED_TRACE(
        absl::StrCat("round ", round, " ", shape, reverse ? " reverse" : ""));
    std::unique_ptr<Stream> s = NewAndStream(std::move(groups), reverse);
    const std::vector<Cursor> want = Expected(want_ids, reverse);

    // Position in `want` of the stream; want.size() once it ended.
    size_t pos = 0;
    for (int step = 0; step < 60; ++step) {
      if (pos < want.size()) {
        ASSERT_TRUE(s->Valid());
        ASSERT_EQ(Compare(s->cursor(), want[pos], reverse), 0)
            << "at " << s->cursor().id << " want " << want[pos].id;
        EXPECT_EQ(s->revision(), 1);  // as above
      } else {
        ASSERT_FALSE(s->Valid());
        break;
      }
      if (rng() % 2 == 0) {
        s->Next();
        ++pos;
        continue;
      }
      // Seek to a random cursor: an article's own, or just beside it.
      Cursor target;
      const Article& a = heads_[all_ids[rng() % all_ids.size()]];
      target.date_key = store::DateKey(a.date());
      target.id = IdOf(a);
      if (rng() % 3 == 0) target.id += "0";
      if (rng() % 5 == 0) target.date_key += (rng() % 2 ? 1 : -1);
      s->Seek(target);
      // First entry at or after max(current, target).
      while (pos < want.size() && Compare(want[pos], target, reverse) < 0)
        ++pos;
    }
    EXPECT_TRUE(s->status().ok());
  }
}

// NOT: random (OR of tags) minus (OR of tags), under random seeks, and
// the planner's AND order does not change results.
TEST_F(StreamTest, DifferenceMatchesSetDifferenceUnderRandomSeeks) {
  std::mt19937 rng(5);
  std::vector<std::string> all_ids;
  for (const auto& [id, a] : heads_) all_ids.push_back(id);
  for (int round = 0; round < 300; ++round) {
    const bool reverse = rng() % 2 == 1;
    std::vector<std::unique_ptr<Stream>> base, minus;
    std::set<std::string> want_ids, drop;
    std::string shape;
    for (int k = 0, n = 1 + rng() % 2; k < n; ++k) {
      const int t = rng() % 6;
      absl::StrAppend(&shape, " +t", t);
      base.push_back(Tag(t, reverse));
      for (const std::string& id : WithTag(t)) want_ids.insert(id);
    }
    for (int k = 0, n = 1 + rng() % 2; k < n; ++k) {
      const int t = rng() % 6;
      absl::StrAppend(&shape, " -t", t);
      minus.push_back(Tag(t, reverse));
      for (const std::string& id : WithTag(t)) drop.insert(id);
    }
    for (const std::string& id : drop) want_ids.erase(id);
    SCOPED_TRACE(absl::StrCat("round ", round, shape, reverse ? " rev" : ""));
    std::unique_ptr<Stream> s =
        NewDifferenceStream(NewOrStream(std::move(base), reverse),
                            NewOrStream(std::move(minus), reverse), reverse);
    const std::vector<Cursor> want = Expected(want_ids, reverse);
    size_t pos = 0;
    for (int step = 0; step < 60; ++step) {
      if (pos >= want.size()) {
        ASSERT_FALSE(s->Valid());
        break;
      }
      ASSERT_TRUE(s->Valid());
      ASSERT_EQ(Compare(s->cursor(), want[pos], reverse), 0);
      if (rng() % 2 == 0) {
        s->Next();
        ++pos;
        continue;
      }
      const Article& a = heads_[all_ids[rng() % all_ids.size()]];
      Cursor target{store::DateKey(a.date()), IdOf(a)};
      if (rng() % 3 == 0) target.id += "0";
      s->Seek(target);
      while (pos < want.size() && Compare(want[pos], target, reverse) < 0)
        ++pos;
    }
    EXPECT_TRUE(s->status().ok());
  }
  // An empty exclusion leaves the base as it is.
  std::unique_ptr<Stream> d = NewDifferenceStream(
      Tag(0, false),
      NewTermStream(*view_, store::PostingPrefix(IndexKind::kTag, false, "no"),
                    {}, false),
      false);
  EXPECT_TRUE(Same(Drain(*d), Expected(WithTag(0), false)));
}

TEST_F(StreamTest, AndIsLedByTheSmallestListInAnyChildOrder) {
  // Same answer whatever order the children come in; the estimate is the
  // smallest child's count.
  std::vector<int> order = {0, 3, 5};
  std::vector<Cursor> first;
  do {
    std::vector<std::unique_ptr<Stream>> children;
    int64_t smallest = INT64_MAX;
    for (int t : order) {
      children.push_back(Tag(t, false));
      smallest = std::min(smallest, children.back()->EstimatedSize());
    }
    std::unique_ptr<Stream> s = NewAndStream(std::move(children), false);
    EXPECT_EQ(s->EstimatedSize(), smallest);
    std::vector<Cursor> got = Drain(*s);
    if (first.empty()) first = got;
    EXPECT_TRUE(Same(got, first));
  } while (std::next_permutation(order.begin(), order.end()));
}

// ---- Page tokens
// -------------------------------------------------------------

TEST(PageTokenTest, SealOpenRoundTripAndKeyBinding) {
  const std::string key(32, 'k');
  for (const std::string& payload :
       {std::string(), std::string("x"), std::string(100, '\0'),
        std::string("\xff\x00\x01 page", 8)}) {
    const std::string token = SealPageToken(payload, key);
    absl::StatusOr<std::string> opened = OpenPageToken(token, key);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, payload);
    EXPECT_EQ(OpenPageToken(token, std::string(32, 'K')).status().code(),
              absl::StatusCode::kInvalidArgument);
    for (char c : token) {
      EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '-' || c == '_')
          << token;
    }
  }
  // The payload cannot be read from the token: it may name a term or an
  // article the caller must not see.
  const std::string hidden = std::string("tags/\0acme-merger", 17);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(SealPageToken(hidden, key), &raw));
  EXPECT_EQ(raw.find("acme"), std::string::npos);
  EXPECT_EQ(SealPageToken(hidden, key), SealPageToken(hidden, key));
  EXPECT_NE(SealPageToken(hidden, key), SealPageToken("tags/x", key));
  // Any flipped bit is refused.
  const std::string token = SealPageToken(hidden, key);
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string altered = raw;
    altered[i] ^= 0x20;
    EXPECT_EQ(
        OpenPageToken(absl::WebSafeBase64Escape(altered), key).status().code(),
        absl::StatusCode::kInvalidArgument)
        << i;
  }
  // No token starts with `-`, which a command line takes for a flag
  // (`--page-token -Xyz`); about one in 64 did.
  for (int i = 0; i < 2000; ++i) {
    const std::string payload = absl::StrCat("page ", i);
    const std::string t = SealPageToken(payload, key);
    ASSERT_NE(t[0], '-') << payload;
    absl::StatusOr<std::string> opened = OpenPageToken(t, key);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, payload);
  }
  Query a, b;
  b.add_tags("x");
  EXPECT_EQ(Fingerprint(a), Fingerprint(Query()));
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
}

// A store over an engine the test also writes to directly.
struct EngineStore {
  std::string dir = MakeTempDir();
  store::KvEngine* engine = nullptr;
  std::unique_ptr<Store> store;
  void Open() {
    store::RocksKvOptions kv_options;
    kv_options.path = dir;
    kv_options.block_cache_bytes = size_t{8} << 20;
    absl::StatusOr<std::unique_ptr<store::KvEngine>> kv =
        store::OpenRocksKv(kv_options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    engine = kv->get();
    store::StoreOptions options;
    options.data_dir = dir;
    options.sync = false;
    absl::StatusOr<std::unique_ptr<Store>> st =
        Store::Open(*std::move(kv), options);
    ASSERT_TRUE(st.ok()) << st.status();
    store = *std::move(st);
  }
  ~EngineStore() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// An import batch's text postings are visible a moment before the batch
// commits (KvEngine::Ingest). A text query that meets one whose article has
// no head yet skips it, in every read mode, rather than failing.
TEST(QueryIngestTest, TextPostingsWhoseArticleIsNotCommittedAreSkipped) {
  EngineStore es;
  ASSERT_NO_FATAL_FAILURE(es.Open());
  store::KvEngine* engine = es.engine;
  std::unique_ptr<Store>* st = &es.store;
  Article a;
  a.set_title("storage engine");
  a.add_lang("en");
  *a.mutable_date() = Ts(kEpoch2020);
  ASSERT_TRUE((*st)->Create("real", a).ok());

  store::KvBatch puts;
  const std::string prefix =
      store::PostingPrefix(IndexKind::kText, store::ListState::kLive, "engine");
  for (const char* id : {"ghost1", "zghost"}) {
    puts.Put(store::Family::kPostings,
             store::PostingKey(prefix, store::DateKey(Ts(kEpoch2020 + 1)), id),
             std::string(8, '\0'));
  }
  absl::StatusOr<std::string> ticket =
      engine->Ingest(store::Family::kPostings, puts);
  ASSERT_TRUE(ticket.ok()) << ticket.status();
  Query q;
  q.set_text("engine");
  for (const bool raw : {false, true}) {
    for (const bool facets : {false, true}) {
      QueryOptions o;
      o.raw = raw;
      if (facets) o.facets.push_back(v1::FACET_FIELD_LANG);
      absl::StatusOr<QueryPage> page = RunQuery(**st, q, o);
      ASSERT_TRUE(page.ok()) << page.status() << " raw " << raw;
      EXPECT_EQ(raw ? page->raw_articles.size() : page->articles.size(), 1u);
      if (facets) {
        ASSERT_EQ(page->facets.size(), 1u);
        EXPECT_EQ(page->facet_articles_counted, 1);
      }
    }
  }
  engine->EndIngest(*ticket, false);
}

// Tag ALL answers exactly whatever the tag postings carry: fingerprints
// (written now), the revision alone (written before fingerprints), or
// fingerprints claiming a tag the article lacks (a collision, forged here).
TEST(QueryTagFingerprintTest, AllTagsIsExactWithOldPostingsAndCollisions) {
  EngineStore es;
  ASSERT_NO_FATAL_FAILURE(es.Open());
  store::KvEngine* engine = es.engine;
  std::unique_ptr<Store>* st = &es.store;

  std::mt19937 rng(4242);
  const std::vector<std::string> tags = {"x", "y", "z"};
  std::map<std::string, Article> heads;
  for (int i = 0; i < 90; ++i) {
    Article a;
    a.set_title("t");
    // x is the rarest, so it leads the ANDs (its postings are checked on
    // fingerprints).
    for (const std::string& t : tags)
      if (rng() % (t == "x" ? 4 : 2) == 0) a.add_tags(t);
    *a.mutable_date() = Ts(kEpoch2020 + 60 * (rng() % 50));
    const std::string id = absl::StrCat("f", i);
    absl::StatusOr<Article> r = (*st)->Create(id, a);
    ASSERT_TRUE(r.ok()) << r.status();
    heads[id] = *r;
  }
  auto has = [](const Article& a, const std::string& t) {
    return std::find(a.tags().begin(), a.tags().end(), t) != a.tags().end();
  };
  // Every third article's tag postings as written before fingerprints, and
  // one article with x but not y whose x posting claims y too.
  store::KvBatch rewrite;
  std::string forged;
  int old_format = 0;
  for (const auto& head : heads) {
    // Named, not a structured binding: the lambda below captures the id,
    // which C++17 (and clang, the sanitized tree's compiler) does not allow.
    const std::string& id = head.first;
    const auto& a = head.second;
    std::string revision;
    store::AppendBigEndian64(&revision, static_cast<uint64_t>(a.revision()));
    const uint64_t date = store::DateKey(a.date());
    auto key = [&](const std::string& t) {
      return store::PostingKey(
          store::PostingPrefix(IndexKind::kTag, store::ListState::kLive, t),
          date, id);
    };
    if (forged.empty() && has(a, "x") && !has(a, "y")) {
      forged = id;
      google::protobuf::RepeatedPtrField<std::string> claimed = a.tags();
      *claimed.Add() = "y";
      rewrite.Put(store::Family::kPostings, key("x"),
                  revision + store::TagFingerprints(claimed));
      continue;
    }
    if (std::stoi(id.substr(1)) % 3 != 0) continue;
    for (const std::string& t : a.tags()) {
      rewrite.Put(store::Family::kPostings, key(t), revision);
      ++old_format;
    }
  }
  ASSERT_FALSE(forged.empty());
  ASSERT_GT(old_format, 20);
  ASSERT_TRUE(engine->Write(std::move(rewrite), /*sync=*/false).ok());

  const std::vector<std::vector<std::string>> queries = {
      {"x", "y"}, {"y", "x"}, {"x", "z"}, {"x", "y", "z"}};
  for (const std::vector<std::string>& wanted_tags : queries) {
    std::vector<std::string> want;
    for (const auto& [id, a] : heads) {
      bool all = true;
      for (const std::string& t : wanted_tags) all = all && has(a, t);
      if (all) want.push_back(id);
    }
    std::sort(want.begin(), want.end(),
              [&](const std::string& a, const std::string& b) {
                const uint64_t ka = store::DateKey(heads[a].date());
                const uint64_t kb = store::DateKey(heads[b].date());
                return ka != kb ? ka < kb : a < b;  // newest first
              });
    for (const bool raw : {false, true}) {
      for (const int page_size : {1, 4, 50}) {
        Query q;
        for (const std::string& t : wanted_tags) q.add_tags(t);
        q.set_tag_match(Query::TAG_MATCH_ALL);
        QueryOptions o;
        o.raw = raw;
        o.page_size = page_size;
        std::vector<std::string> got;
        for (int pages = 0; pages < 200; ++pages) {
          absl::StatusOr<QueryPage> page = RunQuery(**st, q, o);
          ASSERT_TRUE(page.ok()) << page.status();
          if (raw) {
            for (const std::string& bytes : page->raw_articles) {
              Article a;
              ASSERT_TRUE(a.ParseFromString(bytes));
              got.push_back(a.name().substr(a.name().rfind('/') + 1));
            }
          } else {
            for (const Article& a : page->articles)
              got.push_back(a.name().substr(a.name().rfind('/') + 1));
          }
          if (page->next_page_token.empty()) break;
          o.page_token = page->next_page_token;
        }
        EXPECT_EQ(got, want) << absl::StrJoin(wanted_tags, "+") << " raw "
                             << raw << " page " << page_size;
      }
    }
  }
}

}  // namespace
}  // namespace content::query
