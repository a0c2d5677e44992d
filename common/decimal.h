// Internal to contentd and its tools (not installed): integers from flags and
// config keys read as decimal, one rule for all of them. strtoll's base 0
// (CLI11) and yaml-cpp read `010` as 8 and take `0x10`; `+5` is no more a
// decimal integer than `0x5` is.
#ifndef CONTENT_COMMON_DECIMAL_H_
#define CONTENT_COMMON_DECIMAL_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace content::internal {

// How reading a decimal integer went.
enum class DecimalRead { kOk, kNotDecimal, kBelowMin, kAboveMax };

// Reads `text` as a decimal integer in [min, max] into `*out` (set only on
// kOk): an optional '-' then digits, nothing else (`+5`, ` 1`, `1e3`, `1.5`
// and `0x10` are kNotDecimal). Leading zeros are decimal, as in zero-padded
// numbers from scripts: `010` is 10. A number past int64 (or uint64) is
// below or above any range. REQUIRES: min <= max.
template <typename T>
DecimalRead ReadDecimal(absl::string_view text, T min, T max, T* out) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  const bool minus = !text.empty() && text[0] == '-';
  const absl::string_view digits = text.substr(minus ? 1 : 0);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) {
        return absl::ascii_isdigit(c);
      })) {
    return DecimalRead::kNotDecimal;
  }
  const bool negative =
      minus && digits.find_first_not_of('0') != absl::string_view::npos;
  if (negative) {
    int64_t n = 0;
    if constexpr (std::is_unsigned_v<T>) {
      return DecimalRead::kBelowMin;
    } else {
      if (!absl::SimpleAtoi(text, &n) || n < int64_t{min}) {
        return DecimalRead::kBelowMin;
      }
      if (n > int64_t{max}) return DecimalRead::kAboveMax;
      *out = static_cast<T>(n);
      return DecimalRead::kOk;
    }
  }
  uint64_t n = 0;
  bool max_negative = false;
  if constexpr (std::is_signed_v<T>) max_negative = max < 0;
  if (!absl::SimpleAtoi(digits, &n) || max_negative ||
      n > static_cast<uint64_t>(max)) {
    return DecimalRead::kAboveMax;
  }
  if (min > 0 && n < static_cast<uint64_t>(min)) return DecimalRead::kBelowMin;
  *out = static_cast<T>(n);
  return DecimalRead::kOk;
}

// Why `text` was not read (ReadDecimal's `read`, not kOk), for the caller
// to prefix with the flag or key:
//   not a decimal integer: "0x10"
//   must not be negative, got -1        below a `min` of 0, when `max` is
//   must be at least 1, got 0           the type's own (no upper bound)
//   not in range 1 to 100, got 500      otherwise
template <typename T>
std::string DecimalError(DecimalRead read, absl::string_view text, T min,
                         T max) {
  if (read == DecimalRead::kNotDecimal) {
    return absl::StrCat("not a decimal integer: \"", text, "\"");
  }
  // The number without its leading zeros: `-0005` as -5.
  const bool minus = text[0] == '-';
  absl::string_view digits = text.substr(minus ? 1 : 0);
  const size_t first = digits.find_first_not_of('0');
  digits = first == absl::string_view::npos ? "0" : digits.substr(first);
  const std::string shown =
      absl::StrCat(minus && digits != "0" ? "-" : "", digits);
  if (read == DecimalRead::kBelowMin && max == std::numeric_limits<T>::max()) {
    if (min == 0) return absl::StrCat("must not be negative, got ", shown);
    return absl::StrCat("must be at least ", min, ", got ", shown);
  }
  return absl::StrCat("not in range ", min, " to ", max, ", got ", shown);
}

// ReadDecimal and DecimalError together: "" once `*out` is set, else why
// not.
template <typename T>
std::string ParseDecimal(absl::string_view text, T min, T max, T* out) {
  const DecimalRead read = ReadDecimal(text, min, max, out);
  return read == DecimalRead::kOk ? "" : DecimalError(read, text, min, max);
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_DECIMAL_H_
