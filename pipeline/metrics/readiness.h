// Whether the process is ready for its work, as the metrics port's
// /-/ready tells a load balancer or Kubernetes: one flag and a one-line
// reason. The daemon sets it (assigned its partitions and caught up, see
// docs/metrics.md); the HTTP server only reads it, so neither reaches into
// the other. Thread-safe.
#ifndef VIGIA_PIPELINE_METRICS_READINESS_H_
#define VIGIA_PIPELINE_METRICS_READINESS_H_

#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace vigia {

class Readiness {
 public:
  // Starts not ready, for `reason`.
  explicit Readiness(std::string reason = "starting")
      : reason_(std::move(reason)) {}

  void SetReady() {
    absl::MutexLock lock(&mu_);
    ready_ = true;
    reason_.clear();
  }
  // `reason` is one line, e.g. "no partitions assigned".
  void SetNotReady(std::string reason) {
    absl::MutexLock lock(&mu_);
    ready_ = false;
    reason_ = std::move(reason);
  }

  // True when ready; otherwise false with the reason in `*reason`.
  bool IsReady(std::string* reason) const {
    absl::MutexLock lock(&mu_);
    if (!ready_ && reason != nullptr) *reason = reason_;
    return ready_;
  }

 private:
  mutable absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  std::string reason_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_METRICS_READINESS_H_
