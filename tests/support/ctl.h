// Test support: running contentctl against a test's contentd and reading
// what it prints.
#ifndef CONTENT_TESTS_SUPPORT_CTL_H_
#define CONTENT_TESTS_SUPPORT_CTL_H_

#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace content::testing {

// Runs contentctl (ContentctlBinary()) with `--server` and `server`'s
// address, then `args`, with extra environment entries `env` as for
// RunCommand; stdin is empty.
CommandResult Ctl(const ServerProcess& server, std::vector<std::string> args,
                  const std::vector<std::string>& env = {});

// Ctl, expecting exit code 0 (a failure names the args and shows both
// streams); returns stdout.
std::string CtlOk(const ServerProcess& server,
                  const std::vector<std::string>& args);

// The `Message` that `json` holds (contentctl's `-o json`); a failure, with
// the text, if it does not parse.
template <typename Message>
Message ParseJson(const std::string& json) {
  Message m;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &m);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << json;
  return m;
}

// The string under `key` in the `metadata` object of contentctl's `-o json`
// error object, whose fields are `error`; "" and a failure if absent.
std::string MetadataValue(
    const google::protobuf::Map<std::string, google::protobuf::Value>& error,
    const std::string& key);

// Lines of `text`, without the newlines.
std::vector<std::string> Lines(const std::string& text);

}  // namespace content::testing

#endif  // CONTENT_TESTS_SUPPORT_CTL_H_
