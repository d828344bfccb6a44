// state_media_amplification: accounts (some labelled state-affiliated)
// share articles of state-affiliated media domains at the target.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "pipeline/core/country.h"
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

// The state media the articles are on (the articles: the content's urls).
struct MediaState : KindState {
  std::vector<std::string> domains;
  CountryCode state;
};

// Its own section, `media`.
absl::Status Parse(YamlReader& r, const std::string&, const ConfigNode& v,
                   CampaignSpec* c) {
  MediaSpec* m = &c->media;
  return r.Map(v, {"domains", "state", "articles", "repost_share"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "domains") return r.StringList(x, &m->domains);
                 if (k == "state") return r.Country(x, &m->state);
                 if (k == "repost_share") {
                   return r.Number(x, &m->repost_share);
                 }
                 int64_t n;
                 VIGIA_RETURN_IF_ERROR(r.Int(x, &n));
                 if (n < 1 || n > 10000) {
                   return x.Error("must be in [1, 10000]");
                 }
                 m->articles = static_cast<int>(n);
                 return absl::OkStatus();
               });
}

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

// Its content, defaults filled in.
void Prepare(Model* m, Stream& st) {
  const CampaignSpec& c = m->s->campaigns[st.campaign];
  CampaignContent& out = m->campaign_content[st.campaign];
  MediaState& media = KindStateOf<MediaState>(st);
  Rng rng = KindSetupRng(*m, st.campaign, c, &out);
  if (c.media.domains.empty()) {
    for (std::string_view d : DefaultCampaignStateMediaDomains()) {
      media.domains.emplace_back(d);
    }
  } else {
    media.domains = c.media.domains;
  }
  media.state = c.media.state.known() ? c.media.state : ParseCountry("RU");
  std::set<std::string> seen;
  for (int i = 0; static_cast<int>(out.urls.size()) < c.media.articles; ++i) {
    std::string url =
        StateMediaArticle(rng, media.domains[i % media.domains.size()]);
    if (seen.insert(url).second) out.urls.push_back(std::move(url));
  }
}

// state_media_amplification: shares of the campaign's state-media
// articles, with ordinary comments, and reposts of them.
void Render(Renderer& r, Stream& st, const Record& rec, const std::string& id,
            int64_t unix_ms, std::string* line) {
  Rng& rng = st.content;
  const CampaignSpec& c = r.scenario().campaigns[st.campaign];
  const CampaignContent& cc = r.model().campaign_content[st.campaign];
  const TargetSpec& t = r.Target(st);
  const auto [k, account, platform] = r.PickPoster(st);
  Original fresh;
  const Original* content = nullptr;
  std::string_view repost_of;
  if (rng.Bernoulli(c.media.repost_share)) {
    content = Renderer::Recent(st, 16);
    if (content != nullptr) repost_of = content->id;
  }
  if (content == nullptr) {
    fresh.id = id;
    fresh.lang = r.PickLanguage(rng, t, c.origin);
    fresh.text = r.Text(rng, LexiconOrEnglish(fresh.lang), id);
    std::string url = cc.urls[rng.Below(cc.urls.size())];
    if (rng.Bernoulli(0.25)) AddUtm(&url, platform, "");
    fresh.urls.push_back(std::move(url));
    r.BackgroundHashtags(rng, t, &fresh.hashtags);
    content = &fresh;
  }
  r.Write(PostView{id, platform, unix_ms, &account, c.origin.str(),
                   t.country.str(), content, repost_of},
          line);
  if (content == &fresh) Renderer::Remember(st, fresh);
}

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const CampaignContent& cc = m.campaign_content[st.campaign];
  const MediaState& media = KindStateOf<MediaState>(st);
  WriteCountsTruth(m, st, w);
  w.Field("state", media.state.str());
  StringArray(w, "domains", media.domains);
  StringArray(w, "urls", cc.urls);
  int64_t state_accounts = 0;
  const Pool& pool = m.pools[st.pool];
  for (size_t k = 0; k < st.used.size(); ++k) {
    if (st.used[k] && pool.accounts[k].state_affiliated) ++state_accounts;
  }
  w.Field("state_affiliated_accounts", state_accounts);
}

}  // namespace

const KindSpec& StateMediaAmplificationKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kStateMediaAmplification,
      .name = "state_media_amplification",
      .detector = "state_media_amplification",
      .intensity = Intensity::kRatePerMin,
      .keys = {"ramp_in", "ramp_out", "rate_per_min", "network", "media"},
      .parse = &Parse,
      .defaults =
          [](CampaignSpec* c) {
            c->ramp_in = c->ramp_out = absl::Minutes(5);
            DefaultNetwork(c, 50, 0.2, 0.2);
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
