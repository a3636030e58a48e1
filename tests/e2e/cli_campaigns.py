#!/usr/bin/env python3
"""Campaigns, opens and relay logins on mail and logs written here (no corpus
needed). Two reconnaissance campaigns reach members of a parliament: one from
a look-alike of an outlet's domain with a hex token in a hidden image, one
from free-mail with the recipient's address in base64; one more message
spoofs the outlet's real domain with the first campaign's tracker. The
outlet's own newsletter (a commercial tracker) and internal mail arrive
too. Then logs of four formats (squid, combined gzip, dnsmasq, Dovecot
syslog) open some trackers and log in from a relay.

Checks: exactly two campaigns with exactly their messages (the spoof joins
the first through the tracker; the newsletter joins nothing although it
shares the spoofed domain); impersonated outlet named; opens exact by URL
and by token, probable through the client address (a DNS look-up and an
unknown token), possible when nobody can be named; the commercial tracker
is no open; the relay login is found, the other login is not; everything
idempotent; a later message joins its campaign with the same id."""
import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from corpus_common import Checks

MEMBERS = [("marie.martin@parliament.example", "Marie Martin"),
           ("paul.weber@parliament.example", "Paul Weber"),
           ("lena.vogel@parliament.example", "Lena Vogel"),
           ("omar.haddad@parliament.example", "Omar Haddad"),
           ("ines.costa@parliament.example", "Ines Costa")]
RELAY = "198.51.100.23"

LURE_A = ("I am preparing an article on the committee's vote on the surveillance bill and "
          "would value your view before publication. Our readers want to understand why the "
          "amendment was withdrawn at the last minute and what the parliament intends to do "
          "about the oversight body. Could you answer three short questions by Friday?")
LURE_B = ("Our newsroom is following the negotiations on the trade agreement closely and we "
          "are collecting the positions of members of the foreign affairs committee for a "
          "long read to be published next week. Would you share a short comment on the "
          "arbitration clause and on the timetable announced by the government?")


def token_a(addr):
    return hashlib.md5(("salt-a:" + addr).encode()).hexdigest()


def token_b(addr):
    return base64.urlsafe_b64encode(addr.encode()).decode().rstrip("=")


def message(frm, to, name, subject, date, msgid, body, img, auth=None, received_ip=None):
    hdr = []
    if received_ip:
        hdr.append(f"Received: from mail.example.net (unknown [{received_ip}])\r\n"
                   f"\tby mx1.parliament.example (Postfix) with ESMTP id 4C1A{msgid[:6].upper()}\r\n"
                   f"\tfor <{to}>; {date}")
    if auth:
        hdr.append(f"Authentication-Results: mx1.parliament.example; {auth}")
    hdr += [f"From: {frm}", f"To: {name} <{to}>", f"Delivered-To: {to}",
            f"Subject: {subject}", f"Date: {date}", f"Message-ID: <{msgid}>",
            "MIME-Version: 1.0", "Content-Type: text/html; charset=utf-8"]
    html = (f"<html><body><p>Dear {name},</p><p>{body}</p>"
            f"<div style=\"display:none\"><img src=\"{img}\" width=\"1\" height=\"1\"></div>"
            "</body></html>")
    return "\r\n".join(hdr) + "\r\n\r\n" + html + "\r\n"


def write(d, name, text):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def run(vigil, *args):
    p = subprocess.run([vigil, *args], capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode(errors="replace")


def jsonl(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def main():
    vigil = os.path.abspath(sys.argv[1])
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        mail = os.path.join(tmp, "mail")
        members = os.path.join(tmp, "members.txt")
        with open(members, "w") as f:
            f.writelines(f"{a}\t{n}\n" for a, n in MEMBERS)
        protected = os.path.join(tmp, "protected.tsv")
        with open(protected, "w") as f:
            f.write("# kind\tname\tdomain-or-address\noutlet\tLe Quotidien\tlequotidien.example\n")
        relays = os.path.join(tmp, "relays.txt")
        with open(relays, "w") as f:
            f.write(f"# compromised routers\n{RELAY}\n")

        a_ids, b_ids = set(), set()
        for i, (addr, name) in enumerate(MEMBERS[:4]):
            mid = f"a{i}.{token_a(addr)[:8]}@lequotidien-press.example"
            a_ids.add(mid)
            write(mail, f"a{i}.eml", message(
                "Anna Keller | Le Quotidien <anna.keller@lequotidien-press.example>", addr, name,
                "Your view on the surveillance bill", f"Tue, 12 Jan 2021 0{i + 1}:14:01 +0000",
                mid, LURE_A, f"http://px.track-a.example/o/{token_a(addr)}.gif",
                auth="spf=pass smtp.mailfrom=lequotidien-press.example; dkim=pass "
                     "header.d=lequotidien-press.example", received_ip=RELAY))
        for i, (addr, name) in enumerate(MEMBERS[1:4]):
            mid = f"b{i}.{token_b(addr)[:6]}@gmail.com"
            b_ids.add(mid)
            write(mail, f"b{i}.eml", message(
                "Le Quotidien - Redaction <lequotidien.redaction@gmail.com>", addr, name,
                "Trade agreement: your comment", f"Wed, 3 Feb 2021 1{i}:00:00 +0000", mid,
                LURE_B, f"http://stats.b-analytics.example/p.png?id={token_b(addr)}"))
        # a spoof of the real outlet domain, with campaign A's tracker
        spoof = "spoof1@lequotidien.example"
        a_ids.add(spoof)
        addr, name = MEMBERS[4]
        write(mail, "spoof.eml", message(
            "Le Quotidien <redaction@lequotidien.example>", addr, name,
            "Your view on the surveillance bill", "Thu, 14 Jan 2021 09:00:00 +0000", spoof,
            LURE_A, f"http://px.track-a.example/o/{token_a(addr)}.gif",
            auth="spf=fail smtp.mailfrom=lequotidien.example; dkim=fail; dmarc=fail "
                 "header.from=lequotidien.example"))
        # the outlet's real newsletter, through a commercial tracker
        for i, (addr, name) in enumerate(MEMBERS[:3]):
            write(mail, f"news{i}.eml", message(
                "Le Quotidien <newsletter@lequotidien.example>", addr, name,
                "Le Quotidien: the morning briefing", f"Mon, 1 Feb 2021 06:00:0{i} +0000",
                f"news{i}@lequotidien.example",
                "Today: the budget debate, the weather and the football results.",
                f"https://lequotidien.us16.list-manage.com/track/open.php?u=abc&id=x{i}",
                auth="spf=pass smtp.mailfrom=lequotidien.example; dkim=pass "
                     "header.d=lequotidien.example; dmarc=pass header.from=lequotidien.example"))
        write(mail, "internal.eml",
              "From: Paul Weber <paul.weber@parliament.example>\r\n"
              "To: Marie Martin <marie.martin@parliament.example>\r\n"
              "Subject: Agenda\r\nDate: Fri, 15 Jan 2021 10:00:00 +0000\r\n"
              "Message-ID: <int1@parliament.example>\r\n\r\nSee you at ten.\r\n")

        db = os.path.join(tmp, "case.db")
        lists = ["--members", members, "--protected", protected, "--relays", relays]
        rc, _, err = run(vigil, "scan", "--db", db, *lists, mail)
        c.check(rc == 0 and "2 new campaigns" in err, f"scan --db makes two campaigns: {err.strip()}")
        rc, out, err = run(vigil, "campaigns", "--db", db, "-f", "jsonl")
        camps = jsonl(out)
        sets = {frozenset(m["message_id"] for m in x["messages"]): x for x in camps}
        c.check(rc == 0 and len(camps) == 2, f"two campaigns ({len(camps)})")
        ca, cb = sets.get(frozenset(a_ids)), sets.get(frozenset(b_ids))
        c.check(ca is not None, "campaign A: the look-alike messages and the spoof, nothing else")
        c.check(cb is not None, "campaign B: the free-mail messages, nothing else")
        if not (ca and cb):
            c.finish()
        c.check(ca["id"] < cb["id"], "campaigns are numbered in the order of their first message")
        c.check("Le Quotidien" in ca["impersonates"] and "Le Quotidien" in cb["impersonates"],
                f"both name the outlet they imitate: {ca['impersonates']} {cb['impersonates']}")
        c.check(ca["senders"]["relay_ips"] == [RELAY], f"A's relay: {ca['senders']['relay_ips']}")
        c.check(ca["trackers"]["hosts"] == ["px.track-a.example"] and
                ca["trackers"]["url_templates"] == ["http://px.track-a.example/o/{t}"],
                f"A's tracker and template: {ca['trackers']}")
        c.check(cb["senders"]["addresses"] == ["lequotidien.redaction@gmail.com"] and
                cb["senders"]["domains"] == ["gmail.com"] and
                cb["senders"]["free_mail_domains"] == ["gmail.com"] and
                ca["senders"]["free_mail_domains"] == [], "B's free-mail sender, said so")
        rc, out, _ = run(vigil, "report", "--db", db, str(cb["id"]), "--format", "stix")
        c.check(rc == 0 and "'gmail.com'" not in out and "track-a" not in out and
                "b-analytics" in out, "the STIX report never makes a free-mail domain an indicator")
        c.check(len(ca["targets"]) == 5 and len(cb["targets"]) == 3, "targets counted")
        c.check("surveillance bill" in (ca["lure"]["excerpt"] or ""), "the lure excerpt")

        # logs: squid (exact by URL), combined gzip (exact by token: another
        # query order / scheme), dnsmasq (DNS look-up from an exact opener's
        # address), an unknown token from nowhere known, a newsletter tracker
        marie, paul, lena = MEMBERS[0][0], MEMBERS[1][0], MEMBERS[2][0]
        squid = os.path.join(tmp, "access.log")
        with open(squid, "w") as f:
            f.write(f"1610450000.000    120 10.0.0.11 TCP_MISS/200 43 GET "
                    f"http://px.track-a.example/o/{token_a(marie)}.gif - HIER_DIRECT/192.0.2.9 image/gif\n"
                    f"1610450100.000     80 10.0.0.12 TCP_MISS/200 5120 GET "
                    f"https://www.example.org/index.html - HIER_DIRECT/192.0.2.10 text/html\n"
                    f"1612200000.000     80 10.0.0.13 TCP_MISS/200 43 GET "
                    f"https://lequotidien.us16.list-manage.com/track/open.php?u=abc&id=x0 - "
                    f"HIER_DIRECT/192.0.2.11 image/gif\n"
                    f"1610460000.000     80 10.0.0.11 TCP_MISS/200 43 GET "
                    f"http://px.track-a.example/o/0000aaaa1111bbbb2222cccc3333dddd.gif - "
                    f"HIER_DIRECT/192.0.2.9 image/gif\n"
                    f"1610470000.000     80 10.0.0.99 TCP_MISS/200 43 GET "
                    f"http://px.track-a.example/o/9999aaaa1111bbbb2222cccc3333eeee.gif - "
                    f"HIER_DIRECT/192.0.2.9 image/gif\n")
        combined = os.path.join(tmp, "proxy-combined.log.gz")
        with gzip.open(combined, "wt") as f:
            f.write(f'10.0.0.21 - - [04/Feb/2021:09:30:00 +0100] "GET '
                    f'http://stats.b-analytics.example/p.png?id={token_b(paul)} HTTP/1.1" 200 43 '
                    f'"-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"\n')
        dns = os.path.join(tmp, "dnsmasq.log")
        with open(dns, "w") as f:
            f.write("Jan 12 12:00:00 gw dnsmasq[811]: query[A] px.track-a.example from 10.0.0.11\n"
                    "Jan 12 12:00:00 gw dnsmasq[811]: forwarded px.track-a.example to 192.0.2.53\n"
                    "Jan 12 12:05:00 gw dnsmasq[811]: query[A] www.example.org from 10.0.0.12\n")
        mlog = os.path.join(tmp, "mail.log")
        with open(mlog, "w") as f:
            f.write(f"Feb 10 08:00:01 mx dovecot: imap-login: Login: user=<{lena}>, method=PLAIN, "
                    f"rip={RELAY}, lip=192.0.2.25, mpid=4242, TLS, session=<abc>\n"
                    f"Feb 10 08:05:00 mx dovecot: imap-login: Login: user=<{paul}>, method=PLAIN, "
                    f"rip=10.0.0.21, lip=192.0.2.25, mpid=4243, TLS, session=<abd>\n")
        rc, out, err = run(vigil, "logs", "--db", db, "-f", "jsonl", "--year", "2021",
                           "--relays", relays, squid, combined, dns, mlog)
        c.check(rc == 0, f"logs of four formats read ({rc}: {err.strip()})")
        ev = jsonl(out)
        opens = [o for o in ev if o["type"] == "open"]
        key = {(o["recipient"], o["campaign"], o["confidence"], o["kind"]) for o in opens}
        want = {(marie, ca["id"], "exact", "http"), (paul, cb["id"], "exact", "http"),
                (marie, ca["id"], "probable", "dns"), (marie, ca["id"], "probable", "http"),
                (None, ca["id"], "possible", "http")}
        c.check(key == want and len(opens) == 5,
                f"opens: exact by URL and token, probable by address, possible ({sorted(map(str, key))})")
        c.check(all("list-manage" not in o["url"] for o in opens),
                "a commercial tracker's hit is no open without a known token")
        b_open = [o for o in opens if o["campaign"] == cb["id"]]
        c.check(b_open and b_open[0]["time"] == "2021-02-04T08:30:00Z",
                "the combined log's time is taken with its zone, in UTC")
        logins = [o for o in ev if o["type"] == "relay_login"]
        c.check(len(logins) == 1 and logins[0]["account"] == lena and
                logins[0]["client_ip"] == RELAY and logins[0]["service"] == "imap",
                f"one relay login, the relay's: {logins}")

        rc, out, err = run(vigil, "logs", "--db", db, "-f", "jsonl", "--year", "2021",
                           "--relays", relays, squid, combined, dns, mlog)
        c.check(rc == 0 and err.count("(0 new)") == 4, "reading the logs again records nothing new")
        rc, out, _ = run(vigil, "campaigns", "show", str(ca["id"]), "--db", db, "-f", "jsonl")
        doc = jsonl(out)[0]
        opened = {t["address"] for t in doc["targets"] if t["opened"]}
        c.check(opened == {marie} and doc["open_count"] == 1, f"A shows who opened: {opened}")
        c.check(len(doc["relay_logins"]) == 1 and doc["relay_logins"][0]["account"] == lena,
                "A shows the login from its relay")

        # later mail of campaign A joins it, under the same id
        addr, name = MEMBERS[4]
        later = os.path.join(tmp, "later")
        write(later, "a9.eml", message(
            "Anna Keller | Le Quotidien <anna.keller@lequotidien-press.example>", addr, name,
            "Your view on the surveillance bill (reminder)", "Mon, 18 Jan 2021 09:00:00 +0000",
            "a9@lequotidien-press.example", LURE_A,
            f"http://px.track-a.example/o/{token_a(addr + 'x')}.gif"))
        rc, _, err = run(vigil, "scan", "--db", db, *lists, later)
        rc2, out, _ = run(vigil, "campaigns", "--db", db, "-f", "jsonl")
        after = {x["id"]: x for x in jsonl(out)}
        c.check(rc == 0 and "0 new campaigns, 1 message grouped" in err and
                after[ca["id"]]["message_count"] == len(a_ids) + 1 and len(after) == 2,
                f"a later message joins its campaign ({err.strip()})")

        rc, out, _ = run(vigil, "campaigns", "--db", db, "-f", "text")
        lines = out.splitlines()
        c.check(rc == 0 and len(lines) == 2 and "px.track-a.example" in lines[0],
                f"text: one line per campaign: {lines}")
        rc, _, err = run(vigil, "campaigns", "show", "x1", "--db", db)
        c.check(rc == 2, "a malformed campaign id is refused")
        bad = os.path.join(tmp, "bad.log")
        with open(bad, "wb") as f:
            f.write(b"\x00\x01binary junk\xff\n" * 3)
        rc, _, err = run(vigil, "logs", "--db", db, bad)
        c.check(rc == 1 and "no known format" in err, f"a log of no known format is said so: {err.strip()}")
    c.finish()


if __name__ == "__main__":
    main()
