// pg_write_bench: what a synced write costs on the PostgreSQL engine with the
// transaction's first statement carrying the read a group commit makes (the
// store's last sequence) and without, side by side in one run.
//
//   pg_write_bench --dsn "host=127.0.0.1 port=5432 user=postgres"
//                  [--writes 2000] [--block 100] [--runs 3] [--nosync]
//
// Two engines on one fresh table, both serving (MarkServing: every write
// takes the presence lock shared in its transaction), write one key in
// alternating blocks of --block writes, each as the store's group commit
// does: WriteAfterRead of the last sequence, with a completion that puts
// the next one. "folded" (PgKvOptions::fold_first_read, the default) sends
// the lock and the read in one statement; "apart" sends the read as a
// statement of its own after the lock, as before. Prints each variant's
// median, p90 and p99 per run. The table is dropped at the end.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/store/kv.h"
#include "server/store/pg_kv.h"

namespace {

using content::store::Family;
using content::store::KvBatch;
using content::store::KvEngine;

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string dsn;
  int writes = 2000, block = 100, runs = 3;
  bool sync = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pg_write_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dsn") {
      dsn = next();
    } else if (a == "--writes") {
      writes = std::atoi(next().c_str());
    } else if (a == "--block") {
      block = std::atoi(next().c_str());
    } else if (a == "--runs") {
      runs = std::atoi(next().c_str());
    } else if (a == "--nosync") {
      sync = false;
    } else {
      std::fprintf(stderr,
                   "usage: pg_write_bench --dsn DSN [--writes N] [--block N] "
                   "[--runs N] [--nosync]\n");
      return 2;
    }
  }
  if (dsn.empty() || writes < 1 || block < 1 || runs < 1) {
    std::fprintf(stderr, "pg_write_bench: --dsn is required; counts >= 1\n");
    return 2;
  }
  std::random_device rd;
  const std::string table = absl::StrCat("pg_write_bench_", rd());
  std::unique_ptr<KvEngine> engines[2];
  for (int v = 0; v < 2; ++v) {
    content::store::PgKvOptions o;
    o.dsn = dsn;
    o.table = table;
    o.pool_size = 2;
    o.fold_first_read = v == 0;
    auto kv = content::store::OpenPgKv(o);
    if (!kv.ok()) {
      std::fprintf(stderr, "pg_write_bench: %s\n",
                   std::string(kv.status().message()).c_str());
      return 1;
    }
    engines[v] = *std::move(kv);
    if (absl::Status s = engines[v]->MarkServing(); !s.ok()) {
      std::fprintf(stderr, "pg_write_bench: %s\n",
                   std::string(s.message()).c_str());
      return 1;
    }
  }
  const char* names[2] = {"folded", "apart"};
  int failures = 0;
  for (int run = 1; run <= runs; ++run) {
    std::vector<double> us[2];
    for (int done = 0; done < 2 * writes; done += block) {
      const int v = (done / block) % 2;
      for (int i = 0; i < block; ++i) {
        KvBatch batch;
        batch.Put(Family::kMeta, "value", std::string(64, 'x'));
        const auto start = std::chrono::steady_clock::now();
        absl::Status s = engines[v]->WriteAfterRead(
            std::move(batch), sync, Family::kMeta, "last",
            [](const std::string* current, KvBatch* out) {
              const int64_t n =
                  current != nullptr ? std::atoll(current->c_str()) : 0;
              out->Put(Family::kMeta, "last", std::to_string(n + 1));
            });
        const auto end = std::chrono::steady_clock::now();
        if (!s.ok()) {
          ++failures;
          continue;
        }
        us[v].push_back(
            std::chrono::duration<double, std::micro>(end - start).count());
      }
    }
    for (int v = 0; v < 2; ++v) {
      std::printf(
          "run %d %-6s writes %zu  p50 %.0f us  p90 %.0f us  p99 %.0f us\n",
          run, names[v], us[v].size(), Percentile(us[v], 0.5),
          Percentile(us[v], 0.9), Percentile(us[v], 0.99));
    }
  }
  engines[0].reset();
  engines[1].reset();
  try {
    pqxx::connection c(dsn);
    pqxx::nontransaction tx(c);
    tx.exec("DROP TABLE IF EXISTS \"" + table + "\"");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_write_bench: dropping %s: %s\n", table.c_str(),
                 e.what());
  }
  if (failures > 0) {
    std::fprintf(stderr, "pg_write_bench: %d writes failed\n", failures);
    return 1;
  }
  return 0;
}
