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

bool WatermarkTracker::ConfirmsGap(const SourceRef& source, absl::Time t) {
  Source& s = sources_[IndexOf(source)];
  // A run is records that agree on where the feed went; one that does not
  // starts a run of its own (bad clocks rarely agree with each other).
  if (!s.run.empty() &&
      absl::AbsDuration(t - s.run.front()) > options_.max_lead) {
    s.run.clear();
  }
  s.run.push_back(t);
  if (static_cast<int>(s.run.size()) < options_.gap_quorum) return false;
  // The feed jumped: its recent times are the run's, and progress follows
  // (it only moves forward, and every time in the run is ahead of it).
  std::vector<absl::Time> run = std::move(s.run);
  s.run.clear();
  s.recent_size = 0;
  s.recent_next = 0;
  s.newer = 0;
  run.pop_back();  // the caller observes `t` itself
  for (absl::Time r : run) AddRecent(s, r);
  return true;
}

void WatermarkTracker::AddRecent(Source& s, absl::Time t) {
  if (s.recent_size == kRecentWindow) {
    if (s.recent[s.recent_next] > s.progress) --s.newer;
  } else {
    ++s.recent_size;
  }
  s.recent[s.recent_next] = t;
  s.recent_next = (s.recent_next + 1) % kRecentWindow;
  if (t > s.progress) ++s.newer;
  if (s.newer < options_.quorum) return;
  // `quorum` recent times are past progress: it moves to the quorum-th
  // newest of them. A handful of entries on an honest feed, so cheap.
  std::array<absl::Time, kRecentWindow> past;
  int n = 0;
  for (int i = 0; i < s.recent_size; ++i) {
    if (s.recent[i] > s.progress) past[n++] = s.recent[i];
  }
  const int k = options_.quorum - 1;
  std::nth_element(past.begin(), past.begin() + k, past.begin() + n,
                   std::greater<absl::Time>());
  s.progress = past[k];
  s.newer = 0;
  for (int i = 0; i < n; ++i) {
    if (past[i] > s.progress) ++s.newer;
  }
  progress_ = std::max(progress_, s.progress);
}

void WatermarkTracker::Observe(const SourceRef& source, absl::Time t,
                               absl::Time now, std::optional<FeedKind> feed) {
  const int index = IndexOf(source);
  Source& s = sources_[index];
  if (t != absl::InfinitePast()) {
    s.run.clear();
    AddRecent(s, t);
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
    if (s.delivered && s.recent_size == 0) continue;
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
    w.U32(static_cast<uint32_t>(s.recent_size));
    w.U32(static_cast<uint32_t>(s.recent_next));
    w.U32(static_cast<uint32_t>(s.newer));
    for (int i = 0; i < s.recent_size; ++i) w.Time(s.recent[i]);
    w.U64(s.run.size());
    for (absl::Time t : s.run) w.Time(t);
  }
}

void WatermarkTracker::Restore(SnapshotReader& r) {
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
    const uint32_t size = r.U32();
    const uint32_t next = r.U32();
    const uint32_t newer = r.U32();
    if (r.ok() && (feeds > kAllFeeds || size > kRecentWindow ||
                   next >= kRecentWindow || newer > size)) {
      r.Fail("malformed watermark source");
    }
    if (!r.ok()) break;
    s.feeds = static_cast<FeedSet>(feeds);
    s.recent_size = static_cast<int>(size);
    s.recent_next = static_cast<int>(next);
    s.newer = static_cast<int>(newer);
    for (uint32_t k = 0; k < size; ++k) s.recent[k] = r.Time();
    const size_t run = r.Count(1);
    for (size_t k = 0; k < run && r.ok(); ++k) s.run.push_back(r.Time());
    if (!r.ok()) break;
    if (!index_.try_emplace(std::move(key), static_cast<int>(sources_.size()))
             .second) {
      r.Fail("watermark source appears twice");
      break;
    }
    sources_.push_back(std::move(s));
  }
}

}  // namespace vigia
