#!/usr/bin/env python3
"""Campaigns and opens on the synthetic archive (issue 6's floors):
  - scan --db then `vigil campaigns`: each labelled recon campaign comes out
    as exactly one campaign holding all its messages and nothing else, and no
    campaign holds a message that is not recon;
  - `vigil logs logs/proxy.log`: every open of logs/opens.jsonl is found with
    the right recipient and campaign, and no other open is reported;
  - incremental and stable: the mbox copy of the same archive and a second
    read of the log add nothing, and campaign ids do not move;
  - `campaigns show` names the campaign's targets and who opened.
Labels are only read here, to check; vigil sees the mail, lists and log."""
import json
import os
import subprocess
import sys
import tempfile

from corpus_common import Checks, corpus_or_skip


def run(vigil, *args, timeout=600):
    p = subprocess.run([vigil, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode(errors="replace")


def jsonl(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def main():
    vigil, corpus = sys.argv[1], corpus_or_skip(sys.argv[2])
    syn = os.path.join(corpus, "synthetic")
    labels = [json.loads(l) for l in open(os.path.join(syn, "labels.jsonl"))]
    label_of = {l["message_id"].strip("<>"): l for l in labels}
    recon = {}
    for l in labels:
        if l["label"] == "recon":
            recon.setdefault(l["campaign"], set()).add(l["message_id"].strip("<>"))
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "vigil.db")
        lists = ["--members", os.path.join(syn, "members.txt"),
                 "--protected", os.path.join(syn, "protected.tsv"),
                 "--relays", os.path.join(syn, "intel", "relays.txt")]
        rc, _, err = run(vigil, "scan", "-q", "--db", db, *lists,
                         os.path.join(syn, "maildir"))
        c.check(rc == 0, f"scan --db of the maildir exits 0 ({rc}: {err[-300:]})")

        rc, out, err = run(vigil, "campaigns", "--db", db, "--format", "jsonl")
        camps = jsonl(out)
        c.check(rc == 0 and camps, f"campaigns lists campaigns ({rc}: {err[-200:]})")
        by_set = {}
        for camp in camps:
            ids = {m["message_id"] for m in camp["messages"]}
            c.check(set(camp["message_ids"]) == ids and len(camp["message_ids"]) == len(ids),
                    f"campaign {camp['id']} lists its message_ids")
            by_set[frozenset(ids)] = camp["id"]
            labelled = {label_of.get(i, {}).get("label") for i in ids}
            c.check(labelled == {"recon"},
                    f"campaign {camp['id']} ({camp['name']}) holds only recon mail: "
                    f"{sorted(x or '?' for x in labelled)}")
            c.check(camp["message_count"] == len(ids) and camp["target_count"] > 0,
                    f"campaign {camp['id']} counts its {len(ids)} messages and targets")
        label_to_id = {}
        for name, ids in sorted(recon.items()):
            cid = by_set.get(frozenset(ids))
            c.check(cid is not None,
                    f"recon campaign {name}: its {len(ids)} messages are exactly one campaign")
            label_to_id[name] = cid
        c.check(len(camps) == len(recon),
                f"{len(camps)} campaigns for {len(recon)} labelled campaigns")
        c1 = [x for x in camps if x["id"] == label_to_id.get("C1")]
        if c1:
            c.check(c1[0]["senders"]["relay_ips"] and c1[0]["trackers"]["url_templates"],
                    "a campaign names its relays and tracker URL templates")

        # The same messages again, from the mbox: nothing new, ids unchanged.
        rc, _, err = run(vigil, "scan", "-q", "--db", db, *lists,
                         os.path.join(syn, "archive.mbox"))
        rc2, out2, _ = run(vigil, "campaigns", "--db", db, "--format", "jsonl")
        again = {frozenset(m["message_id"] for m in x["messages"]): x["id"]
                 for x in jsonl(out2)}
        c.check(rc == 0 and again == by_set,
                "scanning the mbox copy too changes no campaign and no id")

        rc, out, err = run(vigil, "logs", "--db", db, "--format", "jsonl",
                           os.path.join(syn, "logs", "proxy.log"))
        c.check(rc == 0, f"logs exits 0 ({rc}: {err[-300:]})")
        got = {(o["recipient"], o["campaign"], o["time"], o["client_ip"], o["url"])
               for o in jsonl(out) if o["type"] == "open"}
        want = set()
        for l in open(os.path.join(syn, "logs", "opens.jsonl")):
            o = json.loads(l)
            t = o["time"].replace("+00:00", "Z")
            want.add((o["recipient"], label_to_id.get(o["campaign"]), t, o["client_ip"],
                      o["url"]))
        c.check(got == want, f"opens found = opens.jsonl ({len(got)} vs {len(want)}; "
                             f"missing {sorted(want - got)[:3]}, extra {sorted(got - want)[:3]})")
        exact = [o for o in jsonl(out) if o["type"] == "open"]
        c.check(all(o["confidence"] == "exact" and o["message_id"] for o in exact),
                "every open is attributed exactly, with its message")

        rc, out, err = run(vigil, "logs", "--db", db, "--format", "jsonl",
                           os.path.join(syn, "logs", "proxy.log"))
        c.check(rc == 0 and "(0 new)" in err, f"reading the log again adds nothing: {err.strip()}")

        rc, out, _ = run(vigil, "campaigns", "--db", db, "--format", "jsonl")
        camps = {x["id"]: x for x in jsonl(out)}
        opened = {}
        for o in want:
            opened.setdefault(o[1], set()).add(o[0])
        for cid, who in opened.items():
            camp = camps.get(cid, {})
            flagged = {t["address"] for t in camp.get("targets", []) if t["opened"]}
            c.check(flagged == who and camp.get("open_count") == len(who),
                    f"campaign {cid} shows who opened ({len(flagged)} of {len(who)})")
        cid = label_to_id.get("C2")
        if cid:
            rc, out, _ = run(vigil, "campaigns", "show", str(cid), "--db", db, "-f", "text")
            c.check(rc == 0 and "opened 2021-" in out and "mediapress-stats.net" in out,
                    "campaigns show prints trackers, targets and opens")
        rc, _, err = run(vigil, "campaigns", "show", "9999", "--db", db)
        c.check(rc == 2 and "no campaign 9999" in err, "an unknown campaign id is refused")
    c.finish()


if __name__ == "__main__":
    main()
