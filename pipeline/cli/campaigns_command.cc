// `vigia campaigns`: links the alerts of a run into campaigns (alerts whose
// evidence shares accounts, URLs, payers or a text cluster), prints one
// summary per campaign with a stable id, and exports the account
// co-activity network as GraphML (docs/campaigns.md).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "operators/url_normalize.h"
#include "pipeline/campaigns.h"
#include "pipeline/cli/commands.h"
#include "pipeline/core/files.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/time.h"
#include "simdjson.h"

namespace vigia::cli {
namespace {

// An alerts file of a long run is megabytes; far more is not an alerts file.
constexpr size_t kMaxAlertsBytes = size_t{1} << 30;

int SeverityRank(std::string_view s) {
  if (s == "critical") return 2;
  if (s == "warning") return 1;
  if (s == "info") return 0;
  return -1;
}

std::string Str(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return std::string();
}

// The values of a top list ({value, count}), cut at " (" where a detector
// decorates an account ("acct_17 (created 2026-05-01)").
std::vector<std::string> Values(
    simdjson::simdjson_result<simdjson::dom::element> list) {
  std::vector<std::string> out;
  simdjson::dom::array items;
  if (list.get_array().get(items) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element item : items) {
    std::string v = Str(item["value"]);
    if (const size_t cut = v.find(" ("); cut != std::string::npos) {
      v.resize(cut);
    }
    if (!v.empty()) out.push_back(std::move(v));
  }
  return out;
}

int64_t Int(simdjson::dom::element e, std::string_view key) {
  int64_t v = 0;
  if (e[key].get_int64().get(v) != simdjson::SUCCESS) return 0;
  return v;
}

double Number(simdjson::simdjson_result<simdjson::dom::element> e) {
  double v = 0;
  if (e.get_double().get(v) != simdjson::SUCCESS) return 0;
  return v;
}

Reach ReadReach(simdjson::dom::element r) {
  Reach out;
  out.accounts = Int(r, "accounts");
  out.followers = Int(r, "followers");
  bool estimated = false;
  if (r["estimated"].get_bool().get(estimated) == simdjson::SUCCESS) {
    out.estimated = estimated;
  }
  out.posts_without_followers = Int(r, "posts_without_followers");
  out.reposts = Int(r, "reposts");
  out.reported_reposts = Int(r, "reported_reposts");
  out.ads_with_impressions = Int(r, "ads_with_impressions");
  out.impressions_lower = Number(r.at_pointer("/impressions/lower"));
  out.impressions_upper = Number(r.at_pointer("/impressions/upper"));
  out.ads_without_impressions = Int(r, "ads_without_impressions");
  return out;
}

absl::StatusOr<std::vector<CampaignAlert>> ReadAlerts(const std::string& path,
                                                      int min_rank) {
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxAlertsBytes, "alerts file");
  if (!text.ok()) return text.status();
  std::vector<CampaignAlert> out;
  simdjson::dom::parser parser;
  size_t start = 0;
  int64_t number = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    const std::string_view line(text->data() + start, end - start);
    start = end + 1;
    ++number;
    if (line.empty()) continue;
    simdjson::dom::element a;
    if (parser.parse(line.data(), line.size()).get(a) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": not an alert record (JSON)"));
    }
    if (Str(a["state"]) != "firing" ||
        SeverityRank(Str(a["severity"])) < min_rank) {
      continue;
    }
    CampaignAlert c;
    c.id = Str(a["id"]);
    c.detector = Str(a["detector"]);
    c.severity = Str(a["severity"]);
    c.target = Str(a["target"]);
    c.origin = Str(a["origin"]);
    absl::StatusOr<absl::Time> ws = ParseRfc3339(Str(a["window_start"]));
    absl::StatusOr<absl::Time> we = ParseRfc3339(Str(a["window_end"]));
    if (c.id.empty() || !ws.ok() || !we.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": not an alert record (id or window missing)"));
    }
    c.window_start = *ws;
    c.window_end = *we;
    const auto evidence = a["evidence"];
    c.accounts = Values(evidence["top_accounts"]);
    for (std::string& u : Values(evidence["top_urls"])) {
      std::string n = NormalizeUrl(u);
      if (!n.empty()) c.urls.push_back(std::move(n));
    }
    c.payers = Values(evidence["top_payers"]);
    simdjson::dom::array samples;
    if (evidence["samples"].get_array().get(samples) == simdjson::SUCCESS) {
      for (simdjson::dom::element s : samples) {
        std::string acc = Str(s["account"]);
        if (!acc.empty()) c.accounts.push_back(std::move(acc));
      }
    }
    simdjson::dom::element reach;
    if (evidence["reach"].get(reach) == simdjson::SUCCESS &&
        reach.is_object()) {
      c.reach = ReadReach(reach);
    }
    const std::string kind = Str(a["subject_kind"]);
    if (kind == "text") c.text_cluster = Str(a["subject"]);
    if (kind == "url") {
      std::string n = NormalizeUrl(Str(a["subject"]));
      if (!n.empty()) c.urls.push_back(std::move(n));
    }
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  }
  const size_t n = std::fwrite(text.data(), 1, text.size(), f);
  if (std::fclose(f) != 0 || n != text.size()) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status RunCampaigns(const ParsedFlags& flags) {
  const std::string min = flags.get("min-severity", "warning");
  const int rank = SeverityRank(min);
  if (rank < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--min-severity: \"", min, "\" is not info, warning or critical"));
  }
  absl::StatusOr<int64_t> shared = flags.GetInt("min-shared-accounts", 2);
  if (!shared.ok()) return shared.status();
  if (*shared < 1 || *shared > 1000) {
    return absl::InvalidArgumentError(
        "--min-shared-accounts: must be in [1, 1000]");
  }
  absl::StatusOr<std::vector<CampaignAlert>> alerts =
      ReadAlerts(flags.get("alerts"), rank);
  if (!alerts.ok()) return alerts.status();
  CampaignOptions options;
  options.min_shared_accounts = static_cast<int>(*shared);
  const std::vector<Campaign> campaigns = LinkCampaigns(*alerts, options);
  std::string out;
  for (const Campaign& c : campaigns)
    absl::StrAppend(&out, CampaignToJson(c), "\n");
  if (flags.has("out")) {
    VIGIA_RETURN_IF_ERROR(WriteText(flags.get("out"), out));
  } else {
    std::fputs(out.c_str(), stdout);
  }
  if (flags.has("graphml")) {
    VIGIA_RETURN_IF_ERROR(
        WriteText(flags.get("graphml"), CoActivityGraphMl(campaigns, *alerts)));
  }
  if (flags.has("gexf")) {
    VIGIA_RETURN_IF_ERROR(
        WriteText(flags.get("gexf"), CoActivityGexf(campaigns, *alerts)));
  }
  std::fprintf(stderr,
               "vigia campaigns: %zu alerts at %s or above, in %zu "
               "campaign%s\n",
               alerts->size(), min.c_str(), campaigns.size(),
               campaigns.size() == 1 ? "" : "s");
  return absl::OkStatus();
}

}  // namespace

Command CampaignsCommand() {
  Command c;
  c.spec = {
      "campaigns",
      "link alerts that share accounts, URLs, payers or texts into campaigns",
      "Reads an alerts file (vigia replay --alerts, or a dump of the alerts "
      "topic), links\n"
      "firing alerts whose evidence shares accounts (at least "
      "--min-shared-accounts), a URL,\n"
      "a payer or a text cluster, whatever detector raised them, and prints "
      "one JSON line per\n"
      "campaign: a stable id, first and last seen, targets, origins, "
      "detectors, alerts and\n"
      "accounts, reach. --graphml and --gexf write the account co-activity "
      "network for\n"
      "Gephi and friends.",
      {{"alerts", "FILE", "alert records, one JSON object per line", true},
       {"min-severity", "LEVEL",
        "alerts below this are left out: info, warning (default), critical"},
       {"min-shared-accounts", "N",
        "accounts two alerts must share to be linked (default 2)"},
       {"out", "FILE", "write the campaigns here instead of stdout"},
       {"graphml", "FILE", "write the account co-activity network (GraphML)"},
       {"gexf", "FILE",
        "write the account co-activity network (GEXF 1.3, Gephi)"}}};
  c.run = RunCampaigns;
  return c;
}

}  // namespace vigia::cli
