// Internal to contentd and its tools (not installed): a check yaml-cpp 0.7
// lacks. It reads a double- or single-quoted scalar that is never closed as
// running to the end of the input, so `title: "x` followed by `date: ...`
// parses as one title, and `data_dir: "/srv/x` as a path that swallows the
// rest of a config file.
#ifndef CONTENT_COMMON_YAML_QUOTES_H_
#define CONTENT_COMMON_YAML_QUOTES_H_

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>

#include <optional>
#include <string>

namespace content::internal {

// Where an unclosed quoted scalar opens, as yaml-cpp counts (from 0).
struct UnclosedQuote {
  int line = 0;
  int column = 0;
  char quote = '"';
};

// Parser events that check each quoted scalar for its closing quote; other
// events are ignored. A scalar's mark is its first token (a tag, an anchor
// or the opening quote); the closing quote is found by YAML's escapes.
// Not thread-safe; one per parse.
class QuoteCheck : public YAML::EventHandler {
 public:
  // `yaml` is the text being parsed and must outlive the check.
  explicit QuoteCheck(const std::string& yaml)
      : yaml_(yaml), bom_(yaml.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0) {}

  // The first quoted scalar that is not closed, if any.
  const std::optional<UnclosedQuote>& unclosed() const { return unclosed_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                const std::string&) override {
    // Plain scalars (tag "?") have no quotes to close.
    if (tag == "?" || unclosed_ || mark.pos < 0) return;
    // yaml-cpp counts positions after a UTF-8 byte order mark.
    size_t i = static_cast<size_t>(mark.pos) + bom_;
    // Skip a tag and an anchor (`!!str &a "x"`), and any comment after
    // them, to the scalar itself.
    while (i < yaml_.size() && (yaml_[i] == '!' || yaml_[i] == '&')) {
      while (i < yaml_.size() && !IsSpace(yaml_[i])) ++i;
      while (i < yaml_.size()) {
        if (IsSpace(yaml_[i])) {
          ++i;
        } else if (yaml_[i] == '#') {
          while (i < yaml_.size() && yaml_[i] != '\n') ++i;
        } else {
          break;
        }
      }
    }
    if (i >= yaml_.size()) return;
    const char quote = yaml_[i];
    if (quote != '"' && quote != '\'') return;
    for (++i; i < yaml_.size(); ++i) {
      const char c = yaml_[i];
      if (quote == '"' && c == '\\') {
        ++i;  // an escape: the next character cannot close the string
      } else if (c == quote) {
        // In single quotes '' is a quote inside the string.
        if (quote == '\'' && i + 1 < yaml_.size() && yaml_[i + 1] == '\'') {
          ++i;
        } else {
          return;
        }
      }
    }
    unclosed_ = UnclosedQuote{mark.line, mark.column, quote};
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  // "the double-quoted string opened here has no closing \"", for errors.
  static std::string Describe(const UnclosedQuote& u) {
    return u.quote == '"'
               ? "the double-quoted string opened here has no closing \""
               : "the single-quoted string opened here has no closing '";
  }

 private:
  static bool IsSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }

  const std::string& yaml_;
  const size_t bom_;  // 3 after a UTF-8 byte order mark, else 0
  std::optional<UnclosedQuote> unclosed_;
};

}  // namespace content::internal

#endif  // CONTENT_COMMON_YAML_QUOTES_H_
