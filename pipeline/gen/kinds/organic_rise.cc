// organic_rise: a genuine, gradual rise of a (target, origin) pair's usual
// traffic; not interference.
#include <algorithm>

#include "pipeline/core/json_writer.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/model.h"
#include "pipeline/gen/render.h"

namespace vigia::gen::internal {
namespace {

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const CampaignSpec& c = m.s->campaigns[st.campaign];
  w.Field("rate_multiplier", c.rate_multiplier);
  w.Field("events", st.events);
  w.Field("accounts", static_cast<int64_t>(
                          std::count(st.used.begin(), st.used.end(), true)));
}

}  // namespace

const KindSpec& OrganicRiseKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kOrganicRise,
      .name = "organic_rise",
      .own_network = false,
      .pair_accounts = true,
      .intensity = Intensity::kMultiplier,
      .keys = {"ramp_in", "ramp_out", "rate_multiplier"},
      .defaults =
          [](CampaignSpec* c) { c->ramp_in = c->ramp_out = absl::Hours(1); },
      .check = [](const Scenario&, const CampaignSpec&, const TargetSpec&,
                  const std::string&) -> std::optional<Problem> {
        return std::nullopt;
      },
      .arrivals = &MultiplierArrivals,
      // More posts of the pair, from its usual accounts.
      .render =
          [](Renderer& r, Stream& st, const Record&, const std::string& id,
             int64_t unix_ms, std::string* line) {
            r.BackgroundPost(st, id, unix_ms, Defect{}, line);
          },
      .truth = &Truth,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
