#include "pipeline/metrics/metrics_server.h"

#include <exception>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/text_serializer.h"

#ifndef VIGIA_VERSION
#define VIGIA_VERSION "unknown"
#endif

namespace vigia {

const char* VigiaVersion() { return VIGIA_VERSION; }

std::shared_ptr<prometheus::Registry> NewMetricsRegistry() {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("vigia_build_info")
      .Help("Always 1; the labels say which vigia build is running.")
      .Register(*registry)
      .Add({{"version", VigiaVersion()}})
      .Set(1);
  return registry;
}

std::string SerializeMetrics(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address,
    std::shared_ptr<prometheus::Registry> registry) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\" is not host:port"));
  }
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->registry_ = std::move(registry);
  // civetweb serves one connection per worker thread, and a worker waits
  // request_timeout_ms (30 s by default) for a request that never comes:
  // with prometheus-cpp's two threads, two idle TCP connections took
  // /metrics down for 30 s. More workers, and a short wait for the request.
  const std::vector<std::string> options = {
      "listening_ports",    address,
      "num_threads",        std::to_string(kMetricsThreads),
      "request_timeout_ms", std::to_string(kMetricsRequestTimeoutMs),
  };
  // civetweb reports a bind failure by throwing; the exception stops here.
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  server->exposer_->RegisterCollectable(server->registry_);
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": no port"));
  }
  server->port_ = ports.front();
  server->address_ = absl::StrCat(address.substr(0, colon), ":", ports.front());
  return server;
}

MetricsServer::~MetricsServer() = default;

}  // namespace vigia
