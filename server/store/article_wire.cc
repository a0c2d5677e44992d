#include "server/store/article_wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace content::store {
namespace {

using google::protobuf::internal::WireFormatLite;

// Field numbers of v1::Article read by ParseArticleSkeleton.
constexpr int kDateField = v1::Article::kDateFieldNumber;
constexpr int kBodyField = v1::Article::kBodyFieldNumber;

// Reads a length-delimited Timestamp at the stream's position in `bytes`.
bool ReadTimestamp(absl::string_view bytes,
                   google::protobuf::io::CodedInputStream* in,
                   google::protobuf::Timestamp* ts) {
  uint32_t length = 0;
  if (!in->ReadVarint32(&length)) return false;
  const int pos = in->CurrentPosition();
  if (length > bytes.size() - static_cast<size_t>(pos)) return false;
  return ts->ParseFromArray(bytes.data() + pos, static_cast<int>(length)) &&
         in->Skip(static_cast<int>(length));
}

// The skeleton's Timestamp field numbered `field`, or null.
google::protobuf::Timestamp* TimestampField(int field, v1::Article* a) {
  switch (field) {
    case kDateField:
      return a->mutable_date();
    case v1::Article::kPublishTimeFieldNumber:
      return a->mutable_publish_time();
    case v1::Article::kExpiryTimeFieldNumber:
      return a->mutable_expiry_time();
    case v1::Article::kCreateTimeFieldNumber:
      return a->mutable_create_time();
    case v1::Article::kUpdateTimeFieldNumber:
      return a->mutable_update_time();
    case v1::Article::kDeleteTimeFieldNumber:
      return a->mutable_delete_time();
    default:
      return nullptr;
  }
}

}  // namespace

bool ParseArticleSkeleton(absl::string_view bytes, v1::Article* out) {
  out->Clear();
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage();
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const auto type = WireFormatLite::GetTagWireType(tag);
    const bool is_len = type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    const bool is_varint = type == WireFormatLite::WIRETYPE_VARINT;
    if (is_varint && field == v1::Article::kStateFieldNumber) {
      uint32_t v = 0;
      if (!in.ReadVarint32(&v)) return false;
      out->set_state(static_cast<v1::Article::State>(v));
      continue;
    }
    if (is_varint && field == v1::Article::kRevisionFieldNumber) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return false;
      out->set_revision(static_cast<int64_t>(v));
      continue;
    }
    google::protobuf::Timestamp* ts =
        is_len ? TimestampField(field, out) : nullptr;
    if (ts != nullptr) {
      if (!ReadTimestamp(bytes, &in, ts)) return false;
      continue;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return false;
  }
}

bool HasAllTags(absl::string_view bytes,
                const google::protobuf::RepeatedPtrField<std::string>& tags) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  const uint32_t tags_tag = WireFormatLite::MakeTag(
      v1::Article::kTagsFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  std::vector<absl::string_view> have;
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (!in.ConsumedEntireMessage()) return false;
      break;
    }
    if (tag != tags_tag) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return false;
    const int pos = in.CurrentPosition();
    if (length > bytes.size() - static_cast<size_t>(pos)) return false;
    have.push_back(bytes.substr(static_cast<size_t>(pos), length));
    if (!in.Skip(static_cast<int>(length))) return false;
  }
  for (const std::string& t : tags) {
    if (std::find(have.begin(), have.end(), absl::string_view(t)) == have.end())
      return false;
  }
  return true;
}

bool AppendArticleWithoutBody(absl::string_view bytes, std::string* out) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  // Copies each top-level field's bytes, tag included, except the body's.
  int start = 0;
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage();
    if (!WireFormatLite::SkipField(&in, tag)) return false;
    const int end = in.CurrentPosition();
    if (WireFormatLite::GetTagFieldNumber(tag) != kBodyField)
      out->append(bytes.data() + start, static_cast<size_t>(end - start));
    start = end;
  }
}

}  // namespace content::store
