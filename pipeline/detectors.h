// The detector registry: every detector vigia runs, once, in one list
// (detectors.cc). The config loader, the config hash, the pipeline's
// operator factory, the tests and the docs checks all read this list, so a
// detector is added with its own files and one line there
// (docs/adding-a-detector.md).
//
// A descriptor ties a detector's name to its options in Config and to the
// functions its own header declares for those options:
//   absl::Status ParseOptions(ConfigMap& section, FooOptions* out);
//   void WriteCanonical(std::string_view prefix, const FooOptions& options,
//                       CanonicalWriter& w);
//   std::unique_ptr<Operator> MakeFoo(const FooOptions& options,
//                                     const OperatorContext& context);
// The list order is the order sections are read, settings enter the config
// hash and operators are built: changing it changes every alert id.
//
// Immutable after static initialisation; thread-safe.
#ifndef VIGIA_PIPELINE_DETECTORS_H_
#define VIGIA_PIPELINE_DETECTORS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "operators/operator.h"
#include "pipeline/config.h"

namespace vigia {

class CanonicalWriter;
class ConfigMap;

struct DetectorDescriptor {
  // The key under `detectors:` in the config, Operator::name() and
  // Alert::detector, e.g. "foreign_origin_surge".
  std::string_view name;
  // Whether the Kafka plumbing tests (tests/kafka) run the detector; those
  // that do not are disabled there.
  bool in_kafka_tests;

  // Reads the section `detectors.<name>` (absent: an empty mapping, so
  // cross-field checks run on the defaults) into `config`.
  absl::Status (*parse)(ConfigMap& section, Config& config);
  // Appends every effective setting under `prefix` ("detectors.<name>").
  void (*write_canonical)(const Config& config, std::string_view prefix,
                          CanonicalWriter& w);
  bool (*enabled)(const Config& config);
  void (*set_enabled)(Config& config, bool enabled);
  // Builds the operator. REQUIRES: `config` was validated by the loader.
  std::unique_ptr<Operator> (*make)(const Config& config,
                                    const OperatorContext& context);

  // "detectors.<name>": the section's key path.
  std::string config_path() const;
  // Where the detector is explained: "docs/detectors.md#<name>".
  std::string docs_anchor() const;
};

// Every detector, in registry order.
absl::Span<const DetectorDescriptor> Detectors();

// The descriptor named `name`, or nullptr.
const DetectorDescriptor* FindDetector(std::string_view name);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_DETECTORS_H_
