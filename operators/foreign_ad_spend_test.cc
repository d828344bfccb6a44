#include "operators/foreign_ad_spend.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/snapshot.h"
#include "operators/testing/operator_test_util.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr CountryCode kKZ = CountryCode::FromChars('K', 'Z');
constexpr CurrencyCode kMDL = CurrencyCode::FromString("MDL");
constexpr CurrencyCode kRON = CurrencyCode::FromString("RON");
constexpr CurrencyCode kRUB = CurrencyCode::FromString("RUB");
constexpr CurrencyCode kUSD = CurrencyCode::FromString("USD");
constexpr std::string_view kSource = "ads.ndjson";
constexpr std::string_view kHash = "cfg-ads";

struct Ad {
  CountryCode target;
  CountryCode payer_country;
  std::string payer;
  CurrencyCode currency;
  double lower = 0;
  double upper = 0;
  bool disclaimer = true;
  std::string page = "page1";
};

// Feeds the detector ten minutes at a time: the ads of the step spread
// over it, then the watermark at its end.
class Driver : public OperatorDriver {
 public:
  explicit Driver(ForeignAdSpendOptions options = {})
      : OperatorDriver(
            [&options](const OperatorContext& c) {
              return MakeForeignAdSpend(options, c);
            },
            {.config_hash = std::string(kHash),
             .source = std::string(kSource),
             .id_prefix = "a",
             .start = absl::FromUnixSeconds(1'795'000'020 / 3600 * 3600)}) {}

  void Step(const std::vector<Ad>& ads) {
    OperatorDriver::Step(absl::Minutes(10), ads,
                         [this](const Ad& ad, absl::Time t) { Send(ad, t); });
  }

  void Send(const Ad& ad, absl::Time t) { Observe(AdEvent(ad, t)); }

  // The ad as an event at `t`; its strings are ad's.
  static Event AdEvent(const Ad& ad, absl::Time t) {
    Event e;
    e.kind = FeedKind::kAd;
    e.created_at = t;
    e.target = ad.target;
    e.page_id = ad.page;
    e.payer_name = ad.payer;
    e.payer_country = ad.payer_country;
    e.currency = ad.currency;
    e.spend.lower = ad.lower;
    e.spend.upper = ad.upper;
    e.has_disclaimer = ad.disclaimer;
    if (ad.disclaimer) e.disclaimer = "Paid for by someone";
    return e;
  }
};

Ad Domestic(CountryCode target, CurrencyCode currency, double lower = 100,
            double upper = 499) {
  return Ad{target, target, "Partidul Local", currency, lower, upper, true};
}

// The usual background of a target over ten minutes `step`: three domestic
// ads, and a small foreign-linked one every half hour (a RU payer every
// hour, an ad without disclaimer in between).
std::vector<Ad> Background(CountryCode target, CurrencyCode currency,
                           int step) {
  std::vector<Ad> ads(3, Domestic(target, currency));
  if (step % 6 == 0) {
    ads.push_back(Ad{target, kRU, absl::StrCat("Fond ", step % 5), kRUB, 100,
                     199, true, "rupage"});
  } else if (step % 6 == 3) {
    Ad ad = Domestic(target, currency, 0, 99);
    ad.disclaimer = false;
    ads.push_back(ad);
  }
  return ads;
}

std::vector<Ad> Repeat(const Ad& ad, int n) {
  return std::vector<Ad>(static_cast<size_t>(n), ad);
}

std::vector<Ad> Concat(std::vector<Ad> a, const std::vector<Ad>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Alert> Surges(const std::vector<Alert>& alerts) {
  std::vector<Alert> out;
  for (const Alert& a : alerts) {
    if (a.subject_kind.empty()) out.push_back(a);
  }
  return out;
}

std::vector<Alert> FirstSeen(const std::vector<Alert>& alerts) {
  std::vector<Alert> out;
  for (const Alert& a : alerts) {
    if (a.subject_kind == "payer") out.push_back(a);
  }
  return out;
}

// A day of background on MD (so the baselines are warm).
int WarmUp(Driver& d, int steps = 24 * 6) {
  for (int s = 0; s < steps; ++s) d.Step(Background(kMD, kMDL, s));
  return steps;
}

const Ad kKremlinAd{kMD,  kRU,  "Kremlin Media", kRUB,
                    5000, 9999, false,           "rupage9"};

// Ads are sparse, and in a Kafka catch-up their watermark can trail the
// ads being read by hours: a target holds ads up to a day ahead of its last
// evaluation (the posts detectors hold six hours), and refuses, telling
// the pipeline why, only beyond that.
TEST(ForeignAdSpend, HoldsAdsADayAheadOfItsLastEvaluation) {
  Driver d;
  for (int step = 0; step < 6; ++step) d.Step(Background(kMD, kMDL, step));
  const Ad ad{kMD, kRU, "Fond 1", kRUB, 100, 199, true, "rupage"};
  EventFacts facts;
  const auto send = [&](absl::Duration ahead) {
    const Event e = Driver::AdEvent(ad, d.now() + ahead);
    facts.Reset(e);
    d.op().Observe(e, facts, d.emitter());
    return facts.TakeRefusal();
  };
  const int64_t hits = d.op().stats().cap_hits;
  EXPECT_EQ(send(absl::Hours(12)), EventFacts::Refusal::kNone);
  EXPECT_EQ(send(absl::Hours(23)), EventFacts::Refusal::kNone);
  EXPECT_EQ(d.op().stats().cap_hits, hits);
  EXPECT_EQ(send(absl::Hours(27)), EventFacts::Refusal::kAhead);
  EXPECT_EQ(d.op().stats().cap_hits, hits + 1);
}

TEST(ForeignAdSpend, StaysQuietOnADomesticSpendSurge) {
  Driver d;
  int s = WarmUp(d);
  // Election week: ten times the domestic ads, some very large, all in the
  // target's currency and with disclaimers.
  for (int i = 0; i < 18; ++i, ++s) {
    d.Step(Concat(Background(kMD, kMDL, s),
                  Repeat(Domestic(kMD, kMDL, 10000, 49999), 30)));
  }
  EXPECT_TRUE(Surges(d.alerts()).empty());
  // The background's foreign payers crossed no threshold either.
  EXPECT_TRUE(FirstSeen(d.alerts()).empty());
}

TEST(ForeignAdSpend, FiresOnASurgeOfForeignPaidAds) {
  Driver d;
  int s = WarmUp(d);
  for (int i = 0; i < 6; ++i, ++s) {
    d.Step(Concat(Background(kMD, kMDL, s), Repeat(kKremlinAd, 4)));
  }
  const std::vector<Alert> surges = Surges(d.alerts());
  ASSERT_FALSE(surges.empty());
  const Alert& first = surges.front();
  EXPECT_EQ(first.detector, "foreign_ad_spend");
  EXPECT_EQ(first.state, AlertState::kFiring);
  EXPECT_EQ(first.target, kMD);
  EXPECT_EQ(first.window_end - first.window_start, absl::Hours(2));
  EXPECT_THAT(first.summary,
              StartsWith("Foreign-linked ad spend aimed at MD: "));
  EXPECT_GE(first.score, first.threshold);
  EXPECT_EQ(surges.back().severity, Severity::kCritical);
  EXPECT_EQ(d.op().stats().firing, 1);
  // The spend is reported in currency units, midpoints of the ranges.
  std::map<std::string, double> b(surges.back().evidence.baseline.begin(),
                                  surges.back().evidence.baseline.end());
  EXPECT_DOUBLE_EQ(surges.back().observed, b["spend_observed"]);
  EXPECT_NEAR(surges.back().expected,
              b["spend_units_level_per_hop"] *
                  b["spend_units_time_of_day_factor"] *
                  b["spend_units_window_hops"] * b["spend_unit"],
              1e-6 * surges.back().expected + 1e-9);
}

TEST(ForeignAdSpend, EvidenceNamesPayersCurrenciesReasonsAndBounds) {
  Driver d;
  int s = WarmUp(d);
  // 24 Kremlin ads in one step: critical at once, on a window of eleven
  // background steps and this one.
  d.Step(Concat(Background(kMD, kMDL, s), Repeat(kKremlinAd, 24)));
  const std::vector<Alert> surges = Surges(d.alerts());
  ASSERT_EQ(surges.size(), 1u);
  const Alert& a = surges[0];
  EXPECT_EQ(a.severity, Severity::kCritical);
  std::map<std::string, double> b(a.evidence.baseline.begin(),
                                  a.evidence.baseline.end());
  // 24 Kremlin ads in the window, plus the background's qualifying ones
  // (two foreign of 100-199 and two without disclaimer of 0-99).
  EXPECT_EQ(b["spend_largest_ad"], 7499.5);
  EXPECT_EQ(b["spend_lower_sum"], 24 * 5000 + 2 * 100 + 2 * 0);
  EXPECT_EQ(b["spend_upper_sum"], 24 * 9999 + 2 * 199 + 2 * 99);
  EXPECT_EQ(b["spend_observed"],
            (b["spend_lower_sum"] + b["spend_upper_sum"]) / 2);
  EXPECT_EQ(b["ads_observed"], 28);
  EXPECT_EQ(b["ads_foreign_payer"], 26);
  EXPECT_EQ(b["ads_currency_mismatch"], 26);  // RUB, not MDL
  EXPECT_EQ(b["ads_no_disclaimer"], 26);      // Kremlin's lack one too
  ASSERT_EQ(a.evidence.other_tops.size(), 2u);
  EXPECT_EQ(a.evidence.other_tops[0].first, "top_payers");
  const std::vector<Tally>& payers = a.evidence.other_tops[0].second;
  ASSERT_FALSE(payers.empty());
  EXPECT_EQ(payers[0].value, "Kremlin Media (RU)");
  EXPECT_EQ(payers[0].count, 24 * 7500);  // ranked by spend (rounded)
  EXPECT_EQ(a.evidence.other_tops[1].first, "top_currencies");
  EXPECT_EQ(a.evidence.other_tops[1].second[0].value, "RUB");
  ASSERT_FALSE(a.evidence.top_accounts.empty());
  EXPECT_EQ(a.evidence.top_accounts[0].value, "rupage9");  // the page
  ASSERT_EQ(a.evidence.samples.size(), 4u);
  for (const SampleEvent& sample : a.evidence.samples) {
    EXPECT_EQ(sample.source, kSource);
    EXPECT_EQ(sample.id, absl::StrCat("a", sample.position));
    EXPECT_FALSE(sample.note.empty());
    if (sample.account == "rupage9") {
      EXPECT_EQ(sample.note,
                "foreign_payer,currency_mismatch,no_disclaimer; payer "
                "Kremlin Media (RU); spend 5000-9999 RUB");
    }
  }
  const std::string json = AlertToJson(a);
  EXPECT_THAT(json, HasSubstr("\"top_payers\":[{\"value\":\"Kremlin Media "
                              "(RU)\",\"count\":180000}"));
  EXPECT_THAT(json, HasSubstr("\"note\":\"foreign_payer,"));
}

TEST(ForeignAdSpend, ResolvesWithTheFiringIdWhenTheSurgeLeavesTheWindow) {
  Driver d;
  int s = WarmUp(d);
  for (int i = 0; i < 6; ++i, ++s) {
    d.Step(Concat(Background(kMD, kMDL, s), Repeat(kKremlinAd, 4)));
  }
  for (int i = 0; i < 18; ++i, ++s) d.Step(Background(kMD, kMDL, s));
  std::map<std::string, std::vector<AlertState>> by_id;
  for (const Alert& a : Surges(d.alerts())) by_id[a.id].push_back(a.state);
  ASSERT_FALSE(by_id.empty());
  for (const auto& [id, states] : by_id) {
    EXPECT_THAT(states, ElementsAre(AlertState::kFiring, AlertState::kResolved))
        << id;
  }
  EXPECT_EQ(d.op().stats().firing, 0);
}

TEST(ForeignAdSpend, OneBigAdIsNotASurge) {
  Driver d;
  int s = WarmUp(d);
  // A single very large foreign ad: a first-seen alert for its payer, but
  // the window holds fewer than min_ads qualifying ads.
  d.Step(Concat(Background(kMD, kMDL, s++),
                {Ad{kMD, kRU, "Big Spender", kRUB, 10000, 49999, true}}));
  for (int i = 0; i < 12; ++i, ++s) d.Step(Background(kMD, kMDL, s));
  EXPECT_TRUE(Surges(d.alerts()).empty());
  ASSERT_EQ(FirstSeen(d.alerts()).size(), 1u);
  EXPECT_EQ(FirstSeen(d.alerts())[0].subject, "Big Spender");
}

TEST(ForeignAdSpend,
     RaisesAFirstSeenAlertOnceWhenANewForeignPayerPassesTheThreshold) {
  Driver d;
  int s = WarmUp(d);
  const Ad newcomer{kMD,  kRU,     "Novaya Gazeta Fund", kUSD, 450, 649,
                    true, "nvpage"};
  // One ad per step: 549.5, 1099 (crosses 1000), 1648.5, ...
  for (int i = 0; i < 6; ++i, ++s) {
    d.Step(Concat(Background(kMD, kMDL, s), {newcomer}));
  }
  const std::vector<Alert> seen = FirstSeen(d.alerts());
  ASSERT_EQ(seen.size(), 1u);
  const Alert& a = seen[0];
  EXPECT_EQ(a.detector, "foreign_ad_spend");
  EXPECT_EQ(a.state, AlertState::kFiring);
  EXPECT_EQ(a.severity, Severity::kInfo);
  EXPECT_EQ(a.target, kMD);
  EXPECT_EQ(a.origin, kRU);
  EXPECT_EQ(a.subject, "Novaya Gazeta Fund");
  EXPECT_EQ(a.observed, 1099);
  EXPECT_THAT(a.summary,
              StartsWith("New foreign payer Novaya Gazeta Fund (RU) has spent "
                         "1099 on 2 ads aimed at MD since "));
  EXPECT_THAT(a.summary, HasSubstr("(reported 900-1298, in USD)"));
  std::map<std::string, double> b(a.evidence.baseline.begin(),
                                  a.evidence.baseline.end());
  EXPECT_EQ(b["cumulative_spend_lower"], 900);
  EXPECT_EQ(b["cumulative_spend_upper"], 1298);
  EXPECT_EQ(b["ads"], 2);
  EXPECT_EQ(b["first_seen_min_spend"], 1000);
  ASSERT_EQ(a.evidence.samples.size(), 2u);
  EXPECT_EQ(a.evidence.samples[0].account, "nvpage");
  EXPECT_EQ(a.evidence.samples[0].note, "foreign_payer");
  // The alert covers the payer's history up to the crossing hop.
  EXPECT_EQ(a.window_start, a.evidence.samples[0].created_at);
  EXPECT_EQ(a.id,
            MakeAlertId("foreign_ad_spend", "MD|payer|RU|Novaya Gazeta Fund",
                        a.window_end, Severity::kInfo, kHash));
}

TEST(ForeignAdSpend, CountsAdsPaidInAForeignCurrencyOrWithoutDisclaimer) {
  Driver d;
  int s = WarmUp(d);
  // Domestic payers, but paying in dollars and without disclaimers: the
  // currency and disclaimer signals alone make them count.
  Ad dollars = Domestic(kMD, kUSD, 1000, 4999);
  dollars.disclaimer = false;
  for (int i = 0; i < 6; ++i, ++s) {
    d.Step(Concat(Background(kMD, kMDL, s), Repeat(dollars, 5)));
  }
  const std::vector<Alert> surges = Surges(d.alerts());
  ASSERT_FALSE(surges.empty());
  for (const Alert& a : surges) {
    std::map<std::string, double> b(a.evidence.baseline.begin(),
                                    a.evidence.baseline.end());
    // Every ad but the background's two in lei without disclaimer is in a
    // foreign currency (the dollars and the background's roubles); only
    // the two rouble ads have a foreign payer.
    EXPECT_EQ(b["ads_currency_mismatch"], b["ads_observed"] - 2);
    EXPECT_EQ(b["ads_foreign_payer"], 2);
    EXPECT_GE(b["ads_no_disclaimer"], b["ads_observed"] - 2);
  }
  EXPECT_TRUE(FirstSeen(d.alerts()).empty());  // no foreign payer
}

TEST(ForeignAdSpend, IgnoresTheCurrencySignalForTargetsWithoutAKnownCurrency) {
  EXPECT_TRUE(TargetCurrencies(kKZ).empty());
  Driver d;
  // Domestic payers with disclaimers paying in anything: nothing counts.
  for (int s = 0; s < 30 * 6; ++s) {
    d.Step(Repeat(Domestic(kKZ, s < 24 * 6 ? kUSD : kRUB, 1000, 4999),
                  s < 24 * 6 ? 1 : 10));
  }
  EXPECT_TRUE(d.alerts().empty());
  EXPECT_EQ(d.op().stats().keys, 0);
}

TEST(ForeignAdSpend, KnowsTheTargetsCurrencies) {
  EXPECT_THAT(TargetCurrencies(kMD), ElementsAre(kMDL));
  EXPECT_THAT(TargetCurrencies(kRO), ElementsAre(kRON));
  EXPECT_THAT(TargetCurrencies(CountryCode::FromString("DE")),
              ElementsAre(CurrencyCode::FromString("EUR")));
  EXPECT_THAT(TargetCurrencies(CountryCode::FromString("BG")),
              ElementsAre(CurrencyCode::FromString("BGN"),
                          CurrencyCode::FromString("EUR")));
  EXPECT_THAT(TargetCurrencies(CountryCode::FromString("XK")),
              ElementsAre(CurrencyCode::FromString("EUR")));
}

TEST(ForeignAdSpend, AppliesPerTargetOverrides) {
  ForeignAdSpendOptions options;
  ForeignAdSpendTargetOptions md;
  md.scoring.levels = {{Severity::kCritical, 100.0, 100.0, 1e9}};
  md.count_scoring.levels = {{Severity::kCritical, 100.0, 100.0, 1e9}};
  md.first_seen_min_spend = 1e9;
  // RO's ads are normally paid in euros here, not lei.
  ForeignAdSpendTargetOptions ro;
  ro.currencies = {CurrencyCode::FromString("EUR")};
  options.per_target[kMD] = md;
  options.per_target[kRO] = ro;
  Driver d(options);
  for (int s = 0; s < 24 * 6; ++s) {
    d.Step(Concat(Background(kMD, kMDL, s),
                  Background(kRO, CurrencyCode::FromString("EUR"), s)));
  }
  for (int s = 24 * 6; s < 25 * 6; ++s) {
    Ad ro_ad = kKremlinAd;
    ro_ad.target = kRO;
    d.Step(Concat(Concat(Background(kMD, kMDL, s),
                         Background(kRO, CurrencyCode::FromString("EUR"), s)),
                  Concat(Repeat(kKremlinAd, 4), Repeat(ro_ad, 4))));
  }
  std::vector<CountryCode> targets;
  for (const Alert& a : d.alerts()) targets.push_back(a.target);
  for (const Alert& a : Surges(d.alerts())) {
    std::map<std::string, double> b(a.evidence.baseline.begin(),
                                    a.evidence.baseline.end());
    // RO's domestic ads in euros do not count under the override: besides
    // foreign-paid ones only the two without disclaimer do.
    EXPECT_EQ(b["ads_observed"], b["ads_foreign_payer"] + 2);
  }
  EXPECT_THAT(targets, testing::Each(kRO));
  EXPECT_FALSE(targets.empty());
}

TEST(ForeignAdSpend, RemembersAtMostMaxPayersAndCountsTheRest) {
  ForeignAdSpendOptions options;
  options.max_payers = 3;
  Driver d(options);
  std::vector<Ad> ads;
  for (int i = 0; i < 5; ++i) {
    ads.push_back(Ad{kMD, kRU, absl::StrCat("payer", i), kRUB, 2000, 2999});
  }
  d.Step(ads);
  d.Step({});
  // Three payers alerted; two refused by the cap.
  EXPECT_EQ(FirstSeen(d.alerts()).size(), 3u);
  EXPECT_EQ(d.op().stats().cap_hits, 2);
}

// Two sources, one running two hours ahead of the other (Kafka partitions
// read as a backlog): the target's key is first seen in the second half of
// each four hours, its older ads arrive after. The alerts are those of the
// ads in time order.
TEST(ForeignAdSpend, AKeyFirstSeenAheadStillCountsItsOlderAds) {
  struct Timed {
    Ad ad;
    absl::Time t;
  };
  std::vector<Timed> ads;
  const absl::Time start = Driver().now();
  for (int s = 0; s < 24 * 6 + 6 + 12; ++s) {
    std::vector<Ad> step = Background(kMD, kMDL, s);
    if (s >= 24 * 6 && s < 24 * 6 + 6)
      step = Concat(step, Repeat(kKremlinAd, 4));
    for (size_t i = 0; i < step.size(); ++i) {
      ads.push_back({step[i], start + absl::Minutes(10) * s +
                                  absl::Minutes(10) * static_cast<double>(i) /
                                      static_cast<double>(step.size())});
    }
  }
  auto run = [&](bool ahead_first) {
    Driver d;
    SendInFourHourSteps(
        ads, start, ahead_first, [&](const Timed& x) { d.Send(x.ad, x.t); },
        [&](absl::Time to) { d.Watermark(to); });
    EXPECT_EQ(d.op().stats().cap_hits, 0);
    return AlertOutcomes(d.alerts());
  };
  const std::vector<std::string> in_order = run(false);
  ASSERT_FALSE(in_order.empty());
  EXPECT_EQ(run(true), in_order);
}

TEST(ForeignAdSpend, ProducesIdenticalAlertsOnIdenticalInput) {
  const auto run = [](Driver& d) {
    int s = WarmUp(d);
    for (int i = 0; i < 6; ++i, ++s) {
      d.Step(Concat(Background(kMD, kMDL, s), Repeat(kKremlinAd, 4)));
    }
    for (int i = 0; i < 12; ++i, ++s) d.Step(Background(kMD, kMDL, s));
  };
  Driver one, two;
  run(one);
  run(two);
  ASSERT_FALSE(one.alerts().empty());
  ASSERT_EQ(one.alerts().size(), two.alerts().size());
  for (size_t i = 0; i < one.alerts().size(); ++i) {
    EXPECT_EQ(AlertToJson(one.alerts()[i]), AlertToJson(two.alerts()[i]));
  }
}

// State that follows partitions: three targets' ads, ten minutes a step,
// each ad numbered by its line in the whole stream so that runs fed part of
// it name every ad alike. A day of background, then MD's Kremlin surge
// (steps 144-150) while a new RU payer spends on RO (a first-seen alert),
// then background again; the background's own RU payers pass the
// first-seen threshold now and then.
constexpr CurrencyCode kUAH = CurrencyCode::FromString("UAH");
using AdStream = std::vector<std::vector<Ad>>;

AdStream ThreeTargets() {
  AdStream s;
  for (int step = 0; step < 200; ++step) {
    std::vector<Ad> ads = Background(kMD, kMDL, step);
    if (step >= 144 && step < 150) ads = Concat(ads, Repeat(kKremlinAd, 4));
    ads = Concat(ads, Background(kRO, kRON, step + 2));
    if (step == 146 || step == 149) {
      ads.push_back(Ad{kRO, kRU, "Fond Nou", kRUB, 400, 999, true, "nou"});
    }
    ads = Concat(ads, Background(kUA, kUAH, step + 4));
    s.push_back(std::move(ads));
  }
  return s;
}

using Keep = std::function<bool(CountryCode)>;
bool All(CountryCode) { return true; }
bool MdUa(CountryCode c) { return c == kMD || c == kUA; }
bool Ro(CountryCode c) { return c == kRO; }

// Feeds steps [from, to) of `s`, only the ads of targets `keep` accepts,
// each at its time and line in the whole stream; the watermark moves at
// each step's end, but not after the last one when `last_watermark` is
// false (a first-seen alert of that step is then still pending).
void Feed(Driver& d, const AdStream& s, int from, int to, const Keep& keep,
          bool last_watermark = true) {
  int64_t line = 0;
  for (int i = 0; i < from; ++i) line += static_cast<int64_t>(s[i].size());
  const absl::Time start = absl::FromUnixSeconds(1'795'000'020 / 3600 * 3600);
  for (int step = from; step < to; ++step) {
    const std::vector<Ad>& ads = s[step];
    for (size_t i = 0; i < ads.size(); ++i) {
      ++line;
      if (!keep(ads[i].target)) continue;
      const Ad& ad = ads[i];
      Event e;
      e.kind = FeedKind::kAd;
      e.created_at = start + absl::Minutes(10) * step +
                     absl::Minutes(10) * static_cast<double>(i) /
                         static_cast<double>(ads.size());
      e.target = ad.target;
      e.page_id = ad.page;
      e.payer_name = ad.payer;
      e.payer_country = ad.payer_country;
      e.currency = ad.currency;
      e.spend.lower = ad.lower;
      e.spend.upper = ad.upper;
      e.has_disclaimer = ad.disclaimer;
      if (ad.disclaimer) e.disclaimer = "Paid for by someone";
      d.Observe(e, line);
    }
    if (step + 1 < to || last_watermark) {
      d.Watermark(start + absl::Minutes(10) * (step + 1));
    }
  }
}

std::string Save(const Operator& op) {
  SnapshotWriter w;
  op.SaveState(w);
  return w.bytes();
}

void Load(Operator& op, const std::string& bytes) {
  SnapshotReader r(bytes, 0, "foreign_ad_spend");
  const absl::Status s = op.RestoreState(r, op.state_version());
  ASSERT_TRUE(s.ok()) << s;
}

void CopyPart(const Driver& from, const Keep& keep, Driver& to) {
  Load(to.op(), Save(from.op()));
  to.op().RetainTargets(keep);
}

// The alerts from index `from` on, as JSON, ordered by window end and then
// by their text: the order of one hop's alerts is the order of the keys,
// which a merge does not keep (it appends one part's keys to the other's).
std::vector<std::string> ByHop(const std::vector<Alert>& alerts,
                               size_t from = 0) {
  std::vector<std::pair<absl::Time, std::string>> keyed;
  for (size_t i = from; i < alerts.size(); ++i) {
    keyed.emplace_back(alerts[i].window_end, AlertToJson(alerts[i]));
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> out;
  for (auto& [end, json] : keyed) out.push_back(std::move(json));
  return out;
}

// Each target's state alone, as snapshot bytes: what a merge must give
// back (the order of the targets and payers in the whole is not the point).
std::map<std::string, std::string> PerTarget(const Operator& op) {
  std::map<std::string, std::string> out;
  for (CountryCode t : {kMD, kRO, kUA}) {
    Driver copy;
    Load(copy.op(), Save(op));
    copy.op().RetainTargets([t](CountryCode c) { return c == t; });
    out[t.str()] = Save(copy.op());
  }
  return out;
}

// One detector over the whole stream; another is split by target after
// the ads of step `split` (before its watermark when `pending`) into two
// restored parts, which read their own targets' ads on their own until
// `merge` (at once when `merge` is `split`), are merged back (into a fresh
// detector, as Pipeline::RestoreParts does) and read everything to the end.
// Together they raise the same alerts, and end with the same state per target.
void ExpectSplitAndMergeIsOneRun(int split, int merge, bool pending) {
  SCOPED_TRACE(absl::StrCat("split at ", split, ", merged at ", merge));
  const AdStream s = ThreeTargets();
  Driver whole;
  Feed(whole, s, 0, split + 1, All, /*last_watermark=*/!pending);
  const size_t before = whole.alerts().size();
  Driver left, right;
  CopyPart(whole, MdUa, left);
  CopyPart(whole, Ro, right);
  EXPECT_EQ(left.op().stats().keys + right.op().stats().keys,
            whole.op().stats().keys);
  const absl::Time start = absl::FromUnixSeconds(1'795'000'020 / 3600 * 3600);
  const absl::Time split_end = start + absl::Minutes(10) * (split + 1);
  Driver merged;
  if (pending) whole.Watermark(split_end);
  Feed(whole, s, split + 1, s.size(), All);
  if (merge > split) {
    if (pending) {
      left.Watermark(split_end);
      right.Watermark(split_end);
    }
    Feed(left, s, split + 1, merge, MdUa);
    Feed(right, s, split + 1, merge, Ro);
  }
  ASSERT_TRUE(merged.op().Absorb(left.op()).ok());
  ASSERT_TRUE(merged.op().Absorb(right.op()).ok());
  if (merge == split) {
    // Merged at once: the pending alert is the merged detector's to raise.
    if (pending) merged.Watermark(split_end);
    merge = split + 1;
  }
  Feed(merged, s, merge, s.size(), All);

  std::vector<Alert> parts = left.alerts();
  parts.insert(parts.end(), right.alerts().begin(), right.alerts().end());
  parts.insert(parts.end(), merged.alerts().begin(), merged.alerts().end());
  ASSERT_GT(whole.alerts().size(), before);
  EXPECT_EQ(ByHop(parts), ByHop(whole.alerts(), before));
  const OperatorStats a = whole.op().stats(), b = merged.op().stats();
  EXPECT_EQ(a.keys, b.keys);
  EXPECT_EQ(a.buckets, b.buckets);
  EXPECT_EQ(a.firing, b.firing);
  EXPECT_EQ(a.cap_hits, b.cap_hits);
  EXPECT_EQ(PerTarget(whole.op()), PerTarget(merged.op()));
}

TEST(ForeignAdSpendState, SplitByTargetAndMergedBackRaisesTheAlertsOfOneRun) {
  // Inside MD's surge with RO's first-seen alert pending (its ad is in,
  // its hop not complete), merged after both.
  ExpectSplitAndMergeIsOneRun(146, 170, /*pending=*/true);
  // Before the surge, merged inside it.
  ExpectSplitAndMergeIsOneRun(120, 147, /*pending=*/false);
  // Split after RO's first-seen ad and merged at once, the alert pending.
  ExpectSplitAndMergeIsOneRun(149, 149, /*pending=*/true);
  // The same, RO's part reading on alone with it.
  ExpectSplitAndMergeIsOneRun(149, 160, /*pending=*/true);
}

TEST(ForeignAdSpendState, APartRaisesTheAlertsOfADetectorFedOnlyItsTargets) {
  const AdStream s = ThreeTargets();
  for (const Keep& keep : {Keep(MdUa), Keep(Ro)}) {
    Driver whole, alone;
    Feed(whole, s, 0, 147, All);
    Feed(alone, s, 0, 147, keep);
    const size_t before = alone.alerts().size();
    Driver part;
    CopyPart(whole, keep, part);
    EXPECT_EQ(Save(part.op()), Save(alone.op()));
    Feed(part, s, 147, s.size(), keep);
    Feed(alone, s, 147, s.size(), keep);
    ASSERT_GT(alone.alerts().size(), before);
    ASSERT_EQ(part.alerts().size(), alone.alerts().size() - before);
    for (size_t i = 0; i < part.alerts().size(); ++i) {
      EXPECT_EQ(AlertToJson(part.alerts()[i]),
                AlertToJson(alone.alerts()[before + i]));
    }
    EXPECT_EQ(Save(part.op()), Save(alone.op()));
  }
}

TEST(ForeignAdSpendState, MergeRefusesATargetOrPayerHeldOnBothSides) {
  const AdStream s = ThreeTargets();
  Driver one, two;
  Feed(one, s, 0, 30, All);
  Feed(two, s, 0, 30, Ro);
  const absl::Status st = one.op().Absorb(two.op());
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("RO"));
}

}  // namespace
}  // namespace vigia
