// The scenario YAML files under pipeline/gen/scenarios/, embedded into the
// library at build time (embed_scenarios.cmake writes the definition), so
// that `vigia gen --scenario diaspora` works from any directory. Internal to
// pipeline/gen; the data is static and immutable.
#ifndef VIGIA_PIPELINE_GEN_BUNDLED_SCENARIOS_H_
#define VIGIA_PIPELINE_GEN_BUNDLED_SCENARIOS_H_

#include <span>
#include <string_view>

namespace vigia::gen::internal {

struct BundledScenario {
  std::string_view name;  // file name without ".yaml"
  std::string_view yaml;  // the file's text
};

// Every bundled scenario, sorted by name.
std::span<const BundledScenario> BundledScenarios();

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_BUNDLED_SCENARIOS_H_
