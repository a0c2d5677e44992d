#include "client/cli/usage.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"

namespace content::cli {
namespace {

std::optional<UsageError>& Recorded() {
  static auto* const recorded = new std::optional<UsageError>();
  return *recorded;
}

}  // namespace

std::string FlagOf(absl::string_view message) {
  const size_t end = message.find_first_of(" :");
  if (end == 0 || end == absl::string_view::npos) return "";
  const absl::string_view word = message.substr(0, end);
  if (absl::StartsWith(word, "-") && word.size() > 1) return std::string(word);
  // A positional argument, named in capitals (`ID`, `DESTINATION`), and
  // only when the line leads with it.
  const bool capitals = std::all_of(word.begin(), word.end(), [](char c) {
    return absl::ascii_isupper(static_cast<unsigned char>(c)) || c == '_';
  });
  return capitals && message[end] == ':' ? std::string(word) : "";
}

int Usage(std::string message, absl::string_view reason) {
  std::string flag = FlagOf(message);
  return Usage(std::move(message), std::move(flag), reason);
}

int Usage(std::string message, std::string flag, absl::string_view reason) {
  if (!Recorded().has_value()) {
    Recorded() =
        UsageError{std::move(message), std::move(flag), std::string(reason)};
  }
  return kExitUsage;
}

const std::optional<UsageError>& RecordedUsage() { return Recorded(); }

void PrintUsageError(const UsageError& error, const std::string& hint,
                     Format format) {
  if (format != Format::kJson && format != Format::kYaml) {
    std::cerr << error.message << "\n" << hint << "\n";
    return;
  }
  google::protobuf::Struct object;
  auto& fields = *object.mutable_fields();
  fields["code"].set_string_value("INVALID_ARGUMENT");
  fields["domain"].set_string_value(kUsageDomain);
  fields["fieldViolations"].mutable_list_value();
  fields["flag"].set_string_value(error.flag);
  fields["hint"].set_string_value(hint);
  fields["message"].set_string_value(error.message);
  fields["metadata"].mutable_struct_value();
  fields["reason"].set_string_value(error.reason);
  std::cerr << StderrObject(object, format, error.message + "\n" + hint);
}

}  // namespace content::cli
