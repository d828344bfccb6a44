#include "operators/testing/operator_test_util.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "operators/snapshot.h"
#include "pipeline/core/strings.h"

namespace vigia {

OperatorContext TestOperatorContext(const DriverOptions& options) {
  OperatorContext context;
  context.config_hash = options.config_hash;
  context.max_samples = options.max_samples;
  context.top_n = options.top_n;
  return context;
}

OperatorDriver::OperatorDriver(const Factory& make, DriverOptions options)
    : options_(std::move(options)),
      op_(make(TestOperatorContext(options_))),
      now_(options_.start) {}

void OperatorDriver::Observe(Event event) {
  Observe(std::move(event), line_ + 1);
}

void OperatorDriver::Observe(Event event, int64_t line) {
  line_ = line;
  const std::string id = absl::StrCat(ToAbsl(options_.id_prefix), line_);
  event.id = id;
  event.source.source = options_.source;
  event.source.position = line_;
  EventFacts facts;
  facts.Reset(event);
  op_->Prefetch(event, facts);
  op_->Observe(event, facts, out_);
}

std::string SaveOperatorState(const Operator& op) {
  SnapshotWriter w;
  op.SaveState(w);
  return std::move(w.bytes());
}

absl::Status RestoreOperatorState(std::string_view state, Operator& op) {
  SnapshotReader r(state, 0, std::string(op.name()));
  return op.RestoreState(r, op.state_version());
}

std::vector<std::string_view> Views(const std::vector<std::string>& strings) {
  return std::vector<std::string_view>(strings.begin(), strings.end());
}

std::vector<std::pair<Severity, AlertState>> SeverityStates(
    const std::vector<Alert>& alerts) {
  std::vector<std::pair<Severity, AlertState>> out;
  out.reserve(alerts.size());
  for (const Alert& a : alerts) out.emplace_back(a.severity, a.state);
  return out;
}

std::vector<std::string> AlertOutcomes(const std::vector<Alert>& alerts) {
  std::vector<std::string> out;
  out.reserve(alerts.size());
  for (const Alert& a : alerts) {
    out.push_back(absl::StrCat(a.id, " ", std::string(AlertStateName(a.state)),
                               " ", absl::FormatTime(a.window_end), " ",
                               a.observed, " ", a.expected, " ", a.score));
  }
  return out;
}

}  // namespace vigia
