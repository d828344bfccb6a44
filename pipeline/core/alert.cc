#include "pipeline/core/alert.h"

#include "absl/strings/str_cat.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

void WriteTallies(std::string_view key, const std::vector<Tally>& tallies,
                  JsonWriter& w) {
  w.Key(key);
  w.BeginArray();
  for (const Tally& t : tallies) {
    w.BeginObject();
    w.Field("value", t.value);
    w.Field("count", t.count);
    if (t.error > 0) w.Field("error", t.error);
    w.EndObject();
  }
  w.EndArray();
}

void WriteReach(const Reach& r, JsonWriter& w) {
  w.Key("reach");
  w.BeginObject();
  w.Field("accounts", r.accounts);
  w.Field("followers", r.followers);
  w.Field("estimated", r.estimated);
  w.Field("posts_without_followers", r.posts_without_followers);
  w.Field("reposts", r.reposts);
  w.Field("reported_reposts", r.reported_reposts);
  w.Field("ads_with_impressions", r.ads_with_impressions);
  w.Key("impressions");
  w.BeginObject();
  w.Field("lower", r.impressions_lower);
  w.Field("upper", r.impressions_upper);
  w.EndObject();
  w.Field("ads_without_impressions", r.ads_without_impressions);
  w.EndObject();
}

}  // namespace

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "unknown";
}

std::string_view AlertStateName(AlertState s) {
  return s == AlertState::kFiring ? "firing" : "resolved";
}

std::string MakeAlertId(std::string_view detector, std::string_view key,
                        absl::Time episode_start, Severity severity,
                        std::string_view config_hash) {
  const std::string material =
      absl::StrCat(ToAbsl(detector), "\x1f", ToAbsl(key), "\x1f",
                   absl::ToUnixMicros(episode_start), "\x1f",
                   ToAbsl(SeverityName(severity)), "\x1f", ToAbsl(config_hash));
  return Sha256Hex(material).substr(0, 20);
}

std::string AlertToJson(const Alert& a) {
  JsonWriter w;
  w.BeginObject();
  w.Field("id", a.id);
  w.Field("detector", a.detector);
  w.Field("state", AlertStateName(a.state));
  w.Field("severity", SeverityName(a.severity));
  w.Field("target", a.target.str());
  w.Key("origin");
  if (a.origin.known()) {
    w.String(a.origin.str());
  } else {
    w.Null();
  }
  if (!a.subject.empty()) {
    w.Field("subject_kind", a.subject_kind);
    w.Field("subject", a.subject);
  }
  w.Field("window_start", FormatRfc3339(a.window_start));
  w.Field("window_end", FormatRfc3339(a.window_end));
  w.Field("observed", a.observed);
  w.Field("expected", a.expected);
  w.Field("ratio", a.ratio);
  w.Field("score", a.score);
  w.Field("threshold", a.threshold);
  w.Field("summary", a.summary);
  w.Key("evidence");
  w.BeginObject();
  WriteTallies("top_accounts", a.evidence.top_accounts, w);
  WriteTallies("top_urls", a.evidence.top_urls, w);
  WriteTallies("top_hashtags", a.evidence.top_hashtags, w);
  for (const auto& [name, tallies] : a.evidence.other_tops) {
    WriteTallies(name, tallies, w);
  }
  w.Key("samples");
  w.BeginArray();
  for (const SampleEvent& s : a.evidence.samples) {
    w.BeginObject();
    w.Field("id", s.id);
    w.Field("account", s.account);
    w.Field("created_at", FormatRfc3339(s.created_at));
    w.Key("source");
    w.BeginObject();
    if (s.partition >= 0) {
      w.Field("topic", s.source);
      w.Field("partition", static_cast<int64_t>(s.partition));
      w.Field("offset", s.position);
    } else {
      w.Field("file", s.source);
      w.Field("line", s.position);
    }
    w.EndObject();
    if (!s.note.empty()) w.Field("note", s.note);
    w.EndObject();
  }
  w.EndArray();
  w.Key("baseline");
  w.BeginObject();
  for (const auto& [name, value] : a.evidence.baseline) w.Field(name, value);
  w.EndObject();
  if (a.evidence.reach) WriteReach(*a.evidence.reach, w);
  w.EndObject();
  w.Field("config_hash", a.config_hash);
  if (!a.campaign.empty()) w.Field("campaign", a.campaign);
  w.EndObject();
  return w.Release();
}

}  // namespace vigia
