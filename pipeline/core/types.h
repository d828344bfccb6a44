// Strong value types shared by every layer of vigia: country and currency
// codes, the feed an event came from, and where its bytes were read.
//
// All types here are small, trivially copyable values; they are safe to share
// between threads as long as each copy is owned by one thread.
#ifndef VIGIA_PIPELINE_CORE_TYPES_H_
#define VIGIA_PIPELINE_CORE_TYPES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace vigia {

// An ISO 3166-1 alpha-2 country code, packed in two bytes. The default value
// is "unknown" (empty). Only the decoder creates codes from untrusted input,
// and it validates them against the ISO list first (see country.h).
class CountryCode {
 public:
  constexpr CountryCode() = default;
  // REQUIRES: code is two upper-case ASCII letters.
  static constexpr CountryCode FromChars(char a, char b) {
    CountryCode c;
    c.packed_ = static_cast<uint16_t>((static_cast<uint8_t>(a) << 8) |
                                      static_cast<uint8_t>(b));
    return c;
  }
  // Returns the unknown code unless `code` is exactly two letters A-Z.
  static constexpr CountryCode FromString(std::string_view code) {
    if (code.size() != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' ||
        code[1] > 'Z') {
      return CountryCode();
    }
    return FromChars(code[0], code[1]);
  }

  constexpr bool known() const { return packed_ != 0; }
  constexpr uint16_t packed() const { return packed_; }
  std::string str() const {
    if (!known()) return std::string();
    return std::string{static_cast<char>(packed_ >> 8),
                       static_cast<char>(packed_ & 0xff)};
  }

  friend constexpr bool operator==(CountryCode a, CountryCode b) = default;
  friend constexpr auto operator<=>(CountryCode a, CountryCode b) = default;
  template <typename H>
  friend H AbslHashValue(H h, CountryCode c) {
    return H::combine(std::move(h), c.packed_);
  }

 private:
  uint16_t packed_ = 0;
};

// An ISO 4217 currency code ("EUR"), packed; default is unknown.
class CurrencyCode {
 public:
  constexpr CurrencyCode() = default;
  // Returns the unknown code unless `code` is exactly three letters A-Z.
  static constexpr CurrencyCode FromString(std::string_view code) {
    CurrencyCode c;
    if (code.size() != 3) return c;
    uint32_t v = 0;
    for (char ch : code) {
      if (ch < 'A' || ch > 'Z') return CurrencyCode();
      v = (v << 8) | static_cast<uint8_t>(ch);
    }
    c.packed_ = v;
    return c;
  }
  constexpr bool known() const { return packed_ != 0; }
  std::string str() const {
    if (!known()) return std::string();
    return std::string{static_cast<char>((packed_ >> 16) & 0xff),
                       static_cast<char>((packed_ >> 8) & 0xff),
                       static_cast<char>(packed_ & 0xff)};
  }
  friend constexpr bool operator==(CurrencyCode a, CurrencyCode b) = default;

 private:
  uint32_t packed_ = 0;
};

// Which feed an event belongs to. Posts and ads share one archive format and
// are told apart by their fields (an ad has `payer`).
enum class FeedKind : uint8_t { kPost = 0, kAd = 1 };
inline constexpr int kNumFeeds = 2;
constexpr std::string_view FeedName(FeedKind f) {
  return f == FeedKind::kPost ? "posts" : "ads";
}
// A set of feeds, one bit per FeedKind.
using FeedSet = uint8_t;
constexpr FeedSet FeedBit(FeedKind f) {
  return static_cast<FeedSet>(1u << static_cast<int>(f));
}
inline constexpr FeedSet kAllFeeds = (1u << kNumFeeds) - 1;

// Where an event's bytes came from, so that evidence can point back at them:
// a file and line in replay, a topic, partition and offset from Kafka.
// `source` views a string that outlives the pipeline (the input path or the
// topic name, owned by the reader).
struct SourceRef {
  std::string_view source;
  int32_t partition = -1;  // -1 for files
  int64_t position = 0;    // 1-based line number for files, offset for Kafka

  bool is_kafka() const { return partition >= 0; }
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_TYPES_H_
