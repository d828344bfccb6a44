// Reading scenarios (scenario.h): ParseScenario over the core's strict YAML
// reader, LoadScenario of a bundled scenario or a file, and the duration
// syntax. What a campaign may say depends on its kind (kind.h); a problem
// ValidateScenario finds afterwards is reported at its key's line.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pipeline/core/country.h"
#include "pipeline/core/files.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/core/yaml_config.h"
#include "pipeline/gen/bundled_scenarios.h"
#include "pipeline/gen/checks.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/scenario.h"
#include "pipeline/gen/validate.h"
#include "yaml-cpp/yaml.h"

namespace vigia::gen {
namespace {

using internal::FindProblem;
using internal::Intensity;
using internal::Kind;
using internal::KindSpec;
using internal::Problem;

// The keys a campaign of `kind` may have, in the order error messages list
// them.
std::vector<std::string_view> CampaignKeys(CampaignKind kind) {
  const KindSpec& spec = Kind(kind);
  std::vector<std::string_view> keys = {"name", "kind", "target"};
  if (spec.takes_origin) keys.push_back("origin");
  keys.insert(keys.end(), {"start", "duration"});
  keys.insert(keys.end(), spec.keys.begin(), spec.keys.end());
  return keys;
}

std::string KnownKinds() {
  std::vector<std::string> names;
  for (int k = 0; k < kNumCampaignKinds; ++k) {
    names.emplace_back(CampaignKindName(static_cast<CampaignKind>(k)));
  }
  return absl::StrJoin(names, ", ");
}

// ---------------------------------------------------------------------------
// YAML

absl::StatusOr<double> ParseNumber(std::string_view text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(text), "\" is not a number"));
  }
  return v;
}

absl::StatusOr<int64_t> ParseInteger(std::string_view text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(text), "\" is not an integer"));
  }
  return v;
}

absl::StatusOr<absl::Duration> ParseUtcOffset(std::string_view s) {
  if (s == "Z") return absl::ZeroDuration();
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(s), "\" is not an offset like +03:00"));
  }
  auto digits = [&](size_t pos) {
    return (s[pos] - '0') * 10 + (s[pos + 1] - '0');
  };
  for (size_t pos : {1, 2, 4, 5}) {
    if (s[pos] < '0' || s[pos] > '9') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", ToAbsl(s), "\" is not an offset like +03:00"));
    }
  }
  const int hours = digits(1), minutes = digits(4);
  if (hours > 14 || minutes > 59) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(s), "\" is out of range"));
  }
  const absl::Duration d = absl::Hours(hours) + absl::Minutes(minutes);
  return s[0] == '-' ? -d : d;
}

// Reads one scenario document with the core's strict YAML reader
// (pipeline/core/yaml_config.h: key paths, lines, duplicate keys, the
// "file:line: key.path: problem" errors config files share). Every key read
// records its line so that validation problems found afterwards can point
// at a line too.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  absl::StatusOr<Scenario> Read(const YAML::Node& yaml) {
    Scenario s = DefaultScenario();
    s.name.clear();
    s.description.clear();
    const ConfigNode root(yaml, "", ConfigNode::LineOf(yaml, 1), source_);
    lines_[""] = root.line();
    if (!root.is_null()) VIGIA_RETURN_IF_ERROR(Top(root, &s));
    if (s.name.empty()) {
      // The file name without directories and extension.
      std::string_view stem = source_;
      if (size_t slash = stem.rfind('/'); slash != std::string_view::npos) {
        stem.remove_prefix(slash + 1);
      }
      if (size_t dot = stem.find('.'); dot != std::string_view::npos) {
        stem = stem.substr(0, dot);
      }
      s.name = stem.empty() ? "custom" : std::string(stem);
    }
    if (std::optional<Problem> p = FindProblem(s)) return Fail(*p);
    return s;
  }

 private:
  // Calls fn(key, value) for each key of the mapping `node`, in document
  // order; a key not in `allowed` is an error naming those that are.
  template <typename F>
  absl::Status Map(const ConfigNode& node,
                   const std::vector<std::string_view>& allowed, F&& fn) {
    // A section present but empty (`disorder:`) keeps its defaults.
    if (node.is_null()) return absl::OkStatus();
    if (!node.yaml().IsMap()) return node.Error("must be a mapping");
    absl::StatusOr<ConfigMap> map = ConfigMap::Of(node);
    if (!map.ok()) return map.status();
    return map->ForEach([&](const std::string& name,
                            const ConfigNode& value) -> absl::Status {
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        return value.Error(absl::StrCat(
            "unknown key (expected one of: ",
            absl::StrJoin(
                allowed, ", ",
                [](std::string* out, std::string_view k) { out->append(k); }),
            ")"));
      }
      lines_[value.path()] = value.line();
      return fn(name, value);
    });
  }

  // Element i of a list. REQUIRES: i < the list's size.
  static ConfigNode Element(const ConfigNode& list, size_t i) {
    const YAML::Node element = list.yaml()[i];
    return ConfigNode(element, absl::StrCat(list.path(), "[", i, "]"),
                      ConfigNode::LineOf(element, list.line()), list.file());
  }

  // The elements of a list, or an error unless `v` is one.
  static absl::StatusOr<std::vector<ConfigNode>> List(const ConfigNode& v) {
    if (!v.yaml().IsSequence()) return v.Error("must be a list");
    return v.Elements();
  }

  absl::Status Top(const ConfigNode& root, Scenario* s) {
    return Map(
        root,
        {"version", "name", "description", "seed", "start", "duration",
         "background_scale", "daily_profile", "platforms", "accounts", "posts",
         "ads", "disorder", "bad_lines", "background", "targets", "campaigns"},
        [&](const std::string& key, const ConfigNode& v) -> absl::Status {
          if (key == "version") {
            int64_t version;
            VIGIA_RETURN_IF_ERROR(Int(v, &version));
            if (version != 1) return v.Error("only version 1 exists");
            return absl::OkStatus();
          }
          if (key == "name") return String(v, &s->name);
          if (key == "description") return String(v, &s->description);
          if (key == "seed") {
            int64_t seed;
            VIGIA_RETURN_IF_ERROR(Int(v, &seed));
            if (seed < 0) return v.Error("must be >= 0");
            s->seed = static_cast<uint64_t>(seed);
            return absl::OkStatus();
          }
          if (key == "start") return Time(v, &s->start);
          if (key == "duration") return Duration(v, &s->duration);
          if (key == "background_scale") {
            return Number(v, &s->background_scale);
          }
          if (key == "daily_profile") {
            return NumberList(v, &s->daily_profile);
          }
          if (key == "platforms") return Shares(v, &s->platforms);
          if (key == "accounts") return Accounts(v, &s->accounts);
          if (key == "posts") return Posts(v, &s->posts);
          if (key == "ads") return Ads(v, &s->ads);
          if (key == "disorder") return Disorder(v, &s->disorder);
          if (key == "bad_lines") return BadLines(v, &s->bad_lines);
          if (key == "background") {
            return Background(v, &s->background);
          }
          if (key == "targets") return Targets(v, &s->targets);
          return Campaigns(v, &s->campaigns);
        });
  }

  absl::Status Accounts(const ConfigNode& v, AccountSpec* a) {
    return Map(v,
               {"mean_posts_per_day", "zipf_exponent", "state_affiliated_share",
                "new_account_share"},
               [&](const std::string& k, const ConfigNode& x) {
                 if (k == "mean_posts_per_day") {
                   return Number(x, &a->mean_posts_per_day);
                 }
                 if (k == "zipf_exponent") {
                   return Number(x, &a->zipf_exponent);
                 }
                 if (k == "state_affiliated_share") {
                   return Number(x, &a->state_affiliated_share);
                 }
                 return Number(x, &a->new_account_share);
               });
  }

  absl::Status Posts(const ConfigNode& v, PostSpec* ps) {
    return Map(v,
               {"repost_share", "url_share", "target_language_share",
                "state_media_share"},
               [&](const std::string& k, const ConfigNode& x) {
                 if (k == "repost_share") {
                   return Number(x, &ps->repost_share);
                 }
                 if (k == "url_share") {
                   return Number(x, &ps->url_share);
                 }
                 if (k == "state_media_share") {
                   return Number(x, &ps->state_media_share);
                 }
                 return Number(x, &ps->target_language_share);
               });
  }

  absl::Status Ads(const ConfigNode& v, AdSpec* a) {
    return Map(v, {"foreign_payer_share", "missing_disclaimer_share"},
               [&](const std::string& k, const ConfigNode& x) {
                 if (k == "foreign_payer_share") {
                   return Number(x, &a->foreign_payer_share);
                 }
                 return Number(x, &a->missing_disclaimer_share);
               });
  }

  absl::Status Disorder(const ConfigNode& v, DisorderSpec* d) {
    return Map(v, {"jitter", "late_events", "late_by"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "jitter") return Duration(x, &d->jitter);
                 if (k == "late_by") return Duration(x, &d->late_by);
                 int64_t n;
                 VIGIA_RETURN_IF_ERROR(Int(x, &n));
                 if (n < 0 || n > 1000000) {
                   return x.Error("must be in [0, 1000000]");
                 }
                 d->late_events = static_cast<int>(n);
                 return absl::OkStatus();
               });
  }

  absl::Status Background(const ConfigNode& v, BackgroundSpec* b) {
    return Map(v, {"noise", "weekly_profile", "cascades", "news", "outage"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "weekly_profile") {
                   return NumberList(x, &b->weekly_profile);
                 }
                 if (k == "noise") {
                   return Map(x, {"cv", "memory"},
                              [&](const std::string& kk, const ConfigNode& y) {
                                if (kk == "cv") return Number(y, &b->noise_cv);
                                return Duration(y, &b->noise_memory);
                              });
                 }
                 if (k == "cascades") {
                   return Map(x, {"max_reposts", "tail", "delay"},
                              [&](const std::string& kk, const ConfigNode& y) {
                                if (kk == "max_reposts") {
                                  return Number(y, &b->cascade_max_reposts);
                                }
                                if (kk == "tail") {
                                  return Number(y, &b->cascade_tail);
                                }
                                return Duration(y, &b->cascade_delay);
                              });
                 }
                 if (k == "news") {
                   return Map(
                       x,
                       {"per_day", "peak", "rise", "decay", "foreign_response"},
                       [&](const std::string& kk,
                           const ConfigNode& y) -> absl::Status {
                         if (kk == "per_day")
                           return Number(y, &b->news_per_day);
                         if (kk == "rise") return Duration(y, &b->news_rise);
                         if (kk == "decay") return Duration(y, &b->news_decay);
                         if (kk == "foreign_response") {
                           return Number(y, &b->news_foreign_response);
                         }
                         if (!y.yaml().IsSequence() || y.yaml().size() != 2) {
                           return y.Error("must be a list of two numbers");
                         }
                         VIGIA_RETURN_IF_ERROR(
                             Number(Element(y, 0), &b->news_peak_min));
                         return Number(Element(y, 1), &b->news_peak_max);
                       });
                 }
                 return Map(x, {"start", "duration"},
                            [&](const std::string& kk, const ConfigNode& y) {
                              if (kk == "start") {
                                return Duration(y, &b->outage_start);
                              }
                              return Duration(y, &b->outage_duration);
                            });
               });
  }

  absl::Status BadLines(const ConfigNode& v, BadLineSpec* b) {
    return Map(v, {"rate", "kinds"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "rate") return Number(x, &b->rate);
                 return Map(x,
                            {"malformed_json", "truncated", "invalid_utf8",
                             "missing_field", "bad_country", "bad_time"},
                            [&](const std::string& kind, const ConfigNode& w) {
                              for (int i = 0; i < kNumBadLineKinds; ++i) {
                                if (BadLineKindName(
                                        static_cast<BadLineKind>(i)) == kind) {
                                  return Number(w, &b->weights[i]);
                                }
                              }
                              return absl::OkStatus();  // not reached
                            });
               });
  }

  absl::Status Targets(const ConfigNode& v, std::vector<TargetSpec>* targets) {
    absl::StatusOr<std::vector<ConfigNode>> elements = List(v);
    if (!elements.ok()) return elements.status();
    targets->clear();
    for (const ConfigNode& node : *elements) {
      lines_[node.path()] = node.line();
      TargetSpec t;
      t.ads_per_day = 50;
      bool has_offset = false, has_posts = false;
      absl::Status st =
          Map(node,
              {"country", "posts_per_hour", "ads_per_day", "utc_offset",
               "currency", "languages", "hashtags", "origins"},
              [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                if (k == "country") return Country(x, &t.country);
                if (k == "posts_per_hour") {
                  has_posts = true;
                  return Number(x, &t.posts_per_hour);
                }
                if (k == "ads_per_day") return Number(x, &t.ads_per_day);
                if (k == "utc_offset") {
                  has_offset = true;
                  std::string text;
                  VIGIA_RETURN_IF_ERROR(String(x, &text));
                  absl::StatusOr<absl::Duration> d = ParseUtcOffset(text);
                  if (!d.ok()) return x.Error(FromAbsl(d.status().message()));
                  t.utc_offset = *d;
                  return absl::OkStatus();
                }
                if (k == "currency") {
                  std::string text;
                  VIGIA_RETURN_IF_ERROR(String(x, &text));
                  t.currency = CurrencyCode::FromString(text);
                  if (!t.currency.known()) {
                    return x.Error("is not a three-letter ISO 4217 code");
                  }
                  return absl::OkStatus();
                }
                if (k == "languages") return StringList(x, &t.languages);
                if (k == "hashtags") return StringList(x, &t.hashtags);
                return OriginMix(x, &t.origins);
              });
      if (!st.ok()) return st;
      if (!t.country.known()) {
        return node.Error("missing required key country");
      }
      if (!has_posts) {
        return node.Error("missing required key posts_per_hour");
      }
      if (t.origins.empty()) {
        return node.Error("missing required key origins");
      }
      const CountryCode country = t.country;
      const absl::Duration offset = t.utc_offset;
      if (absl::Status fill = FillTargetDefaults(&t); !fill.ok()) {
        return node.Error(FromAbsl(fill.message()));
      }
      if (has_offset) t.utc_offset = offset;
      t.country = country;
      targets->push_back(std::move(t));
    }
    return absl::OkStatus();
  }

  absl::Status OriginMix(const ConfigNode& v, std::vector<OriginShare>* out) {
    if (!v.yaml().IsMap()) return v.Error("must be a mapping COUNTRY: share");
    absl::StatusOr<ConfigMap> map = ConfigMap::Of(v);
    if (!map.ok()) return map.status();
    out->clear();
    VIGIA_RETURN_IF_ERROR(map->ForEach(
        [&](const std::string& code, const ConfigNode& x) -> absl::Status {
          const CountryCode c = ParseCountry(code);
          if (!c.known()) return x.Error("is not an ISO 3166-1 alpha-2 code");
          lines_[x.path()] = x.line();
          double share;
          VIGIA_RETURN_IF_ERROR(Number(x, &share));
          out->push_back({c, share});
          return absl::OkStatus();
        }));
    std::sort(out->begin(), out->end(),
              [](const OriginShare& a, const OriginShare& b) {
                return a.country < b.country;
              });
    return absl::OkStatus();
  }

  absl::Status Campaigns(const ConfigNode& v,
                         std::vector<CampaignSpec>* campaigns) {
    campaigns->clear();
    if (v.is_null()) return absl::OkStatus();
    absl::StatusOr<std::vector<ConfigNode>> elements = List(v);
    if (!elements.ok()) return elements.status();
    for (const ConfigNode& node : *elements) {
      lines_[node.path()] = node.line();
      if (!node.yaml().IsMap()) return node.Error("must be a mapping");
      // The kind decides which keys are allowed and their defaults.
      absl::StatusOr<ConfigMap> keys = ConfigMap::Of(node);
      if (!keys.ok()) return keys.status();
      const std::optional<ConfigNode> kind_node = keys->Take("kind");
      if (!kind_node.has_value()) {
        return node.Error("missing required key kind");
      }
      std::string kind_name;
      VIGIA_RETURN_IF_ERROR(String(*kind_node, &kind_name));
      const std::optional<CampaignKind> kind = ParseCampaignKind(kind_name);
      if (!kind.has_value()) {
        return kind_node->Error(absl::StrCat("unknown campaign kind \"",
                                             kind_name,
                                             "\" (known: ", KnownKinds(), ")"));
      }
      CampaignSpec c = DefaultCampaign(*kind);
      std::set<std::string> present;
      auto fields = [&](const std::string& k,
                        const ConfigNode& x) -> absl::Status {
        present.insert(k);
        if (k == "kind") return absl::OkStatus();
        if (k == "name") return String(x, &c.name);
        if (k == "target") return Country(x, &c.target);
        if (k == "origin") return Country(x, &c.origin);
        if (k == "start") return CampaignStartKey(x, &c);
        if (k == "duration") return Duration(x, &c.duration);
        if (k == "ramp_in") return Duration(x, &c.ramp_in);
        if (k == "ramp_out") return Duration(x, &c.ramp_out);
        if (k == "rate_multiplier") return Number(x, &c.rate_multiplier);
        if (k == "rate_per_min") return Number(x, &c.rate_per_min);
        if (k == "network") return Network(x, c.kind, &c.network);
        if (k == "content") return Content(x, c.kind, &c.content);
        if (k == "trend") return Trend(x, &c.trend);
        if (k == "bursts") return Bursts(x, &c.bursts);
        if (k == "media") return Media(x, &c.media);
        if (k == "ads") return AdCampaign(x, &c.ads, &present);
        if (k == "clock") return Clock(x, &c.clock);
        return Link(x, &c.link);
      };
      if (absl::Status st = Map(node, CampaignKeys(c.kind), fields); !st.ok()) {
        return st;
      }
      const KindSpec& spec = Kind(c.kind);
      std::vector<std::string_view> required = {"name", "target"};
      if (spec.takes_origin) required.push_back("origin");
      required.push_back("start");
      required.push_back("duration");
      if (spec.intensity == Intensity::kRatePerMin) {
        required.push_back("rate_per_min");
      }
      required.insert(required.end(), spec.required.begin(),
                      spec.required.end());
      for (std::string_view key : required) {
        if (!present.contains(std::string(key))) {
          return node.Error(absl::StrCat("missing required key ", ToAbsl(key)));
        }
      }
      if ((spec.intensity == Intensity::kMultiplierOrRate ||
           spec.intensity == Intensity::kMultiplier) &&
          !present.contains("rate_multiplier") &&
          !present.contains("rate_per_min")) {
        return node.Error(spec.intensity == Intensity::kMultiplier
                              ? "missing required key rate_multiplier"
                              : "missing rate_multiplier or rate_per_min");
      }
      campaigns->push_back(std::move(c));
    }
    return absl::OkStatus();
  }

  absl::Status CampaignStartKey(const ConfigNode& x, CampaignSpec* c) {
    std::string text;
    VIGIA_RETURN_IF_ERROR(String(x, &text));
    if (text.find('T') != std::string::npos && text.find('-') != 0 &&
        text.find('-') != std::string::npos) {
      absl::StatusOr<absl::Time> t = ParseRfc3339(text);
      if (!t.ok()) return x.Error(FromAbsl(t.status().message()));
      c->start_at = *t;
      return absl::OkStatus();
    }
    absl::StatusOr<absl::Duration> d = ParseScenarioDuration(text);
    if (!d.ok()) {
      return x.Error(
          absl::StrCat(d.status().message(), "; or give an RFC 3339 time"));
    }
    c->start_offset = *d;
    return absl::OkStatus();
  }

  absl::Status Network(const ConfigNode& v, CampaignKind kind, NetworkSpec* n) {
    // Every account of a new_account_burst network is new; when they were
    // created is the knob instead.
    std::vector<std::string_view> keys = {"accounts", "state_affiliated_share",
                                          "platforms"};
    keys.push_back(Kind(kind).all_accounts_new ? "created_within"
                                               : "new_account_share");
    return Map(v, keys,
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "accounts") {
                   int64_t a;
                   VIGIA_RETURN_IF_ERROR(Int(x, &a));
                   if (a < 1 || a > 1000000) {
                     return x.Error("must be in [1, 1000000]");
                   }
                   n->accounts = static_cast<int>(a);
                   return absl::OkStatus();
                 }
                 if (k == "new_account_share") {
                   return Number(x, &n->new_account_share);
                 }
                 if (k == "state_affiliated_share") {
                   return Number(x, &n->state_affiliated_share);
                 }
                 if (k == "created_within") {
                   return Duration(x, &n->created_within);
                 }
                 return Shares(x, &n->platforms);
               });
  }

  absl::Status Content(const ConfigNode& v, CampaignKind kind, ContentSpec* c) {
    return Map(v, Kind(kind).content_keys,
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "lang") return String(x, &c->lang);
                 if (k == "messages") return StringList(x, &c->messages);
                 if (k == "urls") return StringList(x, &c->urls);
                 if (k == "hashtags") return StringList(x, &c->hashtags);
                 if (k == "repost_share") {
                   return Number(x, &c->repost_share);
                 }
                 return Number(x, &c->url_share);
               });
  }

  absl::Status Trend(const ConfigNode& v, TrendSpec* t) {
    return Map(v, {"hashtag", "origins", "url_share"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "hashtag") return String(x, &t->hashtag);
                 if (k == "origins") return OriginMix(x, &t->origins);
                 return Number(x, &t->url_share);
               });
  }

  absl::Status Bursts(const ConfigNode& v, BurstSpec* b) {
    return Map(v, {"url", "text", "repost", "accounts", "spread"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "spread") return Duration(x, &b->spread);
                 if (k == "accounts") {
                   int64_t lo, hi;
                   VIGIA_RETURN_IF_ERROR(IntPair(x, &lo, &hi));
                   if (lo < 2 || hi < lo || hi > 1000000) {
                     return x.Error("must be [min, max] with 2 <= min <= max");
                   }
                   b->min_accounts = static_cast<int>(lo);
                   b->max_accounts = static_cast<int>(hi);
                   return absl::OkStatus();
                 }
                 int64_t n;
                 VIGIA_RETURN_IF_ERROR(Int(x, &n));
                 if (n < 0 || n > 10000) {
                   return x.Error("must be in [0, 10000]");
                 }
                 (k == "url"    ? b->url
                  : k == "text" ? b->text
                                : b->repost) = static_cast<int>(n);
                 return absl::OkStatus();
               });
  }

  absl::Status Media(const ConfigNode& v, MediaSpec* m) {
    return Map(v, {"domains", "state", "articles", "repost_share"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "domains") return StringList(x, &m->domains);
                 if (k == "state") return Country(x, &m->state);
                 if (k == "repost_share") {
                   return Number(x, &m->repost_share);
                 }
                 int64_t n;
                 VIGIA_RETURN_IF_ERROR(Int(x, &n));
                 if (n < 1 || n > 10000) {
                   return x.Error("must be in [1, 10000]");
                 }
                 m->articles = static_cast<int>(n);
                 return absl::OkStatus();
               });
  }

  absl::Status AdCampaign(const ConfigNode& v, AdCampaignSpec* a,
                          std::set<std::string>* present) {
    return Map(v,
               {"per_hour", "payer", "pages", "spend", "currency",
                "missing_disclaimer_share"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 present->insert("ads." + k);
                 if (k == "per_hour") return Number(x, &a->per_hour);
                 if (k == "payer") return String(x, &a->payer);
                 if (k == "missing_disclaimer_share") {
                   return Number(x, &a->missing_disclaimer_share);
                 }
                 if (k == "spend") {
                   int64_t lo, hi;
                   VIGIA_RETURN_IF_ERROR(IntPair(x, &lo, &hi));
                   if (lo < 0 || hi < lo) {
                     return x.Error(
                         "must be [lower, upper] with 0 <= lower "
                         "<= upper");
                   }
                   a->spend_lower = lo;
                   a->spend_upper = hi;
                   return absl::OkStatus();
                 }
                 if (k == "currency") {
                   std::string text;
                   VIGIA_RETURN_IF_ERROR(String(x, &text));
                   a->currency = CurrencyCode::FromString(text);
                   if (!a->currency.known()) {
                     return x.Error("is not a three-letter ISO 4217 code");
                   }
                   return absl::OkStatus();
                 }
                 int64_t n;
                 VIGIA_RETURN_IF_ERROR(Int(x, &n));
                 if (n < 1 || n > 1000) {
                   return x.Error("must be in [1, 1000]");
                 }
                 a->pages = static_cast<int>(n);
                 return absl::OkStatus();
               });
  }

  absl::Status Clock(const ConfigNode& v, ClockSpec* c) {
    return Map(v, {"utc_offset", "work_hours", "posts_per_day"},
               [&](const std::string& k, const ConfigNode& x) -> absl::Status {
                 if (k == "utc_offset") {
                   std::string text;
                   VIGIA_RETURN_IF_ERROR(String(x, &text));
                   absl::StatusOr<absl::Duration> d = ParseUtcOffset(text);
                   if (!d.ok()) return x.Error(FromAbsl(d.status().message()));
                   c->utc_offset = *d;
                   c->has_utc_offset = true;
                   return absl::OkStatus();
                 }
                 if (k == "posts_per_day") {
                   return Number(x, &c->posts_per_day);
                 }
                 int64_t lo, hi;
                 VIGIA_RETURN_IF_ERROR(IntPair(x, &lo, &hi));
                 if (lo < 0 || hi > 24 || lo >= hi) {
                   return x.Error(
                       "must be [start, end) hours with 0 <= start "
                       "< end <= 24");
                 }
                 c->work_start = static_cast<int>(lo);
                 c->work_end = static_cast<int>(hi);
                 return absl::OkStatus();
               });
  }

  absl::Status Link(const ConfigNode& v, LinkSpec* l) {
    return Map(v, {"url"}, [&](const std::string&, const ConfigNode& x) {
      return String(x, &l->url);
    });
  }

  // Scalars.

  absl::Status String(const ConfigNode& v, std::string* out) {
    if (v.is_null()) return v.Error("needs a value");
    if (!v.yaml().IsScalar()) return v.Error("must be a scalar");
    *out = v.yaml().Scalar();
    return absl::OkStatus();
  }

  absl::Status Number(const ConfigNode& v, double* out) {
    std::string text;
    VIGIA_RETURN_IF_ERROR(String(v, &text));
    absl::StatusOr<double> d = ParseNumber(text);
    if (!d.ok()) return v.Error(FromAbsl(d.status().message()));
    *out = *d;
    return absl::OkStatus();
  }

  absl::Status Int(const ConfigNode& v, int64_t* out) {
    std::string text;
    VIGIA_RETURN_IF_ERROR(String(v, &text));
    absl::StatusOr<int64_t> i = ParseInteger(text);
    if (!i.ok()) return v.Error(FromAbsl(i.status().message()));
    *out = *i;
    return absl::OkStatus();
  }

  // A list of exactly two integers: [8, 15].
  absl::Status IntPair(const ConfigNode& v, int64_t* first, int64_t* second) {
    if (!v.yaml().IsSequence() || v.yaml().size() != 2) {
      return v.Error("must be a list of two integers");
    }
    VIGIA_RETURN_IF_ERROR(Int(Element(v, 0), first));
    return Int(Element(v, 1), second);
  }

  absl::Status Duration(const ConfigNode& v, absl::Duration* out) {
    std::string text;
    VIGIA_RETURN_IF_ERROR(String(v, &text));
    absl::StatusOr<absl::Duration> d = ParseScenarioDuration(text);
    if (!d.ok()) return v.Error(FromAbsl(d.status().message()));
    *out = *d;
    return absl::OkStatus();
  }

  absl::Status Time(const ConfigNode& v, absl::Time* out) {
    std::string text;
    VIGIA_RETURN_IF_ERROR(String(v, &text));
    absl::StatusOr<absl::Time> t = ParseRfc3339(text);
    if (!t.ok()) return v.Error(FromAbsl(t.status().message()));
    *out = *t;
    return absl::OkStatus();
  }

  absl::Status Country(const ConfigNode& v, CountryCode* out) {
    std::string text;
    VIGIA_RETURN_IF_ERROR(String(v, &text));
    *out = ParseCountry(text);
    if (!out->known()) {
      return v.Error(
          absl::StrCat("\"", text, "\" is not an ISO 3166-1 alpha-2 code"));
    }
    return absl::OkStatus();
  }

  absl::Status StringList(const ConfigNode& v, std::vector<std::string>* out) {
    absl::StatusOr<std::vector<ConfigNode>> elements = List(v);
    if (!elements.ok()) return elements.status();
    out->clear();
    for (const ConfigNode& element : *elements) {
      std::string s;
      VIGIA_RETURN_IF_ERROR(String(element, &s));
      out->push_back(std::move(s));
    }
    return absl::OkStatus();
  }

  absl::Status NumberList(const ConfigNode& v, std::vector<double>* out) {
    absl::StatusOr<std::vector<ConfigNode>> elements = List(v);
    if (!elements.ok()) return elements.status();
    out->clear();
    for (const ConfigNode& element : *elements) {
      double d;
      VIGIA_RETURN_IF_ERROR(Number(element, &d));
      out->push_back(d);
    }
    return absl::OkStatus();
  }

  absl::Status Shares(const ConfigNode& v, std::vector<NamedShare>* out) {
    if (!v.yaml().IsMap()) return v.Error("must be a mapping name: share");
    absl::StatusOr<ConfigMap> map = ConfigMap::Of(v);
    if (!map.ok()) return map.status();
    out->clear();
    VIGIA_RETURN_IF_ERROR(map->ForEach(
        [&](const std::string& name, const ConfigNode& x) -> absl::Status {
          lines_[x.path()] = x.line();
          double share;
          VIGIA_RETURN_IF_ERROR(Number(x, &share));
          out->push_back({name, share});
          return absl::OkStatus();
        }));
    std::sort(out->begin(), out->end(),
              [](const NamedShare& a, const NamedShare& b) {
                return a.name < b.name;
              });
    return absl::OkStatus();
  }

  // A problem found after reading: point at the line of its key path, or of
  // the nearest enclosing key that was read.
  absl::Status Fail(const Problem& p) {
    std::string path = p.path;
    int line = 1;
    while (true) {
      if (auto it = lines_.find(path); it != lines_.end()) {
        line = it->second;
        break;
      }
      const size_t cut = path.find_last_of(".[");
      if (cut == std::string::npos) {
        if (auto it = lines_.find(""); it != lines_.end()) line = it->second;
        break;
      }
      path.resize(cut);
    }
    return absl::InvalidArgumentError(absl::StrCat(
        ToAbsl(source_), ":", line, ": ", p.path, ": ", p.message));
  }

  std::string_view source_;
  std::map<std::string, int> lines_;
};

}  // namespace

absl::StatusOr<absl::Duration> ParseScenarioDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration \"", ToAbsl(text), "\": ", ToAbsl(why),
                     " (use units d, h, m, s, ms, e.g. \"1d14h30m\")"));
  };
  if (text.empty()) return bad("empty");
  absl::Duration total;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return bad("expected a number");
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > 1000000000) return bad("too large");
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    size_t j = i;
    while (j < text.size() && text[j] >= 'a' && text[j] <= 'z') ++j;
    const std::string_view unit = text.substr(i, j - i);
    if (unit == "d") {
      total += absl::Hours(24 * n);
    } else if (unit == "h") {
      total += absl::Hours(n);
    } else if (unit == "m") {
      total += absl::Minutes(n);
    } else if (unit == "s") {
      total += absl::Seconds(n);
    } else if (unit == "ms") {
      total += absl::Milliseconds(n);
    } else {
      return bad(unit.empty() ? "missing unit" : "unknown unit");
    }
    i = j;
  }
  return total;
}

absl::StatusOr<Scenario> ParseScenario(std::string_view yaml,
                                       std::string_view source) {
  // yaml-cpp reports errors by throwing; nothing it throws may escape.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    Reader reader(source);
    return reader.Read(root);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        ToAbsl(source), ":", e.mark.is_null() ? 0 : e.mark.line + 1,
        ": YAML syntax error: ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(source), ": cannot read scenario: ", e.what()));
  }
}

absl::StatusOr<Scenario> LoadScenario(std::string_view name_or_path) {
  const bool is_path = name_or_path.find('/') != std::string_view::npos ||
                       name_or_path.ends_with(".yaml") ||
                       name_or_path.ends_with(".yml");
  if (!is_path) {
    for (const internal::BundledScenario& b : internal::BundledScenarios()) {
      if (b.name == name_or_path) {
        return ParseScenario(b.yaml, absl::StrCat(ToAbsl(b.name), ".yaml"));
      }
    }
    return absl::NotFoundError(absl::StrCat(
        "unknown scenario \"", ToAbsl(name_or_path),
        "\" (bundled: ", absl::StrJoin(BundledScenarioNames(), ", "),
        "; a file path must contain '/' or end in .yaml)"));
  }
  const std::string path(name_or_path);
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxScenarioFileBytes, "scenario file");
  if (!text.ok()) return text.status();
  return ParseScenario(*text, path);
}

std::vector<std::string> BundledScenarioNames() {
  std::vector<std::string> names;
  for (const internal::BundledScenario& b : internal::BundledScenarios()) {
    names.emplace_back(b.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace vigia::gen
