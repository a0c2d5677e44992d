// Fuzzes the Markdown/front-matter codec for the round-trip property in
// markdown_property.h. Inputs that broke it live in regressions/markdown and
// are replayed by fuzz_regression_test in every build.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "tests/fuzz/markdown_property.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = content::fuzz::CheckMarkdownRoundTrip(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::cerr << problem << "\n";
    std::abort();
  }
  return 0;
}
