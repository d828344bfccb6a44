#include "pipeline/gen/model.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/lexicon.h"

namespace vigia::gen::internal {
namespace {

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

std::string FormatDatePath(int64_t unix_ms) {
  return absl::FormatTime("%Y/%m/%d", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

}  // namespace

double Ramp(double x) {
  x = std::clamp(x, 0.0, 1.0);
  return x * x * (3 - 2 * x);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string IdString(const Model& m, IdClass cls, uint64_t a, uint64_t b) {
  return absl::StrCat(Mix64(((cls << 56) | (a << 32) | b) ^ m.id_salt));
}

// Primary language of a country, or "en".
std::string_view PrimaryLanguage(CountryCode c) {
  const CountryProfile* p = FindCountryProfile(c);
  if (p == nullptr) return "en";
  const size_t space = p->languages.find(' ');
  return p->languages.substr(0, space);
}

// Domain of the j-th (0..5) news outlet of a country.
std::string OutletDomain(CountryCode c, int j) {
  const auto words = OutletWords();
  const uint64_t h = Mix64(c.packed()) % words.size();
  // A step coprime with the list size visits distinct words.
  const auto& w = words[(h + static_cast<uint64_t>(j) * 5) % words.size()];
  return absl::StrCat(ToAbsl(w), "-", Lower(c.str()), ".example");
}

std::string ArticlePath(Rng& rng, int64_t unix_ms) {
  const auto sections = UrlSections();
  const auto slugs = UrlSlugWords();
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

std::vector<std::string> CampaignArticles(Rng& rng, CountryCode origin, int n,
                                          int64_t unix_ms) {
  const auto words = CampaignOutletWords();
  const std::string domain =
      absl::StrCat(ToAbsl(words[rng.Below(words.size())]), "-",
                   Lower(origin.str()), ".example");
  std::vector<std::string> urls;
  for (int i = 0; i < n; ++i) {
    urls.push_back(absl::StrCat("https://", domain, ArticlePath(rng, unix_ms)));
  }
  return urls;
}

// An article of a state-affiliated outlet: https://de.rt.com/world/
// 123456-vote-debate/ (a trailing slash, as such sites write them).
std::string StateMediaArticle(Rng& rng, std::string_view domain) {
  const auto sections = UrlSections();
  const auto slugs = UrlSlugWords();
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

// "+08:00".
std::string FormatOffset(absl::Duration offset) {
  const int64_t minutes = absl::ToInt64Minutes(offset);
  const int64_t a = minutes < 0 ? -minutes : minutes;
  auto two = [](int64_t v) { return absl::StrCat(v < 10 ? "0" : "", v); };
  return absl::StrCat(minutes < 0 ? "-" : "+", two(a / 60), ":", two(a % 60));
}

Pool MakePool(const Model& m, uint64_t pool_index, int size,
              std::vector<std::string> platforms,
              const std::vector<double>& platform_weights, double zipf_exponent,
              double new_share, double state_share, int64_t reference_ms,
              bool network, double new_max_days) {
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

void ResolveMessages(const ContentSpec& k, const TargetSpec& t,
                     CampaignContent* out) {
  out->lang = k.lang.empty() ? t.languages.front() : k.lang;
  if (!k.messages.empty()) {
    out->messages = k.messages;
  } else {
    if (!HasCampaignMessages(out->lang)) out->lang = "en";
    for (std::string_view msg : LexiconOrEnglish(out->lang).campaign_messages) {
      out->messages.emplace_back(msg);
    }
  }
}

Rng KindSetupRng(const Model& m, int index, const CampaignSpec& c,
                 CampaignContent* out) {
  Rng rng(DeriveSeed(
      m.s->seed, kKindSetup,
      (static_cast<uint64_t>(c.kind) << 32) | static_cast<uint64_t>(index)));
  out->utm_tag = absl::StrCat("c", rng.Below(90000) + 10000);
  return rng;
}

void MultiplierArrivals(const Schedule& a) {
  const Model& m = a.m;
  const Scenario& s = *m.s;
  const Stream& st = a.stream;
  const TargetSpec& t = a.target;
  const CampaignSpec& c = a.c;
  const int64_t offset_ms = absl::ToInt64Milliseconds(t.utc_offset);
  const double cycle_max = m.cycle.max() * 1.001;
  const int64_t from = a.from, to = a.to;
  const int64_t in = absl::ToInt64Milliseconds(c.ramp_in);
  const int64_t rout = absl::ToInt64Milliseconds(c.ramp_out);
  const double extra = (c.rate_multiplier - 1) * t.posts_per_hour *
                       s.background_scale *
                       m.origin_share[st.target][st.origin] / kMsPerHour;
  Arrivals(
      a.stream, a.index, from, to, extra * cycle_max, a.jitter_ms,
      [&](int64_t ms) {
        return extra * m.cycle.Factor(m.start_ms + ms, offset_ms) *
               RampFactor(ms, from, to, in, rout);
      },
      a.out);
}

void RatePerMinArrivals(const Schedule& a) {
  const int64_t from = a.from, to = a.to;
  const int64_t in = absl::ToInt64Milliseconds(a.c.ramp_in);
  const int64_t rout = absl::ToInt64Milliseconds(a.c.ramp_out);
  const double rate = a.c.rate_per_min / 60000.0;
  Arrivals(
      a.stream, a.index, from, to, rate, a.jitter_ms,
      [&](int64_t ms) { return rate * RampFactor(ms, from, to, in, rout); },
      a.out);
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

void WriteCountsTruth(const Model& m, const Stream& st, JsonWriter& w) {
  const CampaignSpec& c = m.s->campaigns[st.campaign];
  if (c.rate_per_min > 0) w.Field("rate_per_min", c.rate_per_min);
  w.Field("events", st.events);
  const std::vector<std::string> ids = UsedAccountIds(m, st);
  w.Field("accounts", static_cast<int64_t>(ids.size()));
  StringArray(w, "account_ids", ids);
}

}  // namespace vigia::gen::internal
