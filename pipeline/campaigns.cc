#include "pipeline/campaigns.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "operators/url_normalize.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/markup.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) {
    std::iota(parent_.begin(), parent_.end(), size_t{0});
  }
  size_t Find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Join(size_t a, size_t b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<size_t> parent_;
};

// Values by how many of the alerts name them, most first, then by value.
std::vector<std::pair<std::string, int>> Ranked(
    const std::map<std::string, int>& counts) {
  std::vector<std::pair<std::string, int>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second > b.second;
  });
  return out;
}

void AddReach(const Reach& r, CampaignReach* c) {
  ++c->alerts;
  c->followers_at_least = std::max(c->followers_at_least, r.followers);
  c->followers_at_most += r.followers;
  c->estimated = c->estimated || r.estimated;
  const int64_t reposts = r.reposts + r.reported_reposts;
  c->reposts_at_least = std::max(c->reposts_at_least, reposts);
  c->reposts_at_most += reposts;
  c->impressions_at_least =
      std::max(c->impressions_at_least, r.impressions_lower);
  c->impressions_at_most += r.impressions_upper;
}

}  // namespace

CampaignAlert ToCampaignAlert(const Alert& a) {
  CampaignAlert c;
  c.id = a.id;
  c.detector = a.detector;
  c.severity = std::string(SeverityName(a.severity));
  c.target = a.target.str();
  c.origin = a.origin.str();
  c.window_start = a.window_start;
  c.window_end = a.window_end;
  const auto undecorated = [](std::string v) {
    if (const size_t cut = v.find(" ("); cut != std::string::npos) {
      v.resize(cut);
    }
    return v;
  };
  for (const Tally& t : a.evidence.top_accounts) {
    std::string v = undecorated(t.value);
    if (!v.empty()) c.accounts.push_back(std::move(v));
  }
  for (const SampleEvent& s : a.evidence.samples) {
    if (!s.account.empty()) c.accounts.push_back(s.account);
  }
  for (const Tally& t : a.evidence.top_urls) {
    std::string n = NormalizeUrl(t.value);
    if (!n.empty()) c.urls.push_back(std::move(n));
  }
  for (const auto& [name, tallies] : a.evidence.other_tops) {
    if (name != "top_payers") continue;
    for (const Tally& t : tallies) {
      std::string v = undecorated(t.value);
      if (!v.empty()) c.payers.push_back(std::move(v));
    }
  }
  if (a.subject_kind == "text") c.text_cluster = a.subject;
  if (a.subject_kind == "url") {
    std::string n = NormalizeUrl(a.subject);
    if (!n.empty()) c.urls.push_back(std::move(n));
  }
  c.reach = a.evidence.reach;
  return c;
}

std::optional<Campaign> CampaignOf(const std::vector<CampaignAlert>& alerts,
                                   const std::string& alert_id,
                                   const CampaignOptions& options) {
  for (Campaign& c : LinkCampaigns(alerts, options)) {
    if (std::find(c.alerts.begin(), c.alerts.end(), alert_id) !=
        c.alerts.end()) {
      return std::move(c);
    }
  }
  return std::nullopt;
}

namespace {

// A campaign's id: from its earliest alert (by window end, then id).
std::string CampaignId(const std::string& earliest_alert_id) {
  return absl::StrCat(
      "c",
      Sha256Hex(absl::StrCat("campaign|", earliest_alert_id)).substr(0, 19));
}

}  // namespace

CampaignLinker::Member CampaignLinker::ToMember(const CampaignAlert& a) {
  Member m;
  m.id = a.id;
  m.window_end = a.window_end;
  const std::set<std::string> accounts(a.accounts.begin(), a.accounts.end());
  m.accounts.assign(accounts.begin(), accounts.end());
  std::set<std::string> keys;
  for (const std::string& u : a.urls) keys.insert("url\x1f" + u);
  for (const std::string& p : a.payers) keys.insert("payer\x1f" + p);
  if (!a.text_cluster.empty()) keys.insert("text\x1f" + a.text_cluster);
  m.keys.assign(keys.begin(), keys.end());
  return m;
}

size_t CampaignLinker::Find(size_t x) {
  while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
  return x;
}

std::vector<size_t> CampaignLinker::LinkedRoots(const Member& m) {
  std::set<size_t> roots;
  for (const std::string& key : m.keys) {
    if (auto it = first_with_.find(key); it != first_with_.end()) {
      roots.insert(Find(it->second));
    }
  }
  absl::flat_hash_map<size_t, int> shared;
  for (const std::string& account : m.accounts) {
    auto it = by_account_.find(account);
    if (it == by_account_.end()) continue;
    for (size_t i : it->second) {
      if (++shared[i] == options_.min_shared_accounts) roots.insert(Find(i));
    }
  }
  return std::vector<size_t>(roots.begin(), roots.end());
}

void CampaignLinker::Keep(Member m) {
  const size_t i = members_.size();
  const std::vector<size_t> roots = LinkedRoots(m);
  parent_.push_back(i);
  earliest_.push_back(i);
  for (const std::string& key : m.keys) first_with_.emplace(key, i);
  for (const std::string& account : m.accounts) {
    by_account_[account].push_back(i);
  }
  by_id_.emplace(m.id, i);
  members_.push_back(std::move(m));
  const auto earlier = [this](size_t a, size_t b) {
    return std::tie(members_[a].window_end, members_[a].id) <
           std::tie(members_[b].window_end, members_[b].id);
  };
  for (size_t root : roots) {
    const size_t a = Find(root), b = Find(i);
    if (a == b) continue;
    const size_t keep = std::min(a, b), gone = std::max(a, b);
    parent_[gone] = keep;
    if (earlier(earliest_[gone], earliest_[keep])) {
      earliest_[keep] = earliest_[gone];
    }
  }
}

std::string CampaignLinker::Stamp(const Alert& alert) {
  if (auto it = by_id_.find(alert.id); it != by_id_.end()) {
    return CampaignId(members_[earliest_[Find(it->second)]].id);
  }
  Member m = ToMember(ToCampaignAlert(alert));
  if (alert.state == AlertState::kFiring &&
      alert.severity >= Severity::kWarning && members_.size() < kMaxLinked) {
    const std::string id = m.id;
    Keep(std::move(m));
    return CampaignId(members_[earliest_[Find(by_id_.at(id))]].id);
  }
  // Not kept: the campaign it would join, without joining it.
  std::pair<absl::Time, std::string> first{m.window_end, m.id};
  for (size_t root : LinkedRoots(m)) {
    const Member& e = members_[earliest_[root]];
    first = std::min(first, {e.window_end, e.id});
  }
  return CampaignId(first.second);
}

void CampaignLinker::Absorb(const CampaignLinker& other) {
  for (const Member& m : other.members_) {
    if (members_.size() >= kMaxLinked) break;
    if (!by_id_.contains(m.id)) Keep(m);
  }
}

void CampaignLinker::SaveState(SnapshotWriter& w) const {
  w.U64(members_.size());
  for (const Member& m : members_) {
    w.Str(m.id);
    w.Time(m.window_end);
    w.U64(m.accounts.size());
    for (const std::string& a : m.accounts) w.Str(a);
    w.U64(m.keys.size());
    for (const std::string& k : m.keys) w.Str(k);
  }
}

absl::Status CampaignLinker::RestoreState(SnapshotReader& r) {
  *this = CampaignLinker(options_);
  const size_t n = r.Count(3);
  if (r.ok() && n > kMaxLinked) r.Fail("more linked alerts than the cap");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Member m;
    m.id = r.Str();
    m.window_end = r.Time();
    const size_t accounts = r.Count(1);
    for (size_t j = 0; j < accounts && r.ok(); ++j) {
      m.accounts.push_back(r.Str());
    }
    const size_t keys = r.Count(1);
    for (size_t j = 0; j < keys && r.ok(); ++j) m.keys.push_back(r.Str());
    if (r.ok() && by_id_.contains(m.id)) r.Fail("an alert linked twice");
    if (r.ok()) Keep(std::move(m));
  }
  absl::Status s = r.Finish();
  if (!s.ok()) *this = CampaignLinker(options_);
  return s;
}

std::vector<Campaign> LinkCampaigns(const std::vector<CampaignAlert>& alerts,
                                    const CampaignOptions& options) {
  const size_t n = alerts.size();
  UnionFind uf(n);
  // Any shared URL, payer or text cluster links; accounts need
  // min_shared_accounts in common.
  std::map<std::string, size_t> first_with;
  auto link_by = [&](const std::string& key, size_t i) {
    auto [it, fresh] = first_with.emplace(key, i);
    if (!fresh) uf.Join(it->second, i);
  };
  std::map<std::string, std::vector<size_t>> by_account;
  for (size_t i = 0; i < n; ++i) {
    const CampaignAlert& a = alerts[i];
    for (const std::string& u : a.urls) link_by("url\x1f" + u, i);
    for (const std::string& p : a.payers) link_by("payer\x1f" + p, i);
    if (!a.text_cluster.empty()) link_by("text\x1f" + a.text_cluster, i);
    const std::set<std::string> distinct(a.accounts.begin(), a.accounts.end());
    for (const std::string& acc : distinct) by_account[acc].push_back(i);
  }
  std::map<std::pair<size_t, size_t>, int> shared;
  for (const auto& [account, ids] : by_account) {
    for (size_t x = 0; x < ids.size(); ++x) {
      for (size_t y = x + 1; y < ids.size(); ++y) {
        if (++shared[{ids[x], ids[y]}] == options.min_shared_accounts) {
          uf.Join(ids[x], ids[y]);
        }
      }
    }
  }
  // Components, each member list by window end then id.
  std::map<size_t, std::vector<size_t>> components;
  for (size_t i = 0; i < n; ++i) components[uf.Find(i)].push_back(i);
  std::vector<Campaign> out;
  for (auto& [root, members] : components) {
    std::sort(members.begin(), members.end(), [&](size_t a, size_t b) {
      return std::tie(alerts[a].window_end, alerts[a].id) <
             std::tie(alerts[b].window_end, alerts[b].id);
    });
    Campaign c;
    c.id = CampaignId(alerts[members[0]].id);
    c.first_seen = absl::InfiniteFuture();
    c.last_seen = absl::InfinitePast();
    std::set<std::string> targets, origins, detectors;
    std::map<std::string, int> accounts, urls, payers;
    for (size_t i : members) {
      const CampaignAlert& a = alerts[i];
      c.alerts.push_back(a.id);
      c.first_seen = std::min(c.first_seen, a.window_start);
      c.last_seen = std::max(c.last_seen, a.window_end);
      targets.insert(a.target);
      if (!a.origin.empty()) origins.insert(a.origin);
      detectors.insert(a.detector);
      for (const std::string& v :
           std::set<std::string>(a.accounts.begin(), a.accounts.end())) {
        ++accounts[v];
      }
      for (const std::string& v :
           std::set<std::string>(a.urls.begin(), a.urls.end())) {
        ++urls[v];
      }
      for (const std::string& v :
           std::set<std::string>(a.payers.begin(), a.payers.end())) {
        ++payers[v];
      }
      if (a.reach) AddReach(*a.reach, &c.reach);
    }
    c.targets.assign(targets.begin(), targets.end());
    c.origins.assign(origins.begin(), origins.end());
    c.detectors.assign(detectors.begin(), detectors.end());
    c.accounts = Ranked(accounts);
    c.urls = Ranked(urls);
    c.payers = Ranked(payers);
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const Campaign& a, const Campaign& b) {
    return std::tie(a.first_seen, a.id) < std::tie(b.first_seen, b.id);
  });
  return out;
}

namespace {

// Account -> (campaign of its first alert, alerts naming it), and account
// pairs -> alerts naming both.
struct CoActivity {
  std::map<std::string, std::pair<std::string, int>> nodes;
  std::map<std::pair<std::string, std::string>, int> edges;
};

CoActivity BuildCoActivity(const std::vector<Campaign>& campaigns,
                           const std::vector<CampaignAlert>& alerts) {
  std::map<std::string, const CampaignAlert*> by_id;
  for (const CampaignAlert& a : alerts) by_id[a.id] = &a;
  CoActivity net;
  for (const Campaign& c : campaigns) {
    for (const std::string& id : c.alerts) {
      auto it = by_id.find(id);
      if (it == by_id.end()) continue;
      const std::set<std::string> accounts(it->second->accounts.begin(),
                                           it->second->accounts.end());
      for (const std::string& acc : accounts) {
        auto [node, fresh] = net.nodes.emplace(acc, std::make_pair(c.id, 0));
        ++node->second.second;
      }
      for (auto x = accounts.begin(); x != accounts.end(); ++x) {
        for (auto y = std::next(x); y != accounts.end(); ++y) {
          ++net.edges[{*x, *y}];
        }
      }
    }
  }
  return net;
}

}  // namespace

std::string CoActivityGraphMl(const std::vector<Campaign>& campaigns,
                              const std::vector<CampaignAlert>& alerts) {
  const CoActivity net = BuildCoActivity(campaigns, alerts);
  const auto& nodes = net.nodes;
  const auto& edges = net.edges;
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n"
      "  <key id=\"campaign\" for=\"node\" attr.name=\"campaign\" "
      "attr.type=\"string\"/>\n"
      "  <key id=\"alerts\" for=\"node\" attr.name=\"alerts\" "
      "attr.type=\"int\"/>\n"
      "  <key id=\"weight\" for=\"edge\" attr.name=\"weight\" "
      "attr.type=\"int\"/>\n"
      "  <graph id=\"co-activity\" edgedefault=\"undirected\">\n";
  for (const auto& [account, info] : nodes) {
    absl::StrAppend(&out, "    <node id=\"", EscapeMarkup(account),
                    "\"><data key=\"campaign\">", info.first,
                    "</data><data key=\"alerts\">", info.second,
                    "</data></node>\n");
  }
  for (const auto& [pair, weight] : edges) {
    absl::StrAppend(&out, "    <edge source=\"", EscapeMarkup(pair.first),
                    "\" target=\"", EscapeMarkup(pair.second),
                    "\"><data key=\"weight\">", weight, "</data></edge>\n");
  }
  absl::StrAppend(&out, "  </graph>\n</graphml>\n");
  return out;
}

std::string CoActivityGexf(const std::vector<Campaign>& campaigns,
                           const std::vector<CampaignAlert>& alerts) {
  const CoActivity net = BuildCoActivity(campaigns, alerts);
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<gexf xmlns=\"http://gexf.net/1.3\" version=\"1.3\">\n"
      "  <meta><creator>vigia</creator><description>account co-activity "
      "across alerts (vigia campaigns)</description></meta>\n"
      "  <graph mode=\"static\" defaultedgetype=\"undirected\">\n"
      "    <attributes class=\"node\">\n"
      "      <attribute id=\"campaign\" title=\"campaign\" "
      "type=\"string\"/>\n"
      "      <attribute id=\"alerts\" title=\"alerts\" type=\"integer\"/>\n"
      "    </attributes>\n"
      "    <nodes>\n";
  for (const auto& [account, info] : net.nodes) {
    const std::string id = EscapeMarkup(account);
    absl::StrAppend(&out, "      <node id=\"", id, "\" label=\"", id,
                    "\"><attvalues><attvalue for=\"campaign\" value=\"",
                    info.first, "\"/><attvalue for=\"alerts\" value=\"",
                    info.second, "\"/></attvalues></node>\n");
  }
  absl::StrAppend(&out, "    </nodes>\n    <edges>\n");
  int64_t n = 0;
  for (const auto& [pair, weight] : net.edges) {
    absl::StrAppend(&out, "      <edge id=\"", n++, "\" source=\"",
                    EscapeMarkup(pair.first), "\" target=\"",
                    EscapeMarkup(pair.second), "\" weight=\"", weight,
                    "\"/>\n");
  }
  absl::StrAppend(&out, "    </edges>\n  </graph>\n</gexf>\n");
  return out;
}

namespace {

void Strings(JsonWriter& w, std::string_view key,
             const std::vector<std::string>& values) {
  w.Key(key);
  w.BeginArray();
  for (const std::string& v : values) w.String(v);
  w.EndArray();
}

void Tallies(JsonWriter& w, std::string_view key,
             const std::vector<std::pair<std::string, int>>& values,
             size_t max) {
  w.Key(key);
  w.BeginArray();
  for (size_t i = 0; i < values.size() && i < max; ++i) {
    w.BeginObject();
    w.Field("value", values[i].first);
    w.Field("alerts", values[i].second);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

std::string CampaignToJson(const Campaign& c) {
  JsonWriter w;
  w.BeginObject();
  w.Field("campaign", c.id);
  w.Field("first_seen", FormatRfc3339(c.first_seen));
  w.Field("last_seen", FormatRfc3339(c.last_seen));
  Strings(w, "targets", c.targets);
  Strings(w, "origins", c.origins);
  Strings(w, "detectors", c.detectors);
  Strings(w, "alerts", c.alerts);
  w.Field("accounts", static_cast<int64_t>(c.accounts.size()));
  Tallies(w, "top_accounts", c.accounts, 20);
  Tallies(w, "urls", c.urls, 20);
  Tallies(w, "payers", c.payers, 20);
  const CampaignReach& r = c.reach;
  w.Key("reach");
  w.BeginObject();
  w.Field("alerts", r.alerts);
  w.Key("followers");
  w.BeginObject();
  w.Field("at_least", r.followers_at_least);
  w.Field("at_most", r.followers_at_most);
  w.Field("estimated", r.estimated);
  w.EndObject();
  w.Key("reposts");
  w.BeginObject();
  w.Field("at_least", r.reposts_at_least);
  w.Field("at_most", r.reposts_at_most);
  w.EndObject();
  w.Key("impressions");
  w.BeginObject();
  w.Field("at_least", r.impressions_at_least);
  w.Field("at_most", r.impressions_at_most);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(w.view());
}

}  // namespace vigia
