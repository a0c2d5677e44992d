#include "bench/histogram.h"

#include <algorithm>
#include <cmath>

namespace content::bench {

int Histogram::Index(uint64_t v) {
  if (v < 128) return static_cast<int>(v);
  const int msb = 63 - __builtin_clzll(v);                         // >= 7
  const int shift = msb - kSubBits;                                // >= 1
  const int sub = static_cast<int>(v >> shift) - (1 << kSubBits);  // 0..63
  return 128 + (shift - 1) * (1 << kSubBits) + sub;
}

uint64_t Histogram::Midpoint(int index) {
  if (index < 128) return static_cast<uint64_t>(index);
  const int shift = (index - 128) / (1 << kSubBits) + 1;
  const uint64_t sub = (index - 128) % (1 << kSubBits) + (1 << kSubBits);
  return (sub << shift) + ((uint64_t{1} << shift) >> 1);
}

void Histogram::Record(uint64_t nanos) {
  ++buckets_[Index(nanos)];
  ++count_;
  sum_ += nanos;
  max_ = std::max(max_, nanos);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

uint64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  // Nearest rank: the smallest value with at least q of the calls at or
  // below it. Rounding q * count to nearest took one rank fewer whenever
  // its fraction was under a half: p99.9 of 700 calls (699.3) was the
  // second slowest, not the slowest.
  const uint64_t rank = std::max<uint64_t>(
      1,
      static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_) - 1e-9)));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(Midpoint(i), max_);
  }
  return max_;
}

}  // namespace content::bench
