// The Prometheus side of vigia: one registry per process (or per daemon in
// tests), the build-info metric every vigia registry carries, and the
// metrics port: /metrics, /-/healthy and /-/ready. The metric set is a
// public interface, listed in docs/metrics.md.
//
// A MetricsServer serves over vigia's own HttpServer (http_server.h):
// bounded in connections, time and request size, so idle or slow clients
// cannot starve scrapes; with optional TLS (OpenSSL 3, mutual TLS with a
// client CA) and basic authentication. It keeps the registry and the
// readiness alive while it serves them. prometheus::Registry, its metrics
// and Readiness are thread-safe, so probes and the daemon may update them
// from any thread while the server's workers read them.
#ifndef VIGIA_PIPELINE_METRICS_METRICS_SERVER_H_
#define VIGIA_PIPELINE_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pipeline/config.h"
#include "pipeline/metrics/http_server.h"
#include "pipeline/metrics/readiness.h"
#include "prometheus/registry.h"

namespace vigia {

// vigia's version, as in the build info metric ("0.1.0").
const char* VigiaVersion();

// Returns a new registry holding `vigia_build_info{version="..."} 1`.
std::shared_ptr<prometheus::Registry> NewMetricsRegistry();

// Returns the registry's metrics in the Prometheus text format, as a scrape
// of /metrics would see them.
std::string SerializeMetrics(prometheus::Registry& registry);

class MetricsServer {
 public:
  // Serves `registry` on `address`/metrics ("host:port"; port 0 picks a
  // free port, see port()), with /-/healthy (200 while serving) and
  // /-/ready (200 when `readiness` says so, else 503 with its reason; always
  // 200 without one). With `auth` enabled, /metrics without its username
  // and password is answered 401 (the probes need none: they disclose
  // nothing but a one-line state). With `tls` enabled, speaks HTTPS only.
  // Returns InvalidArgument for an address without a numeric port, a user
  // without password or a TLS file that cannot be used (the message names
  // the file and the problem), Unavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address,
      std::shared_ptr<prometheus::Registry> registry,
      const MetricsAuthConfig& auth = MetricsAuthConfig(),
      const MetricsTlsConfig& tls = MetricsTlsConfig(),
      std::shared_ptr<const Readiness> readiness = nullptr,
      const HttpServerLimits& limits = HttpServerLimits());
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port actually listened on.
  int port() const { return http_->port(); }
  // "host:port" with the actual port, e.g. "127.0.0.1:9464".
  const std::string& address() const { return address_; }
  // "http" or "https".
  const char* scheme() const { return tls_ ? "https" : "http"; }
  HttpServer::Stats stats() const { return http_->stats(); }

  class PortMetrics;

 private:
  MetricsServer() = default;
  std::shared_ptr<PortMetrics> port_metrics_;
  std::unique_ptr<HttpServer> http_;
  std::string address_;
  bool tls_ = false;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_METRICS_METRICS_SERVER_H_
