// The generator's internal model (generator.h is the API): the streams a
// scenario becomes, their records, the derived read-only inputs of the
// rendering pass (Model), and the helpers that the campaign kinds (kinds/)
// share with the background: ids, URLs, account pools, arrival processes
// and truth fields. Internal to vigia::gen: one Generate() call owns all of
// it, and nothing is shared between calls.
#ifndef VIGIA_PIPELINE_GEN_MODEL_H_
#define VIGIA_PIPELINE_GEN_MODEL_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/types.h"
#include "pipeline/gen/random.h"
#include "pipeline/gen/scenario.h"

namespace vigia::gen::internal {

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
  kKindSetup = 7,  // campaigns whose kind draws with KindSetupRng()
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

// Where a stream's records come from: a background (target, origin) pair's
// posts, a target's background ads, or a campaign (Stream::campaign; its
// kind renders it).
enum class StreamType {
  kPairPosts,
  kAds,
  kCampaign,
};

// What a campaign kind keeps for one campaign beyond CampaignContent: the
// content only it uses, set up by its KindSpec::prepare, and its
// bookkeeping for the truth, filled while scheduling and rendering. Each
// kind that keeps any derives its own in its kinds/ file and reaches it
// with KindStateOf(); the stream owns it.
struct KindState {
  virtual ~KindState() = default;
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
  // Accounts of the pool that posted (campaigns; foreign_ad_spend: pages).
  std::vector<bool> used;
  // The campaign kind's own state, if it keeps one (KindStateOf).
  std::unique_ptr<KindState> kind_state;
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

// The state of `st`'s campaign kind as the kind's own type T, created on
// first use. Only the kind's own file calls it, with its own T.
template <typename T>
T& KindStateOf(Stream& st) {
  if (st.kind_state == nullptr) st.kind_state = std::make_unique<T>();
  return static_cast<T&>(*st.kind_state);
}
// Read-only. REQUIRES: the kind set it up (in its KindSpec::prepare).
template <typename T>
const T& KindStateOf(const Stream& st) {
  return static_cast<const T&>(*st.kind_state);
}

// A campaign's content with defaults filled in, the parts several kinds
// share (its kind's own are in its KindState). Each kind fills the parts it
// uses.
struct CampaignContent {
  std::string lang;
  std::vector<std::string> messages;
  std::vector<std::string> urls;  // shared URLs, articles, or the viral link
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
  // Per target: the pool of each origin, and a draw of an origin by share
  // (a cascade's reposters are the target's whole audience).
  std::vector<std::vector<int>> pair_pool;
  std::vector<WeightedTable> origin_pick;
  std::vector<Pool> pools;
  std::vector<CampaignContent> campaign_content;
  WeightedTable bad_kinds;
};

std::string IdString(const Model& m, IdClass cls, uint64_t a, uint64_t b);
// Smoothstep on [0, 1]: the shape of ramps and news rises.
double Ramp(double x);
std::string Lower(std::string_view s);

// ---------------------------------------------------------------------------
// Content

// Primary language of a country, or "en".
std::string_view PrimaryLanguage(CountryCode c);
// The j-th (fictitious) news outlet of a country: "<word>-md.example".
std::string OutletDomain(CountryCode c, int j);
// A dated article path: "/<section>/2026/05/09/<slug>-<slug>-<number>".
std::string ArticlePath(Rng& rng, int64_t unix_ms);
// `n` articles on one campaign domain of `origin` (a domain drawn from the
// campaign outlet words), dated around `unix_ms`.
std::vector<std::string> CampaignArticles(Rng& rng, CountryCode origin, int n,
                                          int64_t unix_ms);
// An article URL on a state-affiliated media domain.
std::string StateMediaArticle(Rng& rng, std::string_view domain);
// Appends utm_source (and utm_campaign, if any) to `url`.
void AddUtm(std::string* url, std::string_view source,
            std::string_view campaign);
// Toggles "www." on an http(s) URL's host.
std::string ToggleWww(const std::string& url);
// "+08:00".
std::string FormatOffset(absl::Duration offset);

// ---------------------------------------------------------------------------
// Setup

// A campaign's language and messages: the content's, or the target's
// primary language and its built-in campaign messages (English where it has
// none).
void ResolveMessages(const ContentSpec& k, const TargetSpec& t,
                     CampaignContent* out);

// A pool of `size` accounts, created relative to `reference_ms`. A
// `network` (a campaign's own accounts) has exactly the given shares of new
// (1 to `new_max_days` old) and state-affiliated accounts and spreads its
// posts evenly; the background draws them and picks accounts Zipf-like.
Pool MakePool(const Model& m, uint64_t pool_index, int size,
              std::vector<std::string> platforms,
              const std::vector<double>& platform_weights, double zipf_exponent,
              double new_share, double state_share, int64_t reference_ms,
              bool network, double new_max_days = 14);

// The random stream of a campaign whose kind draws its content at setup,
// seeded by kind and index so that campaigns of different kinds at the same
// index do not draw the same articles; draws the content's utm_tag first.
Rng KindSetupRng(const Model& m, int index, const CampaignSpec& c,
                 CampaignContent* out);

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

// A campaign stream's arrivals: its window in ms since the scenario start
// and where its records go.
struct Schedule {
  const Model& m;
  Stream& stream;
  uint32_t index;  // the stream's
  const CampaignSpec& c;
  const TargetSpec& target;
  int64_t from, to;  // [start, end) of the campaign
  int64_t jitter_ms;
  std::vector<Record>* out;
};

// rate_multiplier m: on top of the background, so that the pair totals m
// times its usual rate (with the daily cycle), ramped in and out.
void MultiplierArrivals(const Schedule& s);
// rate_per_min, ramped in and out.
void RatePerMinArrivals(const Schedule& s);

// ---------------------------------------------------------------------------
// Truth

// A time since the scenario start, as the truth writes it.
std::string TruthTime(const Model& m, int64_t ms);
// The accounts of the stream's pool that posted, sorted.
std::vector<std::string> UsedAccountIds(const Model& m, const Stream& st);
void StringArray(JsonWriter& w, std::string_view key,
                 const std::vector<std::string>& values);
// The fields every kind but the first two writes after the common ones:
// rate_per_min (if set), events, accounts and account_ids.
void WriteCountsTruth(const Model& m, const Stream& st, JsonWriter& w);

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_MODEL_H_
