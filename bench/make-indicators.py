#!/usr/bin/env python3
# Builds the indicator set of the hunt benchmark: 100,000 deterministic
# indicators (domains, URLs, IPv4 addresses, SHA-256/MD5 hashes, e-mail
# addresses), mostly synthetic, plus a few hundred taken from the real corpora
# so some are present in the benchmark mbox. Written three ways with the same
# strings: a STIX 2.1 bundle for vigil, a plain list (one per line) for
# `grep -F -f` and `rg -F -f`, and a YARA rule file (text strings).
"""usage: make-indicators.py [--build DIR] [--corpus DIR] [--count N] [--present N]
                          [--seed S] [--out-dir DIR] [--if-missing]

Writes OUT_DIR/hunt-indicators.{stix.json,txt,yar} and hunt-indicators.meta.json;
prints the three paths (bundle, list, rules) on standard output."""

import argparse
import collections
import json
import os
import random
import re
import subprocess
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The same corpora as make-mbox.py, so what is taken from them is in the mbox.
SUBDIRS = [
	"real/phishing_pot",
	"real/spamassassin/easy-ham-1",
	"real/spamassassin/hard-ham-1",
	"real/spamassassin/spam-1",
]

# Share of each type among the synthetic indicators (the rest of --count).
MIX = [("domain", 0.35), ("url", 0.30), ("ipv4", 0.15), ("sha256", 0.12),
       ("md5", 0.03), ("email", 0.05)]

# How many present indicators of each kind, out of --present (proportions).
PRESENT_MIX = [("sender-domain", 0.25), ("url-host", 0.25), ("url", 0.25),
	       ("received-ipv4", 0.125), ("attachment-sha256", 0.125)]

# YARA 4's default limit is 10,000 strings per rule.
YARA_STRINGS_PER_RULE = 10000

TLDS = ["com", "net", "org", "info", "biz", "io", "co", "me", "xyz", "top", "online",
	"site", "club", "shop", "app", "dev", "ru", "cn", "de", "fr", "uk", "nl", "br",
	"in", "pl", "it", "es", "jp", "kr", "co.uk", "com.br", "com.au", "co.jp", "tk",
	"ml", "ga", "cf", "su", "ws", "cc", "pw", "live", "icu", "buzz", "link", "click"]
WORDS = ["secure", "login", "account", "verify", "update", "bank", "mail", "cloud",
	 "support", "service", "online", "portal", "auth", "pay", "wallet", "office",
	 "docs", "share", "drive", "track", "parcel", "delivery", "invoice", "billing",
	 "web", "app", "id", "my", "help", "center", "alert", "notice", "team", "safe",
	 "check", "confirm", "access", "client", "user", "data", "file", "box", "net"]
PATHS = ["login", "signin", "verify", "account", "update", "wp-content", "wp-admin",
	 "index.php", "auth", "secure", "invoice", "download", "files", "doc", "view",
	 "track", "redirect", "click", "pay", "session", "id", "confirm", "api", "img"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ALNUM = LETTERS + "0123456789"
HEX = "0123456789abcdef"

# Domains so common in the corpora that no real feed would list them.
COMMON_SKIP = 50


def rand_label(r):
	k = r.random()
	if k < 0.4:
		return r.choice(WORDS) + r.choice(["", "-"]) + r.choice(WORDS) + str(r.randrange(0, 1000))
	if k < 0.7:
		return "".join(r.choice(LETTERS) for _ in range(r.randrange(7, 15)))
	return r.choice(WORDS) + "-" + "".join(r.choice(ALNUM) for _ in range(r.randrange(4, 9)))


def rand_domain(r):
	d = rand_label(r) + "." + r.choice(TLDS)
	if r.random() < 0.25:
		d = r.choice(WORDS + ["www", "m", "cdn", "static"]) + "." + d
	return d


def rand_url(r):
	host = rand_domain(r)
	path = "/".join(r.choice(PATHS) if r.random() < 0.6 else
			"".join(r.choice(ALNUM) for _ in range(r.randrange(5, 13)))
			for _ in range(r.randrange(1, 4)))
	url = "%s://%s/%s" % (r.choice(["https", "https", "http"]), host, path)
	if r.random() < 0.3:
		url += "?%s=%s" % (r.choice(["id", "u", "token", "ref", "e"]),
				   "".join(r.choice(ALNUM) for _ in range(r.randrange(6, 20))))
	return url


def rand_ipv4(r):
	while True:
		a = r.randrange(1, 224)
		if a in (10, 127):
			continue
		b, c, d = r.randrange(0, 256), r.randrange(0, 256), r.randrange(1, 255)
		if (a == 172 and 16 <= b < 32) or (a == 192 and b == 168) or (a == 169 and b == 254) \
				or (a == 100 and 64 <= b < 128):
			continue
		return "%d.%d.%d.%d" % (a, b, c, d)


def rand_email(r):
	local = r.choice(WORDS + ["info", "admin", "noreply", "billing"])
	if r.random() < 0.5:
		local += r.choice(["", ".", "_"]) + str(r.randrange(0, 100))
	return "%s@%s" % (local, rand_domain(r))


def rand_hex(r, n):
	return "".join(r.choice(HEX) for _ in range(n))


def synth(r, kind):
	if kind == "domain":
		return rand_domain(r)
	if kind == "url":
		return rand_url(r)
	if kind == "ipv4":
		return rand_ipv4(r)
	if kind == "sha256":
		return rand_hex(r, 64)
	if kind == "md5":
		return rand_hex(r, 32)
	if kind == "email":
		return rand_email(r)
	raise ValueError(kind)


def clean(s):
	"""Only plain printable ASCII without quotes or backslashes: the same
	string must mean the same thing to STIX, grep's pattern file and YARA."""
	return (s and len(s) >= 6 and all(33 <= ord(c) < 127 for c in s)
		and not any(c in s for c in "'\"\\"))


DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def public_ipv4(ip):
	p = ip.split(".")
	if len(p) != 4 or not all(x.isdigit() and int(x) < 256 for x in p):
		return False
	a, b = int(p[0]), int(p[1])
	return not (a in (0, 10, 127) or a >= 224 or (a == 172 and 16 <= b < 32)
		    or (a == 192 and b == 168) or (a == 169 and b == 254)
		    or (a == 100 and 64 <= b < 128))


def corpus_candidates(vigil, corpus):
	"""What vigil scan extracts from the real corpora, by kind: value -> the
	number of messages it appears in."""
	dirs = [os.path.join(corpus, s) for s in SUBDIRS if os.path.isdir(os.path.join(corpus, s))]
	if not dirs:
		raise SystemExit("make-indicators: no corpus under %s" % corpus)
	proc = subprocess.run([vigil, "scan", "--format", "jsonl", "-j", "1"] + dirs,
			      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
	if proc.returncode >= 2:
		raise SystemExit("make-indicators: vigil scan exited %d" % proc.returncode)
	cand = {k: collections.Counter() for k, _ in PRESENT_MIX}
	for line in proc.stdout.splitlines():
		d = json.loads(line)
		seen = collections.defaultdict(set)
		f = d.get("from") or {}
		if f.get("domain"):
			seen["sender-domain"].add(f["domain"].lower())
		for u in d.get("urls") or []:
			if u.get("scheme") in ("http", "https") and u.get("host"):
				seen["url-host"].add(u["host"].lower())
				seen["url"].add(u["url"])
		for rcv in d.get("received") or []:
			if rcv.get("ip") and public_ipv4(rcv["ip"]):
				seen["received-ipv4"].add(rcv["ip"])
		for a in d.get("attachments") or []:
			if a.get("sha256"):
				seen["attachment-sha256"].add(a["sha256"])
		for k, vals in seen.items():
			for v in vals:
				cand[k][v] += 1
	return cand


def pick_present(r, cand, total):
	"""A deterministic sample of each kind, leaving out the most common
	values (gmail.com, w3.org: no feed lists them) and anything unclean."""
	picked = []
	for kind, share in PRESENT_MIX:
		want = int(round(total * share))
		ranked = sorted(cand[kind].items(), key=lambda kv: (-kv[1], kv[0]))
		if kind in ("sender-domain", "url-host"):
			ranked = ranked[COMMON_SKIP:]
		pool = sorted(v for v, _ in ranked if clean(v) and len(v) < 400
			      and (kind not in ("sender-domain", "url-host") or DOMAIN_RE.match(v)))
		picked += [(kind, v) for v in r.sample(pool, min(want, len(pool)))]
	return picked


STIX_TYPE = {
	"domain": "[domain-name:value = '%s']",
	"sender-domain": "[domain-name:value = '%s']",
	"url-host": "[domain-name:value = '%s']",
	"url": "[url:value = '%s']",
	"ipv4": "[ipv4-addr:value = '%s']",
	"received-ipv4": "[ipv4-addr:value = '%s']",
	"sha256": "[file:hashes.'SHA-256' = '%s']",
	"attachment-sha256": "[file:hashes.'SHA-256' = '%s']",
	"md5": "[file:hashes.MD5 = '%s']",
	"email": "[email-addr:value = '%s']",
}


def main():
	ap = argparse.ArgumentParser(description=__doc__)
	ap.add_argument("--build", default=os.path.join(ROOT, "build"))
	ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus"))
	ap.add_argument("--count", type=int, default=100000, help="indicators in all (default 100000)")
	ap.add_argument("--present", type=int, default=400,
			help="of which taken from the corpora (default 400)")
	ap.add_argument("--seed", type=int, default=20240601)
	ap.add_argument("--out-dir", default=os.path.join(HERE, "out"))
	ap.add_argument("--if-missing", action="store_true",
			help="do nothing when the files exist for the same parameters")
	args = ap.parse_args()

	base = os.path.join(args.out_dir, "hunt-indicators")
	paths = [base + ".stix.json", base + ".txt", base + ".yar"]
	meta_path = base + ".meta.json"
	params = {"count": args.count, "present": args.present, "seed": args.seed}
	if args.if_missing and all(os.path.isfile(p) for p in paths + [meta_path]):
		try:
			with open(meta_path) as f:
				if json.load(f).get("params") == params:
					print("\n".join(paths))
					return 0
		except ValueError:
			pass

	vigil = os.path.join(args.build, "vigil")
	if not os.access(vigil, os.X_OK):
		vigil = os.path.join(args.build, "src", "cli", "vigil")
	r = random.Random(args.seed)
	cand = corpus_candidates(vigil, os.path.normpath(args.corpus))
	present = pick_present(r, cand, args.present)
	values = set(v for _, v in present)
	items = list(present)
	n_synth = args.count - len(items)
	kinds = []
	for kind, share in MIX:
		kinds += [kind] * int(n_synth * share)
	kinds += ["domain"] * (n_synth - len(kinds))
	for kind in kinds:
		while True:
			v = synth(r, kind)
			if v not in values:
				break
		values.add(v)
		items.append((kind, v))
	# Present ones spread through the file, not all at its head.
	r.shuffle(items)

	os.makedirs(args.out_dir, exist_ok=True)
	ns = uuid.UUID("6f1c1a52-8a0e-4bd4-9d1e-6a1c0c3b7e11")
	ts = "2024-01-01T00:00:00.000Z"
	objs = [{"type": "identity", "spec_version": "2.1", "id": "identity--%s" % uuid.uuid5(ns, "bench"),
		 "created": ts, "modified": ts, "name": "vigil hunt benchmark", "identity_class": "system"}]
	for i, (kind, v) in enumerate(items):
		objs.append({"type": "indicator", "spec_version": "2.1",
			     "id": "indicator--%s" % uuid.uuid5(ns, "%s:%s" % (kind, v)),
			     "created": ts, "modified": ts, "name": "bench %s %d" % (kind, i + 1),
			     "indicator_types": ["malicious-activity"],
			     "pattern": STIX_TYPE[kind] % v, "pattern_type": "stix",
			     "valid_from": ts})
	bundle = {"type": "bundle", "id": "bundle--%s" % uuid.uuid5(ns, json.dumps(params, sort_keys=True)),
		  "objects": objs}
	with open(paths[0] + ".tmp", "w") as f:
		json.dump(bundle, f, separators=(",", ":"))
		f.write("\n")
	with open(paths[1] + ".tmp", "w") as f:
		for _, v in items:
			f.write(v + "\n")
	with open(paths[2] + ".tmp", "w") as f:
		f.write("// vigil hunt benchmark: %d indicators as text strings, %d per rule\n"
			% (len(items), YARA_STRINGS_PER_RULE))
		for start in range(0, len(items), YARA_STRINGS_PER_RULE):
			f.write("rule hunt_%d\n{\n  strings:\n" % (start // YARA_STRINGS_PER_RULE + 1))
			for j, (_, v) in enumerate(items[start:start + YARA_STRINGS_PER_RULE]):
				f.write('    $s%d = "%s"\n' % (start + j + 1, v))
			f.write("  condition:\n    any of them\n}\n")
	for p in paths:
		os.replace(p + ".tmp", p)
	by_kind = collections.Counter(k for k, _ in items)
	meta = {"params": params, "indicators": len(items), "by_kind": dict(sorted(by_kind.items())),
		"present_from_corpus": len(present), "files": paths}
	with open(meta_path, "w") as f:
		json.dump(meta, f, indent=2)
		f.write("\n")
	print("make-indicators: %d indicators (%d from the corpora): %s"
	      % (len(items), len(present), ", ".join("%s %d" % kv for kv in sorted(by_kind.items()))),
	      file=sys.stderr)
	print("\n".join(paths))
	return 0


if __name__ == "__main__":
	sys.exit(main())
