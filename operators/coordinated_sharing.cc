#include "operators/coordinated_sharing.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operators/cap_hits.h"
#include "operators/compact_storage.h"
#include "operators/detector_options.h"
#include "operators/event_urls.h"
#include "operators/evidence.h"
#include "operators/hyperloglog.h"
#include "operators/operator_util.h"
#include "operators/snapshot.h"
#include "operators/text_fold.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

constexpr std::string_view kName = "coordinated_sharing";
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
// Posts this far ahead of the watermark are refused (a source whose clock
// runs ahead must not pin state for hours).
constexpr absl::Duration kMaxLookahead = absl::Hours(6);
// Example texts are quoted up to this many bytes.
constexpr size_t kExampleBytes = 140;

// ---------------------------------------------------------------------------
// Text normalisation.

// Punctuation, spaces, symbols and emoji: word breaks, so that "vote!!!",
// "vote 🗳️" and "«vote»" read the same.
constexpr bool IsBreak(char32_t c) {
  if (c < 0x80) {
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9'));
  }
  return (c <= 0xbf) || c == 0xd7 || c == 0xf7 ||
         (c >= 0x2000 && c <= 0x206f) || (c >= 0x20a0 && c <= 0x20cf) ||
         (c >= 0x2100 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) ||
         (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xfe30 && c <= 0xfe4f) ||
         c == 0xfeff || (c >= 0x1f000 && c <= 0x1faff) ||
         (c >= 0xe0000 && c <= 0xe007f);
}

// FoldCodePoint() of every code point below kLowerTableSize (all of Latin,
// Greek and Cyrillic), looked up instead of walking its chain of ranges.
constexpr size_t kLowerTableSize = 0x530;
constexpr std::array<char16_t, kLowerTableSize> kLowerTable = [] {
  std::array<char16_t, kLowerTableSize> t = {};
  for (size_t c = 0; c < kLowerTableSize; ++c) {
    t[c] = static_cast<char16_t>(FoldCodePoint(static_cast<char32_t>(c)));
  }
  return t;
}();

// What NormalizePostTextTo does with a code point below kLowerTableSize
// written in two bytes (Latin diacritics, Greek, Cyrillic), in one lookup
// instead of IsBreak()'s ranges, the table above and WriteUtf8(): most
// non-ASCII text is such code points.
struct TwoByteFold {
  enum Kind : uint8_t { kLetter, kBreak, kMark };
  Kind kind = kLetter;
  uint8_t size = 0;  // of `bytes`: FoldCodePoint() as UTF-8, 1 or 2 bytes
  char bytes[2] = {};
};
constexpr std::array<TwoByteFold, kLowerTableSize> kTwoByteFold = [] {
  std::array<TwoByteFold, kLowerTableSize> t = {};
  for (size_t c = 0x80; c < kLowerTableSize; ++c) {
    const char32_t cp = static_cast<char32_t>(c);
    TwoByteFold& f = t[c];
    f.kind = IsBreak(cp)           ? TwoByteFold::kBreak
             : IsCombiningMark(cp) ? TwoByteFold::kMark
                                   : TwoByteFold::kLetter;
    const char32_t folded = FoldCodePoint(cp);
    if (folded < 0x80) {
      f.size = 1;
      f.bytes[0] = static_cast<char>(folded);
    } else {
      f.size = 2;
      f.bytes[0] = static_cast<char>(0xc0 | (folded >> 6));
      f.bytes[1] = static_cast<char>(0x80 | (folded & 0x3f));
    }
  }
  return t;
}();
// FoldCodePoint() never lengthens a two-byte code point's encoding (what
// the one-pass writer relies on), so every entry fits in two bytes; and
// the table holds every code point of lead bytes 0xc2-0xd3, which its run
// of two-byte letters reads without a bound check.
static_assert(kLowerTableSize >= (0xd4 & 0x1f) << 6);
static_assert([] {
  for (size_t c = 0x80; c < kLowerTableSize; ++c) {
    if (FoldCodePoint(static_cast<char32_t>(c)) >= 0x800) return false;
  }
  return true;
}());

// ASCII as FoldCodePoint(), IsBreak() and IsAsciiSpace() treat it, in one
// lookup for the fast path of NormalizePostTextTo: the lower-cased byte of a
// letter or digit, kFoldSpace for a space (which ends a token), 0 for any other
// word break.
constexpr char kFoldSpace = 1;
constexpr std::array<char, 128> kAsciiFold = [] {
  std::array<char, 128> t = {};
  for (int c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      t[c] = static_cast<char>(c);
    } else if (c >= 'A' && c <= 'Z') {
      t[c] = static_cast<char>(c + 32);
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
               c == '\v') {
      t[c] = kFoldSpace;
    }
  }
  return t;
}();

// The bytes of `x` (eight text bytes, the first in the lowest byte) that
// are ASCII and within [lo, hi], as 0x80 in each such byte. Per-byte sums
// cannot carry into the next byte: ASCII bytes are below 0x80 and the
// addends at most 0x80, and non-ASCII bytes are masked out.
constexpr uint64_t kHighBits = 0x8080808080808080u;
constexpr uint64_t kLowBits = 0x0101010101010101u;
inline uint64_t AsciiInRange(uint64_t x, uint64_t ascii, unsigned char lo,
                             unsigned char hi) {
  const uint64_t ge_lo = ascii + kLowBits * (0x80u - lo);
  const uint64_t gt_hi = ascii + kLowBits * (0x7Fu - hi);
  return ge_lo & ~gt_hi & ~x & kHighBits;
}

// How many of the eight bytes of `x`, from the first, are ASCII letters or
// digits (what kAsciiFold folds to a character), and into `*folded` those
// bytes lower-cased (the rest of `*folded` is unspecified). NormalizePostTextTo
// copies runs of letters eight at a time with it: most of a post's bytes are
// in such runs, and a lookup per byte was most of its cost.
inline size_t AsciiWordRun(uint64_t x, uint64_t* folded) {
  const uint64_t ascii = x & ~kHighBits;
  const uint64_t upper = AsciiInRange(x, ascii, 'A', 'Z');
  const uint64_t word = upper | AsciiInRange(x, ascii, 'a', 'z') |
                        AsciiInRange(x, ascii, '0', '9');
  // Upper-case bytes become lower-case by adding 0x20 (0x80 >> 2); no byte
  // overflows ('Z' + 0x20 < 0x80).
  *folded = x + (upper >> 2);
  const uint64_t stop = ~word & kHighBits;
  return stop == 0 ? 8 : static_cast<size_t>(__builtin_ctzll(stop)) / 8;
}

// Whether the eight bytes of `x` fold, all at once, to themselves
// lower-cased, in the middle of a run of words: each byte an ASCII letter,
// digit or space (0x20), the last one not a space, no two spaces in a row,
// and no word after a space starting with h or w (which may begin a link).
// REQUIRES: the byte before `x` is a letter or digit, so that a space first
// in `x` also ends a word. Then `*folded` holds the bytes lower-cased:
// NormalizePostTextTo's per-byte rules would write exactly them (a single
// space between two words is written as one space). Prose between
// punctuation is mostly such runs; taking them eight bytes at a time saves
// a branch or two per byte and per word.
inline bool AsciiProseRun(uint64_t x, uint64_t* folded) {
  const uint64_t ascii = x & ~kHighBits;
  const uint64_t upper = AsciiInRange(x, ascii, 'A', 'Z');
  const uint64_t word = upper | AsciiInRange(x, ascii, 'a', 'z') |
                        AsciiInRange(x, ascii, '0', '9');
  const uint64_t space = AsciiInRange(x, ascii, ' ', ' ');
  if ((word | space) != kHighBits || (word >> 56) == 0 ||
      (space & (space >> 8)) != 0) {
    return false;
  }
  const uint64_t lowered = x + (upper >> 2);
  const uint64_t link = AsciiInRange(lowered, lowered, 'h', 'h') |
                        AsciiInRange(lowered, lowered, 'w', 'w');
  if ((link & (space << 8)) != 0) return false;
  *folded = lowered;
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != prefix[i]) return false;
  }
  return true;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence, and
// flattens line breaks, for quoting in a one-line summary.
std::string Excerpt(std::string_view text, size_t max) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp;
    int len = DecodeUtf8(text, i, &cp);
    if (len == 0) {
      ++i;
      continue;
    }
    if (out.size() + len > max) {
      out.append("...");
      break;
    }
    if (cp == '\n' || cp == '\r' || cp == '\t') {
      out.push_back(' ');
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

// The 16 lower-case hex digits of a fingerprint.
std::string FingerprintHex(uint64_t fp) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, fp >>= 4) out[i] = kDigits[fp & 0xf];
  return out;
}

// CountWords(normalized) >= k, reading only as far as the k-th word: a
// post's text is a few hundred bytes and k is a handful.
bool HasWords(std::string_view normalized, int k) {
  if (k <= 0) return true;
  if (normalized.empty()) return false;
  int words = 1;
  for (size_t at = normalized.find(' '); words < k && at != normalized.npos;
       at = normalized.find(' ', at + 1)) {
    ++words;
  }
  return words >= k;
}

// ---------------------------------------------------------------------------
// The detector.

enum class Kind : uint8_t { kUrl = 0, kText = 1, kRepost = 2 };

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kUrl:
      return "url";
    case Kind::kText:
      return "text";
    case Kind::kRepost:
      return "repost";
  }
  return "unknown";
}

// The ladders in force for one target.
struct Rules {
  std::vector<ClusterLevel> levels;
  std::vector<ClusterLevel> repost_levels;
};

// One post held by a key, copied out of its Event: 32 bytes and one heap
// block for its strings, which it shares with the post's other keys. Most
// keys hold a single post and are dropped a minute later.
struct Member {
  // The most URLs of one post that share its strings block; a member of a
  // further URL has a block of its own.
  static constexpr int kSharedUrls = 255;

  int64_t t_us = 0;
  int64_t position = 0;
  // The post's id, account, follower count in decimal (empty when the post
  // reported none), then the URLs as posted of its "url" keys: one block
  // for all the keys a post is held by (a post with a URL and a text is two
  // keys), not one each.
  SharedPackedStrings text;
  uint32_t source = 0;  // source and partition, in the detector's table
  CountryCode country;
  uint8_t url = 0;  // "url" keys: the URL as posted is text[3 + url]
  bool in_episode : 1 = false;
  bool queued : 1 = false;  // a judgement of the window ending here is pending

  std::string_view id() const { return text[0]; }
  std::string_view account() const { return text[1]; }
  // The account's StableHash64 (EventFacts::account_hash()), computed when
  // a window's distinct accounts are counted rather than held: 8 bytes of
  // every held post.
  uint64_t account_hash() const { return StableHash64(account()); }
  // REQUIRES: a member of a "url" key.
  std::string_view raw_url() const {
    return text.count() > 3u + url ? text[3u + url] : std::string_view();
  }
  // The account's follower count when the post was collected, or -1.
  int64_t followers() const {
    int64_t n = -1;
    if (text.count() > 2 && absl::SimpleAtoi(ToAbsl(text[2]), &n)) return n;
    return -1;
  }
  StoredSample Sample(const SourceTable& sources) const {
    const SourceRef s = sources.Get(source, position);
    return StoredSample(id(), account(), absl::FromUnixMicros(t_us), s.source,
                        s.partition, s.position);
  }
};
static_assert(sizeof(Member) == 32);

struct AccountStat {
  uint32_t posts = 0;
  CountryCode country;
  int64_t followers = -1;  // the largest count its posts reported; -1: none
};

// A firing cluster: what the alert records say about it.
struct Episode {
  explicit Episode(int top_capacity) : raw_urls(top_capacity) {}

  int level = -1;              // the rung firing
  absl::Time start;            // time of the post that first reached a rung
  int64_t first_us = kNoTime;  // earliest post of the episode
  int64_t last_us = kNoTime;   // latest post of the episode
  int peak = 0;                // most distinct accounts within Δt so far
  int64_t peak_first_us = 0;   // the span of the window that had them
  int64_t peak_last_us = 0;
  int64_t posts = 0;
  absl::flat_hash_map<std::string, AccountStat> accounts;
  int64_t accounts_dropped = 0;  // posts of accounts beyond the cap
  TopK raw_urls;
  std::vector<StoredSample> samples;
  absl::flat_hash_map<std::string, bool> sampled;
};

// The id of the key (kind, target, subject): StableHash64 of the subject
// ("url", "repost") or of the text's fingerprint ("text"), seeded with the
// kind and target.
uint64_t KeyIdOf(Kind kind, CountryCode target, std::string_view subject,
                 uint64_t fingerprint) {
  const uint64_t seed =
      (uint64_t{static_cast<uint8_t>(kind)} << 16) | target.packed();
  char fp[sizeof(fingerprint)];
  std::memcpy(fp, &fingerprint, sizeof(fp));
  return StableHash64(
      kind == Kind::kText ? std::string_view(fp, sizeof(fp)) : subject, seed);
}

// 80 bytes while it holds one post, plus the post's strings. A key lives
// for about Δt and there are as many as posts in Δt times their URLs and
// texts, so its fields are only what cannot be derived: a "text" key keeps
// its fingerprint and derives its id from it, and the newest post time is
// that of its last held post.
struct Key {
  // "url" and "repost" keys: the id; "text" keys: the fingerprint.
  uint64_t id_or_fingerprint = 0;
  uint32_t gen = 0;
  // Least-recently-used list of idle (non-firing) keys.
  uint32_t prev = kNone;
  uint32_t next = kNone;
  CountryCode target;
  Kind kind = Kind::kUrl;
  bool live = false;
  // What alerts quote, empty until the key's second post: the normalised
  // URL or the reposted id ("url", "repost" keys), or the first text seen,
  // cut ("text" keys).
  PackedStrings quote;
  // Posts of the last Δt (and any ahead of the watermark), by time, then
  // arrival.
  absl::InlinedVector<Member, 1> members;
  std::unique_ptr<Episode> episode;

  uint64_t id() const {
    return kind == Kind::kText
               ? KeyIdOf(kind, target, std::string_view(), id_or_fingerprint)
               : id_or_fingerprint;
  }
  // The text's fingerprint ("text" keys), else 0.
  uint64_t fingerprint() const {
    return kind == Kind::kText ? id_or_fingerprint : 0;
  }
  // The newest post time: members are held by time, and neither the cap
  // nor a judgement ever drops the newest, which is held from the key's
  // first post on.
  int64_t last_us() const {
    return members.empty() ? kNoTime : members.back().t_us;
  }
};
static_assert(sizeof(Key) == 80);

// A key's id, looked up in the index of slots.
struct KeyId {
  uint64_t id = 0;
  // What the id was derived from, when known: a slot of the same kind,
  // target and id_or_fingerprint has this id without hashing it again.
  Kind kind = Kind::kUrl;
  CountryCode target;
  uint64_t id_or_fingerprint = 0;
  bool derived = false;

  bool Matches(const Key& key) const {
    if (derived && key.kind == kind && key.target == target &&
        key.id_or_fingerprint == id_or_fingerprint) {
      return true;
    }
    return key.id() == id;
  }
};

// Hash and equality of live slots by their key's id, so that the index
// finds a slot by id without holding a copy of it.
struct SlotIdHash {
  using is_transparent = void;
  const ChunkedVector<Key>* slots;
  size_t operator()(uint32_t slot) const {
    return absl::Hash<uint64_t>()((*slots)[slot].id());
  }
  size_t operator()(const KeyId& k) const {
    return absl::Hash<uint64_t>()(k.id);
  }
};
struct SlotIdEq {
  using is_transparent = void;
  const ChunkedVector<Key>* slots;
  bool operator()(uint32_t a, uint32_t b) const { return a == b; }
  bool operator()(uint32_t slot, const KeyId& k) const {
    return k.Matches((*slots)[slot]);
  }
  bool operator()(const KeyId& k, uint32_t slot) const {
    return k.Matches((*slots)[slot]);
  }
};

// A post waiting for the watermark to pass it.
struct Pending {
  int64_t t_us;
  uint64_t seq;
  uint32_t slot;
  uint32_t gen;
};
struct Later {
  bool operator()(const Pending& a, const Pending& b) const {
    return std::tie(a.t_us, a.seq) > std::tie(b.t_us, b.seq);
  }
};

class CoordinatedSharing final : public Operator {
 public:
  CoordinatedSharing(const CoordinatedSharingOptions& options,
                     const OperatorContext& context)
      : options_(options),
        context_(context),
        window_us_(
            std::max<int64_t>(1, absl::ToInt64Microseconds(options.window))),
        resolve_us_(std::max<int64_t>(
            window_us_, absl::ToInt64Microseconds(options.resolve_after))),
        lookahead_us_(absl::ToInt64Microseconds(kMaxLookahead)),
        max_posts_(static_cast<size_t>(std::max(options.max_posts_per_key, 2))),
        top_capacity_(std::max(4 * context.top_n, 8)),
        window_text_(HumanDuration(options.window)),
        quiet_text_(HumanDuration(options.resolve_after)),
        index_(0, SlotIdHash{&slots_}, SlotIdEq{&slots_}) {
    default_rules_ = Rules{options.levels, options.repost_levels};
    rules_by_target_.fill(&default_rules_);
    target_rules_.reserve(options.per_target.size());
    for (const auto& [target, o] : options.per_target) {
      if (!target.known()) continue;
      target_rules_.push_back(
          std::make_unique<Rules>(Rules{o.levels, o.repost_levels}));
      rules_by_target_[CountryIndex(target)] = target_rules_.back().get();
    }
    for (CountryCode c : options.targets) {
      if (c.known()) watched_[CountryIndex(c)] = true;
      any_watched_ = any_watched_ || c.known();
    }
  }

  std::string_view name() const override { return kName; }
  FeedSet feeds() const override { return FeedBit(FeedKind::kPost); }

  void Observe(const Event& event, EventFacts& facts,
               AlertEmitter& out) override {
    if (!event.is_post() || !event.target.known() || event.account_id.empty()) {
      return;
    }
    if (any_watched_ && !watched_[facts.target_index()]) return;
    const int64_t t = absl::ToUnixMicros(event.created_at);
    if (wm_us_ != kNoTime && t - wm_us_ >= lookahead_us_) {
      cap_hits_.Hit(event.target);
      facts.Refuse(EventFacts::Refusal::kAhead);
      return;
    }
    // The follower count rides in the strings' block (a few bytes, only
    // when reported) rather than in every Member: it is read only when
    // the post joins an episode, for the alert's reach.
    const std::string_view followers(
        followers_digits_,
        event.followers >= 0
            ? static_cast<size_t>(
                  std::to_chars(followers_digits_,
                                followers_digits_ + sizeof(followers_digits_),
                                event.followers)
                      .ptr -
                  followers_digits_)
            : 0);
    post_parts_.assign({event.id, event.account_id, followers});
    if (!event.repost_of.empty()) {
      AddPost(Kind::kRepost, event, event.repost_of, 0, std::string_view(), 0,
              t, std::string_view(), facts);
      post_strings_ = SharedPackedStrings();
      return;
    }
    seen_urls_.clear();
    url_indices_.clear();
    EventUrls& urls = facts.urls();
    for (size_t i = 0; i < urls.size(); ++i) {
      const std::string_view normalized = urls.Normalized(i);
      if (normalized.empty()) continue;
      const uint64_t h = StableHash64(normalized);
      if (std::find(seen_urls_.begin(), seen_urls_.end(), h) !=
          seen_urls_.end()) {
        continue;  // a post naming one URL twice is one share of it
      }
      seen_urls_.push_back(h);
      url_indices_.push_back(i);
      if (post_parts_.size() < 3 + Member::kSharedUrls) {
        post_parts_.push_back(urls.raw(i));
      }
    }
    for (size_t k = 0; k < url_indices_.size(); ++k) {
      const size_t i = url_indices_[k];
      AddPost(Kind::kUrl, event, urls.Normalized(i), 0, urls.raw(i), k, t,
              std::string_view(), facts);
    }
    if (!event.text.empty()) {
      NormalizePostTextTo(event.text, buffer_);
      if (HasWords(buffer_, options_.min_text_words)) {
        AddPost(Kind::kText, event, std::string_view(), StableHash64(buffer_),
                std::string_view(), 0, t, event.text, facts);
      }
    }
    post_strings_ = SharedPackedStrings();
  }

  void AdvanceWatermark(absl::Time watermark, AlertEmitter& out) override {
    if (watermark == absl::InfinitePast()) return;
    const int64_t wm = watermark == absl::InfiniteFuture()
                           ? std::numeric_limits<int64_t>::max()
                           : absl::ToUnixMicros(watermark);
    if (wm_us_ != kNoTime && wm <= wm_us_) return;
    wm_us_ = wm;
    // Posts before the watermark are complete: judge them in event-time
    // order, resolving episodes whose quiet time ran out before each one.
    while (!pending_.empty() && pending_.top().t_us < wm) {
      const Pending p = pending_.top();
      pending_.pop();
      if (next_deadline_ < p.t_us) ResolveDue(p.t_us, out);
      Judge(p, out);
    }
    if (next_deadline_ < wm) ResolveDue(wm, out);
    // Idle keys whose posts have all left the window carry nothing.
    while (lru_tail_ != kNone &&
           slots_[lru_tail_].last_us() < SaturatingSub(wm, window_us_)) {
      Free(lru_tail_);
    }
  }

  OperatorStats stats() const override {
    OperatorStats s;
    s.keys = live_;
    s.buckets = posts_held_;
    s.cap_hits = cap_hits_.total();
    s.firing = static_cast<int64_t>(firing_.size());
    return s;
  }

  // State format, version 2 (1 lacked the episode accounts' follower
  // counts): the counters and watermark; the source table;
  // every slot (free ones as not live; live ones with id, fingerprint,
  // newest post time, LRU links, target, kind, quote, held posts and open
  // episode; id and newest post time are derived in memory and checked on
  // restore); the free list, LRU ends and firing keys in order; the queued
  // judgements (their pop order is fixed by time and sequence). The index
  // of slots by id is rebuilt. Version 3 keeps the cap hits per target
  // (CapHits); before, the total.
  uint32_t state_version() const override { return 3; }
  void SaveState(SnapshotWriter& w) const override {
    w.I64(wm_us_);
    w.U64(seq_);
    cap_hits_.Save(w, /*per_target=*/true);
    w.I64(next_deadline_);
    sources_.Save(w);
    w.U64(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
      const Key& key = slots_[i];
      w.Bool(key.live);
      w.U32(key.gen);
      if (!key.live) continue;
      w.U64(key.id());
      w.U64(key.fingerprint());
      w.I64(key.last_us());
      w.U32(key.prev);
      w.U32(key.next);
      w.U32(key.target.packed());
      w.U32(static_cast<uint32_t>(key.kind));
      SavePacked(key.quote, w);
      w.U64(key.members.size());
      for (const Member& m : key.members) {
        w.I64(m.t_us);
        w.U64(m.account_hash());
        w.I64(m.position);
        SaveMemberText(m, key.kind == Kind::kUrl, w);
        w.U32(m.source);
        w.U32(m.country.packed());
        w.Bool(m.in_episode);
        w.Bool(m.queued);
      }
      w.Bool(key.episode != nullptr);
      if (key.episode != nullptr) SaveEpisode(*key.episode, w);
    }
    w.U64(free_.size());
    for (uint32_t f : free_) w.U32(f);
    w.U32(lru_head_);
    w.U32(lru_tail_);
    w.U64(firing_.size());
    for (uint32_t f : firing_) w.U32(f);
    std::priority_queue<Pending, std::vector<Pending>, Later> pending =
        pending_;
    w.U64(pending.size());
    for (; !pending.empty(); pending.pop()) {
      const Pending& p = pending.top();
      w.I64(p.t_us);
      w.U64(p.seq);
      w.U32(p.slot);
      w.U32(p.gen);
    }
  }

  absl::Status RestoreState(SnapshotReader& r, uint32_t version) override {
    wm_us_ = r.I64();
    seq_ = r.U64();
    cap_hits_.Restore(r, /*per_target=*/version >= 3);
    next_deadline_ = r.I64();
    sources_.Restore(r);
    const size_t slots = r.Count(2);
    const auto slot_ok = [slots](uint32_t s) {
      return s == kNone || s < slots;
    };
    const auto country = [&r](bool may_be_empty) {
      const uint32_t packed = r.U32();
      if (!r.ok()) return CountryCode();
      if ((packed == 0 && may_be_empty) ||
          (packed <= 0xffff && IsCountryCode(static_cast<uint16_t>(packed)))) {
        return CountryCode::FromChars(static_cast<char>(packed >> 8),
                                      static_cast<char>(packed & 0xff));
      }
      r.Fail("malformed country code");
      return CountryCode();
    };
    for (size_t i = 0; i < slots && r.ok(); ++i) {
      Key& key = slots_.emplace_back();
      key.live = r.Bool();
      key.gen = r.U32();
      if (!key.live) continue;
      const uint64_t id = r.U64();
      const uint64_t fingerprint = r.U64();
      const int64_t last_us = r.I64();
      key.prev = r.U32();
      key.next = r.U32();
      key.target = country(false);
      const uint32_t kind = r.U32();
      if (r.ok() && (kind > 2 || !slot_ok(key.prev) || !slot_ok(key.next))) {
        r.Fail("key with an unknown kind or link");
      }
      key.kind = static_cast<Kind>(kind);
      key.quote = RestorePacked(r);
      const size_t members = r.Count(8);
      for (size_t k = 0; k < members && r.ok(); ++k) {
        Member& m = key.members.emplace_back();
        m.t_us = r.I64();
        const uint64_t account_hash = r.U64();
        m.position = r.I64();
        m.text = RestoreMemberText(r, key.kind == Kind::kUrl);
        m.source = r.U32();
        m.country = country(true);
        m.in_episode = r.Bool();
        m.queued = r.Bool();
        if (r.ok() && (m.text.count() < 2 || m.source >= sources_.size())) {
          r.Fail("held post without id, account or known source");
        } else if (r.ok() && m.account_hash() != account_hash) {
          r.Fail("held post whose account hash disagrees with its account");
        }
      }
      // The id and newest post time are derived, so they must agree with
      // the fingerprint and the held posts.
      key.id_or_fingerprint = key.kind == Kind::kText ? fingerprint : id;
      if (r.ok() && (key.id() != id || key.fingerprint() != fingerprint ||
                     key.last_us() != last_us)) {
        r.Fail("key whose id or newest post time disagrees with its posts");
      }
      if (r.Bool()) {
        key.episode = std::make_unique<Episode>(top_capacity_);
        RestoreEpisode(r, version, key.episode.get());
        if (r.ok() &&
            (key.episode->level < -1 ||
             key.episode->level >= static_cast<int>(Levels(key).size()))) {
          r.Fail("episode with an unknown rung");
        }
      }
      if (!r.ok()) break;
      if (!index_.insert(static_cast<uint32_t>(i)).second) {
        r.Fail("key appears twice");
        break;
      }
      ++live_;
      posts_held_ += static_cast<int64_t>(key.members.size());
    }
    const auto slot_list = [&](std::vector<uint32_t>* out, bool live) {
      const size_t n = r.Count(1);
      for (size_t i = 0; i < n && r.ok(); ++i) {
        const uint32_t s = r.U32();
        if (r.ok() && (s >= slots_.size() || slots_[s].live != live ||
                       (live && slots_[s].episode == nullptr))) {
          r.Fail("slot list names a slot in the wrong state");
        }
        out->push_back(s);
      }
    };
    slot_list(&free_, false);
    lru_head_ = r.U32();
    lru_tail_ = r.U32();
    if (r.ok() && (!slot_ok(lru_head_) || !slot_ok(lru_tail_))) {
      r.Fail("LRU end beyond the slots");
    }
    slot_list(&firing_, true);
    const size_t pending = r.Count(4);
    for (size_t i = 0; i < pending && r.ok(); ++i) {
      Pending p;
      p.t_us = r.I64();
      p.seq = r.U64();
      p.slot = r.U32();
      p.gen = r.U32();
      if (r.ok() && p.slot >= slots_.size()) r.Fail("queued post of no slot");
      if (r.ok()) pending_.push(p);
    }
    return r.Finish();
  }

  // State that follows partitions (docs/state.md). Every key belongs to
  // its target (its posts, quote, episode and queued judgements); what
  // spans targets is the order of things: slots, the LRU list of idle
  // keys, the firing keys and the queue of judgements. A split keeps each
  // part's keys in their order, which is exactly the state of a detector
  // that only saw them; a merge interleaves the parts' orders by time
  // (see Absorb for what that approximates).
  bool splits_by_target() const override { return true; }

  void RetainTargets(const std::function<bool(CountryCode)>& keep) override {
    std::vector<char> dropped(slots_.size(), 0);
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].live && !keep(slots_[i].target)) dropped[i] = 1;
    }
    firing_.erase(std::remove_if(firing_.begin(), firing_.end(),
                                 [&](uint32_t s) { return dropped[s] != 0; }),
                  firing_.end());
    std::vector<Pending> pending;
    for (; !pending_.empty(); pending_.pop()) {
      if (!dropped[pending_.top().slot]) pending.push_back(pending_.top());
    }
    pending_ = std::priority_queue<Pending, std::vector<Pending>, Later>(
        Later(), std::move(pending));
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (dropped[i]) Free(static_cast<uint32_t>(i));
    }
    next_deadline_ = std::numeric_limits<int64_t>::max();
    for (uint32_t s : firing_) {
      next_deadline_ =
          std::min(next_deadline_, slots_[s].episode->last_us + resolve_us_);
    }
    cap_hits_.RetainTargets(keep);
  }

  // Moves the other part's keys into this one's free slots. Within each
  // part everything keeps its order; between the parts, the judgements
  // queued are interleaved by post time, the firing keys by episode start
  // and the idle keys (LRU) by newest post, each tie going to this part.
  // One detector would have interleaved them by arrival, which no part
  // recorded: alerts of different targets judged at the same microsecond,
  // or episodes of different targets starting at the same microsecond,
  // may come out in the other order, and an idle key may be forgotten a
  // watermark earlier or later (it is forgotten only once its posts have
  // all left the window, so this changes alerts only when a post arrives
  // later than the window behind the watermark). The watermark becomes
  // the earlier part's (as the pipeline's does). Beyond max_keys the least
  // recently used idle keys are forgotten, counted, as newcomers would
  // have made them be.
  absl::Status Absorb(Operator& other) override {
    auto* o = dynamic_cast<CoordinatedSharing*>(&other);
    if (o == nullptr) return Operator::Absorb(other);
    std::array<bool, kCountrySlots> here{};
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].live) here[CountryIndex(slots_[i].target)] = true;
    }
    for (size_t i = 0; i < o->slots_.size(); ++i) {
      const Key& key = o->slots_[i];
      if (!key.live) continue;
      KeyId id;
      id.id = key.id();
      if (here[CountryIndex(key.target)] || index_.contains(id)) {
        return absl::FailedPreconditionError(
            absl::StrCat("target ", key.target.str(), " is in both states"));
      }
    }
    const bool fresh = live_ == 0 && wm_us_ == kNoTime && pending_.empty();
    wm_us_ = fresh ? o->wm_us_ : std::min(wm_us_, o->wm_us_);
    cap_hits_.Absorb(o->cap_hits_);
    next_deadline_ = std::min(next_deadline_, o->next_deadline_);

    // The keys, with their posts' sources renumbered into this table.
    std::vector<uint32_t> source_of(o->sources_.size(), kNone);
    const auto source = [&](uint32_t s) {
      if (source_of[s] == kNone) {
        const SourceRef ref = o->sources_.Get(s, 0);
        source_of[s] = sources_.Intern(
            SourceRef{InternSourceName(ref.source), ref.partition, 0});
      }
      return source_of[s];
    };
    std::vector<uint32_t> slot_of(o->slots_.size(), kNone);
    for (size_t i = 0; i < o->slots_.size(); ++i) {
      Key& from = o->slots_[i];
      if (!from.live) continue;
      uint32_t slot;
      if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
      } else {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
      }
      slot_of[i] = slot;
      Key& key = slots_[slot];
      key.id_or_fingerprint = from.id_or_fingerprint;
      key.prev = key.next = kNone;
      key.target = from.target;
      key.kind = from.kind;
      key.live = true;
      key.quote = std::move(from.quote);
      key.members = std::move(from.members);
      for (Member& m : key.members) m.source = source(m.source);
      key.episode = std::move(from.episode);
      if (key.episode != nullptr) {
        for (StoredSample& sample : key.episode->samples) {
          sample.source = InternSourceName(sample.source);
        }
      }
      index_.insert(slot);
      ++live_;
      posts_held_ += static_cast<int64_t>(key.members.size());
    }

    // Idle keys, most recent first: both lists merged by newest post.
    const auto lru = [](const ChunkedVector<Key>& slots, uint32_t head,
                        const std::vector<uint32_t>* map) {
      std::vector<uint32_t> out;
      for (uint32_t s = head; s != kNone; s = slots[s].next) {
        out.push_back(map == nullptr ? s : (*map)[s]);
      }
      return out;
    };
    const std::vector<uint32_t> mine = lru(slots_, lru_head_, nullptr);
    const std::vector<uint32_t> theirs = lru(o->slots_, o->lru_head_, &slot_of);
    std::vector<uint32_t> order;
    order.reserve(mine.size() + theirs.size());
    std::merge(mine.begin(), mine.end(), theirs.begin(), theirs.end(),
               std::back_inserter(order), [this](uint32_t a, uint32_t b) {
                 return slots_[a].last_us() > slots_[b].last_us();
               });
    lru_head_ = lru_tail_ = kNone;
    for (uint32_t s : order) {
      slots_[s].prev = slots_[s].next = kNone;
      LinkAsOldest(s);
    }

    // Firing keys, in the order their episodes started.
    std::vector<uint32_t> firing;
    for (uint32_t s : o->firing_) firing.push_back(slot_of[s]);
    std::vector<uint32_t> mine_firing = std::move(firing_);
    firing_.clear();
    std::merge(mine_firing.begin(), mine_firing.end(), firing.begin(),
               firing.end(), std::back_inserter(firing_),
               [this](uint32_t a, uint32_t b) {
                 return slots_[a].episode->start < slots_[b].episode->start;
               });

    // Judgements, by post time, renumbered in their merged order. Those of
    // keys forgotten since they were queued are dropped.
    std::vector<Pending> queued_here, queued_there;
    for (; !pending_.empty(); pending_.pop()) {
      queued_here.push_back(pending_.top());
    }
    for (; !o->pending_.empty(); o->pending_.pop()) {
      const Pending& p = o->pending_.top();
      if (p.slot >= o->slots_.size() || slot_of[p.slot] == kNone ||
          o->slots_[p.slot].gen != p.gen) {
        continue;
      }
      queued_there.push_back(
          Pending{p.t_us, 0, slot_of[p.slot], slots_[slot_of[p.slot]].gen});
    }
    std::vector<Pending> queued;
    queued.reserve(queued_here.size() + queued_there.size());
    std::merge(
        queued_here.begin(), queued_here.end(), queued_there.begin(),
        queued_there.end(), std::back_inserter(queued),
        [](const Pending& a, const Pending& b) { return a.t_us < b.t_us; });
    seq_ = 0;
    for (Pending& p : queued) p.seq = ++seq_;
    pending_ = std::priority_queue<Pending, std::vector<Pending>, Later>(
        Later(), std::move(queued));

    // Beyond the cap, as NewKey makes room: the least recently used idle
    // keys go (firing episodes never do).
    while (live_ > options_.max_keys && lru_tail_ != kNone) {
      cap_hits_.Hit(slots_[lru_tail_].target);
      Free(lru_tail_);
    }
    return absl::OkStatus();
  }

 private:
  static int64_t SaturatingSub(int64_t a, int64_t b) {
    return a < std::numeric_limits<int64_t>::min() + b
               ? std::numeric_limits<int64_t>::min()
               : a - b;
  }

  // Adds one post to the key (kind, target, subject or fingerprint),
  // creating the key.
  // The post's strings come from post_parts_ (the post's `url`-th URL held,
  // `raw_url` as posted, for a "url" key). A post the caps refuse is told
  // to `facts`.
  void AddPost(Kind kind, const Event& event, std::string_view subject,
               uint64_t fingerprint, std::string_view raw_url, size_t url,
               int64_t t, std::string_view text, EventFacts& facts) {
    const uint64_t id = KeyIdOf(kind, event.target, subject, fingerprint);
    uint32_t slot;
    auto it = index_.find(KeyId{id, kind, event.target,
                                kind == Kind::kText ? fingerprint : id,
                                /*derived=*/true});
    if (it != index_.end()) {
      slot = *it;
      // Two subjects with one 64-bit hash (with 100000 keys held, about one
      // chance in 10^14 per post): the newcomer is not tracked rather than
      // merged into a stranger's cluster, when it can be told apart.
      const Key& key = slots_[slot];
      if (key.fingerprint() != fingerprint ||
          (key.kind != Kind::kText && !key.quote.empty() &&
           key.quote[0] != subject)) {
        return;
      }
    } else {
      slot = NewKey(id, kind, event.target, fingerprint);
      if (slot == kNone) {
        facts.Refuse(EventFacts::Refusal::kKeyCap);
        return;
      }
    }
    Key& key = slots_[slot];
    // What alerts quote is kept from a key's second post on (or its first,
    // should one post reach a rung): most keys never get a second post, and
    // the second post's URL or text normalises to the same subject.
    if (key.quote.empty() &&
        (!key.members.empty() || Levels(key)[0].min_accounts <= 1)) {
      if (kind == Kind::kText) {
        const std::string example = Excerpt(text, kExampleBytes);
        if (!example.empty()) key.quote = PackedStrings({example});
      } else {
        key.quote = PackedStrings({subject});
      }
    }
    // Insert in time order, after posts of the same time; posts arrive
    // nearly in order, so the search from the back is short.
    size_t pos = key.members.size();
    while (pos > 0 && key.members[pos - 1].t_us > t) --pos;
    // The cap bounds the posts held within Δt of the newcomer (its window
    // and the Δt after it), not all the posts held: posts ahead of the
    // watermark are held until it passes them, and a catch-up reads
    // partitions up to an hour ahead of it, so a cap on the whole key
    // dropped posts still to be judged that a replay of the same records
    // judged (docs/kafka.md, "Backlogs"). Within a window the oldest goes,
    // or the newcomer when it is the oldest or the Δt after it is full.
    if (key.members.size() >= max_posts_) {
      const auto before = [](const Member& m, int64_t x) { return m.t_us < x; };
      const size_t from = static_cast<size_t>(
          std::lower_bound(key.members.begin(), key.members.begin() + pos,
                           SaturatingSub(t, window_us_), before) -
          key.members.begin());
      const size_t to = static_cast<size_t>(
          std::lower_bound(key.members.begin() + pos, key.members.end(),
                           t + window_us_ + 1, before) -
          key.members.begin());
      if (pos - from >= max_posts_ || to - pos >= max_posts_) {
        cap_hits_.Hit(key.target);
        if (pos == from || to - pos >= max_posts_) {  // drop it
          facts.Refuse(EventFacts::Refusal::kKeyCap);
          return;
        }
        key.members.erase(key.members.begin() + static_cast<ptrdiff_t>(from));
        --posts_held_;
        --pos;
      }
    }
    Member m;
    m.t_us = t;
    m.position = event.source.position;
    m.source = sources_.Intern(event.source);
    if (kind == Kind::kUrl && url >= Member::kSharedUrls) {
      // Beyond the URLs the post's block holds: a block of its own.
      const std::string_view parts[] = {post_parts_[0], post_parts_[1],
                                        post_parts_[2], raw_url};
      m.text = SharedPackedStrings(parts);
    } else {
      if (post_strings_.empty()) {
        post_strings_ = SharedPackedStrings(post_parts_);
      }
      m.text = post_strings_.Share();
      if (kind == Kind::kUrl) m.url = static_cast<uint8_t>(url);
    }
    m.country = event.account_country;

    key.members.insert(key.members.begin() + static_cast<ptrdiff_t>(pos),
                       std::move(m));
    ++posts_held_;
    if (key.episode == nullptr) Touch(slot);
    // Only windows that can hold two posts are judged: a key's first post
    // (most keys' only one) queues nothing. A post inserted before others
    // changes their windows too, so those not yet queued (nor judged) are.
    if (key.members.size() < 2 && Levels(key)[0].min_accounts > 1) return;
    for (size_t i = pos; i < key.members.size(); ++i) {
      Member& x = key.members[i];
      if (x.queued || (i != pos && x.t_us < wm_us_)) continue;
      x.queued = true;
      pending_.push(Pending{x.t_us, ++seq_, slot, key.gen});
    }
  }

  uint32_t NewKey(uint64_t id, Kind kind, CountryCode target,
                  uint64_t fingerprint) {
    if (live_ >= options_.max_keys) {
      // Room is made by forgetting the least recently used idle key;
      // firing episodes are never dropped.
      cap_hits_.Hit(target);
      if (lru_tail_ == kNone) return kNone;
      Free(lru_tail_);
    }
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Key& key = slots_[slot];
    key.live = true;
    key.kind = kind;
    key.target = target;
    key.id_or_fingerprint = kind == Kind::kText ? fingerprint : id;
    index_.insert(slot);  // after the id is set: the index hashes it
    ++live_;
    return slot;
  }

  void Free(uint32_t slot) {
    Key& key = slots_[slot];
    Unlink(slot);
    KeyId id;
    id.id = key.id();
    index_.erase(id);
    posts_held_ -= static_cast<int64_t>(key.members.size());
    key.members.clear();
    key.members.shrink_to_fit();
    key.quote = PackedStrings();
    key.episode.reset();
    key.live = false;
    ++key.gen;  // posts of the old key still queued are ignored
    free_.push_back(slot);
    --live_;
  }

  // Moves an idle key to the most-recent end of the LRU list.
  void Touch(uint32_t slot) {
    if (lru_head_ == slot) return;
    Unlink(slot);
    Key& key = slots_[slot];
    key.next = lru_head_;
    key.prev = kNone;
    if (lru_head_ != kNone) slots_[lru_head_].prev = slot;
    lru_head_ = slot;
    if (lru_tail_ == kNone) lru_tail_ = slot;
  }

  void Unlink(uint32_t slot) {
    Key& key = slots_[slot];
    const bool linked =
        key.prev != kNone || key.next != kNone || lru_head_ == slot;
    if (!linked) return;
    if (key.prev != kNone) {
      slots_[key.prev].next = key.next;
    } else {
      lru_head_ = key.next;
    }
    if (key.next != kNone) {
      slots_[key.next].prev = key.prev;
    } else {
      lru_tail_ = key.prev;
    }
    key.prev = key.next = kNone;
  }

  // Appends an idle key at the least-recent end (an episode just ended).
  void LinkAsOldest(uint32_t slot) {
    Key& key = slots_[slot];
    key.prev = lru_tail_;
    key.next = kNone;
    if (lru_tail_ != kNone) slots_[lru_tail_].next = slot;
    lru_tail_ = slot;
    if (lru_head_ == kNone) lru_head_ = slot;
  }

  // Judges the window of Δt that ends at the pending post.
  void Judge(const Pending& p, AlertEmitter& out) {
    if (p.slot >= slots_.size()) return;
    Key& key = slots_[p.slot];
    if (!key.live || key.gen != p.gen) return;
    absl::InlinedVector<Member, 1>& members = key.members;
    // Posts before the window can pair with no post still to be judged.
    const int64_t from = p.t_us - window_us_;
    size_t drop = 0;
    while (drop < members.size() && members[drop].t_us < from) ++drop;
    if (drop > 0) {
      members.erase(members.begin(), members.begin() + drop);
      posts_held_ -= static_cast<int64_t>(drop);
    }
    size_t n = 0;  // members[0, n) lie in [t - Δt, t]
    while (n < members.size() && members[n].t_us <= p.t_us) ++n;
    const std::vector<ClusterLevel>& levels = Levels(key);
    Episode* ep = key.episode.get();
    // Fewer posts than the lowest rung (or than the peak, when firing)
    // cannot change anything but the episode's membership.
    const size_t needed = ep == nullptr
                              ? static_cast<size_t>(levels[0].min_accounts)
                              : static_cast<size_t>(ep->peak) + 1;
    int distinct = 0;
    if (n >= needed) distinct = Distinct(members, n);
    int level = -1;
    for (size_t i = 0; i < levels.size(); ++i) {
      if (distinct >= levels[i].min_accounts) level = static_cast<int>(i);
    }
    if (ep == nullptr) {
      if (level < 0) return;
      key.episode = std::make_unique<Episode>(top_capacity_);
      ep = key.episode.get();
      ep->level = level;
      ep->start = absl::FromUnixMicros(p.t_us);
      ep->peak = distinct;
      ep->peak_first_us = members[0].t_us;
      ep->peak_last_us = p.t_us;
      AddToEpisode(key, n);
      Unlink(p.slot);
      firing_.push_back(p.slot);
      next_deadline_ = std::min(next_deadline_, ep->last_us + resolve_us_);
      out.Emit(MakeAlert(key, Record::kFiring, level));
      return;
    }
    AddToEpisode(key, n);
    if (distinct > ep->peak) {
      ep->peak = distinct;
      ep->peak_first_us = members[0].t_us;
      ep->peak_last_us = p.t_us;
    }
    if (level > ep->level) {
      // Escalation: the lower alert ends, superseded, and the higher one
      // starts; one episode, as in foreign_origin_surge.
      out.Emit(MakeAlert(key, Record::kSuperseded, ep->level,
                         levels[level].severity));
      ep->level = level;
      out.Emit(MakeAlert(key, Record::kFiring, level));
    }
  }

  // Distinct accounts among members[0, n).
  int Distinct(const absl::InlinedVector<Member, 1>& members, size_t n) {
    scratch_.clear();
    for (size_t i = 0; i < n; ++i)
      scratch_.push_back(members[i].account_hash());
    std::sort(scratch_.begin(), scratch_.end());
    return static_cast<int>(std::unique(scratch_.begin(), scratch_.end()) -
                            scratch_.begin());
  }

  // Counts members[0, n) not yet counted into the key's episode.
  void AddToEpisode(Key& key, size_t n) {
    Episode& ep = *key.episode;
    for (size_t i = 0; i < n; ++i) {
      Member& m = key.members[i];
      if (m.in_episode) continue;
      m.in_episode = true;
      ++ep.posts;
      ep.first_us =
          ep.first_us == kNoTime ? m.t_us : std::min(ep.first_us, m.t_us);
      ep.last_us = std::max(ep.last_us, m.t_us);
      const std::string_view account = m.account();
      const int64_t followers = m.followers();
      auto it = ep.accounts.find(ToAbsl(account));
      if (it == ep.accounts.end()) {
        if (ep.accounts.size() >= static_cast<size_t>(kMaxEpisodeAccounts)) {
          ++ep.accounts_dropped;
        } else {
          ep.accounts.emplace(std::string(account),
                              AccountStat{1, m.country, followers});
        }
      } else {
        ++it->second.posts;
        it->second.followers = std::max(it->second.followers, followers);
      }
      if (key.kind == Kind::kUrl) ep.raw_urls.Add(m.raw_url());
      // One sample per account first: the evidence should show the
      // cluster's breadth, not one account's repeats.
      if (ep.samples.size() < static_cast<size_t>(context_.max_samples) &&
          ep.sampled.emplace(std::string(account), true).second) {
        ep.samples.push_back(m.Sample(sources_));
      }
    }
  }

  // Resolves every episode whose key has been quiet for resolve_after
  // before `now` (exclusive), in the order the episodes started.
  void ResolveDue(int64_t now, AlertEmitter& out) {
    int64_t next = std::numeric_limits<int64_t>::max();
    size_t kept = 0;
    for (size_t i = 0; i < firing_.size(); ++i) {
      const uint32_t slot = firing_[i];
      Key& key = slots_[slot];
      const int64_t deadline = key.episode->last_us + resolve_us_;
      if (deadline < now) {
        out.Emit(MakeAlert(key, Record::kResolved, key.episode->level));
        key.episode.reset();
        for (Member& m : key.members) m.in_episode = false;
        LinkAsOldest(slot);
        continue;
      }
      next = std::min(next, deadline);
      firing_[kept++] = slot;
    }
    firing_.resize(kept);
    next_deadline_ = next;
  }

  enum class Record { kFiring, kResolved, kSuperseded };

  static void SavePacked(const PackedStrings& p, SnapshotWriter& w) {
    w.U64(p.count());
    for (size_t i = 0; i < p.count(); ++i) w.Str(p[i]);
  }
  // A held post's strings as the format has them, whatever block they
  // share: id, account, the URL as posted ("url" keys), then the follower
  // count when reported.
  static void SaveMemberText(const Member& m, bool url_key, SnapshotWriter& w) {
    const std::string_view followers = m.text.count() > 2 ? m.text[2] : "";
    w.U64(2 + (url_key ? 1 : 0) + (followers.empty() ? 0 : 1));
    w.Str(m.id());
    w.Str(m.account());
    if (url_key) w.Str(m.raw_url());
    if (!followers.empty()) w.Str(followers);
  }
  // The inverse of SaveMemberText(), into a block of the member's own.
  static SharedPackedStrings RestoreMemberText(SnapshotReader& r,
                                               bool url_key) {
    const size_t n = r.Count(1);
    if (n > 4) r.Fail("more than four packed strings");
    std::string_view parts[4];
    for (size_t i = 0; i < n && r.ok(); ++i) parts[i] = r.StrView();
    if (!r.ok() || n < 2) return SharedPackedStrings();
    const size_t after = url_key ? 3 : 2;  // where the follower count is
    const std::string_view block[] = {parts[0], parts[1],
                                      n > after ? parts[after] : "",
                                      url_key && n > 2 ? parts[2] : ""};
    return SharedPackedStrings(
        std::span<const std::string_view>(block, url_key ? 4 : 3));
  }
  // Up to the four parts a member (id, account, URL, followers) or quote
  // has.
  static PackedStrings RestorePacked(SnapshotReader& r) {
    const size_t n = r.Count(1);
    if (n > 4) r.Fail("more than four packed strings");
    std::string_view parts[4];
    for (size_t i = 0; i < n && r.ok(); ++i) parts[i] = r.StrView();
    if (!r.ok()) return PackedStrings();
    switch (n) {
      case 1:
        return PackedStrings({parts[0]});
      case 2:
        return PackedStrings({parts[0], parts[1]});
      case 3:
        return PackedStrings({parts[0], parts[1], parts[2]});
      case 4:
        return PackedStrings({parts[0], parts[1], parts[2], parts[3]});
      default:
        return PackedStrings();
    }
  }

  // The accounts, in value order so the bytes do not depend on the hash
  // map's layout; samples with their sources by name.
  static void SaveEpisode(const Episode& ep, SnapshotWriter& w) {
    w.I32(ep.level);
    w.Time(ep.start);
    w.I64(ep.first_us);
    w.I64(ep.last_us);
    w.I32(ep.peak);
    w.I64(ep.peak_first_us);
    w.I64(ep.peak_last_us);
    w.I64(ep.posts);
    std::vector<std::pair<std::string_view, AccountStat>> accounts(
        ep.accounts.begin(), ep.accounts.end());
    std::sort(accounts.begin(), accounts.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    w.U64(accounts.size());
    for (const auto& [account, stat] : accounts) {
      w.Str(account);
      w.U32(stat.posts);
      w.U32(stat.country.packed());
      w.I64(stat.followers);
    }
    w.I64(ep.accounts_dropped);
    ep.raw_urls.Save(w);
    w.U64(ep.samples.size());
    for (const StoredSample& s : ep.samples) {
      w.Str(s.id());
      w.Str(s.account());
      w.Time(s.created_at);
      w.Str(s.source);
      w.I32(s.partition);
      w.I64(s.position);
    }
    std::vector<std::pair<std::string_view, bool>> sampled(ep.sampled.begin(),
                                                           ep.sampled.end());
    std::sort(sampled.begin(), sampled.end());
    w.U64(sampled.size());
    for (const auto& [account, yes] : sampled) {
      w.Str(account);
      w.Bool(yes);
    }
  }
  static void RestoreEpisode(SnapshotReader& r, uint32_t version, Episode* ep) {
    ep->level = r.I32();
    ep->start = r.Time();
    ep->first_us = r.I64();
    ep->last_us = r.I64();
    ep->peak = r.I32();
    ep->peak_first_us = r.I64();
    ep->peak_last_us = r.I64();
    ep->posts = r.I64();
    const size_t accounts = r.Count(3);
    for (size_t i = 0; i < accounts && r.ok(); ++i) {
      std::string account = r.Str();
      AccountStat stat;
      stat.posts = r.U32();
      const uint32_t c = r.U32();
      if (r.ok() && c != 0 &&
          (c > 0xffff || !IsCountryCode(static_cast<uint16_t>(c)))) {
        r.Fail("malformed country code");
      }
      stat.country = CountryCode::FromChars(static_cast<char>(c >> 8),
                                            static_cast<char>(c & 0xff));
      if (version >= 2) {
        stat.followers = r.I64();
        if (stat.followers < -1) r.Fail("negative follower count");
      }
      if (r.ok()) ep->accounts.emplace(std::move(account), stat);
    }
    ep->accounts_dropped = r.I64();
    ep->raw_urls.Restore(r);
    const size_t samples = r.Count(6);
    for (size_t i = 0; i < samples && r.ok(); ++i) {
      const std::string_view id = r.StrView();
      const std::string_view account = r.StrView();
      const absl::Time t = r.Time();
      const std::string_view source = InternSourceName(r.StrView());
      const int32_t partition = r.I32();
      const int64_t position = r.I64();
      ep->samples.emplace_back(id, account, t, source, partition, position);
    }
    const size_t sampled = r.Count(2);
    for (size_t i = 0; i < sampled && r.ok(); ++i) {
      std::string account = r.Str();
      const bool yes = r.Bool();
      if (r.ok()) ep->sampled.emplace(std::move(account), yes);
    }
  }

  // The ladder of a key's target and kind.
  const std::vector<ClusterLevel>& Levels(const Key& key) const {
    const Rules& rules = *rules_by_target_[CountryIndex(key.target)];
    return key.kind == Kind::kRepost ? rules.repost_levels : rules.levels;
  }

  // What the key quotes (empty before its second post).
  static std::string_view Quote(const Key& key) {
    return key.quote.empty() ? std::string_view() : key.quote[0];
  }

  // What alerts name: the URL, the text's fingerprint, the reposted id.
  static std::string Subject(const Key& key) {
    return key.kind == Kind::kText ? FingerprintHex(key.fingerprint())
                                   : std::string(Quote(key));
  }

  Alert MakeAlert(const Key& key, Record record, int level,
                  Severity successor = Severity::kInfo) const {
    const Episode& ep = *key.episode;
    const ClusterLevel& rung = Levels(key)[level];
    Alert alert;
    alert.detector = std::string(kName);
    alert.state =
        record == Record::kFiring ? AlertState::kFiring : AlertState::kResolved;
    alert.severity = rung.severity;
    alert.target = key.target;
    alert.subject_kind = std::string(KindName(key.kind));
    alert.subject = Subject(key);
    alert.id = MakeAlertId(
        kName,
        absl::StrCat(key.target.str(), "|", ToAbsl(KindName(key.kind)), "|",
                     alert.subject),
        ep.start, rung.severity, context_.config_hash);
    // The peak window while firing; the whole episode once resolved.
    if (record == Record::kResolved) {
      alert.window_start = absl::FromUnixMicros(ep.first_us);
      alert.window_end = absl::FromUnixMicros(ep.last_us);
    } else {
      alert.window_start = absl::FromUnixMicros(ep.peak_first_us);
      alert.window_end = absl::FromUnixMicros(ep.peak_last_us);
    }
    alert.observed = ep.peak;
    alert.expected = 0;  // no baseline: the cluster is the finding
    alert.ratio = (alert.observed + 1) / (alert.expected + 1);
    alert.score = ep.peak;
    alert.threshold = rung.min_accounts;

    // Accounts, most active first, ties by id; origins by distinct account.
    std::vector<Tally> accounts;
    accounts.reserve(ep.accounts.size());
    std::map<std::string, int64_t> origins;
    int64_t foreign = 0;
    int64_t known = 0;
    for (const auto& [account, stat] : ep.accounts) {
      accounts.push_back(Tally{account, stat.posts, 0});
      origins[stat.country.known() ? stat.country.str() : "unknown"] += 1;
      if (stat.country.known()) {
        ++known;
        if (stat.country != key.target) ++foreign;
      }
    }
    const auto before = [](const Tally& a, const Tally& b) {
      return a.count != b.count ? a.count > b.count : a.value < b.value;
    };
    std::sort(accounts.begin(), accounts.end(), before);
    std::vector<Tally> origin_tallies;
    for (const auto& [country, n] : origins) {
      origin_tallies.push_back(Tally{country, n, 0});
    }
    std::sort(origin_tallies.begin(), origin_tallies.end(), before);
    // The origin is the accounts' country when most of them share it.
    if (!origin_tallies.empty() && origin_tallies[0].value != "unknown" &&
        2 * origin_tallies[0].count >
            static_cast<int64_t>(ep.accounts.size())) {
      alert.origin = CountryCode::FromString(origin_tallies[0].value);
    }
    const size_t top_n = static_cast<size_t>(std::max(context_.top_n, 0));
    if (accounts.size() > top_n) accounts.resize(top_n);
    if (origin_tallies.size() > top_n) origin_tallies.resize(top_n);
    alert.evidence.top_accounts = std::move(accounts);
    if (key.kind == Kind::kUrl) {
      alert.evidence.top_urls = ep.raw_urls.Top(context_.top_n);
    }
    alert.evidence.other_tops.emplace_back("top_origins",
                                           std::move(origin_tallies));
    std::vector<StoredSample> samples = ep.samples;
    std::sort(samples.begin(), samples.end(),
              [](const StoredSample& a, const StoredSample& b) {
                return std::make_tuple(a.created_at, a.id(), a.position) <
                       std::make_tuple(b.created_at, b.id(), b.position);
              });
    for (const StoredSample& s : samples) {
      SampleEvent e;
      e.id = std::string(s.id());
      e.account = std::string(s.account());
      e.created_at = s.created_at;
      e.source = std::string(s.source);
      e.partition = s.partition;
      e.position = s.position;
      alert.evidence.samples.push_back(std::move(e));
    }
    // Reach of the episode's accounts, each counted once; posts of accounts
    // beyond the cap are counted as unmeasured.
    Reach reach;
    for (const auto& [account, stat] : ep.accounts) {
      if (stat.followers >= 0) {
        ++reach.accounts;
        reach.followers += stat.followers;
      } else {
        reach.posts_without_followers += stat.posts;
      }
    }
    reach.posts_without_followers += ep.accounts_dropped;
    if (key.kind == Kind::kRepost) reach.reposts = ep.posts;
    alert.evidence.reach = reach;
    const int64_t episode_accounts =
        static_cast<int64_t>(ep.accounts.size()) + ep.accounts_dropped;
    alert.evidence.baseline = {
        {"window_seconds", absl::ToDoubleSeconds(options_.window)},
        {"min_accounts", static_cast<double>(rung.min_accounts)},
        {"peak_accounts", static_cast<double>(ep.peak)},
        {"peak_spread_seconds",
         static_cast<double>(ep.peak_last_us - ep.peak_first_us) / 1e6},
        {"episode_posts", static_cast<double>(ep.posts)},
        {"episode_accounts", static_cast<double>(episode_accounts)},
        {"episode_spread_seconds",
         static_cast<double>(ep.last_us - ep.first_us) / 1e6},
        {"accounts_known_origin", static_cast<double>(known)},
        {"accounts_foreign", static_cast<double>(foreign)},
    };

    std::string what;
    switch (key.kind) {
      case Kind::kUrl:
        what = absl::StrCat("sharing of ", ToAbsl(Quote(key)));
        break;
      case Kind::kText:
        what = absl::StrCat("posting of the same text \"", ToAbsl(Quote(key)),
                            "\"");
        break;
      case Kind::kRepost:
        what = absl::StrCat("reposting of post ", ToAbsl(Quote(key)));
        break;
    }
    std::string prefix;
    if (record == Record::kResolved) {
      prefix = "Resolved: coordinated";
    } else if (record == Record::kSuperseded) {
      prefix = absl::StrCat("Superseded by ", ToAbsl(SeverityName(successor)),
                            ": coordinated");
    } else {
      prefix = "Coordinated";
    }
    if (record == Record::kResolved) {
      alert.summary = absl::StrFormat(
          "%s %s aimed at %s: no new post for %s; peak %d accounts within "
          "%s, %d accounts and %d posts in all",
          prefix, what, alert.target.str(), quiet_text_, ep.peak, window_text_,
          episode_accounts, ep.posts);
    } else {
      alert.summary = absl::StrFormat(
          "%s %s aimed at %s: %d accounts within %s (%d posts so far)", prefix,
          what, alert.target.str(), ep.peak, window_text_, ep.posts);
    }
    alert.config_hash = context_.config_hash;
    return alert;
  }

  const CoordinatedSharingOptions options_;
  const OperatorContext context_;
  const int64_t window_us_;
  const int64_t resolve_us_;
  const int64_t lookahead_us_;
  const size_t max_posts_;
  const int top_capacity_;
  const std::string window_text_;
  const std::string quiet_text_;
  Rules default_rules_;
  std::vector<std::unique_ptr<Rules>> target_rules_;
  std::array<const Rules*, kCountrySlots> rules_by_target_{};
  std::array<bool, kCountrySlots> watched_{};
  bool any_watched_ = false;

  // Keys live in stable slots (queued posts refer to them by slot and
  // generation), in chunks: at most one chunk beyond the peak number of
  // keys.
  ChunkedVector<Key> slots_;
  // Live slots by their key's id: the index holds only slot numbers (4 bytes
  // a slot instead of 16 for id and slot). Nothing iterates it.
  absl::flat_hash_set<uint32_t, SlotIdHash, SlotIdEq> index_;
  SourceTable sources_;
  std::vector<uint32_t> free_;
  uint32_t lru_head_ = kNone;
  uint32_t lru_tail_ = kNone;
  // Firing keys, in the order their episodes started.
  std::vector<uint32_t> firing_;
  int64_t next_deadline_ = std::numeric_limits<int64_t>::max();
  std::priority_queue<Pending, std::vector<Pending>, Later> pending_;
  uint64_t seq_ = 0;
  int64_t wm_us_ = kNoTime;
  int64_t live_ = 0;
  int64_t posts_held_ = 0;
  CapHits cap_hits_;
  std::vector<uint64_t> scratch_;
  // Scratch for Observe, reused so that normalising allocates nothing.
  std::string buffer_;
  std::vector<uint64_t> seen_urls_;
  // The post being observed: its URLs held (indices in EventUrls), the
  // parts of its strings' block, and the block once a key holds the post.
  std::vector<size_t> url_indices_;
  std::vector<std::string_view> post_parts_;
  SharedPackedStrings post_strings_;
  char followers_digits_[24];
};

}  // namespace

std::string NormalizePostText(std::string_view text) {
  std::string out;
  NormalizePostTextTo(text, out);
  return out;
}

void NormalizePostTextTo(std::string_view text, std::string& out) {
  // Written through a pointer into a buffer sized once: this runs on every
  // post, and per-character push_back was a tenth of replay's time. The
  // output never outgrows the input: FoldCodePoint() never lengthens a code
  // point's encoding (ASCII to ASCII, two-byte to two or one), a combining
  // mark is dropped or kept, n and a combining tilde (3 bytes) make ñ (2),
  // and each space
  // written stands for at least one consumed byte (a space, a break, or a
  // skipped link) that wrote nothing.
  out.resize(text.size());
  char* const begin = out.data();
  char* w = begin;
  const size_t n = text.size();
  bool word_open = false;   // a word has characters and no break after them
  bool token_start = true;  // text[i] follows a space (or starts the text)
  size_t i = 0;
  // One pass over the bytes; tokens are the runs between ASCII spaces. A
  // multi-byte sequence never holds an ASCII byte, so decoding it in the
  // rest of the text reads as in its token, and so does matching a link
  // prefix (which holds no space).
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {  // ASCII: same rules as below, in one table lookup
      char folded = kAsciiFold[c];
      if (folded == kFoldSpace) {
        word_open = false;
        token_start = true;
        ++i;
        continue;
      }
      if (token_start) {
        token_start = false;
        // Links and mentions differ between copies of one message
        // (shorteners, tagged friends) and are matched by other means.
        const std::string_view rest = text.substr(i);
        // The first byte (folded) rules out most tokens before any prefix
        // test.
        if (c == '@' ||
            (folded == 'h' && (StartsWithIgnoreCase(rest, "http://") ||
                               StartsWithIgnoreCase(rest, "https://"))) ||
            (folded == 'w' && StartsWithIgnoreCase(rest, "www."))) {
          while (i < n && !IsAsciiSpace(text[i])) ++i;
          continue;
        }
      }
      if (folded == 0) {
        word_open = false;
        ++i;
        continue;
      }
      if (!word_open && w != begin) *w++ = ' ';
      word_open = true;
      // The run of ASCII letters and digits, and of words separated by
      // single spaces, eight bytes at a time while eight remain. Each step
      // starts after a letter or digit (the first at one, which
      // AsciiProseRun does not need), and ends after one or before any
      // other byte. Writing all eight folded bytes stays inside `out`:
      // w - begin <= i (see above) and i + 8 <= n.
      if (i + 8 <= n) {
        size_t run;
        do {
          uint64_t x, folded_bytes;
          std::memcpy(&x, text.data() + i, sizeof(x));
          if constexpr (std::endian::native == std::endian::big) {
            x = __builtin_bswap64(x);
          }
          run = AsciiProseRun(x, &folded_bytes)
                    ? 8
                    : AsciiWordRun(x, &folded_bytes);
          if constexpr (std::endian::native == std::endian::big) {
            folded_bytes = __builtin_bswap64(folded_bytes);
          }
          std::memcpy(w, &folded_bytes, sizeof(folded_bytes));
          w += run;
          i += run;
        } while (run == 8 && i + 8 <= n);
        if (run < 8) continue;
        if (i >= n || static_cast<unsigned char>(text[i]) >= 0x80 ||
            kAsciiFold[static_cast<unsigned char>(text[i])] <= kFoldSpace) {
          continue;
        }
        folded = kAsciiFold[static_cast<unsigned char>(text[i])];
      }
      // The rest of the run, a byte at a time.
      do {
        *w++ = folded;
        ++i;
      } while (i < n && static_cast<unsigned char>(text[i]) < 0x80 &&
               (folded = kAsciiFold[static_cast<unsigned char>(text[i])]) >
                   kFoldSpace);
      continue;
    }
    token_start = false;  // no link or mention starts with a non-ASCII byte
    char32_t cp;
    int len;
    if ((c & 0xe0) == 0xc0 && i + 1 < n &&
        (static_cast<unsigned char>(text[i + 1]) & 0xc0) == 0x80 &&
        ((c & 0x1f) << 6 | (static_cast<unsigned char>(text[i + 1]) & 0x3f)) >=
            0x80) {
      // A valid two-byte sequence (Latin diacritics, Greek, Cyrillic),
      // decoded as DecodeUtf8() would.
      cp = static_cast<char32_t>(
          (c & 0x1f) << 6 | (static_cast<unsigned char>(text[i + 1]) & 0x3f));
      len = 2;
      if (cp < kLowerTableSize) {
        // The rules below, looked up (kTwoByteFold).
        const TwoByteFold& f = kTwoByteFold[cp];
        i += 2;
        if (f.kind == TwoByteFold::kBreak) {
          word_open = false;
          continue;
        }
        if (f.kind == TwoByteFold::kMark && word_open &&
            EndsInLatinLetter(begin, w)) {
          if (cp == kCombiningTilde && w[-1] == 'n') w = WriteUtf8(0xf1, w - 1);
          continue;
        }
        if (!word_open && w != begin) *w++ = ' ';
        word_open = true;
        *w++ = f.bytes[0];
        if (f.size == 2) *w++ = f.bytes[1];
        // The rest of a word written in two-byte letters (Cyrillic, Greek),
        // each as the loop above would take it in the middle of a word
        // (kTwoByteFold's letters, lead bytes 0xc2-0xd3), without its
        // checks for ASCII, token starts and word breaks: a Cyrillic post
        // is mostly such runs.
        while (i + 1 < n) {
          const unsigned char lead = static_cast<unsigned char>(text[i]);
          const unsigned char cont = static_cast<unsigned char>(text[i + 1]);
          if (lead < 0xc2 || lead > 0xd3 || (cont & 0xc0) != 0x80) break;
          const TwoByteFold& g =
              kTwoByteFold[(lead & 0x1f) << 6 | (cont & 0x3f)];
          if (g.kind != TwoByteFold::kLetter) break;
          *w++ = g.bytes[0];
          if (g.size == 2) *w++ = g.bytes[1];
          i += 2;
        }
        continue;
      }
    } else {
      len = DecodeUtf8(text, i, &cp);
    }
    if (len == 0) {
      ++i;
      continue;
    }
    i += static_cast<size_t>(len);
    if (IsBreak(cp)) {
      word_open = false;
      continue;
    }
    // Accents typed as combining marks (NFD text) go the way of precomposed
    // ones: dropped from a Latin letter, except the tilde that makes ñ.
    if (IsCombiningMark(cp) && word_open && EndsInLatinLetter(begin, w)) {
      if (cp == kCombiningTilde && w[-1] == 'n') w = WriteUtf8(0xf1, w - 1);
      continue;
    }
    if (!word_open && w != begin) *w++ = ' ';
    word_open = true;
    w = WriteUtf8(cp < kLowerTableSize ? kLowerTable[cp] : FoldCodePoint(cp),
                  w);
  }
  out.resize(static_cast<size_t>(w - begin));
}

int CountWords(std::string_view normalized) {
  if (normalized.empty()) return 0;
  return static_cast<int>(
             std::count(normalized.begin(), normalized.end(), ' ')) +
         1;
}

std::string TextFingerprintHex(std::string_view normalized) {
  return FingerprintHex(StableHash64(normalized));
}

std::unique_ptr<Operator> MakeCoordinatedSharing(
    const CoordinatedSharingOptions& options, const OperatorContext& context) {
  return std::make_unique<CoordinatedSharing>(options, context);
}

// ---------------------------------------------------------------------------
// Configuration: the section detectors.coordinated_sharing (docs/config.md).

namespace {

// A cluster ladder: 1 to 3 rungs of {severity, min_accounts}, both keys
// required, severities strictly rising, min_accounts at least 2 (one
// account is no cluster) and never falling.
absl::Status ParseClusterLevels(const ConfigNode& node,
                                std::vector<ClusterLevel>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = node.Elements();
  if (!elements.ok()) return elements.status();
  if (elements->empty()) return node.Error("needs at least one level");
  if (elements->size() > static_cast<size_t>(kNumSeverities)) {
    return node.Error(absl::StrCat("has more than ", kNumSeverities,
                                   " levels (info, warning, critical)"));
  }
  std::vector<ClusterLevel> levels;
  for (const ConfigNode& element : *elements) {
    absl::StatusOr<ConfigMap> m = ConfigMap::Of(element);
    if (!m.ok()) return m.status();
    for (const char* key : {"severity", "min_accounts"}) {
      if (!m->Has(key)) {
        return m->ErrorAt(
            key, "missing (every level sets severity and min_accounts)");
      }
    }
    ClusterLevel level;
    absl::StatusOr<Severity> severity = ParseSeverity(*m->Take("severity"));
    if (!severity.ok()) return severity.status();
    level.severity = *severity;
    VIGIA_RETURN_IF_ERROR(
        m->Int("min_accounts", 2, kIntMax, &level.min_accounts));
    VIGIA_RETURN_IF_ERROR(m->CheckNoUnknownKeys());
    if (!levels.empty()) {
      const ClusterLevel& prev = levels.back();
      const std::string prev_name =
          absl::StrCat("levels[", levels.size() - 1, "]");
      if (level.severity <= prev.severity) {
        return m->ErrorAt(
            "severity",
            absl::StrCat("must be above ", prev_name, "'s (",
                         ToAbsl(SeverityName(prev.severity)),
                         "); list levels from the lowest severity up"));
      }
      if (level.min_accounts < prev.min_accounts) {
        return m->ErrorAt(
            "min_accounts",
            absl::StrCat("must not be below ", prev_name, "'s min_accounts"));
      }
    }
    levels.push_back(level);
  }
  *out = std::move(levels);
  return absl::OkStatus();
}

absl::Status ParseCoordinatedSharingTarget(
    ConfigMap& m, CoordinatedSharingTargetOptions* out) {
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    VIGIA_RETURN_IF_ERROR(ParseClusterLevels(*levels, &out->levels));
  }
  if (std::optional<ConfigNode> levels = m.Take("repost_levels")) {
    VIGIA_RETURN_IF_ERROR(ParseClusterLevels(*levels, &out->repost_levels));
  }
  return absl::OkStatus();
}

void CanonicalClusterLevels(std::string_view path,
                            const std::vector<ClusterLevel>& levels,
                            CanonicalWriter& w) {
  w.Add(absl::StrCat(ToAbsl(path), ".count"),
        static_cast<int64_t>(levels.size()));
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::string level = absl::StrCat(ToAbsl(path), "[", i, "]");
    w.Add(absl::StrCat(level, ".severity"), SeverityName(levels[i].severity));
    w.Add(absl::StrCat(level, ".min_accounts"), levels[i].min_accounts);
  }
}

}  // namespace

absl::Status ParseOptions(ConfigMap& m, CoordinatedSharingOptions* out) {
  VIGIA_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  VIGIA_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  VIGIA_RETURN_IF_ERROR(
      m.Duration("resolve_after", Bound::kPositive, &out->resolve_after));
  if (out->resolve_after < out->window) {
    return m.ErrorAt(m.Has("resolve_after") ? "resolve_after" : "window",
                     "resolve_after must be at least window");
  }
  VIGIA_RETURN_IF_ERROR(m.Int("min_text_words", 1, 1000, &out->min_text_words));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    VIGIA_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  VIGIA_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  VIGIA_RETURN_IF_ERROR(
      m.Int("max_posts_per_key", 2, 100000, &out->max_posts_per_key));
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    VIGIA_RETURN_IF_ERROR(ParseClusterLevels(*levels, &out->levels));
  }
  if (std::optional<ConfigNode> levels = m.Take("repost_levels")) {
    VIGIA_RETURN_IF_ERROR(ParseClusterLevels(*levels, &out->repost_levels));
  }
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    CoordinatedSharingTargetOptions inherited;
    inherited.levels = out->levels;
    inherited.repost_levels = out->repost_levels;
    VIGIA_RETURN_IF_ERROR(ParsePerTarget<CoordinatedSharingTargetOptions>(
        *per_target, inherited, ParseCoordinatedSharingTarget,
        &out->per_target));
  }
  return absl::OkStatus();
}

void WriteCanonical(std::string_view p, const CoordinatedSharingOptions& o,
                    CanonicalWriter& w) {
  w.Add(OptionKey(p, "enabled"), o.enabled);
  w.Add(OptionKey(p, "window"), o.window);
  w.Add(OptionKey(p, "resolve_after"), o.resolve_after);
  w.Add(OptionKey(p, "min_text_words"), o.min_text_words);
  w.Add(OptionKey(p, "targets"), CanonicalTargets(o.targets));
  w.Add(OptionKey(p, "max_keys"), o.max_keys);
  w.Add(OptionKey(p, "max_posts_per_key"), o.max_posts_per_key);
  CanonicalClusterLevels(OptionKey(p, "levels"), o.levels, w);
  CanonicalClusterLevels(OptionKey(p, "repost_levels"), o.repost_levels, w);
  CanonicalPerTarget(
      p, o.per_target,
      [&w](std::string_view t, const CoordinatedSharingTargetOptions& x) {
        CanonicalClusterLevels(OptionKey(t, "levels"), x.levels, w);
        CanonicalClusterLevels(OptionKey(t, "repost_levels"), x.repost_levels,
                               w);
      },
      w);
}

}  // namespace vigia
