// contentctl's error text for a failed call, and the widths its tables
// take (client/cli/output.h).
#include <string>

#include "absl/status/status.h"
#include "client/cli/output.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace content::cli {
namespace {

using ::testing::HasSubstr;

// A connection lost during a call, the server killed, is said so whatever
// words gRPC has for it: "Socket closed", "Connection reset", or "Broken
// pipe" when its write met the dead socket first, which got no hint
// (CrashOpsTest.ApplyCutByAKillSaysSoAndARerunFinishesTheJob failed so,
// now and then).
TEST(CallErrorTextTest, AConnectionLostDuringACallIsSaidSoInEachOfGrpcsWords) {
  Connection connection;
  connection.target = "127.0.0.1:7070";
  for (const char* words :
       {"Socket closed", "Connection reset by peer", "Broken pipe"}) {
    const std::string text =
        CallErrorText(absl::UnavailableError(words), connection);
    EXPECT_THAT(text, HasSubstr(std::string("UNAVAILABLE: ") + words));
    EXPECT_THAT(text, HasSubstr("(the connection to 127.0.0.1:7070 was lost "
                                "during the call, as when the server stops "
                                "or restarts: a write in it may or may not "
                                "have been applied)"));
  }
}

// Columns as terminals draw them: a table's cells after ❤️ (a narrow
// symbol and VS16) were one column off, and 👩‍💻 (two emoji and a ZWJ)
// counted four.
TEST(DisplayWidthTest, EmojiSequencesTakeTheColumnsTerminalsDrawThem) {
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("新闻"), 4);
  EXPECT_EQ(DisplayWidth("e\u0301"), 1);        // e and a combining acute
  EXPECT_EQ(DisplayWidth("\u2764"), 1);         // ❤ as text
  EXPECT_EQ(DisplayWidth("\u2764\uFE0F"), 2);   // ❤️
  EXPECT_EQ(DisplayWidth("1\uFE0F\u20E3"), 2);  // 1️⃣
  EXPECT_EQ(DisplayWidth("\U0001F469\u200D\U0001F4BB"), 2);  // 👩‍💻
  EXPECT_EQ(DisplayWidth("\U0001F44D\U0001F3FD"), 2);        // 👍🏽
  EXPECT_EQ(DisplayWidth("\U0001F1E8\U0001F1F3"), 2);        // 🇨🇳
  EXPECT_EQ(DisplayWidth("I \u2764\uFE0F \u5317\u4EAC"), 9);
  EXPECT_EQ(DisplayWidth("\xff"), 1);  // an invalid byte
}

// Korean in NFD (a leading consonant, a vowel and a final consonant for
// each syllable, as macOS file names give it) is drawn as the NFC
// syllables, two columns each: the vowel and final jamo counted one each,
// and a table after such a title was two columns off per syllable. Arabic
// with its marks and a bidi isolate take the columns of the letters.
TEST(DisplayWidthTest, DecomposedHangulTakesTheColumnsOfItsSyllables) {
  EXPECT_EQ(DisplayWidth("\uB525\uC2DC\uD06C"), 6);  // 딥시크 (NFC)
  EXPECT_EQ(DisplayWidth("\u1104\u1175\u11B8\u1109\u1175\u110F\u1173"),
            6);  // 딥시크 (NFD)
  EXPECT_EQ(TruncateToWidth("\u1104\u1175\u11B8\u1109\u1175", 3),
            "\u1104\u1175\u11B8\u2026");
  EXPECT_EQ(DisplayWidth("\u2067\u0639\u0670\u0644\u0645\u2069"),
            3);  // علٰم, isolated
}

// A cut keeps a character with what draws in its cells: the ZWJ and the
// emoji it joins, or a mark, never left for the next line to lose.
TEST(DisplayWidthTest, TruncationKeepsEmojiSequencesWhole) {
  const std::string coder = "\U0001F469\u200D\U0001F4BB";  // 👩‍💻
  EXPECT_EQ(TruncateToWidth("ab" + coder + "cd", 5), "ab" + coder + "\u2026");
  EXPECT_EQ(TruncateToWidth("ab" + coder + "cd", 4), "ab\u2026");
  EXPECT_EQ(TruncateToWidth("ab\u2764\uFE0Fcd", 5), "ab\u2764\uFE0F\u2026");
  EXPECT_EQ(TruncateToWidth("ab\u2764\uFE0Fcd", 4), "ab\u2026");
  EXPECT_EQ(TruncateToWidth("abe\u0301fg", 4), "abe\u0301\u2026");
  EXPECT_EQ(TruncateToWidth("short", 10), "short");
}

}  // namespace
}  // namespace content::cli
