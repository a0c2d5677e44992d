#include "server/text/tokenizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>

#include "absl/container/flat_hash_set.h"
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
  // The common CJK blocks first: CJK Unified Ideographs, Hiragana and
  // Katakana letters, Hangul syllables (all letters of those scripts).
  if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3041 && c <= 0x3096) ||
      (c >= 0x30a1 && c <= 0x30fa) || (c >= 0xac00 && c <= 0xd7a3))
    return Class::kCjk;
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

absl::string_view TruncateWord(absl::string_view word) {
  if (word.size() <= kMaxWordTermBytes) return word;
  size_t cut = kMaxWordTermBytes;
  // Back up to a character boundary (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(word[cut]) & 0xc0) == 0x80)
    --cut;
  return word.substr(0, cut);
}

// The shortest term TruncateWord cuts a word to: it backs up at most three
// bytes (a UTF-8 character has at most four). Any word term of this many
// bytes or more may stand for a longer word (one continued by a character
// that crosses byte kMaxWordTermBytes), so it shows only that some word
// starts with it; a shorter word term is the whole word.
constexpr size_t kMinCutTermBytes = kMaxWordTermBytes - 3;

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

// Whether a text's normalized form shows that `term` (an index term) is
// one of its terms without cutting it into tokens: a word term shorter
// than kMinCutTermBytes (so no cut of a longer word) of word characters
// only is a term exactly where it occurs as a whole word; a term of one or
// two CJK letters exactly where it occurs at all (such letters only occur
// inside CJK runs, and two adjacent ones are a bigram of their run).
enum class Findable { kWord, kCjk, kNo };
Findable FindableClass(absl::string_view term) {
  int32_t i = 0, chars = 0;
  const int32_t n = static_cast<int32_t>(term.size());
  Class all = Class::kSeparator;
  while (i < n) {
    UChar32 c;
    U8_NEXT(term.data(), i, n, c);
    const Class k = c < 0 ? Class::kSeparator : Classify(c);
    if (k != Class::kWord && k != Class::kCjk) return Findable::kNo;
    if (chars++ > 0 && k != all) return Findable::kNo;
    all = k;
  }
  if (chars == 0) return Findable::kNo;
  if (all == Class::kWord)
    return term.size() < kMinCutTermBytes ? Findable::kWord : Findable::kNo;
  return chars <= 2 ? Findable::kCjk : Findable::kNo;
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
  // Nearly all text is valid: check first, copy only when it is not.
  {
    int32_t i = 0;
    const int32_t len = static_cast<int32_t>(out.size());
    UChar32 c = 0;
    while (i < len && c >= 0) U8_NEXT(out.data(), i, len, c);
    if (c >= 0) return out;
  }
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
  tokens.reserve(norm.size() / 6 + 1);
  // A token is one contiguous range of the normalized text (marks join the
  // open token and are dropped otherwise), copied out once when it closes.
  Token::Kind kind = Token::Kind::kWord;
  int32_t open = -1, end = 0;  // the open token's range; open < 0: none
  auto close = [&] {
    if (open < 0) return;
    Token& t = tokens.emplace_back();
    t.kind = kind;
    t.text.assign(norm, static_cast<size_t>(open),
                  static_cast<size_t>(end - open));
    open = -1;
  };
  int32_t i = 0;
  const int32_t len = static_cast<int32_t>(norm.size());
  while (i < len) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(norm.data(), i, len, c);
    const Class k = c < 0 ? Class::kSeparator : Classify(c);
    if (k == Class::kMark) {
      // A combining mark belongs to the token it follows.
      if (open >= 0) end = i;
      continue;
    }
    const Token::Kind kk =
        k == Class::kCjk ? Token::Kind::kCjk : Token::Kind::kWord;
    if (open >= 0 && (k == Class::kSeparator || kk != kind)) close();
    if (k == Class::kSeparator) continue;
    if (open < 0) {
      kind = kk;
      open = start;
    }
    end = i;
  }
  close();
  return tokens;
}

std::vector<std::string> IndexTerms(const std::vector<Token>& tokens,
                                    bool for_query) {
  // A 2 KiB CJK body yields about 1,400 terms with repeats and 200-500
  // distinct ones. Nearly all are at most 8 bytes (a CJK character is 3,
  // a bigram 6), and such a term packs into a big-endian integer padded
  // with zero bytes: normalized text holds no NUL, so integer order is the
  // strings' byte order and equal integers are equal terms. Sorting those
  // integers replaced sorting string views (memcmp per comparison), which
  // was about a quarter of an update's CPU with the text index on.
  std::vector<uint64_t> packed;
  std::vector<absl::string_view> longer;
  size_t expect = 0;  // a word gives a term, a CJK character two
  for (const Token& t : tokens)
    expect += t.kind == Token::Kind::kWord ? 1 : t.text.size() / 3 * 2 + 1;
  packed.reserve(expect);
  auto add = [&](absl::string_view v) {
    if (v.size() > 8) {
      longer.push_back(v);
      return;
    }
    if (v.empty()) return;
    uint64_t k = 0;
    for (char c : v) k = (k << 8) | static_cast<unsigned char>(c);
    if (v.size() < 8) k <<= 8 * (8 - v.size());
    packed.push_back(k);
  };
  for (const Token& t : tokens) {
    const absl::string_view text = t.text;
    if (t.kind == Token::Kind::kWord) {
      add(TruncateWord(text));
      continue;
    }
    // Walk the run once, remembering where the previous character began.
    // Queries keep single characters only of one-character runs.
    const int32_t n = static_cast<int32_t>(text.size());
    const bool one_char = U8_COUNT_TRAIL_BYTES(text[0]) + 1 >= n;
    const bool single = !for_query || one_char;
    int32_t prev = -1, at = 0;
    while (at < n) {
      int32_t next = at;
      UChar32 c;
      U8_NEXT(text.data(), next, n, c);
      if (single) add(text.substr(at, next - at));
      if (prev >= 0) add(text.substr(prev, next - prev));
      prev = at;
      at = next;
    }
  }
  // Most terms repeat: drop repeats through a hash set, sort the rest.
  {
    absl::flat_hash_set<uint64_t> distinct(packed.begin(), packed.end());
    packed.assign(distinct.begin(), distinct.end());
  }
  std::sort(packed.begin(), packed.end());
  std::sort(longer.begin(), longer.end());
  longer.erase(std::unique(longer.begin(), longer.end()), longer.end());
  // Merge the two sorted runs (a long term never equals a packed one).
  std::vector<std::string> terms;
  terms.reserve(packed.size() + longer.size());
  auto unpack = [](uint64_t k, char* buf) {
    size_t len = 0;
    for (int shift = 56; shift >= 0; shift -= 8) {
      const char c = static_cast<char>((k >> shift) & 0xff);
      if (c == 0) break;
      buf[len++] = c;
    }
    return absl::string_view(buf, len);
  };
  char buf[8];
  size_t i = 0, j = 0;
  while (i < packed.size() || j < longer.size()) {
    if (i == packed.size()) {
      terms.emplace_back(longer[j++]);
      continue;
    }
    const absl::string_view p = unpack(packed[i], buf);
    if (j == longer.size() || p < longer[j]) {
      terms.emplace_back(p);
      ++i;
    } else {
      terms.emplace_back(longer[j++]);
    }
  }
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

TermChanges ArticleTermChanges(const v1::Article& before,
                               const v1::Article& after) {
  const std::string a = SearchableText(before);
  const std::string b = SearchableText(after);
  // The longest common start and the longest common end (not overlapping
  // it) that are whole lines in both texts: each stops at a newline or at
  // the text's edge on both of its sides. Tokens never cross a newline,
  // and NFKC never composes across one (U+000A is a starter that composes
  // with nothing), so a text's terms are those of its shared lines plus
  // those of its middle. (An appended line leaves the old last line
  // shared: it ends the old text and meets a newline in the new one.)
  auto splits_at = [](absl::string_view t, size_t p) {
    return p == 0 || p == t.size() || t[p - 1] == '\n' || t[p] == '\n';
  };
  const size_t limit = std::min(a.size(), b.size());
  size_t start = 0;
  while (start < limit && a[start] == b[start]) ++start;
  while (start > 0 && !(splits_at(a, start) && splits_at(b, start))) --start;
  size_t end = 0;  // bytes of the common end
  while (end < limit - start && a[a.size() - 1 - end] == b[b.size() - 1 - end])
    ++end;
  while (end > 0 &&
         !(splits_at(a, a.size() - end) && splits_at(b, b.size() - end)))
    --end;
  auto terms = [](absl::string_view text) {
    return IndexTerms(Tokenize(text), /*for_query=*/false);
  };
  const std::vector<std::string> was =
      terms(absl::string_view(a).substr(start, a.size() - end - start));
  const std::vector<std::string> now =
      terms(absl::string_view(b).substr(start, b.size() - end - start));
  TermChanges out;
  std::set_difference(was.begin(), was.end(), now.begin(), now.end(),
                      std::back_inserter(out.left));
  std::set_difference(now.begin(), now.end(), was.begin(), was.end(),
                      std::back_inserter(out.joined));
  if (out.left.empty() && out.joined.empty()) return out;
  if (start == 0 && end == 0) return out;  // nothing shared
  // A term that only one middle holds changes unless a shared line holds
  // it too. Most such terms are short words or CJK characters and bigrams,
  // whose presence the normalized shared text shows without cutting it
  // into terms (as TextMatcher::Matches decides); any other term has the
  // shared lines tokenized.
  const std::string shared_text =
      absl::StrCat(absl::string_view(a).substr(0, start), "\n",
                   absl::string_view(a).substr(a.size() - end));
  const std::string norm = Normalize(shared_text);
  std::optional<std::vector<std::string>> shared;
  auto is_shared = [&](const std::string& term) {
    switch (FindableClass(term)) {
      case Findable::kWord:
        return HasWholeWord(norm, term);
      case Findable::kCjk:
        return norm.find(term) != std::string::npos;
      case Findable::kNo:
        break;
    }
    if (!shared.has_value()) shared = terms(shared_text);
    return std::binary_search(shared->begin(), shared->end(), term);
  };
  auto drop_shared = [&](std::vector<std::string>* v) {
    v->erase(std::remove_if(v->begin(), v->end(), is_shared), v->end());
  };
  drop_shared(&out.left);
  drop_shared(&out.joined);
  return out;
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
  // A word as long as a cut term shares its term with longer words.
  for (const std::string& w : words_)
    if (w.size() >= kMinCutTermBytes) exact_by_index_ = false;
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
