#!/usr/bin/env python3
# The milter in front of a real Postfix: messages per second and the latency
# the milter adds, vigil milter next to rspamd 3.4's proxy worker in milter
# mode (self-scan, network checks off as in vs-rspamd.py), through the same
# private Postfix on loopback (tests/postfix/harness.py), on the same
# messages, in one run. Three set-ups take turns in rounds (none, vigil,
# rspamd, then rotated), each sending its share of N messages over C SMTP
# connections at once:
#   - none:   Postfix without a milter (the baseline);
#   - vigil:  smtpd_milters = vigil milter (default actions: recon and
#             malicious quarantined with fsync, suspicious tagged);
#   - rspamd: smtpd_milters = rspamd_proxy (milter = yes, self_scan = yes).
# Measured for each: messages/s (all messages of the set-up over the wall
# time of its rounds), the SMTP transaction time (MAIL FROM to the reply to
# the end of DATA, at the client) and the milter's own time where it logs
# it (vigil: first callback to its end-of-message reply, and the end of
# message alone; rspamd: its task time). Added latency = the set-up's
# percentile minus the baseline's. Every message is accounted for: sent =
# delivered + quarantined + rejected, none tempfailed.
# Floors: vigil's added p99 below rspamd's and below 5 ms; nothing lost.
"""usage: milter-vs-rspamd.py [--build DIR] [--corpus DIR] [--messages N] [--conns C]
                           [--rounds R] [--latency-messages M] [--out JSON]"""

import argparse
import datetime
import glob
import importlib.util
import json
import os
import re
import shutil
import smtplib
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "milter"))
sys.path.insert(0, os.path.join(ROOT, "tests", "postfix"))
import harness  # noqa: E402
import daemon  # noqa: E402
from benchlib import cpu_model, git_commit  # noqa: E402

MAX_ADDED_P99_MS = 5.0
SETUPS = ["none", "vigil", "rspamd"]


def load_vs_rspamd():
	spec = importlib.util.spec_from_file_location("vs_rspamd", os.path.join(HERE, "vs-rspamd.py"))
	mod = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(mod)
	return mod


def start_rspamd(vs, workdir, milter_port):
	"""vs-rspamd.py's private offline rspamd, plus a proxy worker in milter
	mode that scans itself (no upstream hop)."""
	orig = vs.write_config

	def write_config(confdir, port, ctl_port, dns_port):
		files = orig(confdir, port, ctl_port, dns_port)
		with open(os.path.join(confdir, "rspamd.conf"), "a") as f:
			f.write("""worker "rspamd_proxy" {
    bind_socket = "127.0.0.1:%d";
    milter = yes;
    timeout = 120s;
    upstream "local" {
        default = yes;
        self_scan = yes;
    }
    count = 2;
    max_retries = 5;
    discard_on_reject = false;
    quarantine_on_reject = false;
    spam_header = "X-Spam";
    reject_message = "Spam message rejected";
}
""" % milter_port)
		return files
	vs.write_config = write_config
	rs = vs.Rspamd(workdir)
	took = rs.start()
	return rs, took


def load_messages(corpus, n):
	"""n messages (the synthetic archive, then the real corpora, cycled when
	there are fewer): [(raw bytes, recipient)]."""
	syn = os.path.join(corpus, "synthetic")
	base = []
	lab = os.path.join(syn, "labels.jsonl")
	if os.path.exists(lab):
		for line in open(lab):
			d = json.loads(line)
			base.append((os.path.join(syn, d["file"]), d["recipient"]))
	for sub in ("real/phishing_pot", "real/spamassassin"):
		for p in sorted(glob.glob(os.path.join(corpus, sub, "**", "*"), recursive=True)):
			if os.path.isfile(p) and not os.path.basename(p).startswith(("LICENSE", "README")):
				base.append((p, "reader@parliament.example"))
	if not base:
		raise SystemExit("milter-vs-rspamd: no messages under %s" % corpus)
	out = []
	for i in range(n):
		p, rcpt = base[i % len(base)]
		raw = open(p, "rb").read()
		# Postfix refuses bare CR/LF mixes less gracefully than this: SMTP
		# wants CRLF; smtplib makes CRLF of LF, so give it LF.
		raw = raw.replace(b"\r\n", b"\n")
		if raw.startswith(b"From ") and b"\n" in raw:
			raw = raw.split(b"\n", 1)[1]  # an mbox separator line
		out.append((raw, rcpt))
	return out, len(base)


def percentile(xs, p):
	if not xs:
		return float("nan")
	xs = sorted(xs)
	k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
	return xs[k]


def send_round(pf, setup, items, conns, results):
	"""Sends items [(index, raw, rcpt)] over `conns` connections; appends
	(index, code, text, seconds) to results[setup]."""
	lock = threading.Lock()
	chunks = [items[i::conns] for i in range(conns)]

	def worker(chunk):
		s = None
		for idx, raw, rcpt in chunk:
			msg = b"X-Bench-Id: %s-%d\n" % (setup.encode(), idx) + raw
			t0 = time.perf_counter()
			try:
				if s is None:
					s = smtplib.SMTP("127.0.0.1", pf.port, local_hostname="bench.client.example",
							 timeout=120)
					s.ehlo()
					s._vigil_ehlo = True
					t0 = time.perf_counter()
				code, text = harness.smtp_transaction(s, msg, "bench@sender.example", [rcpt])
			except (smtplib.SMTPException, OSError) as e:
				code, text, s = 0, repr(e), None
			dt = time.perf_counter() - t0
			with lock:
				results[setup].append((idx, code, text, dt))
			if code // 100 == 4:
				s = None  # Postfix keeps a failed milter failed for the session
		if s:
			try:
				s.quit()
			except (smtplib.SMTPException, OSError):
				pass
	ts = [threading.Thread(target=worker, args=(c,)) for c in chunks]
	t0 = time.perf_counter()
	for t in ts:
		t.start()
	for t in ts:
		t.join()
	return time.perf_counter() - t0


def bench_ids(paths, prefix_re=re.compile(rb"^X-Bench-Id: (\w+)-(\d+)", re.M)):
	out = {}
	for p in paths:
		with open(p, "rb") as f:
			head = f.read(4096)
		m = prefix_re.search(head)
		if m:
			out.setdefault(m.group(1).decode(), []).append(int(m.group(2)))
	return out


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--build", default=os.path.join(ROOT, "build"))
	ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus"))
	ap.add_argument("--messages", type=int, default=10000)
	ap.add_argument("--conns", type=int, default=4)
	ap.add_argument("--rounds", type=int, default=5)
	ap.add_argument("--latency-messages", type=int, default=1000)
	ap.add_argument("--out", default=os.path.join(HERE, "out", "milter-vs-rspamd.json"))
	a = ap.parse_args()
	vigil = os.path.realpath(os.path.join(a.build, "vigil"))
	why = harness.available()
	if why:
		print("milter-vs-rspamd: cannot run: %s" % why, file=sys.stderr)
		return 2
	vs = load_vs_rspamd()
	try:
		vs.install_rspamd()
	except vs.Unavailable as e:
		print("milter-vs-rspamd: %s" % e, file=sys.stderr)
		return 2
	corpus = os.path.realpath(a.corpus)
	msgs, distinct = load_messages(corpus, a.messages)
	work = tempfile.mkdtemp(prefix="vigil-bench-milter-")
	os.chmod(work, 0o755)
	qdir = os.path.join(work, "quarantine")
	syn = os.path.join(corpus, "synthetic")
	opts = []
	if os.path.exists(os.path.join(syn, "members.txt")):
		opts = ["--members", os.path.join(syn, "members.txt"), "--protected", os.path.join(syn, "protected.tsv")]
	vm = daemon.Milter(vigil, work, daemon.config_text(qdir), opts=opts)
	rs_dir = os.path.join(work, "rspamd")
	os.makedirs(rs_dir)
	rs_port = daemon.free_port(11900, 12900)
	pf = harness.Postfix()
	rs = None
	status = 0
	try:
		vm.start()
		rs, rs_start = start_rspamd(vs, rs_dir, rs_port)
		pf.start(milter=None, default_action="tempfail")
		addr = {"none": "", "vigil": vm.postfix_address, "rspamd": "inet:127.0.0.1:%d" % rs_port}
		# Warm-up: Postfix's processes, rspamd's proxy workers, vigil's threads.
		for setup in SETUPS:
			pf.reload(smtpd_milters=addr[setup], non_smtpd_milters="$smtpd_milters")
			time.sleep(1)
			send_round(pf, "warm" + setup, [(i, msgs[i][0], msgs[i][1]) for i in range(200)], a.conns,
				   {"warm" + setup: []})
		load_before = os.getloadavg()
		cpu_before = rs.cpu_snapshot()
		vigil_lines_before = len(vm.messages())
		rspamd_log_before = len(rs.read_log())

		def phase(prefix, n, conns, rounds):
			"""Every set-up sends messages 0..n-1 over `conns` connections,
			in `rounds` rounds taking turns (order rotated each round)."""
			results = {prefix + s: [] for s in SETUPS}
			wall = {prefix + s: 0.0 for s in SETUPS}
			per_round = (n + rounds - 1) // rounds
			for r in range(rounds):
				order = SETUPS[r % 3:] + SETUPS[:r % 3]
				items = [(i, msgs[i % len(msgs)][0], msgs[i % len(msgs)][1])
					 for i in range(r * per_round, min(n, (r + 1) * per_round))]
				for setup in order:
					pf.reload(smtpd_milters=addr[setup], non_smtpd_milters="$smtpd_milters")
					time.sleep(1.0)  # old smtpd processes finish; new ones take the setting
					took = send_round(pf, prefix + setup, items, conns, results)
					wall[prefix + setup] += took
					print("%s round %d %-6s %5d messages, %d connection(s): %6.1f s %6.0f msg/s"
					      % (prefix or "T", r + 1, setup, len(items), conns, took, len(items) / took),
					      flush=True)
			return results, wall

		res_t, wall_t = phase("", len(msgs), a.conns, a.rounds)
		res_l, wall_l = phase("lat", a.latency_messages, 1, 2)
		rs_cpu = vs.cpu_delta(cpu_before, rs.cpu_snapshot())
		pf.wait_idle(600)
		time.sleep(1)
		delivered = bench_ids(pf.delivered())
		quarantined = bench_ids(glob.glob(os.path.join(qdir, "new", "*")))
		report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
			  "commit": git_commit(), "cpu": cpu_model(), "cpus": os.cpu_count(),
			  "messages_per_setup": len(msgs), "latency_messages_per_setup": a.latency_messages,
			  "distinct_messages": distinct, "connections": a.conns, "rounds": a.rounds,
			  "throughput": {}, "latency": {},
			  # Other work on the machine shows in the tails: say how busy it was.
			  "loadavg_before": load_before, "loadavg_after": os.getloadavg()}

		def account(results, wall, prefix, out):
			base_lat = [r[3] * 1000 for r in results[prefix + "none"] if r[1] == 250]
			for setup in SETUPS:
				res = results[prefix + setup]
				codes = {}
				for r in res:
					codes[r[1] // 100] = codes.get(r[1] // 100, 0) + 1
				sent = set(r[0] for r in res)
				d = set(delivered.get(prefix + setup, []))
				q = set(quarantined.get(prefix + setup, []))
				rej = set(r[0] for r in res if r[1] // 100 == 5)
				lat = [r[3] * 1000 for r in res]
				lost = sorted(sent - d - q - rej)
				st = {"sent": len(res), "delivered": len(d), "quarantined": len(q), "rejected": len(rej),
				      "tempfailed": codes.get(4, 0), "errors": codes.get(0, 0), "lost": len(lost),
				      "lost_examples": lost[:5],
				      "accounted": len(sent) == len(res) and sent == d | q | rej and
				      len(d) + len(q) + len(rej) == len(sent),
				      "messages_per_s": len(res) / wall[prefix + setup] if wall[prefix + setup] else 0,
				      "smtp_ms": {"p50": percentile(lat, 50), "p90": percentile(lat, 90),
						  "p99": percentile(lat, 99), "max": max(lat) if lat else None}}
				if setup != "none":
					st["added_ms"] = {"p50": st["smtp_ms"]["p50"] - percentile(base_lat, 50),
							  "p99": st["smtp_ms"]["p99"] - percentile(base_lat, 99)}
				out[setup] = st

		account(res_t, wall_t, "", report["throughput"])
		account(res_l, wall_l, "lat", report["latency"])
		# The milters' own time per message, over both phases.
		vl = vm.messages()[vigil_lines_before:]
		col = lambda k: [float(m[k]) for m in vl if k in m]
		report["vigil_own_ms"] = {
			"what": "vigil's log, every message of both phases: cb = time inside its callbacks "
				"(what the MTA waits for, end of message included); eom = the end-of-message "
				"callback (scan, headers, quarantine write); msg = MAIL FROM to the final reply",
			"lines": len(vl),
			"cb_p50": percentile(col("cb_ms"), 50), "cb_p99": percentile(col("cb_ms"), 99),
			"eom_p50": percentile(col("eom_ms"), 50), "eom_p99": percentile(col("eom_ms"), 99),
			"msg_p50": percentile(col("msg_ms"), 50), "msg_p99": percentile(col("msg_ms"), 99)}
		rlog = rs.read_log()[rspamd_log_before:]
		rtimes = [float(x) for x in re.findall(r"rspamd_task_write_log: .*?time: ([\d.]+)ms", rlog)]
		dns = sum(int(x) for x in re.findall(r"rspamd_task_write_log: .*?dns req: (\d+)", rlog))
		report["rspamd_own_ms"] = {
			"what": "rspamd's log, every message of both phases: task time",
			"lines": len(rtimes), "task_p50": percentile(rtimes, 50), "task_p99": percentile(rtimes, 99),
			"dns_requests": dns, "cpu_s": rs_cpu}
		t, l = report["throughput"], report["latency"]
		floors = {
			"vigil_added_p99_below_rspamd": l["vigil"]["added_ms"]["p99"] < l["rspamd"]["added_ms"]["p99"],
			"vigil_added_p99_below_5ms": l["vigil"]["added_ms"]["p99"] < MAX_ADDED_P99_MS,
			"vigil_nothing_lost": all(x["vigil"]["accounted"] and x["vigil"]["tempfailed"] == 0 and
						  x["vigil"]["errors"] == 0 for x in (t, l)) and t["vigil"]["sent"] == len(msgs),
			"rspamd_nothing_lost": all(x["rspamd"]["accounted"] and x["rspamd"]["tempfailed"] == 0 and
						   x["rspamd"]["errors"] == 0 for x in (t, l)),
			"rspamd_offline": dns == 0,
		}
		report["floors"] = floors
		os.makedirs(os.path.dirname(a.out), exist_ok=True)
		with open(a.out, "w") as f:
			json.dump(report, f, indent=1)
		for title, block in (("throughput: %d messages each, %d connections" % (len(msgs), a.conns), t),
				     ("latency: %d messages each, one connection" % a.latency_messages, l)):
			print()
			print(title)
			print("%-7s %8s %9s %9s %10s %10s %5s  %s" % ("setup", "msg/s", "smtp p50", "smtp p99",
			      "added p50", "added p99", "lost", "delivered/quarantined/rejected/tempfailed"))
			for setup in SETUPS:
				x = block[setup]
				ad = x.get("added_ms", {"p50": 0.0, "p99": 0.0})
				print("%-7s %8.0f %7.2fms %7.2fms %8.2fms %8.2fms %5d  %d/%d/%d/%d" % (
				      setup, x["messages_per_s"], x["smtp_ms"]["p50"], x["smtp_ms"]["p99"], ad["p50"],
				      ad["p99"], x["lost"], x["delivered"], x["quarantined"], x["rejected"], x["tempfailed"]))
		v, r_ = report["vigil_own_ms"], report["rspamd_own_ms"]
		print()
		print("vigil's own time: in callbacks p50 %.2f ms p99 %.2f ms; end of message p50 %.2f ms p99 %.2f ms; "
		      "MAIL FROM to reply p50 %.2f ms p99 %.2f ms (%d messages)" % (v["cb_p50"], v["cb_p99"], v["eom_p50"],
		      v["eom_p99"], v["msg_p50"], v["msg_p99"], v["lines"]))
		print("rspamd's own task time: p50 %.2f ms p99 %.2f ms (%d tasks, %d DNS requests, %.1f CPU s)"
		      % (r_["task_p50"], r_["task_p99"], r_["lines"], r_["dns_requests"], r_["cpu_s"]))
		print("load average (1, 5, 15 min) before %.1f %.1f %.1f, after %.1f %.1f %.1f on %d CPUs"
		      % (tuple(report["loadavg_before"]) + tuple(report["loadavg_after"]) + (os.cpu_count(),)))
		for k, ok in floors.items():
			print("floor %-32s %s" % (k, "PASS" if ok else "FAIL"))
		print("results in %s" % a.out)
		status = 0 if all(floors.values()) else 1
	finally:
		keep = os.environ.get("BENCH_KEEP") == "1"
		pf.stop(keep=keep)
		vm.stop()
		if rs:
			rs.stop()
		if keep:
			print("kept %s and %s" % (work, pf.dir))
		else:
			shutil.rmtree(work, ignore_errors=True)
	return status


if __name__ == "__main__":
	sys.exit(main())
