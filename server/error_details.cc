#include "server/error_details.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace content {

absl::Status WithReason(absl::Status s, absl::string_view reason,
                        ErrorInfoMetadata metadata) {
  if (s.ok()) return s;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kErrorDomain);
  for (auto& [key, value] : metadata)
    (*info.mutable_metadata())[std::move(key)] = std::move(value);
  s.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return s;
}

absl::Cord ErrorInfoOf(absl::string_view reason) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kErrorDomain);
  return absl::Cord(info.SerializeAsString());
}

absl::Status WithErrorInfo(absl::Status s, const absl::Cord& info) {
  s.SetPayload(kErrorInfoTypeUrl, info);
  return s;
}

absl::string_view LeadingField(absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return {};
  const absl::string_view field = message.substr(0, colon);
  if (!absl::ascii_islower(static_cast<unsigned char>(field.front())))
    return {};
  for (char c : field) {
    const auto u = static_cast<unsigned char>(c);
    if (!absl::ascii_isalnum(u) && c != '_' && c != '.' && c != '[' &&
        c != ']' && c != '-') {
      return {};
    }
  }
  if (field == "storage" || field == "request") return {};
  return field;
}

std::string EncodeStatusDetails(const absl::Status& s) {
  google::rpc::Status out;
  out.set_code(static_cast<int>(s.code()));
  out.set_message(std::string(s.message()));
  const absl::optional<absl::Cord> info = s.GetPayload(kErrorInfoTypeUrl);
  google::protobuf::Any* any = out.add_details();
  if (info.has_value()) {
    any->set_type_url(kErrorInfoTypeUrl);
    any->set_value(std::string(*info));
  } else {
    google::rpc::ErrorInfo made;
    made.set_reason(absl::StatusCodeToString(s.code()));
    made.set_domain(kErrorDomain);
    any->PackFrom(made);
  }
  const absl::optional<absl::Cord> bad = s.GetPayload(kBadRequestTypeUrl);
  if (bad.has_value()) {
    any = out.add_details();
    any->set_type_url(kBadRequestTypeUrl);
    any->set_value(std::string(*bad));
  } else if (s.code() == absl::StatusCode::kInvalidArgument) {
    const absl::string_view field = LeadingField(s.message());
    if (!field.empty()) {
      google::rpc::BadRequest made;
      google::rpc::BadRequest::FieldViolation* v = made.add_field_violations();
      v->set_field(std::string(field));
      v->set_description(std::string(s.message().substr(field.size() + 2)));
      out.add_details()->PackFrom(made);
    }
  }
  return out.SerializeAsString();
}

}  // namespace content
