#include "pipeline/kafka/settings.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

std::string Get(rd_kafka_conf_t* conf, const char* key) {
  char buf[512];
  size_t size = sizeof(buf);
  if (rd_kafka_conf_get(conf, key, buf, &size) != RD_KAFKA_CONF_OK) return "";
  return buf;
}

TEST(KafkaSettings, SecretsAreRecognisedByName) {
  EXPECT_TRUE(IsSecretSetting("sasl.password"));
  EXPECT_TRUE(IsSecretSetting("ssl.key.password"));
  EXPECT_TRUE(IsSecretSetting("ssl.keystore.password"));
  EXPECT_TRUE(IsSecretSetting("ssl.key.pem"));
  EXPECT_TRUE(IsSecretSetting("sasl.oauthbearer.client.secret"));
  EXPECT_TRUE(IsSecretSetting("sasl.oauthbearer.config"));
  EXPECT_TRUE(IsSecretSetting("SASL.PASSWORD"));
  // The other markers docs/kafka.md lists.
  EXPECT_TRUE(IsSecretSetting("sasl.oauthbearer.token"));
  EXPECT_TRUE(IsSecretSetting("sasl.jaas.config"));
  EXPECT_TRUE(IsSecretSetting("sasl.kerberos.credential.cache"));
  EXPECT_FALSE(IsSecretSetting("sasl.username"));
  EXPECT_FALSE(IsSecretSetting("security.protocol"));
  EXPECT_FALSE(IsSecretSetting("ssl.ca.location"));
}

TEST(KafkaSettings, RedactionHidesSecretValuesAndKeepsTheRest) {
  const std::string text = RedactSettings({{"sasl.password", "hunter2"},
                                           {"sasl.username", "vigia"},
                                           {"ssl.key.password", "s3cret"},
                                           {"security.protocol", "SASL_SSL"}});
  EXPECT_EQ(text,
            "sasl.password=[redacted], sasl.username=vigia, "
            "security.protocol=SASL_SSL, ssl.key.password=[redacted]");
}

TEST(KafkaSettings, RedactionCoversEveryMarkerTheDocsList) {
  // docs/kafka.md: any setting whose name contains password, secret, token,
  // key.pem, oauthbearer.config, sasl.jaas or credential.
  const KafkaSettings secrets = {
      {"sasl.password", "v-password"},
      {"sasl.oauthbearer.client.secret", "v-secret"},
      {"custom.access.token", "v-token"},
      {"ssl.key.pem", "v-keypem"},
      {"sasl.oauthbearer.config", "v-oauth"},
      {"sasl.jaas.config", "v-jaas"},
      {"custom.credential.file", "v-credential"},
  };
  KafkaSettings all = secrets;
  all["sasl.username"] = "vigia";
  const std::string text = RedactSettings(all);
  for (const auto& [key, value] : secrets) {
    EXPECT_THAT(text, HasSubstr(key + "=[redacted]"));
    EXPECT_THAT(text, ::testing::Not(HasSubstr(value)));
  }
  EXPECT_THAT(text, HasSubstr("sasl.username=vigia"));
}

TEST(KafkaSettings, OperatorSettingsOverrideDefaultsAndForcedOnesWin) {
  auto conf = MakeKafkaConf(
      {{"client.id", "default"}, {"linger.ms", "5"}},
      {{"client.id", "mine"}, {"enable.auto.offset.store", "true"}},
      {{"enable.auto.offset.store", "false"}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(Get(conf->get(), "client.id"), "mine");
  EXPECT_EQ(Get(conf->get(), "linger.ms"), "5");
  EXPECT_EQ(Get(conf->get(), "enable.auto.offset.store"), "false");
}

TEST(KafkaSettings, SecurityAndSaslSettingsPassThrough) {
  auto conf = MakeKafkaConf({},
                            {{"security.protocol", "SASL_PLAINTEXT"},
                             {"sasl.mechanisms", "PLAIN"},
                             {"sasl.username", "vigia"},
                             {"sasl.password", "hunter2"}},
                            {});
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(Get(conf->get(), "security.protocol"), "sasl_plaintext");
  EXPECT_EQ(Get(conf->get(), "sasl.username"), "vigia");
}

TEST(KafkaSettings, AnUnknownSettingIsRejectedByName) {
  auto conf = MakeKafkaConf({}, {{"no.such.setting", "1"}}, {});
  EXPECT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(conf.status().message()),
              HasSubstr("kafka setting no.such.setting"));
}

TEST(KafkaSettings, AnErrorOnASecretSettingShowsNeitherValueNorLibrdkafkaText) {
  // librdkafka rejects the unknown property; for a secret-looking name the
  // error must not relay its text, which may quote the value.
  auto conf = MakeKafkaConf({}, {{"custom.password", "hunter2"}}, {});
  EXPECT_EQ(conf.status(),
            absl::InvalidArgumentError(
                "kafka setting custom.password: invalid value [redacted]"));
}

TEST(KafkaSettings, AnErrorOnAPlainSettingKeepsLibrdkafkasExplanation) {
  auto conf = MakeKafkaConf({}, {{"security.protocol", "carrier-pigeon"}}, {});
  EXPECT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(conf.status().message()),
              HasSubstr("kafka setting security.protocol: "));
  EXPECT_THAT(std::string(conf.status().message()),
              HasSubstr("carrier-pigeon"));
}

}  // namespace
}  // namespace vigia
