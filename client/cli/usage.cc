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

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::vector<std::string> NearestNames(absl::string_view given,
                                      const std::vector<std::string>& names) {
  const auto bare = [](absl::string_view name) {
    while (absl::ConsumePrefix(&name, "-")) {
    }
    return absl::AsciiStrToLower(name);
  };
  const std::string g = bare(given);
  std::vector<std::string> out;
  if (g.size() < 3) return out;
  // A name in other case or number (`--tags`, `--categories`), then the
  // names it is the start of: both say what was meant more surely than a
  // spelling does.
  const auto plural_of = [](const std::string& one, const std::string& many) {
    return many == one + "s" || many == one + "es" ||
           (absl::EndsWith(one, "y") &&
            many == absl::StrCat(one.substr(0, one.size() - 1), "ies"));
  };
  for (const std::string& name : names) {
    const std::string n = bare(name);
    if (n == g || plural_of(n, g) || plural_of(g, n)) out.push_back(name);
  }
  if (!out.empty()) return out;
  for (const std::string& name : names) {
    if (absl::StartsWith(bare(name), g)) out.push_back(name);
  }
  if (!out.empty()) return out;
  size_t best = std::string::npos;
  for (const std::string& name : names) {
    const std::string n = bare(name);
    const size_t limit = std::max(g.size(), n.size()) <= 5 ? 1 : 2;
    const size_t distance = EditDistance(g, n);
    if (distance > limit || distance > best) continue;
    if (distance < best) out.clear();
    best = distance;
    out.push_back(name);
  }
  return out;
}

}  // namespace content::cli
