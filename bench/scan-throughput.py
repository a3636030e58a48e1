#!/usr/bin/env python3
# Scan throughput: `vigil scan --format jsonl` against the GMime parse-and-decode
# baseline on the same mbox, alternated A B A B in one run, medians compared;
# the baseline with gumbo parsing every HTML part is run beside them as a
# reference (what no extraction can skip), not as a floor.
# Checks the floors (vigil within 3x of the baseline's time, peak RSS < 256 MiB).
"""usage: scan-throughput.py --build DIR --mbox FILE [--runs N] [--out JSON]"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from benchlib import RunError, collect, cpu_model, git_commit, stat_path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The floors from the issue. Time is compared both ways, wall clock and
# user+sys CPU: the baseline is one thread, so a vigil that only kept up by
# using more cores would pass on wall time while costing more per message.
MAX_TIME_RATIO = 3.0
MAX_RSS_BYTES = 256 << 20


def timed(runstat, argv, stdout, label):
	"""Runs argv under runstat; returns (its stat record, its stderr bytes).

	stderr is drained while the command runs so a chatty run cannot stall
	on a full pipe, and kept in bench/out/<label>.stderr for reading."""
	proc = subprocess.Popen([runstat, stat_path(label)] + argv, stdout=stdout,
				stderr=subprocess.PIPE)
	err = proc.stderr.read()
	proc.wait()
	return collect(label, proc.returncode, err), err
def run_baseline(runstat, exe, mbox, html=False):
	"""The baseline, or with html its gumbo reference (gmime_baseline --html)."""
	out_path = os.path.join(HERE, "out", ".baseline-out.json")
	with open(out_path, "wb") as out:
		st, err = timed(runstat, [exe] + (["--html"] if html else []) + [mbox], out,
				"gmime-gumbo" if html else "gmime-baseline")
	if st["exit"] != 0:
		raise RunError("baseline exited %d: %s" % (st["exit"], err.decode(errors="replace")[-2000:]))
	with open(out_path) as f:
		counts = json.load(f)
	os.unlink(out_path)
	return {"wall": st["wall"], "cpu": st["user"] + st["sys"], "rss": st["maxrss_bytes"],
		"messages": counts["messages"], "detail": counts}


def run_vigil(runstat, exe, fmt, extra, mbox):
	# Output goes through a pipe into `wc -l`: every record is really
	# formatted and written (a reader that stops early, or /dev/null that a
	# tool may detect, would measure less), and the line count (one JSON
	# object per message) checks vigil saw as many messages as GMime did.
	# runstat measures vigil alone, not wc.
	wc = subprocess.Popen(["wc", "-l"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	argv = [exe, "scan", "--format", fmt] + extra + [mbox]
	try:
		st, err = timed(runstat, argv, wc.stdin, "vigil-scan")
	finally:
		wc.stdin.close()
		lines = int(wc.stdout.read().split()[0])
		wc.wait()
	# Exit 1 means some messages could not be read or scanned: the count
	# check below says how many. 2 (usage) and 3 (fatal) mean no valid run.
	if st["exit"] >= 2 or st["exit"] < 0:
		raise RunError("vigil exited %d: %s" % (st["exit"], err.decode(errors="replace")[-2000:]))
	return {"wall": st["wall"], "cpu": st["user"] + st["sys"], "rss": st["maxrss_bytes"],
		"messages": lines, "exit_code": st["exit"], "stderr_lines": err.count(b"\n")}


def warm(mbox):
	"""Reads the mbox once so the first timed run does not pay for the disk."""
	with open(mbox, "rb", buffering=0) as f:
		while f.read(8 << 20):
			pass


def summary(runs, size):
	wall = statistics.median(r["wall"] for r in runs)
	cpu = statistics.median(r["cpu"] for r in runs)
	rss = max(r["rss"] for r in runs)
	msgs = runs[0]["messages"]
	return {"wall_s": wall, "cpu_s": cpu, "peak_rss_bytes": rss, "messages": msgs,
		"messages_per_s": msgs / wall, "mb_per_s": size / 1e6 / wall,
		"runs": [{k: v for k, v in r.items() if k != "detail"} for r in runs]}


def main():
	ap = argparse.ArgumentParser(description=__doc__)
	ap.add_argument("--build", default=os.path.join(ROOT, "build"))
	ap.add_argument("--mbox", required=True)
	ap.add_argument("--runs", type=int, default=3, help="runs of each, at least 3 (default 3)")
	ap.add_argument("--format", default="jsonl", choices=["jsonl", "text"])
	ap.add_argument("--vigil-arg", action="append", default=[],
			help="extra argument for vigil scan (repeatable)")
	ap.add_argument("--out", default=os.path.join(HERE, "out", "scan-throughput.json"))
	args = ap.parse_args()
	if args.runs < 3:
		ap.error("--runs must be at least 3: a median of fewer says little on a noisy machine")

	# The CLI is build/src/cli/vigil unless the build puts it at the top.
	vigil = os.path.join(args.build, "vigil")
	if not os.access(vigil, os.X_OK):
		vigil = os.path.join(args.build, "src", "cli", "vigil")
	baseline = os.path.join(args.build, "bench", "gmime_baseline")
	runstat = os.path.join(args.build, "bench", "runstat")
	for exe in (vigil, baseline, runstat):
		if not os.access(exe, os.X_OK):
			print("scan-throughput: %s missing: build first (ninja -C %s)" % (exe, args.build),
			      file=sys.stderr)
			return 2
	if args.format == "text":
		print("scan-throughput: --format text writes no line per message; "
		      "the message-count check is skipped", file=sys.stderr)
	os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
	for name in ("vigil-scan.stderr", "gmime-baseline.stderr"):
		try:
			os.unlink(os.path.join(HERE, "out", name))
		except FileNotFoundError:
			pass
	size = os.path.getsize(args.mbox)

	print("scan-throughput: %s (%.1f MB), %d runs each, A B A B" % (args.mbox, size / 1e6, args.runs))
	warm(args.mbox)
	base_runs, vigil_runs, html_runs = [], [], []
	try:
		for i in range(args.runs):
			b = run_baseline(runstat, baseline, args.mbox)
			base_runs.append(b)
			print("  run %d  gmime baseline  %7.2f s wall  %7.2f s cpu  %6.1f MiB  %d msgs"
			      % (i + 1, b["wall"], b["cpu"], b["rss"] / 2**20, b["messages"]), flush=True)
			# Not a floor: what GMime plus gumbo's parse of every HTML
			# part costs on one thread, the part of a scan no
			# extraction can skip.
			h = run_baseline(runstat, baseline, args.mbox, html=True)
			html_runs.append(h)
			print("  run %d  gmime + gumbo   %7.2f s wall  %7.2f s cpu  %6.1f MiB  %d html parts"
			      % (i + 1, h["wall"], h["cpu"], h["rss"] / 2**20, h["detail"]["html_parts"]),
			      flush=True)
			v = run_vigil(runstat, vigil, args.format, args.vigil_arg, args.mbox)
			vigil_runs.append(v)
			print("  run %d  vigil scan      %7.2f s wall  %7.2f s cpu  %6.1f MiB  %d lines (exit %d)"
			      % (i + 1, v["wall"], v["cpu"], v["rss"] / 2**20, v["messages"], v["exit_code"]),
			      flush=True)
	except RunError as e:
		print("scan-throughput: ERROR: %s" % e, file=sys.stderr)
		return 2

	B = summary(base_runs, size)
	H = summary(html_runs, size)
	V = summary(vigil_runs, size)
	wall_ratio = V["wall_s"] / B["wall_s"]
	cpu_ratio = V["cpu_s"] / B["cpu_s"] if B["cpu_s"] > 0 else float("inf")
	counts_agree = args.format == "text" or all(r["messages"] == B["messages"] for r in vigil_runs)
	checks = {
		"messages_agree": counts_agree,
		"wall_ratio_le_%.1f" % MAX_TIME_RATIO: wall_ratio <= MAX_TIME_RATIO,
		"cpu_ratio_le_%.1f" % MAX_TIME_RATIO: cpu_ratio <= MAX_TIME_RATIO,
		"peak_rss_lt_256MiB": V["peak_rss_bytes"] < MAX_RSS_BYTES,
	}
	ok = all(checks.values())

	print()
	print("  %-16s %10s %10s %12s %9s %10s" % ("", "wall (med)", "cpu (med)", "messages/s", "MB/s", "peak RSS"))
	for name, s in (("gmime baseline", B), ("gmime + gumbo", H), ("vigil scan", V)):
		print("  %-16s %9.2fs %9.2fs %12.0f %9.1f %7.1f MiB"
		      % (name, s["wall_s"], s["cpu_s"], s["messages_per_s"], s["mb_per_s"],
			 s["peak_rss_bytes"] / 2**20))
	print()
	print("  messages: baseline %d, vigil %s  %s" % (
		B["messages"], sorted({r["messages"] for r in vigil_runs}),
		"ok" if counts_agree else "MISMATCH"))
	print("  time ratio vigil/baseline: wall %.2fx, cpu %.2fx (floor <= %.1fx)  %s"
	      % (wall_ratio, cpu_ratio, MAX_TIME_RATIO,
		 "PASS" if wall_ratio <= MAX_TIME_RATIO and cpu_ratio <= MAX_TIME_RATIO else "FAIL"))
	print("  reference gmime+gumbo/baseline: wall %.2fx, cpu %.2fx (one thread; not a floor)"
	      % (H["wall_s"] / B["wall_s"], H["cpu_s"] / B["cpu_s"] if B["cpu_s"] > 0 else float("inf")))
	print("  vigil peak RSS: %.1f MiB (floor < 256 MiB)  %s"
	      % (V["peak_rss_bytes"] / 2**20, "PASS" if checks["peak_rss_lt_256MiB"] else "FAIL"))
	print("  scan-throughput: %s" % ("PASS" if ok else "FAIL"))

	result = {
		"benchmark": "scan-throughput",
		"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
		"commit": git_commit(),
		"host": {"cpu": cpu_model(), "cpus": os.cpu_count(), "kernel": platform.release()},
		"mbox": {"path": os.path.abspath(args.mbox), "bytes": size},
		"runs_each": args.runs,
		"mb": "10^6 bytes",
		"baseline": dict(B, command=[baseline, args.mbox], detail=base_runs[0]["detail"]),
		"gmime_gumbo_reference": dict(H, command=[baseline, "--html", args.mbox],
					      detail=html_runs[0]["detail"]),
		"vigil": dict(V, command=[vigil, "scan", "--format", args.format] + args.vigil_arg + [args.mbox]),
		"wall_ratio": wall_ratio,
		"cpu_ratio": cpu_ratio,
		"floors": {"max_time_ratio": MAX_TIME_RATIO, "max_rss_bytes": MAX_RSS_BYTES},
		"checks": checks,
		"pass": ok,
	}
	with open(args.out + ".tmp", "w") as f:
		json.dump(result, f, indent=2)
		f.write("\n")
	os.replace(args.out + ".tmp", args.out)
	print("  result: %s" % args.out)
	return 0 if ok else 1


if __name__ == "__main__":
	# Exit 1 means "a floor was missed"; anything unexpected must not look
	# like that, so it leaves with 2 like every other error.
	try:
		sys.exit(main())
	except Exception:
		import traceback
		traceback.print_exc()
		sys.exit(2)
