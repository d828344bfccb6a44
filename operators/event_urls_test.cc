#include "operators/event_urls.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "operators/event_facts.h"
#include "operators/url_normalize.h"

namespace vigia {
namespace {

const std::vector<std::string_view> kUrls = {
    "HTTPS://WWW.Example.com/News/A1/?utm_source=x&b=2&a=1#top",
    "https://de.RT.com:443/x",
    "http://user@[2001:db8::1]:8080/p?q",
    "/relative/path",
    "",
    "//cdn.example.org./img?fbclid=1",
};

TEST(EventUrls, GivesWhatNormalizeUrlAndUrlHostGive) {
  EventUrls urls;
  urls.Reset(kUrls);
  ASSERT_EQ(urls.size(), kUrls.size());
  for (size_t i = 0; i < kUrls.size(); ++i) {
    EXPECT_EQ(urls.raw(i), kUrls[i]);
    EXPECT_EQ(urls.Normalized(i), NormalizeUrl(kUrls[i])) << kUrls[i];
    EXPECT_EQ(urls.Host(i), UrlHost(kUrls[i])) << kUrls[i];
  }
}

TEST(EventUrls, HostAskedFirstMatchesHostAfterTheNormalForm) {
  EventUrls urls;
  urls.Reset(kUrls);
  for (size_t i = 0; i < kUrls.size(); ++i) {
    EXPECT_EQ(urls.Host(i), UrlHost(kUrls[i])) << kUrls[i];
    EXPECT_EQ(urls.Normalized(i), NormalizeUrl(kUrls[i])) << kUrls[i];
    EXPECT_EQ(urls.Host(i), UrlHost(kUrls[i])) << kUrls[i];
  }
}

TEST(EventUrls, ParsesEachUrlOnceHoweverManyAsk) {
  EventUrls urls;
  urls.Reset(kUrls);
  for (int reader = 0; reader < 3; ++reader) {
    for (size_t i = 0; i < kUrls.size(); ++i) {
      urls.Normalized(i);
      urls.Host(i);
    }
  }
  EXPECT_EQ(urls.parses(), static_cast<int64_t>(kUrls.size()));
}

TEST(EventUrls, ParsesNothingNobodyAsksFor) {
  EventUrls urls;
  urls.Reset(kUrls);
  urls.Host(1);
  EXPECT_EQ(urls.parses(), 1);
}

TEST(EventUrls, ResetForgetsThePreviousEvent) {
  EventUrls urls;
  const std::vector<std::string_view> first = {"https://a.example/x",
                                               "https://b.example/y"};
  const std::vector<std::string_view> second = {"https://c.example/z"};
  urls.Reset(first);
  EXPECT_EQ(urls.Normalized(0), "a.example/x");
  EXPECT_EQ(urls.Host(1), "b.example");
  urls.Reset(second);
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_EQ(urls.Host(0), "c.example");
  EXPECT_EQ(urls.Normalized(0), "c.example/z");
  urls.Reset(first);
  EXPECT_EQ(urls.Host(1), "b.example");
  EXPECT_EQ(urls.Normalized(1), "b.example/y");
}

TEST(EventUrls, ViewsStayValidWhileOtherUrlsOfTheEventAreParsed) {
  EventUrls urls;
  urls.Reset(kUrls);
  const std::string_view first = urls.Normalized(0);
  const std::string copy(first);
  for (size_t i = 1; i < kUrls.size(); ++i) urls.Normalized(i);
  EXPECT_EQ(first, copy);
}

TEST(EventFacts, HoldTheEventsUrlsParsedOnceForAllWhoAsk) {
  Event event;
  event.urls = kUrls;
  EventFacts facts;
  facts.Reset(event);
  ASSERT_EQ(facts.urls().size(), kUrls.size());
  EXPECT_EQ(facts.urls().Host(1), "de.rt.com");          // one detector
  EXPECT_EQ(facts.urls().Normalized(1), "de.rt.com/x");  // another
  EXPECT_EQ(facts.urls().Host(1), "de.rt.com");
  EXPECT_EQ(facts.urls().parses(), 2);
}

TEST(EventFacts, GiveTheAccountHashAndCountryIndices) {
  Event event;
  event.account_id = "acct-42";
  event.target = CountryCode::FromChars('M', 'D');
  event.account_country = CountryCode::FromChars('R', 'U');
  EventFacts facts;
  facts.Reset(event);
  EXPECT_EQ(facts.account_hash(), StableHash64("acct-42"));
  EXPECT_EQ(facts.target_index(),
            CountryIndex(CountryCode::FromChars('M', 'D')));
  EXPECT_EQ(facts.origin_index(),
            CountryIndex(CountryCode::FromChars('R', 'U')));

  Event unknown;  // no account, target or origin
  facts.Reset(unknown);
  EXPECT_EQ(facts.account_hash(), StableHash64(""));
  EXPECT_EQ(facts.target_index(), -1);
  EXPECT_EQ(facts.origin_index(), -1);
}

TEST(EventFacts, ResetForgetsThePreviousEvent) {
  const std::vector<std::string_view> other = {"https://other.example/"};
  Event first;
  first.account_id = "a";
  first.urls = other;
  Event second;
  second.account_id = "b";
  second.urls = kUrls;
  EventFacts facts;
  facts.Reset(first);
  EXPECT_EQ(facts.account_hash(), StableHash64("a"));
  EXPECT_EQ(facts.urls().Host(0), "other.example");
  facts.Reset(second);
  EXPECT_EQ(facts.account_hash(), StableHash64("b"));
  EXPECT_EQ(facts.urls().Host(0), "example.com");
}

}  // namespace
}  // namespace vigia
