#include "server/text/nfc.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/utf8.h>

#include <algorithm>

namespace content::text {
namespace {

const icu::Normalizer2* Nfc() {
  static const icu::Normalizer2* const kNormalizer = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return kNormalizer;
}

bool IsAscii(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80;
  });
}

// ICU passes ill-formed bytes through; such a term is refused by
// validation, so it is left exactly as it came rather than changed.
bool IsValidUtf8(absl::string_view s) {
  int32_t i = 0;
  const int32_t len = static_cast<int32_t>(s.size());
  UChar32 c = 0;
  while (i < len && c >= 0) U8_NEXT(s.data(), i, len, c);
  return c >= 0;
}

icu::StringPiece Piece(absl::string_view s) {
  return icu::StringPiece(s.data(), static_cast<int32_t>(s.size()));
}

}  // namespace

bool IsNfc(absl::string_view s) {
  if (IsAscii(s) || !IsValidUtf8(s)) return true;
  const icu::Normalizer2* n = Nfc();
  if (n == nullptr) return true;  // ICU data missing: terms as written
  UErrorCode status = U_ZERO_ERROR;
  const bool normalized = n->isNormalizedUTF8(Piece(s), status);
  return U_FAILURE(status) || normalized;
}

std::string ToNfc(absl::string_view s) {
  if (IsNfc(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode status = U_ZERO_ERROR;
  Nfc()->normalizeUTF8(0, Piece(s), sink, nullptr, status);
  return U_SUCCESS(status) ? out : std::string(s);
}

bool NormalizeTerms(google::protobuf::RepeatedPtrField<std::string>* terms) {
  bool changed = false;
  for (std::string& t : *terms) {
    if (IsNfc(t)) continue;
    t = ToNfc(t);
    changed = true;
  }
  return changed;
}

bool IsNfcQuery(const v1::Query& query) {
  for (const auto* terms :
       {&query.tags(), &query.not_tags(), &query.categories()}) {
    for (const std::string& t : *terms) {
      if (!IsNfc(t)) return false;
    }
  }
  return true;
}

void NormalizeQueryTerms(v1::Query* query) {
  NormalizeTerms(query->mutable_tags());
  NormalizeTerms(query->mutable_not_tags());
  NormalizeTerms(query->mutable_categories());
}

}  // namespace content::text
