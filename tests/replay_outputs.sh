#!/bin/bash
# Writes every bundled scenario's generated feed and what `vigia replay`
# makes of it (alerts, dead letters, summary; saved state) under OUT, with
# the default config and deploy/vigia.example.yaml. Run it with the binary
# before and after a refactor that must change no behaviour, then compare
# the two directories: `diff -r BEFORE AFTER` (or `cmp` per file).
#
#   tests/replay_outputs.sh VIGIA_BINARY OUT_DIR
set -euo pipefail
vigia=$(realpath "$1")
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$2"
# Alerts and dead letters name the input file: run in OUT with relative
# names, so that two directories' outputs compare byte for byte.
cd "$2"
out=.
for s in $("$vigia" gen --list | awk '{print $1}'); do
  "$vigia" gen --scenario "$s" --out "$out/$s.feed.ndjson" \
    --truth "$out/$s.truth.json" >/dev/null 2>&1
  for c in default example; do
    args=()
    [[ $c == example ]] && args=(--config "$here/deploy/vigia.example.yaml")
    "$vigia" replay --input "$s.feed.ndjson" "${args[@]}" --quiet \
      --alerts "$out/$s.$c.alerts.ndjson" \
      --dead-letters "$out/$s.$c.dead.ndjson" \
      --summary "$out/$s.$c.summary.json" 2>/dev/null
    # Again, ending with the state saved (windows left open).
    "$vigia" replay --input "$s.feed.ndjson" "${args[@]}" --quiet \
      --alerts "$out/$s.$c.state-run.alerts.ndjson" \
      --state-out "$out/$s.$c.state" 2>/dev/null
    # The run's speed is the one field that may differ.
    sed -i -E 's/"(elapsed_seconds|events_per_second)":[0-9.e+-]+/"\1":0/g' \
      "$out/$s.$c.summary.json"
  done
done
