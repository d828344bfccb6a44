// posting_clock: a set of accounts aimed at the target posts only in the
// working hours of a distant time zone's weekdays.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "pipeline/gen/kind.h"

namespace vigia::gen::internal {
namespace {

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

}  // namespace

const KindSpec& PostingClockKind() {
  static const KindSpec kSpec = {
      .kind = CampaignKind::kPostingClock,
      .name = "posting_clock",
      .detector = "posting_clock",
      .intensity = Intensity::kOwn,
      .keys = {"network", "clock"},
      .required = {"clock"},
      .defaults =
          [](CampaignSpec* c) {
            c->network.accounts = 30;
            c->network.new_account_share = 0.1;
            c->network.state_affiliated_share = 0;
          },
      .check = &Check,
      .own_events =
          [](const CampaignSpec& c, double minutes) {
            return c.network.accounts * c.clock.posts_per_day * minutes / 1440;
          },
  };
  return kSpec;
}

}  // namespace vigia::gen::internal
