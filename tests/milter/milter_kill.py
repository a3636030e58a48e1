#!/usr/bin/env python3
"""vigil milter killed (SIGKILL) in the middle of a stream of mail through a
real Postfix, then restarted:
  - with milter_default_action = tempfail, Postfix answers 4xx while the
    milter is down; the senders retry; once a new milter listens, mail flows
    again; every message ends delivered (with its X-Vigil-* headers: none
    slipped through unscanned), quarantined or rejected: nothing lost;
  - with milter_default_action = accept, mail sent while the milter is down
    is delivered untouched (no X-Vigil headers), and the restarted milter
    tags the next messages again.
Only the project's own test messages: it needs no corpus.
usage: milter_kill.py VIGIL
"""
import os
import shutil
import smtplib
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon  # noqa: E402
import harness  # noqa: E402
import mailset  # noqa: E402

failed = passed = 0


def check(ok, what):
    global failed, passed
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


class Stream:
    """Senders that retry on 4xx (as an SMTP client must) until each
    message got 250 or 5xx."""

    def __init__(self, pf, mails, conns=4):
        self.pf, self.todo, self.lock = pf, list(mails), threading.Lock()
        self.final, self.tempfails, self.stop = {}, 0, False
        self.threads = [threading.Thread(target=self.worker) for _ in range(conns)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout):
        end = time.time() + timeout
        for t in self.threads:
            t.join(max(0.1, end - time.time()))
        return not any(t.is_alive() for t in self.threads)

    def worker(self):
        s = None
        while not self.stop:
            with self.lock:
                if not self.todo:
                    break
                m = self.todo.pop(0)
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.pf.port, local_hostname="client.test.example",
                                     timeout=60)
                code, text = harness.smtp_transaction(s, m.raw, "bounce@sender.example", [m.rcpt])
            except (smtplib.SMTPException, OSError) as e:
                code, text, s = 0, repr(e), None
            if code == 250 or 500 <= code < 600:
                with self.lock:
                    self.final[m.tid] = (code, text)
                continue
            # 4xx or a broken connection: Postfix keeps the milter failed
            # for the rest of an SMTP session, so retry on a new one.
            with self.lock:
                self.tempfails += 1
                self.todo.append(m)
            try:
                if s:
                    s.quit()
            except (smtplib.SMTPException, OSError):
                pass
            s = None
            time.sleep(0.05)
        if s:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass


def main():
    vigil = os.path.realpath(sys.argv[1])
    why = harness.available()
    if why:
        print(f"cannot run: {why}")
        sys.exit(1 if os.environ.get("CI") == "true" else daemon.SKIP)
    base, opts = mailset.load(None)
    mailset.expect(vigil, base, opts)
    mails = []
    for k in range(60):  # 600 messages
        for b in base:
            m = mailset.Mail(f"{b.tid}r{k}", b.path, b.raw.replace(f"X-Test-Id: {b.tid}".encode(),
                             f"X-Test-Id: {b.tid}r{k}".encode()), b.rcpt)
            m.expected = b.expected
            mails.append(m)
    work = tempfile.mkdtemp(prefix="vigil-milter-kill-")
    os.chmod(work, 0o755)
    qdir = os.path.join(work, "quarantine")
    m = daemon.Milter(vigil, work, daemon.config_text(qdir, malicious="reject"), opts=opts)
    pf = harness.Postfix()
    try:
        m.start()
        pf.start(milter=m.postfix_address, default_action="tempfail",
                 extra={"milter_connect_timeout": "2s"})
        run(m, pf, mails, qdir)
    except Exception as e:  # noqa: BLE001 - a crash of the test is a failure
        import traceback
        traceback.print_exc()
        check(False, f"the test ran to its end ({e!r})")
    finally:
        pf.stop(keep=bool(failed))
        if m.alive():
            m.stop()
        if failed:
            print("---- postfix log (milter lines) ----")
            print("\n".join(l for l in pf.log_text().splitlines() if "milter" in l)[-3000:]
                  if pf.log and os.path.exists(pf.log) else "")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run(m, pf, mails, qdir):
    st = Stream(pf, mails).start()
    while len(st.final) < 150:
        time.sleep(0.01)
    m.kill()
    killed_at = len(st.final)
    t_kill = time.time()
    while st.tempfails < 20 and time.time() - t_kill < 30:
        time.sleep(0.01)
    during = len(st.final) - killed_at
    check(st.tempfails >= 20, f"milter down: Postfix answers 4xx (milter_default_action = tempfail): "
          f"{st.tempfails} tempfails, {during} messages finished meanwhile")
    m.start()
    after_restart = len(st.final)
    check(st.join(300), "all senders done after the restart")
    check(len(st.final) > after_restart, "the restarted milter resumes: mail flows again")
    check(pf.wait_idle(120), "Postfix's queue drains")
    log = pf.log_text()
    check("milter" in log and ("can't read" in log or "connect to" in log or "Connection refused" in log
                               or "unexpected" in log or "milter-" in log),
          "Postfix logged the milter failure")

    delivered = mailset.read_box(pf.delivered())
    quarantined = mailset.read_box([os.path.join(qdir, "new", f) for f in os.listdir(os.path.join(qdir, "new"))])
    rejected = {t for t, (c, _) in st.final.items() if 500 <= c < 600}
    sent = {x.tid for x in mails}
    d, q = set(delivered), set(quarantined)
    check(sent == d | q | rejected, f"nothing lost: sent {len(sent)}, delivered {len(d)}, quarantined {len(q)}, "
          f"rejected {len(rejected)} (missing {sorted(sent - d - q - rejected)[:5]})")
    dup_d = [t for t, v in delivered.items() if len(v) > 1]
    check(not dup_d and not (d & rejected) and not (d & q), f"nothing delivered twice or also refused ({dup_d[:3]})")
    unscanned = [t for t, [h] in ((t, v[:1]) for t, v in delivered.items()) if not h.get("X-Vigil-Verdict")
                 or h.get("X-Vigil-Verdict") == "unscanned"]
    check(not unscanned, f"no message delivered unscanned ({len(unscanned)}: {unscanned[:3]})")
    by_tid = {x.tid: x for x in mails}
    check(all(by_tid[t].expected == "recon" for t in q) and all(by_tid[t].expected == "malicious" for t in rejected),
          "quarantined = recon, rejected = malicious, after the restart too")

    # ---- milter_default_action = accept --------------------------------------
    pf.reload(milter_default_action="accept")
    time.sleep(1)
    m.kill()
    # (one without a forged X-Vigil-Verdict: with the milter down nobody removes it)
    clean = [x for x in mails if x.expected == "clean" and b"X-Vigil-Verdict" not in x.raw][:1]
    batch = [mailset.Mail(f"acc{i}", clean[0].path, clean[0].raw.replace(f"X-Test-Id: {clean[0].tid}".encode(),
             f"X-Test-Id: acc{i}".encode()), clean[0].rcpt) for i in range(20)]
    st2 = Stream(pf, batch, conns=2).start()
    check(st2.join(120) and all(c == 250 for c, _ in st2.final.values()) and st2.tempfails == 0,
          f"milter down, default accept: every message accepted ({len(st2.final)}, {st2.tempfails} tempfails)")
    m.start()
    batch2 = [mailset.Mail(f"back{i}", b.path, b.raw, b.rcpt) for i, b in enumerate(batch[:10])]
    for b in batch2:
        b.raw = b.raw.replace(b"X-Test-Id: acc", b"X-Test-Id: back")
    st3 = Stream(pf, batch2, conns=2).start()
    check(st3.join(120) and len(st3.final) == 10, "restarted: the next messages go through")
    check(pf.wait_idle(60), "queue drains")
    box = mailset.read_box(pf.delivered())
    down = [box.get(f"acc{i}", [None])[0] for i in range(20)]
    up = [box.get(f"back{i}", [None])[0] for i in range(10)]
    check(all(h is not None and h.get("X-Vigil-Verdict") is None for h in down),
          "while down: delivered untouched (no X-Vigil-Verdict), nothing lost")
    check(all(h is not None and h.get("X-Vigil-Verdict") == "clean" for h in up),
          "after the restart: delivered with X-Vigil-Verdict again")


if __name__ == "__main__":
    main()
