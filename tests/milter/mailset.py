"""The messages the Postfix tests and the benchmark send: the project's own
test messages (always) and, when ../shared/corpus is present, every message
of corpus/synthetic with its label. Each gets an X-Test-Id header so that it
can be found again in the Maildir, the quarantine or the refusals."""
import email.parser
import json
import os
import re
import subprocess

from daemon import CASE_MESSAGES, CASE_OPTS, SRC

ID_RE = re.compile(rb"^X-Test-Id: (\S+)", re.M | re.I)


class Mail:
    __slots__ = ("tid", "path", "raw", "rcpt", "label", "expected")

    def __init__(self, tid, path, raw, rcpt, label=None):
        self.tid, self.path, self.raw, self.rcpt, self.label = tid, path, raw, rcpt, label
        self.expected = None  # the verdict vigil scan gives the file


def corpus_dir():
    return os.path.realpath(os.path.join(SRC, "..", "shared", "corpus"))


def corpus_opts(corpus):
    syn = os.path.join(corpus, "synthetic")
    return ["--members", os.path.join(syn, "members.txt"),
            "--protected", os.path.join(syn, "protected.tsv")]


def load(with_corpus, forged_every=7):
    """(mails, options): the messages and the list/rule options the milter
    and vigil scan must both use. Every `forged_every`-th message carries a
    forged X-Vigil-Verdict: clean."""
    mails = []
    opts = list(CASE_OPTS)
    for i, p in enumerate(CASE_MESSAGES):
        mails.append(Mail(f"case{i}", p, open(p, "rb").read(), "member@parliament.example"))
    if with_corpus:
        syn = os.path.join(with_corpus, "synthetic")
        opts += corpus_opts(with_corpus)
        for line in open(os.path.join(syn, "labels.jsonl")):
            d = json.loads(line)
            p = os.path.join(syn, d["file"])
            mails.append(Mail(f"syn{len(mails)}", p, open(p, "rb").read(), d["recipient"], d["label"]))
    for i, m in enumerate(mails):
        head = f"X-Test-Id: {m.tid}\r\n".encode()
        if i % forged_every == 0:
            head += b"X-Vigil-Verdict: clean\r\nX-Vigil-Score: 0\r\n"
        m.raw = head + m.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return mails, opts


def expect(vigil, mails, opts):
    """Fills each mail's expected verdict from `vigil scan` of its file."""
    paths = sorted({m.path for m in mails})
    out = subprocess.run([vigil, "scan", "--format", "jsonl", *opts, *paths],
                         capture_output=True, check=True, timeout=900).stdout
    by_path = {}
    for line in out.decode().splitlines():
        d = json.loads(line)
        by_path[os.path.realpath(d["source"]["path"])] = d["verdict"]
    for m in mails:
        m.expected = by_path[os.path.realpath(m.path)]


def test_id(raw):
    m = ID_RE.search(raw[:65536])
    return m.group(1).decode() if m else None


def read_box(paths):
    """{test id: email.message.Message (headers only)} of Maildir files."""
    out = {}
    parser = email.parser.BytesHeaderParser()
    for p in paths:
        raw = open(p, "rb").read()
        tid = test_id(raw)
        if tid:
            out.setdefault(tid, []).append(parser.parsebytes(raw))
    return out
