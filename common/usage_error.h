// Internal to contentd and its tools (not installed): what contentctl and
// contentd say of a command line they refuse, so that both say it alike: a
// line naming the flag and the rule (`--max-tags: not in range 1 to
// 2147483647, got 0`), then UsageHint's line.
#ifndef CONTENT_COMMON_USAGE_ERROR_H_
#define CONTENT_COMMON_USAGE_ERROR_H_

#include <algorithm>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/did_you_mean.h"

namespace content::internal {

// The line that follows a usage error: ``Run `contentctl query --help` for
// more information.``, `command` being what was typed up to the command
// whose help it is (CLI11's own "Run with --help for more information."
// names no command).
inline std::string UsageHint(absl::string_view command) {
  return absl::StrCat("Run `", command, " --help` for more information.");
}

// What a flag that takes a value wants, from CLI11's type name for it
// (`INT`, `TEXT:{sync,async}`): "a whole number", "sync or async"; "" when
// the name says nothing plainer than that a value is needed (`TEXT`).
inline std::string ValueKind(const CLI::Option& opt) {
  const std::string type = opt.get_type_name();
  const absl::string_view base = absl::string_view(type).substr(
      0, std::min(type.find(':'), type.find(' ')));
  if (base == "INT" || base == "UINT") return "a whole number";
  if (base == "FLOAT" || base == "NUMBER") return "a number";
  // IsMember's set, `{sync,async}`, when it is the only check named.
  const size_t open = type.find(":{");
  if (open != std::string::npos && absl::EndsWith(type, "}") &&
      type.find(':', open + 1) == std::string::npos) {
    const std::vector<std::string> names = absl::StrSplit(
        absl::string_view(type).substr(open + 2, type.size() - open - 3), ',');
    if (names.size() == 2) return absl::StrCat(names[0], " or ", names[1]);
    return absl::StrCat("one of ", absl::StrJoin(names, ", "));
  }
  return "";
}

// A flag on the command line `argv` that takes a value and is followed by
// another flag of the command given instead (`query --tag -o json`): CLI11
// takes that flag as the value (the tag `-o`), and then refuses `json` as an
// argument not expected, or sends the query. Said as a missing value,
// `--tag: needs a value, and "-o" after it is a flag (to give a value that
// starts with -, write --tag=-o)`, as the flag was typed; "" if there is
// none. So is a flag no command has (`query --tag --bogus`, which queried
// the tag "--bogus"): `... "--bogus" after it is an unknown flag (...)`,
// and `--` (`query --tag --`, which queried the tag "--"): `... "--" after
// it ends the flags (...)`. The flags looked at are those of `app` (the
// program, contentctl or contentd) and of each command parsed so far (a global
// flag may follow the verb); a value given with `=` (`--text=--all`) is taken
// as it is, and so are `-` (stdin) and a negative number (`--limit -5`,
// `--timeout -inf`, which the flag's own check refuses). A flag that takes
// a value and ends the line, which CLI11 said as `--max-tags: 1 required
// INT missing`, is `--max-tags: needs a value (a whole number)`, and so is
// one given `=` and nothing after it, wherever it is (`--max-tags= 5`).
inline std::string FlagWithoutValue(const CLI::App& app, int argc, char** argv,
                                    std::string* flag) {
  std::vector<const CLI::Option*> options = app.get_options();
  for (const CLI::App* cmd = &app; !cmd->get_subcommands().empty();) {
    cmd = cmd->get_subcommands().front();
    for (const CLI::Option* opt : cmd->get_options()) options.push_back(opt);
  }
  // The option `arg` names exactly (`--tag`, `-o`), or nullptr.
  const auto named = [&](absl::string_view arg) -> const CLI::Option* {
    for (const CLI::Option* opt : options) {
      if (opt->get_positional()) continue;
      for (const std::string& l : opt->get_lnames()) {
        if (arg == absl::StrCat("--", l)) return opt;
      }
      for (const std::string& s : opt->get_snames()) {
        if (arg == absl::StrCat("-", s)) return opt;
      }
    }
    return nullptr;
  };
  // `arg` as CLI11 reads a flag: `--tag`, `--output=json`, `-o`, or `-ojson`
  // (a one-letter flag and its value).
  const auto is_flag = [&](absl::string_view arg) {
    if (named(arg) != nullptr) return true;
    const size_t eq = arg.find('=');
    if (absl::StartsWith(arg, "--")) {
      return eq != absl::string_view::npos &&
             named(arg.substr(0, eq)) != nullptr;
    }
    const CLI::Option* shorter =
        arg.size() > 2 && arg[0] == '-' ? named(arg.substr(0, 2)) : nullptr;
    return shorter != nullptr && shorter->get_expected_min() >= 1;
  };
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    // `--data-dir=`, at the end or not: CLI11 takes an empty value after
    // `=` as none, and takes the next argument, whatever it is, as the
    // value (`--data-dir=$UNSET --no-auth` served a directory `--no-auth`).
    const bool empty_after_equals =
        absl::StartsWith(arg, "--") && absl::EndsWith(arg, "=");
    if (empty_after_equals) arg.remove_suffix(1);
    const CLI::Option* opt = named(arg);
    // CLI11 takes the next argument, whatever it is, only as a value a flag
    // must have.
    if (opt == nullptr || opt->get_expected_min() < 1 ||
        opt->get_type_size_min() < 1) {
      continue;
    }
    if (i + 1 == argc || empty_after_equals) {
      *flag = std::string(arg);
      const std::string kind = ValueKind(*opt);
      return absl::StrCat(arg, ": needs a value",
                          kind.empty() ? "" : absl::StrCat(" (", kind, ")"));
    }
    const absl::string_view next = argv[i + 1];
    const bool known = is_flag(next);
    // `--` ends the flags (`query --tag -- x`): CLI11 took it as the value.
    if (known || LooksLikeFlag(next)) {
      *flag = std::string(arg);
      return absl::StrCat(arg, ": needs a value, and \"", next, "\" after it ",
                          next == "--" ? "ends the flags"
                          : known      ? "is a flag"
                                       : "is an unknown flag",
                          " (to give a value that starts with -, write ",
                          absl::StartsWith(arg, "--") ? arg : opt->get_name(),
                          "=", next, ")");
    }
    ++i;  // its value
  }
  return "";
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_USAGE_ERROR_H_
