// The progress line that `contentctl admin` and `contentd --check` draw.
#include "common/progress_line.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace content::internal {
namespace {

v1::RunningOperation Operation(int64_t done, int64_t total,
                               const std::string& unit) {
  v1::RunningOperation op;
  op.set_kind("compact");
  op.set_step("storage");
  op.set_step_number(3);
  op.set_step_count(3);
  op.set_done(done);
  op.set_total(total);
  op.set_unit(unit);
  return op;
}

TEST(ProgressLineTest, BytesReadAsSizes) {
  EXPECT_EQ(Bytes(0), "0 B");
  EXPECT_EQ(Bytes(1023), "1023 B");
  EXPECT_EQ(Bytes(1536), "1.5 KiB");
  EXPECT_EQ(Bytes(int64_t{3} << 30), "3.0 GiB");
  EXPECT_EQ(ProgressLine(Operation(int64_t{1} << 30, int64_t{4} << 30, "bytes"),
                         absl::Seconds(65)),
            "compact: step 3/3 storage [#####...............] 25% 1.0 GiB of "
            "~4.0 GiB, 1m05s");
  // Past its total (an estimate): the count alone.
  EXPECT_EQ(ProgressLine(Operation(int64_t{5} << 20, int64_t{4} << 20, "bytes"),
                         absl::Seconds(2)),
            "compact: step 3/3 storage 5.0 MiB, 2s");
}

// A total the server says is exact (a backup of a store opened read-only)
// has no `~`.
TEST(ProgressLineTest, AnExactTotalIsNotMarkedAsAnEstimate) {
  v1::RunningOperation op =
      Operation(int64_t{1} << 30, int64_t{4} << 30, "bytes");
  op.set_kind("backup");
  op.set_step("checkpoint");
  op.set_step_number(1);
  op.set_step_count(1);
  op.set_total_exact(true);
  EXPECT_EQ(ProgressLine(op, absl::Seconds(12)),
            "backup: checkpoint [#####...............] 25% 1.0 GiB of 4.0 "
            "GiB, 12s");
  op.set_total_exact(false);
  EXPECT_EQ(ProgressLine(op, absl::Seconds(12)),
            "backup: checkpoint [#####...............] 25% 1.0 GiB of ~4.0 "
            "GiB, 12s");
}

TEST(ProgressLineTest, OtherUnitsAreGroupedCounts) {
  EXPECT_EQ(ProgressLine(Operation(1234567, 4900000, "keys"), absl::Seconds(3)),
            "compact: step 3/3 storage [#####...............] 25% 1,234,567 "
            "of ~4,900,000 keys, 3s");
  EXPECT_EQ(ProgressLine(Operation(0, 0, ""), absl::Seconds(1),
                         "12,000 postings written"),
            "compact: step 3/3 storage, 12,000 postings written, 1s");
}

}  // namespace
}  // namespace content::internal
