#include "server/query/engine.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/lang_tag.h"
#include "server/error_details.h"
#include "server/query/page_token.h"
#include "server/query/stream.h"
#include "server/store/article_wire.h"
#include "server/store/keys.h"
#include "server/text/nfc.h"
#include "server/text/tokenizer.h"

namespace content::query {
namespace {

using store::IndexKind;

struct Plan {
  const store::ReadView* view;
  DateKeyRange range;
  bool reverse;
  bool include_deleted;
  // Lists of PUBLISHED articles, and of DRAFT and ARCHIVED ones.
  bool published = true;
  bool unpublished = false;
  // The articles scheduled (or expired) at the query's instant, in stream
  // order, when the query asks for those alone (GatherWindow): a filter
  // beside the others, in place of the "all" list.
  std::optional<std::vector<StreamEntry>> listed;
};

// The posting list of one term: the copies the query reaches (published,
// unpublished, deleted) merged; an article is in exactly one of them. Text
// lists have one copy for every state (keys.h); Filter checks the state.
std::unique_ptr<Stream> Term(const Plan& plan, IndexKind kind,
                             const std::string& term) {
  if (kind == IndexKind::kText) {
    return NewTermStream(
        *plan.view, store::PostingPrefix(kind, store::ListState::kLive, term),
        plan.range, plan.reverse);
  }
  std::vector<std::unique_ptr<Stream>> lists;
  auto add = [&](store::ListState state) {
    lists.push_back(NewTermStream(*plan.view,
                                  store::PostingPrefix(kind, state, term),
                                  plan.range, plan.reverse));
  };
  if (plan.published) add(store::ListState::kLive);
  if (plan.unpublished) add(store::ListState::kUnpublished);
  if (plan.include_deleted) add(store::ListState::kDeleted);
  if (lists.size() == 1) return std::move(lists[0]);
  return NewOrStream(std::move(lists), plan.reverse);
}

std::unique_ptr<Stream> AnyOf(
    const Plan& plan, IndexKind kind,
    const google::protobuf::RepeatedPtrField<std::string>& terms) {
  std::vector<std::unique_ptr<Stream>> streams;
  for (const std::string& t : terms) streams.push_back(Term(plan, kind, t));
  return NewOrStream(std::move(streams), plan.reverse);
}

// Language tags compare without regard to ASCII case (BCP 47; GetArticle's
// `lang` does too), but the lists hold them as written: each wanted tag
// becomes every listed spelling of it. The listed tags are few; walking
// them costs a seek each.
std::vector<std::string> LangSpellings(
    const Plan& plan,
    const google::protobuf::RepeatedPtrField<std::string>& wanted) {
  std::vector<std::string> out(wanted.begin(), wanted.end());
  std::vector<store::ListState> states;
  if (plan.published) states.push_back(store::ListState::kLive);
  if (plan.unpublished) states.push_back(store::ListState::kUnpublished);
  if (plan.include_deleted) states.push_back(store::ListState::kDeleted);
  for (store::ListState state : states) {
    const std::string kind(
        1, store::PostingPrefix(IndexKind::kLang, state, "")[0]);
    std::unique_ptr<store::KvIterator> it =
        plan.view->Postings(kind, store::PrefixSuccessor(kind));
    for (it->Seek(kind); it->Valid();) {
      const absl::string_view key = it->key();
      const size_t end = key.find('\0', 1);
      if (end == absl::string_view::npos) break;
      const absl::string_view listed = key.substr(1, end - 1);
      for (const std::string& w : wanted) {
        if (internal::SameLanguageTag(listed, w) &&
            std::find(out.begin(), out.end(), listed) == out.end()) {
          out.emplace_back(listed);
        }
      }
      // Past this tag's list: its key prefix with the next byte after \0.
      std::string next(key.substr(0, end));
      next.push_back('\1');
      it->Seek(next);
    }
  }
  return out;
}

// Text term streams beyond this many (the most frequent ones) are left out
// of the intersection: verification checks the whole text anyway, and each
// stream costs a seek per candidate.
constexpr size_t kMaxTextStreams = text::kMaxExactTerms;

// Whether `q` asks for PUBLISHED articles in `window` and nothing else: its
// windows `window` alone, no DRAFT or ARCHIVED state beside them, no
// deleted ones (the schedule and expiry lists hold live articles only: a
// tombstone deleted while embargoed stays SCHEDULED, one deleted after its
// expiry EXPIRED, with no entry).
bool WindowOnly(const v1::Query& q, const Plan& plan,
                v1::Query::PublishWindow window) {
  return q.windows_size() > 0 &&
         std::all_of(q.windows().begin(), q.windows().end(),
                     [&](int w) { return w == window; }) &&
         plan.published && !plan.unpublished && !plan.include_deleted;
}

// The articles in `window` (SCHEDULED or EXPIRED) at `instant`, in stream
// order within the plan's dates, from a list keyed by time instead of a
// walk of every article. SCHEDULED: the publish-time list
// (IndexKind::kPublishAt); each article written PUBLISHED with a publish
// time after its write has an entry at that time until a later write
// drops it (Store keeps the list for its scheduler), so every article
// scheduled at `instant` has one at or after it; entries whose time has
// passed stay, and are below the bound. EXPIRED: the expiry list
// (IndexKind::kExpiry), where every live article with an expiry time has
// an entry at it, so every article expired at `instant` has one at or
// before it. nullopt if more than `limit` entries are in range: the caller
// walks the lists as before.
absl::StatusOr<std::optional<std::vector<StreamEntry>>> GatherWindow(
    const Plan& plan, v1::Query::PublishWindow window, absl::Time instant,
    int limit) {
  const bool scheduled = window == v1::Query::PUBLISH_WINDOW_SCHEDULED;
  const std::string prefix = store::PostingPrefix(
      scheduled ? IndexKind::kPublishAt : IndexKind::kExpiry,
      store::ListState::kLive, "");
  // Keys run newest first and hold whole microseconds (rounded down): times
  // at or after the instant's microsecond are the keys up to its key, times
  // at or before it the keys from it on. Entries of the instant's own
  // microsecond on the wrong side of it are dropped below.
  const uint64_t instant_key =
      store::DateKeyFromMicros(absl::ToUnixMicros(instant));
  std::unique_ptr<store::KvIterator> it =
      scheduled
          ? plan.view->Postings(prefix,
                                store::PostingKey(prefix, instant_key + 1, ""))
          : plan.view->Postings(store::PostingKey(prefix, instant_key, ""),
                                store::PrefixSuccessor(prefix));
  std::vector<std::pair<absl::string_view, int64_t>> wanted;
  std::vector<std::string> ids;
  std::vector<int64_t> revisions;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t date_key;
    absl::string_view id;
    if (!store::ParsePostingKey(it->key(), prefix.size(), &date_key, &id) ||
        it->value().size() < 8)
      continue;
    if (static_cast<int>(ids.size()) >= limit) return std::nullopt;
    ids.emplace_back(id);
    revisions.push_back(
        static_cast<int64_t>(store::ReadBigEndian64(it->value())));
  }
  if (!it->status().ok()) return it->status();
  for (size_t i = 0; i < ids.size(); ++i)
    wanted.emplace_back(ids[i], revisions[i]);
  std::vector<absl::StatusOr<store::StoredArticle>> heads =
      plan.view->StoredLatest(wanted);
  std::vector<StreamEntry> out;
  for (size_t i = 0; i < heads.size(); ++i) {
    if (!heads[i].ok()) {
      return absl::Status(heads[i].status().code(),
                          absl::StrCat("reading ", ids[i], " for a query: ",
                                       heads[i].status().message()));
    }
    const v1::Article& a = heads[i]->skeleton;
    // The rest of the query is checked as on any candidate (Filter); only
    // what makes an entry no candidate at all is dropped here, so that the
    // estimate (total_size) counts the window's articles alone.
    if (store::ListStateOf(a) != store::ListState::kLive ||
        store::PublishWindowOf(a, instant) != window)
      continue;
    const uint64_t date_key = store::DateKey(a.date());
    if (date_key < plan.range.lo ||
        (plan.range.hi != 0 && date_key >= plan.range.hi))
      continue;
    out.push_back(
        StreamEntry{Cursor{date_key, std::move(ids[i])}, a.revision()});
  }
  std::sort(out.begin(), out.end(),
            [&](const StreamEntry& x, const StreamEntry& y) {
              return Compare(x.cursor, y.cursor, plan.reverse) < 0;
            });
  // One entry per article (Store writes one); kept so if a damaged list
  // held two.
  out.erase(std::unique(out.begin(), out.end(),
                        [](const StreamEntry& x, const StreamEntry& y) {
                          return x.cursor.id == y.cursor.id &&
                                 x.cursor.date_key == y.cursor.date_key;
                        }),
            out.end());
  return out;
}

// The planner. Positive filters become the children of one leapfrog AND,
// ordered rarest first by the per-list counters (the rarest leads and the
// others only seek); tags ALL and text terms are children of their own,
// tags ANY, categories and langs one k-way OR each. `not_tags` subtract
// one OR from the result. No positive filter means the "all" list.
//
// `published_estimate`, if not null, is set to an upper bound of the result
// taken only from lists of PUBLISHED articles (the smallest non-text
// filter's), or to nullopt when the plan has none: text lists hold every
// state and deleted lists tombstones of every state, so their sizes would
// count drafts a reader cannot see.
std::unique_ptr<Stream> Build(
    const Plan& plan, const v1::Query& q, const text::TextMatcher* text,
    std::optional<int64_t>* published_estimate = nullptr) {
  std::vector<std::unique_ptr<Stream>> filters;
  if (q.tags_size() > 0) {
    if (q.tag_match() == v1::Query::TAG_MATCH_ALL) {
      for (const std::string& t : q.tags())
        filters.push_back(Term(plan, IndexKind::kTag, t));
    } else {
      filters.push_back(AnyOf(plan, IndexKind::kTag, q.tags()));
    }
  }
  if (q.categories_size() > 0)
    filters.push_back(AnyOf(plan, IndexKind::kCategory, q.categories()));
  if (q.langs_size() > 0) {
    std::vector<std::unique_ptr<Stream>> spellings;
    for (const std::string& l : LangSpellings(plan, q.langs()))
      spellings.push_back(Term(plan, IndexKind::kLang, l));
    filters.push_back(NewOrStream(std::move(spellings), plan.reverse));
  }
  if (plan.listed.has_value())
    filters.push_back(NewVectorStream(*plan.listed, plan.reverse));
  if (text == nullptr && filters.empty())
    filters.push_back(Term(plan, IndexKind::kAll, ""));
  if (published_estimate != nullptr) {
    published_estimate->reset();
    if (plan.published && !plan.unpublished && !plan.include_deleted) {
      for (const auto& f : filters) {
        const int64_t n = f->EstimatedSize();
        if (!published_estimate->has_value() || n < **published_estimate)
          *published_estimate = n;
      }
    }
  }
  if (text != nullptr) {
    std::vector<std::unique_ptr<Stream>> terms;
    for (const std::string& t : text->terms())
      terms.push_back(Term(plan, IndexKind::kText, t));
    std::stable_sort(terms.begin(), terms.end(),
                     [](const auto& a, const auto& b) {
                       return a->EstimatedSize() < b->EstimatedSize();
                     });
    if (terms.size() > kMaxTextStreams) terms.resize(kMaxTextStreams);
    for (auto& t : terms) filters.push_back(std::move(t));
  }
  if (filters.empty()) filters.push_back(Term(plan, IndexKind::kAll, ""));
  std::stable_sort(filters.begin(), filters.end(),
                   [](const auto& a, const auto& b) {
                     return a->EstimatedSize() < b->EstimatedSize();
                   });
  std::unique_ptr<Stream> result =
      NewAndStream(std::move(filters), plan.reverse);
  if (q.not_tags_size() > 0) {
    result = NewDifferenceStream(std::move(result),
                                 AnyOf(plan, IndexKind::kTag, q.not_tags()),
                                 plan.reverse);
  }
  return result;
}

bool Before(const google::protobuf::Timestamp& a,
            const google::protobuf::Timestamp& b) {
  return a.seconds() != b.seconds() ? a.seconds() < b.seconds()
                                    : a.nanos() < b.nanos();
}

// The query's exact date filter, [date_from, date_to), at full precision.
bool InDateRange(const v1::Query& q, const google::protobuf::Timestamp& date) {
  if (q.has_date_from() && Before(date, q.date_from())) return false;
  if (q.has_date_to() && !Before(date, q.date_to())) return false;
  return true;
}

bool InUpdateRange(const v1::Query& q, const v1::Article& a) {
  if (q.has_update_time_from() && Before(a.update_time(), q.update_time_from()))
    return false;
  if (q.has_update_time_to() && !Before(a.update_time(), q.update_time_to()))
    return false;
  return true;
}

bool InPublishRange(const v1::Query& q, const v1::Article& a) {
  if (!q.has_publish_time_from() && !q.has_publish_time_to()) return true;
  if (!a.has_publish_time()) return false;
  if (q.has_publish_time_from() &&
      Before(a.publish_time(), q.publish_time_from()))
    return false;
  if (q.has_publish_time_to() && !Before(a.publish_time(), q.publish_time_to()))
    return false;
  return true;
}

bool IsPublished(int state) {
  return state == v1::Article::STATE_UNSPECIFIED ||
         state == v1::Article::PUBLISHED;
}

// `states`; with none, every state, or only PUBLISHED when `windows` asks
// for published articles by their window.
bool InStates(const v1::Query& q, const v1::Article& a) {
  if (q.states_size() == 0)
    return q.windows_size() == 0 || IsPublished(a.state());
  auto norm = [](int s) {
    return s == v1::Article::STATE_UNSPECIFIED ? v1::Article::PUBLISHED : s;
  };
  for (int s : q.states())
    if (norm(s) == norm(a.state())) return true;
  return false;
}

// `windows` at `now`: it narrows published articles only (drafts and
// archived ones have no window; InStates decides them).
bool InWindows(const v1::Query& q, const v1::Article& a, absl::Time now) {
  if (q.windows_size() == 0 || !IsPublished(a.state())) return true;
  const v1::Query::PublishWindow w = store::PublishWindowOf(a, now);
  return std::find(q.windows().begin(), q.windows().end(), w) !=
         q.windows().end();
}

// The checks no posting list answers exactly: the date range below index
// precision, the update-time and publish-time ranges, states, publish
// windows, whether the article is live now, and the text itself.
struct Filter {
  const v1::Query* query;
  const text::TextMatcher* text;  // null without text
  absl::Time now;
  // The query's instant for `windows`: the first page's `now`, carried in
  // the page token (EncodeCursor). Liveness for readers stays `now`.
  absl::Time window_now;
  bool live_only;
  // Tags ALL of two or more: the AND took candidates on tag fingerprints,
  // which may collide (NewAndStream), so the tags are checked here.
  bool check_tags;
  // The list copies the plan reads (Plan), checked on the article because
  // text lists hold every state.
  bool published;
  bool unpublished;
  bool include_deleted;
  bool Matches(const v1::Article& a) const {
    return MatchesSkeleton(a) && (!check_tags || HasTags(a)) &&
           (text == nullptr || text->exact_by_index() || text->Matches(a));
  }
  bool HasTags(const v1::Article& a) const {
    for (const std::string& t : query->tags()) {
      if (std::find(a.tags().begin(), a.tags().end(), t) == a.tags().end())
        return false;
    }
    return true;
  }
  // All but the text check: reads only ParseArticleSkeleton's fields.
  bool MatchesSkeleton(const v1::Article& a) const {
    return InListStates(a) && InDateRange(*query, a.date()) &&
           InUpdateRange(*query, a) && InPublishRange(*query, a) &&
           InStates(*query, a) && InWindows(*query, a, window_now) &&
           (!live_only || store::IsLiveContent(a, now));
  }
  bool InListStates(const v1::Article& a) const {
    switch (store::ListStateOf(a)) {
      case store::ListState::kLive:
        return published;
      case store::ListState::kUnpublished:
        return unpublished;
      case store::ListState::kDeleted:
        return include_deleted;
    }
    return false;
  }
};

DateKeyRange RangeOf(const v1::Query& q) {
  // Time [from, to) is date-key (key(to), key(from)] since keys run newest
  // first. Keys hold whole microseconds (rounded down), so the range is
  // widened to every microsecond that can hold a match: a date d >= from has
  // floor(d) >= floor(from), and d < to has floor(d) < ceil(to). RunQuery
  // drops the few candidates on a boundary microsecond that miss.
  DateKeyRange r;
  if (q.has_date_to()) {
    const google::protobuf::Timestamp& to = q.date_to();
    const int64_t ceil_micros =
        to.seconds() * 1000000 + (to.nanos() + 999) / 1000;
    r.lo = store::DateKeyFromMicros(ceil_micros) + 1;
  }
  if (q.has_date_from()) {
    const uint64_t k = store::DateKey(q.date_from());
    r.hi = k == UINT64_MAX ? 0 : k + 1;
  }
  return r;
}

// What a first page that goes on may say of a date-range query's size: its
// lists count every date (a tag's list its five years), and said "about
// 2652" of a month that held 28. The page's `returned` matches, spread
// from its first match's date key to its last, extrapolated at that rate
// to the range's far end (the bound the walk heads for: `date_from`
// newest first, `date_to` oldest first); `list_estimate` where the query
// has no such bound or the page spans a single instant. No read: the page
// walked these dates already. An estimate, as total_size is (AIP-158).
int64_t RangeEstimate(const Plan& plan, int returned, uint64_t first,
                      uint64_t last, int64_t list_estimate) {
  // Keys run newest first: newest first walks keys up towards range.hi.
  const uint64_t far = plan.reverse ? plan.range.lo : plan.range.hi;
  if (returned < 2 || far == 0 || first == last) return list_estimate;
  const double covered =
      static_cast<double>(plan.reverse ? first - last : last - first);
  const double total =
      static_cast<double>(plan.reverse ? first - far : far - first);
  if (total <= covered) return list_estimate;
  const double n = 1 + (returned - 1) * (total / covered);
  return n < static_cast<double>(list_estimate) ? std::llround(n)
                                                : list_estimate;
}

// A token's payload: the query's fingerprint, the cursor, then a NUL (no id
// holds one) and the articles returned before the next page, which bound
// its total_size from below, then, for a query with `windows`, its instant
// in Unix nanoseconds. Tokens from before that count end at the id.
std::string EncodeCursor(uint64_t fingerprint, const Cursor& c,
                         int64_t returned,
                         std::optional<absl::Time> window_now) {
  std::string payload;
  store::AppendBigEndian64(&payload, fingerprint);
  store::AppendBigEndian64(&payload, c.date_key);
  payload += c.id;
  payload.push_back('\0');
  store::AppendBigEndian64(&payload, static_cast<uint64_t>(returned));
  if (window_now.has_value()) {
    store::AppendBigEndian64(
        &payload, static_cast<uint64_t>(absl::ToUnixNanos(*window_now)));
  }
  return payload;
}

struct DecodedCursor {
  Cursor cursor;
  int64_t returned = 0;
  // Whether the token carries `returned` (tokens from before it do not).
  bool counted = false;
  std::optional<absl::Time> window_now;
};

// What EncodeCursor put in a payload whose fingerprint was already checked
// (16 bytes or more).
DecodedCursor DecodeCursor(absl::string_view payload) {
  DecodedCursor out;
  out.cursor.date_key = store::ReadBigEndian64(payload.substr(8));
  absl::string_view rest = payload.substr(16);
  const size_t nul = rest.find('\0');
  out.cursor.id = std::string(rest.substr(0, nul));
  if (nul == absl::string_view::npos) return out;
  rest.remove_prefix(nul + 1);
  if (rest.size() >= 8) {
    out.counted = true;
    // Bounded, so that adding a page to it cannot overflow.
    out.returned = static_cast<int64_t>(
        std::min<uint64_t>(store::ReadBigEndian64(rest), INT64_MAX / 2));
  }
  if (rest.size() >= 16) {
    out.window_now = absl::FromUnixNanos(
        static_cast<int64_t>(store::ReadBigEndian64(rest.substr(8))));
  }
  return out;
}

// Whether a read failed only because the posting at the cursor is not yet
// committed: a text posting (no revision) whose article has no head. An
// import batch's text postings become visible just before the batch
// commits (KvEngine::Ingest); readers skip them until it does.
bool Provisional(const Stream& s, const absl::Status& status) {
  return s.revision() == 0 && absl::IsNotFound(status);
}

// Counts the facet fields over the result from its start, on the page's
// snapshot, within the limits of `options`; `last_match` gets the cursor of
// the last match counted.
template <typename Read>
absl::Status CountFacets(const Plan& plan, const v1::Query& query,
                         const Filter& filter, const QueryOptions& options,
                         const Read& read, QueryPage* page,
                         std::optional<Cursor>* last_match) {
  std::unique_ptr<Stream> stream = Build(plan, query, filter.text);
  std::vector<absl::flat_hash_map<std::string, int64_t>> counts(
      options.facets.size());
  int64_t examined = 0;
  int64_t counted = 0;
  std::vector<std::string> langs;  // one article's, canonical
  for (; stream->Valid(); stream->Next()) {
    if (counted >= options.facet_max_articles ||
        examined >= options.facet_max_candidates) {
      page->facets_complete = false;
      break;
    }
    ++examined;
    absl::StatusOr<v1::Article> a = read(*stream);
    if (!a.ok()) {
      if (Provisional(*stream, a.status())) continue;
      return a.status();
    }
    if (!filter.Matches(*a)) continue;
    ++counted;
    *last_match = stream->cursor();
    for (size_t i = 0; i < options.facets.size(); ++i) {
      const google::protobuf::RepeatedPtrField<std::string>* values = nullptr;
      switch (options.facets[i]) {
        case v1::FACET_FIELD_TAGS:
          values = &a->tags();
          break;
        case v1::FACET_FIELD_CATEGORIES:
          values = &a->categories();
          break;
        case v1::FACET_FIELD_LANG:
          values = &a->lang();
          break;
        default:
          break;
      }
      if (values == nullptr) continue;
      if (options.facets[i] != v1::FACET_FIELD_LANG) {
        for (const std::string& v : *values) ++counts[i][v];
        continue;
      }
      // Spellings of one language (`zh_CN`, `zh-cn`: SameLanguageTag, as
      // the `langs` filter compares) are one value, in BCP 47's
      // conventional case: a spelling of its own, not the most common
      // one stored, so the value does not depend on which articles were
      // counted. An article counts once per language.
      langs.clear();
      for (const std::string& v : *values) {
        std::string tag = internal::CanonicalLanguageTag(v);
        if (std::find(langs.begin(), langs.end(), tag) == langs.end())
          langs.push_back(std::move(tag));
      }
      for (const std::string& v : langs) ++counts[i][v];
    }
  }
  if (!stream->status().ok()) return stream->status();
  page->facet_articles_counted = counted;
  for (size_t i = 0; i < options.facets.size(); ++i) {
    std::vector<std::pair<std::string, int64_t>> sorted(counts[i].begin(),
                                                        counts[i].end());
    const size_t keep =
        std::min(sorted.size(), static_cast<size_t>(options.facet_limit));
    auto by_count = [](const auto& x, const auto& y) {
      return x.second != y.second ? x.second > y.second : x.first < y.first;
    };
    std::partial_sort(sorted.begin(), sorted.begin() + keep, sorted.end(),
                      by_count);
    for (size_t k = 0; k < keep; ++k) {
      v1::FacetValue* fv = page->facets[i].add_values();
      fv->set_value(std::move(sorted[k].first));
      fv->set_count(sorted[k].second);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<QueryPage> RunQuery(const store::Store& store,
                                   const v1::Query& query, int page_size,
                                   absl::string_view page_token) {
  QueryOptions options;
  options.page_size = page_size;
  options.page_token = std::string(page_token);
  return RunQuery(store, query, options);
}

namespace {

// RunQuery for a query whose terms are in NFC.
absl::StatusOr<QueryPage> RunNfcQuery(const store::Store& store,
                                      const v1::Query& query,
                                      const QueryOptions& options) {
  const uint64_t fingerprint = Fingerprint(query);
  const std::string& page_token = options.page_token;
  // The token is checked first, so a bad one is refused whatever the query.
  std::optional<Cursor> after;
  // Articles the pages before this one returned.
  int64_t returned_before = 0;
  bool token_counted = false;
  std::optional<absl::Time> token_window_now;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> payload =
        OpenPageToken(page_token, store.token_key());
    if (!payload.ok()) return payload.status();
    if (payload->size() < 16 ||
        store::ReadBigEndian64(*payload) != fingerprint) {
      return InvalidField(
          "page_token",
          "was issued for a different query; send the same query "
          "with each page");
    }
    DecodedCursor decoded = DecodeCursor(*payload);
    after = std::move(decoded.cursor);
    returned_before = decoded.returned;
    token_counted = decoded.counted;
    token_window_now = decoded.window_now;
  }

  std::optional<text::TextMatcher> text;
  if (!query.text().empty() && !store.text_index()) {
    // A reason of its own: a client tells it from the other
    // FAILED_PRECONDITIONs (INDEX_REPAIR_PENDING) without reading words.
    return WithReason(
        absl::FailedPreconditionError(
            "query.text: this server keeps no text index (text_index: false "
            "in its config)"),
        reason::kTextIndexOff);
  }
  if (!query.text().empty()) {
    text.emplace(query.text());
    if (text->empty()) {
      return InvalidField("query.text",
                          "holds no word or CJK character to search for");
    }
  }
  const bool live_only = query.visibility() != v1::VISIBILITY_ALL;
  const bool check_tags =
      query.tag_match() == v1::Query::TAG_MATCH_ALL && query.tags_size() > 1;
  std::unique_ptr<store::ReadView> own_view;
  const store::ReadView* view = options.read_view;
  if (view == nullptr) {
    own_view = store.NewReadView();
    view = own_view.get();
  }
  Plan plan{view, RangeOf(query),
            query.order() == v1::Query::ORDER_OLDEST_FIRST,
            query.include_deleted()};
  if (query.states_size() > 0) {
    plan.published = false;
    for (int st : query.states()) {
      if (IsPublished(st)) plan.published = true;
    }
  }
  // Drafts and archived articles are never live: their lists are read only
  // for editors who asked for every state (`windows` alone asks for
  // published articles).
  plan.unpublished =
      !live_only && (query.states_size() == 0
                         ? query.windows_size() == 0
                         : std::any_of(query.states().begin(),
                                       query.states().end(), [](int st) {
                                         return st == v1::Article::DRAFT ||
                                                st == v1::Article::ARCHIVED;
                                       }));
  const absl::Time now = store.Now();
  // A query's windows are judged at one instant across its pages (Query
  // says why); a token without one (from before `windows`) uses this page's.
  std::optional<absl::Time> window_now;
  if (query.windows_size() > 0) window_now = token_window_now.value_or(now);
  // Scheduled articles alone are taken from the schedule list, and expired
  // ones alone from the expiry list where the store has it complete, when
  // the part in range is short, instead of from every article a page at a
  // time (design.md).
  std::optional<v1::Query::PublishWindow> listed_window;
  if (WindowOnly(query, plan, v1::Query::PUBLISH_WINDOW_SCHEDULED)) {
    listed_window = v1::Query::PUBLISH_WINDOW_SCHEDULED;
  } else if (WindowOnly(query, plan, v1::Query::PUBLISH_WINDOW_EXPIRED) &&
             store.expiry_list()) {
    listed_window = v1::Query::PUBLISH_WINDOW_EXPIRED;
  }
  if (listed_window.has_value() &&
      !(plan.range.hi != 0 && plan.range.lo >= plan.range.hi)) {
    absl::StatusOr<std::optional<std::vector<StreamEntry>>> listed =
        GatherWindow(plan, *listed_window, *window_now,
                     options.max_candidates_per_page);
    if (!listed.ok()) return listed.status();
    plan.listed = *std::move(listed);
  }
  const Filter filter{&query,
                      text ? &*text : nullptr,
                      now,
                      window_now.value_or(now),
                      live_only,
                      check_tags,
                      plan.published,
                      plan.unpublished,
                      plan.include_deleted};
  QueryPage page;
  for (v1::FacetField f : options.facets)
    page.facets.emplace_back().set_field(f);
  if (plan.range.hi != 0 && plan.range.lo >= plan.range.hi) return page;

  auto read_stored =
      [&](const Stream& s) -> absl::StatusOr<store::StoredArticle> {
    const int64_t revision = s.revision();
    absl::StatusOr<store::StoredArticle> a =
        revision != 0
            ? std::move(view->StoredLatest({{s.cursor().id, revision}})[0])
            : view->StoredHead(s.cursor().id);
    if (!a.ok()) {
      return absl::Status(a.status().code(),
                          absl::StrCat("reading ", s.cursor().id,
                                       " for a query: ", a.status().message()));
    }
    return a;
  };
  auto read = [&](const Stream& s) -> absl::StatusOr<v1::Article> {
    absl::StatusOr<store::StoredArticle> a = read_stored(s);
    if (!a.ok()) return a.status();
    absl::StatusOr<v1::Article> full = a->Decode();
    if (!full.ok()) {
      return absl::Status(
          full.status().code(),
          absl::StrCat("reading ", s.cursor().id,
                       " for a query: ", full.status().message()));
    }
    return full;
  };

  // The result's last match on this snapshot, where the facets counted it
  // all (none: the result is empty).
  std::optional<Cursor> facets_last_match;
  if (!options.facets.empty()) {
    absl::Status s = CountFacets(plan, query, filter, options, read, &page,
                                 &facets_last_match);
    if (!s.ok()) return s;
  }

  std::optional<int64_t> published_estimate;
  std::unique_ptr<Stream> stream =
      Build(plan, query, text ? &*text : nullptr, &published_estimate);
  // What total_size may estimate from: every list the plan reads for an
  // editor, who may see all of it; for a reader only lists of PUBLISHED
  // articles, else what the walk itself found (a reader must not learn how
  // many drafts or deleted drafts match a text or include_deleted query).
  const int64_t estimate =
      !live_only ? stream->EstimatedSize() : published_estimate.value_or(0);
  if (after.has_value()) {
    stream->Seek(*after);
    if (stream->Valid() && Compare(stream->cursor(), *after, plan.reverse) == 0)
      stream->Next();
  }

  // `last` is the last entry consumed, returned or not: the next page starts
  // after it.
  Cursor last;
  int examined = 0;
  int returned = 0;
  // The dates of this page's first and last match (RangeEstimate).
  uint64_t first_match = 0;
  uint64_t last_match = 0;
  // Text that the index cannot answer exactly is verified on the decoded
  // article; every other filter reads the skeleton.
  const bool verify_text = text.has_value() && !text->exact_by_index();
  // Candidates are read in batches of what the page still lacks (all of
  // them may match, so none is read in vain): the head revisions of a
  // batch are looked up together (KvEngine::MultiGet), from the revisions
  // their postings name (ReadView::StoredLatest); text-only candidates
  // through their heads, also together.
  struct Candidate {
    Cursor cursor;
    int64_t revision;
  };
  std::vector<Candidate> batch;
  std::vector<std::pair<absl::string_view, int64_t>> wanted;
  std::vector<absl::string_view> text_only;
  size_t page_bytes = 0;
  // Set when the byte bound ends the page inside a batch: candidates after
  // `last` were read from the stream but not examined.
  bool page_full = false;
  while (!page_full && stream->Valid() && returned < options.page_size &&
         examined < options.max_candidates_per_page &&
         (options.max_page_bytes == 0 || page_bytes < options.max_page_bytes)) {
    const int want = std::min(options.page_size - returned,
                              options.max_candidates_per_page - examined);
    batch.clear();
    while (stream->Valid() && static_cast<int>(batch.size()) < want) {
      batch.push_back(Candidate{stream->cursor(), stream->revision()});
      stream->Next();
    }
    if (!stream->status().ok()) return stream->status();
    wanted.clear();
    text_only.clear();
    for (const Candidate& c : batch) {
      if (c.revision != 0) {
        wanted.emplace_back(c.cursor.id, c.revision);
      } else {
        text_only.push_back(c.cursor.id);
      }
    }
    std::vector<absl::StatusOr<store::StoredArticle>> by_revision =
        view->StoredLatest(wanted);
    std::vector<absl::StatusOr<store::StoredArticle>> by_head =
        view->StoredHeads(text_only);
    size_t next_by_revision = 0;
    size_t next_by_head = 0;
    for (const Candidate& c : batch) {
      if (options.max_page_bytes > 0 && page_bytes >= options.max_page_bytes) {
        page_full = true;
        break;
      }
      ++examined;
      last = c.cursor;
      absl::StatusOr<store::StoredArticle> a =
          c.revision != 0 ? std::move(by_revision[next_by_revision++])
                          : std::move(by_head[next_by_head++]);
      if (!a.ok()) {
        // A text posting (no revision) whose article has no head is not yet
        // committed (an import batch's ingest): skip it.
        if (c.revision == 0 && absl::IsNotFound(a.status())) continue;
        return absl::Status(
            a.status().code(),
            absl::StrCat("reading ", c.cursor.id,
                         " for a query: ", a.status().message()));
      }
      if (options.raw) {
        bool match = filter.MatchesSkeleton(a->skeleton) &&
                     (!check_tags || store::HasAllTags(a->bytes, query.tags()));
        if (match && verify_text) {
          absl::StatusOr<v1::Article> full = a->Decode();
          if (!full.ok()) return full.status();
          match = filter.Matches(*full);
        }
        if (!match) continue;
        if (returned++ == 0) first_match = c.cursor.date_key;
        last_match = c.cursor.date_key;
        if (options.view == v1::ARTICLE_VIEW_BASIC) {
          std::string& out = page.raw_articles.emplace_back();
          if (!store::AppendArticleWithoutBody(a->bytes, &out)) {
            return absl::DataLossError(
                absl::StrCat("reading ", c.cursor.id, " for a query: corrupt"));
          }
        } else {
          page.raw_articles.push_back(std::move(a->bytes));
        }
        page_bytes += page.raw_articles.back().size();
      } else {
        absl::StatusOr<v1::Article> full = a->Decode();
        if (!full.ok()) {
          return absl::Status(
              full.status().code(),
              absl::StrCat("reading ", c.cursor.id,
                           " for a query: ", full.status().message()));
        }
        if (!filter.Matches(*full)) continue;
        if (returned++ == 0) first_match = c.cursor.date_key;
        last_match = c.cursor.date_key;
        if (options.view == v1::ARTICLE_VIEW_BASIC) full->clear_body();
        page_bytes += full->ByteSizeLong();
        page.articles.push_back(*std::move(full));
      }
    }
  }
  if (!stream->status().ok()) return stream->status();
  // Never less than the articles returned so far, on this page and before
  // it (counted in the token, no read), plus one if a page follows: a
  // reader's text-only query has no estimate, and a text list's is rough.
  const int64_t so_far = returned_before + returned;
  if (page_full || stream->Valid()) {
    page.next_page_token = SealPageToken(
        EncodeCursor(fingerprint, last, so_far, window_now), store.token_key());
    int64_t bounded = estimate;
    if (page_token.empty()) {
      bounded = std::min(bounded, RangeEstimate(plan, returned, first_match,
                                                last_match, estimate));
    }
    page.total_size = std::max<int64_t>(bounded, so_far + 1);
  } else if (page_token.empty()) {
    page.total_size = static_cast<int64_t>(returned);
  } else if (token_counted) {
    // The last page of a walk: the result is what its pages returned. The
    // lists' estimate ignores the date range and the checks no list
    // answers, and said "about 2652" of a walk that returned 28.
    page.total_size = so_far;
  } else {
    page.total_size = std::max<int64_t>(estimate, so_far);
  }
  // Facets that counted the whole result found its last match: a page
  // that reached it is the last, though the lists go on with candidates
  // that do not match (a scheduled article in a tag's list, for a reader).
  // Its token led to an empty page, and made total_size one more than the
  // facets counted.
  if (!options.facets.empty() && page.facets_complete &&
      !page.next_page_token.empty() &&
      (!facets_last_match.has_value() ||
       Compare(*facets_last_match, last, plan.reverse) <= 0)) {
    page.next_page_token.clear();
  }
  // Facets that counted the whole result counted it exactly, on this
  // page's snapshot: better than the lists' estimate (which said "about
  // 382" beside facets of 67), still never below what was returned.
  if (!options.facets.empty() && page.facets_complete) {
    page.total_size =
        std::max<int64_t>(page.facet_articles_counted,
                          page.next_page_token.empty() ? so_far : so_far + 1);
  }
  return page;
}

}  // namespace

absl::StatusOr<QueryPage> RunQuery(const store::Store& store,
                                   const v1::Query& query,
                                   const QueryOptions& options) {
  // Indexes marked incomplete (a repair under way, or one that did not
  // finish) would answer wrongly, and without a sign of it.
  if (absl::Status s = store.IndexesUsable(); !s.ok()) return s;
  // Tags and categories are stored in NFC (text/nfc.h): a term in either
  // spelling finds them. A copy only for a query that needs it; the page
  // token's fingerprint is of the normalized query, so a token serves both
  // spellings.
  if (!text::IsNfcQuery(query)) {
    v1::Query nfc = query;
    text::NormalizeQueryTerms(&nfc);
    return RunNfcQuery(store, nfc, options);
  }
  return RunNfcQuery(store, query, options);
}

}  // namespace content::query
