#include "operators/text_fold.h"

#include <string>

#include "gtest/gtest.h"

namespace vigia {
namespace {

TEST(FoldHashtag, SpellingsOfOneSpanishHashtagAreOneKey) {
  EXPECT_EQ(FoldHashtag("#NiUnVoto"), "niunvoto");
  EXPECT_EQ(FoldHashtag("#niunvoto"), "niunvoto");
  EXPECT_EQ(FoldHashtag("#NiUnVóto"), "niunvoto");
  EXPECT_EQ(FoldHashtag("#NIUNVÓTO"), "niunvoto");
  EXPECT_EQ(FoldHashtag("##NiUnVoto"), "niunvoto");
  EXPECT_EQ(FoldHashtag("\xEF\xBC\x83NiUnVoto"), "niunvoto");  // fullwidth #
  // NFD: o + combining acute.
  EXPECT_EQ(FoldHashtag("#NiUnVo\xCC\x81to"), "niunvoto");
  EXPECT_EQ(FoldHashtag("#VotoLatino"), FoldHashtag("#votolatíno"));
  EXPECT_EQ(FoldHashtag("#México"), "mexico");
  EXPECT_EQ(FoldHashtag("#Elección2027"), "eleccion2027");
}

TEST(FoldHashtag, KeepsEnyeAsALetterOfItsOwn) {
  EXPECT_EQ(FoldHashtag("#AñoNuevo"), "añonuevo");
  EXPECT_EQ(FoldHashtag("#AÑONUEVO"), "añonuevo");
  EXPECT_EQ(FoldHashtag("#An\xCC\x83oNuevo"), "añonuevo");  // n + U+0303
  EXPECT_NE(FoldHashtag("#AñoNuevo"), FoldHashtag("#AnoNuevo"));
  EXPECT_EQ(FoldHashtag("#Peña"), "peña");
}

TEST(FoldHashtag, FoldsTheOtherElectoratesScripts) {
  EXPECT_EQ(FoldHashtag("#Alegeri2026"), "alegeri2026");
  EXPECT_EQ(FoldHashtag("#Votează"), "voteaza");
  EXPECT_EQ(FoldHashtag("#ȘTIRI"), "stiri");
  EXPECT_EQ(FoldHashtag("#Ştiri"), "stiri");  // cedilla form, as often typed
  EXPECT_EQ(FoldHashtag("#Głosuję"), "glosuje");
  EXPECT_EQ(FoldHashtag("#Bürgerrechte"), "burgerrechte");
  EXPECT_EQ(FoldHashtag("#Straße"), "straße");  // ß has no base letter
  EXPECT_EQ(FoldHashtag("#Élection"), "election");
  EXPECT_EQ(FoldHashtag("#ВЫБОРЫ2026"), "выборы2026");
  EXPECT_EQ(FoldHashtag("#Йод"), "йод");          // Cyrillic keeps its marks
  EXPECT_EQ(FoldHashtag("#ΨΗΦΊΣΤΕ"), "ψηφίστε");  // Greek keeps its tonos
}

TEST(FoldHashtag, KeepsWhatItCannotDecodeAndEmptyStaysEmpty) {
  EXPECT_EQ(FoldHashtag("#"), "");
  EXPECT_EQ(FoldHashtag(""), "");
  EXPECT_EQ(FoldHashtag("#A\xFF"
                        "B"),
            "a\xFF"
            "b");
  EXPECT_EQ(FoldHashtag("#vote🗳"), "vote🗳");
}

TEST(FoldCodePoint, MapsEveryLatinOneAndExtendedALetterToABaseOrItself) {
  EXPECT_EQ(FoldCodePoint(U'Á'), U'a');
  EXPECT_EQ(FoldCodePoint(U'ü'), U'u');
  EXPECT_EQ(FoldCodePoint(U'Ñ'), U'ñ');
  EXPECT_EQ(FoldCodePoint(U'ñ'), U'ñ');
  EXPECT_EQ(FoldCodePoint(U'Ç'), U'c');
  EXPECT_EQ(FoldCodePoint(U'Ø'), U'ø');
  EXPECT_EQ(FoldCodePoint(U'Æ'), U'æ');
  EXPECT_EQ(FoldCodePoint(U'Ÿ'), U'y');
  EXPECT_EQ(FoldCodePoint(U'Ł'), U'l');
  EXPECT_EQ(FoldCodePoint(U'Œ'), U'œ');
  EXPECT_EQ(FoldCodePoint(U'×'), U'×');
  EXPECT_EQ(FoldCodePoint(U'÷'), U'÷');
  // Folding is idempotent, never lengthens a code point's UTF-8 form, and
  // gives a lower-case letter or the code point itself.
  for (char32_t c = 0; c < 0x530; ++c) {
    const char32_t f = FoldCodePoint(c);
    EXPECT_EQ(FoldCodePoint(f), f) << std::hex << static_cast<int>(c);
    char a[4], b[4];
    EXPECT_LE(WriteUtf8(f, b) - b, WriteUtf8(c, a) - a)
        << std::hex << static_cast<int>(c);
  }
}

}  // namespace
}  // namespace vigia
