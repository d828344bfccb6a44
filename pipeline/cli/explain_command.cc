// `vigia explain`: replays an archive up to one alert and prints its
// evidence chain for a person: the claim, the window, the baseline it was
// compared with, who and what drove it, and sample events quoted from the
// archive by file and line, so each step can be checked by hand.
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "pipeline/campaigns.h"
#include "pipeline/cli/alert_finder.h"
#include "pipeline/cli/commands.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/reader.h"
#include "simdjson.h"

namespace vigia::cli {
namespace {

std::string Tallies(const std::vector<Tally>& tallies) {
  std::vector<std::string> parts;
  for (const Tally& t : tallies) {
    parts.push_back(t.error > 0 ? absl::StrFormat("%s (%d, at most %d over)",
                                                  t.value, t.count, t.error)
                                : absl::StrFormat("%s (%d)", t.value, t.count));
  }
  return parts.empty() ? "(none)" : absl::StrJoin(parts, ", ");
}

// Reads the given lines of the archive back, for quoting.
std::map<int64_t, std::string> ReadLines(const std::string& path,
                                         const std::set<int64_t>& wanted) {
  std::map<int64_t, std::string> out;
  if (wanted.empty()) return out;
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(path);
  if (!reader.ok()) return out;
  const int64_t last = *wanted.rbegin();
  while (true) {
    absl::StatusOr<Line> line = (*reader)->Next();
    if (!line.ok() || line->number > last) break;
    if (wanted.count(line->number) > 0)
      out[line->number] = std::string(line->bytes);
  }
  return out;
}

std::string Quote(const std::string& line, size_t max) {
  if (line.size() <= max) return line;
  // Cut on a UTF-8 character boundary, never inside one.
  while (max > 0 && (static_cast<unsigned char>(line[max]) & 0xC0) == 0x80) {
    --max;
  }
  return absl::StrCat(line.substr(0, max), "...");
}

std::map<int64_t, std::string> SampleLines(const Alert& a,
                                           const std::string& input);

void Print(const Alert& a, const std::string& input,
           const std::string& config_arg,
           const std::optional<Campaign>& campaign) {
  const Evidence& e = a.evidence;
  std::printf("Alert %s\n", a.id.c_str());
  std::printf("  detector     %s (%s, %s)\n", a.detector.c_str(),
              std::string(AlertStateName(a.state)).c_str(),
              std::string(SeverityName(a.severity)).c_str());
  std::printf("  claim        %s\n", a.summary.c_str());
  std::printf("  aimed at     %s", a.target.str().c_str());
  if (a.origin.known()) std::printf(", from %s", a.origin.str().c_str());
  if (!a.subject.empty()) {
    std::printf(", %s %s", a.subject_kind.c_str(), a.subject.c_str());
  }
  if (campaign) {
    std::printf("\n  campaign     %s (as of this alert: %zu alert%s, %s)",
                campaign->id.c_str(), campaign->alerts.size(),
                campaign->alerts.size() == 1 ? "" : "s",
                absl::StrJoin(campaign->detectors, ", ").c_str());
  }
  std::printf("\n  window       %s .. %s (event time, %s)\n",
              FormatRfc3339(a.window_start).c_str(),
              FormatRfc3339(a.window_end).c_str(),
              absl::FormatDuration(a.window_end - a.window_start).c_str());
  std::printf("\nThe comparison\n");
  std::printf("  observed     %.6g\n", a.observed);
  std::printf("  expected     %.6g  (what this key's own past predicts)\n",
              a.expected);
  std::printf("  effect size  %.3gx  ((observed + 1) / (expected + 1))\n",
              a.ratio);
  std::printf("  score        %.3f  (the %s threshold is %.3f)\n", a.score,
              std::string(SeverityName(a.severity)).c_str(), a.threshold);
  if (!e.baseline.empty()) {
    std::printf("  baseline     ");
    std::vector<std::string> parts;
    for (const auto& [name, value] : e.baseline) {
      parts.push_back(absl::StrFormat("%s=%.6g", name, value));
    }
    std::printf("%s\n", absl::StrJoin(parts, ", ").c_str());
  }
  std::printf("\nWho and what drove it (counts in the window)\n");
  std::printf("  accounts     %s\n", Tallies(e.top_accounts).c_str());
  std::printf("  urls         %s\n", Tallies(e.top_urls).c_str());
  std::printf("  hashtags     %s\n", Tallies(e.top_hashtags).c_str());
  for (const auto& [name, tallies] : e.other_tops) {
    std::printf("  %-12s %s\n", name.c_str(), Tallies(tallies).c_str());
  }

  if (e.reach) {
    const Reach& r = *e.reach;
    std::printf("\nReach (who could have seen it)\n");
    const bool posts = r.accounts > 0 || r.posts_without_followers > 0 ||
                       r.reposts > 0 || r.reported_reposts > 0;
    const bool ads = r.ads_with_impressions + r.ads_without_impressions > 0;
    if (posts) {
      std::printf("  followers    %lld%s of %lld posting account%s",
                  static_cast<long long>(r.followers),
                  r.estimated ? " (estimated)" : "",
                  static_cast<long long>(r.accounts),
                  r.accounts == 1 ? "" : "s");
      if (r.posts_without_followers > 0) {
        std::printf("; %lld post%s without a follower count",
                    static_cast<long long>(r.posts_without_followers),
                    r.posts_without_followers == 1 ? "" : "s");
      }
      std::printf(
          "\n  reposts      %lld in the window, %lld reported by the "
          "platform\n",
          static_cast<long long>(r.reposts),
          static_cast<long long>(r.reported_reposts));
    }
    if (!posts && !ads)
      std::printf("  (no records with an audience to count)\n");
    if (ads) {
      std::printf("  impressions  %.0f to %.0f over %lld ad%s",
                  r.impressions_lower, r.impressions_upper,
                  static_cast<long long>(r.ads_with_impressions),
                  r.ads_with_impressions == 1 ? "" : "s");
      if (r.ads_without_impressions > 0) {
        std::printf("; %lld ad%s without a range",
                    static_cast<long long>(r.ads_without_impressions),
                    r.ads_without_impressions == 1 ? "" : "s");
      }
      std::printf("\n");
    }
  }

  const std::map<int64_t, std::string> lines = SampleLines(a, input);
  std::printf("\nSample events (%zu), each with where its original bytes are\n",
              e.samples.size());
  for (const SampleEvent& s : e.samples) {
    std::printf("  %s by %s at %s", s.id.c_str(), s.account.c_str(),
                FormatRfc3339(s.created_at).c_str());
    if (s.partition >= 0) {
      std::printf("  [%s partition %d offset %lld]", s.source.c_str(),
                  s.partition, static_cast<long long>(s.position));
    } else {
      std::printf("  [%s:%lld]", s.source.c_str(),
                  static_cast<long long>(s.position));
    }
    if (!s.note.empty()) std::printf("  (%s)", s.note.c_str());
    std::printf("\n");
    if (auto it = lines.find(s.position);
        it != lines.end() && s.partition < 0) {
      std::printf("      > %s\n", Quote(it->second, 300).c_str());
    }
  }
  std::printf("\nReproduce\n  vigia replay --input %s%s  (config_hash %s)\n",
              input.c_str(), config_arg.c_str(), a.config_hash.c_str());
}

// The quoted archive lines of an alert's samples, by line number.
std::map<int64_t, std::string> SampleLines(const Alert& a,
                                           const std::string& input) {
  std::set<int64_t> wanted;
  for (const SampleEvent& s : a.evidence.samples) {
    if (s.partition < 0 && s.source == input) wanted.insert(s.position);
  }
  return ReadLines(input, wanted);
}

// --json: one object a program can read: the alert record as it was
// emitted, each sample's original bytes (as `raw` when valid UTF-8, else
// `raw_base64`, as dead letters carry them), the command that reproduces it,
// and with --lifecycle every record with the id.
void PrintJson(const std::vector<Alert>& records, const std::string& input,
               const std::string& config_arg, bool lifecycle,
               const std::optional<Campaign>& campaign) {
  const Alert& a = records.front();
  const std::map<int64_t, std::string> lines = SampleLines(a, input);
  JsonWriter w;
  w.BeginObject();
  w.Key("alert");
  w.Raw(AlertToJson(a));
  w.Key("campaign");
  if (campaign) {
    w.BeginObject();
    w.Field("id", campaign->id);
    w.Key("alerts");
    w.BeginArray();
    for (const std::string& id : campaign->alerts) w.String(id);
    w.EndArray();
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("sample_lines");
  w.BeginArray();
  for (const auto& [number, bytes] : lines) {
    w.BeginObject();
    w.Field("source", input);
    w.Field("line", number);
    if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
      w.Field("raw", bytes);
    } else {
      w.Field("raw_base64", absl::Base64Escape(bytes));
    }
    w.EndObject();
  }
  w.EndArray();
  w.Field("reproduce",
          absl::StrCat("vigia replay --input ", input, config_arg));
  if (lifecycle) {
    w.Key("lifecycle");
    w.BeginArray();
    for (const Alert& r : records) w.Raw(AlertToJson(r));
    w.EndArray();
  }
  w.EndObject();
  std::printf("%s\n", std::string(w.view()).c_str());
}

absl::Status RunExplain(const ParsedFlags& flags) {
  absl::StatusOr<Config> config = LoadConfigFlag(flags);
  if (!config.ok()) return config.status();
  const std::string input = flags.get("input");
  const std::string id = flags.get("alert");
  const bool lifecycle = flags.has("lifecycle");
  absl::StatusOr<FoundAlert> found =
      ReplayToAlert(*config, input, input, id, lifecycle);
  if (!found.ok()) return found.status();
  const std::string config_arg =
      flags.has("config") ? absl::StrCat(" --config ", flags.get("config"))
                          : "";
  if (flags.has("json")) {
    PrintJson(found->records, input, config_arg, lifecycle, found->campaign);
    return absl::OkStatus();
  }
  Print(found->records.front(), input, config_arg, found->campaign);
  if (lifecycle) {
    std::printf("\nLifecycle (every record with this id)\n");
    for (const Alert& a : found->records) {
      std::printf("  %-8s %-8s window ends %s  observed %.6g expected %.6g\n",
                  std::string(AlertStateName(a.state)).c_str(),
                  std::string(SeverityName(a.severity)).c_str(),
                  FormatRfc3339(a.window_end).c_str(), a.observed, a.expected);
    }
  }
  return absl::OkStatus();
}

}  // namespace

Command ExplainCommand() {
  Command c;
  c.spec = {
      "explain",
      "replay an archive up to one alert and print its evidence chain",
      "Replays FILE with the same config as the run that raised the alert "
      "(ids depend on\n"
      "both), stops at the alert, and prints what it claims, the window, "
      "the baseline it\n"
      "was compared with, the accounts, URLs and hashtags that drove it, and "
      "its sample\n"
      "events quoted from the archive by file and line.",
      {{"input", "FILE", "the archived feed the alert came from", true},
       {"alert", "ID", "the alert id (or a prefix of at least 8 characters)",
        true},
       {"config", "FILE", "the config of the original run (default: defaults)"},
       {"lifecycle", "",
        "replay to the end and list every record with this id (escalations, "
        "resolution)"},
       {"json", "",
        "print one JSON object instead: the alert record, its samples' "
        "original lines, the command that reproduces it (and the lifecycle)"}}};
  c.run = RunExplain;
  return c;
}

}  // namespace vigia::cli
