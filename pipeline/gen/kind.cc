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
