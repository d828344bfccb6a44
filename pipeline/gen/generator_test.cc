#include "pipeline/gen/generator.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/country.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/scenario.h"
#include "simdjson.h"

namespace vigia::gen {
namespace {

using ::testing::HasSubstr;

// A short scenario: one target, four hours from 08:00 UTC (11:00 in
// Chisinau), a 6x surge for two hours in the middle, many bad lines.
constexpr std::string_view kSurgeYaml = R"(
name: test
seed: 7
start: 2026-05-10T08:00:00Z
duration: 4h
disorder: {jitter: 5s, late_events: 4, late_by: 30m}
bad_lines: {rate: 0.02}
targets:
  - country: MD
    posts_per_hour: 700
    ads_per_day: 240
    origins: {MD: 0.54, RU: 0.14, RO: 0.10, IT: 0.08, DE: 0.05, UA: 0.04,
              US: 0.03, FR: 0.02}
campaigns:
  - name: surge
    kind: foreign_origin_surge
    target: MD
    origin: RU
    start: 1h
    duration: 2h
    rate_multiplier: 6
    network: {accounts: 30}
)";

Scenario MustParse(std::string_view yaml) {
  absl::StatusOr<Scenario> s = ParseScenario(yaml, "test.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

struct Output {
  std::string feed;
  GenerateResult result;
};

Output GenerateToString(const Scenario& s) {
  std::ostringstream out;
  absl::StatusOr<GenerateResult> r = Generate(s, out);
  EXPECT_TRUE(r.ok()) << r.status();
  return Output{out.str(), r.ok() ? *r : GenerateResult{}};
}

std::vector<std::string_view> Lines(std::string_view feed) {
  std::vector<std::string_view> lines;
  while (!feed.empty()) {
    const size_t nl = feed.find('\n');
    EXPECT_NE(nl, std::string_view::npos) << "last line lacks a newline";
    if (nl == std::string_view::npos) break;
    lines.push_back(feed.substr(0, nl));
    feed.remove_prefix(nl + 1);
  }
  return lines;
}

// What a line is, judged independently of the generator: by simdjson and by
// the feed contract.
enum class Kind {
  kPost,
  kAd,
  kMalformedJson,
  kTruncated,
  kInvalidUtf8,
  kMissingField,
  kBadCountry,
  kBadTime,
  kOther,  // breaks the contract in a way no bad-line kind explains
};

struct Line {
  Kind kind = Kind::kOther;
  std::string problem;  // for kOther
  std::string id;
  std::string platform;
  absl::Time created_at;
  std::string target;
  std::string origin;  // account country or payer country
  std::string account;
  absl::Time account_created_at;
  bool state_affiliated = false;
  std::string currency;
  std::string text;
  std::vector<std::string> urls;
  std::vector<std::string> hashtags;
  std::string repost_of;  // empty for an original
};

class Classifier {
 public:
  Line Classify(std::string_view text) {
    Line line;
    simdjson::padded_string padded(text);
    simdjson::dom::element doc;
    const simdjson::error_code err = parser_.parse(padded).get(doc);
    if (err == simdjson::UTF8_ERROR) {
      line.kind = Kind::kInvalidUtf8;
      return line;
    }
    if (err) {
      line.kind = !text.empty() && text.back() == '}' ? Kind::kMalformedJson
                                                      : Kind::kTruncated;
      return line;
    }
    simdjson::dom::object obj;
    if (doc.get(obj)) return Other(line, "not an object");
    for (const char* key : {"id", "created_at", "target"}) {
      if (obj[key].error() == simdjson::NO_SUCH_FIELD) {
        line.kind = Kind::kMissingField;
        return line;
      }
    }
    if (!String(obj, "id", &line.id) || line.id.empty()) {
      return Other(line, "id");
    }
    if (!String(obj, "platform", &line.platform))
      return Other(line, "platform");
    std::string time;
    if (!String(obj, "created_at", &time)) return Other(line, "created_at");
    absl::StatusOr<absl::Time> t = ParseRfc3339(time);
    if (!t.ok()) {
      line.kind = Kind::kBadTime;
      return line;
    }
    line.created_at = *t;
    if (!String(obj, "target", &line.target)) return Other(line, "target");
    if (!ParseCountry(line.target).known()) {
      line.kind = Kind::kBadCountry;
      return line;
    }
    simdjson::dom::object payer;
    if (obj["payer"].get(payer) == simdjson::SUCCESS)
      return Ad(obj, payer, line);
    return Post(obj, line);
  }

 private:
  static Line Other(Line& line, std::string problem) {
    line.kind = Kind::kOther;
    line.problem = std::move(problem);
    return line;
  }
  static bool String(simdjson::dom::object o, const char* key,
                     std::string* out) {
    std::string_view v;
    if (o[key].get(v)) return false;
    *out = std::string(v);
    return true;
  }
  static bool Strings(simdjson::dom::object o, const char* key,
                      std::vector<std::string>* out) {
    simdjson::dom::array a;
    if (o[key].get(a)) return false;
    for (simdjson::dom::element e : a) {
      std::string_view v;
      if (e.get(v)) return false;
      out->emplace_back(v);
    }
    return true;
  }
  static bool RangeOk(simdjson::dom::object o, const char* key) {
    simdjson::dom::object r;
    int64_t lower, upper;
    return !o[key].get(r) && !r["lower"].get(lower) && !r["upper"].get(upper) &&
           lower >= 0 && lower <= upper;
  }

  Line Post(simdjson::dom::object obj, Line& line) {
    simdjson::dom::object account;
    if (obj["account"].get(account)) return Other(line, "account");
    if (!String(account, "id", &line.account)) return Other(line, "account.id");
    std::string time;
    if (!String(account, "created_at", &time) || !ParseRfc3339(time).ok()) {
      return Other(line, "account.created_at");
    }
    line.account_created_at = *ParseRfc3339(time);
    if (!String(account, "country", &line.origin)) {
      return Other(line, "account.country");
    }
    if (!ParseCountry(line.origin).known()) {
      line.kind = Kind::kBadCountry;
      return line;
    }
    bool state;
    int64_t followers;
    if (account["state_affiliated"].get(state)) {
      return Other(line, "state_affiliated");
    }
    line.state_affiliated = state;
    if (account["followers"].get(followers) || followers < 0) {
      return Other(line, "followers");
    }
    std::string lang;
    if (!String(obj, "lang", &lang) || lang.empty()) return Other(line, "lang");
    if (!String(obj, "text", &line.text)) return Other(line, "text");
    if (!Strings(obj, "urls", &line.urls)) return Other(line, "urls");
    if (!Strings(obj, "hashtags", &line.hashtags)) {
      return Other(line, "hashtags");
    }
    simdjson::dom::element repost;
    if (obj["repost_of"].get(repost) ||
        !(repost.is_null() || repost.is_string())) {
      return Other(line, "repost_of");
    }
    if (repost.is_string()) {
      line.repost_of = std::string(repost.get_string().value());
    }
    line.kind = Kind::kPost;
    return line;
  }

  Line Ad(simdjson::dom::object obj, simdjson::dom::object payer, Line& line) {
    std::string name, page;
    if (!String(obj, "page_id", &page) || page.empty()) {
      return Other(line, "page_id");
    }
    if (!String(payer, "name", &name) || name.empty()) {
      return Other(line, "payer.name");
    }
    if (!String(payer, "country", &line.origin)) {
      return Other(line, "payer.country");
    }
    if (!ParseCountry(line.origin).known()) {
      line.kind = Kind::kBadCountry;
      return line;
    }
    if (!String(obj, "currency", &line.currency) ||
        !CurrencyCode::FromString(line.currency).known()) {
      return Other(line, "currency");
    }
    if (!RangeOk(obj, "spend")) return Other(line, "spend");
    if (!RangeOk(obj, "impressions")) return Other(line, "impressions");
    std::vector<std::string> languages;
    if (!Strings(obj, "languages", &languages) || languages.empty()) {
      return Other(line, "languages");
    }
    simdjson::dom::element disclaimer;
    if (obj["disclaimer"].get(disclaimer) ||
        !(disclaimer.is_null() || disclaimer.is_string())) {
      return Other(line, "disclaimer");
    }
    line.kind = Kind::kAd;
    return line;
  }

  simdjson::dom::parser parser_;
};

// The ground truth, parsed.
struct Truth {
  int64_t lines = -1, events = -1, posts = -1, ads = -1, late_events = -1;
  std::map<std::string, int64_t> bad;
  std::vector<std::string> late_ids;
  struct Campaign {
    std::string name, kind, target, origin;
    bool has_detector = false;
    bool interference = false;
    absl::Time start, end;
    int64_t events = -1, accounts = -1;
    std::set<std::string> account_ids;
    std::vector<std::string> urls, hashtags;
  };
  std::vector<Campaign> campaigns;
};

Truth ParseTruth(const std::string& json) {
  Truth t;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::object root;
  EXPECT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << json;
  EXPECT_EQ(root["lines"].get(t.lines), simdjson::SUCCESS);
  EXPECT_EQ(root["events"].get(t.events), simdjson::SUCCESS);
  EXPECT_EQ(root["posts"].get(t.posts), simdjson::SUCCESS);
  EXPECT_EQ(root["ads"].get(t.ads), simdjson::SUCCESS);
  EXPECT_EQ(root["late_events"].get(t.late_events), simdjson::SUCCESS);
  simdjson::dom::object bad;
  EXPECT_EQ(root["bad_lines"].get(bad), simdjson::SUCCESS);
  for (auto field : bad) {
    int64_t n = -1;
    EXPECT_EQ(field.value.get(n), simdjson::SUCCESS);
    t.bad[std::string(field.key)] = n;
  }
  simdjson::dom::array late;
  EXPECT_EQ(root["late_event_ids"].get(late), simdjson::SUCCESS);
  for (simdjson::dom::element e : late) {
    std::string_view id;
    EXPECT_EQ(e.get(id), simdjson::SUCCESS);
    t.late_ids.emplace_back(id);
  }
  simdjson::dom::array campaigns;
  EXPECT_EQ(root["campaigns"].get(campaigns), simdjson::SUCCESS);
  for (simdjson::dom::element e : campaigns) {
    Truth::Campaign c;
    std::string_view sv;
    auto str = [&](const char* key) {
      EXPECT_EQ(e[key].get(sv), simdjson::SUCCESS) << key;
      return std::string(sv);
    };
    c.name = str("name");
    c.kind = str("kind");
    c.target = str("target");
    c.origin = str("origin");
    c.start = *ParseRfc3339(str("start"));
    c.end = *ParseRfc3339(str("end"));
    c.has_detector = e["detector"].is_string();
    EXPECT_EQ(e["interference"].get(c.interference), simdjson::SUCCESS);
    EXPECT_EQ(e["events"].get(c.events), simdjson::SUCCESS);
    EXPECT_EQ(e["accounts"].get(c.accounts), simdjson::SUCCESS);
    simdjson::dom::array list;
    if (e["account_ids"].get(list) == simdjson::SUCCESS) {
      for (simdjson::dom::element id : list) {
        c.account_ids.emplace(std::string_view(id.get_string()));
      }
    }
    if (e["urls"].get(list) == simdjson::SUCCESS) {
      for (simdjson::dom::element u : list) {
        c.urls.emplace_back(std::string_view(u.get_string()));
      }
    }
    if (e["hashtags"].get(list) == simdjson::SUCCESS) {
      for (simdjson::dom::element h : list) {
        c.hashtags.emplace_back(std::string_view(h.get_string()));
      }
    }
    t.campaigns.push_back(std::move(c));
  }
  return t;
}

// Posts of `target` from `origin` created in [from, to).
int64_t CountPair(const std::vector<Line>& lines, std::string_view target,
                  std::string_view origin, absl::Time from, absl::Time to) {
  int64_t n = 0;
  for (const Line& l : lines) {
    if (l.kind == Kind::kPost && l.target == target && l.origin == origin &&
        l.created_at >= from && l.created_at < to) {
      ++n;
    }
  }
  return n;
}

std::vector<Line> ClassifyAll(const std::string& feed) {
  Classifier c;
  std::vector<Line> out;
  for (std::string_view l : Lines(feed)) out.push_back(c.Classify(l));
  return out;
}

// The surge scenario and its campaign-free twin are generated once and
// shared by the tests that only read them, to keep the suite quick.
const Output& SurgeRun() {
  static const Output* out =
      new Output(GenerateToString(MustParse(kSurgeYaml)));
  return *out;
}
const std::vector<Line>& SurgeLines() {
  static const std::vector<Line>* lines =
      new std::vector<Line>(ClassifyAll(SurgeRun().feed));
  return *lines;
}
const Output& QuietRun() {
  static const Output* out = [] {
    Scenario s = MustParse(kSurgeYaml);
    s.campaigns.clear();
    return new Output(GenerateToString(s));
  }();
  return *out;
}
const std::vector<Line>& QuietLines() {
  static const std::vector<Line>* lines =
      new std::vector<Line>(ClassifyAll(QuietRun().feed));
  return *lines;
}

TEST(Generator, SameScenarioAndSeedGiveByteIdenticalOutput) {
  const Output& a = SurgeRun();
  const Output b = GenerateToString(MustParse(kSurgeYaml));
  ASSERT_GT(a.result.events, 1000);
  EXPECT_TRUE(a.feed == b.feed);  // not EXPECT_EQ: megabytes of diff
  EXPECT_EQ(a.result.truth_json, b.result.truth_json);
}

TEST(Generator, DifferentSeedGivesDifferentOutput) {
  Scenario s = MustParse(kSurgeYaml);
  const Output& a = SurgeRun();
  s.seed += 1;
  const Output b = GenerateToString(s);
  EXPECT_FALSE(a.feed == b.feed);
  EXPECT_NE(a.result.truth_json, b.result.truth_json);
}

TEST(Generator, EveryLineIsAValidRecordOrACountedBadLine) {
  const Scenario s = MustParse(kSurgeYaml);
  const Output& out = SurgeRun();
  const std::vector<Line>& lines = SurgeLines();
  std::map<Kind, int64_t> counts;
  std::set<std::string> ids;
  for (const Line& l : lines) {
    ASSERT_NE(l.kind, Kind::kOther) << "contract broken at " << l.problem;
    ++counts[l.kind];
    if (l.kind == Kind::kPost || l.kind == Kind::kAd) {
      EXPECT_TRUE(ids.insert(l.id).second) << "duplicate id " << l.id;
      EXPECT_GE(l.created_at, s.start);
      EXPECT_LT(l.created_at, s.end());
    }
  }
  const Truth truth = ParseTruth(out.result.truth_json);
  EXPECT_EQ(truth.lines, static_cast<int64_t>(lines.size()));
  EXPECT_EQ(truth.posts, counts[Kind::kPost]);
  EXPECT_EQ(truth.ads, counts[Kind::kAd]);
  EXPECT_EQ(truth.events, counts[Kind::kPost] + counts[Kind::kAd]);
  EXPECT_EQ(out.result.events, truth.events);
  EXPECT_EQ(out.result.posts, truth.posts);
  EXPECT_EQ(out.result.ads, truth.ads);
  EXPECT_GT(truth.ads, 10);
  const std::map<std::string, Kind> bad_kinds = {
      {"malformed_json", Kind::kMalformedJson},
      {"truncated", Kind::kTruncated},
      {"invalid_utf8", Kind::kInvalidUtf8},
      {"missing_field", Kind::kMissingField},
      {"bad_country", Kind::kBadCountry},
      {"bad_time", Kind::kBadTime}};
  int64_t bad_total = 0;
  for (const auto& [name, kind] : bad_kinds) {
    ASSERT_TRUE(truth.bad.contains(name)) << name;
    EXPECT_EQ(truth.bad.at(name), counts[kind]) << name;
    EXPECT_GT(counts[kind], 0) << name << ": no line of this kind";
    bad_total += counts[kind];
  }
  EXPECT_EQ(truth.bad.at("total"), bad_total);
  EXPECT_EQ(out.result.bad_lines, bad_total);
}

TEST(Generator, OnlyTheCountedLateEventsAreFarOutOfOrder) {
  const Scenario s = MustParse(kSurgeYaml);
  const Truth truth = ParseTruth(SurgeRun().result.truth_json);
  ASSERT_EQ(truth.late_events, 4);
  ASSERT_EQ(truth.late_ids.size(), 4u);
  const std::set<std::string> late(truth.late_ids.begin(),
                                   truth.late_ids.end());
  absl::Time newest = absl::InfinitePast();
  std::set<std::string> found;
  absl::Duration max_disorder;
  for (const Line& l : SurgeLines()) {
    if (l.kind != Kind::kPost && l.kind != Kind::kAd) continue;
    const absl::Duration behind = newest - l.created_at;
    if (late.contains(l.id)) {
      found.insert(l.id);
      // Delivered late_by after its time; the newest event before it may
      // be a little older than that (jitter, gaps between posts).
      EXPECT_GE(behind, s.disorder.late_by - absl::Minutes(1)) << l.id;
    } else {
      max_disorder = std::max(max_disorder, behind);
    }
    newest = std::max(newest, l.created_at);
  }
  EXPECT_EQ(found, late);
  EXPECT_LE(max_disorder, s.disorder.jitter);
  // Small disorder is there on purpose.
  EXPECT_GT(max_disorder, absl::Seconds(1));
}

TEST(Generator, SurgeEventsFallInTheirWindowWithTheirTargetAndOrigin) {
  const Scenario s = MustParse(kSurgeYaml);
  const Truth truth = ParseTruth(SurgeRun().result.truth_json);
  ASSERT_EQ(truth.campaigns.size(), 1u);
  const Truth::Campaign& c = truth.campaigns[0];
  EXPECT_EQ(c.name, "surge");
  EXPECT_EQ(c.kind, "foreign_origin_surge");
  EXPECT_TRUE(c.has_detector);
  EXPECT_TRUE(c.interference);
  EXPECT_EQ(c.start, s.start + absl::Hours(1));
  EXPECT_EQ(c.end, s.start + absl::Hours(3));
  EXPECT_EQ(c.accounts, static_cast<int64_t>(c.account_ids.size()));
  EXPECT_EQ(c.accounts, 30);  // every network account posts in two hours

  int64_t events = 0, with_shared_url = 0, with_shared_tag = 0;
  std::set<std::string> new_accounts, state_accounts;
  for (const Line& l : SurgeLines()) {
    if (l.kind != Kind::kPost || !c.account_ids.contains(l.account)) continue;
    ++events;
    if (l.account_created_at > c.start - absl::Hours(24 * 14)) {
      new_accounts.insert(l.account);
    }
    if (l.state_affiliated) state_accounts.insert(l.account);
    EXPECT_EQ(l.target, "MD");
    EXPECT_EQ(l.origin, "RU");
    EXPECT_GE(l.created_at, c.start);
    EXPECT_LT(l.created_at, c.end);
    for (const std::string& url : l.urls) {
      // Shared URLs come back with and without www. and tracking tags.
      for (const std::string& shared : c.urls) {
        const std::string path = shared.substr(shared.find('/', 8));
        if (url.find(path) != std::string::npos) ++with_shared_url;
      }
    }
    for (const std::string& h : l.hashtags) {
      if (std::find(c.hashtags.begin(), c.hashtags.end(), h) !=
          c.hashtags.end()) {
        ++with_shared_tag;
        break;
      }
    }
  }
  EXPECT_EQ(events, c.events);
  // The network has exactly its configured shares: 0.3 and 0.05 of 30.
  EXPECT_EQ(new_accounts.size(), 9u);
  EXPECT_EQ(state_accounts.size(), 2u);
  EXPECT_GT(with_shared_url, events / 2);
  EXPECT_EQ(with_shared_tag, events);
}

TEST(Generator, BackgroundDoesNotDependOnTheCampaigns) {
  const Output& with = SurgeRun();
  const Output& without = QuietRun();
  const Truth truth = ParseTruth(with.result.truth_json);
  ASSERT_EQ(truth.campaigns.size(), 1u);
  // Dropping the network's posts from the campaign run leaves exactly the
  // campaign-free run.
  Classifier classifier;
  std::string filtered;
  for (std::string_view line : Lines(with.feed)) {
    const Line l = classifier.Classify(line);
    if (l.kind == Kind::kPost &&
        truth.campaigns[0].account_ids.contains(l.account)) {
      continue;
    }
    filtered.append(line);
    filtered.push_back('\n');
  }
  EXPECT_TRUE(filtered == without.feed);
  EXPECT_EQ(with.result.events - truth.campaigns[0].events,
            without.result.events);
}

TEST(Generator, SurgeLiftsThePairRateByTheConfiguredMultiplier) {
  const Scenario s = MustParse(kSurgeYaml);
  const std::vector<Line>& with = SurgeLines();
  const std::vector<Line>& without = QuietLines();
  // The plateau, after the 5-minute ramp in and before the ramp out.
  const absl::Time from = s.start + absl::Hours(1) + absl::Minutes(5);
  const absl::Time to = s.start + absl::Hours(3) - absl::Minutes(5);
  const double surged = CountPair(with, "MD", "RU", from, to);
  const double usual = CountPair(without, "MD", "RU", from, to);
  ASSERT_GT(usual, 100);
  EXPECT_NEAR(surged / usual, 6.0, 0.6);
  // Other pairs are untouched.
  EXPECT_EQ(CountPair(with, "MD", "IT", from, to),
            CountPair(without, "MD", "IT", from, to));
}

TEST(Generator, RatePerMinuteInjectsThatManyPostsPerMinute) {
  Scenario s = MustParse(kSurgeYaml);
  s.campaigns[0].rate_multiplier = 0;
  s.campaigns[0].rate_per_min = 10;
  s.campaigns[0].ramp_in = s.campaigns[0].ramp_out = absl::ZeroDuration();
  const Output out = GenerateToString(s);
  const Truth truth = ParseTruth(out.result.truth_json);
  ASSERT_EQ(truth.campaigns.size(), 1u);
  // 1200 expected; Poisson sd ~35.
  EXPECT_NEAR(truth.campaigns[0].events, 1200, 150);
}

TEST(Generator, OrganicRiseLiftsThePairGentlyAndIsNotInterference) {
  Scenario s = MustParse(kSurgeYaml);
  s.campaigns.clear();
  CampaignSpec rise;
  rise.name = "coverage";
  rise.kind = CampaignKind::kOrganicRise;
  rise.target = ParseCountry("MD");
  rise.origin = ParseCountry("RO");
  rise.start_offset = absl::Minutes(30);
  rise.duration = absl::Hours(3);
  rise.ramp_in = rise.ramp_out = absl::Minutes(45);
  rise.rate_multiplier = 1.5;
  s.campaigns.push_back(rise);
  const Output out = GenerateToString(s);
  const Truth truth = ParseTruth(out.result.truth_json);
  ASSERT_EQ(truth.campaigns.size(), 1u);
  EXPECT_EQ(truth.campaigns[0].kind, "organic_rise");
  EXPECT_FALSE(truth.campaigns[0].interference);
  EXPECT_FALSE(truth.campaigns[0].has_detector);
  EXPECT_GT(truth.campaigns[0].events, 0);

  const std::vector<Line> with = ClassifyAll(out.feed);
  const std::vector<Line>& without = QuietLines();
  const absl::Time from = s.start + absl::Minutes(75);
  const absl::Time to = s.start + absl::Minutes(165);
  const double risen = CountPair(with, "MD", "RO", from, to);
  const double usual = CountPair(without, "MD", "RO", from, to);
  ASSERT_GT(usual, 100);
  EXPECT_NEAR(risen / usual, 1.5, 0.15);
  // Gradual: the first quarter hour of the ramp adds little.
  const double early = CountPair(with, "MD", "RO", s.start + absl::Minutes(30),
                                 s.start + absl::Minutes(45));
  const double early_usual =
      CountPair(without, "MD", "RO", s.start + absl::Minutes(30),
                s.start + absl::Minutes(45));
  EXPECT_LT(early - early_usual, 0.15 * early_usual + 5);
}

TEST(Generator, RateFollowsEachTargetsLocalDailyCycle) {
  // Two targets twelve hours apart, a full day: each must be busy in its
  // own evening and quiet in its own night. Without news bursts and
  // cascades, one of which may outdo the evening on a single day.
  const Scenario s = MustParse(R"(
start: 2026-05-09T00:00:00Z
duration: 1d
disorder: {late_events: 0}
bad_lines: {rate: 0}
background: {news: {per_day: 0}, cascades: {max_reposts: 0}}
targets:
  - {country: DE, posts_per_hour: 150, ads_per_day: 0, origins: {DE: 1}}
  - {country: US, posts_per_hour: 150, ads_per_day: 0, utc_offset: "-10:00",
     origins: {US: 1}}
)");
  std::map<std::string, std::array<int64_t, 24>> by_local_hour;
  const std::map<std::string, int> offset_hours = {{"DE", 2}, {"US", -10}};
  for (const Line& l : ClassifyAll(GenerateToString(s).feed)) {
    ASSERT_EQ(l.kind, Kind::kPost);
    const absl::Time local =
        l.created_at + absl::Hours(offset_hours.at(l.target));
    const int hour = absl::ToCivilHour(local, absl::UTCTimeZone()).hour();
    ++by_local_hour[l.target][hour];
  }
  for (const auto& [target, hours] : by_local_hour) {
    int64_t night = 0, evening = 0;
    for (int h = 2; h < 6; ++h) night += hours[h];
    for (int h = 18; h < 22; ++h) evening += hours[h];
    EXPECT_GT(evening, 4 * night)
        << target << " night " << night << " evening " << evening;
    const int peak = static_cast<int>(
        std::max_element(hours.begin(), hours.end()) - hours.begin());
    EXPECT_GE(peak, 17) << target;
    EXPECT_LE(peak, 22) << target;
  }
  EXPECT_EQ(by_local_hour.size(), 2u);
}

TEST(Generator, PostsAreAFewHundredBytes) {
  std::vector<size_t> sizes;
  const std::vector<std::string_view> lines = Lines(SurgeRun().feed);
  const std::vector<Line>& classified = SurgeLines();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (classified[i].kind == Kind::kPost) sizes.push_back(lines[i].size());
  }
  ASSERT_GT(sizes.size(), 1000u);
  std::sort(sizes.begin(), sizes.end());
  EXPECT_GE(sizes[sizes.size() / 10], 250u);
  EXPECT_GE(sizes[sizes.size() / 2], 300u);
  EXPECT_LE(sizes[sizes.size() / 2], 600u);
  EXPECT_LE(sizes[sizes.size() * 9 / 10], 750u);
}

TEST(Generator, RejectsACampaignThatNoLongerFitsAfterADurationOverride) {
  Scenario s = MustParse(kSurgeYaml);
  s.duration = absl::Hours(2);
  std::ostringstream out;
  const absl::StatusOr<GenerateResult> r = Generate(s, out);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("campaigns[0].duration"));
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("after the scenario end"));
  EXPECT_TRUE(out.str().empty());
}

TEST(Generator, ReportsAFailedWriteAsDataLoss) {
  const Scenario s = MustParse(kSurgeYaml);
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  const absl::StatusOr<GenerateResult> r = Generate(s, out);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST(Generator, GenerateToFilesWritesTheFeedAndTheTruth) {
  const Scenario s = MustParse(kSurgeYaml);
  const std::string dir = ::testing::TempDir();
  const std::string feed = dir + "/h3_feed.ndjson";
  const std::string truth = dir + "/h3_truth.json";
  const absl::StatusOr<GenerateResult> r = GenerateToFiles(s, feed, truth);
  ASSERT_TRUE(r.ok()) << r.status();
  std::ifstream f(feed), t(truth);
  std::stringstream fs, ts;
  fs << f.rdbuf();
  ts << t.rdbuf();
  EXPECT_TRUE(fs.str() == SurgeRun().feed);
  EXPECT_EQ(ts.str(), r->truth_json + "\n");
  std::remove(feed.c_str());
  std::remove(truth.c_str());

  const absl::StatusOr<GenerateResult> bad =
      GenerateToFiles(s, dir + "/no/such/dir/feed.ndjson", truth);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
}

// The realistic background (BackgroundSpec): one target over two days.
constexpr std::string_view kBackgroundYaml = R"(
name: background
seed: 11
start: 2026-05-09T00:00:00Z
duration: 2d
disorder: {late_events: 0}
bad_lines: {rate: 0}
targets:
  - country: MD
    posts_per_hour: 700
    ads_per_day: 50
    origins: {MD: 0.54, RU: 0.14, RO: 0.10, IT: 0.08, DE: 0.05, UA: 0.04,
              US: 0.03, FR: 0.02}
)";

// The median over the hours of the variance / mean of the hour's twelve
// 5-minute counts of the pair's posts: 1 for a Poisson count.
double HourlyDispersion(const std::vector<Line>& lines, const Scenario& s,
                        const std::string& origin) {
  std::map<int64_t, int64_t> bins;
  for (const Line& l : lines) {
    if (l.kind == Kind::kPost && l.origin == origin) {
      ++bins[(l.created_at - s.start) / absl::Minutes(5)];
    }
  }
  std::vector<double> vmrs;
  const int64_t hours = s.duration / absl::Hours(1);
  for (int64_t h = 0; h < hours; ++h) {
    double sum = 0, sum2 = 0;
    for (int64_t b = h * 12; b < h * 12 + 12; ++b) {
      const double x = bins.contains(b) ? static_cast<double>(bins[b]) : 0.0;
      sum += x;
      sum2 += x * x;
    }
    const double mean = sum / 12;
    if (mean > 0) vmrs.push_back((sum2 / 12 - mean * mean) / mean);
  }
  std::sort(vmrs.begin(), vmrs.end());
  return vmrs.empty() ? 0 : vmrs[vmrs.size() / 2];
}

Scenario PlainPoissonBackground() {
  Scenario s = MustParse(kBackgroundYaml);
  s.background.noise_cv = 0;
  s.background.cascade_max_reposts = 0;
  s.background.news_per_day = 0;
  s.background.outage_duration = absl::ZeroDuration();
  return s;
}

TEST(Background, CountsAreOverDispersedUnlikeAPoissonProcess) {
  const Scenario s = MustParse(kBackgroundYaml);
  const double real =
      HourlyDispersion(ClassifyAll(GenerateToString(s).feed), s, "MD");
  const Scenario plain = PlainPoissonBackground();
  const double poisson =
      HourlyDispersion(ClassifyAll(GenerateToString(plain).feed), plain, "MD");
  std::printf("MD|MD hourly variance/mean: %.2f (plain Poisson %.2f)\n", real,
              poisson);
  EXPECT_GT(real, 1.5);
  EXPECT_LT(poisson, 1.3);
}

TEST(Background, CascadeRepostsFollowTheirOriginalAndShareItsContent) {
  Scenario s = MustParse(kBackgroundYaml);
  s.background.outage_duration = absl::ZeroDuration();
  const std::vector<Line> lines = ClassifyAll(GenerateToString(s).feed);
  std::map<std::string, const Line*> seen;
  std::map<std::string, int> reposts;
  int64_t posts = 0, reposted = 0;
  for (const Line& l : lines) {
    if (l.kind != Kind::kPost) continue;
    ++posts;
    if (!l.repost_of.empty()) {
      ++reposted;
      auto it = seen.find(l.repost_of);
      ASSERT_NE(it, seen.end()) << l.id << " reposts an unseen post";
      EXPECT_EQ(l.text, it->second->text);
      EXPECT_EQ(l.target, it->second->target);
      ++reposts[l.repost_of];
    }
    seen[l.id] = &l;
  }
  // posts.repost_share (0.15) of the posts are reposts, within the noise
  // of a few heavy cascades.
  EXPECT_NEAR(static_cast<double>(reposted) / posts, 0.15, 0.04);
  // Cascades are heavy-tailed: most originals get none, a few get many.
  int big = 0;
  for (const auto& [id, n] : reposts) big += n >= 10;
  EXPECT_GT(big, 5);
}

TEST(Background, FeedOutageLeavesAGapThenResumes) {
  Scenario s = MustParse(kBackgroundYaml);
  // 13:00-15:00 in Chisinau.
  s.background.outage_start = absl::Hours(10);
  s.background.outage_duration = absl::Hours(2);
  int64_t before = 0, during = 0, after = 0;
  for (const Line& l : ClassifyAll(GenerateToString(s).feed)) {
    if (l.kind != Kind::kPost && l.kind != Kind::kAd) continue;
    const absl::Duration t = l.created_at - s.start;
    if (t >= absl::Hours(9) && t < absl::Hours(10)) ++before;
    if (t >= absl::Hours(10) && t < absl::Hours(12)) ++during;
    if (t >= absl::Hours(12) && t < absl::Hours(13)) ++after;
  }
  EXPECT_GT(before, 300);
  EXPECT_EQ(during, 0);
  EXPECT_GT(after, 300);
}

TEST(Background, WeekdaysAreBusierThanTheWeekend) {
  Scenario s = MustParse(kBackgroundYaml);
  s.duration = absl::Hours(14 * 24);  // from a Saturday
  s.background_scale = 0.1;
  s.background.outage_duration = absl::ZeroDuration();
  std::array<int64_t, 7> by_day{};  // days since the start, mod 7
  for (const Line& l : ClassifyAll(GenerateToString(s).feed)) {
    if (l.kind != Kind::kPost) continue;
    ++by_day[((l.created_at - s.start) / absl::Hours(24)) % 7];
  }
  const double weekend = (by_day[0] + by_day[1]) / 2.0;  // Sat, Sun
  const double weekday =
      (by_day[2] + by_day[3] + by_day[4] + by_day[5] + by_day[6]) / 5.0;
  EXPECT_GT(weekday / weekend, 1.1);
  EXPECT_LT(weekday / weekend, 1.5);
}

}  // namespace
}  // namespace vigia::gen
