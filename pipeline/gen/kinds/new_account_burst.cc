// new_account_burst: a network of accounts all created days before the
// campaign posts at the target, with foreign_origin_surge's content.
#include "pipeline/core/json_writer.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/kinds/surge.h"
#include "pipeline/gen/model.h"
#include "pipeline/gen/render.h"

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

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const CampaignContent& cc = m.campaign_content[st.campaign];
  WriteCountsTruth(m, st, w);
  int64_t oldest = INT64_MAX, newest = INT64_MIN;
  const Pool& pool = m.pools[st.pool];
  for (size_t k = 0; k < st.used.size(); ++k) {
    if (!st.used[k]) continue;
    oldest = std::min(oldest, pool.accounts[k].created_ms);
    newest = std::max(newest, pool.accounts[k].created_ms);
  }
  const bool none = oldest > newest;  // no account posted
  w.Key("accounts_created_from");
  if (none) {
    w.Null();
  } else {
    w.String(FormatRfc3339(absl::FromUnixMillis(oldest)));
  }
  w.Key("accounts_created_to");
  if (none) {
    w.Null();
  } else {
    w.String(FormatRfc3339(absl::FromUnixMillis(newest)));
  }
  w.Field("max_account_age_days",
          static_cast<double>(KindStateOf<SurgeState>(st).max_account_age_ms) /
              kMsPerDay);
  StringArray(w, "urls", cc.urls);
  StringArray(w, "hashtags", cc.hashtags);
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
            DefaultNetwork(c, 40, 1, 0);
          },
      .check = &Check,
      .prepare = &PrepareSurge,
      .arrivals = &RatePerMinArrivals,
      .render = &RenderSurgePost,
      .truth = &Truth,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
