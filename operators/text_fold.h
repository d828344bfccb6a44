// Case and accent folding of post text and hashtags, shared by the
// detectors that match text (coordinated_sharing's text fingerprints,
// foreign_share's hashtag keys), so that "#NiUnVoto", "#niunvoto",
// "#NIUNVÓTO" and "#NiUnVóto" are one hashtag and a message copied with
// and without its accents is one message.
//
// The folding is what an analyst searching a feed expects, for the scripts
// of the electorates vigia watches (docs/detectors.md, "Text and
// hashtags"):
//   - letters are lower-cased (ASCII, Latin-1, Latin Extended-A, the
//     Romanian comma letters, Greek, Cyrillic);
//   - Latin letters lose their diacritics (á à â ä ã å -> a, ç -> c,
//     ș ş -> s, ł -> l, ő -> o, ...), in precomposed form or as a base
//     letter followed by combining marks (U+0300-U+036F, dropped after a
//     Latin letter), so NFC and NFD spellings fold alike;
//   - except ñ, which Spanish treats as a letter of its own ("año" is not
//     "ano"): Ñ, ñ and n followed by a combining tilde all fold to ñ;
//   - ligatures and letters without a base letter (æ, ø, ß, þ, ð, œ) are
//     only lower-cased; Greek and Cyrillic keep their marks (й is not и).
// Everything else passes through unchanged. Pure functions; thread-safe.
#ifndef VIGIA_OPERATORS_TEXT_FOLD_H_
#define VIGIA_OPERATORS_TEXT_FOLD_H_

#include <string>
#include <string_view>

namespace vigia {

// Simple lower-casing (no diacritic removed) for Latin with its European
// extensions, Greek and Cyrillic; other code points are returned unchanged.
constexpr char32_t LowerCodePoint(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
  if (c >= 0x100 && c <= 0x137) return c | 1;
  if (c >= 0x139 && c <= 0x148) return (c & 1) ? c + 1 : c;
  if (c >= 0x14a && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xff;
  if (c >= 0x179 && c <= 0x17e) return (c & 1) ? c + 1 : c;
  if (c >= 0x218 && c <= 0x21b) return c | 1;  // Ș ș Ț ț
  if (c == 0x386) return 0x3ac;
  if (c >= 0x388 && c <= 0x38a) return c + 37;
  if (c == 0x38c) return 0x3cc;
  if (c == 0x38e || c == 0x38f) return c + 63;
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
      (c >= 0x4d0 && c <= 0x52f)) {
    return c | 1;
  }
  if (c >= 0x4c1 && c <= 0x4ce) return (c & 1) ? c + 1 : c;
  return c;
}

// The folded form of one code point (see the file comment): lower-cased,
// and for a Latin letter with diacritics its base letter, ñ excepted.
constexpr char32_t FoldCodePoint(char32_t c) {
  // Base letters of U+00C0-U+00FF and U+0100-U+017F ('*': lower-case only,
  // '~': ñ).
  constexpr std::string_view kLatin1 =
      "aaaaaa*ceeeeiiii*~ooooo**uuuuy**aaaaaa*ceeeeiiii*~ooooo**uuuuy*y";
  constexpr std::string_view kExtendedA =
      "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii**jjkkkllllllllll"
      "nnnnnnn**oooooo**rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
  if (c >= 0xc0 && c <= 0xff) {
    const char b = kLatin1[c - 0xc0];
    if (b == '~') return 0xf1;  // Ñ ñ
    return b == '*' ? LowerCodePoint(c) : static_cast<char32_t>(b);
  }
  if (c >= 0x100 && c <= 0x17f) {
    const char b = kExtendedA[c - 0x100];
    return b == '*' ? LowerCodePoint(c) : static_cast<char32_t>(b);
  }
  if (c >= 0x218 && c <= 0x21b) return c < 0x21a ? 's' : 't';  // Ș ș Ț ț
  return LowerCodePoint(c);
}

// Combining diacritical marks (U+0300-U+036F): dropped by folding after a
// Latin letter, kept after any other.
constexpr bool IsCombiningMark(char32_t c) { return c >= 0x300 && c <= 0x36f; }
inline constexpr char32_t kCombiningTilde = 0x303;

// Decodes the UTF-8 sequence at s[i]; returns its length, or 0 when the
// bytes there are not a valid (shortest-form) sequence. REQUIRES: i <
// s.size().
int DecodeUtf8(std::string_view s, size_t i, char32_t* cp);

// Writes `cp` as UTF-8 into a buffer with room for 4 bytes; returns the end
// of what it wrote.
char* WriteUtf8(char32_t cp, char* w);

// Whether the folded text [begin, end) ends in a Latin letter (a-z or a
// code point of U+00C0-U+024F), after which a combining mark is dropped.
bool EndsInLatinLetter(const char* begin, const char* end);

// A hashtag's key: leading '#' (and fullwidth '＃') removed, every code
// point folded, combining marks after a Latin letter dropped (a combining
// tilde after n makes ñ). Bytes that are not valid UTF-8 are kept as they are.
//   FoldHashtag("#NiUnVóto") == FoldHashtag("niunvoto") == "niunvoto"
//   FoldHashtag("#AñoNuevo") == "añonuevo" != FoldHashtag("#anonuevo")
std::string FoldHashtag(std::string_view hashtag);
// The same into `out` (replacing its contents), reusing its capacity.
void FoldHashtagTo(std::string_view hashtag, std::string* out);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_TEXT_FOLD_H_
