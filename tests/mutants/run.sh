#!/usr/bin/env bash
# Mutation check: each patch here plants one defect that a green suite must
# not let through; this script applies it, rebuilds the one test binary that
# pins the behaviour, runs it, and expects it to FAIL. It then reverts the
# patch. Not part of ctest (each mutant costs a rebuild); run it after
# changing a pinned behaviour or the test that pins it.
#
# usage: tests/mutants/run.sh [BUILD_PRESET [PATCH...]]
#   (default: release, every mutant; name patches to run only those)
# Needs a clean work tree for the files the patches touch. Some mutants'
# tests run the `vigia` binary, which their target depends on: do not run
# other tests of the same build tree meanwhile.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
preset=${1:-release}
shift || true
only=("$@")
cd "$root"

# patch | ctest-free binary under build/PRESET | gtest filter | what it plants
mutants=(
  "evict_firing_keys_first.patch|operators/coordinated_sharing_test|CoordinatedSharing.EvictsLeastRecentlyUsed*|coordinated_sharing evicts a firing key before idle ones"
  "alert_id_other_digits.patch|pipeline/core/core_test|MakeAlertId.*|alert ids take digits 2-21 of the SHA-256, not 1-20"
  "scorer_ignores_calibration.patch|operators/scorer_test|Scorer.Severities*|the scorer judges windows without the key's calibrated tail or hold"
  "resolved_overtakes_firing.patch|tests/kafka/kafka_clients_test|Producer.AFailedFiringIsNeverOvertaken*|a message waiting out its retry backoff lets later ones (a resolved record) go first"
  "alertmanager_holds_back_commits.patch|tests/kafka/kafka_contract_test|KafkaFailures.AnAlertmanagerOutage*|the daemon's checkpoint waits for Alertmanager before it commits"
  "resume_before_half.patch|tests/kafka/kafka_contract_test|KafkaBackpressure.*|consumption resumes below 50,000 unacknowledged outputs instead of half of it"
  "commit_on_fatal_error.patch|tests/kafka/kafka_contract_test|KafkaFailures.AFatal*:KafkaFailures.AFailingAlertSink*|the daemon commits what it handled when a fatal error stops it"
  "second_signal_ignored.patch|tests/kafka/kafka_contract_test|UndeliverableOutputs.ASecondSignal*|a second SIGTERM does not end vigia run at once"
  "failed_flush_exits_zero.patch|tests/kafka/kafka_contract_test|UndeliverableOutputs.AFailedFinalFlush*|vigia run exits 0 when its final flush failed"
  "token_not_redacted.patch|pipeline/kafka/kafka_unit_test|KafkaSettings.*|settings named *token*, *sasl.jaas* or *credential* are logged in clear"
  "daemon_ignores_ads_topic.patch|tests/kafka/kafka_contract_test|AllDetectors.PostsAndAds*|the daemon consumes the posts topic only"
)

failures=0
built=()
for m in "${mutants[@]}"; do
  IFS='|' read -r patch binary filter what <<<"$m"
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $patch " ]]; then
    continue
  fi
  echo "== $patch: $what"
  if ! git apply "tests/mutants/$patch"; then
    echo "   cannot apply (the code moved?): update the patch"; failures=$((failures + 1)); continue
  fi
  target=$(basename "$binary")
  built+=("$target")
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
# Rebuild what was built with a mutant, from the restored sources (anything
# else that links the mutated files is rebuilt by the next build anyway).
if [ ${#built[@]} -gt 0 ]; then
  cmake --build --preset "$preset" --target "${built[@]}" >/dev/null 2>&1 || true
fi
echo "$failures mutant(s) survived or could not run"
exit $((failures > 0))
