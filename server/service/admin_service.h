// content.v1.AdminService: backups, retention, checks and statistics.
#ifndef CONTENT_SERVER_SERVICE_ADMIN_SERVICE_H_
#define CONTENT_SERVER_SERVICE_ADMIN_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content/v1/admin_service.grpc.pb.h"
#include "server/service/auth.h"
#include "server/service/operations.h"
#include "server/service/work_queue.h"
#include "server/store/store.h"

namespace content::service {

// Options for AdminService.
struct AdminOptions {
  // What CompactStore (and the background task) removes.
  store::RetentionPolicy retention;
  // Change-log retention, as in ServerConfig.
  int64_t changelog_retain_events = 1000000;
  absl::Duration changelog_retain_age = absl::Hours(24 * 7);
  // The background retention task (RetentionTurn) runs a pass it would
  // skip at least this often, by the store's clock: a net for a change that
  // neither a commit nor an age rule's time shows. Default: 1 hour.
  absl::Duration retention_recheck = absl::Hours(1);
  // Tests only (contentd --hold-operations): told each step and progress
  // report of a backup, compaction or check (Operations::ReportHook); may
  // block to hold the operation there. Default: null.
  Operations::ReportHook on_operation_report;
};

// Thread-safe. Every call needs the admin role. `store`, `auth` and the
// `service_stats` callback (which fills what ContentService knows into
// GetStats' reply: the watch and export figures, and `server_info`) must
// outlive the service.
class AdminService final : public v1::AdminService::CallbackService {
 public:
  // Starts the service's two work threads; RESOURCE_EXHAUSTED if the
  // system refuses one.
  static absl::StatusOr<std::unique_ptr<AdminService>> Create(
      store::Store* store, Authenticator* auth, const AdminOptions& options,
      std::function<void(v1::GetStatsResponse*)> service_stats);
  ~AdminService() override;

  // Runs the retention policy and the change-log trim once; with
  // `storage`, then compacts the storage engine's files. Once `cancelled`
  // (if set) says true, the retention pass stops at its next article with
  // CANCELLED (Store::ApplyRetention), and neither the trim nor the
  // compaction runs.
  // `op`, when set, is told each step (ListOperations).
  absl::StatusOr<v1::CompactStoreResponse> Compact(
      bool storage = false, const std::function<bool()>& cancelled = {},
      Operations::Handle* op = nullptr);

  // One turn of contentd's background retention task, which comes every
  // retention_interval on the replica holding the "retention" lease
  // (`leased`; replicas of a shared store take turns): Compact without
  // storage, unless nothing it acts on can have changed since the task's
  // last complete pass: no commit since (the store's last sequence is where
  // it was when that pass began; on PostgreSQL other replicas' commits move
  // it too), and no age rule due (keep_age, purge_deleted_after, the change
  // log's age: the earliest time that pass found one would remove
  // something it kept, by the store's clock); and at least once every
  // retention_recheck. Not leased, it runs nothing and forgets that pass.
  // The pass's response, or nullopt if none ran.
  absl::StatusOr<std::optional<v1::CompactStoreResponse>> RetentionTurn(
      bool leased, const std::function<bool()>& cancelled = {});

  // Ends the checks (CheckStore) and retention passes (CompactStore) still
  // running when a stop's grace is over, and those that come later, with
  // UNAVAILABLE "contentd is stopping; ...", at their next safe point. A
  // storage compaction already running is not stopped.
  void EndCalls() { ending_ = true; }

  grpc::ServerUnaryReactor* BackupStore(grpc::CallbackServerContext* ctx,
                                        const v1::BackupStoreRequest* req,
                                        v1::BackupStoreResponse* resp) override;
  grpc::ServerUnaryReactor* CompactStore(
      grpc::CallbackServerContext* ctx, const v1::CompactStoreRequest* req,
      v1::CompactStoreResponse* resp) override;
  grpc::ServerUnaryReactor* CheckStore(grpc::CallbackServerContext* ctx,
                                       const v1::CheckStoreRequest* req,
                                       v1::CheckStoreResponse* resp) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const v1::GetStatsRequest* req,
                                     v1::GetStatsResponse* resp) override;
  // Answered on gRPC's thread: it reads memory only, and the work threads
  // may both be busy with the operations it lists.
  grpc::ServerUnaryReactor* ListOperations(
      grpc::CallbackServerContext* ctx, const v1::ListOperationsRequest* req,
      v1::ListOperationsResponse* resp) override;

 private:
  // OK for the admin role (or with auth off), else the error to answer.
  absl::Status Allow(grpc::CallbackServerContext& ctx) const;
  // Compact; and with `next_due`, when an age rule next removes something
  // the pass kept (InfiniteFuture: none waits on the clock).
  absl::StatusOr<v1::CompactStoreResponse> CompactUntil(
      bool storage, const std::function<bool()>& cancelled,
      Operations::Handle* op, absl::Time* next_due);
  // The call's client left, or EndCalls was called.
  bool Ending(grpc::CallbackServerContext* ctx) const;
  // `s`, or StoppingStatus() for a CANCELLED that EndCalls caused.
  absl::Status StoppedStatus(const absl::Status& s) const;
  // Runs `work` off gRPC's threads (all admin calls do disk work), on
  // `queue`: work_ for backups, compactions and checks, stats_work_ for
  // GetStats.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx,
                                std::function<absl::Status()> work,
                                WorkQueue* queue);
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx,
                                std::function<absl::Status()> work) {
    return Run(ctx, std::move(work), work_.get());
  }

  AdminService(store::Store* store, Authenticator* auth,
               const AdminOptions& options,
               std::function<void(v1::GetStatsResponse*)> service_stats,
               std::unique_ptr<WorkQueue> work,
               std::unique_ptr<WorkQueue> stats_work);

  store::Store* const store_;
  Authenticator* const auth_;
  const AdminOptions options_;
  const std::function<void(v1::GetStatsResponse*)> service_stats_;
  const std::unique_ptr<WorkQueue> work_;
  // A thread of its own for GetStats: a few reads, which would otherwise
  // wait behind two backups, compactions or checks for minutes.
  const std::unique_ptr<WorkQueue> stats_work_;
  std::atomic<bool> ending_{false};
  // Destinations of the backups being written: RocksDB stages a checkpoint
  // in DEST.tmp and clears that first, so two at once spoiled each other.
  absl::Mutex backups_mu_;
  absl::flat_hash_set<std::string> backups_ ABSL_GUARDED_BY(backups_mu_);
  // The backups, compactions and checks being served.
  Operations operations_;
  // What the background retention task's last complete pass saw, while the
  // lease has been held since (RetentionTurn): the store's last sequence
  // when it began, when an age rule is next due, and when it ran.
  absl::Mutex retention_mu_;
  bool retention_known_ ABSL_GUARDED_BY(retention_mu_) = false;
  int64_t retention_sequence_ ABSL_GUARDED_BY(retention_mu_) = 0;
  absl::Time retention_due_ ABSL_GUARDED_BY(retention_mu_);
  absl::Time retention_at_ ABSL_GUARDED_BY(retention_mu_);
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_ADMIN_SERVICE_H_
