// Differential test of queries and the change feed: a seeded random mix of
// creates, updates (tags, dates, languages, states and publish windows,
// title, summary and body text in English and CJK), deletes, undeletes,
// restores, imports and conditional writes (expected_revision and etag,
// right and stale) goes to a real contentd and to a small in-memory model
// of what README and the protos promise. Every 150 operations each query
// shape (all, one tag, NFC spellings, two tags ANY/ALL with not_tags, tag
// and date range at sub-microsecond edges, update_time and publish_time
// ranges, langs in other spellings, categories, full text of planted words
// and CJK runs, states, windows, include_deleted; newest and oldest first;
// reader and editor) is read in pages of 1-7 and compared with the model:
// articles, revisions and order, total_size where it is exact, complete
// facets, some exports, ListTags and ListCategories counts. Some pagings go
// on while writes continue between pages, checked against what keyset
// paging promises (docs/design.md, "Queries"). Watches from sequence 0
// (an editor's, a reader's) and from random sequences with filters must
// replay the model's event list exactly; then contentd restarts and all of
// it is checked again.
//
// MODEL_TEST_SEED and MODEL_TEST_OPS (environment) pick another run (3000
// operations, 800 on PostgreSQL, by default); a failure names the seed and
// the operation.

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "content/client.h"
#include "content/v1/content_service.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"
#include "tests/support/watch_collector.h"

namespace content {
namespace {

using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::content::testing::WatchCollector;

constexpr int64_t k2025 = 1735689600;  // 2025-01-01T00:00:00Z
constexpr int64_t kDay = 86400;
constexpr int64_t k2100 = 4102444800;  // scheduled: never comes in a test
constexpr int64_t k2001 = 978307200;   // expired long ago
constexpr int64_t k2000 = 946684800;

// Vocabulary. Words are planted whole and separated, so the model's idea of
// a match (whole English words, CJK runs contiguous) is exact.
const std::vector<std::string> kTags = {"ai",    "AI",   "café", "数据",
                                        "t:ops", "rust", "深度", "x"};
const std::vector<std::string> kCategories = {"Tech", "Ops", "新闻"};
// Stored spellings; queries use others of the same languages.
const std::vector<std::string> kLangs = {"en",    "EN", "zh-CN",
                                         "zh_cn", "ja", "fr"};
const std::vector<std::string> kQueryLangs = {"en", "zh-CN", "ZH_CN", "ja",
                                              "de", "zh",    "Fr"};
const std::vector<std::string> kWords = {"quokka",  "Zebrafish", "nebula",
                                         "ORBIT",   "lantern",   "velvet",
                                         "granite", "Mosaic"};
const std::vector<std::string> kCjkWords = {
    "量子纠缠", "本地部署", "数据中心",   "人工智能",
    "机器学习", "深度求索", "すしやさん", "한국어"};

struct Rev {
  v1::Article content;  // as sent (content fields only)
  bool tombstone = false;
  google::protobuf::Timestamp update_time;  // as the write returned it
};

struct ModelArticle {
  std::vector<Rev> revs;  // revs[i] is revision i + 1
  bool deleted() const { return revs.back().tombstone; }
  int64_t head() const { return static_cast<int64_t>(revs.size()); }
  // The content readers last had: the head's, or before a tombstone the
  // revision it deleted.
  const v1::Article& content() const {
    for (auto it = revs.rbegin(); it != revs.rend(); ++it)
      if (!it->tombstone) return it->content;
    return revs.back().content;
  }
};

struct ModelEvent {
  v1::ChangeEvent::Type type;
  std::string id;
  int64_t revision;
  bool live_before;
  bool live_after;
  v1::Article written;  // content of the revision written
};

bool SameLang(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] == '_' ? '-' : absl::ascii_tolower(a[i]);
    char y = b[i] == '_' ? '-' : absl::ascii_tolower(b[i]);
    if (x != y) return false;
  }
  return true;
}

// BCP 47's conventional case of the few spellings used here.
std::string CanonicalLang(const std::string& l) {
  if (SameLang(l, "zh-CN")) return "zh-CN";
  return absl::AsciiStrToLower(l);
}

bool IsLiveContent(const v1::Article& a) {
  if (a.state() != v1::Article::STATE_UNSPECIFIED &&
      a.state() != v1::Article::PUBLISHED)
    return false;
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  if (a.has_publish_time() && a.publish_time().seconds() > now) return false;
  if (a.has_expiry_time() && a.expiry_time().seconds() <= now) return false;
  return true;
}

int64_t Nanos(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000000 + t.nanos();
}

bool IsCjkByte(unsigned char c) { return c >= 0xE0; }  // 3-byte UTF-8 lead

// The text's English words (lowercased) and CJK runs (UTF-8 strings of
// 3-byte characters), as the planted vocabulary needs.
void Tokenize(const std::string& s, std::set<std::string>* words,
              std::vector<std::string>* runs) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    if (absl::ascii_isalnum(c)) {
      size_t j = i;
      while (j < s.size() &&
             absl::ascii_isalnum(static_cast<unsigned char>(s[j])))
        ++j;
      words->insert(absl::AsciiStrToLower(s.substr(i, j - i)));
      i = j;
    } else if (IsCjkByte(c) && !(s.compare(i, 3, "。") == 0)) {
      size_t j = i;
      while (j + 2 < s.size() && IsCjkByte(static_cast<unsigned char>(s[j])) &&
             s.compare(j, 3, "。") != 0)
        j += 3;
      runs->push_back(s.substr(i, j - i));
      i = j;
    } else {
      ++i;
    }
  }
}

bool TextMatches(const v1::Article& a, const std::string& text) {
  std::set<std::string> words, qwords;
  std::vector<std::string> runs, qruns;
  Tokenize(a.title() + " " + a.summary() + " " + a.body(), &words, &runs);
  Tokenize(text, &qwords, &qruns);
  for (const std::string& w : qwords)
    if (!words.count(w)) return false;
  for (const std::string& q : qruns) {
    bool found = false;
    for (const std::string& r : runs)
      if (r.find(q) != std::string::npos && (r.find(q) % 3) == 0) found = true;
    if (!found) return false;
  }
  return true;
}

std::string NfcTag(const std::string& t) {
  return t == "cafe\xcc\x81" ? "café" : t;
}

bool Has(const google::protobuf::RepeatedPtrField<std::string>& list,
         const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Whether the article whose head has content `a` (the last live content
// if `deleted`) and was written at `update_time` is in `q`'s result.
bool Matches(const v1::Query& q, const v1::Article& a, bool deleted,
             const google::protobuf::Timestamp& update_time = {}) {
  if (deleted && !q.include_deleted()) return false;
  // A reader's include_deleted gets the tombstones of articles that were
  // live when deleted (their content is live content).
  if (q.visibility() != v1::VISIBILITY_ALL && !IsLiveContent(a)) return false;
  if (q.windows_size() > 0 && (a.state() == v1::Article::STATE_UNSPECIFIED ||
                               a.state() == v1::Article::PUBLISHED)) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    v1::Query::PublishWindow w = v1::Query::PUBLISH_WINDOW_LIVE;
    if (a.has_publish_time() && a.publish_time().seconds() > now)
      w = v1::Query::PUBLISH_WINDOW_SCHEDULED;
    else if (a.has_expiry_time() && a.expiry_time().seconds() <= now)
      w = v1::Query::PUBLISH_WINDOW_EXPIRED;
    bool any = false;
    for (int x : q.windows()) any = any || x == w;
    if (!any) return false;
  }
  if (q.windows_size() > 0 && q.states_size() == 0 &&
      a.state() != v1::Article::STATE_UNSPECIFIED &&
      a.state() != v1::Article::PUBLISHED)
    return false;
  if (q.states_size() > 0) {
    v1::Article::State st = a.state() == v1::Article::STATE_UNSPECIFIED
                                ? v1::Article::PUBLISHED
                                : a.state();
    bool any = false;
    for (int s : q.states()) {
      if (s == v1::Article::STATE_UNSPECIFIED) s = v1::Article::PUBLISHED;
      if (s == st) any = true;
    }
    if (!any) return false;
  }
  if (q.tags_size() > 0) {
    bool all = true, any = false;
    for (const std::string& t : q.tags()) {
      bool has = Has(a.tags(), NfcTag(t));
      all = all && has;
      any = any || has;
    }
    if (q.tag_match() == v1::Query::TAG_MATCH_ALL ? !all : !any) return false;
  }
  for (const std::string& t : q.not_tags())
    if (Has(a.tags(), NfcTag(t))) return false;
  if (q.categories_size() > 0) {
    bool any = false;
    for (const std::string& c : q.categories())
      any = any || Has(a.categories(), c);
    if (!any) return false;
  }
  if (q.langs_size() > 0) {
    bool any = false;
    for (const std::string& l : q.langs())
      for (const std::string& al : a.lang()) any = any || SameLang(l, al);
    if (!any) return false;
  }
  if (q.has_date_from() && Nanos(a.date()) < Nanos(q.date_from())) return false;
  if (q.has_date_to() && Nanos(a.date()) >= Nanos(q.date_to())) return false;
  if (!q.text().empty() && !TextMatches(a, q.text())) return false;
  if (q.has_update_time_from() &&
      Nanos(update_time) < Nanos(q.update_time_from()))
    return false;
  if (q.has_update_time_to() && Nanos(update_time) >= Nanos(q.update_time_to()))
    return false;
  // Articles without a publish time never match a publish-time bound.
  if ((q.has_publish_time_from() || q.has_publish_time_to()) &&
      !a.has_publish_time())
    return false;
  if (q.has_publish_time_from() &&
      Nanos(a.publish_time()) < Nanos(q.publish_time_from()))
    return false;
  if (q.has_publish_time_to() &&
      Nanos(a.publish_time()) >= Nanos(q.publish_time_to()))
    return false;
  return true;
}

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// Whether `a` (id ia) comes strictly before `b` in the query's order:
// newest first, ties by id ascending; oldest first is the exact reverse.
bool Before(const v1::Query& q, const v1::Article& a, const std::string& ia,
            const v1::Article& b, const std::string& ib) {
  const bool oldest = q.order() == v1::Query::ORDER_OLDEST_FIRST;
  const int64_t ma = Micros(a.date()), mb = Micros(b.date());
  if (ma != mb) return oldest ? ma < mb : ma > mb;
  return oldest ? ia > ib : ia < ib;
}

std::string Id(const v1::Article& a) { return a.name().substr(9); }

std::string Describe(const v1::Query& q) { return q.ShortDebugString(); }

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* seed = std::getenv("MODEL_TEST_SEED");
    seed_ = seed != nullptr ? std::strtoull(seed, nullptr, 10) : 20261207;
    const char* ops = std::getenv("MODEL_TEST_OPS");
    // A PostgreSQL write is a round trip or more: fewer there.
    ops_ = ops != nullptr                    ? std::atoi(ops)
           : testing::TestEngineIsPostgres() ? 800
                                             : 3000;
    rng_.seed(seed_);
    server_ = ServerProcess::Start(dir_.path() + "/data");
    ASSERT_NE(server_, nullptr);
    Connect();
  }

  void Connect() {
    ClientOptions options;
    options.target = server_->address();
    options.timeout = absl::Seconds(30);
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(options);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
  }

  size_t Pick(size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }
  template <typename T>
  const T& OneOf(const std::vector<T>& v) {
    return v[Pick(v.size())];
  }

  // Instants with ties and sub-microsecond parts, so the order's
  // microsecond precision and the bounds' nanosecond one both show.
  google::protobuf::Timestamp RandomInstant() {
    static const int32_t kNanos[] = {0, 1, 500, 999, 1000, 999999};
    google::protobuf::Timestamp t;
    t.set_seconds(k2025 + static_cast<int64_t>(Pick(8)) * kDay);
    // Now and then the epoch (where an unset date sorts) or just before.
    if (Chance(8)) t.set_seconds(Chance(50) ? 0 : -1);
    t.set_nanos(kNanos[Pick(6)]);
    return t;
  }

  std::string RandomText(int max_words) {
    std::vector<std::string> parts;
    const int n = static_cast<int>(Pick(max_words + 1));
    for (int i = 0; i < n; ++i)
      parts.push_back(Chance(50) ? OneOf(kWords) : OneOf(kCjkWords));
    return absl::StrJoin(parts, Chance(50) ? " " : "。");
  }

  v1::Article RandomContent(const std::string& id) {
    v1::Article a;
    a.set_title(absl::StrCat("T", id, " ", RandomText(2)));
    if (Chance(40)) a.set_summary(RandomText(1));
    a.set_body(RandomText(4));
    std::set<std::string> tags;
    for (int i = static_cast<int>(Pick(4)); i > 0; --i)
      tags.insert(OneOf(kTags));
    for (const std::string& t : tags) a.add_tags(t);
    if (Chance(70)) a.add_categories(OneOf(kCategories));
    if (Chance(85)) a.add_lang(OneOf(kLangs));
    if (Chance(15)) {
      const std::string& l = OneOf(kLangs);
      if (a.lang_size() == 0 || !SameLang(a.lang(0), l)) a.add_lang(l);
    }
    if (Chance(90)) *a.mutable_date() = RandomInstant();
    const size_t st = Pick(20);
    if (st == 0) a.set_state(v1::Article::DRAFT);
    if (st == 1) a.set_state(v1::Article::ARCHIVED);
    if (st >= 2 && st < 8) a.set_state(v1::Article::PUBLISHED);
    const size_t window = Pick(20);
    if (window == 0) a.mutable_publish_time()->set_seconds(k2100);
    if (window == 1) a.mutable_expiry_time()->set_seconds(k2001);
    if (window == 2) {
      a.mutable_publish_time()->set_seconds(k2000);
      if (Chance(50)) a.mutable_expiry_time()->set_seconds(k2001);
    }
    return a;
  }

  // A change of one or a few fields of `base`.
  v1::Article Mutate(const std::string& id, v1::Article a) {
    v1::Article r = RandomContent(id);
    switch (Pick(7)) {
      case 0:
        *a.mutable_tags() = r.tags();
        break;
      case 1:
        if (r.has_date())
          *a.mutable_date() = r.date();
        else
          a.clear_date();
        break;
      case 2:
        *a.mutable_lang() = r.lang();
        break;
      case 3:
        a.set_title(r.title());
        a.set_body(r.body());
        break;
      case 4:
        a.set_state(r.state());
        a.clear_publish_time();
        a.clear_expiry_time();
        if (r.has_publish_time()) *a.mutable_publish_time() = r.publish_time();
        if (r.has_expiry_time()) *a.mutable_expiry_time() = r.expiry_time();
        break;
      case 5:
        *a.mutable_categories() = r.categories();
        a.set_summary(r.summary());
        break;
      default:
        return r;
    }
    return a;
  }

  std::string Where() const {
    return absl::StrCat("seed ", seed_, ", op ", op_);
  }

  void Record(v1::ChangeEvent::Type type, const std::string& id,
              bool live_before) {
    const ModelArticle& m = model_[id];
    ModelEvent e{type,
                 id,
                 m.head(),
                 live_before,
                 !m.deleted() && IsLiveContent(m.content()),
                 m.revs.back().content};
    events_.push_back(std::move(e));
  }

  bool LiveNow(const std::string& id) {
    auto it = model_.find(id);
    return it != model_.end() && !it->second.deleted() &&
           IsLiveContent(it->second.content());
  }

  // Checks a write's outcome: `want_rev` 0 for a refusal with `reason`.
  void Expect(const absl::StatusOr<v1::Article>& got, const std::string& what,
              int64_t want_rev, const std::string& reason = "") {
    if (want_rev == 0) {
      ASSERT_FALSE(got.ok()) << Where() << ": " << what << " should fail "
                             << reason << ", got revision " << got->revision();
      ASSERT_EQ(ErrorReason(got.status()), reason)
          << Where() << ": " << what << ": " << got.status();
      return;
    }
    ASSERT_TRUE(got.ok()) << Where() << ": " << what << ": " << got.status();
    ASSERT_EQ(got->revision(), want_rev) << Where() << ": " << what;
  }

  bool SameContent(const v1::Article& a, const v1::Article& b) {
    return google::protobuf::util::MessageDifferencer::Equals(a, b);
  }

  // An import batch of 1-3 articles: unconditional creates and updates
  // (none of a deleted article), results in batch order.
  void ImportBatch() {
    v1::ImportArticlesRequest batch;
    std::set<std::string> ids;
    for (int k = 1 + static_cast<int>(Pick(3)); k > 0; --k) {
      const std::string id = absl::StrCat("a", Pick(40));
      auto it = model_.find(id);
      if (!ids.insert(id).second ||
          (it != model_.end() && it->second.deleted()))
        continue;
      v1::Article* a = batch.add_articles();
      *a = it == model_.end() ? RandomContent(id)
           : Chance(20)       ? it->second.content()
                              : Mutate(id, it->second.content());
      a->set_name("articles/" + id);
    }
    if (batch.articles_size() == 0) return;
    std::mutex mu;
    std::vector<v1::ImportResult> results;
    bool sent = false;
    absl::Status status = client_->ImportArticles(
        [&](v1::ImportArticlesRequest* r) {
          if (sent) return false;
          *r = batch;
          sent = true;
          return true;
        },
        [&](const v1::ImportArticlesResponse& r) {
          std::lock_guard<std::mutex> lock(mu);
          for (const v1::ImportResult& x : r.results()) results.push_back(x);
        });
    ASSERT_TRUE(status.ok()) << Where() << ": import: " << status;
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(results.size(), static_cast<size_t>(batch.articles_size()))
        << Where();
    for (int i = 0; i < batch.articles_size(); ++i) {
      v1::Article content = batch.articles(i);
      const std::string id = Id(content);
      content.clear_name();
      const v1::ImportResult& r = results[i];
      const std::string what = absl::StrCat("import ", id, ": ", r.error());
      auto it = model_.find(id);
      const bool live_before = LiveNow(id);
      if (it != model_.end() && SameContent(content, it->second.content())) {
        ASSERT_EQ(r.outcome(), v1::ImportResult::OUTCOME_UNCHANGED)
            << Where() << ": " << what;
        ASSERT_EQ(r.revision(), it->second.head()) << Where() << ": " << what;
        continue;
      }
      ASSERT_EQ(r.outcome(), it == model_.end()
                                 ? v1::ImportResult::OUTCOME_CREATED
                                 : v1::ImportResult::OUTCOME_UPDATED)
          << Where() << ": " << what;
      ModelArticle& m = model_[id];
      ASSERT_EQ(r.revision(), m.head() + 1) << Where() << ": " << what;
      absl::StatusOr<v1::Article> head = ReadHead(id);
      ASSERT_TRUE(head.ok()) << Where() << ": " << head.status();
      m.revs.push_back({content, false, head->update_time()});
      Record(m.head() == 1 ? v1::ChangeEvent::TYPE_CREATED
                           : v1::ChangeEvent::TYPE_UPDATED,
             id, live_before);
    }
  }

  // One random operation, on contentd and on the model.
  void Step() {
    ++op_;
    if (Chance(5)) {
      ImportBatch();
      return;
    }
    const std::string id = absl::StrCat(Chance(10) ? "z." : "a", Pick(40));
    auto it = model_.find(id);
    const bool exists = it != model_.end();
    const size_t kind = Pick(100);
    if (!exists || kind < 8) {
      v1::CreateArticleRequest req;
      req.set_article_id(id);
      *req.mutable_article() = RandomContent(id);
      absl::StatusOr<v1::Article> got = client_->CreateArticle(req);
      if (exists) {
        Expect(got, "create " + id, 0, "ARTICLE_ALREADY_EXISTS");
        return;
      }
      Expect(got, "create " + id, 1);
      model_[id].revs.push_back({req.article(), false, got->update_time()});
      Record(v1::ChangeEvent::TYPE_CREATED, id, false);
      return;
    }
    ModelArticle& m = it->second;
    const bool live_before = LiveNow(id);
    if (kind < 55) {  // update, sometimes conditional, sometimes a no-op
      v1::UpdateArticleRequest req;
      const bool noop = Chance(10);
      *req.mutable_article() = noop ? m.content() : Mutate(id, m.content());
      req.mutable_article()->set_name("articles/" + id);
      bool stale = false;
      const size_t cond = Pick(6);
      if (cond == 0) req.set_expected_revision(m.head());
      if (cond == 1) {
        req.set_expected_revision(m.head() > 1 ? m.head() - 1 : m.head() + 1);
        stale = true;
      }
      std::string etag;
      if (cond == 2 || cond == 3) {
        absl::StatusOr<v1::Article> head = ReadHead(id);
        ASSERT_TRUE(head.ok()) << Where() << ": " << head.status();
        etag = head->etag();
        if (cond == 3) {
          etag[etag.size() / 2] = etag[etag.size() / 2] == 'a' ? 'b' : 'a';
          stale = true;
        }
        req.mutable_article()->set_etag(etag);
      }
      absl::StatusOr<v1::Article> got = client_->UpdateArticle(req);
      const std::string what = absl::StrCat("update ", id, " cond ", cond);
      if (m.deleted()) {
        // The head is checked first or the condition: either refusal is
        // documented; nothing may be written.
        ASSERT_FALSE(got.ok()) << Where() << ": " << what;
        const std::string r = ErrorReason(got.status());
        ASSERT_TRUE(
            r == "ARTICLE_DELETED" ||
            (stale && (r == "REVISION_MISMATCH" || r == "ETAG_MISMATCH")))
            << Where() << ": " << what << ": " << got.status();
        return;
      }
      if (stale) {
        Expect(got, what, 0, cond == 1 ? "REVISION_MISMATCH" : "ETAG_MISMATCH");
        return;
      }
      v1::Article content = req.article();
      content.clear_name();
      content.clear_etag();
      if (SameContent(content, m.content())) {
        Expect(got, what + " (unchanged)", m.head());
        return;
      }
      Expect(got, what, m.head() + 1);
      m.revs.push_back({content, false, got->update_time()});
      Record(v1::ChangeEvent::TYPE_UPDATED, id, live_before);
      return;
    }
    if (kind < 72) {  // delete
      v1::DeleteArticleRequest req;
      req.set_name("articles/" + id);
      bool stale;
      std::string mismatch;
      SetCondition(&req, id, m.head(), &stale, &mismatch);
      absl::StatusOr<v1::Article> got = client_->DeleteArticle(req);
      if (m.deleted()) {
        ASSERT_FALSE(got.ok()) << Where() << ": delete " << id;
        const std::string r = ErrorReason(got.status());
        ASSERT_TRUE(r == "ARTICLE_DELETED" || (stale && r == mismatch))
            << Where() << ": delete " << id << ": " << got.status();
        return;
      }
      if (stale) {
        Expect(got, "delete " + id, 0, mismatch);
        return;
      }
      Expect(got, "delete " + id, m.head() + 1);
      m.revs.push_back({m.content(), true, got->update_time()});
      Record(v1::ChangeEvent::TYPE_DELETED, id, live_before);
      return;
    }
    if (kind < 88) {  // undelete
      v1::UndeleteArticleRequest req;
      req.set_name("articles/" + id);
      bool stale;
      std::string mismatch;
      SetCondition(&req, id, m.head(), &stale, &mismatch);
      absl::StatusOr<v1::Article> got = client_->UndeleteArticle(req);
      if (!m.deleted()) {
        ASSERT_FALSE(got.ok()) << Where() << ": undelete " << id;
        const std::string r = ErrorReason(got.status());
        ASSERT_TRUE(r == "ARTICLE_NOT_DELETED" || (stale && r == mismatch))
            << Where() << ": undelete " << id << ": " << got.status();
        return;
      }
      if (stale) {
        Expect(got, "undelete " + id, 0, mismatch);
        return;
      }
      Expect(got, "undelete " + id, m.head() + 1);
      m.revs.push_back({m.content(), false, got->update_time()});
      Record(v1::ChangeEvent::TYPE_UNDELETED, id, live_before);
      return;
    }
    // restore an earlier revision
    const int64_t rev = 1 + static_cast<int64_t>(Pick(m.revs.size()));
    v1::RestoreArticleRevisionRequest req;
    req.set_name("articles/" + id);
    req.set_revision(rev);
    const size_t cond = Pick(6);
    const bool stale = cond == 1 || cond == 3;
    if (cond == 0 || cond == 1) {
      req.set_expected_revision(m.head() + (stale ? 1 : 0));
    } else if (cond == 2 || cond == 3) {
      req.set_etag(Etag(id, stale));
    }
    absl::StatusOr<v1::Article> got = client_->RestoreArticleRevision(req);
    const std::string what =
        absl::StrCat("restore ", id, " ", rev, " cond ", cond);
    const Rev& r = m.revs[rev - 1];
    if (stale || r.tombstone) {
      // Either refusal may come first where both apply.
      ASSERT_FALSE(got.ok()) << Where() << ": " << what;
      const std::string reason = ErrorReason(got.status());
      ASSERT_TRUE((r.tombstone && reason == "INVALID_ARGUMENT") ||
                  (cond == 1 && reason == "REVISION_MISMATCH") ||
                  (cond == 3 && reason == "ETAG_MISMATCH"))
          << Where() << ": " << what << ": " << got.status();
      return;
    }
    if (!m.deleted() && SameContent(r.content, m.content())) {
      Expect(got, what + " (unchanged)", m.head());
      return;
    }
    const bool was_deleted = m.deleted();
    Expect(got, what, m.head() + 1);
    m.revs.push_back({r.content, false, got->update_time()});
    Record(was_deleted ? v1::ChangeEvent::TYPE_UNDELETED
                       : v1::ChangeEvent::TYPE_UPDATED,
           id, live_before);
  }

  // A random condition on `id`'s head (`head` in the model) for a delete
  // or an undelete: by etag or by revision, right, stale (`*stale`, with
  // the reason it is refused with in `*mismatch`), or none.
  template <typename Request>
  void SetCondition(Request* req, const std::string& id, int64_t head,
                    bool* stale, std::string* mismatch) {
    *stale = Chance(15);
    const bool by_etag = Chance(30);
    *mismatch = by_etag ? "ETAG_MISMATCH" : "REVISION_MISMATCH";
    if (by_etag) {
      if (*stale || Chance(50)) req->set_etag(Etag(id, *stale));
    } else if (*stale) {
      req->set_expected_revision(head + 1);
    } else if (Chance(30)) {
      req->set_expected_revision(head);
    }
  }

  // The head's etag, or, if `stale`, one that is not.
  std::string Etag(const std::string& id, bool stale) {
    absl::StatusOr<v1::Article> head = ReadHead(id);
    EXPECT_TRUE(head.ok()) << Where() << ": " << head.status();
    std::string etag = head.ok() ? head->etag() : "x";
    if (stale) etag[etag.size() / 2] = etag[etag.size() / 2] == 'a' ? 'b' : 'a';
    return etag;
  }

  absl::StatusOr<v1::Article> ReadHead(const std::string& id) {
    v1::GetArticleRequest req;
    req.set_name("articles/" + id);
    req.set_visibility(v1::VISIBILITY_ALL);
    req.set_show_deleted(true);
    return client_->GetArticle(req);
  }

  // The model's answer to `q`, in order.
  std::vector<std::pair<std::string, const ModelArticle*>> Expected(
      const v1::Query& q) {
    std::vector<std::pair<std::string, const ModelArticle*>> out;
    for (const auto& [id, m] : model_)
      if (Matches(q, m.content(), m.deleted(), m.revs.back().update_time))
        out.emplace_back(id, &m);
    std::sort(out.begin(), out.end(), [&](const auto& x, const auto& y) {
      return Before(q, x.second->content(), x.first, y.second->content(),
                    y.first);
    });
    return out;
  }

  std::vector<v1::Query> Shapes() {
    std::vector<v1::Query> shapes;
    auto add = [&](v1::Query q) {
      shapes.push_back(q);
      q.set_order(v1::Query::ORDER_OLDEST_FIRST);
      shapes.push_back(q);
      q.set_order(v1::Query::ORDER_UNSPECIFIED);
      q.set_visibility(v1::VISIBILITY_ALL);
      shapes.push_back(q);
    };
    add(v1::Query());
    for (const std::string& t : kTags) {
      v1::Query q;
      q.add_tags(t);
      add(q);
    }
    {
      v1::Query q;
      q.add_tags("cafe\xcc\x81");  // decomposed: one tag with café
      add(q);
    }
    for (int i = 0; i < 3; ++i) {
      v1::Query q;
      const size_t first = Pick(kTags.size());
      q.add_tags(kTags[first]);
      q.add_tags(kTags[(first + 1 + Pick(kTags.size() - 1)) % kTags.size()]);
      q.set_tag_match(i == 0 ? v1::Query::TAG_MATCH_ANY
                             : v1::Query::TAG_MATCH_ALL);
      add(q);
      q.add_not_tags(OneOf(kTags));
      add(q);
    }
    for (int i = 0; i < 4; ++i) {
      v1::Query q;
      if (i > 0) q.add_tags(OneOf(kTags));
      google::protobuf::Timestamp from = RandomInstant();
      google::protobuf::Timestamp to = RandomInstant();
      if (Nanos(to) < Nanos(from)) std::swap(from, to);
      if (i == 3) to.set_seconds(from.seconds());  // sub-microsecond ranges
      if (Chance(80)) *q.mutable_date_from() = from;
      if (Chance(80) && Nanos(to) > Nanos(from)) *q.mutable_date_to() = to;
      add(q);
    }
    {
      // Around the epoch, where articles without a date sort.
      v1::Query q;
      q.mutable_date_to()->set_nanos(1);
      add(q);
      q.clear_date_to();
      q.mutable_date_from()->set_seconds(0);
      q.add_tags(OneOf(kTags));
      add(q);
    }
    for (const std::string& l : kQueryLangs) {
      v1::Query q;
      q.add_langs(l);
      add(q);
    }
    // update_time bounds at instants writes returned, exact to the
    // nanosecond, and one past them.
    for (int i = 0; i < 3 && !model_.empty(); ++i) {
      v1::Query q;
      auto pick = [&] {
        auto it = model_.begin();
        std::advance(it, Pick(model_.size()));
        const std::vector<Rev>& revs = it->second.revs;
        google::protobuf::Timestamp t = revs[Pick(revs.size())].update_time;
        if (Chance(30)) {
          t.set_nanos(t.nanos() + 1);
          if (t.nanos() == 1000000000) {
            t.set_seconds(t.seconds() + 1);
            t.set_nanos(0);
          }
        }
        return t;
      };
      google::protobuf::Timestamp from = pick(), to = pick();
      if (Nanos(to) < Nanos(from)) std::swap(from, to);
      if (Chance(80)) *q.mutable_update_time_from() = from;
      if (Chance(80) && Nanos(to) > Nanos(from))
        *q.mutable_update_time_to() = to;
      if (i == 2) q.add_tags(OneOf(kTags));
      add(q);
    }
    {
      v1::Query q;
      q.set_visibility(v1::VISIBILITY_ALL);
      q.mutable_publish_time_from()->set_seconds(k2000);
      q.mutable_publish_time_to()->set_seconds(Chance(50) ? k2100 : k2100 + 1);
      shapes.push_back(q);
      q.clear_publish_time_from();
      shapes.push_back(q);
    }
    for (const std::string& c : kCategories) {
      v1::Query q;
      q.add_categories(c);
      if (Chance(50)) q.add_langs(OneOf(kQueryLangs));
      add(q);
    }
    std::vector<std::string> texts = {
        OneOf(kWords), absl::AsciiStrToUpper(OneOf(kWords)), OneOf(kCjkWords),
        OneOf(kWords) + " " + OneOf(kCjkWords)};
    const std::string cjk = OneOf(kCjkWords);
    texts.push_back(cjk.substr(3, 6));  // two characters inside a run
    texts.push_back(cjk.substr(0, 3));  // one character
    texts.push_back(OneOf(kCjkWords).substr(3, 3) +
                    OneOf(kCjkWords).substr(0, 3));
    for (const std::string& t : texts) {
      v1::Query q;
      q.set_text(t);
      add(q);
      if (Chance(50)) {
        q.add_tags(OneOf(kTags));
        add(q);
      }
    }
    for (int st = 1; st <= 3; ++st) {
      v1::Query q;
      q.set_visibility(v1::VISIBILITY_ALL);
      q.add_states(static_cast<v1::Article::State>(st));
      shapes.push_back(q);
      q.add_tags(OneOf(kTags));
      shapes.push_back(q);
    }
    for (int w = 1; w <= 3; ++w) {
      v1::Query q;
      q.set_visibility(v1::VISIBILITY_ALL);
      q.add_windows(static_cast<v1::Query::PublishWindow>(w));
      shapes.push_back(q);
      if (w == 2) {
        q.add_states(v1::Article::DRAFT);
        q.add_states(v1::Article::PUBLISHED);
        shapes.push_back(q);
      }
    }
    {
      v1::Query q;
      q.set_include_deleted(true);
      shapes.push_back(q);
      q.add_tags(OneOf(kTags));
      shapes.push_back(q);
    }
    {
      v1::Query q;
      q.set_visibility(v1::VISIBILITY_ALL);
      q.set_include_deleted(true);
      shapes.push_back(q);
      q.add_tags(OneOf(kTags));
      shapes.push_back(q);
      q.set_order(v1::Query::ORDER_OLDEST_FIRST);
      shapes.push_back(q);
    }
    return shapes;
  }

  // Reads all of `q` in pages of a random small size and compares it with
  // the model.
  void CheckQuery(const v1::Query& q) {
    const auto want = Expected(q);
    const int page_size = 1 + static_cast<int>(Pick(7));
    std::vector<v1::Article> got;
    std::string token;
    int pages = 0;
    do {
      v1::QueryArticlesRequest req;
      *req.mutable_query() = q;
      req.set_page_size(page_size);
      req.set_page_token(token);
      req.set_view(v1::ARTICLE_VIEW_BASIC);
      if (pages == 0) {
        req.add_facets(v1::FACET_FIELD_TAGS);
        req.add_facets(v1::FACET_FIELD_LANG);
        req.add_facets(v1::FACET_FIELD_CATEGORIES);
        req.set_facet_limit(100);
      }
      absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
      ASSERT_TRUE(r.ok()) << Where() << ": " << Describe(q) << ": "
                          << r.status();
      for (const v1::Article& a : r->articles()) got.push_back(a);
      token = r->next_page_token();
      ++pages;
      if (pages == 1) CheckFacets(q, want, *r);
      if (token.empty()) {
        EXPECT_EQ(r->total_size(), static_cast<int64_t>(got.size()))
            << Where() << ": total_size of the last page: " << Describe(q);
      } else {
        EXPECT_GE(r->total_size(), static_cast<int64_t>(got.size()) + 1)
            << Where() << ": total_size below the lower bound: " << Describe(q);
      }
      ASSERT_LT(pages, 1000) << Where() << ": paging does not end";
    } while (!token.empty());
    std::vector<std::string> want_ids, got_ids;
    for (const auto& [id, m] : want)
      want_ids.push_back(absl::StrCat(id, "@", m->head()));
    for (const v1::Article& a : got)
      got_ids.push_back(absl::StrCat(Id(a), "@", a.revision()));
    EXPECT_EQ(got_ids, want_ids)
        << Where() << ": " << Describe(q) << " (pages of " << page_size << ")";
    ++queries_checked_;
    if (Chance(25)) {
      // An export reads the same selection, in order, from one snapshot.
      v1::ExportArticlesRequest req;
      *req.mutable_query() = q;
      std::vector<std::string> exported;
      absl::Status s = client_->ExportArticles(req, [&](const v1::Article& a) {
        exported.push_back(absl::StrCat(Id(a), "@", a.revision()));
        return true;
      });
      ASSERT_TRUE(s.ok()) << Where() << ": export " << Describe(q) << ": " << s;
      EXPECT_EQ(exported, want_ids) << Where() << ": export " << Describe(q);
    }
  }

  void CheckFacets(
      const v1::Query& q,
      const std::vector<std::pair<std::string, const ModelArticle*>>& want,
      const v1::QueryArticlesResponse& r) {
    std::map<std::string, int64_t> tags, langs, categories;
    for (const auto& [id, m] : want) {
      for (const std::string& t : m->content().tags()) ++tags[t];
      for (const std::string& c : m->content().categories()) ++categories[c];
      std::set<std::string> ls;
      for (const std::string& l : m->content().lang())
        ls.insert(CanonicalLang(l));
      for (const std::string& l : ls) ++langs[l];
    }
    ASSERT_EQ(r.facets_size(), 3) << Where();
    EXPECT_TRUE(r.facets_complete()) << Where();
    EXPECT_EQ(r.facet_articles_counted(), static_cast<int64_t>(want.size()))
        << Where() << ": " << Describe(q);
    // Facets counted the whole result: total_size is their count.
    EXPECT_EQ(r.total_size(), static_cast<int64_t>(want.size()))
        << Where() << ": total_size with complete facets: " << Describe(q);
    for (int f = 0; f < 3; ++f) {
      std::map<std::string, int64_t> counted;
      std::vector<std::pair<int64_t, std::string>> order;
      for (const v1::FacetValue& v : r.facets(f).values()) {
        counted[v.value()] = v.count();
        order.emplace_back(-v.count(), v.value());
      }
      EXPECT_TRUE(std::is_sorted(order.begin(), order.end()))
          << Where() << ": facet order: " << r.facets(f).ShortDebugString();
      EXPECT_EQ(counted, f == 0   ? tags
                         : f == 1 ? langs
                                  : categories)
          << Where() << ": facet " << f << ": " << Describe(q);
    }
  }

  // Pages through `q` with writes between pages. Keyset paging promises:
  // the order holds across pages, an article no write touched meanwhile
  // comes exactly once if it matched, never otherwise; one written
  // meanwhile (moved, retagged, created, deleted) may come once or not at
  // all, twice only if its date moved.
  void CheckPagingUnderWrites(const v1::Query& q) {
    std::map<std::string, int64_t> head_before;
    for (const auto& [id, m] : model_) head_before[id] = m.head();
    const auto want_before = Expected(q);
    const int page_size = 1 + static_cast<int>(Pick(3));
    std::vector<v1::Article> got;
    std::string token;
    int pages = 0;
    do {
      v1::QueryArticlesRequest req;
      *req.mutable_query() = q;
      req.set_page_size(page_size);
      req.set_page_token(token);
      req.set_view(v1::ARTICLE_VIEW_BASIC);
      absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
      ASSERT_TRUE(r.ok()) << Where() << ": " << Describe(q) << ": "
                          << r.status();
      for (const v1::Article& a : r->articles()) got.push_back(a);
      token = r->next_page_token();
      ASSERT_LT(++pages, 1000) << Where() << ": paging does not end";
      for (int i = static_cast<int>(Pick(3)); i > 0 && !token.empty(); --i) {
        Step();
        if (HasFatalFailure()) return;
      }
    } while (!token.empty());
    std::set<std::string> touched;
    for (const auto& [id, m] : model_) {
      auto it = head_before.find(id);
      if (it == head_before.end() || it->second != m.head()) touched.insert(id);
    }
    std::map<std::string, int> seen;
    for (size_t i = 0; i < got.size(); ++i) {
      const std::string id = Id(got[i]);
      ++seen[id];
      if (i > 0) {
        EXPECT_TRUE(Before(q, got[i - 1], Id(got[i - 1]), got[i], id))
            << Where() << ": paged order broken at " << id << " after "
            << Id(got[i - 1]) << ": " << Describe(q);
      }
      if (!touched.count(id)) {
        const ModelArticle& m = model_[id];
        EXPECT_TRUE(
            Matches(q, m.content(), m.deleted(), m.revs.back().update_time))
            << Where() << ": paged result holds " << id
            << ", which does not match: " << Describe(q);
        EXPECT_EQ(got[i].revision(), m.head()) << Where() << ": " << id;
      }
    }
    for (const auto& [id, n] : seen) {
      if (n > 1) {
        EXPECT_TRUE(touched.count(id))
            << Where() << ": " << id << " came " << n
            << " times, not written meanwhile: " << Describe(q);
      }
    }
    for (const auto& [id, m] : want_before) {
      if (!touched.count(id)) {
        EXPECT_EQ(seen[id], 1) << Where() << ": untouched " << id
                               << " missing from a paged read: " << Describe(q);
      }
    }
    ++queries_checked_;
  }

  // The readers' view of the event list (server/service/watch.cc, README
  // "watch"): hidden before and after is no event; a write that hides is
  // UNPUBLISHED but a delete; one that shows an existing article is
  // PUBLISHED but a create or undelete.
  std::vector<std::string> ExpectedEvents(const v1::WatchArticlesRequest& req) {
    const bool live_only = req.filter().visibility() != v1::VISIBILITY_ALL;
    // The watch filter's fields, as a query that looks at nothing else.
    v1::Query filter;
    *filter.mutable_tags() = req.filter().tags();
    filter.set_tag_match(req.filter().tag_match());
    *filter.mutable_not_tags() = req.filter().not_tags();
    *filter.mutable_categories() = req.filter().categories();
    *filter.mutable_langs() = req.filter().langs();
    filter.set_visibility(v1::VISIBILITY_ALL);
    std::vector<std::string> out;
    for (size_t i = req.after_sequence(); i < events_.size(); ++i) {
      const ModelEvent& e = events_[i];
      v1::ChangeEvent::Type type = e.type;
      const v1::Article* match = &e.written;
      if (live_only) {
        if (!e.live_before && !e.live_after) continue;
        if (!e.live_after && type != v1::ChangeEvent::TYPE_DELETED) {
          type = v1::ChangeEvent::TYPE_UNPUBLISHED;
          match = &model_[e.id].revs[e.revision - 2].content;
        } else if (!e.live_before && type != v1::ChangeEvent::TYPE_CREATED &&
                   type != v1::ChangeEvent::TYPE_UNDELETED) {
          type = v1::ChangeEvent::TYPE_PUBLISHED;
        }
      }
      if (!Matches(filter, *match, false)) continue;
      out.push_back(absl::StrCat(i + 1, " ", v1::ChangeEvent::Type_Name(type),
                                 " ", e.id, " ", e.revision));
    }
    return out;
  }

  void CheckWatch(const v1::WatchArticlesRequest& req) {
    const std::vector<std::string> want = ExpectedEvents(req);
    if (want.empty()) return;
    WatchCollector watch(client_.get(), req, want.size());
    ASSERT_TRUE(watch.WaitFor(absl::Seconds(60)))
        << Where() << ": watch got " << watch.size() << " of " << want.size()
        << " events: " << watch.status();
    std::vector<std::string> got;
    for (const v1::WatchArticlesResponse& r : watch.events()) {
      const v1::ChangeEvent& e = r.event();
      got.push_back(absl::StrCat(e.sequence(), " ",
                                 v1::ChangeEvent::Type_Name(e.type()), " ",
                                 e.name().substr(9), " ", e.revision()));
    }
    EXPECT_EQ(got, want) << Where() << ": " << req.ShortDebugString();
    ++watches_checked_;
  }

  // Watches from sequence 0 (every event, what readers see) and from a
  // random sequence with a random filter.
  void CheckWatches() {
    for (int live = 0; live < 2; ++live) {
      v1::WatchArticlesRequest req;
      req.set_view(v1::WatchArticlesRequest::VIEW_NAME_ONLY);
      req.mutable_filter()->set_visibility(live ? v1::VISIBILITY_LIVE
                                                : v1::VISIBILITY_ALL);
      CheckWatch(req);
      if (HasFatalFailure()) return;
      for (int i = 0; i < 3; ++i) {
        v1::WatchArticlesRequest f = req;
        f.set_after_sequence(static_cast<int64_t>(Pick(events_.size())));
        v1::Query& q = *f.mutable_filter();
        switch (Pick(5)) {
          case 0:
            q.add_tags(OneOf(kTags));
            break;
          case 1:
            q.add_tags(Chance(50) ? "cafe\xcc\x81" : "AI");
            q.add_not_tags(OneOf(kTags));
            break;
          case 2:
            q.add_categories(OneOf(kCategories));
            break;
          case 3:
            q.add_langs(OneOf(kQueryLangs));
            break;
          default:
            q.add_tags("ai");
            q.add_tags("x");
            q.set_tag_match(v1::Query::TAG_MATCH_ALL);
            break;
        }
        CheckWatch(f);
        if (HasFatalFailure()) return;
      }
    }
  }

  void CheckEverything() {
    for (const v1::Query& q : Shapes()) {
      CheckQuery(q);
      if (HasFatalFailure()) return;
    }
    CheckTagCounts();
  }

  // ListTags and ListCategories: live articles per value, exact for
  // values on up to 32 articles.
  void CheckTagCounts() {
    std::map<std::string, int64_t> want, published, want_c, published_c;
    for (const auto& [id, m] : model_) {
      if (m.deleted()) continue;
      const v1::Article& a = m.content();
      const bool pub = a.state() == v1::Article::STATE_UNSPECIFIED ||
                       a.state() == v1::Article::PUBLISHED;
      for (const std::string& t : a.tags()) {
        if (pub) ++published[t];
        if (IsLiveContent(a)) ++want[t];
      }
      for (const std::string& c : a.categories()) {
        if (pub) ++published_c[c];
        if (IsLiveContent(a)) ++want_c[c];
      }
    }
    v1::ListCategoriesRequest creq;
    creq.set_page_size(1000);
    absl::StatusOr<v1::ListCategoriesResponse> cr =
        client_->ListCategories(creq);
    ASSERT_TRUE(cr.ok()) << cr.status();
    std::map<std::string, int64_t> got_c;
    for (const v1::TermCount& c : cr->categories())
      got_c[c.value()] = c.article_count();
    for (const std::string& c : kCategories) {
      if (published_c[c] > 32) continue;
      EXPECT_EQ(got_c.count(c) ? got_c[c] : 0, want_c[c])
          << Where() << ": ListCategories count of " << c;
    }
    // In pages of 1-3, under a prefix now and then.
    static const char* const kPrefixes[] = {"", "", "a", "t", "数", "c", "AI"};
    const std::string prefix = kPrefixes[Pick(7)];
    std::map<std::string, int64_t> got;
    std::string token;
    int pages = 0;
    do {
      v1::ListTagsRequest req;
      req.set_page_size(1 + static_cast<int>(Pick(3)));
      req.set_page_token(token);
      req.set_prefix(prefix);
      absl::StatusOr<v1::ListTagsResponse> r = client_->ListTags(req);
      ASSERT_TRUE(r.ok()) << r.status();
      for (const v1::TermCount& t : r->tags()) {
        EXPECT_TRUE(got.emplace(t.value(), t.article_count()).second)
            << Where() << ": ListTags listed " << t.value() << " twice";
      }
      token = r->next_page_token();
      ASSERT_LT(++pages, 100) << Where() << ": ListTags paging does not end";
    } while (!token.empty());
    for (const std::string& t : kTags) {
      if (published[t] > 32) continue;
      if (t.compare(0, prefix.size(), prefix) != 0) {
        EXPECT_EQ(got.count(t), 0u) << Where() << ": prefix " << prefix;
        continue;
      }
      EXPECT_EQ(got.count(t) ? got[t] : 0, want[t])
          << Where() << ": ListTags count of " << t;
    }
  }

  uint64_t seed_ = 0;
  int ops_ = 0;
  int op_ = 0;
  int queries_checked_ = 0;
  int watches_checked_ = 0;
  std::mt19937_64 rng_;
  std::map<std::string, ModelArticle> model_;
  std::vector<ModelEvent> events_;
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ModelTest, RandomOperationsAgreeWithTheModel) {
  const int kCheckEvery = 150;
  while (op_ < ops_) {
    Step();
    ASSERT_FALSE(HasFatalFailure());
    if (op_ % kCheckEvery == 0) {
      CheckEverything();
      ASSERT_FALSE(HasFatalFailure());
      for (int i = 0; i < 3; ++i) {
        v1::Query q = OneOf(Shapes());
        CheckPagingUnderWrites(q);
        ASSERT_FALSE(HasFatalFailure());
      }
    }
  }
  CheckEverything();
  CheckWatches();
  ASSERT_FALSE(HasFatalFailure());

  // Indexes and the change log as a restarted contentd reads them.
  ASSERT_EQ(server_->Stop(SIGTERM), 0);
  ASSERT_TRUE(server_->Restart());
  Connect();
  CheckEverything();
  CheckWatches();
  std::cerr << "model_test: seed " << seed_ << ", " << op_ << " operations, "
            << events_.size() << " events, " << model_.size() << " articles, "
            << queries_checked_ << " queries and " << watches_checked_
            << " watches checked\n";
}

}  // namespace
}  // namespace content
