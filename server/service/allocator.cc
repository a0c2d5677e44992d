#include "server/service/allocator.h"

#include <dlfcn.h>

#include <cstddef>

#include "absl/strings/str_cat.h"

namespace content::service {
namespace {

// gperftools' C interface (malloc_extension_c.h); both return 1 on success.
using GetNumeric = int (*)(const char*, size_t*);
using ReleaseToSystem = void (*)(size_t);

template <typename F>
F Find(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

FreePageReturner::FreePageReturner(const Options& options) {
  if (Find<ReleaseToSystem>("MallocExtension_ReleaseToSystem") == nullptr)
    return;  // not tcmalloc: nothing to do, no thread
  thread_ = std::thread([this, options] {
    while (!stop_.WaitForNotificationWithTimeout(options.period))
      ReturnOnce(options.reserve_bytes);
  });
}

FreePageReturner::~FreePageReturner() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

size_t FreePageReturner::ReturnOnce(size_t reserve_bytes) {
  auto get = Find<GetNumeric>("MallocExtension_GetNumericProperty");
  auto release = Find<ReleaseToSystem>("MallocExtension_ReleaseToSystem");
  size_t free_bytes = 0;
  if (get == nullptr || release == nullptr ||
      get("tcmalloc.pageheap_free_bytes", &free_bytes) != 1 ||
      free_bytes <= reserve_bytes) {
    return 0;
  }
  // Whole spans, largest first: a handful of madvise calls per sweep.
  release(free_bytes - reserve_bytes);
  return free_bytes - reserve_bytes;
}

void ReturnThreadCache() {
  static const auto mark_idle =
      Find<void (*)()>("MallocExtension_MarkThreadIdle");
  if (mark_idle != nullptr) mark_idle();
}

std::vector<std::pair<std::string, std::string>> AllocatorStats() {
  std::vector<std::pair<std::string, std::string>> out;
  auto get = Find<GetNumeric>("MallocExtension_GetNumericProperty");
  if (get == nullptr) return out;
  for (const auto& [key, property] :
       {std::pair<const char*, const char*>{"allocator.allocated-bytes",
                                            "generic.current_allocated_bytes"},
        {"allocator.heap-bytes", "generic.heap_size"},
        {"allocator.free-bytes", "tcmalloc.pageheap_free_bytes"},
        {"allocator.returned-bytes", "tcmalloc.pageheap_unmapped_bytes"},
        {"allocator.thread-cache-bytes",
         "tcmalloc.current_total_thread_cache_bytes"}}) {
    size_t value = 0;
    if (get(property, &value) == 1) out.emplace_back(key, absl::StrCat(value));
  }
  return out;
}

}  // namespace content::service
