// new_account_burst: a network of accounts all created days before the
// campaign posts at the target, with foreign_origin_surge's content.
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {
namespace {

std::optional<Problem> Check(const Scenario&, const CampaignSpec& c,
                             const TargetSpec&, const std::string& path) {
  const NetworkSpec& n = c.network;
  if (n.created_within < absl::Hours(24) ||
      n.created_within + c.duration >= absl::Hours(30 * 24)) {
    return Problem{path + ".network.created_within",
                   "must be at least 1d, and with the campaign duration less "
                   "than 30d, so that every post is by an account younger "
                   "than 30 days"};
  }
  return CheckContent(c.content, path);
}

}  // namespace

const KindSpec& NewAccountBurstKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kNewAccountBurst,
      .name = "new_account_burst",
      .detector = "new_account_burst",
      .all_accounts_new = true,
      .intensity = Intensity::kRatePerMin,
      .keys = {"ramp_in", "ramp_out", "rate_per_min", "network", "content"},
      .content_keys = {"lang", "messages", "urls", "hashtags", "repost_share",
                       "url_share"},
      .defaults =
          [](CampaignSpec* c) {
            c->ramp_in = c->ramp_out = absl::Minutes(5);
            c->network.accounts = 40;
            c->network.new_account_share = 1;
            c->network.state_affiliated_share = 0;
          },
      .check = &Check,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
