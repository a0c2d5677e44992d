// Machine-readable error details (AIP-193): the reason an error is made
// with travels as an absl::Status payload through the store and service
// layers, which know nothing of gRPC, and the service edge sends it in the
// google.rpc.Status of the grpc-status-details-bin trailer.
//
// The payloads are keyed by the type URL their detail goes out under
// (kErrorInfoTypeUrl, kBadRequestTypeUrl) and hold that message serialized,
// so the edge copies them into google.protobuf.Any unchanged, and the SDK
// puts them back the same way (client/client.cc).
#ifndef CONTENT_SERVER_ERROR_DETAILS_H_
#define CONTENT_SERVER_ERROR_DETAILS_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace content {

// The ErrorInfo domain of every reason contentd gives.
inline constexpr char kErrorDomain[] = "contentd.v1";
inline constexpr char kErrorInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr char kRetryInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.RetryInfo";

// ErrorInfo reasons (README "Errors" lists their codes and metadata). An
// error made without one gets its code's name (NOT_FOUND, UNAVAILABLE, ...).
namespace reason {
inline constexpr char kArticleNotFound[] = "ARTICLE_NOT_FOUND";
inline constexpr char kRevisionNotFound[] = "REVISION_NOT_FOUND";
inline constexpr char kArticleDeleted[] = "ARTICLE_DELETED";
inline constexpr char kArticleAlreadyExists[] = "ARTICLE_ALREADY_EXISTS";
inline constexpr char kArticleNotDeleted[] = "ARTICLE_NOT_DELETED";
inline constexpr char kRevisionMismatch[] = "REVISION_MISMATCH";
inline constexpr char kEtagMismatch[] = "ETAG_MISMATCH";
inline constexpr char kArticleTooLarge[] = "ARTICLE_TOO_LARGE";
inline constexpr char kDiskFull[] = "DISK_FULL";
// RESOURCE_EXHAUSTED: a backup's destination volume has no room for the
// copy (metadata destination, free_bytes, needed_bytes); the store's own
// volume may have plenty.
inline constexpr char kDestinationFull[] = "DESTINATION_FULL";
inline constexpr char kRateLimitExceeded[] = "RATE_LIMIT_EXCEEDED";
inline constexpr char kResponseTooLarge[] = "RESPONSE_TOO_LARGE";
inline constexpr char kWatchTooSlow[] = "WATCH_TOO_SLOW";
inline constexpr char kExportTooSlow[] = "EXPORT_TOO_SLOW";
inline constexpr char kEventsTrimmed[] = "EVENTS_TRIMMED";
inline constexpr char kShuttingDown[] = "SHUTTING_DOWN";
inline constexpr char kTranslationNotFound[] = "TRANSLATION_NOT_FOUND";
inline constexpr char kTokenMissing[] = "TOKEN_MISSING";
inline constexpr char kTokenInvalid[] = "TOKEN_INVALID";
inline constexpr char kPermissionDenied[] = "PERMISSION_DENIED";
// FAILED_PRECONDITION on a shared store: an offline repair (contentd
// --check --repair) holds it.
inline constexpr char kRepairRunning[] = "REPAIR_RUNNING";
// FAILED_PRECONDITION: the indexes are marked incomplete (a repair started
// and did not finish, or is under way), so queries are not answered.
inline constexpr char kIndexRepairPending[] = "INDEX_REPAIR_PENDING";
// FAILED_PRECONDITION: a query with `text` to a store kept without the
// text index (text_index: false), which no page of it could answer.
inline constexpr char kTextIndexOff[] = "TEXT_INDEX_OFF";
// FAILED_PRECONDITION at start: the store's layout marker is newer than
// this build's (a newer contentd wrote it). No call gets it.
inline constexpr char kStoreLayoutNewer[] = "STORE_LAYOUT_NEWER";
// A write refused by a replica of a shared store that lost its presence
// lock: UNAVAILABLE while a repair holds it or the database is out of
// reach; the code of the database's error (INTERNAL for most, metadata
// `sqlstate`) when it answers taking the lock again with one.
inline constexpr char kPresenceLost[] = "PRESENCE_LOST";
}  // namespace reason

// ErrorInfo.metadata entries, in the order given.
using ErrorInfoMetadata = std::vector<std::pair<std::string, std::string>>;

// `s` with an ErrorInfo of `reason` (domain kErrorDomain) and `metadata`,
// replacing one it had. An OK `s` is returned as it is.
absl::Status WithReason(absl::Status s, absl::string_view reason,
                        ErrorInfoMetadata metadata = {});

// `s` with a RetryInfo asking the client to wait `delay` before trying
// again (AIP-193: a call refused before it did anything, as by a rate
// limit). An OK `s` is returned as it is.
absl::Status WithRetryDelay(absl::Status s, absl::Duration delay);

// An ErrorInfo of `reason` without metadata, serialized, for WithErrorInfo.
absl::Cord ErrorInfoOf(absl::string_view reason);
// `s` with `info` (from ErrorInfoOf) as its ErrorInfo. For errors a hot path
// makes in the normal course, as NOT_FOUND for a create's lookup of the head
// it is about to write: with `info` made once (a function-local static),
// this copies a reference and allocates nothing.
absl::Status WithErrorInfo(absl::Status s, const absl::Cord& info);

// The reason `s` carries in its ErrorInfo, else its code's name (what
// EncodeStatusDetails sends): for the results of ImportArticles and
// BatchGetArticles, which carry one error each. "" for OK.
std::string ReasonOf(const absl::Status& s);
// The metadata of the ErrorInfo `s` carries (what EncodeStatusDetails
// sends), empty if it has none: for the same results as ReasonOf.
std::map<std::string, std::string> MetadataOf(const absl::Status& s);

// INVALID_ARGUMENT "`field`: `rule`", with a BadRequest naming `field` and
// `rule` made here, where the check is, rather than read back from the
// message.
absl::Status InvalidField(absl::string_view field, absl::string_view rule);

// The violations of one request, collected so that a client learns of all
// of them at once (a bad name and a bad tag: both), in the order found.
// Add takes each check's INVALID_ARGUMENT (from InvalidField, or one naming
// its field as LeadingField reads it); Status makes one INVALID_ARGUMENT of
// them:
//  - message: the first violation's, then each other's after "; ", the
//    first kMaxViolations of them while the message stays within
//    kMaxMessageBytes, then " (and N more)" for the rest;
//  - a BadRequest with a violation per field the message gives;
//  - the first ErrorInfo they carry (ARTICLE_TOO_LARGE and its metadata).
// A field already given is not given again (a duplicate found by one check
// and another). An error that is not INVALID_ARGUMENT (the store failed to
// answer) is kept, and Status returns it alone: it is no fault of the
// request.
class Violations {
 public:
  static constexpr int kMaxViolations = 20;
  // The message and the BadRequest travel in the reply's trailers, which a
  // gRPC client refuses whole over 8 KiB (its default metadata limit:
  // RESOURCE_EXHAUSTED "received initial metadata size exceeds limit"),
  // the message percent-encoded (3 bytes per non-ASCII byte) and the
  // details in base64: 1 KiB of message keeps both well within it.
  static constexpr size_t kMaxMessageBytes = 1024;

  void Add(absl::Status s);
  // Adds "`field`: `rule`" (as InvalidField).
  void Add(absl::string_view field, absl::string_view rule);
  bool empty() const { return count_ == 0 && other_.ok(); }
  // OK if nothing was added.
  absl::Status Status() const;

 private:
  struct Entry {
    std::string field;  // "" where the message names none
    std::string rule;
    std::string message;
  };
  std::vector<Entry> entries_;    // at most kMaxViolations
  int count_ = 0;                 // all of them
  std::set<std::string> fields_;  // every field given
  absl::optional<absl::Cord> info_;
  absl::Status other_;
};

// The field an INVALID_ARGUMENT message names: the path before its first
// ": " (`query.tags[0]` of "query.tags[0]: must not be empty"), which every
// request check leads with (server/service/validation.h). Empty where the
// message leads with no field path: a space, quote or slash before the
// ": ", or `storage` and `request`, which name no field of a request.
absl::string_view LeadingField(absl::string_view message);

// The serialized google.rpc.Status for a failed `s`: its code and message,
// and as details the google.rpc payloads it carries, plus an ErrorInfo with
// the code's name as reason where it has none, and on INVALID_ARGUMENT a
// BadRequest naming LeadingField(message) where it has none (an error not
// made by InvalidField or Violations) and there is one. REQUIRES: !s.ok().
std::string EncodeStatusDetails(const absl::Status& s);

}  // namespace content

#endif  // CONTENT_SERVER_ERROR_DETAILS_H_
