#include "operators/coordinated_sharing.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/snapshot.h"
#include "operators/testing/operator_test_util.h"
#include "operators/text_fold.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr std::string_view kSource = "feed.ndjson";
constexpr std::string_view kHash = "cfg-1234";

struct Post {
  std::string account;
  absl::Time at;
  std::vector<std::string> urls;
  std::string text;
  std::string repost_of;
  CountryCode target = kMD;
  CountryCode origin = kRU;
  int64_t followers = -1;  // not reported
};

// Feeds posts to the detector and moves the watermark explicitly.
class Driver : public OperatorDriver {
 public:
  explicit Driver(CoordinatedSharingOptions options = {},
                  std::string config_hash = std::string(kHash))
      : OperatorDriver(
            [&options](const OperatorContext& c) {
              return MakeCoordinatedSharing(options, c);
            },
            {.config_hash = std::move(config_hash),
             .source = std::string(kSource)}) {}

  void Send(const Post& p) {
    const std::vector<std::string_view> urls = Views(p.urls);
    Event e;
    e.kind = FeedKind::kPost;
    e.created_at = p.at;
    e.target = p.target;
    e.account_id = p.account;
    e.account_country = p.origin;
    e.urls = urls;
    e.text = p.text;
    e.repost_of = p.repost_of;
    e.followers = p.followers;
    Observe(e);
  }
};

// A minute boundary, so that tests can straddle it.
const absl::Time kT0 = absl::FromUnixSeconds(1'795'000'020 / 60 * 60);

absl::Time At(double seconds) {
  return kT0 + absl::Milliseconds(static_cast<int64_t>(seconds * 1000));
}

// `n` accounts (acct0, acct1, ...) sharing `url`, `spacing` seconds apart
// from `start`.
std::vector<Post> Sharers(int n, const std::string& url, double start,
                          double spacing, const std::string& prefix = "acct") {
  std::vector<Post> posts;
  for (int i = 0; i < n; ++i) {
    Post p;
    p.account = absl::StrCat(prefix, i);
    p.at = At(start + spacing * i);
    p.urls = {url};
    posts.push_back(p);
  }
  return posts;
}

void SendAll(Driver& d, const std::vector<Post>& posts) {
  for (const Post& p : posts) d.Send(p);
}

CoordinatedSharingOptions WithLevels(std::vector<ClusterLevel> levels) {
  CoordinatedSharingOptions o;
  o.levels = std::move(levels);
  return o;
}

// ---------------------------------------------------------------------------
// Text normalisation.

TEST(NormalizePostText, LowerCasesAndStripsUrlsMentionsAndPunctuation) {
  EXPECT_EQ(NormalizePostText("  Stop the RIGGED vote!!! @friend "
                              "https://x.test/a?b=1 www.y.test #Moldova "),
            "stop the rigged vote moldova");
  EXPECT_EQ(NormalizePostText("«Votați» ȘI Țara — ACUM…"),
            "votati si tara acum");
  EXPECT_EQ(NormalizePostText("ГОЛОСУЙТЕ Сегодня, Ёлка!"),
            "голосуйте сегодня ёлка");
  EXPECT_EQ(NormalizePostText("ΨΗΦΊΣΤΕ τώρα"), "ψηφίστε τώρα");
  EXPECT_EQ(NormalizePostText("vote\xF0\x9F\x97\xB3\xEF\xB8\x8F now"),
            "vote now");
  EXPECT_EQ(NormalizePostText("bad \xFF\xFE bytes"), "bad bytes");
  EXPECT_EQ(NormalizePostText(""), "");
}

// Runs of ASCII letters and digits are folded eight bytes at a time; words
// that end inside, at and past such a block, and texts whose last bytes
// are shorter than a block, read as when folded a byte at a time.
TEST(NormalizePostText, FoldsLongAsciiRunsLikeShortOnes) {
  EXPECT_EQ(NormalizePostText("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
            "abcdefghijklmnopqrstuvwxyz0123456789");
  EXPECT_EQ(NormalizePostText("ABCDEFGH!ijklmnop@q RSTUVWX{YZ`09[az]"),
            "abcdefgh ijklmnop q rstuvwx yz 09 az");
  EXPECT_EQ(NormalizePostText("VoteToday\xC8\x98TIRI now12345678"),
            "votetodaystiri now12345678");
  EXPECT_EQ(NormalizePostText("abcdefg"), "abcdefg");
  EXPECT_EQ(NormalizePostText("abcdefgh"), "abcdefgh");
  EXPECT_EQ(NormalizePostText("abcdefghi"), "abcdefghi");
  EXPECT_EQ(NormalizePostText("@abcdefghijkl ABCDEFGHIJKL\x7F\xFFmn"),
            "abcdefghijkl mn");
}

// Runs of words are folded eight bytes at a time: links, and words that
// only look like a link's start, at every position against those steps.
TEST(NormalizePostText, TellsLinksFromWordsStartingWithHOrWAtEveryOffset) {
  const std::vector<std::string> words = {
      "http://a.b/c", "https://a.b", "www.a.b", "HTTP://A.B", "Www.x.y",
      "hat",          "Http",        "https",   "httpsx",     "www",
      "wwwx",         "h",           "w",       "When",       "hello"};
  const auto is_link = [](std::string_view w) {
    std::string l(w);
    for (char& c : l) c = static_cast<char>(std::tolower(c));
    return l.starts_with("http://") || l.starts_with("https://") ||
           l.starts_with("www.");
  };
  for (int pad = 0; pad < 9; ++pad) {
    for (const std::string& w : words) {
      for (const std::string& next : {std::string("vote"), std::string()}) {
        const std::string text =
            absl::StrCat(std::string(static_cast<size_t>(pad), 'a'), " Bb ", w,
                         next.empty() ? "" : " ", next, " cc DD ee");
        std::string want = std::string(static_cast<size_t>(pad), 'a');
        absl::StrAppend(&want, want.empty() ? "" : " ", "bb");
        if (!is_link(w)) {
          std::string l = w;
          for (char& c : l) c = static_cast<char>(std::tolower(c));
          absl::StrAppend(&want, " ", l);
        }
        if (!next.empty()) absl::StrAppend(&want, " ", next);
        absl::StrAppend(&want, " cc dd ee");
        EXPECT_EQ(NormalizePostText(text), want) << text;
      }
    }
  }
}

// What NormalizePostText makes of ASCII text, written plainly: tokens
// between ASCII spaces; a token starting with @, http://, https:// or www.
// (in any case) is dropped; the words are the runs of letters and digits
// of the others, lower-cased, joined by single spaces.
std::string NormalizeAsciiPlainly(std::string_view text) {
  std::vector<std::string> words;
  std::vector<std::string> tokens(1);
  for (const char c : text) {
    if (std::string_view(" \t\n\r\f\v").find(c) != std::string_view::npos) {
      tokens.emplace_back();
    } else {
      tokens.back().push_back(static_cast<char>(std::tolower(c)));
    }
  }
  for (const std::string& lower : tokens) {
    if (lower.starts_with("@") || lower.starts_with("http://") ||
        lower.starts_with("https://") || lower.starts_with("www.")) {
      continue;
    }
    std::string word;
    for (const char c : lower) {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        word.push_back(c);
      } else if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
    }
    if (!word.empty()) words.push_back(std::move(word));
  }
  return absl::StrJoin(words, " ");
}

// ASCII text is folded eight bytes at a time over runs of words and single
// spaces: texts built from pieces that end such runs (punctuation, double
// spaces, tabs, words and links starting with h or w, mentions), at every
// offset against those steps, read as the plain rules say.
TEST(NormalizePostText, FoldsAsciiRunsOfWordsAsThePlainRulesSay) {
  const std::vector<std::string> pieces = {
      "Vote", " ",    "  ",      "today",      ".",    ", ",
      "h",    "When", "www.x.y", "http://a.b", "@you", "\t",
      "W",    "9",    "!",       "HTTPS://Q",  "aB"};
  uint64_t state = 0x9e3779b97f4a7c15u;
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int checked = 0;
  for (int pad = 0; pad < 9; ++pad) {
    for (int round = 0; round < 400; ++round) {
      std::string text(static_cast<size_t>(pad), 'x');
      const int count = 1 + static_cast<int>(next() % 24);
      for (int k = 0; k < count; ++k) text += pieces[next() % pieces.size()];
      ASSERT_EQ(NormalizePostText(text), NormalizeAsciiPlainly(text)) << text;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 9 * 400);
}

TEST(NormalizePostText, CopiesThatDifferOnlyInFormNormalizeTogether) {
  const std::string a =
      NormalizePostText("The election is RIGGED, share before they delete!");
  const std::string b = NormalizePostText(
      "the election is rigged share before they delete https://t.co/x @a");
  EXPECT_EQ(a, b);
  EXPECT_EQ(TextFingerprintHex(a), TextFingerprintHex(b));
  EXPECT_EQ(TextFingerprintHex(a).size(), 16u);
  EXPECT_NE(TextFingerprintHex(a),
            TextFingerprintHex(NormalizePostText("the election is fair")));
}

// Spanish copies of one message, as the diaspora types them: with and
// without accents, in capitals, in NFD form (accents as combining marks).
// ñ stays a letter of its own.
TEST(NormalizePostText, SpanishCopiesWithAndWithoutAccentsAreOneText) {
  const std::string original = NormalizePostText(
      "Ni un voto para los que traicionaron a nuestra gente. Compártelo "
      "también, ¡ya!");
  EXPECT_EQ(original,
            "ni un voto para los que traicionaron a nuestra gente compartelo "
            "tambien ya");
  EXPECT_EQ(NormalizePostText("NI UN VOTO PARA LOS QUE TRAICIONARON A "
                              "NUESTRA GENTE. COMPÁRTELO TAMBIÉN, ¡YA!"),
            original);
  EXPECT_EQ(NormalizePostText("Ni un voto para los que traicionaron a "
                              "nuestra gente. Compartelo tambien, ya"),
            original);
  // NFD: "a" + U+0301, "e" + U+0301.
  EXPECT_EQ(NormalizePostText("Ni un voto para los que traicionaron a "
                              "nuestra gente. Compa\xCC\x81rtelo "
                              "tambie\xCC\x81n, ¡ya!"),
            original);
  EXPECT_EQ(NormalizePostText("Feliz AÑO nuevo"), "feliz año nuevo");
  EXPECT_EQ(NormalizePostText("Feliz an\xCC\x83o nuevo"), "feliz año nuevo");
  EXPECT_NE(NormalizePostText("Feliz año nuevo"),
            NormalizePostText("Feliz ano nuevo"));
  // Cyrillic keeps its marks, precomposed or not: й is not и.
  EXPECT_EQ(NormalizePostText("ЙОД"), "йод");
  EXPECT_EQ(NormalizePostText("и\xCC\x86"), "и\xCC\x86");
}

// Every code point written in two bytes, between Latin letters: a break
// (Latin-1 punctuation and symbols, the multiplication and division signs)
// splits the word, a combining mark after a Latin letter is dropped, and
// any other letter is folded (FoldCodePoint) in place.
TEST(NormalizePostText, FoldsEveryTwoByteCodePointByTheRules) {
  for (char32_t c = 0x80; c < 0x800; ++c) {
    char buf[4];
    const std::string cp(buf, WriteUtf8(c, buf));
    const std::string text = "ab" + cp + "cd";
    std::string expected;
    if (c <= 0xbf || c == 0xd7 || c == 0xf7) {
      expected = "ab cd";
    } else if (IsCombiningMark(c)) {
      expected = "abcd";
    } else {
      const std::string folded(buf, WriteUtf8(FoldCodePoint(c), buf));
      expected = "ab" + folded + "cd";
    }
    EXPECT_EQ(NormalizePostText(text), expected)
        << "U+" << std::hex << static_cast<int>(c);
  }
  // The tilde that makes an n an ñ is the one mark kept.
  EXPECT_EQ(NormalizePostText("an\xcc\x83o"), "a\xc3\xb1o");
}

// The same rules in the middle of a word of two-byte letters (Cyrillic
// Ж before and after), which is read as a run of such letters: a break
// splits the word, a combining mark after a non-Latin letter is kept as a
// letter, and any other letter is folded in place.
TEST(NormalizePostText, FoldsEveryTwoByteCodePointInsideACyrillicWord) {
  for (char32_t c = 0x80; c < 0x800; ++c) {
    char buf[4];
    const std::string cp(buf, WriteUtf8(c, buf));
    const std::string text = "ab\xD0\x96\xD0\x96" + cp + "\xD0\x96" + "cd";
    const std::string zh = "\xD0\xB6";  // ж
    std::string expected;
    if (c <= 0xbf || c == 0xd7 || c == 0xf7) {
      expected = "ab" + zh + zh + " " + zh + "cd";
    } else {
      const std::string folded(buf, WriteUtf8(FoldCodePoint(c), buf));
      expected = "ab" + zh + zh + folded + zh + "cd";
    }
    EXPECT_EQ(NormalizePostText(text), expected)
        << "U+" << std::hex << static_cast<int>(c);
  }
  EXPECT_EQ(NormalizePostText("ГОЛОСУЙТЕ\xD0"), "голосуйте");
  // Bytes that are no UTF-8 are skipped, as everywhere else.
  EXPECT_EQ(NormalizePostText("ГОЛОС\xD0\xD0УЙТЕ"), "голосуйте");
}

TEST(CountWords, CountsTheWordsOfANormalizedText) {
  EXPECT_EQ(CountWords(""), 0);
  EXPECT_EQ(CountWords("vote"), 1);
  EXPECT_EQ(CountWords(NormalizePostText("Vote -- now, please; today!")), 4);
}

// ---------------------------------------------------------------------------
// Clusters.

TEST(CoordinatedSharing, FiresWhenKAccountsShareAUrlWithinTheWindow) {
  Driver d;
  SendAll(d, Sharers(5, "https://disinfo.test/rigged", 0, 10));
  d.Watermark(At(39));
  EXPECT_THAT(d.alerts(), IsEmpty());  // the fifth post is not complete yet
  d.Watermark(At(41));
  ASSERT_EQ(d.alerts().size(), 1u);
  const Alert& a = d.alerts()[0];
  EXPECT_EQ(a.detector, "coordinated_sharing");
  EXPECT_EQ(a.state, AlertState::kFiring);
  EXPECT_EQ(a.severity, Severity::kInfo);
  EXPECT_EQ(a.target, kMD);
  EXPECT_EQ(a.origin, kRU);
  EXPECT_EQ(a.subject_kind, "url");
  EXPECT_EQ(a.subject, "disinfo.test/rigged");
  EXPECT_EQ(a.observed, 5);
  EXPECT_EQ(a.score, 5);
  EXPECT_EQ(a.threshold, 5);
  EXPECT_EQ(a.window_start, At(0));
  EXPECT_EQ(a.window_end, At(40));
  EXPECT_EQ(a.config_hash, kHash);
  EXPECT_EQ(a.id,
            MakeAlertId("coordinated_sharing", "MD|url|disinfo.test/rigged",
                        At(40), Severity::kInfo, kHash));
  EXPECT_THAT(a.summary, StartsWith("Coordinated sharing of "
                                    "disinfo.test/rigged aimed at MD: 5 "
                                    "accounts within 1 min"));
  EXPECT_EQ(d.op().stats().firing, 1);
}

TEST(CoordinatedSharing, FourAccountsAreBelowK) {
  Driver d;
  SendAll(d, Sharers(4, "https://disinfo.test/rigged", 0, 5));
  d.Watermark(At(3600));
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(CoordinatedSharing, OneAccountPostingAUrlFiftyTimesIsNotACluster) {
  Driver d;
  for (int i = 0; i < 50; ++i) {
    Post p;
    p.account = "hyperactive";
    p.at = At(i);
    p.urls = {"https://disinfo.test/rigged"};
    p.text = "the vote is rigged share this everywhere now";
    d.Send(p);
  }
  // Three more accounts: four distinct in all, still below k.
  SendAll(d, Sharers(3, "https://disinfo.test/rigged", 20, 1));
  d.Watermark(At(3600));
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(CoordinatedSharing, PairsTwoPostsOneSecondApartAcrossAMinuteBoundary) {
  // With k = 2, the two posts straddle kT0 + 60 s: binned by minute they
  // would fall in different bins.
  Driver d(WithLevels({{Severity::kInfo, 2}}));
  Post a{"alice", At(59.5), {"https://news.test/x"}, "", ""};
  Post b{"bob", At(60.5), {"https://news.test/x"}, "", ""};
  d.Send(a);
  d.Send(b);
  d.Watermark(At(61));
  ASSERT_EQ(d.alerts().size(), 1u);
  EXPECT_EQ(d.alerts()[0].observed, 2);
  EXPECT_EQ(d.alerts()[0].window_start, At(59.5));
  EXPECT_EQ(d.alerts()[0].window_end, At(60.5));
}

TEST(CoordinatedSharing, PairsAPostThatArrivesAfterALaterOne) {
  // The earlier post arrives second (within the watermark's lag): the pair
  // is found in the window that ends at the later post.
  Driver d(WithLevels({{Severity::kInfo, 2}}));
  d.Send(Post{"bob", At(30), {"https://news.test/x"}, "", ""});
  d.Send(Post{"alice", At(10), {"https://news.test/x"}, "", ""});
  d.Watermark(At(31));
  ASSERT_EQ(d.alerts().size(), 1u);
  EXPECT_EQ(d.alerts()[0].window_start, At(10));
  EXPECT_EQ(d.alerts()[0].window_end, At(30));
}

TEST(CoordinatedSharing, PostsFurtherApartThanTheWindowDoNotPair) {
  // Five accounts 20 s apart: any 60 s holds at most four of them.
  Driver d;
  SendAll(d, Sharers(5, "https://news.test/x", 0, 20));
  d.Watermark(At(3600));
  EXPECT_THAT(d.alerts(), IsEmpty());
  // 15 s apart: the five lie within 60 s.
  Driver e;
  SendAll(e, Sharers(5, "https://news.test/x", 0, 15));
  e.Watermark(At(3600));
  EXPECT_EQ(e.alerts().size(), 2u);  // firing, then resolved
}

TEST(CoordinatedSharing, UrlVariantsNormalizeIntoOneCluster) {
  Driver d;
  const std::vector<std::string> variants = {
      "https://www.disinfo.test/Rigged/?utm_source=tg",
      "http://disinfo.test/Rigged",
      "https://DISINFO.test/Rigged?fbclid=abc",
      "https://disinfo.test/Rigged/#top",
      "disinfo.test/Rigged?utm_campaign=x&gclid=y",
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    Post p{absl::StrCat("acct", i),
           At(static_cast<double>(i)),
           {variants[i]},
           "",
           ""};
    d.Send(p);
  }
  d.Watermark(At(10));
  ASSERT_EQ(d.alerts().size(), 1u);
  const Alert& a = d.alerts()[0];
  EXPECT_EQ(a.subject, "disinfo.test/Rigged");
  // The evidence shows the spellings as posted.
  ASSERT_EQ(a.evidence.top_urls.size(), 3u);
  for (const Tally& t : a.evidence.top_urls) {
    EXPECT_NE(std::find(variants.begin(), variants.end(), t.value),
              variants.end())
        << t.value;
    EXPECT_EQ(t.count, 1);
  }
  // The path keeps its case: a different article.
  Driver e;
  SendAll(e, Sharers(3, "https://disinfo.test/Rigged", 0, 1));
  SendAll(e, Sharers(2, "https://disinfo.test/rigged", 3, 1, "other"));
  e.Watermark(At(3600));
  EXPECT_THAT(e.alerts(), IsEmpty());
}

TEST(CoordinatedSharing, OnePostNamingAUrlTwiceCountsOnce) {
  Driver d(WithLevels({{Severity::kInfo, 2}}));
  Post p{"alice", At(0), {"https://x.test/a", "https://www.x.test/a/"}, "", ""};
  d.Send(p);
  d.Watermark(At(3600));
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(CoordinatedSharing, FiresOnTheSameTextFromDistinctAccounts) {
  Driver d;
  const std::vector<std::string> texts = {
      "The election is RIGGED. Share before they delete it!",
      "the election is rigged share before they delete it",
      "THE ELECTION IS RIGGED!!! share before they delete it @friend",
      "The election is rigged - share before they delete it "
      "https://t.co/abc",
      "the election, is rigged: share before they delete it.",
  };
  for (size_t i = 0; i < texts.size(); ++i) {
    Post p{absl::StrCat("acct", i),
           At(static_cast<double>(i) * 3),
           {},
           texts[i],
           ""};
    d.Send(p);
  }
  d.Watermark(At(60));
  ASSERT_EQ(d.alerts().size(), 1u);
  const Alert& a = d.alerts()[0];
  EXPECT_EQ(a.subject_kind, "text");
  EXPECT_EQ(a.subject, TextFingerprintHex(NormalizePostText(texts[1])));
  // One example text, as posted (the key's second post).
  EXPECT_THAT(a.summary, HasSubstr("text \"the election is rigged share "
                                   "before they delete it\" aimed at MD"));
}

TEST(CoordinatedSharing, IgnoresShortTexts) {
  Driver d;
  for (int i = 0; i < 20; ++i) {
    Post p{absl::StrCat("acct", i), At(i), {}, "Vote today, friends!", ""};
    d.Send(p);
  }
  d.Watermark(At(3600));
  EXPECT_THAT(d.alerts(), IsEmpty());
  EXPECT_EQ(d.op().stats().keys, 0);
}

TEST(CoordinatedSharing, StatesTheReachOfTheEpisodesAccounts) {
  Driver d;
  // Five accounts: acct0 twice (its larger count counts), acct1 without a
  // count.
  std::vector<Post> posts = Sharers(5, "https://disinfo.test/rigged", 4, 2);
  posts[0].at = At(0);
  posts[0].followers = 100;
  Post again = posts[0];
  again.at = At(2);
  again.followers = 180;
  posts.push_back(again);
  for (int i = 2; i < 5; ++i) posts[i].followers = 100 * (i + 1);
  SendAll(d, posts);
  d.Watermark(At(40));
  ASSERT_EQ(d.alerts().size(), 1u);
  ASSERT_TRUE(d.alerts()[0].evidence.reach.has_value());
  const Reach& r = *d.alerts()[0].evidence.reach;
  EXPECT_EQ(r.accounts, 4);
  EXPECT_EQ(r.followers, 180 + 300 + 400 + 500);
  EXPECT_FALSE(r.estimated);
  EXPECT_EQ(r.posts_without_followers, 1);
  EXPECT_EQ(r.reposts, 0);
}

TEST(CoordinatedSharing, KeepsFollowerCountsAcrossASnapshot) {
  const std::string url = "https://disinfo.test/rigged";
  std::vector<Post> first = Sharers(6, url, 0, 2);
  std::vector<Post> second = Sharers(6, url, 12, 2, "late");
  for (Post& p : first) p.followers = 10;
  for (Post& p : second) p.followers = 1000;
  Driver d;
  SendAll(d, first);
  d.Watermark(At(11));
  ASSERT_EQ(d.alerts().size(), 1u);  // an open episode, saved below
  SnapshotWriter w;
  d.op().SaveState(w);
  Driver restored;
  SnapshotReader r(w.bytes(), 0, "coordinated_sharing");
  ASSERT_TRUE(restored.op().RestoreState(r, restored.op().state_version()).ok())
      << r.status();
  SendAll(restored, second);
  restored.Watermark(At(40));
  ASSERT_FALSE(restored.alerts().empty());
  const Alert& a = restored.alerts().back();
  // The warning at the tenth account: the six of the episode saved in the
  // snapshot keep their counts.
  EXPECT_EQ(a.severity, Severity::kWarning);
  ASSERT_TRUE(a.evidence.reach.has_value());
  EXPECT_EQ(a.evidence.reach->accounts, 10);
  EXPECT_EQ(a.evidence.reach->followers, 6 * 10 + 4 * 1000);
}

// One post held by three keys (two URLs and its text) shares one strings
// block among them: each key's evidence still quotes its own URL as posted
// and the post's follower count, before and after a snapshot, which saves
// the same bytes again once restored.
TEST(CoordinatedSharing, KeysOfOnePostQuoteTheirOwnUrlAndItsFollowers) {
  std::vector<Post> posts;
  for (int i = 0; i < 5; ++i) {
    Post p;
    p.account = absl::StrCat("acct", i);
    p.at = At(2 * i);
    p.urls = {absl::StrCat("https://A.test/x?utm_source=", i),
              "https://b.test/y", "https://A.test/x"};
    p.text = "the same words posted by every account here";
    p.followers = i == 2 ? -1 : 100 * (i + 1);
    posts.push_back(p);
  }
  const auto check = [](const std::vector<Alert>& alerts) {
    ASSERT_EQ(alerts.size(), 3u);
    for (const Alert& a : alerts) {
      ASSERT_TRUE(a.evidence.reach.has_value()) << a.subject;
      EXPECT_EQ(a.evidence.reach->followers, 100 + 200 + 400 + 500)
          << a.subject;
      EXPECT_EQ(a.evidence.reach->posts_without_followers, 1) << a.subject;
      if (a.subject_kind != "url") continue;
      for (const Tally& t : a.evidence.top_urls) {
        EXPECT_THAT(t.value, StartsWith(a.subject == "a.test/x"
                                            ? "https://A.test/x?utm_source="
                                            : "https://b.test/y"));
      }
    }
  };
  Driver d;
  SendAll(d, std::vector<Post>(posts.begin(), posts.begin() + 4));
  SnapshotWriter w;
  d.op().SaveState(w);
  Driver restored;
  SnapshotReader r(w.bytes(), 0, "coordinated_sharing");
  ASSERT_TRUE(restored.op().RestoreState(r, restored.op().state_version()).ok())
      << r.status();
  SnapshotWriter again;
  restored.op().SaveState(again);
  EXPECT_EQ(again.bytes(), w.bytes());
  for (Driver* x : {&d, &restored}) {
    x->Send(posts[4]);
    x->Watermark(At(40));
    check(x->alerts());
  }
}

TEST(CoordinatedSharing, CountsRepostStormsApartFromOriginalPosts) {
  Driver d;
  // Nine accounts repost one post that carries a URL: below the repost
  // ladder's k (10), and reposts never feed the URL key space.
  for (int i = 0; i < 9; ++i) {
    Post p{absl::StrCat("r", i),
           At(i),
           {"https://disinfo.test/rigged"},
           "the election is rigged share before they delete it",
           "p-42"};
    d.Send(p);
  }
  d.Watermark(At(30));
  EXPECT_THAT(d.alerts(), IsEmpty());
  Post tenth{"r9", At(31), {"https://disinfo.test/rigged"}, "", "p-42"};
  d.Send(tenth);
  d.Watermark(At(40));
  ASSERT_EQ(d.alerts().size(), 1u);
  EXPECT_EQ(d.alerts()[0].subject_kind, "repost");
  ASSERT_TRUE(d.alerts()[0].evidence.reach.has_value());
  EXPECT_EQ(d.alerts()[0].evidence.reach->reposts, 10);
  EXPECT_EQ(d.alerts()[0].subject, "p-42");
  EXPECT_EQ(d.alerts()[0].observed, 10);
  EXPECT_THAT(d.alerts()[0].summary,
              StartsWith("Coordinated reposting of post p-42 aimed at MD"));
}

TEST(CoordinatedSharing, EscalatesAsTheClusterGrowsThenResolvesAfterQuiet) {
  Driver d;
  SendAll(d, Sharers(25, "https://disinfo.test/rigged", 0, 2));
  d.Watermark(At(60));
  const std::vector<Alert>& a = d.alerts();
  ASSERT_EQ(a.size(), 5u);
  EXPECT_THAT(SeverityStates(a),
              ElementsAre(std::pair(Severity::kInfo, AlertState::kFiring),
                          std::pair(Severity::kInfo, AlertState::kResolved),
                          std::pair(Severity::kWarning, AlertState::kFiring),
                          std::pair(Severity::kWarning, AlertState::kResolved),
                          std::pair(Severity::kCritical, AlertState::kFiring)));
  EXPECT_THAT(a[1].summary, StartsWith("Superseded by warning: coordinated"));
  EXPECT_EQ(a[0].observed, 5);
  EXPECT_EQ(a[2].observed, 10);
  EXPECT_EQ(a[4].observed, 20);
  EXPECT_EQ(a[4].window_end, At(38));  // the 20th account's post
  // One episode: ids per severity from the same start.
  EXPECT_EQ(a[1].id, a[0].id);
  EXPECT_EQ(a[3].id, a[2].id);
  EXPECT_EQ(a[4].id,
            MakeAlertId("coordinated_sharing", "MD|url|disinfo.test/rigged",
                        At(8), Severity::kCritical, kHash));

  // Quiet: the last post was at 48 s; nothing before 48 s + 10 min.
  d.Watermark(At(48 + 600));
  EXPECT_EQ(a.size(), 5u);
  d.Watermark(At(48 + 601));
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a[5].state, AlertState::kResolved);
  EXPECT_EQ(a[5].id, a[4].id);
  EXPECT_EQ(a[5].severity, Severity::kCritical);
  EXPECT_EQ(a[5].observed, 25);  // peak: all 25 lie within 48 s
  EXPECT_EQ(a[5].window_start, At(0));
  EXPECT_EQ(a[5].window_end, At(48));
  EXPECT_THAT(a[5].summary,
              HasSubstr("no new post for 10 min; peak 25 accounts within 1 "
                        "min, 25 accounts and 25 posts in all"));
  EXPECT_EQ(d.op().stats().firing, 0);

  // Every firing record is ended by exactly one resolved record.
  std::map<std::string, std::vector<AlertState>> by_id;
  for (const Alert& x : a) by_id[x.id].push_back(x.state);
  for (const auto& [id, states] : by_id) {
    EXPECT_THAT(states, ElementsAre(AlertState::kFiring, AlertState::kResolved))
        << id;
  }
}

TEST(CoordinatedSharing, AClusterThatFormsAgainLaterIsANewEpisode) {
  Driver d;
  SendAll(d, Sharers(5, "https://disinfo.test/rigged", 0, 1));
  d.Watermark(At(1000));
  SendAll(d, Sharers(5, "https://disinfo.test/rigged", 2000, 1, "next"));
  d.Watermark(At(4000));
  ASSERT_EQ(d.alerts().size(), 4u);
  EXPECT_EQ(d.alerts()[0].id, d.alerts()[1].id);
  EXPECT_EQ(d.alerts()[2].id, d.alerts()[3].id);
  EXPECT_NE(d.alerts()[0].id, d.alerts()[2].id);
}

TEST(CoordinatedSharing, JudgesPostsThatArriveOutOfOrderByEventTime) {
  Driver d;
  std::vector<Post> posts = Sharers(5, "https://disinfo.test/rigged", 0, 10);
  std::reverse(posts.begin(), posts.end());
  SendAll(d, posts);
  d.Watermark(At(45));
  ASSERT_EQ(d.alerts().size(), 1u);
  EXPECT_EQ(d.alerts()[0].window_start, At(0));
  EXPECT_EQ(d.alerts()[0].window_end, At(40));
}

TEST(CoordinatedSharing, EvidenceNamesAccountsOriginsAndSamples) {
  Driver d;
  std::vector<Post> posts = Sharers(6, "https://disinfo.test/rigged", 0, 1);
  posts[4].origin = kMD;            // one domestic account
  posts[5].origin = CountryCode();  // one of unknown origin
  posts.push_back(posts[0]);        // acct0 posts twice
  posts.back().at = At(6);
  SendAll(d, posts);
  d.Watermark(At(1000));
  ASSERT_EQ(d.alerts().size(), 2u);
  // The firing record shows the cluster as it reached k.
  EXPECT_EQ(d.alerts()[0].observed, 5);
  EXPECT_EQ(d.alerts()[0].evidence.top_accounts.size(), 3u);
  // The resolved record shows the whole episode.
  const Alert& resolved = d.alerts()[1];
  const Evidence& ev = resolved.evidence;
  ASSERT_EQ(ev.top_accounts.size(), 3u);  // top_n
  EXPECT_EQ(ev.top_accounts[0].value, "acct0");
  EXPECT_EQ(ev.top_accounts[0].count, 2);
  EXPECT_EQ(ev.top_accounts[1].value, "acct1");
  EXPECT_EQ(ev.top_accounts[1].count, 1);
  ASSERT_EQ(ev.other_tops.size(), 1u);
  EXPECT_EQ(ev.other_tops[0].first, "top_origins");
  ASSERT_EQ(ev.other_tops[0].second.size(), 3u);
  EXPECT_EQ(ev.other_tops[0].second[0].value, "RU");
  EXPECT_EQ(ev.other_tops[0].second[0].count, 4);
  EXPECT_EQ(ev.other_tops[0].second[1].value, "MD");
  EXPECT_EQ(ev.other_tops[0].second[2].value, "unknown");
  EXPECT_EQ(resolved.origin, kRU);  // four of six accounts
  // Samples: one per account first, by time, with their coordinates.
  ASSERT_EQ(ev.samples.size(), 4u);
  for (size_t i = 0; i < ev.samples.size(); ++i) {
    EXPECT_EQ(ev.samples[i].account, absl::StrCat("acct", i));
    EXPECT_EQ(ev.samples[i].source, kSource);
    EXPECT_EQ(ev.samples[i].position, static_cast<int64_t>(i + 1));
    EXPECT_EQ(ev.samples[i].id, absl::StrCat("e", i + 1));
    EXPECT_EQ(ev.samples[i].created_at, At(static_cast<double>(i)));
  }
  std::map<std::string, double> numbers(ev.baseline.begin(), ev.baseline.end());
  EXPECT_EQ(numbers["window_seconds"], 60);
  EXPECT_EQ(numbers["peak_accounts"], 6);
  EXPECT_EQ(numbers["peak_spread_seconds"], 5);
  EXPECT_EQ(numbers["episode_accounts"], 6);
  EXPECT_EQ(numbers["episode_posts"], 7);
  EXPECT_EQ(numbers["episode_spread_seconds"], 6);
  EXPECT_EQ(numbers["accounts_known_origin"], 5);
  EXPECT_EQ(numbers["accounts_foreign"], 4);
  EXPECT_THAT(AlertToJson(resolved),
              HasSubstr("\"top_origins\":[{\"value\":\"RU\",\"count\":4}"));
}

TEST(CoordinatedSharing, ProducesIdenticalAlertsOnIdenticalInput) {
  auto run = [](Driver& d) {
    for (int wave = 0; wave < 3; ++wave) {
      for (int u = 0; u < 4; ++u) {
        SendAll(d, Sharers(6 + 5 * u, absl::StrCat("https://x.test/", u),
                           wave * 900 + u * 3, 1.5,
                           absl::StrCat("w", wave, "u", u, "a")));
      }
      d.Watermark(At(wave * 900 + 120));
    }
    d.Watermark(absl::InfiniteFuture());
  };
  Driver one, two;
  run(one);
  run(two);
  ASSERT_FALSE(one.alerts().empty());
  ASSERT_EQ(one.alerts().size(), two.alerts().size());
  for (size_t i = 0; i < one.alerts().size(); ++i) {
    EXPECT_EQ(AlertToJson(one.alerts()[i]), AlertToJson(two.alerts()[i]));
  }
  Driver other({}, "cfg-other");
  run(other);
  ASSERT_EQ(other.alerts().size(), one.alerts().size());
  EXPECT_NE(other.alerts()[0].id, one.alerts()[0].id);
}

TEST(CoordinatedSharing, EvictsLeastRecentlyUsedKeysBeyondTheCapAndCountsIt) {
  CoordinatedSharingOptions options;
  options.max_keys = 3;
  Driver d(options);
  for (int i = 0; i < 10; ++i) {
    Post p{absl::StrCat("a", i),
           At(i),
           {absl::StrCat("https://x.test/", i)},
           "",
           ""};
    d.Send(p);
  }
  EXPECT_EQ(d.op().stats().keys, 3);
  EXPECT_EQ(d.op().stats().cap_hits, 7);
  // A cluster still forms on the most recent keys.
  SendAll(d, Sharers(5, "https://x.test/cluster", 10, 1));
  d.Watermark(At(20));
  ASSERT_EQ(d.alerts().size(), 1u);
  const Alert first = d.alerts()[0];
  // A firing key is never evicted: new keys push out the idle ones only.
  for (int i = 0; i < 10; ++i) {
    Post p{absl::StrCat("b", i),
           At(20 + i),
           {absl::StrCat("https://y.test/", i)},
           "",
           ""};
    d.Send(p);
  }
  EXPECT_EQ(d.op().stats().keys, 3);
  SendAll(d, Sharers(20, "https://x.test/cluster", 30, 1, "late"));
  d.Watermark(At(60));
  EXPECT_EQ(d.alerts().back().severity, Severity::kCritical);
  // The critical alert escalates the same episode: the first alert is
  // closed as superseded, under its own id, and only one alert fires. An
  // evicted key would have dropped the first alert without a record and
  // started a new episode.
  bool superseded = false;
  for (const Alert& a : d.alerts()) {
    if (a.id == first.id && a.state == AlertState::kResolved) {
      superseded = true;
      EXPECT_THAT(a.summary, StartsWith("Superseded by "));
    }
  }
  EXPECT_TRUE(superseded) << "the firing key was evicted";
  EXPECT_EQ(d.op().stats().firing, 1);
}

TEST(CoordinatedSharing, AnEpisodeListsAtMost4096AccountsButCountsThemAll) {
  Driver d;
  // 5,000 accounts share one URL within 50 s: one episode. The watermark
  // follows the posts, as a live feed's does, so each is judged before the
  // key's post cap (128) drops it.
  const std::vector<Post> posts =
      Sharers(5000, "https://x.test/flood", 0, 0.01);
  for (size_t i = 0; i < posts.size(); ++i) {
    d.Send(posts[i]);
    if (i % 50 == 49) d.Watermark(posts[i].at);
  }
  d.Watermark(At(50 + 601));
  ASSERT_FALSE(d.alerts().empty());
  const Alert& resolved = d.alerts().back();
  ASSERT_EQ(resolved.state, AlertState::kResolved);
  std::map<std::string, double> numbers(resolved.evidence.baseline.begin(),
                                        resolved.evidence.baseline.end());
  // The size counts every account (docs/detectors.md)...
  EXPECT_EQ(numbers["episode_accounts"], 5000);
  EXPECT_EQ(numbers["episode_posts"], 5000);
  // ...while the per-account list behind the origin counts holds 4096.
  EXPECT_EQ(numbers["accounts_known_origin"], kMaxEpisodeAccounts);
}

TEST(CoordinatedSharing, CapsThePostsHeldPerKeyAndCountsIt) {
  CoordinatedSharingOptions options;
  options.max_posts_per_key = 8;
  Driver d(options);
  for (int i = 0; i < 20; ++i) {
    Post p{"spammer", At(i * 0.5), {"https://x.test/a"}, "", ""};
    d.Send(p);
  }
  EXPECT_EQ(d.op().stats().buckets, 8);
  EXPECT_EQ(d.op().stats().cap_hits, 12);
  d.Watermark(At(3600));
  EXPECT_THAT(d.alerts(), IsEmpty());
  EXPECT_EQ(d.op().stats().keys, 0);  // idle and past the window: forgotten
  EXPECT_EQ(d.op().stats().buckets, 0);
}

TEST(CoordinatedSharing, AppliesPerTargetLadders) {
  CoordinatedSharingOptions options;
  CoordinatedSharingTargetOptions md;
  md.levels = {{Severity::kWarning, 3}};
  options.per_target[kMD] = md;
  Driver d(options);
  SendAll(d, Sharers(3, "https://x.test/a", 0, 1));
  std::vector<Post> ro = Sharers(3, "https://x.test/a", 0, 1, "ro");
  for (Post& p : ro) p.target = kRO;
  SendAll(d, ro);
  d.Watermark(At(10));
  ASSERT_EQ(d.alerts().size(), 1u);
  EXPECT_EQ(d.alerts()[0].target, kMD);
  EXPECT_EQ(d.alerts()[0].severity, Severity::kWarning);
  EXPECT_EQ(d.alerts()[0].threshold, 3);
}

TEST(CoordinatedSharing, WatchesOnlyTheConfiguredTargetsAndOnlyPosts) {
  CoordinatedSharingOptions options;
  options.targets = {kRO};
  Driver d(options);
  SendAll(d, Sharers(10, "https://x.test/a", 0, 1));  // aimed at MD
  d.Watermark(At(3600));
  EXPECT_THAT(d.alerts(), IsEmpty());
  EXPECT_EQ(d.op().stats().keys, 0);
}

// ---------------------------------------------------------------------------
// State that follows partitions: split by target, merged back.

// An hour of four targets' posts, by time: clusters of URLs, texts and
// reposts that fire, escalate and resolve at different times, over a
// stream of one-off URLs (idle keys that come and go). Each target's posts
// fall on its own milliseconds, so no two targets share a post time.
std::vector<Post> FourTargetsHour() {
  std::vector<Post> posts;
  const auto offset = [](CountryCode t) {
    return t == kMD ? 0.0 : t == kRO ? 0.25 : t == kUA ? 0.5 : 0.75;
  };
  const auto cluster = [&](CountryCode target, int n, double start,
                           double spacing, const std::string& prefix,
                           const std::string& url, const std::string& text,
                           const std::string& repost_of) {
    for (int i = 0; i < n; ++i) {
      Post p;
      p.account = absl::StrCat(prefix, i);
      p.at = At(start + spacing * i + offset(target));
      if (!url.empty()) p.urls = {url};
      p.text = text;
      p.repost_of = repost_of;
      p.target = target;
      p.followers = 100 + i;
      posts.push_back(p);
    }
  };
  cluster(kMD, 12, 60, 2, "md", "https://md.test/a", "", "");
  cluster(kMD, 22, 1500, 1, "md2", "https://md.test/a", "", "");
  cluster(kRO, 7, 200, 3, "ro", "", "vote for the right candidate now please",
          "");
  cluster(kRO, 12, 290, 2, "ro2", "",
          "Vote for the RIGHT candidate, now please!", "");
  cluster(kUA, 30, 400, 1, "ua", "", "", "post123");
  cluster(kUA, 12, 1250, 4, "ua2", "https://ua.test/x", "", "");
  cluster(kRO, 5, 1285, 3, "ro3", "https://ro.test/r", "", "");
  cluster(kDE, 6, 1240, 5, "de", "https://de.test/b", "", "");
  cluster(kDE, 11, 2000, 2, "de2", "", "", "post9");
  const CountryCode targets[] = {kMD, kRO, kUA, kDE};
  for (int i = 0; i < 700; ++i) {
    const CountryCode t = targets[i % 4];
    cluster(t, 1, 5.0 * i, 0, absl::StrCat("solo", i, "_"),
            absl::StrCat("https://once.test/", i), "", "");
  }
  std::stable_sort(posts.begin(), posts.end(),
                   [](const Post& a, const Post& b) { return a.at < b.at; });
  return posts;
}

using KeepTarget = std::function<bool(CountryCode)>;
bool AllTargets(CountryCode) { return true; }

// Sends the posts of `feed` in [from, to) seconds whose target `keep`
// accepts, each numbered by its line in the whole feed.
void SendSeconds(Driver& d, const std::vector<Post>& feed, double from,
                 double to, const KeepTarget& keep) {
  for (size_t i = 0; i < feed.size(); ++i) {
    if (feed[i].at < At(from) || feed[i].at >= At(to) ||
        !keep(feed[i].target)) {
      continue;
    }
    d.set_line(static_cast<int64_t>(i));
    d.Send(feed[i]);
  }
}

// The same 10 s at a time, with the watermark at the end of each (and the
// end of input when `last`).
void FeedSeconds(Driver& d, const std::vector<Post>& feed, double from,
                 double to, const KeepTarget& keep, bool last = false) {
  for (double step = from; step < to; step += 10) {
    SendSeconds(d, feed, step, step + 10, keep);
    d.Watermark(At(step + 10));
  }
  if (last) d.Watermark(absl::InfiniteFuture());
}

std::vector<std::string> JsonOf(const std::vector<Alert>& alerts,
                                size_t from = 0) {
  std::vector<std::string> out;
  for (size_t i = from; i < alerts.size(); ++i) {
    out.push_back(AlertToJson(alerts[i]));
  }
  return out;
}

std::set<std::pair<std::string, AlertState>> Episodes(
    const std::vector<Alert>& alerts) {
  std::set<std::pair<std::string, AlertState>> out;
  for (const Alert& a : alerts) out.emplace(a.target.str(), a.state);
  return out;
}

TEST(CoordinatedSharing,
     StateSplitByTargetAndMergedBackRaisesTheAlertsOfOneRun) {
  constexpr double kSplit = 300;  // MD firing, RO's text forming
  // UA's and DE's second clusters firing, RO's second URL forming: the
  // parts have read the next 10 s, not yet judged (queued), when their
  // state is merged.
  constexpr double kMerge = 1290;
  constexpr double kEnd = 3600;
  const std::vector<Post> feed = FourTargetsHour();
  const KeepTarget part_a = [](CountryCode c) { return c == kMD || c == kUA; };
  const KeepTarget part_b = [&](CountryCode c) { return !part_a(c); };

  Driver whole;
  FeedSeconds(whole, feed, 0, kSplit, AllTargets);
  const std::string at_split = SaveOperatorState(whole.op());
  FeedSeconds(whole, feed, kSplit, kMerge, AllTargets);
  const size_t whole_at_merge = whole.alerts().size();
  FeedSeconds(whole, feed, kMerge, kEnd, AllTargets, /*last=*/true);

  // Each part, split from the whole's state, raises exactly the alerts of
  // a detector that only ever saw its targets' posts.
  Driver a, b;
  ASSERT_TRUE(RestoreOperatorState(at_split, a.op()).ok());
  ASSERT_TRUE(RestoreOperatorState(at_split, b.op()).ok());
  ASSERT_TRUE(a.op().splits_by_target());
  a.op().RetainTargets(part_a);
  b.op().RetainTargets(part_b);
  FeedSeconds(a, feed, kSplit, kMerge, part_a);
  FeedSeconds(b, feed, kSplit, kMerge, part_b);
  for (const auto& [part, keep] :
       {std::pair<Driver*, KeepTarget>{&a, part_a}, {&b, part_b}}) {
    Driver alone;
    FeedSeconds(alone, feed, 0, kSplit, keep);
    const size_t before = alone.alerts().size();
    FeedSeconds(alone, feed, kSplit, kMerge, keep);
    EXPECT_EQ(JsonOf(part->alerts()), JsonOf(alone.alerts(), before));
    EXPECT_EQ(part->op().stats().keys, alone.op().stats().keys);
    EXPECT_EQ(part->op().stats().buckets, alone.op().stats().buckets);
    EXPECT_EQ(part->op().stats().firing, alone.op().stats().firing);
  }
  EXPECT_THAT(
      Episodes(a.alerts()),
      testing::IsSupersetOf(
          {std::pair<std::string, AlertState>("MD", AlertState::kResolved),
           std::pair<std::string, AlertState>("UA", AlertState::kFiring)}));
  EXPECT_THAT(
      Episodes(b.alerts()),
      testing::IsSupersetOf(
          {std::pair<std::string, AlertState>("RO", AlertState::kFiring),
           std::pair<std::string, AlertState>("RO", AlertState::kResolved)}));
  SendSeconds(a, feed, kMerge, kMerge + 10, part_a);
  SendSeconds(b, feed, kMerge, kMerge + 10, part_b);

  // Merged back from the parts' snapshots, the detector goes on as the
  // one that saw everything: the same alerts in the same order.
  Driver a2, b2, merged;
  ASSERT_TRUE(RestoreOperatorState(SaveOperatorState(a.op()), a2.op()).ok());
  ASSERT_TRUE(RestoreOperatorState(SaveOperatorState(b.op()), b2.op()).ok());
  ASSERT_TRUE(merged.op().Absorb(a2.op()).ok());
  ASSERT_TRUE(merged.op().Absorb(b2.op()).ok());
  merged.Watermark(At(kMerge + 10));
  FeedSeconds(merged, feed, kMerge + 10, kEnd, AllTargets, /*last=*/true);
  EXPECT_EQ(JsonOf(merged.alerts()), JsonOf(whole.alerts(), whole_at_merge));
  EXPECT_EQ(merged.op().stats().keys, whole.op().stats().keys);
  EXPECT_EQ(merged.op().stats().buckets, whole.op().stats().buckets);
  EXPECT_THAT(
      Episodes(merged.alerts()),
      testing::IsSupersetOf(
          {std::pair<std::string, AlertState>("UA", AlertState::kResolved),
           std::pair<std::string, AlertState>("MD", AlertState::kFiring),
           std::pair<std::string, AlertState>("DE", AlertState::kFiring),
           std::pair<std::string, AlertState>("DE", AlertState::kResolved)}));
  // A merge refuses a target both parts hold.
  Driver c, d;
  ASSERT_TRUE(RestoreOperatorState(at_split, c.op()).ok());
  ASSERT_TRUE(RestoreOperatorState(at_split, d.op()).ok());
  EXPECT_FALSE(c.op().Absorb(d.op()).ok());
}

TEST(CoordinatedSharing, RefusesPostsFarAheadOfTheWatermark) {
  Driver d;
  d.Watermark(At(0));
  d.Send(Post{"a", At(7 * 3600), {"https://x.test/a"}, "", ""});
  EXPECT_EQ(d.op().stats().cap_hits, 1);
  EXPECT_EQ(d.op().stats().keys, 0);
}

}  // namespace
}  // namespace vigia

namespace vigia {
namespace {

// The posts of a key held ahead of the watermark (a catch-up reads a
// partition up to alignment_drift, an hour, ahead of it) are not the posts
// of one window: the cap bounds those within Δt of each other only, so that
// a post still to be judged is not dropped for posts an hour later.
TEST(CoordinatedSharing, CapsOnlyThePostsWithinTheWindowOfEachOther) {
  CoordinatedSharingOptions options;
  options.max_posts_per_key = 8;
  Driver d(options);
  // 20 posts 10 s apart: at most 7 in any 60 s, 200 s in all.
  for (int i = 0; i < 20; ++i) {
    d.Send(Post{"spammer", At(i * 10), {"https://x.test/a"}, "", ""});
  }
  EXPECT_EQ(d.op().stats().buckets, 20);
  EXPECT_EQ(d.op().stats().cap_hits, 0);
}

// Posts arriving newest first fill the Δt after each newcomer: the cap
// holds there too, dropping the newcomer (the oldest of its window).
TEST(CoordinatedSharing, CapsPostsArrivingNewestFirst) {
  CoordinatedSharingOptions options;
  options.max_posts_per_key = 8;
  Driver d(options);
  for (int i = 19; i >= 0; --i) {
    d.Send(Post{"spammer", At(i * 0.5), {"https://x.test/a"}, "", ""});
  }
  EXPECT_EQ(d.op().stats().buckets, 8);
  EXPECT_EQ(d.op().stats().cap_hits, 12);
}

// The same posts judged with the watermark following them (a replay) or
// passing them all in one step hours later (a catch-up, whose watermark
// is held back while a partition is read ahead) raise the same alerts.
// Before the cap was per window, the one step kept only a key's newest 128
// posts and the first burst's episode never fired.
TEST(CoordinatedSharing, AWatermarkPassingHoursAtOnceRaisesTheSameAlerts) {
  std::vector<Post> posts;
  // Two bursts of an hour, 30 min apart: a post every 12 s from 7
  // accounts, so each window of 60 s holds 6 accounts (k = 5).
  for (double start : {0.0, 5400.0}) {
    for (int i = 0; i < 300; ++i) {
      posts.push_back(Post{absl::StrCat("acct", i % 7),
                           At(start + 12.0 * i),
                           {"https://x.test/story"},
                           "",
                           ""});
    }
  }
  Driver step;
  for (const Post& p : posts) {
    step.Send(p);
    step.Watermark(p.at);
  }
  step.Watermark(At(4 * 3600));
  Driver jump;
  SendAll(jump, posts);
  jump.Watermark(At(4 * 3600));
  EXPECT_EQ(jump.op().stats().cap_hits, 0);
  const auto outcomes = [](const std::vector<Alert>& alerts) {
    std::vector<
        std::tuple<std::string, AlertState, Severity, absl::Time, absl::Time>>
        out;
    for (const Alert& a : alerts) {
      out.emplace_back(a.id, a.state, a.severity, a.window_start, a.window_end);
    }
    return out;
  };
  ASSERT_EQ(step.alerts().size(), 4u);  // two episodes: fired, resolved
  EXPECT_EQ(outcomes(jump.alerts()), outcomes(step.alerts()));
}

}  // namespace
}  // namespace vigia
