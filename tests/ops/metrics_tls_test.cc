// The metrics port over TLS, scraped by a real Prometheus: a test CA, a
// server and client certificate are made with the openssl CLI (as
// docs/metrics.md tells operators), the configuration is loaded from a
// file as `vigia run` loads it, and Prometheus's own TLS client must get
// in. With a client CA (mutual TLS) a scrape without a client certificate,
// or with one from another CA, must fail; so must plain HTTP. Basic
// authentication over TLS lets in only the job with the password. Stalled
// handshakes do not keep a scrape out. Certificates
// replaced on disk are served without a restart, and unusable ones stop
// the server at start with the file named.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"
#include "pipeline/metrics/metrics_server.h"
#include "tests/server_fixture.h"

namespace vigia {
namespace {

using test_servers::HttpResponse;
using test_servers::PrometheusServer;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// Runs the openssl CLI; returns its output, failing the test on an error.
std::string OpenSsl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<test_servers::CommandResult> r =
      test_servers::RunCommand(argv);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "";
  EXPECT_EQ(r->exit_code, 0) << r->output;
  return r->output;
}

// A P-256 CA in `dir`/`name`.pem and .key.
void MakeCa(const std::string& dir, const std::string& name) {
  OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           dir + "/" + name + ".key", "-out", dir + "/" + name + ".pem",
           "-days", "2", "-subj", "/CN=" + name});
}

// A certificate `name`.pem and key `name`.key signed by CA `ca`, for a
// server on 127.0.0.1 or (`client`) a client.
void MakeCert(const std::string& dir, const std::string& ca,
              const std::string& name, bool client) {
  const std::string base = dir + "/" + name;
  WriteFile(base + ".ext", client ? "extendedKeyUsage=clientAuth\n"
                                  : "subjectAltName=IP:127.0.0.1\n"
                                    "extendedKeyUsage=serverAuth\n");
  OpenSsl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-keyout", base + ".key", "-out", base + ".csr", "-subj",
           "/CN=" + name});
  OpenSsl({"x509", "-req", "-in", base + ".csr", "-CA", dir + "/" + ca + ".pem",
           "-CAkey", dir + "/" + ca + ".key", "-set_serial", "2", "-days", "2",
           "-extfile", base + ".ext", "-out", base + ".pem"});
}

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// An HTTPS GET trusting `ca_file`, with a client certificate when
// `cert` is given; a TLS or transport failure is Unavailable with curl's
// reason.
absl::StatusOr<HttpResponse> HttpsGet(const std::string& url,
                                      const std::string& ca_file,
                                      const std::string& cert = "",
                                      const std::string& key = "") {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init");
  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1");
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSLVERSION,
                   static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!cert.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, cert.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, key.c_str());
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(curl_easy_strerror(rc), ": ", error));
  }
  return response;
}

class MetricsTls : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir =
        test_servers::MakeScratchDir("metrics-tls-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
    MakeCa(dir_, "ca");
    MakeCa(dir_, "other-ca");
    MakeCert(dir_, "ca", "server", /*client=*/false);
    MakeCert(dir_, "ca", "prometheus", /*client=*/true);
    MakeCert(dir_, "other-ca", "stranger", /*client=*/true);
    MakeCert(dir_, "other-ca", "server2", /*client=*/false);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string F(const std::string& name) const { return dir_ + "/" + name; }

  // The config file a deployment would write, loaded as `vigia run` does.
  Config LoadTlsConfig(bool mutual) {
    const std::string path = F(mutual ? "mtls.yaml" : "tls.yaml");
    WriteFile(
        path,
        absl::StrCat(
            "metrics:\n  addr: 127.0.0.1:0\n  tls:\n"
            "    cert_file: ",
            F("server.pem"), "\n    key_file: ", F("server.key"), "\n",
            mutual ? absl::StrCat("    client_ca_file: ", F("ca.pem"), "\n")
                   : ""));
    absl::StatusOr<Config> config = LoadConfigFile(path);
    EXPECT_TRUE(config.ok()) << config.status();
    return config.ok() ? *config : Config();
  }

  std::string dir_;
};

TEST_F(MetricsTls, PrometheusScrapesOverTlsAndMutualTlsRefusesStrangers) {
  const Config tls = LoadTlsConfig(/*mutual=*/false);
  const Config mtls = LoadTlsConfig(/*mutual=*/true);
  ASSERT_TRUE(tls.metrics_tls.enabled());
  auto plain_tls = MetricsServer::Start(tls.metrics_addr, NewMetricsRegistry(),
                                        tls.metrics_auth, tls.metrics_tls);
  ASSERT_TRUE(plain_tls.ok()) << plain_tls.status();
  auto mutual = MetricsServer::Start(mtls.metrics_addr, NewMetricsRegistry(),
                                     mtls.metrics_auth, mtls.metrics_tls);
  ASSERT_TRUE(mutual.ok()) << mutual.status();
  EXPECT_STREQ((*mutual)->scheme(), "https");
  // TLS and basic authentication together.
  MetricsAuthConfig auth;
  auth.username = "prometheus";
  auth.secret = "over tls";
  const std::string password_file = F("password");
  WriteFile(password_file, "over tls\n");
  auto with_auth = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(),
                                        auth, tls.metrics_tls);
  ASSERT_TRUE(with_auth.ok()) << with_auth.status();

  // A client of our own first: the same answers, with curl's reasons.
  const std::string tls_url =
      absl::StrCat("https://", (*plain_tls)->address(), "/metrics");
  const std::string mtls_url =
      absl::StrCat("https://", (*mutual)->address(), "/metrics");
  absl::StatusOr<HttpResponse> ok = HttpsGet(tls_url, F("ca.pem"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_THAT(ok->body, HasSubstr("vigia_build_info"));
  EXPECT_FALSE(HttpsGet(tls_url, F("other-ca.pem")).ok());
  absl::StatusOr<HttpResponse> with_cert =
      HttpsGet(mtls_url, F("ca.pem"), F("prometheus.pem"), F("prometheus.key"));
  ASSERT_TRUE(with_cert.ok()) << with_cert.status();
  EXPECT_EQ(with_cert->status, 200);
  EXPECT_FALSE(HttpsGet(mtls_url, F("ca.pem")).ok());
  EXPECT_FALSE(
      HttpsGet(mtls_url, F("ca.pem"), F("stranger.pem"), F("stranger.key"))
          .ok());
  // Plain HTTP to a TLS port gets no metrics.
  absl::StatusOr<HttpResponse> plain = test_servers::HttpGet(
      absl::StrCat("http://", (*plain_tls)->address(), "/metrics"));
  EXPECT_TRUE(!plain.ok() ||
              plain->body.find("vigia_build_info") == std::string::npos);

  const auto job = [](const std::string& name, const std::string& target,
                      const std::string& tls_config) {
    return absl::StrCat("  - job_name: ", name, "\n", tls_config,
                        "    static_configs:\n      - targets: ['", target,
                        "']\n");
  };
  const std::string https = "    scheme: https\n    tls_config:\n";
  absl::StatusOr<std::unique_ptr<PrometheusServer>> prometheus =
      PrometheusServer::StartWithScrapeConfigs(absl::StrCat(
          job("tls", (*plain_tls)->address(),
              absl::StrCat(https, "      ca_file: ", F("ca.pem"), "\n")),
          job("mtls", (*mutual)->address(),
              absl::StrCat(https, "      ca_file: ", F("ca.pem"), "\n",
                           "      cert_file: ", F("prometheus.pem"), "\n",
                           "      key_file: ", F("prometheus.key"), "\n")),
          job("no_client_cert", (*mutual)->address(),
              absl::StrCat(https, "      ca_file: ", F("ca.pem"), "\n")),
          job("stranger", (*mutual)->address(),
              absl::StrCat(https, "      ca_file: ", F("ca.pem"), "\n",
                           "      cert_file: ", F("stranger.pem"), "\n",
                           "      key_file: ", F("stranger.key"), "\n")),
          job("plain_http", (*plain_tls)->address(), ""),
          job("tls_auth", (*with_auth)->address(),
              absl::StrCat("    basic_auth:\n      username: prometheus\n"
                           "      password_file: ",
                           password_file, "\n", https,
                           "      ca_file: ", F("ca.pem"), "\n")),
          job("tls_no_auth", (*with_auth)->address(),
              absl::StrCat(https, "      ca_file: ", F("ca.pem"), "\n"))));
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  // Wait (no fixed sleep) until Prometheus has scraped every job once.
  std::map<std::string, PrometheusServer::TargetHealth> targets;
  for (int i = 0; i < 600; ++i) {
    targets = (*prometheus)->ActiveTargets();
    bool all_scraped = targets.size() == 7;
    for (const auto& [name, state] : targets) {
      all_scraped = all_scraped && state.health != "unknown";
    }
    if (all_scraped) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(targets.size(), 7u) << (*prometheus)->process().LogTail();
  for (const char* up : {"tls", "mtls", "tls_auth"}) {
    EXPECT_EQ(targets[up].health, "up") << up << ": " << targets[up].last_error;
  }
  for (const char* down : {"no_client_cert", "stranger", "plain_http"}) {
    EXPECT_EQ(targets[down].health, "down") << down;
    EXPECT_NE(targets[down].last_error, "") << down;
  }
  EXPECT_EQ(targets["tls_no_auth"].health, "down");
  EXPECT_THAT(targets["tls_no_auth"].last_error, HasSubstr("401"));
  EXPECT_GE((*mutual)->stats().tls_failures, 2);
}

TEST_F(MetricsTls, StalledHandshakesDoNotStarveAScrape) {
  MetricsTlsConfig files;
  files.cert_file = F("server.pem");
  files.key_file = F("server.key");
  HttpServerLimits limits;
  limits.request_timeout = absl::Hours(1);  // nothing is timed out here
  auto server =
      MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(),
                           MetricsAuthConfig(), files, nullptr, limits);
  ASSERT_TRUE(server.ok()) << server.status();
  // 100 clients that never finish a handshake: half silent, half stopped
  // inside their ClientHello's record header.
  std::vector<int> stalled;
  for (int i = 0; i < 100; ++i) {
    const int fd = test_servers::ConnectLoopback((*server)->port());
    ASSERT_GE(fd, 0);
    if (i % 2 == 1) {
      ASSERT_EQ(::send(fd, "\x16\x03\x01\x02", 4, MSG_NOSIGNAL), 4);
    }
    stalled.push_back(fd);
  }
  absl::StatusOr<HttpResponse> scrape = HttpsGet(
      absl::StrCat("https://", (*server)->address(), "/metrics"), F("ca.pem"));
  for (int fd : stalled) ::close(fd);
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_EQ(scrape->status, 200);
  EXPECT_THAT(scrape->body, HasSubstr("vigia_build_info"));
  EXPECT_EQ((*server)->stats().evicted, 0);
}

TEST_F(MetricsTls, ServesACertificateReplacedOnDisk) {
  // The files the server reads, at fixed paths (as cert-manager or an ACME
  // client would keep them).
  const std::string cert = F("live.pem"), key = F("live.key");
  std::filesystem::copy_file(F("server.pem"), cert);
  std::filesystem::copy_file(F("server.key"), key);
  MetricsTlsConfig files;
  files.cert_file = cert;
  files.key_file = key;
  auto server = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(),
                                     MetricsAuthConfig(), files);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string url =
      absl::StrCat("https://", (*server)->address(), "/-/healthy");
  ASSERT_TRUE(HttpsGet(url, F("ca.pem")).ok());
  EXPECT_FALSE(HttpsGet(url, F("other-ca.pem")).ok());

  // A half-done replacement (a new certificate with the old key) is not
  // taken: the old pair keeps serving. The server looks at the files at
  // most once a second, on a new connection: connect until it has tried.
  std::filesystem::copy_file(F("server2.pem"), cert,
                             std::filesystem::copy_options::overwrite_existing);
  for (int i = 0; i < 300 && (*server)->stats().tls_reload_failures == 0; ++i) {
    EXPECT_TRUE(HttpsGet(url, F("ca.pem")).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ((*server)->stats().tls_reload_failures, 1);
  EXPECT_TRUE(HttpsGet(url, F("ca.pem")).ok());
  // The key follows: once the server has looked again, clients trusting
  // the other CA get in. Polled, no fixed sleep.
  std::filesystem::copy_file(F("server2.key"), key,
                             std::filesystem::copy_options::overwrite_existing);
  bool switched = false;
  for (int i = 0; i < 300 && !switched; ++i) {
    switched = HttpsGet(url, F("other-ca.pem")).ok();
    if (!switched) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(switched);
  EXPECT_FALSE(HttpsGet(url, F("ca.pem")).ok());
  EXPECT_GE((*server)->stats().tls_reloads, 1);
}

TEST_F(MetricsTls, UnusableFilesStopTheServerAtStartNamingTheFile) {
  const std::string garbage = F("garbage.pem");
  WriteFile(garbage, "not a certificate\n");
  struct Case {
    std::string cert, key, ca, message;
  };
  const std::vector<Case> cases = {
      {garbage, F("server.key"), "",
       "metrics.tls.cert_file " + garbage + ": no PEM certificate"},
      {F("server.pem"), garbage, "",
       "metrics.tls.key_file " + garbage + ": no PEM private key"},
      {F("server.pem"), F("prometheus.key"), "",
       "metrics.tls.key_file " + F("prometheus.key") +
           " is not the key of the certificate in " + F("server.pem")},
      {F("server.pem"), F("server.key"), garbage,
       "metrics.tls.client_ca_file " + garbage},
  };
  for (const Case& c : cases) {
    MetricsTlsConfig tls;
    tls.cert_file = c.cert;
    tls.key_file = c.key;
    tls.client_ca_file = c.ca;
    auto server = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(),
                                       MetricsAuthConfig(), tls);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message;
    EXPECT_THAT(std::string(server.status().message()), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace vigia
