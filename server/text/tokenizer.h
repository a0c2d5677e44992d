// Text analysis for full-text search: one normalization and one tokenizer,
// shared by the indexer (server/store) and the query engine (server/query) so
// both always cut text the same way.
//
// Normalization is ICU's NFKC_Casefold: NFKC (full-width Latin and digits
// become ASCII, half-width katakana become full-width, ligatures split) plus
// Unicode case folding. The normalized text is then cut into tokens:
//  - a word: a maximal run of letters, digits and marks outside the CJK
//    scripts, e.g. `deepseek`, `gpt4`, `straße` -> `strasse`;
//  - a CJK run: a maximal run of Han, Hiragana, Katakana or Hangul letters,
//    e.g. `本地化部署` or `東京タワー`.
// Anything else (spaces, punctuation, symbols, CJK punctuation) separates
// tokens.
//
// Index terms: a word is one term (its first kMaxWordTermBytes bytes); a CJK
// run yields every character bigram and every single character, so a
// one-character query finds the character anywhere.
#ifndef CONTENT_SERVER_TEXT_TOKENIZER_H_
#define CONTENT_SERVER_TEXT_TOKENIZER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "content/v1/article.pb.h"

namespace content::text {

// One token of normalized text.
struct Token {
  enum class Kind { kWord, kCjk };
  Kind kind = Kind::kWord;
  // Normalized UTF-8.
  std::string text;

  bool operator==(const Token& o) const {
    return kind == o.kind && text == o.text;
  }
};

// Index terms of words are cut to this many bytes (on a character
// boundary, so a cut term has kMaxWordTermBytes - 3 to kMaxWordTermBytes
// bytes); matching still compares whole words.
inline constexpr size_t kMaxWordTermBytes = 64;

// NFKC + case folding. Invalid UTF-8 sequences become U+FFFD.
std::string Normalize(absl::string_view utf8);

// Normalizes `utf8` and cuts it into tokens, in text order.
std::vector<Token> Tokenize(absl::string_view utf8);

// The distinct index terms of `tokens`, sorted. `for_query` leaves out the
// single characters of CJK runs longer than one (the bigrams imply them).
std::vector<std::string> IndexTerms(const std::vector<Token>& tokens,
                                    bool for_query);

// The text an article is searched by: title, summary and body, separated so
// that no token spans two fields.
std::string SearchableText(const v1::Article& article);

// The distinct text index terms of an article, sorted.
std::vector<std::string> ArticleTerms(const v1::Article& article);

// How an edit changes an article's terms: those `before` has and `after`
// lacks (`left`) and the reverse (`joined`), each sorted. Equal to comparing
// both ArticleTerms, but the lines the two texts share at their start and
// end are tokenized once, not twice (no token spans a newline).
struct TermChanges {
  std::vector<std::string> left;
  std::vector<std::string> joined;
};
TermChanges ArticleTermChanges(const v1::Article& before,
                               const v1::Article& after);

// The planner intersects at most this many text terms (the rarest).
inline constexpr size_t kMaxExactTerms = 16;

// A compiled text query. Match semantics: every word of the query occurs as
// a whole word, and every CJK run of the query occurs contiguously inside one
// CJK run of the article (so `本地化部署` matches `...支持本地化部署...` but
// not an article holding `本地`, `化部` and `部署` apart). Words and runs may
// occur in any order and field. Thread-compatible.
class TextMatcher {
 public:
  explicit TextMatcher(absl::string_view query_text);
  // False when the query holds no word and no CJK character.
  bool empty() const { return words_.empty() && runs_.empty(); }
  // Index terms that every match contains (sorted, distinct).
  const std::vector<std::string>& terms() const { return terms_; }
  // True when holding every term implies a match, so candidates need no
  // verification: each word is shorter than any cut term (so no longer word
  // shares its term), each CJK run is at most two characters (one term),
  // and there are at most kMaxExactTerms terms (the planner may leave the
  // rest out of the intersection).
  bool exact_by_index() const { return exact_by_index_; }
  // The exact check, against the article's normalized text.
  bool Matches(const v1::Article& article) const;
  // The same check on text already tokenized.
  bool MatchesTokens(const std::vector<Token>& tokens) const;

 private:
  std::vector<std::string> words_;
  std::vector<std::string> runs_;
  std::vector<std::string> terms_;
  bool exact_by_index_ = true;
};

}  // namespace content::text

#endif  // CONTENT_SERVER_TEXT_TOKENIZER_H_
