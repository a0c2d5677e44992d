// contentd: the content repository server.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/config.h"
#include "server/service/content_service.h"
#include "server/store/store.h"

namespace {

int Fail(const absl::Status& s) {
  std::cerr << "contentd: " << s << "\n";
  return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  content::ServerConfig config;
  std::string config_path, listen, data_dir, durability, port_file;
  int64_t max_article_bytes = 0, max_tags = 0, max_page_size = 0;

  CLI::App app{"contentd: a versioned content repository served over gRPC"};
  app.add_option("-c,--config", config_path,
                 "YAML config file (see deploy/contentd.yaml)");
  app.add_option(
      "--listen", listen,
      "Address to serve on (default 127.0.0.1:7070; port 0 picks one)");
  app.add_option("--data-dir", data_dir, "Data directory (default ./data)");
  app.add_option("--durability", durability,
                 "sync: acknowledge after the WAL is synced (default); "
                 "async: acknowledge before (faster, may lose the last writes "
                 "on power loss)")
      ->check(CLI::IsMember({"sync", "async"}));
  app.add_option("--max-article-bytes", max_article_bytes,
                 "Largest article accepted (default 1 MiB)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-tags", max_tags,
                 "Most tags (and categories, langs) per article (default 64)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-page-size", max_page_size,
                 "Largest page a query may ask for (default 1000)")
      ->check(CLI::PositiveNumber);
  app.add_option("--port-file", port_file,
                 "Write the bound port to this file once serving");
  CLI11_PARSE(app, argc, argv);
  // Debian's Abseil is built with deadlock detection on, which records a
  // lock graph on every absl::Mutex acquisition (gRPC's too): a few percent
  // of a GetArticle. The tests and TSan builds keep catching lock cycles.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  if (!config_path.empty()) {
    absl::Status s = content::LoadConfigFile(config_path, &config);
    if (!s.ok()) return Fail(s);
  }
  if (!listen.empty()) config.listen = listen;
  if (!data_dir.empty()) config.store.data_dir = data_dir;
  if (!durability.empty()) config.store.sync = durability == "sync";
  if (max_article_bytes > 0)
    config.service.limits.max_article_bytes = max_article_bytes;
  if (max_tags > 0)
    config.service.limits.max_list_entries = static_cast<int>(max_tags);
  if (max_page_size > 0) {
    config.service.limits.max_page_size = static_cast<int>(max_page_size);
    if (config.service.limits.default_page_size >
        config.service.limits.max_page_size)
      config.service.limits.default_page_size =
          config.service.limits.max_page_size;
  }

  // Signals are taken synchronously by this thread only; block them before
  // any other thread starts so none of those receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<content::store::Store>> store =
      content::store::Store::Open(config.store);
  if (!store.ok()) return Fail(store.status());

  auto service = std::make_unique<content::service::ContentService>(
      store->get(), config.service);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(service.get());
  // Generous transport limit so an oversized article reaches validation and
  // gets an INVALID_ARGUMENT naming the field, not a bare transport error.
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(
      INT32_MAX,
      std::max<int64_t>(int64_t{16} << 20,
                        4 * config.service.limits.max_article_bytes))));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen)));
  }
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << port << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::cerr << "contentd: serving on port " << port << " (listen "
            << config.listen << ", data " << config.store.data_dir
            << ", durability " << (config.store.sync ? "sync" : "async")
            << ", last sequence " << (*store)->last_sequence() << ")"
            << std::endl;

  // Change-log retention in the background; watchers behind it get
  // OUT_OF_RANGE and resync.
  absl::Notification stop_retention;
  std::thread retention([&] {
    while (!stop_retention.WaitForNotificationWithTimeout(
        config.retention_interval)) {
      absl::Status s = (*store)->TrimChanges(config.changelog_retain_events,
                                             config.changelog_retain_age);
      if (!s.ok())
        std::cerr << "contentd: change-log retention: " << s << std::endl;
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "contentd: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ", finishing in-flight calls" << std::endl;
  service->PrepareShutdown();
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoNanoseconds(config.shutdown_grace));
  server->Wait();
  stop_retention.Notify();
  retention.join();
  service.reset();
  store->reset();
  std::cerr << "contentd: stopped cleanly" << std::endl;
  return 0;
}
