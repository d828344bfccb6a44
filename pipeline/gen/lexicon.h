// Built-in data of the synthetic feed generator: a small table of country
// profiles (time zone, currency, languages, hashtags) and per-language word
// lists for post texts, campaign messages and ad payer names. Internal to
// pipeline/gen. All data is immutable and static; thread-safe.
#ifndef VIGIA_PIPELINE_GEN_LEXICON_H_
#define VIGIA_PIPELINE_GEN_LEXICON_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "pipeline/core/types.h"

namespace vigia::gen::internal {

struct CountryProfile {
  std::string_view code;
  int utc_offset_minutes;      // summer time
  std::string_view currency;   // ISO 4217
  std::string_view languages;  // space-separated, primary first
  std::string_view hashtags;   // space-separated; may be empty
};

// Returns the built-in profile of `country`, or nullptr if there is none.
const CountryProfile* FindCountryProfile(CountryCode country);

// Word lists of one language. Every list is non-empty.
struct Lexicon {
  std::string_view lang;
  std::span<const std::string_view> statements;  // clauses, no final stop
  std::span<const std::string_view> closers;     // full short sentences
  std::span<const std::string_view> campaign_messages;
  std::span<const std::string_view> campaign_hashtags;
  std::span<const std::string_view> org_prefixes;  // ad payer names
  std::span<const std::string_view> org_suffixes;
};

// Returns the lexicon of `lang`, or nullptr if there is none.
const Lexicon* FindLexicon(std::string_view lang);
// Returns the lexicon of `lang`, falling back to English.
const Lexicon& LexiconOrEnglish(std::string_view lang);
// True if `lang` has its own campaign messages (not the English fallback).
bool HasCampaignMessages(std::string_view lang);

// Outlet names for news domains ("herald" -> "herald-md.example").
std::span<const std::string_view> OutletWords();
// Outlet names used for campaign domains only, so that they never collide
// with background outlets.
std::span<const std::string_view> CampaignOutletWords();
std::span<const std::string_view> UrlSections();
std::span<const std::string_view> UrlSlugWords();
// Prefixes and suffixes that turn a campaign message into a near duplicate.
std::span<const std::string_view> MessagePrefixes();
std::span<const std::string_view> MessageSuffixes();

// Real state-affiliated media domains of `country` (RU, BY, CN, TR, IR),
// for the background's rare links to them; empty for other countries.
std::span<const std::string_view> StateMediaDomains(CountryCode country);
// The default domains of a state_media_amplification campaign.
std::span<const std::string_view> DefaultCampaignStateMediaDomains();

// Ad-library spend ranges, in currency units, ascending; the background
// draws from the first six.
struct SpendRange {
  int64_t lower;
  int64_t upper;
};
std::span<const SpendRange> AdSpendRanges();

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_LEXICON_H_
