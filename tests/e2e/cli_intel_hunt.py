#!/usr/bin/env python3
"""vigil intel and vigil hunt on the repository's own data (no corpus
needed): feeds of every format are imported and listed; a malformed feed
among good ones is refused with its file and nothing is imported; a hunt over
the sample mail with a feed naming the recon sample's host finds that message
and only it, and records it."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

from corpus_common import Checks


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=120, **kw)


def main():
    vigil, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    data = os.path.join(root, "tests", "data", "intel")
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "v.db")
        feeds = [os.path.join(data, f) for f in
                 ("stix-bundle.json", "stix-objects.jsonl", "misp-event.json", "misp-feed")]
        p = run([vigil, "intel", "import", "--db", db, *feeds])
        c.check(p.returncode == 0, f"import of STIX, JSON Lines, MISP event and feed: {p.stderr.decode()[-200:]}")
        p = run([vigil, "intel", "import", "--db", db, "--freetext", os.path.join(data, "report.md")])
        c.check(p.returncode == 0, "import of a free-text report")
        p = run([vigil, "intel", "list", "--db", db, "--format", "jsonl"])
        rows = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
        types = {r["type"] for r in rows}
        c.check(p.returncode == 0 and {"domain", "url", "email", "ipv4", "sha256"} <= types,
                f"list shows every type ({len(rows)} indicators: {sorted(types)})")
        c.check(all(r["source"] for r in rows), "every indicator keeps its source")

        db2 = os.path.join(tmp, "bad.db")
        p = run([vigil, "intel", "import", "--db", db2, feeds[0],
                 os.path.join(data, "stix-malformed.json")])
        err = p.stderr.decode()
        c.check(p.returncode == 2 and "stix-malformed.json" in err,
                f"a malformed feed is refused with its name: {err[:200]}")
        n = 0
        if os.path.exists(db2):
            con = sqlite3.connect(db2)
            n = con.execute("SELECT count(*) FROM indicators").fetchone()[0]
            con.close()
        c.check(n == 0, f"and nothing of the import is stored ({n} indicators)")

        # A hunt over the sample mail for the recon sample's tracking host.
        # (STIX, not free text: free text keeps only domains under a real
        # public suffix, and the samples live under .example.)
        feed = os.path.join(tmp, "feed.json")
        with open(feed, "w") as f:
            json.dump({"type": "bundle", "id": "bundle--1", "objects": [{
                "type": "indicator", "spec_version": "2.1", "id": "indicator--1",
                "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
                "pattern": "[domain-name:value = 'img.lemonde-info.example']",
                "pattern_type": "stix", "valid_from": "2021-01-01T00:00:00Z"}]}, f)
        db3 = os.path.join(tmp, "h.db")
        p = run([vigil, "hunt", "--db", db3, "--intel", feed, "--format", "jsonl",
                 os.path.join(root, "data", "samples")])
        hits = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
        c.check(p.returncode == 0 and len(hits) == 1 and
                hits[0]["message_id"] == "20210112081401.7f3a@lemonde-info.example",
                f"hunt finds the recon sample and only it ({len(hits)} hits)")
        c.check(hits and hits[0]["indicators"][0]["value"] == "img.lemonde-info.example"
                and hits[0]["recipients"][0]["address"] == "marie.martin@parliament.example",
                "the hit names the indicator and the recipient")
        p = run([vigil, "hunt", "--db", db3, "--intel", feed, "--since", "2022-01-01",
                 "--format", "jsonl", os.path.join(root, "data", "samples")])
        c.check(p.returncode == 0 and p.stdout.strip() == b"", "--since leaves out older mail")
    c.finish()


if __name__ == "__main__":
    main()
