// Helpers for end-to-end tests that run the `vigia` binary: running
// commands, reading files, and parsing alert and truth records.
#ifndef VIGIA_TESTS_E2E_UTIL_H_
#define VIGIA_TESTS_E2E_UTIL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace vigia::e2e {

// Runs `command` with /bin/sh and returns its exit status (-1 if it could
// not run). Output goes to the test log.
int RunCommand(const std::string& command);

std::string ReadFile(const std::string& path);

// A fresh directory under the test temp dir.
std::string MakeTempDir(const std::string& name);

struct AlertLine {
  std::string id;
  std::string detector;
  std::string state;
  std::string severity;
  std::string target;
  std::string origin;        // empty when null
  std::string subject_kind;  // empty when null
  std::string subject;       // empty when null
  absl::Time window_start;
  absl::Time window_end;
  double observed = 0;
  double expected = 0;
  int samples = 0;
  std::string campaign;  // as stamped when raised; empty when absent
};
// Parses an NDJSON alert file; fails the calling test on a bad line.
std::vector<AlertLine> ReadAlerts(const std::string& path);

struct Campaign {
  std::string name;
  std::string kind;
  std::string detector;  // empty when null
  bool interference = false;
  std::string target;
  std::string origin;
  absl::Time start;
  absl::Time end;
};
struct Truth {
  int64_t events = 0;
  int64_t bad_lines = 0;
  std::map<std::string, int64_t> bad_lines_by_kind;
  int64_t late_events = 0;
  std::vector<Campaign> campaigns;
};
Truth ReadTruth(const std::string& path);

// Detectors a campaign of `kind` trips besides its own, by construction:
// a surge's network has new accounts (35% in diaspora), posts near-identical
// texts with shared URLs, and raises the target's foreign share.
std::vector<std::string> AlsoTrips(const std::string& kind);

bool AtLeastWarning(const std::string& severity);

}  // namespace vigia::e2e

#endif  // VIGIA_TESTS_E2E_UTIL_H_
