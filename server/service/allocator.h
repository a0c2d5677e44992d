// The process's malloc, when it is gperftools' tcmalloc (CONTENT_TCMALLOC).
// Found at run time by symbol, so builds without tcmalloc (sanitizers, fuzz,
// -DCONTENT_TCMALLOC=OFF) work unchanged and these do nothing.
#ifndef CONTENT_SERVER_SERVICE_ALLOCATOR_H_
#define CONTENT_SERVER_SERVICE_ALLOCATOR_H_

#include <cstddef>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace content::service {

// Hands the pages tcmalloc holds free beyond a reserve back to the OS, in
// one sweep per period on its own thread, until destroyed. tcmalloc keeps
// freed spans mapped for reuse and returns them slowly: after a
// text-indexed import RSS stayed 340 MiB above what was in use. Returning
// each span as it is freed (tcmalloc's aggressive decommit) keeps RSS down
// too, but every return is an madvise and a TLB shootdown across cores; on
// this project's VMs that was 60% of an import's server CPU
// (docs/benchmarks.md). Does nothing when malloc is not tcmalloc.
// Thread-safe.
class FreePageReturner {
 public:
  struct Options {
    // How often the free pages are checked. Default 1 s.
    absl::Duration period = absl::Seconds(1);
    // Free bytes kept mapped for reuse. Default 32 MiB.
    size_t reserve_bytes = size_t{32} << 20;
  };
  explicit FreePageReturner(const Options& options);
  ~FreePageReturner();
  FreePageReturner(const FreePageReturner&) = delete;
  FreePageReturner& operator=(const FreePageReturner&) = delete;

  // Returns what is free beyond the reserve now; the bytes asked back
  // (0 when malloc is not tcmalloc or nothing is beyond the reserve).
  static size_t ReturnOnce(size_t reserve_bytes);

 private:
  absl::Notification stop_;
  std::thread thread_;
};

// Hands the calling thread's cached free objects back to tcmalloc's shared
// lists (MallocExtension_MarkThreadIdle). tcmalloc shares one budget (32
// MiB by default) among all threads' caches, and a cache shrinks only when
// its own thread allocates: a pool thread that went idle after an import
// kept its share, and the threads still serving queries ran on small
// caches, going to the shared lists (a spin lock, cold objects) for most
// allocations: a query page cost twice the CPU until a restart
// (docs/benchmarks.md). The thread's next allocation starts a new cache.
// Nothing when malloc is not tcmalloc. Thread-safe.
void ReturnThreadCache();

// "allocator.*" sizes in bytes for admin stats (what the program holds, what
// the allocator holds free, what it returned to the OS); empty when malloc
// is not tcmalloc. Thread-safe.
std::vector<std::pair<std::string, std::string>> AllocatorStats();

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_ALLOCATOR_H_
