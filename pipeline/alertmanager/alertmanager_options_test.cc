#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/alertmanager/alertmanager_sink.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

AlertmanagerOptions Valid() {
  AlertmanagerOptions o;
  o.urls = {"http://127.0.0.1:9093"};
  return o;
}

void ExpectInvalid(const AlertmanagerOptions& o, const std::string& needle) {
  const absl::Status s = ValidateAlertmanagerOptions(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(needle));
}

TEST(ValidateAlertmanagerOptions, AcceptsTheDefaultsWithOneUrl) {
  EXPECT_TRUE(ValidateAlertmanagerOptions(Valid()).ok());
}

TEST(ValidateAlertmanagerOptions, RejectsNoUrls) {
  ExpectInvalid(AlertmanagerOptions(), "no urls");
}

TEST(ValidateAlertmanagerOptions, RejectsANonHttpUrlWithoutQuotingItsPassword) {
  AlertmanagerOptions o = Valid();
  o.urls.push_back("ftp://ops:hunter2@am:9093");
  const absl::Status s = ValidateAlertmanagerOptions(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("ftp://***@am:9093"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("hunter2")));
}

TEST(ValidateAlertmanagerOptions, RejectsATtlShorterThanTheResendInterval) {
  AlertmanagerOptions o = Valid();
  o.resend_interval = absl::Minutes(1);
  o.ttl = absl::Seconds(30);
  ExpectInvalid(o, "ttl must be at least resend_interval");
}

TEST(ValidateAlertmanagerOptions, RejectsNonPositiveDurationsAndCounts) {
  AlertmanagerOptions o = Valid();
  o.resend_interval = absl::ZeroDuration();
  ExpectInvalid(o, "resend_interval");
  o = Valid();
  o.timeout = absl::ZeroDuration();
  ExpectInvalid(o, "timeout");
  o = Valid();
  o.max_attempts = 0;
  ExpectInvalid(o, "max_attempts");
  o = Valid();
  o.backoff_max = o.backoff_initial / 2;
  ExpectInvalid(o, "backoff_initial <= backoff_max");
  o = Valid();
  o.max_queue = 0;
  ExpectInvalid(o, "max_queue");
  o = Valid();
  o.max_batch = 0;
  ExpectInvalid(o, "max_batch");
  o = Valid();
  o.flush_timeout = absl::ZeroDuration();
  ExpectInvalid(o, "flush_timeout");
}

TEST(ValidateAlertmanagerOptions, RejectsInfiniteDurations) {
  AlertmanagerOptions o = Valid();
  o.resend_interval = absl::InfiniteDuration();
  ExpectInvalid(o, "resend_interval");
  o = Valid();
  o.ttl = absl::InfiniteDuration();
  ExpectInvalid(o, "ttl");
  o = Valid();
  o.backoff_max = absl::InfiniteDuration();
  ExpectInvalid(o, "backoff_max");
  o = Valid();
  o.flush_timeout = absl::InfiniteDuration();
  ExpectInvalid(o, "flush_timeout");
}

TEST(AlertmanagerSinkCreate, RejectsAMissingClock) {
  const absl::StatusOr<std::unique_ptr<AlertmanagerSink>> sink =
      AlertmanagerSink::Create(Valid(), nullptr);
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sink.status().message()), HasSubstr("no clock"));
}

TEST(AlertmanagerSinkCreate, RejectsInvalidOptions) {
  ManualClock clock;
  const absl::StatusOr<std::unique_ptr<AlertmanagerSink>> sink =
      AlertmanagerSink::Create(AlertmanagerOptions(), &clock);
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AlertmanagerSinkCreate, ReportsEachUrlWithoutCredentials) {
  ManualClock clock;
  AlertmanagerOptions o = Valid();
  o.urls = {"http://ops:hunter2@127.0.0.1:1/", "https://127.0.0.1:2"};
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> sink =
      AlertmanagerSink::Create(o, &clock);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_EQ((*sink)->stats().urls.size(), 2u);
  EXPECT_EQ((*sink)->stats().urls[0].url, "http://***@127.0.0.1:1");
  EXPECT_EQ((*sink)->stats().urls[1].url, "https://127.0.0.1:2");
}

}  // namespace
}  // namespace vigia
