// Tests for text analysis (server/text/tokenizer.h): normalization, token
// boundaries, index terms and the exact text match.

#include "server/text/tokenizer.h"

#include <unicode/bytestream.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "content/v1/article.pb.h"
#include "gtest/gtest.h"

namespace content::text {
namespace {

using Kind = Token::Kind;

std::vector<Token> T(std::vector<std::pair<Kind, std::string>> in) {
  std::vector<Token> out;
  for (auto& [k, s] : in) out.push_back({k, s});
  return out;
}

std::string Show(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens)
    out += (t.kind == Kind::kCjk ? "C:" : "W:") + t.text + " ";
  return out;
}

TEST(NormalizeTest, NfkcFoldsWidthCaseAndCompatibilityForms) {
  EXPECT_EQ(Normalize("ＡＢＣ１２３"), "abc123");  // full-width Latin, digits
  EXPECT_EQ(Normalize("ｶﾀｶﾅ"), "カタカナ");        // half-width katakana
  EXPECT_EQ(Normalize("Straße"), "strasse");       // full case folding
  EXPECT_EQ(Normalize("ﬁle"), "file");             // ligature
  EXPECT_EQ(Normalize("Ⅻ"), "xii");                // roman numeral
  EXPECT_EQ(Normalize("①"), "1");
  EXPECT_EQ(Normalize("e\xcc\x81"), "\xc3\xa9");  // e + U+0301 composes
  EXPECT_EQ(Normalize("ΣΊΣΥΦΟΣ"), "σίσυφοσ");
  EXPECT_EQ(Normalize("本地化部署"), "本地化部署");  // Han unchanged
  EXPECT_EQ(Normalize("，"), ",");                   // full-width comma
}

TEST(NormalizeTest, InvalidUtf8BecomesReplacementCharacter) {
  const std::string out =
      Normalize(std::string("a\xff"
                            "b\xe4\xb8",
                            5));
  EXPECT_EQ(out.substr(0, 1), "a");
  EXPECT_NE(out.find("\xef\xbf\xbd"), std::string::npos);
  // Tokenizing it must not crash and yields valid pieces.
  EXPECT_FALSE(Tokenize(std::string("\xc0\x80\xff", 3)).size() > 3);
}

TEST(TokenizeTest, LatinWordsAreCaseFoldedAndSplitOnPunctuation) {
  EXPECT_EQ(Tokenize("Hello, World! GPT-4o isn't"), T({{Kind::kWord, "hello"},
                                                       {Kind::kWord, "world"},
                                                       {Kind::kWord, "gpt"},
                                                       {Kind::kWord, "4o"},
                                                       {Kind::kWord, "isn"},
                                                       {Kind::kWord, "t"}}));
  EXPECT_EQ(
      Tokenize("ＤｅｅｐＳｅｅｋ　Ｒ１"),  // full-width, ideographic space
      T({{Kind::kWord, "deepseek"}, {Kind::kWord, "r1"}}));
  EXPECT_EQ(Tokenize("café naïve"),
            T({{Kind::kWord, "café"}, {Kind::kWord, "naïve"}}));
  EXPECT_TRUE(Tokenize(" ,.;!? — ").empty());
}

TEST(TokenizeTest, CjkRunsAndMixedScripts) {
  EXPECT_EQ(Tokenize("支持本地化部署。DeepSeek模型v3发布"),
            T({{Kind::kCjk, "支持本地化部署"},
               {Kind::kWord, "deepseek"},
               {Kind::kCjk, "模型"},
               {Kind::kWord, "v3"},
               {Kind::kCjk, "发布"}}))
      << Show(Tokenize("支持本地化部署。DeepSeek模型v3发布"));
  // Kana and Han in one run; the prolonged sound mark stays inside.
  EXPECT_EQ(Tokenize("東京タワーへ行く"),
            T({{Kind::kCjk, "東京タワーへ行く"}}));
  // Hangul, and CJK punctuation separates.
  EXPECT_EQ(Tokenize("한국어、테스트"),
            T({{Kind::kCjk, "한국어"}, {Kind::kCjk, "테스트"}}));
  // Full-width digits inside Chinese become ASCII words.
  EXPECT_EQ(Tokenize("２０２５年"),
            T({{Kind::kWord, "2025"}, {Kind::kCjk, "年"}}));
}

TEST(TokenizeTest, EveryLetterOfTheCommonCjkBlocksIsACjkToken) {
  // Classify answers these blocks without asking ICU; each code point must
  // still be what ICU's script and category say: a one-character CJK run.
  const std::vector<std::pair<UChar32, UChar32>> blocks = {
      {0x4e00, 0x9fff}, {0x3041, 0x3096}, {0x30a1, 0x30fa}, {0xac00, 0xd7a3}};
  for (const auto& [first, last] : blocks) {
    for (UChar32 c = first; c <= last; ++c) {
      std::string s;
      icu::StringByteSink<std::string> sink(&s);
      icu::UnicodeString(c).toUTF8(sink);
      ASSERT_TRUE(u_charType(c) == U_OTHER_LETTER &&
                  (uscript_hasScript(c, USCRIPT_HAN) ||
                   uscript_hasScript(c, USCRIPT_HIRAGANA) ||
                   uscript_hasScript(c, USCRIPT_KATAKANA) ||
                   uscript_hasScript(c, USCRIPT_HANGUL)))
          << std::hex << c;
      const std::vector<Token> tokens = Tokenize(s);
      ASSERT_EQ(tokens.size(), 1u) << std::hex << c;
      EXPECT_EQ(tokens[0].kind, Kind::kCjk) << std::hex << c;
    }
  }
}

TEST(IndexTermsTest, BigramsPlusUnigramsForArticlesBigramsForQueries) {
  const std::vector<Token> tokens = Tokenize("本地化 AI 中");
  EXPECT_EQ(
      IndexTerms(tokens, /*for_query=*/false),
      (std::vector<std::string>{"ai", "中", "化", "地", "地化", "本", "本地"}));
  EXPECT_EQ(IndexTerms(tokens, /*for_query=*/true),
            (std::vector<std::string>{"ai", "中", "地化", "本地"}));
  // Long words are cut on a character boundary.
  const std::string longword(70, 'x');
  std::vector<std::string> terms = IndexTerms(Tokenize(longword), false);
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0].size(), kMaxWordTermBytes);
  const std::string wide = std::string(63, 'a') + "é";  // é straddles 64
  terms = IndexTerms(Tokenize(wide), false);
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0], std::string(63, 'a'));
}

TEST(IndexTermsTest, ArticleTermsCoverTitleSummaryBodyNotAcrossFields) {
  v1::Article a;
  a.set_title("标题");
  a.set_summary("Summary");
  a.set_body("正文");
  const std::vector<std::string> terms = ArticleTerms(a);
  for (const char* want : {"标题", "summary", "正文", "标", "文"})
    EXPECT_NE(std::find(terms.begin(), terms.end(), want), terms.end()) << want;
  // No bigram across the title/body seam.
  EXPECT_EQ(std::find(terms.begin(), terms.end(), "题正"), terms.end());
}

// The definition of IndexTerms, written the slow and obvious way.
std::vector<std::string> ReferenceTerms(const std::vector<Token>& tokens,
                                        bool for_query) {
  std::set<std::string> terms;
  for (const Token& t : tokens) {
    if (t.kind == Kind::kWord) {
      size_t cut = std::min(t.text.size(), kMaxWordTermBytes);
      while (cut < t.text.size() &&
             (static_cast<unsigned char>(t.text[cut]) & 0xc0) == 0x80)
        --cut;
      terms.insert(t.text.substr(0, cut));
      continue;
    }
    std::vector<std::string> chars;
    for (size_t i = 0; i < t.text.size();) {
      size_t n = 1;
      while (i + n < t.text.size() &&
             (static_cast<unsigned char>(t.text[i + n]) & 0xc0) == 0x80)
        ++n;
      chars.push_back(t.text.substr(i, n));
      i += n;
    }
    for (size_t k = 0; k < chars.size(); ++k) {
      if (!for_query || chars.size() == 1) terms.insert(chars[k]);
      if (k + 1 < chars.size()) terms.insert(chars[k] + chars[k + 1]);
    }
  }
  return {terms.begin(), terms.end()};
}

// Pieces of 1 to 4 UTF-8 bytes, so terms fall on both sides of the 8-byte
// packing limit: ASCII, Latin with accents and combining marks, Han, kana,
// Hangul, full-width Latin, Han extension B (4 bytes), emoji and
// punctuation.
const std::vector<std::string>& MixedPieces() {
  static const auto* const kPieces =
      new std::vector<std::string>{"a",
                                   "Z",
                                   "7",
                                   " ",
                                   ".",
                                   "\xc3\xa9",
                                   "\xcc\x88",
                                   "\xe4\xb8\xad",
                                   "\xe6\x96\x87",
                                   "\xe3\x82\xab",
                                   "\xed\x95\x9c",
                                   "\xef\xbc\xa1",
                                   "\xf0\xa0\x80\x80",
                                   "\xf0\x9f\x98\x80",
                                   "\xe3\x80\x82",
                                   "q",
                                   "\xe5\x9b\xbd",
                                   "x"};
  return *kPieces;
}

TEST(IndexTermsTest, AgreesWithTheReferenceOnRandomMixedText) {
  const std::vector<std::string>& pieces = MixedPieces();
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int n = static_cast<int>(rng() % 120);
    for (int i = 0; i < n; ++i) {
      // Runs of one piece make long words and repeated bigrams.
      const std::string& p = pieces[rng() % pieces.size()];
      const int repeat = rng() % 8 == 0 ? static_cast<int>(rng() % 40) : 1;
      for (int r = 0; r < repeat; ++r) text += p;
    }
    const std::vector<Token> tokens = Tokenize(text);
    for (bool for_query : {false, true}) {
      ASSERT_EQ(IndexTerms(tokens, for_query),
                ReferenceTerms(tokens, for_query))
          << "text: " << text << " for_query " << for_query;
    }
  }
}

// `lines` joined by newlines, as a body.
std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" : "") + lines[i];
  return out;
}

// The sorted `x` without the sorted `y`.
std::vector<std::string> SetDifference(const std::vector<std::string>& x,
                                       const std::vector<std::string>& y) {
  std::vector<std::string> out;
  std::set_difference(x.begin(), x.end(), y.begin(), y.end(),
                      std::back_inserter(out));
  return out;
}

// ArticleTermChanges is exactly the difference of the two ArticleTerms,
// on random edits of random multi-line articles: lines appended, replaced,
// inserted, removed or edited inside, marks and full-width letters at line
// starts (NFKC and the tokenizer must not reach across a newline), and
// edits of the title and summary.
TEST(ArticleTermChangesTest, EqualsTheDifferenceOfBothArticlesTerms) {
  // Newlines twice as often as any other piece: many short lines.
  std::vector<std::string> pieces = MixedPieces();
  pieces.insert(pieces.end(), {"\n", "\n", "\n"});
  std::mt19937_64 rng(11);
  auto line = [&] {
    std::string out;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const std::string& p = pieces[rng() % pieces.size()];
      if (p != "\n") out += p;
    }
    return out;
  };
  auto text = [&](int lines) {
    std::vector<std::string> out;
    for (int i = 0; i < lines; ++i) out.push_back(line());
    return out;
  };
  const auto join = JoinLines;
  const auto diff = SetDifference;
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> body = text(static_cast<int>(rng() % 10));
    v1::Article before;
    before.set_title(line());
    before.set_summary(line());
    before.set_body(join(body));
    v1::Article after = before;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = body.empty() ? 0 : rng() % body.size();
      switch (rng() % 8) {
        case 0:
          body.push_back(line());
          break;
        case 1:
          if (!body.empty()) body[at] = line();
          break;
        case 2:
          body.insert(body.begin() + at, line());
          break;
        case 3:
          if (!body.empty()) body.erase(body.begin() + at);
          break;
        case 4:  // inside a line
          if (!body.empty())
            body[at].insert(rng() % (body[at].size() + 1),
                            pieces[rng() % pieces.size()]);
          break;
        case 5:  // a mark or a full-width letter opening a line
          body.insert(body.begin() + at,
                      (rng() % 2 ? "\xcc\x88" : "\xef\xbc\xa1") + line());
          break;
        case 6:
          after.set_title(line());
          break;
        default:
          after.set_summary(line());
      }
    }
    after.set_body(join(body));
    const std::vector<std::string> was = ArticleTerms(before);
    const std::vector<std::string> now = ArticleTerms(after);
    const TermChanges got = ArticleTermChanges(before, after);
    ASSERT_EQ(got.left, diff(was, now))
        << "before: " << before.body() << "\nafter: " << after.body();
    ASSERT_EQ(got.joined, diff(now, was))
        << "before: " << before.body() << "\nafter: " << after.body();
  }
}

// TruncateWord cuts a word on a character boundary: 63 `a` then `é`
// (2 bytes, straddling byte 64) give the 63-byte term of 63 `a`, which is
// not a whole word of the text. Dropping one of two lines whose words share
// that term keeps the term.
TEST(ArticleTermChangesTest, CutTermsAreComparedAsTerms) {
  const std::string a63(63, 'a');
  const std::string w = a63 + "ébc";   // term: 63 `a`
  const std::string w2 = a63 + "ébd";  // the same term
  v1::Article before;
  before.set_title("t");
  before.set_body(w + "\nx\n" + w2);
  v1::Article after = before;
  after.set_body(w + "\nx\ny");
  ASSERT_EQ(ArticleTerms(after),
            (std::vector<std::string>{a63, "t", "x", "y"}));
  TermChanges got = ArticleTermChanges(before, after);
  EXPECT_EQ(got.left, std::vector<std::string>{});
  EXPECT_EQ(got.joined, std::vector<std::string>{"y"});
  // And back: `y` leaves, the cut term stays.
  got = ArticleTermChanges(after, before);
  EXPECT_EQ(got.left, std::vector<std::string>{"y"});
  EXPECT_EQ(got.joined, std::vector<std::string>{});
}

// As EqualsTheDifferenceOfBothArticlesTerms, on lines of words near the
// term limit: terms of 58 to 64 bytes, some cut from longer words, some
// whole words, shared by several lines or not.
TEST(ArticleTermChangesTest, EqualsTheDifferenceOnWordsNearTheTermLimit) {
  // A character of 1 to 4 bytes (a, é, Samaritan alaf, Linear B a) after a
  // run of `a` long enough for the cut to land before, inside or after it;
  // the combining diaeresis composes with a preceding `a` (NFKC).
  const std::vector<std::string> chars = {"a", "\xc3\xa9", "\xe0\xa0\x80",
                                          "\xf0\x90\x80\x80", "\xcc\x88"};
  const std::vector<std::string> tails = {"", "", "b", "c", "bc"};
  std::mt19937_64 rng(13);
  auto word = [&] {
    std::string out(58 + rng() % 8, 'a');
    if (rng() % 4 != 0) out += chars[rng() % chars.size()];
    out += tails[rng() % tails.size()];
    return out;
  };
  auto line = [&] {
    std::string out;
    const int n = static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += rng() % 2 ? " " : "\xe4\xb8\xad";  // space or Han
      out += rng() % 4 == 0 ? std::string(1, 'x' + rng() % 3) : word();
    }
    return out;
  };
  const auto join = JoinLines;
  const auto diff = SetDifference;
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> body;
    for (int i = static_cast<int>(rng() % 7); i > 0; --i)
      body.push_back(line());
    v1::Article before;
    before.set_title("t");
    before.set_body(join(body));
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = body.empty() ? 0 : rng() % body.size();
      switch (rng() % 4) {
        case 0:
          body.push_back(line());
          break;
        case 1:
          if (!body.empty()) body[at] = line();
          break;
        case 2:
          body.insert(body.begin() + at, line());
          break;
        default:
          if (!body.empty()) body.erase(body.begin() + at);
      }
    }
    v1::Article after = before;
    after.set_body(join(body));
    const std::vector<std::string> was = ArticleTerms(before);
    const std::vector<std::string> now = ArticleTerms(after);
    const TermChanges got = ArticleTermChanges(before, after);
    ASSERT_EQ(got.left, diff(was, now))
        << "before: " << before.body() << "\nafter: " << after.body();
    ASSERT_EQ(got.joined, diff(now, was))
        << "before: " << before.body() << "\nafter: " << after.body();
  }
}

v1::Article Doc(const std::string& body) {
  v1::Article a;
  a.set_title("t");
  a.set_body(body);
  return a;
}

TEST(TextMatcherTest, CjkRunsMustBeContiguous) {
  TextMatcher m("本地化部署");
  EXPECT_FALSE(m.empty());
  EXPECT_FALSE(m.exact_by_index());
  EXPECT_EQ(m.terms(),
            (std::vector<std::string>{"化部", "地化", "本地", "部署"}));
  EXPECT_TRUE(m.Matches(Doc("我们支持本地化部署方案")));
  // Every bigram present, but never the phrase.
  EXPECT_FALSE(m.Matches(Doc("本地化工作由文化部门部署")));
  EXPECT_FALSE(m.Matches(Doc("本地化，部署")));  // punctuation breaks it
  EXPECT_TRUE(m.Matches(Doc("本地化部署")));
  // Full-width query text finds half-width articles and back.
  EXPECT_TRUE(TextMatcher("ＡＩ本地化").Matches(Doc("ai 本地化")));
  EXPECT_TRUE(TextMatcher("ai").Matches(Doc("ＡＩ")));
}

TEST(TextMatcherTest, WordsMatchWholeWordsInAnyOrder) {
  TextMatcher m("Rust database");
  EXPECT_TRUE(m.exact_by_index());
  EXPECT_TRUE(m.Matches(Doc("A DATABASE written in rust.")));
  EXPECT_FALSE(m.Matches(Doc("rusty databases")));
  EXPECT_FALSE(m.Matches(Doc("rust only")));
  // A word touching CJK is still a whole word; touching letters is not.
  EXPECT_TRUE(TextMatcher("gpt").Matches(Doc("用GPT模型")));
  EXPECT_FALSE(TextMatcher("gpt").Matches(Doc("chatgpt")));
  // A mark after the word makes it another word.
  EXPECT_FALSE(TextMatcher("cafe").Matches(Doc("cafe\xcc\x88")));
  // Single CJK characters match anywhere.
  EXPECT_TRUE(TextMatcher("化").Matches(Doc("本地化部署")));
  EXPECT_TRUE(TextMatcher("化").exact_by_index());
  EXPECT_TRUE(TextMatcher("").empty());
  EXPECT_TRUE(TextMatcher("!!").empty());
}

// A query word as long as a cut term (kMaxWordTermBytes - 3 bytes or more)
// may be the term of a longer word, which holds the term but not the word:
// such queries are verified. Shorter words still need no verification.
TEST(TextMatcherTest, WordsAsLongAsACutTermAreVerified) {
  EXPECT_TRUE(
      TextMatcher(std::string(kMaxWordTermBytes - 4, 'a')).exact_by_index());
  for (size_t n = kMaxWordTermBytes - 3; n <= kMaxWordTermBytes + 6; ++n)
    EXPECT_FALSE(TextMatcher(std::string(n, 'a')).exact_by_index()) << n;
  // An article holding 70 `a` has the term of 64 `a` but not the word.
  const v1::Article a = Doc(std::string(70, 'a'));
  const TextMatcher m(std::string(kMaxWordTermBytes, 'a'));
  const std::vector<std::string> have = ArticleTerms(a);
  ASSERT_EQ(m.terms().size(), 1u);
  EXPECT_TRUE(std::binary_search(have.begin(), have.end(), m.terms()[0]));
  EXPECT_FALSE(m.Matches(a));
}

// exact_by_index's contract on words near the term limit: whenever an
// article holds every term of a query that needs no verification, it
// matches. Words are runs of `a` of 56 to 70 bytes, some continued by a
// character of 2 to 4 bytes that the cut may split, and queries are such
// words and the articles' own words.
TEST(TextMatcherTest, ExactByIndexHoldsOnWordsNearTheTermLimit) {
  const std::vector<std::string> chars = {"", "\xc3\xa9", "\xe0\xa0\x80",
                                          "\xf0\x90\x80\x80"};
  std::mt19937_64 rng(17);
  auto word = [&] {
    return std::string(56 + rng() % 15, 'a') + chars[rng() % chars.size()] +
           (rng() % 2 ? "b" : "");
  };
  int exact = 0, checked = 0;
  for (int round = 0; round < 2000; ++round) {
    const v1::Article a = Doc(word() + " " + word());
    const std::vector<std::string> have = ArticleTerms(a);
    std::vector<std::string> queries = {word(), word()};
    for (const Token& t : Tokenize(a.body())) queries.push_back(t.text);
    for (const std::string& q : queries) {
      const TextMatcher m(q);
      exact += m.exact_by_index();
      if (!m.exact_by_index()) continue;
      if (!std::includes(have.begin(), have.end(), m.terms().begin(),
                         m.terms().end()))
        continue;
      ++checked;
      EXPECT_TRUE(m.Matches(a)) << a.body() << " / " << q;
    }
  }
  EXPECT_GT(exact, 0);
  EXPECT_GT(checked, 0);
}

TEST(TextMatcherTest, MatchesAgreesWithMatchesTokensAndTerms) {
  // Whenever the text matches, the article holds every query term.
  const std::vector<std::string> docs = {"支持本地化部署。DeepSeek模型v3",
                                         "本地 化部 部署",
                                         "Rust 数据库 引擎",
                                         "東京タワーへ行く",
                                         "ｒｕｓｔ引擎",
                                         "cafe\xcc\x88 au lait"};
  const std::vector<std::string> queries = {
      "本地化部署",    "本地",      "rust", "数据库引擎", "タワー",
      "deepseek 部署", "引擎 rust", "café", "au",         "v3"};
  for (const std::string& d : docs) {
    const v1::Article a = Doc(d);
    const std::vector<std::string> have = ArticleTerms(a);
    for (const std::string& q : queries) {
      TextMatcher m(q);
      const bool match = m.Matches(a);
      EXPECT_EQ(match, m.MatchesTokens(Tokenize(SearchableText(a))))
          << d << " / " << q;
      if (!match) continue;
      for (const std::string& t : m.terms())
        EXPECT_TRUE(std::binary_search(have.begin(), have.end(), t))
            << d << " / " << q << " lacks " << t;
    }
  }
}

}  // namespace
}  // namespace content::text
