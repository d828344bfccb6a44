// foreign_origin_surge: a network of accounts operating from `origin` pushes
// near-duplicate posts, shared URLs and hashtags at `target`.
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {

const KindSpec& ForeignOriginSurgeKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kForeignOriginSurge,
      .name = "foreign_origin_surge",
      .detector = "foreign_origin_surge",
      .foreign_origin = true,
      .intensity = Intensity::kMultiplierOrRate,
      .keys = {"ramp_in", "ramp_out", "rate_multiplier", "rate_per_min",
               "network", "content"},
      .content_keys = {"lang", "messages", "urls", "hashtags", "repost_share",
                       "url_share"},
      .defaults =
          [](CampaignSpec* c) { c->ramp_in = c->ramp_out = absl::Minutes(5); },
      .check =
          [](const Scenario&, const CampaignSpec& c, const TargetSpec&,
             const std::string& path) { return CheckContent(c.content, path); },
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
