#include "operators/state_media_amplification.h"

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/testing/operator_test_util.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr std::string_view kSource = "feed.ndjson";
constexpr std::string_view kHash = "cfg-1234";

// ---------------------------------------------------------------------------
// The list.

std::string ErrorOf(std::string_view text) {
  absl::StatusOr<StateMediaList> list =
      ParseStateMediaDomains(text, "list.txt");
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument)
      << list.status();
  return std::string(list.status().message());
}

TEST(ParseStateMediaDomains, ReadsDomainsCountriesNamesAndComments) {
  absl::StatusOr<StateMediaList> list = ParseStateMediaDomains(
      R"(# a comment
rt.com RU "RT"   # trailing comment
  WWW.Sputnik.MD.  RU
news.example   "An outlet # with a hash"

xinhuanet.com CN
state.example
)",
      "list.txt");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->outlets.size(), 5u);
  EXPECT_EQ(list->outlets[0].domain, "rt.com");
  EXPECT_EQ(list->outlets[0].country, kRU);
  EXPECT_EQ(list->outlets[0].name, "RT");
  EXPECT_EQ(list->outlets[0].line, 2);
  EXPECT_EQ(list->outlets[1].domain, "sputnik.md");
  EXPECT_EQ(list->outlets[1].name, "");
  EXPECT_EQ(list->outlets[2].domain, "news.example");
  EXPECT_FALSE(list->outlets[2].country.known());
  EXPECT_EQ(list->outlets[2].name, "An outlet # with a hash");
  EXPECT_EQ(list->outlets[3].country, kCN);
  EXPECT_EQ(list->outlets[4].domain, "state.example");
  EXPECT_EQ(list->outlets[4].line, 7);
  EXPECT_EQ(list->sha256.size(), 64u);
  EXPECT_EQ(list->origin, "list.txt");
}

TEST(ParseStateMediaDomains, AnEmptyListIsValid) {
  absl::StatusOr<StateMediaList> list =
      ParseStateMediaDomains("# nothing\n\n", "list.txt");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(list->outlets, IsEmpty());
}

TEST(ParseStateMediaDomains, NamesTheFileAndLineOfEachError) {
  EXPECT_EQ(ErrorOf("rt.com RU\nrt RU\n"),
            "list.txt:2: \"rt\" is not a domain: it needs a dot");
  EXPECT_EQ(ErrorOf("https://rt.com/news RU\n"),
            "list.txt:1: \"https://rt.com/news\": write the domain alone, "
            "without scheme or path");
  EXPECT_EQ(ErrorOf("rt..com\n"),
            "list.txt:1: \"rt..com\" is not a domain: empty label");
  EXPECT_EQ(ErrorOf("r_t.com\n"),
            "list.txt:1: \"r_t.com\" is not a domain: '_' is not allowed");
  EXPECT_EQ(ErrorOf("-rt.com\n"),
            "list.txt:1: \"-rt.com\" is not a domain: a label starts or ends "
            "with '-'");
  EXPECT_EQ(ErrorOf("рт.рф\n"),
            "list.txt:1: \"рт.рф\" is not a domain: write international "
            "domains in their xn-- (punycode) form");
  EXPECT_EQ(ErrorOf("\n\nbbc.co.uk UK \"BBC\"\n"),
            "list.txt:3: \"UK\" is not an ISO 3166-1 alpha-2 country code (the "
            "United Kingdom is GB)");
  EXPECT_EQ(ErrorOf("rt.com XX\n"),
            "list.txt:1: \"XX\" is not an ISO 3166-1 alpha-2 country code");
  EXPECT_EQ(ErrorOf("rt.com RU \"RT\n"),
            "list.txt:1: unterminated quote in the outlet name");
  EXPECT_EQ(ErrorOf("rt.com RU \"RT\" extra\n"),
            "list.txt:1: unexpected \"extra\" (expected: domain [country "
            "code] [\"outlet name\"])");
  EXPECT_EQ(ErrorOf("\"RT\" rt.com\n"),
            "list.txt:1: a line starts with the domain, not a name");
  EXPECT_EQ(ErrorOf("rt.com RU\nwww.RT.com RU\n"),
            "list.txt:2: duplicate domain rt.com (first on line 1)");
}

TEST(StateMediaDomainsFile, MissingFileIsNotFoundAndBadFileNamesItsLine) {
  const std::string missing = testing::TempDir() + "/no_such_domains.txt";
  absl::StatusOr<StateMediaList> list = LoadStateMediaDomainsFile(missing);
  EXPECT_EQ(list.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(list.status().message(), HasSubstr(missing));

  const std::string bad = testing::TempDir() + "/bad_domains.txt";
  {
    std::ofstream out(bad);
    out << "rt.com RU\nnot-a-domain\n";
  }
  list = LoadStateMediaDomainsFile(bad);
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(list.status().message(),
            absl::StrCat(
                bad, ":2: \"not-a-domain\" is not a domain: it needs a dot"));
}

TEST(StateMediaDomainsFile, TheEmbeddedListParsesAndMatchesTheShippedFile) {
  absl::StatusOr<StateMediaList> parsed =
      ParseStateMediaDomains(EmbeddedStateMediaDomains(), "embedded");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const std::shared_ptr<const StateMediaList> list = DefaultStateMediaList();
  ASSERT_EQ(list->outlets.size(), parsed->outlets.size());
  EXPECT_EQ(list->origin, "embedded");
  EXPECT_GE(list->outlets.size(), 30u);
  bool has_rt = false;
  for (const StateMediaOutlet& o : list->outlets) {
    EXPECT_TRUE(o.country.known()) << o.domain;
    EXPECT_FALSE(o.name.empty()) << o.domain;
    if (o.domain == "rt.com") has_rt = o.country == kRU;
  }
  EXPECT_TRUE(has_rt);
  // The embedded copy is the file in deploy/ as built.
  const std::string file = __FILE__;
  const std::string root = file.substr(
      0, file.size() - std::string("operators/"
                                   "state_media_amplification_test.cc")
                           .size());
  absl::StatusOr<StateMediaList> shipped =
      LoadStateMediaDomainsFile(root + "deploy/state_media_domains.txt");
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  EXPECT_EQ(shipped->sha256, list->sha256);
}

// ---------------------------------------------------------------------------
// The detector.

struct Post {
  CountryCode target = kMD;
  std::string account;
  std::vector<std::string> urls;
  Tristate state_affiliated = Tristate::kUnknown;
  CountryCode origin = kMD;
};

std::shared_ptr<const StateMediaList> TestList() {
  absl::StatusOr<StateMediaList> list = ParseStateMediaDomains(
      "rt.com RU \"RT\"\nsputnik.md RU \"Sputnik Moldova\"\n"
      "cgtn.com CN \"CGTN\"\nunlabelled.example\n",
      "test");
  EXPECT_TRUE(list.ok()) << list.status();
  return std::make_shared<const StateMediaList>(*std::move(list));
}

class Driver : public OperatorDriver {
 public:
  explicit Driver(StateMediaAmplificationOptions options = WithTestList(),
                  std::string config_hash = std::string(kHash))
      : OperatorDriver(
            [&options](const OperatorContext& c) {
              return MakeStateMediaAmplification(options, c);
            },
            {.config_hash = std::move(config_hash),
             .source = std::string(kSource)}) {}

  static StateMediaAmplificationOptions WithTestList() {
    StateMediaAmplificationOptions o;
    o.domains = TestList();
    return o;
  }

  void Minute(const std::vector<Post>& posts) {
    Step(absl::Minutes(1), posts,
         [this](const Post& p, absl::Time t) { Send(p, t); });
  }

  void Send(const Post& p, absl::Time t) {
    const std::vector<std::string_view> urls = Views(p.urls);
    Event e;
    e.kind = FeedKind::kPost;
    e.created_at = t;
    e.target = p.target;
    e.account_id = p.account;
    e.account_country = p.origin;
    e.state_affiliated = p.state_affiliated;
    e.urls = urls;
    Observe(e);
  }
};

Post Share(const std::string& url, int i, CountryCode target = kMD) {
  return Post{target, absl::StrCat("user", i % 30), {url}};
}

// A normal minute: news links, and 1 to 3 shares of RT articles.
std::vector<Post> Background(int minute, CountryCode target = kMD) {
  std::vector<Post> out;
  for (int i = 0; i < 6; ++i) {
    out.push_back(
        Share(absl::StrCat("https://news.test/", i), minute + i, target));
  }
  for (int i = 0; i < 1 + minute % 3; ++i) {
    out.push_back(Share("https://www.rt.com/news/123", minute + i, target));
  }
  return out;
}

std::vector<Post> Concat(std::vector<Post> a, const std::vector<Post>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Post> Surge(const std::string& url, int n,
                        CountryCode target = kMD) {
  std::vector<Post> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(Post{target, absl::StrCat("amp", i % 6), {url}});
  }
  return out;
}

void RunScenario(Driver& d, int hours, int surge_minutes,
                 const std::vector<Post>& extra, int after) {
  int minute = 0;
  for (; minute < hours * 60; ++minute) d.Minute(Background(minute));
  for (int i = 0; i < surge_minutes; ++i, ++minute) {
    d.Minute(Concat(Background(minute), extra));
  }
  for (int i = 0; i < after; ++i, ++minute) d.Minute(Background(minute));
}

TEST(StateMediaAmplification, MatchesListedDomainsAndTheirSubdomainsOnly) {
  Driver d;
  int i = 0;
  const auto keys_after = [&](const std::string& url) {
    d.Send(Share(url, ++i), d.now());
    return d.op().stats().keys;
  };
  EXPECT_EQ(keys_after("https://example.com/rt.com"), 0);
  EXPECT_EQ(keys_after("https://notrt.com/a"), 0);
  EXPECT_EQ(keys_after("https://rt.com.evil.test/a"), 0);
  EXPECT_EQ(keys_after("https://com/a"), 0);
  EXPECT_EQ(keys_after("https://de.rt.com/a"), 1);  // MD|RU
  EXPECT_EQ(keys_after("HTTPS://WWW.RT.COM/a"), 1);
  EXPECT_EQ(keys_after("https://ru.sputnik.md/a"), 1);
  EXPECT_EQ(keys_after("https://news.cgtn.com/a"), 2);       // MD|CN
  EXPECT_EQ(keys_after("https://unlabelled.example/a"), 3);  // MD, no origin
}

TEST(StateMediaAmplification, FiresOnASurgeOfSharesOfListedOutlets) {
  Driver d;
  RunScenario(d, 3, 10, Surge("https://de.rt.com/narrative", 25), 0);
  ASSERT_FALSE(d.alerts().empty());
  const Alert& first = d.alerts().front();
  EXPECT_EQ(first.detector, "state_media_amplification");
  EXPECT_EQ(first.state, AlertState::kFiring);
  EXPECT_EQ(first.target, kMD);
  EXPECT_EQ(first.origin, kRU);
  EXPECT_EQ(first.window_end - first.window_start, absl::Minutes(10));
  const absl::Time surge_start = d.now() - absl::Minutes(10);
  EXPECT_GT(first.window_end, surge_start);
  EXPECT_LE(first.window_end, surge_start + absl::Minutes(3));
  EXPECT_THAT(first.summary,
              StartsWith("State-media amplification aimed at MD (outlets and "
                         "accounts of RU): "));
  EXPECT_EQ(first.id, MakeAlertId("state_media_amplification", "MD|RU",
                                  first.window_end, first.severity, kHash));
  const Alert& last = d.alerts().back();
  EXPECT_EQ(last.severity, Severity::kCritical);
  ASSERT_EQ(last.evidence.other_tops.size(), 1u);
  EXPECT_EQ(last.evidence.other_tops[0].first, "top_outlets");
  ASSERT_FALSE(last.evidence.other_tops[0].second.empty());
  EXPECT_EQ(last.evidence.other_tops[0].second[0].value, "rt.com (RT)");
  ASSERT_FALSE(last.evidence.top_urls.empty());
  EXPECT_EQ(last.evidence.top_urls[0].value, "https://de.rt.com/narrative");
  ASSERT_EQ(last.evidence.samples.size(), 4u);
  for (const SampleEvent& s : last.evidence.samples) {
    EXPECT_THAT(s.account, StartsWith("amp"));
    EXPECT_EQ(s.note, "rt.com (RT)");
    EXPECT_EQ(s.source, kSource);
  }
  std::map<std::string, double> n(last.evidence.baseline.begin(),
                                  last.evidence.baseline.end());
  EXPECT_NEAR(n["expected"], last.expected, 1e-9);
  EXPECT_EQ(n["posts_sharing_listed_domains"], last.observed);
  EXPECT_EQ(n["posts_by_state_affiliated_accounts"], 0);
  EXPECT_EQ(n["listed_domains"], 4);
  EXPECT_GE(n["distinct_accounts"], 6);
}

TEST(StateMediaAmplification, StaysQuietOnASurgeOfOtherLinks) {
  Driver d;
  RunScenario(d, 3, 10, Surge("https://viral.test/story", 40), 30);
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(StateMediaAmplification, StaysQuietOnAModestRise) {
  Driver d;
  int minute = 0;
  for (; minute < 24 * 60; ++minute) d.Minute(Background(minute));
  for (int i = 0; i < 60; ++i, ++minute) {
    std::vector<Post> posts = Background(minute);
    if (i % 2 == 0) posts.push_back(Share("https://rt.com/news/9", i));
    d.Minute(posts);
  }
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(StateMediaAmplification, CountsPostsOfStateAffiliatedAccounts) {
  std::vector<Post> labelled;
  for (int i = 0; i < 25; ++i) {
    labelled.push_back(Post{kMD,
                            absl::StrCat("embassy", i % 3),
                            {"https://blog.test/x"},
                            Tristate::kYes,
                            kRU});
  }
  Driver d;
  RunScenario(d, 3, 10, labelled, 0);
  ASSERT_FALSE(d.alerts().empty());
  const Alert& a = d.alerts().back();
  EXPECT_EQ(a.origin, kRU);  // the accounts' country
  std::map<std::string, double> n(a.evidence.baseline.begin(),
                                  a.evidence.baseline.end());
  EXPECT_GT(n["posts_by_state_affiliated_accounts"], 0);
  EXPECT_EQ(a.evidence.other_tops[0].second[0].value,
            "state-affiliated account");

  // Switched off, the same posts count for nothing; unknown is not "yes".
  StateMediaAmplificationOptions off = Driver::WithTestList();
  off.count_state_affiliated_accounts = false;
  Driver e(off);
  RunScenario(e, 3, 10, labelled, 0);
  EXPECT_THAT(e.alerts(), IsEmpty());
  for (Post& p : labelled) p.state_affiliated = Tristate::kUnknown;
  Driver f;
  RunScenario(f, 3, 10, labelled, 0);
  EXPECT_THAT(f.alerts(), IsEmpty());
}

TEST(StateMediaAmplification, ResolvesAfterTheSurgeWithTheFiringId) {
  Driver d;
  // 100 minutes after the surge: past the hold (an hour by default).
  RunScenario(d, 3, 10, Surge("https://rt.com/narrative", 25), 100);
  std::map<std::string, std::vector<AlertState>> by_id;
  for (const Alert& a : d.alerts()) by_id[a.id].push_back(a.state);
  ASSERT_FALSE(by_id.empty());
  for (const auto& [id, states] : by_id) {
    EXPECT_THAT(states, ElementsAre(AlertState::kFiring, AlertState::kResolved))
        << id;
  }
  EXPECT_THAT(d.alerts().back().summary,
              StartsWith("Resolved: state-media amplification aimed at MD"));
}

TEST(StateMediaAmplification, ProducesIdenticalAlertsOnIdenticalInput) {
  Driver one, two;
  RunScenario(one, 3, 10, Surge("https://rt.com/narrative", 25), 30);
  RunScenario(two, 3, 10, Surge("https://rt.com/narrative", 25), 30);
  ASSERT_FALSE(one.alerts().empty());
  ASSERT_EQ(one.alerts().size(), two.alerts().size());
  for (size_t i = 0; i < one.alerts().size(); ++i) {
    EXPECT_EQ(AlertToJson(one.alerts()[i]), AlertToJson(two.alerts()[i]));
  }
}

TEST(StateMediaAmplification, AppliesPerTargetLadders) {
  StateMediaAmplificationOptions options = Driver::WithTestList();
  StateMediaAmplificationTargetOptions md;
  md.scoring.levels = {{Severity::kInfo, 3.0, 2.0, 1000}};
  options.per_target[kMD] = md;
  Driver d(options);
  RunScenario(d, 3, 10, Surge("https://rt.com/narrative", 25), 0);
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(StateMediaAmplification, UsesTheEmbeddedListByDefault) {
  Driver d(StateMediaAmplificationOptions{});
  d.Send(Share("https://francais.rt.com/a", 1), d.now());
  d.Send(Share("https://english.news.cn/a", 2), d.now());
  EXPECT_EQ(d.op().stats().keys, 2);  // MD|RU, MD|CN
}

TEST(StateMediaAmplification, RefusesKeysBeyondTheCapAndCountsThem) {
  StateMediaAmplificationOptions options = Driver::WithTestList();
  options.max_keys = 1;
  Driver d(options);
  d.Send(Share("https://rt.com/a", 1), d.now());
  d.Send(Share("https://cgtn.com/a", 2), d.now());
  d.Send(Share("https://rt.com/a", 3, kRO), d.now());
  EXPECT_EQ(d.op().stats().keys, 1);
  EXPECT_EQ(d.op().stats().cap_hits, 2);
}

}  // namespace
}  // namespace vigia
