// The admin operations (backups, compactions, checks) a server is running,
// with their progress, for AdminService.ListOperations.
#ifndef CONTENT_SERVER_SERVICE_OPERATIONS_H_
#define CONTENT_SERVER_SERVICE_OPERATIONS_H_

#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "content/v1/admin_service.pb.h"

namespace content::service {

// Thread-safe.
class Operations {
 public:
  // Called with the operation as listed after each Step and Progress, on
  // the thread that reports, outside any lock; it may block, holding the
  // operation there (contentd --hold-operations, for tests).
  using ReportHook = std::function<void(const v1::RunningOperation&)>;

  explicit Operations(ReportHook on_report = nullptr)
      : on_report_(std::move(on_report)) {}

  // One operation, listed from Start until destroyed. Movable, not
  // copyable; updated by the thread that runs the operation.
  class Handle {
   public:
    Handle(Handle&& other) noexcept;
    Handle& operator=(Handle&&) = delete;
    ~Handle();
    // Begins step `number` of `count`, about `total` `unit`s to go
    // through (0: not counted).
    void Step(const std::string& name, int number, int count, int64_t total = 0,
              const std::string& unit = "");
    // How far the step has come, and a new total: an estimate unless
    // `exact`.
    void Progress(int64_t done, int64_t total, bool exact = false);

   private:
    friend class Operations;
    // Tells on_report_ (if set) what the operation now is.
    void Reported();
    Handle(Operations* owner, std::list<v1::RunningOperation>::iterator it)
        : owner_(owner), it_(it) {}
    Operations* owner_;  // null once moved from
    std::list<v1::RunningOperation>::iterator it_;
  };

  // Lists an operation of `kind` ("backup", "compact", "check") begun now.
  Handle Start(const std::string& kind);
  // Every operation listed, oldest first.
  v1::ListOperationsResponse List() const;

 private:
  const ReportHook on_report_;
  mutable absl::Mutex mu_;
  std::list<v1::RunningOperation> running_ ABSL_GUARDED_BY(mu_);
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_OPERATIONS_H_
