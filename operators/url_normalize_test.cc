#include "operators/url_normalize.h"

#include <string>

#include "gtest/gtest.h"

namespace vigia {
namespace {

TEST(NormalizeUrl, VariantsOfOneArticleNormalizeTogether) {
  const std::string want = "example.com/news/Article-1";
  for (const char* variant : {
           "https://example.com/news/Article-1",
           "http://example.com/news/Article-1",
           "https://www.example.com/news/Article-1",
           "HTTPS://WWW.EXAMPLE.COM/news/Article-1",
           "https://example.com/news/Article-1/",
           "https://example.com/news/Article-1?utm_source=tw&utm_medium=x",
           "https://example.com/news/Article-1?fbclid=IwAR0abc",
           "https://example.com/news/Article-1?gclid=1&UTM_Campaign=c",
           "https://example.com/news/Article-1#comments",
           "https://example.com:443/news/Article-1",
           "http://example.com:80/news/Article-1",
           "https://user:pw@example.com/news/Article-1",
           "https://example.com./news/Article-1",
           "//example.com/news/Article-1",
           "example.com/news/Article-1",
           "  https://example.com/news/Article-1\n",
       }) {
    EXPECT_EQ(NormalizeUrl(variant), want) << variant;
  }
}

TEST(NormalizeUrl, KeepsThePathCaseAndContentParameters) {
  // Paths are case-sensitive on most servers: two different articles.
  EXPECT_NE(NormalizeUrl("https://example.com/a/B"),
            NormalizeUrl("https://example.com/a/b"));
  EXPECT_EQ(NormalizeUrl("https://example.com/watch?v=AbC"),
            "example.com/watch?v=AbC");
  EXPECT_NE(NormalizeUrl("https://example.com/watch?v=AbC"),
            NormalizeUrl("https://example.com/watch?v=XyZ"));
}

TEST(NormalizeUrl, SortsTheRemainingParametersAndDropsEmptyOnes) {
  EXPECT_EQ(NormalizeUrl("https://example.com/p?b=2&a=1&&utm_term=z&c"),
            "example.com/p?a=1&b=2&c");
  EXPECT_EQ(NormalizeUrl("https://example.com/p?b=2&a=1"),
            NormalizeUrl("https://example.com/p?a=1&b=2"));
  // Only tracking parameters: no '?' at all.
  EXPECT_EQ(NormalizeUrl("https://example.com/p/?utm_source=a&fbclid=b"),
            "example.com/p");
}

TEST(NormalizeUrl, KeepsMalformedPercentEscapesAsWritten) {
  EXPECT_EQ(NormalizeUrl("https://example.com/a%"), "example.com/a%");
  EXPECT_EQ(NormalizeUrl("https://example.com/a%2"), "example.com/a%2");
  EXPECT_EQ(NormalizeUrl("https://example.com/%zz%2f%%3a"),
            "example.com/%zz%2F%%3A");
  EXPECT_EQ(NormalizeUrl("https://example.com/p?x=%e2%82%ac&y=%"),
            "example.com/p?x=%E2%82%AC&y=%");
}

TEST(NormalizeUrl, KeepsNonDefaultPortsAndUpperCasesPercentEscapes) {
  EXPECT_EQ(NormalizeUrl("http://example.com:8080/x"), "example.com:8080/x");
  EXPECT_EQ(NormalizeUrl("https://example.com/a%2fb?q=%c3%a9"),
            "example.com/a%2Fb?q=%C3%A9");
  EXPECT_EQ(NormalizeUrl("https://[2001:db8::1]:8443/x"),
            "[2001:db8::1]:8443/x");
}

TEST(NormalizeUrl, KeepsWwwWhenItIsTheWholeDomain) {
  EXPECT_EQ(NormalizeUrl("https://www.com/x"), "www.com/x");
  EXPECT_EQ(NormalizeUrl("https://www.example.co.uk/"), "example.co.uk");
}

TEST(NormalizeUrl, ReturnsEmptyWithoutAHost) {
  EXPECT_EQ(NormalizeUrl(""), "");
  EXPECT_EQ(NormalizeUrl("   "), "");
  EXPECT_EQ(NormalizeUrl("https://"), "");
  EXPECT_EQ(NormalizeUrl("/relative/path"), "");
}

TEST(UrlHost, ReturnsTheLowerCaseHostWithoutWwwPortOrUserInfo) {
  EXPECT_EQ(UrlHost("https://de.RT.com:443/x?y=1"), "de.rt.com");
  EXPECT_EQ(UrlHost("https://www.rt.com/news"), "rt.com");
  EXPECT_EQ(UrlHost("http://user@Sputnik.md./a"), "sputnik.md");
  EXPECT_EQ(UrlHost("rt.com"), "rt.com");
  EXPECT_EQ(UrlHost("rt.com?x=1"), "rt.com");
  EXPECT_EQ(UrlHost("/relative"), "");
}

TEST(IsTrackingParameter, KnowsUtmAndClickIdsCaseInsensitively) {
  for (const char* name : {"utm_source", "UTM_MEDIUM", "utm_whatever", "fbclid",
                           "gclid", "msclkid", "igshid", "yclid", "_ga"}) {
    EXPECT_TRUE(IsTrackingParameter(name)) << name;
  }
  for (const char* name : {"utm", "utm_", "id", "v", "page", "q", "ref"}) {
    EXPECT_FALSE(IsTrackingParameter(name)) << name;
  }
}

}  // namespace
}  // namespace vigia
