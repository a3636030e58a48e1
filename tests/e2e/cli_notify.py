#!/usr/bin/env python3
"""vigil notify against a real Postfix on loopback (tests/postfix/harness.py),
on reconnaissance mail written here: a look-alike of an outlet's domain sends
a hidden 1x1 image with a per-recipient token to five people (one name and
the subject not ASCII; one address at a domain the Postfix refuses); a squid
log line opens one target's tracker.

Checks: the dry run prints one message per target, records nothing and
shows no tracker host; --raw gives RFC 5322 messages (Date, Message-ID at
the From domain, MIME-Version, text/plain; charset=utf-8, RFC 2047 Subject
and names); a closed SMTP port is a recorded failure, retried later; --send
delivers one message per target to the Maildir with the right recipient,
received date, subject and opened yes/no, and no tracker URL or host; the
refused domain is recorded failed with the server's reply and retried once
Postfix accepts it; a second --send sends nothing ("skipped"); a run killed
while a server holds the end of DATA leaves its target 'sending', which is
not resent without --resend-unconfirmed; --smtp-starttls never sends in
clear and verifies the certificate (--smtp-cacert); templates with an
unknown placeholder or naming the tracker host are refused before anything
is sent.
usage: cli_notify.py VIGIL SOURCE_ROOT"""
import email
import email.header
import email.policy
import hashlib
import mailbox
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from corpus_common import Checks  # noqa: E402

SKIP = 77
TRACKER = "px.newsroom-metrics.example"
FROM = "Security team <security@parliament.example>"
# the refused domain is not the From's: named, or it would be skipped
DOMS = ["--domain", "parliament.example", "--domain", "refused.example"]
TARGETS = [("marie.martin@parliament.example", "Marie Martin"),
           ("lea.mueller@parliament.example", "Léa Müller"),
           ("paul.weber@parliament.example", "Paul Weber"),
           ("omar.haddad@parliament.example", "Omar Haddad"),
           ("ines.costa@refused.example", "Ines Costa")]
SUBJECT = "Votre avis sur la réforme – commission des affaires étrangères"
LURE = ("Je prépare un article sur le vote de la commission concernant la réforme de la "
        "surveillance et j'aimerais recueillir votre point de vue avant publication. Nos "
        "lecteurs veulent comprendre pourquoi l'amendement a été retiré à la dernière minute. "
        "Pourriez-vous répondre à trois courtes questions d'ici vendredi ?")


def token(addr):
    return hashlib.md5(("n-salt:" + addr).encode()).hexdigest()


def tracker_url(addr):
    return f"http://{TRACKER}/o/{token(addr)}.gif"


def message(i, addr, name):
    subj = email.header.Header(SUBJECT, "utf-8").encode()
    to = email.header.Header(name, "utf-8").encode() if not name.isascii() else name
    hdr = [f"Received: from mail.lequotidien-press.example (unknown [198.51.100.7])\r\n"
           f"\tby mx1.parliament.example (Postfix) with ESMTP id 4C1A{i:04d}\r\n"
           f"\tfor <{addr}>; Tue, 12 Jan 2021 0{i + 1}:14:01 +0000",
           "Authentication-Results: mx1.parliament.example; spf=pass "
           "smtp.mailfrom=lequotidien-press.example; dkim=pass header.d=lequotidien-press.example",
           "From: Anna Keller | Le Quotidien <anna.keller@lequotidien-press.example>",
           f"To: {to} <{addr}>", f"Delivered-To: {addr}", f"Subject: {subj}",
           f"Date: Tue, 12 Jan 2021 0{i + 1}:14:01 +0000",
           f"Message-ID: <n{i}.{token(addr)[:8]}@lequotidien-press.example>",
           "MIME-Version: 1.0", "Content-Type: text/html; charset=utf-8",
           "Content-Transfer-Encoding: 8bit"]
    html = (f"<html><body><p>Madame, Monsieur {name},</p><p>{LURE}</p>"
            f"<div style=\"display:none\"><img src=\"{tracker_url(addr)}\" width=\"1\" "
            f"height=\"1\"></div></body></html>")
    return ("\r\n".join(hdr) + "\r\n\r\n" + html + "\r\n").encode()


def run(vigil, *args, env=None):
    p = subprocess.run([vigil, *args], capture_output=True, timeout=300, env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def states(db):
    with sqlite3.connect(db) as con:
        return {r[0]: (r[1], r[2], r[3]) for r in
                con.execute("SELECT recipient, state, message_id, detail FROM notifications")}


class HangingSmtp:
    """An SMTP server on 127.0.0.1 that takes a whole message and never
    answers the end of DATA: the moment a crash leaves a notification
    handed over but not confirmed."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.got_data = threading.Event()
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        with conn:
            f = conn.makefile("rb")
            conn.sendall(b"220 hang.example ESMTP\r\n")
            for line in f:
                cmd = line[:4].upper()
                if cmd == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    for data in f:
                        if data == b".\r\n":
                            break
                    self.got_data.set()
                    self.stop.wait(120)
                    return
                conn.sendall(b"221 bye\r\n" if cmd == b"QUIT" else b"250 ok\r\n")

    def close(self):
        self.stop.set()
        self.srv.close()


def decoded_body(msg):
    return msg.get_body(("plain",)).get_content()


def flat(text):
    """The text with its line breaks and indentation as single spaces."""
    return " ".join(text.split())


def main():
    vigil = os.path.abspath(sys.argv[1])
    sys.path.insert(0, os.path.join(sys.argv[2], "tests", "postfix"))
    import harness  # noqa: E402

    why = harness.available()
    if why:
        print(f"skipped: {why}")
        sys.exit(1 if os.environ.get("CI") == "true" else SKIP)

    c = Checks()
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    with tempfile.TemporaryDirectory() as tmp:
        mail = os.path.join(tmp, "mail")
        os.makedirs(mail)
        for i, (addr, name) in enumerate(TARGETS):
            with open(os.path.join(mail, f"n{i}.eml"), "wb") as f:
                f.write(message(i, addr, name))
        members = os.path.join(tmp, "members.txt")
        with open(members, "w") as f:
            f.writelines(f"{a}\t{n}\n" for a, n in TARGETS)
        protected = os.path.join(tmp, "protected.tsv")
        with open(protected, "w") as f:
            f.write("outlet\tLe Quotidien\tlequotidien.example\n")
        db = os.path.join(tmp, "case.db")
        rc, _, err = run(vigil, "scan", "--db", db, "--members", members, "--protected",
                         protected, mail)
        c.check(rc == 0 and "1 new campaign" in err, f"scan --db makes one campaign: {err.strip()}")
        rc, out, _ = run(vigil, "campaigns", "--db", db, "-f", "jsonl")
        import json
        camps = [json.loads(l) for l in out.splitlines() if l.strip()]
        if not c.check(len(camps) == 1 and len(camps[0]["targets"]) == 5,
                       f"one campaign, five targets ({[len(x['targets']) for x in camps]})"):
            c.finish()
        cid = str(camps[0]["id"])

        # marie opens her copy: the proxy fetched her tracker
        squid = os.path.join(tmp, "access.log")
        with open(squid, "w") as f:
            f.write(f"1610458457.000    120 10.20.3.225 TCP_MISS/200 43 GET "
                    f"{tracker_url(TARGETS[0][0])} - HIER_DIRECT/192.0.2.9 image/gif\n")
        rc, _, err = run(vigil, "logs", "--db", db, squid)
        c.check(rc == 0 and "1 open" in err, f"vigil logs finds marie's open: {err.strip()}")

        # ---- dry run -------------------------------------------------------
        rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, env=env)
        c.check(rc == 0 and out.count("==== notification ") == 4 and "1 outside parliament.example"
                in err and "ines.costa@refused.example: skipped, not at parliament.example" in err,
                f"by default only targets at the From's domain: {err.strip()}")
        rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, env=env)
        c.check(rc == 0 and out.count("==== notification ") == 5,
                f"dry run prints five messages ({rc}, {out.count('==== notification ')}): {err.strip()}")
        c.check("dry run: 5 would be sent" in err and "nothing sent or recorded" in err,
                f"dry run summary: {err.strip()}")
        c.check(states(db) == {}, "dry run records nothing")
        c.check(TRACKER not in out.lower() and "newsroom-metrics" in out,
                "dry run: the tracker host only defanged")
        c.check("Yes. Its hidden image was fetched on Tuesday 12 January 2021 at 13:34 UTC, "
                "from the network address 10.20.3.225" in flat(out),
                "dry run: marie's open, with time and address")
        rc, raw, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--raw", env=env)
        mbox_path = os.path.join(tmp, "dry.mbox")
        with open(mbox_path, "w") as f:
            f.write(raw)
        msgs = list(mailbox.mbox(mbox_path, factory=lambda fp: email.message_from_binary_file(
            fp, policy=email.policy.default)))
        c.check(rc == 0 and len(msgs) == 5, f"--raw: five RFC 5322 messages ({len(msgs)})")
        m0 = msgs[0] if msgs else None
        if m0 is not None:
            c.check(all(m[h] for m in msgs for h in ("Date", "Message-ID", "MIME-Version", "From",
                                                   "To", "Subject")),
                    "each has Date, Message-ID, MIME-Version, From, To, Subject")
            c.check(all(m["Message-ID"].strip("<>").endswith("@parliament.example") for m in msgs),
                    f"Message-ID at the From domain: {m0['Message-ID']}")
            c.check(all(m.get_content_type() == "text/plain" and
                        m.get_content_charset() == "utf-8" for m in msgs), "text/plain; charset=utf-8")
            c.check(all(m["Content-Transfer-Encoding"] in ("7bit", "quoted-printable")
                        for m in msgs), "7bit or quoted-printable")
            c.check(m0["Date"] == "Tue, 14 Nov 2023 22:13:20 +0000",
                    f"Date from SOURCE_DATE_EPOCH: {m0['Date']}")
            lea = [m for m in msgs if "lea.mueller" in str(m["To"])]
            to_lines = [l for l in raw.splitlines() if l.startswith("To: ") and "lea.mueller" in l]
            c.check(bool(lea) and str(lea[0]["To"]) == "Léa Müller <lea.mueller@parliament.example>"
                    and to_lines and to_lines[0].lower().startswith("to: =?utf-8?"),
                    f"a non-ASCII name, RFC 2047-encoded: {lea[0]['To'] if lea else None}")
            c.check(not re.search(r"[^\x00-\x7f]", raw), "the raw messages are ASCII (RFC 2047, QP)")

        # ---- a closed port: recorded failed --------------------------------
        closed = harness.free_port(11000, 11999)
        rc, _, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                         "--smtp", f"smtp://127.0.0.1:{closed}", "--target", TARGETS[0][0],
                         "--timeout", "10", env=env)
        st = states(db)
        c.check(rc == 1 and "0 sent" in err and "1 failed" in err and
                st.get(TARGETS[0][0], ("",))[0] == "failed" and
                "connect" in (st[TARGETS[0][0]][2] or "").lower(),
                f"a closed SMTP port: recorded failed with curl's error ({rc}: {st}) {err.strip()}")

        pf = harness.Postfix()
        try:
            pf.start(extra={"smtpd_recipient_restrictions":
                            "check_recipient_access inline:{ { refused.example = REJECT "
                            "no mail for this domain here } }, permit_mynetworks, reject"})
        except harness.PostfixError as e:
            c.check(False, f"Postfix starts: {e}")
            c.finish()
        try:
            smtp = f"smtp://127.0.0.1:{pf.port}"
            # ---- a run killed after handing over the message: paul ---------
            hang = HangingSmtp()
            p = subprocess.Popen([vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                                  "--smtp", f"smtp://127.0.0.1:{hang.port}", "--target",
                                  TARGETS[2][0], "--timeout", "120"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            got = hang.got_data.wait(60)
            p.kill()
            p.wait()
            hang.close()
            c.check(got and states(db).get(TARGETS[2][0], ("",))[0] == "sending",
                    "killed after the message's data went out: paul stays 'sending'")

            # ---- STARTTLS required: never in clear --------------------------
            omar = TARGETS[3][0]
            rc, _, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                             "--smtp", smtp, "--smtp-starttls", "--target", omar, env=env)
            pf.wait_idle()
            c.check(rc == 1 and states(db)[omar][0] == "failed" and "STARTTLS" in states(db)[omar][2]
                    and not pf.delivered(),
                    f"--smtp-starttls to a server without STARTTLS: failed, nothing sent: {err.strip()}")
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            # openssl: postfix depends on ssl-cert, which depends on openssl
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", key, "-out", cert], check=True, capture_output=True)
            os.chmod(tmp, 0o755)
            pf.reload(smtpd_tls_cert_file=cert, smtpd_tls_key_file=key,
                      smtpd_tls_security_level="may")
            rc, _, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                             "--smtp", smtp, "--smtp-starttls", "--target", omar, env=env)
            pf.wait_idle()
            c.check(rc == 1 and states(db)[omar][0] == "failed" and not pf.delivered(),
                    f"a certificate no known CA signed is refused: {states(db)[omar][2]}")
            rc, _, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                             "--smtp", smtp, "--smtp-starttls", "--smtp-cacert", cert,
                             "--target", omar, env=env)
            pf.wait_idle()
            tls_ok = False
            for path in pf.delivered():
                with open(path, "rb") as f:
                    m = email.message_from_binary_file(f, policy=email.policy.default)
                # Postfix writes "with ESMTPS" for a session under TLS (RFC 3848)
                tls_ok = "with ESMTPS" in " ".join(str(r) for r in m.get_all("Received", []))
            c.check(rc == 0 and "1 sent" in err and states(db)[omar][0] == "sent" and
                    len(pf.delivered()) == 1 and tls_ok,
                    f"with --smtp-cacert: sent over STARTTLS (Received: with ESMTPS): {err.strip()}")

            # ---- bad templates: refused before anything is sent ------------
            bad = os.path.join(tmp, "bad.txt")
            with open(bad, "w") as f:
                f.write("Subject: Notice\n\nDear {name},\n\nyou got {subject}\nopened: {opend}\n")
            rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--template",
                               bad, "--send", "--smtp", smtp, env=env)
            c.check(rc == 2 and f"{bad}:6: unknown placeholder {{opend}}" in err,
                    f"an unknown placeholder is refused with FILE:LINE: {err.strip()}")
            leak = os.path.join(tmp, "leak.txt")
            with open(leak, "w") as f:
                f.write(f"Subject: Notice\n\nDear {{name}}, do not open images of {TRACKER}.\n")
            rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--template",
                               leak, "--send", "--smtp", smtp, env=env)
            c.check(rc == 2 and "tracker host" in err, f"a template naming the tracker is refused: {err.strip()}")
            pf.wait_idle()
            c.check(len(pf.delivered()) == 1 and states(db)[TARGETS[0][0]][0] == "failed",
                    "refused templates sent and recorded nothing")

            # ---- send ------------------------------------------------------
            rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                               "--smtp", smtp, env=env)
            c.check(rc == 1 and "2 sent, 1 skipped (already notified), 1 failed, 1 unconfirmed"
                    in err, f"send: two sent (omar was), the refused domain failed, paul "
                    f"unconfirmed: {err.strip()}")
            c.check(out == "", "--send prints no message on stdout")
            pf.wait_idle()
            got = pf.delivered()
            c.check(len(got) == 3, f"three messages in the Maildir, omar's included ({len(got)})")
            st = states(db)
            sent = {a for a, s in st.items() if s[0] == "sent"}
            c.check(sent == {TARGETS[0][0], TARGETS[1][0], TARGETS[3][0]},
                    f"sent recorded for marie (retried after the closed port), lea, omar: {st}")
            c.check(all(st[a][1] and st[a][1].endswith("@parliament.example") for a in sent) and
                    all("queued as" in (st[a][2] or "") for a in sent),
                    "each sent row has its Message-ID and Postfix's queue reply")
            c.check(st[TARGETS[4][0]][0] == "failed" and "no mail for this domain" in
                    (st[TARGETS[4][0]][2] or ""), f"the refused domain: failed with the reply: {st[TARGETS[4][0]]}")
            c.check(st[TARGETS[2][0]][0] == "sending" and "NOT SENT" in err and
                    TARGETS[2][0] in err, "the unconfirmed target is reported, not resent")
            by_rcpt = {}
            for p in got:
                with open(p, "rb") as f:
                    raw = f.read()
                m = email.message_from_bytes(raw, policy=email.policy.default)
                by_rcpt[m["Delivered-To"] or ""] = (m, raw)
            c.check(set(by_rcpt) == sent, f"each to its recipient (Delivered-To): {sorted(by_rcpt)}")
            for addr, (m, raw) in by_rcpt.items():
                body = decoded_body(m)
                ok = (addr in str(m["To"]) and
                      "Tuesday 12 January 2021" in body and SUBJECT in flat(body) and
                      TRACKER.encode() not in raw.lower() and TRACKER not in body.lower() and
                      "http" not in body and
                      m["Message-ID"].strip("<>") == st[addr][1])
                c.check(ok, f"{addr}: To, received date, subject, no tracker URL or host, "
                        "the recorded Message-ID")
            if TARGETS[0][0] in by_rcpt:
                body = decoded_body(by_rcpt[TARGETS[0][0]][0])
                c.check("Was it opened? Yes." in flat(body) and "10.20.3.225" in body,
                        "marie: opened, with the address")
            if TARGETS[3][0] in by_rcpt:
                body = decoded_body(by_rcpt[TARGETS[3][0]][0])
                c.check("Was it opened? We found no sign" in flat(body), "omar: no sign of an open")
            if TARGETS[1][0] in by_rcpt:
                m = by_rcpt[TARGETS[1][0]][0]
                c.check(str(m["Subject"]).startswith("Security notice") and
                        "Dear Léa Müller" in decoded_body(m), "léa: name decoded in the body")

            rc, out, _ = run(vigil, "campaigns", "show", cid, "--db", db, "-f", "jsonl")
            doc = json.loads(out)
            notified = {t["address"] for t in doc["targets"] if t["notified"]}
            c.check(notified == sent, f"the campaign document shows who was notified: {notified}")

            # ---- again: nobody twice ----------------------------------------
            rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                               "--smtp", smtp, env=env)
            pf.wait_idle()
            c.check("0 sent, 3 skipped (already notified), 1 failed, 1 unconfirmed" in err and
                    len(pf.delivered()) == 3,
                    f"a second run sends nothing new (Maildir {len(pf.delivered())}): {err.strip()}")
            rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, env=env)
            c.check(rc == 1 and out.count("==== notification ") == 1 and
                    "1 would be sent, 3 skipped" in err,
                    f"a dry run now shows only the failed target: {err.strip()}")

            # ---- the refused domain accepted now: retried -------------------
            pf.reload(smtpd_recipient_restrictions="permit_mynetworks, reject")
            rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                               "--smtp", smtp, env=env)
            pf.wait_idle()
            c.check(rc == 1 and "1 sent, 3 skipped (already notified), 0 failed, 1 unconfirmed" in err
                    and len(pf.delivered()) == 4,
                    f"the failed target is retried and sent: {err.strip()}")

            # ---- the unconfirmed one, on explicit request --------------------
            rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                               "--smtp", smtp, "--resend-unconfirmed", env=env)
            pf.wait_idle()
            st = states(db)
            c.check(rc == 0 and "1 sent, 4 skipped" in err and len(pf.delivered()) == 5 and
                    all(s[0] == "sent" for s in st.values()) and len(st) == 5,
                    f"--resend-unconfirmed sends paul's; all five sent once: {err.strip()}")
            rc, out, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                               "--smtp", smtp, "--resend-unconfirmed", env=env)
            pf.wait_idle()
            c.check(rc == 0 and "0 sent, 5 skipped" in err and len(pf.delivered()) == 5,
                    f"and then nothing more: {err.strip()}")
            rc, _, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--send",
                             "--smtp", "http://127.0.0.1/", env=env)
            c.check(rc == 2 and "smtp://" in err, f"a non-SMTP URL is refused: {err.strip()}")
            rc, _, err = run(vigil, "notify", "--db", db, cid, "--from", "not an address", env=env)
            c.check(rc == 2 and "--from" in err, f"a bad --from is refused: {err.strip()}")
            rc, _, err = run(vigil, "notify", "--db", db, cid, "--from", FROM, *DOMS, "--target",
                             "nobody@parliament.example", env=env)
            c.check(rc == 2 and "not a target" in err, f"an unknown --target is refused: {err.strip()}")
        finally:
            pf.stop()
    c.finish()


if __name__ == "__main__":
    main()
