// Posting-list streams: every filter is a sorted stream of (date, id), and a
// query is set algebra over streams.
#ifndef CONTENT_SERVER_QUERY_STREAM_H_
#define CONTENT_SERVER_QUERY_STREAM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/store/kv.h"
#include "server/store/store.h"

namespace content::query {

// A position in a posting list: date key (newest first) then id.
struct Cursor {
  uint64_t date_key = 0;
  std::string id;
};

// Three-way comparison in stream order: newest first, or oldest first when
// `reverse`.
int Compare(const Cursor& a, const Cursor& b, bool reverse);

// Date bounds in date-key space: keys in [lo, hi), hi == 0 meaning no bound.
struct DateKeyRange {
  uint64_t lo = 0;
  uint64_t hi = 0;
};

// A sorted stream of postings. Not thread-safe.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual bool Valid() const = 0;
  // REQUIRES: Valid().
  virtual const Cursor& cursor() const = 0;
  // A revision of the article at the cursor that its head may have passed
  // (an update leaves the entries it keeps as they are: keys.h), or 0 if no
  // list under the cursor is written with the head. Text lists are not: an
  // import ingests them before its batch commits (KvEngine::Ingest), so
  // their articles are read through the head. REQUIRES: Valid().
  virtual int64_t revision() const = 0;
  virtual void Next() = 0;
  // Moves to the first entry at or after `target` in stream order. Never
  // moves backwards.
  virtual void Seek(const Cursor& target) = 0;
  // Not OK if the stream ended on an error.
  virtual absl::Status status() const = 0;
  // Upper-bound estimate of the entries in the stream (ignoring dates).
  virtual int64_t EstimatedSize() const = 0;
  // The fingerprints of the tags of the article at the cursor, as a tag
  // posting carries them (store/keys.h), or "" if the entry carries none.
  // REQUIRES: Valid().
  virtual absl::string_view tag_fingerprints() const { return {}; }
  // For a stream of one tag's lists, that tag's fingerprint: an AND checks
  // it on its leader's entries instead of seeking this stream.
  virtual std::optional<uint32_t> tag() const { return std::nullopt; }
};

// One posting list (`prefix` from store::PostingPrefix) within `range`.
// Starts at its first entry.
std::unique_ptr<Stream> NewTermStream(const store::ReadView& view,
                                      std::string prefix, DateKeyRange range,
                                      bool reverse);
// One entry of a stream held in memory: a cursor and a revision its article
// has (Stream::revision).
struct StreamEntry {
  Cursor cursor;
  int64_t revision = 0;
};
// `entries` as a stream, for a candidate set gathered outside the posting
// lists (RunQuery's scheduled articles). REQUIRES: sorted in stream order
// (Compare), each cursor once.
std::unique_ptr<Stream> NewVectorStream(std::vector<StreamEntry> entries,
                                        bool reverse);
// Entries in every child (leapfrog intersection). Children with a tag()
// are not seeked for leader entries that carry tag fingerprints: such an
// entry without the child's fingerprint is skipped, and one with it is
// taken, so a fingerprint collision can let through an article without the
// tag, which the caller rules out on the article. REQUIRES: children
// non-empty, all in the same order.
std::unique_ptr<Stream> NewAndStream(
    std::vector<std::unique_ptr<Stream>> children, bool reverse);
// Entries in any child, each once (k-way merge).
std::unique_ptr<Stream> NewOrStream(
    std::vector<std::unique_ptr<Stream>> children, bool reverse);

// Entries of `base` that are not in `excluded` (NOT). Costs one Seek of
// `excluded` per entry of `base` examined. REQUIRES: both in the same order.
std::unique_ptr<Stream> NewDifferenceStream(std::unique_ptr<Stream> base,
                                            std::unique_ptr<Stream> excluded,
                                            bool reverse);

}  // namespace content::query

#endif  // CONTENT_SERVER_QUERY_STREAM_H_
