// What a scrape of the metrics port costs, over one kept-alive connection,
// over a new connection each time, with many slow clients holding the port,
// and over TLS (a full handshake per scrape, the worst case). Prints
// figures; asserts nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "pipeline/metrics/metrics_server.h"
#include "prometheus/gauge.h"

namespace vigia {
namespace {

std::shared_ptr<prometheus::Registry> RegistryWith(int series) {
  auto registry = NewMetricsRegistry();
  auto& family = prometheus::BuildGauge()
                     .Name("vigia_bench_series")
                     .Help("Series to serialize.")
                     .Register(*registry);
  for (int i = 0; i < series; ++i) {
    family
        .Add({{"target", absl::StrCat("T", i % 200)},
              {"origin", absl::StrCat("O", i)}})
        .Set(i);
  }
  return registry;
}

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads one response (head, then Content-Length bytes) through `read`.
template <typename Read>
size_t ReadResponse(Read read) {
  std::string in;
  char buf[65536];
  size_t head_end = std::string::npos;
  size_t want = 0;
  while (true) {
    const long n = read(buf, sizeof(buf));
    if (n <= 0) return 0;
    in.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos) {
      head_end = in.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const size_t at = in.find("Content-Length: ");
      want = head_end + 4 + std::stoul(in.substr(at + 16));
    }
    if (in.size() >= want) return in.size();
  }
}

const char kRequest[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n";

void BM_ScrapeKeepAlive(benchmark::State& state) {
  auto server = MetricsServer::Start(
      "127.0.0.1:0", RegistryWith(static_cast<int>(state.range(0))));
  const int fd = Connect((*server)->port());
  size_t bytes = 0;
  for (auto _ : state) {
    ::send(fd, kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL);
    bytes +=
        ReadResponse([fd](char* b, size_t n) { return ::recv(fd, b, n, 0); });
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ScrapeKeepAlive)->Arg(100)->Arg(2000)->UseRealTime();

void BM_ScrapeNewConnection(benchmark::State& state) {
  auto server = MetricsServer::Start("127.0.0.1:0", RegistryWith(100));
  for (auto _ : state) {
    const int fd = Connect((*server)->port());
    ::send(fd, kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL);
    ReadResponse([fd](char* b, size_t n) { return ::recv(fd, b, n, 0); });
    ::close(fd);
  }
}
BENCHMARK(BM_ScrapeNewConnection)->UseRealTime();

// range(0) slow clients (a request head never finished) hold connections
// while a scraper reconnects each time, as Prometheus does after an error.
void BM_ScrapeAmongSlowClients(benchmark::State& state) {
  HttpServerLimits limits;
  limits.request_timeout = absl::Hours(1);
  auto server = MetricsServer::Start("127.0.0.1:0", RegistryWith(100),
                                     MetricsAuthConfig(), MetricsTlsConfig(),
                                     nullptr, limits);
  std::vector<int> slow;
  for (int i = 0; i < state.range(0); ++i) {
    slow.push_back(Connect((*server)->port()));
    ::send(slow.back(), "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
  }
  for (auto _ : state) {
    const int fd = Connect((*server)->port());
    ::send(fd, kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL);
    ReadResponse([fd](char* b, size_t n) { return ::recv(fd, b, n, 0); });
    ::close(fd);
  }
  for (int fd : slow) ::close(fd);
  state.counters["evicted"] = static_cast<double>((*server)->stats().evicted);
}
BENCHMARK(BM_ScrapeAmongSlowClients)->Arg(200)->Arg(1000)->UseRealTime();

void BM_TlsScrapeNewConnection(benchmark::State& state) {
  char dir_template[] = "/tmp/vigia-tls-bench-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  const std::string cmd = absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-keyout ",
      dir, "/k.pem -out ", dir,
      "/c.pem -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1");
  if (std::system(cmd.c_str()) != 0) {
    state.SkipWithError("openssl CLI failed");
    return;
  }
  MetricsTlsConfig tls;
  tls.cert_file = dir + "/c.pem";
  tls.key_file = dir + "/k.pem";
  auto server = MetricsServer::Start("127.0.0.1:0", RegistryWith(100),
                                     MetricsAuthConfig(), tls);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // a bench, not a test
  for (auto _ : state) {
    const int fd = Connect((*server)->port());
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
      state.SkipWithError("handshake failed");
      SSL_free(ssl);
      ::close(fd);
      break;
    }
    SSL_write(ssl, kRequest, sizeof(kRequest) - 1);
    ReadResponse([ssl](char* b, size_t n) {
      return static_cast<long>(SSL_read(ssl, b, static_cast<int>(n)));
    });
    SSL_free(ssl);
    ::close(fd);
  }
  SSL_CTX_free(ctx);
  (void)!std::system(absl::StrCat("rm -rf ", dir).c_str());
}
BENCHMARK(BM_TlsScrapeNewConnection)->UseRealTime();

}  // namespace
}  // namespace vigia
