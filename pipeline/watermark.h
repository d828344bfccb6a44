// Event-time progress across several sources (files, Kafka partitions).
//
// Each source's watermark trails the newest event time it has produced by
// the bounded out-of-orderness; the watermark is the minimum over active
// sources, so a slow partition holds it back. A source that has been silent
// for the idle timeout (on the injected processing-time clock) stops
// counting, so one idle feed cannot stall every window forever. The
// watermark never moves backwards.
//
// Each feed (posts, ads) also has a watermark over the sources that carry
// it; a detector is evaluated on the watermark of the feed it reads, so
// sparse ads partitions (an ad every few minutes is common) do not hold the
// posts detectors' windows open until they idle out. A source carrying both
// feeds (an archive file) holds both. Used on the pipeline thread only.
//
// One record cannot hijack event time. A source's progress is not the
// newest event time it produced but the quorum-th newest of its recent ones
// (WatermarkOptions::quorum of the last kRecentWindow), so a few records with
// clocks far ahead among an honest majority never move the watermark; until
// a source has delivered `quorum` timed records it holds its feeds back as a
// declared source does. Nor can one platform's clocks: progress is kept per
// platform on the source (a lane each, at most kMaxLanes), and the source's
// is the weighted median of its lanes' by their share of its recent records,
// so a platform that runs a few minutes fast moves it only when it carries
// most of the source's traffic. And LeadBound() says how far ahead a record may
// be at all: the pipeline dead-letters one beyond it as `future`. Without a
// clock a source's first records have nothing to be measured against, so
// the pipeline holds them until a majority can speak and Presume()s the
// source's progress from their median (Pipeline::Process).
//
// A source that can tell when it has nothing more to read (a Kafka
// partition at its log end) says so with SetAtEnd(). Such a source is never
// idle by the timeout: while it has records to read it holds its feeds back
// however long they take to come (a slow first fetch or a loaded machine
// must not decide what is late), and once at its end it stops holding them
// after WatermarkOptions::end_grace of processing time (10 s by default,
// not the 60 s idle timeout): a margin for a leader outage not yet known
// and for records its producers have written but the brokers not yet
// appended. Which sources count then depends on
// whether they have records, not on how fast a machine reads them.
#ifndef VIGIA_PIPELINE_WATERMARK_H_
#define VIGIA_PIPELINE_WATERMARK_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "pipeline/config.h"
#include "pipeline/core/types.h"

namespace vigia {

class SnapshotWriter;
class SnapshotReader;

class WatermarkTracker {
 public:
  // How many of a source's latest accepted event times its progress is
  // taken from: up to quorum - 1 of any kRecentWindow consecutive records
  // may carry clocks ahead without effect.
  static constexpr int kRecentWindow = 64;
  // Platforms tracked apart per source; the last lane is shared by every
  // platform beyond the first kMaxLanes - 1 (a feed naming thousands of
  // platforms cannot grow the tracker).
  static constexpr int kMaxLanes = 8;

  explicit WatermarkTracker(const WatermarkOptions& options);

  // Returns true if an event of `feed` at `t` is late: older than that
  // feed's watermark by more than the allowed lateness.
  bool IsLate(absl::Time t, FeedKind feed) const {
    return t < feed_watermark(feed) - options_.allowed_lateness;
  }

  // Returns the newest event time a record from `source` may carry without
  // being `future`: `clock_now` + max_clock_lead when processing time comes
  // from a clock (the daemon), else the source's progress + max_lead.
  // InfiniteFuture while there is nothing to measure against (without a
  // clock, before the source's first `quorum` records, unless Presume()d).
  absl::Time LeadBound(const SourceRef& source,
                       std::optional<absl::Time> clock_now);

  // Gives `source` a provisional progress `t` that LeadBound() measures its
  // records against until their own quorum sets its progress. It moves no
  // watermark: only accepted records do. InfinitePast() presumes nothing
  // (there was no event time to go by) but still marks the source.
  void Presume(const SourceRef& source, absl::Time t);
  // The oldest event time a record from `source` may carry while its
  // progress is only presumed: the presumed time less max_lead. A record
  // older than that at the start would set the source's first progress (the
  // oldest of its first `quorum`) decades back and make the honest records
  // after it `future`. InfinitePast() otherwise.
  absl::Time TrailBound(const SourceRef& source) {
    const Source& s = sources_[IndexOf(source)];
    if (s.progress != absl::InfinitePast() ||
        s.presumed == absl::InfinitePast()) {
      return absl::InfinitePast();
    }
    return s.presumed - options_.max_lead;
  }
  // True once Presume() was called for `source`.
  bool Presumed(const SourceRef& source) {
    return sources_[IndexOf(source)].presumed_set;
  }

  // Notes an event of `source` at `t` beyond LeadBound() without a clock.
  // Returns true when it completes a run of gap_quorum consecutive such
  // records of the source that agree with one another (each within
  // max_lead of the run's first): a gap in the feed, not a bad clock. The
  // source's recent times are then the run's, its progress moves to them,
  // and the caller accepts the record (Observe). Returns false otherwise:
  // the record is `future`. An accepted record (Observe) ends a run.
  bool ConfirmsGap(const SourceRef& source, absl::Time t,
                   std::string_view platform = {});

  // Records an event at `t` from `source` at processing time `now`. `feed`
  // adds a feed the source carries (known from its first event of that feed
  // on, or declared with the source); a source that has said no feed holds
  // every feed back. A source declared before its first event passes
  // absl::InfinitePast() as `t`. `platform` is the record's platform (its
  // lane; empty when the caller has none).
  void Observe(const SourceRef& source, absl::Time t, absl::Time now,
               std::optional<FeedKind> feed = std::nullopt,
               std::string_view platform = {});

  // Records a record from `source` that carried no usable event time (it
  // was rejected). A source declared ahead of its first record holds the
  // watermark back until it delivers; one that has delivered only such
  // records says nothing about event time and no longer holds it, however
  // busy it is (a partition that receives only malformed records would
  // otherwise freeze every window).
  void ObserveUntimed(const SourceRef& source, absl::Time now);

  // Says at processing time `now` whether `source` is at the end of what it
  // can read. The first call makes the source end-aware: the idle timeout
  // no longer applies to it. At its end it keeps holding its feeds for
  // end_grace from the call that found it there, then stops; an accepted
  // record (Observe) ends that: it had something to read after all.
  void SetAtEnd(const SourceRef& source, bool at_end, absl::Time now);
  // True while `source` is end-aware and at its end.
  bool AtEnd(const SourceRef& source) {
    return sources_[IndexOf(source)].at_end;
  }
  // True once `source` has been at its end for end_grace at `now`: it no
  // longer holds its feeds back.
  bool Ended(const SourceRef& source, absl::Time now) {
    const Source& s = sources_[IndexOf(source)];
    return s.end_aware && s.at_end && now - s.end_since >= options_.end_grace;
  }
  // A source at its end holds its feeds back for another end_grace from
  // `now`, as if it had just got there (records may be on their way to it).
  void RestartEndGrace(const SourceRef& source, absl::Time now) {
    Source& s = sources_[IndexOf(source)];
    if (s.at_end) s.end_since = now;
  }
  // The source's progress (see the class comment); InfinitePast() until it
  // has delivered `quorum` timed records.
  absl::Time SourceProgress(const SourceRef& source) {
    return sources_[IndexOf(source)].progress;
  }
  // Where event time of `feed` started: the earliest first progress of any
  // source carrying it (InfinitePast() before one). What a source's lead is
  // measured from while the feed's watermark is still unset.
  absl::Time feed_start(FeedKind feed) const {
    const absl::Time t = feed_start_[static_cast<int>(feed)];
    return t == absl::InfiniteFuture() ? absl::InfinitePast() : t;
  }

  // Recomputes the watermark at processing time `now` and returns it.
  // Returns absl::InfinitePast() until the first event.
  absl::Time Advance(absl::Time now);

  // End of input: every source is complete, so the watermark moves to the
  // newest event time seen. Returns it.
  absl::Time Finish();

  absl::Time watermark() const { return watermark_; }
  // The same rule over the active sources that carry `feed` (or have said
  // no feed), as of the last Advance() or Finish(); never behind
  // watermark(). With no such source active, nothing of the feed is in
  // flight and it follows watermark(). What the feed's detectors are
  // evaluated on. InfinitePast() until then.
  absl::Time feed_watermark(FeedKind feed) const {
    return feed_watermark_[static_cast<int>(feed)];
  }
  // Newest event time accepted from any source.
  absl::Time max_event_time() const { return max_event_time_; }
  // The furthest progress of any source (see the class comment); what
  // processing time follows without a clock. InfinitePast() until a source
  // has delivered `quorum` records.
  absl::Time progress() const { return progress_; }
  int active_sources() const { return active_sources_; }
  int sources() const { return static_cast<int>(sources_.size()); }

  // Snapshots (operators/snapshot.h): every source (name, partition,
  // progress, lanes and their recent times, feeds, pending gap run) and the
  // watermarks, so a restored tracker goes on exactly where this one is.
  // Restore() expects a fresh tracker with the same options; it reads
  // format `version` (kStateVersion, or 1: before lanes, when a source's
  // recent times become one lane with no platform).
  static constexpr uint32_t kStateVersion = 2;
  void Save(SnapshotWriter& w) const;
  void Restore(SnapshotReader& r, uint32_t version = kStateVersion);

  // State that follows partitions (docs/state.md): a tracker restored from
  // one instance's snapshot keeps only the sources (Kafka partitions) this
  // instance now holds, and takes in those restored from another's.
  // RetainSources() keeps the sources `keep(name, partition)` accepts; the
  // watermarks stay (the others only held them back). Absorb() adds
  // `other`'s sources (none may be this one's): with `first`, this fresh
  // tracker takes `other`'s watermarks too; otherwise each watermark becomes
  // the earlier of the two (never later than either part had judged
  // complete) and the newest event time and progress the later.
  void RetainSources(
      const std::function<bool(std::string_view, int32_t)>& keep);
  void Absorb(const WatermarkTracker& other, bool first);

 private:
  // The source's slot, created on first sight.
  int IndexOf(const SourceRef& source);

  // One platform's records on a source.
  struct Lane {
    std::string platform;
    // The quorum-th newest of `recent` at its largest so far; never moves
    // back. InfinitePast() until `quorum` timed records.
    absl::Time progress = absl::InfinitePast();
    // The latest accepted event times: a ring of recent_size entries whose
    // next slot is recent_next; `newer` of them are after `progress`.
    std::array<absl::Time, kRecentWindow> recent;
    int recent_size = 0;
    int recent_next = 0;
    int newer = 0;
  };

  struct Source {
    // The weighted median of the lanes' progress (see the class comment)
    // at its largest so far; never moves back. InfinitePast() until some
    // lane has `quorum` timed records.
    absl::Time progress = absl::InfinitePast();
    // Presume(): what LeadBound() uses while `progress` is InfinitePast().
    absl::Time presumed = absl::InfinitePast();
    bool presumed_set = false;
    absl::Time last_seen = absl::InfinitePast();
    // SetAtEnd(): never idle by the timeout; idle once at_end for
    // end_grace since end_since.
    bool end_aware = false;
    bool at_end = false;
    absl::Time end_since = absl::InfinitePast();
    FeedSet feeds = 0;       // the feeds it has carried or was declared with
    bool delivered = false;  // some record, timed or not, came from it
    std::vector<Lane> lanes;
    // The lanes of the source's latest accepted records (a ring like a
    // lane's `recent`), and how many of them each lane has: its share.
    std::array<uint8_t, kRecentWindow> share_ring{};
    std::array<uint8_t, kMaxLanes> share{};
    int share_size = 0;
    int share_next = 0;
    // The current run of records beyond the lead bound (no clock), with
    // their lanes.
    std::vector<std::pair<absl::Time, uint8_t>> run;
  };

  // The lane of `platform` on `s`, created on first sight (reusing one that
  // has no recent records once kMaxLanes are taken).
  static int LaneOf(Source& s, std::string_view platform);
  // Adds an accepted event time to the lane's recent ones, moves the lane's
  // progress when `quorum` of them are past it, and the source's with it.
  void AddRecent(Source& s, int lane, absl::Time t);
  // False (and `r` failed) unless `newer` counts the lane's recent times
  // after its progress.
  static bool NewerCountHolds(SnapshotReader& r, const Lane& l);
  // Moves the source's progress to its lanes' weighted median if later.
  void UpdateProgress(Source& s);
  struct Key {
    std::string name;
    int32_t partition;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.name, k.partition);
    }
    friend bool operator==(const Key& a, const Key& b) = default;
  };

  WatermarkOptions options_;
  absl::flat_hash_map<Key, int> index_;
  std::vector<Source> sources_;
  // The last source looked up, to skip hashing for runs from one source.
  const void* last_name_data_ = nullptr;
  size_t last_name_size_ = 0;
  int32_t last_partition_ = -2;
  int last_index_ = -1;
  absl::Time watermark_ = absl::InfinitePast();
  absl::Time max_event_time_ = absl::InfinitePast();
  absl::Time progress_ = absl::InfinitePast();
  std::array<absl::Time, kNumFeeds> feed_watermark_{absl::InfinitePast(),
                                                    absl::InfinitePast()};
  std::array<absl::Time, kNumFeeds> feed_start_{absl::InfiniteFuture(),
                                                absl::InfiniteFuture()};
  int active_sources_ = 0;
  // AddRecent()'s scratch: a local array of 64 times was zeroed on every
  // record that moved a lane's progress, 1% of replay's instructions.
  std::array<absl::Time, kRecentWindow> past_;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_WATERMARK_H_
