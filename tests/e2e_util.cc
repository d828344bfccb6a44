#include "tests/e2e_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "pipeline/core/time.h"
#include "simdjson.h"

namespace vigia::e2e {

int RunCommand(const std::string& command) {
  std::fprintf(stderr, "+ %s\n", command.c_str());
  const int rc = std::system(command.c_str());
  if (rc == -1 || !WIFEXITED(rc)) return -1;
  return WEXITSTATUS(rc);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string MakeTempDir(const std::string& name) {
  const std::string dir = testing::TempDir() + "/vigia_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

namespace {

absl::Time ParseTime(std::string_view s) {
  absl::StatusOr<absl::Time> t = ParseRfc3339(s);
  EXPECT_TRUE(t.ok()) << s;
  return t.ok() ? *t : absl::InfinitePast();
}

// Missing fields and nulls read as "".
std::string StringOrEmpty(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return std::string();
}

}  // namespace

std::vector<AlertLine> ReadAlerts(const std::string& path) {
  std::vector<AlertLine> out;
  std::ifstream in(path);
  std::string line;
  simdjson::dom::parser parser;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    simdjson::dom::element doc;
    if (parser.parse(line).get(doc) != simdjson::SUCCESS) {
      ADD_FAILURE() << path << ":" << n << ": not JSON: " << line;
      continue;
    }
    AlertLine a;
    a.id = StringOrEmpty(doc["id"]);
    a.detector = StringOrEmpty(doc["detector"]);
    a.state = StringOrEmpty(doc["state"]);
    a.severity = StringOrEmpty(doc["severity"]);
    a.target = StringOrEmpty(doc["target"]);
    a.origin = StringOrEmpty(doc["origin"]);
    a.subject_kind = StringOrEmpty(doc["subject_kind"]);
    a.campaign = StringOrEmpty(doc["campaign"]);
    a.subject = StringOrEmpty(doc["subject"]);
    a.window_start = ParseTime(StringOrEmpty(doc["window_start"]));
    a.window_end = ParseTime(StringOrEmpty(doc["window_end"]));
    double d;
    if (doc["observed"].get_double().get(d) == simdjson::SUCCESS)
      a.observed = d;
    if (doc["expected"].get_double().get(d) == simdjson::SUCCESS)
      a.expected = d;
    simdjson::dom::array samples;
    if (doc["evidence"]["samples"].get_array().get(samples) ==
        simdjson::SUCCESS) {
      a.samples = static_cast<int>(samples.size());
    }
    out.push_back(a);
  }
  return out;
}

std::vector<std::string> AlsoTrips(const std::string& kind) {
  if (kind == "foreign_origin_surge") {
    return {"new_account_burst", "coordinated_sharing", "foreign_share"};
  }
  return {};
}

Truth ReadTruth(const std::string& path) {
  Truth t;
  simdjson::dom::parser parser;
  simdjson::padded_string json = simdjson::padded_string(ReadFile(path));
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << path << ": not JSON";
    return t;
  }
  int64_t v;
  if (doc["events"].get_int64().get(v) == simdjson::SUCCESS) t.events = v;
  if (doc["late_events"].get_int64().get(v) == simdjson::SUCCESS) {
    t.late_events = v;
  }
  simdjson::dom::element bad;
  if (doc["bad_lines"].get(bad) == simdjson::SUCCESS) {
    if (bad.is_int64()) {
      t.bad_lines = bad.get_int64().value();
    } else if (bad.is_object()) {
      simdjson::dom::object by_kind = bad.get_object().value();
      for (auto field : by_kind) {
        int64_t n;
        if (field.value.get_int64().get(n) != simdjson::SUCCESS) continue;
        if (field.key == "total") {
          t.bad_lines = n;
        } else {
          t.bad_lines_by_kind[std::string(field.key)] = n;
        }
      }
    }
  }
  simdjson::dom::array campaigns;
  if (doc["campaigns"].get_array().get(campaigns) == simdjson::SUCCESS) {
    for (simdjson::dom::element c : campaigns) {
      Campaign k;
      k.name = StringOrEmpty(c["name"]);
      k.kind = StringOrEmpty(c["kind"]);
      k.detector = StringOrEmpty(c["detector"]);
      bool b;
      if (c["interference"].get_bool().get(b) == simdjson::SUCCESS) {
        k.interference = b;
      }
      k.target = StringOrEmpty(c["target"]);
      k.origin = StringOrEmpty(c["origin"]);
      k.start = ParseTime(StringOrEmpty(c["start"]));
      k.end = ParseTime(StringOrEmpty(c["end"]));
      t.campaigns.push_back(k);
    }
  }
  return t;
}

bool AtLeastWarning(const std::string& severity) {
  return severity == "warning" || severity == "critical";
}

}  // namespace vigia::e2e
