// Scenario validation helpers shared by validate.cc and the campaign kinds
// (kinds/): a Problem is a key path and what is wrong with it, turned into
// the "path: problem" message of ValidateScenario(). Internal to
// vigia::gen; stateless and thread-safe.
#ifndef VIGIA_PIPELINE_GEN_CHECKS_H_
#define VIGIA_PIPELINE_GEN_CHECKS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/types.h"
#include "pipeline/gen/scenario.h"

namespace vigia::gen::internal {

// A validation problem: the key path it concerns and what is wrong.
struct Problem {
  std::string path;
  std::string message;
};

bool IsValidUtf8(std::string_view s);

// A number as error messages print it.
std::string Fmt(double v);

std::optional<Problem> CheckShare(double v, std::string path);
std::optional<Problem> CheckMix(const std::vector<NamedShare>& mix,
                                const std::string& path, bool allow_empty);
std::optional<Problem> CheckStrings(const std::vector<std::string>& list,
                                    const std::string& path);
std::optional<Problem> CheckHttpUrls(const std::vector<std::string>& urls,
                                     const std::string& path);
// `path`.content of the kinds that read all of ContentSpec.
std::optional<Problem> CheckContent(const ContentSpec& k,
                                    const std::string& path);

const TargetSpec* FindTarget(const Scenario& s, CountryCode c);
// The origin's share of the target's posts (origins normalized), 0 if it is
// not one of them.
double PairShare(const TargetSpec& t, CountryCode origin);

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_CHECKS_H_
