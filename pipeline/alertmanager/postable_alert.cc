#include "pipeline/alertmanager/postable_alert.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

// Receivers (chat, pager) truncate long messages; the full lists are in the
// JSON record, the description only has to orient the reader.
constexpr size_t kMaxTallies = 5;
constexpr size_t kMaxSamples = 10;

// Same rule as JsonWriter::Double, so the numbers in the description match
// the ones in the alert record character for character.
std::string Number(double v) {
  if (!std::isfinite(v)) return "n/a";
  std::string s = absl::StrFormat("%.4f", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

void AppendTallies(std::string_view title, const std::vector<Tally>& tallies,
                   std::string* out) {
  if (tallies.empty()) return;
  absl::StrAppend(out, ToAbsl(title), ": ");
  for (size_t i = 0; i < tallies.size() && i < kMaxTallies; ++i) {
    const Tally& t = tallies[i];
    if (i > 0) out->append(", ");
    absl::StrAppend(out, t.value, " (", t.count);
    if (t.error > 0) absl::StrAppend(out, ", overcount <= ", t.error);
    out->append(")");
  }
  if (tallies.size() > kMaxTallies) {
    absl::StrAppend(out, ", ... (", tallies.size() - kMaxTallies, " more)");
  }
  out->append("\n");
}

std::string SampleCoordinates(const SampleEvent& s) {
  if (s.partition >= 0) {
    return absl::StrCat("kafka topic ", s.source, " partition ", s.partition,
                        " offset ", s.position);
  }
  return absl::StrCat(s.source, " line ", s.position);
}

// "top_payers" -> "Top payers".
std::string ListTitle(std::string_view name) {
  std::string title(name);
  for (char& c : title) {
    if (c == '_') c = ' ';
  }
  if (!title.empty()) title[0] = absl::ascii_toupper(title[0]);
  return title;
}

}  // namespace

std::string AlertmanagerAlertName(std::string_view detector) {
  std::string name = "Vigia";
  bool upper = true;
  for (char c : detector) {
    if (c == '_' || c == '-' || c == '.') {
      upper = true;
      continue;
    }
    name.push_back(upper ? absl::ascii_toupper(c) : c);
    upper = false;
  }
  return name;
}

StringPairs AlertmanagerLabels(const Alert& alert, bool drill) {
  StringPairs labels;
  labels.emplace_back("alertname", AlertmanagerAlertName(alert.detector));
  labels.emplace_back("alert_id", alert.id);
  labels.emplace_back("detector", alert.detector);
  labels.emplace_back("severity", std::string(SeverityName(alert.severity)));
  labels.emplace_back("target", alert.target.str());
  if (alert.origin.known()) labels.emplace_back("origin", alert.origin.str());
  if (!alert.subject.empty()) labels.emplace_back("subject", alert.subject);
  labels.emplace_back("drill", drill ? "true" : "false");
  return labels;
}

StringPairs AlertmanagerAnnotations(const Alert& alert,
                                    std::string_view runbook_base_url,
                                    std::string_view record_ref) {
  StringPairs annotations;
  annotations.emplace_back("summary", alert.summary);
  annotations.emplace_back("description", AlertDescription(alert, record_ref));
  if (!runbook_base_url.empty()) {
    annotations.emplace_back(
        "runbook_url",
        absl::StrCat(ToAbsl(runbook_base_url), "#", alert.detector));
  }
  annotations.emplace_back("window_start", FormatRfc3339(alert.window_start));
  annotations.emplace_back("window_end", FormatRfc3339(alert.window_end));
  annotations.emplace_back("config_hash", alert.config_hash);
  // An annotation, not a label: a later record of the same alert may name
  // a merged campaign, and a changed label would be another alert.
  if (!alert.campaign.empty()) {
    annotations.emplace_back("campaign", alert.campaign);
  }
  if (!record_ref.empty()) {
    annotations.emplace_back("record", std::string(record_ref));
  }
  return annotations;
}

std::string AlertDescription(const Alert& alert, std::string_view record_ref) {
  std::string out;
  absl::StrAppend(&out, alert.detector, " ",
                  ToAbsl(SeverityName(alert.severity)), " (",
                  ToAbsl(AlertStateName(alert.state)), "): target ",
                  alert.target.known() ? alert.target.str() : "unknown");
  if (alert.origin.known())
    absl::StrAppend(&out, ", origin ", alert.origin.str());
  if (!alert.subject.empty()) {
    absl::StrAppend(&out, ", ",
                    alert.subject_kind.empty() ? "subject" : alert.subject_kind,
                    " ", alert.subject);
  }
  out.append("\n");
  absl::StrAppend(&out,
                  "Window (event time): ", FormatRfc3339(alert.window_start),
                  " to ", FormatRfc3339(alert.window_end), "\n");
  absl::StrAppend(&out, "Observed ", Number(alert.observed), " vs ",
                  Number(alert.expected), " expected: ratio ",
                  Number(alert.ratio), "x, score ", Number(alert.score),
                  " (threshold ", Number(alert.threshold), ")\n");
  if (!alert.evidence.baseline.empty()) {
    out.append("Baseline: ");
    for (size_t i = 0; i < alert.evidence.baseline.size(); ++i) {
      const auto& [name, value] = alert.evidence.baseline[i];
      absl::StrAppend(&out, i > 0 ? ", " : "", name, "=", Number(value));
    }
    out.append("\n");
  }
  AppendTallies("Top accounts", alert.evidence.top_accounts, &out);
  AppendTallies("Top URLs", alert.evidence.top_urls, &out);
  AppendTallies("Top hashtags", alert.evidence.top_hashtags, &out);
  for (const auto& [name, tallies] : alert.evidence.other_tops) {
    AppendTallies(ListTitle(name), tallies, &out);
  }
  const std::vector<SampleEvent>& samples = alert.evidence.samples;
  if (!samples.empty()) {
    out.append("Samples (id, account, event time: where the original is):\n");
    for (size_t i = 0; i < samples.size() && i < kMaxSamples; ++i) {
      const SampleEvent& s = samples[i];
      absl::StrAppend(&out, "- ", s.id, " by ", s.account, " at ",
                      FormatRfc3339(s.created_at), ": ", SampleCoordinates(s));
      if (!s.note.empty()) absl::StrAppend(&out, " [", s.note, "]");
      out.append("\n");
    }
    if (samples.size() > kMaxSamples) {
      absl::StrAppend(&out, "- ... ", samples.size() - kMaxSamples,
                      " more in the full record\n");
    }
  }
  absl::StrAppend(&out, "Full record: alert ", alert.id, ", config ",
                  alert.config_hash);
  if (!record_ref.empty()) absl::StrAppend(&out, ", in ", ToAbsl(record_ref));
  return out;
}

std::string StringPairsToJson(const StringPairs& pairs) {
  JsonWriter w;
  w.BeginObject();
  for (const auto& [key, value] : pairs) w.Field(key, value);
  w.EndObject();
  return w.Release();
}

}  // namespace vigia
