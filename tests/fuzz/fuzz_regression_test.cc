// Replays every input a fuzz target ever failed on (tests/fuzz/regressions),
// in the normal build, so a fixed bug stays fixed without clang.
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/fuzz/markdown_property.h"
#include "tests/support/harness.h"

namespace content::fuzz {
namespace {

TEST(FuzzRegressionTest, MarkdownRoundTrip) {
  const std::filesystem::path dir =
      std::filesystem::path(content::testing::SourceDir()) /
      "tests/fuzz/regressions/markdown";
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string text = content::testing::ReadFile(entry.path());
    EXPECT_EQ(CheckMarkdownRoundTrip(text), "") << entry.path();
    ++replayed;
  }
  EXPECT_GE(replayed, 1);
}

// The first input the fuzzer found: a raw NUL inside a front-matter key.
TEST(FuzzRegressionTest, RawControlCharacterInFrontMatterIsRejected) {
  static constexpr char kDoc[] = "---\nti\0tle: x\n---\nbody\n";
  absl::StatusOr<v1::Article> a =
      ParseMarkdown(std::string(kDoc, sizeof(kDoc) - 1));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(a.status().message()).find("U+0000"), std::string::npos)
      << a.status();
  // Escaped, the same character is fine and round-trips.
  EXPECT_EQ(CheckMarkdownRoundTrip("---\ntitle: \"a\\x00b\"\n---\nbody\n"), "");
}

}  // namespace
}  // namespace content::fuzz
