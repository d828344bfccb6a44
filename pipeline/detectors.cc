#include "pipeline/detectors.h"

#include <memory>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "operators/coordinated_sharing.h"
#include "operators/foreign_ad_spend.h"
#include "operators/foreign_origin_surge.h"
#include "operators/foreign_share.h"
#include "operators/new_account_burst.h"
#include "operators/posting_clock.h"
#include "operators/state_media_amplification.h"
#include "pipeline/core/canonical_writer.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/yaml_config.h"

namespace vigia {
namespace {

// A descriptor for the detector whose options are the Config member
// `kOptions` and whose factory is `kMake`. ParseOptions and WriteCanonical
// are found by overload on the options type, so a detector that forgets to
// declare them does not compile.
template <auto kOptions, auto kMake>
constexpr DetectorDescriptor Detector(std::string_view name,
                                      bool in_kafka_tests) {
  return DetectorDescriptor{
      name,
      in_kafka_tests,
      [](ConfigMap& section, Config& config) {
        return ParseOptions(section, &(config.*kOptions));
      },
      [](const Config& config, std::string_view prefix, CanonicalWriter& w) {
        WriteCanonical(prefix, config.*kOptions, w);
      },
      [](const Config& config) { return (config.*kOptions).enabled; },
      [](Config& config, bool enabled) {
        (config.*kOptions).enabled = enabled;
      },
      [](const Config& config, const OperatorContext& context) {
        return kMake(config.*kOptions, context);
      },
  };
}

constexpr bool kKafkaTests = true;

// The registry. Order matters (see the header): append new detectors.
constexpr DetectorDescriptor kDetectors[] = {
    Detector<&Config::foreign_origin_surge, &MakeForeignOriginSurge>(
        "foreign_origin_surge", kKafkaTests),
    Detector<&Config::coordinated_sharing, &MakeCoordinatedSharing>(
        "coordinated_sharing", !kKafkaTests),
    Detector<&Config::new_account_burst, &MakeNewAccountBurst>(
        "new_account_burst", !kKafkaTests),
    Detector<&Config::state_media_amplification, &MakeStateMediaAmplification>(
        "state_media_amplification", !kKafkaTests),
    Detector<&Config::foreign_share, &MakeForeignShare>("foreign_share",
                                                        !kKafkaTests),
    Detector<&Config::foreign_ad_spend, &MakeForeignAdSpend>("foreign_ad_spend",
                                                             !kKafkaTests),
    Detector<&Config::posting_clock, &MakePostingClock>("posting_clock",
                                                        !kKafkaTests),
};

}  // namespace

std::string DetectorDescriptor::config_path() const {
  return absl::StrCat("detectors.", ToAbsl(name));
}

std::string DetectorDescriptor::docs_anchor() const {
  return absl::StrCat("docs/detectors.md#", ToAbsl(name));
}

absl::Span<const DetectorDescriptor> Detectors() { return kDetectors; }

const DetectorDescriptor* FindDetector(std::string_view name) {
  for (const DetectorDescriptor& d : kDetectors) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

}  // namespace vigia
