#include "server/store/fsck.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/error_details.h"
#include "server/store/article_wire.h"
#include "server/store/keys.h"

namespace content::store {
namespace {

std::string TextIndexValue(bool on) { return on ? "1" : "0"; }

std::string TextIndexMismatch(bool built_with, bool configured) {
  return absl::StrCat("the postings were built with text_index: ",
                      built_with ? "true" : "false",
                      " and this configuration has text_index: ",
                      configured ? "true" : "false");
}

// The table of a store on the postgres engine; empty for a data directory.
std::string SharedTable(const Store& store) {
  return store.options().engine == "postgres" ? store.options().pg_table : "";
}

// The command that repairs a shared store in `table` offline: it has no data
// directory, and every replica writes to it, so all must stop first.
std::string SharedRepairCommand(const std::string& table) {
  return absl::StrCat(
      "`contentd --check --repair --storage-engine postgres --storage-dsn DSN "
      "--storage-table ",
      table, "`");
}

constexpr absl::string_view kCountPrefix = "n/";

// Whether a store of `format` keeps kLayoutGuard (keys.h).
bool KeepsLayoutGuard(int format, bool shared) {
  return !shared && format >= 3;
}

// Into `*batch`, the layout marker, and the guard where the layout keeps one
// (in its place, the deletion of an index repair's mark if `clear_repair`).
void PutFormatMarker(int format, bool shared, bool clear_repair,
                     KvBatch* batch) {
  batch->Put(Family::kMeta, std::string(kFormatKey), absl::StrCat(format));
  if (KeepsLayoutGuard(format, shared)) {
    batch->Put(Family::kMeta, std::string(kIndexRepairKey),
               std::string(kLayoutGuard));
  } else if (clear_repair) {
    batch->Delete(Family::kMeta, std::string(kIndexRepairKey));
  }
}

struct HeadInfo {
  int64_t revision = 0;
  uint64_t date_key = 0;
  bool deleted = false;
  bool readable = false;       // the head revision parsed
  int64_t create_seconds = 0;  // when this article's revision 1 was
  // Its entries but the text terms, sorted by prefix. The terms are only
  // counted: at 1M articles with the text index they are ~400M entries,
  // and holding them made a check take more memory than the machine had.
  std::vector<IndexEntry> indexes;
  uint32_t text_terms = 0;     // text entries the head calls for
  uint32_t text_postings = 0;  // text postings naming it (CheckPostings)
  uint32_t text_missing = 0;   // of text_terms, not found (CheckHeadPostings)
  // Sums (mod 2^64) of TermHash over the text prefixes the head calls for
  // and over those of the text postings naming it. Posting keys are unique,
  // so equal counts and sums mean the very same terms (but for a 2^-64
  // chance), and the ~400M lookups of a 1M check are needed only for heads
  // where they differ.
  uint64_t text_sum = 0;
  uint64_t text_seen_sum = 0;
  std::string tag_fingerprints;  // what its tag postings carry
};

// A printable form of a key for messages (terms may be any UTF-8; the
// binary parts become hex).
std::string Printable(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  return out;
}

uint64_t TermHash(absl::string_view prefix) {
  return absl::Hash<absl::string_view>{}(prefix);
}

int64_t DecodeLittleEndian64(absl::string_view s) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i)
    u |= uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
  return static_cast<int64_t>(u);
}

std::string EncodeLittleEndian64(int64_t v) {
  std::string s(8, '\0');
  const uint64_t u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(u >> (8 * i));
  return s;
}

std::string BigEndian(int64_t v) {
  std::string s;
  AppendBigEndian64(&s, static_cast<uint64_t>(v));
  return s;
}

// Kinds whose lists Store::IndexEntries fully describes: an entry there
// that the head does not call for is stale. Other kinds (added by later
// indexes) get the generic checks only.
bool KnownKind(unsigned char kind) {
  switch (static_cast<unsigned char>(KindOf(kind))) {
    case static_cast<unsigned char>(IndexKind::kAll):
    case static_cast<unsigned char>(IndexKind::kTag):
    case static_cast<unsigned char>(IndexKind::kCategory):
    case static_cast<unsigned char>(IndexKind::kLang):
    case static_cast<unsigned char>(IndexKind::kText):
    case static_cast<unsigned char>(IndexKind::kGroup):
    case static_cast<unsigned char>(IndexKind::kPublishAt):
    case static_cast<unsigned char>(IndexKind::kExpireAt):
    case static_cast<unsigned char>(IndexKind::kExpiry):
      return true;
    default:
      return false;
  }
}

class Checker {
 public:
  explicit Checker(Store& store, CheckOptions options = {})
      : store_(store), kv_(store.engine()), options_(std::move(options)) {}

  absl::StatusOr<FsckReport> Run() {
    // Read the in-memory sequence before the snapshot: a commit in flight
    // may be in the snapshot but not yet in last_sequence().
    const int64_t memory_sequence = store_.last_sequence();
    snapshot_ = kv_->GetSnapshot();
    ro_.snapshot = snapshot_.get();
    absl::Status s;
    // Causes first: either one explains every posting problem that follows,
    // and the report lists only the first kMaxFsckProblems.
    std::string marker;
    s = kv_->Get(Family::kMeta, kIndexRepairKey, &marker, ro_);
    const absl::Status marker_status = s;
    if (s.ok()) {
      // The layout guard (keys.h) is no repair.
      if (marker != kLayoutGuard)
        Problem("an index repair started and did not finish", true);
    } else if (!absl::IsNotFound(s)) {
      return s;
    }
    std::string built_with;
    s = kv_->Get(Family::kMeta, kTextIndexKey, &built_with, ro_);
    if (s.ok() && built_with != TextIndexValue(store_.text_index())) {
      Problem(TextIndexMismatch(built_with == "1", store_.text_index()), true);
    } else if (!s.ok() && !absl::IsNotFound(s)) {
      return s;
    }
    // A store of an earlier layout has no expiry list (keys.h): every
    // article with an expiry is missing from it, for this one reason. (An
    // unmarked store may be new: its entries, if missing, are reported.)
    std::string format;
    s = kv_->Get(Family::kMeta, kFormatKey, &format, ro_);
    unmarked_ = absl::IsNotFound(s) && !kv_->shared();
    int layout = 0;
    if (s.ok() && !kv_->shared() && absl::SimpleAtoi(format, &layout) &&
        layout < 4) {
      Problem(absl::StrCat("the store has layout ", layout,
                           ", from before the expiry list (layout 4): "
                           "starting contentd builds it (or run --repair)"),
              true);
    } else if (s.ok() && KeepsLayoutGuard(layout, kv_->shared()) &&
               absl::IsNotFound(marker_status)) {
      Problem(
          absl::StrCat("the store has layout ", layout,
                       " without the layout guard of layout 5: a build of an "
                       "earlier layout wrote it, or one from before layout "
                       "markers rebuilt or wrote its indexes in its own layout "
                       "since; starting contentd upgrades it to layout ",
                       StoreFormatFor(false), " (or run --repair)"),
          true);
    } else if (!s.ok() && !absl::IsNotFound(s)) {
      return s;
    }
    Step("heads", 1, FamilyKeys(Family::kHeads));
    if (!(s = LoadHeads()).ok()) return s;
    Step("revisions", 2, FamilyKeys(Family::kRevisions));
    if (!(s = CheckRevisions()).ok()) return s;
    postings_estimate_ = FamilyKeys(Family::kPostings);
    Step("postings", 3, postings_estimate_);
    if (!(s = CheckPostings()).ok()) return s;
    Step("index entries", 4, static_cast<int64_t>(heads_.size()), "articles");
    if (!(s = CheckHeadPostings()).ok()) return s;
    Step("extra text postings", 5, 0);  // its total once it reads them
    if (!(s = CheckExtraTextPostings()).ok()) return s;
    Step("counters", 6, 0);
    if (!(s = CheckCounters()).ok()) return s;
    Step("change log", 7, FamilyKeys(Family::kChanges));
    if (!(s = CheckChanges(memory_sequence)).ok()) return s;
    return std::move(report_);
  }

  // The heads as loaded (for repair).
  const absl::flat_hash_map<std::string, HeadInfo>& heads() const {
    return heads_;
  }

 private:
  static constexpr int kSteps = 7;

  // About how many keys `family` holds: RocksDB's estimate from its index;
  // 0 (not counted) on a shared engine, which has none and would count the
  // first KvEngine::kEstimateCountCap keys, reading as the whole family.
  int64_t FamilyKeys(Family family) {
    if (kv_->shared()) return 0;
    return kv_->EstimateKeys(family, "", std::string(16, '\xff'));
  }

  // Begins step `number` of kSteps, about `total` keys to read (0: not
  // counted) or `unit`s to check, and says so.
  void Step(const char* name, int number, int64_t total,
            const char* unit = "keys") {
    progress_ = CheckProgress{name, number, kSteps, 0, total, unit};
    if (options_.progress) options_.progress(progress_);
  }

  // Counts one key read (or head checked) in the step. Every 4096: tells
  // options_.progress, and CANCELLED once options_.cancelled says so.
  absl::Status Tick() {
    ++progress_.done;
    if ((++ticks_ & 4095) != 0) return absl::OkStatus();
    if (options_.progress) options_.progress(progress_);
    if (!options_.cancelled || !options_.cancelled()) return absl::OkStatus();
    return absl::CancelledError(
        "check: cancelled before it finished (its caller left, or the "
        "server is stopping)");
  }

  void Problem(std::string text, bool index = false) {
    ++report_.problem_count;
    if (index) ++report_.index_problems;
    if (report_.problems.size() < static_cast<size_t>(kMaxFsckProblems))
      report_.problems.push_back(std::move(text));
  }

  absl::Status LoadHeads() {
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kHeads, ro_);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (absl::Status c = Tick(); !c.ok()) return c;
      ++report_.articles;
      const std::string id(it->key());
      HeadInfo& h = heads_[id];
      if (it->value().size() != 8) {
        Problem(absl::StrCat("head of ", Printable(id), " is not 8 bytes"));
        continue;
      }
      h.revision = static_cast<int64_t>(ReadBigEndian64(it->value()));
      std::string value;
      absl::Status s = kv_->Get(Family::kRevisions, RevisionKey(id, h.revision),
                                &value, ro_);
      if (absl::IsNotFound(s)) {
        Problem(absl::StrCat("head of ", Printable(id), " is revision ",
                             h.revision, ", which is missing"));
        continue;
      }
      if (!s.ok()) return s;
      v1::Article a;
      if (!a.ParseFromString(value)) continue;  // reported by CheckRevisions
      h.readable = true;
      h.create_seconds = a.create_time().seconds();
      h.date_key = DateKey(a.date());
      h.deleted = a.has_delete_time();
      for (IndexEntry& e : store_.IndexEntries(a)) {
        if (IsText(e.prefix)) {
          ++h.text_terms;
          h.text_sum += TermHash(e.prefix);
        } else {
          h.indexes.push_back(std::move(e));
        }
      }
      h.tag_fingerprints = TagFingerprints(a.tags());
    }
    return it->status();
  }

  absl::Status CheckRevisions() {
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kRevisions, ro_);
    std::string current;  // id of the run being read
    int64_t expected = 0;
    // Histories without a head, settled below: on a running server one
    // may be an import batch's ingested first revision whose commit the
    // snapshot just missed.
    std::vector<std::pair<std::string, int64_t>> headless;
    auto finish_run = [&] {
      if (current.empty()) return;
      auto h = heads_.find(current);
      if (h == heads_.end()) {
        headless.emplace_back(current, expected - 1);
      } else if (h->second.revision != expected - 1) {
        Problem(absl::StrCat(Printable(current), " has revisions up to ",
                             expected - 1, " but its head is revision ",
                             h->second.revision));
      }
    };
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (absl::Status c = Tick(); !c.ok()) return c;
      ++report_.revisions;
      const absl::string_view key = it->key();
      if (key.size() < 10 || key[key.size() - 9] != '\0') {
        Problem(absl::StrCat("malformed revision key ", Printable(key)));
        continue;
      }
      const std::string id(key.substr(0, key.size() - 9));
      const int64_t revision =
          static_cast<int64_t>(ReadBigEndian64(key.substr(key.size() - 8)));
      if (id != current) {
        finish_run();
        current = id;
        // Retention (Store::ApplyRetention) removes the oldest revisions,
        // so a history starts anywhere but must run unbroken to the head.
        expected = revision;
      }
      if (revision != expected) {
        Problem(absl::StrCat(Printable(id), " skips from revision ",
                             expected - 1, " to ", revision));
      }
      expected = revision + 1;
      v1::Article a;
      if (!a.ParseFromArray(it->value().data(),
                            static_cast<int>(it->value().size()))) {
        Problem(absl::StrCat("revision ", revision, " of ", Printable(id),
                             " does not parse"));
        continue;
      }
      if (a.name() != absl::StrCat("articles/", id) ||
          a.revision() != revision) {
        Problem(absl::StrCat("revision ", revision, " of ", Printable(id),
                             " says it is ", Printable(a.name()), " revision ",
                             a.revision()));
      }
      if (a.content_hash() != Store::ContentHash(a)) {
        Problem(absl::StrCat("revision ", revision, " of ", Printable(id),
                             " does not match its content hash"));
      }
    }
    finish_run();
    if (!it->status().ok()) return it->status();
    for (const auto& [id, last] : headless) {
      std::string value;
      absl::Status s =
          kv_->Get(Family::kRevisions, RevisionKey(id, last), &value);
      if (absl::IsNotFound(s)) continue;  // undone since
      if (!s.ok()) return s;
      s = kv_->Get(Family::kHeads, id, &value);
      if (s.ok()) continue;  // committed since
      if (!absl::IsNotFound(s)) return s;
      Problem(absl::StrCat(Printable(id), " has revisions up to ", last,
                           " but no head"));
    }
    return absl::OkStatus();
  }

  // A posting whose article had no head in the snapshot.
  struct Headless {
    std::string key, id, where;
  };

  absl::Status CheckPostings() {
    std::vector<Headless> headless;
    absl::Status s = CheckPostingsOf(&headless);
    if (!s.ok()) return s;
    // A headless posting is provisional if, read now rather than at the
    // snapshot, its batch committed (the head exists) or was undone (the
    // posting is gone): KvEngine::Ingest.
    for (const Headless& h : headless) {
      std::string value;
      s = kv_->Get(Family::kPostings, h.key, &value);
      if (absl::IsNotFound(s)) continue;
      if (!s.ok()) return s;
      s = kv_->Get(Family::kHeads, h.id, &value);
      if (s.ok()) continue;
      if (!absl::IsNotFound(s)) return s;
      Problem(absl::StrCat(h.where, ": no such article"), true);
    }
    return absl::OkStatus();
  }

  absl::Status CheckPostingsOf(std::vector<Headless>* headless) {
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kPostings, ro_);
    // Postings come sorted by list: the list's counter and term hash are
    // looked up once per list, not per posting (a 1M text check reads
    // ~214M postings of about a million lists).
    std::string prefix;
    bool list_counted = false;
    int64_t* list_count = nullptr;  // set by the list's first counted entry
    uint64_t list_hash = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (absl::Status c = Tick(); !c.ok()) return c;
      ++report_.postings;
      const absl::string_view key = it->key();
      const size_t nul = key.find('\0', 1);
      uint64_t date_key = 0;
      absl::string_view id;
      if (nul == absl::string_view::npos ||
          !ParsePostingKey(key, nul + 1, &date_key, &id) || id.empty()) {
        Problem(absl::StrCat("malformed posting key ", Printable(key)), true);
        continue;
      }
      if (key.substr(0, nul + 1) != prefix) {
        prefix.assign(key.data(), nul + 1);
        list_counted = HasCounter(prefix);
        list_count = nullptr;
        list_hash = TermHash(prefix);
      }
      // Built only for a problem: a 1M text check reads ~214M postings.
      auto where = [&] {
        return absl::StrCat("posting ", Printable(prefix), " ", Printable(id));
      };
      auto h = heads_.find(id);
      if (h == heads_.end()) {
        // Settled below: on a running server it may be an import batch's
        // ingested posting whose commit the snapshot just missed.
        headless->push_back({std::string(key), std::string(id), where()});
        continue;
      }
      if (list_counted) {
        if (list_count == nullptr) list_count = &actual_counts_[prefix];
        ++*list_count;
      }
      HeadInfo& head = h->second;
      if (!head.readable) continue;  // reported already
      const IndexKind kind = KindOf(static_cast<unsigned char>(key[0]));
      const absl::string_view value = it->value();
      // Tag postings may carry the tags' fingerprints after the revision
      // (keys.h); those written before do not.
      const bool well_formed =
          value.size() == 8 || (kind == IndexKind::kTag && value.size() > 8 &&
                                (value.size() - 8) % kTagFingerprintBytes == 0);
      const int64_t revision =
          well_formed ? static_cast<int64_t>(ReadBigEndian64(value)) : -1;
      if (kind == IndexKind::kTag && value.size() > 8 &&
          value.substr(8) != head.tag_fingerprints) {
        Problem(
            absl::StrCat(where(), ": tag fingerprints differ from the head's"),
            true);
      }
      // A posting names the revision that wrote it, which later revisions
      // that keep the entry leave behind (keys.h): never a newer one.
      const bool text = kind == IndexKind::kText;
      if (text &&
          StateOf(static_cast<unsigned char>(key[0])) != ListState::kLive &&
          !reported_old_text_layout_) {
        // The articles' own problems follow (their postings are missing
        // from the text lists); this says why, once.
        reported_old_text_layout_ = true;
        Problem(absl::StrCat(where(),
                             ": a text posting under a deleted or unpublished "
                             "kind, as builds before 2026-12-02 wrote them; "
                             "starting contentd moves them into the text "
                             "lists (or run --repair)"),
                true);
      }
      if (revision < 1 || revision > head.revision) {
        Problem(absl::StrCat(where(), ": entry says revision ", revision,
                             ", head is ", head.revision),
                true);
      }
      // Whether a text posting belongs is settled by counting and hash
      // sums (CheckHeadPostings); its date is the article's. Text postings
      // are most of them, and searching the head's other entries for one
      // cost a cache miss each.
      uint64_t wanted_date = head.date_key;
      bool belongs = true;
      if (text) {
        ++head.text_postings;
        head.text_seen_sum += list_hash;
      } else {
        auto entry = std::lower_bound(head.indexes.begin(), head.indexes.end(),
                                      IndexEntry{prefix, head.date_key});
        belongs = entry != head.indexes.end() && entry->prefix == prefix;
        if (belongs) wanted_date = entry->date_key;
      }
      if (date_key != wanted_date) {
        Problem(absl::StrCat(where(), ": entry date differs from the head's"),
                true);
      }
      // Text lists hold every state (keys.h): their prefixes, checked by
      // the hash sums, carry no deleted bit.
      const bool deleted = (static_cast<unsigned char>(key[0]) & kDeletedBit);
      if (!text && deleted != head.deleted) {
        Problem(
            absl::StrCat(where(), ": entry says ", deleted ? "deleted" : "live",
                         ", head is ", head.deleted ? "deleted" : "live"),
            true);
      }
      if (KnownKind(static_cast<unsigned char>(key[0])) && !belongs) {
        Problem(
            absl::StrCat(where(), ": the head does not belong in this list"),
            true);
      }
    }
    return it->status();
  }

  absl::Status CheckHeadPostings() {
    for (auto& [id, head] : heads_) {
      if (absl::Status c = Tick(); !c.ok()) return c;
      if (!head.readable) continue;
      std::vector<IndexEntry> text;
      const bool text_exact = head.text_postings == head.text_terms &&
                              head.text_seen_sum == head.text_sum;
      if (head.text_terms > 0 && !text_exact) {
        absl::StatusOr<std::vector<IndexEntry>> t = TextEntries(id, head);
        if (!t.ok()) return t.status();
        text = *std::move(t);
      }
      for (const std::vector<IndexEntry>* entries : {&head.indexes, &text}) {
        for (const IndexEntry& entry : *entries) {
          const std::string& prefix = entry.prefix;
          std::string value;
          absl::Status s =
              kv_->Get(Family::kPostings,
                       PostingKey(prefix, entry.date_key, id), &value, ro_);
          if (absl::IsNotFound(s)) {
            if (entries == &text) ++head.text_missing;
            if (unmarked_ && !unmarked_said_ &&
                KindOf(static_cast<unsigned char>(prefix[0])) ==
                    IndexKind::kExpiry) {
              // Why, once: the list is new in layout 4, as for layout 3.
              unmarked_said_ = true;
              Problem(
                  absl::StrCat("the store has no layout marker (a build from "
                               "before 2026-12-02 wrote it), so no expiry list "
                               "(layout 4): starting contentd upgrades it to "
                               "layout ",
                               StoreFormatFor(false), " (or run --repair)"),
                  true);
            }
            Problem(absl::StrCat(Printable(id), " revision ", head.revision,
                                 " is missing from list ", Printable(prefix)),
                    true);
          } else if (!s.ok()) {
            return s;
          }
        }
      }
    }
    return absl::OkStatus();
  }

  // The head's text entries, computed again from its revision.
  absl::StatusOr<std::vector<IndexEntry>> TextEntries(const std::string& id,
                                                      const HeadInfo& head) {
    std::string value;
    absl::Status s = kv_->Get(Family::kRevisions,
                              RevisionKey(id, head.revision), &value, ro_);
    if (!s.ok()) return s;
    v1::Article a;
    if (!a.ParseFromString(value))
      return absl::DataLossError(absl::StrCat("head of ", id, " changed"));
    std::vector<IndexEntry> text;
    for (IndexEntry& e : store_.IndexEntries(a))
      if (IsText(e.prefix)) text.push_back(std::move(e));
    return text;
  }

  // A head has text postings it does not call for when more name it than
  // the ones it calls for that were found. Only for such heads are the
  // terms held, and the text postings read again to name the extra ones.
  absl::Status CheckExtraTextPostings() {
    absl::flat_hash_map<std::string, std::vector<IndexEntry>> terms;
    for (const auto& [id, head] : heads_) {
      if (!head.readable ||
          head.text_postings <= head.text_terms - head.text_missing)
        continue;
      absl::StatusOr<std::vector<IndexEntry>> t = TextEntries(id, head);
      if (!t.ok()) return t.status();
      terms[id] = *std::move(t);
      if (terms.size() >= 10000) break;  // enough to report; bounded memory
    }
    if (terms.empty()) return absl::OkStatus();
    progress_.total = postings_estimate_;
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kPostings, ro_);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (absl::Status c = Tick(); !c.ok()) return c;
      const absl::string_view key = it->key();
      if (!IsText(key)) continue;
      const size_t nul = key.find('\0', 1);
      uint64_t date_key = 0;
      absl::string_view id;
      if (nul == absl::string_view::npos ||
          !ParsePostingKey(key, nul + 1, &date_key, &id))
        continue;  // reported by CheckPostings
      auto t = terms.find(id);
      if (t == terms.end()) continue;
      const absl::string_view prefix = key.substr(0, nul + 1);
      const auto& entries = t->second;
      const bool belongs = std::binary_search(
          entries.begin(), entries.end(), IndexEntry{std::string(prefix), 0},
          [](const IndexEntry& x, const IndexEntry& y) {
            return x.prefix < y.prefix;
          });
      if (!belongs) {
        Problem(absl::StrCat("posting ", Printable(prefix), " ", Printable(id),
                             ": the head does not belong in this list"),
                true);
      }
    }
    return it->status();
  }

  static bool IsText(absl::string_view prefix) {
    return !prefix.empty() &&
           KindOf(static_cast<unsigned char>(prefix[0])) == IndexKind::kText;
  }

  absl::Status CheckCounters() {
    KvReadOptions ro = ro_;
    ro.lower_bound = std::string(kCountPrefix);
    ro.upper_bound = PrefixSuccessor(kCountPrefix);
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kMeta, ro);
    std::map<std::string, int64_t> seen;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report_.counters;
      const std::string prefix(it->key().substr(kCountPrefix.size()));
      // Earlier builds counted translation groups; a repair drops those.
      if (!HasCounter(prefix)) continue;
      seen[prefix] =
          it->value().size() == 8 ? DecodeLittleEndian64(it->value()) : -1;
    }
    if (!it->status().ok()) return it->status();
    for (const auto& [prefix, count] : seen) {
      auto a = actual_counts_.find(prefix);
      const int64_t actual = a == actual_counts_.end() ? 0 : a->second;
      if (count != actual) {
        Problem(absl::StrCat("counter of list ", Printable(prefix), " is ",
                             count, ", the list has ", actual),
                true);
      }
    }
    for (const auto& [prefix, actual] : actual_counts_) {
      if (seen.count(prefix) == 0) {
        Problem(absl::StrCat("list ", Printable(prefix), " has ", actual,
                             " entries and no counter"),
                true);
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckChanges(int64_t memory_sequence) {
    std::string value;
    absl::Status s = kv_->Get(Family::kMeta, kLastSequenceKey, &value, ro_);
    if (s.ok() && value.size() == 8) {
      report_.last_sequence = static_cast<int64_t>(ReadBigEndian64(value));
    } else if (s.ok()) {
      Problem("the last_sequence record is not 8 bytes");
    } else if (!absl::IsNotFound(s)) {
      return s;
    }
    if (report_.last_sequence < memory_sequence) {
      Problem(absl::StrCat("the store has committed sequence ", memory_sequence,
                           " but last_sequence says ", report_.last_sequence));
    }
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kChanges, ro_);
    int64_t previous = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (absl::Status c = Tick(); !c.ok()) return c;
      ++report_.changes;
      if (it->key().size() != 8) {
        Problem(absl::StrCat("malformed change key ", Printable(it->key())));
        continue;
      }
      const int64_t sequence = static_cast<int64_t>(ReadBigEndian64(it->key()));
      if (previous == 0) {
        report_.first_sequence = sequence;
      } else if (sequence != previous + 1 &&
                 sequence != store_.SkipSequenceGaps(previous + 1)) {
        // (A restored backup's log jumps over the sequences its source
        // may have given out after it: Store::sequence_gaps.)
        Problem(
            absl::StrCat("change log jumps from ", previous, " to ", sequence));
      }
      previous = sequence;
      v1::ChangeEvent e;
      if (!e.ParseFromArray(it->value().data(),
                            static_cast<int>(it->value().size()))) {
        Problem(absl::StrCat("change ", sequence, " does not parse"));
        continue;
      }
      if (e.sequence() != sequence) {
        Problem(
            absl::StrCat("change ", sequence, " says it is ", e.sequence()));
      }
      const std::string id = e.name().substr(std::min<size_t>(
          e.name().size(), absl::string_view("articles/").size()));
      auto h = heads_.find(id);
      // No head at all is a purged article (retention), not a hole; and an
      // event older than the head's creation is about an earlier, purged
      // article that had the same id.
      if ((h != heads_.end() && h->second.revision < e.revision() &&
           e.time().seconds() >= h->second.create_seconds) ||
          e.revision() < 1) {
        Problem(absl::StrCat("change ", sequence, " names ",
                             Printable(e.name()), " revision ", e.revision(),
                             ", which does not exist"));
      }
    }
    if (!it->status().ok()) return it->status();
    if (previous != 0 && previous != report_.last_sequence &&
        store_.SkipSequenceGaps(previous + 1) != report_.last_sequence + 1) {
      Problem(absl::StrCat("the change log ends at ", previous,
                           " but last_sequence is ", report_.last_sequence));
    }
    return absl::OkStatus();
  }

  Store& store_;
  KvEngine* kv_;
  std::unique_ptr<KvSnapshot> snapshot_;
  KvReadOptions ro_;
  const CheckOptions options_;
  uint64_t ticks_ = 0;
  CheckProgress progress_;
  int64_t postings_estimate_ = 0;
  FsckReport report_;
  absl::flat_hash_map<std::string, HeadInfo> heads_;
  std::map<std::string, int64_t> actual_counts_;
  bool reported_old_text_layout_ = false;
  // A local store without a layout marker, and whether its missing expiry
  // list was explained.
  bool unmarked_ = false;
  bool unmarked_said_ = false;
};

}  // namespace

std::string FsckReport::ToString() const {
  std::string out = absl::StrFormat(
      "articles %d, revisions %d, postings %d, counters %d, changes %d "
      "(sequences %d..%d)\n",
      articles, revisions, postings, counters, changes, first_sequence,
      last_sequence);
  if (clean()) {
    absl::StrAppend(&out, "clean\n");
    return out;
  }
  absl::StrAppendFormat(&out,
                        "%d problems (%d in indexes, which --repair "
                        "rebuilds)\n",
                        problem_count, index_problems);
  for (const std::string& p : problems) absl::StrAppend(&out, "  ", p, "\n");
  if (problem_count > static_cast<int64_t>(problems.size()))
    absl::StrAppend(&out, "  ...\n");
  return out;
}

absl::StatusOr<FsckReport> CheckStore(Store& store,
                                      const CheckOptions& options) {
  return Checker(store, options).Run();
}

absl::StatusOr<FsckReport> RepairIndexes(Store& store,
                                         const RepairOptions& options) {
  KvEngine* kv = store.engine();
  constexpr int kSteps = 3;
  RepairProgress progress;
  progress.step_count = kSteps;
  auto tell = [&] {
    if (options.progress) options.progress(progress);
  };
  auto step = [&](const char* name, int number) {
    progress.step = name;
    progress.step_number = number;
    tell();
  };
  step("dropping indexes", 1);
  {
    KvBatch start;
    start.Put(Family::kMeta, std::string(kIndexRepairKey), "");
    // Posting keys start with a kind byte below 0xff; counters live under n/.
    start.DeleteRange(Family::kPostings, std::string(), std::string(2, '\xff'));
    start.DeleteRange(Family::kMeta, std::string(kCountPrefix),
                      PrefixSuccessor(kCountPrefix));
    absl::Status s = kv->Write(std::move(start), /*sync=*/true);
    if (!s.ok()) return s;
  }
  std::unique_ptr<KvSnapshot> snapshot = kv->GetSnapshot();
  KvReadOptions ro;
  ro.snapshot = snapshot.get();
  KvBatch batch;
  int64_t in_batch = 0;
  std::map<std::string, int64_t> counts;
  // RocksDB's estimate from its index; none on a shared engine, which
  // would count the first KvEngine::kEstimateCountCap keys (as the check).
  if (!kv->shared())
    progress.heads_total =
        kv->EstimateKeys(Family::kHeads, "", std::string(16, '\xff'));
  step("postings", 2);
  // Unsynced: the last write's sync makes these durable with it.
  auto write = [&]() -> absl::Status {
    absl::Status s = kv->Write(std::move(batch), /*sync=*/false);
    if (!s.ok()) return s;
    progress.postings_written += in_batch;
    batch = KvBatch();
    in_batch = 0;
    tell();
    return absl::OkStatus();
  };
  std::unique_ptr<KvIterator> it = kv->NewIterator(Family::kHeads, ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if ((++progress.heads_read & 4095) == 0) tell();
    if (it->value().size() != 8) continue;
    const std::string id(it->key());
    const int64_t revision = static_cast<int64_t>(ReadBigEndian64(it->value()));
    std::string value;
    absl::Status s =
        kv->Get(Family::kRevisions, RevisionKey(id, revision), &value, ro);
    if (absl::IsNotFound(s)) continue;  // unrepairable; the check reports it
    if (!s.ok()) return s;
    v1::Article a;
    if (!a.ParseFromString(value)) continue;
    const std::string tag_value =
        absl::StrCat(BigEndian(revision), TagFingerprints(a.tags()));
    for (const IndexEntry& e : store.IndexEntries(a)) {
      const bool tag =
          KindOf(static_cast<unsigned char>(e.prefix[0])) == IndexKind::kTag;
      batch.Put(Family::kPostings, PostingKey(e.prefix, e.date_key, id),
                tag ? tag_value : BigEndian(revision));
      ++in_batch;
      if (HasCounter(e.prefix)) ++counts[e.prefix];
    }
    if (in_batch >= options.postings_per_write) {
      if (s = write(); !s.ok()) return s;
    }
  }
  if (!it->status().ok()) return it->status();
  // The last postings on their own, so that step 3 begins with every one
  // written (and counted).
  if (in_batch > 0) {
    if (absl::Status s = write(); !s.ok()) return s;
  }
  step("counters", 3);
  for (const auto& [prefix, n] : counts)
    batch.Put(Family::kMeta, CountKey(prefix), EncodeLittleEndian64(n));
  batch.Put(Family::kMeta, std::string(kTextIndexKey),
            TextIndexValue(store.text_index()));
  // The indexes are now in this build's layout, whatever they were in.
  PutFormatMarker(StoreFormatFor(kv->shared()), kv->shared(),
                  /*clear_repair=*/true, &batch);
  it.reset();
  snapshot.reset();
  absl::Status s = kv->Write(std::move(batch), /*sync=*/true);
  if (!s.ok()) return s;
  store.NoteExpiryList();  // built with the rest
  return CheckStore(store, options.check);
}

namespace {

// What IndexRepairPending answers for a store whose indexes are marked
// incomplete.
absl::Status IndexRepairMarked(const Store& store) {
  const std::string table = SharedTable(store);
  if (!table.empty()) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "an index repair started and did not finish: the indexes in "
            "table ",
            table, " are incomplete; stop every replica and run ",
            SharedRepairCommand(table), " again")),
        reason::kIndexRepairPending);
  }
  return WithReason(
      absl::FailedPreconditionError(
          "an index repair started and did not finish: the indexes are "
          "incomplete; run `contentd --check --repair` on this data "
          "directory again"),
      reason::kIndexRepairPending);
}

}  // namespace

absl::Status IndexRepairPending(Store& store) {
  std::string value;
  absl::Status s = store.engine()->Get(Family::kMeta, kIndexRepairKey, &value);
  if (absl::IsNotFound(s)) return absl::OkStatus();
  if (!s.ok()) return s;
  if (value == kLayoutGuard) return absl::OkStatus();  // keys.h
  return IndexRepairMarked(store);
}

absl::Status PingAndNoteIndexes(Store& store, absl::Duration timeout) {
  std::optional<bool> marked;
  absl::Status ping = store.engine()->PingReading(timeout, Family::kMeta,
                                                  kIndexRepairKey, &marked);
  // Unreachable: the mark cannot be read either (and is kept as last seen).
  if (absl::IsUnavailable(ping)) return ping;
  absl::Status pending;
  if (!marked.has_value()) {
    pending = IndexRepairPending(store);
  } else if (*marked) {
    pending = IndexRepairMarked(store);
  }
  if (ReasonOf(pending) == reason::kIndexRepairPending) {
    pending = WithReason(absl::FailedPreconditionError(absl::StrCat(
                             "queries are refused while the indexes are marked "
                             "incomplete: ",
                             pending.message())),
                         reason::kIndexRepairPending);
    store.NoteIndexesUsable(pending);
  } else if (pending.ok()) {
    store.NoteIndexesUsable(absl::OkStatus());
  }
  return ping.ok() ? pending : ping;
}

namespace {

// Whether `s` is a write refused for want of room on the store's volume.
bool NoRoom(const absl::Status& s) {
  return absl::IsResourceExhausted(s) && ReasonOf(s) == reason::kDiskFull;
}

// Writes `record` (a synced write), or, where a local store's full volume
// refuses it, leaves it to the store's first commit once there is room
// (Store::WriteWithFirstCommit) and sets `*deferred`.
absl::Status WriteOrDefer(Store& store, KvBatch record, bool* deferred) {
  KvEngine* kv = store.engine();
  absl::Status s = kv->Write(KvBatch(record), /*sync=*/true);
  if (!NoRoom(s) || kv->shared()) return s;
  store.WriteWithFirstCommit(std::move(record));
  *deferred = true;
  return absl::OkStatus();
}

// The text postings MoveTextPostings would move: how many, and their keys'
// and values' bytes.
absl::Status TextPostingsToMove(Store& store, int64_t* count, uint64_t* bytes) {
  *count = 0;
  *bytes = 0;
  for (const ListState state : {ListState::kUnpublished, ListState::kDeleted}) {
    const std::string first = PostingPrefix(IndexKind::kText, state, "");
    KvReadOptions ro;
    ro.lower_bound = first.substr(0, 1);
    ro.upper_bound = PrefixSuccessor(ro.lower_bound);
    std::unique_ptr<KvIterator> it =
        store.engine()->NewIterator(Family::kPostings, ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++*count;
      *bytes += it->key().size() + it->value().size();
    }
    if (!it->status().ok()) return it->status();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MatchTextIndexSetting(Store& store, bool* deferred) {
  KvEngine* kv = store.engine();
  const std::string configured = TextIndexValue(store.text_index());
  std::string built_with;
  absl::Status s = kv->Get(Family::kMeta, kTextIndexKey, &built_with);
  if (absl::IsNotFound(s)) {
    // Reads need no record; a write made with this setting goes with it.
    KvBatch record;
    record.Put(Family::kMeta, std::string(kTextIndexKey), configured);
    bool later = false;
    s = WriteOrDefer(store, std::move(record), &later);
    if (deferred != nullptr) *deferred = later;
    return s;
  }
  if (!s.ok()) return s;
  if (built_with == configured) return absl::OkStatus();
  const std::string table = SharedTable(store);
  return absl::FailedPreconditionError(absl::StrCat(
      TextIndexMismatch(built_with == "1", store.text_index()),
      "; serving would leave the text index wrong for every article written "
      "meanwhile. ",
      table.empty() ? "Run `contentd --check --repair`"
                    : absl::StrCat("Stop every replica and run ",
                                   SharedRepairCommand(table)),
      " with this configuration to rebuild the postings",
      table.empty() ? "" : absl::StrCat(" in table ", table),
      " for it, or set text_index: ", built_with == "1" ? "true" : "false",
      " again"));
}

absl::Status MoveTextPostings(Store& store,
                              const MoveTextPostingsOptions& options,
                              int64_t* moved) {
  KvEngine* kv = store.engine();
  *moved = 0;
  const char live = static_cast<char>(IndexKind::kText);
  for (const ListState state : {ListState::kUnpublished, ListState::kDeleted}) {
    // Every list of the kind byte: [byte, byte + 1).
    const std::string first = PostingPrefix(IndexKind::kText, state, "");
    KvReadOptions ro;
    ro.lower_bound = first.substr(0, 1);
    ro.upper_bound = PrefixSuccessor(ro.lower_bound);
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<KvIterator> it = kv->NewIterator(Family::kPostings, ro);
      KvBatch batch;
      int64_t in_batch = 0;
      auto flush = [&]() -> absl::Status {
        // Synced: the moves are few (only articles not live keep text
        // postings elsewhere) and each batch stands on its own.
        absl::Status s = kv->Write(std::move(batch), /*sync=*/true);
        batch = KvBatch();
        if (s.ok()) *moved += in_batch;
        in_batch = 0;
        return s;
      };
      absl::Status s;
      for (it->SeekToFirst(); it->Valid() && s.ok(); it->Next()) {
        const absl::string_view key = it->key();
        std::string to(key);
        to[0] = live;
        // A replica on the same shared engine may be moving them too: each
        // batch expects what it moves, and a lost race starts over.
        if (kv->shared()) batch.Expect(Family::kPostings, key, it->value());
        batch.Delete(Family::kPostings, key);
        batch.Put(Family::kPostings, to, it->value());
        if (++in_batch >= options.postings_per_write) s = flush();
      }
      if (s.ok()) s = it->status();
      if (s.ok() && in_batch > 0) s = flush();
      if (s.ok()) break;
      if (!absl::IsAborted(s) || attempt >= 100) return s;
    }
  }
  return absl::OkStatus();
}

namespace {

// Into `*batch`, a range deletion of the counters of each text list state
// that has any left (DropTextCounters).
absl::Status TextCountersDeletion(Store& store, KvBatch* batch) {
  KvEngine* kv = store.engine();
  for (const ListState state :
       {ListState::kLive, ListState::kUnpublished, ListState::kDeleted}) {
    // The counters of every text list of one state: [n/byte, n/byte + 1).
    const std::string first =
        CountKey(PostingPrefix(IndexKind::kText, state, ""))
            .substr(0, kCountPrefix.size() + 1);
    KvReadOptions ro;
    ro.lower_bound = first;
    ro.upper_bound = PrefixSuccessor(first);
    std::unique_ptr<KvIterator> it = kv->NewIterator(Family::kMeta, ro);
    it->SeekToFirst();
    if (!it->status().ok()) return it->status();
    if (!it->Valid()) continue;
    batch->DeleteRange(Family::kMeta, ro.lower_bound, ro.upper_bound);
  }
  return absl::OkStatus();
}

// Layout 3 to 4: the expiry list (IndexKind::kExpiry) from the heads. What
// the list held is dropped first (an older build may have left entries of
// heads it rewrote since), then every live head with an expiry time gets
// the entry a write of it would make (Store::IndexEntries), in unsynced
// batches and a synced last one. Idempotent. A store with nothing to drop
// or add is not written to (a full volume need not stop it). Sets
// `*entries`.
absl::Status BuildExpiryList(Store& store, int64_t* entries) {
  KvEngine* kv = store.engine();
  *entries = 0;
  const std::string prefix =
      PostingPrefix(IndexKind::kExpiry, ListState::kLive, "");
  KvBatch batch;
  int64_t in_batch = 0;
  {
    KvReadOptions ro;
    ro.lower_bound = prefix;
    ro.upper_bound = PrefixSuccessor(prefix);
    std::unique_ptr<KvIterator> old = kv->NewIterator(Family::kPostings, ro);
    old->SeekToFirst();
    if (!old->status().ok()) return old->status();
    if (old->Valid()) {
      batch.DeleteRange(Family::kPostings, ro.lower_bound, ro.upper_bound);
      ++in_batch;
    }
  }
  std::unique_ptr<KvIterator> it =
      kv->NewIterator(Family::kHeads, KvReadOptions{});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->value().size() != 8) continue;
    const std::string id(it->key());
    const int64_t revision = static_cast<int64_t>(ReadBigEndian64(it->value()));
    std::string value;
    absl::Status s =
        kv->Get(Family::kRevisions, RevisionKey(id, revision), &value);
    if (absl::IsNotFound(s)) continue;  // unrepairable; the check reports it
    if (!s.ok()) return s;
    v1::Article a;
    if (!ParseArticleSkeleton(value, &a)) continue;  // so does this
    if (!a.has_expiry_time() || ListStateOf(a) != ListState::kLive) continue;
    batch.Put(Family::kPostings,
              PostingKey(prefix, DateKey(a.expiry_time()), id),
              BigEndian(revision));
    ++*entries;
    if (++in_batch >= 10000) {
      if (s = kv->Write(std::move(batch), /*sync=*/false); !s.ok()) return s;
      batch = KvBatch();
      in_batch = 0;
    }
  }
  if (!it->status().ok()) return it->status();
  it.reset();
  if (in_batch == 0 && *entries == 0) return absl::OkStatus();
  return kv->Write(std::move(batch), /*sync=*/true);
}

}  // namespace

absl::Status DropTextCounters(Store& store, bool* dropped) {
  *dropped = false;
  KvBatch batch;
  absl::Status s = TextCountersDeletion(store, &batch);
  if (!s.ok() || batch.empty()) return s;
  *dropped = true;
  return store.engine()->Write(std::move(batch), /*sync=*/true);
}

absl::StatusOr<FormatUpgrade> UpgradeStoreFormat(Store& store) {
  KvEngine* kv = store.engine();
  FormatUpgrade up;
  std::string value;
  absl::Status s = kv->Get(Family::kMeta, kFormatKey, &value);
  if (s.ok()) {
    // Store::Open refused corrupt and newer markers.
    if (!absl::SimpleAtoi(value, &up.from))
      return absl::DataLossError("store format marker is corrupt");
    up.to = up.from;
    if (KeepsLayoutGuard(up.from, kv->shared())) {
      s = kv->Get(Family::kMeta, kIndexRepairKey, &value);
      if (!s.ok() && !absl::IsNotFound(s)) return s;
      up.guard_missing = absl::IsNotFound(s);
    }
    if (up.from >= StoreFormatFor(kv->shared()) && !up.guard_missing) return up;
  } else if (!absl::IsNotFound(s)) {
    return s;
  }
  // Without the guard a build from before the marker may have served the
  // store, or rebuilt its indexes in its layout (keys.h): every step again.
  if (up.from < 2 || up.guard_missing) {
    // Layout 1 to 2. Each step is idempotent, so an interrupted upgrade (no
    // marker yet) runs them again.
    s = MoveTextPostings(store, MoveTextPostingsOptions{},
                         &up.moved_text_postings);
    if (NoRoom(s)) {
      // Until they move, text queries leave out the deleted and
      // unpublished articles they belong to: no start, rather than wrong
      // answers served read-only.
      int64_t count = 0;
      uint64_t bytes = 0;
      if (!TextPostingsToMove(store, &count, &bytes).ok()) return s;
      const uint64_t room = 2 * bytes + (uint64_t{2} << 20);
      return WithReason(
          absl::ResourceExhaustedError(absl::StrCat(
              "the store has an earlier build's layout, and ", count,
              " text postings (", bytes,
              " bytes) of deleted or unpublished articles must move to where "
              "queries look for them before it can serve (text queries would "
              "leave those articles out): that takes writes, and the volume "
              "is full. Free about ",
              room,
              " bytes for the move (twice its size, plus 2 MiB) besides what "
              "the store needs to take writes, then start contentd again (",
              s.message(), ")")),
          reason::kDiskFull);
    }
    if (!s.ok()) return s;
    // The counters are not read (text lists' sizes are estimated), so
    // their deletion may wait for room.
    KvBatch drop;
    s = TextCountersDeletion(store, &drop);
    if (!s.ok()) return s;
    up.dropped_text_counters = !drop.empty();
    if (!drop.empty())
      s = WriteOrDefer(store, std::move(drop), &up.counters_deferred);
    if (!s.ok()) return s;
  }
  // Layout 2 to 3 changes no key: a layout 2 posting names its head, which
  // layout 3 allows. 3 to 4 (local stores) builds the expiry list; without
  // room for it queries walk every article as before, and the next start
  // tries again. The marker keeps older builds away from the store.
  int to = StoreFormatFor(kv->shared());
  if (!kv->shared()) {
    s = BuildExpiryList(store, &up.expiry_entries);
    if (NoRoom(s)) {
      to = 3;
      up.expiry_list_deferred = true;
    } else if (!s.ok()) {
      return s;
    } else {
      store.NoteExpiryList();
    }
  }
  if (to <= up.from && !up.guard_missing) return up;
  KvBatch record;
  PutFormatMarker(to, kv->shared(), /*clear_repair=*/false, &record);
  s = WriteOrDefer(store, std::move(record), &up.deferred);
  if (!s.ok()) return s;
  up.to = to;
  return up;
}

}  // namespace content::store
