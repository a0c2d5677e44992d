#include "server/service/parse_error_interceptor.h"

#include <cstring>
#include <string>

#include "google/protobuf/descriptor.h"
#include "server/service/reactors.h"

namespace content::service {
namespace {

constexpr char kServicePrefix[] = "/content.v1.ContentService/";

class ParseErrorInterceptor : public grpc::experimental::Interceptor {
 public:
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        methods->ModifySendStatus(
            ToGrpcStatus(absl::InvalidArgumentError(kUnparsableRequest)));
      }
    }
    methods->Proceed();
  }
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // Only methods this service has: an unknown one stays UNIMPLEMENTED.
    if (info->method() == nullptr ||
        std::strncmp(info->method(), kServicePrefix,
                     sizeof(kServicePrefix) - 1) != 0) {
      return nullptr;
    }
    std::string full_name = info->method() + 1;  // drop the leading '/'
    full_name[full_name.find('/')] = '.';
    if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
            full_name) == nullptr) {
      return nullptr;
    }
    return new ParseErrorInterceptor();
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewParseErrorInterceptorFactory() {
  return std::make_unique<Factory>();
}

}  // namespace content::service
