// trend_riding: foreign accounts pile onto one of the target's existing
// hashtags, spread over several origins.
#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {
namespace {

std::optional<Problem> Check(const Scenario&, const CampaignSpec& c,
                             const TargetSpec& target,
                             const std::string& path) {
  const TrendSpec& t = c.trend;
  if (!t.hashtag.empty() &&
      std::find(target.hashtags.begin(), target.hashtags.end(), t.hashtag) ==
          target.hashtags.end()) {
    return Problem{
        path + ".trend.hashtag",
        absl::StrCat("\"", t.hashtag, "\" is not one of ", c.target.str(),
                     "'s hashtags (a trend to ride must "
                     "already exist): ",
                     absl::StrJoin(target.hashtags, ", "))};
  }
  std::set<CountryCode> seen;
  for (const OriginShare& o : t.origins) {
    const std::string op =
        absl::StrCat(path, ".trend.origins.", o.country.str());
    if (!o.country.known()) {
      return Problem{path + ".trend.origins", "has an unknown country"};
    }
    if (o.country == c.target) {
      return Problem{op, "must differ from the target"};
    }
    if (!seen.insert(o.country).second) {
      return Problem{op, "is listed twice"};
    }
    if (!(o.share > 0 && std::isfinite(o.share))) {
      return Problem{op, "share must be > 0"};
    }
  }
  if (t.origins.empty() && PairShare(target, c.target) >= 1) {
    return Problem{path + ".trend.origins",
                   absl::StrCat(c.target.str(),
                                " has no foreign origins to default to; "
                                "list the network's countries")};
  }
  return CheckShare(t.url_share, path + ".trend.url_share");
}

}  // namespace

const KindSpec& TrendRidingKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kTrendRiding,
      .name = "trend_riding",
      .detector = "foreign_share",
      .takes_origin = false,
      .intensity = Intensity::kRatePerMin,
      .keys = {"ramp_in", "ramp_out", "rate_per_min", "network", "trend"},
      .defaults =
          [](CampaignSpec* c) {
            c->ramp_in = c->ramp_out = absl::Minutes(10);
            c->network.accounts = 60;
            c->network.new_account_share = 0.1;
            c->network.state_affiliated_share = 0;
          },
      .check = &Check,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
