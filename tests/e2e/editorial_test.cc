// End-to-end tests of the editorial workflow (issue 8) against a real
// contentd with a fake clock (--clock-file): drafts and schedules as
// readers and editors see them in reads, queries and Watch; revision diff
// and restore; translation groups and language fallback.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "content/markdown.h"
#include "content/v1/content_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::AuthConfigYaml;
using ::content::testing::ReadFile;
using ::content::testing::ServerProcess;
using ::content::testing::SourceDir;
using ::content::testing::TempDir;
using ::content::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using v1::ChangeEvent;

// 2030-01-01T00:00:00Z, where the fake clock starts.
constexpr int64_t kT0 = 1893456000;

// A contentd with a reader and an editor token and a fake clock.
class EditorialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_file_ = dir_.path() + "/clock";
    SetClock(kT0);
    const std::string config = dir_.path() + "/contentd.yaml";
    WriteFile(config, AuthConfigYaml({{"r", "reader", "reader-token"},
                                      {"e", "editor", "editor-token"}}));
    server_ =
        ServerProcess::Start(dir_.path() + "/data",
                             {"--config", config, "--clock-file", clock_file_});
    ASSERT_NE(server_, nullptr);
    Connect();
  }

  void Connect() {
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::ContentService::NewStub(channel_);
  }

  void SetClock(int64_t seconds) {
    WriteFile(clock_file_, absl::FormatTime(absl::RFC3339_full,
                                            absl::FromUnixSeconds(seconds),
                                            absl::UTCTimeZone()) +
                               "\n");
  }

  std::unique_ptr<grpc::ClientContext> Context(bool editor) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization",
                     editor ? "Bearer editor-token" : "Bearer reader-token");
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(10));
    return ctx;
  }

  v1::Article Create(const std::string& id, v1::Article a) {
    v1::CreateArticleRequest req;
    req.set_article_id(id);
    *req.mutable_article() = std::move(a);
    v1::Article out;
    grpc::Status s = stub_->CreateArticle(Context(true).get(), req, &out);
    EXPECT_TRUE(s.ok()) << id << ": code " << s.error_code() << ": "
                        << s.error_message() << "\n"
                        << server_->Log();
    return out;
  }

  v1::Article Update(v1::Article a) {
    v1::UpdateArticleRequest req;
    *req.mutable_article() = std::move(a);
    v1::Article out;
    grpc::Status s = stub_->UpdateArticle(Context(true).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  grpc::Status Get(const std::string& id, bool editor, bool all,
                   v1::Article* out, const std::string& lang = "",
                   std::vector<std::string> fallback = {}) {
    v1::GetArticleRequest req;
    req.set_name("articles/" + id);
    if (all) req.set_visibility(v1::VISIBILITY_ALL);
    req.set_lang(lang);
    for (auto& f : fallback) req.add_fallback_langs(f);
    return stub_->GetArticle(Context(editor).get(), req, out);
  }

  // Ids of one page of `q`.
  std::vector<std::string> Query(v1::Query q, bool editor,
                                 grpc::Status* status = nullptr) {
    v1::QueryArticlesRequest req;
    *req.mutable_query() = std::move(q);
    req.set_page_size(100);
    v1::QueryArticlesResponse resp;
    grpc::Status s = stub_->QueryArticles(Context(editor).get(), req, &resp);
    if (status != nullptr)
      *status = s;
    else
      EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const auto& a : resp.articles()) ids.push_back(a.name().substr(9));
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  TempDir dir_;
  std::string clock_file_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContentService::Stub> stub_;
};

// Reads one watch stream on its own thread.
class Watcher {
 public:
  Watcher(v1::ContentService::Stub* stub, bool editor, int64_t after,
          const v1::Query& filter = v1::Query()) {
    ctx_.AddMetadata("authorization",
                     editor ? "Bearer editor-token" : "Bearer reader-token");
    v1::WatchArticlesRequest req;
    req.set_after_sequence(after);
    *req.mutable_filter() = filter;
    if (editor) req.mutable_filter()->set_visibility(v1::VISIBILITY_ALL);
    reader_ = stub->WatchArticles(&ctx_, req);
    thread_ = std::thread([this] {
      v1::WatchArticlesResponse r;
      while (reader_->Read(&r)) {
        absl::MutexLock lock(&mu_);
        responses_.push_back(r);
      }
    });
  }
  ~Watcher() {
    ctx_.TryCancel();
    thread_.join();
  }
  // Waits up to `timeout` for `n` responses; returns what arrived.
  std::vector<v1::WatchArticlesResponse> WaitFor(
      size_t n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return responses_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return responses_;
  }
  // "TYPE name" of each event.
  std::vector<std::string> Events(size_t n,
                                  absl::Duration timeout = absl::Seconds(10)) {
    std::vector<std::string> out;
    for (const auto& r : WaitFor(n, timeout)) {
      out.push_back(absl::StrCat(ChangeEvent::Type_Name(r.event().type()), " ",
                                 r.event().name().substr(9)));
    }
    return out;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::WatchArticlesResponse>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<v1::WatchArticlesResponse> responses_ ABSL_GUARDED_BY(mu_);
};

v1::Article Article(const std::string& title,
                    std::vector<std::string> langs = {}) {
  v1::Article a;
  a.set_title(title);
  a.add_tags("news");
  a.mutable_date()->set_seconds(kT0 - 86400);
  a.set_body("body of " + title + "\n");
  for (auto& l : langs) a.add_lang(l);
  return a;
}

TEST_F(EditorialTest, SchedulePublishAndExpiryAsReadersAndEditorsSeeThem) {
  Watcher reader_watch(stub_.get(), /*editor=*/false, 0);
  Watcher editor_watch(stub_.get(), /*editor=*/true, 0);

  v1::Article sched = Article("scheduled");
  sched.mutable_publish_time()->set_seconds(kT0 + 3600);
  sched.mutable_expiry_time()->set_seconds(kT0 + 7200);
  Create("sched", sched);
  v1::Article draft = Article("draft");
  draft.set_state(v1::Article::DRAFT);
  draft = Create("draft", draft);
  Create("live", Article("live"));

  // Reads: readers see the live one only; editors ask for everything.
  v1::Article got;
  EXPECT_EQ(Get("sched", false, false, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get("draft", true, false, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);  // editors too, unless they ask
  EXPECT_TRUE(Get("draft", true, true, &got).ok());
  EXPECT_EQ(got.state(), v1::Article::DRAFT);
  EXPECT_EQ(Get("draft", false, true, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Get("live", false, false, &got).ok());

  v1::Query q;
  q.add_tags("news");
  EXPECT_THAT(Query(q, false), ElementsAre("live"));
  v1::Query all = q;
  all.set_visibility(v1::VISIBILITY_ALL);
  EXPECT_THAT(Query(all, true), ElementsAre("draft", "live", "sched"));
  grpc::Status status;
  Query(all, false, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::Query drafts = all;
  drafts.add_states(v1::Article::DRAFT);
  EXPECT_THAT(Query(drafts, true), ElementsAre("draft"));
  v1::Query bad = q;
  bad.add_states(v1::Article::DRAFT);
  Query(bad, true, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("query.states[0]"));
  v1::Query scheduled = all;
  scheduled.mutable_publish_time_from()->set_seconds(kT0);
  EXPECT_THAT(Query(scheduled, true), ElementsAre("sched"));

  // The publish time comes: readers' watch gets the publish, reads see it.
  SetClock(kT0 + 3600 + 30);
  std::vector<std::string> events = reader_watch.Events(2);
  EXPECT_THAT(events, ElementsAre("TYPE_CREATED live", "TYPE_PUBLISHED sched"));
  EXPECT_TRUE(Get("sched", false, false, &got).ok());
  EXPECT_THAT(Query(q, false), ElementsAre("live", "sched"));

  // Expiry.
  SetClock(kT0 + 7200 + 30);
  events = reader_watch.Events(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2], "TYPE_UNPUBLISHED sched");
  EXPECT_EQ(Get("sched", false, false, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // An editor publishes the draft: a publish for readers, an update for
  // editors; and archiving the live one hides it without its content.
  draft.set_state(v1::Article::PUBLISHED);
  Update(draft);
  Get("live", true, false, &got);
  got.set_state(v1::Article::ARCHIVED);
  Update(got);
  std::vector<v1::WatchArticlesResponse> rs = reader_watch.WaitFor(5);
  ASSERT_EQ(rs.size(), 5u);
  EXPECT_EQ(rs[3].event().type(), ChangeEvent::TYPE_PUBLISHED);
  EXPECT_EQ(rs[3].article().title(), "draft");
  EXPECT_EQ(rs[4].event().type(), ChangeEvent::TYPE_UNPUBLISHED);
  EXPECT_FALSE(rs[4].has_article());  // the archived content stays hidden
  EXPECT_THAT(editor_watch.Events(7),
              ElementsAre("TYPE_CREATED sched", "TYPE_CREATED draft",
                          "TYPE_CREATED live", "TYPE_PUBLISHED sched",
                          "TYPE_UNPUBLISHED sched", "TYPE_UPDATED draft",
                          "TYPE_UPDATED live"));

  // After a restart the schedule does not fire again.
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  Connect();
  SetClock(kT0 + 9000);
  Create("after", Article("after"));
  Watcher again(stub_.get(), /*editor=*/true, 0);
  EXPECT_EQ(again.Events(8).size(), 8u);
  // Nothing more within twice the scheduler's poll interval.
  EXPECT_EQ(again.Events(9, absl::Seconds(2)).size(), 8u);
}

// The test clock caught while a test rewrites it (truncated, not yet
// written) keeps the last time read. The real clock, years before kT0,
// stamped writes with it and looked to the scheduler like a clock set
// back: the publish and expiry passed fired again (a ninth event above).
TEST_F(EditorialTest, AClockFileCaughtMidRewriteKeepsItsLastTime) {
  SetClock(kT0 + 60);
  Create("first", Article("first"));  // the clock file read at kT0 + 60
  WriteFile(clock_file_, "");         // as a rewrite's truncation leaves it
  v1::Article a = Create("second", Article("second"));
  EXPECT_EQ(a.create_time().seconds(), kT0 + 60);
  WriteFile(clock_file_, "2030-01-01T00:0");  // half written
  a = Create("third", Article("third"));
  EXPECT_EQ(a.create_time().seconds(), kT0 + 60);
  SetClock(kT0 + 120);
  a = Create("fourth", Article("fourth"));
  EXPECT_EQ(a.create_time().seconds(), kT0 + 120);
}

// The test clock is first read at start, before anything is served: the
// scheduler's thread, late on a loaded machine, could make the first read
// after a test (just restarted its contentd) began rewriting the file,
// with no time read before to keep (the real clock then, as above). So a
// file with no time in it at start is refused, not served on the real
// clock.
TEST(ClockFileTest, AClockFileWithoutATimeAtStartIsAUsageError) {
  TempDir dir;
  const std::string clock = dir.path() + "/clock";
  WriteFile(clock, "");  // as a rewrite's truncation leaves it
  const std::string data = dir.path() + "/data";
  const content::testing::CommandResult r = content::testing::RunCommand(
      {content::testing::ContentdBinary(), "--listen", "127.0.0.1:0",
       "--data-dir", data, "--clock-file", clock},
      "", {}, std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "--clock-file: " + clock +
                       " holds no RFC 3339 time on its first line\nRun "
                       "`contentd --help` for more information.\n");
  EXPECT_FALSE(std::filesystem::exists(data));
}

// Editors list scheduled and expired articles by query (`windows`), a page
// at a time and at one instant per query (the first page's, carried in the
// token); readers may ask only for live ones. Export takes the field too;
// a watch refuses it.
TEST_F(EditorialTest, QueryByPublishWindow) {
  v1::Article soon = Article("soon");
  soon.mutable_publish_time()->set_seconds(kT0 + 3600);
  Create("soon", soon);
  v1::Article next = Article("next");
  next.mutable_publish_time()->set_seconds(kT0 + 60);
  Create("soon2", next);
  Create("live", Article("live"));
  v1::Article gone = Article("gone");
  gone.mutable_expiry_time()->set_seconds(kT0 - 60);
  Create("gone", gone);
  v1::Article draft = Article("draft");
  draft.set_state(v1::Article::DRAFT);
  draft.mutable_publish_time()->set_seconds(kT0 + 3600);
  Create("draft", draft);

  v1::Query scheduled;
  scheduled.set_visibility(v1::VISIBILITY_ALL);
  scheduled.add_windows(v1::Query::PUBLISH_WINDOW_SCHEDULED);
  EXPECT_THAT(Query(scheduled, true), ElementsAre("soon", "soon2"));
  v1::Query expired = scheduled;
  expired.set_windows(0, v1::Query::PUBLISH_WINDOW_EXPIRED);
  EXPECT_THAT(Query(expired, true), ElementsAre("gone"));
  v1::Query live;
  live.add_windows(v1::Query::PUBLISH_WINDOW_LIVE);
  EXPECT_THAT(Query(live, false), ElementsAre("live"));

  // Readers: ALL is the editor's, and SCHEDULED needs ALL.
  grpc::Status status;
  Query(scheduled, false, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::Query hidden = scheduled;
  hidden.clear_visibility();
  Query(hidden, false, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("query.windows[0]: PUBLISH_WINDOW_SCHEDULED articles "
                        "are not live; set query.visibility to "
                        "VISIBILITY_ALL"));

  // A page of one, then soon2's publish time passes: the next page of the
  // same query still lists it, a new query does not.
  v1::QueryArticlesRequest req;
  *req.mutable_query() = scheduled;
  req.set_page_size(1);
  v1::QueryArticlesResponse page;
  ASSERT_TRUE(stub_->QueryArticles(Context(true).get(), req, &page).ok());
  ASSERT_EQ(page.articles_size(), 1);
  EXPECT_EQ(page.articles(0).name(), "articles/soon");
  ASSERT_FALSE(page.next_page_token().empty());
  SetClock(kT0 + 120);
  req.set_page_token(page.next_page_token());
  ASSERT_TRUE(stub_->QueryArticles(Context(true).get(), req, &page).ok());
  ASSERT_EQ(page.articles_size(), 1);
  EXPECT_EQ(page.articles(0).name(), "articles/soon2");
  EXPECT_THAT(Query(scheduled, true), ElementsAre("soon"));
  EXPECT_THAT(Query(live, false), ElementsAre("live", "soon2"));

  // Export: the expired one alone.
  v1::ExportArticlesRequest export_req;
  *export_req.mutable_query() = expired;
  auto export_ctx = Context(true);
  auto exporter = stub_->ExportArticles(export_ctx.get(), export_req);
  std::vector<std::string> exported;
  v1::ExportArticlesResponse batch;
  while (exporter->Read(&batch)) {
    for (const auto& a : batch.articles()) exported.push_back(a.name());
  }
  ASSERT_TRUE(exporter->Finish().ok());
  EXPECT_THAT(exported, ElementsAre("articles/gone"));

  // A watch filters events, and a window changes with no event: the field
  // is refused, not ignored.
  v1::WatchArticlesRequest watch;
  watch.mutable_filter()->add_windows(v1::Query::PUBLISH_WINDOW_LIVE);
  auto watch_ctx = Context(false);
  auto watcher = stub_->WatchArticles(watch_ctx.get(), watch);
  v1::WatchArticlesResponse event;
  EXPECT_FALSE(watcher->Read(&event));
  status = watcher->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("filter.windows"));
}

// An embargoed article withdrawn (deleted) before its publish time was
// never public: when the time passes, readers asking for deleted articles
// still get nothing of it; one deleted while live shows its tombstone.
TEST_F(EditorialTest, AnEmbargoWithdrawnByDeletionStaysHidden) {
  v1::Article embargoed = Article("embargoed results");
  embargoed.mutable_publish_time()->set_seconds(kT0 + 3600);
  Create("q3", embargoed);
  Create("old", Article("old news"));
  SetClock(kT0 + 60);
  for (const std::string id : {"q3", "old"}) {
    v1::DeleteArticleRequest del;
    del.set_name("articles/" + id);
    v1::Article out;
    ASSERT_TRUE(stub_->DeleteArticle(Context(true).get(), del, &out).ok());
  }
  SetClock(kT0 + 3600 + 30);

  auto get_deleted = [&](const std::string& id, v1::Article* out) {
    v1::GetArticleRequest req;
    req.set_name("articles/" + id);
    req.set_show_deleted(true);
    return stub_->GetArticle(Context(false).get(), req, out);
  };
  v1::Article got;
  EXPECT_EQ(get_deleted("q3", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(get_deleted("old", &got).ok());
  EXPECT_TRUE(got.has_delete_time());

  v1::BatchGetArticlesRequest batch;
  batch.add_names("articles/q3");
  batch.add_names("articles/old");
  batch.set_show_deleted(true);
  v1::BatchGetArticlesResponse results;
  ASSERT_TRUE(
      stub_->BatchGetArticles(Context(false).get(), batch, &results).ok());
  ASSERT_EQ(results.results_size(), 2);
  EXPECT_FALSE(results.results(0).has_article());
  EXPECT_EQ(results.results(0).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(results.results(1).has_article());

  v1::ListArticleRevisionsRequest history;
  history.set_name("articles/q3");
  v1::ListArticleRevisionsResponse revisions;
  EXPECT_EQ(
      stub_->ListArticleRevisions(Context(false).get(), history, &revisions)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);

  v1::Query q;
  q.add_tags("news");
  q.set_include_deleted(true);
  EXPECT_THAT(Query(q, false), ElementsAre("old"));
  // Editors see both, as before.
  q.set_visibility(v1::VISIBILITY_ALL);
  EXPECT_THAT(Query(q, true), ElementsAre("old", "q3"));
}

// Readers get one answer for an id that does not exist and one they may
// not see (a draft, a deleted draft), from every read: which ids exist and
// a hidden article's revision numbers are not for them.
TEST_F(EditorialTest, ReadersGetOneAnswerForMissingAndHiddenArticles) {
  v1::Article draft = Article("secret draft");
  draft.set_state(v1::Article::DRAFT);
  Create("secret", draft);
  Create("gone", draft);
  v1::DeleteArticleRequest del;
  del.set_name("articles/gone");
  v1::Article out;
  ASSERT_TRUE(stub_->DeleteArticle(Context(true).get(), del, &out).ok());

  // Each read's NOT_FOUND message as a reader, with the id replaced by X.
  auto answers = [&](const std::string& id) {
    std::vector<std::string> got;
    auto add = [&](const grpc::Status& s) {
      got.push_back(absl::StrCat(
          s.error_code(), " ",
          absl::StrReplaceAll(s.error_message(), {{"articles/" + id, "X"}})));
    };
    v1::Article a;
    add(Get(id, false, false, &a));
    v1::GetArticleRequest old;
    old.set_name("articles/" + id);
    old.set_revision(1);
    add(stub_->GetArticle(Context(false).get(), old, &a));
    v1::GetArticleRequest translated;
    translated.set_name("articles/" + id);
    translated.set_lang("en");
    add(stub_->GetArticle(Context(false).get(), translated, &a));
    v1::ListArticleRevisionsRequest history;
    history.set_name("articles/" + id);
    v1::ListArticleRevisionsResponse revisions;
    add(stub_->ListArticleRevisions(Context(false).get(), history, &revisions));
    v1::DiffArticleRevisionsRequest diff;
    diff.set_name("articles/" + id);
    v1::DiffArticleRevisionsResponse diffs;
    add(stub_->DiffArticleRevisions(Context(false).get(), diff, &diffs));
    v1::ListTranslationsRequest group;
    group.set_name("articles/" + id);
    v1::ListTranslationsResponse members;
    add(stub_->ListTranslations(Context(false).get(), group, &members));
    v1::BatchGetArticlesRequest batch;
    batch.add_names("articles/" + id);
    v1::BatchGetArticlesResponse results;
    EXPECT_TRUE(
        stub_->BatchGetArticles(Context(false).get(), batch, &results).ok());
    if (results.results_size() == 1) {
      add(grpc::Status(
          static_cast<grpc::StatusCode>(results.results(0).error_code()),
          results.results(0).error()));
    }
    return got;
  };
  const std::vector<std::string> missing = answers("nope");
  ASSERT_EQ(missing.size(), 7u);
  for (const std::string& m : missing)
    EXPECT_THAT(m, HasSubstr("5 X not found"));
  EXPECT_EQ(answers("secret"), missing);
  EXPECT_EQ(answers("gone"), missing);
}

// A draft (or archived, or still scheduled) revision of an article that is
// live now was never for readers: GetArticle with its number, history and
// diff treat it as missing, with the words of a missing revision. Before,
// readers read it through the live head (a draft's "SECRET" once a public
// statement replaced it).
TEST_F(EditorialTest, ReadersGetOnlyRevisionsThatWerePublished) {
  auto with = [](const std::string& title, v1::Article::State state) {
    v1::Article a = Article(title);
    a.set_state(state);
    return a;
  };
  v1::Article head = Create("embargo", with("SECRET 1", v1::Article::DRAFT));
  for (v1::Article a : {with("public 2", v1::Article::PUBLISHED),
                        with("SECRET 3", v1::Article::DRAFT),
                        with("SECRET 4", v1::Article::ARCHIVED),
                        with("public 5", v1::Article::STATE_UNSPECIFIED),
                        with("SECRET 6", v1::Article::PUBLISHED),
                        with("public 7", v1::Article::PUBLISHED)}) {
    // Revision 6 is scheduled an hour ahead, and replaced before then.
    if (a.title() == "SECRET 6")
      a.mutable_publish_time()->set_seconds(kT0 + 3600);
    a.set_name("articles/embargo");
    head = Update(a);
  }
  ASSERT_EQ(head.revision(), 7);

  auto get = [&](int64_t revision, bool editor, v1::Article* out) {
    v1::GetArticleRequest req;
    req.set_name("articles/embargo");
    req.set_revision(revision);
    if (editor) req.set_visibility(v1::VISIBILITY_ALL);
    return stub_->GetArticle(Context(editor).get(), req, out);
  };
  // A hidden revision reads as one that does not exist.
  auto answer = [](const grpc::Status& s, int64_t revision) {
    return absl::StrCat(
        s.error_code(), " ",
        absl::StrReplaceAll(s.error_message(),
                            {{absl::StrCat(" ", revision, " "), " N "}}));
  };
  v1::Article out;
  const std::string missing = answer(get(99, false, &out), 99);
  EXPECT_THAT(missing, HasSubstr("5 articles/embargo has no revision N"));
  for (int64_t rev : {1, 3, 4, 6}) {
    SCOPED_TRACE(rev);
    EXPECT_EQ(answer(get(rev, false, &out), rev), missing);
    ASSERT_TRUE(get(rev, true, &out).ok());  // editors read every one
    EXPECT_EQ(out.title(), absl::StrCat("SECRET ", rev));
  }
  for (int64_t rev : {2, 5, 7}) {
    ASSERT_TRUE(get(rev, false, &out).ok()) << rev;
    EXPECT_EQ(out.title(), absl::StrCat("public ", rev));
  }

  // History, one revision a page and three: the hidden ones are left out
  // and the pages still cover the rest once each.
  auto history = [&](bool editor, int page_size) {
    std::vector<int64_t> revisions;
    v1::ListArticleRevisionsRequest req;
    req.set_name("articles/embargo");
    req.set_page_size(page_size);
    for (int pages = 0; pages < 20; ++pages) {
      v1::ListArticleRevisionsResponse resp;
      grpc::Status s =
          stub_->ListArticleRevisions(Context(editor).get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const v1::Article& a : resp.revisions()) {
        // (Revision 6 is readable once due, below.)
        if (!editor && a.revision() != 6)
          EXPECT_THAT(a.title(), Not(HasSubstr("SECRET")));
        revisions.push_back(a.revision());
      }
      if (resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    return revisions;
  };
  EXPECT_THAT(history(false, 1), ElementsAre(7, 5, 2));
  EXPECT_THAT(history(false, 3), ElementsAre(7, 5, 2));
  EXPECT_THAT(history(false, 2), ElementsAre(7, 5, 2));
  EXPECT_THAT(history(true, 3), ElementsAre(7, 6, 5, 4, 3, 2, 1));

  // Diff: either side named and hidden is missing.
  auto diff = [&](int64_t from, int64_t to, bool editor,
                  v1::DiffArticleRevisionsResponse* resp) {
    v1::DiffArticleRevisionsRequest req;
    req.set_name("articles/embargo");
    req.set_from_revision(from);
    req.set_to_revision(to);
    return stub_->DiffArticleRevisions(Context(editor).get(), req, resp);
  };
  v1::DiffArticleRevisionsResponse d;
  for (auto [from, to, hidden] :
       {std::tuple{1, 2, 1}, {2, 3, 3}, {0, 4, 4}, {4, 5, 4}, {6, 7, 6}}) {
    SCOPED_TRACE(absl::StrCat(from, "->", to));
    EXPECT_EQ(answer(diff(from, to, false, &d), hidden), missing);
    EXPECT_TRUE(diff(from, to, true, &d).ok());
  }
  ASSERT_TRUE(diff(2, 5, false, &d).ok());
  EXPECT_THAT(d.body_diff(), Not(HasSubstr("SECRET")));
  ASSERT_TRUE(diff(5, 7, false, &d).ok());
  // With no older side, a reader compares with the revision before in the
  // history readers get (7, 5, 2), not with a draft they may not read: the
  // plain `diff ID` answered NOT_FOUND while revision 6 was hidden. Editors
  // compare with the revision just before.
  for (auto [to, editor, want_from] : {std::tuple{0, false, 5},
                                       {7, false, 5},
                                       {5, false, 2},
                                       {0, true, 6},
                                       {5, true, 4}}) {
    SCOPED_TRACE(absl::StrCat("to ", to, editor ? " as editor" : ""));
    grpc::Status s = diff(0, to, editor, &d);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(d.from_revision(), want_from);
    EXPECT_EQ(d.to_revision(), to == 0 ? 7 : to);
    if (!editor) EXPECT_THAT(d.body_diff(), Not(HasSubstr("SECRET")));
  }
  // Nothing before the first revision readers may read: said so, and
  // nothing said of the draft before it.
  grpc::Status first = diff(0, 2, false, &d);
  EXPECT_EQ(first.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(first.error_message(),
            "from_revision: articles/embargo revision 2 is the first readers "
            "may read; there is nothing before it to compare with");
  EXPECT_EQ(diff(0, 1, true, &d).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // The rule looks at the revision alone: once its publish time has come, a
  // scheduled revision replaced before then is readable (design.md).
  SetClock(kT0 + 3600);
  EXPECT_TRUE(get(6, false, &out).ok());
  EXPECT_THAT(history(false, 2), ElementsAre(7, 6, 5, 2));
}

// A reader replaying the change log gets the content of revisions only
// while their article is live: one archived since shows its events by
// name, as GetArticle refuses its old revisions.
TEST_F(EditorialTest, ReaderWatchHistoryHidesContentOfArticlesNoLongerLive) {
  v1::Article shown = Create("shown", Article("shown"));
  v1::Article archived = Create("archived", Article("to be archived"));
  Create("deleted", Article("deleted later"));
  archived.set_state(v1::Article::ARCHIVED);
  Update(archived);
  v1::DeleteArticleRequest del;
  del.set_name("articles/deleted");
  v1::Article out;
  ASSERT_TRUE(stub_->DeleteArticle(Context(true).get(), del, &out).ok());

  Watcher reader(stub_.get(), /*editor=*/false, 0);
  std::vector<v1::WatchArticlesResponse> rs = reader.WaitFor(5);
  ASSERT_EQ(rs.size(), 5u);
  std::vector<std::string> seen;
  for (const auto& r : rs) {
    seen.push_back(absl::StrCat(ChangeEvent::Type_Name(r.event().type()), " ",
                                r.event().name().substr(9), " ",
                                r.has_article() ? r.article().title() : "-"));
  }
  // A deleted article's revisions stay readable as GetArticle reads them:
  // its tombstone was live content.
  EXPECT_THAT(seen,
              ElementsAre("TYPE_CREATED shown shown", "TYPE_CREATED archived -",
                          "TYPE_CREATED deleted deleted later",
                          "TYPE_UNPUBLISHED archived -",
                          "TYPE_DELETED deleted deleted later"));
  v1::GetArticleRequest old;
  old.set_name("articles/archived");
  old.set_revision(1);
  EXPECT_EQ(stub_->GetArticle(Context(false).get(), old, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  old.set_name("articles/deleted");
  EXPECT_TRUE(stub_->GetArticle(Context(false).get(), old, &out).ok());
  // Editors replay every revision's content.
  Watcher editor(stub_.get(), /*editor=*/true, 0);
  for (const auto& r : editor.WaitFor(5)) EXPECT_TRUE(r.has_article());
}

// A reader's filtered watch matches an unpublish against the revision the
// reader could see, so a filter on a tag only the new draft carries learns
// nothing about the draft, and a filter on the live revision's tag hears
// that the article went.
TEST_F(EditorialTest, ReaderWatchFilterDoesNotMatchHiddenRevisions) {
  v1::Query secret;
  secret.add_tags("merger-with-acme");
  v1::Query news;
  news.add_tags("news");
  Watcher probe(stub_.get(), /*editor=*/false, 0, secret);
  Watcher follower(stub_.get(), /*editor=*/false, 0, news);

  v1::Article a = Create("post", Article("post"));
  a.clear_tags();
  a.add_tags("merger-with-acme");
  a.set_state(v1::Article::DRAFT);
  a.set_title("Secret merger");
  Update(a);
  // A scheduled expiry hides the head itself: matched on the head.
  v1::Article b = Article("expiring");
  b.mutable_expiry_time()->set_seconds(kT0 + 60);
  Create("expiring", b);
  SetClock(kT0 + 120);
  EXPECT_THAT(
      follower.Events(4),
      ElementsAre("TYPE_CREATED post", "TYPE_UNPUBLISHED post",
                  "TYPE_CREATED expiring", "TYPE_UNPUBLISHED expiring"));
  // A later live article with the secret tag is the probe's first event.
  v1::Article c = Article("public");
  c.add_tags("merger-with-acme");
  Create("public", c);
  EXPECT_THAT(probe.Events(1), ElementsAre("TYPE_CREATED public"));
  EXPECT_THAT(probe.Events(2, absl::Seconds(1)),
              ElementsAre("TYPE_CREATED public"));
}

// ListTags and ListCategories show readers what they can read: a tag or a
// category only scheduled or expired articles carry stays out of the list
// until its article is published, and short lists are counted exactly.
TEST_F(EditorialTest, TagAndCategoryListsHideScheduledAndExpiredArticles) {
  v1::Article embargoed = Article("embargoed");
  embargoed.add_tags("embargo-acme");
  embargoed.add_categories("secret-merger");
  embargoed.mutable_publish_time()->set_seconds(kT0 + 3600);
  Create("embargoed", embargoed);
  v1::Article expired = Article("expired");
  expired.add_tags("only-expired");
  expired.mutable_expiry_time()->set_seconds(kT0 - 60);  // before its write
  Create("expired", expired);
  v1::Article live = Article("live");
  live.add_categories("markets");
  Create("live", live);

  auto tags = [&]() {
    v1::ListTagsRequest req;
    v1::ListTagsResponse resp;
    grpc::Status s = stub_->ListTags(Context(false).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const auto& t : resp.tags())
      out.push_back(absl::StrCat(t.value(), " ", t.article_count()));
    return out;
  };
  auto categories = [&]() {
    v1::ListCategoriesRequest req;
    v1::ListCategoriesResponse resp;
    grpc::Status s = stub_->ListCategories(Context(false).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const auto& t : resp.categories())
      out.push_back(absl::StrCat(t.value(), " ", t.article_count()));
    return out;
  };
  EXPECT_THAT(tags(), ElementsAre("news 1"));
  EXPECT_THAT(categories(), ElementsAre("markets 1"));

  // Its publish time comes: the embargoed article and its names appear.
  SetClock(kT0 + 3600 + 30);
  // The scheduler polls each second; a loaded machine can take longer than
  // a fixed wait: until both lists changed, bounded.
  for (absl::Time end = absl::Now() + absl::Seconds(30);
       absl::Now() < end && (tags().size() < 2 || categories().size() < 2);) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(tags(), ElementsAre("embargo-acme 1", "news 2"));
  EXPECT_THAT(categories(), ElementsAre("markets 1", "secret-merger 1"));
}

TEST_F(EditorialTest, TranslationFallbackChains) {
  Create("launch.en", Article("Launch", {"en"}));
  Create("launch.zh-CN", Article("发布", {"zh-CN"}));
  v1::Article fr = Article("Lancement", {"fr"});
  fr.set_state(v1::Article::DRAFT);
  Create("launch.fr", fr);
  v1::Article a = Article("Post", {"en"});
  a.set_translation_key("k");
  Create("post-a", a);
  v1::Article b = Article("Beitrag", {"de"});
  b.set_translation_key("k");
  Create("beitrag", b);

  v1::Article got;
  ASSERT_TRUE(Get("launch.en", false, false, &got, "zh-CN").ok());
  EXPECT_EQ(got.name(), "articles/launch.zh-CN");
  ASSERT_TRUE(Get("launch.en", false, false, &got, "zh").ok());  // subtag
  EXPECT_EQ(got.name(), "articles/launch.zh-CN");
  ASSERT_TRUE(Get("launch.zh-CN", false, false, &got, "EN-us").ok());
  EXPECT_EQ(got.name(), "articles/launch.en");
  // French is a draft: readers fall back along the chain, editors get it.
  ASSERT_TRUE(Get("launch.en", false, false, &got, "fr", {"de", "zh-CN"}).ok());
  EXPECT_EQ(got.name(), "articles/launch.zh-CN");
  ASSERT_TRUE(Get("launch.en", true, true, &got, "fr", {"de", "zh-CN"}).ok());
  EXPECT_EQ(got.name(), "articles/launch.fr");
  grpc::Status s = Get("launch.en", false, false, &got, "ja", {"ko"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("ja, ko"));
  EXPECT_THAT(s.error_message(), HasSubstr("articles/launch.zh-CN"));
  // A member without a language is named as such.
  Create("nolang", Article("No language", {}));
  s = Get("nolang", false, false, &got, "ja");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("has no lang (articles/nolang)"));
  // An explicit key links ids that share no stem.
  ASSERT_TRUE(Get("post-a", false, false, &got, "de").ok());
  EXPECT_EQ(got.name(), "articles/beitrag");
  // A draft's key is not for readers, even in the message naming what the
  // group has; editors reading at ALL get it.
  v1::Article secret = Article("Merger", {"es"});
  secret.set_translation_key("acme-merger");
  secret.set_state(v1::Article::DRAFT);
  Create("merger.es", secret);
  v1::Article teaser = Article("Teaser", {"en"});
  teaser.set_translation_key("acme-merger");
  Create("teaser", teaser);
  s = Get("merger.es", false, false, &got, "ja");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("articles/teaser"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr("acme-merger")));
  s = Get("merger.es", true, true, &got, "ja");
  EXPECT_THAT(s.error_message(), HasSubstr("\"acme-merger\""));

  v1::ListTranslationsRequest req;
  req.set_name("articles/launch.zh-CN");
  v1::ListTranslationsResponse resp;
  ASSERT_TRUE(stub_->ListTranslations(Context(false).get(), req, &resp).ok());
  EXPECT_EQ(resp.translation_key(), "launch");
  ASSERT_EQ(resp.articles_size(), 2);
  EXPECT_EQ(resp.articles(0).name(), "articles/launch.en");
  EXPECT_TRUE(resp.articles(0).body().empty());  // BASIC by default
  req.set_visibility(v1::VISIBILITY_ALL);
  ASSERT_TRUE(stub_->ListTranslations(Context(true).get(), req, &resp).ok());
  EXPECT_EQ(resp.articles_size(), 3);
}

// A Hong Kong reader's chain, zh-HK -> zh-TW -> zh -> en, got the
// Simplified zh-CN: it matched zh-HK by primary subtag, as zh-TW did, and
// won the tie by id order. The closer one (the same script, Traditional)
// wins now; so does zh-TW for zh-Hant-TW, the same language written out.
TEST_F(EditorialTest, TranslationFallbackPrefersTheSameScript) {
  Create("news.en", Article("News", {"en"}));
  Create("news.zh-CN", Article("新闻", {"zh-CN"}));
  Create("news.zh-TW", Article("新聞", {"zh-TW"}));
  v1::Article got;
  grpc::Status s =
      Get("news.en", false, false, &got, "zh-HK", {"zh-TW", "zh", "en"});
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.name(), "articles/news.zh-TW");
  ASSERT_EQ(got.lang_size(), 1);  // the reply says which language it gave
  EXPECT_EQ(got.lang(0), "zh-TW");
  for (const char* lang : {"zh-Hant-TW", "zh-Hant", "zh-MO"}) {
    s = Get("news.en", false, false, &got, lang);
    ASSERT_TRUE(s.ok()) << lang << ": " << s.error_message();
    EXPECT_EQ(got.name(), "articles/news.zh-TW") << lang;
  }
  // Simplified readers still get zh-CN, whichever article they name.
  for (const char* lang : {"zh", "zh-SG", "zh-Hans"}) {
    s = Get("news.zh-TW", false, false, &got, lang);
    ASSERT_TRUE(s.ok()) << lang << ": " << s.error_message();
    EXPECT_EQ(got.name(), "articles/news.zh-CN") << lang;
  }
  // The reader's order still comes first: a Chinese translation of any
  // script answers zh-HK before English does.
  v1::Article tw = Article("新聞", {"zh-TW"});
  tw.set_state(v1::Article::DRAFT);
  Create("news2.zh-TW", tw);
  Create("news2.zh-CN", Article("新闻", {"zh-CN"}));
  Create("news2.en", Article("News", {"en"}));
  s = Get("news2.en", false, false, &got, "zh-HK", {"en"});
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.name(), "articles/news2.zh-CN");
}

// A translationKey is stored in NFC, as tags are: `café` typed composed
// (U+00E9) in one translation and decomposed (e, U+0301; macOS and some
// editors write it so) in another made two groups of one article each.
TEST_F(EditorialTest, TranslationKeysInTwoUnicodeSpellingsAreOneGroup) {
  const std::string composed = "caf\xC3\xA9-opens";
  const std::string decomposed = "cafe\xCC\x81-opens";
  v1::Article en = Article("Cafe opens", {"en"});
  en.set_translation_key(composed);
  Create("cafe-en", en);
  v1::Article fr = Article("Le cafe ouvre", {"fr"});
  fr.set_translation_key(decomposed);
  EXPECT_EQ(Create("cafe-fr", fr).translation_key(), composed);
  v1::ListTranslationsRequest req;
  req.set_name("articles/cafe-fr");
  v1::ListTranslationsResponse resp;
  grpc::Status s = stub_->ListTranslations(Context(false).get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.translation_key(), composed);
  ASSERT_EQ(resp.articles_size(), 2);
  EXPECT_EQ(resp.articles(0).name(), "articles/cafe-en");
  v1::Article got;
  s = Get("cafe-fr", false, false, &got, "en");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.name(), "articles/cafe-en");
}

TEST_F(EditorialTest, TranslationGroupsListAThousandAndBoundFullReplies) {
  // 1,000 published members of 20 KiB and two drafts in one group, sent in
  // batches of 100 (2 MiB each).
  auto ctx = Context(true);
  auto stream = stub_->ImportArticles(ctx.get());
  for (int batch = 0; batch < 11; ++batch) {
    v1::ImportArticlesRequest req;
    for (int i = batch * 100; i < std::min(1002, (batch + 1) * 100); ++i) {
      v1::Article a = Article(absl::StrCat("member ", i), {"en"});
      a.set_name(absl::StrCat("articles/m", 10000 + i));
      a.set_translation_key("big");
      a.set_body(std::string(20 << 10, 'x'));
      if (i >= 1000) a.set_state(v1::Article::DRAFT);
      *req.add_articles() = std::move(a);
    }
    ASSERT_TRUE(stream->Write(req));
  }
  ASSERT_TRUE(stream->WritesDone());
  v1::ImportArticlesResponse r;
  int created = 0;
  while (stream->Read(&r)) {
    for (const auto& result : r.results())
      created += result.outcome() == v1::ImportResult::OUTCOME_CREATED;
  }
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(created, 1002);

  // Editors reading every state get 1,000, not 1,001.
  v1::ListTranslationsRequest req;
  req.set_name("articles/m10000");
  req.set_visibility(v1::VISIBILITY_ALL);
  v1::ListTranslationsResponse resp;
  grpc::Status s = stub_->ListTranslations(Context(true).get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.articles_size(), 1000);
  // Their bodies hold 20 MB: FULL is refused, naming the field and the way.
  req.set_view(v1::ARTICLE_VIEW_FULL);
  s = stub_->ListTranslations(Context(true).get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("view"));
  EXPECT_THAT(s.error_message(), HasSubstr("BASIC"));
  // Choosing a language still returns the chosen member whole.
  v1::Article got;
  ASSERT_TRUE(Get("m10000", false, false, &got, "en").ok());
  EXPECT_EQ(got.name(), "articles/m10000");
  EXPECT_EQ(got.body().size(), size_t{20} << 10);
  // A language the group lacks is NOT_FOUND naming some members and how
  // many more: naming all 1,000 made the trailers too large for the client
  // (RESOURCE_EXHAUSTED "received initial metadata size exceeds limit").
  s = Get("m10000", false, false, &got, "ja");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("en (articles/m10000), "));
  EXPECT_THAT(s.error_message(), HasSubstr(" more"));
  EXPECT_LT(s.error_message().size(), size_t{2048});
}

// DiffArticleRevisions with `article`: what an update would change, the
// article validated and normalized as UpdateArticle would (tags in NFC),
// nothing written; against nothing for an article that does not exist
// yet; an editor's call; the fields and deletions refused as an update's.
TEST_F(EditorialTest, DiffOfContentNotWrittenShowsWhatAnUpdateWouldChange) {
  v1::Article a;
  a.set_title("Proposed");
  a.set_body("one\ntwo\n");
  a.add_tags("ai");
  const v1::Article r1 = Create("prop", a);

  v1::DiffArticleRevisionsRequest req;
  req.set_name("articles/prop");
  *req.mutable_article() = a;
  // "Cafe\u0301" is stored as "Café" (NFC): no change when written so.
  req.mutable_article()->add_tags("Cafe\u0301");
  req.mutable_article()->set_body("one\n2\n");
  v1::DiffArticleRevisionsResponse diff;
  grpc::Status s = stub_->DiffArticleRevisions(Context(true).get(), req, &diff);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(diff.from_revision(), 1);
  EXPECT_EQ(diff.to_revision(), 0);
  ASSERT_EQ(diff.field_changes_size(), 1);
  EXPECT_EQ(diff.field_changes(0).field(), "tags");
  EXPECT_EQ(diff.field_changes(0).new_value(), "[\"ai\",\"Caf\u00e9\"]");
  EXPECT_EQ(diff.body_diff(),
            "--- articles/prop@1\n+++ articles/prop (not written)\n"
            "@@ -1,2 +1,2 @@\n one\n-two\n+2\n");
  // The same content: no change. Nothing was written either way.
  *req.mutable_article() = r1;
  ASSERT_TRUE(
      stub_->DiffArticleRevisions(Context(true).get(), req, &diff).ok());
  EXPECT_EQ(diff.field_changes_size(), 0);
  EXPECT_EQ(diff.body_diff(), "");
  v1::Article head;
  ASSERT_TRUE(Get("prop", true, true, &head).ok());
  EXPECT_EQ(head.revision(), 1);

  // An article that does not exist: every field against nothing.
  req.set_name("articles/fresh");
  req.mutable_article()->clear_name();
  ASSERT_TRUE(
      stub_->DiffArticleRevisions(Context(true).get(), req, &diff).ok());
  EXPECT_EQ(diff.from_revision(), 0);
  EXPECT_THAT(diff.body_diff(), HasSubstr("--- /dev/null\n"));
  EXPECT_EQ(Get("fresh", true, true, &head).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A reader's is refused, as an update would be.
  EXPECT_EQ(stub_->DiffArticleRevisions(Context(false).get(), req, &diff)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Fields as an update names them; to_revision and another name refused.
  req.set_name("articles/prop");
  req.set_to_revision(1);
  req.mutable_article()->set_name("articles/other");
  req.mutable_article()->clear_title();
  s = stub_->DiffArticleRevisions(Context(true).get(), req, &diff);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("to_revision: must be 0"));
  EXPECT_THAT(s.error_message(),
              HasSubstr("article.name: must be empty or name's"));
  EXPECT_THAT(s.error_message(), HasSubstr("article.title: is required"));
  // A deleted head: undelete first, as the update would say.
  req.set_to_revision(0);
  req.mutable_article()->clear_name();
  req.mutable_article()->set_title("Proposed");
  v1::DeleteArticleRequest dreq;
  dreq.set_name("articles/prop");
  v1::Article deleted;
  ASSERT_TRUE(stub_->DeleteArticle(Context(true).get(), dreq, &deleted).ok());
  s = stub_->DiffArticleRevisions(Context(true).get(), req, &diff);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("undelete it before updating"));
}

TEST_F(EditorialTest, DiffAndRestoreTheSampleArticle) {
  absl::StatusOr<v1::Article> sample =
      ParseMarkdown(ReadFile(SourceDir() + "/samples/deepseek-brokers.md"));
  ASSERT_TRUE(sample.ok()) << sample.status();
  v1::Article r1 = Create("sample", *sample);
  v1::Article edited = r1;
  edited.set_title("券商扎堆接入国产开源大模型（更新）");
  edited.add_tags("fintech");
  const std::string old_line = "成本是另一个被反复提及的因素。";
  const size_t at = edited.body().find(old_line);
  ASSERT_NE(at, std::string::npos);
  edited.mutable_body()->replace(at, old_line.size(), "成本是又一个因素。");
  v1::Article r2 = Update(edited);
  ASSERT_EQ(r2.revision(), 2);

  v1::DiffArticleRevisionsRequest dreq;
  dreq.set_name("articles/sample");
  v1::DiffArticleRevisionsResponse diff;
  ASSERT_TRUE(
      stub_->DiffArticleRevisions(Context(false).get(), dreq, &diff).ok());
  EXPECT_EQ(diff.from_revision(), 1);
  EXPECT_EQ(diff.to_revision(), 2);
  std::vector<std::string> fields;
  for (const auto& c : diff.field_changes()) fields.push_back(c.field());
  EXPECT_THAT(fields, ElementsAre("title", "tags"));
  EXPECT_THAT(diff.body_diff(), HasSubstr("\n-成本是另一个被反复提及的因素。"));
  EXPECT_THAT(diff.body_diff(), HasSubstr("\n+成本是又一个因素。"));
  EXPECT_THAT(diff.body_diff(), HasSubstr("@@"));

  // Restore revision 1: a new revision 3 with its content; history kept.
  v1::RestoreArticleRevisionRequest rreq;
  rreq.set_name("articles/sample");
  rreq.set_revision(1);
  rreq.set_expected_revision(1);  // stale: the head is 2
  v1::Article restored;
  EXPECT_EQ(stub_->RestoreArticleRevision(Context(true).get(), rreq, &restored)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(stub_->RestoreArticleRevision(Context(false).get(), rreq, &restored)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  rreq.set_expected_revision(2);
  ASSERT_TRUE(
      stub_->RestoreArticleRevision(Context(true).get(), rreq, &restored).ok());
  EXPECT_EQ(restored.revision(), 3);
  EXPECT_EQ(restored.content_hash(), r1.content_hash());
  v1::ListArticleRevisionsRequest lreq;
  lreq.set_name("articles/sample");
  v1::ListArticleRevisionsResponse history;
  ASSERT_TRUE(
      stub_->ListArticleRevisions(Context(false).get(), lreq, &history).ok());
  ASSERT_EQ(history.revisions_size(), 3);
  EXPECT_EQ(history.revisions(1).title(), "券商扎堆接入国产开源大模型（更新）");
  dreq.set_from_revision(1);
  dreq.set_to_revision(3);
  ASSERT_TRUE(
      stub_->DiffArticleRevisions(Context(false).get(), dreq, &diff).ok());
  EXPECT_EQ(diff.field_changes_size(), 0);
  EXPECT_TRUE(diff.body_diff().empty());

  // A draft's history is the editors' business.
  v1::Article draft = restored;
  draft.set_state(v1::Article::DRAFT);
  Update(draft);
  EXPECT_EQ(stub_->ListArticleRevisions(Context(false).get(), lreq, &history)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub_->DiffArticleRevisions(Context(false).get(), dreq, &diff)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(
      stub_->DiffArticleRevisions(Context(true).get(), dreq, &diff).ok());
}

}  // namespace
}  // namespace content
