#!/usr/bin/env python3
"""vigil hunt on the synthetic archive with the CERT's published STIX bundle
and relay list finds exactly the messages that carry a published indicator
(tracker host, sender, relay address) — no more, no fewer — and a second
identical hunt adds nothing to the store.

The expected set is computed here, independently of vigil's matcher: the
indicators are read from the bundle's patterns and the relay list with plain
Python, and matched against the artifacts `vigil scan` extracts."""
import ipaddress
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

from corpus_common import Checks, corpus_or_skip, scan


def indicators(syn):
    domains, emails, nets = set(), set(), []
    bundle = json.load(open(os.path.join(syn, "intel", "stix-bundle.json")))
    for o in bundle["objects"]:
        if o.get("type") != "indicator":
            continue
        for kind, value in re.findall(r"([a-z0-9-]+):value\s*=\s*'([^']*)'", o["pattern"]):
            if kind == "domain-name":
                domains.add(value.lower())
            elif kind == "email-addr":
                emails.add(value.lower())
            elif kind in ("ipv4-addr", "ipv6-addr"):
                nets.append(ipaddress.ip_network(value, strict=False))
    for line in open(os.path.join(syn, "intel", "relays.txt")):
        line = line.split("#")[0].strip()
        if line:
            nets.append(ipaddress.ip_network(line, strict=False))
    return domains, emails, nets


def on_domain(host, domains):
    host = (host or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def carries_indicator(o, domains, emails, nets):
    hosts = [u["host"] for u in o["urls"]]
    for box in [o["from"], o["sender"], o["return_path"]] + o["reply_to"]:
        if box:
            if (box.get("address") or "").lower() in emails:
                return True
            hosts.append(box.get("domain"))
    for hop in o["received"]:
        hosts += [hop["from_host"], hop["helo"], hop["rdns"]]
        if hop["ip"] and any(ipaddress.ip_address(hop["ip"]) in n for n in nets):
            return True
    hosts.append(o["message_id_domain"])
    return any(on_domain(h, domains) for h in hosts if h)


def table_counts(db):
    con = sqlite3.connect(db)
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                       " AND name NOT LIKE 'sqlite_%'")]
    counts = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    con.close()
    return counts


def main():
    vigil = sys.argv[1]
    corpus = corpus_or_skip(sys.argv[2])
    syn = os.path.join(corpus, "synthetic")
    c = Checks()
    domains, emails, nets = indicators(syn)
    c.check(domains and emails and nets, f"indicators read: {len(domains)} domains, "
            f"{len(emails)} addresses, {len(nets)} networks")

    rc, objs, err = scan(vigil, [os.path.join(syn, "maildir")])
    expected = {o["source"]["sha256"] for o in objs if carries_indicator(o, domains, emails, nets)}
    c.check(rc == 0 and len(expected) > 0, f"{len(expected)} messages carry a published indicator")

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "hunt.db")
        cmd = [vigil, "hunt", "--db", db, "--format", "jsonl",
               "--intel", os.path.join(syn, "intel", "stix-bundle.json"),
               "--intel", os.path.join(syn, "intel", "relays.txt"),
               os.path.join(syn, "maildir")]
        p = subprocess.run(cmd, capture_output=True, timeout=600)
        hits = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
        found = {h["source"]["sha256"] for h in hits}
        c.check(p.returncode == 0, f"hunt exits 0 ({p.returncode}) {p.stderr.decode()[-300:]}")
        c.check(found == expected, f"hunt finds exactly those: {len(found)} found, "
                f"{len(found - expected)} extra, {len(expected - found)} missed")
        c.check(all(h["indicators"] and h["recipients"] and h["date"] for h in hits),
                "each hit line names its indicators, recipients and date")
        summary = p.stderr.decode()
        c.check("img.news-cdn-analytics.com" in summary, "the summary lists the indicators")

        before = table_counts(db)
        c.check(before.get("hits", 0) > 0 and before.get("messages", 0) == len(expected),
                f"the store holds the {len(expected)} messages and their hits: {before}")
        p2 = subprocess.run(cmd, capture_output=True, timeout=600)
        after = table_counts(db)
        c.check(p2.returncode == 0 and after == before,
                f"a second identical hunt adds nothing: {after}")

        # Interrupted after 1,000 messages (the process dies with its last
        # batch committed), then restarted with the same arguments: it
        # resumes, skips what it had done, and ends with the same result.
        db2 = os.path.join(tmp, "resume.db")
        cmd2 = [a if a != db else db2 for a in cmd]
        env = dict(os.environ, VIGIL_TEST_HUNT_ABORT_AFTER="1000")
        p3 = subprocess.run(cmd2, capture_output=True, timeout=600, env=env)
        c.check(p3.returncode == 99, f"the first run dies as asked ({p3.returncode})")
        p4 = subprocess.run(cmd2, capture_output=True, timeout=600)
        err4 = p4.stderr.decode()
        c.check(p4.returncode == 0 and "resuming hunt" in err4 and "earlier work skipped" in err4,
                f"the restarted hunt resumes and skips: {err4[:200]}")
        con = sqlite3.connect(db2)
        stored = {r[0] for r in con.execute("SELECT sha256 FROM messages")}
        con.close()
        c.check(stored == expected, f"after the resume the store holds exactly the "
                f"{len(expected)} messages ({len(stored)})")
    c.finish()


if __name__ == "__main__":
    main()
