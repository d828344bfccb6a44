// Renders a stream's records as feed lines (docs/feeds.md): background
// posts (with their cascades), background ads, the bad lines that follow
// some of them, and, through each campaign kind's render hook (kinds/),
// campaign records. The Renderer's public helpers are the vocabulary the
// kinds write their posts in.
//
// One Renderer per Generate() call; it mutates the streams it renders
// (their content random streams and bookkeeping) and is not thread-safe.
#ifndef VIGIA_PIPELINE_GEN_RENDER_H_
#define VIGIA_PIPELINE_GEN_RENDER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/json_writer.h"
#include "pipeline/gen/lexicon.h"
#include "pipeline/gen/model.h"

namespace vigia::gen::internal {

// What makes a bad line bad; no kind = a valid record.
struct Defect {
  std::optional<BadLineKind> kind;
  uint64_t variant = 0;
};

// A post's fields, pointing into the stream's state.
struct PostView {
  std::string_view id;
  std::string_view platform;
  int64_t created_ms;
  const Account* account;
  std::string account_country;
  std::string target;
  const Original* content;
  std::string_view repost_of;
};

inline constexpr std::array<std::pair<int64_t, int64_t>, 8> kImpressions = {
    {{0, 999},
     {1000, 4999},
     {5000, 9999},
     {10000, 49999},
     {50000, 99999},
     {100000, 199999},
     {200000, 499999},
     {500000, 999999}}};
inline constexpr std::string_view kAdPlatforms[] = {"facebook", "instagram",
                                                    "google"};

class Renderer {
 public:
  Renderer(const Model& m, std::vector<Stream>& streams)
      : m_(m), s_(*m.s), streams_(streams) {}

  // Renders record `r` into `line` (no newline).
  void Render(const Record& r, std::string* line);

  // Maybe renders a bad line after a record of a background stream; returns
  // its kind, or nullopt for none.
  std::optional<BadLineKind> MaybeBadLine(const Record& r, std::string* line);

  // The campaign kinds' vocabulary.
  const Model& model() const { return m_; }
  const Scenario& scenario() const { return s_; }
  const TargetSpec& Target(const Stream& st) const;
  // A language for a post at `t` from `origin`, one with word lists.
  std::string PickLanguage(Rng& rng, const TargetSpec& t, CountryCode origin);
  // One to three statements and maybe a closer.
  std::string Text(Rng& rng, const Lexicon& lex, std::string_view id);
  // Adds distinct hashtags of `pool` to `out` until it has `count` (at
  // most the pool's size).
  void PickHashtags(Rng& rng, const std::vector<std::string>& pool, int count,
                    std::vector<std::string>* out);
  // Keeps `o` among the stream's recent originals, for reposts.
  static void Remember(Stream& st, const Original& o);
  // One of the stream's `window` most recent originals, or nullptr if there
  // is none yet.
  static const Original* Recent(Stream& st, size_t window);
  // A background-style article URL.
  std::string NewsUrl(Rng& rng, CountryCode origin, const TargetSpec& t,
                      int64_t unix_ms, std::string_view platform);
  // Zero to three of the target's hashtags, as background posts have.
  void BackgroundHashtags(Rng& rng, const TargetSpec& t,
                          std::vector<std::string>* out);
  // An original post with background-style content: text in a language of
  // the target (or the origin's), maybe an article URL, maybe hashtags.
  void OrdinaryContent(Rng& rng, const TargetSpec& t, CountryCode origin,
                       int64_t unix_ms, std::string_view platform,
                       double url_share, Original* out);
  // The next poster of a campaign stream: an account of its pool, picked by
  // the pool's weights, and marked as having posted.
  struct Poster {
    size_t index;  // in the pool
    const Account& account;
    const std::string& platform;
  };
  Poster PickPoster(Stream& st);
  // Renders a valid post into `line`.
  void Write(const PostView& p, std::string* line);
  // A background post of the stream's pair (or of an organic_rise, which
  // picks the pair's accounts evenly); `keep`, if set, receives the post's
  // content when it is an original.
  void BackgroundPost(Stream& st, const std::string& id, int64_t unix_ms,
                      const Defect& d, std::string* line,
                      Original* keep = nullptr);

  struct AdView {
    std::string_view id;
    std::string_view platform;
    int64_t created_ms;
    std::string_view page_id;
    std::string_view payer_name;
    std::string payer_country;
    std::string target;
    std::string currency;
    SpendRange spend;
    std::pair<int64_t, int64_t> impressions;
    const std::vector<std::string>* languages;
    bool all_languages;  // else only the first
    bool disclaimer;
  };
  void WriteAd(const AdView& a, const Defect& d, std::string* line);

 private:
  // A background post of a pair: an original, which may start a cascade,
  // or one of a cascade's reposts of its original.
  void PairPost(Stream& st, const Record& r, const std::string& id,
                int64_t unix_ms, std::string* line);
  // A background ad aimed at the stream's target.
  void Ad(Stream& st, const std::string& id, int64_t unix_ms, const Defect& d,
          std::string* line);

  const Model& m_;
  const Scenario& s_;
  std::vector<Stream>& streams_;
  JsonWriter writer_;
};

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_RENDER_H_
