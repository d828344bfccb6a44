// coordinated_sharing: bursts in which many accounts of a network post the
// same URL, the same copy-pasted text or repost the same post within
// seconds.
#include "absl/strings/str_cat.h"
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {
namespace {

int CountWords(std::string_view text) {
  int words = 0;
  bool in_word = false;
  for (char ch : text) {
    const bool space = ch == ' ' || ch == '\t' || ch == '\n';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::optional<Problem> CheckBursts(const CampaignSpec& c,
                                   const std::string& path) {
  const BurstSpec& b = c.bursts;
  if (b.url < 0 || b.text < 0 || b.repost < 0 ||
      b.url + b.text + b.repost < 1 || b.url + b.text + b.repost > 10000) {
    return Problem{path + ".bursts",
                   "url, text and repost must be >= 0 and add up to "
                   "[1, 10000] bursts"};
  }
  if (b.min_accounts < 2 || b.max_accounts < b.min_accounts) {
    return Problem{path + ".bursts.accounts",
                   "must be [min, max] with 2 <= min <= max"};
  }
  // A repost burst also needs the account that posts the original.
  const int needed = b.max_accounts + (b.repost > 0 ? 1 : 0);
  if (needed > c.network.accounts) {
    return Problem{path + ".bursts.accounts",
                   absl::StrCat("needs ", needed,
                                " distinct accounts but the network has ",
                                c.network.accounts)};
  }
  if (b.spread <= absl::ZeroDuration() || b.spread > absl::Minutes(10)) {
    return Problem{path + ".bursts.spread", "must be in (0, 10m]"};
  }
  if (c.duration < b.spread * (b.url + b.text + b.repost)) {
    return Problem{path + ".bursts",
                   "the bursts do not fit in the duration (each needs "
                   "`spread`)"};
  }
  return std::nullopt;
}

// Only lang, urls and messages: the bursts decide the rest.
std::optional<Problem> CheckBurstContent(const ContentSpec& k,
                                         const std::string& path) {
  if (!k.lang.empty() && !IsValidUtf8(k.lang)) {
    return Problem{path + ".content.lang", "must be valid UTF-8"};
  }
  if (auto p = CheckStrings(k.urls, path + ".content.urls")) return p;
  if (auto p = CheckHttpUrls(k.urls, path + ".content.urls")) return p;
  if (auto p = CheckStrings(k.messages, path + ".content.messages")) {
    return p;
  }
  for (const std::string& m : k.messages) {
    if (CountWords(m) < 5) {
      return Problem{path + ".content.messages",
                     absl::StrCat("\"", m,
                                  "\" has fewer than 5 words; shorter "
                                  "texts are not fingerprinted")};
    }
  }
  return std::nullopt;
}

}  // namespace

const KindSpec& CoordinatedSharingKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kCoordinatedSharing,
      .name = "coordinated_sharing",
      .detector = "coordinated_sharing",
      .intensity = Intensity::kOwn,
      .keys = {"network", "bursts", "content"},
      .content_keys = {"lang", "messages", "urls"},
      .defaults =
          [](CampaignSpec* c) {
            c->network.accounts = 40;
            c->network.new_account_share = 0.3;
            c->network.state_affiliated_share = 0;
          },
      .check =
          [](const Scenario&, const CampaignSpec& c, const TargetSpec&,
             const std::string& path) {
            if (auto p = CheckBursts(c, path)) return p;
            return CheckBurstContent(c.content, path);
          },
      .own_events =
          [](const CampaignSpec& c, double) {
            return (c.bursts.url + c.bursts.text + c.bursts.repost) *
                   (c.bursts.max_accounts + 1.0);
          },
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
