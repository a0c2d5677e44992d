#include "server/store/store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "server/store/rocksdb_kv.h"
#include "server/text/tokenizer.h"

namespace content::store {
namespace {

std::string BigEndian(int64_t v) {
  std::string s;
  AppendBigEndian64(&s, static_cast<uint64_t>(v));
  return s;
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

// Every posting list an article belongs to, keyed by list prefix; text
// terms only when the store keeps a text index.
std::vector<std::string> PostingPrefixes(const v1::Article& a,
                                         bool text_index) {
  const bool deleted = a.has_delete_time();
  std::vector<std::string> prefixes;
  prefixes.push_back(PostingPrefix(IndexKind::kAll, deleted, ""));
  for (const std::string& t : a.tags())
    prefixes.push_back(PostingPrefix(IndexKind::kTag, deleted, t));
  for (const std::string& c : a.categories())
    prefixes.push_back(PostingPrefix(IndexKind::kCategory, deleted, c));
  for (const std::string& l : a.lang())
    prefixes.push_back(PostingPrefix(IndexKind::kLang, deleted, l));
  // One posting per distinct text term (a CJK body yields hundreds).
  if (text_index) {
    for (const std::string& term : text::ArticleTerms(a))
      prefixes.push_back(PostingPrefix(IndexKind::kText, deleted, term));
  }
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  return prefixes;
}

void ClearServerFields(v1::Article* a) {
  a->clear_revision();
  a->clear_etag();
  a->clear_create_time();
  a->clear_update_time();
  a->clear_delete_time();
  a->clear_content_hash();
}

absl::Status CheckConditions(const v1::Article& head,
                             const WriteConditions& c) {
  if (c.expected_revision != 0 && c.expected_revision != head.revision()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "expected_revision %d does not match the head revision %d of %s",
        c.expected_revision, head.revision(), head.name()));
  }
  if (!c.etag.empty() && c.etag != head.etag()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("etag %s does not match the head etag %s of %s", c.etag,
                        head.etag(), head.name()));
  }
  return absl::OkStatus();
}

}  // namespace

struct Store::Writer {
  KvBatch batch;
  std::vector<v1::ChangeEvent>* events = nullptr;
  absl::Status status;
  bool done = false;
  absl::CondVar cv;
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

absl::StatusOr<v1::Article> ReadView::Revision(absl::string_view id,
                                               int64_t revision) const {
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  std::string value;
  absl::Status s =
      kv_->Get(Family::kRevisions, RevisionKey(id, revision), &value, ro);
  if (!s.ok()) return s;
  v1::Article a;
  if (!a.ParseFromString(value)) {
    return absl::DataLossError(
        absl::StrCat("revision ", revision, " of ", Name(id), " is corrupt"));
  }
  return a;
}

int64_t ReadView::Count(absl::string_view posting_prefix) const {
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  std::string value;
  if (!kv_->Get(Family::kMeta, CountKey(posting_prefix), &value, ro).ok() ||
      value.size() != 8) {
    return 0;
  }
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i)
    u |= uint64_t{static_cast<unsigned char>(value[i])} << (8 * i);
  return static_cast<int64_t>(u);
}

absl::StatusOr<v1::Article> ReadView::Head(absl::string_view id) const {
  KvReadOptions ro;
  ro.snapshot = snapshot_.get();
  std::string value;
  absl::Status s = kv_->Get(Family::kHeads, id, &value, ro);
  if (absl::IsNotFound(s))
    return absl::NotFoundError(absl::StrCat(Name(id), " not found"));
  if (!s.ok()) return s;
  if (value.size() != 8)
    return absl::DataLossError(
        absl::StrCat("head of ", Name(id), " is corrupt"));
  absl::StatusOr<v1::Article> a =
      Revision(id, static_cast<int64_t>(ReadBigEndian64(value)));
  if (absl::IsNotFound(a.status())) {
    return absl::DataLossError(
        absl::StrCat("head revision of ", Name(id), " is missing"));
  }
  return a;
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

Store::Store(std::unique_ptr<KvEngine> kv, const StoreOptions& options)
    : options_(options), kv_(std::move(kv)) {}

Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  RocksKvOptions kv_options;
  kv_options.path = options.data_dir;
  kv_options.block_cache_bytes = options.block_cache_bytes;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(kv_options);
  if (!kv.ok()) return kv.status();
  return Open(*std::move(kv), options);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    std::unique_ptr<KvEngine> kv, const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store(std::move(kv), options));
  absl::Status s = store->Init();
  if (!s.ok()) return s;
  return store;
}

absl::Status Store::Init() {
  std::string value;
  absl::Status s = kv_->Get(Family::kMeta, kLastSequenceKey, &value);
  if (s.ok() && value.size() == 8) {
    absl::MutexLock lock(&commit_mu_);
    last_sequence_ = static_cast<int64_t>(ReadBigEndian64(value));
  } else if (!s.ok() && !absl::IsNotFound(s)) {
    return s;
  }
  s = kv_->Get(Family::kMeta, kTokenKeyKey, &token_key_);
  if (absl::IsNotFound(s)) {
    absl::BitGen gen;
    token_key_.resize(32);
    for (char& c : token_key_)
      c = static_cast<char>(absl::Uniform<int>(gen, 0, 256));
    KvBatch batch;
    batch.Put(Family::kMeta, std::string(kTokenKeyKey), token_key_);
    s = kv_->Write(std::move(batch), /*sync=*/true);
  }
  return s;
}

absl::Mutex& Store::LockFor(absl::string_view id) {
  return article_locks_[absl::Hash<absl::string_view>()(id) %
                        article_locks_.size()];
}

absl::Time Store::Now() const {
  return options_.clock ? options_.clock() : absl::Now();
}

int64_t Store::last_sequence() const {
  absl::MutexLock lock(&commit_mu_);
  return last_sequence_;
}

std::unique_ptr<ReadView> Store::NewReadView() const {
  return std::make_unique<ReadView>(kv_.get());
}

std::string Store::ContentHash(const v1::Article& article) {
  v1::Article content = article;
  content.clear_name();
  ClearServerFields(&content);
  std::string bytes;
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

absl::StatusOr<v1::Article> Store::ReadHead(absl::string_view id) {
  absl::StatusOr<int64_t> rev = HeadRevision(id);
  if (!rev.ok()) return rev.status();
  if (*rev == 0)
    return absl::NotFoundError(absl::StrCat(Name(id), " not found"));
  std::string value;
  absl::Status s = kv_->Get(Family::kRevisions, RevisionKey(id, *rev), &value);
  if (absl::IsNotFound(s)) {
    return absl::DataLossError(
        absl::StrCat("head revision ", *rev, " of ", Name(id), " is missing"));
  }
  if (!s.ok()) return s;
  v1::Article a;
  if (!a.ParseFromString(value))
    return absl::DataLossError(
        absl::StrCat("head of ", Name(id), " is corrupt"));
  return a;
}

absl::StatusOr<v1::Article> Store::Create(absl::string_view id,
                                          v1::Article content) {
  absl::MutexLock lock(&LockFor(id));
  absl::StatusOr<int64_t> head = HeadRevision(id);
  if (!head.ok()) return head.status();
  if (*head != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(Name(id), " already exists (revision ", *head, ")"));
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
  if (revision < 0) {
    return absl::InvalidArgumentError(
        "revision: must be 0 (the head) or a positive revision number");
  }
  if (revision == 0) {
    absl::StatusOr<v1::Article> head = ReadHead(id);
    if (head.ok() && head->has_delete_time() && !show_deleted) {
      return absl::NotFoundError(absl::StrCat(
          Name(id), " is deleted (revision ", head->revision(), ")"));
    }
    return head;
  }
  std::string value;
  absl::Status s =
      kv_->Get(Family::kRevisions, RevisionKey(id, revision), &value);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(
        absl::StrCat(Name(id), " has no revision ", revision));
  }
  if (!s.ok()) return s;
  v1::Article a;
  if (!a.ParseFromString(value)) {
    return absl::DataLossError(
        absl::StrCat("revision ", revision, " of ", Name(id), " is corrupt"));
  }
  return a;
}

absl::StatusOr<v1::Article> Store::Update(absl::string_view id,
                                          v1::Article content,
                                          const WriteConditions& conditions) {
  absl::MutexLock lock(&LockFor(id));
  absl::StatusOr<v1::Article> head = ReadHead(id);
  if (!head.ok()) return head.status();
  if (head->has_delete_time()) {
    return absl::NotFoundError(
        absl::StrCat(Name(id), " is deleted; undelete it before updating"));
  }
  absl::Status s = CheckConditions(*head, conditions);
  if (!s.ok()) return s;
  ClearServerFields(&content);
  content.set_name(Name(id));
  if (ContentHash(content) == head->content_hash()) return *std::move(head);
  *content.mutable_create_time() = head->create_time();
  SetTimestamp(Now(), content.mutable_update_time());
  return WriteRevision(id, &*head, std::move(content),
                       v1::ChangeEvent::TYPE_UPDATED);
}

absl::StatusOr<v1::Article> Store::Delete(absl::string_view id,
                                          const WriteConditions& conditions) {
  absl::MutexLock lock(&LockFor(id));
  absl::StatusOr<v1::Article> head = ReadHead(id);
  if (!head.ok()) return head.status();
  if (head->has_delete_time()) {
    return absl::NotFoundError(absl::StrCat(Name(id), " is already deleted"));
  }
  absl::Status s = CheckConditions(*head, conditions);
  if (!s.ok()) return s;
  v1::Article tombstone = *head;
  const absl::Time now = Now();
  SetTimestamp(now, tombstone.mutable_update_time());
  SetTimestamp(now, tombstone.mutable_delete_time());
  return WriteRevision(id, &*head, std::move(tombstone),
                       v1::ChangeEvent::TYPE_DELETED);
}

absl::StatusOr<v1::Article> Store::Undelete(absl::string_view id,
                                            const WriteConditions& conditions) {
  absl::MutexLock lock(&LockFor(id));
  absl::StatusOr<v1::Article> head = ReadHead(id);
  if (!head.ok()) return head.status();
  if (!head->has_delete_time()) {
    return absl::FailedPreconditionError(
        absl::StrCat(Name(id), " is not deleted"));
  }
  absl::Status s = CheckConditions(*head, conditions);
  if (!s.ok()) return s;
  v1::Article restored = *head;
  restored.clear_delete_time();
  SetTimestamp(Now(), restored.mutable_update_time());
  return WriteRevision(id, &*head, std::move(restored),
                       v1::ChangeEvent::TYPE_UNDELETED);
}

v1::Article Store::PrepareRevision(absl::string_view id,
                                   const v1::Article* old_head,
                                   v1::Article article,
                                   v1::ChangeEvent::Type type, KvBatch* batch,
                                   std::vector<v1::ChangeEvent>* events) {
  const int64_t revision = old_head ? old_head->revision() + 1 : 1;
  article.set_name(Name(id));
  article.set_revision(revision);
  article.set_content_hash(ContentHash(article));
  article.set_etag(
      absl::StrCat(revision, "-", article.content_hash().substr(0, 16)));

  batch->Put(Family::kRevisions, RevisionKey(id, revision),
             article.SerializeAsString());
  batch->Put(Family::kHeads, std::string(id), BigEndian(revision));

  // Index maintenance: drop lists the article left, add the ones it joined,
  // and rewrite the rest in place (the revision value or the date changed).
  std::map<std::string, int> delta;  // prefix -> -1 removed, +1 added, 0 kept
  const uint64_t date = DateKey(article.date());
  std::vector<std::string> prefixes =
      PostingPrefixes(article, options_.text_index);  // sorted
  if (old_head != nullptr) {
    const uint64_t old_date = DateKey(old_head->date());
    for (std::string& p : PostingPrefixes(*old_head, options_.text_index)) {
      // A key the Put below rewrites needs no Delete first: half the
      // memtable inserts of a typical update, which keeps its tags.
      if (old_date != date ||
          !std::binary_search(prefixes.begin(), prefixes.end(), p)) {
        batch->Delete(Family::kPostings, PostingKey(p, old_date, id));
      }
      delta[std::move(p)] -= 1;
    }
  }
  const std::string revision_value = BigEndian(revision);
  for (std::string& p : prefixes) {
    batch->Put(Family::kPostings, PostingKey(p, date, id), revision_value);
    delta[std::move(p)] += 1;
  }
  for (auto& [prefix, d] : delta) {
    if (d != 0) batch->AddInt64(Family::kMeta, CountKey(prefix), d);
  }

  v1::ChangeEvent& event = events->emplace_back();
  event.set_type(type);
  event.set_name(article.name());
  event.set_revision(revision);
  *event.mutable_time() = article.update_time();
  return article;
}

absl::StatusOr<v1::Article> Store::WriteRevision(absl::string_view id,
                                                 const v1::Article* old_head,
                                                 v1::Article article,
                                                 v1::ChangeEvent::Type type) {
  KvBatch batch;
  std::vector<v1::ChangeEvent> events;
  v1::Article written =
      PrepareRevision(id, old_head, std::move(article), type, &batch, &events);
  absl::Status s = Commit(std::move(batch), &events);
  if (!s.ok()) return s;
  return written;
}

absl::StatusOr<std::vector<ApplyResult>> Store::Apply(
    std::vector<std::pair<std::string, v1::Article>> items, bool dry_run) {
  // Lock every stripe involved, in index order so batches cannot deadlock.
  std::vector<size_t> stripes;
  for (const auto& item : items) {
    stripes.push_back(absl::Hash<absl::string_view>()(item.first) %
                      article_locks_.size());
  }
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (size_t i : stripes) article_locks_[i].Lock();

  std::vector<ApplyResult> results(items.size());
  std::map<std::string, v1::Article> pending;  // heads written by this batch
  KvBatch batch;
  std::vector<v1::ChangeEvent> events;
  const absl::Time now = Now();
  absl::Status status;
  for (size_t i = 0; i < items.size() && status.ok(); ++i) {
    auto& [id, content] = items[i];
    ApplyResult& result = results[i];
    absl::StatusOr<v1::Article> head;
    if (auto it = pending.find(id); it != pending.end()) {
      head = it->second;
    } else {
      head = ReadHead(id);
    }
    if (!head.ok() && !absl::IsNotFound(head.status())) {
      status = head.status();  // storage trouble fails the whole batch
      break;
    }
    ClearServerFields(&content);
    content.set_name(Name(id));
    if (head.ok() && head->has_delete_time()) {
      result.status = absl::NotFoundError(
          absl::StrCat(Name(id), " is deleted; undelete it before updating"));
      continue;
    }
    if (head.ok() && ContentHash(content) == head->content_hash()) {
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
    v1::Article written =
        PrepareRevision(id, head.ok() ? &*head : nullptr, std::move(content),
                        type, &batch, &events);
    result.revision = written.revision();
    pending[id] = std::move(written);
  }
  if (status.ok() && !dry_run && !events.empty()) {
    status = Commit(std::move(batch), &events);
  }
  for (auto it = stripes.rbegin(); it != stripes.rend(); ++it)
    article_locks_[*it].Unlock();
  if (!status.ok()) return status;
  return results;
}

absl::Status Store::Commit(KvBatch batch,
                           std::vector<v1::ChangeEvent>* events) {
  Writer w;
  w.batch = std::move(batch);
  w.events = events;
  absl::MutexLock lock(&commit_mu_);
  writers_.push_back(&w);
  while (!w.done && writers_.front() != &w) w.cv.Wait(&commit_mu_);
  if (w.done) return w.status;

  // This writer leads: commit everyone queued so far as one batch, so one
  // WAL sync covers the group and sequence numbers follow commit order.
  constexpr size_t kMaxGroup = 512;
  std::vector<Writer*> group;
  for (Writer* x : writers_) {
    if (group.size() == kMaxGroup) break;
    group.push_back(x);
  }
  KvBatch merged;
  int64_t sequence = last_sequence_;
  for (Writer* x : group) {
    merged.Append(std::move(x->batch));
    for (v1::ChangeEvent& e : *x->events) {
      e.set_sequence(++sequence);
      merged.Put(Family::kChanges, BigEndian(sequence), e.SerializeAsString());
    }
  }
  merged.Put(Family::kMeta, std::string(kLastSequenceKey), BigEndian(sequence));

  commit_mu_.Unlock();
  absl::Status s = kv_->Write(std::move(merged), options_.sync);
  commit_mu_.Lock();

  if (s.ok()) {
    last_sequence_ = sequence;
    if (commit_listener_) commit_listener_(sequence);
  }
  for (Writer* x : group) {
    writers_.pop_front();
    if (x != &w) {
      x->status = s;
      x->done = true;
      x->cv.Signal();
    }
  }
  if (!writers_.empty()) writers_.front()->cv.Signal();
  return s;
}

absl::StatusOr<std::vector<v1::Article>> Store::ListRevisions(
    absl::string_view id, int64_t start, int limit) {
  KvReadOptions ro;
  ro.lower_bound = RevisionKey(id, 0);
  ro.upper_bound = RevisionKey(id, INT64_MAX);
  std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kRevisions, ro);
  it->SeekForPrev(RevisionKey(id, start > 0 ? start : INT64_MAX - 1));
  std::vector<v1::Article> out;
  for (; it->Valid() && static_cast<int>(out.size()) < limit; it->Prev()) {
    v1::Article a;
    if (!a.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("a revision of ", Name(id), " is corrupt"));
    }
    out.push_back(std::move(a));
  }
  if (!it->status().ok()) return it->status();
  if (out.empty()) {
    // Nothing listed: tell a missing article (whatever `start` or `limit`
    // was) from an empty page of an existing one.
    absl::StatusOr<int64_t> head = HeadRevision(id);
    if (!head.ok()) return head.status();
    if (*head == 0)
      return absl::NotFoundError(absl::StrCat(Name(id), " not found"));
  }
  return out;
}

absl::Status Store::Checkpoint(const std::string& dir, int64_t* last_sequence) {
  // Everything acknowledged so far has committed, so it is at or below this
  // sequence, and the checkpoint taken afterwards contains it.
  *last_sequence = this->last_sequence();
  return kv_->Checkpoint(dir);
}

absl::StatusOr<RetentionResult> Store::ApplyRetention(
    const RetentionPolicy& policy) {
  RetentionResult result;
  const bool trim =
      policy.keep_revisions > 0 || policy.keep_age > absl::ZeroDuration();
  const bool purge = policy.purge_deleted_after > absl::ZeroDuration();
  if (!trim && !purge) return result;
  const absl::Time now = Now();
  // Ids first, from a snapshot: the work per article happens under its lock.
  std::vector<std::string> ids;
  {
    std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kHeads);
    for (it->SeekToFirst(); it->Valid(); it->Next())
      ids.emplace_back(it->key().data(), it->key().size());
    if (!it->status().ok()) return it->status();
  }
  for (const std::string& id : ids) {
    absl::MutexLock lock(&LockFor(id));
    absl::StatusOr<v1::Article> head = ReadHead(id);
    if (absl::IsNotFound(head.status())) continue;
    if (!head.ok()) return head.status();
    KvBatch batch;
    const bool purge_this =
        purge && head->has_delete_time() &&
        absl::FromUnixSeconds(head->delete_time().seconds()) <
            now - policy.purge_deleted_after;
    if (purge_this) {
      // The whole article: history, head, and its (deleted-bit) postings.
      batch.DeleteRange(Family::kRevisions, RevisionKey(id, 0),
                        RevisionKey(id, INT64_MAX));
      batch.Delete(Family::kHeads, id);
      const uint64_t date = DateKey(head->date());
      for (const std::string& p : PostingPrefixes(*head, options_.text_index)) {
        batch.Delete(Family::kPostings, PostingKey(p, date, id));
        batch.AddInt64(Family::kMeta, CountKey(p), -1);
      }
      result.revisions_removed += head->revision();
      ++result.articles_purged;
    } else if (trim) {
      std::unique_ptr<KvIterator> it;
      KvReadOptions ro;
      ro.lower_bound = RevisionKey(id, 0);
      ro.upper_bound = RevisionKey(id, head->revision());  // never the head
      it = kv_->NewIterator(Family::kRevisions, ro);
      // Newest first: the head is rank 0, the revision below it rank 1...
      int64_t rank = 1;
      for (it->SeekToLast(); it->Valid(); it->Prev(), ++rank) {
        if (policy.keep_revisions > 0 && rank < policy.keep_revisions) continue;
        if (policy.keep_age > absl::ZeroDuration()) {
          v1::Article a;
          if (!a.ParseFromArray(it->value().data(),
                                static_cast<int>(it->value().size())))
            continue;  // leave what we cannot read for fsck to report
          if (absl::FromUnixSeconds(a.update_time().seconds()) >=
              now - policy.keep_age)
            continue;
        }
        // Older revisions are older still: drop this one and all below.
        const int64_t cut = static_cast<int64_t>(
            ReadBigEndian64(it->key().substr(id.size() + 1)));
        batch.DeleteRange(Family::kRevisions, RevisionKey(id, 0),
                          RevisionKey(id, cut + 1));
        for (; it->Valid(); it->Prev()) ++result.revisions_removed;
        break;
      }
      if (!it->status().ok()) return it->status();
    }
    if (batch.empty()) continue;
    absl::Status s = kv_->Write(std::move(batch), options_.sync);
    if (!s.ok()) return s;
  }
  return result;
}

void Store::SetCommitListener(std::function<void(int64_t)> listener) {
  absl::MutexLock lock(&commit_mu_);
  commit_listener_ = std::move(listener);
}

absl::StatusOr<int64_t> Store::FirstSequence() {
  const int64_t last = last_sequence();
  std::unique_ptr<KvIterator> it = kv_->NewIterator(Family::kChanges);
  it->SeekToFirst();
  if (!it->status().ok()) return it->status();
  if (!it->Valid() || it->key().size() != 8) return last + 1;
  return static_cast<int64_t>(ReadBigEndian64(it->key()));
}

absl::Status Store::TrimChanges(int64_t keep_events, absl::Duration max_age) {
  const int64_t last = last_sequence();
  int64_t cut = 0;  // drop sequences < cut
  if (keep_events > 0) cut = std::max<int64_t>(cut, last - keep_events + 1);
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
        break;
      }
    }
    if (!it->Valid()) cut = std::max(cut, last + 1);
  }
  if (cut <= 1) return absl::OkStatus();
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

std::vector<std::string> Store::IndexPrefixes(const v1::Article& head) const {
  return PostingPrefixes(head, options_.text_index);
}

}  // namespace content::store
