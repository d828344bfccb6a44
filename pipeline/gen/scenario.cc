#include "pipeline/gen/scenario.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pipeline/core/country.h"
#include "pipeline/core/strings.h"
#include "pipeline/gen/lexicon.h"

namespace vigia::gen {
namespace {

// Trough ~0.2 at 04:00, a plateau through the working day, peak ~1.6 at
// 20:00; the values sum to ~24 so normalization barely moves them.
const std::vector<double>& DefaultDailyProfile() {
  static const std::vector<double> kProfile = {
      0.75, 0.45, 0.30, 0.22, 0.20, 0.25, 0.40, 0.70,  //
      0.95, 1.10, 1.20, 1.25, 1.30, 1.30, 1.25, 1.25,  //
      1.30, 1.40, 1.45, 1.55, 1.60, 1.50, 1.30, 1.00};
  return kProfile;
}

// Monday first: political talk is a little quieter at the weekend (about
// 0.8 of a weekday), far less so than talk about companies (docs/scenarios.md).
const std::vector<double>& DefaultWeeklyProfile() {
  static const std::vector<double> kProfile = {1.05, 1.07, 1.07, 1.06,
                                               1.02, 0.87, 0.86};
  return kProfile;
}

std::vector<OriginShare> Origins(
    std::initializer_list<std::pair<const char*, double>> shares) {
  std::vector<OriginShare> out;
  for (const auto& [code, share] : shares) {
    out.push_back({ParseCountry(code), share});
  }
  std::sort(out.begin(), out.end(),
            [](const OriginShare& a, const OriginShare& b) {
              return a.country < b.country;
            });
  return out;
}

TargetSpec Target(const char* code, double posts_per_hour, double ads_per_day,
                  std::vector<OriginShare> origins) {
  TargetSpec t;
  t.country = ParseCountry(code);
  t.posts_per_hour = posts_per_hour;
  t.ads_per_day = ads_per_day;
  t.origins = std::move(origins);
  // Every default target has a built-in profile.
  (void)FillTargetDefaults(&t);
  return t;
}

}  // namespace

std::string_view BadLineKindName(BadLineKind kind) {
  switch (kind) {
    case BadLineKind::kMalformedJson:
      return "malformed_json";
    case BadLineKind::kTruncated:
      return "truncated";
    case BadLineKind::kInvalidUtf8:
      return "invalid_utf8";
    case BadLineKind::kMissingField:
      return "missing_field";
    case BadLineKind::kBadCountry:
      return "bad_country";
    case BadLineKind::kBadTime:
      return "bad_time";
  }
  return "unknown";
}

Scenario DefaultScenario() {
  Scenario s;
  s.name = "default";
  s.description = "The standard background: no campaigns.";
  s.start = absl::FromUnixSeconds(1778284800);  // 2026-05-09T00:00:00Z
  s.duration = absl::Hours(48);
  s.daily_profile = DefaultDailyProfile();
  s.background.weekly_profile = DefaultWeeklyProfile();
  s.platforms = {
      {"facebook", 0.35}, {"telegram", 0.2}, {"tiktok", 0.15}, {"x", 0.3}};
  // Moldova's electorate has a large diaspora: many posts aimed at MD come
  // from accounts in IT, DE and RO, and that is organic.
  s.targets = {
      Target("MD", 700, 50,
             Origins({{"MD", 0.54},
                      {"RU", 0.14},
                      {"RO", 0.10},
                      {"IT", 0.08},
                      {"DE", 0.05},
                      {"UA", 0.04},
                      {"US", 0.03},
                      {"FR", 0.02}})),
      Target("RO", 1000, 80,
             Origins({{"RO", 0.80},
                      {"MD", 0.05},
                      {"IT", 0.04},
                      {"RU", 0.03},
                      {"ES", 0.03},
                      {"DE", 0.02},
                      {"GB", 0.02},
                      {"US", 0.01}})),
      Target("DE", 1100, 80,
             Origins({{"DE", 0.84},
                      {"RU", 0.04},
                      {"AT", 0.04},
                      {"US", 0.03},
                      {"TR", 0.02},
                      {"CH", 0.02},
                      {"PL", 0.01}})),
      Target("FR", 900, 60,
             Origins({{"FR", 0.85},
                      {"BE", 0.04},
                      {"RU", 0.03},
                      {"US", 0.03},
                      {"CH", 0.02},
                      {"DZ", 0.02},
                      {"CA", 0.01}})),
      Target("PL", 700, 50,
             Origins({{"PL", 0.82},
                      {"UA", 0.06},
                      {"RU", 0.04},
                      {"DE", 0.03},
                      {"BY", 0.02},
                      {"US", 0.02},
                      {"GB", 0.01}})),
  };
  return s;
}

absl::Time CampaignStart(const Scenario& scenario, const CampaignSpec& c) {
  return c.start_at.has_value() ? *c.start_at : scenario.start + c.start_offset;
}

absl::Status FillTargetDefaults(TargetSpec* t) {
  const internal::CountryProfile* p = internal::FindCountryProfile(t->country);
  const std::string code = t->country.str();
  auto missing = [&](const char* field) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is required: ", code, " has no built-in country profile"));
  };
  if (p != nullptr && t->utc_offset == absl::ZeroDuration()) {
    t->utc_offset = absl::Minutes(p->utc_offset_minutes);
  }
  if (!t->currency.known()) {
    if (p == nullptr) return missing("currency");
    t->currency = CurrencyCode::FromString(p->currency);
  }
  if (t->languages.empty()) {
    if (p == nullptr) return missing("languages");
    for (absl::string_view l :
         absl::StrSplit(ToAbsl(p->languages), ' ', absl::SkipEmpty())) {
      t->languages.emplace_back(l);
    }
  }
  if (t->hashtags.empty()) {
    if (p != nullptr && !p->hashtags.empty()) {
      for (absl::string_view h :
           absl::StrSplit(ToAbsl(p->hashtags), ' ', absl::SkipEmpty())) {
        t->hashtags.emplace_back(h);
      }
    } else {
      std::string lower = code;
      for (char& ch : lower) ch = static_cast<char>(ch - 'A' + 'a');
      t->hashtags = {"election2026", lower};
    }
  }
  return absl::OkStatus();
}

}  // namespace vigia::gen
