#include "operators/new_account_burst.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operators/detector_options.h"
#include "operators/evidence.h"
#include "operators/hop_counter_detector.h"
#include "operators/hyperloglog.h"
#include "operators/keyed_hop_counter.h"
#include "operators/operator_util.h"
#include "operators/scorer.h"
#include "operators/snapshot.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

constexpr std::string_view kName = "new_account_burst";

// What one hop of one target keeps.
struct Bucket {
  explicit Bucket(const EvidenceLimits& limits)
      : evidence(limits),
        accounts(limits.top_capacity),
        origins(limits.top_capacity) {}

  BucketEvidence evidence;  // posts by new accounts
  TopK accounts;            // "acct (created 2026-05-01)"
  TopK origins;             // the new accounts' countries
  HyperLogLog distinct;     // distinct new accounts
  // Creation time of each sample's account, parallel to evidence.samples().
  std::vector<absl::Time> sample_created;
  uint32_t all_posts = 0;    // every post aimed at the target
  uint32_t unknown_age = 0;  // of which without account creation time
};

// The rules in force for one target.
struct Rules {
  absl::Duration max_age;
  std::unique_ptr<Scorer> scorer;
};

// State format version 1 (HopCounterDetector): per bucket, the evidence,
// the two sketches, the distinct-account HyperLogLog, the samples' account
// creation times and the two post counts.
class NewAccountBurst final
    : public HopCounterDetector<NewAccountBurst, Bucket> {
 public:
  NewAccountBurst(const NewAccountBurstOptions& options,
                  const OperatorContext& context)
      : HopCounterDetector(
            options.window, options.hop, options.max_keys,
            [this] { return std::make_unique<Bucket>(limits_); }),
        options_(options),
        context_(context),
        limits_{std::max(4 * context.top_n, 8), context.max_samples},
        window_text_(HumanDuration(counter_.window())) {
    default_rules_.max_age = options.max_account_age;
    default_rules_.scorer =
        std::make_unique<Scorer>(options.scoring, counter_.hop());
    rules_by_target_.fill(&default_rules_);
    for (const auto& [target, o] : options.per_target) {
      if (!target.known()) continue;
      auto rules = std::make_unique<Rules>();
      rules->max_age = o.max_account_age;
      rules->scorer = std::make_unique<Scorer>(o.scoring, counter_.hop());
      rules_by_target_[CountryIndex(target)] = rules.get();
      target_rules_.push_back(std::move(rules));
    }
    for (CountryCode c : options.targets) {
      if (c.known()) watched_[CountryIndex(c)] = true;
      any_watched_ = any_watched_ || c.known();
    }
    // A burst of new accounts, not of one new account's posts: a window
    // pages only when its posts come from min_accounts distinct accounts.
    counter_.set_level_cap([this](const Key& key, int level) {
      return DistinctAccounts(key) >= options_.min_accounts ? level : -1;
    });
  }

  std::string_view name() const override { return kName; }
  FeedSet feeds() const override { return FeedBit(FeedKind::kPost); }

  void Observe(const Event& event, EventFacts& facts,
               AlertEmitter& out) override {
    if (!event.is_post() || !event.target.known()) return;
    const int index = facts.target_index();
    if (any_watched_ && !watched_[index]) return;
    const Rules& rules = *rules_by_target_[index];
    const bool known_age = event.has_account_created_at();
    const absl::Duration age = known_age
                                   ? event.created_at - event.account_created_at
                                   : absl::InfiniteDuration();
    // An account "created" after its post is a data error, not a newcomer.
    const bool is_new = known_age && age >= absl::ZeroDuration() &&
                        age < rules.max_age && !event.account_id.empty();
    Bucket* b = counter_.Add(
        KeyedHopCounter<Bucket>::Pack(event.target, CountryCode()),
        event.created_at, rules.scorer.get(), facts, is_new ? 1 : 0);
    if (b == nullptr) return;
    ++b->all_posts;
    if (!known_age) ++b->unknown_age;
    if (!is_new) return;
    const size_t samples = b->evidence.samples().size();
    b->evidence.Add(event);
    if (b->evidence.samples().size() > samples) {
      b->sample_created.push_back(event.account_created_at);
    }
    b->accounts.Add(absl::StrCat(ToAbsl(event.account_id), " (created ",
                                 Date(event.account_created_at), ")"));
    b->origins.Add(event.account_country.known() ? event.account_country.str()
                                                 : "unknown");
    b->distinct.AddHash(facts.account_hash());
  }

 private:
  friend class HopCounterDetector<NewAccountBurst, Bucket>;

  // The scorer Add() gives the key `packed`; nullptr for a target not
  // watched.
  const Scorer* ScorerOf(uint32_t packed) const {
    const Rules* rules = rules_by_target_[CountryIndex(
        CountryCode::FromChars(static_cast<char>(packed >> 24),
                               static_cast<char>((packed >> 16) & 0xff)))];
    return rules == nullptr ? nullptr : rules->scorer.get();
  }
  static void SaveBucket(const Bucket& b, SnapshotWriter& w) {
    b.evidence.Save(w);
    b.accounts.Save(w);
    b.origins.Save(w);
    b.distinct.Save(w);
    w.U64(b.sample_created.size());
    for (absl::Time t : b.sample_created) w.Time(t);
    w.U32(b.all_posts);
    w.U32(b.unknown_age);
  }
  static void RestoreBucket(SnapshotReader& r, Bucket* b) {
    b->evidence.Restore(r);
    b->accounts.Restore(r);
    b->origins.Restore(r);
    b->distinct.Restore(r);
    const size_t n = r.Count(1);
    b->sample_created.clear();
    for (size_t i = 0; i < n && r.ok(); ++i) {
      b->sample_created.push_back(r.Time());
    }
    b->all_posts = r.U32();
    b->unknown_age = r.U32();
  }

  // The UTC date of `t`, e.g. "2026-05-01"; the last one is cached, as a
  // burst's accounts tend to share their creation day.
  const std::string& Date(absl::Time t) {
    const int64_t day = absl::ToUnixSeconds(t) / 86400 -
                        (absl::ToUnixSeconds(t) % 86400 < 0 ? 1 : 0);
    if (day != cached_day_) {
      cached_day_ = day;
      cached_date_ = absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
    }
    return cached_date_;
  }

  // The distinct new accounts behind the window just assessed, by the
  // sketch (linear counting: exact in practice at the sizes that matter).
  double DistinctAccounts(const Key& key) const {
    HyperLogLog distinct;
    for (const Bucket* b : counter_.WindowBuckets(key)) {
      distinct.Merge(b->distinct);
    }
    return std::round(distinct.Estimate());
  }

  Alert MakeAlert(const Key& key, absl::Time end, const Assessment& a,
                  CountRecord record, int level, Severity successor) const {
    Alert alert;
    counter_.FillAlert(kName, key, end, a, record, level, context_.config_hash,
                       alert);
    const std::vector<const Bucket*> buckets = counter_.WindowBuckets(key);
    std::vector<const BucketEvidence*> evidence;
    std::vector<const TopK*> accounts, origins;
    HyperLogLog distinct;
    int64_t all_posts = 0;
    int64_t unknown_age = 0;
    absl::flat_hash_map<std::string_view, absl::Time> created;
    for (const Bucket* b : buckets) {
      evidence.push_back(&b->evidence);
      accounts.push_back(&b->accounts);
      origins.push_back(&b->origins);
      distinct.Merge(b->distinct);
      all_posts += b->all_posts;
      unknown_age += b->unknown_age;
      const std::vector<StoredSample>& samples = b->evidence.samples();
      for (size_t i = 0; i < samples.size() && i < b->sample_created.size();
           ++i) {
        created.emplace(samples[i].id(), b->sample_created[i]);
      }
    }
    alert.evidence =
        MergeEvidence(evidence, context_.top_n, context_.max_samples);
    alert.evidence.top_accounts = MergeTop(accounts, context_.top_n);
    std::vector<Tally> top_origins = MergeTop(origins, context_.top_n);
    // The key has no origin, but when most of the window's new-account
    // posts (by the sketch's lower bound) come from one known country, that
    // is where the burst comes from.
    if (!top_origins.empty() && top_origins[0].value != "unknown" &&
        2 * (top_origins[0].count - top_origins[0].error) > a.observed) {
      alert.origin = CountryCode::FromString(top_origins[0].value);
    }
    alert.evidence.other_tops.emplace_back("top_origins",
                                           std::move(top_origins));
    for (SampleEvent& s : alert.evidence.samples) {
      auto it = created.find(s.id);
      if (it != created.end()) {
        s.note = absl::StrCat(
            "account created ",
            absl::FormatTime("%Y-%m-%d", it->second, absl::UTCTimeZone()));
      }
    }
    const Rules& rules = *rules_by_target_[CountryIndex(key.target())];
    alert.evidence.baseline =
        key.scorer->Explain(key.baseline, end, counter_.window_hops());
    for (auto& entry : Scorer::ExplainVerdict(a)) {
      alert.evidence.baseline.push_back(std::move(entry));
    }
    const double distinct_estimate = std::round(distinct.Estimate());
    alert.evidence.baseline.insert(
        alert.evidence.baseline.end(),
        {
            {"distinct_new_accounts", distinct_estimate},
            {"distinct_relative_error", distinct.StandardError()},
            {"min_accounts", static_cast<double>(options_.min_accounts)},
            {"all_posts", static_cast<double>(all_posts)},
            {"new_account_share",
             all_posts > 0 ? a.observed / static_cast<double>(all_posts) : 0},
            {"posts_unknown_account_age", static_cast<double>(unknown_age)},
            {"max_account_age_days", absl::ToDoubleHours(rules.max_age) / 24},
        });
    std::string prefix;
    if (record == CountRecord::kResolved) {
      prefix = "Resolved: new-account";
    } else if (record == CountRecord::kSuperseded) {
      prefix = absl::StrCat("Superseded by ", ToAbsl(SeverityName(successor)),
                            ": new-account");
    } else {
      prefix = "New-account";
    }
    alert.summary = absl::StrFormat(
        "%s posts aimed at %s (accounts created within %s): %s%.0f in %s vs "
        "%.1f expected (%.1fx, score %.1f), about %.0f distinct accounts",
        prefix, alert.target.str(), HumanDuration(rules.max_age),
        record == CountRecord::kResolved ? "back to " : "", a.observed,
        window_text_, a.expected, a.ratio, a.score, distinct_estimate);
    return alert;
  }

  const NewAccountBurstOptions options_;
  const OperatorContext context_;
  const EvidenceLimits limits_;
  const std::string window_text_;
  Rules default_rules_;
  std::vector<std::unique_ptr<Rules>> target_rules_;
  std::array<const Rules*, kCountrySlots> rules_by_target_{};
  std::array<bool, kCountrySlots> watched_{};
  bool any_watched_ = false;
  int64_t cached_day_ = INT64_MIN;
  std::string cached_date_;
};

}  // namespace

std::unique_ptr<Operator> MakeNewAccountBurst(
    const NewAccountBurstOptions& options, const OperatorContext& context) {
  return std::make_unique<NewAccountBurst>(options, context);
}

// ---------------------------------------------------------------------------
// Configuration: the section detectors.new_account_burst (docs/config.md).

namespace {

absl::Status ParseNewAccountBurstTarget(ConfigMap& m,
                                        NewAccountBurstTargetOptions* out) {
  VIGIA_RETURN_IF_ERROR(
      m.Duration("max_account_age", Bound::kPositive, &out->max_account_age));
  return m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  });
}

}  // namespace

absl::Status ParseOptions(ConfigMap& m, NewAccountBurstOptions* out) {
  VIGIA_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  VIGIA_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  VIGIA_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    VIGIA_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  VIGIA_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  VIGIA_RETURN_IF_ERROR(
      m.Duration("max_account_age", Bound::kPositive, &out->max_account_age));
  VIGIA_RETURN_IF_ERROR(m.Int("min_accounts", 1, kIntMax, &out->min_accounts));
  VIGIA_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    NewAccountBurstTargetOptions inherited;
    inherited.max_account_age = out->max_account_age;
    inherited.scoring = out->scoring;
    VIGIA_RETURN_IF_ERROR(ParsePerTarget<NewAccountBurstTargetOptions>(
        *per_target, inherited, ParseNewAccountBurstTarget, &out->per_target));
  }
  return CheckWindow(m, out->window, out->hop);
}

void WriteCanonical(std::string_view p, const NewAccountBurstOptions& o,
                    CanonicalWriter& w) {
  w.Add(OptionKey(p, "enabled"), o.enabled);
  w.Add(OptionKey(p, "window"), o.window);
  w.Add(OptionKey(p, "hop"), o.hop);
  w.Add(OptionKey(p, "targets"), CanonicalTargets(o.targets));
  w.Add(OptionKey(p, "max_keys"), o.max_keys);
  w.Add(OptionKey(p, "max_account_age"), o.max_account_age);
  w.Add(OptionKey(p, "min_accounts"), o.min_accounts);
  CanonicalScoring(OptionKey(p, "scoring"), o.scoring, w);
  CanonicalPerTarget(
      p, o.per_target,
      [&w](std::string_view t, const NewAccountBurstTargetOptions& x) {
        w.Add(OptionKey(t, "max_account_age"), x.max_account_age);
        CanonicalScoring(OptionKey(t, "scoring"), x.scoring, w);
      },
      w);
}

}  // namespace vigia
