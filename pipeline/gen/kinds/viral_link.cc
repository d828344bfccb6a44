// viral_link: many of a pair's usual accounts share one popular link over
// an hour or two, never five within a minute; not interference.
#include <algorithm>
#include <deque>
#include <set>

#include "absl/strings/str_cat.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/yaml_config.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/model.h"
#include "pipeline/gen/reader.h"
#include "pipeline/gen/render.h"

namespace vigia::gen::internal {
namespace {

// Who shared the link when, for the truth.
struct ShareState : KindState {
  std::vector<std::pair<int64_t, uint32_t>> shares;  // (ms, account)
};

// Its own section, `link`.
absl::Status Parse(YamlReader& r, const std::string&, const ConfigNode& v,
                   CampaignSpec* c) {
  return r.Map(v, {"url"}, [&](const std::string&, const ConfigNode& x) {
    return r.String(x, &c->link.url);
  });
}

std::optional<Problem> Check(const Scenario&, const CampaignSpec& c,
                             const TargetSpec& target,
                             const std::string& path) {
  if (PairShare(target, c.origin) <= 0) {
    return Problem{
        path + ".origin",
        absl::StrCat(c.origin.str(), " is not one of ", c.target.str(),
                     "'s origins; a viral link spreads "
                     "through the pair's usual accounts")};
  }
  if (!c.link.url.empty()) {
    if (auto p = CheckStrings({c.link.url}, path + ".link.url")) return p;
    if (auto p = CheckHttpUrls({c.link.url}, path + ".link.url")) return p;
  }
  return std::nullopt;
}

// Its content, defaults filled in.
void Prepare(Model* m, Stream& st) {
  const CampaignSpec& c = m->s->campaigns[st.campaign];
  CampaignContent& out = m->campaign_content[st.campaign];
  KindStateOf<ShareState>(st);  // filled by Render
  Rng rng = KindSetupRng(*m, st.campaign, c, &out);
  const int64_t start_ms = absl::ToUnixMillis(CampaignStart(*m->s, c));
  if (!c.link.url.empty()) {
    out.urls.push_back(c.link.url);
  } else {
    out.urls.push_back(absl::StrCat("https://", OutletDomain(c.origin, 0),
                                    ArticlePath(rng, start_ms)));
  }
}

// viral_link: keeps at most kViralMaxPerMinute of the stream's records
// (those from `first` on, in time order) in any minute and a second, so
// that no five accounts share the link within coordinated_sharing's Δt.
void CapViralShares(Stream& st, size_t first, std::vector<Record>* records) {
  constexpr size_t kViralMaxPerMinute = 4;
  std::deque<int64_t> kept;
  size_t w = first;
  uint32_t seq = 0;
  for (size_t i = first; i < records->size(); ++i) {
    Record r = (*records)[i];
    while (!kept.empty() && kept.front() <= r.event_ms - 61000) {
      kept.pop_front();
    }
    if (kept.size() >= kViralMaxPerMinute) continue;
    kept.push_back(r.event_ms);
    r.seq = seq++;
    (*records)[w++] = r;
  }
  records->resize(w);
  st.events = seq;
}

void ScheduleShares(const Schedule& s) {
  const size_t first = s.out->size();
  RatePerMinArrivals(s);
  CapViralShares(s.stream, first, s.out);
}

// viral_link: one of the pair's usual accounts shares the popular link.
void Render(Renderer& r, Stream& st, const Record& rec, const std::string& id,
            int64_t unix_ms, std::string* line) {
  Rng& rng = st.content;
  const CampaignSpec& c = r.scenario().campaigns[st.campaign];
  const CampaignContent& cc = r.model().campaign_content[st.campaign];
  const TargetSpec& t = r.Target(st);
  const auto [k, account, platform] = r.PickPoster(st);
  KindStateOf<ShareState>(st).shares.emplace_back(unix_ms - r.model().start_ms,
                                                  static_cast<uint32_t>(k));
  Original fresh;
  fresh.id = id;
  fresh.lang = r.PickLanguage(rng, t, c.origin);
  fresh.text = r.Text(rng, LexiconOrEnglish(fresh.lang), id);
  std::string url = cc.urls.front();
  if (rng.Bernoulli(0.3)) url = ToggleWww(url);
  if (rng.Bernoulli(0.2)) AddUtm(&url, platform, "share");
  fresh.urls.push_back(std::move(url));
  r.BackgroundHashtags(rng, t, &fresh.hashtags);
  r.Write(PostView{id, platform, unix_ms, &account, c.origin.str(),
                   t.country.str(), &fresh, ""},
          line);
}

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const CampaignContent& cc = m.campaign_content[st.campaign];
  const std::vector<std::pair<int64_t, uint32_t>>& shares =
      KindStateOf<ShareState>(st).shares;
  WriteCountsTruth(m, st, w);
  w.Field("url", cc.urls.front());
  // The most distinct accounts sharing it within 60 s.
  int64_t most = 0;
  for (size_t i = 0; i < shares.size(); ++i) {
    std::set<uint32_t> accounts;
    for (size_t j = 0; j < shares.size(); ++j) {
      const int64_t d = shares[j].first - shares[i].first;
      if (d >= 0 && d <= 60000) accounts.insert(shares[j].second);
    }
    most = std::max<int64_t>(most, static_cast<int64_t>(accounts.size()));
  }
  w.Field("max_accounts_within_60s", most);
}

}  // namespace

const KindSpec& ViralLinkKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kViralLink,
      .name = "viral_link",
      .own_network = false,
      .pair_accounts = true,
      .intensity = Intensity::kRatePerMin,
      .keys = {"ramp_in", "ramp_out", "rate_per_min", "link"},
      .parse = &Parse,
      .defaults =
          [](CampaignSpec* c) { c->ramp_in = c->ramp_out = absl::Minutes(20); },
      .check = &Check,
      .prepare = &Prepare,
      .arrivals = &ScheduleShares,
      .render = &Render,
      .truth = &Truth,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
