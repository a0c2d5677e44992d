// FreePageReturner against the real tcmalloc (this binary links it, as
// contentd does).
#include "server/service/allocator.h"

#include <gperftools/malloc_extension_c.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace content::service {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

size_t Property(const char* name) {
  size_t v = 0;
  EXPECT_EQ(MallocExtension_GetNumericProperty(name, &v), 1) << name;
  return v;
}

// Allocates and frees `mib` spans of 1 MiB, each touched so it is resident;
// large spans go straight back to tcmalloc's page heap.
void AllocateAndFree(size_t mib) {
  std::vector<std::unique_ptr<char[]>> blocks;
  for (size_t i = 0; i < mib; ++i) {
    blocks.emplace_back(new char[kMiB]);
    std::memset(blocks.back().get(), 1, kMiB);
  }
}

TEST(FreePageReturnerTest, ReturnOnceKeepsOnlyTheReserve) {
  AllocateAndFree(96);
  const size_t free_before = Property("tcmalloc.pageheap_free_bytes");
  ASSERT_GT(free_before, 48 * kMiB);
  const size_t unmapped_before = Property("tcmalloc.pageheap_unmapped_bytes");

  EXPECT_EQ(FreePageReturner::ReturnOnce(16 * kMiB), free_before - 16 * kMiB);
  // Whole spans: at most one span's worth below the reserve.
  EXPECT_LE(Property("tcmalloc.pageheap_free_bytes"), 16 * kMiB);
  EXPECT_GE(Property("tcmalloc.pageheap_unmapped_bytes"),
            unmapped_before + free_before - 17 * kMiB);
  // Nothing beyond the reserve: nothing asked back.
  EXPECT_EQ(FreePageReturner::ReturnOnce(free_before), 0u);
}

TEST(FreePageReturnerTest, ItsThreadReturnsFreedPagesWithinAPeriod) {
  FreePageReturner::Options options;
  options.period = absl::Milliseconds(20);
  options.reserve_bytes = 8 * kMiB;
  FreePageReturner returner(options);
  AllocateAndFree(96);
  size_t free_bytes = 0;
  for (int i = 0; i < 250; ++i) {  // up to 5 s
    free_bytes = Property("tcmalloc.pageheap_free_bytes");
    if (free_bytes <= 8 * kMiB) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LE(free_bytes, 8 * kMiB);
}

// A thread's cache of freed small objects goes back to the shared lists, so
// idle threads do not hold the cache budget busy ones need.
TEST(ReturnThreadCacheTest, EmptiesTheCallingThreadsCache) {
  std::thread([] {
    {
      std::vector<std::unique_ptr<char[]>> small;
      for (int i = 0; i < 20000; ++i) small.emplace_back(new char[48]);
    }  // freed into this thread's cache
    const size_t before = MallocExtension_GetThreadCacheSize();
    ASSERT_GT(before, size_t{64} << 10);
    ReturnThreadCache();
    EXPECT_LT(MallocExtension_GetThreadCacheSize(), before / 4);
  }).join();
}

TEST(AllocatorStatsTest, ReportThreadCacheBytes) {
  bool found = false;
  for (const auto& [key, value] : AllocatorStats()) {
    if (key == "allocator.thread-cache-bytes") found = !value.empty();
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace content::service
