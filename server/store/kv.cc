#include "server/store/kv.h"

#include <cstring>
#include <iterator>
#include <utility>

namespace content::store {

namespace {
// Big enough that a batch of small ops allocates rarely, small enough that
// a single write does not hold much.
constexpr size_t kBlockSize = 32 << 10;
}  // namespace

KvBatch::KvBatch(const KvBatch& other) { *this = other; }

KvBatch& KvBatch::operator=(const KvBatch& other) {
  if (this == &other) return *this;
  ops_.clear();
  blocks_.clear();
  free_ = nullptr;
  free_size_ = 0;
  ops_.reserve(other.ops_.size());
  for (const Op& op : other.ops_) Add(op.type, op.family, op.key, op.value);
  return *this;
}

KvBatch& KvBatch::operator=(KvBatch&& other) noexcept {
  if (this == &other) return *this;
  ops_ = std::move(other.ops_);
  blocks_ = std::move(other.blocks_);
  free_ = other.free_;
  free_size_ = other.free_size_;
  other.ops_.clear();
  other.blocks_.clear();
  other.free_ = nullptr;
  other.free_size_ = 0;
  return *this;
}

size_t KvBatch::ApproximateBytes() const {
  // RocksDB frames an op with a type byte, the family and two varint
  // lengths: 16 bytes covers them.
  constexpr size_t kOpFraming = 16;
  size_t bytes = 0;
  for (const Op& op : ops_) bytes += op.key.size() + op.value.size();
  return bytes + kOpFraming * ops_.size();
}

absl::string_view KvBatch::Keep(absl::string_view bytes) {
  if (bytes.empty()) return absl::string_view();
  if (bytes.size() > free_size_) {
    if (bytes.size() > kBlockSize / 4) {
      // A big value gets a block of its own; the current one stays open.
      // Inserted before the current block, so blocks_.back() stays current.
      // Not zeroed first (as make_unique<char[]> does) only to be
      // overwritten: that zeroing also made GCC 12 warn that the copy might
      // write more than PTRDIFF_MAX bytes (-Wstringop-overflow), a size no
      // string_view has and new[] would have thrown for.
      std::unique_ptr<char[]> own(new char[bytes.size()]);
      std::memcpy(own.get(), bytes.data(), bytes.size());
      const absl::string_view view(own.get(), bytes.size());
      blocks_.insert(blocks_.empty() ? blocks_.end() : blocks_.end() - 1,
                     std::move(own));
      return view;
    }
    blocks_.push_back(std::unique_ptr<char[]>(new char[kBlockSize]));
    free_ = blocks_.back().get();
    free_size_ = kBlockSize;
  }
  std::memcpy(free_, bytes.data(), bytes.size());
  const absl::string_view view(free_, bytes.size());
  free_ += bytes.size();
  free_size_ -= bytes.size();
  return view;
}

void KvBatch::Add(OpType type, Family family, absl::string_view key,
                  absl::string_view value) {
  const absl::string_view k = Keep(key);
  const absl::string_view v = Keep(value);
  ops_.push_back({type, family, k, v});
}

void KvBatch::Put(Family family, absl::string_view key,
                  absl::string_view value) {
  Add(OpType::kPut, family, key, value);
}

void KvBatch::Delete(Family family, absl::string_view key) {
  Add(OpType::kDelete, family, key, {});
}

void KvBatch::DeleteRange(Family family, absl::string_view begin,
                          absl::string_view end) {
  Add(OpType::kDeleteRange, family, begin, end);
}

void KvBatch::AddInt64(Family family, absl::string_view key, int64_t delta) {
  char value[sizeof(delta)];
  uint64_t u = static_cast<uint64_t>(delta);
  for (size_t i = 0; i < sizeof(u); ++i)
    value[i] = static_cast<char>(u >> (8 * i));
  Add(OpType::kAddInt64, family, key, absl::string_view(value, sizeof(value)));
}

void KvBatch::Expect(Family family, absl::string_view key,
                     absl::string_view value) {
  Add(OpType::kExpect, family, key, value);
}

void KvBatch::ExpectMissing(Family family, absl::string_view key) {
  Add(OpType::kExpectMissing, family, key, {});
}

void KvBatch::Append(KvBatch&& other) {
  // The views point into other's blocks, which move here with them. Its
  // open block stays open there (it is ours now, but nothing more goes in).
  ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
  if (blocks_.empty()) {
    blocks_ = std::move(other.blocks_);
    free_ = other.free_;
    free_size_ = other.free_size_;
  } else {
    blocks_.insert(blocks_.end() - 1,
                   std::make_move_iterator(other.blocks_.begin()),
                   std::make_move_iterator(other.blocks_.end()));
  }
  other.ops_.clear();
  other.blocks_.clear();
  other.free_ = nullptr;
  other.free_size_ = 0;
}

int64_t KvEngine::EstimateKeys(Family family, absl::string_view begin,
                               absl::string_view end) {
  KvReadOptions ro;
  ro.lower_bound = std::string(begin);
  ro.upper_bound = std::string(end);
  std::unique_ptr<KvIterator> it = NewIterator(family, ro);
  int64_t n = 0;
  for (it->SeekToFirst(); it->Valid() && n < kEstimateCountCap; it->Next()) ++n;
  return n;
}

absl::Status KvEngine::CountKeys(
    Family family,
    const std::vector<std::pair<std::string, std::string>>& ranges,
    std::vector<int64_t>* counts, const KvReadOptions& options) {
  counts->assign(ranges.size(), 0);
  for (size_t i = 0; i < ranges.size(); ++i) {
    KvReadOptions ro = options;
    ro.lower_bound = ranges[i].first;
    ro.upper_bound = ranges[i].second;
    std::unique_ptr<KvIterator> it = NewIterator(family, ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++(*counts)[i];
    if (!it->status().ok()) return it->status();
  }
  return absl::OkStatus();
}

}  // namespace content::store
