#!/usr/bin/env python3
# Detection speed next to rspamd 3.4: every message of the real corpora scanned
# with all of vigil's detectors, and the same messages fed with `rspamc` to a
# private rspamd started on loopback with its network checks turned off,
# alternated A B A B in one run, medians compared per CPU-second.
# Floors: vigil scans at least 5x as many messages per CPU-second as rspamd;
# vigil's peak RSS under 256 MiB.
# vigil writes what rspamc writes: a readable verdict per message, its score
# and the reasons (--format text). Its JSON Lines output, every artifact of
# every message (URLs with all their context, hashes, hops), is measured in
# the same rounds and reported beside it: it costs a fifth more CPU.
"""usage: vs-rspamd.py [--build DIR] [--corpus DIR] [--runs N] [--lists synthetic|none] [--out JSON]"""

import argparse
import ctypes
import datetime
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import RunError, collect, cpu_model, git_commit, stat_path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MIN_RATIO = 5.0
MAX_RSS_BYTES = 256 << 20
CORPORA = ["real/phishing_pot", "real/spamassassin/easy-ham-1",
	   "real/spamassassin/hard-ham-1", "real/spamassassin/spam-1"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The stock configuration the private one builds on (what the package installs).
STOCK_CONFDIR = "/etc/rspamd"
HS_READY_TIMEOUT = 300
START_TIMEOUT = 120


class Unavailable(Exception):
	"""rspamd cannot be installed or started here."""


# ---------------------------------------------------------------- rspamd setup

def have_rspamd():
	return shutil.which("rspamd") and shutil.which("rspamc")


def system_rspamd_pids(exclude=()):
	"""pids of rspamd processes that are not ours (a system service)."""
	pids = []
	for d in os.listdir("/proc"):
		if not d.isdigit() or int(d) in exclude:
			continue
		try:
			with open("/proc/%s/comm" % d) as f:
				if f.read().strip() == "rspamd":
					pids.append(int(d))
		except OSError:
			pass
	return pids


def stop_system_service(disable):
	"""Stops the rspamd service the package may have started; disables it
	at boot when this script installed the package."""
	if os.path.isdir("/run/systemd/system") and shutil.which("systemctl"):
		subprocess.run(["systemctl", "stop", "rspamd.service"], capture_output=True)
		if disable:
			subprocess.run(["systemctl", "disable", "rspamd.service"], capture_output=True)
	elif os.path.exists("/etc/init.d/rspamd"):
		subprocess.run(["/etc/init.d/rspamd", "stop"], capture_output=True)
		if disable and shutil.which("update-rc.d"):
			subprocess.run(["update-rc.d", "rspamd", "disable"], capture_output=True)


def install_rspamd():
	"""Installs Debian's rspamd when missing. Returns True when this run
	installed it. Raises Unavailable when it cannot."""
	if have_rspamd():
		return False
	if os.geteuid() != 0:
		raise Unavailable("rspamd is not installed and this is not root: "
				  "install it with `apt-get install --no-install-recommends rspamd`")
	if not shutil.which("apt-get"):
		raise Unavailable("rspamd is not installed and there is no apt-get")
	env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
	# No recommends: they pull in redis-server, which would start a service
	# and that this benchmark must not use.
	cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "rspamd"]
	print("vs-rspamd: installing rspamd: %s" % " ".join(cmd), flush=True)
	r = subprocess.run(cmd, env=env, capture_output=True, text=True)
	if r.returncode != 0:
		subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
		r = subprocess.run(cmd, env=env, capture_output=True, text=True)
	if r.returncode != 0 or not have_rspamd():
		raise Unavailable("could not install rspamd (apt-get exited %d): %s"
				  % (r.returncode, (r.stdout + r.stderr)[-1500:]))
	# The package starts the system service where policy allows it.
	stop_system_service(disable=True)
	return True


def free_port(kind):
	"""A loopback port free at this moment (TCP or UDP)."""
	s = socket.socket(socket.AF_INET, kind)
	try:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]
	finally:
		s.close()


def write_config(confdir, port, ctl_port, dns_port):
	"""The private configuration: the stock /etc/rspamd modules and rules,
	through our own top-level file (only the workers we want, on loopback)
	and our own local.d (the network checks off)."""
	local = os.path.join(confdir, "local.d")
	os.makedirs(local)
	os.makedirs(os.path.join(confdir, "override.d"))
	top = """# vigil bench/vs-rspamd: private rspamd configuration (generated).
.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}
logging {
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    .include "$CONFDIR/logging.inc"
}
worker "normal" {
    bind_socket = "127.0.0.1:%d";
    .include "$CONFDIR/worker-normal.inc"
    count = 2;
}
worker "controller" {
    bind_socket = "127.0.0.1:%d";
    .include "$CONFDIR/worker-controller.inc"
}
""" % (port, ctl_port)
	files = {
		"rspamd.conf": top,
		# dkim and fuzzy_check are C modules: off in the filter list too.
		"local.d/options.inc": """filters = "chartable,regexp";
dns {
    nameserver = ["127.0.0.1:%d"];
    timeout = 0.05s;
    retransmits = 0;
}
""" % dns_port,
		"local.d/hfilter.conf": "from_enabled = false;\n",
		"local.d/phishing.conf": "phishtank_enabled = false;\nopenphish_enabled = false;\n",
	}
	for m in ("rbl", "asn", "spf", "dkim", "dmarc", "arc", "fuzzy_check", "once_received"):
		files["local.d/%s.conf" % m] = "enabled = false;\n"
	for name, text in files.items():
		with open(os.path.join(confdir, name), "w") as f:
			f.write(text)
	return sorted(files)


def pdeathsig():
	"""In the child: rspamd gets SIGTERM if this harness dies (even by SIGKILL)."""
	try:
		ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
	except Exception:
		pass


class Rspamd:
	def __init__(self, workdir):
		self.dir = workdir
		self.port = free_port(socket.SOCK_STREAM)
		self.ctl_port = free_port(socket.SOCK_STREAM)
		while self.ctl_port == self.port:
			self.ctl_port = free_port(socket.SOCK_STREAM)
		# Nothing listens there: every query would fail at once.
		self.dns_port = free_port(socket.SOCK_DGRAM)
		self.proc = None
		self.log = os.path.join(workdir, "log", "rspamd.log")
		self.config_files = None
		self.argv = None

	def start(self):
		self.config_files = write_config(self.dir, self.port, self.ctl_port, self.dns_port)
		for sub in ("db", "run", "log"):
			os.makedirs(os.path.join(self.dir, sub))
		os.chmod(self.dir, 0o755)
		argv = ["rspamd", "-f", "-c", os.path.join(self.dir, "rspamd.conf"),
			"--var=CONFDIR=" + STOCK_CONFDIR, "--var=LOCAL_CONFDIR=" + self.dir,
			"--var=DBDIR=" + os.path.join(self.dir, "db"),
			"--var=RUNDIR=" + os.path.join(self.dir, "run"),
			"--var=LOGDIR=" + os.path.join(self.dir, "log")]
		if os.geteuid() == 0:
			# Workers run as the package's unprivileged user, never as root.
			try:
				pw = pwd.getpwnam("_rspamd")
				for sub in ("db", "run", "log"):
					os.chown(os.path.join(self.dir, sub), pw.pw_uid, pw.pw_gid)
				argv += ["-u", "_rspamd", "-g", "_rspamd"]
			except KeyError:
				argv += ["-i"]
		self.argv = argv
		out = open(os.path.join(self.dir, "log", "stdout.txt"), "wb")
		self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
					     stderr=subprocess.STDOUT, preexec_fn=pdeathsig)
		out.close()
		# Listening, then every normal worker has its hyperscan database
		# (before that, regexps run through PCRE: not the steady state).
		t0 = time.monotonic()
		while True:
			if self.proc.poll() is not None:
				raise Unavailable("rspamd exited %d at start: %s"
						  % (self.proc.returncode, self.tail()))
			if time.monotonic() - t0 > START_TIMEOUT:
				raise Unavailable("rspamd did not listen on 127.0.0.1:%d within %d s: %s"
						  % (self.port, START_TIMEOUT, self.tail()))
			try:
				socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
				break
			except OSError:
				time.sleep(0.5)
		while True:
			normal = self.normal_pids()
			ready = set(int(p) for p in re.findall(
				r"#(\d+)\(normal\).*hyperscan database.*has been loaded", self.read_log()))
			if normal and set(normal) <= ready:
				break
			if self.proc.poll() is not None:
				raise Unavailable("rspamd exited %d: %s" % (self.proc.returncode, self.tail()))
			if time.monotonic() - t0 > HS_READY_TIMEOUT:
				print("vs-rspamd: warning: rspamd workers did not report a hyperscan "
				      "database within %d s; measuring anyway" % HS_READY_TIMEOUT,
				      file=sys.stderr)
				break
			time.sleep(0.5)
		return time.monotonic() - t0

	def read_log(self):
		try:
			with open(self.log, errors="replace") as f:
				return f.read()
		except OSError:
			return ""

	def tail(self):
		text = self.read_log()
		try:
			with open(os.path.join(self.dir, "log", "stdout.txt"), errors="replace") as f:
				text += f.read()
		except OSError:
			pass
		return text[-2000:]

	def pids(self):
		"""rspamd's main process and all its descendants."""
		if self.proc is None or self.proc.poll() is not None:
			return []
		children = {}
		for d in os.listdir("/proc"):
			if not d.isdigit():
				continue
			try:
				with open("/proc/%s/stat" % d) as f:
					st = f.read()
			except OSError:
				continue
			ppid = int(st[st.rindex(")") + 2:].split()[1])
			children.setdefault(ppid, []).append(int(d))
		out, todo = [], [self.proc.pid]
		while todo:
			p = todo.pop()
			out.append(p)
			todo.extend(children.get(p, []))
		return out

	def normal_pids(self):
		res = []
		for p in self.pids():
			try:
				with open("/proc/%d/cmdline" % p, "rb") as f:
					if b"normal process" in f.read():
						res.append(p)
			except OSError:
				pass
		return res

	def cpu_snapshot(self):
		"""{(pid, starttime): cpu seconds} for rspamd's processes; reaped
		children's time is in main's cutime+cstime, counted under key 'reaped'."""
		snap = {}
		for p in self.pids():
			try:
				with open("/proc/%d/stat" % p) as f:
					st = f.read()
			except OSError:
				continue
			fields = st[st.rindex(")") + 2:].split()
			# fields[0] is field 3 (state): utime 14, stime 15, cutime 16,
			# cstime 17, starttime 22.
			utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
			snap[(p, fields[19])] = (utime + stime) / CLK_TCK
			if p == self.proc.pid:
				snap["reaped"] = (cutime + cstime) / CLK_TCK
		return snap

	def memory(self):
		"""{pid: (role, VmHWM bytes, VmRSS bytes)}."""
		res = {}
		for p in self.pids():
			try:
				with open("/proc/%d/cmdline" % p, "rb") as f:
					role = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
				with open("/proc/%d/status" % p) as f:
					st = f.read()
			except OSError:
				continue
			hwm = re.search(r"VmHWM:\s+(\d+) kB", st)
			rss = re.search(r"VmRSS:\s+(\d+) kB", st)
			res[p] = (role, int(hwm.group(1)) * 1024 if hwm else 0,
				  int(rss.group(1)) * 1024 if rss else 0)
		return res

	def stop(self):
		if self.proc is None:
			return
		if self.proc.poll() is None:
			pids = self.pids()
			self.proc.terminate()
			try:
				self.proc.wait(timeout=20)
			except subprocess.TimeoutExpired:
				pass
			# Anything left of ours (by pid, recorded above) is killed.
			for p in pids:
				try:
					os.kill(p, signal.SIGKILL)
				except OSError:
					pass
			try:
				self.proc.wait(timeout=5)
			except subprocess.TimeoutExpired:
				pass


def cpu_delta(before, after):
	total = 0.0
	for k, v in after.items():
		total += v - before.get(k, 0.0)
	return total


# ---------------------------------------------------------------- measuring

def timed(runstat, argv, stdout, label):
	"""Runs argv under runstat (see benchlib.collect): (stat, stderr)."""
	proc = subprocess.Popen([runstat, stat_path(label)] + argv, stdout=stdout,
				stderr=subprocess.PIPE)
	err = proc.stderr.read()
	proc.wait()
	return collect(label, proc.returncode, err), err
def run_vigil(runstat, vigil, extra, files, fmt="text"):
	# Output through a pipe into a counter, not /dev/null: every record is
	# really written, and the count (lines of JSON; "Verdict:" lines of
	# text) checks every message was scanned.
	counter = ["wc", "-l"] if fmt == "jsonl" else ["grep", "-c", "^  Verdict: "]
	wc = subprocess.Popen(counter, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	argv = [vigil, "scan", "--format", fmt] + extra + files
	try:
		st, err = timed(runstat, argv, wc.stdin, "vs-rspamd-vigil-" + fmt)
	finally:
		wc.stdin.close()
		lines = int(wc.stdout.read().split()[0])
		wc.wait()
	if st["exit"] >= 2 or st["exit"] < 0:
		raise RunError("vigil exited %d: %s" % (st["exit"], err.decode(errors="replace")[-2000:]))
	return {"wall": st["wall"], "cpu": st["user"] + st["sys"], "rss": st["maxrss_bytes"],
		"messages": lines, "exit_code": st["exit"]}


def run_rspamd(runstat, rs, files):
	"""One pass of rspamc over the files; rspamd's CPU from /proc around it."""
	out_path = os.path.join(HERE, "out", ".rspamc-out.txt")
	argv = ["rspamc", "-h", "127.0.0.1:%d" % rs.port, "-n", "16", "-t", "60"] + files
	before = rs.cpu_snapshot()
	with open(out_path, "wb") as out:
		st, err = timed(runstat, argv, out, "vs-rspamd-rspamc")
	after = rs.cpu_snapshot()
	if rs.proc.poll() is not None:
		raise RunError("rspamd exited during the run: %s" % rs.tail())
	with open(out_path, "rb") as f:
		text = f.read().decode(errors="replace")
	os.unlink(out_path)
	results = len(re.findall(r"^Results for file: ", text, re.M))
	actions = len(re.findall(r"^Action: ", text, re.M))
	if st["exit"] != 0 or results != len(files) or actions != len(files):
		raise RunError("rspamc exited %d, %d results and %d actions for %d files: %s %s"
			       % (st["exit"], results, actions, len(files),
				  err.decode(errors="replace")[-1000:], text[-1000:]))
	return {"wall": st["wall"], "cpu": cpu_delta(before, after), "messages": actions,
		"rspamc_cpu": st["user"] + st["sys"], "rspamc_rss": st["maxrss_bytes"]}


def corpus_files(corpus):
	files = []
	for sub in CORPORA:
		d = os.path.join(corpus, sub)
		if not os.path.isdir(d):
			raise Unavailable("%s is missing (--corpus DIR holding real/)" % d)
		for name in sorted(os.listdir(d)):
			p = os.path.join(d, name)
			if name.startswith("LICENSE") or not os.path.isfile(p):
				continue
			files.append(os.path.abspath(p))
	return files


def summary(runs, key_cpu="cpu"):
	wall = statistics.median(r["wall"] for r in runs)
	cpu = statistics.median(r[key_cpu] for r in runs)
	n = runs[0]["messages"]
	return {"messages": n, "wall_s": wall, "cpu_s": cpu, "messages_per_s": n / wall,
		"messages_per_cpu_s": n / cpu if cpu > 0 else float("inf")}


def dns_check(log_text):
	"""Sums the `dns req: N` of every task rspamd logged."""
	counts = [int(x) for x in re.findall(r"dns req: (\d+)", log_text)]
	return {"tasks_logged": len(counts), "dns_requests": sum(counts),
		"tasks_with_dns": sum(1 for c in counts if c)}


def main():
	ap = argparse.ArgumentParser(description=__doc__)
	ap.add_argument("--build", default=os.path.join(ROOT, "build"))
	ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus"))
	ap.add_argument("--runs", type=int, default=3, help="runs of each, at least 3 (default 3)")
	ap.add_argument("--lists", choices=["synthetic", "none"], default="synthetic",
			help="vigil's lists: the synthetic archive's members and protected "
			     "identities (default: every detector has something to match), or none")
	ap.add_argument("--out", default=os.path.join(HERE, "out", "vs-rspamd.json"))
	args = ap.parse_args()
	if args.runs < 3:
		ap.error("--runs must be at least 3: a median of fewer says little on a noisy machine")

	vigil = os.path.join(args.build, "vigil")
	if not os.access(vigil, os.X_OK):
		vigil = os.path.join(args.build, "src", "cli", "vigil")
	runstat = os.path.join(args.build, "bench", "runstat")
	for exe in (vigil, runstat):
		if not os.access(exe, os.X_OK):
			print("vs-rspamd: %s missing: build first (ninja -C %s)" % (exe, args.build),
			      file=sys.stderr)
			return 2
	os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
	for name in ("vs-rspamd-vigil.stderr", "vs-rspamd-rspamc.stderr"):
		try:
			os.unlink(os.path.join(HERE, "out", name))
		except FileNotFoundError:
			pass

	try:
		files = corpus_files(args.corpus)
	except Unavailable as e:
		print("vs-rspamd: %s" % e, file=sys.stderr)
		return 2
	extra = []
	lists = "none (shipped data/vigil.conf only)"
	if args.lists == "synthetic":
		syn = os.path.join(args.corpus, "synthetic")
		members, protected = os.path.join(syn, "members.txt"), os.path.join(syn, "protected.tsv")
		if os.path.isfile(members) and os.path.isfile(protected):
			extra = ["--members", members, "--protected", protected]
			lists = "synthetic members.txt + protected.tsv, shipped data/vigil.conf"
		else:
			print("vs-rspamd: %s has no members.txt/protected.tsv: vigil runs without lists"
			      % syn, file=sys.stderr)

	try:
		installed = install_rspamd()
	except Unavailable as e:
		print("vs-rspamd: ERROR: rspamd unavailable: %s" % e, file=sys.stderr)
		return 2
	version = subprocess.run(["rspamd", "--version"], capture_output=True,
				 text=True).stdout.strip()
	foreign = system_rspamd_pids()
	if foreign:
		print("vs-rspamd: warning: another rspamd is running (pids %s); it is not measured "
		      "but competes for the CPUs" % foreign, file=sys.stderr)

	total_bytes = sum(os.path.getsize(f) for f in files)
	print("vs-rspamd: %d messages (%.1f MB) from %s, %d runs each, A B A B"
	      % (len(files), total_bytes / 1e6, os.path.abspath(args.corpus), args.runs))
	print("  vigil lists: %s" % lists)
	print("  %s, %s" % (version, "installed by this run" if installed else "already installed"))

	workdir = tempfile.mkdtemp(prefix="vigil-vs-rspamd-")
	rs = Rspamd(workdir)
	# A SIGTERM to the harness still stops rspamd (finally below).
	signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
	vigil_runs, rspamd_runs, jsonl_runs = [], [], []
	try:
		try:
			ready = rs.start()
		except Unavailable as e:
			print("vs-rspamd: ERROR: %s" % e, file=sys.stderr)
			return 2
		print("  rspamd on 127.0.0.1:%d (controller :%d, resolver 127.0.0.1:%d where nothing "
		      "listens), ready with hyperscan after %.1f s" % (rs.port, rs.ctl_port, rs.dns_port, ready),
		      flush=True)
		try:
			# Warm-up, not timed: the page cache for both; rspamd's Lua and
			# lazily loaded state.
			run_vigil(runstat, vigil, extra, files)
			w = run_rspamd(runstat, rs, files)
			print("  warm-up  rspamd %6.2f s wall  %6.2f s cpu" % (w["wall"], w["cpu"]), flush=True)
			for i in range(args.runs):
				v = run_vigil(runstat, vigil, extra, files)
				vigil_runs.append(v)
				print("  run %d  vigil   %6.2f s wall  %6.2f s cpu  %6.1f MiB  %d verdicts (exit %d)"
				      % (i + 1, v["wall"], v["cpu"], v["rss"] / 2**20, v["messages"], v["exit_code"]),
				      flush=True)
				j = run_vigil(runstat, vigil, extra, files, fmt="jsonl")
				jsonl_runs.append(j)
				print("  run %d  (jsonl) %6.2f s wall  %6.2f s cpu  %6.1f MiB  %d lines (exit %d)"
				      % (i + 1, j["wall"], j["cpu"], j["rss"] / 2**20, j["messages"], j["exit_code"]),
				      flush=True)
				r = run_rspamd(runstat, rs, files)
				rspamd_runs.append(r)
				print("  run %d  rspamd  %6.2f s wall  %6.2f s cpu  (rspamc %.2f s cpu)  %d results"
				      % (i + 1, r["wall"], r["cpu"], r["rspamc_cpu"], r["messages"]), flush=True)
		except RunError as e:
			print("vs-rspamd: ERROR: %s" % e, file=sys.stderr)
			return 2
		mem = rs.memory()
	finally:
		rs.stop()
		log_text = rs.read_log()
		try:
			shutil.copyfile(rs.log, os.path.join(HERE, "out", "vs-rspamd-rspamd.log"))
		except OSError:
			pass
		shutil.rmtree(workdir, ignore_errors=True)
		if installed:
			stop_system_service(disable=True)
	left = system_rspamd_pids()
	if left and not foreign:
		print("vs-rspamd: warning: rspamd processes still running: %s" % left, file=sys.stderr)

	dns = dns_check(log_text)
	expected_tasks = len(files) * (args.runs + 1)
	V = summary(vigil_runs)
	V["peak_rss_bytes"] = max(r["rss"] for r in vigil_runs)
	J = summary(jsonl_runs)
	J["peak_rss_bytes"] = max(r["rss"] for r in jsonl_runs)
	R = summary(rspamd_runs)
	workers = [(p, m) for p, m in mem.items() if "normal process" in m[0]]
	R["peak_rss_bytes"] = max((m[1] for _, m in workers), default=0)
	R["peak_rss_all_processes_bytes"] = sum(m[1] for m in mem.values())
	R["rspamc_cpu_s"] = statistics.median(r["rspamc_cpu"] for r in rspamd_runs)
	R["messages_per_cpu_s_with_rspamc"] = R["messages"] / statistics.median(
		r["cpu"] + r["rspamc_cpu"] for r in rspamd_runs)
	ratio = V["messages_per_cpu_s"] / R["messages_per_cpu_s"]
	ratio_jsonl = J["messages_per_cpu_s"] / R["messages_per_cpu_s"]
	counts_agree = all(r["messages"] == len(files) for r in vigil_runs + jsonl_runs + rspamd_runs)
	dns_ok = dns["dns_requests"] == 0 and dns["tasks_logged"] >= expected_tasks
	checks = {
		"messages_agree": counts_agree,
		"rspamd_dns_requests_0": dns_ok,
		"msgs_per_cpu_s_ratio_ge_%.0f" % MIN_RATIO: ratio >= MIN_RATIO,
		"vigil_peak_rss_lt_256MiB": max(V["peak_rss_bytes"], J["peak_rss_bytes"]) < MAX_RSS_BYTES,
	}
	ok = all(checks.values())

	print()
	print("  %-8s %9s %9s %9s %11s %13s %11s"
	      % ("", "messages", "wall s", "CPU s", "messages/s", "msgs/CPU-s", "peak RSS"))
	for name, s in (("vigil", V), ("(jsonl)", J), ("rspamd", R)):
		print("  %-8s %9d %9.2f %9.2f %11.0f %13.0f %7.1f MiB"
		      % (name, s["messages"], s["wall_s"], s["cpu_s"], s["messages_per_s"],
			 s["messages_per_cpu_s"], s["peak_rss_bytes"] / 2**20))
	print("  (medians of %d runs; rspamd CPU = main + workers from /proc, rspamc's own %.2f s "
	      "not counted (with it: %.0f msgs/CPU-s); rspamd RSS = largest normal worker VmHWM, "
	      "all %d processes together %.1f MiB)"
	      % (args.runs, R["rspamc_cpu_s"], R["messages_per_cpu_s_with_rspamc"], len(mem),
		 R["peak_rss_all_processes_bytes"] / 2**20))
	print()
	print("  messages: %d files, vigil %s, rspamd %s  %s"
	      % (len(files), sorted({r["messages"] for r in vigil_runs + jsonl_runs}),
		 sorted({r["messages"] for r in rspamd_runs}), "ok" if counts_agree else "MISMATCH"))
	print("  rspamd DNS: %d requests over %d logged tasks (expected %d)  %s"
	      % (dns["dns_requests"], dns["tasks_logged"], expected_tasks, "ok" if dns_ok else "NOT OFFLINE"))
	print("  messages per CPU-second, vigil/rspamd: %.2fx (floor >= %.0fx)  %s"
	      % (ratio, MIN_RATIO, "PASS" if ratio >= MIN_RATIO else "FAIL"))
	print("  with vigil writing every artifact as JSON Lines instead: %.2fx" % ratio_jsonl)
	print("  vigil peak RSS: %.1f MiB (floor < 256 MiB)  %s"
	      % (max(V["peak_rss_bytes"], J["peak_rss_bytes"]) / 2**20,
		 "PASS" if checks["vigil_peak_rss_lt_256MiB"] else "FAIL"))
	print("  vs-rspamd: %s" % ("PASS" if ok else "FAIL"))

	result = {
		"benchmark": "vs-rspamd",
		"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
		"commit": git_commit(),
		"host": {"cpu": cpu_model(), "cpus": os.cpu_count(), "kernel": platform.release()},
		"corpus": {"path": os.path.abspath(args.corpus), "dirs": CORPORA,
			   "messages": len(files), "bytes": total_bytes},
		"runs_each": args.runs,
		"vigil": dict(V, lists=lists, threads="default (one per CPU)",
			      command=[vigil, "scan", "--format", "text"] + extra + ["<%d files>" % len(files)],
			      runs=vigil_runs),
		"vigil_jsonl": dict(J, command=[vigil, "scan", "--format", "jsonl"] + extra
				    + ["<%d files>" % len(files)], runs=jsonl_runs),
		"ratio_msgs_per_cpu_s_jsonl": ratio_jsonl,
		"rspamd": dict(R, version=version, installed_by_this_run=installed,
			       command=["rspamc", "-h", "127.0.0.1:%d" % rs.port, "-n", "16", "-t", "60",
					"<%d files>" % len(files)],
			       server=rs.argv,
			       private_config=rs.config_files,
			       disabled=["rbl", "asn", "spf", "dkim", "dmarc", "arc", "fuzzy_check",
					 "once_received", "hfilter.from_enabled",
					 "phishing.phishtank_enabled", "phishing.openphish_enabled"],
			       normal_workers=2,
			       resolver={"nameserver": "127.0.0.1:%d (nothing listens)" % rs.dns_port,
					 "timeout_s": 0.05, "retransmits": 0},
			       dns=dns,
			       processes={str(p): {"role": m[0], "vmhwm_bytes": m[1], "vmrss_bytes": m[2]}
					  for p, m in mem.items()},
			       runs=rspamd_runs),
		"ratio_msgs_per_cpu_s": ratio,
		"floors": {"min_ratio_msgs_per_cpu_s": MIN_RATIO, "max_rss_bytes": MAX_RSS_BYTES},
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
	try:
		sys.exit(main())
	except SystemExit:
		raise
	except Exception:
		import traceback
		traceback.print_exc()
		sys.exit(2)
