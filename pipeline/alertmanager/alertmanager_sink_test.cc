// AlertmanagerSink against real Alertmanagers (Debian's
// prometheus-alertmanager 0.25), started on free loopback ports.
#include "pipeline/alertmanager/alertmanager_sink.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/time.h"
#include "simdjson.h"
#include "tests/server_fixture.h"

namespace vigia {
namespace {

using test_servers::AlertmanagerServer;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StartsWith;

// One alert as Alertmanager reports it in GET /api/v2/alerts.
struct ListedAlert {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string starts_at;
  std::string ends_at;
  std::string state;  // active, suppressed, unprocessed
  std::string generator_url;
};

std::map<std::string, std::string> StringMap(simdjson::dom::object object) {
  std::map<std::string, std::string> out;
  for (auto [key, value] : object) {
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) {
      out.emplace(std::string(key), std::string(text));
    }
  }
  return out;
}

std::string Field(simdjson::dom::object object, const char* key) {
  std::string_view text;
  if (object[key].get_string().get(text) != simdjson::SUCCESS) return "";
  return std::string(text);
}

// Alerts Alertmanager holds that are not resolved (it never lists resolved
// ones), keyed by their alert_id label. Fails the test on a bad answer.
std::map<std::string, ListedAlert> ListAlerts(const AlertmanagerServer& am) {
  std::map<std::string, ListedAlert> out;
  absl::StatusOr<test_servers::HttpResponse> response =
      test_servers::HttpGet(am.url() + "/api/v2/alerts");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return out;
  EXPECT_EQ(response->status, 200) << response->body;
  simdjson::dom::parser parser;
  simdjson::dom::array alerts;
  const simdjson::error_code error = parser.parse(response->body).get(alerts);
  EXPECT_EQ(error, simdjson::SUCCESS) << response->body;
  if (error != simdjson::SUCCESS) return out;
  for (simdjson::dom::element element : alerts) {
    simdjson::dom::object alert = element.get_object();
    ListedAlert listed;
    listed.labels = StringMap(alert["labels"].get_object());
    listed.annotations = StringMap(alert["annotations"].get_object());
    listed.starts_at = Field(alert, "startsAt");
    listed.ends_at = Field(alert, "endsAt");
    listed.generator_url = Field(alert, "generatorURL");
    listed.state = Field(alert["status"].get_object(), "state");
    out.emplace(listed.labels["alert_id"], std::move(listed));
  }
  return out;
}

// Alertmanager answers in its own time format and zone; compare instants.
std::string Canonical(const std::string& rfc3339) {
  absl::StatusOr<absl::Time> t = ParseRfc3339(rfc3339);
  return t.ok() ? FormatRfc3339(*t) : "unparsable: " + rfc3339;
}

Alert MakeAlert(const std::string& id, Severity severity = Severity::kCritical,
                AlertState state = AlertState::kFiring) {
  Alert a;
  a.id = id;
  a.detector = "foreign_origin_surge";
  a.state = state;
  a.severity = severity;
  a.target = CountryCode::FromString("MD");
  a.origin = CountryCode::FromString("RU");
  a.window_start = *ParseRfc3339("2026-05-10T14:50:00Z");
  a.window_end = *ParseRfc3339("2026-05-10T15:00:00Z");
  a.observed = 142;
  a.expected = 21.3;
  a.ratio = 6.4;
  a.score = 14.2;
  a.threshold = 8;
  a.summary = "Foreign-origin posts aimed at MD from RU: 142 in 10m";
  a.evidence.top_accounts = {{"ru_net_0007", 9, 0}};
  SampleEvent sample;
  sample.id = "p-912001";
  sample.account = "ru_net_0007";
  sample.created_at = *ParseRfc3339("2026-05-10T14:51:03.120Z");
  sample.source = "diaspora.ndjson";
  sample.position = 150233;
  a.evidence.samples = {sample};
  a.config_hash = "5be1c0ffee";
  return a;
}

Alert Resolved(Alert a) {
  a.state = AlertState::kResolved;
  a.summary = "Foreign-origin posts aimed at MD from RU back to normal";
  return a;
}

// Fast retries, so that tests with a dead URL finish quickly.
AlertmanagerOptions FastOptions(std::vector<std::string> urls) {
  AlertmanagerOptions o;
  o.urls = std::move(urls);
  o.timeout = absl::Seconds(5);
  o.max_attempts = 3;
  o.backoff_initial = absl::Milliseconds(10);
  o.backoff_max = absl::Milliseconds(40);
  o.flush_timeout = absl::Seconds(60);
  // Resolves end at once, as written; the hold has tests of its own.
  o.min_hold = absl::ZeroDuration();
  return o;
}

std::unique_ptr<AlertmanagerSink> MakeSink(const AlertmanagerOptions& options,
                                           const Clock* clock) {
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> sink =
      AlertmanagerSink::Create(options, clock);
  EXPECT_TRUE(sink.ok()) << sink.status();
  return sink.ok() ? std::move(*sink) : nullptr;
}

// One Alertmanager shared by the tests that need only one; each test uses
// its own alert ids.
class AlertmanagerSinkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<AlertmanagerServer>> am =
        AlertmanagerServer::Start();
    ASSERT_TRUE(am.ok()) << am.status();
    am_ = am->release();
  }
  static void TearDownTestSuite() {
    delete am_;
    am_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(am_, nullptr); }

  static AlertmanagerServer* am_;
  // Alertmanager compares startsAt and endsAt with its own wall clock, so
  // the test clock starts at the real time and is moved by hand.
  ManualClock clock_{absl::Now()};
};
AlertmanagerServer* AlertmanagerSinkTest::am_ = nullptr;

TEST_F(AlertmanagerSinkTest, FiringAlertAppearsWithItsLabelsAndAnnotations) {
  AlertmanagerOptions o = FastOptions({am_->url()});
  o.runbook_base_url = "https://ops.example/vigia/runbook.md";
  o.record_ref = "kafka topic vigia.alerts";
  o.generator_url = "https://ops.example/vigia/dashboard";
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &clock_);
  ASSERT_NE(sink, nullptr);

  ASSERT_TRUE(sink->Write(MakeAlert("aaaa00000000000000f1")).ok());
  ASSERT_TRUE(sink->Flush().ok());

  std::map<std::string, ListedAlert> listed = ListAlerts(*am_);
  ASSERT_EQ(listed.count("aaaa00000000000000f1"), 1u);
  ListedAlert a = listed["aaaa00000000000000f1"];
  EXPECT_EQ(a.labels, (std::map<std::string, std::string>{
                          {"alertname", "VigiaForeignOriginSurge"},
                          {"alert_id", "aaaa00000000000000f1"},
                          {"detector", "foreign_origin_surge"},
                          {"severity", "critical"},
                          {"target", "MD"},
                          {"origin", "RU"},
                          {"drill", "false"}}));
  EXPECT_EQ(a.annotations["summary"],
            "Foreign-origin posts aimed at MD from RU: 142 in 10m");
  EXPECT_THAT(a.annotations["description"],
              HasSubstr("Observed 142 vs 21.3 expected: ratio 6.4x, score "
                        "14.2 (threshold 8)"));
  EXPECT_THAT(a.annotations["description"],
              HasSubstr("- p-912001 by ru_net_0007 at "
                        "2026-05-10T14:51:03.120Z: diaspora.ndjson line "
                        "150233"));
  EXPECT_EQ(a.annotations["runbook_url"],
            "https://ops.example/vigia/runbook.md#foreign_origin_surge");
  EXPECT_EQ(a.annotations["record"], "kafka topic vigia.alerts");
  EXPECT_EQ(a.annotations["config_hash"], "5be1c0ffee");
  EXPECT_EQ(a.annotations["window_end"], "2026-05-10T15:00:00.000Z");
  EXPECT_EQ(a.generator_url, "https://ops.example/vigia/dashboard");
  EXPECT_EQ(a.state, "active");
  // Processing time, not event time; a firing alert lives for 4 resend
  // intervals unless it is re-sent.
  EXPECT_EQ(Canonical(a.starts_at), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(Canonical(a.ends_at),
            FormatRfc3339(clock_.Now() + 4 * o.resend_interval));

  const AlertmanagerUrlStats& stats = sink->stats().urls[0];
  EXPECT_EQ(stats.attempts.load(), 1);
  EXPECT_EQ(stats.alerts_sent.load(), 1);
  EXPECT_EQ(stats.failures.load(), 0);
  EXPECT_EQ(stats.queue_depth.load(), 0);
  EXPECT_EQ(sink->stats().alerts_written.load(), 1);
  EXPECT_EQ(sink->stats().firing.load(), 1);
}

TEST_F(AlertmanagerSinkTest, ResolvedRecordEndsTheAlert) {
  // The resolve's endsAt is its processing time; Alertmanager keeps an
  // alert active until its endsAt has passed on Alertmanager's own clock,
  // so this test's clock stays behind the real one.
  ManualClock clock(absl::Now() - absl::Minutes(1));
  std::unique_ptr<AlertmanagerSink> sink =
      MakeSink(FastOptions({am_->url()}), &clock);
  ASSERT_NE(sink, nullptr);
  const Alert firing = MakeAlert("aaaa00000000000000f2");
  ASSERT_TRUE(sink->Write(firing).ok());
  ASSERT_TRUE(sink->Flush().ok());
  ASSERT_EQ(ListAlerts(*am_).count(firing.id), 1u);

  // Resolve it a little later, with a record whose origin went missing:
  // the resolve must still carry the firing alert's labels.
  clock.Advance(absl::Seconds(30));
  Alert resolved = Resolved(firing);
  resolved.origin = CountryCode();
  ASSERT_TRUE(sink->Write(resolved).ok());
  ASSERT_TRUE(sink->Flush().ok());

  EXPECT_EQ(ListAlerts(*am_).count(firing.id), 0u);
  EXPECT_EQ(sink->stats().urls[0].alerts_sent.load(), 2);
  EXPECT_EQ(sink->stats().firing.load(), 0);
}

TEST_F(AlertmanagerSinkTest, AnAlertResolvedWithinSecondsIsHeldActive) {
  // At 3600x (a drill, a catch-up) an alert can fire and resolve within
  // seconds. Its resolve is held until startsAt + min_hold, so Alertmanager
  // lists it active meanwhile and can notify it; then it is resolved.
  // Alertmanager judges endsAt by its own clock: this one runs 3 minutes
  // behind, so the firing post (endsAt + 4 min) is live and the held
  // resolve (endsAt + 2 min) is over once sent.
  ManualClock clock(absl::Now() - absl::Minutes(3));
  AlertmanagerOptions o = FastOptions({am_->url()});
  o.min_hold = absl::Minutes(2);
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &clock);
  ASSERT_NE(sink, nullptr);
  const Alert firing = MakeAlert("aaaa00000000000000b1");
  ASSERT_TRUE(sink->Write(firing).ok());
  clock.Advance(absl::Seconds(2));
  ASSERT_TRUE(sink->Write(Resolved(firing)).ok());
  ASSERT_TRUE(sink->Flush().ok());

  std::map<std::string, ListedAlert> listed = ListAlerts(*am_);
  ASSERT_EQ(listed.count(firing.id), 1u) << "the resolve replaced the firing";
  EXPECT_EQ(listed[firing.id].state, "active");
  EXPECT_EQ(sink->stats().held.load(), 1);
  EXPECT_EQ(sink->stats().firing.load(), 0) << "a held alert is not re-sent";

  // A repeated resolve (a re-read partition) changes nothing, but is
  // counted as written like every accepted record.
  ASSERT_TRUE(sink->Write(Resolved(firing)).ok());
  EXPECT_EQ(sink->stats().held.load(), 1);
  EXPECT_EQ(sink->stats().alerts_written.load(), 3);

  clock.Advance(absl::Minutes(2));
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(sink->stats().held.load(), 0);
  EXPECT_EQ(ListAlerts(*am_).count(firing.id), 0u);
  EXPECT_EQ(sink->stats().urls[0].alerts_sent.load(), 2);
}

TEST_F(AlertmanagerSinkTest, TheHoldDoesNotDelayTheResolveOfALongAlert) {
  // Alertmanager keeps an alert until its endsAt passes on its own clock:
  // this clock runs behind the real one (less than the firing alert's 4
  // minutes of ttl), so a resolve at its "now" is over, while a resolve held
  // to "now" + anything would still be listed.
  ManualClock clock(absl::Now() - absl::Minutes(3));
  AlertmanagerOptions o = FastOptions({am_->url()});
  o.min_hold = absl::Minutes(2);
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &clock);
  ASSERT_NE(sink, nullptr);
  const Alert firing = MakeAlert("aaaa00000000000000b2");
  ASSERT_TRUE(sink->Write(firing).ok());
  ASSERT_TRUE(sink->Flush().ok());
  ASSERT_EQ(ListAlerts(*am_).count(firing.id), 1u);
  // Firing for longer than the hold: it ends when resolved.
  clock.Advance(absl::Seconds(150));
  ASSERT_TRUE(sink->Write(Resolved(firing)).ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(ListAlerts(*am_).count(firing.id), 0u);
}

TEST(AlertmanagerOptions, MinHoldMustBeFiniteAndNotNegative) {
  AlertmanagerOptions o = FastOptions({"http://127.0.0.1:1"});
  EXPECT_TRUE(ValidateAlertmanagerOptions(o).ok());
  o.min_hold = -absl::Seconds(1);
  EXPECT_FALSE(ValidateAlertmanagerOptions(o).ok());
  o.min_hold = absl::InfiniteDuration();
  EXPECT_FALSE(ValidateAlertmanagerOptions(o).ok());
  // Held alerts are not re-sent, so the hold must end before the ttl does.
  o.min_hold = 4 * o.resend_interval + absl::Seconds(1);
  EXPECT_FALSE(ValidateAlertmanagerOptions(o).ok());
  o.min_hold = 4 * o.resend_interval;
  EXPECT_TRUE(ValidateAlertmanagerOptions(o).ok());
}

TEST_F(AlertmanagerSinkTest,
       EscalationResolvesTheLowerSeverityAndFiresTheHigher) {
  std::unique_ptr<AlertmanagerSink> sink =
      MakeSink(FastOptions({am_->url()}), &clock_);
  ASSERT_NE(sink, nullptr);
  const Alert warning = MakeAlert("aaaa00000000000000e1", Severity::kWarning);
  ASSERT_TRUE(sink->Write(warning).ok());
  ASSERT_TRUE(sink->Flush().ok());
  ASSERT_EQ(ListAlerts(*am_).count(warning.id), 1u);

  ASSERT_TRUE(sink->Write(Resolved(warning)).ok());
  ASSERT_TRUE(
      sink->Write(MakeAlert("aaaa00000000000000e2", Severity::kCritical)).ok());
  ASSERT_TRUE(sink->Flush().ok());

  std::map<std::string, ListedAlert> listed = ListAlerts(*am_);
  EXPECT_EQ(listed.count(warning.id), 0u);
  ASSERT_EQ(listed.count("aaaa00000000000000e2"), 1u);
  EXPECT_EQ(listed["aaaa00000000000000e2"].labels["severity"], "critical");
}

TEST_F(AlertmanagerSinkTest, DrillModeLabelsEveryAlertAsADrill) {
  AlertmanagerOptions o = FastOptions({am_->url()});
  o.drill = true;
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &clock_);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(MakeAlert("aaaa00000000000000d1")).ok());
  ASSERT_TRUE(
      sink->Write(MakeAlert("aaaa00000000000000d2", Severity::kInfo)).ok());
  ASSERT_TRUE(sink->Flush().ok());

  std::map<std::string, ListedAlert> listed = ListAlerts(*am_);
  for (const char* id : {"aaaa00000000000000d1", "aaaa00000000000000d2"}) {
    ASSERT_EQ(listed.count(id), 1u) << id;
    EXPECT_THAT(listed[id].labels, Contains(Pair("drill", "true"))) << id;
  }
}

TEST_F(AlertmanagerSinkTest, PeriodicResendPushesTheExpiryForward) {
  AlertmanagerOptions o = FastOptions({am_->url()});
  o.resend_interval = absl::Minutes(1);
  o.ttl = absl::Minutes(3);
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &clock_);
  ASSERT_NE(sink, nullptr);
  const absl::Time start = clock_.Now();
  ASSERT_TRUE(sink->Write(MakeAlert("aaaa00000000000000c1")).ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(Canonical(ListAlerts(*am_)["aaaa00000000000000c1"].ends_at),
            FormatRfc3339(start + absl::Minutes(3)));

  // Not yet due: nothing is sent again.
  clock_.Advance(absl::Seconds(59));
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(sink->stats().resends.load(), 0);

  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(sink->stats().resends.load(), 1);
  EXPECT_EQ(sink->stats().urls[0].alerts_sent.load(), 2);
  const ListedAlert a = ListAlerts(*am_)["aaaa00000000000000c1"];
  EXPECT_EQ(a.state, "active");
  EXPECT_EQ(Canonical(a.starts_at), FormatRfc3339(start));
  EXPECT_EQ(Canonical(a.ends_at),
            FormatRfc3339(start + absl::Minutes(1) + absl::Minutes(3)));
}

TEST_F(AlertmanagerSinkTest, FiringAlertExpiresWhenResendsStop) {
  // A vigia whose clock says it sent its last resend 5 minutes ago: with a
  // 4-minute ttl the alert is over, as if vigia had crashed then.
  ManualClock past(absl::Now() - absl::Minutes(5));
  AlertmanagerOptions o = FastOptions({am_->url()});
  o.resend_interval = absl::Minutes(1);
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &past);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(MakeAlert("aaaa00000000000000c2")).ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(sink->stats().urls[0].alerts_sent.load(), 1);
  EXPECT_EQ(ListAlerts(*am_).count("aaaa00000000000000c2"), 0u);
}

TEST_F(AlertmanagerSinkTest, RefusedBatchIsReportedOnceAndNotRetried) {
  // A path Alertmanager does not serve answers 404: a client error that no
  // retry can fix.
  std::unique_ptr<AlertmanagerSink> sink =
      MakeSink(FastOptions({am_->url() + "/no/such/prefix"}), &clock_);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(MakeAlert("aaaa00000000000000b1")).ok());
  const absl::Status flushed = sink->Flush();
  EXPECT_EQ(flushed.code(), absl::StatusCode::kInternal) << flushed;
  EXPECT_THAT(std::string(flushed.message()), HasSubstr("HTTP 404"));
  const AlertmanagerUrlStats& stats = sink->stats().urls[0];
  EXPECT_EQ(stats.attempts.load(), 1);
  EXPECT_EQ(stats.failures.load(), 1);
  EXPECT_EQ(stats.dropped.load(), 1);
  EXPECT_EQ(stats.queue_depth.load(), 0);
  // Reported once; nothing is left queued.
  EXPECT_TRUE(sink->Flush().ok());
}

TEST(AlertmanagerSinkHa, BothAlertmanagersOfAPairReceiveEveryAlert) {
  absl::StatusOr<std::unique_ptr<AlertmanagerServer>> a =
      AlertmanagerServer::Start();
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::unique_ptr<AlertmanagerServer>> b =
      AlertmanagerServer::Start();
  ASSERT_TRUE(b.ok()) << b.status();
  ManualClock clock(absl::Now());
  std::unique_ptr<AlertmanagerSink> sink =
      MakeSink(FastOptions({(*a)->url(), (*b)->url()}), &clock);
  ASSERT_NE(sink, nullptr);
  const std::vector<std::string> ids = {
      "bbbb00000000000000a1", "bbbb00000000000000a2", "bbbb00000000000000a3"};
  for (const std::string& id : ids)
    ASSERT_TRUE(sink->Write(MakeAlert(id)).ok());
  ASSERT_TRUE(sink->Flush().ok());

  for (AlertmanagerServer* am : {a->get(), b->get()}) {
    std::map<std::string, ListedAlert> listed = ListAlerts(*am);
    EXPECT_EQ(listed.size(), 3u) << am->url();
    for (const std::string& id : ids) EXPECT_EQ(listed.count(id), 1u) << id;
  }
  for (const AlertmanagerUrlStats& stats : sink->stats().urls) {
    EXPECT_EQ(stats.alerts_sent.load(), 3) << stats.url;
    EXPECT_EQ(stats.failures.load(), 0) << stats.url;
  }
}

TEST(AlertmanagerSinkHa, DeadUrlCountsFailuresWhileTheOtherReceives) {
  absl::StatusOr<std::unique_ptr<AlertmanagerServer>> am =
      AlertmanagerServer::Start();
  ASSERT_TRUE(am.ok()) << am.status();
  absl::StatusOr<test_servers::ClosedPort> dead =
      test_servers::ClosedPort::Open();
  ASSERT_TRUE(dead.ok()) << dead.status();
  ManualClock clock(absl::Now());
  std::unique_ptr<AlertmanagerSink> sink =
      MakeSink(FastOptions({dead->url(), (*am)->url()}), &clock);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(MakeAlert("bbbb00000000000000b1")).ok());
  // Accepted by one member of the pair: delivered.
  EXPECT_TRUE(sink->Flush().ok());

  const AlertmanagerUrlStats& down = sink->stats().urls[0];
  EXPECT_EQ(down.attempts.load(), 3);
  EXPECT_EQ(down.failures.load(), 3);
  EXPECT_EQ(down.alerts_sent.load(), 0);
  EXPECT_EQ(down.queue_depth.load(), 1);  // kept for the next resend
  const AlertmanagerUrlStats& live = sink->stats().urls[1];
  EXPECT_EQ(live.alerts_sent.load(), 1);
  EXPECT_EQ(live.failures.load(), 0);
  EXPECT_EQ(ListAlerts(**am).count("bbbb00000000000000b1"), 1u);
}

TEST(AlertmanagerSinkDown, FlushSaysUnavailableWhenNoAlertmanagerAccepted) {
  absl::StatusOr<test_servers::ClosedPort> dead =
      test_servers::ClosedPort::Open();
  ASSERT_TRUE(dead.ok()) << dead.status();
  ManualClock clock(absl::Now());
  AlertmanagerOptions o = FastOptions({dead->url()});
  o.max_queue = 2;
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &clock);
  ASSERT_NE(sink, nullptr);
  for (const char* id : {"cccc00000000000000a1", "cccc00000000000000a2",
                         "cccc00000000000000a3"}) {
    ASSERT_TRUE(sink->Write(MakeAlert(id)).ok());
  }
  const absl::Status flushed = sink->Flush();
  EXPECT_EQ(flushed.code(), absl::StatusCode::kUnavailable) << flushed;
  EXPECT_THAT(std::string(flushed.message()),
              StartsWith("alertmanager: 2 alerts accepted by no Alertmanager; "
                         "http://127.0.0.1:"));
  const AlertmanagerUrlStats& stats = sink->stats().urls[0];
  EXPECT_EQ(stats.dropped.load(), 1);  // the oldest, to keep the bound
  EXPECT_EQ(stats.queue_depth.load(), 2);
  EXPECT_GE(stats.failures.load(), 3);
  EXPECT_EQ(stats.alerts_sent.load(), 0);
}

TEST(AlertmanagerSinkDown, RetriesDeliverOnceAlertmanagerComesUp) {
  // Held until Alertmanager starts, so no one else takes the port.
  absl::StatusOr<test_servers::ClosedPort> port =
      test_servers::ClosedPort::Open();
  ASSERT_TRUE(port.ok()) << port.status();
  ManualClock clock(absl::Now());
  AlertmanagerOptions o = FastOptions({port->url()});
  o.max_attempts = 1000;  // never give up during this test
  o.backoff_initial = absl::Milliseconds(50);
  o.backoff_max = absl::Milliseconds(200);
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &clock);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(MakeAlert("dddd00000000000000a1")).ok());

  // Wait (generously) until the sink has failed at least once.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (sink->stats().urls[0].failures.load() == 0 && absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(sink->stats().urls[0].failures.load(), 1);
  EXPECT_EQ(sink->stats().urls[0].alerts_sent.load(), 0);

  port->Release();
  absl::StatusOr<std::unique_ptr<AlertmanagerServer>> am =
      AlertmanagerServer::Start(port->port());
  ASSERT_TRUE(am.ok()) << am.status();
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(sink->stats().urls[0].alerts_sent.load(), 1);
  EXPECT_EQ(ListAlerts(**am).count("dddd00000000000000a1"), 1u);
}

TEST(AlertmanagerSinkDown, ParkedUrlRetriesAtTheNextResendWithTheNewestNews) {
  absl::StatusOr<test_servers::ClosedPort> port =
      test_servers::ClosedPort::Open();
  ASSERT_TRUE(port.ok()) << port.status();
  // Behind the real clock, so that the resolve below is already over for
  // Alertmanager; the ttl keeps the firing alert active.
  ManualClock clock(absl::Now() - absl::Minutes(5));
  AlertmanagerOptions o = FastOptions({port->url()});
  o.max_attempts = 1;
  o.resend_interval = absl::Minutes(1);
  o.ttl = absl::Minutes(10);
  std::unique_ptr<AlertmanagerSink> sink = MakeSink(o, &clock);
  ASSERT_NE(sink, nullptr);
  const Alert over = MakeAlert("ffff00000000000000a1");
  ASSERT_TRUE(sink->Write(over).ok());
  ASSERT_TRUE(sink->Write(Resolved(over)).ok());
  ASSERT_TRUE(sink->Write(MakeAlert("ffff00000000000000a2")).ok());
  EXPECT_EQ(sink->Flush().code(), absl::StatusCode::kUnavailable);
  // One entry per alert: the resolve replaced the firing that was waiting.
  EXPECT_EQ(sink->stats().urls[0].queue_depth.load(), 2);

  port->Release();
  absl::StatusOr<std::unique_ptr<AlertmanagerServer>> am =
      AlertmanagerServer::Start(port->port());
  ASSERT_TRUE(am.ok()) << am.status();
  // Parked: Flush() does not retry by itself...
  EXPECT_EQ(sink->Flush().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sink->stats().urls[0].alerts_sent.load(), 0);
  // ...the next resend does.
  clock.Advance(absl::Minutes(1));
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(sink->stats().resends.load(), 1);
  EXPECT_EQ(sink->stats().urls[0].alerts_sent.load(), 2);
  std::map<std::string, ListedAlert> listed = ListAlerts(**am);
  EXPECT_EQ(listed.count("ffff00000000000000a1"), 0u);
  EXPECT_EQ(listed.count("ffff00000000000000a2"), 1u);
}

}  // namespace
}  // namespace vigia
