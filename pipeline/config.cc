#include "pipeline/config.h"

#include <crypt.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "pipeline/core/canonical_writer.h"
#include "pipeline/core/country.h"
#include "pipeline/core/files.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/yaml_config.h"
#include "pipeline/detectors.h"
#include "pipeline/watermark.h"

namespace vigia {
namespace {

// Alertmanager gets every firing alert again each resend_interval.
constexpr absl::Duration kMinResendInterval = absl::Seconds(1);

// ---------------------------------------------------------------------------
// Sections.
// ---------------------------------------------------------------------------

// Reads the first line of a password or hash file named by `node`.
absl::StatusOr<std::string> ReadSecretFile(const ConfigNode& node,
                                           const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxMetricsSecretFileBytes, "secret file");
  if (!text.ok()) return node.Error(FromAbsl(text.status().message()));
  std::string secret = *std::move(text);
  // One line; its end (a text editor's newline, a CRLF) is not part of it.
  const size_t eol = secret.find_first_of("\r\n");
  if (eol != std::string::npos) {
    if (secret.find_first_not_of("\r\n", eol) != std::string::npos) {
      return node.Error(absl::StrCat(path, " must hold a single line"));
    }
    secret.resize(eol);
  }
  if (secret.empty()) return node.Error(absl::StrCat(path, " is empty"));
  return secret;
}

// Reads the secret file named by the string at `node` into *path and
// *secret.
absl::Status TakeSecretFile(const ConfigNode& node, std::string* path,
                            std::string* secret) {
  absl::StatusOr<std::string> name = node.String();
  if (!name.ok()) return name.status();
  if (name->empty()) return node.Error("must name a file");
  absl::StatusOr<std::string> value = ReadSecretFile(node, *name);
  if (!value.ok()) return value.status();
  *path = *std::move(name);
  *secret = *std::move(value);
  return absl::OkStatus();
}

absl::Status ParseKafka(ConfigMap& m, KafkaConfig* out) {
  VIGIA_RETURN_IF_ERROR(m.Str("brokers", &out->brokers));
  VIGIA_RETURN_IF_ERROR(m.Str("group_id", &out->group_id));
  for (auto [key, field] : {std::pair{"posts_topic", &out->posts_topic},
                            std::pair{"ads_topic", &out->ads_topic},
                            std::pair{"dlq_topic", &out->dlq_topic},
                            std::pair{"alerts_topic", &out->alerts_topic}}) {
    VIGIA_RETURN_IF_ERROR(m.Str(key, field));
    if (field->empty()) return m.ErrorAt(key, "must not be empty");
  }
  if (out->group_id.empty()) return m.ErrorAt("group_id", "must not be empty");
  // May be empty: dynamic membership.
  VIGIA_RETURN_IF_ERROR(m.Str("instance_id", &out->instance_id));
  // May be empty: no state checkpoints.
  VIGIA_RETURN_IF_ERROR(m.Str("state_topic", &out->state_topic));
  VIGIA_RETURN_IF_ERROR(m.Duration("checkpoint_interval", Bound::kPositive,
                                   &out->checkpoint_interval));
  VIGIA_RETURN_IF_ERROR(m.Bool("repartition", &out->repartition));
  VIGIA_RETURN_IF_ERROR(m.Section("settings", [out](ConfigMap& s) {
    return s.ForEach([out](const std::string& key, const ConfigNode& value) {
      if (!value.yaml().IsScalar()) {
        return value.TypeError("a string, number or boolean");
      }
      out->settings[key] = value.yaml().Scalar();
      return absl::OkStatus();
    });
  }));
  if (!out->instance_id.empty() && out->settings.count("group.instance.id")) {
    return m.ErrorAt("instance_id",
                     "kafka.settings sets group.instance.id too: give one of "
                     "them");
  }
  return m.Section("secret_files", [out](ConfigMap& s) {
    return s.ForEach([out](const std::string& key, const ConfigNode& value) {
      // Only properties the daemon's logs redact by name, so the value read
      // here never reaches a log line.
      if (!IsSecretKafkaSetting(key)) {
        return value.Error(
            "is not a secret librdkafka property (password, secret, token, "
            "key...): give its value in kafka.settings");
      }
      if (out->settings.count(key) > 0) {
        return value.Error("is also set in kafka.settings: give one of them");
      }
      std::string path;
      std::string secret;
      VIGIA_RETURN_IF_ERROR(TakeSecretFile(value, &path, &secret));
      out->secret_files[key] = std::move(path);
      out->settings[key] = std::move(secret);
      return absl::OkStatus();
    });
  });
}

absl::Status ParseAlertmanager(ConfigMap& m, AlertmanagerConfig* out) {
  if (std::optional<ConfigNode> urls = m.Take("urls"); urls.has_value()) {
    absl::StatusOr<std::vector<ConfigNode>> elements = urls->Elements();
    if (!elements.ok()) return elements.status();
    out->urls.clear();
    for (const ConfigNode& element : *elements) {
      absl::StatusOr<std::string> url = element.String();
      if (!url.ok()) return url.status();
      if (!absl::StartsWith(*url, "http://") &&
          !absl::StartsWith(*url, "https://")) {
        return element.Error("must start with http:// or https://");
      }
      out->urls.push_back(*std::move(url));
    }
  }
  VIGIA_RETURN_IF_ERROR(
      m.Duration("resend_interval", Bound::kPositive, &out->resend_interval));
  if (out->resend_interval < kMinResendInterval) {
    return m.ErrorAt("resend_interval",
                     absl::StrCat("must be at least ",
                                  absl::FormatDuration(kMinResendInterval)));
  }
  VIGIA_RETURN_IF_ERROR(m.Duration("ttl", Bound::kNonNegative, &out->ttl));
  if (out->ttl != absl::ZeroDuration() && out->ttl < out->resend_interval) {
    return m.ErrorAt("ttl", "must be at least resend_interval (or 0)");
  }
  VIGIA_RETURN_IF_ERROR(
      m.Duration("min_hold", Bound::kNonNegative, &out->min_hold));
  const absl::Duration ttl =
      out->ttl == absl::ZeroDuration() ? 4 * out->resend_interval : out->ttl;
  if (out->min_hold > ttl) {
    return m.ErrorAt("min_hold",
                     "must not exceed ttl (4 * resend_interval "
                     "when ttl is 0)");
  }
  VIGIA_RETURN_IF_ERROR(m.Duration("timeout", Bound::kPositive, &out->timeout));
  VIGIA_RETURN_IF_ERROR(m.Str("runbook_base_url", &out->runbook_base_url));
  VIGIA_RETURN_IF_ERROR(m.Str("generator_url", &out->generator_url));
  VIGIA_RETURN_IF_ERROR(m.Bool("drill", &out->drill));
  if (m.Has("basic_auth")) {
    VIGIA_RETURN_IF_ERROR(m.Section("basic_auth", [out](ConfigMap& a) {
      VIGIA_RETURN_IF_ERROR(a.Str("username", &out->username));
      if (out->username.empty()) {
        return a.ErrorAt("username", "is required with basic_auth");
      }
      if (out->username.find(':') != std::string::npos) {
        return a.ErrorAt("username", "must not contain ':'");
      }
      std::optional<ConfigNode> file = a.Take("password_file");
      if (!file.has_value()) {
        return a.ErrorAt("password_file",
                         "is required with basic_auth (no inline passwords)");
      }
      return TakeSecretFile(*file, &out->password_file, &out->password);
    }));
  }
  if (std::optional<ConfigNode> file = m.Take("bearer_token_file");
      file.has_value() &&
      !(file->yaml().IsScalar() && file->yaml().Scalar().empty())) {
    if (!out->username.empty()) {
      return file->Error("give basic_auth or bearer_token_file, not both");
    }
    VIGIA_RETURN_IF_ERROR(
        TakeSecretFile(*file, &out->bearer_token_file, &out->bearer_token));
  }
  if (std::optional<ConfigNode> file = m.Take("ca_file"); file.has_value()) {
    absl::StatusOr<std::string> path = file->String();
    if (!path.ok()) return path.status();
    if (!path->empty()) {
      absl::StatusOr<std::string> pem =
          ReadFileToString(*path, kMaxConfigFileBytes, "CA file");
      if (!pem.ok()) return file->Error(FromAbsl(pem.status().message()));
      if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        return file->Error(absl::StrCat(*path, " holds no PEM certificate"));
      }
    }
    out->ca_file = *std::move(path);
  }
  // Credentials in a URL and in files would be sent twice, one of them
  // unseen by whoever reads the config.
  if (!out->username.empty() || !out->bearer_token.empty()) {
    for (const std::string& url : out->urls) {
      if (RedactUrlCredentials(url) != url) {
        return m.ErrorAt("urls",
                         "carries user:password@ as well as basic_auth or "
                         "bearer_token_file: give the credentials once");
      }
    }
  }
  return absl::OkStatus();
}

// "host:port" with a port of digits only.
bool IsHostAndNumericPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  return std::all_of(address.begin() + colon + 1, address.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

absl::Status ParseMetricsAuth(ConfigMap& m, MetricsAuthConfig* out) {
  VIGIA_RETURN_IF_ERROR(m.Str("username", &out->username));
  if (out->username.empty()) {
    return m.ErrorAt("username", "is required with basic_auth");
  }
  if (out->username.find(':') != std::string::npos) {
    return m.ErrorAt("username", "must not contain ':'");
  }
  const bool plain = m.Has("password_file");
  const bool hashed = m.Has("password_hash_file");
  if (plain == hashed) {
    return m.ErrorAt(plain ? "password_hash_file" : "password_file",
                     "basic_auth needs exactly one of password_file and "
                     "password_hash_file (no inline passwords)");
  }
  const char* key = plain ? "password_file" : "password_hash_file";
  std::optional<ConfigNode> node = m.Take(key);
  absl::StatusOr<std::string> path = node->String();
  if (!path.ok()) return path.status();
  if (path->empty()) return node->Error("must name a file");
  (plain ? out->password_file : out->password_hash_file) = *path;
  // Read now, so that a missing or bad file stops vigia at start-up (and
  // `vigia config` reports it), not at the first scrape.
  absl::StatusOr<std::string> secret = ReadSecretFile(*node, *path);
  if (!secret.ok()) return secret.status();
  out->secret = *std::move(secret);
  out->hashed = hashed;
  if (hashed && !IsUsableCryptHash(out->secret)) {
    return node->Error(absl::StrCat(
        *path,
        " does not hold a crypt(3) hash this system can check (e.g. bcrypt "
        "from `htpasswd -nB USER` or sha512crypt from `openssl passwd -6`)"));
  }
  return absl::OkStatus();
}

// The largest certificate, key or CA file read (a CA bundle such as
// Debian's ca-certificates.crt is about 200 kB).
constexpr size_t kMaxTlsFileBytes = 4 << 20;

// metrics.tls: the files must name something readable; whether they hold
// a usable certificate and key is checked when the server starts.
absl::Status ParseMetricsTls(ConfigMap& m, MetricsTlsConfig* out) {
  for (auto [key, field] :
       {std::pair{"cert_file", &out->cert_file},
        std::pair{"key_file", &out->key_file},
        std::pair{"client_ca_file", &out->client_ca_file}}) {
    std::optional<ConfigNode> node = m.Take(key);
    if (!node.has_value()) continue;
    absl::StatusOr<std::string> path = node->String();
    if (!path.ok()) return path.status();
    if (path->empty()) return node->Error("must name a file");
    absl::StatusOr<std::string> text =
        ReadFileToString(*path, kMaxTlsFileBytes, "TLS file");
    if (!text.ok()) return node->Error(FromAbsl(text.status().message()));
    *field = *std::move(path);
  }
  if (out->cert_file.empty() || out->key_file.empty()) {
    return m.ErrorAt(out->cert_file.empty() ? "cert_file" : "key_file",
                     "is required with tls (cert_file and key_file)");
  }
  return absl::OkStatus();
}

absl::Status ParseRoot(ConfigMap& root, Config* config) {
  VIGIA_RETURN_IF_ERROR(root.Section("kafka", [config](ConfigMap& m) {
    return ParseKafka(m, &config->kafka);
  }));
  VIGIA_RETURN_IF_ERROR(root.Section("alertmanager", [config](ConfigMap& m) {
    return ParseAlertmanager(m, &config->alertmanager);
  }));
  VIGIA_RETURN_IF_ERROR(root.Section("metrics", [config](ConfigMap& m) {
    VIGIA_RETURN_IF_ERROR(m.Str("addr", &config->metrics_addr));
    if (!config->metrics_addr.empty() &&
        !IsHostAndNumericPort(config->metrics_addr)) {
      // A port suffix ("9464s" meant TLS to servers like civetweb) is
      // refused, not ignored: TLS is the tls section's business.
      return m.ErrorAt("addr", "must be HOST:PORT (or empty for none)");
    }
    if (m.Has("basic_auth")) {
      VIGIA_RETURN_IF_ERROR(m.Section("basic_auth", [config](ConfigMap& a) {
        return ParseMetricsAuth(a, &config->metrics_auth);
      }));
    }
    if (m.Has("tls")) {
      VIGIA_RETURN_IF_ERROR(m.Section("tls", [config](ConfigMap& t) {
        return ParseMetricsTls(t, &config->metrics_tls);
      }));
    }
    return absl::OkStatus();
  }));
  VIGIA_RETURN_IF_ERROR(root.Section("decoder", [config](ConfigMap& m) {
    return m.Int("max_event_bytes", 1, int64_t{1} << 30,
                 &config->decoder.max_event_bytes);
  }));
  VIGIA_RETURN_IF_ERROR(root.Section("watermark", [config](ConfigMap& m) {
    WatermarkOptions& w = config->watermark;
    VIGIA_RETURN_IF_ERROR(m.Duration(
        "max_out_of_orderness", Bound::kNonNegative, &w.max_out_of_orderness));
    VIGIA_RETURN_IF_ERROR(m.Duration("allowed_lateness", Bound::kNonNegative,
                                     &w.allowed_lateness));
    VIGIA_RETURN_IF_ERROR(
        m.Duration("idle_timeout", Bound::kPositive, &w.idle_timeout));
    VIGIA_RETURN_IF_ERROR(
        m.Duration("end_grace", Bound::kNonNegative, &w.end_grace));
    VIGIA_RETURN_IF_ERROR(
        m.Duration("max_clock_lead", Bound::kPositive, &w.max_clock_lead));
    VIGIA_RETURN_IF_ERROR(
        m.Duration("max_lead", Bound::kPositive, &w.max_lead));
    VIGIA_RETURN_IF_ERROR(
        m.Int("quorum", 1, WatermarkTracker::kRecentWindow, &w.quorum));
    VIGIA_RETURN_IF_ERROR(m.Int("gap_quorum", 1, 100000, &w.gap_quorum));
    if (w.gap_quorum < w.quorum) {
      return m.ErrorAt("gap_quorum",
                       absl::StrCat("must be at least quorum (", w.quorum,
                                    "): a gap is taken on that many records"));
    }
    return absl::OkStatus();
  }));
  VIGIA_RETURN_IF_ERROR(root.Section("evidence", [config](ConfigMap& m) {
    VIGIA_RETURN_IF_ERROR(
        m.Int("max_samples", 0, 1000, &config->evidence_max_samples));
    return m.Int("top_n", 0, 1000, &config->evidence_top_n);
  }));
  return root.Section("detectors", [config](ConfigMap& m) {
    for (const DetectorDescriptor& detector : Detectors()) {
      VIGIA_RETURN_IF_ERROR(
          m.Section(detector.name, [&detector, config](ConfigMap& d) {
            return detector.parse(d, *config);
          }));
    }
    return absl::OkStatus();
  });
}

using EnvList = std::vector<std::pair<std::string, std::string>>;

// The key path and kind a VIGIA_ variable sets, or an error naming it.
absl::StatusOr<std::pair<std::string, bool>> EnvironmentPath(
    const std::string& variable) {
  for (const EnvironmentKey& key : EnvironmentKeys()) {
    if (key.variable == variable)
      return std::make_pair(key.path, key.structured);
  }
  // The free-form mappings: the rest of the name is the property.
  for (const char* section : {"kafka.settings", "kafka.secret_files"}) {
    std::string prefix = absl::StrCat(
        "VIGIA_",
        absl::AsciiStrToUpper(absl::StrReplaceAll(section, {{".", "_"}})), "_");
    if (absl::StartsWith(variable, prefix) && variable.size() > prefix.size()) {
      std::string property = absl::AsciiStrToLower(
          absl::StrReplaceAll(variable.substr(prefix.size()), {{"_", "."}}));
      return std::make_pair(absl::StrCat(section, ".", property), false);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "environment variable ", variable,
      " names no configuration key (docs/config.md \"Environment\"; "
      "VIGIA_LOG_LEVEL and VIGIA_TEST_* are the only other VIGIA_ "
      "variables)"));
}

// Sets each variable's value at its key path in `root` (a mapping),
// creating sections as needed. Records (variable, path) in *applied.
absl::Status ApplyEnvironment(const EnvList& env, YAML::Node& root,
                              EnvList* applied) {
  for (const auto& [variable, value] : env) {
    absl::StatusOr<std::pair<std::string, bool>> target =
        EnvironmentPath(variable);
    if (!target.ok()) return target.status();
    const auto& [path, structured] = *target;
    // kafka.settings.<property>: the property (with its dots) is one key.
    std::vector<std::string> parts;
    for (const char* section : {"kafka.settings.", "kafka.secret_files."}) {
      if (absl::StartsWith(path, section)) {
        parts = {"kafka",
                 std::string(absl::StripSuffix(
                     absl::StripPrefix(section, "kafka."), ".")),
                 path.substr(std::string_view(section).size())};
      }
    }
    if (parts.empty()) parts = absl::StrSplit(path, '.');
    YAML::Node node;
    if (structured) {
      try {
        node = YAML::Load(value);
      } catch (const YAML::Exception& e) {
        return absl::InvalidArgumentError(absl::StrCat(
            "environment variable ", variable, " (", path,
            "): not a YAML flow value such as [a, b] or {k: v}: ", e.msg));
      }
    } else {
      node = YAML::Node(value);
    }
    // yaml-cpp's Node::operator= writes through to the node referred to;
    // reset() moves the handle, which is what walking down needs.
    YAML::Node section;
    section.reset(root);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node child;
      child.reset(section[parts[i]]);
      if (!child.IsDefined() || child.IsNull()) {
        section[parts[i]] = YAML::Node(YAML::NodeType::Map);
        child.reset(section[parts[i]]);
      }
      if (!child.IsMap()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "environment variable ", variable, " (", path,
            "): ", absl::StrJoin(parts.begin(), parts.begin() + i + 1, "."),
            " is not a section in the config file"));
      }
      section.reset(child);
    }
    section[parts.back()] = node;
    applied->emplace_back(variable, path);
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseConfigOrThrow(std::string_view yaml,
                                          std::string_view name,
                                          const EnvList& env) {
  std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
  if (documents.size() > 1) {
    return ConfigNode(documents[1], "", ConfigNode::LineOf(documents[1], 0),
                      name)
        .Error("only one YAML document is allowed");
  }
  Config config = DefaultConfig();
  if (documents.empty()) {
    if (env.empty()) return config;
    documents.push_back(YAML::Node(YAML::NodeType::Map));
  }
  EnvList applied;
  if (!env.empty()) {
    if (documents[0].IsNull()) documents[0] = YAML::Node(YAML::NodeType::Map);
    if (documents[0].IsMap()) {
      VIGIA_RETURN_IF_ERROR(ApplyEnvironment(env, documents[0], &applied));
    }
  }
  const ConfigNode root_node(documents[0], "",
                             ConfigNode::LineOf(documents[0], 1), name);
  absl::Status parsed = [&]() -> absl::Status {
    absl::StatusOr<ConfigMap> root = ConfigMap::Of(root_node);
    if (!root.ok()) return root.status();
    VIGIA_RETURN_IF_ERROR(ParseRoot(*root, &config));
    return root->CheckNoUnknownKeys();
  }();
  if (!parsed.ok()) {
    // A value from the environment has no line of its own: name the
    // variable that set it (its path, or a section above it, is in the
    // message).
    for (const auto& [variable, path] : applied) {
      const std::string message(parsed.message());
      if (absl::StrContains(message, absl::StrCat(" ", path, ":")) ||
          absl::StrContains(message, absl::StrCat(" ", path, "."))) {
        return absl::InvalidArgumentError(absl::StrCat(
            message, " (set by environment variable ", variable, ")"));
      }
    }
    return parsed;
  }
  return config;
}

}  // namespace

std::string Config::hash() const { return Sha256Hex(CanonicalConfig(*this)); }

Config DefaultConfig() { return Config{}; }

absl::StatusOr<Config> ParseConfig(std::string_view yaml,
                                   std::string_view name) {
  // yaml-cpp reports syntax errors (and a few others) by throwing; nothing
  // may escape this function.
  return ParseConfigWithEnvironment(yaml, name, {});
}

absl::StatusOr<Config> ParseConfigWithEnvironment(
    std::string_view yaml, std::string_view name,
    const std::vector<std::pair<std::string, std::string>>& env) {
  try {
    return ParseConfigOrThrow(yaml, name, env);
  } catch (const YAML::Exception& e) {
    std::string where(name);
    if (!e.mark.is_null()) absl::StrAppend(&where, ":", e.mark.line + 1);
    const bool syntax =
        dynamic_cast<const YAML::ParserException*>(&e) != nullptr;
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", syntax ? "YAML syntax error: " : "", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(name), ": cannot parse: ", e.what()));
  }
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxConfigFileBytes, "config");
  if (!text.ok()) return text.status();
  return ParseConfig(*text, path);
}

absl::StatusOr<Config> LoadConfigWithEnvironment(
    const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& env) {
  if (path.empty()) {
    return ParseConfigWithEnvironment("", "environment", env);
  }
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxConfigFileBytes, "config");
  if (!text.ok()) return text.status();
  return ParseConfigWithEnvironment(*text, path, env);
}

const std::vector<EnvironmentKey>& EnvironmentKeys() {
  static const std::vector<EnvironmentKey>* const keys = [] {
    // "path = value" lines of the defaults. A ladder prints as
    // "x.levels.count = 3" and "x.levels[0].severity = info": its key is
    // "x.levels", a list.
    std::vector<std::pair<std::string, bool>> paths;
    std::set<std::string> seen;
    const Config defaults = DefaultConfig();
    const std::string canonical = absl::StrCat(CanonicalConfig(defaults), "\n",
                                               CanonicalConnections(defaults));
    for (absl::string_view line :
         absl::StrSplit(canonical, '\n', absl::SkipEmpty())) {
      const size_t eq = line.find(" = ");
      if (eq == absl::string_view::npos) continue;
      std::string path(line.substr(0, eq));
      const absl::string_view value = line.substr(eq + 3);
      bool structured =
          absl::StartsWith(value, "[") || absl::StartsWith(value, "{");
      if (const size_t bracket = path.find('['); bracket != std::string::npos) {
        path.resize(bracket);
        structured = true;
      } else if (absl::EndsWith(path, ".count") &&
                 absl::StrContains(
                     canonical,
                     absl::StrCat(path.substr(0, path.size() - 6), "["))) {
        continue;  // the ladder's length, printed before its rungs
      }
      // The free-form mappings take their keys from the variable's name.
      if (path == "kafka.settings" || path == "kafka.secret_files") continue;
      if (seen.insert(path).second) paths.emplace_back(path, structured);
    }
    // Sections printed only when set.
    for (const char* optional :
         {"metrics.basic_auth.username", "metrics.basic_auth.password_file",
          "metrics.basic_auth.password_hash_file",
          "alertmanager.basic_auth.username",
          "alertmanager.basic_auth.password_file"}) {
      if (seen.insert(optional).second) paths.emplace_back(optional, false);
    }
    auto* out = new std::vector<EnvironmentKey>();
    for (const auto& [path, structured] : paths) {
      out->push_back(
          {absl::StrCat("VIGIA_", absl::AsciiStrToUpper(
                                      absl::StrReplaceAll(path, {{".", "_"}}))),
           path, structured});
    }
    return out;
  }();
  return *keys;
}

bool IsReservedEnvironmentVariable(std::string_view name) {
  return name == "VIGIA_LOG_LEVEL" ||
         absl::StartsWith(ToAbsl(name), "VIGIA_TEST_");
}

std::vector<std::pair<std::string, std::string>> VigiaEnvironment(
    const char* const* environ_list) {
  std::vector<std::pair<std::string, std::string>> out;
  if (environ_list == nullptr) return out;
  for (const char* const* e = environ_list; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = entry.substr(0, eq);
    if (!absl::StartsWith(ToAbsl(name), "VIGIA_") ||
        IsReservedEnvironmentVariable(name)) {
      continue;
    }
    out.emplace_back(std::string(name), std::string(entry.substr(eq + 1)));
  }
  // A fixed order, so that errors and precedence do not depend on the
  // environment's.
  std::sort(out.begin(), out.end());
  return out;
}

std::string CanonicalConfig(const Config& c) {
  CanonicalWriter w;
  w.Add("decoder.max_event_bytes",
        static_cast<int64_t>(c.decoder.max_event_bytes));
  w.Add("watermark.max_out_of_orderness", c.watermark.max_out_of_orderness);
  w.Add("watermark.allowed_lateness", c.watermark.allowed_lateness);
  w.Add("watermark.idle_timeout", c.watermark.idle_timeout);
  w.Add("watermark.end_grace", c.watermark.end_grace);
  w.Add("watermark.max_clock_lead", c.watermark.max_clock_lead);
  w.Add("watermark.max_lead", c.watermark.max_lead);
  w.Add("watermark.quorum", c.watermark.quorum);
  w.Add("watermark.gap_quorum", c.watermark.gap_quorum);
  w.Add("evidence.max_samples", c.evidence_max_samples);
  w.Add("evidence.top_n", c.evidence_top_n);

  for (const DetectorDescriptor& detector : Detectors()) {
    detector.write_canonical(c, detector.config_path(), w);
  }
  return w.Release();
}

bool IsUsableCryptHash(const std::string& hash) {
  // Legacy methods (DES, MD5) are refused: DES checks 8 characters only.
  if (hash.empty() || hash[0] != '$') return false;
  if (crypt_checksalt(hash.c_str()) != CRYPT_SALT_OK) return false;
  // Every scrape with a new password pays one check, and loading the
  // config one more: a cost of hours (bcrypt's 31, a billion SHA rounds)
  // is refused rather than run.
  if (absl::StartsWith(hash, "$2") && hash.size() > 7 && hash[3] == '$') {
    int cost = 0;
    if (!absl::SimpleAtoi(hash.substr(4, 2), &cost) || cost > kMaxBcryptCost) {
      return false;
    }
  }
  for (const char* prefix : {"$5$rounds=", "$6$rounds="}) {
    if (!absl::StartsWith(hash, prefix)) continue;
    const size_t start = std::string_view(prefix).size();
    int64_t rounds = 0;
    if (!absl::SimpleAtoi(hash.substr(start, hash.find('$', start) - start),
                          &rounds) ||
        rounds > kMaxShaCryptRounds) {
      return false;
    }
  }
  // crypt_checksalt accepts a bare setting ("$2b$10$" and a salt) too; a
  // whole hash is as long as what crypt() makes from it.
  struct crypt_data data {};
  const char* probe = crypt_rn("", hash.c_str(), &data, sizeof(data));
  return probe != nullptr && probe[0] == '$' &&
         std::string_view(probe).size() == hash.size();
}

bool IsSecretKafkaSetting(std::string_view key) {
  const std::string k = absl::AsciiStrToLower(ToAbsl(key));
  for (const char* marker : {"password", "secret", "token", "key.pem",
                             "oauthbearer.config", "sasl.jaas", "credential"}) {
    if (absl::StrContains(k, marker)) return true;
  }
  return false;
}

std::string RedactUrlCredentials(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t host = scheme + 3;
  const size_t end = url.find_first_of("/?#", host);
  const size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return absl::StrCat(ToAbsl(url.substr(0, host)), "[redacted]",
                      ToAbsl(url.substr(at)));
}

std::string ExpandInstanceId(std::string_view pattern,
                             std::string_view hostname) {
  return absl::StrReplaceAll(ToAbsl(pattern),
                             {{"{hostname}", ToAbsl(hostname)}});
}

std::string CanonicalConnections(const Config& c) {
  CanonicalWriter w;
  const KafkaConfig& k = c.kafka;
  w.Add("kafka.brokers", k.brokers);
  w.Add("kafka.group_id", k.group_id);
  w.Add("kafka.instance_id", k.instance_id);
  w.Add("kafka.posts_topic", k.posts_topic);
  w.Add("kafka.ads_topic", k.ads_topic);
  w.Add("kafka.dlq_topic", k.dlq_topic);
  w.Add("kafka.alerts_topic", k.alerts_topic);
  w.Add("kafka.state_topic", k.state_topic);
  w.Add("kafka.checkpoint_interval", k.checkpoint_interval);
  w.Add("kafka.repartition", k.repartition);
  for (const auto& [key, value] : k.settings) {
    if (k.secret_files.count(key) > 0) continue;  // printed as its file
    w.Add(absl::StrCat("kafka.settings.", key),
          IsSecretKafkaSetting(key) ? std::string("[redacted]") : value);
  }
  if (k.secret_files.empty()) w.Add("kafka.secret_files", std::string("{}"));
  for (const auto& [key, path] : k.secret_files) {
    w.Add(absl::StrCat("kafka.secret_files.", key), path);
  }
  const AlertmanagerConfig& a = c.alertmanager;
  // Alertmanager URLs may carry basic-auth credentials: `vigia run` masks
  // them in its logs, and `vigia config` printed them in clear.
  std::vector<std::string> urls;
  for (const std::string& url : a.urls)
    urls.push_back(RedactUrlCredentials(url));
  w.Add("alertmanager.urls", absl::StrCat("[", absl::StrJoin(urls, ", "), "]"));
  w.Add("alertmanager.resend_interval", a.resend_interval);
  w.Add("alertmanager.ttl", a.ttl);
  w.Add("alertmanager.min_hold", a.min_hold);
  w.Add("alertmanager.timeout", a.timeout);
  w.Add("alertmanager.runbook_base_url",
        RedactUrlCredentials(a.runbook_base_url));
  w.Add("alertmanager.generator_url", RedactUrlCredentials(a.generator_url));
  w.Add("alertmanager.drill", a.drill);
  // The file names only, as for metrics.basic_auth.
  if (!a.username.empty()) {
    w.Add("alertmanager.basic_auth.username", a.username);
    w.Add("alertmanager.basic_auth.password_file", a.password_file);
  }
  w.Add("alertmanager.bearer_token_file", a.bearer_token_file);
  w.Add("alertmanager.ca_file", a.ca_file);
  w.Add("metrics.addr", c.metrics_addr);
  // The file names only: what they hold never leaves the process.
  if (c.metrics_auth.enabled()) {
    const MetricsAuthConfig& a = c.metrics_auth;
    w.Add("metrics.basic_auth.username", a.username);
    if (a.hashed) {
      w.Add("metrics.basic_auth.password_hash_file", a.password_hash_file);
    } else {
      w.Add("metrics.basic_auth.password_file", a.password_file);
    }
  }
  if (c.metrics_tls.enabled()) {
    const MetricsTlsConfig& t = c.metrics_tls;
    w.Add("metrics.tls.cert_file", t.cert_file);
    w.Add("metrics.tls.key_file", t.key_file);
    if (!t.client_ca_file.empty()) {
      w.Add("metrics.tls.client_ca_file", t.client_ca_file);
    }
  }
  return w.Release();
}

OperatorContext MakeOperatorContext(const Config& config) {
  OperatorContext context;
  context.config_hash = config.hash();
  context.max_samples = config.evidence_max_samples;
  context.top_n = config.evidence_top_n;
  return context;
}

}  // namespace vigia
