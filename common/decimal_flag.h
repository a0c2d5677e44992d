// Internal to contentd and its tools (not installed): integer flags read as
// decimal. CLI11 converts integers with strtoll(..., 0), so `--revision 010`
// was revision 8 and `0x10` was 16, while our own checks (absl::SimpleAtoi)
// read the same text as 10, or refused it.
#ifndef CONTENT_COMMON_DECIMAL_FLAG_H_
#define CONTENT_COMMON_DECIMAL_FLAG_H_

#include <algorithm>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace content::internal {

// A CLI11 transform for an integer option: the value must be a decimal
// integer, an optional sign then digits. Leading zeros are decimal too, as
// in zero-padded numbers from scripts (`010` is 10): they are dropped before
// CLI11 converts the value and before any check() sees it, so both read the
// number meant. Anything else (`0x10`, `1e3`, `1.5`, ` 1`) is a parse error
// naming the value. The range is left to the conversion and the checks, as
// before (a number past int64 still fails there, naming their range).
// Add it with `->transform(DecimalInt())`: transforms run ahead of checks
// whatever the order they were added in.
inline CLI::Validator DecimalInt() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const size_t sign = !text.empty() && (text[0] == '-' || text[0] == '+');
        if (text.size() == sign ||
            !std::all_of(text.begin() + sign, text.end(),
                         [](char c) { return absl::ascii_isdigit(c); })) {
          return absl::StrCat("not a decimal integer: \"", text, "\"");
        }
        // strtoll's base 0 reads a leading 0 as octal; keep one digit.
        const size_t first = text.find_first_not_of('0', sign);
        text.erase(
            sign,
            (first == std::string::npos ? text.size() - 1 : first) - sign);
        return "";
      },
      "", "DecimalInt");
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_DECIMAL_FLAG_H_
