#include "client/cli/completion.h"

#include <algorithm>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "client/cli/output.h"

namespace content::cli {
namespace {

// The verb whose words are the other verbs (main.cc's RunHelp).
constexpr char kHelpVerb[] = "help";

// A flag as completion sees it: its spellings and what follows it.
struct Flag {
  std::vector<std::string> names;  // `-o`, `--output`
  // "" for a switch; else `value` (anything), `file`, `dir`, `tag` (a tag
  // the server has), `category` (a category it has), `choices` and the
  // words it takes, space-separated, or `list` and the words of which it
  // takes a comma-separated list (`--state draft,scheduled`).
  std::string value;
};

// A command (`apply`, `admin backup`; "" for contentctl itself) with its
// commands and flags.
struct Command {
  std::string path;
  std::vector<std::string> commands;
  std::vector<Flag> flags;
  // The words its first argument takes, when it takes one of a set
  // (`completion SHELL`: bash, zsh); else empty.
  std::vector<std::string> choices;
};

// What `option` of command `path` takes.
std::string ValueOf(const CLI::Option& option, const std::string& path) {
  if (option.get_expected_max() == 0) return "";  // a switch
  // CLI11 names a checked set in the type: `TEXT:{table,json,yaml}`; an
  // existing file `TEXT:FILE`.
  const std::string type = option.get_type_name();
  const size_t open = type.find('{');
  const size_t close = type.rfind('}');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    return absl::StrCat(
        option.get_delimiter() == ',' ? "list " : "choices ",
        absl::StrReplaceAll(type.substr(open + 1, close - open - 1),
                            {{",", " "}}));
  }
  if (type.find("FILE") != std::string::npos) return "file";
  if (type.find("DIR") != std::string::npos) return "dir";
  for (const std::string& name : option.get_lnames()) {
    if (name == "filename") return "file";  // apply -f: a file or directory
    if (name == "dir") return "dir";
    if (name == "tag" || name == "not-tag") return "tag";
    if (name == "category") return "category";
    // `tags --prefix`, `categories --prefix`: the start of one.
    if (name == "prefix" && path == "tags") return "tag";
    if (name == "prefix" && path == "categories") return "category";
    // Any name may be asked (an unknown one is SERVICE_UNKNOWN), so no
    // checked set names these; "" (liveness) is no word to complete.
    if (name == "service" && path == "admin health") {
      return "choices content.v1.Readiness content.v1.ContentService "
             "content.v1.AdminService";
    }
  }
  return "value";
}

void Walk(const CLI::App& app, const std::string& path,
          std::vector<Command>* out) {
  Command command;
  command.path = path;
  for (const CLI::Option* option : app.get_options(
           [](const CLI::Option* o) { return !o->get_positional(); })) {
    Flag flag;
    for (const std::string& s : option->get_snames())
      flag.names.push_back("-" + s);
    for (const std::string& l : option->get_lnames())
      flag.names.push_back("--" + l);
    flag.value = ValueOf(*option, path);
    if (!flag.names.empty()) command.flags.push_back(std::move(flag));
  }
  const std::vector<const CLI::Option*> arguments =
      app.get_options([](const CLI::Option* o) { return o->get_positional(); });
  if (!arguments.empty()) {
    const std::string value = ValueOf(*arguments.front(), path);
    if (absl::StartsWith(value, "choices ")) {
      command.choices = absl::StrSplit(absl::string_view(value).substr(8), ' ',
                                       absl::SkipEmpty());
    }
  }
  // A command in no group is hidden (`__complete`, which the script
  // calls): not offered.
  const std::vector<const CLI::App*> subcommands = app.get_subcommands(
      [](const CLI::App* sub) { return !sub->get_group().empty(); });
  for (const CLI::App* sub : subcommands)
    command.commands.push_back(sub->get_name());
  out->push_back(std::move(command));
  for (const CLI::App* sub : subcommands) {
    Walk(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(),
         out);
  }
}

// Whether command `path` is `help` or a word under it (`help admin`).
bool IsHelp(const std::string& path) {
  return path == kHelpVerb ||
         absl::StartsWith(path, absl::StrCat(kHelpVerb, " "));
}

// Whether `f` is -o/--output.
bool IsOutput(const Flag& f) {
  return std::find(f.names.begin(), f.names.end(), "--output") != f.names.end();
}

// The shell functions that hold `commands`, then the one completing.
std::string BashScript(const std::vector<Command>& commands) {
  // Flags of contentctl itself come after any verb too (global flags).
  const Command& root = commands.front();
  std::string cases_commands, cases_flags, cases_values, root_values,
      cases_choices;
  // After `help VERB` (a verb with no commands of its own, which has no
  // case), the flags `help` takes: last, after every command's own case.
  std::string help_flags;
  for (const Command& c : commands) {
    if (!c.commands.empty()) {
      absl::StrAppend(&cases_commands, "    '", c.path, "') echo '",
                      absl::StrJoin(c.commands, " "), "' ;;\n");
    }
    if (!c.choices.empty()) {
      absl::StrAppend(&cases_choices, "    '", c.path, "') echo '",
                      absl::StrJoin(c.choices, " "), "' ;;\n");
    }
    std::vector<std::string> names;
    for (const Flag& f : c.flags)
      names.insert(names.end(), f.names.begin(), f.names.end());
    const bool under_help = IsHelp(c.path);
    if (&c != &root) {
      for (const Flag& f : root.flags) {
        // Help prints the same text whatever -o says: not offered there.
        if (under_help && IsOutput(f)) continue;
        for (const std::string& name : f.names) {
          // Each command has its own -h, --help and --help-all.
          if (std::find(names.begin(), names.end(), name) == names.end())
            names.push_back(name);
        }
      }
    }
    if (c.path == kHelpVerb) {
      help_flags = absl::StrCat("    '", kHelpVerb, " '*) echo '",
                                absl::StrJoin(names, " "), "' ;;\n");
    }
    absl::StrAppend(&cases_flags, "    '", c.path, "') echo '",
                    absl::StrJoin(names, " "), "' ;;\n");
    for (const Flag& f : c.flags) {
      if (f.value.empty()) continue;
      std::vector<std::string> patterns;
      for (const std::string& name : f.names) {
        patterns.push_back(&c == &root
                               ? absl::StrCat("*' ", name, "'")
                               : absl::StrCat("'", c.path, " ", name, "'"));
      }
      absl::StrAppend(&c == &root ? &root_values : &cases_values, "    ",
                      absl::StrJoin(patterns, "|"), ") echo '", f.value,
                      "' ;;\n");
    }
    if (&c == &root) continue;
    // -o, a global flag, takes after a verb only the formats that verb
    // takes (OutputsOf, which refuses the others): `export -o` markdown.
    // After `help` (`help get -o`) it takes any word and changes nothing,
    // as after `get --help`: a value with no formats offered, the word
    // after it still read as the flag's.
    for (const Flag& f : root.flags) {
      if (!IsOutput(f)) continue;
      if (c.path == kHelpVerb) {
        std::vector<std::string> patterns;
        for (const std::string& name : f.names) {
          patterns.push_back(absl::StrCat("'", kHelpVerb, " ", name, "'"));
          patterns.push_back(absl::StrCat("'", kHelpVerb, " '*' ", name, "'"));
        }
        absl::StrAppend(&cases_values, "    ", absl::StrJoin(patterns, "|"),
                        ") echo 'value' ;;\n");
        continue;
      }
      if (under_help) continue;  // the case above has it
      const std::string value = absl::StrCat(
          "choices ", absl::StrJoin(OutputsOf(c.path).formats, " "));
      if (value == f.value) continue;  // every format: root's case says so
      std::vector<std::string> patterns;
      for (const std::string& name : f.names)
        patterns.push_back(absl::StrCat("'", c.path, " ", name, "'"));
      absl::StrAppend(&cases_values, "    ", absl::StrJoin(patterns, "|"),
                      ") echo '", value, "' ;;\n");
    }
  }
  return absl::StrCat(
      R"sh(# contentctl completion: verbs, flags, the values of flags that take
# one of a set, files and directories, and tags after --tag and --not-tag,
# categories after --category, and either after `tags|categories --prefix`
# (asked of the server, `contentctl __complete tags|categories PREFIX`).
# Load it with
#   source <(contentctl completion bash)
# or save it as /etc/bash_completion.d/contentctl.

# The commands under command $1 ("" for contentctl itself).
_contentctl_commands() {
  case "$1" in
)sh",
      cases_commands, R"sh(  esac
}

# The words the first argument of command $1 takes, where it takes one of
# a set (`completion SHELL`).
_contentctl_choices() {
  case "$1" in
)sh",
      cases_choices, R"sh(  esac
}

# The flags of command $1, the global ones with them.
_contentctl_flags() {
  case "$1" in
)sh",
      cases_flags, help_flags, R"sh(  esac
}

# What flag $2 of command $1 takes: nothing for a switch, else "value",
# "file", "dir", "tag", "category", "choices WORD..." or "list WORD..." (a
# comma-separated list of them).
_contentctl_value() {
  case "$1 $2" in
)sh",
      cases_values, root_values, R"sh(  esac
}

# The $1 (tags or categories) of the server starting with $3 for
# contentctl $2, with the flags in the rest that say which server and how
# to reach it; nothing when it cannot say within 2 s (or
# $CONTENT_COMPLETION_TIMEOUT, e.g. 5s). One a line, quoted for the command
# line.
_contentctl_names() {
  local kind="$1" self="$2" prefix="$3" w
  local -a names=()
  shift 3
  [[ "$self" == "~/"* ]] && self="$HOME/${self#\~/}"
  while IFS= read -r w; do names+=( "$w" ); done < <(
    "$self" "$@" __complete "$kind" -- "$prefix" 2>/dev/null)
  (( ${#names[@]} > 0 )) && printf '%q\n' "${names[@]}"
}

# Fills COMPREPLY for _contentctl; sets its `files` when the replies are
# file or directory names, and its `equals` to what each reply starts with
# that is not the value (under zsh `--flag=`, or the `-o` of `-oj`).
_contentctl_replies() {
  # `verbs`, the commands so far: under zsh a local named `path` (tied to
  # PATH there) hid every program, contentctl among them, from the function.
  local cur="${COMP_WORDS[COMP_CWORD]}" verbs="" flag="" colons="" value w v i
  # Arguments given after the verb (words that are no verb or flag).
  local args=0
  # The flags naming the server and how to reach it, for a call to it.
  local -a connection=()
  # Words of a list split at blanks; file names only at line ends.
  local IFS=$' \t\n'
  COMPREPLY=()
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="${COMP_WORDS[i]}"
    case "$w" in
      -*=*)
        # zsh leaves `--flag=value` one word.
        case "${w%%=*}" in
          -s|--server|--token|--ca|--cert|--key) connection+=( "$w" ) ;;
        esac
        ;;
      -[!-]?*)
        # A short flag with its value stuck to it (`-s127.0.0.1:7070`, as
        # getopt and contentctl take it): bash splits a `host:port` there
        # too. Any other word so spelt (`-hx`) is no flag completion knows.
        [[ -z "$(_contentctl_value "$verbs" "${w:0:2}")" ]] && continue
        v="${w:2}"
        while (( i + 2 < COMP_CWORD )) && [[ "${COMP_WORDS[i+1]}" == :* ]] &&
            [[ -z "${COMP_WORDS[i+1]//:/}" ]]; do
          v+="${COMP_WORDS[i+1]}${COMP_WORDS[i+2]}"
          (( i += 2 ))
        done
        [[ "${w:0:2}" == -s ]] && connection+=( -s "$v" )
        ;;
      -*)
        value="$(_contentctl_value "$verbs" "$w")"
        [[ -z "$value" ]] && continue
        # `--flag=value` reaches completion as three words.
        if (( i + 1 < COMP_CWORD )) && [[ "${COMP_WORDS[i+1]}" == "=" ]]; then
          (( i++ ))
        fi
        if (( i + 1 >= COMP_CWORD )); then flag="$w"; continue; fi
        (( i++ ))
        v="${COMP_WORDS[i]}"
        # bash splits words at ':' too: `127.0.0.1:7070` or `unix:PATH`
        # reaches completion as three words.
        while (( i + 2 < COMP_CWORD )) && [[ "${COMP_WORDS[i+1]}" == :* ]] &&
            [[ -z "${COMP_WORDS[i+1]//:/}" ]]; do
          v+="${COMP_WORDS[i+1]}${COMP_WORDS[i+2]}"
          (( i += 2 ))
        done
        # So does the value being typed (`--tag ns:fo`, `--tag ns:`): it is
        # completed whole, and each reply loses what bash keeps of the line
        # (`ns:`), since bash replaces only what follows the last `:`.
        if (( i + 1 == COMP_CWORD )) && [[ -n "$cur" && -z "${cur//:/}" ]]
        then
          colons="$v$cur"
          cur=""
        elif (( i + 2 == COMP_CWORD )) && [[ -n "${COMP_WORDS[i+1]}" &&
            -z "${COMP_WORDS[i+1]//:/}" ]]; then
          colons="$v${COMP_WORDS[i+1]}"
        fi
        if [[ -n "$colons" ]]; then
          cur="$colons$cur"
          flag="$w"
          break
        fi
        case "$w" in
          -s|--server|--token|--ca|--cert|--key)
            [[ "$v" == "~/"* ]] && v="$HOME/${v#\~/}"
            connection+=( "$w" "$v" )
            ;;
        esac
        ;;
      *)
        case " $(_contentctl_commands "$verbs") " in
          *" $w "*) verbs="${verbs:+$verbs }$w" ;;
          *) args=$(( args + 1 )) ;;
        esac
        ;;
    esac
  done
  # zsh leaves `--flag=value` and `-f=value` (pflag's spelling, which
  # contentctl takes) one word: the value is completed after the `=`, and
  # each reply keeps `--flag=` or `-f=`.
  if [[ -z "$flag" && "$cur" == -*=* ]] &&
      [[ -n "$(_contentctl_value "$verbs" "${cur%%=*}")" ]]; then
    flag="${cur%%=*}"
    equals="${cur%%=*}="
    cur="${cur#*=}"
  fi
  # `-oj`, a short flag with its value stuck to it as getopt and contentctl
  # take it (`-ojson`), is one word in bash and zsh alike: the value is
  # completed after the flag, and each reply keeps the `-o`.
  if [[ -z "$flag" && "$cur" == -[!-]?* ]] &&
      [[ -n "$(_contentctl_value "$verbs" "${cur:0:2}")" ]]; then
    flag="${cur:0:2}"
    equals="$flag"
    cur="${cur:2}"
  fi
  if [[ -n "$flag" ]]; then
    # Right after `--flag=` bash's word is "=", but readline replaces only
    # what follows it, as after a `:`: the values go there as they are (each
    # kept the `=`, and `--output=` became `--output==`).
    if [[ "$cur" == "=" ]]; then cur=""; fi
    value="$(_contentctl_value "$verbs" "$flag")"
    case "$value" in
      choices\ *)
        COMPREPLY=( $(compgen -W "${value#choices }" -- "$cur") )
        ;;
      list\ *)
        # After a comma (`--state draft,sch`) the words not given yet, each
        # reply the whole list so far: the shell replaces the whole word.
        local given="" last="$cur"
        if [[ "$cur" == *,* ]]; then given="${cur%,*},"; last="${cur##*,}"; fi
        while IFS= read -r w; do
          [[ -z "$w" || ",$given" == *",$w,"* ]] && continue
          COMPREPLY+=( "$given$w" )
        done < <(compgen -W "${value#list }" -- "$last")
        ;;
      file|dir)
        files=1
        compopt -o filenames 2>/dev/null
        IFS=$'\n'
        if [[ -n "${ZSH_VERSION-}" ]]; then
          # zsh's compgen globs the whole word, whatever it is given: a
          # `--flag=` before the name matched no file.
          for w in "$cur"*; do
            [[ -e "$w" ]] || continue
            [[ "$value" == dir && ! -d "$w" ]] && continue
            COMPREPLY+=( "$w" )
          done
        else
          COMPREPLY=( $(compgen "-${value:0:1}" -- "$cur") )
        fi
        ;;
      tag|category)
        # What was typed, unquoted as far as `\ ` and an opening quote go.
        cur="${cur#[\"\']}"
        cur="${cur//\\/}"
        local kind=tags
        [[ "$value" == category ]] && kind=categories
        while IFS= read -r w; do COMPREPLY+=( "$w" ); done < <(
          _contentctl_names "$kind" "${COMP_WORDS[0]}" "$cur" \
            "${connection[@]}")
        ;;
    esac
    # bash marks a directory by its reply (`-o filenames`), which `equals`
    # makes no path (`-fsite`): marked here, the slash ending the word. zsh
    # marks them in _contentctl.
    if [[ -n "$equals" && -n "$files" && -z "${ZSH_VERSION-}" ]]; then
      for (( i = 0; i < ${#COMPREPLY[@]}; i++ )); do
        [[ -d "${COMPREPLY[i]}" ]] && COMPREPLY[i]="${COMPREPLY[i]%/}/"
      done
      if (( ${#COMPREPLY[@]} == 1 )) && [[ "${COMPREPLY[0]}" == */ ]]; then
        compopt -o nospace 2>/dev/null
      fi
    fi
    if [[ -n "$equals" ]]; then
      COMPREPLY=( "${COMPREPLY[@]/#/$equals}" )
    fi
    if [[ -n "$colons" ]]; then
      COMPREPLY=( "${COMPREPLY[@]#"$colons"}" )
    fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_contentctl_flags "$verbs")" -- "$cur") )
    return 0
  fi
  COMPREPLY=( $(compgen -W "$(_contentctl_commands "$verbs")" -- "$cur") )
  if (( ${#COMPREPLY[@]} == 0 && args == 0 )); then
    COMPREPLY=( $(compgen -W "$(_contentctl_choices "$verbs")" -- "$cur") )
  fi
  return 0
}

_contentctl() {
  local files="" equals="" i
  _contentctl_replies
  # zsh's bashcompinit ignores `compopt -o filenames`: registered there with
  # nospace, a directory ends in its slash (ready for what is in it) and
  # every other reply in the space zsh would have added.
  if [[ -n "${ZSH_VERSION-}" ]]; then
    for (( i = 0; i < ${#COMPREPLY[@]}; i++ )); do
      if [[ -n "$files" && -d "${COMPREPLY[i]#"$equals"}" ]]; then
        COMPREPLY[i]="${COMPREPLY[i]%/}/"
      else
        COMPREPLY[i]="${COMPREPLY[i]} "
      fi
    done
  fi
  return 0
}

complete -F _contentctl contentctl
)sh");
}

}  // namespace

// `help` takes the verbs as words, and after a verb its commands (`help
// admin backup`): completed as the verbs are, with the global flags.
void AddHelpWords(std::vector<Command>* commands) {
  const Command& root = commands->front();
  const auto help =
      std::find_if(commands->begin(), commands->end(),
                   [](const Command& c) { return c.path == kHelpVerb; });
  if (help == commands->end()) return;
  std::vector<Command> words;
  Command under_help = *help;
  for (const std::string& verb : root.commands) {
    if (verb != kHelpVerb) under_help.commands.push_back(verb);
  }
  for (const Command& c : *commands) {
    if (c.path.empty() || c.path == kHelpVerb || c.commands.empty()) continue;
    Command word = *help;
    word.path = absl::StrCat(kHelpVerb, " ", c.path);
    word.commands = c.commands;
    words.push_back(std::move(word));
  }
  *help = std::move(under_help);
  commands->insert(commands->end(), words.begin(), words.end());
}

std::string CompletionScript(const CLI::App& app, const std::string& shell) {
  std::vector<Command> commands;
  Walk(app, "", &commands);
  AddHelpWords(&commands);
  const std::string bash = BashScript(commands);
  if (shell == "bash") return bash;
  if (shell == "zsh") {
    return absl::StrCat(
        "#compdef contentctl\n"
        "# zsh runs contentctl's bash completion through bashcompinit. Load "
        "it with\n#   source <(contentctl completion zsh)\n"
        "# bashcompinit's `complete` registers through compdef, which "
        "compinit\n# defines: run here if ~/.zshrc has not (zsh -f, a new "
        "account), where\n# `complete` said `command not found: compdef` and "
        "nothing completed.\n"
        "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit "
        "-i; }\n"
        "autoload -U +X bashcompinit && bashcompinit\n",
        bash,
        "# zsh: _contentctl adds each reply's space itself (a directory's "
        "slash instead).\n"
        "complete -o nospace -F _contentctl contentctl\n");
  }
  return "";
}

}  // namespace content::cli
