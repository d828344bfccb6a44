// Scenario validation (ValidateScenario, scenario.h), and the problem it
// finds as a key path, which the YAML loader turns into a message with the
// key's line. Internal to vigia::gen; stateless and thread-safe.
#ifndef VIGIA_PIPELINE_GEN_VALIDATE_H_
#define VIGIA_PIPELINE_GEN_VALIDATE_H_

#include <optional>

#include "pipeline/gen/checks.h"
#include "pipeline/gen/scenario.h"

namespace vigia::gen::internal {

// The first problem of `s`, in the order of the format's keys; nullopt if
// Generate() can run it.
std::optional<Problem> FindProblem(const Scenario& s);

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_VALIDATE_H_
