"""A private Postfix for tests: Debian's postfix package run from a temporary
directory (its own config, queue and data directories), listening on one
127.0.0.1 port >= 10025, delivering every recipient of every domain to one
Maildir. Nothing is sent off the machine: there is no relay, no DNS, no
local delivery. Used by the milter tests and benchmark; meant for any test
that needs a real MTA on loopback (vigil notify's SMTP tests).

    from harness import Postfix
    pf = Postfix()                       # or Postfix(port=10030)
    pf.start(milter="inet:127.0.0.1:10099", default_action="tempfail")
    pf.send(b"From: ...", "a@x.example", ["b@y.example"])  # -> (code, text)
    pf.submit(b"From: ...", "a@x.example", ["b@y.example"])  # sendmail(1)
    pf.wait_idle()                       # queue empty: delivered or held
    pf.delivered()                       # paths in pf.maildir/new
    pf.stop()                            # stop and remove (keep=True keeps DIR)

Needs root (Postfix's master runs as root and `postfix -c DIR` for a
non-default DIR must be listed in /etc/postfix/main.cf's
alternate_config_directories: start() adds DIR there under a lock, stop()
takes it out again and restores the file as it was when no other instance
needs it). The facts behind each setting are in ../shared/TESTING-NOTES.md
beside the clone, and in the comments below.
"""
import fcntl
import glob
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time

SKIP = 77  # meson's "skipped" status
ETC = "/etc/postfix"
MAIN_CF = os.path.join(ETC, "main.cf")
LOCK = os.path.join(ETC, ".vigil-harness.lock")
# Held from choosing a port until the instance answers on it: two instances
# started at once (two test runs on one machine) must not pick the same one.
START_LOCK = os.path.join(ETC, ".vigil-harness-start.lock")
# What main.cf was before any instance touched it (None: it did not exist).
SAVED = os.path.join(ETC, ".vigil-harness.saved")
POSTFIX = "/usr/sbin/postfix"


class PostfixError(RuntimeError):
    pass


def available():
    """None when a private Postfix can run here, else why not."""
    if os.geteuid() != 0:
        return "not root: Postfix's master must start as root"
    if not os.access(POSTFIX, os.X_OK):
        return "postfix is not installed (scripts/install-deps.sh)"
    if not os.path.isfile(os.path.join(ETC, "master.cf")):
        return "no /etc/postfix/master.cf"
    return None


def free_port(start=10025, end=10999):
    """A 127.0.0.1 TCP port in [start, end] nobody listens on."""
    for port in range(start, end + 1):
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise PostfixError("no free port")


def _edit_alternate_dirs(add=None, remove=None):
    """Adds or removes one directory of alternate_config_directories in
    /etc/postfix/main.cf, under an exclusive lock so that instances started
    at the same time do not lose each other's line. The first edit saves the
    original file; when no harness directory is left it is put back."""
    with open(LOCK, "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if not os.path.exists(SAVED):
            if os.path.exists(MAIN_CF):
                shutil.copy2(MAIN_CF, SAVED)
            else:
                open(SAVED + ".none", "w").close()
                open(SAVED, "w").close()
        lines = open(MAIN_CF).read().splitlines() if os.path.exists(MAIN_CF) else []
        dirs, rest = [], []
        for line in lines:
            if line.startswith("alternate_config_directories"):
                dirs += [d.strip() for d in line.split("=", 1)[1].replace(",", " ").split()]
            else:
                rest.append(line)
        orig = open(SAVED).read().splitlines()
        orig_dirs = []
        for line in orig:
            if line.startswith("alternate_config_directories"):
                orig_dirs += [d.strip() for d in line.split("=", 1)[1].replace(",", " ").split()]
        # Directories of instances that died without stop(): gone from disk.
        dirs = [d for d in dirs if d in orig_dirs or os.path.isdir(d)]
        if add and add not in dirs:
            dirs.append(add)
        if remove in dirs:
            dirs.remove(remove)
        if [d for d in dirs if d not in orig_dirs]:
            with open(MAIN_CF + ".tmp", "w") as f:
                f.write("\n".join(rest + ["alternate_config_directories = " + " ".join(dirs)]) + "\n")
            os.rename(MAIN_CF + ".tmp", MAIN_CF)
        else:
            # No instance left: the file exactly as it was.
            if os.path.exists(SAVED + ".none"):
                if os.path.exists(MAIN_CF):
                    os.unlink(MAIN_CF)
                os.unlink(SAVED + ".none")
            else:
                shutil.copy2(SAVED, MAIN_CF)
            os.unlink(SAVED)


class Postfix:
    """One private Postfix instance. Attributes once started: port, dir,
    maildir (the catch-all Maildir: new/ holds delivered mail), log (the
    maillog file)."""

    def __init__(self, port=None, workdir=None, hostname="mx.vigil-test.example"):
        self.port = port
        self.hostname = hostname
        self.dir = workdir
        self._own_dir = workdir is None
        self.running = False
        self.maildir = self.log = None

    # ---- life cycle ----------------------------------------------------

    def start(self, milter=None, default_action="tempfail", extra=None):
        """Writes the config and starts Postfix. milter: a Postfix milter
        address ("inet:127.0.0.1:PORT", "unix:/path") or None; default_action:
        Postfix's milter_default_action (tempfail, accept, reject); extra: more
        main.cf parameters. Returns self."""
        why = available()
        if why:
            raise PostfixError(why)
        with open(START_LOCK, "a") as start_lock:
            fcntl.flock(start_lock, fcntl.LOCK_EX)
            if self.port is None:
                self.port = free_port()
            if self.dir is None:
                self.dir = tempfile.mkdtemp(prefix="vigil-postfix-")
            self.dir = os.path.realpath(self.dir)
            os.chmod(self.dir, 0o755)
            self.confdir = os.path.join(self.dir, "etc")
            self.queue = os.path.join(self.dir, "queue")
            self.data = os.path.join(self.dir, "data")
            self.mailbase = os.path.join(self.dir, "mail")
            self.maildir = os.path.join(self.mailbase, "catchall")
            self.log = os.path.join(self.dir, "postfix.log")
            for d in (self.confdir, self.queue, self.data, self.mailbase):
                os.makedirs(d, exist_ok=True)
            os.chown(self.data, _uid("postfix"), -1)
            os.chown(self.mailbase, 65534, 65534)
            open(self.log, "a").close()
            os.chown(self.log, _uid("postfix"), -1)
            self._write_main_cf(milter, default_action, extra or {})
            self._write_master_cf()
            _edit_alternate_dirs(add=self.confdir)
            try:
                self._postfix("set-permissions")
                self._postfix("check")
                self._postfix("start")
                self.running = True
                self._wait_listening()
            except Exception:
                self.stop(keep=True)
                raise
        return self

    def stop(self, keep=False):
        """Stops Postfix (waiting for its processes), takes its directory out
        of /etc/postfix/main.cf and removes the temporary directory unless
        keep (or it was given by the caller)."""
        if self.running:
            try:
                self._postfix("stop")
            except PostfixError:
                pass
            self.running = False
        if self.dir and getattr(self, "confdir", None):
            _edit_alternate_dirs(remove=self.confdir)
        if self.dir and self._own_dir and not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def reload(self, **params):
        """Changes main.cf parameters (postconf -e) and reloads Postfix."""
        for k, v in params.items():
            self._run(["postconf", "-c", self.confdir, "-e", f"{k} = {v}"])
        self._postfix("reload")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(keep=bool(exc[0]) and os.environ.get("VIGIL_KEEP_POSTFIX") == "1")

    # ---- mail ----------------------------------------------------------

    def send(self, message, mail_from, rcpt_to, timeout=60):
        """Sends one message (bytes, or a path) over SMTP. Returns (code,
        text) of the reply to the end of DATA (or to the command that
        refused it): 250 accepted, 4xx temporary failure, 5xx rejected."""
        if isinstance(message, str):
            with open(message, "rb") as f:
                message = f.read()
        if isinstance(rcpt_to, str):
            rcpt_to = [rcpt_to]
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.vigil-test.example",
                          timeout=timeout) as s:
            return smtp_transaction(s, message, mail_from, rcpt_to)

    def submit(self, message, mail_from, rcpt_to):
        """Submits one message locally (sendmail -> postdrop -> pickup), the
        path non_smtpd_milters see. Returns sendmail's exit status."""
        if isinstance(message, str):
            with open(message, "rb") as f:
                message = f.read()
        if isinstance(rcpt_to, str):
            rcpt_to = [rcpt_to]
        r = subprocess.run(["/usr/sbin/sendmail", "-C", self.confdir, "-i", "-f", mail_from,
                            "--", *rcpt_to], input=message, capture_output=True, timeout=60)
        return r.returncode

    def delivered(self):
        """Paths of the delivered messages (Maildir new/ and cur/)."""
        return sorted(glob.glob(os.path.join(self.maildir, "new", "*")) +
                      glob.glob(os.path.join(self.maildir, "cur", "*")))

    def queued(self, which=("incoming", "active", "deferred", "hold", "maildrop")):
        """Queue file paths in the given queues ("hold": messages a milter
        quarantined with smfi_quarantine)."""
        out = []
        for q in which:
            for root, _, files in os.walk(os.path.join(self.queue, q)):
                out += [os.path.join(root, f) for f in files]
        return out

    def wait_idle(self, timeout=120, ignore=("hold",)):
        """Waits until no message waits in the incoming, active or maildrop
        queues (deferred ones are counted as idle: they wait for a retry).
        Returns True when idle, False on time-out."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.queued(("incoming", "active", "maildrop")):
                return True
            time.sleep(0.05)
        return False

    def flush(self):
        """Asks Postfix to retry deferred mail now (postqueue -f)."""
        self._run(["postqueue", "-c", self.confdir, "-f"])

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    # ---- internals -----------------------------------------------------

    def _write_main_cf(self, milter, default_action, extra):
        p = {
            "compatibility_level": "3.6",
            "config_directory": self.confdir,
            "queue_directory": self.queue,
            "data_directory": self.data,
            "meta_directory": ETC,
            "myhostname": self.hostname,
            "mydomain": "vigil-test.example",
            "myorigin": "$myhostname",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "mydestination": "",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "relayhost": "",
            "default_transport": "error:this test Postfix sends nothing out",
            "relay_transport": "error:this test Postfix sends nothing out",
            # Every domain is a virtual mailbox domain, every recipient the
            # catch-all Maildir (trailing slash: Maildir, not mbox).
            "virtual_mailbox_domains": "static:all",
            "virtual_mailbox_base": self.mailbase,
            "virtual_mailbox_maps": "static:catchall/",
            "virtual_uid_maps": "static:65534",
            "virtual_gid_maps": "static:65534",
            "virtual_mailbox_limit": "0",
            "message_size_limit": "52428800",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtpd_recipient_restrictions": "permit_mynetworks, reject",
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
            "smtpd_peername_lookup": "no",
            "biff": "no",
            # Tests send fast: no throttling of clients or of the queue.
            "in_flow_delay": "0",
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "default_process_limit": "100",
            "queue_run_delay": "10s",
            "minimal_backoff_time": "10s",
            "maximal_backoff_time": "20s",
            "maillog_file": self.log,
            "maillog_file_prefixes": f"/var, /dev/stdout, {self.dir}",
            "syslog_name": f"postfix-test-{self.port}",
            # Its greeting names its directory: _wait_listening() knows it
            # from another instance's.
            "smtpd_banner": f"$myhostname ESMTP {os.path.basename(self.dir)}",
            "milter_protocol": "6",
            "milter_default_action": default_action,
        }
        if milter:
            p["smtpd_milters"] = milter
            p["non_smtpd_milters"] = "$smtpd_milters"
        p.update(extra)
        with open(os.path.join(self.confdir, "main.cf"), "w") as f:
            for k, v in p.items():
                f.write(f"{k} = {v}\n")

    def _write_master_cf(self):
        out = []
        with open(os.path.join(ETC, "master.cf")) as f:
            for line in f:
                fields = line.split()
                if fields and not line[0].isspace() and not line.startswith("#"):
                    if fields[0] == "smtp" and fields[1] == "inet":
                        line = f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
                    elif len(fields) >= 8:
                        # No chroot: the temporary queue holds none of what
                        # chrooted daemons need (/etc/services, resolv.conf).
                        fields[4] = "n"
                        line = " ".join(fields[:8]) + ("  " + " ".join(fields[8:]) if fields[8:] else "") + "\n"
                out.append(line)
        with open(os.path.join(self.confdir, "master.cf"), "w") as f:
            f.writelines(out)

    def _run(self, argv):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise PostfixError(f"{' '.join(argv)}: exit {r.returncode}: {r.stdout}{r.stderr}"
                               + self._tail())
        return r

    def _postfix(self, cmd):
        return self._run([POSTFIX, "-c", self.confdir, cmd])

    def _tail(self):
        try:
            return "\nlog:\n" + "".join(open(self.log, errors="replace").readlines()[-20:])
        except OSError:
            return ""

    def _wait_listening(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    greeting = s.recv(512)
                    if greeting.startswith(b"220"):
                        if os.path.basename(self.dir).encode() in greeting:
                            return
                        raise PostfixError(f"127.0.0.1:{self.port} answers for another "
                                           f"Postfix: {greeting[:200]!r}")
            except OSError:
                time.sleep(0.05)
        raise PostfixError(f"Postfix does not answer on 127.0.0.1:{self.port}" + self._tail())


def smtp_transaction(s, message, mail_from, rcpt_to):
    """One MAIL/RCPT/DATA on an open smtplib.SMTP; (code, text) of the
    reply that decided (the end of DATA, or the command refused). Leaves
    the session ready for the next transaction (RSET after a refusal)."""
    if not getattr(s, "_vigil_ehlo", False):
        s.ehlo()
        s._vigil_ehlo = True
    code, text = s.mail(mail_from)
    if code != 250:
        s.rset()
        return code, text.decode(errors="replace")
    ok = 0
    last = (0, b"")
    for r in rcpt_to:
        code, text = s.rcpt(r)
        last = (code, text)
        ok += code in (250, 251)
    if not ok:
        s.rset()
        return last[0], last[1].decode(errors="replace")
    # Dot-stuffing and CRLF are smtplib's job (data() does both).
    try:
        code, text = s.data(message)
    except smtplib.SMTPDataError as e:  # DATA itself refused
        s.rset()
        return e.smtp_code, e.smtp_error.decode(errors="replace")
    return code, text.decode(errors="replace")


def _uid(name):
    import pwd
    return pwd.getpwnam(name).pw_uid
