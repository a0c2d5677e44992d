#include "server/service/request_id.h"

#include <grpc/grpc.h>

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/request_id.h"
#include "server/error_details.h"
#include "server/service/reactors.h"

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

// The services whose handlers are gRPC's; ours check in their handlers,
// before any work (a write must not be applied and then refused).
constexpr const char* kGrpcServicePrefixes[] = {"/grpc.health.v1.Health/",
                                                "/grpc.reflection."};

class RequestIdInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit RequestIdInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    grpc::ServerContextBase* ctx = info_->server_context();
    if (ctx != nullptr &&
        methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      refusal_ = CheckRequestId(*ctx);
      if (!refusal_.ok() &&
          info_->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) {
        // The client sees this code and message; the handler sees a
        // cancelled call, and its status is replaced below for the log.
        const std::string message(refusal_.message());
        grpc_call_cancel_with_status(ctx->c_call(),
                                     GRPC_STATUS_INVALID_ARGUMENT,
                                     message.c_str(), nullptr);
      }
    }
    if (!refusal_.ok() && methods->QueryInterceptionHookPoint(
                              InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(ToGrpcStatus(refusal_));
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  absl::Status refusal_;  // OK: the id is good, or none was sent
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (info->method() == nullptr) return nullptr;
    for (const char* prefix : kGrpcServicePrefixes) {
      if (std::strncmp(info->method(), prefix, std::strlen(prefix)) == 0) {
        return new RequestIdInterceptor(info);
      }
    }
    return nullptr;
  }
};

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

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRequestIdInterceptorFactory() {
  return std::make_unique<Factory>();
}

}  // namespace content::service
