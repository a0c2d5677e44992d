#include "server/service/request_id.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/request_id.h"
#include "server/error_details.h"

namespace content::service {
namespace {

// The one id the caller sent (set in *id), "" if none; else the rule broken.
std::string Problem(const grpc::ServerContextBase& ctx, absl::string_view* id) {
  const auto range =
      ctx.client_metadata().equal_range(internal::kRequestIdMetadata);
  const auto n = std::distance(range.first, range.second);
  if (n == 0) return "";
  if (n > 1) return absl::StrCat("must be sent once, got ", n, " values");
  *id =
      absl::string_view(range.first->second.data(), range.first->second.size());
  return internal::RequestIdProblem(std::string_view(id->data(), id->size()));
}

}  // namespace

absl::Status CheckRequestId(const grpc::ServerContextBase& ctx) {
  absl::string_view id;
  const std::string rule = Problem(ctx, &id);
  if (rule.empty()) return absl::OkStatus();
  return InvalidField(internal::kRequestIdMetadata,
                      absl::StrCat("metadata ", rule));
}

std::string RequestIdOf(const grpc::ServerContextBase& ctx) {
  absl::string_view id;
  if (!Problem(ctx, &id).empty()) return "";
  return std::string(id);
}

}  // namespace content::service
