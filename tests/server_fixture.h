// Real servers for integration tests: start a Debian-packaged daemon
// (Alertmanager, Prometheus, ...) on a free loopback port, wait until it
// says it is ready, and stop it when the test ends. Also small HTTP helpers
// (libcurl) to talk to it.
//
// A ServerProcess owns its child process and its scratch directory; the
// destructor stops the child (SIGTERM, then SIGKILL) and deletes the
// directory. The child also dies with the thread that started it
// (PR_SET_PDEATHSIG), so a crashed test leaves no daemon behind.
// Not thread-safe; one owner.
#ifndef VIGIA_TESTS_SERVER_FIXTURE_H_
#define VIGIA_TESTS_SERVER_FIXTURE_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vigia::test_servers {

// Returns a TCP port on 127.0.0.1 that was free a moment ago (the kernel's
// pick for port 0). Another process may still take it before it is used.
absl::StatusOr<int> PickFreePort();

// A loopback port held bound but not listening: connections to it are
// refused at once, and no other process can take the port while this
// object holds it. For "Alertmanager is down" tests, and to keep a port for
// a server started later (Release() just before starting it).
class ClosedPort {
 public:
  static absl::StatusOr<ClosedPort> Open();
  ClosedPort(ClosedPort&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), port_(other.port_) {}
  ClosedPort& operator=(ClosedPort&&) = delete;
  ~ClosedPort() { Release(); }

  int port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const;
  // Frees the port for someone else to bind. Idempotent.
  void Release();

 private:
  ClosedPort(int fd, int port) : fd_(fd), port_(port) {}
  int fd_;
  int port_;
};

// A TCP connection to 127.0.0.1:`port`, or -1. With a nonzero
// `recv_timeout`, a read that waits longer fails (so that a broken server
// fails a test instead of hanging it). The caller closes the descriptor.
int ConnectLoopback(int port,
                    absl::Duration recv_timeout = absl::ZeroDuration());

// Creates a fresh directory under $TEST_TMPDIR (or /tmp) named
// `prefix`XXXXXX and returns its path.
absl::StatusOr<std::string> MakeScratchDir(const std::string& prefix);

struct HttpResponse {
  long status = 0;
  std::string body;
};
// One HTTP request; a transport error (refused, timeout) is Unavailable,
// any HTTP status is a response.
absl::StatusOr<HttpResponse> HttpGet(const std::string& url,
                                     absl::Duration timeout = absl::Seconds(5));
absl::StatusOr<HttpResponse> HttpPost(
    const std::string& url, const std::string& body,
    const std::string& content_type = "application/json",
    absl::Duration timeout = absl::Seconds(5));

// Runs `command` (argv[0] is the program's path; no shell) to completion
// and returns its exit code and its stdout and stderr, interleaved.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& command);

class ServerProcess {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0]: absolute path of the program
    std::string dir;                // scratch directory, owned and deleted
    std::string ready_url;          // polled until it answers 200
    // When set, polled instead of ready_url until it returns true (a
    // server that answers only over TLS or with credentials).
    std::function<bool()> ready_probe;
    absl::Duration ready_timeout = absl::Seconds(30);
  };
  // Starts the program with stdout and stderr in `dir`/server.log and waits
  // until `ready_url` answers 200. Fails (with the log's tail in the
  // message) if the program exits or is not ready in time.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(Options options);

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  // Stops the process: SIGTERM, and SIGKILL if it has not exited after 10 s.
  // Idempotent.
  void Stop();
  // For a program that ends by itself: returns its exit code (-1 if a
  // signal ended it) once it has exited, reaping it; nullopt while it runs.
  // Once it has returned a code, Stop() does nothing.
  std::optional<int> Poll();
  // The last `max_bytes` of its log, for failure messages.
  std::string LogTail(size_t max_bytes = 4000) const;
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return options_.dir; }

 private:
  explicit ServerProcess(Options options) : options_(std::move(options)) {}
  Options options_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;  // set by Poll() once it has exited
};

// A real Alertmanager (/usr/bin/prometheus-alertmanager) on 127.0.0.1 with
// clustering off and its own storage.
class AlertmanagerServer {
 public:
  // The default configuration: one route to a receiver with no
  // integrations, so nothing is ever notified.
  static constexpr char kNullConfig[] =
      "route:\n"
      "  receiver: 'null'\n"
      "receivers:\n"
      "  - name: 'null'\n";

  // Starts an Alertmanager on `port` (0: a free one) with `config_yaml`.
  static absl::StatusOr<std::unique_ptr<AlertmanagerServer>> Start(
      int port = 0, const std::string& config_yaml = kNullConfig);

  int port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const;
  ServerProcess& process() { return *process_; }

 private:
  AlertmanagerServer(int port, std::unique_ptr<ServerProcess> process)
      : port_(port), process_(std::move(process)) {}
  int port_;
  std::unique_ptr<ServerProcess> process_;
};

// A real Prometheus (/usr/bin/prometheus) on 127.0.0.1 with its TSDB in its
// own scratch directory, scraping and evaluating every second.
class PrometheusServer {
 public:
  // Starts a Prometheus on a free port that scrapes each of
  // `scrape_targets` ("host:port", path /metrics) under job `job`.
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Start(
      const std::vector<std::string>& scrape_targets,
      const std::string& job = "vigia");
  // Starts one with `scrape_configs`: the YAML list under Prometheus's
  // scrape_configs key (each item "  - job_name: ..."), for jobs with their
  // own settings such as basic_auth.
  static absl::StatusOr<std::unique_ptr<PrometheusServer>>
  StartWithScrapeConfigs(const std::string& scrape_configs);

  int port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const;
  ServerProcess& process() { return *process_; }

  // A scrape target's last health as Prometheus reports it.
  struct TargetHealth {
    std::string health;  // "up", "down" or "unknown"
    std::string last_error;
  };
  // The active targets by job (/api/v1/targets); empty when Prometheus
  // cannot be asked or answers something else.
  std::map<std::string, TargetHealth> ActiveTargets() const;

 private:
  PrometheusServer(int port, std::unique_ptr<ServerProcess> process)
      : port_(port), process_(std::move(process)) {}
  int port_;
  std::unique_ptr<ServerProcess> process_;
};

}  // namespace vigia::test_servers

#endif  // VIGIA_TESTS_SERVER_FIXTURE_H_
