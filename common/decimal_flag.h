// Internal to contentd and its tools (not installed): integer flags read as
// decimal. CLI11 converts integers with strtoll(..., 0), so `--revision 010`
// was revision 8 and `0x10` was 16, while our own checks (absl::SimpleAtoi)
// read the same text as 10, or refused it.
#ifndef CONTENT_COMMON_DECIMAL_FLAG_H_
#define CONTENT_COMMON_DECIMAL_FLAG_H_

#include <limits>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "common/decimal.h"

namespace content::internal {

// A CLI11 transform for an integer option of type T: the value must be a
// decimal integer in [min, max] (ParseDecimal: an optional '-' then
// digits; `0x10`, `+5`, `1e3`, `1.5` and ` 1` are refused). Leading zeros
// are decimal too (`010` is 10): they are dropped before CLI11 converts
// the value and before any check() sees it, so both read the number meant.
// An error names the flag (CLI11 prefixes it) and the rule: `--limit: not
// in range 0 to 2147483647, got 3000000000`. `note`, if any, follows an
// error for a value below `min` in parentheses (what leaving the flag out
// does instead). Add it with `->transform(DecimalInt<T>(...))`: transforms
// run ahead of checks whatever the order they were added in.
template <typename T>
CLI::Validator DecimalInt(T min = std::numeric_limits<T>::min(),
                          T max = std::numeric_limits<T>::max(),
                          std::string note = "") {
  return CLI::Validator(
      [min, max, note = std::move(note)](std::string& text) -> std::string {
        T value{};
        const DecimalRead read = ReadDecimal<T>(text, min, max, &value);
        if (read == DecimalRead::kOk) {
          // CLI11 then converts the number as written out here: strtoll's
          // base 0 would read a leading 0 as octal.
          text = std::to_string(value);
          return "";
        }
        std::string error = DecimalError<T>(read, text, min, max);
        if (read == DecimalRead::kBelowMin && !note.empty()) {
          error += " (" + note + ")";
        }
        return error;
      },
      "", "DecimalInt");
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_DECIMAL_FLAG_H_
