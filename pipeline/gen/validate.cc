#include "pipeline/gen/validate.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/checks.h"
#include "pipeline/gen/kind.h"

namespace vigia::gen {
namespace internal {
namespace {

constexpr double kMaxEvents = 50e6;

std::optional<Problem> CheckNetwork(const CampaignSpec& c,
                                    const std::string& path) {
  const NetworkSpec& n = c.network;
  if (n.accounts < 1 || n.accounts > 1000000) {
    return Problem{path + ".network.accounts", "must be in [1, 1000000]"};
  }
  if (auto p = CheckShare(n.new_account_share,
                          path + ".network.new_account_share")) {
    return p;
  }
  if (auto p = CheckShare(n.state_affiliated_share,
                          path + ".network.state_affiliated_share")) {
    return p;
  }
  return CheckMix(n.platforms, path + ".network.platforms", true);
}

// Start, duration and ramps.
std::optional<Problem> CheckCampaignTimes(const Scenario& s,
                                          const CampaignSpec& c,
                                          const std::string& path) {
  const absl::Time start = CampaignStart(s, c);
  if (c.duration <= absl::ZeroDuration()) {
    return Problem{path + ".duration", "must be > 0"};
  }
  if (start < s.start) {
    return Problem{
        path + ".start",
        absl::StrCat("starts at ", FormatRfc3339(start),
                     ", before the scenario start ", FormatRfc3339(s.start))};
  }
  if (start + c.duration > s.end()) {
    return Problem{
        path + ".duration",
        absl::StrCat("ends at ", FormatRfc3339(start + c.duration),
                     ", after the scenario end ", FormatRfc3339(s.end()),
                     " (lengthen the scenario duration)")};
  }
  if (c.ramp_in < absl::ZeroDuration() || c.ramp_out < absl::ZeroDuration() ||
      c.ramp_in + c.ramp_out > c.duration) {
    return Problem{path + ".ramp_in",
                   "ramp_in and ramp_out must be >= 0 and fit in duration"};
  }
  return std::nullopt;
}

// rate_multiplier and rate_per_min, as the kind's Intensity takes them.
std::optional<Problem> CheckIntensity(const CampaignSpec& c,
                                      const KindSpec& spec,
                                      const TargetSpec& target,
                                      const std::string& path) {
  const std::string kind(spec.name);
  const bool has_mult = c.rate_multiplier != 0;
  const bool has_rate = c.rate_per_min != 0;
  if (spec.intensity == Intensity::kMultiplierOrRate ||
      spec.intensity == Intensity::kMultiplier) {
    if (has_mult == has_rate) {
      return Problem{path,
                     "needs exactly one of rate_multiplier, rate_per_min"};
    }
    if (has_rate && spec.intensity == Intensity::kMultiplier) {
      return Problem{path + ".rate_per_min",
                     absl::StrCat(kind, " takes rate_multiplier only")};
    }
    if (has_mult) {
      if (!(c.rate_multiplier > 1 && c.rate_multiplier <= 1000)) {
        return Problem{path + ".rate_multiplier", "must be in (1, 1000]"};
      }
      if (PairShare(target, c.origin) <= 0) {
        return Problem{
            path + ".rate_multiplier",
            absl::StrCat("the pair ", c.target.str(), "/", c.origin.str(),
                         " has no background traffic to multiply; add the "
                         "origin to the target or use rate_per_min")};
      }
    }
  } else if (spec.intensity == Intensity::kRatePerMin) {
    if (has_mult) {
      return Problem{path + ".rate_multiplier",
                     absl::StrCat(kind, " takes rate_per_min only")};
    }
  } else if (has_mult || has_rate) {
    return Problem{path, absl::StrCat(kind,
                                      " takes neither rate_multiplier nor "
                                      "rate_per_min")};
  }
  if (has_rate && !(c.rate_per_min > 0 && c.rate_per_min <= 1e5)) {
    return Problem{path + ".rate_per_min", "must be in (0, 100000]"};
  }
  if (spec.intensity == Intensity::kRatePerMin && !has_rate) {
    return Problem{path + ".rate_per_min", "is required"};
  }
  return std::nullopt;
}

std::optional<Problem> CheckCampaign(const Scenario& s, const CampaignSpec& c,
                                     const std::string& path) {
  const KindSpec& spec = Kind(c.kind);
  const std::string kind(spec.name);
  if (c.name.empty() || !IsValidUtf8(c.name)) {
    return Problem{path + ".name", "must be non-empty UTF-8"};
  }
  const TargetSpec* target = FindTarget(s, c.target);
  if (!c.target.known()) return Problem{path + ".target", "is required"};
  if (target == nullptr) {
    return Problem{path + ".target",
                   absl::StrCat(c.target.str(), " is not one of the targets")};
  }
  if (!spec.takes_origin) {
    if (c.origin.known()) {
      return Problem{path + ".origin",
                     absl::StrCat(kind, " takes ", ToAbsl(spec.origins_instead),
                                  " instead")};
    }
  } else if (!c.origin.known()) {
    return Problem{path + ".origin", "is required"};
  }
  if (spec.foreign_origin && c.origin == c.target) {
    return Problem{path + ".origin",
                   absl::StrCat("must differ from target ", c.target.str(),
                                " for ", kind)};
  }
  if (auto p = CheckCampaignTimes(s, c, path)) return p;
  if (auto p = CheckIntensity(c, spec, *target, path)) return p;
  if (spec.own_network) {
    if (auto p = CheckNetwork(c, path)) return p;
  }
  return spec.check(s, c, *target, path);
}

std::optional<Problem> CheckBackground(const BackgroundSpec& b) {
  if (!(b.noise_cv >= 0 && b.noise_cv <= 3)) {
    return Problem{"background.noise.cv", "must be in [0, 3]"};
  }
  if (b.noise_memory < absl::Minutes(5) || b.noise_memory > absl::Hours(24)) {
    return Problem{"background.noise.memory", "must be in [5m, 1d]"};
  }
  if (b.weekly_profile.size() != 7) {
    return Problem{"background.weekly_profile",
                   absl::StrCat("needs 7 daily values (Monday first), not ",
                                b.weekly_profile.size())};
  }
  for (double v : b.weekly_profile) {
    if (!(v > 0 && v <= 1000)) {
      return Problem{"background.weekly_profile",
                     "values must be in (0, 1000]"};
    }
  }
  if (!(b.cascade_max_reposts >= 0 && b.cascade_max_reposts <= 10000)) {
    return Problem{"background.cascades.max_reposts", "must be in [0, 10000]"};
  }
  if (!(b.cascade_tail > 1 && b.cascade_tail <= 10)) {
    return Problem{"background.cascades.tail", "must be in (1, 10]"};
  }
  if (b.cascade_delay < absl::Seconds(10) ||
      b.cascade_delay > absl::Hours(24)) {
    return Problem{"background.cascades.delay", "must be in [10s, 1d]"};
  }
  if (!(b.news_per_day >= 0 && b.news_per_day <= 1000)) {
    return Problem{"background.news.per_day", "must be in [0, 1000]"};
  }
  if (!(b.news_peak_min > 1 && b.news_peak_min <= b.news_peak_max &&
        b.news_peak_max <= 1000)) {
    return Problem{"background.news.peak",
                   "must be [min, max] with 1 < min <= max <= 1000"};
  }
  if (b.news_rise < absl::ZeroDuration() || b.news_rise > absl::Hours(24)) {
    return Problem{"background.news.rise", "must be in [0, 1d]"};
  }
  if (b.news_decay < absl::Minutes(1) || b.news_decay > absl::Hours(24 * 7)) {
    return Problem{"background.news.decay", "must be in [1m, 7d]"};
  }
  if (!(b.news_foreign_response >= 0 && b.news_foreign_response <= 1)) {
    return Problem{"background.news.foreign_response", "must be in [0, 1]"};
  }
  if (b.outage_start < absl::ZeroDuration() ||
      b.outage_duration < absl::ZeroDuration() ||
      b.outage_duration > absl::Hours(24 * 7)) {
    return Problem{"background.outage",
                   "start must be >= 0 and duration in [0, 7d]"};
  }
  return std::nullopt;
}

// The scenario's top-level fields and its background section.
std::optional<Problem> CheckScenarioFields(const Scenario& s) {
  if (s.seed > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Problem{"seed", "must be at most 2^63 - 1"};
  }
  if (!IsValidUtf8(s.name) || !IsValidUtf8(s.description)) {
    return Problem{"name", "name and description must be valid UTF-8"};
  }
  if (s.duration <= absl::ZeroDuration() ||
      s.duration > absl::Hours(24 * 366)) {
    return Problem{"duration", "must be in (0, 366d]"};
  }
  if (!(s.background_scale > 0 && s.background_scale <= 100)) {
    return Problem{"background_scale", "must be in (0, 100]"};
  }
  if (s.daily_profile.size() != 24) {
    return Problem{"daily_profile", absl::StrCat("needs 24 hourly values, not ",
                                                 s.daily_profile.size())};
  }
  for (double v : s.daily_profile) {
    if (!(v > 0 && v <= 1000)) {
      return Problem{"daily_profile", "values must be in (0, 1000]"};
    }
  }
  if (auto p = CheckBackground(s.background)) return p;
  return CheckMix(s.platforms, "platforms", false);
}

// How background accounts, posts, ads, disorder and bad lines are drawn.
std::optional<Problem> CheckDraws(const Scenario& s) {
  if (!(s.accounts.mean_posts_per_day > 0 &&
        s.accounts.mean_posts_per_day <= 1e6)) {
    return Problem{"accounts.mean_posts_per_day", "must be in (0, 1000000]"};
  }
  if (!(s.accounts.zipf_exponent >= 0 && s.accounts.zipf_exponent <= 4)) {
    return Problem{"accounts.zipf_exponent", "must be in [0, 4]"};
  }
  for (const auto& [v, path] :
       {std::pair{s.accounts.state_affiliated_share,
                  "accounts.state_affiliated_share"},
        std::pair{s.accounts.new_account_share, "accounts.new_account_share"},
        std::pair{s.posts.repost_share, "posts.repost_share"},
        std::pair{s.posts.url_share, "posts.url_share"},
        std::pair{s.posts.target_language_share, "posts.target_language_share"},
        std::pair{s.posts.state_media_share, "posts.state_media_share"},
        std::pair{s.ads.foreign_payer_share, "ads.foreign_payer_share"},
        std::pair{s.ads.missing_disclaimer_share,
                  "ads.missing_disclaimer_share"}}) {
    if (auto p = CheckShare(v, path)) return p;
  }
  const DisorderSpec& d = s.disorder;
  if (d.jitter < absl::ZeroDuration() || d.jitter > absl::Minutes(10)) {
    return Problem{"disorder.jitter", "must be in [0, 10m]"};
  }
  if (d.late_events < 0 || d.late_events > 1000000) {
    return Problem{"disorder.late_events", "must be in [0, 1000000]"};
  }
  if (d.late_by < absl::Minutes(1) || d.late_by <= d.jitter ||
      d.late_by >= s.duration) {
    return Problem{"disorder.late_by",
                   "must be at least 1m, more than jitter and less than the "
                   "scenario duration"};
  }
  if (!(s.bad_lines.rate >= 0 && s.bad_lines.rate <= 0.5)) {
    return Problem{"bad_lines.rate", "must be in [0, 0.5]"};
  }
  double weight_sum = 0;
  for (int k = 0; k < kNumBadLineKinds; ++k) {
    const double w = s.bad_lines.weights[k];
    if (!(w >= 0 && w <= 1e6)) {
      return Problem{
          absl::StrCat("bad_lines.kinds.",
                       ToAbsl(BadLineKindName(static_cast<BadLineKind>(k)))),
          "must be in [0, 1000000]"};
    }
    weight_sum += w;
  }
  if (s.bad_lines.rate > 0 && weight_sum <= 0) {
    return Problem{"bad_lines.kinds", "needs a positive weight"};
  }
  return std::nullopt;
}

// A target's fields after its country.
std::optional<Problem> CheckTarget(const TargetSpec& t,
                                   const std::string& path) {
  if (!(t.posts_per_hour >= 0 && t.posts_per_hour <= 1e7)) {
    return Problem{path + ".posts_per_hour", "must be in [0, 10000000]"};
  }
  if (!(t.ads_per_day >= 0 && t.ads_per_day <= 1e7)) {
    return Problem{path + ".ads_per_day", "must be in [0, 10000000]"};
  }
  if (t.utc_offset < absl::Hours(-14) || t.utc_offset > absl::Hours(14)) {
    return Problem{path + ".utc_offset", "must be within +-14:00"};
  }
  if (!t.currency.known()) return Problem{path + ".currency", "is required"};
  if (t.languages.empty()) {
    return Problem{path + ".languages", "must not be empty"};
  }
  if (auto p = CheckStrings(t.languages, path + ".languages")) return p;
  if (auto p = CheckStrings(t.hashtags, path + ".hashtags")) return p;
  if (t.origins.empty()) return Problem{path + ".origins", "must not be empty"};
  std::set<CountryCode> origins;
  for (const OriginShare& o : t.origins) {
    if (!o.country.known()) {
      return Problem{path + ".origins", "has an unknown country"};
    }
    const std::string op = absl::StrCat(path, ".origins.", o.country.str());
    if (!origins.insert(o.country).second) {
      return Problem{op, "is listed twice"};
    }
    if (!(o.share > 0 && std::isfinite(o.share))) {
      return Problem{op, "share must be > 0"};
    }
  }
  return std::nullopt;
}

// The targets; adds their background events to `events`.
std::optional<Problem> CheckTargets(const Scenario& s, double* events) {
  if (s.targets.empty()) return Problem{"targets", "must not be empty"};
  std::set<CountryCode> seen;
  const double hours = absl::ToDoubleHours(s.duration);
  for (size_t i = 0; i < s.targets.size(); ++i) {
    const TargetSpec& t = s.targets[i];
    const std::string path = absl::StrCat("targets[", i, "]");
    if (!t.country.known()) return Problem{path + ".country", "is required"};
    if (!seen.insert(t.country).second) {
      return Problem{path + ".country",
                     absl::StrCat(t.country.str(), " is listed twice")};
    }
    if (auto p = CheckTarget(t, path)) return p;
    *events += (t.posts_per_hour * hours + t.ads_per_day * hours / 24) *
               s.background_scale;
  }
  return std::nullopt;
}

// About how many events a (valid) campaign adds.
double CampaignEvents(const Scenario& s, const CampaignSpec& c) {
  const double minutes = absl::ToDoubleMinutes(c.duration);
  if (c.rate_per_min > 0) return c.rate_per_min * minutes;
  if (c.rate_multiplier > 0) {
    const TargetSpec* t = FindTarget(s, c.target);
    return (c.rate_multiplier - 1) * t->posts_per_hour * s.background_scale *
           PairShare(*t, c.origin) * minutes / 60 * 2;
  }
  const KindSpec& spec = Kind(c.kind);
  return spec.own_events != nullptr ? spec.own_events(c, minutes) : 0;
}

// The campaigns; adds their events to `events`.
std::optional<Problem> CheckCampaigns(const Scenario& s, double* events) {
  if (s.campaigns.size() > 1000) {
    return Problem{"campaigns", "has more than 1000 entries"};
  }
  std::set<std::string> names;
  for (size_t i = 0; i < s.campaigns.size(); ++i) {
    const CampaignSpec& c = s.campaigns[i];
    const std::string path = absl::StrCat("campaigns[", i, "]");
    if (auto p = CheckCampaign(s, c, path)) return p;
    if (!names.insert(c.name).second) {
      return Problem{path + ".name",
                     absl::StrCat("\"", c.name, "\" is used twice")};
    }
    *events += CampaignEvents(s, c);
  }
  return std::nullopt;
}

}  // namespace

std::optional<Problem> FindProblem(const Scenario& s) {
  if (auto p = CheckScenarioFields(s)) return p;
  if (auto p = CheckDraws(s)) return p;
  double events = 0;
  if (auto p = CheckTargets(s, &events)) return p;
  if (auto p = CheckCampaigns(s, &events)) return p;
  if (events > kMaxEvents) {
    return Problem{"duration",
                   absl::StrCat("the scenario would generate about ",
                                static_cast<int64_t>(events),
                                " events; the limit is 50000000")};
  }
  return std::nullopt;
}

}  // namespace internal

absl::Status ValidateScenario(const Scenario& scenario) {
  if (std::optional<internal::Problem> p = internal::FindProblem(scenario)) {
    return absl::InvalidArgumentError(absl::StrCat(p->path, ": ", p->message));
  }
  return absl::OkStatus();
}

}  // namespace vigia::gen
