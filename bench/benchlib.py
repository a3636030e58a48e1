"""What the benchmark scripts share: the error a run that cannot count
raises, reading runstat's measurement of one run, and facts about the host."""
import json
import os
import platform
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class RunError(Exception):
	"""A run that cannot count as a measurement (crash, bad exit, bad output)."""


def stat_path(label):
	"""Where runstat writes its record of the run called `label`."""
	return os.path.join(HERE, "out", ".runstat-%s.json" % label)


def collect(label, returncode, err, stderr_name=None):
	"""Reads runstat's record of the run `label` (started with
	stat_path(label)), keeps its stderr in bench/out/<stderr_name or
	label>.stderr, and refuses a run killed by a signal: a crash is never a
	measurement. Returns the record."""
	path = stat_path(label)
	try:
		with open(path) as f:
			st = json.load(f)
		os.unlink(path)
	except (OSError, ValueError):
		raise RunError("%s: no measurement (runstat exited %d): %s"
			       % (label, returncode, err.decode(errors="replace")[-2000:]))
	if err:
		with open(os.path.join(HERE, "out", (stderr_name or label) + ".stderr"), "ab") as f:
			f.write(err)
	if st["signal"]:
		raise RunError("%s killed by signal %d: %s"
			       % (label, st["signal"], err.decode(errors="replace")[-2000:]))
	return st


def cpu_model():
	try:
		with open("/proc/cpuinfo") as f:
			for line in f:
				if line.startswith("model name"):
					return line.split(":", 1)[1].strip()
	except OSError:
		pass
	return platform.processor()


def git_commit():
	try:
		return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
				      capture_output=True, text=True, check=True).stdout.strip()
	except (OSError, subprocess.CalledProcessError):
		return None
