// foreign_origin_surge: a network of accounts operating from `origin` pushes
// near-duplicate posts, shared URLs and hashtags at `target`.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/strings.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/kinds/surge.h"
#include "pipeline/gen/lexicon.h"
#include "pipeline/gen/model.h"
#include "pipeline/gen/render.h"

namespace vigia::gen::internal {
namespace {

// The campaign's content with defaults filled in.
CampaignContent ResolveContent(const Model& m, int index, const CampaignSpec& c,
                               const TargetSpec& t) {
  CampaignContent out;
  const ContentSpec& k = c.content;
  ResolveMessages(k, t, &out);
  if (!k.hashtags.empty()) {
    out.hashtags = k.hashtags;
  } else {
    for (std::string_view h : LexiconOrEnglish(out.lang).campaign_hashtags) {
      out.hashtags.emplace_back(h);
    }
  }
  Rng rng(DeriveSeed(m.s->seed, kCampaignSetup, static_cast<uint64_t>(index)));
  if (!k.urls.empty()) {
    out.urls = k.urls;
  } else {
    out.urls = CampaignArticles(rng, c.origin, 3,
                                absl::ToUnixMillis(CampaignStart(*m.s, c)));
  }
  out.utm_tag = absl::StrCat("c", rng.Below(90000) + 10000);
  return out;
}

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const CampaignSpec& c = m.s->campaigns[st.campaign];
  if (c.rate_multiplier > 0) {
    w.Field("rate_multiplier", c.rate_multiplier);
  } else {
    w.Field("rate_per_min", c.rate_per_min);
  }
  w.Field("events", st.events);
  const std::vector<std::string> ids = UsedAccountIds(m, st);
  w.Field("accounts", static_cast<int64_t>(ids.size()));
  StringArray(w, "account_ids", ids);
  const CampaignContent& cc = m.campaign_content[st.campaign];
  StringArray(w, "urls", cc.urls);
  StringArray(w, "hashtags", cc.hashtags);
}

}  // namespace

void PrepareSurge(Model* m, Stream& st) {
  KindStateOf<SurgeState>(st);
  m->campaign_content[st.campaign] = ResolveContent(
      *m, st.campaign, m->s->campaigns[st.campaign], m->s->targets[st.target]);
}

// Near-duplicate posts of the campaign's messages, and reposts of them.
void RenderSurgePost(Renderer& r, Stream& st, const Record& rec,
                     const std::string& id, int64_t unix_ms,
                     std::string* line) {
  Rng& rng = st.content;
  const CampaignSpec& c = r.scenario().campaigns[st.campaign];
  const CampaignContent& cc = r.model().campaign_content[st.campaign];
  const TargetSpec& t = r.Target(st);
  const auto [k, account, platform] = r.PickPoster(st);
  int64_t& max_age = KindStateOf<SurgeState>(st).max_account_age_ms;
  max_age = std::max(max_age, unix_ms - account.created_ms);

  Original fresh;
  const Original* content = nullptr;
  std::string_view repost_of;
  if (rng.Bernoulli(c.content.repost_share)) {
    // Networks amplify what they just posted.
    content = Renderer::Recent(st, 16);
    if (content != nullptr) repost_of = content->id;
  }
  if (content == nullptr) {
    fresh.id = id;
    fresh.lang = cc.lang;
    // Near duplicates: the same few messages with small decorations.
    std::vector<double> weights;
    for (size_t i = 0; i < cc.messages.size(); ++i) {
      weights.push_back(1.0 / (i + 1));
    }
    const std::string& msg = cc.messages[WeightedTable(weights).Sample(rng)];
    const auto prefixes = MessagePrefixes();
    const auto suffixes = MessageSuffixes();
    const std::string_view prefix = prefixes[rng.Below(prefixes.size())];
    const std::string_view suffix = suffixes[rng.Below(suffixes.size())];
    fresh.text = absl::StrCat(ToAbsl(prefix), msg, ToAbsl(suffix));
    if (const Lexicon* lex = FindLexicon(cc.lang);
        lex != nullptr && rng.Bernoulli(0.3)) {
      const unsigned char last = static_cast<unsigned char>(fresh.text.back());
      if (last >= 0x80 || std::isalnum(last)) fresh.text.push_back('.');
      absl::StrAppend(&fresh.text, " ",
                      ToAbsl(lex->closers[rng.Below(lex->closers.size())]));
    }
    if (rng.Bernoulli(0.4)) absl::StrAppend(&fresh.text, " #", cc.hashtags[0]);
    if (rng.Bernoulli(c.content.url_share)) {
      std::string url = cc.urls[rng.Below(cc.urls.size())];
      if (rng.Bernoulli(0.25)) url = ToggleWww(url);
      if (rng.Bernoulli(0.35)) AddUtm(&url, platform, cc.utm_tag);
      fresh.urls.push_back(std::move(url));
    }
    r.PickHashtags(rng, cc.hashtags,
                   1 + static_cast<int>(
                           rng.Below(std::min<size_t>(3, cc.hashtags.size()))),
                   &fresh.hashtags);
    if (rng.Bernoulli(0.3)) {
      const std::string& h = t.hashtags[rng.Below(t.hashtags.size())];
      if (std::find(fresh.hashtags.begin(), fresh.hashtags.end(), h) ==
          fresh.hashtags.end()) {
        fresh.hashtags.push_back(h);
      }
    }
    content = &fresh;
  }
  PostView p{id,       platform,       unix_ms,
             &account, c.origin.str(), c.target.str(),
             content,  repost_of};
  r.Write(p, line);
  if (content == &fresh) Renderer::Remember(st, fresh);
}

const KindSpec& ForeignOriginSurgeKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kForeignOriginSurge,
      .name = "foreign_origin_surge",
      .detector = "foreign_origin_surge",
      .foreign_origin = true,
      .intensity = Intensity::kMultiplierOrRate,
      .keys = {"ramp_in", "ramp_out", "rate_multiplier", "rate_per_min",
               "network", "content"},
      .content_keys = {"lang", "messages", "urls", "hashtags", "repost_share",
                       "url_share"},
      .defaults =
          [](CampaignSpec* c) { c->ramp_in = c->ramp_out = absl::Minutes(5); },
      .check =
          [](const Scenario&, const CampaignSpec& c, const TargetSpec&,
             const std::string& path) { return CheckContent(c.content, path); },
      .prepare = &PrepareSurge,
      .arrivals =
          [](const Schedule& s) {
            if (s.c.rate_multiplier > 0) {
              MultiplierArrivals(s);
            } else {
              RatePerMinArrivals(s);
            }
          },
      .render = &RenderSurgePost,
      .truth = &Truth,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
