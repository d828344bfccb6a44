#include "pipeline/gen/generator.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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
};

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

enum class StreamType { kPairPosts, kAds, kSurge, kOrganic };

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
};

struct Record {
  int64_t event_ms;   // since scenario start
  int64_t arrive_ms;  // position in the file: event time plus delay
  uint32_t stream;
  uint32_t seq;
};

// A campaign's content with defaults filled in.
struct CampaignContent {
  std::string lang;
  std::vector<std::string> messages;
  std::vector<std::string> urls;
  std::vector<std::string> hashtags;
  std::string utm_tag;
};

// Every derived, read-only input of the rendering pass.
struct Model {
  const Scenario* s = nullptr;
  uint64_t id_salt = 0;
  int64_t start_ms = 0;
  int64_t duration_ms = 0;
  DailyCycle cycle{std::vector<double>(24, 1.0)};
  std::vector<std::vector<double>> origin_share;  // normalized, per target
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

// ---------------------------------------------------------------------------
// Setup

Pool MakePool(const Model& m, uint64_t pool_index, int size,
              std::vector<std::string> platforms,
              const std::vector<double>& platform_weights, double zipf_exponent,
              double new_share, double state_share, int64_t reference_ms,
              bool network) {
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
      age_days =
          k < network_new ? rng.Uniform(1, 14) : rng.LogUniform(60, 6 * 365);
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
      case StreamType::kOrganic:
        BackgroundPost(st, id, unix_ms, Defect{}, line);
        break;
      case StreamType::kAds:
        Ad(st, id, unix_ms, Defect{}, line);
        break;
      case StreamType::kSurge:
        CampaignPost(st, id, unix_ms, line);
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

  std::string Text(Rng& rng, const Lexicon& lex) {
    std::string text;
    int n = 1;
    n += rng.Bernoulli(0.6);
    n += rng.Bernoulli(0.25);
    size_t last = lex.statements.size();
    for (int i = 0; i < n; ++i) {
      size_t k = rng.Below(lex.statements.size());
      if (k == last) k = (k + 1) % lex.statements.size();
      last = k;
      if (!text.empty()) text.push_back(' ');
      absl::StrAppend(&text, ToAbsl(lex.statements[k]), ".");
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

  void BackgroundPost(Stream& st, const std::string& id, int64_t unix_ms,
                      const Defect& d, std::string* line) {
    Rng& rng = st.content;
    const TargetSpec& t = Target(st);
    const CountryCode origin = t.origins[st.origin].country;
    const Pool& pool = m_.pools[st.pool];
    const size_t k = pool.pick.Sample(rng);
    const Account& account = pool.accounts[k];
    if (!d.kind && st.type == StreamType::kOrganic) st.used[k] = true;
    const std::string& platform = pool.platforms[account.platform];

    Original fresh;
    const Original* content = nullptr;
    std::string_view repost_of;
    if (rng.Bernoulli(s_.posts.repost_share)) {
      content = Recent(st, 32);
      if (content != nullptr) repost_of = content->id;
    }
    if (content == nullptr) {
      fresh.id = id;
      fresh.lang = PickLanguage(rng, t, origin);
      fresh.text = Text(rng, internal::LexiconOrEnglish(fresh.lang));
      if (rng.Bernoulli(s_.posts.url_share)) {
        const int urls = rng.Bernoulli(0.1) ? 2 : 1;
        for (int i = 0; i < urls; ++i) {
          // Mostly the origin's outlets, sometimes the target's.
          const CountryCode outlet_country =
              rng.Bernoulli(0.75) ? origin : t.country;
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
          fresh.urls.push_back(std::move(url));
        }
      }
      const double u = rng.Uniform();
      const int tags = u < 0.4 ? 0 : u < 0.75 ? 1 : u < 0.93 ? 2 : 3;
      PickHashtags(rng, t.hashtags, tags, &fresh.hashtags);
      content = &fresh;
    }

    PostView p{id,           platform,        unix_ms, &account,
               origin.str(), t.country.str(), content, repost_of};
    writer_.Clear();
    WritePost(p, d, writer_);
    *line = writer_.Release();
    // Only records that exist in the feed may be reposted later.
    if (!d.kind && content == &fresh) Remember(st, fresh);
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
    static constexpr std::array<std::pair<int64_t, int64_t>, 6> kSpend = {
        {{0, 99},
         {100, 499},
         {500, 999},
         {1000, 4999},
         {5000, 9999},
         {10000, 49999}}};
    static constexpr std::array<std::pair<int64_t, int64_t>, 8> kImpressions = {
        {{0, 999},
         {1000, 4999},
         {5000, 9999},
         {10000, 49999},
         {50000, 99999},
         {100000, 199999},
         {200000, 499999},
         {500000, 999999}}};
    static const WeightedTable kSpendPick({0.35, 0.30, 0.15, 0.12, 0.05, 0.03});
    const size_t spend = kSpendPick.Sample(rng);
    const size_t impressions =
        std::min<size_t>(spend + rng.Below(3), kImpressions.size() - 1);
    static const WeightedTable kPlatformPick({0.7, 0.2, 0.1});
    static constexpr std::string_view kPlatforms[] = {"facebook", "instagram",
                                                      "google"};
    const std::string_view platform = kPlatforms[kPlatformPick.Sample(rng)];
    const bool all_languages = t.languages.size() > 1 && rng.Bernoulli(0.2);
    const bool disclaimer = !rng.Bernoulli(s_.ads.missing_disclaimer_share);

    JsonWriter& w = writer_;
    w.Clear();
    w.BeginObject();
    if (!Omit(d, 0)) w.Field("id", id);
    w.Field("platform", platform);
    if (!Omit(d, 1)) TimeField(w, "created_at", unix_ms, d, true);
    w.Field("page_id", page_id);
    w.Key("payer");
    w.BeginObject();
    w.Field("name", name);
    w.Field("country", CountryOrBad(d, 1, payer.str()));
    w.EndObject();
    if (!Omit(d, 2)) w.Field("target", CountryOrBad(d, 0, t.country.str()));
    w.Field("currency", currency.str());
    w.Key("spend");
    w.BeginObject();
    w.Field("lower", kSpend[spend].first);
    w.Field("upper", kSpend[spend].second);
    w.EndObject();
    w.Key("impressions");
    w.BeginObject();
    w.Field("lower", kImpressions[impressions].first);
    w.Field("upper", kImpressions[impressions].second);
    w.EndObject();
    w.Key("languages");
    w.BeginArray();
    if (all_languages) {
      for (const std::string& l : t.languages) w.String(l);
    } else {
      w.String(t.languages.front());
    }
    w.EndArray();
    w.Key("disclaimer");
    if (disclaimer) {
      w.String(absl::StrCat("Paid for by ", name));
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
      w.Key("account_ids");
      w.BeginArray();
      for (const std::string& id : ids) w.String(id);
      w.EndArray();
      const CampaignContent& cc = m.campaign_content[st.campaign];
      w.Key("urls");
      w.BeginArray();
      for (const std::string& u : cc.urls) w.String(u);
      w.EndArray();
      w.Key("hashtags");
      w.BeginArray();
      for (const std::string& h : cc.hashtags) w.String(h);
      w.EndArray();
    }
    w.EndObject();
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
      const double per_day = t.posts_per_hour * shares[oi] * 24;
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
    m.origin_share.push_back(std::move(shares));
  }
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
    if (c.kind == CampaignKind::kOrganicRise) {
      st.type = StreamType::kOrganic;
      st.pool = pair_pool[ti][st.origin];
    } else {
      st.type = StreamType::kSurge;
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
      const uint64_t pool_index = m.pools.size();
      m.pools.push_back(MakePool(
          m, pool_index, c.network.accounts, names, weights, 0,
          c.network.new_account_share, c.network.state_affiliated_share,
          absl::ToUnixMillis(CampaignStart(s, c)), true));
      st.pool = static_cast<int>(pool_index);
    }
    st.used.assign(m.pools[st.pool].accounts.size(), false);
    streams.push_back(std::move(st));
  }
  m.campaign_content.resize(s.campaigns.size());
  for (size_t ci = 0; ci < s.campaigns.size(); ++ci) {
    if (s.campaigns[ci].kind != CampaignKind::kForeignOriginSurge) continue;
    const TargetSpec* t = nullptr;
    for (const TargetSpec& x : s.targets) {
      if (x.country == s.campaigns[ci].target) t = &x;
    }
    m.campaign_content[ci] =
        ResolveContent(m, static_cast<int>(ci), s.campaigns[ci], *t);
  }

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
      const double base =
          t.posts_per_hour * m.origin_share[st.target][st.origin] / kMsPerHour;
      Arrivals(
          st, index, 0, m.duration_ms, base * cycle_max, jitter_ms,
          [&](int64_t ms) { return base * cycle(ms); }, &records);
    } else if (st.type == StreamType::kAds) {
      const double base = t.ads_per_day / kMsPerDay;
      Arrivals(
          st, index, 0, m.duration_ms, base * cycle_max, jitter_ms,
          [&](int64_t ms) { return base * cycle(ms); }, &records);
    } else {
      const CampaignSpec& c = s.campaigns[st.campaign];
      const int64_t from = absl::ToUnixMillis(CampaignStart(s, c)) - m.start_ms;
      const int64_t to = from + absl::ToInt64Milliseconds(c.duration);
      const int64_t in = absl::ToInt64Milliseconds(c.ramp_in);
      const int64_t rout = absl::ToInt64Milliseconds(c.ramp_out);
      if (c.rate_multiplier > 0) {
        // On top of the background, so the pair totals m x its usual rate.
        const double extra = (c.rate_multiplier - 1) * t.posts_per_hour *
                             m.origin_share[st.target][st.origin] / kMsPerHour;
        Arrivals(
            st, index, from, to, extra * cycle_max, jitter_ms,
            [&](int64_t ms) {
              return extra * cycle(ms) * RampFactor(ms, from, to, in, rout);
            },
            &records);
      } else {
        const double rate = c.rate_per_min / 60000.0;
        Arrivals(
            st, index, from, to, rate, jitter_ms,
            [&](int64_t ms) {
              return rate * RampFactor(ms, from, to, in, rout);
            },
            &records);
      }
    }
  }

  // Very late events: background posts delivered `late_by` after their
  // event time, chosen only among background posts so that the choice does
  // not depend on the campaigns.
  const int64_t late_by_ms = absl::ToInt64Milliseconds(s.disorder.late_by);
  std::vector<size_t> candidates;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    if (streams[r.stream].type == StreamType::kPairPosts &&
        r.event_ms + late_by_ms + 60000 <= m.duration_ms) {
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
    line.push_back('\n');
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    ++result.events;
    if (streams[r.stream].type == StreamType::kAds) {
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
