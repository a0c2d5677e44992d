// The versioned article store: immutable revisions, heads, posting-list
// indexes and the change log, every write one atomic batch.
#ifndef CONTENT_SERVER_STORE_STORE_H_
#define CONTENT_SERVER_STORE_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content/v1/article.pb.h"
#include "server/store/keys.h"
#include "server/store/kv.h"

namespace content::store {

// Options for Store::Open.
struct StoreOptions {
  // Data directory; created if missing. Default: "./data".
  std::string data_dir = "./data";
  // Sync the write-ahead log before acknowledging a write, so an acknowledged
  // write survives power loss and kill -9. Default: true.
  bool sync = true;
  // Block cache shared by all families. Default: 128 MiB.
  size_t block_cache_bytes = size_t{128} << 20;
  // Index title, summary and body for full-text queries. A CJK body adds
  // hundreds of postings per write, so bulk loads that need no text search
  // may turn it off; turning it on later needs `contentd --check --repair`
  // to index what is already stored. Default: true.
  bool text_index = true;
  // Source of create/update/delete times. Default: absl::Now.
  std::function<absl::Time()> clock;
  // Storage engine: "rocksdb" (embedded, in data_dir) or "postgres" (a
  // table that several contentd replicas share; server/store/pg_kv.h).
  // Default: "rocksdb".
  std::string engine = "rocksdb";
  // postgres: libpq connection string (required), table, connections per
  // process, the store-wide write lock and how long a write waits for it
  // (see PgKvOptions).
  std::string pg_dsn;
  std::string pg_table = "contentd_kv";
  // postgres: create the table if missing (PgKvOptions::create_table);
  // `contentd --check` turns it off. Default: true.
  bool pg_create_table = true;
  int pg_pool_size = 16;
  bool pg_write_lock = true;
  absl::Duration pg_lock_timeout = absl::Seconds(10);
  // postgres: what the sessions call themselves (PgKvOptions::session_name).
  // Default: "contentd".
  std::string pg_session_name = "contentd";
  // postgres: how the database's errors name the setting the DSN came from
  // (PgKvOptions::dsn_name). Default: "storage.dsn".
  std::string pg_dsn_name = "storage.dsn";
  // Shared engines: how often a replica reads the stored last sequence
  // while no notification says another replica wrote (KvEngine::
  // WaitForWrites), in case one was lost. Engines without notifications
  // are read every 200 ms whatever this says. Default: 10 s.
  absl::Duration follow_recheck = absl::Seconds(10);
  // Open for reading only, for checking a store without changing it
  // (`contentd --check`): Open writes nothing and starts no background
  // thread, and every write of the store (Create, Update, Apply,
  // ApplyRetention, TrimChanges, FireSchedule, ...) is FAILED_PRECONDITION.
  // A store that never stored a token key gets one for this open only. The
  // RocksDB engine opens read-only too (RocksKvOptions::read_only), so
  // writes through engine() fail the same way; the postgres engine opens as
  // usual (creating its table if missing, unless pg_create_table is off)
  // and only the store's own writes are refused. Default: false.
  bool read_only = false;
  // rocksdb: called once when the engine stops taking writes for good (an
  // I/O error RocksDB cannot recover from while running; see
  // RocksKvOptions::on_writes_stopped), with the UNAVAILABLE every write
  // answers from then on; or, after the store opened read-only for a full
  // volume, if opening it for writing fails once there is room. Default: none.
  std::function<void(const absl::Status&)> on_writes_stopped;
  // rocksdb: called at open when the volume had no room for a read-write
  // open and the store opened for reads only
  // (RocksKvOptions::read_only_when_full), with the RESOURCE_EXHAUSTED
  // every write answers. Default: none.
  std::function<void(const absl::Status&)> on_opened_read_only;
};

// Conditions on the head for a write (AIP-154). Empty fields are not checked.
struct WriteConditions {
  int64_t expected_revision = 0;
  std::string etag;
};

// What Store::ApplyRetention removes. A revision goes when it is not the
// head, is beyond the newest `keep_revisions` (if set) and older than
// `keep_age` (if set); with neither set, no revision goes.
struct RetentionPolicy {
  // Newest revisions kept per article; 0: no count rule. Default: 0.
  int64_t keep_revisions = 0;
  // Revisions younger than this are kept; zero: no age rule. Default: zero.
  absl::Duration keep_age = absl::ZeroDuration();
  // Articles deleted longer ago than this are purged with their history;
  // zero: never. Default: zero.
  absl::Duration purge_deleted_after = absl::ZeroDuration();
};

// What Store::ApplyRetention did.
struct RetentionResult {
  // Every revision removed, those of purged articles included.
  int64_t revisions_removed = 0;
  int64_t articles_purged = 0;
  // Of revisions_removed, those removed with the purged articles.
  int64_t revisions_purged = 0;
  // The earliest time, by the store's clock (Store::Now), at which an age
  // rule (keep_age, purge_deleted_after) would remove something this pass
  // kept; InfiniteFuture if nothing kept waits on the clock. Until then,
  // and without a commit, a pass would remove nothing.
  absl::Time next_due = absl::InfiniteFuture();
};

// What Store::Apply did with one article.
struct ApplyResult {
  enum class Outcome { kCreated, kUpdated, kUnchanged, kFailed };
  Outcome outcome = Outcome::kFailed;
  // Head revision afterwards (0 if failed).
  int64_t revision = 0;
  // Why it failed.
  absl::Status status;
};

// Whether readers may see `article` at `now`: not deleted, state PUBLISHED
// (or unspecified), `publish_time` unset or <= now, `expiry_time` unset or
// > now.
bool IsLive(const v1::Article& article, absl::Time now);
// As IsLive, ignoring deletion (for tombstones in include-deleted reads),
// except that a tombstone's publish time must have come by its deletion.
bool IsLiveContent(const v1::Article& article, absl::Time now);
// Whether readers may read `revision` as an old revision of an article they
// may see: its own state is PUBLISHED (or unspecified) and its publish time
// unset or come by `now` (by its deletion, for a tombstone). A draft or
// archived revision was never meant for readers, even once a later revision
// is published. Expiry is not checked: an expired revision was shown until
// it expired. IsLiveContent is this and an expiry not yet come.
bool IsPublishedRevision(const v1::Article& revision, absl::Time now);
// Where `now` falls in a PUBLISHED (or unspecified) article's publish
// window: SCHEDULED unless IsPublishedRevision, else EXPIRED once
// `expiry_time` has come, else LIVE (so LIVE is IsLiveContent). The three
// partition published articles, tombstones included. REQUIRES: the
// article's state is PUBLISHED or unspecified.
v1::Query::PublishWindow PublishWindowOf(const v1::Article& article,
                                         absl::Time now);
// The copy of the posting lists the article's entries are in (keys.h):
// deleted, else DRAFT or ARCHIVED, else live. Text lists are the exception
// and hold every state, so readers of those check this on the article.
ListState ListStateOf(const v1::Article& article);
// The article's translation group: `translation_key`, else the id without a
// final `.{x}` where x names one of its `lang` or `translations` values
// (ignoring case), else the id.
std::string TranslationGroup(const v1::Article& article);

// One posting-list entry of an article: the list and the entry's date key
// (the article's `date`, or the time for schedule lists).
struct IndexEntry {
  std::string prefix;
  uint64_t date_key = 0;
  bool operator<(const IndexEntry& o) const { return prefix < o.prefix; }
};

// A stored article as read: the bytes of its serialized v1::Article (what a
// reply carries) and the fields ParseArticleSkeleton reads from them.
struct StoredArticle {
  std::string bytes;
  v1::Article skeleton;
  // The whole article, decoded from `bytes`. DATA_LOSS if they do not parse.
  absl::StatusOr<v1::Article> Decode() const;
};

// A consistent snapshot of the store for multi-key reads (queries).
// Not thread-safe; cheap to create.
class ReadView {
 public:
  explicit ReadView(KvEngine* kv);
  // Iterator over the posting family within [lower, upper).
  std::unique_ptr<KvIterator> Postings(std::string lower,
                                       std::string upper) const;
  // One revision. NOT_FOUND if missing.
  absl::StatusOr<v1::Article> Revision(absl::string_view id,
                                       int64_t revision) const;
  // As Revision and Head, undecoded.
  absl::StatusOr<StoredArticle> StoredRevision(absl::string_view id,
                                               int64_t revision) const;
  absl::StatusOr<StoredArticle> StoredHead(absl::string_view id) const;
  // StoredRevision of each (id, revision), looked up together: element i
  // answers wanted[i].
  std::vector<absl::StatusOr<StoredArticle>> StoredRevisions(
      const std::vector<std::pair<absl::string_view, int64_t>>& wanted) const;
  // StoredHead of each id: the heads looked up together, then their
  // revisions together. Element i answers ids[i].
  std::vector<absl::StatusOr<StoredArticle>> StoredHeads(
      const std::vector<absl::string_view>& ids) const;
  // StoredHead of each wanted[i].first, given a revision it has that the
  // head may have passed (a posting's, keys.h). Each revision and the one
  // after it are looked up together: revisions are numbered without gaps,
  // so where the next is missing the revision is the head (a bloom filter
  // probe, mostly), and the others are read through their heads.
  std::vector<absl::StatusOr<StoredArticle>> StoredLatest(
      const std::vector<std::pair<absl::string_view, int64_t>>& wanted) const;
  // Number of entries in one posting list (see PostingPrefix), from its
  // counter. Text lists keep none (HasCounter): theirs is the engine's
  // estimate (KvEngine::EstimateKeys), of the latest state, not the view's.
  int64_t Count(absl::string_view posting_prefix) const;
  // Count, but an error reading the counter (a database gone away) is
  // returned instead of taken as 0: for figures shown to operators.
  absl::StatusOr<int64_t> CheckedCount(absl::string_view posting_prefix) const;
  // The head revision of `id` (a tombstone if deleted). NOT_FOUND if the
  // article does not exist.
  absl::StatusOr<v1::Article> Head(absl::string_view id) const;
  // Live posting lists of `kind` whose term starts with `term_prefix` and
  // sorts after `after`, with their entry counts, in term order; at most
  // `limit`, empty lists skipped. Reads the counters, not the lists.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> ListCounts(
      IndexKind kind, absl::string_view term_prefix, absl::string_view after,
      int limit) const;

 private:
  KvEngine* kv_;
  std::unique_ptr<KvSnapshot> snapshot_;
};

// Locks on article ids. A writer holds its article's id; an import batch
// holds all of its ids, taken together (never one by one), so batches that
// share no id run side by side and none can deadlock. Thread-safe.
class IdLocks {
 public:
  // Waits until no id of `ids` is held, then holds them all.
  void Lock(const std::vector<absl::string_view>& ids);
  // Holds `id` if no one does; false (and nothing held) otherwise.
  bool TryLock(absl::string_view id);
  void Unlock(const std::vector<absl::string_view>& ids);

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> held_ ABSL_GUARDED_BY(mu_);
};

// Holds ids of an IdLocks for a scope.
class IdLockGuard {
 public:
  IdLockGuard(IdLocks* locks, std::vector<absl::string_view> ids)
      : locks_(locks), ids_(std::move(ids)) {
    locks_->Lock(ids_);
  }
  ~IdLockGuard() { locks_->Unlock(ids_); }
  IdLockGuard(const IdLockGuard&) = delete;
  IdLockGuard& operator=(const IdLockGuard&) = delete;

 private:
  IdLocks* const locks_;
  const std::vector<absl::string_view> ids_;
};

// Thread-safe. Writers to one article serialize; writers to different
// articles commit together (group commit), each in one atomic batch.
class Store {
 public:
  // Opens the RocksDB store in options.data_dir.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);
  // Opens a store on any engine (tests inject faults this way).
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      std::unique_ptr<KvEngine> kv, const StoreOptions& options);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Writes revision 1 of `id`. The caller validated `content`; its name and
  // server-set fields are ignored. ALREADY_EXISTS if the id is taken.
  absl::StatusOr<v1::Article> Create(absl::string_view id, v1::Article content);
  // Head (revision 0) or one revision. NOT_FOUND if missing, or if the head
  // is a tombstone and !show_deleted.
  absl::StatusOr<v1::Article> Get(absl::string_view id, int64_t revision,
                                  bool show_deleted);
  // As Get, undecoded: for replies that return the stored bytes as they are.
  absl::StatusOr<StoredArticle> GetStored(absl::string_view id,
                                          int64_t revision, bool show_deleted);
  // Writes a new revision unless the content equals the head's.
  // NOT_FOUND if missing or deleted; FAILED_PRECONDITION on a condition.
  absl::StatusOr<v1::Article> Update(absl::string_view id, v1::Article content,
                                     const WriteConditions& conditions);
  // As Update, but returns once the write is queued for the group commit;
  // `done` runs when it has committed (or failed), on the thread that led
  // that commit (or on this one). The calling thread never waits for the
  // commit, so a few threads keep many writes in flight.
  void UpdateAsync(absl::string_view id, v1::Article content,
                   const WriteConditions& conditions,
                   std::function<void(absl::StatusOr<v1::Article>)> done);
  // As UpdateAsync, for a thread that must not block (gRPC's): an update
  // that would wait for another write of `id` in flight, or for a shared
  // engine, is handed to `elsewhere`, which runs it on a thread that may
  // block (or answers the caller itself if it cannot). `done` gets the
  // article's stored encoding (what GetStored reads), for a reply that
  // sends it as it is.
  void UpdateAsyncNoWait(absl::string_view id, v1::Article content,
                         const WriteConditions& conditions,
                         std::function<void(absl::StatusOr<std::string>)> done,
                         std::function<void(std::function<void()>)> elsewhere);
  // As Create, without waiting for the commit (as UpdateAsync).
  void CreateAsync(absl::string_view id, v1::Article content,
                   std::function<void(absl::StatusOr<v1::Article>)> done);
  // Writes a tombstone. NOT_FOUND if missing or already deleted.
  absl::StatusOr<v1::Article> Delete(absl::string_view id,
                                     const WriteConditions& conditions);
  // Writes a live revision equal to the tombstone's content, its tags and
  // categories in NFC (as Restore). NOT_FOUND if missing; FAILED_PRECONDITION
  // if not deleted.
  absl::StatusOr<v1::Article> Undelete(absl::string_view id,
                                       const WriteConditions& conditions);
  // Writes a new revision with the content of `revision` (undeleting a
  // deleted article), its tags and categories in NFC as the service writes
  // them (text/nfc.h; of two spellings of one term the first is kept). A
  // live head with that content already is returned unchanged. NOT_FOUND if the
  // article or revision is missing; INVALID_ARGUMENT if the revision is a
  // tombstone; FAILED_PRECONDITION on a condition.
  absl::StatusOr<v1::Article> Restore(absl::string_view id, int64_t revision,
                                      const WriteConditions& conditions);
  // As Delete, Undelete and Restore, without waiting for the commit (as
  // UpdateAsync); `done` gets what they would have returned.
  void DeleteAsync(absl::string_view id, const WriteConditions& conditions,
                   std::function<void(absl::StatusOr<v1::Article>)> done);
  void UndeleteAsync(absl::string_view id, const WriteConditions& conditions,
                     std::function<void(absl::StatusOr<v1::Article>)> done);
  void RestoreAsync(absl::string_view id, int64_t revision,
                    const WriteConditions& conditions,
                    std::function<void(absl::StatusOr<v1::Article>)> done);
  // Appends a TYPE_PUBLISHED or TYPE_UNPUBLISHED change event for every
  // scheduled publish or expiry time that has come since the last call (or
  // since a restart: the position is stored), for articles whose head was
  // written before that time. Returns when the next one is due
  // (absl::InfiniteFuture() if none). Call it from one thread at a time.
  absl::StatusOr<absl::Time> FireSchedule();
  // Creates or updates each (id, content) pair, skipping content equal to
  // the head, and commits all of it in one batch with one sync. A failure
  // (e.g. the article is deleted) fails that item alone. With `dry_run`
  // nothing is written. Results are in input order; a later item with the
  // same id sees the earlier one.
  absl::StatusOr<std::vector<ApplyResult>> Apply(
      std::vector<std::pair<std::string, v1::Article>> items, bool dry_run);
  // Revisions numbered <= `start` (0: from the head), newest first, at most
  // `limit`, and no more once those read hold `max_bytes` (at least one is
  // listed; `*bytes_cut` then says whether the byte bound ended the list).
  // NOT_FOUND if the article does not exist.
  absl::StatusOr<std::vector<v1::Article>> ListRevisions(
      absl::string_view id, int64_t start, int limit,
      size_t max_bytes = SIZE_MAX, bool* bytes_cut = nullptr);
  // Change-log events with sequence > `after`, at most `limit`, in order.
  absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChanges(int64_t after,
                                                           int limit);

  // Oldest retained change-log sequence (last_sequence() + 1 if empty).
  absl::StatusOr<int64_t> FirstSequence();
  // Sequences after+1..through that this store never gave out
  // (kSequenceGapsKey): the change log jumps over them.
  struct SequenceGap {
    int64_t after = 0;
    int64_t through = 0;
  };
  std::vector<SequenceGap> sequence_gaps() const;
  // `sequence`, or where the log goes on if it is inside a gap (through + 1).
  int64_t SkipSequenceGaps(int64_t sequence) const;
  // The gap a watcher's `after_sequence` falls into (after < it < through),
  // if any: it came from the store a restored backup was taken from, whose
  // later events this store does not have.
  std::optional<SequenceGap> GapHolding(int64_t after_sequence) const;
  // For the first start of a restored backup (kBackupMarkerFile, whose
  // last sequence is `backup_sequence`): the numbering goes on
  // kRestoreSequenceGap past the stored last sequence, and the skipped
  // range is recorded, in one synced write, so that no sequence the
  // backup's source may have given out after the backup is given out
  // again. Does nothing (and returns false) if a gap after
  // `backup_sequence` is recorded already. On a store that has no room for
  // the write (a full volume) the records go with the first commit
  // (WriteWithFirstCommit) and `*deferred` says so; the numbering jumps
  // at once either way. Call before serving. Local stores only.
  absl::StatusOr<bool> SkipSequencesAfterRestore(int64_t backup_sequence,
                                                 bool* deferred);
  // Drops change-log events beyond the newest `keep_events` (0: no count
  // limit) or older than `max_age` (zero: no age limit). `*next_due`, if
  // set, is when by the store's clock the age limit drops an event kept
  // now (InfiniteFuture if none waits on it): until then, and without a
  // commit, a trim would drop nothing.
  absl::Status TrimChanges(int64_t keep_events, absl::Duration max_age,
                           absl::Time* next_due = nullptr);
  // Called with the new last sequence after every commit, on the committing
  // thread with the commit lock held: it must be quick and must not call
  // back into the store.
  void SetCommitListener(std::function<void(int64_t)> listener);

  // Removes old revisions and long-deleted articles per `policy`, one
  // article at a time under its lock (never the head of a live article).
  // The change log is trimmed separately (TrimChanges). `cancelled`, if
  // set, is asked before each article (and every few thousand keys while
  // the articles to look at are listed): once it says true the pass stops
  // there with CANCELLED, saying what it removed. Each article's removal is
  // one atomic write, so a stopped pass leaves no article half-done; the
  // next pass does the rest.
  absl::StatusOr<RetentionResult> ApplyRetention(
      const RetentionPolicy& policy,
      const std::function<bool()>& cancelled = {});
  // Writes a consistent copy of the store into `dir` (must not exist);
  // `*last_sequence` is the last change-log sequence the copy holds (read
  // from the copy): every write acknowledged before the call is at or below
  // it and in the copy. `progress`, if set, is told the bytes copied
  // (KvEngine::Checkpoint).
  absl::Status Checkpoint(
      const std::string& dir, int64_t* last_sequence,
      const KvEngine::CheckpointProgress& progress = nullptr);
  // Writes kBackupMarkerFile into the copy in `dir` (removing the copy if
  // it cannot).
  static absl::Status WriteBackupMarker(const std::string& dir,
                                        int64_t last_sequence);
  // Whether this process holds the named lease (see KvEngine::TryLease):
  // background jobs that one replica at a time should run ask first.
  absl::StatusOr<bool> TryLease(absl::string_view name) {
    return kv_->TryLease(name);
  }
  // Whether queries may answer from the indexes: OK, or the
  // FAILED_PRECONDITION (reason INDEX_REPAIR_PENDING) last noted. A shared
  // store's replica notes, at each ping, whether an index repair left them
  // marked incomplete (IndexRepairPending), since another process (contentd
  // --check --repair) may mark them after this one started.
  absl::Status IndexesUsable() const {
    absl::MutexLock lock(&indexes_mu_);
    return indexes_unusable_;
  }
  void NoteIndexesUsable(absl::Status why) {
    absl::MutexLock lock(&indexes_mu_);
    indexes_unusable_ = std::move(why);
  }
  // Whether the expiry list (IndexKind::kExpiry, keys.h) holds an entry for
  // every live article with an expiry time, so queries may read it instead
  // of walking every article: a local store of layout 4 or a new one, or
  // one whose list UpgradeStoreFormat or RepairIndexes built since it
  // opened (NoteExpiryList). False on a shared engine.
  bool expiry_list() const { return expiry_list_.load(); }
  void NoteExpiryList() { expiry_list_ = !shared_; }
  // Storage-engine figures for operators.
  // KvEngine::WritesRefused: OK, or what every write answers until a
  // restart.
  absl::Status WritesRefused() { return kv_->WritesRefused(); }
  std::vector<std::pair<std::string, std::string>> StorageStats() {
    return kv_->Stats();
  }

  std::unique_ptr<ReadView> NewReadView() const;
  // Highest committed sequence number.
  int64_t last_sequence() const;
  // As last_sequence(), but read from the engine: commits not announced
  // yet (on a shared engine, other replicas' too) count.
  absl::StatusOr<int64_t> CurrentLastSequence();
  // Secret for sealing page tokens; stable across restarts. A store with
  // none stored that opened on a full volume (read-only) makes one, which
  // it stores once writes resume (with the first commit, or when the
  // engine reopens for writing); until then a restart makes another.
  const std::string& token_key() const { return token_key_; }

  // Hex SHA-256 of an article's content fields (everything a user writes).
  static std::string ContentHash(const v1::Article& article);
  // ContentHash of an article whose name and server fields are clear; the
  // hashed encoding goes to `encoding` if given.
  static std::string ContentHashOfCleared(const v1::Article& content,
                                          std::string* encoding = nullptr);

  // The store's clock (StoreOptions::clock).
  absl::Time Now() const;

  // --- For the consistency checker (server/store/fsck.h) only. ---
  // The posting-list entries of a head, sorted by prefix: what
  // PrepareRevision indexes, so fsck rebuilds exactly what a write would
  // have written.
  std::vector<IndexEntry> IndexEntries(const v1::Article& head) const;
  // Whether text terms are indexed (StoreOptions::text_index).
  bool text_index() const { return options_.text_index; }
  // Whether the store was opened read-only (StoreOptions::read_only).
  bool read_only() const { return options_.read_only; }
  // The options it was opened with.
  const StoreOptions& options() const { return options_; }
  // The engine underneath. Writes through it bypass sequencing and the
  // article locks: fsck repairs indexes with it and nothing else should.
  KvEngine* engine() const { return kv_.get(); }

  // Meta records that start-up work could not write because the volume is
  // full (a write refused RESOURCE_EXHAUSTED, reason DISK_FULL): the page
  // token key, the text_index setting, the layout marker. They are written
  // ahead of the first commit that succeeds, in its batch, or when the
  // engine takes writes again (KvEngine::SetWritesResumed), whichever comes
  // first; so no write of this open is stored without them. Reads do not
  // need them meanwhile. REQUIRES: a local store (not engine()->shared()).
  void WriteWithFirstCommit(KvBatch records);

 private:
  struct Writer;
  Store(std::unique_ptr<KvEngine> kv, const StoreOptions& options);
  absl::Status Init();
  // FAILED_PRECONDITION if the store was opened read-only, else OK.
  absl::Status CheckWritable() const;
  // Shared engines: follows other replicas' commits (last_sequence_ and the
  // commit listener) until the store closes.
  void FollowLoop();
  // The committed last sequence as stored.
  absl::StatusOr<int64_t> StoredLastSequence();
  // Raises last_sequence_ to `sequence` and tells the listener.
  void AdvanceSequence(int64_t sequence);
  // Shared engines: makes `batch` apply only if the head of `id` is still
  // `old_head` (null: missing).
  void ExpectHead(KvBatch* batch, absl::string_view id,
                  const v1::Article* old_head) const;
  // One attempt of the public write of the same name (RetryRaces repeats).
  absl::StatusOr<v1::Article> CreateOnce(absl::string_view id,
                                         v1::Article content);
  absl::StatusOr<v1::Article> UpdateOnce(absl::string_view id,
                                         v1::Article content,
                                         const WriteConditions& conditions);
  // What Delete, Undelete and Restore write over the head: given the id
  // and its head (read under the article's lock), sets the new revision's
  // content and event type, or `unchanged` when the head is the answer.
  using Rewrite = std::function<absl::Status(
      absl::string_view id, const v1::Article& head, v1::Article* content,
      v1::ChangeEvent::Type* type, bool* unchanged)>;
  Rewrite DeleteRewrite(const WriteConditions& conditions);
  Rewrite UndeleteRewrite(const WriteConditions& conditions);
  Rewrite RestoreRewrite(int64_t revision, const WriteConditions& conditions);
  // A rewrite of `id`, waiting for its commit; RewriteOnce is one attempt,
  // RewriteSync retries lost races (RetryRaces).
  absl::StatusOr<v1::Article> RewriteSync(absl::string_view id,
                                          const Rewrite& rewrite);
  absl::StatusOr<v1::Article> RewriteOnce(absl::string_view id,
                                          const Rewrite& rewrite);
  // A rewrite of `id` without waiting for its commit (shared engines: as
  // RewriteSync), then `done`.
  void RewriteAsync(absl::string_view id, const Rewrite& rewrite,
                    std::function<void(absl::StatusOr<v1::Article>)> done);
  absl::StatusOr<std::vector<ApplyResult>> ApplyOnce(
      std::vector<std::pair<std::string, v1::Article>> items, bool dry_run);
  // Runs `op` again while a shared engine reports a lost race (ABORTED).
  template <typename Result>
  Result RetryRaces(const std::function<Result()>& op);
  // Head revision number of `id`, 0 if none.
  absl::StatusOr<int64_t> HeadRevision(absl::string_view id);
  // The head revision, decoded; `bytes`, if given, gets its stored encoding.
  absl::StatusOr<v1::Article> ReadHead(absl::string_view id,
                                       std::string* bytes = nullptr);
  // The head revision's stored bytes. NOT_FOUND if there is no head.
  absl::Status ReadHeadBytes(absl::string_view id, std::string* value);
  // ApplyRetention's work on the listed `ids`; `*unsynced` is set once a
  // removal was written without a WAL sync (`defer_sync`).
  absl::StatusOr<RetentionResult> RetentionPass(
      const RetentionPolicy& policy, const std::vector<std::string>& ids,
      absl::Time now, bool trim, bool purge, bool defer_sync,
      const std::function<absl::Status(bool)>& stop, RetentionResult* out,
      bool* unsynced);
  // Counter changes by posting prefix, summed over a batch.
  using CountDeltas = absl::flat_hash_map<std::string, int64_t>;
  class BulkLoad;  // an import batch's creates' tables (KvEngine::Ingest)
  // Adds to `batch` the next revision of `id` after `old_head` (null if
  // none) with its index changes, and to `events` its change event; returns
  // the revision as it will be stored. `content_hash` and
  // `content_encoding`, if given, are ContentHashOfCleared of the article's
  // content and its encoding, computed already (both are moved from). With
  // `count_deltas` the counter changes are added there instead of to
  // `batch`; the caller adds them to the batch once. With `bulk` the
  // revision, the new text postings and their counter changes go there
  // instead (for KvEngine::Ingest; only for a create, whose keys are all
  // new). `stored`, if given, gets a copy of the revision's stored value.
  v1::Article PrepareRevision(absl::string_view id, const v1::Article* old_head,
                              v1::Article article, v1::ChangeEvent::Type type,
                              KvBatch* batch,
                              std::vector<v1::ChangeEvent>* events,
                              std::string* content_hash = nullptr,
                              std::string* content_encoding = nullptr,
                              CountDeltas* count_deltas = nullptr,
                              BulkLoad* bulk = nullptr,
                              std::string* stored = nullptr);
  // Adds the publish/expiry events of `head` that fell due by `now` and
  // FireSchedule has not emitted. REQUIRES: the article's lock held.
  void AddOverdueScheduleEvents(const v1::Article& head, absl::Time now,
                                std::vector<v1::ChangeEvent>* events);
  // An asynchronous write's answer: the article as stored and, when asked
  // for, its stored encoding (a reply then sends it without encoding the
  // article again).
  struct Written {
    v1::Article article;
    std::string encoding;  // empty unless asked for
  };
  using WrittenDone = std::function<void(absl::StatusOr<Written>)>;
  // A WrittenDone that passes on the article only.
  static WrittenDone ArticleOnly(
      std::function<void(absl::StatusOr<v1::Article>)> done);
  // PrepareRevision and CommitAsync for the article `held` (its id, locked
  // by the caller and unlocked here once committed), then `done`, with the
  // encoding if `encode`. `content_hash` and `content_encoding` as for
  // PrepareRevision.
  void WriteRevisionAsync(std::string held, const v1::Article* old_head,
                          v1::Article content, v1::ChangeEvent::Type type,
                          WrittenDone done, bool encode = false,
                          std::string* content_hash = nullptr,
                          std::string* content_encoding = nullptr);
  // PrepareRevision and Commit for one article.
  absl::StatusOr<v1::Article> WriteRevision(
      absl::string_view id, const v1::Article* old_head, v1::Article article,
      v1::ChangeEvent::Type type, std::string* content_hash = nullptr,
      std::string* content_encoding = nullptr);
  // Group commit: orders writers, assigns sequence numbers to `events` in
  // order, one sync per group.
  absl::Status Commit(KvBatch batch, std::vector<v1::ChangeEvent>* events);
  // The checks and server fields of an update of `id` (held), into
  // `content`; `head` gets the head, and `unchanged` whether the content
  // equals it (the head is then the result). `content_hash` and
  // `content_encoding` get ContentHashOfCleared of the content, for
  // PrepareRevision (an update hashed and encoded its body twice).
  // `head_bytes`, if given, gets the head's stored encoding.
  absl::Status BeginUpdate(absl::string_view id, v1::Article* content,
                           const WriteConditions& conditions, v1::Article* head,
                           bool* unchanged, std::string* content_hash,
                           std::string* content_encoding,
                           std::string* head_bytes = nullptr);
  // As Commit, without waiting: `done` gets the status once committed.
  void CommitAsync(KvBatch batch, std::vector<v1::ChangeEvent> events,
                   std::function<void(absl::Status)> done);
  // Commits queued writers, group by group, while the front one is
  // asynchronous; hands the lead to a waiting synchronous one, or stops
  // when none is queued. With `hand_off` (a synchronous writer leading) it
  // commits one group and hands asynchronous ones to the committer thread
  // where there is one.
  void LeadLocked(bool hand_off) ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // Which of `queued` (the front of writers_, in order) the next commit
  // settles: returns how many. Those the disk has room for go into `group`;
  // one that has none even alone gets its RESOURCE_EXHAUSTED in
  // (*refused)[i] (OK for the others); the first one that fits alone but
  // not after the group is not settled, and leads the next group.
  size_t FitGroup(const std::vector<Writer*>& queued,
                  std::vector<Writer*>* group,
                  std::vector<absl::Status>* refused);
  // UpdateAsync with the encoding if `encode` (as WriteRevisionAsync).
  void UpdateAsyncEncoded(std::string id, v1::Article content,
                          const WriteConditions& conditions, bool encode,
                          WrittenDone done);
  // UpdateAsyncEncoded once `held` (the article's id) is held.
  void UpdateHeldAsync(std::string held, v1::Article content,
                       const WriteConditions& conditions, bool encode,
                       WrittenDone done);
  // The committer thread: leads whenever CommitAsync asks.
  void CommitLoop();
  // Writes the records WriteWithFirstCommit keeps, if any.
  void WriteOwedRecords();

  const StoreOptions options_;
  std::unique_ptr<KvEngine> kv_;
  const bool shared_;  // kv_->shared()
  std::thread follower_;
  absl::Mutex follow_mu_;
  bool stopping_ ABSL_GUARDED_BY(follow_mu_) = false;
  std::string token_key_;
  // WriteWithFirstCommit's records, and whether there are any. The lock is
  // held through the write that stores them. Local stores only.
  absl::Mutex owed_mu_;
  KvBatch owed_records_ ABSL_GUARDED_BY(owed_mu_);
  std::atomic<bool> owes_records_{false};
  std::atomic<bool> expiry_list_{false};
  IdLocks id_locks_;

  mutable absl::Mutex indexes_mu_;
  absl::Status indexes_unusable_ ABSL_GUARDED_BY(indexes_mu_);
  mutable absl::Mutex commit_mu_;
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(commit_mu_);
  // A writer is leading (committing groups from writers_' front).
  bool leading_ ABSL_GUARDED_BY(commit_mu_) = false;
  int64_t last_sequence_ ABSL_GUARDED_BY(commit_mu_) = 0;
  std::vector<SequenceGap> sequence_gaps_ ABSL_GUARDED_BY(commit_mu_);
  std::function<void(int64_t)> commit_listener_ ABSL_GUARDED_BY(commit_mu_);
  // Unshared stores: a thread leads the asynchronous writers' commits, so
  // the threads that queue them never wait for a WAL sync.
  std::thread committer_;
  absl::CondVar commit_cv_;
  bool commit_stop_ ABSL_GUARDED_BY(commit_mu_) = false;
  // CommitAsync found no leader; the committer is to lead (leading_ is set).
  bool commit_wanted_ ABSL_GUARDED_BY(commit_mu_) = false;
};

}  // namespace content::store

#endif  // CONTENT_SERVER_STORE_STORE_H_
