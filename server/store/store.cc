#include "server/store/store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "server/error_details.h"
#include "server/store/article_wire.h"
#include "server/store/pg_kv.h"
#include "server/store/rocksdb_kv.h"
#include "server/text/nfc.h"
#include "server/text/tokenizer.h"

namespace content::store {
namespace {

// Import batches of at least this many articles ingest their creates' text
// postings (Store::ApplyOnce); smaller ones log them like any write.
constexpr size_t kMinIngestBatch = 64;

// Retention on a shared engine: articles' removals per transaction, and
// about the bytes of one (Store::RetentionPass).
constexpr size_t kRetentionGroupArticles = 256;
constexpr size_t kRetentionGroupBytes = size_t{4} << 20;

std::string BigEndian(int64_t v) {
  std::string s;
  AppendBigEndian64(&s, static_cast<uint64_t>(v));
  return s;
}

absl::StatusOr<std::vector<Store::SequenceGap>> ParseSequenceGaps(
    absl::string_view value) {
  if (value.size() % 16 != 0)
    return absl::DataLossError("the store's sequence_gaps record is corrupt");
  std::vector<Store::SequenceGap> gaps;
  for (size_t i = 0; i < value.size(); i += 16) {
    Store::SequenceGap gap;
    gap.after = static_cast<int64_t>(ReadBigEndian64(value.substr(i, 8)));
    gap.through = static_cast<int64_t>(ReadBigEndian64(value.substr(i + 8, 8)));
    if (gap.through <= gap.after ||
        (!gaps.empty() && gap.after < gaps.back().through)) {
      return absl::DataLossError("the store's sequence_gaps record is corrupt");
    }
    gaps.push_back(gap);
  }
  return gaps;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --seconds;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(rem * 1000));
}

std::string Name(absl::string_view id) { return absl::StrCat("articles/", id); }

// NOT_FOUND for an article that has no head (server/error_details.h). An
// import's or create's lookup of a new article's head makes one, so its
// reason costs no allocation.
absl::Status ArticleNotFound(absl::string_view id) {
  static const absl::Cord* const info =
      new absl::Cord(ErrorInfoOf(reason::kArticleNotFound));
  return WithErrorInfo(
      absl::NotFoundError(absl::StrCat(Name(id), " not found")), *info);
}

// NOT_FOUND for a write or read that needs a live head, of a tombstone
// (revision `revision`); `message` says what to do.
absl::Status ArticleDeleted(absl::string_view id, int64_t revision,
                            std::string message) {
  return WithReason(absl::NotFoundError(std::move(message)),
                    reason::kArticleDeleted,
                    {{"name", Name(id)}, {"revision", absl::StrCat(revision)}});
}

// NOT_FOUND for a revision the article, whose head is revision `head`, does
// not have. The head goes in the metadata too (`current_revision`, as a
// REVISION_MISMATCH gives it), so that a client can say where the head is
// without another read (contentctl's `diff x 5 4`).
absl::Status RevisionNotFound(absl::string_view id, int64_t revision,
                              int64_t head) {
  return WithReason(
      absl::NotFoundError(absl::StrCat(
          Name(id), " has no revision ", revision,
          revision < head
              ? " (removed by retention)"
              : absl::StrCat(" (the head is revision ", head, ")"))),
      reason::kRevisionNotFound,
      {{"name", Name(id)},
       {"revision", absl::StrCat(revision)},
       {"current_revision", absl::StrCat(head)}});
}

absl::Status ArticleExists(absl::string_view id, int64_t head) {
  return WithReason(
      absl::AlreadyExistsError(
          absl::StrCat(Name(id), " already exists (revision ", head, ")")),
      reason::kArticleAlreadyExists,
      {{"name", Name(id)}, {"current_revision", absl::StrCat(head)}});
}

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// Full precision: publish and expiry times are compared to the nanosecond
// (index keys hold microseconds; the scheduler waits for a key's whole
// microsecond to pass).
absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

bool PublishedState(const v1::Article& a) {
  return a.state() == v1::Article::STATE_UNSPECIFIED ||
         a.state() == v1::Article::PUBLISHED;
}

// Every posting entry an article has, sorted by list prefix; text terms
// only when the store keeps a text index.
// `expiry_list`: whether the store keeps IndexKind::kExpiry (local
// engines only, keys.h).
std::vector<IndexEntry> PostingEntries(const v1::Article& a, bool text_index,
                                       bool expiry_list) {
  const ListState state = ListStateOf(a);
  const uint64_t date = DateKey(a.date());
  std::vector<IndexEntry> entries;
  auto add = [&](IndexKind kind, absl::string_view term) {
    entries.push_back({PostingPrefix(kind, state, term), date});
  };
  add(IndexKind::kAll, "");
  for (const std::string& t : a.tags()) add(IndexKind::kTag, t);
  for (const std::string& c : a.categories()) add(IndexKind::kCategory, c);
  for (const std::string& l : a.lang()) add(IndexKind::kLang, l);
  add(IndexKind::kGroup, TranslationGroup(a));
  // One posting per distinct text term (a CJK body yields hundreds); kept
  // apart and merged in below, as they come sorted.
  std::vector<IndexEntry> text;
  if (text_index) {
    std::vector<std::string> terms = text::ArticleTerms(a);
    text.reserve(terms.size());
    // Text lists hold articles of every state (keys.h): a state change
    // leaves the hundreds of text postings where they are.
    for (const std::string& term : terms) {
      text.push_back(
          {PostingPrefix(IndexKind::kText, ListState::kLive, term), date});
    }
  }
  // Schedules: times still to come when this revision was written, at which
  // readers' view of it changes (an expiry before the publish time changes
  // nothing). FireSchedule emits their events, and queries of SCHEDULED
  // articles alone read the publish times (keys.h).
  if (state == ListState::kLive) {
    const absl::Time written = ToTime(a.update_time());
    const bool ordered = !a.has_publish_time() || !a.has_expiry_time() ||
                         ToTime(a.publish_time()) < ToTime(a.expiry_time());
    if (ordered && a.has_publish_time() && ToTime(a.publish_time()) > written) {
      entries.push_back({PostingPrefix(IndexKind::kPublishAt, state, ""),
                         DateKey(a.publish_time())});
    }
    if (ordered && a.has_expiry_time() && ToTime(a.expiry_time()) > written) {
      entries.push_back({PostingPrefix(IndexKind::kExpireAt, state, ""),
                         DateKey(a.expiry_time())});
    }
    // Every expiry, past or future, ordered or not: queries of EXPIRED
    // articles alone read it (keys.h).
    if (expiry_list && a.has_expiry_time()) {
      entries.push_back({PostingPrefix(IndexKind::kExpiry, state, ""),
                         DateKey(a.expiry_time())});
    }
  }
  auto sort_unique = [](std::vector<IndexEntry>* v) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end(),
                         [](const IndexEntry& x, const IndexEntry& y) {
                           return x.prefix == y.prefix;
                         }),
             v->end());
  };
  sort_unique(&entries);
  if (text.empty()) return entries;
  // The tokenizer's terms are sorted and unique, and the one kind byte in
  // front keeps that order: an O(n) check instead of sorting hundreds of
  // strings again (sorting was the largest cost of an update).
  if (!std::is_sorted(text.begin(), text.end())) sort_unique(&text);
  std::vector<IndexEntry> merged;
  merged.reserve(entries.size() + text.size());
  std::merge(std::make_move_iterator(entries.begin()),
             std::make_move_iterator(entries.end()),
             std::make_move_iterator(text.begin()),
             std::make_move_iterator(text.end()), std::back_inserter(merged));
  return merged;
}

void ClearServerFields(v1::Article* a) {
  a->clear_revision();
  a->clear_etag();
  a->clear_create_time();
  a->clear_update_time();
  a->clear_delete_time();
  a->clear_content_hash();
}

// Moves the server fields of `a` into `server`, leaving them clear in `a`.
void SplitServerFields(v1::Article* a, v1::Article* server) {
  server->set_revision(a->revision());
  server->set_etag(std::move(*a->mutable_etag()));
  if (a->has_create_time())
    server->mutable_create_time()->Swap(a->mutable_create_time());
  if (a->has_update_time())
    server->mutable_update_time()->Swap(a->mutable_update_time());
  if (a->has_delete_time())
    server->mutable_delete_time()->Swap(a->mutable_delete_time());
  server->set_content_hash(std::move(*a->mutable_content_hash()));
  ClearServerFields(a);
}

absl::Status CheckConditions(const v1::Article& head,
                             const WriteConditions& c) {
  if (c.expected_revision != 0 && c.expected_revision != head.revision()) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrFormat(
            "expected_revision %d does not match the head revision %d of %s",
            c.expected_revision, head.revision(), head.name())),
        reason::kRevisionMismatch,
        {{"name", head.name()},
         {"expected_revision", absl::StrCat(c.expected_revision)},
         {"current_revision", absl::StrCat(head.revision())}});
  }
  if (!c.etag.empty() && c.etag != head.etag()) {
    return WithReason(absl::FailedPreconditionError(absl::StrFormat(
                          "etag %s does not match the head etag %s of %s",
                          c.etag, head.etag(), head.name())),
                      reason::kEtagMismatch,
                      {{"name", head.name()},
                       {"expected_etag", c.etag},
                       {"current_etag", head.etag()},
                       {"current_revision", absl::StrCat(head.revision())}});
  }
  return absl::OkStatus();
}

// Puts `terms` in NFC, as the service stores every write's (text/nfc.h).
// An old revision may give one term in two spellings: the first is kept
// and the later dropped, since refusing the restore would leave no way to
// bring that revision back.
void NormalizeRestoredTerms(
    google::protobuf::RepeatedPtrField<std::string>* terms) {
  if (!text::NormalizeTerms(terms)) return;
  std::set<std::string> seen;
  int kept = 0;
  for (int i = 0; i < terms->size(); ++i) {
    if (!seen.insert((*terms)[i]).second) continue;
    if (kept != i) terms->SwapElements(kept, i);
    ++kept;
  }
  terms->DeleteSubrange(kept, terms->size() - kept);
}

}  // namespace

bool IsPublishedRevision(const v1::Article& a, absl::Time now) {
  if (!PublishedState(a)) return false;
  // A tombstone copies its head: one deleted while still embargoed stays
  // hidden once its publish time passes, since readers never saw it.
  const absl::Time published_by =
      a.has_delete_time() ? std::min(now, ToTime(a.delete_time())) : now;
  return !a.has_publish_time() || ToTime(a.publish_time()) <= published_by;
}

bool IsLiveContent(const v1::Article& a, absl::Time now) {
  if (!IsPublishedRevision(a, now)) return false;
  if (a.has_expiry_time() && ToTime(a.expiry_time()) <= now) return false;
  return true;
}

v1::Query::PublishWindow PublishWindowOf(const v1::Article& a, absl::Time now) {
  if (!IsPublishedRevision(a, now)) return v1::Query::PUBLISH_WINDOW_SCHEDULED;
  if (a.has_expiry_time() && ToTime(a.expiry_time()) <= now)
    return v1::Query::PUBLISH_WINDOW_EXPIRED;
  return v1::Query::PUBLISH_WINDOW_LIVE;
}

ListState ListStateOf(const v1::Article& a) {
  return a.has_delete_time() ? ListState::kDeleted
         : PublishedState(a) ? ListState::kLive
                             : ListState::kUnpublished;
}

bool IsLive(const v1::Article& a, absl::Time now) {
  return !a.has_delete_time() && IsLiveContent(a, now);
}

std::string TranslationGroup(const v1::Article& a) {
  if (!a.translation_key().empty()) return a.translation_key();
  absl::string_view id = a.name();
  absl::ConsumePrefix(&id, "articles/");
  const size_t dot = id.rfind('.');
  if (dot != absl::string_view::npos && dot > 0) {
    const absl::string_view suffix = id.substr(dot + 1);
    auto names = [&](const std::string& lang) {
      return absl::EqualsIgnoreCase(lang, suffix);
    };
    if (std::any_of(a.lang().begin(), a.lang().end(), names) ||
        std::any_of(a.translations().begin(), a.translations().end(), names))
      return std::string(id.substr(0, dot));
  }
  return std::string(id);
}

struct Store::Writer {
  KvBatch batch;
  std::vector<v1::ChangeEvent>* events = nullptr;
  absl::Status status;
  bool done = false;
  absl::CondVar cv;  // synchronous writers wait on it
  // Asynchronous writers (CommitAsync): their events, and what runs once
  // they committed. Such a writer is deleted after `on_done`.
  std::vector<v1::ChangeEvent> owned_events;
  std::function<void(absl::Status)> on_done;
};

// ---- ReadView -------------------------------------------------------------

ReadView::ReadView(KvEngine* kv) : kv_(kv), snapshot_(kv->GetSnapshot()) {}

std::unique_ptr<KvIterator> ReadView::Postings(std::string lower,
                                               std::string upper) const {
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  ro.lower_bound = std::move(lower);
  ro.upper_bound = std::move(upper);
  return kv_->NewIterator(Family::kPostings, ro);
}

absl::StatusOr<v1::Article> StoredArticle::Decode() const {
  v1::Article a;
  if (!a.ParseFromString(bytes)) {
    return absl::DataLossError(
        absl::StrCat("revision ", skeleton.revision(), " is corrupt"));
  }
  return a;
}

absl::StatusOr<StoredArticle> ReadView::StoredRevision(absl::string_view id,
                                                       int64_t revision) const {
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  StoredArticle stored;
  absl::Status s = kv_->Get(Family::kRevisions, RevisionKey(id, revision),
                            &stored.bytes, ro);
  if (!s.ok()) return s;
  if (!ParseArticleSkeleton(stored.bytes, &stored.skeleton)) {
    return absl::DataLossError(
        absl::StrCat("revision ", revision, " of ", Name(id), " is corrupt"));
  }
  return stored;
}

std::vector<absl::StatusOr<StoredArticle>> ReadView::StoredRevisions(
    const std::vector<std::pair<absl::string_view, int64_t>>& wanted) const {
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  std::vector<std::string> keys;
  keys.reserve(wanted.size());
  for (const auto& [id, revision] : wanted)
    keys.push_back(RevisionKey(id, revision));
  std::vector<std::string> values;
  std::vector<absl::Status> statuses;
  kv_->MultiGet(Family::kRevisions, keys, &values, &statuses, ro);
  std::vector<absl::StatusOr<StoredArticle>> out;
  out.reserve(wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (!statuses[i].ok()) {
      out.push_back(std::move(statuses[i]));
      continue;
    }
    StoredArticle stored;
    stored.bytes = std::move(values[i]);
    if (!ParseArticleSkeleton(stored.bytes, &stored.skeleton)) {
      out.push_back(absl::DataLossError(
          absl::StrCat("revision ", wanted[i].second, " of ",
                       Name(wanted[i].first), " is corrupt")));
      continue;
    }
    out.push_back(std::move(stored));
  }
  return out;
}

absl::StatusOr<v1::Article> ReadView::Revision(absl::string_view id,
                                               int64_t revision) const {
  absl::StatusOr<StoredArticle> stored = StoredRevision(id, revision);
  if (!stored.ok()) return stored.status();
  return stored->Decode();
}

int64_t ReadView::Count(absl::string_view posting_prefix) const {
  absl::StatusOr<int64_t> n = CheckedCount(posting_prefix);
  return n.ok() ? *n : 0;
}

absl::StatusOr<int64_t> ReadView::CheckedCount(
    absl::string_view posting_prefix) const {
  if (!posting_prefix.empty() && KindOf(static_cast<unsigned char>(
                                     posting_prefix[0])) == IndexKind::kText) {
    return kv_->EstimateKeys(Family::kPostings, posting_prefix,
                             PrefixSuccessor(posting_prefix));
  }
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  std::string value;
  const absl::Status s =
      kv_->Get(Family::kMeta, CountKey(posting_prefix), &value, ro);
  if (absl::IsNotFound(s)) return 0;  // no entry was ever counted
  if (!s.ok()) return s;
  if (value.size() != 8) return 0;
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i)
    u |= uint64_t{static_cast<unsigned char>(value[i])} << (8 * i);
  return static_cast<int64_t>(u);
}

absl::StatusOr<StoredArticle> ReadView::StoredHead(absl::string_view id) const {
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  std::string value;
  absl::Status s = kv_->Get(Family::kHeads, id, &value, ro);
  if (absl::IsNotFound(s)) return ArticleNotFound(id);
  if (!s.ok()) return s;
  if (value.size() != 8)
    return absl::DataLossError(
        absl::StrCat("head of ", Name(id), " is corrupt"));
  absl::StatusOr<StoredArticle> a =
      StoredRevision(id, static_cast<int64_t>(ReadBigEndian64(value)));
  if (absl::IsNotFound(a.status())) {
    return absl::DataLossError(
        absl::StrCat("head revision of ", Name(id), " is missing"));
  }
  return a;
}

std::vector<absl::StatusOr<StoredArticle>> ReadView::StoredHeads(
    const std::vector<absl::string_view>& ids) const {
  if (ids.empty()) return {};
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  std::vector<std::string> keys(ids.begin(), ids.end());
  std::vector<std::string> values;
  std::vector<absl::Status> statuses;
  kv_->MultiGet(Family::kHeads, keys, &values, &statuses, ro);
  std::vector<absl::StatusOr<StoredArticle>> out(
      ids.size(), absl::StatusOr<StoredArticle>(absl::UnknownError("")));
  std::vector<std::pair<absl::string_view, int64_t>> wanted;
  std::vector<size_t> where;
  wanted.reserve(ids.size());
  where.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (absl::IsNotFound(statuses[i])) {
      out[i] = ArticleNotFound(ids[i]);
    } else if (!statuses[i].ok()) {
      out[i] = std::move(statuses[i]);
    } else if (values[i].size() != 8) {
      out[i] = absl::DataLossError(
          absl::StrCat("head of ", Name(ids[i]), " is corrupt"));
    } else {
      wanted.emplace_back(ids[i],
                          static_cast<int64_t>(ReadBigEndian64(values[i])));
      where.push_back(i);
    }
  }
  std::vector<absl::StatusOr<StoredArticle>> revisions =
      StoredRevisions(wanted);
  for (size_t k = 0; k < where.size(); ++k) {
    if (absl::IsNotFound(revisions[k].status())) {
      out[where[k]] = absl::DataLossError(absl::StrCat(
          "head revision of ", Name(wanted[k].first), " is missing"));
    } else {
      out[where[k]] = std::move(revisions[k]);
    }
  }
  return out;
}

std::vector<absl::StatusOr<StoredArticle>> ReadView::StoredLatest(
    const std::vector<std::pair<absl::string_view, int64_t>>& wanted) const {
  if (wanted.empty()) return {};
  // A shared engine's store has layout 2 (keys.h), whose postings name their
  // heads; its lookups are round trips, not bloom probes.
  if (kv_->shared()) return StoredRevisions(wanted);
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  std::vector<std::string> keys;
  keys.reserve(2 * wanted.size());
  for (const auto& [id, revision] : wanted) {
    keys.push_back(RevisionKey(id, revision));
    keys.push_back(RevisionKey(id, revision + 1));
  }
  std::vector<std::string> values;
  std::vector<absl::Status> statuses;
  kv_->MultiGet(Family::kRevisions, keys, &values, &statuses, ro);
  std::vector<absl::StatusOr<StoredArticle>> out(
      wanted.size(), absl::StatusOr<StoredArticle>(absl::UnknownError("")));
  std::vector<absl::string_view> passed;  // read through their heads
  std::vector<size_t> where;
  for (size_t i = 0; i < wanted.size(); ++i) {
    absl::Status& at = statuses[2 * i];
    absl::Status& next = statuses[2 * i + 1];
    if (!next.ok() && !absl::IsNotFound(next)) {
      out[i] = std::move(next);
    } else if (next.ok() || absl::IsNotFound(at)) {
      // A newer revision, or one retention removed (never the head).
      passed.push_back(wanted[i].first);
      where.push_back(i);
    } else if (!at.ok()) {
      out[i] = std::move(at);
    } else {
      StoredArticle stored;
      stored.bytes = std::move(values[2 * i]);
      if (ParseArticleSkeleton(stored.bytes, &stored.skeleton)) {
        out[i] = std::move(stored);
      } else {
        out[i] = absl::DataLossError(absl::StrCat("revision ", wanted[i].second,
                                                  " of ", Name(wanted[i].first),
                                                  " is corrupt"));
      }
    }
  }
  if (!passed.empty()) {
    std::vector<absl::StatusOr<StoredArticle>> heads = StoredHeads(passed);
    for (size_t k = 0; k < where.size(); ++k)
      out[where[k]] = std::move(heads[k]);
  }
  return out;
}

absl::StatusOr<v1::Article> ReadView::Head(absl::string_view id) const {
  absl::StatusOr<StoredArticle> stored = StoredHead(id);
  if (!stored.ok()) return stored.status();
  return stored->Decode();
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>>
ReadView::ListCounts(IndexKind kind, absl::string_view term_prefix,
                     absl::string_view after, int limit) const {
  // Counter keys are `n/ kind term \0`; term order is key order because
  // terms hold no NUL.
  const std::string list_prefix = PostingPrefix(kind, false, "");
  const std::string base =
      CountKey(absl::string_view(list_prefix.data(), list_prefix.size() - 1));
  const std::string lower = absl::StrCat(base, term_prefix);
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  ro.lower_bound = lower;
  ro.upper_bound = PrefixSuccessor(lower);
  std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kMeta, ro);
  const std::string start = absl::StrCat(base, after, std::string(1, '\0'));
  if (after.empty() || start < lower) {
    it->SeekToFirst();
  } else {
    it->Seek(start);
  }
  std::vector<std::pair<std::string, int64_t>> out;
  for (; it->Valid() && static_cast<int>(out.size()) < limit; it->Next()) {
    absl::string_view key = it->key();
    if (key.size() < base.size() + 1 || key.back() != '\0') continue;
    absl::string_view term =
        key.substr(base.size(), key.size() - base.size() - 1);
    if (!after.empty() && term <= after) continue;
    absl::string_view value = it->value();
    if (value.size() != 8) continue;
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i)
      u |= uint64_t{static_cast<unsigned char>(value[i])} << (8 * i);
    if (static_cast<int64_t>(u) <= 0) continue;
    out.emplace_back(std::string(term), static_cast<int64_t>(u));
  }
  if (!it->status().ok()) return it->status();
  return out;
}

// ---- Store ----------------------------------------------------------------

namespace {

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace

// The tables of an import batch's creates, for KvEngine::Ingest: their
// revisions, and their text postings (about 190 per article). A create's
// keys are all new, so none needs the write-ahead log or a memtable: the
// revisions were most of an import's logged bytes (2.4 KiB each), and the
// text postings most of its keys.
//
// Each text posting is a slot (its list), an article and a date until
// EmitText, which orders them by ranking the batch's few distinct lists and
// ids once, so the keys are built once, in key order, and the engine need
// not sort them (building, copying and sorting them as strings was a
// quarter of a text-indexed import's write path). Not thread-safe: one per
// ApplyOnce.
class Store::BulkLoad {
 public:
  // Starts the next article with its revision; Add refers to it.
  void BeginArticle(absl::string_view id, absl::string_view revision_value,
                    std::string revision_key, std::string revision) {
    articles_.push_back({std::string(id), std::string(revision_value)});
    revisions_.Put(Family::kRevisions, std::move(revision_key),
                   std::move(revision));
  }
  size_t articles() const { return articles_.size(); }
  // The revisions, as given.
  KvBatch TakeRevisions() { return std::move(revisions_); }
  void Add(const std::string& prefix, uint64_t date_key) {
    auto [it, added] =
        slots_.try_emplace(prefix, static_cast<uint32_t>(prefixes_.size()));
    if (added) prefixes_.push_back(&it->first);
    postings_.push_back(
        {it->second, static_cast<uint32_t>(articles_.size() - 1), date_key});
  }
  // Appends the text postings to `puts` in key order, and their lists'
  // counter changes to `deltas`.
  void EmitText(KvBatch* puts, CountDeltas* deltas) {
    puts->Reserve(postings_.size());
    // node_hash_map keeps its keys in place, so prefixes_ stays valid.
    std::vector<uint32_t> by_prefix(prefixes_.size());
    for (uint32_t i = 0; i < by_prefix.size(); ++i) by_prefix[i] = i;
    std::sort(by_prefix.begin(), by_prefix.end(),
              [this](uint32_t a, uint32_t b) {
                return *prefixes_[a] < *prefixes_[b];
              });
    std::vector<uint32_t> rank(prefixes_.size());
    for (uint32_t r = 0; r < by_prefix.size(); ++r) rank[by_prefix[r]] = r;
    // Keys of one list and date order by id; a batch names an id once per
    // create, so ranks of the ids stand in for them.
    std::vector<uint32_t> by_id(articles_.size());
    for (uint32_t i = 0; i < by_id.size(); ++i) by_id[i] = i;
    std::sort(by_id.begin(), by_id.end(), [this](uint32_t a, uint32_t b) {
      return articles_[a].id < articles_[b].id;
    });
    std::vector<uint32_t> id_rank(articles_.size());
    for (uint32_t r = 0; r < by_id.size(); ++r) id_rank[by_id[r]] = r;
    // Counting sort by list, then each list's few entries by date and id.
    std::vector<uint32_t> start(prefixes_.size() + 1, 0);
    for (const Posting& p : postings_) ++start[rank[p.slot] + 1];
    for (size_t r = 1; r < start.size(); ++r) start[r] += start[r - 1];
    std::vector<Posting> sorted(postings_.size());
    {
      std::vector<uint32_t> next(start.begin(), start.end() - 1);
      for (const Posting& p : postings_) sorted[next[rank[p.slot]]++] = p;
    }
    postings_.clear();
    postings_.shrink_to_fit();
    std::string key;
    for (uint32_t r = 0; r < by_prefix.size(); ++r) {
      const auto first = sorted.begin() + start[r];
      const auto last = sorted.begin() + start[r + 1];
      std::sort(first, last, [&id_rank](const Posting& a, const Posting& b) {
        if (a.date_key != b.date_key) return a.date_key < b.date_key;
        return id_rank[a.article] < id_rank[b.article];
      });
      const std::string& prefix = *prefixes_[by_prefix[r]];
      for (auto p = first; p != last; ++p) {
        const Article& a = articles_[p->article];
        key.assign(prefix);
        AppendBigEndian64(&key, p->date_key);
        key.append(a.id);
        puts->Put(Family::kPostings, key, a.revision_value);
      }
      if (HasCounter(prefix)) (*deltas)[prefix] += last - first;
    }
  }

 private:
  struct Article {
    std::string id;
    std::string revision_value;
  };
  struct Posting {
    uint32_t slot;     // index into prefixes_
    uint32_t article;  // index into articles_
    uint64_t date_key;
  };
  absl::node_hash_map<std::string, uint32_t> slots_;
  std::vector<const std::string*> prefixes_;  // by slot
  std::vector<Article> articles_;
  std::vector<Posting> postings_;
  KvBatch revisions_;
};

Store::Store(std::unique_ptr<KvEngine> kv, const StoreOptions& options)
    : options_(options), kv_(std::move(kv)), shared_(kv_->shared()) {}

Store::~Store() {
  // No call of WriteOwedRecords is running or comes once this returns.
  kv_->SetWritesResumed(nullptr);
  {
    absl::MutexLock lock(&follow_mu_);
    stopping_ = true;
  }
  if (follower_.joinable()) follower_.join();
  if (committer_.joinable()) {
    {
      absl::MutexLock lock(&commit_mu_);
      commit_stop_ = true;
      commit_cv_.Signal();
    }
    committer_.join();
  }
}

void Store::CommitLoop() {
  absl::MutexLock lock(&commit_mu_);
  for (;;) {
    while (!commit_wanted_ && !commit_stop_) commit_cv_.Wait(&commit_mu_);
    if (!commit_wanted_) return;  // stopping, nothing queued
    commit_wanted_ = false;
    if (writers_.empty()) {  // not expected: CommitAsync queued one
      leading_ = false;
      continue;
    }
    LeadLocked(/*hand_off=*/false);
  }
}

void Store::FollowLoop() {
  // Other replicas' commits notify: the stored last sequence is read when
  // the engine says one may have written (a notification, or none to be
  // had), after a read that failed, and else every follow_recheck, which
  // bounds how late a notification lost with a silent connection is made
  // up for. An idle replica reads nothing more (it read it five times a
  // second).
  absl::Time read_at = absl::InfinitePast();
  bool failed = false;
  for (;;) {
    {
      absl::MutexLock lock(&follow_mu_);
      if (stopping_) return;
    }
    const bool wrote = kv_->WaitForWrites(absl::Milliseconds(200));
    if (!wrote && !failed && absl::Now() - read_at < options_.follow_recheck)
      continue;
    read_at = absl::Now();
    absl::StatusOr<int64_t> stored = StoredLastSequence();
    failed = !stored.ok();
    if (stored.ok()) AdvanceSequence(*stored);
  }
}

absl::StatusOr<int64_t> Store::StoredLastSequence() {
  std::string value;
  absl::Status s = kv_->Get(Family::kMeta, kLastSequenceKey, &value);
  if (absl::IsNotFound(s)) return 0;
  if (!s.ok()) return s;
  if (value.size() != 8)
    return absl::DataLossError("the stored last sequence is corrupt");
  return static_cast<int64_t>(ReadBigEndian64(value));
}

void Store::AdvanceSequence(int64_t sequence) {
  absl::MutexLock lock(&commit_mu_);
  if (sequence <= last_sequence_) return;
  last_sequence_ = sequence;
  if (commit_listener_) commit_listener_(sequence);
}

void Store::ExpectHead(KvBatch* batch, absl::string_view id,
                       const v1::Article* old_head) const {
  if (!shared_) return;
  if (old_head == nullptr) {
    batch->ExpectMissing(Family::kHeads, std::string(id));
  } else {
    batch->Expect(Family::kHeads, std::string(id),
                  BigEndian(old_head->revision()));
  }
}

template <typename Result>
Result Store::RetryRaces(const std::function<Result()>& op) {
  if (!shared_) return op();
  absl::BitGen gen;
  for (int attempt = 0;; ++attempt) {
    Result r = op();
    // ABORTED: another replica changed what this write read; read again.
    if (!absl::IsAborted(StatusOf(r)) || attempt >= 30) return r;
    absl::SleepFor(absl::Microseconds(
        absl::Uniform<int>(gen, 50, 100 << std::min(attempt, 7))));
  }
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  if (options.engine == "postgres") {
    PgKvOptions pg;
    pg.dsn = options.pg_dsn;
    pg.table = options.pg_table;
    pg.create_table = options.pg_create_table;
    pg.pool_size = options.pg_pool_size;
    pg.write_lock = options.pg_write_lock;
    pg.lock_timeout = options.pg_lock_timeout;
    pg.session_name = options.pg_session_name;
    pg.dsn_name = options.pg_dsn_name;
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenPgKv(pg);
    if (!kv.ok()) return kv.status();
    return Open(*std::move(kv), options);
  }
  if (options.engine != "rocksdb") {
    return absl::InvalidArgumentError(
        absl::StrCat("storage.engine: \"", options.engine,
                     "\" is not an engine; use rocksdb or postgres"));
  }
  RocksKvOptions kv_options;
  kv_options.path = options.data_dir;
  kv_options.block_cache_bytes = options.block_cache_bytes;
  kv_options.read_only = options.read_only;
  kv_options.on_writes_stopped = options.on_writes_stopped;
  kv_options.on_opened_read_only = options.on_opened_read_only;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(kv_options);
  if (!kv.ok()) return kv.status();
  return Open(*std::move(kv), options);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    std::unique_ptr<KvEngine> kv, const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store(std::move(kv), options));
  absl::Status s = store->Init();
  if (!s.ok()) return s;
  if (!store->shared_) {
    // Records a full volume kept from being written (Init's token key, or
    // start-up work's later) are written as soon as the engine takes writes
    // again, or by the first commit then.
    Store* p = store.get();
    p->kv_->SetWritesResumed([p] { p->WriteOwedRecords(); });
    if (p->kv_->WritesRefused().ok()) p->WriteOwedRecords();  // resumed
  }
  // Nothing to commit, and nothing to follow for a check of one snapshot.
  if (options.read_only) return store;
  if (store->shared_) {
    store->follower_ = std::thread([p = store.get()] { p->FollowLoop(); });
  } else {
    store->committer_ = std::thread([p = store.get()] { p->CommitLoop(); });
  }
  return store;
}

absl::Status Store::Init() {
  std::string value;
  absl::Status s = kv_->Get(Family::kMeta, kFormatKey, &value);
  if (s.ok()) {
    int format = 0;
    if (!absl::SimpleAtoi(value, &format) || format < 1) {
      return absl::DataLossError(absl::StrCat(
          "store format marker is corrupt: \"", absl::CHexEscape(value), "\""));
    }
    if (format > StoreFormatFor(shared_)) {
      return WithReason(
          absl::FailedPreconditionError(absl::StrCat(
              "the store has layout version ", format,
              ", newer than this build's ", StoreFormatFor(shared_),
              ": a newer contentd wrote it, and this one would misread it. "
              "Serve it with that build, or restore a backup taken before "
              "the upgrade")),
          reason::kStoreLayoutNewer);
    }
    // Layout 4 has the expiry list (keys.h); on a shared engine it is not
    // kept. Nor is it complete without the layout guard (kLayoutGuard): a
    // build from before the marker may have rebuilt the indexes without it,
    // or written since (UpgradeStoreFormat builds it again).
    expiry_list_ = !shared_ && format >= 4;
    if (expiry_list_) {
      std::string guard;
      s = kv_->Get(Family::kMeta, kIndexRepairKey, &guard);
      if (!s.ok() && !absl::IsNotFound(s)) return s;
      expiry_list_ = s.ok();
    }
  } else if (!absl::IsNotFound(s)) {
    return s;
  } else if (!shared_) {
    // No marker: a new store, whose every write keeps the list, or an
    // earlier build's with articles, whose list UpgradeStoreFormat builds.
    std::unique_ptr<KvIterator> it =
        kv_->NewIterator(Family::kHeads, KvReadOptions{});
    it->SeekToFirst();
    if (!it->status().ok()) return it->status();
    expiry_list_ = !it->Valid();
  }
  s = kv_->Get(Family::kMeta, kLastSequenceKey, &value);
  if (s.ok() && value.size() == 8) {
    absl::MutexLock lock(&commit_mu_);
    last_sequence_ = static_cast<int64_t>(ReadBigEndian64(value));
  } else if (!s.ok() && !absl::IsNotFound(s)) {
    return s;
  }
  s = kv_->Get(Family::kMeta, kSequenceGapsKey, &value);
  if (s.ok()) {
    absl::StatusOr<std::vector<SequenceGap>> gaps = ParseSequenceGaps(value);
    if (!gaps.ok()) return gaps.status();
    absl::MutexLock lock(&commit_mu_);
    sequence_gaps_ = *std::move(gaps);
  } else if (!absl::IsNotFound(s)) {
    return s;
  }
  s = kv_->Get(Family::kMeta, kTokenKeyKey, &token_key_);
  if (absl::IsNotFound(s)) {
    absl::BitGen gen;
    token_key_.resize(32);
    for (char& c : token_key_)
      c = static_cast<char>(absl::Uniform<int>(gen, 0, 256));
    // Page tokens sealed with it then last for this open only.
    if (options_.read_only) return absl::OkStatus();
    KvBatch batch;
    if (shared_) batch.ExpectMissing(Family::kMeta, std::string(kTokenKeyKey));
    batch.Put(Family::kMeta, std::string(kTokenKeyKey), token_key_);
    s = kv_->Write(std::move(batch), /*sync=*/true);
    // A replica starting at the same moment stored its key first: use it.
    if (absl::IsAborted(s))
      s = kv_->Get(Family::kMeta, kTokenKeyKey, &token_key_);
    // Opened read-only for a full volume, or open for writing with too
    // little room for one (a store of a build that stored no key): it
    // serves reads as any other, and the key is stored once
    // writes resume (WriteWithFirstCommit). A shared store's key must be
    // the one every replica uses, so it is not kept unstored.
    if (!s.ok() && !shared_ &&
        (!kv_->WritesRefused().ok() ||
         (absl::IsResourceExhausted(s) && ReasonOf(s) == reason::kDiskFull))) {
      KvBatch owed;
      owed.Put(Family::kMeta, std::string(kTokenKeyKey), token_key_);
      absl::MutexLock lock(&owed_mu_);
      owed_records_ = std::move(owed);
      owes_records_ = true;
      return absl::OkStatus();
    }
  }
  return s;
}

void Store::WriteWithFirstCommit(KvBatch records) {
  {
    absl::MutexLock lock(&owed_mu_);
    owed_records_.Append(std::move(records));
    owes_records_ = true;
  }
  // The engine may have taken writes again since the caller's try.
  if (kv_->WritesRefused().ok()) WriteOwedRecords();
}

void Store::WriteOwedRecords() {
  if (!owes_records_.load()) return;
  absl::MutexLock lock(&owed_mu_);
  if (owed_records_.empty()) return;
  // On failure the next commit stores them (LeadLocked).
  if (kv_->Write(KvBatch(owed_records_), /*sync=*/true).ok()) {
    owed_records_ = KvBatch();
    owes_records_ = false;
  }
}

absl::Status Store::CheckWritable() const {
  if (!options_.read_only) return absl::OkStatus();
  return absl::FailedPreconditionError("store opened read-only");
}

void IdLocks::Lock(const std::vector<absl::string_view>& ids) {
  absl::MutexLock lock(&mu_);
  auto free = [&] {
    for (absl::string_view id : ids)
      if (held_.contains(id)) return false;
    return true;
  };
  mu_.Await(absl::Condition(&free));
  for (absl::string_view id : ids) held_.emplace(id);
}

bool IdLocks::TryLock(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  return held_.emplace(id).second;
}

void IdLocks::Unlock(const std::vector<absl::string_view>& ids) {
  absl::MutexLock lock(&mu_);
  for (absl::string_view id : ids) {
    auto it = held_.find(id);
    if (it != held_.end()) held_.erase(it);
  }
}

absl::Time Store::Now() const {
  return options_.clock ? options_.clock() : absl::Now();
}

int64_t Store::last_sequence() const {
  absl::MutexLock lock(&commit_mu_);
  return last_sequence_;
}

absl::StatusOr<int64_t> Store::CurrentLastSequence() {
  // Stored with the events in one batch: it is ahead of last_sequence()
  // from the commit until the committer (or, on a shared engine, the
  // follower) raises it, and a watcher may have read the events already.
  absl::StatusOr<int64_t> stored = StoredLastSequence();
  if (!stored.ok()) return stored.status();
  if (shared_) AdvanceSequence(*stored);
  return std::max(*stored, last_sequence());
}

std::unique_ptr<ReadView> Store::NewReadView() const {
  return std::make_unique<ReadView>(kv_.get());
}

std::string Store::ContentHash(const v1::Article& article) {
  v1::Article content = article;
  content.clear_name();
  ClearServerFields(&content);
  return ContentHashOfCleared(content);
}

std::string Store::ContentHashOfCleared(const v1::Article& content,
                                        std::string* encoding) {
  std::string local;
  std::string& bytes = encoding != nullptr ? *encoding : local;
  bytes.clear();
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    content.SerializeToCodedStream(&coded);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

absl::StatusOr<int64_t> Store::HeadRevision(absl::string_view id) {
  std::string value;
  absl::Status s = kv_->Get(Family::kHeads, id, &value);
  if (absl::IsNotFound(s)) return 0;
  if (!s.ok()) return s;
  if (value.size() != 8)
    return absl::DataLossError(
        absl::StrCat("head of ", Name(id), " is corrupt"));
  return static_cast<int64_t>(ReadBigEndian64(value));
}

absl::Status Store::ReadHeadBytes(absl::string_view id, std::string* value) {
  absl::StatusOr<int64_t> rev = HeadRevision(id);
  absl::Status s;
  // The head and its revision are two reads. On a shared engine another
  // replica may purge the article or write a new head between them: read
  // the head again before calling a missing revision lost.
  for (int attempt = 0;; ++attempt) {
    if (!rev.ok()) return rev.status();
    if (*rev == 0) return ArticleNotFound(id);
    s = kv_->Get(Family::kRevisions, RevisionKey(id, *rev), value);
    if (!absl::IsNotFound(s)) break;
    absl::StatusOr<int64_t> again = shared_ && attempt < 3
                                        ? HeadRevision(id)
                                        : absl::StatusOr<int64_t>(*rev);
    if (again.ok() && *again == *rev) {
      return absl::DataLossError(absl::StrCat("head revision ", *rev, " of ",
                                              Name(id), " is missing"));
    }
    rev = again;
  }
  return s;
}

absl::StatusOr<v1::Article> Store::ReadHead(absl::string_view id,
                                            std::string* bytes) {
  std::string local;
  std::string& value = bytes != nullptr ? *bytes : local;
  if (absl::Status s = ReadHeadBytes(id, &value); !s.ok()) return s;
  v1::Article a;
  if (!a.ParseFromString(value))
    return absl::DataLossError(
        absl::StrCat("head of ", Name(id), " is corrupt"));
  return a;
}

absl::StatusOr<v1::Article> Store::Create(absl::string_view id,
                                          v1::Article content_in) {
  return RetryRaces<absl::StatusOr<v1::Article>>([&] {
    return CreateOnce(id, shared_ ? content_in : std::move(content_in));
  });
}

absl::StatusOr<v1::Article> Store::CreateOnce(absl::string_view id,
                                              v1::Article content) {
  IdLockGuard lock(&id_locks_, {id});
  absl::StatusOr<int64_t> head = HeadRevision(id);
  if (!head.ok()) return head.status();
  if (*head != 0) {
    return ArticleExists(id, *head);
  }
  ClearServerFields(&content);
  const absl::Time now = Now();
  SetTimestamp(now, content.mutable_create_time());
  SetTimestamp(now, content.mutable_update_time());
  return WriteRevision(id, nullptr, std::move(content),
                       v1::ChangeEvent::TYPE_CREATED);
}

absl::StatusOr<v1::Article> Store::Get(absl::string_view id, int64_t revision,
                                       bool show_deleted) {
  absl::StatusOr<StoredArticle> stored = GetStored(id, revision, show_deleted);
  if (!stored.ok()) return stored.status();
  v1::Article a;
  if (!a.ParseFromString(stored->bytes)) {
    return absl::DataLossError(absl::StrCat("revision ",
                                            stored->skeleton.revision(), " of ",
                                            Name(id), " is corrupt"));
  }
  return a;
}

absl::StatusOr<StoredArticle> Store::GetStored(absl::string_view id,
                                               int64_t revision,
                                               bool show_deleted) {
  if (revision < 0) {
    return InvalidField("revision",
                        "must be 0 (the head) or a positive revision number");
  }
  StoredArticle stored;
  if (revision == 0) {
    if (absl::Status s = ReadHeadBytes(id, &stored.bytes); !s.ok()) return s;
  } else {
    absl::Status s =
        kv_->Get(Family::kRevisions, RevisionKey(id, revision), &stored.bytes);
    if (absl::IsNotFound(s)) {
      // Say why: an editor reading history after retention should not have
      // to guess whether the number was wrong or the revision trimmed.
      absl::StatusOr<int64_t> head = HeadRevision(id);
      if (!head.ok()) return head.status();
      if (*head == 0) return ArticleNotFound(id);
      return RevisionNotFound(id, revision, *head);
    }
    if (!s.ok()) return s;
    if (revision == 1) {
      // An import batch's creates have their first revisions ingested just
      // before the batch commits (KvEngine::Ingest): without a head, it has
      // not.
      absl::StatusOr<int64_t> head = HeadRevision(id);
      if (!head.ok()) return head.status();
      if (*head == 0) return ArticleNotFound(id);
    }
  }
  if (!ParseArticleSkeleton(stored.bytes, &stored.skeleton)) {
    return absl::DataLossError(
        revision == 0 ? absl::StrCat("head of ", Name(id), " is corrupt")
                      : absl::StrCat("revision ", revision, " of ", Name(id),
                                     " is corrupt"));
  }
  if (revision == 0 && stored.skeleton.has_delete_time() && !show_deleted) {
    return ArticleDeleted(id, stored.skeleton.revision(),
                          absl::StrCat(Name(id), " is deleted (revision ",
                                       stored.skeleton.revision(), ")"));
  }
  return stored;
}

absl::StatusOr<v1::Article> Store::Update(absl::string_view id,
                                          v1::Article content_in,
                                          const WriteConditions& conditions) {
  return RetryRaces<absl::StatusOr<v1::Article>>([&] {
    return UpdateOnce(id, shared_ ? content_in : std::move(content_in),
                      conditions);
  });
}

absl::Status Store::BeginUpdate(absl::string_view id, v1::Article* content,
                                const WriteConditions& conditions,
                                v1::Article* head, bool* unchanged,
                                std::string* content_hash,
                                std::string* content_encoding,
                                std::string* head_bytes) {
  absl::StatusOr<v1::Article> read = ReadHead(id, head_bytes);
  if (!read.ok()) return read.status();
  *head = *std::move(read);
  if (head->has_delete_time()) {
    return ArticleDeleted(
        id, head->revision(),
        absl::StrCat(Name(id), " is deleted; undelete it before updating"));
  }
  absl::Status s = CheckConditions(*head, conditions);
  if (!s.ok()) return s;
  ClearServerFields(content);
  content->clear_name();
  *content_hash = ContentHashOfCleared(*content, content_encoding);
  content->set_name(Name(id));
  *unchanged = *content_hash == head->content_hash();
  if (*unchanged) return absl::OkStatus();
  *content->mutable_create_time() = head->create_time();
  SetTimestamp(Now(), content->mutable_update_time());
  return absl::OkStatus();
}

absl::StatusOr<v1::Article> Store::UpdateOnce(
    absl::string_view id, v1::Article content,
    const WriteConditions& conditions) {
  IdLockGuard lock(&id_locks_, {id});
  v1::Article head;
  bool unchanged = false;
  std::string hash, encoding;
  absl::Status s = BeginUpdate(id, &content, conditions, &head, &unchanged,
                               &hash, &encoding);
  if (!s.ok()) return s;
  if (unchanged) return head;
  return WriteRevision(id, &head, std::move(content),
                       v1::ChangeEvent::TYPE_UPDATED, &hash, &encoding);
}

Store::WrittenDone Store::ArticleOnly(
    std::function<void(absl::StatusOr<v1::Article>)> done) {
  return [done = std::move(done)](absl::StatusOr<Written> w) {
    if (w.ok()) {
      done(std::move(w->article));
    } else {
      done(w.status());
    }
  };
}

void Store::UpdateAsync(absl::string_view id, v1::Article content,
                        const WriteConditions& conditions,
                        std::function<void(absl::StatusOr<v1::Article>)> done) {
  UpdateAsyncEncoded(std::string(id), std::move(content), conditions,
                     /*encode=*/false, ArticleOnly(std::move(done)));
}

void Store::UpdateAsyncEncoded(std::string id, v1::Article content,
                               const WriteConditions& conditions, bool encode,
                               WrittenDone done) {
  if (shared_) {  // conflicts with other replicas are retried, in turn
    absl::StatusOr<v1::Article> a = Update(id, std::move(content), conditions);
    if (!a.ok()) return done(a.status());
    Written w{*std::move(a), {}};
    if (encode) w.article.SerializeToString(&w.encoding);
    return done(std::move(w));
  }
  // The id stays held until the commit: the article's next writer must
  // read the head this one writes.
  id_locks_.Lock({id});
  UpdateHeldAsync(std::move(id), std::move(content), conditions, encode,
                  std::move(done));
}

void Store::UpdateAsyncNoWait(
    absl::string_view id, v1::Article content,
    const WriteConditions& conditions,
    std::function<void(absl::StatusOr<std::string>)> done_bytes,
    std::function<void(std::function<void()>)> elsewhere) {
  WrittenDone done = [done_bytes =
                          std::move(done_bytes)](absl::StatusOr<Written> w) {
    if (w.ok()) {
      done_bytes(std::move(w->encoding));
    } else {
      done_bytes(w.status());
    }
  };
  std::string held(id);
  if (shared_ || !id_locks_.TryLock(held)) {
    elsewhere([this, held = std::move(held), content = std::move(content),
               conditions, done = std::move(done)]() mutable {
      UpdateAsyncEncoded(std::move(held), std::move(content), conditions,
                         /*encode=*/true, std::move(done));
    });
    return;
  }
  UpdateHeldAsync(std::move(held), std::move(content), conditions,
                  /*encode=*/true, std::move(done));
}

void Store::UpdateHeldAsync(std::string held, v1::Article content,
                            const WriteConditions& conditions, bool encode,
                            WrittenDone done) {
  const std::string& id = held;
  Written head;  // the answer if the content is unchanged
  bool unchanged = false;
  std::string hash, encoding;
  absl::Status s =
      BeginUpdate(id, &content, conditions, &head.article, &unchanged, &hash,
                  &encoding, encode ? &head.encoding : nullptr);
  if (!s.ok() || unchanged) {
    id_locks_.Unlock({held});
    if (s.ok()) {
      done(std::move(head));
    } else {
      done(s);
    }
    return;
  }
  WriteRevisionAsync(std::move(held), &head.article, std::move(content),
                     v1::ChangeEvent::TYPE_UPDATED, std::move(done), encode,
                     &hash, &encoding);
}

void Store::CreateAsync(absl::string_view id, v1::Article content,
                        std::function<void(absl::StatusOr<v1::Article>)> done) {
  if (shared_) {
    done(Create(id, std::move(content)));
    return;
  }
  std::string held(id);
  id_locks_.Lock({held});
  absl::StatusOr<int64_t> head = HeadRevision(id);
  if (!head.ok() || *head != 0) {
    id_locks_.Unlock({held});
    done(!head.ok() ? head.status() : ArticleExists(id, *head));
    return;
  }
  ClearServerFields(&content);
  const absl::Time now = Now();
  SetTimestamp(now, content.mutable_create_time());
  SetTimestamp(now, content.mutable_update_time());
  WriteRevisionAsync(std::move(held), nullptr, std::move(content),
                     v1::ChangeEvent::TYPE_CREATED,
                     ArticleOnly(std::move(done)));
}

void Store::WriteRevisionAsync(std::string held, const v1::Article* old_head,
                               v1::Article content, v1::ChangeEvent::Type type,
                               WrittenDone done, bool encode,
                               std::string* content_hash,
                               std::string* content_encoding) {
  KvBatch batch;
  ExpectHead(&batch, held, old_head);
  std::vector<v1::ChangeEvent> events;
  Written written;
  written.article =
      PrepareRevision(held, old_head, std::move(content), type, &batch, &events,
                      content_hash, content_encoding, /*count_deltas=*/nullptr,
                      /*bulk=*/nullptr, encode ? &written.encoding : nullptr);
  CommitAsync(std::move(batch), std::move(events),
              [this, held = std::move(held), written = std::move(written),
               done = std::move(done)](absl::Status s) mutable {
                id_locks_.Unlock({held});
                if (s.ok()) {
                  done(std::move(written));
                } else {
                  done(s);
                }
              });
}

absl::StatusOr<v1::Article> Store::Delete(absl::string_view id,
                                          const WriteConditions& conditions) {
  return RewriteSync(id, DeleteRewrite(conditions));
}

void Store::DeleteAsync(absl::string_view id, const WriteConditions& conditions,
                        std::function<void(absl::StatusOr<v1::Article>)> done) {
  RewriteAsync(id, DeleteRewrite(conditions), std::move(done));
}

Store::Rewrite Store::DeleteRewrite(const WriteConditions& conditions) {
  return [this, conditions](absl::string_view id, const v1::Article& head,
                            v1::Article* tombstone, v1::ChangeEvent::Type* type,
                            bool*) -> absl::Status {
    if (head.has_delete_time()) {
      return ArticleDeleted(id, head.revision(),
                            absl::StrCat(Name(id), " is already deleted"));
    }
    absl::Status s = CheckConditions(head, conditions);
    if (!s.ok()) return s;
    *tombstone = head;
    const absl::Time now = Now();
    SetTimestamp(now, tombstone->mutable_update_time());
    SetTimestamp(now, tombstone->mutable_delete_time());
    *type = v1::ChangeEvent::TYPE_DELETED;
    return absl::OkStatus();
  };
}

absl::StatusOr<v1::Article> Store::Undelete(absl::string_view id,
                                            const WriteConditions& conditions) {
  return RewriteSync(id, UndeleteRewrite(conditions));
}

void Store::UndeleteAsync(
    absl::string_view id, const WriteConditions& conditions,
    std::function<void(absl::StatusOr<v1::Article>)> done) {
  RewriteAsync(id, UndeleteRewrite(conditions), std::move(done));
}

Store::Rewrite Store::UndeleteRewrite(const WriteConditions& conditions) {
  return [this, conditions](absl::string_view id, const v1::Article& head,
                            v1::Article* restored, v1::ChangeEvent::Type* type,
                            bool*) -> absl::Status {
    if (!head.has_delete_time()) {
      return WithReason(absl::FailedPreconditionError(
                            absl::StrCat(Name(id), " is not deleted")),
                        reason::kArticleNotDeleted, {{"name", Name(id)}});
    }
    absl::Status s = CheckConditions(head, conditions);
    if (!s.ok()) return s;
    *restored = head;
    restored->clear_delete_time();
    // A head deleted before terms were stored in NFC comes back as a write
    // of it would be stored, as a restore does.
    NormalizeRestoredTerms(restored->mutable_tags());
    NormalizeRestoredTerms(restored->mutable_categories());
    if (!text::IsNfc(restored->translation_key()))
      restored->set_translation_key(text::ToNfc(restored->translation_key()));
    SetTimestamp(Now(), restored->mutable_update_time());
    *type = v1::ChangeEvent::TYPE_UNDELETED;
    return absl::OkStatus();
  };
}

absl::StatusOr<v1::Article> Store::Restore(absl::string_view id,
                                           int64_t revision,
                                           const WriteConditions& conditions) {
  if (revision <= 0)
    return InvalidField("revision", "must be a revision number");
  return RewriteSync(id, RestoreRewrite(revision, conditions));
}

void Store::RestoreAsync(
    absl::string_view id, int64_t revision, const WriteConditions& conditions,
    std::function<void(absl::StatusOr<v1::Article>)> done) {
  if (revision <= 0) {
    done(InvalidField("revision", "must be a revision number"));
    return;
  }
  RewriteAsync(id, RestoreRewrite(revision, conditions), std::move(done));
}

Store::Rewrite Store::RestoreRewrite(int64_t revision,
                                     const WriteConditions& conditions) {
  return [this, revision, conditions](
             absl::string_view id, const v1::Article& head,
             v1::Article* content, v1::ChangeEvent::Type* type,
             bool* unchanged) -> absl::Status {
    absl::Status s = CheckConditions(head, conditions);
    if (!s.ok()) return s;
    std::string value;
    s = kv_->Get(Family::kRevisions, RevisionKey(id, revision), &value);
    if (absl::IsNotFound(s)) {
      // As a read says it (ReadRevision): past the head, where the head is.
      return RevisionNotFound(id, revision, head.revision());
    }
    if (!s.ok()) return s;
    if (!content->ParseFromString(value)) {
      return absl::DataLossError(
          absl::StrCat("revision ", revision, " of ", Name(id), " is corrupt"));
    }
    if (content->has_delete_time()) {
      return InvalidField(
          "revision",
          absl::StrCat(revision, " of ", Name(id),
                       " is a deletion tombstone; restore a live revision"));
    }
    ClearServerFields(content);
    content->set_name(Name(id));
    // Stored as a write of it would be, so that queries find its terms;
    // before the unchanged check, which compares what would be stored.
    NormalizeRestoredTerms(content->mutable_tags());
    NormalizeRestoredTerms(content->mutable_categories());
    if (!text::IsNfc(content->translation_key()))
      content->set_translation_key(text::ToNfc(content->translation_key()));
    const bool deleted = head.has_delete_time();
    if (!deleted && ContentHash(*content) == head.content_hash()) {
      *unchanged = true;
      return absl::OkStatus();
    }
    *content->mutable_create_time() = head.create_time();
    SetTimestamp(Now(), content->mutable_update_time());
    *type = deleted ? v1::ChangeEvent::TYPE_UNDELETED
                    : v1::ChangeEvent::TYPE_UPDATED;
    return absl::OkStatus();
  };
}

absl::StatusOr<v1::Article> Store::RewriteSync(absl::string_view id,
                                               const Rewrite& rewrite) {
  return RetryRaces<absl::StatusOr<v1::Article>>(
      [&] { return RewriteOnce(id, rewrite); });
}

absl::StatusOr<v1::Article> Store::RewriteOnce(absl::string_view id,
                                               const Rewrite& rewrite) {
  IdLockGuard lock(&id_locks_, {id});
  absl::StatusOr<v1::Article> head = ReadHead(id);
  if (!head.ok()) return head.status();
  v1::Article content;
  v1::ChangeEvent::Type type = v1::ChangeEvent::TYPE_UPDATED;
  bool unchanged = false;
  absl::Status s = rewrite(id, *head, &content, &type, &unchanged);
  if (!s.ok()) return s;
  if (unchanged) return *std::move(head);
  return WriteRevision(id, &*head, std::move(content), type);
}

void Store::RewriteAsync(
    absl::string_view id, const Rewrite& rewrite,
    std::function<void(absl::StatusOr<v1::Article>)> done) {
  if (shared_) {  // conflicts with other replicas are retried, in turn
    done(RewriteSync(id, rewrite));
    return;
  }
  // The id stays held until the commit, as in UpdateAsync.
  std::string held(id);
  id_locks_.Lock({held});
  absl::StatusOr<v1::Article> head = ReadHead(id);
  v1::Article content;
  v1::ChangeEvent::Type type = v1::ChangeEvent::TYPE_UPDATED;
  bool unchanged = false;
  absl::Status s = head.status();
  if (s.ok()) s = rewrite(held, *head, &content, &type, &unchanged);
  if (!s.ok() || unchanged) {
    id_locks_.Unlock({held});
    if (s.ok()) {
      done(*std::move(head));
    } else {
      done(s);
    }
    return;
  }
  WriteRevisionAsync(std::move(held), &*head, std::move(content), type,
                     ArticleOnly(std::move(done)));
}

void Store::AddOverdueScheduleEvents(const v1::Article& head, absl::Time now,
                                     std::vector<v1::ChangeEvent>* events) {
  if (head.has_delete_time() ||
      (!head.has_publish_time() && !head.has_expiry_time()))
    return;
  const absl::Time written = ToTime(head.update_time());
  std::string cursor;  // read only when needed
  bool cursor_read = false;
  for (IndexKind kind : {IndexKind::kPublishAt, IndexKind::kExpireAt}) {
    const bool publish = kind == IndexKind::kPublishAt;
    const google::protobuf::Timestamp& t =
        publish ? head.publish_time() : head.expiry_time();
    if (!(publish ? head.has_publish_time() : head.has_expiry_time())) continue;
    const absl::Time when = ToTime(t);
    if (when <= written || when > now) continue;
    if (IsLiveContent(head, when - absl::Nanoseconds(1)) ==
        IsLiveContent(head, when))
      continue;                    // e.g. an expiry before the publish time
    const int64_t at = Micros(t);  // positions hold the key's microseconds
    if (!cursor_read) {
      cursor_read = true;
      if (!kv_->Get(Family::kMeta, kScheduleCursorKey, &cursor).ok())
        cursor.clear();
    }
    std::string position;
    AppendBigEndian64(&position, static_cast<uint64_t>(at));
    position.push_back(static_cast<char>(kind));
    position += head.name().substr(sizeof("articles/") - 1);
    // Positions compare as (time, kind, id), like FireSchedule's.
    bool fired = false;
    if (cursor.size() >= 9) {
      const int64_t c_at = static_cast<int64_t>(ReadBigEndian64(cursor));
      fired =
          std::make_tuple(at, static_cast<char>(kind),
                          absl::string_view(position).substr(9)) <=
          std::make_tuple(c_at, cursor[8], absl::string_view(cursor).substr(9));
    }
    if (fired) continue;
    v1::ChangeEvent& event = events->emplace_back();
    event.set_type(publish ? v1::ChangeEvent::TYPE_PUBLISHED
                           : v1::ChangeEvent::TYPE_UNPUBLISHED);
    event.set_name(head.name());
    event.set_revision(head.revision());
    SetTimestamp(now, event.mutable_time());
    event.set_live_before(!publish);
    event.set_live_after(publish);
  }
}

absl::StatusOr<absl::Time> Store::FireSchedule() {
  const absl::Time now = Now();
  const int64_t now_micros = absl::ToUnixMicros(now);
  // Position: (time, kind, id) of the last entry handled.
  struct Entry {
    int64_t micros;
    char kind;
    std::string id;
    bool operator<(const Entry& o) const {
      return std::tie(micros, kind, id) < std::tie(o.micros, o.kind, o.id);
    }
  };
  Entry cursor{INT64_MIN, 0, ""};
  // The stored cursor, for the condition that keeps two replicas from
  // firing the same entry (null: none stored).
  std::optional<std::string> stored_cursor;
  {
    std::string value;
    absl::Status s = kv_->Get(Family::kMeta, kScheduleCursorKey, &value);
    if (s.ok()) stored_cursor = value;
    if (s.ok() && value.size() >= 9) {
      cursor.micros = static_cast<int64_t>(ReadBigEndian64(value));
      cursor.kind = value[8];
      cursor.id = value.substr(9);
    } else if (!s.ok() && !absl::IsNotFound(s)) {
      return s;
    }
  }
  // A position well past the clock is a clock that went back (it jumped
  // ahead, entries fired, it was corrected): an article scheduled
  // meanwhile before that position would never fire. The position moves
  // back to now, stored at once (whatever falls due in this pass): an
  // entry the jump fired early fires again when it is really due, a
  // duplicate rather than an event lost. A minute's margin leaves
  // replicas' clocks, a few ms apart when the lease moves, to the
  // position as it is: no entry twice.
  if (cursor.micros > now_micros + int64_t{60} * 1000 * 1000) {
    cursor = Entry{now_micros - 1, std::numeric_limits<char>::max(), ""};
    std::string position;
    AppendBigEndian64(&position, static_cast<uint64_t>(cursor.micros));
    position.push_back(cursor.kind);
    KvBatch batch;
    if (shared_) {
      batch.Expect(Family::kMeta, std::string(kScheduleCursorKey),
                   *stored_cursor);
    }
    batch.Put(Family::kMeta, std::string(kScheduleCursorKey), position);
    std::vector<v1::ChangeEvent> none;
    if (absl::Status s = Commit(std::move(batch), &none); !s.ok()) return s;
    stored_cursor = position;
  }
  std::vector<Entry> due;
  absl::Time next = absl::InfiniteFuture();
  for (IndexKind kind : {IndexKind::kPublishAt, IndexKind::kExpireAt}) {
    const std::string prefix = PostingPrefix(kind, ListState::kLive, "");
    KvReadOptions ro;
    ro.lower_bound = prefix;
    ro.upper_bound = PrefixSuccessor(prefix);
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kPostings, ro);
    // Keys run newest first and hold microseconds: an entry is handled once
    // its whole microsecond has passed, so entries due are date keys in
    // [key(now - 1us), key(cursor)], and the entry just before that is the
    // next one due.
    const std::string now_key =
        PostingKey(prefix, DateKeyFromMicros(now_micros - 1), "");
    it->SeekForPrev(now_key);
    if (it->Valid()) {
      uint64_t date_key;
      absl::string_view id;
      if (ParsePostingKey(it->key(), prefix.size(), &date_key, &id)) {
        const int64_t micros =
            static_cast<int64_t>(~date_key ^ (uint64_t{1} << 63));
        next = std::min(next, absl::FromUnixMicros(micros + 1));
      }
    }
    for (it->Seek(now_key); it->Valid(); it->Next()) {
      uint64_t date_key;
      absl::string_view id;
      if (!ParsePostingKey(it->key(), prefix.size(), &date_key, &id)) continue;
      const int64_t micros =
          static_cast<int64_t>(~date_key ^ (uint64_t{1} << 63));
      if (micros < cursor.micros) break;  // older still: handled before
      Entry e{micros, static_cast<char>(kind), std::string(id)};
      if (cursor < e) due.push_back(std::move(e));
    }
    if (!it->status().ok()) return it->status();
  }
  std::sort(due.begin(), due.end());
  for (const Entry& e : due) {
    IdLockGuard lock(&id_locks_, {e.id});
    absl::StatusOr<v1::Article> head = ReadHead(e.id);
    // A damaged article fires nothing and is passed, or no later entry
    // would ever fire; a read error is retried on the next call.
    if (!head.ok() && !absl::IsNotFound(head.status()) &&
        !absl::IsDataLoss(head.status())) {
      return head.status();
    }
    // The event is due only if the head still has this time and was
    // written before it; a head written at or after it already told
    // watchers how it looked then (ChangeEvent.live_after).
    bool fire = false;
    if (head.ok() && !head->has_delete_time()) {
      const bool publish = e.kind == static_cast<char>(IndexKind::kPublishAt);
      const google::protobuf::Timestamp& t =
          publish ? head->publish_time() : head->expiry_time();
      const absl::Time when = ToTime(t);
      fire = (publish ? head->has_publish_time() : head->has_expiry_time()) &&
             Micros(t) == e.micros && ToTime(head->update_time()) < when &&
             IsLiveContent(*head, when - absl::Nanoseconds(1)) !=
                 IsLiveContent(*head, when);
    }
    std::string position;
    AppendBigEndian64(&position, static_cast<uint64_t>(e.micros));
    position.push_back(e.kind);
    position += e.id;
    KvBatch batch;
    if (shared_) {
      if (stored_cursor) {
        batch.Expect(Family::kMeta, std::string(kScheduleCursorKey),
                     *stored_cursor);
      } else {
        batch.ExpectMissing(Family::kMeta, std::string(kScheduleCursorKey));
      }
      if (fire) ExpectHead(&batch, e.id, &*head);
    }
    batch.Put(Family::kMeta, std::string(kScheduleCursorKey), position);
    stored_cursor = position;
    std::vector<v1::ChangeEvent> events;
    if (fire) {
      v1::ChangeEvent& event = events.emplace_back();
      const bool publish = e.kind == static_cast<char>(IndexKind::kPublishAt);
      event.set_type(publish ? v1::ChangeEvent::TYPE_PUBLISHED
                             : v1::ChangeEvent::TYPE_UNPUBLISHED);
      event.set_name(head->name());
      event.set_revision(head->revision());
      SetTimestamp(now, event.mutable_time());
      event.set_live_before(!publish);
      event.set_live_after(publish);
    }
    absl::Status s = Commit(std::move(batch), &events);
    if (!s.ok()) return s;
  }
  return next;
}

v1::Article Store::PrepareRevision(
    absl::string_view id, const v1::Article* old_head, v1::Article article,
    v1::ChangeEvent::Type type, KvBatch* batch,
    std::vector<v1::ChangeEvent>* events, std::string* content_hash,
    std::string* content_encoding, CountDeltas* count_deltas, BulkLoad* bulk,
    std::string* stored) {
  const int64_t revision = old_head ? old_head->revision() + 1 : 1;
  // The stored value is the content's encoding (the bytes the hash covers)
  // followed by the encoding of the server fields. Parsers take fields in
  // any order, so this is the same message as article.SerializeAsString(),
  // but the body is encoded (and UTF-8 checked by protobuf) once, not twice.
  std::string value;
  if (content_hash != nullptr && content_encoding != nullptr) {
    article.set_content_hash(std::move(*content_hash));
    value = std::move(*content_encoding);
  } else {
    v1::Article server;
    SplitServerFields(&article, &server);
    article.clear_name();
    server.set_content_hash(ContentHashOfCleared(article, &value));
    article.MergeFrom(server);
  }
  article.set_name(Name(id));
  article.set_revision(revision);
  article.set_etag(
      absl::StrCat(revision, "-", article.content_hash().substr(0, 16)));
  v1::Article server;
  server.set_name(article.name());
  server.set_revision(revision);
  server.set_etag(article.etag());
  server.set_content_hash(article.content_hash());
  if (article.has_create_time())
    *server.mutable_create_time() = article.create_time();
  if (article.has_update_time())
    *server.mutable_update_time() = article.update_time();
  if (article.has_delete_time())
    *server.mutable_delete_time() = article.delete_time();
  server.AppendToString(&value);
  if (stored != nullptr) *stored = value;
  const std::string revision_value = BigEndian(revision);
  if (bulk != nullptr) {
    bulk->BeginArticle(id, revision_value, RevisionKey(id, revision),
                       std::move(value));
  } else {
    batch->Put(Family::kRevisions, RevisionKey(id, revision), std::move(value));
  }
  batch->Put(Family::kHeads, std::string(id), revision_value);

  // Index maintenance: drop entries the article left, add the ones it
  // joined, and leave the rest as they are unless the date moved them or
  // (tag postings) the tag fingerprints changed. A posting's value names
  // the revision that wrote it, and queries read the head (keys.h):
  // rewriting the ~10 kept postings of an edit was a fifth of its server
  // CPU, and every bigram of a body to edit one paragraph about 1000 puts.
  // Both lists are sorted by prefix with each prefix once: one merge walk
  // finds the lists left (-1), joined (+1) and kept.
  // An update that keeps the searchable text, the list state and the date
  // keeps every text posting as it is: neither revision is tokenized (an
  // edit of tags or flags then costs what it costs without a text index).
  // Text lists do not depend on the list state (keys.h), so a delete,
  // undelete, publish or archive keeps them too.
  const bool text_kept = old_head != nullptr &&
                         DateKey(old_head->date()) == DateKey(article.date()) &&
                         old_head->title() == article.title() &&
                         old_head->summary() == article.summary() &&
                         old_head->body() == article.body();
  const bool text = options_.text_index && !text_kept;
  // With the date unchanged, a text posting's key is the
  // same in both revisions: only the terms one of them lacks are written
  // (text::ArticleTermChanges, which tokenizes the lines both revisions
  // share once), and the hundreds of
  // kept terms never become keys (building and comparing those was a third
  // of an update's indexing CPU).
  const bool text_moves = old_head == nullptr ||
                          DateKey(old_head->date()) != DateKey(article.date());
  const bool text_in_entries = text && text_moves;
  const std::vector<IndexEntry> entries =
      PostingEntries(article, text_in_entries, !shared_);
  std::vector<IndexEntry> old_entries;
  if (old_head != nullptr)
    old_entries = PostingEntries(*old_head, text_in_entries, !shared_);
  // Tag postings carry the fingerprints of the article's tags (keys.h).
  const std::string fingerprints = TagFingerprints(article.tags());
  const std::string tag_value = absl::StrCat(revision_value, fingerprints);
  // A kept tag posting is rewritten only if the fingerprints changed.
  const bool fingerprints_kept =
      old_head != nullptr && TagFingerprints(old_head->tags()) == fingerprints;
  auto value_of = [&](const std::string& prefix) -> const std::string& {
    return KindOf(static_cast<unsigned char>(prefix[0])) == IndexKind::kTag
               ? tag_value
               : revision_value;
  };
  // Counter changes go in after the postings: the batch is sorted by
  // family and key before the memtable, and sorted runs sort fastest.
  std::vector<std::pair<const std::string*, int>> counts;
  size_t i = 0, j = 0;
  while (i < old_entries.size() || j < entries.size()) {
    const int order = i == old_entries.size() ? 1
                      : j == entries.size()
                          ? -1
                          : old_entries[i].prefix.compare(entries[j].prefix);
    if (order < 0) {  // left the list
      const IndexEntry& e = old_entries[i++];
      batch->Delete(Family::kPostings, PostingKey(e.prefix, e.date_key, id));
      counts.emplace_back(&e.prefix, -1);
    } else if (order > 0) {  // joined it
      const IndexEntry& e = entries[j++];
      if (bulk != nullptr &&
          e.prefix[0] == static_cast<char>(IndexKind::kText)) {
        bulk->Add(e.prefix, e.date_key);  // counted there
        continue;
      }
      batch->Put(Family::kPostings, PostingKey(e.prefix, e.date_key, id),
                 value_of(e.prefix));
      counts.emplace_back(&e.prefix, 1);
    } else {  // stays: a new date moves the entry; the Put rewrites the key
      const IndexEntry& before = old_entries[i++];
      const IndexEntry& e = entries[j++];
      if (before.date_key != e.date_key) {
        batch->Delete(Family::kPostings,
                      PostingKey(before.prefix, before.date_key, id));
      } else if (const IndexKind kind =
                     KindOf(static_cast<unsigned char>(e.prefix[0]));
                 kind == IndexKind::kText ||
                 (!shared_ && (kind != IndexKind::kTag || fingerprints_kept))) {
        // The value would change only in its revision. A shared engine's
        // store keeps layout 2 (keys.h): exact postings name the head.
        continue;
      }
      batch->Put(Family::kPostings, PostingKey(e.prefix, e.date_key, id),
                 value_of(e.prefix));
    }
  }
  // Text lists keep no counters (HasCounter): only the postings change.
  if (text && !text_moves) {
    const text::TermChanges changes =
        text::ArticleTermChanges(*old_head, article);
    const ListState state = ListState::kLive;  // text lists: every state
    const uint64_t date = DateKey(article.date());
    for (const std::string& term : changes.left) {
      batch->Delete(
          Family::kPostings,
          PostingKey(PostingPrefix(IndexKind::kText, state, term), date, id));
    }
    for (const std::string& term : changes.joined) {
      batch->Put(
          Family::kPostings,
          PostingKey(PostingPrefix(IndexKind::kText, state, term), date, id),
          revision_value);
    }
  }
  for (const auto& [prefix, d] : counts) {
    if (!HasCounter(*prefix)) continue;
    if (count_deltas != nullptr) {
      (*count_deltas)[*prefix] += d;
    } else {
      batch->AddInt64(Family::kMeta, CountKey(*prefix), d);
    }
  }

  if (old_head != nullptr) {
    // A scheduled time of the old head that passed without the scheduler
    // getting to it yet: its event goes first, so watchers see the article
    // appear (or go) before this write changes it, and the scheduler, which
    // skips heads written after the time, never repeats it.
    AddOverdueScheduleEvents(
        *old_head, absl::FromUnixMicros(Micros(article.update_time())), events);
  }
  v1::ChangeEvent& event = events->emplace_back();
  event.set_type(type);
  event.set_name(article.name());
  event.set_revision(revision);
  *event.mutable_time() = article.update_time();
  const absl::Time at = absl::FromUnixMicros(Micros(article.update_time()));
  event.set_live_before(old_head != nullptr && IsLive(*old_head, at));
  event.set_live_after(IsLive(article, at));
  return article;
}

absl::StatusOr<v1::Article> Store::WriteRevision(
    absl::string_view id, const v1::Article* old_head, v1::Article article,
    v1::ChangeEvent::Type type, std::string* content_hash,
    std::string* content_encoding) {
  KvBatch batch;
  ExpectHead(&batch, id, old_head);
  std::vector<v1::ChangeEvent> events;
  v1::Article written =
      PrepareRevision(id, old_head, std::move(article), type, &batch, &events,
                      content_hash, content_encoding);
  absl::Status s = Commit(std::move(batch), &events);
  if (!s.ok()) return s;
  return written;
}

absl::StatusOr<std::vector<ApplyResult>> Store::Apply(
    std::vector<std::pair<std::string, v1::Article>> items_in, bool dry_run) {
  return RetryRaces<absl::StatusOr<std::vector<ApplyResult>>>([&] {
    return ApplyOnce(shared_ ? items_in : std::move(items_in), dry_run);
  });
}

absl::StatusOr<std::vector<ApplyResult>> Store::ApplyOnce(
    std::vector<std::pair<std::string, v1::Article>> items, bool dry_run) {
  // Before an import batch ingests anything (KvEngine::Ingest).
  if (!dry_run) {
    if (absl::Status s = CheckWritable(); !s.ok()) return s;
  }
  // Normalize and hash before locking: the hash is most of the CPU that
  // does not need the locks, and concurrent import streams then overlap.
  std::vector<std::string> hashes, encodings(items.size());
  hashes.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto& [id, content] = items[i];
    // Hashed in place, without the copy ContentHash makes; the encoding
    // becomes the stored revision's first part.
    ClearServerFields(&content);
    content.clear_name();
    hashes.push_back(ContentHashOfCleared(content, &encodings[i]));
    content.set_name(Name(id));
  }
  // Hold every id of the batch (a batch may name one id twice).
  std::vector<absl::string_view> ids;
  for (const auto& item : items) ids.push_back(item.first);
  std::sort(ids.begin(), ids.end());
  // Ids the batch names more than once: their creates are not loaded in
  // bulk (below).
  absl::flat_hash_set<absl::string_view> repeated;
  for (size_t i = 1; i < ids.size(); ++i)
    if (ids[i] == ids[i - 1]) repeated.insert(ids[i]);
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  IdLockGuard lock(&id_locks_, std::move(ids));

  std::vector<ApplyResult> results(items.size());
  std::map<std::string, v1::Article> pending;  // heads written by this batch
  KvBatch batch;
  // The batch's counter changes, summed here rather than as one add per
  // article and list: with the text index a 1000-article batch touches
  // about a million (list, article) pairs but far fewer lists, and the
  // committer, which sorts the batch on its single thread, sees each list
  // once.
  CountDeltas count_deltas;
  // Revisions and text postings of the batch's creates, for
  // KvEngine::Ingest: a 1000-article batch has 2.4 MiB of revisions and
  // (with the text index) about 190k postings; logged and inserted into
  // memtables one by one, they were most of an import's write path.
  const bool bulk = !dry_run && !shared_ && items.size() >= kMinIngestBatch;
  BulkLoad bulk_load;
  bool reserved = false;
  std::vector<v1::ChangeEvent> events;
  const absl::Time now = Now();
  absl::Status status;
  for (size_t i = 0; i < items.size() && status.ok(); ++i) {
    auto& [id, content] = items[i];
    ApplyResult& result = results[i];
    absl::StatusOr<v1::Article> head;
    bool stored_head = false;  // read from the store, not written above
    if (auto it = pending.find(id); it != pending.end()) {
      head = it->second;
    } else {
      head = ReadHead(id);
      stored_head = true;
    }
    if (!head.ok() && !absl::IsNotFound(head.status())) {
      status = head.status();  // storage trouble fails the whole batch
      break;
    }
    if (head.ok() && head->has_delete_time()) {
      result.status = ArticleDeleted(
          id, head->revision(),
          absl::StrCat(Name(id), " is deleted; undelete it before updating"));
      continue;
    }
    if (head.ok() && hashes[i] == head->content_hash()) {
      result.outcome = ApplyResult::Outcome::kUnchanged;
      result.revision = head->revision();
      continue;
    }
    v1::ChangeEvent::Type type = v1::ChangeEvent::TYPE_CREATED;
    if (head.ok()) {
      *content.mutable_create_time() = head->create_time();
      type = v1::ChangeEvent::TYPE_UPDATED;
      result.outcome = ApplyResult::Outcome::kUpdated;
    } else {
      SetTimestamp(now, content.mutable_create_time());
      result.outcome = ApplyResult::Outcome::kCreated;
    }
    SetTimestamp(now, content.mutable_update_time());
    if (stored_head) ExpectHead(&batch, id, head.ok() ? &*head : nullptr);
    const bool first_write = !reserved;
    const size_t ops_before = batch.size();
    // A create's revision and text postings are all new keys: big batches
    // hand them to the engine as files (below) instead of logging each.
    // Not a create the batch writes again: the later write deletes the
    // postings of terms it drops, and postings held back for the files
    // would be appended to the batch after those deletes when the batch
    // has too few creates to ingest, and outlive them (the article then
    // matched text it no longer held).
    const bool ingest = bulk && !head.ok() && !repeated.contains(id);
    v1::Article written =
        PrepareRevision(id, head.ok() ? &*head : nullptr, std::move(content),
                        type, &batch, &events, &hashes[i], &encodings[i],
                        &count_deltas, ingest ? &bulk_load : nullptr);
    if (first_write) {
      // Articles of one import batch are alike: the first one's op count
      // sizes the batch (plus a margin and the counters).
      const size_t per_item = batch.size() - ops_before;
      batch.Reserve(per_item * (items.size() + items.size() / 8) + 64);
      reserved = true;
    }
    result.revision = written.revision();
    pending[id] = std::move(written);
  }
  if (status.ok() && !dry_run && !events.empty()) {
    KvBatch text_puts;
    bulk_load.EmitText(&text_puts, &count_deltas);
    std::vector<std::pair<absl::string_view, int64_t>> deltas;
    deltas.reserve(count_deltas.size());
    for (const auto& [prefix, d] : count_deltas)
      if (d != 0) deltas.emplace_back(prefix, d);
    std::sort(deltas.begin(), deltas.end());  // sorted runs sort fastest
    for (const auto& [prefix, d] : deltas)
      batch.AddInt64(Family::kMeta, CountKey(prefix), d);
    // A few creates among updates: a table each would cost more than it
    // saves (and flush the memtables it overlaps).
    const bool ingest = bulk_load.articles() >= kMinIngestBatch;
    std::vector<std::string> tickets;
    // The ingested keys are visible before the commit: nothing reaches a
    // revision but through its head, and a text query that meets a posting
    // then finds no head and skips it (query::Engine).
    auto add = [&](Family family, KvBatch puts) {
      if (puts.empty()) return;
      absl::StatusOr<std::string> ticket =
          ingest ? kv_->Ingest(family, puts)
                 : absl::UnimplementedError("too few to ingest");
      if (ticket.ok()) {
        batch.Put(Family::kMeta, IngestMarkerKey(*ticket), "");
        tickets.push_back(*std::move(ticket));
        return;
      }
      if (!absl::IsUnimplemented(ticket.status()))
        std::fprintf(stderr, "contentd: ingest failed, logging instead: %s\n",
                     std::string(ticket.status().message()).c_str());
      batch.Append(std::move(puts));
    };
    add(Family::kRevisions, bulk_load.TakeRevisions());
    add(Family::kPostings, std::move(text_puts));
    status = Commit(std::move(batch), &events);
    for (const std::string& ticket : tickets)
      kv_->EndIngest(ticket, status.ok());
  }
  if (!status.ok()) return status;
  return results;
}

absl::Status Store::Commit(KvBatch batch,
                           std::vector<v1::ChangeEvent>* events) {
  if (absl::Status s = CheckWritable(); !s.ok()) return s;
  Writer w;
  w.batch = std::move(batch);
  w.events = events;
  absl::MutexLock lock(&commit_mu_);
  writers_.push_back(&w);
  while (!w.done && (leading_ || writers_.front() != &w))
    w.cv.Wait(&commit_mu_);
  if (w.done) return w.status;
  LeadLocked(/*hand_off=*/true);
  return w.status;
}

void Store::CommitAsync(KvBatch batch, std::vector<v1::ChangeEvent> events,
                        std::function<void(absl::Status)> done) {
  // No committer runs in a read-only store: answer here (as a leader
  // would, with commit_mu_ not held).
  if (absl::Status s = CheckWritable(); !s.ok()) {
    done(s);
    return;
  }
  auto* w = new Writer;
  w->batch = std::move(batch);
  w->owned_events = std::move(events);
  w->events = &w->owned_events;
  w->on_done = std::move(done);
  absl::MutexLock lock(&commit_mu_);
  writers_.push_back(w);
  if (leading_) return;  // the leader gets to it
  if (!shared_) {
    // The committer leads: the caller (a gRPC thread, for inline updates)
    // never waits for a WAL sync. (Init writes without CommitAsync, so the
    // committer is running whenever this is reached.)
    leading_ = true;
    commit_wanted_ = true;
    commit_cv_.Signal();
    return;
  }
  LeadLocked(/*hand_off=*/false);
}

size_t Store::FitGroup(const std::vector<Writer*>& queued,
                       std::vector<Writer*>* group,
                       std::vector<absl::Status>* refused) {
  // Events go into the batch later, numbered: their bytes and a margin.
  auto bytes_of = [](const Writer& w) {
    size_t bytes = w.batch.ApproximateBytes();
    for (const v1::ChangeEvent& e : *w.events) bytes += e.ByteSizeLong() + 32;
    return bytes;
  };
  std::vector<size_t> bytes;
  bytes.reserve(queued.size());
  size_t total = 0;
  for (Writer* x : queued) total += bytes.emplace_back(bytes_of(*x));
  refused->assign(queued.size(), absl::OkStatus());
  if (kv_->CheckRoom(total).ok()) {  // the usual case: one look at the disk
    *group = queued;
    return queued.size();
  }
  size_t admitted = 0;
  for (size_t i = 0; i < queued.size(); ++i) {
    absl::Status room = kv_->CheckRoom(admitted + bytes[i]);
    if (room.ok()) {
      group->push_back(queued[i]);
      admitted += bytes[i];
      continue;
    }
    if (admitted > 0) room = kv_->CheckRoom(bytes[i]);
    if (!room.ok()) {
      (*refused)[i] = room;  // too big for the disk on its own
      continue;
    }
    return i;  // fits alone: it leads the next group
  }
  return queued.size();
}

void Store::LeadLocked(bool hand_off) {
  leading_ = true;
  for (;;) {
    // Commit everyone queued so far as one batch, so one WAL sync covers
    // the group and sequence numbers follow commit order.
    constexpr size_t kMaxGroup = 512;
    std::vector<Writer*> queued;
    for (Writer* x : writers_) {
      if (queued.size() == kMaxGroup) break;
      queued.push_back(x);
    }
    int64_t base = last_sequence_;
    // The front of writers_ is the leader's to settle: others only append.
    commit_mu_.Unlock();

    // A writer the disk has no room for fails alone; the others commit.
    std::vector<Writer*> group;
    std::vector<absl::Status> refused;
    const size_t settled = FitGroup(queued, &group, &refused);
    KvBatch merged;
    // Records a full volume kept back go first, in the same batch
    // (WriteWithFirstCommit); held until the write is done.
    std::optional<absl::MutexLock> owing;
    if (!shared_ && owes_records_.load() && !group.empty()) {
      owing.emplace(&owed_mu_);
      merged = owed_records_;
    }
    size_t ops = merged.size();
    for (Writer* x : group) ops += x->batch.size();
    merged.Reserve(ops + 2 * group.size() + 1);  // + events, last sequence
    for (Writer* x : group) merged.Append(std::move(x->batch));

    int64_t sequence = base;
    // Numbers the group's events after `after` into `out`.
    auto sequence_events = [&group, &sequence](int64_t after, KvBatch* out) {
      sequence = after;
      for (Writer* x : group) {
        for (v1::ChangeEvent& e : *x->events) {
          e.set_sequence(++sequence);
          out->Put(Family::kChanges, BigEndian(sequence),
                   e.SerializeAsString());
        }
      }
      out->Put(Family::kMeta, std::string(kLastSequenceKey),
               BigEndian(sequence));
    };
    absl::Status s;
    if (group.empty()) {
      // Every writer was refused: nothing to write.
    } else if (!shared_) {
      sequence_events(base, &merged);
      s = kv_->Write(std::move(merged), options_.sync);
      if (s.ok() && owing.has_value()) {
        owed_records_ = KvBatch();
        owes_records_ = false;
      }
      owing.reset();
    } else {
      // Other replicas commit too: the numbers follow the stored last
      // sequence, read in the same transaction that writes the events.
      s = kv_->WriteAfterRead(
          std::move(merged), options_.sync, Family::kMeta,
          std::string(kLastSequenceKey),
          [&sequence_events](const std::string* current, KvBatch* out) {
            sequence_events(
                current != nullptr && current->size() == 8
                    ? static_cast<int64_t>(ReadBigEndian64(*current))
                    : 0,
                out);
          });
    }

    commit_mu_.Lock();
    if (s.ok() && sequence > last_sequence_) {
      last_sequence_ = sequence;
      if (commit_listener_) commit_listener_(sequence);
    }
    std::vector<Writer*> finished;  // asynchronous ones
    for (size_t i = 0; i < settled; ++i) {
      Writer* x = queued[i];
      writers_.pop_front();
      x->status = refused[i].ok() ? s : refused[i];
      x->done = true;
      if (x->on_done) {
        finished.push_back(x);
      } else {
        x->cv.Signal();
      }
    }
    if (!finished.empty()) {
      // Their callbacks reply and take locks: not under commit_mu_.
      commit_mu_.Unlock();
      for (Writer* x : finished) {
        x->on_done(x->status);
        delete x;
      }
      commit_mu_.Lock();
    }
    if (writers_.empty()) break;
    if (!writers_.front()->on_done) {  // it leads itself
      writers_.front()->cv.Signal();
      break;
    }
    if (hand_off && !shared_) {
      // The caller's own write is done; asynchronous writers arriving
      // during every sync would keep it here (an import's reply, the
      // scheduler's next event) for as long as they come. The committer
      // takes the lead over: leading_ stays set.
      commit_wanted_ = true;
      commit_cv_.Signal();
      return;
    }
  }
  leading_ = false;
}

absl::StatusOr<std::vector<v1::Article>> Store::ListRevisions(
    absl::string_view id, int64_t start, int limit, size_t max_bytes,
    bool* bytes_cut) {
  if (bytes_cut != nullptr) *bytes_cut = false;
  size_t bytes = 0;
  KvReadOptions ro;
  ro.lower_bound = RevisionKey(id, 0);
  ro.upper_bound = RevisionKey(id, INT64_MAX);
  std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kRevisions, ro);
  it->SeekForPrev(RevisionKey(id, start > 0 ? start : INT64_MAX - 1));
  std::vector<v1::Article> out;
  for (; it->Valid() && static_cast<int>(out.size()) < limit; it->Prev()) {
    // Checked before decoding: a page of a thousand 1 MiB revisions decoded
    // a gigabyte to send 2 MiB of it.
    if (!out.empty() && bytes + it->value().size() > max_bytes) {
      if (bytes_cut != nullptr) *bytes_cut = true;
      break;
    }
    bytes += it->value().size();
    v1::Article a;
    if (!a.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("a revision of ", Name(id), " is corrupt"));
    }
    out.push_back(std::move(a));
  }
  if (!it->status().ok()) return it->status();
  if (out.empty() || out.back().revision() == 1) {
    // Nothing listed: tell a missing article (whatever `start` or `limit`
    // was) from an empty page of an existing one. A first revision without
    // a head is an import batch's that has not committed yet (Ingest).
    absl::StatusOr<int64_t> head = HeadRevision(id);
    if (!head.ok()) return head.status();
    if (*head == 0) return ArticleNotFound(id);
  }
  return out;
}

absl::Status Store::Checkpoint(const std::string& dir, int64_t* last_sequence,
                               const KvEngine::CheckpointProgress& progress) {
  if (absl::Status s = kv_->Checkpoint(dir, progress); !s.ok()) return s;
  // Writes go on while the copy is made, so a sequence read before it (or
  // after) is not the copy's: read the copy's own record, written in one
  // batch with the events it counts. Everything acknowledged before the
  // call committed before the copy began, so it is at or below this.
  absl::StatusOr<std::unique_ptr<KvEngine>> copy = kv_->OpenCheckpoint(dir);
  if (!copy.ok()) {
    return absl::Status(copy.status().code(),
                        absl::StrCat("reading the copy in ", dir, ": ",
                                     copy.status().message()));
  }
  std::string value;
  absl::Status s = (*copy)->Get(Family::kMeta, kLastSequenceKey, &value);
  copy->reset();  // closed before the marker goes in (or the copy goes)
  if (absl::IsNotFound(s)) {
    *last_sequence = 0;  // nothing written yet
    return WriteBackupMarker(dir, 0);
  }
  if (!s.ok()) return s;
  if (value.size() != 8)
    return absl::DataLossError("the copy's last sequence is corrupt");
  *last_sequence = static_cast<int64_t>(ReadBigEndian64(value));
  return WriteBackupMarker(dir, *last_sequence);
}

absl::Status Store::WriteBackupMarker(const std::string& dir,
                                      int64_t last_sequence) {
  // Says the copy is a backup: the first contentd to serve it numbers its
  // events past those this store gives out after the copy
  // (SkipSequencesAfterRestore), or a watcher resuming from one of those
  // would be given other events under its numbers, and skip some.
  const std::string path = absl::StrCat(dir, "/", kBackupMarkerFile);
  const std::string text = absl::StrCat(
      "contentd backup through sequence ", last_sequence,
      "\nThe first contentd to serve a copy of this directory numbers its "
      "change log on from sequence ",
      last_sequence + kRestoreSequenceGap + 1,
      ", past any sequence the store it was taken from gave out later, and "
      "removes this file (docs/operations.md, \"Backup and restore\").\n");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  bool ok = fd >= 0;
  ok = ok && ::write(fd, text.data(), text.size()) ==
                 static_cast<ssize_t>(text.size());
  ok = ok && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (ok) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    return absl::OkStatus();
  }
  // Without the marker a restore would reuse sequences: no backup at all
  // rather than one that looks good.
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  const std::string message =
      absl::StrCat("destination: writing ", path, ": ", std::strerror(err),
                   "; the copy in ", dir, " was removed");
  if (err == ENOSPC || err == EDQUOT)
    return absl::ResourceExhaustedError(message);
  return absl::FailedPreconditionError(message);
}

absl::StatusOr<RetentionResult> Store::ApplyRetention(
    const RetentionPolicy& policy, const std::function<bool()>& cancelled) {
  if (absl::Status s = CheckWritable(); !s.ok()) return s;
  RetentionResult result;
  // CANCELLED, with what was done, once `cancelled` says so; the listing
  // asks every 4096 keys.
  uint64_t keys = 0;
  auto stop = [&](bool listing) -> absl::Status {
    if (!cancelled || (listing && (++keys & 4095) != 0) || !cancelled())
      return absl::OkStatus();
    return absl::CancelledError(absl::StrCat(
        "retention: stopped before it finished (contentd is stopping, or "
        "the call's client left), after removing ",
        result.revisions_removed - result.revisions_purged,
        " old revisions and purging ", result.articles_purged,
        " deleted articles (", result.revisions_purged,
        " revisions); each article's removal is whole, and the next pass "
        "does the rest"));
  };
  const bool trim =
      policy.keep_revisions > 0 || policy.keep_age > absl::ZeroDuration();
  const bool purge = policy.purge_deleted_after > absl::ZeroDuration();
  if (!trim && !purge) return result;
  const absl::Time now = Now();
  // Ids first, from a snapshot: the work per article happens under its lock.
  // Only articles with something to do are read (a pass runs every minute
  // over the whole store): with more revisions than the rules could keep
  // (the heads hold each head's number), or deleted (their list).
  std::vector<std::string> ids;
  if (trim) {
    const int64_t keep = std::max<int64_t>(policy.keep_revisions, 1);
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kHeads);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (absl::Status s = stop(true); !s.ok()) return s;
      if (it->value().size() == 8 &&
          static_cast<int64_t>(ReadBigEndian64(it->value())) <= keep) {
        continue;
      }
      ids.emplace_back(it->key().data(), it->key().size());
    }
    if (!it->status().ok()) return it->status();
  }
  if (purge) {
    const std::string prefix =
        PostingPrefix(IndexKind::kAll, ListState::kDeleted, "");
    KvReadOptions ro;
    ro.lower_bound = prefix;
    ro.upper_bound = PrefixSuccessor(prefix);
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kPostings, ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (absl::Status s = stop(true); !s.ok()) return s;
      uint64_t date_key;
      absl::string_view id;
      if (ParsePostingKey(it->key(), prefix.size(), &date_key, &id))
        ids.emplace_back(id);
    }
    if (!it->status().ok()) return it->status();
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  // Removals are written without a WAL sync each, and the pass syncs once
  // when it ends, however it ends: at one sync per article (about 6.7 ms on
  // this project's VMs) a pass over 20k articles took 135 s, and the first
  // pass after retention was turned on over 1M would take hours. A removal
  // a power cut takes back is done again by the next pass; none is seen by
  // a reader before it is written. PostgreSQL commits several articles'
  // removals together (RetentionPass).
  const bool defer_sync = options_.sync && !shared_;
  bool unsynced = false;
  absl::StatusOr<RetentionResult> out = RetentionPass(
      policy, ids, now, trim, purge, defer_sync, stop, &result, &unsynced);
  if (unsynced) {
    absl::Status synced = kv_->Write(KvBatch(), /*sync=*/true);
    if (!synced.ok() && out.ok()) return synced;
  }
  return out;
}

absl::StatusOr<RetentionResult> Store::RetentionPass(
    const RetentionPolicy& policy, const std::vector<std::string>& ids,
    absl::Time now, bool trim, bool purge, bool defer_sync,
    const std::function<absl::Status(bool)>& stop, RetentionResult* out,
    bool* unsynced) {
  RetentionResult& result = *out;
  // An age rule keeps what it keeps until a second after `t`, when a pass
  // would remove it (the rules compare whole seconds, strictly).
  auto due = [&result](absl::Time t) {
    result.next_due = std::min(result.next_due, t + absl::Seconds(1));
  };
  // On a shared engine each article's removal was a transaction of its
  // own, and a pass over 20k articles took minutes (docs/operations.md):
  // removals now share transactions, up to kRetentionGroupArticles
  // articles or kRetentionGroupBytes each. Every article keeps its
  // conditions (its head, and the newest revision to go), so one that
  // another writer changed meanwhile fails the whole group (ABORTED),
  // which is then written again article by article: each removal is still
  // whole or not at all, and one that lost its race is left to the next
  // pass, as before.
  struct Removal {
    KvBatch batch;
    int64_t removed = 0, purged = 0;
  };
  std::vector<Removal> group;
  size_t group_bytes = 0;
  auto count = [&result](const Removal& r) {
    result.revisions_removed += r.removed;
    result.articles_purged += r.purged;
    if (r.purged > 0) result.revisions_purged += r.removed;
  };
  auto flush = [&]() -> absl::Status {
    std::vector<Removal> removals = std::move(group);
    group.clear();
    group_bytes = 0;
    if (removals.size() > 1) {
      KvBatch all;
      for (const Removal& r : removals) all.Append(KvBatch(r.batch));
      absl::Status s = kv_->Write(std::move(all), options_.sync);
      if (s.ok()) {
        for (const Removal& r : removals) count(r);
        return s;
      }
      if (!absl::IsAborted(s)) return s;
    }
    for (Removal& r : removals) {
      absl::Status s = kv_->Write(std::move(r.batch), options_.sync);
      if (absl::IsAborted(s)) continue;  // another writer got there first
      if (!s.ok()) return s;
      count(r);
    }
    return absl::OkStatus();
  };
  // On a shared engine a group's reads are made together too (Prefetch):
  // its heads, their revisions, each article's newest revision the rules
  // would remove, and how many revisions each removal takes, a statement
  // each for up to kRetentionGroupArticles articles, where every article
  // took three round trips of its own (about 1.5 ms on PostgreSQL).
  struct Prefetched {
    absl::Status head;  // OK, NOT_FOUND or DATA_LOSS, as ReadHeadBytes
    std::string head_bytes;
    // Trimming: the revision to cut at, with its value (0: none to remove,
    // -1: not decided here, walk the revisions as the embedded store does).
    int64_t cut = -1;
    std::string cut_value;
    int64_t removed = 0;  // revisions the removal takes
  };
  std::vector<Prefetched> prefetched;
  auto prefetch = [&](absl::Span<const std::string> group_ids) -> absl::Status {
    const size_t n = group_ids.size();
    prefetched.assign(n, Prefetched());
    std::vector<std::string> keys(group_ids.begin(), group_ids.end());
    std::vector<std::string> values;
    std::vector<absl::Status> statuses;
    kv_->MultiGet(Family::kHeads, keys, &values, &statuses);
    std::vector<size_t> at;  // prefetched[at[j]] answers keys[j]
    keys.clear();
    for (size_t i = 0; i < n; ++i) {
      if (absl::IsNotFound(statuses[i])) {
        prefetched[i].head = absl::NotFoundError("not found");
        continue;
      }
      if (!statuses[i].ok()) return statuses[i];
      if (values[i].size() != 8) {
        prefetched[i].head = absl::DataLossError("head is corrupt");
        continue;
      }
      at.push_back(i);
      keys.push_back(RevisionKey(
          group_ids[i], static_cast<int64_t>(ReadBigEndian64(values[i]))));
    }
    kv_->MultiGet(Family::kRevisions, keys, &values, &statuses);
    // A head whose revision is gone was purged or moved on meanwhile: the
    // next pass sees it as it is then.
    for (size_t j = 0; j < at.size(); ++j) {
      Prefetched& p = prefetched[at[j]];
      if (absl::IsNotFound(statuses[j])) {
        p.head = absl::NotFoundError("not found");
      } else if (!statuses[j].ok()) {
        return statuses[j];
      } else {
        p.head_bytes = std::move(values[j]);
      }
    }
    // What goes: the article's every revision (a purge), or those up to
    // the newest that the rules remove. Revisions are numbered without
    // gaps and removed oldest first, so the revision `rank` below the head
    // is the head's number minus `rank`: the first the count rule lets go
    // is one read, and it goes unless the age rule keeps it (then the
    // revisions are walked one by one, below).
    std::vector<std::pair<std::string, std::string>> ranges;
    std::vector<size_t> counted;
    at.clear();
    keys.clear();
    for (size_t i = 0; i < n; ++i) {
      Prefetched& p = prefetched[i];
      v1::Article head;
      if (!p.head.ok() || !ParseArticleSkeleton(p.head_bytes, &head)) continue;
      const absl::string_view id = group_ids[i];
      if (purge && head.has_delete_time() &&
          absl::FromUnixSeconds(head.delete_time().seconds()) <
              now - policy.purge_deleted_after) {
        ranges.emplace_back(RevisionKey(id, 0), RevisionKey(id, INT64_MAX));
        counted.push_back(i);
        continue;
      }
      if (!trim) continue;
      const int64_t cut =
          head.revision() - std::max<int64_t>(policy.keep_revisions, 1);
      if (cut < 1) {
        p.cut = 0;
        continue;
      }
      at.push_back(i);
      keys.push_back(RevisionKey(id, cut));
    }
    kv_->MultiGet(Family::kRevisions, keys, &values, &statuses);
    for (size_t j = 0; j < at.size(); ++j) {
      Prefetched& p = prefetched[at[j]];
      if (absl::IsNotFound(statuses[j])) {
        p.cut = 0;  // removed by an earlier pass
        continue;
      }
      if (!statuses[j].ok()) return statuses[j];
      if (policy.keep_age > absl::ZeroDuration()) {
        v1::Article a;
        if (!ParseArticleSkeleton(values[j], &a) ||
            absl::FromUnixSeconds(a.update_time().seconds()) >=
                now - policy.keep_age)
          continue;  // walked
      }
      const absl::string_view id = group_ids[at[j]];
      const int64_t cut =
          static_cast<int64_t>(ReadBigEndian64(keys[j].substr(id.size() + 1)));
      p.cut = cut;
      p.cut_value = std::move(values[j]);
      ranges.emplace_back(RevisionKey(id, 0), RevisionKey(id, cut + 1));
      counted.push_back(at[j]);
    }
    std::vector<int64_t> counts;
    if (absl::Status c = kv_->CountKeys(Family::kRevisions, ranges, &counts);
        !c.ok())
      return c;
    for (size_t j = 0; j < counted.size(); ++j)
      prefetched[counted[j]].removed = counts[j];
    return absl::OkStatus();
  };
  const size_t chunk = shared_ ? kRetentionGroupArticles : 1;
  for (size_t begin = 0; begin < ids.size(); begin += chunk) {
    const absl::Span<const std::string> group_ids =
        absl::MakeConstSpan(ids).subspan(begin, chunk);
    IdLockGuard lock(&id_locks_, std::vector<absl::string_view>(
                                     group_ids.begin(), group_ids.end()));
    if (shared_) {
      if (absl::Status s = stop(false); !s.ok()) {
        if (absl::Status f = flush(); !f.ok()) return f;
        absl::Status again = stop(false);
        return again.ok() ? s : again;
      }
      if (absl::Status p = prefetch(group_ids); !p.ok()) return p;
    }
    for (size_t k = 0; k < group_ids.size(); ++k) {
      const std::string& id = group_ids[k];
      if (absl::Status s = stop(false); !s.ok()) {
        // What was gathered is written first, and counted in the message.
        if (absl::Status f = flush(); !f.ok()) return f;
        absl::Status again = stop(false);
        return again.ok() ? s : again;
      }
      Prefetched* pre = shared_ ? &prefetched[k] : nullptr;
      std::string head_bytes;
      absl::Status read =
          pre != nullptr ? pre->head : ReadHeadBytes(id, &head_bytes);
      if (pre != nullptr && read.ok()) head_bytes = std::move(pre->head_bytes);
      // A damaged article is fsck's to report; it must not stop retention
      // (and the change-log trim after it) for every other article.
      if (absl::IsNotFound(read) || absl::IsDataLoss(read)) continue;
      if (!read.ok()) return read;
      // The fields deciding what goes; the whole head only to purge it.
      absl::StatusOr<v1::Article> head = v1::Article();
      if (!ParseArticleSkeleton(head_bytes, &*head)) continue;
      KvBatch batch;
      // Counted once the batch commits: on a shared engine another replica
      // may have done the same work first (the write is then ABORTED).
      int64_t removed = 0, purged = 0;
      const bool purge_this =
          purge && head->has_delete_time() &&
          absl::FromUnixSeconds(head->delete_time().seconds()) <
              now - policy.purge_deleted_after;
      if (purge && head->has_delete_time() && !purge_this) {
        due(absl::FromUnixSeconds(head->delete_time().seconds()) +
            policy.purge_deleted_after);
      }
      if (purge_this) {
        if (!head->ParseFromString(head_bytes)) continue;
        // The whole article: history, head, and its (deleted-bit) postings.
        if (shared_) {
          batch.DeleteRange(Family::kRevisions, RevisionKey(id, 0),
                            RevisionKey(id, INT64_MAX));
        }
        batch.Delete(Family::kHeads, id);
        for (const IndexEntry& e :
             PostingEntries(*head, options_.text_index, !shared_)) {
          batch.Delete(Family::kPostings, PostingKey(e.prefix, e.date_key, id));
          if (HasCounter(e.prefix))
            batch.AddInt64(Family::kMeta, CountKey(e.prefix), -1);
        }
        if (pre != nullptr) {
          removed = pre->removed;
        } else {
          KvReadOptions ro;
          ro.lower_bound = RevisionKey(id, 0);
          ro.upper_bound = RevisionKey(id, INT64_MAX);
          std::unique_ptr<KvIterator> it =
              kv_->NewIterator(Family::kRevisions, ro);
          for (it->SeekToFirst(); it->Valid(); it->Next(), ++removed) {
            batch.Delete(Family::kRevisions, it->key());
          }
          if (!it->status().ok()) return it->status();
        }
        purged = 1;
      } else if (trim && pre != nullptr && pre->cut >= 0) {
        // Decided by the group's reads (Prefetched).
        if (pre->cut > 0) {
          batch.Expect(Family::kRevisions, RevisionKey(id, pre->cut),
                       std::move(pre->cut_value));
          batch.DeleteRange(Family::kRevisions, RevisionKey(id, 0),
                            RevisionKey(id, pre->cut + 1));
          removed = pre->removed;
        }
      } else if (trim) {
        std::unique_ptr<KvIterator> it;
        KvReadOptions ro;
        ro.lower_bound = RevisionKey(id, 0);
        ro.upper_bound = RevisionKey(id, head->revision());  // never the head
        it = kv_->NewIterator(Family::kRevisions, ro);
        // Newest first: the head is rank 0, the revision below it rank 1...
        int64_t rank = 1;
        for (it->SeekToLast(); it->Valid(); it->Prev(), ++rank) {
          if (policy.keep_revisions > 0 && rank < policy.keep_revisions)
            continue;
          if (policy.keep_age > absl::ZeroDuration()) {
            v1::Article a;
            if (!ParseArticleSkeleton(it->value(), &a))
              continue;  // leave what we cannot read for fsck to report
            if (absl::FromUnixSeconds(a.update_time().seconds()) >=
                now - policy.keep_age) {
              due(absl::FromUnixSeconds(a.update_time().seconds()) +
                  policy.keep_age);
              continue;
            }
          }
          // Older revisions are older still: drop this one and all below.
          const int64_t cut = static_cast<int64_t>(
              ReadBigEndian64(it->key().substr(id.size() + 1)));
          // The head does not change here, so on a shared engine the newest
          // revision to go carries the condition: two replicas trimming the
          // same article then cannot both commit (and both count).
          if (shared_)
            batch.Expect(Family::kRevisions, RevisionKey(id, cut),
                         std::string(it->value()));
          // RocksDB gets a point delete per revision, not a range: each read
          // of a memtable holding range deletions sorted them all again
          // (FragmentTombstones), so every article of a pass cost more than
          // the last (20k articles: 90 s without WAL syncs). PostgreSQL
          // deletes the range in one statement.
          if (shared_) {
            batch.DeleteRange(Family::kRevisions, RevisionKey(id, 0),
                              RevisionKey(id, cut + 1));
          }
          for (; it->Valid(); it->Prev(), ++removed) {
            if (!shared_) batch.Delete(Family::kRevisions, it->key());
          }
          break;
        }
        if (!it->status().ok()) return it->status();
      }
      if (batch.empty()) continue;
      ExpectHead(&batch, id, &*head);
      if (shared_) {
        group_bytes += batch.ApproximateBytes();
        group.push_back({std::move(batch), removed, purged});
        if (group.size() >= kRetentionGroupArticles ||
            group_bytes >= kRetentionGroupBytes) {
          if (absl::Status f = flush(); !f.ok()) return f;
        }
        continue;
      }
      absl::Status s =
          kv_->Write(std::move(batch), options_.sync && !defer_sync);
      if (absl::IsAborted(s)) continue;  // another replica wrote it meanwhile
      if (!s.ok()) return s;
      *unsynced = *unsynced || defer_sync;
      result.revisions_removed += removed;
      result.articles_purged += purged;
      if (purged > 0) result.revisions_purged += removed;
    }
  }
  if (absl::Status f = flush(); !f.ok()) return f;
  return result;
}

void Store::SetCommitListener(std::function<void(int64_t)> listener) {
  absl::MutexLock lock(&commit_mu_);
  commit_listener_ = std::move(listener);
}

std::vector<Store::SequenceGap> Store::sequence_gaps() const {
  absl::MutexLock lock(&commit_mu_);
  return sequence_gaps_;
}

int64_t Store::SkipSequenceGaps(int64_t sequence) const {
  absl::MutexLock lock(&commit_mu_);
  for (const SequenceGap& gap : sequence_gaps_)
    if (sequence > gap.after && sequence <= gap.through) return gap.through + 1;
  return sequence;
}

std::optional<Store::SequenceGap> Store::GapHolding(
    int64_t after_sequence) const {
  absl::MutexLock lock(&commit_mu_);
  for (const SequenceGap& gap : sequence_gaps_)
    if (after_sequence > gap.after && after_sequence < gap.through) return gap;
  return std::nullopt;
}

absl::StatusOr<bool> Store::SkipSequencesAfterRestore(int64_t backup_sequence,
                                                      bool* deferred) {
  *deferred = false;
  if (shared_) {
    return absl::FailedPreconditionError(
        "a shared store is restored with its database's tools");
  }
  absl::StatusOr<int64_t> stored = StoredLastSequence();
  if (!stored.ok()) return stored.status();
  // Before serving: no commit runs meanwhile.
  std::vector<SequenceGap> gaps = sequence_gaps();
  for (const SequenceGap& g : gaps)
    if (g.after >= backup_sequence) return false;  // done before
  SequenceGap gap;
  gap.after = std::max(*stored, last_sequence());
  gap.through = gap.after + kRestoreSequenceGap;
  gaps.push_back(gap);
  std::string value;
  for (const SequenceGap& g : gaps)
    absl::StrAppend(&value, BigEndian(g.after), BigEndian(g.through));
  KvBatch batch;
  batch.Put(Family::kMeta, std::string(kSequenceGapsKey), value);
  batch.Put(Family::kMeta, std::string(kLastSequenceKey),
            BigEndian(gap.through));
  absl::Status s = kv_->Write(KvBatch(batch), /*sync=*/true);
  if (!s.ok()) {
    if (kv_->WritesRefused().ok() &&
        !(absl::IsResourceExhausted(s) && ReasonOf(s) == reason::kDiskFull)) {
      return s;
    }
    // A full volume: the first commit writes the records ahead of its
    // events (numbered from last_sequence_, raised below), in its batch.
    *deferred = true;
    WriteWithFirstCommit(std::move(batch));
  }
  absl::MutexLock lock(&commit_mu_);
  sequence_gaps_ = std::move(gaps);
  last_sequence_ = std::max(last_sequence_, gap.through);
  if (commit_listener_) commit_listener_(last_sequence_);
  return true;
}

absl::StatusOr<int64_t> Store::FirstSequence() {
  const int64_t last = last_sequence();
  std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kChanges);
  it->SeekToFirst();
  if (!it->status().ok()) return it->status();
  if (!it->Valid() || it->key().size() != 8) return last + 1;
  return static_cast<int64_t>(ReadBigEndian64(it->key()));
}

absl::Status Store::TrimChanges(int64_t keep_events, absl::Duration max_age,
                                absl::Time* next_due) {
  if (next_due != nullptr) *next_due = absl::InfiniteFuture();
  if (absl::Status s = CheckWritable(); !s.ok()) return s;
  const int64_t last = last_sequence();
  int64_t cut = 0;  // drop sequences < cut
  if (keep_events > 0) {
    cut = std::max<int64_t>(cut, last - keep_events + 1);
    // Counted in events: the sequences a gap skipped (a restore) are none.
    const std::vector<SequenceGap> gaps = sequence_gaps();
    for (auto gap = gaps.rbegin(); gap != gaps.rend(); ++gap)
      if (cut <= gap->through && gap->through < last)
        cut -= gap->through - gap->after;
  }
  if (max_age > absl::ZeroDuration()) {
    // Events are in time order: find the first one young enough.
    const int64_t min_seconds = absl::ToUnixSeconds(Now() - max_age);
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kChanges);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::ChangeEvent e;
      if (e.ParseFromArray(it->value().data(),
                           static_cast<int>(it->value().size())) &&
          e.time().seconds() >= min_seconds) {
        cut = std::max(cut, e.sequence());
        // The first event kept by age goes once its second is older than
        // max_age (later ones are younger).
        if (next_due != nullptr)
          *next_due = absl::FromUnixSeconds(e.time().seconds() + 1) + max_age;
        break;
      }
    }
    // A scan that failed did not find every event old: it must not drop
    // the whole log (every watcher would have to resync).
    if (!it->status().ok()) return it->status();
    if (!it->Valid()) cut = std::max(cut, last + 1);
  }
  if (cut <= 1) return absl::OkStatus();
  // Nothing older than the cut: no write. A range delete of nothing still
  // leaves a tombstone that later scans of the log step over (RocksDB),
  // or costs a write transaction (PostgreSQL), on every retention pass.
  absl::StatusOr<int64_t> first = FirstSequence();
  if (!first.ok()) return first.status();
  if (*first >= cut) return absl::OkStatus();
  KvBatch batch;
  batch.DeleteRange(Family::kChanges, BigEndian(0), BigEndian(cut));
  return kv_->Write(std::move(batch), options_.sync);
}

absl::StatusOr<std::vector<v1::ChangeEvent>> Store::ReadChanges(int64_t after,
                                                                int limit) {
  std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kChanges);
  std::vector<v1::ChangeEvent> out;
  // Sequences start at 1; a negative `after` would encode as a huge key.
  for (it->Seek(BigEndian(std::max<int64_t>(after, 0) + 1));
       it->Valid() && static_cast<int>(out.size()) < limit; it->Next()) {
    v1::ChangeEvent e;
    if (!e.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError("a change-log event is corrupt");
    }
    out.push_back(std::move(e));
  }
  if (!it->status().ok()) return it->status();
  return out;
}

// ---- fsck support ----------------------------------------------------------

std::vector<IndexEntry> Store::IndexEntries(const v1::Article& head) const {
  return PostingEntries(head, options_.text_index, !shared_);
}

}  // namespace content::store
