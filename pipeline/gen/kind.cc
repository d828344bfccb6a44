#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {
namespace {

// In CampaignKind order.
constexpr const KindSpec& (*kKinds[])() = {
    &ForeignOriginSurgeKind, &OrganicRiseKind,     &TrendRidingKind,
    &CoordinatedSharingKind, &NewAccountBurstKind, &StateMediaAmplificationKind,
    &ForeignAdSpendKind,     &PostingClockKind,    &ViralLinkKind,
};
static_assert(std::size(kKinds) == kNumCampaignKinds);

}  // namespace

const KindSpec& Kind(CampaignKind kind) {
  return kKinds[static_cast<int>(kind)]();
}

}  // namespace vigia::gen::internal

namespace vigia::gen {

using internal::Kind;

std::string_view CampaignKindName(CampaignKind kind) {
  if (static_cast<int>(kind) >= kNumCampaignKinds) return "unknown";
  return Kind(kind).name;
}

std::optional<CampaignKind> ParseCampaignKind(std::string_view name) {
  for (int i = 0; i < kNumCampaignKinds; ++i) {
    const CampaignKind k = static_cast<CampaignKind>(i);
    if (CampaignKindName(k) == name) return k;
  }
  return std::nullopt;
}

std::string_view ExpectedDetector(CampaignKind kind) {
  if (static_cast<int>(kind) >= kNumCampaignKinds) return "";
  return Kind(kind).detector;
}

CampaignSpec DefaultCampaign(CampaignKind kind) {
  CampaignSpec c;
  c.kind = kind;
  Kind(kind).defaults(&c);
  return c;
}

}  // namespace vigia::gen
