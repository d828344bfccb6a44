// A scenario for the synthetic feed generator (`vigia gen`): the organic
// background (targets, their origin mixes, daily cycle, accounts, ads, bad
// lines, disorder) and a list of injected campaigns. The YAML format and
// every default are documented in docs/scenarios.md.
//
// A Scenario is a plain value: load it, adjust fields (the CLI overrides
// seed and duration), then hand it to Generate() (generator.h), which
// validates it again. Loading and validation are thread-safe.
#ifndef VIGIA_PIPELINE_GEN_SCENARIO_H_
#define VIGIA_PIPELINE_GEN_SCENARIO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pipeline/core/types.h"

namespace vigia::gen {

// A named share of a mix (platforms); shares are relative weights.
struct NamedShare {
  std::string name;
  double share = 0;
};

// One origin country's share of a target's posts; shares are relative
// weights, normalized by the generator.
struct OriginShare {
  CountryCode country;
  double share = 0;
};

// An electorate posts are aimed at, and the organic traffic aimed at it.
struct TargetSpec {
  CountryCode country;
  // Mean posts per hour over a day, all origins together; the daily cycle
  // modulates it around this mean.
  double posts_per_hour = 0;
  // Mean political ads per day.
  double ads_per_day = 0;
  // Local time = UTC + utc_offset; drives the daily cycle. Fixed for the
  // whole scenario (no daylight-saving switch).
  absl::Duration utc_offset;
  CurrencyCode currency;
  // Languages of the electorate; the first is the primary one.
  std::vector<std::string> languages;
  // Background hashtags (without '#').
  std::vector<std::string> hashtags;
  std::vector<OriginShare> origins;
};

enum class CampaignKind : uint8_t {
  // A network of accounts operating from `origin` pushes posts at `target`
  // with shared URLs, hashtags and near-duplicate texts: interference.
  kForeignOriginSurge = 0,
  // A genuine, gradual rise of the (target, origin) pair's normal traffic
  // (e.g. foreign news covering the election): not interference.
  kOrganicRise = 1,
  // Foreign accounts pile onto one of the target's existing hashtags: the
  // foreign share of the hashtag's posts jumps while the target's total
  // barely moves. Interference, for `foreign_share`.
  kTrendRiding = 2,
  // Bursts in which many accounts of a network post the same URL, the same
  // copy-pasted text or repost the same post within seconds. Interference,
  // for `coordinated_sharing`.
  kCoordinatedSharing = 3,
  // A network of accounts all created days before the campaign posts at the
  // target. Interference, for `new_account_burst`.
  kNewAccountBurst = 4,
  // Accounts (some labelled state-affiliated) share articles of
  // state-affiliated media domains at the target. Interference, for
  // `state_media_amplification`.
  kStateMediaAmplification = 5,
  // A foreign payer new to the target buys political ads aimed at it, in a
  // foreign currency, some without a disclaimer. Interference, for
  // `foreign_ad_spend`.
  kForeignAdSpend = 6,
  // A set of accounts aimed at the target posts only in the working hours
  // of a distant time zone's weekdays. Interference, for `posting_clock`.
  kPostingClock = 7,
  // Many of the pair's usual accounts share one popular link over an hour
  // or two, never five of them within a minute: not interference (the
  // organic lookalike of coordinated sharing).
  kViralLink = 8,
};
inline constexpr int kNumCampaignKinds = 9;
// "foreign_origin_surge", "organic_rise", "trend_riding",
// "coordinated_sharing", "new_account_burst", "state_media_amplification",
// "foreign_ad_spend", "posting_clock", "viral_link".
std::string_view CampaignKindName(CampaignKind kind);
std::optional<CampaignKind> ParseCampaignKind(std::string_view name);
// The detector a campaign of this kind must trip, or empty for the organic
// kinds (organic_rise, viral_link), which must trip nothing at warning or
// above.
std::string_view ExpectedDetector(CampaignKind kind);

// The accounts a campaign posts from (kinds with their own network).
struct NetworkSpec {
  int accounts = 40;
  // Share of accounts created at most 14 days before the campaign starts;
  // the network has exactly this share, rounded to whole accounts.
  double new_account_share = 0.3;
  // Likewise exact (rounded).
  double state_affiliated_share = 0.05;
  // Platforms of the network's accounts; empty = {x: 0.4, telegram: 0.35,
  // facebook: 0.25}.
  std::vector<NamedShare> platforms;
  // New accounts were created 1 day to this long before the campaign
  // starts (new_account_burst: every account is new).
  absl::Duration created_within = absl::Hours(14 * 24);
};

// What a campaign's posts say. Empty lists and an empty `lang` are filled
// with built-in defaults by the generator.
struct ContentSpec {
  std::string lang;                   // default: the target's primary language
  std::vector<std::string> messages;  // near-duplicate texts derive from these
  std::vector<std::string> urls;      // shared URLs
  std::vector<std::string> hashtags;  // shared hashtags (without '#')
  double repost_share = 0.35;         // posts that repost a network post
  double url_share = 0.8;             // original posts carrying a shared URL
};

// trend_riding: which trend is ridden, and from where.
struct TrendSpec {
  // One of the target's hashtags (without '#'); empty = its first one.
  std::string hashtag;
  // Countries the network's accounts operate from (relative weights), each
  // different from the target; empty = the target's foreign origins with
  // their background weights. Spreading the push keeps every single
  // (target, origin) pair's count unremarkable.
  std::vector<OriginShare> origins;
  // Posts carrying a (unique, background-like) article URL.
  double url_share = 0.3;
};

// coordinated_sharing: the bursts. Each burst is one subject (a URL, a text
// or a post to repost) posted by `min_accounts`..`max_accounts` distinct
// network accounts within `spread`; bursts are spread evenly over the
// campaign, in a shuffled order of their types.
struct BurstSpec {
  int url = 4;     // bursts sharing one URL (spelled differently each time)
  int text = 1;    // copy-paste storms of one message
  int repost = 0;  // repost storms of one network post
  int min_accounts = 8;
  int max_accounts = 15;
  absl::Duration spread = absl::Seconds(30);
};

// state_media_amplification: what is shared.
struct MediaSpec {
  // State-affiliated media domains the shared articles are on; empty =
  // {rt.com, de.rt.com, sputnikglobe.com}.
  std::vector<std::string> domains;
  // The state behind the domains (echoed in the truth); unknown = RU.
  CountryCode state;
  // Distinct articles shared, spread over the domains.
  int articles = 12;
  double repost_share = 0.2;
};

// foreign_ad_spend: the payer and its ads.
struct AdCampaignSpec {
  double per_hour = 0;  // mean ads per hour; required
  // Payer name; empty = a generated one, distinct from every background
  // payer.
  std::string payer;
  int pages = 2;  // pages (ad accounts) the ads run from
  // Each ad reports one of the standard spend ranges inside
  // [spend_lower, spend_upper] (see docs/scenarios.md).
  int64_t spend_lower = 1000;
  int64_t spend_upper = 9999;
  // Currency of the ads; unknown = the payer country's.
  CurrencyCode currency;
  double missing_disclaimer_share = 0.5;
};

// posting_clock: the office the accounts are run from.
struct ClockSpec {
  // The office's UTC offset; required (has_utc_offset).
  absl::Duration utc_offset;
  bool has_utc_offset = false;
  // Working hours, local to the office, Monday to Friday: [start, end).
  int work_start = 9;
  int work_end = 18;
  // Mean posts per account per working day.
  double posts_per_day = 8;
};

// viral_link: the link.
struct LinkSpec {
  // The shared URL; empty = an article on one of the origin's outlets.
  std::string url;
};

struct CampaignSpec {
  std::string name;
  CampaignKind kind = CampaignKind::kForeignOriginSurge;
  CountryCode target;
  // Where the accounts operate from (the payer's country for
  // foreign_ad_spend); unused by trend_riding (TrendSpec::origins).
  CountryCode origin;
  // Start: `start_at` if set, else the scenario start plus `start_offset`.
  absl::Duration start_offset;
  std::optional<absl::Time> start_at;
  absl::Duration duration;
  // Smooth ramps inside [start, start + duration) (kinds with a rate).
  absl::Duration ramp_in;
  absl::Duration ramp_out;
  // The intensity. foreign_origin_surge: exactly one of the two is set
  // (> 0); organic_rise: rate_multiplier; trend_riding, new_account_burst,
  // state_media_amplification, viral_link: rate_per_min; the other kinds
  // have their own (bursts, ads.per_hour, clock.posts_per_day) and neither.
  // rate_multiplier m: while at full strength, the pair's total rate is m
  // times its background rate. rate_per_min r: r campaign posts per minute
  // on top of the background.
  double rate_multiplier = 0;
  double rate_per_min = 0;
  // Kind-specific parts; each kind reads only its own (docs/scenarios.md).
  NetworkSpec network;  // every kind with its own accounts
  ContentSpec content;  // surge, new_account_burst; coordinated_sharing's
                        // lang, urls and messages
  TrendSpec trend;      // kTrendRiding
  BurstSpec bursts;     // kCoordinatedSharing
  MediaSpec media;      // kStateMediaAmplification
  AdCampaignSpec ads;   // kForeignAdSpend
  ClockSpec clock;      // kPostingClock
  LinkSpec link;        // kViralLink
};

// How background accounts are drawn.
struct AccountSpec {
  // Pool size per (target, origin) = the pair's posts per day / this.
  double mean_posts_per_day = 2.0;
  // Account of rank k (1-based) is picked with weight 1 / (k + 5)^exponent.
  double zipf_exponent = 1.0;
  double state_affiliated_share = 0.01;
  // Share of accounts created less than 30 days before the scenario start;
  // the rest are 30 days to 12 years old.
  double new_account_share = 0.02;
};

// Shape of background posts.
struct PostSpec {
  double repost_share = 0.15;
  double url_share = 0.45;
  // Share of foreign-origin posts written in the target's language (the
  // rest use the origin's language).
  double target_language_share = 0.6;
  // Share of URL-carrying posts from an origin with built-in
  // state-affiliated media (RU, BY, CN, TR, IR) that link one of those
  // outlets instead of a fictitious one. 0 (the standard background) draws
  // nothing, so the background stays byte-identical.
  double state_media_share = 0;
};

struct AdSpec {
  double foreign_payer_share = 0.05;
  double missing_disclaimer_share = 0.05;
};

// Out-of-order delivery.
struct DisorderSpec {
  // Every line is delivered up to this much after its event time, so lines
  // are out of order by at most this much. Keep it below the pipeline's
  // max_out_of_orderness (30 s by default) or more events turn late.
  absl::Duration jitter = absl::Seconds(5);
  // Background posts delivered `late_by` after their event time.
  int late_events = 5;
  absl::Duration late_by = absl::Hours(2);
};

// What makes the background behave like real traffic rather than a
// smooth Poisson process (docs/scenarios.md, "The standard background" and
// "How realistic the background is"). Each part switches off on its own.
struct BackgroundSpec {
  // Over-dispersion: each (target, origin) pair's rate is multiplied by a
  // log-normal factor of mean 1 and this coefficient of variation, redrawn
  // every 5 minutes as an AR(1) process whose correlation time is
  // `noise_memory`. Counts become gamma-Poisson-like: variance
  // mean + (cv * mean)^2. 0 = none.
  double noise_cv = 0.25;
  absl::Duration noise_memory = absl::Minutes(20);
  // The weekly cycle: 7 factors for the target's local days, Monday first,
  // joined linearly between midday points and normalized to mean 1.
  // Default: weekdays ~1.06, Saturday and Sunday ~0.86.
  std::vector<double> weekly_profile;
  // Self-exciting cascades (a Hawkes process): every background post
  // spawns Poisson(nu) reposts of its cascade's original by other accounts
  // of the pair, each `cascade_delay` (exponential mean) after its parent,
  // and reposts spawn reposts in turn. nu is heavy-tailed (Pareto with shape
  // `cascade_tail`, at most `cascade_max_reposts`) with a mean equal to
  // posts.repost_share, which is therefore the share of posts that are
  // reposts. cascade_max_reposts = 0 turns cascades off: reposts then copy a
  // recent post of the pair, as plain independent arrivals.
  double cascade_max_reposts = 30;
  double cascade_tail = 1.5;
  absl::Duration cascade_delay = absl::Minutes(12);
  // News-driven bursts on domestic topics: per target, a Poisson number of
  // news events (`news_per_day` on average, more in the daytime). Each lifts
  // the target's domestic posts to `peak` times their rate (heavy-tailed
  // between news_peak_min and news_peak_max) over `news_rise`, then decays
  // exponentially with mean `news_decay`; the target's foreign origins (the
  // diaspora, foreign media) rise by `news_foreign_response` of that excess.
  // news_per_day = 0 = none.
  double news_per_day = 3;
  double news_peak_min = 1.5;
  double news_peak_max = 4;
  absl::Duration news_rise = absl::Minutes(10);
  absl::Duration news_decay = absl::Minutes(40);
  double news_foreign_response = 0.3;
  // A feed outage: no background post or ad with an event time in
  // [start + outage_start, start + outage_start + outage_duration) is in
  // the archive (campaigns are not cut, so the truth stays exact). An
  // outage beyond the scenario's end is simply not in it. 0 = none.
  absl::Duration outage_start = absl::Hours(31);
  absl::Duration outage_duration = absl::Hours(2);
};

enum class BadLineKind : uint8_t {
  kMalformedJson = 0,  // broken syntax, still ends in '}'
  kTruncated = 1,      // cut off mid-record
  kInvalidUtf8 = 2,    // stray bytes in the text
  kMissingField = 3,   // id, created_at or target absent
  kBadCountry = 4,     // a country code that is not ISO 3166-1 alpha-2
  kBadTime = 5,        // created_at that is not RFC 3339 with a zone
};
inline constexpr int kNumBadLineKinds = 6;
// "malformed_json", "truncated", "invalid_utf8", "missing_field",
// "bad_country", "bad_time".
std::string_view BadLineKindName(BadLineKind kind);

struct BadLineSpec {
  // Probability that a background record is followed by a bad line.
  double rate = 0.001;
  // Relative weights by BadLineKind.
  std::array<double, kNumBadLineKinds> weights = {1, 1, 1, 1, 1, 1};
};

struct Scenario {
  std::string name;
  std::string description;
  uint64_t seed = 20260509;  // at most 2^63 - 1
  absl::Time start;          // DefaultScenario(): 2026-05-09T00:00:00Z
  absl::Duration duration = absl::Hours(48);
  // Multiplies every target's posts_per_hour and ads_per_day (and so the
  // account pools): long scenarios use it to stay a manageable size.
  double background_scale = 1.0;
  // 24 hourly factors of the local daily cycle (hour 0 = midnight), smoothly
  // interpolated and normalized to mean 1. Default: trough ~0.2 at 04:00,
  // peak ~1.6 at 20:00.
  std::vector<double> daily_profile;
  // Platforms of background accounts.
  std::vector<NamedShare> platforms;
  AccountSpec accounts;
  PostSpec posts;
  AdSpec ads;
  DisorderSpec disorder;
  BadLineSpec bad_lines;
  BackgroundSpec background;
  std::vector<TargetSpec> targets;
  std::vector<CampaignSpec> campaigns;

  absl::Time end() const { return start + duration; }
};

// The standard background: MD, RO, DE, FR, PL over two days from
// 2026-05-09T00:00:00Z, about 210k posts and 640 ads, no campaigns.
Scenario DefaultScenario();

// A campaign of `kind` with that kind's defaults (ramps, network), as the
// YAML loader starts from; name, target, origin, start, duration and the
// intensity are left for the caller.
CampaignSpec DefaultCampaign(CampaignKind kind);

// Returns the campaign's start time within `scenario`.
absl::Time CampaignStart(const Scenario& scenario, const CampaignSpec& c);

// Fills a target's unset fields (utc_offset, currency, languages, hashtags)
// from the built-in country table. Returns InvalidArgument naming the field
// if the country has no built-in profile and the field is unset.
absl::Status FillTargetDefaults(TargetSpec* target);

// Checks everything Generate() relies on; errors are InvalidArgument and
// name the offending field, e.g. "campaigns[0] (md-ru): ends after the
// scenario end ...".
absl::Status ValidateScenario(const Scenario& scenario);

// Parses scenario YAML on top of DefaultScenario(). `source` names the text
// in error messages, which read "<source>:<line>: <key path>: <problem>";
// unknown keys, wrong types and out-of-range values are errors.
absl::StatusOr<Scenario> ParseScenario(std::string_view yaml,
                                       std::string_view source);

// The largest scenario file read (1 MiB; the bundled ones are 2-5 kB).
inline constexpr size_t kMaxScenarioFileBytes = 1 << 20;

// Loads a bundled scenario by name ("diaspora"), or a YAML file if the
// argument contains '/' or ends in ".yaml" / ".yml". NotFound if neither;
// InvalidArgument for a file over kMaxScenarioFileBytes.
absl::StatusOr<Scenario> LoadScenario(std::string_view name_or_path);

// Names of the scenarios embedded in the library, sorted.
std::vector<std::string> BundledScenarioNames();

// Parses a duration such as "2d", "90m", "1d14h30m", "1500ms" (units d, h,
// m, s, ms; no sign). Exposed for the CLI's --duration override.
absl::StatusOr<absl::Duration> ParseScenarioDuration(std::string_view text);

}  // namespace vigia::gen

#endif  // VIGIA_PIPELINE_GEN_SCENARIO_H_
