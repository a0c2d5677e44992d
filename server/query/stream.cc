#include "server/query/stream.h"

#include <algorithm>
#include <utility>

#include "server/store/keys.h"

namespace content::query {

int Compare(const Cursor& a, const Cursor& b, bool reverse) {
  int c = 0;
  if (a.date_key != b.date_key) {
    c = a.date_key < b.date_key ? -1 : 1;
  } else {
    c = a.id.compare(b.id);
    c = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return reverse ? -c : c;
}

namespace {

class TermStream : public Stream {
 public:
  TermStream(const store::ReadView& view, std::string prefix,
             DateKeyRange range, bool reverse)
      : prefix_(std::move(prefix)),
        reverse_(reverse),
        exact_(store::KindOf(static_cast<unsigned char>(prefix_[0])) !=
               store::IndexKind::kText),
        tag_list_(store::KindOf(static_cast<unsigned char>(prefix_[0])) ==
                  store::IndexKind::kTag),
        count_(view.Count(prefix_)) {
    if (tag_list_ && prefix_.size() >= 2) {
      tag_ = store::TagFingerprint(
          absl::string_view(prefix_).substr(1, prefix_.size() - 2));
    }
    std::string lower = store::PostingKey(prefix_, range.lo, "");
    std::string upper = range.hi == 0
                            ? store::PrefixSuccessor(prefix_)
                            : store::PostingKey(prefix_, range.hi, "");
    it_ = view.Postings(std::move(lower), std::move(upper));
    if (reverse_) {
      it_->SeekToLast();
    } else {
      it_->SeekToFirst();
    }
    Load();
  }

  bool Valid() const override { return valid_; }
  const Cursor& cursor() const override { return cursor_; }
  int64_t revision() const override { return exact_ ? revision_ : 0; }
  void Next() override {
    if (reverse_) {
      it_->Prev();
    } else {
      it_->Next();
    }
    Load();
  }
  void Seek(const Cursor& target) override {
    if (!valid_ || Compare(cursor_, target, reverse_) >= 0) return;
    // A RocksDB Seek re-positions every memtable and level iterator; in a
    // dense intersection the target is usually a step or two ahead, and a
    // few Next calls are much cheaper than that (leapfrog's galloping).
    for (int step = 0; step < kStepsBeforeSeek; ++step) {
      Next();
      if (!valid_ || Compare(cursor_, target, reverse_) >= 0) return;
    }
    const std::string key =
        store::PostingKey(prefix_, target.date_key, target.id);
    if (reverse_) {
      it_->SeekForPrev(key);
    } else {
      it_->Seek(key);
    }
    Load();
  }
  absl::Status status() const override { return it_->status(); }
  int64_t EstimatedSize() const override { return count_; }
  absl::string_view tag_fingerprints() const override { return fingerprints_; }
  std::optional<uint32_t> tag() const override { return tag_; }

 private:
  void Load() {
    valid_ = it_->Valid();
    if (!valid_) return;
    absl::string_view id;
    const absl::string_view value = it_->value();
    if (!store::ParsePostingKey(it_->key(), prefix_.size(), &cursor_.date_key,
                                &id) ||
        value.size() < 8 ||
        (value.size() > 8 &&
         (!tag_list_ ||
          (value.size() - 8) % store::kTagFingerprintBytes != 0))) {
      valid_ = false;  // A foreign key inside our bounds: stop, not crash.
      return;
    }
    cursor_.id.assign(id.data(), id.size());
    revision_ = static_cast<int64_t>(store::ReadBigEndian64(value));
    fingerprints_.assign(value.data() + 8, value.size() - 8);
  }

  static constexpr int kStepsBeforeSeek = 4;

  const std::string prefix_;
  const bool reverse_;
  const bool exact_;  // not a text list (revision())
  const bool tag_list_;
  const int64_t count_;
  std::optional<uint32_t> tag_;
  std::string fingerprints_;  // of the entry at the cursor
  std::unique_ptr<store::KvIterator> it_;
  bool valid_ = false;
  Cursor cursor_;
  int64_t revision_ = 0;
};

class VectorStream : public Stream {
 public:
  VectorStream(std::vector<StreamEntry> entries, bool reverse)
      : entries_(std::move(entries)), reverse_(reverse) {}

  bool Valid() const override { return next_ < entries_.size(); }
  const Cursor& cursor() const override { return entries_[next_].cursor; }
  int64_t revision() const override { return entries_[next_].revision; }
  void Next() override { ++next_; }
  void Seek(const Cursor& target) override {
    auto it = std::lower_bound(entries_.begin() + next_, entries_.end(), target,
                               [&](const StreamEntry& e, const Cursor& t) {
                                 return Compare(e.cursor, t, reverse_) < 0;
                               });
    next_ = static_cast<size_t>(it - entries_.begin());
  }
  absl::Status status() const override { return absl::OkStatus(); }
  int64_t EstimatedSize() const override {
    return static_cast<int64_t>(entries_.size());
  }

 private:
  const std::vector<StreamEntry> entries_;
  const bool reverse_;
  size_t next_ = 0;
};

class AndStream : public Stream {
 public:
  AndStream(std::vector<std::unique_ptr<Stream>> children, bool reverse)
      : children_(std::move(children)), reverse_(reverse) {
    // Most selective first: it leads the leapfrog and fails fastest.
    std::sort(children_.begin(), children_.end(),
              [](const auto& a, const auto& b) {
                return a->EstimatedSize() < b->EstimatedSize();
              });
    for (const auto& c : children_) tags_.push_back(c->tag());
    Align();
  }
  bool Valid() const override { return valid_; }
  const Cursor& cursor() const override { return children_[0]->cursor(); }
  int64_t revision() const override {
    // The closest to the head, of the children at the cursor: a tag child
    // the leader's fingerprints answered for was not moved and stands at
    // another article, whose revision a shared store would read as this
    // one's (ReadView::StoredLatest).
    const Cursor& at = children_[0]->cursor();
    int64_t newest = 0;
    for (const auto& c : children_) {
      if (c->Valid() && Compare(c->cursor(), at, reverse_) == 0)
        newest = std::max(newest, c->revision());
    }
    return newest;
  }
  void Next() override {
    children_[0]->Next();
    Align();
  }
  void Seek(const Cursor& target) override {
    if (!valid_) return;
    children_[0]->Seek(target);
    Align();
  }
  absl::Status status() const override {
    for (const auto& c : children_) {
      if (!c->status().ok()) return c->status();
    }
    return absl::OkStatus();
  }
  int64_t EstimatedSize() const override {
    return children_[0]->EstimatedSize();
  }
  absl::string_view tag_fingerprints() const override {
    return children_[0]->tag_fingerprints();
  }

 private:
  // Leapfrog: seek every stream to the furthest one until all agree. A
  // leader entry with tag fingerprints answers for the tag children at
  // once: at 1M articles, seeking a popular tag's list once per candidate
  // of a rarer one was most of a two-tag page's CPU.
  void Align() {
    valid_ = false;
    while (true) {
      Stream& lead = *children_[0];
      if (!lead.Valid()) return;
      const absl::string_view fingerprints = lead.tag_fingerprints();
      if (!fingerprints.empty()) {
        bool all = true;
        for (size_t i = 1; i < children_.size() && all; ++i) {
          all = !tags_[i].has_value() ||
                store::HasTagFingerprint(fingerprints, *tags_[i]);
        }
        if (!all) {
          lead.Next();
          continue;
        }
      }
      Cursor target = lead.cursor();
      bool agreed = true;
      for (size_t i = 1; i < children_.size(); ++i) {
        Stream& c = *children_[i];
        if (!fingerprints.empty() && tags_[i].has_value()) continue;
        c.Seek(target);
        if (!c.Valid()) return;
        if (Compare(c.cursor(), target, reverse_) != 0) {
          target = c.cursor();
          agreed = false;
          break;
        }
      }
      if (agreed) {
        valid_ = true;
        return;
      }
      children_[0]->Seek(target);
    }
  }

  std::vector<std::unique_ptr<Stream>> children_;
  std::vector<std::optional<uint32_t>> tags_;  // children_[i]->tag()
  const bool reverse_;
  bool valid_ = false;
};

class OrStream : public Stream {
 public:
  OrStream(std::vector<std::unique_ptr<Stream>> children, bool reverse)
      : children_(std::move(children)), reverse_(reverse) {
    PickCurrent();
  }
  bool Valid() const override { return current_ != nullptr; }
  const Cursor& cursor() const override { return current_->cursor(); }
  int64_t revision() const override { return current_->revision(); }
  void Next() override {
    const Cursor at = current_->cursor();
    for (auto& c : children_) {
      if (c->Valid() && Compare(c->cursor(), at, reverse_) == 0) c->Next();
    }
    PickCurrent();
  }
  void Seek(const Cursor& target) override {
    for (auto& c : children_) c->Seek(target);
    PickCurrent();
  }
  absl::Status status() const override {
    for (const auto& c : children_) {
      if (!c->status().ok()) return c->status();
    }
    return absl::OkStatus();
  }
  int64_t EstimatedSize() const override {
    int64_t sum = 0;
    for (const auto& c : children_) sum += c->EstimatedSize();
    return sum;
  }
  absl::string_view tag_fingerprints() const override {
    return current_->tag_fingerprints();
  }
  // The copies of one tag's lists (live, unpublished, deleted) share it.
  std::optional<uint32_t> tag() const override {
    std::optional<uint32_t> t = children_[0]->tag();
    for (const auto& c : children_) {
      if (!t.has_value() || c->tag() != t) return std::nullopt;
    }
    return t;
  }

 private:
  void PickCurrent() {
    current_ = nullptr;
    for (auto& c : children_) {
      if (!c->Valid()) continue;
      if (current_ == nullptr ||
          Compare(c->cursor(), current_->cursor(), reverse_) < 0) {
        current_ = c.get();
      }
    }
  }

  std::vector<std::unique_ptr<Stream>> children_;
  const bool reverse_;
  Stream* current_ = nullptr;
};

class DifferenceStream : public Stream {
 public:
  DifferenceStream(std::unique_ptr<Stream> base,
                   std::unique_ptr<Stream> excluded, bool reverse)
      : base_(std::move(base)),
        excluded_(std::move(excluded)),
        reverse_(reverse) {
    Skip();
  }
  bool Valid() const override { return base_->Valid(); }
  const Cursor& cursor() const override { return base_->cursor(); }
  int64_t revision() const override { return base_->revision(); }
  void Next() override {
    base_->Next();
    Skip();
  }
  void Seek(const Cursor& target) override {
    base_->Seek(target);
    Skip();
  }
  absl::Status status() const override {
    if (!base_->status().ok()) return base_->status();
    return excluded_->status();
  }
  // The excluded entries are not subtracted: an upper bound.
  int64_t EstimatedSize() const override { return base_->EstimatedSize(); }

 private:
  // Advances `base_` past entries that `excluded_` also holds. Both only
  // move forward, so the whole walk is one merge of the two lists.
  void Skip() {
    while (base_->Valid()) {
      excluded_->Seek(base_->cursor());
      if (!excluded_->Valid() ||
          Compare(excluded_->cursor(), base_->cursor(), reverse_) != 0) {
        return;
      }
      base_->Next();
    }
  }

  std::unique_ptr<Stream> base_;
  std::unique_ptr<Stream> excluded_;
  const bool reverse_;
};

}  // namespace

std::unique_ptr<Stream> NewDifferenceStream(std::unique_ptr<Stream> base,
                                            std::unique_ptr<Stream> excluded,
                                            bool reverse) {
  return std::make_unique<DifferenceStream>(std::move(base),
                                            std::move(excluded), reverse);
}

std::unique_ptr<Stream> NewTermStream(const store::ReadView& view,
                                      std::string prefix, DateKeyRange range,
                                      bool reverse) {
  return std::make_unique<TermStream>(view, std::move(prefix), range, reverse);
}

std::unique_ptr<Stream> NewVectorStream(std::vector<StreamEntry> entries,
                                        bool reverse) {
  return std::make_unique<VectorStream>(std::move(entries), reverse);
}

std::unique_ptr<Stream> NewAndStream(
    std::vector<std::unique_ptr<Stream>> children, bool reverse) {
  if (children.size() == 1) return std::move(children[0]);
  return std::make_unique<AndStream>(std::move(children), reverse);
}

std::unique_ptr<Stream> NewOrStream(
    std::vector<std::unique_ptr<Stream>> children, bool reverse) {
  if (children.size() == 1) return std::move(children[0]);
  return std::make_unique<OrStream>(std::move(children), reverse);
}

}  // namespace content::query
