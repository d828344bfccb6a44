// End to end: a drill through the real pager path. `vigia replay
// --alertmanager URL --drill` against a real Alertmanager must end as the
// real thing does: every episode the archive resolves is resolved in
// Alertmanager by the time the command exits, and only the episodes still
// open at the archive's end stay active.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/e2e_util.h"
#include "tests/server_fixture.h"

namespace vigia::e2e {
namespace {

const std::string kVigia = VIGIA_BINARY;

// The alert_id labels of the alerts Alertmanager lists (it never lists
// resolved ones), each with its drill label.
std::set<std::string> ListedIds(const std::string& url, bool* all_drill) {
  std::set<std::string> ids;
  absl::StatusOr<test_servers::HttpResponse> response =
      test_servers::HttpGet(url + "/api/v2/alerts");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return ids;
  simdjson::dom::parser parser;
  simdjson::dom::array alerts;
  EXPECT_EQ(parser.parse(response->body).get(alerts), simdjson::SUCCESS)
      << response->body;
  *all_drill = true;
  for (simdjson::dom::element alert : alerts) {
    std::string_view id, drill;
    if (alert["labels"]["alert_id"].get_string().get(id) == simdjson::SUCCESS) {
      ids.emplace(id);
    }
    if (alert["labels"]["drill"].get_string().get(drill) != simdjson::SUCCESS ||
        drill != "true") {
      *all_drill = false;
    }
  }
  return ids;
}

TEST(DrillEndToEnd, EveryResolveReachesAlertmanagerBeforeTheCommandEnds) {
  absl::StatusOr<std::unique_ptr<test_servers::AlertmanagerServer>> am =
      test_servers::AlertmanagerServer::Start();
  ASSERT_TRUE(am.ok()) << am.status();
  const std::string dir = MakeTempDir("drill_e2e");
  const std::string feed = dir + "/diaspora.ndjson";
  const std::string alerts = dir + "/alerts.ndjson";
  const std::string config = dir + "/drill.yaml";
  const std::string err = dir + "/err.txt";
  ASSERT_EQ(
      RunCommand(absl::StrCat(kVigia, " gen --scenario diaspora --out ", feed)),
      0);
  // A short hold keeps the test short; the default (2 min) works the same.
  ASSERT_EQ(RunCommand(absl::StrCat("printf 'alertmanager:\\n  min_hold: 3s\\n'"
                                    " > ",
                                    config)),
            0);
  ASSERT_EQ(RunCommand(absl::StrCat(
                kVigia, " replay --quiet --input ", feed, " --config ", config,
                " --alerts ", alerts, " --dead-letters /dev/null",
                " --alertmanager ", (*am)->url(), " --drill 2> ", err)),
            0);
  // The replay had resolves to hold (episodes far shorter in wall time
  // than min_hold), so the case under test did happen.
  EXPECT_NE(ReadFile(err).find("waiting for"), std::string::npos)
      << ReadFile(err);

  std::set<std::string> fired, resolved;
  for (const AlertLine& a : ReadAlerts(alerts)) {
    (a.state == "firing" ? fired : resolved).insert(a.id);
  }
  ASSERT_FALSE(resolved.empty());
  std::set<std::string> still_open;
  for (const std::string& id : fired) {
    if (resolved.count(id) == 0) still_open.insert(id);
  }
  bool all_drill = false;
  const std::set<std::string> listed = ListedIds((*am)->url(), &all_drill);
  EXPECT_EQ(listed, still_open)
      << listed.size() << " listed, " << still_open.size() << " open of "
      << fired.size() << " fired";
  EXPECT_TRUE(all_drill);
}

}  // namespace
}  // namespace vigia::e2e
