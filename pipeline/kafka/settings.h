// librdkafka client settings: how vigia builds a client configuration from
// its own defaults plus the operator's passthrough `kafka:` map, and how it
// keeps secrets out of logs and error messages.
//
// Every librdkafka property (security.protocol, sasl.*, ssl.*, ...) passes
// through unchanged, so TLS and SASL work against a real cluster. Values of
// secret properties never appear in anything these functions return.
// Stateless free functions; thread-safe.
#ifndef VIGIA_PIPELINE_KAFKA_SETTINGS_H_
#define VIGIA_PIPELINE_KAFKA_SETTINGS_H_

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigia {

using KafkaSettings = std::map<std::string, std::string>;

// Returns true when the value of setting `key` is a secret: passwords,
// private keys, OAuth client secrets and configs, or anything whose name
// says "secret", "password" or "token".
bool IsSecretSetting(std::string_view key);

// Returns "key=value, ..." in key order with every secret value replaced by
// "[redacted]", for log lines.
std::string RedactSettings(const KafkaSettings& settings);

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using KafkaConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// Builds a configuration by applying, in order, `defaults`, then the
// operator's `settings` (which win over defaults), then `forced` (what the
// caller's correctness depends on, e.g. enable.auto.offset.store=false; an
// operator's different value is overridden and logged). Returns
// InvalidArgument naming the property (never a secret value) when librdkafka
// rejects one.
absl::StatusOr<KafkaConfPtr> MakeKafkaConf(const KafkaSettings& defaults,
                                           const KafkaSettings& settings,
                                           const KafkaSettings& forced);

// Sends librdkafka's own log lines to vigia's log (stderr) at matching
// levels instead of librdkafka's default printer.
void RouteKafkaLogs(rd_kafka_conf_t* conf);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_SETTINGS_H_
