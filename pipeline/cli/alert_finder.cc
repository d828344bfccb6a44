#include "pipeline/cli/alert_finder.h"

#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pipeline/reader.h"
#include "pipeline/replay.h"
#include "pipeline/sinks.h"

namespace vigia::cli {
namespace {

// Stops the replay (by failing the write with this message) once the
// alert has been seen, unless the whole lifecycle is wanted.
constexpr char kFound[] = "alert finder: alert found";

class FindAlertSink final : public AlertSink {
 public:
  FindAlertSink(std::string id, bool lifecycle)
      : id_(std::move(id)), lifecycle_(lifecycle) {}
  absl::Status Write(const Alert& alert) override {
    const bool match =
        alert.id == id_ || (id_.size() >= 8 && absl::StartsWith(alert.id, id_));
    if (records_.empty() && alert.state == AlertState::kFiring &&
        (match || alert.severity >= Severity::kWarning)) {
      linked_.push_back(ToCampaignAlert(alert));
    }
    if (!match) return absl::OkStatus();
    records_.push_back(alert);
    if (!lifecycle_) return absl::CancelledError(kFound);
    return absl::OkStatus();
  }

  FoundAlert Take() && {
    FoundAlert out;
    if (!records_.empty()) {
      out.campaign =
          CampaignOf(linked_, records_.front().id, CampaignOptions{});
    }
    out.records = std::move(records_);
    return out;
  }

 private:
  const std::string id_;
  const bool lifecycle_;
  std::vector<CampaignAlert> linked_;
  std::vector<Alert> records_;
};

}  // namespace

absl::StatusOr<FoundAlert> ReplayToAlert(const Config& config,
                                         const std::string& path,
                                         const std::string& source_name,
                                         const std::string& id,
                                         bool lifecycle) {
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(path);
  if (!reader.ok()) return reader.status();
  FindAlertSink sink(id, lifecycle);
  NullDeadLetterSink dead;
  const RunSummary summary =
      Replay(config, **reader, source_name, sink, dead, nullptr);
  if (!summary.status.ok() &&
      !(absl::IsCancelled(summary.status) &&
        absl::StrContains(summary.status.message(), kFound))) {
    return summary.status;
  }
  FoundAlert found = std::move(sink).Take();
  if (found.records.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no alert ", id, " in a replay of ", path, " with config_hash ",
        config.hash(),
        " (alert ids depend on the input and the config: pass the same "
        "--config)"));
  }
  return found;
}

}  // namespace vigia::cli
