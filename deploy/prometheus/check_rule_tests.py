#!/usr/bin/env python3
"""Checks that vigia-rules.test.yml can fail, and that every runbook link lands.

`promtool test rules` passing proves little on its own: a rule with no
firing expectation, or whose `for:` or guard clause no test depends on,
would pass too. This script mutates each rule in turn and requires the unit
tests to FAIL on every mutant:

  never    the expression never matches    -> some test expects it to fire
  always   the expression always matches   -> some test expects it quiet
  no-for   the `for:` clause is removed    -> some test sees it pending
  no-guard the `and on (...)` guard is cut -> some test relies on the guard

It also checks that every runbook_url anchor in the rules, and every
detector of docs/detectors.md, has a section in docs/runbook.md (anchors as
GitHub renders headings).

Usage: check_rule_tests.py PROMTOOL RULES TESTS RUNBOOK DETECTORS_DOC
Exits 0 when all hold, 1 with a list of failures otherwise.
"""

import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml


def github_slug(heading):
    """The anchor GitHub gives a markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def headings(markdown_path, level):
    prefix = "#" * level + " "
    with open(markdown_path, encoding="utf-8") as f:
        return [line[len(prefix):].strip() for line in f
                if line.startswith(prefix)]


def run_tests(promtool, workdir, test_name):
    proc = subprocess.run([promtool, "test", "rules", test_name], cwd=workdir,
                          capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    promtool, rules_path, tests_path, runbook_path, detectors_path = argv[1:]
    failures = []

    with open(rules_path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    rules_name = os.path.basename(rules_path)
    test_name = os.path.basename(tests_path)

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(tests_path, os.path.join(tmp, test_name))
        # The unmodified rules must pass, or every mutant "fails" trivially.
        shutil.copy(rules_path, os.path.join(tmp, rules_name))
        code, out = run_tests(promtool, tmp, test_name)
        if code != 0:
            print(out)
            print("FAIL: the unmodified rules do not pass their tests")
            return 1

        mutants = 0
        for g, group in enumerate(rules["groups"]):
            for r, rule in enumerate(group["rules"]):
                if "alert" not in rule:
                    continue
                expr = rule["expr"]
                variants = {
                    "never": {"expr": "vector(1) < 0"},
                    "always": {"expr": "vector(1)"},
                }
                if "for" in rule:
                    variants["no-for"] = {"for": None}
                guard = re.split(r"\band on\b", expr)
                if len(guard) == 2:
                    variants["no-guard"] = {"expr": guard[0].strip()}
                for name, change in variants.items():
                    mutant = copy.deepcopy(rules)
                    target = mutant["groups"][g]["rules"][r]
                    for key, value in change.items():
                        if value is None:
                            del target[key]
                        else:
                            target[key] = value
                    with open(os.path.join(tmp, rules_name), "w",
                              encoding="utf-8") as f:
                        yaml.safe_dump(mutant, f, sort_keys=False)
                    code, _ = run_tests(promtool, tmp, test_name)
                    mutants += 1
                    status = "killed" if code != 0 else "SURVIVED"
                    print(f"{rule['alert']:36} {name:9} {status}")
                    if code == 0:
                        failures.append(
                            f"{rule['alert']}: the tests still pass with the "
                            f"'{name}' mutant; add a case that depends on it")

    runbook_anchors = {github_slug(h) for h in headings(runbook_path, 2)}
    for group in rules["groups"]:
        for rule in group["rules"]:
            url = rule.get("annotations", {}).get("runbook_url", "")
            anchor = url.partition("#")[2]
            if not anchor:
                failures.append(f"{rule.get('alert')}: no runbook_url anchor")
            elif anchor not in runbook_anchors:
                failures.append(f"{rule.get('alert')}: #{anchor} is not a "
                                f"section of {runbook_path}")
    detectors = [h for h in headings(detectors_path, 2)
                 if re.fullmatch(r"[a-z_]+", h)]
    if not detectors:
        failures.append(f"no detector sections found in {detectors_path}")
    for d in detectors:
        if d not in runbook_anchors:
            failures.append(f"detector {d}: no section #{d} in {runbook_path}")

    print(f"{mutants} mutants, {len(detectors)} detectors, "
          f"{len(runbook_anchors)} runbook sections checked")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
