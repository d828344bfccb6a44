#include "pipeline/kafka/settings.h"

#include "absl/strings/str_cat.h"
#include "pipeline/config.h"
#include "pipeline/core/log.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

absl::Status Set(rd_kafka_conf_t* conf, const std::string& key,
                 const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr,
                        sizeof(errstr)) == RD_KAFKA_CONF_OK) {
    return absl::OkStatus();
  }
  // librdkafka's message may quote the value, so a secret's is not shown.
  if (IsSecretSetting(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka setting ", key, ": invalid value [redacted]"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("kafka setting ", key, ": ", errstr));
}

void LogFromKafka(const rd_kafka_t* rk, int level, const char* facility,
                  const char* message) {
  // syslog levels: 0-3 errors, 4 warning, 5-6 notice/info, 7 debug.
  const char* name = rk != nullptr ? rd_kafka_name(rk) : "kafka";
  if (level <= 3) {
    VIGIA_LOG(ERROR) << name << " " << facility << ": " << message;
  } else if (level == 4) {
    VIGIA_LOG(WARNING) << name << " " << facility << ": " << message;
  } else if (level <= 6) {
    VIGIA_LOG(INFO) << name << " " << facility << ": " << message;
  } else {
    VIGIA_LOG(DEBUG) << name << " " << facility << ": " << message;
  }
}

}  // namespace

void RouteKafkaLogs(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, &LogFromKafka);
}

bool IsSecretSetting(std::string_view key) { return IsSecretKafkaSetting(key); }

std::string RedactSettings(const KafkaSettings& settings) {
  std::string out;
  for (const auto& [key, value] : settings) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", key, "=",
                    IsSecretSetting(key) ? "[redacted]" : value);
  }
  return out;
}

absl::StatusOr<KafkaConfPtr> MakeKafkaConf(const KafkaSettings& defaults,
                                           const KafkaSettings& settings,
                                           const KafkaSettings& forced) {
  KafkaConfPtr conf(rd_kafka_conf_new());
  for (const KafkaSettings* layer : {&defaults, &settings}) {
    for (const auto& [key, value] : *layer) {
      if (absl::Status s = Set(conf.get(), key, value); !s.ok()) return s;
    }
  }
  for (const auto& [key, value] : forced) {
    auto it = settings.find(key);
    if (it != settings.end() && it->second != value) {
      VIGIA_LOG(WARNING) << "kafka setting " << key << " is fixed at " << value
                         << " (vigia's delivery guarantees need it);"
                         << " ignoring the configured value";
    }
    if (absl::Status s = Set(conf.get(), key, value); !s.ok()) return s;
  }
  return conf;
}

}  // namespace vigia
