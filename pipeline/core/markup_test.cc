#include "pipeline/core/markup.h"

#include "gtest/gtest.h"

namespace vigia {
namespace {

TEST(EscapeMarkup, MarkupCharactersBecomeReferences) {
  EXPECT_EQ(EscapeMarkup(R"(<a href="x">R&D</a>)"),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&lt;/a&gt;");
}

TEST(EscapeMarkup, ControlCharactersXmlCannotWriteBecomeReplacement) {
  EXPECT_EQ(EscapeMarkup(std::string_view("a\x01"
                                          "b\x1f",
                                          4)),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  // Tab, LF and CR are allowed in XML 1.0 and kept.
  EXPECT_EQ(EscapeMarkup("a\tb\nc\rd"), "a\tb\nc\rd");
}

TEST(EscapeMarkup, TextWithoutMarkupAndUtf8IsKept) {
  EXPECT_EQ(EscapeMarkup("Ciudad de México 'MX'"), "Ciudad de México 'MX'");
  EXPECT_EQ(EscapeMarkup(""), "");
}

}  // namespace
}  // namespace vigia
