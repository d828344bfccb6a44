// Campaigns across alerts: alerts whose evidence shares accounts, URLs,
// payers or a text cluster are one campaign, whatever detector raised
// them (docs/campaigns.md). A campaign id is stable: it derives from the
// campaign's earliest alert, so later alerts joining a campaign do not
// change it. Also the account co-activity network of the campaigns'
// alerts, as GraphML (igraph, networkx, CooRnet's users) or GEXF (Gephi).
//
// Pure functions over values; thread-compatible.
#ifndef VIGIA_PIPELINE_CAMPAIGNS_H_
#define VIGIA_PIPELINE_CAMPAIGNS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "operators/snapshot.h"
#include "pipeline/core/alert.h"

namespace vigia {

// What linking needs of an alert record (read from its JSON).
struct CampaignAlert {
  std::string id;
  std::string detector;
  std::string severity;
  std::string target;
  std::string origin;  // empty when the alert has none
  absl::Time window_start;
  absl::Time window_end;
  std::vector<std::string> accounts;  // top accounts and sample accounts
  std::vector<std::string> urls;      // normalised
  std::vector<std::string> payers;
  std::string text_cluster;    // coordinated_sharing's text fingerprint, or ""
  std::optional<Reach> reach;  // evidence.reach, when the alert states one
};

// The reach of a campaign, as a range its alerts' reaches bound: an
// audience is at least the largest one alert reached, and at most what all
// reached together (alerts of one campaign share accounts, so the sum
// counts some people more than once).
struct CampaignReach {
  int alerts = 0;  // alerts that state a reach
  int64_t followers_at_least = 0, followers_at_most = 0;
  bool estimated = false;  // some alert's followers are estimated
  int64_t reposts_at_least = 0, reposts_at_most = 0;
  double impressions_at_least = 0, impressions_at_most = 0;
};

// What linking takes from an alert record (the same as `vigia campaigns`
// reads from its JSON): top and sample accounts (decorations such as
// " (created ...)" cut), normalised URLs (top URLs and a URL subject), top
// payers, the text cluster, and the reach.
CampaignAlert ToCampaignAlert(const Alert& alert);

struct CampaignOptions {
  // Two alerts are linked when they share at least this many accounts, or
  // any URL, payer or text cluster. One account is not enough: a loud
  // account of the background turns up in the top lists of unrelated
  // alerts about the same target.
  int min_shared_accounts = 2;
};

struct Campaign {
  std::string id;                   // "c" + 19 hex digits
  std::vector<std::string> alerts;  // ids, by window end
  absl::Time first_seen;            // earliest window start
  absl::Time last_seen;             // latest window end
  std::vector<std::string> targets, origins, detectors;  // sorted, distinct
  // Accounts, URLs and payers of its alerts, most alerts first.
  std::vector<std::pair<std::string, int>> accounts, urls, payers;
  CampaignReach reach;
};

// Groups `alerts` into campaigns (connected components of the links),
// earliest first. Every alert is in exactly one campaign; an alert linked
// to none is a campaign of its own.
std::vector<Campaign> LinkCampaigns(const std::vector<CampaignAlert>& alerts,
                                    const CampaignOptions& options);

// The campaign `alert_id` belongs to among `alerts` (linked with `options`),
// or null. Used to stamp an alert with its campaign as of the alerts so far
// (vigia explain): the id is that of the campaign's earliest alert, so it
// stays as later alerts join, and changes only if a later alert merges the
// campaign into an older one.
std::optional<Campaign> CampaignOf(const std::vector<CampaignAlert>& alerts,
                                   const std::string& alert_id,
                                   const CampaignOptions& options);

// Stamps each alert record with its campaign as it is raised, as of the
// alerts so far: the campaign CampaignOf gives over the firing records at
// warning or above raised before it, the record itself included. Firing
// records at warning or above are kept to link later ones (up to
// kMaxLinked; past it records are still stamped, and no more are kept).
// Incremental (a union-find over the kept records and an index of their
// accounts, URLs, payers and text clusters): a record costs what its own
// accounts share with earlier ones, not a relinking of the run.
//
// Owned by the pipeline; thread-compatible.
class CampaignLinker {
 public:
  static constexpr size_t kMaxLinked = 20'000;
  // The snapshot section's format version (SaveState, RestoreState).
  static constexpr uint32_t kStateVersion = 1;

  explicit CampaignLinker(CampaignOptions options = {}) : options_(options) {}

  // The campaign id of `alert` as of now; keeps it for later records when it
  // is a firing record at warning or above not kept yet.
  std::string Stamp(const Alert& alert);

  size_t linked() const { return members_.size(); }

  // Keeps `other`'s kept alerts that this one does not keep yet, in their
  // order (up to kMaxLinked): merging the histories of two instances'
  // pipelines when their partitions come together.
  void Absorb(const CampaignLinker& other);

  // The kept records (id, window end, accounts, URLs, payers, text
  // cluster), in the order they were kept; a restore keeps them again in
  // that order, which rebuilds the same links.
  void SaveState(SnapshotWriter& w) const;
  absl::Status RestoreState(SnapshotReader& r);

 private:
  struct Member {
    std::string id;
    absl::Time window_end;
    std::vector<std::string> accounts;  // distinct, sorted
    std::vector<std::string> keys;  // "url\x1f..", "payer\x1f..", "text\x1f.."
  };
  static Member ToMember(const CampaignAlert& a);
  size_t Find(size_t x);
  // The kept records `m` links to (their roots), by shared keys or
  // min_shared_accounts accounts.
  std::vector<size_t> LinkedRoots(const Member& m);
  void Keep(Member m);

  CampaignOptions options_;
  std::vector<Member> members_;
  std::vector<size_t> parent_;
  std::vector<size_t> earliest_;  // per root: its earliest member
  absl::flat_hash_map<std::string, size_t> first_with_;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_account_;
  absl::flat_hash_map<std::string, size_t> by_id_;
};

// One campaign as a JSON object on one line (no newline), as `vigia
// campaigns` writes it and evidence packages keep it (docs/campaigns.md):
// id, first and last seen, targets, origins, detectors, alerts, the top 20
// accounts, URLs and payers with their alert counts, and the reach range.
std::string CampaignToJson(const Campaign& c);

// The account co-activity network of `campaigns`' alerts as GraphML: one
// node per account (attributes: campaign, alerts), one undirected edge per
// pair of accounts named by the same alert (weight: alerts naming both).
std::string CoActivityGraphMl(const std::vector<Campaign>& campaigns,
                              const std::vector<CampaignAlert>& alerts);

// The same network as GEXF 1.3 (Gephi's own format): node attributes
// campaign and alerts, undirected edges with their weight.
std::string CoActivityGexf(const std::vector<Campaign>& campaigns,
                           const std::vector<CampaignAlert>& alerts);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CAMPAIGNS_H_
