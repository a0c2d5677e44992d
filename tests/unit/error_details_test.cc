// The error details (AIP-193) both ways: the server's absl::Status ->
// grpc::Status with a google.rpc.Status (server/service/reactors.h), and the
// SDK's grpc::Status -> absl::Status with payloads and the accessors that
// read them (client/grpc_status.h, content/client.h).
#include "server/error_details.h"

#include <limits>
#include <string>
#include <vector>

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

// The BadRequest of what a request check refuses is made where the check
// is, not read back from the message.
TEST(ErrorDetailsTest, ValidationAttachesTheFieldWhereItIsMade) {
  service::Limits limits;
  v1::Query q;
  q.add_tags(" spaced");
  const absl::Status s = service::ValidateQuery(q, limits);
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  const absl::optional<absl::Cord> payload = s.GetPayload(kBadRequestTypeUrl);
  ASSERT_TRUE(payload.has_value()) << "no BadRequest payload on " << s;
  google::rpc::BadRequest bad;
  ASSERT_TRUE(bad.ParseFromString(std::string(*payload)));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "query.tags[0]");
  EXPECT_EQ(bad.field_violations(0).description(),
            "must not start or end with a space: \" spaced\"");

  // A field the message's words would not give (LeadingField takes none
  // with a space) still comes from the payload.
  const absl::Status made = InvalidField("a.b", "x");
  const absl::Status odd(absl::StatusCode::kInvalidArgument, "some words: x");
  absl::Status with = odd;
  with.SetPayload(kBadRequestTypeUrl, *made.GetPayload(kBadRequestTypeUrl));
  const absl::Status got = internal::FromGrpc(service::ToGrpcStatus(with));
  ASSERT_EQ(FieldViolations(got).size(), 1u);
  EXPECT_EQ(FieldViolations(got)[0].field, "a.b");
}

// Every violation of one article, the first first, in the message and one
// FieldViolation each.
TEST(ErrorDetailsTest, EveryViolationOfAnArticleIsGiven) {
  service::Limits limits;
  v1::Article a;
  a.set_title(" ");
  a.add_tags("ok");
  a.add_tags(" bad");
  a.add_lang("");  // empty and not a language tag: one violation
  (*a.mutable_params()->mutable_fields())["rating"].set_number_value(
      std::numeric_limits<double>::infinity());
  const absl::Status s = service::ValidateArticle(a, limits, "article");
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(),
            "article.title: is required; article.tags[1]: must not start or "
            "end with a space: \" bad\"; article.lang[0]: must not be empty; "
            "article.params.rating: must be a finite number");
  const absl::Status got = internal::FromGrpc(service::ToGrpcStatus(s));
  EXPECT_EQ(ErrorReason(got), "INVALID_ARGUMENT");
  const std::vector<FieldViolation> v = FieldViolations(got);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].field, "article.title");
  EXPECT_EQ(v[0].description, "is required");
  EXPECT_EQ(v[1].field, "article.tags[1]");
  EXPECT_EQ(v[2].field, "article.lang[0]");
  EXPECT_EQ(v[2].description, "must not be empty");
  EXPECT_EQ(v[3].field, "article.params.rating");
  EXPECT_EQ(v[3].description, "must be a finite number");
}

// At most 20 are given; the message says how many more there were.
TEST(ErrorDetailsTest, ViolationsAreBounded) {
  service::Limits limits;
  v1::Article a;
  a.set_title("t");
  for (int i = 0; i < 30; ++i) a.add_tags("");
  const absl::Status s = service::ValidateArticle(a, limits, "article");
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()),
              ::testing::StartsWith("article.tags[0]: must not be empty; "
                                    "article.tags[1]: must not be empty; "));
  EXPECT_THAT(
      std::string(s.message()),
      ::testing::EndsWith("article.tags[19]: must not be empty (and 10 more)"));
  const std::vector<FieldViolation> v =
      FieldViolations(internal::FromGrpc(service::ToGrpcStatus(s)));
  ASSERT_EQ(v.size(), 20u);
  EXPECT_EQ(v[19].field, "article.tags[19]");
}

// An article over the size limit keeps its reason beside the others.
TEST(ErrorDetailsTest, ATooLargeArticleKeepsItsReasonAmongOthers) {
  service::Limits limits;
  limits.max_article_bytes = 100;
  v1::Article a;
  a.set_body(std::string(200, 'x'));
  const absl::Status s = service::ValidateArticle(a, limits, "article");
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  const absl::Status got = internal::FromGrpc(service::ToGrpcStatus(s));
  EXPECT_EQ(ErrorReason(got), "ARTICLE_TOO_LARGE");
  EXPECT_EQ(ErrorMetadata(got)["limit_bytes"], "100");
  const std::vector<FieldViolation> v = FieldViolations(got);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "article.body");
  EXPECT_EQ(v[1].field, "article.title");
}

// NaN and the infinities, anywhere in params: a JSON printer has no
// number for them.
TEST(ErrorDetailsTest, ParamsNumbersMustBeFinite) {
  service::Limits limits;
  for (double d : {std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    v1::Article a;
    a.set_title("t");
    google::protobuf::Value& list =
        (*(*a.mutable_params()->mutable_fields())["scores"]
              .mutable_struct_value()
              ->mutable_fields())["list"];
    list.mutable_list_value()->add_values()->set_number_value(1);
    list.mutable_list_value()->add_values()->set_number_value(d);
    const absl::Status s = service::ValidateArticle(a, limits, "article");
    EXPECT_EQ(s.message(),
              "article.params.scores.list[1]: must be a finite number")
        << d;
    EXPECT_TRUE(absl::IsInvalidArgument(s));
  }
  v1::Article fine;
  fine.set_title("t");
  (*fine.mutable_params()->mutable_fields())["rating"].set_number_value(
      std::numeric_limits<double>::max());
  EXPECT_TRUE(service::ValidateArticle(fine, limits, "article").ok());
}

TEST(ErrorDetailsTest, ReasonOf) {
  EXPECT_EQ(ReasonOf(absl::OkStatus()), "");
  EXPECT_EQ(ReasonOf(absl::NotFoundError("x")), "NOT_FOUND");
  EXPECT_EQ(ReasonOf(WithReason(absl::NotFoundError("x"),
                                reason::kTranslationNotFound)),
            "TRANSLATION_NOT_FOUND");
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
