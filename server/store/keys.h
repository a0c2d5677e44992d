// Key layouts of the store's families. Everything ordered is big endian so
// that bytewise order is numeric order.
#ifndef CONTENT_SERVER_STORE_KEYS_H_
#define CONTENT_SERVER_STORE_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"

namespace content::store {

// Posting lists. A posting key is `kind term \0 date_key id`: within one
// (kind, term) entries sort newest first, ties by id ascending. Postings of
// deleted articles live under `kind | kDeletedBit`, and those of DRAFT and
// ARCHIVED articles under the upper-case kind, so live queries never see
// them and include-deleted or all-states queries merge the lists. Text
// lists are the exception: they hold articles of every state under the
// live kind, because an article has hundreds of them and a delete, undelete
// or publish moved them all (about five times an update's cost). Their
// readers check the state on the article, which they read anyway. Stores
// written before keep text
// postings of other states in the other copies until MoveTextPostings
// (fsck.h) moves them, at the server's start.
enum class IndexKind : uint8_t {
  kAll = 'a',  // every article, empty term
  kTag = 't',
  kCategory = 'c',
  kLang = 'l',
  // Text terms (server/text/tokenizer.h): case-folded words, CJK bigrams
  // and single CJK characters of the title, summary and body.
  kText = 'x',
  // Translation groups (Article.translation_key or the id's stem).
  kGroup = 'g',
  // Schedules, keyed by time instead of date, empty term: a live article's
  // future `publish_time` ('p') and `expiry_time` ('e') as of its write.
  // Entries stay once their time passes. Queries of SCHEDULED articles
  // alone take their candidates from 'p' (query/engine.cc): every article
  // scheduled at an instant needs an entry at or after it.
  kPublishAt = 'p',
  kExpireAt = 'e',
  // Expiry times, past or future, keyed by time, empty term: every live
  // (PUBLISHED, undeleted) article with an `expiry_time` has one entry at
  // it, whenever it was written. Queries of EXPIRED articles alone take
  // their candidates from it (query/engine.cc); the scheduler does not read
  // it ('e' holds what it fires). Local stores only, from layout 4
  // (kStoreFormat): Store::expiry_list() says whether it is complete. No
  // counter (HasCounter).
  kExpiry = 'y',
};
inline constexpr uint8_t kDeletedBit = 0x80;
// Cleared in the kind of an unpublished (DRAFT or ARCHIVED) article's lists:
// 't' becomes 'T'.
inline constexpr uint8_t kUnpublishedBit = 0x20;

// Which copy of a kind's lists an article is in.
enum class ListState { kLive, kUnpublished, kDeleted };

void AppendBigEndian64(std::string* out, uint64_t v);
// REQUIRES: s.size() >= 8.
uint64_t ReadBigEndian64(absl::string_view s);

// Date as an unsigned key that sorts newest first: ~(micros + 2^63).
uint64_t DateKey(const google::protobuf::Timestamp& date);
uint64_t DateKeyFromMicros(int64_t micros);

// `kind term \0`, the prefix of one posting list.
std::string PostingPrefix(IndexKind kind, bool deleted, absl::string_view term);
std::string PostingPrefix(IndexKind kind, ListState state,
                          absl::string_view term);
// The kind of a list prefix's first byte, and its state.
IndexKind KindOf(unsigned char first_byte);
ListState StateOf(unsigned char first_byte);
// `prefix date_key id`.
std::string PostingKey(absl::string_view prefix, uint64_t date_key,
                       absl::string_view id);
// Splits a posting key after `prefix_size` bytes. False if malformed.
bool ParsePostingKey(absl::string_view key, size_t prefix_size,
                     uint64_t* date_key, absl::string_view* id);

// A posting's value is the revision that wrote it (8 bytes): an update
// leaves the entries it keeps as they are (unless the date moves them, or
// the tag fingerprints below change), so it may be older than the head, and
// readers read the head. Layout 2 rewrote every kept entry but text ones,
// and older builds take a non-text posting's revision for the head's; see
// kStoreFormat. Tag postings (of
// every state) follow it with a 4-byte fingerprint of each of the article's
// tags, so a multi-tag AND checks the other tags on the rarest list's
// entries instead of seeking their lists; matches are then confirmed on the
// article (fingerprints may collide). Tag postings written before carry the
// revision alone.
inline constexpr size_t kTagFingerprintBytes = 4;
// Stable across processes and versions: it is stored. FNV-1a, folded.
uint32_t TagFingerprint(absl::string_view tag);
// The fingerprints of `tags`, sorted, repeats dropped, big endian.
std::string TagFingerprints(
    const google::protobuf::RepeatedPtrField<std::string>& tags);
// Whether `fingerprints` (what follows a tag posting's revision) holds `fp`.
bool HasTagFingerprint(absl::string_view fingerprints, uint32_t fp);

// `id \0 revision`.
std::string RevisionKey(absl::string_view id, int64_t revision);
// Meta key of the counter for one posting list.
std::string CountKey(absl::string_view posting_prefix);
// Whether the store keeps a counter for the list. Translation groups do
// not: each holds a handful of articles, so the planner never needs their
// size, and nearly every create starts a group of its own (a counter merge
// that was a third of an import's counter writes). Nor do text lists: an
// article is in ~400 of them, and their counter merges were about a third
// of a create's server CPU; only the planner reads their sizes, and it
// takes an estimate (ReadView::Count). Nor does the expiry list: its
// reader counts the entries before the query's instant, not all of them.
bool HasCounter(absl::string_view posting_prefix);

// Smallest key greater than every key starting with `prefix` ("" if none).
std::string PrefixSuccessor(absl::string_view prefix);

inline constexpr absl::string_view kLastSequenceKey = "last_sequence";
inline constexpr absl::string_view kTokenKeyKey = "token_key";
// The last schedule entry the scheduler handled (Store::FireSchedule).
inline constexpr absl::string_view kScheduleCursorKey = "schedule_cursor";
// Present while RepairIndexes rebuilds the indexes (in several writes):
// a store that has it has incomplete indexes and does not serve.
inline constexpr absl::string_view kIndexRepairKey = "index_repair";
// On a local store of layout 3 or later, kIndexRepairKey holds this value
// for good, written with the layout marker (UpgradeStoreFormat,
// RepairIndexes; builds of layouts 3 and 4 wrote none, and refuse it as a
// repair: layout 5). Builds from before the marker (2026-12-02) do not read
// the marker and would misread the layout (a posting an update kept names
// an older revision, which they return as the head); they refuse a store
// whose index repair is marked unfinished, and their `--check --repair`
// rebuilds their own layout and clears it. This build does not take it for
// a repair, and upgrades a local store without it again (its indexes may
// be in an earlier build's layout).
inline constexpr absl::string_view kLayoutGuard =
    "layout guard: a build from before layout markers would misread this "
    "store";
// "1" or "0": the text_index setting the postings were built with. A server
// with the other setting would leave them wrong for every write it takes.
inline constexpr absl::string_view kTextIndexKey = "text_index";
// Ranges of change-log sequences this store never gave out: pairs of
// big-endian (after, through), ascending. Store::SkipSequencesAfterRestore
// adds one when a restored backup first serves: the store the backup came
// from may have given out sequences after it, so its numbering goes on
// past them (after the backup's last sequence, through that plus
// kRestoreSequenceGap).
inline constexpr absl::string_view kSequenceGapsKey = "sequence_gaps";
// How far a restored backup's sequence jumps: more than a source store
// commits between a backup and its restore (at 10,000 events a second,
// three years).
inline constexpr int64_t kRestoreSequenceGap = int64_t{1000000000000};
// The file admin backup leaves in the copy (a line naming the copy's last
// sequence): the first contentd to serve the copy jumps the sequence
// (above) and removes it.
inline constexpr absl::string_view kBackupMarkerFile = "contentd.backup";
// The store's layout version in decimal (kStoreFormat). Absent: a store of a
// build before the marker, or one no server has started on yet. A build
// refuses a store with a newer layout than its own (Store::Open): it would
// misread it.
inline constexpr absl::string_view kFormatKey = "format";
// The layout this build writes on a local engine. 5: kIndexRepairKey holds
// kLayoutGuard, which keeps builds from before the marker away; a store of
// layout 3 or later without it is upgraded again (2026-12-08). 4: the
// expiry list
// (IndexKind::kExpiry) is complete; UpgradeStoreFormat builds it from the
// heads (2026-12-06), and the marker keeps builds that would not keep it
// away. 3: only text postings
// and postings an update keeps may name an older revision than the head
// (2026-12-02). 2: text lists hold every state and keep no counters, and
// postings other than text ones name the head revision (2026-12-02). 1: the
// layout before (no marker was written).
inline constexpr int kStoreFormat = 5;
// On a shared engine (KvEngine::shared) this build writes layout 2: in a
// rolling update replicas of older builds serve beside it, and they read a
// non-text posting's revision as the head's (and would not keep the expiry
// list, so it keeps none there).
inline constexpr int kSharedStoreFormat = 2;
inline constexpr int StoreFormatFor(bool shared) {
  return shared ? kSharedStoreFormat : kStoreFormat;
}

}  // namespace content::store

#endif  // CONTENT_SERVER_STORE_KEYS_H_
