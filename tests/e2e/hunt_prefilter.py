#!/usr/bin/env python3
"""The hunt prefilter (src/lib/intel/prefilter.c) never loses a hit.

usage: hunt_prefilter.py VIGIL edges
       hunt_prefilter.py VIGIL corpus CORPUS_DIR SOURCE_ROOT

edges: messages that hide an indicator's host from a plain search of their
decoded text (a character reference, a percent escape, a CSS escape or
comment, a line break inside an href, a quoted-printable soft break, a U-label
for an A-label indicator, upper case, fullwidth letters, a soft hyphen, an
address written in decimal) each hit with the prefilter as without it
(VIGIL_NO_PREFILTER=1), and messages that only look alike do not; a message
with an unrelated HTML body is a hit through its sender only.

corpus: on ../shared/corpus, a hunt with the synthetic archive's bundle and
relay list, and one with a set built by bench/make-indicators.py from the
real corpora (domains, URLs, addresses; some present), find exactly the same
hits, byte for byte, with the prefilter and without it."""
import json
import os
import subprocess
import sys
import tempfile

from corpus_common import Checks, corpus_or_skip


def stix(patterns):
    objs = []
    for i, p in enumerate(patterns):
        objs.append({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--00000000-0000-4000-8000-%012d" % i,
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "pattern": "[%s]" % p, "pattern_type": "stix",
            "valid_from": "2020-01-01T00:00:00Z"})
    return {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
            "objects": objs}


def hunt(vigil, workdir, feeds, paths, prefilter, name):
    db = os.path.join(workdir, "%s-%s.db" % (name, "on" if prefilter else "off"))
    env = dict(os.environ)
    env.pop("VIGIL_NO_PREFILTER", None)
    if not prefilter:
        env["VIGIL_NO_PREFILTER"] = "1"
    argv = [vigil, "hunt", "--db", db, "--format", "jsonl", "-q"]
    for f in feeds:
        argv += ["--intel", f]
    proc = subprocess.run(argv + paths, capture_output=True, env=env, timeout=1200)
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0 or "Sanitizer" in err or "runtime error" in err:
        sys.stderr.write(err)
        raise SystemExit("vigil hunt exited %d" % proc.returncode)
    return sorted(l for l in proc.stdout.decode().splitlines() if l.strip())


HEAD = ("From: News <news@sender.example.org>\nTo: a@b.example.org\nSubject: %s\n"
        "Message-ID: <%s@sender.example.org>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\n"
        "MIME-Version: 1.0\n")


def html(subject, body):
    return (HEAD % (subject, subject) + "Content-Type: text/html; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n" + body + "\n")


def text(subject, body, qp=False):
    cte = "quoted-printable" if qp else "8bit"
    return (HEAD % (subject, subject) + "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: %s\n\n" % cte + body + "\n")


# (name, message, hit expected). The indicators: the domain evil-host.com,
# the IDN пример.рф (fed as its A-label), the URL https://t.co/AbCdEf9 and
# the range 192.0.2.0/24. None of the messages names them plainly in a way a
# byte search of the decoded text would find, except the "control" ones.
EDGES = [
    ("entity-dot", html("entity-dot", '<a href="https://evil-host&#46;com/x">x</a>'), True),
    ("entity-hex", html("entity-hex", '<a href="https://evil-host&#x2E;com/x">x</a>'), True),
    ("entity-letter", html("entity-letter", '<a href="https://evil-h&#111;st.com/x">x</a>'), True),
    ("named-period", html("named-period", '<a href="https://evil-host&period;com/">x</a>'), True),
    ("percent-dot", html("percent-dot", '<a href="https://evil-host%2ecom/x">x</a>'), True),
    ("percent-letter", html("percent-letter", '<img src="http://evil-ho%73t.com/p.gif">'), True),
    ("css-escape", html("css-escape",
                        '<div style="background:url(http://evil-h\\6fst.com/bg.png)">x</div>'),
     True),
    ("css-style-block", html("css-style-block",
                             '<style>.a{background:url("https://evil-host.com/b.png")}</style>'
                             '<p class="a">x</p>'), True),
    # css.c keeps a comment inside url(): a hit or not, as without the
    # prefilter (None: only the comparison checks it).
    ("css-comment", html("css-comment",
                         '<div style="background:url(http://evil-host/**/.com/b.png)">x</div>'),
     None),
    ("href-line-break", html("href-line-break", '<a href="https://evil-\nhost.com/x">x</a>'), True),
    ("href-tab", html("href-tab", '<a href="https://evil-host.\tcom/x">x</a>'), True),
    ("uppercase", html("uppercase", '<a href="HTTPS://EVIL-HOST.COM/X">x</a>'), True),
    ("fullwidth", html("fullwidth", '<a href="https://ｅｖｉｌ-host．com/">x</a>'), True),
    ("soft-hyphen", html("soft-hyphen", '<a href="https://evil-ho\u00adst.com/">x</a>'), True),
    ("soft-hyphen-ref", html("soft-hyphen-ref", '<a href="https://evil-ho&shy;st.com/">x</a>'),
     True),
    ("ulabel-text", text("ulabel-text", "Go to https://пример.рф/login now"), True),
    ("ulabel-upper", html("ulabel-upper", '<a href="https://ПРИМЕР.РФ/">x</a>'), True),
    ("mixed-labels", html("mixed-labels", '<a href="https://пример.xn--p1ai/">x</a>'), True),
    ("qp-soft-break", text("qp-soft-break", "See http://evil-ho=\nst.com/a for details", qp=True),
     True),
    ("ip-decimal", html("ip-decimal", '<a href="http://3221225991/x">x</a>'), True),
    ("ip-octal", html("ip-octal", '<a href="http://192.0.2.010/x">x</a>'), True),
    ("ip-userinfo", html("ip-userinfo", '<a href="http://user@192.0.2.9/x">x</a>'), True),
    ("ip-scheme-only", html("ip-scheme-only", '<a href="https:192.0.2.9/x">x</a>'), True),
    ("ip-plain", text("ip-plain", "http://192.0.2.44/payload"), True),
    ("url-token", html("url-token", '<a href="https://t.co/AbCdEf9?x=1">x</a>'), True),
    ("url-token-split", html("url-token-split", '<a href="https://t.co/AbC\ndEf9">x</a>'), True),
    # Controls: look alike, but match nothing.
    ("other-host", html("other-host", '<a href="https://evil-host.com.example.org/x">x</a>'),
     False),
    ("other-token", html("other-token", '<a href="https://t.co/ZzZzZz1">x</a>'), False),
    ("other-ip", html("other-ip", '<a href="http://198.51.100.7/x">x</a>'), False),
    ("plain", html("plain", '<p>Hello <a href="https://www.example.org/a">there</a>&nbsp;'
                   '&amp; good bye&hellip;</p>'), False),
]

PATTERNS = ["domain-name:value = 'evil-host.com'",
            "domain-name:value = 'xn--e1afmkfd.xn--p1ai'",
            "url:value = 'https://t.co/AbCdEf9'",
            "ipv4-addr:value = '192.0.2.0/24'"]


def edges(vigil):
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        feed = os.path.join(tmp, "feed.json")
        with open(feed, "w") as f:
            json.dump(stix(PATTERNS), f)
        mdir = os.path.join(tmp, "mail")
        os.mkdir(mdir)
        for name, msg, _ in EDGES:
            with open(os.path.join(mdir, name + ".eml"), "w", encoding="utf-8") as f:
                f.write(msg)
        on = hunt(vigil, tmp, [feed], [mdir], True, "edges")
        off = hunt(vigil, tmp, [feed], [mdir], False, "edges")
        c.check(on == off, "edge cases: the same %d hits with and without the prefilter" % len(on))
        hit = {json.loads(l)["subject"] for l in on}
        for name, _, expected in EDGES:
            if expected is None:
                continue
            c.check((name in hit) == expected,
                    "%s: %s" % (name, "a hit" if expected else "no hit"))
    c.finish()


def corpus(vigil, corpus_dir, root):
    corpus_dir = corpus_or_skip(corpus_dir)
    c = Checks()
    syn = os.path.join(corpus_dir, "synthetic")
    real = [os.path.join(corpus_dir, "real", d) for d in ("phishing_pot", "spamassassin")]
    real = [d for d in real if os.path.isdir(d)]
    with tempfile.TemporaryDirectory() as tmp:
        feeds = [os.path.join(syn, "intel", "stix-bundle.json"),
                 os.path.join(syn, "intel", "relays.txt")]
        on = hunt(vigil, tmp, feeds, [syn], True, "syn")
        off = hunt(vigil, tmp, feeds, [syn], False, "syn")
        c.check(len(on) > 0, "synthetic: the hunt finds hits (%d)" % len(on))
        c.check(on == off, "synthetic: the same hits with and without the prefilter")
        build = os.path.dirname(os.path.abspath(vigil))
        gen = subprocess.run([sys.executable, os.path.join(root, "bench", "make-indicators.py"),
                              "--build", build, "--corpus", corpus_dir, "--count", "20000",
                              "--present", "400", "--out-dir", tmp],
                             capture_output=True, timeout=1200)
        if not c.check(gen.returncode == 0, "make-indicators.py built a set"):
            sys.stderr.write(gen.stderr.decode(errors="replace"))
            c.finish()
        bundle = gen.stdout.decode().split()[0]
        paths = real + [syn]
        on = hunt(vigil, tmp, [bundle], paths, True, "real")
        off = hunt(vigil, tmp, [bundle], paths, False, "real")
        c.check(len(on) > 100, "real + synthetic: the hunt finds hits (%d)" % len(on))
        c.check(on == off, "real + synthetic: the same hits with and without the prefilter")
        if on != off:
            a, b = set(on), set(off)
            for l in sorted(b - a)[:5]:
                print("  lost with the prefilter:", l[:300])
            for l in sorted(a - b)[:5]:
                print("  only with the prefilter:", l[:300])
    c.finish()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[2] == "edges":
        edges(sys.argv[1])
    elif len(sys.argv) >= 5 and sys.argv[2] == "corpus":
        corpus(sys.argv[1], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)
