// ImportArticles and ExportArticles stream reactors.
#ifndef CONTENT_SERVER_SERVICE_BULK_H_
#define CONTENT_SERVER_SERVICE_BULK_H_

#include <grpcpp/grpcpp.h>

#include "content/v1/content_service.pb.h"
#include "server/service/validation.h"
#include "server/service/work_queue.h"
#include "server/store/store.h"

namespace content::service {

// Most articles in one ImportArticles request.
inline constexpr int kMaxImportBatch = 1000;

// One ImportArticles call (raw: serialized ImportArticlesRequest and
// Response): reads a batch, writes it on `writes` (one store batch, one
// sync), answers it, then reads the next, so a client can never queue more
// than one batch of work on the server. An article that does not parse
// fails alone (gRPC would end the stream at it, as if the client had).
grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewImportReactor(
    store::Store* store, WorkQueue* writes, const Limits& limits);

// One ExportArticles call: pages through the query and writes a batch at a
// time, reading the next page only when the client took the last one, and
// stopping when `ctx` is cancelled (or its deadline passes).
grpc::ServerWriteReactor<v1::ExportArticlesResponse>* NewExportReactor(
    grpc::CallbackServerContext* ctx, store::Store* store, const Limits& limits,
    const v1::ExportArticlesRequest& request);

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_BULK_H_
