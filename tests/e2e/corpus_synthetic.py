#!/usr/bin/env python3
"""The synthetic parliament archive: scanning maildir/ and archive.mbox each
gives one object per message of labels.jsonl, and every URL listed in a
label's tracker_urls is extracted from its message with a context that shows
the reader cannot see it (hidden, or declared at most 2 px)."""
import json
import os
import sys

from corpus_common import Checks, corpus_or_skip, scan


def invisible(u):
    small = lambda v: v is not None and v <= 2
    return u["hidden"] or small(u["width"]) or small(u["height"])


def main():
    vigil = sys.argv[1]
    corpus = corpus_or_skip(sys.argv[2])
    syn = os.path.join(corpus, "synthetic")
    labels = [json.loads(l) for l in open(os.path.join(syn, "labels.jsonl"))]
    c = Checks()

    rc, objs, err = scan(vigil, [os.path.join(syn, "maildir")])
    c.check(rc == 0, f"maildir scan exits 0 (got {rc}) {err[:200]}")
    c.check(len(objs) == len(labels), f"maildir: {len(objs)} objects for {len(labels)} labels")
    by_file = {os.path.relpath(o["source"]["path"], syn): o for o in objs}
    missing = [l["file"] for l in labels if l["file"] not in by_file]
    c.check(not missing, f"every labelled file scanned ({len(missing)} missing {missing[:3]})")
    wrong_id = [l["file"] for l in labels
                if l["file"] in by_file and "<" + (by_file[l["file"]]["message_id"] or "") + ">" != l["message_id"]]
    c.check(not wrong_id, f"message ids match the labels ({len(wrong_id)} differ {wrong_id[:3]})")
    partial = [o["source"]["path"] for o in objs if o["partial"]]
    c.check(not partial, f"no synthetic message is partial ({len(partial)}: {partial[:3]})")

    n_urls = not_found = not_invisible = 0
    examples = []
    for l in labels:
        o = by_file.get(l["file"])
        for t in l.get("tracker_urls") or []:
            n_urls += 1
            found = [u for u in (o or {}).get("urls", []) if t in (u["url"], u["raw"])]
            if not found:
                not_found += 1
                examples.append(("missing", l["file"], t))
            elif not any(invisible(u) for u in found):
                not_invisible += 1
                examples.append(("visible", l["file"], t))
    c.check(n_urls > 0 and not_found == 0,
            f"all {n_urls} tracker URLs extracted ({not_found} missing) {examples[:2]}")
    c.check(not_invisible == 0,
            f"every tracker URL has a hidden or <=2px context ({not_invisible} do not) {examples[:2]}")

    # The same input gives the same output whatever the number of threads.
    rc1, objs1, _ = scan(vigil, [os.path.join(syn, "maildir")], extra=("--jobs", "1"))
    c.check(rc1 == 0 and objs1 == objs, "maildir: --jobs 1 gives the same output as the default")

    rc, mobjs, err = scan(vigil, [os.path.join(syn, "archive.mbox")])
    c.check(rc == 0, f"mbox scan exits 0 (got {rc}) {err[:200]}")
    c.check(len(mobjs) == len(labels), f"archive.mbox: {len(mobjs)} objects for {len(labels)} labels")
    want_ids = sorted(l["message_id"] for l in labels)
    got_ids = sorted("<" + (o["message_id"] or "") + ">" for o in mobjs)
    c.check(want_ids == got_ids, "archive.mbox holds exactly the labelled message ids")
    offsets = [o["source"]["offset"] for o in mobjs]
    c.check(offsets == sorted(offsets) and len(set(offsets)) == len(offsets) and offsets[:1] == [0],
            "mbox offsets start at 0 and increase")
    with open(os.path.join(syn, "archive.mbox"), "rb") as f:
        data = f.read()
    bad = [off for off in offsets if data[off:off + 5] != b"From "]
    c.check(not bad, f"every offset points at a From line ({len(bad)} do not)")
    c.finish()


if __name__ == "__main__":
    main()
