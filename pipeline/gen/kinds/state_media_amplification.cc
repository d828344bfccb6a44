// state_media_amplification: accounts (some labelled state-affiliated)
// share articles of state-affiliated media domains at the target.
#include "absl/strings/str_cat.h"
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {
namespace {

// A lower-case DNS name with at least two labels: "de.rt.com".
bool IsDomainName(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.' ||
      d.find('.') == std::string_view::npos ||
      d.find("..") != std::string_view::npos) {
    return false;
  }
  for (char ch : d) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
          ch == '.')) {
      return false;
    }
  }
  return true;
}

std::optional<Problem> Check(const Scenario&, const CampaignSpec& c,
                             const TargetSpec&, const std::string& path) {
  const MediaSpec& m = c.media;
  for (const std::string& d : m.domains) {
    if (!IsDomainName(d)) {
      return Problem{path + ".media.domains",
                     absl::StrCat("\"", d,
                                  "\" is not a lower-case domain name "
                                  "like de.rt.com")};
    }
  }
  if (m.articles < 1 || m.articles > 10000) {
    return Problem{path + ".media.articles", "must be in [1, 10000]"};
  }
  return CheckShare(m.repost_share, path + ".media.repost_share");
}

}  // namespace

const KindSpec& StateMediaAmplificationKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kStateMediaAmplification,
      .name = "state_media_amplification",
      .detector = "state_media_amplification",
      .intensity = Intensity::kRatePerMin,
      .keys = {"ramp_in", "ramp_out", "rate_per_min", "network", "media"},
      .defaults =
          [](CampaignSpec* c) {
            c->ramp_in = c->ramp_out = absl::Minutes(5);
            c->network.accounts = 50;
            c->network.new_account_share = 0.2;
            c->network.state_affiliated_share = 0.2;
          },
      .check = &Check,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
