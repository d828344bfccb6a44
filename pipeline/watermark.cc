#include "pipeline/watermark.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "operators/snapshot.h"

namespace vigia {

WatermarkTracker::WatermarkTracker(const WatermarkOptions& options)
    : options_(options) {}

int WatermarkTracker::IndexOf(const SourceRef& source) {
  // Records come in long runs from one source (a file, a Kafka batch), so
  // remembering the last lookup skips hashing the name on almost every event.
  if (source.source.data() == last_name_data_ &&
      source.source.size() == last_name_size_ &&
      source.partition == last_partition_) {
    return last_index_;
  }
  Key key{std::string(source.source), source.partition};
  auto [it, inserted] =
      index_.try_emplace(std::move(key), static_cast<int>(sources_.size()));
  if (inserted) sources_.emplace_back();
  last_name_data_ = source.source.data();
  last_name_size_ = source.source.size();
  last_partition_ = source.partition;
  last_index_ = it->second;
  return last_index_;
}

void WatermarkTracker::ObserveUntimed(const SourceRef& source, absl::Time now) {
  Source& s = sources_[IndexOf(source)];
  s.last_seen = now;
  s.delivered = true;
}

absl::Time WatermarkTracker::LeadBound(const SourceRef& source,
                                       std::optional<absl::Time> clock_now) {
  if (clock_now.has_value()) return *clock_now + options_.max_clock_lead;
  const Source& s = sources_[IndexOf(source)];
  const absl::Time base =
      s.progress != absl::InfinitePast() ? s.progress : s.presumed;
  if (base == absl::InfinitePast()) return absl::InfiniteFuture();
  return base + options_.max_lead;
}

void WatermarkTracker::SetAtEnd(const SourceRef& source, bool at_end,
                                absl::Time now) {
  Source& s = sources_[IndexOf(source)];
  s.end_aware = true;
  if (at_end && !s.at_end) s.end_since = now;
  s.at_end = at_end;
}

void WatermarkTracker::Presume(const SourceRef& source, absl::Time t) {
  Source& s = sources_[IndexOf(source)];
  s.presumed = t;
  s.presumed_set = true;
}

bool WatermarkTracker::ConfirmsGap(const SourceRef& source, absl::Time t,
                                   std::string_view platform) {
  Source& s = sources_[IndexOf(source)];
  // A run is records that agree on where the feed went; one that does not
  // starts a run of its own (bad clocks rarely agree with each other).
  if (!s.run.empty() &&
      absl::AbsDuration(t - s.run.front().first) > options_.max_lead) {
    s.run.clear();
  }
  s.run.emplace_back(t, static_cast<uint8_t>(LaneOf(s, platform)));
  if (static_cast<int>(s.run.size()) < options_.gap_quorum) return false;
  // The feed jumped: its recent times are the run's, and progress follows
  // (it only moves forward, and every time in the run is ahead of it).
  std::vector<std::pair<absl::Time, uint8_t>> run = std::move(s.run);
  s.run.clear();
  for (Lane& lane : s.lanes) {
    lane.recent_size = 0;
    lane.recent_next = 0;
    lane.newer = 0;
  }
  s.share.fill(0);
  s.share_size = 0;
  s.share_next = 0;
  run.pop_back();  // the caller observes `t` itself
  for (const auto& [r, lane] : run) AddRecent(s, lane, r);
  return true;
}

int WatermarkTracker::LaneOf(Source& s, std::string_view platform) {
  const int named = std::min<int>(s.lanes.size(), kMaxLanes - 1);
  for (int i = 0; i < named; ++i) {
    if (s.lanes[i].platform == platform) return i;
  }
  if (named < kMaxLanes - 1) {
    // (The overflow lane exists only once every named one does.)
    s.lanes.emplace_back();
    s.lanes.back().platform = std::string(platform);
    return named;
  }
  // Every named lane is taken: one no recent record of the source came
  // through is the new platform's, else they share the overflow lane.
  for (int i = 0; i < named; ++i) {
    if (s.share[i] != 0) continue;
    bool in_run = false;
    for (const auto& entry : s.run) in_run |= entry.second == i;
    if (in_run) continue;
    s.lanes[i] = Lane{};
    s.lanes[i].platform = std::string(platform);
    return i;
  }
  if (static_cast<int>(s.lanes.size()) < kMaxLanes) s.lanes.emplace_back();
  return kMaxLanes - 1;
}

void WatermarkTracker::UpdateProgress(Source& s) {
  // The weighted median: the latest lane progress that lanes at least as
  // far on carry more than half of the source's recent records with. One
  // lane's progress is the source's.
  // At most kMaxLanes entries: an insertion sort, latest first.
  std::array<std::pair<absl::Time, int>, kMaxLanes> order;
  int n = 0;
  for (const Lane& lane : s.lanes) {
    const std::pair<absl::Time, int> entry{lane.progress, s.share[n]};
    int j = n++;
    for (; j > 0 && order[j - 1].first < entry.first; --j) {
      order[j] = order[j - 1];
    }
    order[j] = entry;
  }
  int carried = 0;
  absl::Time median = absl::InfinitePast();
  for (int i = 0; i < n; ++i) {
    carried += order[i].second;
    if (2 * carried > s.share_size) {
      median = order[i].first;
      break;
    }
  }
  if (median > s.progress) {
    s.progress = median;
    progress_ = std::max(progress_, s.progress);
  }
}

void WatermarkTracker::AddRecent(Source& s, int lane_index, absl::Time t) {
  if (s.share_size == kRecentWindow) {
    --s.share[s.share_ring[s.share_next]];
  } else {
    ++s.share_size;
  }
  s.share_ring[s.share_next] = static_cast<uint8_t>(lane_index);
  ++s.share[lane_index];
  s.share_next = (s.share_next + 1) % kRecentWindow;

  Lane& l = s.lanes[lane_index];
  if (l.recent_size == kRecentWindow) {
    if (l.recent[l.recent_next] > l.progress) --l.newer;
  } else {
    ++l.recent_size;
  }
  l.recent[l.recent_next] = t;
  l.recent_next = (l.recent_next + 1) % kRecentWindow;
  if (t > l.progress) ++l.newer;
  if (l.newer < options_.quorum) return;
  // `quorum` recent times are past progress: it moves to the quorum-th
  // newest of them. A handful of entries on an honest feed, so cheap. They
  // are looked for from the newest back, and the search stops once all
  // `newer` are found: on an ordered feed they are the last few added, and
  // scanning the whole ring for them was 3% of replay's instructions.
  std::array<absl::Time, kRecentWindow>& past = past_;
  int n = 0;
  for (int j = 0, i = l.recent_next; j < l.recent_size && n < l.newer; ++j) {
    i = (i == 0 ? kRecentWindow : i) - 1;
    if (l.recent[i] > l.progress) past[n++] = l.recent[i];
  }
  const int k = options_.quorum - 1;
  if (n == k + 1) {
    // The usual case (`newer` grows by one a record): the quorum-th newest
    // of `quorum` times is the oldest.
    l.progress = *std::min_element(past.begin(), past.begin() + n);
  } else {
    std::nth_element(past.begin(), past.begin() + k, past.begin() + n,
                     std::greater<absl::Time>());
    l.progress = past[k];
  }
  l.newer = 0;
  for (int i = 0; i < n; ++i) {
    if (past[i] > l.progress) ++l.newer;
  }
  UpdateProgress(s);
}

void WatermarkTracker::Observe(const SourceRef& source, absl::Time t,
                               absl::Time now, std::optional<FeedKind> feed,
                               std::string_view platform) {
  const int index = IndexOf(source);
  Source& s = sources_[index];
  if (t != absl::InfinitePast()) {
    s.run.clear();
    AddRecent(s, LaneOf(s, platform), t);
    s.delivered = true;
    s.at_end = false;
    max_event_time_ = std::max(max_event_time_, t);
  }
  s.last_seen = std::max(s.last_seen, now);
  if (feed.has_value()) {
    s.feeds |= FeedBit(*feed);
    // Progress only moves forward, so the least seen is the first.
    absl::Time& start = feed_start_[static_cast<int>(*feed)];
    if (s.progress != absl::InfinitePast() && s.progress < start) {
      start = s.progress;
    }
  }
}

absl::Time WatermarkTracker::Advance(absl::Time now) {
  absl::Time low = absl::InfiniteFuture();
  int active = 0;
  // Per feed, over the sources carrying it; a source that has said no feed
  // yet (declared, no event) may carry either, so it holds both back, as it
  // holds back the whole.
  std::array<absl::Time, kNumFeeds> feed_low;
  feed_low.fill(absl::InfiniteFuture());
  for (const Source& s : sources_) {
    // Only rejected records so far: nothing said about event time.
    if (s.delivered && s.share_size == 0) continue;
    const absl::Time progress = s.progress;
    if (s.end_aware) {
      // Nothing to read, and nothing on its way (end_grace): idle. Records
      // still to read always count, however long they take to come.
      if (s.at_end && now - s.end_since >= options_.end_grace) {
        continue;
      }
    } else if (now - s.last_seen >= options_.idle_timeout) {
      continue;
    }
    ++active;
    low = std::min(low, progress);
    for (int f = 0; f < kNumFeeds; ++f) {
      if (s.feeds == 0 || (s.feeds & FeedBit(static_cast<FeedKind>(f)))) {
        feed_low[f] = std::min(feed_low[f], progress);
      }
    }
  }
  active_sources_ = active;
  // With every source idle nothing is in flight: event time is complete up
  // to the furthest progress, less the disorder bound. (Not the newest
  // event: a few records with clocks ahead must not move it then either.)
  if (active == 0) low = progress_;
  if (low != absl::InfinitePast() && low != absl::InfiniteFuture()) {
    watermark_ = std::max(watermark_, low - options_.max_out_of_orderness);
  }
  for (int f = 0; f < kNumFeeds; ++f) {
    // A feed with no active source of its own has nothing in flight: it is
    // as complete as the whole. One held by a source yet to deliver waits.
    if (feed_low[f] == absl::InfinitePast()) continue;
    absl::Time w = watermark_;
    if (feed_low[f] != absl::InfiniteFuture()) {
      w = std::max(w, feed_low[f] - options_.max_out_of_orderness);
    }
    feed_watermark_[f] = std::max(feed_watermark_[f], w);
  }
  return watermark_;
}

absl::Time WatermarkTracker::Finish() {
  if (max_event_time_ != absl::InfinitePast()) {
    watermark_ = std::max(watermark_, max_event_time_);
  }
  // Every source is complete, so is every feed.
  for (absl::Time& w : feed_watermark_) w = std::max(w, watermark_);
  return watermark_;
}

void WatermarkTracker::Save(SnapshotWriter& w) const {
  w.Time(watermark_);
  w.Time(max_event_time_);
  w.Time(progress_);
  for (absl::Time t : feed_watermark_) w.Time(t);
  // Where each feed's event time started (alignment measures from it).
  // A source's at-end state is not kept: it is about the consumer's
  // position now, and a restored daemon learns it anew.
  for (absl::Time t : feed_start_) w.Time(t);
  w.I32(active_sources_);
  std::vector<std::pair<const Key*, int>> keys;
  for (const auto& [key, index] : index_) keys.emplace_back(&key, index);
  std::sort(keys.begin(), keys.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  w.U64(sources_.size());
  for (const auto& [key, index] : keys) {
    const Source& s = sources_[index];
    w.Str(key->name);
    w.I32(key->partition);
    w.Time(s.progress);
    w.Time(s.presumed);
    w.Bool(s.presumed_set);
    w.Time(s.last_seen);
    w.U32(s.feeds);
    w.Bool(s.delivered);
    w.U64(s.lanes.size());
    for (const Lane& l : s.lanes) {
      w.Str(l.platform);
      w.Time(l.progress);
      w.U32(static_cast<uint32_t>(l.recent_size));
      w.U32(static_cast<uint32_t>(l.recent_next));
      w.U32(static_cast<uint32_t>(l.newer));
      for (int i = 0; i < l.recent_size; ++i) w.Time(l.recent[i]);
    }
    w.U32(static_cast<uint32_t>(s.share_size));
    w.U32(static_cast<uint32_t>(s.share_next));
    for (int i = 0; i < s.share_size; ++i) w.U32(s.share_ring[i]);
    w.U64(s.run.size());
    for (const auto& [t, lane] : s.run) {
      w.Time(t);
      w.U32(lane);
    }
  }
}

namespace {

// Reads one ring's bookkeeping; false (and `r` failed) if out of range.
bool ReadRing(SnapshotReader& r, int capacity, int& size, int& next) {
  const uint32_t sz = r.U32();
  const uint32_t nx = r.U32();
  if (r.ok() && (sz > static_cast<uint32_t>(capacity) ||
                 nx >= static_cast<uint32_t>(capacity) ||
                 (sz < static_cast<uint32_t>(capacity) && nx != sz))) {
    r.Fail("malformed watermark source");
  }
  size = static_cast<int>(sz);
  next = static_cast<int>(nx);
  return r.ok();
}

}  // namespace

bool WatermarkTracker::NewerCountHolds(SnapshotReader& r, const Lane& l) {
  // AddRecent() trusts the count when it looks for those times.
  int after = 0;
  for (int i = 0; i < l.recent_size; ++i) after += l.recent[i] > l.progress;
  if (r.ok() && after != l.newer) r.Fail("malformed watermark source");
  return r.ok();
}

void WatermarkTracker::Restore(SnapshotReader& r, uint32_t version) {
  watermark_ = r.Time();
  max_event_time_ = r.Time();
  progress_ = r.Time();
  for (absl::Time& t : feed_watermark_) t = r.Time();
  for (absl::Time& t : feed_start_) t = r.Time();
  active_sources_ = r.I32();
  index_.clear();
  sources_.clear();
  last_name_data_ = nullptr;
  last_name_size_ = 0;
  last_partition_ = -2;
  last_index_ = -1;
  const size_t n = r.Count(12);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Key key;
    key.name = r.Str();
    key.partition = r.I32();
    Source s;
    s.progress = r.Time();
    s.presumed = r.Time();
    s.presumed_set = r.Bool();
    s.last_seen = r.Time();
    const uint32_t feeds = r.U32();
    s.delivered = r.Bool();
    if (r.ok() && feeds > kAllFeeds) r.Fail("malformed watermark source");
    s.feeds = static_cast<FeedSet>(feeds);
    if (version == 1) {
      // Before lanes: the source's recent times are one lane with no
      // platform, and every recent record is its.
      Lane l;
      if (!ReadRing(r, kRecentWindow, l.recent_size, l.recent_next)) break;
      const uint32_t newer = r.U32();
      if (r.ok() && newer > static_cast<uint32_t>(l.recent_size)) {
        r.Fail("malformed watermark source");
      }
      l.newer = static_cast<int>(newer);
      for (int k = 0; k < l.recent_size; ++k) l.recent[k] = r.Time();
      l.progress = s.progress;
      if (!NewerCountHolds(r, l)) break;
      s.share_size = l.recent_size;
      s.share_next = l.recent_next;
      s.share_ring.fill(0);
      s.share[0] = static_cast<uint8_t>(l.recent_size);
      s.lanes.push_back(std::move(l));
      const size_t run = r.Count(1);
      for (size_t k = 0; k < run && r.ok(); ++k)
        s.run.emplace_back(r.Time(), 0);
    } else {
      const size_t lanes = r.Count(4);
      if (r.ok() && lanes > kMaxLanes) r.Fail("malformed watermark source");
      for (size_t k = 0; k < lanes && r.ok(); ++k) {
        Lane l;
        l.platform = r.Str();
        l.progress = r.Time();
        if (!ReadRing(r, kRecentWindow, l.recent_size, l.recent_next)) break;
        const uint32_t newer = r.U32();
        if (r.ok() && newer > static_cast<uint32_t>(l.recent_size)) {
          r.Fail("malformed watermark source");
        }
        l.newer = static_cast<int>(newer);
        for (int j = 0; j < l.recent_size; ++j) l.recent[j] = r.Time();
        if (!NewerCountHolds(r, l)) break;
        s.lanes.push_back(std::move(l));
      }
      if (!r.ok() || !ReadRing(r, kRecentWindow, s.share_size, s.share_next)) {
        break;
      }
      for (int k = 0; k < s.share_size && r.ok(); ++k) {
        const uint32_t lane = r.U32();
        if (r.ok() && lane >= s.lanes.size()) {
          r.Fail("malformed watermark source");
        }
        if (!r.ok()) break;
        s.share_ring[k] = static_cast<uint8_t>(lane);
        ++s.share[lane];
      }
      const size_t run = r.Count(1);
      for (size_t k = 0; k < run && r.ok(); ++k) {
        const absl::Time t = r.Time();
        const uint32_t lane = r.U32();
        if (r.ok() && lane >= s.lanes.size()) {
          r.Fail("malformed watermark source");
        }
        if (!r.ok()) break;
        s.run.emplace_back(t, static_cast<uint8_t>(lane));
      }
    }
    if (!r.ok()) break;
    if (!index_.try_emplace(std::move(key), static_cast<int>(sources_.size()))
             .second) {
      r.Fail("watermark source appears twice");
      break;
    }
    sources_.push_back(std::move(s));
  }
}

void WatermarkTracker::RetainSources(
    const std::function<bool(std::string_view, int32_t)>& keep) {
  std::vector<std::pair<Key, int>> keys(index_.begin(), index_.end());
  std::sort(keys.begin(), keys.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  std::vector<Source> kept;
  index_.clear();
  for (auto& [key, i] : keys) {
    if (!keep(key.name, key.partition)) continue;
    index_.emplace(key, static_cast<int>(kept.size()));
    kept.push_back(std::move(sources_[i]));
  }
  sources_ = std::move(kept);
  last_name_data_ = nullptr;
  last_name_size_ = 0;
  last_partition_ = -2;
  last_index_ = -1;
}

void WatermarkTracker::Absorb(const WatermarkTracker& other, bool first) {
  std::vector<std::pair<Key, int>> keys(other.index_.begin(),
                                        other.index_.end());
  std::sort(keys.begin(), keys.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  for (const auto& [key, i] : keys) {
    if (index_.try_emplace(key, static_cast<int>(sources_.size())).second) {
      sources_.push_back(other.sources_[i]);
    }
  }
  if (first) {
    watermark_ = other.watermark_;
    feed_watermark_ = other.feed_watermark_;
    feed_start_ = other.feed_start_;
    max_event_time_ = other.max_event_time_;
    progress_ = other.progress_;
    active_sources_ = other.active_sources_;
    return;
  }
  watermark_ = std::min(watermark_, other.watermark_);
  for (int f = 0; f < kNumFeeds; ++f) {
    feed_watermark_[f] = std::min(feed_watermark_[f], other.feed_watermark_[f]);
    feed_start_[f] = std::min(feed_start_[f], other.feed_start_[f]);
  }
  max_event_time_ = std::max(max_event_time_, other.max_event_time_);
  progress_ = std::max(progress_, other.progress_);
  active_sources_ += other.active_sources_;
}

}  // namespace vigia
