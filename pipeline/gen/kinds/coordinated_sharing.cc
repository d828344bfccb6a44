// coordinated_sharing: bursts in which many accounts of a network post the
// same URL, the same copy-pasted text or repost the same post within
// seconds.
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

// What one post of a burst is.
struct Planned {
  uint32_t account;  // index into the pool
  uint32_t burst;    // index into BurstState::bursts
};

enum class BurstType { kUrl, kText, kRepost };

struct Burst {
  BurstType type;
  std::string subject;  // the URL, the message, or the reposted post's id
  int64_t first_ms = 0, last_ms = 0;  // since scenario start
  int accounts = 0;  // distinct accounts posting (reposting) the subject
  int64_t posts = 0;
};

// The campaign's bursts as planned, for rendering and the truth.
struct BurstState : KindState {
  std::vector<Planned> plan;              // by seq
  std::vector<Burst> bursts;              // in time order
  std::vector<Original> burst_originals;  // by burst; repost bursts only
};

// Its own section, `bursts`.
absl::Status Parse(YamlReader& r, const std::string&, const ConfigNode& v,
                   CampaignSpec* c) {
  BurstSpec* b = &c->bursts;
  return r.Map(v, {"url", "text", "repost", "accounts", "spread"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "spread") return r.Duration(x, &b->spread);
                 if (k == "accounts") {
                   int64_t lo, hi;
                   VIGIA_RETURN_IF_ERROR(r.IntPair(x, &lo, &hi));
                   if (lo < 2 || hi < lo || hi > 1000000) {
                     return x.Error("must be [min, max] with 2 <= min <= max");
                   }
                   b->min_accounts = static_cast<int>(lo);
                   b->max_accounts = static_cast<int>(hi);
                   return absl::OkStatus();
                 }
                 int64_t n;
                 VIGIA_RETURN_IF_ERROR(r.Int(x, &n));
                 if (n < 0 || n > 10000) {
                   return x.Error("must be in [0, 10000]");
                 }
                 (k == "url"    ? b->url
                  : k == "text" ? b->text
                                : b->repost) = static_cast<int>(n);
                 return absl::OkStatus();
               });
}

int CountWords(std::string_view text) {
  int words = 0;
  bool in_word = false;
  for (char ch : text) {
    const bool space = ch == ' ' || ch == '\t' || ch == '\n';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::optional<Problem> CheckBursts(const CampaignSpec& c,
                                   const std::string& path) {
  const BurstSpec& b = c.bursts;
  if (b.url < 0 || b.text < 0 || b.repost < 0 ||
      b.url + b.text + b.repost < 1 || b.url + b.text + b.repost > 10000) {
    return Problem{path + ".bursts",
                   "url, text and repost must be >= 0 and add up to "
                   "[1, 10000] bursts"};
  }
  if (b.min_accounts < 2 || b.max_accounts < b.min_accounts) {
    return Problem{path + ".bursts.accounts",
                   "must be [min, max] with 2 <= min <= max"};
  }
  // A repost burst also needs the account that posts the original.
  const int needed = b.max_accounts + (b.repost > 0 ? 1 : 0);
  if (needed > c.network.accounts) {
    return Problem{path + ".bursts.accounts",
                   absl::StrCat("needs ", needed,
                                " distinct accounts but the network has ",
                                c.network.accounts)};
  }
  if (b.spread <= absl::ZeroDuration() || b.spread > absl::Minutes(10)) {
    return Problem{path + ".bursts.spread", "must be in (0, 10m]"};
  }
  if (c.duration < b.spread * (b.url + b.text + b.repost)) {
    return Problem{path + ".bursts",
                   "the bursts do not fit in the duration (each needs "
                   "`spread`)"};
  }
  return std::nullopt;
}

// Only lang, urls and messages: the bursts decide the rest.
std::optional<Problem> CheckBurstContent(const ContentSpec& k,
                                         const std::string& path) {
  if (!k.lang.empty() && !IsValidUtf8(k.lang)) {
    return Problem{path + ".content.lang", "must be valid UTF-8"};
  }
  if (auto p = CheckStrings(k.urls, path + ".content.urls")) return p;
  if (auto p = CheckHttpUrls(k.urls, path + ".content.urls")) return p;
  if (auto p = CheckStrings(k.messages, path + ".content.messages")) {
    return p;
  }
  for (const std::string& m : k.messages) {
    if (CountWords(m) < 5) {
      return Problem{path + ".content.messages",
                     absl::StrCat("\"", m,
                                  "\" has fewer than 5 words; shorter "
                                  "texts are not fingerprinted")};
    }
  }
  return std::nullopt;
}

// Spells `url` one of the ways shares of one page differ: http or https,
// with or without "www.", an upper-case host, a trailing slash, tracking
// parameters. URL normalization (operators/url_normalize.h) maps every
// spelling back to one form.
std::string UrlSpelling(Rng& rng, const std::string& url,
                        std::string_view source, std::string_view tag) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const size_t host_begin = scheme_end + 3;
  const size_t path_begin = std::min(url.find('/', host_begin), url.size());
  std::string host = url.substr(host_begin, path_begin - host_begin);
  const std::string rest = url.substr(path_begin);
  const size_t q = std::min(rest.find('?'), rest.size());
  std::string path = rest.substr(0, q);
  const std::string query = rest.substr(q);
  const bool http = rng.Bernoulli(0.2);
  if (rng.Bernoulli(0.3)) {
    host = host.starts_with("www.") ? host.substr(4) : "www." + host;
  }
  if (rng.Bernoulli(0.1)) {
    for (char& ch : host) {
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    }
  }
  if (rng.Bernoulli(0.25) && !path.ends_with('/')) path.push_back('/');
  std::string out =
      absl::StrCat(http ? "http://" : "https://", host, path, query);
  if (rng.Bernoulli(0.35)) AddUtm(&out, source, tag);
  if (rng.Bernoulli(0.1)) {
    absl::StrAppend(&out, out.find('?') == std::string::npos ? "?" : "&",
                    "fbclid=IwAR", Mix64(rng.Next()) % 1000000007);
  }
  return out;
}

// Capitals for the scripts of the built-in languages: ASCII, Latin-1,
// Latin Extended-A, the Romanian comma letters and basic Cyrillic. Other
// characters, and bytes that are not valid UTF-8, are kept as they are.
std::string UpperCase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A')
                                         : static_cast<char>(c));
      ++i;
      continue;
    }
    // Two-byte sequences cover every letter changed here.
    if ((c & 0xE0) != 0xC0 || i + 1 >= text.size() ||
        (static_cast<unsigned char>(text[i + 1]) & 0xC0) != 0x80) {
      out.push_back(text[i]);
      ++i;
      continue;
    }
    uint32_t cp =
        ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
    const bool even = cp % 2 == 0;
    if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) {
      cp -= 0x20;
    } else if (((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177) ||
                (cp >= 0x218 && cp <= 0x21B)) &&
               !even) {
      cp -= 1;  // pairs with the capital first
    } else if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) &&
               even) {
      cp -= 1;  // pairs with the capital second
    } else if (cp >= 0x430 && cp <= 0x44F) {
      cp -= 0x20;
    } else if (cp >= 0x450 && cp <= 0x45F) {
      cp -= 0x50;
    }
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    i += 2;
  }
  return out;
}

// `text` retyped without its acute accents and diaeresis (á é í ó ú ü and
// capitals), as on a keyboard without them; ñ is kept, a letter of its own.
std::string WithoutAccents(std::string_view text) {
  static constexpr std::pair<std::string_view, char> kPlain[] = {
      {"á", 'a'}, {"é", 'e'}, {"í", 'i'}, {"ó", 'o'}, {"ú", 'u'}, {"ü", 'u'},
      {"Á", 'A'}, {"É", 'E'}, {"Í", 'I'}, {"Ó", 'O'}, {"Ú", 'U'}, {"Ü", 'U'}};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    bool replaced = false;
    for (const auto& [accented, plain] : kPlain) {
      if (text.substr(i, accented.size()) == accented) {
        out.push_back(plain);
        i += accented.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(text[i++]);
  }
  return out;
}

// A copy-pasted `message` as it comes out of different hands: as is, behind
// an emoji, with extra punctuation, in capitals, tagging someone, with
// doubled spaces, and with `retyped` also typed again without accents (the
// diaspora's US keyboards). Text normalization maps them all back to one
// text. Only Spanish campaigns draw the seventh variant, so that the other
// languages' bursts stay as they were generated before it.
std::string CopyPaste(Rng& rng, const std::string& message, bool retyped) {
  std::string text = message;
  switch (rng.Below(retyped ? 7 : 6)) {
    case 6:
      text = WithoutAccents(text);
      break;
    case 0:
      break;
    case 1: {
      // The non-empty prefixes are the emoji ones.
      std::vector<std::string_view> emoji;
      for (std::string_view p : MessagePrefixes()) {
        if (!p.empty()) emoji.push_back(p);
      }
      text = absl::StrCat(ToAbsl(emoji[rng.Below(emoji.size())]), text);
      break;
    }
    case 2: {
      std::vector<std::string_view> marks;
      for (std::string_view p : MessageSuffixes()) {
        if (!p.empty()) marks.push_back(p);
      }
      absl::StrAppend(&text, ToAbsl(marks[rng.Below(marks.size())]));
      break;
    }
    case 3:
      text = UpperCase(text);
      break;
    case 4:
      absl::StrAppend(&text, " @user", 1000 + rng.Below(9000));
      break;
    default: {
      std::string spaced;
      for (char ch : text) {
        spaced.push_back(ch);
        if (ch == ' ') spaced.push_back(' ');
      }
      text = std::move(spaced);
      break;
    }
  }
  return text;
}

// Its content, defaults filled in.
void Prepare(Model* m, Stream& st) {
  const CampaignSpec& c = m->s->campaigns[st.campaign];
  const TargetSpec& t = m->s->targets[st.target];
  CampaignContent& out = m->campaign_content[st.campaign];
  KindStateOf<BurstState>(st);  // filled by PlanBursts
  Rng rng = KindSetupRng(*m, st.campaign, c, &out);
  const int64_t start_ms = absl::ToUnixMillis(CampaignStart(*m->s, c));
  const ContentSpec& k = c.content;
  ResolveMessages(k, t, &out);
  if (!k.urls.empty()) {
    out.urls = k.urls;
  } else {
    // One article per URL burst.
    out.urls = CampaignArticles(
        rng, c.origin, std::max(1, c.bursts.url + c.bursts.repost), start_ms);
  }
}

// The bursts' types in a shuffled order.
std::vector<BurstType> ShuffledBurstTypes(const BurstSpec& b, Rng& rng) {
  std::vector<BurstType> types;
  types.insert(types.end(), b.url, BurstType::kUrl);
  types.insert(types.end(), b.text, BurstType::kText);
  types.insert(types.end(), b.repost, BurstType::kRepost);
  for (size_t i = types.size(); i > 1; --i) {
    std::swap(types[i - 1], types[rng.Below(i)]);
  }
  return types;
}

// The times of a burst's `size` posts, sorted, strictly after t0 (where a
// repost burst's original sits) and within `spread` of it.
std::vector<int64_t> BurstTimes(Rng& rng, int64_t t0, int size,
                                int64_t spread) {
  std::vector<int64_t> times;
  for (int i = 0; i < size; ++i) {
    times.push_back(
        t0 + 1 +
        static_cast<int64_t>(rng.Uniform() * static_cast<double>(spread - 1)));
  }
  std::sort(times.begin(), times.end());
  return times;
}

// coordinated_sharing: lays out the bursts, shuffled by type, one per equal
// slot of [from, to), and appends their records. Each burst draws its
// distinct accounts and its posts' times within `spread`; repost bursts
// start with the network post that the others repost.
void PlanBursts(const Schedule& s) {
  const Model& m = s.m;
  Stream& st = s.stream;
  BurstState& state = KindStateOf<BurstState>(st);
  const uint32_t stream_index = s.index;
  const int64_t from = s.from, to = s.to, jitter_ms = s.jitter_ms;
  std::vector<Record>* out = s.out;
  const CampaignSpec& c = m.s->campaigns[st.campaign];
  const CampaignContent& cc = m.campaign_content[st.campaign];
  const BurstSpec& b = c.bursts;
  Rng& rng = st.arrival;
  const std::vector<BurstType> types = ShuffledBurstTypes(b, rng);
  const int64_t spread = absl::ToInt64Milliseconds(b.spread);
  const int64_t slot = (to - from) / static_cast<int64_t>(types.size());
  const size_t pool_size = m.pools[st.pool].accounts.size();
  std::vector<uint32_t> order(pool_size);
  for (size_t i = 0; i < pool_size; ++i) order[i] = static_cast<uint32_t>(i);
  uint32_t seq = 0;
  int urls = 0, texts = 0, reposts = 0;
  state.burst_originals.resize(types.size());
  for (size_t bi = 0; bi < types.size(); ++bi) {
    const BurstType type = types[bi];
    const int64_t t0 = from + static_cast<int64_t>(bi) * slot +
                       static_cast<int64_t>(rng.Uniform() *
                                            static_cast<double>(slot - spread));
    const int size =
        b.min_accounts +
        static_cast<int>(rng.Below(b.max_accounts - b.min_accounts + 1));
    const int posters = size + (type == BurstType::kRepost ? 1 : 0);
    // Partial Fisher-Yates: `posters` distinct accounts.
    for (int i = 0; i < posters; ++i) {
      const size_t j = i + rng.Below(pool_size - i);
      std::swap(order[i], order[j]);
    }
    std::vector<int64_t> times = BurstTimes(rng, t0, size, spread);
    Burst burst;
    burst.type = type;
    burst.accounts = size;
    burst.posts = size;
    if (type == BurstType::kUrl) {
      burst.subject = cc.urls[urls++ % cc.urls.size()];
    } else if (type == BurstType::kText) {
      burst.subject = cc.messages[texts++ % cc.messages.size()];
    } else {
      // The original: a campaign message with a campaign link, posted by
      // one more account at t0. Message and link follow those of the text
      // and URL bursts, so that (given enough of them) the original never
      // joins another burst's cluster.
      Original& o = state.burst_originals[bi];
      o.id = IdString(m, kEventId, stream_index, seq);
      o.lang = cc.lang;
      o.text = cc.messages[(b.text + reposts) % cc.messages.size()];
      o.urls.push_back(cc.urls[(b.url + reposts) % cc.urls.size()]);
      ++reposts;
      burst.subject = o.id;
      times.insert(times.begin(), t0);
      ++burst.posts;
    }
    burst.first_ms = times.front();
    burst.last_ms = times.back();
    // A repost burst's original comes first, by the extra account.
    for (size_t i = 0; i < times.size(); ++i) {
      const uint32_t account =
          type == BurstType::kRepost
              ? order[i == 0 ? static_cast<size_t>(size) : i - 1]
              : order[i];
      state.plan.push_back(Planned{account, static_cast<uint32_t>(bi)});
      const int64_t delay =
          static_cast<int64_t>(rng.Uniform() * static_cast<double>(jitter_ms));
      out->push_back(Record{times[i], times[i] + delay, stream_index, seq++});
    }
    state.bursts.push_back(std::move(burst));
  }
  st.events = seq;
}
// coordinated_sharing: one post of a planned burst.
void Render(Renderer& r, Stream& st, const Record& rec, const std::string& id,
            int64_t unix_ms, std::string* line) {
  Rng& rng = st.content;
  const CampaignSpec& c = r.scenario().campaigns[st.campaign];
  const CampaignContent& cc = r.model().campaign_content[st.campaign];
  const TargetSpec& t = r.Target(st);
  const Pool& pool = r.model().pools[st.pool];
  BurstState& state = KindStateOf<BurstState>(st);
  const Planned& plan = state.plan[rec.seq];
  Burst& burst = state.bursts[plan.burst];
  const Account& account = pool.accounts[plan.account];
  st.used[plan.account] = true;
  const std::string& platform = pool.platforms[account.platform];
  Original fresh;
  const Original* content = &fresh;
  std::string_view repost_of;
  fresh.id = id;
  fresh.lang = cc.lang;
  switch (burst.type) {
    case BurstType::kUrl:
      // Every account words it differently; the link is the same page
      // however it is spelled.
      fresh.text = r.Text(rng, LexiconOrEnglish(cc.lang), id);
      fresh.urls.push_back(
          UrlSpelling(rng, burst.subject, platform, cc.utm_tag));
      r.BackgroundHashtags(rng, t, &fresh.hashtags);
      break;
    case BurstType::kText:
      fresh.text = CopyPaste(rng, burst.subject, cc.lang == "es");
      r.BackgroundHashtags(rng, t, &fresh.hashtags);
      break;
    case BurstType::kRepost:
      content = &state.burst_originals[plan.burst];
      if (content->id != id) repost_of = content->id;
      break;
  }
  r.Write(PostView{id, platform, unix_ms, &account, c.origin.str(),
                   t.country.str(), content, repost_of},
          line);
}

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const CampaignSpec& c = m.s->campaigns[st.campaign];
  const CampaignContent& cc = m.campaign_content[st.campaign];
  WriteCountsTruth(m, st, w);
  w.Field("spread_seconds", absl::ToDoubleSeconds(c.bursts.spread));
  w.Key("bursts");
  w.BeginArray();
  for (const Burst& b : KindStateOf<BurstState>(st).bursts) {
    w.BeginObject();
    w.Field("type", b.type == BurstType::kUrl    ? "url"
                    : b.type == BurstType::kText ? "text"
                                                 : "repost");
    w.Field("subject", b.subject);
    w.Field("first", TruthTime(m, b.first_ms));
    w.Field("last", TruthTime(m, b.last_ms));
    w.Field("accounts", static_cast<int64_t>(b.accounts));
    w.Field("posts", b.posts);
    w.EndObject();
  }
  w.EndArray();
  StringArray(w, "urls", cc.urls);
  StringArray(w, "messages", cc.messages);
}

}  // namespace

const KindSpec& CoordinatedSharingKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kCoordinatedSharing,
      .name = "coordinated_sharing",
      .detector = "coordinated_sharing",
      .intensity = Intensity::kOwn,
      .keys = {"network", "bursts", "content"},
      .content_keys = {"lang", "messages", "urls"},
      .parse = &Parse,
      .defaults = [](CampaignSpec* c) { DefaultNetwork(c, 40, 0.3, 0); },
      .check =
          [](const Scenario&, const CampaignSpec& c, const TargetSpec&,
             const std::string& path) {
            if (auto p = CheckBursts(c, path)) return p;
            return CheckBurstContent(c.content, path);
          },
      .own_events =
          [](const CampaignSpec& c, double) {
            return (c.bursts.url + c.bursts.text + c.bursts.repost) *
                   (c.bursts.max_accounts + 1.0);
          },
      .prepare = &Prepare,
      .arrivals = &PlanBursts,
      .render = &Render,
      .truth = &Truth,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
