#include "pipeline/config.h"

#include <crypt.h>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/hash.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The repository root, from this file's path, to find the example config.
std::string RepoRoot() {
  const std::string file = __FILE__;
  const std::string suffix = "pipeline/config_test.cc";
  const std::string root = file.substr(0, file.size() - suffix.size());
  return root.empty() ? "./" : root;
}

// Returns the error message ParseConfig gives for `yaml`, failing the test
// unless it is InvalidArgument.
std::string ErrorFor(std::string_view yaml) {
  absl::StatusOr<Config> config = ParseConfig(yaml, "config.yaml");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument)
      << config.status();
  return std::string(config.status().message());
}

Config MustParse(std::string_view yaml) {
  absl::StatusOr<Config> config = ParseConfig(yaml, "config.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : Config{};
}

// ---------------------------------------------------------------------------
// Defaults and valid files.

TEST(Config, DefaultsAreTheDocumentedValues) {
  const Config c = DefaultConfig();
  EXPECT_EQ(c.decoder.max_event_bytes, 1048576u);
  EXPECT_EQ(c.watermark.max_out_of_orderness, absl::Seconds(30));
  EXPECT_EQ(c.watermark.allowed_lateness, absl::ZeroDuration());
  EXPECT_EQ(c.watermark.idle_timeout, absl::Seconds(60));
  EXPECT_EQ(c.evidence_max_samples, 10);
  EXPECT_EQ(c.evidence_top_n, 5);
  const ForeignOriginSurgeOptions& f = c.foreign_origin_surge;
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.window, absl::Minutes(10));
  EXPECT_EQ(f.hop, absl::Minutes(1));
  EXPECT_TRUE(f.targets.empty());
  EXPECT_EQ(f.max_keys, 10000);
  EXPECT_EQ(f.scoring.warmup, absl::Hours(1));
  EXPECT_EQ(f.scoring.level_half_life, absl::Hours(3));
  EXPECT_TRUE(f.scoring.daily_cycle);
  EXPECT_EQ(f.scoring.daily_half_life_days, 2.0);
  EXPECT_EQ(f.scoring.min_expected, 1.0);
  EXPECT_EQ(f.scoring.anomaly_clip_ratio, 1.5);
  EXPECT_TRUE(f.scoring.counts);
  EXPECT_EQ(f.scoring.dispersion_half_life, absl::Hours(24));
  ASSERT_EQ(f.scoring.levels.size(), 3u);
  EXPECT_EQ(f.scoring.levels[0].severity, Severity::kInfo);
  EXPECT_EQ(f.scoring.levels[1].severity, Severity::kWarning);
  EXPECT_EQ(f.scoring.levels[2].severity, Severity::kCritical);
  EXPECT_EQ(f.scoring.levels[2].min_score, 8);
  EXPECT_EQ(f.scoring.levels[2].min_ratio, 5);
  EXPECT_EQ(f.scoring.levels[2].min_observed, 40);
}

TEST(Config, EmptyFileGivesTheDefaults) {
  EXPECT_EQ(CanonicalConfig(MustParse("")), CanonicalConfig(DefaultConfig()));
  EXPECT_EQ(CanonicalConfig(MustParse("# nothing but a comment\n")),
            CanonicalConfig(DefaultConfig()));
}

TEST(Config, EmptySectionsGiveTheDefaults) {
  const Config c = MustParse(R"(decoder:
watermark: {}
detectors:
  foreign_origin_surge:
)");
  EXPECT_EQ(CanonicalConfig(c), CanonicalConfig(DefaultConfig()));
}

TEST(Config, ExampleFileHoldsExactlyTheDefaults) {
  const std::string path = RepoRoot() + "deploy/vigia.example.yaml";
  absl::StatusOr<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(CanonicalConfig(*config), CanonicalConfig(DefaultConfig()));
  EXPECT_EQ(config->hash(), DefaultConfig().hash());
}

TEST(Config, ExampleFileSetsEveryKeyExplicitly) {
  // Every setting of the canonical form must be spelled out in the example,
  // so that it documents the whole format: check by key name.
  const std::string path = RepoRoot() + "deploy/vigia.example.yaml";
  std::ifstream in(path);
  const std::string example((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
  ASSERT_FALSE(example.empty()) << path;
  for (absl::string_view line : absl::StrSplit(CanonicalConfig(DefaultConfig()),
                                               '\n', absl::SkipEmpty())) {
    std::string key(line.substr(0, line.find(" = ")));
    key = key.substr(key.rfind('.') + 1);
    if (key == "count") continue;  // levels.count is derived
    EXPECT_THAT(example, HasSubstr(key + ":")) << key;
  }
}

TEST(Config, ExampleFileSpellsOutTheConnectionSettings) {
  absl::StatusOr<Config> config =
      LoadConfigFile(RepoRoot() + "deploy/vigia.example.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(CanonicalConnections(*config),
            CanonicalConnections(DefaultConfig()));
}

TEST(Config, ConnectionSettingsParseAndStayOutOfTheHash) {
  const Config c = MustParse(R"(
kafka:
  brokers: "k1:9092,k2:9092"
  group_id: vigia-md
  posts_topic: md.posts
  alerts_topic: md.alerts
  settings:
    security.protocol: SASL_SSL
    sasl.password: hunter2
    socket.keepalive.enable: true
    fetch.max.bytes: 1048576
alertmanager:
  urls: ["http://am-0:9093", "https://am-1:9093"]
  resend_interval: 30s
  ttl: 5m
  min_hold: 45s
  runbook_base_url: https://wiki.example/vigia
  drill: true
metrics:
  addr: 0.0.0.0:9464
)");
  EXPECT_EQ(c.kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(c.kafka.group_id, "vigia-md");
  EXPECT_EQ(c.kafka.posts_topic, "md.posts");
  EXPECT_EQ(c.kafka.ads_topic, "vigia.ads");
  EXPECT_EQ(c.kafka.alerts_topic, "md.alerts");
  EXPECT_EQ(c.kafka.settings.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c.kafka.settings.at("socket.keepalive.enable"), "true");
  EXPECT_EQ(c.kafka.settings.at("fetch.max.bytes"), "1048576");
  EXPECT_EQ(c.alertmanager.urls, (std::vector<std::string>{
                                     "http://am-0:9093", "https://am-1:9093"}));
  EXPECT_EQ(c.alertmanager.resend_interval, absl::Seconds(30));
  EXPECT_EQ(c.alertmanager.ttl, absl::Minutes(5));
  EXPECT_EQ(c.alertmanager.min_hold, absl::Seconds(45));
  EXPECT_EQ(DefaultConfig().alertmanager.min_hold, absl::Minutes(2));
  EXPECT_TRUE(c.alertmanager.drill);
  EXPECT_EQ(c.metrics_addr, "0.0.0.0:9464");
  // Where vigia connects says nothing about what it detects.
  EXPECT_EQ(c.hash(), DefaultConfig().hash());
  // The password is a secret: never printed.
  const std::string printed = CanonicalConnections(c);
  EXPECT_THAT(printed, HasSubstr("kafka.settings.sasl.password = [redacted]"));
  EXPECT_THAT(printed, Not(HasSubstr("hunter2")));
  EXPECT_THAT(printed,
              HasSubstr("kafka.settings.security.protocol = SASL_SSL"));
}

TEST(Config, ManyKafkaSettingsLoadEveryKeyAndStillCatchADuplicate) {
  // Keys are found through an index (40,000 settings once loaded in
  // quadratic time); the result must be the same as a scan's.
  std::string yaml = "kafka:\n  settings:\n";
  for (int i = 0; i < 40000; ++i)
    absl::StrAppend(&yaml, "    k", i, ": v", i, "\n");
  absl::StatusOr<Config> c = ParseConfig(yaml, "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->kafka.settings.size(), 40000u);
  EXPECT_EQ(c->kafka.settings.at("k39999"), "v39999");
  absl::StrAppend(&yaml, "    k17: again\n");
  EXPECT_EQ(ErrorFor(yaml),
            "config.yaml:40003: kafka.settings.k17: duplicate key (first on "
            "line 20)");
}

TEST(Config, AlertmanagerBasicAuthIsNeverPrinted) {
  // Regression: `vigia config` printed an Alertmanager basic-auth password
  // in clear (`vigia run` masked it).
  absl::StatusOr<Config> c = ParseConfig(
      "alertmanager:\n  urls: [\"https://vigia:s3cret@am-0:9093/\", "
      "\"http://am-1:9093\"]\n  generator_url: "
      "\"https://viewer:pa55@grafana.example/d/x?user=a@b\"\n",
      "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string printed = CanonicalConnections(*c);
  EXPECT_THAT(printed, Not(HasSubstr("s3cret")));
  EXPECT_THAT(printed, Not(HasSubstr("pa55")));
  EXPECT_THAT(printed,
              HasSubstr("alertmanager.urls = [https://[redacted]@am-0:9093/, "
                        "http://am-1:9093]"));
  EXPECT_THAT(printed, HasSubstr("alertmanager.generator_url = "
                                 "https://[redacted]@grafana.example/d/"
                                 "x?user=a@b"));
  EXPECT_EQ(RedactUrlCredentials("http://am:9093/a@b"), "http://am:9093/a@b");
}

// Writes `text` to a fresh file under the test's temporary directory.
std::string WriteTempFile(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(testing::TempDir(), "/", name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return path;
}

// A real crypt(3) hash of `password`, made by libxcrypt with `prefix`
// ("$2b$" bcrypt, "$6$" sha512crypt).
std::string CryptHash(const std::string& password, const char* prefix) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn(prefix, 0, nullptr, 0, setting, sizeof(setting)) ==
      nullptr) {
    return "";
  }
  struct crypt_data data {};
  const char* hash = crypt_rn(password.c_str(), setting, &data, sizeof(data));
  return hash == nullptr ? "" : hash;
}

// ---------------------------------------------------------------------------
// Environment and secret files.
// ---------------------------------------------------------------------------

using Env = std::vector<std::pair<std::string, std::string>>;

absl::StatusOr<Config> WithEnv(std::string_view yaml, const Env& env) {
  return ParseConfigWithEnvironment(yaml, "config.yaml", env);
}

TEST(ConfigEnvironment, EnvironmentOverridesTheFileWhichOverridesDefaults) {
  const std::string yaml =
      "kafka:\n  brokers: file:9092\n  group_id: from-file\n"
      "detectors:\n  foreign_origin_surge:\n    window: 20m\n";
  absl::StatusOr<Config> c =
      WithEnv(yaml, {{"VIGIA_KAFKA_BROKERS", "env:9092"},
                     {"VIGIA_DETECTORS_FOREIGN_ORIGIN_SURGE_HOP", "2m"},
                     {"VIGIA_METRICS_ADDR", "0.0.0.0:9464"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.brokers, "env:9092");    // env over file
  EXPECT_EQ(c->kafka.group_id, "from-file");  // file over default
  EXPECT_EQ(c->foreign_origin_surge.window, absl::Minutes(20));
  EXPECT_EQ(c->foreign_origin_surge.hop, absl::Minutes(2));  // env over default
  EXPECT_EQ(c->metrics_addr, "0.0.0.0:9464");
  // Detection keys from the environment change the hash as the file would.
  EXPECT_EQ(c->hash(),
            MustParse("detectors:\n  foreign_origin_surge:\n    window: 20m\n"
                      "    hop: 2m\n")
                .hash());
}

TEST(ConfigEnvironment, EveryKeyOfTheCanonicalFormIsAVariable) {
  // Set every scalar key to its default through the environment: each must
  // be a key the parser takes (an unknown one would fail), and the result
  // must equal the defaults.
  const Config defaults = DefaultConfig();
  std::map<std::string, std::string> values;
  for (absl::string_view line :
       absl::StrSplit(absl::StrCat(CanonicalConfig(defaults), "\n",
                                   CanonicalConnections(defaults)),
                      '\n', absl::SkipEmpty())) {
    const size_t eq = line.find(" = ");
    values[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 3));
  }
  Env env;
  std::set<std::string> variables;
  int structured = 0;
  for (const EnvironmentKey& key : EnvironmentKeys()) {
    EXPECT_TRUE(variables.insert(key.variable).second)
        << "two keys share " << key.variable;
    EXPECT_EQ(key.variable,
              "VIGIA_" + absl::AsciiStrToUpper(
                             absl::StrReplaceAll(key.path, {{".", "_"}})));
    if (key.structured) {
      ++structured;
      continue;
    }
    auto it = values.find(key.path);
    if (it == values.end()) continue;  // optional sections
    // Printed as its contents' digest, not as a file name.
    if (absl::StartsWith(it->second, "sha256:")) continue;
    env.emplace_back(key.variable, it->second);
  }
  EXPECT_GT(env.size(), 120u);
  EXPECT_GT(structured, 10);  // targets, ladders, per_target, urls
  absl::StatusOr<Config> c = WithEnv("", env);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(CanonicalConfig(*c), CanonicalConfig(defaults));
  EXPECT_EQ(CanonicalConnections(*c), CanonicalConnections(defaults));
}

TEST(ConfigEnvironment, ListsAndLaddersAreYamlFlowValues) {
  absl::StatusOr<Config> c = WithEnv(
      "", {{"VIGIA_ALERTMANAGER_URLS", "[http://am-0:9093, http://am-1:9093]"},
           {"VIGIA_DETECTORS_FOREIGN_ORIGIN_SURGE_TARGETS", "[MX, MD]"},
           {"VIGIA_DETECTORS_FOREIGN_ORIGIN_SURGE_SCORING_LEVELS",
            "[{severity: warning, min_score: 6, min_ratio: 3, "
            "min_observed: 20, min_interval: 168h}]"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->alertmanager.urls,
              ElementsAre("http://am-0:9093", "http://am-1:9093"));
  EXPECT_EQ(c->foreign_origin_surge.targets.size(), 2u);
  EXPECT_THAT(CanonicalConfig(*c),
              HasSubstr("detectors.foreign_origin_surge.scoring.levels[0]."
                        "min_score = 6\n"));
  EXPECT_THAT(WithEnv("", {{"VIGIA_ALERTMANAGER_URLS", "[unclosed"}})
                  .status()
                  .message(),
              HasSubstr("VIGIA_ALERTMANAGER_URLS (alertmanager.urls): not a "
                        "YAML flow value"));
}

TEST(ConfigEnvironment, KafkaPropertiesTakeTheirNameFromTheVariable) {
  absl::StatusOr<Config> c =
      WithEnv("kafka:\n  settings:\n    security.protocol: SSL\n",
              {{"VIGIA_KAFKA_SETTINGS_SASL_MECHANISMS", "SCRAM-SHA-512"},
               {"VIGIA_KAFKA_SETTINGS_SECURITY_PROTOCOL", "SASL_SSL"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.settings.at("sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(c->kafka.settings.at("security.protocol"), "SASL_SSL");
}

TEST(ConfigEnvironment, ErrorsNameTheVariable) {
  // A bad value: the parser's message, and which variable set it.
  EXPECT_THAT(
      WithEnv("", {{"VIGIA_DETECTORS_FOREIGN_ORIGIN_SURGE_HOP", "7m"}})
          .status()
          .message(),
      HasSubstr("detectors.foreign_origin_surge.hop: must divide window (10m) "
                "(set by environment variable "
                "VIGIA_DETECTORS_FOREIGN_ORIGIN_SURGE_HOP)"));
  EXPECT_THAT(
      WithEnv("", {{"VIGIA_WATERMARK_QUORUM", "four"}}).status().message(),
      HasSubstr("VIGIA_WATERMARK_QUORUM"));
  // A misspelt variable is an error, not ignored.
  absl::StatusOr<Config> typo = WithEnv("", {{"VIGIA_KAFKA_BROKER", "k:9092"}});
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(typo.status().message(),
              HasSubstr("VIGIA_KAFKA_BROKER names no configuration key"));
  // A key the file has as a scalar cannot be descended into.
  EXPECT_THAT(WithEnv("kafka: 3\n", {{"VIGIA_KAFKA_BROKERS", "k:9092"}})
                  .status()
                  .message(),
              HasSubstr("VIGIA_KAFKA_BROKERS"));
}

TEST(ConfigEnvironment, OnlyVigiaVariablesAreReadAndReservedOnesSkipped) {
  const char* env[] = {"PATH=/usr/bin",
                       "VIGIA_LOG_LEVEL=debug",
                       "VIGIA_TEST_DASHBOARDS_DIR=/tmp",
                       "VIGIA_METRICS_ADDR=0.0.0.0:1",
                       "VIGIA_KAFKA_BROKERS=a=b:9092",
                       nullptr};
  EXPECT_THAT(VigiaEnvironment(env),
              ElementsAre(std::pair<std::string, std::string>(
                              "VIGIA_KAFKA_BROKERS", "a=b:9092"),
                          std::pair<std::string, std::string>(
                              "VIGIA_METRICS_ADDR", "0.0.0.0:1")));
}

TEST(ConfigSecrets, KafkaSecretFilesAreReadAndNeverPrinted) {
  const std::string file = WriteTempFile("kafka-password", "hunter2-kafka\n");
  absl::StatusOr<Config> c =
      WithEnv("kafka:\n  settings:\n    sasl.username: vigia\n",
              {{"VIGIA_KAFKA_SECRET_FILES_SASL_PASSWORD", file}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.settings.at("sasl.password"), "hunter2-kafka");
  const std::string printed = CanonicalConnections(*c);
  EXPECT_THAT(printed, Not(HasSubstr("hunter2")));
  EXPECT_THAT(printed,
              HasSubstr("kafka.secret_files.sasl.password = " + file + "\n"));
  EXPECT_THAT(printed, Not(HasSubstr("kafka.settings.sasl.password")));

  // Not a secret property: its value could reach a log.
  EXPECT_THAT(
      ErrorFor("kafka:\n  secret_files:\n    client.id: " + file + "\n"),
      HasSubstr("config.yaml:3: kafka.secret_files.client.id: is not "
                "a secret librdkafka property"));
  EXPECT_THAT(ErrorFor("kafka:\n  settings:\n    sasl.password: x\n"
                       "  secret_files:\n    sasl.password: " +
                       file + "\n"),
              HasSubstr("also set in kafka.settings"));
  EXPECT_THAT(ErrorFor("kafka:\n  secret_files:\n    sasl.password: "
                       "/nonexistent/kafka-password\n"),
              HasSubstr("config.yaml:3: kafka.secret_files.sasl.password: "));
}

TEST(ConfigKafka, InstanceIdIsStaticMembershipAndNamesTheHost) {
  absl::StatusOr<Config> c = WithEnv("kafka:\n  group_id: g\n", {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.instance_id, "");  // dynamic membership by default
  c = WithEnv("kafka:\n  instance_id: vigia-{hostname}\n", {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ExpandInstanceId(c->kafka.instance_id, "node-7"), "vigia-node-7");
  EXPECT_EQ(ExpandInstanceId("a", "node-7"), "a");
  EXPECT_THAT(CanonicalConnections(*c),
              HasSubstr("kafka.instance_id = vigia-{hostname}\n"));
  c = WithEnv("", {{"VIGIA_KAFKA_INSTANCE_ID", "pod-3"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.instance_id, "pod-3");
  EXPECT_THAT(ErrorFor("kafka:\n  instance_id: a\n  settings:\n"
                       "    group.instance.id: b\n"),
              HasSubstr("config.yaml:2: kafka.instance_id: kafka.settings "
                        "sets group.instance.id too"));
}

TEST(ConfigSecrets, AlertmanagerCredentialsComeFromFilesAndAreNeverPrinted) {
  const std::string password = WriteTempFile("am-password", "am-s3cret\n");
  const std::string token = WriteTempFile("am-token", "tok-s3cret\n");
  const std::string ca = WriteTempFile(
      "am-ca.pem",
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  absl::StatusOr<Config> basic = ParseConfig(
      "alertmanager:\n  urls: [https://am:9093]\n  basic_auth:\n"
      "    username: vigia\n    password_file: " +
          password + "\n  ca_file: " + ca + "\n",
      "config.yaml");
  ASSERT_TRUE(basic.ok()) << basic.status();
  EXPECT_EQ(basic->alertmanager.username, "vigia");
  EXPECT_EQ(basic->alertmanager.password, "am-s3cret");
  EXPECT_EQ(basic->alertmanager.ca_file, ca);
  std::string printed = CanonicalConnections(*basic);
  EXPECT_THAT(printed, Not(HasSubstr("am-s3cret")));
  EXPECT_THAT(
      printed,
      HasSubstr("alertmanager.basic_auth.password_file = " + password + "\n"));
  EXPECT_THAT(printed, HasSubstr("alertmanager.ca_file = " + ca + "\n"));

  absl::StatusOr<Config> bearer =
      WithEnv("", {{"VIGIA_ALERTMANAGER_BEARER_TOKEN_FILE", token}});
  ASSERT_TRUE(bearer.ok()) << bearer.status();
  EXPECT_EQ(bearer->alertmanager.bearer_token, "tok-s3cret");
  printed = CanonicalConnections(*bearer);
  EXPECT_THAT(printed, Not(HasSubstr("tok-s3cret")));
  EXPECT_THAT(printed, HasSubstr("alertmanager.bearer_token_file = " + token));

  EXPECT_THAT(ErrorFor("alertmanager:\n  basic_auth:\n    username: u\n"
                       "    password_file: " +
                       password + "\n  bearer_token_file: " + token + "\n"),
              HasSubstr("give basic_auth or bearer_token_file, not both"));
  EXPECT_THAT(ErrorFor("alertmanager:\n  basic_auth:\n    username: u\n"),
              HasSubstr("password_file: is required with basic_auth"));
  EXPECT_THAT(ErrorFor("alertmanager:\n  urls: [\"http://u:p@am:9093\"]\n"
                       "  bearer_token_file: " +
                       token + "\n"),
              HasSubstr("give the credentials once"));
  EXPECT_THAT(ErrorFor("alertmanager:\n  ca_file: " + password + "\n"),
              HasSubstr("holds no PEM certificate"));
  EXPECT_THAT(ErrorFor("alertmanager:\n  bearer_token_file: /nonexistent/t\n"),
              HasSubstr("config.yaml:2: alertmanager.bearer_token_file: "));
}

TEST(Config, MetricsBasicAuthReadsThePasswordFileAndNeverPrintsIt) {
  const std::string file =
      WriteTempFile("metrics_password", "c0rrect-horse\r\n");
  const Config c =
      MustParse(absl::StrCat("metrics:\n  addr: 127.0.0.1:9464\n  basic_auth:\n"
                             "    username: prometheus\n    password_file: ",
                             file, "\n"));
  EXPECT_TRUE(c.metrics_auth.enabled());
  EXPECT_EQ(c.metrics_auth.username, "prometheus");
  EXPECT_EQ(c.metrics_auth.secret, "c0rrect-horse");
  EXPECT_FALSE(c.metrics_auth.hashed);
  const std::string printed = CanonicalConnections(c);
  EXPECT_THAT(printed, Not(HasSubstr("c0rrect-horse")));
  EXPECT_THAT(printed, HasSubstr("metrics.basic_auth.username = prometheus"));
  EXPECT_THAT(printed, HasSubstr(absl::StrCat(
                           "metrics.basic_auth.password_file = ", file)));
  // Connection settings stay out of the detection hash.
  EXPECT_EQ(c.hash(), DefaultConfig().hash());
  EXPECT_FALSE(DefaultConfig().metrics_auth.enabled());
}

TEST(Config, MetricsBasicAuthTakesBcryptAndSha512CryptHashes) {
  for (const char* prefix : {"$2b$", "$6$"}) {
    const std::string hash = CryptHash("pw", prefix);
    ASSERT_FALSE(hash.empty()) << prefix;
    const std::string file = WriteTempFile("metrics_hash", hash + "\n");
    const Config c = MustParse(absl::StrCat(
        "metrics:\n  basic_auth:\n    username: p\n    password_hash_file: ",
        file, "\n"));
    EXPECT_TRUE(c.metrics_auth.hashed) << prefix;
    EXPECT_EQ(c.metrics_auth.secret, hash);
    EXPECT_THAT(CanonicalConnections(c), Not(HasSubstr(hash)));
  }
}

TEST(Config, MetricsTlsNamesItsFilesAndPrintsOnlyTheirNames) {
  const std::string cert = WriteTempFile("metrics_cert", "CERT\n");
  const std::string key = WriteTempFile("metrics_key", "SECRET KEY\n");
  const std::string ca = WriteTempFile("metrics_ca", "CA\n");
  const Config c = MustParse(absl::StrCat(
      "metrics:\n  tls:\n    cert_file: ", cert, "\n    key_file: ", key,
      "\n    client_ca_file: ", ca, "\n"));
  EXPECT_TRUE(c.metrics_tls.enabled());
  EXPECT_EQ(c.metrics_tls.cert_file, cert);
  EXPECT_EQ(c.metrics_tls.key_file, key);
  EXPECT_EQ(c.metrics_tls.client_ca_file, ca);
  const std::string printed = CanonicalConnections(c);
  EXPECT_THAT(printed, HasSubstr("metrics.tls.key_file = " + key));
  EXPECT_THAT(printed, HasSubstr("metrics.tls.client_ca_file = " + ca));
  EXPECT_THAT(printed, Not(HasSubstr("SECRET KEY")));
  EXPECT_EQ(c.hash(), DefaultConfig().hash());
  EXPECT_FALSE(DefaultConfig().metrics_tls.enabled());
  // Without a client CA, nothing is printed for it.
  const Config no_ca =
      MustParse(absl::StrCat("metrics:\n  tls:\n    cert_file: ", cert,
                             "\n    key_file: ", key, "\n"));
  EXPECT_THAT(CanonicalConnections(no_ca), Not(HasSubstr("client_ca_file")));
}

TEST(Config, BadMetricsTlsIsAStartUpErrorAtItsLine) {
  const std::string cert = WriteTempFile("metrics_cert2", "CERT\n");
  const std::string head = "metrics:\n  tls:\n";
  EXPECT_EQ(ErrorFor(head + "    cert_file: " + cert + "\n"),
            "config.yaml:2: metrics.tls.key_file: is required with tls "
            "(cert_file and key_file)");
  EXPECT_EQ(ErrorFor(head + "    key_file: " + cert + "\n"),
            "config.yaml:2: metrics.tls.cert_file: is required with tls "
            "(cert_file and key_file)");
  EXPECT_THAT(ErrorFor(head + "    cert_file: " + cert + "\n    key_file: " +
                       testing::TempDir() + "/no_such_key\n"),
              HasSubstr("config.yaml:4: metrics.tls.key_file: cannot open TLS "
                        "file"));
  EXPECT_THAT(
      ErrorFor(head + "    cert_file: \"\"\n    key_file: " + cert + "\n"),
      HasSubstr("config.yaml:3: metrics.tls.cert_file: must name a "
                "file"));
  EXPECT_THAT(ErrorFor(head + "    cert_file: " + cert + "\n    key_file: " +
                       cert + "\n    ca_file: " + cert + "\n"),
              HasSubstr("metrics.tls.ca_file"));
}

TEST(Config, BadMetricsBasicAuthIsAStartUpErrorAtItsLine) {
  const std::string good = WriteTempFile("metrics_pw_good", "pw\n");
  const std::string empty = WriteTempFile("metrics_pw_empty", "\n");
  const std::string two = WriteTempFile("metrics_pw_two", "pw\nmore\n");
  const std::string big = WriteTempFile(
      "metrics_pw_big", std::string(kMaxMetricsSecretFileBytes + 1, 'x'));
  const std::string plain_as_hash = WriteTempFile("metrics_pw_plain", "pw\n");
  const std::string setting_only = WriteTempFile(
      "metrics_pw_setting", CryptHash("pw", "$2b$").substr(0, 29) + "\n");
  const std::string md5 =
      WriteTempFile("metrics_pw_md5", "$1$abcdefgh$G//4keteveJp0qb8z2DxG/\n");
  // A real hash whose cost says 2^31 rounds: checking it would take hours.
  std::string dear = CryptHash("pw", "$2b$");
  dear.replace(4, 2, "31");
  const std::string too_dear = WriteTempFile("metrics_pw_dear", dear + "\n");
  const std::string sha_rounds =
      WriteTempFile("metrics_pw_rounds", "$6$rounds=999999999$abcdefgh$" +
                                             std::string(86, 'a') + "\n");
  const std::string head = "metrics:\n  basic_auth:\n";
  EXPECT_EQ(ErrorFor(head + "    password_file: " + good + "\n"),
            "config.yaml:2: metrics.basic_auth.username: is required with "
            "basic_auth");
  EXPECT_EQ(
      ErrorFor(head + "    username: a:b\n    password_file: " + good + "\n"),
      "config.yaml:3: metrics.basic_auth.username: must not contain ':'");
  EXPECT_THAT(ErrorFor(head + "    username: p\n"),
              HasSubstr("metrics.basic_auth.password_file: basic_auth needs "
                        "exactly one of password_file and password_hash_file "
                        "(no inline passwords)"));
  EXPECT_THAT(ErrorFor(head + "    username: p\n    password_file: " + good +
                       "\n    password_hash_file: " + good + "\n"),
              HasSubstr("config.yaml:5: metrics.basic_auth.password_hash_file: "
                        "basic_auth needs exactly one"));
  EXPECT_THAT(ErrorFor(head + "    username: p\n    password: pw\n"),
              HasSubstr("basic_auth needs exactly one"));
  EXPECT_THAT(ErrorFor(head + "    username: p\n    password_file: " +
                       testing::TempDir() + "/no_such_file\n"),
              HasSubstr("config.yaml:4: metrics.basic_auth.password_file: "
                        "cannot open secret file"));
  EXPECT_THAT(
      ErrorFor(head + "    username: p\n    password_file: " + empty + "\n"),
      HasSubstr(empty + " is empty"));
  EXPECT_THAT(
      ErrorFor(head + "    username: p\n    password_file: " + two + "\n"),
      HasSubstr(two + " must hold a single line"));
  EXPECT_THAT(
      ErrorFor(head + "    username: p\n    password_file: " + big + "\n"),
      HasSubstr("is larger than 4096 bytes"));
  for (const std::string& bad :
       {plain_as_hash, setting_only, md5, too_dear, sha_rounds}) {
    EXPECT_THAT(ErrorFor(head + "    username: p\n    password_hash_file: " +
                         bad + "\n"),
                HasSubstr(bad + " does not hold a crypt(3) hash this system "
                                "can check"))
        << bad;
  }
  // A TLS ("s") or redirect ("r") port suffix is refused, not ignored.
  EXPECT_EQ(ErrorFor("metrics:\n  addr: 0.0.0.0:9464s\n"),
            "config.yaml:2: metrics.addr: must be HOST:PORT (or empty for "
            "none)");
}

TEST(Config, BadConnectionSettingsNameTheKeyAndLine) {
  EXPECT_THAT(ErrorFor("kafka:\n  settings:\n    acks: [1, 2]\n"),
              HasSubstr("config.yaml:3: kafka.settings.acks"));
  EXPECT_THAT(ErrorFor("kafka:\n  posts_topic: \"\"\n"),
              HasSubstr("kafka.posts_topic: must not be empty"));
  EXPECT_THAT(ErrorFor("kafka:\n  brokerz: x\n"),
              HasSubstr("config.yaml:2: kafka.brokerz: unknown key"));
  EXPECT_THAT(ErrorFor("alertmanager:\n  urls: [am-0:9093]\n"),
              HasSubstr("must start with http:// or https://"));
  EXPECT_THAT(ErrorFor("alertmanager:\n  resend_interval: 1m\n  ttl: 10s\n"),
              HasSubstr("alertmanager.ttl: must be at least resend_interval"));
  EXPECT_THAT(ErrorFor("alertmanager:\n  min_hold: -1s\n"),
              HasSubstr("alertmanager.min_hold"));
  EXPECT_THAT(
      ErrorFor("alertmanager:\n  resend_interval: 10s\n  min_hold: 1m\n"),
      HasSubstr("alertmanager.min_hold: must not exceed ttl"));
  EXPECT_THAT(ErrorFor("metrics:\n  addr: 9464\n"),
              HasSubstr("metrics.addr: must be HOST:PORT"));
}

constexpr char kFullConfig[] = R"(# Every key, none at its default.
decoder:
  max_event_bytes: 65536
watermark:
  max_out_of_orderness: 2m
  allowed_lateness: 15s
  idle_timeout: 5m
evidence:
  max_samples: 3
  top_n: 7
detectors:
  foreign_origin_surge:
    enabled: false
    window: 1h
    hop: 5m
    targets: [FR, DE, "XK"]
    max_keys: 500
    scoring:
      warmup: 6h
      level_half_life: 12h
      daily_cycle: false
      daily_half_life_days: 3.5
      min_expected: 2.25
      anomaly_clip_ratio: 2
      counts: false
      dispersion_half_life: 36h
      levels:
        - {severity: warning, min_score: 4, min_ratio: 2, min_observed: 15}
        - severity: critical
          min_score: 9.5
          min_ratio: 6
          min_observed: 50
)";

TEST(Config, FullFileParsesEveryKey) {
  const Config c = MustParse(kFullConfig);
  EXPECT_EQ(c.decoder.max_event_bytes, 65536u);
  EXPECT_EQ(c.watermark.max_out_of_orderness, absl::Minutes(2));
  EXPECT_EQ(c.watermark.allowed_lateness, absl::Seconds(15));
  EXPECT_EQ(c.watermark.idle_timeout, absl::Minutes(5));
  EXPECT_EQ(c.evidence_max_samples, 3);
  EXPECT_EQ(c.evidence_top_n, 7);
  const ForeignOriginSurgeOptions& f = c.foreign_origin_surge;
  EXPECT_FALSE(f.enabled);
  EXPECT_EQ(f.window, absl::Hours(1));
  EXPECT_EQ(f.hop, absl::Minutes(5));
  // Stored sorted: the order in the file carries no meaning.
  EXPECT_THAT(f.targets, ElementsAre(CountryCode::FromString("DE"),
                                     CountryCode::FromString("FR"),
                                     CountryCode::FromString("XK")));
  EXPECT_EQ(f.max_keys, 500);
  EXPECT_EQ(f.scoring.warmup, absl::Hours(6));
  EXPECT_EQ(f.scoring.level_half_life, absl::Hours(12));
  EXPECT_FALSE(f.scoring.daily_cycle);
  EXPECT_EQ(f.scoring.daily_half_life_days, 3.5);
  EXPECT_EQ(f.scoring.min_expected, 2.25);
  EXPECT_EQ(f.scoring.anomaly_clip_ratio, 2.0);
  EXPECT_FALSE(f.scoring.counts);
  EXPECT_EQ(f.scoring.dispersion_half_life, absl::Hours(36));
  ASSERT_EQ(f.scoring.levels.size(), 2u);
  EXPECT_EQ(f.scoring.levels[0].severity, Severity::kWarning);
  EXPECT_EQ(f.scoring.levels[0].min_score, 4);
  EXPECT_EQ(f.scoring.levels[0].min_ratio, 2);
  EXPECT_EQ(f.scoring.levels[0].min_observed, 15);
  EXPECT_EQ(f.scoring.levels[1].severity, Severity::kCritical);
  EXPECT_EQ(f.scoring.levels[1].min_score, 9.5);
  EXPECT_EQ(f.scoring.levels[1].min_ratio, 6);
  EXPECT_EQ(f.scoring.levels[1].min_observed, 50);
}

TEST(Config, KeysNotGivenKeepTheirDefaults) {
  const Config c = MustParse(R"(detectors:
  foreign_origin_surge:
    scoring:
      warmup: 2h
)");
  Config expected = DefaultConfig();
  expected.foreign_origin_surge.scoring.warmup = absl::Hours(2);
  EXPECT_EQ(CanonicalConfig(c), CanonicalConfig(expected));
}

TEST(Config, LoadConfigFileNamesTheFileInErrors) {
  const std::string path = testing::TempDir() + "/config_test_bad.yaml";
  {
    std::ofstream out(path);
    out << "evidence:\n  top_n: many\n";
  }
  absl::StatusOr<Config> config = LoadConfigFile(path);
  EXPECT_EQ(
      config.status(),
      absl::InvalidArgumentError(absl::StrCat(
          path, ":2: evidence.top_n: expected an integer, got \"many\"")));
}

TEST(Config, LoadConfigFileOfAMissingFileIsNotFound) {
  const std::string path = testing::TempDir() + "/config_test_missing.yaml";
  absl::StatusOr<Config> config = LoadConfigFile(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr(path));
}

// ---------------------------------------------------------------------------
// Errors: each names the file, the 1-based line and the key path.

TEST(ConfigErrors, UnknownKeyIsReportedWithItsPathAndLine) {
  EXPECT_EQ(ErrorFor(R"(decoder:
  max_event_bytes: 1000
watermark:
  idle_timeout: 1m
detectors:
  foreign_origin_surge:
    windw: 5m
)"),
            "config.yaml:7: detectors.foreign_origin_surge.windw: unknown key");
}

TEST(ConfigErrors, UnknownTopLevelKeyAndUnknownDetector) {
  EXPECT_EQ(ErrorFor("decoder: {}\nsinks: {}\n"),
            "config.yaml:2: sinks: unknown key");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_orign_surge: {}\n"),
            "config.yaml:2: detectors.foreign_orign_surge: unknown key");
}

TEST(ConfigErrors, UnknownKeyInsideALevel) {
  EXPECT_EQ(ErrorFor(R"(detectors:
  foreign_origin_surge:
    scoring:
      levels:
        - severity: info
          min_score: 3
          min_ratio: 1.5
          min_observed: 10
          min_obsreved: 12
)"),
            "config.yaml:9: "
            "detectors.foreign_origin_surge.scoring.levels[0].min_obsreved: "
            "unknown key");
}

TEST(ConfigErrors, DuplicateKey) {
  EXPECT_EQ(ErrorFor("evidence:\n  top_n: 3\n  max_samples: 2\n  top_n: 4\n"),
            "config.yaml:4: evidence.top_n: duplicate key (first on line 2)");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    enabled: yes\n"),
            "config.yaml:3: detectors.foreign_origin_surge.enabled: expected a "
            "boolean (true or false), got \"yes\"");
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples: 2.5\n"),
            "config.yaml:2: evidence.max_samples: expected an integer, got "
            "\"2.5\"");
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples: \"2\"\n"),
            "config.yaml:2: evidence.max_samples: expected an integer, got the "
            "quoted string \"2\"");
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples: [2]\n"),
            "config.yaml:2: evidence.max_samples: expected an integer, got a "
            "list");
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples:\n"),
            "config.yaml:2: evidence.max_samples: expected an integer, got "
            "nothing");
  EXPECT_EQ(ErrorFor("watermark: 30s\n"),
            "config.yaml:1: watermark: expected a mapping, got \"30s\"");
  EXPECT_EQ(ErrorFor("- decoder\n"),
            "config.yaml:1: expected a mapping, got a list");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    targets: DE\n"),
            "config.yaml:3: detectors.foreign_origin_surge.targets: expected a "
            "list, got \"DE\"");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
               "      min_expected: lots\n"),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.min_expected: "
      "expected a number, got \"lots\"");
}

TEST(ConfigErrors, NumbersMustBeFinite) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
                     "      anomaly_clip_ratio: inf\n"),
            "config.yaml:4: detectors.foreign_origin_surge.scoring."
            "anomaly_clip_ratio: must be a finite number");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
               "      min_expected: nan\n"),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.min_expected: "
      "must be a finite number");
}

TEST(ConfigErrors, BadDuration) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    window: 10\n"),
            "config.yaml:3: detectors.foreign_origin_surge.window: expected a "
            "duration such as 30s, 10m or 1h30m, got \"10\"");
  EXPECT_EQ(ErrorFor("watermark:\n  idle_timeout: 1 minute\n"),
            "config.yaml:2: watermark.idle_timeout: expected a duration such "
            "as 30s, 10m or 1h30m, got \"1 minute\"");
  EXPECT_EQ(ErrorFor("watermark:\n  idle_timeout: inf\n"),
            "config.yaml:2: watermark.idle_timeout: must be finite");
}

TEST(ConfigErrors, NonPositiveWindowOrHop) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    window: 0s\n"),
            "config.yaml:3: detectors.foreign_origin_surge.window: must be "
            "positive");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    hop: -1m\n"),
            "config.yaml:3: detectors.foreign_origin_surge.hop: must be "
            "positive");
}

TEST(ConfigErrors, WindowNotAMultipleOfHop) {
  EXPECT_EQ(ErrorFor(R"(detectors:
  foreign_origin_surge:
    window: 10m
    hop: 3m
)"),
            "config.yaml:4: detectors.foreign_origin_surge.hop: must divide "
            "window (10m)");
  // With the hop at its default, the window is the key to blame.
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    window: 90s\n"),
            "config.yaml:3: detectors.foreign_origin_surge.window: must be a "
            "multiple of hop (1m)");
}

TEST(ConfigErrors, TooManyHopsPerWindow) {
  EXPECT_EQ(ErrorFor(R"(detectors:
  foreign_origin_surge:
    window: 24h
    hop: 1s
)"),
            "config.yaml:4: detectors.foreign_origin_surge.hop: window / hop "
            "must be at most 10000, is 86400");
}

TEST(ConfigErrors, AHopTooShortToRunIsRefused) {
  // Regression: window 1ns, hop 1ns was accepted, and a replay of 50k
  // records ran out of memory.
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    window: 1ns\n"
                     "    hop: 1ns\n"),
            "config.yaml:4: detectors.foreign_origin_surge.hop: must be at "
            "least 1s (each hop is evaluated for every key)");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_share:\n    window: 10ms\n"
                     "    hop: 1ms\n"),
            "config.yaml:4: detectors.foreign_share.hop: must be at least 1s "
            "(each hop is evaluated for every key)");
  EXPECT_EQ(ErrorFor("detectors:\n  posting_clock:\n    hop: 1s\n"),
            "config.yaml:3: detectors.posting_clock.hop: must be at least 1m "
            "(each hop classifies every tracked account)");
  EXPECT_EQ(ErrorFor("alertmanager:\n  resend_interval: 1ms\n"),
            "config.yaml:2: alertmanager.resend_interval: must be at least 1s");
  EXPECT_TRUE(ParseConfig("detectors:\n  foreign_origin_surge:\n    window: "
                          "10s\n    hop: 1s\n",
                          "config.yaml")
                  .ok());
}

TEST(ConfigErrors, AnOverLargeCountSaysTheMaximum) {
  // Regression: max_keys: 1000000000000 said "must be at least 1".
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    max_keys: "
                     "1000000000000\n"),
            "config.yaml:3: detectors.foreign_origin_surge.max_keys: must be "
            "at most 2147483647");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    max_keys: "
                     "99999999999999999999999\n"),
            "config.yaml:3: detectors.foreign_origin_surge.max_keys: must be "
            "at most 2147483647");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    max_keys: "
                     "-99999999999999999999999\n"),
            "config.yaml:3: detectors.foreign_origin_surge.max_keys: must be "
            "at least 1");
}

TEST(ConfigErrors, AnOverLargeConfigFileIsRefusedUnread) {
  const absl::StatusOr<Config> c = LoadConfigFile("/dev/zero");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            "config /dev/zero is larger than 1048576 bytes");
}

TEST(ConfigErrors, BadCountryInTargets) {
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    targets: [DE, UK]\n"),
      "config.yaml:3: detectors.foreign_origin_surge.targets[1]: \"UK\" is "
      "not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)");
  EXPECT_EQ(ErrorFor(R"(detectors:
  foreign_origin_surge:
    targets:
      - FR
      - de
)"),
            "config.yaml:5: detectors.foreign_origin_surge.targets[1]: \"de\" "
            "is not an ISO 3166-1 alpha-2 country code");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    targets: [EU]\n"),
      "config.yaml:3: detectors.foreign_origin_surge.targets[0]: \"EU\" is "
      "not an ISO 3166-1 alpha-2 country code");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    targets: [FR, FR]\n"),
      "config.yaml:3: detectors.foreign_origin_surge.targets[1]: duplicate "
      "target FR");
}

TEST(ConfigErrors, NorwayIsACountryNotABoolean) {
  const Config c =
      MustParse("detectors:\n  foreign_origin_surge:\n    targets: [NO]\n");
  EXPECT_THAT(c.foreign_origin_surge.targets,
              ElementsAre(CountryCode::FromString("NO")));
}

constexpr char kLevelsHeader[] = R"(detectors:
  foreign_origin_surge:
    scoring:
      levels:
)";

TEST(ConfigErrors, LevelsOutOfOrder) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: warning, min_score: 5, min_ratio: 3, min_observed: 20}
        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
)")),
      "config.yaml:6: detectors.foreign_origin_surge.scoring.levels[1]."
      "severity: must be above levels[0]'s (warning); list levels from the "
      "lowest severity up");
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - {severity: info, min_score: 5, min_ratio: 3, min_observed: 20}
)")),
      "config.yaml:6: detectors.foreign_origin_surge.scoring.levels[1]."
      "severity: must be above levels[0]'s (info); list levels from the "
      "lowest severity up");
}

TEST(ConfigErrors, LevelThresholdsMustNotDecreaseUpTheLadder) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - severity: critical
          min_score: 8
          min_ratio: 1.2
          min_observed: 40
)")),
      "config.yaml:8: detectors.foreign_origin_surge.scoring.levels[1]."
      "min_ratio: must not be below levels[0]'s min_ratio");
}

TEST(ConfigErrors, LevelIntervalsMustNotDecreaseUpTheLadder) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10, min_interval: 168h}
        - severity: critical
          min_score: 8
          min_ratio: 5
          min_observed: 40
          min_interval: 24h
)")),
      "config.yaml:10: detectors.foreign_origin_surge.scoring.levels[1]."
      "min_interval: must not be below levels[0]'s min_interval");
}

TEST(Config, ReadsTheRateGateAndTheHold) {
  const Config c = MustParse(absl::StrCat(
      kLevelsHeader,
      R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - {severity: warning, min_score: 5, min_ratio: 3, min_observed: 20, min_interval: 48h}
)"));
  const ScoringOptions& s = c.foreign_origin_surge.scoring;
  // Optional: a rung without it has no rate gate.
  EXPECT_EQ(s.levels[0].min_interval, absl::ZeroDuration());
  EXPECT_EQ(s.levels[1].min_interval, absl::Hours(48));
  EXPECT_EQ(DefaultConfig().foreign_origin_surge.scoring.hold, absl::Hours(1));
  EXPECT_EQ(MustParse("detectors:\n  foreign_origin_surge:\n    scoring:\n"
                      "      hold: 0s\n")
                .foreign_origin_surge.scoring.hold,
            absl::ZeroDuration());
}

TEST(ConfigErrors, UnknownSeverity) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: high, min_score: 3, min_ratio: 1.5, min_observed: 10}
)")),
      "config.yaml:5: detectors.foreign_origin_surge.scoring.levels[0]."
      "severity: unknown severity \"high\" (expected info, warning or "
      "critical)");
}

TEST(ConfigErrors, LevelMissingAKey) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - severity: warning
          min_score: 5
          min_observed: 20
)")),
      "config.yaml:6: detectors.foreign_origin_surge.scoring.levels[1]."
      "min_ratio: missing (every level sets severity, min_score, min_ratio "
      "and min_observed)");
}

TEST(ConfigErrors, LevelListEmptyOrTooLongOrNotMappings) {
  EXPECT_EQ(ErrorFor(absl::StrCat(kLevelsHeader, "        []\n")),
            "config.yaml:4: detectors.foreign_origin_surge.scoring.levels: "
            "needs at least one level");
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - {severity: warning, min_score: 5, min_ratio: 3, min_observed: 20}
        - {severity: critical, min_score: 8, min_ratio: 5, min_observed: 40}
        - {severity: critical, min_score: 9, min_ratio: 6, min_observed: 50}
)")),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.levels: has "
      "more than 3 levels (info, warning, critical)");
  EXPECT_EQ(ErrorFor(absl::StrCat(kLevelsHeader, "        - info\n")),
            "config.yaml:5: detectors.foreign_origin_surge.scoring.levels[0]: "
            "expected a mapping, got \"info\"");
}

TEST(ConfigErrors, NegativeOrOutOfRangeNumbers) {
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples: -1\n"),
            "config.yaml:2: evidence.max_samples: must be between 0 and 1000");
  EXPECT_EQ(ErrorFor("decoder:\n  max_event_bytes: 0\n"),
            "config.yaml:2: decoder.max_event_bytes: must be between 1 and "
            "1073741824");
  EXPECT_EQ(ErrorFor("decoder:\n  max_event_bytes: 99999999999999999999\n"),
            "config.yaml:2: decoder.max_event_bytes: must be between 1 and "
            "1073741824");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    max_keys: 0\n"),
      "config.yaml:3: detectors.foreign_origin_surge.max_keys: must be at "
      "least 1");
  EXPECT_EQ(ErrorFor("watermark:\n  allowed_lateness: -5s\n"),
            "config.yaml:2: watermark.allowed_lateness: must not be negative");
  EXPECT_EQ(ErrorFor("watermark:\n  idle_timeout: 0s\n"),
            "config.yaml:2: watermark.idle_timeout: must be positive");
  EXPECT_EQ(ErrorFor("watermark:\n  max_lead: 0s\n"),
            "config.yaml:2: watermark.max_lead: must be positive");
  EXPECT_EQ(ErrorFor("watermark:\n  max_clock_lead: 0s\n"),
            "config.yaml:2: watermark.max_clock_lead: must be positive");
  EXPECT_EQ(ErrorFor("watermark:\n  quorum: 65\n"),
            "config.yaml:2: watermark.quorum: must be between 1 and 64");
  EXPECT_EQ(ErrorFor("watermark:\n  quorum: 8\n  gap_quorum: 4\n"),
            "config.yaml:3: watermark.gap_quorum: must be at least quorum "
            "(8): a gap is taken on that many records");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
               "      min_expected: 0\n"),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.min_expected: "
      "must be positive");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
                     "      anomaly_clip_ratio: 0.5\n"),
            "config.yaml:4: detectors.foreign_origin_surge.scoring."
            "anomaly_clip_ratio: must be at least 1");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
               "      warmup: -1h\n"),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.warmup: must not "
      "be negative");
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: -3, min_ratio: 1.5, min_observed: 10}
)")),
      "config.yaml:5: detectors.foreign_origin_surge.scoring.levels[0]."
      "min_score: must not be negative");
}

TEST(ConfigErrors, YamlSyntaxErrorNamesTheLine) {
  EXPECT_EQ(ErrorFor("decoder:\n  max_event_bytes: 10\nwatermark: [1, 2\n"
                     "evidence: {}\n"),
            "config.yaml:4: YAML syntax error: end of sequence flow not found");
  EXPECT_EQ(ErrorFor("decoder:\n  max_event_bytes: 10\n bad: 1\n"),
            "config.yaml:3: YAML syntax error: end of map not found");
}

TEST(ConfigErrors, OnlyOneDocument) {
  EXPECT_EQ(ErrorFor("decoder: {}\n---\nwatermark: {}\n"),
            "config.yaml:3: only one YAML document is allowed");
}

// ---------------------------------------------------------------------------
// The canonical form and the hash.

// The default canonical lines of coordinated_sharing, new_account_burst and
// state_media_amplification (the domain list enters by its contents).
std::string SharingAndAccountDetectorsCanonicalDefaults() {
  const auto scoring = [](const std::string& p) {
    std::string out;
    for (const char* line : {
             "warmup = 1h",
             "level_half_life = 3h",
             "daily_cycle = true",
             "daily_half_life_days = 2",
             "min_expected = 1",
             "anomaly_clip_ratio = 1.5",
             "counts = true",
             "dispersion_half_life = 24h",
             "hold = 1h",
             "levels.count = 3",
             "levels[0].severity = info",
             "levels[0].min_score = 3",
             "levels[0].min_ratio = 2",
             "levels[0].min_observed = 10",
             "levels[0].min_interval = 24h",
             "levels[1].severity = warning",
             "levels[1].min_score = 5",
             "levels[1].min_ratio = 3",
             "levels[1].min_observed = 20",
             "levels[1].min_interval = 168h",
             "levels[2].severity = critical",
             "levels[2].min_score = 8",
             "levels[2].min_ratio = 5",
             "levels[2].min_observed = 40",
             "levels[2].min_interval = 720h",
         }) {
      absl::StrAppend(&out, p, ".scoring.", line, "\n");
    }
    return out;
  };
  const std::shared_ptr<const StateMediaList> list = DefaultStateMediaList();
  return absl::StrCat(
      R"(detectors.coordinated_sharing.enabled = true
detectors.coordinated_sharing.window = 1m
detectors.coordinated_sharing.resolve_after = 10m
detectors.coordinated_sharing.min_text_words = 5
detectors.coordinated_sharing.targets = []
detectors.coordinated_sharing.max_keys = 200000
detectors.coordinated_sharing.max_posts_per_key = 128
detectors.coordinated_sharing.levels.count = 3
detectors.coordinated_sharing.levels[0].severity = info
detectors.coordinated_sharing.levels[0].min_accounts = 5
detectors.coordinated_sharing.levels[1].severity = warning
detectors.coordinated_sharing.levels[1].min_accounts = 10
detectors.coordinated_sharing.levels[2].severity = critical
detectors.coordinated_sharing.levels[2].min_accounts = 20
detectors.coordinated_sharing.repost_levels.count = 3
detectors.coordinated_sharing.repost_levels[0].severity = info
detectors.coordinated_sharing.repost_levels[0].min_accounts = 10
detectors.coordinated_sharing.repost_levels[1].severity = warning
detectors.coordinated_sharing.repost_levels[1].min_accounts = 25
detectors.coordinated_sharing.repost_levels[2].severity = critical
detectors.coordinated_sharing.repost_levels[2].min_accounts = 50
detectors.coordinated_sharing.per_target = {}
detectors.new_account_burst.enabled = true
detectors.new_account_burst.window = 10m
detectors.new_account_burst.hop = 1m
detectors.new_account_burst.targets = []
detectors.new_account_burst.max_keys = 10000
detectors.new_account_burst.max_account_age = 720h
detectors.new_account_burst.min_accounts = 5
)",
      scoring("detectors.new_account_burst"),
      R"(detectors.new_account_burst.per_target = {}
detectors.state_media_amplification.enabled = true
detectors.state_media_amplification.window = 10m
detectors.state_media_amplification.hop = 1m
detectors.state_media_amplification.targets = []
detectors.state_media_amplification.max_keys = 10000
detectors.state_media_amplification.count_state_affiliated_accounts = true
detectors.state_media_amplification.domains_file = sha256:)",
      list->sha256, " (", list->outlets.size(), " domains)\n",
      scoring("detectors.state_media_amplification"),
      R"(detectors.state_media_amplification.per_target = {}
)");
}

// The default canonical lines of foreign_share, foreign_ad_spend and
// posting_clock.
std::string ShareAdsAndClockCanonicalDefaults() {
  return R"(detectors.foreign_share.enabled = true
detectors.foreign_share.window = 30m
detectors.foreign_share.hop = 5m
detectors.foreign_share.targets = []
detectors.foreign_share.max_hashtags = 50
detectors.foreign_share.max_keys = 10000
detectors.foreign_share.min_total = 50
detectors.foreign_share.scoring.warmup = 2h
detectors.foreign_share.scoring.level_half_life = 3h
detectors.foreign_share.scoring.daily_cycle = false
detectors.foreign_share.scoring.daily_half_life_days = 2
detectors.foreign_share.scoring.min_expected = 1
detectors.foreign_share.scoring.anomaly_clip_ratio = 1.5
detectors.foreign_share.scoring.counts = true
detectors.foreign_share.scoring.dispersion_half_life = 24h
detectors.foreign_share.scoring.hold = 1h
detectors.foreign_share.scoring.levels.count = 3
detectors.foreign_share.scoring.levels[0].severity = info
detectors.foreign_share.scoring.levels[0].min_score = 3
detectors.foreign_share.scoring.levels[0].min_ratio = 1.3
detectors.foreign_share.scoring.levels[0].min_observed = 10
detectors.foreign_share.scoring.levels[0].min_interval = 24h
detectors.foreign_share.scoring.levels[1].severity = warning
detectors.foreign_share.scoring.levels[1].min_score = 5
detectors.foreign_share.scoring.levels[1].min_ratio = 1.6
detectors.foreign_share.scoring.levels[1].min_observed = 20
detectors.foreign_share.scoring.levels[1].min_interval = 168h
detectors.foreign_share.scoring.levels[2].severity = critical
detectors.foreign_share.scoring.levels[2].min_score = 8
detectors.foreign_share.scoring.levels[2].min_ratio = 2
detectors.foreign_share.scoring.levels[2].min_observed = 40
detectors.foreign_share.scoring.levels[2].min_interval = 720h
detectors.foreign_share.per_target = {}
detectors.foreign_ad_spend.enabled = true
detectors.foreign_ad_spend.window = 2h
detectors.foreign_ad_spend.hop = 10m
detectors.foreign_ad_spend.targets = []
detectors.foreign_ad_spend.spend_unit = 100
detectors.foreign_ad_spend.max_keys = 1000
detectors.foreign_ad_spend.max_payers = 10000
detectors.foreign_ad_spend.first_seen_severity = info
detectors.foreign_ad_spend.first_seen_min_spend = 1000
detectors.foreign_ad_spend.min_ads = 3
detectors.foreign_ad_spend.scoring.warmup = 12h
detectors.foreign_ad_spend.scoring.level_half_life = 24h
detectors.foreign_ad_spend.scoring.daily_cycle = true
detectors.foreign_ad_spend.scoring.daily_half_life_days = 2
detectors.foreign_ad_spend.scoring.min_expected = 1
detectors.foreign_ad_spend.scoring.anomaly_clip_ratio = 1.5
detectors.foreign_ad_spend.scoring.counts = true
detectors.foreign_ad_spend.scoring.dispersion_half_life = 24h
detectors.foreign_ad_spend.scoring.hold = 1h
detectors.foreign_ad_spend.scoring.levels.count = 3
detectors.foreign_ad_spend.scoring.levels[0].severity = info
detectors.foreign_ad_spend.scoring.levels[0].min_score = 3
detectors.foreign_ad_spend.scoring.levels[0].min_ratio = 2
detectors.foreign_ad_spend.scoring.levels[0].min_observed = 10
detectors.foreign_ad_spend.scoring.levels[0].min_interval = 24h
detectors.foreign_ad_spend.scoring.levels[1].severity = warning
detectors.foreign_ad_spend.scoring.levels[1].min_score = 5
detectors.foreign_ad_spend.scoring.levels[1].min_ratio = 3
detectors.foreign_ad_spend.scoring.levels[1].min_observed = 20
detectors.foreign_ad_spend.scoring.levels[1].min_interval = 168h
detectors.foreign_ad_spend.scoring.levels[2].severity = critical
detectors.foreign_ad_spend.scoring.levels[2].min_score = 8
detectors.foreign_ad_spend.scoring.levels[2].min_ratio = 5
detectors.foreign_ad_spend.scoring.levels[2].min_observed = 50
detectors.foreign_ad_spend.scoring.levels[2].min_interval = 720h
detectors.foreign_ad_spend.count_scoring.warmup = 12h
detectors.foreign_ad_spend.count_scoring.level_half_life = 24h
detectors.foreign_ad_spend.count_scoring.daily_cycle = true
detectors.foreign_ad_spend.count_scoring.daily_half_life_days = 2
detectors.foreign_ad_spend.count_scoring.min_expected = 1
detectors.foreign_ad_spend.count_scoring.anomaly_clip_ratio = 1.5
detectors.foreign_ad_spend.count_scoring.counts = true
detectors.foreign_ad_spend.count_scoring.dispersion_half_life = 24h
detectors.foreign_ad_spend.count_scoring.hold = 1h
detectors.foreign_ad_spend.count_scoring.levels.count = 3
detectors.foreign_ad_spend.count_scoring.levels[0].severity = info
detectors.foreign_ad_spend.count_scoring.levels[0].min_score = 3
detectors.foreign_ad_spend.count_scoring.levels[0].min_ratio = 2
detectors.foreign_ad_spend.count_scoring.levels[0].min_observed = 5
detectors.foreign_ad_spend.count_scoring.levels[0].min_interval = 24h
detectors.foreign_ad_spend.count_scoring.levels[1].severity = warning
detectors.foreign_ad_spend.count_scoring.levels[1].min_score = 5
detectors.foreign_ad_spend.count_scoring.levels[1].min_ratio = 3
detectors.foreign_ad_spend.count_scoring.levels[1].min_observed = 10
detectors.foreign_ad_spend.count_scoring.levels[1].min_interval = 168h
detectors.foreign_ad_spend.count_scoring.levels[2].severity = critical
detectors.foreign_ad_spend.count_scoring.levels[2].min_score = 8
detectors.foreign_ad_spend.count_scoring.levels[2].min_ratio = 5
detectors.foreign_ad_spend.count_scoring.levels[2].min_observed = 20
detectors.foreign_ad_spend.count_scoring.levels[2].min_interval = 720h
detectors.foreign_ad_spend.per_target = {}
detectors.posting_clock.enabled = true
detectors.posting_clock.hop = 1h
detectors.posting_clock.targets = []
detectors.posting_clock.max_accounts = 100000
detectors.posting_clock.min_posts = 20
detectors.posting_clock.min_active_days = 3
detectors.posting_clock.min_share = 0.8
detectors.posting_clock.min_offset_distance = 3
detectors.posting_clock.min_accounts = 5
detectors.posting_clock.levels.count = 3
detectors.posting_clock.levels[0].severity = info
detectors.posting_clock.levels[0].min_score = 3
detectors.posting_clock.levels[0].min_ratio = 1.5
detectors.posting_clock.levels[0].min_observed = 100
detectors.posting_clock.levels[0].min_interval = 0
detectors.posting_clock.levels[1].severity = warning
detectors.posting_clock.levels[1].min_score = 5
detectors.posting_clock.levels[1].min_ratio = 2
detectors.posting_clock.levels[1].min_observed = 200
detectors.posting_clock.levels[1].min_interval = 0
detectors.posting_clock.levels[2].severity = critical
detectors.posting_clock.levels[2].min_score = 8
detectors.posting_clock.levels[2].min_ratio = 3
detectors.posting_clock.levels[2].min_observed = 500
detectors.posting_clock.levels[2].min_interval = 0
detectors.posting_clock.per_target = {}
)";
}

TEST(CanonicalConfig, ListsEveryEffectiveSettingInAFixedOrder) {
  EXPECT_EQ(CanonicalConfig(DefaultConfig()),
            R"(decoder.max_event_bytes = 1048576
watermark.max_out_of_orderness = 30s
watermark.allowed_lateness = 0
watermark.idle_timeout = 1m
watermark.end_grace = 10s
watermark.max_clock_lead = 5m
watermark.max_lead = 24h
watermark.quorum = 4
watermark.gap_quorum = 16
evidence.max_samples = 10
evidence.top_n = 5
detectors.foreign_origin_surge.enabled = true
detectors.foreign_origin_surge.window = 10m
detectors.foreign_origin_surge.hop = 1m
detectors.foreign_origin_surge.targets = []
detectors.foreign_origin_surge.max_keys = 10000
detectors.foreign_origin_surge.scoring.warmup = 1h
detectors.foreign_origin_surge.scoring.level_half_life = 3h
detectors.foreign_origin_surge.scoring.daily_cycle = true
detectors.foreign_origin_surge.scoring.daily_half_life_days = 2
detectors.foreign_origin_surge.scoring.min_expected = 1
detectors.foreign_origin_surge.scoring.anomaly_clip_ratio = 1.5
detectors.foreign_origin_surge.scoring.counts = true
detectors.foreign_origin_surge.scoring.dispersion_half_life = 24h
detectors.foreign_origin_surge.scoring.hold = 1h
detectors.foreign_origin_surge.scoring.levels.count = 3
detectors.foreign_origin_surge.scoring.levels[0].severity = info
detectors.foreign_origin_surge.scoring.levels[0].min_score = 3
detectors.foreign_origin_surge.scoring.levels[0].min_ratio = 1.5
detectors.foreign_origin_surge.scoring.levels[0].min_observed = 10
detectors.foreign_origin_surge.scoring.levels[0].min_interval = 24h
detectors.foreign_origin_surge.scoring.levels[1].severity = warning
detectors.foreign_origin_surge.scoring.levels[1].min_score = 5
detectors.foreign_origin_surge.scoring.levels[1].min_ratio = 3
detectors.foreign_origin_surge.scoring.levels[1].min_observed = 20
detectors.foreign_origin_surge.scoring.levels[1].min_interval = 168h
detectors.foreign_origin_surge.scoring.levels[2].severity = critical
detectors.foreign_origin_surge.scoring.levels[2].min_score = 8
detectors.foreign_origin_surge.scoring.levels[2].min_ratio = 5
detectors.foreign_origin_surge.scoring.levels[2].min_observed = 40
detectors.foreign_origin_surge.scoring.levels[2].min_interval = 720h
)" + SharingAndAccountDetectorsCanonicalDefaults() +
                ShareAdsAndClockCanonicalDefaults());
}

TEST(ConfigHash, IsSha256HexOfTheCanonicalForm) {
  const std::string hash = DefaultConfig().hash();
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  // All 64 digits of the digest of exactly the canonical text (Sha256Hex
  // itself is checked against the standard's vectors in alert_test).
  EXPECT_EQ(hash, Sha256Hex(CanonicalConfig(DefaultConfig())));
  Config other = DefaultConfig();
  other.evidence_top_n = 6;
  EXPECT_NE(other.hash(), hash);
}

TEST(ConfigHash, IgnoresCommentsKeyOrderAndSpelling) {
  const Config a = MustParse(R"(watermark:
  idle_timeout: 2m
  max_out_of_orderness: 45s
detectors:
  foreign_origin_surge:
    window: 20m
    targets: [FR, DE]
)");
  const Config b = MustParse(R"(# The same settings, shuffled and commented.
detectors:
  foreign_origin_surge:
    targets:      # the order of targets is irrelevant too
      - DE
      - FR
    window: 1200s   # = 20m
watermark:
  max_out_of_orderness: 45s
  idle_timeout: 120s
decoder: {}
)");
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_NE(a.hash(), DefaultConfig().hash());
}

TEST(ConfigHash, DefaultsSpelledOutHashLikeAnEmptyFile) {
  EXPECT_EQ(MustParse("evidence:\n  top_n: 5\n").hash(), MustParse("").hash());
}

TEST(ConfigHash, ChangesWithEverySetting) {
  const std::string base = DefaultConfig().hash();
  for (const char* yaml : {
           "decoder: {max_event_bytes: 1048577}",
           "watermark: {max_out_of_orderness: 31s}",
           "watermark: {allowed_lateness: 1ms}",
           "watermark: {idle_timeout: 61s}",
           "evidence: {max_samples: 9}",
           "evidence: {top_n: 4}",
           "detectors: {foreign_origin_surge: {enabled: false}}",
           "detectors: {foreign_origin_surge: {window: 20m}}",
           "detectors: {foreign_origin_surge: {hop: 2m}}",
           "detectors: {foreign_origin_surge: {targets: [DE]}}",
           "detectors: {foreign_origin_surge: {max_keys: 9999}}",
           "detectors: {foreign_origin_surge: {scoring: {warmup: 59m}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{level_half_life: 4h}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{daily_cycle: false}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{daily_half_life_days: 2.0000001}}}",
           "detectors: {foreign_origin_surge: {scoring: {min_expected: 1.5}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{anomaly_clip_ratio: 1.25}}}",
           "detectors: {foreign_origin_surge: {scoring: {counts: false}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{dispersion_half_life: 25h}}}",
           "detectors: {foreign_origin_surge: {scoring: {levels: ["
           "{severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10},"
           "{severity: warning, min_score: 5, min_ratio: 3, min_observed: 20}"
           "]}}}",
           "detectors: {foreign_origin_surge: {scoring: {levels: ["
           "{severity: warning, min_score: 3, min_ratio: 1.5, min_observed: "
           "10},"
           "{severity: critical, min_score: 5, min_ratio: 3, min_observed: 20}"
           "]}}}",
       }) {
    SCOPED_TRACE(yaml);
    EXPECT_NE(MustParse(yaml).hash(), base);
  }
}

TEST(MakeOperatorContext, CarriesTheHashAndEvidenceLimits) {
  const Config c = MustParse("evidence: {max_samples: 4, top_n: 2}");
  const OperatorContext context = MakeOperatorContext(c);
  EXPECT_EQ(context.config_hash, c.hash());
  EXPECT_EQ(context.max_samples, 4);
  EXPECT_EQ(context.top_n, 2);
}

// ---------------------------------------------------------------------------
// coordinated_sharing, new_account_burst, state_media_amplification.

constexpr CountryCode kTestMD = CountryCode::FromChars('M', 'D');
constexpr CountryCode kTestRO = CountryCode::FromChars('R', 'O');

TEST(SharingAndAccountDetectors, DefaultsAreTheDocumentedValues) {
  const Config c = DefaultConfig();
  const CoordinatedSharingOptions& cs = c.coordinated_sharing;
  EXPECT_TRUE(cs.enabled);
  EXPECT_EQ(cs.window, absl::Seconds(60));
  EXPECT_EQ(cs.resolve_after, absl::Minutes(10));
  EXPECT_EQ(cs.min_text_words, 5);
  EXPECT_EQ(cs.max_keys, 200000);
  EXPECT_EQ(cs.max_posts_per_key, 128);
  ASSERT_EQ(cs.levels.size(), 3u);
  EXPECT_EQ(cs.levels[0].min_accounts, 5);
  EXPECT_EQ(cs.levels[1].min_accounts, 10);
  EXPECT_EQ(cs.levels[2].min_accounts, 20);
  ASSERT_EQ(cs.repost_levels.size(), 3u);
  EXPECT_EQ(cs.repost_levels[0].min_accounts, 10);
  EXPECT_TRUE(cs.per_target.empty());
  const NewAccountBurstOptions& nab = c.new_account_burst;
  EXPECT_TRUE(nab.enabled);
  EXPECT_EQ(nab.window, absl::Minutes(10));
  EXPECT_EQ(nab.hop, absl::Minutes(1));
  EXPECT_EQ(nab.max_account_age, absl::Hours(30 * 24));
  EXPECT_EQ(nab.scoring.levels[0].min_ratio, 2);
  const StateMediaAmplificationOptions& sma = c.state_media_amplification;
  EXPECT_TRUE(sma.enabled);
  EXPECT_TRUE(sma.count_state_affiliated_accounts);
  EXPECT_EQ(sma.domains_file, "");
  EXPECT_EQ(sma.domains, nullptr);  // the embedded list
  EXPECT_EQ(sma.scoring.levels[2].min_observed, 40);
}

TEST(SharingAndAccountDetectors, FullSectionsParseEveryKey) {
  const std::string list = testing::TempDir() + "/config_test_domains.txt";
  {
    std::ofstream out(list);
    out << "rt.com RU \"RT\"\nexample.org\n";
  }
  const Config c = MustParse(absl::StrCat(R"(detectors:
  coordinated_sharing:
    enabled: false
    window: 2m
    resolve_after: 30m
    min_text_words: 8
    targets: [RO, MD]
    max_keys: 1000
    max_posts_per_key: 64
    levels:
      - {severity: warning, min_accounts: 4}
      - {severity: critical, min_accounts: 12}
    repost_levels:
      - {severity: info, min_accounts: 30}
    per_target:
      MD:
        levels: [{severity: info, min_accounts: 3}]
      RO: {}
  new_account_burst:
    enabled: false
    window: 30m
    hop: 5m
    targets: [MD]
    max_keys: 5
    max_account_age: 168h
    scoring:
      warmup: 2h
    per_target:
      MD:
        max_account_age: 48h
        scoring:
          levels: [{severity: info, min_score: 4, min_ratio: 3, min_observed: 50}]
  state_media_amplification:
    enabled: false
    window: 20m
    hop: 2m
    targets: [RO]
    max_keys: 7
    count_state_affiliated_accounts: false
    domains_file: ")",
                                          list, R"("
    scoring:
      min_expected: 2
    per_target:
      RO:
        scoring: {warmup: 3h}
)"));
  const CoordinatedSharingOptions& cs = c.coordinated_sharing;
  EXPECT_FALSE(cs.enabled);
  EXPECT_EQ(cs.window, absl::Minutes(2));
  EXPECT_EQ(cs.resolve_after, absl::Minutes(30));
  EXPECT_EQ(cs.min_text_words, 8);
  EXPECT_THAT(cs.targets, ElementsAre(kTestMD, kTestRO));
  EXPECT_EQ(cs.max_keys, 1000);
  EXPECT_EQ(cs.max_posts_per_key, 64);
  ASSERT_EQ(cs.levels.size(), 2u);
  EXPECT_EQ(cs.levels[0].severity, Severity::kWarning);
  EXPECT_EQ(cs.levels[1].min_accounts, 12);
  ASSERT_EQ(cs.repost_levels.size(), 1u);
  ASSERT_EQ(cs.per_target.size(), 2u);
  // A target's block starts from the detector's settings.
  const CoordinatedSharingTargetOptions& md = cs.per_target.at(kTestMD);
  ASSERT_EQ(md.levels.size(), 1u);
  EXPECT_EQ(md.levels[0].min_accounts, 3);
  ASSERT_EQ(md.repost_levels.size(), 1u);
  EXPECT_EQ(md.repost_levels[0].min_accounts, 30);
  EXPECT_EQ(cs.per_target.at(kTestRO).levels.size(), 2u);

  const NewAccountBurstOptions& nab = c.new_account_burst;
  EXPECT_FALSE(nab.enabled);
  EXPECT_EQ(nab.window, absl::Minutes(30));
  EXPECT_EQ(nab.hop, absl::Minutes(5));
  EXPECT_EQ(nab.max_keys, 5);
  EXPECT_EQ(nab.max_account_age, absl::Hours(168));
  EXPECT_EQ(nab.scoring.warmup, absl::Hours(2));
  const NewAccountBurstTargetOptions& nab_md = nab.per_target.at(kTestMD);
  EXPECT_EQ(nab_md.max_account_age, absl::Hours(48));
  EXPECT_EQ(nab_md.scoring.warmup, absl::Hours(2));  // inherited
  ASSERT_EQ(nab_md.scoring.levels.size(), 1u);
  EXPECT_EQ(nab_md.scoring.levels[0].min_observed, 50);

  const StateMediaAmplificationOptions& sma = c.state_media_amplification;
  EXPECT_FALSE(sma.enabled);
  EXPECT_EQ(sma.window, absl::Minutes(20));
  EXPECT_EQ(sma.max_keys, 7);
  EXPECT_FALSE(sma.count_state_affiliated_accounts);
  EXPECT_EQ(sma.domains_file, list);
  ASSERT_NE(sma.domains, nullptr);
  ASSERT_EQ(sma.domains->outlets.size(), 2u);
  EXPECT_EQ(sma.domains->outlets[0].domain, "rt.com");
  EXPECT_EQ(sma.scoring.min_expected, 2);
  const StateMediaAmplificationTargetOptions& ro = sma.per_target.at(kTestRO);
  EXPECT_EQ(ro.scoring.warmup, absl::Hours(3));
  EXPECT_EQ(ro.scoring.min_expected, 2);  // inherited
}

TEST(SharingAndAccountDetectors, PerTargetErrorsNameTheirPath) {
  EXPECT_EQ(ErrorFor(R"(detectors:
  coordinated_sharing:
    per_target:
      UK: {}
)"),
            "config.yaml:4: detectors.coordinated_sharing.per_target.UK: "
            "\"UK\" is not an ISO 3166-1 alpha-2 country code (the United "
            "Kingdom is GB)");
  EXPECT_EQ(ErrorFor(R"(detectors:
  new_account_burst:
    per_target:
      MD:
        window: 5m
)"),
            "config.yaml:5: detectors.new_account_burst.per_target.MD.window: "
            "unknown key");
  EXPECT_EQ(ErrorFor(R"(detectors:
  state_media_amplification:
    per_target: [MD]
)"),
            "config.yaml:3: detectors.state_media_amplification.per_target: "
            "expected a mapping, got a list");
}

TEST(SharingAndAccountDetectors, ClusterLaddersAreChecked) {
  EXPECT_EQ(ErrorFor(R"(detectors:
  coordinated_sharing:
    levels: [{severity: info, min_accounts: 1}]
)"),
            "config.yaml:3: detectors.coordinated_sharing.levels[0]."
            "min_accounts: must be at least 2");
  EXPECT_EQ(ErrorFor(R"(detectors:
  coordinated_sharing:
    levels:
      - {severity: warning, min_accounts: 5}
      - {severity: info, min_accounts: 9}
)"),
            "config.yaml:5: detectors.coordinated_sharing.levels[1].severity: "
            "must be above levels[0]'s (warning); list levels from the lowest "
            "severity up");
  EXPECT_EQ(ErrorFor(R"(detectors:
  coordinated_sharing:
    repost_levels:
      - {severity: info, min_accounts: 5}
      - {severity: warning, min_accounts: 4}
)"),
            "config.yaml:5: detectors.coordinated_sharing.repost_levels[1]."
            "min_accounts: must not be below levels[0]'s min_accounts");
  EXPECT_EQ(ErrorFor(R"(detectors:
  coordinated_sharing:
    levels: [{severity: info}]
)"),
            "config.yaml:3: detectors.coordinated_sharing.levels[0]."
            "min_accounts: missing (every level sets severity and "
            "min_accounts)");
  EXPECT_EQ(ErrorFor(R"(detectors:
  coordinated_sharing:
    levels: []
)"),
            "config.yaml:3: detectors.coordinated_sharing.levels: needs at "
            "least one level");
}

TEST(SharingAndAccountDetectors, OutOfRangeValuesAreErrors) {
  EXPECT_EQ(ErrorFor("detectors: {coordinated_sharing: {resolve_after: 30s}}"),
            "config.yaml:1: detectors.coordinated_sharing.resolve_after: "
            "resolve_after must be at least window");
  EXPECT_EQ(ErrorFor("detectors: {coordinated_sharing: {min_text_words: 0}}"),
            "config.yaml:1: detectors.coordinated_sharing.min_text_words: "
            "must be between 1 and 1000");
  EXPECT_EQ(
      ErrorFor("detectors: {coordinated_sharing: {max_posts_per_key: 1}}"),
      "config.yaml:1: detectors.coordinated_sharing.max_posts_per_key: must "
      "be between 2 and 100000");
  EXPECT_EQ(ErrorFor("detectors: {new_account_burst: {max_account_age: 0}}"),
            "config.yaml:1: detectors.new_account_burst.max_account_age: must "
            "be positive");
  EXPECT_EQ(ErrorFor("detectors: {new_account_burst: {hop: 7m}}"),
            "config.yaml:1: detectors.new_account_burst.hop: must divide "
            "window (10m)");
  EXPECT_EQ(ErrorFor("detectors: {state_media_amplification: {window: 5m, "
                     "hop: 2m}}"),
            "config.yaml:1: detectors.state_media_amplification.hop: must "
            "divide window (5m)");
}

TEST(SharingAndAccountDetectors, AMissingOrMalformedDomainsFileIsAConfigError) {
  const std::string missing = testing::TempDir() + "/no_such_domains.txt";
  EXPECT_THAT(
      ErrorFor(absl::StrCat("detectors:\n  state_media_amplification:\n"
                            "    domains_file: ",
                            missing, "\n")),
      HasSubstr(absl::StrCat("config.yaml:3: detectors.state_media_"
                             "amplification.domains_file: cannot open state "
                             "media domains file ",
                             missing)));
  const std::string bad = testing::TempDir() + "/config_test_bad_domains.txt";
  {
    std::ofstream out(bad);
    out << "# list\nrt.com RU\nrt.com XX\n";
  }
  EXPECT_EQ(ErrorFor(absl::StrCat("detectors:\n  state_media_amplification:\n"
                                  "    domains_file: ",
                                  bad, "\n")),
            absl::StrCat("config.yaml:3: detectors.state_media_amplification."
                         "domains_file: ",
                         bad,
                         ":3: \"XX\" is not an ISO 3166-1 alpha-2 country "
                         "code"));
}

TEST(SharingAndAccountDetectors, ADomainsFileThatNeverEndsIsRefusedByItsLine) {
  // Regression: domains_file: /dev/zero read 2.1 GB and then blamed the YAML.
  EXPECT_EQ(ErrorFor("detectors:\n  state_media_amplification:\n"
                     "    domains_file: /dev/zero\n"),
            "config.yaml:3: detectors.state_media_amplification.domains_file: "
            "state media domains file /dev/zero is larger than 16777216 "
            "bytes");
}

TEST(SharingAndAccountDetectors, HashChangesWithEverySettingAndTheListText) {
  const std::string base = DefaultConfig().hash();
  for (const char* yaml : {
           "detectors: {coordinated_sharing: {enabled: false}}",
           "detectors: {coordinated_sharing: {window: 61s}}",
           "detectors: {coordinated_sharing: {resolve_after: 11m}}",
           "detectors: {coordinated_sharing: {min_text_words: 6}}",
           "detectors: {coordinated_sharing: {targets: [MD]}}",
           "detectors: {coordinated_sharing: {max_keys: 1}}",
           "detectors: {coordinated_sharing: {max_posts_per_key: 127}}",
           "detectors: {coordinated_sharing: {levels: "
           "[{severity: info, min_accounts: 6}]}}",
           "detectors: {coordinated_sharing: {repost_levels: "
           "[{severity: info, min_accounts: 6}]}}",
           "detectors: {coordinated_sharing: {per_target: {MD: {}}}}",
           "detectors: {coordinated_sharing: {per_target: {MD: {levels: "
           "[{severity: info, min_accounts: 6}]}}}}",
           "detectors: {new_account_burst: {enabled: false}}",
           "detectors: {new_account_burst: {window: 20m}}",
           "detectors: {new_account_burst: {hop: 2m}}",
           "detectors: {new_account_burst: {targets: [MD]}}",
           "detectors: {new_account_burst: {max_keys: 9}}",
           "detectors: {new_account_burst: {max_account_age: 719h}}",
           "detectors: {new_account_burst: {scoring: {warmup: 2h}}}",
           "detectors: {new_account_burst: {per_target: {MD: "
           "{max_account_age: 24h}}}}",
           "detectors: {state_media_amplification: {enabled: false}}",
           "detectors: {state_media_amplification: {window: 20m}}",
           "detectors: {state_media_amplification: {hop: 2m}}",
           "detectors: {state_media_amplification: {targets: [MD]}}",
           "detectors: {state_media_amplification: {max_keys: 9}}",
           "detectors: {state_media_amplification: "
           "{count_state_affiliated_accounts: false}}",
           "detectors: {state_media_amplification: {scoring: "
           "{min_expected: 2}}}",
           "detectors: {state_media_amplification: {per_target: {RO: "
           "{scoring: {warmup: 2h}}}}}",
       }) {
    SCOPED_TRACE(yaml);
    EXPECT_NE(MustParse(yaml).hash(), base);
  }
  // The list enters by its contents: the embedded text in a file hashes
  // like the default; one edit changes the hash.
  const std::string same = testing::TempDir() + "/config_test_same.txt";
  const std::string edited = testing::TempDir() + "/config_test_edited.txt";
  {
    std::ofstream out(same);
    out << EmbeddedStateMediaDomains();
    std::ofstream out2(edited);
    out2 << EmbeddedStateMediaDomains() << "extra.example RU\n";
  }
  const auto with = [](const std::string& path) {
    return MustParse(absl::StrCat("detectors: {state_media_amplification: "
                                  "{domains_file: \"",
                                  path, "\"}}"))
        .hash();
  };
  EXPECT_EQ(with(same), base);
  EXPECT_NE(with(edited), base);
}

// ---------------------------------------------------------------------------
// foreign_share, foreign_ad_spend, posting_clock.

TEST(ShareAdsAndClockDetectors, DefaultsAreTheDocumentedValues) {
  const Config c = DefaultConfig();
  const ForeignShareOptions& fs = c.foreign_share;
  EXPECT_TRUE(fs.enabled);
  EXPECT_EQ(fs.window, absl::Minutes(30));
  EXPECT_EQ(fs.hop, absl::Minutes(5));
  EXPECT_EQ(fs.max_hashtags, 50);
  EXPECT_EQ(fs.max_keys, 10000);
  EXPECT_EQ(fs.min_total, 50);
  EXPECT_EQ(fs.scoring.warmup, absl::Hours(2));
  ASSERT_EQ(fs.scoring.levels.size(), 3u);
  EXPECT_EQ(fs.scoring.levels[0].min_ratio, 1.3);
  EXPECT_EQ(fs.scoring.levels[1].min_ratio, 1.6);
  EXPECT_EQ(fs.scoring.levels[2].min_ratio, 2.0);
  EXPECT_TRUE(fs.per_target.empty());
  const ForeignAdSpendOptions& ad = c.foreign_ad_spend;
  EXPECT_TRUE(ad.enabled);
  EXPECT_EQ(ad.window, absl::Hours(2));
  EXPECT_EQ(ad.hop, absl::Minutes(10));
  EXPECT_EQ(ad.spend_unit, 100);
  EXPECT_EQ(ad.max_keys, 1000);
  EXPECT_EQ(ad.max_payers, 10000);
  EXPECT_EQ(ad.first_seen_severity, Severity::kInfo);
  EXPECT_EQ(ad.first_seen_min_spend, 1000);
  EXPECT_EQ(ad.min_ads, 3);
  EXPECT_EQ(ad.scoring.warmup, absl::Hours(12));
  EXPECT_EQ(ad.scoring.level_half_life, absl::Hours(24));
  EXPECT_EQ(ad.scoring.levels[2].min_observed, 50);
  EXPECT_EQ(ad.count_scoring.levels[2].min_observed, 20);
  const PostingClockOptions& pc = c.posting_clock;
  EXPECT_TRUE(pc.enabled);
  EXPECT_EQ(pc.hop, absl::Hours(1));
  EXPECT_EQ(pc.max_accounts, 100000);
  EXPECT_EQ(pc.min_posts, 20);
  EXPECT_EQ(pc.min_active_days, 3);
  EXPECT_EQ(pc.min_share, 0.8);
  EXPECT_EQ(pc.min_offset_distance, 3);
  EXPECT_EQ(pc.min_accounts, 5);
  ASSERT_EQ(pc.levels.size(), 3u);
  EXPECT_EQ(pc.levels[0].min_observed, 100);
  EXPECT_TRUE(pc.per_target.empty());
}

TEST(ShareAdsAndClockDetectors, FullSectionsParseEveryKey) {
  const Config c = MustParse(R"(detectors:
  foreign_share:
    enabled: false
    window: 1h
    hop: 10m
    targets: [MD]
    max_hashtags: 0
    max_keys: 99
    min_total: 80
    scoring:
      warmup: 3h
    per_target:
      RO:
        min_total: 20
        scoring:
          levels:
            - {severity: critical, min_score: 9, min_ratio: 4, min_observed: 50}
  foreign_ad_spend:
    enabled: false
    window: 6h
    hop: 30m
    targets: [RO, MD]
    spend_unit: 50
    max_keys: 10
    max_payers: 77
    first_seen_severity: warning
    first_seen_min_spend: 5000
    min_ads: 4
    scoring:
      warmup: 1h
    count_scoring:
      level_half_life: 6h
    per_target:
      MD:
        currencies: [MDL, EUR]
        first_seen_min_spend: 250.5
  posting_clock:
    enabled: false
    hop: 2h
    targets: [DE]
    max_accounts: 500
    min_posts: 30
    min_active_days: 4
    min_share: 0.75
    min_offset_distance: 4
    min_accounts: 8
    levels:
      - {severity: warning, min_score: 4, min_ratio: 2, min_observed: 150}
    per_target:
      DE:
        utc_offsets: [2, 1]
      BR:
        min_accounts: 3
)");
  const ForeignShareOptions& fs = c.foreign_share;
  EXPECT_FALSE(fs.enabled);
  EXPECT_EQ(fs.window, absl::Hours(1));
  EXPECT_EQ(fs.hop, absl::Minutes(10));
  EXPECT_THAT(fs.targets, ElementsAre(kTestMD));
  EXPECT_EQ(fs.max_hashtags, 0);
  EXPECT_EQ(fs.max_keys, 99);
  EXPECT_EQ(fs.min_total, 80);
  EXPECT_EQ(fs.scoring.warmup, absl::Hours(3));
  ASSERT_EQ(fs.per_target.count(kTestRO), 1u);
  const ForeignShareTargetOptions& ro = fs.per_target.at(kTestRO);
  EXPECT_EQ(ro.min_total, 20);
  EXPECT_EQ(ro.scoring.warmup, absl::Hours(3));  // inherited
  ASSERT_EQ(ro.scoring.levels.size(), 1u);
  EXPECT_EQ(ro.scoring.levels[0].min_score, 9);

  const ForeignAdSpendOptions& ad = c.foreign_ad_spend;
  EXPECT_FALSE(ad.enabled);
  EXPECT_EQ(ad.window, absl::Hours(6));
  EXPECT_EQ(ad.hop, absl::Minutes(30));
  EXPECT_THAT(ad.targets, ElementsAre(kTestMD, kTestRO));
  EXPECT_EQ(ad.spend_unit, 50);
  EXPECT_EQ(ad.max_keys, 10);
  EXPECT_EQ(ad.max_payers, 77);
  EXPECT_EQ(ad.first_seen_severity, Severity::kWarning);
  EXPECT_EQ(ad.first_seen_min_spend, 5000);
  EXPECT_EQ(ad.min_ads, 4);
  EXPECT_EQ(ad.scoring.warmup, absl::Hours(1));
  EXPECT_EQ(ad.count_scoring.level_half_life, absl::Hours(6));
  const ForeignAdSpendTargetOptions& md = ad.per_target.at(kTestMD);
  EXPECT_THAT(md.currencies, ElementsAre(CurrencyCode::FromString("MDL"),
                                         CurrencyCode::FromString("EUR")));
  EXPECT_EQ(md.first_seen_min_spend, 250.5);
  EXPECT_EQ(md.min_ads, 4);                      // inherited
  EXPECT_EQ(md.scoring.warmup, absl::Hours(1));  // inherited
  EXPECT_EQ(md.count_scoring.level_half_life, absl::Hours(6));

  const PostingClockOptions& pc = c.posting_clock;
  EXPECT_FALSE(pc.enabled);
  EXPECT_EQ(pc.hop, absl::Hours(2));
  EXPECT_THAT(pc.targets, ElementsAre(CountryCode::FromString("DE")));
  EXPECT_EQ(pc.max_accounts, 500);
  EXPECT_EQ(pc.min_posts, 30);
  EXPECT_EQ(pc.min_active_days, 4);
  EXPECT_EQ(pc.min_share, 0.75);
  EXPECT_EQ(pc.min_offset_distance, 4);
  EXPECT_EQ(pc.min_accounts, 8);
  ASSERT_EQ(pc.levels.size(), 1u);
  EXPECT_EQ(pc.levels[0].severity, Severity::kWarning);
  const PostingClockTargetOptions& de =
      pc.per_target.at(CountryCode::FromString("DE"));
  EXPECT_THAT(de.utc_offsets, ElementsAre(1, 2));  // sorted
  EXPECT_EQ(de.min_accounts, 8);                   // inherited
  ASSERT_EQ(de.levels.size(), 1u);                 // inherited
  EXPECT_EQ(pc.per_target.at(CountryCode::FromString("BR")).min_accounts, 3);
}

TEST(ShareAdsAndClockDetectors, PerTargetInheritsSettingsWrittenAfterIt) {
  // per_target may come before the detector-wide keys in the file; it
  // still inherits them.
  const Config c = MustParse(R"(detectors:
  foreign_share:
    per_target:
      MD: {min_total: 5}
    scoring: {warmup: 4h}
)");
  EXPECT_EQ(c.foreign_share.per_target.at(kTestMD).scoring.warmup,
            absl::Hours(4));
  EXPECT_EQ(c.foreign_share.per_target.at(kTestMD).min_total, 5);
}

TEST(ShareAdsAndClockDetectors, ErrorsNameTheKey) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_ad_spend:\n    per_target:\n"
                     "      MD: {currencies: [mdl]}\n"),
            "config.yaml:4: detectors.foreign_ad_spend.per_target.MD."
            "currencies[0]: \"mdl\" is not a currency code (three upper-case "
            "letters)");
  EXPECT_EQ(ErrorFor("detectors:\n  posting_clock:\n    per_target:\n"
                     "      DE: {utc_offsets: [1, 15]}\n"),
            "config.yaml:4: detectors.posting_clock.per_target.DE."
            "utc_offsets[1]: must be between -12 and 14");
  EXPECT_EQ(ErrorFor("detectors:\n  posting_clock:\n    min_share: 1.5\n"),
            "config.yaml:3: detectors.posting_clock.min_share: must be at "
            "most 1");
  EXPECT_EQ(ErrorFor("detectors:\n  posting_clock:\n    hop: 25h\n"),
            "config.yaml:3: detectors.posting_clock.hop: must be at most 24h");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_share:\n    window: 7m\n"),
            "config.yaml:3: detectors.foreign_share.window: must be a "
            "multiple of hop (5m)");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_share:\n    per_target:\n"
                     "      UK: {min_total: 5}\n"),
            "config.yaml:4: detectors.foreign_share.per_target.UK: \"UK\" is "
            "not an ISO 3166-1 alpha-2 country code (the United Kingdom is "
            "GB)");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_share:\n    per_target:\n"
                     "      MD: {min_totl: 5}\n"),
            "config.yaml:4: detectors.foreign_share.per_target.MD.min_totl: "
            "unknown key");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_ad_spend:\n"
                     "    first_seen_severity: high\n"),
            "config.yaml:3: detectors.foreign_ad_spend.first_seen_severity: "
            "unknown severity \"high\" (expected info, warning or critical)");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_ad_spend:\n    spend_unit: 0\n"),
            "config.yaml:3: detectors.foreign_ad_spend.spend_unit: must be "
            "positive");
}

TEST(ShareAdsAndClockDetectors, EverySettingChangesTheHash) {
  const std::string base = DefaultConfig().hash();
  for (const char* yaml : {
           "detectors: {foreign_share: {enabled: false}}",
           "detectors: {foreign_share: {window: 1h}}",
           "detectors: {foreign_share: {hop: 10m}}",
           "detectors: {foreign_share: {targets: [MD]}}",
           "detectors: {foreign_share: {max_hashtags: 49}}",
           "detectors: {foreign_share: {max_keys: 9999}}",
           "detectors: {foreign_share: {min_total: 51}}",
           "detectors: {foreign_share: {scoring: {warmup: 3h}}}",
           "detectors: {foreign_share: {per_target: {MD: {}}}}",
           "detectors: {foreign_ad_spend: {enabled: false}}",
           "detectors: {foreign_ad_spend: {window: 4h}}",
           "detectors: {foreign_ad_spend: {hop: 20m}}",
           "detectors: {foreign_ad_spend: {targets: [MD]}}",
           "detectors: {foreign_ad_spend: {spend_unit: 101}}",
           "detectors: {foreign_ad_spend: {max_keys: 999}}",
           "detectors: {foreign_ad_spend: {max_payers: 9999}}",
           "detectors: {foreign_ad_spend: {first_seen_severity: warning}}",
           "detectors: {foreign_ad_spend: {first_seen_min_spend: 999}}",
           "detectors: {foreign_ad_spend: {min_ads: 2}}",
           "detectors: {foreign_ad_spend: {scoring: {warmup: 11h}}}",
           "detectors: {foreign_ad_spend: {count_scoring: {warmup: 11h}}}",
           "detectors: {foreign_ad_spend: {per_target: {MD: {currencies: "
           "[EUR]}}}}",
           "detectors: {posting_clock: {enabled: false}}",
           "detectors: {posting_clock: {hop: 2h}}",
           "detectors: {posting_clock: {targets: [DE]}}",
           "detectors: {posting_clock: {max_accounts: 99999}}",
           "detectors: {posting_clock: {min_posts: 21}}",
           "detectors: {posting_clock: {min_active_days: 2}}",
           "detectors: {posting_clock: {min_share: 0.81}}",
           "detectors: {posting_clock: {min_offset_distance: 2}}",
           "detectors: {posting_clock: {min_accounts: 6}}",
           "detectors: {posting_clock: {levels: [{severity: info, min_score: "
           "3, min_ratio: 1.5, min_observed: 101}]}}",
           "detectors: {posting_clock: {per_target: {DE: {utc_offsets: "
           "[1]}}}}",
       }) {
    SCOPED_TRACE(yaml);
    EXPECT_NE(MustParse(yaml).hash(), base);
  }
}

}  // namespace
}  // namespace vigia
