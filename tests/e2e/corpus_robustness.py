#!/usr/bin/env python3
"""Robustness on other parsers' test mail and real mail: every message under
fixtures/ and real/ is scanned with no crash and no hang (a sanitizer build
aborts on any report, which shows here as a crash), and for the real sets the
number of objects equals the number of message files."""
import os
import sys

from corpus_common import Checks, corpus_or_skip, scan

REAL_SETS = ["real/phishing_pot", "real/spamassassin/easy-ham-1",
             "real/spamassassin/hard-ham-1", "real/spamassassin/spam-1"]
# Files in the real sets that are not mail.
NOT_MAIL = {"LICENSE", "README", "README.md"}


def main():
    vigil = sys.argv[1]
    corpus = corpus_or_skip(sys.argv[2])
    c = Checks()

    fixtures = os.path.join(corpus, "fixtures")
    for name in sorted(os.listdir(fixtures)):
        path = os.path.join(fixtures, name)
        try:
            rc, objs, err = scan(vigil, [path], timeout=600)
        except Exception as e:  # a hang shows as a timeout
            c.check(False, f"fixtures/{name}: {e}")
            continue
        # 0: all scanned; 1: some file unreadable (reported). Not a signal,
        # not a fatal error.
        c.check(rc in (0, 1), f"fixtures/{name}: {len(objs)} messages, exit {rc} {err[-300:] if rc not in (0, 1) else ''}")

    for rel in REAL_SETS:
        path = os.path.join(corpus, rel)
        files = [f for f in os.listdir(path) if f not in NOT_MAIL]
        rc, objs, err = scan(vigil, [path], timeout=900)
        c.check(rc == 0, f"{rel}: exit {rc} {err[-300:]}")
        c.check(len(objs) == len(files), f"{rel}: {len(objs)} objects for {len(files)} message files")
    c.finish()


if __name__ == "__main__":
    main()
