// Markdown codec: YAML front matter read with yaml-cpp, written by hand.
//
// The writer is hand-made rather than YAML::Emitter so that its output is
// fixed byte for byte: strings always double-quoted, lists in block style
// indented two spaces, which is the shape of the articles we import.

#include "content/markdown.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/utf8.h"
#include "common/yaml_quotes.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace content {
namespace {

using ::content::internal::InvalidUtf8Offset;
using ::content::v1::Article;
using ::content::v1::FrontMatterStyle;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Value;

// Typed front-matter keys in the order FormatMarkdown writes them. Each is
// also the name of its Article field.
constexpr const char* kTypedKeys[] = {
    "title", "date", "summary",   "categories", "lang",     "translations",
    "tags",  "menu", "thumbnail", "lead",       "comments", "authorbox",
    "pager", "toc",  "mathjax",   "sidebar",    "widgets"};
constexpr absl::string_view kIdKey = "id";
// Editorial keys. Their fields are not named like the keys, and `state` and
// Hugo's `draft` are two spellings of one field, so they are handled by hand.
constexpr absl::string_view kStateKey = "state";
constexpr absl::string_view kDraftKey = "draft";
// Jekyll's `published: false` (a post not to be shown); a value other than
// a boolean (Hugo's date alias of publishDate) stays a param.
constexpr absl::string_view kPublishedKey = "published";
constexpr absl::string_view kPublishDateKey = "publishDate";
constexpr absl::string_view kExpiryDateKey = "expiryDate";
constexpr absl::string_view kTranslationKeyKey = "translationKey";
constexpr absl::string_view kEditorialKeys[] = {
    kStateKey,       kDraftKey,      kPublishedKey,
    kPublishDateKey, kExpiryDateKey, kTranslationKeyKey};
constexpr absl::string_view kNamePrefix = "articles/";
// A front-matter mapping of params (Hugo's, since 0.123): where a param
// named like a typed, editorial or id key is written, since at the top level
// it would read back as that key.
constexpr absl::string_view kParamsKey = "params";
// `!!str` as yaml-cpp reports it (YAML::Node::Tag).
constexpr absl::string_view kYamlStrTag = "tag:yaml.org,2002:str";
constexpr absl::string_view kDateRule =
    "is not a date (RFC 3339 or Jekyll's \"YYYY-MM-DD HH:MM:SS +hhmm\"; "
    "without a zone \"YYYY-MM-DDTHH:MM[:SS[.frac]]\", \"YYYY-MM-DD "
    "HH:MM[:SS]\" or \"YYYY-MM-DD\")";

// Guards against alias cycles and alias "bombs", which yaml-cpp happily
// builds: params are converted recursively and would otherwise never stop.
constexpr int kMaxDepth = 64;
// Params must fit every message that carries an article, in protobuf and
// in its JSON form (-o json), or the server refuses the request as one
// that "cannot be parsed", naming nothing, or the CLI cannot print it. The
// deepest is BatchGetArticlesResponse: a param's Value sits 5 messages down
// (results, article, params, map entry, value) and each mapping below adds 3
// (Struct, entry, Value), each list 2, of protobuf's 100 levels (31 mappings,
// 47 lists); protobuf's JSON printer takes 64 levels of 2 per mapping or list
// (30 either way).
constexpr int kMaxParamDepth = 30;
constexpr int kMaxValues = 100000;

// google.protobuf.Timestamp's range: 0001-01-01 to 9999-12-31 UTC.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

bool IsTypedKey(absl::string_view key) {
  return std::find(std::begin(kTypedKeys), std::end(kTypedKeys), key) !=
         std::end(kTypedKeys);
}

bool IsEditorialKey(absl::string_view key) {
  return std::find(std::begin(kEditorialKeys), std::end(kEditorialKeys), key) !=
         std::end(kEditorialKeys);
}

// `path` extended by one JSON Pointer (RFC 6901) step: a key or a list
// index, `~` and `/` escaped. Names values inside params in the style.
std::string ChildPath(absl::string_view path, absl::string_view step) {
  std::string out(path);
  out.push_back('/');
  for (char c : step) {
    if (c == '~') {
      out.append("~0");
    } else if (c == '/') {
      out.append("~1");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::Status KeyError(absl::string_view key, absl::string_view rule) {
  return absl::InvalidArgumentError(
      absl::StrCat("front matter key \"", key, "\": ", rule));
}

// Every scalar of a parsed YAML tree is valid UTF-8. The document is checked
// before parsing, but yaml-cpp decodes the double-quoted escapes `\_`, `\N`,
// `\L` and `\P` to single Latin-1 bytes, so a valid document can yield an
// invalid value (found by tests/fuzz/markdown_fuzz). Walks at most as deep
// and as many nodes as the reader accepts (alias cycles and bombs stop
// here and are refused by the reader with its own message).
absl::Status CheckScalarsUtf8(const YAML::Node& node, const std::string& key,
                              int depth, int* budget) {
  if (depth > kMaxDepth || --*budget < 0) return absl::OkStatus();
  if (node.IsScalar()) {
    if (InvalidUtf8Offset(node.Scalar()) == absl::string_view::npos)
      return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "front matter ",
        key.empty() ? std::string("key") : absl::StrCat("key \"", key, "\""),
        ": a YAML escape (\\_, \\N, \\L or \\P) gives text that is not "
        "valid UTF-8; write the character itself"));
  }
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      absl::Status s = CheckScalarsUtf8(item, key, depth + 1, budget);
      if (!s.ok()) return s;
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string name =
          key.empty() && kv.first.IsScalar() ? kv.first.Scalar() : key;
      absl::Status s = CheckScalarsUtf8(kv.first, name, depth + 1, budget);
      if (s.ok()) s = CheckScalarsUtf8(kv.second, name, depth + 1, budget);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// YAML's merge key (`<<: *defaults`, a plain `<<`), which yaml-cpp leaves
// as a key named "<<": Hugo's YAML reader (and most others) merges the
// mapping, or list of mappings, it names into the one that holds it, a
// key given there winning, then the first mapping of the list. `node` with
// every merge done, at any depth; a quoted "<<" is a key like any other.
// The walk stops where `budget` (values visited) or the depth runs out, and
// leaves the rest as it is, for the reader to refuse as too big or too deep.
bool IsMergeKey(const YAML::Node& key) {
  return key.IsScalar() && key.Scalar() == "<<" &&
         (key.Tag() == "?" || key.Tag() == "tag:yaml.org,2002:merge");
}

YAML::Node ResolveMergeKeys(const YAML::Node& node, int depth, int* budget) {
  if (--*budget < 0 || depth > kMaxParamDepth + 1) return node;
  if (node.IsSequence()) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const YAML::Node& item : node) {
      list.push_back(ResolveMergeKeys(item, depth + 1, budget));
    }
    return list;
  }
  if (!node.IsMap()) return node;
  bool merges = false;
  std::set<std::string> explicit_keys;
  for (const auto& entry : node) {
    if (IsMergeKey(entry.first)) {
      merges = true;
    } else if (entry.first.IsScalar()) {
      explicit_keys.insert(entry.first.Scalar());
    }
  }
  YAML::Node map(YAML::NodeType::Map);
  std::set<std::string> merged;
  for (const auto& entry : node) {
    if (!merges || !IsMergeKey(entry.first)) {
      // force_insert keeps a duplicate key, for the reader to refuse.
      map.force_insert(entry.first,
                       ResolveMergeKeys(entry.second, depth + 1, budget));
      continue;
    }
    std::vector<YAML::Node> sources;
    if (entry.second.IsSequence()) {
      for (const YAML::Node& item : entry.second) sources.push_back(item);
    } else {
      sources.push_back(entry.second);
    }
    for (const YAML::Node& source : sources) {
      if (!source.IsMap()) {
        // Not a mapping to merge: kept as the key "<<", as before.
        map.force_insert(entry.first,
                         ResolveMergeKeys(entry.second, depth + 1, budget));
        break;
      }
      const YAML::Node resolved = ResolveMergeKeys(source, depth + 1, budget);
      for (const auto& from : resolved) {
        if (!from.first.IsScalar() ||
            explicit_keys.count(from.first.Scalar()) != 0 ||
            !merged.insert(from.first.Scalar()).second) {
          continue;
        }
        map.force_insert(from.first, from.second);
      }
    }
  }
  return map;
}

// ---- Splitting the document ----------------------------------------------

struct Document {
  bool has_front_matter = false;
  absl::string_view yaml;
  absl::string_view body;
};

// True when a `---` line (ended by \n, \r\n or the end) starts at `pos`;
// `*next` is then the offset just past the line.
bool IsDelimiterLine(absl::string_view text, size_t pos, size_t* next) {
  absl::string_view rest = text.substr(pos);
  if (rest.substr(0, 3) != "---") return false;
  rest.remove_prefix(3);
  size_t end = 0;
  if (rest.empty()) {
    end = 0;
  } else if (rest[0] == '\n') {
    end = 1;
  } else if (rest.substr(0, 2) == "\r\n") {
    end = 2;
  } else {
    return false;
  }
  *next = pos + 3 + end;
  return true;
}

absl::StatusOr<Document> SplitDocument(absl::string_view text) {
  Document doc;
  doc.body = text;
  // Editors on Windows like to start files with a byte-order mark; without
  // this the front matter would silently become body text.
  constexpr absl::string_view kBom = "\xEF\xBB\xBF";
  size_t start = text.substr(0, 3) == kBom ? 3 : 0;
  size_t pos;
  if (!IsDelimiterLine(text, start, &pos)) {
    // Hugo also reads TOML between `+++` lines; taken as body, it would be
    // refused for a missing title with no hint why.
    const absl::string_view first =
        text.substr(start, text.find('\n', start) - start);
    if (absl::StripTrailingAsciiWhitespace(first) == "+++") {
      return absl::InvalidArgumentError(
          "front matter: TOML (between \"+++\" lines) is not supported; "
          "write it as YAML between \"---\" lines");
    }
    // And JSON, an object opening the file; taken as body, the same.
    const absl::string_view opening = absl::StripAsciiWhitespace(first);
    if (opening == "{" || absl::StartsWith(opening, "{\"")) {
      return absl::InvalidArgumentError(
          "front matter: JSON (an object opening the file) is not "
          "supported; write it as YAML between \"---\" lines");
    }
    // And Hexo's, YAML with no opening `---` (keys, then a `---` line):
    // a first line `key: ...` and a delimiter line below it.
    const size_t colon = first.find(':');
    const absl::string_view key = first.substr(0, colon);
    if (colon != absl::string_view::npos && !key.empty() &&
        (first.size() == colon + 1 || first[colon + 1] == ' ' ||
         first[colon + 1] == '\r') &&
        std::all_of(key.begin(), key.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '_' || c == '-';
        })) {
      for (size_t at = text.find('\n', start); at != absl::string_view::npos;
           at = text.find('\n', at + 1)) {
        size_t after;
        if (IsDelimiterLine(text, at + 1, &after)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "front matter: the file opens with \"", key,
              ":\" and a \"---\" line follows, as Hexo writes front "
              "matter; it needs a \"---\" line above it as well"));
        }
      }
    }
    return doc;
  }
  const size_t yaml_begin = pos;
  while (pos < text.size()) {
    size_t next;
    if (IsDelimiterLine(text, pos, &next)) {
      doc.has_front_matter = true;
      doc.yaml = text.substr(yaml_begin, pos - yaml_begin);
      doc.body = text.substr(next);
      return doc;
    }
    pos = text.find('\n', pos);
    if (pos == absl::string_view::npos) break;
    ++pos;
  }
  return absl::InvalidArgumentError(
      "front matter: no closing \"---\" line after the opening one");
}

// ---- YAML scalars ---------------------------------------------------------

// Only plain (unquoted, untagged) scalars resolve to booleans and numbers;
// yaml-cpp tags them "?".
bool IsPlain(const YAML::Node& node) { return node.Tag() == "?"; }

// YAML 1.2 core schema booleans.
bool ParseYamlBool(absl::string_view s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
    return true;
  }
  return false;
}

size_t CountDigits(absl::string_view s, size_t i) {
  size_t n = 0;
  while (i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '9') ++n;
  return n;
}

// YAML 1.2 core schema decimal numbers: [-+]?[0-9]+ and
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?.
bool ParseYamlNumber(absl::string_view s, double* out) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  const size_t int_digits = CountDigits(s, i);
  i += int_digits;
  size_t frac_digits = 0;
  bool is_integer = true;
  if (i < s.size() && s[i] == '.') {
    is_integer = false;
    frac_digits = CountDigits(s, ++i);
    i += frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    is_integer = false;
    if (++i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t exp_digits = CountDigits(s, i);
    if (exp_digits == 0) return false;
    i += exp_digits;
  }
  if (i != s.size()) return false;
  if (!absl::SimpleAtod(s, out) || !std::isfinite(*out)) return false;
  // Past 2^53 a double drops digits (think numeric ids): keep such integers
  // as text rather than change them silently. 2^53 + 1 rounds to 2^53, so
  // only a double below 2^53 tells that the integer was exact.
  return !is_integer || std::fabs(*out) < 9007199254740992.0;
}

// YAML 1.2 core schema integers: [-+]?[0-9]+.
bool IsYamlInteger(absl::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  return !s.empty() && CountDigits(s, 0) == s.size();
}

// YAML 1.2 core schema's NaN and infinities: .nan, .inf, -.inf and their
// capitalized spellings. A param read so is a number that contentd refuses
// (`params.rating: must be a finite number`): read as text, it would export
// quoted, which Hugo reads as a string where the file had a float.
bool ParseYamlNonFinite(absl::string_view s, double* out) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  double sign = 1;
  if (absl::ConsumePrefix(&s, "-")) {
    sign = -1;
  } else {
    absl::ConsumePrefix(&s, "+");
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF") {
    *out = sign * std::numeric_limits<double>::infinity();
    return true;
  }
  return false;
}

// An integer a double cannot hold exactly (past 2^53), which the reader
// keeps as text.
bool IsBigInteger(absl::string_view s) {
  double d;
  return IsYamlInteger(s) && !ParseYamlNumber(s, &d);
}

// Whether a plain scalar is something other than text to a YAML reader: a
// boolean or a number (integers too big for a double, NaN and the
// infinities included). Null is told by yaml-cpp itself
// (YAML::Node::IsNull).
bool IsNonStringScalar(absl::string_view s) {
  bool b;
  double d;
  return ParseYamlBool(s, &b) || ParseYamlNumber(s, &d) ||
         ParseYamlNonFinite(s, &d) || IsBigInteger(s);
}

// ---- Dates ----------------------------------------------------------------

struct DateParts {
  absl::CivilSecond civil;
  int32_t nanos = 0;
  FrontMatterStyle::DateLayout layout = FrontMatterStyle::DATE_LAYOUT_DATE;
  // RFC 3339 and DATETIME_OFFSET only: the offset as written ("" for Z) and
  // its value.
  std::string offset;
  int offset_seconds = 0;
};

bool ReadDigits(absl::string_view* s, int n, int* out) {
  if (static_cast<int>(CountDigits(*s, 0)) < n) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) v = v * 10 + ((*s)[i] - '0');
  s->remove_prefix(n);
  *out = v;
  return true;
}

bool ReadChar(absl::string_view* s, char c) {
  if (s->empty() || s->front() != c) return false;
  s->remove_prefix(1);
  return true;
}

// Parses "+hh:mm" / "-hh:mm" exactly (the whole of `s`), and "+hhmm" /
// "-hhmm" when `basic` (Jekyll's dates; a zone kept in the style may be
// either).
bool ParseOffset(absl::string_view s, int* seconds, bool basic = false) {
  if (s.empty() || (s[0] != '+' && s[0] != '-')) return false;
  const int sign = s[0] == '-' ? -1 : 1;
  absl::string_view rest = s.substr(1);
  int h, m;
  if (!ReadDigits(&rest, 2, &h) ||
      (!ReadChar(&rest, ':') && !(basic && rest.size() == 2)) ||
      !ReadDigits(&rest, 2, &m) || !rest.empty() || h > 23 || m > 59) {
    return false;
  }
  *seconds = sign * (h * 3600 + m * 60);
  return true;
}

// Reads ".d+" into nanoseconds (at most 9 digits).
bool ReadFraction(absl::string_view* s, int32_t* nanos) {
  if (!ReadChar(s, '.')) return true;
  const size_t n = CountDigits(*s, 0);
  if (n == 0 || n > 9) return false;
  int32_t v = 0;
  for (size_t i = 0; i < 9; ++i) v = v * 10 + (i < n ? (*s)[i] - '0' : 0);
  s->remove_prefix(n);
  *nanos = v;
  return true;
}

// Parses the accepted layouts strictly; false on anything else, including
// impossible dates such as 2025-02-30. Zoneless: `YYYY-MM-DD`,
// `YYYY-MM-DD HH:MM[:SS]`, and (Hugo's) `YYYY-MM-DDTHH:MM[:SS[.frac]]`.
bool ParseDateParts(absl::string_view s, DateParts* out) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!ReadDigits(&s, 4, &y) || !ReadChar(&s, '-') || !ReadDigits(&s, 2, &mo) ||
      !ReadChar(&s, '-') || !ReadDigits(&s, 2, &d)) {
    return false;
  }
  if (!s.empty()) {
    const char sep = s.front();
    if (sep != 'T' && sep != 't' && sep != ' ') return false;
    s.remove_prefix(1);
    if (!ReadDigits(&s, 2, &h) || !ReadChar(&s, ':') ||
        !ReadDigits(&s, 2, &mi)) {
      return false;
    }
    if (s.empty()) {
      // Minutes only, in either form; each keeps its own layout so that
      // the date is written back as it came.
      out->layout = sep == ' ' ? FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES
                               : FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES;
    } else if (!ReadChar(&s, ':') || !ReadDigits(&s, 2, &sec)) {
      return false;
    } else if (s.empty()) {
      out->layout = sep == ' ' ? FrontMatterStyle::DATE_LAYOUT_DATETIME
                               : FrontMatterStyle::DATE_LAYOUT_LOCAL;
    } else if (sep == ' ' && s.front() == ' ') {
      // Jekyll's `2024-01-02 03:04:05 +0800`: the offset after one space.
      s.remove_prefix(1);
      if (!ParseOffset(s, &out->offset_seconds, /*basic=*/true)) return false;
      out->offset = std::string(s);
      out->layout = FrontMatterStyle::DATE_LAYOUT_DATETIME_OFFSET;
    } else if (sep != ' ' && s.front() == '.' &&
               s.find_first_not_of("0123456789", 1) ==
                   absl::string_view::npos) {
      // A zoneless `T` form with a fraction of a second.
      if (!ReadFraction(&s, &out->nanos)) return false;
      out->layout = FrontMatterStyle::DATE_LAYOUT_LOCAL;
    } else {
      out->layout = FrontMatterStyle::DATE_LAYOUT_RFC3339;
      if (!ReadFraction(&s, &out->nanos)) return false;
      if (s != "Z" && s != "z") {
        if (!ParseOffset(s, &out->offset_seconds)) return false;
        out->offset = std::string(s);
      }
    }
  }
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) return false;
  out->civil = absl::CivilSecond(y, mo, d, h, mi, sec);
  return out->civil.day() == d;  // CivilSecond normalizes Feb 30 to Mar 2.
}

// The zone a zoneless date is read in; "" means UTC. `key` is named in the
// error.
absl::Status LoadZone(absl::string_view key, const std::string& name,
                      absl::TimeZone* tz) {
  if (name.empty() || name == "UTC") {
    *tz = absl::UTCTimeZone();
    return absl::OkStatus();
  }
  if (!absl::LoadTimeZone(name, tz)) {
    return KeyError(key, absl::StrCat("cannot load time zone \"", name,
                                      "\" for a date without a zone"));
  }
  return absl::OkStatus();
}

// The date-valued keys, in the order their zone is decided (see
// ResolveDates).
enum DateKey { kDate = 0, kPublishDate = 1, kExpiryDate = 2 };
constexpr const char* kDateKeys[] = {"date", "publishDate", "expiryDate"};

int DateKeyIndex(absl::string_view key) {
  for (int i = 0; i < 3; ++i) {
    if (key == kDateKeys[i]) return i;
  }
  return -1;
}

google::protobuf::Timestamp* MutableDateField(int index, Article* article) {
  switch (index) {
    case kDate:
      return article->mutable_date();
    case kPublishDate:
      return article->mutable_publish_time();
    default:
      return article->mutable_expiry_time();
  }
}

const google::protobuf::Timestamp& DateField(int index,
                                             const Article& article) {
  switch (index) {
    case kDate:
      return article.date();
    case kPublishDate:
      return article.publish_time();
    default:
      return article.expiry_time();
  }
}

bool HasDateField(int index, const Article& article) {
  switch (index) {
    case kDate:
      return article.has_date();
    case kPublishDate:
      return article.has_publish_time();
    default:
      return article.has_expiry_time();
  }
}

FrontMatterStyle::DateLayout DateLayoutOf(int index,
                                          const FrontMatterStyle& style) {
  switch (index) {
    case kDate:
      return style.date_layout();
    case kPublishDate:
      return style.publish_date_layout();
    default:
      return style.expiry_date_layout();
  }
}

void SetDateLayout(int index, FrontMatterStyle::DateLayout layout,
                   FrontMatterStyle* style) {
  switch (index) {
    case kDate:
      style->set_date_layout(layout);
      break;
    case kPublishDate:
      style->set_publish_date_layout(layout);
      break;
    default:
      style->set_expiry_date_layout(layout);
  }
}

// A date key as read, resolved once the whole mapping is read.
struct PendingDate {
  bool present = false;
  std::string text;
  DateParts parts;
};

absl::Status ReadDate(absl::string_view key, const YAML::Node& node,
                      PendingDate* pending) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsScalar()) return KeyError(key, "must be a date string");
  pending->text = node.Scalar();
  if (!ParseDateParts(pending->text, &pending->parts)) {
    return KeyError(key, absl::StrCat("\"", pending->text, "\" ", kDateRule));
  }
  pending->present = true;
  return absl::OkStatus();
}

// Zone names a date is written in that mean the same: RFC 3339's `Z` is
// kept as "" in `date_zone` (older builds wrote so) and as `UTC` elsewhere.
std::string CanonicalZone(const std::string& zone) {
  return zone.empty() ? "UTC" : zone;
}

// The zone date key `index` is written in: its own, else `date_zone`.
const std::string& DateZoneOf(int index, const FrontMatterStyle& style) {
  const std::string& own = index == kPublishDate  ? style.publish_date_zone()
                           : index == kExpiryDate ? style.expiry_date_zone()
                                                  : style.date_zone();
  return own.empty() ? style.date_zone() : own;
}

void SetOwnDateZone(int index, std::string zone, FrontMatterStyle* style) {
  if (index == kPublishDate) {
    style->set_publish_date_zone(std::move(zone));
  } else if (index == kExpiryDate) {
    style->set_expiry_date_zone(std::move(zone));
  }
}

// Sets the date fields and their style. Each key keeps its own zone: its
// offset when RFC 3339, else the default zone it was read in. The first
// present of date, publishDate, expiryDate sets `style.date_zone`; the
// others record theirs (`publish_date_zone`, `expiry_date_zone`) only where
// it differs, so that an article whose keys agree has the style it had
// when the keys shared one zone.
absl::Status ResolveDates(const PendingDate (&pending)[3],
                          const MarkdownOptions& options, Article* article) {
  FrontMatterStyle* style = article->mutable_style();
  bool zone_set = false;
  for (int i = 0; i < 3; ++i) {
    if (!pending[i].present) continue;
    const char* key = kDateKeys[i];
    const DateParts& parts = pending[i].parts;
    absl::Time t;
    std::string zone;
    if (parts.layout == FrontMatterStyle::DATE_LAYOUT_RFC3339 ||
        parts.layout == FrontMatterStyle::DATE_LAYOUT_DATETIME_OFFSET) {
      t = absl::FromCivil(parts.civil, absl::UTCTimeZone()) -
          absl::Seconds(parts.offset_seconds);
      zone = parts.offset;
    } else {
      absl::TimeZone tz;
      absl::Status status = LoadZone(key, options.default_zone, &tz);
      if (!status.ok()) return status;
      t = absl::FromCivil(parts.civil, tz);
      zone = options.default_zone.empty() ? "UTC" : options.default_zone;
    }
    if (!zone_set) {
      style->set_date_zone(zone);
      zone_set = true;
    } else if (CanonicalZone(zone) != CanonicalZone(style->date_zone())) {
      SetOwnDateZone(i, CanonicalZone(zone), style);
    }
    const int64_t seconds = absl::ToUnixSeconds(t);
    if (seconds < kMinSeconds || seconds > kMaxSeconds) {
      return KeyError(key, absl::StrCat("\"", pending[i].text,
                                        "\" is out of range (years 0001 "
                                        "to 9999 UTC)"));
    }
    google::protobuf::Timestamp* ts = MutableDateField(i, article);
    ts->set_seconds(seconds);
    ts->set_nanos(parts.nanos);
    SetDateLayout(i, parts.layout, style);
  }
  return absl::OkStatus();
}

// ---- Editorial state --------------------------------------------------------

absl::Status ReadState(const YAML::Node& node, Article::State* state) {
  if (node.IsNull()) return absl::OkStatus();
  const std::string rule = "must be draft, published or archived";
  if (!node.IsScalar()) return KeyError(kStateKey, rule);
  const std::string lower = absl::AsciiStrToLower(node.Scalar());
  if (lower == "draft") {
    *state = Article::DRAFT;
  } else if (lower == "published") {
    *state = Article::PUBLISHED;
  } else if (lower == "archived") {
    *state = Article::ARCHIVED;
  } else {
    return KeyError(kStateKey,
                    absl::StrCat(rule, ", got \"", node.Scalar(), "\""));
  }
  return absl::OkStatus();
}

const char* StateText(Article::State state) {
  switch (state) {
    case Article::DRAFT:
      return "draft";
    case Article::PUBLISHED:
      return "published";
    case Article::ARCHIVED:
      return "archived";
    default:
      return "";
  }
}

// ---- Reading the front matter --------------------------------------------

// Converts a front-matter mapping into an Article, key by key.
class FrontMatterReader {
 public:
  FrontMatterReader(const MarkdownOptions& options, Article* article)
      : options_(options), article_(article) {}

  absl::Status ReadMap(const YAML::Node& map) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      absl::StatusOr<std::string> key = KeyText(entry.first, &seen);
      if (!key.ok()) return key.status();
      article_->mutable_style()->add_key_order(*key);
      absl::Status status = ReadKey(*key, entry.second);
      if (!status.ok()) return status;
    }
    absl::Status status = ResolveDates(dates_, options_, article_);
    if (!status.ok()) return status;
    return ResolveState();
  }

 private:
  // Keys must be strings and unique; yaml-cpp keeps duplicates, and the last
  // one silently winning would lose data.
  static absl::StatusOr<std::string> KeyText(const YAML::Node& key,
                                             std::set<std::string>* seen) {
    if (!key.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat("front matter: keys must be strings (line ",
                       key.Mark().line + 2, ")"));
    }
    if (!seen->insert(key.Scalar()).second) {
      return KeyError(key.Scalar(), "appears more than once");
    }
    return key.Scalar();
  }

  absl::Status ReadKey(const std::string& key, const YAML::Node& value) {
    // FrontMatterFieldKeys() is the gate, so that what it lists (and apply
    // warns of keys close to) is what is read as a field.
    const std::vector<std::string>& fields = FrontMatterFieldKeys();
    if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
      return ReadParam(key, value);
    }
    if (key == kIdKey) return ReadId(value);
    if (const int i = DateKeyIndex(key); i >= 0) {
      return ReadDate(key, value, &dates_[i]);
    }
    if (key == kStateKey) return ReadState(value, &state_);
    if (key == kDraftKey) return ReadDraft(value);
    if (key == kPublishedKey) return ReadPublished(key, value);
    if (key == kTranslationKeyKey) return ReadTranslationKey(value);
    if (key == "lang" && value.IsScalar()) {
      article_->mutable_style()->set_lang_scalar(true);
    }
    if (key == kParamsKey && value.IsMap()) return ReadParamsMap(value);
    if (IsTypedKey(key)) return ReadTypedField(key, value);
    return ReadParam(key, value);  // `params` that is not a mapping
  }

  // The top-level key `key` as a param.
  absl::Status ReadParam(const std::string& key, const YAML::Node& value) {
    absl::StatusOr<Value*> param = NewParam(key);
    if (!param.ok()) return param.status();
    return ToValue(key, value, 0, ChildPath("", key), *param);
  }

  // The params entry `key`, given at the top level or in the `params:`
  // mapping; once only, or one would silently win.
  absl::StatusOr<Value*> NewParam(const std::string& key) {
    if (!params_read_.insert(key).second) {
      return KeyError(key,
                      "is given both at the top level and in the \"params\" "
                      "mapping; give it once");
    }
    return &(*article_->mutable_params()->mutable_fields())[key];
  }

  // Hugo's `params:` mapping: each entry is a param, whatever its name
  // (`params: {title: ...}` is params["title"], not the title). Its keys
  // are kept, in order, under the empty path in style.params_key_order so
  // that they are written there again. Any other value of `params` is the
  // param of that name, as before this mapping was read.
  absl::Status ReadParamsMap(const YAML::Node& map) {
    std::set<std::string> seen;
    FrontMatterStyle::KeyOrder* order = nullptr;
    for (const auto& entry : map) {
      absl::StatusOr<std::string> key = KeyText(entry.first, &seen);
      if (!key.ok()) return key.status();
      absl::StatusOr<Value*> param = NewParam(*key);
      if (!param.ok()) return param.status();
      absl::Status s = ToValue(absl::StrCat(kParamsKey, ".", *key),
                               entry.second, 0, ChildPath("", *key), *param);
      if (!s.ok()) return s;
      if (order == nullptr) {
        order = article_->mutable_style()->add_params_key_order();
      }
      order->add_keys(*key);
    }
    return absl::OkStatus();
  }

  // Hugo's `draft: true|false`, kept apart from `state` until both are read.
  absl::Status ReadDraft(const YAML::Node& value) {
    if (value.IsNull()) return absl::OkStatus();
    bool b;
    if (!value.IsScalar() || !IsPlain(value) ||
        !ParseYamlBool(value.Scalar(), &b)) {
      return KeyError(kDraftKey, "must be true or false");
    }
    draft_state_ = b ? Article::DRAFT : Article::PUBLISHED;
    return absl::OkStatus();
  }

  // Jekyll's `published: true|false`: a plain boolean is the state
  // (false: DRAFT, never shown to readers; it was a param, and the post
  // went live); anything else is a param, as before.
  absl::Status ReadPublished(const std::string& key, const YAML::Node& value) {
    bool b;
    if (!value.IsScalar() || !IsPlain(value) ||
        !ParseYamlBool(value.Scalar(), &b)) {
      return ReadParam(key, value);
    }
    published_state_ = b ? Article::PUBLISHED : Article::DRAFT;
    return absl::OkStatus();
  }

  // `state`, `draft` and `published` may be given together only if they
  // agree.
  absl::Status ResolveState() {
    struct Source {
      absl::string_view key;
      Article::State state;
    };
    const Source sources[] = {{kStateKey, state_},
                              {kDraftKey, draft_state_},
                              {kPublishedKey, published_state_}};
    // How `source` says its state: `state is "draft"`, `draft: true means
    // "draft"`.
    const auto said = [](const Source& source) {
      const bool draft = source.state == Article::DRAFT;
      if (source.key == kStateKey) {
        return absl::StrCat("state is \"", StateText(source.state), "\"");
      }
      const bool value = source.key == kDraftKey ? draft : !draft;
      return absl::StrCat(source.key, ": ", value ? "true" : "false",
                          " means \"", StateText(source.state), "\"");
    };
    const Source* first = nullptr;
    for (const Source& source : sources) {
      if (source.state == Article::STATE_UNSPECIFIED) continue;
      if (first == nullptr) {
        first = &source;
      } else if (source.state != first->state) {
        return absl::InvalidArgumentError(
            absl::StrCat("front matter keys \"", first->key, "\" and \"",
                         source.key, "\" disagree: ", said(*first), " but ",
                         said(source), "; give one of them"));
      }
    }
    article_->set_state(first != nullptr ? first->state
                                         : Article::STATE_UNSPECIFIED);
    return absl::OkStatus();
  }

  absl::Status ReadTranslationKey(const YAML::Node& value) {
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsScalar())
      return KeyError(kTranslationKeyKey, "must be a string");
    article_->set_translation_key(value.Scalar());
    return absl::OkStatus();
  }

  absl::Status ReadId(const YAML::Node& value) {
    if (!value.IsScalar()) return KeyError(kIdKey, "must be a string");
    article_->set_name(absl::StrCat(kNamePrefix, value.Scalar()));
    return absl::OkStatus();
  }

  // Typed keys share their Article field's name; reflection picks the shape.
  absl::Status ReadTypedField(const std::string& key, const YAML::Node& value) {
    const FieldDescriptor* field = Article::descriptor()->FindFieldByName(key);
    const google::protobuf::Reflection* refl = article_->GetReflection();
    if (field->type() == FieldDescriptor::TYPE_BOOL) {
      bool b;
      if (value.IsNull()) return absl::OkStatus();  // unset: site default
      if (!value.IsScalar() || !IsPlain(value) ||
          !ParseYamlBool(value.Scalar(), &b)) {
        return KeyError(key, "must be true or false");
      }
      refl->SetBool(article_, field, b);
      return absl::OkStatus();
    }
    if (field->is_repeated()) {
      // A lone scalar is taken as a one-element list; null as empty.
      if (value.IsNull()) return absl::OkStatus();
      if (value.IsScalar()) {
        // Recorded so that it is written back as a scalar (`lang` has its
        // own flag, which readers of older builds know).
        if (key != "lang") article_->mutable_style()->add_scalar_keys(key);
        refl->AddString(article_, field, value.Scalar());
        return absl::OkStatus();
      }
      if (!value.IsSequence()) {
        return KeyError(key, "must be a list of strings");
      }
      for (const auto& item : value) {
        if (!item.IsScalar()) return KeyError(key, "must be a list of strings");
        refl->AddString(article_, field, item.Scalar());
      }
      return absl::OkStatus();
    }
    const bool text_only = key == "title" || key == "summary";
    if (value.IsNull() && text_only) return absl::OkStatus();  // reads as ""
    // Hugo's `menu` is a name, a list of names or a map of entries, and
    // themes give their keys (`sidebar`, `thumbnail`, `lead`) any shape and
    // type: a list or map there, or a plain scalar that YAML reads as a
    // boolean, number or null (`sidebar: false`), is kept as it is under
    // its key in params, and the field stays empty. Taken as text it would
    // come back quoted, a string a template reads otherwise (`"false"` is
    // true). The title and summary are text.
    // A string tagged `!!str` (YAML's explicit string tag) goes there too:
    // it is how FormatMarkdown writes a string that the API put in params
    // under such a key with the field empty, which would otherwise come
    // back in the field.
    const bool typed_scalar =
        value.IsScalar() && IsPlain(value) && IsNonStringScalar(value.Scalar());
    const bool tagged_string = value.IsScalar() && value.Tag() == kYamlStrTag;
    if (!text_only && (value.IsNull() || value.IsSequence() || value.IsMap() ||
                       typed_scalar || tagged_string)) {
      absl::StatusOr<Value*> param = NewParam(key);
      if (!param.ok()) return param.status();
      return ToValue(key, value, 0, ChildPath("", key), *param);
    }
    if (!value.IsScalar()) return KeyError(key, "must be a string");
    refl->SetString(article_, field, value.Scalar());
    return absl::OkStatus();
  }

  // Any other key keeps its YAML shape as a Struct value. `key` is the
  // top-level key, named in errors.
  absl::Status ToValue(const std::string& key, const YAML::Node& node,
                       int depth, const std::string& path, Value* out) {
    if (++values_ > kMaxValues) {
      return KeyError(key,
                      absl::StrCat("holds more than ", kMaxValues, " values"));
    }
    // A mapping or list at `depth` holds values a level deeper.
    if ((node.IsMap() || node.IsSequence()) && depth >= kMaxParamDepth) {
      return KeyError(key, absl::StrCat("is nested more than ", kMaxParamDepth,
                                        " deep (the most protobuf and JSON "
                                        "carry in every message)"));
    }
    switch (node.Type()) {
      case YAML::NodeType::Scalar:
        ScalarToValue(node, out);
        // Too big for a number, it is text; where it was a plain integer,
        // the style says so, to write it back as one.
        if (IsPlain(node) && IsBigInteger(node.Scalar())) {
          article_->mutable_style()->add_big_integer_paths(path);
        }
        return absl::OkStatus();
      case YAML::NodeType::Sequence: {
        google::protobuf::ListValue* list = out->mutable_list_value();
        for (const auto& item : node) {
          const std::string item_path =
              ChildPath(path, absl::StrCat(list->values_size()));
          absl::Status s =
              ToValue(key, item, depth + 1, item_path, list->add_values());
          if (!s.ok()) return s;
        }
        return absl::OkStatus();
      }
      case YAML::NodeType::Map: {
        auto* fields = out->mutable_struct_value()->mutable_fields();
        std::set<std::string> seen;
        std::vector<std::string> order;
        for (const auto& entry : node) {
          absl::StatusOr<std::string> sub = KeyText(entry.first, &seen);
          if (!sub.ok()) return sub.status();
          absl::Status s = ToValue(key, entry.second, depth + 1,
                                   ChildPath(path, *sub), &(*fields)[*sub]);
          if (!s.ok()) return s;
          order.push_back(*std::move(sub));
        }
        // A Struct is a map, written sorted: only another order is kept.
        if (!std::is_sorted(order.begin(), order.end())) {
          FrontMatterStyle::KeyOrder* kept =
              article_->mutable_style()->add_params_key_order();
          kept->set_path(path);
          for (std::string& k : order) kept->add_keys(std::move(k));
        }
        return absl::OkStatus();
      }
      default:
        out->set_null_value(google::protobuf::NULL_VALUE);
        return absl::OkStatus();
    }
  }

  static void ScalarToValue(const YAML::Node& node, Value* out) {
    const std::string& text = node.Scalar();
    bool b;
    double d;
    if (IsPlain(node) && ParseYamlBool(text, &b)) {
      out->set_bool_value(b);
    } else if (IsPlain(node) &&
               (ParseYamlNumber(text, &d) || ParseYamlNonFinite(text, &d))) {
      out->set_number_value(d);
    } else {
      out->set_string_value(text);
    }
  }

  const MarkdownOptions& options_;
  Article* article_;
  int values_ = 0;
  PendingDate dates_[3];
  // Params read so far, at the top level and in the `params:` mapping.
  std::set<std::string> params_read_;
  Article::State state_ = Article::STATE_UNSPECIFIED;        // from `state`
  Article::State draft_state_ = Article::STATE_UNSPECIFIED;  // from `draft`
  // From Jekyll's `published`.
  Article::State published_state_ = Article::STATE_UNSPECIFIED;
};

std::string YamlError(const YAML::Exception& e) {
  if (e.mark.is_null()) {
    return absl::StrCat("front matter: invalid YAML: ", e.msg);
  }
  // yaml-cpp counts from 0 within the front matter; the opening `---` is
  // line 1 of the document.
  return absl::StrFormat("front matter: invalid YAML at line %d, column %d: %s",
                         e.mark.line + 2, e.mark.column + 1, e.msg);
}

// Reads `yaml`'s events: an error when it holds more than one document (a
// `...` line, or a stray token that ends the first) or a quoted scalar is
// not closed. Stops at two documents: yaml-cpp 0.7's LoadAll loops,
// allocating without end, on input such as a top-level ",".
absl::Status CheckEvents(const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  internal::QuoteCheck events(yaml);
  parser.HandleNextDocument(events);
  if (const auto& u = events.unclosed()) {
    // yaml-cpp counts from 0 within the front matter; the opening `---` is
    // line 1 of the document.
    return absl::InvalidArgumentError(absl::StrFormat(
        "front matter: invalid YAML at line %d, column %d: %s", u->line + 2,
        u->column + 1, internal::QuoteCheck::Describe(*u)));
  }
  if (parser.HandleNextDocument(events)) {
    return absl::InvalidArgumentError(
        "front matter: must be a single YAML document");
  }
  return absl::OkStatus();
}

absl::Status ReadFrontMatter(absl::string_view yaml,
                             const MarkdownOptions& options, Article* article) {
  // YAML allows no raw C0 control character but tab, LF and CR, nor DEL
  // (they must be escaped in a double-quoted scalar). yaml-cpp reads a raw
  // NUL as a different byte, producing invalid UTF-8 that FormatMarkdown
  // then wrote back unparseable. Found by tests/fuzz/markdown_fuzz.
  for (size_t i = 0; i < yaml.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(yaml[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "front matter: control character U+%04X at byte %d of the front "
          "matter is not allowed in YAML; write it as an escape in a "
          "double-quoted string",
          c, i));
    }
  }
  try {
    const std::string text(yaml);
    if (absl::Status s = CheckEvents(text); !s.ok()) return s;
    const YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return absl::OkStatus();
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          "front matter: must be a mapping of keys to values");
    }
    int budget = kMaxValues;
    if (absl::Status s = CheckScalarsUtf8(root, "", 0, &budget); !s.ok())
      return s;
    if (text.find("<<") != std::string::npos) {
      int merge_budget = kMaxValues;
      return FrontMatterReader(options, article)
          .ReadMap(ResolveMergeKeys(root, 0, &merge_budget));
    }
    return FrontMatterReader(options, article).ReadMap(root);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(YamlError(e));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("front matter: cannot be read: ", e.what()));
  }
}

// ---- Writing --------------------------------------------------------------

// Appends `s` as a YAML double-quoted scalar. Non-printable characters
// (C0, DEL, C1) and characters some YAML readers take as line breaks or
// drop (U+2028, U+2029, U+FEFF) are escaped; other UTF-8 is written raw.
void AppendQuoted(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    const unsigned char c1 = i + 1 < s.size() ? s[i + 1] : 0;
    const unsigned char c2 = i + 2 < s.size() ? s[i + 2] : 0;
    switch (c) {
      case '"':
        out->append("\\\"");
        continue;
      case '\\':
        out->append("\\\\");
        continue;
      case '\n':
        out->append("\\n");
        continue;
      case '\t':
        out->append("\\t");
        continue;
      case '\r':
        out->append("\\r");
        continue;
    }
    if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(out, "\\x%02X", c);
    } else if (c == 0xC2 && c1 >= 0x80 && c1 <= 0x9F) {
      absl::StrAppendFormat(out, "\\x%02X", c1);
      i += 1;
    } else if (c == 0xE2 && c1 == 0x80 && (c2 == 0xA8 || c2 == 0xA9)) {
      absl::StrAppendFormat(out, "\\u%04X", 0x2000 + (c2 - 0x80));
      i += 2;
    } else if (c == 0xEF && c1 == 0xBB && c2 == 0xBF) {
      out->append("\\uFEFF");
      i += 2;
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

// True for keys that can be written unquoted: [A-Za-z0-9_][A-Za-z0-9_.-]*,
// except the words YAML reads as null.
bool IsPlainKey(absl::string_view key) {
  if (key.empty() || key[0] == '-' || key[0] == '.') return false;
  if (key == "null" || key == "Null" || key == "NULL") return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

void AppendKey(absl::string_view key, std::string* out) {
  if (IsPlainKey(key)) {
    out->append(key.data(), key.size());
  } else {
    AppendQuoted(key, out);
  }
}

// Shortest text that reads back as the same double; integers without ".0".
// Large integers get an exponent: bare digits past 2^53 read back as text.
std::string FormatNumber(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  const bool integral = d == std::trunc(d);
  if (integral && std::fabs(d) < 1e15) return absl::StrFormat("%.0f", d);
  for (int precision = 1; precision < 17; ++precision) {
    std::string s = integral ? absl::StrFormat("%.*e", precision - 1, d)
                             : absl::StrFormat("%.*g", precision, d);
    double back;
    if (absl::SimpleAtod(s, &back) && back == d) return s;
  }
  return absl::StrFormat("%.16e", d);
}

bool IsNonEmptyCollection(const Value& v) {
  return (v.has_struct_value() && v.struct_value().fields_size() > 0) ||
         (v.has_list_value() && v.list_value().values_size() > 0);
}

// How the values inside params were written (from FrontMatterStyle), by
// JSON Pointer.
struct ParamsStyle {
  explicit ParamsStyle(const FrontMatterStyle& style) {
    for (const FrontMatterStyle::KeyOrder& order : style.params_key_order()) {
      key_orders.emplace(order.path(), &order);
    }
    big_integers.insert(style.big_integer_paths().begin(),
                        style.big_integer_paths().end());
  }
  std::map<std::string, const FrontMatterStyle::KeyOrder*> key_orders;
  std::set<std::string> big_integers;
};

// Writes a scalar or an empty collection on the current line; `path` is
// its JSON Pointer in params.
void AppendInlineValue(const Value& v, const std::string& path,
                       const ParamsStyle& style, std::string* out) {
  switch (v.kind_case()) {
    case Value::kNumberValue:
      out->append(FormatNumber(v.number_value()));
      break;
    case Value::kStringValue:
      // Unquoted only while it still reads back as this text.
      if (IsBigInteger(v.string_value()) && style.big_integers.count(path)) {
        out->append(v.string_value());
      } else {
        AppendQuoted(v.string_value(), out);
      }
      break;
    case Value::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      break;
    case Value::kStructValue:
      out->append("{}");
      break;
    case Value::kListValue:
      out->append("[]");
      break;
    default:
      out->append("null");
  }
}

std::vector<std::string> SortedKeys(const google::protobuf::Struct& s) {
  std::vector<std::string> keys;
  for (const auto& [key, unused] : s.fields()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// The keys of the mapping at `path` in the order they were read: those the
// style names, then the rest sorted.
std::vector<std::string> KeysInOrder(const std::set<std::string>& present,
                                     const std::string& path,
                                     const ParamsStyle& style) {
  auto it = style.key_orders.find(path);
  if (it == style.key_orders.end()) return {present.begin(), present.end()};
  std::vector<std::string> keys;
  std::set<std::string> taken;
  for (const std::string& key : it->second->keys()) {
    if (present.count(key) > 0 && taken.insert(key).second) {
      keys.push_back(key);
    }
  }
  for (const std::string& key : present) {
    if (taken.count(key) == 0) keys.push_back(key);
  }
  return keys;
}

std::vector<std::string> KeysInOrder(const google::protobuf::Struct& s,
                                     const std::string& path,
                                     const ParamsStyle& style) {
  const std::vector<std::string> sorted = SortedKeys(s);
  return KeysInOrder(std::set<std::string>(sorted.begin(), sorted.end()), path,
                     style);
}

void AppendBlock(const Value& v, const std::string& path, int indent,
                 const ParamsStyle& style, std::string* out);

// `key: value`, or `key:` followed by an indented block. `path` is the
// value's JSON Pointer in params.
void AppendEntry(absl::string_view key, const Value& v, const std::string& path,
                 int indent, const ParamsStyle& style, std::string* out) {
  out->append(indent, ' ');
  std::string written;
  AppendKey(key, &written);
  // YAML limits an implicit key to 1024 characters; a longer one (or one
  // that escaping made longer) is written as an explicit `? key` entry.
  if (written.size() > 1000) {
    out->append("? ");
    out->append(written);
    out->push_back('\n');
    out->append(indent, ' ');
  } else {
    out->append(written);
  }
  out->push_back(':');
  if (IsNonEmptyCollection(v)) {
    out->push_back('\n');
    AppendBlock(v, path, indent + 2, style, out);
  } else {
    out->push_back(' ');
    AppendInlineValue(v, path, style, out);
    out->push_back('\n');
  }
}

// Writes a non-empty map or list, every line indented `indent` spaces. A
// collection inside a list starts on the `- ` line, YAML's compact form.
void AppendBlock(const Value& v, const std::string& path, int indent,
                 const ParamsStyle& style, std::string* out) {
  if (v.has_struct_value()) {
    const auto& fields = v.struct_value().fields();
    for (const std::string& key : KeysInOrder(v.struct_value(), path, style)) {
      AppendEntry(key, fields.at(key), ChildPath(path, key), indent, style,
                  out);
    }
    return;
  }
  const auto& items = v.list_value().values();
  for (int i = 0; i < items.size(); ++i) {
    const Value& item = items[i];
    const std::string item_path = ChildPath(path, absl::StrCat(i));
    out->append(indent, ' ');
    out->append("- ");
    if (IsNonEmptyCollection(item)) {
      std::string child;
      AppendBlock(item, item_path, indent + 2, style, &child);
      out->append(child, indent + 2, std::string::npos);
    } else {
      AppendInlineValue(item, item_path, style, out);
      out->push_back('\n');
    }
  }
}

void AppendStringList(absl::string_view key, const std::vector<std::string>& v,
                      std::string* out) {
  AppendKey(key, out);
  if (v.empty()) {
    out->append(": []\n");
    return;
  }
  out->append(":\n");
  for (const std::string& item : v) {
    out->append("  - ");
    AppendQuoted(item, out);
    out->push_back('\n');
  }
}

// Zone and offset text in which a date is written.
struct WriteZone {
  absl::TimeZone tz = absl::UTCTimeZone();
  std::string offset;  // fixed suffix as read; empty: from tz at the time
  // Whether a date written without a zone reads back as the same instant:
  // only in UTC or an IANA zone that loads, which a reader can name as its
  // default zone. An offset cannot be one, and an unknown zone (not in
  // this machine's tzdata) falls back to UTC, whose wall time read in the
  // named zone would be another instant.
  bool zoneless_ok = true;
};

WriteZone ZoneForWriting(const std::string& name) {
  WriteZone zone;
  int seconds;
  if (ParseOffset(name, &seconds, /*basic=*/true)) {
    zone.tz = absl::FixedTimeZone(seconds);
    zone.offset = name;  // as read, so "-00:00" stays "-00:00"
    zone.zoneless_ok = false;
  } else if (name.empty() || name == "UTC") {
    zone.offset = "Z";
  } else if (!absl::LoadTimeZone(name, &zone.tz)) {
    // FormatMarkdown cannot fail: an unknown zone is written as UTC, with
    // its `Z`.
    zone.tz = absl::UTCTimeZone();
    zone.offset = "Z";
    zone.zoneless_ok = false;
  }
  return zone;
}

// Writes date key `index` in its layout and zone. A layout that
// cannot hold the value (a DATE that is not the start of its day, a
// DATETIME with fractional seconds) is widened so that no information is
// lost, and so is a zoneless layout in a zone it cannot be read back in
// (WriteZone::zoneless_ok): RFC 3339 then.
std::string FormatDate(const Article& article, int index) {
  const FrontMatterStyle& style = article.style();
  const google::protobuf::Timestamp& ts = DateField(index, article);
  const WriteZone zone = ZoneForWriting(DateZoneOf(index, style));
  const absl::Time t =
      absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  const absl::CivilSecond cs = absl::ToCivilSecond(t, zone.tz);
  const int32_t nanos = ts.nanos();
  auto layout = DateLayoutOf(index, style);
  // The day as read: where midnight is skipped (DST starting at 00:00, as
  // in America/Havana), the day starts at 01:00 and reads back as that.
  if (layout == FrontMatterStyle::DATE_LAYOUT_DATE &&
      (nanos != 0 || absl::FromCivil(absl::CivilDay(cs), zone.tz) != t)) {
    layout = FrontMatterStyle::DATE_LAYOUT_DATETIME;
  }
  if (layout == FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES &&
      (nanos != 0 || cs.second() != 0)) {
    layout = FrontMatterStyle::DATE_LAYOUT_LOCAL;
  }
  if (layout == FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES &&
      (nanos != 0 || cs.second() != 0)) {
    layout = FrontMatterStyle::DATE_LAYOUT_DATETIME;
  }
  if (layout == FrontMatterStyle::DATE_LAYOUT_DATETIME_OFFSET && nanos == 0) {
    // Jekyll's form: the offset as read (`+0800`, or `+08:00`), else the
    // zone's at that instant, without a colon.
    std::string out =
        absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d ", cs.year(), cs.month(),
                        cs.day(), cs.hour(), cs.minute(), cs.second());
    if (!zone.offset.empty() && zone.offset != "Z") {
      return absl::StrCat(out, zone.offset);
    }
    const int offset = zone.tz.At(t).offset;
    absl::StrAppendFormat(&out, "%c%02d%02d", offset < 0 ? '-' : '+',
                          std::abs(offset) / 3600, std::abs(offset) / 60 % 60);
    return out;
  }
  if (!zone.zoneless_ok ||
      (layout != FrontMatterStyle::DATE_LAYOUT_DATE &&
       layout != FrontMatterStyle::DATE_LAYOUT_DATETIME &&
       layout != FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES &&
       layout != FrontMatterStyle::DATE_LAYOUT_LOCAL &&
       layout != FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES)) {
    layout = FrontMatterStyle::DATE_LAYOUT_RFC3339;
  }
  if (layout == FrontMatterStyle::DATE_LAYOUT_DATETIME && nanos != 0) {
    layout = FrontMatterStyle::DATE_LAYOUT_RFC3339;
  }
  std::string out =
      absl::StrFormat("%04d-%02d-%02d", cs.year(), cs.month(), cs.day());
  if (layout == FrontMatterStyle::DATE_LAYOUT_DATE) return out;
  const bool space = layout == FrontMatterStyle::DATE_LAYOUT_DATETIME ||
                     layout == FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES;
  absl::StrAppendFormat(&out, "%c%02d:%02d", space ? ' ' : 'T', cs.hour(),
                        cs.minute());
  if (layout == FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES ||
      layout == FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES) {
    return out;
  }
  absl::StrAppendFormat(&out, ":%02d", cs.second());
  if (layout == FrontMatterStyle::DATE_LAYOUT_DATETIME) return out;
  if (nanos != 0) {
    std::string frac = absl::StrFormat("%09d", nanos);
    frac.erase(frac.find_last_not_of('0') + 1);
    absl::StrAppend(&out, ".", frac);
  }
  if (layout == FrontMatterStyle::DATE_LAYOUT_LOCAL) return out;
  if (zone.offset.size() == 5) {
    // A Jekyll date's `+0800`, written in RFC 3339 (a fraction of a
    // second): `+08:00`, which reads back.
    return absl::StrCat(out, zone.offset.substr(0, 3), ":",
                        zone.offset.substr(3));
  }
  if (!zone.offset.empty()) return absl::StrCat(out, zone.offset);
  const int offset = zone.tz.At(t).offset;
  if (offset == 0) return absl::StrCat(out, "Z");
  const int abs_offset = std::abs(offset);
  absl::StrAppendFormat(&out, "%c%02d:%02d", offset < 0 ? '-' : '+',
                        abs_offset / 3600, abs_offset / 60 % 60);
  return out;
}

// Writes date key `index` if it is set.
bool AppendDateKey(const Article& article, int index, std::string* out) {
  if (!HasDateField(index, article)) return false;
  absl::StrAppend(out, kDateKeys[index], ": ");
  AppendQuoted(FormatDate(article, index), out);
  out->push_back('\n');
  return true;
}

void AppendState(Article::State state, std::string* out) {
  absl::StrAppend(out, kStateKey, ": ");
  AppendQuoted(StateText(state), out);
  out->push_back('\n');
}

// Writes the state under `key` ("state", "draft", or "" where the document
// had neither), adding what it wrote to `written`. `draft:` can say only
// DRAFT or PUBLISHED; anything else it held is written as `state:` unless
// the document has a `state:` line of its own. Without a key, DRAFT and
// PUBLISHED are written Hugo's way (`draft: true`, `draft: false`),
// ARCHIVED as `state:`, unspecified not at all (what readers see by
// default). PUBLISHED left out would read back as unspecified: the same to
// readers, but another content, a new revision when the export is applied.
void AppendStateKey(const Article& article, absl::string_view key,
                    const std::vector<std::string>& key_order,
                    std::set<std::string>* written, std::string* out) {
  const Article::State state = article.state();
  if (state == Article::STATE_UNSPECIFIED) return;
  const bool draft_can_say =
      state == Article::DRAFT || state == Article::PUBLISHED;
  if (key == kStateKey) {
    AppendState(state, out);
    written->insert(std::string(kStateKey));
    return;
  }
  // `draft:` and Jekyll's `published:` say the same, inverted.
  const bool flag = key == kDraftKey || key == kPublishedKey;
  if (flag && draft_can_say) {
    const bool value = (state == Article::DRAFT) == (key == kDraftKey);
    absl::StrAppend(out, key, value ? ": true\n" : ": false\n");
    written->insert(std::string(key));
    return;
  }
  const bool state_line_follows =
      flag && std::find(key_order.begin(), key_order.end(), kStateKey) !=
                  key_order.end();
  if (written->count(std::string(kStateKey)) > 0 || state_line_follows) {
    return;
  }
  if (key.empty() && draft_can_say) {
    absl::StrAppend(out, kDraftKey,
                    state == Article::DRAFT ? ": true\n" : ": false\n");
    written->insert(std::string(kDraftKey));
  } else if (flag || state == Article::ARCHIVED) {
    AppendState(state, out);
    written->insert(std::string(kStateKey));
  }
}

// Writes an editorial key other than state/draft. `always` as for typed keys.
bool AppendEditorialKey(const Article& article, absl::string_view key,
                        bool always, std::string* out) {
  if (key == kTranslationKeyKey) {
    if (article.translation_key().empty() && !always) return false;
    absl::StrAppend(out, key, ": ");
    AppendQuoted(article.translation_key(), out);
    out->push_back('\n');
    return true;
  }
  return AppendDateKey(article, DateKeyIndex(key), out);
}

// Whether list key `key` was a single scalar in the document.
bool IsScalarKey(const FrontMatterStyle& style, absl::string_view key) {
  if (key == "lang" && style.lang_scalar()) return true;
  return std::find(style.scalar_keys().begin(), style.scalar_keys().end(),
                   key) != style.scalar_keys().end();
}

// Writes one typed key. `always` writes empty strings and lists too (a key
// the document had); otherwise only fields with a value are written. Returns
// whether anything was written.
bool AppendTypedKey(const Article& article, const std::string& key, bool always,
                    std::string* out) {
  if (key == "date") return AppendDateKey(article, kDate, out);
  const FieldDescriptor* field = Article::descriptor()->FindFieldByName(key);
  const google::protobuf::Reflection* refl = article.GetReflection();
  if (field->type() == FieldDescriptor::TYPE_BOOL) {
    if (!refl->HasField(article, field)) return false;
    absl::StrAppend(out, key,
                    refl->GetBool(article, field) ? ": true\n" : ": false\n");
    return true;
  }
  if (field->is_repeated()) {
    const auto ref = refl->GetRepeatedFieldRef<std::string>(article, field);
    const std::vector<std::string> list(ref.begin(), ref.end());
    if (list.empty() && !always) return false;
    if (list.size() == 1 && IsScalarKey(article.style(), key)) {
      absl::StrAppend(out, key, ": ");
      AppendQuoted(list[0], out);
      out->push_back('\n');
      return true;
    }
    AppendStringList(key, list, out);
    return true;
  }
  const std::string value = refl->GetString(article, field);
  if (value.empty() && !always) return false;
  absl::StrAppend(out, key, ": ");
  AppendQuoted(value, out);
  out->push_back('\n');
  return true;
}

// Whether typed key `key` has a value: a string field that is not empty,
// a list with an entry, a bool that is set.
bool HasTypedValue(const Article& article, const std::string& key) {
  if (key == "date") return article.has_date();
  const FieldDescriptor* field = Article::descriptor()->FindFieldByName(key);
  const google::protobuf::Reflection* refl = article.GetReflection();
  if (field->is_repeated()) return refl->FieldSize(article, field) > 0;
  if (field->type() == FieldDescriptor::TYPE_BOOL)
    return refl->HasField(article, field);
  return !refl->GetString(article, field).empty();
}

// Typed keys that themes give any shape (ReadTypedField keeps a value there
// that is not a plain string in params).
bool IsThemeStringKey(absl::string_view key) {
  return key == "menu" || key == "thumbnail" || key == "lead" ||
         key == "sidebar";
}

// Writes the top-level params entry `key`. A string under a theme string
// key is tagged `!!str` so that it reads back into params, not into the
// field (a big integer written unquoted reads back there already); YAML
// readers such as Hugo's take it as the same string.
void AppendParam(const std::string& key, const Value& v,
                 const ParamsStyle& style, std::string* out) {
  const std::string path = ChildPath("", key);
  if (IsThemeStringKey(key) && v.has_string_value() &&
      !(IsBigInteger(v.string_value()) && style.big_integers.count(path))) {
    absl::StrAppend(out, key, ": !!str ");
    AppendQuoted(v.string_value(), out);
    out->push_back('\n');
    return;
  }
  AppendEntry(key, v, path, 0, style, out);
}

// Whether params entry `key` must be written in the `params:` mapping: at
// the top level it would read back as the typed, editorial or id key of
// that name (moved to its field, refused, or, beside a field with a value,
// a duplicate key). A theme string key with its field empty is written at
// the top level, as ReadTypedField reads it back into params.
bool MustNestParam(const Article& article, const std::string& key) {
  if (key == kPublishedKey) {
    // Only a boolean would read back as the state.
    return article.params().fields().at(key).kind_case() ==
           google::protobuf::Value::kBoolValue;
  }
  if (key == kIdKey || IsEditorialKey(key)) return true;
  if (IsThemeStringKey(key)) return HasTypedValue(article, key);
  return IsTypedKey(key);
}

// The params entries written in the `params:` mapping, in order: those that
// must be, those read from one (style.params_key_order's empty path), and
// `params` itself when any are or when it is a mapping (at the top level
// it would be read as the `params:` mapping).
std::vector<std::string> NestedParamKeys(const Article& article,
                                         const ParamsStyle& style) {
  const auto& fields = article.params().fields();
  std::set<std::string> nested;
  for (const auto& [key, unused] : fields) {
    if (key != kParamsKey && MustNestParam(article, key)) nested.insert(key);
  }
  if (auto it = style.key_orders.find(""); it != style.key_orders.end()) {
    for (const std::string& key : it->second->keys()) {
      if (fields.count(key) > 0) nested.insert(key);
    }
  }
  const std::string params_key(kParamsKey);
  if (auto it = fields.find(params_key);
      it != fields.end() &&
      (!nested.empty() || it->second.has_struct_value())) {
    nested.insert(params_key);
  }
  return KeysInOrder(nested, "", style);
}

void AppendNestedParams(const Article& article,
                        const std::vector<std::string>& keys,
                        const ParamsStyle& style, std::string* out) {
  const auto& fields = article.params().fields();
  absl::StrAppend(out, kParamsKey, ":\n");
  for (const std::string& key : keys) {
    AppendEntry(key, fields.at(key), ChildPath("", key), 2, style, out);
  }
}

// Writes a key named in style.key_order, if the article has it. A theme
// string key with no value whose params entry holds one (a list, map,
// boolean, number or null given for a string field, or a string the API
// put there) writes that entry. Entries in `nested` are not written here.
bool AppendOrderedKey(const Article& article, const std::string& key,
                      const std::set<std::string>& nested,
                      const ParamsStyle& style, std::string* out) {
  if (key == kIdKey) {
    if (article.name().empty()) return false;
    absl::string_view id = article.name();
    if (id.substr(0, kNamePrefix.size()) == kNamePrefix) {
      id.remove_prefix(kNamePrefix.size());
    }
    out->append("id: ");
    AppendQuoted(id, out);
    out->push_back('\n');
    return true;
  }
  const auto& fields = article.params().fields();
  auto it = fields.find(key);
  if (IsTypedKey(key) && (it == fields.end() || HasTypedValue(article, key) ||
                          nested.count(key) > 0)) {
    return AppendTypedKey(article, key, true, out);
  }
  if (it == fields.end() || nested.count(key) > 0) return false;
  AppendParam(key, it->second, style, out);
  return true;
}

// Drops `article`'s style where FormatMarkdown writes the article the same
// without it: a document in the layout written for an article with no style
// (one created through the API, exported) reads back with none, so that
// re-applying the export changes nothing. Any other document keeps its
// whole style, the parts that match that layout too: the fields depend on
// each other (`date_zone` is the other dates' zone too, `key_order` places
// the `params:` mapping and the state key), and such a file reads as it did
// before, so re-applying it stays unchanged.
void DropDefaultStyle(Article* article) {
  if (!article->has_style()) return;
  Article probe;  // the body, written after the front matter, is left out
  probe.CopyFrom(*article);
  probe.clear_body();
  const std::string written = FormatMarkdown(probe);
  probe.clear_style();
  if (FormatMarkdown(probe) == written) article->clear_style();
}

// `text` without the \r characters that end its lines (those right
// before a \n).
std::string DropCarriageReturnsAtLineEnds(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t crs = 0;  // \r characters seen but not yet written
  for (char c : text) {
    if (c == '\r') {
      ++crs;
      continue;
    }
    if (c != '\n') out.append(crs, '\r');
    crs = 0;
    out.push_back(c);
  }
  out.append(crs, '\r');
  return out;
}

}  // namespace

const std::vector<std::string>& FrontMatterFieldKeys() {
  static const std::vector<std::string>* const keys = [] {
    auto* k = new std::vector<std::string>(std::begin(kTypedKeys),
                                           std::end(kTypedKeys));
    k->emplace_back(kIdKey);
    for (absl::string_view key : kEditorialKeys) k->emplace_back(key);
    k->emplace_back(kParamsKey);
    return k;
  }();
  return *keys;
}

absl::StatusOr<v1::Article> ParseMarkdown(std::string_view input,
                                          const MarkdownOptions& options) {
  // Debian's Abseil has its own string_view type.
  const absl::string_view text(input.data(), input.size());
  const size_t bad = InvalidUtf8Offset(text);
  if (bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("document is not valid UTF-8 (byte offset ", bad, ")"));
  }
  absl::StatusOr<Document> doc = SplitDocument(text);
  if (!doc.ok()) return doc.status();
  v1::Article article;
  // A line end is the file's, not the article's: a file saved by a Windows
  // editor (or checked out with git's autocrlf) is the article its LF twin
  // is, one revision, and exported it comes back with LF. YAML reads the
  // front matter's \r\n as \n already. Every \r before a \n goes, not
  // only the last: a file converted twice ends lines in \r\r\n, and
  // dropping one \r there left a \r\n, read again as another body (found
  // by markdown_fuzz's round trip). A \r elsewhere is kept.
  article.set_body(DropCarriageReturnsAtLineEnds(doc->body));
  if (doc->has_front_matter) {
    absl::Status status = ReadFrontMatter(doc->yaml, options, &article);
    if (!status.ok()) return status;
    DropDefaultStyle(&article);
  }
  return article;
}

std::string FormatMarkdown(const v1::Article& article) {
  std::string out = "---\n";
  const ParamsStyle params_style(article.style());
  std::set<std::string> written;
  const std::vector<std::string> key_order(article.style().key_order().begin(),
                                           article.style().key_order().end());
  const std::vector<std::string> nested =
      NestedParamKeys(article, params_style);
  const std::set<std::string> nested_set(nested.begin(), nested.end());
  for (const std::string& key : key_order) {
    if (written.count(key) > 0) continue;
    if (key == kParamsKey && !nested.empty()) {
      AppendNestedParams(article, nested, params_style, &out);
      written.insert(key);
    } else if (key == kStateKey || key == kDraftKey ||
               (key == kPublishedKey &&
                article.params().fields().count(key) == 0)) {
      AppendStateKey(article, key, key_order, &written, &out);
    } else if (IsEditorialKey(key) && key != kPublishedKey) {
      if (AppendEditorialKey(article, key, true, &out)) written.insert(key);
    } else if (AppendOrderedKey(article, key, nested_set, params_style, &out)) {
      written.insert(key);
    }
  }
  for (const char* key : kTypedKeys) {
    if (written.count(key) == 0) AppendTypedKey(article, key, false, &out);
  }
  const bool state_written = written.count(std::string(kStateKey)) > 0 ||
                             written.count(std::string(kDraftKey)) > 0 ||
                             written.count(std::string(kPublishedKey)) > 0;
  if (!state_written) AppendStateKey(article, "", key_order, &written, &out);
  for (absl::string_view key :
       {kPublishDateKey, kExpiryDateKey, kTranslationKeyKey}) {
    if (written.count(std::string(key)) == 0 &&
        AppendEditorialKey(article, key, false, &out)) {
      written.insert(std::string(key));
    }
  }
  const auto& fields = article.params().fields();
  for (const std::string& key : SortedKeys(article.params())) {
    if (written.count(key) > 0 || nested_set.count(key) > 0) continue;
    AppendParam(key, fields.at(key), params_style, &out);
  }
  if (!nested.empty() && written.count(std::string(kParamsKey)) == 0) {
    AppendNestedParams(article, nested, params_style, &out);
  }
  out.append("---\n");
  out.append(article.body());
  return out;
}

}  // namespace content
