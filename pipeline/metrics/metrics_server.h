// The Prometheus side of vigia: one registry per process (or per daemon in
// tests), the build-info metric every vigia registry carries, and the HTTP
// endpoint that serves /metrics. The metric set is a public interface,
// listed in docs/metrics.md.
//
// A MetricsServer owns its HTTP threads (prometheus-cpp's civetweb) and
// keeps the registry alive while it serves it. With basic authentication
// it checks every request's credentials on the HTTP threads (the check is
// thread-safe). It serves plain HTTP only: Debian's civetweb 1.15 loads
// OpenSSL 3 at run time and crashes on the first HTTPS request, so TLS is
// left to a terminating proxy (docs/metrics.md). prometheus::Registry and its
// metrics are thread-safe, so probes may update them from any thread while
// the server reads them.
#ifndef VIGIA_PIPELINE_METRICS_METRICS_SERVER_H_
#define VIGIA_PIPELINE_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pipeline/config.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace vigia {

// vigia's version, as in the build info metric ("0.1.0").
const char* VigiaVersion();

// Returns a new registry holding `vigia_build_info{version="..."} 1`.
std::shared_ptr<prometheus::Registry> NewMetricsRegistry();

// Returns the registry's metrics in the Prometheus text format, as a scrape
// of /metrics would see them.
std::string SerializeMetrics(prometheus::Registry& registry);

// Worker threads of the /metrics server: idle or slow connections beyond
// this many make scrapes wait, each for at most kMetricsRequestTimeoutMs.
inline constexpr int kMetricsThreads = 16;
inline constexpr int kMetricsRequestTimeoutMs = 5000;

class MetricsServer {
 public:
  // Serves `registry` on http://`address`/metrics. `address` is "host:port";
  // port 0 picks a free port (see port()). With `auth` enabled, a request
  // without its username and password is answered 401. Returns
  // InvalidArgument for an address without a numeric port, Unavailable when
  // it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address,
      std::shared_ptr<prometheus::Registry> registry,
      const MetricsAuthConfig& auth = MetricsAuthConfig());
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port actually listened on.
  int port() const { return port_; }
  // "host:port" with the actual port, e.g. "127.0.0.1:9464".
  const std::string& address() const { return address_; }

 private:
  MetricsServer() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  std::string address_;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_METRICS_METRICS_SERVER_H_
