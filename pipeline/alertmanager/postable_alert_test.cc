#include "pipeline/alertmanager/postable_alert.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

absl::Time At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

SampleEvent Sample(const char* id, const char* account, const char* time,
                   const char* source, int32_t partition, int64_t position) {
  SampleEvent s;
  s.id = id;
  s.account = account;
  s.created_at = At(time);
  s.source = source;
  s.partition = partition;
  s.position = position;
  return s;
}

Alert SurgeAlert() {
  Alert a;
  a.id = "3f9c2a61d07be4a8c915";
  a.detector = "foreign_origin_surge";
  a.state = AlertState::kFiring;
  a.severity = Severity::kCritical;
  a.target = CountryCode::FromString("MD");
  a.origin = CountryCode::FromString("RU");
  a.window_start = At("2026-05-10T14:50:00Z");
  a.window_end = At("2026-05-10T15:00:00Z");
  a.observed = 142;
  a.expected = 21.3;
  a.ratio = 6.4;
  a.score = 14.25;
  a.threshold = 8;
  a.summary = "Foreign-origin posts aimed at MD from RU: 142 in 10m";
  a.evidence.top_accounts = {{"ru_net_0007", 9, 0}, {"ru_net_0003", 7, 0}};
  a.evidence.top_urls = {{"https://news.example.ru/a/1", 31, 2}};
  a.evidence.top_hashtags = {{"#moldova", 40, 0}};
  a.evidence.samples = {
      Sample("p-912001", "ru_net_0007", "2026-05-10T14:51:03.120Z",
             "diaspora.ndjson", -1, 150233),
      Sample("p-912002", "ru_net_0003", "2026-05-10T14:52:00Z", "vigia.posts",
             3, 12345),
  };
  a.evidence.baseline = {{"level_per_hop", 1.9}, {"history_hours", 38}};
  a.config_hash = "5be1c0ffee";
  return a;
}

TEST(AlertmanagerAlertName, IsVigiaFollowedByTheDetectorInCamelCase) {
  EXPECT_EQ(AlertmanagerAlertName("foreign_origin_surge"),
            "VigiaForeignOriginSurge");
  EXPECT_EQ(AlertmanagerAlertName("ad_spend"), "VigiaAdSpend");
}

TEST(AlertmanagerLabels, CarryIdentityInAFixedOrder) {
  EXPECT_THAT(AlertmanagerLabels(SurgeAlert(), /*drill=*/false),
              ElementsAre(Pair("alertname", "VigiaForeignOriginSurge"),
                          Pair("alert_id", "3f9c2a61d07be4a8c915"),
                          Pair("detector", "foreign_origin_surge"),
                          Pair("severity", "critical"), Pair("target", "MD"),
                          Pair("origin", "RU"), Pair("drill", "false")));
}

TEST(AlertmanagerLabels, OmitUnknownOriginAndAddSubjectWhenPresent) {
  Alert a = SurgeAlert();
  a.origin = CountryCode();
  a.subject_kind = "hashtag";
  a.subject = "#moldova";
  a.severity = Severity::kWarning;
  EXPECT_THAT(AlertmanagerLabels(a, /*drill=*/true),
              ElementsAre(Pair("alertname", "VigiaForeignOriginSurge"),
                          Pair("alert_id", "3f9c2a61d07be4a8c915"),
                          Pair("detector", "foreign_origin_surge"),
                          Pair("severity", "warning"), Pair("target", "MD"),
                          Pair("subject", "#moldova"), Pair("drill", "true")));
}

TEST(AlertmanagerLabels, AreTheSameForAFiringAndItsResolvedRecord) {
  Alert firing = SurgeAlert();
  Alert resolved = firing;
  resolved.state = AlertState::kResolved;
  resolved.summary = "back to normal";
  resolved.observed = 20;
  EXPECT_EQ(AlertmanagerLabels(firing, false),
            AlertmanagerLabels(resolved, false));
}

TEST(AlertmanagerAnnotations, LinkRunbookWindowConfigAndRecord) {
  EXPECT_THAT(
      AlertmanagerAnnotations(SurgeAlert(), "https://ops.example/runbook.md",
                              "kafka topic vigia.alerts"),
      ElementsAre(
          Pair("summary",
               "Foreign-origin posts aimed at MD from RU: 142 in 10m"),
          Pair("description", HasSubstr("Observed 142 vs 21.3 expected")),
          Pair("runbook_url",
               "https://ops.example/runbook.md#foreign_origin_surge"),
          Pair("window_start", "2026-05-10T14:50:00.000Z"),
          Pair("window_end", "2026-05-10T15:00:00.000Z"),
          Pair("config_hash", "5be1c0ffee"),
          Pair("record", "kafka topic vigia.alerts")));
}

TEST(AlertmanagerAnnotations, NameTheCampaignTheRecordStates) {
  Alert a = SurgeAlert();
  a.campaign = "c0726a8484a5ab0a9aa1";
  EXPECT_THAT(AlertmanagerAnnotations(a, "", "alerts.ndjson"),
              testing::Contains(Pair("campaign", "c0726a8484a5ab0a9aa1")));
  EXPECT_THAT(AlertmanagerLabels(a, /*drill=*/false),
              testing::Not(testing::Contains(Pair("campaign", testing::_))));
}

TEST(AlertmanagerAnnotations, LeaveOutRunbookAndRecordWhenNotConfigured) {
  EXPECT_THAT(
      AlertmanagerAnnotations(SurgeAlert(), "", ""),
      ElementsAre(Pair("summary", testing::_), Pair("description", testing::_),
                  Pair("window_start", testing::_),
                  Pair("window_end", testing::_),
                  Pair("config_hash", "5be1c0ffee")));
}

TEST(AlertDescription, SpellsOutTheEvidenceChain) {
  const std::string text = AlertDescription(SurgeAlert(), "alerts.ndjson");
  EXPECT_EQ(text,
            "foreign_origin_surge critical (firing): target MD, origin RU\n"
            "Window (event time): 2026-05-10T14:50:00.000Z to "
            "2026-05-10T15:00:00.000Z\n"
            "Observed 142 vs 21.3 expected: ratio 6.4x, score 14.25 "
            "(threshold 8)\n"
            "Baseline: level_per_hop=1.9, history_hours=38\n"
            "Top accounts: ru_net_0007 (9), ru_net_0003 (7)\n"
            "Top URLs: https://news.example.ru/a/1 (31, overcount <= 2)\n"
            "Top hashtags: #moldova (40)\n"
            "Samples (id, account, event time: where the original is):\n"
            "- p-912001 by ru_net_0007 at 2026-05-10T14:51:03.120Z: "
            "diaspora.ndjson line 150233\n"
            "- p-912002 by ru_net_0003 at 2026-05-10T14:52:00.000Z: kafka "
            "topic vigia.posts partition 3 offset 12345\n"
            "Full record: alert 3f9c2a61d07be4a8c915, config 5be1c0ffee, in "
            "alerts.ndjson");
}

TEST(AlertDescription, ShortensLongListsAndPointsAtTheFullRecord) {
  Alert a = SurgeAlert();
  a.evidence.top_accounts.clear();
  for (int i = 0; i < 7; ++i) {
    a.evidence.top_accounts.push_back({"acct" + std::to_string(i), 10 - i, 0});
  }
  a.evidence.samples.resize(12, a.evidence.samples[0]);
  const std::string text = AlertDescription(a, "");
  EXPECT_THAT(text, HasSubstr("acct4 (6), ... (2 more)\n"));
  EXPECT_THAT(text, Not(HasSubstr("acct5")));
  EXPECT_THAT(text, HasSubstr("- ... 2 more in the full record\n"));
  EXPECT_THAT(text, Not(HasSubstr(", in ")));
}

TEST(AlertDescription, SaysUnknownForAnUnknownTargetAndNamesTheSubject) {
  Alert a = SurgeAlert();
  a.target = CountryCode();
  a.origin = CountryCode();
  a.subject_kind = "hashtag";
  a.subject = "#x";
  a.state = AlertState::kResolved;
  EXPECT_THAT(AlertDescription(a, ""),
              HasSubstr("foreign_origin_surge critical (resolved): target "
                        "unknown, hashtag #x\n"));
}

TEST(AlertDescription, AddsDetectorSpecificTopListsAndSampleNotes) {
  Alert a = SurgeAlert();
  a.evidence.other_tops = {{"top_payers", {{"Acme Media LLC", 1200, 0}}}};
  a.evidence.samples.resize(1);
  a.evidence.samples[0].note = "foreign_payer,no_disclaimer";
  const std::string text = AlertDescription(a, "");
  EXPECT_THAT(text, HasSubstr("Top hashtags: #moldova (40)\n"
                              "Top payers: Acme Media LLC (1200)\n"));
  EXPECT_THAT(text, HasSubstr("diaspora.ndjson line 150233 "
                              "[foreign_payer,no_disclaimer]\n"));
}

TEST(StringPairsToJson, EscapesValuesAndKeepsOrder) {
  EXPECT_EQ(StringPairsToJson({{"b", "say \"hi\"\nnow"}, {"a", ""}}),
            "{\"b\":\"say \\\"hi\\\"\\nnow\",\"a\":\"\"}");
}

}  // namespace
}  // namespace vigia
