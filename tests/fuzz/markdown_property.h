// The Markdown codec's round-trip property, shared by the fuzz target and
// the regression test that replays every input the fuzzer ever failed on.
#ifndef CONTENT_TESTS_FUZZ_MARKDOWN_PROPERTY_H_
#define CONTENT_TESTS_FUZZ_MARKDOWN_PROPERTY_H_

#include <string>
#include <string_view>

#include "content/markdown.h"
#include "google/protobuf/util/message_differencer.h"

namespace content::fuzz {

// "" if the property holds for `text`, else what broke: whatever
// ParseMarkdown accepts, FormatMarkdown writes back to text that parses to
// the same content (`style` aside: it records how the text was written, which
// the first round trip may normalize), and formatting again is a fixed point.
inline std::string CheckMarkdownRoundTrip(std::string_view text) {
  absl::StatusOr<v1::Article> parsed = ParseMarkdown(text);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument)
      return "ParseMarkdown failed with a code other than INVALID_ARGUMENT";
    return "";
  }
  const std::string formatted = FormatMarkdown(*parsed);
  absl::StatusOr<v1::Article> again = ParseMarkdown(formatted);
  if (!again.ok()) {
    return "FormatMarkdown wrote text ParseMarkdown rejects: " +
           std::string(again.status().message()) + "\n" + formatted;
  }
  v1::Article a = *parsed, b = *again;
  a.clear_style();
  b.clear_style();
  // Field by field: map order in serialized bytes is not deterministic.
  if (!google::protobuf::util::MessageDifferencer::Equals(a, b)) {
    return "round trip changed the content:\n" + a.DebugString() + "\n---\n" +
           b.DebugString();
  }
  const std::string reformatted = FormatMarkdown(*again);
  if (reformatted != formatted) {
    return "FormatMarkdown is not a fixed point:\n" + formatted + "\n---\n" +
           reformatted;
  }
  return "";
}

}  // namespace content::fuzz

#endif  // CONTENT_TESTS_FUZZ_MARKDOWN_PROPERTY_H_
