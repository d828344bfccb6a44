// Campaigns across alerts: alerts whose evidence shares accounts, URLs,
// payers or a text cluster are one campaign, whatever detector raised
// them (docs/campaigns.md). A campaign id is stable: it derives from the
// campaign's earliest alert, so later alerts joining a campaign do not
// change it. Also the account co-activity network of the campaigns'
// alerts, as GraphML (Gephi, igraph, networkx, CooRnet's users).
//
// Pure functions over values; thread-compatible.
#ifndef VIGIA_PIPELINE_CAMPAIGNS_H_
#define VIGIA_PIPELINE_CAMPAIGNS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

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
  std::string text_cluster;  // coordinated_sharing's text fingerprint, or ""
};

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
};

// Groups `alerts` into campaigns (connected components of the links),
// earliest first. Every alert is in exactly one campaign; an alert linked
// to none is a campaign of its own.
std::vector<Campaign> LinkCampaigns(const std::vector<CampaignAlert>& alerts,
                                    const CampaignOptions& options);

// The account co-activity network of `campaigns`' alerts as GraphML: one
// node per account (attributes: campaign, alerts), one undirected edge per
// pair of accounts named by the same alert (weight: alerts naming both).
std::string CoActivityGraphMl(const std::vector<Campaign>& campaigns,
                              const std::vector<CampaignAlert>& alerts);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CAMPAIGNS_H_
