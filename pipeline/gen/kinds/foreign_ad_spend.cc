// foreign_ad_spend: a foreign payer new to the target buys political ads
// aimed at it, in a foreign currency, some without a disclaimer.
#include "absl/strings/str_cat.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/yaml_config.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/lexicon.h"
#include "pipeline/gen/model.h"
#include "pipeline/gen/reader.h"
#include "pipeline/gen/render.h"

namespace vigia::gen::internal {
namespace {

// The payer's ads: who pays, from which pages, and what they spent.
struct AdState : KindState {
  std::string payer;
  CurrencyCode currency;
  std::vector<std::string> page_ids;
  std::vector<size_t> spend_ranges;  // indices into AdSpendRanges()
  std::vector<std::pair<int64_t, double>> spends;  // (ms, midpoint)
  int64_t ads_without_disclaimer = 0;
};

// `ads.spend`: [lower, upper].
absl::Status ParseSpend(YamlReader& r, const ConfigNode& x, AdCampaignSpec* a) {
  int64_t lo, hi;
  VIGIA_RETURN_IF_ERROR(r.IntPair(x, &lo, &hi));
  if (lo < 0 || hi < lo) {
    return x.Error("must be [lower, upper] with 0 <= lower <= upper");
  }
  a->spend_lower = lo;
  a->spend_upper = hi;
  return absl::OkStatus();
}

// Its own section, `ads`.
absl::Status Parse(YamlReader& r, const std::string&, const ConfigNode& v,
                   CampaignSpec* c) {
  AdCampaignSpec* a = &c->ads;
  return r.Map(v,
               {"per_hour", "payer", "pages", "spend", "currency",
                "missing_disclaimer_share"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "per_hour") return r.Number(x, &a->per_hour);
                 if (k == "payer") return r.String(x, &a->payer);
                 if (k == "missing_disclaimer_share") {
                   return r.Number(x, &a->missing_disclaimer_share);
                 }
                 if (k == "spend") return ParseSpend(r, x, a);
                 if (k == "currency") return r.Currency(x, &a->currency);
                 int64_t n;
                 VIGIA_RETURN_IF_ERROR(r.Int(x, &n));
                 if (n < 1 || n > 1000) {
                   return x.Error("must be in [1, 1000]");
                 }
                 a->pages = static_cast<int>(n);
                 return absl::OkStatus();
               });
}

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

// Its content, defaults filled in.
void Prepare(Model* m, Stream& st) {
  const CampaignSpec& c = m->s->campaigns[st.campaign];
  Rng rng = KindSetupRng(*m, st.campaign, c, &m->campaign_content[st.campaign]);
  AdState& out = KindStateOf<AdState>(st);
  const AdCampaignSpec& a = c.ads;
  if (!a.payer.empty()) {
    out.payer = a.payer;
  } else {
    // Background payers are exactly "<prefix> <suffix>": the suffix
    // word keeps this one new to the target.
    const Lexicon& en = LexiconOrEnglish("en");
    out.payer = absl::StrCat(
        ToAbsl(en.org_prefixes[rng.Below(en.org_prefixes.size())]), " ",
        ToAbsl(en.org_suffixes[rng.Below(en.org_suffixes.size())]),
        " International");
  }
  out.currency = a.currency;
  if (!out.currency.known()) {
    out.currency =
        CurrencyCode::FromString(FindCountryProfile(c.origin)->currency);
  }
  st.used.assign(a.pages, false);  // an ad account is a page
  for (int p = 0; p < a.pages; ++p) {
    out.page_ids.push_back(IdString(*m, kPageId, 0x800000 | st.campaign,
                                    static_cast<uint64_t>(p)));
  }
  const auto ranges = AdSpendRanges();
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].lower >= a.spend_lower && ranges[i].upper <= a.spend_upper) {
      out.spend_ranges.push_back(i);
    }
  }
}

// foreign_ad_spend: one ad of the foreign payer.
void Render(Renderer& r, Stream& st, const Record& rec, const std::string& id,
            int64_t unix_ms, std::string* line) {
  Rng& rng = st.content;
  const CampaignSpec& c = r.scenario().campaigns[st.campaign];
  AdState& ad = KindStateOf<AdState>(st);
  const TargetSpec& t = r.Target(st);
  const size_t page = rng.Below(ad.page_ids.size());
  st.used[page] = true;
  // Lower ranges are more common: weights 1, 1/2, 1/3, ...
  std::vector<double> weights;
  for (size_t i = 0; i < ad.spend_ranges.size(); ++i) {
    weights.push_back(1.0 / static_cast<double>(i + 1));
  }
  const size_t spend = ad.spend_ranges[WeightedTable(weights).Sample(rng)];
  const size_t impressions =
      std::min<size_t>(spend + rng.Below(3), kImpressions.size() - 1);
  static const WeightedTable kPlatformPick({0.8, 0.2});
  const std::string_view platform = kAdPlatforms[kPlatformPick.Sample(rng)];
  const bool disclaimer = !rng.Bernoulli(c.ads.missing_disclaimer_share);
  const SpendRange range = AdSpendRanges()[spend];
  ad.spends.emplace_back(unix_ms - r.model().start_ms,
                         static_cast<double>(range.lower + range.upper) / 2);
  if (!disclaimer) ++ad.ads_without_disclaimer;
  r.WriteAd(Renderer::AdView{id, platform, unix_ms, ad.page_ids[page], ad.payer,
                             c.origin.str(), t.country.str(), ad.currency.str(),
                             range, kImpressions[impressions], &t.languages,
                             /*all_languages=*/true, disclaimer},
            Defect{}, line);
}

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const CampaignSpec& c = m.s->campaigns[st.campaign];
  const AdState& ad = KindStateOf<AdState>(st);
  if (c.rate_per_min > 0) w.Field("rate_per_min", c.rate_per_min);
  w.Field("events", st.events);
  // An ad account is a page.
  int64_t pages = 0;
  for (bool used : st.used) pages += used ? 1 : 0;
  w.Field("accounts", pages);
  w.Field("ads_per_hour", c.ads.per_hour);
  w.Field("payer", ad.payer);
  w.Field("payer_country", c.origin.str());
  w.Field("currency", ad.currency.str());
  StringArray(w, "page_ids", ad.page_ids);
  std::vector<std::pair<int64_t, double>> spends = ad.spends;
  std::sort(spends.begin(), spends.end());
  constexpr double kFirstSeen = 1000;  // foreign_ad_spend's default
  double total = 0;
  std::optional<int64_t> crossed;
  for (const auto& [ms, mid] : spends) {
    total += mid;
    if (!crossed && total >= kFirstSeen) crossed = ms;
  }
  w.Field("spend_midpoint_total", total);
  w.Field("first_seen_threshold", kFirstSeen);
  w.Key("first_seen_threshold_at");
  if (crossed) {
    w.String(TruthTime(m, *crossed));
  } else {
    w.Null();
  }
  w.Field("ads_without_disclaimer", ad.ads_without_disclaimer);
}

}  // namespace

const KindSpec& ForeignAdSpendKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kForeignAdSpend,
      .name = "foreign_ad_spend",
      .detector = "foreign_ad_spend",
      .foreign_origin = true,
      .own_network = false,
      .renders_ads = true,
      .intensity = Intensity::kOwn,
      .keys = {"ads"},
      .required = {"ads", "ads.per_hour"},
      .parse = &Parse,
      .defaults = [](CampaignSpec*) {},
      .check = &Check,
      .own_events =
          [](const CampaignSpec& c, double minutes) {
            return c.ads.per_hour * minutes / 60;
          },
      .prepare = &Prepare,
      // A constant rate: ads are bought, not posted in a rhythm.
      .arrivals =
          [](const Schedule& s) {
            const double rate = s.c.ads.per_hour / kMsPerHour;
            Arrivals(
                s.stream, s.index, s.from, s.to, rate, s.jitter_ms,
                [&](int64_t) { return rate; }, s.out);
          },
      .render = &Render,
      .truth = &Truth,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
