"""Starting and stopping a real `vigil milter` for the tests and the
benchmark: a config file of the test's own, a free loopback port, the log
on stderr in a file, the daemon in the foreground so the test owns it."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "postfix"))
SKIP = 77

# The options the project's own test messages are judged with (the same as
# tests/e2e/cases): members, protected identities, relays and YARA rules.
CASE_OPTS = ["--members", os.path.join(SRC, "data/samples/members.txt"),
             "--protected", os.path.join(SRC, "data/samples/protected.tsv"),
             "--relays", os.path.join(SRC, "data/samples/relays.txt"),
             "--rules", os.path.join(SRC, "tests/data/rules")]
CASE_MESSAGES = sorted(
    [os.path.join(SRC, "tests/e2e/cases", f) for f in os.listdir(os.path.join(SRC, "tests/e2e/cases"))
     if f.endswith(".eml")] +
    [os.path.join(SRC, "data/samples", f) for f in ("newsletter.eml", "recon-journalist.eml")])


def free_port(start=10900, end=11900):
    for port in range(start, end):
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def config_text(quarantine, **milter):
    """A config: the shipped data lists (absolute paths) and a [milter]
    group with the given keys."""
    data = os.path.join(SRC, "data")
    lines = ["[identities]", f"freemail = {data}/freemail.txt", "[trackers]",
             f"lists = {data}/trackers.txt", "[milter]", f"quarantine = {quarantine}", "log = stderr"]
    lines += [f"{k} = {v}" for k, v in milter.items()]
    return "\n".join(lines) + "\n"


def scan_verdicts(vigil, paths, opts=CASE_OPTS):
    """{path: (verdict, score)} by `vigil scan`: what the milter must agree with."""
    import json
    out = subprocess.run([vigil, "scan", "--format", "jsonl", *opts, *paths],
                         capture_output=True, check=True, timeout=300).stdout
    res = {}
    for line in out.decode().splitlines():
        d = json.loads(line)
        res[os.path.realpath(d["source"]["path"])] = (d["verdict"], d["score"])
    return res


def share(workdir, path):
    """As root the daemon runs as nobody, and rereads its lists and rules on
    SIGHUP: a checkout under /root (CI) is not readable by nobody. Copies
    `path` (file or folder) under workdir/share and returns the copy's path;
    unchanged when not root."""
    if os.geteuid() != 0 or not os.path.exists(path):
        return path
    dst = os.path.join(workdir, "share", os.path.realpath(path).lstrip("/"))
    if not os.path.exists(dst):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.isdir(path):
            shutil.copytree(path, dst)
        else:
            shutil.copy(path, dst)
        for root, dirs, files in os.walk(os.path.join(workdir, "share")):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
    return dst


class Milter:
    def __init__(self, vigil, workdir, conf_text, opts=(), port=None, jobs=None):
        self.vigil = vigil
        self.dir = workdir
        self.conf = os.path.join(workdir, "milter.conf")
        self.write_conf(conf_text)
        self.port = port or free_port()
        self.log = os.path.join(workdir, "milter.log")
        self.opts = [o if o.startswith("-") else share(workdir, o) for o in opts]
        self.jobs = jobs
        self.proc = None

    def write_conf(self, text):
        """(Re)writes the config file, its data lists made readable."""
        data = os.path.join(SRC, "data")
        for name in ("freemail.txt", "trackers.txt"):
            text = text.replace(f"{data}/{name}", share(self.dir, f"{data}/{name}"))
        with open(self.conf + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.conf + ".tmp", self.conf)

    def argv(self):
        a = [self.vigil, "milter", "--foreground", "--config", self.conf,
             "--socket", f"inet:{self.port}@127.0.0.1", *self.opts]
        if self.jobs:
            a += ["--jobs", str(self.jobs)]
        if os.geteuid() == 0:
            a += ["--user", "nobody"]
        return a

    def start(self, timeout=30):
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=self._logf)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vigil milter exited {self.proc.returncode}:\n{self.log_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("vigil milter does not listen:\n" + self.log_text())

    @property
    def address(self):
        return ("127.0.0.1", self.port)

    @property
    def postfix_address(self):
        return f"inet:127.0.0.1:{self.port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._logf.close()
        return self.proc.returncode if self.proc else None

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self._logf.close()

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=10, count=1):
        """Waits until `pattern` (a regex) matches `count` lines of the log."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(re.findall(pattern, self.log_text(), re.M)) >= count:
                return True
            time.sleep(0.05)
        return False

    def messages(self):
        """The per-message log lines as dicts (qid, verdict, action, ...)."""
        out = []
        for line in self.log_text().splitlines():
            if " qid=" not in line:
                continue
            d = {}
            for m in re.finditer(r'(\w+)=("([^"]*)"|\S+)', line.split("]: ", 1)[1]):
                d[m.group(1)] = m.group(3) if m.group(3) is not None else m.group(2)
            out.append(d)
        return out
