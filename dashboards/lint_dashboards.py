#!/usr/bin/env python3
"""Lints vigia's Grafana dashboards before Grafana or an operator sees them.

For every dashboards/*.json it checks that:
  - the file is valid JSON with a fixed uid (unique across files), a
    schemaVersion, and no numeric id (file provisioning assigns one);
  - panel ids are unique (rows' nested panels included) and every panel has
    a gridPos inside the 24-column grid;
  - every query panel has targets with an expr, and every panel and target
    uses the templated datasource ${datasource};
  - the variables `datasource` (Prometheus), `target` and `detector` exist,
    the last two as label_values queries with includeAll and allValue ".*";
  - $target and $detector are only used as regex matches (label=~"$var"),
    since "All" and multi-selections expand to regexes;
  - every metric name in a panel expr, an annotation or a variable query is
    documented in docs/metrics.md (vigia's public metric set): a dashboard
    built on an internal or imagined metric is rejected;
  - every alert panel (one selecting vigia_alerts_fired*, vigia_alerts_firing*
    or vigia_alerts_resolved*) has data links, and at least one of them
    leads to the alerts' evidence in Alertmanager (${alertmanager_url}, a
    dashboard variable) or Grafana's Alerting view of the Alertmanager
    datasource (/alerting/groups?alertmanager=Alertmanager);
  - every panel drawing vigia_detector_score has thresholds at the severity
    rungs' min_score of deploy/vigia.example.yaml (the same for every scored
    detector, or the lint fails), drawn (thresholdsStyle not "off").

Usage: lint_dashboards.py METRICS_MD DASHBOARD.json...
       lint_dashboards.py --self-test METRICS_MD
The self-test feeds the checks a broken dashboard and fails unless each
defect is reported, so the lint itself cannot silently pass everything.
"""

import json
import os
import re
import sys

PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "offset", "bool", "inf", "nan", "atan2",
}
LIST_MODIFIERS = r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
TEMPLATE_VARS = ("target", "detector")


def documented_metrics(metrics_md):
    with open(metrics_md, encoding="utf-8") as f:
        text = f.read()
    return set(re.findall(r"`(vigia_[a-z0-9_]+)`", text))


def metric_names(expr):
    """The metric names a PromQL expression selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(LIST_MODIFIERS, " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names


def is_documented(name, documented):
    if name in documented:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in documented:
            return True
    return False


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def check_expr(where, expr, documented, problems):
    for name in sorted(metric_names(expr)):
        if not is_documented(name, documented):
            problems.append(f"{where}: metric {name} is not in docs/metrics.md")
    for var in TEMPLATE_VARS:
        for m in re.finditer(r'(\w+)\s*(=~|!~|!=|=)\s*"\$\{?' + var + r'\}?"',
                             expr):
            if m.group(2) != "=~":
                problems.append(f'{where}: ${var} must be matched with =~, '
                                f'not {m.group(2)}')
        if "$" + var in expr and not re.search(r'=~\s*"\$\{?' + var, expr):
            problems.append(f"{where}: ${var} used outside a =~ matcher")


ALERT_METRIC = re.compile(r"^vigia_alerts_(fired|firing|resolved)")
EVIDENCE_LINKS = ("${alertmanager_url}/", "/alerting/groups?alertmanager=")
EXAMPLE_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "..", "deploy", "vigia.example.yaml")


def score_rungs(example_yaml):
    """{severity: min_score} of the example config's ladders; raises if
    detectors disagree (a single threshold line would then be wrong)."""
    rungs = {}
    with open(example_yaml, encoding="utf-8") as f:
        for m in re.finditer(r"severity:\s*(\w+),\s*min_score:\s*([\d.]+)",
                             f.read()):
            value = float(m.group(2))
            if rungs.setdefault(m.group(1), value) != value:
                raise ValueError(f"{example_yaml}: {m.group(1)} min_score "
                                 f"differs between detectors")
    return rungs


def check_alert_and_score_panel(where, p, exprs, rungs, problems):
    names = set()
    for expr in exprs:
        names |= metric_names(expr)
    defaults = p.get("fieldConfig", {}).get("defaults", {})
    if any(ALERT_METRIC.match(n) for n in names):
        urls = [l.get("url", "") for l in defaults.get("links", []) +
                p.get("links", [])]
        if not any(any(e in u for e in EVIDENCE_LINKS) for u in urls):
            problems.append(f"{where}: alert panel without a data link to "
                            f"the alerts' evidence (Alertmanager)")
    if "vigia_detector_score" in names:
        steps = defaults.get("thresholds", {}).get("steps", [])
        values = {s.get("value") for s in steps}
        for severity, value in sorted(rungs.items()):
            if value not in values:
                problems.append(f"{where}: score panel without a threshold "
                                f"at {severity}'s min_score {value:g}")
        style = defaults.get("custom", {}).get("thresholdsStyle", {})
        if p.get("type") == "timeseries" and style.get("mode", "off") == "off":
            problems.append(f"{where}: score panel does not draw its "
                            f"thresholds")


def is_templated_ds(ds):
    return isinstance(ds, dict) and ds.get("uid") == "${datasource}"


def lint(name, dash, documented, problems, uids, rungs=None):
    uid = dash.get("uid")
    if not uid:
        problems.append(f"{name}: no fixed uid")
    elif uid in uids:
        problems.append(f"{name}: uid {uid} also used by {uids[uid]}")
    else:
        uids[uid] = name
    if not isinstance(dash.get("schemaVersion"), int):
        problems.append(f"{name}: no schemaVersion")
    if dash.get("id") is not None:
        problems.append(f"{name}: id must be null for file provisioning")

    variables = {v.get("name"): v for v in
                 dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append(f"{name}: no Prometheus datasource variable")
    for var in TEMPLATE_VARS:
        v = variables.get(var)
        if not v:
            problems.append(f"{name}: no ${var} variable")
            continue
        query = v.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query
        if v.get("type") != "query" or not str(query).startswith("label_values("):
            problems.append(f"{name}: ${var} is not a label_values query")
        if not v.get("includeAll") or v.get("allValue") != ".*":
            problems.append(f'{name}: ${var} needs includeAll and allValue ".*"')
        if not is_templated_ds(v.get("datasource")):
            problems.append(f"{name}: ${var} does not use ${{datasource}}")
        m = re.match(r"label_values\((.*),\s*\w+\)$", str(query))
        if m:
            check_expr(f"{name}: ${var}", m.group(1), documented, problems)

    for a in dash.get("annotations", {}).get("list", []):
        if a.get("builtIn"):
            continue
        if not is_templated_ds(a.get("datasource")):
            problems.append(f"{name}: annotation {a.get('name')} does not "
                            f"use ${{datasource}}")
        check_expr(f"{name}: annotation {a.get('name')}", a.get("expr", ""),
                   documented, problems)

    ids = set()
    panels = list(all_panels(dash.get("panels", [])))
    if not panels:
        problems.append(f"{name}: no panels")
    for p in panels:
        where = f"{name}: panel {p.get('id')} ({p.get('title')})"
        pid = p.get("id")
        if not isinstance(pid, int):
            problems.append(f"{where}: no numeric id")
        elif pid in ids:
            problems.append(f"{where}: duplicate panel id {pid}")
        ids.add(pid)
        g = p.get("gridPos")
        if (not isinstance(g, dict) or
                not all(isinstance(g.get(k), int) for k in "hwxy") or
                g["x"] + g["w"] > 24):
            problems.append(f"{where}: missing or out-of-grid gridPos")
        if p.get("type") == "row":
            continue
        targets = p.get("targets", [])
        if not targets:
            problems.append(f"{where}: no targets")
        if not is_templated_ds(p.get("datasource")):
            problems.append(f"{where}: does not use ${{datasource}}")
        ref_ids = set()
        for t in targets:
            expr = t.get("expr", "")
            if not expr.strip():
                problems.append(f"{where}: target {t.get('refId')} has no expr")
            if not is_templated_ds(t.get("datasource")):
                problems.append(f"{where}: target {t.get('refId')} does not "
                                f"use ${{datasource}}")
            if t.get("refId") in ref_ids:
                problems.append(f"{where}: duplicate refId {t.get('refId')}")
            ref_ids.add(t.get("refId"))
            check_expr(f"{where} {t.get('refId')}", expr, documented, problems)
        check_alert_and_score_panel(where, p,
                                    [t.get("expr", "") for t in targets],
                                    rungs or {}, problems)
        for l in p.get("fieldConfig", {}).get("defaults", {}).get("links", []):
            if "${alertmanager_url}" in l.get("url", "") and \
                    "alertmanager_url" not in variables:
                problems.append(f"{where}: link uses $alertmanager_url, "
                                f"which the dashboard does not define")
    return len(panels)


def self_test(metrics_md):
    documented = documented_metrics(metrics_md)
    broken = {
        "id": 7, "uid": "", "templating": {"list": [
            {"name": "target", "type": "query", "includeAll": True,
             "allValue": "", "datasource": {"uid": "${datasource}"},
             "query": "label_values(vigia_imaginary_metric, target)"}]},
        "panels": [
            {"id": 1, "type": "timeseries", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
             "datasource": {"uid": "${datasource}"},
             "targets": [{"refId": "A", "datasource": {"uid": "${datasource}"},
                          "expr": 'sum by (detector) (rate(up{job="vigia"}[5m]))'}]},
            {"id": 1, "type": "timeseries", "gridPos": {"h": 8, "w": 16, "x": 12, "y": 0},
             "datasource": {"uid": "prometheus"},
             "targets": [{"refId": "A", "datasource": {"uid": "${datasource}"},
                          "expr": 'vigia_alerts_firing{detector="$detector"}'}]},
            {"id": 3, "type": "timeseries", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 8},
             "datasource": {"uid": "${datasource}"},
             "fieldConfig": {"defaults": {"thresholds": {"steps": [
                 {"value": None}, {"value": 5}]}}},
             "targets": [{"refId": "A", "datasource": {"uid": "${datasource}"},
                          "expr": 'max(vigia_detector_score)'}]},
        ]}
    expected = [
        "no fixed uid", "no schemaVersion", "id must be null",
        "no Prometheus datasource variable", "no $detector variable",
        'needs includeAll and allValue ".*"',
        "metric vigia_imaginary_metric is not in docs/metrics.md",
        "metric up is not in docs/metrics.md", "duplicate panel id 1",
        "out-of-grid gridPos", "panel 1 (None): does not use ${datasource}",
        "$detector must be matched with =~",
        "panel 1 (None): alert panel without a data link",
        "panel 3 (None): score panel without a threshold at critical's "
        "min_score 8",
        "panel 3 (None): score panel does not draw its thresholds",
    ]
    problems = []
    lint("broken", broken, documented, problems, {},
         {"info": 3.0, "warning": 5.0, "critical": 8.0})
    missing = [e for e in expected if not any(e in p for p in problems)]
    # And the documented metrics, histogram series and keywords pass.
    clean = []
    check_expr("clean", 'histogram_quantile(0.99, sum by (le) (rate('
               'vigia_processing_latency_seconds_bucket[5m]))) and on () '
               'vigia_build_info or vector(0)', documented, clean)
    for p in problems:
        print("reported:", p)
    for m in missing:
        print("FAIL: not reported:", m)
    for c in clean:
        print("FAIL: false alarm:", c)
    if missing or clean or not documented:
        return 1
    print(f"self-test: {len(expected)} defects reported, "
          f"{len(documented)} documented metrics")
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "--self-test":
        return self_test(argv[2])
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    documented = documented_metrics(argv[1])
    rungs = score_rungs(EXAMPLE_CONFIG)
    if not rungs:
        print(f"no severity ladder found in {EXAMPLE_CONFIG}", file=sys.stderr)
        return 2
    problems, uids, total = [], {}, 0
    for path in argv[2:]:
        try:
            with open(path, encoding="utf-8") as f:
                dash = json.load(f)
        except (OSError, json.JSONDecodeError) as err:
            problems.append(f"{path}: {err}")
            continue
        n = lint(path, dash, documented, problems, uids, rungs)
        total += n
        print(f"{path}: {n} panels")
    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    print(f"{len(argv) - 2} dashboards, {total} panels: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
