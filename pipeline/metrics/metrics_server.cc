#include "pipeline/metrics/metrics_server.h"

#include <crypt.h>

#include <algorithm>
#include <exception>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "pipeline/core/hash.h"
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
// civetweb's worker threads, several at once.
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

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry,
    const MetricsAuthConfig& auth) {
  const size_t colon = address.rfind(':');
  // civetweb reads a suffix on the port ("9464s" for TLS, "r" to redirect);
  // TLS crashes Debian's build (see the header), so only digits pass.
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
  // Authentication first: /metrics is never served without it, even for
  // the moment between the two calls.
  if (auth.enabled()) {
    auto check = std::make_shared<CredentialCheck>(auth);
    server->exposer_->RegisterAuth(
        [check](const std::string& user, const std::string& password) {
          return check->Accepts(user, password);
        },
        "vigia");
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
