// The process's malloc, when it is gperftools' tcmalloc (CONTENT_TCMALLOC).
// Found at run time by symbol, so builds without tcmalloc (sanitizers, fuzz,
// -DCONTENT_TCMALLOC=OFF) work unchanged and these do nothing.
#ifndef CONTENT_SERVER_SERVICE_ALLOCATOR_H_
#define CONTENT_SERVER_SERVICE_ALLOCATOR_H_

#include <string>
#include <utility>
#include <vector>

namespace content::service {

// Makes tcmalloc hand freed page spans back to the OS at once instead of
// keeping them for reuse. Returns false when malloc is not tcmalloc.
// Thread-safe.
bool ReturnFreedPagesEagerly();

// "allocator.*" sizes in bytes for admin stats (what the program holds, what
// the allocator holds free, what it returned to the OS); empty when malloc
// is not tcmalloc. Thread-safe.
std::vector<std::pair<std::string, std::string>> AllocatorStats();

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_ALLOCATOR_H_
