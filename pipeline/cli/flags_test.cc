#include "pipeline/cli/flags.h"

#include <vector>

#include "gtest/gtest.h"

namespace vigia::cli {
namespace {

CommandSpec Spec() {
  return {"replay",
          "s",
          "",
          {{"input", "FILE", "in", true},
           {"quiet", "", "no output"},
           {"speed", "X", "speed-up"}}};
}

absl::StatusOr<ParsedFlags> Parse(std::vector<const char*> args) {
  return ParseFlags(Spec(), static_cast<int>(args.size()),
                    const_cast<char**>(args.data()));
}

TEST(ParseFlags, AcceptsSpaceAndEqualsForms) {
  auto f = Parse({"--input", "a.ndjson", "--speed=2.5", "--quiet"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->get("input"), "a.ndjson");
  EXPECT_EQ(*f->GetDouble("speed", 1), 2.5);
  EXPECT_TRUE(f->has("quiet"));
}

// `vigia verify DIR`: one bare argument sets the command's positional
// flag (which also satisfies its requirement); a second is an error.
TEST(ParseFlags, ABareArgumentSetsThePositionalFlagOnce) {
  CommandSpec spec = {"verify", "s", "", {{"dir", "DIR", "package", true}}};
  spec.positional = "dir";
  std::vector<const char*> one = {"pkg"};
  auto f = ParseFlags(spec, 1, const_cast<char**>(one.data()));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->get("dir"), "pkg");
  std::vector<const char*> two = {"pkg", "other"};
  auto g = ParseFlags(spec, 2, const_cast<char**>(two.data()));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(),
            "vigia verify: unexpected argument \"other\" (see vigia verify "
            "--help)");
  EXPECT_EQ(CommandHelp(spec).substr(0, 23), "usage: vigia verify DIR");
  // Without a positional flag a bare argument is refused.
  EXPECT_FALSE(Parse({"a.ndjson"}).ok());
}

TEST(ParseFlags, RejectsAnUnknownFlagByName) {
  auto f = Parse({"--input", "a", "--inptu", "b"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "vigia replay: unknown flag --inptu (see vigia replay --help)");
}

TEST(ParseFlags, RequiresRequiredFlagsUnlessHelpIsAsked) {
  auto f = Parse({"--quiet"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "vigia replay: --input FILE is required (see vigia replay --help)");
  auto h = Parse({"--help"});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->help);
}

TEST(ParseFlags, ReportsAMissingValueAndAValueOnABoolean) {
  EXPECT_EQ(Parse({"--input"}).status().message(),
            "vigia replay: --input needs a value (FILE)");
  EXPECT_EQ(Parse({"--input", "a", "--quiet=yes"}).status().message(),
            "vigia replay: --quiet takes no value");
}

TEST(ParseFlags, ReportsANonNumericValue) {
  auto f = Parse({"--input", "a", "--speed", "fast"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->GetDouble("speed", 1).status().message(),
            "--speed: not a number: \"fast\"");
}

TEST(CommandHelp, ListsEveryFlag) {
  const std::string help = CommandHelp(Spec());
  EXPECT_NE(help.find("--input FILE"), std::string::npos);
  EXPECT_NE(help.find("[--quiet]"), std::string::npos);
  EXPECT_NE(help.find("--speed X"), std::string::npos);
}

}  // namespace
}  // namespace vigia::cli
