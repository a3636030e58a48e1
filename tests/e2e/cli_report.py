#!/usr/bin/env python3
"""`vigil report` on a real store: the shipped sample mail scanned with
--db, its campaigns written in every format (STIX checked with the same
structural checks as the unit tests), --all, reproducible bytes under
SOURCE_DATE_EPOCH, -o writing whole files only, and the usage errors.

usage: cli_report.py VIGIL SOURCE_ROOT
"""

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

VIGIL, ROOT = sys.argv[1:3] if len(sys.argv) >= 3 else (None, None)
if ROOT:
    sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "report"))
    import check_reports  # noqa: E402  (its STIX checks)


def vigil(*args, env=None):
    e = dict(os.environ, SOURCE_DATE_EPOCH="1795338000", **(env or {}))
    return subprocess.run([VIGIL, *args], capture_output=True, timeout=120, env=e)


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.db = os.path.join(cls.tmp.name, "cases.db")
        samples = os.path.join(ROOT, "data", "samples")
        r = vigil("scan", "--db", cls.db, "--format", "jsonl",
                  "--members", os.path.join(samples, "members.txt"),
                  "--protected", os.path.join(samples, "protected.tsv"),
                  "--relays", os.path.join(samples, "relays.txt"), samples)
        assert r.returncode in (0, 1), r.stderr.decode()
        r = vigil("campaigns", "--db", cls.db, "--format", "jsonl")
        assert r.returncode == 0, r.stderr.decode()
        cls.campaigns = [json.loads(l) for l in r.stdout.splitlines()]
        assert cls.campaigns, "the samples make no campaign"

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def report(self, *args):
        r = vigil("report", "--db", self.db, *args)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout

    def test_every_format_of_one_campaign(self):
        c = self.campaigns[0]
        cid = str(c["id"])
        bundle = json.loads(self.report(cid, "--format", "stix", "--org", "CERT-Test"))
        by_id = check_reports.check_bundle(self, bundle)
        self.assertIn(f"campaign--{c['uuid']}", by_id)
        self.assertTrue([o for o in by_id.values() if o["type"] == "indicator"])
        ev = json.loads(self.report(cid, "--format", "misp", "--tlp", "green"))
        check_reports.Misp.check_event(self, ev, tlp="green")
        self.assertEqual(ev["Event"]["Orgc"]["name"], "vigil")
        rows = list(csv.reader(io.StringIO(self.report(cid, "--format", "csv").decode(),
                                           newline="")))
        self.assertEqual(rows[0], check_reports.Csv.HEADER)
        self.assertEqual(len(rows) - 1, sum(max(1, len(m["recipients"])) for m in c["messages"]))
        html = self.report(cid, "--format", "html").decode()
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        self.assertIn("default-src 'none'", html)

    def test_all_campaigns_and_same_bytes_twice(self):
        a = self.report("--all", "--format", "misp")
        self.assertEqual(a, self.report("--all", "--format", "misp"))
        doc = json.loads(a)
        if len(self.campaigns) > 1:
            self.assertEqual(len(doc["response"]), len(self.campaigns))
        else:
            self.assertIn("Event", doc)
        b = json.loads(self.report("--all", "--format", "stix"))
        camps = [o for o in b["objects"] if o["type"] == "campaign"]
        self.assertEqual(len(camps), len(self.campaigns))

    def test_output_file_is_written_whole(self):
        out = os.path.join(self.tmp.name, "r.html")
        self.assertEqual(self.report(str(self.campaigns[0]["id"]), "--format", "html",
                                     "-o", out), b"")
        with open(out, encoding="utf-8") as f:
            self.assertTrue(f.read().rstrip().endswith("</html>"))
        self.assertEqual([n for n in os.listdir(self.tmp.name) if n.startswith("r.html.")], [])
        bad = os.path.join(self.tmp.name, "no-such-dir", "r.html")
        r = vigil("report", "--db", self.db, "--all", "--format", "csv", "-o", bad)
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"no-such-dir", r.stderr)

    def test_usage_errors(self):
        cases = [
            (["999999", "--format", "stix"], b"no campaign 999999"),
            (["1"], b"--format"),
            (["1", "--format", "pdf"], b"unknown format"),
            (["1", "--format", "stix", "--tlp", "purple"], b"unknown TLP"),
            (["1", "--all", "--format", "stix"], b"or --all"),
            (["--format", "stix"], b"or --all"),
        ]
        for args, msg in cases:
            r = vigil("report", "--db", self.db, *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(msg, r.stderr, args)


if __name__ == "__main__":
    if not VIGIL:
        sys.exit(__doc__)
    unittest.main(argv=[sys.argv[0], "-v"])
