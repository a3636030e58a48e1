#!/usr/bin/env python3
"""Checks the campaign reports that vigil_report_write() makes from the
hand-written documents in fixtures/ (a realistic recon campaign; hostile
values: quotes, backslashes, markup, formula starts, bidi overrides, emoji,
nulls and empty lists):

- STIX 2.1: every object has what the spec requires for its type, ids are
  <type>--<UUID>, timestamps are RFC 3339 with milliseconds, every reference
  points into the bundle, relationships are ones the spec defines, patterns
  parse (stix_pattern.py) and give back the exact values, the TLP marking is
  the spec's predefined one;
- MISP: the event fields MISP's importer reads, each attribute's type and
  category allowed by MISP's describeTypes.json, TLP tag, unique uuids;
- both read back by vigil's own feed readers (`vigil intel import`);
- CSV: RFC 4180 read back with Python's csv module, CRLF line ends, formula
  cells neutralised, one row per message and recipient;
- HTML: static checks (no element or attribute that loads anything, all
  markup from the documents escaped, URLs defanged). The rendering itself is
  checked in Chromium by html_chromium.py.

usage: check_reports.py REPORT_TOOL FIXTURES_DIR VIGIL
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stix_pattern  # noqa: E402

TOOL, FIXTURES, VIGIL = sys.argv[1:4] if len(sys.argv) >= 4 else (None, None, None)
RECON = "campaign-recon.json"
HOSTILE = "campaign-hostile.json"

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
STIX_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# STIX 2.1 required properties per type (sections 4-7), beyond the common
# type/spec_version/id/created/modified of SDOs and SROs.
REQUIRED = {
    "identity": ["name"],
    "campaign": ["name"],
    "indicator": ["pattern", "pattern_type", "valid_from"],
    "relationship": ["relationship_type", "source_ref", "target_ref"],
    "sighting": ["sighting_of_ref"],
    "report": ["name", "published", "object_refs"],
    "marking-definition": ["definition_type", "definition"],
}
# The relationships the spec defines for what vigil writes (section 4).
RELATIONSHIPS = {("indicator", "indicates", "campaign"), ("campaign", "targets", "identity")}
INDICATOR_TYPES = {"anomalous-activity", "anonymization", "benign", "compromised",
                   "malicious-activity", "attribution", "unknown"}
IDENTITY_CLASSES = {"individual", "group", "system", "organization", "class", "unknown"}
REPORT_TYPES = {"attack-pattern", "campaign", "identity", "indicator", "intrusion-set",
                "malware", "observed-data", "threat-actor", "threat-report", "tool",
                "vulnerability"}
# Object paths vigil's indicators may use, with the property each must name.
PATHS = {"domain-name": [["value"]], "url": [["value"]], "email-addr": [["value"]],
         "ipv4-addr": [["value"]], "ipv6-addr": [["value"]],
         "file": [["hashes", "MD5"], ["hashes", "SHA-1"], ["hashes", "SHA-256"]]}
TLP = {  # the spec's predefined TLP marking definitions (7.2.1.4)
    "amber": ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER"),
    "clear": ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE"),
    "green": ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN"),
    "red": ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED"),
}

# MISP attribute types vigil writes and the categories MISP allows each
# (MISP's describeTypes.json, category_type_mappings, read for this test).
MISP_CATEGORIES = {
    "campaign-name": {"Attribution"},
    "hostname": {"Payload delivery", "Network activity", "External analysis"},
    "domain": {"Payload delivery", "Network activity", "External analysis"},
    "url": {"Payload delivery", "Network activity", "External analysis"},
    "ip-src": {"Payload delivery", "Network activity", "External analysis"},
    "ip-dst": {"Payload delivery", "Network activity", "External analysis"},
    "email-src": {"Payload delivery", "Network activity", "Social network"},
    "email-dst": {"Payload delivery", "Network activity", "Social network"},
    "email-subject": {"Payload delivery", "Network activity"},
    "email-x-mailer": {"Payload delivery"},
    "email-src-display-name": {"Payload delivery"},
    "md5": {"Payload delivery", "Artifacts dropped", "Payload installation", "External analysis"},
    "sha1": {"Payload delivery", "Artifacts dropped", "Payload installation", "External analysis"},
    "sha256": {"Payload delivery", "Artifacts dropped", "Payload installation",
               "External analysis"},
}


def run_tool(fmt, fixture, *opts):
    r = subprocess.run([TOOL, fmt, os.path.join(FIXTURES, fixture), *opts],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"report_tool {fmt} {fixture} failed: {r.stderr.decode()}")
    return r.stdout


def documents(fixture):
    with open(os.path.join(FIXTURES, fixture), encoding="utf-8") as f:
        return json.load(f)


def check_bundle(t, bundle, tlp="amber"):
    """Structural checks of a STIX 2.1 bundle; returns objects by id."""
    t.assertEqual(bundle["type"], "bundle")
    t.assertRegex(bundle["id"], rf"^bundle--{UUID}$")
    t.assertNotIn("spec_version", bundle)
    objs = bundle["objects"]
    by_id = {}
    for o in objs:
        t.assertNotIn(o["id"], by_id, "ids are unique in the bundle")
        by_id[o["id"]] = o
    for o in objs:
        typ = o["type"]
        t.assertEqual(o["spec_version"], "2.1")
        t.assertRegex(o["id"], rf"^{re.escape(typ)}--{UUID}$")
        t.assertRegex(o["created"], STIX_TIME)
        if typ != "marking-definition":
            t.assertRegex(o["modified"], STIX_TIME)
            t.assertGreaterEqual(o["modified"], o["created"])
        for k in REQUIRED[typ]:
            t.assertIn(k, o, f"{typ} needs {k}")
            t.assertNotIn(o[k], ("", [], None), f"{typ}.{k} is empty")
        for k, v in o.items():
            refs = v if k.endswith("_refs") else [v] if k.endswith("_ref") else []
            for ref in refs:
                t.assertIn(ref, by_id, f"{o['id']}.{k} -> {ref} is in the bundle")
            if k in ("first_seen", "last_seen", "valid_from", "published"):
                t.assertRegex(v, STIX_TIME)
        if typ != "marking-definition":
            t.assertEqual(o["object_marking_refs"], [TLP[tlp][0]])
        if typ == "identity":
            t.assertIn(o["identity_class"], IDENTITY_CLASSES)
        if typ == "indicator":
            t.assertEqual(o["pattern_type"], "stix")
            t.assertTrue(set(o["indicator_types"]) <= INDICATOR_TYPES)
            comps = stix_pattern.parse(o["pattern"])
            t.assertEqual(len(comps), 1)
            otype, path, neg, op, _ = comps[0]
            t.assertIn(path, PATHS[otype], f"{otype}:{path}")
            t.assertIn(op, ("=", "LIKE"))
        if typ == "relationship":
            src, dst = by_id[o["source_ref"]]["type"], by_id[o["target_ref"]]["type"]
            t.assertIn((src, o["relationship_type"], dst), RELATIONSHIPS)
        if typ == "sighting":
            t.assertEqual(by_id[o["sighting_of_ref"]]["type"], "indicator")
            t.assertTrue(0 <= o["count"] <= 999999999)
            for ref in o["where_sighted_refs"]:
                t.assertIn(by_id[ref]["type"], ("identity", "location"))
            if "first_seen" in o:
                t.assertLessEqual(o["first_seen"], o["last_seen"])
        if typ == "report":
            t.assertTrue(set(o["report_types"]) <= REPORT_TYPES)
        if typ == "marking-definition":
            t.assertEqual((o["id"], o["name"]), TLP[tlp])
            t.assertEqual(o["definition"], {"tlp": TLP[tlp][1][4:].lower()})
    return by_id


def pattern_values(by_id):
    vals = set()
    for o in by_id.values():
        if o["type"] == "indicator":
            for otype, path, _, op, value in stix_pattern.parse(o["pattern"]):
                vals.add((otype, ".".join(path), op, value))
    return vals


class Stix(unittest.TestCase):
    def test_recon_bundle_is_valid_and_complete(self):
        b = json.loads(run_tool("stix", RECON))
        by_id = check_bundle(self, b)
        types = [o["type"] for o in by_id.values()]
        self.assertEqual(types.count("campaign"), 1)
        camp = by_id["campaign--5b0c1f0e-8a1d-4e36-9d55-3f0c2a7b9e11"]
        self.assertEqual(camp["first_seen"], "2021-01-14T08:02:11.000Z")
        self.assertEqual(camp["name"], "news-cdn-analytics.com / lemonde-info.fr")
        vals = pattern_values(by_id)
        for want in [("domain-name", "value", "=", "img.news-cdn-analytics.com"),
                     ("url", "value", "LIKE", "http://img.news-cdn-analytics.com/open/%.gif"),
                     ("email-addr", "value", "=", "redaction@lemonde-info.fr"),
                     ("domain-name", "value", "=", "lemonde-info.fr"),
                     ("ipv4-addr", "value", "=", "203.0.113.7"),
                     ("ipv6-addr", "value", "=", "2001:db8::25"),
                     ("domain-name", "value", "=", "news-cdn-analytics.com")]:
            self.assertIn(want, vals)
        # Each indicator indicates the campaign and has a sighting by the org.
        org = [o for o in by_id.values() if o["type"] == "identity"
               and o["identity_class"] == "organization"]
        self.assertEqual(len(org), 1)
        inds = [o["id"] for o in by_id.values() if o["type"] == "indicator"]
        rels = {(o["source_ref"], o["target_ref"]) for o in by_id.values()
                if o["type"] == "relationship" and o["relationship_type"] == "indicates"}
        sights = {o["sighting_of_ref"]: o for o in by_id.values() if o["type"] == "sighting"}
        for i in inds:
            self.assertIn((i, camp["id"]), rels)
            self.assertEqual(sights[i]["where_sighted_refs"], [org[0]["id"]])
        tracker = next(o for o in by_id.values() if o["type"] == "indicator"
                       and o["pattern"] == "[domain-name:value = 'img.news-cdn-analytics.com']")
        self.assertEqual(sights[tracker["id"]]["count"], 12)
        self.assertEqual(sights[tracker["id"]]["last_seen"], "2021-01-19T09:19:11.000Z")
        template = next(o for o in by_id.values() if o["type"] == "indicator"
                        and o["pattern"].startswith("[url:value LIKE"))
        self.assertEqual(sights[template["id"]]["count"], 12)
        # Targets are individuals the campaign targets (default on).
        people = [o for o in by_id.values() if o["type"] == "identity"
                  and o["identity_class"] == "individual"]
        self.assertEqual(len(people), 12)
        self.assertIn("Inès Laurent", {p["name"] for p in people})
        # Per-recipient tracker URLs (with the targets' tokens) are not shared.
        self.assertNotIn("d7796000", json.dumps(b))
        report = next(o for o in by_id.values() if o["type"] == "report")
        self.assertEqual(set(report["object_refs"]), set(by_id) - {report["id"]})

    def test_hostile_values_make_valid_patterns_that_give_them_back(self):
        b = json.loads(run_tool("stix", HOSTILE, "--tlp", "red", "--org", "CERT \"Ex\" \\ <Org>"))
        by_id = check_bundle(self, b, tlp="red")
        vals = pattern_values(by_id)
        for want in [("email-addr", "value", "=", "o'brien\\x@evil.example"),
                     ("email-addr", "value", "=", "+cmd@evil.example"),
                     ("url", "value", "LIKE", "https://t.evil.example/p?u=%&q='x'\\y"),
                     ("url", "value", "=", "http://192.0.2.55/it's.gif"),
                     ("email-addr", "value", "=", "o'neil@evil.example"),
                     ("ipv4-addr", "value", "=", "192.0.2.55"),
                     ("ipv4-addr", "value", "=", "198.51.100.0/24"),
                     ("file", "hashes.SHA-256", "=", "a" * 64),
                     ("email-addr", "value", "=", "-2+3@evil.example")]:
            self.assertIn(want, vals)
        # Sightings count the messages that show the indicator: one message
        # is from o'brien, none from +cmd (no sighting then).
        counts = {by_id[o["sighting_of_ref"]]["pattern"]: o["count"]
                  for o in by_id.values() if o["type"] == "sighting"}
        self.assertEqual(counts["[email-addr:value = 'o\\'brien\\\\x@evil.example']"], 1)
        self.assertNotIn("[email-addr:value = '+cmd@evil.example']", counts)
        self.assertEqual(counts["[ipv4-addr:value = '198.51.100.23']"], 2)  # the campaign's
        names = {o["name"] for o in by_id.values() if o["type"] == "campaign"}
        self.assertIn(documents(HOSTILE)[0]["name"], names)
        self.assertIn("campaign 8", names)  # the campaign without a name
        org = [o for o in by_id.values() if o["type"] == "identity"
               and o["identity_class"] == "organization"]
        self.assertEqual(org[0]["name"], "CERT \"Ex\" \\ <Org>")
        # No indicator for what STIX patterns cannot say (a YARA rule name),
        # nor for what the campaign shares with everyone: a free-mail domain
        # (its address at that domain stays) and a tracking service's host.
        values = {v[3] for v in vals}
        self.assertNotIn("rules.apt.Lure", values)
        self.assertNotIn("gmail.com", values)
        self.assertIn("lemonde.moreau@gmail.com", values)
        self.assertNotIn("open.mailservice.example", values)
        self.assertFalse([v for v in values if "mailservice" in v])

    def test_two_campaigns_share_an_indicator_once(self):
        a = documents(RECON)[0]
        b = json.loads(json.dumps(a))
        b["id"], b["uuid"], b["name"] = 4, "6c1d2f1e-8a1d-4e36-9d55-3f0c2a7b9e12", "second wave"
        b["messages"] = b["messages"][:3]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "two.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump([a, b], f)
            r = subprocess.run([TOOL, "stix", path], capture_output=True, timeout=60, check=True)
        by_id = check_bundle(self, json.loads(r.stdout))  # ids unique: written once
        tracker = [o for o in by_id.values() if o["type"] == "indicator"
                   and o["pattern"] == "[domain-name:value = 'img.news-cdn-analytics.com']"]
        self.assertEqual(len(tracker), 1)
        tid = tracker[0]["id"]
        camps = {o["target_ref"] for o in by_id.values() if o["type"] == "relationship"
                 and o["source_ref"] == tid}
        self.assertEqual(camps, {"campaign--5b0c1f0e-8a1d-4e36-9d55-3f0c2a7b9e11",
                                 "campaign--6c1d2f1e-8a1d-4e36-9d55-3f0c2a7b9e12"})
        counts = sorted(o["count"] for o in by_id.values() if o["type"] == "sighting"
                        and o["sighting_of_ref"] == tid)
        self.assertEqual(counts, [3, 12])
        # The same people targeted twice are one identity each.
        people = [o for o in by_id.values() if o["type"] == "identity"
                  and o["identity_class"] == "individual"]
        self.assertEqual(len(people), 12)

    def test_targets_can_be_left_out(self):
        out = run_tool("stix", RECON, "--no-targets")
        by_id = check_bundle(self, json.loads(out))
        self.assertFalse([o for o in by_id.values() if o["type"] == "identity"
                          and o["identity_class"] == "individual"])
        self.assertFalse([o for o in by_id.values() if o.get("relationship_type") == "targets"])
        self.assertNotIn(b"parliament.example", out)

    def test_ids_stay_when_the_report_is_written_again_later(self):
        a = json.loads(run_tool("stix", RECON))
        b = json.loads(run_tool("stix", RECON, "--now", "1800000000"))
        ids = lambda x: {o["id"] for o in x["objects"] if o["type"] != "report"}  # noqa: E731
        self.assertEqual(ids(a), ids(b))
        self.assertNotEqual(a["id"], b["id"])


class Misp(unittest.TestCase):
    def check_event(self, ev, tlp="amber"):
        e = ev["Event"]
        self.assertRegex(e["uuid"], f"^{UUID}$")
        self.assertRegex(e["date"], r"^\d{4}-\d\d-\d\d$")
        self.assertRegex(e["timestamp"], r"^\d+$")
        self.assertIn(e["threat_level_id"], ("1", "2", "3", "4"))
        self.assertIn(e["analysis"], ("0", "1", "2"))
        self.assertIn(e["distribution"], ("0", "1", "2", "3"))
        self.assertIs(e["published"], False)
        self.assertTrue(e["info"])
        self.assertRegex(e["Orgc"]["uuid"], f"^{UUID}$")
        self.assertEqual(e["Tag"], [{"name": f"tlp:{tlp}"}])
        uuids = set()
        for a in e["Attribute"]:
            self.assertIn(a["type"], MISP_CATEGORIES, a)
            self.assertIn(a["category"], MISP_CATEGORIES[a["type"]], a)
            self.assertIsInstance(a["to_ids"], bool)
            self.assertTrue(a["value"])
            self.assertRegex(a["uuid"], f"^{UUID}$")
            self.assertNotIn(a["uuid"], uuids)
            uuids.add(a["uuid"])
            self.assertEqual(a["timestamp"], e["timestamp"])
            if a["type"] in ("email-dst", "email-subject", "email-src-display-name"):
                self.assertFalse(a["to_ids"])
        return {(a["type"], a["value"]): a for a in e["Attribute"]}

    def test_recon_event(self):
        ev = json.loads(run_tool("misp", RECON))
        attrs = self.check_event(ev)
        self.assertEqual(ev["Event"]["date"], "2021-01-14")
        self.assertEqual(ev["Event"]["distribution"], "0")  # amber: own organisation
        self.assertTrue(attrs[("hostname", "img.news-cdn-analytics.com")]["to_ids"])
        self.assertTrue(attrs[("email-src", "redaction@lemonde-info.fr")]["to_ids"])
        self.assertTrue(attrs[("ip-src", "203.0.113.7")]["to_ids"])
        self.assertTrue(attrs[("domain", "lemonde-info.fr")]["to_ids"])
        self.assertFalse(attrs[("url", "http://img.news-cdn-analytics.com/open/{token}.gif")]
                         ["to_ids"])
        dst = attrs[("email-dst", "marie.martin32@parliament.example")]
        self.assertIn("opened first at 2021-01-14T13:32:11Z", dst["comment"])
        self.assertEqual(len([k for k in attrs if k[0] == "email-dst"]), 12)

    def test_several_campaigns_are_a_response_list(self):
        doc = json.loads(run_tool("misp", HOSTILE, "--tlp", "green", "--no-targets"))
        self.assertEqual(list(doc), ["response"])
        self.assertEqual(len(doc["response"]), 2)
        attrs = self.check_event(doc["response"][0], tlp="green")
        self.check_event(doc["response"][1], tlp="green")
        self.assertIn(("email-src", "o'brien\\x@evil.example"), attrs)
        self.assertIn(("ip-dst", "192.0.2.55"), attrs)
        self.assertIn(("sha256", "a" * 64), attrs)
        self.assertFalse([k for k in attrs if k[0] == "email-dst"])
        # Shared infrastructure is listed, but not for an IDS.
        self.assertFalse(attrs[("domain", "gmail.com")]["to_ids"])
        self.assertFalse(attrs[("hostname", "open.mailservice.example")]["to_ids"])
        self.assertTrue(attrs[("hostname", "t.evil.example")]["to_ids"])
        self.assertEqual(doc["response"][0]["Event"]["threat_level_id"], "1")


class RoundTrip(unittest.TestCase):
    """vigil's own STIX and MISP readers take the reports back."""

    def imported(self, fmt, fixture):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, f"report.{fmt}.json")
            with open(path, "wb") as f:
                f.write(run_tool(fmt, fixture))
            db = os.path.join(d, "intel.db")
            r = subprocess.run([VIGIL, "intel", "import", "-q", "--db", db, "--format", fmt,
                                path], capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            r = subprocess.run([VIGIL, "intel", "list", "--db", db, "--format", "jsonl"],
                               capture_output=True, timeout=60, check=True)
            return {(j["type"], j["value"]) for j in map(json.loads, r.stdout.splitlines())}

    def test_stix_indicators_import(self):
        got = self.imported("stix", HOSTILE)
        # (vigil refuses o'brien\x@: a backslash is no address character.)
        self.assertIn(("email", "o'neil@evil.example"), got)
        self.assertIn(("url", "http://192.0.2.55/it's.gif"), got)
        self.assertIn(("domain", "t.evil.example"), got)
        self.assertIn(("sha256", "a" * 64), got)

    def test_misp_attributes_import(self):
        got = self.imported("misp", RECON)
        self.assertIn(("domain", "img.news-cdn-analytics.com"), got)
        self.assertIn(("email", "redaction@lemonde-info.fr"), got)
        self.assertIn(("ipv4", "203.0.113.7"), got)


class Csv(unittest.TestCase):
    HEADER = ["campaign_id", "campaign_name", "message_date", "message_id", "from",
              "from_name", "subject", "verdict", "score", "recipient", "recipient_name",
              "opened", "first_open", "source_path", "source_offset"]

    def rows(self, fixture):
        raw = run_tool("csv", fixture)
        text = raw.decode("utf-8")
        # RFC 4180: every record ends with CRLF; a bare LF only inside quotes.
        self.assertTrue(text.endswith("\r\n"))
        rows = list(csv.reader(io.StringIO(text, newline="")))
        self.assertEqual(rows[0], self.HEADER)
        return [dict(zip(self.HEADER, r)) for r in rows[1:]], rows

    def test_recon_rows(self):
        rows, _ = self.rows(RECON)
        self.assertEqual(len(rows), 12)
        marie = next(r for r in rows if r["recipient"] == "marie.martin32@parliament.example")
        self.assertEqual((marie["opened"], marie["first_open"]), ("yes", "2021-01-14T13:32:11Z"))
        self.assertEqual(marie["source_offset"], "123456")
        self.assertEqual(marie["from_name"], "Le Monde - Rédaction")
        self.assertEqual(sum(r["opened"] == "yes" for r in rows), 6)

    def test_hostile_cells_are_neutralised_and_kept(self):
        rows, raw = self.rows(HOSTILE)
        # message 1 has two recipients, message 2 none: still one row.
        self.assertEqual(len(rows), 3)
        for r in raw[1:]:
            for cell in r:
                self.assertFalse(cell[:1] in ("=", "+", "-", "@", "\t", "\r"), cell)
        doc = documents(HOSTILE)[0]
        a = rows[0]
        self.assertEqual(a["subject"], "'" + doc["messages"][0]["subject"])
        self.assertEqual(a["campaign_name"], "'" + doc["name"])
        self.assertEqual(a["from_name"], "'@SUM(A1:A9)")
        self.assertEqual(a["source_path"], "'=cmd|' /C calc'!A0")
        self.assertEqual(a["source_offset"], "")  # -1: a file of its own
        self.assertEqual(a["recipient_name"], "<img src=x onerror=alert(1)>")
        # An open attributed without a message id counts for the recipient.
        self.assertEqual((a["opened"], a["first_open"]), ("yes", "2022-03-01T03:00:00Z"))
        self.assertEqual(rows[1]["opened"], "no")
        self.assertEqual(rows[2]["recipient"], "")
        self.assertEqual(rows[2]["opened"], "")


class Robustness(unittest.TestCase):
    """Documents damaged at random (a value replaced by one of another type
    or an extreme one, a key dropped): every format either writes a report
    or refuses with a message; never a crash (the ASan build runs this)."""

    VALUES = [None, 0, -1, 2**63 - 1, -2**63, 1.5, True, "", "x" * 5000, "\u202e<b>'\\\"",
              "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2021-02-29T00:00:00Z",
              "0001-01-01T00:00:00Z", "2021-01-01T00:00:00-23:59",
              [], ["a"], [None], {}, {"a": 1}]

    def leaves(self, node, path=()):
        if isinstance(node, dict):
            for k, v in node.items():
                yield path + (k,)
                yield from self.leaves(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield path + (i,)
                yield from self.leaves(v, path + (i,))

    def test_damaged_documents(self):
        import random
        base = documents(HOSTILE) + documents(RECON)
        with tempfile.TemporaryDirectory() as d:
            for seed in range(60):
                rnd = random.Random(seed)
                doc = json.loads(json.dumps(base))
                for _ in range(rnd.randint(1, 4)):
                    path = rnd.choice(list(self.leaves(doc)))
                    parent = doc
                    for k in path[:-1]:
                        parent = parent[k]
                    if isinstance(parent, dict) and rnd.random() < 0.2:
                        del parent[path[-1]]
                    else:
                        parent[path[-1]] = rnd.choice(self.VALUES)
                path = os.path.join(d, f"damaged-{seed}.json")
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(doc, f, ensure_ascii=False)
                for fmt in ("stix", "misp", "csv", "html"):
                    r = subprocess.run([TOOL, fmt, path], capture_output=True, timeout=60)
                    self.assertIn(r.returncode, (0, 1), (seed, fmt, r.stderr[-500:]))
                    if r.returncode == 1:
                        self.assertIn(b"report_tool: campaign", r.stderr, (seed, fmt))
                    elif fmt == "stix":  # what is accepted makes a valid bundle
                        check_bundle(self, json.loads(r.stdout))
                    elif fmt == "misp":
                        json.loads(r.stdout)


class Html(unittest.TestCase):
    """What can be seen without a browser; html_chromium.py renders it."""

    LOADING = re.compile(r"<(script|img|iframe|object|embed|link(?![^>]*href=\"data:)|audio|"
                         r"video|source|base|form|meta http-equiv=\"refresh\")\b|"
                         r"\b(src|srcset|href|action|background|poster)\s*=\s*\"(?!#|data:)"
                         r"|url\(|@import", re.I)

    def test_hostile_markup_is_text_and_nothing_loads(self):
        html = run_tool("html", HOSTILE).decode("utf-8")
        self.assertIsNone(self.LOADING.search(html), self.LOADING.search(html))
        self.assertIn("default-src 'none'", html)
        for attack in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                       "<iframe src=", "<b>bold</b>", "</td><script>"):
            self.assertNotIn(attack, html)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", html)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", html)
        # Tracker and lure URLs are defanged text.
        self.assertNotIn("http://evil.example", html)
        self.assertNotIn("https://t.evil.example", html)
        self.assertIn("hxxps://t[.]evil[.]example/p?u={token}&amp;q=&#39;x&#39;\\y", html)
        self.assertIn("Click hxxp://evil.example/login", html)
        self.assertIn("o&#39;brien\\x[@]evil[.]example", html)
        self.assertIn("\u2603 \U0001f3af", html)  # Unicode passes through
        self.assertIn("gmail[.]com</td><td>a free-mail provider", html)

    def test_recon_page_has_every_part(self):
        html = run_tool("html", RECON).decode("utf-8")
        self.assertIsNone(self.LOADING.search(html))
        for part in ("<svg", "Timeline", "Targets", "Indicators", "Sample lure",
                     "img[.]news-cdn-analytics[.]com", "hxxp://img[.]news-cdn-analytics[.]com/open/{token}.gif",
                     "marie.martin32@parliament.example", "TLP:AMBER", "Madame la Députée"):
            self.assertIn(part, html)
        self.assertEqual(html.count("<span class=\"badge yes\">"), 6)


if __name__ == "__main__":
    if not TOOL:
        sys.exit(__doc__)
    unittest.main(argv=[sys.argv[0], "-v"])
