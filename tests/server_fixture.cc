#include "tests/server_fixture.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace vigia::test_servers {
namespace {

std::string Errno(const char* what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

absl::StatusOr<HttpResponse> Request(const std::string& url,
                                     const std::string* post_body,
                                     const std::string& content_type,
                                     absl::Duration timeout) {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) return absl::InternalError("curl_global_init failed");
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  HttpResponse response;
  curl_slist* headers = nullptr;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // Test servers are on loopback; a proxy from the environment would only
  // get in the way.
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1,localhost");
  if (post_body != nullptr) {
    const std::string header = "Content-Type: " + content_type;
    headers = curl_slist_append(headers, header.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(post_body->size()));
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(url, ": ", curl_easy_strerror(rc)));
  }
  return response;
}

bool Reap(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

absl::StatusOr<ClosedPort> ClosedPort::Open() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(Errno("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string error = Errno("bind 127.0.0.1:0");
    close(fd);
    return absl::InternalError(error);
  }
  return ClosedPort(fd, static_cast<int>(ntohs(addr.sin_port)));
}

std::string ClosedPort::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

void ClosedPort::Release() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::StatusOr<int> PickFreePort() {
  absl::StatusOr<ClosedPort> port = ClosedPort::Open();
  if (!port.ok()) return port.status();
  return port->port();
}

int ConnectLoopback(int port, absl::Duration recv_timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (recv_timeout > absl::ZeroDuration()) {
    const timeval tv = absl::ToTimeval(recv_timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
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

absl::StatusOr<std::string> MakeScratchDir(const std::string& prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(
      base != nullptr && *base != '\0' ? base : "/tmp", "/", prefix, "XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(Errno(("mkdtemp " + path).c_str()));
  }
  return path;
}

absl::StatusOr<HttpResponse> HttpGet(const std::string& url,
                                     absl::Duration timeout) {
  return Request(url, nullptr, "", timeout);
}

absl::StatusOr<HttpResponse> HttpPost(const std::string& url,
                                      const std::string& body,
                                      const std::string& content_type,
                                      absl::Duration timeout) {
  return Request(url, &body, content_type, timeout);
}

absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& command) {
  if (command.empty()) return absl::InvalidArgumentError("empty command");
  std::vector<char*> argv;
  for (const std::string& arg : command) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(Errno("pipe"));
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(Errno("fork"));
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  CommandResult result;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n > 0) {
      result.output.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    return absl::InternalError(Errno("waitpid"));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    Options options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no argv");
  std::unique_ptr<ServerProcess> server(new ServerProcess(std::move(options)));
  const Options& o = server->options_;
  const std::string log_path = o.dir + "/server.log";
  const int log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(Errno(log_path.c_str()));
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<char*> argv;
  for (const std::string& arg : o.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return absl::InternalError(Errno("fork"));
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  if (null_fd >= 0) close(null_fd);
  server->pid_ = pid;

  const absl::Time deadline = absl::Now() + o.ready_timeout;
  while (true) {
    if (Reap(pid)) {
      server->pid_ = -1;
      return absl::InternalError(
          absl::StrCat(o.argv[0], " exited at start:\n", server->LogTail()));
    }
    if (o.ready_probe) {
      if (o.ready_probe()) return server;
    } else {
      absl::StatusOr<HttpResponse> ready =
          HttpGet(o.ready_url, absl::Seconds(1));
      if (ready.ok() && ready->status == 200) return server;
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          o.argv[0], " not ready at ", o.ready_url, " after ",
          absl::FormatDuration(o.ready_timeout), ":\n", server->LogTail()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

ServerProcess::~ServerProcess() {
  Stop();
  if (!options_.dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(options_.dir, ignored);
  }
}

void ServerProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!Reap(pid_)) {
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

std::optional<int> ServerProcess::Poll() {
  if (pid_ <= 0) return exit_code_;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  pid_ = -1;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit_code_;
}

std::string ServerProcess::LogTail(size_t max_bytes) const {
  std::ifstream in(options_.dir + "/server.log", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string log = text.str();
  if (log.size() > max_bytes) log = log.substr(log.size() - max_bytes);
  return log;
}

absl::StatusOr<std::unique_ptr<AlertmanagerServer>> AlertmanagerServer::Start(
    int port, const std::string& config_yaml) {
  // A port picked here can be taken by someone else before Alertmanager
  // binds it; with a picked port, try a few.
  const int tries = port == 0 ? 3 : 1;
  absl::Status last;
  for (int i = 0; i < tries; ++i) {
    int use_port = port;
    if (use_port == 0) {
      absl::StatusOr<int> picked = PickFreePort();
      if (!picked.ok()) return picked.status();
      use_port = *picked;
    }
    absl::StatusOr<std::string> dir = MakeScratchDir("alertmanager-");
    if (!dir.ok()) return dir.status();
    const std::string config_path = *dir + "/alertmanager.yml";
    {
      std::ofstream out(config_path);
      out << config_yaml;
      if (!out) return absl::InternalError("cannot write " + config_path);
    }
    const std::string address = absl::StrCat("127.0.0.1:", use_port);
    ServerProcess::Options options;
    options.argv = {
        "/usr/bin/prometheus-alertmanager", "--config.file=" + config_path,
        "--storage.path=" + *dir + "/data", "--web.listen-address=" + address,
        "--cluster.listen-address=",        "--log.level=warn"};
    options.dir = *dir;
    options.ready_url = absl::StrCat("http://", address, "/-/ready");
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Start(std::move(options));
    if (process.ok()) {
      return std::unique_ptr<AlertmanagerServer>(
          new AlertmanagerServer(use_port, std::move(*process)));
    }
    last = process.status();
  }
  return last;
}

std::string AlertmanagerServer::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::StatusOr<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(
    const std::vector<std::string>& scrape_targets, const std::string& job) {
  std::string targets;
  for (const std::string& t : scrape_targets) {
    absl::StrAppend(&targets, targets.empty() ? "" : ", ", "'", t, "'");
  }
  return StartWithScrapeConfigs(absl::StrCat("  - job_name: '", job,
                                             "'\n"
                                             "    static_configs:\n"
                                             "      - targets: [",
                                             targets, "]\n"));
}

absl::StatusOr<std::unique_ptr<PrometheusServer>>
PrometheusServer::StartWithScrapeConfigs(const std::string& scrape_configs) {
  // One-second intervals so a test sees data within seconds; the lookback
  // delta stays at its default (5 m), longer than any test.
  const std::string config = absl::StrCat(
      "global:\n"
      "  scrape_interval: 1s\n"
      "  scrape_timeout: 1s\n"
      "  evaluation_interval: 1s\n"
      "scrape_configs:\n",
      scrape_configs);
  // As with Alertmanager: a picked port can be taken before Prometheus
  // binds it, so try a few.
  absl::Status last;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<int> port = PickFreePort();
    if (!port.ok()) return port.status();
    absl::StatusOr<std::string> dir = MakeScratchDir("prometheus-");
    if (!dir.ok()) return dir.status();
    const std::string config_path = *dir + "/prometheus.yml";
    {
      std::ofstream out(config_path);
      out << config;
      if (!out) return absl::InternalError("cannot write " + config_path);
    }
    const std::string address = absl::StrCat("127.0.0.1:", *port);
    ServerProcess::Options options;
    options.argv = {"/usr/bin/prometheus", "--config.file=" + config_path,
                    "--storage.tsdb.path=" + *dir + "/data",
                    "--web.listen-address=" + address, "--log.level=warn"};
    options.dir = *dir;
    options.ready_url = absl::StrCat("http://", address, "/-/ready");
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Start(std::move(options));
    if (process.ok()) {
      return std::unique_ptr<PrometheusServer>(
          new PrometheusServer(*port, std::move(*process)));
    }
    last = process.status();
  }
  return last;
}

std::map<std::string, PrometheusServer::TargetHealth>
PrometheusServer::ActiveTargets() const {
  std::map<std::string, TargetHealth> out;
  absl::StatusOr<HttpResponse> response =
      HttpGet(url() + "/api/v1/targets?state=active");
  if (!response.ok() || response->status != 200) return out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(response->body).get(doc) != simdjson::SUCCESS) return out;
  simdjson::dom::array targets;
  if (doc["data"]["activeTargets"].get_array().get(targets) !=
      simdjson::SUCCESS) {
    return out;
  }
  for (simdjson::dom::element t : targets) {
    std::string_view job, health, error;
    if (t["labels"]["job"].get_string().get(job) != simdjson::SUCCESS ||
        t["health"].get_string().get(health) != simdjson::SUCCESS) {
      continue;
    }
    if (t["lastError"].get_string().get(error) != simdjson::SUCCESS) {
      error = "";
    }
    out[std::string(job)] = {std::string(health), std::string(error)};
  }
  return out;
}

std::string PrometheusServer::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

}  // namespace vigia::test_servers
