// The campaign kinds' registry: one KindSpec per CampaignKind, each defined
// in its own file under kinds/ with everything that kind alone decides:
// its name and detector, the YAML keys it takes and how it reads its own
// section, its defaults and checks (load.cc, validate.cc), and how the
// generator sets it up, schedules, renders and reports it in the truth
// (generator.cc, render.cc). Both read a kind only through Kind(); adding a
// kind = a CampaignKind value, its kinds/ file and one line in kind.cc's table
// (docs/scenarios.md lists each kind's keys).
//
// Internal to vigia::gen. The specs are immutable after first use and
// thread-safe.
#ifndef VIGIA_PIPELINE_GEN_KIND_H_
#define VIGIA_PIPELINE_GEN_KIND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "pipeline/gen/checks.h"
#include "pipeline/gen/scenario.h"

namespace vigia {
class ConfigNode;
class JsonWriter;
}  // namespace vigia

namespace vigia::gen::internal {

// The generator's model (model.h, render.h).
struct Model;
struct Record;
struct Schedule;
struct Stream;
class Renderer;
class YamlReader;

// How a campaign of the kind gives its intensity (CampaignSpec's
// rate_multiplier and rate_per_min).
enum class Intensity {
  kMultiplierOrRate,  // exactly one of the two
  kMultiplier,        // rate_multiplier only
  kRatePerMin,        // rate_per_min only, required
  kOwn,               // neither: the kind has its own (bursts, ads, clock)
};

struct KindSpec {
  CampaignKind kind = CampaignKind::kForeignOriginSurge;
  std::string_view name = {};      // the YAML `kind`
  std::string_view detector = {};  // the detector it must trip; empty = organic
  // Whether the campaign names an `origin`; if not, the key that says where
  // its accounts operate from instead (trend_riding: "trend.origins").
  bool takes_origin = true;
  std::string_view origins_instead = {};
  // Whether the origin must differ from the target.
  bool foreign_origin = false;
  // Whether the campaign posts from accounts of its own (`network`), and
  // whether every one of them is new (network.created_within instead of
  // network.new_account_share).
  bool own_network = true;
  bool all_accounts_new = false;
  // Whether it posts from its pair's usual (background) accounts instead.
  bool pair_accounts = false;
  // Whether its records are ads rather than posts.
  bool renders_ads = false;
  Intensity intensity = Intensity::kOwn;
  // The keys after name, kind, target, origin, start and duration, in the
  // order error messages list them.
  std::vector<std::string_view> keys = {};
  // The keys of its `content`, if it takes one.
  std::vector<std::string_view> content_keys = {};
  // Required keys beyond name, target, origin, start, duration and
  // rate_per_min ("ads.per_hour" = a key inside `ads`).
  std::vector<std::string_view> required = {};
  // Reads the campaign key `key` at `v` into `c`: one of `keys` that only
  // this kind takes, its own section (e.g. "bursts"; the loader reads name,
  // target, origin, times, ramps, intensity, network and content). Errors
  // come from `r`, at the offending key. Null = the kind has no section.
  absl::Status (*parse)(YamlReader& r, const std::string& key,
                        const ConfigNode& v, CampaignSpec* c) = nullptr;
  // Sets the kind's defaults on a campaign (ramps, network size).
  void (*defaults)(CampaignSpec* c) = nullptr;
  // The kind's own parts, once the common ones (name, target, origin,
  // times, intensity, network) are valid; `target` is the campaign's.
  std::optional<Problem> (*check)(const Scenario& s, const CampaignSpec& c,
                                  const TargetSpec& target,
                                  const std::string& path) = nullptr;
  // Events a campaign of an Intensity::kOwn kind adds, for the scenario's
  // size limit; `minutes` is its duration.
  double (*own_events)(const CampaignSpec& c, double minutes) = nullptr;

  // Generation, in the order Generate() calls them. Sets the campaign's
  // content (m->campaign_content[st.campaign]) and the kind's own state
  // (KindStateOf(st), model.h) up once its stream and pool exist, and
  // `st.used` if it has no pool; null = nothing to set up.
  void (*prepare)(Model* m, Stream& st) = nullptr;
  // Appends the campaign's records.
  void (*arrivals)(const Schedule& s) = nullptr;
  // Renders one of its records into `line`.
  void (*render)(Renderer& r, Stream& st, const Record& rec,
                 const std::string& id, int64_t unix_ms,
                 std::string* line) = nullptr;
  // Writes its truth fields after the common ones (name, kind, detector,
  // interference, target, origin, start, end).
  void (*truth)(const Model& m, const Stream& st, JsonWriter& w) = nullptr;
};

const KindSpec& Kind(CampaignKind kind);

// For KindSpec::defaults: the size and shares of the kind's network.
inline void DefaultNetwork(CampaignSpec* c, int accounts, double new_share,
                           double state_share) {
  c->network.accounts = accounts;
  c->network.new_account_share = new_share;
  c->network.state_affiliated_share = state_share;
}

// One per kind, in kinds/<name>.cc.
const KindSpec& ForeignOriginSurgeKind();
const KindSpec& OrganicRiseKind();
const KindSpec& TrendRidingKind();
const KindSpec& CoordinatedSharingKind();
const KindSpec& NewAccountBurstKind();
const KindSpec& StateMediaAmplificationKind();
const KindSpec& ForeignAdSpendKind();
const KindSpec& PostingClockKind();
const KindSpec& ViralLinkKind();

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_KIND_H_
