// The error details (AIP-193) both ways: the server's absl::Status ->
// grpc::Status with a google.rpc.Status (server/service/reactors.h), and the
// SDK's grpc::Status -> absl::Status with payloads and the accessors that
// read them (client/grpc_status.h, content/client.h).
#include "server/error_details.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "client/grpc_status.h"
#include "content/client.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/service/reactors.h"
#include "server/service/validation.h"

namespace content {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

google::rpc::Status Details(const grpc::Status& s) {
  google::rpc::Status out;
  EXPECT_TRUE(out.ParseFromString(s.error_details()));
  return out;
}

google::rpc::ErrorInfo InfoOf(const google::rpc::Status& s) {
  google::rpc::ErrorInfo info;
  int found = 0;
  for (const google::protobuf::Any& any : s.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) {
      ++found;
      EXPECT_TRUE(any.UnpackTo(&info));
    }
  }
  EXPECT_EQ(found, 1) << "AIP-193: exactly one ErrorInfo";
  return info;
}

TEST(ErrorDetailsTest, OkHasNoDetails) {
  const grpc::Status s = service::ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.error_details(), "");
}

TEST(ErrorDetailsTest, ReasonAndMetadataGoInAnErrorInfo) {
  const absl::Status s = WithReason(
      absl::FailedPreconditionError("expected_revision 3 does not match"),
      reason::kRevisionMismatch,
      {{"expected_revision", "3"}, {"current_revision", "5"}});
  const grpc::Status g = service::ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(g.error_message(), "expected_revision 3 does not match");
  const google::rpc::Status d = Details(g);
  EXPECT_EQ(d.code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(d.message(), g.error_message());
  ASSERT_EQ(d.details_size(), 1);
  EXPECT_EQ(d.details(0).type_url(),
            "type.googleapis.com/google.rpc.ErrorInfo");
  const google::rpc::ErrorInfo info = InfoOf(d);
  EXPECT_EQ(info.reason(), "REVISION_MISMATCH");
  EXPECT_EQ(info.domain(), "contentd.v1");
  EXPECT_THAT(info.metadata(),
              UnorderedElementsAre(Pair("expected_revision", "3"),
                                   Pair("current_revision", "5")));
}

TEST(ErrorDetailsTest, AnErrorWithoutAReasonGetsItsCodesName) {
  for (const absl::Status& s :
       {absl::UnavailableError("storage: gone"), absl::NotFoundError("x"),
        absl::DataLossError("corrupt"), absl::InvalidArgumentError("bad")}) {
    SCOPED_TRACE(s.ToString());
    const google::rpc::ErrorInfo info =
        InfoOf(Details(service::ToGrpcStatus(s)));
    EXPECT_EQ(info.reason(), absl::StatusCodeToString(s.code()));
    EXPECT_EQ(info.domain(), "contentd.v1");
    EXPECT_THAT(info.metadata(), IsEmpty());
  }
}

TEST(ErrorDetailsTest, InvalidArgumentNamesItsFieldInABadRequest) {
  const grpc::Status g = service::ToGrpcStatus(
      absl::InvalidArgumentError("query.tags[0]: must not be empty"));
  const google::rpc::Status d = Details(g);
  ASSERT_EQ(d.details_size(), 2);
  EXPECT_EQ(InfoOf(d).reason(), "INVALID_ARGUMENT");
  EXPECT_EQ(d.details(1).type_url(),
            "type.googleapis.com/google.rpc.BadRequest");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(d.details(1).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "query.tags[0]");
  EXPECT_EQ(bad.field_violations(0).description(), "must not be empty");
}

TEST(ErrorDetailsTest, ValidationMessagesLeadWithTheirField) {
  service::Limits limits;
  v1::Query q;
  q.add_tags("ok");
  q.add_tags(" spaced");
  const absl::Status s = service::ValidateQuery(q, limits);
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(LeadingField(s.message()), "query.tags[1]");

  v1::Article a;
  a.set_title("t");
  a.set_body(std::string(limits.max_article_bytes + 1, 'x'));
  const absl::Status big = service::ValidateArticle(a, limits, "article");
  ASSERT_TRUE(absl::IsInvalidArgument(big)) << big;
  const grpc::Status g = service::ToGrpcStatus(big);
  const google::rpc::Status d = Details(g);
  EXPECT_EQ(InfoOf(d).reason(), "ARTICLE_TOO_LARGE");
  EXPECT_EQ(InfoOf(d).metadata().at("limit_bytes"),
            std::to_string(limits.max_article_bytes));
  // The BadRequest is still made from the message.
  ASSERT_EQ(d.details_size(), 2);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(d.details(1).UnpackTo(&bad));
  EXPECT_EQ(bad.field_violations(0).field(), "article.body");
}

TEST(ErrorDetailsTest, LeadingField) {
  EXPECT_EQ(LeadingField("articles[3].name: must start with articles/"),
            "articles[3].name");
  EXPECT_EQ(LeadingField("page_token: malformed; pass it unchanged"),
            "page_token");
  EXPECT_EQ(LeadingField("filter.tag_match: unknown value 7"),
            "filter.tag_match");
  // No field: none before ": ", or words, a name or a storage error.
  EXPECT_EQ(LeadingField("bad"), "");
  EXPECT_EQ(LeadingField(": x"), "");
  EXPECT_EQ(LeadingField("role \"x\": must be reader"), "");
  EXPECT_EQ(LeadingField("articles/foo: revision mismatch"), "");
  EXPECT_EQ(LeadingField("storage: Invalid argument: x"), "");
  EXPECT_EQ(LeadingField("request: cannot be parsed"), "");
  EXPECT_EQ(LeadingField("NOTIFY_SOCKET: x"), "");
  // A field without a rule after it is still the field.
  EXPECT_EQ(LeadingField("title:  "), "title");
}

TEST(ErrorDetailsTest, AMessageWithoutAFieldHasNoBadRequest) {
  const google::rpc::Status d = Details(service::ToGrpcStatus(
      absl::InvalidArgumentError("storage: Invalid argument: x")));
  ASSERT_EQ(d.details_size(), 1);
  EXPECT_EQ(InfoOf(d).reason(), "INVALID_ARGUMENT");
}

TEST(ErrorDetailsTest, StoppingStatusSaysShuttingDown) {
  const grpc::Status g = service::StoppingStatus();
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(InfoOf(Details(g)).reason(), "SHUTTING_DOWN");
}

// Server to SDK: what the SDK returns holds what the server sent.
TEST(ErrorDetailsTest, TheSdkReadsWhatTheServerSends) {
  const absl::Status sent = WithReason(
      absl::FailedPreconditionError("mismatch"), reason::kRevisionMismatch,
      {{"name", "articles/a"}, {"current_revision", "5"}});
  const absl::Status got = internal::FromGrpc(service::ToGrpcStatus(sent));
  EXPECT_EQ(got.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(got.message(), "mismatch");
  EXPECT_EQ(ErrorReason(got), "REVISION_MISMATCH");
  EXPECT_EQ(ErrorDomain(got), "contentd.v1");
  EXPECT_THAT(ErrorMetadata(got), ElementsAre(Pair("current_revision", "5"),
                                              Pair("name", "articles/a")));
  EXPECT_THAT(FieldViolations(got), IsEmpty());

  const absl::Status bad = internal::FromGrpc(service::ToGrpcStatus(
      absl::InvalidArgumentError("article.tags[2]: duplicate entry \"a\"")));
  EXPECT_EQ(ErrorReason(bad), "INVALID_ARGUMENT");
  const std::vector<FieldViolation> v = FieldViolations(bad);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "article.tags[2]");
  EXPECT_EQ(v[0].description, "duplicate entry \"a\"");
}

// googleapis' own messages have more fields (FieldViolation.reason and
// localized_message, ...): a parser skips them, so the SDK reads the
// details of a server built against newer definitions.
TEST(ErrorDetailsTest, TheSdkSkipsFieldsItDoesNotKnow) {
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field("query.page_size");
  v->set_description("must be at most 1000");
  // FieldViolation.reason = 3, a string; then an int field 9.
  v->GetReflection()->MutableUnknownFields(v)->AddLengthDelimited(3, "TOO_BIG");
  v->GetReflection()->MutableUnknownFields(v)->AddVarint(9, 42);
  google::rpc::ErrorInfo info;
  info.set_reason("INVALID_ARGUMENT");
  info.set_domain("contentd.v1");
  google::rpc::Status status;
  status.set_code(3);
  status.set_message("query.page_size: must be at most 1000");
  status.add_details()->PackFrom(info);
  status.add_details()->PackFrom(bad);
  const absl::Status got = internal::FromGrpc(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, status.message(),
                   status.SerializeAsString()));
  EXPECT_EQ(ErrorReason(got), "INVALID_ARGUMENT");
  const std::vector<FieldViolation> violations = FieldViolations(got);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "query.page_size");
  EXPECT_EQ(violations[0].description, "must be at most 1000");
}

TEST(ErrorDetailsTest, TheSdkKeepsCodeAndMessageOfDetailsItCannotRead) {
  for (const std::string& details : {std::string(), std::string("\xff\xff\xff"),
                                     std::string("\x1a\x05"
                                                 "ab")}) {
    const absl::Status got = internal::FromGrpc(grpc::Status(
        grpc::StatusCode::NOT_FOUND, "articles/x not found", details));
    EXPECT_EQ(got.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(got.message(), "articles/x not found");
    EXPECT_EQ(ErrorReason(got), "");
    EXPECT_THAT(ErrorMetadata(got), IsEmpty());
    EXPECT_THAT(FieldViolations(got), IsEmpty());
  }
  EXPECT_TRUE(internal::FromGrpc(grpc::Status::OK).ok());
  EXPECT_EQ(ErrorReason(absl::OkStatus()), "");
}

}  // namespace
}  // namespace content
