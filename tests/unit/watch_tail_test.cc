// WatchTail: which reads it answers for watchers, and what it keeps.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/service/watch.h"

namespace content::service {
namespace {

std::vector<v1::ChangeEvent> Events(int64_t from, int64_t to,
                                    const std::string& id = "a") {
  std::vector<v1::ChangeEvent> out;
  for (int64_t s = from; s <= to; ++s) {
    v1::ChangeEvent& e = out.emplace_back();
    e.set_sequence(s);
    e.set_name(absl::StrCat("articles/", id));
    e.set_revision(s);
  }
  return out;
}

std::vector<int64_t> Sequences(const std::vector<v1::ChangeEvent>& events) {
  std::vector<int64_t> out;
  for (const v1::ChangeEvent& e : events) out.push_back(e.sequence());
  return out;
}

constexpr size_t kMiB = size_t{1} << 20;
const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

std::shared_ptr<const v1::Article> ArticleOf(size_t body) {
  auto a = std::make_shared<v1::Article>();
  a->set_body(std::string(body, 'x'));
  return a;
}

TEST(WatchTailTest, AnswersOnlyForWhatItHoldsEverythingAfter) {
  WatchTail tail(/*max_events=*/4, kMiB, absl::Seconds(5), /*through=*/10);
  // Nothing read yet: a watcher at the newest sequence has nothing new, one
  // further back or ahead reads the log itself.
  ASSERT_TRUE(tail.After(10, 100).has_value());
  EXPECT_TRUE(tail.After(10, 100)->empty());
  EXPECT_FALSE(tail.After(9, 100).has_value());
  EXPECT_FALSE(tail.After(11, 100).has_value());

  tail.Append(Events(11, 16));  // keeps 13..16
  EXPECT_EQ(tail.through(), 16);
  EXPECT_EQ(tail.events(), 4);
  EXPECT_FALSE(tail.After(11, 100).has_value());  // 12 is gone
  EXPECT_EQ(Sequences(*tail.After(12, 100)),
            (std::vector<int64_t>{13, 14, 15, 16}));
  EXPECT_EQ(Sequences(*tail.After(13, 2)), (std::vector<int64_t>{14, 15}));
  EXPECT_TRUE(tail.After(16, 100)->empty());

  // A failed read: no one is answered until the next one succeeds.
  tail.Invalidate();
  EXPECT_FALSE(tail.valid());
  EXPECT_FALSE(tail.After(16, 100).has_value());
  EXPECT_EQ(tail.NewestOf("a"), 0);
  tail.Append(Events(17, 17));
  EXPECT_TRUE(tail.valid());
  EXPECT_EQ(Sequences(*tail.After(15, 100)), (std::vector<int64_t>{16, 17}));
}

// Sequences have no gaps, so a hole means the log was trimmed past the
// tail: nobody before it may be handed events across it.
TEST(WatchTailTest, AHoleInTheLogEmptiesTheTail) {
  WatchTail tail(/*max_events=*/100, kMiB, absl::Seconds(5), /*through=*/10);
  tail.Append(Events(11, 12));
  tail.AddArticle(12, 12, ArticleOf(10), kT0);
  tail.Append(Events(20, 21, "b"));
  EXPECT_FALSE(tail.After(10, 100).has_value());
  EXPECT_FALSE(tail.After(12, 100).has_value());
  EXPECT_EQ(Sequences(*tail.After(19, 100)), (std::vector<int64_t>{20, 21}));
  EXPECT_EQ(tail.NewestOf("a"), 0);
  EXPECT_EQ(tail.FindArticle(12, 12, kT0), nullptr);
  EXPECT_EQ(tail.article_bytes(), size_t{0});

  // A restart skips what came before without reading it.
  tail.Restart(30);
  EXPECT_EQ(tail.through(), 30);
  EXPECT_FALSE(tail.After(21, 100).has_value());
  EXPECT_TRUE(tail.After(30, 100)->empty());
}

TEST(WatchTailTest, KeepsArticlesOfItsEventsWithinItsBytesAndTime) {
  WatchTail tail(/*max_events=*/3, /*max_article_bytes=*/3000, absl::Seconds(5),
                 /*through=*/0);
  tail.Append(Events(1, 2, "a"));
  tail.Append(Events(3, 3, "b"));
  EXPECT_EQ(tail.NewestOf("a"), 2);
  EXPECT_EQ(tail.NewestOf("b"), 3);
  EXPECT_EQ(tail.NewestOf("c"), 0);

  tail.AddArticle(2, 2, ArticleOf(1000), kT0);
  tail.AddArticle(3, 0, ArticleOf(1000), kT0);  // a head
  ASSERT_NE(tail.FindArticle(2, 2, kT0), nullptr);
  EXPECT_EQ(tail.FindArticle(2, 1, kT0), nullptr);  // another revision
  EXPECT_EQ(tail.FindArticle(3, 3, kT0), nullptr);  // not the head's key
  ASSERT_NE(tail.FindArticle(3, 0, kT0), nullptr);
  // Not for events outside the tail, nor bigger than it keeps.
  tail.AddArticle(4, 4, ArticleOf(10), kT0);
  EXPECT_EQ(tail.FindArticle(4, 4, kT0), nullptr);
  tail.AddArticle(1, 1, ArticleOf(5000), kT0);
  EXPECT_EQ(tail.FindArticle(1, 1, kT0), nullptr);
  // Past its bytes the oldest kept goes first.
  tail.AddArticle(1, 1, ArticleOf(1000), kT0);
  EXPECT_EQ(tail.FindArticle(2, 2, kT0), nullptr);
  EXPECT_NE(tail.FindArticle(3, 0, kT0), nullptr);
  EXPECT_NE(tail.FindArticle(1, 1, kT0), nullptr);
  EXPECT_LE(tail.article_bytes(), size_t{3000});
  // Retention can remove what is kept without an event: kept articles last
  // the TTL only.
  EXPECT_EQ(tail.FindArticle(3, 0, kT0 + absl::Seconds(5)), nullptr);
  EXPECT_NE(tail.FindArticle(3, 0, kT0 + absl::Seconds(4)), nullptr);
  // An event leaving the tail takes its article and its id's newest mark.
  tail.Append(Events(4, 5, "c"));  // keeps 3..5
  EXPECT_EQ(tail.FindArticle(1, 1, kT0), nullptr);
  EXPECT_EQ(tail.NewestOf("a"), 0);
  EXPECT_EQ(tail.NewestOf("b"), 3);
  EXPECT_NE(tail.FindArticle(3, 0, kT0), nullptr);
}

}  // namespace
}  // namespace content::service
