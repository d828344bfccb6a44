#include "pipeline/metrics/metrics_server.h"

#include <crypt.h>

#include <algorithm>
#include <exception>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "pipeline/core/hash.h"
#include "prometheus/counter.h"
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

namespace {

// Compares without an early exit, so the time taken does not tell a
// guesser how much of the secret it got right (only its length).
bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

// Checks basic-auth credentials against the configured ones. Called on
// the HTTP server's worker threads, several at once.
class CredentialCheck {
 public:
  explicit CredentialCheck(const MetricsAuthConfig& auth) : auth_(auth) {}

  bool Accepts(const std::string& username, const std::string& password) {
    const bool user_ok = ConstantTimeEquals(username, auth_.username);
    if (!auth_.hashed) {
      return ConstantTimeEquals(password, auth_.secret) && user_ok;
    }
    // A bcrypt check costs tens of milliseconds by design; Prometheus sends
    // the same password on every scrape, so the last one accepted is
    // remembered by its SHA-256 and a repeat costs a hash, not a bcrypt.
    const std::string digest = Sha256Hex(password);
    {
      absl::MutexLock lock(&mu_);
      if (!accepted_.empty() && ConstantTimeEquals(digest, accepted_)) {
        return user_ok;
      }
    }
    struct crypt_data data {};
    const char* hashed =
        crypt_rn(password.c_str(), auth_.secret.c_str(), &data, sizeof(data));
    if (hashed == nullptr || !ConstantTimeEquals(hashed, auth_.secret)) {
      return false;
    }
    absl::MutexLock lock(&mu_);
    accepted_ = digest;
    return user_ok;
  }

 private:
  const MetricsAuthConfig auth_;
  absl::Mutex mu_;
  std::string accepted_ ABSL_GUARDED_BY(mu_);
};

// The user and password of a basic Authorization header; false if it
// has none or it is malformed.
bool BasicCredentials(const HttpRequest& request, std::string* user,
                      std::string* password) {
  const std::string* header = request.Header("authorization");
  if (header == nullptr) return false;
  const size_t space = header->find(' ');
  if (space == std::string::npos ||
      !absl::EqualsIgnoreCase(header->substr(0, space), "basic")) {
    return false;
  }
  std::string decoded;
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(
                                absl::string_view(*header).substr(space + 1)),
                            &decoded)) {
    return false;
  }
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  *user = decoded.substr(0, colon);
  *password = decoded.substr(colon + 1);
  return true;
}

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

// The metrics port's own figures (docs/metrics.md), copied from the
// HttpServer's stats before each serialization of /metrics. Thread-safe.
class MetricsServer::PortMetrics {
 public:
  explicit PortMetrics(prometheus::Registry& registry)
      : requests_(prometheus::BuildCounter()
                      .Name("vigia_metrics_port_requests_total")
                      .Help("Requests to the metrics port answered by a "
                            "handler (/metrics, the probes, 404s).")
                      .Register(registry)
                      .Add({})),
        bad_requests_(prometheus::BuildCounter()
                          .Name("vigia_metrics_port_bad_requests_total")
                          .Help("Requests to the metrics port refused before "
                                "any handler (malformed, oversize, other "
                                "methods), each answered 4xx/5xx and closed.")
                          .Register(registry)
                          .Add({})),
        closed_(prometheus::BuildCounter()
                    .Name("vigia_metrics_port_connections_closed_total")
                    .Help("Connections to the metrics port closed by vigia "
                          "before a complete request, by reason.")
                    .Register(registry)),
        timeout_(closed_.Add({{"reason", "timeout"}})),
        evicted_(closed_.Add({{"reason", "evicted"}})),
        tls_handshake_(closed_.Add({{"reason", "tls_handshake"}})),
        open_(prometheus::BuildGauge()
                  .Name("vigia_metrics_port_open_connections")
                  .Help("Connections to the metrics port open now.")
                  .Register(registry)
                  .Add({})),
        reloads_(prometheus::BuildCounter()
                     .Name("vigia_metrics_port_tls_reloads_total")
                     .Help("TLS certificate files reloaded after a change on "
                           "disk, by result.")
                     .Register(registry)),
        reload_ok_(reloads_.Add({{"result", "ok"}})),
        reload_failed_(reloads_.Add({{"result", "failed"}})) {}

  // Starts (a server) or stops (nullptr) copying from `server`.
  void Attach(const HttpServer* server) {
    absl::MutexLock lock(&mu_);
    server_ = server;
  }

  void Refresh() {
    absl::MutexLock lock(&mu_);
    if (server_ == nullptr) return;
    const HttpServer::Stats now = server_->stats();
    requests_.Increment(static_cast<double>(now.requests - last_.requests));
    bad_requests_.Increment(
        static_cast<double>(now.bad_requests - last_.bad_requests));
    timeout_.Increment(static_cast<double>(now.timed_out - last_.timed_out));
    evicted_.Increment(static_cast<double>(now.evicted - last_.evicted));
    tls_handshake_.Increment(
        static_cast<double>(now.tls_failures - last_.tls_failures));
    reload_ok_.Increment(
        static_cast<double>(now.tls_reloads - last_.tls_reloads));
    reload_failed_.Increment(static_cast<double>(now.tls_reload_failures -
                                                 last_.tls_reload_failures));
    open_.Set(static_cast<double>(now.open));
    last_ = now;
  }

 private:
  absl::Mutex mu_;
  const HttpServer* server_ ABSL_GUARDED_BY(mu_) = nullptr;
  HttpServer::Stats last_ ABSL_GUARDED_BY(mu_);
  prometheus::Counter& requests_;
  prometheus::Counter& bad_requests_;
  prometheus::Family<prometheus::Counter>& closed_;
  prometheus::Counter& timeout_;
  prometheus::Counter& evicted_;
  prometheus::Counter& tls_handshake_;
  prometheus::Gauge& open_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Counter& reload_ok_;
  prometheus::Counter& reload_failed_;
};

namespace {

// The three paths of the metrics port. Thread-safe: called on the
// server's worker threads.
class MetricsHandler {
 public:
  MetricsHandler(std::shared_ptr<prometheus::Registry> registry,
                 std::shared_ptr<MetricsServer::PortMetrics> port_metrics,
                 const MetricsAuthConfig& auth,
                 std::shared_ptr<const Readiness> readiness)
      : registry_(std::move(registry)),
        port_metrics_(std::move(port_metrics)),
        check_(auth.enabled() ? std::make_unique<CredentialCheck>(auth)
                              : nullptr),
        readiness_(std::move(readiness)) {}

  HttpResponse Handle(const HttpRequest& request) {
    if (request.path == "/metrics") return Metrics(request);
    if (request.path == "/-/healthy") return Text(200, "vigia is healthy.\n");
    if (request.path == "/-/ready") {
      std::string reason;
      if (readiness_ == nullptr || readiness_->IsReady(&reason)) {
        return Text(200, "vigia is ready.\n");
      }
      return Text(503, absl::StrCat("not ready: ", reason, "\n"));
    }
    return Text(404, "404 page not found (try /metrics)\n");
  }

 private:
  HttpResponse Metrics(const HttpRequest& request) {
    if (check_ != nullptr) {
      std::string user, password;
      if (!BasicCredentials(request, &user, &password) ||
          !check_->Accepts(user, password)) {
        HttpResponse r = Text(401, "Unauthorized\n");
        r.headers.emplace_back("WWW-Authenticate",
                               "Basic realm=\"vigia\", charset=\"UTF-8\"");
        return r;
      }
    }
    port_metrics_->Refresh();
    HttpResponse r = Text(200, SerializeMetrics(*registry_));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }

  const std::shared_ptr<prometheus::Registry> registry_;
  const std::shared_ptr<MetricsServer::PortMetrics> port_metrics_;
  const std::unique_ptr<CredentialCheck> check_;
  const std::shared_ptr<const Readiness> readiness_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry,
    const MetricsAuthConfig& auth, const MetricsTlsConfig& tls,
    std::shared_ptr<const Readiness> readiness,
    const HttpServerLimits& limits) {
  const size_t colon = address.rfind(':');
  // Only digits after the colon: a suffix such as civetweb's "s" (TLS) is
  // refused, not ignored; TLS comes from `tls`.
  if (colon == std::string::npos || colon + 1 == address.size() ||
      !std::all_of(address.begin() + colon + 1, address.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\" is not host:port"));
  }
  if (auth.enabled() && auth.secret.empty()) {
    return absl::InvalidArgumentError(
        "metrics basic auth has a username but no password");
  }
  auto port_metrics = std::make_shared<PortMetrics>(*registry);
  auto handler = std::make_shared<MetricsHandler>(
      std::move(registry), port_metrics, auth, std::move(readiness));
  HttpTlsFiles files;
  files.cert_file = tls.cert_file;
  files.key_file = tls.key_file;
  files.client_ca_file = tls.client_ca_file;
  absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(
      address,
      [handler](const HttpRequest& request) {
        return handler->Handle(request);
      },
      limits, files);
  if (!http.ok()) return http.status();
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->http_ = *std::move(http);
  server->port_metrics_ = std::move(port_metrics);
  server->port_metrics_->Attach(server->http_.get());
  server->tls_ = tls.enabled();
  server->address_ =
      absl::StrCat(address.substr(0, colon), ":", server->http_->port());
  return server;
}

MetricsServer::~MetricsServer() {
  // Before the server (and its workers) go.
  if (port_metrics_ != nullptr) port_metrics_->Attach(nullptr);
}

}  // namespace vigia
