// Replays an archive up to one alert, for the commands that explain
// (`vigia explain`) or package (`vigia evidence`, `vigia verify`) a single
// alert: its record(s), and the campaign it belonged to as of its firing.
//
// Stateless functions; each call runs its own replay.
#ifndef VIGIA_PIPELINE_CLI_ALERT_FINDER_H_
#define VIGIA_PIPELINE_CLI_ALERT_FINDER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/campaigns.h"
#include "pipeline/config.h"
#include "pipeline/core/alert.h"

namespace vigia::cli {

struct FoundAlert {
  // The alert's records in order: its first only, or every record with its
  // id when the whole lifecycle was asked for.
  std::vector<Alert> records;
  // The campaign of the alert among the alerts `vigia campaigns` links by
  // default (firing, warning or above) raised up to its first record; null
  // when that record is not a firing one.
  std::optional<Campaign> campaign;
};

// Replays `path` (sample events named `source_name`) with `config` until
// alert `id` (its full id or a prefix of at least 8 characters) is raised,
// or, with `lifecycle`, to the end. NotFound, naming the config_hash, when
// the replay raises no such alert.
absl::StatusOr<FoundAlert> ReplayToAlert(const Config& config,
                                         const std::string& path,
                                         const std::string& source_name,
                                         const std::string& id, bool lifecycle);

}  // namespace vigia::cli

#endif  // VIGIA_PIPELINE_CLI_ALERT_FINDER_H_
