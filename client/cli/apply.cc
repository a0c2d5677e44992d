#include "client/cli/apply.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/cli/usage.h"
#include "common/did_you_mean.h"
#include "common/lang_tag.h"
#include "common/terminal.h"
#include "common/utf8.h"
#include "content/markdown.h"
#include "google/protobuf/struct.pb.h"

namespace content::cli {
namespace {

namespace fs = std::filesystem;

// What happened to one file.
struct FileResult {
  std::string file;
  std::string name;  // `articles/{id}`; empty if the file never got that far
  // created, updated, unchanged, failed, or skipped (not sent: the apply
  // was interrupted first)
  std::string result;
  int64_t revision = 0;
  absl::Status status;
  // The server's reason for `status` where it is not among its payloads
  // (ImportResult.reason); else ErrorReason(status).
  std::string reason;
  // Likewise its metadata (ImportResult.metadata).
  std::map<std::string, std::string> metadata;
  // The top-level keys of the document, for naming the front-matter key of
  // each of the server's field violations (FileError).
  std::vector<std::string> keys;
  std::string id_from;
  // A call carried the document (and the request id, if any): `status`
  // is the server's or the call's, not a failure found before sending.
  bool sent = false;
};

// How a document wrote what its article holds, for naming it in errors: the
// server's name Article fields (`publish_time`), the user wrote front-matter
// keys (`publishDate`).
struct Written {
  std::vector<std::string> keys;  // top-level keys, as written
  std::string id_from;  // `id`, `--id`, `id (from the file name)`, ...
};

// A one-line bar on stderr, `[#####.....] 12/40`, redrawn in place. Does
// nothing when disabled.
class ProgressBar {
 public:
  ProgressBar(size_t total, bool enabled) : total_(total), enabled_(enabled) {}
  ~ProgressBar() { Clear(); }

  void Show(size_t done) {
    if (!enabled_) return;
    constexpr size_t kWidth = 30;
    const size_t filled = total_ == 0 ? kWidth : done * kWidth / total_;
    std::string bar = "\r[";
    bar.append(filled, '#');
    bar.append(kWidth - filled, '.');
    absl::StrAppend(&bar, "] ", done, "/", total_);
    std::fputs(bar.c_str(), stderr);
    std::fflush(stderr);
    shown_ = true;
  }

  // `n` more to do.
  void Grow(size_t n) { total_ += n; }

  // Erases the bar so that a line can be printed in its place.
  void Clear() {
    if (!enabled_ || !shown_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    shown_ = false;
  }

 private:
  size_t total_;
  const bool enabled_;
  bool shown_ = false;
};

// `-f -`: one article from standard input. Results and errors name it
// `<stdin>`.
constexpr char kStdin[] = "-";
constexpr char kStdinLabel[] = "<stdin>";

// How results and errors name `file`.
std::string Label(const std::string& file) {
  return file == kStdin ? kStdinLabel : file;
}

// Most bytes read from one file: no article larger than the 16 MiB that
// contentd takes in one request can be sent, so a larger file is refused
// unread (1 GB on stdin took 2 GB of memory before it failed).
constexpr size_t kMaxFileBytes = size_t{16} << 20;

// `path` (kStdin for standard input) holds more than kMaxFileBytes: a
// local failure naming it and the limit (LocalError, FILE_TOO_LARGE, no
// gRPC code), with its size where it is known (a regular file's; a pipe
// is read only to one byte past the limit), -1 otherwise.
absl::Status FileTooLarge(const std::string& path, int64_t size) {
  const bool from_stdin = path == kStdin;
  std::map<std::string, std::string> metadata = {
      {"path", from_stdin ? "stdin" : path},
      {"limit_bytes", absl::StrCat(kMaxFileBytes)}};
  if (size >= 0) metadata["size_bytes"] = absl::StrCat(size);
  return LocalError(
      kFileTooLarge,
      absl::StrCat(from_stdin ? "stdin" : path,
                   size >= 0 ? absl::StrCat(" is ", size, " bytes,")
                             : std::string(" holds"),
                   " more than 16 MiB (", kMaxFileBytes,
                   " bytes), the most contentd takes in one request; an "
                   "article may hold limits.max_article_bytes (1 MiB by "
                   "default)"),
      metadata);
}

// A file, directory or standard input that could not be read, errno
// `err`: `reading PATH: REASON` (`reading from stdin: ...`), a local
// failure with no gRPC code (LocalError, READ_FAILED).
absl::Status ReadFailed(const std::string& path, int err) {
  if (path == kStdin) {
    return LocalError(kReadFailed,
                      absl::StrCat("reading from stdin: ", std::strerror(err)),
                      "stdin");
  }
  return LocalFileError(kReadFailed, "reading", path, err);
}

// The whole of `file`, or of standard input for "-", if it holds at most
// kMaxFileBytes: a regular file's size is checked first, anything else (a
// pipe) is read to one byte past the limit.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const bool from_stdin = path == kStdin;
  std::FILE* f = from_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ReadFailed(path, errno);
  const auto done = [&] {
    if (!from_stdin) std::fclose(f);
  };
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
    // Standard input may start part-way (`(read x; contentctl ...) < f`).
    const off_t at = lseek(fileno(f), 0, SEEK_CUR);
    const off_t size = st.st_size - std::max<off_t>(at, 0);
    if (size > static_cast<off_t>(kMaxFileBytes)) {
      done();
      return FileTooLarge(path, size);
    }
  }
  std::string text;
  char buf[1 << 16];
  size_t n;
  while (text.size() <= kMaxFileBytes &&
         (n = std::fread(buf, 1,
                         std::min(sizeof(buf), kMaxFileBytes + 1 - text.size()),
                         f)) > 0) {
    text.append(buf, n);
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  done();
  if (failed) return ReadFailed(path, err != 0 ? err : EIO);
  if (text.size() > kMaxFileBytes) return FileTooLarge(path, -1);
  return text;
}

// What the line `-o markdown` opens each of many documents (and a
// tombstone printed alone) with says, after `---`: `# articles/ID revision
// N`, ` (deleted)` after it for a tombstone.
struct Mark {
  std::string id;  // "" if the line is no such line
  int64_t revision = 0;
  bool deleted = false;
};

Mark MarkOf(absl::string_view line) {
  absl::string_view rest = line;
  if (!absl::ConsumePrefix(&rest, "# articles/")) return {};
  const bool deleted = absl::ConsumeSuffix(&rest, " (deleted)");
  constexpr absl::string_view kRevision = " revision ";
  const size_t space = rest.rfind(kRevision);
  if (space == 0 || space == absl::string_view::npos) return {};
  const absl::string_view digits = rest.substr(space + kRevision.size());
  int64_t revision = 0;
  if (digits.empty() ||
      digits.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(digits, &revision)) {
    return {};
  }
  const absl::string_view id = rest.substr(0, space);
  // Sent as is, an id that is not UTF-8 would fail the whole import batch.
  if (id.find_first_of(" \t") != absl::string_view::npos ||
      !internal::IsValidUtf8(id)) {
    return {};
  }
  return Mark{std::string(id), revision, deleted};
}

// One document of a file (several come from the stream `-o markdown` prints
// of many), with what its opening line says (Mark; no id if none) and how
// results name it: the file's label, `#N` after it for the Nth of several.
struct Document {
  std::string label;
  Mark mark;
  absl::string_view text;
};

// The line starting at `at` in `*line`, without its end (\n, or \r\n as the
// markdown reader takes from a Windows editor), and in `*next` the offset
// past it. False when no line end follows `at`.
bool LineAt(absl::string_view text, size_t at, absl::string_view* line,
            size_t* next) {
  const size_t end = text.find('\n', at);
  if (end == absl::string_view::npos) return false;
  *line = text.substr(at, end - at);
  absl::ConsumeSuffix(line, "\r");
  *next = end + 1;
  return true;
}

// The documents of `text`. Only text that opens as `-o markdown` opens each
// of many documents, `---` and a Mark line, is split: at each blank line
// followed by such two lines (the stream puts one between documents).
std::vector<Document> SplitDocuments(absl::string_view text,
                                     const std::string& label) {
  const auto marked = [&](size_t at) -> Mark {
    absl::string_view line;
    size_t next = 0;
    if (!LineAt(text, at, &line, &next) || line != "---") return {};
    if (!LineAt(text, next, &line, &next)) return {};
    return MarkOf(line);
  };
  Mark mark = marked(0);
  if (mark.id.empty()) return {Document{label, {}, text}};
  std::vector<Document> docs;
  size_t start = 0;
  absl::string_view line;
  for (size_t at = 0, next = 0; LineAt(text, at, &line, &next); at = next) {
    if (!line.empty()) continue;
    Mark next_mark = marked(next);
    if (next_mark.id.empty()) continue;
    // The document keeps its last line end; the blank line goes.
    docs.push_back({"", std::move(mark), text.substr(start, at - start)});
    start = next;
    mark = std::move(next_mark);
  }
  docs.push_back({"", std::move(mark), text.substr(start)});
  for (size_t i = 0; i < docs.size(); ++i) {
    docs[i].label = docs.size() == 1 ? label : absl::StrCat(label, "#", i + 1);
  }
  return docs;
}

// What Jekyll reads from where a file is, where its front matter does not
// say: a post under `_posts` named `YYYY-MM-DD-title.md` is dated by its
// name (that day's midnight in the default zone, as a front-matter `date:
// "YYYY-MM-DD"` would be; an impossible date, `2024-02-30-x`, is left
// alone), a file under `_drafts` is a draft, and in either a string of
// tags or categories is one per word. Such posts were stored undated, left
// out of every date query, drafts went live to readers, and `tags: a b`
// was the one tag `a b`. Elsewhere a path is only a name.
absl::Status JekyllPathDefaults(const std::string& file,
                                const MarkdownOptions& markdown,
                                v1::Article* article) {
  if (file == kStdin) return absl::OkStatus();
  // Absolute: `apply -f 2024-01-02-x.md` run in `_posts` is a post too.
  std::error_code ec;
  fs::path path = fs::absolute(file, ec);
  if (ec) path = file;
  bool in_posts = false, in_drafts = false;
  for (const fs::path& part : path.parent_path()) {
    if (part == "_posts") in_posts = true;
    if (part == "_drafts") in_drafts = true;
  }
  bool changed = false;
  if (in_drafts && article->state() == v1::Article::STATE_UNSPECIFIED) {
    article->set_state(v1::Article::DRAFT);
    changed = true;
  }
  const std::string name = path.filename().string();
  bool dated_name = in_posts && !article->has_date() && name.size() >= 12 &&
                    name[4] == '-' && name[7] == '-' && name[10] == '-';
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (dated_name && !absl::ascii_isdigit(static_cast<unsigned char>(name[i])))
      dated_name = false;
  }
  if (dated_name) {
    // Read as the front matter's own key would be: the same zone rules,
    // the same style, so the export writes `date: "YYYY-MM-DD"`.
    absl::StatusOr<v1::Article> dated = ParseMarkdown(
        absl::StrCat("---\ndate: \"", name.substr(0, 10), "\"\n---\n"),
        markdown);
    if (dated.ok()) {
      *article->mutable_date() = dated->date();
      article->mutable_style()->set_date_layout(dated->style().date_layout());
      article->mutable_style()->set_date_zone(dated->style().date_zone());
      changed = true;
    } else if (!absl::StrContains(dated.status().message(), "is not a date")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "date (from the file name): ", dated.status().message()));
    }
  }
  // `tags: ruby rails`, a string, is one tag per word to Jekyll (a list
  // keeps its entries whole); it was one tag, `ruby rails`.
  for (const bool tags : {true, false}) {
    // Read through const access first: a mutable_style() on a file with
    // no style would give it an empty one, another content.
    const auto& list_now = tags ? article->tags() : article->categories();
    const std::string key = tags ? "tags" : "categories";
    const auto& scalars_now = article->style().scalar_keys();
    if (!(in_posts || in_drafts) || list_now.size() != 1 ||
        !absl::StrContains(list_now.Get(0), ' ') ||
        std::find(scalars_now.begin(), scalars_now.end(), key) ==
            scalars_now.end()) {
      continue;
    }
    const std::vector<std::string> words =
        absl::StrSplit(list_now.Get(0), ' ', absl::SkipEmpty());
    auto* list = tags ? article->mutable_tags() : article->mutable_categories();
    list->Clear();
    for (const std::string& word : words) {
      if (std::find(list->begin(), list->end(), word) == list->end())
        list->Add(std::string(word));
    }
    auto* scalars = article->mutable_style()->mutable_scalar_keys();
    scalars->erase(std::find(scalars->begin(), scalars->end(), key));
    changed = true;
  }
  if (!changed) return absl::OkStatus();
  // As its export reads back (the key order then has `date`, `draft`): the
  // file and its export are one article, not an update each way.
  absl::StatusOr<v1::Article> as_exported =
      ParseMarkdown(FormatMarkdown(*article), markdown);
  if (as_exported.ok()) {
    as_exported->set_name(article->name());
    *article = *std::move(as_exported);
  }
  return absl::OkStatus();
}

// Parses one document of `file` into an article named `articles/{id}`. The
// id is the front-matter `id`; else, from standard input, `options.id`;
// else the one the document's opening line names (`# articles/ID revision
// N`, as `-o markdown` of many documents opens each: cut from there, the
// document goes back to the article it came from); else the file name
// without its extension. Standard input has no file name: without any of
// the others the document fails. So does a tombstone (marked `(deleted)`):
// its content is what the article held before the deletion, and applied it
// would bring that back as a live article.
absl::StatusOr<v1::Article> ParseDocument(const std::string& file,
                                          const Document& doc,
                                          const ApplyOptions& options,
                                          std::string* id_from) {
  if (doc.mark.deleted) {
    return absl::InvalidArgumentError(absl::StrCat(
        "articles/", doc.mark.id, " revision ", doc.mark.revision,
        " is a deletion (marked \"(deleted)\"), which apply does not write: "
        "`contentctl delete ",
        doc.mark.id,
        "` deletes the article; to apply this content as a live article, "
        "remove the `# articles/` comment line"));
  }
  MarkdownOptions markdown;
  markdown.default_zone = options.default_zone;
  absl::StatusOr<v1::Article> article = ParseMarkdown(
      std::string_view(doc.text.data(), doc.text.size()), markdown);
  if (!article.ok()) return article.status();
  std::string id = ArticleId(article->name());
  *id_from = "id";
  if (file == kStdin) {
    // `x` or `articles/x`, as the other verbs take an id.
    absl::string_view flag_id = options.id;
    absl::ConsumePrefix(&flag_id, "articles/");
    if (!flag_id.empty() && !id.empty() && id != flag_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("id: the front matter says \"", id, "\", --id says \"",
                       flag_id, "\""));
    }
    if (id.empty() && !flag_id.empty()) {
      id = std::string(flag_id);
      *id_from = "--id";
    }
  }
  if (id.empty() && !doc.mark.id.empty()) {
    id = doc.mark.id;
    *id_from = "id (from the `# articles/ID revision N` line)";
  }
  if (id.empty() && file == kStdin) {
    return absl::InvalidArgumentError(
        "id: standard input has no file name to take the id from; give "
        "one in the front matter (`id: x`) or with --id");
  }
  if (id.empty()) {
    id = fs::path(file).stem().string();
    *id_from = "id (from the file name)";
    // Sent as is, the name would fail the whole import batch on the server
    // as one that "cannot be parsed", naming no file.
    if (!internal::IsValidUtf8(id)) {
      return absl::InvalidArgumentError(
          "id: the file name, which the id comes from, is not valid UTF-8; "
          "rename the file or give the id in the front matter (`id: x`)");
    }
  }
  article->set_name(ArticleName(id));
  if (absl::Status s = JekyllPathDefaults(file, markdown, &*article); !s.ok())
    return s;
  return article;
}

// What one input gave: a failure of the whole (it could not be read), or an
// article or a failure per document.
// One document parsed: how results name it, its article or why not, and
// how errors name its id.
struct Parsed {
  std::string label;
  absl::StatusOr<v1::Article> article;
  std::string id_from;
  // Top-level keys kept as params that are close to a field (NearFieldKeys):
  // each with that field, for a warning.
  std::vector<std::pair<std::string, std::string>> near_keys;
  // A language the file name ends in (Hugo's `foo.zh-cn.md`) where the
  // front matter gives none, or gives one it does not name (LangSuffix),
  // for a warning.
  std::string lang_suffix;
};

struct Input {
  std::string label;    // the input's
  absl::Status status;  // the read's
  std::vector<Parsed> documents;
};

// How far `key` is from field key `field` when it looks like a misspelling
// of it: 0 when they differ only in case (`Title`, `publishdate`), in `_`
// or `-` (`publish_date`), or as singular and plural (`tag`, `category`);
// else the edit distance where it is at most 1 for a field of 5 to 7
// letters (`tittle`, `sumary`) and 2 for a longer one (`catagory`). Where
// the field or the key has 4 letters or fewer (the fields `date`, `lang`,
// `id`; the key `page` beside `pager`), or the key reads as the plural of
// such a word (`pages`, `datas`), they are matched only so far as case and
// plural go: `data`, `land`, `page` or `pages` is as likely a param of its
// own. nullopt when it is not close.
std::optional<size_t> Closeness(absl::string_view key,
                                absl::string_view field) {
  const std::string k =
      absl::StrReplaceAll(absl::AsciiStrToLower(key), {{"_", ""}, {"-", ""}});
  const std::string f = absl::AsciiStrToLower(field);
  const auto plural_of = [](const std::string& one, const std::string& many) {
    return many == one + "s" || many == one + "es" ||
           (absl::EndsWith(one, "y") &&
            many == absl::StrCat(one.substr(0, one.size() - 1), "ies"));
  };
  if (k == f || plural_of(k, f) || plural_of(f, k)) return 0;
  // The key's word: its singular where it reads as a plural (`pages`,
  // `entries`; not `class`), as the plural of a short word is no misspelling
  // of a field either.
  const size_t word = absl::EndsWith(k, "ies") ? k.size() - 2
                      : absl::EndsWith(k, "s") && !absl::EndsWith(k, "ss")
                          ? k.size() - 1
                          : k.size();
  // A letter more or less makes another word of a short one, whichever of
  // the two is short (`page`, `pager`).
  const size_t limit = std::min(word, f.size()) <= 4 ? 0
                       : f.size() <= 7               ? 1
                                                     : 2;
  const size_t distance = internal::EditDistance(k, f);
  if (distance <= limit) return distance;
  return std::nullopt;
}

// The top-level keys of `article`'s front matter that went to params but
// look like a misspelled field key (Closeness), each with the nearest such
// field: `tittle` (title), `tag` (tags). Keys read from a `params:`
// mapping were put there on purpose, and keys far from every field are
// custom params (Hugo's page parameters): neither is listed.
std::vector<std::pair<std::string, std::string>> NearFieldKeys(
    const v1::Article& article) {
  std::set<std::string> from_params_mapping;
  for (const v1::FrontMatterStyle::KeyOrder& order :
       article.style().params_key_order()) {
    if (order.path().empty()) {
      from_params_mapping.insert(order.keys().begin(), order.keys().end());
    }
  }
  // In the order written where the style has it, else sorted.
  std::vector<std::string> keys(article.style().key_order().begin(),
                                article.style().key_order().end());
  if (keys.empty()) {
    for (const auto& [key, value] : article.params().fields()) {
      keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end());
  }
  std::vector<std::pair<std::string, std::string>> near;
  for (const std::string& key : keys) {
    if (article.params().fields().count(key) == 0 ||
        from_params_mapping.count(key) > 0) {
      continue;
    }
    // A field's own key holds a param where its value is not the field's
    // type (`menu: {main: ...}`, `sidebar: false`).
    const std::vector<std::string>& fields = FrontMatterFieldKeys();
    if (std::find(fields.begin(), fields.end(), key) != fields.end()) {
      continue;
    }
    std::optional<size_t> best;
    absl::string_view best_field;
    for (absl::string_view field : fields) {
      const std::optional<size_t> d = Closeness(key, field);
      if (d.has_value() && (!best.has_value() || *d < *best)) {
        best = d;
        best_field = field;
      }
    }
    if (best.has_value()) near.emplace_back(key, std::string(best_field));
  }
  return near;
}

// What --strict says of a document with keys close to a field.
absl::Status NearKeysError(
    const std::vector<std::pair<std::string, std::string>>& near) {
  std::vector<std::string> parts;
  for (const auto& [key, field] : near) {
    parts.push_back(absl::StrCat("front matter key '", key,
                                 "' is not a field (did you mean '", field,
                                 "'?)"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      absl::StrJoin(parts, "; "),
      "; --strict refuses it: correct the key, or put it under `params:` to "
      "keep it as a param"));
}

// The last `.suffix` of an id taken from its file name, where it reads as
// Hugo's language suffix (`foo.zh-cn.md`, `foo.en.md`: a language tag whose
// language is two letters) and the article has no `lang`: Hugo reads the
// language from the name, contentctl only from the front matter, so the
// article would be stored with no language, and in no translation group
// with its twins (`foo.en`, `foo.zh-cn`), without a word. Likewise where
// the front matter's `lang` and `translations` name no language spelled as
// the suffix is (case aside), and no translationKey groups it: the server
// groups `foo.fr` with `foo.en` only by a suffix that names one of its
// languages (store::TranslationGroup), so `foo.fr.md` copied from
// `foo.en.md` with `lang: en` left as it was, or `foo.zh_cn.md` with
// `lang: zh-CN`, was an article alone. "" otherwise.
std::string LangSuffix(const Parsed& parsed) {
  if (!parsed.article.ok() || parsed.id_from != "id (from the file name)") {
    return "";
  }
  const v1::Article& a = *parsed.article;
  if (a.lang_size() > 0 && !a.translation_key().empty()) return "";
  const std::string id = ArticleId(parsed.article->name());
  const size_t dot = id.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  const std::string suffix = id.substr(dot + 1);
  const size_t end = suffix.find_first_of("-_");
  const absl::string_view language = absl::string_view(suffix).substr(
      0, end == std::string::npos ? suffix.size() : end);
  if (language.size() != 2 || !absl::ascii_isalpha(language[0]) ||
      !absl::ascii_isalpha(language[1]) || !internal::IsLanguageTag(suffix)) {
    return "";
  }
  if (a.lang_size() == 0) return suffix;
  const auto names_suffix = [&](const std::string& lang) {
    return absl::EqualsIgnoreCase(lang, suffix);
  };
  if (std::any_of(a.lang().begin(), a.lang().end(), names_suffix) ||
      std::any_of(a.translations().begin(), a.translations().end(),
                  names_suffix)) {
    return "";
  }
  return suffix;
}

// Reads `file` and parses each of its documents. Standard input is read
// beforehand (Apply): `stdin_text` is what that gave. A document with keys
// close to a field (NearFieldKeys) has them in `near_keys`, or fails with
// `options.strict`.
Input ReadDocuments(const std::string& file, const ApplyOptions& options,
                    const absl::StatusOr<std::string>* stdin_text) {
  Input read;
  read.label = Label(file);
  absl::StatusOr<std::string> own;
  const absl::StatusOr<std::string>* text = stdin_text;
  if (file != kStdin || text == nullptr) {
    own = ReadWholeFile(file);
    text = &own;
  }
  if (!text->ok()) {
    read.status = text->status();
    return read;
  }
  for (const Document& doc : SplitDocuments(**text, read.label)) {
    Parsed parsed{doc.label, absl::UnknownError(""), "", {}};
    parsed.article = ParseDocument(file, doc, options, &parsed.id_from);
    if (parsed.article.ok()) {
      parsed.near_keys = NearFieldKeys(*parsed.article);
      if (options.strict && !parsed.near_keys.empty()) {
        parsed.article = NearKeysError(parsed.near_keys);
        parsed.near_keys.clear();
      }
      parsed.lang_suffix = LangSuffix(parsed);
    }
    read.documents.push_back(std::move(parsed));
  }
  return read;
}

// A warning about `path` on stderr, `PATH: warning: TEXT`, or under -o
// json|yaml an object (StderrObject: a JSON line, a YAML document),
// {"file": PATH, "message": TEXT, "notice": "WARNING", "reason": REASON},
// so that every line of stderr is one.
void Warn(const std::string& path, absl::string_view reason,
          const std::string& text, Format format,
          const std::map<std::string, std::string>& extra = {}) {
  google::protobuf::Struct notice;
  auto& fields = *notice.mutable_fields();
  for (const auto& [key, value] : extra) fields[key].set_string_value(value);
  fields["file"].set_string_value(path);
  fields["message"].set_string_value(text);
  fields["notice"].set_string_value("WARNING");
  fields["reason"].set_string_value(std::string(reason));
  std::cerr << StderrObject(notice, format,
                            absl::StrCat(path, ": warning: ", text));
}

// The warning of a front-matter key close to a field (NearFieldKeys) in
// the document `label`: `LABEL: warning: front matter key 'tittle' is not
// a field; kept as a param (did you mean 'title'?)`, or the object Warn
// prints, with `"key"` and `"field"` (the one meant) added and reason
// KEY_NOT_A_FIELD.
void WarnNearKey(const std::string& label, const std::string& key,
                 const std::string& field, Format format) {
  Warn(label, "KEY_NOT_A_FIELD",
       absl::StrCat("front matter key '", key,
                    "' is not a field; kept as a param (did you mean '", field,
                    "'?)"),
       format, {{"key", key}, {"field", field}});
}

// The warnings a parsed document gets before it is sent: keys close to a
// field (near_keys), and a language suffix the front matter does not say
// (lang_suffix).
void WarnOfDocument(const Parsed& parsed, Format format) {
  for (const auto& [key, field] : parsed.near_keys) {
    WarnNearKey(parsed.label, key, field, format);
  }
  if (!parsed.lang_suffix.empty() && parsed.article.ok() &&
      parsed.article->lang_size() > 0) {
    const std::string id = ArticleId(parsed.article->name());
    const std::string group =
        id.substr(0, id.size() - parsed.lang_suffix.size() - 1);
    const std::string lang = absl::StrJoin(parsed.article->lang(), ", ");
    Warn(parsed.label, "LANG_NOT_SUFFIX",
         absl::StrCat("the file name ends in \".", parsed.lang_suffix,
                      "\", Hugo's language suffix, but the front matter has "
                      "lang: ",
                      lang,
                      " (contentctl reads the language only from there, and "
                      "a translation's id joins the group before its last "
                      "dot only where that suffix is spelled as one of its "
                      "lang or translations): stored in ",
                      lang, " and not in translation group \"", group,
                      "\"; correct lang, or add `translationKey: ", group, "`"),
         format, {{"lang", parsed.lang_suffix}, {"frontMatterLang", lang}});
  } else if (!parsed.lang_suffix.empty()) {
    Warn(parsed.label, "LANG_NOT_SET",
         absl::StrCat("the file name ends in \".", parsed.lang_suffix,
                      "\", Hugo's language suffix, but the front matter "
                      "has no lang (contentctl reads the language only "
                      "from there): stored with no language and in no "
                      "translation group; add `lang: ",
                      parsed.lang_suffix, "`"),
         format, {{"lang", parsed.lang_suffix}});
  }
}

// Whether a file under a directory is Markdown by its extension: `.md`, or
// another Hugo or Jekyll reads as Markdown (`.markdown`, `.mdown`, `.mkd`,
// `.mkdn`, `.mkdown`), in any case (`README.MD`). Only `.md` was read
// before 2026-12-07, and the rest of a site's posts were left out without
// a word.
bool IsMarkdownName(const fs::path& path) {
  const std::string ext = absl::AsciiStrToLower(path.extension().string());
  for (absl::string_view known :
       {".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mkdown"}) {
    if (ext == known) return true;
  }
  return false;
}

// The files `paths` stand for, in order: a file as is, a directory as every
// Markdown file under it (IsMarkdownName) sorted by path. Under a directory,
// names starting with '.' are left out, directories too (`.git`,
// `.github/*.md`, editors'
// `.x.md.swp`), as git and Hugo do; a `*.md` that is a broken symlink is
// listed (and fails, named), one that is no file (a FIFO would block the
// read) is left out with a warning (Warn, in `format`). A path that does
// not exist, or a directory under it that cannot be listed (no
// permission), is a LocalError naming it, READ_FAILED, and so is a
// directory with no Markdown file, NO_MARKDOWN_FILES; `*.mdx` files are
// left out with one warning (MDX_NOT_READ). A file named again
// (`-f a.md -f a.md`, or a file and its directory) is listed once: applied
// twice at once, its article would fail as "also in" itself.
absl::StatusOr<std::vector<std::string>> ListFiles(
    const std::vector<std::string>& paths, Format format) {
  std::vector<std::string> files;
  // Canonical path (if it has one) -> the path listed for it.
  std::map<std::string, std::string> seen;
  // True the first time `file` (as its canonical path, if it has one)
  // comes; else false, with the path listed for it in `*listed`.
  const auto first = [&seen](const std::string& file,
                             std::string* listed = nullptr) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(file, ec);
    auto [it, fresh] = seen.emplace(ec ? file : canonical.string(), file);
    if (!fresh && listed != nullptr) *listed = it->second;
    return fresh;
  };
  for (const std::string& path : paths) {
    if (path == kStdin) {
      files.push_back(path);
      continue;
    }
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      // The OS's words: `Not a directory` for `a.md/`, `Too many levels of
      // symbolic links` for a loop, not "no such file" for each.
      return ReadFailed(path, ec ? ec.value() : ENOENT);
    }
    if (!fs::is_directory(st)) {
      if (first(path)) files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    // MDX files under it (JSX in Markdown: stored as text, it would be
    // served as text), left out with one warning: a Docusaurus or Next.js
    // tree applied without a word about them looked complete.
    int mdx = 0;
    std::string first_mdx;
    // A directory that cannot be listed fails the run rather than being
    // skipped: the articles in it would silently not be applied, and a
    // DIR that cannot be read at all was said to hold no *.md files.
    fs::recursive_directory_iterator it(path, ec);
    // The directory the iterator reads next, which an error is about: the
    // one it is about to enter, else the one it is in.
    fs::path reading = path;
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      std::error_code entry_ec;
      reading = it->is_directory(entry_ec) && !it->is_symlink(entry_ec)
                    ? it->path()
                    : it->path().parent_path();
      if (name == kIncompleteMarker) {
        // Applied anyway (the articles there are whole), but an export that
        // was cut off may have missed some.
        Warn(it->path().parent_path().string(), "EXPORT_INCOMPLETE",
             absl::StrCat("holds ", kIncompleteMarker,
                          ": an export into it did not complete, so it may "
                          "lack articles"),
             format);
      }
      if (!name.empty() && name[0] == '.') {
        std::error_code dir_ec;
        if (it->is_directory(dir_ec)) it.disable_recursion_pending();
        reading = it->path().parent_path();
        continue;
      }
      if (!IsMarkdownName(it->path())) {
        if (absl::AsciiStrToLower(it->path().extension().string()) == ".mdx") {
          if (mdx++ == 0) first_mdx = it->path().string();
        }
        continue;
      }
      std::error_code type_ec;
      const fs::file_status target = it->status(type_ec);
      if (fs::is_regular_file(target) || !fs::exists(target)) {
        found.push_back(it->path().string());  // a broken link fails, named
      } else if (!fs::is_directory(target)) {
        Warn(it->path().string(), "NOT_A_REGULAR_FILE",
             "not a regular file, left out", format);
      }
    }
    if (ec) return ReadFailed(reading.string(), ec.value());
    if (mdx > 0) {
      Warn(mdx == 1 ? first_mdx : path, "MDX_NOT_READ",
           absl::StrCat(
               mdx == 1 ? "an MDX file"
                        : absl::StrCat(mdx, " MDX files (*.mdx, the first ",
                                       first_mdx, ")"),
               ", left out: MDX mixes JSX components into Markdown, which "
               "would be stored and served as text; convert to .md to "
               "apply"),
           format);
    }
    if (found.empty()) {
      // Named by every extension read: a directory of .mdx or .txt files
      // was said to hold "no *.md files" once .markdown was read too.
      return LocalError(kNoMarkdownFiles,
                        absl::StrCat(path,
                                     ": no Markdown files (*.md, *.markdown, "
                                     "*.mdown, *.mkd, *.mkdn, *.mkdown)"),
                        path);
    }
    std::sort(found.begin(), found.end());
    // A symlink to a file listed under its own name is left out, with a
    // warning, whichever sorts first: `a-link.md -> post.md` was applied as
    // articles/a-link and post.md left out without a word.
    std::vector<bool> keep(found.size());
    for (const bool links : {false, true}) {
      for (size_t i = 0; i < found.size(); ++i) {
        std::error_code link_ec;
        if (fs::is_symlink(fs::symlink_status(found[i], link_ec)) != links)
          continue;
        std::string listed;
        keep[i] = first(found[i], &listed);
        if (!keep[i] && links && listed != found[i]) {
          Warn(found[i], "DUPLICATE_FILE",
               absl::StrCat("a symlink to ", listed,
                            ", which is applied under its own name; left out"),
               format);
        }
      }
    }
    for (size_t i = 0; i < found.size(); ++i) {
      if (keep[i]) files.push_back(std::move(found[i]));
    }
  }
  return files;
}

// Article fields that a front-matter key of the same name gives.
constexpr absl::string_view kKeyFields[] = {
    "title",      "summary", "menu", "thumbnail",    "lead",    "sidebar",
    "categories", "date",    "tags", "translations", "widgets", "lang"};

// The front-matter key that gave Article field `field` (`publish_time`:
// `publishDate`), "" for a field no key gives.
std::string KeyOfField(absl::string_view field, const Written& written) {
  const auto wrote = [&written](absl::string_view key) {
    return std::find(written.keys.begin(), written.keys.end(), key) !=
           written.keys.end();
  };
  if (field == "name" || field == "article_id") return written.id_from;
  if (field == "publish_time") return "publishDate";
  if (field == "expiry_time") return "expiryDate";
  if (field == "translation_key") return "translationKey";
  if (field == "state") {
    return wrote("draft") && !wrote("state") ? "draft" : "state";
  }
  for (absl::string_view key : kKeyFields) {
    if (field == key) return std::string(key);
  }
  return "";
}

// The violations an INVALID_ARGUMENT names, each led by its field: the
// server joins those of one article with "; " (`article.title: is required;
// article.tags[0]: must not be empty`), each field starting `article`
// (`articles[3].` from ImportArticles).
std::vector<absl::string_view> SplitViolations(absl::string_view message) {
  std::vector<absl::string_view> parts;
  size_t from = 0;
  for (size_t at = message.find("; article"); at != absl::string_view::npos;
       at = message.find("; article", at + 2)) {
    parts.push_back(message.substr(from, at - from));
    from = at + 2;
  }
  parts.push_back(message.substr(from));
  return parts;
}

// An import error names the field by its place in the batch
// (`articles[57].title: is required`, or `articles[57]: article is ...` for
// the article as a whole); the line already names the file, and the index is
// not the file's place in the run, so it goes.
std::string WithoutBatchIndex(absl::string_view error) {
  absl::string_view rest = error;
  if (!absl::ConsumePrefix(&rest, "articles[")) return std::string(error);
  const size_t close = rest.find(']');
  if (close == 0 || close == absl::string_view::npos ||
      rest.substr(0, close).find_first_not_of("0123456789") !=
          absl::string_view::npos) {
    return std::string(error);
  }
  rest.remove_prefix(close + 1);
  if (absl::ConsumePrefix(&rest, ".") || absl::ConsumePrefix(&rest, ": "))
    return std::string(rest);
  return std::string(error);
}

// One violation `part` with its field named as the document wrote it, or
// unchanged.
std::string NameTheKeyOf(absl::string_view part, const Written& written) {
  std::string stripped = WithoutBatchIndex(part);
  absl::string_view message = stripped;
  absl::ConsumePrefix(&message, "article.");
  // The field path: up to the ": " that ends it, with no space in it.
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return stripped;
  const absl::string_view path = message.substr(0, colon);
  if (path.find(' ') != absl::string_view::npos) return stripped;
  const absl::string_view root = path.substr(0, path.find_first_of(".["));
  absl::string_view rest = path.substr(root.size());
  const std::string key = KeyOfField(root, written);
  // A field no key gives (`body`, `params.x`): named as an import names it.
  if (key.empty()) return std::string(message);
  std::string rule(message.substr(colon));
  // The one rule that names another field.
  if (key == "expiryDate") {
    rule = absl::StrReplaceAll(rule,
                               {{"after publish_time", "after publishDate"}});
  }
  return absl::StrCat(key, rest, rule);
}

// `status` with each Article field it names (`publish_time: ...`;
// `article.tags[1]: ...` from UpdateArticle) named as the document wrote it
// (`publishDate: ...`, `tags[1]: ...`), and a write's condition that failed
// led by its flag (NameTheCondition: `--expected-revision: expected_revision
// 3 does not match ...`), as the other verbs name flags. Details are kept;
// anything else is returned unchanged.
absl::Status NameTheKey(const absl::Status& status, const Written& written) {
  if (absl::IsFailedPrecondition(status)) return NameTheCondition(status);
  if (!absl::IsInvalidArgument(status)) return status;
  absl::string_view message = status.message();
  std::vector<std::string> named;
  for (absl::string_view part : SplitViolations(message))
    named.push_back(NameTheKeyOf(part, written));
  const std::string renamed = absl::StrJoin(named, "; ");
  // The details stay the server's: -o json prints its reason and fields.
  return renamed == message ? status : Reworded(status, renamed);
}

// How `parsed` wrote what its article holds.
Written WrittenOf(const Parsed& parsed) {
  Written w;
  w.id_from = parsed.id_from;
  if (!parsed.article.ok()) return w;
  const v1::FrontMatterStyle& style = parsed.article->style();
  w.keys.assign(style.key_order().begin(), style.key_order().end());
  return w;
}

// Writes one document with UpdateArticle (or CreateArticle), which checks
// options.expected_revision and options.etag.
FileResult WriteDocument(Client& client, const std::string& label,
                         absl::StatusOr<v1::Article> article,
                         const ApplyOptions& options) {
  FileResult r;
  r.file = label;
  r.result = "failed";
  if (!article.ok()) {
    r.status = article.status();
    return r;
  }
  r.name = article->name();
  r.sent = true;  // every way on makes a call first
  const std::string id = ArticleId(r.name);

  v1::GetArticleRequest get;
  get.set_name(r.name);
  get.set_show_deleted(true);
  get.set_visibility(v1::VISIBILITY_ALL);  // a draft exists too
  absl::StatusOr<v1::Article> head = client.GetArticle(get);
  if (!head.ok() && head.status().code() != absl::StatusCode::kNotFound) {
    r.status = head.status();
    return r;
  }

  if (!head.ok()) {
    if (options.expected_revision != 0 || !options.etag.empty()) {
      r.status = absl::NotFoundError(absl::StrCat(
          r.name, " not found; ",
          options.expected_revision != 0
              ? absl::StrCat("--expected-revision ", options.expected_revision)
              : absl::StrCat("--etag ", options.etag),
          " needs an existing article"));
      return r;
    }
    v1::CreateArticleRequest create;
    *create.mutable_article() = *std::move(article);
    create.set_article_id(id);
    absl::StatusOr<v1::Article> created = client.CreateArticle(create);
    if (!created.ok()) {
      r.status = created.status();
      return r;
    }
    r.result = "created";
    r.revision = created->revision();
    return r;
  }

  if (head->has_delete_time()) {
    r.status = absl::NotFoundError(
        absl::StrCat(r.name, " is deleted (revision ", head->revision(),
                     "); run `contentctl undelete ", id, "` first"));
    return r;
  }
  v1::UpdateArticleRequest update;
  *update.mutable_article() = *std::move(article);
  update.mutable_article()->set_name(r.name);
  update.set_expected_revision(options.expected_revision);
  update.mutable_article()->set_etag(options.etag);
  absl::StatusOr<v1::Article> updated = client.UpdateArticle(update);
  if (!updated.ok()) {
    r.status = updated.status();
    return r;
  }
  r.result = updated->revision() == head->revision() ? "unchanged" : "updated";
  r.revision = updated->revision();
  return r;
}

// ApplyDocument's errors named as the document has them (NameTheKey).
FileResult ApplyDocument(Client& client, Parsed parsed,
                         const ApplyOptions& options) {
  const bool sent = parsed.article.ok();
  const Written written = WrittenOf(parsed);
  FileResult r =
      WriteDocument(client, parsed.label, std::move(parsed.article), options);
  if (sent) r.status = NameTheKey(r.status, written);
  r.keys = written.keys;
  r.id_from = written.id_from;
  return r;
}

// `s` as a JSON string literal. UTF-8 passes through; the parser already
// rejected invalid UTF-8 in files, and file names are shown as they are.
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      out += absl::StrFormat("\\u%04x", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// The results as a JSON array of {file, name, result, revision, error,
// code, reason, metadata, requestId}, keys in that order, as the proto3
// JSON mapping the other verbs print has it: the revision (an int64) as a
// string, metadata as the error's (`{"limit_bytes": "1048576", ...}`,
// values strings, keys sorted), and a key left out where there is no
// value (no name, revision, error, code, reason or metadata: an error
// found before the server saw the file has none), never null. A failed
// file's code, reason and requestId are its error object's (FileError),
// so that a script reading the results alone tells a failure to retry
// (UNAVAILABLE) from one to fix, a local one (no code) from the server's,
// and one the server logged under the request id from one it never saw.
std::string ResultsJson(const std::vector<FileResult>& results,
                        const Connection& connection) {
  if (results.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const FileResult& r = results[i];
    absl::StrAppend(&out, "  {\n    \"file\": ", JsonString(r.file));
    if (!r.name.empty()) {
      absl::StrAppend(&out, ",\n    \"name\": ", JsonString(r.name));
    }
    absl::StrAppend(&out, ",\n    \"result\": ", JsonString(r.result));
    if (r.revision > 0) {
      absl::StrAppend(&out, ",\n    \"revision\": \"", r.revision, "\"");
    }
    if (!r.status.ok()) {
      absl::StrAppend(&out, ",\n    \"error\": ",
                      JsonString(CallErrorText(r.status, connection)));
      if (!IsLocalError(r.status)) {
        absl::StrAppend(&out, ",\n    \"code\": ",
                        JsonString(absl::StatusCodeToString(r.status.code())));
      }
      const std::string reason =
          r.reason.empty() ? ErrorReason(r.status) : r.reason;
      if (!reason.empty()) {
        absl::StrAppend(&out, ",\n    \"reason\": ", JsonString(reason));
      }
      std::map<std::string, std::string> metadata = r.metadata;
      for (const auto& [key, value] : ErrorMetadata(r.status)) {
        metadata.emplace(key, value);
      }
      if (!metadata.empty()) {
        absl::StrAppend(&out, ",\n    \"metadata\": {");
        const char* sep = "\n";
        for (const auto& [key, value] : metadata) {
          absl::StrAppend(&out, sep, "      ", JsonString(key), ": ",
                          JsonString(value));
          sep = ",\n";
        }
        absl::StrAppend(&out, "\n    }");
      }
      if (r.sent && !connection.request_id.empty()) {
        absl::StrAppend(
            &out, ",\n    \"requestId\": ", JsonString(connection.request_id));
      }
    }
    absl::StrAppend(&out, "\n  }", i + 1 < results.size() ? ",\n" : "\n");
  }
  out += "]\n";
  return out;
}

// The front-matter key a field violation of the server's is about, as the
// error's text leads with it (NameTheKeyOf): `tags[1]` for
// `article.tags[1]`, `publishDate` for `article.publish_time`; the field
// less `article.` where no key gives it.
std::string ViolationKey(absl::string_view field, const FileResult& r) {
  const std::string stripped = WithoutBatchIndex(field);
  absl::string_view path = stripped;
  absl::ConsumePrefix(&path, "article.");
  const absl::string_view root = path.substr(0, path.find_first_of(".["));
  const std::string key = KeyOfField(root, Written{r.keys, r.id_from});
  if (key.empty()) return std::string(path);
  return absl::StrCat(key, path.substr(root.size()));
}

// What a failed file prints on stderr: `FILE: error: CODE: message`, or
// under -o json|yaml the object every error is (ErrorStruct; StderrObject),
// with the file as the results name it, `{"code": ..., "domain": ...,
// "fieldViolations": [...], "file": "posts/a.md", "message": ...,
// "metadata": {...}, "reason": ..., "requestId": ...}`, the request id
// (AddRequestId) only where the file was sent with one. A streamed import's
// result has its reason and metadata in the ImportResult rather than in the
// status.
std::string FileError(const FileResult& r, Format format,
                      const Connection& connection) {
  // A file's call fails as the other verbs' do (CallErrorText): `cannot
  // reach HOST:PORT: Connection refused`, not gRPC's wrapping of it.
  const std::string text = CallErrorText(r.status, connection);
  google::protobuf::Struct error = ErrorStruct(r.status, text);
  auto& fields = *error.mutable_fields();
  fields["file"].set_string_value(r.file);
  if (!r.reason.empty() && fields["reason"].string_value().empty()) {
    fields["reason"].set_string_value(r.reason);
    fields["domain"].set_string_value(kErrorDomain);
  }
  auto& metadata = *fields["metadata"].mutable_struct_value()->mutable_fields();
  for (const auto& [key, value] : r.metadata) {
    if (metadata.count(key) == 0) metadata[key].set_string_value(value);
  }
  // A violation is about a front-matter key, not a flag.
  for (google::protobuf::Value& v :
       *fields["fieldViolations"].mutable_list_value()->mutable_values()) {
    auto& entry = *v.mutable_struct_value()->mutable_fields();
    entry.erase("flag");
    entry["key"].set_string_value(
        ViolationKey(entry["field"].string_value(), r));
  }
  if (r.sent) AddRequestId(&error, connection);
  return StderrObject(error, format, absl::StrCat(r.file, ": error: ", text));
}

// An error of the whole run (the import stream's, a path that cannot be
// read) on stderr: `Error: TEXT`, TEXT being `CODE: message` or
// CallErrorText, or under -o json|yaml the object ErrorStruct gives, as
// the other verbs print theirs, with `sent_with`'s request id
// (AddRequestId) for the stream's.
void PrintRunError(const absl::Status& status, const std::string& text,
                   Format format, const Connection& sent_with = {}) {
  google::protobuf::Struct error = ErrorStruct(status, text);
  AddRequestId(&error, sent_with);
  std::cerr << StderrObject(error, format, absl::StrCat("Error: ", text));
}

// One file on its way through a streaming import.
struct Pending {
  FileResult result;
  bool sent = false;  // false: failed before sending (read or parse)
  Written written;    // for the server's errors
};

// Reports results in file order as they come back, counting outcomes.
// Thread-safe: the import's reader thread and the caller both report.
class Reporter {
 public:
  Reporter(size_t total, Format format, bool dry_run,
           const Connection& connection)
      : format_(format),
        connection_(connection),
        structured_(format == Format::kJson || format == Format::kYaml),
        dry_run_(dry_run),
        total_(total),
        // Under -o json|yaml stderr is objects only: no bar. The bar is
        // redrawn with escape sequences, which a dumb terminal prints.
        bar_(total, total > 1 && !structured_ &&
                        internal::IsAnsiTerminal(STDERR_FILENO)) {
    bar_.Show(0);
  }

  // `quiet`: a failure whose error is printed once for many files (the
  // import stream's), counted and in -o json/yaml but given no line.
  void Report(FileResult r, bool quiet = false) {
    std::lock_guard<std::mutex> lock(mu_);
    bar_.Clear();
    if (!r.status.ok()) {
      ++failed_;
      if (!quiet) {
        std::cout.flush();
        std::cerr << FileError(r, format_, connection_);
      }
    } else {
      ++(r.result == "created"   ? created_
         : r.result == "updated" ? updated_
                                 : unchanged_);
      if (format_ == Format::kName) {
        // A dry run's names are what the apply would write, for a pipe
        // (`| xargs`); those it would leave unchanged are in the summary.
        if (!dry_run_ || r.result != "unchanged") std::cout << r.name << "\n";
      } else if (!structured_) {
        std::cout << r.name << " " << r.result << " (revision " << r.revision
                  << ")" << (dry_run_ ? " (dry run)" : "") << "\n";
      }
    }
    if (structured_) results_.push_back(std::move(r));
    std::cout.flush();
    bar_.Show(++done_);
  }

  // A warning (WarnNearKey) for each of `parsed`'s keys close to a field,
  // and one of a language suffix in its file name that gives it none
  // (LangSuffix).
  void WarnNearKeys(const Parsed& parsed) {
    if (parsed.near_keys.empty() && parsed.lang_suffix.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    bar_.Clear();
    std::cout.flush();
    WarnOfDocument(parsed, format_);
    bar_.Show(done_);
  }

  // A document left unsent by an interrupted apply (MarkInterrupted):
  // counted, and listed under -o json|yaml, without a line of its own.
  void Skip(FileResult r) {
    std::lock_guard<std::mutex> lock(mu_);
    ++skipped_;
    r.result = "skipped";
    r.status = absl::OkStatus();
    if (structured_) results_.push_back(std::move(r));
    bar_.Show(++done_);
  }

  // The user stopped the apply (Ctrl-C): if anything was left unsent
  // (Skip), the summary says so and counts it, and the exit code is 130.
  // An interrupt after the last batch went changes nothing.
  void MarkInterrupted() {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
  }

  // `n` more documents than files to report: a file held `n + 1`.
  void AddDocuments(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    total_ += n;
    bar_.Grow(n);
  }

  // Prints the structured results and the summary; returns the exit code.
  int Finish(Format format, size_t files) {
    std::lock_guard<std::mutex> lock(mu_);
    bar_.Clear();
    const bool stopped = interrupted_ && skipped_ > 0;
    if (structured_) {
      const std::string json = ResultsJson(results_, connection_);
      if (format == Format::kJson) {
        std::cout << json;
      } else {
        absl::StatusOr<std::string> yaml = JsonToYaml(json);
        if (!yaml.ok()) {
          std::cerr << "Error: " << StatusText(yaml.status()) << "\n";
          return 1;
        }
        std::cout << *yaml;
      }
      std::cout.flush();
    }
    // `applied 1 file: ... 1 failed` said of a file that was not applied:
    // with failures the count applied comes first, `applied 0 of 1 file`,
    // `applied 1 of 2 documents from 1 file`.
    const std::string applied =
        failed_ == 0 && skipped_ == 0
            ? ""
            : absl::StrCat(created_ + updated_ + unchanged_, " of ");
    std::string summary = absl::StrCat(
        stopped ? "interrupted: " : "",
        dry_run_ ? "dry run, nothing written: " : "", "applied ",
        total_ == files ? applied
                        : absl::StrCat(applied, total_, " documents from "),
        files, files == 1 ? " file: " : " files: ", created_, " created, ",
        updated_, " updated, ", unchanged_, " unchanged, ", failed_, " failed");
    if (stopped) absl::StrAppend(&summary, ", ", skipped_, " not sent");
    if (structured_) {
      std::cerr << SummaryObject(summary, files);
    } else if (format == Format::kName) {
      // stdout holds the names only, for a pipe (`| xargs`).
      std::cerr << summary << "\n";
    } else {
      std::cout << summary << "\n";
    }
    // 128 + SIGINT, as a shell reports a command Ctrl-C stopped.
    if (stopped) return 128 + SIGINT;
    return failed_ > 0 ? 1 : 0;
  }

 private:
  // The summary under -o json|yaml (StderrObject: a JSON line, a YAML
  // document): {"created": N, "documents": N, "dryRun": BOOL, "failed": N,
  // "files": N, "message": SUMMARY, "notice": "SUMMARY", "unchanged": N,
  // "updated": N}, counts as numbers; an interrupted apply's adds
  // "interrupted": true and "notSent": N.
  std::string SummaryObject(const std::string& summary, size_t files) const {
    google::protobuf::Struct notice;
    auto& fields = *notice.mutable_fields();
    fields["notice"].set_string_value("SUMMARY");
    fields["message"].set_string_value(summary);
    fields["dryRun"].set_bool_value(dry_run_);
    for (auto [key, n] :
         {std::pair{"files", files}, std::pair{"documents", total_},
          std::pair{"created", created_}, std::pair{"updated", updated_},
          std::pair{"unchanged", unchanged_}, std::pair{"failed", failed_}}) {
      fields[key].set_number_value(static_cast<double>(n));
    }
    if (interrupted_ && skipped_ > 0) {
      fields["interrupted"].set_bool_value(true);
      fields["notSent"].set_number_value(static_cast<double>(skipped_));
    }
    return StderrObject(notice, format_, summary);
  }

  const Format format_;
  const Connection connection_;  // the request id a sent file's error names
  // -o json|yaml: results on stdout at the end, objects on stderr.
  const bool structured_;
  const bool dry_run_;
  size_t total_;  // documents
  std::mutex mu_;
  ProgressBar bar_;
  std::vector<FileResult> results_;
  size_t done_ = 0, created_ = 0, updated_ = 0, unchanged_ = 0, failed_ = 0,
         skipped_ = 0;
  bool interrupted_ = false;
};

// Set by apply's SIGINT handler (InterruptGuard), read between documents.
std::atomic<bool> g_apply_interrupted{false};

// While alive, a first Ctrl-C asks the apply to stop sending; the answers
// to what was sent are still read and reported, with the summary. The
// handler puts the default back, so a second Ctrl-C ends the process at
// once. Before, Ctrl-C ended it with nothing said of what had been
// written.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_apply_interrupted = false;
    struct sigaction on_int = {};
    on_int.sa_handler = [](int) {
      g_apply_interrupted = true;
      signal(SIGINT, SIG_DFL);  // async-signal-safe
    };
    // A read of a slow file (a pipe) goes on; the flag is read after it.
    on_int.sa_flags = SA_RESTART;
    sigemptyset(&on_int.sa_mask);
    sigaction(SIGINT, &on_int, &old_);
  }
  ~InterruptGuard() { sigaction(SIGINT, &old_, nullptr); }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_ = {};
};

// One document on its way to an import batch: its entry, and its article
// unless it failed before sending (read or parse).
Pending Prepare(Parsed parsed, v1::Article* article) {
  Pending p;
  p.result.file = parsed.label;
  p.result.result = "failed";
  if (!parsed.article.ok()) {
    p.result.status = parsed.article.status();
    return p;
  }
  p.written = WrittenOf(parsed);
  p.result.name = parsed.article->name();
  *article = *std::move(parsed.article);
  p.sent = true;
  return p;
}

const char* OutcomeName(v1::ImportResult::Outcome o) {
  switch (o) {
    case v1::ImportResult::OUTCOME_CREATED:
      return "created";
    case v1::ImportResult::OUTCOME_UPDATED:
      return "updated";
    case v1::ImportResult::OUTCOME_UNCHANGED:
      return "unchanged";
    default:
      return "failed";
  }
}

// Streams every file through ImportArticles: files are parsed as batches
// are sent, so memory stays bounded by a few batches whatever the tree size.
int ApplyStreaming(Client& client, const std::vector<std::string>& files,
                   const ApplyOptions& options, Format format,
                   const absl::StatusOr<std::string>* stdin_text) {
  constexpr size_t kBatch = 200;
  // Also bounded by size: contentd accepts requests of at least 16 MiB, so
  // a few MiB of large articles must go out before the count is reached.
  constexpr size_t kBatchBytes = size_t{4} << 20;
  // One article over this is refused here (the request's framing is well
  // under the 4 KiB margin).
  constexpr size_t kMaxRequestBytes = (size_t{16} << 20) - 4096;
  Reporter reporter(files.size(), format, options.dry_run, options.connection);
  std::mutex mu;
  std::deque<Pending> in_flight;  // sent and local failures, in file order
  // Local failures ahead of the first sent entry can be reported at once.
  auto drain_local = [&]() {
    while (!in_flight.empty() && !in_flight.front().sent) {
      reporter.Report(std::move(in_flight.front().result));
      in_flight.pop_front();
    }
  };
  size_t next = 0;
  // The documents of the last file read not yet taken into a batch: a file
  // may hold several (`-o markdown` of many).
  std::deque<Parsed> documents;
  // The file each article came from: a second file naming the same article
  // (two `x.md` in different folders, or a front-matter id) fails instead
  // of silently overwriting the first.
  absl::flat_hash_map<std::string, std::string> source;
  // An article that would have overfilled the last batch opens the next.
  // Its entry is already in `in_flight`, so results stay in file order.
  std::optional<v1::Article> carried;
  CallOptions call;
  call.timeout = options.timeout;
  const InterruptGuard interrupt_guard;
  absl::Status status = client.ImportArticles(
      [&](v1::ImportArticlesRequest* batch) {
        batch->set_dry_run(options.dry_run);
        std::lock_guard<std::mutex> lock(mu);
        // Interrupted: what is in `in_flight` unsent (a carried article)
        // and every file not read stay unsent.
        if (g_apply_interrupted) return false;
        size_t bytes = 0;
        if (carried.has_value()) {
          bytes += carried->ByteSizeLong();
          *batch->add_articles() = *std::move(carried);
          carried.reset();
        }
        while ((next < files.size() || !documents.empty()) &&
               !carried.has_value() && !g_apply_interrupted &&
               static_cast<size_t>(batch->articles_size()) < kBatch) {
          if (documents.empty()) {
            Input read = ReadDocuments(files[next++], options, stdin_text);
            if (!read.status.ok()) {
              Pending p;
              p.result.file = read.label;
              p.result.result = "failed";
              p.result.status = read.status;
              in_flight.push_back(std::move(p));
              continue;
            }
            reporter.AddDocuments(read.documents.size() - 1);
            for (auto& doc : read.documents) {
              reporter.WarnNearKeys(doc);
              documents.push_back(std::move(doc));
            }
            continue;
          }
          v1::Article article;
          Pending p = Prepare(std::move(documents.front()), &article);
          documents.pop_front();
          if (p.sent) {
            auto [it, fresh] = source.emplace(p.result.name, p.result.file);
            if (!fresh) {
              p.sent = false;
              // Hugo's page bundles (`post/a/index.md`, `post/b/index.md`)
              // are each named by their directory, but a file's id is its
              // name: say how to tell them apart.
              const bool bundles = fs::path(p.result.file).stem() == "index" &&
                                   fs::path(it->second).stem() == "index" &&
                                   p.result.name == ArticleName("index");
              p.result.status = absl::AlreadyExistsError(absl::StrCat(
                  p.result.name, " is also in ", it->second,
                  bundles ? "; the id comes from the file name, so each page "
                            "bundle's index.md needs its own `id:` in its "
                            "front matter"
                          : "; give each article one file"));
            }
          }
          const size_t size = p.sent ? article.ByteSizeLong() : 0;
          if (size > kMaxRequestBytes) {
            // Sent, it would end the stream (RESOURCE_EXHAUSTED) and fail
            // every file after it.
            p.sent = false;
            p.result.status = absl::InvalidArgumentError(absl::StrCat(
                "article: ", size,
                " bytes, more than contentd takes in one request (16 MiB); "
                "an article may hold limits.max_article_bytes (1 MiB by "
                "default)"));
          }
          if (p.sent) {
            if (batch->articles_size() > 0 && bytes + size > kBatchBytes) {
              carried = std::move(article);
            } else {
              bytes += size;
              *batch->add_articles() = std::move(article);
            }
          }
          in_flight.push_back(std::move(p));
        }
        drain_local();
        return batch->articles_size() > 0;
      },
      [&](const v1::ImportArticlesResponse& response) {
        std::lock_guard<std::mutex> lock(mu);
        for (const v1::ImportResult& r : response.results()) {
          drain_local();
          if (in_flight.empty()) break;  // more results than sent: ignore
          FileResult fr = std::move(in_flight.front().result);
          const Written written = std::move(in_flight.front().written);
          in_flight.pop_front();
          fr.result = OutcomeName(r.outcome());
          fr.revision = r.revision();
          fr.sent = true;
          if (r.outcome() == v1::ImportResult::OUTCOME_FAILED) {
            fr.status = NameTheKey(
                absl::Status(static_cast<absl::StatusCode>(r.error_code()),
                             r.error()),
                written);
            fr.reason = r.reason();
            fr.metadata.insert(r.metadata().begin(), r.metadata().end());
            fr.keys = written.keys;
            fr.id_from = written.id_from;
          }
          reporter.Report(std::move(fr));
        }
        drain_local();
      },
      call);
  // Whatever was not answered failed with the stream's status, and so did
  // the files never sent: the summary and -o json account for every file.
  // A failed stream (a reader's token: PERMISSION_DENIED) is one error,
  // printed once below rather than on each file's line as well.
  std::lock_guard<std::mutex> lock(mu);
  drain_local();
  // A stream that ended well answered every batch sent: after an interrupt,
  // what is left was never sent (or, for a document read, never parsed
  // into a batch) and is counted as such, not failed.
  const bool interrupted = g_apply_interrupted && status.ok();
  if (interrupted) reporter.MarkInterrupted();
  const absl::Status unanswered =
      status.ok() ? absl::UnavailableError("import ended without a result")
                  : status;
  const bool quiet = !status.ok();
  for (Pending& p : in_flight) {
    if (interrupted && p.sent) {
      reporter.Skip(std::move(p.result));
      continue;
    }
    if (p.sent) {
      p.result.status = unanswered;
      p.result.sent = true;
    }
    reporter.Report(std::move(p.result), quiet && p.sent);
  }
  in_flight.clear();
  for (auto& [label, article, id_from, near_keys, lang_suffix] : documents) {
    FileResult r;
    r.file = label;
    r.result = "failed";
    if (interrupted) {
      if (article.ok()) r.name = article->name();
      reporter.Skip(std::move(r));
      continue;
    }
    r.status = article.ok() ? unanswered : article.status();
    reporter.Report(std::move(r), quiet && article.ok());
  }
  for (; next < files.size(); ++next) {
    FileResult r;
    r.file = Label(files[next]);
    r.result = "failed";
    if (interrupted) {
      reporter.Skip(std::move(r));
      continue;
    }
    r.status = unanswered;
    reporter.Report(std::move(r), quiet);
  }
  // Also when every file was sent: the whole run failed, not some files.
  if (!status.ok()) {
    PrintRunError(status, CallErrorText(status, options.connection), format,
                  options.connection);
  }
  return reporter.Finish(format, files.size());
}

}  // namespace

namespace {

// The checks apply and diff -f make of their flags before reading a file:
// a zone that does not load (it would fail only the files with zoneless
// dates: checked first, so a typo applies nothing), standard input given
// twice (it can be read once), --id with anything but a single -f - (it
// names one article). Returns a usage error's exit code, else 0.
int CheckInputFlags(const ApplyOptions& options) {
  absl::TimeZone zone;
  if (!options.default_zone.empty() && options.default_zone != "UTC" &&
      !absl::LoadTimeZone(options.default_zone, &zone)) {
    return Usage(absl::StrCat("--default-zone: unknown time zone \"",
                              options.default_zone, "\""));
  }
  const size_t stdin_count =
      std::count(options.paths.begin(), options.paths.end(), kStdin);
  if (stdin_count > 1) {
    return Usage("-f -: standard input can be given once");
  }
  if (!options.id.empty() && (stdin_count != 1 || options.paths.size() != 1)) {
    return Usage(
        "--id: applies only to a single -f - (a file takes its id from its "
        "front matter or its name)",
        kExcludedFlags);
  }
  return 0;
}

// Reads standard input whole into `*text` before anything is sent: --id
// names one article, and standard input may hold many documents (`-o
// markdown` of many), each naming its own. `done` says what is done to
// each ("apply each to", "compare each with"). Returns a usage error's exit
// code, else 0.
int ReadStdin(const ApplyOptions& options, absl::string_view done,
              std::optional<absl::StatusOr<std::string>>* text) {
  *text = ReadWholeFile(kStdin);
  const size_t documents =
      (*text)->ok() ? SplitDocuments(***text, kStdinLabel).size() : 1;
  if (!options.id.empty() && documents > 1) {
    return Usage(
        absl::StrCat("--id: names one article, and standard input holds ",
                     documents, " documents; leave --id out to ", done,
                     " the article its `# articles/ID revision N` line names"));
  }
  return 0;
}

}  // namespace

int Apply(Client& client, const ApplyOptions& options, Format format) {
  if (int usage = CheckInputFlags(options); usage != 0) return usage;
  const size_t stdin_count =
      std::count(options.paths.begin(), options.paths.end(), kStdin);
  absl::StatusOr<std::vector<std::string>> files =
      ListFiles(options.paths, format);
  if (!files.ok()) {
    PrintRunError(files.status(), StatusText(files.status()), format);
    return 1;
  }
  // A condition holds for one article, checked by the server at the write.
  // A flag that needs a single input is said as --id's rule is: it does not
  // go with the -f given (EXCLUDED_FLAGS).
  const char* condition = options.expected_revision != 0 ? "--expected-revision"
                          : !options.etag.empty()        ? "--etag"
                                                         : nullptr;
  if (condition != nullptr && files->size() != 1) {
    return Usage(absl::StrCat(condition, ": applies only to a single file (",
                              files->size(), " given)"),
                 kExcludedFlags);
  }
  if (condition != nullptr && options.dry_run) {
    return Usage(absl::StrCat(condition, ": cannot be combined with --dry-run"),
                 kExcludedFlags);
  }
  // Read before anything is sent: --id names one article, and standard
  // input may hold many documents (`-o markdown` of many), each naming its
  // own.
  std::optional<absl::StatusOr<std::string>> stdin_text;
  if (stdin_count == 1) {
    if (int usage = ReadStdin(options, "apply each to", &stdin_text);
        usage != 0)
      return usage;
  }
  const absl::StatusOr<std::string>* stdin_ptr =
      stdin_text.has_value() ? &*stdin_text : nullptr;
  if (condition == nullptr) {
    return ApplyStreaming(client, *files, options, format, stdin_ptr);
  }
  // A conditional write of one file goes through UpdateArticle, which
  // checks the revision on the server.
  Input read = ReadDocuments(files->front(), options, stdin_ptr);
  if (read.documents.size() > 1) {
    return Usage(absl::StrCat(condition, ": applies only to a single article (",
                              read.label, " holds ", read.documents.size(),
                              " documents)"));
  }
  Reporter reporter(1, format, false, options.connection);
  if (read.status.ok()) {
    reporter.WarnNearKeys(read.documents.front());
    reporter.Report(
        ApplyDocument(client, std::move(read.documents.front()), options));
  } else {
    FileResult r;
    r.file = read.label;
    r.result = "failed";
    r.status = read.status;
    reporter.Report(std::move(r));
  }
  return reporter.Finish(format, 1);
}

absl::StatusOr<std::vector<NamedArticle>> ArticlesNamedIn(
    const std::vector<std::string>& paths, Format format) {
  absl::StatusOr<std::vector<std::string>> files = ListFiles(paths, format);
  if (!files.ok()) return files.status();
  const ApplyOptions options;
  std::vector<NamedArticle> named;
  for (const std::string& file : *files) {
    absl::StatusOr<std::string> text = ReadWholeFile(file);
    if (!text.ok()) {
      named.push_back({Label(file), text.status()});
      continue;
    }
    for (const Document& doc : SplitDocuments(*text, Label(file))) {
      // A tombstone names its article as well: apply refuses to write it,
      // but deleting what it names is no write of its content.
      if (doc.mark.deleted) {
        named.push_back({doc.label, doc.mark.id});
        continue;
      }
      std::string id_from;
      absl::StatusOr<v1::Article> article =
          ParseDocument(file, doc, options, &id_from);
      if (!article.ok()) {
        // ParseDocument's words for standard input name apply's --id.
        absl::Status status = article.status();
        if (file == kStdin &&
            absl::StartsWith(status.message(), "id: standard input")) {
          status = absl::InvalidArgumentError(
              "id: standard input has no file name to take the id from, and "
              "its front matter has no `id` (`id: x`)");
        }
        named.push_back(
            {doc.label, Reworded(status, absl::StrCat(doc.label, ": ",
                                                      status.message()))});
        continue;
      }
      named.push_back({doc.label, ArticleId(article->name())});
    }
  }
  return named;
}

absl::StatusOr<v1::Article> UpdateFromDocument(
    Client& client, const std::string& label, absl::string_view text,
    const std::string& id, int64_t expected_revision, bool strict,
    Format format, const std::string& default_zone) {
  const std::vector<Document> docs = SplitDocuments(text, label);
  if (docs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, " holds ", docs.size(),
                     " documents; an edit writes the one article it opened"));
  }
  ApplyOptions options;
  options.default_zone = default_zone;
  Parsed parsed;
  parsed.label = label;
  parsed.article = ParseDocument(label, docs.front(), options, &parsed.id_from);
  if (!parsed.article.ok()) return parsed.article.status();
  const std::vector<std::pair<std::string, std::string>> near =
      NearFieldKeys(*parsed.article);
  if (strict && !near.empty()) return NearKeysError(near);
  for (const auto& [key, field] : near) {
    WarnNearKey(label, key, field, format);
  }
  // Renamed in the editor, the document would be written over another
  // article (one at the same revision) with this one's condition.
  const std::string named = ArticleId(parsed.article->name());
  if (named != id) {
    return absl::InvalidArgumentError(absl::StrCat(
        parsed.id_from, ": the edit names articles/", named,
        "; edit writes only the article it opened, articles/", id,
        " (`contentctl apply -f` writes a document to the article it names)"));
  }
  const Written written = WrittenOf(parsed);
  v1::UpdateArticleRequest update;
  *update.mutable_article() = *std::move(parsed.article);
  update.mutable_article()->set_name(ArticleName(id));
  update.set_expected_revision(expected_revision);
  absl::StatusOr<v1::Article> updated = client.UpdateArticle(update);
  // A condition that failed is the caller's to word: edit has no flag.
  if (!updated.ok() && !absl::IsFailedPrecondition(updated.status()))
    return NameTheKey(updated.status(), written);
  return updated;
}

int DiffFiles(Client& client, const ApplyOptions& options, Format format,
              bool color, bool show_cr) {
  // Exit codes as kubectl diff's.
  constexpr int kSame = 0, kDiffers = 1, kFailed = 2;
  // --id as apply takes it: standard input has no file name to take the id
  // from, and a diff must name the article the apply would write.
  if (int usage = CheckInputFlags(options); usage != 0) return usage;
  const size_t stdin_count =
      std::count(options.paths.begin(), options.paths.end(), kStdin);
  absl::StatusOr<std::vector<std::string>> files =
      ListFiles(options.paths, format);
  if (!files.ok()) {
    PrintRunError(files.status(), StatusText(files.status()), format);
    return kFailed;
  }
  std::optional<absl::StatusOr<std::string>> stdin_text;
  if (stdin_count == 1) {
    if (int usage = ReadStdin(options, "compare each with", &stdin_text);
        usage != 0)
      return usage;
  }
  const Output out(format, std::cout, std::cerr);
  int code = kSame;
  // A document's error, as apply prints it (FileError); a failed call
  // names the request id it was sent with.
  const auto fail = [&](const std::string& label, const absl::Status& status,
                        bool sent) {
    FileResult r;
    r.file = label;
    r.result = "failed";
    r.status = status;
    r.sent = sent;
    std::cout.flush();
    std::cerr << FileError(r, format, options.connection);
    code = kFailed;
  };
  for (const std::string& file : *files) {
    Input read = ReadDocuments(file, options,
                               stdin_text.has_value() ? &*stdin_text : nullptr);
    if (!read.status.ok()) {
      fail(read.label, read.status, false);
      continue;
    }
    for (const Parsed& doc : read.documents) {
      if (!doc.article.ok()) {
        fail(doc.label, doc.article.status(), false);
        continue;
      }
      // As apply warns: the diff shows what the document would store.
      std::cout.flush();
      WarnOfDocument(doc, format);
      v1::DiffArticleRevisionsRequest request;
      request.set_name(doc.article->name());
      *request.mutable_article() = *doc.article;
      absl::StatusOr<v1::DiffArticleRevisionsResponse> diff =
          client.DiffArticleRevisions(request);
      if (!diff.ok()) {
        // A refused token or no server fails every document alike: said
        // once, as apply says it, rather than once per file of a site.
        if (absl::IsUnauthenticated(diff.status()) ||
            absl::IsPermissionDenied(diff.status()) ||
            absl::IsUnavailable(diff.status())) {
          std::cout.flush();
          PrintRunError(diff.status(),
                        CallErrorText(diff.status(), options.connection),
                        format, options.connection);
          return kFailed;
        }
        // The server names the fields of `article` as UpdateArticle does.
        fail(doc.label, NameTheKey(diff.status(), WrittenOf(doc)), true);
        continue;
      }
      const bool same =
          diff->field_changes().empty() && diff->body_diff().empty();
      if (!same && code == kSame) code = kDiffers;
      if (absl::Status s = out.PrintDiff(*diff, color, show_cr, doc.label);
          !s.ok()) {
        std::cerr << "Error: " << StatusText(s) << "\n";
        return kFailed;
      }
    }
  }
  return code;
}

}  // namespace content::cli
