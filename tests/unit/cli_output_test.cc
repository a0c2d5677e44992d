// contentctl's error text for a failed call (client/cli/output.h).
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

}  // namespace
}  // namespace content::cli
