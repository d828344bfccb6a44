#include "operators/text_fold.h"

#include <string>
#include <string_view>

namespace vigia {

int DecodeUtf8(std::string_view s, size_t i, char32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  int len;
  char32_t v;
  if ((c & 0xe0) == 0xc0) {
    len = 2;
    v = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    v = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (int k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3f);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

char* WriteUtf8(char32_t cp, char* w) {
  if (cp < 0x80) {
    *w++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *w++ = static_cast<char>(0xc0 | (cp >> 6));
    *w++ = static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *w++ = static_cast<char>(0xe0 | (cp >> 12));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *w++ = static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *w++ = static_cast<char>(0xf0 | (cp >> 18));
    *w++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *w++ = static_cast<char>(0x80 | (cp & 0x3f));
  }
  return w;
}

bool EndsInLatinLetter(const char* begin, const char* end) {
  if (end == begin) return false;
  const unsigned char last = static_cast<unsigned char>(end[-1]);
  if (last < 0x80) return last >= 'a' && last <= 'z';
  if (end - begin < 2 || (last & 0xc0) != 0x80) return false;
  const unsigned char lead = static_cast<unsigned char>(end[-2]);
  return lead >= 0xc3 && lead <= 0xc9;  // U+00C0-U+024F
}

std::string FoldHashtag(std::string_view hashtag) {
  std::string out;
  FoldHashtagTo(hashtag, &out);
  return out;
}

void FoldHashtagTo(std::string_view tag, std::string* out) {
  constexpr std::string_view kFullwidthHash = "\xef\xbc\x83";  // U+FF03
  for (;;) {
    if (!tag.empty() && tag.front() == '#') {
      tag.remove_prefix(1);
    } else if (tag.substr(0, kFullwidthHash.size()) == kFullwidthHash) {
      tag.remove_prefix(kFullwidthHash.size());
    } else {
      break;
    }
  }
  // Folding never lengthens: a code point folds to one of the same or a
  // shorter encoding, and ñ from n + U+0303 (3 bytes) takes 2. This runs for
  // every hashtag of every post: ASCII, the common case, takes one test.
  out->resize(tag.size());
  char* const begin = out->data();
  char* w = begin;
  size_t i = 0;
  while (i < tag.size()) {
    const unsigned char c = static_cast<unsigned char>(tag[i]);
    if (c < 0x80) {
      *w++ = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      ++i;
      continue;
    }
    char32_t cp;
    const int len = DecodeUtf8(tag, i, &cp);
    if (len == 0) {
      *w++ = static_cast<char>(c);
      ++i;
      continue;
    }
    i += static_cast<size_t>(len);
    if (IsCombiningMark(cp) && EndsInLatinLetter(begin, w)) {
      if (cp == kCombiningTilde && w[-1] == 'n') w = WriteUtf8(0xf1, w - 1);
      continue;
    }
    w = WriteUtf8(FoldCodePoint(cp), w);
  }
  out->resize(static_cast<size_t>(w - begin));
}

}  // namespace vigia
