#include "pipeline/gen/scenario.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/country.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/generator.h"
#include "pipeline/gen/kind.h"

namespace vigia::gen {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::Status ParseError(std::string_view yaml) {
  return ParseScenario(yaml, "s.yaml").status();
}

// gmock matchers take std::string, not (Debian's) absl::string_view.
std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

TEST(Scenario, BundledScenariosAreListedAndAllLoad) {
  EXPECT_THAT(
      BundledScenarioNames(),
      ElementsAre("ad_spend", "control", "coordinated", "debate_night",
                  "diaspora", "mx_us_diaspora", "mx_us_hurricane",
                  "new_accounts", "organic", "posting_clock", "ru_mx_election",
                  "state_media", "trend_riding", "viral_link"));
  for (const std::string& name : BundledScenarioNames()) {
    const absl::StatusOr<Scenario> s = LoadScenario(name);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status();
    EXPECT_EQ(s->name, name);
    EXPECT_TRUE(ValidateScenario(*s).ok()) << name;
    // The Mexico/US case runs on its own two targets; the others on the
    // standard background's five.
    EXPECT_EQ(s->targets.size(), absl::StrContains(name, "mx") ? 2u : 5u)
        << name;
    // Every bundled scenario stays near the 2-day standard background's
    // ~215,000 events (about 105 MB): posting_clock runs six days at a
    // quarter of the rate.
    double events = 0;
    for (const TargetSpec& t : s->targets) {
      events += (t.posts_per_hour + t.ads_per_day / 24) *
                absl::ToDoubleHours(s->duration) * s->background_scale;
    }
    EXPECT_LT(events, 230000) << name;
    if (name == "posting_clock") {
      EXPECT_EQ(s->duration, absl::Hours(6 * 24));
    } else {
      EXPECT_EQ(s->duration, absl::Hours(48)) << name;
      EXPECT_DOUBLE_EQ(s->background_scale, 1) << name;
    }
  }
}

// Each detector's scenario injects one campaign of the kind made for it
// (viral_link: two organic ones), at a target of the standard background.
TEST(Scenario, EachDetectorHasABundledScenarioOfItsKind) {
  const std::map<std::string, std::pair<CampaignKind, size_t>> expected = {
      {"trend_riding", {CampaignKind::kTrendRiding, 1}},
      {"coordinated", {CampaignKind::kCoordinatedSharing, 1}},
      {"new_accounts", {CampaignKind::kNewAccountBurst, 1}},
      {"state_media", {CampaignKind::kStateMediaAmplification, 1}},
      {"ad_spend", {CampaignKind::kForeignAdSpend, 1}},
      {"posting_clock", {CampaignKind::kPostingClock, 1}},
      {"viral_link", {CampaignKind::kViralLink, 2}}};
  for (const auto& [name, kind_count] : expected) {
    const absl::StatusOr<Scenario> s = LoadScenario(name);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status();
    ASSERT_EQ(s->campaigns.size(), kind_count.second) << name;
    for (const CampaignSpec& c : s->campaigns) {
      EXPECT_EQ(c.kind, kind_count.first) << name;
    }
    const bool organic = kind_count.first == CampaignKind::kViralLink;
    EXPECT_EQ(ExpectedDetector(kind_count.first).empty(), organic) << name;
  }
  const absl::StatusOr<Scenario> coordinated = LoadScenario("coordinated");
  ASSERT_TRUE(coordinated.ok());
  const BurstSpec& b = coordinated->campaigns[0].bursts;
  EXPECT_GE(b.url, 4);
  EXPECT_GE(b.text, 1);
  EXPECT_EQ(b.min_accounts, 8);
  EXPECT_EQ(b.max_accounts, 15);
  EXPECT_EQ(b.spread, absl::Seconds(30));
  const absl::StatusOr<Scenario> clock = LoadScenario("posting_clock");
  ASSERT_TRUE(clock.ok());
  EXPECT_EQ(clock->campaigns[0].clock.utc_offset, absl::Hours(8));
  EXPECT_EQ(clock->campaigns[0].network.accounts, 30);
  // The scenario starts on a Monday and spans five working days.
  EXPECT_EQ(
      absl::GetWeekday(absl::ToCivilDay(clock->start, absl::UTCTimeZone())),
      absl::Weekday::monday);
}

TEST(Scenario, DiasporaIsASixfoldRussianSurgeAtMoldova) {
  const absl::StatusOr<Scenario> s = LoadScenario("diaspora");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->campaigns.size(), 1u);
  const CampaignSpec& c = s->campaigns[0];
  EXPECT_EQ(c.kind, CampaignKind::kForeignOriginSurge);
  EXPECT_EQ(c.target, ParseCountry("MD"));
  EXPECT_EQ(c.origin, ParseCountry("RU"));
  EXPECT_EQ(CampaignStart(*s, c), *ParseRfc3339("2026-05-10T14:00:00Z"));
  EXPECT_EQ(c.duration, absl::Hours(2));
  EXPECT_GE(c.rate_multiplier, 5);
  EXPECT_LE(c.rate_multiplier, 8);
  EXPECT_EQ(c.network.accounts, 40);
  EXPECT_EQ(c.content.urls.size(), 3u);
  EXPECT_EQ(c.content.hashtags.size(), 3u);
}

TEST(Scenario, ControlHasNoCampaignAndOrganicIsNotInterference) {
  const absl::StatusOr<Scenario> control = LoadScenario("control");
  ASSERT_TRUE(control.ok()) << control.status();
  EXPECT_TRUE(control->campaigns.empty());
  const absl::StatusOr<Scenario> organic = LoadScenario("organic");
  ASSERT_TRUE(organic.ok()) << organic.status();
  ASSERT_EQ(organic->campaigns.size(), 1u);
  EXPECT_EQ(organic->campaigns[0].kind, CampaignKind::kOrganicRise);
  EXPECT_DOUBLE_EQ(organic->campaigns[0].rate_multiplier, 1.5);
  EXPECT_GE(organic->campaigns[0].duration, absl::Hours(3));
}

TEST(Scenario, BundledScenariosShareOneBackground) {
  absl::StatusOr<Scenario> control = LoadScenario("control");
  ASSERT_TRUE(control.ok()) << control.status();
  // Three hours: late events need more than `late_by` (2h) of scenario.
  control->duration = absl::Hours(3);
  std::ostringstream expected;
  const absl::StatusOr<GenerateResult> r = Generate(*control, expected);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GT(expected.str().size(), 100000u);
  for (const char* name : {"diaspora", "organic", "trend_riding", "coordinated",
                           "new_accounts", "ad_spend", "viral_link"}) {
    absl::StatusOr<Scenario> s = LoadScenario(name);
    ASSERT_TRUE(s.ok()) << s.status();
    s->campaigns.clear();
    s->duration = absl::Hours(3);
    std::ostringstream out;
    const absl::StatusOr<GenerateResult> g = Generate(*s, out);
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_TRUE(out.str() == expected.str()) << name;
  }
}

TEST(Scenario, UnknownScenarioNameIsNotFound) {
  const absl::StatusOr<Scenario> s = LoadScenario("diaspra");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(s.status()),
              HasSubstr("control, coordinated, debate_night, diaspora"));
  EXPECT_EQ(LoadScenario("/no/such/file.yaml").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Scenario, LoadsAFileAndNamesTheScenarioAfterIt) {
  const std::string path = ::testing::TempDir() + "/h3_calm.yaml";
  {
    std::ofstream f(path);
    f << "seed: 3\nduration: 6h\n";
  }
  const absl::StatusOr<Scenario> s = LoadScenario(path);
  std::remove(path.c_str());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "h3_calm");
  EXPECT_EQ(s->seed, 3u);
  EXPECT_EQ(s->duration, absl::Hours(6));
}

TEST(Scenario, EmptyDocumentIsTheDefaultBackground) {
  const absl::StatusOr<Scenario> s = ParseScenario("", "empty.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  const Scenario d = DefaultScenario();
  EXPECT_EQ(s->name, "empty");
  EXPECT_EQ(s->seed, d.seed);
  EXPECT_EQ(s->start, *ParseRfc3339("2026-05-09T00:00:00Z"));
  EXPECT_EQ(s->duration, absl::Hours(48));
  ASSERT_EQ(s->targets.size(), 5u);
  EXPECT_EQ(s->targets[0].country, ParseCountry("MD"));
  EXPECT_EQ(s->targets[0].utc_offset, absl::Hours(3));
  EXPECT_EQ(s->targets[0].currency.str(), "MDL");
  EXPECT_THAT(s->targets[0].languages, ElementsAre("ro", "ru"));
  EXPECT_TRUE(s->campaigns.empty());
}

TEST(Scenario, BackgroundKeysParseAndKeepTheirDefaultsWhenLeftOut) {
  const absl::StatusOr<Scenario> s = ParseScenario(R"(background:
  noise: {cv: 0.4, memory: 30m}
  weekly_profile: [1, 1, 1, 1, 1, 0.5, 0.5]
  cascades: {max_reposts: 10, tail: 2, delay: 5m}
  news: {per_day: 6, peak: [2, 8], rise: 5m, decay: 1h,
         foreign_response: 0.5}
  outage: {start: 1d2h, duration: 30m}
)",
                                                   "b.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  const BackgroundSpec& b = s->background;
  EXPECT_EQ(b.noise_cv, 0.4);
  EXPECT_EQ(b.noise_memory, absl::Minutes(30));
  EXPECT_THAT(b.weekly_profile, ElementsAre(1, 1, 1, 1, 1, 0.5, 0.5));
  EXPECT_EQ(b.cascade_max_reposts, 10);
  EXPECT_EQ(b.cascade_tail, 2);
  EXPECT_EQ(b.cascade_delay, absl::Minutes(5));
  EXPECT_EQ(b.news_per_day, 6);
  EXPECT_EQ(b.news_peak_min, 2);
  EXPECT_EQ(b.news_peak_max, 8);
  EXPECT_EQ(b.news_rise, absl::Minutes(5));
  EXPECT_EQ(b.news_decay, absl::Hours(1));
  EXPECT_EQ(b.news_foreign_response, 0.5);
  EXPECT_EQ(b.outage_start, absl::Hours(26));
  EXPECT_EQ(b.outage_duration, absl::Minutes(30));

  const absl::StatusOr<Scenario> d = ParseScenario("background:\n", "d.yaml");
  ASSERT_TRUE(d.ok()) << d.status();
  const BackgroundSpec defaults = DefaultScenario().background;
  EXPECT_EQ(d->background.noise_cv, defaults.noise_cv);
  EXPECT_EQ(d->background.weekly_profile.size(), 7u);
  EXPECT_EQ(d->background.outage_duration, defaults.outage_duration);
}

TEST(Scenario, BadBackgroundValuesNameTheKeyAndLine) {
  EXPECT_EQ(Msg(ParseError("background:\n  noise: {cv: 5}\n")),
            "s.yaml:2: background.noise.cv: must be in [0, 3]");
  EXPECT_THAT(Msg(ParseError("background:\n  weekly_profile: [1, 2]\n")),
              StartsWith("s.yaml:2: background.weekly_profile: needs 7"));
  EXPECT_THAT(Msg(ParseError("background:\n  news:\n    peak: [3, 2]\n")),
              StartsWith("s.yaml:3: background.news.peak: must be"));
  EXPECT_THAT(Msg(ParseError("background:\n  outage: {begin: 1h}\n")),
              StartsWith("s.yaml:2: background.outage.begin: unknown key"));
}

TEST(Scenario, UnknownKeyIsAnErrorNamingTheKeyAndLine) {
  const absl::Status st = ParseError("seed: 1\ndisorder:\n  jiter: 5s\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), StartsWith("s.yaml:3: disorder.jiter: unknown key"));
  EXPECT_THAT(Msg(st), HasSubstr("jitter"));
}

TEST(Scenario, WrongTypeIsAnErrorNamingTheKeyAndLine) {
  const absl::Status st = ParseError("name: x\nseed: lots\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(st), "s.yaml:2: seed: \"lots\" is not an integer");
  EXPECT_THAT(Msg(ParseError("accounts:\n  zipf_exponent: [1]\n")),
              StartsWith("s.yaml:2: accounts.zipf_exponent: must be a scalar"));
}

TEST(Scenario, BadDurationNamesTheKeyAndLine) {
  EXPECT_THAT(Msg(ParseError("duration: 2 days\n")),
              StartsWith("s.yaml:1: duration: bad duration \"2 days\""));
  EXPECT_THAT(Msg(ParseError("duration: 48\n")), HasSubstr("missing unit"));
}

TEST(Scenario, DuplicateKeyIsAnError) {
  EXPECT_THAT(Msg(ParseError("seed: 1\nseed: 2\n")),
              StartsWith("s.yaml:2: seed: duplicate key"));
}

TEST(Scenario, YamlSyntaxErrorReportsTheLine) {
  const absl::Status st = ParseError("seed: 1\ntargets: [\n  {country: MD\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), StartsWith("s.yaml:"));
  EXPECT_THAT(Msg(st), HasSubstr("YAML syntax error"));
}

constexpr std::string_view kCampaignYaml = R"(seed: 1
campaigns:
  - name: c
    kind: foreign_origin_surge
    target: MD
    origin: RU
    start: 1d
    duration: 1h
    rate_multiplier: 5
)";

TEST(Scenario, ParsesACampaignWithKindDefaults) {
  const absl::StatusOr<Scenario> s = ParseScenario(kCampaignYaml, "s.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->campaigns.size(), 1u);
  const CampaignSpec& c = s->campaigns[0];
  EXPECT_EQ(c.start_offset, absl::Hours(24));
  EXPECT_FALSE(c.start_at.has_value());
  EXPECT_EQ(c.ramp_in, absl::Minutes(5));
  EXPECT_EQ(c.network.accounts, 40);
  EXPECT_DOUBLE_EQ(c.rate_multiplier, 5);
}

TEST(Scenario, CampaignStartMayBeAnAbsoluteTime) {
  std::string yaml(kCampaignYaml);
  yaml.replace(yaml.find("start: 1d"), 9, "start: 2026-05-10T06:30:00Z");
  const absl::StatusOr<Scenario> s = ParseScenario(yaml, "s.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(CampaignStart(*s, s->campaigns[0]),
            *ParseRfc3339("2026-05-10T06:30:00Z"));
}

TEST(Scenario, UnknownCampaignKindIsAnError) {
  std::string yaml(kCampaignYaml);
  yaml.replace(yaml.find("foreign_origin_surge"), 20, "bot_swarm");
  EXPECT_THAT(Msg(ParseError(yaml)),
              StartsWith("s.yaml:4: campaigns[0].kind: unknown campaign kind "
                         "\"bot_swarm\""));
}

TEST(Scenario, KeysOfAnotherKindAreRejected) {
  const absl::Status st = ParseError(R"(campaigns:
  - name: rise
    kind: organic_rise
    target: MD
    origin: RO
    start: 1d
    duration: 3h
    rate_multiplier: 1.5
    network: {accounts: 10}
)");
  EXPECT_THAT(Msg(st),
              StartsWith("s.yaml:9: campaigns[0].network: unknown key"));
}

TEST(Scenario, MissingCampaignKeyIsAnError) {
  std::string yaml(kCampaignYaml);
  yaml.erase(yaml.find("    origin: RU\n"), 15);
  EXPECT_EQ(Msg(ParseError(yaml)),
            "s.yaml:3: campaigns[0]: missing required key origin");
}

TEST(Scenario, CampaignTargetMustBeATargetAndTheErrorPointsAtIt) {
  std::string yaml(kCampaignYaml);
  yaml.replace(yaml.find("target: MD"), 10, "target: HU");
  EXPECT_EQ(Msg(ParseError(yaml)),
            "s.yaml:5: campaigns[0].target: HU is not one of the targets");
}

TEST(Scenario, CampaignMustFitInTheScenario) {
  std::string yaml(kCampaignYaml);
  yaml.replace(yaml.find("start: 1d"), 9, "start: 1d23h30m");
  EXPECT_THAT(Msg(ParseError(yaml)),
              StartsWith("s.yaml:8: campaigns[0].duration: ends at "
                         "2026-05-11T00:30:00.000Z, after the scenario end"));
}

TEST(Scenario, SurgeNeedsBackgroundToMultiplyOrAnAbsoluteRate) {
  std::string yaml(kCampaignYaml);
  yaml.replace(yaml.find("origin: RU"), 10, "origin: CN");
  EXPECT_THAT(Msg(ParseError(yaml)),
              StartsWith("s.yaml:9: campaigns[0].rate_multiplier: the pair "
                         "MD/CN has no background traffic"));
  yaml.replace(yaml.find("rate_multiplier: 5"), 18, "rate_per_min: 20");
  EXPECT_TRUE(ParseScenario(yaml, "s.yaml").ok());
}

TEST(Scenario, TargetDefaultsComeFromTheCountryTable) {
  const absl::StatusOr<Scenario> s = ParseScenario(R"(targets:
  - country: PL
    posts_per_hour: 10
    origins: {PL: 1}
  - country: KE
    posts_per_hour: 10
    currency: KES
    languages: [en, sw]
    utc_offset: "+03:00"
    origins: {KE: 3, GB: 1}
)",
                                                   "s.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->targets[0].utc_offset, absl::Hours(2));
  EXPECT_EQ(s->targets[0].currency.str(), "PLN");
  EXPECT_DOUBLE_EQ(s->targets[0].ads_per_day, 50);
  EXPECT_EQ(s->targets[1].utc_offset, absl::Hours(3));
  EXPECT_THAT(s->targets[1].hashtags, ElementsAre("election2026", "ke"));
  // Origins are kept sorted by code.
  EXPECT_EQ(s->targets[1].origins[0].country, ParseCountry("GB"));

  EXPECT_EQ(Msg(ParseError(R"(targets:
  - country: KE
    posts_per_hour: 10
    origins: {KE: 1}
)")),
            "s.yaml:2: targets[0]: currency is required: KE has no built-in "
            "country profile");
}

TEST(Scenario, BadCountryCodesAreErrors) {
  EXPECT_EQ(Msg(ParseError("targets:\n  - {country: UK, posts_per_hour: 1, "
                           "origins: {GB: 1}}\n")),
            "s.yaml:2: targets[0].country: \"UK\" is not an ISO 3166-1 "
            "alpha-2 code");
  EXPECT_THAT(
      Msg(ParseError("targets:\n  - country: GB\n    posts_per_hour: 1\n"
                     "    origins: {GB: 1, EU: 1}\n")),
      StartsWith("s.yaml:4: targets[0].origins.EU: is not an ISO"));
}

TEST(Scenario, ValidationWithoutYamlNamesTheField) {
  Scenario s = DefaultScenario();
  s.disorder.jitter = absl::Minutes(20);
  EXPECT_EQ(Msg(ValidateScenario(s)), "disorder.jitter: must be in [0, 10m]");
  s = DefaultScenario();
  s.daily_profile.pop_back();
  EXPECT_EQ(Msg(ValidateScenario(s)),
            "daily_profile: needs 24 hourly values, not 23");
  // A kind without an origin names the key it takes instead.
  absl::StatusOr<Scenario> trend = LoadScenario("trend_riding");
  ASSERT_TRUE(trend.ok()) << trend.status();
  trend->campaigns[0].origin = ParseCountry("RU");
  EXPECT_EQ(Msg(ValidateScenario(*trend)),
            "campaigns[0].origin: trend_riding takes trend.origins instead");
}

TEST(Scenario, DurationsParse) {
  EXPECT_EQ(*ParseScenarioDuration("2d"), absl::Hours(48));
  EXPECT_EQ(*ParseScenarioDuration("1d14h30m"),
            absl::Hours(38) + absl::Minutes(30));
  EXPECT_EQ(*ParseScenarioDuration("90s"), absl::Seconds(90));
  EXPECT_EQ(*ParseScenarioDuration("1500ms"), absl::Milliseconds(1500));
  for (const char* bad : {"", "h", "5", "5x", "-5m", "5 m", "1.5h"}) {
    EXPECT_EQ(ParseScenarioDuration(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

// One campaign, written at list-entry indentation, on the standard
// background.
std::string OneCampaign(std::string_view campaign) {
  return "seed: 1\ncampaigns:\n" + std::string(campaign);
}

constexpr std::string_view kEveryNewKind = R"(seed: 1
start: 2026-05-11T00:00:00Z
duration: 5d
campaigns:
  - {name: a, kind: trend_riding, target: DE, start: 1d, duration: 1h,
     rate_per_min: 2}
  - {name: b, kind: coordinated_sharing, target: MD, origin: RU, start: 1d,
     duration: 1h}
  - {name: c, kind: new_account_burst, target: RO, origin: RO, start: 1d,
     duration: 1h, rate_per_min: 3}
  - {name: d, kind: state_media_amplification, target: DE, origin: DE,
     start: 1d, duration: 1h, rate_per_min: 2}
  - {name: e, kind: foreign_ad_spend, target: MD, origin: RU, start: 1d,
     duration: 1h, ads: {per_hour: 4}}
  - {name: f, kind: posting_clock, target: DE, origin: DE, start: 0h,
     duration: 5d, clock: {utc_offset: "+08:00"}}
  - {name: g, kind: viral_link, target: MD, origin: MD, start: 1d,
     duration: 1h, rate_per_min: 3}
)";

TEST(Scenario, ParsesEveryNewKindWithItsDefaults) {
  const absl::StatusOr<Scenario> s = ParseScenario(kEveryNewKind, "s.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->campaigns.size(), 7u);
  const CampaignSpec& trend = s->campaigns[0];
  EXPECT_EQ(trend.kind, CampaignKind::kTrendRiding);
  EXPECT_FALSE(trend.origin.known());
  EXPECT_TRUE(trend.trend.hashtag.empty());
  EXPECT_EQ(trend.ramp_in, absl::Minutes(10));
  EXPECT_EQ(trend.network.accounts, 60);
  const CampaignSpec& bursts = s->campaigns[1];
  EXPECT_EQ(bursts.bursts.url, 4);
  EXPECT_EQ(bursts.bursts.text, 1);
  EXPECT_EQ(bursts.bursts.repost, 0);
  EXPECT_EQ(bursts.bursts.min_accounts, 8);
  EXPECT_EQ(bursts.bursts.max_accounts, 15);
  EXPECT_EQ(bursts.bursts.spread, absl::Seconds(30));
  EXPECT_EQ(bursts.ramp_in, absl::ZeroDuration());
  const CampaignSpec& fresh = s->campaigns[2];
  EXPECT_EQ(fresh.network.created_within, absl::Hours(14 * 24));
  EXPECT_DOUBLE_EQ(fresh.network.new_account_share, 1);
  const CampaignSpec& media = s->campaigns[3];
  EXPECT_EQ(media.media.articles, 12);
  EXPECT_TRUE(media.media.domains.empty());
  EXPECT_DOUBLE_EQ(media.network.state_affiliated_share, 0.2);
  const CampaignSpec& ads = s->campaigns[4];
  EXPECT_DOUBLE_EQ(ads.ads.per_hour, 4);
  EXPECT_EQ(ads.ads.pages, 2);
  EXPECT_EQ(ads.ads.spend_lower, 1000);
  EXPECT_EQ(ads.ads.spend_upper, 9999);
  EXPECT_DOUBLE_EQ(ads.ads.missing_disclaimer_share, 0.5);
  const CampaignSpec& clock = s->campaigns[5];
  EXPECT_EQ(clock.clock.utc_offset, absl::Hours(8));
  EXPECT_EQ(clock.clock.work_start, 9);
  EXPECT_EQ(clock.clock.work_end, 18);
  EXPECT_DOUBLE_EQ(clock.clock.posts_per_day, 8);
  EXPECT_EQ(clock.network.accounts, 30);
  EXPECT_EQ(s->campaigns[6].ramp_in, absl::Minutes(20));
  EXPECT_EQ(ExpectedDetector(trend.kind), "foreign_share");
  EXPECT_EQ(ExpectedDetector(CampaignKind::kViralLink), "");
}

// Each key a kind takes beyond the common ones is its own section, read by
// its KindSpec::parse: a mapping whose unknown keys are rejected there.
TEST(Scenario, EachKindReadsItsOwnSections) {
  const std::set<std::string_view> common = {"ramp_in",         "ramp_out",
                                             "rate_multiplier", "rate_per_min",
                                             "network",         "content"};
  int sections = 0;
  for (int k = 0; k < kNumCampaignKinds; ++k) {
    const internal::KindSpec& spec =
        internal::Kind(static_cast<CampaignKind>(k));
    for (std::string_view key : spec.keys) {
      if (common.contains(key)) continue;
      ++sections;
      EXPECT_NE(spec.parse, nullptr) << spec.name;
      const std::string yaml =
          absl::StrCat("  - kind: ", ToAbsl(spec.name), "\n    ", ToAbsl(key),
                       ": {zz: 1}\n");
      EXPECT_THAT(
          Msg(ParseError(OneCampaign(yaml))),
          HasSubstr(absl::StrCat("campaigns[0].", ToAbsl(key),
                                 ".zz: unknown key (expected one of: ")))
          << spec.name;
    }
  }
  // trend, bursts, media, ads, clock, link.
  EXPECT_EQ(sections, 6);
}

TEST(Scenario, EachNewKindRejectsTheKeysOfOtherKinds) {
  EXPECT_THAT(
      Msg(ParseError(OneCampaign(R"(  - name: b
    kind: coordinated_sharing
    target: MD
    origin: RU
    start: 1d
    duration: 1h
    rate_per_min: 5
)"))),
      StartsWith("s.yaml:9: campaigns[0].rate_per_min: unknown key (expected "
                 "one of: name, kind, target, origin, start, duration, "
                 "network, bursts, content)"));
  EXPECT_THAT(Msg(ParseError(OneCampaign(
                  "  - {name: a, kind: trend_riding, target: DE, origin: RU, "
                  "start: 1d, duration: 1h, rate_per_min: 2}\n"))),
              HasSubstr("campaigns[0].origin: unknown key"));
  EXPECT_THAT(
      Msg(ParseError(OneCampaign(
          "  - {name: c, kind: new_account_burst, target: RO, origin: RO, "
          "start: 1d, duration: 1h, rate_per_min: 3,\n"
          "     network: {new_account_share: 0.5}}\n"))),
      HasSubstr("campaigns[0].network.new_account_share: unknown key "
                "(expected one of: accounts, state_affiliated_share, "
                "platforms, created_within)"));
  EXPECT_THAT(Msg(ParseError(OneCampaign(
                  "  - {name: b, kind: coordinated_sharing, target: MD, "
                  "origin: RU, start: 1d, duration: 1h,\n"
                  "     content: {hashtags: [x]}}\n"))),
              HasSubstr("campaigns[0].content.hashtags: unknown key"));
  EXPECT_THAT(Msg(ParseError(OneCampaign(
                  "  - {name: f, kind: posting_clock, target: DE, origin: DE, "
                  "start: 0h, duration: 5d, clock: {utc_offset: \"+08:00\"},\n"
                  "     content: {lang: de}}\n"))),
              HasSubstr("campaigns[0].content: unknown key"));
  // And unknown keys inside each kind's own section.
  for (const auto& [section, key] :
       std::vector<std::pair<std::string, std::string>>{{"trend", "tag"},
                                                        {"bursts", "urls"},
                                                        {"media", "domain"},
                                                        {"ads", "amount"},
                                                        {"clock", "timezone"},
                                                        {"link", "href"}}) {
    std::string yaml(kEveryNewKind);
    const std::string anchor = section + ": {";
    const size_t at = yaml.find(anchor);
    if (at == std::string::npos) {
      // trend, bursts, media, link have no section in kEveryNewKind yet.
      const std::map<std::string, std::string> kinds = {{"trend", "name: a,"},
                                                        {"bursts", "name: b,"},
                                                        {"media", "name: d,"},
                                                        {"link", "name: g,"}};
      const size_t entry = yaml.find(kinds.at(section));
      ASSERT_NE(entry, std::string::npos) << section;
      yaml.insert(entry, section + ": {" + key + ": 1}, ");
    } else {
      yaml.insert(at + anchor.size(), key + ": 1, ");
    }
    EXPECT_THAT(Msg(ParseError(yaml)),
                HasSubstr("." + section + "." + key + ": unknown key"))
        << section;
  }
}

TEST(Scenario, NewKindsNameTheirMissingRequiredKeys) {
  EXPECT_EQ(Msg(ParseError(OneCampaign(
                "  - {name: d, kind: state_media_amplification, target: DE, "
                "origin: DE, start: 1d, duration: 1h}\n"))),
            "s.yaml:3: campaigns[0]: missing required key rate_per_min");
  EXPECT_EQ(Msg(ParseError(OneCampaign(
                "  - {name: e, kind: foreign_ad_spend, target: MD, origin: RU, "
                "start: 1d, duration: 1h}\n"))),
            "s.yaml:3: campaigns[0]: missing required key ads");
  EXPECT_EQ(Msg(ParseError(OneCampaign(
                "  - {name: e, kind: foreign_ad_spend, target: MD, origin: RU, "
                "start: 1d, duration: 1h, ads: {pages: 2}}\n"))),
            "s.yaml:3: campaigns[0]: missing required key ads.per_hour");
  EXPECT_EQ(Msg(ParseError(OneCampaign(
                "  - {name: f, kind: posting_clock, target: DE, origin: DE, "
                "start: 0h, duration: 1d}\n"))),
            "s.yaml:3: campaigns[0]: missing required key clock");
  EXPECT_EQ(Msg(ParseError(OneCampaign(
                "  - {name: f, kind: posting_clock, target: DE, origin: DE, "
                "start: 0h, duration: 2d,\n"
                "     clock: {posts_per_day: 5}}\n"))),
            "s.yaml:4: campaigns[0].clock.utc_offset: is required");
}

TEST(Scenario, NewKindsRejectValuesTheirDetectorCouldNotSeeOrThatMakeNoSense) {
  struct Case {
    std::string_view name;
    std::string_view from, to;  // a replacement in kEveryNewKind
    std::string_view error;
  };
  const Case cases[] = {
      {"burst accounts not a pair", "name: b,",
       "name: b, bursts: {accounts: [8]},",
       "campaigns[1].bursts.accounts: must be a list of two integers"},
      {"burst accounts beyond the network", "name: b,",
       "name: b, bursts: {accounts: [8, 50]},",
       "campaigns[1].bursts.accounts: needs 50 distinct accounts but the "
       "network has 40"},
      {"short storm message", "name: b,",
       "name: b, content: {messages: [vote for peace]},",
       "campaigns[1].content.messages: \"vote for peace\" has fewer than 5 "
       "words"},
      {"old accounts", "name: c,",
       "name: c, network: {created_within: 30d, accounts: 5},",
       "campaigns[2].network.created_within: must be at least 1d, and with "
       "the campaign duration less than 30d"},
      {"not a domain", "name: d,", "name: d, media: {domains: [RT.com]},",
       "campaigns[3].media.domains: \"RT.com\" is not a lower-case domain "
       "name"},
      {"domestic payer", "origin: RU, start: 1d,\n     duration: 1h, ads",
       "origin: MD, start: 1d,\n     duration: 1h, ads",
       "campaigns[4].origin: must differ from target MD for "
       "foreign_ad_spend"},
      {"no standard spend range", "{per_hour: 4}",
       "{per_hour: 4, spend: [1, 50]}",
       "campaigns[4].ads.spend: contains none of the standard spend ranges"},
      {"office in the target's zone", "\"+08:00\"", "\"+03:00\"",
       "campaigns[5].clock.utc_offset: must be at least 3 hours from DE's "
       "own offset"},
      {"working hours backwards", "\"+08:00\"",
       "\"+08:00\", work_hours: [18, 9]",
       "campaigns[5].clock.work_hours: must be [start, end) hours"},
      {"too few working days", "start: 0h,\n     duration: 5d",
       "start: 0h,\n     duration: 2d",
       "campaigns[5].duration: must cover at least 3 weekdays"},
      {"no such trend", "name: a,", "name: a, trend: {hashtag: nosuchtag},",
       "campaigns[0].trend.hashtag: \"nosuchtag\" is not one of DE's "
       "hashtags"},
      {"domestic trend origin", "name: a,",
       "name: a, trend: {origins: {DE: 1}},",
       "campaigns[0].trend.origins.DE: must differ from the target"},
      {"viral link from outside",
       "name: g, kind: viral_link, target: MD, "
       "origin: MD",
       "name: g, kind: viral_link, target: MD, origin: CN",
       "campaigns[6].origin: CN is not one of MD's origins"},
      {"rate for a burst kind", "name: b,", "name: b, rate_multiplier: 2,",
       "campaigns[1].rate_multiplier: unknown key"},
  };
  for (const Case& c : cases) {
    std::string yaml(kEveryNewKind);
    const size_t at = yaml.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.name;
    yaml.replace(at, c.from.size(), c.to);
    const absl::Status st = ParseError(yaml);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(Msg(st), HasSubstr(std::string(c.error))) << c.name;
  }
}

TEST(Scenario, BackgroundScaleAndStateMediaShareAreChecked) {
  EXPECT_THAT(Msg(ParseError("background_scale: 0\n")),
              StartsWith("s.yaml:1: background_scale: must be in (0, 100]"));
  EXPECT_THAT(
      Msg(ParseError("posts:\n  state_media_share: 2\n")),
      StartsWith("s.yaml:2: posts.state_media_share: must be in [0, 1]"));
  const absl::StatusOr<Scenario> s = ParseScenario(
      "background_scale: 0.25\nposts: {state_media_share: 0.02}\n", "s.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->background_scale, 0.25);
  EXPECT_DOUBLE_EQ(s->posts.state_media_share, 0.02);
}

TEST(Scenario, UnknownKindErrorListsEveryKind) {
  std::string yaml(kCampaignYaml);
  yaml.replace(yaml.find("foreign_origin_surge"), 20, "bot_swarm");
  EXPECT_THAT(Msg(ParseError(yaml)),
              HasSubstr("(known: foreign_origin_surge, organic_rise, "
                        "trend_riding, coordinated_sharing, new_account_burst, "
                        "state_media_amplification, foreign_ad_spend, "
                        "posting_clock, viral_link)"));
}

}  // namespace
}  // namespace vigia::gen
