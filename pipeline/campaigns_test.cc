#include "pipeline/campaigns.h"

#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

CampaignAlert Alert(std::string id, std::string detector, int minute,
                    std::vector<std::string> accounts) {
  CampaignAlert a;
  a.id = std::move(id);
  a.detector = std::move(detector);
  a.severity = "warning";
  a.target = "US";
  a.origin = "MX";
  a.window_end = absl::FromUnixSeconds(1800000000) + absl::Minutes(minute);
  a.window_start = a.window_end - absl::Minutes(10);
  a.accounts = std::move(accounts);
  return a;
}

const Campaign* CampaignOf(const std::vector<Campaign>& cs,
                           const std::string& alert) {
  for (const Campaign& c : cs) {
    for (const std::string& id : c.alerts) {
      if (id == alert) return &c;
    }
  }
  return nullptr;
}

TEST(LinkCampaigns, JoinsOneNetworksAlertsAcrossDetectors) {
  std::vector<CampaignAlert> alerts = {
      Alert("surge", "foreign_origin_surge", 10, {"a1", "a2", "a3", "bg"}),
      Alert("fresh", "new_account_burst", 12, {"a2", "a3"}),
      Alert("share", "foreign_share", 30, {"a1", "a3", "x9"}),
      // Another network: one loud background account in common only.
      Alert("other", "foreign_origin_surge", 20, {"b1", "b2", "bg"}),
  };
  alerts[3].origin = "RU";
  const std::vector<Campaign> cs = LinkCampaigns(alerts, {});
  ASSERT_EQ(cs.size(), 2u);
  const Campaign* mx = CampaignOf(cs, "surge");
  ASSERT_NE(mx, nullptr);
  EXPECT_EQ(mx->alerts, (std::vector<std::string>{"surge", "fresh", "share"}));
  EXPECT_EQ(mx->detectors,
            (std::vector<std::string>{"foreign_origin_surge", "foreign_share",
                                      "new_account_burst"}));
  EXPECT_EQ(mx->origins, (std::vector<std::string>{"MX"}));
  EXPECT_EQ(mx->accounts.front().second, 3);  // a3: in all three
  EXPECT_EQ(mx->accounts.front().first, "a3");
  EXPECT_EQ(mx->first_seen, alerts[0].window_start);
  EXPECT_EQ(mx->last_seen, alerts[2].window_end);
  EXPECT_NE(CampaignOf(cs, "other"), mx);
  // Earliest first; ids differ and look like "c" + 19 hex digits.
  EXPECT_EQ(cs[0].alerts.front(), "surge");
  EXPECT_EQ(mx->id.size(), 20u);
  EXPECT_TRUE(absl::StartsWith(mx->id, "c"));
  EXPECT_NE(cs[0].id, cs[1].id);
}

TEST(LinkCampaigns, AUrlAPayerOrATextClusterIsEnoughToLink) {
  std::vector<CampaignAlert> alerts = {
      Alert("u1", "coordinated_sharing", 1, {"p"}),
      Alert("u2", "foreign_origin_surge", 2, {"q"}),
      Alert("p1", "foreign_ad_spend", 3, {}),
      Alert("p2", "foreign_ad_spend", 4, {}),
      Alert("t1", "coordinated_sharing", 5, {"r"}),
      Alert("t2", "coordinated_sharing", 6, {"s"}),
  };
  alerts[0].urls = alerts[1].urls = {"gob-mx.example/prensa/1"};
  alerts[2].payers = alerts[3].payers = {"Fondo por un México Soberano"};
  alerts[4].text_cluster = alerts[5].text_cluster = "476a736b987cfe89";
  const std::vector<Campaign> cs = LinkCampaigns(alerts, {});
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(CampaignOf(cs, "u1"), CampaignOf(cs, "u2"));
  EXPECT_EQ(CampaignOf(cs, "p1"), CampaignOf(cs, "p2"));
  EXPECT_EQ(CampaignOf(cs, "t1"), CampaignOf(cs, "t2"));
  EXPECT_EQ(CampaignOf(cs, "p1")->payers.front().second, 2);
}

// The id is the earliest alert's: later alerts joining do not change it,
// and the input order does not matter.
TEST(LinkCampaigns, TheIdStaysWhenLaterAlertsJoin) {
  std::vector<CampaignAlert> alerts = {
      Alert("first", "foreign_origin_surge", 10, {"a1", "a2"}),
      Alert("second", "new_account_burst", 20, {"a1", "a2"}),
  };
  const std::string id = LinkCampaigns(alerts, {}).at(0).id;
  alerts.insert(alerts.begin(),
                Alert("later", "coordinated_sharing", 90, {"a2", "a1"}));
  const std::vector<Campaign> more = LinkCampaigns(alerts, {});
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].id, id);
  EXPECT_EQ(more[0].alerts.back(), "later");
  // One shared account links only when asked for.
  std::vector<CampaignAlert> loose = {Alert("x", "d", 1, {"a", "b"}),
                                      Alert("y", "d", 2, {"a", "c"})};
  EXPECT_EQ(LinkCampaigns(loose, {}).size(), 2u);
  EXPECT_EQ(LinkCampaigns(loose, {.min_shared_accounts = 1}).size(), 1u);
}

TEST(CoActivityGraphMl, NamesEveryAccountAndWeighsPairsByAlerts) {
  std::vector<CampaignAlert> alerts = {
      Alert("s1", "foreign_origin_surge", 10, {"a1", "a2", "a<3>"}),
      Alert("s2", "new_account_burst", 12, {"a1", "a2"}),
  };
  const std::string xml = CoActivityGraphMl(LinkCampaigns(alerts, {}), alerts);
  EXPECT_TRUE(absl::StartsWith(xml, "<?xml version=\"1.0\""));
  EXPECT_TRUE(absl::StrContains(xml, "edgedefault=\"undirected\""));
  EXPECT_TRUE(absl::StrContains(
      xml, "<edge source=\"a1\" target=\"a2\"><data key=\"weight\">2</data>"));
  EXPECT_TRUE(
      absl::StrContains(xml,
                        "<edge source=\"a1\" target=\"a&lt;3&gt;\"><data "
                        "key=\"weight\">1</data>"));
  EXPECT_TRUE(
      absl::StrContains(xml, "<node id=\"a1\"><data key=\"campaign\">c"));
  EXPECT_TRUE(absl::StrContains(xml, "<data key=\"alerts\">2</data>"));
  EXPECT_TRUE(absl::EndsWith(xml, "</graphml>\n"));
}

TEST(CoActivityGexf, IsGexfOneThreeWithWeightsAndAttributes) {
  std::vector<CampaignAlert> alerts = {
      Alert("s1", "foreign_origin_surge", 10, {"a1", "a2", "a<3>"}),
      Alert("s2", "new_account_burst", 12, {"a1", "a2", "ctl\x01"}),
  };
  const std::string xml = CoActivityGexf(LinkCampaigns(alerts, {}), alerts);
  EXPECT_TRUE(absl::StartsWith(xml, "<?xml version=\"1.0\""));
  EXPECT_TRUE(absl::StrContains(
      xml, "<gexf xmlns=\"http://gexf.net/1.3\" version=\"1.3\">"));
  EXPECT_TRUE(absl::StrContains(xml, "defaultedgetype=\"undirected\""));
  EXPECT_TRUE(
      absl::StrContains(xml, "source=\"a1\" target=\"a2\" weight=\"2\""));
  EXPECT_TRUE(
      absl::StrContains(xml, "<node id=\"a&lt;3&gt;\" label=\"a&lt;3&gt;\">"));
  EXPECT_TRUE(absl::StrContains(xml, "<attvalue for=\"alerts\" value=\"2\"/>"));
  // A control character cannot be written in XML 1.0, even as a reference.
  EXPECT_FALSE(absl::StrContains(xml, "\x01"));
  EXPECT_TRUE(absl::StrContains(xml, "ctl\xEF\xBF\xBD"));
  EXPECT_TRUE(absl::EndsWith(xml, "</gexf>\n"));
}

TEST(LinkCampaigns, StatesTheReachItsAlertsBound) {
  std::vector<CampaignAlert> alerts = {
      Alert("surge", "foreign_origin_surge", 10, {"a1", "a2", "a3"}),
      Alert("fresh", "new_account_burst", 12, {"a1", "a2"}),
      Alert("cluster", "coordinated_sharing", 14, {"a1", "a2", "a3"}),
  };
  Reach big;
  big.followers = 5000;
  big.reposts = 10;
  big.reported_reposts = 90;
  big.impressions_lower = 1000;
  big.impressions_upper = 1999;
  Reach small;
  small.followers = 1200;
  small.estimated = true;
  alerts[0].reach = big;
  alerts[1].reach = small;  // the cluster's detector states none
  const std::vector<Campaign> cs = LinkCampaigns(alerts, {});
  ASSERT_EQ(cs.size(), 1u);
  const CampaignReach& r = cs[0].reach;
  EXPECT_EQ(r.alerts, 2);
  EXPECT_EQ(r.followers_at_least, 5000);
  EXPECT_EQ(r.followers_at_most, 6200);
  EXPECT_TRUE(r.estimated);
  EXPECT_EQ(r.reposts_at_least, 100);
  EXPECT_EQ(r.reposts_at_most, 100);
  EXPECT_EQ(r.impressions_at_least, 1000);
  EXPECT_EQ(r.impressions_at_most, 1999);
}

TEST(ToCampaignAlert, TakesWhatTheAlertsJsonWouldGive) {
  vigia::Alert a;
  a.id = "id1";
  a.detector = "foreign_ad_spend";
  a.severity = Severity::kWarning;
  a.target = CountryCode::FromString("MX");
  a.origin = CountryCode::FromString("RU");
  a.subject_kind = "url";
  a.subject = "https://Gob.example.mx/a?utm_source=x";
  a.evidence.top_accounts = {{"acct_1 (created 2027-05-01)", 3, 0}};
  a.evidence.samples.push_back(
      SampleEvent{"p1", "acct_2", absl::UnixEpoch(), "f", -1, 1, ""});
  a.evidence.other_tops.push_back({"top_payers", {{"Fundación X", 1500, 0}}});
  a.evidence.reach = Reach{};
  a.evidence.reach->followers = 77;
  const CampaignAlert c = ToCampaignAlert(a);
  EXPECT_EQ(c.severity, "warning");
  EXPECT_EQ(c.origin, "RU");
  EXPECT_EQ(c.accounts, (std::vector<std::string>{"acct_1", "acct_2"}));
  EXPECT_EQ(c.payers, (std::vector<std::string>{"Fundación X"}));
  ASSERT_EQ(c.urls.size(), 1u);
  EXPECT_EQ(c.urls[0], "gob.example.mx/a");
  ASSERT_TRUE(c.reach.has_value());
  EXPECT_EQ(c.reach->followers, 77);
  // Its campaign among others, by id.
  std::vector<CampaignAlert> all = {c,
                                    Alert("x", "d", 1, {"acct_1", "acct_2"})};
  const std::optional<Campaign> of = CampaignOf(all, "id1", {});
  ASSERT_TRUE(of.has_value());
  EXPECT_EQ(of->alerts.size(), 2u);
  EXPECT_FALSE(CampaignOf(all, "nope", {}).has_value());
}

// A random alert record over small pools of accounts, URLs and payers, so
// that links of every kind happen.
vigia::Alert RandomRecord(std::mt19937& rng, int n) {
  std::uniform_int_distribution<int> pick(0, 99);
  vigia::Alert a;
  a.id = absl::StrCat("a", n);
  a.detector = "d";
  a.severity = static_cast<Severity>(pick(rng) % 3);
  a.state = pick(rng) < 85 ? AlertState::kFiring : AlertState::kResolved;
  a.target = CountryCode::FromString("MX");
  // Not in order: window ends go back and forth by up to a day.
  a.window_end = absl::FromUnixSeconds(1'800'000'000 + 60 * n +
                                       3600 * (pick(rng) % 24) - 43'200);
  a.window_start = a.window_end - absl::Minutes(10);
  const int accounts = pick(rng) % 5;
  for (int i = 0; i < accounts; ++i) {
    a.evidence.top_accounts.push_back(
        {absl::StrCat("acct", pick(rng) % 60), 1, 0});
  }
  if (pick(rng) < 8) {
    a.evidence.top_urls.push_back(
        {absl::StrCat("https://site", pick(rng) % 40, ".example/x"), 1, 0});
  }
  if (pick(rng) < 5) {
    a.evidence.other_tops.push_back(
        {"top_payers", {{absl::StrCat("payer", pick(rng) % 10), 1, 0}}});
  }
  return a;
}

// The linker gives each record the campaign `vigia explain` names for it:
// CampaignOf over the firing records at warning or above so far and the
// record itself; and a linker restored from a snapshot goes on as the
// original would.
TEST(CampaignLinker, StampsWhatLinkingTheAlertsSoFarGives) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937 rng(seed);
    CampaignLinker linker;
    std::optional<CampaignLinker> restored;
    std::vector<CampaignAlert> kept;
    std::set<std::string> kept_ids;
    int links = 0;
    for (int n = 0; n < 400; ++n) {
      const vigia::Alert a = RandomRecord(rng, n);
      const CampaignAlert c = ToCampaignAlert(a);
      std::vector<CampaignAlert> with = kept;
      const bool keep =
          a.state == AlertState::kFiring && a.severity >= Severity::kWarning;
      if (!kept_ids.contains(a.id)) with.push_back(c);
      const std::optional<Campaign> want = vigia::CampaignOf(with, a.id, {});
      ASSERT_TRUE(want.has_value());
      if (want->alerts.size() > 1) ++links;
      EXPECT_EQ(linker.Stamp(a), want->id)
          << "seed " << seed << " record " << n;
      if (restored.has_value()) {
        EXPECT_EQ(restored->Stamp(a), want->id) << "restored, record " << n;
      }
      if (keep && kept_ids.insert(a.id).second) kept.push_back(c);
      if (n == 200) {
        SnapshotWriter w;
        linker.SaveState(w);
        SnapshotReader r(w.bytes(), 0, "campaigns");
        restored.emplace();
        ASSERT_TRUE(restored->RestoreState(r).ok());
        EXPECT_EQ(restored->linked(), linker.linked());
      }
    }
    EXPECT_EQ(linker.linked(), kept.size());
    // The pools are small enough that many records joined others.
    EXPECT_GT(links, 50) << "seed " << seed;
  }
}

TEST(CampaignLinker, ARecordOfAKeptAlertStatesItsCampaignNow) {
  CampaignLinker linker;
  vigia::Alert first;
  first.id = "first";
  first.severity = Severity::kWarning;
  first.window_end = absl::FromUnixSeconds(2'000);
  first.evidence.top_urls = {{"https://x.example/a", 3, 0}};
  const std::string alone = linker.Stamp(first);
  EXPECT_EQ(alone,
            vigia::CampaignOf(
                std::vector<CampaignAlert>{ToCampaignAlert(first)}, "first", {})
                ->id);
  // An earlier alert (by window end) with the same link arrives later: the
  // campaign is now named after it, and so is the first alert's resolved
  // record.
  vigia::Alert earlier = first;
  earlier.id = "earlier";
  earlier.window_end = absl::FromUnixSeconds(1'000);
  const std::string joined = linker.Stamp(earlier);
  EXPECT_NE(joined, alone);
  vigia::Alert resolved = first;
  resolved.state = AlertState::kResolved;
  EXPECT_EQ(linker.Stamp(resolved), joined);
  EXPECT_EQ(linker.linked(), 2u);
}

TEST(CampaignLinker, ACorruptStateIsRefusedAndLeavesItEmpty) {
  CampaignLinker linker;
  vigia::Alert a;
  a.id = "a";
  a.severity = Severity::kCritical;
  a.evidence.top_accounts = {{"x", 1, 0}, {"y", 1, 0}};
  linker.Stamp(a);
  SnapshotWriter w;
  linker.SaveState(w);
  const std::string bytes = w.bytes();
  {
    SnapshotReader whole(bytes, 0, "campaigns");
    CampaignLinker copy;
    ASSERT_TRUE(copy.RestoreState(whole).ok());
    EXPECT_EQ(copy.linked(), 1u);
  }
  // Every truncation is refused, and leaves the linker empty.
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    SnapshotReader part(std::string_view(bytes.data(), cut), 0, "campaigns");
    CampaignLinker other;
    other.Stamp(a);
    EXPECT_FALSE(other.RestoreState(part).ok()) << "cut at " << cut;
    EXPECT_EQ(other.linked(), 0u);
  }
}

TEST(CampaignLinker, AbsorbKeepsBothHistoriesOnce) {
  std::mt19937 rng(9);
  CampaignLinker left, right, both;
  std::vector<CampaignAlert> kept;
  for (int n = 0; n < 200; ++n) {
    vigia::Alert a = RandomRecord(rng, n);
    a.state = AlertState::kFiring;
    a.severity = Severity::kWarning;
    (n % 2 == 0 ? left : right).Stamp(a);
    if (n % 3 == 0) (n % 2 == 0 ? right : left).Stamp(a);  // seen by both
    kept.push_back(ToCampaignAlert(a));
  }
  both.Absorb(left);
  both.Absorb(right);
  EXPECT_EQ(both.linked(), kept.size());
  // A later record links as it would over the union of the two histories.
  for (int n = 200; n < 260; ++n) {
    const vigia::Alert a = RandomRecord(rng, n);
    std::vector<CampaignAlert> with = kept;
    with.push_back(ToCampaignAlert(a));
    EXPECT_EQ(both.Stamp(a), vigia::CampaignOf(with, a.id, {})->id) << n;
    if (a.state == AlertState::kFiring && a.severity >= Severity::kWarning) {
      kept.push_back(ToCampaignAlert(a));
    }
  }
}

}  // namespace
}  // namespace vigia
