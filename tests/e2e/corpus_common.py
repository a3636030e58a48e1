"""Shared by the corpus tests: finding ../shared/corpus and running vigil."""
import json
import os
import subprocess
import sys

SKIP = 77  # meson's "skipped" status


def corpus_or_skip(path):
    """Returns the corpus path, or ends the test saying plainly it is absent.
    In CI (CI=true) the corpus must be there: absence is a failure."""
    if os.path.isdir(path):
        return os.path.realpath(path)
    print(f"corpus absent: {path} not found; the corpus suite did not run. "
          "Only the repository's own tests ran.")
    sys.exit(1 if os.environ.get("CI") == "true" else SKIP)


def scan(vigil, paths, timeout=600, extra=()):
    """Runs vigil scan --format jsonl; returns (returncode, objects, stderr)."""
    proc = subprocess.run([vigil, "scan", "--format", "jsonl", *extra, *paths],
                          capture_output=True, timeout=timeout)
    objs = [json.loads(l) for l in proc.stdout.decode().splitlines() if l.strip()]
    return proc.returncode, objs, proc.stderr.decode(errors="replace")


class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, ok, what):
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
