// Turns gRPC's bare UNIMPLEMENTED for a request that does not parse into an
// INVALID_ARGUMENT that says why.
//
// gRPC's callback API answers a request it cannot deserialize (malformed
// protobuf, a `string` field that is not valid UTF-8, nesting deeper than
// protobuf's recursion limit) with UNIMPLEMENTED and an empty message, which
// reads as "this server lacks the method". Our handlers never return
// UNIMPLEMENTED, so on this service's methods that status can only mean a
// request that did not parse.
#ifndef CONTENT_SERVER_SERVICE_PARSE_ERROR_INTERCEPTOR_H_
#define CONTENT_SERVER_SERVICE_PARSE_ERROR_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace content::service {

// The error a request that does not parse gets.
inline constexpr char kUnparsableRequest[] =
    "request: cannot be parsed: not a valid protobuf message, a string field "
    "is not valid UTF-8, or it nests deeper than 100 levels";

// Register with ServerBuilder::experimental().SetInterceptorCreators.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewParseErrorInterceptorFactory();

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_PARSE_ERROR_INTERCEPTOR_H_
