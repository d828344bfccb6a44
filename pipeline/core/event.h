// The decoded form of one post or ad, as operators see it.
//
// An Event is a view: its strings point into the decoder's buffers (or the
// input line) and are valid only until the decoder parses the next record.
// Operators that keep anything beyond Observe() must copy it. Events are
// created, processed and discarded on one thread.
#ifndef VIGIA_PIPELINE_CORE_EVENT_H_
#define VIGIA_PIPELINE_CORE_EVENT_H_

#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "absl/time/time.h"
#include "pipeline/core/types.h"

namespace vigia {

// A tri-state flag: a platform may not say whether an account is
// state-affiliated, and "unknown" must not read as "no".
enum class Tristate : uint8_t { kUnknown = 0, kNo = 1, kYes = 2 };

// A reported range such as ad spend; NaN bounds mean "not reported".
struct Range {
  double lower = std::numeric_limits<double>::quiet_NaN();
  double upper = std::numeric_limits<double>::quiet_NaN();
  bool known() const { return lower == lower && upper == upper; }
  double midpoint() const { return (lower + upper) / 2; }
};

struct Event {
  FeedKind kind = FeedKind::kPost;
  std::string_view id;
  std::string_view platform;
  absl::Time created_at;  // event time
  CountryCode target;     // the electorate the event is aimed at

  // Posts.
  std::string_view account_id;
  absl::Time account_created_at = absl::InfinitePast();  // past = unknown
  CountryCode account_country;
  Tristate state_affiliated = Tristate::kUnknown;
  int64_t followers = -1;  // -1 = unknown
  std::string_view lang;
  std::string_view text;
  std::span<const std::string_view> urls;
  std::span<const std::string_view> hashtags;
  std::string_view repost_of;  // empty = original post
  int64_t reposts = -1;  // reposts of this post, as collected; -1 = unknown

  // Ads.
  std::string_view page_id;
  std::string_view payer_name;
  CountryCode payer_country;
  CurrencyCode currency;
  Range spend;
  Range impressions;
  std::span<const std::string_view> languages;
  bool has_disclaimer = false;
  std::string_view disclaimer;

  // Where the bytes came from.
  SourceRef source;

  bool is_post() const { return kind == FeedKind::kPost; }
  bool is_ad() const { return kind == FeedKind::kAd; }
  bool has_account_created_at() const {
    return account_created_at != absl::InfinitePast();
  }

  // The country the event originates from, or unknown: the account's
  // country for a post, the payer's for an ad.
  CountryCode origin() const {
    return kind == FeedKind::kPost ? account_country : payer_country;
  }
  // Feed contract v1: foreign origin means the origin is known and differs
  // from the target. Later detectors add further signals (state affiliation,
  // currency) on top of this, never instead of it.
  bool is_foreign() const { return origin().known() && origin() != target; }
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_EVENT_H_
