#!/usr/bin/env bash
# Mutation check: each patch here plants one defect that a green suite must
# not let through; this script applies it, rebuilds the one test binary that
# pins the behaviour, runs it, and expects it to FAIL. It then reverts the
# patch. Not part of ctest (each mutant costs a rebuild); run it after
# changing a pinned behaviour or the test that pins it.
#
# usage: tests/mutants/run.sh [BUILD_PRESET]   (default: release)
# Needs a clean work tree for the files the patches touch.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
preset=${1:-release}
cd "$root"

# patch | ctest-free binary under build/PRESET | gtest filter | what it plants
mutants=(
  "evict_firing_keys_first.patch|operators/coordinated_sharing_test|CoordinatedSharing.EvictsLeastRecentlyUsed*|coordinated_sharing evicts a firing key before idle ones"
  "alert_id_other_digits.patch|pipeline/core/core_test|MakeAlertId.*|alert ids take digits 2-21 of the SHA-256, not 1-20"
  "scorer_ignores_calibration.patch|operators/scorer_test|Scorer.Severities*|the scorer judges windows without the key's calibrated tail or hold"
)

failures=0
for m in "${mutants[@]}"; do
  IFS='|' read -r patch binary filter what <<<"$m"
  echo "== $patch: $what"
  if ! git apply "tests/mutants/$patch"; then
    echo "   cannot apply (the code moved?): update the patch"; failures=$((failures + 1)); continue
  fi
  target=$(basename "$binary")
  if cmake --build --preset "$preset" --target "$target" >/dev/null 2>&1; then
    if "build/$preset/$binary" --gtest_filter="$filter" >/dev/null 2>&1; then
      echo "   SURVIVED: the tests passed with the defect"; failures=$((failures + 1))
    else
      echo "   killed"
    fi
  else
    echo "   did not build"; failures=$((failures + 1))
  fi
  git apply -R "tests/mutants/$patch"
done
cmake --build --preset "$preset" >/dev/null 2>&1 || true
echo "$failures mutant(s) survived or could not run"
exit $((failures > 0))
