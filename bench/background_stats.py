#!/usr/bin/env python3
"""Burstiness figures of count series: the yardstick of `vigia gen`'s background.

    bench/background_stats.py --csv A.csv [B.csv ...] [--labels LABELS.json]
    bench/background_stats.py --feed FEED.ndjson [--series foreign-pairs|targets]
                              [--min-mean 2]

A CSV series is `timestamp,value` rows (a header, timestamps as
`YYYY-mm-dd HH:MM:SS`, one row per 5 minutes, as NAB's realTweets files).
A feed is a `vigia gen` archive (NDJSON posts and ads; `-` reads standard
input): it is counted into 5-minute series, one per (target, origin) pair
with a foreign origin (`foreign-pairs`, what foreign_origin_surge counts)
or one per target with every post (`targets`). Series whose mean is below
--min-mean posts per 5 minutes are skipped (too thin to say anything).
With --labels (NAB's labels JSON: {"dir/file.csv": [[from, to], ...]}), the
bins inside a CSV series' labelled anomaly windows are left out of every
figure (whole hours for vmr_hour; the trailing median still sees them), so
that the figures describe the series' ordinary traffic.

Per series it prints, and then the median over the series:

  vmr_hour   index of dispersion (sample variance / mean) of the twelve
             5-minute counts of each hour, median over the hours: about
             0.95 for a Poisson count (the median of a chi-square over 11),
             more for an over-dispersed one; the daily cycle hardly moves
             within an hour, so this is dispersion, not seasonality.
  vmr_prof   variance / mean of the residuals from a daily profile scaled
             by each day's level (x - P[slot] * D[day] / G): dispersion
             left after the daily cycle and day-to-day level changes.
  acf1       lag-1 autocorrelation of those residuals: 0 for independent
             bins, more when bursts last longer than one bin.
  gt3, gt5   share of 5-minute bins above 3x and 5x the trailing one-day
             median (floored at 1), after the first day.
  bursts/d   runs of consecutive bins above 3x that median, per day, and
             their median and longest duration in minutes.
  wk/we      mean count on weekdays (Mon-Fri) over the mean on Sat-Sun (UTC
             days); "-" when the series has no weekend or no weekday.
  z2_10m     mean squared variance-stabilised residual of 10-minute counts
             (2 * (sqrt(x + 3/8) - sqrt(m + 3/8)), m a trailing mean with
             a 3-hour half-life floored at 1): the overdispersion a
             count detector learns, 1 for a Poisson count. mean_10m is the
             mean 10-minute count; the scorer's young-key prior is
             1 + 0.5 * sqrt(mean_10m) (operators/scorer.cc).
  gaps       missing 5-minute steps in the timestamps (a CSV), or runs of
             at least 3 bins in a row without a single record in the whole
             feed (a feed; outages).

Standard library only. It prints figures and asserts nothing.
"""

import argparse
import bisect
import collections
import datetime
import json
import math
import re
import statistics
import sys

BIN = 300  # seconds
DAY_BINS = 86400 // BIN


def read_csv(path):
    """(first bin start in epoch seconds, counts per bin, missing steps)."""
    times, values = [], []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            ts, value = line.strip().split(",")[:2]
            t = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S")
            times.append(t.replace(tzinfo=datetime.timezone.utc).timestamp())
            values.append(float(value))
    start = times[0] - times[0] % BIN
    n = int((times[-1] - start) // BIN) + 1
    counts = [0.0] * n
    for t, v in zip(times, values):
        counts[int((t - start) // BIN)] += v
    return start, counts, n - len(times)


TIME_RE = re.compile(r'"created_at":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)')
TARGET_RE = re.compile(r'"target":"([A-Z]{2})"')
BAD_COUNTRIES = {"UK", "EU", "XX", "ZZ", "SU", "YU"}  # vigia gen's bad lines
COUNTRY_RE = re.compile(r'"account":\{[^{}]*?"country":"([A-Z]{2})"')


def read_feed(path, mode):
    """{key: (start, counts)} and the number of empty runs in the whole feed."""
    per_key = collections.defaultdict(collections.Counter)
    every = collections.Counter()
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8",
                                                errors="replace")
    for line in stream:
        if '"account"' not in line:
            continue  # ads, bad lines
        # The post's own created_at comes before its account's; a line
        # without one (a deliberately bad line) is skipped.
        head = line[:line.index('"account"')]
        m_time, m_target = TIME_RE.search(head), TARGET_RE.search(line)
        m_country = COUNTRY_RE.search(line)
        if not (m_time and m_target and m_country):
            continue
        try:
            t = datetime.datetime.strptime(m_time.group(1),
                                           "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            continue  # a deliberately bad line
        b = int(t.replace(tzinfo=datetime.timezone.utc).timestamp()) // BIN
        every[b] += 1
        target, origin = m_target.group(1), m_country.group(1)
        if target in BAD_COUNTRIES or origin in BAD_COUNTRIES:
            continue
        if mode == "targets":
            per_key[target][b] += 1
        elif origin != target:
            per_key[f"{target}|{origin}"][b] += 1
    lo, hi = min(every), max(every)
    gaps, run = 0, 0
    for b in range(lo, hi + 1):
        run = run + 1 if every[b] == 0 else 0
        if run == 3:
            gaps += 1
    series = {}
    for key, c in sorted(per_key.items()):
        series[key] = (lo * BIN, [float(c[b]) for b in range(lo, hi + 1)])
    return series, gaps


def hourly_vmr(x, mask):
    vmrs = []
    for i in range(0, len(x) - 11, 12):
        if any(mask[i:i + 12]):
            continue
        h = x[i:i + 12]
        mean = sum(h) / 12
        if mean > 0:
            vmrs.append(statistics.variance(h) / mean)
    return statistics.median(vmrs) if vmrs else float("nan")


def profile_residuals(start, x):
    first_slot = int(start // BIN) % DAY_BINS
    slot_sum = [0.0] * DAY_BINS
    slot_n = [0] * DAY_BINS
    day_sum = collections.defaultdict(float)
    day_n = collections.Counter()
    for i, v in enumerate(x):
        s = (first_slot + i) % DAY_BINS
        d = (first_slot + i) // DAY_BINS
        slot_sum[s] += v
        slot_n[s] += 1
        day_sum[d] += v
        day_n[d] += 1
    g = sum(x) / len(x)
    res, exp = [], []
    for i, v in enumerate(x):
        s = (first_slot + i) % DAY_BINS
        d = (first_slot + i) // DAY_BINS
        e = (slot_sum[s] / slot_n[s]) * (day_sum[d] / day_n[d]) / g if g else 0
        res.append(v - e)
        exp.append(e)
    return res, exp


def acf1(r, mask):
    kept = [v for v, m in zip(r, mask) if not m]
    mean = sum(kept) / len(kept)
    num = sum((r[i] - mean) * (r[i + 1] - mean) for i in range(len(r) - 1)
              if not mask[i] and not mask[i + 1])
    den = sum((v - mean) ** 2 for v in kept)
    return num / den if den else float("nan")


def trailing_median_exceedances(x, mask):
    """Shares above 3x / 5x and the bursts (runs above 3x) after day one."""
    window = []  # sorted last DAY_BINS values
    above3 = above5 = judged = 0
    runs, run = [], 0
    for i, v in enumerate(x):
        if mask[i] and run:
            runs.append(run)
            run = 0
        if i >= DAY_BINS and not mask[i]:
            med = max(1.0, window[len(window) // 2])
            judged += 1
            above5 += v > 5 * med
            if v > 3 * med:
                above3 += 1
                run += 1
            elif run:
                runs.append(run)
                run = 0
            old = x[i - DAY_BINS]
            del window[bisect.bisect_left(window, old)]
        bisect.insort(window, v)
    if run:
        runs.append(run)
    return above3, above5, judged, runs


def weekly_ratio(start, x, mask):
    wk, we = [], []
    for i, v in enumerate(x):
        if mask[i]:
            continue
        day = datetime.datetime.fromtimestamp(start + i * BIN,
                                              datetime.timezone.utc)
        (we if day.weekday() >= 5 else wk).append(v)
    if not wk or not we or sum(we) == 0:
        return float("nan")
    return (sum(wk) / len(wk)) / (sum(we) / len(we))


def ten_minute_dispersion(x, mask):
    """(mean 10-minute count, mean squared Anscombe residual)."""
    pairs = [(x[i] + x[i + 1], mask[i] or mask[i + 1])
             for i in range(0, len(x) - 1, 2)]
    if len(pairs) < 2:
        return float("nan"), float("nan")
    alpha = 1 - 2 ** (-1 / 18)  # a 3-hour half-life in 10-minute steps
    m = pairs[0][0]
    z2 = []
    for v, masked in pairs[1:]:
        if not masked:
            z = 2 * (math.sqrt(v + 0.375) - math.sqrt(max(m, 1) + 0.375))
            z2.append(z * z)
        m += alpha * (v - m)
    kept = [v for v, masked in pairs if not masked]
    return (sum(kept) / len(kept) if kept else float("nan"),
            sum(z2) / len(z2) if z2 else float("nan"))


def figures(start, x, mask=None):
    mask = mask or [False] * len(x)
    res, exp = profile_residuals(start, x)
    var_ratio = [r * r / e for r, e, m in zip(res, exp, mask) if e > 0 and
                 not m]
    a3, a5, judged, runs = trailing_median_exceedances(x, mask)
    days = judged / DAY_BINS
    kept = [v for v, m in zip(x, mask) if not m]
    mean_10m, z2_10m = ten_minute_dispersion(x, mask)
    return {
        "mean": sum(kept) / len(kept),
        "vmr_hour": hourly_vmr(x, mask),
        "vmr_prof": sum(var_ratio) / len(var_ratio),
        "acf1": acf1(res, mask),
        "gt3": a3 / judged if judged else float("nan"),
        "gt5": a5 / judged if judged else float("nan"),
        "bursts/d": len(runs) / days if days else float("nan"),
        "burst_med_min": statistics.median(runs) * 5 if runs else 0,
        "burst_max_min": max(runs) * 5 if runs else 0,
        "wk/we": weekly_ratio(start, x, mask),
        "mean_10m": mean_10m,
        "z2_10m": z2_10m,
    }


COLUMNS = ["mean", "vmr_hour", "vmr_prof", "acf1", "gt3", "gt5", "bursts/d",
           "burst_med_min", "burst_max_min", "wk/we", "mean_10m", "z2_10m"]


def fmt(v):
    if isinstance(v, float) and math.isnan(v):
        return "-"
    if isinstance(v, float) and 0 < abs(v) < 0.1:
        return f"{v:.4f}"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", nargs="*", default=[])
    ap.add_argument("--feed")
    ap.add_argument("--series", choices=["foreign-pairs", "targets"],
                    default="foreign-pairs")
    ap.add_argument("--min-mean", type=float, default=2.0)
    ap.add_argument("--labels")
    args = ap.parse_args()
    labels = {}
    if args.labels:
        with open(args.labels, encoding="utf-8") as f:
            for name, windows in json.load(f).items():
                labels[name.rsplit("/", 1)[-1]] = [
                    tuple(datetime.datetime.strptime(
                        w[:19], "%Y-%m-%d %H:%M:%S").replace(
                            tzinfo=datetime.timezone.utc).timestamp()
                          for w in window) for window in windows]
    rows = []
    gaps_note = []
    for path in args.csv:
        start, x, missing = read_csv(path)
        name = path.rsplit("/", 1)[-1]
        mask = [any(a <= start + i * BIN <= b for a, b in labels.get(name, []))
                for i in range(len(x))]
        rows.append((name, figures(start, x, mask)))
        gaps_note.append(missing)
    if args.feed:
        series, gaps = read_feed(args.feed, args.series)
        for key, (start, x) in series.items():
            if sum(x) / len(x) >= args.min_mean:
                rows.append((key, figures(start, x)))
        gaps_note.append(gaps)
    print("| series | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for name, f in rows:
        print(f"| {name} | " + " | ".join(fmt(f[c]) for c in COLUMNS) + " |")
    if rows:
        med = {c: statistics.median([f[c] for _, f in rows
                                     if not math.isnan(f[c])] or
                                    [float("nan")]) for c in COLUMNS}
        print("| **median** | " + " | ".join(fmt(med[c]) for c in COLUMNS) +
              " |")
    print(f"gaps: {gaps_note}")


if __name__ == "__main__":
    main()
