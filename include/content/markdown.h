// Markdown codec: articles as Markdown with YAML front matter.
//
// The codec is part of the SDK so that contentctl and embedding services read
// and write the same files; the server only ever sees structured Articles.
#ifndef CONTENT_MARKDOWN_H_
#define CONTENT_MARKDOWN_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "content/v1/article.pb.h"

namespace content {

// ParseMarkdown, FrontMatterFieldKeys and FormatMarkdown keep no state
// between calls: any number of threads may call them at once.

// Options for ParseMarkdown.
struct MarkdownOptions {
  // Zone assumed for dates written without one (`2025-02-08 19:34:12`,
  // `2025-02-08T19:34:12`, `2025-02-08`): an IANA name such as
  // `Asia/Shanghai`, or `UTC`.
  // Default: "UTC".
  std::string default_zone = "UTC";
};

// Parses a document of the form `---\n<YAML>\n---\n<body>` into an Article.
// A document without front matter is all body; one opening with Hugo's
// TOML (`+++`) or JSON (`{`) front matter, or with Hexo's (`key:` lines,
// then `---`, no opening line), is INVALID_ARGUMENT saying so. YAML merge
// keys (`<<: *anchor`) are merged, as Hugo's reader does. Lines may end in
// \n or \r\n (a Windows editor's); the body's \r\n are read as \n, so a file
// and its CRLF twin are one article (every \r ending a line goes, \r\r\n too; a
// \r elsewhere is kept). Typed keys (title, date, summary, categories, lang,
// translations, tags, menu, thumbnail, lead, comments, authorbox, pager, toc,
// mathjax, sidebar, widgets) fill the typed fields; `id` sets `name` to
// `articles/{id}`; the editorial keys fill theirs: `state` (draft,
// published or archived, any case) or Hugo's `draft` (true: DRAFT, false:
// PUBLISHED) sets `state`, `publishDate` sets
// `publish_time`, `expiryDate` sets `expiry_time`, `translationKey` sets
// `translation_key`. Any other key goes to `params`, and so does a value
// for `menu`, `thumbnail`, `lead` or `sidebar` that is not a string (Hugo's
// `menu` may be a map of entries; `sidebar: false` is a boolean), under its
// key with the typed field left empty: a list, a map, or a plain (unquoted)
// scalar that YAML reads as a boolean, number or null, or a string tagged
// `!!str` (`sidebar: !!str "right"`, how a string the API put in params
// there is written). It is written back with its type. A quoted or plain
// string there (`sidebar: "false"`, `sidebar: right`), and any scalar in
// `title` or `summary`, is taken as its text. Each entry of a `params:`
// mapping (Hugo's) is the param of its name, whatever the name; a key given
// both there and at the top level is an error. A `params` that is not a
// mapping is the param named `params`.
// `lang`, `categories`, `translations`, `tags` and `widgets` may each be a
// list or a single string, which is written back as a string while the list
// has one entry (`style.lang_scalar`, `style.scalar_keys`). `date`,
// `publishDate` and `expiryDate` may be RFC 3339 or, read in the default
// zone, `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS[.fraction]]` (Hugo's)
// or `YYYY-MM-DD`, each keeping its own zone (`style.date_zone`, and
// `style.publish_date_zone` / `style.expiry_date_zone` where theirs
// differs). How the front matter was written is kept in `style` so
// FormatMarkdown writes it back the same way, `draft:` as `draft:`, and the
// keys in their order, at the top (`style.key_order`) and in mappings
// inside params (`style.params_key_order`, where not sorted). A plain
// integer too big for a double to hold exactly (past 2^53) is kept as text
// in params and written back unquoted (`style.big_integer_paths`).
// A document that FormatMarkdown would write the same with no style (the
// layout `contentctl export` writes for an article created through the
// API) reads back with no style, so re-applying such an export changes
// nothing; any other keeps its whole style.
//
// Returns INVALID_ARGUMENT naming the key and the rule on malformed YAML, a
// value of the wrong type, a bad date, a `state` and a `draft` that
// disagree, text that is not valid UTF-8, or a param nested more than 30
// deep (as much as protobuf and its JSON form carry in every message).
absl::StatusOr<v1::Article> ParseMarkdown(std::string_view text,
                                          const MarkdownOptions& options = {});

// The top-level front-matter keys ParseMarkdown reads as fields rather than
// as params, in its order: the typed keys, `id`, the editorial keys
// (`state`, `draft`, `publishDate`, `expiryDate`, `translationKey`) and
// `params`. Any other key is a param. (A value of a field's key can still
// be a param, as said above: `menu: {main: ...}`, `params: 1`.)
const std::vector<std::string>& FrontMatterFieldKeys();

// Writes an Article as Markdown with YAML front matter. Server-set fields are
// not written. `name` is written, as `id:`, only where the document it was
// read from had an `id` key (`style.key_order`): a file's id is otherwise
// its file name (`ID.md`) or contentctl's `--id`. A param that would read back
// as another key at the top level (a typed, editorial or id key; a theme string
// key whose field has a value; `params` when it is a map or others are there)
// is written in a `params:` mapping. ParseMarkdown(FormatMarkdown(a)) has the
// same content as `a`, but for a body's \r\n, read back as \n. A DRAFT or
// PUBLISHED state where the document had no `state` or `draft` key is written
// `draft: true` or `draft: false` (Hugo's). Dates are written in their layout
// and zone, but a zoneless layout is written as RFC 3339 where it would not
// read back as the same instant (the same instant then, another style): when
// the zone is an offset, or a name that does not load here (written in UTC
// then).
std::string FormatMarkdown(const v1::Article& article);

}  // namespace content

#endif  // CONTENT_MARKDOWN_H_
