#include "pipeline/gen/render.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {
namespace {

constexpr std::string_view kBadCountries[] = {"UK", "EU", "XX",
                                              "ZZ", "SU", "YU"};
constexpr std::string_view kBadUtf8[] = {"\xFF", "\xC3\x28", "\xC0\xAF",
                                         "\xED\xA0\x80"};

std::string BadTime(int64_t unix_ms, uint64_t variant) {
  const absl::Time t = absl::FromUnixMillis(unix_ms);
  std::string good = FormatRfc3339(t);
  switch (variant % 6) {
    case 0:  // no zone
      good.pop_back();
      return good;
    case 1:  // space, no zone
      good.pop_back();
      good[10] = ' ';
      return good;
    case 2:  // epoch seconds in a string
      return absl::StrCat(unix_ms / 1000);
    case 3:
      return absl::FormatTime("%d/%m/%Y %H:%M", t, absl::UTCTimeZone());
    case 4:  // month 13
      good.replace(5, 2, "13");
      return good;
    default:  // hour 25
      good.replace(11, 2, "25");
      return good;
  }
}

void TimeField(JsonWriter& w, std::string_view key, int64_t unix_ms,
               const Defect& d, bool corrupt) {
  w.Key(key);
  if (corrupt && d.kind == BadLineKind::kBadTime) {
    w.String(BadTime(unix_ms, d.variant / 2));
  } else {
    w.String(FormatRfc3339(absl::FromUnixMillis(unix_ms)));
  }
}

// Which required field a kMissingField defect drops.
bool Omit(const Defect& d, int field) {
  return d.kind == BadLineKind::kMissingField &&
         static_cast<int>(d.variant % 3) == field;
}
std::string_view CountryOrBad(const Defect& d, int where,
                              std::string_view good) {
  if (d.kind == BadLineKind::kBadCountry &&
      static_cast<int>(d.variant % 2) == where) {
    return kBadCountries[(d.variant / 2) % std::size(kBadCountries)];
  }
  return good;
}

void WritePost(const PostView& p, const Defect& d, JsonWriter& w) {
  w.BeginObject();
  if (!Omit(d, 0)) w.Field("id", p.id);
  w.Field("platform", p.platform);
  if (!Omit(d, 1)) TimeField(w, "created_at", p.created_ms, d, true);
  w.Key("account");
  w.BeginObject();
  w.Field("id", p.account->id);
  TimeField(w, "created_at", p.account->created_ms, d, false);
  w.Field("country", CountryOrBad(d, 1, p.account_country));
  w.Field("state_affiliated", p.account->state_affiliated);
  w.Field("followers", p.account->followers);
  w.EndObject();
  if (!Omit(d, 2)) w.Field("target", CountryOrBad(d, 0, p.target));
  w.Field("lang", p.content->lang);
  w.Field("text", p.content->text);
  w.Key("urls");
  w.BeginArray();
  for (const std::string& u : p.content->urls) w.String(u);
  w.EndArray();
  w.Key("hashtags");
  w.BeginArray();
  for (const std::string& h : p.content->hashtags) w.String(h);
  w.EndArray();
  w.Key("repost_of");
  if (p.repost_of.empty()) {
    w.Null();
  } else {
    w.String(p.repost_of);
  }
  w.EndObject();
}

// Applies the defects that are about bytes rather than fields.
void CorruptBytes(const Defect& d, Rng& rng, std::string_view utf8_anchor,
                  std::string* line) {
  if (d.kind == BadLineKind::kMalformedJson) {
    switch (d.variant % 3) {
      case 0:  // no ':' after the first key
        if (size_t pos = line->find("\":"); pos != std::string::npos) {
          (*line)[pos + 1] = ' ';
        }
        break;
      case 1:  // trailing comma
        line->insert(line->size() - 1, ",");
        break;
      default:  // an unquoted key
        if (size_t pos = line->find("\"platform\":");
            pos != std::string::npos) {
          line->replace(pos, 10, "platform");
        }
        break;
    }
  } else if (d.kind == BadLineKind::kTruncated) {
    size_t cut = static_cast<size_t>(line->size() * rng.Uniform(0.2, 0.9));
    // End on a character boundary (so the line is cut, not mis-encoded) and
    // not on a '}' (so it cannot be mistaken for a complete record).
    while (cut > 1 &&
           (static_cast<unsigned char>((*line)[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    if ((*line)[cut - 1] == '}') --cut;
    line->resize(cut);
  } else if (d.kind == BadLineKind::kInvalidUtf8) {
    if (size_t pos = line->find(utf8_anchor); pos != std::string::npos) {
      line->insert(pos + utf8_anchor.size(),
                   kBadUtf8[d.variant % std::size(kBadUtf8)]);
    }
  }
}

}  // namespace

void Renderer::Render(const Record& r, std::string* line) {
  Stream& st = streams_[r.stream];
  const int64_t unix_ms = m_.start_ms + r.event_ms;
  const std::string id = IdString(m_, kEventId, r.stream, r.seq);
  switch (st.type) {
    case StreamType::kPairPosts:
      PairPost(st, r, id, unix_ms, line);
      break;
    case StreamType::kAds:
      Ad(st, id, unix_ms, Defect{}, line);
      break;
    case StreamType::kCampaign:
      Kind(s_.campaigns[st.campaign].kind)
          .render(*this, st, r, id, unix_ms, line);
      break;
  }
}

std::optional<BadLineKind> Renderer::MaybeBadLine(const Record& r,
                                                  std::string* line) {
  Stream& st = streams_[r.stream];
  if (st.type != StreamType::kPairPosts && st.type != StreamType::kAds) {
    return std::nullopt;
  }
  if (!st.content.Bernoulli(s_.bad_lines.rate)) return std::nullopt;
  Defect d;
  d.kind = static_cast<BadLineKind>(m_.bad_kinds.Sample(st.content));
  d.variant = st.content.Next() >> 8;
  const std::string id = IdString(m_, kBadLineId, r.stream, st.bad_seq++);
  const int64_t unix_ms = m_.start_ms + r.event_ms;
  std::string_view anchor;
  if (st.type == StreamType::kAds) {
    Ad(st, id, unix_ms, d, line);
    anchor = "\"name\":\"";
  } else {
    BackgroundPost(st, id, unix_ms, d, line);
    anchor = "\"text\":\"";
  }
  CorruptBytes(d, st.content, anchor, line);
  return d.kind;
}

const TargetSpec& Renderer::Target(const Stream& st) const {
  return s_.targets[st.target];
}

std::string Renderer::PickLanguage(Rng& rng, const TargetSpec& t,
                                   CountryCode origin) {
  std::string_view lang;
  if (origin != t.country && !rng.Bernoulli(s_.posts.target_language_share)) {
    lang = PrimaryLanguage(origin);
  } else if (t.languages.size() == 1 || rng.Bernoulli(0.75)) {
    lang = t.languages.front();
  } else {
    lang = t.languages[1 + rng.Below(t.languages.size() - 1)];
  }
  // Languages without word lists are written (and labelled) in English.
  return std::string(LexiconOrEnglish(lang).lang);
}

// One to three statements and maybe a closer. A lone statement gets a
// second one picked by the post's id: with ten statements per language,
// lone ones repeat so often that five accounts would post the same
// sentence within a minute now and then, which reads as coordination.
// The id, not the stream, picks it, so that no other field changes.
std::string Renderer::Text(Rng& rng, const Lexicon& lex, std::string_view id) {
  std::string text;
  int n = 1;
  n += rng.Bernoulli(0.6);
  n += rng.Bernoulli(0.25);
  const size_t size = lex.statements.size();
  size_t last = size;
  for (int i = 0; i < n; ++i) {
    size_t k = rng.Below(size);
    if (k == last) k = (k + 1) % size;
    last = k;
    if (!text.empty()) text.push_back(' ');
    absl::StrAppend(&text, ToAbsl(lex.statements[k]), ".");
  }
  if (n == 1 && size > 1) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
    for (char ch : id)
      h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
    const size_t k = (last + 1 + Mix64(h) % (size - 1)) % size;
    absl::StrAppend(&text, " ", ToAbsl(lex.statements[k]), ".");
  }
  if (rng.Bernoulli(0.7)) {
    absl::StrAppend(&text, " ",
                    ToAbsl(lex.closers[rng.Below(lex.closers.size())]));
  }
  return text;
}

void Renderer::PickHashtags(Rng& rng, const std::vector<std::string>& pool,
                            int count, std::vector<std::string>* out) {
  count = std::min<int>(count, static_cast<int>(pool.size()));
  while (static_cast<int>(out->size()) < count) {
    const std::string& h = pool[rng.Below(pool.size())];
    if (std::find(out->begin(), out->end(), h) == out->end()) {
      out->push_back(h);
    }
  }
}

void Renderer::Remember(Stream& st, const Original& o) {
  constexpr size_t kRing = 64;
  if (st.ring.size() < kRing) {
    st.ring.push_back(o);
  } else {
    st.ring[st.ring_next] = o;
    st.ring_next = (st.ring_next + 1) % kRing;
  }
}

const Original* Renderer::Recent(Stream& st, size_t window) {
  if (st.ring.empty()) return nullptr;
  const size_t n = std::min(window, st.ring.size());
  // ring_next is the oldest slot once the ring is full.
  const size_t newest = (st.ring_next + st.ring.size() - 1) % st.ring.size();
  const size_t back = st.content.Below(n);
  return &st.ring[(newest + st.ring.size() - back) % st.ring.size()];
}

// A background-style article URL: mostly on one of the origin's outlets,
// sometimes the target's, with a unique dated path, sometimes "www." and
// tracking parameters; or, with posts.state_media_share, an article of
// one of the origin's state-affiliated outlets.
std::string Renderer::NewsUrl(Rng& rng, CountryCode origin, const TargetSpec& t,
                              int64_t unix_ms, std::string_view platform) {
  // Drawn only when enabled, so that the standard background's draws (and
  // bytes) do not change.
  if (s_.posts.state_media_share > 0) {
    const auto media = StateMediaDomains(origin);
    if (!media.empty() && rng.Bernoulli(s_.posts.state_media_share)) {
      std::string url = StateMediaArticle(rng, media[rng.Below(media.size())]);
      if (rng.Bernoulli(0.2)) AddUtm(&url, platform, "");
      return url;
    }
  }
  // Mostly the origin's outlets, sometimes the target's.
  const CountryCode outlet_country = rng.Bernoulli(0.75) ? origin : t.country;
  // Bigger outlets are shared more: weights 1, 1/2, ... 1/6.
  static const WeightedTable kOutletPick(
      {1.0, 1 / 2.0, 1 / 3.0, 1 / 4.0, 1 / 5.0, 1 / 6.0});
  const int j = static_cast<int>(kOutletPick.Sample(rng));
  const bool www = rng.Bernoulli(0.3);
  std::string url = absl::StrCat("https://", www ? "www." : "",
                                 OutletDomain(outlet_country, j));
  url += ArticlePath(rng, unix_ms);
  if (rng.Bernoulli(0.2)) {
    AddUtm(&url, platform, rng.Bernoulli(0.5) ? "share" : "");
  }
  return url;
}

void Renderer::BackgroundHashtags(Rng& rng, const TargetSpec& t,
                                  std::vector<std::string>* out) {
  const double u = rng.Uniform();
  const int tags = u < 0.4 ? 0 : u < 0.75 ? 1 : u < 0.93 ? 2 : 3;
  PickHashtags(rng, t.hashtags, tags, out);
}

void Renderer::OrdinaryContent(Rng& rng, const TargetSpec& t,
                               CountryCode origin, int64_t unix_ms,
                               std::string_view platform, double url_share,
                               Original* out) {
  out->lang = PickLanguage(rng, t, origin);
  out->text = Text(rng, LexiconOrEnglish(out->lang), out->id);
  if (rng.Bernoulli(url_share)) {
    out->urls.push_back(NewsUrl(rng, origin, t, unix_ms, platform));
  }
  BackgroundHashtags(rng, t, &out->hashtags);
}

Renderer::Poster Renderer::PickPoster(Stream& st) {
  const Pool& pool = m_.pools[st.pool];
  const size_t k = pool.pick.Sample(st.content);
  const Account& account = pool.accounts[k];
  st.used[k] = true;
  return Poster{k, account, pool.platforms[account.platform]};
}

void Renderer::Write(const PostView& p, std::string* line) {
  writer_.Clear();
  WritePost(p, Defect{}, writer_);
  *line = writer_.Release();
}

void Renderer::PairPost(Stream& st, const Record& r, const std::string& id,
                        int64_t unix_ms, std::string* line) {
  if (r.root == kNoRoot) {
    auto it = st.cascades.find(r.seq);
    BackgroundPost(st, id, unix_ms, Defect{}, line,
                   it == st.cascades.end() ? nullptr : &it->second.original);
    return;
  }
  auto it = st.cascades.find(r.root);
  Stream::Cascade& cascade = it->second;
  Rng& rng = st.content;
  const TargetSpec& t = Target(st);
  // Reposters come from the target's whole audience, mostly domestic: a
  // diaspora post's cascade is carried mainly by the target's own
  // accounts, as on the platforms.
  const size_t oi = m_.origin_pick[st.target].Sample(rng);
  const Pool& pool = m_.pools[m_.pair_pool[st.target][oi]];
  const Account& account = pool.accounts[pool.pick.Sample(rng)];
  PostView p{id,
             pool.platforms[account.platform],
             unix_ms,
             &account,
             t.origins[oi].country.str(),
             t.country.str(),
             &cascade.original,
             cascade.original.id};
  writer_.Clear();
  WritePost(p, Defect{}, writer_);
  *line = writer_.Release();
  if (--cascade.left == 0) st.cascades.erase(it);
}

void Renderer::BackgroundPost(Stream& st, const std::string& id,
                              int64_t unix_ms, const Defect& d,
                              std::string* line, Original* keep) {
  Rng& rng = st.content;
  const TargetSpec& t = Target(st);
  const CountryCode origin = t.origins[st.origin].country;
  const Pool& pool = m_.pools[st.pool];
  // An organic rise brings out the pair's occasional posters rather than
  // multiplying its loudest accounts' output (a top account already posts
  // every few minutes): its extra posts pick the pool's accounts evenly.
  const bool organic = st.type == StreamType::kCampaign;
  const size_t k = organic
                       ? static_cast<size_t>(rng.Below(pool.accounts.size()))
                       : pool.pick.Sample(rng);
  const Account& account = pool.accounts[k];
  if (!d.kind && organic) st.used[k] = true;
  const std::string& platform = pool.platforms[account.platform];

  Original fresh;
  const Original* content = nullptr;
  std::string_view repost_of;
  // With cascades, a pair's reposts are records of their own (PairPost).
  const bool cascades = st.type == StreamType::kPairPosts &&
                        s_.background.cascade_max_reposts > 0;
  if (!cascades && rng.Bernoulli(s_.posts.repost_share)) {
    content = Recent(st, 32);
    if (content != nullptr) repost_of = content->id;
  }
  if (content == nullptr) {
    fresh.id = id;
    fresh.lang = PickLanguage(rng, t, origin);
    fresh.text = Text(rng, LexiconOrEnglish(fresh.lang), id);
    if (rng.Bernoulli(s_.posts.url_share)) {
      const int urls = rng.Bernoulli(0.1) ? 2 : 1;
      for (int i = 0; i < urls; ++i) {
        fresh.urls.push_back(NewsUrl(rng, origin, t, unix_ms, platform));
      }
    }
    BackgroundHashtags(rng, t, &fresh.hashtags);
    content = &fresh;
  }

  PostView p{id,           platform,        unix_ms, &account,
             origin.str(), t.country.str(), content, repost_of};
  writer_.Clear();
  WritePost(p, d, writer_);
  *line = writer_.Release();
  // Only records that exist in the feed may be reposted later.
  if (!d.kind && content == &fresh) {
    if (!cascades) Remember(st, fresh);
    if (keep != nullptr) *keep = fresh;
  }
}

void Renderer::Ad(Stream& st, const std::string& id, int64_t unix_ms,
                  const Defect& d, std::string* line) {
  Rng& rng = st.content;
  const TargetSpec& t = Target(st);
  const std::vector<double>& shares = m_.origin_share[st.target];
  // The payer: domestic, or a foreign origin weighted by its post share.
  CountryCode payer = t.country;
  if (rng.Bernoulli(s_.ads.foreign_payer_share)) {
    std::vector<double> foreign(shares.size(), 0.0);
    double sum = 0;
    for (size_t i = 0; i < shares.size(); ++i) {
      if (t.origins[i].country != t.country) {
        foreign[i] = shares[i];
        sum += shares[i];
      }
    }
    if (sum > 0) {
      payer = t.origins[WeightedTable(foreign).Sample(rng)].country;
    }
  }
  static const WeightedTable kPayerPick = [] {
    std::vector<double> w;
    for (int i = 0; i < 12; ++i) w.push_back(1.0 / (i + 1));
    return WeightedTable(w);
  }();
  const uint64_t payer_index = kPayerPick.Sample(rng);
  const Lexicon& lex = LexiconOrEnglish(
      payer == t.country ? std::string_view(t.languages.front())
                         : PrimaryLanguage(payer));
  // 12 distinct (prefix, suffix) pairs out of 36 per (target, payer country).
  const uint64_t h =
      Mix64((static_cast<uint64_t>(st.target) << 16) | payer.packed());
  const uint64_t combo = (payer_index * 7 + h) % 36;
  const std::string name = absl::StrCat(
      ToAbsl(lex.org_prefixes[combo / 6 % lex.org_prefixes.size()]), " ",
      ToAbsl(lex.org_suffixes[combo % 6 % lex.org_suffixes.size()]));
  const uint64_t page = rng.Bernoulli(0.8) ? 0 : 1;
  const std::string page_id = IdString(
      m_, kPageId, static_cast<uint64_t>(st.target),
      (static_cast<uint64_t>(payer.packed()) << 8) | (payer_index << 1) | page);
  CurrencyCode currency = t.currency;
  if (payer != t.country && rng.Bernoulli(0.7)) {
    if (const CountryProfile* p = FindCountryProfile(payer)) {
      currency = CurrencyCode::FromString(p->currency);
    }
  }
  static const WeightedTable kSpendPick({0.35, 0.30, 0.15, 0.12, 0.05, 0.03});
  const size_t spend = kSpendPick.Sample(rng);
  const size_t impressions =
      std::min<size_t>(spend + rng.Below(3), kImpressions.size() - 1);
  static const WeightedTable kPlatformPick({0.7, 0.2, 0.1});
  const std::string_view platform = kAdPlatforms[kPlatformPick.Sample(rng)];
  const bool all_languages = t.languages.size() > 1 && rng.Bernoulli(0.2);
  const bool disclaimer = !rng.Bernoulli(s_.ads.missing_disclaimer_share);
  WriteAd(
      AdView{id, platform, unix_ms, page_id, name, payer.str(), t.country.str(),
             currency.str(), AdSpendRanges()[spend], kImpressions[impressions],
             &t.languages, all_languages, disclaimer},
      d, line);
}

void Renderer::WriteAd(const AdView& a, const Defect& d, std::string* line) {
  JsonWriter& w = writer_;
  w.Clear();
  w.BeginObject();
  if (!Omit(d, 0)) w.Field("id", a.id);
  w.Field("platform", a.platform);
  if (!Omit(d, 1)) TimeField(w, "created_at", a.created_ms, d, true);
  w.Field("page_id", a.page_id);
  w.Key("payer");
  w.BeginObject();
  w.Field("name", a.payer_name);
  w.Field("country", CountryOrBad(d, 1, a.payer_country));
  w.EndObject();
  if (!Omit(d, 2)) w.Field("target", CountryOrBad(d, 0, a.target));
  w.Field("currency", a.currency);
  w.Key("spend");
  w.BeginObject();
  w.Field("lower", a.spend.lower);
  w.Field("upper", a.spend.upper);
  w.EndObject();
  w.Key("impressions");
  w.BeginObject();
  w.Field("lower", a.impressions.first);
  w.Field("upper", a.impressions.second);
  w.EndObject();
  w.Key("languages");
  w.BeginArray();
  if (a.all_languages) {
    for (const std::string& l : *a.languages) w.String(l);
  } else {
    w.String(a.languages->front());
  }
  w.EndArray();
  w.Key("disclaimer");
  if (a.disclaimer) {
    w.String(absl::StrCat("Paid for by ", ToAbsl(a.payer_name)));
  } else {
    w.Null();
  }
  w.EndObject();
  *line = w.Release();
}

}  // namespace vigia::gen::internal
