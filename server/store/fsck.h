// Consistency checker for a store: do the indexes, the revision histories and
// the change log agree with the heads? The crash and disk-fault suites run it
// after every kill; operators run it as `contentd --check`.
#ifndef CONTENT_SERVER_STORE_FSCK_H_
#define CONTENT_SERVER_STORE_FSCK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/store.h"

namespace content::store {

// What CheckStore found.
struct FsckReport {
  int64_t articles = 0;        // heads
  int64_t revisions = 0;       // revision records
  int64_t postings = 0;        // posting entries
  int64_t counters = 0;        // posting-list counters
  int64_t changes = 0;         // retained change-log events
  int64_t first_sequence = 0;  // oldest retained event (0 if none)
  int64_t last_sequence = 0;   // the meta `last_sequence` record
  // One line per inconsistency, e.g. "posting t ai 0x.. x: head is
  // revision 3, entry says 2". At most kMaxProblems are kept.
  std::vector<std::string> problems;
  // Problems found, including those not kept.
  int64_t problem_count = 0;
  // Problems a repair (rebuilding postings and counters) would fix; the
  // rest (missing revisions, change-log holes) it cannot.
  int64_t index_problems = 0;

  bool clean() const { return problem_count == 0; }
  // A multi-line human summary.
  std::string ToString() const;
};

inline constexpr int kMaxFsckProblems = 100;

// Where a check is (CheckOptions::progress).
struct CheckProgress {
  const char* step = "";  // "heads", "revisions", "postings", ...
  int step_number = 0;    // from 1
  int step_count = 0;
  int64_t done = 0;           // `unit`s gone through in this step
  int64_t total = 0;          // about how many it will; 0: not counted
  const char* unit = "keys";  // or "articles"
};

// Checks one consistent snapshot of `store`:
//  - every posting entry points at an existing head whose date, revision and
//    deleted bit match the entry;
//  - every head has every posting entry it should (Store::IndexEntries);
//  - every posting-list counter equals the entries in its list;
//  - every head's revisions form an unbroken run ending at the head (from 1,
//    or later where retention removed the oldest), parse, name the article,
//    carry their own number and a content hash matching their content, and no
//    revision lies beyond the head;
//  - the change log is contiguous, every event's sequence equals its key,
//    its last sequence equals the `last_sequence` record (and the store's),
//    and every event names a revision at or below its article's head (an
//    article purged by retention has no head and is not checked).
// Safe on a serving store (reads a snapshot); an error status only for I/O
// trouble or a cancellation (CheckOptions), never for what it finds.
struct CheckOptions {
  // Asked every few thousand keys; once it says true the check stops with
  // CANCELLED. The online check passes its call's: a check takes minutes
  // on a big store (7 at 1M articles), and ran on after its caller left
  // and held a stopping contentd past its grace until it was done. Unset:
  // never cancelled.
  std::function<bool()> cancelled;
  // Told at the start of each step and every few thousand keys after (on
  // the checking thread); what ListOperations reports. Unset: not told.
  std::function<void(const CheckProgress&)> progress;
};
absl::StatusOr<FsckReport> CheckStore(Store& store,
                                      const CheckOptions& options = {});

// Where a repair is (RepairOptions::progress): step 1 "dropping indexes"
// (one write), 2 "postings" (the heads read, their postings written), 3
// "counters" (the last write).
struct RepairProgress {
  const char* step = "";
  int step_number = 0;  // from 1
  int step_count = 0;
  int64_t heads_read = 0;   // in step 2, and as many after it
  int64_t heads_total = 0;  // about how many (0: not counted); may be passed
  // Posting entries written so far (each write's once it returned): in
  // step 3, all of them.
  int64_t postings_written = 0;
};

struct RepairOptions {
  // Postings per write while rebuilding. Default: 100,000 (a few MiB; one
  // batch for a 1M store with the text index held ~10 GB).
  int64_t postings_per_write = 100000;
  // Told at the start of each step, and in step 2 after each write and
  // every 4096 heads read (on the repairing thread): the rebuild takes
  // minutes at 1M articles. Unset: not told.
  std::function<void(const RepairProgress&)> progress;
  // For the check that follows the repair (its progress; a cancellation
  // stops only the check).
  CheckOptions check;
};

// Rebuilds every posting entry and counter from the heads. The first write
// drops them all and sets the kIndexRepairKey marker; the rebuilt entries
// follow in batches; the last write adds the counters and clears the marker
// (synced, so every batch before it is durable too). Interrupted, the store
// keeps the marker: IndexRepairPending says so, contentd refuses to serve,
// and CheckStore reports it until a repair completes. REQUIRES: no
// concurrent writers (run offline). Returns the report of a fresh check
// (RepairOptions::check).
absl::StatusOr<FsckReport> RepairIndexes(Store& store,
                                         const RepairOptions& options = {});

// OK, or FAILED_PRECONDITION (INDEX_REPAIR_PENDING) if an index repair
// started and did not finish.
absl::Status IndexRepairPending(Store& store);

// A shared store's replica, once a second: whether the engine answers
// (KvEngine::Ping) and, unless it does not answer at all, whether the
// indexes are marked incomplete (IndexRepairPending, noted with
// Store::NoteIndexesUsable: queries are refused while they are), the mark
// read in the ping's own round trip where the engine can (PingReading).
// OK, or the ping's error, else FAILED_PRECONDITION (INDEX_REPAIR_PENDING)
// while the mark is there, for readiness.
absl::Status PingAndNoteIndexes(Store& store, absl::Duration timeout);

// OK if the store's postings were built with its text_index setting. A store
// with no record (new, or written before the record existed) takes the
// current setting, recorded here with a synced write; on a local store whose
// volume is full, with the first write once there is room
// (Store::WriteWithFirstCommit), and `*deferred` (if given) is set.
// Otherwise FAILED_PRECONDITION naming both settings, with no ErrorInfo
// (a serving store's engine says REPAIR_RUNNING with that code): `contentd
// --check
// --repair` with the new setting rebuilds the postings for it (and records
// it).
absl::Status MatchTextIndexSetting(Store& store, bool* deferred = nullptr);

struct MoveTextPostingsOptions {
  // Postings moved per (synced) write. Default: 10,000.
  int64_t postings_per_write = 10000;
};

// Stores written before text lists held every state (keys.h) keep the text
// postings of deleted, DRAFT and ARCHIVED articles under the deleted and
// unpublished kinds; queries no longer read those. This moves them into the
// live kind's lists (text lists keep no counters: HasCounter), in batches
// that each stand alone: interrupted, the next call goes on. contentd runs
// it at every start (nothing to move costs two seeks). Safe beside replicas
// serving the same shared engine (a batch expects what it moves and starts
// over if another moved it first). Sets `*moved` to the postings moved.
absl::Status MoveTextPostings(Store& store,
                              const MoveTextPostingsOptions& options,
                              int64_t* moved);

// Earlier builds kept a counter for each text list; this one estimates their
// sizes instead (HasCounter). Deletes those counters with one range
// deletion per list state, if any is left; fsck ignores them meanwhile.
// contentd runs it at every start. Sets `*dropped` if it deleted any.
absl::Status DropTextCounters(Store& store, bool* dropped);

// What UpgradeStoreFormat found and did.
struct FormatUpgrade {
  int from = 0;  // the layout found; 0 if the store had no marker
  int to = 0;    // the layout recorded: StoreFormatFor (keys.h)
  // A local store of layout 3 or later without kLayoutGuard (keys.h): a
  // build from before the marker may have served it or rebuilt its
  // indexes, so every step ran again and the guard was written.
  bool guard_missing = false;
  int64_t moved_text_postings = 0;
  bool dropped_text_counters = false;
  // Layout 4's expiry list (keys.h) was built, with this many entries.
  int64_t expiry_entries = 0;
  // The volume had no room to build it: the layout stays 3, and queries of
  // EXPIRED articles alone walk every article until a start that has room.
  bool expiry_list_deferred = false;
  // The volume is full: the marker (`deferred`) and the counters' deletion
  // (`counters_deferred`) go with the first write once there is room
  // (Store::WriteWithFirstCommit).
  bool deferred = false;
  bool counters_deferred = false;
};

// Brings a store of an earlier layout to StoreFormatFor(shared) (keys.h):
// from layout 1 moves its text postings (MoveTextPostings) and drops its
// text counters (DropTextCounters); layout 2 to 3 changes no key; 3 to 4
// (local stores) builds the expiry list from the heads. Then
// records the layout with a synced write, so older builds' stores are
// recognised and newer builds' refused (Store::Open). A store already
// there costs one read. contentd runs it at every
// start, before serving; safe beside replicas on a shared engine.
//
// On a local store whose volume is full (writes refused RESOURCE_EXHAUSTED,
// DISK_FULL) the deletion of the counters and the marker wait for the first
// write (FormatUpgrade): reads are right without them. Text
// postings to move are not left: queries would miss their articles until
// they move, so that is RESOURCE_EXHAUSTED (DISK_FULL) saying how much room
// the move needs.
absl::StatusOr<FormatUpgrade> UpgradeStoreFormat(Store& store);

}  // namespace content::store

#endif  // CONTENT_SERVER_STORE_FSCK_H_
