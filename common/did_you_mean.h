// Internal to contentd and its tools (not installed): what contentctl and
// contentd say of a command-line word they do not know, `unknown flag
// "--tga" (did you mean "--tag"?)`, so that both say it alike.
#ifndef CONTENT_COMMON_DID_YOU_MEAN_H_
#define CONTENT_COMMON_DID_YOU_MEAN_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace content::internal {

// Edits (insert, delete, substitute, swap two neighbours) between `a` and
// `b`, byte by byte (the optimal string alignment distance).
inline size_t EditDistance(absl::string_view a, absl::string_view b) {
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

// The names of `names` that `given` looks like a slip of, for a "did you
// mean" (`--tga`: `--tag`; `qeury`: `query`): those that differ from it
// only in case or as singular and plural (`--tags`: `--tag`), else those
// it is the start of (`--rev`: `--revision`), else those
// nearest to it by EditDistance within 1 edit (names of up to 5
// characters, dashes not counted) or 2 (longer ones). Ties are all
// returned, in the order of `names`; none for a `given` of fewer than 3
// characters but dashes, near everything short.
inline std::vector<std::string> NearestNames(
    absl::string_view given, const std::vector<std::string>& names) {
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

// ` (did you mean "--tag"?)`, ` (did you mean "a" or "b"?)`: `meant`
// quoted, "" if empty.
inline std::string DidYouMean(const std::vector<std::string>& meant) {
  if (meant.empty()) return "";
  return absl::StrCat(" (did you mean \"", absl::StrJoin(meant, "\" or \""),
                      "\"?)");
}

// Whether a command-line word reads as a flag (`--bogus`, `-x`, `--x=1`),
// known or not: not `-` (stdin) nor a negative number (`-5`, `-.5s`,
// `-inf`: what an integer, a duration or a date flag may be given, for its
// own check).
inline bool LooksLikeFlag(absl::string_view arg) {
  return arg.size() >= 2 && arg[0] == '-' &&
         !absl::ascii_isdigit(static_cast<unsigned char>(arg[1])) &&
         arg[1] != '.' && !absl::EqualsIgnoreCase(arg.substr(1), "inf");
}

// What a command line says of the flag `flag` it does not know, with the
// flags it may have meant (NearestNames): `unknown flag "--tga" (did you
// mean "--tag"?)`.
inline std::string UnknownFlagMessage(absl::string_view flag,
                                      const std::vector<std::string>& meant) {
  return absl::StrCat("unknown flag \"", flag, "\"", DidYouMean(meant));
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_DID_YOU_MEAN_H_
