// organic_rise: a genuine, gradual rise of a (target, origin) pair's usual
// traffic; not interference.
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {

const KindSpec& OrganicRiseKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kOrganicRise,
      .name = "organic_rise",
      .own_network = false,
      .intensity = Intensity::kMultiplier,
      .keys = {"ramp_in", "ramp_out", "rate_multiplier"},
      .defaults =
          [](CampaignSpec* c) { c->ramp_in = c->ramp_out = absl::Hours(1); },
      .check = [](const Scenario&, const CampaignSpec&, const TargetSpec&,
                  const std::string&) -> std::optional<Problem> {
        return std::nullopt;
      },
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
