#!/usr/bin/env bash
# The detection benchmark: how well vigia's detectors judge real and
# generated traffic. Prints
#   1. the Numenta Anomaly Benchmark score of `vigia backtest` (the alerts a
#      detector would send on each series) on NAB's development part, for
#      the standard, reward_low_FP_rate and reward_low_FN_rate profiles,
#      scored by NAB's published rules (the scorer that ships with the
#      data, not with vigia);
#   2. the scenario matrix: every detector's recall, delay and false
#      warnings per day over the bundled scenarios.
# A benchmark, not a test: it prints figures and fails only if a part
# cannot run. Method and latest figures: docs/detection.md.
#
# usage: bench/detection.sh [BUILD_DIR] [NAB_DIR]
#   BUILD_DIR  a built tree with pipeline/cli/vigia and
#              tests/scenario_matrix_test (default build/release)
#   NAB_DIR    a folder with run_nab_dev.sh, nab_score.py and nab-dev/
#              (default ../shared/detection-bench); NAB's data are not
#              part of this repository.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
nab=${2:-$root/../shared/detection-bench}
vigia=$build/pipeline/cli/vigia
matrix=$build/tests/scenario_matrix_test
for f in "$vigia" "$matrix"; do
  [[ -x $f ]] || { echo "detection.sh: $f is missing; build the release preset first" >&2; exit 2; }
done

echo "## NAB development part ($nab)"
if [[ -x $nab/run_nab_dev.sh ]]; then
  "$nab/run_nab_dev.sh" "$vigia" | grep -v '^scored files'
else
  echo "(skipped: no run_nab_dev.sh under $nab)"
fi

echo
echo "## Scenario matrix"
"$matrix" --gtest_brief=1 2>&1 | grep -E '^\| |^minimums|^coordinated_sharing bursts|FAILED' || true
