#include "client/cli/edit.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/cli/apply.h"
#include "google/protobuf/struct.pb.h"

extern char** environ;

namespace content::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;

// `id` as a file name: what a shell or editor would trip on becomes `_`.
std::string FileNameFor(absl::string_view id) {
  std::string name(id);
  for (char& c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '-' && c != '_') {
      c = '_';
    }
  }
  if (name.empty() || name[0] == '.') name.insert(0, "article");
  return absl::StrCat(name, ".md");
}

// The failures of the file edit works on are local, as apply's input and
// output are (LocalError: READ_FAILED, WRITE_FAILED), no gRPC code.
absl::Status WriteText(const std::string& path, absl::string_view text) {
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) {
    return LocalFileError(kWriteFailed, "writing", path,
                          errno != 0 ? errno : EIO);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return LocalError(
        kReadFailed,
        absl::StrCat("reading ", path, " after the editor closed: ",
                     std::strerror(errno != 0 ? errno : EIO)),
        path);
  }
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

// Prints `status` as a failed call's error (a line, or under -o json|yaml
// an object), with `hint` after it, and under -o json|yaml the kept file
// and the request id (AddRequestId), as contentctl's other errors have it.
void PrintError(const absl::Status& status, const EditOptions& options,
                Format format, const std::string& kept = "",
                const std::string& hint = "") {
  const std::string text = CallErrorText(status, options.connection);
  google::protobuf::Struct error = ErrorStruct(status, text);
  auto& fields = *error.mutable_fields();
  if (!kept.empty()) fields["file"].set_string_value(kept);
  if (!hint.empty()) fields["hint"].set_string_value(hint);
  AddRequestId(&error, options.connection);
  std::cerr << StderrObject(
      error, format,
      absl::StrCat("Error: ", text, hint.empty() ? "" : "\n", hint));
}

// What opens each line of the notes a reopened file carries (WithNotes).
constexpr absl::string_view kNote = "# contentctl edit: ";

// `text` without the lines WithNotes added (kNote's), as it is written.
std::string WithoutNotes(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (absl::string_view rest = text; !rest.empty();) {
    const size_t end = rest.find('\n');
    const absl::string_view line =
        rest.substr(0, end == absl::string_view::npos ? rest.size() : end + 1);
    rest.remove_prefix(line.size());
    if (!absl::StartsWith(line, kNote)) absl::StrAppend(&out, line);
  }
  return out;
}

// `text` (WithoutNotes) with `error` and what to do about it as comment
// lines just before the front matter's closing `---` (at the end when
// there is none): the lines above keep their numbers, which a YAML error
// cites, and the notes read as YAML comments.
std::string WithNotes(absl::string_view text, absl::string_view error) {
  std::string notes = absl::StrCat(
      kNote, "not written: ",
      absl::StrReplaceAll(error, {{"\r\n", "; "}, {"\n", "; "}}), "\n", kNote,
      "fix it and save to try again; save it unchanged to stop (it is "
      "kept), or empty it to cancel; these lines are dropped\n");
  size_t at = text.size();
  if (absl::StartsWith(text, "---\n") || absl::StartsWith(text, "---\r\n")) {
    for (size_t pos = text.find('\n') + 1; pos < text.size();) {
      const size_t end = text.find('\n', pos);
      absl::string_view line = text.substr(pos, end == absl::string_view::npos
                                                    ? absl::string_view::npos
                                                    : end - pos);
      absl::ConsumeSuffix(&line, "\r");
      if (line == "---") {
        at = pos;
        break;
      }
      if (end == absl::string_view::npos) break;
      pos = end + 1;
    }
  }
  std::string out(text.substr(0, at));
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  absl::StrAppend(&out, notes, text.substr(at));
  return out;
}

// The zone the head's zoneless dates (`2025-02-08 19:34:12`) were read in,
// which the file edit writes keeps them in: what was saved is read back in
// it, as `apply --default-zone` would read the file, so that a date the
// editor left alone keeps its instant (read in UTC, an article applied with
// `--default-zone Asia/Shanghai` moved its date, publish and expiry times
// by 8 hours at every edit). UTC when no date is zoneless or the zone does
// not load here (FormatMarkdown then wrote the dates in RFC 3339).
std::string ZonelessDateZone(const v1::Article& head) {
  const v1::FrontMatterStyle& style = head.style();
  const struct {
    bool present;
    v1::FrontMatterStyle::DateLayout layout;
    const std::string& zone;  // "" for a publish or expiry date: date_zone
  } dates[] = {
      {head.has_date(), style.date_layout(), style.date_zone()},
      {head.has_publish_time(), style.publish_date_layout(),
       style.publish_date_zone()},
      {head.has_expiry_time(), style.expiry_date_layout(),
       style.expiry_date_zone()},
  };
  for (const auto& date : dates) {
    if (!date.present ||
        date.layout == v1::FrontMatterStyle::DATE_LAYOUT_UNSPECIFIED ||
        date.layout == v1::FrontMatterStyle::DATE_LAYOUT_RFC3339 ||
        date.layout == v1::FrontMatterStyle::DATE_LAYOUT_DATETIME_OFFSET) {
      continue;
    }
    const std::string& zone = date.zone.empty() ? style.date_zone() : date.zone;
    absl::TimeZone loaded;
    if (!zone.empty() && absl::LoadTimeZone(zone, &loaded)) return zone;
    break;
  }
  return "UTC";
}

// Removes the edit's directory and the file in it.
void RemoveEdit(const std::string& dir) {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace

std::string EditorCommand() {
  for (const char* name : {"CONTENT_EDITOR", "VISUAL", "EDITOR"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && !absl::StripAsciiWhitespace(value).empty())
      return value;
  }
  return isatty(STDIN_FILENO) ? "vi" : "";
}

absl::Status RunEditor(const std::string& editor, const std::string& path) {
  // Through the shell, as git and kubectl run $EDITOR: it may hold
  // arguments (`code --wait`). The path is "$1", never shell text.
  const std::string script = absl::StrCat(editor, " \"$1\"");
  const char* argv[] = {"sh", "-c",         script.c_str(),
                        "sh", path.c_str(), nullptr};
  // A Ctrl-C at the terminal is the editor's to handle (vi takes it as a
  // key); contentctl waits. The child starts with the default actions.
  struct sigaction ignore {
  }, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGQUIT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, "/bin/sh", nullptr, &attr,
                                  const_cast<char* const*>(argv), environ);
  posix_spawnattr_destroy(&attr);
  int wait_status = 0;
  pid_t waited = -1;
  if (spawned == 0) {
    do {
      waited = waitpid(pid, &wait_status, 0);
    } while (waited < 0 && errno == EINTR);
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  // The editor is this side's, no server involved: a LocalError, no gRPC
  // code, with the command and how it ended for a script.
  std::map<std::string, std::string> metadata = {{"editor", editor}};
  if (spawned != 0) {
    return LocalError(
        kEditorFailed,
        absl::StrCat("editor `", editor,
                     "`: cannot start /bin/sh: ", std::strerror(spawned)),
        metadata);
  }
  if (waited < 0) {
    return LocalError(kEditorFailed,
                      absl::StrCat("editor `", editor,
                                   "`: waiting for it: ", std::strerror(errno)),
                      metadata);
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    return absl::OkStatus();
  }
  // The shell's 127: the command was not found.
  const bool not_found =
      WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 127;
  if (WIFEXITED(wait_status)) {
    metadata["exit_status"] = absl::StrCat(WEXITSTATUS(wait_status));
  } else {
    metadata["signal"] = absl::StrCat(WTERMSIG(wait_status));
  }
  return LocalError(
      not_found ? kEditorNotFound : kEditorFailed,
      absl::StrCat(
          "editor `", editor, "` ",
          WIFEXITED(wait_status)
              ? absl::StrCat("exited with status ", WEXITSTATUS(wait_status))
              : absl::StrCat("was killed by signal ", WTERMSIG(wait_status)),
          not_found ? " (command not found)" : "", "; nothing was written"),
      metadata);
}

int Edit(Client& client, const EditOptions& options, Format format) {
  absl::string_view id_view = options.id;
  absl::ConsumePrefix(&id_view, "articles/");
  const std::string id(id_view);
  const std::string editor =
      options.editor.empty() ? EditorCommand() : options.editor;
  if (editor.empty()) {
    PrintError(LocalError(kNoEditor,
                          "no editor: standard input is not a terminal, so vi "
                          "cannot be used; set CONTENT_EDITOR, VISUAL or "
                          "EDITOR to the command to run (the file's path is "
                          "added to it)",
                          std::map<std::string, std::string>{}),
               options, format);
    return kExitFailure;
  }

  v1::GetArticleRequest get;
  get.set_name(ArticleName(id));
  get.set_show_deleted(true);
  get.set_visibility(v1::VISIBILITY_ALL);  // drafts are edited too
  absl::StatusOr<v1::Article> head = client.GetArticle(get);
  if (!head.ok()) {
    // As get says it: `ID: name: ...`, and of `edit a.md` how apply names
    // the article of a file.
    PrintError(WithFileNameHint(NameTheFlag(head.status(), {{"name", "ID"}})),
               options, format);
    return kExitFailure;
  }
  if (head->has_delete_time()) {
    PrintError(
        absl::NotFoundError(absl::StrCat(
            get.name(), " is deleted (revision ", head->revision(),
            "); `contentctl undelete ", id, "` brings it back, then edit it")),
        options, format);
    return kExitFailure;
  }
  // The opening `# articles/ID revision N` line says what is edited, and
  // makes the kept file re-apply to this article whatever it is renamed.
  const std::string original = MarkdownDocument(*head, /*marked=*/true);

  const char* tmp = std::getenv("TMPDIR");
  std::string dir =
      absl::StrCat(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp",
                   "/contentctl-edit-XXXXXX");
  const std::string like = dir;  // mkdtemp may leave a name tried in `dir`
  if (mkdtemp(dir.data()) == nullptr) {
    const int err = errno;
    PrintError(
        LocalFileError(kWriteFailed, "creating a directory like", like, err),
        options, format);
    return kExitFailure;
  }
  const std::string path = absl::StrCat(dir, "/", FileNameFor(id));
  if (absl::Status s = WriteText(path, original); !s.ok()) {
    RemoveEdit(dir);
    PrintError(s, options, format);
    return kExitFailure;
  }

  // On a terminal a refused edit (INVALID_ARGUMENT: a document that does
  // not parse, a field the server refuses) reopens the file with the error
  // in it, as kubectl's edit does, until it is written, saved unchanged
  // (then kept, as a refused edit is without a terminal) or emptied.
  const bool reopen = isatty(STDIN_FILENO) == 1;
  std::string opened = original;
  absl::Status refused;  // the last round's, when the file was reopened
  absl::StatusOr<v1::Article> updated;
  for (;;) {
    const absl::Status ran = RunEditor(editor, path);
    absl::StatusOr<std::string> edited = ReadText(path);
    const bool changed = edited.ok() && *edited != opened;
    if (!refused.ok() && (ran.ok() && edited.ok()) && !changed) {
      // Saved unchanged after a refusal: stop with that error, the file
      // kept as the user wrote it.
      updated = refused;
      if (absl::Status s = WriteText(path, WithoutNotes(*edited)); !s.ok()) {
        PrintError(s, options, format);
        return kExitFailure;
      }
      break;
    }
    if (!ran.ok() || !edited.ok()) {
      // What the editor saved before it failed may be work to keep: its
      // path is in the error's metadata too.
      absl::Status error = ran.ok() ? edited.status() : ran;
      const bool keep = changed || !refused.ok();
      if (keep && edited.ok() && !refused.ok()) {
        (void)WriteText(path, WithoutNotes(*edited));  // best effort
      }
      if (keep) {
        std::map<std::string, std::string> metadata = ErrorMetadata(error);
        metadata["path"] = path;
        error = LocalError(ErrorReason(error), error.message(), metadata);
      } else {
        RemoveEdit(dir);
      }
      // As a refused edit's: where the file is, and how to write it.
      std::string hint;
      if (keep) {
        hint = absl::StrCat("the file as saved is kept in ", path);
        if (edited.ok()) {
          absl::StrAppend(&hint, ": `contentctl apply -f ", path,
                          " --expected-revision ", head->revision(),
                          "` writes it");
        }
      }
      PrintError(error, options, format, keep ? path : "", hint);
      return kExitFailure;
    }
    const std::string text = WithoutNotes(*edited);
    if (!changed || absl::StripAsciiWhitespace(text).empty()) {
      RemoveEdit(dir);
      google::protobuf::Struct notice;
      auto& fields = *notice.mutable_fields();
      fields["notice"].set_string_value("CANCELLED");
      fields["message"].set_string_value(
          changed ? "Edit cancelled, the file was emptied; nothing was written."
                  : "Edit cancelled, no changes made.");
      std::cerr << StderrObject(notice, format,
                                fields["message"].string_value());
      return kExitOk;
    }
    updated =
        UpdateFromDocument(client, path, text, id, head->revision(),
                           options.strict, format, ZonelessDateZone(*head));
    if (updated.ok() || !reopen || !absl::IsInvalidArgument(updated.status()))
      break;
    refused = updated.status();
    opened = WithNotes(text, CallErrorText(refused, options.connection));
    if (absl::Status s = WriteText(path, opened); !s.ok()) {
      PrintError(s, options, format);
      return kExitFailure;
    }
  }
  if (!updated.ok()) {
    std::string hint;
    absl::Status error = updated.status();
    if (absl::IsFailedPrecondition(error)) {
      const std::map<std::string, std::string> metadata = ErrorMetadata(error);
      const auto current = metadata.find("current_revision");
      error = Reworded(
          error,
          absl::StrCat(get.name(), " changed while it was being edited (from ",
                       "revision ", head->revision(),
                       current != metadata.end() && !current->second.empty()
                           ? absl::StrCat(" to ", current->second)
                           : std::string(),
                       "): ", error.message()));
      hint = absl::StrCat("your edit is kept in ", path, ": `contentctl diff ",
                          id, " ", head->revision(),
                          "` shows the change made meanwhile; `contentctl "
                          "apply -f ",
                          path, "` writes your edit over it");
    } else if (absl::IsNotFound(error) &&
               ErrorReason(error) == "ARTICLE_DELETED") {
      // Deleted meanwhile: nothing in the file to fix, and an apply with
      // the revision the edit started from fails at the tombstone (as
      // apply does not undelete); undelete first, then apply.
      const std::map<std::string, std::string> metadata = ErrorMetadata(error);
      const auto tombstone = metadata.find("revision");
      error = Reworded(
          error,
          absl::StrCat(get.name(), " was deleted while it was being edited",
                       tombstone != metadata.end() && !tombstone->second.empty()
                           ? absl::StrCat(" (revision ", tombstone->second, ")")
                           : std::string()));
      hint = absl::StrCat("your edit is kept in ", path, ": `contentctl ",
                          "undelete ", id, "` brings the article back, then `",
                          "contentctl apply -f ", path, "` writes your edit");
    } else {
      // Only a refusal of what was saved has something in the file to fix;
      // a call that failed (the server down, a deadline) needs it applied
      // again, on the same condition: should the edit have been written
      // after all, that apply fails rather than write it twice.
      hint =
          absl::StrCat("your edit is kept in ", path, ": ",
                       absl::IsInvalidArgument(error) ? "fix it, then " : "",
                       "`contentctl apply -f ", path, " --expected-revision ",
                       head->revision(), "` writes it");
    }
    PrintError(error, options, format, path, hint);
    return kExitFailure;
  }
  RemoveEdit(dir);
  if (format == Format::kTable) {
    std::cout << updated->name()
              << (updated->revision() == head->revision() ? " unchanged"
                                                          : " edited")
              << " (revision " << updated->revision() << ")\n";
    return kExitOk;
  }
  const absl::Status printed =
      Output(format, std::cout, std::cerr).PrintArticle(*updated);
  if (!printed.ok()) {
    PrintError(printed, options, format);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace content::cli
