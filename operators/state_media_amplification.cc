#include "operators/state_media_amplification.h"

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operators/detector_options.h"
#include "operators/event_urls.h"
#include "operators/evidence.h"
#include "operators/hop_counter_detector.h"
#include "operators/hyperloglog.h"
#include "operators/keyed_hop_counter.h"
#include "operators/operator_util.h"
#include "operators/scorer.h"
#include "operators/snapshot.h"
#include "pipeline/core/country.h"
#include "pipeline/core/files.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/log.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

constexpr std::string_view kName = "state_media_amplification";
constexpr std::string_view kAccountLabel = "state-affiliated account";

// ---------------------------------------------------------------------------
// The list file.

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Checks a domain as written in the list and returns its matching form
// (lower case, no "www.", no trailing dot), or an error message.
absl::StatusOr<std::string> CheckDomain(std::string_view raw) {
  std::string d(raw);
  for (char& c : d) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (d.find("://") != std::string::npos || d.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(raw),
                     "\": write the domain alone, without scheme or path"));
  }
  while (!d.empty() && d.back() == '.') d.pop_back();
  if (d.size() > 4 && d.compare(0, 4, "www.") == 0 &&
      d.find('.', 4) != std::string::npos) {
    d.erase(0, 4);
  }
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(raw), "\" is not a domain: ", ToAbsl(why)));
  };
  if (d.find('.') == std::string::npos) return bad("it needs a dot");
  if (d.size() > 253) return bad("longer than 253 characters");
  size_t start = 0;
  while (start <= d.size()) {
    size_t end = d.find('.', start);
    if (end == std::string::npos) end = d.size();
    const std::string_view label =
        std::string_view(d).substr(start, end - start);
    if (label.empty()) return bad("empty label");
    if (label.size() > 63) return bad("a label is longer than 63 characters");
    if (label.front() == '-' || label.back() == '-') {
      return bad("a label starts or ends with '-'");
    }
    for (char c : label) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        return bad("write international domains in their xn-- (punycode) form");
      }
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return bad(absl::StrCat("'", std::string(1, c), "' is not allowed"));
      }
    }
    start = end + 1;
  }
  return d;
}

// ---------------------------------------------------------------------------
// The detector.

struct Bucket {
  explicit Bucket(const EvidenceLimits& limits)
      : evidence(limits), outlets(limits.top_capacity) {}

  BucketEvidence evidence;
  TopK outlets;  // "rt.com (RT)" or "state-affiliated account"
  HyperLogLog accounts;
  // Why each sample counted, parallel to evidence.samples().
  std::vector<std::string> sample_notes;
  uint32_t via_url = 0;
  uint32_t via_account = 0;
};

// State format version 1 (HopCounterDetector): per bucket, the evidence,
// the outlet sketch, the account HyperLogLog, the samples' notes and the two
// counts.
class StateMediaAmplification final
    : public HopCounterDetector<StateMediaAmplification, Bucket> {
 public:
  StateMediaAmplification(const StateMediaAmplificationOptions& options,
                          const OperatorContext& context)
      : HopCounterDetector(
            options.window, options.hop, options.max_keys,
            [this] { return std::make_unique<Bucket>(limits_); }),
        options_(options),
        context_(context),
        list_(options.domains != nullptr ? options.domains
                                         : DefaultStateMediaList()),
        limits_{std::max(4 * context.top_n, 8), context.max_samples},
        default_scorer_(options.scoring, counter_.hop()),
        window_text_(HumanDuration(counter_.window())) {
    for (size_t i = 0; i < list_->outlets.size(); ++i) {
      const StateMediaOutlet& o = list_->outlets[i];
      domains_.emplace(o.domain, static_cast<uint32_t>(i));
      labels_.push_back(o.name.empty()
                            ? o.domain
                            : absl::StrCat(o.domain, " (", o.name, ")"));
    }
    scorers_.fill(&default_scorer_);
    for (const auto& [target, o] : options.per_target) {
      if (!target.known()) continue;
      target_scorers_.push_back(
          std::make_unique<Scorer>(o.scoring, counter_.hop()));
      scorers_[CountryIndex(target)] = target_scorers_.back().get();
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
    if (!event.is_post() || !event.target.known()) return;
    const int index = facts.target_index();
    if (any_watched_ && !watched_[index]) return;
    int outlet = -1;
    EventUrls& urls = facts.urls();
    for (size_t i = 0; i < urls.size(); ++i) {
      outlet = Match(urls.Host(i));
      if (outlet >= 0) break;
    }
    CountryCode origin;
    if (outlet >= 0) {
      origin = list_->outlets[outlet].country;
    } else if (options_.count_state_affiliated_accounts &&
               event.state_affiliated == Tristate::kYes) {
      origin = event.account_country;
    } else {
      return;
    }
    Bucket* b =
        counter_.Add(KeyedHopCounter<Bucket>::Pack(event.target, origin),
                     event.created_at, scorers_[index], facts);
    if (b == nullptr) return;
    const std::string_view label =
        outlet >= 0 ? std::string_view(labels_[outlet]) : kAccountLabel;
    const size_t samples = b->evidence.samples().size();
    b->evidence.Add(event);
    if (b->evidence.samples().size() > samples) {
      b->sample_notes.emplace_back(label);
    }
    b->outlets.Add(label);
    if (!event.account_id.empty()) b->accounts.Add(event.account_id);
    ++(outlet >= 0 ? b->via_url : b->via_account);
  }

 private:
  friend class HopCounterDetector<StateMediaAmplification, Bucket>;

  // The scorer Add() gives the key `packed`; nullptr for a target not
  // watched.
  const Scorer* ScorerOf(uint32_t packed) const {
    return scorers_[CountryIndex(
        CountryCode::FromChars(static_cast<char>(packed >> 24),
                               static_cast<char>((packed >> 16) & 0xff)))];
  }
  static void SaveBucket(const Bucket& b, SnapshotWriter& w) {
    b.evidence.Save(w);
    b.outlets.Save(w);
    b.accounts.Save(w);
    w.U64(b.sample_notes.size());
    for (const std::string& n : b.sample_notes) w.Str(n);
    w.U32(b.via_url);
    w.U32(b.via_account);
  }
  static void RestoreBucket(SnapshotReader& r, Bucket* b) {
    b->evidence.Restore(r);
    b->outlets.Restore(r);
    b->accounts.Restore(r);
    const size_t n = r.Count(1);
    b->sample_notes.clear();
    for (size_t i = 0; i < n && r.ok(); ++i) {
      b->sample_notes.push_back(r.Str());
    }
    b->via_url = r.U32();
    b->via_account = r.U32();
  }

  // The outlet whose domain is `host` (a URL's, as UrlHost() gives it) or a
  // parent domain of it (the most specific listed one), or -1.
  int Match(std::string_view host) const {
    std::string_view h = host;
    while (!h.empty()) {
      auto it = domains_.find(ToAbsl(h));
      if (it != domains_.end()) return static_cast<int>(it->second);
      const size_t dot = h.find('.');
      if (dot == std::string_view::npos) break;
      h.remove_prefix(dot + 1);
    }
    return -1;
  }

  Alert MakeAlert(const Key& key, absl::Time end, const Assessment& a,
                  CountRecord record, int level, Severity successor) const {
    Alert alert;
    counter_.FillAlert(kName, key, end, a, record, level, context_.config_hash,
                       alert);
    std::vector<const BucketEvidence*> evidence;
    std::vector<const TopK*> outlets;
    HyperLogLog accounts;
    int64_t via_url = 0;
    int64_t via_account = 0;
    absl::flat_hash_map<std::string_view, std::string_view> notes;
    for (const Bucket* b : counter_.WindowBuckets(key)) {
      evidence.push_back(&b->evidence);
      outlets.push_back(&b->outlets);
      accounts.Merge(b->accounts);
      via_url += b->via_url;
      via_account += b->via_account;
      const std::vector<StoredSample>& samples = b->evidence.samples();
      for (size_t i = 0; i < samples.size() && i < b->sample_notes.size();
           ++i) {
        notes.emplace(samples[i].id(), b->sample_notes[i]);
      }
    }
    alert.evidence =
        MergeEvidence(evidence, context_.top_n, context_.max_samples);
    alert.evidence.other_tops.emplace_back("top_outlets",
                                           MergeTop(outlets, context_.top_n));
    for (SampleEvent& s : alert.evidence.samples) {
      auto it = notes.find(s.id);
      if (it != notes.end()) s.note = std::string(it->second);
    }
    alert.evidence.baseline =
        key.scorer->Explain(key.baseline, end, counter_.window_hops());
    for (auto& entry : Scorer::ExplainVerdict(a)) {
      alert.evidence.baseline.push_back(std::move(entry));
    }
    const double distinct = std::round(accounts.Estimate());
    alert.evidence.baseline.insert(
        alert.evidence.baseline.end(),
        {
            {"posts_sharing_listed_domains", static_cast<double>(via_url)},
            {"posts_by_state_affiliated_accounts",
             static_cast<double>(via_account)},
            {"distinct_accounts", distinct},
            {"distinct_relative_error", accounts.StandardError()},
            {"listed_domains", static_cast<double>(list_->outlets.size())},
        });
    std::string prefix;
    if (record == CountRecord::kResolved) {
      prefix = "Resolved: state-media";
    } else if (record == CountRecord::kSuperseded) {
      prefix = absl::StrCat("Superseded by ", ToAbsl(SeverityName(successor)),
                            ": state-media");
    } else {
      prefix = "State-media";
    }
    const std::string from = alert.origin.known()
                                 ? absl::StrCat("of ", alert.origin.str())
                                 : "of unknown country";
    alert.summary = absl::StrFormat(
        "%s amplification aimed at %s (outlets and accounts %s): %s%.0f "
        "posts in %s vs %.1f expected (%.1fx, score %.1f)",
        prefix, alert.target.str(), from,
        record == CountRecord::kResolved ? "back to " : "", a.observed,
        window_text_, a.expected, a.ratio, a.score);
    return alert;
  }

  const StateMediaAmplificationOptions options_;
  const OperatorContext context_;
  const std::shared_ptr<const StateMediaList> list_;
  const EvidenceLimits limits_;
  const Scorer default_scorer_;
  const std::string window_text_;
  absl::flat_hash_map<std::string, uint32_t> domains_;
  std::vector<std::string> labels_;  // per outlet, for evidence
  std::vector<std::unique_ptr<Scorer>> target_scorers_;
  std::array<const Scorer*, kCountrySlots> scorers_{};
  std::array<bool, kCountrySlots> watched_{};
  bool any_watched_ = false;
};

}  // namespace

absl::StatusOr<StateMediaList> ParseStateMediaDomains(std::string_view text,
                                                      std::string_view name) {
  StateMediaList list;
  list.sha256 = Sha256Hex(text);
  list.origin = std::string(name);
  absl::flat_hash_map<std::string, int> seen;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const auto error = [&](std::string_view message) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(name), ":", line_no, ": ", ToAbsl(message)));
    };
    // Fields: words, or a double-quoted name that may hold spaces; '#'
    // outside quotes starts a comment.
    std::vector<std::string_view> fields;
    std::vector<bool> quoted;
    size_t i = 0;
    while (i < line.size()) {
      if (IsSpace(line[i])) {
        ++i;
        continue;
      }
      if (line[i] == '#') break;
      if (line[i] == '"') {
        const size_t close = line.find('"', i + 1);
        if (close == std::string_view::npos) {
          return error("unterminated quote in the outlet name");
        }
        fields.push_back(line.substr(i + 1, close - i - 1));
        quoted.push_back(true);
        i = close + 1;
        continue;
      }
      size_t j = i;
      while (j < line.size() && !IsSpace(line[j]) && line[j] != '#' &&
             line[j] != '"') {
        ++j;
      }
      fields.push_back(line.substr(i, j - i));
      quoted.push_back(false);
      i = j;
    }
    if (fields.empty()) continue;
    if (quoted[0]) return error("a line starts with the domain, not a name");
    absl::StatusOr<std::string> domain = CheckDomain(fields[0]);
    if (!domain.ok()) return error(FromAbsl(domain.status().message()));
    StateMediaOutlet outlet;
    outlet.domain = *std::move(domain);
    outlet.line = line_no;
    size_t next = 1;
    if (next < fields.size() && !quoted[next]) {
      const CountryCode country = ParseCountry(fields[next]);
      if (!country.known()) {
        std::string message =
            absl::StrCat("\"", ToAbsl(fields[next]),
                         "\" is not an ISO 3166-1 alpha-2 country code");
        if (fields[next] == "UK") {
          absl::StrAppend(&message, " (the United Kingdom is GB)");
        }
        return error(message);
      }
      outlet.country = country;
      ++next;
    }
    if (next < fields.size() && quoted[next]) {
      outlet.name = std::string(fields[next]);
      ++next;
    }
    if (next < fields.size()) {
      return error(absl::StrCat(
          "unexpected \"", ToAbsl(fields[next]),
          "\" (expected: domain [country code] [\"outlet name\"])"));
    }
    auto [it, inserted] = seen.emplace(outlet.domain, line_no);
    if (!inserted) {
      return error(absl::StrCat("duplicate domain ", outlet.domain,
                                " (first on line ", it->second, ")"));
    }
    list.outlets.push_back(std::move(outlet));
  }
  return list;
}

absl::StatusOr<StateMediaList> LoadStateMediaDomainsFile(
    const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(
      path, kMaxStateMediaDomainsFileBytes, "state media domains file");
  if (!text.ok()) return text.status();
  return ParseStateMediaDomains(*text, path);
}

std::shared_ptr<const StateMediaList> DefaultStateMediaList() {
  static const std::shared_ptr<const StateMediaList>* list = [] {
    absl::StatusOr<StateMediaList> parsed = ParseStateMediaDomains(
        EmbeddedStateMediaDomains(), "state_media_domains.txt (embedded)");
    if (!parsed.ok()) {
      VIGIA_LOG(ERROR) << parsed.status().message();
      parsed = StateMediaList{};
      parsed->sha256 = Sha256Hex(EmbeddedStateMediaDomains());
    }
    parsed->origin = "embedded";
    return new std::shared_ptr<const StateMediaList>(
        std::make_shared<const StateMediaList>(*std::move(parsed)));
  }();
  return *list;
}

std::unique_ptr<Operator> MakeStateMediaAmplification(
    const StateMediaAmplificationOptions& options,
    const OperatorContext& context) {
  return std::make_unique<StateMediaAmplification>(options, context);
}

// ---------------------------------------------------------------------------
// Configuration: the section detectors.state_media_amplification
// (docs/config.md).

namespace {

absl::Status ParseStateMediaAmplificationTarget(
    ConfigMap& m, StateMediaAmplificationTargetOptions* out) {
  return m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  });
}

}  // namespace

absl::Status ParseOptions(ConfigMap& m, StateMediaAmplificationOptions* out) {
  VIGIA_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  VIGIA_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  VIGIA_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    VIGIA_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  VIGIA_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  VIGIA_RETURN_IF_ERROR(m.Bool("count_state_affiliated_accounts",
                               &out->count_state_affiliated_accounts));
  if (std::optional<ConfigNode> file = m.Take("domains_file")) {
    absl::StatusOr<std::string> path = file->String();
    if (!path.ok()) return path.status();
    out->domains_file = *path;
    out->domains = nullptr;
    if (!path->empty()) {
      // The list is read now, so a missing or malformed file stops vigia
      // before it reads a record, like any other configuration error.
      absl::StatusOr<StateMediaList> list = LoadStateMediaDomainsFile(*path);
      if (!list.ok()) return file->Error(FromAbsl(list.status().message()));
      out->domains = std::make_shared<const StateMediaList>(*std::move(list));
    }
  }
  VIGIA_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    StateMediaAmplificationTargetOptions inherited;
    inherited.scoring = out->scoring;
    VIGIA_RETURN_IF_ERROR(ParsePerTarget<StateMediaAmplificationTargetOptions>(
        *per_target, inherited, ParseStateMediaAmplificationTarget,
        &out->per_target));
  }
  return CheckWindow(m, out->window, out->hop);
}

void WriteCanonical(std::string_view p, const StateMediaAmplificationOptions& o,
                    CanonicalWriter& w) {
  w.Add(OptionKey(p, "enabled"), o.enabled);
  w.Add(OptionKey(p, "window"), o.window);
  w.Add(OptionKey(p, "hop"), o.hop);
  w.Add(OptionKey(p, "targets"), CanonicalTargets(o.targets));
  w.Add(OptionKey(p, "max_keys"), o.max_keys);
  w.Add(OptionKey(p, "count_state_affiliated_accounts"),
        o.count_state_affiliated_accounts);
  // The list by its contents, not its path: moving the file changes
  // nothing, editing it changes the hash.
  const std::shared_ptr<const StateMediaList> list =
      o.domains != nullptr ? o.domains : DefaultStateMediaList();
  w.Add(OptionKey(p, "domains_file"),
        absl::StrCat("sha256:", list->sha256, " (", list->outlets.size(),
                     " domains)"));
  CanonicalScoring(OptionKey(p, "scoring"), o.scoring, w);
  CanonicalPerTarget(
      p, o.per_target,
      [&w](std::string_view t, const StateMediaAmplificationTargetOptions& x) {
        CanonicalScoring(OptionKey(t, "scoring"), x.scoring, w);
      },
      w);
}

}  // namespace vigia
