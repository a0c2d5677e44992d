#include "client/cli/output.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <dtl/dtl.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/proto_json.h"
#include "content/client.h"
#include "content/markdown.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"

namespace content::cli {
namespace {

// --- UTF-8 and display width ----------------------------------------------

// Decodes the UTF-8 sequence at the start of `s` into `*cp` and returns its
// length; returns 1 and sets `*cp` to -1 for a byte that does not start a
// valid sequence. REQUIRES: !s.empty().
size_t DecodeUtf8(absl::string_view s, int32_t* cp) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  size_t len = 0;
  int32_t value = 0;
  int32_t min = 0;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, value = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, value = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    *cp = -1;
    return 1;
  }
  if (s.size() < len) {
    *cp = -1;
    return 1;
  }
  for (size_t i = 1; i < len; ++i) {
    if ((byte(i) & 0xC0) != 0x80) {
      *cp = -1;
      return 1;
    }
    value = (value << 6) | (byte(i) & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    *cp = -1;
    return 1;
  }
  *cp = value;
  return len;
}

struct Range {
  int32_t first;
  int32_t last;
};

bool InRanges(int32_t cp, const Range* ranges, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (cp >= ranges[i].first && cp <= ranges[i].last) return true;
  }
  return false;
}

// Combining marks and zero-width characters. Hangul's medial vowels and
// final consonants (U+1160-U+11FF, U+D7B0-U+D7FF) join the leading
// consonant before them into one syllable two columns wide, as wcwidth
// counts them: a Korean title in NFD (as macOS file names give it) took
// twice its columns. U+2066-U+2069 are the bidi isolates, U+0670 Arabic's
// superscript alef.
constexpr Range kZeroWidth[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
    {0x064B, 0x065F}, {0x0670, 0x0670}, {0x1160, 0x11FF}, {0x1AB0, 0x1AFF},
    {0x1DC0, 0x1DFF}, {0x200B, 0x200F}, {0x2028, 0x202E}, {0x2060, 0x2069},
    {0x20D0, 0x20FF}, {0x302A, 0x302D}, {0x3099, 0x309A}, {0xD7B0, 0xD7FF},
    {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

// East Asian Wide and Fullwidth blocks (Unicode EastAsianWidth W and F),
// plus the common emoji blocks terminals draw two columns wide.
constexpr Range kWide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},
    {0x23E9, 0x23EC},   {0x23F0, 0x23F0},   {0x23F3, 0x23F3},
    {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},
    {0x26CE, 0x26CE},   {0x26D4, 0x26D4},   {0x26EA, 0x26EA},
    {0x26F2, 0x26F5},   {0x26FA, 0x26FD},   {0x2705, 0x2705},
    {0x270A, 0x270B},   {0x2728, 0x2728},   {0x274C, 0x274C},
    {0x2753, 0x2755},   {0x2757, 0x2757},   {0x2795, 0x2797},
    {0x27B0, 0x27B0},   {0x27BF, 0x27BF},   {0x2B1B, 0x2B1C},
    {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x3029},
    {0x302E, 0x303E},   {0x3041, 0x3098},   {0x309B, 0x33FF},
    {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},
    {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},
    {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF},
    {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF},
    {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251},
    {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB},
    {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD},
    {0x30000, 0x3FFFD},
};

int CodePointWidth(int32_t cp) {
  if (cp < 0) return 1;
  if (InRanges(cp, kZeroWidth, std::size(kZeroWidth))) return 0;
  if (cp >= 0x1100 && InRanges(cp, kWide, std::size(kWide))) return 2;
  return 1;
}

// `text` with control characters (newlines, tabs, ...) turned into spaces so
// that a cell stays on one line.
std::string OneLine(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return out;
}

// --- Tables -----------------------------------------------------------------

// Rows of cells written as left-aligned columns three spaces apart; the last
// column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header) {
    rows_.push_back(std::move(header));
  }
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  // With `header` false, the rows only (kubectl's --no-headers), as wide
  // as they need.
  void Write(std::ostream& out, bool header = true) const {
    const auto first = rows_.begin() + (header ? 0 : 1);
    std::vector<int> widths;
    for (auto row = first; row != rows_.end(); ++row) {
      if (widths.size() < row->size()) widths.resize(row->size(), 0);
      for (size_t i = 0; i < row->size(); ++i) {
        widths[i] = std::max(widths[i], DisplayWidth((*row)[i]));
      }
    }
    for (auto it = first; it != rows_.end(); ++it) {
      const std::vector<std::string>& row = *it;
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) {
          line.append(widths[i] - DisplayWidth(row[i]) + 3, ' ');
        }
      }
      // Empty trailing cells leave spaces behind.
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

constexpr int kTitleColumns = 40;
constexpr int kTagsColumns = 40;
constexpr size_t kHashChars = 12;

// `x` of `articles/x`.
std::string ArticleIdOf(absl::string_view name) {
  constexpr absl::string_view kPrefix = "articles/";
  if (absl::StartsWith(name, kPrefix)) name.remove_prefix(kPrefix.size());
  return std::string(name);
}

bool HasTime(const google::protobuf::Timestamp& ts) {
  return ts.seconds() != 0 || ts.nanos() != 0;
}

// `2025-02-10T13:05:40Z`, the fraction cut off, for a column of one width;
// "" when `ts` is unset.
std::string SecondsTimestamp(const google::protobuf::Timestamp& ts) {
  if (!HasTime(ts)) return "";
  return absl::FormatTime("%E4Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

// --- YAML -------------------------------------------------------------------

// True when `s`, written as a plain YAML scalar, could read back as something
// other than this string: a number, bool, null, date, or nothing.
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  const std::string lower = absl::AsciiStrToLower(s);
  static const char* const kWords[] = {"true", "false", "yes",   "no",   "on",
                                       "off",  "y",     "n",     "null", "~",
                                       ".inf", "-.inf", "+.inf", ".nan"};
  for (const char* w : kWords) {
    if (lower == w) return true;
  }
  const char c0 = s[0];
  if (absl::ascii_isdigit(static_cast<unsigned char>(c0))) return true;
  if ((c0 == '-' || c0 == '+' || c0 == '.') && s.size() > 1 &&
      (absl::ascii_isdigit(static_cast<unsigned char>(s[1])) || s[1] == '.')) {
    return true;
  }
  return false;
}

// True when `s` written as a yaml-cpp literal block (`|`) reads back as
// exactly `s`; yaml-cpp writes neither chomping nor indentation indicators,
// so trailing blank lines or a leading space would not survive.
bool LiteralRoundTrips(const std::string& s) {
  if (s.find('\n') == std::string::npos) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7F) return false;
  }
  try {
    YAML::Emitter probe;
    probe << YAML::BeginMap << YAML::Key << "k" << YAML::Value << YAML::Literal
          << s << YAML::EndMap;
    return probe.good() &&
           YAML::Load(probe.c_str())["k"].as<std::string>() == s;
  } catch (const YAML::Exception&) {
    return false;
  }
}

void EmitYaml(const YAML::Node& node, YAML::Emitter& out) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      if (node.size() == 0) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key;
        EmitYaml(kv.first, out);
        out << YAML::Value;
        EmitYaml(kv.second, out);
      }
      out << YAML::EndMap;
      return;
    case YAML::NodeType::Sequence:
      if (node.size() == 0) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& item : node) EmitYaml(item, out);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "?") {  // a JSON number, true or false: as written
        out << s;
      } else if (NeedsQuotes(s)) {
        out << YAML::DoubleQuoted << s;
      } else if (LiteralRoundTrips(s)) {
        out << YAML::Literal << s;
      } else {
        out << s;
      }
      return;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out << YAML::Null;
      return;
  }
}

// The address gRPC dialled, from the part of its text after "last error:
// ": `UNKNOWN: ipv4:127.0.0.1:443: Failed ...` is 127.0.0.1:443 and
// `ipv6:%5B::1%5D:443` [::1]:443; "" if the text has no address.
std::string DialledAddress(absl::string_view last_error) {
  size_t colon = last_error.find(": ");  // after the status code
  if (colon == absl::string_view::npos) return "";
  last_error.remove_prefix(colon + 2);
  colon = last_error.find(": ");  // after the address
  if (colon == absl::string_view::npos) return "";
  absl::string_view address = last_error.substr(0, colon);
  if (!absl::ConsumePrefix(&address, "ipv4:")) {
    absl::ConsumePrefix(&address, "ipv6:");
  }
  return absl::StrReplaceAll(address, {{"%5B", "["}, {"%5D", "]"}});
}

// `message` with gRPC's text of a failed connection said plainly:
// "failed to connect to all addresses; last error: UNKNOWN:
// ipv4:127.0.0.1:1: Failed to connect to remote host: Connection refused"
// becomes "cannot reach 127.0.0.1:1: Connection refused" (with the address
// dialled where it differs from `target`: `cannot reach localhost
// (127.0.0.1:443): ...`), and "DNS resolution failed for h:1: C-ares
// status is not ARES_SUCCESS ...: Domain name not found" "cannot resolve
// h:1: Domain name not found". gRPC's inner UNKNOWN and its resolver's
// details mean nothing to a user; the operating system's reason, its last
// part, is what to act on. What the SDK adds around it (` (no connection
// within 4s; the write was not sent)`) is kept.
std::string PlainConnectError(absl::string_view message,
                              absl::string_view target) {
  for (auto [grpc_text, plain] :
       {std::pair{"failed to connect to all addresses; last error: ",
                  "cannot reach "},
        std::pair{"DNS resolution failed for ", "cannot resolve "}}) {
    const size_t start = message.find(grpc_text);
    if (start == absl::string_view::npos) continue;
    // gRPC's text runs to the SDK's parenthesis, or to the end.
    size_t end = message.find_first_of("()", start);
    if (end == absl::string_view::npos) end = message.size();
    absl::string_view grpc = message.substr(start, end - start);
    absl::ConsumeSuffix(&grpc, " ");
    const size_t colon = grpc.rfind(": ");
    if (colon == absl::string_view::npos) continue;
    const absl::string_view reason = grpc.substr(colon + 2);
    if (reason.empty()) continue;
    std::string where(target);
    if (plain == absl::string_view("cannot reach ")) {
      const std::string dialled =
          DialledAddress(grpc.substr(std::strlen(grpc_text)));
      if (!dialled.empty() && dialled != target) {
        absl::StrAppend(&where, " (", dialled, ")");
      }
    }
    return absl::StrCat(message.substr(0, start), plain, where, ": ", reason,
                        end < message.size() && message[end] == '(' ? " " : "",
                        message.substr(end));
  }
  return std::string(message);
}

// Where WithViolationFlags keeps the flags in a status: a URL of no
// message type, never sent.
constexpr absl::string_view kViolationFlagsUrl = "contentctl/violation-flags";

}  // namespace

const std::vector<std::string>& FormatNames() {
  static const auto* const kNames =
      new std::vector<std::string>{"table", "json", "yaml", "markdown", "name"};
  return *kNames;
}

std::optional<Format> ParseFormat(absl::string_view name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "yaml") return Format::kYaml;
  if (name == "markdown") return Format::kMarkdown;
  if (name == "name") return Format::kName;
  return std::nullopt;
}

const VerbOutput& OutputsOf(absl::string_view verb) {
  using V = std::vector<absl::string_view>;
  const V all = {"table", "json", "yaml", "markdown", "name"};
  const V reports = {"table", "json", "yaml"};
  static const auto* const kVerbs = new std::vector<VerbOutput>{
      {"apply", {"table", "json", "yaml", "name"}, "its results", ""},
      {"edit", all, "", ""},
      {"get", all, "", ""},
      {"query", all, "", ""},
      {"tags", reports, "tags and their counts", ""},
      {"categories", reports, "categories and their counts", ""},
      {"history",
       {"table", "json", "yaml", "markdown"},
       "the revisions of one article",
       ""},
      {"delete", all, "", ""},
      {"undelete", all, "", ""},
      {"diff", reports, "the changes between two revisions", ""},
      {"restore", all, "", ""},
      {"translations", all, "", ""},
      // No table: Markdown without -o, `-o table` refused (OutputRefusal).
      {"export",
       {"markdown"},
       "Markdown only",
       "Output format: export writes Markdown only (the default)"},
      {"watch", reports, "change events", ""},
      {"admin health", reports, "the server's health", ""},
      {"admin", reports, "a report on the store", ""},
      {"version", reports, "versions", ""},
  };
  static const auto* const kAny = new VerbOutput{
      "", all, "", "Output format; ignored: the same whatever format it names"};
  for (const VerbOutput& v : *kVerbs) {
    if (verb == v.verb || absl::StartsWith(verb, absl::StrCat(v.verb, " "))) {
      return v;
    }
  }
  return *kAny;  // help, completion
}

namespace {

constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";

// `bytes` as field `number` of a message on the wire (length-delimited).
void AppendBytesField(int number, absl::string_view bytes, std::string* out) {
  const auto varint = [out](uint64_t v) {
    while (v >= 0x80) {
      out->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out->push_back(static_cast<char>(v));
  };
  varint((static_cast<uint64_t>(number) << 3) | 2);
  varint(bytes.size());
  out->append(bytes.data(), bytes.size());
}

}  // namespace

absl::Status LocalError(absl::string_view reason, absl::string_view message,
                        absl::string_view path) {
  return LocalError(reason, message, {{"path", std::string(path)}});
}

absl::Status LocalError(absl::string_view reason, absl::string_view message,
                        const std::map<std::string, std::string>& metadata) {
  // google.rpc.ErrorInfo as contentd sends it: reason (1), domain (2),
  // metadata (3, an entry of key 1 and value 2 each). The code is none a
  // server gives for a local fault, and StatusText leaves it out.
  std::string info;
  AppendBytesField(1, reason, &info);
  AppendBytesField(2, kLocalDomain, &info);
  for (const auto& [key, value] : metadata) {
    std::string entry;
    AppendBytesField(1, key, &entry);
    AppendBytesField(2, value, &entry);
    AppendBytesField(3, entry, &info);
  }
  absl::Status status(absl::StatusCode::kUnknown, message);
  status.SetPayload(kErrorInfoUrl, absl::Cord(info));
  return status;
}

absl::Status LocalFileError(absl::string_view reason, absl::string_view action,
                            absl::string_view path, int err) {
  return LocalError(
      reason, absl::StrCat(action, " ", path, ": ", std::strerror(err)), path);
}

bool IsLocalError(const absl::Status& status) {
  return !status.ok() && ErrorDomain(status) == kLocalDomain;
}

std::string StatusText(const absl::Status& status) {
  if (IsLocalError(status)) return std::string(status.message());
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                      status.message());
}

std::string CallErrorText(const absl::Status& status,
                          const Connection& connection) {
  // A write that found no connection in time is DEADLINE_EXCEEDED, with
  // gRPC's reason in its message too.
  if (!absl::IsUnavailable(status) && !absl::IsDeadlineExceeded(status)) {
    return StatusText(status);
  }
  const absl::string_view message = status.message();
  // gRPC's own words for a deadline that passed on a connection (the SDK
  // rewords one that passed while no connection came): a slow server or a
  // long call, which a longer deadline may see through. The SDK's note on
  // a write that was sent stays after it.
  if (absl::string_view rest = message;
      absl::IsDeadlineExceeded(status) &&
      absl::ConsumePrefix(&rest, "Deadline Exceeded")) {
    return absl::StrCat(
        "DEADLINE_EXCEEDED: no answer from ", connection.target, " within ",
        connection.deadline.empty() ? "the default deadline"
                                    : connection.deadline,
        rest, "; a longer --timeout, or --timeout inf for none, waits more");
  }
  if (connection.tls && absl::StrContains(message, "wrong version number")) {
    return absl::StrCat(
        absl::StatusCodeToString(status.code()), ": cannot reach ",
        connection.target,
        ": TLS handshake failed: the server answered in plaintext",
        absl::StrContains(message, "the write was not sent")
            ? "; the write was not sent"
            : "",
        " (is the server plaintext? try without --ca)");
  }
  const std::string text =
      absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                   PlainConnectError(message, connection.target));
  // OpenSSL's words name neither the flag nor the likely causes: a server
  // certificate from another CA, or one out of its validity dates.
  if (connection.tls &&
      absl::StrContains(message, "certificate verify failed")) {
    return absl::StrCat(text,
                        " (the server's certificate is not signed by a CA in "
                        "--ca, or has expired or is not yet valid)");
  }
  if (connection.tls &&
      absl::StrContains(message, "is not in peer certificate")) {
    return absl::StrCat(
        text,
        " (--server must be a name or address the server's certificate lists "
        "in its subjectAltName)");
  }
  // "Broken pipe" when gRPC's write met a socket the server's death closed.
  if (!absl::StrContains(message, "Socket closed") &&
      !absl::StrContains(message, "Connection reset") &&
      !absl::StrContains(message, "Broken pipe")) {
    return text;
  }
  // A plaintext client meeting a TLS server never gets a connection, and
  // gRPC says so ("failed to connect to all addresses"). The same words
  // without it are a connection lost during the call: the server stopped
  // or was killed while it ran (an apply, a backup), which no --ca cures.
  if (absl::StrContains(message, "failed to connect to all addresses")) {
    if (!connection.tls) {
      return absl::StrCat(text, " (is the server using TLS? try --ca)");
    }
    // A TLS server that closes the handshake: mutual TLS (client_ca_file)
    // refuses a client with no certificate, or one its CA did not sign,
    // and gRPC tells the client no more than "Socket closed".
    return absl::StrCat(
        text, connection.client_cert
                  ? " (did the server refuse the client certificate? --cert "
                    "must be signed by a CA in the server's "
                    "tls.client_ca_file)"
                  : " (does the server require a client certificate? try "
                    "--cert and --key)");
  }
  // The SDK says of a unary write that it may have been applied.
  return absl::StrCat(
      text, " (the connection to ", connection.target,
      " was lost during the call, as when the server stops or restarts",
      absl::StrContains(message, "may have been applied")
          ? ")"
          : ": a write in it may or may not have been applied)");
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message,
                                   bool pretty, bool all_fields) {
  return internal::DeterministicJson(message, pretty, all_fields);
}

google::protobuf::Struct ErrorStruct(const absl::Status& status,
                                     absl::string_view text) {
  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  // A local failure is no server's, and has no gRPC code.
  const std::string code =
      IsLocalError(status) ? "" : absl::StatusCodeToString(status.code());
  absl::string_view message = text;
  if (!code.empty()) absl::ConsumePrefix(&message, absl::StrCat(code, ": "));
  fields["code"].set_string_value(code);
  fields["message"].set_string_value(std::string(message));
  fields["reason"].set_string_value(ErrorReason(status));
  fields["domain"].set_string_value(ErrorDomain(status));
  auto& metadata = *fields["metadata"].mutable_struct_value()->mutable_fields();
  for (const auto& [key, value] : ErrorMetadata(status))
    metadata[key].set_string_value(value);
  google::protobuf::ListValue* violations =
      fields["fieldViolations"].mutable_list_value();
  std::vector<std::string> flags;
  if (absl::optional<absl::Cord> payload =
          status.GetPayload(kViolationFlagsUrl)) {
    flags = absl::StrSplit(std::string(*payload), '\n');
  }
  size_t i = 0;
  for (const FieldViolation& v : FieldViolations(status)) {
    auto& entry =
        *violations->add_values()->mutable_struct_value()->mutable_fields();
    entry["field"].set_string_value(v.field);
    entry["description"].set_string_value(v.description);
    entry["flag"].set_string_value(i < flags.size() ? flags[i] : "");
    ++i;
  }
  return out;
}

void AddRequestId(google::protobuf::Struct* error,
                  const Connection& connection) {
  if (connection.request_id.empty()) return;
  (*error->mutable_fields())["requestId"].set_string_value(
      connection.request_id);
}

absl::Status WithViolationFlags(const absl::Status& status,
                                const std::vector<std::string>& flags) {
  absl::Status out = status;
  out.SetPayload(kViolationFlagsUrl, absl::Cord(absl::StrJoin(flags, "\n")));
  return out;
}

std::string StderrObject(const google::protobuf::Struct& object, Format format,
                         absl::string_view fallback) {
  const std::string line = absl::StrCat(fallback, "\n");
  if (format != Format::kJson && format != Format::kYaml) return line;
  absl::StatusOr<std::string> json = ToJson(object, /*pretty=*/false);
  if (!json.ok()) return line;
  if (format == Format::kJson) return absl::StrCat(*json, "\n");
  absl::StatusOr<std::string> yaml = JsonToYaml(*json);
  return yaml.ok() ? absl::StrCat("---\n", *yaml) : line;
}

std::string ErrorJson(const absl::Status& status, absl::string_view text) {
  absl::StatusOr<std::string> json =
      ToJson(ErrorStruct(status, text), /*pretty=*/false);
  // Struct always maps to JSON; the line stands in should it not.
  return json.ok() ? *json : absl::StrCat("Error: ", text);
}

absl::Status Reworded(const absl::Status& status, absl::string_view message) {
  absl::Status out(status.code(), message);
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

absl::Status WithFileNameHint(const absl::Status& status) {
  if (!absl::IsNotFound(status)) return status;
  const absl::string_view message = status.message();
  absl::string_view id = message.substr(0, message.find(' '));
  if (!absl::ConsumePrefix(&id, "articles/")) return status;
  // kubectl's `get pods` lists them: `get articles` read the article
  // "articles", which a store rarely has.
  if (id == "articles" || id == "article") {
    return Reworded(status, absl::StrCat(message,
                                         "; to list articles: contentctl "
                                         "query"));
  }
  for (absl::string_view ext : {".md", ".markdown"}) {
    if (!absl::EndsWith(id, ext) || id.size() == ext.size()) continue;
    const absl::string_view stem = id.substr(0, id.size() - ext.size());
    return Reworded(
        status,
        absl::StrCat(message, "; \"", id, "\" reads as a file name: `apply` ",
                     "names an article after its file without \"", ext,
                     "\" (articles/", stem, ") unless its front matter ",
                     "gives an id"));
  }
  return status;
}

absl::Status NameTheCondition(const absl::Status& status) {
  if (!absl::IsFailedPrecondition(status)) return status;
  const std::string reason = ErrorReason(status);
  const absl::string_view message = status.message();
  const char* flag = nullptr;
  if (reason == "REVISION_MISMATCH" ||
      (reason.empty() && absl::StartsWith(message, "expected_revision "))) {
    flag = "--expected-revision";
  } else if (reason == "ETAG_MISMATCH" ||
             (reason.empty() && absl::StartsWith(message, "etag "))) {
    flag = "--etag";
  }
  if (flag == nullptr) return status;
  std::string text = absl::StrCat(flag, ": ", message);
  // The server's text of an etag mismatch names the etags, not the
  // revision a caller would re-read.
  const std::map<std::string, std::string> metadata = ErrorMetadata(status);
  const auto current = metadata.find("current_revision");
  if (current != metadata.end() && !current->second.empty() &&
      !absl::StrContains(message,
                         absl::StrCat("head revision ", current->second))) {
    absl::StrAppend(&text, " (revision ", current->second, ")");
  }
  return Reworded(status, text);
}

absl::Status NameTheFlag(const absl::Status& status, const FieldFlags& fields,
                         absl::string_view query_as) {
  if (!absl::IsInvalidArgument(status)) return status;
  // The flag of the field `text` opens with (`query.tags[0]: ...`), "" if
  // it opens with none of `fields`.
  const auto flag_of = [&](absl::string_view text) -> absl::string_view {
    for (const auto& [name, flag] : fields) {
      std::string field(name);
      if (absl::StartsWith(name, "query.")) {
        field = absl::StrCat(query_as, name.substr(5));
      }
      if (!absl::StartsWith(text, field) || text.size() == field.size()) {
        continue;
      }
      const char next = text[field.size()];
      if (next == ':' || next == '[') return flag;
    }
    return "";
  };
  // Where each violation's text starts: the message's start, and after a
  // "; " where a field the BadRequest names follows (a rule's own "; " is
  // followed by no field path of the request).
  std::vector<std::string> violated;
  // The flag of each violation, for -o json's fieldViolations.
  std::vector<std::string> flags;
  bool flagged = false;
  for (const FieldViolation& v : FieldViolations(status)) {
    violated.push_back(absl::StrCat(v.field, ": "));
    flags.emplace_back(flag_of(violated.back()));
    flagged = flagged || !flags.back().empty();
  }
  const absl::string_view message = status.message();
  std::string out;
  bool named = false;
  size_t start = 0;
  while (true) {
    const absl::string_view rest = message.substr(start);
    const bool opens_violation =
        start == 0 || std::any_of(violated.begin(), violated.end(),
                                  [&](const std::string& v) {
                                    return absl::StartsWith(rest, v);
                                  });
    if (const absl::string_view flag = opens_violation ? flag_of(rest) : "";
        !flag.empty()) {
      absl::StrAppend(&out, flag, ": ");
      named = true;
    }
    const size_t next = message.find("; ", start);
    if (next == absl::string_view::npos) {
      absl::StrAppend(&out, rest);
      break;
    }
    absl::StrAppend(&out, message.substr(start, next + 2 - start));
    start = next + 2;
  }
  const absl::Status flagged_status =
      flagged ? WithViolationFlags(status, flags) : status;
  return named ? Reworded(flagged_status, out) : flagged_status;
}

absl::StatusOr<std::string> JsonToYaml(absl::string_view json) {
  try {
    const YAML::Node node = YAML::Load(std::string(json));
    YAML::Emitter out;
    out.SetIndent(2);
    EmitYaml(node, out);
    if (!out.good()) {
      return absl::InternalError(
          absl::StrCat("YAML encoding: ", out.GetLastError()));
    }
    std::string text = out.c_str();
    // yaml-cpp leaves a blank line after a trailing literal block.
    while (text.size() >= 2 && text[text.size() - 1] == '\n' &&
           text[text.size() - 2] == '\n') {
      text.pop_back();
    }
    if (text.empty() || text.back() != '\n') text += "\n";
    return text;
  } catch (const YAML::Exception& e) {
    return absl::InternalError(absl::StrCat("YAML encoding: ", e.what()));
  }
}

namespace {

// The bytes of the character `text` opens, with what draws in its cells,
// and in `width` the columns it takes: combining marks and variation
// selectors add none, nor does a skin-tone modifier after an emoji or a
// character a ZWJ joins on (👩‍💻 is as wide as 👩). A narrow character
// followed by VS16 (U+FE0F, emoji presentation) takes two columns, as
// terminals draw ❤️ and 1️⃣: counted one, a table's columns after it
// were one off.
size_t NextCharacter(absl::string_view text, int* width) {
  int32_t cp;
  size_t n = DecodeUtf8(text, &cp);
  *width = CodePointWidth(cp);
  while (n < text.size()) {
    int32_t next;
    const size_t m = DecodeUtf8(text.substr(n), &next);
    if (next == 0x200D) {  // zero width joiner: the next character joins
      n += m;
      if (n < text.size()) n += DecodeUtf8(text.substr(n), &next);
    } else if (next == 0xFE0F) {
      if (*width == 1) *width = 2;
      n += m;
    } else if ((next >= 0x1F3FB && next <= 0x1F3FF && *width == 2) ||
               (next >= 0 && CodePointWidth(next) == 0)) {
      n += m;
    } else {
      break;
    }
  }
  return n;
}

}  // namespace

int DisplayWidth(absl::string_view text) {
  int width = 0;
  while (!text.empty()) {
    int w;
    text.remove_prefix(NextCharacter(text, &w));
    width += w;
  }
  return width;
}

std::string TruncateToWidth(absl::string_view text, int columns) {
  if (DisplayWidth(text) <= columns) return std::string(text);
  constexpr absl::string_view kEllipsis = "…";
  std::string out;
  int width = 0;
  // Whole characters (NextCharacter): a mark or joined emoji stays with
  // what it belongs to.
  while (!text.empty()) {
    int w;
    const size_t n = NextCharacter(text, &w);
    if (width + w > columns - 1) break;  // keep a column for the ellipsis
    out.append(text.data(), n);
    width += w;
    text.remove_prefix(n);
  }
  out.append(kEllipsis.data(), kEllipsis.size());
  return out;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  if (!HasTime(ts)) return "";
  const absl::Time t =
      absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  // %E4Y: four digits for years before 1000, as RFC 3339 has them.
  return absl::FormatTime("%E4Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string StateLabel(const v1::Article& a, absl::Time now) {
  const auto at = [](const google::protobuf::Timestamp& ts) {
    return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  };
  switch (a.state()) {
    case v1::Article::DRAFT:
      return "draft";
    case v1::Article::ARCHIVED:
      return "archived";
    default:
      break;
  }
  // A published article's window, by the rule of Query.windows
  // (store::PublishWindowOf), named as --state names it: what the table
  // says is what `--state` selects. A tombstone of an article deleted
  // before its publish time stays scheduled: it never came out.
  const absl::Time published_by =
      a.has_delete_time() ? std::min(now, at(a.delete_time())) : now;
  if (a.has_publish_time() && at(a.publish_time()) > published_by) {
    return "scheduled";
  }
  if (a.has_expiry_time() && at(a.expiry_time()) <= now) return "expired";
  return "live";
}

std::string MarkdownDocument(const v1::Article& a, bool marked) {
  std::string doc = FormatMarkdown(a);
  if (!marked && !HasTime(a.delete_time())) return doc;
  // The comment goes inside the front matter, so that the document still
  // reads back as it is: parsers drop it.
  constexpr absl::string_view kOpen = "---\n";
  if (absl::StartsWith(doc, kOpen)) doc.erase(0, kOpen.size());
  return absl::StrCat(kOpen, "# ", a.name(), " revision ", a.revision(),
                      HasTime(a.delete_time()) ? " (deleted)" : "", "\n", doc);
}

absl::Status Output::PrintJsonOrYaml(absl::string_view json) const {
  if (format_ != Format::kYaml) {
    out_ << json;
    if (json.empty() || json.back() != '\n') out_ << "\n";
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> yaml = JsonToYaml(json);
  if (!yaml.ok()) return yaml.status();
  out_ << *yaml;
  return absl::OkStatus();
}

absl::Status Output::PrintMessage(const google::protobuf::Message& message,
                                  bool all_fields) const {
  absl::StatusOr<std::string> json =
      ToJson(message, /*pretty=*/true, all_fields);
  if (!json.ok()) return json.status();
  return PrintJsonOrYaml(*json);
}

absl::Status Output::PrintMessageAnd(
    const google::protobuf::Message& message, absl::string_view key,
    const google::protobuf::Value& value) const {
  absl::StatusOr<std::string> object =
      ToJson(message, /*pretty=*/true, /*all_fields=*/true);
  if (!object.ok()) return object.status();
  absl::StatusOr<std::string> member = ToJson(value, /*pretty=*/true);
  if (!member.ok()) return member.status();
  // `{ ... }` with `,\n  "key": VALUE` before its closing brace, VALUE's
  // lines indented one level more (a JSON string holds no raw newline).
  std::string json(absl::StripTrailingAsciiWhitespace(*object));
  if (json.size() < 2 || json.back() != '}') {
    return absl::InternalError("JSON encoding: not an object");
  }
  json.pop_back();
  absl::StripTrailingAsciiWhitespace(&json);
  const std::string nested = absl::StrReplaceAll(
      absl::StripTrailingAsciiWhitespace(*member), {{"\n", "\n  "}});
  absl::StrAppend(&json, json.back() == '{' ? "" : ",", "\n  \"",
                  absl::CEscape(key), "\": ", nested, "\n}\n");
  return PrintJsonOrYaml(json);
}

absl::Status Output::PrintArticle(const v1::Article& a) const {
  switch (format_) {
    case Format::kJson:
    case Format::kYaml:
      return PrintMessage(a);
    case Format::kMarkdown:
      out_ << MarkdownDocument(a);
      return absl::OkStatus();
    case Format::kName:
      out_ << a.name() << "\n";
      return absl::OkStatus();
    case Format::kTable:
      break;
  }
  const std::string deleted =
      HasTime(a.delete_time())
          ? absl::StrCat("yes (", FormatTimestamp(a.delete_time()), ")")
          : "no";
  const std::pair<const char*, std::string> fields[] = {
      {"Name", a.name()},
      {"Title", OneLine(a.title())},
      {"Revision", absl::StrCat(a.revision())},
      {"Date", FormatTimestamp(a.date())},
      {"Tags", OneLine(absl::StrJoin(a.tags(), ", "))},
      {"Categories", OneLine(absl::StrJoin(a.categories(), ", "))},
      {"Lang", OneLine(absl::StrJoin(a.lang(), ", "))},
      // Editorial fields only when set, so older articles print as before;
      // the state too with a publish or expiry time, which make it other
      // than live (`query --all` says scheduled of such an article).
      {"State", a.state() == v1::Article::STATE_UNSPECIFIED &&
                        !a.has_publish_time() && !a.has_expiry_time()
                    ? ""
                    : StateLabel(a, absl::Now())},
      {"Publish Time", FormatTimestamp(a.publish_time())},
      {"Expiry Time", FormatTimestamp(a.expiry_time())},
      {"Translation", OneLine(a.translation_key())},
      {"Etag", a.etag()},
      {"Update Time", FormatTimestamp(a.update_time())},
      {"Deleted", deleted},
      {"Content Hash", a.content_hash()},
  };
  for (const auto& [label, value] : fields) {
    const absl::string_view l = label;
    const bool optional = l == "State" || l == "Publish Time" ||
                          l == "Expiry Time" || l == "Translation";
    if (optional && value.empty()) continue;
    std::string line = absl::StrCat(label, ":");
    line.resize(15, ' ');
    line += value;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ << line << "\n";
  }
  return absl::OkStatus();
}

absl::Status Output::PrintQuery(const v1::QueryArticlesResponse& response,
                                bool first_page, bool states) const {
  switch (format_) {
    case Format::kJson:
    case Format::kYaml:
      return PrintMessage(response, /*all_fields=*/response.articles().empty());
    case Format::kMarkdown:
    case Format::kName:
      if (format_ == Format::kName && response.articles().empty()) {
        err_ << "No articles found.\n";
      }
      if (format_ == Format::kName) {
        PrintNames(response.articles());
      } else {
        PrintDocuments(response.articles());
      }
      // A page that stdout did not take (a full disk, a closed pipe) gets
      // no footer: the caller's error says why, and a total said after no
      // output reads as success.
      if (!out_.flush()) return absl::OkStatus();
      if (!response.articles().empty()) PrintTotal(response, first_page);
      HintNextPage(response.next_page_token());
      // Not in the Markdown stream, which holds only documents.
      PrintFacets(response, err_);
      return absl::OkStatus();
    case Format::kTable:
      break;
  }
  if (response.articles().empty()) {
    err_ << "No articles found.\n";
    HintNextPage(response.next_page_token());
    return absl::OkStatus();
  }
  WriteArticleTable(response.articles(), states);
  if (!out_.flush()) return absl::OkStatus();  // as above
  PrintTotal(response, first_page);
  HintNextPage(response.next_page_token());
  PrintFacets(response, out_);
  return absl::OkStatus();
}

absl::Status Output::PrintArticles(
    const google::protobuf::RepeatedPtrField<v1::Article>& articles,
    bool states) const {
  switch (format_) {
    case Format::kJson:
    case Format::kYaml:
      break;
    case Format::kMarkdown:
      PrintDocuments(articles);
      return absl::OkStatus();
    case Format::kName:
      PrintNames(articles);
      return absl::OkStatus();
    case Format::kTable:
      if (!articles.empty()) WriteArticleTable(articles, states);
      return absl::OkStatus();
  }
  // A list of the messages `get ID -o json` prints, each indented under
  // it (JSON strings hold no raw newline).
  std::string json = "[";
  for (int i = 0; i < articles.size(); ++i) {
    absl::StatusOr<std::string> one = ToJson(articles[i], /*pretty=*/true);
    if (!one.ok()) return one.status();
    while (!one->empty() && one->back() == '\n') one->pop_back();
    absl::StrAppend(&json, i == 0 ? "\n  " : ",\n  ",
                    absl::StrReplaceAll(*one, {{"\n", "\n  "}}));
  }
  absl::StrAppend(&json, articles.empty() ? "]\n" : "\n]\n");
  return PrintJsonOrYaml(json);
}

void Output::WriteArticleTable(
    const google::protobuf::RepeatedPtrField<v1::Article>& articles,
    bool states) const {
  std::vector<std::string> header = {"NAME", "REV", "DATE", "TITLE", "TAGS"};
  if (states) header.insert(header.begin() + 2, "STATE");
  Table table(std::move(header));
  const absl::Time now = absl::Now();
  for (const v1::Article& a : articles) {
    std::string rev = absl::StrCat(a.revision());
    if (HasTime(a.delete_time())) absl::StrAppend(&rev, " (deleted)");
    std::vector<std::string> row = {
        a.name(), rev, FormatTimestamp(a.date()),
        TruncateToWidth(OneLine(a.title()), kTitleColumns),
        TruncateToWidth(OneLine(absl::StrJoin(a.tags(), ",")), kTagsColumns)};
    if (states) row.insert(row.begin() + 2, StateLabel(a, now));
    table.AddRow(std::move(row));
  }
  table.Write(out_, !no_headers_);
}

void Output::PrintTotal(const v1::QueryArticlesResponse& response,
                        bool first_page) const {
  const int64_t total = response.total_size();
  const auto articles = [](int64_t n) {
    return absl::StrCat(n, n == 1 ? " article" : " articles");
  };
  // Exact when no page follows: this first page holds the whole result,
  // or this last page ends a walk (what its pages returned); otherwise an
  // estimate from the index lists (QueryArticlesResponse.total_size).
  // So is a total beside facets that counted every matching article.
  if (response.next_page_token().empty() ||
      (response.facets_size() > 0 && response.facets_complete())) {
    err_ << "total: " << articles(total);
    if (!first_page || !response.next_page_token().empty())
      err_ << " (" << response.articles_size() << " on this page)";
    err_ << "\n";
    return;
  }
  // One more than this first page holds is the least the server may say:
  // what it says where it has no estimate to give (a reader's text-only
  // query: total_size), and "about 4" of a search that found 100 read as
  // a count.
  const char* qualifier = first_page && total == response.articles_size() + 1
                              ? "at least "
                              : "about ";
  err_ << "total: " << qualifier << articles(total) << " ("
       << response.articles_size() << " on this page)\n";
}

void Output::PrintFacets(const v1::QueryArticlesResponse& response,
                         std::ostream& os) const {
  if (response.facets_size() == 0) return;
  // Facets after the page: FIELD VALUE COUNT.
  Table facets({"FACET", "VALUE", "COUNT"});
  for (const v1::Facet& f : response.facets()) {
    std::string field = v1::FacetField_Name(f.field());
    if (absl::StartsWith(field, "FACET_FIELD_")) field = field.substr(12);
    field = absl::AsciiStrToLower(field);
    for (const v1::FacetValue& v : f.values())
      facets.AddRow({field, v.value(), absl::StrCat(v.count())});
  }
  os << "\n";
  facets.Write(os, !no_headers_);
  if (!response.facets_complete()) {
    err_ << "Facets count the first " << response.facet_articles_counted()
         << " matching articles.\n";
  }
}

absl::Status Output::PrintTermCounts(
    const google::protobuf::Message& response, const std::string& header,
    const google::protobuf::RepeatedPtrField<v1::TermCount>& counts,
    const std::string& next_page_token) const {
  if (format_ == Format::kJson || format_ == Format::kYaml)
    return PrintMessage(response, /*all_fields=*/counts.empty());
  if (counts.empty()) {
    err_ << "None found.\n";
    HintNextPage(next_page_token);
    return absl::OkStatus();
  }
  Table table({header, "ARTICLES"});
  for (const v1::TermCount& c : counts)
    table.AddRow({c.value(), absl::StrCat(c.article_count())});
  table.Write(out_, !no_headers_);
  HintNextPage(next_page_token);
  return absl::OkStatus();
}

absl::Status Output::PrintHistory(
    const v1::ListArticleRevisionsResponse& response) const {
  switch (format_) {
    case Format::kJson:
    case Format::kYaml:
      return PrintMessage(response,
                          /*all_fields=*/response.revisions().empty());
    case Format::kMarkdown:
      PrintDocuments(response.revisions());
      HintNextPage(response.next_page_token());
      NoteRemovedRevisions(response.oldest_kept_revision());
      return absl::OkStatus();
    case Format::kName:  // main refuses it: revisions of one article
      return absl::InternalError("history has no -o name");
    case Format::kTable:
      break;
  }
  // The state each revision gives the article, named as `get` names it.
  const absl::Time now = absl::Now();
  Table table({"REV", "UPDATED", "STATE", "CONTENT-HASH"});
  for (const v1::Article& a : response.revisions()) {
    // To the second: FormatTimestamp's fraction drops trailing zeros, which
    // left the column ragged; the exact time is in -o json.
    table.AddRow({absl::StrCat(a.revision()), SecondsTimestamp(a.update_time()),
                  HasTime(a.delete_time()) ? "deleted" : StateLabel(a, now),
                  a.content_hash().substr(0, kHashChars)});
  }
  table.Write(out_, !no_headers_);
  HintNextPage(response.next_page_token());
  NoteRemovedRevisions(response.oldest_kept_revision());
  return absl::OkStatus();
}

namespace {

// ---- diff: what changed inside a line ----------------------------------

// `line` split into its UTF-8 sequences (a byte that is none stands alone).
std::vector<absl::string_view> CodePoints(absl::string_view line) {
  std::vector<absl::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = i + 1;
    while (j < line.size() &&
           (static_cast<unsigned char>(line[j]) & 0xC0) == 0x80)
      ++j;
    out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// The code points dtl's shortest edit script keeps (`true`) and changes
// (`false`) in `from` and in `to`; nullopt where the lines share less than
// half the longer one's code points (then they are two different lines,
// and marks would be confetti), or are too long to compare cheaply.
struct Kept {
  std::vector<absl::string_view> from, to;
  std::vector<bool> from_kept, to_kept;
};

std::optional<Kept> KeptCodePoints(absl::string_view from,
                                   absl::string_view to) {
  constexpr size_t kMaxCodePoints = 20000;
  Kept k;
  k.from = CodePoints(from);
  k.to = CodePoints(to);
  if (k.from.size() > kMaxCodePoints || k.to.size() > kMaxCodePoints)
    return std::nullopt;
  k.from_kept.assign(k.from.size(), false);
  k.to_kept.assign(k.to.size(), false);
  dtl::Diff<absl::string_view, std::vector<absl::string_view>> diff(k.from,
                                                                    k.to);
  diff.compose();
  size_t common = 0;
  for (const auto& [element, info] : diff.getSes().getSequence()) {
    if (info.type != dtl::SES_COMMON) continue;
    k.from_kept[info.beforeIdx - 1] = true;
    k.to_kept[info.afterIdx - 1] = true;
    ++common;
  }
  if (common * 2 < std::max(k.from.size(), k.to.size())) return std::nullopt;
  return k;
}

// `points` with the runs not kept between \033[7m and \033[27m (reverse
// video, inside the line's colour). A single code point kept between two
// changes is marked with them: a change broken by one shared character
// (`的`, a comma) reads as one.
std::string MarkChanged(const std::vector<absl::string_view>& points,
                        std::vector<bool> kept) {
  for (size_t i = 1; i + 1 < kept.size(); ++i) {
    if (kept[i] && !kept[i - 1] && !kept[i + 1]) kept[i] = false;
  }
  std::string out;
  bool marking = false;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!kept[i] != marking) {
      marking = !kept[i];
      out += marking ? "\033[7m" : "\033[27m";
    }
    absl::StrAppend(&out, points[i]);
  }
  if (marking) out += "\033[27m";
  return out;
}

// `from` and `to`, one line replaced by the other, with what changed inside
// them marked (MarkChanged); as they are where KeptCodePoints finds them
// too different.
std::pair<std::string, std::string> MarkChangedPair(absl::string_view from,
                                                    absl::string_view to) {
  std::optional<Kept> k = KeptCodePoints(from, to);
  if (!k.has_value()) return {std::string(from), std::string(to)};
  return {MarkChanged(k->from, std::move(k->from_kept)),
          MarkChanged(k->to, std::move(k->to_kept))};
}

}  // namespace

absl::Status Output::PrintDiff(const v1::DiffArticleRevisionsResponse& diff,
                               bool color, bool show_cr,
                               absl::string_view to_label) const {
  if ((format_ == Format::kJson || format_ == Format::kYaml) &&
      !to_label.empty()) {
    // `diff -f` prints a diff per document: a stream, as watch's, each
    // with the file it compared (two documents may name one article).
    absl::StatusOr<std::string> json =
        ToJson(diff, /*pretty=*/false,
               /*all_fields=*/diff.field_changes().empty());
    if (!json.ok()) return json.status();
    if (json->size() < 2 || json->back() != '}') {
      return absl::InternalError("JSON encoding: not an object");
    }
    google::protobuf::Value file;
    file.set_string_value(std::string(to_label));
    absl::StatusOr<std::string> file_json = ToJson(file, /*pretty=*/false);
    if (!file_json.ok()) return file_json.status();
    json->pop_back();
    absl::StrAppend(&*json, json->back() == '{' ? "" : ",",
                    "\"file\":", *file_json, "}");
    if (format_ == Format::kJson) {
      out_ << *json << "\n";
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> yaml = JsonToYaml(*json);
    if (!yaml.ok()) return yaml.status();
    out_ << "---\n" << *yaml;
    return absl::OkStatus();
  }
  if (format_ == Format::kJson || format_ == Format::kYaml) {
    return PrintMessage(diff, /*all_fields=*/diff.field_changes().empty());
  }
  const auto paint = [color](absl::string_view code, absl::string_view text) {
    return color ? absl::StrCat("\033[", code, "m", text, "\033[0m")
                 : std::string(text);
  };
  constexpr absl::string_view kRed = "31", kGreen = "32", kCyan = "36",
                              kBold = "1";
  const auto side = [&](int64_t revision, bool deleted) {
    return absl::StrCat(revision, deleted ? " (deleted)" : "");
  };
  if (to_label.empty()) {
    out_ << diff.name() << ": revision "
         << side(diff.from_revision(), diff.from_deleted()) << " -> "
         << side(diff.to_revision(), diff.to_deleted()) << "\n";
  } else if (diff.from_revision() == 0) {
    out_ << diff.name() << ": (new) -> " << to_label << "\n";
  } else {
    out_ << diff.name() << ": revision "
         << side(diff.from_revision(), diff.from_deleted()) << " -> "
         << to_label << "\n";
  }
  // The API names a state by its enum (`"DRAFT"`); front matter, --state
  // and every other table by its word (`draft`).
  const auto value = [](const v1::FieldChange& c, const std::string& v) {
    return c.field() == "state" ? absl::AsciiStrToLower(v) : v;
  };
  // On a terminal what changed inside a replaced value or line is marked
  // (MarkChangedPair): a Chinese paragraph is one line, and a word changed
  // in it otherwise shows as two long lines that look alike.
  for (const v1::FieldChange& c : diff.field_changes()) {
    out_ << paint(kCyan, absl::StrCat(c.field(), ":")) << "\n";
    const std::string old_value = value(c, c.old_value());
    const std::string new_value = value(c, c.new_value());
    auto [from, to] = color && !old_value.empty() && !new_value.empty()
                          ? MarkChangedPair(old_value, new_value)
                          : std::pair{old_value, new_value};
    if (!from.empty()) out_ << paint(kRed, absl::StrCat("- ", from)) << "\n";
    if (!to.empty()) out_ << paint(kGreen, absl::StrCat("+ ", to)) << "\n";
  }
  if (diff.field_changes().empty() && diff.body_diff().empty()) {
    out_ << "no changes\n";
    return absl::OkStatus();
  }
  if (diff.body_diff().empty()) return absl::OkStatus();
  if (!diff.field_changes().empty()) out_ << "\n";
  std::vector<absl::string_view> lines =
      absl::StrSplit(diff.body_diff(), '\n', absl::SkipEmpty());
  // The `--- ` and `+++ ` file header is the lines before the first hunk;
  // after it a line's first character is its mark, so a removed body line
  // `-- sig` (`--- sig`) is a removal, not a header.
  size_t hunks = 0;
  while (hunks < lines.size() && !absl::StartsWith(lines[hunks], "@@")) {
    ++hunks;
  }
  // Each line as printed: a run of N removed lines followed by N added ones
  // is N lines replaced, the i-th by the i-th, and marked so in colour (as
  // git's diff-highlight pairs them).
  std::vector<std::string> marked(lines.begin(), lines.end());
  for (size_t i = 0; color && i < lines.size();) {
    const auto is = [&](size_t at, char c) {
      return at >= hunks && at < lines.size() && lines[at][0] == c;
    };
    size_t removed = 0, added = 0;
    while (is(i + removed, '-')) ++removed;
    while (is(i + removed + added, '+')) ++added;
    if (removed > 0 && removed == added) {
      for (size_t k = 0; k < removed; ++k) {
        auto [from, to] = MarkChangedPair(lines[i + k].substr(1),
                                          lines[i + removed + k].substr(1));
        marked[i + k] = absl::StrCat("-", from);
        marked[i + removed + k] = absl::StrCat("+", to);
      }
    }
    i += std::max<size_t>(1, removed + added);
  }
  for (size_t n = 0; n < lines.size(); ++n) {
    const absl::string_view line = lines[n];
    absl::string_view code;
    if (n < hunks) {
      code = kBold;
    } else if (absl::StartsWith(line, "@@")) {
      code = kCyan;
    } else if (line[0] == '-') {
      code = kRed;
    } else if (line[0] == '+') {
      code = kGreen;
    }
    std::string shown = marked[n];
    if (show_cr) absl::StrReplaceAll({{"\r", "^M"}}, &shown);
    out_ << (code.empty() ? shown : paint(code, shown)) << "\n";
  }
  return absl::OkStatus();
}

absl::Status Output::PrintTranslations(
    const v1::ListTranslationsResponse& response) const {
  switch (format_) {
    case Format::kJson:
    case Format::kYaml:
      return PrintMessage(response, /*all_fields=*/response.articles().empty());
    case Format::kMarkdown:
      PrintDocuments(response.articles());
      return absl::OkStatus();
    case Format::kName:
      if (response.articles().empty()) err_ << "No translations found.\n";
      PrintNames(response.articles());
      return absl::OkStatus();
    case Format::kTable:
      break;
  }
  if (response.articles().empty()) {
    err_ << "No translations found.\n";
    return absl::OkStatus();
  }
  const absl::Time now = absl::Now();
  Table table({"ID", "LANG", "STATE", "TITLE"});
  for (const v1::Article& a : response.articles()) {
    table.AddRow({ArticleIdOf(a.name()), OneLine(absl::StrJoin(a.lang(), ",")),
                  StateLabel(a, now),
                  TruncateToWidth(OneLine(a.title()), kTitleColumns)});
  }
  table.Write(out_, !no_headers_);
  return absl::OkStatus();
}

void Output::PrintNames(
    const google::protobuf::RepeatedPtrField<v1::Article>& articles) const {
  for (const v1::Article& a : articles) out_ << a.name() << "\n";
}

void Output::PrintDocuments(
    const google::protobuf::RepeatedPtrField<v1::Article>& articles) const {
  for (int i = 0; i < articles.size(); ++i) {
    const v1::Article& a = articles[i];
    if (i > 0) out_ << "\n";
    // Each document opens with its comment, so that the stream splits into
    // documents (a `---` alone may be a body's rule).
    std::string doc = MarkdownDocument(a, /*marked=*/true);
    if (!doc.empty() && doc.back() != '\n') doc += "\n";
    out_ << doc;
  }
}

void Output::NoteRemovedRevisions(int64_t oldest_kept) const {
  // As HintNextPage: on stderr, after a page stdout took. Without it a
  // history cut by retention ended as if the article began there.
  if (oldest_kept <= 1 || !out_.flush()) return;
  if (oldest_kept == 2) {
    err_ << "revision 1 was removed by retention\n";
  } else {
    err_ << "revisions 1 to " << oldest_kept - 1
         << " were removed by retention\n";
  }
}

void Output::HintNextPage(const std::string& token) const {
  // None after a page stdout did not take (see PrintQuery).
  if (!out_.flush()) return;
  // With `=`: a token from an older server may start with `-`.
  if (!token.empty()) err_ << "next page: --page-token=" << token << "\n";
}

}  // namespace content::cli
