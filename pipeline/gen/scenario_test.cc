#include "pipeline/gen/scenario.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/country.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/generator.h"

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
  EXPECT_THAT(BundledScenarioNames(),
              ElementsAre("control", "diaspora", "organic"));
  for (const std::string& name : BundledScenarioNames()) {
    const absl::StatusOr<Scenario> s = LoadScenario(name);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status();
    EXPECT_EQ(s->name, name);
    EXPECT_TRUE(ValidateScenario(*s).ok()) << name;
    EXPECT_EQ(s->duration, absl::Hours(48)) << name;
    EXPECT_EQ(s->targets.size(), 5u) << name;
  }
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
  for (const char* name : {"diaspora", "organic"}) {
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
  EXPECT_THAT(Msg(s.status()), HasSubstr("control, diaspora, organic"));
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

}  // namespace
}  // namespace vigia::gen
