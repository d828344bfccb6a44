// viral_link: many of a pair's usual accounts share one popular link over
// an hour or two, never five within a minute; not interference.
#include "absl/strings/str_cat.h"
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {
namespace {

std::optional<Problem> Check(const Scenario&, const CampaignSpec& c,
                             const TargetSpec& target,
                             const std::string& path) {
  if (PairShare(target, c.origin) <= 0) {
    return Problem{
        path + ".origin",
        absl::StrCat(c.origin.str(), " is not one of ", c.target.str(),
                     "'s origins; a viral link spreads "
                     "through the pair's usual accounts")};
  }
  if (!c.link.url.empty()) {
    if (auto p = CheckStrings({c.link.url}, path + ".link.url")) return p;
    if (auto p = CheckHttpUrls({c.link.url}, path + ".link.url")) return p;
  }
  return std::nullopt;
}

}  // namespace

const KindSpec& ViralLinkKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kViralLink,
      .name = "viral_link",
      .own_network = false,
      .intensity = Intensity::kRatePerMin,
      .keys = {"ramp_in", "ramp_out", "rate_per_min", "link"},
      .defaults =
          [](CampaignSpec* c) { c->ramp_in = c->ramp_out = absl::Minutes(20); },
      .check = &Check,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
