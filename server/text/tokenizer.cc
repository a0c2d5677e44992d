#include "server/text/tokenizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"

namespace content::text {
namespace {

const icu::Normalizer2* NfkcCasefold() {
  static const icu::Normalizer2* const kNormalizer = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n =
        icu::Normalizer2::getNFKCCasefoldInstance(status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return kNormalizer;
}

enum class Class { kSeparator, kWord, kCjk, kMark };

bool IsCjkScript(UChar32 c) {
  // Script_Extensions, so the prolonged sound mark and iteration marks
  // (script Common) stay inside their run.
  return uscript_hasScript(c, USCRIPT_HAN) ||
         uscript_hasScript(c, USCRIPT_HIRAGANA) ||
         uscript_hasScript(c, USCRIPT_KATAKANA) ||
         uscript_hasScript(c, USCRIPT_HANGUL);
}

Class Classify(UChar32 c) {
  if (c < 0x80) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9');
    return alnum ? Class::kWord : Class::kSeparator;
  }
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
      return c >= 0x1100 && IsCjkScript(c) ? Class::kCjk : Class::kWord;
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_COMBINING_SPACING_MARK:
      return Class::kMark;
    default:
      return Class::kSeparator;
  }
}

// Byte offsets of each character of a valid UTF-8 string, plus its end.
std::vector<size_t> CharBoundaries(absl::string_view s) {
  std::vector<size_t> out;
  int32_t i = 0;
  const int32_t n = static_cast<int32_t>(s.size());
  while (i < n) {
    out.push_back(static_cast<size_t>(i));
    UChar32 c;
    U8_NEXT(s.data(), i, n, c);
  }
  out.push_back(s.size());
  return out;
}

std::string TruncateWord(const std::string& word) {
  if (word.size() <= kMaxWordTermBytes) return word;
  size_t cut = kMaxWordTermBytes;
  // Back up to a character boundary (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(word[cut]) & 0xc0) == 0x80)
    --cut;
  return word.substr(0, cut);
}

// True if `needle` occurs in `hay` with no word character (or mark)
// touching either end: a whole-word occurrence in normalized text.
bool HasWholeWord(absl::string_view hay, absl::string_view needle) {
  size_t from = 0;
  while (true) {
    const size_t at = hay.find(needle, from);
    if (at == absl::string_view::npos) return false;
    // Marks before the needle join whatever token precedes them (they are
    // dropped after a separator), so look past them.
    bool left_ok = true;
    int32_t i = static_cast<int32_t>(at);
    while (i > 0) {
      UChar32 c;
      U8_PREV(hay.data(), 0, i, c);
      const Class k = c < 0 ? Class::kSeparator : Classify(c);
      if (k == Class::kMark) continue;
      left_ok = k != Class::kWord;
      break;
    }
    bool right_ok = true;
    const size_t end = at + needle.size();
    if (end < hay.size()) {
      int32_t j = static_cast<int32_t>(end);
      UChar32 c;
      U8_NEXT(hay.data(), j, static_cast<int32_t>(hay.size()), c);
      const Class k = c < 0 ? Class::kSeparator : Classify(c);
      right_ok = k != Class::kWord && k != Class::kMark;
    }
    if (left_ok && right_ok) return true;
    from = at + 1;
  }
}

}  // namespace

std::string Normalize(absl::string_view utf8) {
  std::string out;
  const icu::Normalizer2* n = NfkcCasefold();
  if (n == nullptr) return std::string(utf8);  // ICU data missing
  out.reserve(utf8.size());
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode status = U_ZERO_ERROR;
  n->normalizeUTF8(
      0, icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())), sink,
      nullptr, status);
  if (U_FAILURE(status)) return std::string(utf8);
  // ICU copies ill-formed sequences through; make the result valid UTF-8 so
  // the tokenizer and the keys built from it never carry broken bytes.
  std::string valid;
  valid.reserve(out.size());
  int32_t i = 0;
  const int32_t len = static_cast<int32_t>(out.size());
  while (i < len) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(out.data(), i, len, c);
    if (c < 0) {
      valid.append("\xef\xbf\xbd");
    } else {
      valid.append(out, static_cast<size_t>(start),
                   static_cast<size_t>(i - start));
    }
  }
  return valid;
}

std::vector<Token> Tokenize(absl::string_view utf8) {
  const std::string norm = Normalize(utf8);
  std::vector<Token> tokens;
  Token current;
  bool open = false;
  int32_t i = 0;
  const int32_t len = static_cast<int32_t>(norm.size());
  while (i < len) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(norm.data(), i, len, c);
    Class k = c < 0 ? Class::kSeparator : Classify(c);
    if (k == Class::kMark) {
      // A combining mark belongs to the token it follows.
      if (open) current.text.append(norm, start, i - start);
      continue;
    }
    const Token::Kind kind =
        k == Class::kCjk ? Token::Kind::kCjk : Token::Kind::kWord;
    if (open && (k == Class::kSeparator || kind != current.kind)) {
      tokens.push_back(std::move(current));
      current = Token();
      open = false;
    }
    if (k == Class::kSeparator) continue;
    if (!open) {
      current.kind = kind;
      open = true;
    }
    current.text.append(norm, start, i - start);
  }
  if (open) tokens.push_back(std::move(current));
  return tokens;
}

std::vector<std::string> IndexTerms(const std::vector<Token>& tokens,
                                    bool for_query) {
  // Views into the tokens (words are truncated into `words`, whose elements
  // never move): sorting and deduplicating views swaps 16 bytes, not
  // strings, and only the distinct terms are copied out. A 2 KiB CJK body
  // yields about 1,400 terms with repeats; sorting them as strings was the
  // largest cost of an update.
  std::deque<std::string> words;
  std::vector<absl::string_view> views;
  for (const Token& t : tokens) {
    if (t.kind == Token::Kind::kWord) {
      words.push_back(TruncateWord(t.text));
      views.push_back(words.back());
      continue;
    }
    const absl::string_view text = t.text;
    const std::vector<size_t> b = CharBoundaries(t.text);
    const size_t chars = b.size() - 1;
    if (chars == 1 || !for_query) {
      for (size_t k = 0; k < chars; ++k)
        views.push_back(text.substr(b[k], b[k + 1] - b[k]));
    }
    for (size_t k = 0; k + 2 <= chars; ++k)
      views.push_back(text.substr(b[k], b[k + 2] - b[k]));
  }
  std::sort(views.begin(), views.end());
  views.erase(std::unique(views.begin(), views.end()), views.end());
  std::vector<std::string> terms;
  terms.reserve(views.size());
  for (absl::string_view v : views) terms.emplace_back(v);
  return terms;
}

std::string SearchableText(const v1::Article& article) {
  // A newline separates tokens, so no word or CJK run crosses a field.
  return absl::StrCat(article.title(), "\n", article.summary(), "\n",
                      article.body());
}

std::vector<std::string> ArticleTerms(const v1::Article& article) {
  return IndexTerms(Tokenize(SearchableText(article)), /*for_query=*/false);
}

TextMatcher::TextMatcher(absl::string_view query_text) {
  const std::vector<Token> tokens = Tokenize(query_text);
  for (const Token& t : tokens) {
    std::vector<std::string>& into =
        t.kind == Token::Kind::kWord ? words_ : runs_;
    if (std::find(into.begin(), into.end(), t.text) == into.end())
      into.push_back(t.text);
  }
  terms_ = IndexTerms(tokens, /*for_query=*/true);
  for (const std::string& w : words_)
    if (w.size() > kMaxWordTermBytes) exact_by_index_ = false;
  for (const std::string& r : runs_)
    if (CharBoundaries(r).size() > 3) exact_by_index_ = false;
  if (terms_.size() > kMaxExactTerms) exact_by_index_ = false;
}

bool TextMatcher::Matches(const v1::Article& article) const {
  if (empty()) return true;
  const std::string norm = Normalize(SearchableText(article));
  // A CJK run holds only CJK characters, so any occurrence of it lies inside
  // one CJK run of the article: a plain substring search is exact.
  for (const std::string& run : runs_) {
    if (norm.find(run) == std::string::npos) return false;
  }
  for (const std::string& word : words_) {
    if (!HasWholeWord(norm, word)) return false;
  }
  return true;
}

bool TextMatcher::MatchesTokens(const std::vector<Token>& tokens) const {
  for (const std::string& word : words_) {
    if (std::none_of(tokens.begin(), tokens.end(), [&](const Token& t) {
          return t.kind == Token::Kind::kWord && t.text == word;
        }))
      return false;
  }
  for (const std::string& run : runs_) {
    if (std::none_of(tokens.begin(), tokens.end(), [&](const Token& t) {
          return t.kind == Token::Kind::kCjk &&
                 t.text.find(run) != std::string::npos;
        }))
      return false;
  }
  return true;
}

}  // namespace content::text
