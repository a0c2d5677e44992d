// contentbench's latency histogram (bench/histogram.h): percentiles by
// nearest rank, exact below 128 ns.
#include "bench/histogram.h"
#include "gtest/gtest.h"

namespace content::bench {
namespace {

TEST(BenchHistogramTest, PercentileIsTheNearestRank) {
  Histogram h;
  for (uint64_t v = 1; v <= 106; ++v) h.Record(v);
  // 0.9 x 106 = 95.4: the 96th value, not the 95th.
  EXPECT_EQ(h.Percentile(0.9), 96u);
  EXPECT_EQ(h.Percentile(0.5), 53u);
  EXPECT_EQ(h.Percentile(0.99), 105u);
  EXPECT_EQ(h.Percentile(1.0), 106u);
  EXPECT_EQ(h.Percentile(0.0), 1u);
  EXPECT_EQ(Histogram().Percentile(0.5), 0u);
}

// p99.9 of 700 calls (699.3) is the slowest one: rounding to the nearest
// rank gave the 699th, and hid it.
TEST(BenchHistogramTest, OneSlowCallInSevenHundredIsTheP999) {
  Histogram h;
  for (int i = 0; i < 699; ++i) h.Record(10);
  h.Record(100);
  EXPECT_EQ(h.Percentile(0.999), 100u);
  EXPECT_EQ(h.Percentile(0.99), 10u);
  EXPECT_EQ(h.max(), 100u);
}

// Past 128 ns a value lands in a bucket 1/64 of its octave wide.
TEST(BenchHistogramTest, LargeValuesAreWithinTheBucketError) {
  Histogram h;
  h.Record(1000000);
  h.Record(3000000);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.5)), 1e6, 1e6 / 64);
  EXPECT_NEAR(static_cast<double>(h.Percentile(1.0)), 3e6, 3e6 / 64);
  EXPECT_LE(h.Percentile(1.0), 3000000u);  // never above the max seen
  EXPECT_DOUBLE_EQ(h.mean(), 2e6);
}

}  // namespace
}  // namespace content::bench
