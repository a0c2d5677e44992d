#include "tests/support/ctl.h"

#include <utility>

namespace content::testing {

CommandResult Ctl(const ServerProcess& server, std::vector<std::string> args,
                  const std::vector<std::string>& env) {
  args.insert(args.begin(), {ContentctlBinary(), "--server", server.address()});
  return RunCommand(args, "", env);
}

std::string CtlOk(const ServerProcess& server,
                  const std::vector<std::string>& args) {
  CommandResult r = Ctl(server, args);
  EXPECT_EQ(r.exit_code, 0)
      << "args: " << ::testing::PrintToString(args) << "\nstdout:\n"
      << r.out << "\nstderr:\n"
      << r.err;
  return r.out;
}

std::string MetadataValue(
    const google::protobuf::Map<std::string, google::protobuf::Value>& error,
    const std::string& key) {
  const auto metadata = error.find("metadata");
  if (metadata == error.end()) {
    ADD_FAILURE() << "no metadata in the error";
    return "";
  }
  const auto& fields = metadata->second.struct_value().fields();
  const auto value = fields.find(key);
  if (value == fields.end()) {
    ADD_FAILURE() << "no " << key << " in the error's metadata";
    return "";
  }
  return value->second.string_value();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace content::testing
