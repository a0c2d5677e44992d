// A KvEngine wrapper that injects disk faults, in the spirit of leveldb's
// FaultInjectionTestEnv: writes (or reads) fail with the status a real disk
// problem maps to, always or at random, while everything else passes through.
#ifndef CONTENT_TESTS_RELIABILITY_FAULT_KV_H_
#define CONTENT_TESTS_RELIABILITY_FAULT_KV_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/store/kv.h"

namespace content::store {

// Thread-safe: the knobs are atomics and may change while writers run.
class FaultKv : public KvEngine {
 public:
  enum class Fault { kNone, kIoError, kNoSpace };

  explicit FaultKv(std::unique_ptr<KvEngine> base) : base_(std::move(base)) {}

  // What failing writes return: kIoError -> UNAVAILABLE (as RocksDB's
  // IOError maps), kNoSpace -> RESOURCE_EXHAUSTED (RocksDB's NoSpace).
  std::atomic<Fault> write_fault{Fault::kNone};
  // Probability in [0, 1] that a write fails with write_fault (1: always).
  std::atomic<double> write_fault_probability{1.0};
  // Reads (Get and iterator creation still work; Get fails) fail too.
  std::atomic<bool> fail_reads{false};
  // Writes that pass before write_fault applies (counted in `writes`).
  std::atomic<int64_t> writes_before_fault{0};
  // Writes that reached the engine and the ones it failed.
  std::atomic<int64_t> writes{0};
  std::atomic<int64_t> failed_writes{0};

  // Gets and iterators (of every family) asked for.
  std::atomic<int64_t> gets{0};
  std::atomic<int64_t> iterators{0};

  // Called before each Get of a revision while set; set it while no other
  // thread reads.
  std::function<void()> on_revision_get;

  absl::Status Get(Family family, absl::string_view key, std::string* value,
                   const KvReadOptions& options) override {
    ++gets;
    if (family == Family::kRevisions && on_revision_get) on_revision_get();
    if (fail_reads.load())
      return absl::UnavailableError("injected: read I/O error");
    return base_->Get(family, key, value, options);
  }
  // Iterators of the change log stop at once with a read error.
  std::atomic<bool> fail_change_iterators{false};

  // The next this many change-log iterators fail so too, then the rest
  // pass.
  std::atomic<int> fail_next_change_iterators{0};

  // Change-log iterators opened.
  std::atomic<int64_t> change_iterators{0};
  // Postings iterators opened (the scheduler reads its lists with them).
  std::atomic<int64_t> postings_iterators{0};
  // Leases asked for: one per scheduler poll.
  std::atomic<int64_t> leases{0};
  absl::StatusOr<bool> TryLease(absl::string_view name) override {
    ++leases;
    return base_->TryLease(name);
  }

  std::unique_ptr<KvIterator> NewIterator(
      Family family, const KvReadOptions& options) override {
    ++iterators;
    if (family == Family::kChanges) {
      ++change_iterators;
      int next = fail_next_change_iterators.load();
      while (next > 0 && !fail_next_change_iterators.compare_exchange_weak(
                             next, next - 1)) {
      }
      if (next > 0 || fail_change_iterators.load())
        return std::make_unique<FailedIterator>();
      bool hooked;
      {
        absl::MutexLock lock(&hook_mu_);
        hooked = after_change_log_start_ != nullptr;
      }
      if (hooked) {
        return std::make_unique<StartHookIterator>(
            this, base_->NewIterator(family, options));
      }
    }
    if (family == Family::kPostings) ++postings_iterators;
    std::function<void()>* hook =
        family == Family::kPostings    ? &on_postings_iterator
        : family == Family::kRevisions ? &on_revisions_iterator
                                       : nullptr;
    if (hook != nullptr && *hook) {
      std::function<void()> run = std::move(*hook);
      *hook = nullptr;
      run();
    }
    return base_->NewIterator(family, options);
  }
  // Runs `hook` once, as the next change-log iterator that sought the log's
  // first key (Store::FirstSequence) is destroyed: its reader has the key
  // and has not read the log again yet. Thread-safe.
  void AfterChangeLogStart(std::function<void()> hook) {
    absl::MutexLock lock(&hook_mu_);
    after_change_log_start_ = std::move(hook);
  }
  // Run once, at the next postings (revisions) iterator's creation (before
  // it exists). Not thread-safe: set them while no other thread reads.
  std::function<void()> on_postings_iterator;
  std::function<void()> on_revisions_iterator;
  // Called before each write reaches the engine while set. Not
  // thread-safe: set it while no other thread writes.
  std::function<void()> on_write;
  // Called as each Checkpoint begins while set. Not thread-safe: set it
  // while no checkpoint runs.
  std::function<void()> on_checkpoint;
  // The disk's room, as RocksKv's space check sees it: a write of more
  // than this many bytes (KvBatch::ApproximateBytes) is RESOURCE_EXHAUSTED,
  // and CheckRoom says so. Negative: no limit.
  std::atomic<int64_t> room{-1};
  absl::Status CheckRoom(size_t bytes) override {
    if (absl::Status s = InjectedRoom(bytes); !s.ok()) return s;
    return base_->CheckRoom(bytes);
  }
  absl::Status Write(KvBatch batch, bool sync) override {
    if (on_write) on_write();
    if (absl::Status s = InjectedRoom(batch.ApproximateBytes()); !s.ok())
      return s;
    const int64_t n = writes++;
    const Fault fault = write_fault.load();
    if (fault != Fault::kNone && n >= writes_before_fault.load() && Roll()) {
      ++failed_writes;
      return fault == Fault::kNoSpace
                 ? absl::ResourceExhaustedError("injected: no space left")
                 : absl::UnavailableError("injected: write I/O error");
    }
    return base_->Write(std::move(batch), sync);
  }
  std::unique_ptr<KvSnapshot> GetSnapshot() override {
    return base_->GetSnapshot();
  }
  // Ingests pass through; the commit that follows may fail.
  absl::StatusOr<std::string> Ingest(Family family,
                                     const KvBatch& puts) override {
    absl::StatusOr<std::string> ticket = base_->Ingest(family, puts);
    if (ticket.ok() && on_ingest) on_ingest(puts);
    return ticket;
  }
  // Sees every batch Ingest took, once its keys are visible and before its
  // commit. Not thread-safe: set it while no other thread writes.
  std::function<void(const KvBatch&)> on_ingest;
  void EndIngest(const std::string& ticket, bool committed) override {
    base_->EndIngest(ticket, committed);
  }
  using KvEngine::Checkpoint;
  absl::Status Checkpoint(const std::string& dir,
                          const CheckpointProgress& progress) override {
    if (on_checkpoint) on_checkpoint();
    return base_->Checkpoint(dir, progress);
  }
  absl::StatusOr<std::unique_ptr<KvEngine>> OpenCheckpoint(
      const std::string& dir) override {
    return base_->OpenCheckpoint(dir);
  }
  absl::Status WritesRefused() override { return base_->WritesRefused(); }

 private:
  class FailedIterator : public KvIterator {
   public:
    bool Valid() const override { return false; }
    void SeekToFirst() override {}
    void SeekToLast() override {}
    void Seek(absl::string_view) override {}
    void SeekForPrev(absl::string_view) override {}
    void Next() override {}
    void Prev() override {}
    absl::string_view key() const override { return {}; }
    absl::string_view value() const override { return {}; }
    absl::Status status() const override {
      return absl::UnavailableError("injected: read I/O error");
    }
  };

  // A change-log iterator that runs the AfterChangeLogStart hook as it goes
  // if it sought the first key.
  class StartHookIterator : public KvIterator {
   public:
    StartHookIterator(FaultKv* kv, std::unique_ptr<KvIterator> base)
        : kv_(kv), base_(std::move(base)) {}
    ~StartHookIterator() override {
      base_.reset();
      if (sought_first_) kv_->RunAfterChangeLogStart();
    }
    bool Valid() const override { return base_->Valid(); }
    void SeekToFirst() override {
      sought_first_ = true;
      base_->SeekToFirst();
    }
    void SeekToLast() override { base_->SeekToLast(); }
    void Seek(absl::string_view target) override { base_->Seek(target); }
    void SeekForPrev(absl::string_view target) override {
      base_->SeekForPrev(target);
    }
    void Next() override { base_->Next(); }
    void Prev() override { base_->Prev(); }
    absl::string_view key() const override { return base_->key(); }
    absl::string_view value() const override { return base_->value(); }
    absl::Status status() const override { return base_->status(); }

   private:
    FaultKv* const kv_;
    std::unique_ptr<KvIterator> base_;
    bool sought_first_ = false;
  };

  void RunAfterChangeLogStart() {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&hook_mu_);
      hook = std::move(after_change_log_start_);
      after_change_log_start_ = nullptr;
    }
    if (hook) hook();
  }

  absl::Status InjectedRoom(size_t bytes) const {
    const int64_t free_bytes = room.load();
    if (free_bytes < 0 || static_cast<int64_t>(bytes) <= free_bytes)
      return absl::OkStatus();
    return absl::ResourceExhaustedError(
        absl::StrCat("injected: disk full: ", free_bytes,
                     " bytes free, a write of ", bytes, " bytes needs more"));
  }

  bool Roll() {
    const double p = write_fault_probability.load();
    if (p >= 1.0) return true;
    absl::MutexLock lock(&mu_);
    return absl::Bernoulli(gen_, p);
  }

  std::unique_ptr<KvEngine> base_;
  absl::Mutex hook_mu_;
  std::function<void()> after_change_log_start_ ABSL_GUARDED_BY(hook_mu_);
  absl::Mutex mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace content::store

#endif  // CONTENT_TESTS_RELIABILITY_FAULT_KV_H_
