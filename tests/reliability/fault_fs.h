// A RocksDB FileSystem wrapper that injects I/O errors into the write-ahead
// log (files named *.log), in the spirit of RocksDB's FaultInjectionTestFS,
// which Debian's librocksdb does not ship. For RocksKvOptions::file_system.
#ifndef CONTENT_TESTS_RELIABILITY_FAULT_FS_H_
#define CONTENT_TESTS_RELIABILITY_FAULT_FS_H_

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "rocksdb/file_system.h"

namespace content::store {

// Thread-safe: the knob is an atomic and may change while RocksDB writes.
class WalFaultFs : public rocksdb::FileSystemWrapper {
 public:
  enum class Fault {
    kNone,
    kAppendIoError,  // Append fails as EIO does (a plain IOError)
    kSyncIoError,    // Sync and Fsync fail so
    kAppendNoSpace,  // Append fails as ENOSPC does
  };

  WalFaultFs() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}

  // What WAL files do now.
  std::atomic<Fault> fault{Fault::kNone};
  // WAL appends and syncs failed so far.
  std::atomic<int> failures{0};
  // WAL syncs (Sync or Fsync of a *.log file) that succeeded so far.
  std::atomic<int> wal_syncs{0};
  // Log files (WALs and MANIFESTs) created so far, and how many of them
  // RocksDB may preallocate (FileOptions::allow_fallocate).
  std::atomic<int> log_files{0};
  std::atomic<int> preallocated_log_files{0};

  const char* Name() const override { return "WalFaultFs"; }

  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* file,
      rocksdb::IODebugContext* dbg) override {
    if (absl::EndsWith(name, ".log") || absl::StrContains(name, "/MANIFEST-")) {
      ++log_files;
      if (options.allow_fallocate) ++preallocated_log_files;
    }
    return Wrap(name, target()->NewWritableFile(name, options, file, dbg),
                file);
  }
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& name, const std::string& old_name,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* file,
      rocksdb::IODebugContext* dbg) override {
    return Wrap(name,
                target()->ReuseWritableFile(name, old_name, options, file, dbg),
                file);
  }

 private:
  class WalFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    WalFile(std::unique_ptr<rocksdb::FSWritableFile> file, WalFaultFs* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}

    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->AppendFault(); !s.ok()) return s;
      return target()->Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->AppendFault(); !s.ok()) return s;
      return target()->Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->SyncFault(); !s.ok()) return s;
      rocksdb::IOStatus s = target()->Sync(options, dbg);
      if (s.ok()) ++fs_->wal_syncs;
      return s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->SyncFault(); !s.ok()) return s;
      rocksdb::IOStatus s = target()->Fsync(options, dbg);
      if (s.ok()) ++fs_->wal_syncs;
      return s;
    }

   private:
    WalFaultFs* const fs_;
  };

  rocksdb::IOStatus Wrap(const std::string& name, rocksdb::IOStatus s,
                         std::unique_ptr<rocksdb::FSWritableFile>* file) {
    if (s.ok() && absl::EndsWith(name, ".log"))
      *file = std::make_unique<WalFile>(std::move(*file), this);
    return s;
  }
  rocksdb::IOStatus AppendFault() {
    switch (fault.load()) {
      case Fault::kAppendIoError:
        ++failures;
        return rocksdb::IOStatus::IOError("injected: WAL append failed");
      case Fault::kAppendNoSpace:
        ++failures;
        return rocksdb::IOStatus::NoSpace("injected: WAL append: no space");
      default:
        return rocksdb::IOStatus::OK();
    }
  }
  rocksdb::IOStatus SyncFault() {
    if (fault.load() != Fault::kSyncIoError) return rocksdb::IOStatus::OK();
    ++failures;
    return rocksdb::IOStatus::IOError("injected: WAL sync failed");
  }
};

}  // namespace content::store

#endif  // CONTENT_TESTS_RELIABILITY_FAULT_FS_H_
