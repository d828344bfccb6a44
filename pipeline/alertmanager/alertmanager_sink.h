// An AlertSink that pushes alerts to Prometheus Alertmanager (API v2,
// POST /api/v2/alerts) over HTTP with libcurl. docs/alertmanager.md is the
// operator's view: labels, annotations, the resend/resolve contract, HA
// pairs and drills.
//
// Write() only queues: one background thread per Alertmanager URL batches
// the queue and posts it, retrying with exponential backoff, so a slow or
// dead Alertmanager never stalls the pipeline. Firing alerts are re-sent
// every `resend_interval` with endsAt = now + `ttl`, so they stay active
// while vigia runs and expire on their own if it dies; a resolved record
// is sent with endsAt = the time it was written. A resolve that comes
// sooner than `min_hold` after the alert fired is held back until startsAt +
// min_hold (and then sent with that endsAt), so an alert that fired and
// resolved within seconds (a catch-up after an outage, a drill at full
// speed) is active long enough for Alertmanager to notify. It is held, not
// sent early with a future endsAt: Alertmanager never lets an update that
// is not yet resolved shorten an alert's endsAt. Every alert goes to every
// URL; each URL has its own queue, retries and counters.
//
// startsAt and endsAt are processing time from the injected Clock, never
// event time: Alertmanager compares them with its own wall clock, and in a
// drill over an old archive event times lie in the past. The event-time
// window is in the annotations.
//
// Thread-safety: Write(), Flush() and stats() may be called from any
// thread. The sink owns its threads; the clock must outlive the sink.
#ifndef VIGIA_PIPELINE_ALERTMANAGER_ALERTMANAGER_SINK_H_
#define VIGIA_PIPELINE_ALERTMANAGER_ALERTMANAGER_SINK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/time.h"
#include "pipeline/sinks.h"

namespace vigia {

struct AlertmanagerOptions {
  // Base URLs of the Alertmanagers, e.g. "http://alertmanager-0:9093". Every
  // alert is posted to every URL: members of an HA cluster gossip about
  // notifications, not about alerts, so each must hear from the client.
  std::vector<std::string> urls;
  // How often firing alerts are posted again.
  absl::Duration resend_interval = absl::Minutes(1);
  // A firing alert is posted with endsAt = now + ttl, so it expires this
  // long after the last resend if vigia stops. Zero means 4 *
  // resend_interval. Must be at least resend_interval.
  absl::Duration ttl = absl::ZeroDuration();
  // A resolved alert stays active in Alertmanager until at least startsAt +
  // min_hold: a sooner resolve is held back until then. Longer than the
  // routes' group_wait, so that even the shortest alert is notified rather
  // than arriving already over; at most the ttl. Zero sends every resolve
  // at once. Held resolves still waiting when the sink is destroyed are not
  // sent: those alerts end when their ttl runs out.
  absl::Duration min_hold = absl::Minutes(2);
  // Limit for one HTTP request, connection included.
  absl::Duration timeout = absl::Seconds(10);
  // Attempts per batch before a URL is parked: its alerts stay queued and
  // are tried again at the next resend or the next Write().
  int max_attempts = 5;
  // Backoff between attempts: backoff_initial, doubled after each failure,
  // at most backoff_max.
  absl::Duration backoff_initial = absl::Milliseconds(500);
  absl::Duration backoff_max = absl::Seconds(30);
  // Alerts waiting per URL; beyond it the oldest is dropped (and counted).
  // Also bounds the number of firing alerts kept for resending.
  size_t max_queue = 10000;
  // Alerts per POST.
  size_t max_batch = 64;
  // How long Flush() waits for the queues to drain.
  absl::Duration flush_timeout = absl::Seconds(30);
  // Labels every alert drill="true", so routes keep it away from pagers.
  bool drill = false;
  // When set, alerts carry runbook_url = runbook_base_url + "#" + detector.
  std::string runbook_base_url;
  // Where the full JSON records go (e.g. "kafka topic vigia.alerts" or a
  // file path); quoted in the annotations. Empty: not mentioned.
  std::string record_ref;
  // Sent as generatorURL when set (e.g. a dashboard of this instance).
  std::string generator_url;
  // Credentials sent with every request: HTTP basic authentication when
  // `username` is set, else `Authorization: Bearer <bearer_token>` when that
  // is set. Never logged.
  std::string username;
  std::string password;
  std::string bearer_token;
  // PEM file of the CAs an https:// Alertmanager's certificate must chain
  // to; empty: the system's.
  std::string ca_file;
};

// Returns InvalidArgument naming the first bad option, else OK.
absl::Status ValidateAlertmanagerOptions(const AlertmanagerOptions& options);

// Counters of one Alertmanager URL. Updated by the sink, readable from any
// thread (relaxed atomics: each value is exact, a set of them is not a
// consistent snapshot).
struct AlertmanagerUrlStats {
  std::string url;  // credentials removed; fixed at construction
  std::atomic<int64_t> attempts{0};     // POSTs tried
  std::atomic<int64_t> failures{0};     // POSTs that failed or were refused
  std::atomic<int64_t> alerts_sent{0};  // alerts in POSTs answered 2xx
  std::atomic<int64_t> dropped{0};      // alerts dropped: queue full, or 4xx
  std::atomic<int64_t> queue_depth{0};  // alerts waiting for this URL
};

struct AlertmanagerStats {
  std::atomic<int64_t> alerts_written{0};  // Write() calls accepted
  std::atomic<int64_t> resends{0};         // firing alerts queued again
  std::atomic<int64_t> firing{0};          // firing alerts being re-sent
  std::atomic<int64_t> held{0};  // resolves waiting for their min_hold
  // Firing alerts not kept for resending because max_queue were firing.
  std::atomic<int64_t> untracked{0};
  std::vector<AlertmanagerUrlStats> urls;  // in the order of options.urls

  explicit AlertmanagerStats(size_t n) : urls(n) {}
};

class AlertmanagerSink final : public AlertSink {
 public:
  // Validates `options` and starts one sender thread per URL. `clock` gives
  // startsAt, endsAt and the resend schedule; it must outlive the sink.
  static absl::StatusOr<std::unique_ptr<AlertmanagerSink>> Create(
      AlertmanagerOptions options, const Clock* clock);

  AlertmanagerSink(const AlertmanagerSink&) = delete;
  AlertmanagerSink& operator=(const AlertmanagerSink&) = delete;
  // Stops the threads, aborting any request in flight; what is still
  // queued is lost (call Flush() first).
  ~AlertmanagerSink() override;

  // Queues `alert` for every URL and returns at once. Never fails because
  // of Alertmanager: the JSON record elsewhere is the durable one, and a
  // full queue drops its oldest alert instead. A resolved record takes the
  // labels of the firing one it ends (same id), so the two always match.
  absl::Status Write(const Alert& alert) override;

  // Starts any resend that is due, then waits (at most flush_timeout) until
  // each URL has delivered its queue or used up its attempts. Returns OK
  // when every queued alert was accepted by at least one Alertmanager;
  // Unavailable when some alert was accepted by none (the error names the
  // URLs and their last errors); DeadlineExceeded on timeout; Internal
  // when an Alertmanager refused a batch (4xx) since the last Flush().
  absl::Status Flush() override;

  const AlertmanagerStats& stats() const { return stats_; }

 private:
  struct Posting;
  struct Target;

  AlertmanagerSink(AlertmanagerOptions options, const Clock* clock);
  void Run(Target* target);
  // Queues every firing alert again when the resend time has come, and
  // every held resolve whose hold is over.
  void MaybeResendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // When a sender must wake next without being told: the next resend or
  // the end of the earliest hold.
  absl::Time NextWakeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueLocked(Target* target, const std::shared_ptr<Posting>& posting)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives a parked URL a new round of attempts (new alert, or a resend).
  void UnparkLocked(Target* target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool SettledLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string EncodeBatchLocked(
      const std::vector<std::shared_ptr<Posting>>& batch) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const AlertmanagerOptions options_;
  const absl::Duration ttl_;
  const Clock* const clock_;
  AlertmanagerStats stats_;

  // Guards the state below and every Target's queue and retry state (the
  // Target fields are annotated in the .cc by comment: a nested struct
  // cannot name its owner's mutex).
  mutable absl::Mutex mu_;
  absl::CondVar wake_;     // senders: work or stop
  absl::CondVar settled_;  // Flush(): a queue changed
  std::atomic<bool> stopping_{false};
  absl::Time next_resend_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Alerts refused since Flush(), and the last refusal.
  int64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_refusal_ ABSL_GUARDED_BY(mu_);
  // Firing alerts by vigia id, for resends and to give a resolve the
  // labels and startsAt of its firing.
  absl::flat_hash_map<std::string, std::shared_ptr<Posting>> firing_
      ABSL_GUARDED_BY(mu_);
  // Resolves held back until their endsAt (startsAt + min_hold), by vigia
  // id.
  absl::flat_hash_map<std::string, std::shared_ptr<Posting>> held_
      ABSL_GUARDED_BY(mu_);
  // One per URL, fixed after construction (the vector; not the Targets).
  std::vector<std::unique_ptr<Target>> targets_;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_ALERTMANAGER_ALERTMANAGER_SINK_H_
