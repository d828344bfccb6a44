#include "pipeline/gen/generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/lexicon.h"
#include "pipeline/gen/model.h"
#include "pipeline/gen/random.h"
#include "pipeline/gen/render.h"

namespace vigia::gen {
namespace {

using internal::Account;
using internal::DailyCycle;
using internal::DeriveSeed;
using internal::IdString;
using internal::kCascade;
using internal::kEventId;
using internal::kIds;
using internal::Kind;
using internal::KindSpec;
using internal::kLate;
using internal::kMsPerDay;
using internal::kMsPerHour;
using internal::kNews;
using internal::kNoise;
using internal::kNoiseStepMs;
using internal::kNoRoot;
using internal::MakePool;
using internal::Model;
using internal::Pool;
using internal::Ramp;
using internal::Record;
using internal::Renderer;
using internal::Rng;
using internal::Schedule;
using internal::Stream;
using internal::StreamType;
using internal::StringArray;
using internal::WeightedTable;

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
// ---------------------------------------------------------------------------
// Setup: the model and the streams

// Every derived input that does not depend on the streams.
void InitModel(const Scenario& s, Model* m) {
  m->s = &s;
  m->id_salt = DeriveSeed(s.seed, kIds, 0);
  m->start_ms = absl::ToUnixMillis(s.start);
  m->duration_ms = absl::ToInt64Milliseconds(s.duration);
  m->cycle = DailyCycle(s.daily_profile);
  std::vector<double> bad_weights(s.bad_lines.weights.begin(),
                                  s.bad_lines.weights.end());
  double sum = 0;
  for (double w : bad_weights) sum += w;
  if (sum <= 0) bad_weights.assign(kNumBadLineKinds, 1.0);
  m->bad_kinds = WeightedTable(bad_weights);
}

// One stream per (target, origin) pair, in target then origin order, each
// with its pool of background accounts.
void AddPairStreams(Model* m, std::vector<Stream>* streams) {
  const Scenario& s = *m->s;
  std::vector<std::string> platform_names;
  std::vector<double> platform_weights;
  for (const NamedShare& p : s.platforms) {
    platform_names.push_back(p.name);
    platform_weights.push_back(p.share);
  }
  m->pair_pool.assign(s.targets.size(), {});
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
      const uint64_t pool_index = m->pools.size();
      m->pools.push_back(
          MakePool(*m, pool_index, size, platform_names, platform_weights,
                   s.accounts.zipf_exponent, s.accounts.new_account_share,
                   s.accounts.state_affiliated_share, m->start_ms, false));
      m->pair_pool[ti].push_back(static_cast<int>(pool_index));
      Stream st(s.seed, streams->size());
      st.type = StreamType::kPairPosts;
      st.target = static_cast<int>(ti);
      st.origin = static_cast<int>(oi);
      st.pool = static_cast<int>(pool_index);
      streams->push_back(std::move(st));
    }
    m->origin_pick.emplace_back(shares);
    m->origin_share.push_back(std::move(shares));
  }
}

// A campaign's own accounts (KindSpec::own_network).
Pool MakeNetworkPool(const Model& m, uint64_t pool_index,
                     const CampaignSpec& c) {
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
  const bool all_new = Kind(c.kind).all_accounts_new;
  return MakePool(
      m, pool_index, c.network.accounts, names, weights, 0,
      all_new ? 1.0 : c.network.new_account_share,
      c.network.state_affiliated_share,
      absl::ToUnixMillis(CampaignStart(*m.s, c)), true,
      all_new ? absl::ToDoubleHours(c.network.created_within) / 24 : 14);
}

// One stream per campaign, after the background's, with the accounts its
// kind posts from: the pair's, its own network, or none (ads, from pages).
void AddCampaignStreams(Model* m, std::vector<Stream>* streams) {
  const Scenario& s = *m->s;
  for (size_t ci = 0; ci < s.campaigns.size(); ++ci) {
    const CampaignSpec& c = s.campaigns[ci];
    const KindSpec& kind = Kind(c.kind);
    int ti = 0;
    while (s.targets[ti].country != c.target) ++ti;
    const TargetSpec& t = s.targets[ti];
    Stream st(s.seed, streams->size());
    st.type = StreamType::kCampaign;
    st.target = ti;
    st.campaign = static_cast<int>(ci);
    for (size_t oi = 0; oi < t.origins.size(); ++oi) {
      if (t.origins[oi].country == c.origin) st.origin = static_cast<int>(oi);
    }
    if (kind.pair_accounts) {
      st.pool = m->pair_pool[ti][st.origin];
    } else if (kind.own_network) {
      const uint64_t pool_index = m->pools.size();
      m->pools.push_back(MakeNetworkPool(*m, pool_index, c));
      st.pool = static_cast<int>(pool_index);
    }
    if (st.pool >= 0) st.used.assign(m->pools[st.pool].accounts.size(), false);
    streams->push_back(std::move(st));
  }
}

// Streams are numbered background first (pairs in target then origin
// order, then ads), campaigns last, so the background's random streams and
// ids do not depend on the campaigns. Each campaign's content is set up
// once every stream exists.
std::vector<Stream> MakeStreams(Model* m) {
  const Scenario& s = *m->s;
  std::vector<Stream> streams;
  AddPairStreams(m, &streams);
  for (size_t ti = 0; ti < s.targets.size(); ++ti) {
    Stream st(s.seed, streams.size());
    st.type = StreamType::kAds;
    st.target = static_cast<int>(ti);
    streams.push_back(std::move(st));
  }
  AddCampaignStreams(m, &streams);
  m->campaign_content.resize(s.campaigns.size());
  for (Stream& st : streams) {
    if (st.type != StreamType::kCampaign) continue;
    const KindSpec& kind = Kind(s.campaigns[st.campaign].kind);
    if (kind.prepare != nullptr) kind.prepare(m, st);
  }
  return streams;
}

// ---------------------------------------------------------------------------
// Arrivals

// The background's burstiness: the normalized weekly cycle, each target's
// news (per minute, domestic and foreign) and each pair's over-dispersion
// (per 5 minutes, drawn with the pair's arrivals), each from its own random
// stream.
struct Burstiness {
  std::vector<double> weekly;
  double weekly_max = 1;
  std::vector<std::vector<float>> news_domestic, news_foreign;  // by target
  bool cascades = false;
  // With cascades, originals arrive at (1 - repost_share) of the rate and
  // the cascades make up the rest.
  double original_share = 1;
};

Burstiness MakeBurstiness(const Model& m) {
  const Scenario& s = *m.s;
  const BackgroundSpec& bg = s.background;
  Burstiness b;
  b.weekly = bg.weekly_profile;
  double sum = 0;
  for (double w : b.weekly) sum += w;
  for (double& w : b.weekly) w *= 7 / sum;
  b.weekly_max = *std::max_element(b.weekly.begin(), b.weekly.end());
  b.news_domestic.resize(s.targets.size());
  b.news_foreign.resize(s.targets.size());
  for (size_t ti = 0; ti < s.targets.size(); ++ti) {
    Rng rng(DeriveSeed(s.seed, kNews, ti));
    NewsFactors(rng, bg, m.cycle, m.start_ms,
                absl::ToInt64Milliseconds(s.targets[ti].utc_offset),
                m.duration_ms, &b.news_domestic[ti], &b.news_foreign[ti]);
  }
  b.cascades = bg.cascade_max_reposts > 0;
  b.original_share = b.cascades ? 1 - s.posts.repost_share : 1.0;
  return b;
}

// A background pair's posts: the daily and weekly cycles, its noise and its
// target's news modulate its rate; cascades add the reposts.
void PairArrivals(const Model& m, const Burstiness& b, Stream& st,
                  uint32_t index, int64_t jitter_ms,
                  std::vector<Record>* records) {
  const Scenario& s = *m.s;
  const BackgroundSpec& bg = s.background;
  const TargetSpec& t = s.targets[st.target];
  const int64_t offset_ms = absl::ToInt64Milliseconds(t.utc_offset);
  const double cycle_max = m.cycle.max() * 1.001;
  const double base = t.posts_per_hour * s.background_scale *
                      m.origin_share[st.target][st.origin] / kMsPerHour *
                      b.original_share;
  Rng noise_rng(DeriveSeed(s.seed, kNoise, index));
  float noise_max = 1;
  const std::vector<float> noise = NoiseFactors(
      noise_rng, m.duration_ms, bg.noise_cv, bg.noise_memory, &noise_max);
  const std::vector<float>& news = t.origins[st.origin].country == t.country
                                       ? b.news_domestic[st.target]
                                       : b.news_foreign[st.target];
  const double news_max = *std::max_element(news.begin(), news.end());
  const size_t first = records->size();
  Arrivals(
      st, index, 0, m.duration_ms,
      base * cycle_max * b.weekly_max * noise_max * news_max * 1.001, jitter_ms,
      [&](int64_t ms) {
        return base * m.cycle.Factor(m.start_ms + ms, offset_ms) *
               WeeklyFactor(b.weekly, m.start_ms + ms, offset_ms) *
               noise[ms / kNoiseStepMs] * news[ms / 60000];
      },
      records);
  if (b.cascades) {
    Rng cascade_rng(DeriveSeed(s.seed, kCascade, index));
    Cascades(bg, s.posts.repost_share, cascade_rng, st, m.duration_ms,
             jitter_ms, first, records);
  }
}

// A target's background ads, following the daily and weekly cycles.
void AdArrivals(const Model& m, const Burstiness& b, Stream& st, uint32_t index,
                int64_t jitter_ms, std::vector<Record>* records) {
  const Scenario& s = *m.s;
  const TargetSpec& t = s.targets[st.target];
  const int64_t offset_ms = absl::ToInt64Milliseconds(t.utc_offset);
  const double cycle_max = m.cycle.max() * 1.001;
  const double base = t.ads_per_day * s.background_scale / kMsPerDay;
  Arrivals(
      st, index, 0, m.duration_ms, base * cycle_max * b.weekly_max, jitter_ms,
      [&](int64_t ms) {
        return base * m.cycle.Factor(m.start_ms + ms, offset_ms) *
               WeeklyFactor(b.weekly, m.start_ms + ms, offset_ms);
      },
      records);
}

// Every stream's records, in stream order; each campaign's kind schedules
// its own.
std::vector<Record> ScheduleRecords(const Model& m,
                                    std::vector<Stream>& streams) {
  const Scenario& s = *m.s;
  const Burstiness b = MakeBurstiness(m);
  std::vector<Record> records;
  const int64_t jitter_ms = absl::ToInt64Milliseconds(s.disorder.jitter);
  for (size_t si = 0; si < streams.size(); ++si) {
    Stream& st = streams[si];
    const uint32_t index = static_cast<uint32_t>(si);
    if (st.type == StreamType::kPairPosts) {
      PairArrivals(m, b, st, index, jitter_ms, &records);
    } else if (st.type == StreamType::kAds) {
      AdArrivals(m, b, st, index, jitter_ms, &records);
    } else {
      const CampaignSpec& c = s.campaigns[st.campaign];
      const int64_t from = absl::ToUnixMillis(CampaignStart(s, c)) - m.start_ms;
      const int64_t to = from + absl::ToInt64Milliseconds(c.duration);
      Kind(c.kind).arrivals(Schedule{m, st, index, c, s.targets[st.target],
                                     from, to, jitter_ms, &records});
    }
  }
  return records;
}

// ---------------------------------------------------------------------------
// Delivery

// The feed outage cuts the background (posts and ads) only. Its records
// are still rendered, unwritten, so that a cascade original lost in it can
// be reposted after it.
struct Outage {
  int64_t from_ms = 0, to_ms = 0;  // since scenario start

  bool Loses(const std::vector<Stream>& streams, const Record& r) const {
    const StreamType type = streams[r.stream].type;
    return (type == StreamType::kPairPosts || type == StreamType::kAds) &&
           r.event_ms >= from_ms && r.event_ms < to_ms;
  }
};

// Very late events: background posts delivered `late_by` after their event
// time, chosen only among background posts so that the choice does not
// depend on the campaigns. Moves their delivery; returns them as (stream,
// seq).
std::set<std::pair<uint32_t, uint32_t>> DelayLateEvents(
    const Model& m, const std::vector<Stream>& streams, const Outage& outage,
    std::vector<Record>* records) {
  const Scenario& s = *m.s;
  // A cascade's original is never late: its reposts must come after it.
  const int64_t late_by_ms = absl::ToInt64Milliseconds(s.disorder.late_by);
  std::vector<size_t> candidates;
  for (size_t i = 0; i < records->size(); ++i) {
    const Record& r = (*records)[i];
    const Stream& st = streams[r.stream];
    if (st.type == StreamType::kPairPosts &&
        r.event_ms + late_by_ms + 60000 <= m.duration_ms &&
        !outage.Loses(streams, r) &&
        !(r.root == kNoRoot && st.cascades.contains(r.seq))) {
      candidates.push_back(i);
    }
  }
  Rng late_rng(DeriveSeed(s.seed, kLate, 0));
  const size_t late_count =
      std::min(candidates.size(), static_cast<size_t>(s.disorder.late_events));
  std::set<std::pair<uint32_t, uint32_t>> late;
  for (size_t i = 0; i < late_count; ++i) {
    // Partial Fisher-Yates.
    const size_t j = i + late_rng.Below(candidates.size() - i);
    std::swap(candidates[i], candidates[j]);
    Record& r = (*records)[candidates[i]];
    r.arrive_ms = r.event_ms + late_by_ms;
    late.insert({r.stream, r.seq});
  }
  return late;
}

void SortByArrival(std::vector<Record>* records) {
  std::sort(records->begin(), records->end(),
            [](const Record& a, const Record& b) {
              if (a.arrive_ms != b.arrive_ms) return a.arrive_ms < b.arrive_ms;
              if (a.stream != b.stream) return a.stream < b.stream;
              return a.seq < b.seq;
            });
}

// What writing the records counted, beyond GenerateResult's totals.
struct Written {
  std::array<int64_t, kNumBadLineKinds> bad{};
  std::vector<std::string> late_ids;
};

bool IsAd(const Model& m, const Stream& st) {
  return st.type == StreamType::kAds ||
         (st.type == StreamType::kCampaign &&
          Kind(m.s->campaigns[st.campaign].kind).renders_ads);
}

// Renders and writes every record in delivery order, each maybe followed
// by a bad line; stops at the first write error (left in `out`).
void WriteRecords(const Model& m, std::vector<Stream>& streams,
                  const std::vector<Record>& records, const Outage& outage,
                  const std::set<std::pair<uint32_t, uint32_t>>& late,
                  std::ostream& out, GenerateResult* result, Written* written) {
  Renderer renderer(m, streams);
  std::string line;
  for (const Record& r : records) {
    renderer.Render(r, &line);
    if (outage.Loses(streams, r)) continue;
    line.push_back('\n');
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    ++result->events;
    if (IsAd(m, streams[r.stream])) {
      ++result->ads;
    } else {
      ++result->posts;
    }
    if (late.contains({r.stream, r.seq})) {
      ++result->late_events;
      written->late_ids.push_back(IdString(m, kEventId, r.stream, r.seq));
    }
    if (std::optional<BadLineKind> kind = renderer.MaybeBadLine(r, &line)) {
      line.push_back('\n');
      out.write(line.data(), static_cast<std::streamsize>(line.size()));
      ++written->bad[static_cast<int>(*kind)];
      ++result->bad_lines;
    }
    if (!out) break;
  }
}

// ---------------------------------------------------------------------------
// Truth

// A campaign: the fields every kind has, then its kind's own.
void WriteCampaignTruth(const Model& m, const Stream& st, JsonWriter& w) {
  const Scenario& s = *m.s;
  const CampaignSpec& c = s.campaigns[st.campaign];
  const KindSpec& kind = Kind(c.kind);
  const absl::Time start = CampaignStart(s, c);
  w.BeginObject();
  w.Field("name", c.name);
  w.Field("kind", kind.name);
  w.Key("detector");
  if (kind.detector.empty()) {
    w.Null();
  } else {
    w.String(kind.detector);
  }
  w.Field("interference", !kind.detector.empty());
  w.Field("target", c.target.str());
  w.Key("origin");
  if (c.origin.known()) {
    w.String(c.origin.str());
  } else {
    w.Null();
  }
  w.Field("start", FormatRfc3339(start));
  w.Field("end", FormatRfc3339(start + c.duration));
  kind.truth(m, st, w);
  w.EndObject();
}

void WriteTruth(const Model& m, const std::vector<Stream>& streams,
                const GenerateResult& r, const Written& written,
                JsonWriter& w) {
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
    w.Field(BadLineKindName(static_cast<BadLineKind>(k)), written.bad[k]);
  }
  w.EndObject();
  w.Field("late_events", r.late_events);
  w.Field("late_by_seconds",
          static_cast<int64_t>(absl::ToInt64Seconds(s.disorder.late_by)));
  StringArray(w, "late_event_ids", written.late_ids);
  w.Key("campaigns");
  w.BeginArray();
  for (const Stream& st : streams) {
    if (st.campaign >= 0) WriteCampaignTruth(m, st, w);
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
  InitModel(s, &m);
  std::vector<Stream> streams = MakeStreams(&m);
  std::vector<Record> records = ScheduleRecords(m, streams);

  const int64_t outage_from =
      absl::ToInt64Milliseconds(s.background.outage_start);
  const Outage outage{
      outage_from,
      outage_from + absl::ToInt64Milliseconds(s.background.outage_duration)};
  const std::set<std::pair<uint32_t, uint32_t>> late =
      DelayLateEvents(m, streams, outage, &records);
  SortByArrival(&records);

  GenerateResult result;
  Written written;
  WriteRecords(m, streams, records, outage, late, out, &result, &written);
  out.flush();
  if (!out) return absl::DataLossError("writing the generated feed failed");

  JsonWriter truth;
  WriteTruth(m, streams, result, written, truth);
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
