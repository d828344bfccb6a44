// How a vigia alert looks to Alertmanager: the label set that identifies it,
// and the annotations an on-call person reads. Pure functions over an Alert;
// the sink (alertmanager_sink.h) adds startsAt, endsAt and generatorURL when
// it posts. The mapping is documented in docs/alertmanager.md and is a
// public interface: routes and inhibition rules match on these labels.
//
// Thread-safe: no state.
#ifndef VIGIA_PIPELINE_ALERTMANAGER_POSTABLE_ALERT_H_
#define VIGIA_PIPELINE_ALERTMANAGER_POSTABLE_ALERT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/alert.h"

namespace vigia {

// Ordered name/value pairs, as Alertmanager's labels or annotations.
using StringPairs = std::vector<std::pair<std::string, std::string>>;

// Returns the `alertname` label for a detector: "Vigia" followed by the
// detector's snake_case name in CamelCase ("foreign_origin_surge" ->
// "VigiaForeignOriginSurge").
std::string AlertmanagerAlertName(std::string_view detector);

// Returns the label set of `alert`, in this order: alertname, alert_id,
// detector, severity, target, origin (only when known), subject (only when
// the alert has one), drill ("true" or "false"). A firing record and the
// resolved record that ends it share every label, so Alertmanager sees one
// alert; distinct episodes (and the two sides of a severity change) have
// distinct alert ids and so are distinct alerts.
StringPairs AlertmanagerLabels(const Alert& alert, bool drill);

// Returns the annotations of `alert`: summary, description (the evidence as
// text, see AlertDescription), runbook_url (when `runbook_base_url` is not
// empty: base + "#" + detector), window_start and window_end (event time),
// config_hash, and record (when `record_ref` is not empty: where the full
// JSON record was written, e.g. "kafka topic vigia.alerts").
StringPairs AlertmanagerAnnotations(const Alert& alert,
                                    std::string_view runbook_base_url,
                                    std::string_view record_ref);

// Returns the evidence of `alert` as lines of plain text for a person: the
// claim, the event-time window, observed against expected with ratio, score
// and threshold, the baseline, the top accounts, URLs, hashtags and the
// detector's own top lists (at most five entries each), the sample events
// with their source coordinates and notes (at most ten), and a pointer to
// the full record. Deterministic.
std::string AlertDescription(const Alert& alert, std::string_view record_ref);

// Returns `pairs` as a JSON object of strings, keys in the given order.
std::string StringPairsToJson(const StringPairs& pairs);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_ALERTMANAGER_POSTABLE_ALERT_H_
