#include "pipeline/gen/generator.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pipeline/core/country.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/lexicon.h"
#include "pipeline/gen/random.h"

namespace vigia::gen {
namespace {

using internal::DeriveSeed;
using internal::Lexicon;
using internal::Mix64;
using internal::Rng;
using internal::WeightedTable;

constexpr double kMsPerHour = 3600e3;
constexpr double kMsPerDay = 86400e3;
constexpr int64_t kDayMs = 86400000;

// Seed purposes, so that every random stream is independent of the others.
enum Purpose : uint64_t {
  kArrivals = 1,
  kContent = 2,
  kPool = 3,
  kLate = 4,
  kIds = 5,
  kCampaignSetup = 6,
  kKindSetup = 7,  // campaigns of the kinds ResolveKindContent sets up
  kNoise = 8,      // a pair's over-dispersion
  kNews = 9,       // a target's news events
  kCascade = 10,   // a pair's repost cascades
};

// The step of the over-dispersion process.
constexpr int64_t kNoiseStepMs = 300000;
// Record::root of a record that is not a cascade's repost.
constexpr uint32_t kNoRoot = UINT32_MAX;

// Id key classes: ids are Mix64 of (class, stream, sequence), a bijection,
// so no two records share an id.
enum IdClass : uint64_t {
  kEventId = 1,
  kBadLineId = 2,
  kAccountId = 3,
  kPageId = 4,
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The local daily cycle: the 24 hourly factors joined by a periodic
// Catmull-Rom spline (smooth, passes through every factor), sampled per
// minute and normalized to mean 1.
class DailyCycle {
 public:
  explicit DailyCycle(const std::vector<double>& hourly) {
    double sum = 0;
    for (int m = 0; m < kMinutes; ++m) {
      const int h = m / 60;
      const double u = (m % 60) / 60.0;
      const double p0 = hourly[(h + 23) % 24], p1 = hourly[h],
                   p2 = hourly[(h + 1) % 24], p3 = hourly[(h + 2) % 24];
      double v = 0.5 * (2 * p1 + (-p0 + p2) * u +
                        (2 * p0 - 5 * p1 + 4 * p2 - p3) * u * u +
                        (-p0 + 3 * p1 - 3 * p2 + p3) * u * u * u);
      // The spline may undershoot between steep points; keep rates positive.
      v = std::max(v, 0.01 * std::min(p1, p2));
      per_minute_[m] = v;
      sum += v;
    }
    const double mean = sum / kMinutes;
    max_ = 0;
    for (double& v : per_minute_) {
      v /= mean;
      max_ = std::max(max_, v);
    }
  }

  // The factor at `unix_ms` for a place at `offset_ms` from UTC, linearly
  // interpolated between minutes.
  double Factor(int64_t unix_ms, int64_t offset_ms) const {
    int64_t local = (unix_ms + offset_ms) % kDayMs;
    if (local < 0) local += kDayMs;
    const int64_t minute = local / 60000;
    const double frac = (local % 60000) / 60000.0;
    const double a = per_minute_[minute];
    const double b = per_minute_[(minute + 1) % kMinutes];
    return a + (b - a) * frac;
  }
  double max() const { return max_; }

 private:
  static constexpr int kMinutes = 24 * 60;
  std::array<double, kMinutes> per_minute_;
  double max_ = 1;
};

struct Account {
  std::string id;
  // Where the account operates from; unknown = the stream's origin (set
  // only by trend_riding networks, which span several countries).
  CountryCode country;
  int64_t created_ms = 0;  // Unix ms
  int64_t followers = 0;
  uint8_t platform = 0;  // index into the pool's platforms
  bool state_affiliated = false;
};

struct Pool {
  std::vector<Account> accounts;
  WeightedTable pick;
  std::vector<std::string> platforms;
};

// A post as rendered, kept so that reposts can copy it.
struct Original {
  std::string id;
  std::string lang;
  std::string text;
  std::vector<std::string> urls;
  std::vector<std::string> hashtags;
};

// kSurge also renders new_account_burst campaigns: the same near-duplicate
// content, from a network of new accounts.
enum class StreamType {
  kPairPosts,
  kAds,
  kSurge,
  kOrganic,
  kTrend,
  kBursts,
  kStateMedia,
  kAdCampaign,
  kClock,
  kViral,
};

// coordinated_sharing: what one post of a burst is.
struct Planned {
  uint32_t account;  // index into the pool
  uint32_t burst;    // index into Stream::bursts
};

enum class BurstType { kUrl, kText, kRepost };

struct Burst {
  BurstType type;
  std::string subject;  // the URL, the message, or the reposted post's id
  int64_t first_ms = 0, last_ms = 0;  // since scenario start
  int accounts = 0;  // distinct accounts posting (reposting) the subject
  int64_t posts = 0;
};

// One independent source of records: the background posts of a (target,
// origin) pair, the ads aimed at a target, or a campaign.
struct Stream {
  Stream(uint64_t seed, uint64_t index)
      : arrival(DeriveSeed(seed, kArrivals, index)),
        content(DeriveSeed(seed, kContent, index)) {}

  StreamType type = StreamType::kPairPosts;
  int target = 0;     // index into Scenario::targets
  int origin = -1;    // index into the target's origins (pair, organic)
  int campaign = -1;  // index into Scenario::campaigns
  int pool = -1;      // index into Model::pools
  Rng arrival;
  Rng content;
  std::vector<Original> ring;  // recent originals, for reposts
  size_t ring_next = 0;
  int64_t events = 0;
  uint32_t bad_seq = 0;
  std::vector<bool> used;  // accounts of the pool that posted (campaigns)
  // Per-kind bookkeeping for the truth.
  std::vector<Planned> plan;              // coordinated_sharing, by seq
  std::vector<Burst> bursts;              // coordinated_sharing
  std::vector<Original> burst_originals;  // by burst; repost bursts only
  std::vector<std::pair<int64_t, double>> spends;  // ads: (ms, midpoint)
  int64_t ads_without_disclaimer = 0;
  int64_t max_account_age_ms = 0;                    // new_account_burst
  std::vector<std::pair<int64_t, uint32_t>> shares;  // viral: (ms, account)
  // Background pairs with cascades: per cascade original (by seq), its
  // reposts not yet rendered and, once it is rendered, its content.
  struct Cascade {
    uint32_t left = 0;
    Original original;
  };
  std::map<uint32_t, Cascade> cascades;
};

struct Record {
  int64_t event_ms;   // since scenario start
  int64_t arrive_ms;  // position in the file: event time plus delay
  uint32_t stream;
  uint32_t seq;
  // A cascade's repost: the seq of the original it reposts (whose record
  // is delivered no later than this one); kNoRoot otherwise.
  uint32_t root = kNoRoot;
};

// A campaign's content with defaults filled in. Each kind fills the parts
// it uses.
struct CampaignContent {
  std::string lang;
  std::vector<std::string> messages;
  std::vector<std::string> urls;  // shared URLs, articles, or the viral link
  std::vector<std::string> hashtags;
  std::string utm_tag;
  std::string hashtag;                // trend_riding
  std::vector<OriginShare> origins;   // trend_riding, normalized
  std::vector<std::string> domains;   // state_media_amplification
  CountryCode state;                  // state_media_amplification
  std::string payer;                  // foreign_ad_spend
  CurrencyCode currency;              // foreign_ad_spend
  std::vector<std::string> page_ids;  // foreign_ad_spend
  std::vector<size_t> spend_ranges;   // foreign_ad_spend: AdSpendRanges()
};

// Every derived, read-only input of the rendering pass.
struct Model {
  const Scenario* s = nullptr;
  uint64_t id_salt = 0;
  int64_t start_ms = 0;
  int64_t duration_ms = 0;
  DailyCycle cycle{std::vector<double>(24, 1.0)};
  std::vector<std::vector<double>> origin_share;  // normalized, per target
  // Per target: the pool of each origin, and a draw of an origin by share
  // (a cascade's reposters are the target's whole audience).
  std::vector<std::vector<int>> pair_pool;
  std::vector<WeightedTable> origin_pick;
  std::vector<Pool> pools;
  std::vector<CampaignContent> campaign_content;
  WeightedTable bad_kinds;
};

std::string IdString(const Model& m, IdClass cls, uint64_t a, uint64_t b) {
  return absl::StrCat(Mix64(((cls << 56) | (a << 32) | b) ^ m.id_salt));
}

double Ramp(double x) {
  x = std::clamp(x, 0.0, 1.0);
  return x * x * (3 - 2 * x);
}

// Rate multiplier of a campaign's ramps at `ms` within [start, end).
double RampFactor(int64_t ms, int64_t start, int64_t end, int64_t in,
                  int64_t out) {
  double f = 1;
  if (in > 0 && ms < start + in) f = Ramp(double(ms - start) / double(in));
  if (out > 0 && ms > end - out) {
    f = std::min(f, Ramp(double(end - ms) / double(out)));
  }
  return f;
}

// Primary language of a country, or "en".
std::string_view PrimaryLanguage(CountryCode c) {
  const internal::CountryProfile* p = internal::FindCountryProfile(c);
  if (p == nullptr) return "en";
  const size_t space = p->languages.find(' ');
  return p->languages.substr(0, space);
}

std::string FormatDatePath(int64_t unix_ms) {
  return absl::FormatTime("%Y/%m/%d", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

// Domain of the j-th (0..5) news outlet of a country.
std::string OutletDomain(CountryCode c, int j) {
  const auto words = internal::OutletWords();
  const uint64_t h = Mix64(c.packed()) % words.size();
  // A step coprime with the list size visits distinct words.
  const auto& w = words[(h + static_cast<uint64_t>(j) * 5) % words.size()];
  return absl::StrCat(ToAbsl(w), "-", Lower(c.str()), ".example");
}

std::string ArticlePath(Rng& rng, int64_t unix_ms) {
  const auto sections = internal::UrlSections();
  const auto slugs = internal::UrlSlugWords();
  // Draws are sequenced one per statement: the order in which function
  // arguments are evaluated is unspecified, and it must not change output.
  const int64_t article_ms =
      unix_ms - static_cast<int64_t>(rng.Uniform() * 2 * kDayMs);
  const std::string_view section = sections[rng.Below(sections.size())];
  const std::string_view slug1 = slugs[rng.Below(slugs.size())];
  const std::string_view slug2 = slugs[rng.Below(slugs.size())];
  const uint64_t number = 100000 + rng.Below(900000);
  return absl::StrCat("/", ToAbsl(section), "/", FormatDatePath(article_ms),
                      "/", ToAbsl(slug1), "-", ToAbsl(slug2), "-", number);
}

// An article of a state-affiliated outlet: https://de.rt.com/world/
// 123456-vote-debate/ (a trailing slash, as such sites write them).
std::string StateMediaArticle(Rng& rng, std::string_view domain) {
  const auto sections = internal::UrlSections();
  const auto slugs = internal::UrlSlugWords();
  const std::string_view section = sections[rng.Below(sections.size())];
  const uint64_t number = 100000 + rng.Below(900000);
  const std::string_view slug1 = slugs[rng.Below(slugs.size())];
  const std::string_view slug2 = slugs[rng.Below(slugs.size())];
  return absl::StrCat("https://", ToAbsl(domain), "/", ToAbsl(section), "/",
                      number, "-", ToAbsl(slug1), "-", ToAbsl(slug2), "/");
}

void AddUtm(std::string* url, std::string_view source,
            std::string_view campaign) {
  absl::StrAppend(url, url->find('?') == std::string::npos ? "?" : "&",
                  "utm_source=", ToAbsl(source), "&utm_medium=social");
  if (!campaign.empty()) {
    absl::StrAppend(url, "&utm_campaign=", ToAbsl(campaign));
  }
}

// Toggles "www." on an http(s) URL's host.
std::string ToggleWww(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  if (url.compare(host, 4, "www.") == 0) {
    return url.substr(0, host) + url.substr(host + 4);
  }
  return url.substr(0, host) + "www." + url.substr(host);
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
      for (std::string_view p : internal::MessagePrefixes()) {
        if (!p.empty()) emoji.push_back(p);
      }
      text = absl::StrCat(ToAbsl(emoji[rng.Below(emoji.size())]), text);
      break;
    }
    case 2: {
      std::vector<std::string_view> marks;
      for (std::string_view p : internal::MessageSuffixes()) {
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

// "+08:00".
std::string FormatOffset(absl::Duration offset) {
  const int64_t minutes = absl::ToInt64Minutes(offset);
  const int64_t a = minutes < 0 ? -minutes : minutes;
  auto two = [](int64_t v) { return absl::StrCat(v < 10 ? "0" : "", v); };
  return absl::StrCat(minutes < 0 ? "-" : "+", two(a / 60), ":", two(a % 60));
}

// ---------------------------------------------------------------------------
// Setup

Pool MakePool(const Model& m, uint64_t pool_index, int size,
              std::vector<std::string> platforms,
              const std::vector<double>& platform_weights, double zipf_exponent,
              double new_share, double state_share, int64_t reference_ms,
              bool network, double new_max_days = 14) {
  Pool pool;
  pool.platforms = std::move(platforms);
  Rng rng(DeriveSeed(m.s->seed, kPool, pool_index));
  const WeightedTable platform_pick(platform_weights);
  std::vector<double> weights;
  weights.reserve(size);
  pool.accounts.reserve(size);
  // A network is designed: it has exactly the configured shares (rounded)
  // of new and of state-affiliated accounts. Ids are opaque, so which ranks
  // get them does not matter. Background accounts draw them independently.
  const int network_new = static_cast<int>(std::lround(new_share * size));
  const int network_state = static_cast<int>(std::lround(state_share * size));
  for (int k = 0; k < size; ++k) {
    Account a;
    a.id = IdString(m, kAccountId, pool_index, static_cast<uint64_t>(k));
    double age_days;
    if (network) {
      age_days = k < network_new ? rng.Uniform(1, new_max_days)
                                 : rng.LogUniform(60, 6 * 365);
      a.state_affiliated = k >= size - network_state;
    } else {
      age_days = rng.Bernoulli(new_share) ? rng.Uniform(1, 30)
                                          : rng.LogUniform(30, 12 * 365);
      a.state_affiliated = rng.Bernoulli(state_share);
    }
    a.created_ms = reference_ms - static_cast<int64_t>(age_days * kMsPerDay);
    const double followers = a.state_affiliated ? rng.Pareto(2000, 1.2)
                             : network          ? rng.Pareto(15, 1.4)
                                                : rng.Pareto(30, 1.1);
    a.followers = static_cast<int64_t>(std::min(followers, 2e7));
    a.platform = static_cast<uint8_t>(platform_pick.Sample(rng));
    pool.accounts.push_back(std::move(a));
    // Background: Zipf-Mandelbrot, a few loud accounts and a long tail.
    // Networks spread their posts evenly across accounts.
    weights.push_back(network ? 1.0 : std::pow(k + 6.0, -zipf_exponent));
  }
  pool.pick = WeightedTable(weights);
  return pool;
}

CampaignContent ResolveContent(const Model& m, int index, const CampaignSpec& c,
                               const TargetSpec& t) {
  CampaignContent out;
  const ContentSpec& k = c.content;
  out.lang = k.lang.empty() ? t.languages.front() : k.lang;
  if (!k.messages.empty()) {
    out.messages = k.messages;
  } else {
    if (!internal::HasCampaignMessages(out.lang)) out.lang = "en";
    for (std::string_view msg :
         internal::LexiconOrEnglish(out.lang).campaign_messages) {
      out.messages.emplace_back(msg);
    }
  }
  if (!k.hashtags.empty()) {
    out.hashtags = k.hashtags;
  } else {
    for (std::string_view h :
         internal::LexiconOrEnglish(out.lang).campaign_hashtags) {
      out.hashtags.emplace_back(h);
    }
  }
  Rng rng(DeriveSeed(m.s->seed, kCampaignSetup, static_cast<uint64_t>(index)));
  if (!k.urls.empty()) {
    out.urls = k.urls;
  } else {
    const auto words = internal::CampaignOutletWords();
    const std::string domain =
        absl::StrCat(ToAbsl(words[rng.Below(words.size())]), "-",
                     Lower(c.origin.str()), ".example");
    const int64_t start_ms = absl::ToUnixMillis(CampaignStart(*m.s, c));
    for (int i = 0; i < 3; ++i) {
      out.urls.push_back(
          absl::StrCat("https://", domain, ArticlePath(rng, start_ms)));
    }
  }
  out.utm_tag = absl::StrCat("c", rng.Below(90000) + 10000);
  return out;
}

// Content of the kinds other than foreign_origin_surge and
// new_account_burst (ResolveContent) with defaults filled in.
CampaignContent ResolveKindContent(const Model& m, int index,
                                   const CampaignSpec& c, const TargetSpec& t) {
  CampaignContent out;
  // The kind is part of the stream so that campaigns of different kinds at
  // the same index do not draw the same articles.
  Rng rng(DeriveSeed(
      m.s->seed, kKindSetup,
      (static_cast<uint64_t>(c.kind) << 32) | static_cast<uint64_t>(index)));
  const int64_t start_ms = absl::ToUnixMillis(CampaignStart(*m.s, c));
  out.utm_tag = absl::StrCat("c", rng.Below(90000) + 10000);
  switch (c.kind) {
    case CampaignKind::kTrendRiding: {
      out.hashtag =
          c.trend.hashtag.empty() ? t.hashtags.front() : c.trend.hashtag;
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
      break;
    }
    case CampaignKind::kCoordinatedSharing: {
      const ContentSpec& k = c.content;
      out.lang = k.lang.empty() ? t.languages.front() : k.lang;
      if (!k.messages.empty()) {
        out.messages = k.messages;
      } else {
        if (!internal::HasCampaignMessages(out.lang)) out.lang = "en";
        for (std::string_view msg :
             internal::LexiconOrEnglish(out.lang).campaign_messages) {
          out.messages.emplace_back(msg);
        }
      }
      if (!k.urls.empty()) {
        out.urls = k.urls;
      } else {
        // One article per URL burst, on a campaign domain of the origin.
        const auto words = internal::CampaignOutletWords();
        const std::string domain =
            absl::StrCat(ToAbsl(words[rng.Below(words.size())]), "-",
                         Lower(c.origin.str()), ".example");
        const int n = std::max(1, c.bursts.url + c.bursts.repost);
        for (int i = 0; i < n; ++i) {
          out.urls.push_back(
              absl::StrCat("https://", domain, ArticlePath(rng, start_ms)));
        }
      }
      break;
    }
    case CampaignKind::kStateMediaAmplification: {
      if (c.media.domains.empty()) {
        for (std::string_view d :
             internal::DefaultCampaignStateMediaDomains()) {
          out.domains.emplace_back(d);
        }
      } else {
        out.domains = c.media.domains;
      }
      out.state = c.media.state.known() ? c.media.state : ParseCountry("RU");
      std::set<std::string> seen;
      for (int i = 0; static_cast<int>(out.urls.size()) < c.media.articles;
           ++i) {
        std::string url =
            StateMediaArticle(rng, out.domains[i % out.domains.size()]);
        if (seen.insert(url).second) out.urls.push_back(std::move(url));
      }
      break;
    }
    case CampaignKind::kForeignAdSpend: {
      const AdCampaignSpec& a = c.ads;
      if (!a.payer.empty()) {
        out.payer = a.payer;
      } else {
        // Background payers are exactly "<prefix> <suffix>": the suffix
        // word keeps this one new to the target.
        const Lexicon& en = internal::LexiconOrEnglish("en");
        out.payer = absl::StrCat(
            ToAbsl(en.org_prefixes[rng.Below(en.org_prefixes.size())]), " ",
            ToAbsl(en.org_suffixes[rng.Below(en.org_suffixes.size())]),
            " International");
      }
      out.currency = a.currency;
      if (!out.currency.known()) {
        out.currency = CurrencyCode::FromString(
            internal::FindCountryProfile(c.origin)->currency);
      }
      for (int p = 0; p < a.pages; ++p) {
        out.page_ids.push_back(
            IdString(m, kPageId, 0x800000 | index, static_cast<uint64_t>(p)));
      }
      const auto ranges = internal::AdSpendRanges();
      for (size_t i = 0; i < ranges.size(); ++i) {
        if (ranges[i].lower >= a.spend_lower &&
            ranges[i].upper <= a.spend_upper) {
          out.spend_ranges.push_back(i);
        }
      }
      break;
    }
    case CampaignKind::kViralLink:
      if (!c.link.url.empty()) {
        out.urls.push_back(c.link.url);
      } else {
        out.urls.push_back(absl::StrCat("https://", OutletDomain(c.origin, 0),
                                        ArticlePath(rng, start_ms)));
      }
      break;
    default:
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Rendering

struct Defect {
  std::optional<BadLineKind> kind;
  uint64_t variant = 0;
};

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

struct PostView {
  std::string_view id;
  std::string_view platform;
  int64_t created_ms;
  const Account* account;
  std::string account_country;
  std::string target;
  const Original* content;
  std::string_view repost_of;
};

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

constexpr std::array<std::pair<int64_t, int64_t>, 8> kImpressions = {
    {{0, 999},
     {1000, 4999},
     {5000, 9999},
     {10000, 49999},
     {50000, 99999},
     {100000, 199999},
     {200000, 499999},
     {500000, 999999}}};
constexpr std::string_view kAdPlatforms[] = {"facebook", "instagram", "google"};

class Renderer {
 public:
  Renderer(const Model& m, std::vector<Stream>& streams)
      : m_(m), s_(*m.s), streams_(streams) {}

  // Renders record `r` into `line` (no newline).
  void Render(const Record& r, std::string* line) {
    Stream& st = streams_[r.stream];
    const int64_t unix_ms = m_.start_ms + r.event_ms;
    const std::string id = IdString(m_, kEventId, r.stream, r.seq);
    switch (st.type) {
      case StreamType::kPairPosts:
        PairPost(st, r, id, unix_ms, line);
        break;
      case StreamType::kOrganic:
        BackgroundPost(st, id, unix_ms, Defect{}, line);
        break;
      case StreamType::kAds:
        Ad(st, id, unix_ms, Defect{}, line);
        break;
      case StreamType::kSurge:
        CampaignPost(st, id, unix_ms, line);
        break;
      case StreamType::kTrend:
        TrendPost(st, id, unix_ms, line);
        break;
      case StreamType::kBursts:
        BurstPost(st, r.seq, id, unix_ms, line);
        break;
      case StreamType::kStateMedia:
        StateMediaPost(st, id, unix_ms, line);
        break;
      case StreamType::kAdCampaign:
        CampaignAd(st, id, unix_ms, line);
        break;
      case StreamType::kClock:
        ClockPost(st, id, unix_ms, line);
        break;
      case StreamType::kViral:
        ViralPost(st, id, unix_ms, line);
        break;
    }
  }

  // Maybe renders a bad line after a record of a background stream; returns
  // its kind, or nullopt for none.
  std::optional<BadLineKind> MaybeBadLine(const Record& r, std::string* line) {
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

 private:
  const TargetSpec& Target(const Stream& st) const {
    return s_.targets[st.target];
  }

  std::string PickLanguage(Rng& rng, const TargetSpec& t, CountryCode origin) {
    std::string_view lang;
    if (origin != t.country && !rng.Bernoulli(s_.posts.target_language_share)) {
      lang = PrimaryLanguage(origin);
    } else if (t.languages.size() == 1 || rng.Bernoulli(0.75)) {
      lang = t.languages.front();
    } else {
      lang = t.languages[1 + rng.Below(t.languages.size() - 1)];
    }
    // Languages without word lists are written (and labelled) in English.
    return std::string(internal::LexiconOrEnglish(lang).lang);
  }

  // One to three statements and maybe a closer. A lone statement gets a
  // second one picked by the post's id: with ten statements per language,
  // lone ones repeat so often that five accounts would post the same
  // sentence within a minute now and then, which reads as coordination.
  // The id, not the stream, picks it, so that no other field changes.
  std::string Text(Rng& rng, const Lexicon& lex, std::string_view id) {
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

  void PickHashtags(Rng& rng, const std::vector<std::string>& pool, int count,
                    std::vector<std::string>* out) {
    count = std::min<int>(count, static_cast<int>(pool.size()));
    while (static_cast<int>(out->size()) < count) {
      const std::string& h = pool[rng.Below(pool.size())];
      if (std::find(out->begin(), out->end(), h) == out->end()) {
        out->push_back(h);
      }
    }
  }

  static void Remember(Stream& st, const Original& o) {
    constexpr size_t kRing = 64;
    if (st.ring.size() < kRing) {
      st.ring.push_back(o);
    } else {
      st.ring[st.ring_next] = o;
      st.ring_next = (st.ring_next + 1) % kRing;
    }
  }

  // A recent original of the stream, or nullptr if there is none yet.
  static const Original* Recent(Stream& st, size_t window) {
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
  std::string NewsUrl(Rng& rng, CountryCode origin, const TargetSpec& t,
                      int64_t unix_ms, std::string_view platform) {
    // Drawn only when enabled, so that the standard background's draws (and
    // bytes) do not change.
    if (s_.posts.state_media_share > 0) {
      const auto media = internal::StateMediaDomains(origin);
      if (!media.empty() && rng.Bernoulli(s_.posts.state_media_share)) {
        std::string url =
            StateMediaArticle(rng, media[rng.Below(media.size())]);
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

  // Zero to three of the target's hashtags, as background posts have.
  void BackgroundHashtags(Rng& rng, const TargetSpec& t,
                          std::vector<std::string>* out) {
    const double u = rng.Uniform();
    const int tags = u < 0.4 ? 0 : u < 0.75 ? 1 : u < 0.93 ? 2 : 3;
    PickHashtags(rng, t.hashtags, tags, out);
  }

  // An original post with background-style content: text in a language of
  // the target (or the origin's), maybe an article URL, maybe hashtags.
  void OrdinaryContent(Rng& rng, const TargetSpec& t, CountryCode origin,
                       int64_t unix_ms, std::string_view platform,
                       double url_share, Original* out) {
    out->lang = PickLanguage(rng, t, origin);
    out->text = Text(rng, internal::LexiconOrEnglish(out->lang), out->id);
    if (rng.Bernoulli(url_share)) {
      out->urls.push_back(NewsUrl(rng, origin, t, unix_ms, platform));
    }
    BackgroundHashtags(rng, t, &out->hashtags);
  }

  void Write(const PostView& p, std::string* line) {
    writer_.Clear();
    WritePost(p, Defect{}, writer_);
    *line = writer_.Release();
  }

  // A background post of a pair: an original, which may start a cascade,
  // or one of a cascade's reposts of its original.
  void PairPost(Stream& st, const Record& r, const std::string& id,
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

  // `keep`, if set, receives the post's content when it is an original.
  void BackgroundPost(Stream& st, const std::string& id, int64_t unix_ms,
                      const Defect& d, std::string* line,
                      Original* keep = nullptr) {
    Rng& rng = st.content;
    const TargetSpec& t = Target(st);
    const CountryCode origin = t.origins[st.origin].country;
    const Pool& pool = m_.pools[st.pool];
    // An organic rise brings out the pair's occasional posters rather than
    // multiplying its loudest accounts' output (a top account already posts
    // every few minutes): its extra posts pick the pool's accounts evenly.
    const size_t k = st.type == StreamType::kOrganic
                         ? static_cast<size_t>(rng.Below(pool.accounts.size()))
                         : pool.pick.Sample(rng);
    const Account& account = pool.accounts[k];
    if (!d.kind && st.type == StreamType::kOrganic) st.used[k] = true;
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
      fresh.text = Text(rng, internal::LexiconOrEnglish(fresh.lang), id);
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

  void CampaignPost(Stream& st, const std::string& id, int64_t unix_ms,
                    std::string* line) {
    Rng& rng = st.content;
    const CampaignSpec& c = s_.campaigns[st.campaign];
    const CampaignContent& cc = m_.campaign_content[st.campaign];
    const TargetSpec& t = Target(st);
    const Pool& pool = m_.pools[st.pool];
    const size_t k = pool.pick.Sample(rng);
    const Account& account = pool.accounts[k];
    st.used[k] = true;
    st.max_account_age_ms =
        std::max(st.max_account_age_ms, unix_ms - account.created_ms);
    const std::string& platform = pool.platforms[account.platform];

    Original fresh;
    const Original* content = nullptr;
    std::string_view repost_of;
    if (rng.Bernoulli(c.content.repost_share)) {
      // Networks amplify what they just posted.
      content = Recent(st, 16);
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
      const auto prefixes = internal::MessagePrefixes();
      const auto suffixes = internal::MessageSuffixes();
      const std::string_view prefix = prefixes[rng.Below(prefixes.size())];
      const std::string_view suffix = suffixes[rng.Below(suffixes.size())];
      fresh.text = absl::StrCat(ToAbsl(prefix), msg, ToAbsl(suffix));
      if (const Lexicon* lex = internal::FindLexicon(cc.lang);
          lex != nullptr && rng.Bernoulli(0.3)) {
        const unsigned char last =
            static_cast<unsigned char>(fresh.text.back());
        if (last >= 0x80 || std::isalnum(last)) fresh.text.push_back('.');
        absl::StrAppend(&fresh.text, " ",
                        ToAbsl(lex->closers[rng.Below(lex->closers.size())]));
      }
      if (rng.Bernoulli(0.4))
        absl::StrAppend(&fresh.text, " #", cc.hashtags[0]);
      if (rng.Bernoulli(c.content.url_share)) {
        std::string url = cc.urls[rng.Below(cc.urls.size())];
        if (rng.Bernoulli(0.25)) url = ToggleWww(url);
        if (rng.Bernoulli(0.35)) AddUtm(&url, platform, cc.utm_tag);
        fresh.urls.push_back(std::move(url));
      }
      PickHashtags(rng, cc.hashtags,
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
    writer_.Clear();
    WritePost(p, Defect{}, writer_);
    *line = writer_.Release();
    if (content == &fresh) Remember(st, fresh);
  }

  // trend_riding: ordinary-looking posts that all carry the trend's
  // hashtag, from accounts in several foreign countries.
  void TrendPost(Stream& st, const std::string& id, int64_t unix_ms,
                 std::string* line) {
    Rng& rng = st.content;
    const CampaignSpec& c = s_.campaigns[st.campaign];
    const CampaignContent& cc = m_.campaign_content[st.campaign];
    const TargetSpec& t = Target(st);
    const Pool& pool = m_.pools[st.pool];
    const size_t k = pool.pick.Sample(rng);
    const Account& account = pool.accounts[k];
    st.used[k] = true;
    const std::string& platform = pool.platforms[account.platform];
    Original fresh;
    fresh.id = id;
    fresh.lang = PickLanguage(rng, t, account.country);
    fresh.text = Text(rng, internal::LexiconOrEnglish(fresh.lang), id);
    if (rng.Bernoulli(c.trend.url_share)) {
      fresh.urls.push_back(NewsUrl(rng, account.country, t, unix_ms, platform));
    }
    fresh.hashtags.push_back(cc.hashtag);
    if (rng.Bernoulli(0.35)) PickHashtags(rng, t.hashtags, 2, &fresh.hashtags);
    Write(PostView{id, platform, unix_ms, &account, account.country.str(),
                   t.country.str(), &fresh, ""},
          line);
  }

  // coordinated_sharing: one post of a planned burst.
  void BurstPost(Stream& st, uint32_t seq, const std::string& id,
                 int64_t unix_ms, std::string* line) {
    Rng& rng = st.content;
    const CampaignSpec& c = s_.campaigns[st.campaign];
    const CampaignContent& cc = m_.campaign_content[st.campaign];
    const TargetSpec& t = Target(st);
    const Pool& pool = m_.pools[st.pool];
    const Planned& plan = st.plan[seq];
    Burst& burst = st.bursts[plan.burst];
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
        fresh.text = Text(rng, internal::LexiconOrEnglish(cc.lang), id);
        fresh.urls.push_back(
            UrlSpelling(rng, burst.subject, platform, cc.utm_tag));
        BackgroundHashtags(rng, t, &fresh.hashtags);
        break;
      case BurstType::kText:
        fresh.text = CopyPaste(rng, burst.subject, cc.lang == "es");
        BackgroundHashtags(rng, t, &fresh.hashtags);
        break;
      case BurstType::kRepost:
        content = &st.burst_originals[plan.burst];
        if (content->id != id) repost_of = content->id;
        break;
    }
    Write(PostView{id, platform, unix_ms, &account, c.origin.str(),
                   t.country.str(), content, repost_of},
          line);
  }

  // state_media_amplification: shares of the campaign's state-media
  // articles, with ordinary comments, and reposts of them.
  void StateMediaPost(Stream& st, const std::string& id, int64_t unix_ms,
                      std::string* line) {
    Rng& rng = st.content;
    const CampaignSpec& c = s_.campaigns[st.campaign];
    const CampaignContent& cc = m_.campaign_content[st.campaign];
    const TargetSpec& t = Target(st);
    const Pool& pool = m_.pools[st.pool];
    const size_t k = pool.pick.Sample(rng);
    const Account& account = pool.accounts[k];
    st.used[k] = true;
    const std::string& platform = pool.platforms[account.platform];
    Original fresh;
    const Original* content = nullptr;
    std::string_view repost_of;
    if (rng.Bernoulli(c.media.repost_share)) {
      content = Recent(st, 16);
      if (content != nullptr) repost_of = content->id;
    }
    if (content == nullptr) {
      fresh.id = id;
      fresh.lang = PickLanguage(rng, t, c.origin);
      fresh.text = Text(rng, internal::LexiconOrEnglish(fresh.lang), id);
      std::string url = cc.urls[rng.Below(cc.urls.size())];
      if (rng.Bernoulli(0.25)) AddUtm(&url, platform, "");
      fresh.urls.push_back(std::move(url));
      BackgroundHashtags(rng, t, &fresh.hashtags);
      content = &fresh;
    }
    Write(PostView{id, platform, unix_ms, &account, c.origin.str(),
                   t.country.str(), content, repost_of},
          line);
    if (content == &fresh) Remember(st, fresh);
  }

  // foreign_ad_spend: one ad of the foreign payer.
  void CampaignAd(Stream& st, const std::string& id, int64_t unix_ms,
                  std::string* line) {
    Rng& rng = st.content;
    const CampaignSpec& c = s_.campaigns[st.campaign];
    const CampaignContent& cc = m_.campaign_content[st.campaign];
    const TargetSpec& t = Target(st);
    const size_t page = rng.Below(cc.page_ids.size());
    st.used[page] = true;
    // Lower ranges are more common: weights 1, 1/2, 1/3, ...
    std::vector<double> weights;
    for (size_t i = 0; i < cc.spend_ranges.size(); ++i) {
      weights.push_back(1.0 / static_cast<double>(i + 1));
    }
    const size_t spend = cc.spend_ranges[WeightedTable(weights).Sample(rng)];
    const size_t impressions =
        std::min<size_t>(spend + rng.Below(3), kImpressions.size() - 1);
    static const WeightedTable kPlatformPick({0.8, 0.2});
    const std::string_view platform = kAdPlatforms[kPlatformPick.Sample(rng)];
    const bool disclaimer = !rng.Bernoulli(c.ads.missing_disclaimer_share);
    const internal::SpendRange range = internal::AdSpendRanges()[spend];
    st.spends.emplace_back(unix_ms - m_.start_ms,
                           static_cast<double>(range.lower + range.upper) / 2);
    if (!disclaimer) ++st.ads_without_disclaimer;
    WriteAd(AdView{id, platform, unix_ms, cc.page_ids[page], cc.payer,
                   c.origin.str(), t.country.str(), cc.currency.str(), range,
                   kImpressions[impressions], &t.languages,
                   /*all_languages=*/true, disclaimer},
            Defect{}, line);
  }

  // posting_clock: ordinary posts, at office hours of a distant zone.
  void ClockPost(Stream& st, const std::string& id, int64_t unix_ms,
                 std::string* line) {
    Rng& rng = st.content;
    const CampaignSpec& c = s_.campaigns[st.campaign];
    const TargetSpec& t = Target(st);
    const Pool& pool = m_.pools[st.pool];
    const size_t k = pool.pick.Sample(rng);
    const Account& account = pool.accounts[k];
    st.used[k] = true;
    const std::string& platform = pool.platforms[account.platform];
    Original fresh;
    fresh.id = id;
    OrdinaryContent(rng, t, c.origin, unix_ms, platform, s_.posts.url_share,
                    &fresh);
    Write(PostView{id, platform, unix_ms, &account, c.origin.str(),
                   t.country.str(), &fresh, ""},
          line);
  }

  // viral_link: one of the pair's usual accounts shares the popular link.
  void ViralPost(Stream& st, const std::string& id, int64_t unix_ms,
                 std::string* line) {
    Rng& rng = st.content;
    const CampaignSpec& c = s_.campaigns[st.campaign];
    const CampaignContent& cc = m_.campaign_content[st.campaign];
    const TargetSpec& t = Target(st);
    const Pool& pool = m_.pools[st.pool];
    const size_t k = pool.pick.Sample(rng);
    const Account& account = pool.accounts[k];
    st.used[k] = true;
    st.shares.emplace_back(unix_ms - m_.start_ms, static_cast<uint32_t>(k));
    const std::string& platform = pool.platforms[account.platform];
    Original fresh;
    fresh.id = id;
    fresh.lang = PickLanguage(rng, t, c.origin);
    fresh.text = Text(rng, internal::LexiconOrEnglish(fresh.lang), id);
    std::string url = cc.urls.front();
    if (rng.Bernoulli(0.3)) url = ToggleWww(url);
    if (rng.Bernoulli(0.2)) AddUtm(&url, platform, "share");
    fresh.urls.push_back(std::move(url));
    BackgroundHashtags(rng, t, &fresh.hashtags);
    Write(PostView{id, platform, unix_ms, &account, c.origin.str(),
                   t.country.str(), &fresh, ""},
          line);
  }

  void Ad(Stream& st, const std::string& id, int64_t unix_ms, const Defect& d,
          std::string* line) {
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
    const Lexicon& lex = internal::LexiconOrEnglish(
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
    const std::string page_id =
        IdString(m_, kPageId, static_cast<uint64_t>(st.target),
                 (static_cast<uint64_t>(payer.packed()) << 8) |
                     (payer_index << 1) | page);
    CurrencyCode currency = t.currency;
    if (payer != t.country && rng.Bernoulli(0.7)) {
      if (const internal::CountryProfile* p =
              internal::FindCountryProfile(payer)) {
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
    WriteAd(AdView{id, platform, unix_ms, page_id, name, payer.str(),
                   t.country.str(), currency.str(),
                   internal::AdSpendRanges()[spend], kImpressions[impressions],
                   &t.languages, all_languages, disclaimer},
            d, line);
  }

  struct AdView {
    std::string_view id;
    std::string_view platform;
    int64_t created_ms;
    std::string_view page_id;
    std::string_view payer_name;
    std::string payer_country;
    std::string target;
    std::string currency;
    internal::SpendRange spend;
    std::pair<int64_t, int64_t> impressions;
    const std::vector<std::string>* languages;
    bool all_languages;  // else only the first
    bool disclaimer;
  };

  void WriteAd(const AdView& a, const Defect& d, std::string* line) {
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

  const Model& m_;
  const Scenario& s_;
  std::vector<Stream>& streams_;
  JsonWriter writer_;
};

// ---------------------------------------------------------------------------
// Arrivals

// Appends the stream's records: a non-homogeneous Poisson process on
// [from_ms, to_ms) with intensity rate(ms) per ms, bounded by max_rate,
// sampled by thinning. Each record's delivery is delayed by a uniform jitter.
template <typename RateFn>
void Arrivals(Stream& st, uint32_t stream_index, int64_t from_ms, int64_t to_ms,
              double max_rate, int64_t jitter_ms, RateFn rate,
              std::vector<Record>* out) {
  if (max_rate <= 0) return;
  double t = static_cast<double>(from_ms);
  uint32_t seq = 0;
  while (true) {
    t += st.arrival.Exponential(max_rate);
    if (t >= static_cast<double>(to_ms)) break;
    const int64_t ms = static_cast<int64_t>(t);
    if (st.arrival.Uniform() * max_rate >= rate(ms)) continue;
    const int64_t delay = static_cast<int64_t>(st.arrival.Uniform() *
                                               static_cast<double>(jitter_ms));
    out->push_back(Record{ms, ms + delay, stream_index, seq++});
  }
  st.events = seq;
}

// Whether `unix_ms` falls in the office's working hours on a weekday of its
// zone.
bool IsWorkingTime(int64_t unix_ms, int64_t office_offset_ms,
                   const ClockSpec& k) {
  const int64_t local = unix_ms + office_offset_ms;
  const int64_t day = local >= 0 ? local / kDayMs : (local + 1) / kDayMs - 1;
  // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
  const int64_t weekday = ((day + 3) % 7 + 7) % 7;
  const int64_t hour = (local - day * kDayMs) / 3600000;
  return weekday < 5 && hour >= k.work_start && hour < k.work_end;
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

// ---------------------------------------------------------------------------
// The background's burstiness (BackgroundSpec)

// Per 5-minute step, rate factors of mean 1 and coefficient of variation
// `cv`: a log-normal AR(1) process whose correlation time is `memory`, so
// that a busy spell lasts a while, as in real series.
std::vector<float> NoiseFactors(Rng& rng, int64_t duration_ms, double cv,
                                absl::Duration memory, float* max) {
  const size_t steps = static_cast<size_t>(duration_ms / kNoiseStepMs) + 1;
  std::vector<float> out(steps, 1.0f);
  *max = 1.0f;
  if (cv <= 0) return out;
  const double sigma = std::sqrt(std::log1p(cv * cv));
  const double phi =
      std::exp(-static_cast<double>(kNoiseStepMs) /
               static_cast<double>(absl::ToInt64Milliseconds(memory)));
  const double innovation = std::sqrt(1 - phi * phi);
  double x = rng.Normal();
  for (float& f : out) {
    f = static_cast<float>(std::exp(sigma * x - sigma * sigma / 2));
    *max = std::max(*max, f);
    x = phi * x + innovation * rng.Normal();
  }
  return out;
}

// Per minute, the factors by which a target's news events multiply its
// domestic and its foreign rates. Events arrive as a Poisson process that
// follows the daily cycle; each peaks at a heavy-tailed multiple of the
// domestic rate after `news_rise` and decays exponentially.
void NewsFactors(Rng& rng, const BackgroundSpec& b, const DailyCycle& cycle,
                 int64_t start_ms, int64_t offset_ms, int64_t duration_ms,
                 std::vector<float>* domestic, std::vector<float>* foreign) {
  const size_t minutes = static_cast<size_t>(duration_ms / 60000) + 2;
  std::vector<double> excess(minutes, 0.0);
  if (b.news_per_day > 0) {
    const double max_rate = b.news_per_day / kMsPerDay * cycle.max() * 1.001;
    const double rise = absl::ToDoubleMilliseconds(b.news_rise);
    const double decay = absl::ToDoubleMilliseconds(b.news_decay);
    double t = 0;
    while (true) {
      t += rng.Exponential(max_rate);
      if (t >= static_cast<double>(duration_ms)) break;
      const double accept = rng.Uniform() * max_rate;
      const double peak =
          std::min(b.news_peak_max, rng.Pareto(b.news_peak_min - 1, 1.5) + 1);
      const int64_t ms = static_cast<int64_t>(t);
      if (accept >=
          b.news_per_day / kMsPerDay * cycle.Factor(start_ms + ms, offset_ms)) {
        continue;
      }
      for (size_t j = static_cast<size_t>(ms / 60000) + 1; j < minutes; ++j) {
        const double dt = static_cast<double>(j) * 60000 - t;
        const double k =
            dt < rise ? Ramp(dt / rise) : std::exp(-(dt - rise) / decay);
        if (dt >= rise && k < 1e-3) break;
        excess[j] += (peak - 1) * k;
      }
    }
  }
  domestic->resize(minutes);
  foreign->resize(minutes);
  for (size_t j = 0; j < minutes; ++j) {
    (*domestic)[j] = static_cast<float>(1 + excess[j]);
    (*foreign)[j] = static_cast<float>(1 + b.news_foreign_response * excess[j]);
  }
}

// The weekly cycle at `unix_ms` for a place at `offset_ms` from UTC: the
// factors of the local days joined linearly between their middays.
// `weekly` is normalized to mean 1, Monday first.
double WeeklyFactor(const std::vector<double>& weekly, int64_t unix_ms,
                    int64_t offset_ms) {
  const double days =
      static_cast<double>(unix_ms + offset_ms) / kMsPerDay - 0.5;
  const double floor = std::floor(days);
  const double frac = days - floor;
  // 1970-01-01 was a Thursday: day 0 is index 3 (Monday = 0).
  const int64_t d = ((static_cast<int64_t>(floor) + 3) % 7 + 7) % 7;
  return weekly[d] * (1 - frac) + weekly[(d + 1) % 7] * frac;
}

// The scale of the Pareto (shape `tail`, capped at `cap`) whose mean is
// `mean`: the expected reposts of one post. Bisection on the capped mean,
// which grows with the scale.
double CascadeScale(double mean, double tail, double cap) {
  auto capped_mean = [&](double xm) {
    if (xm >= cap) return cap;
    return xm * tail / (tail - 1) -
           std::pow(xm, tail) * std::pow(cap, 1 - tail) / (tail - 1);
  };
  if (mean <= 0) return 0;
  if (mean >= cap) return cap;
  double lo = 0, hi = cap;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (capped_mean(mid) < mean ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// Appends the cascades that the records [first, end) of a background pair
// spawn: each post (original or repost) gets Poisson(nu) reposts, nu
// heavy-tailed with mean posts.repost_share, each an exponential delay
// after it; all repost the cascade's original. A repost is delivered no
// earlier than its parent, so its original is rendered before it.
void Cascades(const BackgroundSpec& b, double mean_reposts, Rng& rng,
              Stream& st, int64_t to_ms, int64_t jitter_ms, size_t first,
              std::vector<Record>* out) {
  const double scale =
      CascadeScale(mean_reposts, b.cascade_tail, b.cascade_max_reposts);
  const double rate = 1.0 / absl::ToDoubleMilliseconds(b.cascade_delay);
  uint32_t seq = static_cast<uint32_t>(st.events);
  for (size_t i = first; i < out->size(); ++i) {
    const Record parent = (*out)[i];
    const double nu =
        std::min(b.cascade_max_reposts, rng.Pareto(scale, b.cascade_tail));
    const int64_t n = rng.Poisson(nu);
    for (int64_t c = 0; c < n; ++c) {
      const int64_t ms =
          parent.event_ms + 1 + static_cast<int64_t>(rng.Exponential(rate));
      const int64_t delay =
          static_cast<int64_t>(rng.Uniform() * static_cast<double>(jitter_ms));
      if (ms >= to_ms) continue;
      Record child{ms, std::max(ms + delay, parent.arrive_ms), parent.stream,
                   seq++, parent.root == kNoRoot ? parent.seq : parent.root};
      ++st.cascades[child.root].left;
      out->push_back(child);
    }
  }
  st.events = seq;
}

// coordinated_sharing: lays out the bursts, shuffled by type, one per equal
// slot of [from, to), and appends their records. Each burst draws its
// distinct accounts and its posts' times within `spread`; repost bursts
// start with the network post that the others repost.
void PlanBursts(const Model& m, Stream& st, uint32_t stream_index, int64_t from,
                int64_t to, int64_t jitter_ms, std::vector<Record>* out) {
  const CampaignSpec& c = m.s->campaigns[st.campaign];
  const CampaignContent& cc = m.campaign_content[st.campaign];
  const BurstSpec& b = c.bursts;
  Rng& rng = st.arrival;
  std::vector<BurstType> types;
  types.insert(types.end(), b.url, BurstType::kUrl);
  types.insert(types.end(), b.text, BurstType::kText);
  types.insert(types.end(), b.repost, BurstType::kRepost);
  for (size_t i = types.size(); i > 1; --i) {
    std::swap(types[i - 1], types[rng.Below(i)]);
  }
  const int64_t spread = absl::ToInt64Milliseconds(b.spread);
  const int64_t slot = (to - from) / static_cast<int64_t>(types.size());
  const size_t pool_size = m.pools[st.pool].accounts.size();
  std::vector<uint32_t> order(pool_size);
  for (size_t i = 0; i < pool_size; ++i) order[i] = static_cast<uint32_t>(i);
  uint32_t seq = 0;
  int urls = 0, texts = 0, reposts = 0;
  st.burst_originals.resize(types.size());
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
    std::vector<int64_t> times;
    for (int i = 0; i < size; ++i) {
      // Strictly after t0, where a repost burst's original sits.
      times.push_back(t0 + 1 +
                      static_cast<int64_t>(rng.Uniform() *
                                           static_cast<double>(spread - 1)));
    }
    std::sort(times.begin(), times.end());
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
      Original& o = st.burst_originals[bi];
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
      st.plan.push_back(Planned{account, static_cast<uint32_t>(bi)});
      const int64_t delay =
          static_cast<int64_t>(rng.Uniform() * static_cast<double>(jitter_ms));
      out->push_back(Record{times[i], times[i] + delay, stream_index, seq++});
    }
    st.bursts.push_back(std::move(burst));
  }
  st.events = seq;
}

std::string TruthTime(const Model& m, int64_t ms) {
  return FormatRfc3339(absl::FromUnixMillis(m.start_ms + ms));
}

// The accounts of the stream's pool that posted, sorted.
std::vector<std::string> UsedAccountIds(const Model& m, const Stream& st) {
  std::vector<std::string> ids;
  if (st.pool < 0) return ids;
  const Pool& pool = m.pools[st.pool];
  for (size_t k = 0; k < st.used.size(); ++k) {
    if (st.used[k]) ids.push_back(pool.accounts[k].id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void StringArray(JsonWriter& w, std::string_view key,
                 const std::vector<std::string>& values) {
  w.Key(key);
  w.BeginArray();
  for (const std::string& v : values) w.String(v);
  w.EndArray();
}

// foreign_origin_surge and organic_rise, in the original field order.
void WriteSurgeTruth(const Model& m, const Stream& st, JsonWriter& w) {
  const Scenario& s = *m.s;
  const CampaignSpec& c = s.campaigns[st.campaign];
  const bool surge = c.kind == CampaignKind::kForeignOriginSurge;
  const absl::Time start = CampaignStart(s, c);
  w.BeginObject();
  w.Field("name", c.name);
  w.Field("kind", CampaignKindName(c.kind));
  w.Key("detector");
  if (surge) {
    w.String("foreign_origin_surge");
  } else {
    w.Null();
  }
  w.Field("interference", surge);
  w.Field("target", c.target.str());
  w.Field("origin", c.origin.str());
  w.Field("start", FormatRfc3339(start));
  w.Field("end", FormatRfc3339(start + c.duration));
  if (c.rate_multiplier > 0) {
    w.Field("rate_multiplier", c.rate_multiplier);
  } else {
    w.Field("rate_per_min", c.rate_per_min);
  }
  w.Field("events", st.events);
  const Pool& pool = m.pools[st.pool];
  std::vector<std::string> ids;
  for (size_t k = 0; k < st.used.size(); ++k) {
    if (st.used[k]) ids.push_back(pool.accounts[k].id);
  }
  w.Field("accounts", static_cast<int64_t>(ids.size()));
  if (surge) {
    std::sort(ids.begin(), ids.end());
    StringArray(w, "account_ids", ids);
    const CampaignContent& cc = m.campaign_content[st.campaign];
    StringArray(w, "urls", cc.urls);
    StringArray(w, "hashtags", cc.hashtags);
  }
  w.EndObject();
}

// The kinds added after the first two: the common fields, then each
// kind's own (docs/scenarios.md lists them).
void WriteKindTruth(const Model& m, const Stream& st, JsonWriter& w) {
  const Scenario& s = *m.s;
  const CampaignSpec& c = s.campaigns[st.campaign];
  const CampaignContent& cc = m.campaign_content[st.campaign];
  const absl::Time start = CampaignStart(s, c);
  const std::string_view detector = ExpectedDetector(c.kind);
  const std::vector<std::string> ids = UsedAccountIds(m, st);
  w.BeginObject();
  w.Field("name", c.name);
  w.Field("kind", CampaignKindName(c.kind));
  w.Key("detector");
  if (detector.empty()) {
    w.Null();
  } else {
    w.String(detector);
  }
  w.Field("interference", !detector.empty());
  w.Field("target", c.target.str());
  w.Key("origin");
  if (c.origin.known()) {
    w.String(c.origin.str());
  } else {
    w.Null();
  }
  w.Field("start", FormatRfc3339(start));
  w.Field("end", FormatRfc3339(start + c.duration));
  if (c.rate_per_min > 0) w.Field("rate_per_min", c.rate_per_min);
  w.Field("events", st.events);
  if (c.kind == CampaignKind::kForeignAdSpend) {
    // An ad account is a page.
    int64_t pages = 0;
    for (bool used : st.used) pages += used ? 1 : 0;
    w.Field("accounts", pages);
  } else {
    w.Field("accounts", static_cast<int64_t>(ids.size()));
    StringArray(w, "account_ids", ids);
  }
  switch (c.kind) {
    case CampaignKind::kTrendRiding: {
      w.Field("hashtag", cc.hashtag);
      w.Key("origins");
      w.BeginObject();
      for (const OriginShare& o : cc.origins) {
        w.Field(o.country.str(), o.share);
      }
      w.EndObject();
      break;
    }
    case CampaignKind::kCoordinatedSharing: {
      w.Field("spread_seconds", absl::ToDoubleSeconds(c.bursts.spread));
      w.Key("bursts");
      w.BeginArray();
      for (const Burst& b : st.bursts) {
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
      break;
    }
    case CampaignKind::kNewAccountBurst: {
      int64_t oldest = INT64_MAX, newest = INT64_MIN;
      const Pool& pool = m.pools[st.pool];
      for (size_t k = 0; k < st.used.size(); ++k) {
        if (!st.used[k]) continue;
        oldest = std::min(oldest, pool.accounts[k].created_ms);
        newest = std::max(newest, pool.accounts[k].created_ms);
      }
      w.Key("accounts_created_from");
      if (ids.empty()) {
        w.Null();
      } else {
        w.String(FormatRfc3339(absl::FromUnixMillis(oldest)));
      }
      w.Key("accounts_created_to");
      if (ids.empty()) {
        w.Null();
      } else {
        w.String(FormatRfc3339(absl::FromUnixMillis(newest)));
      }
      w.Field("max_account_age_days",
              static_cast<double>(st.max_account_age_ms) / kMsPerDay);
      StringArray(w, "urls", cc.urls);
      StringArray(w, "hashtags", cc.hashtags);
      break;
    }
    case CampaignKind::kStateMediaAmplification: {
      w.Field("state", cc.state.str());
      StringArray(w, "domains", cc.domains);
      StringArray(w, "urls", cc.urls);
      int64_t state_accounts = 0;
      const Pool& pool = m.pools[st.pool];
      for (size_t k = 0; k < st.used.size(); ++k) {
        if (st.used[k] && pool.accounts[k].state_affiliated) ++state_accounts;
      }
      w.Field("state_affiliated_accounts", state_accounts);
      break;
    }
    case CampaignKind::kForeignAdSpend: {
      w.Field("ads_per_hour", c.ads.per_hour);
      w.Field("payer", cc.payer);
      w.Field("payer_country", c.origin.str());
      w.Field("currency", cc.currency.str());
      StringArray(w, "page_ids", cc.page_ids);
      std::vector<std::pair<int64_t, double>> spends = st.spends;
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
      w.Field("ads_without_disclaimer", st.ads_without_disclaimer);
      break;
    }
    case CampaignKind::kPostingClock: {
      const ClockSpec& k = c.clock;
      w.Field("utc_offset", FormatOffset(k.utc_offset));
      w.Key("work_hours");
      w.BeginArray();
      w.Int(k.work_start);
      w.Int(k.work_end);
      w.EndArray();
      w.Field("posts_per_day", k.posts_per_day);
      const TargetSpec* t = nullptr;
      for (const TargetSpec& x : s.targets) {
        if (x.country == c.target) t = &x;
      }
      double distance = std::fmod(
          std::fabs(absl::ToDoubleHours(k.utc_offset - t->utc_offset)), 24.0);
      distance = std::min(distance, 24 - distance);
      w.Field("zone_distance_hours", distance);
      break;
    }
    case CampaignKind::kViralLink: {
      w.Field("url", cc.urls.front());
      // The most distinct accounts sharing it within 60 s.
      int64_t most = 0;
      for (size_t i = 0; i < st.shares.size(); ++i) {
        std::set<uint32_t> accounts;
        for (size_t j = 0; j < st.shares.size(); ++j) {
          const int64_t d = st.shares[j].first - st.shares[i].first;
          if (d >= 0 && d <= 60000) accounts.insert(st.shares[j].second);
        }
        most = std::max<int64_t>(most, static_cast<int64_t>(accounts.size()));
      }
      w.Field("max_accounts_within_60s", most);
      break;
    }
    default:
      break;
  }
  w.EndObject();
}

void WriteTruth(const Model& m, const std::vector<Stream>& streams,
                const GenerateResult& r,
                const std::array<int64_t, kNumBadLineKinds>& bad,
                const std::vector<std::string>& late_ids, JsonWriter& w) {
  const Scenario& s = *m.s;
  w.BeginObject();
  w.Field("scenario", s.name);
  w.Field("seed", static_cast<int64_t>(s.seed));
  w.Field("start", FormatRfc3339(s.start));
  w.Field("end", FormatRfc3339(s.end()));
  w.Field("lines", r.events + r.bad_lines);
  w.Field("events", r.events);
  w.Field("posts", r.posts);
  w.Field("ads", r.ads);
  w.Key("bad_lines");
  w.BeginObject();
  w.Field("total", r.bad_lines);
  for (int k = 0; k < kNumBadLineKinds; ++k) {
    w.Field(BadLineKindName(static_cast<BadLineKind>(k)), bad[k]);
  }
  w.EndObject();
  w.Field("late_events", r.late_events);
  w.Field("late_by_seconds",
          static_cast<int64_t>(absl::ToInt64Seconds(s.disorder.late_by)));
  w.Key("late_event_ids");
  w.BeginArray();
  for (const std::string& id : late_ids) w.String(id);
  w.EndArray();
  w.Key("campaigns");
  w.BeginArray();
  for (const Stream& st : streams) {
    if (st.campaign < 0) continue;
    const CampaignSpec& c = s.campaigns[st.campaign];
    if (c.kind == CampaignKind::kForeignOriginSurge ||
        c.kind == CampaignKind::kOrganicRise) {
      WriteSurgeTruth(m, st, w);
    } else {
      WriteKindTruth(m, st, w);
    }
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

absl::StatusOr<GenerateResult> Generate(const Scenario& scenario,
                                        std::ostream& out) {
  if (absl::Status st = ValidateScenario(scenario); !st.ok()) return st;
  const Scenario& s = scenario;

  Model m;
  m.s = &s;
  m.id_salt = DeriveSeed(s.seed, kIds, 0);
  m.start_ms = absl::ToUnixMillis(s.start);
  m.duration_ms = absl::ToInt64Milliseconds(s.duration);
  m.cycle = DailyCycle(s.daily_profile);
  {
    std::vector<double> bad_weights(s.bad_lines.weights.begin(),
                                    s.bad_lines.weights.end());
    double sum = 0;
    for (double w : bad_weights) sum += w;
    if (sum <= 0) bad_weights.assign(kNumBadLineKinds, 1.0);
    m.bad_kinds = WeightedTable(bad_weights);
  }
  std::vector<std::string> platform_names;
  std::vector<double> platform_weights;
  for (const NamedShare& p : s.platforms) {
    platform_names.push_back(p.name);
    platform_weights.push_back(p.share);
  }

  // Streams are numbered background first (pairs in target then origin
  // order, then ads), campaigns last, so the background's random streams
  // and ids do not depend on the campaigns.
  std::vector<Stream> streams;
  std::vector<std::vector<int>> pair_pool(s.targets.size());
  for (size_t ti = 0; ti < s.targets.size(); ++ti) {
    const TargetSpec& t = s.targets[ti];
    double total = 0;
    for (const OriginShare& o : t.origins) total += o.share;
    std::vector<double> shares;
    for (const OriginShare& o : t.origins) shares.push_back(o.share / total);
    for (size_t oi = 0; oi < t.origins.size(); ++oi) {
      const double per_day =
          t.posts_per_hour * s.background_scale * shares[oi] * 24;
      const int size = static_cast<int>(std::clamp(
          std::ceil(per_day / s.accounts.mean_posts_per_day), 5.0, 1e7));
      const uint64_t pool_index = m.pools.size();
      m.pools.push_back(
          MakePool(m, pool_index, size, platform_names, platform_weights,
                   s.accounts.zipf_exponent, s.accounts.new_account_share,
                   s.accounts.state_affiliated_share, m.start_ms, false));
      pair_pool[ti].push_back(static_cast<int>(pool_index));
      Stream st(s.seed, streams.size());
      st.type = StreamType::kPairPosts;
      st.target = static_cast<int>(ti);
      st.origin = static_cast<int>(oi);
      st.pool = static_cast<int>(pool_index);
      streams.push_back(std::move(st));
    }
    m.origin_pick.emplace_back(shares);
    m.origin_share.push_back(std::move(shares));
  }
  m.pair_pool = pair_pool;
  for (size_t ti = 0; ti < s.targets.size(); ++ti) {
    Stream st(s.seed, streams.size());
    st.type = StreamType::kAds;
    st.target = static_cast<int>(ti);
    streams.push_back(std::move(st));
  }
  for (size_t ci = 0; ci < s.campaigns.size(); ++ci) {
    const CampaignSpec& c = s.campaigns[ci];
    int ti = 0;
    while (s.targets[ti].country != c.target) ++ti;
    const TargetSpec& t = s.targets[ti];
    Stream st(s.seed, streams.size());
    st.target = ti;
    st.campaign = static_cast<int>(ci);
    for (size_t oi = 0; oi < t.origins.size(); ++oi) {
      if (t.origins[oi].country == c.origin) st.origin = static_cast<int>(oi);
    }
    if (c.kind == CampaignKind::kOrganicRise ||
        c.kind == CampaignKind::kViralLink) {
      st.type = c.kind == CampaignKind::kOrganicRise ? StreamType::kOrganic
                                                     : StreamType::kViral;
      st.pool = pair_pool[ti][st.origin];
    } else if (c.kind != CampaignKind::kForeignAdSpend) {
      switch (c.kind) {
        case CampaignKind::kTrendRiding:
          st.type = StreamType::kTrend;
          break;
        case CampaignKind::kCoordinatedSharing:
          st.type = StreamType::kBursts;
          break;
        case CampaignKind::kStateMediaAmplification:
          st.type = StreamType::kStateMedia;
          break;
        case CampaignKind::kPostingClock:
          st.type = StreamType::kClock;
          break;
        default:  // foreign_origin_surge, new_account_burst
          st.type = StreamType::kSurge;
          break;
      }
      std::vector<std::string> names;
      std::vector<double> weights;
      if (c.network.platforms.empty()) {
        names = {"facebook", "telegram", "x"};
        weights = {0.25, 0.35, 0.4};
      } else {
        for (const NamedShare& p : c.network.platforms) {
          names.push_back(p.name);
          weights.push_back(p.share);
        }
      }
      const bool all_new = c.kind == CampaignKind::kNewAccountBurst;
      const uint64_t pool_index = m.pools.size();
      m.pools.push_back(MakePool(
          m, pool_index, c.network.accounts, names, weights, 0,
          all_new ? 1.0 : c.network.new_account_share,
          c.network.state_affiliated_share,
          absl::ToUnixMillis(CampaignStart(s, c)), true,
          all_new ? absl::ToDoubleHours(c.network.created_within) / 24 : 14));
      st.pool = static_cast<int>(pool_index);
    } else {
      st.type = StreamType::kAdCampaign;
    }
    st.used.assign(st.pool >= 0 ? m.pools[st.pool].accounts.size()
                                : static_cast<size_t>(c.ads.pages),
                   false);
    streams.push_back(std::move(st));
  }
  m.campaign_content.resize(s.campaigns.size());
  for (size_t ci = 0; ci < s.campaigns.size(); ++ci) {
    const CampaignSpec& c = s.campaigns[ci];
    const TargetSpec* t = nullptr;
    for (const TargetSpec& x : s.targets) {
      if (x.country == c.target) t = &x;
    }
    const int index = static_cast<int>(ci);
    switch (c.kind) {
      case CampaignKind::kForeignOriginSurge:
      case CampaignKind::kNewAccountBurst:
        m.campaign_content[ci] = ResolveContent(m, index, c, *t);
        break;
      case CampaignKind::kOrganicRise:
      case CampaignKind::kPostingClock:
        break;
      default:
        m.campaign_content[ci] = ResolveKindContent(m, index, c, *t);
        break;
    }
  }
  // trend_riding networks span several countries: account k operates from
  // the origin whose cumulative share covers k / size.
  for (Stream& st : streams) {
    if (st.type != StreamType::kTrend) continue;
    const std::vector<OriginShare>& origins =
        m.campaign_content[st.campaign].origins;
    std::vector<Account>& accounts = m.pools[st.pool].accounts;
    double cumulative = 0;
    size_t k = 0;
    for (const OriginShare& o : origins) {
      cumulative += o.share;
      const size_t until = static_cast<size_t>(
          std::lround(cumulative * static_cast<double>(accounts.size())));
      for (; k < std::min(until, accounts.size()); ++k) {
        accounts[k].country = o.country;
      }
    }
    for (; k < accounts.size(); ++k)
      accounts[k].country = origins.back().country;
  }

  // The background's burstiness: the normalized weekly cycle, each
  // target's news (per minute, domestic and foreign) and each pair's
  // over-dispersion (per 5 minutes), each from its own random stream.
  const BackgroundSpec& bg = s.background;
  std::vector<double> weekly = bg.weekly_profile;
  {
    double sum = 0;
    for (double w : weekly) sum += w;
    for (double& w : weekly) w *= 7 / sum;
  }
  const double weekly_max = *std::max_element(weekly.begin(), weekly.end());
  std::vector<std::vector<float>> news_domestic(s.targets.size());
  std::vector<std::vector<float>> news_foreign(s.targets.size());
  for (size_t ti = 0; ti < s.targets.size(); ++ti) {
    Rng rng(DeriveSeed(s.seed, kNews, ti));
    NewsFactors(rng, bg, m.cycle, m.start_ms,
                absl::ToInt64Milliseconds(s.targets[ti].utc_offset),
                m.duration_ms, &news_domestic[ti], &news_foreign[ti]);
  }
  const bool cascades = bg.cascade_max_reposts > 0;
  // With cascades, originals arrive at (1 - repost_share) of the rate and
  // the cascades make up the rest.
  const double original_share = cascades ? 1 - s.posts.repost_share : 1.0;

  // Arrivals.
  std::vector<Record> records;
  const int64_t jitter_ms = absl::ToInt64Milliseconds(s.disorder.jitter);
  const double cycle_max = m.cycle.max() * 1.001;
  for (size_t si = 0; si < streams.size(); ++si) {
    Stream& st = streams[si];
    const TargetSpec& t = s.targets[st.target];
    const int64_t offset_ms = absl::ToInt64Milliseconds(t.utc_offset);
    auto cycle = [&](int64_t ms) {
      return m.cycle.Factor(m.start_ms + ms, offset_ms);
    };
    const uint32_t index = static_cast<uint32_t>(si);
    if (st.type == StreamType::kPairPosts) {
      const double base = t.posts_per_hour * s.background_scale *
                          m.origin_share[st.target][st.origin] / kMsPerHour *
                          original_share;
      Rng noise_rng(DeriveSeed(s.seed, kNoise, si));
      float noise_max = 1;
      const std::vector<float> noise = NoiseFactors(
          noise_rng, m.duration_ms, bg.noise_cv, bg.noise_memory, &noise_max);
      const std::vector<float>& news = t.origins[st.origin].country == t.country
                                           ? news_domestic[st.target]
                                           : news_foreign[st.target];
      const double news_max = *std::max_element(news.begin(), news.end());
      const size_t first = records.size();
      Arrivals(
          st, index, 0, m.duration_ms,
          base * cycle_max * weekly_max * noise_max * news_max * 1.001,
          jitter_ms,
          [&](int64_t ms) {
            return base * cycle(ms) *
                   WeeklyFactor(weekly, m.start_ms + ms, offset_ms) *
                   noise[ms / kNoiseStepMs] * news[ms / 60000];
          },
          &records);
      if (cascades) {
        Rng cascade_rng(DeriveSeed(s.seed, kCascade, si));
        Cascades(bg, s.posts.repost_share, cascade_rng, st, m.duration_ms,
                 jitter_ms, first, &records);
      }
    } else if (st.type == StreamType::kAds) {
      const double base = t.ads_per_day * s.background_scale / kMsPerDay;
      Arrivals(
          st, index, 0, m.duration_ms, base * cycle_max * weekly_max, jitter_ms,
          [&](int64_t ms) {
            return base * cycle(ms) *
                   WeeklyFactor(weekly, m.start_ms + ms, offset_ms);
          },
          &records);
    } else {
      const CampaignSpec& c = s.campaigns[st.campaign];
      const int64_t from = absl::ToUnixMillis(CampaignStart(s, c)) - m.start_ms;
      const int64_t to = from + absl::ToInt64Milliseconds(c.duration);
      const int64_t in = absl::ToInt64Milliseconds(c.ramp_in);
      const int64_t rout = absl::ToInt64Milliseconds(c.ramp_out);
      if (c.rate_multiplier > 0) {
        // On top of the background, so the pair totals m x its usual rate.
        const double extra = (c.rate_multiplier - 1) * t.posts_per_hour *
                             s.background_scale *
                             m.origin_share[st.target][st.origin] / kMsPerHour;
        Arrivals(
            st, index, from, to, extra * cycle_max, jitter_ms,
            [&](int64_t ms) {
              return extra * cycle(ms) * RampFactor(ms, from, to, in, rout);
            },
            &records);
      } else if (st.type == StreamType::kBursts) {
        PlanBursts(m, st, index, from, to, jitter_ms, &records);
      } else if (st.type == StreamType::kAdCampaign) {
        const double rate = c.ads.per_hour / kMsPerHour;
        Arrivals(
            st, index, from, to, rate, jitter_ms, [&](int64_t) { return rate; },
            &records);
      } else if (st.type == StreamType::kClock) {
        const ClockSpec& k = c.clock;
        const double rate = c.network.accounts * k.posts_per_day /
                            ((k.work_end - k.work_start) * kMsPerHour);
        const int64_t office_ms = absl::ToInt64Milliseconds(k.utc_offset);
        Arrivals(
            st, index, from, to, rate, jitter_ms,
            [&](int64_t ms) {
              return IsWorkingTime(m.start_ms + ms, office_ms, k) ? rate : 0.0;
            },
            &records);
      } else {
        const double rate = c.rate_per_min / 60000.0;
        const size_t first = records.size();
        Arrivals(
            st, index, from, to, rate, jitter_ms,
            [&](int64_t ms) {
              return rate * RampFactor(ms, from, to, in, rout);
            },
            &records);
        if (st.type == StreamType::kViral) CapViralShares(st, first, &records);
      }
    }
  }

  // Very late events: background posts delivered `late_by` after their
  // event time, chosen only among background posts so that the choice does
  // not depend on the campaigns.
  // The feed outage cuts the background (posts and ads) only. Its records
  // are still rendered, unwritten, so that a cascade original lost in it
  // can be reposted after it.
  const int64_t outage_from = absl::ToInt64Milliseconds(bg.outage_start);
  const int64_t outage_to =
      outage_from + absl::ToInt64Milliseconds(bg.outage_duration);
  auto lost = [&](const Record& r) {
    const StreamType type = streams[r.stream].type;
    return (type == StreamType::kPairPosts || type == StreamType::kAds) &&
           r.event_ms >= outage_from && r.event_ms < outage_to;
  };
  // A cascade's original is never late: its reposts must come after it.
  const int64_t late_by_ms = absl::ToInt64Milliseconds(s.disorder.late_by);
  std::vector<size_t> candidates;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const Stream& st = streams[r.stream];
    if (st.type == StreamType::kPairPosts &&
        r.event_ms + late_by_ms + 60000 <= m.duration_ms && !lost(r) &&
        !(r.root == kNoRoot && st.cascades.contains(r.seq))) {
      candidates.push_back(i);
    }
  }
  Rng late_rng(DeriveSeed(s.seed, kLate, 0));
  const size_t late_count =
      std::min(candidates.size(), static_cast<size_t>(s.disorder.late_events));
  std::set<std::pair<uint32_t, uint32_t>> late;  // (stream, seq)
  for (size_t i = 0; i < late_count; ++i) {
    // Partial Fisher-Yates.
    const size_t j = i + late_rng.Below(candidates.size() - i);
    std::swap(candidates[i], candidates[j]);
    Record& r = records[candidates[i]];
    r.arrive_ms = r.event_ms + late_by_ms;
    late.insert({r.stream, r.seq});
  }

  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) {
              if (a.arrive_ms != b.arrive_ms) return a.arrive_ms < b.arrive_ms;
              if (a.stream != b.stream) return a.stream < b.stream;
              return a.seq < b.seq;
            });

  GenerateResult result;
  std::array<int64_t, kNumBadLineKinds> bad{};
  std::vector<std::string> late_ids;
  Renderer renderer(m, streams);
  std::string line;
  for (const Record& r : records) {
    renderer.Render(r, &line);
    if (lost(r)) continue;
    line.push_back('\n');
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    ++result.events;
    if (streams[r.stream].type == StreamType::kAds ||
        streams[r.stream].type == StreamType::kAdCampaign) {
      ++result.ads;
    } else {
      ++result.posts;
    }
    if (late.contains({r.stream, r.seq})) {
      ++result.late_events;
      late_ids.push_back(IdString(m, kEventId, r.stream, r.seq));
    }
    if (std::optional<BadLineKind> kind = renderer.MaybeBadLine(r, &line)) {
      line.push_back('\n');
      out.write(line.data(), static_cast<std::streamsize>(line.size()));
      ++bad[static_cast<int>(*kind)];
      ++result.bad_lines;
    }
    if (!out) break;
  }
  out.flush();
  if (!out) return absl::DataLossError("writing the generated feed failed");

  JsonWriter truth;
  WriteTruth(m, streams, result, bad, late_ids, truth);
  result.truth_json = truth.Release();
  return result;
}

absl::StatusOr<GenerateResult> GenerateToFiles(const Scenario& scenario,
                                               const std::string& feed_path,
                                               const std::string& truth_path) {
  std::ofstream feed(feed_path, std::ios::binary | std::ios::trunc);
  if (!feed) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", feed_path, ": ", std::strerror(errno)));
  }
  absl::StatusOr<GenerateResult> result = Generate(scenario, feed);
  if (!result.ok()) return result.status();
  feed.close();
  if (!feed) {
    return absl::DataLossError(absl::StrCat("cannot write ", feed_path));
  }
  std::ofstream truth(truth_path, std::ios::binary | std::ios::trunc);
  if (!truth) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", truth_path, ": ", std::strerror(errno)));
  }
  truth << result->truth_json << '\n';
  truth.close();
  if (!truth) {
    return absl::DataLossError(absl::StrCat("cannot write ", truth_path));
  }
  return result;
}

}  // namespace vigia::gen
