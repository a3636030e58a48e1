#!/usr/bin/env python3
"""GMime's parser warnings are asked for only when a message shows a sign of
a fault (src/lib/mime/parse.c, parse_message): scanning must give exactly
what asking for them on every message gives (VIGIL_GMIME_WARNINGS=always).

usage: gmime_warnings.py VIGIL edges SOURCE_ROOT
       gmime_warnings.py VIGIL corpus CORPUS_DIR

edges: malformed messages written here, one per fault GMime reports (a bad
header line at the top, in a part, in a forwarded message; repeated fields
and parameters; a multipart without its boundary, its closing line or any
part; two delimiter lines in a row; a header block that never ends), each
partial with the reason GMime gives, byte for byte the same output in both
modes, and a well-formed message not partial; then the repository's own
test messages (tests/, fuzz/ seeds) in both modes.

corpus: ../shared/corpus's fixtures (malformed mail from other parsers' test
suites), real and synthetic mail, byte for byte the same in both modes."""
import os
import subprocess
import sys
import tempfile

from corpus_common import Checks, corpus_or_skip

# name -> (message, the partial reason expected, or None for a clean one)
EDGES = {
    "top-bad-line": (b"From: a@b.example\nSubject: x\nbad line here\nTo: d@e.example\n\nbody\n",
                     "invalid header field name"),
    "part-bad-name": (b"From: a@b.example\nContent-Type: multipart/mixed; boundary=q\n\n--q\n"
                      b"Content-Type: text/plain\nX-Bad Name: v\n\nhello\n--q--\n",
                      "invalid header field name"),
    "inner-bad-line": (b"From: a@b.example\nContent-Type: message/rfc822\n\nFrom: x@y.example\n"
                       b"not a header\nSubject: s\n\ninner\n", "invalid header field name"),
    "crlf-blank-continuation": (b"From: a@b.example\r\nSubject: x\r\n \r\nbad\r\n\r\nbody\r\n",
                                "invalid header field name"),
    "repeated-from": (b"From: a@b.example\nFrom: z@b.example\nSubject: x\n\nbody\n",
                      "conflicting header fields"),
    "repeated-content-length": (b"From: a@b.example\nContent-Length: 10\nContent-Length: 99\n\nbody\n",
                                "conflicting header fields"),
    "repeated-charset": (b"From: a@b.example\nContent-Type: text/plain; charset=utf-8; "
                         b"charset=latin1\n\nbody\n", "conflicting header parameters"),
    "repeated-filename": (b"From: a@b.example\nContent-Disposition: attachment; filename=\"a\"; "
                          b"filename=\"b\"\n\nbody\n", "conflicting header parameters"),
    "multipart-no-boundary": (b"From: a@b.example\nContent-Type: multipart/mixed\n\n--q\n"
                              b"Content-Type: text/plain\n\nhello\n--q--\n",
                              "multipart without boundary"),
    "multipart-unclosed-inner": (b"From: a@b.example\nContent-Type: multipart/alternative; boundary=x\n\n"
                                 b"--x\nContent-Type: text/plain\n\na\n--x\nContent-Type: multipart/mixed;"
                                 b" boundary=y\n\n--y\nContent-Type: text/plain\n\nb\n--x--\n",
                                 "multipart has no parts"),
    "multipart-truncated": (b"From: a@b.example\nContent-Type: multipart/mixed; boundary=q\n\n--q\n"
                            b"Content-Type: text/plain\n", "message is truncated"),
    "double-delimiter": (b"Content-Type: multipart/mixed; boundary=ABCDE\n\n--ABCDE\n"
                         b"Content-Type: text/x-one\n\nBlah\n\n--ABCDE\n--ABCDE\n"
                         b"Content-Type: text/x-two\n\nBlah\n\n--ABCDE--\n",
                         "invalid header field name"),
    "headers-never-end": (b"Subject: only headers\nFrom: a@b.example", "message is truncated"),
    "well-formed": (b"From: a@b.example\nTo: c@d.example\nSubject: hello\nDate: Mon, 4 Jan 2021 "
                    b"09:00:00 +0100\nMessage-ID: <1@b.example>\nMIME-Version: 1.0\n"
                    b"Content-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\n"
                    b"Content-Type: text/plain; charset=utf-8\n\nhi\n--b1\n"
                    b"Content-Type: text/html; charset=utf-8\n\n<p>hi</p>\n--b1--\n", None),
}


def run(vigil, paths, always):
    env = dict(os.environ)
    env.pop("VIGIL_GMIME_WARNINGS", None)
    if always:
        env["VIGIL_GMIME_WARNINGS"] = "always"
    proc = subprocess.run([vigil, "scan", "--format", "jsonl", "-j", "2", *paths],
                          capture_output=True, env=env, timeout=1800)
    return proc.returncode, proc.stdout


def same_both_ways(c, vigil, paths, what):
    rc_a, out_a = run(vigil, paths, True)
    rc_d, out_d = run(vigil, paths, False)
    lines = out_d.count(b"\n")
    c.check(lines > 0, f"{what}: {lines} messages scanned")
    c.check(rc_a == rc_d and out_a == out_d,
            f"{what}: the same output with GMime's warnings asked for always and on demand")


def edges(vigil, root):
    import json
    c = Checks()
    with tempfile.TemporaryDirectory() as d:
        for name, (raw, _) in EDGES.items():
            with open(os.path.join(d, name + ".eml"), "wb") as f:
                f.write(raw)
        _, out = run(vigil, [d], False)
        got = {}
        for line in out.decode().splitlines():
            o = json.loads(line)
            got[os.path.basename(o["source"]["path"])[:-4]] = o
        for name, (_, reason) in EDGES.items():
            o = got.get(name)
            if not c.check(o is not None, f"{name}: scanned"):
                continue
            if reason is None:
                c.check(not o["partial"], f"{name}: not partial")
            else:
                c.check(o["partial"] and reason in o["partial_reasons"],
                        f"{name}: partial, '{reason}' (got {o['partial_reasons']})")
        same_both_ways(c, vigil, [d], "the malformed messages above")
    own = [p for p in (os.path.join(root, "tests"), os.path.join(root, "fuzz"),
                       os.path.join(root, "data", "samples")) if os.path.isdir(p)]
    same_both_ways(c, vigil, own, "the repository's own test messages")
    c.finish()


def corpus(vigil, corpus_dir):
    c = Checks()
    corpus_dir = corpus_or_skip(corpus_dir)
    for sub in ("fixtures", "real", "synthetic/archive.mbox"):
        path = os.path.join(corpus_dir, sub)
        if c.check(os.path.exists(path), f"{sub} present"):
            same_both_ways(c, vigil, [path], sub)
    c.finish()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "edges":
        edges(sys.argv[1], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[2] == "corpus":
        corpus(sys.argv[1], sys.argv[3])
    else:
        sys.exit(__doc__)
