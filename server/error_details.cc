#include "server/error_details.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
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

absl::Status WithRetryDelay(absl::Status s, absl::Duration delay) {
  if (s.ok()) return s;
  google::rpc::RetryInfo info;
  const int64_t nanos = absl::ToInt64Nanoseconds(delay);
  info.mutable_retry_delay()->set_seconds(nanos / 1000000000);
  info.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(nanos % 1000000000));
  s.SetPayload(kRetryInfoTypeUrl, absl::Cord(info.SerializeAsString()));
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

std::string ReasonOf(const absl::Status& s) {
  if (s.ok()) return "";
  const absl::optional<absl::Cord> payload = s.GetPayload(kErrorInfoTypeUrl);
  google::rpc::ErrorInfo info;
  if (payload.has_value() && info.ParseFromString(std::string(*payload)) &&
      !info.reason().empty()) {
    return info.reason();
  }
  return absl::StatusCodeToString(s.code());
}

std::map<std::string, std::string> MetadataOf(const absl::Status& s) {
  std::map<std::string, std::string> out;
  if (s.ok()) return out;
  const absl::optional<absl::Cord> payload = s.GetPayload(kErrorInfoTypeUrl);
  google::rpc::ErrorInfo info;
  if (payload.has_value() && info.ParseFromString(std::string(*payload)))
    out.insert(info.metadata().begin(), info.metadata().end());
  return out;
}

namespace {

absl::Cord BadRequestOf(
    const std::vector<std::pair<std::string, std::string>>& violations) {
  google::rpc::BadRequest bad;
  for (const auto& [field, rule] : violations) {
    google::rpc::BadRequest::FieldViolation* v = bad.add_field_violations();
    v->set_field(field);
    v->set_description(rule);
  }
  return absl::Cord(bad.SerializeAsString());
}

}  // namespace

absl::Status InvalidField(absl::string_view field, absl::string_view rule) {
  absl::Status s = absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
  s.SetPayload(kBadRequestTypeUrl,
               BadRequestOf({{std::string(field), std::string(rule)}}));
  return s;
}

void Violations::Add(absl::string_view field, absl::string_view rule) {
  Add(InvalidField(field, rule));
}

void Violations::Add(absl::Status s) {
  if (s.ok()) return;
  if (s.code() != absl::StatusCode::kInvalidArgument) {
    if (other_.ok()) other_ = std::move(s);
    return;
  }
  if (!info_.has_value()) info_ = s.GetPayload(kErrorInfoTypeUrl);
  // The fields it names: its BadRequest's, else the message's.
  std::vector<Entry> found;
  const absl::optional<absl::Cord> bad = s.GetPayload(kBadRequestTypeUrl);
  google::rpc::BadRequest parsed;
  if (bad.has_value() && parsed.ParseFromString(std::string(*bad)) &&
      parsed.field_violations_size() > 0) {
    if (parsed.field_violations_size() == 1) {
      found.push_back({parsed.field_violations(0).field(),
                       parsed.field_violations(0).description(),
                       std::string(s.message())});
    } else {
      // Another collection's: one entry per field, as it made them.
      for (const auto& v : parsed.field_violations()) {
        found.push_back({v.field(), v.description(),
                         absl::StrCat(v.field(), ": ", v.description())});
      }
    }
  } else {
    const absl::string_view field = LeadingField(s.message());
    found.push_back(
        {std::string(field),
         std::string(field.empty() ? s.message()
                                   : s.message().substr(field.size() + 2)),
         std::string(s.message())});
  }
  for (Entry& e : found) {
    if (!e.field.empty() && !fields_.insert(e.field).second) continue;
    ++count_;
    if (entries_.size() < kMaxViolations) entries_.push_back(std::move(e));
  }
}

absl::Status Violations::Status() const {
  if (!other_.ok()) return other_;
  if (count_ == 0) return absl::OkStatus();
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
  int given = 0;
  for (const Entry& e : entries_) {
    // (The first is given whole, as a request with one fault always was.)
    if (given > 0 && message.size() + 2 + e.message.size() > kMaxMessageBytes) {
      break;
    }
    if (!message.empty()) message += "; ";
    message += e.message;
    if (!e.field.empty()) fields.emplace_back(e.field, e.rule);
    ++given;
  }
  if (count_ > given) {
    absl::StrAppend(&message, " (and ", count_ - given, " more)");
  }
  absl::Status s = absl::InvalidArgumentError(message);
  if (!fields.empty()) s.SetPayload(kBadRequestTypeUrl, BadRequestOf(fields));
  if (info_.has_value()) s.SetPayload(kErrorInfoTypeUrl, *info_);
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
  const absl::optional<absl::Cord> retry = s.GetPayload(kRetryInfoTypeUrl);
  if (retry.has_value()) {
    any = out.add_details();
    any->set_type_url(kRetryInfoTypeUrl);
    any->set_value(std::string(*retry));
  }
  return out.SerializeAsString();
}

}  // namespace content
