#include "server/query/engine.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/query/page_token.h"
#include "server/query/stream.h"
#include "server/store/keys.h"

namespace content::query {
namespace {

using store::IndexKind;

struct Plan {
  const store::ReadView* view;
  DateKeyRange range;
  bool reverse;
  bool include_deleted;
};

// The posting list of one term; with deleted articles, merged with the
// tombstones' list (an article is in exactly one of the two).
std::unique_ptr<Stream> Term(const Plan& plan, IndexKind kind,
                             const std::string& term) {
  std::unique_ptr<Stream> live =
      NewTermStream(*plan.view, store::PostingPrefix(kind, false, term),
                    plan.range, plan.reverse);
  if (!plan.include_deleted) return live;
  std::vector<std::unique_ptr<Stream>> both;
  both.push_back(std::move(live));
  both.push_back(NewTermStream(*plan.view,
                               store::PostingPrefix(kind, true, term),
                               plan.range, plan.reverse));
  return NewOrStream(std::move(both), plan.reverse);
}

std::unique_ptr<Stream> AnyOf(
    const Plan& plan, IndexKind kind,
    const google::protobuf::RepeatedPtrField<std::string>& terms) {
  std::vector<std::unique_ptr<Stream>> streams;
  for (const std::string& t : terms) streams.push_back(Term(plan, kind, t));
  return NewOrStream(std::move(streams), plan.reverse);
}

std::unique_ptr<Stream> Build(const Plan& plan, const v1::Query& q) {
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
  if (q.langs_size() > 0)
    filters.push_back(AnyOf(plan, IndexKind::kLang, q.langs()));
  if (filters.empty()) filters.push_back(Term(plan, IndexKind::kAll, ""));
  return NewAndStream(std::move(filters), plan.reverse);
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

std::string EncodeCursor(uint64_t fingerprint, const Cursor& c) {
  std::string payload;
  store::AppendBigEndian64(&payload, fingerprint);
  store::AppendBigEndian64(&payload, c.date_key);
  payload += c.id;
  return payload;
}

}  // namespace

absl::StatusOr<QueryPage> RunQuery(const store::Store& store,
                                   const v1::Query& query, int page_size,
                                   absl::string_view page_token) {
  const uint64_t fingerprint = Fingerprint(query);
  // The token is checked first, so a bad one is refused whatever the query.
  std::optional<Cursor> after;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> payload =
        OpenPageToken(page_token, store.token_key());
    if (!payload.ok()) return payload.status();
    if (payload->size() < 16 ||
        store::ReadBigEndian64(*payload) != fingerprint) {
      return absl::InvalidArgumentError(
          "page_token: was issued for a different query; send the same query "
          "with each page");
    }
    after =
        Cursor{store::ReadBigEndian64(payload->substr(8)), payload->substr(16)};
  }

  std::unique_ptr<store::ReadView> view = store.NewReadView();
  Plan plan{view.get(), RangeOf(query),
            query.order() == v1::Query::ORDER_OLDEST_FIRST,
            query.include_deleted()};
  QueryPage page;
  if (plan.range.hi != 0 && plan.range.lo >= plan.range.hi) return page;

  std::unique_ptr<Stream> stream = Build(plan, query);
  if (after.has_value()) {
    stream->Seek(*after);
    if (stream->Valid() && Compare(stream->cursor(), *after, plan.reverse) == 0)
      stream->Next();
  }

  // `last` is the last entry consumed, returned or not: the next page starts
  // after it.
  Cursor last;
  while (stream->Valid() &&
         static_cast<int>(page.articles.size()) < page_size) {
    absl::StatusOr<v1::Article> a =
        view->Revision(stream->cursor().id, stream->revision());
    if (!a.ok()) {
      return absl::Status(a.status().code(),
                          absl::StrCat("reading ", stream->cursor().id,
                                       " for a query: ", a.status().message()));
    }
    if (InDateRange(query, a->date())) page.articles.push_back(*std::move(a));
    last = stream->cursor();
    stream->Next();
  }
  if (!stream->status().ok()) return stream->status();
  if (stream->Valid()) {
    page.next_page_token =
        SealPageToken(EncodeCursor(fingerprint, last), store.token_key());
    page.total_size =
        std::max<int64_t>(stream->EstimatedSize(),
                          static_cast<int64_t>(page.articles.size()) + 1);
  } else if (page_token.empty()) {
    page.total_size = static_cast<int64_t>(page.articles.size());
  } else {
    page.total_size = std::max<int64_t>(
        stream->EstimatedSize(), static_cast<int64_t>(page.articles.size()));
  }
  return page;
}

}  // namespace content::query
