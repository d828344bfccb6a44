#include "pipeline/watermark.h"

#include <algorithm>

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

void WatermarkTracker::Observe(const SourceRef& source, absl::Time t,
                               absl::Time now, std::optional<FeedKind> feed) {
  const int index = IndexOf(source);
  Source& s = sources_[index];
  s.max_event_time = std::max(s.max_event_time, t);
  s.last_seen = now;
  s.delivered = s.delivered || t != absl::InfinitePast();
  max_event_time_ = std::max(max_event_time_, t);
  if (feed.has_value()) s.feeds |= FeedBit(*feed);
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
    if (s.delivered && s.max_event_time == absl::InfinitePast()) continue;
    if (now - s.last_seen >= options_.idle_timeout) continue;
    ++active;
    low = std::min(low, s.max_event_time);
    for (int f = 0; f < kNumFeeds; ++f) {
      if (s.feeds == 0 || (s.feeds & FeedBit(static_cast<FeedKind>(f)))) {
        feed_low[f] = std::min(feed_low[f], s.max_event_time);
      }
    }
  }
  active_sources_ = active;
  // With every source idle nothing is in flight: event time is complete up
  // to the newest event seen anywhere, less the disorder bound.
  if (active == 0) low = max_event_time_;
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

}  // namespace vigia
