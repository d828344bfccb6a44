// vigia's configuration: the file format (YAML), its validation, and the
// effective configuration's fingerprint. The format is docs/config.md.
//
// Loading is strict: an unknown key, a wrong type or an out-of-range value
// is an error that names the key path and the line, e.g.
//   config.yaml:12: detectors.foreign_origin_surge.hop: must divide window
// A Config is an immutable value once loaded; share it freely.
#ifndef VIGIA_PIPELINE_CONFIG_H_
#define VIGIA_PIPELINE_CONFIG_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "operators/coordinated_sharing.h"
#include "operators/foreign_ad_spend.h"
#include "operators/foreign_origin_surge.h"
#include "operators/foreign_share.h"
#include "operators/new_account_burst.h"
#include "operators/operator.h"
#include "operators/posting_clock.h"
#include "operators/state_media_amplification.h"
#include "pipeline/decoder.h"

namespace vigia {

struct WatermarkOptions {
  // The watermark trails the newest event time seen on a source by this much:
  // events may arrive this far out of order and still count fully.
  absl::Duration max_out_of_orderness = absl::Seconds(30);
  // Events older than the watermark by more than this are late: counted and
  // dead-lettered.
  absl::Duration allowed_lateness = absl::ZeroDuration();
  // A source with no events for this long (processing time) stops holding
  // the watermark back.
  absl::Duration idle_timeout = absl::Seconds(60);
  // A source that knows when it has nothing to read (a Kafka partition at
  // its log end) is never idle by idle_timeout; at its end it stops holding
  // the watermark back after this much processing time instead: a margin
  // for a leader outage the client's statistics have not yet shown, and for
  // records written by its producers but not yet appended.
  absl::Duration end_grace = absl::Seconds(10);
  // How far an event may lead, beyond which it is dead-lettered as
  // `future`. With a processing-time clock (the daemon), event time may
  // lead that clock by at most max_clock_lead. Without one (replay), it may
  // lead its source's own progress by at most max_lead, unless gap_quorum
  // consecutive records of the source agree on the jump (a gap in the feed).
  absl::Duration max_clock_lead = absl::Minutes(5);
  absl::Duration max_lead = absl::Hours(24);
  int gap_quorum = 16;
  // A source's progress is the quorum-th newest of its last
  // WatermarkTracker::kRecentWindow accepted event times, so fewer than
  // `quorum` records among them (bad clocks) cannot move the watermark. 1
  // makes it the newest event time seen.
  int quorum = 4;
};

// Where `vigia run` reads and writes Kafka. docs/kafka.md.
struct KafkaConfig {
  std::string brokers;  // bootstrap.servers; --brokers overrides
  std::string posts_topic = "vigia.posts";
  std::string ads_topic = "vigia.ads";
  std::string dlq_topic = "vigia.dlq";
  std::string alerts_topic = "vigia.alerts";
  std::string group_id = "vigia";
  // group.instance.id of `vigia run`'s consumer (static membership); empty:
  // dynamic membership. "{hostname}" in it stands for the host's name.
  std::string instance_id;
  // The compacted topic detector state is checkpointed to (docs/state.md);
  // empty: no state checkpoints (every assignment starts empty).
  std::string state_topic = "vigia.state";
  // How often the daemon checkpoints: writes the detector state, then
  // commits the offsets it reflects. A restart re-reads at most this much.
  absl::Duration checkpoint_interval = absl::Seconds(30);
  // Forward the post and ad topics' records, keyed by target, through the
  // topics "<group_id>-posts-by-target" and "<group_id>-ads-by-target" and
  // detect on those: for feeds keyed other than by target (docs/kafka.md,
  // "Keying and scale-out"). Off: records keyed otherwise are counted.
  bool repartition = false;
  // librdkafka properties passed through unchanged (security.protocol,
  // sasl.*, ssl.*, tuning). Secret values never reach logs or `vigia config`.
  // Holds the values read from secret_files too.
  std::map<std::string, std::string> settings;
  // librdkafka properties whose value is the first line of a file (e.g.
  // sasl.password: /run/secrets/kafka-password), read when the config is
  // loaded. Their values are never printed, whatever the property's name.
  std::map<std::string, std::string> secret_files;
};

// The Alertmanager sink. docs/alertmanager.md.
struct AlertmanagerConfig {
  std::vector<std::string> urls;  // empty: no Alertmanager sink
  absl::Duration resend_interval = absl::Minutes(1);
  absl::Duration ttl = absl::ZeroDuration();   // zero: 4 * resend_interval
  absl::Duration min_hold = absl::Minutes(2);  // shortest life of an alert
  absl::Duration timeout = absl::Seconds(10);
  std::string runbook_base_url;
  std::string generator_url;
  bool drill = false;  // label every alert drill="true"
  // Credentials, each read from a file when the config is loaded and never
  // printed: basic authentication (basic_auth.username and .password_file)
  // or a bearer token (bearer_token_file), not both.
  std::string username;
  std::string password_file;
  std::string password;  // the file's first line
  std::string bearer_token_file;
  std::string bearer_token;  // the file's first line
  // CA certificates (PEM) that an https:// Alertmanager's certificate must
  // chain to, instead of the system's. Empty: the system's.
  std::string ca_file;
};

// Basic authentication on /metrics (docs/metrics.md). The secret is read
// from a file when the configuration is loaded, never written inline, and
// never printed.
struct MetricsAuthConfig {
  std::string username;  // empty: /metrics is served without authentication
  // Exactly one of the two names the file holding the secret.
  std::string password_file;       // the password itself
  std::string password_hash_file;  // its crypt(3) hash: bcrypt, yescrypt...
  // The file's first line: the password, or its hash when `hashed`.
  std::string secret;
  bool hashed = false;

  bool enabled() const { return !username.empty(); }
};
// TLS on the metrics port (docs/metrics.md): PEM files, read when the
// server starts and again when they change on disk.
struct MetricsTlsConfig {
  std::string cert_file;       // empty: plain HTTP
  std::string key_file;        // required with cert_file
  std::string client_ca_file;  // set: clients must present a certificate
                               // signed by one of these CAs (mutual TLS)

  bool enabled() const { return !cert_file.empty(); }
};

// The largest password or hash file read.
inline constexpr size_t kMaxMetricsSecretFileBytes = 4096;

// True when `hash` is a crypt(3) hash that this system can check
// (libxcrypt's bcrypt $2b$/$2y$, yescrypt $y$, sha512crypt $6$, ...) at a
// bounded cost: bcrypt cost at most kMaxBcryptCost (about a second),
// SHA-crypt rounds at most kMaxShaCryptRounds.
bool IsUsableCryptHash(const std::string& hash);
inline constexpr int kMaxBcryptCost = 14;
inline constexpr int64_t kMaxShaCryptRounds = 1'000'000;

struct Config {
  DecoderOptions decoder;
  WatermarkOptions watermark;
  int evidence_max_samples = 10;
  int evidence_top_n = 5;
  // One options block per detector in the registry (pipeline/detectors.cc),
  // which reads, hashes and builds each through its member here.
  ForeignOriginSurgeOptions foreign_origin_surge;
  CoordinatedSharingOptions coordinated_sharing;
  NewAccountBurstOptions new_account_burst;
  StateMediaAmplificationOptions state_media_amplification;
  ForeignShareOptions foreign_share;
  ForeignAdSpendOptions foreign_ad_spend;
  PostingClockOptions posting_clock;

  // Where the daemon connects and publishes. These say nothing about what
  // is detected, so they stay out of the hash: moving a broker or adding an
  // Alertmanager must not change alert ids.
  KafkaConfig kafka;
  AlertmanagerConfig alertmanager;
  std::string metrics_addr = "127.0.0.1:9464";
  MetricsAuthConfig metrics_auth;
  MetricsTlsConfig metrics_tls;

  // Lower-case hex SHA-256 of CanonicalConfig(*this): stamped on every alert
  // so a reader knows exactly which settings produced it.
  std::string hash() const;
};

// Returns the defaults: what vigia runs on with no config file.
Config DefaultConfig();

// Parses YAML text. `name` is used in error messages (usually the path).
absl::StatusOr<Config> ParseConfig(std::string_view yaml,
                                   std::string_view name);
// The largest config file read (1 MiB; the full example is 20 kB).
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// Reads and parses a file; one over kMaxConfigFileBytes is refused before
// parsing.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Configuration from the environment (docs/config.md "Environment"). Every
// key of the file is also the variable VIGIA_<KEY PATH>, upper-cased with
// '.' as '_': detectors.foreign_origin_surge.hop is
// VIGIA_DETECTORS_FOREIGN_ORIGIN_SURGE_HOP. A list or mapping value is
// written in YAML flow style ("[http://am-0:9093, http://am-1:9093]").
// Properties of the free-form mappings kafka.settings and kafka.secret_files
// are VIGIA_KAFKA_SETTINGS_<PROPERTY>, the property lower-cased with '_' as
// '.' (VIGIA_KAFKA_SETTINGS_SASL_MECHANISMS is sasl.mechanisms).
// Precedence: command-line flags > environment > config file > defaults.
struct EnvironmentKey {
  std::string variable;  // "VIGIA_DETECTORS_FOREIGN_ORIGIN_SURGE_HOP"
  std::string path;      // "detectors.foreign_origin_surge.hop"
  bool structured;       // a list or mapping: the value is YAML flow
};
// Every key settable from the environment, derived from the canonical forms
// of the defaults (CanonicalConfig, CanonicalConnections) so that a key added
// to the format is settable without further work; plus the optional
// sections those forms print only when set (metrics.basic_auth,
// alertmanager.basic_auth).
const std::vector<EnvironmentKey>& EnvironmentKeys();
// VIGIA_ variables that are not configuration: VIGIA_LOG_LEVEL (the log
// threshold, pipeline/core/log.h) and any VIGIA_TEST_* (tests). Any other
// VIGIA_ variable that names no key is an error, so a misspelt one is not
// silently ignored.
bool IsReservedEnvironmentVariable(std::string_view name);
// The "NAME=VALUE" strings of `environ` (or a test's list) that start with
// VIGIA_ and are not reserved, as (name, value) pairs.
std::vector<std::pair<std::string, std::string>> VigiaEnvironment(
    const char* const* environ_list);

// ParseConfig with `env` ((name, value) pairs of VIGIA_ variables) applied
// over the file's values. An error in a value set by a variable names it.
absl::StatusOr<Config> ParseConfigWithEnvironment(
    std::string_view yaml, std::string_view name,
    const std::vector<std::pair<std::string, std::string>>& env);
// The config file at `path` (empty: no file, only defaults) with `env`
// applied over it.
absl::StatusOr<Config> LoadConfigWithEnvironment(
    const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& env);

// A canonical text form of every effective detection setting (defaults
// included), in a fixed order: the input to Config::hash().
std::string CanonicalConfig(const Config& config);

// The connection settings (kafka, alertmanager, metrics) in the same form,
// with secret values redacted: what `vigia config` prints after the hash.
std::string CanonicalConnections(const Config& config);

// kafka.instance_id as `vigia run` uses it: every "{hostname}" replaced by
// `hostname` (a StatefulSet's pod name, a compose service's hostname).
std::string ExpandInstanceId(std::string_view pattern,
                             std::string_view hostname);

// True when a librdkafka property holds a secret (passwords, keys, tokens).
bool IsSecretKafkaSetting(std::string_view key);

// Returns `url` with its user information (the "user:password@" of basic
// authentication) replaced by "[redacted]", for anything printed.
std::string RedactUrlCredentials(std::string_view url);

// Returns the context operators are built with.
OperatorContext MakeOperatorContext(const Config& config);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CONFIG_H_
