#include "pipeline/cli/outputs.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace vigia::cli {

FlagSpec AlertmanagerFlagSpec() {
  return {kAlertmanagerFlag, "URL[,URL]",
          "post alerts to these Alertmanagers (API v2); replaces "
          "alertmanager.urls"};
}

FlagSpec DrillFlagSpec() {
  return {kDrillFlag, "",
          "label every alert drill=\"true\" so routing keeps it from pagers"};
}

absl::StatusOr<std::unique_ptr<AlertmanagerSink>> MakeAlertmanagerSink(
    const Config& config, const ParsedFlags& flags, const Clock* clock,
    std::string record_ref) {
  const AlertmanagerConfig& c = config.alertmanager;
  AlertmanagerOptions o;
  o.urls = c.urls;
  if (flags.has(kAlertmanagerFlag)) {
    o.urls.clear();
    for (absl::string_view url :
         absl::StrSplit(flags.get(kAlertmanagerFlag), ',', absl::SkipEmpty())) {
      o.urls.emplace_back(absl::StripAsciiWhitespace(url));
    }
  }
  if (o.urls.empty()) return std::unique_ptr<AlertmanagerSink>();
  o.resend_interval = c.resend_interval;
  o.ttl = c.ttl;
  o.min_hold = c.min_hold;
  o.timeout = c.timeout;
  o.drill = c.drill || flags.has(kDrillFlag);
  o.runbook_base_url = c.runbook_base_url;
  o.generator_url = c.generator_url;
  o.username = c.username;
  o.password = c.password;
  o.bearer_token = c.bearer_token;
  o.ca_file = c.ca_file;
  o.record_ref = std::move(record_ref);
  return AlertmanagerSink::Create(std::move(o), clock);
}

absl::StatusOr<Severity> MinSeverityFlag(const ParsedFlags& flags,
                                         Severity fallback) {
  if (!flags.has("min-severity")) return fallback;
  const std::string v = flags.get("min-severity");
  for (Severity s :
       {Severity::kInfo, Severity::kWarning, Severity::kCritical}) {
    if (v == SeverityName(s)) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--min-severity: expected info, warning or critical, got \"", v, "\""));
}

AlertmanagerMetrics::AlertmanagerMetrics(prometheus::Registry& registry,
                                         const AlertmanagerSink& sink)
    : probe_(registry, sink.stats()) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      probe_.Update();
    }
  });
}

AlertmanagerMetrics::~AlertmanagerMetrics() {
  stop_.store(true);
  thread_.join();
  probe_.Update();
}

}  // namespace vigia::cli
