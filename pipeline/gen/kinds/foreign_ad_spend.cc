// foreign_ad_spend: a foreign payer new to the target buys political ads
// aimed at it, in a foreign currency, some without a disclaimer.
#include "absl/strings/str_cat.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/lexicon.h"

namespace vigia::gen::internal {
namespace {

std::optional<Problem> Check(const Scenario&, const CampaignSpec& c,
                             const TargetSpec&, const std::string& path) {
  const AdCampaignSpec& a = c.ads;
  if (!(a.per_hour > 0 && a.per_hour <= 10000)) {
    return Problem{path + ".ads.per_hour",
                   "is required and must be in (0, 10000]"};
  }
  if (!IsValidUtf8(a.payer)) {
    return Problem{path + ".ads.payer", "must be valid UTF-8"};
  }
  if (a.pages < 1 || a.pages > 1000) {
    return Problem{path + ".ads.pages", "must be in [1, 1000]"};
  }
  bool any = false;
  for (const SpendRange& r : AdSpendRanges()) {
    any = any || (r.lower >= a.spend_lower && r.upper <= a.spend_upper);
  }
  if (!any) {
    return Problem{path + ".ads.spend",
                   "contains none of the standard spend ranges (0-99, "
                   "100-499, 500-999, 1000-4999, 5000-9999, 10000-49999, "
                   "50000-99999, 100000-499999)"};
  }
  if (!a.currency.known() && FindCountryProfile(c.origin) == nullptr) {
    return Problem{path + ".ads.currency",
                   absl::StrCat("is required: ", c.origin.str(),
                                " has no built-in country profile")};
  }
  return CheckShare(a.missing_disclaimer_share,
                    path + ".ads.missing_disclaimer_share");
}

}  // namespace

const KindSpec& ForeignAdSpendKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kForeignAdSpend,
      .name = "foreign_ad_spend",
      .detector = "foreign_ad_spend",
      .foreign_origin = true,
      .own_network = false,
      .intensity = Intensity::kOwn,
      .keys = {"ads"},
      .required = {"ads", "ads.per_hour"},
      .defaults = [](CampaignSpec*) {},
      .check = &Check,
      .own_events =
          [](const CampaignSpec& c, double minutes) {
            return c.ads.per_hour * minutes / 60;
          },
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
