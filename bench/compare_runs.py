#!/usr/bin/env python3
"""Compares vigia-bench runs written with --json, side by side.

    bench/compare_runs.py BASE.json OTHER.json [MORE.json ...]

Prints one line per figure (section and metric) with each run's value and,
for every run after the first, its change from the first in percent. A
figure one run lacks shows as "-". Targets are shown with each run's
verdict, and a verdict that differs from the first run's is marked "<-".

Runs on a shared machine move by 20-40% on their own (docs/performance.md):
compare runs made side by side, and several of each, before reading a
change into the code. This script only lines the figures up.
"""

import json
import math
import sys


def load(path):
    """The run's facts and its rows keyed by (section, metric), in order."""
    with open(path, encoding="utf-8") as f:
        run = json.load(f)
    if not isinstance(run, dict) or not isinstance(run.get("rows"), list):
        raise ValueError(f"{path}: not a vigia-bench --json file (no rows)")
    rows = {}
    for r in run["rows"]:
        key = (r.get("section", ""), r.get("metric", ""))
        rows[key] = r
    return run.get("facts", {}), rows


def fmt_value(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def fmt_change(base, v):
    if base is None or v is None or base == 0:
        return "-"
    return f"{(v - base) / abs(base) * 100:+.1f}%"


def verdict(row):
    if row is None or "pass" not in row:
        return ""
    return "PASS" if row["pass"] else "MISS"


def compare(runs):
    """The comparison table for runs [(name, facts, rows)], as text."""
    keys = []
    seen = set()
    for _, _, rows in runs:
        for key in rows:
            if key not in seen:
                seen.add(key)
                keys.append(key)
    out = []
    for i, (name, facts, _) in enumerate(runs):
        started = facts.get("started", "?")
        feed = facts.get("feed", "?")
        out.append(f"run {i}: {name} (started {started}; feed {feed})")
    out.append("")
    header = ["section", "metric", "unit"]
    for i in range(len(runs)):
        header.append(f"run {i}")
        if i > 0:
            header.append("vs 0")
    header += ["target", "verdicts"]
    table = [header]
    for key in keys:
        cells = [key[0], key[1]]
        unit = ""
        target = ""
        values = []
        verdicts = []
        for _, _, rows in runs:
            r = rows.get(key)
            if r is not None:
                unit = unit or r.get("unit", "")
                target = target or r.get("target", "")
            values.append(None if r is None else r.get("value"))
            verdicts.append(verdict(r))
        cells.append(unit)
        for i, v in enumerate(values):
            cells.append(fmt_value(v))
            if i > 0:
                cells.append(fmt_change(values[0], v))
        cells.append(target)
        flips = [v for v in verdicts[1:] if v and verdicts[0] and v != verdicts[0]]
        shown = "/".join(v or "-" for v in verdicts) if target else ""
        cells.append(shown + (" <-" if flips else ""))
        table.append(cells)
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    for row in table:
        line = []
        for c, cell in enumerate(row):
            # Names and words left, numbers right.
            right = c >= 3 and c < len(header) - 2
            line.append(cell.rjust(widths[c]) if right else cell.ljust(widths[c]))
        out.append("  ".join(line).rstrip())
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    runs = []
    for path in argv[1:]:
        try:
            facts, rows = load(path)
        except (OSError, ValueError) as e:
            sys.stderr.write(f"compare_runs: {e}\n")
            return 1
        runs.append((path, facts, rows))
    sys.stdout.write(compare(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
