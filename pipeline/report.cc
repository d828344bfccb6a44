#include "pipeline/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/files.h"
#include "pipeline/core/markup.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/core/types.h"
#include "pipeline/reader.h"
#include "simdjson.h"

namespace vigia {
namespace {

// The largest alerts or truth file read: a month of alerts is far below.
constexpr size_t kMaxInputBytes = size_t{1} << 30;

std::string Str(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) return "";
  return std::string(s);
}

double Num(simdjson::simdjson_result<simdjson::dom::element> e) {
  double d = 0;
  if (e.get_double().get(d) == simdjson::SUCCESS) return d;
  int64_t i = 0;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  return 0;
}

absl::Time TimeOf(simdjson::simdjson_result<simdjson::dom::element> e) {
  absl::StatusOr<absl::Time> t = ParseRfc3339(Str(e));
  return t.ok() ? *t : absl::InfinitePast();
}

std::string Minutes(absl::Duration d) {
  return absl::StrFormat("%.0f min", absl::ToDoubleMinutes(d));
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M", t, absl::UTCTimeZone());
}

// ---------------------------------------------------------------------------
// Inputs.
// ---------------------------------------------------------------------------

// Events per minute by (target, origin label).
struct Traffic {
  std::map<std::pair<std::string, std::string>, std::map<int64_t, int64_t>>
      per_minute;
  std::map<std::string, int64_t> foreign_by_target;
  absl::Time first = absl::InfiniteFuture();
  absl::Time last = absl::InfinitePast();
};

absl::Status ReadArchive(const ReportOptions& o, Traffic* t,
                         ReportSummary* summary) {
  absl::StatusOr<std::unique_ptr<LineReader>> reader =
      OpenLineReader(o.archive_path);
  if (!reader.ok()) return reader.status();
  Decoder decoder(o.decoder);
  while (true) {
    absl::StatusOr<Line> line = (*reader)->Next();
    if (absl::IsOutOfRange(line.status())) break;
    if (!line.ok()) return line.status();
    ++summary->lines;
    const SourceRef source{o.archive_path, -1, line->number};
    if (decoder.Decode(line->bytes, line->capacity, source) !=
        RejectReason::kNone) {
      ++summary->bad_lines;
      continue;
    }
    ++summary->events;
    const Event& e = decoder.event();
    const CountryCode origin =
        e.kind == FeedKind::kPost ? e.account_country : e.payer_country;
    std::string label = "unknown";
    if (origin == e.target) {
      label = "domestic";
    } else if (origin.known()) {
      label = origin.str();
      ++t->foreign_by_target[e.target.str()];
    }
    const int64_t minute = absl::ToUnixSeconds(e.created_at) / 60;
    ++t->per_minute[{e.target.str(), label}][minute];
    t->first = std::min(t->first, e.created_at);
    t->last = std::max(t->last, e.created_at);
  }
  return absl::OkStatus();
}

// One alert id: its firing record (the first) and how it ended.
struct Episode {
  std::string id;
  std::string detector;
  std::string severity;
  std::string target;
  std::string origin;
  std::string subject;
  absl::Time window_start;
  absl::Time fired;  // the firing record's window end (event time)
  absl::Time resolved = absl::InfiniteFuture();
  double observed = 0;
  double expected = 0;
  double score = 0;
  std::string summary;
  std::vector<std::string> evidence;  // "top accounts: a (9), b (7)" ...
  int samples = 0;
  std::string campaign;  // the truth campaign it is about, if any
  absl::Duration delay = absl::InfiniteDuration();
};

int SeverityRank(const std::string& s) {
  return s == "critical" ? 2 : s == "warning" ? 1 : 0;
}

absl::StatusOr<std::vector<Episode>> ReadAlerts(const std::string& path,
                                                ReportSummary* summary) {
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxInputBytes, "alerts");
  if (!text.ok()) return text.status();
  std::vector<Episode> episodes;
  std::map<std::string, size_t> by_id;
  simdjson::dom::parser parser;
  std::istringstream in(*text);
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    simdjson::dom::element a;
    if (parser.parse(line).get(a) != simdjson::SUCCESS || !a.is_object() ||
        Str(a["id"]).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": not an alert record"));
    }
    ++summary->alert_records;
    const std::string id = Str(a["id"]);
    auto it = by_id.find(id);
    if (Str(a["state"]) == "resolved") {
      if (it != by_id.end()) {
        episodes[it->second].resolved = TimeOf(a["window_end"]);
      }
      continue;
    }
    if (it != by_id.end()) continue;  // a resend of the same firing
    Episode e;
    e.id = id;
    e.detector = Str(a["detector"]);
    e.severity = Str(a["severity"]);
    e.target = Str(a["target"]);
    e.origin = Str(a["origin"]);
    e.subject = Str(a["subject"]);
    e.window_start = TimeOf(a["window_start"]);
    e.fired = TimeOf(a["window_end"]);
    e.observed = Num(a["observed"]);
    e.expected = Num(a["expected"]);
    e.score = Num(a["score"]);
    e.summary = Str(a["summary"]);
    for (const char* list : {"top_accounts", "top_urls", "top_hashtags"}) {
      simdjson::dom::array tallies;
      if (a["evidence"][list].get_array().get(tallies) != simdjson::SUCCESS) {
        continue;
      }
      std::vector<std::string> parts;
      for (simdjson::dom::element t : tallies) {
        if (parts.size() == 3) break;
        parts.push_back(absl::StrCat(
            Str(t["value"]), " (", static_cast<int64_t>(Num(t["count"])), ")"));
      }
      if (!parts.empty()) {
        std::string name(list);
        std::replace(name.begin(), name.end(), '_', ' ');
        e.evidence.push_back(
            absl::StrCat(name, ": ", absl::StrJoin(parts, ", ")));
      }
    }
    simdjson::dom::array samples;
    if (a["evidence"]["samples"].get_array().get(samples) ==
        simdjson::SUCCESS) {
      e.samples = static_cast<int>(samples.size());
    }
    by_id[id] = episodes.size();
    episodes.push_back(std::move(e));
  }
  summary->episodes = static_cast<int64_t>(episodes.size());
  return episodes;
}

struct Campaign {
  std::string name;
  std::string kind;
  std::string detector;  // empty: nothing should fire
  bool interference = false;
  std::string target;
  std::string origin;  // empty: none (trend riding)
  absl::Time start;
  absl::Time end;
  // Outcome.
  std::string verdict;  // found, missed, quiet, false alarm
  absl::Duration delay = absl::InfiniteDuration();
  int episodes = 0;
};

absl::StatusOr<std::vector<Campaign>> ReadTruth(const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxInputBytes, "truth");
  if (!text.ok()) return text.status();
  simdjson::dom::parser parser;
  simdjson::dom::element truth;
  simdjson::dom::array campaigns;
  if (parser.parse(*text).get(truth) != simdjson::SUCCESS ||
      truth["campaigns"].get_array().get(campaigns) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a truth file (vigia gen --truth; docs/scenarios.md)"));
  }
  std::vector<Campaign> out;
  for (simdjson::dom::element c : campaigns) {
    Campaign k;
    k.name = Str(c["name"]);
    k.kind = Str(c["kind"]);
    k.detector = Str(c["detector"]);
    bool interference = false;
    if (c["interference"].get_bool().get(interference) == simdjson::SUCCESS) {
      k.interference = interference;
    }
    k.target = Str(c["target"]);
    k.origin = Str(c["origin"]);
    k.start = TimeOf(c["start"]);
    k.end = TimeOf(c["end"]);
    if (k.name.empty() || k.start == absl::InfinitePast() ||
        k.end == absl::InfinitePast()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": campaign ", out.size() + 1, " lacks a name, start or end"));
    }
    out.push_back(std::move(k));
  }
  return out;
}

// An episode is about a campaign when it pages (warning or worse), comes
// from the detector the campaign should trip, names its target (and its
// origin when both have one), and its window meets the campaign's window
// or the hour after it (a window ends after the events that fill it).
bool IsAbout(const Episode& e, const Campaign& c) {
  if (SeverityRank(e.severity) < 1 || e.target != c.target) return false;
  if (!c.detector.empty() && e.detector != c.detector) return false;
  if (!c.origin.empty() && !e.origin.empty() && e.origin != c.origin &&
      e.detector != "state_media_amplification" &&
      e.detector != "posting_clock") {
    return false;
  }
  return e.window_start <= c.end + absl::Hours(1) && e.fired >= c.start;
}

void Score(std::vector<Campaign>& campaigns, std::vector<Episode>& episodes,
           ReportSummary* summary) {
  for (Campaign& c : campaigns) {
    for (Episode& e : episodes) {
      if (!IsAbout(e, c)) continue;
      ++c.episodes;
      if (e.campaign.empty()) {
        e.campaign = c.name;
        e.delay = e.fired - c.start;
      }
      c.delay = std::min(c.delay, e.fired - c.start);
    }
    if (c.interference) {
      c.verdict = c.episodes > 0 ? "found" : "missed";
      (c.episodes > 0 ? summary->found : summary->missed)++;
    } else {
      c.verdict = c.episodes > 0 ? "false alarm" : "quiet";
      if (c.episodes > 0) ++summary->false_alarms;
    }
  }
  for (const Episode& e : episodes) {
    if (SeverityRank(e.severity) >= 1 && e.campaign.empty()) {
      ++summary->unmatched_episodes;
    }
  }
}

// ---------------------------------------------------------------------------
// SVG.
// ---------------------------------------------------------------------------

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                    "#ff7f0e", "#8c564b", "#7f7f7f", "#17becf"};

std::string SeverityColor(const std::string& severity) {
  return severity == "critical"  ? "#d62728"
         : severity == "warning" ? "#ff7f0e"
                                 : "#1f77b4";
}

struct Series {
  std::string label;
  std::vector<double> values;  // per bucket
};

// A plot of `series` over [start, start + n * bucket), with alert episodes
// as bands and truth campaigns as outlined spans.
std::string Plot(const std::string& target, const std::vector<Series>& series,
                 absl::Time start, absl::Duration bucket, int buckets,
                 const std::vector<const Episode*>& episodes,
                 const std::vector<const Campaign*>& campaigns) {
  constexpr double kW = 960, kH = 260, kLeft = 60, kRight = 150, kTop = 24,
                   kBottom = 36;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  double max = 1;
  for (const Series& s : series) {
    for (double v : s.values) max = std::max(max, v);
  }
  const absl::Time end = start + bucket * buckets;
  const double span = absl::ToDoubleSeconds(end - start);
  auto x = [&](absl::Time t) {
    const double f = absl::ToDoubleSeconds(t - start) / span;
    return kLeft + pw * std::clamp(f, 0.0, 1.0);
  };
  auto y = [&](double v) { return kTop + ph * (1 - v / max); };
  std::string svg = absl::StrFormat(
      "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
      "aria-label=\"Traffic aimed at %s by origin\">\n",
      kW, kH, kW, kH, EscapeMarkup(target));
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.0f\" y=\"16\" class=\"title\">Events "
                        "aimed at %s per %s, by origin</text>\n",
                        kLeft, EscapeMarkup(target), Minutes(bucket));
  for (const Campaign* c : campaigns) {
    absl::StrAppendFormat(
        &svg,
        "<rect class=\"campaign\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
        "height=\"%.1f\" fill=\"none\" stroke=\"#555\" "
        "stroke-dasharray=\"4 3\"><title>campaign %s (%s): %s</title>"
        "</rect>\n",
        x(c->start), kTop, std::max(1.0, x(c->end) - x(c->start)), ph,
        EscapeMarkup(c->name), EscapeMarkup(c->kind), EscapeMarkup(c->verdict));
  }
  for (const Episode* e : episodes) {
    const absl::Time until = e->resolved == absl::InfiniteFuture()
                                 ? std::max(e->fired, end)
                                 : e->resolved;
    absl::StrAppendFormat(
        &svg,
        "<rect class=\"episode\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
        "height=\"%.1f\" fill=\"%s\" fill-opacity=\"%s\"><title>%s %s "
        "%s%s: %s</title></rect>\n",
        x(e->window_start), kTop, std::max(1.5, x(until) - x(e->window_start)),
        ph, SeverityColor(e->severity),
        // Info episodes are context, not pages: kept faint.
        SeverityRank(e->severity) >= 1 ? "0.25" : "0.06",
        EscapeMarkup(e->severity), EscapeMarkup(e->detector),
        EscapeMarkup(e->origin.empty() ? "" : "from " + e->origin + " "),
        EscapeMarkup(e->id), EscapeMarkup(e->summary));
  }
  // Axes and ticks.
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
                        "stroke=\"#333\"/>\n",
                        kLeft, kTop + ph, kLeft + pw, kTop + ph);
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
                        "stroke=\"#333\"/>\n",
                        kLeft, kTop, kLeft, kTop + ph);
  for (int i = 0; i <= 4; ++i) {
    const double v = max * i / 4;
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.0f\" y=\"%.1f\" class=\"tick\" "
                          "text-anchor=\"end\">%.0f</text>\n",
                          kLeft - 4, y(v) + 4, v);
  }
  // About six time ticks, on whole hours when the plot spans 6 h or more.
  const bool hourly = end - start >= absl::Hours(6);
  const absl::Duration step =
      hourly ? absl::Hours(
                   std::max<int64_t>(1, absl::ToInt64Hours((end - start) / 6)))
             : (end - start) / 6;
  const absl::Time first_tick =
      hourly ? absl::FromUnixSeconds((absl::ToUnixSeconds(start) + 3599) /
                                     3600 * 3600)
             : start;
  for (int i = 0; i <= 7; ++i) {
    const absl::Time t = first_tick + step * i;
    if (t > end) break;
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.0f\" class=\"tick\" "
                          "text-anchor=\"middle\">%s</text>\n",
                          x(t), kTop + ph + 16, TimeText(t));
  }
  // Series.
  for (size_t s = 0; s < series.size(); ++s) {
    const char* color = kPalette[s % std::size(kPalette)];
    std::string points;
    for (int b = 0; b < buckets; ++b) {
      absl::StrAppendFormat(&points, "%.1f,%.1f ",
                            x(start + bucket * b + bucket / 2),
                            y(series[s].values[b]));
    }
    absl::StrAppendFormat(&svg,
                          "<polyline class=\"series\" fill=\"none\" "
                          "stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\">"
                          "<title>%s</title></polyline>\n",
                          color, points, EscapeMarkup(series[s].label));
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" "
                          "height=\"10\" fill=\"%s\"/><text x=\"%.0f\" "
                          "y=\"%.0f\" class=\"legend\">%s</text>\n",
                          kLeft + pw + 12, kTop + 14.0 * s, color,
                          kLeft + pw + 26, kTop + 14.0 * s + 9,
                          EscapeMarkup(series[s].label));
  }
  svg += "</svg>\n";
  return svg;
}

constexpr char kStyle[] = R"(
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f0f0f0}.sev-critical{color:#d62728;font-weight:bold}
.sev-warning{color:#c85f00;font-weight:bold}.sev-info{color:#1f77b4}
.found{color:#2ca02c;font-weight:bold}.missed,.false{color:#d62728;font-weight:bold}
svg text{font-size:11px;font-family:sans-serif}svg .title{font-size:13px}
.note{color:#555;font-size:13px}
)";

}  // namespace

absl::StatusOr<ReportSummary> WriteReport(const ReportOptions& o,
                                          std::ostream& out) {
  ReportSummary summary;
  Traffic traffic;
  if (absl::Status s = ReadArchive(o, &traffic, &summary); !s.ok()) return s;
  absl::StatusOr<std::vector<Episode>> episodes =
      ReadAlerts(o.alerts_path, &summary);
  if (!episodes.ok()) return episodes.status();
  std::vector<Campaign> campaigns;
  if (!o.truth_path.empty()) {
    absl::StatusOr<std::vector<Campaign>> truth = ReadTruth(o.truth_path);
    if (!truth.ok()) return truth.status();
    campaigns = *std::move(truth);
    Score(campaigns, *episodes, &summary);
  }

  // The time axis: whole minutes from the first event to the last.
  absl::Time start = traffic.first;
  absl::Time end = traffic.last;
  if (start > end) start = end = absl::UnixEpoch();
  start = absl::FromUnixSeconds(absl::ToUnixSeconds(start) / 60 * 60);
  absl::Duration bucket = o.bucket;
  if (bucket <= absl::ZeroDuration()) {
    // The smallest round width that keeps to kMaxBuckets.
    const double minutes = absl::ToDoubleMinutes(end - start) + 1;
    bucket = absl::Hours(24);
    for (int m : {1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720}) {
      if (minutes / m <= kMaxBuckets) {
        bucket = absl::Minutes(m);
        break;
      }
    }
  }
  const int buckets =
      std::clamp(static_cast<int>(std::ceil(absl::ToDoubleSeconds(end - start) /
                                            absl::ToDoubleSeconds(bucket))) +
                     1,
                 1, 100000);

  // Which targets to plot.
  std::vector<std::string> targets;
  std::set<std::string> chosen;
  auto choose = [&](const std::string& t) {
    if (!t.empty() && static_cast<int>(targets.size()) < kMaxPlottedTargets &&
        chosen.insert(t).second) {
      targets.push_back(t);
    }
  };
  for (const Campaign& c : campaigns) choose(c.target);
  for (const Episode& e : *episodes) {
    if (SeverityRank(e.severity) >= 1) choose(e.target);
  }
  std::vector<std::pair<int64_t, std::string>> by_foreign;
  for (const auto& [t, n] : traffic.foreign_by_target) {
    by_foreign.emplace_back(-n, t);
  }
  std::sort(by_foreign.begin(), by_foreign.end());
  for (const auto& [n, t] : by_foreign) choose(t);
  for (const Episode& e : *episodes) choose(e.target);
  summary.targets_plotted = static_cast<int>(targets.size());

  const std::string title =
      o.title.empty()
          ? absl::StrCat("vigia after-action report: ", o.archive_path)
          : o.title;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
         "'none'; style-src 'unsafe-inline'; img-src data:\">\n"
      << "<title>" << EscapeMarkup(title) << "</title>\n<style>" << kStyle
      << "</style></head><body>\n<h1>" << EscapeMarkup(title) << "</h1>\n";
  out << "<p class=\"note\">Archive " << EscapeMarkup(o.archive_path) << ": "
      << summary.lines << " lines, " << summary.events << " events, "
      << summary.bad_lines << " bad lines; event time " << TimeText(start)
      << " to " << TimeText(end) << " UTC. Alerts "
      << EscapeMarkup(o.alerts_path) << ": " << summary.alert_records
      << " records, " << summary.episodes << " alerts.";
  if (!o.truth_path.empty()) {
    out << " Truth " << EscapeMarkup(o.truth_path) << ": " << campaigns.size()
        << " campaigns.";
  }
  out << " Times are event times (UTC); a delay is from the campaign's start "
         "to the end of the first window that alerted on it.</p>\n";

  if (!o.truth_path.empty()) {
    out << "<h2 id=\"truth\">Campaigns: found, missed, false alarms</h2>\n"
        << "<p>Interference found: <b>" << summary.found << "</b>, missed: <b>"
        << summary.missed << "</b>; organic activity alerted on (false "
        << "alarms): <b>" << summary.false_alarms << "</b>; warning-or-worse "
        << "alerts about no campaign: <b>" << summary.unmatched_episodes
        << "</b>.</p>\n<table class=\"campaigns\"><tr><th>campaign</th>"
           "<th>kind</th><th>interference</th><th>target</th><th>origin</th>"
           "<th>window</th><th>verdict</th><th>alerts</th>"
           "<th>first detection delay</th></tr>\n";
    for (const Campaign& c : campaigns) {
      const std::string cls = c.verdict == "found"         ? "found"
                              : c.verdict == "missed"      ? "missed"
                              : c.verdict == "false alarm" ? "false"
                                                           : "";
      out << "<tr><td>" << EscapeMarkup(c.name) << "</td><td>"
          << EscapeMarkup(c.kind) << "</td><td>"
          << (c.interference ? "yes" : "no (organic)") << "</td><td>"
          << EscapeMarkup(c.target) << "</td><td>"
          << EscapeMarkup(c.origin.empty() ? "-" : c.origin) << "</td><td>"
          << TimeText(c.start) << " to " << TimeText(c.end)
          << "</td><td class=\"" << cls << "\">" << EscapeMarkup(c.verdict)
          << "</td><td>" << c.episodes << "</td><td>"
          << (c.delay == absl::InfiniteDuration() ? "-" : Minutes(c.delay))
          << "</td></tr>\n";
    }
    out << "</table>\n";
  }

  out << "<h2 id=\"traffic\">Traffic by origin, with alerts</h2>\n"
         "<p class=\"note\">Shaded bands: alert episodes (blue info, orange "
         "warning, red critical), from the first window's start to the "
         "resolve; dashed boxes: the truth's campaign windows. Hover for "
         "details.</p>\n";
  for (const std::string& target : targets) {
    // The target's origins by volume: domestic, the top foreign ones, the
    // rest as "other foreign", unknown.
    std::vector<std::pair<int64_t, std::string>> origins;
    for (const auto& [key, minutes] : traffic.per_minute) {
      if (key.first != target) continue;
      int64_t n = 0;
      for (const auto& [m, c] : minutes) n += c;
      origins.emplace_back(-n, key.second);
    }
    std::sort(origins.begin(), origins.end());
    std::vector<Series> series;
    std::map<std::string, size_t> index;
    int foreign = 0;
    for (const auto& [n, label] : origins) {
      std::string name = label;
      if (label != "domestic" && label != "unknown") {
        name =
            ++foreign <= kMaxPlottedOrigins ? "from " + label : "other foreign";
      }
      if (index.count(name) == 0) {
        index[name] = series.size();
        series.push_back({name, std::vector<double>(buckets, 0)});
      }
      for (const auto& [minute, count] :
           traffic.per_minute.at({target, label})) {
        const int b = static_cast<int>(
            (absl::FromUnixSeconds(minute * 60) - start) / bucket);
        if (b >= 0 && b < buckets) {
          series[index[name]].values[b] += static_cast<double>(count);
        }
      }
    }
    std::vector<const Episode*> target_episodes;
    for (const Episode& e : *episodes) {
      if (e.target == target) target_episodes.push_back(&e);
    }
    std::vector<const Campaign*> target_campaigns;
    for (const Campaign& c : campaigns) {
      if (c.target == target) target_campaigns.push_back(&c);
    }
    out << "<h3>" << EscapeMarkup(target) << "</h3>\n"
        << Plot(target, series, start, bucket, buckets, target_episodes,
                target_campaigns);
  }

  out << "<h2 id=\"alerts\">Alerts</h2>\n<table class=\"alerts\"><tr>"
         "<th>alert id</th><th>severity</th><th>detector</th><th>target</th>"
         "<th>origin / subject</th><th>fired (window end)</th>"
         "<th>resolved</th>";
  if (!o.truth_path.empty()) out << "<th>campaign</th><th>delay</th>";
  out << "<th>observed / expected</th><th>score</th><th>evidence</th></tr>\n";
  for (const Episode& e : *episodes) {
    out << "<tr><td><code>" << EscapeMarkup(e.id)
        << "</code></td><td class=\"sev-" << EscapeMarkup(e.severity) << "\">"
        << EscapeMarkup(e.severity) << "</td><td>" << EscapeMarkup(e.detector)
        << "</td><td>" << EscapeMarkup(e.target) << "</td><td>"
        << EscapeMarkup(e.origin.empty() ? "-" : e.origin)
        << EscapeMarkup(e.subject.empty() ? "" : " / " + e.subject)
        << "</td><td>" << TimeText(e.fired) << "</td><td>"
        << (e.resolved == absl::InfiniteFuture() ? std::string("open")
                                                 : TimeText(e.resolved))
        << "</td>";
    if (!o.truth_path.empty()) {
      out << "<td>" << EscapeMarkup(e.campaign.empty() ? "-" : e.campaign)
          << "</td><td>"
          << (e.delay == absl::InfiniteDuration() ? "-" : Minutes(e.delay))
          << "</td>";
    }
    out << "<td>" << absl::StrFormat("%.0f / %.1f", e.observed, e.expected)
        << "</td><td>" << absl::StrFormat("%.1f", e.score) << "</td><td>"
        << EscapeMarkup(e.summary);
    for (const std::string& line : e.evidence)
      out << "<br>" << EscapeMarkup(line);
    out << "<br>" << e.samples << " sample events (<code>vigia explain --input "
        << EscapeMarkup(o.archive_path) << " --alert " << EscapeMarkup(e.id)
        << "</code>)</td></tr>\n";
  }
  out << "</table>\n<p class=\"note\">Written by vigia report; the plots are "
         "inline SVG and the page loads nothing else.</p>\n</body></html>\n";
  if (!out) return absl::UnavailableError("cannot write the report");
  return summary;
}

}  // namespace vigia
