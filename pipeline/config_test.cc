#include "pipeline/config.h"

#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The repository root, from this file's path, to find the example config.
std::string RepoRoot() {
  const std::string file = __FILE__;
  const std::string suffix = "pipeline/config_test.cc";
  const std::string root = file.substr(0, file.size() - suffix.size());
  return root.empty() ? "./" : root;
}

// Returns the error message ParseConfig gives for `yaml`, failing the test
// unless it is InvalidArgument.
std::string ErrorFor(std::string_view yaml) {
  absl::StatusOr<Config> config = ParseConfig(yaml, "config.yaml");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument)
      << config.status();
  return std::string(config.status().message());
}

Config MustParse(std::string_view yaml) {
  absl::StatusOr<Config> config = ParseConfig(yaml, "config.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : Config{};
}

// ---------------------------------------------------------------------------
// Defaults and valid files.

TEST(Config, DefaultsAreTheDocumentedValues) {
  const Config c = DefaultConfig();
  EXPECT_EQ(c.decoder.max_event_bytes, 1048576u);
  EXPECT_EQ(c.watermark.max_out_of_orderness, absl::Seconds(30));
  EXPECT_EQ(c.watermark.allowed_lateness, absl::ZeroDuration());
  EXPECT_EQ(c.watermark.idle_timeout, absl::Seconds(60));
  EXPECT_EQ(c.evidence_max_samples, 10);
  EXPECT_EQ(c.evidence_top_n, 5);
  const ForeignOriginSurgeOptions& f = c.foreign_origin_surge;
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.window, absl::Minutes(10));
  EXPECT_EQ(f.hop, absl::Minutes(1));
  EXPECT_TRUE(f.targets.empty());
  EXPECT_EQ(f.max_keys, 10000);
  EXPECT_EQ(f.scoring.warmup, absl::Hours(1));
  EXPECT_EQ(f.scoring.level_half_life, absl::Hours(3));
  EXPECT_TRUE(f.scoring.daily_cycle);
  EXPECT_EQ(f.scoring.daily_half_life_days, 2.0);
  EXPECT_EQ(f.scoring.min_expected, 1.0);
  EXPECT_EQ(f.scoring.anomaly_clip_ratio, 1.5);
  EXPECT_TRUE(f.scoring.counts);
  EXPECT_EQ(f.scoring.dispersion_half_life, absl::Hours(24));
  ASSERT_EQ(f.scoring.levels.size(), 3u);
  EXPECT_EQ(f.scoring.levels[0].severity, Severity::kInfo);
  EXPECT_EQ(f.scoring.levels[1].severity, Severity::kWarning);
  EXPECT_EQ(f.scoring.levels[2].severity, Severity::kCritical);
  EXPECT_EQ(f.scoring.levels[2].min_score, 8);
  EXPECT_EQ(f.scoring.levels[2].min_ratio, 5);
  EXPECT_EQ(f.scoring.levels[2].min_observed, 40);
}

TEST(Config, EmptyFileGivesTheDefaults) {
  EXPECT_EQ(CanonicalConfig(MustParse("")), CanonicalConfig(DefaultConfig()));
  EXPECT_EQ(CanonicalConfig(MustParse("# nothing but a comment\n")),
            CanonicalConfig(DefaultConfig()));
}

TEST(Config, EmptySectionsGiveTheDefaults) {
  const Config c = MustParse(R"(decoder:
watermark: {}
detectors:
  foreign_origin_surge:
)");
  EXPECT_EQ(CanonicalConfig(c), CanonicalConfig(DefaultConfig()));
}

TEST(Config, ExampleFileHoldsExactlyTheDefaults) {
  const std::string path = RepoRoot() + "deploy/vigia.example.yaml";
  absl::StatusOr<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(CanonicalConfig(*config), CanonicalConfig(DefaultConfig()));
  EXPECT_EQ(config->hash(), DefaultConfig().hash());
}

TEST(Config, ExampleFileSetsEveryKeyExplicitly) {
  // Every setting of the canonical form must be spelled out in the example,
  // so that it documents the whole format: check by key name.
  const std::string path = RepoRoot() + "deploy/vigia.example.yaml";
  std::ifstream in(path);
  const std::string example((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
  ASSERT_FALSE(example.empty()) << path;
  for (absl::string_view line : absl::StrSplit(CanonicalConfig(DefaultConfig()),
                                               '\n', absl::SkipEmpty())) {
    std::string key(line.substr(0, line.find(" = ")));
    key = key.substr(key.rfind('.') + 1);
    if (key == "count") continue;  // levels.count is derived
    EXPECT_THAT(example, HasSubstr(key + ":")) << key;
  }
}

constexpr char kFullConfig[] = R"(# Every key, none at its default.
decoder:
  max_event_bytes: 65536
watermark:
  max_out_of_orderness: 2m
  allowed_lateness: 15s
  idle_timeout: 5m
evidence:
  max_samples: 3
  top_n: 7
detectors:
  foreign_origin_surge:
    enabled: false
    window: 1h
    hop: 5m
    targets: [FR, DE, "XK"]
    max_keys: 500
    scoring:
      warmup: 6h
      level_half_life: 12h
      daily_cycle: false
      daily_half_life_days: 3.5
      min_expected: 2.25
      anomaly_clip_ratio: 2
      counts: false
      dispersion_half_life: 36h
      levels:
        - {severity: warning, min_score: 4, min_ratio: 2, min_observed: 15}
        - severity: critical
          min_score: 9.5
          min_ratio: 6
          min_observed: 50
)";

TEST(Config, FullFileParsesEveryKey) {
  const Config c = MustParse(kFullConfig);
  EXPECT_EQ(c.decoder.max_event_bytes, 65536u);
  EXPECT_EQ(c.watermark.max_out_of_orderness, absl::Minutes(2));
  EXPECT_EQ(c.watermark.allowed_lateness, absl::Seconds(15));
  EXPECT_EQ(c.watermark.idle_timeout, absl::Minutes(5));
  EXPECT_EQ(c.evidence_max_samples, 3);
  EXPECT_EQ(c.evidence_top_n, 7);
  const ForeignOriginSurgeOptions& f = c.foreign_origin_surge;
  EXPECT_FALSE(f.enabled);
  EXPECT_EQ(f.window, absl::Hours(1));
  EXPECT_EQ(f.hop, absl::Minutes(5));
  // Stored sorted: the order in the file carries no meaning.
  EXPECT_THAT(f.targets, ElementsAre(CountryCode::FromString("DE"),
                                     CountryCode::FromString("FR"),
                                     CountryCode::FromString("XK")));
  EXPECT_EQ(f.max_keys, 500);
  EXPECT_EQ(f.scoring.warmup, absl::Hours(6));
  EXPECT_EQ(f.scoring.level_half_life, absl::Hours(12));
  EXPECT_FALSE(f.scoring.daily_cycle);
  EXPECT_EQ(f.scoring.daily_half_life_days, 3.5);
  EXPECT_EQ(f.scoring.min_expected, 2.25);
  EXPECT_EQ(f.scoring.anomaly_clip_ratio, 2.0);
  EXPECT_FALSE(f.scoring.counts);
  EXPECT_EQ(f.scoring.dispersion_half_life, absl::Hours(36));
  ASSERT_EQ(f.scoring.levels.size(), 2u);
  EXPECT_EQ(f.scoring.levels[0].severity, Severity::kWarning);
  EXPECT_EQ(f.scoring.levels[0].min_score, 4);
  EXPECT_EQ(f.scoring.levels[0].min_ratio, 2);
  EXPECT_EQ(f.scoring.levels[0].min_observed, 15);
  EXPECT_EQ(f.scoring.levels[1].severity, Severity::kCritical);
  EXPECT_EQ(f.scoring.levels[1].min_score, 9.5);
  EXPECT_EQ(f.scoring.levels[1].min_ratio, 6);
  EXPECT_EQ(f.scoring.levels[1].min_observed, 50);
}

TEST(Config, KeysNotGivenKeepTheirDefaults) {
  const Config c = MustParse(R"(detectors:
  foreign_origin_surge:
    scoring:
      warmup: 2h
)");
  Config expected = DefaultConfig();
  expected.foreign_origin_surge.scoring.warmup = absl::Hours(2);
  EXPECT_EQ(CanonicalConfig(c), CanonicalConfig(expected));
}

TEST(Config, LoadConfigFileNamesTheFileInErrors) {
  const std::string path = testing::TempDir() + "/config_test_bad.yaml";
  {
    std::ofstream out(path);
    out << "evidence:\n  top_n: many\n";
  }
  absl::StatusOr<Config> config = LoadConfigFile(path);
  EXPECT_EQ(
      config.status(),
      absl::InvalidArgumentError(absl::StrCat(
          path, ":2: evidence.top_n: expected an integer, got \"many\"")));
}

TEST(Config, LoadConfigFileOfAMissingFileIsNotFound) {
  const std::string path = testing::TempDir() + "/config_test_missing.yaml";
  absl::StatusOr<Config> config = LoadConfigFile(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr(path));
}

// ---------------------------------------------------------------------------
// Errors: each names the file, the 1-based line and the key path.

TEST(ConfigErrors, UnknownKeyIsReportedWithItsPathAndLine) {
  EXPECT_EQ(ErrorFor(R"(decoder:
  max_event_bytes: 1000
watermark:
  idle_timeout: 1m
detectors:
  foreign_origin_surge:
    windw: 5m
)"),
            "config.yaml:7: detectors.foreign_origin_surge.windw: unknown key");
}

TEST(ConfigErrors, UnknownTopLevelKeyAndUnknownDetector) {
  EXPECT_EQ(ErrorFor("decoder: {}\nsinks: {}\n"),
            "config.yaml:2: sinks: unknown key");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_orign_surge: {}\n"),
            "config.yaml:2: detectors.foreign_orign_surge: unknown key");
}

TEST(ConfigErrors, UnknownKeyInsideALevel) {
  EXPECT_EQ(ErrorFor(R"(detectors:
  foreign_origin_surge:
    scoring:
      levels:
        - severity: info
          min_score: 3
          min_ratio: 1.5
          min_observed: 10
          min_obsreved: 12
)"),
            "config.yaml:9: "
            "detectors.foreign_origin_surge.scoring.levels[0].min_obsreved: "
            "unknown key");
}

TEST(ConfigErrors, DuplicateKey) {
  EXPECT_EQ(ErrorFor("evidence:\n  top_n: 3\n  max_samples: 2\n  top_n: 4\n"),
            "config.yaml:4: evidence.top_n: duplicate key (first on line 2)");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    enabled: yes\n"),
            "config.yaml:3: detectors.foreign_origin_surge.enabled: expected a "
            "boolean (true or false), got \"yes\"");
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples: 2.5\n"),
            "config.yaml:2: evidence.max_samples: expected an integer, got "
            "\"2.5\"");
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples: \"2\"\n"),
            "config.yaml:2: evidence.max_samples: expected an integer, got the "
            "quoted string \"2\"");
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples: [2]\n"),
            "config.yaml:2: evidence.max_samples: expected an integer, got a "
            "list");
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples:\n"),
            "config.yaml:2: evidence.max_samples: expected an integer, got "
            "nothing");
  EXPECT_EQ(ErrorFor("watermark: 30s\n"),
            "config.yaml:1: watermark: expected a mapping, got \"30s\"");
  EXPECT_EQ(ErrorFor("- decoder\n"),
            "config.yaml:1: expected a mapping, got a list");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    targets: DE\n"),
            "config.yaml:3: detectors.foreign_origin_surge.targets: expected a "
            "list, got \"DE\"");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
               "      min_expected: lots\n"),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.min_expected: "
      "expected a number, got \"lots\"");
}

TEST(ConfigErrors, NumbersMustBeFinite) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
                     "      anomaly_clip_ratio: inf\n"),
            "config.yaml:4: detectors.foreign_origin_surge.scoring."
            "anomaly_clip_ratio: must be a finite number");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
               "      min_expected: nan\n"),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.min_expected: "
      "must be a finite number");
}

TEST(ConfigErrors, BadDuration) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    window: 10\n"),
            "config.yaml:3: detectors.foreign_origin_surge.window: expected a "
            "duration such as 30s, 10m or 1h30m, got \"10\"");
  EXPECT_EQ(ErrorFor("watermark:\n  idle_timeout: 1 minute\n"),
            "config.yaml:2: watermark.idle_timeout: expected a duration such "
            "as 30s, 10m or 1h30m, got \"1 minute\"");
  EXPECT_EQ(ErrorFor("watermark:\n  idle_timeout: inf\n"),
            "config.yaml:2: watermark.idle_timeout: must be finite");
}

TEST(ConfigErrors, NonPositiveWindowOrHop) {
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    window: 0s\n"),
            "config.yaml:3: detectors.foreign_origin_surge.window: must be "
            "positive");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    hop: -1m\n"),
            "config.yaml:3: detectors.foreign_origin_surge.hop: must be "
            "positive");
}

TEST(ConfigErrors, WindowNotAMultipleOfHop) {
  EXPECT_EQ(ErrorFor(R"(detectors:
  foreign_origin_surge:
    window: 10m
    hop: 3m
)"),
            "config.yaml:4: detectors.foreign_origin_surge.hop: must divide "
            "window (10m)");
  // With the hop at its default, the window is the key to blame.
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    window: 90s\n"),
            "config.yaml:3: detectors.foreign_origin_surge.window: must be a "
            "multiple of hop (1m)");
}

TEST(ConfigErrors, TooManyHopsPerWindow) {
  EXPECT_EQ(ErrorFor(R"(detectors:
  foreign_origin_surge:
    window: 24h
    hop: 1s
)"),
            "config.yaml:4: detectors.foreign_origin_surge.hop: window / hop "
            "must be at most 10000, is 86400");
}

TEST(ConfigErrors, BadCountryInTargets) {
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    targets: [DE, UK]\n"),
      "config.yaml:3: detectors.foreign_origin_surge.targets[1]: \"UK\" is "
      "not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)");
  EXPECT_EQ(ErrorFor(R"(detectors:
  foreign_origin_surge:
    targets:
      - FR
      - de
)"),
            "config.yaml:5: detectors.foreign_origin_surge.targets[1]: \"de\" "
            "is not an ISO 3166-1 alpha-2 country code");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    targets: [EU]\n"),
      "config.yaml:3: detectors.foreign_origin_surge.targets[0]: \"EU\" is "
      "not an ISO 3166-1 alpha-2 country code");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    targets: [FR, FR]\n"),
      "config.yaml:3: detectors.foreign_origin_surge.targets[1]: duplicate "
      "target FR");
}

TEST(ConfigErrors, NorwayIsACountryNotABoolean) {
  const Config c =
      MustParse("detectors:\n  foreign_origin_surge:\n    targets: [NO]\n");
  EXPECT_THAT(c.foreign_origin_surge.targets,
              ElementsAre(CountryCode::FromString("NO")));
}

constexpr char kLevelsHeader[] = R"(detectors:
  foreign_origin_surge:
    scoring:
      levels:
)";

TEST(ConfigErrors, LevelsOutOfOrder) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: warning, min_score: 5, min_ratio: 3, min_observed: 20}
        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
)")),
      "config.yaml:6: detectors.foreign_origin_surge.scoring.levels[1]."
      "severity: must be above levels[0]'s (warning); list levels from the "
      "lowest severity up");
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - {severity: info, min_score: 5, min_ratio: 3, min_observed: 20}
)")),
      "config.yaml:6: detectors.foreign_origin_surge.scoring.levels[1]."
      "severity: must be above levels[0]'s (info); list levels from the "
      "lowest severity up");
}

TEST(ConfigErrors, LevelThresholdsMustNotDecreaseUpTheLadder) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - severity: critical
          min_score: 8
          min_ratio: 1.2
          min_observed: 40
)")),
      "config.yaml:8: detectors.foreign_origin_surge.scoring.levels[1]."
      "min_ratio: must not be below levels[0]'s min_ratio");
}

TEST(ConfigErrors, UnknownSeverity) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: high, min_score: 3, min_ratio: 1.5, min_observed: 10}
)")),
      "config.yaml:5: detectors.foreign_origin_surge.scoring.levels[0]."
      "severity: unknown severity \"high\" (expected info, warning or "
      "critical)");
}

TEST(ConfigErrors, LevelMissingAKey) {
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - severity: warning
          min_score: 5
          min_observed: 20
)")),
      "config.yaml:6: detectors.foreign_origin_surge.scoring.levels[1]."
      "min_ratio: missing (every level sets severity, min_score, min_ratio "
      "and min_observed)");
}

TEST(ConfigErrors, LevelListEmptyOrTooLongOrNotMappings) {
  EXPECT_EQ(ErrorFor(absl::StrCat(kLevelsHeader, "        []\n")),
            "config.yaml:4: detectors.foreign_origin_surge.scoring.levels: "
            "needs at least one level");
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10}
        - {severity: warning, min_score: 5, min_ratio: 3, min_observed: 20}
        - {severity: critical, min_score: 8, min_ratio: 5, min_observed: 40}
        - {severity: critical, min_score: 9, min_ratio: 6, min_observed: 50}
)")),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.levels: has "
      "more than 3 levels (info, warning, critical)");
  EXPECT_EQ(ErrorFor(absl::StrCat(kLevelsHeader, "        - info\n")),
            "config.yaml:5: detectors.foreign_origin_surge.scoring.levels[0]: "
            "expected a mapping, got \"info\"");
}

TEST(ConfigErrors, NegativeOrOutOfRangeNumbers) {
  EXPECT_EQ(ErrorFor("evidence:\n  max_samples: -1\n"),
            "config.yaml:2: evidence.max_samples: must be between 0 and 1000");
  EXPECT_EQ(ErrorFor("decoder:\n  max_event_bytes: 0\n"),
            "config.yaml:2: decoder.max_event_bytes: must be between 1 and "
            "1073741824");
  EXPECT_EQ(ErrorFor("decoder:\n  max_event_bytes: 99999999999999999999\n"),
            "config.yaml:2: decoder.max_event_bytes: must be between 1 and "
            "1073741824");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    max_keys: 0\n"),
      "config.yaml:3: detectors.foreign_origin_surge.max_keys: must be at "
      "least 1");
  EXPECT_EQ(ErrorFor("watermark:\n  allowed_lateness: -5s\n"),
            "config.yaml:2: watermark.allowed_lateness: must not be negative");
  EXPECT_EQ(ErrorFor("watermark:\n  idle_timeout: 0s\n"),
            "config.yaml:2: watermark.idle_timeout: must be positive");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
               "      min_expected: 0\n"),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.min_expected: "
      "must be positive");
  EXPECT_EQ(ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
                     "      anomaly_clip_ratio: 0.5\n"),
            "config.yaml:4: detectors.foreign_origin_surge.scoring."
            "anomaly_clip_ratio: must be at least 1");
  EXPECT_EQ(
      ErrorFor("detectors:\n  foreign_origin_surge:\n    scoring:\n"
               "      warmup: -1h\n"),
      "config.yaml:4: detectors.foreign_origin_surge.scoring.warmup: must not "
      "be negative");
  EXPECT_EQ(
      ErrorFor(absl::StrCat(
          kLevelsHeader,
          R"(        - {severity: info, min_score: -3, min_ratio: 1.5, min_observed: 10}
)")),
      "config.yaml:5: detectors.foreign_origin_surge.scoring.levels[0]."
      "min_score: must not be negative");
}

TEST(ConfigErrors, YamlSyntaxErrorNamesTheLine) {
  EXPECT_EQ(ErrorFor("decoder:\n  max_event_bytes: 10\nwatermark: [1, 2\n"
                     "evidence: {}\n"),
            "config.yaml:4: YAML syntax error: end of sequence flow not found");
  EXPECT_EQ(ErrorFor("decoder:\n  max_event_bytes: 10\n bad: 1\n"),
            "config.yaml:3: YAML syntax error: end of map not found");
}

TEST(ConfigErrors, OnlyOneDocument) {
  EXPECT_EQ(ErrorFor("decoder: {}\n---\nwatermark: {}\n"),
            "config.yaml:3: only one YAML document is allowed");
}

// ---------------------------------------------------------------------------
// The canonical form and the hash.

TEST(CanonicalConfig, ListsEveryEffectiveSettingInAFixedOrder) {
  EXPECT_EQ(CanonicalConfig(DefaultConfig()),
            R"(decoder.max_event_bytes = 1048576
watermark.max_out_of_orderness = 30s
watermark.allowed_lateness = 0
watermark.idle_timeout = 1m
evidence.max_samples = 10
evidence.top_n = 5
detectors.foreign_origin_surge.enabled = true
detectors.foreign_origin_surge.window = 10m
detectors.foreign_origin_surge.hop = 1m
detectors.foreign_origin_surge.targets = []
detectors.foreign_origin_surge.max_keys = 10000
detectors.foreign_origin_surge.scoring.warmup = 1h
detectors.foreign_origin_surge.scoring.level_half_life = 3h
detectors.foreign_origin_surge.scoring.daily_cycle = true
detectors.foreign_origin_surge.scoring.daily_half_life_days = 2
detectors.foreign_origin_surge.scoring.min_expected = 1
detectors.foreign_origin_surge.scoring.anomaly_clip_ratio = 1.5
detectors.foreign_origin_surge.scoring.counts = true
detectors.foreign_origin_surge.scoring.dispersion_half_life = 24h
detectors.foreign_origin_surge.scoring.levels.count = 3
detectors.foreign_origin_surge.scoring.levels[0].severity = info
detectors.foreign_origin_surge.scoring.levels[0].min_score = 3
detectors.foreign_origin_surge.scoring.levels[0].min_ratio = 1.5
detectors.foreign_origin_surge.scoring.levels[0].min_observed = 10
detectors.foreign_origin_surge.scoring.levels[1].severity = warning
detectors.foreign_origin_surge.scoring.levels[1].min_score = 5
detectors.foreign_origin_surge.scoring.levels[1].min_ratio = 3
detectors.foreign_origin_surge.scoring.levels[1].min_observed = 20
detectors.foreign_origin_surge.scoring.levels[2].severity = critical
detectors.foreign_origin_surge.scoring.levels[2].min_score = 8
detectors.foreign_origin_surge.scoring.levels[2].min_ratio = 5
detectors.foreign_origin_surge.scoring.levels[2].min_observed = 40
)");
}

TEST(ConfigHash, IsSha256HexOfTheCanonicalForm) {
  const std::string hash = DefaultConfig().hash();
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  Config other = DefaultConfig();
  other.evidence_top_n = 6;
  EXPECT_NE(other.hash(), hash);
}

TEST(ConfigHash, IgnoresCommentsKeyOrderAndSpelling) {
  const Config a = MustParse(R"(watermark:
  idle_timeout: 2m
  max_out_of_orderness: 45s
detectors:
  foreign_origin_surge:
    window: 20m
    targets: [FR, DE]
)");
  const Config b = MustParse(R"(# The same settings, shuffled and commented.
detectors:
  foreign_origin_surge:
    targets:      # the order of targets is irrelevant too
      - DE
      - FR
    window: 1200s   # = 20m
watermark:
  max_out_of_orderness: 45s
  idle_timeout: 120s
decoder: {}
)");
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_NE(a.hash(), DefaultConfig().hash());
}

TEST(ConfigHash, DefaultsSpelledOutHashLikeAnEmptyFile) {
  EXPECT_EQ(MustParse("evidence:\n  top_n: 5\n").hash(), MustParse("").hash());
}

TEST(ConfigHash, ChangesWithEverySetting) {
  const std::string base = DefaultConfig().hash();
  for (const char* yaml : {
           "decoder: {max_event_bytes: 1048577}",
           "watermark: {max_out_of_orderness: 31s}",
           "watermark: {allowed_lateness: 1ms}",
           "watermark: {idle_timeout: 61s}",
           "evidence: {max_samples: 9}",
           "evidence: {top_n: 4}",
           "detectors: {foreign_origin_surge: {enabled: false}}",
           "detectors: {foreign_origin_surge: {window: 20m}}",
           "detectors: {foreign_origin_surge: {hop: 2m}}",
           "detectors: {foreign_origin_surge: {targets: [DE]}}",
           "detectors: {foreign_origin_surge: {max_keys: 9999}}",
           "detectors: {foreign_origin_surge: {scoring: {warmup: 59m}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{level_half_life: 4h}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{daily_cycle: false}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{daily_half_life_days: 2.0000001}}}",
           "detectors: {foreign_origin_surge: {scoring: {min_expected: 1.5}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{anomaly_clip_ratio: 1.25}}}",
           "detectors: {foreign_origin_surge: {scoring: {counts: false}}}",
           "detectors: {foreign_origin_surge: {scoring: "
           "{dispersion_half_life: 25h}}}",
           "detectors: {foreign_origin_surge: {scoring: {levels: ["
           "{severity: info, min_score: 3, min_ratio: 1.5, min_observed: 10},"
           "{severity: warning, min_score: 5, min_ratio: 3, min_observed: 20}"
           "]}}}",
           "detectors: {foreign_origin_surge: {scoring: {levels: ["
           "{severity: warning, min_score: 3, min_ratio: 1.5, min_observed: "
           "10},"
           "{severity: critical, min_score: 5, min_ratio: 3, min_observed: 20}"
           "]}}}",
       }) {
    SCOPED_TRACE(yaml);
    EXPECT_NE(MustParse(yaml).hash(), base);
  }
}

TEST(MakeOperatorContext, CarriesTheHashAndEvidenceLimits) {
  const Config c = MustParse("evidence: {max_samples: 4, top_n: 2}");
  const OperatorContext context = MakeOperatorContext(c);
  EXPECT_EQ(context.config_hash, c.hash());
  EXPECT_EQ(context.max_samples, 4);
  EXPECT_EQ(context.top_n, 2);
}

}  // namespace
}  // namespace vigia
