// The registry is the one list of detectors: every detector on it is read
// from its own config section, hashed, built, documented and shipped in the
// example config. A detector added to the list without those fails here.
#include "pipeline/detectors.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"
#include "pipeline/core/strings.h"
#include "pipeline/pipeline.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(VIGIA_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> BuiltOperatorNames(const Config& config) {
  std::vector<std::string> names;
  for (const auto& op : Pipeline::MakeOperators(config)) {
    names.emplace_back(op->name());
  }
  return names;
}

std::vector<std::string> RegisteredNames() {
  std::vector<std::string> names;
  for (const DetectorDescriptor& d : Detectors()) names.emplace_back(d.name);
  return names;
}

TEST(DetectorRegistry, NamesAreUniqueAndFindable) {
  ASSERT_FALSE(Detectors().empty());
  std::set<std::string_view> seen;
  for (const DetectorDescriptor& d : Detectors()) {
    EXPECT_TRUE(seen.insert(d.name).second) << d.name << " registered twice";
    EXPECT_EQ(FindDetector(d.name), &d);
  }
  EXPECT_EQ(FindDetector("no_such_detector"), nullptr);
}

TEST(DetectorRegistry, DefaultConfigBuildsEveryDetectorUnderItsName) {
  // The operator's own name must be the registry's: alerts, metrics and the
  // config section all say the same.
  EXPECT_EQ(BuiltOperatorNames(DefaultConfig()), RegisteredNames());
}

TEST(DetectorRegistry, EachSectionIsReadFromItsOwnKey) {
  for (const DetectorDescriptor& d : Detectors()) {
    SCOPED_TRACE(d.name);
    absl::StatusOr<Config> config =
        ParseConfig(absl::StrCat("detectors:\n  ", ToAbsl(d.name),
                                 ":\n    enabled: false\n"),
                    "test.yaml");
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_FALSE(d.enabled(*config));
    std::vector<std::string> want;
    for (const DetectorDescriptor& other : Detectors()) {
      EXPECT_EQ(other.enabled(*config), &other != &d) << other.name;
      if (&other != &d) want.emplace_back(other.name);
    }
    EXPECT_EQ(BuiltOperatorNames(*config), want);
  }
}

TEST(DetectorRegistry, EachSectionRejectsUnknownKeysAtItsPath) {
  for (const DetectorDescriptor& d : Detectors()) {
    absl::StatusOr<Config> config =
        ParseConfig(absl::StrCat("detectors:\n  ", ToAbsl(d.name),
                                 ":\n    no_such_key: 1\n"),
                    "test.yaml");
    ASSERT_FALSE(config.ok()) << d.name;
    EXPECT_EQ(config.status().message(),
              absl::StrCat("test.yaml:3: ", d.config_path(),
                           ".no_such_key: unknown key"));
  }
}

TEST(DetectorRegistry, EverySettingOfEachDetectorEntersTheHash) {
  const std::string canonical = CanonicalConfig(DefaultConfig());
  for (const DetectorDescriptor& d : Detectors()) {
    EXPECT_THAT(canonical,
                HasSubstr(absl::StrCat(d.config_path(), ".enabled = true\n")));
    Config disabled = DefaultConfig();
    d.set_enabled(disabled, false);
    EXPECT_THAT(CanonicalConfig(disabled),
                HasSubstr(absl::StrCat(d.config_path(), ".enabled = false\n")));
    EXPECT_NE(disabled.hash(), DefaultConfig().hash()) << d.name;
  }
}

TEST(DetectorRegistry, EveryDetectorIsDocumented) {
  const std::string config_md = ReadSourceFile("docs/config.md");
  const std::string detectors_md = ReadSourceFile("docs/detectors.md");
  ASSERT_FALSE(config_md.empty());
  ASSERT_FALSE(detectors_md.empty());
  for (const DetectorDescriptor& d : Detectors()) {
    EXPECT_THAT(config_md,
                HasSubstr(absl::StrCat("\n### `", d.config_path(), "`\n")))
        << d.name << " has no section in docs/config.md";
    EXPECT_THAT(detectors_md,
                HasSubstr(absl::StrCat("\n## ", ToAbsl(d.name), "\n")))
        << d.name << " has no section in docs/detectors.md (" << d.docs_anchor()
        << ")";
  }
}

TEST(DetectorRegistry, EveryDetectorIsInTheExampleConfig) {
  const std::string path =
      std::string(VIGIA_SOURCE_DIR) + "/deploy/vigia.example.yaml";
  ASSERT_TRUE(LoadConfigFile(path).ok()) << LoadConfigFile(path).status();
  const YAML::Node detectors = YAML::LoadFile(path)["detectors"];
  ASSERT_TRUE(detectors.IsMap());
  for (const DetectorDescriptor& d : Detectors()) {
    const YAML::Node section = detectors[std::string(d.name)];
    EXPECT_TRUE(section.IsMap()) << d.name << " is not in vigia.example.yaml";
  }
  // And nothing there that is not registered (the loader rejects it too).
  for (const auto& kv : detectors) {
    EXPECT_NE(FindDetector(kv.first.Scalar()), nullptr) << kv.first.Scalar();
  }
}

}  // namespace
}  // namespace vigia
