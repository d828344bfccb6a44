// posting_clock: a set of accounts aimed at the target posts only in the
// working hours of a distant time zone's weekdays.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/yaml_config.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/model.h"
#include "pipeline/gen/reader.h"
#include "pipeline/gen/render.h"

namespace vigia::gen::internal {
namespace {

// Its own section, `clock`.
absl::Status Parse(YamlReader& r, const std::string&, const ConfigNode& v,
                   CampaignSpec* c) {
  ClockSpec* k = &c->clock;
  return r.Map(
      v, {"utc_offset", "work_hours", "posts_per_day"},
      [&](const std::string& key, const ConfigNode& x) -> absl::Status {
        if (key == "utc_offset") {
          VIGIA_RETURN_IF_ERROR(r.UtcOffset(x, &k->utc_offset));
          k->has_utc_offset = true;
          return absl::OkStatus();
        }
        if (key == "posts_per_day") {
          return r.Number(x, &k->posts_per_day);
        }
        int64_t lo, hi;
        VIGIA_RETURN_IF_ERROR(r.IntPair(x, &lo, &hi));
        if (lo < 0 || hi > 24 || lo >= hi) {
          return x.Error(
              "must be [start, end) hours with 0 <= start "
              "< end <= 24");
        }
        k->work_start = static_cast<int>(lo);
        k->work_end = static_cast<int>(hi);
        return absl::OkStatus();
      });
}

// Hours between two UTC offsets around the clock: +12 and -12 are 0 apart.
double ZoneDistanceHours(absl::Duration a, absl::Duration b) {
  double d = std::fabs(absl::ToDoubleHours(a - b));
  d = std::fmod(d, 24.0);
  return std::min(d, 24.0 - d);
}

// Weekdays (in the office's zone) whose working hours overlap the campaign.
int WorkingDays(const Scenario& s, const CampaignSpec& c) {
  const int64_t offset_ms = absl::ToInt64Milliseconds(c.clock.utc_offset);
  const int64_t from = absl::ToUnixMillis(CampaignStart(s, c)) + offset_ms;
  const int64_t to = from + absl::ToInt64Milliseconds(c.duration);
  constexpr int64_t kDay = 86400000, kHour = 3600000;
  int days = 0;
  for (int64_t day = from / kDay - 1; day * kDay < to; ++day) {
    // 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays.
    const int64_t weekday = ((day + 3) % 7 + 7) % 7;
    if (weekday >= 5) continue;
    const int64_t open = day * kDay + c.clock.work_start * kHour;
    const int64_t close = day * kDay + c.clock.work_end * kHour;
    if (open < to && close > from) ++days;
  }
  return days;
}

std::optional<Problem> Check(const Scenario& s, const CampaignSpec& c,
                             const TargetSpec& target,
                             const std::string& path) {
  const ClockSpec& k = c.clock;
  if (!k.has_utc_offset) {
    return Problem{path + ".clock.utc_offset", "is required"};
  }
  if (k.utc_offset < absl::Hours(-14) || k.utc_offset > absl::Hours(14)) {
    return Problem{path + ".clock.utc_offset", "must be within +-14:00"};
  }
  if (ZoneDistanceHours(k.utc_offset, target.utc_offset) < 3) {
    return Problem{
        path + ".clock.utc_offset",
        absl::StrCat("must be at least 3 hours from ", c.target.str(),
                     "'s own offset; office hours of the "
                     "electorate's own zone are not "
                     "interference")};
  }
  if (k.work_start < 0 || k.work_end > 24 || k.work_start >= k.work_end) {
    return Problem{path + ".clock.work_hours",
                   "must be [start, end) hours with 0 <= start < end <= "
                   "24"};
  }
  if (!(k.posts_per_day > 0 && k.posts_per_day <= 1000)) {
    return Problem{path + ".clock.posts_per_day", "must be in (0, 1000]"};
  }
  if (WorkingDays(s, c) < 3) {
    return Problem{path + ".duration",
                   "must cover at least 3 weekdays of the office's "
                   "working hours (the detector needs posts on 3 days)"};
  }
  return std::nullopt;
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

// Posts at the accounts' rate while the office works, none otherwise.
void ScheduleOfficeHours(const Schedule& s) {
  const Model& m = s.m;
  const ClockSpec& k = s.c.clock;
  const double rate = s.c.network.accounts * k.posts_per_day /
                      ((k.work_end - k.work_start) * kMsPerHour);
  const int64_t office_ms = absl::ToInt64Milliseconds(k.utc_offset);
  Arrivals(
      s.stream, s.index, s.from, s.to, rate, s.jitter_ms,
      [&](int64_t ms) {
        return IsWorkingTime(m.start_ms + ms, office_ms, k) ? rate : 0.0;
      },
      s.out);
}

// posting_clock: ordinary posts, at office hours of a distant zone.
void Render(Renderer& r, Stream& st, const Record& rec, const std::string& id,
            int64_t unix_ms, std::string* line) {
  Rng& rng = st.content;
  const CampaignSpec& c = r.scenario().campaigns[st.campaign];
  const TargetSpec& t = r.Target(st);
  const auto [k, account, platform] = r.PickPoster(st);
  Original fresh;
  fresh.id = id;
  r.OrdinaryContent(rng, t, c.origin, unix_ms, platform,
                    r.scenario().posts.url_share, &fresh);
  r.Write(PostView{id, platform, unix_ms, &account, c.origin.str(),
                   t.country.str(), &fresh, ""},
          line);
}

// Its own truth fields (docs/scenarios.md, "The truth file").
void Truth(const Model& m, const Stream& st, JsonWriter& w) {
  const Scenario& s = *m.s;
  const CampaignSpec& c = s.campaigns[st.campaign];
  WriteCountsTruth(m, st, w);
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
}

}  // namespace

const KindSpec& PostingClockKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kPostingClock,
      .name = "posting_clock",
      .detector = "posting_clock",
      .intensity = Intensity::kOwn,
      .keys = {"network", "clock"},
      .required = {"clock"},
      .parse = &Parse,
      .defaults = [](CampaignSpec* c) { DefaultNetwork(c, 30, 0.1, 0); },
      .check = &Check,
      .own_events =
          [](const CampaignSpec& c, double minutes) {
            return c.network.accounts * c.clock.posts_per_day * minutes / 1440;
          },
      .arrivals = &ScheduleOfficeHours,
      .render = &Render,
      .truth = &Truth,
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
