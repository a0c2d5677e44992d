// Latency histogram with log-linear buckets (HdrHistogram's layout, written
// here): exact below 128 ns, then 64 sub-buckets per power of two, so any
// reported percentile is within 1.6% of the recorded value.
#ifndef CONTENT_BENCH_HISTOGRAM_H_
#define CONTENT_BENCH_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace content::bench {

// Thread-compatible: one writer at a time; Merge to combine.
class Histogram {
 public:
  void Record(uint64_t nanos);
  void Merge(const Histogram& other);
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const {
    return count_ ? static_cast<double>(sum_) / count_ : 0;
  }
  // Value at quantile q in [0, 1] by nearest rank (the value of the
  // ceil(q * count)-th smallest, within the bucket error; 0 when empty),
  // in nanoseconds.
  uint64_t Percentile(double q) const;

 private:
  static constexpr int kSubBits = 6;  // 64 sub-buckets per octave
  static constexpr int kBuckets = 128 + 58 * (1 << kSubBits);
  static int Index(uint64_t v);
  static uint64_t Midpoint(int index);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace content::bench

#endif  // CONTENT_BENCH_HISTOGRAM_H_
