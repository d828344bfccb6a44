#include "pipeline/core/country.h"

#include <string>

#include "gtest/gtest.h"

namespace vigia {
namespace {

TEST(ParseCountry, AcceptsAssignedCodes) {
  for (const char* code : {"AD", "DE", "FR", "GB", "US", "RU", "CN", "UA", "BR",
                           "IN", "ZW", "AX", "BQ", "SS", "TW", "PS"}) {
    const CountryCode c = ParseCountry(code);
    EXPECT_TRUE(c.known()) << code;
    EXPECT_EQ(c.str(), code);
    EXPECT_EQ(c, CountryCode::FromString(code));
  }
}

TEST(ParseCountry, AcceptsKosovoAsXk) {
  EXPECT_EQ(ParseCountry("XK").str(), "XK");
}

TEST(ParseCountry, RejectsCodesThatAreNotIsoAssignments) {
  // UK and EU are exceptionally reserved, not assigned; ZZ and the other
  // X* codes are user-assigned; the rest are simply unassigned.
  for (const char* code : {"UK", "EU", "ZZ", "XX", "XA", "AA", "QO", "OO", "SU",
                           "YU", "CS", "AN", "TP", "UN", "EZ", "ZA0"}) {
    EXPECT_FALSE(ParseCountry(code).known()) << code;
  }
}

TEST(ParseCountry, RejectsLowerAndMixedCase) {
  for (const char* code : {"de", "De", "dE", "gb", "xk"}) {
    EXPECT_FALSE(ParseCountry(code).known()) << code;
  }
}

TEST(ParseCountry, RejectsWrongLengthsAndNonLetters) {
  for (std::string_view code :
       {std::string_view(""), std::string_view("D"), std::string_view("DEU"),
        std::string_view("D1"), std::string_view("1D"), std::string_view(" D"),
        std::string_view("D "), std::string_view("D\0", 2),
        std::string_view("\xC3\x84T")}) {
    EXPECT_FALSE(ParseCountry(code).known()) << code;
  }
}

TEST(ParseCountry, KnowsExactlyTheAssignedCodesPlusXk) {
  // 249 ISO 3166-1 alpha-2 assignments (2024) plus XK.
  int known = 0;
  for (char a = 'A'; a <= 'Z'; ++a) {
    for (char b = 'A'; b <= 'Z'; ++b) {
      const char code[] = {a, b};
      if (ParseCountry(std::string_view(code, 2)).known()) ++known;
    }
  }
  EXPECT_EQ(known, 250);
}

TEST(CountryCode, DefaultIsUnknownAndPrintsEmpty) {
  const CountryCode unknown;
  EXPECT_FALSE(unknown.known());
  EXPECT_EQ(unknown.str(), "");
  EXPECT_NE(unknown, ParseCountry("DE"));
}

}  // namespace
}  // namespace vigia
