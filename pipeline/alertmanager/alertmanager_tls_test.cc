// AlertmanagerSink's credentials and CA file against a real Alertmanager
// (Debian's prometheus-alertmanager 0.25) that serves only HTTPS with basic
// authentication (its --web.config.file): the certificate is a fresh
// self-signed one made by the openssl command, the password hash a bcrypt
// one made by libxcrypt. The sink must deliver with the right password and
// CA file, and deliver nothing with a wrong password or without the CA.
#include <crypt.h>
#include <curl/curl.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "pipeline/alertmanager/alertmanager_sink.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/time.h"
#include "tests/server_fixture.h"

namespace vigia {
namespace {

using test_servers::ServerProcess;

constexpr char kUser[] = "vigia";
constexpr char kPassword[] = "correct horse battery";

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET `url` over HTTPS trusting only `ca_file`, with basic authentication;
// returns the status (0 on a transport error) and fills *body.
long HttpsGet(const std::string& url, const std::string& ca_file,
              std::string* body) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return 0;
  body->clear();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
  curl_easy_setopt(curl, CURLOPT_USERNAME, kUser);
  curl_easy_setopt(curl, CURLOPT_PASSWORD, kPassword);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  }
  curl_easy_cleanup(curl);
  return status;
}

std::string BcryptHash(const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 8, nullptr, 0, setting, sizeof(setting)) ==
      nullptr) {
    return "";
  }
  struct crypt_data data {};
  const char* hash = crypt_rn(password.c_str(), setting, &data, sizeof(data));
  return hash == nullptr ? "" : hash;
}

Alert MakeAlert(const std::string& id) {
  Alert a;
  a.id = id;
  a.detector = "foreign_origin_surge";
  a.severity = Severity::kWarning;
  a.target = CountryCode::FromString("MD");
  a.origin = CountryCode::FromString("RU");
  a.window_start = absl::Now() - absl::Minutes(10);
  a.window_end = absl::Now();
  a.summary = "Foreign-origin posts aimed at MD from RU";
  a.config_hash = "5be1c0ffee";
  return a;
}

class AlertmanagerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir =
        test_servers::MakeScratchDir("alertmanager-tls-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
    cert_ = dir_ + "/cert.pem";
    const std::string key = dir_ + "/key.pem";
    // Valid for 127.0.0.1, which the URL names, so the check is real.
    const std::string openssl = absl::StrCat(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
        "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout ",
        key, " -out ", cert_, " >", dir_, "/openssl.log 2>&1");
    ASSERT_EQ(std::system(openssl.c_str()), 0) << openssl;
    const std::string hash = BcryptHash(kPassword);
    ASSERT_FALSE(hash.empty());
    const std::string web = dir_ + "/web.yml";
    {
      std::ofstream out(web);
      out << "tls_server_config:\n  cert_file: " << cert_
          << "\n  key_file: " << key << "\nbasic_auth_users:\n  " << kUser
          << ": '" << hash << "'\n";
    }
    {
      std::ofstream out(dir_ + "/alertmanager.yml");
      out << test_servers::AlertmanagerServer::kNullConfig;
    }
    absl::StatusOr<int> port = test_servers::PickFreePort();
    ASSERT_TRUE(port.ok()) << port.status();
    url_ = absl::StrCat("https://127.0.0.1:", *port);
    ServerProcess::Options options;
    options.argv = {"/usr/bin/prometheus-alertmanager",
                    "--config.file=" + dir_ + "/alertmanager.yml",
                    "--storage.path=" + dir_ + "/data",
                    "--web.listen-address=127.0.0.1:" + std::to_string(*port),
                    "--web.config.file=" + web,
                    "--cluster.listen-address=",
                    "--log.level=warn"};
    options.dir = dir_;  // the server owns it from here, and deletes it
    const std::string ready = url_ + "/-/ready";
    const std::string ca = cert_;
    options.ready_probe = [ready, ca] {
      std::string body;
      return HttpsGet(ready, ca, &body) == 200;
    };
    absl::StatusOr<std::unique_ptr<ServerProcess>> am =
        ServerProcess::Start(std::move(options));
    ASSERT_TRUE(am.ok()) << am.status();
    am_ = *std::move(am);
  }

  AlertmanagerOptions Options() const {
    AlertmanagerOptions o;
    o.urls = {url_};
    o.timeout = absl::Seconds(5);
    o.max_attempts = 2;
    o.backoff_initial = absl::Milliseconds(10);
    o.backoff_max = absl::Milliseconds(20);
    o.flush_timeout = absl::Seconds(20);
    o.min_hold = absl::ZeroDuration();
    return o;
  }

  // Whether Alertmanager lists an alert with this alert_id.
  bool Listed(const std::string& id) {
    std::string body;
    const long status = HttpsGet(url_ + "/api/v2/alerts", cert_, &body);
    EXPECT_EQ(status, 200) << body;
    return body.find(absl::StrCat("\"alert_id\":\"", id, "\"")) !=
           std::string::npos;
  }

  std::string dir_;
  std::string cert_;
  std::string url_;
  std::unique_ptr<ServerProcess> am_;
  ManualClock clock_{absl::Now()};
};

TEST_F(AlertmanagerTlsTest, DeliversWithThePasswordAndTheCaFile) {
  AlertmanagerOptions o = Options();
  o.username = kUser;
  o.password = kPassword;
  o.ca_file = cert_;
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> sink =
      AlertmanagerSink::Create(o, &clock_);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write(MakeAlert("7150000000000000000a")).ok());
  EXPECT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ((*sink)->stats().urls[0].alerts_sent.load(), 1);
  EXPECT_EQ((*sink)->stats().urls[0].failures.load(), 0);
  EXPECT_TRUE(Listed("7150000000000000000a"));
}

TEST_F(AlertmanagerTlsTest, AWrongPasswordDeliversNothing) {
  AlertmanagerOptions o = Options();
  o.username = kUser;
  o.password = "wrong";
  o.ca_file = cert_;
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> sink =
      AlertmanagerSink::Create(o, &clock_);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write(MakeAlert("7150000000000000000b")).ok());
  (void)(*sink)->Flush();
  EXPECT_EQ((*sink)->stats().urls[0].alerts_sent.load(), 0);
  EXPECT_GT((*sink)->stats().urls[0].failures.load(), 0);
  EXPECT_FALSE(Listed("7150000000000000000b"));
}

TEST_F(AlertmanagerTlsTest, WithoutTheCaFileTheCertificateIsRefused) {
  AlertmanagerOptions o = Options();
  o.username = kUser;
  o.password = kPassword;
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> sink =
      AlertmanagerSink::Create(o, &clock_);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write(MakeAlert("7150000000000000000c")).ok());
  (void)(*sink)->Flush();
  EXPECT_EQ((*sink)->stats().urls[0].alerts_sent.load(), 0);
  EXPECT_GT((*sink)->stats().urls[0].failures.load(), 0);
  EXPECT_FALSE(Listed("7150000000000000000c"));
}

}  // namespace
}  // namespace vigia
