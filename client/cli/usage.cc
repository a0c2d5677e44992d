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
#include "common/did_you_mean.h"
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

namespace {

// Flags by what they mean rather than how they are spelt, which no
// spelling rule finds: a name as typed (in lower case, without its dashes)
// and a flag it stands for, with a value where the flag needs one to mean
// it (`-o json`). A name may stand for several flags, each on the command
// that has it (`--deleted`: query's `--include-deleted`, get's
// `--show-deleted`). Only where the meaning is clear: `--since` is a date
// to query and export, so it is no name for watch's `--after`.
constexpr std::pair<absl::string_view, absl::string_view> kMeaningAliases[] = {
    // watch: resume after a sequence number, which users call a revision.
    {"from-revision", "--after"},
    {"since-revision", "--after"},
    {"after-revision", "--after"},
    {"from-sequence", "--after"},
    {"since-sequence", "--after"},
    {"after-sequence", "--after"},
    {"from-seq", "--after"},
    {"since-seq", "--after"},
    {"start-after", "--after"},
    {"resume-after", "--after"},
    {"now", "--from-now"},
    {"limit", "--count"},  // watch: stop after N events
    {"max-events", "--count"},
    // Page sizes.
    {"page-size", "--limit"},
    {"per-page", "--limit"},
    {"max-results", "--limit"},
    {"chunk-size", "--limit"},  // kubectl
    {"cursor", "--page-token"},
    {"next-page", "--page-token"},
    {"next-page-token", "--page-token"},
    // Filters and order.
    {"search", "--text"},
    {"grep", "--text"},
    {"language", "--lang"},
    {"languages", "--lang"},
    {"locale", "--lang"},
    {"after", "--since"},
    {"from-date", "--since"},
    {"start-date", "--since"},
    {"before", "--until"},
    {"to-date", "--until"},
    {"end-date", "--until"},
    {"deleted", "--include-deleted"},
    {"deleted", "--show-deleted"},
    {"with-deleted", "--include-deleted"},
    {"with-deleted", "--show-deleted"},
    {"show-deleted", "--include-deleted"},
    {"include-deleted", "--show-deleted"},
    {"reverse", "--oldest-first"},
    {"ascending", "--oldest-first"},
    {"asc", "--oldest-first"},
    // Write conditions.
    {"if-match", "--etag"},
    {"expected-etag", "--etag"},
    {"if-revision", "--expected-revision"},
    // Global flags.
    {"format", "--output"},
    {"output-format", "--output"},
    {"write-out", "--output"},  // etcdctl
    {"w", "-o"},                // etcdctl -w json
    {"json", "-o json"},
    {"yaml", "-o yaml"},
    {"host", "--server"},
    {"address", "--server"},
    {"addr", "--server"},
    {"endpoint", "--server"},
    {"endpoints", "--server"},  // etcdctl
    {"auth-token", "--token"},
    {"bearer-token", "--token"},
    {"cacert", "--ca"},
    {"ca-cert", "--ca"},
    {"ca-file", "--ca"},
    {"cafile", "--ca"},
    {"certificate-authority", "--ca"},  // kubectl
    {"client-cert", "--cert"},
    {"client-certificate", "--cert"},  // kubectl
    {"client-key", "--key"},
    {"deadline", "--timeout"},
    {"request-timeout", "--timeout"},  // kubectl
    {"command-timeout", "--timeout"},  // etcdctl
    {"dial-timeout", "--timeout"},     // etcdctl: --timeout covers the dial
};

}  // namespace

std::vector<std::string> FlagsMeant(absl::string_view given,
                                    const std::vector<std::string>& flags) {
  absl::string_view bare = given;
  while (absl::ConsumePrefix(&bare, "-")) {
  }
  const std::string name = absl::AsciiStrToLower(bare);
  std::vector<std::string> meant;
  for (const auto& [alias, flag] : kMeaningAliases) {
    if (alias != name) continue;
    const absl::string_view bare_flag = flag.substr(0, flag.find(' '));
    if (std::find(flags.begin(), flags.end(), bare_flag) != flags.end()) {
      meant.emplace_back(flag);
    }
  }
  if (!meant.empty()) return meant;
  return internal::NearestNames(given, flags);
}

}  // namespace content::cli
