// Fuzz target for the two strict YAML readers: the configuration
// (ParseConfig) and generator scenarios (gen::ParseScenario). Any text must
// parse or be refused with a status, without crashing or hanging, and what
// parses must parse the same way again. Built as a libFuzzer binary with
// VIGIA_LIBFUZZER, and otherwise linked with tests/fuzz_replay_main.cc to
// replay the seed corpus (tests/testdata/yaml_corpus) in ctest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/config.h"
#include "pipeline/gen/scenario.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void FuzzConfig(std::string_view text) {
  const absl::StatusOr<vigia::Config> a = vigia::ParseConfig(text, "fuzz");
  if (!a.ok()) {
    // A refusal says where and why.
    Check(!a.status().message().empty());
    return;
  }
  // What was accepted canonicalises, and deterministically.
  const absl::StatusOr<vigia::Config> b = vigia::ParseConfig(text, "fuzz");
  Check(b.ok());
  Check(vigia::CanonicalConfig(*a) == vigia::CanonicalConfig(*b));
  Check(a->hash() == b->hash());
  (void)vigia::CanonicalConnections(*a);
}

void FuzzScenario(std::string_view text) {
  const absl::StatusOr<vigia::gen::Scenario> s =
      vigia::gen::ParseScenario(text, "fuzz");
  if (!s.ok()) Check(!s.status().message().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzConfig(text);
  FuzzScenario(text);
  return 0;
}
