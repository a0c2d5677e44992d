#include "server/store/kv.h"

#include <cstring>
#include <iterator>
#include <utility>

namespace content::store {

void KvBatch::Put(Family family, std::string key, std::string value) {
  ops_.push_back({OpType::kPut, family, std::move(key), std::move(value)});
}

void KvBatch::Delete(Family family, std::string key) {
  ops_.push_back({OpType::kDelete, family, std::move(key), {}});
}

void KvBatch::DeleteRange(Family family, std::string begin, std::string end) {
  ops_.push_back(
      {OpType::kDeleteRange, family, std::move(begin), std::move(end)});
}

void KvBatch::AddInt64(Family family, std::string key, int64_t delta) {
  std::string value(sizeof(delta), '\0');
  uint64_t u = static_cast<uint64_t>(delta);
  for (size_t i = 0; i < sizeof(u); ++i)
    value[i] = static_cast<char>(u >> (8 * i));
  ops_.push_back({OpType::kAddInt64, family, std::move(key), std::move(value)});
}

void KvBatch::Expect(Family family, std::string key, std::string value) {
  ops_.push_back({OpType::kExpect, family, std::move(key), std::move(value)});
}

void KvBatch::ExpectMissing(Family family, std::string key) {
  ops_.push_back({OpType::kExpectMissing, family, std::move(key), {}});
}

void KvBatch::Append(KvBatch&& other) {
  ops_.insert(ops_.end(), std::make_move_iterator(other.ops_.begin()),
              std::make_move_iterator(other.ops_.end()));
  other.ops_.clear();
}

}  // namespace content::store
