#include "server/service/admin_service.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "server/error_details.h"
#include "server/service/allocator.h"
#include "server/service/reactors.h"
#include "server/service/request_id.h"
#include "server/store/fsck.h"
#include "server/store/keys.h"

namespace content::service {
namespace {

// The bytes of the regular files under `dir` (each link counted, as `du
// --count-links` does: a backup's hard links are its files too).
int64_t FilesBytes(const std::string& dir) {
  namespace fs = std::filesystem;
  int64_t bytes = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    const uintmax_t size = it->file_size(size_ec);
    if (!size_ec) bytes += static_cast<int64_t>(size);
  }
  return bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminService>> AdminService::Create(
    store::Store* store, Authenticator* auth, const AdminOptions& options,
    std::function<void(v1::GetStatsResponse*)> service_stats) {
  absl::StatusOr<std::unique_ptr<WorkQueue>> work = WorkQueue::Start(2);
  absl::StatusOr<std::unique_ptr<WorkQueue>> stats_work =
      work.ok() ? WorkQueue::Start(1) : work.status();
  if (!stats_work.ok()) {
    return absl::Status(
        stats_work.status().code(),
        absl::StrCat("admin service: ", stats_work.status().message(),
                     "; raise the process limit (RLIMIT_NPROC, "
                     "ulimit -u) or lower write_threads"));
  }
  return absl::WrapUnique(
      new AdminService(store, auth, options, std::move(service_stats),
                       *std::move(work), *std::move(stats_work)));
}

AdminService::AdminService(
    store::Store* store, Authenticator* auth, const AdminOptions& options,
    std::function<void(v1::GetStatsResponse*)> service_stats,
    std::unique_ptr<WorkQueue> work, std::unique_ptr<WorkQueue> stats_work)
    : store_(store),
      auth_(auth),
      options_(options),
      service_stats_(std::move(service_stats)),
      work_(std::move(work)),
      stats_work_(std::move(stats_work)),
      operations_(options.on_operation_report) {}

AdminService::~AdminService() = default;

grpc::ServerUnaryReactor* AdminService::Run(grpc::CallbackServerContext* ctx,
                                            std::function<absl::Status()> work,
                                            WorkQueue* queue) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (absl::Status s = Allow(*ctx); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  if (!queue->Submit([reactor, work = std::move(work)] {
        reactor->Finish(ToGrpcStatus(work()));
      })) {
    reactor->Finish(ToGrpcStatus(
        WithReason(absl::UnavailableError("server is shutting down"),
                   reason::kShuttingDown)));
  }
  return reactor;
}

absl::Status AdminService::Allow(grpc::CallbackServerContext& ctx) const {
  // First: every call passes here, and its id is logged only if good.
  if (absl::Status s = CheckRequestId(ctx); !s.ok()) return s;
  if (auth_ == nullptr) return absl::OkStatus();
  return auth_->Authorize(ctx, Role::kAdmin).status();
}

bool AdminService::Ending(grpc::CallbackServerContext* ctx) const {
  return ending_.load() || ctx->IsCancelled();
}

absl::Status AdminService::StoppedStatus(const absl::Status& s) const {
  if (absl::IsCancelled(s) && ending_.load())
    return WithReason(absl::UnavailableError(absl::StrCat(
                          kStoppingMessage, " (", s.message(), ")")),
                      reason::kShuttingDown);
  return s;
}

absl::StatusOr<v1::CompactStoreResponse> AdminService::Compact(
    bool storage, const std::function<bool()>& cancelled,
    Operations::Handle* op) {
  return CompactUntil(storage, cancelled, op, nullptr);
}

absl::StatusOr<std::optional<v1::CompactStoreResponse>>
AdminService::RetentionTurn(bool leased,
                            const std::function<bool()>& cancelled) {
  // One turn at a time: contentd's retention thread is the only caller.
  absl::MutexLock lock(&retention_mu_);
  if (!leased) {
    // Another replica's passes and commits are not this one's to know.
    retention_known_ = false;
    return std::nullopt;
  }
  // Read before the pass: a commit during it moves the sequence past this,
  // and the next turn runs.
  const int64_t sequence = store_->last_sequence();
  const absl::Time now = store_->Now();
  if (retention_known_ && sequence == retention_sequence_ &&
      now < retention_due_ && now - retention_at_ < options_.retention_recheck)
    return std::nullopt;
  retention_known_ = false;
  absl::Time due;
  absl::StatusOr<v1::CompactStoreResponse> r =
      CompactUntil(false, cancelled, nullptr, &due);
  if (!r.ok()) return r.status();
  retention_known_ = true;
  retention_sequence_ = sequence;
  retention_due_ = due;
  retention_at_ = now;
  return *std::move(r);
}

absl::StatusOr<v1::CompactStoreResponse> AdminService::CompactUntil(
    bool storage, const std::function<bool()>& cancelled,
    Operations::Handle* op, absl::Time* next_due) {
  const int steps = storage ? 3 : 2;
  auto step = [&](const char* name, int number) {
    if (op != nullptr) op->Step(name, number, steps);
  };
  // Refused before retention runs: a caller who asked for the storage step
  // learns that it cannot run, rather than getting retention's counts and
  // an empty compaction time that reads as a compaction done.
  if (storage && store_->options().engine == "postgres") {
    const std::string& table = store_->options().pg_table;
    return absl::FailedPreconditionError(absl::StrCat(
        "storage: the postgres engine does not compact its table; "
        "PostgreSQL's autovacuum reclaims the space of removed rows, or by "
        "hand `VACUUM ",
        table, "` (`VACUUM FULL ", table,
        "` returns it to the operating system, but locks the table against "
        "every replica while it runs). Nothing was done: compact without "
        "--storage applies retention alone"));
  }
  v1::CompactStoreResponse out;
  step("retention", 1);
  absl::StatusOr<store::RetentionResult> r =
      store_->ApplyRetention(options_.retention, cancelled);
  if (!r.ok()) return r.status();
  out.set_revisions_removed(r->revisions_removed);
  out.set_articles_purged(r->articles_purged);
  out.set_revisions_purged(r->revisions_purged);
  step("change log", 2);
  absl::StatusOr<int64_t> before = store_->FirstSequence();
  if (!before.ok()) return before.status();
  absl::Time trim_due;
  absl::Status s =
      store_->TrimChanges(options_.changelog_retain_events,
                          options_.changelog_retain_age, &trim_due);
  if (!s.ok()) return s;
  if (next_due != nullptr) *next_due = std::min(r->next_due, trim_due);
  absl::StatusOr<int64_t> after = store_->FirstSequence();
  if (!after.ok()) return after.status();
  out.set_changes_removed(*after - *before);
  if (storage) {
    // Not begun for a caller gone or a stop: once begun it runs to the end.
    if (cancelled && cancelled()) {
      return absl::CancelledError(
          "compact: the storage compaction was not begun (contentd is "
          "stopping, or the call's client left); retention and the "
          "change-log trim are done");
    }
    // Counted in bytes read, of the tables' size (an estimate).
    if (op != nullptr) op->Step("storage", 3, steps, 0, "bytes");
    const absl::Time start = absl::Now();
    s = store_->engine()->CompactAll([op](int64_t done, int64_t total) {
      if (op != nullptr) op->Progress(done, total);
    });
    if (!s.ok()) return s;
    const absl::Duration took = absl::Now() - start;
    out.mutable_storage_compaction_time()->set_seconds(
        absl::ToInt64Seconds(took));
    out.mutable_storage_compaction_time()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(took) % 1000000000));
  }
  return out;
}

grpc::ServerUnaryReactor* AdminService::BackupStore(
    grpc::CallbackServerContext* ctx, const v1::BackupStoreRequest* req,
    v1::BackupStoreResponse* resp) {
  return Run(ctx, [this, req, resp]() -> absl::Status {
    std::string dest = req->destination();
    if (dest.empty() || dest[0] != '/') {
      return InvalidField("destination",
                          "must be an absolute path on the server");
    }
    // `/backups/today/` names the directory `/backups/today`, as for mkdir:
    // with the slash its parent read as itself ("parent directory
    // /backups/today does not exist") and RocksDB wrote inside it.
    while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
    // The error_code form: the throwing one took the server down for a
    // name too long or a parent it may not search.
    std::error_code ec;
    if (std::filesystem::exists(dest, ec)) {
      // Only a directory holding a store can be an earlier run's backup
      // (contentctl then says it is complete): a file, or a directory such
      // as the backups' parent named by mistake, is said as what it is.
      std::error_code kind_ec;
      if (!std::filesystem::is_directory(dest, kind_ec)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "destination: ", dest,
            " already exists and is not a directory: admin backup creates "
            "the directory it writes; name one that does not exist"));
      }
      if (!std::filesystem::exists(dest + "/CURRENT", kind_ec)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "destination: ", dest,
            " already exists and holds no backup (no CURRENT file): admin "
            "backup creates the directory it writes; name one that does not "
            "exist, such as ",
            dest, "/NAME"));
      }
      return absl::AlreadyExistsError(
          absl::StrCat("destination: ", dest, " already exists"));
    }
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("destination: cannot use ", dest, ": ", ec.message()));
    }
    // The key names the directory however it was spelled (`//`, `..`).
    const std::string key =
        std::filesystem::weakly_canonical(dest, ec).string();
    {
      absl::MutexLock lock(&backups_mu_);
      if (!backups_.insert(ec ? dest : key).second) {
        return absl::AlreadyExistsError(absl::StrCat(
            "destination: ", dest,
            " is being written by a backup in progress; when it ends, "
            "`contentd --data-dir ",
            dest, " --check` verifies it"));
      }
    }
    absl::Cleanup done = [this, name = ec ? dest : key] {
      absl::MutexLock lock(&backups_mu_);
      backups_.erase(name);
    };
    Operations::Handle op = operations_.Start("backup");
    // Counted in bytes copied (not hard-linked), of the bytes to copy.
    op.Step("checkpoint", 1, 1, 0, "bytes");
    int64_t last = 0;
    int64_t copied = 0;  // the last count told: the finished copy's
    absl::Status s = store_->Checkpoint(
        dest, &last, [&op, &copied](int64_t done, int64_t total, bool exact) {
          copied = done;
          op.Progress(done, total, exact);
        });
    if (!s.ok()) return s;
    resp->set_destination(dest);
    resp->set_last_sequence(last);
    const int64_t size = FilesBytes(dest);
    // The marker Checkpoint writes last (store::kBackupMarkerFile) is
    // copied bytes too.
    std::error_code marker_ec;
    const uintmax_t marker = std::filesystem::file_size(
        absl::StrCat(dest, "/", store::kBackupMarkerFile), marker_ec);
    if (!marker_ec) copied += static_cast<int64_t>(marker);
    resp->set_size_bytes(size);
    resp->set_copied_bytes(std::min(copied, size));
    const absl::Time now = absl::Now();
    resp->mutable_time()->set_seconds(absl::ToUnixSeconds(now));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::CompactStore(
    grpc::CallbackServerContext* ctx, const v1::CompactStoreRequest* req,
    v1::CompactStoreResponse* resp) {
  return Run(ctx, [this, ctx, req, resp]() -> absl::Status {
    // The retention pass stops when the caller leaves or the stop's grace
    // is over (EndCalls).
    Operations::Handle op = operations_.Start("compact");
    absl::StatusOr<v1::CompactStoreResponse> r = Compact(
        req->storage(), [this, ctx] { return Ending(ctx); }, &op);
    if (!r.ok()) return StoppedStatus(r.status());
    *resp = *std::move(r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::CheckStore(
    grpc::CallbackServerContext* ctx, const v1::CheckStoreRequest* req,
    v1::CheckStoreResponse* resp) {
  return Run(ctx, [this, ctx, req, resp]() -> absl::Status {
    if (req->repair()) {
      // Rebuilding indexes races with writers; only offline is safe. A
      // shared store has no data directory: every replica writes to it.
      return absl::FailedPreconditionError(
          store_->engine()->shared()
              ? "repair: stop every replica and run `contentd --check "
                "--repair --storage-engine postgres --storage-dsn DSN "
                "--storage-table TABLE`; online, CheckStore only reports"
              : "repair: stop contentd and run `contentd --data-dir DIR "
                "--check --repair`; online, CheckStore only reports");
    }
    // Stops when the caller leaves (Ctrl-C, its deadline) or a stop's grace
    // is over (EndCalls: UNAVAILABLE, which the caller may retry).
    Operations::Handle op = operations_.Start("check");
    store::CheckOptions options;
    options.cancelled = [this, ctx] { return Ending(ctx); };
    options.progress = [&op](const store::CheckProgress& p) {
      if (p.done == 0) {
        op.Step(p.step, p.step_number, p.step_count, p.total, p.unit);
      } else {
        op.Progress(p.done, p.total);
      }
    };
    absl::StatusOr<store::FsckReport> report =
        store::CheckStore(*store_, options);
    if (!report.ok()) return StoppedStatus(report.status());
    resp->set_ok(report->clean());
    for (const std::string& p : report->problems) resp->add_problems(p);
    resp->set_problem_count(report->problem_count);
    resp->set_heads_checked(report->articles);
    resp->set_postings_checked(report->postings);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::GetStats(
    grpc::CallbackServerContext* ctx, const v1::GetStatsRequest* req,
    v1::GetStatsResponse* resp) {
  (void)req;
  return Run(
      ctx,
      [this, resp]() -> absl::Status {
        std::unique_ptr<store::ReadView> view = store_->NewReadView();
        // A count that cannot be read fails the call: 0 would read as a store
        // that lost its articles.
        absl::StatusOr<int64_t> live = view->CheckedCount(
            store::PostingPrefix(store::IndexKind::kAll, false, ""));
        if (!live.ok()) return live.status();
        absl::StatusOr<int64_t> deleted = view->CheckedCount(
            store::PostingPrefix(store::IndexKind::kAll, true, ""));
        if (!deleted.ok()) return deleted.status();
        resp->set_live_articles(*live);
        resp->set_deleted_articles(*deleted);
        resp->set_last_sequence(store_->last_sequence());
        absl::StatusOr<int64_t> first = store_->FirstSequence();
        if (first.ok()) resp->set_first_sequence(*first);
        if (service_stats_) service_stats_(resp);
        if (absl::Status refused = store_->WritesRefused(); !refused.ok()) {
          resp->set_read_only(true);
          resp->set_read_only_reason(ReasonOf(refused));
          resp->set_read_only_message(std::string(refused.message()));
        }
        for (auto& [k, v] : store_->StorageStats())
          (*resp->mutable_storage())[k] = v;
        for (auto& [k, v] : AllocatorStats()) (*resp->mutable_storage())[k] = v;
        *resp->mutable_operations() =
            std::move(*operations_.List().mutable_operations());
        return absl::OkStatus();
      },
      stats_work_.get());
}

grpc::ServerUnaryReactor* AdminService::ListOperations(
    grpc::CallbackServerContext* ctx, const v1::ListOperationsRequest* req,
    v1::ListOperationsResponse* resp) {
  (void)req;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (absl::Status s = Allow(*ctx); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  *resp = operations_.List();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace content::service
