#!/usr/bin/env python3
# Builds the benchmark mbox: the real corpora repeated, in a fixed order, until
# the file reaches a target size. Output is mboxrd and byte-for-byte
# deterministic for a given corpus and size, so runs on two machines compare.
"""usage: make-mbox.py [--corpus DIR] [--size BYTES|NNNM|NNNG] [--out FILE] [--if-missing]

Prints the path of the mbox on standard output, progress on standard error."""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The real corpora, in this order. Relative to the corpus directory.
SUBDIRS = [
	"real/phishing_pot",
	"real/spamassassin/easy-ham-1",
	"real/spamassassin/hard-ham-1",
	"real/spamassassin/spam-1",
]

# One fixed envelope line for every message: dates and senders from the
# corpora would make the file depend on where each message came from, and the
# scanner does not read the envelope anyway.
FROM_LINE = b"From MAILER-DAEMON Thu Jan  1 00:00:00 2021\n"

# A header field name (RFC 5322 ftext) followed by a colon: how a message
# starts. Anything else (LICENSE, README, index files) is not mail.
HEADER_RE = re.compile(rb"^[!-9;-~]+[ \t]*:")
# mboxrd: any line that is `From ` behind zero or more `>` gains one more `>`,
# so a reader can undo the quoting exactly.
FROMQ_RE = re.compile(rb"^(>*From )", re.MULTILINE)


def parse_size(text):
	m = re.fullmatch(r"(\d+)([kKmMgG]?)", text.strip())
	if not m:
		raise argparse.ArgumentTypeError("bad size: %r" % text)
	n = int(m.group(1))
	mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]
	return n * mult


def load_message(path):
	"""The message bytes ready for the mbox, or None when the file is not mail."""
	with open(path, "rb") as f:
		data = f.read()
	if not data:
		return None
	# SpamAssassin's files keep the envelope `From ` line of the mbox they
	# were cut from; it is not part of the message, and we write our own.
	if data.startswith(b"From "):
		nl = data.find(b"\n")
		if nl < 0:
			return None
		data = data[nl + 1:]
	if not HEADER_RE.match(data):
		return None
	data = FROMQ_RE.sub(rb">\1", data)
	if not data.endswith(b"\n"):
		data += b"\n"
	# The blank line that ends every mbox message; readers strip it.
	return FROM_LINE + data + b"\n"


def collect(corpus):
	msgs = []
	skipped = []
	for sub in SUBDIRS:
		d = os.path.join(corpus, sub)
		if not os.path.isdir(d):
			print("make-mbox: missing %s" % d, file=sys.stderr)
			continue
		# Sorted names: the same file order everywhere (os.listdir is not).
		for name in sorted(os.listdir(d)):
			p = os.path.join(d, name)
			if not os.path.isfile(p):
				continue
			m = load_message(p)
			if m is None:
				skipped.append(p)
			else:
				msgs.append(m)
	return msgs, skipped


def main():
	ap = argparse.ArgumentParser(description=__doc__)
	ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus"),
			help="corpus directory (default: ../shared/corpus from the repo root)")
	ap.add_argument("--size", type=parse_size, default=parse_size("1G"),
			help="minimum output size (default 1G = 1 GiB)")
	ap.add_argument("--out", default=None,
			help="output file (default bench/out/real-<size in MiB>M.mbox)")
	ap.add_argument("--if-missing", action="store_true",
			help="do nothing when the output already exists at full size")
	args = ap.parse_args()

	out = args.out or os.path.join(HERE, "out", "real-%dM.mbox" % (args.size >> 20))
	# The file only ever appears whole (renamed into place below), so one
	# at least as large as asked for is a finished earlier build.
	if args.if_missing and os.path.isfile(out) and os.path.getsize(out) >= args.size:
		print(out)
		return 0
	msgs, skipped = collect(os.path.normpath(args.corpus))
	for p in skipped:
		print("make-mbox: skipped (not a message): %s" % p, file=sys.stderr)
	if not msgs:
		print("make-mbox: no messages under %s" % args.corpus, file=sys.stderr)
		return 1
	one_pass = sum(len(m) for m in msgs)

	os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
	# Written beside the target and renamed at the end, so an interrupted
	# run never leaves a short file that a later run would take as done.
	tmp = out + ".tmp"
	total = 0
	count = 0
	passes = 0
	with open(tmp, "wb", buffering=1 << 20) as f:
		while total < args.size:
			passes += 1
			for m in msgs:
				f.write(m)
				total += len(m)
				count += 1
				if total >= args.size:
					break
	os.replace(tmp, out)
	print("make-mbox: %s: %d messages, %d bytes (%d distinct messages, %d bytes a pass, %d passes)"
	      % (out, count, total, len(msgs), one_pass, passes), file=sys.stderr)
	print(out)
	return 0


if __name__ == "__main__":
	sys.exit(main())
