#include "pipeline/metrics/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_fixture.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A TCP connection to 127.0.0.1:`port`, or -1. Reads give up after 60 s so
// a broken server fails the test instead of hanging it; no assertion
// depends on how long anything takes.
int Connect(int port) {
  return test_servers::ConnectLoopback(port, absl::Seconds(60));
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n =
        ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Everything the server sends until it closes the connection.
std::string ReadToEnd(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, n);
  return out;
}

// Reads one response with a Content-Length body (keep-alive), or "".
std::string ReadResponse(int fd, bool head = false) {
  std::string out;
  char c;
  while (out.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd, &c, 1, 0) != 1) return out;
    out.push_back(c);
  }
  const size_t at = out.find("Content-Length: ");
  if (head || at == std::string::npos) return out;
  size_t length = std::stoul(out.substr(at + 16));
  while (length > 0) {
    if (::recv(fd, &c, 1, 0) != 1) return out;
    out.push_back(c);
    --length;
  }
  return out;
}

// Sends `request` on a fresh connection, ends the sending side, and
// returns all that comes back.
std::string Exchange(int port, const std::string& request) {
  const int fd = Connect(port);
  if (fd < 0) return "";
  std::string out;
  if (SendAll(fd, request)) {
    ::shutdown(fd, SHUT_WR);
    out = ReadToEnd(fd);
  }
  ::close(fd);
  return out;
}

HttpResponse Echo(const HttpRequest& r) {
  HttpResponse out;
  out.body = absl::StrCat(r.method, " ", r.path, " ?", r.query, "\n");
  return out;
}

std::unique_ptr<HttpServer> StartEcho(
    const HttpServerLimits& limits = HttpServerLimits()) {
  auto server = HttpServer::Start("127.0.0.1:0", &Echo, limits);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(HttpServer, AnswersGetAndHeadAndKeepsTheConnectionAlive) {
  auto server = StartEcho();
  ASSERT_NE(server, nullptr);
  const int fd = Connect(server->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"));
  const std::string first = ReadResponse(fd);
  EXPECT_THAT(first, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(first, HasSubstr("Content-Length: 12\r\n"));
  EXPECT_THAT(first, HasSubstr("\r\n\r\nGET /a ?x=1\n"));
  EXPECT_THAT(first, HasSubstr("Connection: keep-alive\r\n"));
  // Same connection: a HEAD has the GET's length and no body.
  ASSERT_TRUE(SendAll(fd, "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n"));
  const std::string second = ReadResponse(fd, /*head=*/true);
  EXPECT_THAT(second, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(second, HasSubstr("Content-Length: 10\r\n"));
  // Then a close asked for: answered, and the server ends the connection.
  ASSERT_TRUE(
      SendAll(fd, "GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  const std::string last = ReadToEnd(fd);
  ::close(fd);
  EXPECT_THAT(last, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(last, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(last, HasSubstr("\r\n\r\nGET /b ?\n"));
  EXPECT_EQ(server->stats().requests, 3);
}

TEST(HttpServer, AnswersPipelinedRequestsInOrder) {
  auto server = StartEcho();
  ASSERT_NE(server, nullptr);
  const std::string out =
      Exchange(server->port(),
               "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"
               "GET /3 HTTP/1.0\r\n\r\n");
  const size_t one = out.find("GET /1 ?"), two = out.find("GET /2 ?"),
               three = out.find("GET /3 ?");
  ASSERT_NE(one, std::string::npos) << out;
  ASSERT_NE(two, std::string::npos) << out;
  ASSERT_NE(three, std::string::npos) << out;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
}

TEST(HttpServer, HttpOneZeroClosesUnlessAskedToKeepAlive) {
  auto server = StartEcho();
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Exchange(server->port(), "GET / HTTP/1.0\r\n\r\n"),
              HasSubstr("Connection: close\r\n"));
  const int fd = Connect(server->port());
  ASSERT_TRUE(SendAll(fd, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_THAT(ReadResponse(fd), Not(HasSubstr("Connection: close")));
  ::close(fd);
}

struct BadRequest {
  std::string request;
  std::string status;  // expected status line start
};

TEST(HttpServer, RefusesMalformedRequestsAndCloses) {
  auto server = StartEcho();
  ASSERT_NE(server, nullptr);
  const std::vector<BadRequest> cases = {
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /\r\n\r\n", "HTTP/1.1 400 "},
      {"GET  / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
      {"GET metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
      {"GET http://x/metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 "},
      {"GET / HTTPS/1.1\r\n\r\n", "HTTP/1.1 400 "},
      {"G(T / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nA: b\x01"
       "c\r\n\r\n",
       "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "HTTP/1.1 400 "},
      {"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
       "HTTP/1.1 405 "},
      {"DELETE / HTTP/1.1\r\n\r\n", "HTTP/1.1 405 "},
      {"OPTIONS * HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
  };
  for (const BadRequest& c : cases) {
    // ReadToEnd returns only once the server has closed the connection.
    const std::string out = Exchange(server->port(), c.request);
    EXPECT_THAT(out, StartsWith(c.status)) << c.request;
    EXPECT_THAT(out, HasSubstr("Connection: close\r\n")) << c.request;
    if (c.status == "HTTP/1.1 405 ") {
      EXPECT_THAT(out, HasSubstr("Allow: GET, HEAD\r\n"));
    }
  }
  EXPECT_EQ(server->stats().requests, 0);
  EXPECT_EQ(server->stats().bad_requests, static_cast<int64_t>(cases.size()));
  // Still serving.
  EXPECT_THAT(Exchange(server->port(), "GET /ok HTTP/1.0\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK"));
}

TEST(HttpServer, RefusesOversizeRequestLinesAndHeaders) {
  HttpServerLimits limits;
  auto server = StartEcho(limits);
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  // A request line over the limit, even before its end arrives.
  EXPECT_THAT(Exchange(port, "GET /" + std::string(9000, 'a')),
              StartsWith("HTTP/1.1 414 "));
  EXPECT_THAT(
      Exchange(port, "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n"),
      StartsWith("HTTP/1.1 414 "));
  // Headers over 16 KiB in all, sent whole or without their end.
  const std::string big = "X-Big: " + std::string(17000, 'b') + "\r\n";
  EXPECT_THAT(Exchange(port, "GET / HTTP/1.1\r\n" + big + "\r\n"),
              StartsWith("HTTP/1.1 431 "));
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 3000; ++i) many += "X-A: b\r\n";
  EXPECT_THAT(Exchange(port, many), StartsWith("HTTP/1.1 431 "));
  // More than 64 header lines, well within the bytes.
  std::string count = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 65; ++i) count += absl::StrCat("X-", i, ": v\r\n");
  EXPECT_THAT(Exchange(port, count + "\r\n"), StartsWith("HTTP/1.1 431 "));
  // 64 are fine.
  std::string fine = "GET / HTTP/1.0\r\n";
  for (int i = 0; i < 64; ++i) fine += absl::StrCat("X-", i, ": v\r\n");
  EXPECT_THAT(Exchange(port, fine + "\r\n"), StartsWith("HTTP/1.1 200 OK"));
}

TEST(HttpServer, IdleAndSlowClientsDoNotStarveAScrape) {
  // Regression (issue 13): two idle TCP connections took /metrics down for
  // 30 s. Here 64 idle connections and 64 slowloris ones (a request head
  // that never ends) are held open against a server with long deadlines,
  // and a scrape must still be answered; ReadToEnd waits for it.
  HttpServerLimits limits;
  limits.request_timeout = absl::Hours(1);
  limits.idle_timeout = absl::Hours(1);
  auto server = StartEcho(limits);
  ASSERT_NE(server, nullptr);
  std::vector<int> held;
  for (int i = 0; i < 64; ++i) {
    const int idle = Connect(server->port());
    const int slow = Connect(server->port());
    ASSERT_GE(idle, 0);
    ASSERT_GE(slow, 0);
    ASSERT_TRUE(SendAll(slow, "GET /metrics HTTP/1.1\r\nX-Slow: "));
    held.push_back(idle);
    held.push_back(slow);
  }
  EXPECT_THAT(Exchange(server->port(), "GET /metrics HTTP/1.0\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK"));
  EXPECT_EQ(server->stats().evicted, 0);
  for (int fd : held) ::close(fd);
}

TEST(HttpServer, AtTheConnectionLimitTheLongestWaitingConnectionMakesRoom) {
  HttpServerLimits limits;
  limits.max_connections = 8;
  limits.request_timeout = absl::Hours(1);
  limits.idle_timeout = absl::Hours(1);
  auto server = StartEcho(limits);
  ASSERT_NE(server, nullptr);
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) {
    const int fd = Connect(server->port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "GET / HTTP/1.1\r\n"));
    held.push_back(fd);
  }
  // Every slot taken by a slow client: the next scrape still gets in, and
  // the oldest slow client is the one closed for it.
  EXPECT_THAT(Exchange(server->port(), "GET /metrics HTTP/1.0\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK"));
  EXPECT_GE(server->stats().evicted, 1);
  EXPECT_EQ(ReadToEnd(held.front()), "");  // closed without an answer
  for (int fd : held) ::close(fd);
}

TEST(HttpServer, ClosesConnectionsThatMissTheirDeadline) {
  HttpServerLimits limits;
  limits.request_timeout = absl::Milliseconds(50);
  limits.idle_timeout = absl::Milliseconds(50);
  auto server = StartEcho(limits);
  ASSERT_NE(server, nullptr);
  // Silent from the start: closed (ReadToEnd returns at the close).
  const int silent = Connect(server->port());
  ASSERT_GE(silent, 0);
  EXPECT_EQ(ReadToEnd(silent), "");
  ::close(silent);
  // A request head that never ends: closed too.
  const int slow = Connect(server->port());
  ASSERT_TRUE(SendAll(slow, "GET / HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_EQ(ReadToEnd(slow), "");
  ::close(slow);
  EXPECT_EQ(server->stats().timed_out, 2);
  // Keep-alive: answered, then closed once idle.
  const int kept = Connect(server->port());
  ASSERT_TRUE(SendAll(kept, "GET / HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(ReadToEnd(kept), StartsWith("HTTP/1.1 200 OK"));
  ::close(kept);
  EXPECT_EQ(server->stats().timed_out, 2);  // idle is no failure
}

TEST(HttpServer, AnswersOtherClientsWhileAHandlerIsBusy) {
  // One request is held in its handler; with two workers another is still
  // answered (and the first completes once released).
  absl::Mutex mu;
  bool release = false;
  auto server = HttpServer::Start(
      "127.0.0.1:0",
      [&](const HttpRequest& r) {
        if (r.path == "/slow") {
          absl::MutexLock lock(&mu);
          mu.Await(absl::Condition(&release));
        }
        return Echo(r);
      },
      HttpServerLimits());
  ASSERT_TRUE(server.ok()) << server.status();
  const int slow = Connect((*server)->port());
  ASSERT_TRUE(SendAll(slow, "GET /slow HTTP/1.0\r\n\r\n"));
  EXPECT_THAT(Exchange((*server)->port(), "GET /fast HTTP/1.0\r\n\r\n"),
              HasSubstr("GET /fast"));
  {
    absl::MutexLock lock(&mu);
    release = true;
  }
  EXPECT_THAT(ReadToEnd(slow), HasSubstr("GET /slow"));
  ::close(slow);
}

TEST(HttpServer, RejectsBadAddressesAndTlsWithoutAKey) {
  for (const char* address : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0s",
                              "127.0.0.1:99999", "127.0.0.1:-1"}) {
    EXPECT_EQ(HttpServer::Start(address, &Echo).status().code(),
              absl::StatusCode::kInvalidArgument)
        << address;
  }
  HttpTlsFiles tls;
  tls.cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(HttpServer::Start("127.0.0.1:0", &Echo, HttpServerLimits(), tls)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  tls.key_file = "/nonexistent/key.pem";
  auto missing =
      HttpServer::Start("127.0.0.1:0", &Echo, HttpServerLimits(), tls);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("metrics.tls.cert_file /nonexistent/cert.pem"));
}

TEST(HttpServer, ServesOnIpv6Loopback) {
  auto server = HttpServer::Start("[::1]:0", &Echo);
  if (!server.ok() && absl::IsUnavailable(server.status())) {
    GTEST_SKIP() << "no IPv6 loopback here: " << server.status();
  }
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_GT((*server)->port(), 0);
}

}  // namespace
}  // namespace vigia
