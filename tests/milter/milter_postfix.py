#!/usr/bin/env python3
"""vigil milter behind a real Postfix (Debian's package, a private instance on
127.0.0.1, tests/postfix/harness.py). Sends the project's own test messages
and, when ../shared/corpus is there, every message of corpus/synthetic (all
labels) over SMTP, then checks:
  - every message is accounted for: sent = delivered + quarantined + rejected,
    each exactly once, none deferred;
  - delivered mail carries X-Vigil-Verdict / X-Vigil-Score, with the verdict
    vigil scan gives the same file (and the corpus label), exactly one
    X-Vigil-Verdict (forged ones removed), a Subject prefix when tagged;
  - recon is quarantined (a whole copy in the quarantine Maildir), malicious
    rejected with 550 5.7.1; after a SIGHUP to "recon = reject", recon is
    rejected at the SMTP level;
  - mail submitted with sendmail(1) passes non_smtpd_milters too;
  - one milter log line per message, with Postfix's queue id.
usage: milter_postfix.py VIGIL CORPUS_DIR
"""
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import smtplib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon  # noqa: E402  (also puts tests/postfix on the path)
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


def skip_or_fail(why):
    print(f"cannot run: {why}")
    sys.exit(1 if os.environ.get("CI") == "true" else daemon.SKIP)


def send_all(pf, mails, conns=4):
    """Sends every mail over `conns` SMTP connections at once; returns
    {tid: (code, text)}."""
    replies = {}
    lock = threading.Lock()
    chunks = [mails[i::conns] for i in range(conns)]

    def worker(chunk):
        s = None
        for m in chunk:
            for attempt in range(3):
                try:
                    if s is None:
                        s = smtplib.SMTP("127.0.0.1", pf.port, local_hostname="client.test.example", timeout=120)
                    r = harness.smtp_transaction(s, m.raw, "bounce@sender.example", [m.rcpt])
                    break
                except (smtplib.SMTPException, OSError) as e:
                    r = (0, repr(e))
                    s = None
            with lock:
                replies[m.tid] = r
        if s:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
    ts = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return replies


def main():
    vigil = os.path.realpath(sys.argv[1])
    corpus = sys.argv[2] if len(sys.argv) > 2 else mailset.corpus_dir()
    why = harness.available()
    if why:
        skip_or_fail(why)
    with_corpus = corpus if os.path.isdir(os.path.join(corpus, "synthetic")) else None
    if not with_corpus:
        print(f"corpus absent ({corpus}): the project's own messages only")
        if os.environ.get("CI") == "true":
            check(False, "CI=true: the corpus must be present")
    mails, opts = mailset.load(with_corpus)
    mailset.expect(vigil, mails, opts)
    work = tempfile.mkdtemp(prefix="vigil-milter-postfix-")
    os.chmod(work, 0o755)
    qdir = os.path.join(work, "quarantine")
    conf = daemon.config_text(qdir, malicious="reject", subject_prefix="[SUSPICIOUS]")
    m = daemon.Milter(vigil, work, conf, opts=opts)
    pf = harness.Postfix()
    try:
        m.start()
        pf.start(milter=m.postfix_address, default_action="tempfail")
        run(m, pf, mails, qdir)
    except Exception as e:  # noqa: BLE001 - a crash of the test is a failure
        import traceback
        traceback.print_exc()
        check(False, f"the test ran to its end ({e!r})")
    finally:
        pf.stop(keep=bool(failed))
        m.stop()
        if failed:
            print("---- milter log (end) ----\n" + m.log_text()[-4000:])
            print("---- postfix log (end) ----\n" + pf.log_text()[-4000:] if pf.log and os.path.exists(pf.log) else "")
            print(f"(kept {work} and {pf.dir})")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run(m, pf, mails, qdir):
    t0 = time.time()
    replies = send_all(pf, mails)
    took = time.time() - t0
    print(f"sent {len(mails)} messages in {took:.1f} s ({len(mails) / took:.0f}/s)")
    check(pf.wait_idle(300), "Postfix's queue drains")
    delivered = mailset.read_box(pf.delivered())
    quarantined = mailset.read_box([os.path.join(qdir, "new", f) for f in os.listdir(os.path.join(qdir, "new"))])
    rejected = {t for t, (code, _) in replies.items() if code == 550}
    other = {t: r for t, r in replies.items() if r[0] not in (250, 550)}
    check(not other, f"every SMTP transaction got 250 or 550 ({len(other)} did not: {list(other.items())[:3]})")
    sent = {x.tid for x in mails}
    d, q = set(delivered), set(quarantined)
    dup = [t for t, v in list(delivered.items()) + list(quarantined.items()) if len(v) > 1]
    check(not (d & q) and not (d & rejected) and not (q & rejected) and not dup,
          f"no message is in two places ({len(d & q)}, {len(d & rejected)}, {len(q & rejected)}, dup {dup[:3]})")
    check(sent == d | q | rejected and len(sent) == len(d) + len(q) + len(rejected),
          f"sent {len(sent)} = delivered {len(d)} + quarantined {len(q)} + rejected {len(rejected)}"
          f" (missing {sorted(sent - d - q - rejected)[:5]})")
    check(not pf.queued(("deferred", "hold")), "nothing deferred or held")

    by_tid = {x.tid: x for x in mails}
    wrong, labels_wrong, forged, untagged = [], [], [], []
    per = {}
    for x in mails:
        per.setdefault(x.expected, [0, 0])[0] += 1
    for tid, [msg] in delivered.items():
        x = by_tid[tid]
        verdicts = msg.get_all("X-Vigil-Verdict") or []
        if len(verdicts) != 1:
            forged.append((tid, verdicts))
            continue
        if verdicts[0] != x.expected or not (msg.get("X-Vigil-Score") or "").isdigit():
            wrong.append((tid, verdicts[0], x.expected))
        if x.label and verdicts[0] != x.label:
            labels_wrong.append((tid, verdicts[0], x.label))
        if x.expected == "suspicious" and not (msg.get("Subject") or "").startswith("[SUSPICIOUS]"):
            untagged.append(tid)
        per[x.expected][1] += 1
    check(not forged, f"delivered mail has exactly one X-Vigil-Verdict, forged ones removed ({forged[:3]})")
    check(not wrong, f"delivered mail: X-Vigil-Verdict as vigil scan says, and a score ({len(wrong)} wrong: {wrong[:3]})")
    check(not labels_wrong, f"delivered corpus mail: verdict = label ({len(labels_wrong)}: {labels_wrong[:3]})")
    check(not untagged, f"suspicious mail: Subject prefixed ({untagged[:3]})")
    print("verdicts (expected, delivered):", per)
    check(all(by_tid[t].expected in ("clean", "tracking", "suspicious") for t in d),
          "only clean, tracking and suspicious mail delivered")
    check({by_tid[t].expected for t in q} == {"recon"} and
          len(q) == sum(1 for x in mails if x.expected == "recon"),
          f"every recon message quarantined, nothing else ({len(q)})")
    check(all(by_tid[t].expected == "malicious" and replies[t][1].startswith("5.7.1") for t in rejected)
          and len(rejected) == sum(1 for x in mails if x.expected == "malicious") > 0,
          f"malicious mail rejected with 550 5.7.1 ({len(rejected)})")
    labels = {x.label for x in mails if x.label}
    if labels:
        check(labels == {"clean", "tracking", "recon"} or labels >= {"clean", "tracking", "recon"},
              f"every corpus label was sent ({sorted(labels)})")
    recon_q = [v[0] for t, v in quarantined.items()]
    check(all(h.get("X-Vigil-Verdict") == "recon" and h.get("X-Vigil-Queue-Id", "-") != "-" for h in recon_q),
          "quarantine copies carry the verdict and Postfix's queue id")

    logs = m.messages()
    qids = [l["qid"] for l in logs]
    check(len(logs) == len(mails) and all(q != "-" for q in qids) and len(set(qids)) == len(qids),
          f"one milter log line per message with Postfix's queue id ({len(logs)} lines for {len(mails)})")
    lat = sorted(float(l["eom_ms"]) for l in logs)
    print(f"milter time at end of message: p50 {lat[len(lat) // 2]:.2f} ms, "
          f"p99 {lat[int(len(lat) * 0.99)]:.2f} ms, max {lat[-1]:.2f} ms")

    # ---- non_smtpd_milters: sendmail(1) ------------------------------------
    recon = [x for x in mails if x.expected == "recon"][:2]
    clean = [x for x in mails if x.expected == "clean"][:2]
    before_q = len(os.listdir(os.path.join(qdir, "new")))
    before_d = len(pf.delivered())
    for x in recon + clean:
        raw = x.raw.replace(f"X-Test-Id: {x.tid}".encode(), f"X-Test-Id: {x.tid}-local".encode())
        check(pf.submit(raw, "local@sender.example", x.rcpt) == 0, f"sendmail accepts {x.tid}")
    deadline = time.time() + 60
    while time.time() < deadline and (len(os.listdir(os.path.join(qdir, "new"))) < before_q + len(recon)
                                      or len(pf.delivered()) < before_d + len(clean)):
        time.sleep(0.1)
    check(len(os.listdir(os.path.join(qdir, "new"))) == before_q + len(recon) and
          len(pf.delivered()) == before_d + len(clean),
          "sendmail(1) submissions pass the milter too (non_smtpd_milters): recon quarantined, clean delivered")

    # ---- reload: recon = reject ----------------------------------------------
    open(m.conf, "a").write("recon = reject\n")
    m.signal(signal.SIGHUP)
    check(m.wait_log(r"reloaded: load 2"), "SIGHUP: reloaded with recon = reject")
    rep = send_all(pf, [x for x in mails if x.expected == "recon"][:10], conns=2)
    check(rep and all(code == 550 and text.startswith("5.7.1") for code, text in rep.values()),
          f"after the reload recon is rejected at SMTP ({list(rep.values())[:2]})")


if __name__ == "__main__":
    main()
