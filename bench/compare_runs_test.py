#!/usr/bin/env python3
"""Tests bench/compare_runs.py on two small runs shaped like vigia-bench's
--json output (bench/report.cc, FormatJson)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "compare_runs.py")

BASE = {
    "facts": {"started": "2026-12-01T09:27:00Z", "feed": "1000 records"},
    "rows": [
        {"section": "replay", "metric": "events_per_s", "value": 400000.0,
         "unit": "ev/s"},
        {"section": "kafka lat", "metric": "event_to_alert_p99",
         "value": 12.0, "unit": "ms", "target": "<= 10 ms", "pass": False},
        {"section": "mem 1M", "metric": "bytes_per_key", "value": 154.0,
         "unit": "B", "target": "<= 200 B", "pass": True},
        {"section": "decode", "metric": "only_in_base", "value": 1.0,
         "unit": ""},
    ],
}
OTHER = {
    "facts": {"started": "2026-12-01T12:00:00Z", "feed": "1000 records"},
    "rows": [
        {"section": "replay", "metric": "events_per_s", "value": 500000.0,
         "unit": "ev/s"},
        {"section": "kafka lat", "metric": "event_to_alert_p99",
         "value": 9.0, "unit": "ms", "target": "<= 10 ms", "pass": True},
        {"section": "mem 1M", "metric": "bytes_per_key", "value": 154.0,
         "unit": "B", "target": "<= 200 B", "pass": True},
        {"section": "kafka lat 10k", "metric": "event_to_alert_p50",
         "value": None, "unit": "ms"},
    ],
}


class CompareRunsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.base = self.write("base.json", BASE)
        self.other = self.write("other.json", OTHER)

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, obj):
        path = os.path.join(self.dir.name, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f)
        return path

    def run_script(self, *args):
        return subprocess.run([sys.executable, SCRIPT, *args],
                              capture_output=True, text=True, check=False)

    def line(self, out, section, metric):
        for l in out.splitlines():
            if l.startswith(section + " ") and f" {metric} " in l + " ":
                return l.split()
        self.fail(f"no line for {section} {metric} in:\n{out}")

    def test_changes_are_relative_to_the_first_run(self):
        r = self.run_script(self.base, self.other)
        self.assertEqual(r.returncode, 0, r.stderr)
        cells = self.line(r.stdout, "replay", "events_per_s")
        self.assertIn("400,000", cells)
        self.assertIn("500,000", cells)
        self.assertIn("+25.0%", cells)
        cells = self.line(r.stdout, "mem 1M", "bytes_per_key")
        self.assertIn("+0.0%", cells)

    def test_a_verdict_that_changes_is_marked(self):
        r = self.run_script(self.base, self.other)
        cells = self.line(r.stdout, "kafka lat", "event_to_alert_p99")
        self.assertIn("-25.0%", cells)
        self.assertIn("MISS/PASS", cells)
        self.assertEqual(cells[-1], "<-")
        cells = self.line(r.stdout, "mem 1M", "bytes_per_key")
        self.assertIn("PASS/PASS", cells)
        self.assertNotEqual(cells[-1], "<-")

    def test_figures_one_run_lacks_show_as_dashes(self):
        r = self.run_script(self.base, self.other)
        cells = self.line(r.stdout, "decode", "only_in_base")
        self.assertEqual(cells[-2:], ["-", "-"])
        # A null value (a failed measurement) is a dash too, not a crash.
        self.assertIn("kafka lat 10k", r.stdout)

    def test_the_runs_are_named_with_their_facts(self):
        r = self.run_script(self.base, self.other)
        self.assertIn("run 0: " + self.base, r.stdout)
        self.assertIn("started 2026-12-01T12:00:00Z", r.stdout)

    def test_a_file_that_is_not_a_run_is_refused(self):
        bad = self.write("bad.json", {"facts": {}})
        r = self.run_script(self.base, bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a vigia-bench --json file", r.stderr)
        r = self.run_script(self.base, os.path.join(self.dir.name, "none"))
        self.assertEqual(r.returncode, 1)
        r = self.run_script(self.base)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
