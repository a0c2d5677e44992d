// ImportArticles and ExportArticles stream reactors.
#ifndef CONTENT_SERVER_SERVICE_BULK_H_
#define CONTENT_SERVER_SERVICE_BULK_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content/v1/content_service.pb.h"
#include "server/service/validation.h"
#include "server/service/work_queue.h"
#include "server/store/store.h"

namespace content::service {

// Most articles in one ImportArticles request.
inline constexpr int kMaxImportBatch = 1000;

class ImportReactor;

// Runs ImportArticles calls (raw: serialized ImportArticlesRequest and
// Response). Each reads a batch, writes it on `writes` (one store batch,
// one sync), answers it, then reads the next, so a client can never queue
// more than one batch of work on the server. An article that does not parse
// fails alone (gRPC would end the stream at it, as if the client had).
// Thread-safe. Outlives the calls it opened: destroy it after the gRPC
// server has shut down.
class ImportHub {
 public:
  ImportHub(store::Store* store, WorkQueue* writes, const Limits& limits)
      : store_(store), writes_(writes), limits_(limits) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Open();
  // Ends every import, now and to come, with UNAVAILABLE ("contentd is
  // stopping"): at once where it waits for its client's next batch, after
  // the answer to the batch it is writing otherwise (that batch is whole in
  // the store, and its client has the results).
  void EndAll();

 private:
  friend class ImportReactor;
  void Remove(ImportReactor* reactor);

  store::Store* const store_;
  WorkQueue* const writes_;
  const Limits limits_;
  // Lock order: mu_, then an import's lock.
  absl::Mutex mu_;
  std::set<ImportReactor*> imports_ ABSL_GUARDED_BY(mu_);
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
};

class ExportReactor;

// Options for ExportArticles.
struct ExportOptions {
  // An export whose client has not taken the last batch for this long is
  // ended with RESOURCE_EXHAUSTED, and its snapshot (which pins every
  // version the store had when it began) and page released; zero: never.
  // A batch holds up to 2 MiB (100 articles), and a client that works on
  // each article as it comes takes the next batch only when done with this
  // one, so the bound is for clients gone, not slow ones. Default: 5 min.
  absl::Duration stall_timeout = absl::Minutes(5);
  // Where a cut-off export is logged (one line per export cut off); must
  // outlive the hub. Default: null, standard error.
  std::ostream* log = nullptr;
  // On a shared store, exports reading at once (each holds a snapshot, a
  // database connection, from its first page to its end); one more waits
  // for one of them to end before it reads its first page. Zero: no
  // bound. contentd sets half storage.pool_size (at least 1).
  int max_snapshots = 0;
};

// Runs ExportArticles calls and cuts off stalled ones (a thread looks
// every 200 ms, as WatchHub does for watchers). Thread-safe. Outlives the
// calls it opened: destroy it after the gRPC server has shut down.
class ExportHub {
 public:
  // `reads` (may be null: pages are read on the thread that asks) runs
  // the page reads of a shared store, off gRPC's callback threads; it must
  // outlive the exports.
  explicit ExportHub(const ExportOptions& options, WorkQueue* reads = nullptr);
  ~ExportHub();

  // One ExportArticles call: pages through the query and writes a batch at
  // a time, reading the next page only when the client took the last one,
  // and stopping when `ctx` is cancelled (or its deadline passes) or the
  // client stalls (ExportOptions::stall_timeout).
  grpc::ServerWriteReactor<v1::ExportArticlesResponse>* Open(
      grpc::CallbackServerContext* ctx, store::Store* store,
      const Limits& limits, const v1::ExportArticlesRequest& request);
  // Exports currently open.
  int exports() const;
  // Exports ended since the hub started because their client left a batch
  // untaken for stall_timeout (EXPORT_TOO_SLOW).
  int64_t stalled() const { return stalled_.load(); }
  // Ends every export, now and to come, with `status` (those writing a
  // batch end as their client takes it).
  void EndAll(const grpc::Status& status);

 private:
  friend class ExportReactor;
  void Loop();
  void Remove(ExportReactor* reactor);
  // Writes `line` and a newline to options_.log, or standard error.
  void Log(const std::string& line);

  const ExportOptions options_;
  WorkQueue* const reads_;
  // Lock order: mu_, then an export's lock.
  mutable absl::Mutex mu_;
  std::set<ExportReactor*> exports_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set by EndAll: exports opened later end at once with ending_status_.
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status ending_status_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> stalled_{0};
  // Snapshots the exports of a shared store hold (max_snapshots). Shared
  // with their deleters, which may run on a read thread after the hub.
  std::shared_ptr<std::atomic<int>> snapshots_ =
      std::make_shared<std::atomic<int>>(0);
  std::thread thread_;
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_BULK_H_
