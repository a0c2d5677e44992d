#include "server/store/keys.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace content::store {

void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t ReadBigEndian64(absl::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

uint64_t DateKeyFromMicros(int64_t micros) {
  return ~(static_cast<uint64_t>(micros) ^ (uint64_t{1} << 63));
}

uint64_t DateKey(const google::protobuf::Timestamp& date) {
  // Seconds fit comfortably: Timestamp is bounded to years 1..9999.
  return DateKeyFromMicros(date.seconds() * 1000000 + date.nanos() / 1000);
}

std::string PostingPrefix(IndexKind kind, bool deleted,
                          absl::string_view term) {
  std::string key;
  key.reserve(term.size() + 2);
  key.push_back(static_cast<char>(static_cast<uint8_t>(kind) |
                                  (deleted ? kDeletedBit : 0)));
  key.append(term.data(), term.size());
  key.push_back('\0');
  return key;
}

std::string PostingPrefix(IndexKind kind, ListState state,
                          absl::string_view term) {
  std::string key;
  key.reserve(term.size() + 2);
  uint8_t byte = static_cast<uint8_t>(kind);
  if (state == ListState::kDeleted) byte |= kDeletedBit;
  if (state == ListState::kUnpublished) byte &= ~kUnpublishedBit;
  key.push_back(static_cast<char>(byte));
  key.append(term.data(), term.size());
  key.push_back('\0');
  return key;
}

IndexKind KindOf(unsigned char first_byte) {
  return static_cast<IndexKind>((first_byte & ~kDeletedBit) | kUnpublishedBit);
}

ListState StateOf(unsigned char first_byte) {
  if (first_byte & kDeletedBit) return ListState::kDeleted;
  if (!(first_byte & kUnpublishedBit)) return ListState::kUnpublished;
  return ListState::kLive;
}

std::string PostingKey(absl::string_view prefix, uint64_t date_key,
                       absl::string_view id) {
  std::string key;
  key.reserve(prefix.size() + 8 + id.size());
  key.append(prefix.data(), prefix.size());
  AppendBigEndian64(&key, date_key);
  key.append(id.data(), id.size());
  return key;
}

bool ParsePostingKey(absl::string_view key, size_t prefix_size,
                     uint64_t* date_key, absl::string_view* id) {
  if (key.size() < prefix_size + 8) return false;
  *date_key = ReadBigEndian64(key.substr(prefix_size));
  *id = key.substr(prefix_size + 8);
  return true;
}

std::string RevisionKey(absl::string_view id, int64_t revision) {
  std::string key;
  key.reserve(id.size() + 9);
  key.append(id.data(), id.size());
  key.push_back('\0');
  AppendBigEndian64(&key, static_cast<uint64_t>(revision));
  return key;
}

std::string CountKey(absl::string_view posting_prefix) {
  return absl::StrCat("n/", posting_prefix);
}

bool HasCounter(absl::string_view posting_prefix) {
  if (posting_prefix.empty()) return true;
  const IndexKind kind = KindOf(static_cast<unsigned char>(posting_prefix[0]));
  return kind != IndexKind::kGroup && kind != IndexKind::kText &&
         kind != IndexKind::kExpiry;
}

uint32_t TagFingerprint(absl::string_view tag) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : tag) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

std::string TagFingerprints(
    const google::protobuf::RepeatedPtrField<std::string>& tags) {
  std::vector<uint32_t> fps;
  fps.reserve(tags.size());
  for (const std::string& t : tags) fps.push_back(TagFingerprint(t));
  std::sort(fps.begin(), fps.end());
  fps.erase(std::unique(fps.begin(), fps.end()), fps.end());
  std::string out;
  out.reserve(fps.size() * kTagFingerprintBytes);
  for (uint32_t fp : fps) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((fp >> shift) & 0xff));
  }
  return out;
}

bool HasTagFingerprint(absl::string_view fingerprints, uint32_t fp) {
  for (size_t i = 0; i + kTagFingerprintBytes <= fingerprints.size();
       i += kTagFingerprintBytes) {
    const auto* b = reinterpret_cast<const unsigned char*>(&fingerprints[i]);
    const uint32_t v = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
                       (uint32_t{b[2]} << 8) | uint32_t{b[3]};
    if (v == fp) return true;
    if (v > fp) return false;  // sorted
  }
  return false;
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string s(prefix.data(), prefix.size());
  while (!s.empty()) {
    unsigned char last = static_cast<unsigned char>(s.back());
    if (last != 0xff) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

}  // namespace content::store
