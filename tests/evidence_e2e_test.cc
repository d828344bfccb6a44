// Evidence packages end to end, through the `vigia` binary: a package made
// from a held alert verifies (signature, every hash, the alert re-derived
// by replaying the archive); one byte changed anywhere in it (a cited
// record, the manifest, the alert, the config, the baseline, the
// signature) makes `vigia verify` fail and name that file; so do an
// unlisted file, another archive, and another signer.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e_util.h"

namespace vigia::e2e {
namespace {

namespace fs = std::filesystem;

const std::string kVigia = VIGIA_BINARY;

// Eight hours of one target with an 8x RU->MD push in hour 6: about 4,000
// lines, a warning within minutes of the push.
constexpr char kScenario[] = R"(version: 1
name: evidence-surge
seed: 7
duration: 8h
targets:
  - country: MD
    posts_per_hour: 700
    origins: {MD: 0.54, RU: 0.14, RO: 0.10, IT: 0.08, DE: 0.05, UA: 0.04,
              US: 0.03, FR: 0.02}
campaigns:
  - name: md-ru-push
    kind: foreign_origin_surge
    target: MD
    origin: RU
    start: 5h
    duration: 1h
    rate_multiplier: 8
)";

// A config that differs from the defaults, so that the package carries a
// config file and its hash is not the default one.
constexpr char kConfig[] = "evidence:\n  max_samples: 8\n";

struct Fixture {
  std::string dir, archive, config, key, other_key, package, alert_id;
};

// Runs `command` with its stdout and stderr in a file; returns the exit
// status and the output.
int RunCapturing(const std::string& command, std::string* output) {
  static int n = 0;
  static const std::string* dir =
      new std::string(MakeTempDir("evidence_e2e_output"));
  const std::string out = absl::StrCat(*dir, "/out", ++n, ".txt");
  const int rc = RunCommand(absl::StrCat(command, " >", out, " 2>&1"));
  *output = ReadFile(out);
  return rc;
}

const Fixture& Made() {
  static const Fixture* f = [] {
    auto* f = new Fixture;
    f->dir = MakeTempDir("evidence_e2e");
    const std::string yaml = f->dir + "/scenario.yaml";
    std::ofstream(yaml) << kScenario;
    f->config = f->dir + "/vigia.yaml";
    std::ofstream(f->config) << kConfig;
    f->archive = f->dir + "/feed.ndjson";
    EXPECT_EQ(RunCommand(absl::StrCat(kVigia, " gen --scenario ", yaml,
                                      " --out ", f->archive, " --truth ",
                                      f->dir, "/truth.json")),
              0);
    const std::string alerts = f->dir + "/alerts.ndjson";
    EXPECT_EQ(
        RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", f->archive,
                                " --config ", f->config, " --alerts ", alerts,
                                " --dead-letters /dev/null")),
        0);
    for (const AlertLine& a : ReadAlerts(alerts)) {
      if (a.state == "firing" && AtLeastWarning(a.severity)) {
        f->alert_id = a.id;
        break;
      }
    }
    EXPECT_FALSE(f->alert_id.empty()) << "no warning in the scenario";
    f->key = f->dir + "/signer.pem";
    f->other_key = f->dir + "/other.pem";
    EXPECT_EQ(
        RunCommand(absl::StrCat(kVigia, " evidence keygen --key ", f->key)), 0);
    EXPECT_EQ(RunCommand(absl::StrCat(kVigia, " evidence keygen --key ",
                                      f->other_key)),
              0);
    f->package = f->dir + "/package";
    EXPECT_EQ(
        RunCommand(absl::StrCat(
            kVigia, " evidence --input ", f->archive, " --alert ", f->alert_id,
            " --config ", f->config, " --out ", f->package, " --key ", f->key)),
        0);
    return f;
  }();
  return *f;
}

// A fresh copy of the package to spoil.
std::string CopyOfPackage(const std::string& name) {
  const Fixture& f = Made();
  const std::string copy = absl::StrCat(f.dir, "/", name);
  fs::remove_all(copy);
  fs::copy(f.package, copy, fs::copy_options::recursive);
  return copy;
}

// Flips the lowest bit of the byte in the middle of `path`.
void FlipOneByte(const std::string& path) {
  std::string bytes = ReadFile(path);
  ASSERT_FALSE(bytes.empty()) << path;
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string Verify(const std::string& package, const std::string& extra,
                   int* rc) {
  std::string out;
  *rc = RunCapturing(absl::StrCat(kVigia, " verify ", package, " --public-key ",
                                  Made().key, ".pub", extra),
                     &out);
  return out;
}

TEST(Evidence, APackageOfAHeldAlertHoldsWhatItShouldAndVerifies) {
  const Fixture& f = Made();
  ASSERT_FALSE(f.alert_id.empty());
  for (const char* file :
       {"manifest.json", "manifest.sig", "alert.json", "baseline.json",
        "campaign.json", "config.canonical.txt", "config.yaml", "README.txt"}) {
    EXPECT_TRUE(fs::exists(fs::path(f.package) / file)) << file;
  }
  // The config file is the one given, byte for byte.
  EXPECT_EQ(ReadFile(f.package + "/config.yaml"), kConfig);
  // Every cited record is an archive line, and the alert cites 8 (the
  // config's max_samples).
  int records = 0;
  for (const auto& e : fs::directory_iterator(f.package + "/records")) {
    const std::string bytes = ReadFile(e.path().string());
    EXPECT_TRUE(absl::StrContains(ReadFile(f.archive), bytes + "\n"));
    ++records;
  }
  EXPECT_EQ(records, 8);
  // The campaign as of the alert: the first warning of the scenario's one
  // push, so a campaign of its own, named after it.
  const std::string campaign = ReadFile(f.package + "/campaign.json");
  EXPECT_TRUE(absl::StrContains(
      campaign, absl::StrCat("\"alerts\":[\"", f.alert_id, "\"]")))
      << campaign;
  EXPECT_TRUE(absl::StrContains(campaign, "\"targets\":[\"MD\"]")) << campaign;
  const std::string manifest = ReadFile(f.package + "/manifest.json");
  EXPECT_TRUE(absl::StrContains(manifest, f.alert_id));
  EXPECT_TRUE(absl::StrContains(manifest, "\"campaign\":\"campaign.json\""));
  EXPECT_TRUE(absl::StrContains(manifest, "\"algorithm\":\"Ed25519\""));
  EXPECT_TRUE(absl::StrContains(manifest, "\"commit\":"));
  int rc = -1;
  const std::string out = Verify(f.package, "", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "the package verifies")) << out;
  EXPECT_TRUE(absl::StrContains(out, "re-derived")) << out;
  EXPECT_TRUE(absl::StrContains(out, "all 8 cited records")) << out;
  EXPECT_TRUE(absl::StrContains(out, "is the one the replay links")) << out;
  EXPECT_FALSE(absl::StrContains(out, "FAILED")) << out;
  // Made and verified by the same build: nothing to weigh.
  EXPECT_FALSE(absl::StrContains(out, "  note ")) << out;
}

TEST(Evidence, OneByteChangedAnywhereFailsNamingTheFile) {
  const Fixture& f = Made();
  std::string record;
  for (const auto& e : fs::directory_iterator(f.package + "/records")) {
    record = "records/" + e.path().filename().string();
    break;
  }
  ASSERT_FALSE(record.empty());
  const std::vector<std::string> places = {
      record,          "manifest.json", "alert.json",           "config.yaml",
      "baseline.json", "manifest.sig",  "config.canonical.txt", "README.txt",
      "campaign.json"};
  int n = 0;
  for (const std::string& place : places) {
    const std::string copy = CopyOfPackage(absl::StrCat("tampered", ++n));
    FlipOneByte(copy + "/" + place);
    int rc = -1;
    const std::string out = Verify(copy, "", &rc);
    EXPECT_NE(rc, 0) << place << ":\n" << out;
    EXPECT_TRUE(absl::StrContains(out, "does NOT verify")) << out;
    const size_t verdict = out.find("At fault:");
    ASSERT_NE(verdict, std::string::npos) << out;
    EXPECT_TRUE(absl::StrContains(out.substr(verdict), place))
        << place << " not named:\n"
        << out;
  }
}

TEST(Evidence, AnUnlistedFileAnotherArchiveAndAnotherSignerFail) {
  const Fixture& f = Made();
  {
    const std::string copy = CopyOfPackage("extra");
    std::ofstream(copy + "/records/line-1.json") << "{\"id\":\"planted\"}";
    int rc = -1;
    const std::string out = Verify(copy, "", &rc);
    EXPECT_NE(rc, 0);
    EXPECT_TRUE(absl::StrContains(out, "records/line-1.json")) << out;
  }
  {
    // The archive with one byte changed, given with --input.
    const std::string other = f.dir + "/other.ndjson";
    std::string bytes = ReadFile(f.archive);
    bytes[bytes.size() / 3] ^= 1;
    std::ofstream(other, std::ios::binary) << bytes;
    int rc = -1;
    const std::string out = Verify(f.package, " --input " + other, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_TRUE(absl::StrContains(out, "input archive")) << out;
    EXPECT_TRUE(absl::StrContains(out, "is not the archive")) << out;
  }
  {
    // Intact, but the reviewer expects another signer.
    std::string out;
    const int rc =
        RunCapturing(absl::StrCat(kVigia, " verify ", f.package,
                                  " --public-key ", f.other_key, ".pub"),
                     &out);
    EXPECT_NE(rc, 0);
    EXPECT_TRUE(absl::StrContains(out, "not by the expected key")) << out;
  }
}

TEST(Evidence, APackageWithItsArchiveReDerivesOnItsOwn) {
  const Fixture& f = Made();
  const std::string moved = f.dir + "/moved.ndjson";
  const std::string package = f.dir + "/with-archive";
  fs::remove_all(package);
  fs::copy_file(f.archive, moved, fs::copy_options::overwrite_existing);
  ASSERT_EQ(
      RunCommand(absl::StrCat(kVigia, " evidence --input ", moved, " --alert ",
                              f.alert_id, " --config ", f.config, " --out ",
                              package, " --key ", f.key, " --include-archive")),
      0);
  fs::remove(moved);  // only the package's copy is left
  int rc = -1;
  const std::string out = Verify(package, "", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "re-derived")) << out;
}

}  // namespace
}  // namespace vigia::e2e
