#include "pipeline/alertmanager/alertmanager_sink.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <list>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pipeline/alertmanager/postable_alert.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/log.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Error bodies are quoted in logs and statuses; a short prefix is enough.
constexpr size_t kMaxResponseBytes = 2048;

std::chrono::milliseconds ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// Returns `url` without user and password, for logs and metrics labels.
std::string RedactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t path = url.find('/', host);
  const size_t at =
      url.rfind('@', path == std::string::npos ? url.size() : path);
  if (at == std::string::npos || at < host) return url;
  return absl::StrCat(url.substr(0, host), "***", url.substr(at));
}

struct PostResult {
  enum Kind { kAccepted, kRetry, kRefused };
  Kind kind = kRetry;
  std::string error;  // empty when accepted
};

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  const size_t len = size * n;
  if (body->size() < kMaxResponseBytes) {
    body->append(data, std::min(len, kMaxResponseBytes - body->size()));
  }
  return len;
}

// Lets the destructor abort a request instead of waiting out its timeout.
int AbortWhenStopping(void* stopping, curl_off_t, curl_off_t, curl_off_t,
                      curl_off_t) {
  return static_cast<const std::atomic<bool>*>(stopping)->load() ? 1 : 0;
}

// One POST of `body` to `url` with an easy handle kept per sender thread,
// so the connection to its Alertmanager is reused between batches.
PostResult Post(CURL* curl, const std::string& url, const std::string& body,
                const AlertmanagerOptions& options,
                const std::atomic<bool>* stopping) {
  const absl::Duration timeout = options.timeout;
  curl_easy_reset(curl);
  std::string response;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  if (options.username.empty() && !options.bearer_token.empty()) {
    headers = curl_slist_append(
        headers,
        absl::StrCat("Authorization: Bearer ", options.bearer_token).c_str());
  }
  if (!options.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, options.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options.password.c_str());
  }
  if (!options.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  // Large batches would otherwise wait for "100 Continue" first.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "vigia-alertmanager-sink");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  // Signals and multi-threaded programs do not mix (name resolution).
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &AbortWhenStopping);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, stopping);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);

  PostResult result;
  if (rc != CURLE_OK) {
    result.kind = PostResult::kRetry;
    result.error = error[0] != '\0' ? std::string(error)
                                    : std::string(curl_easy_strerror(rc));
    return result;
  }
  if (status >= 200 && status < 300) {
    result.kind = PostResult::kAccepted;
    return result;
  }
  // A 4xx answer means the payload itself is wrong: sending it again would
  // be refused again. Timeouts and rate limits are worth another try.
  result.kind = status >= 400 && status < 500 && status != 408 && status != 429
                    ? PostResult::kRefused
                    : PostResult::kRetry;
  result.error = absl::StrCat("HTTP ", status, ": ", response);
  return result;
}

// Durations are turned into std::chrono waits: they must be finite.
bool Positive(absl::Duration d) {
  return d > absl::ZeroDuration() && d != absl::InfiniteDuration();
}

absl::Duration Backoff(const AlertmanagerOptions& o, int failures_in_row) {
  absl::Duration d = o.backoff_initial;
  for (int i = 1; i < failures_in_row && d < o.backoff_max; ++i) d *= 2;
  return std::min(d, o.backoff_max);
}

}  // namespace

// One alert as it will be posted; immutable once queued except `accepted`.
struct AlertmanagerSink::Posting {
  std::string id;
  bool resolved = false;
  std::string labels_json;
  std::string annotations_json;
  absl::Time starts_at;
  absl::Time ends_at;  // resolved only; a firing one gets now + ttl
  bool accepted =
      false;  // guarded by the sink's mu_: some Alertmanager took it
};

// One Alertmanager URL: its queue and retry state (guarded by mu_), and the
// thread that posts to it.
struct AlertmanagerSink::Target {
  struct Item {
    std::shared_ptr<Posting> posting;
    uint64_t seq;  // changes when the posting for this id is replaced
  };
  std::string post_url;
  std::string display_url;
  AlertmanagerUrlStats* stats = nullptr;
  // Oldest first; at most one item per alert id.
  std::list<Item> queue;
  absl::flat_hash_map<std::string, std::list<Item>::iterator> index;
  int failures_in_row = 0;
  bool parked = false;
  SteadyClock::time_point next_attempt;
  std::string last_error;
  std::thread thread;
};

absl::Status ValidateAlertmanagerOptions(const AlertmanagerOptions& o) {
  if (o.urls.empty()) {
    return absl::InvalidArgumentError("alertmanager: no urls");
  }
  for (const std::string& url : o.urls) {
    if (!absl::StartsWithIgnoreCase(url, "http://") &&
        !absl::StartsWithIgnoreCase(url, "https://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("alertmanager: url \"", RedactUrl(url),
                       "\" must start with http:// or https://"));
    }
  }
  if (!Positive(o.resend_interval)) {
    return absl::InvalidArgumentError(
        "alertmanager: resend_interval must be positive and finite");
  }
  if (o.ttl != absl::ZeroDuration() &&
      (o.ttl < o.resend_interval || !Positive(o.ttl))) {
    return absl::InvalidArgumentError(
        "alertmanager: ttl must be at least resend_interval and finite (or 0 "
        "for 4 resend intervals)");
  }
  if (!Positive(o.timeout)) {
    return absl::InvalidArgumentError(
        "alertmanager: timeout must be positive and finite");
  }
  if (o.min_hold < absl::ZeroDuration() ||
      o.min_hold == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "alertmanager: min_hold must be non-negative and finite");
  }
  const absl::Duration ttl =
      o.ttl == absl::ZeroDuration() ? 4 * o.resend_interval : o.ttl;
  if (o.min_hold > ttl) {
    // A held alert is not re-sent: its last firing post must outlive it.
    return absl::InvalidArgumentError(
        "alertmanager: min_hold must not exceed ttl (4 resend intervals when "
        "ttl is 0)");
  }
  if (o.max_attempts < 1) {
    return absl::InvalidArgumentError(
        "alertmanager: max_attempts must be at least 1");
  }
  if (!Positive(o.backoff_initial) || !Positive(o.backoff_max) ||
      o.backoff_max < o.backoff_initial) {
    return absl::InvalidArgumentError(
        "alertmanager: need 0 < backoff_initial <= backoff_max < inf");
  }
  if (o.max_queue < 1 || o.max_batch < 1) {
    return absl::InvalidArgumentError(
        "alertmanager: max_queue and max_batch must be at least 1");
  }
  if (!Positive(o.flush_timeout)) {
    return absl::InvalidArgumentError(
        "alertmanager: flush_timeout must be positive and finite");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AlertmanagerSink>> AlertmanagerSink::Create(
    AlertmanagerOptions options, const Clock* clock) {
  if (clock == nullptr) {
    return absl::InvalidArgumentError("alertmanager: no clock");
  }
  absl::Status valid = ValidateAlertmanagerOptions(options);
  if (!valid.ok()) return valid;
  // curl_global_init is not safe to race with other curl calls; once per
  // process is what libcurl asks for.
  static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global_init != CURLE_OK) {
    return absl::InternalError(absl::StrCat("alertmanager: curl init: ",
                                            curl_easy_strerror(global_init)));
  }
  std::unique_ptr<AlertmanagerSink> sink(
      new AlertmanagerSink(std::move(options), clock));
  for (const std::unique_ptr<Target>& t : sink->targets_) {
    Target* target = t.get();
    target->thread = std::thread([s = sink.get(), target] { s->Run(target); });
  }
  return sink;
}

AlertmanagerSink::AlertmanagerSink(AlertmanagerOptions options,
                                   const Clock* clock)
    : options_(std::move(options)),
      ttl_(options_.ttl == absl::ZeroDuration() ? 4 * options_.resend_interval
                                                : options_.ttl),
      clock_(clock),
      stats_(options_.urls.size()),
      next_resend_(clock->Now() + options_.resend_interval) {
  for (size_t i = 0; i < options_.urls.size(); ++i) {
    auto t = std::make_unique<Target>();
    std::string base = options_.urls[i];
    while (!base.empty() && base.back() == '/') base.pop_back();
    t->post_url = base + "/api/v2/alerts";
    t->display_url = RedactUrl(base);
    t->stats = &stats_.urls[i];
    t->stats->url = t->display_url;
    targets_.push_back(std::move(t));
  }
}

AlertmanagerSink::~AlertmanagerSink() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.SignalAll();
  settled_.SignalAll();
  for (const std::unique_ptr<Target>& t : targets_) {
    if (t->thread.joinable()) t->thread.join();
  }
}

absl::Status AlertmanagerSink::Write(const Alert& alert) {
  if (stopping_) {
    return absl::FailedPreconditionError("alertmanager: sink is stopping");
  }
  // Formatting happens outside the lock; only queueing is serialized.
  auto posting = std::make_shared<Posting>();
  posting->id = alert.id;
  posting->resolved = alert.state == AlertState::kResolved;
  posting->labels_json =
      StringPairsToJson(AlertmanagerLabels(alert, options_.drill));
  posting->annotations_json = StringPairsToJson(AlertmanagerAnnotations(
      alert, options_.runbook_base_url, options_.record_ref));
  const absl::Time now = clock_->Now();

  absl::MutexLock lock(&mu_);
  if (auto held = held_.find(alert.id); held != held_.end()) {
    // Newer news of an alert whose resolve is held: a repeated firing
    // record (a re-read partition) takes it back into the firing set, with
    // its first startsAt; a repeated resolve changes nothing.
    stats_.alerts_written.fetch_add(1, std::memory_order_relaxed);
    if (posting->resolved) return absl::OkStatus();
    auto& restored = firing_[alert.id];
    restored = posting;
    restored->labels_json = held->second->labels_json;
    restored->starts_at = held->second->starts_at;
    held_.erase(held);
    stats_.held.store(static_cast<int64_t>(held_.size()),
                      std::memory_order_relaxed);
    stats_.firing.store(static_cast<int64_t>(firing_.size()),
                        std::memory_order_relaxed);
    return absl::OkStatus();
  }
  auto firing = firing_.find(alert.id);
  if (!posting->resolved) {
    posting->starts_at = now;
    if (firing != firing_.end()) {
      // A repeated firing record (a re-read partition) is the same alert:
      // same labels, same startsAt.
      posting->labels_json = firing->second->labels_json;
      posting->starts_at = firing->second->starts_at;
      firing->second = posting;
    } else if (firing_.size() < options_.max_queue) {
      firing_.emplace(alert.id, posting);
    } else {
      stats_.untracked.fetch_add(1, std::memory_order_relaxed);
    }
  } else {
    if (firing != firing_.end()) {
      // Alertmanager identifies an alert by its labels: the resolve must
      // carry exactly the firing one's, whatever the record says.
      posting->labels_json = firing->second->labels_json;
      posting->starts_at = firing->second->starts_at;
      firing_.erase(firing);
      const absl::Time hold_end = posting->starts_at + options_.min_hold;
      if (now < hold_end) {
        // The firing post (queued or sent) keeps the alert active; the
        // resolve follows when the hold is over.
        posting->ends_at = hold_end;
        held_[alert.id] = posting;
        stats_.held.store(static_cast<int64_t>(held_.size()),
                          std::memory_order_relaxed);
        stats_.firing.store(static_cast<int64_t>(firing_.size()),
                            std::memory_order_relaxed);
        stats_.alerts_written.fetch_add(1, std::memory_order_relaxed);
        wake_.SignalAll();  // a sender must wake for the hold's end
        return absl::OkStatus();
      }
    } else {
      posting->starts_at = now;
    }
    posting->ends_at = now;
  }
  stats_.firing.store(static_cast<int64_t>(firing_.size()),
                      std::memory_order_relaxed);
  for (const std::unique_ptr<Target>& t : targets_) {
    EnqueueLocked(t.get(), posting);
    UnparkLocked(t.get());
  }
  stats_.alerts_written.fetch_add(1, std::memory_order_relaxed);
  wake_.SignalAll();
  return absl::OkStatus();
}

void AlertmanagerSink::EnqueueLocked(Target* t,
                                     const std::shared_ptr<Posting>& posting) {
  auto found = t->index.find(posting->id);
  if (found != t->index.end()) {
    // Newer news about the same alert (its resolve, or a resend of what is
    // still waiting) replaces the old in place: one item per alert id.
    Target::Item& item = *found->second;
    if (item.posting != posting) {
      item.posting = posting;
      item.seq = ++next_seq_;
    }
    return;
  }
  if (t->queue.size() >= options_.max_queue) {
    t->index.erase(t->queue.front().posting->id);
    t->queue.pop_front();
    t->stats->dropped.fetch_add(1, std::memory_order_relaxed);
  }
  t->queue.push_back(Target::Item{posting, ++next_seq_});
  t->index[posting->id] = std::prev(t->queue.end());
  t->stats->queue_depth.store(static_cast<int64_t>(t->queue.size()),
                              std::memory_order_relaxed);
}

absl::Time AlertmanagerSink::NextWakeLocked() const {
  absl::Time next = next_resend_;
  for (const auto& [id, posting] : held_) {
    next = std::min(next, posting->ends_at);
  }
  return next;
}

void AlertmanagerSink::MaybeResendLocked() {
  const absl::Time now = clock_->Now();
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second->ends_at > now) {
      ++it;
      continue;
    }
    for (const std::unique_ptr<Target>& t : targets_) {
      EnqueueLocked(t.get(), it->second);
      UnparkLocked(t.get());
    }
    held_.erase(it++);
    stats_.held.store(static_cast<int64_t>(held_.size()),
                      std::memory_order_relaxed);
    wake_.SignalAll();
  }
  if (now < next_resend_) return;
  next_resend_ = now + options_.resend_interval;
  for (const std::unique_ptr<Target>& t : targets_) {
    for (const auto& [id, posting] : firing_) EnqueueLocked(t.get(), posting);
    UnparkLocked(t.get());
  }
  stats_.resends.fetch_add(static_cast<int64_t>(firing_.size()),
                           std::memory_order_relaxed);
  wake_.SignalAll();
}

void AlertmanagerSink::UnparkLocked(Target* t) {
  // Only a parked URL starts afresh: one in backoff keeps its schedule, or
  // a steady stream of alerts would hammer a dead Alertmanager.
  if (!t->parked) return;
  t->parked = false;
  t->failures_in_row = 0;
  t->next_attempt = SteadyClock::time_point();
}

bool AlertmanagerSink::SettledLocked() const {
  for (const std::unique_ptr<Target>& t : targets_) {
    if (!t->queue.empty() && !t->parked) return false;
  }
  return true;
}

std::string AlertmanagerSink::EncodeBatchLocked(
    const std::vector<std::shared_ptr<Posting>>& batch) const {
  // endsAt of a firing alert is computed at send time: each (re)send pushes
  // the expiry ttl into the future.
  const absl::Time now = clock_->Now();
  JsonWriter w;
  w.BeginArray();
  for (const std::shared_ptr<Posting>& p : batch) {
    w.BeginObject();
    w.Key("labels");
    w.Raw(p->labels_json);
    w.Key("annotations");
    w.Raw(p->annotations_json);
    w.Field("startsAt", FormatRfc3339(p->starts_at));
    w.Field("endsAt",
            FormatRfc3339(p->resolved ? p->ends_at
                                      : std::max(now + ttl_, p->starts_at)));
    if (!options_.generator_url.empty()) {
      w.Field("generatorURL", options_.generator_url);
    }
    w.EndObject();
  }
  w.EndArray();
  return w.Release();
}

void AlertmanagerSink::Run(Target* t) {
  CURL* curl = curl_easy_init();
  mu_.Lock();
  while (!stopping_) {
    MaybeResendLocked();
    // With a ManualClock this may be far off; Write() and Flush() wake us.
    const std::chrono::milliseconds until_resend =
        ToChrono(std::clamp(NextWakeLocked() - clock_->Now(),
                            absl::ZeroDuration(), absl::Hours(1)) +
                 absl::Milliseconds(1));
    if (t->queue.empty() || t->parked) {
      wake_.WaitWithTimeout(&mu_, absl::FromChrono(until_resend));
      continue;
    }
    const SteadyClock::time_point now = SteadyClock::now();
    if (now < t->next_attempt) {
      wake_.WaitWithTimeout(
          &mu_,
          absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::min<SteadyClock::duration>(until_resend,
                                              t->next_attempt - now))));
      continue;
    }

    std::vector<Target::Item> batch;
    std::vector<std::shared_ptr<Posting>> postings;
    for (auto it = t->queue.begin();
         it != t->queue.end() && batch.size() < options_.max_batch; ++it) {
      batch.push_back(*it);
      postings.push_back(it->posting);
    }
    const std::string body = EncodeBatchLocked(postings);
    mu_.Unlock();
    t->stats->attempts.fetch_add(1, std::memory_order_relaxed);
    PostResult result =
        curl == nullptr
            ? PostResult{PostResult::kRetry, "curl_easy_init failed"}
            : Post(curl, t->post_url, body, options_, &stopping_);
    mu_.Lock();

    if (result.kind != PostResult::kRetry) {
      // Accepted or refused, this batch is done: remove what was sent,
      // unless newer news for the same alert arrived meanwhile.
      for (const Target::Item& sent : batch) {
        if (result.kind == PostResult::kAccepted) sent.posting->accepted = true;
        auto found = t->index.find(sent.posting->id);
        if (found != t->index.end() && found->second->seq == sent.seq) {
          t->queue.erase(found->second);
          t->index.erase(found);
        }
      }
      if (result.kind == PostResult::kAccepted) {
        if (t->failures_in_row > 0) {
          VIGIA_LOG(INFO) << "alertmanager " << t->display_url
                          << ": delivering again after " << t->failures_in_row
                          << " failed attempts";
        }
        t->stats->alerts_sent.fetch_add(static_cast<int64_t>(batch.size()),
                                        std::memory_order_relaxed);
      } else {
        t->stats->failures.fetch_add(1, std::memory_order_relaxed);
        t->stats->dropped.fetch_add(static_cast<int64_t>(batch.size()),
                                    std::memory_order_relaxed);
        refused_ += static_cast<int64_t>(batch.size());
        last_refusal_ = absl::StrCat(t->display_url, ": ", result.error);
        VIGIA_LOG(ERROR) << "alertmanager " << t->display_url << " refused "
                         << batch.size() << " alerts: " << result.error;
      }
      t->failures_in_row = 0;
      t->last_error.clear();
    } else if (!stopping_) {
      t->stats->failures.fetch_add(1, std::memory_order_relaxed);
      t->last_error = result.error;
      ++t->failures_in_row;
      if (t->failures_in_row >= options_.max_attempts) {
        t->parked = true;
        VIGIA_LOG(WARNING) << "alertmanager " << t->display_url << ": "
                           << t->failures_in_row << " attempts failed, "
                           << t->queue.size()
                           << " alerts kept for the next resend: "
                           << result.error;
      } else {
        t->next_attempt = SteadyClock::now() +
                          ToChrono(Backoff(options_, t->failures_in_row));
      }
    }
    t->stats->queue_depth.store(static_cast<int64_t>(t->queue.size()),
                                std::memory_order_relaxed);
    settled_.SignalAll();
  }
  mu_.Unlock();
  if (curl != nullptr) curl_easy_cleanup(curl);
}

absl::Status AlertmanagerSink::Flush() {
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    return absl::FailedPreconditionError("alertmanager: sink is stopping");
  }
  MaybeResendLocked();
  wake_.SignalAll();
  // Waits as std::condition_variable::wait_for with a predicate did: on a
  // steady clock, and true when settled at the deadline.
  const SteadyClock::time_point deadline =
      SteadyClock::now() + ToChrono(options_.flush_timeout);
  bool settled = stopping_ || SettledLocked();
  for (SteadyClock::time_point now = SteadyClock::now();
       !settled && now < deadline; now = SteadyClock::now()) {
    settled_.WaitWithTimeout(
        &mu_,
        absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(
            deadline - now)));
    settled = stopping_ || SettledLocked();
  }
  if (!settled) {
    size_t queued = 0;
    for (const std::unique_ptr<Target>& t : targets_) {
      queued = std::max(queued, t->queue.size());
    }
    return absl::DeadlineExceededError(
        absl::StrCat("alertmanager: ", queued, " alerts still queued after ",
                     absl::FormatDuration(options_.flush_timeout)));
  }
  if (refused_ > 0) {
    const std::string message = absl::StrCat(
        "alertmanager: ", refused_,
        " alerts refused since the last flush; last: ", last_refusal_);
    refused_ = 0;
    return absl::InternalError(message);
  }
  absl::flat_hash_set<std::string> undelivered;
  std::string errors;
  for (const std::unique_ptr<Target>& t : targets_) {
    if (t->queue.empty()) continue;
    for (const Target::Item& item : t->queue) {
      if (!item.posting->accepted) undelivered.insert(item.posting->id);
    }
    absl::StrAppend(&errors, "; ", t->display_url, ": ", t->last_error);
  }
  if (!undelivered.empty()) {
    return absl::UnavailableError(
        absl::StrCat("alertmanager: ", undelivered.size(),
                     " alerts accepted by no Alertmanager", errors));
  }
  return absl::OkStatus();
}

}  // namespace vigia
