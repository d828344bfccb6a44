// Reading scenarios (scenario.h): ParseScenario with the scenario reader
// (reader.h), LoadScenario of a bundled scenario or a file, and the duration
// syntax. The common parts are read here; what a campaign may say depends on
// its kind (kind.h), which reads its own section (trend, bursts, ...). A
// problem ValidateScenario finds afterwards is reported at its key's line.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pipeline/core/files.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/core/yaml_config.h"
#include "pipeline/gen/bundled_scenarios.h"
#include "pipeline/gen/checks.h"
#include "pipeline/gen/kind.h"
#include "pipeline/gen/reader.h"
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
using internal::YamlReader;

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

// Reads one scenario document: the common parts here, each campaign kind's
// own section through its KindSpec::parse.
class Reader : public YamlReader {
 public:
  explicit Reader(std::string_view source) : YamlReader(source) {}

  absl::StatusOr<Scenario> Read(const YAML::Node& yaml) {
    Scenario s = DefaultScenario();
    s.name.clear();
    s.description.clear();
    const ConfigNode root(yaml, "", ConfigNode::LineOf(yaml, 1), source());
    Note(root);
    if (!root.is_null()) VIGIA_RETURN_IF_ERROR(Top(root, &s));
    if (s.name.empty()) {
      // The file name without directories and extension.
      std::string_view stem = source();
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
      Note(node);
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
                  return UtcOffset(x, &t.utc_offset);
                }
                if (k == "currency") return Currency(x, &t.currency);
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

  absl::Status Campaigns(const ConfigNode& v,
                         std::vector<CampaignSpec>* campaigns) {
    campaigns->clear();
    if (v.is_null()) return absl::OkStatus();
    absl::StatusOr<std::vector<ConfigNode>> elements = List(v);
    if (!elements.ok()) return elements.status();
    for (const ConfigNode& node : *elements) {
      Note(node);
      absl::StatusOr<CampaignSpec> c = Campaign(node);
      if (!c.ok()) return c.status();
      campaigns->push_back(*std::move(c));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<CampaignSpec> Campaign(const ConfigNode& node) {
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
    const KindSpec& spec = Kind(c.kind);
    auto fields = [&](const std::string& k,
                      const ConfigNode& x) -> absl::Status {
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
      // One of the kind's own sections.
      if (spec.parse == nullptr) {
        return absl::InternalError(absl::StrCat(
            ToAbsl(spec.name), " takes key ", k, " but reads no section"));
      }
      return spec.parse(*this, k, x, &c);
    };
    VIGIA_RETURN_IF_ERROR(Map(node, CampaignKeys(c.kind), fields));
    VIGIA_RETURN_IF_ERROR(CheckRequired(node, spec));
    return c;
  }

  // The campaign at `node` has every key its kind requires.
  absl::Status CheckRequired(const ConfigNode& node, const KindSpec& spec) {
    std::vector<std::string_view> required = {"name", "target"};
    if (spec.takes_origin) required.push_back("origin");
    required.push_back("start");
    required.push_back("duration");
    if (spec.intensity == Intensity::kRatePerMin) {
      required.push_back("rate_per_min");
    }
    required.insert(required.end(), spec.required.begin(), spec.required.end());
    for (std::string_view key : required) {
      if (!Has(node.ChildPath(key))) {
        return node.Error(absl::StrCat("missing required key ", ToAbsl(key)));
      }
    }
    if ((spec.intensity == Intensity::kMultiplierOrRate ||
         spec.intensity == Intensity::kMultiplier) &&
        !Has(node.ChildPath("rate_multiplier")) &&
        !Has(node.ChildPath("rate_per_min"))) {
      return node.Error(spec.intensity == Intensity::kMultiplier
                            ? "missing required key rate_multiplier"
                            : "missing rate_multiplier or rate_per_min");
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
