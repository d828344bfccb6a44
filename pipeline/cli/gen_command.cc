// `vigia gen`: writes a synthetic feed from a scenario.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/cli/commands.h"
#include "pipeline/core/files.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/generator.h"
#include "pipeline/gen/scenario.h"

namespace vigia::cli {
namespace {

absl::Status RunGen(const ParsedFlags& flags) {
  if (flags.has("list")) {
    const std::vector<std::string> names = gen::BundledScenarioNames();
    int width = 0;
    for (const std::string& name : names) {
      width = std::max(width, static_cast<int>(name.size()));
    }
    for (const std::string& name : names) {
      absl::StatusOr<gen::Scenario> s = gen::LoadScenario(name);
      std::printf("%-*s %s\n", width, name.c_str(),
                  s.ok() ? s->description.c_str() : "");
    }
    return absl::OkStatus();
  }
  if (!flags.has("scenario") || !flags.has("out")) {
    return absl::InvalidArgumentError(
        "--scenario NAME|FILE and --out FILE are required (see vigia gen "
        "--help)");
  }
  if (absl::Status s = CheckOutputsAreNotInputs(
          {{"--scenario", flags.get("scenario")}},
          {{"--out", flags.get("out")}, {"--truth", flags.get("truth")}});
      !s.ok()) {
    return s;
  }
  absl::StatusOr<gen::Scenario> scenario =
      gen::LoadScenario(flags.get("scenario"));
  if (!scenario.ok()) return scenario.status();
  if (flags.has("seed")) {
    absl::StatusOr<int64_t> seed = flags.GetInt("seed", 0);
    if (!seed.ok()) return seed.status();
    if (*seed < 0) return absl::InvalidArgumentError("--seed: must be >= 0");
    scenario->seed = static_cast<uint64_t>(*seed);
  }
  if (flags.has("duration")) {
    absl::StatusOr<absl::Duration> d =
        gen::ParseScenarioDuration(flags.get("duration"));
    if (!d.ok()) return d.status();
    scenario->duration = *d;
  }
  if (flags.has("start")) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(flags.get("start"));
    if (!t.ok()) return t.status();
    scenario->start = *t;
  }

  const std::string out = flags.get("out");
  absl::StatusOr<gen::GenerateResult> result;
  if (out == "-") {
    result = gen::Generate(*scenario, std::cout);
    std::cout.flush();
    if (result.ok() && flags.has("truth")) {
      std::ofstream truth(flags.get("truth"), std::ios::trunc);
      truth << result->truth_json << "\n";
      if (!truth) {
        return absl::UnavailableError(
            absl::StrCat("cannot write ", flags.get("truth")));
      }
    }
  } else {
    // Written under partial names and renamed once complete.
    const StagedOutput feed = StageOutput(out);
    const StagedOutput truth = StageOutput(flags.get("truth", "/dev/null"));
    result = gen::GenerateToFiles(*scenario, feed.write_path, truth.write_path);
    if (result.ok()) {
      for (const StagedOutput* staged : {&feed, &truth}) {
        if (absl::Status s = Commit(*staged); !s.ok()) return s;
      }
    }
  }
  if (!result.ok()) return result.status();
  std::fprintf(stderr,
               "vigia gen: scenario %s: %lld events (%lld posts, %lld ads), "
               "%lld bad lines, %lld late, %zu campaigns -> %s\n",
               scenario->name.c_str(), static_cast<long long>(result->events),
               static_cast<long long>(result->posts),
               static_cast<long long>(result->ads),
               static_cast<long long>(result->bad_lines),
               static_cast<long long>(result->late_events),
               scenario->campaigns.size(), out.c_str());
  return absl::OkStatus();
}

}  // namespace

Command GenCommand() {
  Command c;
  c.spec = {
      "gen",
      "write a synthetic feed (posts and ads) from a scenario",
      absl::StrCat(
          "Writes a realistic background (daily cycle, heavy-tailed accounts, "
          "several origins\nand targets, some bad lines and late events) plus "
          "the campaigns the scenario\ndescribes, and a ground-truth JSON of "
          "what was injected. Deterministic for a given\nscenario and seed. "
          "Bundled scenarios: ",
          absl::StrJoin(gen::BundledScenarioNames(), ", "),
          ".\nThe scenario format is docs/scenarios.md."),
      {{"scenario", "NAME|FILE", "a bundled scenario name or a YAML file"},
       {"out", "FILE", "where to write the NDJSON feed ('-' for stdout)"},
       {"truth", "FILE", "where to write the ground truth JSON"},
       {"seed", "N", "override the scenario's random seed"},
       {"duration", "DUR", "override the scenario's length (e.g. 36h)"},
       {"start", "TIME", "override the scenario's start (RFC 3339)"},
       {"list", "", "list the bundled scenarios and exit"}}};
  c.run = RunGen;
  return c;
}

}  // namespace vigia::cli
