// End to end: the error details contentd sends (AIP-193), read through the
// SDK, off a raw channel without it, and printed by contentctl -o json.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "content/client.h"
#include "gmock/gmock.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::CommandResult;
using ::content::testing::ContentctlBinary;
using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

v1::Article Simple(const std::string& title) {
  v1::Article a;
  a.set_title(title);
  a.set_body("Body.\n");
  return a;
}

class ErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = ServerProcess::Start(dir_->path() + "/data").release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "no contentd";
    ClientOptions options;
    options.target = server_->address();
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(options);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
  }
  // Creates `id` and updates it once: its head is revision 2.
  void CreateTwice(const std::string& id) {
    v1::CreateArticleRequest create;
    create.set_article_id(id);
    *create.mutable_article() = Simple("one");
    ASSERT_TRUE(client_->CreateArticle(create).ok());
    v1::UpdateArticleRequest update;
    *update.mutable_article() = Simple("two");
    update.mutable_article()->set_name(ArticleName(id));
    absl::StatusOr<v1::Article> two = client_->UpdateArticle(update);
    ASSERT_TRUE(two.ok()) << two.status();
    ASSERT_EQ(two->revision(), 2);
  }
  static CommandResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(),
                {ContentctlBinary(), "--server", server_->address()});
    return RunCommand(args);
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<Client> client_;
};

TempDir* ErrorsTest::dir_ = nullptr;
ServerProcess* ErrorsTest::server_ = nullptr;

TEST_F(ErrorsTest, BadQueryFieldComesAsABadRequestNamingIt) {
  v1::QueryArticlesRequest req;
  req.mutable_query()->add_tags("ai");
  req.mutable_query()->add_tags(" padded");
  absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "INVALID_ARGUMENT");
  EXPECT_EQ(ErrorDomain(r.status()), "contentd.v1");
  const std::vector<FieldViolation> v = FieldViolations(r.status());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "query.tags[1]");
  EXPECT_THAT(v[0].description,
              StartsWith("must not start or end with a space"));
}

TEST_F(ErrorsTest, StaleRevisionSaysRevisionMismatchAndTheCurrentRevision) {
  CreateTwice("stale");
  v1::UpdateArticleRequest req;
  *req.mutable_article() = Simple("three");
  req.mutable_article()->set_name("articles/stale");
  req.set_expected_revision(1);
  absl::StatusOr<v1::Article> r = client_->UpdateArticle(req);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
      << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "REVISION_MISMATCH");
  const std::map<std::string, std::string> m = ErrorMetadata(r.status());
  EXPECT_THAT(m, Contains(Pair("current_revision", "2")));
  EXPECT_THAT(m, Contains(Pair("expected_revision", "1")));
  EXPECT_THAT(m, Contains(Pair("name", "articles/stale")));
  EXPECT_TRUE(FieldViolations(r.status()).empty());

  // By etag: the same, with the etags.
  req.set_expected_revision(0);
  req.mutable_article()->set_etag("\"nope\"");
  r = client_->UpdateArticle(req);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(r.status()), "ETAG_MISMATCH");
  EXPECT_THAT(ErrorMetadata(r.status()),
              Contains(Pair("current_revision", "2")));
  EXPECT_THAT(ErrorMetadata(r.status()),
              Contains(Pair("expected_etag", "\"nope\"")));
}

TEST_F(ErrorsTest, MissingDeletedAndTakenArticlesSayWhich) {
  absl::StatusOr<v1::Article> r = client_->Get("never-there");
  ASSERT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "ARTICLE_NOT_FOUND");

  CreateTwice("gone");
  r = client_->Get("gone", 7);
  EXPECT_EQ(ErrorReason(r.status()), "REVISION_NOT_FOUND");
  v1::DeleteArticleRequest del;
  del.set_name("articles/gone");
  ASSERT_TRUE(client_->DeleteArticle(del).ok());
  r = client_->Get("gone");
  ASSERT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "ARTICLE_DELETED");
  EXPECT_THAT(ErrorMetadata(r.status()), Contains(Pair("revision", "3")));

  v1::CreateArticleRequest create;
  create.set_article_id("gone");
  *create.mutable_article() = Simple("again");
  r = client_->CreateArticle(create);
  ASSERT_TRUE(absl::IsAlreadyExists(r.status())) << r.status();
  EXPECT_EQ(ErrorReason(r.status()), "ARTICLE_ALREADY_EXISTS");
  EXPECT_THAT(ErrorMetadata(r.status()),
              Contains(Pair("current_revision", "3")));
}

// The google.rpc.Status field numbers, read with no definition of ours:
// Status {code 1, message 2, details 3}, each detail a
// google.protobuf.Any, ErrorInfo {reason 1, domain 2, metadata 3 of
// entries {key 1, value 2}} and BadRequest {field_violations 1 of {field 1,
// description 2}}, as googleapis defines them.
TEST_F(ErrorsTest, TheTrailerDecodesWithoutTheSdk) {
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials());
  v1::QueryArticlesRequest req;
  req.mutable_query()->add_categories("");
  std::string reply;
  const grpc::Status s = testing::RawUnaryCall(
      *channel, "/content.v1.ContentService/QueryArticles",
      req.SerializeAsString(), {}, &reply);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_FALSE(s.error_details().empty());

  google::protobuf::UnknownFieldSet status;
  ASSERT_TRUE(status.ParseFromString(s.error_details()));
  int64_t code = -1;
  std::string message;
  std::vector<google::protobuf::Any> details;
  for (int i = 0; i < status.field_count(); ++i) {
    const google::protobuf::UnknownField& f = status.field(i);
    if (f.number() == 1) code = static_cast<int64_t>(f.varint());
    if (f.number() == 2) message = f.length_delimited();
    if (f.number() == 3) {
      details.emplace_back();
      ASSERT_TRUE(details.back().ParseFromString(f.length_delimited()));
    }
  }
  EXPECT_EQ(code, 3);
  EXPECT_EQ(message, s.error_message());
  ASSERT_EQ(details.size(), 2u);

  EXPECT_EQ(details[0].type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  google::protobuf::UnknownFieldSet info;
  ASSERT_TRUE(info.ParseFromString(details[0].value()));
  std::map<int, std::string> info_fields;
  for (int i = 0; i < info.field_count(); ++i)
    info_fields[info.field(i).number()] = info.field(i).length_delimited();
  EXPECT_EQ(info_fields[1], "INVALID_ARGUMENT");
  EXPECT_EQ(info_fields[2], "contentd.v1");

  EXPECT_EQ(details[1].type_url(), "type.googleapis.com/google.rpc.BadRequest");
  google::protobuf::UnknownFieldSet bad;
  ASSERT_TRUE(bad.ParseFromString(details[1].value()));
  ASSERT_EQ(bad.field_count(), 1);
  EXPECT_EQ(bad.field(0).number(), 1);
  google::protobuf::UnknownFieldSet violation;
  ASSERT_TRUE(violation.ParseFromString(bad.field(0).length_delimited()));
  std::map<int, std::string> violation_fields;
  for (int i = 0; i < violation.field_count(); ++i) {
    violation_fields[violation.field(i).number()] =
        violation.field(i).length_delimited();
  }
  EXPECT_EQ(violation_fields[1], "query.categories[0]");
  EXPECT_EQ(violation_fields[2], "must not be empty");

  // A mismatch's metadata: map entries of key 1 and value 2.
  CreateTwice("raw");
  v1::DeleteArticleRequest del;
  del.set_name("articles/raw");
  del.set_expected_revision(1);
  const grpc::Status m = testing::RawUnaryCall(
      *channel, "/content.v1.ContentService/DeleteArticle",
      del.SerializeAsString(), {}, &reply);
  ASSERT_EQ(m.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(status.ParseFromString(m.error_details()));
  google::protobuf::Any any;
  for (int i = 0; i < status.field_count(); ++i) {
    if (status.field(i).number() == 3)
      ASSERT_TRUE(any.ParseFromString(status.field(i).length_delimited()));
  }
  ASSERT_TRUE(info.ParseFromString(any.value()));
  std::map<std::string, std::string> metadata;
  std::string reason;
  for (int i = 0; i < info.field_count(); ++i) {
    if (info.field(i).number() == 1) reason = info.field(i).length_delimited();
    if (info.field(i).number() != 3) continue;
    google::protobuf::UnknownFieldSet entry;
    ASSERT_TRUE(entry.ParseFromString(info.field(i).length_delimited()));
    std::string key, value;
    for (int j = 0; j < entry.field_count(); ++j) {
      if (entry.field(j).number() == 1) key = entry.field(j).length_delimited();
      if (entry.field(j).number() == 2)
        value = entry.field(j).length_delimited();
    }
    metadata[key] = value;
  }
  EXPECT_EQ(reason, "REVISION_MISMATCH");
  EXPECT_THAT(metadata, Contains(Pair("current_revision", "2")));
}

google::protobuf::Struct ParseStruct(const std::string& json) {
  google::protobuf::Struct out;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << json;
  return out;
}

TEST_F(ErrorsTest, ContentctlPrintsTheDetailsAsJsonUnderOJson) {
  CommandResult r = Ctl({"get", "no-such", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  google::protobuf::Struct e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("code").string_value(), "NOT_FOUND");
  EXPECT_THAT(e.fields().at("message").string_value(),
              StartsWith("articles/no-such not found"));
  EXPECT_EQ(e.fields().at("reason").string_value(), "ARTICLE_NOT_FOUND");
  EXPECT_EQ(e.fields().at("domain").string_value(), "contentd.v1");
  EXPECT_EQ(e.fields().at("metadata").struct_value().fields_size(), 0);
  EXPECT_EQ(e.fields().at("fieldViolations").list_value().values_size(), 0);

  // The flag leads the message, as on the text line; the field is the API's.
  r = Ctl({"query", "--tag", " x", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_THAT(e.fields().at("message").string_value(),
              StartsWith("--tag: query.tags[0]: must not start or end"));
  const auto& violations = e.fields().at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 1);
  EXPECT_EQ(
      violations.values(0).struct_value().fields().at("field").string_value(),
      "query.tags[0]");

  CreateTwice("ctl");
  r = Ctl({"delete", "ctl", "--expected-revision", "1", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("reason").string_value(), "REVISION_MISMATCH");
  EXPECT_EQ(e.fields()
                .at("metadata")
                .struct_value()
                .fields()
                .at("current_revision")
                .string_value(),
            "2");

  // A deleted article's hint stays in the message, with the reason.
  ASSERT_EQ(Ctl({"delete", "ctl"}).exit_code, 0);
  r = Ctl({"get", "ctl", "-o", "json"});
  e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("reason").string_value(), "ARTICLE_DELETED");
  EXPECT_THAT(e.fields().at("message").string_value(),
              HasSubstr("--show-deleted"));

  // admin backup leads with DESTINATION: and keeps the details.
  r = Ctl({"admin", "backup", "relative/dir", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseStruct(r.err);
  EXPECT_THAT(e.fields().at("message").string_value(),
              StartsWith("DESTINATION: destination: "));
  EXPECT_EQ(e.fields().at("reason").string_value(), "INVALID_ARGUMENT");
  ASSERT_EQ(e.fields().at("fieldViolations").list_value().values_size(), 1);
  EXPECT_EQ(e.fields()
                .at("fieldViolations")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("field")
                .string_value(),
            "destination");

  // Without -o json: one line, as before.
  r = Ctl({"get", "no-such"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              StartsWith("Error: NOT_FOUND: articles/no-such not found"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // A connection error has no details: "" and empty lists.
  r = RunCommand({ContentctlBinary(), "--server", "127.0.0.1:1", "--timeout",
                  "2s", "get", "x", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  e = ParseStruct(r.err);
  EXPECT_EQ(e.fields().at("reason").string_value(), "");
  EXPECT_THAT(e.fields().at("message").string_value(),
              HasSubstr("127.0.0.1:1"));
}

}  // namespace
}  // namespace content
