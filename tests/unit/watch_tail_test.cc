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

// Heads are kept under the article's newest event in the tail, for the
// watchers up to it. A watcher ahead of the tail (it read its event from the
// log before the hub's refresh did) must read the head anew: the kept one
// can be older than its event. Events of "a" write revision = sequence.
TEST(WatchTailTest, AHeadIsNeverOlderThanTheWatchersEvent) {
  WatchTail tail(/*max_events=*/100, kMiB, absl::Seconds(5), /*through=*/0);
  int64_t head_revision = 2;  // the store's head of "a"
  int reads = 0;
  auto read = [&]() -> absl::StatusOr<v1::Article> {
    ++reads;
    v1::Article a;
    a.set_revision(head_revision);
    return a;
  };
  auto revision_of =
      [](const absl::StatusOr<std::shared_ptr<const v1::Article>>& head) {
        EXPECT_TRUE(head.ok()) << head.status();
        return head.ok() ? (*head)->revision() : -1;
      };
  tail.Append(Events(1, 2));
  // Watchers up to the newest event share one read.
  EXPECT_EQ(revision_of(tail.Head(2, "a", kT0, read)), 2);
  EXPECT_EQ(revision_of(tail.Head(1, "a", kT0, read)), 2);
  EXPECT_EQ(reads, 1);

  // Revision 3 commits; a watcher reads event 3 before the tail has it.
  head_revision = 3;
  EXPECT_EQ(revision_of(tail.Head(3, "a", kT0, read)), 3);
  EXPECT_EQ(reads, 2);
  // The tail's own watchers keep what they had.
  EXPECT_EQ(revision_of(tail.Head(2, "a", kT0, read)), 2);
  EXPECT_EQ(reads, 2);
  // Once the tail has event 3, its watchers share a read again.
  tail.Append(Events(3, 3));
  EXPECT_EQ(revision_of(tail.Head(3, "a", kT0, read)), 3);
  EXPECT_EQ(revision_of(tail.Head(2, "a", kT0, read)), 3);
  EXPECT_EQ(reads, 3);

  // Revision 4 commits and the tail takes event 4; while a watcher at
  // event 4 reads the head, revision 5 commits and the tail takes it too.
  // The head read (revision 4) is kept for event 4, not for 5.
  head_revision = 4;
  tail.Append(Events(4, 4));
  auto racing = [&]() -> absl::StatusOr<v1::Article> {
    absl::StatusOr<v1::Article> a = read();
    head_revision = 5;
    tail.Append(Events(5, 5));
    return a;
  };
  EXPECT_EQ(revision_of(tail.Head(4, "a", kT0, racing)), 4);
  EXPECT_EQ(revision_of(tail.Head(5, "a", kT0, read)), 5);
  EXPECT_EQ(revision_of(tail.Head(4, "a", kT0, read)), 5);
  EXPECT_EQ(reads, 5);

  // A failed read is the watcher's error, and nothing is kept.
  tail.Append(Events(6, 6));
  EXPECT_EQ(tail.Head(6, "a", kT0,
                      []() -> absl::StatusOr<v1::Article> {
                        return absl::UnavailableError("injected");
                      })
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  head_revision = 6;
  EXPECT_EQ(revision_of(tail.Head(6, "a", kT0, read)), 6);
  EXPECT_EQ(reads, 6);
}

}  // namespace
}  // namespace content::service
