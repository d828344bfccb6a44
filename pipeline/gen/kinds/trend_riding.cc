// trend_riding: foreign accounts pile onto one of the target's existing
// hashtags, spread over several origins.
#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/yaml_config.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/model.h"
#include "pipeline/gen/reader.h"
#include "pipeline/gen/render.h"

namespace vigia::gen::internal {
namespace {

// The trend ridden, and the network's countries.
struct TrendState : KindState {
  std::string hashtag;
  std::vector<OriginShare> origins;  // normalized
};

// Its own section, `trend`.
absl::Status Parse(YamlReader& r, const std::string&, const ConfigNode& v,
                   CampaignSpec* c) {
  TrendSpec* t = &c->trend;
  return r.Map(v, {"hashtag", "origins", "url_share"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "hashtag") return r.String(x, &t->hashtag);
                 if (k == "origins") return r.OriginMix(x, &t->origins);
                 return r.Number(x, &t->url_share);
               });
}

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

// Its content, defaults filled in.
void Prepare(Model* m, Stream& st) {
  const CampaignSpec& c = m->s->campaigns[st.campaign];
  const TargetSpec& t = m->s->targets[st.target];
  KindSetupRng(*m, st.campaign, c, &m->campaign_content[st.campaign]);
  TrendState& out = KindStateOf<TrendState>(st);
  out.hashtag = c.trend.hashtag.empty() ? t.hashtags.front() : c.trend.hashtag;
  if (!c.trend.origins.empty()) {
    out.origins = c.trend.origins;
  } else {
    for (const OriginShare& o : t.origins) {
      if (o.country != t.country) out.origins.push_back(o);
    }
  }
  double sum = 0;
  for (const OriginShare& o : out.origins) sum += o.share;
  for (OriginShare& o : out.origins) o.share /= sum;
  // The network spans several countries: account k operates from the
  // origin whose cumulative share covers k / size.
  std::vector<Account>& accounts = m->pools[st.pool].accounts;
  double cumulative = 0;
  size_t k = 0;
  for (const OriginShare& o : out.origins) {
    cumulative += o.share;
    const size_t until = static_cast<size_t>(
        std::lround(cumulative * static_cast<double>(accounts.size())));
    for (; k < std::min(until, accounts.size()); ++k) {
      accounts[k].country = o.country;
    }
  }
  for (; k < accounts.size(); ++k)
    accounts[k].country = out.origins.back().country;
}

// trend_riding: ordinary-looking posts that all carry the trend's
// hashtag, from accounts in several foreign countries.
void Render(Renderer& r, Stream& st, const Record& rec, const std::string& id,
            int64_t unix_ms, std::string* line) {
  Rng& rng = st.content;
  const CampaignSpec& c = r.scenario().campaigns[st.campaign];
  const TrendState& trend = KindStateOf<TrendState>(st);
  const TargetSpec& t = r.Target(st);
  const auto [k, account, platform] = r.PickPoster(st);
  Original fresh;
  fresh.id = id;
  fresh.lang = r.PickLanguage(rng, t, account.country);
  fresh.text = r.Text(rng, LexiconOrEnglish(fresh.lang), id);
  if (rng.Bernoulli(c.trend.url_share)) {
    fresh.urls.push_back(r.NewsUrl(rng, account.country, t, unix_ms, platform));
  }
  fresh.hashtags.push_back(trend.hashtag);
  if (rng.Bernoulli(0.35)) r.PickHashtags(rng, t.hashtags, 2, &fresh.hashtags);
  r.Write(PostView{id, platform, unix_ms, &account, account.country.str(),
                   t.country.str(), &fresh, ""},
          line);
}

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const TrendState& trend = KindStateOf<TrendState>(st);
  WriteCountsTruth(m, st, w);
  w.Field("hashtag", trend.hashtag);
  w.Key("origins");
  w.BeginObject();
  for (const OriginShare& o : trend.origins) {
    w.Field(o.country.str(), o.share);
  }
  w.EndObject();
}

}  // namespace

const KindSpec& TrendRidingKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kTrendRiding,
      .name = "trend_riding",
      .detector = "foreign_share",
      .takes_origin = false,
      .origins_instead = "trend.origins",
      .intensity = Intensity::kRatePerMin,
      .keys = {"ramp_in", "ramp_out", "rate_per_min", "network", "trend"},
      .parse = &Parse,
      .defaults =
          [](CampaignSpec* c) {
            c->ramp_in = c->ramp_out = absl::Minutes(10);
            DefaultNetwork(c, 60, 0.1, 0);
          },
      .check = &Check,
      .prepare = &Prepare,
      .arrivals = &RatePerMinArrivals,
      .render = &Render,
      .truth = &Truth,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
