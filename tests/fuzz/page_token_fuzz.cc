// Fuzzes page tokens against a small real store: arbitrary token text, and
// arbitrary payloads sealed with the store's own key (so the decoder behind
// the HMAC is reached too). Property: RunQuery never crashes, rejects what
// it cannot use with INVALID_ARGUMENT, and any page it returns holds only
// matching articles, each once.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/query/engine.h"
#include "server/query/page_token.h"
#include "server/store/store.h"

namespace {

content::store::Store* store = nullptr;
std::string* store_dir = nullptr;

void Check(const absl::StatusOr<content::query::QueryPage>& page,
           const content::v1::Query& query) {
  if (!page.ok()) {
    if (page.status().code() != absl::StatusCode::kInvalidArgument) {
      std::cerr << "unexpected status " << page.status() << "\n";
      std::abort();
    }
    return;
  }
  std::set<std::string> seen;
  for (const content::v1::Article& a : page->articles) {
    if (!seen.insert(a.name()).second) {
      std::cerr << a.name() << " returned twice\n";
      std::abort();
    }
    bool tagged = query.tags().empty();
    for (const std::string& t : a.tags())
      tagged |= !query.tags().empty() && t == query.tags(0);
    if (!tagged || a.has_delete_time()) {
      std::cerr << a.name() << " does not match\n";
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  store_dir = new std::string((std::filesystem::temp_directory_path() /
                               absl::StrCat("page_token_fuzz.", getpid()))
                                  .string());
  const std::string& dir = *store_dir;
  content::store::StoreOptions options;
  options.data_dir = dir;
  options.sync = false;
  options.block_cache_bytes = size_t{4} << 20;
  auto opened = content::store::Store::Open(options);
  if (!opened.ok()) {
    std::cerr << opened.status() << "\n";
    std::abort();
  }
  store = opened->release();  // lives for the whole run
  for (int i = 0; i < 30; ++i) {
    content::v1::Article a;
    a.set_title(absl::StrCat("t", i));
    a.add_tags(i % 2 ? "odd" : "even");
    a.add_lang(i % 3 ? "en" : "zh-CN");
    a.mutable_date()->set_seconds(1700000000 + (i % 7) * 3600);
    (void)store->Create(absl::StrCat("a", i), a);
  }
  (void)store->Delete("a3", {});
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(*store_dir, ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: which query and page size; the rest: the token material.
  const uint8_t selector = data[0];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  content::v1::Query query;
  if (selector & 1) query.add_tags(selector & 2 ? "odd" : "even");
  if (selector & 4) query.add_langs("en");
  if (selector & 8) query.set_order(content::v1::Query::ORDER_OLDEST_FIRST);
  const int page_size = 1 + (selector >> 4);
  // As text, exactly as a client could send it.
  Check(content::query::RunQuery(*store, query, page_size, rest), query);
  // As a payload sealed with the real key: only the decoder stands between
  // these bytes and the engine.
  const std::string sealed =
      content::query::SealPageToken(rest, store->token_key());
  absl::StatusOr<std::string> opened =
      content::query::OpenPageToken(sealed, store->token_key());
  if (!opened.ok() || *opened != rest) {
    std::cerr << "a sealed token did not open to its payload\n";
    std::abort();
  }
  Check(content::query::RunQuery(*store, query, page_size, sealed), query);
  return 0;
}
