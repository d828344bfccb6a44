// Tests of the campaign kinds each written for one detector (trend_riding,
// coordinated_sharing, new_account_burst, state_media_amplification,
// foreign_ad_spend, posting_clock) and of the organic viral_link, judged on
// the generated archive itself: every check reads the NDJSON lines back, and
// URL and text matching use the detectors' own normalization
// (operators/url_normalize.h, operators/coordinated_sharing.h).
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/coordinated_sharing.h"
#include "operators/url_normalize.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/generator.h"
#include "pipeline/gen/scenario.h"
#include "simdjson.h"

namespace vigia::gen {
namespace {

// Two small targets for three and a half days from a Monday, with one
// campaign of every new kind at its own time.
constexpr std::string_view kKindsYaml = R"(
name: kinds
seed: 5
start: 2026-05-11T00:00:00Z
duration: 3d12h
disorder: {jitter: 5s, late_events: 3, late_by: 30m}
bad_lines: {rate: 0.005}
targets:
  - country: MD
    posts_per_hour: 150
    ads_per_day: 40
    origins: {MD: 0.6, RU: 0.2, RO: 0.2}
  - country: DE
    posts_per_hour: 150
    ads_per_day: 40
    origins: {DE: 0.8, RU: 0.1, AT: 0.1}
campaigns:
  - name: trend
    kind: trend_riding
    target: DE
    start: 1d10h
    duration: 2h
    ramp_in: 0s
    ramp_out: 0s
    rate_per_min: 1
    trend: {hashtag: wahlkampf, origins: {RU: 2, AT: 1, US: 1}}
  - name: bursts
    kind: coordinated_sharing
    target: MD
    origin: RU
    start: 1d14h
    duration: 1h
    network: {accounts: 30}
    bursts: {url: 3, text: 2, repost: 1, accounts: [8, 15], spread: 30s}
  - name: fresh
    kind: new_account_burst
    target: MD
    origin: MD
    start: 2d
    duration: 1h
    rate_per_min: 3
    network: {accounts: 20, created_within: 25d}
  - name: media
    kind: state_media_amplification
    target: DE
    origin: DE
    start: 2d6h
    duration: 1h
    rate_per_min: 2
    network: {accounts: 30, state_affiliated_share: 0.2}
  - name: ads
    kind: foreign_ad_spend
    target: MD
    origin: RU
    start: 2d12h
    duration: 3h
    ads: {per_hour: 6, spend: [1000, 9999], missing_disclaimer_share: 0.5}
  - name: office
    kind: posting_clock
    target: DE
    origin: DE
    start: 0h
    duration: 3d12h
    network: {accounts: 12}
    clock: {utc_offset: "+08:00", posts_per_day: 6}
  - name: viral
    kind: viral_link
    target: MD
    origin: MD
    start: 3d
    duration: 2h
    rate_per_min: 4
)";

// One valid record of the archive (bad lines are skipped).
struct Rec {
  size_t line = 0;  // 0-based line number in the archive
  bool ad = false;
  std::string id, target, origin, account, lang, text, repost_of;
  absl::Time at, account_created;
  bool state_affiliated = false;
  std::vector<std::string> urls, hashtags;
  // Ads.
  std::string page, payer, currency;
  int64_t spend_lower = -1, spend_upper = -1;
  bool disclaimer = false;
};

using Element = simdjson::simdjson_result<simdjson::dom::element>;

// Accessors that read a missing field or a wrong type as empty, without
// throwing.
std::string Str(Element e) {
  std::string_view v;
  return e.get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

std::vector<std::string> Strs(Element e) {
  std::vector<std::string> out;
  simdjson::dom::array a;
  if (e.get(a) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element x : a) out.push_back(Str(std::move(x)));
  return out;
}

std::optional<absl::Time> Time(Element e) {
  absl::StatusOr<absl::Time> t = ParseRfc3339(Str(e));
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::vector<Rec> Records(const std::string& feed) {
  std::vector<Rec> out;
  simdjson::dom::parser parser;
  size_t pos = 0;
  for (size_t line_no = 0; pos < feed.size(); ++line_no) {
    size_t nl = feed.find('\n', pos);
    if (nl == std::string::npos) nl = feed.size();
    const simdjson::padded_string line(feed.substr(pos, nl - pos));
    pos = nl + 1;
    simdjson::dom::object o;
    if (parser.parse(line).get(o) != simdjson::SUCCESS) continue;
    Rec r;
    r.line = line_no;
    r.id = Str(o["id"]);
    r.target = Str(o["target"]);
    const std::optional<absl::Time> at = Time(o["created_at"]);
    if (r.id.empty() || r.target.size() != 2 || !at.has_value()) continue;
    r.at = *at;
    simdjson::dom::object payer;
    if (o["payer"].get(payer) == simdjson::SUCCESS) {
      r.ad = true;
      r.page = Str(o["page_id"]);
      r.payer = Str(payer["name"]);
      r.origin = Str(payer["country"]);
      r.currency = Str(o["currency"]);
      simdjson::dom::object spend;
      if (o["spend"].get(spend) != simdjson::SUCCESS ||
          spend["lower"].get(r.spend_lower) != simdjson::SUCCESS ||
          spend["upper"].get(r.spend_upper) != simdjson::SUCCESS) {
        continue;
      }
      r.disclaimer = o["disclaimer"].is_string();
    } else {
      simdjson::dom::object account;
      if (o["account"].get(account) != simdjson::SUCCESS) continue;
      r.account = Str(account["id"]);
      r.origin = Str(account["country"]);
      const std::optional<absl::Time> created = Time(account["created_at"]);
      if (!created.has_value()) continue;
      r.account_created = *created;
      if (account["state_affiliated"].get(r.state_affiliated) !=
          simdjson::SUCCESS) {
        continue;
      }
      r.lang = Str(o["lang"]);
      r.text = Str(o["text"]);
      r.urls = Strs(o["urls"]);
      r.hashtags = Strs(o["hashtags"]);
      r.repost_of = Str(o["repost_of"]);
    }
    if (r.origin.size() != 2) continue;  // a bad_country line
    out.push_back(std::move(r));
  }
  return out;
}

struct Generation {
  std::string feed;
  std::string truth;
  std::vector<Rec> records;
};

Generation Generated(const Scenario& s) {
  std::ostringstream out;
  absl::StatusOr<GenerateResult> r = Generate(s, out);
  EXPECT_TRUE(r.ok()) << r.status();
  Generation run{out.str(), r.ok() ? r->truth_json : "", {}};
  run.records = Records(run.feed);
  return run;
}

Scenario KindsScenario() {
  absl::StatusOr<Scenario> s = ParseScenario(kKindsYaml, "kinds.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

// Generated once and shared by the tests that only read it.
const Generation& KindsRun() {
  static const Generation* run = new Generation(Generated(KindsScenario()));
  return *run;
}

// The truth's entry for campaign `name`, kept alive with its document.
class TruthCampaign {
 public:
  TruthCampaign(const std::string& truth_json, std::string_view name)
      : json_(truth_json) {
    simdjson::dom::array campaigns;
    EXPECT_EQ(parser_.parse(json_)["campaigns"].get(campaigns),
              simdjson::SUCCESS);
    for (simdjson::dom::element c : campaigns) {
      if (Str(c["name"]) == name) entry_ = c;
    }
    EXPECT_TRUE(found()) << "no campaign " << name << " in the truth";
  }
  bool found() const { return Str(entry_["name"]) != ""; }
  Element operator[](const char* key) const { return entry_[key]; }
  std::string str(const char* key) const { return Str(entry_[key]); }
  int64_t integer(const char* key) const {
    int64_t v = -1;
    EXPECT_EQ(entry_[key].get(v), simdjson::SUCCESS) << key;
    return v;
  }
  double number(const char* key) const {
    double v = -1;
    EXPECT_EQ(entry_[key].get(v), simdjson::SUCCESS) << key;
    return v;
  }
  absl::Time time(const char* key) const {
    const std::optional<absl::Time> t = Time(entry_[key]);
    EXPECT_TRUE(t.has_value()) << key;
    return t.value_or(absl::InfinitePast());
  }
  std::set<std::string> set(const char* key) const {
    const std::vector<std::string> v = Strs(entry_[key]);
    return std::set<std::string>(v.begin(), v.end());
  }

 private:
  simdjson::padded_string json_;
  simdjson::dom::parser parser_;
  simdjson::dom::element entry_;
};

// The posts of the campaign's own accounts.
std::vector<Rec> PostsBy(const std::vector<Rec>& records,
                         const std::set<std::string>& accounts) {
  std::vector<Rec> out;
  for (const Rec& r : records) {
    if (!r.ad && accounts.contains(r.account)) out.push_back(r);
  }
  return out;
}

// The most distinct accounts among `posts` (each a time and an account)
// within any `window`.
size_t MostAccountsWithin(std::vector<std::pair<absl::Time, std::string>> posts,
                          absl::Duration window) {
  std::sort(posts.begin(), posts.end());
  size_t most = 0;
  for (size_t i = 0; i < posts.size(); ++i) {
    std::set<std::string> accounts;
    for (size_t j = i;
         j < posts.size() && posts[j].first - posts[i].first <= window; ++j) {
      accounts.insert(posts[j].second);
    }
    most = std::max(most, accounts.size());
  }
  return most;
}

// Local civil time at a fixed offset.
absl::CivilSecond Local(absl::Time t, absl::Duration offset) {
  return absl::ToCivilSecond(t + offset, absl::UTCTimeZone());
}

TEST(CampaignKinds, TruthNamesTheDetectorAndEveryPostLiesInItsWindow) {
  const Generation& run = KindsRun();
  const Scenario s = KindsScenario();
  const std::map<std::string, std::string> detector = {
      {"trend", "foreign_share"},
      {"bursts", "coordinated_sharing"},
      {"fresh", "new_account_burst"},
      {"media", "state_media_amplification"},
      {"office", "posting_clock"}};
  for (const auto& [name, expected] : detector) {
    const TruthCampaign c(run.truth, name);
    EXPECT_EQ(c.str("detector"), expected) << name;
    bool interference = false;
    EXPECT_EQ(c["interference"].get(interference), simdjson::SUCCESS);
    EXPECT_TRUE(interference) << name;
    const std::set<std::string> ids = c.set("account_ids");
    EXPECT_EQ(static_cast<int64_t>(ids.size()), c.integer("accounts")) << name;
    const std::vector<Rec> posts = PostsBy(run.records, ids);
    EXPECT_EQ(static_cast<int64_t>(posts.size()), c.integer("events")) << name;
    EXPECT_GT(posts.size(), 20u) << name;
    std::set<std::string> posting;
    for (const Rec& p : posts) {
      EXPECT_GE(p.at, c.time("start")) << name;
      EXPECT_LT(p.at, c.time("end")) << name;
      EXPECT_EQ(p.target, c.str("target")) << name;
      posting.insert(p.account);
    }
    EXPECT_EQ(posting, ids) << name;
  }
  // trend_riding has several origins, so no single one.
  EXPECT_TRUE(TruthCampaign(run.truth, "trend")["origin"].is_null());
  EXPECT_EQ(TruthCampaign(run.truth, "bursts").str("origin"), "RU");
}

TEST(CampaignKinds, TrendRidingLiftsTheHashtagsForeignShareNotTheTotal) {
  const Generation& run = KindsRun();
  const TruthCampaign c(run.truth, "trend");
  EXPECT_EQ(c.str("hashtag"), "wahlkampf");
  const std::set<std::string> ids = c.set("account_ids");
  const absl::Time from = c.time("start"), to = c.time("end");
  std::map<std::string, int> by_origin;
  // Posts aimed at DE in the window: all, and those with the hashtag, split
  // into foreign and not, with and without the campaign.
  int64_t total = 0, campaign = 0, tag = 0, tag_foreign = 0;
  int64_t tag_campaign = 0;
  for (const Rec& r : run.records) {
    if (r.ad || r.target != "DE" || r.at < from || r.at >= to) continue;
    const bool mine = ids.contains(r.account);
    const bool tagged = std::find(r.hashtags.begin(), r.hashtags.end(),
                                  "wahlkampf") != r.hashtags.end();
    ++total;
    if (mine) {
      ++campaign;
      ++by_origin[r.origin];
      EXPECT_TRUE(tagged) << r.id;
      EXPECT_NE(r.origin, "DE") << r.id;
      EXPECT_TRUE(r.repost_of.empty()) << r.id;
    }
    if (tagged) {
      ++tag;
      if (r.origin != "DE") ++tag_foreign;
      if (mine) ++tag_campaign;
    }
  }
  ASSERT_GT(campaign, 80);
  // Origins follow the configured 2:1:1 weights.
  EXPECT_EQ(by_origin.size(), 3u);
  EXPECT_NEAR(by_origin["RU"] / static_cast<double>(campaign), 0.5, 0.12);
  // Background alone: foreign share of the hashtag ~20% (RU + AT); with
  // the campaign it is more than twice that, while the target's total
  // rises by well under half.
  const double before = static_cast<double>(tag_foreign - tag_campaign) /
                        static_cast<double>(tag - tag_campaign);
  const double after =
      static_cast<double>(tag_foreign) / static_cast<double>(tag);
  EXPECT_GT(after, 2 * before) << before << " -> " << after;
  EXPECT_LT(static_cast<double>(campaign) / (total - campaign), 0.5);
}

TEST(CampaignKinds, CoordinatedBurstsPutManyDistinctAccountsOnOneSubject) {
  const Generation& run = KindsRun();
  const TruthCampaign c(run.truth, "bursts");
  const std::set<std::string> ids = c.set("account_ids");
  const std::vector<Rec> posts = PostsBy(run.records, ids);
  simdjson::dom::array bursts;
  ASSERT_EQ(c["bursts"].get(bursts), simdjson::SUCCESS);
  std::map<std::string, int> types;
  int64_t covered = 0;
  for (simdjson::dom::element b : bursts) {
    const std::string type = Str(b["type"]);
    const std::string subject = Str(b["subject"]);
    ++types[type];
    const std::optional<absl::Time> first = Time(b["first"]);
    const std::optional<absl::Time> last = Time(b["last"]);
    ASSERT_TRUE(first.has_value() && last.has_value());
    EXPECT_LT(*last - *first, absl::Seconds(30)) << subject;
    int64_t accounts = -1;
    ASSERT_EQ(b["accounts"].get(accounts), simdjson::SUCCESS);
    EXPECT_GE(accounts, 8);
    EXPECT_LE(accounts, 15);
    // The burst's posts, found by what they share.
    std::vector<std::pair<absl::Time, std::string>> matched;
    std::set<std::string> spellings;
    for (const Rec& p : posts) {
      bool match = false;
      if (type == "url") {
        for (const std::string& u : p.urls) {
          if (p.repost_of.empty() && NormalizeUrl(u) == NormalizeUrl(subject)) {
            match = true;
            spellings.insert(u);
          }
        }
      } else if (type == "text") {
        if (p.repost_of.empty() &&
            NormalizePostText(p.text) == NormalizePostText(subject)) {
          match = true;
          spellings.insert(p.text);
        }
      } else {
        match = p.repost_of == subject;
      }
      if (match) matched.emplace_back(p.at, p.account);
    }
    ASSERT_EQ(static_cast<int64_t>(matched.size()), accounts) << subject;
    covered += static_cast<int64_t>(matched.size());
    // All of them within the spread, each from another account.
    EXPECT_EQ(
        static_cast<int64_t>(MostAccountsWithin(matched, absl::Seconds(30))),
        accounts)
        << subject;
    for (const auto& [at, account] : matched) {
      EXPECT_GE(at, *first);
      EXPECT_LE(at, *last);
    }
    if (type == "repost") {
      ++covered;  // the original
    } else {
      // Copies differ byte-wise; only normalization makes them one.
      EXPECT_GE(spellings.size(), 3u) << subject;
    }
    if (type == "text") {
      EXPECT_GE(CountWords(NormalizePostText(subject)), 5);
    }
  }
  EXPECT_EQ(types, (std::map<std::string, int>{
                       {"repost", 1}, {"text", 2}, {"url", 3}}));
  EXPECT_EQ(covered, c.integer("events"));
}

// Spanish copy-paste bursts (the built-in messages, with accents) come
// back as the diaspora types them, some retyped without accents; the
// detector's folding makes every copy one text again, and the background
// at a Mexican target is written in Spanish.
TEST(CampaignKinds, SpanishCopiesWithAndWithoutAccentsNormalizeToOneText) {
  absl::StatusOr<Scenario> s = ParseScenario(R"(
name: es_bursts
seed: 7
duration: 6h
targets:
  - country: MX
    posts_per_hour: 100
    origins: {MX: 0.8, US: 0.2}
campaigns:
  - name: bursts
    kind: coordinated_sharing
    target: MX
    origin: US
    start: 1h
    duration: 4h
    network: {accounts: 30}
    bursts: {url: 0, text: 8, accounts: [8, 12], spread: 30s}
    content: {lang: es}
)",
                                             "es_bursts.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  const Generation run = Generated(*s);
  const TruthCampaign c(run.truth, "bursts");
  const std::vector<Rec> posts = PostsBy(run.records, c.set("account_ids"));
  simdjson::dom::array bursts;
  ASSERT_EQ(c["bursts"].get(bursts), simdjson::SUCCESS);
  int copies = 0, unaccented = 0;
  for (simdjson::dom::element b : bursts) {
    const std::string subject = Str(b["subject"]);
    ASSERT_NE(NormalizePostText(subject), "");
    // Every built-in Spanish message carries accents.
    ASSERT_TRUE(absl::StrContains(subject, "é") ||
                absl::StrContains(subject, "á") ||
                absl::StrContains(subject, "ó"))
        << subject;
    int64_t accounts = -1;
    ASSERT_EQ(b["accounts"].get(accounts), simdjson::SUCCESS);
    const std::optional<absl::Time> first = Time(b["first"]);
    const std::optional<absl::Time> last = Time(b["last"]);
    ASSERT_TRUE(first.has_value() && last.has_value());
    int matched = 0;
    for (const Rec& p : posts) {
      // Bursts take the four messages in turn: the burst's own are in its
      // spread.
      if (p.at < *first || p.at > *last ||
          NormalizePostText(p.text) != NormalizePostText(subject)) {
        continue;
      }
      ++matched;
      unaccented +=
          !absl::StrContains(p.text, "é") && !absl::StrContains(p.text, "á") &&
          !absl::StrContains(p.text, "ó") && !absl::StrContains(p.text, "É") &&
          !absl::StrContains(p.text, "Á") && !absl::StrContains(p.text, "Ó");
    }
    EXPECT_EQ(matched, accounts) << subject;
    copies += matched;
  }
  EXPECT_GT(copies, 50);
  // One variant in seven is retyped without accents.
  EXPECT_GT(unaccented, copies / 14);
  EXPECT_LT(unaccented, copies / 3);
  int spanish = 0, background = 0;
  for (const Rec& r : run.records) {
    // Reposts copy their original, which may be a US account's English.
    if (r.ad || r.origin != "MX" || !r.repost_of.empty()) continue;
    ++background;
    spanish += r.lang == "es";
  }
  EXPECT_GT(background, 100);
  EXPECT_EQ(spanish, background);
}

TEST(CampaignKinds, NewAccountBurstAccountsAreYoungerThan30DaysAtEachPost) {
  const Generation& run = KindsRun();
  const TruthCampaign c(run.truth, "fresh");
  const std::vector<Rec> posts = PostsBy(run.records, c.set("account_ids"));
  ASSERT_GT(posts.size(), 100u);
  absl::Duration oldest;
  for (const Rec& p : posts) {
    const absl::Duration age = p.at - p.account_created;
    EXPECT_GE(age, absl::Hours(24)) << p.id;
    EXPECT_LT(age, absl::Hours(30 * 24)) << p.id;
    EXPECT_GE(p.account_created, c.time("accounts_created_from"));
    EXPECT_LE(p.account_created, c.time("accounts_created_to"));
    oldest = std::max(oldest, age);
  }
  EXPECT_NEAR(c.number("max_account_age_days"),
              absl::ToDoubleHours(oldest) / 24, 1e-3);
  // Created within 25 days of the start: the ages spread over that range.
  EXPECT_GT(oldest, absl::Hours(15 * 24));
}

TEST(CampaignKinds, StateMediaPostsLinkOnlyTheListedDomains) {
  const Generation& run = KindsRun();
  const TruthCampaign c(run.truth, "media");
  EXPECT_EQ(c.str("state"), "RU");
  const std::set<std::string> domains = c.set("domains");
  EXPECT_EQ(domains,
            (std::set<std::string>{"rt.com", "de.rt.com", "sputnikglobe.com"}));
  const std::set<std::string> articles = c.set("urls");
  std::set<std::string> normalized;
  for (const std::string& a : articles) normalized.insert(NormalizeUrl(a));
  const std::vector<Rec> posts = PostsBy(run.records, c.set("account_ids"));
  ASSERT_GT(posts.size(), 60u);
  std::set<std::string> state_accounts;
  for (const Rec& p : posts) {
    ASSERT_EQ(p.urls.size(), 1u) << p.id;
    EXPECT_TRUE(domains.contains(UrlHost(p.urls[0]))) << p.urls[0];
    EXPECT_TRUE(normalized.contains(NormalizeUrl(p.urls[0]))) << p.urls[0];
    if (p.state_affiliated) state_accounts.insert(p.account);
  }
  EXPECT_EQ(static_cast<int64_t>(state_accounts.size()),
            c.integer("state_affiliated_accounts"));
  EXPECT_GE(state_accounts.size(), 3u);  // 0.2 of 30 are labelled
  // The standard background links no state media at all.
  for (const Rec& r : run.records) {
    for (const std::string& u : r.urls) {
      const std::string host = UrlHost(u);
      if (host.ends_with("rt.com") || host.ends_with("sputnikglobe.com")) {
        EXPECT_EQ(r.target, "DE") << u;
        EXPECT_GE(r.at, c.time("start")) << u;
        EXPECT_LT(r.at, c.time("end")) << u;
      }
    }
  }
}

TEST(CampaignKinds, ForeignAdSpendIsANewForeignPayerInItsOwnCurrency) {
  const Generation& run = KindsRun();
  const TruthCampaign c(run.truth, "ads");
  const std::set<std::string> pages = c.set("page_ids");
  EXPECT_EQ(c.str("payer_country"), "RU");
  EXPECT_EQ(c.str("currency"), "RUB");
  std::vector<Rec> ads;
  std::set<std::string> background_payers;
  for (const Rec& r : run.records) {
    if (!r.ad) continue;
    if (pages.contains(r.page)) {
      ads.push_back(r);
    } else {
      background_payers.insert(r.payer);
    }
  }
  ASSERT_GT(ads.size(), 8u);
  EXPECT_EQ(static_cast<int64_t>(ads.size()), c.integer("events"));
  std::sort(ads.begin(), ads.end(),
            [](const Rec& a, const Rec& b) { return a.at < b.at; });
  double total = 0;
  int64_t without = 0;
  std::optional<absl::Time> crossed;
  std::set<std::string> used_pages;
  for (const Rec& a : ads) {
    EXPECT_EQ(a.payer, c.str("payer"));
    EXPECT_EQ(a.origin, "RU");
    EXPECT_EQ(a.target, "MD");
    EXPECT_EQ(a.currency, "RUB");
    EXPECT_GE(a.spend_lower, 1000);
    EXPECT_LE(a.spend_upper, 9999);
    EXPECT_GE(a.at, c.time("start"));
    EXPECT_LT(a.at, c.time("end"));
    total += (a.spend_lower + a.spend_upper) / 2.0;
    if (!a.disclaimer) ++without;
    if (!crossed && total >= 1000) crossed = a.at;
    used_pages.insert(a.page);
  }
  EXPECT_DOUBLE_EQ(c.number("spend_midpoint_total"), total);
  EXPECT_EQ(c.integer("ads_without_disclaimer"), without);
  EXPECT_GT(without, 0);
  EXPECT_LT(without, static_cast<int64_t>(ads.size()));
  ASSERT_TRUE(crossed.has_value());
  EXPECT_EQ(c.time("first_seen_threshold_at"), *crossed);
  EXPECT_EQ(static_cast<int64_t>(used_pages.size()), c.integer("accounts"));
  // New to the target: no background ad has this payer.
  EXPECT_FALSE(background_payers.contains(c.str("payer")));
}

TEST(CampaignKinds, PostingClockAccountsPostOnlyInTheOfficesWorkingDay) {
  const Generation& run = KindsRun();
  const TruthCampaign c(run.truth, "office");
  EXPECT_EQ(c.str("utc_offset"), "+08:00");
  EXPECT_DOUBLE_EQ(c.number("zone_distance_hours"), 6);
  const std::vector<Rec> posts = PostsBy(run.records, c.set("account_ids"));
  std::map<std::string, std::set<int>> days;
  std::map<std::string, int> counts;
  for (const Rec& p : posts) {
    const absl::CivilSecond local = Local(p.at, absl::Hours(8));
    const absl::Weekday day = absl::GetWeekday(absl::CivilDay(local));
    EXPECT_NE(day, absl::Weekday::saturday) << p.id;
    EXPECT_NE(day, absl::Weekday::sunday) << p.id;
    EXPECT_GE(local.hour(), 9) << p.id;
    EXPECT_LT(local.hour(), 18) << p.id;
    days[p.account].insert(static_cast<int>(local.day()));
    ++counts[p.account];
  }
  // Monday to Thursday (the campaign ends at 20:00 on Thursday in UTC+8):
  // every account posts on at least three days, about 24 times.
  ASSERT_EQ(days.size(), 12u);
  for (const auto& [account, d] : days) {
    EXPECT_GE(d.size(), 3u) << account;
    EXPECT_GE(counts[account], 10) << account;
  }
}

TEST(CampaignKinds, ViralLinkIsOrganicAndNeverFiveSharesInAMinute) {
  const Generation& run = KindsRun();
  const TruthCampaign c(run.truth, "viral");
  EXPECT_TRUE(c["detector"].is_null());
  bool interference = true;
  EXPECT_EQ(c["interference"].get(interference), simdjson::SUCCESS);
  EXPECT_FALSE(interference);
  const std::string url = NormalizeUrl(c.str("url"));
  std::vector<std::pair<absl::Time, std::string>> shares;
  for (const Rec& r : run.records) {
    for (const std::string& u : r.urls) {
      if (NormalizeUrl(u) == url) {
        shares.emplace_back(r.at, r.account);
        EXPECT_EQ(r.target, "MD");
        EXPECT_EQ(r.origin, "MD");
      }
    }
  }
  EXPECT_EQ(static_cast<int64_t>(shares.size()), c.integer("events"));
  std::set<std::string> accounts;
  for (const auto& [at, account] : shares) accounts.insert(account);
  EXPECT_EQ(static_cast<int64_t>(accounts.size()), c.integer("accounts"));
  // Popular: over a hundred shares, many accounts; never five in 60 s.
  EXPECT_GT(shares.size(), 100u);
  EXPECT_GT(accounts.size(), 50u);
  const size_t most = MostAccountsWithin(shares, absl::Seconds(60));
  EXPECT_LE(most, 4u);
  EXPECT_EQ(static_cast<int64_t>(most), c.integer("max_accounts_within_60s"));
}

TEST(CampaignKinds, SameSeedGivesByteIdenticalOutput) {
  const Generation again = Generated(KindsScenario());
  EXPECT_TRUE(again.feed == KindsRun().feed);  // megabytes: no diff output
  EXPECT_EQ(again.truth, KindsRun().truth);
}

TEST(CampaignKinds, BackgroundDoesNotDependOnTheCampaigns) {
  Scenario quiet = KindsScenario();
  quiet.campaigns.clear();
  const Generation without = Generated(quiet);
  const Generation& with = KindsRun();
  // Every campaign line is recognizable: its accounts, its pages, or (for
  // the viral link, posted by background accounts) its URL.
  std::set<std::string> accounts, pages;
  std::string viral;
  for (const char* name :
       {"trend", "bursts", "fresh", "media", "ads", "office", "viral"}) {
    const TruthCampaign c(with.truth, name);
    if (std::string_view(name) == "viral") {
      viral = NormalizeUrl(c.str("url"));
    } else if (std::string_view(name) == "ads") {
      pages = c.set("page_ids");
    } else {
      const std::set<std::string> ids = c.set("account_ids");
      accounts.insert(ids.begin(), ids.end());
    }
  }
  std::set<size_t> campaign_lines;
  for (const Rec& r : with.records) {
    bool campaign = accounts.contains(r.account) || pages.contains(r.page);
    for (const std::string& u : r.urls) {
      campaign = campaign || (r.repost_of.empty() && NormalizeUrl(u) == viral);
    }
    if (campaign) campaign_lines.insert(r.line);
  }
  std::string filtered;
  size_t pos = 0;
  for (size_t line_no = 0; pos < with.feed.size(); ++line_no) {
    const size_t nl = with.feed.find('\n', pos);
    if (!campaign_lines.contains(line_no)) {
      filtered.append(with.feed, pos, nl + 1 - pos);
    }
    pos = nl + 1;
  }
  EXPECT_GT(campaign_lines.size(), 500u);
  EXPECT_TRUE(filtered == without.feed);
}

// Background check: no five distinct accounts post the same URL (in any
// spelling) or the same text at one target within 60 s (coordinated_sharing's
// k and Δt), no state-media links, no bursts of foreign-paid or undisclosed
// ads.
TEST(CampaignKinds, ControlBackgroundHasNoChanceClustersOrSurges) {
  absl::StatusOr<Scenario> s = LoadScenario("control");
  ASSERT_TRUE(s.ok()) << s.status();
  // The busier day: day 2, from 10:00 to 22:00 UTC.
  s->start += absl::Hours(34);
  s->duration = absl::Hours(12);
  const Generation run = Generated(*s);
  ASSERT_GT(run.records.size(), 50000u);
  std::map<std::string, std::vector<std::pair<absl::Time, std::string>>> by_url,
      by_text;
  std::map<std::string, std::vector<absl::Time>> qualifying_ads;
  for (const Rec& r : run.records) {
    if (r.ad) {
      if (r.origin != r.target || !r.disclaimer) {
        qualifying_ads[r.target].push_back(r.at);
      }
      continue;
    }
    if (!r.repost_of.empty()) continue;
    for (const std::string& u : r.urls) {
      const std::string host = UrlHost(u);
      EXPECT_TRUE(host.ends_with(".example")) << u;
      by_url[r.target + " " + NormalizeUrl(u)].emplace_back(r.at, r.account);
    }
    const std::string text = NormalizePostText(r.text);
    if (CountWords(text) >= 5) {
      by_text[r.target + " " + text].emplace_back(r.at, r.account);
    }
  }
  size_t most_url = 0, most_text = 0;
  for (const auto& [key, posts] : by_url) {
    most_url = std::max(most_url, MostAccountsWithin(posts, absl::Seconds(60)));
  }
  for (const auto& [key, posts] : by_text) {
    most_text =
        std::max(most_text, MostAccountsWithin(posts, absl::Seconds(60)));
  }
  EXPECT_LT(most_url, 5u);
  EXPECT_LT(most_text, 5u);
  // Foreign-paid or undisclosed ads trickle: at most a few in any 2 hours.
  for (auto& [target, times] : qualifying_ads) {
    std::sort(times.begin(), times.end());
    for (size_t i = 0; i < times.size(); ++i) {
      size_t j = i;
      while (j < times.size() && times[j] - times[i] < absl::Hours(2)) ++j;
      EXPECT_LE(j - i, 4u) << target << " at " << FormatRfc3339(times[i]);
    }
  }
}

TEST(CampaignKinds, StateMediaShareAddsARareTrickleFromStatesWithOutlets) {
  Scenario s = KindsScenario();
  s.campaigns.clear();
  s.duration = absl::Hours(24);
  s.posts.state_media_share = 0.2;
  const Generation run = Generated(s);
  int64_t ru_urls = 0, ru_state = 0;
  for (const Rec& r : run.records) {
    if (r.ad || !r.repost_of.empty()) continue;
    for (const std::string& u : r.urls) {
      const std::string host = UrlHost(u);
      const bool state = !host.ends_with(".example");
      if (r.origin == "RU") {
        ++ru_urls;
        ru_state += state ? 1 : 0;
      } else {
        // AT, RO, MD, DE have no built-in state media.
        EXPECT_FALSE(state) << u;
      }
    }
  }
  ASSERT_GT(ru_urls, 300);
  EXPECT_NEAR(static_cast<double>(ru_state) / ru_urls, 0.2, 0.05);
}

TEST(CampaignKinds, BackgroundScaleScalesTheBackground) {
  Scenario s = KindsScenario();
  s.campaigns.clear();
  s.duration = absl::Hours(24);
  s.bad_lines.rate = 0;
  const Generation full = Generated(s);
  s.background_scale = 0.25;
  const Generation quarter = Generated(s);
  const double ratio = static_cast<double>(quarter.records.size()) /
                       static_cast<double>(full.records.size());
  EXPECT_NEAR(ratio, 0.25, 0.03);
}

}  // namespace
}  // namespace vigia::gen
