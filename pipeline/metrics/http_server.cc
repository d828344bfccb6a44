#include "pipeline/metrics/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "pipeline/core/log.h"
#include "pipeline/metrics/http_parse.h"

namespace vigia {

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

namespace {

using Steady = std::chrono::steady_clock;
using SteadyTime = Steady::time_point;

// epoll data for the two non-connection descriptors; connections count up
// from kFirstConnectionId.
constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kFirstConnectionId = 2;
// How long a connection being closed by the server may keep sending before
// it is cut (its unread bytes would otherwise turn the close into a reset
// that can destroy the response before the client reads it).
constexpr auto kLingerTime = std::chrono::seconds(2);
// How often the TLS files are looked at for changes, at most.
constexpr auto kTlsCheckInterval = std::chrono::seconds(1);
constexpr size_t kReadChunk = 16 * 1024;

std::string Errno(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

// OpenSSL's error queue as one line, emptied.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "unknown error" : out;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

// Drops CR and LF from a value the handler gave, so a header can never be
// split into two.
std::string HeaderSafe(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

std::string HttpDate() {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", absl::Now(),
                          absl::UTCTimeZone());
}

std::string SerializeResponse(const HttpResponse& r, bool head,
                              bool keep_alive) {
  std::string out = absl::StrCat("HTTP/1.1 ", r.status, " ", Reason(r.status),
                                 "\r\nDate: ", HttpDate(), "\r\n");
  if (!r.body.empty() || r.status != 204) {
    absl::StrAppend(&out, "Content-Type: ", HeaderSafe(r.content_type), "\r\n",
                    "Content-Length: ", r.body.size(), "\r\n");
  }
  for (const auto& [name, value] : r.headers) {
    absl::StrAppend(&out, HeaderSafe(name), ": ", HeaderSafe(value), "\r\n");
  }
  absl::StrAppend(
      &out, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n",
      "\r\n");
  if (!head) out += r.body;
  return out;
}

// A file's identity and version, to see a certificate replaced on disk.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t mtime_ns = 0;
  off_t size = -1;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return FileStamp();
  return {st.st_dev, st.st_ino,
          int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
          st.st_size};
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// Builds the server's TLS context from `files`: TLS 1.2 at least, the
// certificate chain and its key (which must match), and with a client CA
// file, a client certificate required and verified against it.
absl::StatusOr<SslCtxPtr> LoadTlsContext(const HttpTlsFiles& files) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a TLS context: ", OpenSslErrors()));
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE |
                                     SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str()) !=
      1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics.tls.cert_file ", files.cert_file,
        ": no PEM certificate could be loaded (", OpenSslErrors(), ")"));
  }
  const std::string not_its_key =
      absl::StrCat("metrics.tls.key_file ", files.key_file,
                   " is not the key of the certificate in ", files.cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    // OpenSSL finds a key of another certificate while loading it.
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
        (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
         ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH)) {
      ERR_clear_error();
      return absl::InvalidArgumentError(not_its_key);
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics.tls.key_file ", files.key_file,
        ": no PEM private key could be loaded (", OpenSslErrors(), ")"));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(not_its_key);
  }
  if (X509* cert = SSL_CTX_get0_certificate(ctx.get());
      cert != nullptr && X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    VIGIA_LOG(WARNING) << "metrics.tls.cert_file " << files.cert_file
                       << " holds an expired certificate; clients will "
                          "refuse it";
  }
  if (!files.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), files.client_ca_file.c_str(),
                                      nullptr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics.tls.client_ca_file ", files.client_ca_file,
          ": no PEM CA certificate could be loaded (", OpenSslErrors(), ")"));
    }
    STACK_OF(X509_NAME)* names =
        SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (names == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics.tls.client_ca_file ", files.client_ca_file,
                       " holds no CA certificate (", OpenSslErrors(), ")"));
    }
    SSL_CTX_set_client_CA_list(ctx.get(), names);
    SSL_CTX_set_verify(
        ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  // Session resumption with client certificates needs a context id.
  static constexpr unsigned char kSessionContext[] = "vigia-metrics";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext,
                                 sizeof(kSessionContext) - 1);
  return ctx;
}

// "host:port" or "[v6]:port" split; the port must be digits, at most 65535.
absl::StatusOr<std::pair<std::string, std::string>> SplitAddress(
    const std::string& address) {
  const size_t colon = address.rfind(':');
  std::string port =
      colon == std::string::npos ? "" : address.substr(colon + 1);
  int port_number = -1;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &port_number) || port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\" is not host:port"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

}  // namespace

class HttpServer::Loop {
 public:
  Loop(Handler handler, const HttpServerLimits& limits)
      : handler_(std::move(handler)), limits_(limits) {}

  ~Loop() {
    stop_.store(true);
    Wake();
    if (io_thread_.joinable()) io_thread_.join();
    {
      absl::MutexLock lock(&jobs_mu_);
      stopping_ = true;
    }
    for (std::thread& t : workers_) t.join();
    for (auto& [id, conn] : conns_) {
      if (conn->ssl != nullptr) SSL_free(conn->ssl);
      ::close(conn->fd);
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  absl::Status SetUpTls(const HttpTlsFiles& files) {
    if (files.cert_file.empty()) {
      if (!files.key_file.empty() || !files.client_ca_file.empty()) {
        return absl::InvalidArgumentError(
            "metrics.tls needs cert_file with key_file and client_ca_file");
      }
      return absl::OkStatus();
    }
    if (files.key_file.empty()) {
      return absl::InvalidArgumentError("metrics.tls.key_file is required");
    }
    tls_files_ = files;
    absl::StatusOr<SslCtxPtr> ctx = LoadTlsContext(files);
    if (!ctx.ok()) return ctx.status();
    tls_ = *std::move(ctx);
    tls_stamps_ = TlsStamps();
    tls_checked_ = Steady::now();
    return absl::OkStatus();
  }

  // Binds and listens on `address`; sets `port` to the port bound.
  absl::Status Listen(const std::string& address, int* port) {
    absl::StatusOr<std::pair<std::string, std::string>> split =
        SplitAddress(address);
    if (!split.ok()) return split.status();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int rc =
        ::getaddrinfo(split->first.empty() ? nullptr : split->first.c_str(),
                      split->second.c_str(), &hints, &found);
    if (rc != 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot serve metrics on ", address, ": ", ::gai_strerror(rc)));
    }
    std::string error = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      const int fd =
          ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   a->ai_protocol);
      if (fd < 0) {
        error = Errno("socket");
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0) {
        error = Errno("bind");
        ::close(fd);
        continue;
      }
      if (::listen(fd, SOMAXCONN) != 0) {
        error = Errno("listen");
        ::close(fd);
        continue;
      }
      listen_fd_ = fd;
      break;
    }
    ::freeaddrinfo(found);
    if (listen_fd_ < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", address, ": ", error));
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    *port = bound.ss_family == AF_INET6
                ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      return absl::InternalError(Errno("epoll/eventfd"));
    }
    Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_ADD);
    Watch(wake_fd_, kWakeId, EPOLLIN, EPOLL_CTL_ADD);
    return absl::OkStatus();
  }

  void StartThreads() {
    for (int i = 0; i < std::max(1, limits_.workers); ++i) {
      workers_.emplace_back([this] { WorkerMain(); });
    }
    io_thread_ = std::thread([this] { IoMain(); });
  }

  Stats stats() const {
    Stats s;
    s.accepted = accepted_.load();
    s.requests = requests_.load();
    s.bad_requests = bad_requests_.load();
    s.timed_out = timed_out_.load();
    s.evicted = evicted_.load();
    s.tls_failures = tls_failures_.load();
    s.tls_reloads = tls_reloads_.load();
    s.tls_reload_failures = tls_reload_failures_.load();
    s.open = open_.load();
    return s;
  }

 private:
  enum class State {
    kHandshake,  // TLS handshake
    kReading,    // the request head is being read (maybe no byte yet)
    kIdle,       // keep-alive, waiting for the next request's first byte
    kHandling,   // the request is with a worker
    kWriting,    // the response is being written
    kLingering,  // closing: discarding what the client still sends
  };
  enum class Io { kOk, kWantRead, kWantWrite, kEof, kError };

  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    SSL* ssl = nullptr;
    State state = State::kReading;
    // When the current wait began (eviction takes the oldest) and when it
    // must end.
    SteadyTime since;
    SteadyTime deadline;
    std::string in;
    std::string out;
    size_t out_pos = 0;
    bool head = false;
    bool keep_alive = false;
    uint32_t events = 0;  // the epoll interest set now
  };

  struct Job {
    uint64_t id;
    HttpRequest request;
  };
  struct Done {
    uint64_t id;
    HttpResponse response;
  };

  void Watch(int fd, uint64_t id, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_fd_, op, fd, &ev);
  }

  void SetInterest(Conn& c, uint32_t events) {
    if (c.events == events) return;
    c.events = events;
    Watch(c.fd, c.id, events, EPOLL_CTL_MOD);
  }

  void Wake() {
    const uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
  }

  std::vector<FileStamp> TlsStamps() const {
    return {Stamp(tls_files_.cert_file), Stamp(tls_files_.key_file),
            Stamp(tls_files_.client_ca_file)};
  }

  // Loads the TLS files again if they changed on disk (cert-manager and
  // ACME clients replace them in place); a failure keeps the old context.
  void MaybeReloadTls() {
    if (tls_ == nullptr) return;
    const SteadyTime now = Steady::now();
    if (now - tls_checked_ < kTlsCheckInterval) return;
    tls_checked_ = now;
    std::vector<FileStamp> stamps = TlsStamps();
    if (stamps == tls_stamps_) return;
    // Noted even if the load fails: a half-written pair is tried again once
    // a file changes again, not on every connection.
    tls_stamps_ = std::move(stamps);
    absl::StatusOr<SslCtxPtr> ctx = LoadTlsContext(tls_files_);
    if (!ctx.ok()) {
      ++tls_reload_failures_;
      VIGIA_LOG(WARNING) << "metrics: TLS files changed but cannot be loaded ("
                         << ctx.status().message()
                         << "); still serving the previous certificate";
      return;
    }
    tls_ = *std::move(ctx);
    ++tls_reloads_;
    VIGIA_LOG(INFO) << "metrics: TLS certificate reloaded from "
                    << tls_files_.cert_file;
  }

  void IoMain() {
    // SSL_write writes with write(2), which raises SIGPIPE on a connection
    // the peer has closed; blocked on this thread, it stays pending and
    // harmless instead of ending the process.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    epoll_event events[64];
    while (!stop_.load()) {
      const int n = ::epoll_wait(epoll_fd_, events, 64, NextTimeoutMs());
      for (int i = 0; i < n && !stop_.load(); ++i) {
        const uint64_t id = events[i].data.u64;
        if (id == kListenId) {
          AcceptAll();
        } else if (id == kWakeId) {
          uint64_t count;
          (void)!::read(wake_fd_, &count, sizeof(count));
          TakeResponses();
        } else if (auto it = conns_.find(id); it != conns_.end()) {
          OnEvent(*it->second, events[i].events);
        }
      }
      ExpireDeadlines();
    }
  }

  int NextTimeoutMs() const {
    SteadyTime next = Steady::now() + std::chrono::seconds(1);
    for (const auto& [id, c] : conns_) next = std::min(next, c->deadline);
    const auto ms =
        std::chrono::ceil<std::chrono::milliseconds>(next - Steady::now());
    return static_cast<int>(std::max<int64_t>(0, ms.count()));
  }

  void ExpireDeadlines() {
    const SteadyTime now = Steady::now();
    std::vector<uint64_t> expired;
    for (const auto& [id, c] : conns_) {
      if (c->deadline <= now) expired.push_back(id);
    }
    for (uint64_t id : expired) {
      Conn& c = *conns_[id];
      if (c.state != State::kLingering && c.state != State::kIdle) {
        ++timed_out_;
      }
      Close(c);
    }
  }

  void AcceptAll() {
    while (true) {
      const int fd =
          ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
          // Out of descriptors: stop accepting until a connection closes,
          // and close the longest-waiting one so that happens.
          VIGIA_LOG(WARNING) << "metrics: " << Errno("accept");
          Watch(listen_fd_, kListenId, 0, EPOLL_CTL_MOD);
          accept_paused_ = true;
          EvictOne();
        }
        return;
      }
      if (static_cast<int>(conns_.size()) >= limits_.max_connections &&
          !EvictOne()) {
        ::close(fd);  // every connection has a request in progress
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto conn = std::make_unique<Conn>();
      Conn& c = *conn;
      c.id = next_id_++;
      c.fd = fd;
      c.since = Steady::now();
      c.deadline = c.since + absl::ToChronoNanoseconds(limits_.request_timeout);
      c.events = EPOLLIN;
      conns_.emplace(c.id, std::move(conn));
      Watch(fd, c.id, EPOLLIN, EPOLL_CTL_ADD);
      ++accepted_;
      open_.store(static_cast<int64_t>(conns_.size()));
      MaybeReloadTls();
      if (tls_ != nullptr) {
        c.ssl = SSL_new(tls_.get());
        if (c.ssl == nullptr || SSL_set_fd(c.ssl, fd) != 1) {
          ERR_clear_error();
          Close(c);
          continue;
        }
        c.state = State::kHandshake;
        Handshake(c);
      } else {
        c.state = State::kReading;
      }
    }
  }

  // Closes the connection that has waited longest without a request in
  // progress, if any.
  bool EvictOne() {
    Conn* victim = nullptr;
    for (const auto& [id, c] : conns_) {
      if (c->state == State::kHandling || c->state == State::kWriting) {
        continue;
      }
      // A closing connection goes first, whatever its age.
      const bool better = victim == nullptr ||
                          (c->state == State::kLingering) >
                              (victim->state == State::kLingering) ||
                          ((c->state == State::kLingering) ==
                               (victim->state == State::kLingering) &&
                           (c->since < victim->since ||
                            (c->since == victim->since && c->id < victim->id)));
      if (better) victim = c.get();
    }
    if (victim == nullptr) return false;
    if (victim->state != State::kLingering) ++evicted_;
    Close(*victim);
    return true;
  }

  void OnEvent(Conn& c, uint32_t events) {
    if (events & EPOLLERR) {
      Close(c);
      return;
    }
    switch (c.state) {
      case State::kHandshake:
        Handshake(c);
        break;
      case State::kReading:
      case State::kIdle:
        ReadRequest(c);
        break;
      case State::kHandling:
        // Interest is empty: only a hang-up or error gets here.
        if (events & EPOLLHUP) Close(c);
        break;
      case State::kWriting:
        WriteResponse(c);
        break;
      case State::kLingering:
        Drain(c);
        break;
    }
  }

  void Handshake(Conn& c) {
    ERR_clear_error();
    const int rc = SSL_accept(c.ssl);
    if (rc == 1) {
      c.state = State::kReading;  // its deadline still counts from accept
      ReadRequest(c);
      return;
    }
    const int error = SSL_get_error(c.ssl, rc);
    if (error == SSL_ERROR_WANT_READ) {
      SetInterest(c, EPOLLIN);
    } else if (error == SSL_ERROR_WANT_WRITE) {
      SetInterest(c, EPOLLOUT);
    } else {
      ++tls_failures_;
      VIGIA_LOG(DEBUG) << "metrics: TLS handshake failed: " << OpenSslErrors();
      ERR_clear_error();
      Close(c);
    }
  }

  Io Read(Conn& c, char* buf, size_t size, size_t* n) {
    if (c.ssl == nullptr) {
      const ssize_t got = ::recv(c.fd, buf, size, 0);
      if (got > 0) {
        *n = static_cast<size_t>(got);
        return Io::kOk;
      }
      if (got == 0) return Io::kEof;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return Io::kWantRead;
      }
      return Io::kError;
    }
    ERR_clear_error();
    const int rc = SSL_read_ex(c.ssl, buf, size, n);
    if (rc == 1) return Io::kOk;
    return TlsResult(c, rc);
  }

  Io Write(Conn& c, const char* buf, size_t size, size_t* n) {
    if (c.ssl == nullptr) {
      const ssize_t put = ::send(c.fd, buf, size, MSG_NOSIGNAL);
      if (put >= 0) {
        *n = static_cast<size_t>(put);
        return Io::kOk;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return Io::kWantWrite;
      }
      return Io::kError;
    }
    ERR_clear_error();
    const int rc = SSL_write_ex(c.ssl, buf, size, n);
    if (rc == 1) return Io::kOk;
    return TlsResult(c, rc);
  }

  Io TlsResult(Conn& c, int rc) {
    switch (SSL_get_error(c.ssl, rc)) {
      case SSL_ERROR_WANT_READ:
        return Io::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return Io::kWantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return Io::kEof;
      default:
        ERR_clear_error();
        return Io::kError;
    }
  }

  void ReadRequest(Conn& c) {
    // A complete request already buffered (pipelined) goes first.
    if (!c.in.empty() && ParseAndDispatch(c)) return;
    char buf[kReadChunk];
    while (true) {
      size_t n = 0;
      const Io io = Read(c, buf, sizeof(buf), &n);
      if (io == Io::kWantRead || io == Io::kWantWrite) {
        SetInterest(c, io == Io::kWantRead ? EPOLLIN : EPOLLOUT);
        return;
      }
      if (io != Io::kOk) {
        Close(c);
        return;
      }
      if (c.state == State::kIdle) {
        c.state = State::kReading;
        c.since = Steady::now();
        c.deadline =
            c.since + absl::ToChronoNanoseconds(limits_.request_timeout);
      }
      c.in.append(buf, n);
      if (ParseAndDispatch(c)) return;
    }
  }

  // Parses the buffered request head; returns true when the connection
  // has moved on (request handed to a worker, error answered), false when
  // more bytes are needed.
  bool ParseAndDispatch(Conn& c) {
    ParsedHead p = ParseRequestHead(c.in, limits_);
    if (p.kind == ParsedHead::kIncomplete) return false;
    if (p.kind == ParsedHead::kError) {
      ++bad_requests_;
      HttpResponse r;
      r.status = p.error_status;
      r.body = absl::StrCat(Reason(r.status), "\n");
      Respond(c, r, /*head=*/false, /*keep_alive=*/false);
      return true;
    }
    c.in.erase(0, p.consumed);
    c.head = p.request.method == "HEAD";
    c.keep_alive = p.keep_alive;
    if (p.request.method != "GET" && !c.head) {
      ++bad_requests_;
      HttpResponse r;
      r.status = 405;
      r.headers.emplace_back("Allow", "GET, HEAD");
      r.body = "Method Not Allowed\n";
      Respond(c, r, false, false);
      return true;
    }
    p.request.tls = c.ssl != nullptr;
    c.state = State::kHandling;
    c.deadline = SteadyTime::max();
    SetInterest(c, 0);
    ++requests_;
    {
      absl::MutexLock lock(&jobs_mu_);
      jobs_.push_back({c.id, std::move(p.request)});
    }
    return true;
  }

  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(jobs_mu_) {
    return stopping_ || !jobs_.empty();
  }

  void WorkerMain() {
    while (true) {
      Job job;
      {
        absl::MutexLock lock(&jobs_mu_);
        jobs_mu_.Await(absl::Condition(this, &Loop::HasWork));
        if (jobs_.empty()) return;  // stopping
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      HttpResponse response = handler_(job.request);
      {
        absl::MutexLock lock(&done_mu_);
        done_.push_back({job.id, std::move(response)});
      }
      Wake();
    }
  }

  void TakeResponses() {
    std::deque<Done> done;
    {
      absl::MutexLock lock(&done_mu_);
      done.swap(done_);
    }
    for (Done& d : done) {
      auto it = conns_.find(d.id);
      // Gone meanwhile (the client hung up): nothing to answer.
      if (it == conns_.end() || it->second->state != State::kHandling) {
        continue;
      }
      Conn& c = *it->second;
      Respond(c, d.response, c.head, c.keep_alive);
    }
  }

  void Respond(Conn& c, const HttpResponse& r, bool head, bool keep_alive) {
    c.keep_alive = keep_alive;
    c.out = SerializeResponse(r, head, keep_alive);
    c.out_pos = 0;
    c.state = State::kWriting;
    c.since = Steady::now();
    c.deadline = c.since + absl::ToChronoNanoseconds(limits_.write_timeout);
    WriteResponse(c);
  }

  void WriteResponse(Conn& c) {
    while (c.out_pos < c.out.size()) {
      size_t n = 0;
      const Io io =
          Write(c, c.out.data() + c.out_pos, c.out.size() - c.out_pos, &n);
      if (io == Io::kWantRead || io == Io::kWantWrite) {
        SetInterest(c, io == Io::kWantRead ? EPOLLIN : EPOLLOUT);
        return;
      }
      if (io != Io::kOk) {
        Close(c);
        return;
      }
      c.out_pos += n;
    }
    c.out.clear();
    c.out_pos = 0;
    if (!c.keep_alive) {
      Linger(c);
      return;
    }
    c.state = State::kIdle;
    c.since = Steady::now();
    c.deadline = c.since + absl::ToChronoNanoseconds(limits_.idle_timeout);
    if (!c.in.empty()) {  // the next request began in the last read
      c.state = State::kReading;
      c.deadline = c.since + absl::ToChronoNanoseconds(limits_.request_timeout);
    }
    SetInterest(c, EPOLLIN);
    // TLS may hold decrypted bytes the socket no longer signals.
    ReadRequest(c);
  }

  // Ends the connection from our side, then discards what the client still
  // sends for a moment, so the response is not lost to a reset.
  void Linger(Conn& c) {
    if (c.ssl != nullptr) {
      ERR_clear_error();
      SSL_shutdown(c.ssl);  // close_notify; its answer is not waited for
      ERR_clear_error();
    }
    ::shutdown(c.fd, SHUT_WR);
    c.state = State::kLingering;
    c.since = Steady::now();
    c.deadline = c.since + kLingerTime;
    SetInterest(c, EPOLLIN);
    Drain(c);
  }

  void Drain(Conn& c) {
    char buf[kReadChunk];
    while (true) {
      const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      Close(c);  // end of stream or error
      return;
    }
  }

  void Close(Conn& c) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    if (c.ssl != nullptr) SSL_free(c.ssl);
    ::close(c.fd);
    conns_.erase(c.id);  // c is gone from here on
    open_.store(static_cast<int64_t>(conns_.size()));
    if (accept_paused_) {
      accept_paused_ = false;
      Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_MOD);
    }
  }

  const Handler handler_;
  const HttpServerLimits limits_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread io_thread_;
  std::vector<std::thread> workers_;

  // I/O thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t next_id_ = kFirstConnectionId;
  bool accept_paused_ = false;
  HttpTlsFiles tls_files_;
  SslCtxPtr tls_;
  std::vector<FileStamp> tls_stamps_;
  SteadyTime tls_checked_;

  absl::Mutex jobs_mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(jobs_mu_);
  bool stopping_ ABSL_GUARDED_BY(jobs_mu_) = false;
  absl::Mutex done_mu_;
  std::deque<Done> done_ ABSL_GUARDED_BY(done_mu_);

  std::atomic<int64_t> accepted_{0}, requests_{0}, bad_requests_{0},
      timed_out_{0}, evicted_{0}, tls_failures_{0}, tls_reloads_{0},
      tls_reload_failures_{0}, open_{0};
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const std::string& address, Handler handler, const HttpServerLimits& limits,
    const HttpTlsFiles& tls) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->loop_ = std::make_unique<Loop>(std::move(handler), limits);
  if (absl::Status s = server->loop_->SetUpTls(tls); !s.ok()) return s;
  if (absl::Status s = server->loop_->Listen(address, &server->port_);
      !s.ok()) {
    return s;
  }
  server->loop_->StartThreads();
  return server;
}

HttpServer::~HttpServer() = default;

HttpServer::Stats HttpServer::stats() const { return loop_->stats(); }

}  // namespace vigia
