// A small HTTP/1.1 server for vigia's metrics port, written for hostile
// clients: GET and HEAD only, no request bodies, optional TLS (OpenSSL 3).
//
// One I/O thread runs an epoll loop over non-blocking sockets and does all
// reading, parsing, TLS and writing; a small pool of worker threads runs the
// handler (credential checks and metric serialization can take
// milliseconds, a bcrypt check tens of them), so no request waits on
// another's I/O. Every connection has a deadline in every state (TLS
// handshake and request headers together, keep-alive idle, response
// write), the request line and headers are size-limited, and at the
// connection limit the connection that has waited longest without a
// complete request is closed to let the new one in. Idle or slow clients
// therefore cost a file descriptor each, never a thread, and cannot keep a
// scrape out.
//
// The handler is called on the worker threads, several at once: it must be
// thread-safe. HttpServer is not copyable; its destructor stops both the
// loop and the workers (a handler call in progress finishes first).
//
// Example:
//   auto server = HttpServer::Start("127.0.0.1:0", [](const HttpRequest& r) {
//     return HttpResponse{.status = 200, .body = "hello\n"};
//   });
#ifndef VIGIA_PIPELINE_METRICS_HTTP_SERVER_H_
#define VIGIA_PIPELINE_METRICS_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vigia {

struct HttpRequest {
  std::string method;  // "GET" or "HEAD": nothing else reaches a handler
  std::string path;    // the target up to '?', e.g. "/metrics"
  std::string query;   // after '?', without it
  // Header names lower-cased, values trimmed, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  bool tls = false;

  // The first header named `lower_name`, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // Further headers ("WWW-Authenticate", ...); never Content-Length or
  // Connection, which the server writes.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // not sent for HEAD; its length still is
};

// Bounds on what one client can make the server hold or wait for.
struct HttpServerLimits {
  // Open connections; at the limit, a new one closes the one waiting
  // longest for a complete request (handshake, idle or partial request).
  int max_connections = 256;
  // Handler threads.
  int workers = 2;
  // The request line, and the request line plus all headers, in bytes;
  // beyond them the answer is 414 and 431, then the connection closes.
  size_t max_request_line_bytes = 8 * 1024;
  size_t max_header_bytes = 16 * 1024;
  int max_headers = 64;
  // From accepting a connection (through any TLS handshake), or from the
  // first byte of a later request, to the end of the request's headers.
  absl::Duration request_timeout = absl::Seconds(10);
  // How long a keep-alive connection may wait for its next request.
  absl::Duration idle_timeout = absl::Seconds(60);
  // How long writing one response may take.
  absl::Duration write_timeout = absl::Seconds(10);
};

// TLS for the server (docs/metrics.md). Empty cert_file: plain HTTP.
struct HttpTlsFiles {
  std::string cert_file;       // PEM: the certificate, then its chain
  std::string key_file;        // PEM: its private key
  std::string client_ca_file;  // PEM CAs; set: clients must present a cert
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Listens on `address` ("host:port", "[v6]:port"; port 0 picks a free
  // one) and serves every request through `handler`. With `tls.cert_file`
  // set, speaks TLS 1.2 or 1.3 only; the files are loaded and checked here
  // (certificate and key must match) and loaded again when they change on
  // disk (a failed reload keeps the old ones and logs why). Returns
  // InvalidArgument for a bad address or TLS file, Unavailable when the
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const std::string& address, Handler handler,
      const HttpServerLimits& limits = HttpServerLimits(),
      const HttpTlsFiles& tls = HttpTlsFiles());
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

  // What the server did so far (thread-safe).
  struct Stats {
    int64_t accepted = 0;
    int64_t requests = 0;             // handed to the handler
    int64_t bad_requests = 0;         // answered 4xx/5xx by the parser
    int64_t timed_out = 0;            // closed by a deadline
    int64_t evicted = 0;              // closed for a new one at the limit
    int64_t tls_failures = 0;         // handshakes that failed
    int64_t tls_reloads = 0;          // certificate reloads that succeeded
    int64_t tls_reload_failures = 0;  // changed files that did not load
    int64_t open = 0;                 // connections open now
  };
  Stats stats() const;

 private:
  class Loop;
  HttpServer() = default;
  std::unique_ptr<Loop> loop_;
  int port_ = 0;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_METRICS_HTTP_SERVER_H_
